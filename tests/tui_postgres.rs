//! The TUI's decisions on Logto's PostgreSQL database, without a terminal: the same update
//! loop as tests/tui_update.rs, with its store work run against a PostgresStore.

mod support;

use custodian::draft::Drafts;
use custodian::store::{PostgresOptions, PostgresStore, UserStore};
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
