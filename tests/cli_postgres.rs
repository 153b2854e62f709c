//! The real binary on Logto's PostgreSQL database (`--db postgres://…`, `--tenant`): the
//! scripting subcommands on a tenant's users, `init`, the refusals of `import` and `seed`,
//! and connections that fail in one line without showing the password.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::home::PrivateHome;
use support::postgres::{LogtoDb, LogtoUser, PASSWORD_HASH, TOTP_SECRET};
use support::run::Run;

#[path = "cli_postgres/info.rs"]
mod info;

const PEOPLE: &str = r#"[
{"id":"u1","username":"alice","primaryEmail":"alice@example.com","customData":{"theme":"dark"}},
{"id":"u2","username":"bob","customData":{}}
]"#;

fn run(home: &PrivateHome, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = home.custodian();
    command.args(args);
    Run::of(command, stdin)
}

/// Waits until `waiters` sessions of the database wait on a lock (custodian behind a row or a
/// table another session holds), failing after 20 s or once `ended` says custodian ended first.
fn wait_for_lock_waiters(db: &LogtoDb, waiters: i64, ended: impl Fn() -> bool, what: &str) {
    let mut watcher = db.superuser();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
                &[],
            )
            .expect("pg_stat_activity")
            .get(0);
        if waiting >= waiters {
            return;
        }
        assert!(Instant::now() < deadline && !ended(), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn logto() -> LogtoDb {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    db.insert("admin", &LogtoUser::new("adm1").custom_data(r#"{"admin":true}"#));
    db
}

#[test]
fn init_then_set_get_history_and_restore_work_on_the_tenants_users() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let superuser = db.superuser_url();
    let first = run(&home, &["--db", &superuser, "init"], None).ok();
    assert!(first.stdout.starts_with("custodian's schema is ready in postgres://postgres@"), "{first:?}");
    run(&home, &["--db", &superuser, "init"], None).ok();
    let url = db.tenant_url("default");
    let listed = run(&home, &["--db", &url, "list", "--json"], None).ok();
    assert_eq!(listed.stdout.lines().count(), 2, "{listed:?}");
    assert!(!listed.stdout.contains("adm1"));
    for secret in [PASSWORD_HASH, TOTP_SECRET] {
        assert!(!listed.stdout.contains(secret));
    }
    let saved =
        run(&home, &["--db", &url, "set", "alice", "--expect-revision", "1"], Some(br#"{"theme":"light"}"#))
            .ok();
    assert!(saved.stdout.contains("revision 2"), "{saved:?}");
    let stale = run(&home, &["--db", &url, "set", "alice", "--expect-revision", "1"], Some(b"{}"));
    assert!(stale.fails(5).contains("conflict"));
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(got.stdout.contains("\"light\""), "{got:?}");
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok();
    assert_eq!(
        history.stdout.lines().filter(|l| l.contains("outside custodian") || l.contains("tester")).count(),
        2,
        "{history:?}"
    );
    run(&home, &["--db", &url, "restore", "alice", "1", "--expect-revision", "2"], None).ok();
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(got.stdout.contains("\"dark\""), "{got:?}");
    let exported = run(&home, &["--db", &url, "export"], None).ok();
    assert_eq!(exported.stdout.lines().count(), 2);
}

/// A user deleted outside custodian (Logto's console) after custodian saved them: their
/// saves stay in the journal, and `changes --user id:ID` lists them, saying the user is gone
/// (it said only "no user", exit 3: bb41 F9). A name, or an id the journal does not hold, is
/// still "no user".
#[test]
fn changes_of_a_user_deleted_since_lists_their_saves_by_explicit_id() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "set", "alice"], Some(br#"{"theme":"light"}"#)).ok();
    db.superuser().execute("delete from users where username = 'alice'", &[]).expect("delete");
    let listed = run(&home, &["--db", &url, "changes", "--user", "id:u1", "--json"], None).ok();
    assert_eq!(listed.stdout.lines().count(), 2, "the outside revision and the save: {listed:?}");
    assert!(listed.stdout.lines().all(|line| line.contains(r#""userId":"u1""#)), "{listed:?}");
    assert!(
        listed.stderr.contains("no user has the id u1 now (deleted since?): its saves in the journal"),
        "{listed:?}"
    );
    for gone in ["username:alice", "alice", "id:nobody"] {
        let stderr = run(&home, &["--db", &url, "changes", "--user", gone], None).fails(3);
        assert!(stderr.contains("no user"), "{gone}: {stderr}");
    }
}

/// A save that waits for one user's row past the lock timeout names that user: it said "the
/// database is busy: someone else is writing", while one row was held (by Logto, a script).
#[test]
fn a_set_held_up_by_a_row_another_session_holds_names_the_user() {
    let (_db, _home, _url, stderr) =
        a_set_of_alice_held_up_by("select 1 from users where username = 'alice' for update");
    assert!(
        stderr.contains("user u1 is being written by another session (Logto, a script, another custodian): its row stayed locked for 3 s; nothing was written; try again"),
        "{stderr}"
    );
}

/// A lock on custodian's own history table (a DBA's `LOCK TABLE`, what `CREATE INDEX` takes)
/// is not said as the user's row held by Logto or a script: no one held the row (bb66 F4).
/// What `set alice` says, refused (exit 1) while another session holds what `lock` takes; with
/// the database, the home and the URL it ran with.
fn a_set_of_alice_held_up_by(lock: &str) -> (LogtoDb, PrivateHome, String, String) {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute(lock, &[]).expect("the lock");
    let stderr = run(&home, &["--db", &url, "set", "alice"], Some(br#"{"a":1}"#)).fails(1);
    holding.rollback().expect("let go");
    drop(holder);
    (db, home, url, stderr)
}

#[test]
fn a_set_held_up_by_a_lock_on_custodians_tables_says_so_not_the_users_row() {
    let (_db, home, url, stderr) = a_set_of_alice_held_up_by("lock table custodian.history in share mode");
    assert!(stderr.contains("another session holds a lock on custodian's own tables"), "{stderr}");
    assert!(stderr.contains("nothing was written; try again"), "{stderr}");
    assert!(!stderr.contains("user u1 is being written"), "{stderr}");
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok().stdout;
    assert!(!got.contains("\"a\": 1"), "nothing written: {got}");
}

/// bb98 F4: Ctrl-C (or SIGTERM) on a `set` or an `undo` waiting for a row Logto held: the
/// write was made once the row was let go, exit 0, with "the signal came too late to stop
/// anything". It is rolled back before its COMMIT: nothing written, exit 130.
#[test]
fn a_signal_while_a_write_waits_for_a_held_row_writes_nothing_once_the_row_is_let_go() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let document = home.path("home").join("doc.json");
    std::fs::write(&document, r#"{"cancelled":1}"#).expect("document");
    let document = document.to_str().expect("utf-8").to_owned();
    for (args, signal) in [
        (vec!["set", "alice", document.as_str()], libc::SIGINT),
        (vec!["undo", batch.as_str()], libc::SIGTERM),
    ] {
        let before = run(&home, &["--db", &url, "changes", "--json"], None).ok().stdout;
        let mut holder = db.superuser();
        let mut holding = holder.transaction().expect("begin");
        holding.execute("select 1 from users where username = 'alice' for update", &[]).expect("the row");
        let mut command = home.custodian();
        command.args([&["--db", url.as_str()][..], &args].concat());
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let child = command.spawn().expect("spawn");
        support::run::wait_until_catching(child.id(), signal);
        wait_for_lock_waiters(&db, 1, || false, "custodian to wait for alice's row");
        // SAFETY: a signal to our own child.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        std::thread::sleep(Duration::from_millis(300));
        holding.rollback().expect("let go");
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{args:?}: {stderr}");
        assert!(stderr.contains("interrupted: nothing was written"), "{args:?}: {stderr}");
        assert!(!stderr.contains("came too late"), "{args:?}: {stderr}");
        let after = run(&home, &["--db", &url, "changes", "--json"], None).ok().stdout;
        assert_eq!(after, before, "{args:?}: nothing journaled");
    }
    // Held past the 3 s the write waits: said as the interruption, with what it met, exit 130
    // (it said `try again`, exit 1, and a shell loop went on: bb100 F2).
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where username = 'alice' for update", &[]).expect("the row");
    let mut command = home.custodian();
    command.args(["--db", url.as_str(), "set", "alice", document.as_str()]);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    support::run::wait_until_catching(child.id(), libc::SIGINT);
    wait_for_lock_waiters(&db, 1, || false, "custodian to wait for alice's row");
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().expect("wait");
    holding.rollback().expect("let go");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: nothing was written") && stderr.contains("stayed locked"),
        "{stderr}"
    );
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok().stdout;
    assert!(alice.contains("\"flag\": true") && !alice.contains("cancelled"), "{alice}");
}

/// A login role that is a member of two tenants' roles without their rights, asked for a
/// tenant it may not become, is told the tenants it may: it said "a tenant's own role sees
/// only its tenant", of a role that is no tenant's own and may become two (bb41).
#[test]
fn an_unknown_tenant_names_the_tenants_a_member_role_may_become() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let pid = std::process::id();
    let (default_role, _) = db.tenant_role("default");
    // Logto's tenant roles take their rights from one role of the database's (its `tenants`
    // columns among them).
    let parent = default_role.strip_suffix("_default").expect("Logto's name for a tenant's role");
    let (tenant, tenant_role, member) =
        (format!("acme{pid}"), format!("logto_tenant_acme{pid}"), format!("ops{pid}"));
    db.superuser()
        .batch_execute(&format!(
            "create role {tenant_role} nologin in role {parent}; \
             insert into tenants (id, db_user, db_user_password) values ('{tenant}', '{tenant_role}', 'x'); \
             create role {member} login password 'pw' noinherit in role {default_role}, {tenant_role}"
        ))
        .expect("a second tenant and a member of both tenants' roles");
    let url = db.superuser_url().replacen("postgres@", &format!("{member}:pw@"), 1);
    let error = run(&home, &["--db", &url, "--tenant", "admin", "list"], None).fails(1);
    let reached = run(&home, &["--db", &url, "--tenant", &tenant, "list"], None);
    db.superuser()
        .batch_execute(&format!(
            "delete from tenants where id = '{tenant}'; drop role {member}; drop owned by {tenant_role}; drop role {tenant_role}"
        ))
        .expect("clean up");
    assert!(
        error.contains(&format!(r#"no tenant "admin" that role "{member}" can see (it may become the roles of "{tenant}", "default")"#)),
        "{error}"
    );
    reached.ok();
}

/// A batch that waits past the lock timeout for a row another session holds names that user
/// and says nothing of the batch was written: it said "the database is busy" (bb41).
#[test]
fn a_batch_held_up_by_a_row_another_session_holds_names_the_user_and_writes_nothing() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where username = 'bob' for update", &[]).expect("hold the row");
    let stderr = run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).fails(1);
    holding.rollback().expect("let go");
    assert!(
        stderr.contains("the batch waited 3 s for users another session (Logto, a script, another custodian) is writing: u2; nothing of the batch was written; try again"),
        "{stderr}"
    );
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(!alice.stdout.contains("flag"), "nothing of the batch written: {alice:?}");
    let yes = run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok();
    assert!(yes.stdout.contains("saved 2 users of 2"), "once the row is free: {yes:?}");
}

/// A user Logto deletes while `set` waits for their row: said as gone, not as a lookup the
/// operator never typed (`no user "u1" (looked for an id, a username, …)`: bb41 F11).
#[test]
fn a_user_deleted_while_set_waits_for_the_row_is_said_gone() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    // Deleted, or moved to another tenant (gone from this one alike: it was said deleted,
    // bb98 F2).
    for (gone, user) in [
        ("delete from users where username = 'alice'", "alice"),
        ("update users set tenant_id = 'admin' where username = 'bob'", "bob"),
    ] {
        let mut deleting = db.superuser();
        let mut deletion = deleting.transaction().expect("begin");
        deletion.execute(gone, &[]).expect("gone");
        let stderr = std::thread::scope(|scope| {
            let set = scope.spawn(|| run(&home, &["--db", &url, "set", user], Some(br#"{"a":1}"#)).fails(3));
            wait_for_lock_waiters(&db, 1, || false, "set never waited for the row");
            deletion.commit().expect("it lands");
            set.join().expect("the set thread")
        });
        assert!(
            stderr.contains(
                "no longer exists (deleted, or moved to another tenant, outside custodian while the save waited): nothing was written"
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("looked for"), "{stderr}");
    }
}

#[test]
fn the_tenant_flag_and_variable_choose_whose_users_are_shown() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let superuser = db.superuser_url();
    let admin = run(&home, &["--db", &superuser, "--tenant", "admin", "list", "--json"], None).ok();
    assert_eq!(admin.stdout.lines().count(), 1);
    assert!(admin.stdout.contains("\"adm1\""));
    let mut command = home.custodian();
    command.env("CUSTODIAN_DB", &superuser).env("CUSTODIAN_TENANT", "admin").args(["get", "adm1"]);
    assert!(Run::of(command, None).ok().stdout.contains("\"admin\": true"));
}

#[test]
fn import_seed_and_compact_refuse_on_postgres_with_exit_2() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let error = run(&home, &["--db", &url, "import"], Some(br#"[{"id":"x1"}]"#)).fails(2);
    assert!(error.contains("users are created by Logto"), "{error}");
    let error = run(&home, &["--db", &url, "seed", "--users", "3"], None).fails(2);
    assert!(error.contains("users are created by Logto"), "{error}");
    let error = run(&home, &["--db", &url, "compact"], None).fails(2);
    assert!(error.contains("compact is for database files: PostgreSQL's autovacuum"), "{error}");
}

#[test]
fn a_save_without_custodians_schema_names_init_and_browsing_still_works() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "get", "bob"], None).ok();
    let error = run(&home, &["--db", &url, "set", "bob"], Some(br#"{"a":1}"#)).fails(1);
    assert!(error.contains("init`"), "{error}");
    let (_, password) = db.tenant_role("default");
    assert!(!error.contains(&password), "{error}");
    // The journal and undo say what is missing, not that "nothing can be saved".
    for args in [&["changes"][..], &["undo", "b20261203T000000Z-abcdef"]] {
        let error = run(&home, &[&["--db", url.as_str()], args].concat(), None).fails(1);
        assert!(
            error.contains("not in this database yet: no saves, journal or batches until it is"),
            "{error}"
        );
        assert!(error.contains("init`") && !error.contains("nothing can be saved"), "{error}");
    }
}

#[test]
fn info_names_server_tenant_and_role_but_never_the_password() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let (role, password) = db.tenant_role("default");
    let info = run(&home, &["--db", &url, "info"], None).ok();
    assert!(info.stdout.contains(&format!("postgres://{role}@127.0.0.1")), "{info:?}");
    assert!(info.stdout.contains("tenant \"default\""), "{info:?}");
    assert!(info.stdout.contains("users          2"), "{info:?}");
    // When the screen's key table last took in Logto's changes: never before init, which
    // syncs every tenant.
    let synced = |stdout: &str| stdout.lines().find(|l| l.starts_with("keys synced")).map(str::to_owned);
    assert!(synced(&info.stdout).expect("a keys synced line").contains("never"), "{info:?}");
    db.init_custodian();
    let after_init = run(&home, &["--db", &url, "info"], None).ok();
    let line = synced(&after_init.stdout).expect("a keys synced line");
    assert!(line.ends_with(" UTC") && line.contains(" 20"), "{after_init:?}");
    assert!(!info.stdout.contains(&password));
    // A tenant made since `init`: the key table is there, its keys never synced (it said
    // "until `init` makes the key table": bb53 F6).
    let (default_role, _) = db.tenant_role("default");
    let parent = default_role.strip_suffix("_default").expect("Logto's name for a tenant's role");
    let (tenant, tenant_role) =
        (format!("late{}", std::process::id()), format!("logto_tenant_late{}", std::process::id()));
    db.superuser()
        .batch_execute(&format!(
            "create role {tenant_role} nologin in role {parent}; \
             insert into tenants (id, db_user, db_user_password) values ('{tenant}', '{tenant_role}', 'x')"
        ))
        .expect("a tenant made after init");
    let late = run(&home, &["--db", &db.superuser_url(), "--tenant", &tenant, "info"], None);
    db.superuser()
        .batch_execute(&format!(
            "delete from tenants where id = '{tenant}'; drop owned by {tenant_role}; drop role {tenant_role}"
        ))
        .expect("clean up");
    let line = synced(&late.ok().stdout).expect("a keys synced line");
    assert!(
        line.contains("never for this tenant yet (a screen that may write syncs them when it starts on it)"),
        "{line}"
    );
    // Nor in the log, nor anywhere else custodian writes in its home.
    let logged = std::fs::read_to_string(home.path("state").join("custodian/custodian.log")).expect("a log");
    assert!(logged.contains(&format!("postgres://{role}@127.0.0.1")), "{logged}");
    assert_no_file_holds(&home.path(""), &password);
}

fn assert_no_file_holds(dir: &std::path::Path, secret: &str) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_no_file_holds(&path, secret);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(!text.contains(secret), "{} holds the password", path.display());
        }
    }
}

#[test]
fn bad_connections_fail_in_one_line_within_connect_timeout() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let (role, password) = db.tenant_role("default");
    let port = db.server.port;
    let wrong = format!("postgres://{role}:x{password}@127.0.0.1:{port}/{}?sslmode=disable", db.name);
    let error = run(&home, &["--db", &wrong, "list"], None).fails(1);
    assert!(error.contains("password authentication failed") && !error.contains(&password), "{error}");
    // Nobody listens on the port of a listener we just closed.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let error = run(&home, &["--db", &format!("postgres://u@127.0.0.1:{closed}/db"), "list"], None).fails(1);
    assert!(error.contains("127.0.0.1"), "{error}");
    // A server that accepts and never answers: connect_timeout ends the wait.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let started = Instant::now();
    let url = format!("postgres://u:secretpw@127.0.0.1:{silent_port}/db?connect_timeout=2");
    let error = run(&home, &["--db", &url, "list"], None).fails(1);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert!(error.contains("connect_timeout") && !error.contains("secretpw"), "{error}");
    drop(silent);
    let not_logto = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let error = run(&home, &["--db", &not_logto, "list"], None).fails(1);
    assert!(error.contains("not a Logto database"), "{error}");
}

/// An unknown `--tenant` names the tenants the role can see: a typo reads as one (it said "a
/// tenant's own role sees only its tenant" to a superuser that sees them all: bb27 Q03).
#[test]
fn an_unknown_tenant_names_the_tenants_the_role_can_see() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let error = run(&home, &["--db", &db.superuser_url(), "--tenant", "defualt", "list"], None).fails(1);
    assert!(error.contains(r#"no tenant "defualt" that role "postgres" can see (it sees "#), "{error}");
    assert!(error.contains(r#""default""#) && !error.contains("own role"), "{error}");
    let error =
        run(&home, &["--db", &db.tenant_url("default"), "--tenant", "defualt", "list"], None).fails(1);
    assert!(error.contains(r#"no tenant "defualt""#), "{error}");
}

/// A port where something else than PostgreSQL answers (a web server) says so: it was the
/// client's "error communicating with the server: bytes remaining on stream" (bb27 Q01).
#[test]
fn a_port_where_no_postgresql_answers_says_what_answered_does_not_speak_its_protocol() {
    use std::io::{Read, Write};
    let home = PrivateHome::new(&[]);
    let web = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = web.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in web.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 512];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    for mode in ["disable", "prefer"] {
        let url = format!("postgres://u:secretpw@127.0.0.1:{port}/db?sslmode={mode}");
        let error = run(&home, &["--db", &url, "list"], None).fails(1);
        assert!(error.contains("does not speak PostgreSQL's protocol"), "{mode}: {error}");
        assert!(!error.contains("secretpw"), "{error}");
    }
}

/// A web server that keeps the connection after its answer, and an SSH server (`:22` typed
/// for `:5432`: it speaks first), under the default `sslmode=prefer` too: what answered is
/// named. They failed as "no answer within 5 s (connect_timeout)" and as a TLS error,
/// sending the operator to a firewall or to TLS (bb41 F3).
#[test]
fn a_web_server_that_keeps_the_connection_or_an_ssh_server_is_named_as_not_postgresql() {
    use std::io::{Read, Write};
    let home = PrivateHome::new(&[]);
    let serve = |first: &'static [u8], answers_first: bool| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                if !answers_first {
                    let mut request = [0u8; 512];
                    let _ = stream.read(&mut request);
                }
                let _ = stream.write_all(first);
                kept.push(stream);
            }
        });
        port
    };
    let web = serve(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false);
    let ssh = serve(b"SSH-2.0-OpenSSH_9.6\r\n", true);
    for (port, began) in
        [(web, r#"it began "HTTP/1.1 400 Bad Request"#), (ssh, r#"it began "SSH-2.0-OpenSSH_9.6"#)]
    {
        for mode in ["prefer", "disable", "require"] {
            let url = format!("postgres://u:secretpw@127.0.0.1:{port}/db?sslmode={mode}&connect_timeout=2");
            let error = run(&home, &["--db", &url, "list"], None).fails(1);
            assert!(
                error.contains(&format!(
                    "what answered at 127.0.0.1:{port} does not speak PostgreSQL's protocol: {began}"
                )),
                "{mode}: {error}"
            );
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }
}

/// A server that accepts and never answers fails at its `connect_timeout`, and the look at what
/// holds the port adds a quarter of a second, not a whole one (bb74 F3: 6.0 s for 5).
#[test]
fn a_server_that_never_answers_fails_at_its_connect_timeout_saying_what_holds_the_port() {
    let home = PrivateHome::new(&[]);
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let url = format!("postgres://u:secretpw@127.0.0.1:{port}/db?connect_timeout=2");
    let started = Instant::now();
    let error = run(&home, &["--db", &url, "list"], None).fails(1);
    let took = started.elapsed();
    assert!(error.contains("no answer within 2 s (connect_timeout)"), "{error}");
    assert!(
        error.contains(&format!(
            "what answered at 127.0.0.1:{port} accepted the connection and did not answer PostgreSQL's first message"
        )),
        "{error}"
    );
    assert!(took < Duration::from_millis(2_800), "{took:?}");
    assert!(!error.contains("secretpw"), "{error}");
    drop(silent);
}

#[test]
fn a_signal_while_the_server_never_answers_ends_the_command_within_seconds_saying_so() {
    // A server whose answer never comes (here: a connect; in the field, a COMMIT's answer
    // lost behind a pooler) held `set` past SIGTERM: the first signal was only noted.
    let home = PrivateHome::new(&[]);
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let url = format!("postgres://u:secretpw@127.0.0.1:{port}/db?connect_timeout=120");
    let document = home.path("home").join("doc.json");
    std::fs::write(&document, r#"{"a":1}"#).expect("document");
    let mut command = home.custodian();
    command.args(["--db", &url, "set", "u1", document.to_str().expect("utf-8")]);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    support::run::wait_until_catching(child.id(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(800));
    let signalled = Instant::now();
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().expect("wait");
    let waited = signalled.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(waited < Duration::from_secs(9), "ended {waited:?} after the signal");
    // Still connecting: nothing can have been written, and it says so (it said "whether the
    // last write was made is not known": bb27 Q05).
    assert!(
        stderr.contains(
            "stopped by a signal: the server did not answer the connection within 5 s; nothing was written"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("secretpw"), "{stderr}");
    drop(silent);
}

#[test]
fn set_says_the_size_jsonb_stored_as_history_and_changes_do() {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert("default", &LogtoUser::new("u1").custom_data("{}"));
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    // Sent as 10 bytes; jsonb writes the number out: `{"n":100000}`, 12.
    let set = run(&home, &["--db", &url, "set", "u1"], Some(br#"{"n":1E+5}"#)).ok();
    assert!(set.stdout.contains("revision 2 (12 B)"), "{set:?}");
    let history = run(&home, &["--db", &url, "history", "u1"], None).ok().stdout;
    assert!(history.lines().last().is_some_and(|l| l.contains("12 B")), "{history}");
    let changes = run(&home, &["--db", &url, "changes", "--user", "u1"], None).ok().stdout;
    assert!(changes.contains("12 B"), "{changes}");
}

#[test]
fn set_with_the_same_values_in_another_key_order_is_no_change() {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert(
        "default",
        &LogtoUser::new("u1").custom_data(r#"{"theme":"dark","lang":"en","a":{"y":1,"x":2}}"#),
    );
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let set =
        run(&home, &["--db", &url, "set", "u1"], Some(br#"{"a":{"x":2,"y":1},"lang":"en","theme":"dark"}"#))
            .ok();
    assert_eq!(set.stdout.trim(), "no changes: user u1 stays at revision 1", "{set:?}");
    let rows: i64 = db.count("select count(*) from custodian.history");
    assert_eq!(rows, 0, "nothing written");
}

#[test]
fn a_document_jsonb_would_store_over_the_limit_is_refused_and_nothing_written() {
    // 152 bytes sent, 1.2 MiB stored: jsonb writes 1e131000 out digit by digit. It was saved,
    // and then neither `restore` nor an import of the export took it.
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert("default", &LogtoUser::new("u1").custom_data(r#"{"kept":true}"#));
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let keys: Vec<String> = (0..10).map(|n| format!("\"k{n}\": 1e131000")).collect();
    let document = format!("{{{}}}", keys.join(", "));
    let error = run(&home, &["--db", &url, "set", "u1", "-"], Some(document.as_bytes())).fails(4);
    assert!(error.contains("user u1: not saved: PostgreSQL stores this customData as 1.2 MiB"), "{error}");
    assert_eq!(db.stored_text("u1"), r#"{"kept": true}"#, "nothing written");
    let rows: i64 = db.count("select count(*) from custodian.history");
    assert_eq!(rows, 0, "no history row either");
    // A number no jsonb holds at all: said as such, exit 4 (it was the server's raw words, exit 1).
    for number in ["1e200000", "1e-20000"] {
        let document = format!(r#"{{"n": {number}}}"#);
        let error = run(&home, &["--db", &url, "set", "u1", "-"], Some(document.as_bytes())).fails(4);
        assert!(
            error.contains("not saved: PostgreSQL's jsonb cannot hold a number of this customData"),
            "{error}"
        );
    }
}

/// A user `spaced` whose id SQL wrote with white space (Logto's `users.id` is text).
fn insert_spaced_id(db: &LogtoDb, id: &str, custom_data: &str) {
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, custom_data, created_at, updated_at) \
             values ('default', $1, 'spaced', $2::text::jsonb, now(), now())",
            &[&id, &custom_data],
        )
        .expect("insert");
}

#[test]
fn an_id_with_white_space_written_by_sql_is_never_taken_for_the_user_without_it() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    insert_spaced_id(&db, " u1", r#"{"mine": 1}"#);
    let before = run(&home, &["--db", &url, "get", "id:u1"], None).ok().stdout;
    // `id: u1` as a script builds it from `list --json`: both users match, neither is written.
    for reference in ["id: u1", " u1"] {
        let refused = run(&home, &["--db", &url, "set", reference, "-"], Some(b"{\"x\": 1}"));
        assert_eq!(refused.code, 2, "{reference:?}: {refused:?}");
        assert!(refused.stderr.contains("names more than one user"), "{refused:?}");
    }
    assert_eq!(run(&home, &["--db", &url, "get", "id:u1"], None).ok().stdout, before, "u1 untouched");
    // The refusal names a form for each, the spaced id quoted, and that form names it alone
    // (`id: u1` could not: bb11).
    let refused = run(&home, &["--db", &url, "get", " u1"], None);
    assert!(
        refused.stderr.contains(r#"user " u1" by id"#)
            && refused.stderr.contains(r#"say which with id:u1 or id:" u1""#),
        "{refused:?}"
    );
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let saved = run(&home, &["--db", &url, "set", r#"id:" u1""#, "-"], Some(b"{\"mine\": 2}"));
    assert_eq!(saved.code, 0, "{saved:?}");
    // Said quoted, as a reference takes it back: `saved: user  u1` read as the other user
    // (bb89 F4); so in `changes`, `list` and a revision not found.
    assert!(saved.stdout.starts_with(r#"saved: user " u1" revision 2"#), "{saved:?}");
    let changes = run(&home, &["--db", &url, "changes", "--limit", "1"], None).ok().stdout;
    assert!(changes.contains(r#"" u1""#), "{changes}");
    let listed = run(&home, &["--db", &url, "list"], None).ok().stdout;
    assert!(listed.lines().any(|line| line.starts_with(r#"" u1""#)), "{listed}");
    let missing = run(&home, &["--db", &url, "get", r#"id:" u1""#, "--revision", "9"], None);
    assert!(missing.stderr.contains(r#"user " u1" has no revision 9"#), "{missing:?}");
    assert!(run(&home, &["--db", &url, "get", r#"id:" u1""#], None).ok().stdout.contains("\"mine\": 2"));
    assert_eq!(run(&home, &["--db", &url, "get", "id:u1"], None).ok().stdout, before, "u1 untouched");
    // Alone, the id as typed names its user.
    db.superuser().execute("update users set id = 'u1x' where id = 'u1'", &[]).expect("rename");
    let shown = run(&home, &["--db", &url, "get", "id: u1"], None).ok().stdout;
    assert!(shown.contains("\"mine\": 2"), "{shown}");
}

#[test]
fn info_says_whether_the_user_count_is_estimated() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let users_line = || {
        let info = run(&home, &["--db", &url, "info"], None).ok();
        info.stdout.lines().find(|l| l.starts_with("users")).expect("a users line").to_owned()
    };
    let users = users_line();
    assert_eq!(users.split_whitespace().collect::<Vec<_>>(), ["users", "2"], "{users}");
    // Statistics taken while the table was empty, and 20,000 users since: counted, not
    // `~10,001` (bb63 F2: read as "about ten thousand").
    db.superuser().batch_execute("delete from users; analyze users").expect("an empty table analyzed");
    let twenty_thousand = |prefix: &str| {
        let sql = format!(
            "insert into users (tenant_id, id, username, created_at, updated_at) \
             select 'default', '{prefix}' || lpad(i::text, 9, '0'), '{prefix}user' || i, now(), now() \
             from generate_series(1, 20000) i"
        );
        db.superuser().batch_execute(&sql).expect("bulk insert");
    };
    twenty_thousand("e");
    let users = users_line();
    assert_eq!(users.split_whitespace().collect::<Vec<_>>(), ["users", "20,000"], "{users}");
    twenty_thousand("g");
    db.superuser().batch_execute("analyze users").expect("analyze");
    let users = users_line();
    assert!(users.contains("~") && users.contains("estimated"), "{users}");
}

#[test]
fn help_says_which_commands_work_on_postgresql() {
    let home = PrivateHome::new(&[]);
    let help = run(&home, &["--help"], None).ok().stdout;
    let line_of = |command: &str| -> String {
        help.lines()
            .find(|l| l.trim_start().starts_with(&format!("{command} ")))
            .unwrap_or_else(|| panic!("no {command} line in:\n{help}"))
            .to_owned()
    };
    assert!(line_of("import").contains("refused on PostgreSQL"), "{}", line_of("import"));
    assert!(line_of("seed").contains("Database files only"), "{}", line_of("seed"));
    assert!(line_of("compact").contains("database files only"), "{}", line_of("compact"));
    assert!(line_of("init").contains("on PostgreSQL, custodian's own schema"), "{}", line_of("init"));
    let paragraph = collapsed(&help);
    assert!(
        paragraph.contains(
            "There the editor and list, get, set, history, restore, patch, undo, changes, export and info work on the tenant's users"
        ),
        "{help}"
    );
    assert!(paragraph.contains("import and seed refuse"), "{help}");
    assert!(paragraph.contains("key order") && paragraph.contains("estimate"), "{help}");
}

fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sealed values work on PostgreSQL as on a file: `set --seal` stores ciphertext in Logto's
/// `custom_data`, plain `get` shows it sealed, `get --unseal` opens it.
#[test]
fn set_seal_and_get_unseal_work_on_the_tenants_users() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let key = home.path("key.jwk");
    let key = key.to_str().expect("utf-8 path");
    run(&home, &["keygen", "--out", key], None).ok();
    let url = db.tenant_url("default");
    let document = br#"{"theme": "dark", "billing": {"taxId": "DE123456789"}}"#;
    run(
        &home,
        &["--db", &url, "--key-file", key, "set", "alice", "-", "--seal", "billing.taxId"],
        Some(document),
    )
    .ok();
    let stored = run(&home, &["--db", &url, "get", "alice"], None).ok().stdout;
    assert!(!stored.contains("DE123456789") && stored.contains("\"taxId\": \"eyJ"), "{stored}");
    let opened = run(&home, &["--db", &url, "get", "alice", "--unseal", "--key-file", key], None).ok().stdout;
    let opened: serde_json::Value = serde_json::from_str(&opened).expect("JSON");
    assert_eq!(opened, serde_json::json!({"theme": "dark", "billing": {"taxId": "DE123456789"}}));
}

#[test]
fn the_json_schema_is_kept_per_tenant_on_postgresql_and_holds_set_and_check_to_it() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let schema = home.path("schema.json");
    std::fs::write(&schema, r#"{"properties": {"theme": {"enum": ["light", "dark"]}}}"#).expect("schema");
    let schema = schema.to_str().expect("utf-8 path");
    // Without custodian's schema in the database: no JSON Schema, and setting one names init.
    assert_eq!(run(&home, &["--db", &url, "schema", "get"], None).code, 3);
    let refused = run(&home, &["--db", &url, "schema", "set", schema], None).fails(1);
    assert!(refused.contains(" init`"), "{refused}");
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    run(&home, &["--db", &url, "schema", "set", schema], None).ok();
    let error = run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"theme": "pink"}"#)).fails(4);
    assert!(error.contains(r#"theme: "pink" is not one of "light", "dark""#), "{error}");
    run(&home, &["--db", &url, "schema", "check"], None).ok();
    // Another tenant has no schema of its own yet.
    let admin = db.tenant_url("admin");
    assert_eq!(run(&home, &["--db", &admin, "--tenant", "admin", "schema", "get"], None).code, 3);
}

/// Runs `custodian` while Logto holds `user`'s row (`SELECT … FOR UPDATE`, nothing
/// changed), calls `meanwhile` once custodian waits for it, then lets the row go.
fn while_logto_holds_the_row<T: Send>(
    db: &LogtoDb,
    user: &str,
    custodian: impl FnOnce() -> T + Send,
    meanwhile: impl FnOnce(),
) -> T {
    let mut logto = db.superuser();
    let mut holding = logto.transaction().expect("begin");
    holding
        .execute("select 1 from users where tenant_id = 'default' and id = $1 for update", &[&user])
        .expect("the row lock");
    std::thread::scope(|scope| {
        let running = scope.spawn(custodian);
        wait_for_lock_waiters(db, 1, || running.is_finished(), "custodian never waited for the row");
        meanwhile();
        holding.rollback().expect("Logto lets go");
        running.join().expect("custodian ran")
    })
}

#[test]
fn set_checks_again_against_a_schema_set_while_it_waited_for_the_row() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let themes = home.path("themes.json");
    std::fs::write(&themes, r#"{"properties": {"theme": {"enum": ["light", "dark"]}}}"#).expect("schema");
    let plans = home.path("plans.json");
    std::fs::write(&plans, r#"{"required": ["plan"]}"#).expect("schema");
    let set_schema = |file: &std::path::Path| {
        run(&home, &["--db", &url, "schema", "set", file.to_str().expect("utf-8")], None).ok();
    };
    // Checked against no schema, then held behind Logto's lock while one is set: the
    // document breaks it, so nothing is written (it was saved unchecked).
    let pink = while_logto_holds_the_row(
        &db,
        "u1",
        || run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"theme": "pink"}"#)),
        || set_schema(&themes),
    );
    let error = pink.fails(4);
    assert!(error.contains(r#"theme: "pink" is not one of "light", "dark""#), "{error}");
    assert_eq!(
        run(&home, &["--db", &url, "history", "alice"], None).ok().stdout.lines().count(),
        2,
        "one revision"
    );
    // A document the new schema takes is saved after the check against it.
    let light = while_logto_holds_the_row(
        &db,
        "u1",
        || run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"theme": "light", "plan": "free"}"#)),
        || set_schema(&plans),
    );
    light.ok();
    let stored = run(&home, &["--db", &url, "get", "alice"], None).ok().stdout;
    assert!(stored.contains(r#""plan": "free""#), "{stored}");
}

/// The batch id on the first line of `patch --yes` or `undo` (`batch b…: saved …`).
fn batch_of(run: &Run) -> String {
    run.stdout.split_whitespace().nth(1).map(|b| b.trim_end_matches(':').to_owned()).expect("a batch id")
}

/// Logto's database with custodian's schema, and a patch file adding `"flag": true`.
fn logto_ready_to_patch(home: &PrivateHome) -> (LogtoDb, String, String) {
    let db = logto();
    run(home, &["--db", &db.superuser_url(), "init"], None).ok();
    let patch = home.path("patch.json");
    std::fs::write(&patch, r#"[{"op":"add","path":"/flag","value":true}]"#).expect("write the patch");
    let url = db.tenant_url("default");
    (db, url, patch.to_str().expect("a UTF-8 path").to_owned())
}

/// bb15 L06: jsonb keeps a number's text as written (`2.0`, `2.50`), but the save compared
/// with jsonb's `=`, which holds `2` and `2.0` equal: "no changes", the operator's text
/// dropped (a file saved it). Now the text decides, as on a file; only another key order is
/// still no change (jsonb keeps none).
#[test]
fn a_save_that_only_writes_a_number_another_way_is_saved_on_postgres_and_a_key_order_is_not() {
    let home = PrivateHome::new(&[]);
    let (_db, url, _) = logto_ready_to_patch(&home);
    let set = |text: &str| run(&home, &["--db", &url, "set", "bob"], Some(text.as_bytes())).ok().stdout;
    assert!(set(r#"{"a":2,"b":1}"#).starts_with("saved"));
    let two_point_oh = set(r#"{"a":2.0,"b":1}"#);
    assert!(two_point_oh.starts_with("saved"), "{two_point_oh}");
    let shown = run(&home, &["--db", &url, "get", "bob"], None).ok().stdout;
    assert!(shown.contains(r#""a": 2.0"#), "{shown}");
    let reordered = set(r#"{"b":1,"a":2.0}"#);
    assert!(reordered.starts_with("no changes"), "{reordered}");
    // The same through a patch: a number written another way is a change, and it is written.
    let patch = home.path("number.json");
    std::fs::write(&patch, r#"[{"op":"replace","path":"/a","value":2.00}]"#).expect("write the patch");
    std::fs::write(home.path("bob.txt"), "bob\n").expect("users");
    let users = home.path("bob.txt");
    let args = [
        "--db",
        &url,
        "patch",
        patch.to_str().expect("utf-8"),
        "--users",
        users.to_str().expect("utf-8"),
        "--yes",
    ];
    let written = run(&home, &args, None).ok();
    assert!(written.stdout.contains("  1 user changed"), "{written:?}");
    let shown = run(&home, &["--db", &url, "get", "bob"], None).ok().stdout;
    assert!(shown.contains(r#""a": 2.00"#), "{shown}");
}

#[test]
fn a_patch_that_only_reorders_a_users_keys_is_no_change_on_postgres_in_the_counts_and_the_diff() {
    // jsonb keeps no key order: "set plan" as remove then add over a user whose plan was
    // already "team" was a change with a diff of moved lines, and `--yes` then said "2 users
    // changed" after saving 1.
    let home = PrivateHome::new(&[]);
    let (_db, url, _) = logto_ready_to_patch(&home);
    run(&home, &["--db", &url, "set", "bob"], Some(br#"{"plan":"team","theme":"dark"}"#)).ok();
    let patch = home.path("plan.json");
    std::fs::write(&patch, r#"[{"op":"remove","path":"/plan"},{"op":"add","path":"/plan","value":"team"}]"#)
        .expect("write the patch");
    std::fs::write(home.path("users.txt"), "alice\nbob\n").expect("users");
    let users = home.path("users.txt");
    let args =
        ["--db", &url, "patch", patch.to_str().expect("utf-8"), "--users", users.to_str().expect("utf-8")];
    // alice has no plan: the remove fails there.
    let dry = run(&home, &args, None).ok();
    assert!(
        dry.stdout.contains("0 users would change") && dry.stdout.contains("1 user unchanged"),
        "{dry:?}"
    );
    assert!(!dry.stdout.contains("--- user u2"), "no diff for bob: {dry:?}");
    let mut yes = args.to_vec();
    yes.push("--yes");
    let written = run(&home, &yes, None).ok();
    assert!(written.stdout.contains("  0 users changed\n  1 user unchanged"), "{written:?}");
    assert!(written.stdout.contains("no user's customData changed, so no batch was written"), "{written:?}");
    // A real change shows the changed value only, in the stored order.
    std::fs::write(&patch, r#"[{"op":"remove","path":"/plan"},{"op":"add","path":"/plan","value":"pro"}]"#)
        .expect("write the patch");
    let dry = run(&home, &args, None).ok();
    assert!(dry.stdout.contains("1 user would change"), "{dry:?}");
    let diff: Vec<&str> = dry.stdout.lines().filter(|l| l.starts_with('-') || l.starts_with('+')).collect();
    assert_eq!(
        diff,
        ["--- user u2 (bob), revision 2 → 3", r#"-   "plan": "team","#, r#"+   "plan": "pro","#],
        "{dry:?}"
    );
}

#[test]
fn a_patch_whose_documents_jsonb_would_store_over_the_limit_writes_nothing() {
    let home = PrivateHome::new(&[]);
    let (db, url, _) = logto_ready_to_patch(&home);
    let ops: Vec<String> =
        (0..10).map(|n| format!(r#"{{"op":"add","path":"/k{n}","value":1e131000}}"#)).collect();
    let patch = home.path("huge.json");
    std::fs::write(&patch, format!("[{}]", ops.join(","))).expect("write the patch");
    let error =
        run(&home, &["--db", &url, "patch", patch.to_str().expect("utf-8"), "--all", "--yes"], None).fails(4);
    assert!(error.contains("not saved: PostgreSQL stores this customData as 1.2 MiB"), "{error}");
    let rows: i64 = db.count("select count(*) from custodian.history");
    assert_eq!(rows, 0, "nothing written");
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(!alice.stdout.contains("k0"), "{alice:?}");
}

#[test]
fn patch_dry_run_writes_nothing_and_yes_writes_one_batch_that_history_tags_on_postgres() {
    let home = PrivateHome::new(&[]);
    let (_db, url, patch) = logto_ready_to_patch(&home);
    let dry = run(&home, &["--db", &url, "patch", &patch, "--all", "--dry-run"], None).ok();
    assert!(dry.stdout.contains("2 users would change"), "{dry:?}");
    assert!(dry.stdout.contains("+   \"flag\": true"), "the diff of the first users: {dry:?}");
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(!got.stdout.contains("flag"), "nothing written by the dry run: {got:?}");

    let yes = run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok();
    assert!(yes.stdout.contains("saved 2 users of 2"), "{yes:?}");
    let batch = batch_of(&yes);
    assert!(yes.stdout.contains(&format!("custodian undo {batch}")), "{yes:?}");
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok().stdout;
    assert!(history.lines().last().is_some_and(|l| l.contains(&format!("batch {batch}"))), "{history}");
    let got = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(got.stdout.contains("\"flag\": true"), "{got:?}");
}

#[test]
fn undo_on_postgres_leaves_a_user_logto_changed_since_alone_lists_it_and_exits_5() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    // Logto (or anyone with SQL) writes bob's customData after the batch: no custodian
    // history row says so, only the document itself.
    db.superuser()
        .execute("update users set custom_data = '{\"flag\": true, \"logto\": 1}' where id = 'u2'", &[])
        .expect("an outside write");
    let undo = run(&home, &["--db", &url, "undo", &batch], None);
    assert!(undo.stdout.contains(&format!("restored 1 user of batch {batch}")), "{undo:?}");
    assert!(undo.stdout.contains("u2 now at revision 3"), "{undo:?}");
    let line = undo.fails(5);
    assert!(line.contains("left alone"), "{line}");
    let bob = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(bob.stdout.contains("\"logto\": 1"), "left as Logto wrote it: {bob:?}");
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(alice.stdout.contains("\"dark\"") && !alice.stdout.contains("flag"), "restored: {alice:?}");
    let unknown = run(&home, &["--db", &url, "undo", "b20990101T000000Z-000000"], None).fails(3);
    assert!(unknown.contains("no batch \"b20990101T000000Z-000000\""), "{unknown}");
}

/// `undo A` under a later batch B on PostgreSQL, one user written by Logto since: B is named
/// for the others (what each undo took back read from `custodian.batches`), the user Logto
/// wrote as saved outside a batch; followed, the advice takes A back from every user but that
/// one.
#[test]
fn undo_advice_on_postgres_names_the_later_batch_and_the_write_outside_custodian() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let a = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let later = home.path("later.json");
    std::fs::write(&later, r#"[{"op":"add","path":"/later","value":1}]"#).expect("write the patch");
    let later = later.to_str().expect("a UTF-8 path");
    let b = batch_of(&run(&home, &["--db", &url, "patch", later, "--all", "--yes"], None).ok());
    db.superuser()
        .execute("update users set custom_data = '{\"logto\": 1}' where id = 'u2'", &[])
        .expect("an outside write");
    let refused = run(&home, &["--db", &url, "undo", &a], None);
    assert!(refused.stdout.contains(&format!("u1 now at revision 3 (batch {b})")), "{refused:?}");
    assert!(refused.stdout.contains("u2 now at revision 4\n"), "{refused:?}");
    assert!(
        refused.stdout.contains(&format!("`custodian undo {b}`, then this one"))
            && refused.stdout.contains("the other user listed (u2) was saved outside a batch since"),
        "{refused:?}"
    );
    refused.fails(5);
    run(&home, &["--db", &url, "undo", &b], None).fails(5);
    run(&home, &["--db", &url, "undo", &a], None).fails(5);
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(!alice.stdout.contains("flag") && !alice.stdout.contains("later"), "taken back: {alice:?}");
    let bob = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(bob.stdout.contains("\"logto\": 1"), "left as Logto wrote it: {bob:?}");
}

/// The advice's note of how many users a batch it names saved, on PostgreSQL: counted from
/// the tenant's journal (another tenant's users are not this batch's).
#[test]
fn undo_advice_on_postgres_says_how_many_users_the_later_batch_saved() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let alice = home.path("alice.txt");
    std::fs::write(&alice, "u1\n").expect("write the users file");
    let alice = alice.to_str().expect("a UTF-8 path");
    let a = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--users", alice, "--yes"], None).ok());
    let later = home.path("later.json");
    std::fs::write(&later, r#"[{"op":"add","path":"/later","value":1}]"#).expect("write the patch");
    let later = later.to_str().expect("a UTF-8 path");
    let b = batch_of(&run(&home, &["--db", &url, "patch", later, "--all", "--yes"], None).ok());
    let users: i64 = db
        .superuser()
        .query_one("select count(*) from users where tenant_id = 'default'", &[])
        .expect("counted")
        .get(0);
    assert!(users > 1, "{users}");
    let refused = run(&home, &["--db", &url, "undo", &a], None);
    assert!(
        refused.stdout.contains(&format!(
            "not only from those listed here: batch {b} saved {users} users (`custodian changes --batch {b}` lists them)"
        )),
        "{refused:?}"
    );
    refused.fails(5);
}

/// bb63 F4: a user deleted after the batch and another account created under the same id with
/// the very document the batch wrote: the undo took it for the batch's user and would have
/// written the first account's earlier document into it. It is left alone and listed.
#[test]
fn undo_on_postgres_leaves_another_account_created_under_a_batch_users_id_alone() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let written = db.stored_text("u2");
    std::thread::sleep(std::time::Duration::from_millis(20));
    db.superuser()
        .batch_execute(&format!(
            "delete from users where id = 'u2'; \
             insert into users (tenant_id, id, username, custom_data, created_at, updated_at) \
             values ('default', 'u2', 'bob', '{}'::jsonb, now(), now())",
            written.replace('\'', "''")
        ))
        .expect("another account under u2");
    let undo = run(&home, &["--db", &url, "undo", &batch], None);
    assert!(undo.stdout.contains("left alone"), "{undo:?}");
    // Not "now at revision 2 (batch B)", the batch's own revision (bb66 F5).
    assert!(undo.stdout.contains("  u2 deleted since (or another account is under its id now)"), "{undo:?}");
    undo.fails(5);
    assert_eq!(db.stored_text("u2"), written, "the new account's document untouched");
    let alice = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(!alice.stdout.contains("flag"), "the batch's own user restored: {alice:?}");
}

/// bb66 F2: a batch the server stops to end a deadlock (another session holding bob and then
/// asking for alice, whom the batch holds while it waits for bob) says what happened, that
/// nothing of it was written and to try again; it said PostgreSQL's bare `deadlock detected`.
#[test]
fn a_batch_chosen_to_end_a_deadlock_says_nothing_was_written_on_postgres() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let before = (db.stored_text("u1"), db.stored_text("u2"));
    let mut logto = db.superuser();
    let mut holding = logto.transaction().expect("begin");
    holding
        .execute("select 1 from users where tenant_id = 'default' and id = 'u2' for update", &[])
        .expect("bob");
    let run = std::thread::scope(|scope| {
        let running = scope.spawn(|| run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None));
        wait_for_lock_waiters(&db, 1, || running.is_finished(), "the batch never waited for bob");
        // The batch holds alice and waits for bob; asking for alice closes the cycle, and the
        // batch, waiting longer, is the one the server stops.
        holding
            .execute("select 1 from users where tenant_id = 'default' and id = 'u1' for update", &[])
            .expect("alice, once the batch is stopped");
        holding.rollback().expect("let go");
        running.join().expect("custodian ran")
    });
    let said = run.fails(1);
    assert!(said.contains("(deadlock detected): nothing of it was written; try again"), "{said}");
    assert_eq!((db.stored_text("u1"), db.stored_text("u2")), before, "nothing written");
}

/// bb66 F1: another account created under a deleted user's id is not given the first one's
/// history: `history` lists only what was kept since it was created, and `restore` of the first
/// account's revision is refused (it wrote that document into the second account's profile).
#[test]
fn another_account_under_a_deleted_users_id_has_none_of_its_history_on_postgres() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let first = run(&home, &["--db", &url, "history", "u2"], None).ok().stdout;
    assert!(first.lines().count() >= 3, "the first account's revisions 1 and 2: {first}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    another_account_under_u2(&db, "someone_else", r#"{"mine": 1}"#);
    let history = run(&home, &["--db", &url, "history", "u2"], None).ok().stdout;
    let revisions: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(revisions.len(), 1, "only the account's own (current) revision: {history}");
    assert!(!history.contains("batch"), "{history}");
    let refused = run(&home, &["--db", &url, "restore", "u2", "2"], None);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("revision 2"), "{refused:?}");
    let now = run(&home, &["--db", &url, "get", "u2"], None).ok().stdout;
    assert!(now.contains("\"mine\": 1") && !now.contains("flag"), "untouched: {now}");
    let old = run(&home, &["--db", &url, "get", "u2", "--revision", "1"], None);
    assert_ne!(old.code, 0, "the first account's revision 1 is not this one's: {old:?}");
    // The journal keeps the first account's saves (they happened) but names them by id alone,
    // and `--user` lists the current account's only, as `history` does (bb66 F1).
    let own = run(&home, &["--db", &url, "changes", "--user", "u2", "--json"], None).ok().stdout;
    assert!(!own.contains(&batch), "the batch saved the first account: {own}");
    // The new account's first revision kept (by `history` above) adds its own keys and removes
    // none of the first account's (it read `+mine −…` of the other's document: bb76 F4).
    let entries: Vec<serde_json::Value> =
        own.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert!(!entries.is_empty(), "{own}");
    for entry in &entries {
        assert_eq!(entry["removed"], serde_json::json!([]), "{own}");
        assert_eq!(entry["added"], serde_json::json!(["mine"]), "{own}");
    }
    let journal = run(&home, &["--db", &url, "changes", "--batch", &batch], None).ok().stdout;
    let u2 =
        journal.lines().find(|line| line.split_whitespace().any(|cell| cell == "u2")).expect("u2's save");
    assert!(!u2.contains("someone_else"), "{journal}");
    let alice = journal.lines().find(|line| line.contains("alice")).expect("alice's save, named");
    assert!(alice.contains(&batch), "{journal}");
}

/// bb100 F1: another account given a `created_at` before the first one's last revision (a
/// backfilled sign-up date, or the `now()` of a transaction begun before that save) took the
/// first account's revisions as its own, and `restore` wrote one into it. Each row keeps its
/// account's `created_at`; the undo of a batch leaves such an account alone too.
#[test]
fn another_account_under_a_deleted_users_id_created_in_the_past_has_none_of_its_history() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    run(&home, &["--db", &url, "set", "id:u2", "-"], Some(br#"{"plan":"first"}"#)).ok();
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let mut sql = db.superuser();
    let mut tx = sql.transaction().expect("begin");
    tx.execute("delete from users where id = 'u2'", &[]).expect("delete u2");
    tx.execute(
        "insert into users (tenant_id, id, username, custom_data, created_at) \
         values ('default', 'u2', 'backdated', '{\"flag\": true, \"plan\": \"first\"}', '2020-01-01')",
        &[],
    )
    .expect("another account, created in the past, given the first's last document");
    tx.commit().expect("commit");
    let history = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    let revisions: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(revisions.len(), 1, "the account's own document alone: {history}");
    assert!(revisions[0].contains("outside custodian"), "{history}");
    for revision in ["1", "2", "3"] {
        let refused = run(&home, &["--db", &url, "restore", "id:u2", revision], None);
        assert_eq!(refused.code, 3, "revision {revision} is the first account's: {refused:?}");
    }
    // The journal tells the accounts apart as `history` does: `--user` lists the new
    // account's own save alone, and the batch's save of the first is not named by the new one.
    let own = run(&home, &["--db", &url, "changes", "--user", "id:u2", "--json"], None).ok().stdout;
    assert!(!own.contains(&batch), "the batch saved the first account: {own}");
    assert_eq!(own.lines().count(), 1, "the kept outside document alone: {own}");
    let entry: serde_json::Value = serde_json::from_str(own.trim()).expect("json");
    assert_eq!(entry["removed"], serde_json::json!([]), "none of the first account's keys: {own}");
    let journal = run(&home, &["--db", &url, "changes", "--batch", &batch], None).ok().stdout;
    let u2 =
        journal.lines().find(|line| line.split_whitespace().any(|cell| cell == "u2")).expect("u2's save");
    assert!(!u2.contains("backdated"), "the first account's save named by the new one: {journal}");
    let undo = run(&home, &["--db", &url, "undo", &batch], None);
    assert!(undo.stdout.contains("u2 deleted since (or another account is under its id now)"), "{undo:?}");
    let now = run(&home, &["--db", &url, "get", "id:u2"], None).ok().stdout;
    assert!(now.contains("\"flag\": true"), "the undo left the other account alone: {now}");
}

/// A schema made before history rows kept their account (no `user_created_at`: `init` adds
/// it) is written and read as before, the account told by time.
#[test]
fn a_history_without_the_account_column_is_written_and_read_by_time() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    db.superuser()
        .batch_execute("alter table custodian.history drop column user_created_at")
        .expect("the schema before the column");
    run(&home, &["--db", &url, "set", "id:u2", "-"], Some(br#"{"v":1}"#)).ok();
    run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok();
    for read in ["get", "history", "get", "history"] {
        run(&home, &["--db", &url, read, "id:u2"], None).ok();
    }
    let history = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    assert!(history.lines().last().is_some_and(|line| line.starts_with("3 (current)")), "{history}");
    std::thread::sleep(Duration::from_millis(20));
    another_account_under_u2(&db, "newcomer", r#"{"v": 1, "flag": true}"#);
    let history = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    assert_eq!(history.lines().count(), 1 + 1, "by time, the new account's own alone: {history}");
    let info = run(&home, &["--db", &url, "info"], None).ok().stdout;
    assert!(info.contains("does not keep each revision's account: `custodian --db URL init` once"), "{info}");
    // `init` adds the column again, and nothing else changes.
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let again = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    assert_eq!(again, history);
    let info = run(&home, &["--db", &url, "info"], None).ok().stdout;
    assert!(!info.contains("does not keep"), "{info}");
}

/// User u2 deleted by SQL and another account created under its id, named `username`, holding
/// `custom_data`.
fn another_account_under_u2(db: &LogtoDb, username: &str, custom_data: &str) {
    let mut sql = db.superuser();
    let mut tx = sql.transaction().expect("begin");
    tx.execute("delete from users where id = 'u2'", &[]).expect("delete u2");
    tx.execute(
        "insert into users (tenant_id, id, username, custom_data) values ('default', 'u2', $1, $2::text::jsonb)",
        &[&username, &custom_data],
    )
    .expect("another account under u2");
    tx.commit().expect("commit");
}

/// bb98 F1: another account given the very document the deleted one had last read as that
/// account's revision (saved by its operator before the new account existed), a stale
/// `--expect-revision` for it was taken, and the save over it kept nothing of the new
/// account's own document.
#[test]
fn another_account_under_a_deleted_users_id_with_the_same_document_is_not_its_last_revision() {
    let home = PrivateHome::new(&[]);
    let (db, url, _) = logto_ready_to_patch(&home);
    let saved = run(&home, &["--db", &url, "set", "id:u2", "-"], Some(br#"{"v":1}"#)).ok().stdout;
    assert!(saved.contains("revision 2"), "{saved}");
    std::thread::sleep(Duration::from_millis(20));
    another_account_under_u2(&db, "newcomer", r#"{"v": 1}"#);
    let history = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    let revisions: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(revisions.len(), 1, "the account's own document alone: {history}");
    assert!(
        revisions[0].starts_with("3 (current)") && revisions[0].contains("outside custodian"),
        "{history}"
    );
    let listed = run(&home, &["--db", &url, "list", "--search", "newcomer"], None).ok().stdout;
    assert!(listed.lines().nth(1).is_some_and(|line| line.trim_end().ends_with(" 3")), "{listed}");
    // The revision a script read for the first account is not this one's.
    let stale =
        run(&home, &["--db", &url, "set", "id:u2", "--expect-revision", "2", "-"], Some(br#"{"v":9}"#));
    assert_eq!(stale.code, 5, "{stale:?}");
    // A save over it keeps the account's own document first, which a restore brings back.
    let saved =
        run(&home, &["--db", &url, "set", "id:u2", "--expect-revision", "3", "-"], Some(br#"{"v":9}"#));
    assert!(saved.ok().stdout.contains("revision 4"));
    run(&home, &["--db", &url, "restore", "id:u2", "3"], None).ok();
    let now = run(&home, &["--db", &url, "get", "id:u2"], None).ok().stdout;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&now).expect("json"), serde_json::json!({"v": 1}));
    // A document SQL dated before its account was created is kept once, dated no earlier than
    // the account (dated by its `updated_at`, it read as an earlier account's at every read).
    db.superuser()
        .batch_execute(
            "insert into users (tenant_id, id, username, custom_data, created_at, updated_at) \
             values ('default', 'o9', 'backdated', '{\"b\": 1}', now(), now() - interval '1 day')",
        )
        .expect("a backdated document");
    for read in ["get", "history", "get", "history"] {
        run(&home, &["--db", &url, read, "id:o9"], None).ok();
    }
    let history = run(&home, &["--db", &url, "history", "id:o9"], None).ok().stdout;
    assert_eq!(history.lines().count(), 1 + 1, "{history}");
    assert!(
        history.lines().last().is_some_and(|line| line.starts_with("1 (current)")),
        "kept once: {history}"
    );
    // An account whose `created_at` SQL moved (here ahead of the server's clock) is another
    // account to the rows kept with the one it had: its document is kept once as its own, and
    // reading it keeps nothing again (by time alone, each read kept one more).
    db.superuser()
        .batch_execute("update users set created_at = now() + interval '1 day' where id = 'u2'")
        .expect("a created_at ahead");
    for read in ["get", "history", "get", "history"] {
        run(&home, &["--db", &url, read, "id:u2"], None).ok();
    }
    let history = run(&home, &["--db", &url, "history", "id:u2"], None).ok().stdout;
    assert!(history.lines().last().is_some_and(|line| line.starts_with("6 (current)")), "{history}");
    assert_eq!(history.lines().count(), 1 + 1, "kept once, none kept again: {history}");
}

#[test]
fn undo_on_postgres_of_a_batch_whose_user_was_deleted_says_deleted_not_saved() {
    // It said "u2 now at revision 0" under "saved again since the batch".
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    db.superuser().execute("delete from users where id = 'u2'", &[]).expect("an outside delete");
    let undo = run(&home, &["--db", &url, "undo", &batch], None);
    assert!(undo.stdout.contains("left alone (saved again or deleted since the batch): 1 user"), "{undo:?}");
    assert!(undo.stdout.contains("  u2 deleted since"), "{undo:?}");
    assert!(!undo.stdout.contains("revision 0"), "{undo:?}");
    // The line a script logs says so too (it said "saved again since": bb18 L10).
    let said = undo.fails(5);
    assert!(
        said.contains("1 user of batch") && said.contains("left alone: deleted since (listed above)"),
        "{said}"
    );
}

#[test]
fn changes_on_postgres_lists_custodians_saves_by_time_user_batch_and_as_json() {
    let home = PrivateHome::new(&[]);
    let (_db, url, patch) = logto_ready_to_patch(&home);
    run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"theme":"light","beta":true}"#)).ok();
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["--db", url.as_str(), "changes", "--json"];
        all.extend_from_slice(args);
        let out = run(&home, &all, None).ok();
        out.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    };
    let every = json(&[]);
    let saves: Vec<(String, u64, String)> = every
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("userId"), e["revision"].as_u64().unwrap_or(0), text("savedBy"))
        })
        .collect();
    let tester = custodian::store::Author::describe_for_tests("tester");
    assert_eq!(
        saves.iter().filter(|s| s.2 != "outside custodian").count(),
        3,
        "alice's save and the batch's two: {saves:?}"
    );
    assert!(saves.contains(&("u1".into(), 3, tester.clone())) && saves.contains(&("u1".into(), 2, tester)));
    let alice = json(&["--user", "alice"]);
    assert_eq!(alice.iter().map(|e| e["revision"].as_u64().unwrap_or(0)).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(alice[0]["added"], serde_json::json!(["flag"]));
    assert_eq!(alice[1]["changed"], serde_json::json!(["theme"]));
    let in_batch = json(&["--batch", &batch]);
    assert_eq!(in_batch.len(), 2, "{in_batch:?}");
    assert!(in_batch.iter().all(|e| e["batch"] == batch.as_str()));
    assert_eq!(json(&["--since", "1h"]).len(), every.len());
    assert!(json(&["--since", "2099-01-01"]).is_empty());
    let table = run(&home, &["--db", &url, "changes", "--limit", "2"], None).ok();
    assert!(table.stdout.contains(&batch) && table.stdout.contains("+flag"), "{table:?}");
}

#[test]
fn an_expected_revision_read_after_an_outside_write_is_refused_after_another_one() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "set", "alice"], Some(br#"{"theme":"light"}"#)).ok();
    let outside = |document: &str| {
        db.superuser()
            .execute("update users set custom_data = $1::text::jsonb where id = 'u1'", &[&document])
            .expect("an outside write");
    };
    // Logto writes; a script reads the revision (history) and the document (get) ...
    outside(r#"{"theme": "logto-1"}"#);
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok();
    let current =
        history.stdout.lines().find(|l| l.contains("(current)")).expect("a current revision").to_owned();
    assert!(current.starts_with("3 (current)") && current.contains("outside custodian"), "{history:?}");
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(got.stdout.contains("logto-1"), "{got:?}");
    // ... Logto writes again before the script's save: that save is refused, not written over it.
    outside(r#"{"theme": "logto-2"}"#);
    let stale =
        run(&home, &["--db", &url, "set", "alice", "--expect-revision", "3"], Some(br#"{"theme":"mine"}"#));
    let refused = stale.fails(5);
    assert!(refused.contains("conflict"), "{refused}");
    let kept = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(kept.stdout.contains("logto-2"), "{kept:?}");
    // Read again, the revision names Logto's second document, and a save from it lands.
    let fresh =
        run(&home, &["--db", &url, "set", "alice", "--expect-revision", "4"], Some(br#"{"theme":"mine"}"#))
            .ok();
    assert!(fresh.stdout.contains("revision 5"), "{fresh:?}");
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok();
    for (revision, document) in [("3", "logto-1"), ("4", "logto-2")] {
        let text = run(&home, &["--db", &url, "get", "alice", "--revision", revision], None).ok();
        assert!(text.stdout.contains(document), "revision {revision} keeps {document}: {text:?} {history:?}");
    }
    // Read-only, nothing is kept: the history of a read-only look is what it was.
    outside(r#"{"theme": "logto-3"}"#);
    run(&home, &["--db", &url, "--read-only", "history", "alice"], None).ok();
    run(&home, &["--db", &url, "--read-only", "get", "alice"], None).ok();
    let rows: i64 = db.count("select count(*) from custodian.history where user_id = 'u1'");
    assert_eq!(rows, 5, "read-only kept nothing");
}

/// Runs custodian while another transaction holds `update` uncommitted, and commits it once
/// custodian waits for its row lock: the write lands while custodian's statement waits.
fn with_an_outside_write_landing_while_it_waits(
    db: &LogtoDb,
    update: &str,
    custodian: impl FnOnce() -> Run + Send,
) -> Run {
    with_an_outside_write_landing_while_they_wait(db, update, 1, custodian)
}

/// The same, committed once `waiters` statements wait for a lock.
fn with_an_outside_write_landing_while_they_wait<T: Send>(
    db: &LogtoDb,
    update: &str,
    waiters: i64,
    custodian: impl FnOnce() -> T + Send,
) -> T {
    let mut writer = db.superuser();
    let mut tx = writer.transaction().expect("the outside transaction");
    tx.execute(update, &[]).expect("the outside write");
    std::thread::scope(|scope| {
        let running = scope.spawn(custodian);
        wait_for_lock_waiters(db, waiters, || running.is_finished(), "custodian never waited for the lock");
        tx.commit().expect("the outside commit");
        running.join().expect("custodian ran")
    })
}

#[test]
fn a_logto_write_landing_while_patch_waits_for_the_lock_is_kept_as_its_own_revision() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    // custodian's history holds bob's document: only a look at it after the lock tells it changed.
    run(&home, &["--db", &url, "set", "bob"], Some(br#"{"plan":"free"}"#)).ok();
    let yes = with_an_outside_write_landing_while_it_waits(
        &db,
        "update users set custom_data = custom_data || '{\"logto\": 1}' where id = 'u2'",
        || run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None),
    )
    .ok();
    let batch = batch_of(&yes);
    let history = run(&home, &["--db", &url, "history", "bob"], None).ok().stdout;
    // Logto's write is a revision of its own, not folded into the batch's.
    let logto = history.lines().find(|l| l.contains("outside custodian") && l.contains("+1: logto"));
    assert!(logto.is_some(), "{history}");
    let batched =
        history.lines().find(|l| l.contains(&format!("batch {batch}"))).expect("the batch's revision");
    assert!(batched.contains("+1: flag") && !batched.contains("logto"), "{history}");
    // So the undo takes the batch's change back and leaves Logto's.
    run(&home, &["--db", &url, "undo", &batch], None).ok();
    let bob = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(bob.stdout.contains("\"logto\": 1") && !bob.stdout.contains("flag"), "{bob:?}");
}

#[test]
fn a_logto_write_landing_while_undo_waits_for_the_lock_is_a_change_since_and_left_alone() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let batch = batch_of(&run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok());
    let undo = with_an_outside_write_landing_while_it_waits(
        &db,
        "update users set custom_data = custom_data || '{\"logto\": 1}' where id = 'u2'",
        || run(&home, &["--db", &url, "undo", &batch], None),
    );
    let line = undo.fails(5);
    assert!(line.contains("left alone"), "{line}");
    let bob = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(
        bob.stdout.contains("\"logto\": 1") && bob.stdout.contains("flag"),
        "Logto's write kept: {bob:?}"
    );
}

#[test]
fn two_batches_on_the_same_user_at_once_both_land_one_after_the_other() {
    let home = PrivateHome::new(&[]);
    let (db, url, patch) = logto_ready_to_patch(&home);
    let other = home.path("other.json");
    std::fs::write(&other, r#"[{"op":"add","path":"/other","value":1}]"#).expect("write the patch");
    let other = other.to_str().expect("utf-8").to_owned();
    // Both batches wait behind an outside lock, then run one after the other.
    let (first, second) = with_an_outside_write_landing_while_they_wait(
        &db,
        "update users set name = 'Bob' where id = 'u2'",
        2,
        || {
            std::thread::scope(|scope| {
                let first =
                    scope.spawn(|| run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None));
                let second =
                    scope.spawn(|| run(&home, &["--db", &url, "patch", &other, "--all", "--yes"], None));
                (first.join().expect("the first batch"), second.join().expect("the second batch"))
            })
        },
    );
    let (first, second) = (first.ok(), second.ok());
    assert!(first.stdout.contains("saved 2 users of 2"), "{first:?}");
    assert!(second.stdout.contains("saved 2 users of 2"), "{second:?}");
    let bob = run(&home, &["--db", &url, "get", "bob"], None).ok();
    assert!(bob.stdout.contains("flag") && bob.stdout.contains("other"), "{bob:?}");
}

/// Users whose `custom_data` SQL wrote as something other than an object (Logto and custodian
/// never do), by id with that text; their usernames `odd1`… put them after alice and bob.
const ODD_DOCUMENTS: [(&str, &str); 7] = [
    ("o1", "null"),
    ("o2", "[1, 2]"),
    ("o3", r#""x""#),
    ("o4", "true"),
    ("o5", "3"),
    ("o6", "null"),
    ("o7", "null"),
];

/// [`logto_ready_to_patch`] with the [`ODD_DOCUMENTS`] users beside alice and bob.
fn logto_with_odd_documents(home: &PrivateHome) -> (LogtoDb, String, String) {
    let (db, url, patch) = logto_ready_to_patch(home);
    for (n, (id, text)) in ODD_DOCUMENTS.iter().enumerate() {
        let user = LogtoUser::from_api(serde_json::json!({"id": id, "username": format!("odd{}", n + 1)}));
        db.insert("default", &user.custom_data(text));
    }
    (db, url, patch)
}

/// The ids of JSON lines (as JSON text: `"u1"`).
fn ids_in(lines: &str) -> Vec<String> {
    lines
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line")["id"].to_string())
        .collect()
}

/// What `export` and `list --json` say of the [`ODD_DOCUMENTS`] users they leave out of
/// `what`, alice and bob written to `to`.
fn odd_users_left_out_of(what: &str, to: &str) -> String {
    format!(
        "7 users left out of {what}, their stored customData no JSON object custodian can read: o1 (null), o2 (an array), \
         o3 (a string), o4 (a boolean), o5 (a number) and 2 more; `custodian set id:ID` replaces each one's; \
         the other 2 users were written to {to}"
    )
}

/// bb99 F7: a `profile` SQL nested 128 levels deep or more was read as `{}`, its other keys gone
/// too, on the screen's `i` and in the export, nothing said. Read whole up to 512 levels.
#[test]
fn a_profile_nested_past_128_levels_is_read_whole() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let deep = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
    db.superuser()
        .execute(
            "update users set profile = $1::text::jsonb where id = 'u1'",
            &[&format!("{{\"nickname\":\"deepnick\",\"a\":{}}}", deep(300))],
        )
        .expect("a deep profile");
    db.superuser()
        .execute("update users set profile = $1::text::jsonb where id = 'u2'", &[&deep(600)])
        .expect("a profile deeper than custodian reads");
    let export = run(&home, &["--db", &url, "export"], None);
    // Written whole, and said as a user an import would refuse (custodian's rules), exit 1.
    assert_eq!(export.code, 1, "{export:?}");
    assert!(export.stderr.contains("u1 (nested deeper than 64 levels)"), "{export:?}");
    let alice = export.stdout.lines().find(|line| line.contains("\"u1\"")).expect("u1 exported");
    assert!(alice.contains("\"nickname\":\"deepnick\""), "{alice}");
    // 300 levels under the key `a`, which jsonb puts first (keys by length): 301 in all.
    assert_eq!(alice.matches("{\"a\":").count(), 301, "the whole profile");
    // Deeper than that: read as empty, as before, and the log says so without `set`'s advice
    // (it writes customData, never the profile).
    let bob = export.stdout.lines().find(|line| line.contains("\"u2\"")).expect("u2 exported");
    assert!(bob.contains("\"profile\":{}"), "{bob}");
    let log =
        std::fs::read_to_string(home.path("state").join("custodian").join("custodian.log")).expect("log");
    let said = log.lines().find(|line| line.contains("user=u2") && line.contains("profile")).expect("said");
    assert!(
        said.contains("an object nested deeper than custodian reads") && !said.contains("custodian set"),
        "{said}"
    );
}

#[test]
fn export_writes_every_other_user_and_names_those_whose_custom_data_sql_made_no_object() {
    // One such user stopped the export there: a truncated file, and nothing said of the rest.
    let home = PrivateHome::new(&[]);
    let (_db, url, _) = logto_with_odd_documents(&home);
    let to_stdout = run(&home, &["--db", &url, "export"], None);
    let stdout = to_stdout.stdout.clone();
    assert_eq!(ids_in(&stdout), [r#""u1""#, r#""u2""#], "{stdout}");
    let error = to_stdout.fails(1);
    assert!(error.ends_with(&odd_users_left_out_of("the export", "standard output")), "{error}");
    // To a file: published with the others (the same lines), and the same line names who is not.
    let out = home.path("users.jsonl");
    let out_arg = out.to_str().expect("utf-8");
    let error = run(&home, &["--db", &url, "export", "--out", out_arg], None).fails(1);
    assert!(error.contains("7 users left out of the export"), "{error}");
    assert!(error.ends_with(&format!("the other 2 users were written to {out_arg}")), "{error}");
    assert_eq!(std::fs::read_to_string(&out).expect("the file was published"), stdout);
    let names: Vec<String> = std::fs::read_dir(home.path(""))
        .expect("list the home")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name.contains("custodian-export")),
        "a temporary file was left: {names:?}"
    );
    // Mended as the message says, they are exported with the rest.
    for (id, _) in ODD_DOCUMENTS {
        run(&home, &["--db", &url, "set", &format!("id:{id}")], Some(b"{}")).ok();
    }
    assert_eq!(run(&home, &["--db", &url, "export"], None).ok().stdout.lines().count(), 9);
}

/// Logto takes a customData nested 100 deep, and SQL writes an id with white space: the
/// export wrote them and said nothing (exit 0), and the import of that file then refused
/// it whole (bb11). Now every line is written, and the export names those an import would
/// refuse and why (exit 1).
#[test]
fn export_names_the_users_an_import_of_it_would_refuse_and_still_writes_them() {
    let home = PrivateHome::new(&[]);
    let (db, url, _) = logto_ready_to_patch(&home);
    let deep = format!("{}1{}", "{\"a\": ".repeat(100), "}".repeat(100));
    db.insert(
        "default",
        &LogtoUser::from_api(serde_json::json!({"id": "d1", "username": "deep"})).custom_data(&deep),
    );
    insert_spaced_id(&db, " s1", "{}");
    let out = home.path("users.jsonl");
    let out_arg = out.to_str().expect("utf-8");
    let error = run(&home, &["--db", &url, "export", "--out", out_arg], None).fails(1);
    assert!(error.contains("4 users were written to "), "{error}");
    assert!(error.contains("an import of it would refuse 2 of them"), "{error}");
    assert!(error.contains("d1 (nested deeper than 64 levels"), "{error}");
    assert!(error.contains("\" s1\" (`id` \" s1\" is not 1–12 characters"), "{error}");
    let exported = std::fs::read_to_string(&out).expect("the file was published");
    assert_eq!(exported.lines().count(), 4, "every user written: {exported}");
    // What it said is what the import says.
    let file_db = home.path("copy.redb");
    run(&home, &["--db", file_db.to_str().expect("utf-8"), "init"], None).ok();
    let refused = run(&home, &["--db", file_db.to_str().expect("utf-8"), "import", out_arg], None).fails(4);
    assert!(
        refused.contains("nested deeper than 64 levels") || refused.contains("is not 1–12 characters"),
        "{refused}"
    );
    // Without them the export is whole and quiet.
    db.superuser().execute("delete from users where id in ('d1', ' s1')", &[]).expect("delete");
    let again = run(&home, &["--db", &url, "export"], None).ok();
    assert_eq!(again.stdout.lines().count(), 2, "{again:?}");
}

/// Logto keeps `Bob` and `bob` apart; custodian's import refuses the second. The export said
/// such names were not looked for (bb16 L16): now it names them, and the import of the file
/// refuses what it said.
#[test]
fn export_names_users_who_share_a_name_an_import_keeps_unique() {
    let home = PrivateHome::new(&[]);
    let (db, url, _) = logto_ready_to_patch(&home);
    for (id, username) in [("b1", "Quentin"), ("b2", "quentin"), ("b3", "carol")] {
        db.insert("default", &LogtoUser::from_api(serde_json::json!({"id": id, "username": username})));
    }
    let out = home.path("users.jsonl");
    let out_arg = out.to_str().expect("utf-8");
    let error = run(&home, &["--db", &url, "export", "--out", out_arg], None).fails(1);
    assert!(error.contains("5 users were written to "), "{error}");
    assert!(
        error.contains("an import of it would refuse users who share a name custodian keeps unique"),
        "{error}"
    );
    assert!(error.contains(r#"username "quentin" (b1, b2); fix them"#), "{error}");
    let file_db = home.path("copy.redb");
    run(&home, &["--db", file_db.to_str().expect("utf-8"), "init"], None).ok();
    let refused = run(&home, &["--db", file_db.to_str().expect("utf-8"), "import", out_arg], None).fails(5);
    assert!(refused.contains(r#"username "quentin" is also given by another record"#), "{refused}");
    // Renamed where they are stored, as the message says, the export is whole and quiet.
    db.superuser().execute("update users set username = 'quentin2' where id = 'b2'", &[]).expect("rename");
    let again = run(&home, &["--db", &url, "export"], None).ok();
    assert_eq!(again.stdout.lines().count(), 5, "{again:?}");
}

#[test]
fn list_json_writes_every_other_user_and_names_those_whose_custom_data_sql_made_no_object() {
    // It stopped at the first such user with that user's read error, the rest never listed.
    let home = PrivateHome::new(&[]);
    let (_db, url, _) = logto_with_odd_documents(&home);
    let listed = run(&home, &["--db", &url, "list", "--json"], None);
    assert_eq!(ids_in(&listed.stdout), [r#""u1""#, r#""u2""#], "{listed:?}");
    let error = listed.fails(1);
    assert!(error.ends_with(&odd_users_left_out_of("the list", "standard output")), "{error}");
    // The table needs no customData: every user, exit 0.
    let table = run(&home, &["--db", &url, "list"], None).ok();
    assert_eq!(table.stdout.lines().count(), 10, "a heading and 9 users: {table:?}");
}

#[test]
fn a_patch_counts_users_whose_custom_data_sql_made_no_object_as_failing_and_patches_the_others() {
    // One such user failed the whole patch (a dry run too) with that user's read error.
    let home = PrivateHome::new(&[]);
    let (_db, url, patch) = logto_with_odd_documents(&home);
    let null = "the stored customData is null, not a JSON object (`custodian set id:ID` replaces it): 3 users (o1, o6, o7)";
    let array = "the stored customData is an array, not a JSON object (`custodian set id:ID` replaces it): 1 user (o2)";
    let dry = run(&home, &["--db", &url, "patch", &patch, "--all"], None).ok();
    for expected in ["9 users matched", "  2 users would change", "  7 users cannot be patched", null, array]
    {
        assert!(dry.stdout.contains(expected), "{expected:?}: {dry:?}");
    }
    // --strict: the first of them aborts the batch, dry run or not; nothing written.
    for yes in [None, Some("--yes")] {
        let args = ["--db", &url, "patch", &patch, "--all", "--strict"].into_iter().chain(yes);
        let error = run(&home, &args.collect::<Vec<_>>(), None).fails(4);
        assert!(error.contains("user o1: the stored customData is null, not a JSON object"), "{error}");
        assert!(error.ends_with("--strict: nothing was written"), "{error}");
    }
    assert!(!run(&home, &["--db", &url, "get", "alice"], None).ok().stdout.contains("flag"));
    // --yes: the others patched in one batch, those users left as they are and counted.
    let written = run(&home, &["--db", &url, "patch", &patch, "--all", "--yes"], None).ok();
    assert!(written.stdout.contains("saved 2 users of 9 users"), "{written:?}");
    assert!(written.stdout.contains(null) && written.stdout.contains(array), "{written:?}");
    for user in ["alice", "bob"] {
        assert!(run(&home, &["--db", &url, "get", user], None).ok().stdout.contains(r#""flag": true"#));
    }
    let error = run(&home, &["--db", &url, "get", "id:o1"], None).fails(1);
    assert!(error.contains("its customData in the database is null, not a JSON object"), "{error}");
}

#[test]
fn schema_check_reports_users_whose_custom_data_sql_made_no_object_and_checks_the_others() {
    // One such user stopped the check with a read error; a `null` must fail even a schema
    // that does not say "type": "object" (customData is an object whatever the schema).
    let home = PrivateHome::new(&[]);
    let (_db, url, _) = logto_with_odd_documents(&home);
    let schema = home.write("schema.json", r#"{"properties": {"theme": {"const": "light"}}}"#);
    let checked = run(&home, &["--db", &url, "--schema", &schema, "schema", "check"], None);
    let stdout = checked.stdout.clone();
    let error = checked.fails(4);
    assert!(error.ends_with("8 of 9 users do not satisfy the schema"), "{error}");
    let ids: Vec<&str> = stdout.lines().filter_map(|line| line.split('\t').next()).collect();
    assert_eq!(ids, ["u1", "o1", "o2", "o3", "o4", "o5", "o6", "o7"], "{stdout}");
    assert!(
        stdout.contains(
            "o1\todd1\tline 1, col 1: the document: the stored customData is null, not a JSON object \
             (`custodian set id:ID` replaces it)\t1 error\n"
        ),
        "{stdout}"
    );
    let json = run(&home, &["--db", &url, "--schema", &schema, "schema", "check", "--json"], None);
    let o2 = json.stdout.lines().find(|line| line.contains(r#""id":"o2""#)).expect("o2 reported");
    let o2: serde_json::Value = serde_json::from_str(o2).expect("a JSON line");
    assert_eq!(
        o2["first"]["message"],
        "the stored customData is an array, not a JSON object (`custodian set id:ID` replaces it)"
    );
    json.fails(4);
}

#[test]
fn set_and_restore_show_an_id_sql_gave_escape_sequences_inert() {
    // Logto's ids are 12 characters of its alphabet, but `users.id` is a varchar: SQL can put
    // ESC and C1 controls in one, and `saved: user …` wrote them raw to the terminal.
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let id = "h\u{1b}[2J\u{9b}1m";
    db.insert(
        "default",
        &LogtoUser::from_api(serde_json::json!({"id": id, "username": "hostile", "customData": {"a": 1}})),
    );
    let url = db.tenant_url("default");
    let saved = run(&home, &["--db", &url, "set", "hostile", "-"], Some(br#"{"b":2}"#)).ok();
    let unchanged = run(&home, &["--db", &url, "set", "hostile", "-"], Some(br#"{"b":2}"#)).ok();
    let restored = run(&home, &["--db", &url, "restore", "hostile", "1"], None).ok();
    for run in [&saved, &unchanged, &restored] {
        assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{9b}'), "{run:?}");
        assert!(run.stdout.contains("user h␛[2J"), "{run:?}");
    }
    // The export's closing line names it as it is, escaped once: marked first, its ESC came
    // out as `\u{241b}`, the id of another user (bb63 F1).
    let out = home.path("out.jsonl");
    let exported = run(&home, &["--db", &url, "export", "--out", out.to_str().expect("utf-8")], None);
    assert!(exported.stderr.contains("would refuse 1 of them"), "{exported:?}");
    assert!(exported.stderr.contains("h\\u{1b}[2J"), "{exported:?}");
    assert!(!exported.stderr.contains("241b") && !exported.stderr.contains('\u{1b}'), "{exported:?}");
}

#[test]
fn a_custom_data_sql_nested_deeper_than_custodian_reads_is_said_as_that_not_as_text_that_is_not_json() {
    // jsonb holds any depth; serde_json reads 128 levels. It was called "text that is not
    // JSON", though PostgreSQL calls it an object.
    let db = logto();
    let home = PrivateHome::new(&[]);
    let deep = format!("{{\"a\":{}1{}}}", "{\"b\":".repeat(200), "}".repeat(200));
    db.insert("default", &LogtoUser::new("deep1").custom_data(&deep));
    let url = db.tenant_url("default");
    let line = run(&home, &["--db", &url, "get", "id:deep1"], None).fails(1);
    assert!(line.contains("its customData in the database is an object nested 128 levels deep or more (written outside custodian)"), "{line}");
    let exported = run(&home, &["--db", &url, "export"], None);
    assert!(exported.stderr.contains("deep1 (an object nested 128 levels deep or more)"), "{exported:?}");
    // A search finds a value in it, and in an array as deep, which is said as an array
    // (bb78 F6: both were searched as empty, and the array was called an object).
    let deep_array = format!("{}\"needleY\"{}", "[".repeat(200), "]".repeat(200));
    db.insert("default", &LogtoUser::new("deep2").custom_data(&deep_array));
    let deep_needle = format!("{{\"a\":{}\"needleX\"{}}}", "{\"b\":".repeat(200), "}".repeat(200));
    db.insert("default", &LogtoUser::new("deep3").custom_data(&deep_needle));
    // A value with a backslash and a quote, as jsonb writes them escaped (bb80 F5).
    let deep_escaped = format!("{{\"a\":{}\"C:\\\\temp\\\"q\"{}}}", "{\"b\":".repeat(200), "}".repeat(200));
    db.insert("default", &LogtoUser::new("deep4").custom_data(&deep_escaped));
    for (needle, id) in [("needleX", "deep3"), ("needley", "deep2"), ("C:\\temp\"q", "deep4")] {
        let found = run(&home, &["--db", &url, "list", "--search", needle], None).ok();
        assert!(found.stdout.lines().nth(1).is_some_and(|line| line.starts_with(id)), "{needle}: {found:?}");
        assert_eq!(found.stdout.lines().count(), 2, "{needle}: {found:?}");
    }
    let line = run(&home, &["--db", &url, "get", "id:deep2"], None).fails(1);
    assert!(line.contains("is an array nested 128 levels deep or more, not a JSON object"), "{line}");
}

#[test]
fn the_history_of_a_user_whose_custom_data_sql_made_no_object_is_read_and_restored_from() {
    // history, get --revision and restore all failed with the current document's error: the
    // way back to the last good revision was shut exactly when it was needed.
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"good":1}"#)).ok();
    db.superuser().execute("update users set custom_data = '\"oops\"' where id = 'u1'", &[]).expect("SQL");
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok();
    assert_eq!(history.stdout.lines().count(), 4, "a heading and three revisions: {history:?}");
    assert!(history.stdout.lines().last().is_some_and(|l| l.starts_with("3 (current)")), "{history:?}");
    let old = run(&home, &["--db", &url, "get", "alice", "--revision", "2"], None).ok();
    assert!(old.stdout.contains("\"good\": 1"), "{old:?}");
    run(&home, &["--db", &url, "restore", "alice", "2"], None).ok();
    let now = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(now.stdout.contains("\"good\": 1"), "{now:?}");
}

/// bb58 F1: a kept edit's command (`set id:U FILE --expect-revision 1`) overwrote what Logto
/// wrote since to a user custodian never saved: the revision stays 1 there. With the digest of
/// the document the edit began from, that write is refused (exit 5) and nothing is written;
/// without one since, the same command saves.
#[test]
fn set_with_the_digest_of_the_base_refuses_an_outside_write_the_revision_cannot_tell() {
    use custodian::store::{PostgresOptions, PostgresStore, UserStore};
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    let store = PostgresStore::connect(&url, &PostgresOptions::default()).expect("connect");
    let base = store.custom_data("u1").expect("alice's document");
    assert_eq!(base.revision, 1);
    let digest = custodian::draft::digest(&base.text);
    let short = &digest[..23];
    db.superuser()
        .execute(r#"update users set custom_data = '{"logto_wrote":1}' where id = 'u1'"#, &[])
        .expect("an outside write");
    let args =
        ["--db", url.as_str(), "set", "id:u1", "-", "--expect-revision", "1", "--expect-digest", short];
    let refused = run(&home, &args, Some(br#"{"mine":1}"#)).fails(5);
    assert!(refused.contains("was changed outside custodian"), "{refused}");
    let stored = db.stored_text("u1");
    assert!(stored.contains("logto_wrote") && !stored.contains("mine"), "{stored}");
    // With no write since, the same command saves.
    let u2 = store.custom_data("u2").expect("bob's document");
    let digest = custodian::draft::digest(&u2.text);
    let args = [
        "--db",
        url.as_str(),
        "set",
        "id:u2",
        "-",
        "--expect-revision",
        "1",
        "--expect-digest",
        &digest[..23],
    ];
    run(&home, &args, Some(br#"{"mine":2}"#)).ok();
    // A digest that is none, or given without --expect-revision: usage errors.
    let bad = [
        "--db",
        url.as_str(),
        "set",
        "id:u2",
        "-",
        "--expect-revision",
        "2",
        "--expect-digest",
        "sha256:xyz",
    ];
    run(&home, &bad, Some(b"{}")).fails(2);
    run(&home, &["--db", url.as_str(), "set", "id:u2", "-", "--expect-digest", &digest[..23]], Some(b"{}"))
        .fails(2);
}

/// A server that takes no writes (a hot standby, `default_transaction_read_only`): `get` and
/// `history` of a user written outside custodian tried to keep that document, and failed with
/// "cannot execute SELECT FOR UPDATE in a read-only transaction" (bb53 F4). They read as
/// `--read-only` reads.
#[test]
fn get_and_history_answer_on_a_server_that_takes_no_writes() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"kept":1}"#)).ok();
    db.superuser()
        .batch_execute(&format!(
            "update users set custom_data = '{{\"outside\": 2}}' where id = 'u1'; \
             alter database {} set default_transaction_read_only = on",
            db.name
        ))
        .expect("an outside write, then a server that takes none");
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(got.stdout.contains("\"outside\": 2"), "{got:?}");
    let history = run(&home, &["--db", &url, "history", "alice"], None).ok();
    assert!(history.stdout.lines().last().is_some_and(|l| l.starts_with("3 (current)")), "{history:?}");
    // A write is refused in custodian's words, not SQL's (bb54 F6).
    for (args, stdin) in [(&["set", "alice", "-"][..], Some(&br#"{"x":1}"#[..])), (&["init"], None)] {
        let line = run(&home, &[&["--db", url.as_str()][..], args].concat(), stdin).fails(1);
        assert!(
            line.contains("the server takes no writes (a hot standby, or default_transaction_read_only is on): nothing was written")
                && !line.contains("read-only transaction"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn get_and_history_answer_at_once_while_someone_holds_the_users_row() {
    // They took the row lock to keep an outside write even when there was none, so a batch or
    // Logto holding the row made a plain read wait 3 s and fail as busy.
    let db = logto();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let url = db.tenant_url("default");
    run(&home, &["--db", &url, "set", "alice", "-"], Some(br#"{"kept":1}"#)).ok();
    let mut holder = db.superuser();
    let mut tx = holder.transaction().expect("a transaction");
    tx.execute("select 1 from users where id = 'u1' for update", &[]).expect("the row lock");
    // Each answers before the 3 s a write waits for a lock (a read that waited that long
    // failed as busy): timed one by one, on a machine that may be busy.
    let started = Instant::now();
    let got = run(&home, &["--db", &url, "get", "alice"], None).ok();
    assert!(got.stdout.contains("\"kept\": 1"), "{got:?}");
    assert!(started.elapsed() < Duration::from_millis(2900), "get took {:?}", started.elapsed());
    let started = Instant::now();
    run(&home, &["--db", &url, "history", "alice"], None).ok();
    assert!(started.elapsed() < Duration::from_millis(2900), "history took {:?}", started.elapsed());
    // An outside write not kept yet, under someone's lock: left unkept, it was given as
    // revision N+1, a number the next document kept then took, so a `set --expect-revision`
    // made from that reading overwrote a later outside write (bb53 F1). The read waits for the
    // row as a save does; held past the 3 s, it gives no revision at all.
    tx.execute("update users set custom_data = '{\"outside\": 2}' where id = 'u1'", &[]).expect("write");
    tx.commit().expect("commit");
    let mut tx = holder.transaction().expect("a transaction");
    tx.execute("update users set custom_data = '{\"held\": 3}' where id = 'u1'", &[])
        .expect("the held write");
    for args in [&["get", "alice"][..], &["history", "alice"]] {
        let refused = run(&home, &[&["--db", url.as_str()][..], args].concat(), None);
        assert!(refused.stdout.is_empty(), "{refused:?}");
        let error = refused.fails(1);
        assert!(
            error.contains("was written outside custodian and another session (Logto, a script, another custodian) holds its row")
                && error.contains("no revision of it is given; try again"),
            "{args:?}: {error}"
        );
    }
    // A holder that lets go within the 3 s: the read keeps what it committed, and names it.
    let history = std::thread::scope(|scope| {
        let reading = scope.spawn(|| run(&home, &["--db", &url, "history", "alice"], None).ok());
        // Let go only once the reading waits on the row (a slow start would not wait at all,
        // and the test would pass without the wait: review).
        let started = Instant::now();
        let mut watcher = db.superuser();
        while watcher
            .query_one(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
                &[],
            )
            .expect("pg_locks")
            .get::<_, i64>(0)
            == 0
        {
            assert!(started.elapsed() < Duration::from_secs(2), "the reading never waited on the row");
            std::thread::sleep(Duration::from_millis(10));
        }
        tx.commit().expect("commit");
        reading.join().expect("the reading")
    });
    let current = history.stdout.lines().last().expect("a current revision").to_owned();
    assert!(current.starts_with("3 (current)") && current.contains("outside custodian"), "{history:?}");
    let kept = run(&home, &["--db", &url, "get", "alice", "--revision", "3"], None).ok();
    assert!(kept.stdout.contains("\"held\": 3"), "revision 3 is the document committed: {kept:?}");
    run(&home, &["--db", &url, "set", "alice", "-", "--expect-revision", "3"], Some(br#"{"mine":4}"#)).ok();
}

/// bb58 F2: a tenant empty when its statistics were taken (at `init`), then given many users
/// by SQL (a migration): the next key sync let the planner look for each user's digest in the
/// key table with a nested loop, and 200,000 users ran into the sync's 10-minute statement
/// timeout (40,000: 48 s). It is a hash anti join now: 40,000 users in about 2 s.
#[test]
fn a_key_sync_after_a_tenant_grew_from_empty_by_sql_does_not_crawl() {
    let db = LogtoDb::new();
    let home = PrivateHome::new(&[]);
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    db.superuser()
        .batch_execute(
            "analyze public.users; analyze custodian.user_keys; \
             alter table public.users set (autovacuum_enabled = false); \
             alter table custodian.user_keys set (autovacuum_enabled = false); \
             insert into public.users (tenant_id, id, username, primary_email, name, created_at, updated_at) \
             select 'default', 'g' || lpad(i::text, 10, '0'), 'user' || i, 'u' || i || '@example.com', \
                 'Name ' || i, now(), now() from generate_series(1, 40000) i",
        )
        .expect("40,000 users made by SQL under statistics of an empty tenant");
    let started = Instant::now();
    run(&home, &["--db", &db.superuser_url(), "init"], None).ok();
    let took = started.elapsed();
    assert_eq!(
        db.count("select count(*) from custodian.user_keys where tenant_id = 'default' and kind = 0"),
        40_000,
        "every user has their list key"
    );
    // 48 s with the nested loop, 2 s without: a bound a busy machine does not reach and the
    // nested loop always passes.
    assert!(took < Duration::from_secs(20), "the sync took {took:?}");
}
