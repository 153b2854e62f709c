//! The store's workers: reads and writes off the UI thread, one lane each, and their answers
//! applied to the state.

use super::*;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::draft::Drafts;
use crate::store::UserStore;
use crate::tui::app::{Action, Effect, Pending, State, update};

/// How long the screen waits, after the keys of a batch, for the answers to the reads they
/// asked for before drawing: a local store answers in microseconds, so the frame shows the
/// new row at once, as before; a store slower than this (a far server) gets a frame that
/// says "loading…" and another when the answer comes. Writes are never waited for here.
pub(super) const SETTLE: Duration = Duration::from_millis(8);

/// What a piece of store work is: which thread does it, what the status line says, and
/// whether a newer request of the same kind makes its answer worthless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Work {
    /// Rows of the list: only the newest request's answer is applied.
    Rows,
    /// The selected user: only the newest request's answer is applied.
    User,
    /// The filter's index lookup: only the newest keystroke's answer is applied.
    Prefix,
    Save,
    /// A confirmed `:patch`, written as one batch.
    Batch,
    Export,
    /// Anything else the operator asked for (history, `:user`, a draft, a fresh read).
    Read,
}

impl Work {
    /// The store work an effect asks for; `None` for work that is not the store's.
    pub(super) fn of(effect: &Effect) -> Option<Work> {
        Some(match effect {
            Effect::LoadRows(_) => Work::Rows,
            Effect::LoadUser { .. } => Work::User,
            Effect::PrefixSearch { .. } => Work::Prefix,
            Effect::Save { .. } => Work::Save,
            Effect::ApplyPatch { .. } => Work::Batch,
            Effect::Export { .. } => Work::Export,
            Effect::PatchDryRun { .. } => Work::Read,
            // Opening a draft stays on the screen's thread: it takes the draft file over in the
            // drafts directory, which only that thread touches.
            Effect::ReadCurrent { .. }
            | Effect::SelectUser { .. }
            | Effect::FollowUser { .. }
            | Effect::ReadSchema { .. }
            | Effect::FindUser { .. }
            | Effect::LoadHistory { .. }
            | Effect::LoadChanges { .. }
            | Effect::LoadRevision { .. }
            // Connecting takes up to connect_timeout: never on the screen's thread.
            | Effect::Reconnect
            | Effect::ResolveSave { .. } => Work::Read,
            _ => return None,
        })
    }

    /// Writes get a thread of their own: a save waiting up to 3 s for another writer's lock
    /// must not hold up the reads that browsing needs meanwhile.
    pub(super) fn writes(self) -> bool {
        matches!(self, Work::Save | Work::Batch | Work::Export)
    }

    /// The slot that says which request of this kind is the newest, for kinds where only
    /// the newest answer counts.
    pub(super) fn newest_slot(self) -> Option<usize> {
        match self {
            Work::Rows => Some(0),
            Work::User => Some(1),
            Work::Prefix => Some(2),
            _ => None,
        }
    }

    pub(super) fn pending(self) -> Pending {
        match self {
            Work::Save => Pending::Saving,
            Work::Batch => Pending::Applying,
            Work::Export => Pending::Exporting,
            _ => Pending::Loading,
        }
    }
}

/// One piece of store work, numbered in the order it was asked for.
pub(super) struct Job {
    ticket: u64,
    work: Work,
    effect: Effect,
}

/// A job's answer; `None` when it was skipped (a newer request of its kind came first) or
/// needs no answer.
pub(super) struct Done {
    ticket: u64,
    answer: Option<Action>,
    /// `false` for word of work still under way (an export's progress): the job stays out.
    last: bool,
}

/// The newest ticket of each kind where only the newest answer counts (see [`Work::newest_slot`]).
pub(super) type Newest = [AtomicU64; 3];

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
    pub(super) wake: std::os::fd::OwnedFd,
    newest: Arc<Newest>,
    pub(super) next_ticket: AtomicU64,
    /// Jobs sent and not answered yet: their tickets and kinds.
    in_flight: std::sync::Mutex<Vec<(u64, Work)>>,
}

/// One worker thread and the way to give it jobs.
pub(super) struct Lane {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lane {
    pub(super) fn start(
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
                let send = |answer, last| {
                    let _ = answers.send(Done { ticket, answer, last });
                    // SAFETY: writes one byte from a local to our own pipe; a full pipe already
                    // wakes the loop, so a failed write loses nothing.
                    unsafe { libc::write(waker.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
                };
                let answer = if superseded {
                    None
                } else {
                    let tell = |action| send(Some(action), false);
                    crate::crash::catch(|| perform_telling(&runtime, effect, &tell))
                        .unwrap_or_else(|panicked| Some(panicked_answer(&panicked)))
                };
                send(answer, true);
            }
        })?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Lets the thread finish the jobs it has and waits for it.
    pub(super) fn shut_down(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A store call that panicked: inside redb, reading a file cut short or damaged under the
/// screen, that is a damaged file, and the screen turns read-only as for one a read refused —
/// it said so on the status line only, and the way out asked to throw the edit away, its `y`
/// removing the draft (bb94 F2).
fn panicked_answer(panicked: &crate::crash::Panicked) -> Action {
    let message = panicked.to_string();
    if panicked.in_database_library {
        Action::WritesRefused { why: crate::tui::app::ReadOnly::FileDamaged, message }
    } else {
        Action::StoreFailed { message }
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

    pub(super) fn in_flight(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Work)>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands the work to its thread.
    pub(super) fn submit(&self, work: Work, effect: Effect) {
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
    pub(super) fn try_answer(&self) -> Option<Option<Action>> {
        let Done { ticket, answer, last } = self.answers.try_recv().ok()?;
        if !last {
            return Some(answer);
        }
        let mut in_flight = self.in_flight();
        let work = in_flight.iter().position(|(t, _)| *t == ticket).map(|i| in_flight.remove(i).1);
        drop(in_flight);
        let current = work
            .and_then(Work::newest_slot)
            .is_none_or(|slot| self.newest[slot].load(Ordering::SeqCst) == ticket);
        Some(answer.filter(|_| current))
    }

    /// What the status line should say is pending.
    pub(super) fn pending(&self) -> Option<Pending> {
        self.in_flight().iter().map(|(_, work)| work.pending()).max()
    }

    /// Whether reads (what a frame is waited for) sent from ticket `since` on are still out.
    pub(super) fn reading_since(&self, since: u64) -> bool {
        self.in_flight().iter().any(|(ticket, work)| *ticket >= since && !work.writes())
    }

    /// Whether a write (a save, a batch, an export) is still out.
    pub fn writing(&self) -> bool {
        self.in_flight().iter().any(|(_, work)| work.writes())
    }

    /// Whether an export is still out.
    fn exporting(&self) -> bool {
        self.in_flight().iter().any(|(_, work)| *work == Work::Export)
    }

    /// Whether anything at all is still out.
    pub fn busy(&self) -> bool {
        !self.in_flight().is_empty()
    }

    /// Waits up to `timeout` for an answer's wake-up byte.
    pub(super) fn wait(&self, timeout: Duration) {
        let mut fd = libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; poll writes only its revents.
        unsafe { libc::poll(&mut fd, 1, timeout.as_millis().max(1) as i32) };
        self.drain_wake();
    }

    pub(super) fn drain_wake(&self) {
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

pub(super) fn take_answers_on(
    runtime: &Runtime,
    mut terminal: Option<&mut terminal::Term>,
    state: &mut State,
) -> bool {
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
    wait_for_answers_while(runtime, state, timeout, false, &mut |_| {})
}

/// [`wait_for_answers`], returning early (not all answered) once no write is out when
/// `writing` was (the caller then gives the reads left their own time).
/// `shown` is given the state after each round of answers (the way out draws it).
fn wait_for_answers_while(
    runtime: &Runtime,
    state: &mut State,
    timeout: Duration,
    writing: bool,
    shown: &mut dyn FnMut(&State),
) -> bool {
    let Some(workers) = &runtime.workers else { return true };
    let deadline = Instant::now() + timeout;
    loop {
        if take_answers(runtime, state) {
            shown(state);
        }
        if !workers.busy() {
            return true;
        }
        if writing && !workers.writing() {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        workers.wait(left);
    }
}

/// How long the way out waits for a write on its way (a save, a batch, an export): its
/// outcome is said before custodian leaves.
pub const WRITES_AT_THE_END: Duration = Duration::from_secs(30);
/// How long an export stopped at the way out is given to end: it looks at every user.
pub const EXPORT_STOPS_WITHIN: Duration = Duration::from_secs(5);
/// How long it waits when only reads are out: one leaves nothing in doubt, and an operator
/// who quits while a slow link holds a page or a profile was kept 30 s for nothing.
pub const READS_AT_THE_END: Duration = Duration::from_secs(2);

/// [`wait_for_answers`] on the way out: up to [`WRITES_AT_THE_END`] while a write is out,
/// then for the reads (those the write's answer asked for too) [`READS_AT_THE_END`] on a link,
/// and on a file what is left of [`WRITES_AT_THE_END`] (at least the reads' time); whether all
/// answered. An export still out then is stopped and given [`EXPORT_STOPS_WITHIN`] more.
pub fn wait_at_the_end(runtime: &Runtime, state: &mut State) -> bool {
    wait_at_the_end_within(runtime, state, WRITES_AT_THE_END)
}

/// [`wait_at_the_end`] with `writes` for [`WRITES_AT_THE_END`] (tests wait less).
#[doc(hidden)]
pub fn wait_at_the_end_within(runtime: &Runtime, state: &mut State, writes: Duration) -> bool {
    wait_at_the_end_shown(runtime, state, writes, &mut |_| {})
}

/// [`wait_at_the_end_within`] that gives `shown` the state as each answer changes it: the
/// screen drawn meanwhile, an export's count goes on (it stood still for the 30 s a quit
/// waits: bb96 F1).
pub fn wait_at_the_end_shown(
    runtime: &Runtime,
    state: &mut State,
    writes: Duration,
    shown: &mut dyn FnMut(&State),
) -> bool {
    let started = Instant::now();
    let mut writes_at_the_end = writes;
    let mut exports_stopped = false;
    loop {
        let writing = runtime.workers.as_ref().is_some_and(StoreWorkers::writing);
        if !writing {
            let reads = if runtime.store.reads_over_a_link() {
                READS_AT_THE_END
            } else {
                writes_at_the_end.saturating_sub(started.elapsed()).max(READS_AT_THE_END)
            };
            return wait_for_answers_while(runtime, state, reads, false, shown);
        }
        let mut left = writes_at_the_end.saturating_sub(started.elapsed());
        if left.is_zero() && !exports_stopped && runtime.workers.as_ref().is_some_and(StoreWorkers::exporting)
        {
            // An export still under way (ten million users, a starved box) is asked to stop at
            // its next user: left running, it held the store, and the file was left needing a
            // repair (bb37 #1). A write queued behind it is not stopped.
            state.exports_stop.stop();
            exports_stopped = true;
            writes_at_the_end += EXPORT_STOPS_WITHIN;
            left = EXPORT_STOPS_WITHIN;
        }
        if left.is_zero() {
            return false;
        }
        // Back here once the writes are answered, with reads still out.
        if wait_for_answers_while(runtime, state, left, true, shown) {
            return true;
        }
    }
}

/// After a key: waits for the reads it asked for (those from ticket `since` on), until
/// `deadline` — one [`SETTLE`] for a whole batch of keys, so a slow store delays a batch's
/// frame by at most that — so a local store's answer is in the very frame that follows the
/// key, and the next key is read against it, as when the store was called inline.
pub(super) fn settle(
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
pub(super) fn next_ticket(runtime: &Runtime) -> u64 {
    runtime.workers.as_ref().map_or(0, |w| w.next_ticket.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{SchemaSource, SharedShape, StopFlag};

    /// A store call that panicked inside redb (a file cut short under the screen) turns the
    /// screen read-only as a damaged file; a panic elsewhere stays a failure said (bb94 F2).
    #[test]
    fn a_panic_inside_redb_is_a_damaged_file_and_one_elsewhere_a_failure() {
        let panicked = |in_database_library| crate::crash::Panicked {
            message: "index out of bounds".into(),
            location: "x.rs:1".into(),
            in_database_library,
        };
        match panicked_answer(&panicked(true)) {
            Action::WritesRefused { why: crate::tui::app::ReadOnly::FileDamaged, message } => {
                assert!(message.starts_with("the database file is damaged"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(panicked_answer(&panicked(false)), Action::StoreFailed { .. }));
    }

    /// A confirmed `:patch` goes on the write lane as a batch: the status line says
    /// `applying…` and the save's watchdog leaves it alone (it was a save: `saving…`, and at
    /// 15 s the words of a save that may be stuck: bb38 F6).
    #[test]
    fn a_batch_is_written_on_the_write_lane_and_pending_as_applying_not_as_a_save() {
        let patch = crate::domain::patch::JsonPatch::parse(r#"[{"op":"add","path":"/a","value":1}]"#)
            .expect("a patch");
        let apply = Effect::ApplyPatch {
            patch,
            selection: crate::store::Selection::All,
            reviewed: Arc::from(Vec::new()),
            shape: SharedShape(None),
            schema: SchemaSource::File,
            write_flagged: false,
            stop: StopFlag::default(),
        };
        let work = Work::of(&apply).expect("store work");
        assert!(work.writes());
        assert_eq!(work.pending(), Pending::Applying);
        assert_eq!(Work::Save.pending(), Pending::Saving);
    }
}
