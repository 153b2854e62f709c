//! The key file of sealed values: made by `custodian keygen`, named by `--key-file` or
//! `$CUSTODIAN_KEY_FILE`. A key file others can read is refused, as ssh refuses a private key:
//! whoever reads it opens every sealed value. What its text must be is `domain::seal`'s.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use thiserror::Error;

use crate::domain::seal::{KEY_BYTES, Key, KeyFileError, KeySet};

/// A key file is a few hundred bytes; one far larger is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 256 * 1024;

/// Why a key file cannot be used or made. Every message names the file.
#[derive(Debug, Error)]
pub enum KeyFileProblem {
    #[error("key file {path} is open to group or others (mode {mode:04o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error(
        "key file {path} belongs to uid {owner}, not to you (uid {you}) or root: its owner can read it or put another key there; run `chown {you} {path}`"
    )]
    NotYours { path: String, owner: u32, you: u32 },
    /// A directory or a device: told to `chmod 600` one, an operator would break the device
    /// for every other account.
    #[error("key file {path} is a {kind}, not a key file")]
    NotAFile { path: String, kind: &'static str },
    // Not `source`: thiserror would chain it, and the one line would say it twice.
    #[error("key file {path}: {reason}")]
    Unreadable { path: String, reason: io::Error },
    #[error("key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")]
    TooLarge { path: String },
    #[error("key file {path}: {reason}")]
    Malformed { path: String, reason: KeyFileError },
    /// In a directory others can change, they could put their key in its place (values
    /// sealed with it are theirs to open) or an older one of yours (bb48).
    #[error(
        "key file {path} is in {problem}: they could put another key in its place; keep it in a directory of your own"
    )]
    InOthersDirectory { path: String, problem: String },
    #[error(
        "{path} already exists; keygen never overwrites a key (values sealed with it could not be opened again)"
    )]
    Exists { path: String },
    /// `keygen --out -` wrote a key file named `-` where stdout was meant.
    #[error(
        "`-` is not a file name for a key: keygen writes a key only into a new file (mode 0600), never to standard output"
    )]
    DashOut,
    #[error("cannot write the key file {path}: {reason}")]
    CannotWrite { path: String, reason: io::Error },
    #[error("the operating system gave no random bytes: {0}")]
    NoRandomness(String),
}

/// Reads the keys at `path`, refusing a file that group or others can read.
pub fn load(path: &Path) -> Result<KeySet, KeyFileProblem> {
    let shown = path.display().to_string();
    let unreadable = |reason| KeyFileProblem::Unreadable { path: shown.clone(), reason };
    // Judged before it is opened, too: opening a FIFO waits for a writer, and one others can
    // read must be refused at once, not after someone wrote a key into it.
    let you = crate::location::my_uid();
    let meta = fs::metadata(path).map_err(unreadable)?;
    judge(&meta, you, &shown)?;
    refuse_others_directory(path, &shown)?;
    let fifo = meta.file_type().is_fifo();
    let file = open(path, fifo, FIFO_WAIT).map_err(unreadable)?;
    judge(&file.metadata().map_err(unreadable)?, you, &shown)?;
    let bytes = read_whole(file, fifo, FIFO_WAIT).map_err(unreadable)?;
    // A pipe has no size to judge first: what came past the bound was cut off without a word,
    // and a key followed by 300 KB of spaces was taken (bb93 F7).
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyFileProblem::TooLarge { path: shown });
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        unreadable(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
    })?;
    KeySet::parse(&text).map_err(|reason| KeyFileProblem::Malformed { path: shown, reason })
}

/// The key file's bytes, up to one past [`MAX_KEY_FILE_BYTES`]. A FIFO (still non-blocking from
/// [`open`]) is read as its bytes come, and a writer silent for `wait` is said, as one that never
/// wrote is: one that sent part of a key and held on hung custodian without a word (bb93 F2).
fn read_whole(mut file: fs::File, fifo: bool, wait: Duration) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if !fifo {
        file.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    let mut chunk = [0u8; 4096];
    let (started, mut heard) = (Instant::now(), Instant::now());
    while bytes.len() as u64 <= MAX_KEY_FILE_BYTES {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                heard = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                readable_within_a_step(&file)?;
                // A writer that trickles (a byte every few seconds) is bounded too: three waits
                // in all (bb97 F4: it held the start for as long as it went on).
                if started.elapsed() >= wait * 3 {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "a FIFO that gave {} bytes in {} s and has not ended: not a key file",
                            bytes.len(),
                            (wait * 3).as_secs_f64()
                        ),
                    ));
                }
                if heard.elapsed() >= wait {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "a FIFO whose writer stopped after {} bytes and wrote nothing more in {} s",
                            bytes.len(),
                            wait.as_secs_f64()
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(bytes)
}

/// A key file as the screen read it: a rotation (a new key written over it, the file moved
/// away or removed) is found before the next seal or open, which used the key read at start
/// and sealed values under a key withdrawn (bb77 F7).
pub struct WatchedKeyFile {
    path: std::path::PathBuf,
    read_as: std::sync::Mutex<Option<FileStamp>>,
}

/// What tells a file's contents changed without reading it: its identity, size and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = fs::metadata(path).ok()?;
    Some(FileStamp {
        device: meta.dev(),
        inode: meta.ino(),
        len: meta.len(),
        modified: (meta.mtime(), meta.mtime_nsec()),
        changed: (meta.ctime(), meta.ctime_nsec()),
    })
}

impl WatchedKeyFile {
    /// Reads the keys at `path` ([`load`]), remembering the file as read.
    pub fn load(path: &Path) -> Result<(Self, KeySet), KeyFileProblem> {
        let before = stamp(path);
        let keys = load(path)?;
        Ok((Self { path: path.to_owned(), read_as: std::sync::Mutex::new(before) }, keys))
    }

    /// The keys read again when the file is not as it was read (`None` when it is): a
    /// problem when it cannot be read now (removed, opened to others, malformed).
    pub fn changed(&self) -> Option<Result<KeySet, KeyFileProblem>> {
        let now = stamp(&self.path);
        let mut read_as = self.read_as.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.is_some() && now == *read_as {
            return None;
        }
        let keys = load(&self.path);
        if keys.is_ok() {
            *read_as = now;
        }
        Some(keys)
    }
}

/// How long a FIFO (or a pipe: `--key-file <(vault read …)`) may stay silent before the key
/// file is said to be empty of a key, instead of waiting on it for ever without a word.
const FIFO_WAIT: Duration = Duration::from_secs(10);

/// Opens the key file (`fifo`: as judged from its metadata); a FIFO without waiting for a
/// writer, then waits up to `wait` for its first bytes (or its writer's end), a signal stopping
/// the wait.
fn open(path: &Path, fifo: bool, wait: Duration) -> io::Result<fs::File> {
    if !fifo {
        return fs::File::open(path);
    }
    let file = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let started = Instant::now();
    while !readable_within_a_step(&file)? {
        if started.elapsed() >= wait {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("a FIFO nothing was written to in {} s", wait.as_secs_f64()),
            ));
        }
    }
    // Left non-blocking: [`read_whole`] waits for the rest within bounds too.
    Ok(file)
}

/// Waits up to a tenth of a second for `file` (a FIFO) to have bytes or its writer's end:
/// whether it has. A signal's handler ends the wait early (EINTR: it read as a key file that
/// cannot be read), and a noted signal ([`crate::interrupt`]) stops the wait for the key.
fn readable_within_a_step(file: &fs::File) -> io::Result<bool> {
    let step = rustix::event::Timespec { tv_sec: 0, tv_nsec: 100_000_000 };
    let mut fds = [rustix::event::PollFd::new(file, rustix::event::PollFlags::IN)];
    let ready = match rustix::event::poll(&mut fds, Some(&step)) {
        Ok(ready) => ready > 0,
        Err(rustix::io::Errno::INTR) => false,
        Err(e) => return Err(e.into()),
    };
    if crate::interrupt::requested() {
        return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted while waiting for a key"));
    }
    Ok(ready)
}

/// Refuses a key file group or others can read, one another account owns (as ssh does: only
/// `you` or root), or one too large to be a key file.
fn judge(meta: &fs::Metadata, you: u32, shown: &str) -> Result<(), KeyFileProblem> {
    let kind = meta.file_type();
    let not_a_file = [
        (kind.is_dir(), "directory"),
        (kind.is_char_device(), "character device"),
        (kind.is_block_device(), "block device"),
        (kind.is_socket(), "socket"),
    ];
    if let Some((_, kind)) = not_a_file.into_iter().find(|(is, _)| *is) {
        return Err(KeyFileProblem::NotAFile { path: shown.to_owned(), kind });
    }
    let owner = meta.uid();
    if owner != you && owner != 0 {
        return Err(KeyFileProblem::NotYours { path: shown.to_owned(), owner, you });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileProblem::TooOpen { path: shown.to_owned(), mode });
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileProblem::TooLarge { path: shown.to_owned() });
    }
    Ok(())
}

/// Refuses a key file whose directory others can change ([`KeyFileProblem::InOthersDirectory`]);
/// `/tmp` and its like (the sticky bit) are fine, as for every file custodian makes.
fn refuse_others_directory(path: &Path, shown: &str) -> Result<(), KeyFileProblem> {
    let dir = |path: &Path| {
        path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
    };
    // The directory named, and the one a link there leads to: a link of the operator's to a
    // key in a directory others can change let them switch the key (bb55 F4).
    let resolved = std::fs::canonicalize(path).ok().map(|real| dir(&real));
    let problem =
        std::iter::once(dir(path)).chain(resolved).find_map(|dir| crate::location::shared_dir_problem(&dir));
    match problem {
        Some(problem) => Err(KeyFileProblem::InOthersDirectory { path: shown.to_owned(), problem }),
        None => Ok(()),
    }
}

/// Random bytes in a new key's id.
const KID_RANDOM_BYTES: usize = 6;

/// A new key's id: the month it was made and 12 random hex digits (`2026-12-3f9a1c0e57d2`),
/// so an operator sees at a glance which key of a rotation sealed a value, and two keys never
/// share one: with 4 digits, 1,500 keys of one month gave 17–23 repeats, and another team's
/// value under our kid failed to open as "changed" (bb77 F5).
pub fn new_kid(year: i32, month: u8, random: [u8; KID_RANDOM_BYTES]) -> String {
    let hex: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{year:04}-{month:02}-{hex}")
}

/// Writes a new 256-bit key (from the operating system's generator) as a JWK at `out`, mode
/// 0600 from its first byte, never over an existing file. Returns its kid.
pub fn generate(out: &Path) -> Result<String, KeyFileProblem> {
    if out.as_os_str() == "-" {
        return Err(KeyFileProblem::DashOut);
    }
    refuse_others_directory(out, &out.display().to_string())?;
    let mut bytes = [0u8; KEY_BYTES + KID_RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| KeyFileProblem::NoRandomness(e.to_string()))?;
    let now = crate::domain::time::now();
    let mut random = [0u8; KID_RANDOM_BYTES];
    random.copy_from_slice(&bytes[KEY_BYTES..]);
    let kid = new_kid(now.year(), u8::from(now.month()), random);
    let mut key_bytes = [0u8; KEY_BYTES];
    key_bytes.copy_from_slice(&bytes[..KEY_BYTES]);
    let key = Key::new(kid.clone(), key_bytes);
    write_new(out, format!("{}\n", key.to_jwk()).as_bytes())?;
    Ok(kid)
}

/// Writes `contents` to a temporary file beside `out` (0600, synced), then links it to `out`:
/// the link fails when `out` exists, so nothing is overwritten, and `out` never exists half
/// written or with a wider mode.
fn write_new(out: &Path, contents: &[u8]) -> Result<(), KeyFileProblem> {
    let shown = out.display().to_string();
    let cannot = |reason| KeyFileProblem::CannotWrite { path: shown.clone(), reason };
    if out.symlink_metadata().is_ok() {
        return Err(KeyFileProblem::Exists { path: shown });
    }
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(|e| KeyFileProblem::NoRandomness(e.to_string()))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary =
        dir.join(format!(".{name}.{}.tmp", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(suffix)));
    let result = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::hard_link(&temporary, out)
    })();
    let _ = fs::remove_file(&temporary);
    match result {
        Ok(()) => {
            // The new name is durable once the directory is.
            if let Ok(dir) = fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(KeyFileProblem::Exists { path: shown }),
        Err(e) => Err(cannot(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn keygen_writes_a_0600_jwk_that_loads_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.jwk");
        let kid = generate(&out).unwrap();
        assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        let keys = load(&out).unwrap();
        assert_eq!(keys.sealing_key().kid(), kid);
        let before = fs::read(&out).unwrap();
        assert!(matches!(generate(&out), Err(KeyFileProblem::Exists { .. })));
        assert_eq!(fs::read(&out).unwrap(), before);
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused_with_chmod_600() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.jwk");
        generate(&out).unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o640)).unwrap();
        let message = load(&out).unwrap_err().to_string();
        assert!(message.contains(&format!("chmod 600 {}", out.display())), "{message}");
        assert!(!message.contains('\n'));
    }

    /// A key file in a directory others can change (writable by them without the sticky bit)
    /// was read without a word: they could put their own key in its place (bb48).
    #[test]
    fn a_key_file_in_a_directory_others_can_change_is_refused_and_not_made_there() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.jwk");
        generate(&out).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let message = load(&out).unwrap_err().to_string();
        assert!(
            message.contains("which others can change (mode 0777")
                && message
                    .ends_with("they could put another key in its place; keep it in a directory of your own"),
            "{message}"
        );
        let message = generate(&dir.path().join("new.jwk")).unwrap_err().to_string();
        assert!(message.contains("which others can change"), "{message}");
        assert!(!dir.path().join("new.jwk").exists());
        // A link of yours to a key in such a directory: the key is judged where it is (bb55 F4).
        let mine = tempfile::tempdir().unwrap();
        let link = mine.path().join("key.jwk");
        std::os::unix::fs::symlink(&out, &link).unwrap();
        let message = load(&link).unwrap_err().to_string();
        assert!(message.contains("which others can change (mode 0777"), "{message}");
        // The sticky bit, as /tmp has: others cannot rename or replace a file of yours there.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        load(&out).unwrap();
        load(&link).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }

    /// A FIFO `key.fifo` in `dir`, mode 0600.
    fn private_fifo(dir: &Path) -> std::path::PathBuf {
        let fifo = dir.join("key.fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string for the path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        fifo
    }

    #[test]
    fn a_fifo_others_can_read_is_refused_at_once_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = private_fifo(dir.path());
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o644)).unwrap();
        // On a thread: a load that waits for a writer fails the test instead of hanging it.
        let (sender, receiver) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || sender.send(load(&path).map(|_| ()).map_err(|e| e.to_string())));
        let refused = receiver.recv_timeout(std::time::Duration::from_secs(5)).expect("the load waited");
        assert!(refused.is_err_and(|message| message.contains("chmod 600")));
        // Unblock the thread of a failing run: a writer comes and goes.
        drop(fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifo));
    }

    #[test]
    fn keygen_out_dash_is_refused_and_writes_no_file_named_dash() {
        let message = generate(Path::new("-")).unwrap_err().to_string();
        assert!(message.starts_with("`-` is not a file name for a key"), "{message}");
        assert!(!Path::new("-").exists());
    }

    #[test]
    fn a_device_is_no_key_file_and_is_not_told_to_chmod() {
        let message = load(Path::new("/dev/null")).unwrap_err().to_string();
        assert_eq!(message, "key file /dev/null is a character device, not a key file");
    }

    #[test]
    fn a_private_fifo_nothing_writes_to_is_said_after_the_wait_and_one_written_to_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = private_fifo(dir.path());
        let started = Instant::now();
        let error = open(&fifo, true, Duration::from_millis(300)).unwrap_err();
        assert_eq!(error.to_string(), "a FIFO nothing was written to in 0.3 s");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        // A writer that comes after the open: its key is read whole.
        let out = dir.path().join("key.jwk");
        generate(&out).unwrap();
        let key = fs::read(&out).unwrap();
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            fs::OpenOptions::new().write(true).open(&writer_path).unwrap().write_all(&key).unwrap();
        });
        let keys = load(&fifo).expect("the key written after the open");
        writer.join().unwrap();
        assert_eq!(keys.sealing_key().kid(), load(&out).unwrap().sealing_key().kid());
    }

    #[test]
    fn a_fifo_whose_writer_stops_part_way_is_said_after_the_wait_and_one_past_the_bound_is_too_large() {
        // A writer that sent part of a key and held on hung custodian without a word (bb93 F2).
        let dir = tempfile::tempdir().unwrap();
        let fifo = private_fifo(dir.path());
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut writer = fs::OpenOptions::new().write(true).open(&writer_path).unwrap();
            writer.write_all(b"{\"kty\":").unwrap();
            let _ = finished.recv();
        });
        let file = open(&fifo, true, Duration::from_secs(5)).unwrap();
        let started = Instant::now();
        let error = read_whole(file, true, Duration::from_millis(300)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a FIFO whose writer stopped after 7 bytes and wrote nothing more in 0.3 s"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        done.send(()).unwrap();
        writer.join().unwrap();
        // One that trickles, a byte every 100 ms, is bounded at three waits in all (bb97 F4).
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut writer = fs::OpenOptions::new().write(true).open(&writer_path).unwrap();
            while finished.recv_timeout(Duration::from_millis(100)).is_err() {
                if writer.write_all(b" ").is_err() {
                    break;
                }
            }
        });
        let file = open(&fifo, true, Duration::from_secs(5)).unwrap();
        let started = Instant::now();
        let error = read_whole(file, true, Duration::from_millis(300)).unwrap_err();
        assert!(error.to_string().ends_with("s and has not ended: not a key file"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        done.send(()).unwrap();
        writer.join().unwrap();
        // A key and 300 KB of spaces through a pipe: refused as too large, as the same file is
        // (it was cut at 256 KiB and taken: bb93 F7).
        let out = dir.path().join("key.jwk");
        generate(&out).unwrap();
        let mut padded = fs::read(&out).unwrap();
        padded.extend(std::iter::repeat_n(b' ', 300 * 1024));
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut writer = fs::OpenOptions::new().write(true).open(&writer_path).unwrap();
            let _ = writer.write_all(&padded);
        });
        let message = load(&fifo).unwrap_err().to_string();
        assert_eq!(
            message,
            format!("key file {} is larger than 262144 bytes: not a key file", fifo.display())
        );
        writer.join().unwrap();
    }

    #[test]
    fn a_key_file_another_account_owns_is_refused_and_one_of_root_or_yours_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.jwk");
        generate(&out).unwrap();
        let meta = fs::metadata(&out).unwrap();
        let shown = out.display().to_string();
        let refusal = |owner: u32, you: u32| {
            format!(
                "key file {shown} belongs to uid {owner}, not to you (uid {you}) or root: its owner can read it or put another key there; run `chown {you} {shown}`"
            )
        };
        let mine = meta.uid();
        judge(&meta, mine, &shown).unwrap();
        if mine == 0 {
            // Root's file is read by any account; one another account owns is refused.
            judge(&meta, 1000, &shown).unwrap();
            let name = std::ffi::CString::new(out.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid C string for the path; -1 leaves the group as it is.
            assert_eq!(unsafe { libc::chown(name.as_ptr(), 65534, u32::MAX) }, 0);
            assert_eq!(load(&out).unwrap_err().to_string(), refusal(65534, 0));
        } else {
            // Without root no file can be given away: the same file judged for another account.
            assert_eq!(judge(&meta, mine + 1, &shown).unwrap_err().to_string(), refusal(mine, mine + 1));
        }
    }

    /// bb77 F7: a key file rotated (a new key moved over it) or removed under a running screen.
    #[test]
    fn a_watched_key_file_is_read_again_once_it_changed() {
        let dir = tempfile::TempDir::new().unwrap();
        let (key, new) = (dir.path().join("k.jwk"), dir.path().join("new.jwk"));
        let first = generate(&key).unwrap();
        let (watched, keys) = WatchedKeyFile::load(&key).unwrap();
        assert_eq!(keys.sealing_key().kid(), first);
        assert!(watched.changed().is_none(), "as it was read");
        let second = generate(&new).unwrap();
        std::fs::rename(&new, &key).unwrap();
        let again = watched.changed().expect("changed").unwrap();
        assert_eq!(again.sealing_key().kid(), second);
        assert!(watched.changed().is_none(), "read again, as it is now");
        std::fs::remove_file(&key).unwrap();
        assert!(matches!(watched.changed(), Some(Err(_))));
    }

    #[test]
    fn kids_are_the_month_and_twelve_hex_digits() {
        assert_eq!(new_kid(2026, 12, [0x3f, 0x9a, 0x1c, 0x0e, 0x57, 0xd2]), "2026-12-3f9a1c0e57d2");
        // Made many times in one month, never the same twice (4 digits repeated 17 times in
        // 1,500: bb77 F5).
        let dir = tempfile::TempDir::new().unwrap();
        let kids: std::collections::HashSet<String> =
            (0..300).map(|n| generate(&dir.path().join(format!("k{n}.jwk"))).unwrap()).collect();
        assert_eq!(kids.len(), 300);
    }
}
