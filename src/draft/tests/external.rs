//! Drafts of `E` sessions: the editor's file named in the draft written as it started.

use super::*;

#[test]
fn an_e_sessions_draft_offers_what_its_editor_left_and_nothing_when_it_changed_nothing() {
    let (dir, drafts) = drafts();
    let stub = |user: &str, file: &Path| Draft {
        text: BASE.into(),
        external_file: Some(file.display().to_string()),
        ..draft(user, "s9", 1)
    };
    let file = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    };
    // Changed by the editor: offered with its text; unchanged (a newline more): not offered,
    // the draft and the file removed; gone (a cleaned /tmp): the draft removed; not UTF-8:
    // named, not offered, the file kept.
    let changed = file("changed.json", "\u{feff}{\n  \"a\": 2\n}\n".as_bytes());
    let unchanged = file("unchanged.json", format!("{BASE}\n").as_bytes());
    let damaged = file("damaged.json", b"{\"a\": \xff}");
    for (user, path) in [("u1", &changed), ("u2", &unchanged), ("u4", &damaged)] {
        drafts.save(&stub(user, path)).unwrap();
    }
    drafts.save(&stub("u3", &dir.path().join("gone.json"))).unwrap();
    let found = drafts.for_database(DB);
    assert_eq!(users(&found), [("u1".to_owned(), "s9".to_owned())]);
    assert_eq!(found.drafts[0].text, "{\n  \"a\": 2\n}");
    assert_eq!(found.ignored.len(), 1, "{:?}", found.ignored);
    assert!(found.ignored[0].why.contains("damaged.json: not UTF-8"), "{}", found.ignored[0].why);
    assert!(!unchanged.exists() && damaged.exists() && changed.exists());
    let left: Vec<String> = drafts.for_database(DB).ignored.iter().map(|i| i.name.clone()).collect();
    assert_eq!(left.len(), 1, "only the damaged one's draft is left beside u1's: {left:?}");
    // Taken over: the claimed draft holds the editor's text and names no file; the file goes.
    let claimed = drafts.claim(&found.drafts[0], "s10").unwrap();
    assert_eq!((claimed.text.as_str(), claimed.external_file.as_deref()), ("{\n  \"a\": 2\n}", None));
    assert!(!changed.exists());
    assert_eq!(drafts.read(&claimed.file_name()).unwrap(), claimed);
}

#[test]
fn an_e_sessions_draft_whose_editor_still_runs_is_named_not_offered_and_its_file_left_alone() {
    // bb21 L02: custodian killed, its editor ran on; the next start took the file over (and
    // removed it) while the editor still wrote to it.
    let (dir, drafts) = drafts();
    let file = dir.path().join("custodian-1-abc.json");
    fs::write(&file, "{\"a\": 2}\n").unwrap();
    let stub =
        Draft { text: BASE.into(), external_file: Some(file.display().to_string()), ..draft("u1", "s9", 1) };
    drafts.save(&stub).unwrap();
    // One process holding the file's name, never forking: a shell's child, killed with it
    // before its exec, still had the name for a moment, and the draft read as still edited.
    let mut editor = std::process::Command::new("tail")
        .arg("-f")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("an editor stand-in");
    // Until it has exec'd, its command line is this test's.
    let cmdline = format!("/proc/{}/cmdline", editor.id());
    let named = file.display().to_string();
    while !fs::read(&cmdline).unwrap_or_default().split(|b| *b == 0).any(|a| a == named.as_bytes()) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let found = drafts.for_database(DB);
    assert!(found.drafts.is_empty());
    assert_eq!(found.ignored.len(), 1);
    assert!(found.ignored[0].why.contains("is still running"), "{}", found.ignored[0].why);
    assert!(matches!(drafts.claim(&stub, "s10"), Err(DraftError::NotOffered { .. })));
    assert!(file.exists(), "left to the editor");
    editor.kill().unwrap();
    editor.wait().unwrap();
    let found = drafts.for_database(DB);
    assert_eq!(found.drafts.len(), 1, "offered once it has ended");
    assert_eq!(found.drafts[0].text, "{\"a\": 2}");
}

#[test]
fn an_e_sessions_file_is_read_only_as_a_plain_file_of_ours_up_to_eight_mib() {
    let (dir, drafts) = drafts();
    let offered = |user: &str, path: &Path| {
        let stub = Draft {
            text: BASE.into(),
            external_file: Some(path.display().to_string()),
            ..draft(user, "s9", 1)
        };
        drafts.save(&stub).unwrap();
        let found = drafts.for_database(DB);
        drafts.remove(&stub);
        // Not the copies sessions kept at their end: a test beside this one writes one into
        // the real `$TMPDIR` for this database, and the listing may find it there.
        let why: Vec<String> = found
            .ignored
            .iter()
            .filter(|i| !i.why.contains("that a session kept at its end"))
            .map(|i| i.why.clone())
            .collect();
        (found.drafts.iter().any(|d| d.user_id == user), why)
    };
    // Exactly 8 MiB is taken, a byte more is not; 2 MiB is.
    let sized = |name: &str, size: usize| {
        let path = dir.path().join(name);
        let mut text = String::from("{\"a\": \"");
        text.push_str(&"x".repeat(size - text.len() - 2));
        text.push_str("\"}");
        fs::write(&path, &text).unwrap();
        path
    };
    assert!(offered("u1", &sized("two.json", 2 << 20)).0);
    assert!(offered("u2", &sized("eight.json", 8 << 20)).0);
    let (taken, why) = offered("u3", &sized("over.json", (8 << 20) + 1));
    assert!(!taken && why.iter().any(|w| w.contains("more than 8 MiB")), "{why:?}");
    // Said as a file not read back, with how the note ends (it said "an `E` edit cut short"
    // of an edit refused as too large when it ended: bb91 F7).
    assert!(why.iter().any(|w| w.contains("not read back") && w.contains("remove both")), "{why:?}");
    // A symbolic link swapped in is never followed; a path under a file is not "gone".
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(dir.path().join("two.json"), &link).unwrap();
    let (taken, why) = offered("u4", &link);
    assert!(!taken && why.iter().any(|w| w.contains("a symbolic link")), "{why:?}");
    let (taken, why) = offered("u5", &dir.path().join("two.json").join("x"));
    assert!(!taken && why.len() == 1 && !why[0].contains("symbolic link"), "{why:?}");
    // Left as it was, with vim's recovery file beside it: named with `vim -r`, both kept.
    let left = dir.path().join("left.json");
    fs::write(&left, format!("{BASE}\n")).unwrap();
    fs::write(dir.path().join(".left.json.swp"), "swap").unwrap();
    let (taken, why) = offered("u6", &left);
    assert!(!taken && why.iter().any(|w| w.contains("recovery file") && w.contains("vim -r")), "{why:?}");
    assert!(left.exists());
}
