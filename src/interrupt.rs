//! Ctrl-C, Ctrl-\ (SIGQUIT), SIGTERM, SIGHUP (and the [other signals](other_ending_signals)
//! whose default ends a process) during a command that writes many users (`import`, `seed`,
//! `patch --yes`, `undo`). Killed by the signal's default action, the process would leave the
//! database file open — marked for a repair that a `--read-only` open cannot do. While such a
//! command runs, the first signal is only noted: the loop over the users stops at the next
//! user, the transaction is dropped (nothing written), the file is closed cleanly, and the
//! command says so (exit 130). A second signal ends the process at once, as before. `compact`,
//! which cannot stop halfway, says at once that it goes on, and ends.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use crate::store::StoreError;

fn flag() -> &'static Arc<AtomicBool> {
    static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    REQUESTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Files that go if the process is ended without unwinding (a signal's grace over, the way out
/// giving up on a worker): an export's temporary file stayed, a hidden copy of the users
/// (bb80 F4). Each is taken off again by its owner ([`ForcedExitRemoves`]).
fn removed_on_forced_exit() -> &'static std::sync::Mutex<Vec<std::path::PathBuf>> {
    static FILES: OnceLock<std::sync::Mutex<Vec<std::path::PathBuf>>> = OnceLock::new();
    FILES.get_or_init(std::sync::Mutex::default)
}

/// While alive, `path` is removed by [`remove_before_a_forced_exit`].
pub struct ForcedExitRemoves(std::path::PathBuf);

impl ForcedExitRemoves {
    pub fn new(path: &std::path::Path) -> Self {
        removed_on_forced_exit().lock().unwrap_or_else(|e| e.into_inner()).push(path.to_owned());
        Self(path.to_owned())
    }
}

impl Drop for ForcedExitRemoves {
    fn drop(&mut self) {
        removed_on_forced_exit().lock().unwrap_or_else(|e| e.into_inner()).retain(|path| *path != self.0);
    }
}

/// Removes the files registered with [`ForcedExitRemoves`]: the process is about to end without
/// their owners' own clean-up.
pub fn remove_before_a_forced_exit() {
    let files = std::mem::take(&mut *removed_on_forced_exit().lock().unwrap_or_else(|e| e.into_inner()));
    for path in files {
        let _ = std::fs::remove_file(path);
    }
}

/// While alive, the signals are noted instead of ending the process (until a second one).
pub struct Armed {
    ids: Vec<signal_hook::SigId>,
    /// Set when the guard goes: a [`Armed::ending_within`] watch stops looking.
    disarmed: Arc<AtomicBool>,
    /// Set once the store is connected ([`Armed::connected`]): before, nothing can have been
    /// written.
    connected: Arc<AtomicBool>,
}

/// Notes Ctrl-C, Ctrl-\, SIGTERM and SIGHUP from now until the returned guard is dropped. Where a
/// handler cannot be installed the signal keeps its default action.
pub fn arm() -> Armed {
    let mut ids = Vec::new();
    for signal in [SIGINT, SIGQUIT, SIGTERM, SIGHUP].into_iter().chain(other_ending_signals()) {
        let noted = Arc::clone(flag());
        // SAFETY: the action only loads and stores atomics, reads the monotonic clock and
        // takes the default action, all async-signal-safe.
        let registered = unsafe {
            signal_hook::low_level::register(signal, move || {
                let now = monotonic_millis();
                let first = FIRST_NOTED_AT.load(Ordering::SeqCst);
                // A second signal takes the default action; one within moments of the first is
                // the same request delivered twice: `timeout` sends its signal to the command
                // and again to its process group, and the second killed a `patch --yes` at
                // once, the file left for a repair, nothing said (bb81 F1).
                if noted.load(Ordering::SeqCst) && now.saturating_sub(first) >= SAME_REQUEST_WITHIN_MS {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
                if first == 0 {
                    FIRST_NOTED_AT.store(now.max(1), Ordering::SeqCst);
                }
                noted.store(true, Ordering::SeqCst);
            })
        };
        if let Ok(id) = registered {
            ids.push(id);
        }
    }
    Armed { ids, disarmed: Arc::default(), connected: Arc::default() }
}

/// When the first signal was noted (ms of the monotonic clock; 0: none yet).
static FIRST_NOTED_AT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Signals this soon after the first are the same request (an operator's second `Ctrl-C`
/// comes later than this).
const SAME_REQUEST_WITHIN_MS: u64 = 250;

/// The monotonic clock in milliseconds, read as a signal handler may.
fn monotonic_millis() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only the struct given; it is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1000 + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000
}

/// Signals besides HUP, TERM, INT and QUIT whose default action ends the process: the named
/// ones, STKFLT and every real-time signal glibc leaves to programs (STKFLT and `RTMIN`…`RTMAX`
/// still killed the screen on the spot: bb45 F1). Not SYS and TRAP: the kernel sends them for
/// a refused system call and a breakpoint, where going on as if nothing came is wrong. Nor
/// XFSZ: [`ignore_file_size_signal`].
pub fn other_ending_signals() -> impl Iterator<Item = libc::c_int> {
    [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGXCPU,
        libc::SIGSTKFLT,
    ]
    .into_iter()
    .chain(libc::SIGRTMIN()..=libc::SIGRTMAX())
}

/// The kernel sends XFSZ to a write past the file-size limit (`ulimit -f`); ignored, the write
/// fails with "File too large" and is said as the failed write it is. Noted as a signal, an
/// import at the limit said it was interrupted (bb49 F4); by default it ends the process.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// The editor custodian starts keeps XFSZ's default action, as it had it from the shell (an
/// ignored signal stays ignored across `exec`).
pub fn give_the_file_size_signal_back(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal() is async-signal-safe and touches only the child's dispositions.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            Ok(())
        });
    }
}

impl Armed {
    /// For a store that may never answer (a PostgreSQL server whose answer to a COMMIT or a
    /// connect is lost on the way): once a signal is noted, the command has `grace` to stop at
    /// its next look; if it is still inside a store call then, the process ends (exit 130),
    /// saying that whether its last write was made is not known. A database file is never
    /// watched so: a long commit there must not be cut short.
    /// A command that only `reads` says that nothing was written: an `export` sent the
    /// operator to look for a write it cannot have made (bb78 F4).
    pub fn ending_within(self, grace: std::time::Duration, reads: bool) -> Self {
        let connected = Arc::clone(&self.connected);
        self.watching(move |disarmed| {
            let noted = std::time::Instant::now();
            while noted.elapsed() < grace {
                if disarmed.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(POLL);
            }
            tracing::warn!(seconds = grace.as_secs(), "stopped by a signal while the server did not answer");
            // Still connecting, or inside a write whose COMMIT was not sent: no write can have
            // been made. It said "whether the last write was made is not known", sending the
            // operator to look for one (bb27 Q05; before the COMMIT: bb41 F2).
            let _ = if reads {
                writeln!(
                    std::io::stderr(),
                    "custodian: stopped by a signal: the server did not answer within {} s; this command changes no user (it only reads them)",
                    grace.as_secs()
                )
            } else if !connected.load(Ordering::Relaxed) {
                writeln!(
                    std::io::stderr(),
                    "custodian: stopped by a signal: the server did not answer the connection within {} s; nothing was written",
                    grace.as_secs()
                )
            } else if writing_before_commit() {
                writeln!(
                    std::io::stderr(),
                    "custodian: stopped by a signal: the server did not answer within {} s, before the write's COMMIT was sent; nothing was written (the server rolls its transaction back when the session ends)",
                    grace.as_secs()
                )
            } else {
                writeln!(
                    std::io::stderr(),
                    "custodian: stopped by a signal: the server did not answer within {} s; whether the last write was made is not known (`custodian changes --since 10m` lists what landed; its absence there is final only once the server holds no session of custodian's open (`pg_stat_activity`, application_name custodian): a COMMIT the server still holds, for a synchronous standby it waits for, may land later)",
                    grace.as_secs()
                )
            };
            remove_before_a_forced_exit();
            std::process::exit(130);
        })
    }

    /// The store is connected: from now on a write may be under way when a signal comes.
    pub fn connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
    }

    /// For work that cannot stop halfway (a compaction): once a signal is noted, `message`
    /// says at once that the work goes on to its end, where it would otherwise look frozen.
    pub fn saying_when_noted(self, message: &'static str) -> Self {
        self.watching(move |_| {
            // Not `eprintln!`: after a SIGHUP the terminal may be gone, and that panics.
            let _ = writeln!(std::io::stderr(), "custodian: {message}");
        })
    }

    /// Runs `then` on a thread of its own once a signal is noted, unless the guard goes first.
    fn watching(self, then: impl FnOnce(&AtomicBool) + Send + 'static) -> Self {
        let disarmed = Arc::clone(&self.disarmed);
        let _ = std::thread::Builder::new().name("custodian-signal-watch".into()).spawn(move || {
            while !requested() {
                if disarmed.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(POLL);
            }
            then(&disarmed);
        });
        self
    }
}

/// How often a watch looks at the flag.
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl Drop for Armed {
    fn drop(&mut self) {
        self.disarmed.store(true, Ordering::Relaxed);
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Write transactions open on a server whose COMMIT has not been sent: while one is, no
/// write of this process can land, whatever the server does.
static WRITES_BEFORE_COMMIT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A write transaction open, its COMMIT not sent: counted while alive (see
/// [`Armed::ending_within`]).
pub struct UncommittedWrite(());

impl UncommittedWrite {
    pub fn begin() -> Self {
        WRITES_BEFORE_COMMIT.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for UncommittedWrite {
    fn drop(&mut self) {
        WRITES_BEFORE_COMMIT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether this process has a write transaction open with its COMMIT not sent.
pub fn writing_before_commit() -> bool {
    WRITES_BEFORE_COMMIT.load(Ordering::SeqCst) > 0
}

/// Whether a signal asked the running command to stop.
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// `Err(StoreError::Interrupted)` once a signal asked to stop: for the loops over users.
pub fn check() -> Result<(), StoreError> {
    if requested() { Err(StoreError::Interrupted) } else { Ok(()) }
}
