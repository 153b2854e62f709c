//! What a store's reads, saves and imports give back: list rows, users with their revision,
//! stored documents and schemas, history entries, scan steps, counts.

use super::{BatchId, Revision};
// Named in the doc comments only.
#[cfg(doc)]
use super::UserStore;
use crate::domain::User;

/// The sort key of a user in the list: the lower-cased handle, then the id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListKey(pub String);

/// Where to start reading the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    First,
    Last,
    /// From this key on, including it.
    From(ListKey),
    After(ListKey),
    Before(ListKey),
}

/// One row of the user list: what the list shows, without customData.
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    pub key: ListKey,
    /// Boxed: a search holds up to 2,000 entries and merges them as hits arrive; moving a
    /// pointer instead of the whole user keeps that merge cheap in time and memory.
    pub user: Box<User>,
    pub revision: Revision,
}

/// A user with the facts of their current customData revision.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub user: User,
    pub revision: Revision,
    /// When the current revision was saved (epoch ms) and by whom.
    pub revised_at: i64,
    pub revised_by: String,
}

/// The stored customData text of a user and the revision it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub text: String,
    pub revision: Revision,
    /// The user's `updated_at` (µs) when this was read, where the store keeps one beside the
    /// revision (Logto's database, where a sign-in moves it): a save held to this document
    /// is held to that moment too ([`super::UserStore::hold_save_to`]). `None`: the revision
    /// says it all (redb), or the document was not read from the user's row.
    pub updated_micros: Option<i64>,
}

/// The deployment's JSON Schema for customData as stored, and the revision it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    pub text: String,
    pub revision: Revision,
}

/// One entry of a user's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    pub revision: Revision,
    pub saved_at: i64,
    pub saved_by: String,
    pub size: usize,
    pub current: bool,
    /// The batch (a `patch --yes`, an `undo`) that saved this revision; `None` for a save of
    /// its own (and for every revision of the schema).
    pub batch: Option<BatchId>,
}

/// One step of a full scan (see [`UserStore::scan_matches`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanStep {
    /// The matches among the users of this step, in list order.
    pub hits: Vec<ListEntry>,
    pub scanned: usize,
    /// The list key the next step starts after; `None` when the scan is done.
    pub next: Option<ListKey>,
}

/// How many users a store holds, and whether the figure was counted or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCount {
    pub users: u64,
    /// False when counting would cost too much (PostgreSQL at many users): `users` is then
    /// the server's estimate, and whatever shows it says so.
    pub exact: bool,
}

/// Who decides the order of a document's keys once it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// A saved document comes back with its keys in the order they were written.
    AsWritten,
    /// The backend named here keeps keys in its own order (PostgreSQL's jsonb: shorter keys
    /// first, then bytewise): a reordering is no change, and the editor says whose order it is.
    Backend(&'static str),
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        revision: Revision,
        /// The top-level keys of the document this save replaced that the new one does not
        /// have, in the old document's order: computed inside the write transaction, so they
        /// are what this save removed even when someone else saved just before it.
        removed: Vec<String>,
        /// The compact size of the document as stored, as the history and the journal give
        /// it for this revision: PostgreSQL's jsonb may write it out longer than it was sent
        /// (`1E+5` as `100000`).
        size: usize,
    },
    /// The new document is the stored one: nothing was written.
    Unchanged { revision: Revision },
}

impl SaveOutcome {
    /// The user's revision after the save.
    pub fn revision(&self) -> Revision {
        match self {
            SaveOutcome::Saved { revision, .. } | SaveOutcome::Unchanged { revision } => *revision,
        }
    }
}

/// Whether an import may touch users that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    InsertOnly,
    /// An existing id gets the fields the record gives; a field the record does not have
    /// (customData, createdAt, any profile field) keeps what is stored. customData changes
    /// as a save does (a new revision, the old one in the history, `updatedAt` bumped);
    /// `updatedAt` never goes backwards. A record that gives an `updatedAt` earlier than the
    /// stored user's, and would change the user, is refused
    /// ([`StoreError::ChangedSinceRecord`]): the user was saved after the record was taken
    /// (an export edited and imported again while a colleague saved), and the import would
    /// take that save back without a word (bb31 U11).
    Upsert,
    /// [`ImportMode::Upsert`] that replaces users changed after their record was taken too:
    /// the operator says so (a backup restored on purpose).
    UpsertOverNewer,
}

impl ImportMode {
    pub fn is_upsert(self) -> bool {
        matches!(self, ImportMode::Upsert | ImportMode::UpsertOverNewer)
    }
}

/// What an import did. `unchanged` counts records identical to what was stored (nothing
/// written for them); anything rewritten is `updated`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// The first [`ImportSummary::USERS_NAMED`] upserts that replaced a document with one
    /// lacking some of its top-level keys: the user id and those keys, in the old document's
    /// order (the first [`ImportSummary::KEYS_NAMED`] of them), and how many there were. Only
    /// the first are kept, so an import of a million such users stays small, and so does one
    /// of documents of 60,000 keys (it held all of them: 107 MB, bb42 F10).
    pub removed_keys: Vec<(String, Vec<String>, usize)>,
    /// How many users lost keys that way, named or not.
    pub users_with_removed_keys: u64,
    /// Users whose customData a record that gave no `updatedAt` replaced: whether they were
    /// saved after the record was made could not be checked (bb57 F6: a newer save replaced
    /// without a word).
    pub unchecked: u64,
}

impl ImportSummary {
    /// Users whose removed keys a summary keeps (and `import` names).
    pub const USERS_NAMED: usize = 20;
    /// Removed keys a summary keeps of each user it names (`import` names as many).
    pub const KEYS_NAMED: usize = 20;

    /// Counts an upsert that removed `keys` from `id`'s document, keeping the first ones.
    pub fn note_removed_keys(&mut self, id: &str, keys: Vec<String>) {
        if keys.is_empty() {
            return;
        }
        self.users_with_removed_keys += 1;
        if self.removed_keys.len() < Self::USERS_NAMED {
            let count = keys.len();
            let mut keys = keys;
            keys.truncate(Self::KEYS_NAMED);
            self.removed_keys.push((id.to_owned(), keys, count));
        }
    }
}
