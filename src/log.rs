//! custodian's log: one file in the state directory (0600 in a 0700 directory), never the
//! screen. It records what was done to which user (ids and revisions, which are safe to
//! print), so an operator can see afterwards what a session saved, refused or kept.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use crate::location;

/// Starts logging to [`location::log_file`]. A log that cannot be opened is no reason to
/// refuse work: custodian then runs without one.
pub fn start() {
    let path = location::log_file();
    let Some(dir) = path.parent() else { return };
    if location::ensure_private_dir(dir).is_err() {
        return;
    }
    let Ok(file) = fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path) else { return };
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
}
