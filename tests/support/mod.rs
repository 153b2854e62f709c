//! Shared test fixtures: a temporary database filled with the bundled demo users, and a
//! driver that runs the TUI's update loop against it without a terminal.

#![allow(dead_code)]

pub mod documents;
pub mod emulator;
pub mod home;
pub mod postgres;
pub mod proxy;
pub mod pty;
pub mod run;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use custodian::domain::Limits;
use custodian::domain::import::ImportReader;
use custodian::draft::Drafts;
use custodian::store::{Author, ImportMode, OpenOptions, RedbStore, UserStore};
use custodian::tui::app::{Action, State, update};
use custodian::tui::keymap;
use custodian::tui::{Runtime, run_effects};
use tempfile::TempDir;

pub const DEMO_USERS: &[u8] = include_bytes!("../../assets/demo-users.json");

/// A fresh database with the 200 demo users; keep the TempDir alive as long as the store.
pub fn demo_store() -> (TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).unwrap();
    let mut reader = ImportReader::new(DEMO_USERS, Limits::default(), 1_700_000_000_000).unwrap();
    store.import(&mut reader, ImportMode::InsertOnly, &Author("tester".into())).unwrap();
    (dir, store)
}

/// Inserts the users of `records` (JSON Lines, or one JSON array) into `store`, as an import by
/// someone else.
pub fn import_records(store: &RedbStore, records: &str) {
    let mut reader = ImportReader::new(records.as_bytes(), Limits::default(), 0).expect("readable records");
    store.import(&mut reader, ImportMode::InsertOnly, &Author("other".into())).expect("imported");
}

/// What the TUI's effects run against: the store, and a drafts directory beside it.
pub fn runtime(store: &RedbStore) -> Runtime<'_> {
    let dir = store.path().parent().expect("the store is in a directory");
    Runtime {
        store,
        drafts: Drafts::at(dir.join("drafts")),
        database: store.path().display().to_string(),
        scanner: None,
        workers: None,
        checker: None,
    }
}

/// The TUI state after start-up at `width`×`height`.
pub fn started(store: &RedbStore, width: u16, height: u16) -> State {
    let mut state = State::new(width, height, store.is_read_only());
    let effects = state.start();
    run_effects(&runtime(store), &mut state, effects);
    state
}

/// Applies an action and runs the work it asks for, as the runtime does.
pub fn act(store: &RedbStore, state: &mut State, action: Action) {
    let effects = update(state, action);
    run_effects(&runtime(store), state, effects);
}

/// Presses a key as the screen does: through the key table, in the mode the state is in.
pub fn press(store: &RedbStore, state: &mut State, code: KeyCode, modifiers: KeyModifiers) {
    let action = keymap::action_for(state.mode(), KeyEvent::new(code, modifiers))
        .unwrap_or_else(|| panic!("{code:?} is bound in {:?}", state.mode()));
    act(store, state, action);
}

/// Filters the list by `text` and accepts the filter: the first match is selected.
pub fn filtered_to(store: &RedbStore, state: &mut State, text: &str) {
    act(store, state, Action::StartFilter);
    for c in text.chars() {
        act(store, state, Action::FilterChar(c));
    }
    act(store, state, Action::FilterAccept);
}

/// The id of the user selected in the list, if any.
pub fn selected_id(state: &State) -> Option<String> {
    state.list.selected_entry().map(|e| e.user.id.clone())
}

pub fn selected_handle(state: &State) -> String {
    state.list.selected_entry().map(|e| e.user.handle().to_owned()).unwrap_or_default()
}
