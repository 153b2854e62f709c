//! Paths to a value in a document, in the one style the lint, the schema check, the tree and
//! sealing share: `prefs.api[2].token`. A key that would read as something else — holding a
//! dot or a bracket, a quote or a backslash, empty, or with white space at an end — is written
//! quoted, as jq writes it: `prefs["a.b"].c`, `[""]` (written plain, `["a.b"].c` and
//! `a.b.c` both read `a.b.c`: bb26 T04). Built by pushing a step and truncating back to the
//! length the push returns, so a walk keeps one string however deep it goes.

use std::fmt::Write as _;

/// Whether `key` is written as it is: it reads back as one key and nothing else.
pub(crate) fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && !key.contains(['.', '[', ']', '"', '\\'])
        && !key.starts_with(char::is_whitespace)
        && !key.ends_with(char::is_whitespace)
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
        // A JSON string: escapes as JSON writes them, read back by the same parser.
        path.push_str(&serde_json::Value::from(key).to_string());
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
