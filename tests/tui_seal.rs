//! Sealed values in the editor, without a terminal: `Ctrl-L` seals the value under the cursor
//! in place, `Ctrl-O` shows a sealed value's plaintext in an overlay that keeps it nowhere, and
//! the read-only pane shows a sealed value short. Pure update tests against a real temporary
//! database, and screens drawn on ratatui's TestBackend (insta snapshots).

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use custodian::domain::CustomData;
use custodian::domain::seal::{self, Key, KeySet};
use custodian::store::{Author, RedbStore, UserStore};
use custodian::tui::app::{Action, Mode, Plaintext, PlaintextScroll, State, StatusKind};
use custodian::tui::keymap;
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key as TextKey};
use serde_json::json;
use support::{act, demo_store, started};

const DOCUMENT: &str = r#"{"theme": "dark", "billing": {"plan": "pro", "taxId": "DE123456789"}, "apps": [{"name": "c", "token": "tok-3f9a-long-enough"}]}"#;

fn keys() -> KeySet {
    KeySet::new(vec![Key::new("2026-12", [7; 32])]).expect("one key")
}

/// The demo database with DOCUMENT as the first user's customData, started with the editor
/// open on it, and the key file given.
fn editing(store: &RedbStore, with_keys: bool) -> State {
    let first = store.page_after(None, 1).expect("page").remove(0);
    let data = CustomData::parse(DOCUMENT).expect("test document");
    store.replace_custom_data(&first.user.id, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(store, 100, 30);
    if with_keys {
        state.keys = Some(keys());
    }
    act(store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    state
}

/// Puts the editor's cursor on the first character of `needle`.
fn cursor_on(state: &mut State, needle: &str) {
    let editor = state.editor.as_mut().expect("editor");
    let (row, col) = editor
        .textarea
        .lines()
        .iter()
        .enumerate()
        .find_map(|(row, line)| line.find(needle).map(|at| (row, line[..at].chars().count())))
        .unwrap_or_else(|| panic!("{needle} not in the editor"));
    editor.textarea.move_cursor(CursorMove::Jump(row, col));
}

fn editor_text(state: &State) -> String {
    state.editor.as_ref().expect("editor").text()
}

fn sealed_tax_id(state: &State) -> String {
    let object: serde_json::Value = serde_json::from_str(&editor_text(state)).expect("valid JSON");
    object["billing"]["taxId"].as_str().expect("a string").to_owned()
}

fn status(state: &State) -> (StatusKind, String) {
    let status = state.status.as_ref().expect("a status line");
    (status.kind, status.text.clone())
}

#[test]
fn ctrl_l_seals_the_value_under_the_cursor_in_place_and_undo_brings_it_back() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    let before = editor_text(&state);
    cursor_on(&mut state, "DE123456789");
    act(&store, &mut state, Action::SealValue);
    let token = sealed_tax_id(&state);
    assert!(seal::is_sealed(&token), "{token}");
    assert_eq!(seal::open(&token, &keys()).expect("opens"), json!("DE123456789"));
    // Only that value changed, and the text is still valid (the check ran).
    assert_eq!(editor_text(&state).replace(&token, "DE123456789"), before);
    let (kind, text) = status(&state);
    assert_eq!(kind, StatusKind::Success);
    assert!(text.starts_with("sealed billing.taxId (13 B) with key 2026-12"), "{text}");
    assert!(state.validation_summary().expect("checked").0);
    // Sealing again is refused, and so is sealing what holds it (`get --unseal` would show the
    // inner one still sealed: bb12); undo gives the plaintext back.
    cursor_on(&mut state, &token[..10]);
    act(&store, &mut state, Action::SealValue);
    assert_eq!(status(&state).1, "billing.taxId is already sealed");
    let sealed_text = editor_text(&state);
    cursor_on(&mut state, "\"billing\"");
    act(&store, &mut state, Action::SealValue);
    assert_eq!(
        status(&state).1,
        "not sealed: billing holds the sealed value billing.taxId; seal the values beside it one by one instead"
    );
    assert_eq!(editor_text(&state), sealed_text, "nothing sealed");
    // One step: the plaintext out and the sealed text in are undone together (it took two
    // `Ctrl-U`, the first leaving neither in place); `Ctrl-R` seals it again.
    act(&store, &mut state, Action::Edit(Input { key: TextKey::Char('u'), ctrl: true, ..Input::default() }));
    assert_eq!(editor_text(&state), before);
    act(&store, &mut state, Action::Edit(Input { key: TextKey::Char('r'), ctrl: true, ..Input::default() }));
    assert_eq!(editor_text(&state), sealed_text);
}

#[test]
fn a_key_seals_its_whole_value_an_object_included() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    cursor_on(&mut state, "\"billing\"");
    act(&store, &mut state, Action::SealValue);
    let object: serde_json::Value = serde_json::from_str(&editor_text(&state)).expect("valid JSON");
    let token = object["billing"].as_str().expect("sealed");
    assert_eq!(seal::open(token, &keys()).expect("opens"), json!({"plan": "pro", "taxId": "DE123456789"}));
    // The size said is the plaintext's, the compact text sealed, not the indented text the
    // editor showed (43 B).
    let plaintext = r#"{"plan":"pro","taxId":"DE123456789"}"#;
    let (_, text) = status(&state);
    assert!(text.starts_with(&format!("sealed billing ({} B) with key", plaintext.len())), "{text}");
}

#[test]
fn ctrl_o_shows_the_plaintext_in_an_overlay_that_is_kept_nowhere_and_closes() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    cursor_on(&mut state, "DE123456789");
    act(&store, &mut state, Action::SealValue);
    let token = sealed_tax_id(&state);
    cursor_on(&mut state, &token[..12]);
    act(&store, &mut state, Action::OpenSealed);
    assert_eq!(state.mode(), Mode::Plaintext);
    let plaintext = state.plaintext.as_ref().expect("overlay");
    assert_eq!((plaintext.path.as_str(), plaintext.text.as_str()), ("billing.taxId", "\"DE123456789\""));
    assert_eq!(plaintext.kid.as_deref(), Some("2026-12"));
    // Not in the text a draft or a save would write.
    let snapshot = state.editor.as_ref().expect("editor").snapshot();
    assert!(!snapshot.text.contains("DE123456789"));
    // Only the overlay's keys work: typing does not reach the editor underneath.
    let typed = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    assert_eq!(keymap::action_for(state.mode(), typed).map(|a| format!("{a:?}")), None);
    let close = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let action = keymap::action_for(state.mode(), close).expect("Esc closes");
    act(&store, &mut state, action);
    assert!(state.plaintext.is_none());
    assert_eq!(state.mode(), Mode::Edit);
    let screen = screen(&state, 100, 30, &Theme::plain());
    assert!(!screen.contains("DE123456789"), "nothing of it is left on screen:\n{screen}");
}

#[test]
fn opening_a_value_sealed_with_another_key_or_changed_says_why_in_one_line() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    cursor_on(&mut state, "DE123456789");
    act(&store, &mut state, Action::SealValue);
    let token = sealed_tax_id(&state);
    // Another key file: its kid is unknown.
    state.keys = Some(KeySet::new(vec![Key::new("other", [9; 32])]).expect("key"));
    cursor_on(&mut state, &token[..12]);
    act(&store, &mut state, Action::OpenSealed);
    assert!(state.plaintext.is_none());
    assert_eq!(
        status(&state),
        (
            StatusKind::Error,
            "cannot open billing.taxId: no key with kid \"2026-12\" in the key file".to_owned()
        )
    );
    // The same kid with another key: the tag does not match.
    state.keys = Some(KeySet::new(vec![Key::new("2026-12", [9; 32])]).expect("key"));
    act(&store, &mut state, Action::OpenSealed);
    assert!(state.plaintext.is_none());
    assert_eq!(
        status(&state).1,
        "cannot open billing.taxId: the tag does not match — the value was changed, or the key is wrong (another key under the same kid?)"
    );
    // A plain value is not sealed.
    cursor_on(&mut state, "tok-3f9a");
    act(&store, &mut state, Action::OpenSealed);
    assert_eq!(status(&state).1, "apps[0].token is not sealed");
}

#[test]
fn without_a_key_file_sealing_says_how_to_name_one_and_changes_nothing() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, false);
    let before = editor_text(&state);
    cursor_on(&mut state, "DE123456789");
    for action in [Action::SealValue, Action::OpenSealed] {
        act(&store, &mut state, action);
        let (kind, text) = status(&state);
        assert_eq!(kind, StatusKind::Error);
        assert!(text.starts_with("no key file: start custodian with --key-file FILE"), "{text}");
    }
    assert_eq!(editor_text(&state), before);
}

#[test]
fn sealing_waits_for_valid_text_and_a_value_under_the_cursor() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    let editor = state.editor.as_mut().expect("editor");
    editor.textarea.move_cursor(CursorMove::Jump(0, 0));
    act(&store, &mut state, Action::SealValue);
    assert_eq!(status(&state).1, "put the cursor on a value (or its key) before sealing");
    act(&store, &mut state, Action::Edit(Input { key: TextKey::Char('x'), ..Input::default() }));
    cursor_on(&mut state, "DE123456789");
    act(&store, &mut state, Action::SealValue);
    assert_eq!(status(&state).1, "the text is not valid yet: fix it before sealing (Ctrl-G shows where)");
}

#[test]
fn the_key_table_gives_ctrl_l_and_ctrl_o_in_the_editor_hints_and_help() {
    let hints: Vec<&str> = keymap::hints(Mode::Edit).filter_map(|b| b.hint).collect();
    assert!(hints.contains(&"seal") && hints.contains(&"unseal"), "{hints:?}");
    let help = keymap::help_text();
    assert!(help.contains("Ctrl-L") && help.contains("seal the value under the cursor"), "{help}");
    assert!(help.contains("Ctrl-O") && help.contains("Plaintext of a sealed value"), "{help}");
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert!(matches!(keymap::action_for(Mode::Edit, ctrl('l')), Some(Action::SealValue)));
    assert!(matches!(keymap::action_for(Mode::Edit, ctrl('o')), Some(Action::OpenSealed)));
}

// ---------------------------------------------------------------------------------------------
// Screens

fn screen(state: &State, width: u16, height: u16, theme: &Theme) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|frame| view::render(frame, state, theme)).expect("draw");
    terminal.backend().to_string()
}

/// The time of the save and the random IV are all that change from run to run.
macro_rules! assert_screen {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by tester", "[save time] by tester"),
            (r"updatedAt     \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "updatedAt     [save time]"),
        ]}, {
            insta::assert_snapshot!($name, $screen);
        });
    };
}

/// The browse screen after saving a document with a sealed value: the read-only pane shows it
/// short, in ASCII without colour and with a lock with colour.
#[test]
fn the_read_only_pane_shows_a_sealed_value_short() {
    let (_dir, store) = demo_store();
    let first = store.page_after(None, 1).expect("page").remove(0);
    let mut object = CustomData::parse(DOCUMENT).expect("doc").into_object();
    seal::seal_paths::<()>(&mut object, &["billing.taxId".to_owned()], keys().sealing_key(), || Ok([1; 12]))
        .expect("iv")
        .expect("sealed");
    let data = CustomData::from_object(object);
    store.replace_custom_data(&first.user.id, &data, None, &Author("tester".into())).expect("save");
    let state = started(&store, 100, 30);
    let plain = screen(&state, 100, 30, &Theme::plain());
    assert!(plain.contains("\"taxId\": [sealed kid 2026-12, 13 B]"), "{plain}");
    assert_screen!("sealed_value_in_the_read_only_pane_100x30", plain);
    let colour = screen(&state, 100, 30, &Theme::colour());
    assert!(colour.contains("\"taxId\": 🔒 kid 2026-12 · 13 B"), "{colour}");
}

#[test]
fn the_plaintext_overlay() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    cursor_on(&mut state, "\"billing\"");
    act(&store, &mut state, Action::SealValue);
    let object: serde_json::Value = serde_json::from_str(&editor_text(&state)).expect("valid JSON");
    let token = object["billing"].as_str().expect("sealed").to_owned();
    cursor_on(&mut state, &token[..12]);
    act(&store, &mut state, Action::OpenSealed);
    let shown = screen(&state, 100, 30, &Theme::plain());
    // The editor beneath holds ciphertext that differs per run: only the overlay is pinned.
    let overlay: Vec<&str> = shown
        .lines()
        .filter(|line| {
            line.contains("Plaintext of") || line.contains("\"plan\"") || line.contains("\"taxId\"")
        })
        .collect();
    assert_screen!("plaintext_overlay_100x30", overlay.join("\n"));
}

/// A plaintext longer than the overlay: each line in rows of its width (a token has no spaces
/// to break at), and as many rows as fit, scrolled to the last by `End`, the title saying
/// which. It was the first 69 characters, then the screen's bottom, with nothing saying so
/// (bb44 F6).
#[test]
fn a_plaintext_longer_than_the_overlay_is_wrapped_and_scrolled_to_its_end() {
    let (_dir, store) = demo_store();
    let mut state = editing(&store, true);
    let long = format!("\"{}END\"", "A".repeat(300));
    state.plaintext = Some(Plaintext { path: "long".into(), kid: None, text: long, scroll: 0 });
    let shown = screen(&state, 100, 30, &Theme::plain());
    assert!(shown.contains("AEND\""), "the whole value, in rows:\n{shown}");
    assert!(!shown.contains(" · rows "), "all of it fits:\n{shown}");
    let lines: Vec<String> = (0..100).map(|n| format!("line {n}")).collect();
    let text = serde_json::to_string_pretty(&lines).expect("text");
    state.plaintext = Some(Plaintext { path: "notes".into(), kid: None, text, scroll: 0 });
    let shown = screen(&state, 100, 30, &Theme::plain());
    // 30 rows: 29 above the hint bar, 27 inside the border; the text is 102 lines.
    assert!(shown.contains("Plaintext of notes · rows 1–27 of 102 (j/k, PgDn, End) · Esc closes"), "{shown}");
    let end =
        keymap::action_for(Mode::Plaintext, KeyEvent::new(KeyCode::End, KeyModifiers::NONE)).expect("End");
    act(&store, &mut state, end);
    let shown = screen(&state, 100, 30, &Theme::plain());
    assert!(shown.contains("rows 76–102 of 102") && shown.contains("\"line 99\""), "{shown}");
    act(&store, &mut state, Action::ScrollPlaintext(PlaintextScroll::Rows(1)));
    assert_eq!(state.plaintext.as_ref().map(|p| p.scroll), Some(75), "no further than its last row");
    let page_up = keymap::action_for(Mode::Plaintext, KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    act(&store, &mut state, page_up.expect("PgUp"));
    assert_eq!(state.plaintext.as_ref().map(|p| p.scroll), Some(49), "a page less a row");
}
