//! Unsaved edits kept on disk, so that a dropped SSH connection, a SIGTERM or a crash never
//! eats an operator's work.
//!
//! A draft belongs to one editing session: its file name carries the database, the user and
//! the session (process id, a random token of the process, the editor's number), so two
//! sessions never write the same file, and a save or discard removes only its own. A
//! recovery file (written when the operator reloads theirs in the conflict view) has a name
//! of its own that autosave never writes and a save never removes.
//!
//! The directory is `$XDG_STATE_HOME/custodian/drafts/`, checked by [`location`] (ours, 0700).
//! Every file is opened without following symbolic links; a draft is written to a new
//! temporary file (exclusive create, 0600), fsynced and renamed; one is read only from a
//! regular file of ours, up to [`MAX_FILE_BYTES`]; its content must name this database and
//! the user and session of its file name, or it is not offered.
//!
//! A running custodian holds an exclusive lock on a file of its own in the directory
//! ([`SessionLock`]) for as long as it lives; the kernel lets go of it however the process
//! ends (kill -9 too). A draft whose session's lock is held belongs to an edit still under
//! way: it is never offered, taken over or discarded by another custodian.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::location::{self, DirError};

/// The largest draft file read back: a document is at most 1 MiB, and written as a JSON
/// string it can grow (quotes and backslashes are escaped); anything larger is not ours.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What the file says it is.
const FORMAT: &str = "custodian-draft-1";

/// Why [`read_own_file`] did not read a file.
enum NotRead {
    /// It could not be opened or read (`NotFound` when there is none).
    Io(io::Error),
    Link,
    NotRegular,
    /// Another user's (their uid).
    NotOurs(u32),
    /// Larger than allowed (its size).
    TooLarge(u64),
    /// It grew past what is allowed while it was read.
    Grew,
}

/// The bytes of a regular file of ours at `path`, at most `limit`: never read through a
/// symbolic link, from a FIFO or a device (opened without waiting for a writer), or another
/// user's file.
fn read_own_file(path: &Path, limit: u64) -> Result<Vec<u8>, NotRead> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| if e.raw_os_error() == Some(libc::ELOOP) { NotRead::Link } else { NotRead::Io(e) })?;
    let meta = file.metadata().map_err(NotRead::Io)?;
    if !meta.file_type().is_file() {
        return Err(NotRead::NotRegular);
    }
    if meta.uid() != location::my_uid() {
        return Err(NotRead::NotOurs(meta.uid()));
    }
    if meta.len() > limit {
        return Err(NotRead::TooLarge(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(NotRead::Io)?;
    if bytes.len() as u64 > limit {
        return Err(NotRead::Grew);
    }
    Ok(bytes)
}

/// A draft written by autosave, or a recovery file kept by "reload theirs".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DraftKind {
    Draft,
    Recovery,
}

/// An edit that was not saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Draft {
    pub format: String,
    pub kind: DraftKind,
    /// The database the edit belongs to (absolute path).
    pub database: String,
    pub user_id: String,
    /// The user's handle when the draft was written (for the operator to recognise it).
    pub user_handle: String,
    /// The editing session that wrote it (see [`new_session`]).
    pub session: String,
    /// The revision the edit started from: saving it is checked against this.
    pub base_revision: u64,
    /// SHA-256 of the text of that revision as the editor loaded it: a database restored from
    /// a backup or re-imported may hold another text under the same number.
    pub base_digest: String,
    /// When the draft was written (epoch ms).
    pub saved_at: i64,
    pub text: String,
    /// The file `E`'s editor edits, for a draft written as it started: if custodian ended
    /// without reading it back (a kill -9), what the editor left there is the edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_file: Option<String>,
    /// The path the database file was opened by, when that is a symbolic link (or goes
    /// through one): a later start on that path, the link re-pointed since (a restore), names
    /// this draft, which it would not find under the file it names now (bb73 F6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_as: Option<String>,
    /// The user's handle now, when another than the one written (read at start-up, not kept).
    #[serde(skip)]
    pub handle_now: Option<String>,
    /// The file in `$TMPDIR` whose later text this draft took ([`later_copy`]), not kept.
    #[serde(skip)]
    pub later_copy: Option<String>,
}

impl Draft {
    /// A draft of an edit of `database`, written at `saved_at`.
    pub fn new(kind: DraftKind, database: &str, edit: EditSnapshot, saved_at: i64) -> Self {
        Self {
            format: FORMAT.to_owned(),
            kind,
            database: database.to_owned(),
            user_id: edit.user_id,
            user_handle: edit.user_handle,
            session: edit.session,
            base_revision: edit.base_revision,
            base_digest: edit.base_digest,
            saved_at,
            text: edit.text,
            external_file: None,
            opened_as: None,
            handle_now: None,
            later_copy: None,
        }
    }

    /// The file this draft lives in: database, user, session and kind, so a file's name says
    /// what it holds and one whose content says otherwise is not offered.
    pub fn file_name(&self) -> String {
        let kind = match self.kind {
            DraftKind::Draft => "draft",
            DraftKind::Recovery => "recovery",
        };
        format!(
            "{}.{}.{}.{kind}.json",
            database_tag(&self.database),
            name_part(&self.user_id),
            name_part(&self.session)
        )
    }

    /// Whether `text` is the text this draft's edit started from.
    pub fn started_from(&self, text: &str) -> bool {
        self.base_digest == digest(text)
    }
}

/// An unsaved edit as the editor holds it: what a draft or recovery file records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditSnapshot {
    pub user_id: String,
    pub user_handle: String,
    pub session: String,
    pub base_revision: u64,
    /// [`digest`] of the base revision's text.
    pub base_digest: String,
    pub text: String,
    /// When the text was last changed, when that was before this session: a draft reopened
    /// and written again before anything was typed into it keeps its time (a hang-up right
    /// after `o` stamped an older edit as the newest of its user's drafts: bb65 F4). `None`:
    /// now.
    pub written_at: Option<i64>,
}

/// `sha256:` and the hex digest of `text`.
pub fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    let mut out = String::from("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A short stable name for a database path.
fn database_tag(database: &str) -> String {
    digest(database)["sha256:".len()..].chars().take(16).collect()
}

/// The database part of the file names of an older custodian's drafts
/// (`{tag}-{user id}.json`, one file per database and user).
fn older_database_tag(database: &str) -> String {
    let hash = database
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

/// A piece of a file name: ids and sessions are `[0-9A-Za-z_-]` and kept as they are; any
/// other text (never written by custodian) is hex, so a name cannot leave the directory.
pub fn name_part(text: &str) -> String {
    let plain = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain { text.to_owned() } else { text.bytes().map(|b| format!("{b:02x}")).collect::<String>() + "~" }
}

/// This process's part of a session name: its id and a random token (a process id is reused;
/// the token is not).
fn process_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| format!("{}-{:08x}", std::process::id(), fastrand::u32(..)))
}

/// A new editing session's name: every editor custodian opens gets one, so its draft file
/// is its own.
pub fn new_session() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{}-{}", process_token(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Why a draft could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Dir(#[from] DirError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("the edit is {size} bytes as a draft, more than the {MAX_FILE_BYTES} a draft may hold")]
    TooLarge { size: usize },
    // The reason first: a status line cut at its width kept the path and lost why (bb36 #4).
    // Opened or discarded: the file is gone either way, and which one is not known (bb58 F6:
    // a draft discarded elsewhere was said as opened).
    #[error("this draft was just opened or discarded by another custodian ({})", path.display())]
    Gone { path: PathBuf },
    #[error("this draft is being edited in another running custodian ({})", path.display())]
    InUse { path: PathBuf },
    #[error("{}: {why}", path.display())]
    NotOffered { path: PathBuf, why: String },
}

/// A file in the drafts directory that is not offered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub name: String,
    pub why: String,
}

/// What the drafts directory holds for one database.
#[derive(Debug, Default)]
pub struct Found {
    /// Oldest first.
    pub drafts: Vec<Draft>,
    /// Files that looked like drafts but are not offered (too large, not a regular file, for
    /// another database under this one's name, unreadable).
    pub ignored: Vec<Ignored>,
    /// Drafts of editing sessions still running in another custodian: theirs, not offered.
    pub in_use: Vec<Draft>,
}

/// Where drafts live.
pub struct Drafts {
    dir: PathBuf,
    /// The path given for a database file reached through a symbolic link, written into
    /// every draft ([`Draft::opened_as`]).
    opened_as: Option<String>,
    /// This process's session lock once taken ([`Drafts::lock_session`]).
    session: std::sync::Mutex<SessionHold>,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> DraftError + '_ {
    move |source| DraftError::Io { path: path.to_owned(), source }
}

impl Drafts {
    pub fn in_state_dir() -> Self {
        Self::at(location::state_dir().join("drafts"))
    }

    pub fn at(dir: PathBuf) -> Self {
        Self { dir, opened_as: None, session: std::sync::Mutex::new(SessionHold::default()) }
    }

    /// Drafts that record `given` as the path their database file was opened by, when it is
    /// not the file's own (canonical) path: a link, or a path through one.
    pub fn opened_as(mut self, given: &Path) -> Self {
        let absolute = std::path::absolute(given).unwrap_or_else(|_| given.to_owned());
        let canonical = fs::canonicalize(given).ok();
        if canonical.is_some_and(|own| own != absolute) {
            self.opened_as = Some(absolute.display().to_string());
        }
        self
    }

    /// The path the database was opened by, when it is a link ([`Drafts::opened_as`]).
    pub fn given_path(&self) -> Option<&str> {
        self.opened_as.as_deref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Refuses a drafts directory (or the state directory around it) that someone else could
    /// write. A missing one is fine, and so is one that cannot even be looked at (a file in
    /// the way): then every draft write fails and says so.
    pub fn check(&self) -> Result<(), DirError> {
        let only_unsafe = |result: Result<(), DirError>| match result {
            Err(e) if e.is_unsafe() => Err(e),
            _ => Ok(()),
        };
        if let Some(parent) = self.dir.parent() {
            only_unsafe(location::check_private_dir(parent))?;
        }
        only_unsafe(location::check_private_dir(&self.dir))
    }

    fn ensure_dir(&self) -> Result<(), DirError> {
        if let Some(parent) = self.dir.parent() {
            location::ensure_private_dir(parent)?;
        }
        location::ensure_private_dir(&self.dir)
    }

    /// Writes a draft (replacing its own session's earlier one) or keeps a recovery file
    /// (never replacing anything), durably: a new temporary file, fsync, rename or link.
    pub fn save(&self, draft: &Draft) -> Result<PathBuf, DraftError> {
        self.ensure_dir()?;
        // The draft matters more than the lock: it is written either way.
        if let Err(e) = self.keep_session_lock() {
            tracing::warn!(%e, "the session lock could not be taken again");
        }
        let json = match (&self.opened_as, &draft.opened_as) {
            (Some(given), None) => {
                serde_json::to_vec_pretty(&Draft { opened_as: Some(given.clone()), ..draft.clone() })
            }
            _ => serde_json::to_vec_pretty(draft),
        }
        .map_err(|e| DraftError::Io { path: self.dir.clone(), source: io::Error::other(e) })?;
        if json.len() as u64 > MAX_FILE_BYTES {
            return Err(DraftError::TooLarge { size: json.len() });
        }
        let path = self.dir.join(draft.file_name());
        let temporary = self.dir.join(format!(
            ".{}.{}-{:08x}.tmp",
            draft.file_name(),
            std::process::id(),
            fastrand::u32(..)
        ));
        let written = (|| {
            // Exclusive and not following links: a name planted here is never written through.
            let mut file = location::new_private_file(&temporary).map_err(io_error(&temporary))?;
            file.write_all(&json).map_err(io_error(&temporary))?;
            file.sync_all().map_err(io_error(&temporary))?;
            match draft.kind {
                DraftKind::Draft => fs::rename(&temporary, &path).map_err(io_error(&path)),
                // A recovery file's name is new: a link fails rather than replace anything.
                DraftKind::Recovery => {
                    fs::hard_link(&temporary, &path).map_err(io_error(&path))?;
                    let _ = fs::remove_file(&temporary);
                    Ok(())
                }
            }
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written?;
        sync_dir(&self.dir);
        Ok(path)
    }

    /// Every draft and recovery file for `database`, oldest first, and what was not offered.
    /// Temporary files left by processes that no longer run are removed on the way.
    pub fn for_database(&self, database: &str) -> Found {
        // Their places listed once: for the later copies drafts take, and those none took.
        let copies = later_copy::LaterCopies::in_every_place();
        let mut found = self.drafts_for(database, &copies);
        let unoffered = later_copy::left_unoffered(database, &found.drafts, copies);
        found.ignored.extend(unoffered);
        found
    }

    /// [`Drafts::for_database`] without the edits kept in `$TMPDIR` that no draft took.
    fn drafts_for(&self, database: &str, later_copies: &later_copy::LaterCopies) -> Found {
        let mut found = Found::default();
        let Ok(entries) = fs::read_dir(&self.dir) else { return found };
        let tag = format!("{}.", database_tag(database));
        let older_tag = format!("{}-", older_database_tag(database));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                self.remove_if_abandoned(&name);
                continue;
            }
            if let Some(process) = name.strip_suffix(".lock") {
                self.remove_lock_if_abandoned(process);
                continue;
            }
            if name.starts_with(&older_tag) && name.ends_with(".json") {
                // Not offered: it does not record the text it started from. It is left where
                // it is, and named, so its edit can still be copied out of it.
                let why = "a draft of an older custodian, which did not record the text it started from; not offered, its edit is in the file".into();
                found.ignored.push(Ignored { name, why });
                continue;
            }
            if !name.starts_with(&tag) || !name.ends_with(".json") {
                continue;
            }
            match self.read(&name) {
                Ok(draft) if draft.database != database => {
                    found.ignored.push(Ignored { name, why: "written for another database".into() })
                }
                Ok(draft) if draft.kind == DraftKind::Draft && self.session_is_running(&draft.session) => {
                    found.in_use.push(draft)
                }
                Ok(draft) if draft.external_file.is_some() => match self.external_edit(draft) {
                    external::Edit::Offered(draft) => found.drafts.push(*draft),
                    external::Edit::Nothing => {}
                    external::Edit::NotRead(why) => found.ignored.push(Ignored { name, why }),
                },
                Ok(draft) => found.drafts.push(draft.with_later_copy(later_copies)),
                Err(error) => found.ignored.push(Ignored { name, why: error.to_string() }),
            }
        }
        found
            .drafts
            .sort_by(|a, b| a.saved_at.cmp(&b.saved_at).then_with(|| a.file_name().cmp(&b.file_name())));
        found
    }

    /// Reads the draft in file `name`: a regular file of ours (a FIFO or a device is never
    /// read from), at most [`MAX_FILE_BYTES`], whose content is the draft its name says.
    pub fn read(&self, name: &str) -> Result<Draft, DraftError> {
        let path = self.dir.join(name);
        let refuse = |why: &str| DraftError::NotOffered { path: path.clone(), why: why.to_owned() };
        let bytes = read_own_file(&path, MAX_FILE_BYTES).map_err(|not_read| match not_read {
            NotRead::Io(e) => DraftError::Io { path: path.clone(), source: e },
            NotRead::Link => refuse("a symbolic link, not a draft"),
            NotRead::NotRegular => refuse("not a regular file"),
            NotRead::NotOurs(uid) => refuse(&format!("belongs to uid {uid}, not to you")),
            NotRead::TooLarge(size) => refuse(&format!("{size} bytes, more than a draft may hold")),
            NotRead::Grew => refuse("grew beyond what a draft may hold while read"),
        })?;
        let draft: Draft =
            serde_json::from_slice(&bytes).map_err(|e| refuse(&format!("not a custodian draft ({e})")))?;
        if draft.format != FORMAT {
            return Err(refuse("not a custodian draft of this version"));
        }
        if draft.file_name() != name {
            return Err(refuse("its content names another database, user or session than its file name"));
        }
        Ok(draft)
    }

    /// Forgets a draft or recovery file (this session's own, after a save or a discard).
    pub fn remove(&self, draft: &Draft) {
        let _ = self.try_remove(draft);
    }

    /// [`Drafts::remove`], saying the file it could not remove (none there is no failure).
    pub fn try_remove(&self, draft: &Draft) -> Result<(), String> {
        let path = self.dir.join(draft.file_name());
        self.check().map_err(|e| format!("{}: {e}", path.display()))?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("{}: {e}", path.display())),
            _ => Ok(()),
        }
    }

    /// When this session's draft of `edit` was written, if it holds that very edit already (the
    /// same text and base): the way out writes it again and keeps that time, or a hang-up after
    /// a pause stamped the older of two edits of one user as the newer (bb69 F2).
    pub fn written_with(&self, database: &str, edit: &EditSnapshot) -> Option<i64> {
        let name = Draft::new(DraftKind::Draft, database, edit.clone(), 0).file_name();
        let kept = self.read(&name).ok()?;
        let same = kept.text == edit.text
            && kept.base_revision == edit.base_revision
            && kept.base_digest == edit.base_digest
            && kept.external_file.is_none();
        same.then_some(kept.saved_at)
    }

    /// Removes the draft of one editing session, if it wrote one; an error names the file left.
    pub fn remove_session(&self, database: &str, user_id: &str, session: &str) -> Result<(), String> {
        let edit = EditSnapshot {
            user_id: user_id.to_owned(),
            user_handle: String::new(),
            session: session.to_owned(),
            base_revision: 0,
            base_digest: String::new(),
            text: String::new(),
            written_at: None,
        };
        self.try_remove(&Draft::new(DraftKind::Draft, database, edit, 0))
    }

    /// A temporary file `.NAME.PID-TOKEN.tmp` whose process is gone is the remains of a
    /// write that never finished.
    fn remove_if_abandoned(&self, name: &str) {
        let owner = name.strip_suffix(".tmp").and_then(|rest| rest.rsplit_once('.')).map(|(_, owner)| owner);
        if owner.is_some_and(process_is_gone) {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    /// The lock file `PID-TOKEN.lock` of a process that is gone (killed, so it could not
    /// remove it). Decided by the process id, not by taking the lock: a custodian starting
    /// now has made its file and not yet locked it.
    fn remove_lock_if_abandoned(&self, process: &str) {
        if process_is_gone(process) {
            let _ = fs::remove_file(self.dir.join(lock_file_name(process)));
        }
    }
}

/// Whether the process `PID-TOKEN` names is no longer running (a reused id counts as running).
fn process_is_gone(process: &str) -> bool {
    let Some(pid) =
        process.split_once('-').and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok()).filter(|pid| *pid > 0)
    else {
        return false;
    };
    location::pid_is_gone(pid)
}

/// Makes a rename in `dir` durable (best effort: some file systems refuse fsync on a directory).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

mod elsewhere;
mod external;
mod session_lock;
pub(crate) use external::recovery_file_of;
use session_lock::{SessionHold, lock_file_name, process_of};
pub mod later_copy;
mod taken;
#[cfg(test)]
mod tests;
