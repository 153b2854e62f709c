//! Where a value sits in a JSON text: the editor's cursor to the value and path under it.

use crate::domain::value_path::{push_index, push_key};

/// A value in a JSON text: where it is (bytes, end exclusive) and its path in the lint's style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSpan {
    pub start: usize,
    pub end: usize,
    pub path: String,
}

/// The innermost value of the JSON `text` at byte `offset` (a key counts as its member's
/// value; just after a value counts as on it). `None` for the top-level document itself, or
/// when `text` is not valid JSON.
pub fn value_under(text: &str, offset: usize) -> Option<ValueSpan> {
    let mut scanner = SpanScanner { bytes: text.as_bytes(), at: 0, target: offset, found: None };
    let mut path = String::new();
    scanner.value(&mut path, 0)?;
    scanner.found
}

/// Reads a valid JSON text, noting the innermost value at `target`. Nesting is bounded by the
/// document's own depth limit, which the editor checked before asking.
struct SpanScanner<'a> {
    bytes: &'a [u8],
    at: usize,
    target: usize,
    found: Option<ValueSpan>,
}

impl SpanScanner<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.bytes.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// A string; returns its span.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.space();
        let start = self.at;
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        loop {
            match self.bytes.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at));
                }
                _ => self.at += 1,
            }
        }
    }

    /// A value; returns its span.
    fn value(&mut self, path: &mut String, depth: usize) -> Option<(usize, usize)> {
        if depth > 200 {
            return None;
        }
        self.space();
        let start = self.at;
        match *self.bytes.get(self.at)? {
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some((start, self.at));
                }
                loop {
                    let (key_start, key_end) = self.string()?;
                    let key: String = serde_json::from_slice(&self.bytes[key_start..key_end]).ok()?;
                    self.eat(b':')?;
                    let len = push_key(path, &key);
                    let span = self.value(path, depth + 1)?;
                    // The key, its colon and the spaces up to the value are the member's: on
                    // the colon (where Ctrl-F leaves the cursor after a key) it is this value,
                    // as the editor's title says, not the object around it.
                    self.note(span, (key_start..span.0).contains(&self.target), path);
                    path.truncate(len);
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some((start, self.at));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some((start, self.at));
                }
                let mut index = 0;
                loop {
                    let len = push_index(path, index);
                    let span = self.value(path, depth + 1)?;
                    self.note(span, false, path);
                    path.truncate(len);
                    index += 1;
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some((start, self.at));
                    }
                }
            }
            b'"' => self.string(),
            _ => {
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    self.at += 1;
                }
                (self.at > start).then_some((start, self.at))
            }
        }
    }

    /// Children are read before their parent is noted, so the first note is the innermost.
    fn note(&mut self, (start, end): (usize, usize), on_key: bool, path: &str) {
        if self.found.is_none() && (on_key || (start..=end).contains(&self.target)) {
            self.found = Some(ValueSpan { start, end, path: path.to_owned() });
        }
    }
}
