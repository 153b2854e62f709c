//! The users a batch names one by one (`patch --users FILE`): each id once, in id order, in
//! memory while they are few and in an unnamed temporary file past that, so a file naming a
//! million users holds a few MiB, not the 179 MB a set and a list of them took (bb35 #5).
//! Id order is also the order both stores edit in fastest.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sorted_runs::{Runs, Spill};

/// User ids, each once, in id order.
#[derive(Debug, Clone)]
pub struct UserIds {
    held: Held,
    count: u64,
}

#[derive(Debug, Clone)]
enum Held {
    Memory(Vec<String>),
    /// Each id as `[length u32 LE][bytes]`, shared by the clones of one list.
    File(Arc<File>),
}

/// How many ids are kept in memory; more go to a file.
const IN_MEMORY: usize = 65_536;

/// The longest id read back from the file: ids are references a line of at most 4 KiB named,
/// so a longer length is a damaged file, not an id.
const MAX_ID_BYTES: usize = 64 * 1024;

/// What the sorted runs of ids being gathered hold in memory before one is spilled.
const RUNS_BUDGET: usize = 2 * 1024 * 1024;

impl UserIds {
    /// How many users: each counted once.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Hands each id to `each`, in id order, until it returns an error; `failed` says what a
    /// read of the file that holds them failed with.
    pub fn for_each<E>(
        &self,
        failed: impl Fn(io::Error) -> E,
        each: &mut dyn FnMut(&str) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.held {
            Held::Memory(ids) => ids.iter().try_for_each(|id| each(id)),
            Held::File(file) => {
                let mut reader = BufReader::with_capacity(64 * 1024, FileFrom { file, at: 0 });
                let mut id = Vec::new();
                while !reader.fill_buf().map_err(&failed)?.is_empty() {
                    let mut length = [0u8; 4];
                    reader.read_exact(&mut length).map_err(&failed)?;
                    let length = u32::from_le_bytes(length) as usize;
                    if length > MAX_ID_BYTES {
                        return Err(failed(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "an id longer than 64 KiB",
                        )));
                    }
                    id.resize(length, 0);
                    reader.read_exact(&mut id).map_err(&failed)?;
                    let text = std::str::from_utf8(&id).map_err(|e| failed(io::Error::other(e)))?;
                    each(text)?;
                }
                Ok(())
            }
        }
    }

    /// The ids `chunk` long at a time (the last chunk shorter), in id order.
    pub fn for_each_chunk<E>(
        &self,
        chunk: usize,
        failed: impl Fn(io::Error) -> E,
        each: &mut dyn FnMut(&[String]) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Held::Memory(ids) = &self.held {
            return ids.chunks(chunk.max(1)).try_for_each(each);
        }
        let mut ids = Vec::with_capacity(chunk.min(self.count as usize));
        self.for_each(failed, &mut |id| {
            ids.push(id.to_owned());
            if ids.len() == chunk {
                each(&ids)?;
                ids.clear();
            }
            Ok(())
        })?;
        if ids.is_empty() { Ok(()) } else { each(&ids) }
    }
}

/// Lists in memory are equal when they hold the same ids; a list in a file only equals
/// itself and its clones (reading two files to compare them would cost what keeping them in
/// files saves).
impl PartialEq for UserIds {
    fn eq(&self, other: &Self) -> bool {
        match (&self.held, &other.held) {
            (Held::Memory(mine), Held::Memory(theirs)) => mine == theirs,
            (Held::File(mine), Held::File(theirs)) => Arc::ptr_eq(mine, theirs),
            _ => false,
        }
    }
}

impl Eq for UserIds {}

/// A list given whole (a page of the screen, a test): sorted and each kept once.
impl From<Vec<String>> for UserIds {
    fn from(mut ids: Vec<String>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Self { count: ids.len() as u64, held: Held::Memory(ids) }
    }
}

/// Ids gathered one at a time in any order, repeats included: in memory while they are few,
/// then in sorted runs spilled to an unnamed temporary file beside `dir` (or in `$TMPDIR`)
/// past a few MiB. Where no such file can be made or first written (`dir` and `$TMPDIR` both
/// read-only) they stay in memory: a long list then costs memory, not a refusal. A file that
/// fails later (a disk that fills) is an error of [`UserIdsGathered::add`] or `finish`.
pub struct UserIdsGathered {
    dir: PathBuf,
    gathered: Gathered,
    /// How many ids are held in memory before they go to a file.
    in_memory: usize,
    /// A file was wanted and none could be made or written.
    for_want_of_a_file: bool,
}

enum Gathered {
    Memory(Vec<String>),
    Runs { runs: Runs, spill: Spill },
}

impl UserIdsGathered {
    pub fn new(dir: &Path) -> Self {
        Self::with_memory_limit(dir, IN_MEMORY)
    }

    /// [`UserIdsGathered::new`] holding at most `in_memory` ids in memory (tests take a few
    /// through the file).
    #[doc(hidden)]
    pub fn with_memory_limit(dir: &Path, in_memory: usize) -> Self {
        Self {
            dir: dir.to_owned(),
            gathered: Gathered::Memory(Vec::new()),
            in_memory,
            for_want_of_a_file: false,
        }
    }

    /// Adds an id; an error is the temporary file's (a full disk).
    pub fn add(&mut self, id: &str) -> io::Result<()> {
        match &mut self.gathered {
            Gathered::Memory(ids) => {
                ids.push(id.to_owned());
                // Once: a list that stays in memory does not try for a file at every id.
                if ids.len() == self.in_memory + 1 {
                    self.move_to_runs();
                }
                Ok(())
            }
            Gathered::Runs { runs, spill } => runs.defer(spill, id.as_bytes(), b"", b""),
        }
    }

    /// Moves the ids held in memory into sorted runs, when a file for them can be made and
    /// written; else they stay where they are, every one of them.
    fn move_to_runs(&mut self) {
        let Gathered::Memory(ids) = &self.gathered else { return };
        let moved = spill_for_ids(&self.dir).and_then(|mut spill| {
            let mut runs = Runs::new(RUNS_BUDGET);
            for id in ids {
                runs.defer(&mut spill, id.as_bytes(), b"", b"")?;
            }
            Ok((runs, spill))
        });
        match moved {
            Ok((runs, spill)) => self.gathered = Gathered::Runs { runs, spill },
            Err(error) => {
                held_in_memory(&error);
                self.for_want_of_a_file = true;
            }
        }
    }

    /// The ids gathered, each once, in id order, and whether more than memory is meant for
    /// are held there for want of a temporary file (no room beside the database nor in
    /// `$TMPDIR`: slower and larger, so the command says it).
    pub fn finish(self) -> io::Result<(UserIds, bool)> {
        let (runs, mut spill) = match self.gathered {
            Gathered::Memory(ids) => return Ok((UserIds::from(ids), self.for_want_of_a_file)),
            Gathered::Runs { runs, spill } => (runs, spill),
        };
        let mut merged = runs.into_merged(&mut spill)?;
        // More were given than memory is meant for: they go to a file, unless none is made.
        let mut file = match file_for_ids(spill.dir()) {
            Ok(made) => Some(io::BufWriter::with_capacity(64 * 1024, made)),
            Err(error) => {
                held_in_memory(&error);
                None
            }
        };
        let for_want_of_a_file = file.is_none();
        let (mut memory, mut count) = (Vec::new(), 0u64);
        let mut last: Option<Vec<u8>> = None;
        while let Some(entry) = merged.next_entry()? {
            if last.as_deref() == Some(entry.key.as_slice()) {
                continue;
            }
            count += 1;
            let id = std::str::from_utf8(&entry.key).map_err(io::Error::other)?;
            match &mut file {
                Some(writer) => write_id(writer, id)?,
                None => memory.push(id.to_owned()),
            }
            last = Some(entry.key);
        }
        let held = match file {
            Some(writer) => {
                Held::File(Arc::new(writer.into_inner().map_err(io::IntoInnerError::into_error)?))
            }
            None => Held::Memory(memory),
        };
        Ok((UserIds { held, count }, for_want_of_a_file))
    }
}

fn held_in_memory(error: &io::Error) {
    tracing::warn!(%error, "no temporary file for the named users: they are held in memory");
}

/// What a batch says when the file that holds its named users cannot be read back.
pub(crate) fn ids_unread(error: io::Error) -> super::StoreError {
    super::StoreError::Io { context: "cannot read back the users named for this batch".into(), error }
}

/// The sorted runs' spill file for ids gathered in `dir`. In tests, as
/// [`tests::TEMPORARY_FILES`] says: refused (as a read-only directory and `$TMPDIR` would
/// refuse one: root writes them all), or made but failing its writes (a full disk).
fn spill_for_ids(dir: &Path) -> io::Result<Spill> {
    #[cfg(test)]
    match tests::TEMPORARY_FILES.get() {
        tests::TemporaryFiles::Made => {}
        tests::TemporaryFiles::Refused => return Err(io::Error::from(io::ErrorKind::ReadOnlyFilesystem)),
        tests::TemporaryFiles::Unwritable => return Spill::with_unwritable_runs(dir),
    }
    // Where there is room for a few million ids (two files of ~20 bytes an id), beside the
    // database first: a spill file made on a full disk failed at its first run, and refused the
    // list though $TMPDIR had room (bb37 #2).
    let mut dirs = vec![dir.to_owned(), crate::sorted_runs::system_temp_dir()];
    // One look where the caller had no directory but $TMPDIR's.
    dirs.dedup();
    dirs.iter().find_map(|dir| Spill::with_room(dir, ROOM_FOR_IDS)).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::StorageFull,
            "no room for a temporary file beside the database nor in $TMPDIR",
        )
    })
}

/// The room a temporary file of ids is made in only when it has twice over.
const ROOM_FOR_IDS: u64 = 64 * 1024 * 1024;

/// The file the merged ids go to ([`spill_for_ids`] for tests).
fn file_for_ids(dir: &Path) -> io::Result<File> {
    #[cfg(test)]
    if tests::TEMPORARY_FILES.get() != tests::TemporaryFiles::Made {
        return Err(io::Error::from(io::ErrorKind::ReadOnlyFilesystem));
    }
    Spill::unnamed_file_beside_or_in_tmpdir(dir, ROOM_FOR_IDS)
}

fn write_id(writer: &mut impl Write, id: &str) -> io::Result<()> {
    let length = u32::try_from(id.len()).map_err(io::Error::other)?;
    writer.write_all(&length.to_le_bytes())?;
    writer.write_all(id.as_bytes())
}

/// A file read from `at` on with `pread`, so the clones of one list each read from the start.
struct FileFrom<'a> {
    file: &'a File,
    at: u64,
}

impl Read for FileFrom<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(ids: &UserIds) -> Vec<String> {
        let mut all = Vec::new();
        ids.for_each(|e| e, &mut |id| {
            all.push(id.to_owned());
            Ok(())
        })
        .expect("read");
        all
    }

    #[test]
    fn a_few_ids_are_sorted_and_kept_once_in_memory() {
        let mut gathered = UserIdsGathered::new(&std::env::temp_dir());
        for id in ["u3", "u1", "u3", "u2", "u1"] {
            gathered.add(id).expect("add");
        }
        let (ids, for_want_of_a_file) = gathered.finish().expect("finish");
        assert!(matches!(ids.held, Held::Memory(_)));
        assert!(!for_want_of_a_file, "few ids are meant for memory");
        assert_eq!(ids.len(), 3);
        assert_eq!(listed(&ids), ["u1", "u2", "u3"]);
        assert_eq!(ids, UserIds::from(vec!["u2".to_owned(), "u3".into(), "u1".into()]));
    }

    #[test]
    fn many_ids_go_to_a_file_and_come_back_once_each_in_order_and_in_chunks() {
        let dir = tempfile::tempdir().expect("dir");
        let mut gathered = UserIdsGathered::new(dir.path());
        // Enough to spill several runs (2 MiB each) and to pass the in-memory limit, each
        // named twice, the second time in the reverse order.
        let total = 200_000u32;
        let id = |n: u32| format!("user-{:08}", n.wrapping_mul(2_654_435_761) % 1_000_000_007);
        for n in (0..total).chain((0..total).rev()) {
            gathered.add(&id(n)).expect("add");
        }
        let (ids, for_want_of_a_file) = gathered.finish().expect("finish");
        assert!(matches!(ids.held, Held::File(_)));
        assert!(!for_want_of_a_file);
        assert_eq!(ids.len(), u64::from(total));
        let all = listed(&ids);
        let mut expected: Vec<String> = (0..total).map(id).collect();
        expected.sort();
        expected.dedup();
        assert_eq!(all, expected);
        // A clone reads from the start, and chunks cover every id once.
        let mut chunked = Vec::new();
        ids.clone()
            .for_each_chunk(7_000, |e| e, &mut |chunk| {
                assert!(chunk.len() <= 7_000);
                chunked.extend_from_slice(chunk);
                Ok(())
            })
            .expect("chunks");
        assert_eq!(chunked, expected);
        // Nothing named in the directory: the files are unnamed.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    /// What the temporary files of ids gathered on this thread do.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum TemporaryFiles {
        Made,
        Refused,
        Unwritable,
    }

    thread_local! {
        pub(super) static TEMPORARY_FILES: std::cell::Cell<TemporaryFiles> =
            const { std::cell::Cell::new(TemporaryFiles::Made) };
    }

    #[test]
    fn a_spill_file_that_fails_while_the_ids_move_out_of_memory_keeps_every_one_of_them() {
        // The first run is written when the second is handed over: ids of 100 bytes pass the
        // runs' 2 MiB budget twice over before the memory limit (a failed move dropped every
        // id held so far, and the batch went over the rest: the review of stop 50).
        TEMPORARY_FILES.set(TemporaryFiles::Unwritable);
        let dir = tempfile::tempdir().expect("dir");
        let mut gathered = UserIdsGathered::with_memory_limit(dir.path(), 60_000);
        let id = |n: u32| format!("{n:0100}");
        for n in 0..60_010 {
            gathered.add(&id(n)).expect("add");
        }
        TEMPORARY_FILES.set(TemporaryFiles::Made);
        assert!(matches!(gathered.gathered, Gathered::Memory(_)), "the move failed: the ids stay in memory");
        let (ids, _) = gathered.finish().expect("finish");
        assert_eq!(ids.len(), 60_010);
        assert_eq!(listed(&ids), (0..60_010).map(id).collect::<Vec<_>>());
    }

    #[test]
    fn where_no_temporary_file_can_be_made_many_ids_are_held_in_memory_the_same() {
        TEMPORARY_FILES.set(TemporaryFiles::Refused);
        let mut gathered = UserIdsGathered::new(std::path::Path::new("/nonexistent"));
        let total = (IN_MEMORY as u32) * 2;
        for n in (0..total).rev().chain(0..10) {
            gathered.add(&format!("u{n:07}")).expect("add");
        }
        let (ids, for_want_of_a_file) = gathered.finish().expect("finish");
        TEMPORARY_FILES.set(TemporaryFiles::Made);
        assert!(matches!(ids.held, Held::Memory(_)));
        assert!(for_want_of_a_file, "said, for the command to tell");
        assert_eq!(ids.len(), u64::from(total));
        let expected: Vec<String> = (0..total).map(|n| format!("u{n:07}")).collect();
        assert_eq!(listed(&ids), expected);
        // Runs made, and then the file of the merged ids refused: in memory too.
        let dir = tempfile::tempdir().expect("dir");
        let mut gathered = UserIdsGathered::new(dir.path());
        for n in (0..total).rev() {
            gathered.add(&format!("u{n:07}")).expect("add");
        }
        assert!(matches!(gathered.gathered, Gathered::Runs { .. }));
        TEMPORARY_FILES.set(TemporaryFiles::Refused);
        let (ids, _) = gathered.finish().expect("finish");
        TEMPORARY_FILES.set(TemporaryFiles::Made);
        assert!(matches!(ids.held, Held::Memory(_)));
        assert_eq!(listed(&ids), expected);
    }

    #[test]
    fn an_error_of_the_caller_stops_the_walk() {
        let ids = UserIds::from(vec!["a".to_owned(), "b".into(), "c".into()]);
        let mut seen = Vec::new();
        let stopped = ids.for_each(|_| "io", &mut |id| {
            seen.push(id.to_owned());
            if id == "b" { Err("stop") } else { Ok(()) }
        });
        assert_eq!(stopped, Err("stop"));
        assert_eq!(seen, ["a", "b"]);
    }
}
