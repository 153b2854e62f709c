//! The TUI on Logto's PostgreSQL database: its decisions without a terminal (the same update
//! loop as tests/tui_update.rs, with its store work run against a PostgresStore), then the
//! real binary in a pseudo-terminal (`--db postgres://…` as the tenant's own role), checked
//! with SQL.

mod support;

use custodian::draft::Drafts;
use custodian::store::{Author, PostgresOptions, PostgresStore, UserStore};
use custodian::tui::app::{Action, Mode, State, update};
use custodian::tui::theme::Theme;
use custodian::tui::{Runtime, run_effects, view};
use portable_pty::CommandBuilder;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};
use support::home::PrivateHome;
use support::postgres::{LogtoDb, LogtoUser};
use support::pty::{Tui, framed};
use tempfile::TempDir;

const PEOPLE: &str = r#"[
{"id":"u1","username":"alice","primaryEmail":"alice@example.com","customData":{"theme":"dark"}},
{"id":"u2","username":"bob","customData":{}},
{"id":"u3","primaryEmail":"carol@example.net","customData":{"a":1}}
]"#;

struct Screen {
    store: PostgresStore,
    drafts: TempDir,
    state: State,
}

impl Screen {
    fn open(db: &LogtoDb) -> Self {
        Self::open_url(&db.tenant_url("default"))
    }

    fn open_url(url: &str) -> Self {
        Self::open_with(url, PostgresOptions::default())
    }

    /// As the screen opens a database it may write: the list read from the key table.
    fn open_keyed(db: &LogtoDb) -> Self {
        Self::open_with(
            &db.tenant_url("default"),
            PostgresOptions { use_key_table: true, ..PostgresOptions::default() },
        )
    }

    fn open_with(url: &str, options: PostgresOptions) -> Self {
        let store = PostgresStore::connect(url, &options).expect("connect");
        let drafts = TempDir::new().expect("drafts dir");
        let mut screen = Self { state: State::new(120, 40, false), store, drafts };
        let effects = screen.state.start();
        screen.run(effects);
        screen
    }

    fn run(&mut self, effects: Vec<custodian::tui::app::Effect>) {
        let runtime = Runtime {
            store: &self.store,
            drafts: Drafts::at(self.drafts.path().join("drafts")),
            database: self.store.draft_identity(),
            scanner: None,
            workers: None,
            checker: None,
        };
        run_effects(&runtime, &mut self.state, effects);
    }

    fn act(&mut self, action: Action) {
        let effects = update(&mut self.state, action);
        self.run(effects);
    }
}

fn logto() -> LogtoDb {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", PEOPLE);
    db.insert("admin", &LogtoUser::new("adm1"));
    db
}

#[test]
fn the_list_shows_only_the_tenants_users_in_list_order() {
    let db = logto();
    let screen = Screen::open(&db);
    assert_eq!(screen.state.list.total, 3);
    let handles: Vec<String> =
        screen.state.list.visible().iter().map(|e| e.user.handle().to_owned()).collect();
    assert_eq!(handles, vec!["alice", "bob", "carol@example.net"]);
    assert!(screen.state.document.as_ref().expect("first user loaded").text.contains("dark"));
}

#[test]
fn an_outside_write_while_editing_is_a_conflict_and_keeps_the_edit() {
    let db = logto();
    let mut screen = Screen::open(&db);
    screen.act(Action::OpenEditor);
    assert_eq!(screen.state.mode(), Mode::Edit);
    // Logto (a sign-in, the console) writes the row while the operator types.
    db.superuser().execute("update users set name = 'Alice L.' where id = 'u1'", &[]).expect("outside write");
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    for c in "\"mine\": 1,".chars() {
        screen.act(Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
    screen.act(Action::Save);
    assert_eq!(screen.state.mode(), Mode::Conflict);
    assert!(screen.state.editor.is_some(), "the edit is still open");
    assert!(!screen.store.custom_data("u1").expect("read").text.contains("mine"), "nothing written");
    // Said as what it was: it said "someone saved revision 1 since you opened revision 1".
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(
        status,
        "conflict: the user was changed outside custodian since you opened revision 1 (not their customData: a sign-in or a profile edit); nothing was written"
    );
    // The dialog says so too: it said "Someone saved revision 1 while you were editing".
    let drawn = drawn_words(&screen);
    assert!(
        drawn.contains("The user was changed outside custodian meanwhile a signin or a profile edit"),
        "{drawn}"
    );
    assert!(drawn.contains("customData is as you read it"), "{drawn}");
    assert!(!drawn.contains("Someone saved"), "{drawn}");
    // The overwrite's question says the same: it named "revision 1, saved since you opened
    // this edit", the edit's own revision (bb33 F2).
    screen.act(Action::OverwriteTheirs);
    let drawn = drawn_words(&screen);
    assert!(
        drawn.contains("The user was changed outside custodian since you opened this edit a signin or a profile edit customData is revision 1 as you read it"),
        "{drawn}"
    );
    assert!(!drawn.contains("saved since you opened"), "{drawn}");
}

/// The user renamed outside while the operator edits them (here: another name and email, as
/// an account re-created under the same id): the conflict view and the overwrite question say
/// who the user is now before `y` writes (bb57 F5: only the answer after the write said it).
#[test]
fn a_conflict_over_a_user_renamed_outside_names_who_the_user_is_now_before_the_overwrite() {
    let db = logto();
    let mut screen = Screen::open(&db);
    screen.act(Action::OpenEditor);
    db.superuser()
        .execute(
            "update users set username = 'someoneelse', primary_email = 'else@example.org' where id = 'u1'",
            &[],
        )
        .expect("outside rename");
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    type_into_editor(&mut screen, "\"mine\": 1,");
    screen.act(Action::Save);
    assert_eq!(screen.state.mode(), Mode::Conflict);
    assert!(status(&screen).ends_with(" · the user is now someoneelse, not alice"), "{}", status(&screen));
    let drawn = drawn_words(&screen);
    assert!(drawn.contains("The user is now someoneelse not alice as when you opened this edit"), "{drawn}");
    // The profile and the list row show who the user is now too (bb63 F3: alice's name and
    // email stayed there until `r`).
    let profile = screen.state.user.as_ref().expect("the profile").user.clone();
    assert_eq!(profile.username.as_deref(), Some("someoneelse"));
    assert_eq!(profile.primary_email.as_deref(), Some("else@example.org"));
    let row = screen.state.list.selected_entry().expect("the row").user.clone();
    assert_eq!(row.username.as_deref(), Some("someoneelse"));
    screen.act(Action::OverwriteTheirs);
    let drawn = drawn_words(&screen);
    assert!(
        drawn.contains("The user is now someoneelse not alice as when you opened this edit renamed or another account under this id The user was changed outside custodian"),
        "{drawn}"
    );
    assert!(!screen.store.custom_data("u1").expect("read").text.contains("mine"), "nothing written yet");
}

/// The screen drawn at 120×40, letters, digits and spaces only, words joined by one space
/// (a dialog's text wraps over its rows and borders).
fn drawn_words(screen: &Screen) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|frame| view::render(frame, &screen.state, &Theme::plain())).expect("draw");
    let drawn: String =
        format!("{}", terminal.backend()).chars().filter(|c| c.is_alphanumeric() || *c == ' ').collect();
    drawn.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Logto (the console, a script) deletes the user while the operator edits them. The save said
/// `no user "u1" (looked for an id, a username, …)`, a lookup the operator never typed (bb14
/// L11); now it says what happened, and the edit stays.
/// A user moved to another tenant by SQL is gone from this one alike, and said so: it was
/// said deleted, and the operator looked for a deletion (bb74 F2).
#[test]
fn a_save_of_a_user_deleted_outside_says_so_and_keeps_the_edit() {
    for outside in
        ["delete from users where id = 'u1'", "update users set tenant_id = 'admin' where id = 'u1'"]
    {
        let db = logto();
        let mut screen = Screen::open(&db);
        screen.act(Action::OpenEditor);
        assert_eq!(screen.state.mode(), Mode::Edit);
        screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
        for c in "\"mine\": 1,".chars() {
            screen.act(Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
        }
        db.superuser().execute(outside, &[]).expect("written outside");
        screen.act(Action::Save);
        let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert_eq!(
            status,
            "not saved: user u1 no longer exists (deleted, or moved to another tenant, outside custodian); the edit stays here and in its draft",
            "{outside}"
        );
        assert_eq!(screen.state.mode(), Mode::Edit);
        let text = screen.state.editor.as_ref().expect("the edit is still open").textarea.lines().join("\n");
        assert!(text.contains("\"mine\": 1,"), "{text}");
    }
}

/// The same for `h`: its history's read said `no user "u1" (looked for an id, …)` (bb16 L13).
#[test]
fn the_history_of_a_user_deleted_outside_says_so() {
    let db = logto();
    let mut screen = Screen::open(&db);
    db.superuser().execute("delete from users where id = 'u1'", &[]).expect("outside delete");
    screen.act(Action::OpenHistory);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(
        status,
        "user u1 no longer exists (deleted, or moved to another tenant, outside custodian): press r to read the list again"
    );
    assert!(screen.state.history.is_none());
}

/// bb20 L04: moving in the history of a user deleted since it was read, and opening a draft
/// of such a user, said `no user "u1" (looked for an id, a username, …)`, a lookup nobody typed.
#[test]
fn the_history_and_a_draft_of_a_user_deleted_outside_say_so() {
    let db = logto();
    let mut screen = Screen::open(&db);
    let saved = custodian::domain::CustomData::parse(r#"{"theme": "light"}"#).expect("valid");
    let author = custodian::store::Author("tester".into());
    screen.store.replace_custom_data("u1", &saved, None, &author).expect("a second revision");
    screen.act(Action::OpenHistory);
    assert!(screen.state.history.is_some());
    db.superuser().execute("delete from users where id = 'u1'", &[]).expect("outside delete");
    screen.act(Action::HistoryUp);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(
        status,
        "user u1 no longer exists (deleted, or moved to another tenant, outside custodian): press r to read the list again"
    );
    // A draft of bob, whose row goes: not opened, kept, and said as what happened.
    let edit = custodian::draft::EditSnapshot {
        user_id: "u2".into(),
        user_handle: "bob".into(),
        session: "1-0000aaaa-1".into(),
        base_revision: 1,
        base_digest: custodian::draft::digest("{}"),
        text: "{\"mine\": 1}".into(),
        written_at: None,
    };
    let draft = custodian::draft::Draft::new(
        custodian::draft::DraftKind::Draft,
        &screen.store.draft_identity(),
        edit,
        custodian::domain::time::now_ms(),
    );
    db.superuser().execute("delete from users where id = 'u2'", &[]).expect("outside delete");
    let file = draft.file_name();
    screen.act(Action::DraftsFound { drafts: vec![draft], not_offered: Vec::new(), in_use: Vec::new() });
    screen.act(Action::OpenDraft);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        status.starts_with(
            "draft of bob not opened: user u2 no longer exists (deleted outside custodian, or the file restored from before it); its edit is kept in "
        ) && status.contains(&format!("/{file} (copy it from there")),
        "{status}"
    );
}

/// bb16 L05: the tree (`Tab`) of a customData jsonb holds nested deeper than serde_json reads
/// said serde's "recursion limit exceeded at line 1 column 763"; now what every view says.
#[test]
fn the_tree_of_a_document_nested_too_deep_says_what_it_is() {
    let db = logto();
    let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, custom_data) values ('default', 'deep1', 'deepuser', $1::text::jsonb)",
            &[&deep],
        )
        .expect("a deep document, as SQL may write it");
    let mut screen = Screen::open(&db);
    screen.command("user id:deep1");
    screen.act(Action::FocusTree);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(
        status,
        "database error: user deep1: its customData in the database is an object nested 128 levels deep or more (written outside custodian); `custodian set id:deep1` replaces it"
    );
    assert!(screen.state.tree.is_none());
}

impl Screen {
    fn command(&mut self, line: &str) {
        self.act(Action::StartCommand);
        for c in line.chars() {
            self.act(Action::CommandChar(c));
        }
        self.act(Action::RunCommand);
    }

    fn press(&mut self, code: crossterm::event::KeyCode) {
        let event = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
        let action = custodian::tui::keymap::action_for(self.state.mode(), event).expect("a bound key");
        self.act(action);
    }
}

#[test]
fn patch_applies_one_batch_and_changes_lists_it_on_postgres_in_the_screen() {
    use crossterm::event::KeyCode;
    let db = logto();
    let mut screen = Screen::open(&db);
    let file = screen.drafts.path().join("patch.json");
    std::fs::write(&file, r#"[{"op":"add","path":"/reviewed","value":true}]"#).expect("write the patch");
    screen.command(&format!("patch {}", file.display()));
    assert_eq!(screen.state.mode(), Mode::Patch);
    screen.press(KeyCode::Enter);
    screen.press(KeyCode::Char('y'));
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("batch b") && status.contains("saved 3 users"), "{status}");
    let batch = screen.store.history("u2").expect("history").last().and_then(|r| r.batch.clone());
    let batch = batch.expect("the revision is tagged");
    assert!(status.contains(&batch.0), "{status}");

    screen.command("changes");
    assert_eq!(screen.state.mode(), Mode::Changes);
    let view = screen.state.changes.view.as_ref().expect("the journal overlay");
    let tagged = view.rows.iter().filter(|row| row.entry.batch.as_ref() == Some(&batch)).count();
    assert_eq!(tagged, 3, "the batch's three saves, newest first");
}

// ---- The real binary in a pseudo-terminal ----

const BIN: &str = env!("CARGO_BIN_EXE_custodian");
const ENTER: &[u8] = b"\r";
const ESC: &[u8] = b"\x1b";
const UP: &[u8] = b"\x1b[A";
const DOWN: &[u8] = b"\x1b[B";
const END: &[u8] = b"\x1b[F";
const HOME: &[u8] = b"\x1b[H";
const BACKSPACE: &[u8] = b"\x7f";
const CTRL_K: &[u8] = b"\x0b";
const CTRL_S: &[u8] = b"\x13";

/// The tenant `default` has PEOPLE (alice with two keys, so jsonb reorders them); tenant
/// `admin` has `amy`, who would sort between alice and bob and whose customData also holds
/// `dark`: shown or found, she would be another tenant's user leaking through.
fn logto_for_the_terminal() -> LogtoDb {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", PEOPLE);
    db.superuser()
        .execute(r#"update users set custom_data = '{"theme":"dark","lang":"en"}' where id = 'u1'"#, &[])
        .expect("alice's two keys");
    let mut amy = LogtoUser::new("adm1").custom_data(r#"{"theme":"darkest"}"#);
    amy.username = Some("amy".to_owned());
    db.insert("admin", &amy);
    db
}

/// custodian in a private home, in a 120×40 pty, on tenant `default` as its own role.
fn spawn(home: &PrivateHome, db: &LogtoDb, args: &[&str]) -> Tui {
    spawn_on(home, &db.tenant_url("default"), args)
}

/// custodian in a private home, in a 120×40 pty, on the database at `url`.
fn spawn_on(home: &PrivateHome, url: &str, args: &[&str]) -> Tui {
    let mut command = CommandBuilder::new(BIN);
    command.arg("--db");
    command.arg(url);
    command.args(args);
    command.cwd(home.path("home"));
    for key in [
        "CUSTODIAN_DB",
        "CUSTODIAN_READ_ONLY",
        "CUSTODIAN_TENANT",
        "NO_COLOR",
        "PGPASSWORD",
        "PGPASSFILE",
        "SSH_CONNECTION",
        "LOGNAME",
    ] {
        command.env_remove(key);
    }
    command.env("HOME", home.path("home"));
    command.env("XDG_DATA_HOME", home.path("data"));
    command.env("XDG_STATE_HOME", home.path("state"));
    command.env("USER", "tester");
    command.env("TERM", "xterm-256color");
    Tui::spawn(command, 120, 40)
}

/// Waits for the first screen: three users, alice selected and her customData shown.
fn wait_for_list(tui: &mut Tui) {
    // The tenant named, on the title (two windows on two tenants looked the same: bb53 F3).
    tui.wait_text("Users · 3 · tenant default ─");
    tui.wait_text("tenant \"default\" · role \"logto_tenant_logto_default\" · Logto's database postgres://");
    tui.wait_text("customData · revision 1");
}

/// custodian on the tenant `default` with alice's customData (revision 1) in the editor.
fn editing_alice(home: &PrivateHome, db: &LogtoDb) -> Tui {
    let mut tui = spawn(home, db, &[]);
    wait_for_list(&mut tui);
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
    tui
}

fn quit(tui: &mut Tui) {
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
}

fn stored_custom_data(db: &LogtoDb, id: &str) -> serde_json::Value {
    serde_json::from_str(&db.stored_text(id)).expect("jsonb text")
}

/// custodian's history rows of a user: (revision, saved_by), oldest first.
fn history_rows(db: &LogtoDb, id: &str) -> Vec<(i64, String)> {
    db.superuser()
        .query(
            "select revision, saved_by from custodian.history where user_id = $1 order by revision",
            &[&id],
        )
        .expect("history rows")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// The row of the screen a text is on (the first such row).
fn row_of(rows: &[String], text: &str) -> Option<usize> {
    rows.iter().position(|row| row.contains(text))
}

#[test]
fn the_binary_lists_the_tenants_users_in_list_order_and_no_other_tenants() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    // As the tenant's role, and as the superuser, who would see every tenant's rows:
    // custodian switches to the tenant's role and names the tenant in every statement.
    for url in [db.tenant_url("default"), db.superuser_url()] {
        let mut tui = spawn_on(&home, &url, &[]);
        shows_only_the_default_tenant_in_list_order(&mut tui);
    }
}

fn shows_only_the_default_tenant_in_list_order(tui: &mut Tui) {
    wait_for_list(tui);
    tui.wait_text("carol@example.net");
    let rows = tui.rows();
    let at = |text| {
        row_of(&rows, text).unwrap_or_else(|| panic!("{text} not on screen:\n{}", framed(&tui.text())))
    };
    assert!(
        at("│  alice") < at("│  bob") && at("│  bob") < at("│  carol@example.net"),
        "{}",
        framed(&tui.text())
    );
    let screen = tui.text();
    assert!(
        !screen.contains("amy") && !screen.contains("adm1"),
        "another tenant's user:\n{}",
        framed(&screen)
    );
    // The selected user's pane shows alice's document in jsonb's order (its rows may come
    // after the list's in a frame).
    tui.wait_text("\"lang\": \"en\"");
    quit(tui);
}

#[test]
fn the_binary_filters_by_prefix_and_by_a_substring_of_custom_data_within_the_tenant() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    // As the tenant's role, and as the superuser, who would see every tenant's rows.
    for url in [db.tenant_url("default"), db.superuser_url()] {
        let mut tui = spawn_on(&home, &url, &[]);
        filters_within_the_default_tenant(&mut tui);
    }
}

fn filters_within_the_default_tenant(tui: &mut Tui) {
    wait_for_list(tui);
    tui.send("/bo");
    tui.wait_text(" /bo▏ · 1 found · tenant default ─");
    // The title comes first in a frame: the rows below it may still be on their way (bob's
    // row was there before the filter, so the wait is for alice's to go).
    tui.wait_for("bob's row alone", |s| s.contains("│  bob") && !s.contains("│  alice"));
    // Not a prefix of anything: only the scan over customData finds it (alice's "dark";
    // amy's "darkest" is another tenant's).
    tui.send([BACKSPACE, BACKSPACE].concat());
    tui.send("ark");
    tui.wait_text(" /ark▏ · 1 found · tenant default ─");
    tui.wait_text("│  alice");
    let screen = tui.text();
    assert!(!screen.contains("amy"), "{}", framed(&screen));
    tui.send(ESC);
    tui.send(ESC);
    tui.wait_text("Users · 3 ");
    quit(tui);
}

#[test]
fn the_binary_saves_an_edit_into_custom_data_with_a_history_row_and_says_whose_key_order() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = editing_alice(&home, &db);
    tui.wait_text("key order is PostgreSQL's");
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"zz\": 1.50,");
    tui.wait_text("· modified");
    tui.wait_text("valid object");
    tui.send(CTRL_S);
    tui.wait_text("saved revision 2");
    tui.wait_text("customData · revision 2");
    quit(&mut tui);
    assert_eq!(
        stored_custom_data(&db, "u1"),
        serde_json::from_str::<serde_json::Value>(r#"{"zz":1.50,"lang":"en","theme":"dark"}"#).unwrap()
    );
    assert_eq!(history_rows(&db, "u1"), vec![(1, "outside custodian".to_owned()), (2, operator())]);
}

#[test]
fn the_binary_saves_nothing_for_a_mere_reordering_and_says_key_order_is_postgresqls() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = editing_alice(&home, &db);
    // jsonb shows {"lang", "theme"}: move "lang" after "theme".
    tui.send([DOWN, HOME, CTRL_K].concat());
    tui.send([DOWN, END].concat());
    tui.send(",");
    tui.send(ENTER);
    tui.send("\"lang\": \"en\"");
    tui.wait_text("· modified");
    tui.wait_text("valid object");
    tui.send(CTRL_S);
    tui.wait_text("key order is PostgreSQL's  ·  no changes: only the key order differs");
    assert!(history_rows(&db, "u1").is_empty(), "nothing written");
}

#[test]
fn the_binary_shows_the_history_and_restores_an_old_revision_as_a_new_one() {
    let db = logto_for_the_terminal();
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
    store.custom_data("u2").expect("read bob");
    let light = custodian::domain::CustomData::parse(r#"{"theme":"light"}"#).expect("valid");
    store
        .replace_custom_data("u2", &light, Some(1), &custodian::store::Author("someone".into()))
        .expect("save");
    drop(store);
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &[]);
    wait_for_list(&mut tui);
    tui.send(DOWN);
    tui.wait_text("customData · revision 2");
    tui.send("h");
    tui.wait_text("History of bob");
    tui.wait_text("This is the current revision");
    tui.send(UP);
    tui.wait_text("Restoring revision 1 would change");
    tui.wait_text("+ {}");
    tui.send(ENTER);
    tui.wait_text("revision 1 is in the editor");
    tui.send(CTRL_S);
    // Restoring {} over {"theme": "light"} empties the document: asked first.
    tui.wait_text("y yes · Enter/n/Esc no");
    tui.send("y");
    tui.wait_text("saved revision 3");
    quit(&mut tui);
    assert_eq!(stored_custom_data(&db, "u2"), serde_json::json!({}));
    assert_eq!(
        history_rows(&db, "u2"),
        vec![(1, "outside custodian".to_owned()), (2, "someone".to_owned()), (3, operator())]
    );
}

#[test]
fn the_binary_with_read_only_refuses_to_edit_or_restore_and_writes_nothing() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &["--read-only"]);
    wait_for_list(&mut tui);
    tui.wait_text("[read-only]");
    tui.send(ENTER);
    tui.wait_text("read-only: the database was opened read-only (--read-only or CUSTODIAN_READ_ONLY)");
    assert!(!tui.text().contains("Editing customData"), "{}", framed(&tui.text()));
    quit(&mut tui);
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"theme": "dark", "lang": "en"}));
    assert!(history_rows(&db, "u1").is_empty());
}

/// A server that takes no writes (a hot standby, `default_transaction_read_only`) is a
/// read-only screen, as `--read-only` is: the editor opened there, took the operator's typing
/// and then refused the save (bb53 F4 left it so).
#[test]
fn the_binary_on_a_server_that_takes_no_writes_opens_no_editor_and_says_why() {
    let db = logto_for_the_terminal();
    db.superuser()
        .batch_execute(&format!("alter database {} set default_transaction_read_only = on", db.name))
        .expect("a server that takes no writes");
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &[]);
    tui.wait_text("Users · 3 · tenant default ─");
    tui.wait_text("[read-only]");
    let why = "read-only: the server takes no writes (a hot standby, or default_transaction_read_only is on)";
    for key in [ENTER, b"e", b"E"] {
        tui.send(key);
        tui.wait_text(why);
        // What would be typed and saved, had an editor opened; then the help opened and
        // closed shows every key was read (and took the message away).
        tui.send("x");
        tui.send(CTRL_S);
        tui.send("\x1bOP");
        tui.wait_text("Keys · ");
        tui.send("\x1bOP");
        tui.wait_gone("Keys · ");
        tui.wait_gone(why);
        assert!(!tui.text().contains("Editing customData"), "{key:?}: {}", framed(&tui.text()));
    }
    quit(&mut tui);
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"theme": "dark", "lang": "en"}));
}

#[test]
fn the_binary_refuses_a_save_over_an_outside_update_and_keeps_the_edit() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = editing_alice(&home, &db);
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"mine\": true,");
    tui.wait_text("valid object");
    db.superuser()
        .execute(r#"update users set custom_data = '{"theirs":true}' where id = 'u1'"#, &[])
        .expect("an outside UPDATE");
    tui.send(CTRL_S);
    tui.wait_text("Conflict");
    tui.wait_text("customData was written outside custodian meanwhile. Nothing was written.");
    tui.wait_text("+   \"mine\": true,");
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"theirs": true}));
    assert!(history_rows(&db, "u1").is_empty(), "nothing written");
}

#[test]
fn a_save_that_removes_a_key_after_an_outside_update_shows_the_conflict_without_asking_about_the_old_keys() {
    // bb11 G16: "Remove keys? … − lang" was asked about the document the edit began from,
    // though psql had written another one; `y` then met the conflict view.
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = editing_alice(&home, &db);
    tui.send([DOWN, HOME, CTRL_K].concat());
    tui.wait_gone("\"lang\"");
    tui.wait_text("valid object");
    db.superuser()
        .execute(r#"update users set custom_data = '{"viasql":100}' where id = 'u1'"#, &[])
        .expect("an outside UPDATE");
    tui.send(CTRL_S);
    tui.wait_text("customData was written outside custodian meanwhile. Nothing was written.");
    tui.wait_text("+   \"theme\": \"dark\"");
    let drawn = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(!drawn.contains("Remove keys"), "asked about the old document's keys first");
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"viasql": 100}));
    assert!(history_rows(&db, "u1").is_empty(), "nothing written");
}

#[test]
fn the_binary_labels_an_estimated_user_count_with_a_tilde() {
    let db = logto_for_the_terminal();
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, created_at, updated_at) \
             select 'default', 'g' || lpad(i::text, 9, '0'), 'gen' || i, now(), now() from generate_series(1, 20000) i",
            &[],
        )
        .expect("bulk insert");
    db.superuser().batch_execute("analyze users").expect("analyze");
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &[]);
    tui.wait_for("an estimated count in the list's title", |screen| {
        screen.lines().next().is_some_and(|top| top.contains("Users · ~") && !top.contains("Users · ~0"))
    });
    quit(&mut tui);
}

/// How custodian names the operator of these runs: the account running the tests, with the
/// `USER=tester` the tests give it kept as a claim when the account is another.
fn operator() -> String {
    custodian::store::Author::describe_for_tests("tester")
}

fn type_into_editor(screen: &mut Screen, text: &str) {
    for c in text.chars() {
        screen.act(Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
}

fn status(screen: &Screen) -> String {
    screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

fn editor_text(screen: &Screen) -> String {
    screen.state.editor.as_ref().expect("the editor is open").textarea.lines().join("\n")
}

/// Ends the sessions named `application_name` from the superuser, and waits until they are gone.
fn terminate(db: &LogtoDb, application_name: &str) {
    let mut admin = db.server.superuser("postgres");
    admin
        .execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
            &[&application_name],
        )
        .expect("pg_terminate_backend");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while admin
        .query_one("select count(*) from pg_stat_activity where application_name = $1", &[&application_name])
        .expect("pg_stat_activity")
        .get::<_, i64>(0)
        > 0
    {
        assert!(std::time::Instant::now() < deadline, "the session did not end");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A screen whose session is named (for [`terminate`]), with `"mine": 1` typed into alice's
/// customData; the session's name and the screen.
fn alice_edited_by_a_named_session(db: &LogtoDb) -> (String, Screen) {
    let name = format!("screen-{}", db.name);
    let mut screen = Screen::open_url(&format!("{}&application_name={name}", db.tenant_url("default")));
    screen.act(Action::OpenEditor);
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    type_into_editor(&mut screen, "\"mine\": 1,");
    (name, screen)
}

#[test]
fn a_lost_connection_is_said_until_reconnect_keeps_the_edit_and_the_save_works_after() {
    let db = logto();
    let (name, mut screen) = alice_edited_by_a_named_session(&db);
    terminate(&db, &name);
    screen.act(Action::Save);
    assert!(screen.state.connection_lost.is_some(), "{}", status(&screen));
    assert!(status(&screen).contains("the save did not happen"), "{}", status(&screen));
    assert!(editor_text(&screen).contains("\"mine\": 1"), "the edit stays in the editor");
    assert!(screen.state.editor.as_ref().is_some_and(|e| e.is_modified()));
    // Typing goes on; a second save still finds the connection gone.
    type_into_editor(&mut screen, "\"more\": 2,");
    screen.act(Action::Save);
    assert!(screen.state.connection_lost.is_some());
    screen.act(Action::Reconnect);
    assert!(screen.state.connection_lost.is_none(), "{}", status(&screen));
    assert!(status(&screen).contains("reconnected"), "{}", status(&screen));
    assert!(editor_text(&screen).contains("\"more\": 2"), "the edit survived the reconnect");
    screen.act(Action::Save);
    assert!(screen.state.editor.is_none(), "saved: {}", status(&screen));
    let stored = screen.store.custom_data("u1").expect("read");
    assert_eq!(stored.revision, 2);
    assert!(stored.text.contains("\"mine\"") && stored.text.contains("\"more\""), "{}", stored.text);
}

/// bb59 F2: after the server ended the screen's session (a restart, a failover), the first `r`
/// in the list only found the connection lost and a second one reconnected: one `r` does both
/// now, and the list is read again.
#[test]
fn one_r_in_the_list_after_the_server_ended_the_session_reconnects_and_reads_the_list() {
    let db = logto();
    let name = format!("list-{}", db.name);
    let mut screen = Screen::open_url(&format!("{}&application_name={name}", db.tenant_url("default")));
    let rows = screen.state.list.rows.len();
    assert!(rows > 0);
    terminate(&db, &name);
    screen.act(Action::Refresh);
    assert!(screen.state.connection_lost.is_none(), "one r: {}", status(&screen));
    assert!(status(&screen).contains("reconnected"), "{}", status(&screen));
    assert_eq!(screen.state.list.rows.len(), rows, "the list read again");
    // A server still gone: the reconnect's failure is said, and `r` waits for the operator.
    terminate(&db, &name);
    let connections = |allowed: bool| {
        let sql = format!("alter database {} with allow_connections {allowed}", db.name);
        db.server.superuser("postgres").batch_execute(&sql).expect("alter database");
    };
    connections(false);
    screen.act(Action::Refresh);
    assert!(screen.state.connection_lost.is_some(), "{}", status(&screen));
    connections(true);
    screen.act(Action::Refresh);
    assert!(screen.state.connection_lost.is_none(), "{}", status(&screen));
}

/// The server stops taking writes while an edit is open (here `default_transaction_read_only`
/// set for the database and the session ended, as a failover to a standby ends it): the
/// reconnect finds it read-only and the screen is, the edit stays, a save is refused before it
/// is sent, and once the server takes writes again `r` turns editing back on and the edit saves
/// (bb57 F4: `e` went on opening editors, the refusals advised `init`).
#[test]
fn a_server_that_stops_taking_writes_mid_edit_makes_the_screen_read_only_until_it_takes_them_again() {
    use custodian::tui::app::ReadOnly;
    let db = logto();
    let (name, mut screen) = alice_edited_by_a_named_session(&db);
    let read_only = |on: &str| format!("alter database {} set default_transaction_read_only = {on}", db.name);
    db.superuser().batch_execute(&read_only("on")).expect("a server that takes no writes");
    terminate(&db, &name);
    screen.act(Action::Save);
    assert!(screen.state.connection_lost.is_some(), "{}", status(&screen));
    screen.act(Action::Reconnect);
    assert_eq!(screen.state.read_only, Some(ReadOnly::Server), "{}", status(&screen));
    assert!(
        status(&screen).starts_with("reconnected, to a server that takes no writes"),
        "{}",
        status(&screen)
    );
    screen.act(Action::Save);
    assert!(
        status(&screen).starts_with("not saved: read-only: the server takes no writes"),
        "{}",
        status(&screen)
    );
    assert!(editor_text(&screen).contains("\"mine\": 1"), "the edit stays");
    // Still read-only: looked again, and said so.
    screen.act(Action::Reconnect);
    assert!(status(&screen).starts_with("still read-only"), "{}", status(&screen));
    // From another database: a session on this one takes no writes, ALTER DATABASE included.
    db.server.superuser("postgres").batch_execute(&read_only("off")).expect("writes again");
    screen.act(Action::Reconnect);
    assert_eq!(screen.state.read_only, None, "{}", status(&screen));
    assert!(status(&screen).contains("editing is on"), "{}", status(&screen));
    screen.act(Action::Save);
    assert!(screen.state.editor.is_none(), "saved: {}", status(&screen));
    let stored = screen.store.custom_data("u1").expect("read");
    assert!(stored.text.contains("\"mine\""), "{}", stored.text);
}

#[test]
fn a_save_of_unknown_outcome_keeps_the_edit_and_reconnecting_says_whether_it_did_commit() {
    let db = logto();
    for committed in [false, true] {
        let mut screen = Screen::open(&db);
        screen.act(Action::OpenEditor);
        let revision = screen.state.editor.as_ref().expect("editor").base.revision;
        screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
        type_into_editor(&mut screen, &format!("\"committed_{committed}\": 1,"));
        let data = screen.state.editor.as_ref().expect("editor").validation.clone().expect("valid");
        if committed {
            // What the server did with the COMMIT that got no answer: it committed it.
            screen
                .store
                .replace_custom_data("u1", &data, Some(revision), &Author("tester".into()))
                .expect("save");
        }
        // What the runtime answers when the connection goes during the COMMIT.
        let message = "postgres://…: the connection was lost while the save was committing".to_owned();
        screen.act(Action::SaveOutcomeUnknown { id: "u1".into(), data, revision: revision + 1, message });
        assert!(status(&screen).contains(&format!("may have become revision {}", revision + 1)));
        assert!(screen.state.editor.is_some(), "never reported as saved");
        // No second save while the first is in doubt (it would conflict with our own).
        screen.act(Action::Save);
        assert!(
            status(&screen).starts_with("not saved: custodian must first find out"),
            "{}",
            status(&screen)
        );
        screen.act(Action::Reconnect);
        assert!(screen.state.unresolved_save.is_none());
        if committed {
            assert_eq!(status(&screen), format!("the save did commit as revision {}", revision + 1));
            assert!(screen.state.editor.is_none());
        } else {
            assert_eq!(
                status(&screen),
                "the save did not happen — your edit is still here (Ctrl-S saves it)"
            );
            assert!(editor_text(&screen).contains("\"committed_false\": 1"));
            screen.act(Action::Save);
            assert!(screen.state.editor.is_none(), "{}", status(&screen));
        }
    }
    assert!(db.stored_text("u1").contains("\"committed_true\": 1"));
}

#[test]
fn a_statement_timeout_is_one_short_line_on_the_status_line_and_the_edit_stays() {
    let db = logto();
    let options =
        PostgresOptions { statement_timeout: std::time::Duration::from_millis(500), ..Default::default() };
    let store = PostgresStore::connect(&db.tenant_url("default"), &options).expect("connect");
    let drafts = TempDir::new().expect("drafts dir");
    let mut screen = Screen { state: State::new(120, 40, false), store, drafts };
    let effects = screen.state.start();
    screen.run(effects);
    screen.act(Action::OpenEditor);
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    type_into_editor(&mut screen, "\"late\": 1,");
    // Another session holds the row longer than the statement may wait.
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where id = 'u1' for update", &[]).expect("lock the row");
    screen.act(Action::Save);
    holding.rollback().expect("release the row");
    assert_eq!(
        status(&screen),
        "the server did not answer within 1 s (statement_timeout); nothing was changed, try again"
    );
    assert!(screen.state.connection_lost.is_none(), "the session lives on");
    assert!(editor_text(&screen).contains("\"late\": 1"));
    screen.act(Action::Save);
    assert!(screen.state.editor.is_none(), "saved once the row is free: {}", status(&screen));
}

#[test]
fn an_outside_custom_data_write_to_a_user_custodian_never_saved_is_said_as_such() {
    let db = logto();
    let mut screen = Screen::open(&db);
    screen.act(Action::OpenEditor);
    let id = screen.state.editor.as_ref().expect("editor").user_id.clone();
    // Custodian has no history row for them: the revision is 1 before and after.
    db.superuser()
        .execute("update users set custom_data = '{\"logto\": 1}' where id = $1", &[&id])
        .expect("outside write");
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    for c in "\"mine\": 1,".chars() {
        screen.act(Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
    screen.act(Action::Save);
    assert_eq!(screen.state.mode(), Mode::Conflict);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(
        status,
        "conflict: customData was changed outside custodian since you opened revision 1; nothing was written"
    );
    // (Read as theirs: a plain read would be what the screen's next save is held to.)
    assert!(screen.store.theirs(&id).expect("read").text.contains("logto"), "theirs kept");
    // Back to editing and saving again is the same conflict: reading theirs for the dialog
    // did not make theirs the document the edit started from.
    screen.act(Action::Cancel);
    assert_eq!(screen.state.mode(), Mode::Edit);
    screen.act(Action::Save);
    assert_eq!(screen.state.mode(), Mode::Conflict, "{:?}", screen.state.status);
    let stored = screen.store.theirs(&id).expect("read").text;
    assert!(stored.contains("logto") && !stored.contains("mine"), "theirs kept: {stored}");
    // Overwriting on purpose writes mine, after a question that says what it replaces: it
    // named "revision 1, saved since you opened this edit", the edit's own (bb33 F2).
    screen.act(Action::OverwriteTheirs);
    let drawn = drawn_words(&screen);
    // (Words at a row's end may meet the pane behind the dialog: checked in two pieces.)
    assert!(drawn.contains("customData was written outside custodian since you opened this edit"), "{drawn}");
    assert!(drawn.contains("called revision 1 what it holds now is replaced by yours"), "{drawn}");
    assert!(!drawn.contains("saved since you opened"), "{drawn}");
    screen.act(Action::Confirm);
    let stored = screen.store.theirs(&id).expect("read").text;
    assert!(stored.contains("mine") && !stored.contains("logto"), "{stored} {:?}", screen.state.status);
}

#[test]
fn a_jump_to_a_user_logto_created_after_the_last_key_sync_selects_that_user() {
    // The list's keys did not have them yet: `:user` said "user newcomer" and selected the
    // user sorting where they would be, and `e` edited that one.
    let db = logto();
    let mut screen = Screen::open_keyed(&db);
    assert!(screen.store.uses_key_table());
    db.insert_json("default", r#"[{"id":"n1","username":"bobby","customData":{"new":true}}]"#);
    screen.command("user id:n1");
    let selected = screen.state.list.selected_entry().expect("a selection").user.id.clone();
    assert_eq!(selected, "n1");
    assert_eq!(screen.state.user.as_ref().expect("the profile").user.id, "n1");
    assert!(screen.state.document.as_ref().expect("their customData").text.contains("\"new\""));
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(status, "user bobby");
}

/// An outside write that only writes a number another way (`1.5` → `1.5000`) is a revision of
/// its own as the user is read, where the list's cheaper compare (jsonb's `=`) counts one
/// fewer: `r` said "bob: revision 3 → 2", a revert no one made (bb27 Q07).
#[test]
fn a_refresh_never_says_a_revision_went_back() {
    let db = logto();
    let mut screen = Screen::open(&db);
    let author = custodian::store::Author("tester".into());
    let data = custodian::domain::CustomData::parse(r#"{"p": 1.5}"#).expect("a document");
    screen.store.replace_custom_data("u2", &data, None, &author).expect("saved");
    db.superuser()
        .execute(
            "update users set custom_data = jsonb_set(custom_data, '{p}', '1.5000'::jsonb) where id = 'u2'",
            &[],
        )
        .expect("SQL");
    screen.command("user bob");
    let read = screen.state.user.as_ref().expect("bob").revision;
    screen.act(Action::Refresh);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("refreshed"), "{status}");
    assert!(!status.contains('→'), "read at revision {read}: {status}");
    assert_eq!(screen.state.user.as_ref().expect("bob").revision, read, "the profile keeps what was read");
}

/// The screen on bob, whose customData SQL made the string `"oops"`.
fn on_bob_whose_custom_data_sql_made_a_string(db: &LogtoDb) -> Screen {
    db.superuser().execute("update users set custom_data = '\"oops\"' where id = 'u2'", &[]).expect("SQL");
    let mut screen = Screen::open(db);
    screen.command("user bob");
    screen
}

/// The editor's whole text replaced by an object, then Ctrl-S.
fn mend_and_save(screen: &mut Screen) {
    let editor = screen.state.editor.as_mut().expect("editor");
    editor.textarea.select_all();
    editor.textarea.cut();
    for c in "{\"mended\": true}".chars() {
        screen.act(Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
    screen.act(Action::Save);
}

#[test]
fn a_user_whose_custom_data_sql_made_no_object_is_shown_as_its_text_and_mended_from_the_editor() {
    // The profile stayed empty (reading the document failed), so `h` said "no user selected"
    // and `e` repeated the error: the screen could not reach that user at all.
    let db = logto();
    let mut screen = on_bob_whose_custom_data_sql_made_a_string(&db);
    assert_eq!(screen.state.user.as_ref().expect("the profile").user.id, "u2");
    assert_eq!(screen.state.document.as_ref().expect("the document").text, "\"oops\"");
    screen.act(Action::OpenHistory);
    assert!(screen.state.history.is_some(), "h opens the history");
    screen.press(crossterm::event::KeyCode::Esc);
    assert_eq!(screen.state.mode(), Mode::Browse);
    screen.act(Action::OpenEditor);
    assert_eq!(screen.state.mode(), Mode::Edit);
    mend_and_save(&mut screen);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.starts_with("saved revision"), "{status}");
    assert!(screen.store.custom_data("u2").expect("an object now").text.contains("mended"));
}

/// An outside write that makes the customData no object while the operator edits is a conflict
/// like any other: the conflict view (theirs → mine, `o` to overwrite on purpose), nothing
/// written. It said "database error: … `custodian set` replaces it" at every Ctrl-S (bb27 Q04).
#[test]
fn an_outside_write_that_makes_the_custom_data_no_object_while_editing_is_a_conflict() {
    for written in ["null", "[\"arr\"]", "\"other string\""] {
        let db = logto();
        let mut screen = Screen::open(&db);
        screen.command("user bob");
        screen.act(Action::OpenEditor);
        assert_eq!(screen.state.mode(), Mode::Edit);
        db.superuser()
            .execute(&format!("update users set custom_data = '{written}' where id = 'u2'"), &[])
            .expect("SQL");
        mend_and_save(&mut screen);
        let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert_eq!(screen.state.mode(), Mode::Conflict, "{written}: {status}");
        assert!(status.starts_with("conflict:"), "{written}: {status}");
        assert_eq!(db.stored_text("u2"), written.replace(',', ", "), "nothing written");
        // Overwriting theirs on purpose mends it.
        screen.act(Action::OverwriteTheirs);
        if screen.state.dialog.is_some() {
            screen.act(Action::Confirm);
        }
        let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.starts_with("saved revision"), "{written}: {status}");
        assert_eq!(stored_custom_data(&db, "u2"), serde_json::json!({"mended": true}));
    }
}

#[test]
fn mending_a_custom_data_sql_made_no_object_is_still_refused_over_a_later_outside_write() {
    let db = logto();
    let mut screen = on_bob_whose_custom_data_sql_made_a_string(&db);
    screen.act(Action::OpenEditor);
    assert_eq!(screen.state.mode(), Mode::Edit);
    // Logto (or psql) writes again while the operator mends it.
    db.superuser().execute("update users set custom_data = '[1, 2]' where id = 'u2'", &[]).expect("SQL");
    mend_and_save(&mut screen);
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(!status.starts_with("saved"), "{status}");
    // The conflict view, as over any outside write: it was "database error" (bb27 Q04).
    assert_eq!(screen.state.mode(), Mode::Conflict, "{status}");
    assert_eq!(db.stored_text("u2"), "[1, 2]", "the later outside write is not overwritten");
}

/// bb33 F1: a draft whose edit PostgreSQL already stores — its save committed and the answer
/// was lost, then custodian was killed — in the operator's key order and number spelling,
/// which jsonb keeps its own way (shorter keys first, `1e2` as `100`). It was reopened as an
/// unsaved edit whose save showed the operator's own revision as someone's, "(no
/// difference)"; now it is said stored and removed, as on a file.
#[test]
fn a_draft_that_jsonb_stores_in_its_own_key_order_and_spelling_is_said_stored() {
    let db = logto();
    let mut screen = Screen::open(&db);
    let base = screen.store.custom_data("u3").expect("carol's document");
    let mine = "{\n  \"a\": 1,\n  \"zzz_new\": 2,\n  \"c\": 3,\n  \"n\": 1e2\n}";
    let saved = custodian::domain::CustomData::parse(mine).expect("valid");
    let author = custodian::store::Author("tester".into());
    screen
        .store
        .replace_custom_data("u3", &saved, Some(base.revision), &author)
        .expect("the save that committed");
    let stored = screen.store.custom_data("u3").expect("read back").text;
    assert!(!stored.contains("1e2") && stored.find("\"c\"") < stored.find("\"zzz_new\""), "{stored}");
    let edit = custodian::draft::EditSnapshot {
        user_id: "u3".into(),
        user_handle: "carol@example.net".into(),
        session: "1-0000aaaa-1".into(),
        base_revision: base.revision,
        base_digest: custodian::draft::digest(&base.text),
        text: mine.into(),
        written_at: None,
    };
    let draft = custodian::draft::Draft::new(
        custodian::draft::DraftKind::Draft,
        &screen.store.draft_identity(),
        edit,
        custodian::domain::time::now_ms(),
    );
    let drafts = Drafts::at(screen.drafts.path().join("drafts"));
    drafts.save(&draft).expect("the draft on disk");
    screen.act(Action::DraftsFound { drafts: vec![draft], not_offered: Vec::new(), in_use: Vec::new() });
    screen.act(Action::OpenDraft);
    assert!(screen.state.editor.is_none(), "reopened as an unsaved edit");
    let status = screen.state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        status.starts_with("the edit in the draft of carol@example.net is stored already, as revision 2"),
        "{status}"
    );
    assert!(drafts.for_database(&screen.store.draft_identity()).drafts.is_empty(), "the draft is removed");
    // Another order of the same keys is no edit on PostgreSQL, but another value is.
    let changed = mine.replace("\"c\": 3", "\"c\": 4");
    let doc = custodian::domain::CustomData::parse(&changed).expect("valid");
    assert_ne!(
        screen.store.as_stored(&doc).expect("jsonb's form"),
        screen.store.as_stored(&saved).expect("jsonb's form")
    );
}
