//! Paths to a value in a document, in the one style the lint, the schema check, the tree, the
//! editor's title and sealing share: `prefs.api[2].token`. A key that would read as something
//! else — holding a dot or a bracket, a quote or a backslash, empty, with white space at an
//! end, or holding a character a terminal would not show as itself (a control, a bidi or
//! zero-width character, a Control Picture) — is written quoted, as jq writes it, those
//! characters as JSON escapes: `prefs["a.b"].c`, `[""]`, `["zw\u200bk"]`. So a printed path
//! holds nothing hidden and reads back, given to `--seal`, to that key alone (written plain,
//! `["a.b"].c` and `a.b.c` both read `a.b.c`: bb26 T04; `zw\u{200b}k` as the screen marks it
//! named the key that spells those characters: bb28 R01). Built by pushing a step and
//! truncating back to the length the push returns, so a walk keeps one string however deep
//! it goes.

use std::fmt::Write as _;

/// Whether `key` is written as it is: it reads back as one key and nothing else.
pub(crate) fn is_plain_key(key: &str) -> bool {
    // One branch-free pass over the bytes: the lint pushes every key of every document an
    // import reads (a pass per test made a 30k import 1 % slower).
    let bytes = key.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return false };
    if first == b' ' || last == b' ' {
        return false;
    }
    let seen = bytes.iter().fold(0, |seen, &byte| seen | BYTE_CLASS[usize::from(byte)]);
    if seen & QUOTED != 0 {
        return false;
    }
    seen & NON_ASCII == 0
        || (!key.starts_with(char::is_whitespace)
            && !key.ends_with(char::is_whitespace)
            && !key.chars().any(shown_otherwise))
}

/// A byte that makes a key quoted: `.`, `[`, `]`, `"`, `\`, a C0 control or DEL.
const QUOTED: u8 = 1;
/// A byte of a character beyond ASCII, which the screen may mark.
const NON_ASCII: u8 = 2;
const BYTE_CLASS: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        classes[byte] = match byte as u8 {
            b'.' | b'[' | b']' | b'"' | b'\\' | 0..=0x1f | 0x7f => QUOTED,
            0x80..=0xff => NON_ASCII,
            _ => 0,
        };
        byte += 1;
    }
    classes
};

/// A character the screen would not show as itself: hidden (marked `\u{…}` or as a Control
/// Picture), or a Control Picture itself (marked too).
fn shown_otherwise(c: char) -> bool {
    crate::inert::is_hidden(c) || crate::inert::is_control_picture(c)
}

/// Adds `.key` (just `key` at the top), or `["key"]` when it is not plain; returns the length
/// to truncate back to.
pub(crate) fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if is_plain_key(key) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        // A JSON string: escapes as JSON writes them (C0 controls included), then every other
        // character shown otherwise as its `\uXXXX` escape; read back by the same parser.
        for c in serde_json::Value::from(key).to_string().chars() {
            if shown_otherwise(c) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(path, "\\u{unit:04x}");
                }
            } else {
                path.push(c);
            }
        }
        path.push(']');
    }
    len
}

/// Adds `[index]` to `path`; returns the length to truncate back to.
pub(crate) fn push_index(path: &mut String, index: usize) -> usize {
    let len = path.len();
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
    len
}

/// The most characters of a path a message shows.
const PATH_SHOWN_CHARS: usize = 200;

/// A path as a message shows it: cut at [`PATH_SHOWN_CHARS`], saying how long it was (a
/// 5,000-character key made every schema error and lint refusal at it a 10 KB line: bb28 R07).
pub(crate) fn shown_path(path: &str) -> std::borrow::Cow<'_, str> {
    let length = path.chars().count();
    if length <= PATH_SHOWN_CHARS {
        return std::borrow::Cow::Borrowed(path);
    }
    let cut: String = path.chars().take(PATH_SHOWN_CHARS).collect();
    std::borrow::Cow::Owned(format!("{cut}… (a path of {length} characters)"))
}

/// The quoted key `["…"]` that `rest` begins with, and what follows it; `None` when `rest`
/// does not begin with one.
pub(crate) fn quoted_key(rest: &str) -> Option<(String, &str)> {
    let quoted = rest.strip_prefix('[')?;
    if !quoted.starts_with('"') {
        return None;
    }
    // The string's end: the first `"` not escaped, then `]`.
    let mut state = super::json_string::StringState::default();
    for (at, c) in quoted.char_indices() {
        state.step(c);
        if at > 0 && !state.in_string() {
            let (literal, after) = quoted.split_at(at + 1);
            let after = after.strip_prefix(']')?;
            return Some((serde_json::from_str(literal).ok()?, after));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_would_read_as_something_else_is_quoted_and_reads_back() {
        let cases = [
            (vec!["prefs", "api"], "prefs.api"),
            (vec!["a.b", "c"], "[\"a.b\"].c"),
            (vec!["a", "b", "c"], "a.b.c"),
            (vec!["x", ""], "x[\"\"]"),
            (vec!["q\"]", "t"], "[\"q\\\"]\"].t"),
            (vec![" pad", "k[0]"], "[\" pad\"][\"k[0]\"]"),
            (vec!["back\\slash"], "[\"back\\\\slash\"]"),
            (vec!["ünï code", "日本"], "ünï code.日本"),
            (vec!["\u{3000}wide", "tab\t", "nbsp\u{a0}"], "[\"\u{3000}wide\"][\"tab\\t\"][\"nbsp\u{a0}\"]"),
            (vec!["zw\u{200b}k", "password"], "[\"zw\\u200bk\"].password"),
            (
                vec!["uni\u{202e}evil", "tab\tk", "pic\u{2409}k"],
                "[\"uni\\u202eevil\"][\"tab\\tk\"][\"pic\\u2409k\"]",
            ),
            (vec!["del\u{7f}", "emoji👍🏽"], "[\"del\\u007f\"].emoji👍🏽"),
        ];
        for (keys, written) in cases {
            let mut path = String::new();
            for key in &keys {
                push_key(&mut path, key);
            }
            assert_eq!(path, written, "{keys:?}");
            for key in keys.iter().filter(|k| !is_plain_key(k)) {
                let mut alone = String::new();
                push_key(&mut alone, key);
                assert_eq!(quoted_key(&alone), Some(((*key).to_owned(), "")), "{alone}");
            }
        }
        assert_eq!(quoted_key("[\"a\"].b"), Some(("a".to_owned(), ".b")));
        assert_eq!(quoted_key("[\"a\"x]"), None, "no `]` after the string");
        assert_eq!(quoted_key("[2]"), None);
        assert_eq!(quoted_key("[\"open"), None);
    }
}
