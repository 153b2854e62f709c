//! Where custodian keeps its files, by the XDG base directory rules: the database under
//! `$XDG_DATA_HOME/custodian`, drafts and logs under `$XDG_STATE_HOME/custodian`. Directories
//! are created private (0700); files inside are created 0600 by whoever writes them.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn xdg_dir(variable: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(variable) {
        // The spec says relative paths are invalid and must be ignored.
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
            PathBuf::from(home).join(fallback)
        }
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

/// Creates `dir` and its missing parents; a directory custodian creates is private (0700).
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// `$XDG_STATE_HOME/custodian/custodian.log`: what custodian did, for the operator to read later.
pub fn log_file() -> PathBuf {
    state_dir().join("custodian.log")
}
