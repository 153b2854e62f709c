//! Batch edits (a bulk `patch`, an `undo`) and the journal that records every save.

use super::{Revision, UserStore};
use crate::domain::CustomData;

/// The name of one batch of saves made as one (a bulk `patch`, an `undo`): the history's
/// revisions, the journal and `undo` refer to it. [`BatchId::new`] makes one that sorts by
/// time and is unique in practice: `b20261202T012233Z-3f9a1c`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub String);

impl BatchId {
    /// A new batch id from the current UTC time and 24 random bits.
    pub fn new() -> Self {
        let now = crate::domain::time::now();
        let stamp = now
            .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
            .unwrap_or_else(|_| now.unix_timestamp().to_string());
        BatchId(format!("b{stamp}-{:06x}", fastrand::u32(..1 << 24)))
    }

    /// The id of a bulk load (`seed`, or `import` into an empty database), journaled as one
    /// entry: `l20261202T012233Z-3f9a1c`, told from a batch of saves (`b…`, which `undo` can
    /// take back) by its first letter.
    pub fn new_load() -> Self {
        let BatchId(id) = Self::new();
        BatchId(format!("l{}", id.trim_start_matches('b')))
    }

    /// Whether this names a bulk load ([`BatchId::new_load`]) rather than a batch of saves.
    pub fn is_load(&self) -> bool {
        self.0.starts_with('l')
    }
}

impl Default for BatchId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which users a batch edit goes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every user, in list order.
    All,
    /// The users the list filter's rule matches ([`crate::domain::filter::Filter`], as
    /// `list --search` and [`UserStore::scan_matches`]), in list order.
    Search(String),
    /// These user ids, in id order (references already resolved by the caller).
    Ids(super::UserIds),
}

/// What the edit of one user in a batch decided.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchEdit {
    /// Leave the user as is (the patch does not apply to them, or changes nothing).
    Keep,
    /// Save this document as the user's new revision, tagged with the batch.
    Replace(CustomData),
}

/// What a batch wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    pub batch: BatchId,
    /// Users the selection went over.
    pub matched: u64,
    /// Users given a new revision.
    pub saved: u64,
}

/// What an undo did: its own batch, and the users of the undone batch it left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoSummary {
    pub undo: BatchSummary,
    /// Users of the undone batch saved again since (by anyone), with the revision they are
    /// at now: left as they are, since restoring them would overwrite that later save.
    pub changed_since: LeftAlone,
}

/// The users an undo left alone, in the order found, each with the revision it is at now
/// (0: gone). Kept as one text of ids and a list of revisions: an undo of a batch of a
/// million users, every one saved again since, held them as a million strings (80 MB
/// peak where whole-database work stays within 64 MiB: bb61).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftAlone {
    /// Every id, one after the other; `ends[n]` is where the n-th ends.
    ids: String,
    ends: Vec<usize>,
    revisions: Vec<Revision>,
    /// The batch that saved each one's revision, as an index into `batch_names` (`NO_BATCH`:
    /// none, a save outside a batch or a user gone): the few batches named once, not per user.
    batch_at: Vec<u32>,
    batch_names: Vec<String>,
    batch_index: std::collections::HashMap<String, u32>,
}

/// [`LeftAlone::batch_at`] of a user whose revision no batch saved.
const NO_BATCH: u32 = u32::MAX;

impl LeftAlone {
    /// User `id`, left alone at `revision` (0: gone), which `batch` saved (`None`: no batch did).
    pub fn push(&mut self, id: &str, revision: Revision, batch: Option<&str>) {
        self.ids.push_str(id);
        self.ends.push(self.ids.len());
        self.revisions.push(revision);
        let at = match batch {
            None => NO_BATCH,
            Some(name) => match self.batch_index.get(name) {
                Some(&at) => at,
                None => {
                    let at = self.batch_names.len() as u32;
                    self.batch_names.push(name.to_owned());
                    self.batch_index.insert(name.to_owned(), at);
                    at
                }
            },
        };
        self.batch_at.push(at);
    }

    /// The batch that saved the revision the n-th user left alone is at, when one did.
    pub fn batch(&self, n: usize) -> Option<&str> {
        let at = *self.batch_at.get(n)?;
        self.batch_names.get(at as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The n-th user left alone, and the revision it is at.
    pub fn get(&self, n: usize) -> Option<(&str, Revision)> {
        let end = *self.ends.get(n)?;
        let start = n.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some((&self.ids[start..end], self.revisions[n]))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Revision)> + '_ {
        (0..self.len()).filter_map(|n| self.get(n))
    }

    /// Each user as an owned pair (tests, and the screen's short lists).
    pub fn to_vec(&self) -> Vec<(String, Revision)> {
        self.iter().map(|(id, revision)| (id.to_owned(), revision)).collect()
    }
}

/// One save of one user's customData, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub saved_at: i64,
    /// As the history records it: the OS account, and the SSH client's address.
    pub saved_by: String,
    pub user_id: String,
    pub revision: Revision,
    /// The saved document's size in bytes.
    pub size: usize,
    /// Top-level keys the save added, removed and changed the value of.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub batch: Option<BatchId>,
    /// `Some(n)`: a bulk load (`seed`, or `import` into an empty database) that created `n`
    /// users in one transaction, journaled as one entry, whose `batch` is the load's id. With
    /// an empty `user_id` this is the load itself (`size`: all its documents' bytes; no keys);
    /// with a user's id (as `--user` reads it), that user's revision 1 as the load wrote it.
    pub load: Option<u64>,
    /// The entry's place in the journal: with `saved_at`, what orders it (newest first) and
    /// what [`JournalQuery::before`] pages from. Unique per entry, rising with each save.
    pub sequence: u64,
    /// The account under this id now was created after this save (PostgreSQL, where both
    /// times are the server's): the save was of an earlier account, deleted since. Its
    /// history is not this account's (`history` leaves it out), nor is its username.
    pub of_an_earlier_account: bool,
}

impl JournalEntry {
    /// Where the next page, newest first, starts: [`JournalQuery::before`] this entry.
    pub fn position(&self) -> (i64, u64) {
        (self.saved_at, self.sequence)
    }

    /// Whether this is a bulk load's own entry (no one user's: see [`JournalEntry::load`]).
    pub fn is_load(&self) -> bool {
        self.load.is_some() && self.user_id.is_empty()
    }

    /// `+plan,beta −lang ~theme`: the keys the save added, removed and changed, as `changes`
    /// and the screen's overlay show them (not yet made inert); for a bulk load's own entry,
    /// `load of 1,000,000 new users` (each with every key added).
    /// How many keys it names (added, removed and changed).
    pub fn key_count(&self) -> usize {
        self.added.len() + self.removed.len() + self.changed.len()
    }

    /// A copy naming at most `keep` keys of each kind, for a reader that shows them on one
    /// line cut at the screen's edge: a page of entries of documents of 60,000 keys held 400
    /// MB to show 40 columns of each (bb42 F10).
    pub fn keys_cut_to(&self, keep: usize) -> Self {
        // Field by field: `..self.clone()` copied every key first, only to drop most of them.
        let cut = |keys: &Vec<String>| keys.iter().take(keep).cloned().collect();
        Self {
            saved_at: self.saved_at,
            saved_by: self.saved_by.clone(),
            user_id: self.user_id.clone(),
            revision: self.revision,
            size: self.size,
            added: cut(&self.added),
            removed: cut(&self.removed),
            changed: cut(&self.changed),
            batch: self.batch.clone(),
            load: self.load,
            sequence: self.sequence,
            of_an_earlier_account: self.of_an_earlier_account,
        }
    }

    pub fn key_summary(&self) -> String {
        if let (true, Some(users)) = (self.is_load(), self.load) {
            let users = if users == 1 {
                "1 new user".to_owned()
            } else {
                format!("{} new users", crate::domain::group_digits(users))
            };
            return format!("load of {users}");
        }
        [("+", &self.added), ("−", &self.removed), ("~", &self.changed)]
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(mark, keys)| format!("{mark}{}", crate::domain::history::listed_keys(keys, ",")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What part of the journal to read; every field narrows it (`None`: no bound).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// Saves at or after this time (epoch ms).
    pub since: Option<i64>,
    /// Saves before this time (epoch ms).
    pub until: Option<i64>,
    pub user_id: Option<String>,
    /// Saves whose author contains this text.
    pub saved_by: Option<String>,
    pub batch: Option<BatchId>,
    /// Only entries older than this position ([`JournalEntry::position`]): the next page of a
    /// reader going back in time.
    pub before: Option<(i64, u64)>,
}

/// Whether `batch` is in the journal: after a [`super::StoreError::BatchOutcomeUnknown`],
/// once reconnected, whether its COMMIT landed (a batch that saved nobody is never written,
/// so one that is not there wrote nothing).
pub fn batch_landed(store: &dyn UserStore, batch: &BatchId) -> Result<bool, super::StoreError> {
    let mut found = false;
    let query = JournalQuery { batch: Some(batch.clone()), ..JournalQuery::default() };
    store.journal(&query, &mut |_| {
        found = true;
        Ok(false)
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry cut for a one-line view keeps the first keys of each kind, and the rest of it.
    #[test]
    fn an_entry_cut_to_a_few_keys_keeps_the_first_of_each_kind() {
        let keys = |prefix: &str| (0..100).map(|n| format!("{prefix}{n}")).collect::<Vec<_>>();
        let whole = JournalEntry {
            added: keys("a"),
            removed: keys("r"),
            changed: vec!["c".into()],
            ..entry("u1", None)
        };
        assert_eq!(whole.key_count(), 201);
        let cut = whole.keys_cut_to(2);
        assert_eq!(cut.added, keys("a")[..2]);
        assert_eq!(cut.removed, keys("r")[..2]);
        assert_eq!(cut.changed, ["c"]);
        assert_eq!(cut.key_summary(), "+a0,a1 −r0,r1 ~c");
        assert_eq!((cut.user_id.as_str(), cut.sequence), ("u1", 7));
    }

    fn entry(user_id: &str, load: Option<u64>) -> JournalEntry {
        JournalEntry {
            saved_at: 1_764_640_000_000,
            saved_by: "ops".into(),
            user_id: user_id.into(),
            revision: 1,
            size: 10,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            batch: None,
            load,
            sequence: 7,
            of_an_earlier_account: false,
        }
    }

    #[test]
    fn a_batch_id_is_its_letter_a_utc_stamp_and_six_hex_digits_and_a_loads_letter_is_l() {
        let batch = BatchId::new();
        let load = BatchId::new_load();
        for (id, letter) in [(&batch, "b"), (&load, "l")] {
            // `b20261202T012233Z-3f9a1c`, as `changes` and `undo` show and take it.
            let text = id.to_string();
            let (stamp, random) = text.split_once('-').expect("a dash");
            assert_eq!(stamp.len(), 17, "{text}");
            assert!(stamp.starts_with(letter) && stamp.ends_with('Z') && &stamp[9..10] == "T", "{text}");
            assert!(random.len() == 6 && random.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
        }
        assert!(!batch.is_load());
        assert!(load.is_load());
    }

    #[test]
    fn an_entrys_position_is_its_time_then_its_sequence() {
        assert_eq!(entry("u1", None).position(), (1_764_640_000_000, 7));
    }

    #[test]
    fn only_a_loads_own_entry_without_a_user_is_the_load() {
        assert!(entry("", Some(1_000)).is_load());
        // The revision 1 the load wrote for one user, as `--user` reads it.
        assert!(!entry("u1", Some(1_000)).is_load());
        assert!(!entry("u1", None).is_load());
    }

    #[test]
    fn the_key_summary_marks_added_removed_and_changed_keys_or_counts_a_loads_users() {
        let mut save = entry("u1", None);
        save.added = vec!["plan".into(), "beta".into()];
        save.removed = vec!["lang".into()];
        save.changed = vec!["theme".into()];
        assert_eq!(save.key_summary(), "+plan,beta −lang ~theme");
        // A kind with no keys is left out, not shown as a bare mark.
        save.added.clear();
        save.removed.clear();
        assert_eq!(save.key_summary(), "~theme");
        let mut loaded_user = entry("u1", Some(1_000));
        loaded_user.added = vec!["plan".into()];
        assert_eq!(loaded_user.key_summary(), "+plan");
        assert_eq!(entry("", Some(1_000_000)).key_summary(), "load of 1,000,000 new users");
        assert_eq!(entry("", Some(1)).key_summary(), "load of 1 new user");
        // Keys that hold the marks are quoted (bb25 P02).
        save.changed = vec!["theme −plan ~featureFlags".into(), "x,y".into()];
        assert_eq!(save.key_summary(), r#"~"theme −plan ~featureFlags","x,y""#);
    }

    /// Users left alone come back in the order found, each id whole with its own revision,
    /// ids of any length (a long one, an empty one, one beyond ASCII) side by side.
    #[test]
    fn users_left_alone_come_back_in_order_each_with_its_revision() {
        let mut left = LeftAlone::default();
        assert!(left.is_empty());
        assert_eq!(left.get(0), None);
        let long = "x".repeat(300);
        let ids = ["u1", long.as_str(), "", "ümlaut-ß", "u2"];
        for (n, id) in ids.iter().enumerate() {
            left.push(id, n as Revision * 2, (n % 2 == 1).then_some(["b-1", "b-2"][n / 3]));
        }
        assert_eq!(left.len(), 5);
        let back: Vec<(&str, Revision)> = left.iter().collect();
        assert_eq!(back, vec![("u1", 0), (long.as_str(), 2), ("", 4), ("ümlaut-ß", 6), ("u2", 8)]);
        assert_eq!(left.get(3), Some(("ümlaut-ß", 6)));
        assert_eq!(left.get(5), None);
        assert_eq!(left.to_vec()[1], (long.clone(), 2));
        let batches: Vec<Option<&str>> = (0..6).map(|n| left.batch(n)).collect();
        assert_eq!(batches, [None, Some("b-1"), None, Some("b-2"), None, None]);
    }
}
