//! What a full replacement changes: top-level keys dropped and added, and a line diff of the
//! stored text against the new text.

use serde_json::{Map, Value};
use similar::{ChangeTag, TextDiff};

/// Top-level keys of `old` that `new` no longer has, in `old`'s order.
pub fn dropped_keys(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    old.keys().filter(|k| !new.contains_key(*k)).cloned().collect()
}

/// Top-level keys of `new` that `old` did not have, in `new`'s order.
pub fn added_keys(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    dropped_keys(new, old)
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub change: LineChange,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    Same,
    Removed,
    Added,
}

/// A line diff of `old` against `new`.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffLine {
            change: match change.tag() {
                ChangeTag::Equal => LineChange::Same,
                ChangeTag::Delete => LineChange::Removed,
                ChangeTag::Insert => LineChange::Added,
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}
