//! The file's last commit as its header records it, to tell a file overwritten in place from one
//! that another process wrote. redb (in its multi-process mode) reloads what it holds of the file
//! when the header's transaction id moves; a backup copied over the file (`cp`, same inode) with
//! the same id left it serving pages cached from before, and the next save wrote its own view
//! over the copy: users listed twice, others gone, a file no compaction takes (bb94 F1). A commit
//! always gives a new id, so the same id with other bytes is a file copied in.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// redb 4's super-header: its magic number, then two commit slots of 128 bytes at 64 and 192,
/// each holding its transaction id at byte 104 and ending in the XXH3-128 of the rest of it
/// (`tree_store/page_store/header.rs`).
const MAGIC: &[u8] = b"redb\x1a\x0a\xa9\x0d\x0a";
const SLOTS: [usize; 2] = [64, 192];
const SLOT_BYTES: usize = 128;
const TRANSACTION_ID_AT: usize = 104;
const CHECKSUM_AT: usize = 112;
const HEADER_BYTES: usize = 320;

/// Whether `slot` is a whole commit: its checksum verifies. One read while a commit writes it,
/// or left half written by a writer that died, does not — kept, it read as a copy the next
/// time that id was committed whole.
fn whole(slot: &[u8]) -> bool {
    let stored = slot[CHECKSUM_AT..SLOT_BYTES].try_into().map(u128::from_le_bytes);
    stored.is_ok_and(|stored| stored == xxhash_rust::xxh3::xxh3_128(&slot[..CHECKSUM_AT]))
}

/// Whether the file at `path` is marked for a repair (a writer was killed, or is writing now):
/// the header's god byte, recovery flag.
pub(super) fn needs_a_repair(path: &Path) -> bool {
    let mut header = [0u8; HEADER_BYTES];
    let read = std::fs::File::open(path).and_then(|file| file.read_exact_at(&mut header, 0));
    read.is_ok() && header.starts_with(MAGIC) && header[MAGIC.len()] & RECOVERY_REQUIRED != 0
}

/// The god byte's flag of a file to be repaired.
const RECOVERY_REQUIRED: u8 = 2;

/// The newest commit a header records: its transaction id and the bytes of its slot(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CommitMark {
    transaction: u64,
    slots: Vec<u8>,
}

impl CommitMark {
    /// Read from `header` (the file's first [`HEADER_BYTES`]); `None` for anything that is not
    /// a redb header (judged elsewhere).
    fn of_header(header: &[u8]) -> Option<Self> {
        if header.len() < HEADER_BYTES || !header.starts_with(MAGIC) {
            return None;
        }
        let slot = |at: usize| &header[at..at + SLOT_BYTES];
        let id = |at: usize| {
            u64::from_le_bytes(
                slot(at)[TRANSACTION_ID_AT..TRANSACTION_ID_AT + 8].try_into().unwrap_or_default(),
            )
        };
        let whole_slots: Vec<usize> = SLOTS.into_iter().filter(|at| whole(slot(*at))).collect();
        let transaction = whole_slots.iter().map(|at| id(*at)).max()?;
        let slots = whole_slots
            .iter()
            .filter(|at| id(**at) == transaction)
            .flat_map(|at| slot(*at).to_vec())
            .collect();
        Some(Self { transaction, slots })
    }

    fn of_file(path: &Path) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        let mut header = [0u8; HEADER_BYTES];
        file.read_exact_at(&mut header, 0).ok()?;
        Self::of_header(&header)
    }
}

/// The last commit seen in the file, looked at again before each use of the file that matters.
#[derive(Debug, Default)]
pub(super) struct LastCommitSeen(Mutex<Option<CommitMark>>);

/// How often a commit with the same id and other bytes is read again before the file is taken
/// for one copied in: a header read while a commit writes it may be half the one and half the
/// other.
const LOOKS: u32 = 3;
const BETWEEN_LOOKS: Duration = Duration::from_millis(20);

impl LastCommitSeen {
    pub(super) fn at_open(path: &Path) -> Self {
        Self(Mutex::new(CommitMark::steady(path)))
    }

    /// Notes the commit just made by this process: the id redb serves from now on.
    pub(super) fn committed(&self, path: &Path) {
        if let Some(now) = CommitMark::steady(path) {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        }
    }

    /// Whether the file at `path` now holds another file's commit under the id of the one seen
    /// last, or an older commit than that one: copied over in place. Otherwise a new commit read the same twice is the one seen
    /// from now on (a header read while another process's commit writes it is never kept, or
    /// the commit's whole header would read as a copy the next time).
    pub(super) fn copied_over(&self, path: &Path) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for look in 0..LOOKS {
            let now = CommitMark::of_file(path);
            match (&*seen, now) {
                (Some(before), Some(now)) if before.transaction == now.transaction && *before != now => {
                    if look + 1 == LOOKS {
                        return true;
                    }
                    std::thread::sleep(BETWEEN_LOOKS);
                }
                (Some(before), Some(now)) if *before == now => return false,
                // An older commit than one already seen: ids only move forward, so the file holds
                // an older copy of itself (a backup put back with `cp`). redb reloads it, and a
                // save went into the backup said "saved" (bb97 F1); as a file replaced.
                (Some(before), Some(now)) if now.transaction < before.transaction => {
                    return CommitMark::of_file(path).as_ref() == Some(&now);
                }
                (_, Some(now)) => {
                    if CommitMark::of_file(path).as_ref() == Some(&now) {
                        *seen = Some(now);
                    }
                    return false;
                }
                (_, None) => return false,
            }
        }
        false
    }
}

impl CommitMark {
    /// The newest commit, read the same twice (`None` while a commit is being written).
    fn steady(path: &Path) -> Option<Self> {
        let first = Self::of_file(path)?;
        (Self::of_file(path).as_ref() == Some(&first)).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ids: [u64; 2], root_byte: u8) -> Vec<u8> {
        let mut header = vec![0u8; HEADER_BYTES];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        for (at, id) in SLOTS.iter().zip(ids) {
            header[at + TRANSACTION_ID_AT..at + TRANSACTION_ID_AT + 8].copy_from_slice(&id.to_le_bytes());
            header[at + 8] = root_byte;
            let checksum = xxhash_rust::xxh3::xxh3_128(&header[*at..at + CHECKSUM_AT]);
            header[at + CHECKSUM_AT..at + SLOT_BYTES].copy_from_slice(&checksum.to_le_bytes());
        }
        header
    }

    #[test]
    fn the_newest_slot_names_the_commit_and_its_bytes_tell_two_files_apart() {
        let mark = CommitMark::of_header(&header([7, 6], 1)).expect("a header");
        assert_eq!(mark.transaction, 7);
        assert_eq!(CommitMark::of_header(&header([6, 7], 1)).unwrap().transaction, 7);
        assert_ne!(mark, CommitMark::of_header(&header([7, 6], 2)).unwrap(), "another root, the same id");
        assert_eq!(CommitMark::of_header(b"not redb"), None);
        // A slot whose checksum does not verify (half written) is not the newest commit.
        let mut torn = header([7, 6], 1);
        torn[64 + 9] ^= 0xff;
        assert_eq!(CommitMark::of_header(&torn).unwrap().transaction, 6);
    }

    #[test]
    fn a_file_copied_over_with_the_same_id_is_told_and_a_later_commit_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.redb");
        std::fs::write(&path, header([7, 6], 1)).unwrap();
        let seen = LastCommitSeen::at_open(&path);
        assert!(!seen.copied_over(&path), "nothing changed");
        // Another process's commit: a new id.
        std::fs::write(&path, header([7, 8], 3)).unwrap();
        assert!(!seen.copied_over(&path));
        // Another file's commit under the same id: copied in.
        std::fs::write(&path, header([7, 8], 4)).unwrap();
        assert!(seen.copied_over(&path));
        // An older commit than the one seen: a backup put back.
        let seen = LastCommitSeen::at_open(&path);
        std::fs::write(&path, header([7, 6], 1)).unwrap();
        assert!(seen.copied_over(&path));
    }
}
