//! The life of a PostgreSQL connection (issue 15, "bad connections"): the server ending the
//! session between two calls and in the middle of a save, reconnecting with the same
//! settings, a save whose COMMIT got no answer found out afterwards, the statement timeout,
//! and a filter scan cancelled on the server. Sessions are ended for real, from the
//! superuser, with `pg_terminate_backend`, found by their `application_name`.

mod support;

use std::time::{Duration, Instant};

use custodian::domain::CustomData;
use custodian::store::{Author, PostgresOptions, PostgresStore, SaveOutcome, StoreError, UserStore};
use support::postgres::LogtoDb;

const PEOPLE: &str = r#"[
{"id":"u1","username":"alice","customData":{"theme":"dark"}},
{"id":"u2","username":"bob","customData":{}}
]"#;

fn logto() -> LogtoDb {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", PEOPLE);
    db
}

fn author() -> Author {
    Author("editor".into())
}

fn data(text: &str) -> CustomData {
    CustomData::parse(text).expect("valid test document")
}

/// A name no other session of the cluster has: the database's own.
fn application(db: &LogtoDb, what: &str) -> String {
    format!("{what}-{}", db.name)
}

fn connect(db: &LogtoDb, application_name: &str, statement_timeout: Option<Duration>) -> PostgresStore {
    let url = format!("{}&application_name={application_name}", db.tenant_url("default"));
    let mut options = PostgresOptions::default();
    if let Some(timeout) = statement_timeout {
        options.statement_timeout = timeout;
    }
    PostgresStore::connect(&url, &options).expect("connect as the tenant role")
}

/// Waits until `check` holds, up to 20 s; fails naming `what`.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The server processes of the sessions named `application_name` (and waiting on
/// `wait_event`, when given).
fn sessions(db: &LogtoDb, application_name: &str, wait_event: Option<&str>) -> Vec<i32> {
    db.server
        .superuser("postgres")
        .query(
            "select pid from pg_stat_activity where application_name = $1 and ($2::text is null or wait_event = $2)",
            &[&application_name, &wait_event],
        )
        .expect("pg_stat_activity")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Ends every session named `application_name`, as an administrator (or a failover) would,
/// and waits until they are gone.
fn terminate(db: &LogtoDb, application_name: &str) {
    let ended: Vec<bool> = db
        .server
        .superuser("postgres")
        .query(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
            &[&application_name],
        )
        .expect("pg_terminate_backend")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(!ended.is_empty() && ended.iter().all(|e| *e), "no session {application_name} to end");
    wait_until("the ended sessions to go", || sessions(db, application_name, None).is_empty());
}

#[test]
fn a_session_the_server_ends_is_connection_lost_until_reconnect_and_then_everything_works() {
    let db = logto();
    let name = application(&db, "lost");
    let store = connect(&db, &name, None);
    assert_eq!(store.custom_data("u1").expect("read").revision, 1);
    terminate(&db, &name);
    let error = store.count().expect_err("the session is gone");
    assert!(matches!(error, StoreError::ConnectionLost { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("connection lost") && !message.contains('\n'), "{message}");
    let (_, password) = db.tenant_role("default");
    assert!(!message.contains(&password), "{message}");
    // No silent reconnect: every call says so until the store is told to reconnect.
    assert!(matches!(store.user("u1"), Err(StoreError::ConnectionLost { .. })));
    store.reconnect().expect("reconnect");
    assert_eq!(sessions(&db, &name, None).len(), 1, "one new session with the same settings");
    // The same role (row-level security), tenant and conflict checks as before.
    assert_eq!(store.count().expect("count"), 2);
    let saved = store.replace_custom_data("u1", &data(r#"{"theme":"light"}"#), Some(1), &author());
    assert_eq!(saved.expect("save after reconnecting").revision(), 2);
    // A reconnect of a connection that is fine changes nothing.
    let pid = sessions(&db, &name, None);
    store.reconnect().expect("reconnect again");
    assert_eq!(sessions(&db, &name, None), pid);
}

#[test]
fn a_save_cut_off_before_its_commit_says_it_did_not_happen_and_nothing_was_written() {
    let db = logto();
    let name = application(&db, "cut");
    let store = connect(&db, &name, None);
    // Another session holds the row: the save waits for it (up to the 3 s lock timeout),
    // and the server ends the saving session while it waits.
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where id = 'u1' for update", &[]).expect("lock the row");
    let error = std::thread::scope(|scope| {
        let save =
            scope.spawn(|| store.replace_custom_data("u1", &data(r#"{"theme":"mine"}"#), Some(1), &author()));
        wait_until("the save to wait for the row", || {
            !sessions(&db, &name, Some("transactionid")).is_empty()
        });
        terminate(&db, &name);
        save.join().expect("the save thread").expect_err("the session went")
    });
    holding.rollback().expect("release the row");
    assert!(matches!(error, StoreError::ConnectionLost { .. }), "{error:?}");
    assert!(error.to_string().contains("the save did not happen"), "{error}");
    store.reconnect().expect("reconnect");
    let stored = store.custom_data("u1").expect("read");
    assert_eq!((stored.revision, stored.text.contains("dark")), (1, true), "{stored:?}");
    assert!(!store.save_landed("u1", &data(r#"{"theme":"mine"}"#), 2).expect("look"));
}

/// Makes COMMIT wait for a synchronous standby that never comes, in this test's database
/// only (`synchronous_commit` is off for the cluster, on for this database): the commit is
/// written locally and then no answer comes — the case of a server or network gone after the
/// COMMIT was sent. Undone on drop.
struct CommitWithoutAnswer<'a> {
    db: &'a LogtoDb,
}

impl<'a> CommitWithoutAnswer<'a> {
    fn new(db: &'a LogtoDb) -> Self {
        let mut admin = db.server.superuser("postgres");
        // One statement at a time: ALTER SYSTEM refuses to run inside a transaction block.
        for statement in [
            "alter system set synchronous_standby_names = 'custodian_nobody'".to_owned(),
            "select pg_reload_conf()".to_owned(),
            format!("alter database {} set synchronous_commit = on", db.name),
        ] {
            admin.batch_execute(&statement).unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        Self { db }
    }
}

impl Drop for CommitWithoutAnswer<'_> {
    fn drop(&mut self) {
        let mut admin = self.db.server.superuser("postgres");
        for statement in [
            format!("alter database {} reset synchronous_commit", self.db.name),
            "alter system reset synchronous_standby_names".to_owned(),
            "select pg_reload_conf()".to_owned(),
        ] {
            if let Err(e) = admin.batch_execute(&statement) {
                eprintln!("{statement}: {e}");
            }
        }
    }
}

/// Saves `u1` with documents `{"n": 1}`, `{"n": 2}`, … until one save's COMMIT waits for the
/// standby (the server reloads its settings in its own time; a save before that commits at
/// once), ends that session, and returns the document and what the save said.
fn save_while_the_commit_gets_no_answer(
    db: &LogtoDb,
    store: &PostgresStore,
    name: &str,
) -> (CustomData, Result<SaveOutcome, StoreError>) {
    for attempt in 1..=100 {
        let document = data(&format!(r#"{{"n":{attempt}}}"#));
        let expected = store.custom_data("u1").expect("read").revision;
        let answer = std::thread::scope(|scope| {
            let save = scope.spawn(|| store.replace_custom_data("u1", &document, Some(expected), &author()));
            let mut waiting = false;
            wait_until("the save to commit or to wait for the standby", || {
                waiting = !sessions(db, name, Some("SyncRep")).is_empty();
                waiting || save.is_finished()
            });
            if waiting {
                terminate(db, name);
            }
            let answer = save.join().expect("the save thread");
            waiting.then_some(answer)
        });
        match answer {
            Some(answer) => return (document, answer),
            None => continue,
        }
    }
    panic!("no save ever waited for the standby")
}

#[test]
fn a_save_whose_commit_got_no_answer_is_not_reported_and_is_found_committed_after_reconnecting() {
    let db = logto();
    let _standby = CommitWithoutAnswer::new(&db);
    let name = application(&db, "commit");
    let store = connect(&db, &name, None);
    let (document, answer) = save_while_the_commit_gets_no_answer(&db, &store, &name);
    let error = answer.expect_err("never reported as saved");
    let StoreError::SaveOutcomeUnknown { revision, ref user, .. } = error else {
        panic!("not an unknown outcome: {error:?}")
    };
    assert_eq!(user, "u1");
    let message = error.to_string();
    assert!(message.contains("cannot tell") && !message.contains('\n'), "{message}");
    store.reconnect().expect("reconnect");
    // The server did commit it (locally): the lookup says so, for that document only.
    assert!(store.save_landed("u1", &document, revision).expect("look"));
    assert!(!store.save_landed("u1", &data(r#"{"other":true}"#), revision).expect("look"));
    assert!(!store.save_landed("u1", &document, revision + 1).expect("look"));
    assert_eq!(store.custom_data("u1").expect("read").revision, revision);
}

#[test]
fn a_statement_past_statement_timeout_is_one_line_and_the_session_lives_on() {
    let db = logto();
    let name = application(&db, "timeout");
    // Shorter than the 3 s lock timeout, so the statement timeout is what ends the wait.
    let store = connect(&db, &name, Some(Duration::from_millis(500)));
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where id = 'u1' for update", &[]).expect("lock the row");
    let started = Instant::now();
    let error = store.replace_custom_data("u1", &data(r#"{"x":1}"#), Some(1), &author()).expect_err("stuck");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    holding.rollback().expect("release the row");
    assert!(matches!(error, StoreError::TimedOut { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("statement_timeout") && message.contains("nothing was changed"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // The session is fine: the next call works without a reconnect.
    assert_eq!(store.custom_data("u1").expect("read").revision, 1);
}

#[test]
fn a_scan_step_the_next_keystroke_replaced_is_cancelled_on_the_server() {
    let db = logto();
    let name = application(&db, "scan");
    let store = connect(&db, &name, None);
    // Another session holds the whole table: the scan's read waits for it (a server busy
    // with a slow scan, as far as custodian can tell).
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.batch_execute("lock table users in access exclusive mode").expect("lock the table");
    let error = std::thread::scope(|scope| {
        let step = scope.spawn(|| store.scan_matches("ali", None, 5_000, 100));
        wait_until("the scan step to wait", || !sessions(&db, &name, Some("relation")).is_empty());
        store.cancel_running();
        let error = step.join().expect("the scan thread").expect_err("cancelled");
        // The server is no longer working for it.
        assert!(sessions(&db, &name, Some("relation")).is_empty());
        error
    });
    holding.rollback().expect("release the table");
    assert!(matches!(error, StoreError::Cancelled), "{error:?}");
    // The session lives on: the next step runs.
    assert_eq!(store.scan_matches("ali", None, 5_000, 100).expect("scan").hits.len(), 1);
}
