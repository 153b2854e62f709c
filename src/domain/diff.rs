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

/// Top-level keys both documents have whose values differ, in `new`'s order (a value whose
/// object keys were only reordered is the same value).
pub fn changed_keys(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    new.iter().filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v)).map(|(k, _)| k.clone()).collect()
}

/// `new` with its keys put in `reference`'s order, at every depth (objects in the same place
/// of both, array items by position): the keys `reference` has first, in its order, then the
/// new ones in `new`'s order. For a store that keeps keys in its own order (PostgreSQL's
/// jsonb), a diff against the stored text then shows changed values and nothing a mere
/// reordering moved.
pub fn in_key_order_of(reference: &Map<String, Value>, new: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, old_value) in reference {
        if let Some(value) = new.get(key) {
            out.insert(key.clone(), value_in_order_of(old_value, value));
        }
    }
    for (key, value) in new {
        if !reference.contains_key(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

fn value_in_order_of(reference: &Value, new: &Value) -> Value {
    match (reference, new) {
        (Value::Object(reference), Value::Object(new)) => Value::Object(in_key_order_of(reference, new)),
        (Value::Array(reference), Value::Array(new)) => Value::Array(
            new.iter()
                .enumerate()
                .map(|(i, item)| {
                    reference.get(i).map_or_else(|| item.clone(), |r| value_in_order_of(r, item))
                })
                .collect(),
        ),
        _ => new.clone(),
    }
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

/// Unchanged lines a compact diff shows around each change.
pub const CONTEXT: usize = 2;

/// A row of a compact diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    /// A line of the diff; a changed line with the line it replaces or is replaced by (the
    /// n-th removed and the n-th added line of one run of changes), whose first difference
    /// a narrow view keeps on screen.
    Line { line: &'a DiffLine, partner: Option<&'a DiffLine> },
    /// Unchanged lines left out between two changes (`⋯`).
    Gap,
}

/// The rows of `diff` worth showing: each change with [`CONTEXT`] unchanged lines around it, a
/// [`Shown::Gap`] for the unchanged lines left out between two of them. Empty when nothing
/// changed. What the screens draw and what their scrolling counts.
pub fn compact(diff: &[DiffLine]) -> Vec<Shown<'_>> {
    let mut partner = vec![None; diff.len()];
    let mut run_start = 0;
    while run_start < diff.len() {
        if diff[run_start].change == LineChange::Same {
            run_start += 1;
            continue;
        }
        let run_end = diff[run_start..]
            .iter()
            .position(|l| l.change == LineChange::Same)
            .map_or(diff.len(), |n| run_start + n);
        let run = run_start..run_end;
        let removed = run.clone().filter(|&i| diff[i].change == LineChange::Removed);
        let added = run.clone().filter(|&i| diff[i].change == LineChange::Added);
        for (r, a) in removed.zip(added) {
            partner[r] = Some(a);
            partner[a] = Some(r);
        }
        run_start = run_end;
    }
    let near_change = |i: usize| {
        let from = i.saturating_sub(CONTEXT);
        let to = (i + CONTEXT + 1).min(diff.len());
        diff[from..to].iter().any(|l| l.change != LineChange::Same)
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (i, line) in diff.iter().enumerate() {
        if !near_change(i) {
            skipped = true;
            continue;
        }
        if skipped && !out.is_empty() {
            out.push(Shown::Gap);
        }
        skipped = false;
        out.push(Shown::Line { line, partner: partner[i].map(|p| &diff[p]) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        crate::domain::custom_data::parse_object(text).expect("an object")
    }

    /// What the journal records of a save: keys whose values differ, in the new document's
    /// order; a key only added or removed, or only reordered inside, is not "changed".
    #[test]
    fn changed_keys_are_the_shared_keys_whose_values_differ_in_the_new_order() {
        let old = object(r#"{"theme":"dark","lang":"en","beta":true,"nested":{"a":1,"b":2},"gone":0}"#);
        let new = object(r#"{"lang":"fr","nested":{"b":2,"a":1},"beta":false,"theme":"dark","fresh":1}"#);
        assert_eq!(changed_keys(&old, &new), ["lang", "beta"]);
        assert_eq!(added_keys(&old, &new), ["fresh"]);
        assert_eq!(dropped_keys(&old, &new), ["gone"]);
        assert!(changed_keys(&old, &old).is_empty(), "a document against itself changes nothing");
    }

    #[test]
    fn a_reordered_document_takes_the_reference_order_at_every_depth() {
        let stored = object(r#"{"a":1,"zz":{"b":2,"cc":3},"list":[{"x":1,"yy":2}]}"#);
        let typed = object(r#"{"list":[{"yy":2,"x":1}],"zz":{"cc":3,"b":2},"a":1}"#);
        let aligned = in_key_order_of(&stored, &typed);
        assert_eq!(serde_json::to_string(&aligned).unwrap(), serde_json::to_string(&stored).unwrap());
    }

    #[test]
    fn new_keys_come_after_the_reference_keys_and_changed_values_stay_changed() {
        let stored = object(r#"{"a":1,"b":2}"#);
        let typed = object(r#"{"new":true,"b":3,"a":1}"#);
        let aligned = in_key_order_of(&stored, &typed);
        assert_eq!(serde_json::to_string(&aligned).unwrap(), r#"{"a":1,"b":3,"new":true}"#);
    }

    fn texts(shown: &[Shown<'_>]) -> Vec<String> {
        shown
            .iter()
            .map(|row| match row {
                Shown::Gap => "⋯".to_owned(),
                Shown::Line { line, partner } => {
                    let mark = match line.change {
                        LineChange::Same => ' ',
                        LineChange::Removed => '-',
                        LineChange::Added => '+',
                    };
                    format!(
                        "{mark}{}{}",
                        line.text,
                        partner.map_or(String::new(), |p| format!(" ~ {}", p.text))
                    )
                }
            })
            .collect()
    }

    /// Two lines of context around each change, `⋯` for what lies between; the n-th removed
    /// line of a run is the partner of its n-th added line, an unmatched one has none.
    #[test]
    fn a_compact_diff_keeps_two_lines_around_each_change_and_pairs_the_lines_of_a_run() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let new = "a\nB\nc\nd\ne\nf\ng\nh\nI\nI2\nj\n";
        let diff = line_diff(old, new);
        assert_eq!(
            texts(&compact(&diff)),
            [" a", "-b ~ B", "+B ~ b", " c", " d", "⋯", " g", " h", "-i ~ I", "+I ~ i", "+I2", " j"]
        );
        assert!(compact(&line_diff(old, old)).is_empty(), "no change, no rows");
    }
}
