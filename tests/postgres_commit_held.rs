//! A COMMIT held up between custodian and the server (a pooler, a slow link): custodian's
//! connection dies while the server's session still has the transaction open, the COMMIT on
//! its way. Custodian must not say "not written" while that COMMIT can still land: after
//! reconnecting it ends that session first, so what it then says stays true when the held
//! COMMIT reaches the server late.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::home::PrivateHome;
use support::postgres::{ALICE_AND_BOB, LogtoDb};
use support::proxy::Proxy;
use support::run::Run;

fn logto() -> LogtoDb {
    LogtoDb::initialised_with(ALICE_AND_BOB)
}

/// The tenant's URL, through `proxy`.
fn url_through(db: &LogtoDb, proxy: &Proxy) -> String {
    let (role, password) = db.tenant_role("default");
    format!(
        "postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable&connect_timeout=10",
        proxy.port, db.name
    )
}

fn stored(db: &LogtoDb, id: &str) -> String {
    db.stored_text(id)
}

/// Runs custodian with `args` (and `stdin`) while the proxy holds its COMMIT; once custodian
/// has said what happened, the held COMMIT is let through, late.
fn run_with_the_commit_held(db: &LogtoDb, home: &PrivateHome, args: &[&str], stdin: &[u8]) -> Run {
    let proxy = Proxy::to(db.server.port);
    proxy.hold_next_commit();
    let url = url_through(db, &proxy);
    let mut command: Command = home.custodian();
    command.args(["--db", url.as_str()]).args(args);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start custodian");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let output = loop {
        if child.try_wait().expect("the child").is_some() {
            break child.wait_with_output().expect("custodian ends");
        }
        assert!(Instant::now() < deadline, "custodian did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(proxy.holds_a_commit(), "the COMMIT was never held");
    proxy.release_commit();
    Run::from_output(output)
}

#[test]
fn a_save_said_not_to_have_happened_never_lands_when_its_held_commit_arrives_late() {
    // It said "did not happen", and the held COMMIT then wrote the document.
    let db = logto();
    let home = PrivateHome::new(&[]);
    let run = run_with_the_commit_held(
        &db,
        &home,
        &["set", "alice", "--expect-revision", "1", "-"],
        br#"{"theme":"light"}"#,
    );
    let stderr = run.fails(1);
    assert!(
        stderr.contains("after reconnecting: the save did not happen") && stderr.lines().count() == 1,
        "{stderr}"
    );
    // Given time to land, had it been able to.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stored(&db, "u1"), r#"{"theme": "dark"}"#);
    // And what custodian said stays true: a save from revision 1 goes through.
    let output = home
        .custodian()
        .args(["--db", &db.tenant_url("default"), "set", "alice", "--expect-revision", "1", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(br#"{"theme":"blue"}"#)?;
            child.wait_with_output()
        })
        .expect("set again");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stored(&db, "u1"), r#"{"theme": "blue"}"#);
}

#[test]
fn a_batch_said_not_written_never_lands_when_its_held_commit_arrives_late() {
    // It said "not written"; the operator ran it again, and the late COMMIT applied it twice.
    let db = logto();
    let home = PrivateHome::new(&[]);
    let patch = home.path("patch.json");
    std::fs::write(&patch, r#"[{"op":"add","path":"/flag","value":true}]"#).expect("write the patch");
    let patch = patch.to_str().expect("utf-8").to_owned();
    let stderr = run_with_the_commit_held(&db, &home, &["patch", &patch, "--all", "--yes"], b"").fails(1);
    assert!(stderr.contains("after reconnecting: it was not written"), "{stderr}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stored(&db, "u1"), r#"{"theme": "dark"}"#);
    assert_eq!(stored(&db, "u2"), "{}");
    let batches: i64 = db.count("select count(*) from custodian.batches");
    assert_eq!(batches, 0, "no batch recorded");
}
