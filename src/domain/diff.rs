//! What a full replacement changes: top-level keys dropped and added, and a line diff of the
//! stored text against the new text.

use serde_json::{Map, Value};

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

/// The keys of a document whose keys are those of the one before it, reordered, that now
/// stand where another stood: what a save that only reorders the top-level keys changed, named
/// the same way by the journal and by `history` (bb72 F5, bb83 F2).
pub fn moved_keys<'a>(
    now: impl Iterator<Item = &'a String>,
    before: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    now.zip(before).filter(|(now, before)| now != before).map(|(now, _)| now.clone()).collect()
}

/// [`changed_keys`] where the text counts (a file, which keeps each document as written): a
/// value whose object keys were only reordered, or a number respelled, has changed, as
/// `history` compares the values' texts (the journal said such a save changed no key while
/// `history` named it: bb45 F2).
pub fn changed_keys_as_written(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    new.iter()
        .filter(|(k, v)| old.get(*k).is_some_and(|o| !written_alike(o, v)))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Whether two values serialise to the same text: objects' keys in the same order, numbers
/// spelled alike (serde_json's `==` takes objects' keys in any order).
fn written_alike(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && written_alike(va, vb))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| written_alike(a, b))
        }
        _ => a == b,
    }
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

/// A line diff of `old` against `new`. Lines are matched without their trailing `,`: a key
/// added after the last one gives the line before it a comma, and that line showed as removed
/// and added again though its value was the same (bb41). A matched line is shown as `new`
/// writes it.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let ops = similar::capture_diff_slices_by_key(similar::Algorithm::Myers, &old, &new, |line| {
        line.strip_suffix(',').unwrap_or(line)
    });
    let mut diff = Vec::with_capacity(old.len().max(new.len()));
    let mut push = |lines: &[&str], change| {
        diff.extend(lines.iter().map(|text| DiffLine { change, text: (*text).to_owned() }))
    };
    for op in ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => push(&new[new_range], LineChange::Same),
            _ => {
                push(&old[old_range], LineChange::Removed);
                push(&new[new_range], LineChange::Added);
            }
        }
    }
    diff
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

/// Pairs the removed and added lines of one run of changes: a line of a key with the line of
/// the same key at the same depth (the first not paired yet, in order), the lines of no key
/// (array items, brackets) by their place among such lines. Paired by place alone, a run that
/// removed one key before changed ones paired each changed line with its neighbour's, whose
/// first difference is in the key: long values changed at their end were all cut before the
/// change (bb16 L03).
fn pair_run(diff: &[DiffLine], run: std::ops::Range<usize>, partner: &mut [Option<usize>]) {
    let mut unpaired_keyed: std::collections::HashMap<&str, std::collections::VecDeque<usize>> =
        std::collections::HashMap::new();
    let mut unkeyed_removed = std::collections::VecDeque::new();
    for i in run.clone().filter(|&i| diff[i].change == LineChange::Removed) {
        match key_prefix(&diff[i].text) {
            Some(key) => unpaired_keyed.entry(key).or_default().push_back(i),
            None => unkeyed_removed.push_back(i),
        }
    }
    for a in run.filter(|&i| diff[i].change == LineChange::Added) {
        let removed = match key_prefix(&diff[a].text) {
            Some(key) => unpaired_keyed.get_mut(key).and_then(|lines| lines.pop_front()),
            None => unkeyed_removed.pop_front(),
        };
        if let Some(r) = removed {
            partner[r] = Some(a);
            partner[a] = Some(r);
        }
    }
}

/// A line's indentation and key up to its colon (`    "k06":`), when it starts with one.
fn key_prefix(text: &str) -> Option<&str> {
    let indent = text.len() - text.trim_start().len();
    let rest = text[indent..].strip_prefix('"')?;
    let mut escaped = false;
    for (at, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let end = indent + 1 + at + 1;
                return text[end..].starts_with(':').then(|| &text[..=end]);
            }
            _ => {}
        }
    }
    None
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
        pair_run(diff, run_start..run_end, &mut partner);
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
    fn as_written_a_reordered_or_respelled_value_has_changed_and_an_equal_one_has_not() {
        let old = object(r#"{"prefs":{"theme":"dark","lang":"en"},"n":[1,{"p":1,"q":2}],"same":{"a":[1]}}"#);
        let new =
            object(r#"{"prefs":{"lang":"en","theme":"dark"},"n":[1.0,{"p":1,"q":2}],"same":{"a":[1]}}"#);
        assert_eq!(changed_keys_as_written(&old, &new), ["prefs", "n"]);
        assert_eq!(changed_keys(&old, &new), ["n"], "in any key order, only the number");
        let nested = object(r#"{"n":[1,{"q":2,"p":1}]}"#);
        assert_eq!(changed_keys_as_written(&object(r#"{"n":[1,{"p":1,"q":2}]}"#), &nested), ["n"]);
        assert!(changed_keys_as_written(&old, &old).is_empty());
    }

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

    /// bb41: a key added after the last one gives the line before it a comma; that line is
    /// the same line (shown as the new text writes it), not removed and added again.
    #[test]
    fn a_comma_that_only_follows_from_an_added_key_is_no_change() {
        let old = "{\n  \"a\": 1,\n  \"c\": 3\n}\n";
        let new = "{\n  \"a\": 1,\n  \"c\": 3,\n  \"b\": 2\n}\n";
        assert_eq!(
            texts(&compact(&line_diff(old, new))),
            [r#"   "a": 1,"#, r#"   "c": 3,"#, r#"+  "b": 2"#, " }"]
        );
        let removed_last = line_diff(new, old);
        assert_eq!(
            removed_last.iter().filter(|l| l.change != LineChange::Same).count(),
            1,
            "{removed_last:?}"
        );
        let value_changed = line_diff(old, "{\n  \"a\": 1,\n  \"c\": 4\n}\n");
        assert_eq!(
            value_changed.iter().filter(|l| l.change != LineChange::Same).count(),
            2,
            "{value_changed:?}"
        );
    }

    /// bb16 L03: a run that removes one key before changed ones pairs each changed line with
    /// the line of its own key (by place, `k05` went with `k06`, whose first difference is in
    /// the key); lines of no key pair by their place among such lines; a key at another depth
    /// is another key.
    #[test]
    fn the_lines_of_a_run_pair_by_key_then_by_place() {
        let old = "{\n  \"k04\": 1,\n  \"k05\": 2,\n  \"k06\": 3,\n  \"a\\\"b\": 4,\n  \"k07\": 5,\n  \"list\": [\n    1,\n    \"x\": 0\n  ]\n}\n";
        let new = "{\n  \"k04\": 1,\n  \"k06\": 30,\n  \"a\\\"b\": 40,\n  \"k07\": 50,\n  \"list\": [\n    9,\n  \"x\": 0\n  ]\n}\n";
        let diff = line_diff(old, new);
        let pairs: Vec<String> = texts(&compact(&diff)).into_iter().filter(|t| t.starts_with('-')).collect();
        assert_eq!(
            pairs,
            [
                r#"-  "k05": 2,"#,
                r#"-  "k06": 3, ~   "k06": 30,"#,
                r#"-  "a\"b": 4, ~   "a\"b": 40,"#,
                r#"-  "k07": 5, ~   "k07": 50,"#,
                "-    1, ~     9,",
                r#"-    "x": 0"#,
            ]
        );
        assert_eq!(key_prefix(r#"    "k06": 3,"#), Some(r#"    "k06":"#));
        assert_eq!(key_prefix(r#"  "a\"b": 4"#), Some(r#"  "a\"b":"#));
        assert_eq!(key_prefix(r#"  "just a string","#), None);
        assert_eq!(key_prefix(r#"  "open"#), None);
        assert_eq!(key_prefix("  12,"), None);
    }
}
