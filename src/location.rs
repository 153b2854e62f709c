//! Where custodian keeps its files, by the XDG base directory rules: the database under
//! `$XDG_DATA_HOME/custodian`, drafts and logs under `$XDG_STATE_HOME/custodian`.
//!
//! These directories are trusted only after a check: custodian's own directories (`custodian/`,
//! `drafts/`) must be real directories (not symbolic links), owned by the user custodian runs
//! as, and writable by nobody else; the directory they sit in must not let others replace them
//! (writable by others only with the sticky bit, as `/tmp`). A directory custodian creates is
//! made 0700 whatever the umask.

mod account;

pub use account::is_private_group;

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn xdg_dir(variable: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(variable) {
        // The spec says relative paths are invalid and must be ignored.
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => home_dir().join(fallback),
    }
}

/// `$HOME` when it is an absolute path; else (unset, empty, relative) the account's home
/// directory from the user database. An unset `HOME` put the default database at
/// `/.local/share`, and an empty or relative one made it follow the current directory: two
/// directories, two databases (bb51 F3).
pub(crate) fn home_dir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) if Path::new(&home).is_absolute() => PathBuf::from(home),
        _ => account::home().unwrap_or_else(|| PathBuf::from("/")),
    }
}

/// `$XDG_DATA_HOME/custodian` (default `~/.local/share/custodian`).
pub fn data_dir() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", ".local/share").join("custodian")
}

/// `$XDG_STATE_HOME/custodian` (default `~/.local/state/custodian`): drafts and the log.
pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state").join("custodian")
}

/// The database used when neither `--db` nor `$CUSTODIAN_DB` names one.
pub fn default_database() -> PathBuf {
    data_dir().join("users.redb")
}

/// `$XDG_STATE_HOME/custodian/custodian.log`: what custodian did, for the operator to read later.
pub fn log_file() -> PathBuf {
    state_dir().join("custodian.log")
}

/// Why one of custodian's directories cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// It does not exist and cannot be made (a read-only or missing parent): custodian can
    /// run without it, but has nowhere to keep drafts or its log.
    // Not a field named `source`: thiserror makes it the error's source, and the chain said
    // the OS error twice (`… Not a directory (os error 20): Not a directory …`: bb51 F7).
    #[error("cannot create {}: {cause}", path.display())]
    Create { path: PathBuf, cause: io::Error },
    /// It exists but someone else could plant or change files in it: custodian refuses to
    /// use it at all.
    #[error(
        "{}: {problem}; custodian keeps its files only in a directory of your own that nobody else can write (if it is yours, make it so: `chmod 700` it, or `chmod go-w` the one it lies in; else point XDG_STATE_HOME / XDG_DATA_HOME at a directory of your own)",
        path.display()
    )]
    Unsafe { path: PathBuf, problem: String },
}

impl DirError {
    pub fn is_unsafe(&self) -> bool {
        matches!(self, DirError::Unsafe { .. })
    }
}

/// Whether no process has the number `pid` (one that exists but is another user's is not
/// gone): what tells a leftover of a killed process from a running one's.
pub fn pid_is_gone(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    let asked = unsafe { libc::kill(pid, 0) };
    asked != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// The user custodian runs as.
pub fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// What makes an existing file-system entry unsafe to use as one of custodian's own
/// directories, if anything (looked at without following a symbolic link).
fn private_dir_problem(dir: &Path, meta: &fs::Metadata) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() {
        Some("is a symbolic link, not a directory of custodian's own".to_owned())
    } else if !meta.is_dir() {
        Some("is not a directory".to_owned())
    } else if meta.uid() != my_uid() {
        Some(format!("belongs to uid {}, not to you (uid {})", meta.uid(), my_uid()))
    } else if mode & 0o002 != 0 {
        Some(format!("can be written by anyone (mode {mode:04o})"))
    } else if mode & 0o020 != 0 && !group_is_yours_alone(dir, meta) {
        // The group named, and the one change that is enough (bb95 F7: neither was said).
        let group = account::group_name(meta.gid()).map(|name| format!(" {name}")).unwrap_or_default();
        Some(format!(
            "can be written by its group{group} (gid {}, mode {mode:04o}), which is not yours alone: `chmod g-w` it",
            meta.gid()
        ))
    } else {
        None
    }
}

/// A new file at `path`, private to its owner (0600), open for reading and writing: never an
/// existing file, never through a symbolic link (`O_NOFOLLOW`), and not inherited by a program
/// custodian starts (`O_CLOEXEC`). Every file custodian makes for itself is made here.
pub fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Checks an existing directory of custodian's own; a missing one is fine (it is made when
/// needed, by [`ensure_private_dir`]).
pub fn check_private_dir(dir: &Path) -> Result<(), DirError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) => match private_dir_problem(dir, &meta) {
            Some(problem) => Err(DirError::Unsafe { path: dir.to_owned(), problem }),
            None => check_parent(dir),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(cause) => Err(DirError::Create { path: dir.to_owned(), cause }),
    }
}

/// The directory holding one of custodian's own must not let others rename or replace it:
/// writable by others only with the sticky bit (as `/tmp`), and not a symbolic link's target
/// swapped by someone else.
fn check_parent(dir: &Path) -> Result<(), DirError> {
    let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(()) };
    match one_dir_problem(parent) {
        Some(problem) => Err(DirError::Unsafe {
            path: dir.to_owned(),
            problem: format!("lies in {problem}: they could replace it"),
        }),
        None => Ok(()),
    }
}

/// Why others could rename or replace a file custodian makes in `dir` (its `$TMPDIR`, the
/// key file's directory, a spill's), if they could: `dir` or a directory it lies in owned by
/// another account than yours or root's (the sticky bit does not hold its owner back), or
/// writable by others without the sticky bit (`/tmp` has it). A directory of yours inside one
/// others can write they rename away and put theirs in its place, and a sticky one of theirs
/// is theirs to empty (bb54 F1: both took the last-chance copy, which was then swapped).
pub fn shared_dir_problem(dir: &Path) -> Option<String> {
    // An empty path is the current directory: judged as `.` (it was passed as no place at all).
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if let Some(problem) = one_dir_problem(dir) {
        return Some(problem);
    }
    let as_given = std::path::absolute(dir).ok();
    // A link on the way that another account owns is theirs to point elsewhere (a
    // `TMPDIR=/tmp/ops` they planted in sticky `/tmp`: bb55 F3).
    if let Some(link) = as_given.as_deref().and_then(|path| path.ancestors().find_map(others_link)) {
        return Some(format!("{}, by way of {link}", dir.display()));
    }
    let resolved = fs::canonicalize(dir).ok();
    [as_given, resolved].into_iter().flatten().find_map(|path| {
        path.ancestors()
            .skip(1)
            .find_map(one_dir_problem)
            .map(|problem| format!("{}, inside {problem}", dir.display()))
    })
}

/// Whether the group that may write `dir` is the operator's alone: their private group
/// ([`is_private_group`]), and no access list on `dir` (its group bits are then the list's
/// mask: `setfacl -m u:mallory:rwx` showed as 0775 and was taken for the private group's,
/// bb56 F2).
fn group_is_yours_alone(dir: &Path, meta: &fs::Metadata) -> bool {
    account::is_private_group(meta.gid()) && !has_access_list(dir)
}

/// Whether `path` carries a POSIX access list beyond its mode.
fn has_access_list(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return true };
    // SAFETY: both strings are NUL-terminated and alive for the call; a null buffer of size
    // 0 asks only for the attribute's size.
    let size = unsafe {
        libc::getxattr(name.as_ptr(), c"system.posix_acl_access".as_ptr(), std::ptr::null_mut(), 0)
    };
    size > 0
}

/// Whether a directory or link of `uid` is one others cannot change through its owner: yours
/// or root's.
fn owner_is_trusted(uid: u32) -> bool {
    uid == my_uid() || uid == 0
}

/// In a user namespace (a rootless container, `unshare -U`) the host's accounts it does not map
/// show as the overflow id: the host's root and any other account alike, so such a place stays
/// refused, said so (bb55 F8: "which others can change" of a 0755 `/home` read as a lie).
fn unmapped_note(uid: u32) -> &'static str {
    static UNMAPPED: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    let unmapped = *UNMAPPED.get_or_init(|| {
        let map = fs::read_to_string("/proc/self/uid_map").ok()?;
        let whole = map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
        let overflow = fs::read_to_string("/proc/sys/kernel/overflowuid").ok()?.trim().parse().ok()?;
        (!whole).then_some(overflow)
    });
    if Some(uid) == unmapped {
        ": an account this user namespace does not map, the host's root or anyone's; set TMPDIR, or keep the file, in a directory of an account mapped here"
    } else {
        ""
    }
}

/// `path` when it is a symbolic link another account than yours or root's owns, said so.
fn others_link(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    let owners_ok = owner_is_trusted(meta.uid());
    (meta.file_type().is_symlink() && !owners_ok)
        .then(|| format!("{}, a link of uid {}, who can point it elsewhere", path.display(), meta.uid()))
}

/// [`shared_dir_problem`] of `dir` alone.
fn one_dir_problem(dir: &Path) -> Option<String> {
    let meta = fs::metadata(dir).ok()?;
    let mode = meta.mode() & 0o7777;
    let others_write = mode & 0o002 != 0 || (mode & 0o020 != 0 && !group_is_yours_alone(dir, &meta));
    let sticky = mode & 0o1000 != 0;
    let owners_ok = owner_is_trusted(meta.uid());
    (!owners_ok || (others_write && !sticky)).then(|| {
        // Yours, and only its group's write is the matter: said so (it gave your own uid, as if
        // the owner were the trouble: bb56 F6).
        let whose = if owners_ok && mode & 0o002 == 0 {
            format!("gid {}, a group not yours alone: `chmod g-w` it if it should be", meta.gid())
        } else {
            format!("uid {}{}", meta.uid(), unmapped_note(meta.uid()))
        };
        format!("{}, which others can change (mode {mode:04o}, {whose})", dir.display())
    })
}

/// Makes `dir` (and its missing parents) if needed — a directory custodian creates is 0700
/// whatever the umask — and checks it as [`check_private_dir`] does. An existing directory
/// is never chmod-ed: one that others can write is refused, not repaired.
pub fn ensure_private_dir(dir: &Path) -> Result<(), DirError> {
    check_private_dir(dir)?;
    if fs::symlink_metadata(dir).is_err() {
        let create = |cause| DirError::Create { path: dir.to_owned(), cause };
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(create)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            // Made here: 0700 even under a umask that took bits away.
            Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(create)?,
            // Someone made it between the look and the mkdir: the check below decides.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(create(e)),
        }
    }
    check_private_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_directory_custodian_makes_is_private() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("state").join("custodian");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        ensure_private_dir(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_refused_not_repaired() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("custodian");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let error = ensure_private_dir(&dir).unwrap_err();
        assert!(error.is_unsafe());
        let text = error.to_string();
        assert!(text.contains("custodian: can be written by anyone (mode 0777)"), "{text}");
        assert_eq!(mode(&dir), 0o777, "left as it was");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        // Writable by its group: refused, unless the group is the operator's private one
        // (nobody else in it: bb55 F2).
        let gid = fs::metadata(&dir).unwrap().gid();
        assert_eq!(ensure_private_dir(&dir).is_ok(), is_private_group(gid), "gid {gid}");
        if my_uid() == 0 {
            std::os::unix::fs::chown(&dir, None, Some(12345)).unwrap();
            assert!(
                ensure_private_dir(&dir).unwrap_err().to_string().contains(
                    "by its group (gid 12345, mode 0770), which is not yours alone: `chmod g-w` it"
                )
            );
        }
    }

    #[test]
    fn a_symbolic_link_is_refused() {
        let base = tempfile::tempdir().unwrap();
        fs::create_dir(base.path().join("real")).unwrap();
        let link = base.path().join("custodian");
        std::os::unix::fs::symlink(base.path().join("real"), &link).unwrap();
        let text = check_private_dir(&link).unwrap_err().to_string();
        assert!(text.contains("is a symbolic link"), "{text}");
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        if my_uid() != 0 {
            // Only root can give a directory away; the mode tests above run everywhere.
            crate::stderr_line!("not run: only root can give a directory to another user");
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("custodian");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let text = check_private_dir(&dir).unwrap_err().to_string();
        assert!(text.contains("belongs to uid 65534, not to you (uid 0)"), "{text}");
    }

    #[test]
    fn a_directory_in_a_shared_one_without_the_sticky_bit_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let shared = base.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        let text = ensure_private_dir(&shared.join("custodian")).unwrap_err().to_string();
        assert!(text.contains("which others can change"), "{text}");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private_dir(&shared.join("custodian")).unwrap();
    }
}
