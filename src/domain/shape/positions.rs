//! Where a schema's errors are: a JSON pointer as the lint writes paths, and the line and
//! character column of the offending value in the text the operator wrote (one walk of the
//! text for every error).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::domain::secrets::{push_index, push_key};

/// The reference tokens of a JSON pointer (`/a~1b/0` → `a/b`, `0`).
pub(super) fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// The pointer as the lint writes paths: a member by its key, an array element `[n]`.
pub(super) fn lint_path(document: &Value, segments: &[String]) -> String {
    let mut path = String::new();
    let mut at = Some(document);
    for segment in segments {
        match at {
            Some(Value::Array(items)) if segment.parse::<usize>().is_ok() => {
                let index = segment.parse::<usize>().unwrap_or_default();
                push_index(&mut path, index);
                at = items.get(index);
            }
            Some(Value::Object(members)) => {
                push_key(&mut path, segment);
                at = members.get(segment);
            }
            _ => {
                push_key(&mut path, segment);
                at = None;
            }
        }
    }
    path
}

/// The byte offset in `text` of the value the pointer's `segments` name: the text is
/// walked, not parsed (a document is already known to be valid JSON without duplicate keys).
/// Where the walk cannot go on, the offset of the last value it reached.
pub(super) fn locate(text: &str, segments: &[String]) -> usize {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    for segment in segments {
        match find_child(text, at, segment) {
            Some(child) => at = child,
            None => break,
        }
    }
    at
}

/// Where the member `segment` of the object, or the element of the array, at `at` starts.
pub(super) fn find_child(text: &str, at: usize, segment: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.get(at)? {
        b'{' => {
            let mut i = at + 1;
            loop {
                i = skip_space(bytes, i);
                if bytes.get(i)? != &b'"' {
                    return None;
                }
                let end = skip_string(bytes, i);
                let key = serde_json::from_str::<String>(text.get(i..end)?).ok()?;
                i = skip_space(bytes, end);
                if bytes.get(i)? != &b':' {
                    return None;
                }
                i = skip_space(bytes, i + 1);
                if key == segment {
                    return Some(i);
                }
                i = skip_space(bytes, skip_value(bytes, i));
                if bytes.get(i)? != &b',' {
                    return None;
                }
                i += 1;
            }
        }
        b'[' => {
            let index: usize = segment.parse().ok()?;
            let mut i = skip_space(bytes, at + 1);
            for _ in 0..index {
                i = skip_space(bytes, skip_value(bytes, i));
                if bytes.get(i)? != &b',' {
                    return None;
                }
                i = skip_space(bytes, i + 1);
            }
            Some(i)
        }
        _ => None,
    }
}

pub(super) fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// From the opening quote to just after the closing one.
pub(super) fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// From the first byte of a value to just after it.
pub(super) fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'"' => {
                        i = skip_string(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                i += 1;
            }
            i
        }
    }
}

/// A pointer as one key: each segment after a NUL (which no key can hold: the JSON rules
/// refuse it), the root the empty key.
pub(super) fn pointer_key(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |mut key, segment| {
        key.push('\0');
        key.push_str(segment);
        key
    })
}

/// The byte offsets of the values the pointers name, in their order, found in one walk of
/// the text that enters only what leads to one of them. A pointer the walk does not reach
/// (it cannot happen for a text that is the document) falls back to [`locate`].
pub(super) fn locate_all<'a>(text: &str, pointers: impl Iterator<Item = &'a [String]>) -> Vec<usize> {
    let pointers: Vec<&[String]> = pointers.collect();
    walk_to(text, &pointers)
        .into_iter()
        .zip(&pointers)
        .map(|(found, segments)| found.unwrap_or_else(|| locate(text, segments)))
        .collect()
}

/// The offset of the opening quote of the key whose value begins at `value_at` (`"key": value`);
/// `value_at` when no key is there.
pub(super) fn key_before(text: &str, value_at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = value_at.min(bytes.len());
    while end > 0 && matches!(bytes[end - 1], b' ' | b'\t' | b'\n' | b'\r' | b':') {
        end -= 1;
    }
    if end == 0 || bytes[end - 1] != b'"' {
        return value_at;
    }
    // Back to the first quote no backslash escapes (each run of backslashes is counted once).
    let mut at = end - 1;
    while let Some(quote) = memchr::memrchr(b'"', &bytes[..at]) {
        let backslashes = bytes[..quote].iter().rev().take_while(|b| **b == b'\\').count();
        if backslashes % 2 == 0 {
            return quote;
        }
        at = quote;
    }
    value_at
}

/// The one walk of [`locate_all`]: the byte offset of each value the pointers name, `None`
/// for one it does not reach.
pub(super) fn walk_to(text: &str, pointers: &[&[String]]) -> Vec<Option<usize>> {
    let mut walk = Walk { text, wanted: HashSet::new(), leads: HashSet::new(), found: HashMap::new() };
    for segments in pointers {
        for depth in 0..=segments.len() {
            walk.leads.insert(pointer_key(&segments[..depth]));
        }
        walk.wanted.insert(pointer_key(segments));
    }
    let start = skip_space(text.as_bytes(), 0);
    walk.value(start, &mut String::new());
    pointers.iter().map(|segments| walk.found.get(&pointer_key(segments)).copied()).collect()
}

struct Walk<'t> {
    text: &'t str,
    /// The pointers asked for, and every pointer on the way to one.
    wanted: HashSet<String>,
    leads: HashSet<String>,
    found: HashMap<String, usize>,
}

impl Walk<'_> {
    /// Walks the value at `at` (whose pointer is `key`); returns the offset just after it.
    fn value(&mut self, at: usize, key: &mut String) -> usize {
        let bytes = self.text.as_bytes();
        if self.wanted.contains(key.as_str()) {
            self.found.insert(key.clone(), at);
        }
        match bytes.get(at) {
            Some(b'{') => {
                let mut i = at + 1;
                loop {
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b'"') => {}
                        Some(b'}') => return i + 1,
                        _ => return i,
                    }
                    let end = skip_string(bytes, i);
                    let raw = self.text.get(i + 1..end.saturating_sub(1)).unwrap_or("");
                    let name = if raw.contains('\\') {
                        serde_json::from_str::<String>(self.text.get(i..end).unwrap_or("\"\""))
                            .unwrap_or_default()
                    } else {
                        raw.to_owned()
                    };
                    i = skip_space(bytes, end);
                    if bytes.get(i) != Some(&b':') {
                        return i;
                    }
                    i = skip_space(bytes, i + 1);
                    i = self.child(i, key, &name);
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b',') => i += 1,
                        Some(b'}') => return i + 1,
                        _ => return i,
                    }
                }
            }
            Some(b'[') => {
                let mut i = skip_space(bytes, at + 1);
                if bytes.get(i) == Some(&b']') {
                    return i + 1;
                }
                let mut index = 0usize;
                loop {
                    i = self.child(i, key, &index.to_string());
                    index += 1;
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b',') => i = skip_space(bytes, i + 1),
                        Some(b']') => return i + 1,
                        _ => return i,
                    }
                }
            }
            _ => skip_value(bytes, at),
        }
    }

    /// The member or element `name` of the value `key`, at `at`: entered only on the way to a
    /// wanted value, skipped otherwise.
    fn child(&mut self, at: usize, key: &mut String, name: &str) -> usize {
        let parent = key.len();
        key.push('\0');
        key.push_str(name);
        let end = if self.leads.contains(key.as_str()) {
            self.value(at, key)
        } else {
            skip_value(self.text.as_bytes(), at)
        };
        key.truncate(parent);
        end
    }
}

/// [`line_and_column`] of many offsets, in one pass over the text up to the last of them.
pub(super) fn lines_and_columns(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&n| offsets[n]);
    let mut out = vec![(1, 1); offsets.len()];
    // Where the count has reached: its offset, line and column.
    let (mut at, mut line, mut column) = (0usize, 1usize, 1usize);
    for n in order {
        let target = offsets[n].min(text.len());
        let stretch = text.get(at..target).unwrap_or("");
        match stretch.rfind('\n') {
            Some(last) => {
                line += stretch.bytes().filter(|&b| b == b'\n').count();
                column = stretch.get(last + 1..).map_or(0, |s| s.chars().count()) + 1;
            }
            None => column += stretch.chars().count(),
        }
        at = target;
        out[n] = (line, column);
    }
    out
}

/// 1-based line and character column of a byte offset (what [`lines_and_columns`] gives, one at a time).
#[cfg(test)]
pub(super) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}
