//! The editor's check runs off the key path (issue 12, item 3): a key asks for a check and
//! is answered at once; the status line says "checking…" until the check of the text as it
//! is now answers; an answer for older text is never shown; a save waits for the final
//! text's check instead of trusting one that may be stale, and goes on with its answer.

mod support;

use custodian::store::RedbStore;
use custodian::tui::app::{Action, Effect, State, update};
use ratatui_textarea::{CursorMove, Input, Key};
use support::{act, demo_store, started};

fn editor_on_admin(store: &RedbStore) -> State {
    let mut state = started(store, 120, 40);
    act(store, &mut state, Action::StartFilter);
    for c in "admin".chars() {
        act(store, &mut state, Action::FilterChar(c));
    }
    act(store, &mut state, Action::FilterAccept);
    act(store, &mut state, Action::OpenEditor);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 21));
    state
}

/// A typed character, as the terminal delivers it; the check it asks for is not run.
fn type_char(state: &mut State, c: char) -> Vec<Effect> {
    update(state, Action::Edit(Input { key: Key::Char(c), ..Input::default() }))
}

fn checks(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Check { generation, .. } = e { Some(*generation) } else { None })
        .collect()
}

#[test]
fn a_typed_key_asks_for_a_check_and_shows_checking_until_it_answers() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    assert!(state.validation_summary().is_some_and(|(valid, _)| valid));
    let effects = type_char(&mut state, 'x');
    assert_eq!(checks(&effects).len(), 1, "{effects:?}");
    assert!(state.validation_summary().is_none(), "no result is shown for text not yet checked");
    assert!(!state.editor.as_ref().unwrap().is_checked());
    let Some(Effect::Check { generation, text, limits, .. }) = effects.into_iter().next() else {
        unreachable!()
    };
    let result = custodian::domain::CustomData::parse_with(&text, &limits);
    update(&mut state, Action::Checked { generation, result, schema_errors: Vec::new() });
    let (valid, summary) = state.validation_summary().expect("the check answered");
    assert!(!valid, "`x` after a value is an error: {summary}");
}

#[test]
fn an_answer_for_older_text_is_never_shown() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let first = type_char(&mut state, 'x');
    let second = type_char(&mut state, ' ');
    let Some(Effect::Check { generation: old, text, limits, .. }) = first.into_iter().next() else {
        panic!("each change asks for a check")
    };
    let newer = checks(&second)[0];
    assert!(newer > old);
    let result = custodian::domain::CustomData::parse_with(&text, &limits);
    update(&mut state, Action::Checked { generation: old, result, schema_errors: Vec::new() });
    assert!(state.validation_summary().is_none(), "the older text's error must not be shown");
}

/// The save waits for the final text's check, asked for off the screen's thread (checked on
/// it, a document of values just under a schema pattern's limit froze the screen: bb79 F2),
/// and goes on with its answer: here, the refusal of an invalid text.
#[test]
fn save_waits_for_the_final_texts_check_and_goes_on_with_its_answer() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    // The text becomes invalid; its check has not answered (the worker is slow).
    for c in " oops".chars() {
        type_char(&mut state, c);
    }
    let effects = update(&mut state, Action::Save);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Save { .. })), "{effects:?}");
    assert_eq!(checks(&effects).len(), 1, "the final text's check is asked for: {effects:?}");
    assert!(!state.editor.as_ref().unwrap().is_checked(), "checked on the screen's thread");
    let status = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(status, "checking the text before saving it…");
    update(&mut state, answer(effects));
    let status = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("not saved: fix the error first"), "{status}");
}

/// bb82 F7: a save waiting for its check was said by a message alone, which the next one took
/// (F1's help opened and closed): a bare `checking…` for the ~25 s of a hostile schema's check.
#[test]
fn a_save_waiting_for_its_check_is_said_on_the_status_line_for_as_long_as_it_waits() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let typed = type_char(&mut state, ' ');
    drop(typed);
    assert!(status_line(&state).contains("checking…"), "{}", status_line(&state));
    let waiting = update(&mut state, Action::Save);
    update(&mut state, Action::ToggleHelp);
    update(&mut state, Action::ToggleHelp);
    let line = status_line(&state);
    assert!(line.contains("checking, then saving…"), "{line}");
    update(&mut state, answer(waiting));
    assert!(!status_line(&state).contains("checking"), "{}", status_line(&state));
}

/// The status line as a 120-column frame draws it.
fn status_line(state: &State) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|frame| custodian::tui::view::render(frame, state, &custodian::tui::theme::Theme::plain()))
        .expect("draw");
    let screen = terminal.backend().to_string();
    screen.lines().rev().nth(1).unwrap_or_default().trim_matches(['"', ' ']).to_owned()
}

/// A valid text's save goes on to the store once its check answers; a change typed while it
/// waits takes the save back (the text saved would not be the one Ctrl-S was pressed on).
#[test]
fn a_save_waiting_for_its_check_is_made_with_the_answer_and_taken_back_by_a_change() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    // `"en"` becomes `"ena"`: still valid, no key removed.
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 19));
    let typed = type_char(&mut state, 'a');
    let waiting = update(&mut state, Action::Save);
    assert!(!waiting.iter().any(|e| matches!(e, Effect::Save { .. })), "{waiting:?}");
    drop(typed);
    let made = update(&mut state, answer(waiting));
    assert!(made.iter().any(|e| matches!(e, Effect::Save { .. })), "{made:?}");
    // Again, with a key typed while the save waits.
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 19));
    type_char(&mut state, 'a');
    let waiting = update(&mut state, Action::Save);
    let later = type_char(&mut state, 'b');
    drop(waiting);
    let status = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("not saved: you changed the text while it was checked"), "{status}");
    let answered = update(&mut state, answer(later));
    assert!(!answered.iter().any(|e| matches!(e, Effect::Save { .. })), "{answered:?}");
}

/// The check's text parsed, as the checker answers it.
fn answer(effects: Vec<Effect>) -> Action {
    let Some(Effect::Check { generation, text, limits, .. }) = effects.into_iter().next() else {
        panic!("each change asks for a check")
    };
    let result = custodian::domain::CustomData::parse_with(&text, &limits);
    Action::Checked { generation, result, schema_errors: Vec::new() }
}

fn discarded(effects: &[Effect]) -> Vec<&custodian::domain::CustomData> {
    effects.iter().filter_map(|e| if let Effect::Discard(data) = e { Some(&**data) } else { None }).collect()
}

#[test]
fn a_checked_document_the_editor_lets_go_of_is_freed_off_the_key_path() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let opened = state.editor.as_ref().unwrap().validation.clone().expect("the stored text is valid");
    // Valid after the typed space: the answer replaces the opening's result, which goes.
    let checked = answer(type_char(&mut state, ' '));
    let Action::Checked { result: Ok(now), .. } = &checked else { panic!("a space keeps it valid") };
    let now = now.clone();
    let effects = update(&mut state, checked);
    assert_eq!(discarded(&effects), vec![&opened], "{effects:?}");
    assert_eq!(state.editor.as_ref().unwrap().validation.as_ref().ok(), Some(&now));
    // An answer for an older text is not kept: it goes the same way.
    let older = answer(type_char(&mut state, ' '));
    let _ = type_char(&mut state, ' ');
    let Action::Checked { result: Ok(stale), .. } = &older else { panic!("still valid") };
    let stale = stale.clone();
    let effects = update(&mut state, older);
    assert_eq!(discarded(&effects), vec![&stale]);
    assert_eq!(state.editor.as_ref().unwrap().validation.as_ref().ok(), Some(&now), "kept as it was");
}

#[test]
fn the_checker_thread_frees_what_it_is_sent_and_goes_on_checking() {
    let checker = custodian::tui::check::Checker::new().unwrap();
    let limits = custodian::domain::Limits::default();
    let document = custodian::domain::CustomData::parse_with(r#"{"a": 1}"#, &limits).unwrap();
    checker.discard(document);
    checker.submit(7, r#"{"b": 2}"#.into(), limits, None);
    checker.send_held();
    let answer = next_answer(&checker);
    assert!(matches!(answer, Action::Checked { generation: 7, result: Ok(_), .. }), "{answer:?}");
}

#[test]
fn an_edit_of_the_same_length_is_a_change_and_undoing_it_is_none() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let key = |key| Action::Edit(Input { key, ..Input::default() });
    assert!(!state.editor.as_ref().unwrap().is_modified());
    // A character typed and taken out again: the same text.
    type_char(&mut state, 'x');
    assert!(state.editor.as_ref().unwrap().is_modified());
    update(&mut state, key(Key::Backspace));
    assert!(!state.editor.as_ref().unwrap().is_modified(), "the same text again");
    // One character replaced by another: the same length, another text.
    update(&mut state, key(Key::Backspace));
    type_char(&mut state, 'Z');
    let editor = state.editor.as_ref().unwrap();
    assert_eq!(editor.text().len(), editor.opened_text().len());
    assert!(editor.is_modified(), "same length, other text");
}

/// The checker's next answer, waited for (at most 10 s).
fn next_answer(checker: &custodian::tui::check::Checker) -> Action {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(answer) = checker.try_recv() {
            return answer;
        }
        assert!(std::time::Instant::now() < deadline, "no answer from the checker");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The nice value in a `/proc/…/stat` line: after the name in parentheses, state is field 3
/// and nice field 19.
fn nice_in_stat(stat: &str) -> Option<i64> {
    stat[stat.rfind(')')? + 2..].split_whitespace().nth(16)?.parse().ok()
}

/// The nice value of each thread of this process named `name` (field 19 of its stat line).
fn nice_of_threads_named(name: &str) -> Vec<i64> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .filter_map(|task| {
            let task = task.ok()?.path();
            let comm = std::fs::read_to_string(task.join("comm")).ok()?;
            (comm.trim() == name).then_some(())?;
            nice_in_stat(&std::fs::read_to_string(task.join("stat")).ok()?)
        })
        .collect()
}

#[test]
fn the_checker_thread_gives_way_to_the_screens_thread() {
    let checker = custodian::tui::check::Checker::new().unwrap();
    // Its first act is to lower its priority; a check answered means it has.
    checker.submit(1, "{}".into(), custodian::domain::Limits::default(), None);
    checker.send_held();
    next_answer(&checker);
    let nice = nice_of_threads_named("check");
    assert!(!nice.is_empty() && nice.iter().all(|&n| n == 10), "{nice:?}");
    let own = nice_in_stat(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
    assert_eq!(own, Some(0), "only the checker's thread gives way");
}

#[test]
fn a_check_is_held_until_the_frame_is_out_and_only_the_newest_text_goes() {
    let checker = custodian::tui::check::Checker::new().unwrap();
    let limits = custodian::domain::Limits::default();
    checker.submit(1, "{".into(), limits, None);
    checker.submit(2, r#"{"a": 1}"#.into(), limits, None);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(checker.try_recv().is_none(), "nothing is checked before send_held");
    checker.send_held();
    checker.send_held();
    let answer = next_answer(&checker);
    assert!(matches!(answer, Action::Checked { generation: 2, result: Ok(_), .. }), "{answer:?}");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(checker.try_recv().is_none(), "the replaced text is never checked");
}

/// An error with no place in the text (over the size limit) is said with the refusal; Ctrl-G
/// was named, and then said "this error has no position" (bb11).
#[test]
fn a_save_refused_for_an_error_without_a_place_says_the_error_not_ctrl_g() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    state.limits = custodian::domain::Limits::new(40, 64);
    for c in "\"padding\": \"0123456789012345678901234567890\",".chars() {
        type_char(&mut state, c);
    }
    let waiting = update(&mut state, Action::Save);
    update(&mut state, answer(waiting));
    let status = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("not saved: fix the error first: the document is "), "{status}");
    assert!(status.ends_with("but the limit is 40 B"), "{status}");
    assert!(!status.contains("Ctrl-G"), "{status}");
}
