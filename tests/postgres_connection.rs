//! The life of a PostgreSQL connection (issue 15, "bad connections"): the server ending the
//! session between two calls and in the middle of a save, reconnecting with the same
//! settings, a save whose COMMIT got no answer found out afterwards, the statement timeout,
//! and a filter scan cancelled on the server. Sessions are ended for real, from the
//! superuser, with `pg_terminate_backend`, found by their `application_name`, or their link
//! cut or reset by a proxy in between (`support::proxy`).

mod support;

use std::time::{Duration, Instant};

use custodian::domain::CustomData;
use custodian::store::{Author, PostgresOptions, PostgresStore, SaveOutcome, StoreError, UserStore};
use support::home::PrivateHome;
use support::postgres::{ALICE_AND_BOB, LogtoDb, LogtoUser};
use support::proxy::Proxy;
use support::pty::{Tui, collapsed};
use support::run::Run;

#[path = "postgres_connection/reconnect.rs"]
mod reconnect;

#[path = "postgres_connection/left_behind.rs"]
mod left_behind;

fn logto() -> LogtoDb {
    LogtoDb::initialised_with(ALICE_AND_BOB)
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

/// User `id`'s customData as the database holds it (jsonb's text).
fn stored(db: &LogtoDb, id: &str) -> String {
    db.stored_text(id)
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

/// A session whose link is reset (a firewall or load balancer that forgot it) fails with an
/// I/O error, not the server's words nor an end of stream: it is the same lost connection.
#[test]
fn a_session_whose_link_is_reset_is_connection_lost_until_reconnect() {
    let db = logto();
    let proxy = Proxy::to(db.server.port);
    let url = default_tenant_through(&db, &proxy);
    let (_, password) = db.tenant_role("default");
    let store = PostgresStore::connect(&url, &PostgresOptions::default()).expect("connect through the proxy");
    assert_eq!(store.count().expect("count"), 2);
    proxy.reset();
    let error = store.count().expect_err("the link was reset");
    assert!(matches!(error, StoreError::ConnectionLost { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("connection lost") && !message.contains('\n'), "{message}");
    assert!(!message.contains(&password), "{message}");
    assert!(matches!(store.user("u1"), Err(StoreError::ConnectionLost { .. })));
    store.reconnect().expect("reconnect through the proxy");
    assert_eq!(store.count().expect("count after reconnecting"), 2);
}

/// `verify-ca` checks that the certificate chains to `sslrootcert` and not the name in it;
/// `verify-full` checks both (libpq's meaning). The server's certificate names 127.0.0.1 and
/// localhost; 127.0.0.2, a proxy to it, is neither.
#[test]
fn verify_ca_takes_a_certificate_for_another_name_that_verify_full_refuses() {
    let db = logto();
    let proxy = Proxy::at("127.0.0.2", db.server.port);
    let (role, password) = db.tenant_role("default");
    let root = db.server.root_cert.display();
    let url = |mode: &str| {
        format!(
            "postgres://{role}:{password}@127.0.0.2:{}/{}?sslmode={mode}&sslrootcert={root}",
            proxy.port, db.name
        )
    };
    let store = PostgresStore::connect(&url("verify-ca"), &PostgresOptions::default())
        .expect("verify-ca: the chain leads to sslrootcert, the name is not looked at");
    assert_eq!(store.count().expect("count over verify-ca"), 2);
    let error = PostgresStore::connect(&url("verify-full"), &PostgresOptions::default())
        .err()
        .expect("verify-full: the certificate does not name 127.0.0.2");
    let message = error.to_string();
    assert!(message.contains("certificate") && message.contains("127.0.0.2"), "{message}");
    assert!(!message.contains(&password) && !message.contains('\n'), "{message}");
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

/// The same for a batch and its undo: a session ended before the COMMIT said only
/// "connection lost", and a patch that is not idempotent could not safely be run again (bb9).
#[test]
fn a_batch_or_undo_cut_off_before_its_commit_says_it_did_not_happen_and_nothing_was_written() {
    use custodian::store::{BatchEdit, BatchId, Selection};
    let db = logto();
    let name = application(&db, "cut-batch");
    let store = connect(&db, &name, None);
    let flag = |_: &custodian::store::UserRecord, _: &str| Ok(BatchEdit::Replace(data(r#"{"flag":true}"#)));
    let written =
        store.edit_batch(&BatchId::new(), &Selection::All, &mut flag.clone(), &author()).expect("a batch");
    let before: Vec<_> = ["u1", "u2"].map(|id| store.custom_data(id).expect("read").text).into();
    // Another session holds a row the batch (or its undo) locks: it waits there (up to the
    // 3 s lock timeout), and the server ends its session while it waits.
    for undo in [false, true] {
        let mut holder = db.superuser();
        let mut holding = holder.transaction().expect("begin");
        holding.execute("select 1 from users where id = 'u2' for update", &[]).expect("lock the row");
        let error = std::thread::scope(|scope| {
            let batch = scope.spawn(|| {
                if undo {
                    store.undo_batch(&written.batch, &BatchId::new(), &author()).map(|_| ())
                } else {
                    store
                        .edit_batch(&BatchId::new(), &Selection::All, &mut flag.clone(), &author())
                        .map(|_| ())
                }
            });
            wait_until("the batch to wait for the row", || {
                !sessions(&db, &name, Some("transactionid")).is_empty()
            });
            terminate(&db, &name);
            batch.join().expect("the batch thread").expect_err("the session went")
        });
        holding.rollback().expect("release the row");
        let what = if undo { "the undo did not happen" } else { "the batch did not happen" };
        assert!(matches!(error, StoreError::ConnectionLost { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&format!("; {what}: nothing was written (the server rolled it back)")),
            "{error}"
        );
        store.reconnect().expect("reconnect");
        let after: Vec<_> = ["u1", "u2"].map(|id| store.custom_data(id).expect("read").text).into();
        assert_eq!(after, before, "nothing written");
    }
}

/// Makes COMMIT wait for a synchronous standby that never comes, in this test's database
/// only (`synchronous_commit` is off for the cluster, on for this database): the commit is
/// written locally and then no answer comes — the case of a server or network gone after the
/// COMMIT was sent. Undone on drop.
struct CommitWithoutAnswer<'a> {
    db: &'a LogtoDb,
    /// The setting is the cluster's: one such test at a time in this binary (another test's
    /// reset would let this one's COMMIT through).
    _alone: std::sync::MutexGuard<'static, ()>,
}

static STANDBY_SETTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl<'a> CommitWithoutAnswer<'a> {
    fn new(db: &'a LogtoDb) -> Self {
        let alone = STANDBY_SETTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Made first, so a failure below still undoes the setting (on drop).
        let guard = Self { db, _alone: alone };
        guard.apply();
        guard
    }

    fn apply(&self) {
        let db = self.db;
        let mut admin = db.server.superuser("postgres");
        // One statement at a time: ALTER SYSTEM refuses to run inside a transaction block.
        for statement in [
            "alter system set synchronous_standby_names = 'custodian_nobody'".to_owned(),
            "select pg_reload_conf()".to_owned(),
            format!("alter database {} set synchronous_commit = on", db.name),
        ] {
            admin.batch_execute(&statement).unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        // The server applies a reload in its own time: a probe's commit must wait first (it is
        // then let go with a cancel, which leaves it committed locally).
        let probe = application(db, "probe");
        let url = format!(
            "host=127.0.0.1 port={} user=postgres dbname={} application_name={probe}",
            db.server.port, db.name
        );
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect the probe");
        let deadline = Instant::now() + Duration::from_secs(20);
        for attempt in 0.. {
            let waited = std::thread::scope(|scope| {
                // A write to the catalog waits: a new temporary table of the probe's own session
                // each time. Rows of a temporary table write no WAL, so once the first attempt
                // had made its table before the reload was applied, the next never waited, and
                // the loop ran out its 20 s.
                let insert = scope
                    .spawn(|| client.batch_execute(&format!("create temp table probe_{attempt} (n int)")));
                let mut waiting = false;
                wait_until("the probe to commit or wait", || {
                    waiting = !sessions(db, &probe, Some("SyncRep")).is_empty();
                    waiting || insert.is_finished()
                });
                if waiting {
                    db.server
                        .superuser("postgres")
                        .execute(
                            "select pg_cancel_backend(pid) from pg_stat_activity where application_name = $1",
                            &[&probe],
                        )
                        .expect("let the probe go");
                }
                let _ = insert.join().expect("the probe thread");
                waiting
            });
            if waited {
                break;
            }
            assert!(Instant::now() < deadline, "the server never applied synchronous_standby_names");
        }
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

// ----------------------------------------------------------------------------------------
// The real binary: bad connections in one line, and `set` when its COMMIT got no answer.
// ----------------------------------------------------------------------------------------

/// The tenant `default`'s URL through `proxy` (no TLS: the proxy reads the bytes).
fn default_tenant_through(db: &LogtoDb, proxy: &Proxy) -> String {
    let (role, password) = db.tenant_role("default");
    format!("postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable", proxy.port, db.name)
}

fn custodian(home: &PrivateHome, args: &[&str]) -> std::process::Command {
    let mut command = home.custodian();
    command.args(args);
    command
}

#[test]
fn a_role_without_rights_on_users_fails_in_one_line_naming_the_table() {
    let db = logto();
    // The tenant's own role, with the rights Logto gives it on `users` taken away in this
    // database only (a deployment set up wrongly).
    db.superuser().batch_execute("revoke all on users from logto_tenant_logto").expect("revoke");
    let home = PrivateHome::new(&[]);
    let (_, password) = db.tenant_role("default");
    let started = Instant::now();
    let error = Run::of(custodian(&home, &["--db", &db.tenant_url("default"), "list"]), None).fails(1);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // A missing right (42501) is said as the role's, never as the server refusing the role.
    assert!(error.contains("may not do this: permission denied for table users"), "{error}");
    assert!(!error.contains("refused role"), "{error}");
    assert!(error.contains("logto_tenant_logto_default") && !error.contains(&password), "{error}");
    // Through the superuser, which works as the tenant's role: that role is named, not the
    // superuser (bb46 F4: `role "postgres" may not do this`).
    let error = Run::of(custodian(&home, &["--db", &db.superuser_url(), "list"]), None).fails(1);
    assert!(
        error.contains(r#"role "logto_tenant_logto_default" (tenant "default"'s, which custodian works as, switched to from "postgres") may not do this: permission denied for table users"#),
        "{error}"
    );
}

/// bb18 L05: a right the tenant's role lacks was blamed on the URL's login role, even on the
/// superuser `postgres`, and "this" said nothing of what was refused or whether anything was
/// written. The role the statement ran as is named, switched to from the login role.
#[test]
fn a_right_the_tenant_role_lacks_is_named_as_that_roles_with_nothing_written() {
    let db = logto();
    db.init_custodian();
    db.insert("default", &LogtoUser::new("carol").custom_data(r#"{"keep":1,"drop":2}"#));
    db.superuser()
        .batch_execute(
            "revoke insert on custodian.history from logto_tenant_logto, logto_tenant_logto_default",
        )
        .expect("revoke");
    let home = PrivateHome::new(&[]);
    let set = custodian(&home, &["--db", &db.superuser_url(), "set", "id:carol", "-"]);
    let error = Run::of(set, Some(br#"{"keep":1}"#)).fails(1);
    assert!(
        error.contains(
            r#"role "logto_tenant_logto_default" (tenant "default"'s, which custodian works as, switched to from "postgres") may not do this: permission denied for table history; nothing was written"#
        ),
        "{error}"
    );
    let stored = stored(&db, "carol");
    assert!(stored.contains("drop"), "nothing written: {stored}");
    // On Logto's own table `init` cannot help (it never alters Logto's tables): the grant is
    // named, not `init` (it sent the operator round in a loop: bb41 F4).
    db.superuser()
        .batch_execute("revoke update on users from logto_tenant_logto, logto_tenant_logto_default")
        .expect("revoke");
    let set = custodian(&home, &["--db", &db.superuser_url(), "set", "id:carol", "-"]);
    let error = Run::of(set, Some(br#"{"keep":1}"#)).fails(1);
    assert!(
        error.contains(
            r#"permission denied for table users; nothing was written (custodian needs SELECT and UPDATE on Logto's table users: the database's owner grants them to "logto_tenant_logto_default"; `custodian init` leaves Logto's tables as they are)"#
        ),
        "{error}"
    );
}

#[test]
fn a_password_file_others_can_read_is_named_when_the_server_then_refuses_the_role() {
    // libpq's rule (the file is not read) was followed in silence: "password authentication
    // failed" and nothing said why the password in ~/.pgpass was not sent.
    use std::os::unix::fs::PermissionsExt;
    let db = logto();
    let home = PrivateHome::new(&[]);
    let (role, password) = db.tenant_role("default");
    let pgpass = home.path("home").join(".pgpass");
    std::fs::create_dir_all(home.path("home")).expect("home");
    std::fs::write(&pgpass, format!("127.0.0.1:*:*:{role}:{password}\n")).expect("write .pgpass");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let url = format!("postgres://{role}@127.0.0.1:{}/{}?sslmode=disable", db.server.port, db.name);
    let error = Run::of(custodian(&home, &["--db", &url, "list"]), None).fails(1);
    assert!(error.contains(&format!("{} was not read", pgpass.display())), "{error}");
    assert!(error.contains("chmod 600") && !error.contains(&password), "{error}");
    // Private, it is read and the list comes.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let listed = custodian(&home, &["--db", &url, "list"]).output().expect("list");
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("alice"));
}

/// A server that answers a TLS request as PostgreSQL with `ssl = off` does: `N`, then waits
/// for the startup message (which a client that requires TLS never sends).
fn server_without_tls() -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let serve = std::thread::spawn(move || {
        if let Ok((mut client, _)) = listener.accept() {
            let mut request = [0u8; 8];
            // The SSLRequest: length 8, code 80877103.
            if client.read_exact(&mut request).is_ok() && request == [0, 0, 0, 8, 4, 210, 22, 47] {
                let _ = client.write_all(b"N");
                let mut rest = Vec::new();
                let _ = client.read_to_end(&mut rest);
            }
        }
    });
    (port, serve)
}

#[test]
fn tls_required_by_the_url_and_refused_by_the_server_fails_in_one_line() {
    let home = PrivateHome::new(&[]);
    let (port, serve) = server_without_tls();
    let url = format!("postgres://someone:secretpw@127.0.0.1:{port}/logto?sslmode=require");
    let started = Instant::now();
    let error = Run::of(custodian(&home, &["--db", &url, "list"]), None).fails(1);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(error.contains("TLS") && error.contains("127.0.0.1"), "{error}");
    assert!(!error.contains("secretpw"), "{error}");
    serve.join().expect("the fake server");
}

#[test]
fn set_whose_commit_got_no_answer_reconnects_and_says_it_did_commit() {
    let db = logto();
    let _standby = CommitWithoutAnswer::new(&db);
    let home = PrivateHome::new(&[]);
    let name = application(&db, "cli-set");
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let mut command = custodian(&home, &["--db", &url, "set", "alice", "--expect-revision", "1", "-"]);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start custodian set");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // `theme` removed: said as a save on a good link says it (bb78 F3: it was not).
        stdin.write_all(br#"{"lang":"fr"}"#).expect("write the document");
    }
    wait_until("the COMMIT to wait for the standby", || {
        !sessions(&db, &name, Some("SyncRep")).is_empty() || child.try_wait().expect("the child").is_some()
    });
    assert!(
        child.try_wait().expect("the child").is_none(),
        "the save did not wait: the standby setting was late"
    );
    terminate(&db, &name);
    let output = child.wait_with_output().expect("custodian set ends");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("the save did commit as revision 2") && !stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("custodian: user u1: removed keys: theme"), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stdout.starts_with("saved: user u1 revision 2"), "{stdout}");
}

// ----------------------------------------------------------------------------------------
// The real screen in a pseudo-terminal, its sessions ended by the server mid-edit.
// ----------------------------------------------------------------------------------------

const CTRL_S: &[u8] = b"\x13";
const ENTER: &[u8] = b"\r";
const END: &[u8] = b"\x1b[F";
const F5: &[u8] = b"\x1b[15~";

/// The text of the one draft in `home`'s drafts directory, if there is exactly one.
fn the_draft(home: &PrivateHome) -> Option<String> {
    let dir = home.path("state").join("custodian/drafts");
    let files: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    match files.as_slice() {
        [one] => std::fs::read_to_string(one).ok(),
        _ => None,
    }
}

/// custodian's screen on `url` in a 120×40 pseudo-terminal, in `home`.
fn spawn_screen(home: &PrivateHome, url: &str) -> Tui {
    let mut command = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_custodian"));
    command.args(["--db", url]);
    command.cwd(home.path("home"));
    for key in
        ["CUSTODIAN_DB", "CUSTODIAN_READ_ONLY", "CUSTODIAN_TENANT", "NO_COLOR", "PGPASSWORD", "PGPASSFILE"]
    {
        command.env_remove(key);
    }
    command.env("HOME", home.path("home"));
    command.env("XDG_DATA_HOME", home.path("data"));
    command.env("XDG_STATE_HOME", home.path("state"));
    command.env("USER", "tester");
    command.env("TERM", "xterm-256color");
    Tui::spawn(command, 120, 40)
}

#[test]
fn the_screen_says_connection_lost_keeps_the_edit_as_a_draft_and_saves_after_f5() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let name = application(&db, "tui");
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let mut tui = spawn_screen(&home, &url);
    tui.wait_text("Users · 2");
    tui.wait_text("customData · revision 1");
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"mine\": 1,");
    tui.wait_text("\"mine\": 1,");
    tui.wait_text("valid object");
    wait_until("the first change's draft", || the_draft(&home).is_some_and(|d| d.contains("mine")));
    // The server ends both of custodian's sessions (the screen's and the scanner's).
    terminate(&db, &name);
    tui.send(CTRL_S);
    tui.wait_text("connection lost · ");
    tui.wait_text("F5 reconnect · ");
    tui.wait_text("the save did not happen");
    // Typing goes on; the draft keeps up; the status line keeps saying it.
    tui.send(ENTER);
    tui.send("  \"more\": 2,");
    tui.wait_text("\"more\": 2,");
    wait_until("the later change's draft", || the_draft(&home).is_some_and(|d| d.contains("more")));
    tui.wait_text("connection lost · ");
    tui.wait_text("F5 reconnect · ");
    tui.send(F5);
    tui.wait_text("reconnected");
    tui.wait_gone("connection lost · ");
    tui.wait_gone("F5 reconnect");
    tui.send(CTRL_S);
    tui.wait_text("saved revision 2");
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
    let stored = stored(&db, "u1");
    assert!(stored.contains("\"mine\": 1") && stored.contains("\"more\": 2"), "{stored}");
    assert!(the_draft(&home).is_none(), "the saved edit's draft is gone");
}

#[test]
fn the_scanner_cancels_the_step_of_a_query_the_next_keystroke_replaced() {
    use custodian::tui::app::{Action, Effect};
    use custodian::tui::{Runtime, Scanner, perform};
    let db = logto();
    let name = application(&db, "scanner");
    let store = std::sync::Arc::new(connect(&db, &name, None));
    let (scanner, answers) = Scanner::new(store.clone()).expect("start the scanner");
    let drafts = tempfile::TempDir::new().expect("drafts");
    let runtime = Runtime {
        store: &*store,
        drafts: custodian::draft::Drafts::at(drafts.path().to_path_buf()),
        database: store.draft_identity(),
        scanner: Some(scanner),
        workers: None,
        checker: None,
    };
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.batch_execute("lock table users in access exclusive mode").expect("lock the table");
    // One watching session, not one per look: a look that connects anew can take longer than
    // the lock timeout on a loaded machine.
    let mut watcher = db.server.superuser("postgres");
    let mut waiting_since = || -> Option<std::time::SystemTime> {
        watcher
            .query(
                "select query_start from pg_stat_activity where application_name = $1 and wait_event = 'relation'",
                &[&name],
            )
            .expect("pg_stat_activity")
            .into_iter()
            .map(|row| row.get(0))
            .min()
    };
    assert!(perform(&runtime, Effect::Scan { generation: 1, query: "al".into() }).is_none());
    wait_until("the first query's step to wait", || waiting_since().is_some());
    let first = waiting_since();
    let replaced = Instant::now();
    assert!(perform(&runtime, Effect::Scan { generation: 2, query: "ali".into() }).is_none());
    // Without the cancel, the first step would wait out the 3 s lock timeout first. What is
    // waiting now (the second query's step, or nothing between two statements) is not it.
    wait_until("the first query's step to end", || waiting_since() != first);
    assert!(replaced.elapsed() < Duration::from_secs(2), "{:?}", replaced.elapsed());
    holding.rollback().expect("release the table");
    // The second query is answered; the first one's cancelled step says nothing.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        answers.wait(Duration::from_millis(50));
        match answers.try_recv() {
            Some(Action::SearchHits { generation: 2, hits, done: true, .. }) => {
                assert_eq!(hits.len(), 1);
                break;
            }
            Some(Action::SearchHits { generation: 2, .. }) => {}
            Some(other) => panic!("unexpected answer: {other:?}"),
            None => assert!(Instant::now() < deadline, "no answer for the second query"),
        }
    }
    drop(runtime);
}

#[test]
fn set_that_cannot_reconnect_after_its_commit_says_it_cannot_tell_and_how_to_check() {
    let db = logto();
    let _standby = CommitWithoutAnswer::new(&db);
    let home = PrivateHome::new(&[]);
    let name = application(&db, "cli-gone");
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let (_, password) = db.tenant_role("default");
    let mut command = custodian(&home, &["--db", &url, "set", "alice", "--expect-revision", "1", "-"]);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start custodian set");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(br#"{"theme":"light"}"#).expect("write the document");
    }
    wait_until("the COMMIT to wait for the standby", || {
        !sessions(&db, &name, Some("SyncRep")).is_empty() || child.try_wait().expect("the child").is_some()
    });
    assert!(child.try_wait().expect("the child").is_none(), "the save did not wait");
    // The database takes no new connection (the server is gone, as far as custodian can tell).
    let mut admin = db.server.superuser("postgres");
    admin
        .batch_execute(&format!("alter database {} allow_connections false", db.name))
        .expect("close the door");
    terminate(&db, &name);
    let output = child.wait_with_output().expect("custodian set ends");
    admin
        .batch_execute(&format!("alter database {} allow_connections true", db.name))
        .expect("open the door");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stdout_bytes: output.stdout.clone(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(run.stdout.is_empty(), "never reported as saved: {run:?}");
    let error = run.fails(1);
    assert!(error.contains("cannot tell whether it happened"), "{error}");
    assert!(error.contains("custodian history id:u1") && error.contains("--revision 2"), "{error}");
    // "Not there" is not "did not happen" while the server may still hold that COMMIT (a
    // synchronous standby it waits for): the check it advised read so (bb41 F5).
    assert!(
        error.contains("its absence is final only once the server holds no session of custodian's open"),
        "{error}"
    );
    assert!(!error.contains(&password), "{error}");
    // What the command says to look at: the save did commit on the server.
    let revision: i64 = db
        .superuser()
        .query_one("select max(revision) from custodian.history where user_id = 'u1'", &[])
        .expect("history")
        .get(0);
    assert_eq!(revision, 2);
}

/// The screen's save of alice (`"doubt": 1` added) whose COMMIT waits for a standby that never
/// answers, its session then ended by the server: the save is in doubt. The standby is held
/// for as long as the first value lives.
fn a_save_in_doubt_on_the_screen<'a>(
    db: &'a LogtoDb,
    home: &PrivateHome,
    what: &str,
) -> (CommitWithoutAnswer<'a>, Tui) {
    let standby = CommitWithoutAnswer::new(db);
    let name = application(db, what);
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let mut tui = spawn_screen(home, &url);
    tui.wait_text("customData · revision 1");
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"doubt\": 1,");
    tui.wait_text("\"doubt\": 1,");
    tui.wait_text("valid object");
    tui.send(CTRL_S);
    wait_until("the COMMIT to wait for the standby", || !sessions(db, &name, Some("SyncRep")).is_empty());
    terminate(db, &name);
    tui.wait_text("save in doubt");
    (standby, tui)
}

#[test]
fn the_screen_never_reports_a_save_in_doubt_and_says_after_f5_that_it_did_commit() {
    let (db, home) = (logto(), PrivateHome::new(&[]));
    let (_standby, mut tui) = a_save_in_doubt_on_the_screen(&db, &home, "tui-doubt");
    tui.wait_text("connection lost · ");
    tui.wait_text("F5 reconnect · ");
    assert!(!tui.text().contains("saved revision"), "{}", tui.text());
    tui.wait_text("Editing customData of alice · from revision 1 · modified");
    tui.send(F5);
    tui.wait_text("the save did commit as revision 2");
    tui.wait_gone("Editing customData");
    tui.wait_text("customData · revision 2");
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
    assert!(the_draft(&home).is_none(), "the committed edit's draft is gone");
}

#[test]
fn keys_are_answered_while_a_reconnect_waits_for_a_silent_server() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let proxy = Proxy::to(db.server.port);
    let (role, password) = db.tenant_role("default");
    let url = format!(
        "postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable&connect_timeout=6",
        proxy.port, db.name
    );
    let mut tui = spawn_screen(&home, &url);
    tui.wait_text("customData · revision 1");
    tui.send(ENTER);
    tui.wait_text("Editing customData of alice · from revision 1");
    tui.send(END);
    tui.send(ENTER);
    tui.send("  \"first\": 1,");
    tui.wait_text("\"first\": 1,");
    // The network drops; the server, reached again, says nothing.
    proxy.cut(true);
    tui.send(CTRL_S);
    tui.wait_text("connection lost · ");
    tui.wait_text("F5 reconnect · ");
    tui.send(F5);
    tui.wait_text("reconnecting…");
    // The reconnect waits (up to connect_timeout, 6 s, then a second to ask what answered)
    // off the screen's thread: typing shows while it still waits.
    tui.send(ENTER);
    tui.send("  \"typed\": 2,");
    tui.wait_for("the typed text while reconnecting", |text| {
        text.contains("\"typed\": 2,") && text.contains("reconnecting…")
    });
    tui.wait_text("no answer within 6 s");
    tui.wait_text("connection lost · ");
    tui.wait_text("F5 reconnect · ");
    // The server answers again: F5, and the save goes through.
    proxy.open();
    tui.send(F5);
    tui.wait_text("reconnected");
    tui.send(CTRL_S);
    tui.wait_text("saved revision 2");
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
    let stored = stored(&db, "u1");
    assert!(stored.contains("\"first\": 1") && stored.contains("\"typed\": 2"), "{stored}");
}

/// Runs `args` (a batch) with its COMMIT held by a standby that never answers, ends its
/// session there, and returns exit code, stdout and stderr.
fn batch_whose_commit_got_no_answer(
    db: &LogtoDb,
    home: &PrivateHome,
    what: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let _standby = CommitWithoutAnswer::new(db);
    let name = application(db, what);
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let mut command = custodian(home, &[&["--db", url.as_str()], args].concat());
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("start custodian");
    let mut child = Some(child);
    wait_until("the COMMIT to wait for the standby", || {
        !sessions(db, &name, Some("SyncRep")).is_empty()
            || child.as_mut().expect("the child").try_wait().expect("the child").is_some()
    });
    let mut child = child.take().expect("the child");
    assert!(
        child.try_wait().expect("the child").is_none(),
        "the batch did not wait: the standby setting was late"
    );
    terminate(db, &name);
    let output = child.wait_with_output().expect("custodian ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_patch_whose_commit_got_no_answer_reconnects_and_says_it_was_written_and_how_to_undo_it() {
    // It said "connection lost", exit 1, and no batch id: the operator ran it again.
    let db = logto();
    let home = PrivateHome::new(&[]);
    let patch = home.path("patch.json");
    std::fs::write(&patch, r#"[{"op":"add","path":"/flag","value":true}]"#).expect("write the patch");
    let patch = patch.to_str().expect("utf-8").to_owned();
    let (code, stdout, stderr) =
        batch_whose_commit_got_no_answer(&db, &home, "cli-patch", &["patch", &patch, "--all", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("written — the connection was lost while it was committing"), "{stdout}");
    let batch = stdout.split_whitespace().nth(1).expect("the batch").trim_end_matches(':').to_owned();
    assert!(stdout.contains(&format!("take it back with: custodian undo {batch}")), "{stdout}");
    // The undo, its COMMIT unanswered too, is said written as well; and it was.
    let (code, stdout, stderr) = batch_whose_commit_got_no_answer(&db, &home, "cli-undo", &["undo", &batch]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("the undo of batch {batch} is written")), "{stdout}");
    let url = db.tenant_url("default");
    let got = custodian(&home, &["--db", &url, "get", "alice"]).output().expect("get");
    assert!(!String::from_utf8_lossy(&got.stdout).contains("flag"), "undone");
}

/// The screen through a proxy that then keeps its connections and drops the bytes, `/zz`
/// typed: the search waits on the silent link (all of it kept alive by the caller).
fn searching_on_a_silent_link() -> (LogtoDb, PrivateHome, Proxy, Tui) {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let proxy = Proxy::to(db.server.port);
    let url = default_tenant_through(&db, &proxy);
    let mut tui = spawn_screen(&home, &url);
    tui.wait_text("customData · revision 1");
    proxy.stall_now();
    tui.send("/zz");
    (db, home, proxy, tui)
}

/// bb78 F1: `q` after a `/` search on a link that kept its connections and dropped the
/// bytes: the way out waited for the scanner for good, on a blank terminal, deaf to every
/// signal. It waits as for a read on the way, and says so.
#[test]
fn quitting_while_a_search_waits_on_a_silent_link_ends_within_seconds_and_says_so() {
    let (_db, _home, _proxy, mut tui) = searching_on_a_silent_link();
    tui.send("\x1b");
    let asked = Instant::now();
    tui.send("q");
    let status = tui.wait_exit_within(Duration::from_secs(15));
    assert!(status.success(), "custodian exited with {status:?}");
    assert!(asked.elapsed() < Duration::from_secs(12), "{:?}", asked.elapsed());
    let said = tui.text();
    assert!(
        said.contains(
            "the search or key sync on its way got no answer within 2 s; nothing was being written"
        ),
        "{said}"
    );
}

/// bb101 F1: a search on a link that kept its connections and dropped the bytes showed `none
/// found yet: the search goes on` for good, nothing said; after 15 s without an answer it says
/// so, with the way out.
#[test]
fn a_search_on_a_silent_link_says_it_has_had_no_answer() {
    let (_db, _home, _proxy, mut tui) = searching_on_a_silent_link();
    tui.wait_text("the search goes on");
    // Said after 15 s: the wait below gives up after 10.
    std::thread::sleep(Duration::from_secs(12));
    tui.wait_for("the search's silence said", |text| {
        collapsed(text).contains("the search has had no answer for 15 s")
    });
    assert!(
        collapsed(&tui.text()).contains("Ctrl-Q quits keeping any edit as a draft, or wait"),
        "{}",
        tui.text()
    );
    tui.send("\x11");
    let status = tui.wait_exit_within(Duration::from_secs(15));
    assert!(status.success(), "custodian exited with {status:?}");
}

/// bb78 F4: `export` stopped by a signal while the server did not answer said "whether the
/// last write was made is not known", sending the operator to look for a write an export
/// cannot make.
#[test]
fn an_export_stopped_by_a_signal_on_a_silent_link_says_it_changes_no_user() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let proxy = Proxy::to(db.server.port);
    let url = default_tenant_through(&db, &proxy);
    proxy.stall_at_next_snapshot();
    let out = home.path("home").join("users.jsonl");
    let mut command = custodian(&home, &["--db", &url, "export", "--out", out.to_str().expect("utf-8")]);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("start custodian export");
    wait_until("the export's snapshot to stall", || proxy.stalled());
    support::run::wait_until_catching(child.id(), libc::SIGINT);
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().expect("custodian export ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("this command changes no user (it only reads them)"), "{stderr}");
    assert!(!stderr.contains("whether the last write was made"), "{stderr}");
    assert!(!out.exists(), "no file made");
    // Nor its temporary file left beside it: the process ended without unwinding (bb80 F4).
    let left: Vec<_> = std::fs::read_dir(home.path("home"))
        .expect("the directory")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains(".custodian-export-"))
        .map(|entry| entry.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// bb78 F5: every connection of a role that needs no password (`trust`, no password file)
/// logged a warning that the password file gave none "this time", sending an operator reading
/// the log after a failed reconnect after a `.pgpass` problem there was not.
#[test]
fn a_role_that_needs_no_password_logs_no_warning_about_a_password_file() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    Run::of(custodian(&home, &["--db", &db.superuser_url(), "list", "--limit", "1"]), None).ok();
    let log = std::fs::read_to_string(home.path("state").join("custodian/custodian.log")).expect("the log");
    assert!(log.contains("start"), "{log}");
    assert!(!log.contains("password file"), "{log}");
}

/// bb80 F1: a save whose connection went during its COMMIT, then a hang-up (what an SSH drop
/// sends): the way out said only "your unsaved edit is kept", and the save had landed. It says
/// the save is in doubt, how to tell, and keeps the edit "saved or not".
#[test]
fn a_hang_up_after_a_save_in_doubt_says_it_is_in_doubt_not_unsaved() {
    let (db, home) = (logto(), PrivateHome::new(&[]));
    let (_standby, mut tui) = a_save_in_doubt_on_the_screen(&db, &home, "tui-doubt-hup");
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGHUP) }, 0);
    tui.wait_exit();
    let said = tui.text();
    assert!(said.contains("your save of user u1 may or may not have become revision 2"), "{said}");
    assert!(said.contains("your edit, saved or not, is kept in"), "{said}");
    assert!(!said.contains("your unsaved edit"), "{said}");
}

/// `args` run on tenant `default` with `document` on stdin, their COMMIT held by a standby that
/// never answers (for as long as the first value lives): returned once it waits there, with
/// the session's application name.
fn a_cli_write_whose_commit_waits<'a>(
    db: &'a LogtoDb,
    home: &PrivateHome,
    what: &str,
    args: &[&str],
    document: &[u8],
) -> (CommitWithoutAnswer<'a>, String, std::process::Child) {
    let standby = CommitWithoutAnswer::new(db);
    let name = application(db, what);
    let url = format!("{}&application_name={name}", db.tenant_url("default"));
    let mut command = custodian(home, &[&["--db", url.as_str()], args].concat());
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start custodian");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(document).expect("write the document");
    }
    wait_until("the COMMIT to wait for the standby", || {
        !sessions(db, &name, Some("SyncRep")).is_empty() || child.try_wait().expect("the child").is_some()
    });
    (standby, name, child)
}

/// bb80 F3: `set` whose COMMIT had no answer (a pooler, a link holding it) said nothing for as
/// long as it was left: after 15 s it says the write may still land and how to tell.
#[test]
fn set_whose_commit_waits_says_so_after_fifteen_seconds() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let (_standby, name, mut child) = a_cli_write_whose_commit_waits(
        &db,
        &home,
        "cli-set-waits",
        &["set", "alice", "-"],
        br#"{"theme":"light"}"#,
    );
    std::thread::sleep(Duration::from_secs(16));
    assert!(child.try_wait().expect("the child").is_none(), "the save still waits");
    terminate(&db, &name);
    let output = child.wait_with_output().expect("custodian set ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the server has not answered this write's COMMIT for 15 s (something on the way may hold its answer): it may still land"),
        "{stderr}"
    );
}

/// bb89 F5: Ctrl-C while a synchronous standby holds a save's COMMIT: the journal custodian
/// points to does not list the save yet, and it lands once the standby answers. The last word
/// says that the save's absence there is final only once custodian's session is gone.
#[test]
fn a_signal_while_a_standby_holds_the_commit_says_the_write_may_still_land() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let (_standby, name, child) = a_cli_write_whose_commit_waits(
        &db,
        &home,
        "cli-set-signal",
        &["set", "alice", "-"],
        br#"{"theme":"held"}"#,
    );
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let output = child.wait_with_output().expect("custodian set ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("whether the last write was made is not known")
            && stderr.contains(
                "its absence there is final only once the server holds no session of custodian's open"
            )
            && stderr.contains("may land later"),
        "{stderr}"
    );
    terminate(&db, &name);
}

/// bb89 F3: `patch --yes` stopped by Ctrl-C on PostgreSQL said "the database closed cleanly",
/// the words of a file: nothing of it was committed on the server, which it now says.
#[test]
fn a_patch_stopped_by_a_signal_on_postgres_says_nothing_was_committed_on_the_server() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    db.superuser()
        .batch_execute(
            "insert into users (tenant_id, id, username, created_at, updated_at) \
             select 'default', 'p' || lpad(i::text, 9, '0'), 'puser' || i, now(), now() \
             from generate_series(1, 20000) i",
        )
        .expect("bulk insert");
    let patch = home.path("home").join("flag.json");
    std::fs::write(&patch, r#"[{"op":"add","path":"/flag","value":true}]"#).expect("the patch");
    let url = db.tenant_url("default");
    let mut command =
        custodian(&home, &["--db", &url, "patch", patch.to_str().expect("utf-8"), "--all", "--yes"]);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("start custodian patch");
    support::run::wait_until_catching(child.id(), libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().expect("custodian patch ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: nothing was written (stopped before the end; nothing of it was committed on the server)"),
        "{stderr}"
    );
    assert!(!stderr.contains("closed cleanly"), "{stderr}");
    let flagged: i64 = db
        .superuser()
        .query_one("select count(*) from users where custom_data ? 'flag'", &[])
        .expect("counted")
        .get(0);
    assert_eq!(flagged, 0, "nothing written");
}

/// bb80 F6: `schema set` whose COMMIT got no answer said only "connection lost", exit 1, and the
/// schema was stored: it reconnects and says whether the change did commit, as `set` does.
#[test]
fn schema_set_whose_commit_got_no_answer_reconnects_and_says_it_did_commit() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let (_standby, name, mut child) = a_cli_write_whose_commit_waits(
        &db,
        &home,
        "cli-schema",
        &["schema", "set", "-"],
        br#"{"type":"object"}"#,
    );
    assert!(child.try_wait().expect("the child").is_none(), "the schema's COMMIT did not wait");
    terminate(&db, &name);
    let output = child.wait_with_output().expect("custodian schema set ends");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("after reconnecting: it did commit as revision 1"), "{stderr}");
    assert!(stdout.starts_with("schema saved: revision 1"), "{stdout}");
}
