//! The operator's screen. Data flows one way: a key becomes an [`app::Action`], `update`
//! changes the [`app::State`] and asks for work ([`app::Effect`]), the [`Runtime`] here does
//! that work against the store and the drafts directory and feeds the answer back as another
//! action, and the views draw the state.

pub mod app;
pub mod check;
pub mod gap_filling;
pub mod keymap;
pub mod terminal;
pub mod theme;
pub mod view;

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

use app::{Action, Effect, Mode, State, update};
use theme::Theme;

use crate::domain::time::now_ms;
use crate::draft::{Draft, DraftKind, Drafts, EditSnapshot};
use crate::inert;
use crate::store::{Author, OpenOptions, StoreError, UserStore};

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
pub struct Scanner {
    queries: mpsc::Sender<(u64, String)>,
    current: Arc<AtomicU64>,
}

/// Scans every user for `query`, a step at a time, handing each step's answer (hits, or the
/// failure that ends it) to `answer`, which says whether to go on.
///
/// It stops after one hit more than the list keeps: each hit is a distinct user, so the list
/// then knows it holds only some of them, and a query that matches nearly everyone does not
/// build thousands of rows that would be thrown away.
fn scan(store: &dyn UserStore, generation: u64, query: &str, mut answer: impl FnMut(Action) -> bool) {
    let mut after: Option<String> = None;
    let mut wanted = app::MAX_MATCHES + 1;
    loop {
        let (step, last) = match store.scan_matches(query, after.as_deref(), SCAN_STEP, wanted) {
            Ok(step) => {
                wanted = wanted.saturating_sub(step.hits.len());
                after = step.next.filter(|_| wanted > 0);
                let (scanned, done) = (step.scanned as u64, after.is_none());
                (Action::SearchHits { generation, hits: step.hits, scanned, done }, done)
            }
            Err(e) => (Action::StoreFailed { message: e.to_string() }, true),
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

impl Scanner {
    pub fn new(store: Arc<dyn UserStore>) -> std::io::Result<(Self, ScanAnswers)> {
        let (answers, receiver) = mpsc::channel();
        let (wake, waker) = wake_pipe()?;
        let (queries, requests) = mpsc::channel::<(u64, String)>();
        let current = Arc::new(AtomicU64::new(0));
        let running = Arc::clone(&current);
        std::thread::spawn(move || {
            yield_to_the_operator();
            let mut next = requests.recv().ok();
            while let Some((generation, query)) = next.take() {
                let current = || running.load(Ordering::SeqCst) == generation;
                if current() {
                    scan(&*store, generation, &query, |answer| {
                        let sent = answers.send(answer).is_ok();
                        // A full pipe already wakes the loop: a failed write loses nothing.
                        // SAFETY: writes one byte from a local to our own pipe.
                        unsafe { libc::write(waker.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
                        sent && current()
                    });
                }
                // The newest query waiting, if any, else wait for one.
                next = requests.try_iter().last().or_else(|| requests.recv().ok());
            }
        });
        Ok((Self { queries, current }, ScanAnswers { receiver, wake }))
    }

    fn start(&self, generation: u64, query: String) {
        self.current.store(generation, Ordering::SeqCst);
        let _ = self.queries.send((generation, query));
    }

    fn stop(&self) {
        self.current.store(u64::MAX, Ordering::SeqCst);
    }
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
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub read_only: bool,
    /// No colour at all (also when `NO_COLOR` is set to anything).
    pub no_color: bool,
    /// Capture the mouse: click to select, wheel to scroll. Off by default, which keeps the
    /// terminal's own text selection working.
    pub mouse: bool,
}

/// Opens the TUI on the database.
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

pub fn run(db: Option<&Path>, options: Options) -> Result<()> {
    let Options { read_only, no_color, mouse } = options;
    check_terminal_type(std::env::var_os("TERM").as_deref())?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the editor needs a terminal; for scripts use a subcommand (see `custodian --help`)");
    }
    one_heap_for_all_threads();
    let drafts = Drafts::in_state_dir();
    // A drafts directory someone else could write is refused before anything is read from it.
    drafts.check()?;
    let store = Arc::new(crate::database::open(db, OpenOptions { read_only, ..Default::default() })?);
    let database = std::fs::canonicalize(store.path()).unwrap_or_else(|_| store.path().to_owned());
    let (scanner, scan_answers) =
        Scanner::new(Arc::clone(&store) as Arc<dyn UserStore>).context("cannot start the scanner")?;
    let runtime = Runtime {
        store: &*store,
        drafts,
        database: database.display().to_string(),
        scanner: Some(scanner),
        checker: Some(check::Checker::new().context("cannot start the checker")?),
    };
    // A hang-up (the SSH connection dropped) or a TERM must not eat an unsaved edit.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGHUP, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch for hang-ups")?;
    }
    let theme = Theme::from_environment(no_color);
    let colour = theme == Theme::colour();
    let mut terminal = terminal::enter(colour, mouse).context("cannot set up the terminal")?;
    let size = terminal.size()?;
    let mut state = State::new(size.width, size.height, store.is_read_only());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop(&mut terminal, &runtime, &mut state, &theme, &stop, &scan_answers)
    }));
    let restored = terminal::leave().context("cannot restore the terminal");
    // Whatever ended the session, an edit that was not saved is kept.
    let kept = state
        .editor
        .as_ref()
        .filter(|e| e.is_modified())
        .map(|editor| keep_at_the_end(&runtime, editor.snapshot()));
    match &kept {
        Some(Ok(path)) => {
            tracing::warn!(path = %path.display(), "session ended with an unsaved edit: kept as a draft");
            eprintln!(
                "custodian: your unsaved edit is kept in {}; start custodian again to reopen it",
                inert::line(&path.display().to_string())
            );
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
                    "your unsaved edit of user {} could not be kept as a draft ({why}); it was written to {} instead (it started from revision {revision}: `custodian set {} {} --expect-revision {revision}` saves it)",
                    inert::line(&user),
                    shown.display(),
                    inert::line(&user),
                    shown.display()
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
    stop: &AtomicBool,
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
    // crossterm starts watching for resizes on its first poll: start it before the first frame
    // so a resize right after start-up is not missed.
    event::poll(Duration::ZERO)?;
    // `dirty`: the operator did something, draw at once. `scan_news`: the scan found more;
    // drawn at most every SCAN_FRAME_EVERY so its answers cannot crowd out the keys.
    let (mut dirty, mut scan_news) = (true, false);
    let mut drawn_at = Instant::now();
    let mut last_draft: Option<LastDraft> = None;
    while !state.quit && !stop.load(Ordering::Relaxed) {
        if dirty || scan_news && drawn_at.elapsed() >= SCAN_FRAME_EVERY {
            terminal::draw(terminal, |frame| view::render(frame, state, theme))?;
            drawn_at = Instant::now();
            (dirty, scan_news) = (false, false);
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
        // crossterm 0.29 spins forever reading a terminal that has gone away (an SSH drop
        // whose SIGHUP went to the shell), so custodian looks at the terminal itself first.
        match terminal_input(wait.as_millis() as i32, wake) {
            TerminalInput::HungUp => break,
            TerminalInput::Woken => {
                scan_answers.drain_wake();
                continue;
            }
            // Nothing typed: still ask crossterm, without waiting, for a resize.
            TerminalInput::Idle if !event::poll(Duration::ZERO)? => continue,
            _ => {}
        }
        // Drain everything already queued, then draw once.
        loop {
            if let Some(action) = action_for_event(state, event::read()?) {
                if matches!(action, Action::Resize { .. }) {
                    terminal.autoresize()?;
                }
                let effects = update(state, action);
                run_effects_on(runtime, Some(&mut *terminal), state, effects);
                dirty = true;
            }
            if state.quit || terminal_input(0, None) == TerminalInput::HungUp || !event::poll(Duration::ZERO)?
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
/// `wake` when given, and says which came, neither, or that the terminal has gone away.
fn terminal_input(timeout_ms: i32, wake: Option<std::os::fd::RawFd>) -> TerminalInput {
    let mut fds = [
        libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: wake.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
    ];
    // SAFETY: two valid pollfds (a negative fd is ignored by poll); poll writes only revents.
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
    } else if fds[1].revents & libc::POLLIN != 0 {
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
            (_, effect) => perform(runtime, effect),
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
    let resumed = terminal::resume(terminal);
    let result = match ran {
        Ok(status) if status.success() => {
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        Ok(status) => Err(format!("{} exited with {status}; nothing was saved", inert::line(&editor))),
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

/// One piece of work, answered as an action (or silently done).
pub fn perform(runtime: &Runtime, effect: Effect) -> Option<Action> {
    let store = runtime.store;
    let failed = |e: StoreError| Action::StoreFailed { message: e.to_string() };
    Some(match effect {
        Effect::Check { generation, text, limits } => match &runtime.checker {
            Some(checker) => {
                checker.submit(generation, text, limits);
                return None;
            }
            None => {
                Action::Checked { generation, result: crate::domain::CustomData::parse_with(&text, &limits) }
            }
        },
        Effect::LoadRows(request) => {
            let rows = store.rows(&request.seek, None, request.limit);
            match rows.and_then(|rows| Ok((rows, store.count()?))) {
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
                    tracing::info!(user = %id, ?outcome, "save from the editor");
                    Action::Saved { id, outcome }
                }
                Err(StoreError::Conflict { expected, found, .. }) => match store.custom_data(&id) {
                    Ok(theirs) => {
                        tracing::warn!(user = %id, expected, found, "save refused: someone saved first");
                        Action::SaveConflict { id, theirs }
                    }
                    Err(e) => failed(e),
                },
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
            scan(store, generation, &query, |answer| match answer {
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
            Err(e) => Action::StoreFailed { message: format!("{e:#}") },
        },
        // The terminal's work, without a terminal (in tests): nothing to do.
        Effect::Suspend | Effect::CopyToClipboard { .. } | Effect::EditExternally { .. } => return None,
        Effect::StopScan => {
            if let Some(scanner) = &runtime.scanner {
                scanner.stop();
            }
            return None;
        }
        Effect::LoadHistory { id } => {
            let revisions = store.history(&id).and_then(|infos| {
                let skip = infos.len().saturating_sub(HISTORY_LIMIT);
                infos
                    .into_iter()
                    .skip(skip)
                    .map(|info| store.revision_text(&id, info.revision).map(|text| (info, text)))
                    .collect::<Result<Vec<_>, _>>()
            });
            match revisions {
                Ok(revisions) => Action::HistoryLoaded { id, revisions },
                Err(e) => failed(e),
            }
        }
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
