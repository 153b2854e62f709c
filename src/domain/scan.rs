//! A structural pass over JSON text that serde_json cannot do for us: it finds duplicate keys
//! (serde_json keeps the last one silently), nesting deeper than a limit (before serde_json's
//! own recursion limit turns it into a vague error) and `\u0000` escapes (PostgreSQL's jsonb
//! refuses them), each with its path and its line and character column.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::domain::value_path::{push_index, push_key};

/// What the scan found wrong, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanFinding {
    TooDeep {
        limit: usize,
        at: Position,
    },
    DuplicateKey {
        key: String,
        path: String,
        at: Position,
    },
    NulCharacter {
        path: String,
        at: Position,
    },
    /// More commas and opening brackets (outside strings) than `limit`: found before anything
    /// is parsed (see [`scan_within`]).
    TooManyValues {
        limit: usize,
    },
}

/// A 1-based line and a 1-based column counted in characters (not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One open object or array of the scan. An object's keys are kept in one vector shared by
/// all open objects (`keys_from` on): no allocation per object, most of which have a handful.
enum Frame<'a> {
    Object {
        keys_from: usize,
        /// The object's keys once it has more than [`FEW_KEYS`]: then looked up by hash.
        many: Option<HashSet<Cow<'a, str>>>,
        /// Where the key of the member being read is in the shared keys.
        key: Option<usize>,
        expecting_key: bool,
    },
    Array {
        index: usize,
    },
}

/// Beyond this many keys an object's keys are also kept in a set.
const FEW_KEYS: usize = 16;

/// Adds `key` to the object whose keys start at `from` in `keys`; false when it had it.
fn insert_key<'a>(
    keys: &mut Vec<Cow<'a, str>>,
    from: usize,
    many: &mut Option<HashSet<Cow<'a, str>>>,
    key: Cow<'a, str>,
) -> bool {
    match many {
        Some(set) => {
            if !set.insert(key.clone()) {
                return false;
            }
        }
        None => {
            if keys[from..].contains(&key) {
                return false;
            }
            if keys.len() - from >= FEW_KEYS {
                *many = Some(keys[from..].iter().cloned().chain([key.clone()]).collect());
            }
        }
    }
    keys.push(key);
    true
}

/// What custodian refuses in any JSON file it reads before the parse, in a document's words:
/// a byte-order mark (serde_json says only "expected value at line 1 column 1" of a file that
/// visibly starts with `{`), and a key given twice in one object (serde_json keeps the last
/// without a word). For patches, schemas and key files, as for documents and imports (bb14
/// L06, L08, L15).
pub fn refused_before_parse(text: &str) -> Option<String> {
    if text.starts_with('\u{feff}') {
        return Some(crate::domain::ValidationError::ByteOrderMark.to_string());
    }
    match scan(text, usize::MAX) {
        Some(ScanFinding::DuplicateKey { key, path, at }) => Some(format!(
            "line {}, col {}: duplicate key {:?} in {path}; JSON keeps only one of them",
            at.line, at.column, key
        )),
        _ => None,
    }
}

/// Scans `text`. A depth violation is reported at once (it is what makes the rest unsafe to
/// parse); otherwise the first duplicate key or NUL found is reported. Malformed text simply
/// ends the scan: reporting syntax errors is serde_json's job.
pub fn scan(text: &str, max_depth: usize) -> Option<ScanFinding> {
    scan_within(text, max_depth, usize::MAX)
}

/// [`scan`], also ending as soon as the text holds more than `max_values` commas and opening
/// brackets outside its strings: about its values, each of which its parsed tree holds in an
/// allocation or more (~100 bytes for a 2-byte `0,`).
pub fn scan_within(text: &str, max_depth: usize, max_values: usize) -> Option<ScanFinding> {
    scan_noting(text, max_depth, max_values, |_| true, &mut ScanNotes::default())
}

/// What [`scan_noting`] notes of a text besides its findings, at no pass of its own.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanNotes {
    /// A number outside the strings has an exponent (an `e` or `E` after a digit or a point:
    /// outside strings the only other `e` is in `true` and `false`). Exact, where
    /// [`super::custom_data::may_have_an_exponent`] looks at every `e` of the text, most of
    /// them in its strings.
    pub exponent: bool,
    /// The top-level object has a key the `known` given does not take.
    pub unknown_top_key: bool,
}

/// [`scan_within`], also noting what [`ScanNotes`] says.
pub fn scan_noting(
    text: &str,
    max_depth: usize,
    max_values: usize,
    known: impl Fn(&str) -> bool,
    notes: &mut ScanNotes,
) -> Option<ScanFinding> {
    let bytes = text.as_bytes();
    let mut values: usize = 0;
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut keys: Vec<Cow<'_, str>> = Vec::new();
    let mut line = 1;
    let mut line_start = 0;
    let mut i = 0;
    let position = |at: usize, line: usize, line_start: usize| Position {
        line,
        column: char_count(&bytes[line_start..at]) + 1,
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'{' | b'[' => {
                values += 1;
                if values > max_values {
                    return Some(ScanFinding::TooManyValues { limit: max_values });
                }
                if stack.len() >= max_depth {
                    return Some(ScanFinding::TooDeep {
                        limit: max_depth,
                        at: position(i, line, line_start),
                    });
                }
                stack.push(if bytes[i] == b'{' {
                    Frame::Object { keys_from: keys.len(), many: None, key: None, expecting_key: true }
                } else {
                    Frame::Array { index: 0 }
                });
            }
            b'}' | b']' => {
                if let Some(Frame::Object { keys_from, .. }) = stack.pop() {
                    keys.truncate(keys_from);
                }
            }
            b',' => {
                values += 1;
                if values > max_values {
                    return Some(ScanFinding::TooManyValues { limit: max_values });
                }
                match stack.last_mut() {
                    Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                    Some(Frame::Array { index }) => *index += 1,
                    None => {}
                }
            }
            b'"' => {
                let start = i;
                let (end, escaped) = string_close(bytes, i)?;
                let raw = &text[start + 1..end];
                // Counted only when reported: counting the characters of a long line for every
                // string made a one-line (compact) document quadratic to scan.
                let at = || position(start, line, line_start);
                let decoded = if escaped { decode_string(&text[start..=end]) } else { None };
                let is_key = matches!(stack.last(), Some(Frame::Object { expecting_key: true, .. }));
                if is_key {
                    let key: Cow<'_, str> = decoded.map_or(Cow::Borrowed(raw), Cow::Owned);
                    if key.contains('\0') {
                        // The object the key is in: its last member's key is not this one's place
                        // (a NUL in a key was said to be in the field before it: bb71 F2).
                        let object = &stack[..stack.len() - 1];
                        return Some(ScanFinding::NulCharacter { path: path_of(object, &keys), at: at() });
                    }
                    if let Some(Frame::Object { keys_from, many, key: current, expecting_key }) =
                        stack.last_mut()
                    {
                        if !insert_key(&mut keys, *keys_from, many, key.clone()) {
                            *current = None;
                            let path = path_of(&stack, &keys);
                            return Some(ScanFinding::DuplicateKey { key: key.into_owned(), path, at: at() });
                        }
                        *current = Some(keys.len() - 1);
                        *expecting_key = false;
                    }
                    if stack.len() == 1 && !known(&keys[keys.len() - 1]) {
                        notes.unknown_top_key = true;
                    }
                } else if decoded.is_some_and(|s| s.contains('\0')) {
                    return Some(ScanFinding::NulCharacter { path: path_of(&stack, &keys), at: at() });
                }
                i = end;
            }
            b'e' | b'E' if i > 0 && matches!(bytes[i - 1], b'0'..=b'9' | b'.') => notes.exponent = true,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The path of the value at (`row`, `column`) of a document given as its lines — 0-based, the
/// column in characters, as the editor's cursor is — in the lint's style
/// (`events[12].meta.path`), `(top level)` outside any key. Reads only up to that point and
/// keeps keys as ranges of their lines, so a cursor near the top of a 1 MiB document costs next
/// to nothing. Malformed text gives the path as far as it could be followed.
pub fn path_at<'a, S: AsRef<str>>(lines: &'a [S], row: usize, column: usize) -> String {
    enum Level<'a> {
        Object { key: Option<&'a str>, expecting_key: bool },
        Array { index: usize },
    }
    let mut stack: Vec<Level<'a>> = Vec::new();
    'lines: for (index, line) in lines.iter().enumerate().take(row.saturating_add(1)) {
        let line: &'a str = line.as_ref();
        let bytes = line.as_bytes();
        let end = if index == row {
            line.char_indices().nth(column).map_or(line.len(), |(at, _)| at)
        } else {
            line.len()
        };
        let mut i = 0;
        while i < end {
            match bytes[i] {
                b'{' => stack.push(Level::Object { key: None, expecting_key: true }),
                b'[' => stack.push(Level::Array { index: 0 }),
                b'}' | b']' => {
                    stack.pop();
                }
                b',' => match stack.last_mut() {
                    Some(Level::Object { key, expecting_key }) => {
                        *key = None;
                        *expecting_key = true;
                    }
                    Some(Level::Array { index }) => *index += 1,
                    None => {}
                },
                b'"' => {
                    let Some(close) = string_end(bytes, i) else { break 'lines };
                    if let Some(Level::Object { key, expecting_key: expecting @ true }) = stack.last_mut() {
                        *key = Some(&line[i..=close]);
                        *expecting = false;
                    }
                    i = close;
                }
                _ => {}
            }
            i += 1;
        }
    }
    let mut path = String::new();
    for level in &stack {
        match level {
            Level::Object { key: Some(quoted), .. } => {
                let key = decode_string(quoted).unwrap_or_else(|| quoted[1..quoted.len() - 1].to_owned());
                push_key(&mut path, &key);
            }
            Level::Object { key: None, .. } => {}
            Level::Array { index } => {
                push_index(&mut path, *index);
            }
        }
    }
    if path.is_empty() { "(top level)".to_owned() } else { path }
}

/// The text of every number outside strings, in document order: the spellings
/// [`crate::domain::custom_data::parse_value`] puts back after serde_json rewrote them.
pub fn number_tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => match string_end(bytes, i) {
                Some(end) => i = end + 1,
                None => break,
            },
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                tokens.push(&text[start..i]);
            }
            _ => i += 1,
        }
    }
    tokens
}

/// How long serde_json's compact form of the JSON in `bytes` is, counted in one pass without
/// parsing: whitespace outside strings dropped; in strings, every escape counted as serde_json
/// writes its character back (`\u00e9` as the two bytes of `é`, `\/` as `/`, `\n` as itself).
/// Exact for valid JSON whose numbers keep their text; for anything else an estimate.
pub fn compact_len(bytes: &[u8]) -> usize {
    let mut size = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                let (length, next) = compact_string_len(bytes, i);
                size += length;
                i = next;
            }
            _ => {
                size += 1;
                i += 1;
            }
        }
    }
    size
}

/// The compact length of the string opening at `open` (quotes included) and where it ends.
fn compact_string_len(bytes: &[u8], open: usize) -> (usize, usize) {
    let mut size = 2;
    let mut j = open + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'"' => return (size, j + 1),
            b'\\' => match bytes.get(j + 1) {
                Some(b'u') => match hex4(bytes, j + 2) {
                    Some(0xD800..=0xDBFF)
                        if bytes.get(j + 6..j + 8) == Some(b"\\u")
                            && hex4(bytes, j + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
                    {
                        size += 4;
                        j += 12;
                    }
                    Some(unit) => {
                        size += escaped_char_len(unit);
                        j += 6;
                    }
                    None => {
                        size += 2;
                        j += 2;
                    }
                },
                Some(b'/') => {
                    size += 1;
                    j += 2;
                }
                _ => {
                    size += 2;
                    j += 2;
                }
            },
            _ => {
                size += 1;
                j += 1;
            }
        }
    }
    (size, j)
}

/// The four hex digits at `at` as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// How serde_json writes the character `\u` + `unit` stood for: the short escapes, `\u00XX`
/// for other controls, UTF-8 for the rest.
fn escaped_char_len(unit: u32) -> usize {
    match unit {
        0x08 | 0x09 | 0x0A | 0x0C | 0x0D | 0x22 | 0x5C => 2,
        0x00..=0x1F => 6,
        0x20..=0x7F => 1,
        0x80..=0x7FF => 2,
        // A lone surrogate: refused when parsed.
        0xD800..=0xDFFF => 6,
        _ => 3,
    }
}

/// The index of the closing quote of the string that opens at `open`, if the text has one.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    string_close(bytes, open).map(|(close, _)| close)
}

/// [`string_end`], and whether the string has an escape: found a run of plain bytes at a time.
fn string_close(bytes: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut j = open + 1;
    let mut escaped = false;
    while j < bytes.len() {
        j += memchr::memchr3(b'"', b'\\', b'\n', &bytes[j..])?;
        match bytes[j] {
            b'\\' => {
                escaped = true;
                j += 2;
            }
            b'"' => return Some((j, escaped)),
            _ => return None,
        }
    }
    None
}

/// The string's value when it has escapes worth decoding; `None` for plain text (which is
/// its own value) or for an escape serde_json will refuse anyway.
fn decode_string(quoted: &str) -> Option<String> {
    if !quoted.contains('\\') {
        return None;
    }
    serde_json::from_str::<String>(quoted).ok()
}

fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

/// The path of the value being scanned, like `prefs.themes[2].name`; `(top level)` at the root.
fn path_of(stack: &[Frame<'_>], keys: &[Cow<'_, str>]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                push_key(&mut path, &keys[*key]);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                push_index(&mut path, *index);
            }
        }
    }
    if path.is_empty() { "(top level)".to_owned() } else { path }
}

/// Where invalid UTF-8 starts in `bytes`: the line and character column of the first bad byte.
pub fn utf8_error_position(bytes: &[u8], error: &std::str::Utf8Error) -> Position {
    let valid = &bytes[..error.valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    Position { line, column: char_count(&valid[line_start..]) + 1 }
}

/// Converts serde_json's 1-based byte column on `line` into a 1-based character column.
pub fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column;
    };
    let end = byte_column.saturating_sub(1).min(line_text.len());
    char_count(&line_text.as_bytes()[..end]) + 1
}

#[cfg(test)]
mod tests;
