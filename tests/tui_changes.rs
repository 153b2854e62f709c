//! The journal overlay of the screen (`:changes`, `c`): drawn on TestBackend against a
//! reviewed snapshot, and driven through the runtime against a real store: `Enter` lands in
//! the user's history at the revision chosen.

mod support;

use custodian::domain::CustomData;
use custodian::store::{Author, BatchEdit, BatchId, Selection, UserStore};
use custodian::tui::app::{Action, Mode, State};
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::{DEMO_USERS, act, demo_store, started};

fn screen(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).unwrap();
    terminal.backend().to_string()
}

/// `:changes`, typed.
fn open_changes(store: &custodian::store::RedbStore, state: &mut State) {
    act(store, state, Action::StartCommand);
    for c in "changes".chars() {
        act(store, state, Action::CommandChar(c));
    }
    act(store, state, Action::RunCommand);
}

/// The demo users, then admin saved twice by `carol` and alice once by `dave`.
fn edited_store() -> (tempfile::TempDir, custodian::store::RedbStore) {
    let (dir, store) = demo_store();
    let admin = store.resolve("admin").unwrap();
    for (id, text, who) in [
        (admin.as_str(), r#"{"theme":"dark"}"#, "carol"),
        (admin.as_str(), r#"{"theme":"light","beta":true}"#, "carol"),
    ] {
        store.replace_custom_data(id, &CustomData::parse(text).unwrap(), None, &Author(who.into())).unwrap();
    }
    (dir, store)
}

#[test]
fn the_changes_overlay_lists_the_newest_saves_across_users() {
    let (_dir, store) = edited_store();
    let mut state = started(&store, 120, 40);
    open_changes(&store, &mut state);
    assert_eq!(state.mode(), Mode::Changes);
    act(&store, &mut state, Action::ChangesMove(1));
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "[time of the save.....]"),
    ]}, {
        insta::assert_snapshot!("changes_120x40", screen(&state, 120, 40));
    });
}

#[test]
fn enter_on_a_save_opens_that_users_history_at_that_revision() {
    let (_dir, store) = edited_store();
    let admin = store.resolve("admin").unwrap();
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenChanges);
    // The newest is admin's revision 3; one down is their revision 2.
    act(&store, &mut state, Action::ChangesMove(1));
    let chosen = state.changes.view.as_ref().and_then(|v| v.selected_row()).map(|r| r.entry.clone()).unwrap();
    assert_eq!((chosen.user_id.as_str(), chosen.revision), (admin.as_str(), 2));
    act(&store, &mut state, Action::JumpToChange);
    assert_eq!(state.mode(), Mode::History);
    let history = state.history.as_ref().unwrap();
    assert_eq!(history.user_id, admin);
    assert_eq!(history.entries[history.selected].info.revision, 2);
    assert_eq!(history.selected_text().map(|t| t.contains("\"dark\"")), Some(true), "its text was read");
    assert_eq!(state.list.selected_entry().map(|e| e.user.id.clone()), Some(admin));
}

/// The demo users imported one by one (an upsert: an entry each, no bulk load), then admin
/// saved twice.
fn store_of_202_entries() -> (tempfile::TempDir, custodian::store::RedbStore) {
    use custodian::domain::Limits;
    use custodian::domain::import::ImportReader;
    use custodian::store::{ImportMode, OpenOptions, RedbStore};
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).unwrap();
    let mut reader = ImportReader::new(DEMO_USERS, Limits::default(), 1_700_000_000_000).unwrap();
    store.import(&mut reader, ImportMode::Upsert, &Author("tester".into())).unwrap();
    let admin = store.resolve("admin").unwrap();
    for text in [r#"{"theme":"dark"}"#, r#"{"theme":"light","beta":true}"#] {
        store
            .replace_custom_data(&admin, &CustomData::parse(text).unwrap(), None, &Author("carol".into()))
            .unwrap();
    }
    (dir, store)
}

#[test]
fn enter_on_a_bulk_load_says_it_has_no_one_users_history_and_stays() {
    let (_dir, store) = edited_store();
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenChanges);
    // admin's revisions 3 and 2, then the import of the demo users: one bulk load.
    act(&store, &mut state, Action::ChangesMove(2));
    let chosen = state.changes.view.as_ref().and_then(|v| v.selected_row()).map(|r| r.entry.clone()).unwrap();
    assert!(chosen.is_load() && chosen.load == Some(200), "{chosen:?}");
    act(&store, &mut state, Action::JumpToChange);
    assert_eq!(state.mode(), Mode::Changes, "the overlay stays");
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("a bulk load of 200 users has no one user's history"), "{shown}");
}

/// A load of one user is said of one ("a bulk load of 1 users … one of them": bb30 T04).
#[test]
fn enter_on_a_load_of_one_user_says_it_of_one() {
    use custodian::domain::Limits;
    use custodian::domain::import::ImportReader;
    use custodian::store::{ImportMode, OpenOptions, RedbStore};
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).unwrap();
    let one = r#"{"id":"only1","username":"only1","customData":{"k":1}}"#;
    let mut reader = ImportReader::new(one.as_bytes(), Limits::default(), 1_700_000_000_000).unwrap();
    store.import(&mut reader, ImportMode::InsertOnly, &Author("tester".into())).unwrap();
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenChanges);
    act(&store, &mut state, Action::JumpToChange);
    let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(said.starts_with("a bulk load of 1 user has no one user's history: `:user` its user,"), "{said}");
}

#[test]
fn c_in_the_list_opens_the_changes_and_escape_closes_them() {
    let (_dir, store) = store_of_202_entries();
    let mut state = started(&store, 80, 24);
    let key = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('c'),
        crossterm::event::KeyModifiers::NONE,
    );
    let action = custodian::tui::keymap::action_for(state.mode(), key);
    assert!(matches!(action, Some(Action::OpenChanges)), "{action:?}");
    act(&store, &mut state, Action::OpenChanges);
    let read = |state: &State| state.changes.view.as_ref().map(|v| (v.rows.len(), v.at_end));
    assert_eq!(read(&state), Some((200, false)), "the first page");
    act(&store, &mut state, Action::ChangesEdge(true));
    assert_eq!(read(&state), Some((202, true)), "the rest, read on the way down");
    act(&store, &mut state, Action::CloseChanges);
    assert_eq!(state.mode(), Mode::Browse);
}

/// bb15 L01, L02: a CJK username or author pushed every column after it by a column per wide
/// character (cells padded by characters, not display columns), and at 80 columns the
/// revision, size and keys were all cut. Every row's size ends at the same column, at 120 and
/// at 80 columns.
#[test]
fn the_columns_line_up_past_wide_names_and_the_revision_and_size_stay_at_80_columns() {
    let (_dir, store) = demo_store();
    let line = r#"{"id":"k1","username":"漢字ユーザー名","customData":{"名前":"山田"}}"#;
    support::import_records(&store, line);
    let admin = store.resolve("admin").unwrap();
    for (id, who) in [("k1", "山田太郎山田太郎"), (admin.as_str(), "dave"), ("k1", "root")] {
        let text = format!(r#"{{"by":"{who}"}}"#);
        store.replace_custom_data(id, &CustomData::parse(&text).unwrap(), None, &Author(who.into())).unwrap();
    }
    for width in [120, 80] {
        let mut state = started(&store, width, 24);
        act(&store, &mut state, Action::OpenChanges);
        let shown = screen(&state, width, 24);
        let ends: Vec<usize> = shown
            .lines()
            .filter_map(|row| {
                let at = row.find(" B  ")?;
                Some(unicode_width::UnicodeWidthStr::width(&row[..at]))
            })
            .collect();
        assert!(ends.len() >= 4, "every save shows its size at {width} columns:\n{shown}");
        assert!(ends.windows(2).all(|pair| pair[0] == pair[1]), "aligned at {width}: {ends:?}\n{shown}");
        assert!(shown.contains("漢字"), "{shown}");
    }
}

/// At 80 columns a row gives way to the revision, size and keys, and the batch (what `undo`
/// and `changes --batch` take) was cut off every row. The selected entry is shown whole on
/// a line of its own: its user and id, who, and the batch.
#[test]
fn the_selected_entry_is_shown_whole_with_its_batch_at_80_columns() {
    let (_dir, store) = demo_store();
    let admin = store.resolve("admin").unwrap();
    let batch = BatchId::new();
    let mut add_flag = |_: &custodian::store::UserRecord, _: &str| {
        Ok(BatchEdit::Replace(CustomData::parse(r#"{"reviewed":true}"#).unwrap()))
    };
    store
        .edit_batch(
            &batch,
            &Selection::Ids(vec![admin.clone()].into()),
            &mut add_flag,
            &Author("patcher".into()),
        )
        .unwrap();
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::OpenChanges);
    let shown = screen(&state, 80, 24);
    for whole in
        [format!("▸ admin ({admin}) · revision 2 by patcher"), format!("  batch {} · +reviewed −", batch.0)]
    {
        assert!(shown.contains(&whole), "{whole:?} in\n{shown}");
    }
    assert!(
        !shown.lines().any(|row| row.contains(&batch.0) && row.contains(" B  ")),
        "no row has room for it:\n{shown}"
    );
}

/// A journal of one entry said `1 entries` (bb96 F5).
#[test]
fn a_journal_of_one_entry_says_one_entry() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_changes(&store, &mut state);
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("1 entry: the start of the journal"), "{shown}");
}
