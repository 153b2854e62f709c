use super::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const DB: &str = "/db/a.redb";
const BASE: &str = "{\n  \"a\": 1\n}";

fn draft(user: &str, session: &str, at: i64) -> Draft {
    let edit = EditSnapshot {
        user_id: user.into(),
        user_handle: "handle".into(),
        session: session.into(),
        base_revision: 3,
        base_digest: digest(BASE),
        text: "{\"a\": 1".into(),
        written_at: None,
    };
    Draft::new(DraftKind::Draft, DB, edit, at)
}

fn drafts() -> (tempfile::TempDir, Drafts) {
    let dir = tempfile::tempdir().unwrap();
    let drafts = Drafts::at(dir.path().join("custodian").join("drafts"));
    (dir, drafts)
}

fn users(found: &Found) -> Vec<(String, String)> {
    found.drafts.iter().map(|d| (d.user_id.clone(), d.session.clone())).collect()
}

#[test]
fn drafts_are_private_and_found_per_database() {
    let (_dir, drafts) = drafts();
    let path = drafts.save(&draft("u2", "s1", 2)).unwrap();
    drafts.save(&draft("u1", "s1", 1)).unwrap();
    drafts.save(&Draft { database: "/db/other.redb".into(), ..draft("u3", "s1", 3) }).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(drafts.dir()).unwrap().permissions().mode() & 0o777, 0o700);
    let found = drafts.for_database(DB);
    assert_eq!(users(&found), [("u1".into(), "s1".into()), ("u2".into(), "s1".into())]);
    assert!(found.ignored.is_empty());
    drafts.remove(&draft("u1", "s1", 0));
    assert_eq!(drafts.for_database(DB).drafts, vec![draft("u2", "s1", 2)]);
}

#[test]
fn two_sessions_on_one_user_keep_two_drafts_and_remove_only_their_own() {
    let (_dir, drafts) = drafts();
    drafts.save(&draft("u1", "s1", 1)).unwrap();
    drafts.save(&draft("u1", "s2", 2)).unwrap();
    // A session's second autosave replaces its own draft only.
    drafts.save(&Draft { text: "{}".into(), ..draft("u1", "s1", 3) }).unwrap();
    let found = drafts.for_database(DB);
    assert_eq!(found.drafts.len(), 2);
    drafts.remove_session(DB, "u1", "s2").unwrap();
    let left = drafts.for_database(DB).drafts;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].session.as_str(), left[0].text.as_str()), ("s1", "{}"));
}

/// A draft that cannot be removed (here a directory in its place; in the field a drafts
/// directory no longer writable) is said with its path; one never written is no failure
/// (bb73 F5: the save removed nothing and said nothing).
#[test]
fn a_session_draft_that_cannot_be_removed_is_said_with_its_path() {
    let (_dir, drafts) = drafts();
    assert_eq!(drafts.remove_session(DB, "u1", "never"), Ok(()));
    let path = drafts.save(&draft("u1", "s1", 1)).unwrap();
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    fs::write(path.join("inside"), "x").unwrap();
    let left = drafts.remove_session(DB, "u1", "s1").unwrap_err();
    assert!(left.starts_with(&format!("{}: ", path.display())), "{left}");
}

#[test]
fn a_recovery_file_is_apart_from_the_sessions_draft() {
    let (_dir, drafts) = drafts();
    let recovery = Draft { kind: DraftKind::Recovery, text: "mine".into(), ..draft("u1", "s1", 1) };
    drafts.save(&recovery).unwrap();
    drafts.save(&draft("u1", "s1", 2)).unwrap();
    drafts.remove_session(DB, "u1", "s1").unwrap();
    assert_eq!(drafts.for_database(DB).drafts, vec![recovery.clone()]);
    // A recovery file is never replaced.
    assert!(drafts.save(&recovery).is_err());
}

#[test]
fn each_session_has_a_name_of_its_own() {
    let (a, b) = (new_session(), new_session());
    assert_ne!(a, b);
    assert!(a.starts_with(&format!("{}-", std::process::id())), "{a}");
}

#[test]
fn the_base_digest_tells_whether_the_text_is_the_one_the_edit_started_from() {
    let d = draft("u1", "s1", 1);
    assert!(d.started_from(BASE));
    assert!(!d.started_from("{}"));
}

#[test]
fn a_claimed_draft_moves_to_the_new_session_once() {
    let (_dir, drafts) = drafts();
    let old = draft("u1", "s1", 1);
    drafts.save(&old).unwrap();
    let claimed = drafts.claim(&old, "s9").unwrap();
    assert_eq!(claimed.session, "s9");
    assert_eq!(users(&drafts.for_database(DB)), [("u1".into(), "s9".into())]);
    assert!(matches!(drafts.claim(&old, "s10"), Err(DraftError::Gone { .. })));
}

#[test]
fn a_draft_whose_content_disagrees_with_its_name_is_not_offered() {
    let (_dir, drafts) = drafts();
    drafts.save(&draft("u1", "s1", 1)).unwrap();
    // Planted: the content of u2's draft under u1's name.
    let planted = serde_json::to_vec(&draft("u2", "s1", 1)).unwrap();
    let name = draft("u1", "s1", 1).file_name();
    fs::write(drafts.dir().join(&name), planted).unwrap();
    let found = drafts.for_database(DB);
    assert!(found.drafts.is_empty());
    assert_eq!(found.ignored.len(), 1);
    assert!(found.ignored[0].why.contains("another database, user or session"), "{:?}", found.ignored);
}

#[test]
fn a_draft_for_another_database_is_not_offered_even_under_this_ones_name() {
    let (_dir, drafts) = drafts();
    let other = Draft { database: "/db/other.redb".into(), ..draft("u1", "s1", 1) };
    drafts.ensure_dir().unwrap();
    fs::write(drafts.dir().join(draft("u1", "s1", 1).file_name()), serde_json::to_vec(&other).unwrap())
        .unwrap();
    let found = drafts.for_database(DB);
    assert!(found.drafts.is_empty() && found.ignored.len() == 1, "{found:?}");
}

#[test]
fn a_fifo_a_device_and_a_symbolic_link_are_never_read() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let names = ["u1", "u2", "u3", "u4"].map(|u| draft(u, "s1", 1).file_name());
    let fifo =
        std::ffi::CString::new(drafts.dir().join(&names[0]).into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid C string for the path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("/dev/zero", drafts.dir().join(&names[1])).unwrap();
    let victim = drafts.dir().join("victim");
    fs::write(&victim, serde_json::to_vec(&draft("u3", "s1", 1)).unwrap()).unwrap();
    std::os::unix::fs::symlink(&victim, drafts.dir().join(&names[2])).unwrap();
    let big = fs::File::create(drafts.dir().join(&names[3])).unwrap();
    big.set_len(MAX_FILE_BYTES + 1).unwrap();
    // On a thread, so a read that hangs on the FIFO fails the test instead of hanging it.
    let (sender, receiver) = std::sync::mpsc::channel();
    let dir = drafts.dir().to_owned();
    std::thread::spawn(move || sender.send(Drafts::at(dir).for_database(DB)));
    let found = receiver.recv_timeout(Duration::from_secs(10)).expect("reading the drafts hung");
    assert!(found.drafts.is_empty(), "{found:?}");
    let mut why: Vec<&str> = found.ignored.iter().map(|i| i.why.as_str()).collect();
    why.sort();
    assert_eq!(why.len(), 4, "{why:?}");
    assert!(why.iter().filter(|w| w.ends_with(": a symbolic link, not a draft")).count() == 2, "{why:?}");
    assert!(why.iter().any(|w| w.contains("not a regular file")), "{why:?}");
    assert!(why.iter().any(|w| w.contains("more than a draft may hold")), "{why:?}");
}

#[test]
fn a_link_planted_at_the_temporary_name_is_not_written_through() {
    // The temporary name is unpredictable and opened exclusively without following links;
    // here every name the writer could pick is not planted, so the check is the draft
    // itself: no file outside the directory changes, whatever is planted inside it.
    let (dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let name = draft("u1", "s1", 1).file_name();
    std::os::unix::fs::symlink(&victim, drafts.dir().join(&name)).unwrap();
    drafts.save(&draft("u1", "s1", 1)).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(fs::symlink_metadata(drafts.dir().join(&name)).unwrap().is_file(), "the link was replaced");
}

#[test]
fn an_older_custodians_draft_of_this_database_is_named_not_offered_and_left_in_place() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let old = drafts.dir().join(format!("{}-u1.json", older_database_tag(DB)));
    fs::write(
        &old,
        r#"{"database": "/db/a.redb", "userId": "u1", "baseRevision": 1, "savedAt": 1, "text": "{}"}"#,
    )
    .unwrap();
    let found = drafts.for_database(DB);
    assert!(found.drafts.is_empty());
    assert_eq!(found.ignored.len(), 1);
    assert!(found.ignored[0].why.contains("older custodian"), "{:?}", found.ignored);
    assert!(old.exists());
}

#[test]
fn leftover_temporary_files_of_dead_processes_are_removed() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    // A process id that cannot be running (above the kernel's maximum).
    let dead = drafts.dir().join(".x.json.99999999-0000abcd.tmp");
    let alive = drafts.dir().join(format!(".x.json.{}-0000abcd.tmp", std::process::id()));
    fs::write(&dead, "half").unwrap();
    fs::write(&alive, "half").unwrap();
    drafts.for_database(DB);
    assert!(!dead.exists());
    assert!(alive.exists(), "a running process's write is left alone");
}

#[test]
fn a_drafts_directory_others_can_write_is_refused() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    fs::set_permissions(drafts.dir(), fs::Permissions::from_mode(0o777)).unwrap();
    assert!(drafts.check().unwrap_err().is_unsafe());
    assert!(matches!(drafts.save(&draft("u1", "s1", 1)), Err(DraftError::Dir(e)) if e.is_unsafe()));
}

/// The name an older custodian gave its drafts is the FNV-1a hash of the database path:
/// its files are found by that exact name, so the hash is pinned by value, not computed
/// the same way on both sides of the test.
#[test]
fn an_older_custodians_file_name_is_the_fnv_1a_hash_of_the_database_path() {
    assert_eq!(older_database_tag(DB), "3f53190eb8d0ea41");
}

/// A 1 MiB document whose every character is escaped in the draft's JSON (a file of about
/// 2 MiB) is kept and offered: a draft file may hold 4 MiB, not just the document's 1 MiB.
#[test]
fn a_draft_of_a_one_mebibyte_document_that_doubles_when_escaped_is_offered() {
    let (_dir, drafts) = drafts();
    let text = "\"".repeat(1024 * 1024);
    let path = drafts.save(&Draft { text: text.clone(), ..draft("u1", "s1", 1) }).unwrap();
    assert!(fs::metadata(&path).unwrap().len() > 2 * 1024 * 1024);
    let found = drafts.for_database(DB);
    assert!(found.ignored.is_empty(), "{:?}", found.ignored.iter().map(|i| &i.why).collect::<Vec<_>>());
    assert_eq!(found.drafts.len(), 1);
    assert!(found.drafts[0].text == text, "the text came back changed");
}

/// A file name's pieces: only 1–64 characters of `[0-9A-Za-z_-]` are kept as they are;
/// anything else (empty, too long, a `/` or `..`) becomes hex, so a name never leaves the
/// drafts directory.
#[test]
fn name_parts_outside_the_plain_alphabet_or_length_become_hex() {
    assert_eq!(name_part("u1_A-b"), "u1_A-b");
    assert_eq!(name_part(&"a".repeat(64)), "a".repeat(64));
    assert_eq!(name_part(""), "~");
    assert_eq!(name_part(&"a".repeat(65)), format!("{}~", "61".repeat(65)));
    assert_eq!(name_part("../x"), "2e2e2f78~");
}

/// A custodian that still runs holds its session lock: its drafts are not offered to another
/// custodian (only counted as in use), and cannot be taken over or discarded; its recovery
/// files, which it never touches again, are offered as ever. Once the lock goes, they are.
#[test]
fn a_draft_of_a_running_session_is_not_offered_taken_over_or_discarded() {
    let (_dir, drafts) = drafts();
    drafts.lock_session().unwrap();
    let running = draft("u1", &new_session(), 1);
    let recovery = Draft { kind: DraftKind::Recovery, ..draft("u2", &new_session(), 2) };
    // A session that took no lock (an older custodian's, or one killed long ago).
    let ended = draft("u3", "99999999-0000abcd-1", 3);
    for kept in [&running, &recovery, &ended] {
        drafts.save(kept).unwrap();
    }
    let found = drafts.for_database(DB);
    assert_eq!(found.in_use, vec![running.clone()]);
    assert_eq!(found.drafts, vec![recovery.clone(), ended.clone()]);
    assert!(matches!(drafts.claim(&running, "s9"), Err(DraftError::InUse { .. })));
    assert!(matches!(drafts.discard_found(&running), Err(DraftError::InUse { .. })));
    assert!(drafts.dir().join(running.file_name()).exists(), "the running session's draft stays");
    drafts.unlock_session();
    assert_eq!(drafts.for_database(DB).drafts.len(), 3, "offered once its custodian has ended");
    drafts.discard_found(&running).unwrap();
    assert!(!drafts.dir().join(running.file_name()).exists());
    // Gone meanwhile (another custodian took it over): nothing discarded, and said so.
    assert!(matches!(drafts.discard_found(&running), Err(DraftError::Gone { .. })));
}

/// A cleaner that empties the state directory takes the lock file with it; the next draft
/// makes the directory again, and the lock with it: the running session's drafts stay its own.
#[test]
fn a_removed_drafts_directory_gets_the_session_lock_back_with_the_next_draft() {
    let (_dir, drafts) = drafts();
    drafts.lock_session().unwrap();
    let running = draft("u1", &new_session(), 1);
    drafts.save(&running).unwrap();
    fs::remove_dir_all(drafts.dir()).unwrap();
    drafts.save(&running).unwrap();
    let found = drafts.for_database(DB);
    assert_eq!(found.in_use, vec![running.clone()], "still this session's");
    assert!(found.drafts.is_empty(), "offered to another custodian: {:?}", found.drafts);
    assert!(matches!(drafts.discard_found(&running), Err(DraftError::InUse { .. })));
    // Once it lets go, the one lock file it made again goes too, and the draft is offered.
    drafts.unlock_session();
    assert_eq!(drafts.for_database(DB).drafts, vec![running]);
    let locks = fs::read_dir(drafts.dir())
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".lock")));
    assert_eq!(locks.count(), 0);
}

/// A session that could not take its lock at start (a drafts directory it could not make or
/// write) takes it with the first draft written once it can: it never did, and another
/// custodian offered its drafts as kept from an earlier session and discarded one (bb36 #2).
#[test]
fn a_session_lock_not_taken_at_start_is_taken_by_the_first_draft_written() {
    let (_dir, drafts) = drafts();
    fs::create_dir_all(drafts.dir().parent().unwrap()).unwrap();
    fs::write(drafts.dir(), "in the way").unwrap();
    assert!(drafts.lock_session().is_err(), "no directory, no lock");
    let running = draft("u1", &new_session(), 1);
    assert!(drafts.save(&running).is_err());
    assert!(drafts.session_lock_is_gone(), "wanted and not held");
    fs::remove_file(drafts.dir()).unwrap();
    drafts.save(&running).unwrap();
    assert!(!drafts.session_lock_is_gone());
    let found = drafts.for_database(DB);
    assert_eq!(found.in_use, vec![running.clone()], "this session's");
    assert!(found.drafts.is_empty(), "offered to another custodian: {:?}", found.drafts);
    assert!(matches!(drafts.discard_found(&running), Err(DraftError::InUse { .. })));
    // Let go, it is not taken again by a later draft.
    drafts.unlock_session();
    drafts.save(&running).unwrap();
    assert_eq!(drafts.for_database(DB).drafts, vec![running]);
    assert!(!drafts.session_lock_is_gone());
}

/// The kernel lets go of a lock when its process dies, kill -9 included, and the file stays:
/// a lock file nobody holds is no running session. One of a process that is gone is removed
/// by the next look; one of a process still running (not yet locked, say) is left alone.
#[test]
fn a_lock_file_nobody_holds_is_no_running_session_and_a_dead_ones_is_removed() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let session = new_session();
    let unheld = drafts.dir().join(format!("{}.lock", process_token()));
    fs::write(&unheld, "").unwrap();
    assert!(!drafts.session_is_running(&session));
    let dead = drafts.dir().join("99999999-0000abcd.lock");
    fs::write(&dead, "").unwrap();
    drafts.for_database(DB);
    assert!(!dead.exists());
    assert!(unheld.exists(), "a running process's lock file is left alone");
}

/// A session's lock file is its own to remove: saving drafts while the lock is still named
/// (nothing removed it) keeps the one lock, and letting the session go removes its file.
#[test]
fn the_session_lock_file_goes_when_the_session_lets_go_after_drafts_were_saved() {
    let (_dir, drafts) = drafts();
    drafts.lock_session().unwrap();
    let lock = drafts.dir().join(lock_file_name(process_token()));
    let running = draft("u1", &new_session(), 1);
    drafts.save(&running).unwrap();
    drafts.save(&Draft { text: "{}".into(), ..running.clone() }).unwrap();
    assert!(lock.exists());
    assert_eq!(drafts.for_database(DB).in_use, vec![Draft { text: "{}".into(), ..running }]);
    drafts.unlock_session();
    assert!(!lock.exists(), "the lock file was left behind");
}

/// Only a session name custodian makes (`PID-TOKEN-N`: a decimal id and number of 1–20
/// digits, a hex token) has a lock file; any other is no running session, even when a file
/// of the name it would have is locked.
#[test]
fn a_session_name_custodian_did_not_make_is_no_running_session_even_beside_a_held_lock() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let long_id = format!("{}-0000abcd-1", "1".repeat(21));
    // Each breaks one rule: an empty id, token or number, an id that is not decimal, a token
    // that is not hex, a number that is not decimal, an id of 21 digits.
    let foreign =
        ["-0000abcd-1", "1--1", "2-0000abcd-", "x-0000abcd-1", "3-wxyz-1", "4-0000abcd-x", &long_id];
    let mut held = Vec::new();
    for session in foreign {
        let (process, _) = session.rsplit_once('-').unwrap();
        let file = fs::File::create(drafts.dir().join(lock_file_name(process))).unwrap();
        file.try_lock().unwrap();
        held.push(file);
        assert!(!drafts.session_is_running(session), "{session}");
    }
    let file = fs::File::create(drafts.dir().join(lock_file_name("5-0000abcd"))).unwrap();
    file.try_lock().unwrap();
    assert!(drafts.session_is_running("5-0000abcd-1"), "a held lock of a name custodian makes");
}

/// The look at a session's lock never hangs on a FIFO planted at its name, and never follows
/// a symbolic link there to a lock someone holds: neither is a running session.
#[test]
fn a_fifo_or_a_link_at_a_sessions_lock_name_is_no_running_session_and_never_hangs() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let fifo = std::ffi::CString::new(
        drafts.dir().join(lock_file_name("1-0000abcd")).into_os_string().into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid C string for the path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let held = fs::File::create(drafts.dir().join("held")).unwrap();
    held.try_lock().unwrap();
    std::os::unix::fs::symlink(drafts.dir().join("held"), drafts.dir().join(lock_file_name("2-0000abcd")))
        .unwrap();
    // On a thread, so a look that hangs on the FIFO fails the test instead of hanging it.
    let (sender, receiver) = std::sync::mpsc::channel();
    let dir = drafts.dir().to_owned();
    std::thread::spawn(move || {
        let drafts = Drafts::at(dir);
        sender.send([drafts.session_is_running("1-0000abcd-1"), drafts.session_is_running("2-0000abcd-1")])
    });
    let running = receiver.recv_timeout(Duration::from_secs(10)).expect("the look at the lock hung");
    assert_eq!(running, [false, false]);
}

/// A draft whose file is exactly [`MAX_FILE_BYTES`] is written and offered back whole; one
/// byte more is refused when written, with its size.
#[test]
fn a_draft_of_exactly_the_most_a_draft_file_may_hold_is_kept_and_one_byte_more_is_refused() {
    let (_dir, drafts) = drafts();
    let empty =
        serde_json::to_vec_pretty(&Draft { text: String::new(), ..draft("u1", "s1", 1) }).unwrap().len();
    let room = usize::try_from(MAX_FILE_BYTES).unwrap() - empty;
    let exact = Draft { text: "a".repeat(room), ..draft("u1", "s1", 1) };
    let path = drafts.save(&exact).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), MAX_FILE_BYTES);
    let found = drafts.for_database(DB);
    assert!(found.ignored.is_empty(), "{:?}", found.ignored);
    assert!(found.drafts == [exact], "the draft came back changed");
    let over = Draft { text: "a".repeat(room + 1), ..draft("u2", "s1", 1) };
    let refused = drafts.save(&over);
    assert!(
        matches!(refused, Err(DraftError::TooLarge { size }) if size as u64 == MAX_FILE_BYTES + 1),
        "{refused:?}"
    );
    assert!(!drafts.dir().join(over.file_name()).exists());
}

/// Only custodian's own temporary files (`.NAME.PID-TOKEN.tmp`, hidden) are removed when
/// their process is gone; a visible file of the same shape is someone else's and left alone.
#[test]
fn a_visible_file_named_like_a_dead_processs_temporary_file_is_left_alone() {
    let (_dir, drafts) = drafts();
    drafts.ensure_dir().unwrap();
    let visible = drafts.dir().join("notes.99999999-0000abcd.tmp");
    let hidden = drafts.dir().join(".notes.99999999-0000abcd.tmp");
    fs::write(&visible, "mine").unwrap();
    fs::write(&hidden, "half").unwrap();
    drafts.for_database(DB);
    assert!(visible.exists(), "a file custodian did not make was removed");
    assert!(!hidden.exists());
}

/// A drafts directory not made yet, or one that cannot even be looked at (a file where a
/// directory above it should be), passes the check: only one that others could write fails.
#[test]
fn a_drafts_directory_not_made_yet_or_out_of_reach_passes_the_check() {
    let (dir, drafts) = drafts();
    drafts.check().unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    Drafts::at(dir.path().join("file").join("custodian").join("drafts")).check().unwrap();
}

/// A recovery file taken over becomes the new session's draft: offered as a draft, and
/// continued by that session's autosave (a recovery file is never replaced).
#[test]
fn a_claimed_recovery_file_becomes_the_new_sessions_draft() {
    let (_dir, drafts) = drafts();
    let recovery = Draft { kind: DraftKind::Recovery, ..draft("u1", "s1", 1) };
    drafts.save(&recovery).unwrap();
    let claimed = drafts.claim(&recovery, "s9").unwrap();
    assert_eq!(claimed, draft("u1", "s9", 1));
    let autosaved = Draft { text: "{}".into(), ..claimed };
    drafts.save(&autosaved).unwrap();
    assert_eq!(drafts.for_database(DB).drafts, vec![autosaved]);
}

/// Two custodians opening one draft at the same moment: one takes it over, the other is told
/// it is gone, and one draft is left, never a copy for each.
#[test]
fn two_custodians_claiming_one_draft_at_once_leave_one_owner_and_one_draft() {
    for round in 0..20 {
        let (_dir, drafts) = drafts();
        let old = draft("u1", "s1", 1);
        drafts.save(&old).unwrap();
        let start = std::sync::Barrier::new(2);
        let claim = |session: &str| {
            start.wait();
            drafts.claim(&old, session)
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| claim("s8"));
            let b = s.spawn(|| claim("s9"));
            (a.join().unwrap(), b.join().unwrap())
        });
        let lost = match (&a, &b) {
            (Ok(_), Err(lost)) | (Err(lost), Ok(_)) => lost,
            _ => panic!("round {round}: not one owner: {a:?} {b:?}"),
        };
        assert!(matches!(lost, DraftError::Gone { .. }), "round {round}: {lost:?}");
        assert_eq!(drafts.for_database(DB).drafts.len(), 1, "round {round}");
    }
}

/// A claim or a discard that cannot reach the drafts directory (a file where a directory
/// above it should be) says why; it does not say the draft was taken by someone else.
#[test]
fn a_claim_or_discard_that_cannot_reach_the_draft_says_why_not_that_it_is_gone() {
    let (dir, _) = drafts();
    fs::write(dir.path().join("file"), "").unwrap();
    let drafts = Drafts::at(dir.path().join("file").join("custodian").join("drafts"));
    fn not_a_directory<T: std::fmt::Debug>(result: Result<T, DraftError>) {
        let said = matches!(&result, Err(DraftError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOTDIR));
        assert!(said, "{result:?}");
    }
    not_a_directory(drafts.claim(&draft("u1", "s1", 1), "s9"));
    not_a_directory(drafts.discard_found(&draft("u1", "s1", 1)));
}

/// `kill(pid, 0)` leaves errno as it was when it succeeds: a process that runs is not taken
/// for gone because the one asked about before it on the same thread was.
#[test]
fn a_running_process_is_not_taken_for_gone_after_a_dead_one_was_asked_about() {
    assert!(process_is_gone("99999999-0000abcd"));
    assert!(!process_is_gone(&format!("{}-0000abcd", std::process::id())));
}

#[test]
fn drafts_of_the_same_database_elsewhere_are_named_and_not_those_of_this_one_or_of_a_running_session() {
    let (_dir, drafts) = drafts();
    const HERE: &str = "postgres://postgres@localhost:5432/logto#tenant=default";
    const THERE: &str = "postgres://postgres@127.0.0.1:5432/logto#tenant=default";
    let there = Draft { database: THERE.into(), ..draft("u1", "s1", 1) };
    let there_name = there.file_name();
    drafts.save(&there).unwrap();
    drafts.save(&Draft { database: HERE.into(), ..draft("u2", "s1", 2) }).unwrap();
    drafts.save(&Draft { database: "/db/other.redb".into(), ..draft("u3", "s1", 3) }).unwrap();
    let same = |other: &Draft| crate::store::same_database_name_and_tenant(HERE, &other.database);
    assert_eq!(drafts.of_the_same_database_elsewhere(HERE, same), vec![(there_name, THERE.to_owned())]);
    // Not the same by `same`: nothing named.
    assert!(drafts.of_the_same_database_elsewhere(HERE, |_| false).is_empty());
    // A draft of a session still running is its session's, wherever it was kept.
    drafts.lock_session().unwrap();
    drafts.save(&Draft { database: THERE.into(), ..draft("u4", &new_session(), 4) }).unwrap();
    let named = drafts.of_the_same_database_elsewhere(HERE, same);
    assert_eq!(named.iter().map(|(_, db)| db.as_str()).collect::<Vec<_>>(), [THERE], "{named:?}");
}

/// Drafts of `E` sessions (the editor's file named in them).
mod external;

/// Why a draft was not opened comes before its (long) path: a status line cut at its width
/// said only the path (bb36 #4).
#[test]
fn a_draft_not_opened_says_why_before_its_path() {
    let path =
        PathBuf::from("/state/custodian/drafts/c0a10fc50c95371e.btrf5r6c0mch.23511-8e26a8e1-1.draft.json");
    let gone = DraftError::Gone { path: path.clone() }.to_string();
    assert!(gone.starts_with("this draft was just opened or discarded by another custodian ("), "{gone}");
    let in_use = DraftError::InUse { path }.to_string();
    assert!(in_use.starts_with("this draft is being edited in another running custodian ("), "{in_use}");
}

#[path = "tests/later_copy.rs"]
mod later_copy_tests;

/// Drafts written through a link record the path given; those of a file opened by its own
/// path record none, so older builds still read them (bb73 F6).
#[test]
fn drafts_through_a_link_record_the_path_given_and_others_none() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("users.redb");
    std::fs::write(&file, b"").unwrap();
    let link = dir.path().join("current.redb");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let through_link = Drafts::at(dir.path().join("a")).opened_as(&link);
    assert_eq!(through_link.given_path(), Some(link.display().to_string().as_str()));
    let written = through_link.save(&draft("u1", "s1", 1)).unwrap();
    let read = through_link.read(&written.file_name().unwrap().to_string_lossy()).unwrap();
    assert_eq!(read.opened_as.as_deref(), Some(link.display().to_string().as_str()));
    let direct = Drafts::at(dir.path().join("b")).opened_as(&file);
    assert_eq!(direct.given_path(), None);
    let written = direct.save(&draft("u1", "s1", 1)).unwrap();
    assert!(!std::fs::read_to_string(&written).unwrap().contains("openedAs"));
}
