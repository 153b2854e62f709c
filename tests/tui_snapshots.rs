//! What the operator sees: whole screens drawn on ratatui's TestBackend and compared with
//! reviewed snapshots (insta), at 80×24 and 120×40.

mod support;

use crossterm::event::{KeyCode, KeyModifiers};
use custodian::export::Progress;
use custodian::store::{RedbStore, UserStore};
use custodian::tui::app::{Action, Effect, Pending, State, update};
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};
use support::{act, demo_store, started};

fn screen(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
    terminal.backend().to_string()
}

/// The time of the import is the only thing that changes from run to run.
macro_rules! assert_screen {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by tester", "[import time] by tester"),
        ]}, {
            insta::assert_snapshot!($name, $screen);
        });
    };
}

fn select(store: &RedbStore, state: &mut State, filter: &str) {
    act(store, state, Action::StartFilter);
    for c in filter.chars() {
        act(store, state, Action::FilterChar(c));
    }
    act(store, state, Action::FilterAccept);
}

fn type_text(store: &RedbStore, state: &mut State, text: &str) {
    for c in text.chars() {
        act(store, state, Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
}

#[test]
fn main_screen() {
    let (_dir, store) = demo_store();
    for (width, height) in [(80, 24), (120, 40)] {
        let mut state = started(&store, width, height);
        act(&store, &mut state, Action::Down);
        assert_screen!(format!("main_{width}x{height}"), screen(&state, width, height));
    }
}

#[test]
fn filtering() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::StartFilter);
    for c in "ame".chars() {
        act(&store, &mut state, Action::FilterChar(c));
    }
    assert_screen!("filtering_80x24", screen(&state, 80, 24));
}

#[test]
fn an_empty_filter_counts_the_whole_list_not_what_a_search_found() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    let title = |state: &State| screen(state, 80, 24).lines().next().unwrap_or_default().to_owned();
    act(&store, &mut state, Action::StartFilter);
    assert!(title(&state).contains(" /▏ · all 200 "), "{}", title(&state));
    for c in "ame".chars() {
        act(&store, &mut state, Action::FilterChar(c));
    }
    assert!(title(&state).contains(" found"), "{}", title(&state));
    // Typed and erased: the whole list is back, and so is its count.
    for _ in 0..3 {
        act(&store, &mut state, Action::FilterBackspace);
    }
    assert!(title(&state).contains(" /▏ · all 200 "), "{}", title(&state));
    assert!(!title(&state).contains("found"), "{}", title(&state));
    // Spaces alone filter nothing: the whole list, said so, also once Enter leaves the
    // filter (it said "72 found", the rows loaded so far, and `:patch` then went over every
    // user: bb34 #1).
    for _ in 0..3 {
        act(&store, &mut state, Action::FilterChar(' '));
    }
    assert!(title(&state).contains(" /   ▏ · all 200 "), "{}", title(&state));
    act(&store, &mut state, Action::FilterAccept);
    assert!(title(&state).contains(" Users · 200 "), "{}", title(&state));
}

#[test]
fn editor_with_invalid_json() {
    let (_dir, store) = demo_store();
    for (width, height) in [(80, 24), (120, 40)] {
        let mut state = started(&store, width, height);
        select(&store, &mut state, "admin");
        act(&store, &mut state, Action::OpenEditor);
        state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 21));
        type_text(&store, &mut state, " oops");
        assert_screen!(format!("invalid_{width}x{height}"), screen(&state, width, height));
    }
}

#[test]
fn editor_with_valid_json() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    assert_screen!("valid_120x40", screen(&state, 120, 40));
}

/// The editor on admin with its text replaced by `text`, and Ctrl-S pressed.
fn admin_saved_as(store: &RedbStore, width: u16, height: u16, text: &str) -> State {
    let mut state = started(store, width, height);
    select(store, &mut state, "admin");
    act(store, &mut state, Action::OpenEditor);
    let editor = state.editor.as_mut().unwrap();
    editor.textarea.select_all();
    editor.textarea.cut();
    type_text(store, &mut state, text);
    act(store, &mut state, Action::Save);
    state
}

#[test]
fn confirm_drop_dialog() {
    let (_dir, store) = demo_store();
    for (width, height) in [(80, 24), (120, 40)] {
        let state = admin_saved_as(&store, width, height, "{\"customDataFoo\": {}}");
        assert_screen!(format!("confirm_drop_{width}x{height}"), screen(&state, width, height));
    }
}

#[test]
fn the_remove_keys_question_keeps_its_answers_on_screen_however_long_the_key_names() {
    // Keys of a few hundred characters each wrapped over many rows: the dialog ran past the
    // screen and its answer line (`y save it   Enter/n/Esc no`) was never drawn.
    let (_dir, store) = demo_store();
    let id = store.resolve("admin").unwrap();
    let keys: Vec<String> = (0..6).map(|n| format!("\"{}{n}\": {n}", "k".repeat(300))).collect();
    let document = custodian::domain::CustomData::parse(&format!("{{{}}}", keys.join(", "))).unwrap();
    store.replace_custom_data(&id, &document, None, &custodian::store::Author("tester".into())).unwrap();
    for (width, height) in [(80, 24), (120, 40)] {
        let state = admin_saved_as(&store, width, height, "{\"kept\": 1}");
        let screen = screen(&state, width, height);
        assert!(screen.contains("Remove keys?"), "{screen}");
        assert!(screen.contains("Enter/n/Esc"), "the answers are on screen at {width}x{height}:\n{screen}");
        assert!(screen.contains("+   \"kept\": 1"), "the diff's lines are one row each:\n{screen}");
    }
}

#[test]
fn help_overlay() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::ToggleHelp);
    assert_screen!("help_120x40", screen(&state, 120, 40));
}

#[test]
fn too_small_terminal_says_so() {
    let (_dir, store) = demo_store();
    let state = started(&store, 60, 20);
    assert_screen!("too_small_60x20", screen(&state, 60, 20));
}

#[test]
fn too_small_terminal_with_unsaved_changes_asks_before_quitting() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    type_text(&store, &mut state, "x");
    act(&store, &mut state, Action::Resize { width: 60, height: 20 });
    assert_screen!("too_small_unsaved_60x20", screen(&state, 60, 20));
    act(&store, &mut state, Action::Quit);
    assert_screen!("too_small_quit_question_60x20", screen(&state, 60, 20));
}

#[test]
fn help_at_80x24_scrolls() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::ToggleHelp);
    assert_screen!("help_80x24", screen(&state, 80, 24));
    for _ in 0..60 {
        act(&store, &mut state, Action::ScrollHelp(1));
    }
    assert_screen!("help_80x24_scrolled", screen(&state, 80, 24));
}

/// At 80 columns some descriptions take two lines: the help scrolled to its end shows the last
/// key (it stopped five lines short, counting the table's rows: bb14 L09).
#[test]
fn the_help_scrolled_to_its_end_at_80_columns_shows_the_last_key() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::ToggleHelp);
    act(&store, &mut state, Action::ScrollHelp(i16::MAX));
    let text = screen(&state, 80, 24);
    let own_keys: Vec<&str> = text.lines().skip_while(|line| !line.contains("This help")).collect();
    for key in ["Esc/?/q/F1", "PgDn/Space", "End/G", "Ctrl-C/Ctrl-Q"] {
        assert!(own_keys.iter().any(|line| line.contains(key)), "the help's own {key} is not shown:\n{text}");
    }
    assert!(own_keys.iter().any(|line| line.contains('└')), "its end is not shown:\n{text}");
}

#[test]
fn conflict_dialog() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    let id = state.editor.as_ref().unwrap().user_id.clone();
    let theirs = custodian::domain::CustomData::parse(
        r#"{"adminConsolePreferences": {"language": "de"}, "customDataFoo": {}, "customDataBar": {}}"#,
    )
    .unwrap();
    store.replace_custom_data(&id, &theirs, None, &custodian::store::Author("other".into())).unwrap();
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
    type_text(&store, &mut state, "\"mine\": 1,");
    act(&store, &mut state, Action::Save);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by (tester|other)", "[time] by $1"),
    ]}, {
        insta::assert_snapshot!("conflict_120x40", screen(&state, 120, 40));
    });
}

/// `text` saved as admin's customData by someone else, as a revision of its own.
fn saved_by_another(store: &RedbStore, text: &str) {
    let id = custodian::store::UserStore::resolve(store, "admin").unwrap();
    let data = custodian::domain::CustomData::parse(text).unwrap();
    custodian::store::UserStore::replace_custom_data(
        store,
        &id,
        &data,
        None,
        &custodian::store::Author("other".into()),
    )
    .unwrap();
}

#[test]
fn history_view() {
    let (_dir, store) = demo_store();
    saved_by_another(&store, r#"{"adminConsolePreferences": {"language": "fr"}, "customDataFoo": {}}"#);
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenHistory);
    act(&store, &mut state, Action::HistoryUp);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC", "[time]"),
    ]}, {
        insta::assert_snapshot!("history_120x40", screen(&state, 120, 40));
    });
}

#[test]
fn a_history_past_what_the_overlay_shows_says_how_many_older_revisions_there_are() {
    // The screen shows the newest 200 revisions; older ones were left out without a word.
    let (_dir, store) = demo_store();
    for i in 0..205 {
        saved_by_another(&store, &format!(r#"{{"i": {i}}}"#));
    }
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenHistory);
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("the newest 200 revisions; 6 older: `custodian history` lists them"), "{shown}");
}

/// A restore that changes more lines than the diff's pane holds: `J` scrolls it to its last
/// row at the pane's bottom and no further, `K` back; choosing another revision starts it at
/// the top again. (Its first rows only were ever shown.)
#[test]
fn the_history_diff_scrolls_with_shift_j_and_k_to_its_last_row_and_no_further() {
    let (_dir, store) = demo_store();
    let fields: Vec<String> = (0..40).map(|i| format!(r#""field{i:02}": {i}"#)).collect();
    saved_by_another(&store, &format!("{{{}}}", fields.join(", ")));
    saved_by_another(&store, r#"{"small": true}"#);
    let mut state = started(&store, 80, 24);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenHistory);
    act(&store, &mut state, Action::HistoryUp);
    let top = screen(&state, 80, 24);
    assert!(top.contains("\"field00\"") && !top.contains("\"field39\""), "{top}");
    let press =
        |state: &mut State, c: char| support::press(&store, state, KeyCode::Char(c), KeyModifiers::SHIFT);
    for _ in 0..60 {
        press(&mut state, 'J');
    }
    let bottom = screen(&state, 80, 24);
    let rows: Vec<&str> = bottom.lines().collect();
    let at = rows.iter().position(|row| row.contains("\"field39\"")).expect(&bottom);
    assert!(
        rows[at + 1].contains("│  }") && rows[at + 2].contains("└─"),
        "the diff's end at the pane's bottom:\n{bottom}"
    );
    let scrolled = state.history.as_ref().expect("open").diff_scroll;
    press(&mut state, 'K');
    assert_eq!(state.history.as_ref().expect("open").diff_scroll, scrolled - 1);
    // A taller screen: still at its end, not past it (bb16 L15: its first rows stayed hidden
    // above blank ones).
    press(&mut state, 'J');
    act(&store, &mut state, Action::Resize { width: 80, height: 40 });
    let taller = screen(&state, 80, 40);
    let rows: Vec<&str> = taller.lines().collect();
    let at = rows.iter().position(|row| row.contains("\"field39\"")).expect(&taller);
    assert!(rows[at + 1].contains("│  }") && rows[at + 2].contains("└─"), "at the pane's bottom:\n{taller}");
    act(&store, &mut state, Action::HistoryUp);
    assert_eq!(state.history.as_ref().expect("open").diff_scroll, 0, "another revision starts at the top");
}

/// `i`: the selected user whole — Logto's `profile` and `identities`, `applicationId` and a
/// field custodian does not know, which the profile pane has no room for, and a long avatar
/// URL whole, wrapped (the pane cuts it with `…`); what came from an import is inert. It
/// scrolls to its last row and no further; `Esc` closes it.
#[test]
fn i_shows_the_user_whole_wrapped_and_inert_and_scrolls_to_its_last_row() {
    let (_dir, store) = demo_store();
    let avatar = format!("https://example.com/{}.png", "a".repeat(150));
    let line = format!(
        r#"{{"id":"whole1","username":"whole","name":"Evil\u001b]0;pwned\u0007","avatar":"{avatar}","profile":{{"givenName":"Ada\u202e","address":{{"locality":"London"}}}},"identities":{{"github":{{"userId":"12345"}}}},"applicationId":"app1","customFlag":{{"x":1}}}}"#
    );
    support::import_records(&store, &line);
    let mut state = started(&store, 80, 24);
    select(&store, &mut state, "whole");
    act(&store, &mut state, Action::OpenWholeUser);
    let top = screen(&state, 80, 24);
    assert!(top.contains("User whole · every property"), "{top}");
    assert!(top.contains("name          Evil␛]0;pwned␇"), "a plain value's controls as markers:\n{top}");
    assert!(
        top.contains("avatar        https://example.com/aaa") && top.contains("aaaa.png"),
        "whole:\n{top}"
    );
    let press = |state: &mut State, code: KeyCode| support::press(&store, state, code, KeyModifiers::NONE);
    for _ in 0..5 {
        press(&mut state, KeyCode::PageDown);
    }
    let bottom = screen(&state, 80, 24);
    for shown in [
        r#""givenName": "Ada\u202e""#,
        r#""userId": "12345""#,
        "applicationId app1",
        "customFlag",
        "\"x\": 1",
    ] {
        assert!(bottom.contains(shown) || top.contains(shown), "{shown} shown:\n{top}\n{bottom}");
    }
    let rows: Vec<&str> = bottom.lines().collect();
    let at = rows.iter().position(|row| row.contains("customData    in its pane")).expect(&bottom);
    assert!(rows[at + 1].contains("└─"), "the last row at the overlay's bottom:\n{bottom}");
    let scroll = |state: &State| state.whole_user.as_ref().expect("open").scroll;
    let scrolled = scroll(&state);
    press(&mut state, KeyCode::Down);
    assert_eq!(scroll(&state), scrolled, "no further");
    press(&mut state, KeyCode::Up);
    assert_eq!(scroll(&state), scrolled - 1);
    // Wider: laid out again, fewer rows, still no further than the last.
    act(&store, &mut state, Action::Resize { width: 200, height: 24 });
    let wide = screen(&state, 200, 24);
    assert!(wide.contains("customData    in its pane"), "{wide}");
    press(&mut state, KeyCode::Home);
    let wide = screen(&state, 200, 24);
    let avatar_row = wide.lines().find(|row| row.contains("avatar ")).expect(&wide);
    assert!(avatar_row.contains("aaaa.png"), "the avatar on one row at 200 columns:\n{wide}");
    press(&mut state, KeyCode::Esc);
    assert!(state.whole_user.is_none());
    assert!(!screen(&state, 80, 24).contains("every property ·"), "closed");
}

/// A user whose fields take more rows than a `u16` counts (a profile of 70,000 keys): `End`
/// reaches the last row (the scroll stopped at 65,535 rows, short of it).
/// bb16 L14: names of fields an import kept, in `i`: a CJK name is padded by display columns
/// (its value stood a column right per character), a name longer than the row is shown whole
/// (it was cut with no mark), and a field named by the empty string is named `""` (its value
/// read as a line of the field above).
#[test]
fn i_names_wide_long_and_empty_field_names_whole_and_lines_up_their_values() {
    let (_dir, store) = demo_store();
    let long = "k".repeat(150);
    let line = format!(
        r#"{{"id":"names1","username":"names","名前":"山田","nickname":"x","{long}":"long key","":"emptykey"}}"#
    );
    support::import_records(&store, &line);
    let mut state = started(&store, 100, 40);
    select(&store, &mut state, "names");
    act(&store, &mut state, Action::OpenWholeUser);
    let shown = screen(&state, 100, 40);
    let rows: Vec<&str> = shown.lines().collect();
    let column_of = |needle: &str| {
        let row =
            rows.iter().find(|row| row.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{shown}"));
        unicode_width::UnicodeWidthStr::width(&row[..row.find(needle).expect("there")])
    };
    assert_eq!(column_of("\"山田\""), column_of("\"x\""), "values line up:\n{shown}");
    let ks: usize = rows.iter().map(|row| row.matches('k').count()).sum();
    assert!(ks >= 150, "the long name whole ({ks} k shown):\n{shown}");
    let empty = rows.iter().position(|row| row.contains("\"emptykey\"")).expect(&shown);
    assert!(rows[empty].contains("│\"\"  "), "named \"\":\n{shown}");
}

#[test]
fn the_whole_user_scrolls_to_its_last_row_past_65535_rows() {
    let (_dir, store) = demo_store();
    let keys: Vec<String> = (0..70_000).map(|i| format!(r#""k{i:05}":1"#)).collect();
    let line = format!(r#"{{"id":"rows1","username":"manyrows","profile":{{{}}}}}"#, keys.join(","));
    support::import_records(&store, &line);
    let mut state = started(&store, 80, 24);
    select(&store, &mut state, "manyrows");
    act(&store, &mut state, Action::OpenWholeUser);
    assert!(state.whole_user.as_ref().expect("open").rows.len() > 70_000);
    support::press(&store, &mut state, KeyCode::End, KeyModifiers::NONE);
    let bottom = screen(&state, 80, 24);
    assert!(bottom.contains("customData    in its pane") && bottom.contains("\"k69999\""), "{bottom}");
}

#[test]
fn draft_found_dialog() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    let ids: Vec<String> = store.page_after(None, 12).unwrap().into_iter().map(|e| e.user.id).collect();
    // More drafts than the list shows at once, one of them a recovery file, one user with
    // a long handle: the list scrolls with the selection and fits 80 columns.
    let drafts: Vec<_> = ids
        .iter()
        .chain(std::iter::once(&"2ihchzsjd6sk".to_owned()))
        .enumerate()
        .map(|(n, id)| {
            let handle = store.user(id).map(|r| r.user.handle().to_owned()).unwrap_or_default();
            let edit = custodian::draft::EditSnapshot {
                user_id: id.clone(),
                user_handle: handle,
                session: format!("1-0000aaaa-{n}"),
                base_revision: 1 + n as u64,
                base_digest: custodian::draft::digest("{}"),
                text: "{}".into(),
                written_at: None,
            };
            let kind = if n == 1 {
                custodian::draft::DraftKind::Recovery
            } else {
                custodian::draft::DraftKind::Draft
            };
            custodian::draft::Draft::new(kind, &store.path().display().to_string(), edit, 1_764_000_000_000)
        })
        .collect();
    act(&store, &mut state, Action::DraftsFound { drafts, not_offered: Vec::new(), in_use: Vec::new() });
    assert_screen!("draft_found_80x24", screen(&state, 80, 24));
    for _ in 0..12 {
        act(&store, &mut state, Action::SelectDraft(1));
    }
    assert_screen!("draft_found_last_80x24", screen(&state, 80, 24));
    act(&store, &mut state, Action::AskDiscardDraft);
    assert_screen!("discard_draft_question_80x24", screen(&state, 80, 24));
}

/// Throwing away a draft that took the later text a session's end wrote to a file removes that
/// file too, which that session's stderr told the operator to save: the question names it
/// (bb45 M1).
#[test]
fn the_discard_question_names_the_file_of_later_text_the_draft_took() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 200, 24);
    let edit = custodian::draft::EditSnapshot {
        user_id: "2ihchzsjd6sk".into(),
        user_handle: "admin".into(),
        session: "1-0000aaaa-0".into(),
        base_revision: 1,
        base_digest: custodian::draft::digest("{}"),
        text: "{}".into(),
        written_at: None,
    };
    let mut draft = custodian::draft::Draft::new(
        custodian::draft::DraftKind::Draft,
        &store.path().display().to_string(),
        edit,
        1_764_000_000_000,
    );
    draft.later_copy = Some("/tmp/custodian-unsaved-2ihchzsjd6sk-1-x.json".into());
    act(
        &store,
        &mut state,
        Action::DraftsFound { drafts: vec![draft], not_offered: Vec::new(), in_use: Vec::new() },
    );
    act(&store, &mut state, Action::AskDiscardDraft);
    // The question wraps in its box: its rows, each as it shows there.
    let shown = screen_rows(&state, 200, 24).join("\n");
    assert!(shown.contains("kept in the draft and"), "{shown}");
    assert!(
        shown.contains("in /tmp/custodian-unsaved-2ihchzsjd6sk-1-x.json? It cannot be brought"),
        "{shown}"
    );
}

#[test]
fn command_line() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::StartCommand);
    act(&store, &mut state, Action::CommandChar('e'));
    act(&store, &mut state, Action::CommandComplete);
    for c in "~/users.jsonl".chars() {
        act(&store, &mut state, Action::CommandChar(c));
    }
    assert_screen!("command_line_80x24", screen(&state, 80, 24));
}

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// Where the block under "## The screen" in the README is (byte range of its text).
fn readme_screen_block(readme: &str) -> std::ops::Range<usize> {
    let section = readme.find("## The screen").expect("the README has \"The screen\"");
    let start = section + readme[section..].find("```\n").expect("a code block") + 4;
    let end = start + readme[start..].find("```\n").expect("the end of the code block");
    start..end
}

/// The screen's rows as a terminal shows them: a wide character's second cell is not text.
fn screen_rows(state: &State, width: u16, height: u16) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            let mut row = String::new();
            let mut x = 0;
            while x < width {
                let symbol = buffer[(x, y)].symbol();
                row.push_str(symbol);
                x += symbol.width().max(1) as u16;
            }
            row.trim_end().to_owned()
        })
        .collect()
}

/// A row with the revision's time and author (`1 · 2026-11-26 09:58 UTC by uid 0`) cut at
/// the time: they depend on when and by whom the demo users were imported.
fn up_to_the_revision_time(row: &str) -> &str {
    match row.find(" UTC by ") {
        Some(at) if at >= 16 && row.is_char_boundary(at - 16) => &row[..at - 16],
        _ => row,
    }
}

/// The README's picture of the screen is what the app draws at that size: the demo users,
/// `admin` selected, the hint bar as it is at that width. `CUSTODIAN_UPDATE_README=1`
/// writes what the app draws into the README instead.
#[test]
fn the_readme_screen_is_what_the_app_draws() {
    let readme = std::fs::read_to_string(README).expect("read the README");
    let block = readme_screen_block(&readme);
    let pictured: Vec<&str> = readme[block.clone()].lines().map(str::trim_end).collect();
    let (width, height) = (pictured[0].chars().count() as u16, pictured.len() as u16);
    let (_dir, store) = demo_store();
    let mut state = started(&store, width, height);
    while support::selected_handle(&state) != "admin" {
        act(&store, &mut state, Action::Down);
    }
    let drawn = screen_rows(&state, width, height);
    if std::env::var_os("CUSTODIAN_UPDATE_README").is_some() {
        let text = drawn.iter().map(|row| format!("{row}\n")).collect::<String>();
        std::fs::write(README, format!("{}{text}{}", &readme[..block.start], &readme[block.end..]))
            .expect("write the README");
        return;
    }
    let cut =
        |rows: &[&str]| rows.iter().map(|row| up_to_the_revision_time(row).to_owned()).collect::<Vec<_>>();
    let drawn_rows: Vec<&str> = drawn.iter().map(String::as_str).collect();
    assert_eq!(
        cut(&pictured),
        cut(&drawn_rows),
        "the README's screen is stale (CUSTODIAN_UPDATE_README=1 rewrites it); the app draws at {width}x{height}:\n{}",
        drawn.join("\n")
    );
}

/// The help overlay stops above the hint bar, which stays whole at every size (at 80×24 it
/// once left only the "E" of it): the bar says how to close the help.
#[test]
fn the_help_overlay_leaves_the_hint_bar_whole() {
    let (_dir, store) = demo_store();
    for (width, height) in [(80, 24), (100, 30), (120, 40)] {
        let mut state = started(&store, width, height);
        act(&store, &mut state, Action::ToggleHelp);
        let rows = screen_rows(&state, width, height);
        assert_eq!(
            rows.last().map(String::as_str),
            Some("Esc/?/q/F1 close"),
            "at {width}x{height}:\n{}",
            rows.join("\n")
        );
    }
}

/// The styles of the given rows of the screen, where a style is the point (the selection, an
/// error, no colour): each run of cells in one style other than the default, as
/// `row y, columns a..b fg F bg B MODIFIERS: text`. Colours are ratatui's names (`-` for the
/// terminal's own), modifiers its flag names.
fn styled(state: &State, (width, height): (u16, u16), theme: &Theme, rows: &[u16]) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(frame, state, theme)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for &y in rows {
        let mut x = 0;
        while x < width {
            let style = buffer[(x, y)].style();
            let start = x;
            let mut text = String::new();
            while x < width && buffer[(x, y)].style() == style {
                text.push_str(buffer[(x, y)].symbol());
                x += 1;
            }
            let plain = style.fg.is_none_or(|c| c == ratatui::style::Color::Reset)
                && style.bg.is_none_or(|c| c == ratatui::style::Color::Reset)
                && style.add_modifier.is_empty();
            if plain {
                continue;
            }
            let colour = |c: Option<ratatui::style::Color>| match c {
                None | Some(ratatui::style::Color::Reset) => "-".to_owned(),
                Some(c) => format!("{c:?}"),
            };
            out.push_str(&format!(
                "row {y:>2}, columns {start:>3}..{x:<3} fg {} bg {} {:?}: {:?}\n",
                colour(style.fg),
                colour(style.bg),
                style.add_modifier,
                text.trim_end()
            ));
        }
    }
    out
}

/// The selection's highlight, in colour and without (NO_COLOR: reverse video and bold, no
/// colour at all): the list's title and first rows, the second user selected.
#[test]
fn styles_of_the_selection_in_colour_and_without() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::Down);
    let rows = [1, 2, 3];
    assert_screen!("styles_selection_colour_80x24", styled(&state, (80, 24), &Theme::colour(), &rows));
    let no_colour = styled(&state, (80, 24), &Theme::plain(), &rows);
    assert!(no_colour.lines().all(|l| l.contains(" fg - bg - ")), "a colour without colour:\n{no_colour}");
    assert_screen!("styles_selection_no_colour_80x24", no_colour);
}

/// An error on the status line (invalid JSON in the editor) is styled as one, in colour and
/// without.
#[test]
fn styles_of_a_validation_error() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(2, 21));
    type_text(&store, &mut state, " oops");
    let status = [22];
    assert_screen!("styles_invalid_colour_80x24", styled(&state, (80, 24), &Theme::colour(), &status));
    let no_colour = styled(&state, (80, 24), &Theme::plain(), &status);
    assert!(no_colour.lines().all(|l| l.contains(" fg - bg - ")), "a colour without colour:\n{no_colour}");
    assert_screen!("styles_invalid_no_colour_80x24", no_colour);
}

/// Issue 16: the history overlay hid the status line, so its refusals (read-only) were never
/// seen. The overlay now stops above it.
#[test]
fn a_refusal_in_the_history_overlay_is_on_screen() {
    let (dir, store) = demo_store();
    drop(store);
    let options = custodian::store::OpenOptions { read_only: true, ..Default::default() };
    let store = custodian::store::RedbStore::open(&dir.path().join("users.redb"), options).unwrap();
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenHistory);
    assert!(state.history.is_some());
    act(&store, &mut state, Action::RestoreRevision);
    let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(said.starts_with("read-only"), "{said:?}");
    let rows = screen_rows(&state, 120, 40);
    assert!(rows[38].starts_with(&said), "the status line under the history: {:?}", rows[38]);
    assert!(rows[37].contains('┘'), "the overlay ends above it: {:?}", rows[37]);
}

/// Issue 16: a message longer than the status line (a recovery file's path) was cut with no
/// way to read it. It is cut saying where to read it, and `:messages` shows it whole.
#[test]
fn a_long_message_is_cut_saying_where_and_messages_shows_it_whole() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    let long = format!("unknown command :{}", "x".repeat(150));
    act(&store, &mut state, Action::StartCommand);
    for c in long["unknown command :".len()..].chars() {
        act(&store, &mut state, Action::CommandChar(c));
    }
    act(&store, &mut state, Action::RunCommand);
    let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(said.starts_with(&long), "{said}");
    let rows = screen_rows(&state, 80, 24);
    assert!(rows[22].ends_with("… (F2: whole)"), "{:?}", rows[22]);
    assert_eq!(rows[22].chars().count(), 80);
    act(&store, &mut state, Action::StartCommand);
    for c in "messages".chars() {
        act(&store, &mut state, Action::CommandChar(c));
    }
    act(&store, &mut state, Action::RunCommand);
    let screen = screen_rows(&state, 80, 24).join("");
    assert!(screen.chars().filter(|c| *c == 'x').count() >= 150, "every x of the message:\n{screen}");
    assert!(screen.contains("messages, q)"), "the end of the message:\n{screen}");
    act(&store, &mut state, Action::Cancel);
    assert!(!state.messages_open);
}

/// `:messages` shows the newest message on its last row, whatever the older ones hold: a long
/// word pushed to a row of its own was not counted, and the newest fell below the box, which
/// does not scroll (bb26 T14).
#[test]
fn messages_show_the_newest_last_even_after_a_long_word_wrapped() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let command = |state: &mut State, line: &str| {
        act(&store, state, Action::StartCommand);
        for c in line.chars() {
            act(&store, state, Action::CommandChar(c));
        }
        act(&store, state, Action::RunCommand);
    };
    for n in 1..=50 {
        command(&mut state, &format!("u nosuch{n}"));
    }
    command(&mut state, &format!("u {}", "x".repeat(110)));
    command(&mut state, "u lastone");
    command(&mut state, "messages");
    let rows = screen_rows(&state, 120, 40);
    let last =
        rows.iter().rposition(|row| row.contains("nosuch") || row.contains("lastone") || row.contains('x'));
    let last = last.map(|at| rows[at].clone()).unwrap_or_default();
    assert!(last.contains("no user \"lastone\""), "the newest on the last row:\n{}", rows.join("\n"));
}

/// On a store that keeps keys in its own order and estimates a large count (PostgreSQL):
/// the list says `~` before the figure, the editor's status line whose key order it is.
#[test]
fn editor_on_a_store_with_its_own_key_order_and_an_estimated_count() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    state.key_order = custodian::store::KeyOrder::Backend("PostgreSQL");
    state.list.total = 1_000_000;
    state.list.total_estimated = true;
    act(&store, &mut state, Action::OpenEditor);
    let shown = screen(&state, 80, 24);
    assert!(shown.contains("Users · ~1,000,000"), "{shown}");
    assert!(shown.contains("key order is PostgreSQL's"), "{shown}");
    assert_screen!("own_key_order_estimated_count_80x24", shown);
}

/// The editor's find line (`Ctrl-F`) on the status line, the match selected, and what a
/// text that is nowhere looks like.
#[test]
fn the_find_line_shows_what_is_looked_for_and_when_it_is_not_found() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    while support::selected_handle(&state) != "admin" {
        act(&store, &mut state, Action::Down);
    }
    act(&store, &mut state, Action::OpenEditor);
    act(&store, &mut state, Action::StartFind);
    for c in "foo".chars() {
        act(&store, &mut state, Action::FindChar(c));
    }
    let rows = screen_rows(&state, 80, 24);
    assert_eq!(rows[22], "find: foo▏");
    assert!(rows[23].starts_with("Enter done · Esc cancel"), "{:?}", rows[23]);
    for c in "zzz".chars() {
        act(&store, &mut state, Action::FindChar(c));
    }
    assert_eq!(screen_rows(&state, 80, 24)[22], "find: foozzz▏   not found");
}

/// The customData pane with the focus (Tab): the folding tree, a folded object's summary, the
/// focused node's path in the title, the list's border no longer the focused one.
#[test]
fn customdata_as_a_folding_tree() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    while support::selected_handle(&state) != "admin" {
        act(&store, &mut state, Action::Down);
    }
    act(&store, &mut state, Action::FocusTree);
    act(&store, &mut state, Action::TreeMove(1));
    act(&store, &mut state, Action::TreeToggle);
    act(&store, &mut state, Action::TreeMove(2));
    act(&store, &mut state, Action::TreeExpand);
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("customData · revision 1 · customDataBar.baz"), "{shown}");
    assert!(shown.contains("\"adminConsolePreferences\": {…} 3 keys,"), "{shown}");
    assert_screen!("tree_120x40", shown);
}

/// The editor's title says where the cursor is in the document, in the lint's style.
#[test]
fn the_editor_title_shows_the_path_at_the_cursor() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    while support::selected_handle(&state) != "admin" {
        act(&store, &mut state, Action::Down);
    }
    act(&store, &mut state, Action::OpenEditor);
    let row =
        state.editor.as_ref().unwrap().textarea.lines().iter().position(|l| l.contains("\"baz\"")).unwrap();
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(row, 12));
    let rows = screen_rows(&state, 120, 40);
    assert!(rows[13].contains("from revision 1 · at customDataBar.baz "), "{:?}", rows[13]);
}

/// At 20×5 and 30×6 the explanation took every row and the quit question, open, was not seen:
/// a `y` typed blind threw the edit away (bb11 G01). The question comes first, short.
#[test]
fn the_quit_question_is_seen_on_the_tiniest_screens() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    type_text(&store, &mut state, "x");
    for (width, height) in [(20, 5), (30, 6), (39, 7)] {
        act(&store, &mut state, Action::Resize { width, height });
        act(&store, &mut state, Action::Quit);
        let shown = screen(&state, width, height);
        let words: String =
            shown.lines().map(|row| row.trim_matches('"').trim_end()).collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("Throw away your unsaved changes? y yes Enter/n/Esc no"),
            "{width}×{height}:\n{shown}"
        );
        act(&store, &mut state, Action::Cancel);
        assert!(state.editor.as_ref().is_some_and(|e| e.is_modified()), "no keeps the edit");
    }
    assert_screen!("tiny_quit_question_20x5", {
        act(&store, &mut state, Action::Resize { width: 20, height: 5 });
        act(&store, &mut state, Action::Quit);
        screen(&state, 20, 5)
    });
}

/// A lost connection in the list: the status line had an empty part between two dots, and
/// the hint bar named `r` twice, for reconnecting and for refreshing (bb11).
#[test]
fn a_lost_connection_is_said_once_and_its_key_named_once() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    act(
        &store,
        &mut state,
        Action::ConnectionLost { message: "the server ended the session or the network dropped".into() },
    );
    let rows = screen_rows(&state, 120, 40);
    let (status, hints) = (&rows[38], &rows[39]);
    assert!(
        status.starts_with("connection lost · the server ended the session or the network dropped"),
        "{status}"
    );
    assert!(hints.starts_with("r reconnect · "), "{hints}");
    assert_eq!(hints.split(" · ").filter(|hint| hint.starts_with("r ")).count(), 1, "{hints}");
}

/// On Logto's database a newer revision may be a write outside custodian (psql, Logto), which
/// custodian numbers too: the conflict said "Someone saved revision N" of it (bb11).
#[test]
fn a_conflict_on_logtos_database_does_not_call_a_newer_revision_someones_save() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    state.key_order = custodian::store::KeyOrder::Backend("PostgreSQL");
    select(&store, &mut state, "admin");
    act(&store, &mut state, Action::OpenEditor);
    let id = state.editor.as_ref().unwrap().user_id.clone();
    let theirs = custodian::domain::CustomData::parse(r#"{"viaSql": 100}"#).unwrap();
    store.replace_custom_data(&id, &theirs, None, &custodian::store::Author("other".into())).unwrap();
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(0, 1));
    type_text(&store, &mut state, "\"mine\": 1,");
    act(&store, &mut state, Action::Save);
    let shown = screen(&state, 120, 40);
    assert!(
        shown.contains("Revision 2 is stored now (saved by someone, or written outside custodian)"),
        "{shown}"
    );
    assert!(!shown.contains("Someone saved"), "{shown}");
    let status = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        status.starts_with("conflict: revision 2 is stored now, not the revision 1 you opened"),
        "{status}"
    );
}

/// The hint bar named keys that here would only be refused: `Enter/e edit` and the history's
/// `Enter restore` under `--read-only`, `Ctrl-O unseal` and `Ctrl-L seal` without a key file
/// (bb11). The help still lists them.
#[test]
fn the_hint_bar_leaves_out_keys_that_would_only_be_refused() {
    let (dir, store) = demo_store();
    let mut state = started(&store, 200, 40);
    let hints = |state: &State| screen_rows(state, 200, 40)[39].clone();
    assert!(hints(&state).contains("Enter/e edit"), "{}", hints(&state));
    act(&store, &mut state, Action::OpenEditor);
    let editing = hints(&state);
    assert!(
        editing.contains("Ctrl-S save") && !editing.contains("unseal") && !editing.contains("seal"),
        "{editing}"
    );
    drop(store);
    let options = custodian::store::OpenOptions { read_only: true, ..Default::default() };
    let store = custodian::store::RedbStore::open(&dir.path().join("users.redb"), options).unwrap();
    let mut state = started(&store, 200, 40);
    let browsing = hints(&state);
    assert!(
        !browsing.contains("edit") && browsing.contains("/ filter") && browsing.contains("h history"),
        "{browsing}"
    );
    act(&store, &mut state, Action::OpenHistory);
    let history = hints(&state);
    assert!(!history.contains("restore") && history.contains("close"), "{history}");
    act(&store, &mut state, Action::ToggleHelp);
    let help = screen_rows(&state, 200, 40).join("\n");
    assert!(help.contains("edit customData"), "the help lists every key:\n{help}");
}

/// A 128-character username pushed the revision, `modified` and the cursor's path out of the
/// editor's title: the handle gives way first (bb11).
#[test]
fn a_long_handle_gives_way_to_the_editors_state_in_its_title() {
    let (_dir, store) = demo_store();
    let long = "u".repeat(128);
    let record = format!("{{\"id\":\"long1\",\"username\":\"{long}\",\"customData\":{{\"a\":1}}}}");
    support::import_records(&store, &record);
    let mut state = started(&store, 120, 40);
    select(&store, &mut state, "long1");
    act(&store, &mut state, Action::OpenEditor);
    state.editor.as_mut().unwrap().textarea.move_cursor(CursorMove::Jump(1, 8));
    type_text(&store, &mut state, "2");
    let rows = screen_rows(&state, 120, 40);
    let title = rows.iter().find(|row| row.contains("Editing customData of")).expect("the editor's title");
    assert!(title.contains("uuuuuuuuuuuuuuu… · from revision 1 · modified · at a"), "{title}");
}

/// At 80 columns the history's "who" column gives way, so a restore's mark is seen whole
/// (bb13: `root` padded to 24 columns left `= revis`).
#[test]
fn the_history_at_80_columns_shows_a_restores_mark_whole() {
    let (_dir, store) = demo_store();
    let id = store.resolve("admin").expect("admin");
    let author = custodian::store::Author("an-operator-with-a-long-name".into());
    let original = store.revision_text(&id, 1).expect("revision 1");
    for text in [r#"{"v": 2}"#, original.as_str()] {
        let data = custodian::domain::CustomData::parse(text).expect("valid");
        store.replace_custom_data(&id, &data, None, &author).expect("save");
    }
    let mut state = started(&store, 80, 24);
    while support::selected_handle(&state) != "admin" {
        act(&store, &mut state, Action::Down);
    }
    act(&store, &mut state, Action::OpenHistory);
    let rows = screen_rows(&state, 80, 24);
    let restore = rows.iter().find(|row| row.contains("   3* ")).expect("revision 3's row");
    assert!(restore.contains("= revision 1  +"), "{restore}");
    assert!(restore.contains("an-operator-wi…"), "{restore}");
}

#[test]
fn an_export_under_way_shows_how_far_it_has_come() {
    // `exporting…` alone for the minutes ten million users take looked stuck.
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    // The update alone: the export itself is the runtime's, and its word comes from its worker.
    update(&mut state, Action::StartCommand);
    let path = "/srv/backups/users.jsonl".to_owned();
    for c in format!("export {path}").chars() {
        update(&mut state, Action::CommandChar(c));
    }
    let effects = update(&mut state, Action::RunCommand);
    assert!(matches!(effects.as_slice(), [Effect::Export { .. }]), "{effects:?}");
    update(&mut state, Action::StoreBusy(Some(Pending::Exporting)));
    update(
        &mut state,
        Action::ExportProgress { path: path.clone(), progress: Progress::Read(150), total: None },
    );
    assert_screen!("export_read_80x24", screen(&state, 80, 24));
    update(
        &mut state,
        Action::ExportProgress { path: path.clone(), progress: Progress::Written(42), total: Some(1_200) },
    );
    // Out of the users the store held as the export began: the list counted 200 at its start.
    let written = screen(&state, 80, 24);
    assert!(
        written.contains("exporting to /srv/backups/users.jsonl  ·  exporting… 42/1,200 written"),
        "{written}"
    );
    // Word of another export (one queued behind) is not shown as this one's.
    let other = "/srv/backups/older.jsonl".to_owned();
    update(
        &mut state,
        Action::ExportProgress { path: other, progress: Progress::Written(7), total: Some(9) },
    );
    assert!(screen(&state, 80, 24).contains("exporting… 42/1,200 written"));
    // Answered, its count goes with it.
    update(&mut state, Action::Exported { path, count: 1_200 });
    update(&mut state, Action::StoreBusy(None));
    let done = screen(&state, 80, 24);
    assert!(
        done.contains("exported 1,200 users to /srv/backups/users.jsonl") && !done.contains("written"),
        "{done}"
    );
}
