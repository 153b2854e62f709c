//! Creating and opening a file, and its layout upgrades.

use super::transactions::met_an_io_error;
use super::*;

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

/// The error for `path` when it is a symbolic link that leads nowhere: the chain of links
/// followed to the name that is missing (the first hop alone was named, and the `init` it
/// suggested was refused in turn: bb32 V07), or a loop of links (said "already exists").
fn dangling_link(path: &Path) -> Option<StoreError> {
    fs::symlink_metadata(path).ok().filter(|meta| meta.file_type().is_symlink())?;
    let shown = path.display().to_string();
    let mut at = path.to_path_buf();
    // Linux follows at most 40 links.
    for _ in 0..40 {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&at).ok()?;
                at = match (target.is_relative(), at.parent()) {
                    (true, Some(dir)) if !dir.as_os_str().is_empty() => dir.join(&target),
                    _ => target,
                };
            }
            Ok(_) => return None,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Some(StoreError::DanglingLink { path: shown, target: at.display().to_string() });
            }
            Err(_) => return None,
        }
    }
    Some(StoreError::LinkLoop { path: shown })
}

impl RedbStore {
    /// Creates a new, empty database file, private to its owner (0600). Fails if it exists.
    pub fn create(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
            match e.kind() {
                ErrorKind::AlreadyExists => {
                    dangling_link(path).unwrap_or_else(|| StoreError::AlreadyExists { path: display.clone() })
                }
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
            handle: std::sync::RwLock::new(Handle::ReadWrite(db)),
            cache_bytes: options.cache_bytes,
            path: path.to_owned(),
            layout: SCHEMA_VERSION,
            upgrade_notes: Vec::new(),
            opened_at: Instant::now(),
            open_waited: Duration::ZERO,
            opened_file: file_identity(path),
            commit_seen: super::commit_mark::LastCommitSeen::at_open(path),
            pinned: Default::default(),
            schema_hold: Default::default(),
        })
    }

    /// Opens an existing custodian database.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let opened_at = Instant::now();
        let display = path.display().to_string();
        match fs::metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(dangling_link(path).unwrap_or(StoreError::Missing { path: display }));
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
        // A file that is no custodian database is refused before a writable open changes it:
        // redb's writable open rewrites its allocator state and trims the file as it closes, so
        // a refused `set` changed 4,786 bytes of a damaged file and cut 8 KiB off (bb73 F1).
        // Only that answer is taken from the look: one not closed cleanly, or held by another
        // process, is opened for writing as ever.
        if !options.read_only {
            let look = Self::open(path, OpenOptions { read_only: true, ..options });
            if let Err(e @ (StoreError::NotADatabase { .. } | StoreError::NewerSchema { .. })) = look {
                return Err(e);
            }
        }
        // redb may panic on a file it cannot make sense of: that is a damaged file, not a bug.
        let damaged = || StoreError::NotADatabase {
            path: display.clone(),
            detail: "the file is damaged or not a redb database".into(),
        };
        let owned_path = path.to_owned();
        // Set once redb starts repairing the file (one not closed cleanly, or damaged): the
        // open is then working, not waiting for another writer, however long it takes.
        let repairing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let noted = std::sync::Arc::clone(&repairing);
        let open_handle = move || {
            crash::contain(|| {
                let mut builder = builder(options);
                builder.set_repair_callback(move |_| noted.store(true, std::sync::atomic::Ordering::Relaxed));
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
            // write does, instead of hanging. A repair under way is waited for to its end (a
            // signal stops the wait): a slow repair on a busy machine was said as "busy".
            let (answer, opening) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = answer.send(open_handle());
            });
            let deadline = opened_at + WRITE_WAIT;
            loop {
                match opening.recv_timeout(Duration::from_millis(50)) {
                    Ok(opened) => break opened,
                    Err(mpsc::RecvTimeoutError::Timeout)
                        if Instant::now() < deadline
                            || repairing.load(std::sync::atomic::Ordering::Relaxed) =>
                    {
                        crate::interrupt::check()?;
                    }
                    Err(_) => return Err(StoreError::Busy),
                }
            }
        };
        let handle = opened.unwrap_or_else(|| Err(damaged()))?;
        let open_waited = opened_at.elapsed();
        let mut store = Self {
            handle: std::sync::RwLock::new(handle),
            cache_bytes: options.cache_bytes,
            path: path.to_owned(),
            layout: SCHEMA_VERSION,
            upgrade_notes: Vec::new(),
            opened_at,
            open_waited,
            opened_file: file_identity(path),
            commit_seen: super::commit_mark::LastCommitSeen::at_open(path),
            pinned: Default::default(),
            schema_hold: Default::default(),
        };
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
            Some(Err(e @ StoreError::Database(_))) if e.to_string().contains(DAMAGED) => {
                Err(e.naming_the_damaged_file(&display))
            }
            Some(Err(_)) | None => Err(damaged()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the file is in (`.` for a bare name): where work files that must not
    /// fill memory (sorted runs) are made, on the file system that has room for the database.
    /// The file's own, when `--db` names a symbolic link to it: beside the link the spill
    /// filled the link's small file system (bb22 L06).
    pub fn dir(&self) -> PathBuf {
        directory_of(&std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone()))
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
    pub(super) fn upgrade(&self, from: u64) -> Result<Vec<String>, StoreError> {
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
                        let record = StoredUser::read_record(id.value(), json.value())?;
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
            // Layout 8: the table of bulk loads, empty (the file's users each have their row).
            if from < 8 {
                tx.open_table(journal::JOURNAL_LOADS)?;
            }
            tx.open_table(META)?.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(notes)
    }

    /// Moves every page to the front of the file and gives the rest back to the file system.
    /// redb grows a file in large steps, so a bulk load leaves it up to ~40 % unused (1M
    /// users: 1,141 MB, 796 MB after this, which takes about 8 s).
    ///
    /// The file to itself: this handle is let go and the file opened again as its only
    /// writer (`ExclusiveWriter`), which fails at once while another process has it open
    /// ([`StoreError::InUse`]) and keeps every other process out until it is done. Compacted
    /// under the shared handle, a screen's save that waited for it landed afterwards with its
    /// own idea of the file's size and doubled the file the compaction had just shrunk.
    /// The usual handle is opened again afterwards, whatever happened.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let handle = self.handle.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !matches!(handle, Handle::ReadWrite(_)) {
            return Err(StoreError::ReadOnly);
        }
        // Its lock goes with it: an exclusive open is refused while any handle is alive.
        *handle = Handle::Closed;
        let compacted = Self::compact_file(&self.path);
        let usual = builder(OpenOptions { read_only: false, cache_bytes: self.cache_bytes })
            .open(&self.path)
            .map_err(|e| open_error(&self.path, e))?;
        *handle = Handle::ReadWrite(usual);
        compacted
    }

    /// `info`'s look at the file at `path`: opened as a write would open it and every page
    /// checked, writing nothing (1–2.5 s at 1M users). A file cut short reads well read-only as
    /// far as its pages go, and one with a damaged page mid-file as long as no read meets it:
    /// `info` said all was well where every write, or an export, refused it (bb95 F4, bb97 F2);
    /// and on a file that needed a repair, its repair rewrote the damaged file first. Nothing
    /// is said while another process has the file open (it is in use, not damaged as far as
    /// this can tell).
    pub fn checked_whole(path: &Path) -> Result<(), StoreError> {
        // A file a killed writer left to be repaired is repaired by `info`'s own open, as the
        // README says (the check's repair in memory refused some that the open's repair, going
        // back past a damaged last commit, mends): looked at by the open alone.
        if super::commit_mark::needs_a_repair(path) {
            return Ok(());
        }
        // redb's check panics on some damaged pages (a page type it does not know): a damaged
        // file, said as every command says one, naming it.
        let checked = crate::crash::catch(|| verify::check_every_page(path))
            .map_err(|panicked| StoreError::Database(format!("{}: {panicked}", path.display())))?;
        match checked {
            Ok(())
            | Err(redb::DatabaseError::DatabaseAlreadyOpen | redb::DatabaseError::LockProtocolMismatch) => {
                Ok(())
            }
            // Not opened for writing at all (not this account's to write, a read-only file
            // system, gone): the read-only open says what it says.
            Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                Ok(())
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail))) => {
                match open_error(
                    path,
                    redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail.clone())),
                ) {
                    cut_short @ StoreError::Database(_) => Err(cut_short),
                    _ => Err(StoreError::Database(format!(
                        "{}: {}: it fails redb's check of every page (redb: {detail}); reads that do not meet the damaged page still work: `custodian --db {} export --out FILE` tells whether every user reads, and `import` of that file into a new database makes a sound one; else restore it from a backup",
                        path.display(),
                        crate::store::error::DAMAGED_FILE,
                        crate::inert::shell_word(&path.display().to_string())
                    ))),
                }
            }
            Err(e) => Err(open_error(path, e)),
        }
    }

    /// Compacts the file at `path` as its only writer, with no handle of this process open
    /// (see [`RedbStore::compact`]): refused at once, the file untouched, while any other
    /// process has it open.
    pub fn compact_file(path: &Path) -> Result<(), StoreError> {
        // redb's compaction commits in two phases, after which its repair no longer goes back
        // past a commit that does not verify: compacting a file whose trees fail their
        // checksums went round for ever, and the kill that ended it left a file no open could
        // repair (bb82 F1). Every page is verified first, writing nothing (a refused
        // compaction left the file marked for a repair that failed: bb84 F1), and a damaged
        // file is refused before any page moves.
        if let Err(e) = verify::check_every_page(path) {
            return Err(match e {
                redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
                    StoreError::FailsItsCheck { path: path.display().to_string(), detail }
                }
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::InUse { path: path.display().to_string() }
                }
                other => open_error(path, other),
            });
        }
        let mut builder = Builder::new();
        builder.set_concurrency_mode(ConcurrencyMode::ExclusiveWriter).set_cache_size(COMPACTION_CACHE_BYTES);
        let mut db = builder.open(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                StoreError::InUse { path: path.display().to_string() }
            }
            other => open_error(path, other),
        })?;
        let compacted = match db.compact() {
            Ok(_) => return Ok(()),
            Err(redb::CompactionError::Storage(e)) => e.into(),
            Err(e) => StoreError::Database(format!("cannot compact: {e}")),
        };
        // A compaction stopped by an I/O error (a full disk, `ulimit -f`) leaves the file "not
        // closed cleanly", and every `--read-only` open refuses it (bb50 F3): opened again
        // once, as a store that met one is, which repairs it where there is room to (under
        // `ulimit -f` the clean close needs to grow the file: the next open repairs it then).
        drop(db);
        if let Err(e) = Builder::new().set_cache_size(COMPACTION_CACHE_BYTES).open(path) {
            tracing::warn!(path = %path.display(), error = %e, "left for the next open to repair");
        }
        Err(compacted)
    }
}

/// A handle that met an I/O error (a full disk during a write) leaves the file "not closed
/// cleanly": every `--read-only` open refuses it until a read-write open repairs it (bb22
/// L01). The file is opened again once as the store goes, which repairs it (the failed
/// transaction's room given back) and closes it cleanly, so readers and backups read it at
/// once. When that fails too (the disk still full), the next read-write open repairs it.
impl Drop for RedbStore {
    fn drop(&mut self) {
        // A file copied over in place: redb's close writes what it holds of the file it opened
        // (its allocator state, a header) over the copy. Left unclosed; the process's end lets
        // its locks go (bb94 F1).
        if self.opened_file.is_some()
            && file_identity(&self.path) == self.opened_file
            && self.commit_seen.copied_over(&self.path)
        {
            tracing::warn!(path = %self.path.display(), "copied over in place: left unclosed, nothing written to it");
            let handle = self.handle.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::forget(std::mem::replace(handle, Handle::Closed));
            return;
        }
        let handle = self.handle.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        let failed = match &*handle {
            Handle::ReadWrite(db) => db.begin_read().is_err_and(|e| met_an_io_error(&e)),
            Handle::ReadOnly(_) | Handle::Closed => false,
        };
        if failed && let Err(e) = self.reopen() {
            tracing::warn!(path = %self.path.display(), error = %e, "left for the next open to repair");
        }
    }
}

/// The device and inode `path` names now; `None` when it names nothing.
pub(super) fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|meta| (meta.dev(), meta.ino()))
}

/// The directory `path` is in, `.` for a bare name (whose parent is the empty path).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// redb's page cache while compacting: its memory follows the cache (with 24 MiB it peaked
/// 30 MB higher at 1M users).
pub(super) const COMPACTION_CACHE_BYTES: usize = 4 * 1024 * 1024;

pub(super) fn builder(options: OpenOptions) -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(ConcurrencyMode::MultiWriter).set_cache_size(options.cache_bytes);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stores_work_files_go_in_the_directory_of_its_file() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let store =
            RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).expect("create");
        assert_eq!(store.dir(), dir.path());
    }

    #[test]
    fn a_store_opened_through_a_link_keeps_its_work_files_beside_the_file_it_names() {
        let (data, links) =
            (tempfile::TempDir::new().expect("temp dir"), tempfile::TempDir::new().expect("temp dir"));
        let file = data.path().join("users.redb");
        drop(RedbStore::create(&file, OpenOptions::default()).expect("create"));
        let link = links.path().join("link.redb");
        std::os::unix::fs::symlink(&file, &link).expect("link");
        let store = RedbStore::open(&link, OpenOptions::default()).expect("open through the link");
        assert_eq!(store.dir(), std::fs::canonicalize(data.path()).expect("canonical"));
    }

    #[test]
    fn a_handle_an_open_again_left_closed_is_opened_again_by_the_next_read() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let store =
            RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).expect("create");
        // What `reopen` leaves when opening the file again fails (the disk still full).
        *store.handle.write().expect("handle") = Handle::Closed;
        store.read().expect("a read opens the file again");
        assert!(matches!(*store.handle(), Handle::ReadWrite(_)));
        store.write().expect("and writes work").abort().expect("abort");
    }

    #[test]
    fn work_files_go_beside_the_database_and_beside_a_bare_name_in_the_working_directory() {
        assert_eq!(directory_of(Path::new("users.redb")), PathBuf::from("."));
        assert_eq!(directory_of(Path::new("data/users.redb")), PathBuf::from("data"));
        assert_eq!(directory_of(Path::new("/srv/custodian/users.redb")), PathBuf::from("/srv/custodian"));
    }
}
