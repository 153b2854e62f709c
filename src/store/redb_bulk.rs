//! A bulk load into an empty database: each new user's rows go into their tables in key
//! order where they come in it, the rest through sorted runs ([`crate::sorted_runs`]) merged at the end.

use std::io;
use std::path::Path;
use std::sync::mpsc;

use serde_json::Map;

use super::{
    EMPTY_DOCUMENT, WriteTables, ids_with_key, index_key, list_key, name_key, search_entry_of_data,
    typed_value, unique_fields,
};
use crate::domain::filter::search_text;
use crate::domain::synthetic::MadeUser;
use crate::domain::user_json::write_sparse;
use crate::domain::{CustomData, User};
use crate::store::{Author, BatchId, ImportSource, NewUser, StoreError};

use crate::sorted_runs::{Runs, Spill};

/// What may stop a bulk load: the spill file, or the store (a repeated id or name, redb).
pub(super) enum Stop {
    Spill(io::Error),
    Store(StoreError),
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Self::Spill(error)
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<redb::StorageError> for Stop {
    fn from(error: redb::StorageError) -> Self {
        Self::Store(error.into())
    }
}

/// How much each table's runs may hold in memory before they are spilled: the profile and
/// document tables take most of an import's bytes; the index keys are short. 4 MiB, not 6:
/// a run is written on the spill file's thread while the next fills, and with 6 MiB runs a
/// 1M import's peak RSS went from 42 to 58-63 MB, near its 64 MiB bound (now 50-51 MB).
const BIG_RUNS: usize = 4 * 1024 * 1024;
const SMALL_RUNS: usize = 1024 * 1024;

/// The runs of every table a new user is written to.
struct TableRuns {
    users: Runs,
    custom_data: Runs,
    order: Runs,
    search_text: Runs,
    /// username, email, phone: key + NUL + id, noted with the origin and the typed value.
    unique: [Runs; 3],
    by_name: Runs,
}

/// A note: the record's place in the input (8 bytes, big-endian), its origin, NUL, the value as
/// typed (for a repeated name's message).
fn note(arrived: u64, origin: &str, typed: &str) -> Vec<u8> {
    [&arrived.to_be_bytes()[..], origin.as_bytes(), b"\0", typed.as_bytes()].concat()
}

/// A note's place in the input: of two records giving one name, the later one repeated it.
fn arrived(note: &[u8]) -> u64 {
    note.get(..8).and_then(|bytes| bytes.try_into().ok()).map_or(0, u64::from_be_bytes)
}

fn from_note(note: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(note.get(8..).unwrap_or_default());
    let (origin, typed) = text.split_once('\0').unwrap_or((&text, ""));
    (origin.to_owned(), typed.to_owned())
}

fn conflict(origin: String, reason: StoreError) -> StoreError {
    StoreError::of_record(origin, reason)
}

/// Every key and value here was made from a `&str`: checked the quick way (the lossy one
/// walks the bytes in chunks, 3 % of an import), with the lossy one left for the impossible case.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), std::borrow::Cow::Borrowed)
}

/// The folded value of an index key (key + NUL + id).
fn folded_part(key: &[u8]) -> &[u8] {
    key.iter().rposition(|b| *b == 0).map_or(key, |at| &key[..at])
}

/// Imports `users` into the tables of an empty database (no collision with stored users is
/// possible, so none is looked up), journaled as one bulk load: every entry a table can take in key order goes in at
/// once, the rest wait in sorted runs (spilled beside the database at `dir`) and are merged
/// in at the end. A repeated id or name in the input fails the load with the record that
/// repeated it; the caller then drops the transaction, so nothing is written.
pub(super) fn load_into_empty(
    tables: &mut WriteTables<'_>,
    users: &mut dyn ImportSource,
    author: &Author,
    now: i64,
    dir: &Path,
) -> Result<u64, StoreError> {
    load_prepared(tables, &mut PreparedHere { users, author, now }, author, now, dir)
}

/// [`load_into_empty`] of users made on the fly (`seed`): they are made, and their rows
/// prepared, on a thread of their own while this one places them (a seed was one core's
/// work: making and preparing the users took a third of it).
pub(super) fn load_made_into_empty<U: Preparable>(
    tables: &mut WriteTables<'_>,
    users: &mut (dyn Iterator<Item = U> + Send),
    author: &Author,
    now: i64,
    dir: &Path,
) -> Result<u64, StoreError> {
    std::thread::scope(|scope| {
        let (send, receive) = mpsc::sync_channel(PREPARED_IN_FLIGHT);
        let (give_back, to_free) = mpsc::channel();
        scope.spawn(move || prepare_on_this_thread(users, author, now, &send, &to_free));
        // The receiver goes when this returns, before the scope waits for the thread: a load
        // that stopped early stops the thread at its next batch.
        let mut prepared = PreparedElsewhere {
            batches: receive,
            batch: Vec::new().into_iter(),
            written: Vec::with_capacity(PREPARED_BATCH),
            give_back,
        };
        load_prepared(tables, &mut prepared, author, now, dir)
    })
}

/// Prepared users per batch sent from the preparing thread, and batches in flight.
const PREPARED_BATCH: usize = 256;
const PREPARED_IN_FLIGHT: usize = 4;

/// A batch of prepared users, or `None` for the end (a thread that stops without sending it,
/// a panic, must not look like the end of the users, or a part of them would be committed).
type PreparedBatch = Option<Vec<Result<PreparedUser, StoreError>>>;

/// The preparing side of [`load_made_into_empty`]: stops at the first user that cannot be
/// prepared (sent, so the load fails with it) or when the load hangs up. Placed users come
/// back in `to_free`, freed here where they were made: freed on the loading thread, glibc's
/// arenas made the seed twice as slow.
fn prepare_on_this_thread<U: Preparable>(
    users: &mut (dyn Iterator<Item = U> + Send),
    author: &Author,
    now: i64,
    send: &mpsc::SyncSender<PreparedBatch>,
    to_free: &mpsc::Receiver<Vec<PreparedUser>>,
) {
    let mut batch = Vec::with_capacity(PREPARED_BATCH);
    for new in users {
        if batch.is_empty() {
            to_free.try_iter().for_each(drop);
        }
        let prepared = new.prepared(author, now);
        let failed = prepared.is_err();
        batch.push(prepared);
        if batch.len() == PREPARED_BATCH || failed {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(PREPARED_BATCH));
            if send.send(Some(full)).is_err() || failed {
                return;
            }
        }
    }
    if !batch.is_empty() && send.send(Some(batch)).is_err() {
        return;
    }
    let _ = send.send(None);
}

/// Where a load takes its prepared users from, and gives them back once placed.
trait PreparedSource {
    fn next_prepared(&mut self) -> Option<Result<PreparedUser, StoreError>>;
    /// Takes back a user once placed.
    fn written(&mut self, user: PreparedUser);
}

/// Users read from an import, prepared on the loading thread as they come (the import's
/// reading thread is as busy as this one).
struct PreparedHere<'a> {
    users: &'a mut dyn ImportSource,
    author: &'a Author,
    now: i64,
}

impl PreparedSource for PreparedHere<'_> {
    fn next_prepared(&mut self) -> Option<Result<PreparedUser, StoreError>> {
        let item = self.users.next_user()?;
        Some(
            item.map_err(StoreError::InvalidRecord)
                .and_then(|new| PreparedUser::of(new, self.author, self.now)),
        )
    }

    fn written(&mut self, user: PreparedUser) {
        self.users.written(user.new);
    }
}

/// Users prepared by [`prepare_on_this_thread`].
struct PreparedElsewhere {
    batches: mpsc::Receiver<PreparedBatch>,
    batch: std::vec::IntoIter<Result<PreparedUser, StoreError>>,
    /// Placed users, given back to be freed by the thread that made them.
    written: Vec<PreparedUser>,
    give_back: mpsc::Sender<Vec<PreparedUser>>,
}

impl PreparedSource for PreparedElsewhere {
    fn next_prepared(&mut self) -> Option<Result<PreparedUser, StoreError>> {
        loop {
            if let Some(prepared) = self.batch.next() {
                return Some(prepared);
            }
            match self.batches.recv() {
                Ok(Some(batch)) => self.batch = batch.into_iter(),
                Ok(None) => return None,
                Err(mpsc::RecvError) => {
                    return Some(Err(StoreError::Database(
                        "the thread making the users stopped before the end; nothing was written".into(),
                    )));
                }
            }
        }
    }

    fn written(&mut self, user: PreparedUser) {
        self.written.push(user);
        if self.written.len() == PREPARED_BATCH {
            let done = std::mem::replace(&mut self.written, Vec::with_capacity(PREPARED_BATCH));
            // A thread that has stopped takes none back: they are freed here.
            let _ = self.give_back.send(done);
        }
    }
}

/// What a failure to keep the load's sorted runs in `dir` says.
fn runs_failed(dir: &Path, e: io::Error) -> StoreError {
    match e.kind() {
        // As the database file's own limit is said (bb49 F4).
        io::ErrorKind::FileTooLarge => StoreError::Database(format!(
            "the load's sorted runs in {} may not grow past the size limit this process runs under (`ulimit -f`; I/O error: {e}): nothing was written, the database is as it was",
            dir.display()
        )),
        // As a write that fills the disk itself says it (bb64 F3: the raw error said neither
        // that nothing was written nor what to do).
        io::ErrorKind::StorageFull => StoreError::Database(format!(
            "no room left on the disk (I/O error: {e}) for the load's sorted runs in {}: nothing was written, the database is as it was; a load into an empty database needs room for them beside it (about as much again as the records) and for its tables — free some room",
            dir.display()
        )),
        _ => StoreError::Io {
            context: format!("{}: cannot keep the load's sorted runs", dir.display()),
            error: e,
        },
    }
}

/// The load itself, from users prepared by `users`.
fn load_prepared(
    tables: &mut WriteTables<'_>,
    users: &mut dyn PreparedSource,
    author: &Author,
    now: i64,
    dir: &Path,
) -> Result<u64, StoreError> {
    let mut spill = Spill::with_writer_thread(dir).map_err(|e| runs_failed(dir, e))?;
    // Where it was made ($TMPDIR when the database's directory took none): a disk that
    // fills later is that one (bb23 L03).
    let made_in = spill.dir().to_path_buf();
    let spill_failed = |e: io::Error| runs_failed(&made_in, e);
    let mut runs = TableRuns {
        users: Runs::new(BIG_RUNS),
        custom_data: Runs::new(BIG_RUNS),
        order: Runs::new(SMALL_RUNS),
        search_text: Runs::new(BIG_RUNS),
        unique: [Runs::new(SMALL_RUNS), Runs::new(SMALL_RUNS), Runs::new(SMALL_RUNS)],
        by_name: Runs::new(SMALL_RUNS),
    };
    // Named as it starts, as its time is taken.
    let load = BatchId::new_load();
    let (mut count, mut size) = (0, 0);
    let started = std::time::Instant::now();
    let placed = (|| -> Result<(), Stop> {
        while let Some(item) = users.next_prepared() {
            // Returning early drops the transaction uncommitted: nothing is written.
            crate::interrupt::check()?;
            let prepared = item?;
            size += place_user(tables, &mut runs, &mut spill, &prepared, count)?;
            users.written(prepared);
            count += 1;
        }
        let placed_in = started.elapsed();
        // `CUSTODIAN_TEST_SIGNAL_AT_MERGE=1` (debug builds): a Ctrl-C just as the merge begins.
        #[cfg(debug_assertions)]
        if std::env::var_os("CUSTODIAN_TEST_SIGNAL_AT_MERGE").is_some_and(|v| v == "1") {
            // SAFETY: raise has no memory-safety preconditions.
            unsafe { libc::raise(libc::SIGINT) };
        }
        give_freed_memory_back();
        merging::merge_all(tables, runs, &mut spill)?;
        tracing::info!(
            users = count,
            placed_ms = placed_in.as_millis() as u64,
            merged_ms = (started.elapsed() - placed_in).as_millis() as u64,
            spilled_bytes = spill.len(),
            "bulk load written, to be committed"
        );
        // One journal entry for the whole load (each user's revision 1 bears its time and
        // author, which is how `changes --user` finds it); none for a load of nobody.
        if count > 0 {
            tables.journal_load(now, author, count, size, &load)?;
        }
        Ok(())
    })();
    match placed {
        Ok(()) => Ok(count),
        Err(Stop::Store(e)) => Err(e),
        Err(Stop::Spill(e)) => Err(spill_failed(e)),
    }
}

/// Writes one new user: the one place a bulk load writes a user's rows, each straight into
/// its table when it comes in key order, else into that table's runs. Returns the size of
/// the user's document (the load's journal entry adds them up).
fn place_user(
    tables: &mut WriteTables<'_>,
    runs: &mut TableRuns,
    spill: &mut Spill,
    prepared: &PreparedUser,
    arrived_as: u64,
) -> Result<u64, Stop> {
    let new = &prepared.new;
    let id = new.user.id.as_str();
    let origin = new.origin.as_str();
    if runs.users.repeats_last(id.as_bytes()) {
        return Err(conflict(origin.to_owned(), StoreError::IdRepeatedInImport(id.to_owned())).into());
    }
    runs.users.place::<Stop>(
        spill,
        id.as_bytes(),
        &prepared.stored,
        origin.as_bytes(),
        &mut |key, value, note, _| {
            if tables.users.insert(text(key).as_ref(), text(value).as_ref())?.is_some() {
                return Err(conflict(
                    text(note).into_owned(),
                    StoreError::IdRepeatedInImport(text(key).into_owned()),
                )
                .into());
            }
            Ok(())
        },
    )?;
    let document = match &prepared.document {
        Some(document) => document.as_str(),
        None => new.custom_data.as_ref().map_or(EMPTY_DOCUMENT, CustomData::compact_text),
    };
    runs.custom_data.place::<Stop>(
        spill,
        id.as_bytes(),
        document.as_bytes(),
        b"",
        &mut |key, value, _, _| {
            tables.custom_data.insert(text(key).as_ref(), text(value).as_ref())?;
            Ok(())
        },
    )?;
    let (list_key, search) = (&prepared.list_key, &prepared.search);
    runs.order.place::<Stop>(spill, list_key.as_bytes(), b"", b"", &mut |key, _, _, _| {
        tables.order.insert(text(key).as_ref(), ())?;
        Ok(())
    })?;
    runs.search_text.place::<Stop>(
        spill,
        list_key.as_bytes(),
        search.as_bytes(),
        b"",
        &mut |key, value, _, _| {
            tables.search_text.append(text(key).as_ref(), text(value).as_ref())?;
            Ok(())
        },
    )?;
    for (slot, unique) in prepared.unique.iter().enumerate() {
        let Some((key, typed)) = unique else { continue };
        let field = UNIQUE_FIELDS[slot];
        let table = match slot {
            0 => &mut tables.username_keys,
            1 => &mut tables.email_keys,
            _ => &mut tables.phone_keys,
        };
        runs.unique[slot].place::<Stop>(
            spill,
            key.as_bytes(),
            b"",
            &note(arrived_as, origin, typed),
            &mut |key, _, note, previous| {
                // In key order, a repeated name is the key just before.
                let existing = previous
                    .filter(|p| folded_part(p) == folded_part(key))
                    .map(|previous| text(id_of_list_key_bytes(previous)).into_owned());
                put_name(table, key, note, field, existing)
            },
        )?;
    }
    if let Some(key) = &prepared.name_key {
        runs.by_name.place::<Stop>(spill, key.as_bytes(), b"", b"", &mut |key, _, _, _| {
            tables.by_name.insert(text(key).as_ref(), ())?;
            Ok(())
        })?;
    }
    Ok(document.len() as u64)
}

/// Puts a name's index key in, unless `existing` (the id of another user) has the name: then
/// the load fails naming the record (its note) and the name as it typed it.
fn put_name(
    table: &mut redb::Table<'_, &'static str, ()>,
    key: &[u8],
    note: &[u8],
    field: &'static str,
    existing: Option<String>,
) -> Result<(), Stop> {
    if let Some(existing) = existing {
        let (origin, value) = from_note(note);
        return Err(conflict(origin, StoreError::RepeatedInImport { field, value, other: existing }).into());
    }
    table.insert(text(key).as_ref(), ())?;
    Ok(())
}

/// The fields of [`PreparedUser::unique`], in its order.
const UNIQUE_FIELDS: [&str; 3] = ["username", "primaryEmail", "primaryPhone"];

/// A new user [`load_made_into_empty`] takes: one read from a file, or one `seed` made.
pub(super) trait Preparable: Send {
    fn prepared(self, author: &Author, now: i64) -> Result<PreparedUser, StoreError>;
}

impl Preparable for NewUser {
    fn prepared(self, author: &Author, now: i64) -> Result<PreparedUser, StoreError> {
        PreparedUser::of(self, author, now)
    }
}

impl Preparable for MadeUser {
    /// Its document and search text as made: nothing to parse, walk or write again.
    fn prepared(self, author: &Author, now: i64) -> Result<PreparedUser, StoreError> {
        let MadeUser { new, document, search } = self;
        let list_key = list_key(&new.user);
        let mut prepared = PreparedUser::with_search(new, list_key, search, author, now)?;
        prepared.document = Some(document);
        Ok(prepared)
    }
}

/// A new user with the rows a load writes for them, made before any table is touched (so
/// they can be made on another thread).
pub(super) struct PreparedUser {
    new: NewUser,
    /// Its document as written, when it came so (else `new`'s customData, or `{}`).
    document: Option<String>,
    /// The users-table record.
    stored: Vec<u8>,
    list_key: String,
    search: String,
    /// Username, email, phone: the index key (folded value + NUL + id) and the value as typed
    /// (for a repeated name's message).
    unique: [Option<(String, String)>; 3],
    name_key: Option<String>,
}

impl PreparedUser {
    fn of(new: NewUser, author: &Author, now: i64) -> Result<Self, StoreError> {
        // The search text's format is the `search` branch's: built by its function, as every
        // write does, from the parsed document where that reads the same as the stored text.
        let (list_key, search) = search_entry_of(&new)?;
        // Named by its place in the input, as every other path names a record (a user over
        // the size limit was named by an id alone, made up for the run when it had none: bb71 F1).
        let origin = new.origin.clone();
        Self::with_search(new, list_key, search, author, now).map_err(|e| StoreError::of_record(origin, e))
    }

    fn with_search(
        new: NewUser,
        list_key: String,
        search: String,
        author: &Author,
        now: i64,
    ) -> Result<Self, StoreError> {
        let user = &new.user;
        let stored =
            crate::store::error::held_to_the_user_limit(&user.id, stored_user_json(user, now, &author.0)?)?;
        let unique = unique_fields(user).map(|(field, folded)| {
            folded.map(|folded| (index_key(&folded, &user.id), typed_value(user, field)))
        });
        let name_key = name_key(user);
        Ok(Self { new, document: None, stored, list_key, search, unique, name_key })
    }
}

/// `StoredUser::new(user, 1, at, by).to_json()`, written without building the user's map.
fn stored_user_json(user: &User, at: i64, by: &str) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(format!("{{\"rev\":1,\"revAt\":{at},\"revBy\":").as_bytes());
    serde_json::to_writer(&mut out, by)
        .and_then(|()| {
            out.extend_from_slice(b",\"user\":");
            write_sparse(&mut out, user)
        })
        .map_err(|e| StoreError::Database(format!("user {}: cannot be written: {e}", user.id)))?;
    out.push(b'}');
    Ok(out)
}

/// [`search_entry`] of a new user (see [`search_entry_of_data`]).
fn search_entry_of(new: &NewUser) -> Result<(String, String), StoreError> {
    match &new.custom_data {
        Some(data) => search_entry_of_data(&new.user, data),
        None => Ok((list_key(&new.user), search_text(&new.user, &Map::new()))),
    }
}

fn id_of_list_key_bytes(key: &[u8]) -> &[u8] {
    key.iter().rposition(|b| *b == 0).map_or(key, |at| &key[at + 1..])
}

/// The records placed were parsed and freed on an import's reading thread, whose glibc arena
/// keeps the freed pages; the merge's threads allocate in arenas of their own, so the merge's
/// peak stacked on what the placing left (400 documents of 60,000 keys: 71 MB; 65 with this).
fn give_freed_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free pages of the allocator's arenas back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[path = "redb_bulk/merging.rs"]
mod merging;

#[cfg(test)]
#[path = "redb_bulk/tests.rs"]
mod tests;
