//! Sorted runs: entries that do not come in key order are gathered in memory up to a budget,
//! sorted, and spilled to an unnamed temporary file; at the end the runs are merged and handed
//! over in key order.
//!
//! A bulk load feeds its tables this way: a B-tree fed in key order only ever appends to its
//! last leaf (redb packs such leaves full), where the same entries in arrival order touch a
//! random leaf each — evicted, written and read back again and again once the table outgrows
//! the cache. An export sorts its lines into list order this way: the users read in the
//! order they are stored, one pass, instead of a lookup by id for each in list order.
//!
//! Memory: the budget per table plus one read buffer per run while merging. Disk: about the
//! size of what is spilled, in a file that is never linked into the directory (or unlinked at
//! once) and that goes when the work ends, whichever way.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// An entry of a run: key, value, and a note (the record's origin and what an error about it
/// must say) that the table does not store.
pub struct Entry {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub note: Vec<u8>,
}

/// How a table's entries are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The first entries wait in memory to show whether the input comes in this table's key
    /// order (`sorted` so far).
    Probation { sorted: bool },
    /// It did: each entry after every direct one so far goes straight in, the rest wait.
    Direct,
    /// It did not: everything waits, so the merge appends to a table holding nothing yet
    /// (a few keys put in directly would make the merge insert in front of them, and a B-tree
    /// split there leaves every leaf half empty).
    Deferred,
}

/// How many entries decide a table's [`Mode`].
pub const PROBATION: usize = 1024;

/// Puts an entry into its table now: (key, value, note, the key put in before it).
pub type Insert<'a, E> = dyn FnMut(&[u8], &[u8], &[u8], Option<&[u8]>) -> Result<(), E> + 'a;

/// The entries of one table that did not arrive in key order.
pub struct Runs {
    /// Entries encoded as `[key len u32][value len u32][note len u32][key][value][note]`.
    arena: Vec<u8>,
    /// Where each entry of `arena` starts.
    starts: Vec<u32>,
    budget: usize,
    /// (start, end) of each sorted run in the spill file.
    runs: Vec<(u64, u64)>,
    mode: Mode,
    /// The greatest key put in directly.
    last_direct: Option<Vec<u8>>,
    /// The key placed last, either way.
    last_placed: Option<Vec<u8>>,
    /// The longest entry deferred (encoded), and how many were at least
    /// [`merge::LARGE_ENTRY`] long: what the merge's heads may hold.
    largest: usize,
    large: usize,
}

/// The spill file shared by every table's runs: unnamed, private, gone with the process.
pub struct Spill {
    file: File,
    /// Bytes taken by the runs handed over so far (written or being written).
    length: u64,
    /// Where the file was made (for what an error about it says).
    dir: PathBuf,
    /// The thread that sorts and writes runs while the caller fills the next one, when the
    /// caller has a core to spare for it (a bulk load: sorting and writing were a sixth of a
    /// seed on the loading thread); else runs are sorted and written by the caller.
    writer: Option<Box<Writer>>,
}

/// A run to sort and write at `at`: the arena of its entries and where each starts.
struct Job {
    arena: Vec<u8>,
    starts: Vec<u32>,
    at: u64,
}

/// The memory a run is filled in: its entries' arena, and where each starts.
type RunMemory = (Vec<u8>, Vec<u32>);

/// A job done: its memory back (to fill again) and how the write went.
type Done = (Vec<u8>, Vec<u32>, io::Result<()>);

/// The thread that sorts and writes runs, one at a time: a run handed over waits until it is
/// free, so at most one run is written while the next one fills (memory: one run more).
struct Writer {
    jobs: Option<mpsc::SyncSender<Job>>,
    done: mpsc::Receiver<Done>,
    /// Runs handed over and not yet seen done.
    in_flight: usize,
    /// The memory of written runs, to fill again.
    spare: Vec<RunMemory>,
    thread: Option<JoinHandle<()>>,
}

/// Spare run memories kept at most (more would only hold memory nobody fills).
const SPARE: usize = 1;

impl Writer {
    fn start(file: File) -> io::Result<Self> {
        let (jobs, take) = mpsc::sync_channel::<Job>(0);
        let (tell, done) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new().name("custodian-spill".into()).spawn(move || {
            for Job { arena, mut starts, at } in take {
                let written = write_run(&file, &arena, &mut starts, at);
                if tell.send((arena, starts, written)).is_err() {
                    return;
                }
            }
        })?;
        Ok(Self { jobs: Some(jobs), done, in_flight: 0, spare: Vec::new(), thread: Some(thread) })
    }

    fn finished(&mut self, (mut arena, mut starts, written): Done) -> io::Result<()> {
        self.in_flight -= 1;
        if self.spare.len() < SPARE {
            arena.clear();
            starts.clear();
            self.spare.push((arena, starts));
        }
        written
    }

    /// Takes in the runs written since, failing with the first that could not be.
    fn collect(&mut self) -> io::Result<()> {
        while let Ok(done) = self.done.try_recv() {
            self.finished(done)?;
        }
        Ok(())
    }

    /// Waits until every run handed over is written.
    fn settle(&mut self) -> io::Result<()> {
        while self.in_flight > 0 {
            let done = self.done.recv().map_err(|_| stopped())?;
            self.finished(done)?;
        }
        Ok(())
    }
}

fn stopped() -> io::Error {
    io::Error::other("the thread writing the sorted runs stopped")
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Its runs are of no use now: it ends after the one it is writing.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sorts a run's entries (by key, then arrival: a repeat comes after its first) and writes
/// them at `at`, in writes of about a megabyte.
fn write_run(file: &File, arena: &[u8], starts: &mut [u32], at: u64) -> io::Result<()> {
    let key_at = |start: u32| decode(&arena[start as usize..]).0;
    // Arrival order is start order: a stable sort keeps repeats in it.
    starts.sort_by(|a, b| key_at(*a).cmp(key_at(*b)));
    let mut buffer = Vec::with_capacity(WRITE_SIZE);
    let mut at = at;
    for &start in starts.iter() {
        let (.., length) = decode(&arena[start as usize..]);
        buffer.extend_from_slice(&arena[start as usize..start as usize + length]);
        if buffer.len() >= WRITE_SIZE {
            file.write_all_at(&buffer, at)?;
            at += buffer.len() as u64;
            buffer.clear();
        }
    }
    file.write_all_at(&buffer, at)
}

/// About how many bytes of a run go to the file in one write.
const WRITE_SIZE: usize = 1024 * 1024;

/// `$TMPDIR`, else `/tmp`: `TMPDIR=` (set, empty) is no directory.
pub(crate) fn system_temp_dir() -> PathBuf {
    Some(std::env::temp_dir()).filter(|t| !t.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("/tmp"))
}

impl Spill {
    /// An unnamed file in `dir` (the database's directory: the space an import needs is
    /// there; `/tmp` may be memory). Created with `O_TMPFILE`, or created and unlinked at
    /// once where the file system has no such thing; readable by the owner only.
    pub fn new(dir: &Path) -> io::Result<Self> {
        Ok(Self { file: Self::unnamed_file(dir)?, length: 0, dir: dir.to_path_buf(), writer: None })
    }

    /// [`Spill::new`] when `dir`'s file system has room for twice `bytes` (what is spilled, and
    /// the database's next writes beside it: work that only reads must not fill the disk a
    /// database saves to, and a file made on a full one fails at its first run); `None` when
    /// it has not, or takes no file.
    pub fn with_room(dir: &Path, bytes: u64) -> Option<Self> {
        let space = rustix::fs::statvfs(dir).ok()?;
        let free = space.f_bavail.saturating_mul(space.f_frsize);
        if free / 2 < bytes {
            tracing::info!(dir = %dir.display(), free, bytes, "no room to spill here");
            return None;
        }
        Self::new(dir).map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "no spill file")).ok()
    }

    /// [`Spill::new`], else in the system's temporary directory (`$TMPDIR`): for an import,
    /// which cannot do without one, of a database in a directory its operator may not write,
    /// as a service's often is (it refused even a two-user import: bb22 L04).
    pub fn beside_or_in_tmpdir(dir: &Path) -> io::Result<Self> {
        let (file, dir) = Self::unnamed_file_in_either(dir, &system_temp_dir())?;
        Ok(Self { file, length: 0, dir, writer: None })
    }

    /// [`Spill::beside_or_in_tmpdir`], its runs sorted and written by a thread of its own: a
    /// run more in memory (the one being written while the next fills).
    pub fn with_writer_thread(dir: &Path) -> io::Result<Self> {
        let mut spill = Self::beside_or_in_tmpdir(dir)?;
        spill.writer = Some(Box::new(Writer::start(spill.file.try_clone()?)?));
        Ok(spill)
    }

    /// An unnamed file (0600) in `dir`, else in the system's temporary directory, as
    /// [`Spill::beside_or_in_tmpdir`] makes one: for a copy of an import's input.
    /// Where `dir`'s file system has no room for `bytes`, the temporary directory is tried
    /// first when it has: a few records piped into a database on a full disk were refused for
    /// want of room to hold them (bb42 F2).
    pub fn unnamed_file_beside_or_in_tmpdir(dir: &Path, bytes: u64) -> io::Result<File> {
        let temp = system_temp_dir();
        let room = |dir: &Path| {
            rustix::fs::statvfs(dir).is_ok_and(|space| space.f_bavail.saturating_mul(space.f_frsize) >= bytes)
        };
        let safe = crate::location::shared_dir_problem(&temp).is_none();
        let (first, then) =
            if !room(dir) && safe && room(&temp) { (temp.as_path(), dir) } else { (dir, temp.as_path()) };
        Self::unnamed_file_in_either(first, then).map(|(file, _)| file)
    }

    /// The file in `dir`, else in `fallback` (the temporary directory), else in `/tmp`, and
    /// where it was made; when none takes one, an error naming each and what to do. A
    /// temporary directory others can change is passed over (a `$TMPDIR` of another
    /// account's took an import's records without a word: bb52 F6, bb54 F1); `dir`, the
    /// database's own, is the operator's choice.
    fn unnamed_file_in_either(dir: &Path, fallback: &Path) -> io::Result<(File, PathBuf)> {
        let beside = match Self::unnamed_file(dir) {
            Ok(file) => return Ok((file, dir.to_path_buf())),
            Err(e) => e,
        };
        let mut places = vec![fallback, Path::new("/tmp")];
        places.dedup();
        let mut tried = Vec::new();
        for place in places {
            if let Some(problem) = crate::location::shared_dir_problem(place) {
                tried.push(format!("not in {problem}"));
                continue;
            }
            match Self::unnamed_file(place) {
                Ok(file) => {
                    tracing::info!(dir = %dir.display(), error = %beside, fallback = %place.display(), "temporary file made in the fallback");
                    return Ok((file, place.to_path_buf()));
                }
                Err(e) => tried.push(format!("{}: {e}", place.display())),
            }
        }
        Err(io::Error::new(
            beside.kind(),
            format!(
                "no temporary file can be made beside the database ({beside}) nor elsewhere ({}); make room beside the database, or set TMPDIR to a directory of your own that has room",
                tried.join("; ")
            ),
        ))
    }

    fn unnamed_file(dir: &Path) -> io::Result<File> {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
            .open(dir)
            .or_else(|_| {
                let path =
                    dir.join(format!(".custodian-spill-{}-{:08x}", std::process::id(), fastrand::u32(..)));
                let file = crate::location::new_private_file(&path)?;
                fs::remove_file(&path)?;
                Ok::<_, io::Error>(file)
            })
    }

    /// Hands a run over to be sorted and written; returns where it will be in the file and
    /// memory to fill the next run in (empty; of `budget` bytes when a spare one fits).
    fn hand_over(
        &mut self,
        arena: Vec<u8>,
        starts: Vec<u32>,
        budget: usize,
    ) -> io::Result<((u64, u64), RunMemory)> {
        let begin = self.length;
        let run = (begin, begin + arena.len() as u64);
        let Some(writer) = &mut self.writer else {
            let (mut arena, mut starts) = (arena, starts);
            write_run(&self.file, &arena, &mut starts, begin)?;
            self.length = run.1;
            arena.clear();
            starts.clear();
            return Ok((run, (arena, starts)));
        };
        writer.collect()?;
        let jobs = writer.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(Job { arena, starts, at: begin }).map_err(|_| stopped())?;
        writer.in_flight += 1;
        self.length = run.1;
        let memory = match writer.spare.iter().position(|(arena, _)| arena.capacity() == budget) {
            Some(at) => writer.spare.swap_remove(at),
            None => (Vec::new(), Vec::new()),
        };
        Ok((run, memory))
    }

    /// Waits until every run handed over is in the file: before the file is read.
    fn settle(&mut self) -> io::Result<()> {
        self.writer.as_mut().map_or(Ok(()), |writer| writer.settle())
    }

    /// The directory the file was made in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes spilled so far.
    pub(crate) fn len(&self) -> u64 {
        self.length
    }

    /// A spill file whose runs cannot be written (its writer thread holds it read-only): what
    /// a full disk does to a run written on that thread, for tests.
    #[cfg(test)]
    pub(crate) fn with_unwritable_runs(dir: &Path) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let mut spill = Self::new(dir)?;
        let read_only = File::open(format!("/proc/self/fd/{}", spill.file.as_raw_fd()))?;
        spill.writer = Some(Box::new(Writer::start(read_only)?));
        Ok(spill)
    }

    /// Cuts the file short (what a damaged disk or a full one mid-write leaves), for tests of
    /// what a reader of the runs does then.
    #[cfg(test)]
    pub(crate) fn cut_to(&mut self, length: u64) -> io::Result<()> {
        self.settle()?;
        self.file.set_len(length)
    }
}

const HEADER: usize = 12;

fn read_u32(bytes: &[u8], at: usize) -> usize {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word) as usize
}

/// Whether `bytes` begins with a whole encoded entry (its header, and all the header says
/// follows it).
fn starts_with_whole_entry(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER
        && bytes.len() >= HEADER + read_u32(bytes, 0) + read_u32(bytes, 4) + read_u32(bytes, 8)
}

/// (key, value, note) of the entry encoded at the start of `bytes`, and its encoded length.
fn decode(bytes: &[u8]) -> (&[u8], &[u8], &[u8], usize) {
    let (k, v, n) = (read_u32(bytes, 0), read_u32(bytes, 4), read_u32(bytes, 8));
    let key = &bytes[HEADER..HEADER + k];
    let value = &bytes[HEADER + k..HEADER + k + v];
    let note = &bytes[HEADER + k + v..HEADER + k + v + n];
    (key, value, note, HEADER + k + v + n)
}

/// Appends the entry encoded as runs hold it (`Runs::arena`).
fn encode_into(bytes: &mut Vec<u8>, key: &[u8], value: &[u8], note: &[u8]) -> io::Result<()> {
    for length in [key.len(), value.len(), note.len()] {
        let length = u32::try_from(length).map_err(io::Error::other)?;
        bytes.extend_from_slice(&length.to_le_bytes());
    }
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(value);
    bytes.extend_from_slice(note);
    Ok(())
}

impl Runs {
    pub fn new(budget: usize) -> Self {
        Self {
            arena: Vec::new(),
            starts: Vec::new(),
            budget,
            runs: Vec::new(),
            mode: Mode::Probation { sorted: true },
            last_direct: None,
            last_placed: None,
            largest: 0,
            large: 0,
        }
    }

    /// Places an entry: into the table at once through `insert` when the input comes in key
    /// order and this key follows every one put in so far, else into a run. A key equal to
    /// the last direct one waits too: the merge meets it as a repeat.
    pub fn place<E: From<io::Error>>(
        &mut self,
        spill: &mut Spill,
        key: &[u8],
        value: &[u8],
        note: &[u8],
        insert: &mut Insert<'_, E>,
    ) -> Result<(), E> {
        match &mut self.last_placed {
            Some(last) => {
                last.clear();
                last.extend_from_slice(key);
            }
            None => self.last_placed = Some(key.to_vec()),
        }
        match self.mode {
            Mode::Direct if self.last_direct.as_deref().is_none_or(|last| key > last) => {
                insert(key, value, note, self.last_direct.as_deref())?;
                self.last_direct = Some(key.to_vec());
                Ok(())
            }
            Mode::Direct | Mode::Deferred => Ok(self.defer(spill, key, value, note)?),
            Mode::Probation { sorted } => {
                let follows =
                    self.starts.last().is_none_or(|&last| decode(&self.arena[last as usize..]).0 < key);
                self.defer(spill, key, value, note)?;
                let sorted = sorted && follows && self.runs.is_empty();
                self.mode = Mode::Probation { sorted };
                if !sorted {
                    self.mode = Mode::Deferred;
                } else if self.starts.len() >= PROBATION {
                    // In order so far: these go in now, and so will the rest that follow.
                    let mut previous: Option<&[u8]> = None;
                    for &start in &self.starts {
                        let (key, value, note, _) = decode(&self.arena[start as usize..]);
                        insert(key, value, note, previous)?;
                        previous = Some(key);
                    }
                    self.last_direct = previous.map(<[u8]>::to_vec);
                    self.arena.clear();
                    self.starts.clear();
                    self.mode = Mode::Direct;
                }
                Ok(())
            }
        }
    }

    /// Whether `key` is the key placed just before it: a repeat the merge would find only at
    /// the end of the input (an endless input repeating one record would never get there).
    /// Whether any entry went into the table directly, as it came (else the merge gives the
    /// table every entry it gets, in key order).
    pub fn placed_directly(&self) -> bool {
        self.last_direct.is_some()
    }

    pub fn repeats_last(&self, key: &[u8]) -> bool {
        self.last_placed.as_deref() == Some(key)
    }

    /// Appends an entry to the current run, spilling it first when the budget is reached.
    pub fn defer(&mut self, spill: &mut Spill, key: &[u8], value: &[u8], note: &[u8]) -> io::Result<()> {
        let size = HEADER + key.len() + value.len() + note.len();
        self.largest = self.largest.max(size);
        self.large += usize::from(size >= merge::LARGE_ENTRY);
        if !self.starts.is_empty() && self.arena.len() + size > self.budget {
            self.spill_run(spill)?;
        }
        if self.arena.capacity() == 0 {
            // One allocation of the budget, not a doubling that may hold twice that.
            self.arena.reserve_exact(self.budget.max(size));
        }
        let start = u32::try_from(self.arena.len()).map_err(io::Error::other)?;
        self.starts.push(start);
        encode_into(&mut self.arena, key, value, note)
    }

    /// Hands what is in memory over to be sorted and written to the spill file as one run
    /// ([`write_run`]), and goes on with memory of its own.
    fn spill_run(&mut self, spill: &mut Spill) -> io::Result<()> {
        if self.starts.is_empty() {
            return Ok(());
        }
        let (arena, starts) = (std::mem::take(&mut self.arena), std::mem::take(&mut self.starts));
        let (run, memory) = spill.hand_over(arena, starts, self.budget)?;
        self.runs.push(run);
        (self.arena, self.starts) = memory;
        Ok(())
    }

    /// Spills what is in memory as the last run, when runs were spilled already (the merge
    /// would otherwise write it first): a caller that can still do without the spill file
    /// learns here that it cannot be written. Nothing is written when everything fits in
    /// memory.
    pub fn spill_rest(&mut self, spill: &mut Spill) -> io::Result<()> {
        if self.runs.is_empty() {
            return Ok(());
        }
        self.spill_run(spill)?;
        spill.settle()
    }

    /// Every deferred entry in key order (entries of equal keys in arrival order), handed to
    /// `take`; stops at its first error.
    pub fn merge<E: From<io::Error>>(
        self,
        spill: &mut Spill,
        take: &mut dyn FnMut(Entry) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut merged = self.into_merged(spill)?;
        while let Some(entry) = merged.next_entry()? {
            take(entry)?;
        }
        Ok(())
    }

    /// Every deferred entry in key order, one at a time ([`Merged::next_entry`]), for a
    /// consumer that pulls (a merge of its own that looks ahead) rather than is called.
    pub fn into_merged(self, spill: &mut Spill) -> io::Result<Merged> {
        self.ready_to_merge(spill)?.start()
    }

    /// The runs made ready to be merged by another thread: what is in memory spilled as the
    /// last run (when runs were spilled), every run in the file, and a handle to the file of
    /// their own. No read buffer is made until [`MergeReady::start`].
    pub fn ready_to_merge(mut self, spill: &mut Spill) -> io::Result<MergeReady> {
        if self.runs.is_empty() {
            // Everything deferred fits in memory: sorted when the merge starts, never written.
            return Ok(MergeReady::in_memory(self.arena, self.starts));
        }
        self.spill_run(spill)?;
        spill.settle()?;
        MergeReady::spilled(spill, std::mem::take(&mut self.runs), self.large, self.largest)
    }
}

mod merge;
pub use merge::{EntryBatch, MergeReady, Merged};

#[cfg(test)]
mod tests;
