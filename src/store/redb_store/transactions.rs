//! The transactions every call takes: reads, writes that wait briefly for another
//! process's, commits that check the file is still the one opened, and the handle opened
//! again after an I/O error.

use super::open::{builder, file_identity};
use super::*;

impl RedbStore {
    /// The handle, shared (a poisoned lock is only a panic elsewhere: the handle is whole).
    pub(super) fn handle(&self) -> std::sync::RwLockReadGuard<'_, Handle> {
        self.handle.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A read transaction: the pinned one while reads are pinned ([`UserStore::pin_reads`]),
    /// else a new one.
    pub(super) fn read(&self) -> Result<Snapshot, StoreError> {
        if let Some(pinned) = self.pinned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            return Ok(Snapshot(std::sync::Arc::clone(pinned)));
        }
        self.read_now().map(|tx| Snapshot(std::sync::Arc::new(tx)))
    }

    /// A new read transaction: the store as it is now.
    pub(super) fn read_now(&self) -> Result<ReadTransaction, StoreError> {
        let begin = |handle: &Handle| match handle {
            Handle::ReadWrite(db) => db.begin_read(),
            Handle::ReadOnly(db) => db.begin_read(),
            Handle::Closed => Err(redb::TransactionError::Storage(redb::StorageError::DatabaseClosed)),
        };
        let first = begin(&self.handle());
        match first {
            Err(e) if met_an_io_error(&e) => {
                self.reopen()?;
                Ok(begin(&self.handle())?)
            }
            other => Ok(other?),
        }
    }

    /// After an I/O error (a full disk during a commit) redb refuses every later call on the
    /// handle ("previous I/O error") until the file is opened again; a running editor would
    /// never save again once space was freed. Closes the handle and opens the file again
    /// (redb checks and repairs it then), unless another thread did so meanwhile.
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let mut handle = self.handle.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let still_failing = match &*handle {
            Handle::ReadWrite(db) => db.begin_read().is_err_and(|e| met_an_io_error(&e)),
            Handle::ReadOnly(_) => false,
            Handle::Closed => true,
        };
        if !still_failing {
            return Ok(());
        }
        tracing::warn!(path = %self.path.display(), "opening the database again after an I/O error");
        // The old handle goes first: it holds the file's lock until dropped.
        *handle = Handle::Closed;
        let db = builder(OpenOptions { read_only: false, cache_bytes: self.cache_bytes })
            .open(&self.path)
            .map_err(|e| open_error(&self.path, e))?;
        *handle = Handle::ReadWrite(db);
        Ok(())
    }

    /// Begins a write transaction, waiting briefly for another process's to finish.
    pub(super) fn write(&self) -> Result<WriteTransaction, StoreError> {
        match self.begin_write() {
            Ok(result) => result,
            // Once: a file that fails again right after opening is said so.
            Err(Reopen) => {
                self.reopen()?;
                self.begin_write().unwrap_or_else(|Reopen| {
                    Err(StoreError::Database(redb::StorageError::PreviousIo.to_string()))
                })
            }
        }
    }

    /// [`Self::write`] on the handle as it is: `Err(Reopen)` when it met an I/O error before.
    fn begin_write(&self) -> Result<Result<WriteTransaction, StoreError>, Reopen> {
        let handle = self.handle();
        let db = match &*handle {
            Handle::ReadWrite(db) => db,
            Handle::ReadOnly(_) => return Ok(Err(StoreError::ReadOnly)),
            Handle::Closed => return Err(Reopen),
        };
        // One wait per command: what the open waited counts (README: 3 s in all); a write
        // long after the open (a save in the screen) has its own.
        let soon = Instant::now() < self.opened_at + WRITE_WAIT;
        let deadline =
            Instant::now() + if soon { WRITE_WAIT.saturating_sub(self.open_waited) } else { WRITE_WAIT };
        let mut pause = Duration::from_millis(1);
        loop {
            match db.try_begin_write() {
                // Dropped uncommitted when the file was replaced: nothing goes into the file
                // nobody will read.
                Ok(tx) => return Ok(self.not_replaced().map(|()| tx)),
                Err(redb::TransactionError::WouldBlock) if Instant::now() < deadline => {
                    // A command that notes signals stops here, nothing written.
                    if let Err(e) = crate::interrupt::check() {
                        return Ok(Err(e));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(redb::TransactionError::WouldBlock) => return Ok(Err(StoreError::Busy)),
                Err(e) if met_an_io_error(&e) => return Err(Reopen),
                Err(e) => return Ok(Err(e.into())),
            }
        }
    }
}

impl RedbStore {
    /// Commits `tx` unless the path names another file by now: a write that took seconds (an
    /// import, a batch) while a restore replaced the file was committed into the unlinked one
    /// and said done (bb42 F8). Checked under the write lock, so nothing of custodian's can
    /// come between; dropped uncommitted, the write leaves nothing anywhere.
    pub(super) fn commit(&self, tx: WriteTransaction) -> Result<(), StoreError> {
        self.not_replaced()?;
        tx.commit()?;
        self.commit_seen.committed(&self.path);
        Ok(())
    }

    /// [`StoreError::FileReplaced`] when the path no longer names the file opened (replaced by
    /// a restore, or removed, meanwhile), or the file was copied over in place (bb94 F1).
    pub(super) fn not_replaced(&self) -> Result<(), StoreError> {
        if self.opened_file.is_some()
            && (file_identity(&self.path) != self.opened_file || self.commit_seen.copied_over(&self.path))
        {
            return Err(StoreError::FileReplaced { path: self.path.display().to_string() });
        }
        Ok(())
    }
}

/// The handle met an I/O error before and must be opened again ([`RedbStore::reopen`]).
struct Reopen;

/// An I/O error met before, or a handle left closed by an open again that failed then (the
/// disk still full): either way the next call opens the file again.
pub(super) fn met_an_io_error(error: &redb::TransactionError) -> bool {
    matches!(
        error,
        redb::TransactionError::Storage(redb::StorageError::PreviousIo | redb::StorageError::DatabaseClosed)
    )
}

/// A read transaction as [`RedbStore::read`] gives it: shared while reads are pinned.
pub(super) struct Snapshot(std::sync::Arc<ReadTransaction>);

impl std::ops::Deref for Snapshot {
    type Target = ReadTransaction;

    fn deref(&self) -> &ReadTransaction {
        &self.0
    }
}
