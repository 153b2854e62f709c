//! The filter's scan of every user, on a thread of its own, answering on a channel that
//! wakes the event loop.

use super::*;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;

use crate::store::{ListKey, StoreError, UserStore};
use crate::tui::app::Action;

/// Users the background scan reads per step: a few milliseconds of work, then it looks
/// whether it has been cancelled.
pub(super) const SCAN_STEP: usize = 5_000;

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
    cancels: Arc<Cancels>,
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
/// replaced. A cancel request lands whenever the server gets it: one meant for a scan before
/// that reaches this one's step instead (typing fast on a slow link sends one a keystroke) is
/// taken again, as often as [`Cancels`] says requests are still on their way; a cancel no one
/// here asked for is said. A scan on a connection that was lost reconnects once first (the
/// screen's own connection is reconnected by `r`; this is the scanner's).
pub fn scan(
    store: &dyn UserStore,
    (generation, query): (u64, &str),
    current: &dyn Fn() -> bool,
    cancels: &Cancels,
    mut answer: impl FnMut(Action) -> bool,
) {
    let mut after: Option<ListKey> = None;
    let mut wanted = app::MAX_MATCHES + 1;
    let mut reconnected = false;
    loop {
        let step = crate::crash::catch(|| {
            #[cfg(debug_assertions)]
            crate::crash::panic_in_test_scan();
            store.scan_matches(query, after.as_ref(), SCAN_STEP, wanted)
        })
        .unwrap_or_else(|panicked| Err(StoreError::Database(panicked.to_string())));
        let step = match step {
            Err(StoreError::Cancelled) => {
                let ours = cancels.met_one();
                if !current() {
                    return;
                }
                if ours {
                    continue;
                }
                Err(StoreError::Cancelled)
            }
            Err(e) if e.is_connection_lost() && !reconnected => {
                reconnected = true;
                match store.reconnect() {
                    Ok(_) => continue,
                    Err(_) => Err(e),
                }
            }
            other => other,
        };
        let (step, last) = match step {
            Ok(step) => {
                wanted = wanted.saturating_sub(step.hits.len());
                let reached = step.next.clone();
                after = step.next.filter(|_| wanted > 0);
                let (scanned, done) = (step.scanned as u64, after.is_none());
                (Action::SearchHits { generation, hits: step.hits, scanned, reached, done }, done)
            }
            Err(e) => (Action::SearchStopped { generation, failure: Box::new(store_failed(e)) }, true),
        };
        if !answer(step) || last {
            return;
        }
    }
}

/// The cancel requests the scanner sent and the cancelled steps its scans met. Each request
/// stops at most one step (or none, when it lands between two), so a cancelled step is one of
/// ours while fewer were met than sent. Three retries were allowed before: five keystrokes
/// while a slow server was busy sent four, and the last query failed with "the query was
/// cancelled" and no hit.
#[derive(Debug, Default)]
pub struct Cancels {
    sent: AtomicU64,
    met: AtomicU64,
}

impl Cancels {
    /// Counts a cancel request about to be sent.
    pub fn sent_one(&self) {
        self.sent.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a step the server cancelled; whether a request of ours was still on its way.
    pub fn met_one(&self) -> bool {
        self.met.fetch_add(1, Ordering::SeqCst) < self.sent.load(Ordering::SeqCst)
    }
}

/// The scanner's answers, and a pipe it writes a byte to after each one, so the event loop,
/// which sleeps in `poll` on the terminal, wakes for an answer as it does for a key.
pub struct ScanAnswers {
    receiver: mpsc::Receiver<Action>,
    pub(super) wake: std::os::fd::OwnedFd,
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
    pub(super) fn drain_wake(&self) {
        let mut buffer = [0u8; 64];
        // SAFETY: reads into a local buffer of the length given, from our own pipe.
        while unsafe { libc::read(self.wake.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) } > 0 {}
    }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub(super) fn wake_pipe() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
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
pub(super) enum ScannerJob {
    Scan(u64, String),
    /// [`UserStore::sync_keys`], on the scanner's connection: the screen's stays free.
    SyncKeys,
}

/// The store's answer to a key sync, as the loop takes it: nothing when nothing changed.
/// The keys' sync on the scanner's own session, which no `r` replaces: one lost, or left on a
/// server that takes no writes (a failover and back), is replaced once and the sync tried
/// again (review57: each `r` after a failback turned the screen read-only again, and a lost
/// session was said as something `init` would mend).
fn synced_once_more(
    sync: impl Fn() -> Result<bool, StoreError>,
    reconnect: impl Fn() -> Result<bool, StoreError>,
) -> Result<bool, StoreError> {
    match sync() {
        Err(e) if e.is_connection_lost() || matches!(e, StoreError::ServerTakesNoWrites { .. }) => {
            match reconnect() {
                Ok(true) => sync(),
                // Still no writes there (or no server): the first answer stands.
                Ok(false) | Err(_) => Err(e),
            }
        }
        other => other,
    }
}

pub(super) fn keys_synced(result: Result<bool, StoreError>) -> Option<Action> {
    match result {
        Ok(true) => Some(Action::KeysChanged),
        Ok(false) => None,
        // Not a sync `init` would mend: `init` is a write too (bb57 F4).
        Err(e @ StoreError::ServerTakesNoWrites { .. }) => Some(store_failed(e)),
        Err(e) => {
            // Said with what it means and what mends it: "try again" met the same wall each time.
            Some(Action::StoreFailed {
                message: format!(
                    "the list's keys were not brought up to date, so users created or renamed outside custodian since the last sync may be missing from the list and the filter (`custodian --db URL init` brings them up to date): {e}"
                ),
            })
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
        let cancels = Arc::new(Cancels::default());
        let met = Arc::clone(&cancels);
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
                    let result =
                        crate::crash::catch(|| synced_once_more(|| store.sync_keys(), || store.reconnect()))
                            .unwrap_or_else(|panicked| Err(StoreError::Database(panicked.to_string())));
                    if let Some(answer) = keys_synced(result) {
                        send(answer);
                    }
                }
                if let Some((generation, query)) = newest {
                    let current = || running.load(Ordering::SeqCst) == generation;
                    if current() {
                        busy.store(true, Ordering::SeqCst);
                        scan(&*store, (generation, &query), &current, &met, |answer| {
                            send(answer) && current()
                        });
                        busy.store(false, Ordering::SeqCst);
                    }
                }
            }
        })?;
        let scanner =
            Self { queries: Some(queries), current, store: Some(held), busy, cancels, thread: Some(thread) };
        Ok((scanner, ScanAnswers { receiver, wake }))
    }

    pub(super) fn start(&self, generation: u64, query: String) {
        self.current.store(generation, Ordering::SeqCst);
        self.cancel_running();
        if let Some(queries) = &self.queries {
            let _ = queries.send(ScannerJob::Scan(generation, query));
        }
    }

    /// Asks for [`UserStore::sync_keys`] on the scanner's thread (and connection); a running
    /// scan finishes first.
    pub(super) fn sync_keys(&self) {
        if let Some(queries) = &self.queries {
            let _ = queries.send(ScannerJob::SyncKeys);
        }
    }

    pub(super) fn stop(&self) {
        self.current.store(u64::MAX, Ordering::SeqCst);
        self.cancel_running();
    }

    /// The server stops working for a query nobody waits for any more (PostgreSQL: a cancel
    /// request, sent from a thread of its own; redb: nothing, its steps are short).
    pub(super) fn cancel_running(&self) {
        if self.busy.load(Ordering::SeqCst)
            && let Some(store) = &self.store
        {
            self.cancels.sent_one();
            store.cancel_running();
        }
    }

    /// [`Scanner::shut_down`], waiting at most `limit` for the thread; whether it ended. One
    /// inside a call the server never answers (a link gone silent under a search or the key
    /// sync) is left to end with the process: the way out waited for it for good, deaf to
    /// every signal (bb78 F1).
    pub fn shut_down_within(&mut self, limit: std::time::Duration) -> bool {
        let Some(thread) = self.let_go() else { return true };
        let deadline = std::time::Instant::now() + limit;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                // Dropped, the handle lets the thread go.
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = thread.join();
        true
    }

    /// Ends the thread and waits for it: a running scan stops after its current step (a few
    /// milliseconds), and the thread's hold on the store is gone when this returns.
    pub fn shut_down(&mut self) {
        if let Some(thread) = self.let_go() {
            // A scan that panicked has already let go of the store while unwinding.
            let _ = thread.join();
        }
    }

    /// Stops the scan, lets go of the store and of the queue (the thread ends at its next
    /// look), and hands over the thread to wait for.
    fn let_go(&mut self) -> Option<std::thread::JoinHandle<()>> {
        self.stop();
        self.store = None;
        self.queries = None;
        self.thread.take()
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Lowers the calling thread's CPU priority (nice 10), so that on a busy or small machine
/// the scan takes what the UI thread leaves and keys never queue behind a step. Linux
/// applies `setpriority` to the thread; elsewhere this is a best effort.
pub(super) fn yield_to_the_operator() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on this thread's own id.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// Stops the scanner at the way out, waiting for it as long as for a read on the way (2 s over
/// a link); the line to say when it did not end then.
pub(super) fn stopped_at_the_end(runtime: &mut super::Runtime) -> Option<&'static str> {
    let limit = if runtime.store.reads_over_a_link() {
        super::workers::READS_AT_THE_END
    } else {
        super::workers::WRITES_AT_THE_END
    };
    let ended = runtime.scanner.as_mut().is_none_or(|scanner| scanner.shut_down_within(limit));
    (!ended).then_some(
        "custodian: the search or key sync on its way got no answer within 2 s; nothing was being written",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_sync_refused_for_its_session_is_tried_once_more_on_a_new_one_that_takes_writes() {
        let no_writes = || StoreError::ServerTakesNoWrites { server: "postgres://h/db".into() };
        // Refused, then the new session takes writes: synced.
        let calls = Cell::new(0);
        let sync = || {
            calls.set(calls.get() + 1);
            if calls.get() == 1 { Err(no_writes()) } else { Ok(true) }
        };
        assert!(matches!(synced_once_more(sync, || Ok(true)), Ok(true)));
        assert_eq!(calls.get(), 2);
        // The new session takes none either: the refusal stands, tried once.
        let calls = Cell::new(0);
        let sync = || {
            calls.set(calls.get() + 1);
            Err(no_writes())
        };
        assert!(matches!(synced_once_more(sync, || Ok(false)), Err(StoreError::ServerTakesNoWrites { .. })));
        assert_eq!(calls.get(), 1);
        // Another failure is not retried.
        let reconnected = Cell::new(false);
        let failed = synced_once_more(
            || Err(StoreError::Database("disk".into())),
            || {
                reconnected.set(true);
                Ok(true)
            },
        );
        assert!(matches!(failed, Err(StoreError::Database(_))) && !reconnected.get());
    }
}
