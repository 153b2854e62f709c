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
}
