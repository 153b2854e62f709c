//! The operator's screen. Data flows one way: a key becomes an [`app::Action`], `update`
//! changes the [`app::State`] and asks for work ([`app::Effect`]), the [`Runtime`] here does
//! that work against the store and the drafts directory and feeds the answer back as another
//! action, and the views draw the state.

pub mod app;
pub mod check;
pub mod find;
pub mod gap_filling;
pub mod keymap;
pub mod layout;
pub mod terminal;
pub mod theme;
pub mod tree;
pub mod view;
pub mod words;

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{self, Event, KeyEventKind, MouseButton, MouseEventKind};

use app::{Action, Effect, Mode, Pending, State, update};
use theme::Theme;

use crate::domain::history::HistoryReader;
use crate::domain::time::now_ms;
use crate::draft::{Draft, DraftKind, Drafts, EditSnapshot};
use crate::inert;
use crate::store::{Author, ListKey, OpenOptions, StoreError, UserStore};

/// How long an edit may go unsaved before its draft is written to disk.
const DRAFT_EVERY: Duration = Duration::from_secs(2);
/// Revisions the history view loads (the most recent ones).
const HISTORY_LIMIT: usize = 200;

/// What effects run against: the store, the drafts directory and which database this is.
pub struct Runtime<'a> {
    pub store: &'a dyn UserStore,
    pub drafts: Drafts,
    /// The database's absolute path: drafts belong to one database.
    pub database: String,
    /// Runs scans off the UI thread; without one (in tests) a scan runs to the end at once.
    pub scanner: Option<Scanner>,
    /// Runs the other store work off the UI thread; without them (in tests and benches) it
    /// is done at once, inline.
    pub workers: Option<StoreWorkers>,
    /// Checks the editor's text off the UI thread; without one (in tests) at once.
    pub checker: Option<check::Checker>,
}

/// Users the background scan reads per step: a few milliseconds of work, then it looks
/// whether it has been cancelled.
const SCAN_STEP: usize = 5_000;

/// How often the event loop looks for the editor's check while one is under way.
const CHECK_POLL: Duration = Duration::from_millis(5);

/// How often a frame shows what a running scan has found (when no key asks for one sooner).
const SCAN_FRAME_EVERY: Duration = Duration::from_millis(40);

/// Scans for the filter on one thread of its own, answering with actions on a channel. The
/// next keystroke's query replaces the running one between two steps. One thread, not one
/// per keystroke: overlapping scans each filled their own buffers (4 at once: 94 MiB).
///
/// The thread holds the store: it is stopped and joined ([`Scanner::shut_down`], also on
/// drop) before the store may be closed, or redb would find the file still open at exit and
/// mark it as needing a repair.
pub struct Scanner {
    /// `None` once shut down: the thread's `recv` then fails and it ends.
    queries: Option<mpsc::Sender<ScannerJob>>,
    current: Arc<AtomicU64>,
    /// The scanner's store, to cancel a step the server is working on for a query that was
    /// replaced (`None` once shut down: it must not outlive the thread's hold for redb).
    store: Option<Arc<dyn UserStore>>,
    /// Whether a scan is under way (a cancel request is sent only then).
    busy: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Scans every user for `query`, a step at a time, handing each step's answer (hits, or the
/// failure that ends it) to `answer`, which says whether to go on.
///
/// It stops after one hit more than the list keeps: each hit is a distinct user, so the list
/// then knows it holds only some of them, and a query that matches nearly everyone does not
/// build thousands of rows that would be thrown away.
///
/// A step cancelled on the server ([`UserStore::cancel_running`], asked for when the next
/// keystroke replaced this scan) ends the scan without a word once `current` says it was
/// replaced; a cancel that was meant for the scan before and hit this one's step instead is
/// taken again, a few times at most. A scan on a connection that was lost reconnects once
/// first (the screen's own connection is reconnected by `r`; this is the scanner's).
fn scan(
    store: &dyn UserStore,
    generation: u64,
    query: &str,
    current: &dyn Fn() -> bool,
    mut answer: impl FnMut(Action) -> bool,
) {
    let mut after: Option<ListKey> = None;
    let mut wanted = app::MAX_MATCHES + 1;
    let (mut cancels, mut reconnected) = (0, false);
    loop {
        let step = crate::crash::catch(|| store.scan_matches(query, after.as_ref(), SCAN_STEP, wanted))
            .unwrap_or_else(|panicked| Err(StoreError::Database(panicked.to_string())));
        let step = match step {
            Err(StoreError::Cancelled) if !current() => return,
            Err(StoreError::Cancelled) if cancels < 3 => {
                cancels += 1;
                continue;
            }
            Err(e) if e.is_connection_lost() && !reconnected => {
                reconnected = true;
                match store.reconnect() {
                    Ok(()) => continue,
                    Err(_) => Err(e),
                }
            }
            other => other,
        };
        let (step, last) = match step {
            Ok(step) => {
                wanted = wanted.saturating_sub(step.hits.len());
                after = step.next.filter(|_| wanted > 0);
                let (scanned, done) = (step.scanned as u64, after.is_none());
                (Action::SearchHits { generation, hits: step.hits, scanned, done }, done)
            }
            Err(e) => (store_failed(e), true),
        };
        if !answer(step) || last {
            return;
        }
    }
}

/// The scanner's answers, and a pipe it writes a byte to after each one, so the event loop,
/// which sleeps in `poll` on the terminal, wakes for an answer as it does for a key.
pub struct ScanAnswers {
    receiver: mpsc::Receiver<Action>,
    wake: std::os::fd::OwnedFd,
}

impl ScanAnswers {
    /// The next answer, if one has come.
    pub fn try_recv(&self) -> Option<Action> {
        self.receiver.try_recv().ok()
    }

    /// Waits up to `timeout` for the scanner's wake-up byte, as the event loop does; whether
    /// it came.
    pub fn wait(&self, timeout: Duration) -> bool {
        let mut fd = libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; poll writes only its revents.
        let ready = unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as i32) } > 0;
        self.drain_wake();
        ready
    }

    /// Empties the wake-up pipe (it is non-blocking; what it holds carries no meaning).
    fn drain_wake(&self) {
        let mut buffer = [0u8; 64];
        // SAFETY: reads into a local buffer of the length given, from our own pipe.
        while unsafe { libc::read(self.wake.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) } > 0 {}
    }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
fn wake_pipe() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) })
}

/// What the scanner's thread is asked to do.
enum ScannerJob {
    Scan(u64, String),
    /// [`UserStore::sync_keys`], on the scanner's connection: the screen's stays free.
    SyncKeys,
}

/// The store's answer to a key sync, as the loop takes it: nothing when nothing changed.
fn keys_synced(result: Result<bool, StoreError>) -> Option<Action> {
    match result {
        Ok(true) => Some(Action::KeysChanged),
        Ok(false) => None,
        Err(e) => {
            Some(Action::StoreFailed { message: format!("the list's keys were not brought up to date: {e}") })
        }
    }
}

impl Scanner {
    pub fn new(store: Arc<dyn UserStore>) -> std::io::Result<(Self, ScanAnswers)> {
        let (answers, receiver) = mpsc::channel();
        let (wake, waker) = wake_pipe()?;
        let (queries, requests) = mpsc::channel::<ScannerJob>();
        let current = Arc::new(AtomicU64::new(0));
        let running = Arc::clone(&current);
        let busy = Arc::new(AtomicBool::new(false));
        let scanning = Arc::clone(&busy);
        let held = Arc::clone(&store);
        let thread = std::thread::Builder::new().name("scanner".into()).spawn(move || {
            let busy = scanning;
            yield_to_the_operator();
            let send = |answer: Action| {
                let sent = answers.send(answer).is_ok();
                // A full pipe already wakes the loop: a failed write loses nothing.
                // SAFETY: writes one byte from a local to our own pipe.
                unsafe { libc::write(waker.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
                sent
            };
            while let Ok(first) = requests.recv() {
                // Of the queries waiting, only the newest is run; a sync asked for is done
                // first, so the scan after it reads the keys it made.
                let (mut sync, mut newest) = (false, None);
                for job in std::iter::once(first).chain(requests.try_iter()) {
                    match job {
                        ScannerJob::SyncKeys => sync = true,
                        ScannerJob::Scan(generation, query) => newest = Some((generation, query)),
                    }
                }
                if sync {
                    let result = crate::crash::catch(|| store.sync_keys())
                        .unwrap_or_else(|panicked| Err(StoreError::Database(panicked.to_string())));
                    if let Some(answer) = keys_synced(result) {
                        send(answer);
                    }
                }
                if let Some((generation, query)) = newest {
                    let current = || running.load(Ordering::SeqCst) == generation;
                    if current() {
                        busy.store(true, Ordering::SeqCst);
                        scan(&*store, generation, &query, &current, |answer| send(answer) && current());
                        busy.store(false, Ordering::SeqCst);
                    }
                }
            }
        })?;
        let scanner = Self { queries: Some(queries), current, store: Some(held), busy, thread: Some(thread) };
        Ok((scanner, ScanAnswers { receiver, wake }))
    }

    fn start(&self, generation: u64, query: String) {
        self.current.store(generation, Ordering::SeqCst);
        self.cancel_running();
        if let Some(queries) = &self.queries {
            let _ = queries.send(ScannerJob::Scan(generation, query));
        }
    }

    /// Asks for [`UserStore::sync_keys`] on the scanner's thread (and connection); a running
    /// scan finishes first.
    fn sync_keys(&self) {
        if let Some(queries) = &self.queries {
            let _ = queries.send(ScannerJob::SyncKeys);
        }
    }

    fn stop(&self) {
        self.current.store(u64::MAX, Ordering::SeqCst);
        self.cancel_running();
    }

    /// The server stops working for a query nobody waits for any more (PostgreSQL: a cancel
    /// request, sent from a thread of its own; redb: nothing, its steps are short).
    fn cancel_running(&self) {
        if self.busy.load(Ordering::SeqCst)
            && let Some(store) = &self.store
        {
            store.cancel_running();
        }
    }

    /// Ends the thread and waits for it: a running scan stops after its current step (a few
    /// milliseconds), and the thread's hold on the store is gone when this returns.
    pub fn shut_down(&mut self) {
        self.stop();
        self.store = None;
        self.queries = None;
        if let Some(thread) = self.thread.take() {
            // A scan that panicked has already let go of the store while unwinding.
            let _ = thread.join();
        }
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// How long the screen waits, after the keys of a batch, for the answers to the reads they
/// asked for before drawing: a local store answers in microseconds, so the frame shows the
/// new row at once, as before; a store slower than this (a far server) gets a frame that
/// says "loading…" and another when the answer comes. Writes are never waited for here.
const SETTLE: Duration = Duration::from_millis(8);

/// What a piece of store work is: which thread does it, what the status line says, and
/// whether a newer request of the same kind makes its answer worthless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Rows of the list: only the newest request's answer is applied.
    Rows,
    /// The selected user: only the newest request's answer is applied.
    User,
    /// The filter's index lookup: only the newest keystroke's answer is applied.
    Prefix,
    Save,
    Export,
    /// Anything else the operator asked for (history, `:user`, a draft, a fresh read).
    Read,
}

impl Work {
    /// The store work an effect asks for; `None` for work that is not the store's.
    fn of(effect: &Effect) -> Option<Work> {
        Some(match effect {
            Effect::LoadRows(_) => Work::Rows,
            Effect::LoadUser { .. } => Work::User,
            Effect::PrefixSearch { .. } => Work::Prefix,
            Effect::Save { .. } | Effect::ApplyPatch { .. } => Work::Save,
            Effect::Export { .. } => Work::Export,
            Effect::PatchDryRun { .. } => Work::Read,
            // Opening a draft stays on the screen's thread: it takes the draft file over in the
            // drafts directory, which only that thread touches.
            Effect::ReadCurrent { .. }
            | Effect::SelectUser { .. }
            | Effect::FindUser { .. }
            | Effect::LoadHistory { .. }
            | Effect::LoadRevision { .. }
            // Connecting takes up to connect_timeout: never on the screen's thread.
            | Effect::Reconnect
            | Effect::ResolveSave { .. } => Work::Read,
            _ => return None,
        })
    }

    /// Writes get a thread of their own: a save waiting up to 3 s for another writer's lock
    /// must not hold up the reads that browsing needs meanwhile.
    fn writes(self) -> bool {
        matches!(self, Work::Save | Work::Export)
    }

    /// The slot that says which request of this kind is the newest, for kinds where only
    /// the newest answer counts.
    fn newest_slot(self) -> Option<usize> {
        match self {
            Work::Rows => Some(0),
            Work::User => Some(1),
            Work::Prefix => Some(2),
            _ => None,
        }
    }

    fn pending(self) -> Pending {
        match self {
            Work::Save => Pending::Saving,
            Work::Export => Pending::Exporting,
            _ => Pending::Loading,
        }
    }
}

/// One piece of store work, numbered in the order it was asked for.
struct Job {
    ticket: u64,
    work: Work,
    effect: Effect,
}

/// A job's answer; `None` when it was skipped (a newer request of its kind came first) or
/// needs no answer.
struct Done {
    ticket: u64,
    answer: Option<Action>,
}

/// The newest ticket of each kind where only the newest answer counts (see [`Work::newest_slot`]).
type Newest = [AtomicU64; 3];

/// The store's work off the screen's thread, in the shape of the scanner: two threads (reads;
/// writes) take jobs in order and answer each with an action on a channel, writing a byte to
/// a pipe that the event loop sleeps on with the terminal. The screen keeps answering keys
/// while a save waits for a lock or a slow store; the status line says what is pending.
///
/// Like the scanner, the threads hold the store: [`StoreWorkers::shut_down`] (also on drop)
/// lets them finish what they were given — a save asked for is never abandoned — and joins
/// them, so the store can be closed cleanly after.
pub struct StoreWorkers {
    reads: Lane,
    writes: Lane,
    answers: mpsc::Receiver<Done>,
    wake: std::os::fd::OwnedFd,
    newest: Arc<Newest>,
    next_ticket: AtomicU64,
    /// Jobs sent and not answered yet: their tickets and kinds.
    in_flight: std::sync::Mutex<Vec<(u64, Work)>>,
}

/// One worker thread and the way to give it jobs.
struct Lane {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lane {
    fn start(
        name: &str,
        store: Arc<dyn UserStore>,
        database: String,
        answers: mpsc::Sender<Done>,
        waker: Arc<std::os::fd::OwnedFd>,
        newest: Arc<Newest>,
    ) -> std::io::Result<Self> {
        let (jobs, requests) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Store work only: drafts and the terminal stay with the screen's thread.
            let runtime = Runtime {
                store: &*store,
                drafts: Drafts::at(std::path::PathBuf::new()),
                database,
                scanner: None,
                workers: None,
                checker: None,
            };
            for Job { ticket, work, effect } in requests {
                let superseded =
                    work.newest_slot().is_some_and(|slot| newest[slot].load(Ordering::SeqCst) != ticket);
                // redb can panic on a damaged file wherever it reads: the answer is then that
                // error, and the thread lives on to answer the next job.
                let answer = if superseded {
                    None
                } else {
                    crate::crash::catch(|| perform(&runtime, effect)).unwrap_or_else(|panicked| {
                        Some(Action::StoreFailed { message: panicked.to_string() })
                    })
                };
                let _ = answers.send(Done { ticket, answer });
                // SAFETY: writes one byte from a local to our own pipe; a full pipe already
                // wakes the loop, so a failed write loses nothing.
                unsafe { libc::write(waker.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
            }
        })?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Lets the thread finish the jobs it has and waits for it.
    fn shut_down(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl StoreWorkers {
    pub fn new(store: Arc<dyn UserStore>, database: String) -> std::io::Result<Self> {
        let (sender, answers) = mpsc::channel();
        let (wake, waker) = wake_pipe()?;
        let waker = Arc::new(waker);
        let newest = Arc::new(Newest::default());
        let lane = |name| {
            Lane::start(
                name,
                Arc::clone(&store),
                database.clone(),
                sender.clone(),
                Arc::clone(&waker),
                Arc::clone(&newest),
            )
        };
        Ok(Self {
            reads: lane("store reads")?,
            writes: lane("store writes")?,
            answers,
            wake,
            newest,
            next_ticket: AtomicU64::new(1),
            in_flight: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Work)>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands the work to its thread.
    fn submit(&self, work: Work, effect: Effect) {
        let ticket = self.next_ticket.fetch_add(1, Ordering::SeqCst);
        if let Some(slot) = work.newest_slot() {
            self.newest[slot].store(ticket, Ordering::SeqCst);
        }
        let lane = if work.writes() { &self.writes } else { &self.reads };
        if let Some(jobs) = &lane.jobs
            && jobs.send(Job { ticket, work, effect }).is_ok()
        {
            self.in_flight().push((ticket, work));
        }
    }

    /// The next answer that has come, if any, and whether it still counts: an answer to a
    /// request that a newer one of its kind replaced is dropped (as the scan's generations
    /// drop a scan's late hits).
    fn try_answer(&self) -> Option<Option<Action>> {
        let Done { ticket, answer } = self.answers.try_recv().ok()?;
        let mut in_flight = self.in_flight();
        let work = in_flight.iter().position(|(t, _)| *t == ticket).map(|i| in_flight.remove(i).1);
        drop(in_flight);
        let current = work
            .and_then(Work::newest_slot)
            .is_none_or(|slot| self.newest[slot].load(Ordering::SeqCst) == ticket);
        Some(answer.filter(|_| current))
    }

    /// What the status line should say is pending.
    fn pending(&self) -> Option<Pending> {
        self.in_flight().iter().map(|(_, work)| work.pending()).max()
    }

    /// Whether reads (what a frame is waited for) sent from ticket `since` on are still out.
    fn reading_since(&self, since: u64) -> bool {
        self.in_flight().iter().any(|(ticket, work)| *ticket >= since && !work.writes())
    }

    /// Whether anything at all is still out.
    pub fn busy(&self) -> bool {
        !self.in_flight().is_empty()
    }

    /// Waits up to `timeout` for an answer's wake-up byte.
    fn wait(&self, timeout: Duration) {
        let mut fd = libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; poll writes only its revents.
        unsafe { libc::poll(&mut fd, 1, timeout.as_millis().max(1) as i32) };
        self.drain_wake();
    }

    fn drain_wake(&self) {
        let mut buffer = [0u8; 64];
        // SAFETY: reads into a local buffer of the length given, from our own pipe.
        while unsafe { libc::read(self.wake.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) } > 0 {}
    }

    /// Lets both threads finish what they were given and joins them.
    pub fn shut_down(&mut self) {
        self.reads.shut_down();
        self.writes.shut_down();
    }
}

impl Drop for StoreWorkers {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Applies the workers' answers that have come (with what they ask for in turn) and tells the
/// state what is still pending; whether anything changed. Without workers, nothing to do.
pub fn take_answers(runtime: &Runtime, state: &mut State) -> bool {
    take_answers_on(runtime, None, state)
}

fn take_answers_on(runtime: &Runtime, mut terminal: Option<&mut terminal::Term>, state: &mut State) -> bool {
    let Some(workers) = &runtime.workers else { return false };
    let mut changed = false;
    while let Some(answer) = workers.try_answer() {
        changed = true;
        if let Some(action) = answer {
            let effects = update(state, action);
            run_effects_on(runtime, terminal.as_deref_mut(), state, effects);
        }
    }
    let pending = workers.pending();
    if state.pending != pending {
        update(state, Action::StoreBusy(pending));
        changed = true;
    }
    changed
}

/// Waits up to `timeout` until every piece of store work sent has been answered, applying
/// the answers as they come; whether all were. (The way out uses it, so a save asked for is
/// answered before custodian leaves; tests use it to wait for answers.)
pub fn wait_for_answers(runtime: &Runtime, state: &mut State, timeout: Duration) -> bool {
    let Some(workers) = &runtime.workers else { return true };
    let deadline = Instant::now() + timeout;
    loop {
        take_answers(runtime, state);
        if !workers.busy() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        workers.wait(left);
    }
}

/// After a key: waits for the reads it asked for (those from ticket `since` on), until
/// `deadline` — one [`SETTLE`] for a whole batch of keys, so a slow store delays a batch's
/// frame by at most that — so a local store's answer is in the very frame that follows the
/// key, and the next key is read against it, as when the store was called inline.
fn settle(
    runtime: &Runtime,
    terminal: &mut terminal::Term,
    state: &mut State,
    since: u64,
    deadline: Instant,
) {
    let Some(workers) = &runtime.workers else { return };
    loop {
        take_answers_on(runtime, Some(&mut *terminal), state);
        let left = deadline.saturating_duration_since(Instant::now());
        if !workers.reading_since(since) || left.is_zero() {
            return;
        }
        workers.wait(left);
    }
}

/// The ticket the next piece of store work will get (0 without workers).
fn next_ticket(runtime: &Runtime) -> u64 {
    runtime.workers.as_ref().map_or(0, |w| w.next_ticket.load(Ordering::SeqCst))
}

/// Lowers the calling thread's CPU priority (nice 10), so that on a busy or small machine
/// the scan takes what the UI thread leaves and keys never queue behind a step. Linux
/// applies `setpriority` to the thread; elsewhere this is a best effort.
fn yield_to_the_operator() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on this thread's own id.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// glibc gives every thread that allocates a heap (arena) of its own; the scanner's stays
/// resident after a scan, a few MiB that have nothing to do with the data. The two threads
/// share one heap instead (they seldom allocate at the same moment).
fn one_heap_for_all_threads() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists; mallopt only sets a tunable.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// How the operator asked for the screen.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub read_only: bool,
    /// No colour at all (also when `NO_COLOR` is set to anything).
    pub no_color: bool,
    /// Capture the mouse: click to select, wheel to scroll. Off by default, which keeps the
    /// terminal's own text selection working.
    pub mouse: bool,
    /// On PostgreSQL, the Logto tenant whose users are shown.
    pub tenant: String,
    /// The key file that seals and opens values (`--key-file`, `$CUSTODIAN_KEY_FILE`).
    pub key_file: Option<std::path::PathBuf>,
    /// `--schema FILE`: hold customData to this JSON Schema instead of the stored one.
    pub schema_file: Option<std::path::PathBuf>,
}

/// Signals that end the session the way `q` does (the draft kept, the database closed): a
/// hang-up (the SSH connection dropped, the main way a session ends), TERM, and INT or QUIT
/// from outside (raw mode turns Ctrl-C into a key). Set by the signal handlers.
struct Ended {
    hang_up_or_term: Arc<AtomicBool>,
}

/// INT and QUIT, kept apart: while `$EDITOR` runs it shares the terminal and its Ctrl-C (vi's
/// "interrupt") reaches custodian too; that one is forgotten when the editor returns.
static INTERRUPTED: std::sync::LazyLock<Arc<AtomicBool>> = std::sync::LazyLock::new(Arc::default);

impl Ended {
    /// Watches for the signals. Registered before the database is opened: their default
    /// action would end the process with the file still open, to be repaired by the next one.
    fn watch() -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        let ended = Self { hang_up_or_term: Arc::default() };
        for (signal, flag) in [
            (SIGHUP, &ended.hang_up_or_term),
            (SIGTERM, &ended.hang_up_or_term),
            (SIGINT, &*INTERRUPTED),
            (SIGQUIT, &*INTERRUPTED),
        ] {
            signal_hook::flag::register(signal, Arc::clone(flag)).context("cannot watch for hang-ups")?;
        }
        Ok(ended)
    }

    fn now(&self) -> bool {
        self.hang_up_or_term.load(Ordering::Relaxed) || INTERRUPTED.load(Ordering::Relaxed)
    }
}

/// A line on stderr that never panics: after the terminal vanished, `eprintln!` would panic
/// on the failed write, and a panic then could end the process before the database is closed.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Test hook (debug builds only): `CUSTODIAN_TEST_PANIC=1` panics in the event loop after the
/// first frame, so the pty tests can check what a panic leaves behind.
fn panic_if_asked_in_a_test() {
    #[cfg(debug_assertions)]
    if std::env::var_os("CUSTODIAN_TEST_PANIC").is_some_and(|v| v == "1") {
        panic!("CUSTODIAN_TEST_PANIC");
    }
}

/// The terminal cannot show the editor's screen (exit code 2, as a usage mistake).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CannotShowScreen(pub String);

/// A `dumb` terminal (or none named in `$TERM`) cannot move the cursor or redraw: drawing
/// the screen there prints garbage. Decided before anything is written to the terminal.
fn check_terminal_type(term: Option<&std::ffi::OsStr>) -> std::result::Result<(), CannotShowScreen> {
    let why = match term.map(|t| t.to_string_lossy()) {
        None => "$TERM is not set".to_owned(),
        Some(t) if t.is_empty() => "$TERM is empty".to_owned(),
        Some(t) if t == "dumb" => "TERM=dumb".to_owned(),
        Some(_) => return Ok(()),
    };
    Err(CannotShowScreen(format!(
        "this terminal cannot show the editor's screen ({why}); set TERM to your terminal's type, or use a subcommand (see `custodian --help`)"
    )))
}

/// Opens the TUI on the database.
///
/// However the session ends — a key, a signal, a terminal that went away, an error or a
/// panic in the loop — the same way out follows: the terminal restored, an unsaved edit kept
/// as a draft, every thread that holds the store stopped and joined, and the store dropped,
/// which closes the redb file cleanly (a `--read-only` open right after needs no repair).
/// An early `?` return drops in the same order: the runtime (joining its threads) first.
pub fn run(db: Option<&Path>, options: Options) -> Result<()> {
    let Options { read_only, no_color, mouse, tenant, key_file, schema_file } = options;
    check_terminal_type(std::env::var_os("TERM").as_deref())?;
    // A key file that is named but unusable (others can read it, malformed) is refused before
    // the screen opens, as the CLI refuses it.
    let keys = key_file.as_deref().map(crate::key_file::load).transpose()?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the editor needs a terminal; for scripts use a subcommand (see `custodian --help`)");
    }
    one_heap_for_all_threads();
    let drafts = Drafts::in_state_dir();
    // A drafts directory someone else could write is refused before anything is read from it.
    drafts.check()?;
    let ended = Ended::watch()?;
    // Drafts belong to one database: a file by its absolute path, PostgreSQL by its URL
    // without the password, and the tenant.
    // On PostgreSQL the scanner has a connection of its own (one client serves one query at
    // a time); redb's threads share the file.
    let (store, scan_store, database): (Arc<dyn UserStore>, Arc<dyn UserStore>, String) =
        match crate::database::postgres_url(db) {
            Some(url) => {
                // The key table when it can (a session that may write, after `init`): a page
                // is an index range at any number of users. Synced in the background below.
                let store = crate::database::open_postgres(
                    url,
                    &tenant,
                    read_only,
                    crate::store::SCREEN_STATEMENT_TIMEOUT,
                    true,
                )?;
                let scan_store = Arc::new(store.another_connection()?);
                let database = store.draft_identity();
                (Arc::new(store), scan_store, database)
            }
            None => {
                let store = crate::database::open(db, OpenOptions { read_only, ..Default::default() })?;
                let path = std::fs::canonicalize(store.path()).unwrap_or_else(|_| store.path().to_owned());
                let store: Arc<dyn UserStore> = Arc::new(store);
                (Arc::clone(&store), store, path.display().to_string())
            }
        };
    // Compiled once for the session; a schema that does not compile stops here, in one line.
    let shape = crate::cli::schema::load_shape(&*store, schema_file.as_deref())?.map(Arc::new);
    let (scanner, scan_answers) = Scanner::new(scan_store).context("cannot start the scanner")?;
    let workers = StoreWorkers::new(Arc::clone(&store), database.clone())
        .context("cannot start the store's workers")?;
    let runtime = Runtime {
        store: &*store,
        drafts,
        database,
        scanner: Some(scanner),
        workers: Some(workers),
        checker: Some(check::Checker::new(shape.clone()).context("cannot start the checker")?),
    };
    let theme = Theme::from_environment(no_color);
    let colour = Theme { ascii: false, ..theme } == Theme::colour();
    let mut terminal = terminal::enter(colour, mouse).context("cannot set up the terminal")?;
    let size = terminal.size()?;
    let mut state = State::new(size.width, size.height, store.is_read_only());
    state.key_order = store.key_order();
    state.keys = keys;
    state.shape = shape;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop(&mut terminal, &runtime, &mut state, &theme, &ended, &scan_answers)
    }));
    // Work already sent is answered before leaving: a save asked for is either done and said
    // so, or refused and its edit kept as a draft below — never reported wrongly, never lost.
    let status_before = state.status.clone();
    let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_answers(&runtime, &mut state, Duration::from_secs(30))
    }))
    .unwrap_or(false);
    let restored = terminal::leave().context("cannot restore the terminal");
    terminal::forget(terminal);
    // Whatever ended the session, an edit that was not saved is kept.
    let kept = state
        .editor
        .as_ref()
        .filter(|e| e.is_modified())
        .map(|editor| keep_at_the_end(&runtime, editor.snapshot()));
    drop(runtime);
    close(store);
    // What the last answers said, where the operator can still read it.
    if let Some(status) = state.status.as_ref().filter(|s| Some(*s) != status_before.as_ref()) {
        say(&format!("custodian: {}", inert::line(&status.text)));
    }
    if !answered {
        say("custodian: the store did not answer in time; what was asked last may not have been done");
    }
    match &kept {
        Some(Ok(path)) => {
            tracing::warn!(path = %path.display(), "session ended with an unsaved edit: kept as a draft");
            say(&format!(
                "custodian: your unsaved edit is kept in {}; start custodian again to reopen it",
                inert::line(&path.display().to_string())
            ));
        }
        Some(Err(message)) => {
            tracing::error!(%message, "session ended with an unsaved edit that was not kept as a draft");
        }
        None => {}
    }
    match (outcome, kept) {
        // The edit is not where custodian keeps drafts: that is the error, whatever else.
        (_, Some(Err(message))) => bail!("{message}"),
        (Ok(result), _) => result.and(restored),
        (Err(_), kept) => bail!(
            "internal error; the terminal was restored{}",
            if kept.is_some() { " and your edit kept" } else { "" }
        ),
    }
}

/// Drops the last handle of the store, which closes the database file cleanly. Every thread
/// that shared it must have been joined by now; if one was not, the file is left for redb to
/// repair, which the log says.
fn close<S: ?Sized>(store: Arc<S>) {
    let holders = Arc::strong_count(&store);
    if holders > 1 {
        tracing::error!(holders, "the store is still shared at exit: the database will need a repair");
    }
    drop(store);
}

/// Writes the editor's draft (autosave and the end of a session).
fn keep_unsaved_edit(runtime: &Runtime, edit: EditSnapshot) -> Result<std::path::PathBuf, String> {
    let draft = Draft::new(DraftKind::Draft, &runtime.database, edit, now_ms());
    runtime.drafts.save(&draft).map_err(|e| e.to_string())
}

/// The last chance for an unsaved edit (a hang-up, a TERM, a vanished terminal, a crash):
/// the drafts directory, else a new private file (0600, exclusive) in `$TMPDIR` or the
/// current directory holding the text alone. `Ok` only when it is a draft custodian offers
/// again; `Err` says where the edit is, or that it is nowhere, in one line.
fn keep_at_the_end(runtime: &Runtime, edit: EditSnapshot) -> Result<std::path::PathBuf, String> {
    let (user, revision) = (edit.user_id.clone(), edit.base_revision);
    let text = edit.text.clone();
    let why = match keep_unsaved_edit(runtime, edit) {
        Ok(path) => return Ok(path),
        Err(why) => why,
    };
    let name = format!(
        "custodian-unsaved-{}-{}-{:08x}.json",
        crate::draft::name_part(&user),
        std::process::id(),
        fastrand::u32(..)
    );
    let mut tried = Vec::new();
    for dir in [std::env::temp_dir(), std::path::PathBuf::from(".")] {
        let path = dir.join(&name);
        match write_private_new(&path, &text) {
            Ok(()) => {
                let shown = std::fs::canonicalize(&path).unwrap_or(path);
                return Err(format!(
                    "your unsaved edit of user {} could not be kept as a draft ({why}); it was written to {} instead (it started from revision {revision}: `custodian {} set id:{} {} --expect-revision {revision}` saves it)",
                    inert::line(&user),
                    shown.display(),
                    database_arguments(&runtime.database),
                    inert::shell_word(&user),
                    inert::shell_word(&shown.display().to_string())
                ));
            }
            Err(e) => tried.push(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!(
        "your unsaved edit of user {} could not be written anywhere and is lost ({why}; {})",
        inert::line(&user),
        tried.join("; ")
    ))
}

/// The arguments that name this session's database on a command line: `--db PATH`, or for
/// PostgreSQL `--db URL --tenant ID` (the URL without its password, as drafts record it).
fn database_arguments(database: &str) -> String {
    match database.rsplit_once("#tenant=") {
        Some((url, tenant)) => {
            format!("--db {} --tenant {}", inert::shell_word(url), inert::shell_word(tenant))
        }
        None => format!("--db {}", inert::shell_word(database)),
    }
}

/// A new file (never an existing one, never through a symbolic link), 0600, fsynced.
fn write_private_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn event_loop(
    terminal: &mut terminal::Term,
    runtime: &Runtime,
    state: &mut State,
    theme: &Theme,
    ended: &Ended,
    scan_answers: &ScanAnswers,
) -> Result<()> {
    let effects = state.start();
    run_effects_on(runtime, Some(&mut *terminal), state, effects);
    let found = runtime.drafts.for_database(&runtime.database);
    for ignored in &found.ignored {
        tracing::warn!(file = %ignored.name, why = %ignored.why, "a file in the drafts directory is not offered");
    }
    let not_offered = found.ignored.iter().map(|i| format!("{}: {}", i.name, i.why)).collect();
    let effects = update(state, Action::DraftsFound { drafts: found.drafts, not_offered });
    run_effects_on(runtime, Some(&mut *terminal), state, effects);
    settle(runtime, terminal, state, 0, Instant::now() + SETTLE);
    // crossterm starts watching for resizes on its first poll: start it before the first frame
    // so a resize right after start-up is not missed.
    event::poll(Duration::ZERO)?;
    // `dirty`: the operator did something, draw at once. `scan_news`: the scan found more;
    // drawn at most every SCAN_FRAME_EVERY so its answers cannot crowd out the keys.
    let (mut dirty, mut scan_news) = (true, false);
    let mut drawn_at = Instant::now();
    let mut last_draft: Option<LastDraft> = None;
    let mut keys_sync_asked = false;
    while !state.quit && !ended.now() {
        if dirty || scan_news && drawn_at.elapsed() >= SCAN_FRAME_EVERY {
            terminal::draw(terminal, |frame| view::render(frame, state, theme))?;
            drawn_at = Instant::now();
            if !keys_sync_asked {
                // After the first frame, so the sync's work on the server never delays it;
                // the list is read again when it changed anything.
                keys_sync_asked = true;
                if let Some(scanner) = &runtime.scanner {
                    scanner.sync_keys();
                }
            }
            (dirty, scan_news) = (false, false);
            panic_if_asked_in_a_test();
        }
        if let Some(answer) = autosave_draft(runtime, state, &mut last_draft) {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            dirty = true;
        }
        // What the background scan found since the last look. Shown at once while the list
        // has room for more rows or when the scan is over (someone is waiting for that).
        let shown_before = state.list.rows.len();
        // The editor's check: drawn at once, it is what the status line waits for.
        while let Some(answer) = runtime.checker.as_ref().and_then(check::Checker::try_recv) {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            dirty = true;
        }
        while let Some(answer) = scan_answers.try_recv() {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            scan_news = true;
        }
        if scan_news && (shown_before < state.list.height || !state.list.search.scanning) {
            dirty = true;
        }
        // Keys come first: with a frame to draw, only look whether one is waiting; with scan
        // news, wait (for keys) until its frame is due; otherwise sleep until a key or the
        // scanner's next answer.
        // The workers' answers wake the loop as the scanner's do, and are drawn at once.
        if take_answers_on(runtime, Some(&mut *terminal), state) {
            dirty = true;
            continue;
        }
        let (wait, wake) = if dirty {
            (Duration::ZERO, None)
        } else if scan_news {
            (SCAN_FRAME_EVERY.saturating_sub(drawn_at.elapsed()), None)
        } else if state.editor.as_ref().is_some_and(|editor| !editor.is_checked()) {
            // A check is under way: look for its answer soon.
            (CHECK_POLL, None)
        } else {
            (Duration::from_millis(250), Some(scan_answers.wake.as_raw_fd()))
        };
        let workers_wake = runtime.workers.as_ref().map(|w| w.wake.as_raw_fd());
        // crossterm 0.29 spins forever reading a terminal that has gone away (an SSH drop
        // whose SIGHUP went to the shell), so custodian looks at the terminal itself first.
        match terminal_input(wait.as_millis() as i32, [wake, workers_wake]) {
            TerminalInput::HungUp => break,
            TerminalInput::Woken => {
                scan_answers.drain_wake();
                if let Some(workers) = &runtime.workers {
                    workers.drain_wake();
                }
                continue;
            }
            // Nothing typed: still ask crossterm, without waiting, for a resize.
            TerminalInput::Idle if !event::poll(Duration::ZERO)? => continue,
            _ => {}
        }
        // Drain everything already queued, then draw once.
        let settle_by = Instant::now() + SETTLE;
        loop {
            let event = event::read()?;
            #[cfg(debug_assertions)]
            crate::crash::panic_on_test_key(&event);
            if let Some(action) = action_for_event(state, event) {
                if matches!(action, Action::Resize { .. }) {
                    terminal.autoresize()?;
                }
                let since = next_ticket(runtime);
                let effects = update(state, action);
                run_effects_on(runtime, Some(&mut *terminal), state, effects);
                settle(runtime, terminal, state, since, settle_by);
                dirty = true;
            }
            if state.quit
                || terminal_input(0, [None, None]) == TerminalInput::HungUp
                || !event::poll(Duration::ZERO)?
            {
                break;
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TerminalInput {
    Ready,
    Idle,
    /// The scanner has an answer.
    Woken,
    HungUp,
}

/// Waits up to `timeout_ms` for input on the terminal (standard input), or for a byte on
/// one of the `wake` pipes given (the scanner's, the store workers'), and says which came,
/// neither, or that the terminal has gone away.
fn terminal_input(timeout_ms: i32, wake: [Option<std::os::fd::RawFd>; 2]) -> TerminalInput {
    let mut fds = [
        libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: wake[0].unwrap_or(-1), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: wake[1].unwrap_or(-1), events: libc::POLLIN, revents: 0 },
    ];
    // SAFETY: valid pollfds (a negative fd is ignored by poll); poll writes only revents.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready < 0 {
        // Interrupted by a signal (a resize, a hang-up): let the loop look again.
        return TerminalInput::Idle;
    }
    let terminal = fds[0].revents;
    if terminal & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        TerminalInput::HungUp
    } else if terminal & libc::POLLIN != 0 {
        TerminalInput::Ready
    } else if (fds[1].revents | fds[2].revents) & libc::POLLIN != 0 {
        TerminalInput::Woken
    } else {
        TerminalInput::Idle
    }
}

/// What the autosave last tried to write: when, for which editing session, which text.
pub struct LastDraft {
    at: Instant,
    session: String,
    text: String,
}

/// Writes the editor's text to its session's draft file when it changed and has been unsaved
/// a while, so that even a SIGKILL or a power cut loses at most a couple of seconds of typing.
/// Answers with what happened when it tried (a failure goes on the status line at once).
pub fn autosave_draft(runtime: &Runtime, state: &State, last: &mut Option<LastDraft>) -> Option<Action> {
    let Some(editor) = state.editor.as_ref().filter(|e| e.is_modified()) else {
        *last = None;
        return None;
    };
    let text = editor.text();
    // Another editing session (a new editor) writes at once, whatever the last one wrote.
    if let Some(written) = last.as_ref().filter(|w| w.session == editor.draft_session)
        && (written.text == text || written.at.elapsed() < DRAFT_EVERY)
    {
        return None;
    }
    *last = Some(LastDraft { at: Instant::now(), session: editor.draft_session.clone(), text });
    let result = keep_unsaved_edit(runtime, editor.snapshot());
    if let Err(why) = &result {
        tracing::error!(user = %editor.user_id, %why, "the unsaved edit could not be kept as a draft");
    }
    Some(Action::Autosaved(result.map(|p| p.display().to_string())))
}

/// Takes a found draft over for a new editing session and loads what reopening it needs. Its
/// base is in doubt when the revision it started from is gone or holds another text than
/// the one it was edited from (a database restored from a backup, or re-imported): then the
/// editor starts from what is stored now and shows the conflict view.
fn open_found_draft(runtime: &Runtime, found: Draft) -> Action {
    let store = runtime.store;
    let not_opened = |message: String| Action::DraftNotOpened { message };
    let record = match store.user(&found.user_id) {
        Ok(record) => record,
        Err(e) => {
            return not_opened(format!(
                "draft of {} not opened (it is kept): {e}",
                inert::line(&found.user_handle)
            ));
        }
    };
    let draft = match runtime.drafts.claim(&found, &crate::draft::new_session()) {
        Ok(draft) => draft,
        Err(e) => return not_opened(format!("draft not opened: {e}")),
    };
    let base_text = store.revision_text(&draft.user_id, draft.base_revision);
    let (base, doubt) = match base_text {
        Ok(text) if draft.started_from(&text) => {
            (crate::store::StoredDocument { text, revision: draft.base_revision }, None)
        }
        other => {
            let reason = match other {
                Ok(_) => format!(
                    "revision {} holds another text than the one this draft was edited from (restored from a backup or re-imported?)",
                    draft.base_revision
                ),
                Err(_) => format!(
                    "revision {} it started from is not in this database (restored from a backup or re-imported?)",
                    draft.base_revision
                ),
            };
            match store.custom_data(&draft.user_id) {
                Ok(current) => (current, Some(reason)),
                Err(e) => return not_opened(format!("draft not opened (it is kept): {e}")),
            }
        }
    };
    tracing::info!(user = %draft.user_id, doubtful = doubt.is_some(), "draft reopened");
    Action::DraftReady { record: Box::new(record), base, draft, doubt }
}

/// The action an input event stands for in the current state, if any.
pub fn action_for_event(state: &State, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => keymap::action_for(state.mode(), key),
        Event::Paste(text) => match state.mode() {
            Mode::Edit => Some(Action::Paste(text)),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        // Only delivered with --mouse.
        Event::Mouse(mouse) if matches!(state.mode(), Mode::Browse | Mode::Filter) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::ScrollUp => Some(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                view::list_row_at(state.width, state.height, mouse.column, mouse.row).map(Action::SelectRow)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Does the work `update` asked for, feeding each answer back, until none is left. Without a
/// terminal (in tests) the terminal's work (suspend, clipboard, external editor) is skipped.
pub fn run_effects(runtime: &Runtime, state: &mut State, effects: Vec<Effect>) {
    run_effects_on(runtime, None, state, effects);
}

fn run_effects_on(
    runtime: &Runtime,
    mut terminal: Option<&mut terminal::Term>,
    state: &mut State,
    effects: Vec<Effect>,
) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        let answer = match (&mut terminal, effect) {
            (
                Some(terminal),
                effect @ (Effect::Suspend | Effect::CopyToClipboard { .. } | Effect::EditExternally { .. }),
            ) => perform_on_terminal(terminal, effect),
            (_, effect) => match (&runtime.workers, Work::of(&effect)) {
                // Store work goes to the workers; its answer comes back through the loop.
                (Some(workers), Some(work)) => {
                    workers.submit(work, effect);
                    None
                }
                _ => perform(runtime, effect),
            },
        };
        if let Some(answer) = answer {
            queue.extend(update(state, answer));
        }
    }
}

/// Work on the terminal itself, answered as an action.
fn perform_on_terminal(terminal: &mut terminal::Term, effect: Effect) -> Option<Action> {
    let failed = |what: &str, e: std::io::Error| Action::StoreFailed { message: format!("{what}: {e}") };
    Some(match effect {
        Effect::Suspend => match terminal::shell_to_return_to() {
            Ok(()) => match terminal::suspend(terminal) {
                Ok(()) => Action::Resumed,
                Err(e) => failed("could not suspend", e),
            },
            // Stopping now would be for good: say so and go on.
            Err(why) => {
                tracing::info!(%why, "Ctrl-Z refused: no shell to return to");
                Action::SuspendRefused { reason: format!("not suspended: no shell to return to — {why}") }
            }
        },
        Effect::CopyToClipboard { text } => match terminal::send(terminal, &osc52(&text)) {
            Ok(()) => return None,
            Err(e) => failed("could not copy", e),
        },
        Effect::EditExternally { user_id, user_handle, base, text } => {
            let result = edit_externally(terminal, &text);
            Action::EditedExternally { user_id, user_handle, base, result }
        }
        // Only terminal work is routed here.
        _ => return None,
    })
}

/// The OSC 52 request that puts `text` on the terminal's clipboard (`c`), as terminals and
/// tmux (with `set-clipboard on`) understand it, also over SSH.
pub fn osc52(text: &str) -> Vec<u8> {
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend(base64(text.as_bytes()).into_bytes());
    out.push(0x07);
    out
}

/// Standard base64 with padding (RFC 4648).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the status line says when the external editor did not end well: the shell's 127 and
/// 126 mean it never ran, which "exited with exit status: 127" does not tell an operator.
fn editor_failed(editor: &str, code: Option<i32>) -> String {
    let editor = inert::line(editor);
    match code {
        Some(127) => format!("editor `{editor}` was not found (set $VISUAL or $EDITOR); nothing was saved"),
        Some(126) => format!("editor `{editor}` cannot be run (not executable); nothing was saved"),
        Some(code) => format!("editor `{editor}` exited with status {code}; nothing was saved"),
        None => format!("editor `{editor}` was stopped by a signal; nothing was saved"),
    }
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi` on a private temporary file holding `text`, with
/// the terminal given back meanwhile; returns what the file holds afterwards.
fn edit_externally(terminal: &mut terminal::Term, text: &str) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let path =
        std::env::temp_dir().join(format!("custodian-{}-{:08x}.json", std::process::id(), fastrand::u32(..)));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{text}\n").as_bytes()));
    if let Err(e) = written {
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    let ran = terminal::leave().and_then(|()| {
        // As git does: the variable may hold arguments (`code --wait`), so a shell reads it.
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$@\""))
            .arg(&editor)
            .arg(&path)
            .status()
    });
    // The editor's own Ctrl-C reached custodian too: it was not meant for custodian.
    INTERRUPTED.store(false, Ordering::Relaxed);
    let resumed = terminal::resume(terminal);
    let result = match ran {
        Ok(status) if status.success() => {
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        Ok(status) => Err(editor_failed(&editor, status.code())),
        Err(e) => Err(format!("cannot run {}: {e}", inert::line(&editor))),
    };
    let _ = std::fs::remove_file(&path);
    // The edit is answered even when the terminal cannot be taken back (it went away while
    // the editor ran): the answer puts it in custodian's editor or saves it, and the loop
    // then ends on the broken terminal, keeping an unsaved edit as a draft.
    match (resumed, result) {
        (Err(e), Err(_)) => Err(format!("cannot take the terminal back: {e}")),
        (_, result) => result,
    }
}

/// A store error as the screen's answer: a lost connection is its own (the screen keeps
/// saying so until a reconnect), anything else a message.
fn store_failed(error: StoreError) -> Action {
    if error.is_connection_lost() {
        // The whole of it (the server) goes to the log; the status line, which also says
        // "connection lost", keeps to what it means here.
        tracing::warn!(%error, "connection lost");
        let message = match error {
            StoreError::ConnectionLost { detail, .. } if !detail.is_empty() => "the save did not happen",
            _ => "the server ended the session or the network dropped",
        };
        Action::ConnectionLost { message: message.to_owned() }
    } else if let StoreError::TimedOut { seconds, .. } = error {
        // The status line has no room for the server's URL (the log has it).
        tracing::warn!(%error, "statement timeout");
        Action::StoreFailed {
            message: format!(
                "the server did not answer within {seconds} s (statement_timeout); nothing was changed, try again"
            ),
        }
    } else {
        Action::StoreFailed { message: error.to_string() }
    }
}

/// One piece of work, answered as an action (or silently done).
pub fn perform(runtime: &Runtime, effect: Effect) -> Option<Action> {
    let store = runtime.store;
    let failed = store_failed;
    Some(match effect {
        Effect::Check { generation, text, limits } => match &runtime.checker {
            Some(checker) => {
                checker.submit(generation, text, limits);
                return None;
            }
            None => check::check(generation, &text, &limits, None),
        },
        Effect::LoadRows(request) => {
            let rows = store.rows(&request.seek, request.limit);
            let counted = |rows| Ok((rows, if request.count { Some(store.user_count()?) } else { None }));
            match rows.and_then(counted) {
                Ok((rows, total)) => Action::RowsLoaded { request, rows, total },
                Err(e) => failed(e),
            }
        }
        Effect::ReadCurrent { id, purpose } => {
            match store.user(&id).and_then(|r| Ok((r, store.custom_data(&id)?))) {
                Ok((record, document)) => Action::CurrentRead { purpose, record: Box::new(record), document },
                Err(e) => failed(e),
            }
        }
        Effect::SelectUser { id } => match store.entry(&id) {
            Ok(entry) => Action::UserToSelect { entry: Box::new(entry) },
            Err(e) => failed(e),
        },
        Effect::LoadUser { id } => match store.user(&id).and_then(|r| Ok((r, store.custom_data(&id)?))) {
            Ok((record, document)) => Action::UserLoaded { record: Box::new(record), document },
            Err(e) => failed(e),
        },
        Effect::Save { id, data, expected } => {
            match store.replace_custom_data(&id, &data, Some(expected), &Author::from_environment()) {
                Ok(outcome) => {
                    // Ids and revisions only: the removed keys are the operator's data.
                    tracing::info!(user = %id, revision = outcome.revision(), "save from the editor");
                    Action::Saved { id, outcome }
                }
                // The COMMIT went and no answer came: neither saved nor not saved until the
                // store, reconnected, is asked.
                Err(StoreError::SaveOutcomeUnknown { server, user, revision }) => {
                    tracing::warn!(user = %id, revision, "save outcome unknown: the connection went during its commit");
                    let message = StoreError::SaveOutcomeUnknown { server, user, revision }.to_string();
                    Action::SaveOutcomeUnknown { id, data, revision, message }
                }
                // On PostgreSQL a write outside custodian (Logto, psql) is a conflict too.
                Err(refusal @ (StoreError::Conflict { .. } | StoreError::ChangedOutside { .. })) => {
                    match store.custom_data(&id) {
                        Ok(theirs) => {
                            tracing::warn!(user = %id, %refusal, "save refused: changed since it was read");
                            Action::SaveConflict { id, theirs }
                        }
                        Err(e) => failed(e),
                    }
                }
                Err(e) => failed(e),
            }
        }
        Effect::KeepRecovery { edit, theirs } => {
            let session = edit.session.clone();
            let user_id = edit.user_id.clone();
            // A recovery file's session part is new each time: never the same name twice.
            let recovery = Draft::new(
                DraftKind::Recovery,
                &runtime.database,
                EditSnapshot { session: crate::draft::new_session(), ..edit },
                now_ms(),
            );
            match runtime.drafts.save(&recovery) {
                Ok(path) => {
                    tracing::info!(path = %path.display(), user = %user_id, "edit kept in a recovery file");
                    // The edit is in the recovery file: the session's own draft is no longer needed.
                    runtime.drafts.remove_session(&runtime.database, &user_id, &session);
                    Action::RecoveryKept { path: path.display().to_string(), theirs }
                }
                Err(e) => Action::RecoveryFailed { message: e.to_string() },
            }
        }
        Effect::DiscardDraft { user_id, session } => {
            runtime.drafts.remove_session(&runtime.database, &user_id, &session);
            return None;
        }
        Effect::RemoveFoundDraft(draft) => {
            tracing::info!(user = %draft.user_id, file = %draft.file_name(), "draft discarded");
            runtime.drafts.remove(&draft);
            return None;
        }
        Effect::LoadDraft(found) => open_found_draft(runtime, found),
        Effect::PrefixSearch { generation, query, limit } => match store.prefix_matches(&query, limit) {
            Ok(hits) => Action::SearchHits { generation, hits, scanned: 0, done: false },
            Err(e) => failed(e),
        },
        Effect::Scan { generation, query } => {
            if let Some(scanner) = &runtime.scanner {
                scanner.start(generation, query);
                return None;
            }
            // No scanner thread (tests): the whole scan, answered at once.
            let (mut hits, mut scanned, mut failure) = (Vec::new(), 0, None);
            scan(store, generation, &query, &|| true, |answer| match answer {
                Action::SearchHits { hits: step, scanned: count, .. } => {
                    hits.extend(step);
                    scanned += count;
                    true
                }
                other => {
                    failure = Some(other);
                    false
                }
            });
            failure.unwrap_or(Action::SearchHits { generation, hits, scanned, done: true })
        }
        Effect::FindUser { query } => match store.resolve(&query).and_then(|id| store.entry(&id)) {
            Ok(entry) => Action::UserFound { entry: Box::new(entry) },
            Err(e) => failed(e),
        },
        Effect::Export { path } => match crate::export::to_file(store, &path) {
            Ok(count) => Action::Exported { path: path.display().to_string(), count },
            Err(e) => match e.downcast_ref::<StoreError>() {
                Some(lost) if lost.is_connection_lost() => {
                    Action::ConnectionLost { message: format!("{e:#}") }
                }
                _ => Action::StoreFailed { message: format!("{e:#}") },
            },
        },
        // The terminal's work, without a terminal (in tests): nothing to do.
        Effect::Suspend | Effect::CopyToClipboard { .. } | Effect::EditExternally { .. } => return None,
        Effect::StopScan => {
            if let Some(scanner) = &runtime.scanner {
                scanner.stop();
            }
            return None;
        }
        Effect::Reconnect => match store.reconnect() {
            Ok(()) => Action::Reconnected,
            Err(e) => match e {
                // Still unreachable: the screen keeps saying the connection is lost. The server's
                // URL (already in the log) is left out of the status line, which has no room.
                StoreError::Connection(message) => {
                    tracing::warn!(%message, "reconnecting failed");
                    let why = message
                        .strip_prefix("postgres://")
                        .and_then(|rest| rest.split_once(": "))
                        .map_or(message.as_str(), |(_, why)| why);
                    Action::ConnectionLost { message: why.to_owned() }
                }
                other => failed(other),
            },
        },
        Effect::ResolveSave { id, data, revision } => match store.save_landed(&id, &data, revision) {
            Ok(landed) => {
                tracing::info!(user = %id, revision, landed, "save outcome found after reconnecting");
                Action::SaveResolved { id, revision, landed }
            }
            Err(e) => failed(e),
        },
        Effect::SyncKeys => {
            if let Some(scanner) = &runtime.scanner {
                scanner.sync_keys();
                return None;
            }
            // No scanner thread (tests): synced here, answered at once.
            return keys_synced(store.sync_keys());
        }
        Effect::LoadHistory { id } => {
            // Each revision is read, summed up and let go: one document in memory at a time.
            let summed_up = store.history(&id).and_then(|infos| {
                let skip = infos.len().saturating_sub(HISTORY_LIMIT);
                let mut reader = HistoryReader::new();
                let mut revisions = Vec::new();
                let mut current_text = String::new();
                for info in infos.into_iter().skip(skip) {
                    let text = store.revision_text(&id, info.revision)?;
                    revisions.push((info.clone(), reader.next(info.revision, &text)));
                    if info.current {
                        current_text = text;
                    }
                }
                Ok((revisions, current_text))
            });
            match summed_up {
                Ok((revisions, current_text)) => Action::HistoryLoaded { id, revisions, current_text },
                Err(e) => failed(e),
            }
        }
        Effect::PatchDryRun { file, selection, shape } => {
            let result = crate::cli::patch::read_patch(&file).and_then(|patch| {
                let shape = shape.0.as_deref();
                let (report, _) = crate::cli::patch::run_for_screen(
                    store,
                    &patch,
                    &selection,
                    shape,
                    app::PATCH_SAMPLES,
                    None,
                )?;
                Ok((Box::new(report), patch))
            });
            let result = result.map_err(|e| format!("{e:#}"));
            Action::PatchReady { file: file.display().to_string(), result }
        }
        Effect::ApplyPatch { patch, selection, shape } => {
            let batch = crate::store::BatchId::new();
            let result = crate::cli::patch::run_for_screen(
                store,
                &patch,
                &selection,
                shape.0.as_deref(),
                0,
                Some(&batch),
            );
            let result = match result {
                Ok((report, Some(summary))) => Ok((summary, report.failed)),
                Ok((_, None)) => Err("nothing was written".to_owned()),
                Err(e) => Err(format!("{e:#}")),
            };
            Action::PatchApplied { result }
        }
        Effect::LoadRevision { id, revision } => match store.revision_text(&id, revision) {
            Ok(text) => Action::RevisionLoaded { id, revision, text },
            Err(e) => failed(e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{base64, osc52};

    #[test]
    fn base64_matches_rfc_4648() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn osc52_is_the_clipboard_request() {
        assert_eq!(osc52("{}"), b"\x1b]52;c;e30=\x07");
    }
}

#[cfg(test)]
mod editor_failed_tests {
    use super::editor_failed;

    #[test]
    fn an_editor_the_shell_cannot_find_or_run_is_named_as_such() {
        assert_eq!(
            editor_failed("nano-typo", Some(127)),
            "editor `nano-typo` was not found (set $VISUAL or $EDITOR); nothing was saved"
        );
        assert!(editor_failed("/tmp/x", Some(126)).contains("cannot be run"));
        assert_eq!(editor_failed("vim", Some(1)), "editor `vim` exited with status 1; nothing was saved");
        assert!(editor_failed("vim", None).contains("stopped by a signal"));
    }
}
