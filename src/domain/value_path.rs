//! Paths to a value in a document, in the one style the lint, the schema check and sealing
//! share: `prefs.api[2].token`. Built by pushing a step and truncating back to the length
//! the push returns, so a walk keeps one string however deep it goes.

use std::fmt::Write as _;

/// Adds `.key` (just `key` at the top) to `path`; returns the length to truncate back to.
pub(crate) fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    len
}

/// Adds `[index]` to `path`; returns the length to truncate back to.
pub(crate) fn push_index(path: &mut String, index: usize) -> usize {
    let len = path.len();
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
    len
}
