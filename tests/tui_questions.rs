//! The questions whose text may not fit their box: the save's (removed keys, secrets found,
//! the diff of stored → new) and the conflict's diff. Their text scrolls with `↓`/`↑`/`PgDn`/
//! `PgUp` to its last line and no further, so everything a `y` agrees to can be read first:
//! "… and 22 more" removed keys and the diff past the box could not be seen (bb16 L04).

mod support;

use crossterm::event::{KeyCode, KeyModifiers};
use custodian::domain::CustomData;
use custodian::store::{Author, RedbStore, UserStore};
use custodian::tui::app::{Action, Dialog, Mode, State};
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::{act, demo_store, started};

fn screen(state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(state.width, state.height)).expect("a terminal");
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).expect("drawn");
    terminal.backend().to_string()
}

fn press(store: &RedbStore, state: &mut State, code: KeyCode) {
    support::press(store, state, code, KeyModifiers::NONE);
}

fn question_scroll(state: &State) -> usize {
    match &state.dialog {
        Some(Dialog::ConfirmDrop { scroll, .. } | Dialog::Conflict { scroll, .. }) => *scroll,
        other => panic!("no question: {other:?}"),
    }
}

/// A user of 120 keys whose editor holds them without the first 30: the save's question lists
/// 30 removed keys and a diff far longer than the box.
fn asked_to_remove_thirty_keys(store: &RedbStore) -> State {
    let keys: Vec<String> = (0..120).map(|i| format!(r#""k{i:03}":"{}""#, "v".repeat(20))).collect();
    support::import_records(
        store,
        &format!(r#"{{"id":"w1","username":"wide","customData":{{{}}}}}"#, keys.join(",")),
    );
    let mut state = started(store, 120, 40);
    support::filtered_to(store, &mut state, "wide");
    act(store, &mut state, Action::OpenEditor);
    let kept = format!("{{{}}}", keys[30..].join(","));
    let editor = state.editor.as_mut().expect("the editor");
    editor.textarea.select_all();
    editor.textarea.cut();
    act(store, &mut state, Action::Paste(kept));
    act(store, &mut state, Action::Save);
    assert!(matches!(state.dialog, Some(Dialog::ConfirmDrop { .. })), "{:?}", state.dialog);
    state
}

#[test]
fn the_saves_question_scrolls_to_every_removed_key_and_the_diffs_last_line_and_no_further() {
    let (_dir, store) = demo_store();
    let mut state = asked_to_remove_thirty_keys(&store);
    let first = screen(&state);
    assert!(first.contains("removes 30 top-level keys"), "{first}");
    assert!(first.contains("lines below (↓/PgDn)"), "{first}");
    assert!(first.contains("y save it"), "the answers stay on screen:\n{first}");
    // One line down: "1 line above", not "1 lines" (bb18 L12).
    press(&store, &mut state, KeyCode::Down);
    assert!(screen(&state).contains("⋯ 1 line above (↑/PgUp)"), "{}", screen(&state));
    press(&store, &mut state, KeyCode::Up);
    let mut seen = first.clone();
    let mut last = first;
    for _ in 0..100 {
        press(&store, &mut state, KeyCode::Down);
        last = screen(&state);
        seen.push_str(&last);
    }
    for i in 0..30 {
        assert!(seen.contains(&format!("− k{i:03}")), "removed key k{i:03} never shown");
    }
    assert!(
        last.contains(r#""k031": "vvvv"#) && last.contains("lines above (↑/PgUp)"),
        "the diff's last line: {last}"
    );
    assert!(!last.contains("lines below"), "scrolled to the end:\n{last}");
    let most = question_scroll(&state);
    press(&store, &mut state, KeyCode::PageDown);
    assert_eq!(question_scroll(&state), most, "no further than the last line");
    press(&store, &mut state, KeyCode::PageUp);
    assert!(question_scroll(&state) < most, "a page up from the end moves at once");
    // Less than a page from the top, a page up goes to the top; the line that was at the top
    // stays in sight.
    let first_shown = first_text_line(&screen(&state));
    press(&store, &mut state, KeyCode::PageUp);
    assert_eq!(question_scroll(&state), 0);
    assert!(text_lines(&screen(&state)).contains(&first_shown), "{}", screen(&state));
    press(&store, &mut state, KeyCode::End);
    assert_eq!(question_scroll(&state), most, "End: the last line");
    press(&store, &mut state, KeyCode::Home);
    assert_eq!(question_scroll(&state), 0, "Home: the first line");
    press(&store, &mut state, KeyCode::Char('y'));
    assert_eq!(store.custom_data("w1").expect("saved").revision, 2, "y still answers");
}

#[test]
fn the_conflicts_diff_scrolls_too() {
    let (_dir, store) = demo_store();
    let mut state = asked_to_remove_thirty_keys(&store);
    act(&store, &mut state, Action::Cancel);
    // Someone else saves meanwhile: the next save is a conflict whose diff is long.
    let theirs = CustomData::parse(r#"{"theirs":true}"#).expect("json");
    store.replace_custom_data("w1", &theirs, None, &Author("other".into())).expect("saved");
    act(&store, &mut state, Action::Save);
    assert_eq!(state.mode(), Mode::Conflict, "{:?}", state.dialog);
    // A short terminal: the diff is several boxfuls.
    act(&store, &mut state, Action::Resize { width: 120, height: 26 });
    let before = screen(&state);
    assert!(before.contains("lines below (↓/PgDn)"));
    press(&store, &mut state, KeyCode::PageDown);
    // A page is the box's text less one line kept in sight: 10 lines where the box showed
    // 30 were a third of a page (bb17 L09).
    let after = screen(&state);
    assert_eq!(
        first_text_line(&after),
        last_text_line(&before),
        "the bottom line is now the top one:\n{after}"
    );
    assert!(question_scroll(&state) > 10, "{}", question_scroll(&state));
    // And a page up leaves the line that was at the top at the bottom.
    press(&store, &mut state, KeyCode::PageDown);
    let top = first_text_line(&screen(&state));
    press(&store, &mut state, KeyCode::PageUp);
    assert_eq!(last_text_line(&screen(&state)), top, "{}", screen(&state));
}

/// The question's lines between the line saying what lies above (or the screen's top) and the
/// one saying what lies below (or the answers).
fn text_lines(screen: &str) -> Vec<String> {
    let rows: Vec<&str> = screen.lines().collect();
    // Scrolled to the end, the text ends above the blank line before the answers.
    let below = rows
        .iter()
        .position(|r| r.contains("below (↓/PgDn)"))
        .unwrap_or_else(|| rows.iter().position(|r| r.contains("y save it")).expect("the answers") - 1);
    let top = rows
        .iter()
        .position(|r| r.contains("above (↑/PgUp)"))
        .unwrap_or_else(|| rows.iter().position(|r| r.contains('┌')).expect("a box"));
    rows[top + 1..below].iter().map(|r| r.to_string()).collect()
}

fn first_text_line(screen: &str) -> String {
    text_lines(screen).first().cloned().expect("a line")
}

fn last_text_line(screen: &str) -> String {
    text_lines(screen).last().cloned().expect("a line")
}

/// Removed keys that are empty or white space are quoted in the question, as the CLI and
/// `history` list them: a blank row named no key (bb28 R04).
#[test]
fn the_saves_question_quotes_an_empty_or_blank_removed_key() {
    let (_dir, store) = demo_store();
    support::import_records(
        &store,
        r#"{"id":"w1","username":"wide","customData":{"":1," ":2,"a, b":3,"kept":4}}"#,
    );
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "wide");
    act(&store, &mut state, Action::OpenEditor);
    let editor = state.editor.as_mut().expect("the editor");
    editor.textarea.select_all();
    editor.textarea.cut();
    act(&store, &mut state, Action::Paste(r#"{"kept":4}"#.into()));
    act(&store, &mut state, Action::Save);
    let shown = screen(&state);
    for row in [r#"− """#, r#"− " ""#, r#"− "a, b""#] {
        assert!(shown.contains(row), "{row}:\n{shown}");
    }
}

/// A user renamed from outside while edited, and another user given the old name: the save's
/// removed-keys question says who the user is now, as the conflict view's overwrite question
/// does. It asked "Remove keys?" under the old handle alone, by then the other user's (bb69 F4).
#[test]
fn the_saves_question_names_a_rename_read_before_asking() {
    let (_dir, store) = demo_store();
    support::import_records(&store, r#"{"id":"w1","username":"wide","customData":{"gone":1,"kept":4}}"#);
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "wide");
    act(&store, &mut state, Action::OpenEditor);
    let renames = r#"{"id":"w1","username":"narrow"}
{"id":"w2","username":"wide"}"#;
    let mut reader = custodian::domain::import::ImportReader::new(
        renames.as_bytes(),
        custodian::domain::Limits::default(),
        0,
    )
    .expect("readable");
    store
        .import(&mut reader, custodian::store::ImportMode::Upsert, &Author("other".into()))
        .expect("renamed");
    let editor = state.editor.as_mut().expect("the editor");
    editor.textarea.select_all();
    editor.textarea.cut();
    act(&store, &mut state, Action::Paste(r#"{"kept":4}"#.into()));
    act(&store, &mut state, Action::Save);
    assert!(matches!(state.dialog, Some(Dialog::ConfirmDrop { .. })), "{:?}", state.dialog);
    let shown = screen(&state);
    assert!(
        shown.contains("│The user is now narrow, not wide as when you opened this edit (renamed, or│"),
        "{shown}"
    );
    assert!(shown.contains("− gone"), "{shown}");
}

/// At 100 columns a validation error beside a message is read whole; the message, kept whole
/// in F2, is the one cut (the error was cut to "customData must be a JSON object, at…" with
/// nothing saying where to read it: bb70 F3).
#[test]
fn a_validation_error_keeps_its_room_on_the_status_line_and_the_message_beside_it_is_cut() {
    // At 80 columns too (bb75 F2: the error was cut there while the message kept its room).
    for width in [100, 80] {
        validation_error_whole_at(width);
    }
}

fn validation_error_whole_at(width: u16) {
    let (_dir, store) = demo_store();
    let mut state = started(&store, width, 30);
    act(&store, &mut state, Action::OpenEditor);
    let editor = state.editor.as_mut().expect("the editor");
    editor.textarea.select_all();
    editor.textarea.cut();
    act(&store, &mut state, Action::Paste(String::new()));
    act(&store, &mut state, Action::Edit(ratatui_textarea::Input::default()));
    let shown = screen(&state);
    let status = shown.lines().nth(28).expect("the status line");
    assert!(
        status.contains("the document is empty: customData must be a JSON object, at least {}"),
        "{shown}"
    );
    if state.shown_status().is_some_and(|(_, text)| text.len() > 20) {
        assert!(status.contains("… (F2: whole)") || status.contains("… F2"), "{status}");
    }
}
