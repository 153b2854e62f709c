//! Store work off the screen's thread: with a store made slow on purpose (calls held at a
//! gate until the test lets them through), keys are answered while a save waits, the save's
//! answer arrives and is shown, and a late answer to a request that a newer one replaced is
//! dropped.

mod support;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use custodian::domain::CustomData;
use custodian::draft::Drafts;
use custodian::export::Progress;
use custodian::store::{
    Author, ImportMode, ImportSummary, ListEntry, ListKey, NewUser, RecordError, RedbStore, Revision,
    RevisionInfo, SaveOutcome, ScanStep, Seek, StoreError, StoredDocument, UserMatch, UserRecord, UserRef,
    UserStore,
};
use custodian::tui::app::{Action, Effect, Mode, Pending, State, update};
use custodian::tui::theme::Theme;
use custodian::tui::{
    READS_AT_THE_END, Runtime, StoreWorkers, WRITES_AT_THE_END, run_effects, take_answers, view,
    wait_at_the_end, wait_at_the_end_within, wait_for_answers,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};
use support::demo_store;

/// How long a test waits for something that should take milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);
/// A key answered without waiting for a held call (which [`Gate::pass`] holds up to
/// [`GATE_LIMIT`]). Not a frame's 16 ms: that is for the benches; here a test thread shares
/// two loaded cores, and one preemption made a key "take" 16 ms.
const KEY_BUDGET: Duration = Duration::from_millis(1500);
/// The longest a call is held at an armed gate: a key that waited for it fails its budget
/// instead of hanging the run.
const GATE_LIMIT: Duration = Duration::from_secs(60);

/// Holds the calls that reach it while armed, until released.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    held: usize,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arm(&self) {
        self.lock().armed = true;
    }

    /// Called by the store: waits here while the gate is armed.
    fn pass(&self) {
        let mut state = self.lock();
        if !state.armed {
            return;
        }
        state.held += 1;
        self.changed.notify_all();
        let deadline = Instant::now() + GATE_LIMIT;
        while state.armed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        state.held -= 1;
    }

    /// Waits until a call is held at the gate.
    fn wait_until_holding(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut state = self.lock();
        while state.held == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no call reached the gate");
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn release(&self) {
        self.lock().armed = false;
        self.changed.notify_all();
    }
}

/// A redb store whose saves and row reads can be held at a gate: a writer waiting for
/// another's lock, a far server.
struct SlowStore {
    inner: RedbStore,
    saves: Gate,
    rows: Gate,
    users: Gate,
    /// Holds a walk over every user in the store's order at its [`WALK_HELD_AT`]th user.
    walk: Gate,
    /// Holds the steps of a substring scan (a search over a link gone silent).
    scans: Gate,
    /// The ids whose profile was read, in order.
    users_read: Mutex<Vec<String>>,
    /// The next `user` read panics (once), as redb does on a damaged page.
    panic_on_user: std::sync::atomic::AtomicBool,
    /// Saves are refused as busy (another writer kept the lock past the limit).
    saves_busy: std::sync::atomic::AtomicBool,
    /// A walk over every user takes [`SLOW_WALK_STEP`] a user (a million users' dry run, in small).
    slow_walk: std::sync::atomic::AtomicBool,
    /// Said to read over a link, as PostgreSQL does (the way out's wait for reads).
    over_a_link: std::sync::atomic::AtomicBool,
    /// The next this many scan steps are cancelled, as a cancel request landing on them does.
    cancelled_steps: std::sync::atomic::AtomicUsize,
}

/// Past the first 4,096 users, of which an export tells the screen.
const WALK_HELD_AT: usize = 5_000;

/// 200 users: ten seconds for a whole walk, twice what a test allows one that was stopped.
const SLOW_WALK_STEP: Duration = Duration::from_millis(50);

impl UserStore for SlowStore {
    fn is_read_only(&self) -> bool {
        self.inner.is_read_only()
    }
    fn reads_over_a_link(&self) -> bool {
        self.over_a_link.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.inner.count()
    }
    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.rows.pass();
        self.inner.rows(seek, limit)
    }
    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.inner.prefix_matches(query, limit)
    }
    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        self.scans.pass();
        let cancelled = &self.cancelled_steps;
        if cancelled.fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1)).is_ok() {
            return Err(StoreError::Cancelled);
        }
        self.inner.scan_matches(query, after, batch, max_hits)
    }
    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        self.inner.lookup(reference)
    }
    fn user(&self, id: &str) -> Result<UserRecord, StoreError> {
        // What redb does on a damaged page: it panics inside the read.
        if self.panic_on_user.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("entered unreachable code");
        }
        self.users.pass();
        self.users_read.lock().unwrap_or_else(|e| e.into_inner()).push(id.to_owned());
        self.inner.user(id)
    }
    fn entry(&self, id: &str) -> Result<ListEntry, StoreError> {
        self.inner.entry(id)
    }
    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError> {
        self.inner.custom_data(id)
    }
    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        self.saves.pass();
        if self.saves_busy.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Busy);
        }
        self.inner.replace_custom_data(id, data, expected, author)
    }
    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        self.inner.history(id)
    }
    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        self.inner.revision_text(id, revision)
    }
    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        self.inner.import(users, mode, author)
    }
    fn edit_batch_held(
        &self,
        batch: &custodian::store::BatchId,
        selection: &custodian::store::Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<custodian::store::BatchEdit, StoreError>,
        walked: &mut dyn FnMut() -> Result<(), StoreError>,
        author: &custodian::store::Author,
    ) -> Result<custodian::store::BatchSummary, StoreError> {
        self.inner.edit_batch_held(
            batch,
            selection,
            &mut |record, text| {
                if self.slow_walk.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(SLOW_WALK_STEP);
                }
                edit(record, text)
            },
            walked,
            author,
        )
    }
    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.for_each_user(&mut |record, text| {
            if self.slow_walk.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(SLOW_WALK_STEP);
            }
            visit(record, text)
        })
    }
    fn any_order_sort_room(&self) -> Option<custodian::store::SortRoom> {
        self.inner.any_order_sort_room()
    }
    fn for_each_user_in_any_order(
        &self,
        visit: &mut custodian::store::KeyedVisit<'_>,
    ) -> Result<(), StoreError> {
        let mut walked = 0;
        self.inner.for_each_user_in_any_order(&mut |key, record, text| {
            walked += 1;
            if walked == WALK_HELD_AT {
                self.walk.pass();
            }
            if self.slow_walk.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(SLOW_WALK_STEP);
            }
            visit(key, record, text)
        })
    }
    fn schema(&self) -> Result<Option<custodian::store::StoredSchema>, StoreError> {
        self.inner.schema()
    }
    fn set_schema(
        &self,
        text: Option<&str>,
        author: &custodian::store::Author,
    ) -> Result<(u64, bool), StoreError> {
        self.inner.set_schema(text, author)
    }
    fn hold_writes_to_schema(&self, seen: Option<u64>) {
        self.inner.hold_writes_to_schema(seen)
    }
    fn schema_history(&self) -> Result<Vec<custodian::store::RevisionInfo>, StoreError> {
        self.inner.schema_history()
    }
    fn schema_revision_text(&self, revision: u64) -> Result<Option<String>, StoreError> {
        self.inner.schema_revision_text(revision)
    }
    fn name_collisions(&self) -> Result<Vec<custodian::store::NameCollision>, StoreError> {
        self.inner.name_collisions()
    }
}

/// The slow store with the demo users, and the screen's state started on it through workers.
struct Session {
    _dir: tempfile::TempDir,
    store: Arc<SlowStore>,
    runtime: Option<Runtime<'static>>,
    state: State,
}

impl Session {
    fn new() -> Self {
        let (dir, inner) = demo_store();
        let store = Arc::new(SlowStore {
            inner,
            saves: Gate::default(),
            rows: Gate::default(),
            users: Gate::default(),
            walk: Gate::default(),
            scans: Gate::default(),
            users_read: Mutex::default(),
            panic_on_user: std::sync::atomic::AtomicBool::new(false),
            saves_busy: std::sync::atomic::AtomicBool::new(false),
            slow_walk: std::sync::atomic::AtomicBool::new(false),
            over_a_link: std::sync::atomic::AtomicBool::new(false),
            cancelled_steps: std::sync::atomic::AtomicUsize::new(0),
        });
        let database = store.inner.path().display().to_string();
        let workers = StoreWorkers::new(Arc::clone(&store) as Arc<dyn UserStore>, database.clone()).unwrap();
        // The runtime borrows the store for as long as the test runs: one handle is leaked.
        let borrowed: &'static SlowStore = Box::leak(Box::new(Arc::clone(&store)));
        let runtime = Runtime {
            store: borrowed,
            drafts: Drafts::at(dir.path().join("drafts")),
            database,
            scanner: None,
            workers: Some(workers),
            checker: None,
        };
        let mut session =
            Self { _dir: dir, store, runtime: Some(runtime), state: State::new(120, 40, false) };
        let effects = session.state.start();
        session.run(effects);
        session.settle();
        session
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let runtime = self.runtime.take().expect("runtime");
        run_effects(&runtime, &mut self.state, effects);
        self.runtime = Some(runtime);
    }

    /// One key: its update and the work it asks for sent off, and whatever answers have come
    /// applied (as the event loop does); how long that took.
    fn key(&mut self, action: Action) -> Duration {
        let started = Instant::now();
        let effects = update(&mut self.state, action);
        self.run(effects);
        let runtime = self.runtime.take().expect("runtime");
        take_answers(&runtime, &mut self.state);
        self.runtime = Some(runtime);
        started.elapsed()
    }

    /// Waits until every answer has come and been applied.
    fn settle(&mut self) {
        let runtime = self.runtime.take().expect("runtime");
        assert!(wait_for_answers(&runtime, &mut self.state, PATIENCE), "the workers did not answer");
        self.runtime = Some(runtime);
    }

    fn status(&self) -> String {
        self.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
    }

    /// The status line as drawn.
    fn status_line(&self) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|frame| view::render(frame, &self.state, &Theme::colour())).unwrap();
        let buffer = terminal.backend().buffer();
        let row = 38;
        (0..120).map(|x| buffer[(x, row)].symbol().to_owned()).collect::<String>()
    }

    fn selected_id(&self) -> String {
        self.state.list.selected_entry().map(|e| e.user.id.clone()).unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The workers (and their hold on the store) go first; nothing may stay held.
        self.store.saves.release();
        self.store.rows.release();
        self.store.users.release();
        self.store.walk.release();
        drop(self.runtime.take());
    }
}

impl Session {
    /// `:patch` of a file adding `"flag": true` to everyone, typed (its dry run asked for).
    fn start_patch_adding_a_flag(&mut self) {
        let file = self._dir.path().join("patch.json");
        std::fs::write(&file, r#"[{"op":"add","path":"/flag","value":true}]"#).unwrap();
        self.key(Action::StartCommand);
        for c in format!("patch {}", file.display()).chars() {
            self.key(Action::CommandChar(c));
        }
        self.key(Action::RunCommand);
    }

    /// `:export` into a new directory `exports` of the test's, typed; the file's path.
    fn start_export(&mut self) -> std::path::PathBuf {
        let dir = self._dir.path().join("exports");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("users.jsonl");
        self.key(Action::StartCommand);
        for c in format!("export {}", file.display()).chars() {
            self.key(Action::CommandChar(c));
        }
        self.key(Action::RunCommand);
        file
    }

    /// The editor open on the first user with `typed` added after its `{`, not saved yet;
    /// and that user's id.
    fn editing_with(typed: &str) -> (Self, String) {
        let mut session = Session::new();
        session.key(Action::OpenEditor);
        session.settle();
        let id = session.state.editor.as_ref().unwrap().user_id.clone();
        session.state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
        for c in typed.chars() {
            type_char(&mut session, c);
        }
        (session, id)
    }
}

fn type_char(session: &mut Session, c: char) -> Duration {
    session.key(Action::Edit(Input { key: Key::Char(c), ..Input::default() }))
}

#[test]
fn keys_are_answered_while_a_save_waits_and_its_answer_is_shown() {
    let mut session = Session::new();
    session.key(Action::OpenEditor);
    session.settle();
    assert_eq!(session.state.mode(), Mode::Edit);
    let id = session.state.editor.as_ref().unwrap().user_id.clone();
    session.state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
    for c in "\"waited\": 1,".chars() {
        type_char(&mut session, c);
    }

    // The save is held, as behind another writer's lock.
    session.store.saves.arm();
    let took = session.key(Action::Save);
    assert!(took < KEY_BUDGET, "Ctrl-S returned after {took:?}, not at once");
    session.store.saves.wait_until_holding();
    assert_eq!(session.state.pending, Some(Pending::Saving));
    assert!(session.status_line().contains("saving…"), "{}", session.status_line());

    // Keys are answered meanwhile; those that would change the edit being saved are refused.
    for _ in 0..20 {
        let took = type_char(&mut session, 'x');
        assert!(took < KEY_BUDGET, "a key took {took:?} while the save waited");
    }
    assert!(!session.state.editor.as_ref().unwrap().text().contains('x'), "typing waits for the save");
    assert_eq!(session.status(), "saving… wait for the answer");
    let took = session.key(Action::ToggleHelp);
    assert!(took < KEY_BUDGET && session.state.help, "help opens while the save waits");
    session.key(Action::ToggleHelp);
    assert_eq!(session.store.inner.custom_data(&id).unwrap().revision, 1, "nothing written yet");

    // The save goes through: its answer comes and is shown.
    session.store.saves.release();
    session.settle();
    assert_eq!(session.status(), "saved revision 2");
    assert!(session.state.editor.is_none(), "the saved editor closes");
    assert_eq!(session.state.pending, None);
    assert!(!session.status_line().contains("saving…"), "{}", session.status_line());
    let stored = session.store.inner.custom_data(&id).unwrap();
    assert_eq!(stored.revision, 2);
    assert!(stored.text.contains("\"waited\": 1"));
    assert_eq!(session.state.document.as_ref(), Some(&stored), "the pane shows the saved document");
}

#[test]
fn quitting_while_a_save_waits_never_throws_the_edit_away() {
    let (mut session, id) = Session::editing_with("\"kept\": 1,");
    let edited = session.state.editor.as_ref().unwrap().text();

    // The save waits behind another writer, then is refused as busy.
    session.store.saves.arm();
    session.store.saves_busy.store(true, std::sync::atomic::Ordering::SeqCst);
    session.key(Action::Save);
    // Ctrl-C at once: no "throw your changes away" is offered, the quit waits for the answer.
    session.key(Action::Quit);
    assert_eq!(session.state.dialog, None, "no question that could throw the edit away");
    assert!(session.state.quit, "the session ends once the save answers");
    // Even a `y` meant for that question throws nothing away.
    session.key(Action::Confirm);
    session.store.saves.wait_until_holding();
    session.store.saves.release();
    session.settle();

    // The save failed: the edit is still the editor's, modified, for the way out to keep.
    let editor = session.state.editor.as_ref().expect("the edit the save did not write stays");
    assert!(editor.is_modified());
    assert_eq!(editor.text(), edited);
    assert_eq!(session.state.pending, None);
    assert_eq!(session.store.inner.custom_data(&id).unwrap().revision, 1, "nothing was written");
}

/// A quit while a read is held inside the store (a stopped server) waits for it, up to 2 s (a write up to 30 s):
/// the screen said nothing and showed only `loading…` (bb9).
#[test]
fn quitting_while_a_read_is_on_its_way_says_it_waits_for_the_read_and_that_nothing_is_written() {
    let mut session = Session::new();
    session.store.rows.arm();
    session.key(Action::End);
    session.store.rows.wait_until_holding();
    assert_eq!(session.state.pending, Some(Pending::Loading));
    session.key(Action::Quit);
    assert!(session.state.quit, "no question: nothing is edited");
    let said = session.status_line();
    assert!(
        said.contains("quitting once the store answers the read on its way (nothing is being written"),
        "{said}"
    );
    // A file's read is waited for as a write is: up to 30 s (it said 2, and waited 30: bb44 F4).
    assert!(said.contains("at most 30 s"), "{said}");
    session.store.rows.release();
    session.settle();
    assert_eq!(session.state.pending, None);
}

#[test]
fn a_late_row_answer_for_a_replaced_request_is_dropped() {
    let mut session = Session::new();
    let first_rows: Vec<String> = session.state.list.rows.iter().map(|e| e.user.id.clone()).collect();
    let reads_before = session.store.users_read.lock().unwrap().len();
    // The first request is held inside the store (a slow server) ...
    session.store.rows.arm();
    let took = session.key(Action::End);
    assert!(took < KEY_BUDGET, "End took {took:?}");
    session.store.rows.wait_until_holding();
    assert_eq!(session.state.pending, Some(Pending::Loading));
    assert!(session.status_line().contains("loading…"), "{}", session.status_line());
    // ... when a newer one (Home) replaces it.
    session.key(Action::Home);
    session.store.rows.release();
    session.settle();
    let rows: Vec<String> = session.state.list.rows.iter().map(|e| e.user.id.clone()).collect();
    assert_eq!(rows, first_rows, "the list shows the answer to the newest request, not the late one");
    assert!(session.state.list.at_start);
    assert_eq!(session.state.pending, None);
    // Applied, the late answer would have selected the last user and read their profile.
    let reads: Vec<String> = session.store.users_read.lock().unwrap()[reads_before..].to_vec();
    assert!(reads.is_empty(), "the late answer was acted on: profiles read {reads:?}");
}

#[test]
fn a_late_user_answer_for_a_user_no_longer_selected_is_dropped() {
    let mut session = Session::new();
    // The profile read for the next user is held inside the store (a slow server) ...
    session.store.users.arm();
    let took = session.key(Action::Down);
    assert!(took < KEY_BUDGET, "a move took {took:?}");
    session.store.users.wait_until_holding();
    let late = session.selected_id();
    // ... while the operator moves on: the selection moves over the loaded rows at once.
    for _ in 0..2 {
        let took = session.key(Action::Down);
        assert!(took < KEY_BUDGET, "a move took {took:?} while a read waited");
    }
    let selected = session.selected_id();
    assert_ne!(late, selected);
    session.store.users.release();
    session.settle();
    assert_eq!(
        session.state.user.as_ref().map(|u| u.user.id.clone()),
        Some(selected),
        "the profile shown is the selected user's, not the late answer's"
    );
    assert_eq!(session.state.pending, None);
}

#[test]
fn shutting_down_finishes_the_save_in_flight() {
    let (mut session, id) = Session::editing_with("\"kept\": 1,");
    session.store.saves.arm();
    session.key(Action::Save);
    session.store.saves.wait_until_holding();
    // The screen ends while the save waits: the workers are shut down (as on the way out),
    // which waits for the save they were given instead of abandoning it.
    let runtime = session.runtime.take().unwrap();
    let shutting_down = std::thread::spawn(move || drop(runtime));
    assert!(!shutting_down.is_finished() || session.store.inner.custom_data(&id).unwrap().revision == 2);
    session.store.saves.release();
    shutting_down.join().unwrap();
    let stored = session.store.inner.custom_data(&id).unwrap();
    assert_eq!(stored.revision, 2, "the save was done");
    assert!(stored.text.contains("\"kept\": 1"));
}

#[test]
fn a_read_that_panics_on_a_worker_is_an_error_and_the_worker_answers_the_next() {
    // Issue 14, item 6: a redb panic on a damaged page, met by a worker thread, killed the
    // thread; the screen then waited for its answer forever and ignored q and SIGTERM.
    let mut session = Session::new();
    session.store.panic_on_user.store(true, std::sync::atomic::Ordering::SeqCst);
    session.key(Action::Down);
    session.settle();
    assert!(session.status().contains("internal error"), "{}", session.status());
    assert_eq!(session.state.pending, None);
    // The worker lives on: the next move is answered with the user's profile.
    session.key(Action::Down);
    session.settle();
    let selected = session.state.list.selected_entry().map(|e| e.user.id.clone());
    assert_eq!(session.state.user.as_ref().map(|r| r.user.id.clone()), selected);
}

#[test]
fn a_user_whose_read_fails_shows_no_profile_and_no_key_acts_on_the_user_before() {
    // On Logto's database a row whose customData SQL wrote as `null` cannot be read: the
    // profile of the user before stayed on screen, and `h`, `Enter` and Ctrl-S saved them.
    let mut session = Session::new();
    let before = session.selected_id();
    session.store.panic_on_user.store(true, std::sync::atomic::Ordering::SeqCst);
    session.key(Action::Down);
    session.settle();
    assert_ne!(session.selected_id(), before);
    assert!(session.status().contains("internal error"), "{}", session.status());
    assert!(
        session.state.user.is_none() && session.state.document.is_none(),
        "the user before is still shown"
    );
    session.key(Action::OpenHistory);
    session.settle();
    assert!(session.state.history.is_none(), "the history of the user before opened");
    // The read fails once: `e` reads the selected user again and edits them, not the one before.
    session.key(Action::OpenEditor);
    session.settle();
    let edited = session.state.editor.as_ref().map(|e| e.user_id.clone());
    assert!(edited.is_none() || edited.as_deref() == Some(session.selected_id().as_str()), "{edited:?}");
    assert_ne!(edited, Some(before));
}

#[test]
fn closing_a_dry_run_under_way_stops_it_and_the_reads_it_held_come_at_once() {
    // A `:patch` dry run over a million users kept the read thread for minutes after Esc:
    // the profile said "loading…", and the way out gave up after 30 s, the file left unclosed.
    let mut session = Session::new();
    session.store.slow_walk.store(true, std::sync::atomic::Ordering::SeqCst);
    session.start_patch_adding_a_flag();
    assert!(session.state.patch.as_ref().is_some_and(|v| v.report.is_none()), "the dry run is under way");
    // 200 users at 50 ms: ten seconds to go when the overlay closes (5 s allowed for a busy
    // machine).
    std::thread::sleep(Duration::from_millis(100));
    session.key(Action::ClosePatch);
    assert!(session.state.patch.is_none());
    let started = Instant::now();
    session.key(Action::Down);
    let runtime = session.runtime.take().unwrap();
    let answered = wait_for_answers(&runtime, &mut session.state, Duration::from_secs(5));
    session.runtime = Some(runtime);
    assert!(answered, "the dry run stopped: every answer came within 5 s, not the 10 s it had left");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(session.state.patch.is_none(), "its late answer opened nothing");
    assert!(session.store.inner.history(&session.selected_id()).unwrap().len() == 1, "nothing written");
}

#[test]
fn the_way_out_waits_only_briefly_for_reads_and_leaves_nothing_in_doubt() {
    // Quitting while a slow link held a read (a page, a profile, a dry run) kept the operator
    // 30 s for an answer nobody needed; a read leaves nothing in doubt.
    let mut session = Session::new();
    session.store.over_a_link.store(true, std::sync::atomic::Ordering::SeqCst);
    session.store.slow_walk.store(true, std::sync::atomic::Ordering::SeqCst);
    session.start_patch_adding_a_flag();
    assert!(session.state.patch.as_ref().is_some_and(|v| v.report.is_none()), "the dry run is under way");
    let started = Instant::now();
    let runtime = session.runtime.take().unwrap();
    let answered = wait_at_the_end(&runtime, &mut session.state);
    let waited = started.elapsed();
    session.state.stop_patch_work();
    assert!(wait_for_answers(&runtime, &mut session.state, PATIENCE), "the dry run stops when told");
    session.runtime = Some(runtime);
    assert!(!answered, "200 users at 50 ms: ten seconds of reading were left");
    assert!(
        waited >= READS_AT_THE_END && waited < READS_AT_THE_END + Duration::from_secs(2),
        "the reads' {READS_AT_THE_END:?}, not the writes' {WRITES_AT_THE_END:?}: {waited:?}"
    );
}

#[test]
fn the_way_out_waits_for_a_read_of_a_file_past_the_reads_limit_so_the_file_closes_cleanly() {
    // A worker given up on keeps its hold on the store: a file then is not closed cleanly and
    // the next open repairs it (review of stop 36's 2 s for reads, meant for a stalled link).
    let mut session = Session::new();
    session.store.rows.arm();
    session.key(Action::End);
    session.store.rows.wait_until_holding();
    let gate = session.store.clone();
    let held_for = READS_AT_THE_END + Duration::from_secs(1);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(held_for);
        gate.rows.release();
    });
    let started = Instant::now();
    let runtime = session.runtime.take().unwrap();
    let answered = wait_at_the_end(&runtime, &mut session.state);
    session.runtime = Some(runtime);
    releaser.join().unwrap();
    assert!(answered && started.elapsed() >= held_for, "the read was given up on: {:?}", started.elapsed());
}

#[test]
fn the_way_out_waits_past_the_reads_limit_for_a_save_on_its_way() {
    let (mut session, id) = Session::editing_with("\"kept\": 1,");
    session.store.saves.arm();
    session.key(Action::Save);
    session.store.saves.wait_until_holding();
    let gate = session.store.clone();
    let held_for = READS_AT_THE_END + Duration::from_secs(1);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(held_for);
        gate.saves.release();
    });
    let started = Instant::now();
    let runtime = session.runtime.take().unwrap();
    let answered = wait_at_the_end(&runtime, &mut session.state);
    session.runtime = Some(runtime);
    releaser.join().unwrap();
    assert!(
        answered && started.elapsed() >= held_for,
        "a save's outcome is waited for: {:?}",
        started.elapsed()
    );
    assert_eq!(session.status(), "saved revision 2");
    assert_eq!(session.store.inner.custom_data(&id).unwrap().revision, 2);
}

#[test]
fn the_way_out_stops_a_batch_being_written_and_nothing_is_written() {
    // At a million users the screen's batch held the way out past its 30 s, which then gave
    // up and left the file unclosed; `patch --yes` stops on a signal, writing nothing.
    let mut session = Session::new();
    session.start_patch_adding_a_flag();
    session.settle();
    assert!(session.state.patch.as_ref().is_some_and(|v| v.report.is_some()), "the dry run answered");
    session.store.slow_walk.store(true, std::sync::atomic::Ordering::SeqCst);
    session.key(Action::PatchAsk);
    session.key(Action::Confirm);
    assert!(session.state.patch.as_ref().is_some_and(|v| v.applying), "the batch is being written");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    session.state.stop_patch_work();
    let runtime = session.runtime.take().unwrap();
    let answered = wait_for_answers(&runtime, &mut session.state, Duration::from_secs(5));
    session.runtime = Some(runtime);
    assert!(answered && started.elapsed() < Duration::from_secs(5), "stopped, not the 10 s it had left");
    let status = session.status();
    assert!(status.starts_with("the patch was not applied: interrupted"), "{status}");
    assert_eq!(session.store.inner.history(&session.selected_id()).unwrap().len(), 1, "nothing written");
}

#[test]
fn a_schema_set_while_a_save_waits_for_the_writer_stops_it_and_the_edit_is_checked_against_it() {
    let (mut session, id) = Session::editing_with("\"plan\": \"gold\",");
    // The save looks at the schema (none), then waits, as behind another writer's lock;
    // meanwhile an operator sets one the edit breaks.
    session.store.saves.arm();
    session.key(Action::Save);
    session.store.saves.wait_until_holding();
    let schema = r#"{"properties":{"plan":{"enum":["free","pro"]}}}"#;
    session.store.inner.set_schema(Some(schema), &Author("other".into())).unwrap();
    session.store.saves.release();
    session.settle();

    assert_eq!(session.store.inner.custom_data(&id).unwrap().revision, 1, "nothing was written");
    let status = session.status();
    assert!(
        status.starts_with("not saved: the schema is now revision 1, set since this edit was checked"),
        "{status}"
    );
    let editor = session.state.editor.as_ref().expect("the edit stays open");
    assert!(editor.is_modified() && editor.text().contains("\"plan\": \"gold\""));
    assert_eq!(session.state.pending, None);
}

/// The answers a scan for `query` gives when the store cancels its first `cancelled` steps
/// and the scanner had sent `sent` cancel requests.
fn scan_with_cancels(cancelled: usize, sent: usize, query: &str) -> Vec<Action> {
    let session = Session::new();
    session.store.cancelled_steps.store(cancelled, SeqCst);
    let cancels = custodian::tui::Cancels::default();
    (0..sent).for_each(|_| cancels.sent_one());
    let mut answers = Vec::new();
    custodian::tui::scan(&*session.store, (7, query), &|| true, &cancels, |answer| {
        answers.push(answer);
        true
    });
    answers
}

/// Five keystrokes while a slow server works send four cancel requests; each may land on the
/// step of the query typed last. That query is still answered in full (three retries were
/// allowed: it failed with "the query was cancelled"), while a cancel no one here asked for
/// (an administrator's) is said, not retried forever.
#[test]
fn a_scan_takes_again_every_step_a_late_cancel_of_an_earlier_query_stopped() {
    let answers = scan_with_cancels(4, 4, "a");
    let Some(Action::SearchHits { generation: 7, hits, done: true, .. }) = answers.last() else {
        panic!("the scan did not end with its hits: {answers:?}");
    };
    assert!(!hits.is_empty(), "{answers:?}");
    assert!(answers.iter().all(|a| matches!(a, Action::SearchHits { .. })), "{answers:?}");
    let answers = scan_with_cancels(2, 1, "a");
    // Said as a search that stopped before its end (bb99 F3), with the failure.
    assert!(
        matches!(answers.as_slice(), [Action::SearchStopped { generation: 7, failure }]
            if matches!(&**failure, Action::StoreFailed { message } if message.contains("cancelled"))),
        "{answers:?}"
    );
}

#[test]
fn the_way_out_stops_an_export_still_under_way_past_the_wait_and_leaves_no_file() {
    // bb37 #1: `q` during a `:export` that ran past the wait (a starved box, ten million users)
    // left custodian while the export still held the store: the database was left needing a
    // repair, and the export's temporary file behind.
    let mut session = Session::new();
    session.store.slow_walk.store(true, SeqCst);
    let file = session.start_export();
    assert_eq!(session.state.pending, Some(Pending::Exporting));
    session.key(Action::Quit);
    assert!(session.state.quit);
    let said = session.status_line();
    assert!(
        said.contains("quitting once the export on its way ends (past 30 s it stops, its file not made)"),
        "{said}"
    );
    let writes = Duration::from_millis(300);
    let started = Instant::now();
    let runtime = session.runtime.take().unwrap();
    let answered = wait_at_the_end_within(&runtime, &mut session.state, writes);
    session.runtime = Some(runtime);
    // 200 users at 50 ms: ten seconds of reading were left; stopped, it ends at the next user.
    assert!(answered, "the export was given up on, still holding the store");
    let waited = started.elapsed();
    // It looks at every user (50 ms each here): the 5 s it is given are not needed.
    assert!(waited >= writes && waited < writes + Duration::from_secs(1), "{waited:?}");
    assert_eq!(
        session.status(),
        format!(
            "the export to {} was stopped unfinished at the way out; that file was not made",
            file.display()
        )
    );
    let left: Vec<_> =
        std::fs::read_dir(file.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "neither the file nor its temporary one stays: {left:?}");
}

#[test]
fn the_way_out_lets_an_export_that_ends_within_the_wait_end() {
    let mut session = Session::new();
    let file = session.start_export();
    session.key(Action::Quit);
    let runtime = session.runtime.take().unwrap();
    let answered = wait_at_the_end_within(&runtime, &mut session.state, PATIENCE);
    session.runtime = Some(runtime);
    assert!(answered);
    assert_eq!(session.status(), format!("exported 200 users to {}", file.display()));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 200);
}

#[test]
fn an_export_under_way_tells_the_screen_how_far_it_has_come_and_still_answers_once() {
    // Ten million users take minutes to export, and the status line said only `exporting…`.
    let mut session = Session::new();
    let mut more = custodian::domain::synthetic::SyntheticUsers::new(11, 0).take(9_000).map(Ok);
    session.store.inner.import(&mut more, ImportMode::InsertOnly, &Author("seeder".into())).unwrap();
    session.store.walk.arm();
    let file = session.start_export();
    assert_eq!(session.status(), format!("exporting to {}", file.display()));
    // Held past its first 4,096 users, of which it tells at once (then at most every 250 ms).
    session.store.walk.wait_until_holding();
    let runtime = session.runtime.take().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while session.state.export_under_way.as_ref().is_none_or(|e| e.progress.is_none())
        && Instant::now() < deadline
    {
        take_answers(&runtime, &mut session.state);
        std::thread::sleep(Duration::from_millis(5));
    }
    session.runtime = Some(runtime);
    let told = session.state.export_under_way.as_ref().and_then(|e| e.progress);
    assert_eq!(told, Some(Progress::Read(4_096)));
    assert_eq!(session.state.pending, Some(Pending::Exporting), "its word was taken for its answer");
    assert!(session.status_line().contains("exporting… 4,096/9,200 read"), "{}", session.status_line());
    session.store.walk.release();
    session.settle();
    assert_eq!(session.status(), format!("exported 9,200 users to {}", file.display()));
    assert_eq!(session.state.pending, None, "the word before the answer left the export pending");
    assert_eq!(session.state.export_under_way, None);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 9_200);
}

/// bb96 F1: `q` during a `:export` waits for it (up to 30 s), and the count on the screen stood
/// still all that time, a working export looking like a stuck one: the way out draws the
/// answers as they come.
#[test]
fn the_way_out_shows_an_export_going_on_until_it_ends() {
    let mut session = Session::new();
    let mut more = custodian::domain::synthetic::SyntheticUsers::new(11, 0).take(9_000).map(Ok);
    session.store.inner.import(&mut more, ImportMode::InsertOnly, &Author("seeder".into())).unwrap();
    session.store.walk.arm();
    let file = session.start_export();
    session.store.walk.wait_until_holding();
    session.key(Action::Quit);
    assert!(session.state.quit);
    let store = Arc::clone(&session.store);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        store.walk.release();
    });
    let mut drawn: Vec<String> = Vec::new();
    let runtime = session.runtime.take().unwrap();
    let answered =
        custodian::tui::wait_at_the_end_shown(&runtime, &mut session.state, PATIENCE, &mut |state| {
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
            terminal.draw(|frame| view::render(frame, state, &Theme::colour())).unwrap();
            let buffer = terminal.backend().buffer();
            drawn.push((0..120).map(|x| buffer[(x, 38)].symbol().to_owned()).collect());
        });
    session.runtime = Some(runtime);
    releaser.join().unwrap();
    assert!(answered);
    assert!(
        drawn.iter().any(|line| line.contains("quitting once the export") && line.contains("/9,200 read")),
        "{drawn:#?}"
    );
    let last = drawn.last().expect("frames drawn while the way out waited");
    assert!(last.contains(&format!("exported 9,200 users to {}", file.display())), "{last}");
}

/// bb78 F1: `q` while a search step waited on a link gone silent: the way out joined the
/// scanner for good, deaf to every signal, on a blank terminal. It waits as long as for a read
/// on the way, then leaves the thread to end with the process.
#[test]
fn the_way_out_leaves_a_scanner_held_inside_a_step_once_its_wait_is_over() {
    let session = Session::new();
    session.store.scans.arm();
    let (scanner, _answers) =
        custodian::tui::Scanner::new(Arc::clone(&session.store) as Arc<dyn UserStore>).unwrap();
    let mut runtime = Runtime {
        store: &*session.store,
        drafts: Drafts::at(session._dir.path().join("scan-drafts")),
        database: String::new(),
        scanner: Some(scanner),
        workers: None,
        checker: None,
    };
    assert!(custodian::tui::perform(&runtime, Effect::Scan { generation: 1, query: "al".into() }).is_none());
    session.store.scans.wait_until_holding();
    let asked = Instant::now();
    let scanner = runtime.scanner.as_mut().expect("the scanner");
    assert!(!scanner.shut_down_within(Duration::from_millis(300)), "the step is still held");
    assert!(asked.elapsed() < Duration::from_secs(3), "{:?}", asked.elapsed());
    // Once the step is let go, a scanner ends as it always did.
    session.store.scans.release();
    let (mut idle, _answers) =
        custodian::tui::Scanner::new(Arc::clone(&session.store) as Arc<dyn UserStore>).unwrap();
    assert!(idle.shut_down_within(Duration::from_secs(5)));
}
