//! This process's session lock ([`SessionLock`]): while it is held, its drafts are its own.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::{DraftError, Drafts, io_error, location, process_token};

/// This process's hold on its drafts: an exclusive `flock` on `PROCESS.lock` in the drafts
/// directory (PROCESS as in the session names, `PID-TOKEN`). Dropping it removes the file.
#[derive(Debug)]
pub(super) struct SessionLock {
    /// The lock file's name; `None` once another file took its place (then not removed).
    path: Option<PathBuf>,
    // Held open: closing it (or the process ending in any way) lets the lock go.
    file: fs::File,
}

impl SessionLock {
    /// Whether its name still names the file locked (a cleaner may have removed the
    /// directory, which the next draft makes again without it).
    fn still_named(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Some(path), Ok(held)) = (&self.path, self.file.metadata()) else { return false };
        fs::symlink_metadata(path).is_ok_and(|named| (named.dev(), named.ino()) == (held.dev(), held.ino()))
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = fs::remove_file(path);
        }
    }
}

/// The process part (`PID-TOKEN`) of a session name `PID-TOKEN-N`, when it is one that
/// custodian made; older or foreign names have none, and so no lock.
pub(super) fn process_of(session: &str) -> Option<&str> {
    let (process, number) = session.rsplit_once('-')?;
    let (pid, token) = process.split_once('-')?;
    let digits = |s: &str, hex: bool| {
        !s.is_empty()
            && s.len() <= 20
            && s.bytes().all(|b| if hex { b.is_ascii_hexdigit() } else { b.is_ascii_digit() })
    };
    (digits(pid, false) && digits(token, true) && digits(number, false)).then_some(process)
}

pub(super) fn lock_file_name(process: &str) -> String {
    format!("{process}.lock")
}

/// The session lock as a [`Drafts`] holds it: wanted from [`Drafts::lock_session`] to
/// [`Drafts::unlock_session`], and the lock itself while it could be taken.
#[derive(Debug, Default)]
pub(crate) struct SessionHold {
    wanted: bool,
    lock: Option<SessionLock>,
}

impl Drafts {
    /// Takes this process's [`SessionLock`], to be held for the whole session: from then on
    /// its drafts are never offered to, taken over or discarded by another custodian while
    /// it runs. The lock file is new (exclusive create, 0600, never through a link).
    /// Held by this `Drafts` until [`Drafts::unlock_session`] or its drop, and made again by
    /// the next draft written when its file was removed (a cleaner emptied the state
    /// directory: without it, the running session's drafts were offered to others).
    /// Wanted from then on even when it cannot be taken now (no room, a drafts directory
    /// that cannot be written): the next draft written takes it (a session that started so
    /// never took it, and another custodian offered and discarded its drafts: bb36 #2).
    pub fn lock_session(&self) -> Result<(), DraftError> {
        self.session_slot().wanted = true;
        self.ensure_dir()?;
        let lock = self.new_session_lock()?;
        self.session_slot().lock = Some(lock);
        Ok(())
    }

    /// Lets the session lock go (its file removed).
    pub fn unlock_session(&self) {
        let mut hold = self.session_slot();
        hold.wanted = false;
        hold.lock.take();
    }

    fn session_slot(&self) -> std::sync::MutexGuard<'_, SessionHold> {
        self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new_session_lock(&self) -> Result<SessionLock, DraftError> {
        let path = self.dir.join(lock_file_name(process_token()));
        let file = location::new_private_file(&path).map_err(io_error(&path))?;
        // Made before it is locked, so a failure removes the file again.
        let lock = SessionLock { path: Some(path.clone()), file };
        lock.file.try_lock().map_err(|e| DraftError::Io { path, source: e.into() })?;
        Ok(lock)
    }

    /// Whether this process holds a session lock whose file is gone (removed alone, by hand
    /// or by a cleaner of empty files): its drafts are offered to other custodians until the
    /// next draft written makes it again.
    pub fn session_lock_is_gone(&self) -> bool {
        let hold = self.session_slot();
        match &hold.lock {
            Some(held) => !held.still_named(),
            None => hold.wanted,
        }
    }

    /// The session lock taken again when its file is gone (the old one's file, unlinked, is
    /// let go), or when it is wanted and was never taken. Nothing when it is not wanted.
    pub(super) fn keep_session_lock(&self) -> Result<(), DraftError> {
        let mut hold = self.session_slot();
        let wanted = hold.wanted;
        match hold.lock.as_mut() {
            Some(held) if !held.still_named() => {
                // Its name is no longer its file: dropping it must not remove the new one.
                held.path = None;
            }
            Some(_) => return Ok(()),
            None if !wanted => return Ok(()),
            None => {}
        }
        let lock = self.new_session_lock()?;
        hold.lock = Some(lock);
        Ok(())
    }

    /// Whether the editing session `session` is part of a custodian still running: the lock
    /// its process took is held. No lock file (a session that ended, a draft written before
    /// sessions took locks) is no running session.
    pub fn session_is_running(&self, session: &str) -> bool {
        let Some(process) = process_of(session) else { return false };
        // O_NONBLOCK: a FIFO in its place must not hang the look.
        let Ok(file) = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(self.dir.join(lock_file_name(process)))
        else {
            return false;
        };
        // A shared lock is refused only while the session holds its exclusive one; it goes
        // again when `file` is closed.
        matches!(file.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
    }
}
