//! The merge of sorted runs: each run read through a buffer of its own and the least key of
//! their next entries taken in turn, on whichever thread [`MergeReady::start`] is called.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::{Entry, HEADER, Spill, WRITE_SIZE, decode, encode_into, starts_with_whole_entry};

/// Entries in key order handed from the thread that merges them to the one that stores them,
/// encoded one after another in one allocation (an allocation per entry, made on one thread
/// and freed on the other, is what glibc's arenas are slowest at).
#[derive(Default)]
pub struct EntryBatch {
    bytes: Vec<u8>,
}

impl EntryBatch {
    pub fn push(&mut self, entry: &Entry) -> io::Result<()> {
        encode_into(&mut self.bytes, &entry.key, &entry.value, &entry.note)
    }

    /// The bytes the entries take.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Each entry as (key, value, note), in the order pushed.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8], &[u8])> {
        let mut rest = self.bytes.as_slice();
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (key, value, note, length) = decode(rest);
            rest = &rest[length..];
            Some((key, value, note))
        })
    }
}

/// What a merge may hold of whole entries: each run's next entry, buffered and copied into
/// the heap. With entries of a MiB (documents near the limit) 100 runs held 200 MB, and a
/// bulk load merges three tables at once (bb22 L02): runs are first merged in groups into
/// longer ones until their large entries fit. Entries of a few KiB never come near it.
pub(super) const MERGE_MEMORY: usize = 4 * 1024 * 1024;

/// An entry this long counts as large: at most as many runs as there are large entries can
/// hold one at their head at once (one 800 KB document among a million users must not make
/// the whole table go through the file again).
pub(super) const LARGE_ENTRY: usize = 64 * 1024;

/// What the heads of the merge of `runs` may hold at once: `large` entries of up to
/// `largest` bytes, each buffered and copied.
fn heads_bytes(runs: usize, large: usize, largest: usize) -> usize {
    runs.min(large).saturating_mul(2 * largest)
}

/// `runs` merged in groups, pass after pass, into runs appended to the spill file, until
/// their large entries (`large` of them, of at most `largest` bytes) fit in [`MERGE_MEMORY`].
fn fewer_runs(
    spill: &mut Spill,
    mut runs: Vec<(u64, u64)>,
    large: usize,
    largest: usize,
) -> io::Result<Vec<(u64, u64)>> {
    let fan_in = (MERGE_MEMORY / (2 * largest.max(1))).max(2);
    while heads_bytes(runs.len(), large, largest) > MERGE_MEMORY && runs.len() > fan_in {
        let mut longer = Vec::with_capacity(runs.len() / fan_in + 1);
        for group in runs.chunks(fan_in) {
            longer.push(match group {
                [one] => *one,
                _ => merge_into_a_run(spill, group)?,
            });
        }
        runs = longer;
    }
    Ok(runs)
}

/// The entries of `group` merged and written after everything in the spill file, as one run.
fn merge_into_a_run(spill: &mut Spill, group: &[(u64, u64)]) -> io::Result<(u64, u64)> {
    let ready = MergeReady(Ready::Runs { file: spill.file.try_clone()?, runs: group.to_vec() });
    let mut merged = ready.start()?;
    let start = spill.length;
    let mut buffer = Vec::with_capacity(WRITE_SIZE);
    while let Some(entry) = merged.next_entry()? {
        encode_into(&mut buffer, &entry.key, &entry.value, &entry.note)?;
        if buffer.len() >= WRITE_SIZE {
            spill.file.write_all_at(&buffer, spill.length)?;
            spill.length += buffer.len() as u64;
            buffer.clear();
        }
    }
    spill.file.write_all_at(&buffer, spill.length)?;
    spill.length += buffer.len() as u64;
    // The group's runs are in the new one: their room goes back to the file system (each
    // pass appended a copy of the table, and 400 MB of documents spilled 3.2 GB: bb23 L04).
    // Where holes cannot be punched the room stays taken until the file goes.
    for &(from, to) in group {
        let flags = rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE;
        let _ = rustix::fs::fallocate(&spill.file, flags, from, to - from);
    }
    Ok((start, spill.length))
}

/// The deferred entries of one table, ready to be merged wherever [`MergeReady::start`] is
/// called (it may be sent to another thread).
pub struct MergeReady(Ready);

enum Ready {
    Memory { arena: Vec<u8>, starts: Vec<u32> },
    Runs { file: File, runs: Vec<(u64, u64)> },
}

impl MergeReady {
    /// Entries that all fit in memory: sorted when the merge starts.
    pub(super) fn in_memory(arena: Vec<u8>, starts: Vec<u32>) -> Self {
        Self(Ready::Memory { arena, starts })
    }

    /// Runs in the spill file, holding `large` entries of at most `largest` bytes: merged in
    /// groups first when those would not fit in [`MERGE_MEMORY`] at the merge's heads.
    pub(super) fn spilled(
        spill: &mut Spill,
        runs: Vec<(u64, u64)>,
        large: usize,
        largest: usize,
    ) -> io::Result<Self> {
        let runs = fewer_runs(spill, runs, large, largest)?;
        Ok(Self(Ready::Runs { file: spill.file.try_clone()?, runs }))
    }

    /// How many runs the merge reads at once.
    #[cfg(test)]
    pub(super) fn runs_at_once(&self) -> usize {
        match &self.0 {
            Ready::Memory { .. } => 1,
            Ready::Runs { runs, .. } => runs.len(),
        }
    }

    /// The merge begun: the entries sorted when they are in memory, else a read buffer per run
    /// and the first entry of each read.
    pub fn start(self) -> io::Result<Merged> {
        let (file, runs) = match self.0 {
            Ready::Memory { arena, mut starts } => {
                let key_at = |start: u32| decode(&arena[start as usize..]).0;
                starts.sort_by(|a, b| key_at(*a).cmp(key_at(*b)));
                return Ok(Merged(Source::Memory { arena, starts: starts.into_iter() }));
            }
            Ready::Runs { file, runs } => (file, runs),
        };
        // The read buffer of each run: many runs share the memory a single one would have.
        let buffer = (4 * 1024 * 1024 / runs.len()).clamp(16 * 1024, 256 * 1024);
        let mut readers: Vec<RunReader> =
            runs.iter().map(|&(start, end)| RunReader::new(start, end, buffer)).collect();
        let mut heap = BinaryHeap::new();
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some(entry) = reader.next(&file)? {
                heap.push(Head { entry, run });
            }
        }
        Ok(Merged(Source::Runs { file, readers, heap }))
    }
}

/// The entries of [`Runs`] in key order (of equal keys, in arrival order), pulled one at a time.
pub struct Merged(Source);

enum Source {
    /// Nothing was spilled: the arena, and its entries' starts in key order.
    Memory { arena: Vec<u8>, starts: std::vec::IntoIter<u32> },
    /// The spilled runs, each read through a buffer, and the next entry of each in a heap.
    Runs { file: File, readers: Vec<RunReader>, heap: BinaryHeap<Head> },
}

impl Merged {
    /// The next entry in key order; `None` after the last.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        match &mut self.0 {
            Source::Memory { arena, starts } => Ok(starts.next().map(|start| {
                let (key, value, note, _) = decode(&arena[start as usize..]);
                Entry { key: key.to_vec(), value: value.to_vec(), note: note.to_vec() }
            })),
            Source::Runs { file, readers, heap } => {
                let Some(Head { entry, run }) = heap.pop() else { return Ok(None) };
                if let Some(next) = readers[run].next(file)? {
                    heap.push(Head { entry: next, run });
                }
                Ok(Some(entry))
            }
        }
    }
}

/// The next entry of one run, in the merge's heap (the least key first; of equal keys, the
/// earlier run, which arrived first).
struct Head {
    entry: Entry,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` pops the greatest.
        (other.entry.key.as_slice(), other.run).cmp(&(self.entry.key.as_slice(), self.run))
    }
}

/// Reads one run of the spill file through a buffer of its own.
struct RunReader {
    next: u64,
    end: u64,
    buffer: Vec<u8>,
    at: usize,
    capacity: usize,
}

impl RunReader {
    fn new(start: u64, end: u64, capacity: usize) -> Self {
        Self { next: start, end, buffer: Vec::new(), at: 0, capacity }
    }

    fn next(&mut self, file: &File) -> io::Result<Option<Entry>> {
        if !self.holds_an_entry() && !self.refill(file)? {
            return Ok(None);
        }
        let (key, value, note, length) = decode(&self.buffer[self.at..]);
        let entry = Entry { key: key.to_vec(), value: value.to_vec(), note: note.to_vec() };
        self.at += length;
        Ok(Some(entry))
    }

    /// Whether a whole entry is buffered from `at` on.
    fn holds_an_entry(&self) -> bool {
        starts_with_whole_entry(&self.buffer[self.at..])
    }

    /// Keeps the unread part and reads on until a whole entry is buffered; false at the end.
    fn refill(&mut self, file: &File) -> io::Result<bool> {
        self.buffer.drain(..self.at);
        self.at = 0;
        loop {
            let have = self.buffer.len();
            if starts_with_whole_entry(&self.buffer) {
                return Ok(true);
            }
            let left = self.end - self.next;
            if left == 0 {
                return if have == 0 {
                    Ok(false)
                } else {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a spilled run ends inside an entry"))
                };
            }
            let wanted = (self.capacity.max(HEADER)).min(usize::try_from(left).unwrap_or(usize::MAX));
            self.buffer.resize(have + wanted, 0);
            file.read_exact_at(&mut self.buffer[have..], self.next)?;
            self.next += wanted as u64;
        }
    }
}
