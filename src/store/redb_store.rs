//! The redb implementation of [`UserStore`].
//!
//! Opened in `MultiWriter` mode so several custodian processes (TUI and CLI) share one file;
//! read transactions are taken per call and dropped at once (one held while others commit
//! makes the file grow), and write transactions are short: documents are validated before
//! the transaction begins.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{
    Builder, ConcurrencyMode, Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, Table, TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod journal;

use journal::{JournalWriter, KeyChanges, Save};

use super::redb_search::{
    SEARCH_BLOCKS, SearchTexts, scan_blocks, upgrade_search_blocks, upgrade_search_text,
};
use super::{
    Author, BatchEdit, BatchId, BatchSummary, ImportMode, ImportSummary, JournalEntry, JournalQuery,
    ListEntry, ListKey, NewUser, RecordError, Revision, RevisionInfo, SaveOutcome, ScanStep, Seek, Selection,
    StoreError, StoredDocument, StoredSchema, UndoSummary, UserField, UserMatch, UserRecord, UserRef,
    UserStore,
};
/// The sorted bulk load of an import into an empty database.
#[path = "redb_bulk.rs"]
mod bulk;

use crate::crash;
use crate::domain::custom_data::canonical_from_compact;
use crate::domain::filter::{Filter, search_text};
use crate::domain::fold;
use crate::domain::time::now_ms;
use crate::domain::{CustomData, User};

/// The layout version this build writes. A file with a higher one is refused.
/// 1: the first layout. 2: adds `by_name` (names searched by prefix). 3: usernames, emails,
/// phones and names indexed by their Unicode fold ([`crate::domain::fold`]) in
/// `username_keys`, `email_keys`, `phone_keys` (key + NUL + id, so users that already
/// collided under the fold when a file was upgraded are all kept) instead of `by_username`,
/// `by_email`, `by_phone` (lower case → id).
/// 4: no credentials in user records (an older import kept a raw dump's password hashes and
/// TOTP secrets as unknown fields; the upgrade removes them).
/// 5: the journal of every save (`journal`, `journal_by_user`, `journal_by_batch`,
/// `journal_sequence`: see [`journal`]), back-filled from the history by the upgrade.
/// 6: the search texts packed in blocks of many users (`search_blocks`, see
/// [`super::redb_search`]) instead of one `search_text` entry per user.
/// 7: each search block keeps the distinct texts of its users once (a dictionary) and each
/// user as the numbers of its texts (`search_dict_blocks` instead of `search_blocks`): a
/// third of the bytes, and a scan reads and searches less.
pub const SCHEMA_VERSION: u64 = 7;
/// The first layout whose search texts are in `search_dict_blocks`: an older one seen
/// read-only is scanned by reading every user.
const SEARCH_BLOCKS_SINCE: u64 = 7;
const SCHEMA_KEY: &str = "schema_version";

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// id → [`StoredUser`] as JSON.
const USERS: TableDefinition<&str, &str> = TableDefinition::new("users");
/// id → customData, compact (the canonical pretty form is rendered on read: it is a third
/// smaller on disk and export wants it compact anyway).
const CUSTOM_DATA: TableDefinition<&str, &str> = TableDefinition::new("custom_data");
/// (id, revision) → (saved at, saved by, compact text) of every superseded revision.
const HISTORY: TableDefinition<(&str, u64), (i64, &str, &str)> = TableDefinition::new("history");
/// lower-cased handle + NUL + id → (): the list order.
const LIST_ORDER: TableDefinition<&str, ()> = TableDefinition::new("list_order");
/// Layout 1–2 unique lookups: lower-cased username / email, phone as written → id. Read only
/// through a read-only handle on a file not yet upgraded; the upgrade deletes them.
const OLD_BY_USERNAME: TableDefinition<&str, &str> = TableDefinition::new("by_username");
const OLD_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("by_email");
const OLD_BY_PHONE: TableDefinition<&str, &str> = TableDefinition::new("by_phone");
/// Unique lookups, by the fold: key + NUL + id → (). A key has one id, except for users that
/// collided when an older file was upgraded (both kept; `info` names them).
const USERNAME_KEYS: TableDefinition<&str, ()> = TableDefinition::new("username_keys");
const EMAIL_KEYS: TableDefinition<&str, ()> = TableDefinition::new("email_keys");
const PHONE_KEYS: TableDefinition<&str, ()> = TableDefinition::new("phone_keys");
/// Folded name + NUL + id → (): names are not unique, so the id is part of the key.
const BY_NAME: TableDefinition<&str, ()> = TableDefinition::new("by_name");

/// Revision → (saved at, saved by, text) of every revision of the deployment's JSON Schema,
/// the current one last; an empty text is a revision that cleared it. Made by the first
/// `schema set`: a file without it has no schema, so no layout version is needed for it (an
/// older build opening the file ignores a table it does not know).
const SCHEMAS: TableDefinition<u64, (i64, &str, &str)> = TableDefinition::new("schemas");

/// (batch id, user id) → the revision that batch saved for that user: what `undo` walks.
/// Made by the first batch (`patch --yes`); like [`SCHEMAS`], a file without it simply has
/// no batches, so no layout version is needed for it.
const BATCH_USERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("batch_users");
/// (user id, revision) → the batch that saved that revision: the tag `history` shows.
const REVISION_BATCHES: TableDefinition<(&str, u64), &str> = TableDefinition::new("revision_batches");

/// Users a batch reads from an index before it writes them: the index's range cannot stay
/// open while the same transaction writes, so a batch walks it in steps of this many.
const BATCH_STEP: usize = 1_000;

/// Users per step of [`UserStore::search`] (`list --search`): each step is one read
/// transaction of a fraction of a second at most, searched on two threads.
const REDB_SEARCH_STEP: usize = 250_000;

/// How long a writer waits for another process's write transaction before saying "busy".
const WRITE_WAIT: Duration = Duration::from_secs(3);

/// How to open a database.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Open without the ability to write: every write is refused by the store itself.
    pub read_only: bool,
    /// redb's page cache; it defaults to 1 GiB per process, far more than browsing needs.
    pub cache_bytes: usize,
}

impl OpenOptions {
    /// For bulk loads (`seed`): a cache large enough that the index trees stay in memory.
    pub fn bulk() -> Self {
        Self { read_only: false, cache_bytes: 256 * 1024 * 1024 }
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { read_only: false, cache_bytes: 2 * 1024 * 1024 }
    }
}

enum Handle {
    ReadWrite(Database),
    ReadOnly(ReadOnlyDatabase),
}

/// A custodian database in one redb file.
pub struct RedbStore {
    handle: Handle,
    path: PathBuf,
    /// The layout the file has: [`SCHEMA_VERSION`], or an older one seen read-only.
    layout: u64,
    /// What opening it changed in the file (an upgrade that removed data), for the caller to say.
    upgrade_notes: Vec<String>,
}

/// The users-table record: Logto's user object (without customData) and the facts of the
/// current customData revision.
#[derive(Serialize, Deserialize)]
struct StoredUser {
    rev: u64,
    #[serde(rename = "revAt")]
    rev_at: i64,
    #[serde(rename = "revBy")]
    rev_by: String,
    user: Map<String, Value>,
}

impl StoredUser {
    fn new(user: &User, revision: Revision, at: i64, by: &str) -> Self {
        Self { rev: revision, rev_at: at, rev_by: by.to_owned(), user: user.to_logto_sparse() }
    }

    fn parse(id: &str, json: &str) -> Result<Self, StoreError> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::Database(format!("user {id}: damaged record: {e}")))
    }

    fn to_json(&self) -> String {
        // A struct of strings, numbers and a Map always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn record(&self) -> Result<UserRecord, StoreError> {
        Self { user: self.user.clone(), rev_by: self.rev_by.clone(), ..*self }.into_record()
    }

    /// As [`StoredUser::record`], without copying: every list row, search hit and scan step
    /// decodes users this way.
    fn into_record(self) -> Result<UserRecord, StoreError> {
        let (user, _) = User::from_logto(Value::Object(self.user), 0)
            .map_err(|e| StoreError::Database(format!("damaged user record: {e}")))?;
        Ok(UserRecord { user, revision: self.rev, revised_at: self.rev_at, revised_by: self.rev_by })
    }
}

/// Removes every credential field (a password hash, TOTP secrets, …) an older import kept in
/// user records as an unknown field. Says how many users held them, and which fields.
fn remove_credentials(tx: &WriteTransaction) -> Result<Option<String>, StoreError> {
    let mut users = tx.open_table(USERS)?;
    let mut cleaned: Vec<(String, String)> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    for item in users.range::<&str>(..)? {
        let (id, json) = item?;
        // Most records hold none: look at the text before parsing it.
        let text = json.value();
        let may_hold = crate::domain::logto_row::CREDENTIAL_FIELDS
            .iter()
            .any(|(api, column)| text.contains(api) || text.contains(column));
        if !may_hold {
            continue;
        }
        let mut stored = StoredUser::parse(id.value(), text)?;
        let before = stored.user.len();
        stored.user.retain(|key, _| {
            let credential = crate::domain::logto_row::is_credential(key);
            if credential && !fields.iter().any(|f| f == key) {
                fields.push(key.clone());
            }
            !credential
        });
        if stored.user.len() != before {
            cleaned.push((id.value().to_owned(), stored.to_json()));
        }
    }
    for (id, json) in &cleaned {
        users.insert(id.as_str(), json.as_str())?;
    }
    Ok((!cleaned.is_empty()).then(|| {
        let users = if cleaned.len() == 1 { "1 user".to_owned() } else { format!("{} users", cleaned.len()) };
        format!(
            "removed credentials an earlier import kept ({}) from {users}; their old bytes may remain in the file's free space until it is rewritten (export, then import into a new database)",
            fields.join(", ")
        )
    }))
}

fn list_key(user: &User) -> String {
    format!("{}\0{}", user.handle().to_lowercase(), user.id)
}

/// The stored (compact) customData of a user, by the one rule every read follows: a user
/// without a customData row (a file written by an older build, or a damaged table) has the
/// empty document, as Logto's `custom_data ... DEFAULT '{}'` column does.
fn stored_document<T: ReadableTable<&'static str, &'static str>>(
    table: &T,
    id: &str,
) -> Result<String, StoreError> {
    Ok(table.get(id)?.map_or_else(|| EMPTY_DOCUMENT.to_owned(), |g| g.value().to_owned()))
}

/// The schema table as a read sees it.
type SchemaTable = redb::ReadOnlyTable<u64, (i64, &'static str, &'static str)>;

/// The schema table, `None` in a file where no schema was ever set.
fn open_schemas(tx: &ReadTransaction) -> Result<Option<SchemaTable>, StoreError> {
    match tx.open_table(SCHEMAS) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The table of batch tags as a read sees it.
type RevisionBatchTable = redb::ReadOnlyTable<(&'static str, u64), &'static str>;

/// The batch tags, `None` in a file where no batch ever saved.
fn open_revision_batches(tx: &ReadTransaction) -> Result<Option<RevisionBatchTable>, StoreError> {
    match tx.open_table(REVISION_BATCHES) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The compact text of the empty document.
const EMPTY_DOCUMENT: &str = "{}";

fn name_key(user: &User) -> Option<String> {
    user.name.as_ref().map(|name| format!("{}\0{}", fold::name_key(name), user.id))
}

/// An index key: the folded value, NUL, the id.
fn index_key(value: &str, id: &str) -> String {
    format!("{value}\0{id}")
}

/// The ids a unique-field index holds for the folded `value`.
fn ids_with_key<T: ReadableTable<&'static str, ()>>(
    index: &T,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    let (from, to) = (format!("{value}\0"), format!("{value}\u{1}"));
    let mut ids = Vec::new();
    for item in index.range::<&str>(from.as_str()..to.as_str())? {
        ids.push(id_of_list_key(item?.0.value()).to_owned());
    }
    Ok(ids)
}

fn id_of_list_key(key: &str) -> &str {
    key.rsplit_once('\0').map_or(key, |(_, id)| id)
}

fn database_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Database(error.to_string())
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(error: $t) -> Self { database_error(error) }
        }
    )*};
}
from_redb!(redb::CommitError);

impl From<redb::TransactionError> for StoreError {
    fn from(error: redb::TransactionError) -> Self {
        match error {
            redb::TransactionError::Storage(e) => e.into(),
            other => database_error(other),
        }
    }
}

impl From<redb::TableError> for StoreError {
    fn from(error: redb::TableError) -> Self {
        match error {
            // Opening a table reads its root page: a damaged file shows there first.
            redb::TableError::Storage(e) => e.into(),
            other => database_error(other),
        }
    }
}

/// How every message about a damaged file starts.
const DAMAGED: &str = "the database file is damaged";

impl From<redb::StorageError> for StoreError {
    fn from(error: redb::StorageError) -> Self {
        match error {
            redb::StorageError::Io(e) if e.kind() == ErrorKind::UnexpectedEof => StoreError::Database(
                format!("{DAMAGED}: it ends early (truncated?); restore it from a backup"),
            ),
            redb::StorageError::Corrupted(detail) => StoreError::Database(format!("{DAMAGED}: {detail}")),
            other => database_error(other),
        }
    }
}

impl RedbStore {
    /// Creates a new, empty database file, private to its owner (0600). Fails if it exists.
    pub fn create(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
            match e.kind() {
                ErrorKind::AlreadyExists => StoreError::AlreadyExists { path: display.clone() },
                _ => StoreError::Io { context: format!("{display}: cannot create"), error: e },
            }
        })?;
        let db = builder(options).create(path).map_err(|e| open_error(path, e))?;
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
            tx.open_table(USERS)?;
            tx.open_table(CUSTOM_DATA)?;
            tx.open_table(HISTORY)?;
            tx.open_table(LIST_ORDER)?;
            tx.open_table(USERNAME_KEYS)?;
            tx.open_table(EMAIL_KEYS)?;
            tx.open_table(PHONE_KEYS)?;
            tx.open_table(BY_NAME)?;
            tx.open_table(SEARCH_BLOCKS)?;
            JournalWriter::open(&tx)?;
        }
        tx.commit()?;
        Ok(Self {
            handle: Handle::ReadWrite(db),
            path: path.to_owned(),
            layout: SCHEMA_VERSION,
            upgrade_notes: Vec::new(),
        })
    }

    /// Opens an existing custodian database.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        match fs::metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(StoreError::Missing { path: display });
            }
            Err(e) => return Err(StoreError::Io { context: display, error: e }),
            Ok(meta) if meta.is_dir() => {
                return Err(StoreError::NotADatabase { path: display, detail: "a directory".into() });
            }
            Ok(meta) if meta.len() == 0 => {
                return Err(StoreError::NotADatabase { path: display, detail: "the file is empty".into() });
            }
            Ok(_) => {}
        }
        // redb may panic on a file it cannot make sense of: that is a damaged file, not a bug.
        let damaged = || StoreError::NotADatabase {
            path: display.clone(),
            detail: "the file is damaged or not a redb database".into(),
        };
        let owned_path = path.to_owned();
        let open_handle = move || {
            crash::contain(|| {
                let builder = builder(options);
                if options.read_only {
                    builder.open_read_only(&owned_path).map(Handle::ReadOnly)
                } else {
                    builder.open(&owned_path).map(Handle::ReadWrite)
                }
                .map_err(|e| open_error(&owned_path, e))
            })
        };
        let opened = if options.read_only {
            open_handle()
        } else {
            // Opening for writing waits, without a timeout of its own, while another process
            // is inside a write transaction (a long import): give up after a while, as a
            // write does, instead of hanging.
            let (answer, opening) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = answer.send(open_handle());
            });
            match opening.recv_timeout(WRITE_WAIT) {
                Ok(opened) => opened,
                Err(_) => return Err(StoreError::Busy),
            }
        };
        let handle = opened.unwrap_or_else(|| Err(damaged()))?;
        let mut store =
            Self { handle, path: path.to_owned(), layout: SCHEMA_VERSION, upgrade_notes: Vec::new() };
        match crash::contain(|| store.check_schema()) {
            Some(Ok((layout, freed, notes))) => {
                store.layout = layout;
                store.upgrade_notes = notes;
                if freed {
                    // The old indexes' pages are free but the file keeps its size (1M users:
                    // 796 MB became 1.6 GB); give them back once. Another process holding the
                    // file open prevents it, which costs only space.
                    if let Err(e) = store.compact() {
                        tracing::warn!(error = %e, "the upgraded file was not compacted");
                    }
                }
                Ok(store)
            }
            Some(Err(
                e @ (StoreError::NewerSchema { .. }
                | StoreError::NotADatabase { .. }
                | StoreError::NeedsRepair { .. }),
            )) => Err(e),
            Some(Err(StoreError::Busy)) => Err(StoreError::Busy),
            // A page the file should have is missing: say so, as a read would.
            Some(Err(e @ StoreError::Database(_))) if e.to_string().contains(DAMAGED) => Err(e),
            Some(Err(_)) | None => Err(damaged()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let tx = self.read()?;
        let meta = tx.open_table(META).map_err(|e| match e {
            redb::TableError::TableDoesNotExist(_) => StoreError::NotADatabase {
                path: self.path.display().to_string(),
                detail: "a redb database without custodian's tables".into(),
            },
            other => other.into(),
        })?;
        let version = meta.get(SCHEMA_KEY)?.map(|v| v.value());
        version.ok_or_else(|| StoreError::NotADatabase {
            path: self.path.display().to_string(),
            detail: "no schema version recorded".into(),
        })
    }

    /// What opening the file changed in it, one sentence each (empty almost always).
    pub fn upgrade_notes(&self) -> &[String] {
        &self.upgrade_notes
    }

    /// Whether the file has an older layout (it was opened read-only, so it was not
    /// upgraded): lookups then read every user, and a read-write open would upgrade it.
    pub fn needs_upgrade(&self) -> bool {
        self.layout < SCHEMA_VERSION
    }

    /// Checks the file's layout, upgrading an older one when writable; returns the layout in
    /// effect and whether the upgrade freed pages (worth a compaction: the journal's upgrade
    /// only adds tables).
    fn check_schema(&self) -> Result<(u64, bool, Vec<String>), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.display().to_string(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION && !self.is_read_only() {
            let notes = self.upgrade(found)?;
            // Layouts before 4 rewrote the indexes, before 7 the search texts: their old pages
            // are free space until a compaction gives them back.
            return Ok((SCHEMA_VERSION, found < SEARCH_BLOCKS_SINCE, notes));
        }
        Ok((found, false, Vec::new()))
    }

    /// Brings an older layout up to date, in one transaction (a read-only open reads the old
    /// layout as it is). Layout 3 rebuilds every index by the Unicode fold; users whose names
    /// collide under it (`Straße` and `STRASSE`, `admin` and `admin `) are all kept and
    /// indexed, so nobody is lost: `info` names them, a lookup that finds two refuses to
    /// choose, and a write that would add a new collision is refused as always.
    fn upgrade(&self, from: u64) -> Result<Vec<String>, StoreError> {
        let mut notes = Vec::new();
        let tx = self.write()?;
        {
            if from < 3 {
                let mut keys: [Vec<String>; 4] = Default::default();
                let mut texts = Vec::new();
                {
                    let users = tx.open_table(USERS)?;
                    let custom_data = tx.open_table(CUSTOM_DATA)?;
                    for item in users.range::<&str>(..)? {
                        let (id, json) = item?;
                        let record = StoredUser::parse(id.value(), json.value())?.into_record()?;
                        let document = stored_document(&custom_data, id.value())?;
                        texts.push(search_entry(&record.user, &document)?);
                        for ((_, key), keys) in unique_fields(&record.user).into_iter().zip(keys.iter_mut()) {
                            keys.extend(key.map(|key| index_key(&key, &record.user.id)));
                        }
                        keys[3].extend(name_key(&record.user));
                    }
                }
                for old in [OLD_BY_USERNAME, OLD_BY_EMAIL, OLD_BY_PHONE] {
                    tx.delete_table(old)?;
                }
                tx.delete_table(BY_NAME)?;
                for (table, mut keys) in
                    [USERNAME_KEYS, EMAIL_KEYS, PHONE_KEYS, BY_NAME].into_iter().zip(keys)
                {
                    // In key order: a bulk load of a sorted run is several times faster.
                    keys.sort_unstable();
                    let mut table = tx.open_table(table)?;
                    for key in &keys {
                        table.insert(key.as_str(), ())?;
                    }
                }
                texts.sort_unstable();
                SearchTexts::open(&tx)?.insert_sorted(texts)?;
            }
            if from < 4 {
                notes.extend(remove_credentials(&tx)?);
            }
            if from < 5 {
                let started = Instant::now();
                let rows = journal::backfill(&tx)?;
                tracing::info!(
                    rows,
                    ms = started.elapsed().as_millis() as u64,
                    "journal built from the history"
                );
                let saves = if rows == 1 { "1 save".to_owned() } else { format!("{rows} saves") };
                notes.push(format!(
                    "started the journal (`custodian changes`): {saves} taken from the history; saves from now on are all recorded"
                ));
            }
            // Layouts 6 and 7 (search): the per-user search texts of layouts 3–5, or the
            // blocks of whole texts of layout 6, packed in blocks with a dictionary.
            if from < SEARCH_BLOCKS_SINCE {
                upgrade_search_text(&tx)?;
                upgrade_search_blocks(&tx)?;
            }
            tx.open_table(META)?.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(notes)
    }

    /// [`UserStore::scan_matches`] from the users and their documents, for a file without
    /// the search texts (an older layout opened read-only) or a query holding the separator.
    fn scan_by_reading_everyone(
        &self,
        filter: &mut Filter,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        let keys = match after {
            Some(ListKey(key)) => order.range::<&str>((Excluded(key.as_str()), Unbounded))?,
            None => order.range::<&str>(..)?,
        };
        let (batch, max_hits) = (batch.max(1), max_hits.max(1));
        let mut step = ScanStep { hits: Vec::new(), scanned: 0, next: None };
        let mut last = None;
        for item in keys.take(batch) {
            if step.hits.len() >= max_hits {
                break;
            }
            let key = item?.0;
            let key = key.value();
            step.scanned += 1;
            last = Some(key.to_owned());
            let id = id_of_list_key(key);
            let Some(json) = users.get(id)? else { continue };
            let json = json.value();
            // Most users are ruled out on their raw JSON, without being parsed; a user found
            // by a profile field is not looked for in customData (each user is a hit once).
            let mut record = None;
            if filter.may_occur_in_json(json) {
                let parsed = StoredUser::parse(id, json)?.into_record()?;
                if filter.in_user(&parsed.user) {
                    record = Some(parsed);
                }
            }
            let record = match record {
                Some(record) => record,
                None => {
                    if !document_matches(filter, id, &stored_document(&custom_data, id)?)? {
                        continue;
                    }
                    StoredUser::parse(id, json)?.into_record()?
                }
            };
            step.hits.push(ListEntry {
                key: ListKey(key.to_owned()),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        if step.scanned == batch || step.hits.len() >= max_hits {
            step.next = last.map(ListKey);
        }
        Ok(step)
    }

    /// Users whose username, primary email or primary phone is the same as another's under
    /// the fold: possible only in a file upgraded from an older layout, where both were kept.
    /// Each entry: the field, the folded value, the ids.
    pub fn name_collisions(&self) -> Result<Vec<NameCollision>, StoreError> {
        if self.layout < 3 {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let mut collisions = Vec::new();
        for (field, table) in
            [("username", USERNAME_KEYS), ("primaryEmail", EMAIL_KEYS), ("primaryPhone", PHONE_KEYS)]
        {
            let table = tx.open_table(table)?;
            let mut group: Option<(String, Vec<String>)> = None;
            for item in table.range::<&str>(..)? {
                let entry = item?.0;
                let (value, id) = entry.value().rsplit_once('\0').unwrap_or((entry.value(), ""));
                match &mut group {
                    Some((current, ids)) if current == value => ids.push(id.to_owned()),
                    _ => {
                        if let Some((value, ids)) = group.take().filter(|(_, ids)| ids.len() > 1) {
                            collisions.push((field, value, ids));
                        }
                        group = Some((value.to_owned(), vec![id.to_owned()]));
                    }
                }
            }
            if let Some((value, ids)) = group.filter(|(_, ids)| ids.len() > 1) {
                collisions.push((field, value, ids));
            }
        }
        Ok(collisions)
    }

    /// A lookup on a file with an older layout, seen read-only: its indexes use another
    /// rule, so every user is read and folded (slow at a million users, and only until the
    /// file is opened once for writing, which upgrades it).
    fn lookup_by_reading_everyone(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let wanted = [
            fold::name_key(&reference.text),
            fold::name_key(&reference.text),
            fold::phone_key(&reference.text),
        ];
        let mut matches = Vec::new();
        for &field in reference.fields() {
            if field == UserField::Id {
                if users.get(reference.text.as_str())?.is_some() {
                    matches.push(UserMatch { id: reference.text.clone(), field });
                }
                continue;
            }
            for item in users.range::<&str>(..)? {
                let (id, json) = item?;
                let record = StoredUser::parse(id.value(), json.value())?.into_record()?;
                let slot = match field {
                    UserField::Username => 0,
                    UserField::Email => 1,
                    _ => 2,
                };
                if unique_fields(&record.user)[slot].1.as_deref() == Some(wanted[slot].as_str()) {
                    matches.push(UserMatch { id: record.user.id, field });
                }
            }
        }
        Ok(matches)
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(match &self.handle {
            Handle::ReadWrite(db) => db.begin_read()?,
            Handle::ReadOnly(db) => db.begin_read()?,
        })
    }

    /// Moves every page to the front of the file and gives the rest back to the file system.
    /// redb grows a file in large steps, so a bulk load leaves it up to ~40 % unused (1M
    /// users: 1,141 MB, 796 MB after this, which takes about 8 s). Waits for another
    /// process's write to end, then keeps every other process out until it is done.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let Handle::ReadWrite(db) = &mut self.handle else {
            return Err(StoreError::ReadOnly);
        };
        match db.compact() {
            Ok(_) => Ok(()),
            Err(redb::CompactionError::Storage(e)) => Err(e.into()),
            Err(e) => Err(StoreError::Database(format!("cannot compact: {e}"))),
        }
    }

    /// Begins a write transaction, waiting briefly for another process's to finish.
    fn write(&self) -> Result<WriteTransaction, StoreError> {
        let Handle::ReadWrite(db) = &self.handle else {
            return Err(StoreError::ReadOnly);
        };
        let deadline = Instant::now() + WRITE_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            match db.try_begin_write() {
                Ok(tx) => return Ok(tx),
                Err(redb::TransactionError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(redb::TransactionError::WouldBlock) => return Err(StoreError::Busy),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Inserts new users in one transaction of their own. For `seed`, where the users come
    /// with rising ids: they are appended as they come, and the index entries, collected
    /// meanwhile, are written sorted at the end — a bulk load that never revisits a page.
    pub fn bulk_insert(
        &self,
        users: &mut dyn Iterator<Item = NewUser>,
        author: &Author,
    ) -> Result<u64, StoreError> {
        let tx = self.write()?;
        let now = now_ms();
        let mut count = 0;
        {
            let mut tables = WriteTables::open(&tx)?;
            // Into an empty database (the usual seed): the import's sorted bulk load, in
            // bounded memory (the key lists and maps below held ~1 GB at 1M users).
            if tables.users.is_empty()? {
                let dir = match self.path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                let count = bulk::load_into_empty(&mut tables, &mut users.map(Ok), author, now, dir)?;
                drop(tables);
                tx.commit()?;
                return Ok(count);
            }
            let into_empty = false;
            let mut unique: [HashMap<String, String>; 3] = Default::default();
            let (mut order, mut names, mut texts) = (Vec::new(), Vec::new(), Vec::new());
            for new in users {
                let conflict =
                    |e| StoreError::RecordConflict { origin: new.origin.clone(), reason: Box::new(e) };
                let id = new.user.id.as_str();
                if !into_empty {
                    tables.check_unique(&new.user, None).map_err(conflict)?;
                }
                for ((field, value), seen) in unique_fields(&new.user).into_iter().zip(unique.iter_mut()) {
                    let Some(value) = value else { continue };
                    if let Some(existing) = seen.get(&value) {
                        let existing = existing.clone();
                        let value = typed_value(&new.user, field);
                        return Err(conflict(StoreError::Duplicate { field, value, existing }));
                    }
                    seen.insert(value, id.to_owned());
                }
                let stored = StoredUser::new(&new.user, 1, now, &author.0);
                // The table sees this transaction's own inserts: a repeated id is caught too
                // (and the error drops the whole transaction).
                if tables.users.insert(id, stored.to_json().as_str())?.is_some() {
                    return Err(conflict(StoreError::IdExists(id.to_owned())));
                }
                let document =
                    new.custom_data.as_ref().map_or_else(|| EMPTY_DOCUMENT.to_owned(), CustomData::compact);
                tables.custom_data.insert(id, document.as_str())?;
                tables.journal_first_revision(&new, &document, author, now)?;
                texts.push(search_entry(&new.user, &document)?);
                order.push(list_key(&new.user));
                names.extend(name_key(&new.user));
                count += 1;
            }
            for keys in [&mut order, &mut names] {
                keys.sort_unstable();
            }
            for key in &order {
                tables.order.insert(key.as_str(), ())?;
            }
            for key in &names {
                tables.by_name.insert(key.as_str(), ())?;
            }
            texts.sort_unstable();
            tables.search_text.insert_sorted(texts)?;
            let [usernames, emails, phones] = unique;
            for (index, entries) in [
                (&mut tables.username_keys, usernames),
                (&mut tables.email_keys, emails),
                (&mut tables.phone_keys, phones),
            ] {
                let mut entries: Vec<_> = entries.into_iter().collect();
                entries.sort_unstable();
                for (value, id) in entries {
                    index.insert(index_key(&value, &id).as_str(), ())?;
                }
            }
        }
        tx.commit()?;
        Ok(count)
    }

    /// [`RedbStore::bulk_insert`] of a slice.
    pub fn insert_batch(&self, users: &[NewUser], author: &Author) -> Result<u64, StoreError> {
        self.bulk_insert(&mut users.iter().cloned(), author)
    }
}

/// The unique fields of a user as the indexes key them: username and email by the Unicode
/// fold, the phone normalised.
fn unique_fields(user: &User) -> [(&'static str, Option<String>); 3] {
    [
        ("username", user.username.as_deref().map(fold::name_key)),
        ("primaryEmail", user.primary_email.as_deref().map(fold::name_key)),
        ("primaryPhone", user.primary_phone.as_deref().map(fold::phone_key)),
    ]
}

/// A unique field of a user as they typed it, for messages.
fn typed_value(user: &User, field: &str) -> String {
    let value = match field {
        "username" => &user.username,
        "primaryEmail" => &user.primary_email,
        _ => &user.primary_phone,
    };
    value.clone().unwrap_or_default()
}

/// A user's search-text entry (kept by [`SearchTexts`]): the list key and the search text of
/// the user with its stored (compact) customData. The one way a user's search text is made.
fn search_entry(user: &User, document: &str) -> Result<(String, String), StoreError> {
    let document: Map<String, Value> = serde_json::from_str(document)
        .map_err(|e| StoreError::Database(format!("user {}: damaged customData: {e}", user.id)))?;
    Ok((list_key(user), search_text(user, &document)))
}

/// Whether the query occurs in a key or scalar of a user's stored (compact) customData.
fn document_matches(filter: &mut Filter, id: &str, document: &str) -> Result<bool, StoreError> {
    if !filter.may_occur_in_json(document) {
        return Ok(false);
    }
    let document: Map<String, Value> = serde_json::from_str(document)
        .map_err(|e| StoreError::Database(format!("user {id}: damaged customData: {e}")))?;
    Ok(filter.in_document(&document))
}

fn builder(options: OpenOptions) -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(ConcurrencyMode::MultiWriter).set_cache_size(options.cache_bytes);
    builder
}

fn open_error(path: &Path, error: redb::DatabaseError) -> StoreError {
    let display = path.display().to_string();
    match error {
        redb::DatabaseError::DatabaseAlreadyOpen | redb::DatabaseError::LockProtocolMismatch => {
            StoreError::Locked { path: display }
        }
        redb::DatabaseError::Storage(redb::StorageError::Io(e)) => match e.kind() {
            ErrorKind::NotFound => StoreError::Missing { path: display },
            // redb's word for "magic number mismatch", "file truncated" and the like.
            ErrorKind::InvalidData | ErrorKind::UnexpectedEof => {
                StoreError::NotADatabase { path: display, detail: e.to_string() }
            }
            _ => StoreError::Io { context: display, error: e },
        },
        redb::DatabaseError::RepairAborted => StoreError::NeedsRepair { path: display },
        other => StoreError::NotADatabase { path: display, detail: other.to_string() },
    }
}

/// Users sharing a folded name: the field, the folded value, their ids.
pub type NameCollision = (&'static str, String, Vec<String>);

/// What an upsert of one record did.
enum Upserted {
    Unchanged,
    Updated { removed: Vec<String> },
}

/// The tables of one write transaction, and the rules that keep them consistent.
struct WriteTables<'tx> {
    users: Table<'tx, &'static str, &'static str>,
    custom_data: Table<'tx, &'static str, &'static str>,
    history: Table<'tx, (&'static str, u64), (i64, &'static str, &'static str)>,
    order: Table<'tx, &'static str, ()>,
    username_keys: Table<'tx, &'static str, ()>,
    email_keys: Table<'tx, &'static str, ()>,
    phone_keys: Table<'tx, &'static str, ()>,
    by_name: Table<'tx, &'static str, ()>,
    search_text: SearchTexts<'tx>,
    journal: JournalWriter<'tx>,
    /// The batch tables, opened (so made, in a file without them) by the first batch write
    /// only: an ordinary save leaves a file without batches as it was.
    batches: Option<BatchTables<'tx>>,
    tx: &'tx WriteTransaction,
}

/// [`BATCH_USERS`] and [`REVISION_BATCHES`] in a write transaction.
struct BatchTables<'tx> {
    users: Table<'tx, (&'static str, &'static str), u64>,
    revisions: Table<'tx, (&'static str, u64), &'static str>,
}

impl<'tx> WriteTables<'tx> {
    fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            users: tx.open_table(USERS)?,
            custom_data: tx.open_table(CUSTOM_DATA)?,
            history: tx.open_table(HISTORY)?,
            order: tx.open_table(LIST_ORDER)?,
            username_keys: tx.open_table(USERNAME_KEYS)?,
            email_keys: tx.open_table(EMAIL_KEYS)?,
            phone_keys: tx.open_table(PHONE_KEYS)?,
            by_name: tx.open_table(BY_NAME)?,
            search_text: SearchTexts::open(tx)?,
            journal: JournalWriter::open(tx)?,
            batches: None,
            tx,
        })
    }

    /// The batch tables, opened on first use.
    fn batches(&mut self) -> Result<&mut BatchTables<'tx>, StoreError> {
        let tables = match self.batches.take() {
            Some(tables) => tables,
            None => BatchTables {
                users: self.tx.open_table(BATCH_USERS)?,
                revisions: self.tx.open_table(REVISION_BATCHES)?,
            },
        };
        Ok(self.batches.insert(tables))
    }

    /// The next step of a whole-list batch, after the list key `after` (moved on to the
    /// step's last key): the ids of up to [`BATCH_STEP`] users in list order, only those the
    /// filter matches when there is one, by the rule of [`UserStore::scan_matches`]. `None`
    /// at the end of the list. The index's range is closed again before the caller writes.
    fn selected_step(
        &self,
        filter: Option<&mut Filter>,
        after: &mut Option<String>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = match after.as_deref() {
            Some(key) => (Excluded(key), Unbounded),
            None => (Unbounded, Unbounded),
        };
        let mut ids = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        // Read through the users themselves: the search texts are packed in blocks that a
        // write in the same transaction rewrites, so a batch does not walk them.
        let mut filter = filter;
        for item in self.order.range::<&str>(from)?.take(BATCH_STEP) {
            let key = item?.0;
            let key = key.value();
            scanned += 1;
            last = Some(key.to_owned());
            let id = id_of_list_key(key);
            if let Some(filter) = filter.as_deref_mut() {
                let Some(json) = self.users.get(id)? else { continue };
                let json = json.value();
                let by_profile = filter.may_occur_in_json(json)
                    && filter.in_user(&StoredUser::parse(id, json)?.into_record()?.user);
                if !by_profile && !document_matches(filter, id, &stored_document(&self.custom_data, id)?)? {
                    continue;
                }
            }
            ids.push(id.to_owned());
        }
        if scanned == 0 {
            return Ok(None);
        }
        *after = last;
        Ok(Some(ids))
    }

    fn stored(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        match self.users.get(id)? {
            Some(json) => Ok(Some(StoredUser::parse(id, json.value())?)),
            None => Ok(None),
        }
    }

    /// Refuses a username, email or phone that another user already has (by the fold).
    /// With `old` (the user as stored), a field whose key does not change is not checked: a
    /// collision an upgrade kept is not this write's doing, and must not block every edit of
    /// those users.
    fn check_unique(&self, user: &User, old: Option<&User>) -> Result<(), StoreError> {
        let indexes = [&self.username_keys, &self.email_keys, &self.phone_keys];
        let old_keys = old.map(unique_fields);
        for (slot, ((field, key), index)) in unique_fields(user).into_iter().zip(indexes).enumerate() {
            let Some(key) = key else { continue };
            if old_keys.as_ref().is_some_and(|old| old[slot].1.as_deref() == Some(key.as_str())) {
                continue;
            }
            if let Some(existing) = ids_with_key(index, &key)?.into_iter().find(|id| *id != user.id) {
                return Err(StoreError::Duplicate { field, value: typed_value(user, field), existing });
            }
        }
        Ok(())
    }

    /// Indexes `user`, whose customData this transaction has already written.
    fn index(&mut self, user: &User) -> Result<(), StoreError> {
        self.order.insert(list_key(user).as_str(), ())?;
        let (key, text) = search_entry(user, &stored_document(&self.custom_data, &user.id)?)?;
        self.search_text.insert(key.as_str(), text.as_str())?;
        let indexes = [&mut self.username_keys, &mut self.email_keys, &mut self.phone_keys];
        for ((_, key), index) in unique_fields(user).into_iter().zip(indexes) {
            if let Some(key) = key {
                index.insert(index_key(&key, &user.id).as_str(), ())?;
            }
        }
        if let Some(key) = name_key(user) {
            self.by_name.insert(key.as_str(), ())?;
        }
        Ok(())
    }

    fn unindex(&mut self, user: &User) -> Result<(), StoreError> {
        self.order.remove(list_key(user).as_str())?;
        self.search_text.remove(list_key(user).as_str())?;
        let indexes = [&mut self.username_keys, &mut self.email_keys, &mut self.phone_keys];
        for ((_, key), index) in unique_fields(user).into_iter().zip(indexes) {
            if let Some(key) = key {
                index.remove(index_key(&key, &user.id).as_str())?;
            }
        }
        if let Some(key) = name_key(user) {
            self.by_name.remove(key.as_str())?;
        }
        Ok(())
    }

    fn insert_new(&mut self, new: &NewUser, author: &Author, now: i64) -> Result<(), StoreError> {
        if self.users.get(new.user.id.as_str())?.is_some() {
            return Err(StoreError::IdExists(new.user.id.clone()));
        }
        self.check_unique(&new.user, None)?;
        let stored = StoredUser::new(&new.user, 1, now, &author.0);
        self.users.insert(new.user.id.as_str(), stored.to_json().as_str())?;
        let document =
            new.custom_data.as_ref().map_or_else(|| EMPTY_DOCUMENT.to_owned(), CustomData::compact);
        self.custom_data.insert(new.user.id.as_str(), document.as_str())?;
        self.journal_first_revision(new, &document, author, now)?;
        self.index(&new.user)
    }

    /// Journals a new user's revision 1 (`document`: its stored, compact customData).
    pub(super) fn journal_first_revision(
        &mut self,
        new: &NewUser,
        document: &str,
        author: &Author,
        now: i64,
    ) -> Result<(), StoreError> {
        let keys =
            new.custom_data.as_ref().map(|data| KeyChanges::first(data.as_object())).unwrap_or_default();
        let id = new.user.id.as_str();
        let save = Save { at: now, by: &author.0, id, revision: 1, size: document.len(), keys, batch: None };
        self.journal.record(&save)
    }

    /// Upserts a record over an existing user: the fields it gives replace the stored ones,
    /// the others stay (see [`NewUser::profile_over`]). Writes nothing when that leaves the
    /// user as stored.
    fn replace_existing(
        &mut self,
        old: StoredUser,
        new: &NewUser,
        author: &Author,
        now: i64,
    ) -> Result<Upserted, StoreError> {
        let old_record = old.record()?;
        let id = new.user.id.as_str();
        let mut merged = new
            .profile_over(&old_record.user)
            .map_err(|e| StoreError::Database(format!("user {id}: damaged record: {e}")))?;
        let profile_changed = merged != old_record.user;
        if profile_changed {
            self.check_unique(&merged, Some(&old_record.user))?;
        }
        let removed = match &new.custom_data {
            Some(data) => self.replace_document(id, &old, data, author, now, None)?,
            None => None,
        };
        if removed.is_some() {
            // As a save does; the later of the two, so it never goes backwards.
            merged.updated_at = merged.updated_at.max(now);
        } else if !profile_changed {
            return Ok(Upserted::Unchanged);
        }
        self.unindex(&old_record.user)?;
        self.index(&merged)?;
        let mut stored = self.stored(id)?.unwrap_or(old);
        stored.user = merged.to_logto_sparse();
        self.users.insert(id, stored.to_json().as_str())?;
        Ok(Upserted::Updated { removed: removed.unwrap_or_default() })
    }

    /// Moves the current document into the history and stores `data` as the next revision.
    /// Returns the top-level keys the replaced document had and `data` has not, read inside
    /// this transaction (so they are the keys this save removed, whoever saved before it), or
    /// `None` (and writes nothing) when `data` is the current document. Every save is
    /// journaled here; a save made by a batch is tagged with it (in the journal,
    /// [`BATCH_USERS`] and [`REVISION_BATCHES`]).
    fn replace_document(
        &mut self,
        id: &str,
        current: &StoredUser,
        data: &CustomData,
        author: &Author,
        now: i64,
        batch: Option<&BatchId>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let text = data.compact();
        let text = text.as_str();
        let old_text = stored_document(&self.custom_data, id)?;
        if old_text == text {
            return Ok(None);
        }
        // A stored document that is not an object (never written by custodian) has no keys.
        let old = serde_json::from_str::<Map<String, Value>>(&old_text).unwrap_or_default();
        let keys = KeyChanges::between(&old, data.as_object());
        let removed = keys.removed.clone();
        self.history
            .insert((id, current.rev), (current.rev_at, current.rev_by.as_str(), old_text.as_str()))?;
        self.custom_data.insert(id, text)?;
        let user = current.record()?.user;
        let (key, search) = search_entry(&user, text)?;
        self.search_text.insert(key.as_str(), search.as_str())?;
        let mut next = StoredUser {
            rev: current.rev + 1,
            rev_at: now,
            rev_by: author.0.clone(),
            user: current.user.clone(),
        };
        next.user.insert("updatedAt".to_owned(), Value::from(now));
        self.users.insert(id, next.to_json().as_str())?;
        let revision = next.rev;
        self.journal.record(&Save { at: now, by: &author.0, id, revision, size: text.len(), keys, batch })?;
        if let Some(batch) = batch {
            let tables = self.batches()?;
            tables.users.insert((batch.0.as_str(), id), next.rev)?;
            tables.revisions.insert((id, next.rev), batch.0.as_str())?;
        }
        Ok(Some(removed))
    }
}

impl UserStore for RedbStore {
    fn is_read_only(&self) -> bool {
        matches!(self.handle, Handle::ReadOnly(_))
    }

    fn count(&self) -> Result<u64, StoreError> {
        let tx = self.read()?;
        Ok(tx.open_table(USERS)?.len()?)
    }

    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let (range, backwards) = match seek {
            Seek::First => (order.range::<&str>(..)?, false),
            Seek::Last => (order.range::<&str>(..)?, true),
            Seek::From(ListKey(key)) => (order.range::<&str>(key.as_str()..)?, false),
            Seek::After(ListKey(key)) => (order.range::<&str>((Excluded(key.as_str()), Unbounded))?, false),
            Seek::Before(ListKey(key)) => (order.range::<&str>(..key.as_str())?, true),
        };
        let keys: Box<dyn Iterator<Item = _>> =
            if backwards { Box::new(range.rev()) } else { Box::new(range) };
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in keys {
            if out.len() >= limit {
                break;
            }
            let key = item?.0.value().to_owned();
            let id = id_of_list_key(&key);
            let Some(json) = users.get(id)? else { continue };
            let record = StoredUser::parse(id, json.value())?.into_record()?;
            out.push(ListEntry { key: ListKey(key), user: Box::new(record.user), revision: record.revision });
        }
        if backwards {
            out.reverse();
        }
        Ok(out)
    }

    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let folded = fold::fold(query);
        let folded = folded.as_ref();
        if folded.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let mut ids = HashSet::new();
        // An older layout seen read-only has indexes of another rule: the scan finds those.
        let indexes: &[_] =
            if self.layout < 3 { &[] } else { &[USERNAME_KEYS, EMAIL_KEYS, PHONE_KEYS, BY_NAME] };
        for &table in indexes {
            let table = tx.open_table(table)?;
            for item in table.range::<&str>(folded..)?.take(limit) {
                let key = item?.0;
                if !key.value().starts_with(folded) {
                    break;
                }
                ids.insert(id_of_list_key(key.value()).to_owned());
            }
        }
        let users = tx.open_table(USERS)?;
        for item in users.range::<&str>(query..)?.take(limit) {
            let (key, _) = item?;
            if !key.value().starts_with(query) {
                break;
            }
            ids.insert(key.value().to_owned());
        }
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(json) = users.get(id.as_str())? else { continue };
            let record = StoredUser::parse(&id, json.value())?.into_record()?;
            entries.push(ListEntry {
                key: ListKey(list_key(&record.user)),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries.truncate(limit);
        Ok(entries)
    }

    /// The scan in steps of [`REDB_SEARCH_STEP`] users: over the blocks a step of that size
    /// is searched on two threads (the TUI's steps stay small, for its progress and cancel).
    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        super::search_by_steps(self, query, after, limit, REDB_SEARCH_STEP)
    }

    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let mut filter = Filter::new(query);
        if self.layout < SEARCH_BLOCKS_SINCE || !filter.fits_search_text() {
            return self.scan_by_reading_everyone(&mut filter, after, batch, max_hits);
        }
        let tx = self.read()?;
        let blocks = tx.open_table(SEARCH_BLOCKS)?;
        let (batch, max_hits) = (batch.max(1), max_hits.max(1));
        let found = scan_blocks(&blocks, &filter, after.map(|ListKey(key)| key.as_str()), batch, max_hits)?;
        let users = tx.open_table(USERS)?;
        let hit_count = found.hits.len();
        let mut step = ScanStep { hits: Vec::with_capacity(hit_count), scanned: found.scanned, next: None };
        for key in found.hits {
            let id = id_of_list_key(&key);
            let Some(json) = users.get(id)? else { continue };
            let record = StoredUser::parse(id, json.value())?.into_record()?;
            step.hits.push(ListEntry {
                key: ListKey(key),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        if step.scanned == batch || hit_count >= max_hits {
            step.next = found.last.map(ListKey);
        }
        Ok(step)
    }

    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        if self.layout < 3 {
            return self.lookup_by_reading_everyone(reference);
        }
        let tx = self.read()?;
        let text = reference.text.as_str();
        let mut matches = Vec::new();
        for &field in reference.fields() {
            let ids = match field {
                UserField::Id => {
                    tx.open_table(USERS)?.get(text)?.map(|_| text.to_owned()).into_iter().collect()
                }
                UserField::Username => ids_with_key(&tx.open_table(USERNAME_KEYS)?, &fold::name_key(text))?,
                UserField::Email => ids_with_key(&tx.open_table(EMAIL_KEYS)?, &fold::name_key(text))?,
                UserField::Phone => ids_with_key(&tx.open_table(PHONE_KEYS)?, &fold::phone_key(text))?,
            };
            matches.extend(ids.into_iter().map(|id| UserMatch { id, field }));
        }
        Ok(matches)
    }

    fn user(&self, id: &str) -> Result<UserRecord, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        StoredUser::parse(id, json.value())?.into_record()
    }

    fn entry(&self, id: &str) -> Result<ListEntry, StoreError> {
        let record = self.user(id)?;
        Ok(ListEntry {
            key: ListKey(list_key(&record.user)),
            user: Box::new(record.user),
            revision: record.revision,
        })
    }

    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let revision = StoredUser::parse(id, json.value())?.rev;
        let text = canonical_from_compact(&stored_document(&tx.open_table(CUSTOM_DATA)?, id)?);
        Ok(StoredDocument { text, revision })
    }

    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        let tx = self.write()?;
        let outcome = {
            let mut tables = WriteTables::open(&tx)?;
            let current = tables.stored(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
            if let Some(expected) = expected
                && expected != current.rev
            {
                return Err(StoreError::Conflict { user: id.to_owned(), expected, found: current.rev });
            }
            match tables.replace_document(id, &current, data, author, now_ms(), None)? {
                Some(removed) => SaveOutcome::Saved { revision: current.rev + 1, removed },
                None => SaveOutcome::Unchanged { revision: current.rev },
            }
        };
        match outcome {
            SaveOutcome::Saved { .. } => tx.commit()?,
            SaveOutcome::Unchanged { .. } => tx.abort()?,
        }
        Ok(outcome)
    }

    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let current = StoredUser::parse(id, json.value())?;
        let history = tx.open_table(HISTORY)?;
        let tags = open_revision_batches(&tx)?;
        let tag = |revision: Revision| -> Result<Option<BatchId>, StoreError> {
            Ok(match &tags {
                Some(tags) => tags.get((id, revision))?.map(|b| BatchId(b.value().to_owned())),
                None => None,
            })
        };
        let mut out = Vec::new();
        for item in history.range((id, 0)..(id, u64::MAX))? {
            let (key, value) = item?;
            let (saved_at, saved_by, text) = value.value();
            let revision = key.value().1;
            out.push(RevisionInfo {
                revision,
                saved_at,
                saved_by: saved_by.to_owned(),
                // The compact size, as the limit counts it (what is stored and sent).
                size: text.len(),
                current: false,
                batch: tag(revision)?,
            });
        }
        // The compact size: the one the limit is on.
        let size = stored_document(&tx.open_table(CUSTOM_DATA)?, id)?.len();
        out.push(RevisionInfo {
            revision: current.rev,
            saved_at: current.rev_at,
            saved_by: current.rev_by,
            size,
            current: true,
            batch: tag(current.rev)?,
        });
        Ok(out)
    }

    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        let current = self.custom_data(id)?;
        if current.revision == revision {
            return Ok(current.text);
        }
        let tx = self.read()?;
        let history = tx.open_table(HISTORY)?;
        let found = history.get((id, revision))?.map(|g| canonical_from_compact(g.value().2));
        found.ok_or_else(|| StoreError::RevisionNotFound { user: id.to_owned(), revision })
    }

    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.write()?;
        let now = now_ms();
        let mut summary = ImportSummary::default();
        {
            let mut tables = WriteTables::open(&tx)?;
            // Into an empty database nobody can collide with a stored user: a sorted bulk
            // load (an upsert there is an insert too, unless the input repeats an id, which
            // only the path below turns into an update).
            if mode == ImportMode::InsertOnly && tables.users.is_empty()? {
                let dir = match self.path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                summary.inserted = bulk::load_into_empty(&mut tables, users, author, now, dir)?;
                drop(tables);
                tx.commit()?;
                return Ok(summary);
            }
            tables.search_text.defer();
            for item in users {
                // Returning early drops the transaction uncommitted: nothing is written.
                let new = item.map_err(StoreError::InvalidRecord)?;
                let existing = tables.stored(&new.user.id)?;
                let result = match (existing, mode) {
                    (None, _) => tables.insert_new(&new, author, now).map(|()| summary.inserted += 1),
                    (Some(_), ImportMode::InsertOnly) => Err(StoreError::IdExists(new.user.id.clone())),
                    (Some(old), ImportMode::Upsert) => {
                        tables.replace_existing(old, &new, author, now).map(|upserted| match upserted {
                            Upserted::Unchanged => summary.unchanged += 1,
                            Upserted::Updated { removed } => {
                                summary.updated += 1;
                                if !removed.is_empty() {
                                    summary.removed_keys.push((new.user.id.clone(), removed));
                                }
                            }
                        })
                    }
                };
                result.map_err(|e| StoreError::RecordConflict {
                    origin: new.origin.clone(),
                    reason: Box::new(e),
                })?;
            }
            tables.search_text.flush_deferred()?;
        }
        tx.commit()?;
        Ok(summary)
    }

    fn journal(
        &self,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.read()?;
        journal::read(&tx, query, visit)
    }

    fn schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        let tx = self.read()?;
        let Some(table) = open_schemas(&tx)? else { return Ok(None) };
        let last = table.last()?;
        Ok(last.and_then(|(revision, value)| {
            let text = value.value().2;
            (!text.is_empty()).then(|| StoredSchema { text: text.to_owned(), revision: revision.value() })
        }))
    }

    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<Revision, StoreError> {
        let text = text.unwrap_or("");
        let tx = self.write()?;
        let revision = {
            let mut table = tx.open_table(SCHEMAS)?;
            let (current, same) = match table.last()? {
                Some((revision, value)) => (revision.value(), value.value().2 == text),
                None => (0, text.is_empty()),
            };
            if same {
                None
            } else {
                table.insert(current + 1, (now_ms(), author.0.as_str(), text))?;
                Some(current + 1)
            }
            .ok_or(current)
        };
        match revision {
            Ok(revision) => {
                tx.commit()?;
                Ok(revision)
            }
            Err(current) => {
                tx.abort()?;
                Ok(current)
            }
        }
    }

    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        let tx = self.read()?;
        let Some(table) = open_schemas(&tx)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for item in table.range::<u64>(..)? {
            let (revision, value) = item?;
            let (saved_at, saved_by, text) = value.value();
            out.push(RevisionInfo {
                revision: revision.value(),
                saved_at,
                saved_by: saved_by.to_owned(),
                size: text.len(),
                current: false,
                batch: None,
            });
        }
        if let Some(last) = out.last_mut() {
            last.current = true;
        }
        Ok(out)
    }

    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        let tx = self.read()?;
        let found = match open_schemas(&tx)? {
            Some(table) => table.get(revision)?.map(|g| g.value().2.to_owned()),
            None => None,
        };
        let text = found.ok_or(StoreError::SchemaRevisionNotFound(revision))?;
        Ok((!text.is_empty()).then_some(text))
    }

    fn edit_batch(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        let tx = self.write()?;
        let now = now_ms();
        let mut summary = BatchSummary { batch: batch.clone(), matched: 0, saved: 0 };
        {
            let mut tables = WriteTables::open(&tx)?;
            tables.search_text.defer();
            let mut edit_one = |tables: &mut WriteTables, id: &str| -> Result<(), StoreError> {
                let current = tables.stored(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
                let record = current.record()?;
                let text = stored_document(&tables.custom_data, id)?;
                summary.matched += 1;
                if let BatchEdit::Replace(data) = edit(&record, &text)?
                    && tables.replace_document(id, &current, &data, author, now, Some(batch))?.is_some()
                {
                    summary.saved += 1;
                }
                Ok(())
            };
            match selection {
                Selection::Ids(ids) => {
                    let mut seen = HashSet::new();
                    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                        // Returning early drops the transaction uncommitted: nothing is written.
                        edit_one(&mut tables, id)?;
                    }
                }
                Selection::All | Selection::Search(_) => {
                    let mut filter = match selection {
                        Selection::Search(query) => Some(Filter::new(query)),
                        _ => None,
                    };
                    let mut after: Option<String> = None;
                    while let Some(ids) = tables.selected_step(filter.as_mut(), &mut after)? {
                        for id in &ids {
                            edit_one(&mut tables, id)?;
                        }
                    }
                }
            }
            tables.search_text.flush_deferred()?;
        }
        // A batch that changed nobody leaves no trace (and so cannot be undone: there is nothing to undo).
        if summary.saved > 0 {
            tx.commit()?
        } else {
            tx.abort()?
        }
        Ok(summary)
    }

    fn undo_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let tx = self.write()?;
        let now = now_ms();
        let mut summary = UndoSummary {
            undo: BatchSummary { batch: undo.clone(), matched: 0, saved: 0 },
            changed_since: Vec::new(),
        };
        {
            let mut tables = WriteTables::open(&tx)?;
            tables.search_text.defer();
            let name = batch.0.as_str();
            let mut after: Option<String> = None;
            loop {
                // A step of the batch's users; the range is dropped before this transaction
                // writes (the undo's own entries go into the same table).
                let mut step: Vec<(String, Revision)> = Vec::new();
                {
                    let from = match &after {
                        Some(id) => Excluded((name, id.as_str())),
                        None => Included((name, "")),
                    };
                    for item in tables.batches()?.users.range::<(&str, &str)>((from, Unbounded))? {
                        let (key, revision) = item?;
                        let (of, id) = key.value();
                        if of != name || step.len() >= BATCH_STEP {
                            break;
                        }
                        step.push((id.to_owned(), revision.value()));
                    }
                }
                let Some((last, _)) = step.last() else { break };
                after = Some(last.clone());
                for (id, revision) in step {
                    summary.undo.matched += 1;
                    let Some(current) = tables.stored(&id)? else {
                        // No store deletes users today; one gone is left alone all the same.
                        summary.changed_since.push((id, 0));
                        continue;
                    };
                    if current.rev != revision {
                        summary.changed_since.push((id, current.rev));
                        continue;
                    }
                    let before = tables
                        .history
                        .get((id.as_str(), revision - 1))?
                        .map(|g| g.value().2.to_owned())
                        .ok_or_else(|| StoreError::RevisionNotFound {
                            user: id.clone(),
                            revision: revision - 1,
                        })?;
                    let object = crate::domain::custom_data::parse_object(&before).map_err(|e| {
                        StoreError::Database(format!("user {id}: damaged revision {}: {e}", revision - 1))
                    })?;
                    let data = CustomData::from_object(object);
                    if tables.replace_document(&id, &current, &data, author, now, Some(undo))?.is_some() {
                        summary.undo.saved += 1;
                    }
                }
            }
            tables.search_text.flush_deferred()?;
        }
        if summary.undo.matched == 0 {
            tx.abort()?;
            return Err(StoreError::BatchNotFound(batch.0.clone()));
        }
        if summary.undo.saved > 0 {
            tx.commit()?
        } else {
            tx.abort()?
        }
        Ok(summary)
    }

    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        for item in order.range::<&str>(..)? {
            let (key, ()) = (item?.0, ());
            let id = id_of_list_key(key.value()).to_owned();
            let Some(json) = users.get(id.as_str())? else { continue };
            let record = StoredUser::parse(&id, json.value())?.into_record()?;
            let text = stored_document(&custom_data, &id)?;
            visit(&record, &text)?;
        }
        Ok(())
    }
}
