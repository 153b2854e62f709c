//! One session of the screen from start to end: the terminal checked, the store opened, the
//! signals watched, and the same way out however it ends (draft kept, threads joined, store
//! closed).

use super::connecting::Connecting;
use super::*;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::domain::time::now_ms;
use crate::draft::{Draft, DraftKind, Drafts, EditSnapshot};
use crate::inert;
use crate::store::{OpenOptions, UserStore};
use crate::tui::app::State;
use crate::tui::theme::Theme;

/// glibc gives every thread that allocates a heap (arena) of its own; each stays resident
/// after its thread's work, a few MiB that have nothing to do with the data. The screen's
/// threads share two heaps instead. Not one: the two threads of `:export` (and of a long
/// scan step) allocate all the time, and glibc hands two threads that start one after the
/// other different heaps; on one heap they waited on its lock, and `:export` of 1M users
/// took 6.6–6.9 s against the CLI's 3 s (3.3 s on two heaps; bb35 #7).
pub(super) fn two_heaps_for_all_threads() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists; mallopt only sets a tunable.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
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
pub(super) struct Ended;

/// A hang-up or TERM came. Process-wide, so that the external editor's return (`E`) can tell
/// that the session is ending and keep what the editor wrote instead of saving it.
pub(super) static HUNG_UP_OR_TERMINATED: std::sync::LazyLock<Arc<AtomicBool>> =
    std::sync::LazyLock::new(Arc::default);

/// INT and QUIT, kept apart: while `$EDITOR` runs it shares the terminal and its Ctrl-C (vi's
/// "interrupt") reaches custodian too; that one is forgotten when the editor returns.
pub(super) static INTERRUPTED: std::sync::LazyLock<Arc<AtomicBool>> = std::sync::LazyLock::new(Arc::default);

impl Ended {
    /// Watches for the signals. Registered before the database is opened: their default
    /// action would end the process with the file still open, to be repaired by the next one.
    pub(super) fn watch() -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        for (signal, flag) in [
            (SIGHUP, &*HUNG_UP_OR_TERMINATED),
            (SIGTERM, &*HUNG_UP_OR_TERMINATED),
            (SIGINT, &*INTERRUPTED),
            (SIGQUIT, &*INTERRUPTED),
        ] {
            signal_hook::flag::register(signal, Arc::clone(flag)).context("cannot watch for hang-ups")?;
        }
        // The other signals whose default ends the process end the screen as TERM does: they
        // left the terminal raw in the alternate screen, the last keystrokes out of the draft
        // and the file to be repaired (bb43 F2).
        for signal in crate::interrupt::other_ending_signals() {
            signal_hook::flag::register(signal, Arc::clone(&*HUNG_UP_OR_TERMINATED))
                .context("cannot watch for signals")?;
        }
        Ok(Self)
    }

    pub(super) fn now(&self) -> bool {
        signalled()
    }
}

/// Whether one of the signals [`Ended`] watches has come.
fn signalled() -> bool {
    HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed) || INTERRUPTED.load(Ordering::Relaxed)
}

/// How long a signal may go unanswered by the event loop before the watch below ends the
/// process itself.
const STUCK_AFTER_SIGNAL: Duration = Duration::from_secs(10);

/// Set once the event loop has left (however): from then on the way out is the orderly one.
pub(super) struct LoopLeft(Arc<AtomicBool>);

impl LoopLeft {
    pub(super) fn now(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Ended {
    /// Watches for a screen that cannot answer a signal: its thread held in one step (a
    /// schema check that does not end, bb10) never looks at the flag, so a hang-up left it
    /// spinning on the server and no signal but SIGKILL ended it, the terminal left raw.
    /// When a signal is `STUCK_AFTER_SIGNAL` old and the loop has not left, this thread gives
    /// the terminal back, says so and ends the process (exit 130). The edit is what the last
    /// autosave wrote; the database file, left open, is repaired by the next open.
    pub(super) fn watch_for_a_stuck_loop(&self) -> LoopLeft {
        let left = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&left);
        let spawned = std::thread::Builder::new().name("stuck-watch".into()).spawn(move || {
            let mut noted: Option<std::time::Instant> = None;
            while !seen.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if !signalled() {
                    continue;
                }
                let since = *noted.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() >= STUCK_AFTER_SIGNAL && !seen.load(Ordering::Relaxed) {
                    let _ = terminal::leave();
                    tracing::error!("the screen did not answer a signal: ended by its watch");
                    say(&format!(
                        "custodian: stopped by a signal: the screen was busy and did not answer it within {} s; an unsaved edit is kept as far as the last autosave wrote it (start custodian again to reopen it), and the database file, not closed, is repaired by the next open",
                        STUCK_AFTER_SIGNAL.as_secs()
                    ));
                    std::process::exit(130);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(%e, "no watch for a screen stuck after a signal");
        }
        LoopLeft(left)
    }
}

/// A line on stderr that never panics: after the terminal vanished, `eprintln!` would panic
/// on the failed write, and a panic then could end the process before the database is closed.
pub(super) fn say(line: &str) {
    crate::stderr_line!("{line}");
}

/// Test hook (debug builds only): `CUSTODIAN_TEST_PANIC=1` panics in the event loop after the
/// first frame, so the pty tests can check what a panic leaves behind.
pub(super) fn panic_if_asked_in_a_test() {
    #[cfg(debug_assertions)]
    if std::env::var_os("CUSTODIAN_TEST_PANIC").is_some_and(|v| v == "1") {
        panic!("CUSTODIAN_TEST_PANIC");
    }
    // `CUSTODIAN_TEST_HANG=1`: held in this step for good, as by a check that never ends.
    #[cfg(debug_assertions)]
    if std::env::var_os("CUSTODIAN_TEST_HANG").is_some_and(|v| v == "1") {
        loop {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The terminal cannot show the editor's screen (exit code 2, as a usage mistake).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CannotShowScreen(pub String);

/// A `dumb` terminal (or none named in `$TERM`) cannot move the cursor or redraw: drawing
/// the screen there prints garbage. Decided before anything is written to the terminal.
pub(super) fn check_terminal_type(
    term: Option<&std::ffi::OsStr>,
) -> std::result::Result<(), CannotShowScreen> {
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
    let (key_file, keys) =
        key_file.as_deref().map(crate::key_file::WatchedKeyFile::load).transpose()?.unzip();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the editor needs a terminal; for scripts use a subcommand (see `custodian --help`)");
    }
    two_heaps_for_all_threads();
    // A URL names no file, so it records no path given.
    let drafts = db.map_or_else(Drafts::in_state_dir, |path| Drafts::in_state_dir().opened_as(path));
    // A drafts directory someone else could write is refused before anything is read from it.
    drafts.check()?;
    // Held until the last draft is written: while it is, no other custodian offers, takes
    // over or discards this session's drafts. Without it (no state directory can be made)
    // no draft can be written either, which the autosave says.
    if let Err(e) = drafts.lock_session() {
        tracing::warn!(%e, "no session lock: other custodians may offer this session's drafts");
    }
    // `--schema FILE` is read before the signals are watched: until the screen is up, Ctrl-C
    // ends custodian at once, also when the name is a FIFO nobody writes to.
    let schema_from_file = schema_file.as_deref().map(crate::cli::schema::shape_from_file).transpose()?;
    let ended = Ended::watch()?;
    let connecting = crate::database::postgres_url(db).map(|url| Connecting::start(url, signalled));
    // On PostgreSQL the scanner has a connection of its own (one client serves one query at
    // a time); redb's threads share the file. Drafts belong to one database (`draft_identity`).
    let (mut notes, mut shown_tenant, mut server_takes_no_writes) = (Vec::new(), None, false);
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
                // The tenant first: a long URL is cut at the status line's end.
                notes.push(format!(
                    "tenant {:?} · role {:?} · Logto's database {}",
                    store.tenant(),
                    store.role(),
                    store.shown_url()
                ));
                shown_tenant = Some(store.tenant().to_owned());
                // Read-only as `--read-only` is: an editor opened there only ended in a
                // refused save.
                if !read_only && !store.server_takes_writes()? {
                    server_takes_no_writes = true;
                    notes.push(
                        "the server takes no writes (a hot standby, or default_transaction_read_only is on): this screen only reads".to_owned(),
                    );
                }
                (Arc::new(store), scan_store, database)
            }
            None => {
                let store =
                    crate::database::open_quietly(db, OpenOptions { read_only, ..Default::default() })
                        .map_err(cannot_open_for_writing)?;
                let path = std::fs::canonicalize(store.path()).unwrap_or_else(|_| store.path().to_owned());
                notes = crate::database::opening_notes(&store);
                if db.is_none() {
                    notes.push(crate::database::default_database_note(
                        store.path(),
                        crate::database::made_the_demo_here(),
                    ));
                }
                let store: Arc<dyn UserStore> = Arc::new(store);
                (Arc::clone(&store), store, path.display().to_string())
            }
        };
    // Compiled once for the session; a schema that does not compile stops here, in one line.
    let (shape, schema_source) = match schema_from_file {
        Some(shape) => (Some(shape), app::SchemaSource::File),
        // Read once: its revision is what a save checks the stored schema against.
        None => {
            let stored = store.schema()?;
            let compiled =
                stored.as_ref().map(crate::cli::schema::shape_and_warning_of_stored).transpose()?;
            let (shape, warning) = compiled.map_or((None, None), |(shape, warning)| (Some(shape), warning));
            notes.extend(warning);
            (shape, app::SchemaSource::Stored(stored.map(|stored| stored.revision)))
        }
    };
    let shape = shape.map(Arc::new);
    let (scanner, scan_answers) = Scanner::new(scan_store).context("cannot start the scanner")?;
    let workers = StoreWorkers::new(Arc::clone(&store), database.clone())
        .context("cannot start the store's workers")?;
    let mut runtime = Runtime {
        store: &*store,
        drafts,
        database,
        scanner: Some(scanner),
        workers: Some(workers),
        checker: Some(check::Checker::new().context("cannot start the checker")?),
    };
    drop(connecting);
    let theme = Theme::from_environment(no_color);
    let colour = Theme { ascii: false, ..theme } == Theme::colour();
    let mut terminal = terminal::enter(colour, mouse).context("cannot set up the terminal")?;
    let size = terminal.size()?;
    let mut state = State::new(size.width, size.height, store.is_read_only());
    if server_takes_no_writes {
        state.read_only = Some(app::ReadOnly::Server);
    }
    state.key_order = store.key_order();
    state.list.tenant = shown_tenant;
    state.keys = keys;
    state.home = std::env::var("HOME").ok();
    state.shape = shape;
    state.schema_source = schema_source;
    for note in notes {
        state.say_at_start(note);
    }
    let loop_left = ended.watch_for_a_stuck_loop();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop(&mut terminal, &runtime, &mut state, &theme, &ended, &scan_answers, key_file.as_ref())
    }));
    loop_left.now();
    // Work already sent is answered before leaving: a save asked for is either done and said
    // so, or refused and its edit kept as a draft below — never reported wrongly, never lost.
    let status_before = state.status.clone();
    state.stop_work_at_the_way_out(ended.now());
    // Drawn as the answers come (an export's count, a save's outcome), unless the terminal
    // is gone (a hang-up): the way out may take up to 30 s.
    let hung_up = ended.now();
    let mut shown = |state: &State| {
        if !hung_up {
            let _ = terminal::draw(&mut terminal, |frame| view::render(frame, state, &theme));
        }
    };
    let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::workers::wait_at_the_end_shown(
            &runtime,
            &mut state,
            super::workers::WRITES_AT_THE_END,
            &mut shown,
        )
    }))
    .unwrap_or(false);
    let restored = terminal::leave().context("cannot restore the terminal");
    terminal::forget(terminal);
    // Whatever ended the session, an edit that was not saved is kept; one whose changes were
    // all undone leaves no draft behind (a reopened one would be offered again).
    let kept = state
        .editor
        .as_ref()
        .filter(|e| e.is_modified())
        .map(|editor| keep_at_the_end(&runtime, editor.snapshot()));
    if let Some(editor) = state.editor.as_ref().filter(|e| !e.is_modified()) {
        let _ = runtime.drafts.remove_session(&runtime.database, &editor.user_id, &editor.draft_session);
    }
    if !answered {
        // A worker still inside a store call (a COMMIT the server never answers) would hold
        // the way out for good: it is not joined, and ends with the process; an export's
        // temporary file goes now (it stayed: bb80 F4).
        std::mem::forget(runtime.workers.take());
        crate::interrupt::remove_before_a_forced_exit();
    }
    let scan_left = super::scanner::stopped_at_the_end(&mut runtime);
    // The session lock goes with the drafts, after the last draft was written.
    let database = std::mem::take(&mut runtime.database);
    drop(runtime);
    let reads_over_a_link = store.reads_over_a_link();
    let closed = close(store);
    // What the last answers said, where the operator can still read it.
    if let Some(status) = state.status.as_ref().filter(|s| Some(*s) != status_before.as_ref()) {
        say(&format!("custodian: {}", inert::line(&status.text)));
    }
    let save_in_doubt = if answered { None } else { save_in_doubt_at_the_end(&state) };
    // A save whose connection went during its COMMIT (a reset link), not resolved since: said
    // whatever ended the session — a hang-up said only "your unsaved edit" (bb80 F1).
    if let Some(line) = state.unresolved_save.as_ref().map(|doubt| doubt.said_at_exit())
        && !state.said_at_exit.contains(&line)
    {
        state.said_at_exit.push(line);
    }
    let in_doubt = save_in_doubt.is_some() || state.unresolved_save.is_some();
    if !answered {
        say(save_in_doubt.as_deref().unwrap_or(unanswered_at_the_end(state.pending, reads_over_a_link)));
    }
    scan_left.into_iter().for_each(say);
    match &kept {
        Some(Ok(path)) => {
            tracing::warn!(path = %path.display(), "session ended with an unsaved edit: kept as a draft");
            say(&kept_at_the_way_out(path, db, &database, in_doubt));
        }
        Some(Err(message)) => {
            tracing::error!(%message, "session ended with an unsaved edit that was not kept as a draft");
        }
        None => {}
    }
    for line in &state.said_at_exit {
        tracing::warn!(%line, "said at the way out");
        say(&format!("custodian: {}", inert::line(line)));
    }
    match (outcome, kept) {
        // The edit is not where custodian keeps drafts: that is the error, whatever else.
        (_, Some(Err(message))) => bail!("{message}"),
        // A loop that ended on a terminal gone away (a hang-up): its edit is kept above.
        (Ok(Err(e)), _) if terminal::gone_in(&e) && !std::io::stdout().is_terminal() => restored,
        (Ok(result), _) => result.and(restored).and(closed),
        (Err(_), kept) => bail!(
            "internal error; the terminal was restored{}",
            if kept.is_some() { " and your edit kept" } else { "" }
        ),
    }
}

/// Drops the last handle of the store, which closes the database file cleanly. Every thread
/// that shared it must have been joined by now; if one was not, the file is left for redb to
/// repair, which the log says. redb panics closing a file whose record of free pages is
/// damaged: that is the file's damage, said after the screen (exit 101 with "internal error"
/// was a bug of custodian's to report: bb76 F1).
pub(super) fn close(store: Arc<dyn UserStore>) -> Result<()> {
    let holders = Arc::strong_count(&store);
    if holders > 1 {
        // A file is left open, for redb to repair; a server's session ends with the process,
        // and rolls back what it had not committed (it logged a repair there too: bb43 F4).
        tracing::error!(holders, "{}", left_under_way(store.reads_over_a_link()));
    }
    crate::crash::catch(move || drop(store)).map_err(anyhow::Error::from)
}

/// Writes the editor's draft (autosave and the end of a session).
/// Before Ctrl-Z stops the process: what was typed since the last autosave goes to the
/// draft, so whatever ends custodian while stopped, the edit is kept (bb11).
pub(super) fn keep_before_stopping(runtime: &Runtime, state: &State) {
    if let Some(editor) = state.editor.as_ref().filter(|e| e.is_modified())
        && let Err(why) = keep_unsaved_edit(runtime, editor.snapshot())
    {
        tracing::error!(user = %editor.user_id, %why, "the unsaved edit could not be kept before suspending");
    }
}

pub(super) fn keep_unsaved_edit(runtime: &Runtime, edit: EditSnapshot) -> Result<std::path::PathBuf, String> {
    let at = edit.written_at.unwrap_or_else(now_ms);
    let draft = Draft::new(DraftKind::Draft, &runtime.database, edit, at);
    runtime.drafts.save(&draft).map_err(|e| e.to_string())
}

/// The last chance for an unsaved edit (a hang-up, a TERM, a vanished terminal, a crash):
/// the drafts directory, else a new private file (0600, exclusive) holding the text alone in
/// the first of [`crate::draft::later_copy::last_chance_places`] that others cannot change and
/// that takes it. `Ok` only when it is a draft custodian offers
/// again; `Err` says where the edit is, or that it is nowhere, in one line.
pub(super) fn keep_at_the_end(runtime: &Runtime, edit: EditSnapshot) -> Result<std::path::PathBuf, String> {
    let written_at = edit.written_at.or_else(|| runtime.drafts.written_with(&runtime.database, &edit));
    let edit = EditSnapshot { written_at, ..edit };
    let (user, revision, base_digest) = (edit.user_id.clone(), edit.base_revision, edit.base_digest.clone());
    let text = edit.text.clone();
    let why = match keep_unsaved_edit(runtime, edit) {
        Ok(path) => return Ok(path),
        Err(why) => why,
    };
    let name =
        crate::draft::later_copy::unsaved_file_name(&user, &runtime.database, revision, Some(&base_digest));
    let short = crate::draft::later_copy::short_digest(&base_digest);
    let mut tried = Vec::new();
    let temp = crate::draft::later_copy::later_copies_dir();
    if temp.is_relative() {
        tried.push(format!(
            "not in TMPDIR {}: a relative path, which a start elsewhere would not find",
            temp.display()
        ));
    }
    for dir in crate::draft::later_copy::last_chance_places() {
        // Not where others could put their text in its place before it is read (bb40 F2).
        if let Some(problem) = crate::location::shared_dir_problem(&dir) {
            tried.push(format!("not in {problem}"));
            continue;
        }
        let path = dir.join(&name);
        match write_private_new(&path, &text) {
            Ok(()) => {
                let shown = std::fs::canonicalize(&path).unwrap_or(path);
                // Why a place the operator chose was passed over (it said only where it went).
                let passed_over =
                    if tried.is_empty() { String::new() } else { format!("; {}", tried.join("; ")) };
                return Err(format!(
                    "your unsaved edit of user {} could not be kept as a draft ({why}); it was written to {} instead (it started from revision {revision}: `custodian {} set {} {} --expect-revision {revision} --expect-digest sha256:{short}` saves it{passed_over})",
                    user,
                    shown.display(),
                    database_arguments(&runtime.database),
                    inert::shell_word(&crate::domain::user_ref::UserRef::id_form(&user)),
                    inert::shell_word(&shown.display().to_string())
                ));
            }
            Err(e) => tried.push(format!("not in {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "your unsaved edit of user {} could not be written anywhere and is lost ({why}; {})",
        user,
        tried.join("; ")
    ))
}

/// The arguments that name this session's database on a command line: `--db PATH`, or for
/// PostgreSQL `--db URL --tenant ID` (the URL without its password, as drafts record it).
pub(super) fn database_arguments(database: &str) -> String {
    match database.rsplit_once("#tenant=") {
        Some((url, tenant)) => {
            format!("--db {} --tenant {}", inert::shell_word(url), inert::shell_word(tenant))
        }
        None => format!("--db {}", inert::shell_word(database)),
    }
}

/// A new file (never an existing one, never through a symbolic link), 0600, fsynced.
pub(super) fn write_private_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = crate::location::new_private_file(path)?;
    let written =
        file.write_all(text.as_bytes()).and_then(|()| file.write_all(b"\n")).and_then(|()| file.sync_all());
    // A file left half written (a full `$TMPDIR`) was named at the next start as the edit,
    // while the edit went on to the next place (bb44 F7).
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// A file the screen cannot open for writing, where it could still be read: the way to look
/// at it anyway is said (another writer holds it; the operator may read it but not write it,
/// a shared file owned by a service account: bb12).
fn cannot_open_for_writing(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<crate::store::StoreError>() {
        // Reads never wait for a writer: the operator can still look.
        Some(crate::store::StoreError::Busy) => e.context(
            "the screen cannot open the file for writing (`custodian --read-only` browses it meanwhile)",
        ),
        // A read-only file system (a snapshot, a backup mount) too: bb31 U03.
        Some(crate::store::StoreError::Io { error, .. })
            if matches!(error.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem) =>
        {
            e.context("the screen cannot open the file for writing (`custodian --read-only` browses it if you may read it)")
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::{cannot_open_for_writing, left_under_way, unanswered_at_the_end};

    /// A PostgreSQL session left under way at exit is not a file to repair (bb43 F4).
    #[test]
    fn a_store_call_left_under_way_at_exit_is_a_repair_only_for_a_file() {
        assert!(left_under_way(false).contains("will need a repair"));
        let server = left_under_way(true);
        assert!(!server.contains("repair") && server.contains("the server rolls back"), "{server}");
    }
    use crate::store::StoreError;
    use crate::tui::app::Pending;

    #[test]
    fn a_file_the_screen_cannot_write_names_the_read_only_way_to_look_at_it() {
        let said = |e: StoreError| format!("{:#}", cannot_open_for_writing(e.into()));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            said(StoreError::Io { context: "ro.redb".into(), error: denied }),
            "the screen cannot open the file for writing (`custodian --read-only` browses it if you may read it): ro.redb: permission denied"
        );
        assert!(said(StoreError::Busy).contains("`custodian --read-only` browses it meanwhile"));
        let read_only_fs = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
        assert!(
            said(StoreError::Io { context: "ro.redb".into(), error: read_only_fs }).contains("--read-only")
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(!said(StoreError::Io { context: "x".into(), error: missing }).contains("--read-only"));
    }

    #[test]
    fn the_last_line_of_an_unanswered_session_leaves_in_doubt_only_what_could_write() {
        let read = unanswered_at_the_end(Some(Pending::Loading), true);
        assert!(
            read.contains("the read on its way within 2 s") && read.ends_with("nothing was being written"),
            "{read}"
        );
        let on_a_file = unanswered_at_the_end(Some(Pending::Loading), false);
        assert!(on_a_file.contains("the read on its way within 30 s"), "{on_a_file}");
        assert!(unanswered_at_the_end(Some(Pending::Exporting), false).contains("the export on its way"));
        let batch = unanswered_at_the_end(Some(Pending::Applying), false);
        assert!(
            batch.contains("the patch being written") && batch.contains("`custodian changes`"),
            "{batch}"
        );
        for write in [Some(Pending::Saving), None] {
            assert!(
                unanswered_at_the_end(write, true).ends_with("what was asked last may not have been done")
            );
        }
    }
}
