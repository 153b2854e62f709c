//! redb's errors as [`StoreError`]s: what the operator is told when a file cannot be opened
//! or read.

use super::*;

fn database_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Database(error.to_string())
}

impl From<redb::CommitError> for StoreError {
    fn from(error: redb::CommitError) -> Self {
        match error {
            redb::CommitError::Storage(e) => e.into(),
            other => database_error(other),
        }
    }
}

impl From<redb::TransactionError> for StoreError {
    fn from(error: redb::TransactionError) -> Self {
        match error {
            redb::TransactionError::Storage(e) => e.into(),
            other => database_error(other),
        }
    }
}

impl From<redb::TableError> for StoreError {
    fn from(error: redb::TableError) -> Self {
        match error {
            // Opening a table reads its root page: a damaged file shows there first.
            redb::TableError::Storage(e) => e.into(),
            // A type custodian stores with a fixed width and alignment that reads otherwise is
            // a damaged page (redb's own words alone read as a version mismatch, no file named:
            // bb84 F3). A table of other types is another program's file, as it was.
            other @ redb::TableError::TypeDefinitionChanged { .. } => StoreError::Database(format!(
                "{DAMAGED}: a table's stored definition is not the one custodian made it with (redb: {other}); restore it from a backup"
            )),
            other => database_error(other),
        }
    }
}

/// How redb's checks of a file's length against its layout start their messages: on an open
/// (a write's, or a repair's) and under a running screen.
const CUT_SHORT: [&str; 2] =
    ["File truncated below stored layout", "File length does not correspond to a valid region layout"];

fn cut_short(detail: &str) -> bool {
    CUT_SHORT.iter().any(|start| detail.starts_with(start))
}

/// How every message about a damaged file starts.
pub(super) const DAMAGED: &str = crate::store::error::DAMAGED_FILE;

/// A damaged page pointing past the file's end reads as a cut does, so the cut is not the
/// only cause said (bb76 F2: page noise mid-file said `truncated?` of a whole file).
const ENDS_EARLY: &str =
    "it ends before a page it refers to (truncated, or a damaged page points past its end)";

/// A file that ends before redb's layout of it does: however redb found it.
fn ends_early() -> StoreError {
    StoreError::Database(format!("{DAMAGED}: {ENDS_EARLY}; restore it from a backup"))
}

impl From<redb::StorageError> for StoreError {
    fn from(error: redb::StorageError) -> Self {
        match error {
            redb::StorageError::Io(e) if e.kind() == ErrorKind::UnexpectedEof => ends_early(),
            // A file cut short while it was open (truncated under a running screen) is found
            // by its length: said as the same early end (it was redb's own words: bb34 #2).
            redb::StorageError::Corrupted(detail) if cut_short(&detail) => ends_early(),
            redb::StorageError::Corrupted(detail) => StoreError::Database(format!("{DAMAGED}: {detail}")),
            // A write's own words said only "I/O error: No space left on device", not that
            // nothing was written nor why a batch needs so much room (bb25 P05).
            redb::StorageError::Io(e) if e.kind() == ErrorKind::StorageFull => StoreError::Database(format!(
                "no room left on the disk (I/O error: {e}): nothing was written, the database is as it was; a write needs room for a new copy of every page it changes (a batch: of the tables it touches), and a file under 4 GiB grows by doubling — free some room, and `custodian compact` gives back what the failed write left unused"
            )),
            // The limit `ulimit -f` sets: it was said as an interruption (the kernel's SIGXFSZ,
            // now ignored) or as a bare I/O error (bb49 F4).
            redb::StorageError::Io(e) if e.kind() == ErrorKind::FileTooLarge => {
                StoreError::Database(format!(
                    "the file may not grow past the size limit this process runs under (`ulimit -f`; I/O error: {e}): nothing was written, the database is as it was"
                ))
            }
            other => database_error(other),
        }
    }
}

pub(super) fn open_error(path: &Path, error: redb::DatabaseError) -> StoreError {
    let display = path.display().to_string();
    match error {
        redb::DatabaseError::DatabaseAlreadyOpen | redb::DatabaseError::LockProtocolMismatch => {
            StoreError::Locked { path: display }
        }
        redb::DatabaseError::Storage(redb::StorageError::Io(e)) => match e.kind() {
            ErrorKind::NotFound => StoreError::Missing { path: display },
            // redb's word for "magic number mismatch", "file truncated" and the like.
            ErrorKind::InvalidData | ErrorKind::UnexpectedEof => {
                StoreError::NotADatabase { path: display, detail: e.to_string() }
            }
            _ => StoreError::Io { context: display, error: e },
        },
        redb::DatabaseError::RepairAborted => {
            StoreError::NeedsRepair { unwritable: crate::store::unwritable_mode(&display), path: display }
        }
        // An open (or its repair) that finds the file cut short: a custodian database that
        // is damaged, not "not a custodian database" (bb34 #2).
        // Its header's layout is read then: one byte damaged there reads as a file cut short,
        // and the file was not named (bb73 F3).
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) if cut_short(&detail) => {
            StoreError::Database(format!(
                "{display}: {DAMAGED}: it ends before the layout its header records (truncated, or its header damaged); restore it from a backup"
            ))
        }
        // A repair that meets a last commit which does not verify where redb may not go back
        // past it (a compaction's): the file is damaged, not "not a custodian database".
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail))
            if detail.starts_with("Primary is corrupted") =>
        {
            StoreError::Database(format!(
                "{display}: {DAMAGED}: its last commit does not verify, and its repair cannot go back past it (redb: {detail}); restore it from a backup"
            ))
        }
        other => StoreError::NotADatabase { path: display, detail: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_commit_the_repair_cannot_go_back_past_is_damage_not_another_kind_of_file() {
        let refused = redb::DatabaseError::Storage(redb::StorageError::Corrupted(
            "Primary is corrupted despite 2-phase commit".into(),
        ));
        let said = open_error(Path::new("/data/users.redb"), refused).to_string();
        assert!(
            said.contains("/data/users.redb: the database file is damaged: its last commit does not verify"),
            "{said}"
        );
    }

    #[test]
    fn a_file_gone_before_redb_opens_it_is_missing_not_an_io_error() {
        // `open` looks first, but the file can go before redb opens it, or before the reopen
        // after an I/O error.
        let gone = redb::DatabaseError::Storage(redb::StorageError::Io(ErrorKind::NotFound.into()));
        let error = open_error(Path::new("/data/users.redb"), gone);
        assert!(matches!(error, StoreError::Missing { ref path } if path == "/data/users.redb"), "{error:?}");
    }

    #[test]
    fn a_disk_error_keeps_its_words_and_only_an_early_end_is_said_to_be_truncation() {
        let disk = StoreError::from(redb::StorageError::Io(std::io::Error::other("input/output error")));
        let message = disk.to_string();
        assert!(message.contains("input/output error") && !message.contains("truncated"), "{message}");
        let short = StoreError::from(redb::StorageError::Io(ErrorKind::UnexpectedEof.into()));
        assert!(short.to_string().contains(&format!("{DAMAGED}: {ENDS_EARLY}")), "{short}");
        for start in CUT_SHORT {
            let cut = StoreError::from(redb::StorageError::Corrupted(format!("{start}: file_len=1000000")));
            assert!(cut.to_string().contains(&format!("{DAMAGED}: {ENDS_EARLY}")), "{cut}");
        }
        let other = StoreError::from(redb::StorageError::Corrupted("Invalid checksum".into()));
        assert!(!other.to_string().contains("truncated"), "{other}");
    }
}
