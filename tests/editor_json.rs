//! The editor types like a small JSON editor (issue 12, item 7): `Enter` keeps the line's
//! indentation and adds a level after `{`/`[`; a `}`/`]` typed on an indented empty line takes
//! a level off; a paste goes in as it is.

mod support;

use custodian::store::RedbStore;
use custodian::tui::app::{Action, State};
use ratatui_textarea::{CursorMove, Input, Key};
use support::{act, demo_store, filtered_to, started};

fn editor_on_admin(store: &RedbStore) -> State {
    let mut state = started(store, 120, 40);
    filtered_to(store, &mut state, "admin");
    act(store, &mut state, Action::OpenEditor);
    state
}

fn key(store: &RedbStore, state: &mut State, key: Key) {
    act(store, state, Action::Edit(Input { key, ..Input::default() }));
}

fn lines(state: &State) -> Vec<String> {
    state.editor.as_ref().unwrap().textarea.lines().to_vec()
}

/// Puts the cursor at the end of the first line that starts (after its indentation) with `start`.
fn to_end_of(state: &mut State, start: &str) -> usize {
    let row = lines(state).iter().position(|l| l.trim_start().starts_with(start)).expect("line present");
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(row, 0));
    textarea.move_cursor(CursorMove::End);
    row
}

#[test]
fn enter_keeps_the_indentation_and_adds_a_level_after_an_opening_brace() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    // `  "adminConsolePreferences": {` → the new line is indented one level deeper.
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    key(&store, &mut state, Key::Enter);
    assert_eq!(lines(&state)[row + 1], "    ");
    for c in "\"a\": [".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    key(&store, &mut state, Key::Enter);
    assert_eq!(lines(&state)[row + 2], "      ");
    key(&store, &mut state, Key::Char('1'));
    key(&store, &mut state, Key::Enter);
    assert_eq!(lines(&state)[row + 3], "      ", "after a value: the same indentation");
}

/// LF (Ctrl-J) is what a paste without bracketed paste, `tmux send-keys` or a script sends
/// for a line break. The text area deleted to the start of the line on it, so `"k1": 1,` LF
/// `"k2": 2` left only the second line, and the document stayed valid (bb14 L02).
#[test]
fn a_line_feed_is_a_new_line_and_never_deletes_what_was_typed() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    key(&store, &mut state, Key::Enter);
    let line_feed = Input { key: Key::Char('j'), ctrl: true, ..Input::default() };
    for c in "\"k1\": 1,\n    \"k2\": 2,".chars() {
        match c {
            '\n' => act(&store, &mut state, Action::Edit(line_feed.clone())),
            c => key(&store, &mut state, Key::Char(c)),
        }
    }
    assert_eq!(lines(&state)[row + 1], "    \"k1\": 1,");
    assert_eq!(
        lines(&state)[row + 2],
        "    \"k2\": 2,",
        "a plain new line: the paste brings its own indentation"
    );
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(valid, "{summary}");
}

#[test]
fn a_closing_bracket_on_an_indented_empty_line_takes_one_level_off() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    key(&store, &mut state, Key::Enter);
    for c in "\"a\": [".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    key(&store, &mut state, Key::Enter);
    key(&store, &mut state, Key::Char('1'));
    key(&store, &mut state, Key::Enter);
    key(&store, &mut state, Key::Char(']'));
    assert_eq!(lines(&state)[row + 3], "    ]");
    key(&store, &mut state, Key::Char(','));
    key(&store, &mut state, Key::Enter);
    assert_eq!(lines(&state)[row + 4], "    ");
    // Not on a line with text before the cursor: typed as it is.
    key(&store, &mut state, Key::Char('x'));
    key(&store, &mut state, Key::Char('}'));
    assert_eq!(lines(&state)[row + 4], "    x}");
}

#[test]
fn a_paste_goes_in_as_it_is_without_indentation() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    act(&store, &mut state, Action::Paste("\n\"b\": {\n\"c\": 1\n}".into()));
    assert_eq!(lines(&state)[row + 1..row + 4], ["\"b\": {", "\"c\": 1", "}"]);
}

#[test]
fn a_tab_pasted_inside_a_string_arrives_as_its_escape_and_the_document_stays_valid() {
    // A raw tab inside a string is a syntax error drawn as a blank: the save was refused at
    // what looked like a space.
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    act(&store, &mut state, Action::Paste("\n\t\"note\": \"a\tb\",".into()));
    assert_eq!(lines(&state)[row + 1], "\t\"note\": \"a\\tb\",");
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(valid, "{summary}");
    // Inside a string the operator had opened already.
    for c in "\"x\": \"c".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    act(&store, &mut state, Action::Paste("\td\"".into()));
    assert!(lines(&state)[row + 1].ends_with("\"x\": \"c\\td\""), "{}", lines(&state)[row + 1]);
}

/// A note of several lines pasted between the quotes of a value: its line breaks and the tabs
/// of every line arrive as `\n` and `\t`, so the value is the note and the document valid.
/// The first line's tab was escaped, the later lines' stayed raw, and the break split the
/// string over two lines: two invisible syntax errors (bb17 L07).
#[test]
fn a_note_of_several_lines_pasted_inside_a_string_is_one_valid_value_with_its_breaks_and_tabs() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    key(&store, &mut state, Key::Enter);
    for c in "\"note\": \"\",".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    key(&store, &mut state, Key::Left);
    key(&store, &mut state, Key::Left);
    act(&store, &mut state, Action::Paste("line1\tone\nline2\ttab\u{7}bell\r\n\tline3".into()));
    assert_eq!(lines(&state)[row + 1], r#"    "note": "line1\tone\nline2\ttab\u0007bell\n\tline3","#);
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(valid, "{summary}");
    let text = state.editor.as_ref().unwrap().text();
    let document: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(document["adminConsolePreferences"]["note"], "line1\tone\nline2\ttab\u{7}bell\n\tline3");
    // A paste that closes the string first: its line break is between tokens, a new line.
    key(&store, &mut state, Key::End);
    act(&store, &mut state, Action::Paste("\n\t\"k\": \"a\",\n\t\"m\": \"b\tc\",".into()));
    assert_eq!(lines(&state)[row + 2..row + 4], ["\t\"k\": \"a\",", "\t\"m\": \"b\\tc\","]);
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(valid, "{summary}");
}

#[test]
fn a_tab_typed_inside_a_string_is_its_escape_and_one_between_tokens_indents() {
    // The keys X, Tab, Y (typed, or a paste without bracketed paste): inside a string the
    // text area put two spaces, a value changed without a sign.
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    key(&store, &mut state, Key::Enter);
    for c in "\"v\": \"AX".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    key(&store, &mut state, Key::Tab);
    for c in "Y\",".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    assert_eq!(lines(&state)[row + 1], "    \"v\": \"AX\\tY\",");
    // After the string closed: layout, spaces to the next tab stop, as before.
    key(&store, &mut state, Key::Tab);
    let line = &lines(&state)[row + 1];
    let after = line.strip_prefix("    \"v\": \"AX\\tY\",").expect("the string as typed");
    assert!(!after.is_empty() && after.chars().all(|c| c == ' '), "{line:?}");
    let (valid, summary) = state.validation_summary().expect("checked");
    assert!(valid, "{summary}");
}

#[test]
fn shift_tab_takes_a_level_of_indentation_off_the_line_or_the_selection() {
    use crossterm::event::{KeyCode, KeyModifiers};
    // Shift-Tab as a terminal sends it (crossterm's BackTab) indented the line like Tab.
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    let line = lines(&state)[row].clone();
    assert!(line.starts_with("  \""), "{line:?}");
    let cursor_before = state.editor.as_ref().unwrap().textarea.cursor();
    support::press(&store, &mut state, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(lines(&state)[row], line[2..]);
    // The cursor stays by the text it was at.
    assert_eq!(state.editor.as_ref().unwrap().textarea.cursor(), (row, cursor_before.1 - 2));
    // A line with no indentation is left as it is.
    support::press(&store, &mut state, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(lines(&state)[row], line[2..]);
    // One undo puts the level back.
    support::press(&store, &mut state, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(lines(&state)[row], line);
    // A selection of two lines: each loses a level.
    let (next, after) = (lines(&state)[row + 1].clone(), lines(&state)[row + 2].clone());
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(row + 1, 0));
    textarea.start_selection();
    textarea.move_cursor(CursorMove::Jump(row + 2, 3));
    support::press(&store, &mut state, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(lines(&state)[row + 1], next[2..]);
    assert_eq!(lines(&state)[row + 2], after[2..]);
    assert_eq!(lines(&state)[row], line, "the line before the selection is untouched");
    // The selection stays over the block: a second Shift-Tab takes both lines on together
    // (it took the cursor's line alone: bb97 F3).
    support::press(&store, &mut state, KeyCode::BackTab, KeyModifiers::SHIFT);
    let indent = |text: &str| text.len() - text.trim_start().len();
    let (one, two) = (lines(&state)[row + 1].clone(), lines(&state)[row + 2].clone());
    assert_eq!(indent(&one), indent(&next).saturating_sub(4), "{one:?}");
    assert_eq!(indent(&two), indent(&after).saturating_sub(4), "{two:?}");
    // Ctrl-Z takes back one Shift-Tab of the block at a time, both lines at once (it took one
    // line a step), and Ctrl-Y makes it again.
    support::press(&store, &mut state, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        (lines(&state)[row + 1].clone(), lines(&state)[row + 2].clone()),
        (next[2..].to_owned(), after[2..].to_owned())
    );
    support::press(&store, &mut state, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        (lines(&state)[row + 1].clone(), lines(&state)[row + 2].clone()),
        (next.clone(), after.clone())
    );
    assert_eq!(lines(&state)[row], line, "the undo stops at the block's first Shift-Tab");
    support::press(&store, &mut state, KeyCode::Char('r'), KeyModifiers::CONTROL);
    assert_eq!(
        (lines(&state)[row + 1].clone(), lines(&state)[row + 2].clone()),
        (next[2..].to_owned(), after[2..].to_owned())
    );
}

#[test]
fn the_error_position_is_underlined_and_the_gutter_numbers_the_lines_as_the_errors_do() {
    use custodian::tui::theme::Theme;
    use custodian::tui::view;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;

    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 21));
    for c in " oops".chars() {
        key(&store, &mut state, Key::Char(c));
    }
    // The cursor elsewhere: the textarea underlines the cursor's line and reverses its cell.
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 0));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|frame| view::render(frame, &state, &Theme::plain())).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let row_text = |y: u16| (0..120).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>();
    let y = (0..40).find(|&y| row_text(y).contains("oops")).expect("the typed text is shown");
    assert!(row_text(y).contains("│  3     \"language\": \"en\", oops"), "{}", row_text(y));
    let status = (0..40).map(row_text).find(|r| r.contains("line 3, col 23")).is_some();
    assert!(status, "the error names line 3, col 23");
    let marked: Vec<(u16, u16, String)> = (0..40)
        .flat_map(|y| (0..120).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].modifier.contains(Modifier::UNDERLINED | Modifier::REVERSED))
        .map(|(x, y)| (x, y, buffer[(x, y)].symbol().to_owned()))
        .collect();
    let start = row_text(y).find("oops").unwrap();
    let x = row_text(y)[..start].chars().count() as u16;
    assert_eq!(marked, vec![(x, y, "o".to_owned())], "only the error's cell, the `o` of oops");
}

/// bb100 F6: back from the end of a long line (an undo of a seal) to a column the screen's
/// first columns hold, the view kept that column at its left edge, and short lines read blank.
#[test]
fn back_from_far_right_to_a_column_near_the_start_the_view_shows_the_lines_from_their_start() {
    use custodian::tui::theme::Theme;
    use custodian::tui::view;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut screen = |state: &State| {
        terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..30)
            .map(|y| (0..100).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>())
            .collect::<Vec<_>>()
    };
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    for c in format!(" \"{}\"", "x".repeat(300)).chars() {
        key(&store, &mut state, Key::Char(c));
    }
    let _ = screen(&state);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(row, 6));
    let shown = screen(&state).join("\n");
    assert!(shown.contains("\"adminConsolePreferences\""), "{shown}");
}

#[test]
fn the_bracket_matching_the_one_at_the_cursor_is_highlighted_skipping_brackets_in_strings() {
    use custodian::tui::theme::Theme;
    use custodian::tui::view;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;

    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    // A string holding brackets inside the object: they are not counted.
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    act(&store, &mut state, Action::Paste("\n\"x\": \"}]{\",".into()));
    let shown = |state: &State| {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..40u16)
            // The editor's side of the screen (the list's selected row is reversed too).
            .flat_map(|y| (48..120u16).map(move |x| (x, y)))
            .filter(|&(x, y)| buffer[(x, y)].modifier.contains(Modifier::REVERSED | Modifier::BOLD))
            .map(|(x, y)| buffer[(x, y)].symbol().to_owned())
            .collect::<Vec<_>>()
    };
    // The cursor on the `{` ending `"adminConsolePreferences": {`.
    let open_col = lines(&state)[row].chars().count() - 1;
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(row, open_col));
    assert_eq!(shown(&state), ["}"]);
    // The cursor just after the `}` that closes it: the `{` is shown.
    let close_row = lines(&state).iter().position(|l| l == "  },").unwrap();
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(close_row, 3));
    assert_eq!(shown(&state), ["{"]);
    // Not beside a bracket: nothing.
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(row, 4));
    assert!(shown(&state).is_empty());
}

#[test]
fn json_tokens_are_coloured_from_the_theme_and_not_at_all_without_colour() {
    use custodian::tui::theme::Theme;
    use custodian::tui::view;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Color;

    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 0));
    // Each token's first character on screen and its colour.
    let colours = |theme: &Theme| {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|frame| view::render(frame, &state, theme)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let row_text = |y: u16| (0..120u16).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>();
        let at = |needle: &str, offset: u16| {
            let y = (0..40u16).find(|&y| row_text(y).contains(needle)).expect("shown");
            let x = row_text(y)[..row_text(y).find(needle).unwrap()].chars().count() as u16;
            buffer[(x + offset, y)].fg
        };
        [at("\"language\"", 0), at("\"en\"", 0), at("\"count\": 3", 9), at("true", 0), at("},", 0)]
    };
    let json = Theme::colour().json.expect("the colour theme has JSON colours");
    assert_eq!(
        colours(&Theme::colour()),
        [json.key, json.string, json.number, json.literal, json.punctuation]
    );
    assert!(colours(&Theme::plain()).iter().all(|c| *c == Color::Reset), "no colour under NO_COLOR");
}

#[test]
fn the_editor_opens_at_the_top_with_the_stored_text_and_undo_never_takes_it_out() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let opened = state.editor.as_ref().unwrap().opened_text().to_owned();
    let cursor = state.editor.as_ref().unwrap().textarea.cursor();
    assert_eq!((cursor.0, cursor.1), (0, 0));
    assert_eq!(lines(&state).join("\n"), opened);
    assert!(opened.lines().count() > 3, "the demo admin has a document of several lines");
    // Undo right after opening has nothing to take back: the opened text is not an edit.
    let undo = Input { key: Key::Char('u'), ctrl: true, ..Input::default() };
    act(&store, &mut state, Action::Edit(undo.clone()));
    assert_eq!(lines(&state).join("\n"), opened);
    // After a typed character, undo takes back that character and no more.
    key(&store, &mut state, Key::Char('x'));
    assert_ne!(lines(&state).join("\n"), opened);
    act(&store, &mut state, Action::Edit(undo));
    assert_eq!(lines(&state).join("\n"), opened);
    assert!(!state.editor.as_ref().unwrap().is_modified());
}

#[test]
fn one_ctrl_u_takes_back_one_key_or_one_typed_run_whatever_edits_it_made() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let opened = lines(&state).join("\n");
    let undo = Input { key: Key::Char('u'), ctrl: true, ..Input::default() };
    // `Enter` after `{`: the line break and its indentation (it took two, the first leaving
    // the indentation on the old line's end).
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
    key(&store, &mut state, Key::Enter);
    assert_eq!(lines(&state)[1], "  ", "a level more after `{{`");
    act(&store, &mut state, Action::Edit(undo.clone()));
    assert_eq!(lines(&state).join("\n"), opened);
    // A char typed over a selection: the selection out and the char in; a bracketed paste
    // over one, the same.
    for (typed, starts) in [
        (Action::Edit(Input { key: Key::Char('x'), ..Input::default() }), "x"),
        (Action::Paste("pasted".to_owned()), "pasted"),
    ] {
        let textarea = &mut state.editor.as_mut().unwrap().textarea;
        textarea.move_cursor(CursorMove::Jump(1, 0));
        textarea.start_selection();
        textarea.move_cursor(CursorMove::Jump(1, 4));
        act(&store, &mut state, typed);
        assert!(lines(&state)[1].starts_with(starts), "{:?}", lines(&state)[1]);
        act(&store, &mut state, Action::Edit(undo.clone()));
        assert_eq!(lines(&state).join("\n"), opened);
    }
    // A run of keys waiting together (a paste without bracketed paste), an `Enter` and a `}`
    // among them: one change.
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
    let run: Vec<Input> = ["\"a\": {", "\n", "}", ","]
        .iter()
        .flat_map(|part| match *part {
            "\n" => vec![Input { key: Key::Enter, ..Input::default() }],
            text => text.chars().map(|c| Input { key: Key::Char(c), ..Input::default() }).collect(),
        })
        .collect();
    act(&store, &mut state, Action::Type(run));
    assert!(lines(&state).join("\n").contains("\"a\": {"), "{:?}", lines(&state));
    act(&store, &mut state, Action::Edit(undo));
    assert_eq!(lines(&state).join("\n"), opened);
    assert!(!state.editor.as_ref().unwrap().is_modified());
}

/// The keys a burst without bracketed paste brings: characters (brackets, quotes, a backslash,
/// wide and invisible ones, CR, LF), `Enter`, `Tab` and `Ctrl-J`.
fn typing_key() -> impl proptest::strategy::Strategy<Value = Input> {
    use proptest::prelude::*;
    let chars = proptest::sample::select(vec![
        'a', 'b', ' ', ' ', '"', '"', '{', '}', '[', ']', '\\', ':', ',', 'é', '日', '\u{7}', '\u{202e}',
        '\r', '\n', '\t',
    ]);
    prop_oneof![
        6 => chars.prop_map(|c| Input { key: Key::Char(c), ..Input::default() }),
        1 => Just(Input { key: Key::Enter, ..Input::default() }),
        1 => Just(Input { key: Key::Tab, ..Input::default() }),
        1 => Just(Input { key: Key::Char('j'), ctrl: true, ..Input::default() }),
    ]
}

/// A run of typed keys taken at once (`Action::Type`, what the event loop makes of keys waiting
/// together) leaves the text and the cursor where the same keys one by one leave them: `Enter`
/// indents (but one the run's next space or tab indents after, a line break alone), `}` takes a level off (but on such a line, as pasted), a `Tab` in a string is `\t` and elsewhere spaces, an
/// invisible character its escape — from any place, with or without a selection (bb17 L03).
#[test]
fn a_run_of_typed_keys_does_what_its_keys_do_one_by_one() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let (_dir, store) = demo_store();
    let opened = editor_on_admin(&store);
    let mut runner = TestRunner::new(Config { cases: 200, ..Config::default() });
    let cases = (proptest::collection::vec(typing_key(), 1..40), 0usize..12, 0usize..30, 0usize..4);
    runner
        .run(&cases, |(keys, row, col, selected)| {
            let start = |state: &mut State| {
                let textarea = &mut state.editor.as_mut().unwrap().textarea;
                textarea.move_cursor(CursorMove::Jump(row, col));
                if selected > 0 {
                    textarea.start_selection();
                    (0..selected).for_each(|_| textarea.move_cursor(CursorMove::Forward));
                }
            };
            let mut one_by_one = editor_on_admin(&store);
            start(&mut one_by_one);
            // Whether the line was begun by such an `Enter`, and only spaces and tabs came since.
            let mut own_indentation_only = false;
            for (at, input) in keys.iter().enumerate() {
                // An `Enter` the run's next key indents after is a line break alone (bb70 F2).
                let indents_itself = input.key == Key::Enter
                    && keys.get(at + 1).is_some_and(|next| matches!(next.key, Key::Char(' ') | Key::Tab));
                let input = if indents_itself {
                    Input { key: Key::Char('j'), ctrl: true, ..Input::default() }
                } else {
                    input.clone()
                };
                let breaks = input.key == Key::Enter || (input.key == Key::Char('j') && input.ctrl);
                match input.key {
                    // A closing bracket there keeps the indentation the line brought (bb75 F4):
                    // as pasted, not as typed alone (which takes a level off).
                    Key::Char(c @ ('}' | ']')) if own_indentation_only => {
                        act(&store, &mut one_by_one, Action::Paste(c.to_string()))
                    }
                    // A line break inside a string is the string's `\n`, as pasted (bb75 F5).
                    _ if breaks && in_a_string(&one_by_one) && !selecting(&one_by_one) => {
                        act(&store, &mut one_by_one, Action::Paste("\n".into()))
                    }
                    _ => act(&store, &mut one_by_one, Action::Edit(input.clone())),
                }
                own_indentation_only = if breaks {
                    indents_itself
                } else {
                    own_indentation_only && matches!(input.key, Key::Char(' ') | Key::Tab)
                };
            }
            let mut at_once = editor_on_admin(&store);
            start(&mut at_once);
            act(&store, &mut at_once, Action::Type(keys.clone()));
            prop_assert_eq!(lines(&at_once), lines(&one_by_one), "keys {:?}", keys);
            let cursor = |state: &State| state.editor.as_ref().unwrap().textarea.cursor();
            prop_assert_eq!(cursor(&at_once), cursor(&one_by_one), "keys {:?}", keys);
            Ok(())
        })
        .unwrap();
    drop(opened);
}

/// Whether the editor has a selection (which a typed key replaces, as the editor types it).
fn selecting(state: &State) -> bool {
    state.editor.as_ref().unwrap().textarea.is_selecting()
}

/// Whether the editor's cursor is inside a JSON string.
fn in_a_string(state: &State) -> bool {
    let textarea = &state.editor.as_ref().unwrap().textarea;
    let ratatui_textarea::DataCursor(row, col) = textarea.cursor();
    let before: String = textarea.lines()[row].chars().take(col).collect();
    custodian::domain::json_string::StringState::default().after(&before).in_string()
}

/// Several lines pasted into a string without bracketed paste come in as a bracketed paste
/// brings them: `\n` and `\t`, no indentation added (bb75 F5: raw line breaks, the editor's
/// indentation on the later lines, and a tab there turned into a space, which a join of the
/// lines then saved).
#[test]
fn several_lines_pasted_as_keys_into_a_string_come_in_as_its_escapes() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let editor = state.editor.as_mut().unwrap();
    editor.textarea.select_all();
    editor.textarea.cut();
    editor.textarea.insert_str("{\n  \"n\": {\n    \"s\": \"x y\"\n  }\n}");
    editor.textarea.move_cursor(CursorMove::Jump(2, 13));
    let keys: Vec<Input> = "aaa\nbbb\n  ccc\tddd"
        .chars()
        .map(|c| match c {
            '\n' => Input { key: Key::Enter, ..Input::default() },
            '\t' => Input { key: Key::Tab, ..Input::default() },
            c => Input { key: Key::Char(c), ..Input::default() },
        })
        .collect();
    act(&store, &mut state, Action::Type(keys));
    assert_eq!(lines(&state)[2], "    \"s\": \"x yaaa\\nbbb\\n  ccc\\tddd\"", "{:?}", lines(&state));
    let typed: serde_json::Value = serde_json::from_str(&lines(&state).join("\n")).expect("still JSON");
    assert_eq!(typed["n"]["s"], "x yaaa\nbbb\n  ccc\tddd");
}

/// 20,000 keys typed together, two lines' worth, are one change of the text: one check asked
/// for, one undo takes them all out. Each key was a change of its own, and each change read
/// the line to the cursor again, so a burst onto one line took time with the square of its
/// length (bb17 L03).
#[test]
fn a_run_of_typed_keys_is_one_change_of_the_text() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let row = to_end_of(&mut state, "\"adminConsolePreferences\"");
    let before = lines(&state);
    let generation = state.editor.as_ref().unwrap().generation;
    let mut keys: Vec<Input> =
        "\"a\": \"".chars().map(|c| Input { key: Key::Char(c), ..Input::default() }).collect();
    keys.extend(
        (0..10_000).map(|i| Input { key: Key::Char(char::from(b'a' + (i % 26) as u8)), ..Input::default() }),
    );
    keys.push(Input { key: Key::Tab, ..Input::default() });
    keys.extend("\",".chars().map(|c| Input { key: Key::Char(c), ..Input::default() }));
    keys.push(Input { key: Key::Enter, ..Input::default() });
    keys.extend((0..10_000).map(|_| Input { key: Key::Char('b'), ..Input::default() }));
    act(&store, &mut state, Action::Type(keys));
    let after = lines(&state);
    assert_eq!(after.len(), before.len() + 1);
    assert!(after[row].contains("{\"a\": \"abc") && after[row].ends_with("op\\t\","), "{:.40}", after[row]);
    let new_line = format!("  {}", "b".repeat(10_000));
    assert!(after[row + 1] == new_line, "Enter: the line's indentation: {:.40}", after[row + 1]);
    assert_eq!(state.editor.as_ref().unwrap().generation, generation + 1, "one change, one check");
    state.editor.as_mut().unwrap().textarea.undo();
    assert_eq!(lines(&state), before, "one undo takes the run out");
}

/// A paste of an indented document without bracketed paste (tmux's `paste-buffer`, xterm: each
/// line break an `Enter`) keeps the document's own indentation: each `Enter` indented the next
/// line too, so every line's spaces stacked on the last one's — 500 KB grew to 1.29 GB of text
/// and 2.8 GB of memory (bb70 F2). The text pasted is the document, value for value.
#[test]
fn an_indented_document_pasted_as_keys_keeps_its_own_indentation() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin(&store);
    let editor = state.editor.as_mut().unwrap();
    editor.textarea.select_all();
    editor.textarea.cut();
    let document: serde_json::Value =
        serde_json::json!({"a": {"b": [{"c": 0}, {"c": 1}, {"d": [1, 2]}]}, "e": "f"});
    let pasted = serde_json::to_string_pretty(&document).unwrap();
    let keys: Vec<Input> = pasted
        .chars()
        .map(|c| match c {
            '\n' => Input { key: Key::Enter, ..Input::default() },
            c => Input { key: Key::Char(c), ..Input::default() },
        })
        .collect();
    act(&store, &mut state, Action::Type(keys));
    let text = lines(&state).join("\n");
    let widest = lines(&state).iter().map(|line| line.len() - line.trim_start().len()).max().unwrap_or(0);
    assert!(widest <= 12, "no staircase: {text}");
    let typed: serde_json::Value = serde_json::from_str(&text).expect("the same JSON");
    assert_eq!(typed, document);
    // Line for line, closing brackets too: they took a level off, as typed ones do (bb75 F4).
    assert_eq!(text, pasted);
}
