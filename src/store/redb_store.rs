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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redb::{
    Builder, ConcurrencyMode, Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, Table, TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod batch;
mod commit_mark;
mod errors;
mod import;
mod journal;
mod json_schema;
mod name_claims;
mod older_layouts;
mod open;
mod tables;
mod transactions;
mod user_store;
mod verify;
mod write_tables;

use journal::{JournalWriter, KeyChanges, Save};

use super::redb_search::{
    SEARCH_BLOCKS, SearchTexts, scan_blocks, upgrade_search_blocks, upgrade_search_text,
};
use super::{
    Author, BatchEdit, BatchId, BatchSummary, ImportMode, ImportSource, ImportSummary, JournalEntry,
    JournalQuery, KeyedVisit, ListEntry, ListKey, NameCollision, NewUser, RecordError, Revision,
    RevisionInfo, SaveOutcome, ScanStep, Seek, Selection, SortRoom, StoreError, StoredDocument, StoredSchema,
    UndoSummary, UserField, UserMatch, UserRecord, UserRef, UserStore,
};
/// The sorted bulk load of an import into an empty database.
#[path = "redb_bulk.rs"]
mod bulk;

use crate::crash;
use crate::domain::custom_data::canonical_from_compact;
use crate::domain::filter::{Filter, search_text};
use crate::domain::fold;
use crate::domain::time::now_ms;
use crate::domain::{CustomData, LogtoFields, User};

use errors::{DAMAGED, open_error};
pub use tables::SCHEMA_VERSION;
use tables::{
    BATCH_STEP, BATCH_USERS, BY_NAME, CUSTOM_DATA, EMAIL_KEYS, EMPTY_DOCUMENT, HISTORY, LIST_ORDER, META,
    OLD_BY_EMAIL, OLD_BY_PHONE, OLD_BY_USERNAME, PHONE_KEYS, REDB_SEARCH_STEP, REVISION_BATCHES, SCHEMA_KEY,
    SCHEMAS, SEARCH_BLOCKS_SINCE, StoredUser, UNDOES, USERNAME_KEYS, USERS, WRITE_WAIT, document_matches,
    id_of_list_key, ids_with_key, index_key, list_key, name_key, open_revision_batches, open_schemas,
    search_entry, search_entry_of_data, stored_document, typed_value, unique_fields,
};
use write_tables::{Upserted, WriteTables};

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
    /// Between closing a handle that met an I/O error and opening the file again; left so
    /// only when that open failed.
    Closed,
}

/// A custodian database in one redb file.
pub struct RedbStore {
    /// Replaced only by [`RedbStore::reopen`] (after an I/O error redb refuses every later
    /// call until the file is opened again); every other use takes it shared.
    handle: std::sync::RwLock<Handle>,
    /// redb's page cache, for opening the file again.
    cache_bytes: usize,
    path: PathBuf,
    /// The layout the file has: [`SCHEMA_VERSION`], or an older one seen read-only.
    layout: u64,
    /// What opening it changed in the file (an upgrade that removed data), for the caller to say.
    upgrade_notes: Vec<String>,
    /// When opening began, and how long the open took (its wait for another writer): a write
    /// that starts within [`WRITE_WAIT`] of the open waits what the open left of the 3 s, so
    /// an open that waited and the write after it wait 3 s in all. One whose open did not
    /// wait has its 3 s (a screen's save 2.6 s after its start was busy after 0.4 s: bb36 #4).
    opened_at: Instant,
    open_waited: Duration,
    /// The file opened (device and inode, read just after opening): a write first checks
    /// that the path still names it. A file replaced under a running editor (a restore with
    /// `cp` and `mv`) would otherwise take saves into a deleted file that nobody reads.
    opened_file: Option<(u64, u64)>,
    /// The file's last commit as its header recorded it when last looked at: a file copied
    /// over in place keeps its inode ([`commit_mark`]).
    commit_seen: commit_mark::LastCommitSeen,
    /// [`UserStore::hold_writes_to_schema`]: `Some(seen)` once held.
    schema_hold: super::schema_hold::SchemaHold,
    /// [`UserStore::pin_reads`]: the snapshot every read takes while set.
    pinned: std::sync::Mutex<Option<std::sync::Arc<ReadTransaction>>>,
}

/// A new database `users.redb` in `dir` holding the users of `lines` (JSON Lines, imported by
/// `importer`): the store unit tests start from.
#[cfg(test)]
pub(crate) fn test_store(dir: &Path, lines: &str) -> RedbStore {
    let store = RedbStore::create(&dir.join("users.redb"), OpenOptions::default()).expect("create");
    let mut reader = crate::domain::import::ImportReader::new(
        lines.as_bytes(),
        crate::domain::Limits::default(),
        1_700_000_000_000,
    )
    .expect("readable");
    store.import(&mut reader, ImportMode::InsertOnly, &Author("importer".into())).expect("import");
    store
}
