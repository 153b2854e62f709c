//! Where users live. [`UserStore`] is the narrow interface the CLI and the TUI speak to; the
//! redb and PostgreSQL stores implement it, and one conformance suite tests both.
//!
//! Every customData save is a full replacement that records the document it replaced, bumps
//! the user's revision and refuses when the caller's idea of the revision is stale.

mod postgres;
mod redb_search;
mod redb_store;

use thiserror::Error;

pub use postgres::connect::{ConnectionSpec, is_postgres_url};
pub use postgres::{
    CLI_STATEMENT_TIMEOUT, KeySync, POSTGRES_SCHEMA_VERSION, PostgresOptions, PostgresStore,
    SCREEN_STATEMENT_TIMEOUT,
};
pub use redb_store::{OpenOptions, RedbStore, SCHEMA_VERSION};

pub use crate::domain::import::{NewUser, RecordError};
pub use crate::domain::user_ref::{UserField, UserMatch, UserRef};
use crate::domain::{CustomData, User, ValidationError};

/// A user's customData revision: 1 when created, +1 on every save that changes it.
pub type Revision = u64;

/// Who made a change, as written into the history: the OS account, plus the SSH client
/// address when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author(pub String);

/// The most of `$USER` kept when it disagrees with the account: it is only a claim.
const CLAIMED_NAME_CHARS: usize = 32;

impl Author {
    /// The operator running this process: the name of the uid's account (`uid N` without
    /// one), with `$USER` (else `$LOGNAME`) added, cut short, only when it claims someone
    /// else; `via <address>` when `$SSH_CONNECTION` starts with an IP address.
    pub fn from_environment() -> Self {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        let claimed =
            std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty());
        let client = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|a| a.parse::<std::net::IpAddr>().ok()));
        Self::describe(account_name(uid).as_deref(), uid, claimed.as_deref(), client)
    }

    /// What [`Author::from_environment`] records for this process's account when `$USER`
    /// says `claimed` and there is no SSH connection (for tests of what the history shows).
    pub fn describe_for_tests(claimed: &str) -> String {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Self::describe(account_name(uid).as_deref(), uid, Some(claimed), None).0
    }

    fn describe(
        account: Option<&str>,
        uid: u32,
        claimed: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Self {
        let mut who = account.map_or_else(|| format!("uid {uid}"), str::to_owned);
        if let Some(claimed) = claimed.filter(|c| Some(*c) != account) {
            let mut short: String = claimed.chars().take(CLAIMED_NAME_CHARS).collect();
            if short.len() < claimed.len() {
                short.push('…');
            }
            who.push_str(&format!(" ($USER {short})"));
        }
        if let Some(address) = client {
            who.push_str(&format!(" via {address}"));
        }
        Author(who)
    }
}

/// The login name of `uid` from the password database (`getpwuid_r`), if it has one.
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into it and into
    // `buffer` (whose length it is told) and sets `found` to it or to null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found);
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(entry.pw_name).to_str().ok()?;
        (!name.is_empty()).then(|| name.to_owned())
    }
}

#[cfg(test)]
mod author_tests {
    use super::Author;

    #[test]
    fn the_account_name_is_the_author_and_a_user_variable_that_agrees_adds_nothing() {
        assert_eq!(Author::describe(Some("ops"), 1000, Some("ops"), None).0, "ops");
        assert_eq!(Author::describe(Some("ops"), 1000, None, None).0, "ops");
    }

    #[test]
    fn a_user_variable_that_claims_someone_else_is_kept_only_as_a_short_claim() {
        let long = "x".repeat(120_000);
        let author = Author::describe(Some("ops"), 1000, Some(&long), None);
        assert!(author.0.starts_with("ops ($USER xxxx"), "{}", author.0);
        assert!(author.0.chars().count() < 50, "{} chars", author.0.chars().count());
    }

    #[test]
    fn without_an_account_the_uid_names_the_author_and_the_ssh_address_is_kept() {
        let address = "203.0.113.9".parse().ok();
        assert_eq!(Author::describe(None, 4242, None, address).0, "uid 4242 via 203.0.113.9");
    }

    #[test]
    fn the_account_of_this_process_is_found() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        assert!(super::account_name(uid).is_some_and(|name| !name.is_empty()));
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

/// Users a `search` reads per step of its scan.
pub(crate) const SEARCH_STEP: usize = 5_000;

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        revision: Revision,
        /// The top-level keys of the document this save replaced that the new one does not
        /// have, in the old document's order: computed inside the write transaction, so they
        /// are what this save removed even when someone else saved just before it.
        removed: Vec<String>,
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

/// The name of one batch of saves made as one (a bulk `patch`, an `undo`): the history's
/// revisions, the journal and `undo` refer to it. [`BatchId::new`] makes one that sorts by
/// time and is unique in practice: `b20261202T012233Z-3f9a1c`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub String);

impl BatchId {
    /// A new batch id from the current UTC time and 24 random bits.
    pub fn new() -> Self {
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
            .unwrap_or_else(|_| now.unix_timestamp().to_string());
        BatchId(format!("b{stamp}-{:06x}", fastrand::u32(..1 << 24)))
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
    /// These user ids, in this order (references already resolved by the caller).
    Ids(Vec<String>),
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
    pub changed_since: Vec<(String, Revision)>,
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
    /// The entry's place in the journal: with `saved_at`, what orders it (newest first) and
    /// what [`JournalQuery::before`] pages from. Unique per entry, rising with each save.
    pub sequence: u64,
}

impl JournalEntry {
    /// Where the next page, newest first, starts: [`JournalQuery::before`] this entry.
    pub fn position(&self) -> (i64, u64) {
        (self.saved_at, self.sequence)
    }

    /// `+plan,beta −lang ~theme`: the keys the save added, removed and changed, as `changes`
    /// and the screen's overlay show them (not yet made inert).
    pub fn key_summary(&self) -> String {
        [("+", &self.added), ("−", &self.removed), ("~", &self.changed)]
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(mark, keys)| format!("{mark}{}", keys.join(",")))
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

/// Whether an import may touch users that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    InsertOnly,
    /// An existing id gets the fields the record gives; a field the record does not have
    /// (customData, createdAt, any profile field) keeps what is stored. customData changes
    /// as a save does (a new revision, the old one in the history, `updatedAt` bumped);
    /// `updatedAt` never goes backwards.
    Upsert,
}

/// What an import did. `unchanged` counts records identical to what was stored (nothing
/// written for them); anything rewritten is `updated`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// For each upsert that replaced a document with one lacking some of its top-level keys:
    /// the user id and those keys, in the old document's order.
    pub removed_keys: Vec<(String, Vec<String>)>,
}

/// What can go wrong in the store, each with what the operator should know.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no user {0:?} (looked for an id, a username, a primary email and a primary phone)")]
    UserNotFound(String),
    #[error(
        "{reference:?} names more than one user: {}; say which with {}",
        .matches.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        explicit_forms(.reference, .matches)
    )]
    Ambiguous { reference: String, matches: Vec<UserMatch> },
    #[error("the schema has no revision {0} (see `custodian schema history`)")]
    SchemaRevisionNotFound(Revision),
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
    /// redb cannot read such a file read-only at all (it refuses rather than read the last
    /// committed state), so the message names the command that repairs it.
    #[error(
        "{path}: was not closed cleanly (a process using it was killed or the machine stopped) and needs a repair, which a read-only open cannot do; repair it by opening it once without --read-only: `custodian --db {quoted} info`",
        quoted = crate::inert::shell_word(path)
    )]
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
    /// custodian's schema on PostgreSQL is an older layout than this build's: what needs the
    /// newer one (batches, the journal) waits for `init` to upgrade it.
    #[error(
        "{url}: custodian's schema here is layout {found}, older than this custodian's {wanted}, which batches and the journal need; upgrade it with `custodian --db {url} init` once, as a role allowed to alter it"
    )]
    SchemaNeedsUpgrade { url: String, found: i64, wanted: i64 },
    /// An operation this backend does not offer (exit 2: a usage error).
    #[error("{0}")]
    NotOnThisBackend(String),
    /// The server went away, or ended our session, after we were connected: nothing more is
    /// read or written until [`UserStore::reconnect`] succeeds. `detail` says what it meant
    /// for the call that found out (a save: that it did not happen).
    #[error("{server}: connection lost (the server ended the session or the network dropped){detail}")]
    ConnectionLost { server: String, detail: String },
    /// The connection went while a save's COMMIT was on its way: the server may have committed
    /// it or not. Never reported as saved; [`UserStore::save_landed`] finds out which after a
    /// reconnect.
    #[error(
        "{server}: the connection was lost while the save of user {user} was committing: custodian cannot tell yet whether it was saved (as revision {revision}); reconnect to find out"
    )]
    SaveOutcomeUnknown { server: String, user: String, revision: Revision },
    /// A statement ran past the session's `statement_timeout`: the server stopped it (a write
    /// in it was rolled back).
    #[error(
        "{server}: the server did not answer within {seconds} s (statement_timeout); nothing was changed. Try again, or look at the server's load"
    )]
    TimedOut { server: String, seconds: u64 },
    #[error("no batch {0} (see `custodian changes` for the batches there are)")]
    BatchNotFound(String),
    /// The statement was cancelled on purpose (a filter scan the next keystroke replaced).
    #[error("the query was cancelled")]
    Cancelled,
}

/// `id:bob or username:bob`: the explicit forms that pick one of the matches; the ids when
/// two matched by the same field (users an upgrade found colliding under the fold).
fn explicit_forms(reference: &str, matches: &[UserMatch]) -> String {
    let mut fields: Vec<UserField> = matches.iter().map(|m| m.field).collect();
    fields.sort();
    fields.dedup();
    let forms: Vec<String> = if fields.len() == matches.len() {
        fields.iter().map(|f| format!("{}:{reference}", f.prefix())).collect()
    } else {
        matches.iter().map(|m| format!("id:{}", m.id)).collect()
    };
    match forms.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => forms.join(""),
    }
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

    /// Whether the store lost its connection and must reconnect before anything else works.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, StoreError::ConnectionLost { .. } | StoreError::SaveOutcomeUnknown { .. })
    }
}

/// The operations custodian needs from a user store. Reads take a fresh snapshot each call
/// (nothing is held while an operator thinks); each write is one atomic, durable transaction.
/// [`UserStore::search`] as the filter's scan does it: step after step of `step` users to
/// `limit` hits or the end of the list.
pub(crate) fn search_by_steps<S: UserStore + ?Sized>(
    store: &S,
    query: &str,
    after: Option<&ListKey>,
    limit: usize,
    step: usize,
) -> Result<Vec<ListEntry>, StoreError> {
    let mut found = Vec::new();
    let mut after = after.cloned();
    while found.len() < limit {
        let step = store.scan_matches(query, after.as_ref(), step, limit - found.len())?;
        found.extend(step.hits);
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(found)
}

pub trait UserStore: Send + Sync {
    /// Whether every write will be refused (the store was opened read-only).
    fn is_read_only(&self) -> bool;
    /// Number of users, counted exactly (on PostgreSQL that reads every index entry of the
    /// tenant: see [`UserStore::user_count`] for a figure that is cheap at any size).
    fn count(&self) -> Result<u64, StoreError>;
    /// Number of users for a screen or `info`: cheap at any number of users, and exact
    /// unless the store says it is an estimate.
    fn user_count(&self) -> Result<UserCount, StoreError> {
        Ok(UserCount { users: self.count()?, exact: true })
    }
    /// Whether a saved document keeps its key order (the only way the screen and the CLI
    /// learn it): where it does not, a reordering is no change.
    fn key_order(&self) -> KeyOrder {
        KeyOrder::AsWritten
    }
    /// Up to `limit` users in list order from `seek`. Always returned in list order, also
    /// when reading backwards.
    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// Up to `limit` users in list order, after `after` (from the start when `None`).
    fn page_after(&self, after: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&after.map_or(Seek::First, |k| Seek::After(k.clone())), limit)
    }
    /// Up to `limit` users in list order just before `before` (the last ones when `None`).
    fn page_before(&self, before: Option<&ListKey>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows(&before.map_or(Seek::Last, |k| Seek::Before(k.clone())), limit)
    }
    /// The first `limit` users in list order after `after` that match `query` by the
    /// filter's rule ([`crate::domain::filter::Filter`]): `list --search`, which is the list
    /// filter's scan run to its end.
    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        search_by_steps(self, query, after, limit, SEARCH_STEP)
    }
    /// Users whose id, username, email, phone or name starts with `query` (folded as the
    /// filter folds), in list order, at most `limit`. Read from the indexes: the same cost at
    /// any number of users. Every user it returns is also a match of [`UserStore::scan_matches`].
    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError>;
    /// One step of a full scan, in list order: up to `batch` users after the list key
    /// `after`, with those among them that match `query` by the filter's rule
    /// ([`crate::domain::filter::Filter`]: profile fields and customData, each user at most
    /// once). The step ends early at `max_hits` hits, so a query that matches nearly everyone
    /// costs no more memory than the caller wants to hold, and the first N hits of a scan are
    /// the first N matches in list order. Each step is its own short read, so a scan holds no
    /// snapshot for long.
    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError>;
    /// Every user `reference` matches in the fields it names (all four for a bare one), with
    /// the field each matched by: at most one per field, since each is unique (except users
    /// an upgrade found colliding). Usernames and emails are matched by the Unicode fold
    /// ([`crate::domain::fold::name_key`]), phones normalised ([`crate::domain::fold::phone_key`]),
    /// ids exactly.
    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError>;
    /// The id of the user named by `user_ref`: an id, a username, a primary email or a
    /// primary phone, or one of the explicit forms `id:…`, `username:…`, `email:…`,
    /// `phone:…` ([`UserRef::parse`]). A bare reference that matches more than one user is
    /// refused ([`StoreError::Ambiguous`]) instead of picking one by a fixed order.
    fn resolve(&self, user_ref: &str) -> Result<String, StoreError> {
        let reference = UserRef::parse(user_ref);
        let mut matches = self.lookup(&reference)?;
        // An explicit form is also someone's literal name when a username (or an email, a
        // phone) was made to read `id:carl`: that is a second user the reference names, and
        // never a way to send a save to the user the operator did not mean.
        if reference.field.is_some() {
            matches.extend(self.lookup(&UserRef { text: user_ref.to_owned(), field: None })?);
        }
        let Some(first) = matches.first() else {
            return Err(StoreError::UserNotFound(user_ref.to_owned()));
        };
        let id = first.id.clone();
        if matches.iter().all(|m| m.id == id) {
            return Ok(id);
        }
        // One user found by two fields (an id that is also their phone) is still one.
        let mut seen = std::collections::HashSet::new();
        matches.retain(|m| seen.insert(m.id.clone()));
        Err(StoreError::Ambiguous { reference: user_ref.to_owned(), matches })
    }
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

    /// Connects again after the connection was lost ([`StoreError::ConnectionLost`]), with
    /// the same server, role, tenant and settings; a store whose connection is fine is left as
    /// it is. Provided: an embedded store (redb) has no connection to lose.
    fn reconnect(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Asks the store to stop the statement it is running now, from another thread (the
    /// filter's scan that the next keystroke replaced); that call then fails with
    /// [`StoreError::Cancelled`] or finishes, whichever comes first. Must not block. Provided
    /// as nothing: redb's scan steps are short and the scanner checks between them.
    fn cancel_running(&self) {}

    /// After [`StoreError::SaveOutcomeUnknown`] (and a reconnect): whether the save of `data`
    /// as revision `revision` of user `id` did commit. Provided by comparing that revision's
    /// document with `data`; a backend may compare as its own storage does.
    fn save_landed(&self, id: &str, data: &CustomData, revision: Revision) -> Result<bool, StoreError> {
        match self.revision_text(id, revision) {
            Ok(text) => {
                Ok(CustomData::parse(&text).is_ok_and(|stored| stored.as_object() == data.as_object()))
            }
            Err(StoreError::RevisionNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Brings what the store keeps beside the users up to date with writes made outside
    /// custodian (PostgreSQL's key table: users Logto created, renamed or deleted since the
    /// last sync); whether anything changed, so a screen knows to reload its list. A store
    /// whose indexes are written with the users (redb), or that reads the order afresh
    /// each time, has nothing to do.
    fn sync_keys(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The deployment's JSON Schema for customData and its revision; `None` when none is set
    /// (never set, cleared, or a PostgreSQL database without custodian's schema).
    fn schema(&self) -> Result<Option<StoredSchema>, StoreError>;
    /// Sets (`Some`) or clears (`None`) the schema. Every change is a new revision and the
    /// one it replaces stays in the history; the same text again (or clearing when there is
    /// none) writes nothing. Returns the schema's revision after the call (0: never set).
    /// The text is stored as given: checking that it is a schema is the caller's.
    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<Revision, StoreError>;
    /// Every revision of the schema, oldest first, the current one last (`size` 0: cleared).
    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError>;
    /// The text of one revision of the schema; `None` when that revision cleared it.
    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError>;

    /// Applies `edit` to the customData of every user `selection` names, all in one write
    /// transaction: each [`BatchEdit::Replace`] that differs from the stored document becomes
    /// a new revision tagged with `batch` (in the history and the journal); when `edit` returns
    /// an error, nothing at all is written and that error is returned. Users are read one at
    /// a time, so memory does not grow with the selection. An id of [`Selection::Ids`] that
    /// names no user is [`StoreError::UserNotFound`]. Provided: not on this backend.
    fn edit_batch(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        let _ = (batch, selection, edit, author);
        Err(StoreError::NotOnThisBackend("batches are not kept on this backend yet".into()))
    }

    /// Calls `visit` for every user `selection` names, in its order, with their record and
    /// customData text (compact or canonical: parse it), reading only: the dry run of a
    /// batch edit goes over the same users [`UserStore::edit_batch`] would. An id of
    /// [`Selection::Ids`] that names no user is [`StoreError::UserNotFound`]; an id given
    /// twice is visited once, as the batch edits it once. Provided from
    /// [`UserStore::for_each_user`] and [`UserStore::scan_matches`] (whose steps are short
    /// reads of their own).
    fn for_each_selected(
        &self,
        selection: &Selection,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match selection {
            Selection::All => self.for_each_user(visit),
            Selection::Search(query) => {
                let mut after: Option<ListKey> = None;
                loop {
                    let step = self.scan_matches(query, after.as_ref(), SEARCH_STEP, SEARCH_STEP)?;
                    for hit in &step.hits {
                        let record = self.user(&hit.user.id)?;
                        let document = self.custom_data(&hit.user.id)?;
                        visit(&record, &document.text)?;
                    }
                    match step.next {
                        Some(next) => after = Some(next),
                        None => return Ok(()),
                    }
                }
            }
            Selection::Ids(ids) => {
                let mut seen = std::collections::HashSet::new();
                for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                    let record = self.user(id)?;
                    let document = self.custom_data(id)?;
                    visit(&record, &document.text)?;
                }
                Ok(())
            }
        }
    }

    /// Restores every user `batch` saved to the revision before it, as one new batch `undo`
    /// in one transaction; a user saved again since is left alone and listed. An unknown
    /// batch is [`StoreError::BatchNotFound`]. Provided: not on this backend.
    fn undo_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        let _ = (batch, undo, author);
        Err(StoreError::NotOnThisBackend("batches are not kept on this backend yet".into()))
    }

    /// The journal of every save, newest first, narrowed by `query`, from one snapshot;
    /// `visit` returns `false` to stop early. Read from indexes: a query for the last hour
    /// does not read all history. Provided: not on this backend.
    fn journal(
        &self,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let _ = (query, visit);
        Err(StoreError::NotOnThisBackend("the journal is not kept on this backend yet".into()))
    }

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
