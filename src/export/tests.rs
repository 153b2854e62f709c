//! The export's own tests: the list order through spilled runs, progress, publishing, and
//! what an export says of the users it left out and of those an import would refuse.

use super::*;
use crate::domain::custom_data::Limits;
use crate::domain::import::RecordRules;

#[test]
fn publishing_never_replaces_a_file_that_appeared_meanwhile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let temporary = dir.path().join(".out.jsonl.custodian-export-1-0");
    let target = dir.path().join("out.jsonl");
    fs::write(&temporary, "the export\n").expect("write");
    // Someone creates the target between the check and the publication.
    fs::write(&target, "theirs\n").expect("write");
    let error = Unpublished::new(temporary.clone()).publish(&target).expect_err("refused");
    assert!(error.to_string().contains("appeared while exporting"), "{error}");
    assert_eq!(fs::read_to_string(&target).expect("read"), "theirs\n");
    assert!(!temporary.exists(), "the temporary file was left behind");
}

/// A store of `users` users with every kind of handle the list orders by: usernames in
/// mixed case and script, an email or a phone alone, nothing but the id.
fn store_of_many_handles(dir: &Path, users: usize) -> crate::store::RedbStore {
    let lines: String = (0..users)
        .map(|n| {
            let handle = match n % 5 {
                // Lower-cased, the same handle as the next user but one: the id decides.
                0 if n % 10 == 0 => format!("\"username\":\"mail{}@x.org\"", n + 2),
                0 => format!("\"username\":\"User{}\"", n * 7919 % 100_003),
                1 => format!("\"username\":\"ärger{n}\",\"primaryEmail\":\"Z{n}@x.org\""),
                2 => format!("\"primaryEmail\":\"Mail{n}@x.org\""),
                3 => format!("\"primaryPhone\":\"+1 555 {n:04}\""),
                _ => "\"name\":\"only an id\"".to_owned(),
            };
            format!(
                "{{\"id\":\"u{n:05}\",{handle},\"customData\":{{\"n\":{n},\"pad\":\"{}\"}}}}\n",
                "x".repeat(n % 40)
            )
        })
        .collect();
    crate::store::test_store(dir, &lines)
}

/// Every line as the list-order walk makes them, each with its newline.
fn lines_read_in_list_order(store: &dyn UserStore) -> Vec<u8> {
    let mut out = Vec::new();
    each_user(store, &Watch::UNWATCHED, &mut |record, text| {
        push_line(&mut out, record, text)?;
        out.push(b'\n');
        Ok(())
    })
    .expect("walk");
    out
}

#[test]
fn lines_sorted_through_many_spilled_runs_are_the_list_orders_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 3000);
    let expected = lines_read_in_list_order(&store);
    let spill_dir = tempfile::tempdir().expect("spill dir");
    // 8 KiB runs: dozens of them, merged; and one budget that holds everything.
    for budget in [8 * 1024, SORT_BUDGET] {
        let mut out = Vec::new();
        let spill = Spill::new(spill_dir.path()).expect("spill file");
        let count = sorted_lines(&store, spill, budget, &Watch::UNWATCHED, &mut |line| {
            out.extend_from_slice(line);
            out.push(b'\n');
            Ok(())
        })
        .expect("sorted")
        .expect("the spill file worked");
        assert_eq!((count.written, count.left_out), (3000, 0));
        assert!(out == expected, "budget {budget}: the lines differ from the list order's");
    }
    // The spill file had no name: nothing is left beside it.
    assert_eq!(fs::read_dir(spill_dir.path()).expect("list").count(), 0);
}

#[test]
fn while_the_users_are_read_and_sorted_progress_is_told_how_many_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 9000);
    let told = std::sync::Mutex::new(Vec::new());
    let path = dir.path().join("out.jsonl");
    to_file(&store, &path, &Watch { told: &|n| told.lock().expect("lock").push(n), stopped: &|| false })
        .expect("export");
    let told = told.into_inner().expect("lock");
    // Read (before the first line is written, so first) up to all of them, then written up
    // to all of them: the count of each phase its own (the read's last step was told only
    // once the lines were written, and the bar stood at 8,192 of 9,000 meanwhile: bb35 #9).
    assert_eq!(told[..2], [Progress::Read(TELL_EVERY), Progress::Read(2 * TELL_EVERY)], "{told:?}");
    let first_written = told.iter().position(|p| matches!(p, Progress::Written(_))).expect("written");
    assert_eq!(told[first_written - 1], Progress::Read(9000), "{told:?}");
    assert!(told[first_written..].iter().all(|p| matches!(p, Progress::Written(_))), "{told:?}");
    assert_eq!(told.last(), Some(&Progress::Written(9000)), "{told:?}");
}

#[test]
fn a_spill_file_is_made_only_where_the_file_system_has_room_for_twice_the_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(Spill::with_room(dir.path(), 1024).is_some());
    let free = {
        let space = rustix::fs::statvfs(dir.path()).expect("statvfs");
        space.f_bavail * space.f_frsize
    };
    // More than half of what is free: the export reads in list order instead.
    assert!(Spill::with_room(dir.path(), free / 2 + 1024 * 1024).is_none());
    assert!(Spill::with_room(dir.path(), u64::MAX).is_none());
}

#[test]
fn where_the_spill_file_cannot_be_written_nothing_is_emitted_by_the_sort() {
    // A run whose write fails (a full disk; here on the writer thread a bulk load's spill
    // file has) must be known before the first line goes out, so the list-order read does it.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 300);
    let spill_dir = tempfile::tempdir().expect("spill dir");
    let spill = Spill::with_unwritable_runs(spill_dir.path()).expect("spill file");
    let mut emitted = 0;
    let sorted = sorted_lines(&store, spill, 8 * 1024, &Watch::UNWATCHED, &mut |_| {
        emitted += 1;
        Ok(())
    })
    .expect("no error: the caller reads in list order instead");
    assert!(sorted.is_none() && emitted == 0, "{emitted} lines emitted");
}

#[test]
fn where_no_spill_file_can_be_made_the_users_are_read_in_list_order_with_the_same_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 200);
    let expected = lines_read_in_list_order(&store);
    // `/proc` takes no file, not even root's; the second directory does not exist.
    let nowhere = [PathBuf::from("/proc"), dir.path().join("gone")];
    let mut out = Vec::new();
    let count = lines_in_list_order(&store, &nowhere, &Watch::UNWATCHED, &mut |line| {
        out.extend_from_slice(line);
        out.push(b'\n');
        Ok(())
    })
    .expect("export");
    assert_eq!((count.written, count.left_out), (200, 0));
    assert!(out == expected, "the fallback's lines differ");
}

#[test]
fn progress_is_told_the_users_in_the_file_so_far_once_a_chunk_ending_at_the_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines: String =
        (0..3).map(|n| format!("{{\"id\":\"u{n}\",\"username\":\"u{n}\",\"customData\":{{}}}}\n")).collect();
    let store = crate::store::test_store(dir.path(), &lines);
    let told = std::sync::Mutex::new(Vec::new());
    let path = dir.path().join("out.jsonl");
    let written =
        to_file(&store, &path, &Watch { told: &|n| told.lock().expect("lock").push(n), stopped: &|| false })
            .expect("export");
    let told = told.into_inner().expect("lock");
    assert_eq!(written, 3);
    // All three read, then three short lines are one chunk: one write, after which the file
    // holds all three.
    assert_eq!(told, vec![Progress::Read(3), Progress::Written(3)]);
    assert_eq!(fs::read_to_string(&path).expect("read").lines().count(), 3);
}

#[test]
fn a_failure_to_publish_that_is_not_a_taken_name_says_what_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let temporary = dir.path().join(".out.jsonl.custodian-export-1-0");
    fs::write(&temporary, "the export\n").expect("write");
    // Neither a hard link nor a rename can make a name in a directory that is not there.
    let target = dir.path().join("gone").join("out.jsonl");
    let error = Unpublished::new(temporary.clone()).publish(&target).expect_err("refused");
    let said = format!("{error:#}");
    assert!(!said.contains("appeared"), "{said}");
    assert!(said.contains("No such file or directory"), "{said}");
    assert!(!temporary.exists(), "the temporary file was left behind");
}

#[test]
fn a_published_export_keeps_only_its_final_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let temporary = dir.path().join(".out.jsonl.custodian-export-1-0");
    let target = dir.path().join("out.jsonl");
    fs::write(&temporary, "the export\n").expect("write");
    Unpublished::new(temporary.clone()).publish(&target).expect("published");
    assert_eq!(fs::read_to_string(&target).expect("read"), "the export\n");
    assert!(!temporary.exists());
}

/// A user as a store reads them back (given another id by each test: SQL may write any).
fn a_user_read_back() -> UserRecord {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        crate::store::test_store(dir.path(), "{\"id\":\"u1\",\"username\":\"ann\",\"customData\":{}}\n");
    let mut read = None;
    each_user(&store, &Watch::UNWATCHED, &mut |record, _| {
        read = Some(record.clone());
        Ok(())
    })
    .expect("walk");
    read.expect("one user")
}

/// The tally of an export where others write the users (as on PostgreSQL): each line is
/// read as an import reads a record.
fn tally_reading_lines_as_an_import() -> Tally {
    Tally { import_rules: Some(RecordRules::new(Limits::default(), 0)), ..Tally::default() }
}

/// Each user (id, stored customData) through the tally as an export does; whether each
/// gave a line.
fn export_through(tally: &mut Tally, users: &[(&str, &str)]) -> Vec<bool> {
    let mut record = a_user_read_back();
    let mut line = Vec::new();
    users
        .iter()
        .map(|(id, text)| {
            record.user.id = (*id).to_owned();
            let written = tally.line_of(&mut line, &record, text);
            if written {
                tally.wrote_one();
            }
            written
        })
        .collect()
}

#[test]
fn a_line_an_import_would_refuse_is_still_written_and_the_export_names_its_user_and_why() {
    let mut tally = tally_reading_lines_as_an_import();
    assert_eq!(export_through(&mut tally, &[("a b", "{}")]), [true]);
    let error = tally.finish_of("the export", "out.jsonl").expect_err("said");
    let unimportable = error.downcast_ref::<Unimportable>().expect("Unimportable");
    assert_eq!(unimportable.written, 1);
    assert_eq!(
        error.to_string(),
        "1 user was written to out.jsonl, but an import of it would refuse 1 of them, which break custodian's \
         rules for a user (Logto or SQL wrote them): \"a b\" (`id` \"a b\" is not 1–12 characters of a–z, A–Z, \
         0–9, '_' or '-'); fix them where they are stored before this file is imported"
    );
}

#[test]
fn an_export_names_the_first_five_users_an_import_would_refuse_and_counts_the_others() {
    let mut tally = tally_reading_lines_as_an_import();
    let users = [("ok", "{}"), ("b 1", "{}"), ("b 2", "{}"), ("b 3", "{}"), ("b 4", "{}"), ("b 5", "{}")];
    assert_eq!(export_through(&mut tally, &users), [true; 6]);
    // Five named: no "and 0 more".
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(
        said.starts_with("6 users were written to out.jsonl, but an import of it would refuse 5 of them"),
        "{said}"
    );
    assert!(said.ends_with("); fix them where they are stored before this file is imported"), "{said}");
    let mut tally = tally_reading_lines_as_an_import();
    let users = [
        ("b 1", "{}"),
        ("b 2", "{}"),
        ("b 3", "{}"),
        ("b 4", "{}"),
        ("b 5", "{}"),
        ("b 6", "{}"),
        ("b 7", "{}"),
    ];
    export_through(&mut tally, &users);
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(said.contains("would refuse 7 of them"), "{said}");
    assert!(said.contains("b 5") && !said.contains("b 6"), "{said}");
    assert!(
        said.ends_with(") and 2 more; fix them where they are stored before this file is imported"),
        "{said}"
    );
}

#[test]
fn where_only_custodian_writes_the_users_their_lines_are_not_read_as_an_import_reads_them() {
    let mut tally = Tally::default();
    assert_eq!(export_through(&mut tally, &[("a b", "{}"), ("c d", "{}")]), [true, true]);
    assert_eq!(tally.finish_of("the export", "out.jsonl").expect("every user written"), 2);
}

#[test]
fn a_user_whose_customdata_is_no_object_is_left_out_and_named_with_what_it_is() {
    let mut tally = Tally::default();
    let users = [("o1", "null"), ("ok1", "{}"), ("ok2", "{}")];
    assert_eq!(export_through(&mut tally, &users), [false, true, true]);
    let error = tally.finish_of("the export", "out.jsonl").expect_err("said");
    let left_out = error.downcast_ref::<LeftOut>().expect("LeftOut");
    assert_eq!((left_out.users, left_out.written), (1, 2));
    assert_eq!(
        error.to_string(),
        "1 user left out of the export, their stored customData no JSON object custodian can read: o1 (null); \
         `custodian set id:ID` replaces each one's; the other 2 users were written to out.jsonl"
    );
}

#[test]
fn an_export_names_the_first_five_users_left_out_counts_the_others_and_adds_what_an_import_would_refuse() {
    let mut tally = tally_reading_lines_as_an_import();
    let users = [
        ("o1", "null"),
        ("o2", "[1]"),
        ("o3", "\"s\""),
        ("o4", "true"),
        ("o5", "1"),
        ("o6", "null"),
        ("o7", "null"),
        ("a b", "{}"),
    ];
    assert_eq!(export_through(&mut tally, &users), [false, false, false, false, false, false, false, true]);
    // The one written is also one an import would refuse: both are said.
    assert_eq!(
        tally.finish_of("the export", "out.jsonl").expect_err("said").to_string(),
        "7 users left out of the export, their stored customData no JSON object custodian can read: o1 (null), o2 (an array), \
         o3 (a string), o4 (a boolean), o5 (a number) and 2 more; `custodian set id:ID` replaces each one's; \
         the other user was written to out.jsonl; an import of it would refuse 1 of them, which break \
         custodian's rules for a user (Logto or SQL wrote them): \"a b\" (`id` \"a b\" is not 1–12 characters of \
         a–z, A–Z, 0–9, '_' or '-')"
    );
}

/// bb16 L16: Logto keeps `Bob` and `bob` apart, an import refuses the second; the export said
/// they were not looked for. The store finds them (PostgreSQL: by `lower`), the export names
/// the first five groups, each value and id inert.
#[test]
fn an_export_names_the_names_users_share_that_an_import_would_refuse() {
    let mut tally = tally_reading_lines_as_an_import();
    assert_eq!(export_through(&mut tally, &[("u1", "{}")]), [true]);
    tally.collisions = Some(Ok((0..7)
        .map(|i| ("username", format!("bob{i}\u{1b}[2J"), vec![format!("u{i}a"), format!("u{i}b")]))
        .collect()));
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(
        said.starts_with(
            "1 user was written to out.jsonl, but an import of it would refuse users who share a name custodian keeps unique"
        ),
        "{said}"
    );
    assert!(said.contains("username \"bob0\\u{1b}[2J\" (u0a, u0b), "), "{said}");
    assert!(said.contains("(u4a, u4b) and 2 more names; fix them"), "{said}");
    assert!(!said.contains('\u{1b}'), "inert: {said:?}");

    // The store lists at most COLLISIONS_LISTED names: past that, how many more is not known.
    let mut tally = tally_reading_lines_as_an_import();
    tally.collisions = Some(Ok((0..crate::store::COLLISIONS_LISTED)
        .map(|i| ("primaryEmail", format!("e{i}@x"), vec!["a".to_owned(), "b".to_owned()]))
        .collect()));
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(said.contains(&format!("and {} or more names;", crate::store::COLLISIONS_LISTED - 5)), "{said}");

    let mut tally = tally_reading_lines_as_an_import();
    tally.collisions = Some(Err("connection lost".into()));
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(
        said.contains(
            "whether two users share a name (which an import refuses) was not checked: connection lost"
        ),
        "{said}"
    );
}

#[test]
fn an_export_asked_to_stop_ends_at_the_next_user_and_leaves_no_file() {
    // `export --out` on a signal, the screen's `:export` at the way out (bb37 #1): stopped
    // while the users are read, or while the sorted lines are written.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 300);
    for looks in [1, 150, 450] {
        let out = dir.path().join(format!("out{looks}"));
        fs::create_dir(&out).expect("dir");
        let looked = std::sync::atomic::AtomicUsize::new(0);
        let stopped = || looked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 >= looks;
        let watch = Watch { told: &|_| {}, stopped: &stopped };
        let error = to_file(&store, &out.join("users.jsonl"), &watch).expect_err("stopped");
        assert!(matches!(error.downcast_ref::<StoreError>(), Some(StoreError::Interrupted)), "{error:#}");
        assert_eq!(looked.load(std::sync::atomic::Ordering::Relaxed), looks, "it went on after the stop");
        let left: Vec<_> =
            fs::read_dir(&out).expect("read dir").map(|e| e.expect("entry").file_name()).collect();
        assert!(left.is_empty(), "stopped after {looks} looks, it left {left:?}");
    }
}

#[test]
fn a_name_as_long_as_the_file_system_takes_is_exported_its_temporary_name_cut_to_fit() {
    // 223–255 bytes were refused: the temporary file's name is longer (bb38 F8).
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_of_many_handles(dir.path(), 20);
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("dir");
    for name in ["b".repeat(249) + ".jsonl", "é".repeat(127) + "x"] {
        assert!(name.len() <= 255 && name.len() >= 250, "{}", name.len());
        let path = out.join(&name);
        let watch = Watch::UNWATCHED;
        assert_eq!(to_file(&store, &path, &watch).expect("a name the file system takes"), 20);
        let left: Vec<_> =
            fs::read_dir(&out).expect("read dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from(&name)], "only the export is left");
        fs::remove_file(&path).expect("remove");
        // With the longest process number and its random part it still fits, cut at a character.
        let prefix = leftovers::temporary_prefix(std::ffi::OsStr::new(&name));
        assert!(prefix.len() + 10 + 1 + 8 <= 255, "{}", prefix.len());
        assert!(std::str::from_utf8(&prefix).is_ok());
    }
}

/// Users whose fields besides customData an import's store refuses (over 1 MiB), or whose
/// line is longer than an import reads (16 MiB), are named too: a `profile` of 2 MiB was
/// written and not named, and the import of the file was refused on it (bb46 F5).
#[test]
fn an_export_names_users_whose_fields_or_line_an_import_would_refuse_for_their_size() {
    let mut tally = tally_reading_lines_as_an_import();
    let mut line = Vec::new();
    for (id, bytes) in [("p2", 2 * 1024 * 1024), ("p20", 20 * 1024 * 1024), ("small", 1000)] {
        let mut record = a_user_read_back();
        record.user.id = id.to_owned();
        record.user.profile.insert("nickname".into(), serde_json::Value::String("n".repeat(bytes)));
        assert!(tally.line_of(&mut line, &record, "{}"));
        tally.wrote_one();
    }
    let said = tally.finish_of("the export", "out.jsonl").expect_err("said").to_string();
    assert!(said.contains("would refuse 2 of them"), "{said}");
    assert!(said.contains("p2 (its fields besides customData would take 2,097,"), "{said}");
    assert!(said.contains(" B (2 MiB), over the 1,048,576 B a user may take)"), "{said}");
    assert!(said.contains("p20 (its line is longer than 16 MiB, the most one user may take)"), "{said}");
    assert!(!said.contains("small"), "{said}");
}
