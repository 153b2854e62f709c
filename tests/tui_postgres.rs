//! The TUI's decisions on Logto's PostgreSQL database, without a terminal: the same update
//! loop as tests/tui_update.rs, with its store work run against a PostgresStore.

mod support;

use custodian::draft::Drafts;
use custodian::store::{Author, PostgresOptions, PostgresStore, UserStore};
use custodian::tui::app::{Action, Mode, State, update};
use custodian::tui::{Runtime, run_effects};
use ratatui_textarea::{CursorMove, Input, Key};
use support::postgres::{LogtoDb, LogtoUser};
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
        let options = PostgresOptions::default();
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

#[test]
fn a_lost_connection_is_said_until_reconnect_keeps_the_edit_and_the_save_works_after() {
    let db = logto();
    let name = format!("screen-{}", db.name);
    let mut screen = Screen::open_url(&format!("{}&application_name={name}", db.tenant_url("default")));
    screen.act(Action::OpenEditor);
    screen.state.editor.as_mut().expect("editor").textarea.move_cursor(CursorMove::Jump(0, 1));
    type_into_editor(&mut screen, "\"mine\": 1,");
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
        assert!(
            status(&screen).contains(&format!("not known yet whether it became revision {}", revision + 1))
        );
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
    assert!(
        db.superuser()
            .query_one("select custom_data::text from users where id = 'u1'", &[])
            .expect("read")
            .get::<_, String>(0)
            .contains("\"committed_true\": 1")
    );
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
