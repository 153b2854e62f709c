//! The editor past line and column 65,535: a customData of 1 MiB pretty-printed runs to more
//! lines than that, and one long string to a wider line. The text area kept its scroll and
//! took its jumps as u16, so `Ctrl-F` and `Ctrl-G` landed on line 65,536 and the screen showed
//! another place than the cursor's: a typed edit went where the operator did not look, and a
//! valid result saved without a question (black-box find).

mod support;

use custodian::domain::CustomData;
use custodian::store::{Author, RedbStore, UserStore};
use custodian::tui::app::{Action, State};
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};
use support::{act, demo_store, filtered_to, started};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// The editor on admin, whose customData is now `document`.
fn editor_on_admin_with(store: &RedbStore, document: &str) -> State {
    let id = store.resolve("admin").expect("admin");
    let data = CustomData::parse(document).expect("a valid document");
    store.replace_custom_data(&id, &data, None, &Author("tester".into())).expect("saved");
    let mut state = started(store, WIDTH, HEIGHT);
    filtered_to(store, &mut state, "admin");
    act(store, &mut state, Action::OpenEditor);
    state
}

fn screen(state: &State) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..HEIGHT).map(|y| (0..WIDTH).map(|x| buffer[(x, y)].symbol().to_owned()).collect()).collect()
}

fn cursor(state: &State) -> (usize, usize) {
    let at = state.editor.as_ref().unwrap().textarea.cursor();
    (at.0, at.1)
}

fn key(store: &RedbStore, state: &mut State, key: Key) {
    act(store, state, Action::Edit(Input { key, ..Input::default() }));
}

/// `{"a": [0, …, 99999], "z": "LAST"}`: 100,005 lines in the editor, `"z"` on line 100,004.
fn tall() -> String {
    let numbers: Vec<String> = (0..100_000).map(|n| n.to_string()).collect();
    format!("{{\"a\":[{}],\"z\":\"LAST\"}}", numbers.join(","))
}

#[test]
fn find_selects_a_match_past_line_65535_and_the_screen_shows_it() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin_with(&store, &tall());
    act(&store, &mut state, Action::StartFind);
    for c in "LA".chars() {
        act(&store, &mut state, Action::FindChar(c));
    }
    act(&store, &mut state, Action::FindAccept);
    // The cursor after the match on line 100,004 (row 100,003), `  "z": "LA|ST"`.
    assert_eq!(cursor(&state), (100_003, 10));
    let shown = screen(&state);
    let line = shown.iter().find(|row| row.contains("\"z\": \"LAST\"")).expect("the match on screen");
    assert!(line.contains("100004"), "with its line number: {line}");
    assert!(shown.iter().any(|row| row.contains("· at z")), "the title names its place: {shown:#?}");
    // A typed character replaces the selected match there, nowhere else.
    key(&store, &mut state, Key::Char('Q'));
    let lines = state.editor.as_ref().unwrap().textarea.lines();
    assert_eq!(lines[100_003], "  \"z\": \"QST\"");
    assert_eq!(lines[65_535], "    65533,");
}

#[test]
fn the_jump_to_the_error_reaches_line_100005_and_the_screen_follows_the_cursor_there() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin_with(&store, &tall());
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Bottom);
    textarea.move_cursor(CursorMove::End);
    key(&store, &mut state, Key::Char('X'));
    // Drawn at the bottom: the last lines are on screen, the typed X among them.
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("100005") && row.contains("}X")), "{shown:#?}");
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 0));
    screen(&state);
    act(&store, &mut state, Action::JumpToError);
    assert_eq!(cursor(&state), (100_004, 1));
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("100005") && row.contains("}X")), "{shown:#?}");
}

#[test]
fn the_end_of_a_line_wider_than_65535_columns_is_shown_where_the_cursor_is() {
    let (_dir, store) = demo_store();
    // One string of 80,000 characters, its last ten `…TAIL-MARK` after a run of dots.
    let wide = format!("{}TAIL-MARK", ".".repeat(79_991));
    let mut state = editor_on_admin_with(&store, &format!("{{\"w\":\"{wide}\"}}"));
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(1, 0));
    textarea.move_cursor(CursorMove::End);
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("TAIL-MARK\"")), "the line's end on screen: {shown:#?}");
    key(&store, &mut state, Key::Char('Q'));
    assert!(state.editor.as_ref().unwrap().textarea.lines()[1].ends_with("TAIL-MARK\"Q"));
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("TAIL-MARK\"Q")), "the typed Q on screen: {shown:#?}");
}

#[test]
fn select_all_reaches_past_line_65535() {
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin_with(&store, &tall());
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.select_all();
    let at = textarea.cursor();
    assert_eq!((at.0, at.1), (100_004, 1), "the end of the last line");
}

#[test]
fn a_line_of_emoji_zwj_sequences_wider_than_the_pane_shows_its_end_and_what_is_typed_there() {
    let (_dir, store) = demo_store();
    // 👩‍💻 is woman, ZWJ, laptop: the text area counts 4 columns, the screen draws 2 cells.
    let zwj = format!("{}FIN", "\u{1F469}\u{200D}\u{1F4BB}".repeat(50));
    let mut state =
        editor_on_admin_with(&store, &format!("{{\"a\":\"plain\",\"c\":\"{zwj}\",\"z\":\"tail\"}}"));
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(2, 0));
    textarea.move_cursor(CursorMove::End);
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("FIN\",")), "the line's end on screen: {shown:#?}");
    key(&store, &mut state, Key::Char('Z'));
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("FIN\",Z")), "the typed Z on screen: {shown:#?}");
}

/// The cells of the frame, with whether each is drawn reversed (the cursor, an error's mark).
fn cells(state: &State) -> Vec<Vec<(String, ratatui::style::Modifier)>> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..HEIGHT)
        .map(|y| (0..WIDTH).map(|x| (buffer[(x, y)].symbol().to_owned(), buffer[(x, y)].modifier)).collect())
        .collect()
}

/// The column of the first cell after `text` on `row`, when `text` is drawn there.
fn after(row: &[(String, ratatui::style::Modifier)], text: &str) -> Option<usize> {
    let symbols: Vec<&str> = row.iter().map(|(s, _)| s.as_str()).collect();
    let wanted: Vec<String> = text.chars().map(String::from).collect();
    symbols.windows(wanted.len()).position(|w| w == wanted).map(|at| at + wanted.len())
}

/// A line wider than the pane scrolls sideways under the line numbers, which stay at the left
/// edge: they scrolled away with the text, exactly when the cursor or an error was far right
/// (bb17 L10). The cursor and the error's mark are drawn on the cell of their character.
#[test]
fn the_line_numbers_stay_at_the_left_edge_while_a_long_line_scrolls_under_them() {
    use ratatui::style::Modifier;
    let (_dir, store) = demo_store();
    let wide = format!("{}END", "x".repeat(200));
    let mut state = editor_on_admin_with(&store, &format!("{{\"a\":\"{wide}\",\"b\":1}}"));
    let gutters = |shown: &[String]| -> Vec<String> {
        ["│ 1 ", "│ 2 ", "│ 3 ", "│ 4 "]
            .into_iter()
            .filter(|number| !shown.iter().any(|row| row.contains(number)))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        gutters(&screen(&state)),
        Vec::<String>::new(),
        "numbered at the start: {:#?}",
        screen(&state)
    );
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(1, 0));
    textarea.move_cursor(CursorMove::End);
    let shown = screen(&state);
    let row = shown.iter().position(|row| row.contains("xxEND\",")).expect("the line's end on screen");
    assert!(shown[row].contains("│ 2 xxx"), "the text scrolls under the number: {:?}", shown[row]);
    assert_eq!(gutters(&shown), Vec::<String>::new(), "every line keeps its number: {shown:#?}");
    // The cursor, after the comma, is the reversed cell there.
    let drawn = cells(&state);
    let x = after(&drawn[row], "END\",").expect("the end drawn");
    assert!(drawn[row][x].1.contains(Modifier::REVERSED), "the cursor after the comma: {:?}", drawn[row][x]);
    // An error at the far right: `Ctrl-G` from the top goes there, shown under the numbers.
    key(&store, &mut state, Key::Char('!'));
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 0));
    let shown = screen(&state);
    assert!(shown.iter().any(|row| row.contains("│ 2   \"a\": \"xxx")), "back at the left: {shown:#?}");
    act(&store, &mut state, Action::JumpToError);
    assert_eq!(cursor(&state), (1, 213), "on the `!`");
    let shown = screen(&state);
    assert_eq!(gutters(&shown), Vec::<String>::new(), "numbered at the error: {shown:#?}");
    let drawn = cells(&state);
    let x = after(&drawn[row], "END\",").expect("the end drawn");
    assert_eq!(drawn[row][x].0, "!");
    let marked: Vec<usize> = (0..WIDTH as usize)
        .filter(|&x| drawn[row][x].1.contains(Modifier::UNDERLINED | Modifier::REVERSED))
        .collect();
    assert_eq!(marked, vec![x], "the error's mark on the `!` alone: {:?}", shown[row]);
}

/// The error's mark is drawn on the error's own cell after clusters of several chars (a skin
/// tone, a variation selector, a ZWJ family, a combining accent): each is measured as the text
/// area draws it, not char by char (`👍🏽` is two cells, where its chars' widths add to four).
#[test]
fn the_error_mark_lands_on_its_cell_after_clusters_of_several_chars() {
    use ratatui::style::Modifier;
    let (_dir, store) = demo_store();
    let mut state = editor_on_admin_with(&store, "{\"a\":\"👍🏽❤️👨‍👩‍👧e\u{301}\",\"b\":1}");
    let textarea = &mut state.editor.as_mut().unwrap().textarea;
    textarea.move_cursor(CursorMove::Jump(1, 0));
    textarea.move_cursor(CursorMove::End);
    key(&store, &mut state, Key::Char('!'));
    act(&store, &mut state, Action::JumpToError);
    let drawn = cells(&state);
    let row = drawn.iter().position(|row| row.iter().any(|(s, _)| s == "!")).expect("the `!` drawn");
    let bang = drawn[row].iter().position(|(s, _)| s == "!").expect("its cell");
    let marked: Vec<usize> = (0..WIDTH as usize)
        .filter(|&x| drawn[row][x].1.contains(Modifier::UNDERLINED | Modifier::REVERSED))
        .collect();
    assert_eq!(marked, vec![bang], "the mark on the `!` alone");
}
