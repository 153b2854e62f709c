//! What each revision of a history changed, read one revision at a time so a history of 200
//! documents of 1 MiB never has to be in memory at once: the top-level keys it added and
//! removed against the one before it, and whether it is the same document as an earlier
//! revision (a restore, or a change undone by hand).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// What one revision changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionChanges {
    /// Top-level keys it has that the revision before it did not, in its order.
    pub added: Vec<String>,
    /// Top-level keys the revision before it had that it does not, in their order.
    pub removed: Vec<String>,
    /// Top-level keys both have whose values are written differently, in its order (a
    /// revision that only changed values said nothing, bb10).
    pub changed: Vec<String>,
    /// The earliest other revision holding the same document, when it is not the one just
    /// before it (that one is the same only for a save of nothing, which is not written).
    pub same_as: Option<u64>,
}

impl RevisionChanges {
    /// `+2: theme, lang  −1: beta  = revision 3`: the same words in the CLI's and the
    /// screen's history.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        // First: where a narrow column cuts the line, the key lists go, not the mark of a
        // restore (bb12).
        if let Some(revision) = self.same_as {
            parts.push(format!("= revision {revision}"));
        }
        for (mark, keys) in [("+", &self.added), ("−", &self.removed), ("~", &self.changed)] {
            if !keys.is_empty() {
                parts.push(format!("{mark}{}: {}", keys.len(), listed_keys(keys, ", ")));
            }
        }
        parts.join("  ")
    }
}

/// `keys` joined by `separator` as a list of changed keys shows them: each as it is, or as a
/// JSON string when it holds what the list is written with (white space, `,` `:` `+` `−` `~`
/// `=`, a quote, a backslash) or is empty. customData's keys come from end users too: a key
/// `theme −plan ~flags` read as `plan` removed and `flags` changed (bb25 P02).
pub fn listed_keys(keys: &[String], separator: &str) -> String {
    keys.iter().map(|key| listed_key(key)).collect::<Vec<_>>().join(separator)
}

/// One key as [`listed_keys`] shows it.
pub fn listed_key(key: &str) -> std::borrow::Cow<'_, str> {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ':' | '+' | '−' | '~' | '=' | '"' | '\\'));
    if plain {
        std::borrow::Cow::Borrowed(key)
    } else {
        std::borrow::Cow::Owned(serde_json::Value::from(key).to_string())
    }
}

/// Reads revisions oldest first and says what each changed.
#[derive(Default)]
pub struct HistoryReader {
    /// The revision before's top-level keys, each with a digest of its value's text.
    previous_keys: Vec<(String, [u8; 32])>,
    previous_revision: Option<u64>,
    first_with_digest: HashMap<[u8; 32], u64>,
}

impl HistoryReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes an earlier revision that will not be summed up itself (the screen shows only the
    /// latest ones), so a later one holding the same document is named as it, as `history`
    /// names it.
    pub fn note(&mut self, revision: u64, text: &str) {
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        self.first_with_digest.entry(digest).or_insert(revision);
    }

    /// What revision `revision` (the next one, text `text`) changed. A text that is not a
    /// JSON object (never stored by custodian) counts as having no keys.
    pub fn next(&mut self, revision: u64, text: &str) -> RevisionChanges {
        let keys = top_level_keys(text);
        // Looked up by hash: a scan of the other revision's keys for each key took 9 s a
        // revision of 60,000 keys, and `h` showed `loading…` for minutes (bb44 F3).
        let before: HashMap<&str, &[u8; 32]> =
            self.previous_keys.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let (mut added, mut changed) = (Vec::new(), Vec::new());
        for (key, value) in &keys {
            match before.get(key.as_str()) {
                None => added.push(key.clone()),
                Some(earlier) if *earlier != value => changed.push(key.clone()),
                Some(_) => {}
            }
        }
        let now: std::collections::HashSet<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
        let removed: Vec<String> = self
            .previous_keys
            .iter()
            .filter(|(k, _)| !now.contains(k.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        // Only the top-level keys reordered: the keys that moved are named, as the journal
        // names them, or the revision read as a save that changed nothing (bb83 F2).
        if added.is_empty() && removed.is_empty() && changed.is_empty() && self.previous_revision.is_some() {
            changed = super::diff::moved_keys(
                keys.iter().map(|(key, _)| key),
                self.previous_keys.iter().map(|(key, _)| key),
            );
        }
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let earlier = *self.first_with_digest.entry(digest).or_insert(revision);
        let same_as = (earlier != revision && Some(earlier) != self.previous_revision).then_some(earlier);
        self.previous_keys = keys;
        self.previous_revision = Some(revision);
        RevisionChanges { added, removed, changed, same_as }
    }
}

/// The top-level keys of a JSON object in their order, each with a digest of its value's
/// text, without building its values.
fn top_level_keys(text: &str) -> Vec<(String, [u8; 32])> {
    struct KeysVisitor;
    impl<'de> serde::de::Visitor<'de> for KeysVisitor {
        type Value = Vec<(String, [u8; 32])>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                let value = map.next_value::<&serde_json::value::RawValue>()?;
                keys.push((key, Sha256::digest(value.get().as_bytes()).into()));
            }
            Ok(keys)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut deserializer, KeysVisitor).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{HistoryReader, RevisionChanges};

    #[test]
    fn each_revision_says_the_keys_it_added_and_removed_against_the_one_before() {
        let mut reader = HistoryReader::new();
        assert_eq!(reader.next(1, r#"{"a": 1, "b": {"deep": [1, 2]}}"#).added, ["a", "b"]);
        let second = reader.next(2, r#"{"b": 2, "c": 3, "d": 4}"#);
        assert_eq!(
            (second.added, second.removed),
            (vec!["c".to_owned(), "d".to_owned()], vec!["a".to_owned()])
        );
    }

    #[test]
    fn keys_both_revisions_have_with_other_values_are_changed_in_the_new_order() {
        let mut reader = HistoryReader::new();
        reader.next(1, r#"{"plan": {"seats": 3}, "flags": ["a"], "same": [1, {"x": null}], "gone": 1}"#);
        let second =
            reader.next(2, r#"{"flags": ["a", "b"], "same": [1, {"x": null}], "plan": {"seats": 4}}"#);
        assert_eq!(second.changed, ["flags", "plan"]);
        assert_eq!((second.added.len(), second.removed), (0, vec!["gone".to_owned()]));
        // A value written otherwise is another text: changed (`1.0` is not `1` to a reader).
        assert_eq!(
            reader
                .next(3, r#"{"flags": ["a", "b"], "same": [1.0, {"x": null}], "plan": {"seats": 4}}"#)
                .changed,
            ["same"]
        );
    }

    #[test]
    fn a_revision_that_only_reorders_the_keys_names_those_that_moved() {
        let mut reader = HistoryReader::new();
        reader.next(1, r#"{"a": 1, "b": 2, "c": 3}"#);
        let moved = reader.next(2, r#"{"c": 3, "a": 1, "b": 2}"#);
        assert_eq!(
            moved,
            RevisionChanges { changed: vec!["c".into(), "a".into(), "b".into()], ..Default::default() }
        );
        assert_eq!(reader.next(3, r#"{"c": 3, "b": 2, "a": 1}"#).changed, ["b", "a"]);
    }

    #[test]
    fn a_revision_that_brings_back_an_earlier_document_names_it() {
        let mut reader = HistoryReader::new();
        reader.next(1, r#"{"v": 1}"#);
        reader.next(2, r#"{"v": 2}"#);
        assert_eq!(reader.next(3, r#"{"v": 1}"#).same_as, Some(1));
        assert_eq!(
            reader.next(4, r#"{"v": 5}"#),
            RevisionChanges { changed: vec!["v".into()], ..Default::default() }
        );
        assert_eq!(reader.next(5, r#"{"v": 1}"#).same_as, Some(1), "the earliest is named");
    }

    #[test]
    fn the_summary_names_added_and_removed_keys_and_the_revision_it_equals() {
        let changes = RevisionChanges {
            added: vec!["theme".into(), "lang".into()],
            removed: vec!["beta".into()],
            changed: vec!["plan".into(), "flags".into()],
            same_as: Some(3),
        };
        assert_eq!(changes.summary(), "= revision 3  +2: theme, lang  −1: beta  ~2: plan, flags");
        assert_eq!(RevisionChanges::default().summary(), "");
    }

    /// A key that holds what the list is written with is quoted: `theme −plan ~flags` read as
    /// `plan` removed and `flags` changed (bb25 P02).
    #[test]
    fn a_key_that_holds_the_lists_marks_is_quoted() {
        let added = vec!["theme −plan ~flags".into(), "x,y".into(), "".into(), "a:b".into(), "ok_key".into()];
        let changes = RevisionChanges { added, ..RevisionChanges::default() };
        assert_eq!(changes.summary(), r#"+5: "theme −plan ~flags", "x,y", "", "a:b", ok_key"#);
        let keys = ["q\"uote".to_owned(), "back\\slash".to_owned(), "é".to_owned()];
        assert_eq!(super::listed_keys(&keys, ","), r#""q\"uote","back\\slash",é"#);
    }
}
