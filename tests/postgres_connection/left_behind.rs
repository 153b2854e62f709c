//! A link that drops without a word in the middle of a write (a NAT, a VPN or a pooler that
//! loses the connection): custodian's side sees it closed, while the server's session stays
//! open with the write's transaction holding the rows it locked — a Logto sign-in of those
//! users waited on them until the server's keepalive gave up, two hours by default, and
//! custodian's own next save said "busy" (bb41 F1). Custodian ends that session at once.

use super::*;

/// A store connected through `proxy`, named `name` on the server; `connect_timeout` in seconds.
fn connect_through(db: &LogtoDb, proxy: &Proxy, name: &str, connect_timeout: u64) -> PostgresStore {
    let (role, password) = db.tenant_role("default");
    let url = format!(
        "postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable&application_name={name}&connect_timeout={connect_timeout}",
        proxy.port, db.name
    );
    PostgresStore::connect(&url, &PostgresOptions::default()).expect("connect through the proxy")
}

/// Runs `write` while another session holds u2's row, and drops the link without a word to
/// the server once the write waits for that row, then lets the row go: the server's session
/// takes it. The write's error.
fn cut_off_while_waiting_for_u2(
    db: &LogtoDb,
    proxy: &Proxy,
    name: &str,
    silent: bool,
    write: impl FnOnce() -> Result<(), StoreError> + Send,
) -> StoreError {
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where id = 'u2' for update", &[]).expect("lock the row");
    std::thread::scope(|scope| {
        let writing = scope.spawn(write);
        wait_until("the write to wait for the row", || !sessions(db, name, Some("transactionid")).is_empty());
        proxy.sever(silent);
        // Let go at once: the session left behind takes the row well within its 3 s lock
        // timeout, however long custodian then takes to find out what became of it.
        holding.rollback().expect("let the row go");
        writing.join().expect("the writing thread").expect_err("the link went")
    })
}

/// Whether a sign-in's write to u2 goes through within 2 s (not held by a session left behind).
fn sign_in_goes_through(db: &LogtoDb) -> Result<u64, postgres::Error> {
    let mut signing_in = db.superuser();
    signing_in.batch_execute("set lock_timeout = '2s'")?;
    signing_in.execute("update users set last_sign_in_at = now() where id = 'u2'", &[])
}

#[test]
fn a_save_cut_off_by_a_silent_drop_ends_the_session_left_on_the_server_and_the_row_is_free() {
    let db = logto();
    let proxy = Proxy::to(db.server.port);
    let name = application(&db, "severed-save");
    let store = connect_through(&db, &proxy, &name, 5);
    let before = stored(&db, "u2");
    let error = cut_off_while_waiting_for_u2(&db, &proxy, &name, false, || {
        store.replace_custom_data("u2", &data(r#"{"cut":true}"#), None, &author()).map(|_| ())
    });
    let message = error.to_string();
    assert!(matches!(error, StoreError::ConnectionLost { .. }), "{error:?}");
    assert!(
        message.contains("the save did not happen (its session was still open on the server, holding what it had locked: custodian ended it, and the server rolled it back)"),
        "{message}"
    );
    assert_eq!(sign_in_goes_through(&db).expect("the row is free"), 1);
    wait_until("no session of custodian's left", || sessions(&db, &name, None).is_empty());
    assert_eq!(stored(&db, "u2"), before, "nothing written");
}

#[test]
fn a_batch_cut_off_by_a_silent_drop_ends_the_session_left_on_the_server_and_its_rows_are_free() {
    use custodian::store::{BatchEdit, BatchId, Selection};
    let db = logto();
    let proxy = Proxy::to(db.server.port);
    let name = application(&db, "severed-batch");
    let store = connect_through(&db, &proxy, &name, 5);
    let flag = |_: &custodian::store::UserRecord, _: &str| Ok(BatchEdit::Replace(data(r#"{"flag":true}"#)));
    let error = cut_off_while_waiting_for_u2(&db, &proxy, &name, false, || {
        store.edit_batch(&BatchId::new(), &Selection::All, &mut flag.clone(), &author()).map(|_| ())
    });
    let message = error.to_string();
    assert!(
        message.contains(
            "the batch did not happen: nothing was written (its session was still open on the server"
        ),
        "{message}"
    );
    assert_eq!(sign_in_goes_through(&db).expect("the rows are free"), 1);
    let flagged: i64 = db.count("select count(*) from users where custom_data ? 'flag'");
    assert_eq!(flagged, 0, "nothing written");
}

/// When custodian cannot reach the server to end it, it says what holds the rows and for
/// how long at most; the next connection of the same store (F5 on the screen) ends it.
#[test]
fn a_session_left_behind_that_cannot_be_reached_is_said_and_the_reconnect_ends_it() {
    let db = logto();
    let proxy = Proxy::to(db.server.port);
    let name = application(&db, "severed-silent");
    let store = connect_through(&db, &proxy, &name, 1);
    let error = cut_off_while_waiting_for_u2(&db, &proxy, &name, true, || {
        store.replace_custom_data("u2", &data(r#"{"cut":true}"#), None, &author()).map(|_| ())
    });
    let message = error.to_string();
    assert!(
        message.contains("the save did not happen (the server could not be reached again to look: if it restarted, nothing of it is left; if the link dropped, the server rolls it back once it notices the connection gone, within 60s when the session waits on custodian, and until then the users' rows it locked stay locked)"),
        "{message}"
    );
    // Left behind, it holds the row.
    assert!(sign_in_goes_through(&db).is_err(), "the session left behind holds the row");
    proxy.open();
    store.reconnect().expect("reconnect");
    assert_eq!(sign_in_goes_through(&db).expect("the reconnect ended it"), 1);
    assert_eq!(store.custom_data("u2").expect("read").revision, 1, "nothing written");
}

/// A signal while the server stops answering a write before its COMMIT was sent: nothing can
/// have been written, and the last word says so. It said "whether the last write was made is
/// not known (`custodian history USER` tells)", sending the operator to look for a write that
/// cannot have been made (bb41 F2).
#[test]
fn a_signal_while_the_server_stalls_a_write_before_its_commit_says_nothing_was_written() {
    let db = logto();
    let proxy = Proxy::to(db.server.port);
    let home = PrivateHome::new(&[]);
    let (role, password) = db.tenant_role("default");
    let url = format!("postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable", proxy.port, db.name);
    Run::of(custodian(&home, &["--db", &url, "set", "id:u1", "-"]), Some(br#"{"v":1}"#)).ok();
    proxy.stall_at_next_begin();
    let document = home.path("doc.json");
    std::fs::write(&document, r#"{"v":2}"#).expect("document");
    let mut command = custodian(&home, &["--db", &url, "set", "id:u1", document.to_str().expect("utf-8")]);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    support::run::wait_until_catching(child.id(), libc::SIGTERM);
    wait_until("the save's BEGIN to get no answer", || proxy.stalled());
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(
            "the server did not answer within 5 s, before the write's COMMIT was sent; nothing was written"
        ),
        "{stderr}"
    );
    let stored = stored(&db, "u1");
    assert_eq!(stored, r#"{"v": 1}"#, "nothing written");
}

/// A draft kept under `--tenant acme` (a hang-up while editing there) is named when the
/// screen opens this database without `--tenant`: an operator who forgot the flag after a
/// crash did not learn that an edit waited (bb41). Named, not offered: it is another
/// tenant's user.
#[test]
fn a_draft_kept_for_another_tenant_of_this_database_is_named_at_start() {
    use custodian::draft::{Draft, DraftKind, EditSnapshot, digest};
    use std::os::unix::fs::PermissionsExt;
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let here = PostgresStore::connect(&url, &PostgresOptions::default()).expect("connect").draft_identity();
    let acme = here.replace("#tenant=default", "#tenant=acme");
    assert_ne!(acme, here);
    let edit = EditSnapshot {
        user_id: "a1".to_owned(),
        user_handle: "acme-admin".to_owned(),
        session: "1-0000aaaa-1".to_owned(),
        base_revision: 1,
        base_digest: digest("{}"),
        text: "{\"kept\": true}".to_owned(),
        written_at: None,
    };
    // And one of this tenant kept under another login role, at the same address: it was
    // said to be "at another address" (bb41).
    let (role, _) = db.tenant_role("default");
    let as_postgres = here.replacen(&format!("//{role}@"), "//postgres@", 1);
    assert_ne!(as_postgres, here);
    let dir = home.path("state").join("custodian").join("drafts");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for private in [dir.parent().expect("state"), &dir] {
        std::fs::set_permissions(private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    // Wrapped in the messages' pane (where a row breaks depends on the database's name, so no
    // phrase is waited for as it is: `to reopen it` broke after `to`): compared as one text,
    // the pane's borders and padding left out.
    let joined = |tui: &support::pty::Tui| {
        tui.rows()
            .iter()
            .map(|row| {
                row.trim_matches(|c: char| c == '│' || c == ' ' || c == '└' || c == '─' || c == '┘')
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // One at a time: the status line names the draft not offered, F2 each.
    for (database, said_so) in [
        (
            &acme,
            "tenant \"acme\" of a database of this name (start custodian with --tenant acme to reopen it)",
        ),
        (
            &as_postgres,
            "a database of this name and tenant reached another way (another host, port or login role)",
        ),
    ] {
        for old in std::fs::read_dir(&dir).expect("drafts").flatten() {
            std::fs::remove_file(old.path()).expect("remove the draft before");
        }
        let draft = Draft::new(DraftKind::Draft, database, edit.clone(), custodian::domain::time::now_ms());
        let path = dir.join(draft.file_name());
        std::fs::write(&path, serde_json::to_vec(&draft).expect("json")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let mut tui = spawn_screen(&home, &url);
        tui.wait_text("not offered as a draft: kept for");
        tui.send("\x1bOQ");
        let since = std::time::Instant::now();
        while !joined(&tui).contains(said_so) && since.elapsed() < support::pty::TIMEOUT {
            std::thread::sleep(support::pty::POLL);
        }
        let said = joined(&tui);
        assert!(said.contains(said_so), "{said_so}: {said}");
    }
    // Both at once beside a draft of this database, offered: each is named, with which of how
    // many it is (they were not named at all when a draft was offered: bb99 F8; two said as
    // the first and `1 more`: bb99 F10).
    for old in std::fs::read_dir(&dir).expect("drafts").flatten() {
        std::fs::remove_file(old.path()).expect("remove the draft before");
    }
    for database in [&acme, &as_postgres, &here] {
        let mut edit = edit.clone();
        edit.session = format!("1-0000aaaa-{}", database.len());
        let draft = Draft::new(DraftKind::Draft, database, edit, custodian::domain::time::now_ms());
        let path = dir.join(draft.file_name());
        std::fs::write(&path, serde_json::to_vec(&draft).expect("json")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut tui = spawn_screen(&home, &url);
    tui.wait_text("Unsaved edits kept from earlier sessions of this database");
    tui.send("\x1b");
    tui.send("\x1bOQ");
    let since = std::time::Instant::now();
    let both = |said: &str| {
        said.contains("not offered as a draft (1 of 2") && said.contains("not offered as a draft (2 of 2")
    };
    while !both(&joined(&tui)) && since.elapsed() < support::pty::TIMEOUT {
        std::thread::sleep(support::pty::POLL);
    }
    let said = joined(&tui);
    assert!(both(&said), "{said}");
}
