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

use super::{
    Author, ImportMode, ImportSummary, ListEntry, ListKey, NewUser, RecordError, Revision, RevisionInfo,
    SaveOutcome, ScanStep, Seek, StoreError, StoredDocument, UserRecord, UserStore,
};
use crate::crash;
use crate::domain::custom_data::canonical_from_compact;
use crate::domain::time::now_ms;
use crate::domain::{CustomData, User};

/// The layout version this build writes. A file with a higher one is refused.
/// 1: the first layout. 2: adds `by_name` (names searched by prefix). 3: (taken by the
/// user-lookup work). 4: no credentials in user records (an older import kept a raw dump's
/// password hashes and TOTP secrets as unknown fields; the upgrade removes them).
pub const SCHEMA_VERSION: u64 = 4;
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
/// Unique lookups: lower-cased username / email, phone as written → id.
const BY_USERNAME: TableDefinition<&str, &str> = TableDefinition::new("by_username");
const BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("by_email");
const BY_PHONE: TableDefinition<&str, &str> = TableDefinition::new("by_phone");
/// lower-cased name + NUL + id → (): names are not unique, so the id is part of the key.
const BY_NAME: TableDefinition<&str, ()> = TableDefinition::new("by_name");

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

/// A case-insensitive substring search that does not allocate per haystack for an ASCII
/// needle (the common case), so a scan of a million records stays fast.
struct Needle {
    lower: String,
    ascii: bool,
    finder: memchr::memmem::Finder<'static>,
    /// Reused for lower-casing each haystack.
    buffer: Vec<u8>,
}

impl Needle {
    fn new(query: &str) -> Self {
        let lower = query.to_lowercase();
        let finder = memchr::memmem::Finder::new(lower.as_bytes()).into_owned();
        Self { ascii: lower.is_ascii(), lower, finder, buffer: Vec::new() }
    }

    fn found_in(&mut self, haystack: &str) -> bool {
        if self.ascii {
            // Lower-casing ASCII letters only keeps byte offsets; non-ASCII bytes never match
            // an ASCII needle's bytes.
            self.buffer.clear();
            self.buffer.extend(haystack.bytes().map(|b| b.to_ascii_lowercase()));
            return self.finder.find(&self.buffer).is_some();
        }
        haystack.to_lowercase().contains(&self.lower)
    }
}

fn name_key(user: &User) -> Option<String> {
    user.name.as_ref().map(|name| format!("{}\0{}", name.to_lowercase(), user.id))
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
from_redb!(redb::TableError, redb::TransactionError, redb::CommitError);

impl From<redb::StorageError> for StoreError {
    fn from(error: redb::StorageError) -> Self {
        match error {
            redb::StorageError::Io(e) if e.kind() == ErrorKind::UnexpectedEof => StoreError::Database(
                "the database file is damaged: it ends early (truncated?); restore it from a backup".into(),
            ),
            redb::StorageError::Corrupted(detail) => {
                StoreError::Database(format!("the database file is damaged: {detail}"))
            }
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
            tx.open_table(BY_USERNAME)?;
            tx.open_table(BY_EMAIL)?;
            tx.open_table(BY_PHONE)?;
            tx.open_table(BY_NAME)?;
        }
        tx.commit()?;
        Ok(Self { handle: Handle::ReadWrite(db), path: path.to_owned(), upgrade_notes: Vec::new() })
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
        let mut store = Self { handle, path: path.to_owned(), upgrade_notes: Vec::new() };
        match crash::contain(|| store.check_schema()) {
            Some(Ok(notes)) => {
                store.upgrade_notes = notes;
                Ok(store)
            }
            Some(Err(
                e @ (StoreError::NewerSchema { .. }
                | StoreError::NotADatabase { .. }
                | StoreError::NeedsRepair { .. }),
            )) => Err(e),
            Some(Err(StoreError::Busy)) => Err(StoreError::Busy),
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
            other => database_error(other),
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

    fn check_schema(&self) -> Result<Vec<String>, StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.display().to_string(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION && !self.is_read_only() {
            return self.upgrade(found);
        }
        Ok(Vec::new())
    }

    /// Brings an older layout up to date, in one transaction (a read-only open reads the old
    /// layout as it is).
    fn upgrade(&self, from: u64) -> Result<Vec<String>, StoreError> {
        let mut notes = Vec::new();
        let tx = self.write()?;
        {
            if from < 2 {
                let users = tx.open_table(USERS)?;
                let mut keys = Vec::new();
                for item in users.range::<&str>(..)? {
                    let (id, json) = item?;
                    let record = StoredUser::parse(id.value(), json.value())?.into_record()?;
                    keys.extend(name_key(&record.user));
                }
                // In key order: a bulk load of a sorted run is several times faster.
                keys.sort_unstable();
                let mut by_name = tx.open_table(BY_NAME)?;
                for key in &keys {
                    by_name.insert(key.as_str(), ())?;
                }
            }
            if from < 4 {
                notes.extend(remove_credentials(&tx)?);
            }
            tx.open_table(META)?.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(notes)
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
            // Into an empty database (the usual seed) there is nobody to collide with: the
            // indexes are written at the end, and the maps below catch repeats in the load.
            let into_empty = tables.users.is_empty()?;
            let mut unique: [HashMap<String, String>; 3] = Default::default();
            let (mut order, mut names) = (Vec::new(), Vec::new());
            for new in users {
                let conflict =
                    |e| StoreError::RecordConflict { origin: new.origin.clone(), reason: Box::new(e) };
                let id = new.user.id.as_str();
                if !into_empty {
                    tables.check_unique(&new.user).map_err(conflict)?;
                }
                for ((field, value), seen) in unique_fields(&new.user).into_iter().zip(unique.iter_mut()) {
                    let Some(value) = value else { continue };
                    if let Some(existing) = seen.get(&value) {
                        let existing = existing.clone();
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
                tables.custom_data.insert(id, new.custom_data.compact().as_str())?;
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
            let [usernames, emails, phones] = unique;
            for (index, entries) in [
                (&mut tables.by_username, usernames),
                (&mut tables.by_email, emails),
                (&mut tables.by_phone, phones),
            ] {
                let mut entries: Vec<_> = entries.into_iter().collect();
                entries.sort_unstable();
                for (value, id) in entries {
                    index.insert(value.as_str(), id.as_str())?;
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

/// The unique fields of a user as the indexes key them: username and email lower-cased.
fn unique_fields(user: &User) -> [(&'static str, Option<String>); 3] {
    [
        ("username", user.username.as_deref().map(str::to_lowercase)),
        ("primaryEmail", user.primary_email.as_deref().map(str::to_lowercase)),
        ("primaryPhone", user.primary_phone.clone()),
    ]
}

/// Whether the user's id, username, email, phone or name contains `needle` (lower case).
fn matches_filter(user: &User, needle: &str) -> bool {
    [
        Some(&user.id),
        user.username.as_ref(),
        user.primary_email.as_ref(),
        user.primary_phone.as_ref(),
        user.name.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| field.to_lowercase().contains(needle))
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

/// The tables of one write transaction, and the rules that keep them consistent.
struct WriteTables<'tx> {
    users: Table<'tx, &'static str, &'static str>,
    custom_data: Table<'tx, &'static str, &'static str>,
    history: Table<'tx, (&'static str, u64), (i64, &'static str, &'static str)>,
    order: Table<'tx, &'static str, ()>,
    by_username: Table<'tx, &'static str, &'static str>,
    by_email: Table<'tx, &'static str, &'static str>,
    by_phone: Table<'tx, &'static str, &'static str>,
    by_name: Table<'tx, &'static str, ()>,
}

impl<'tx> WriteTables<'tx> {
    fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            users: tx.open_table(USERS)?,
            custom_data: tx.open_table(CUSTOM_DATA)?,
            history: tx.open_table(HISTORY)?,
            order: tx.open_table(LIST_ORDER)?,
            by_username: tx.open_table(BY_USERNAME)?,
            by_email: tx.open_table(BY_EMAIL)?,
            by_phone: tx.open_table(BY_PHONE)?,
            by_name: tx.open_table(BY_NAME)?,
        })
    }

    fn stored(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        match self.users.get(id)? {
            Some(json) => Ok(Some(StoredUser::parse(id, json.value())?)),
            None => Ok(None),
        }
    }

    /// Refuses a username, email or phone that another user already has.
    fn check_unique(&self, user: &User) -> Result<(), StoreError> {
        let indexes = [&self.by_username, &self.by_email, &self.by_phone];
        for ((field, value), index) in unique_fields(user).into_iter().zip(indexes) {
            let Some(value) = value else { continue };
            if let Some(existing) = index.get(value.as_str())? {
                let existing = existing.value();
                if existing != user.id {
                    return Err(StoreError::Duplicate { field, value, existing: existing.to_owned() });
                }
            }
        }
        Ok(())
    }

    fn index(&mut self, user: &User) -> Result<(), StoreError> {
        self.order.insert(list_key(user).as_str(), ())?;
        if let Some(username) = &user.username {
            self.by_username.insert(username.to_lowercase().as_str(), user.id.as_str())?;
        }
        if let Some(email) = &user.primary_email {
            self.by_email.insert(email.to_lowercase().as_str(), user.id.as_str())?;
        }
        if let Some(phone) = &user.primary_phone {
            self.by_phone.insert(phone.as_str(), user.id.as_str())?;
        }
        if let Some(key) = name_key(user) {
            self.by_name.insert(key.as_str(), ())?;
        }
        Ok(())
    }

    fn unindex(&mut self, user: &User) -> Result<(), StoreError> {
        self.order.remove(list_key(user).as_str())?;
        if let Some(username) = &user.username {
            self.by_username.remove(username.to_lowercase().as_str())?;
        }
        if let Some(email) = &user.primary_email {
            self.by_email.remove(email.to_lowercase().as_str())?;
        }
        if let Some(phone) = &user.primary_phone {
            self.by_phone.remove(phone.as_str())?;
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
        self.check_unique(&new.user)?;
        let stored = StoredUser::new(&new.user, 1, now, &author.0);
        self.users.insert(new.user.id.as_str(), stored.to_json().as_str())?;
        self.custom_data.insert(new.user.id.as_str(), new.custom_data.compact().as_str())?;
        self.index(&new.user)
    }

    /// Replaces an existing user's profile and customData (an upsert). Returns whether
    /// anything changed.
    fn replace_existing(
        &mut self,
        old: StoredUser,
        new: &NewUser,
        author: &Author,
        now: i64,
    ) -> Result<bool, StoreError> {
        let old_record = old.record()?;
        self.check_unique(&new.user)?;
        self.unindex(&old_record.user)?;
        self.index(&new.user)?;
        let id = new.user.id.as_str();
        let profile_changed = old.user != new.user.to_logto_sparse();
        let changed = self.replace_document(id, &old, &new.custom_data.compact(), author, now)?;
        let mut stored = self.stored(id)?.unwrap_or(old);
        stored.user = new.user.to_logto_sparse();
        self.users.insert(id, stored.to_json().as_str())?;
        Ok(changed || profile_changed)
    }

    /// Moves the current document into the history and stores `text` (compact) as the next
    /// revision. Returns false (and writes nothing) when `text` is the current document.
    fn replace_document(
        &mut self,
        id: &str,
        current: &StoredUser,
        text: &str,
        author: &Author,
        now: i64,
    ) -> Result<bool, StoreError> {
        let old_text = self.custom_data.get(id)?.map(|g| g.value().to_owned()).unwrap_or_default();
        if old_text == text {
            return Ok(false);
        }
        self.history
            .insert((id, current.rev), (current.rev_at, current.rev_by.as_str(), old_text.as_str()))?;
        self.custom_data.insert(id, text)?;
        let mut next = StoredUser {
            rev: current.rev + 1,
            rev_at: now,
            rev_by: author.0.clone(),
            user: current.user.clone(),
        };
        next.user.insert("updatedAt".to_owned(), Value::from(now));
        self.users.insert(id, next.to_json().as_str())?;
        Ok(true)
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

    fn rows(&self, seek: &Seek, filter: Option<&str>, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let needle = filter.map(str::to_lowercase).filter(|n| !n.is_empty());
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
            if let Some(needle) = &needle
                && !matches_filter(&record.user, needle)
            {
                continue;
            }
            out.push(ListEntry { key: ListKey(key), user: Box::new(record.user), revision: record.revision });
        }
        if backwards {
            out.reverse();
        }
        Ok(out)
    }

    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let lower = query.to_lowercase();
        if lower.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let mut ids = HashSet::new();
        for table in [BY_USERNAME, BY_EMAIL, BY_PHONE] {
            let table = tx.open_table(table)?;
            let needle = lower.as_str();
            for item in table.range::<&str>(needle..)?.take(limit) {
                let (key, id) = item?;
                if !key.value().starts_with(needle) {
                    break;
                }
                ids.insert(id.value().to_owned());
            }
        }
        // A read-only look at a layout-1 file has no name index yet.
        let by_name = match tx.open_table(BY_NAME) {
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            other => Some(other?),
        };
        for item in by_name.iter().flat_map(|t| t.range::<&str>(lower.as_str()..)).flatten().take(limit) {
            let (key, ()) = (item?.0, ());
            if !key.value().starts_with(lower.as_str()) {
                break;
            }
            ids.insert(id_of_list_key(key.value()).to_owned());
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

    fn scan_matches(
        &self,
        query: &str,
        after: Option<&str>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let mut needle = Needle::new(query);
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        let bounds = match after {
            Some(id) => (Excluded(id), Unbounded),
            None => (Unbounded, Unbounded),
        };
        // Both tables are keyed by id: walk them side by side instead of a lookup per user.
        let mut documents = custom_data.range::<&str>(bounds)?.peekable();
        let mut step = ScanStep { hits: Vec::new(), scanned: 0, next: None };
        let mut last = None;
        for item in users.range::<&str>(bounds)?.take(batch.max(1)) {
            if step.hits.len() >= max_hits.max(1) {
                break;
            }
            let (id, json) = item?;
            let id = id.value();
            step.scanned += 1;
            last = Some(id.to_owned());
            let mut document_hit = false;
            while let Some(Ok((key, _))) = documents.peek() {
                match key.value().cmp(id) {
                    std::cmp::Ordering::Less => {
                        documents.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if let Some(Ok((_, text))) = documents.next() {
                            document_hit = needle.found_in(text.value());
                        }
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            // The profile's raw JSON also holds field names and fields the filter does not
            // cover, so a raw hit is confirmed on the parsed fields.
            if !document_hit && !needle.found_in(json.value()) {
                continue;
            }
            let record = StoredUser::parse(id, json.value())?.into_record()?;
            if document_hit || matches_filter(&record.user, &needle.lower) {
                step.hits.push(ListEntry {
                    key: ListKey(list_key(&record.user)),
                    user: Box::new(record.user),
                    revision: record.revision,
                });
            }
        }
        if step.scanned == batch.max(1) || step.hits.len() >= max_hits.max(1) {
            step.next = last;
        }
        Ok(step)
    }

    fn resolve(&self, user_ref: &str) -> Result<String, StoreError> {
        let tx = self.read()?;
        if tx.open_table(USERS)?.get(user_ref)?.is_some() {
            return Ok(user_ref.to_owned());
        }
        let lower = user_ref.to_lowercase();
        for (table, key) in [(BY_USERNAME, &lower), (BY_EMAIL, &lower), (BY_PHONE, &user_ref.to_owned())] {
            if let Some(id) = tx.open_table(table)?.get(key.as_str())? {
                return Ok(id.value().to_owned());
            }
        }
        Err(StoreError::UserNotFound(user_ref.to_owned()))
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
        let text = tx
            .open_table(CUSTOM_DATA)?
            .get(id)?
            .map(|g| g.value().to_owned())
            .map_or_else(|| CustomData::empty().canonical().to_owned(), |c| canonical_from_compact(&c));
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
            if tables.replace_document(id, &current, &data.compact(), author, now_ms())? {
                SaveOutcome::Saved { revision: current.rev + 1 }
            } else {
                SaveOutcome::Unchanged { revision: current.rev }
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
        let mut out = Vec::new();
        for item in history.range((id, 0)..(id, u64::MAX))? {
            let (key, value) = item?;
            let (saved_at, saved_by, text) = value.value();
            out.push(RevisionInfo {
                revision: key.value().1,
                saved_at,
                saved_by: saved_by.to_owned(),
                // The compact size, as the limit counts it (what is stored and sent).
                size: text.len(),
                current: false,
            });
        }
        let size = tx.open_table(CUSTOM_DATA)?.get(id)?.map_or(2, |g| g.value().len());
        out.push(RevisionInfo {
            revision: current.rev,
            saved_at: current.rev_at,
            saved_by: current.rev_by,
            size,
            current: true,
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
            for item in users {
                // Returning early drops the transaction uncommitted: nothing is written.
                let new = item.map_err(StoreError::InvalidRecord)?;
                let existing = tables.stored(&new.user.id)?;
                let result = match (existing, mode) {
                    (None, _) => tables.insert_new(&new, author, now).map(|()| summary.inserted += 1),
                    (Some(_), ImportMode::InsertOnly) => Err(StoreError::IdExists(new.user.id.clone())),
                    (Some(old), ImportMode::Upsert) => {
                        tables.replace_existing(old, &new, author, now).map(|changed| {
                            if changed { summary.updated += 1 } else { summary.unchanged += 1 }
                        })
                    }
                };
                result.map_err(|e| StoreError::RecordConflict {
                    origin: new.origin.clone(),
                    reason: Box::new(e),
                })?;
            }
        }
        tx.commit()?;
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
            let text = custom_data.get(id.as_str())?.map(|g| g.value().to_owned()).unwrap_or_default();
            visit(&record, &text)?;
        }
        Ok(())
    }
}
