//! Finds the records of an import as its bytes arrive, to bound each one.

use anyhow::Result;

use super::{BLANK, RECORD, too_long};

/// Whether the finder wants more of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    More,
    /// The rest cannot change the outcome (the import fails at what was read): the input
    /// is kept up to this offset (a whole line; never a character cut in two).
    Enough(usize),
}

/// Finds the records of an import as its bytes arrive, to bound each one: JSON Lines by
/// newline; a JSON array by following nesting depth and strings. It does not check JSON
/// (the import reader does, on the whole text); it only measures.
pub struct RecordFinder {
    limit: usize,
    shape: Shape,
    /// Bytes looked at so far.
    seen: usize,
    /// Line of the byte at `seen` (1-based).
    line: usize,
    /// Where reading may stop, once the outcome is known.
    stopped_at: Option<usize>,
}

enum Shape {
    /// Only blank space so far.
    Unknown,
    Lines {
        /// Where the current line starts, and whether a byte other than blank space has been
        /// seen on it (and whether that byte was `{`).
        start: usize,
        first: Option<u8>,
        /// Where the run of blank lines before the current line started.
        blank_from: usize,
        blank_line: usize,
    },
    Array {
        depth: usize,
        in_string: bool,
        escaped: bool,
        /// The open record: where it starts, its number and line.
        record: Option<(usize, usize, usize)>,
        records: usize,
        /// Where the blank space before the next record started (no record open).
        gap_from: usize,
        gap_line: usize,
    },
    /// After the array's closing `]`.
    After { from: usize },
}

impl RecordFinder {
    pub fn new(limit: usize) -> Self {
        Self { limit, shape: Shape::Unknown, seen: 0, line: 1, stopped_at: None }
    }

    /// Looks at what `bytes` holds beyond what earlier calls saw (`bytes` only grows).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Reading> {
        let mut at = self.seen;
        while at < bytes.len() {
            at = match self.shape {
                Shape::Unknown => self.unknown(bytes, at)?,
                Shape::Lines { .. } => self.lines(bytes, at)?,
                Shape::Array { .. } => self.array(bytes, at)?,
                Shape::After { from } => {
                    if let Some(i) = bytes[at..].iter().position(|b| !b.is_ascii_whitespace()) {
                        // Trailing characters: the import reader names the first one, which
                        // is kept whole (it may still be arriving).
                        let garbage = at + i;
                        let end = garbage + utf8_length(bytes[garbage]);
                        if end > bytes.len() {
                            self.seen = garbage;
                            return Ok(Reading::More);
                        }
                        return Ok(Reading::Enough(end));
                    }
                    if bytes.len() - from > self.limit {
                        return Err(too_long(
                            self.limit,
                            format!("after the array (line {})", self.line),
                            BLANK,
                        ));
                    }
                    bytes.len()
                }
            };
            if let Some(end) = self.stopped_at.take() {
                return Ok(Reading::Enough(end));
            }
        }
        self.seen = bytes.len();
        Ok(Reading::More)
    }

    fn unknown(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        while let Some(&b) = bytes.get(at) {
            if !b.is_ascii_whitespace() {
                self.shape = if b == b'[' {
                    at += 1;
                    Shape::Array {
                        depth: 1,
                        in_string: false,
                        escaped: false,
                        record: None,
                        records: 0,
                        gap_from: at,
                        gap_line: self.line,
                    }
                } else {
                    // Lines: the current line (after leading blank lines) starts here.
                    let start = bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    Shape::Lines { start, first: None, blank_from: start, blank_line: self.line }
                };
                return Ok(at);
            }
            if b == b'\n' {
                self.line += 1;
            }
            at += 1;
        }
        if at > self.limit {
            return Err(too_long(self.limit, "line 1".to_owned(), BLANK));
        }
        Ok(at)
    }

    /// JSON Lines: returns where it stopped (and sets `stopped_at` when enough was read).
    fn lines(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        let Shape::Lines { start, first, blank_from, blank_line } = &mut self.shape else { return Ok(at) };
        while at < bytes.len() {
            if first.is_none() {
                match bytes[at..].iter().position(|b| !b.is_ascii_whitespace() || *b == b'\n') {
                    Some(i) if bytes[at + i] == b'\n' => {
                        // A blank line: part of a run of blank lines.
                        at += i + 1;
                        self.line += 1;
                        *start = at;
                        continue;
                    }
                    Some(i) => {
                        *first = Some(bytes[at + i]);
                        at += i;
                    }
                    None => at = bytes.len(),
                }
            }
            match memchr::memchr(b'\n', &bytes[at..]) {
                Some(i) => {
                    at += i + 1;
                    let line_length = at - 1 - *start;
                    if line_length > self.limit {
                        return Err(too_long(self.limit, format!("line {}", self.line), RECORD));
                    }
                    let ended = *first;
                    self.line += 1;
                    *start = at;
                    *blank_from = at;
                    *blank_line = self.line;
                    *first = None;
                    if ended.is_some_and(|b| b != b'{') {
                        // Not an object: the import fails on this line, the rest cannot matter.
                        self.stopped_at = Some(at);
                        return Ok(at);
                    }
                }
                None => at = bytes.len(),
            }
        }
        if first.is_some() && bytes.len() - *start > self.limit {
            return Err(too_long(self.limit, format!("line {}", self.line), RECORD));
        }
        if first.is_none() && bytes.len() - *blank_from > self.limit {
            return Err(too_long(self.limit, format!("line {blank_line}"), BLANK));
        }
        Ok(at)
    }

    /// A JSON array: returns where it stopped.
    fn array(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        let limit = self.limit;
        let Shape::Array { depth, in_string, escaped, record, records, gap_from, gap_line } = &mut self.shape
        else {
            return Ok(at);
        };
        while at < bytes.len() {
            if *in_string {
                // Most bytes are inside strings: jump to the next quote or backslash.
                if *escaped {
                    *escaped = false;
                    at += 1;
                    continue;
                }
                match memchr::memchr3(b'"', b'\\', b'\n', &bytes[at..]) {
                    None => at = bytes.len(),
                    Some(i) => {
                        at += i;
                        match bytes[at] {
                            b'"' => *in_string = false,
                            b'\\' => *escaped = true,
                            _ => self.line += 1,
                        }
                        at += 1;
                    }
                }
                if let Some((start, number, line)) = *record
                    && at - start > limit
                {
                    return Err(too_long(limit, format!("record {number} (line {line})"), RECORD));
                }
                continue;
            }
            let b = bytes[at];
            let opens_record = *depth == 1 && record.is_none() && !b.is_ascii_whitespace() && b != b',';
            if opens_record && b != b']' {
                *records += 1;
                *record = Some((at, *records, self.line));
            }
            if let Some((start, number, line)) = *record
                && at + 1 - start > limit
            {
                return Err(too_long(limit, format!("record {number} (line {line})"), RECORD));
            }
            match b {
                b'"' => *in_string = true,
                b'[' | b'{' => *depth += 1,
                b']' | b'}' => {
                    *depth = depth.saturating_sub(1);
                    if *depth <= 1 && !(opens_record && *depth == 1) {
                        if *depth == 0 {
                            self.shape = Shape::After { from: at + 1 };
                            return Ok(at + 1);
                        }
                        // The record that ended here is done; its comma may follow.
                        *record = None;
                        *gap_from = at + 1;
                        *gap_line = self.line;
                    }
                }
                b',' if *depth == 1 => {
                    *record = None;
                    *gap_from = at + 1;
                    *gap_line = self.line;
                }
                b'\n' => self.line += 1,
                _ => {}
            }
            at += 1;
        }
        if record.is_none() && bytes.len() - *gap_from > limit {
            return Err(too_long(limit, format!("line {gap_line}"), BLANK));
        }
        Ok(at)
    }
}

/// How many bytes the UTF-8 character starting with `lead` takes (1 for a byte that cannot
/// start one: the import reader names it as invalid).
fn utf8_length(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(input: &[u8], limit: usize) -> Result<Reading> {
        let mut finder = RecordFinder::new(limit);
        // Fed a byte at a time and all at once, the answer is the same.
        let mut one_by_one = RecordFinder::new(limit);
        let mut answer = Ok(Reading::More);
        for end in 1..=input.len() {
            answer = one_by_one.feed(&input[..end]);
            if !matches!(answer, Ok(Reading::More)) {
                break;
            }
        }
        let whole = finder.feed(input);
        assert_eq!(
            answer.as_ref().map_err(|e| e.to_string()),
            whole.as_ref().map_err(|e| e.to_string()),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        whole
    }

    fn error(input: &[u8], limit: usize) -> String {
        find(input, limit).expect_err("too long").to_string()
    }

    #[test]
    fn records_within_the_limit_are_read_to_the_end() {
        for input in [
            &b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n"[..],
            b"\n\n  {\"id\":\"a\"}\r\n\n{\"id\":\"b\"}",
            b"[{\"id\":\"a\",\"x\":[1,2,{\"y\":\"]},\\\"\"}]}, {\"id\":\"b\"}]\n",
            b"[\n  {\"id\": \"a\"},\n  {\"id\": \"b\"}\n]\n",
            b"  [ ]  ",
        ] {
            assert_eq!(find(input, 40).expect("fits"), Reading::More, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn a_json_lines_record_over_the_limit_is_named_by_its_line() {
        assert_eq!(
            error(b"{\"id\":\"a\"}\n\n{\"id\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}\n", 20),
            "line 3: longer than 20 B, the most one user may take (reading stopped there)"
        );
        // No newline ever comes (`/dev/zero`): stopped all the same.
        assert!(error(&[0u8; 100], 20).starts_with("line 1: longer than 20 B"));
        assert!(error(&[b'\n'; 100], 20).starts_with("line 1: blank space for more than 20 B"));
        assert!(error(b"{}\n   \n\n                               ", 20).starts_with("line 2: blank space"));
    }

    #[test]
    fn an_array_record_over_the_limit_is_named_by_its_number_and_line() {
        let input = b"[\n{\"id\":\"a\"},\n{\"id\":\"b\",\"c\":\"]]]]]]]]]]]]]]]]]]]]]]]]]\"}]";
        assert!(error(input, 20).starts_with("record 2 (line 3): longer than 20 B"), "{}", error(input, 20));
        assert!(error(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 20).starts_with("record 1 (line 1)"));
        assert!(error(b"[1, 2, 333333333333333333333333333333]", 20).starts_with("record 3 (line 1)"));
    }

    #[test]
    fn reading_stops_after_a_json_lines_record_that_cannot_be_a_user() {
        assert_eq!(find(b"{}\ny\ny\ny\n", 20).expect("stops"), Reading::Enough(5));
        assert_eq!(find(b"[{}] x\ny", 20).expect("stops"), Reading::Enough(6));
        // The first trailing character is kept whole, even when it arrives in pieces.
        assert_eq!(find("[{}] \u{fc}\u{fc}".as_bytes(), 20).expect("stops"), Reading::Enough(7));
    }
}
