//! Temporary files of exports that were killed outright (SIGKILL, the OOM killer, a stop
//! timeout): a signal the process can see removes its own, but after `kill -9` a hidden copy
//! of part of the users (profiles and customData, 0600) stayed beside the target for good
//! (bb31 U07). The next export to the same name removes those whose process is gone.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What follows the target's name in a temporary file's: `.custodian-export-PID-RANDOM`.
pub(super) const MARK: &str = ".custodian-export-";

/// How long a file name may be (Linux's `NAME_MAX`).
const NAME_MAX: usize = 255;

/// The start of the temporary file's name of an export to `name`: `.NAME.custodian-export-`,
/// the name cut (at a character) so that the whole, with the process number and the random
/// part, fits in [`NAME_MAX`]: a name the file system takes, of 223–255 bytes, was refused for
/// its temporary file's (bb38 F8).
pub(super) fn temporary_prefix(name: &OsStr) -> Vec<u8> {
    // `.`, the mark, a process number of up to 10 digits, `-` and 8 hex digits.
    let room = NAME_MAX - 1 - MARK.len() - 10 - 1 - 8;
    let bytes = name.as_bytes();
    let mut kept = bytes.len().min(room);
    if let Ok(text) = std::str::from_utf8(bytes) {
        while !text.is_char_boundary(kept) {
            kept -= 1;
        }
    }
    let mut prefix = Vec::from(b".".as_slice());
    prefix.extend_from_slice(&bytes[..kept]);
    prefix.extend_from_slice(MARK.as_bytes());
    prefix
}

/// Removes from `dir` the temporary files of earlier exports to `name` left by a process
/// that no longer runs; returns how many went. Only a file custodian would have made (its name
/// exactly as [`MARK`] writes it, a plain file of yours, mode 0600, one link) whose process
/// number names no process here and that no process holds locked ([`hold`]): a running
/// export's in another PID namespace (a container, another host over NFS) has a number that
/// names no process here, and was removed under it (bb32 V05).
pub(super) fn remove_dead_exports(dir: &Path, name: &OsStr) -> usize {
    let prefix = temporary_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.as_bytes().strip_prefix(prefix.as_slice()) else { continue };
        let Some(pid) = dead_exporter(rest) else { continue };
        let path = entry.path();
        if unheld_leftover(&path) && fs::remove_file(&path).is_ok() {
            tracing::warn!(file = %path.display(), pid, "removed the temporary file of an export whose process is gone");
            removed += 1;
        }
    }
    removed
}

/// Takes the lock that tells a running export's temporary file from a leftover: held for the
/// file's life (it goes with the process, however it ends).
pub(super) fn hold(file: &fs::File) {
    // An exclusive `flock`, as the standard library takes it on Unix.
    let _ = file.try_lock();
}

/// Whether `path` is a file an export of yours left: a plain file, 0600, one link, and no
/// process holds its lock (the lock taken here goes when the file is closed).
fn unheld_leftover(path: &Path) -> bool {
    let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    else {
        return false;
    };
    let Ok(meta) = file.metadata() else { return false };
    let ours = meta.file_type().is_file()
        && meta.uid() == crate::location::my_uid()
        && meta.nlink() == 1
        && meta.mode() & 0o7777 == 0o600;
    ours && file.try_lock().is_ok()
}

/// The process number of `PID-RANDOM` (the number in decimal without a sign or a leading
/// zero, 8 lower-case hex digits) when no process has it.
fn dead_exporter(rest: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(rest).ok()?;
    let (pid, random) = text.split_once('-')?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if random.len() != 8 || !random.bytes().all(hex) {
        return None;
    }
    if pid.is_empty() || pid.starts_with('0') || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pid: i32 = pid.parse().ok().filter(|pid| *pid > 1)?;
    crate::location::pid_is_gone(pid).then_some(pid)
}
