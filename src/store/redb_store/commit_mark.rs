//! The file's last commit as its header records it, to tell a file overwritten in place from one
//! that another process wrote. redb (in its multi-process mode) reloads what it holds of the file
//! when the header's transaction id moves; a backup copied over the file (`cp`, same inode) with
//! the same id left it serving pages cached from before, and the next save wrote its own view
//! over the copy: users listed twice, others gone, a file no compaction takes (bb94 F1). A commit
//! always gives a new id, so the same id with other bytes is a file copied in.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

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

/// The file's first [`HEADER_BYTES`], when it has them and they begin as redb's header.
fn header_of(path: &Path) -> Option<[u8; HEADER_BYTES]> {
    let mut header = [0u8; HEADER_BYTES];
    std::fs::File::open(path).and_then(|file| file.read_exact_at(&mut header, 0)).ok()?;
    header.starts_with(MAGIC).then_some(header)
}

/// Whether the file at `path` is marked for a repair (a writer was killed, or is writing now):
/// the header's god byte, recovery flag.
pub(super) fn needs_a_repair(path: &Path) -> bool {
    header_of(path).is_some_and(|header| header[MAGIC.len()] & RECOVERY_REQUIRED != 0)
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
        Self::of_header(&header_of(path)?)
    }
}

/// The last commit seen in the file, looked at again before each use of the file that matters.
#[derive(Debug, Default)]
pub(super) struct LastCommitSeen(Mutex<Option<CommitMark>>);

impl LastCommitSeen {
    pub(super) fn at_open(path: &Path) -> Self {
        Self(Mutex::new(CommitMark::of_file(path)))
    }

    /// Notes the commit just made by this process: the id redb serves from now on.
    pub(super) fn committed(&self, path: &Path) {
        if let Some(now) = CommitMark::of_file(path) {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        }
    }

    /// Whether the file at `path` now holds another file's commit under the id of the one seen
    /// last, or an older commit than that one: copied over in place. Otherwise its newest commit
    /// is the one seen from now on. One read is enough: only a whole slot counts, and a commit
    /// writes the older slot, never the newest, so a read made while it writes finds the newest
    /// as it was.
    pub(super) fn copied_over(&self, path: &Path) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(now) = CommitMark::of_file(path) else { return false };
        match &*seen {
            // Ids only move forward: an older commit is an older copy of the file (a backup put
            // back with `cp`), which redb reloads, and a save went into it said "saved" (bb97 F1).
            Some(before) if now.transaction < before.transaction => true,
            Some(before) if now.transaction == before.transaction => *before != now,
            _ => {
                *seen = Some(now);
                false
            }
        }
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
