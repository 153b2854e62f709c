//! What a command says of a database file it could not use as it is: damaged (named, so a
//! script going over several knows which), or left for a repair it cannot make where it is.

use std::io;
use std::path::Path;

use crate::crash;
use crate::store::StoreError;

/// A file that needs a repair, opened for it where it cannot be written (a read-only file
/// system, another's file): says where the repair can be done instead.
pub(super) fn repair_cannot_write_here(path: &str, writing: anyhow::Error) -> anyhow::Error {
    let cannot_write = matches!(
        writing.downcast_ref::<StoreError>(),
        Some(StoreError::Io { error, .. })
            if matches!(error.kind(), io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied)
    );
    if !cannot_write {
        return writing;
    }
    // The file's own mode, not its file system, when that is what refuses (bb73 F2: it said
    // to copy it to a file system you can write).
    if let Some(why) = crate::store::unwritable_mode(path) {
        let target =
            if why.owner.is_some() { "COPY".to_owned() } else { crate::inert::shell_word(path).into_owned() };
        return writing.context(format!(
            "{path} was not closed cleanly (a process using it was killed) and its repair writes the file: {} run `custodian --db {target} info`",
            why.first_step(path)
        ));
    }
    writing.context(format!(
        "{path} was not closed cleanly (a process using it was killed) and its repair writes the file, which cannot be done where it is: copy it to a file system you can write and run `custodian --db COPY info` there"
    ))
}

/// A panic inside redb, or a damaged page a read met: the error says which file.
pub(super) fn name_the_damaged_file(error: anyhow::Error, path: &Path) -> anyhow::Error {
    let display = path.display().to_string();
    let panicked =
        error.chain().any(|c| c.downcast_ref::<crash::Panicked>().is_some_and(|p| p.in_database_library));
    // A read's damage has no path of its own (`it ends early` named no file: bb76 F2); a
    // script going over several databases must know which one it is.
    let unnamed_damage =
        error.chain().filter_map(|c| c.downcast_ref::<StoreError>()).any(StoreError::is_file_damaged);
    if !(panicked || unnamed_damage) {
        return error;
    }
    match error.downcast::<StoreError>() {
        Ok(e @ StoreError::Database(_)) => e.naming_the_damaged_file(&display).into(),
        Ok(other) => anyhow::Error::from(other).context(display),
        Err(error) => error.context(display),
    }
}

/// Closes `store`, whose close writes the file (redb records its free pages there). redb
/// panics there on a file whose record of free pages is damaged: after the repair `info`
/// makes, the close panicked, exit 101 after the info was printed (bb76 F1). Contained, it is
/// the file's damage, named, exit 1; the command's own error, when it had one, comes first.
pub(super) fn closed_contained<S>(store: S, path: &Path, result: anyhow::Result<()>) -> anyhow::Result<()> {
    match (crash::catch(move || drop(store)), result) {
        (Ok(()), result) | (Err(_), result @ Err(_)) => result,
        (Err(panicked), Ok(())) => Err(name_the_damaged_file(panicked.into(), path)),
    }
}
