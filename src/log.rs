//! custodian's log: one file in the state directory (0600 in a 0700 directory), never the
//! screen. It records what was done to which user (ids and revisions, which are safe to
//! print), so an operator can see afterwards what a session saved, refused or kept.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;

use crate::inert;
use crate::location::{self, DirError};

/// Starts logging to [`location::log_file`]. A log that cannot be made (no state directory
/// can be created) is no reason to refuse work: custodian then runs without one. A state
/// directory or log file someone else could have planted is: that is an error.
pub fn start() -> Result<(), DirError> {
    let path = location::log_file();
    let Some(dir) = path.parent() else { return Ok(()) };
    match location::ensure_private_dir(dir) {
        Err(e) if e.is_unsafe() => return Err(e),
        Err(_) => return Ok(()),
        Ok(()) => {}
    }
    let Some(file) = open_log(&path)? else { return Ok(()) };
    let _ = tracing::subscriber::set_global_default(writing_to(file));
    Ok(())
}

/// The log's subscriber: INFO and above, no colour, each event written inert.
fn writing_to(file: fs::File) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(InertLog(file)))
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .log_internal_errors(false)
        .finish()
}

/// The log file, written through [`inert::line`]: an id, a name or a path holding ESC or a
/// C1 control goes in as its visible marker, so `cat` or `tail -f` of the log cannot drive
/// the reader's terminal (they went in raw: bb14 L05). The formatter hands over each event
/// whole, in one write.
struct InertLog(fs::File);

impl io::Write for InertLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        // The log is best effort: an event it cannot take (a full disk, `ulimit -f`) is
        // dropped. Refused, tracing said so on stderr — on the screen, scrolling the frame
        // (`[tracing-subscriber] Unable to write an event…`: bb50 F2).
        // One line per event: a line feed in an id SQL wrote, or in a `--db` path, went in raw
        // and could forge a line of its own (bb54 F5).
        let (event, end) = text.strip_suffix('\n').map_or((&*text, ""), |event| (event, "\n"));
        let _ = self.0.write_all(format!("{}{end}", inert::line(event)).as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Opens the log for appending without following a symbolic link, and only when it is a
/// regular file of ours with one name (a link planted to a victim's file is refused, not
/// written to). `None` when it cannot be opened for another reason.
pub fn open_log(path: &Path) -> Result<Option<fs::File>, DirError> {
    let refuse = |problem: String| DirError::Unsafe { path: path.to_owned(), problem };
    let opened = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refuse("is a symbolic link, not custodian's log".to_owned()));
        }
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) || e.kind() == io::ErrorKind::IsADirectory => {
            return Err(refuse("is not a regular file".to_owned()));
        }
        Err(_) => return Ok(None),
    };
    let Ok(meta) = file.metadata() else { return Ok(None) };
    if !meta.file_type().is_file() {
        Err(refuse("is not a regular file".to_owned()))
    } else if meta.uid() != location::my_uid() {
        Err(refuse(format!("belongs to uid {}, not to you", meta.uid())))
    } else if meta.nlink() != 1 {
        Err(refuse(format!("has {} names (hard links); custodian's log has one", meta.nlink())))
    } else {
        Ok(Some(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbolic_link_at_the_log_path_is_refused_and_its_target_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("bashrc");
        fs::write(&victim, "precious").unwrap();
        let log = dir.path().join("custodian.log");
        std::os::unix::fs::symlink(&victim, &log).unwrap();
        let error = open_log(&log).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_fifo_or_a_hard_link_at_the_log_path_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("custodian.log");
        let fifo = std::ffi::CString::new(log.clone().into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid C string for the path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(open_log(&log).unwrap_err().to_string().contains("not a regular file"));
        fs::remove_file(&log).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        fs::hard_link(&victim, &log).unwrap();
        assert!(open_log(&log).unwrap_err().to_string().contains("hard links"));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn ids_and_paths_with_escapes_or_c1_controls_go_into_the_log_inert() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("custodian.log");
        let file = open_log(&log).unwrap().unwrap();
        tracing::subscriber::with_default(writing_to(file), || {
            // As custodian logs them: displayed (`%`), not debug-quoted.
            tracing::info!(user = %"h\u{1b}[2J\u{9b}1m", db = %"/tmp/x\u{1b}]0;owned\u{7}.redb", "saved");
            // A line feed in an id SQL wrote forged a line of its own (bb54 F5).
            tracing::info!(user = %"n\n2026-01-01T00:00:00Z  INFO forged", "saved");
            tracing::warn!(user = %"plain", "refused");
        });
        let text = fs::read_to_string(&log).unwrap();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("user=h␛[2J\\u{9b}1m") && text.contains("x␛]0;owned␇.redb"), "{text:?}");
        assert_eq!(text.lines().count(), 3, "one line an event: {text:?}");
        assert!(
            text.lines().nth(1).unwrap().contains("user=n␊2026-01-01T00:00:00Z  INFO forged"),
            "{text:?}"
        );
        assert!(text.lines().nth(2).unwrap().ends_with("WARN refused user=plain"), "{text:?}");
    }

    #[test]
    fn the_log_is_a_private_regular_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("custodian.log");
        assert!(open_log(&log).unwrap().is_some());
        assert_eq!(fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
