//! An attacker on the same machine against custodian's own directories (issue 14, item 17):
//! a state or data directory someone else made or can write, a symbolic link planted where
//! the log is, and files planted among the drafts (a FIFO, a link to /dev/zero, a draft
//! written for another database or user). The real binary, in a private home; every run that
//! could hang is bounded by the pty harness's timeout.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use custodian::draft::{Draft, DraftKind, EditSnapshot, digest};
use portable_pty::CommandBuilder;
use support::home::PrivateHome;
use support::pty::Tui;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");
const ADMIN_ID: &str = "2ihchzsjd6sk";

/// A private home with a demo database at `home/users.redb`.
fn home_with_database() -> (PrivateHome, PathBuf) {
    let home = PrivateHome::new(&[]);
    let db = home.path("home").join("users.redb");
    for args in [&["init"][..], &["import", DEMO_USERS]] {
        let mut command = home.custodian();
        command.arg("--db").arg(&db).args(args);
        Run::of(command, None).ok();
    }
    (home, db)
}

fn list(home: &PrivateHome, db: &Path) -> Run {
    let mut command = home.custodian();
    command.arg("--db").arg(db).args(["list", "--limit", "1"]);
    Run::of(command, None)
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_state_directory_others_can_write_is_refused_in_one_line() {
    let (home, db) = home_with_database();
    let dir = home.path("state").join("custodian");
    chmod(&dir, 0o777);
    let line = list(&home, &db).fails(1);
    assert!(
        line.starts_with(&format!("custodian: {}: can be written by anyone (mode 0777)", dir.display())),
        "{line}"
    );
    assert_eq!(fs::metadata(&dir).expect("metadata").permissions().mode() & 0o777, 0o777, "not repaired");
    chmod(&dir, 0o700);
    list(&home, &db).ok();
}

#[test]
fn a_state_directory_made_by_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not run: only root can give a directory to another user (the mode rows run everywhere)");
        return;
    }
    let (home, db) = home_with_database();
    let dir = home.path("state").join("custodian");
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
    let line = list(&home, &db).fails(1);
    assert!(line.contains("belongs to uid 65534, not to you"), "{line}");
}

#[test]
fn a_state_directory_refused_for_its_group_names_the_group_and_chmod_g_w() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "not run: only root can give a directory to a group it is not in (the mode rows run everywhere)"
        );
        return;
    }
    let (home, db) = home_with_database();
    let dir = home.path("state").join("custodian");
    chmod(&dir, 0o770);
    // A group with no name, and one the group database names (Debian's `nogroup`): neither
    // was said, nor the change enough for it (bb95 F7).
    let named = fs::read_to_string("/etc/group").unwrap_or_default().lines().find_map(|line| {
        (line.split(':').nth(2) == Some("65534")).then(|| line.split(':').next().unwrap_or("").to_owned())
    });
    for (gid, name) in [(12345, None), (65534, named)] {
        std::os::unix::fs::chown(&dir, None, Some(gid)).expect("chown");
        let line = list(&home, &db).fails(1);
        let group = name.map(|name| format!(" {name}")).unwrap_or_default();
        let said = format!(
            "{}: can be written by its group{group} (gid {gid}, mode 0770), which is not yours alone: `chmod g-w` it;",
            dir.display()
        );
        assert!(line.contains(&said), "{line}");
    }
}

#[test]
fn a_log_planted_as_a_link_to_a_victim_file_is_refused_and_the_file_unchanged() {
    let (home, db) = home_with_database();
    let victim = home.path("home").join(".bashrc");
    fs::write(&victim, "precious\n").expect("write");
    let log = home.path("state").join("custodian").join("custodian.log");
    fs::remove_file(&log).expect("the log exists after the first runs");
    std::os::unix::fs::symlink(&victim, &log).expect("symlink");
    let line = list(&home, &db).fails(1);
    assert!(line.contains("custodian.log: is a symbolic link"), "{line}");
    assert_eq!(fs::read_to_string(&victim).expect("read"), "precious\n");
}

#[test]
fn the_default_databases_directory_others_can_write_is_refused() {
    let home = PrivateHome::new(&[]);
    let dir = home.path("data").join("custodian");
    fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o777);
    let mut command = home.custodian();
    command.args(["list", "--limit", "1"]);
    let line = Run::of(command, None).fails(1);
    assert!(line.contains(&format!("{}: can be written by anyone", dir.display())), "{line}");
    assert!(!dir.join("users.redb").exists(), "no database made in it");
}

/// The editor on `db` in a pseudo-terminal, in `home`.
fn editor(home: &PrivateHome, db: &Path) -> Tui {
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_custodian"));
    command.arg("--db");
    command.arg(db);
    for (key, dir) in [("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")] {
        command.env(key, home.path(dir));
    }
    for key in ["CUSTODIAN_DB", "CUSTODIAN_READ_ONLY", "NO_COLOR", "SSH_CONNECTION"] {
        command.env_remove(key);
    }
    command.env("USER", "tester");
    command.env("TERM", "xterm-256color");
    Tui::spawn(command, 120, 40)
}

fn drafts_dir(home: &PrivateHome) -> PathBuf {
    home.path("state").join("custodian").join("drafts")
}

/// A draft of admin's customData for `database`, by session `session`.
fn draft_for(database: &Path, user: &str, session: &str) -> Draft {
    let edit = EditSnapshot {
        user_id: user.to_owned(),
        user_handle: "admin".to_owned(),
        session: session.to_owned(),
        base_revision: 1,
        base_digest: digest("{}"),
        text: "{\"planted\": true}".to_owned(),
        written_at: None,
    };
    Draft::new(DraftKind::Draft, &database.display().to_string(), edit, 1_764_000_000_000)
}

#[test]
fn a_drafts_directory_others_can_write_is_refused_by_the_editor() {
    let (home, db) = home_with_database();
    fs::create_dir(drafts_dir(&home)).expect("mkdir");
    chmod(&drafts_dir(&home), 0o777);
    let mut tui = editor(&home, &db);
    let status = tui.wait_exit();
    assert!(!status.success());
    let said = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(
        said.contains(&format!("custodian: {}: can be written by anyone", drafts_dir(&home).display())),
        "{said}"
    );
}

#[test]
fn planted_files_among_the_drafts_neither_hang_start_up_nor_are_offered() {
    let (home, db) = home_with_database();
    let database = fs::canonicalize(&db).expect("canonical path");
    let dir = drafts_dir(&home);
    fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    // A FIFO and a link to /dev/zero under names of drafts of this database.
    let fifo = std::ffi::CString::new(
        dir.join(draft_for(&database, ADMIN_ID, "1-0000aaaa-1").file_name())
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("path");
    // SAFETY: a valid C string for the path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink(
        "/dev/zero",
        dir.join(draft_for(&database, ADMIN_ID, "1-0000aaaa-2").file_name()),
    )
    .expect("symlink");
    // A draft written for another database, put under this database's name for it.
    let elsewhere = draft_for(Path::new("/elsewhere/users.redb"), ADMIN_ID, "1-0000aaaa-3");
    fs::write(
        dir.join(draft_for(&database, ADMIN_ID, "1-0000aaaa-3").file_name()),
        serde_json::to_vec(&elsewhere).expect("json"),
    )
    .expect("write");
    // A draft of another user under admin's name.
    let other_user = draft_for(&database, "someoneelse", "1-0000aaaa-4");
    fs::write(
        dir.join(draft_for(&database, ADMIN_ID, "1-0000aaaa-4").file_name()),
        serde_json::to_vec(&other_user).expect("json"),
    )
    .expect("write");
    // And one real draft, which is still offered.
    let real = draft_for(&database, ADMIN_ID, "1-0000aaaa-5");
    fs::write(dir.join(real.file_name()), serde_json::to_vec(&real).expect("json")).expect("write");
    chmod(&dir.join(real.file_name()), 0o600);

    let mut tui = editor(&home, &db);
    tui.wait_text("Unsaved edits kept from earlier sessions of this database: 1");
    tui.wait_text("not offered as a draft");
    tui.send("\x1b");
    tui.wait_text("Users · 200");
    // SIGTERM is answered (the FIFO held every command before).
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGTERM) }, 0);
    tui.wait_exit();
    let log = fs::read_to_string(home.path("state").join("custodian").join("custodian.log")).expect("log");
    for why in
        ["not a regular file", "symbolic link", "another database", "another database, user or session"]
    {
        assert!(log.contains(why), "the log names {why:?}:\n{log}");
    }
}

/// A draft of admin's edit for each `(database, session)` in a new drafts directory of `home`'s.
fn plant_drafts(home: &PrivateHome, drafts: &[(&Path, &str)]) {
    let dir = drafts_dir(home);
    fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    for (database, session) in drafts {
        let draft = draft_for(database, ADMIN_ID, session);
        let path = dir.join(draft.file_name());
        fs::write(&path, serde_json::to_vec(&draft).expect("json")).expect("write");
        chmod(&path, 0o600);
    }
}

/// The messages (F2) once a draft not offered is named and they show `end`: the screen's lines
/// joined (the status line cuts a long path; F2 shows the message whole, wrapped).
fn messages_once_named(tui: &mut Tui, end: &str) -> String {
    tui.wait_text("not offered as a draft: kept for");
    tui.send("\x1bOQ");
    tui.wait_text(end);
    tui.rows().iter().map(|row| row.trim()).collect::<Vec<_>>().join("")
}

#[test]
fn drafts_of_a_database_file_moved_away_are_named_and_not_those_of_a_file_still_there() {
    let (home, db) = home_with_database();
    // A draft of the file as it was called before a `mv` (no file at that path now), and one
    // of another database file that is still where it was.
    let moved_away = home.path("home").join("before-the-move.redb");
    let still_there = home.path("home").join("another.redb");
    fs::write(&still_there, b"").expect("write");
    plant_drafts(&home, &[(&moved_away, "1-0000aaaa-1"), (&still_there, "1-0000aaaa-2")]);
    let mut tui = editor(&home, &db);
    let said = messages_once_named(&mut tui, "to reopen the draft");
    assert!(said.contains("before-the-move.redb, a database file no longer at that path"), "{said}");
    assert!(!said.contains("another.redb"), "{said}");
    assert!(!said.contains("and 1 more"), "only the moved file's draft is named: {said}");
    tui.send("\x1b");
    tui.send("q");
    assert!(tui.wait_exit().success());
}

/// A draft kept for the same database file under another name, a hard link (`ln`), is named
/// with the name that reopens it (bb102 F4: no canonical path joins the two, and it went
/// unsaid).
#[test]
fn a_draft_kept_for_a_hard_link_to_this_database_is_named_with_the_way_to_reopen_it() {
    let (home, db) = home_with_database();
    let hard_link = home.path("home").join("hard-link.redb");
    fs::hard_link(&db, &hard_link).expect("ln");
    plant_drafts(&home, &[(&hard_link, "1-0000aaaa-3")]);
    let mut tui = editor(&home, &db);
    let said = messages_once_named(&mut tui, "reopens it");
    assert!(said.contains("hard-link.redb, this very database file under another name"), "{said}");
    assert!(said.contains("(a hard link: `custodian --db "), "{said}");
    tui.send("\x1b");
    tui.send("q");
    assert!(tui.wait_exit().success());
}

/// A database opened through a link that is re-pointed after an edit was kept (a restore:
/// `ln -sfn restored.redb current.redb`): the next start on the link finds no draft of the
/// file it names now, and names the one kept for the file it named then (bb73 F6: it said
/// nothing, and only the way out had named the file).
#[test]
fn a_draft_written_through_a_link_re_pointed_since_is_named_at_the_next_start_on_it() {
    let (home, db) = home_with_database();
    let restored = home.path("home").join("restored.redb");
    fs::copy(&db, &restored).expect("copy");
    let link = home.path("home").join("current.redb");
    std::os::unix::fs::symlink(&db, &link).expect("link");
    let mut tui = editor(&home, &link);
    tui.wait_text("Users · 200");
    tui.send("\r");
    tui.wait_text("Editing customData of");
    tui.send("\x1b[F");
    tui.send("\r");
    tui.send("  \"kept\": 1,");
    tui.wait_text("\"kept\": 1,");
    let drafts = drafts_dir(&home);
    let started = std::time::Instant::now();
    let written = || {
        fs::read_dir(&drafts).into_iter().flatten().flatten().any(|entry| {
            fs::read_to_string(entry.path())
                .is_ok_and(|text| text.contains("kept") && text.contains("openedAs"))
        })
    };
    while !written() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "no draft written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGTERM) }, 0);
    tui.wait_exit();
    fs::remove_file(&link).expect("unlink");
    std::os::unix::fs::symlink(&restored, &link).expect("re-point");
    let mut tui = editor(&home, &link);
    tui.wait_text("not offered as a draft: kept for");
    tui.send("\x1bOQ");
    tui.wait_text("reopens it");
    // The overlay wraps the message at any space: compared without spaces and borders.
    let bare = |text: &str| text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect::<String>();
    let said = bare(&tui.rows().join(""));
    let kept_for = fs::canonicalize(&db).expect("db").display().to_string();
    let expected = format!(
        "kept for {kept_for}, the file {} named when it was written (`custodian --db {kept_for}` reopens it)",
        link.display()
    );
    assert!(said.contains(&bare(&expected)), "{said}");
    tui.send("\x1b");
    tui.send("q");
    assert!(tui.wait_exit().success());
    // Opened by its own path, the file offers its draft as ever.
    let mut tui = editor(&home, &db);
    tui.wait_text("Unsaved edits kept from earlier sessions of this database: 1");
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGTERM) }, 0);
    tui.wait_exit();
}

/// A database of the demo users, its (private, empty) drafts directory, and admin's customData
/// as `get` prints it.
fn admins_document_and_a_drafts_directory() -> (PrivateHome, PathBuf, PathBuf, String) {
    let (home, db) = home_with_database();
    let dir = drafts_dir(&home);
    fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    let mut get = home.custodian();
    get.arg("--db").arg(&db).args(["get", "admin"]);
    let stored = Run::of(get, None).ok().stdout;
    (home, db, dir, stored)
}

/// bb80 F2: a draft whose edit the store holds already (its save landed though the answer was
/// lost) was offered at the next start as an unsaved edit, with "Throw away … It cannot be
/// brought back". It is said stored, and its file goes; a draft that differs is offered.
#[test]
fn a_draft_whose_edit_is_stored_already_is_said_so_at_start_and_not_offered() {
    let (home, db, dir, stored) = admins_document_and_a_drafts_directory();
    let database = fs::canonicalize(&db).expect("db");
    let mut landed = draft_for(&database, ADMIN_ID, "1-0000aaaa-7");
    landed.text = stored;
    let path = dir.join(landed.file_name());
    fs::write(&path, serde_json::to_vec(&landed).expect("json")).expect("write");
    chmod(&path, 0o600);
    let mut tui = editor(&home, &db);
    tui.wait_text("the edit in the draft of admin is stored already, as revision 1");
    assert!(!tui.text().contains("Unsaved edits kept"), "{}", tui.text());
    tui.send("q");
    assert!(tui.wait_exit().success());
    assert!(!path.exists(), "the draft is removed");
}

/// bb88 F2: a draft that only moved a key, and one that typed a key again above its old line
/// (a duplicate a save refuses), were "stored already" at the next start — compared as parsed
/// values, where key order does not count and the later duplicate wins — and removed: the
/// operator's edit lost. A save counts key order and refuses the duplicate: both are offered.
#[test]
fn a_draft_that_moved_a_key_or_typed_one_again_is_offered_not_removed() {
    let (home, db, dir, stored) = admins_document_and_a_drafts_directory();
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&stored).expect("an object");
    let reordered: serde_json::Map<String, serde_json::Value> =
        object.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
    let first = object.keys().next().expect("a key");
    let typed_again =
        format!("{{\"{first}\": \"typed above\", {}", stored.trim_start().trim_start_matches('{'));
    let database = fs::canonicalize(&db).expect("db");
    let mut paths = Vec::new();
    for (session, text) in
        [("1-0000aaaa-7", serde_json::to_string(&reordered).expect("json")), ("1-0000bbbb-8", typed_again)]
    {
        let mut draft = draft_for(&database, ADMIN_ID, session);
        draft.text = text;
        let path = dir.join(draft.file_name());
        fs::write(&path, serde_json::to_vec(&draft).expect("json")).expect("write");
        chmod(&path, 0o600);
        paths.push(path);
    }
    let mut tui = editor(&home, &db);
    tui.wait_text("Unsaved edits kept from earlier sessions of this database: 2");
    assert!(!tui.text().contains("stored already"), "{}", tui.text());
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGTERM) }, 0);
    tui.wait_exit();
    for path in &paths {
        assert!(path.exists(), "kept: {}", path.display());
    }
}

/// A directory others can change: `E`'s file and the last-chance copy of an unsaved edit are
/// never made there, where another account could put its text in their place (bb40 F2).
#[test]
fn a_temporary_directory_others_can_change_is_named_and_a_sticky_one_is_fine() {
    let dir = tempfile::tempdir().expect("a directory");
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).expect("mkdir");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    let problem = custodian::location::shared_dir_problem(&shared).expect("others can change it");
    assert!(problem.contains("which others can change (mode 0777"), "{problem}");
    // The sticky bit (as /tmp has): others cannot rename or replace a file of yours there.
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).expect("chmod");
    assert_eq!(custodian::location::shared_dir_problem(&shared), None);
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o700)).expect("chmod");
    assert_eq!(custodian::location::shared_dir_problem(&shared), None);
    // A directory of yours inside one others can write: they rename it away and put theirs in
    // its place (bb54 F1), named as the directory asked about, by way of a link too.
    let mine = shared.join("mine");
    fs::create_dir(&mine).expect("mkdir");
    fs::set_permissions(&mine, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    let problem = custodian::location::shared_dir_problem(&mine).expect("inside one others can change");
    assert!(
        problem.starts_with(&format!(
            "{}, inside {}, which others can change (mode 0777",
            mine.display(),
            shared.display()
        )),
        "{problem}"
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&mine, &link).expect("symlink");
    assert!(custodian::location::shared_dir_problem(&link).is_some(), "resolved, its real place is judged");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).expect("chmod");
    assert_eq!(custodian::location::shared_dir_problem(&mine), None, "a sticky directory of root's or yours");
    // Group-writable, its group the operator's private one (RHEL's `umask 002` with user
    // private groups): nobody else writes there (each such directory was refused: bb55 F2).
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o775)).expect("chmod");
    let gid = fs::metadata(&shared).expect("metadata").gid();
    assert_eq!(
        custodian::location::shared_dir_problem(&mine).is_none(),
        custodian::location::is_private_group(gid),
        "gid {gid}"
    );
    // Root's group is root's alone unless another account has it as its primary group (RHEL's
    // `operator`) or is listed in it: as the files say.
    // SAFETY: getegid has no preconditions.
    if unsafe { libc::getegid() } == 0 {
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let group = fs::read_to_string("/etc/group").unwrap_or_default();
        let by_primary = passwd.lines().any(|l| !l.starts_with("root:") && l.split(':').nth(3) == Some("0"));
        let listed =
            group.lines().find(|l| l.starts_with("root:")).and_then(|l| l.split(':').nth(3)).unwrap_or("");
        let alone = !by_primary && listed.split(',').all(|m| m.is_empty() || m == "root");
        assert_eq!(
            custodian::location::is_private_group(0),
            alone,
            "root's group: named root, no other member"
        );
    }
    // An access list on it: its group bits are the list's mask, not the group's (a user given
    // rwx showed as 0775 and was taken for the private group's: bb56 F2).
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).expect("chmod");
    match std::process::Command::new("setfacl").args(["-m", "u:12345:rwx"]).arg(&shared).status() {
        Ok(status) if status.success() => {
            assert_eq!(fs::metadata(&shared).expect("metadata").mode() & 0o777, 0o775);
            assert!(
                custodian::location::shared_dir_problem(&mine).is_some(),
                "another account may write there"
            );
            let _ = std::process::Command::new("setfacl").arg("-b").arg(&shared).status();
        }
        _ => eprintln!("not run: setfacl is not installed or the file system takes no access lists"),
    }
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).expect("chmod");
    // A sticky directory of another account's is theirs to empty (root alone can make one here).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&shared, Some(12345), None).expect("chown");
        let problem = custodian::location::shared_dir_problem(&shared).expect("another account's");
        assert!(problem.contains("(mode 1777, uid 12345)"), "{problem}");
        assert!(custodian::location::shared_dir_problem(&mine).is_some());
        std::os::unix::fs::chown(&shared, Some(0), None).expect("chown");
        // A link of another account's on the way, in a sticky directory: theirs to point
        // elsewhere (`TMPDIR=/tmp/ops` planted in /tmp: bb55 F3).
        let planted = shared.join("planted");
        std::os::unix::fs::symlink(&mine, &planted).expect("symlink");
        std::os::unix::fs::lchown(&planted, Some(12345), None).expect("lchown");
        let problem = custodian::location::shared_dir_problem(&planted).expect("another account's link");
        assert!(problem.contains("a link of uid 12345, who can point it elsewhere"), "{problem}");
    }
}

/// `E`'s file replaced by another account's while the editor ran: never read back as the
/// operator's edit, which was then saved as theirs (bb40 F2).
#[test]
fn an_editors_file_replaced_by_another_accounts_is_not_read_back() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not run: only root can give a file to another user (the directory rows run everywhere)");
        return;
    }
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("custodian-1-0.json");
    fs::write(&file, r#"{"ctl":"ATTACKER"}"#).expect("write");
    std::os::unix::fs::chown(&file, Some(12345), Some(12345)).expect("chown");
    let Err(said) = custodian::tui::read_back(&file, 1 << 20) else {
        panic!("read back another account's file")
    };
    assert!(said.contains("was replaced by a file of uid 12345, not yours; nothing was saved"), "{said}");
    // One of yours is read back as before.
    std::os::unix::fs::chown(&file, Some(0), Some(0)).expect("chown");
    assert!(custodian::tui::read_back(&file, 1 << 20).is_ok());
}

/// `E`'s directory judged again when the file is read back: others who came to be able to
/// change it while the editor ran (a member added to its group, an access list) could have put
/// their text in (bb56 F5).
#[test]
fn an_editors_file_in_a_directory_others_came_to_change_is_not_read_back() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("custodian-1-0.json");
    fs::write(&file, r#"{"edited":true}"#).expect("write");
    assert!(custodian::tui::read_back(&file, 1 << 20).is_ok(), "a private directory");
    fs::write(&file, r#"{"edited":true}"#).expect("write");
    chmod(dir.path(), 0o777);
    let Err(said) = custodian::tui::read_back(&file, 1 << 20) else {
        panic!("read back from a directory others can change")
    };
    assert!(
        said.contains("which others can change (mode 0777")
            && said.contains("since the editor started; nothing was saved"),
        "{said}"
    );
    assert!(file.exists(), "left there");
    chmod(dir.path(), 0o700);
}

/// An import's spill (a piped input read ahead, the sorted runs) goes beside the database,
/// else in `$TMPDIR`, else in `/tmp`: never into a `$TMPDIR` others can change (one another
/// account owned took the records without a word, where `E` refuses it: bb52 F6, bb54 F1).
/// The database's own directory is the operator's choice: a team's 0775 one takes it.
#[test]
fn an_import_spills_into_no_directory_others_can_change() {
    let home = PrivateHome::new(&[]);
    let team = home.path("team");
    fs::create_dir_all(&team).expect("dirs");
    chmod(&team, 0o775);
    let db = team.join("users.redb");
    let mut command = home.custodian();
    command.arg("--db").arg(&db).arg("init");
    Run::of(command, None).ok();
    let tmp = home.path("tmp-of-others");
    fs::create_dir_all(&tmp).expect("tmp");
    chmod(&tmp, 0o777);
    let records = b"{\"id\":\"s1\",\"username\":\"spilled\",\"customData\":{\"plan\":\"pro\"}}\n";
    let mut command = home.custodian();
    command.env("TMPDIR", &tmp).arg("--db").arg(&db).args(["import", "-"]);
    Run::of(command, Some(records)).ok();
    assert_eq!(fs::read_dir(&tmp).expect("tmp").count(), 0, "nothing there");
    assert_eq!(fs::read_dir(&team).expect("team").count(), 1, "nothing left beside the database: {team:?}");
}
