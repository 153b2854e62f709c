//! The editor holds customData to the deployment's JSON Schema (issue 13 §2): the check off
//! the key path also runs the schema, the status line counts the errors, `Ctrl-G` walks them
//! (each press the next one's position), and a save is refused while any remains.

mod support;

use std::sync::Arc;

use custodian::domain::shape::Shape;
use custodian::store::{RedbStore, UserStore};
use custodian::tui::app::{Action, Effect, State, update};
use custodian::tui::check;
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};
use support::{act, demo_store, filtered_to, started};

/// Two rules the demo admin's document breaks: its language is not one of two, and
/// `customDataBar.count` is not a string.
const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "adminConsolePreferences": {"type": "object", "properties": {"language": {"enum": ["de", "fr"]}}},
    "customDataBar": {"type": "object", "properties": {"count": {"type": "string"}}}
  }
}"#;

fn editor_on_admin(store: &RedbStore, schema: &str) -> State {
    editor_on_admin_held_to(store, Some(Arc::new(Shape::compile(schema).expect("a schema"))))
}

/// The editor on admin with no schema set, as a session started on a store without one.
fn editor_on_admin_without_a_schema(store: &RedbStore) -> State {
    editor_on_admin_held_to(store, None)
}

fn editor_on_admin_held_to(store: &RedbStore, shape: Option<Arc<Shape>>) -> State {
    let mut state = started(store, 120, 40);
    state.shape = shape;
    filtered_to(store, &mut state, "admin");
    act(store, &mut state, Action::OpenEditor);
    state
}

fn status(state: &State) -> String {
    state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

fn cursor(state: &State) -> (usize, usize) {
    let at = state.editor.as_ref().expect("editing").textarea.cursor();
    (at.0, at.1)
}

#[test]
fn the_status_line_counts_the_schema_errors_of_the_opened_document() {
    let (_dir, store) = demo_store();
    let state = editor_on_admin(&store, SCHEMA);
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(!valid);
    assert_eq!(
        summary,
        r#"2 schema errors: adminConsolePreferences.language: "en" is not one of "de", "fr""#
    );
}

#[test]
fn ctrl_g_walks_the_schema_errors_one_press_each_and_round_again() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store, SCHEMA);
    update(&mut state, Action::JumpToError);
    // `    "language": "en",` is line 3: the value starts at column 17.
    assert_eq!(cursor(&state), (2, 16));
    assert!(
        status(&state).starts_with("schema error 1 of 2: adminConsolePreferences.language"),
        "{}",
        status(&state)
    );
    update(&mut state, Action::JumpToError);
    // `    "count": 3` is line 10.
    assert_eq!(cursor(&state), (9, 13));
    assert!(
        status(&state).starts_with("schema error 2 of 2: customDataBar.count: 3 is not of type"),
        "{}",
        status(&state)
    );
    update(&mut state, Action::JumpToError);
    assert_eq!(cursor(&state), (2, 16), "round again after the last");
}

/// `Ctrl-S` on a text whose check has not answered: the save waits for that check, and what
/// it asks for once the answer is in.
fn save_once_checked(state: &mut State) -> Vec<Effect> {
    let waiting = update(state, Action::Save);
    let Some(Effect::Check { generation, text, limits, shape }) =
        waiting.into_iter().find(|e| matches!(e, Effect::Check { .. }))
    else {
        panic!("the save asks for the text's check first")
    };
    update(state, check::check(generation, &text, &limits, shape.0.as_deref()))
}

#[test]
fn a_save_is_refused_while_the_text_breaks_the_schema() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store, SCHEMA);
    update(&mut state, Action::Paste(" ".into()));
    let effects = save_once_checked(&mut state);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Save { .. })), "{effects:?}");
    assert!(status(&state).starts_with("not saved: 2 schema errors: "), "{}", status(&state));
    // With a schema the text satisfies, the same save goes through.
    let mut state = editor_on_admin(&store, r#"{"type": "object"}"#);
    state.editor.as_mut().expect("editing").textarea.move_cursor(CursorMove::Jump(0, 1));
    update(&mut state, Action::Paste("\"plan\": \"pro\",".into()));
    let effects = save_once_checked(&mut state);
    assert!(effects.iter().any(|e| matches!(e, Effect::Save { .. })), "{effects:?} {}", status(&state));
}

#[test]
fn the_check_off_the_key_path_runs_the_schema_and_its_answer_is_shown() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store, SCHEMA);
    let effects = update(&mut state, Action::Edit(Input { key: Key::Char(' '), ..Input::default() }));
    let Some(Effect::Check { generation, text, limits, shape }) = effects.into_iter().next() else {
        panic!("a change asks for a check")
    };
    // The check is held to the editor's schema, which the effect carries.
    assert!(shape.0.is_some(), "the schema goes with the text");
    let answer = check::check(generation, &text, &limits, shape.0.as_deref());
    update(&mut state, answer);
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(!valid && summary.starts_with("2 schema errors: "), "{summary}");
}

#[test]
fn snapshot_of_the_editor_with_schema_errors() {
    let (_dir, store) = demo_store();
    let state = editor_on_admin(&store, SCHEMA);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|frame| view::render(frame, &state, &Theme::plain())).expect("draw");
    let screen = terminal.backend().to_string();
    assert!(screen.contains("2 schema errors: adminConsolePreferences.language"), "{screen}");
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by tester", "[import time] by tester"),
    ]}, {
        insta::assert_snapshot!("editor_schema_errors_120x40", screen);
    });
}

#[test]
fn a_schema_set_from_outside_while_editing_stops_the_next_save_and_holds_the_edit_to_it() {
    // The screen held documents to the schema as it was at start: `schema set` from another
    // shell was not enforced, and a document breaking it was saved.
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin_without_a_schema(&store);
    let id = state.editor.as_ref().expect("editing").user_id.clone();
    let before = store.custom_data(&id).expect("stored").text;
    store.set_schema(Some(SCHEMA), &custodian::store::Author("other".into())).expect("schema set");
    state.editor.as_mut().expect("editing").textarea.move_cursor(CursorMove::Jump(0, 1));
    update(&mut state, Action::Paste("\"plan\": \"pro\",".into()));
    act(&store, &mut state, Action::Save);
    assert!(
        status(&state)
            .starts_with("not saved: the schema is now revision 1, set since this edit was checked"),
        "{}",
        status(&state)
    );
    assert_eq!(store.custom_data(&id).expect("stored").text, before, "nothing written");
    let editor = state.editor.as_ref().expect("the edit stays");
    assert_eq!(editor.schema_errors.len(), 2, "checked against the new schema at once");
    // The next save is the editor's own refusal, naming the errors.
    act(&store, &mut state, Action::Save);
    assert!(status(&state).starts_with("not saved: 2 schema errors"), "{}", status(&state));
    assert_eq!(store.custom_data(&id).expect("stored").text, before, "nothing written");
}

#[test]
fn a_schema_cleared_from_outside_no_longer_holds_the_edit_back() {
    let (_dir, store) = demo_store();
    store.set_schema(Some(SCHEMA), &custodian::store::Author("other".into())).expect("schema set");
    let mut state = editor_on_admin_without_a_schema(&store);
    state.shape = Some(Arc::new(Shape::compile(SCHEMA).expect("a schema")));
    state.schema_source = custodian::tui::app::SchemaSource::Stored(Some(1));
    state.editor.as_mut().expect("editing").shape = state.shape.clone();
    state.editor.as_mut().expect("editing").textarea.move_cursor(CursorMove::Jump(0, 1));
    update(&mut state, Action::Paste("\"plan\": \"pro\",".into()));
    store.set_schema(None, &custodian::store::Author("other".into())).expect("schema cleared");
    // Refused by the schema it held, which the store no longer has: read again, and said as a
    // save not made, of a schema cleared (it read "set from outside", with no "not saved":
    // bb91 F4).
    act(&store, &mut state, Action::Save);
    assert!(
        status(&state).starts_with(
            "not saved: the schema was cleared since this edit was checked; the edit is checked against none now — save again"
        ),
        "{}",
        status(&state)
    );
    assert!(state.editor.as_ref().expect("editing").schema_errors.is_empty());
    act(&store, &mut state, Action::Save);
    assert!(status(&state).starts_with("saved revision 2"), "{}", status(&state));
}

#[test]
fn r_takes_in_a_schema_set_from_outside_before_the_next_edit_opens() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    store.set_schema(Some(SCHEMA), &custodian::store::Author("other".into())).expect("schema set");
    act(&store, &mut state, Action::Refresh);
    assert_eq!(state.schema_source, custodian::tui::app::SchemaSource::Stored(Some(1)));
    act(&store, &mut state, Action::StartFilter);
    for c in "admin".chars() {
        act(&store, &mut state, Action::FilterChar(c));
    }
    act(&store, &mut state, Action::FilterAccept);
    act(&store, &mut state, Action::OpenEditor);
    assert_eq!(state.editor.as_ref().expect("editing").schema_errors.len(), 2, "held to it from the start");
}

#[test]
fn a_schema_set_from_outside_holds_an_editor_opened_after_it_from_the_start() {
    // Without `r`: the editor said `valid object` until the first Ctrl-S, which then called
    // the schema set "since this edit was checked" (bb92 F4).
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    assert_eq!(state.schema_source, custodian::tui::app::SchemaSource::Stored(None));
    store.set_schema(Some(SCHEMA), &custodian::store::Author("other".into())).expect("schema set");
    support::filtered_to(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    assert_eq!(state.editor.as_ref().expect("editing").schema_errors.len(), 2, "held to it from the start");
    assert!(
        status(&state).starts_with(
            "the schema is now revision 1 (set from outside); the edit is checked against it now"
        ),
        "{}",
        status(&state)
    );
}

#[test]
fn a_schema_error_quoting_a_long_enum_leaves_room_for_the_answer_to_a_save() {
    // The summary quoting 250 allowed values filled the status line: the save's refusal and
    // the `(:messages)` marker were cut off, so Ctrl-S seemed to do nothing.
    let values: Vec<String> = (0..250).map(|n| format!("\"C{n:03}\"")).collect();
    let schema = format!(
        r#"{{"type": "object", "properties": {{"adminConsolePreferences": {{"type": "object", "properties": {{"language": {{"enum": [{}]}}}}}}}}}}"#,
        values.join(", ")
    );
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store, &schema);
    update(&mut state, Action::Save);
    assert!(status(&state).starts_with("not saved: 1 schema error: "), "{}", status(&state));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|frame| view::render(frame, &state, &Theme::plain())).expect("draw");
    let screen = terminal.backend().to_string();
    let line = screen
        .lines()
        .find(|l| l.contains("1 schema error:"))
        .expect("the status line")
        .trim_end_matches(['"', ' ']);
    assert!(line.contains("…  ·  not saved: "), "{line}");
    assert!(line.ends_with("… (F2: whole)"), "{line}");
}

/// bb79 F2: opening the editor checked the document against the schema on the screen's
/// thread (a 528 KB document of values just under the pattern limit froze it 30 s, `Ctrl-C`
/// unanswered). The opened editor is "checking…" and asks for the schema's check as a typed
/// change does, off the screen's thread; its answer brings the errors.
#[test]
fn the_schema_check_of_an_opened_document_is_asked_for_off_the_screens_thread() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    state.shape = Some(Arc::new(Shape::compile(SCHEMA).expect("a schema")));
    filtered_to(&store, &mut state, "admin");
    let runtime = support::runtime(&store);
    let mut opening = update(&mut state, Action::OpenEditor);
    let mut check = None;
    // The store's answers, performed here; the check is held back, as the checker's thread
    // holds it while the screen draws.
    while let Some(effect) = opening.pop() {
        match effect {
            Effect::Check { generation, text, limits, shape } => {
                check = Some((generation, text, limits, shape))
            }
            other => {
                if let Some(action) = custodian::tui::perform(&runtime, other) {
                    opening.extend(update(&mut state, action));
                }
            }
        }
    }
    let editor = state.editor.as_ref().expect("the editor is open");
    assert!(!editor.is_checked(), "the opening checked the schema itself");
    assert!(editor.schema_errors.is_empty());
    assert_eq!(state.validation_summary(), None, "shown before its check: {:?}", state.validation_summary());
    let (generation, text, limits, shape) = check.expect("the opening asked for the schema's check");
    assert_eq!(generation, 0);
    let answer = check::check(generation, &text, &limits, shape.0.as_deref());
    update(&mut state, answer);
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(!valid);
    assert!(summary.starts_with("2 schema errors"), "{summary}");
    // Asked once: the next action asks nothing more.
    assert!(!update(&mut state, Action::JumpToError).iter().any(|e| matches!(e, Effect::Check { .. })));
}

/// bb79 F2: `Ctrl-G` on a text whose schema check has not answered checked it on the screen's
/// thread; it says the check is under way and moves nothing.
#[test]
fn ctrl_g_before_the_schemas_answer_says_so_and_checks_nothing_on_the_screens_thread() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store, SCHEMA);
    update(&mut state, Action::Paste(" ".into()));
    let before = cursor(&state);
    update(&mut state, Action::JumpToError);
    assert!(!state.editor.as_ref().expect("editing").is_checked(), "checked on the screen's thread");
    assert_eq!(cursor(&state), before);
    assert_eq!(status(&state), "checking the text against the schema… Ctrl-G again once it is checked");
}
