//! The TUI on Logto's PostgreSQL database: its decisions without a terminal (the same update
//! loop as tests/tui_update.rs, with its store work run against a PostgresStore), then the
//! real binary in a pseudo-terminal (`--db postgres://…` as the tenant's own role), checked
//! with SQL.

mod support;

use custodian::draft::Drafts;
use custodian::store::{PostgresOptions, PostgresStore, UserStore};
use custodian::tui::app::{Action, Mode, State, update};
use custodian::tui::{Runtime, run_effects};
use portable_pty::CommandBuilder;
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
        let options = PostgresOptions::default();
        let store = PostgresStore::connect(&db.tenant_url("default"), &options).expect("connect");
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
    tui.wait_text("Users · 3 ");
    tui.wait_text("customData · revision 1");
}

fn quit(tui: &mut Tui) {
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
}

fn stored_custom_data(db: &LogtoDb, id: &str) -> serde_json::Value {
    let text: String = db
        .superuser()
        .query_one("select custom_data::text from users where id = $1", &[&id])
        .expect("the user's row")
        .get(0);
    serde_json::from_str(&text).expect("jsonb text")
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
    // The selected user's pane shows alice's document in jsonb's order.
    assert!(screen.contains("\"lang\": \"en\""), "{}", framed(&screen));
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
    tui.wait_text(" /bo▏ · 1 found ─");
    let screen = tui.text();
    assert!(screen.contains("│  bob") && !screen.contains("│  alice"), "{}", framed(&screen));
    // Not a prefix of anything: only the scan over customData finds it (alice's "dark";
    // amy's "darkest" is another tenant's).
    tui.send([BACKSPACE, BACKSPACE].concat());
    tui.send("ark");
    tui.wait_text(" /ark▏ · 1 found ─");
    let screen = tui.text();
    assert!(screen.contains("│  alice") && !screen.contains("amy"), "{}", framed(&screen));
    tui.send(ESC);
    tui.send(ESC);
    tui.wait_text("Users · 3 ");
    quit(tui);
}

#[test]
fn the_binary_saves_an_edit_into_custom_data_with_a_history_row_and_says_whose_key_order() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &[]);
    wait_for_list(&mut tui);
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
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
    let mut tui = spawn(&home, &db, &[]);
    wait_for_list(&mut tui);
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
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
    tui.wait_text("read-only: the database was opened with --read-only");
    assert!(!tui.text().contains("Editing customData"), "{}", framed(&tui.text()));
    quit(&mut tui);
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"theme": "dark", "lang": "en"}));
    assert!(history_rows(&db, "u1").is_empty());
}

#[test]
fn the_binary_refuses_a_save_over_an_outside_update_and_keeps_the_edit() {
    let db = logto_for_the_terminal();
    let home = PrivateHome::new(&[]);
    let mut tui = spawn(&home, &db, &[]);
    wait_for_list(&mut tui);
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"mine\": true,");
    tui.wait_text("valid object");
    db.superuser()
        .execute(r#"update users set custom_data = '{"theirs":true}' where id = 'u1'"#, &[])
        .expect("an outside UPDATE");
    tui.send(CTRL_S);
    tui.wait_text("Conflict");
    tui.wait_text("Nothing was written");
    tui.wait_text("+   \"mine\": true,");
    assert_eq!(stored_custom_data(&db, "u1"), serde_json::json!({"theirs": true}));
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
