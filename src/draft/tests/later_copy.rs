//! Drafts that take the later copy their session kept in `$TMPDIR` (bb36 #1).

use super::*;

/// bb36 #1: a session whose drafts could no longer be written kept its edit in `$TMPDIR` at
/// its end; its older draft is offered with that later text, and says where it came from.
/// Only a later file of the same user and process counts, and only a regular file of ours.
#[test]
fn a_draft_takes_the_later_text_its_session_kept_in_tmpdir() {
    let tmp = tempfile::tempdir().unwrap();
    let session = new_session();
    let written = crate::domain::time::now_ms() - 10_000;
    let older = Draft { text: "{\"v1\": 1}".into(), ..draft("u1", &session, written) };
    assert!(older.clone().with_later_copy_in(tmp.path()).later_copy.is_none(), "nothing there");
    // Another user's file, and one of this user from before the draft: not taken.
    fs::write(tmp.path().join(later_copy::unsaved_file_name("u2", DB, 1, None)), "{\"other\": 1}").unwrap();
    let stale = tmp.path().join(later_copy::unsaved_file_name("u1", DB, 1, None));
    fs::write(&stale, "{\"stale\": 1}").unwrap();
    let before = fs::File::options().write(true).open(&stale).unwrap();
    before.set_modified(std::time::UNIX_EPOCH + Duration::from_millis((written - 5_000) as u64)).unwrap();
    assert!(older.clone().with_later_copy_in(tmp.path()).later_copy.is_none(), "older or another's");
    // A symbolic link in its place is never read.
    let elsewhere = tmp.path().join("elsewhere.json");
    fs::write(&elsewhere, "{\"linked\": 1}").unwrap();
    std::os::unix::fs::symlink(&elsewhere, tmp.path().join(later_copy::unsaved_file_name("u1", DB, 1, None)))
        .unwrap();
    assert!(older.clone().with_later_copy_in(tmp.path()).later_copy.is_none(), "through a link");
    let later = tmp.path().join(later_copy::unsaved_file_name("u1", DB, 1, None));
    fs::write(&later, "{\"v1\": 1, \"v2\": 2}").unwrap();
    let taken = older.with_later_copy_in(tmp.path());
    assert_eq!(taken.text, "{\"v1\": 1, \"v2\": 2}");
    assert_eq!(taken.later_copy.as_deref(), Some(later.display().to_string().as_str()));
    assert!(taken.saved_at >= written);
}

/// The same through what the screen calls: the drafts found at start-up, and the one taken
/// over, hold the later text from `$TMPDIR` (the real one: a user id of this test's own).
#[test]
fn found_and_claimed_drafts_take_the_later_copy_from_tmpdir() {
    let (_dir, drafts) = drafts();
    let user = format!("later{:08x}", fastrand::u32(..));
    let session = new_session();
    let older = Draft {
        text: "{\"v1\": 1}".into(),
        ..draft(&user, &session, crate::domain::time::now_ms() - 10_000)
    };
    drafts.save(&older).unwrap();
    let later = later_copy::later_copies_dir().join(later_copy::unsaved_file_name(&user, DB, 3, None));
    fs::write(&later, "{\"v1\": 1, \"v2\": 2}").unwrap();
    let found = drafts.for_database(DB);
    let offered = found.drafts.iter().find(|d| d.user_id == user).cloned().expect("offered");
    let claimed = drafts.claim(&older, &new_session());
    assert_eq!(offered.text, "{\"v1\": 1, \"v2\": 2}");
    let claimed = claimed.unwrap();
    assert!(!later.exists(), "the copy in $TMPDIR goes once the claimed draft holds it");
    assert_eq!(claimed.text, "{\"v1\": 1, \"v2\": 2}");
    assert_eq!(claimed.later_copy.as_deref(), Some(later.display().to_string().as_str()));
    // The draft on disk holds it now: the next start needs no copy in `$TMPDIR`.
    assert_eq!(drafts.for_database(DB).drafts[0].text, "{\"v1\": 1, \"v2\": 2}");
}

/// bb43 F3: an edit too large for a draft, kept in `$TMPDIR` at the session's end (a hang-up,
/// whose stderr went with the SSH session), was never mentioned again. The next start on that
/// database names it, with its user; one of another database, or one others may write, is not.
#[test]
fn an_edit_kept_in_tmpdir_without_a_draft_is_named_at_the_next_start_on_its_database() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, drafts) = drafts();
    let user = format!("nodraft{:08x}", fastrand::u32(..));
    let kept = later_copy::later_copies_dir().join(later_copy::unsaved_file_name(&user, DB, 3, None));
    let elsewhere =
        later_copy::later_copies_dir().join(later_copy::unsaved_file_name(&user, "/another.redb", 3, None));
    let writable = later_copy::later_copies_dir().join(later_copy::unsaved_file_name(&user, DB, 3, None));
    // Empty: left by a write that failed (a full `$TMPDIR`), the edit gone elsewhere (bb44 F7).
    let empty = later_copy::later_copies_dir().join(later_copy::unsaved_file_name(&user, DB, 3, None));
    for file in [&kept, &elsewhere, &writable] {
        fs::write(file, "{\"big\": 1}").unwrap();
    }
    fs::write(&empty, "").unwrap();
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o666)).unwrap();
    let found = drafts.for_database(DB);
    for file in [&kept, &elsewhere, &writable, &empty] {
        let _ = fs::remove_file(file);
    }
    let named: Vec<&Ignored> = found.ignored.iter().filter(|i| i.why.contains(&user)).collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].name, kept.display().to_string());
    assert!(
        named[0].why.contains(&format!("an unsaved edit of user {user} that a session kept at its end")),
        "{named:?}"
    );
    assert!(
        named[0].why.contains(&format!("`custodian set id:{user} FILE --expect-revision 3` saves it")),
        "{named:?}"
    );
    assert!(found.drafts.iter().all(|d| d.user_id != user), "not offered as a draft");
}

/// A later copy kept in a place after `$TMPDIR` (the home directory, `/tmp`, the current
/// directory) is taken too: looked for in `$TMPDIR` alone, the draft was offered with its
/// older text (review57).
#[test]
fn a_draft_takes_the_later_text_from_whichever_place_it_was_kept_in() {
    let (tmpdir, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let session = new_session();
    let written = crate::domain::time::now_ms() - 10_000;
    let older = Draft { text: "{\"v1\": 1}".into(), ..draft("u1", &session, written) };
    let later = home.path().join(later_copy::unsaved_file_name("u1", DB, 1, None));
    fs::write(&later, "{\"v1\": 1, \"v2\": 2}").unwrap();
    assert!(older.clone().with_later_copy_in(tmpdir.path()).later_copy.is_none(), "not in $TMPDIR");
    let places = [tmpdir.path().to_path_buf(), home.path().to_path_buf()];
    let taken = older.with_later_copy(&later_copy::LaterCopies::in_places(&places));
    assert_eq!(taken.text, "{\"v1\": 1, \"v2\": 2}");
    assert_eq!(taken.later_copy.as_deref(), Some(later.display().to_string().as_str()));
}

/// A copy of another process that had the same id (a container's first process is always 1;
/// ids repeat after a reboot) is not this draft's later text: its name carries the process's
/// token too, and another session's copy replaced the draft's text (bb59 F1).
#[test]
fn a_copy_of_another_process_with_the_same_id_is_not_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let session = new_session();
    let written = crate::domain::time::now_ms() - 10_000;
    let draft = Draft { text: "{\"mine\": 1}".into(), ..draft("u1", &session, written) };
    let ours = later_copy::unsaved_file_name("u1", DB, 1, None);
    let token = super::process_token();
    let other_token = if token.ends_with("00000000") { "11111111" } else { "00000000" };
    let (pid, _) = token.split_once('-').unwrap();
    let theirs = ours.replacen(token, &format!("{pid}-{other_token}"), 1);
    assert_ne!(theirs, ours);
    fs::write(tmp.path().join(&theirs), "{\"theirs\": 1}").unwrap();
    let kept = draft.clone().with_later_copy_in(tmp.path());
    assert_eq!((kept.text.as_str(), kept.later_copy), ("{\"mine\": 1}", None));
    // Its own process's copy is.
    fs::write(tmp.path().join(&ours), "{\"mine\": 2}").unwrap();
    assert_eq!(draft.with_later_copy_in(tmp.path()).text, "{\"mine\": 2}");
}
