//! Where users live. [`UserStore`] is the narrow interface the CLI and the TUI speak to; the
//! redb implementation is the only one today (a PostgreSQL one can implement the same trait).
//!
//! Every customData save is a full replacement that records the document it replaced, bumps
//! the user's revision and refuses when the caller's idea of the revision is stale.

mod postgres;
mod redb_store;

use thiserror::Error;

pub use postgres::connect::{ConnectionSpec, is_postgres_url};
pub use postgres::{POSTGRES_SCHEMA_VERSION, PostgresOptions, PostgresStore};
pub use redb_store::{OpenOptions, RedbStore, SCHEMA_VERSION};

pub use crate::domain::import::{NewUser, RecordError};
use crate::domain::{CustomData, User, ValidationError};

/// A user's customData revision: 1 when created, +1 on every save that changes it.
pub type Revision = u64;

/// Who made a change, as written into the history: the OS user, plus the SSH client address
/// when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author(pub String);

impl Author {
    /// The operator running this process: `$USER` (or `$LOGNAME`, or the uid), and
    /// `via <address>` when `$SSH_CONNECTION` says they came in over SSH.
    pub fn from_environment() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            // SAFETY: getuid has no preconditions and cannot fail.
            .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }));
        let client =
            std::env::var("SSH_CONNECTION").ok().and_then(|c| c.split_whitespace().next().map(str::to_owned));
        match client {
            Some(address) => Author(format!("{user} via {address}")),
            None => Author(user),
        }
    }
}

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
}

/// One entry of a user's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    pub revision: Revision,
    pub saved_at: i64,
    pub saved_by: String,
    pub size: usize,
    pub current: bool,
}

/// One step of a full scan (see [`UserStore::scan_matches`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanStep {
    pub hits: Vec<ListEntry>,
    pub scanned: usize,
    /// Where the next step starts; `None` when the scan is done.
    pub next: Option<String>,
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        revision: Revision,
    },
    /// The new document is the stored one: nothing was written.
    Unchanged {
        revision: Revision,
    },
}

/// Whether an import may touch users that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    InsertOnly,
    /// An existing id gets the imported profile and customData (a new revision when it changed).
    Upsert,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// What can go wrong in the store, each with what the operator should know.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no user {0:?} (looked for an id, a username, a primary email and a primary phone)")]
    UserNotFound(String),
    #[error("user {user} has no revision {revision}")]
    RevisionNotFound { user: String, revision: Revision },
    #[error(
        "conflict: user {user} is at revision {found}, not {expected}; someone saved in between. Reload, then apply your change again"
    )]
    Conflict { user: String, expected: Revision, found: Revision },
    #[error("{field} {value:?} already belongs to user {existing}")]
    Duplicate { field: &'static str, value: String, existing: String },
    #[error("user id {0:?} already exists (use --upsert to replace it)")]
    IdExists(String),
    #[error("{0}")]
    InvalidRecord(RecordError),
    #[error("{origin}: {reason}")]
    RecordConflict { origin: String, reason: Box<StoreError> },
    #[error("invalid customData: {0}")]
    Invalid(#[from] ValidationError),
    #[error("the database is busy: another operator is writing; try again")]
    Busy,
    #[error("read-only: the database was opened with --read-only; nothing was written")]
    ReadOnly,
    #[error("{path}: no such database file (create one with `custodian init --db {path}`)")]
    Missing { path: String },
    #[error("{path}: already exists; not overwriting it")]
    AlreadyExists { path: String },
    #[error("{path}: needs a repair after a crash; open it once without --read-only")]
    NeedsRepair { path: String },
    #[error("{path}: not a custodian database ({detail})")]
    NotADatabase { path: String, detail: String },
    #[error(
        "{path}: written by a newer custodian (schema {found}; this one knows {supported}); upgrade custodian"
    )]
    NewerSchema { path: String, found: u64, supported: u64 },
    #[error(
        "{path}: locked by another program that opened it in a different locking mode (an older custodian or a redb tool); close it and retry"
    )]
    Locked { path: String },
    #[error("{context}: {error}")]
    Io { context: String, error: std::io::Error },
    #[error("database error: {0}")]
    Database(String),
    /// A PostgreSQL server could not be reached or refused us (the password never appears).
    #[error("{0}")]
    Connection(String),
    #[error(
        "conflict: user {user} was changed outside custodian (by Logto or SQL) since it was read; nothing was written. Reload, then apply your change again"
    )]
    ChangedOutside { user: String },
    #[error(
        "{url}: custodian's schema is not in this database, so nothing can be saved; run `custodian --db {url} init` once as a role allowed to create it"
    )]
    NotInitialised { url: String },
    /// An operation this backend does not offer (exit 2: a usage error).
    #[error("{0}")]
    NotOnThisBackend(String),
}

impl StoreError {
    /// Whether the error is a refusal because of someone else's data (exit code 5).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. }
                | StoreError::ChangedOutside { .. }
                | StoreError::Duplicate { .. }
                | StoreError::IdExists(_)
                | StoreError::RecordConflict { .. }
        )
    }
}

/// The operations custodian needs from a user store. Reads take a fresh snapshot each call
/// (nothing is held while an operator thinks); each write is one atomic, durable transaction.
pub trait UserStore: Send + Sync {
    /// Whether every write will be refused (the store was opened read-only).
    fn is_read_only(&self) -> bool;
    /// Number of users.
    fn count(&self) -> Result<u64, StoreError>;
    /// Up to `limit` users in list order from `seek`, only those matching `filter` when
    /// given: the id, username, email, phone or name contains it, in any case. Always
    /// returned in list order, also when reading backwards.
    fn rows(&self, seek: &Seek, filter: Option<&str>, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// Up to `limit` users in list order, after `after` (from the start when `None`).
    fn page_after(&self, after: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&after.map_or(Seek::First, |k| Seek::After(k.clone())), None, limit)
    }
    /// Up to `limit` users in list order just before `before` (the last ones when `None`).
    fn page_before(&self, before: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&before.map_or(Seek::Last, |k| Seek::Before(k.clone())), None, limit)
    }
    /// Users matching `query` (see [`UserStore::rows`]) after `after`, at most `limit`.
    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&after.map_or(Seek::First, |k| Seek::After(k.clone())), Some(query), limit)
    }
    /// Users whose id, username, email, phone or name starts with `query` (any case), in list
    /// order, at most `limit`. Read from the indexes: the same cost at any number of users.
    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// One step of a full scan: up to `batch` users in id order after `after`, with those
    /// among them whose id, username, email, phone, name or customData text contains `query`
    /// (any case). The step ends early at `max_hits` hits, so a query that matches nearly
    /// everyone costs no more memory than the caller wants to hold. Each step is its own
    /// short read, so a scan holds no snapshot for long.
    fn scan_matches(
        &self,
        query: &str,
        after: Option<&str>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError>;
    /// The id of the user named by an id, a username, a primary email or a primary phone.
    fn resolve(&self, user_ref: &str) -> Result<String, StoreError>;
    /// One user, by id.
    fn user(&self, id: &str) -> Result<UserRecord, StoreError>;
    /// The list row of one user, by id.
    fn entry(&self, id: &str) -> Result<ListEntry, StoreError>;
    /// The current customData text of a user.
    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError>;
    /// Replaces a user's customData, keeping the old document in the history. With
    /// `expected`, refuses (`Conflict`) when the stored revision is another one.
    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError>;
    /// Every revision of a user's customData, oldest first, the current one last.
    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError>;
    /// The text of one revision.
    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError>;
    /// Imports users all or nothing: any bad record, and nothing is written.
    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError>;
    /// Calls `visit` for every user in list order with their customData, from one snapshot.
    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Saves an old revision's document as a new revision; nothing is rewritten in place.
    fn restore(
        &self,
        id: &str,
        revision: Revision,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        let text = self.revision_text(id, revision)?;
        let data = CustomData::parse(&text)?;
        self.replace_custom_data(id, &data, expected, author)
    }
}
