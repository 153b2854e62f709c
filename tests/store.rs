//! The redb store through the `UserStore` trait: opening and creating files, all-or-nothing
//! imports, round-trip fidelity, versioned saves with history, lookups and paging, read-only
//! handles, and several processes writing one file at once.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use custodian::domain::import::{ImportFileError, ImportReader};
use custodian::domain::{CustomData, Limits};
use custodian::store::{
    Author, ImportMode, ImportSummary, JournalQuery, ListKey, NewUser, OpenOptions, RedbStore, Revision,
    SCHEMA_VERSION, SaveOutcome, StoreError, UserField, UserStore,
};
use serde_json::{Map, Value};
use support::home::PrivateHome;
use tempfile::TempDir;

/// What the import reader uses for missing timestamps.
const IMPORT_NOW: i64 = 1_700_000_000_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn importer() -> Author {
    Author("importer".into())
}

fn editor() -> Author {
    Author("editor".into())
}

fn data(text: &str) -> CustomData {
    CustomData::parse(text).expect("test document is valid customData")
}

fn canonical(text: &str) -> String {
    data(text).canonical().to_owned()
}

fn import_text(store: &RedbStore, text: &str, mode: ImportMode) -> Result<ImportSummary, StoreError> {
    let mut reader = ImportReader::new(text.as_bytes(), Limits::default(), IMPORT_NOW)
        .expect("the import file as a whole is readable");
    store.import(&mut reader, mode, &importer())
}

/// An import's summary that names no removed keys.
fn counts(inserted: u64, updated: u64, unchanged: u64) -> ImportSummary {
    ImportSummary { inserted, updated, unchanged, ..ImportSummary::default() }
}

fn new_users(text: &str) -> Vec<NewUser> {
    ImportReader::new(text.as_bytes(), Limits::default(), IMPORT_NOW)
        .expect("readable")
        .collect::<Result<Vec<_>, _>>()
        .expect("valid records")
}

/// A fresh, empty database in its own directory.
fn empty_db() -> (TempDir, PathBuf, RedbStore) {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("users.redb");
    let store = RedbStore::create(&path, OpenOptions::default()).expect("create database");
    (dir, path, store)
}

/// Five users covering every kind of handle: username, email only, phone only, id only.
const PEOPLE: &str = r#"[
{"id":"u1","username":"Alice","primaryEmail":"alice@example.com","name":"Alice Liddell","customData":{"theme":"dark","lang":"en"}},
{"id":"u2","username":"bob","primaryEmail":"Bob@Example.org","primaryPhone":"15551234567","name":"Bob Builder","customData":{}},
{"id":"u3","primaryEmail":"carol@example.net","name":"Carol","customData":{"a":1}},
{"id":"u4","primaryPhone":"4930123456","name":"Dieter Fernsprecher"},
{"id":"u5","name":"Nobody"}
]"#;

fn db_with_people() -> (TempDir, PathBuf, RedbStore) {
    let (dir, path, store) = empty_db();
    let summary = import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import people");
    assert_eq!(summary, counts(5, 0, 0));
    (dir, path, store)
}

/// Every user as an exported Logto object (one JSON line each), in list order.
fn export_lines(store: &RedbStore) -> Vec<String> {
    let mut lines = Vec::new();
    store
        .for_each_user(&mut |record, text| {
            let data: Map<String, Value> =
                serde_json::from_str(text).expect("stored customData is an object");
            lines.push(serde_json::to_string(&record.user.to_logto(Some(&data))).expect("serialisable"));
            Ok(())
        })
        .expect("for_each_user");
    lines
}

/// Everything an operator could observe about the users: their export, revision and history.
fn snapshot(store: &RedbStore) -> Vec<(String, Revision, usize)> {
    let mut rows = Vec::new();
    store
        .for_each_user(&mut |record, text| {
            let data: Map<String, Value> =
                serde_json::from_str(text).expect("stored customData is an object");
            let line = serde_json::to_string(&record.user.to_logto(Some(&data))).expect("serialisable");
            rows.push((line, record.revision, record.user.id.clone()));
            Ok(())
        })
        .expect("for_each_user");
    rows.into_iter()
        .map(|(line, revision, id)| (line, revision, store.history(&id).expect("history").len()))
        .collect()
}

fn all_ids_in_list_order(store: &RedbStore) -> Vec<String> {
    store.page_after(None, usize::MAX).expect("page").into_iter().map(|e| e.user.id).collect()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// Creating and opening

#[test]
fn create_makes_a_file_only_its_owner_can_read() {
    let (_dir, path, _store) = empty_db();
    assert_eq!(mode_of(&path), 0o600);
}

#[test]
fn create_refuses_an_existing_path_and_leaves_it_alone() {
    let (dir, path, store) = db_with_people();
    drop(store);
    let before = fs::read(&path).expect("read db");
    match RedbStore::create(&path, OpenOptions::default()) {
        Err(StoreError::AlreadyExists { path: p }) => assert!(p.contains("users.redb"), "{p}"),
        Err(other) => panic!("expected AlreadyExists, got {other}"),
        Ok(_) => panic!("create overwrote an existing database"),
    }
    assert_eq!(fs::read(&path).expect("read db"), before);

    let notes = dir.path().join("notes.txt");
    fs::write(&notes, "keep me\n").expect("write");
    assert!(matches!(
        RedbStore::create(&notes, OpenOptions::default()),
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(fs::read_to_string(&notes).expect("read"), "keep me\n");
}

#[test]
fn open_of_a_missing_file_says_missing_and_creates_nothing() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("nope.redb");
    for read_only in [false, true] {
        match RedbStore::open(&path, OpenOptions { read_only, ..Default::default() }) {
            Err(StoreError::Missing { path: p }) => assert!(p.ends_with("nope.redb"), "{p}"),
            Err(other) => panic!("expected Missing, got {other}"),
            Ok(_) => panic!("opened a file that does not exist"),
        }
        assert!(!path.exists(), "open must not create the file");
    }
}

fn assert_not_a_database(path: &Path) {
    for read_only in [false, true] {
        match RedbStore::open(path, OpenOptions { read_only, ..Default::default() }) {
            Err(StoreError::NotADatabase { .. }) => {}
            Err(other) => {
                panic!("{} (read_only {read_only}): expected NotADatabase, got {other:?}", path.display())
            }
            Ok(_) => panic!("{} (read_only {read_only}): opened as a database", path.display()),
        }
    }
}

#[test]
fn open_of_an_empty_file_is_not_a_database_and_leaves_it_empty() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("empty.redb");
    fs::write(&path, b"").expect("write");
    assert_not_a_database(&path);
    assert_eq!(fs::metadata(&path).expect("metadata").len(), 0);
    // Said before redb is asked, whose words for it are not the operator's.
    for read_only in [false, true] {
        let error = RedbStore::open(&path, OpenOptions { read_only, ..Default::default() });
        assert!(
            matches!(&error, Err(StoreError::NotADatabase { detail, .. }) if detail == "the file is empty"),
            "{:?}",
            error.err()
        );
    }
}

#[test]
fn open_of_a_text_file_is_not_a_database_and_leaves_it_intact() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("users.json");
    let text = "[{\"id\": \"not a database\"}]\n".repeat(200);
    fs::write(&path, &text).expect("write");
    assert_not_a_database(&path);
    assert_eq!(fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn open_of_a_directory_is_not_a_database() {
    let dir = TempDir::new().expect("temp dir");
    assert_not_a_database(dir.path());
}

/// Only a path that names nothing is said missing: one that cannot be looked at (a part of it
/// is a file, not a directory) says what the system said, so the operator is not sent to
/// look for a file that might be there.
#[test]
fn open_of_a_path_through_a_file_says_why_it_cannot_be_read_not_that_it_is_missing() {
    let dir = TempDir::new().expect("temp dir");
    let file = dir.path().join("notes.txt");
    fs::write(&file, "keep me\n").expect("write");
    let path = file.join("users.redb");
    for read_only in [false, true] {
        match RedbStore::open(&path, OpenOptions { read_only, ..Default::default() }) {
            Err(StoreError::Io { context, error }) => {
                assert!(context.ends_with("notes.txt/users.redb"), "{context}");
                assert_eq!(error.kind(), std::io::ErrorKind::NotADirectory, "{error}");
            }
            Err(other) => panic!("expected the system's error, got {other:?}"),
            Ok(_) => panic!("opened a path through a file"),
        }
    }
    assert_eq!(fs::read_to_string(&file).expect("read"), "keep me\n");
}

#[test]
fn open_of_a_redb_file_without_custodians_tables_is_not_a_database() {
    let dir = TempDir::new().expect("temp dir");
    let bare = dir.path().join("bare.redb");
    drop(redb::Database::create(&bare).expect("redb create"));
    assert_not_a_database(&bare);

    // Another program's file with one table of text: any name, or `meta` of other types.
    let with_one_table = |file: &str, table: &str, key: &str, value: &str| {
        let path = dir.path().join(file);
        let db = redb::Database::create(&path).expect("redb create");
        let tx = db.begin_write().expect("write tx");
        let definition: redb::TableDefinition<&str, &str> = redb::TableDefinition::new(table);
        tx.open_table(definition).expect("table").insert(key, value).expect("insert");
        tx.commit().expect("commit");
        path
    };
    assert_not_a_database(&with_one_table("foreign.redb", "stuff", "key", "value"));
    assert_not_a_database(&with_one_table("named-alike.redb", "meta", "schema_version", "8"));
}

/// Writes `version` as the file's layout version, behind custodian's back.
fn with_layout_version(path: &Path, version: u64) {
    const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    let db = redb::Builder::new()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(path)
        .expect("redb open");
    let tx = db.begin_write().expect("write tx");
    tx.open_table(META).expect("meta").insert("schema_version", version).expect("insert");
    tx.commit().expect("commit");
}

#[test]
fn open_refuses_a_file_written_by_a_newer_schema() {
    let (_dir, path, store) = db_with_people();
    drop(store);
    with_layout_version(&path, 99);
    for read_only in [false, true] {
        match RedbStore::open(&path, OpenOptions { read_only, ..Default::default() }) {
            Err(e @ StoreError::NewerSchema { found, supported, .. }) => {
                assert_eq!((found, supported), (99, SCHEMA_VERSION));
                assert!(
                    e.to_string().ends_with(&format!("this one knows {SCHEMA_VERSION}); upgrade custodian")),
                    "{e}"
                );
            }
            Err(other) => panic!("expected NewerSchema, got {other:?}"),
            Ok(_) => panic!("opened a database of a newer schema"),
        }
    }
}

/// A layout version no custodian could have written is a damaged byte, not a reason to
/// upgrade (bb76 F6: `schema 18374686479671623688; … upgrade custodian`).
#[test]
fn a_layout_version_no_custodian_wrote_is_said_as_damage() {
    let (_dir, path, store) = db_with_people();
    drop(store);
    with_layout_version(&path, SCHEMA_VERSION ^ 0xFF00_0000_0000_0000);
    let before = fs::read(&path).expect("read");
    for read_only in [false, true] {
        let Err(e) = RedbStore::open(&path, OpenOptions { read_only, ..Default::default() }) else {
            panic!("opened a database whose layout version is damaged");
        };
        let said = e.to_string();
        assert!(
            said.contains("the database file is damaged: its layout version reads 18374686479671623688"),
            "{said}"
        );
        assert!(said.ends_with("restore it from a backup") && !said.contains("upgrade"), "{said}");
    }
    assert!(fs::read(&path).expect("read") == before, "the file is left byte for byte");
}

/// Overwrites every byte of `path` from `from` on with deterministic noise.
fn scramble(path: &Path, from: usize) {
    let mut bytes = fs::read(path).expect("read");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in bytes.iter_mut().skip(from) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    fs::write(path, bytes).expect("write");
}

fn db_with_crowd_on_disk() -> (TempDir, PathBuf) {
    let (dir, path, store) = empty_db();
    import_text(&store, &crowd(), ImportMode::InsertOnly).expect("import");
    drop(store);
    (dir, path)
}

#[test]
fn open_of_a_damaged_database_is_refused_without_a_panic() {
    // As the binary has it: a panic redb raises on a damaged file is contained without the
    // default hook's backtrace, whose symbolising took over the open's 3 s on a loaded CI
    // machine (said as "busy").
    custodian::crash::install_hook();
    let (_dir, path) = db_with_crowd_on_disk();
    // The header stays valid; every page after it is noise.
    scramble(&path, 4096);
    for read_only in [false, true] {
        let outcome = std::panic::catch_unwind(|| {
            match RedbStore::open(&path, OpenOptions { read_only, ..Default::default() }) {
                Err(e) => Err(e.to_string()),
                Ok(store) => {
                    // If it opens, reads report the damage as errors.
                    store.count().map_err(|e| e.to_string())?;
                    store.page_after(None, 100).map_err(|e| e.to_string())?;
                    store.for_each_user(&mut |_, _| Ok(())).map_err(|e| e.to_string())?;
                    Ok(())
                }
            }
        });
        match outcome {
            Err(_) => panic!("read_only {read_only}: a damaged file made the store panic"),
            Ok(Ok(())) => panic!("read_only {read_only}: a damaged file read as a good one"),
            Ok(Err(message)) => {
                assert!(message.contains("users.redb"), "the error should name the file: {message}")
            }
        }
    }
}

/// A file cut just after its header: redb opens it read-only without reading further, and
/// the first read finds the pages missing: said as a read would say it, not as "not a
/// database".
#[test]
fn a_read_only_open_of_a_file_cut_after_its_header_says_it_ends_early() {
    let (_dir, path) = db_with_crowd_on_disk();
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..4096]).expect("truncate");
    match RedbStore::open(&path, OpenOptions { read_only: true, ..Default::default() }) {
        Err(StoreError::Database(message)) => {
            assert!(
                message.starts_with(&format!(
                    "{}: the database file is damaged: it ends before a page it refers to",
                    path.display()
                )),
                "{message}"
            )
        }
        Err(other) => panic!("expected the damage a read reports, got {other:?}"),
        Ok(_) => panic!("opened a file cut after its header"),
    }
}

#[test]
fn open_of_a_truncated_database_is_refused_or_fails_cleanly_on_read() {
    let (_dir, path) = db_with_crowd_on_disk();
    // Compacted first, so that the second half of the file holds users, not free space
    // (redb grows a file in large steps): the cut then takes users away for certain.
    let mut store = RedbStore::open(&path, OpenOptions::default()).expect("open");
    store.compact().expect("compact");
    drop(store);
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    // Opening for writing checks the layout and refuses: a damaged file, cut short.
    match RedbStore::open(&path, OpenOptions::default()) {
        Err(StoreError::Database(message)) => {
            assert!(message.contains("it ends before the layout its header records (truncated"), "{message}")
        }
        other => panic!("expected the file said cut short, got {:?}", other.map(|_| "a store")),
    }
    // A read-only open does not read the whole file, so it may succeed; then reading every
    // user reaches the missing half and must fail saying the file is damaged — a file cut in
    // half never reads as a whole one.
    match RedbStore::open(&path, OpenOptions { read_only: true, ..Default::default() }) {
        Err(StoreError::NotADatabase { .. }) => {}
        Err(other) => panic!("expected NotADatabase, got {other:?}"),
        Ok(store) => {
            let mut users = 0;
            let read = store.for_each_user(&mut |_, _| {
                users += 1;
                Ok(())
            });
            match read {
                Ok(()) => panic!("a file cut in half read as a good one ({users} users)"),
                Err(error) => assert!(error.to_string().contains("damaged"), "{error}"),
            }
        }
    }
}

#[test]
fn a_created_database_reopens_with_its_users() {
    let (_dir, path, store) = db_with_people();
    let before = snapshot(&store);
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
    assert_eq!(store.count().expect("count"), 5);
    assert_eq!(snapshot(&store), before);
}

// ---------------------------------------------------------------------------------------------
// Import

#[test]
fn import_reads_a_json_array_of_logto_users() {
    let (_dir, _path, store) = db_with_people();
    assert_eq!(store.count().expect("count"), 5);
    let bob = store.user("u2").expect("bob");
    assert_eq!(bob.revision, 1);
    assert_eq!(bob.revised_by, "importer");
    assert_eq!(bob.user.username.as_deref(), Some("bob"));
    assert_eq!(bob.user.primary_email.as_deref(), Some("Bob@Example.org"));
    assert_eq!(bob.user.primary_phone.as_deref(), Some("15551234567"));
    assert_eq!(bob.user.created_at, IMPORT_NOW, "a missing createdAt is the import time");
    assert_eq!(store.custom_data("u1").expect("doc").text, canonical(r#"{"theme":"dark","lang":"en"}"#));
    // A user imported without customData has the empty document.
    assert_eq!(store.custom_data("u5").expect("doc").text, "{}");
}

#[test]
fn import_reads_json_lines_skipping_blank_lines() {
    let (_dir, _path, store) = empty_db();
    let lines = "{\"id\":\"l1\",\"username\":\"first\",\"customData\":{\"n\":1}}\r\n\n   \n\
                 {\"id\":\"l2\",\"username\":\"second\"}\n\
                 {\"id\":\"l3\",\"primaryEmail\":\"third@example.com\",\"customData\":{\"z\":[1,2]}}\n";
    let summary = import_text(&store, lines, ImportMode::InsertOnly).expect("import");
    assert_eq!(summary, counts(3, 0, 0));
    assert_eq!(all_ids_in_list_order(&store), ["l1", "l2", "l3"]);
    assert_eq!(store.custom_data("l3").expect("doc").text, canonical(r#"{"z":[1,2]}"#));
}

/// Imports a batch whose third record is `bad` into a database of five users, as an array
/// and as JSON Lines, and checks that the error names that record and nothing was written.
fn assert_import_refused_whole(bad: &str, expected_reason: &str, conflict: bool) {
    assert_import_refused_whole_in(bad, expected_reason, conflict, true);
}

fn assert_import_refused_whole_in(bad: &str, expected_reason: &str, conflict: bool, also_as_array: bool) {
    let good = [
        r#"{"id":"n1","username":"newbie1","primaryEmail":"newbie1@example.com","customData":{"k":1}}"#,
        r#"{"id":"n2","username":"newbie2","primaryPhone":"4400000002","customData":{}}"#,
        r#"{"id":"n4","username":"newbie4"}"#,
    ];
    // Line 1 `[`, records on lines 2 to 5: the bad one is record 3 on line 4.
    let array = format!("[\n{},\n{},\n{bad},\n{}\n]\n", good[0], good[1], good[2]);
    // Records on lines 1, 2, 4 and 5 (line 3 is blank): the bad one is on line 4.
    let lines = format!("{}\n{}\n\n{bad}\n{}\n", good[0], good[1], good[2]);
    let mut forms = vec![(lines, "line 4: ")];
    if also_as_array {
        forms.push((array, "record 3 (line 4): "));
    }
    for (text, origin) in forms {
        let (_dir, _path, store) = db_with_people();
        let before = snapshot(&store);
        let error =
            import_text(&store, &text, ImportMode::InsertOnly).expect_err("the import must be refused");
        let message = error.to_string();
        assert!(message.starts_with(origin), "message should name the record ({origin}): {message}");
        assert!(message.contains(expected_reason), "message should say {expected_reason:?}: {message}");
        assert_eq!(error.is_conflict(), conflict, "{message}");
        assert_eq!(store.count().expect("count"), 5, "{message}");
        assert_eq!(snapshot(&store), before, "{message}");
        for earlier in ["n1", "newbie1", "newbie1@example.com", "newbie2", "4400000002"] {
            assert!(
                matches!(store.resolve(earlier), Err(StoreError::UserNotFound(_))),
                "{earlier} from the refused import was indexed"
            );
        }
        // The store is still writable and consistent: the good records import on their own.
        let good_only = good.join("\n");
        import_text(&store, &good_only, ImportMode::InsertOnly).expect("the good records import");
        assert_eq!(store.count().expect("count"), 8);
    }
}

#[test]
fn import_with_customdata_that_is_not_an_object_writes_nothing() {
    assert_import_refused_whole(
        r#"{"id":"n3","username":"newbie3","customData":[1,2]}"#,
        "customData",
        false,
    );
}

#[test]
fn import_with_a_duplicate_key_inside_customdata_writes_nothing() {
    assert_import_refused_whole(
        r#"{"id":"n3","username":"newbie3","customData":{"a":1,"b":2,"a":3}}"#,
        "duplicate key \"a\"",
        false,
    );
}

#[test]
fn import_with_a_field_of_the_wrong_type_writes_nothing() {
    assert_import_refused_whole(r#"{"id":"n3","username":42}"#, "`username` must be a string or null", false);
    assert_import_refused_whole(r#"{"id":"n3","isSuspended":"yes"}"#, "isSuspended", false);
}

#[test]
fn import_with_a_malformed_json_line_writes_nothing() {
    // In an array, a malformed record makes the whole file unreadable (see below); in JSON
    // Lines it is one bad record.
    assert_import_refused_whole_in(
        r#"{"id":"n3","username":"newbie3","customData":{"a":1}"#,
        "EOF",
        false,
        false,
    );
}

#[test]
fn import_of_a_malformed_array_is_refused_before_any_record() {
    let text = "[\n{\"id\":\"n1\"},\n{\"id\":\"n2\",}\n]";
    match ImportReader::new(text.as_bytes(), Limits::default(), IMPORT_NOW) {
        Err(ImportFileError::Syntax { line, .. }) => assert_eq!(line, 3),
        Err(other) => panic!("expected a syntax error, got {other:?}"),
        Ok(_) => panic!("a malformed array was accepted"),
    }
    for empty in ["", "  \n", "[]"] {
        assert!(matches!(
            ImportReader::new(empty.as_bytes(), Limits::default(), IMPORT_NOW),
            Err(ImportFileError::Empty)
        ));
    }
}

#[test]
fn import_with_a_username_taken_in_another_case_writes_nothing() {
    assert_import_refused_whole(r#"{"id":"n3","username":"ALICE"}"#, "already belongs to user u1", true);
}

#[test]
fn import_with_a_username_repeated_inside_the_batch_writes_nothing() {
    // It named user n1 as the owner, a user the refused import never wrote.
    assert_import_refused_whole(
        r#"{"id":"n3","username":"NewBie1"}"#,
        "username \"NewBie1\" is also given by another record of this import (user n1's",
        true,
    );
}

#[test]
fn import_with_an_email_taken_in_another_case_writes_nothing() {
    assert_import_refused_whole(
        r#"{"id":"n3","username":"newbie3","primaryEmail":"Alice@EXAMPLE.com"}"#,
        "primaryEmail",
        true,
    );
}

#[test]
fn import_with_a_phone_taken_writes_nothing() {
    assert_import_refused_whole(
        r#"{"id":"n3","username":"newbie3","primaryPhone":"15551234567"}"#,
        "already belongs to user u2",
        true,
    );
}

#[test]
fn import_of_an_existing_id_without_upsert_writes_nothing() {
    assert_import_refused_whole(r#"{"id":"u1","username":"someone"}"#, "user id \"u1\" already exists", true);
}

#[test]
fn import_repeating_an_id_inside_the_batch_writes_nothing() {
    assert_import_refused_whole(
        r#"{"id":"n1","username":"other"}"#,
        "user id \"n1\" is also given by an earlier record of this import",
        true,
    );
}

#[test]
fn upsert_replaces_customdata_and_keeps_the_old_document_in_history() {
    let (_dir, _path, store) = db_with_people();
    let old_text = store.custom_data("u1").expect("doc").text;
    let update = r#"{"id":"u1","username":"Alice","primaryEmail":"alice@example.com","name":"Alice L.","customData":{"theme":"light"}}"#;
    let summary = import_text(&store, update, ImportMode::Upsert).expect("upsert");
    let removed_keys = vec![("u1".to_owned(), vec!["lang".to_owned()], 1)];
    assert_eq!(
        summary,
        ImportSummary {
            inserted: 0,
            updated: 1,
            unchanged: 0,
            removed_keys,
            users_with_removed_keys: 1,
            unchecked: 1
        }
    );

    let doc = store.custom_data("u1").expect("doc");
    assert_eq!((doc.revision, doc.text.as_str()), (2, canonical(r#"{"theme":"light"}"#).as_str()));
    let history = store.history("u1").expect("history");
    assert_eq!(history.iter().map(|r| (r.revision, r.current)).collect::<Vec<_>>(), [(1, false), (2, true)]);
    assert_eq!(store.revision_text("u1", 1).expect("rev 1"), old_text);
    assert_eq!(store.user("u1").expect("user").user.name.as_deref(), Some("Alice L."));
    assert_eq!(store.count().expect("count"), 5);

    // The same record again changes nothing.
    let summary = import_text(&store, update, ImportMode::Upsert).expect("upsert again");
    assert_eq!(summary, counts(0, 0, 1));
    assert_eq!(store.custom_data("u1").expect("doc").revision, 2);
    assert_eq!(store.history("u1").expect("history").len(), 2);
}

#[test]
fn upsert_of_a_record_without_customdata_or_timestamps_keeps_what_is_stored() {
    let (_dir, _path, store) = empty_db();
    let full = r#"{"id":"u1","username":"alice","name":"Alice","avatar":"https://a.example/a.png","createdAt":1000,"updatedAt":5000,"ssoTenant":"t1","customData":{"theme":"dark","lang":"en"}}"#;
    import_text(&store, full, ImportMode::InsertOnly).expect("import");
    let before = store.user("u1").expect("user");

    // Only the name changes; everything the record leaves out stays as stored.
    let partial = r#"{"id":"u1","name":"Alice L."}"#;
    let summary = import_text(&store, partial, ImportMode::Upsert).expect("upsert");
    assert_eq!(summary, counts(0, 1, 0));
    let doc = store.custom_data("u1").expect("doc");
    assert_eq!((doc.revision, doc.text), (1, canonical(r#"{"theme":"dark","lang":"en"}"#)));
    let after = store.user("u1").expect("user").user;
    assert_eq!(after.name.as_deref(), Some("Alice L."));
    assert_eq!(after.username.as_deref(), Some("alice"));
    assert_eq!(after.avatar, before.user.avatar);
    // A field changed: updatedAt moves past the stored one, as a save moves it (bb32 V08).
    assert_eq!(after.created_at, 1000);
    assert!(after.updated_at > 5000, "{}", after.updated_at);
    assert_eq!(after.extra.get("ssoTenant"), Some(&Value::from("t1")));
    assert_eq!(store.resolve("alice").expect("still found by username"), "u1");

    // An explicit null clears a field.
    import_text(&store, r#"{"id":"u1","avatar":null}"#, ImportMode::Upsert).expect("upsert");
    assert_eq!(store.user("u1").expect("user").user.avatar, None);
    let bumped = store.user("u1").expect("user").user.updated_at;

    // A timestamp cannot be cleared: null leaves it as stored (it used to become "now").
    import_text(&store, r#"{"id":"u1","createdAt":null,"updatedAt":null}"#, ImportMode::Upsert)
        .expect("upsert");
    let after = store.user("u1").expect("user").user;
    assert_eq!((after.created_at, after.updated_at), (1000, bumped));
}

#[test]
fn upsert_never_moves_updated_at_backwards_and_a_customdata_change_bumps_it() {
    let (_dir, _path, store) = empty_db();
    import_text(
        &store,
        r#"{"id":"u1","username":"alice","updatedAt":5000,"customData":{"a":1}}"#,
        ImportMode::InsertOnly,
    )
    .expect("import");
    // A record older than the stored user that would change it: saved since it was taken,
    // refused (bb31 U11), nothing written; taken when the operator says so.
    let older = r#"{"id":"u1","username":"alice","name":"A","updatedAt":10}"#;
    let refused = import_text(&store, older, ImportMode::Upsert).expect_err("saved since the record");
    assert!(
        matches!(&refused, StoreError::RecordConflict { reason, .. }
            if matches!(**reason, StoreError::ChangedSinceRecord { given: 10, stored: 5000, .. })),
        "{refused:?}"
    );
    assert!(refused.is_conflict());
    // Times a second apart or less read alike to the second: the gap is said (bb32 V02).
    assert!(refused.to_string().contains("UTC is 4 s before the stored 1970-01-01"), "{refused}");
    assert_eq!(store.user("u1").expect("user").user.name, None, "nothing written");
    let from = now_ms();
    import_text(&store, older, ImportMode::UpsertOverNewer).expect("upsert");
    assert_eq!(store.user("u1").expect("user").user.name.as_deref(), Some("A"));
    let moved = store.user("u1").expect("user").user.updated_at;
    assert!(moved >= from, "an older updatedAt is not taken; a field change moves it as a save does");
    // An older record that changes nothing is no conflict: unchanged.
    import_text(&store, older, ImportMode::Upsert).expect("nothing to change");
    let later = moved + 2_000;
    import_text(&store, &format!(r#"{{"id":"u1","updatedAt":{later}}}"#), ImportMode::Upsert)
        .expect("upsert");
    assert_eq!(store.user("u1").expect("user").user.updated_at, later, "a later one is");

    import_text(&store, r#"{"id":"u1","updatedAt":10,"customData":{"a":2}}"#, ImportMode::UpsertOverNewer)
        .expect("upsert");
    let after = store.user("u1").expect("user");
    assert_eq!(after.revision, 2);
    assert!(after.user.updated_at >= from, "a customData change bumps updatedAt as a save does");
    // A save moves an updatedAt in the future (a clock ahead elsewhere) just past it: an export
    // taken before the save must read as taken before it (bb32 V01).
    let future = from + 10 * 365 * 24 * 3_600_000;
    import_text(&store, &format!(r#"{{"id":"u1","updatedAt":{future}}}"#), ImportMode::Upsert)
        .expect("upsert");
    let data = CustomData::parse(r#"{"a":3}"#).expect("valid");
    store.replace_custom_data("u1", &data, None, &Author("t".into())).expect("save");
    assert_eq!(store.user("u1").expect("user").user.updated_at, future + 1, "never backwards, always past");
    // A record that gives no updatedAt says nothing of when it was taken: never refused.
    import_text(&store, r#"{"id":"u1","customData":{"a":4}}"#, ImportMode::Upsert).expect("upsert");
    assert_eq!(store.user("u1").expect("user").revision, 4);
}

/// A user whose updatedAt is in the future (a clock ahead elsewhere): a save left it as it was,
/// so an export taken before a colleague's save held the same updatedAt, and its upsert took
/// that save back (bb32 V01). A save now moves it just past, and the export reads as stale.
#[test]
fn an_export_taken_before_a_save_is_stale_even_when_updated_at_was_in_the_future() {
    let (_dir, _path, store) = empty_db();
    let future = now_ms() + 10 * 365 * 24 * 3_600_000;
    let record = format!(r#"{{"id":"u1","username":"alice","updatedAt":{future},"customData":{{"a":1}}}}"#);
    import_text(&store, &record, ImportMode::InsertOnly).expect("import");
    let taken = export_lines(&store).join("\n");
    let theirs = CustomData::parse(r#"{"colleague":1}"#).expect("valid");
    store.replace_custom_data("u1", &theirs, None, &Author("b".into())).expect("their save");
    let refused = import_text(&store, &taken, ImportMode::Upsert).expect_err("taken before their save");
    assert!(refused.is_conflict(), "{refused:?}");
    assert!(store.custom_data("u1").expect("document").text.contains("colleague"));
}

/// Two operators import their edits of the same export, profile fields only: the second took
/// the first one's change back without a word, as an upsert of profile fields left updatedAt
/// where it was (bb32 V08). The first one's moves it, and the second reads as stale.
#[test]
fn a_second_import_of_the_same_export_is_stale_after_a_profile_only_upsert() {
    let (_dir, _path, store) = empty_db();
    import_text(&store, r#"{"id":"u1","username":"alice","updatedAt":5000}"#, ImportMode::InsertOnly)
        .expect("import");
    let taken: Value = serde_json::from_str(&export_lines(&store)[0]).expect("a record");
    let edit = |name: &str| {
        let mut record = taken.clone();
        record["name"] = Value::from(name);
        record.to_string()
    };
    import_text(&store, &edit("by operator A"), ImportMode::Upsert).expect("the first edit goes in");
    let refused = import_text(&store, &edit("by operator B"), ImportMode::Upsert).expect_err("stale");
    assert!(refused.is_conflict(), "{refused:?}");
    assert_eq!(store.user("u1").expect("user").user.name.as_deref(), Some("by operator A"));
}

#[test]
fn upsert_counts_an_identical_record_unchanged_and_writes_nothing_for_it() {
    let (_dir, _path, store) = db_with_people();
    let before = snapshot(&store);
    // The records as export writes them: identical to what is stored.
    let exported = export_lines(&store).join("\n");
    let summary = import_text(&store, &exported, ImportMode::Upsert).expect("upsert");
    assert_eq!(summary, counts(0, 0, 5));
    assert_eq!(snapshot(&store), before);
    // A record that gives only fields already stored as given is identical too.
    let summary =
        import_text(&store, r#"{"id":"u3","primaryEmail":"carol@example.net"}"#, ImportMode::Upsert)
            .expect("upsert");
    assert_eq!(summary, counts(0, 0, 1));
    assert_eq!(snapshot(&store), before);
    // A record that differs only in updatedAt (later) is rewritten, so it is `updated`.
    let summary =
        import_text(&store, r#"{"id":"u3","updatedAt":1800000000000}"#, ImportMode::Upsert).expect("upsert");
    assert_eq!(summary, counts(0, 1, 0));
}

#[test]
fn an_upsert_refuses_a_user_given_twice_however_the_first_record_left_it_and_writes_nothing() {
    // The first record left u1 as stored, changed only its profile, changed its customData,
    // or made a new user: the second of the same id is refused at its line, not merged
    // last-wins (the counts are of users, and which record was meant is the operator's call).
    let cases = [
        "{\"id\":\"u1\"}\n{\"id\":\"u2\",\"name\":\"B\"}\n{\"id\":\"u1\",\"name\":\"Other\"}\n",
        "{\"id\":\"u1\",\"name\":\"A\"}\n{\"id\":\"u2\",\"name\":\"B\"}\n{\"id\":\"u1\",\"name\":\"Other\"}\n",
        "{\"id\":\"u1\",\"customData\":{\"x\":1}}\n{\"id\":\"u2\"}\n{\"id\":\"u1\"}\n",
        "{\"id\":\"n9\"}\n{\"id\":\"u2\",\"name\":\"B\"}\n{\"id\":\"n9\",\"name\":\"Other\"}\n",
    ];
    for text in cases {
        let (_dir, _path, store) = db_with_people();
        let before = snapshot(&store);
        let error = import_text(&store, text, ImportMode::Upsert).expect_err(text);
        let repeated = if text.contains("n9") { "n9" } else { "u1" };
        assert_eq!(
            error.to_string(),
            format!(
                "line 3: user id \"{repeated}\" is also given by an earlier record of this import (an import gives each user once; --upsert does not merge two records)"
            ),
            "{text}"
        );
        assert!(error.is_conflict(), "{text}");
        assert_eq!(snapshot(&store), before, "{text}");
    }
    // Each user once: both updated, counted once each.
    let (_dir, _path, store) = db_with_people();
    let text = "{\"id\":\"u1\",\"name\":\"A\"}\n{\"id\":\"u2\",\"name\":\"B\"}\n";
    // Records without `updatedAt`, but no customData replaced: none unchecked.
    assert_eq!(import_text(&store, text, ImportMode::Upsert).expect("upsert"), counts(0, 2, 0));
}

#[test]
fn upsert_that_drops_top_level_keys_names_them() {
    let (_dir, _path, store) = db_with_people();
    let summary =
        import_text(&store, r#"{"id":"u1","customData":{"lang":"en","new":1}}"#, ImportMode::Upsert)
            .expect("upsert");
    assert_eq!(summary.removed_keys, vec![("u1".to_owned(), vec!["theme".to_owned()], 1)]);
    assert_eq!(summary.updated, 1);
}

#[test]
fn an_upsert_keeps_the_removed_keys_of_the_first_twenty_users_and_counts_every_one() {
    let (_dir, _path, store) = empty_db();
    let first: String =
        (0..25).map(|n| format!("{{\"id\":\"r{n:02}\",\"customData\":{{\"a\":1,\"b\":{n}}}}}\n")).collect();
    import_text(&store, &first, ImportMode::InsertOnly).expect("insert");
    // Every user loses `b`, but only the first twenty are kept with their keys: a summary of
    // a million such users would otherwise hold a million ids.
    let second: String =
        (0..25).map(|n| format!("{{\"id\":\"r{n:02}\",\"customData\":{{\"a\":2}}}}\n")).collect();
    let summary = import_text(&store, &second, ImportMode::Upsert).expect("upsert");
    assert_eq!(summary.updated, 25);
    assert_eq!(summary.users_with_removed_keys, 25);
    let named: Vec<&str> = summary.removed_keys.iter().map(|(id, ..)| id.as_str()).collect();
    let expected: Vec<String> = (0..20).map(|n| format!("r{n:02}")).collect();
    assert_eq!(named, expected);
    assert!(summary.removed_keys.iter().all(|(_, keys, count)| keys == &["b"] && *count == 1));
    // Of each user, the first keys and how many (all of them were held: bb42 F10).
    let many: String = (0..30).map(|n| format!("\"k{n:02}\":{n},")).collect();
    let with_many = format!("{{\"id\":\"r00\",\"customData\":{{{many}\"a\":3}}}}");
    import_text(&store, &with_many, ImportMode::Upsert).expect("keys added");
    let summary =
        import_text(&store, r#"{"id":"r00","customData":{"a":4}}"#, ImportMode::Upsert).expect("removed");
    let (_, first, count) = &summary.removed_keys[0];
    assert_eq!((first.len(), *count), (ImportSummary::KEYS_NAMED, 30));
    assert_eq!(first[0], "k00");
}

#[test]
fn upsert_that_renames_a_user_moves_their_lookups_and_list_position() {
    let (_dir, _path, store) = db_with_people();
    let update = r#"{"id":"u1","username":"Zed","primaryEmail":"zed@example.com","customData":{"theme":"dark","lang":"en"}}"#;
    let summary = import_text(&store, update, ImportMode::Upsert).expect("upsert");
    assert_eq!(summary, counts(0, 1, 0), "a rename is an update");
    assert!(matches!(store.resolve("alice"), Err(StoreError::UserNotFound(_))));
    assert!(matches!(store.resolve("alice@example.com"), Err(StoreError::UserNotFound(_))));
    assert_eq!(store.resolve("zed").expect("resolve"), "u1");
    assert_eq!(store.resolve("ZED@example.com").expect("resolve"), "u1");
    assert_eq!(all_ids_in_list_order(&store), ["u4", "u2", "u3", "u5", "u1"]);
    // The old name is free again.
    import_text(&store, r#"{"id":"n1","username":"alice"}"#, ImportMode::InsertOnly).expect("alice is free");
}

// ---------------------------------------------------------------------------------------------
// Round-trip fidelity

/// Known fields in Logto's order, then unknown ones; key order, number text and non-ASCII
/// inside customData that a careless JSON layer would change.
const HOSTILE: &str = r#"{"id":"hostile_01","username":"zoë.山田","primaryEmail":"zoe@例え.jp","primaryPhone":null,"name":"Zoë 山田 🎉","avatar":null,"customData":{"zeta":1,"alpha":{"big":12345678901234567890123,"price":1.50,"neg":-0.0,"exp":1e+400},"émoji":"🎉 ½","quote":"a \"b\" \\ c\n","list":[3,1,2],"m":{"b":1,"a":2}},"identities":{"github":{"userId":"42","details":{"z":1,"a":2}}},"lastSignInAt":null,"createdAt":1700000000000,"updatedAt":1700000000001,"profile":{"nickname":"Z"},"applicationId":null,"isSuspended":true,"hasPassword":true,"ssoIdentities":{"nested":{"z":1,"a":[{"y":2.50,"b":99999999999999999999}]}},"x":null}"#;

#[test]
fn export_gives_back_exactly_what_was_imported() {
    let (_dir, _path, store) = empty_db();
    import_text(&store, HOSTILE, ImportMode::InsertOnly).expect("import");
    assert_eq!(export_lines(&store), [HOSTILE]);
}

#[test]
fn unknown_user_fields_keep_their_order_after_the_known_ones() {
    let (_dir, _path, store) = empty_db();
    let record = r#"{"ssoTenant":"t1","id":"mixed","zz":{"b":1,"a":2},"username":"mixed","aa":12345678901234567890123}"#;
    import_text(&store, record, ImportMode::InsertOnly).expect("import");
    let line = export_lines(&store).remove(0);
    let object: Map<String, Value> = serde_json::from_str(&line).expect("json");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(&keys[keys.len() - 3..], ["ssoTenant", "zz", "aa"]);
    assert!(line.ends_with(r#""ssoTenant":"t1","zz":{"b":1,"a":2},"aa":12345678901234567890123}"#), "{line}");
}

#[test]
fn saved_customdata_keeps_key_order_number_text_and_non_ascii() {
    let (_dir, _path, store) = db_with_people();
    let text =
        "{\"z\": 12345678901234567890123, \"a\": 1.50, \"ü\": \"山田 🎉\", \"m\": {\"y\": 0.10, \"b\": -0}}";
    store.replace_custom_data("u1", &data(text), None, &editor()).expect("save");
    let stored = store.custom_data("u1").expect("doc").text;
    assert_eq!(
        stored,
        "{\n  \"z\": 12345678901234567890123,\n  \"a\": 1.50,\n  \"ü\": \"山田 🎉\",\n  \"m\": {\n    \"y\": 0.10,\n    \"b\": -0\n  }\n}"
    );
    let line = export_lines(&store).into_iter().find(|l| l.contains("\"u1\"")).expect("u1 exported");
    assert!(
        line.contains(
            r#""customData":{"z":12345678901234567890123,"a":1.50,"ü":"山田 🎉","m":{"y":0.10,"b":-0}}"#
        ),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------------
// Saving customData

#[test]
fn save_bumps_the_revision_and_keeps_the_previous_document_with_author_and_time() {
    let (_dir, _path, store) = empty_db();
    let imported_from = now_ms();
    import_text(
        &store,
        r#"{"id":"u1","username":"alice","customData":{"theme":"dark"}}"#,
        ImportMode::InsertOnly,
    )
    .expect("import");
    let imported_to = now_ms();
    let before = store.user("u1").expect("user");

    let saved_from = now_ms();
    let outcome =
        store.replace_custom_data("u1", &data(r#"{"theme":"light"}"#), None, &editor()).expect("save");
    let saved_to = now_ms();
    assert_eq!(outcome, SaveOutcome::Saved { revision: 2, removed: vec![], size: 17 });

    let doc = store.custom_data("u1").expect("doc");
    assert_eq!((doc.revision, doc.text), (2, canonical(r#"{"theme":"light"}"#)));
    let history = store.history("u1").expect("history");
    assert_eq!(history.len(), 2);
    let (first, current) = (&history[0], &history[1]);
    assert_eq!((first.revision, first.current, first.saved_by.as_str()), (1, false, "importer"));
    assert!((imported_from..=imported_to).contains(&first.saved_at), "{first:?}");
    // Sizes are the compact form's, the one the 1 MiB limit is on.
    assert_eq!(first.size, r#"{"theme":"dark"}"#.len());
    assert_eq!((current.revision, current.current, current.saved_by.as_str()), (2, true, "editor"));
    assert!((saved_from..=saved_to).contains(&current.saved_at), "{current:?}");
    assert_eq!(store.revision_text("u1", 1).expect("rev 1"), canonical(r#"{"theme":"dark"}"#));

    let after = store.user("u1").expect("user");
    assert_eq!((after.revision, after.revised_by.as_str()), (2, "editor"));
    assert_ne!(after.user.updated_at, before.user.updated_at);
    assert!((saved_from..=saved_to).contains(&after.user.updated_at), "updatedAt {}", after.user.updated_at);
    assert!((saved_from..=saved_to).contains(&after.revised_at));
}

#[test]
fn saving_the_same_document_changes_nothing() {
    let (_dir, path, store) = db_with_people();
    let before = snapshot(&store);
    // Same document, written differently: the stored (canonical) text is the same.
    let outcome = store
        .replace_custom_data("u1", &data("{\n\"theme\" :\"dark\",   \"lang\":\"en\"}"), None, &editor())
        .expect("save");
    assert_eq!(outcome, SaveOutcome::Unchanged { revision: 1 });
    let outcome = store.replace_custom_data("u1", &data("{}"), Some(1), &editor()).expect("save");
    assert_eq!(
        outcome,
        SaveOutcome::Saved { revision: 2, removed: vec!["theme".into(), "lang".into()], size: 2 }
    );
    let outcome = store.replace_custom_data("u1", &data("{ }"), Some(2), &editor()).expect("save");
    assert_eq!(outcome, SaveOutcome::Unchanged { revision: 2 });
    assert_eq!(store.history("u1").expect("history").len(), 2);
    let others = |rows: Vec<(String, Revision, usize)>| {
        rows.into_iter().filter(|(line, ..)| !line.starts_with(r#"{"id":"u1""#)).collect::<Vec<_>>()
    };
    assert_eq!(others(snapshot(&store)), others(before), "other users untouched");
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    assert_eq!(store.custom_data("u1").expect("doc").revision, 2);
}

#[test]
fn save_names_the_keys_removed_from_the_document_its_transaction_replaced() {
    let (_dir, path, store) = db_with_people();
    // The operator read {"theme","lang"}; another operator then saved {"other","lang"}.
    let read_before = store.custom_data("u1").expect("doc");
    let other = RedbStore::open(&path, OpenOptions::default()).expect("second handle");
    other
        .replace_custom_data("u1", &data(r#"{"other":1,"lang":"de"}"#), None, &editor())
        .expect("other save");
    let outcome = store.replace_custom_data("u1", &data(r#"{"lang":"fr"}"#), None, &editor()).expect("save");
    // What this save removed is "other", not the "theme" of the stale read.
    assert_eq!(outcome, SaveOutcome::Saved { revision: 3, removed: vec!["other".into()], size: 13 });
    assert!(read_before.text.contains("theme"));
}

/// Deletes a user's customData row with redb directly, as a file written by an older build or
/// a damaged table has it.
fn delete_custom_data_row(path: &Path, id: &str) {
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    let db = builder.open(path).expect("open with redb");
    let tx = db.begin_write().expect("write");
    {
        let table: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("custom_data");
        let mut table = tx.open_table(table).expect("custom_data table");
        assert!(table.remove(id).expect("remove").is_some(), "the row existed");
    }
    tx.commit().expect("commit");
}

#[test]
fn a_user_without_a_customdata_row_reads_as_the_empty_document_everywhere() {
    let (_dir, path, store) = db_with_people();
    drop(store);
    delete_custom_data_row(&path, "u1");
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");

    assert_eq!(store.custom_data("u1").expect("doc").text, canonical("{}"));
    let mut exported = None;
    store
        .for_each_user(&mut |record, text| {
            if record.user.id == "u1" {
                exported = Some(text.to_owned());
            }
            Ok(())
        })
        .expect("every user");
    assert_eq!(exported.as_deref(), Some("{}"));
    assert!(export_lines(&store).iter().any(|line| line.contains(r#""customData":{}"#)));
    assert_eq!(store.history("u1").expect("history")[0].size, canonical("{}").len());

    // Saving the empty document changes nothing; a real save keeps `{}` as revision 1.
    assert_eq!(
        store.replace_custom_data("u1", &data("{}"), Some(1), &editor()).expect("save"),
        SaveOutcome::Unchanged { revision: 1 }
    );
    store.replace_custom_data("u1", &data(r#"{"a":1}"#), Some(1), &editor()).expect("save");
    assert_eq!(store.revision_text("u1", 1).expect("revision 1"), canonical("{}"));
    store.restore("u1", 1, Some(2), &editor()).expect("restore of the empty revision");
    assert_eq!(store.custom_data("u1").expect("doc").text, canonical("{}"));
}

/// The names of a file's tables, listed with redb directly.
fn table_names(path: &Path) -> BTreeSet<String> {
    use redb::TableHandle;
    let db = redb::Database::open(path).expect("open raw");
    let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
    tx.list_tables().expect("tables").map(|table| table.name().to_owned()).collect()
}

#[test]
fn writes_held_to_no_schema_make_no_schema_table_in_a_file_that_never_had_one() {
    let (_dir, path, store) = db_with_people();
    store.hold_writes_to_schema(None);
    store.replace_custom_data("u1", &data(r#"{"theme":"light"}"#), Some(1), &editor()).expect("save");
    import_text(&store, r#"{"id":"n1","name":"New"}"#, ImportMode::InsertOnly).expect("import");
    drop(store);
    // Only `schema set` makes it: made by every held write, it moved the file's pages.
    let tables = table_names(&path);
    assert!(tables.contains("users") && !tables.contains("schemas"), "{tables:?}");
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    store.set_schema(Some(r#"{"type":"object"}"#), &editor()).expect("set");
    drop(store);
    assert!(table_names(&path).contains("schemas"));
}

#[test]
fn save_refuses_when_another_operator_saved_first() {
    let (_dir, _path, store) = db_with_people();
    store.replace_custom_data("u1", &data(r#"{"by":"first"}"#), Some(1), &editor()).expect("first save");
    let before = snapshot(&store);
    match store.replace_custom_data("u1", &data(r#"{"by":"second"}"#), Some(1), &editor()) {
        Err(StoreError::Conflict { user, expected, found }) => {
            assert_eq!((user.as_str(), expected, found), ("u1", 1, 2));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.custom_data("u1").expect("doc").text, canonical(r#"{"by":"first"}"#));
    // A stale revision is refused even when the document would change nothing.
    assert!(matches!(
        store.replace_custom_data("u1", &data(r#"{"by":"first"}"#), Some(1), &editor()),
        Err(StoreError::Conflict { .. })
    ));
    // An expected revision from the future is refused too.
    assert!(matches!(
        store.replace_custom_data("u1", &data(r#"{"by":"third"}"#), Some(3), &editor()),
        Err(StoreError::Conflict { expected: 3, found: 2, .. })
    ));
    assert_eq!(snapshot(&store), before);
}

#[test]
fn save_to_an_unknown_id_is_user_not_found() {
    let (_dir, _path, store) = db_with_people();
    let before = snapshot(&store);
    assert!(matches!(
        store.replace_custom_data("ghost", &data("{}"), None, &editor()),
        Err(StoreError::UserNotFound(id)) if id == "ghost"
    ));
    // Lookups by id do not resolve usernames.
    assert!(matches!(
        store.replace_custom_data("alice", &data("{}"), None, &editor()),
        Err(StoreError::UserNotFound(_))
    ));
    assert!(matches!(store.history("ghost"), Err(StoreError::UserNotFound(_))));
    assert!(matches!(store.custom_data("ghost"), Err(StoreError::UserNotFound(_))));
    assert!(matches!(store.user("ghost"), Err(StoreError::UserNotFound(_))));
    assert_eq!(snapshot(&store), before);
}

#[test]
fn history_lists_every_revision_oldest_first_with_the_current_one_last() {
    let (_dir, _path, store) = db_with_people();
    let mut texts = vec![store.custom_data("u3").expect("doc").text];
    for n in 2..=6 {
        let text = format!("{{\"step\": {n}, \"pad\": \"{}\"}}", "x".repeat(n * 10));
        let outcome =
            store.replace_custom_data("u3", &data(&text), Some(n as u64 - 1), &editor()).expect("save");
        assert_eq!(outcome.revision(), n as u64);
        texts.push(canonical(&text));
    }
    let history = store.history("u3").expect("history");
    assert_eq!(history.iter().map(|r| r.revision).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(history.iter().filter(|r| r.current).count(), 1);
    assert!(history.last().expect("entries").current);
    for (info, text) in history.iter().zip(&texts) {
        assert_eq!(&store.revision_text("u3", info.revision).expect("revision text"), text);
        assert_eq!(info.size, data(text).size(), "revision {}", info.revision);
    }
    assert!(history.windows(2).all(|w| w[0].saved_at <= w[1].saved_at));
    assert!(matches!(store.revision_text("u3", 7), Err(StoreError::RevisionNotFound { revision: 7, .. })));
    assert!(matches!(store.revision_text("u3", 0), Err(StoreError::RevisionNotFound { .. })));
    // Another user's history is their own.
    assert_eq!(store.history("u2").expect("history").len(), 1);
    assert!(matches!(store.revision_text("u2", 2), Err(StoreError::RevisionNotFound { .. })));
}

#[test]
fn restore_saves_an_old_document_as_a_new_revision() {
    let (_dir, _path, store) = db_with_people();
    let first = store.custom_data("u1").expect("doc").text;
    store.replace_custom_data("u1", &data(r#"{"v":2}"#), None, &editor()).expect("save 2");
    store.replace_custom_data("u1", &data(r#"{"v":3}"#), None, &editor()).expect("save 3");

    let outcome = store.restore("u1", 1, Some(3), &editor()).expect("restore");
    assert!(matches!(outcome, SaveOutcome::Saved { revision: 4, .. }));
    let doc = store.custom_data("u1").expect("doc");
    assert_eq!((doc.revision, doc.text.as_str()), (4, first.as_str()));
    // Nothing rewritten in place.
    assert_eq!(store.revision_text("u1", 1).expect("rev 1"), first);
    assert_eq!(store.revision_text("u1", 2).expect("rev 2"), canonical(r#"{"v":2}"#));
    assert_eq!(store.revision_text("u1", 3).expect("rev 3"), canonical(r#"{"v":3}"#));
    assert_eq!(store.history("u1").expect("history").len(), 4);

    // Restoring the current document is no change; a stale expectation is a conflict.
    assert_eq!(
        store.restore("u1", 1, None, &editor()).expect("restore"),
        SaveOutcome::Unchanged { revision: 4 }
    );
    assert!(matches!(store.restore("u1", 2, Some(3), &editor()), Err(StoreError::Conflict { .. })));
    assert!(matches!(store.restore("u1", 9, None, &editor()), Err(StoreError::RevisionNotFound { .. })));
    assert_eq!(store.history("u1").expect("history").len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Lookups, paging, search

#[test]
fn resolve_finds_a_user_by_id_username_email_or_phone_in_any_case() {
    let (_dir, _path, store) = db_with_people();
    for (reference, id) in [
        ("u1", "u1"),
        ("Alice", "u1"),
        ("ALICE", "u1"),
        ("alice", "u1"),
        ("ALICE@example.COM", "u1"),
        ("bob", "u2"),
        ("bob@example.org", "u2"),
        ("BOB@EXAMPLE.ORG", "u2"),
        ("15551234567", "u2"),
        ("carol@example.net", "u3"),
        ("4930123456", "u4"),
        ("u5", "u5"),
    ] {
        assert_eq!(store.resolve(reference).expect(reference), id, "{reference}");
    }
    for unknown in ["nobody", "U1", "alice@example", "1555123456", ""] {
        assert!(
            matches!(store.resolve(unknown), Err(StoreError::UserNotFound(ref r)) if r == unknown),
            "{unknown:?} should not resolve"
        );
    }
}

/// One string that is one user's id, another's username and a third's phone.
const LOOKALIKES: &str = r#"[
{"id":"bob","username":"robert"},
{"id":"x2","username":"BOB"},
{"id":"x3","primaryEmail":"x3@example.com","primaryPhone":"bob"},
{"id":"4930","primaryPhone":"4930"}
]"#;

#[test]
fn resolve_refuses_a_bare_reference_that_names_several_users_and_names_each() {
    let (_dir, _path, store) = empty_db();
    import_text(&store, LOOKALIKES, ImportMode::InsertOnly).expect("import");
    let error = store.resolve("bob").expect_err("ambiguous");
    let StoreError::Ambiguous { reference, matches } = &error else { panic!("{error:?}") };
    assert_eq!(reference, "bob");
    let found: Vec<(&str, UserField)> = matches.iter().map(|m| (m.id.as_str(), m.field)).collect();
    assert_eq!(found, [("bob", UserField::Id), ("x2", UserField::Username), ("x3", UserField::Phone)]);
    assert_eq!(
        error.to_string(),
        "\"bob\" names more than one user: user bob by id, user x2 by username, user x3 by primary phone; \
         say which with id:bob, username:bob or phone:bob"
    );
    // One user found by two fields is one user.
    assert_eq!(store.resolve("4930").expect("id and phone of one user"), "4930");
}

#[test]
fn resolve_takes_explicit_id_username_email_and_phone_forms() {
    let (_dir, _path, store) = empty_db();
    import_text(&store, LOOKALIKES, ImportMode::InsertOnly).expect("import");
    for (reference, id) in [
        ("id:bob", "bob"),
        ("username:bob", "x2"),
        ("username:ROBERT", "bob"),
        ("phone:bob", "x3"),
        ("email:X3@example.com", "x3"),
        ("robert", "bob"),
    ] {
        assert_eq!(store.resolve(reference).expect(reference), id, "{reference}");
    }
    for unknown in ["id:BOB", "email:bob", "username:x3", "phone:", "id:"] {
        assert!(matches!(store.resolve(unknown), Err(StoreError::UserNotFound(_))), "{unknown:?}");
    }
}

#[test]
fn an_explicit_form_names_only_its_field_and_someones_literal_name_is_never_picked_for_it() {
    // Usernames made to read like explicit forms. `set id:zzz` wrote the document of the user
    // whose username is "id:zzz" (no user has the id zzz), and `id:carl` was refused as
    // naming two users, with a suggestion (`id:id:carl`) that named nobody.
    let (_dir, _path, store) = empty_db();
    import_text(
        &store,
        r#"[{"id":"carl","username":"carl1"},{"id":"bob","username":"id:carl"},{"id":"zed","username":"username:bob"},{"id":"m3","username":"id:zzz"},{"id":"m4","username":"email:boss@corp.com"}]"#,
        ImportMode::InsertOnly,
    )
    .expect("import");
    assert_eq!(store.resolve("id:carl").expect("the id"), "carl");
    assert_eq!(store.resolve(" id:carl ").expect("copied with spaces"), "carl");
    assert_eq!(store.resolve("username:id:carl").expect("named explicitly"), "bob");
    assert_eq!(store.resolve("username:username:bob").expect("named explicitly"), "zed");
    for (reference, id, form) in [
        ("id:zzz", "m3", "username:id:zzz"),
        ("username:bob", "zed", "username:username:bob"),
        ("email:boss@corp.com", "m4", "username:email:boss@corp.com"),
    ] {
        let error = store.resolve(reference).expect_err("nobody by that field");
        let StoreError::OnlyALiteralName { found, .. } = &error else { panic!("{reference}: {error:?}") };
        assert_eq!(found.id, id);
        let message = error.to_string();
        assert!(message.contains(&format!("the username of user {id}")), "{message}");
        assert!(message.ends_with(&format!("(to name them: {form})")), "{message}");
    }
}

#[test]
fn names_that_fold_alike_are_one_name_for_uniqueness_and_lookup_and_keep_their_spelling() {
    let (_dir, _path, store) = empty_db();
    import_text(
        &store,
        "{\"id\":\"s1\",\"username\":\"Straße\",\"primaryEmail\":\"Ame\u{301}lie@example.com\",\"primaryPhone\":\"+4930123\"}",
        ImportMode::InsertOnly,
    )
    .expect("import");
    // The refusal names the new record's value as it was typed.
    for (record, field, typed) in [
        (r#"{"id":"s2","username":"STRASSE"}"#, "username", "STRASSE"),
        (r#"{"id":"s2","username":"strasse "}"#, "username", "strasse "),
        (
            "{\"id\":\"s2\",\"primaryEmail\":\"am\u{e9}lie@EXAMPLE.com\"}",
            "primaryEmail",
            "am\u{e9}lie@EXAMPLE.com",
        ),
        ("{\"id\":\"s2\",\"primaryPhone\":\" +4930123\"}", "primaryPhone", " +4930123"),
        ("{\"id\":\"s2\",\"username\":\"ｓｔｒａｓｓｅ\"}", "username", "ｓｔｒａｓｓｅ"),
    ] {
        let error = import_text(&store, record, ImportMode::InsertOnly).expect_err(record);
        let StoreError::RecordConflict { reason, .. } = &error else { panic!("{error:?}") };
        assert!(
            matches!(reason.as_ref(), StoreError::Duplicate { field: f, existing, value } if *f == field && existing == "s1" && value == typed),
            "{record}: {error}"
        );
    }
    import_text(&store, r#"{"id":"a1","username":"admin"}"#, ImportMode::InsertOnly).expect("admin");
    assert!(import_text(&store, r#"{"id":"a2","username":"admin "}"#, ImportMode::InsertOnly).is_err());
    for reference in [
        "strasse",
        "STRASSE",
        "Straße ",
        "username:ＳＴＲＡＳＳＥ",
        "email:AMÉLIE@example.com",
        "phone:+4930123 ",
    ] {
        assert_eq!(store.resolve(reference).expect(reference), "s1", "{reference}");
    }
    assert_eq!(store.user("s1").expect("user").user.username.as_deref(), Some("Straße"), "shown as typed");
    let prefix: Vec<String> =
        store.prefix_matches("STRAS", 10).expect("prefix").into_iter().map(|e| e.user.id).collect();
    assert_eq!(prefix, ["s1"]);
}

/// A file of layout 2, written as the build before the Unicode fold wrote it, holding users
/// that are distinct under lower-casing but collide under the fold.
fn layout_2_file_with_colliding_users(path: &Path) {
    let users = [
        ("c1", r#"{"username":"Straße","name":"Straße Eins"}"#),
        ("c2", r#"{"username":"STRASSE"}"#),
        ("c3", r#"{"username":"admin"}"#),
        ("c4", r#"{"username":"admin "}"#),
        ("c5", "{\"primaryEmail\":\"Ame\u{301}lie@example.com\"}"),
        ("c6", "{\"primaryEmail\":\"Am\u{e9}lie@example.com\"}"),
        ("c7", r#"{"username":"plain"}"#),
    ];
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    let db = builder.create(path).expect("create with redb");
    let tx = db.begin_write().expect("write");
    {
        let text = |name| redb::TableDefinition::<&str, &str>::new(name);
        let unit = |name| redb::TableDefinition::<&str, ()>::new(name);
        tx.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 2)
            .unwrap();
        tx.open_table(redb::TableDefinition::<(&str, u64), (i64, &str, &str)>::new("history")).unwrap();
        let mut table_users = tx.open_table(text("users")).unwrap();
        let mut documents = tx.open_table(text("custom_data")).unwrap();
        let mut order = tx.open_table(unit("list_order")).unwrap();
        let mut by_username = tx.open_table(text("by_username")).unwrap();
        let mut by_email = tx.open_table(text("by_email")).unwrap();
        tx.open_table(text("by_phone")).unwrap();
        let mut by_name = tx.open_table(unit("by_name")).unwrap();
        for (id, profile) in users {
            let mut user: Map<String, Value> = serde_json::from_str(profile).unwrap();
            user.insert("id".into(), Value::from(id));
            user.insert("createdAt".into(), Value::from(1000));
            user.insert("updatedAt".into(), Value::from(1000));
            let stored = serde_json::json!({"rev": 1, "revAt": 1000, "revBy": "old build", "user": user});
            table_users.insert(id, stored.to_string().as_str()).unwrap();
            documents.insert(id, r#"{"k":1}"#).unwrap();
            let handle = user.get("username").or(user.get("primaryEmail")).and_then(Value::as_str).unwrap();
            order.insert(format!("{}\0{id}", handle.to_lowercase()).as_str(), ()).unwrap();
            if let Some(username) = user.get("username").and_then(Value::as_str) {
                by_username.insert(username.to_lowercase().as_str(), id).unwrap();
            }
            if let Some(email) = user.get("primaryEmail").and_then(Value::as_str) {
                by_email.insert(email.to_lowercase().as_str(), id).unwrap();
            }
            if let Some(name) = user.get("name").and_then(Value::as_str) {
                by_name.insert(format!("{}\0{id}", name.to_lowercase()).as_str(), ()).unwrap();
            }
        }
    }
    tx.commit().expect("commit");
}

#[test]
fn upgrading_a_file_whose_users_collide_under_the_fold_keeps_everyone_and_names_them() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("old.redb");
    layout_2_file_with_colliding_users(&path);

    // Read-only, the file stays as it is and lookups still follow the new rule.
    let read_only =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(read_only.needs_upgrade());
    assert_eq!(read_only.resolve("PLAIN").expect("plain"), "c7");
    assert!(matches!(read_only.resolve("strasse"), Err(StoreError::Ambiguous { .. })));
    assert_eq!(read_only.schema_version().expect("schema"), 2);
    drop(read_only);

    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert!(!store.needs_upgrade());
    assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
    assert_eq!(store.count().expect("count"), 7, "nobody lost");
    assert_eq!(all_ids_in_list_order(&store).len(), 7);
    assert_eq!(store.resolve("plain").expect("plain"), "c7");
    let error = store.resolve("STRASSE").expect_err("two users fold to strasse");
    assert!(error.to_string().contains("user c1 by username, user c2 by username"), "{error}");
    assert!(error.to_string().ends_with("say which with id:c1 or id:c2"), "{error}");
    assert_eq!(store.resolve("id:c2").expect("explicit id"), "c2");
    let collisions = store.name_collisions().expect("collisions");
    // The store's answer through the trait (what an export asks) is the same.
    assert_eq!(UserStore::name_collisions(&store).expect("collisions"), collisions);
    let named: Vec<(&str, Vec<String>)> = collisions.iter().map(|(f, _, ids)| (*f, ids.clone())).collect();
    assert_eq!(
        named,
        [
            ("username", vec!["c3".to_owned(), "c4".to_owned()]),
            ("username", vec!["c1".to_owned(), "c2".to_owned()]),
            ("primaryEmail", vec!["c5".to_owned(), "c6".to_owned()]),
        ]
    );
    let prefix: BTreeSet<String> =
        store.prefix_matches("stras", 10).expect("prefix").into_iter().map(|e| e.user.id).collect();
    assert_eq!(prefix, BTreeSet::from(["c1".to_owned(), "c2".to_owned()]));
    assert_eq!(store.search("eins", None, 10).expect("search").len(), 1, "names rebuilt by the fold");
    assert_eq!(scanned_ids(&store, "eins"), ["c1"], "the scan's texts built by the upgrade");
    assert_eq!(scanned_ids(&store, "k").len(), 7, "with every user's customData");

    // The colliding users can still be edited; a new collision is still refused.
    store.replace_custom_data("c1", &data(r#"{"k":2}"#), Some(1), &editor()).expect("save");
    import_text(&store, r#"{"id":"c2","name":"Zwei"}"#, ImportMode::Upsert)
        .expect("upsert keeping the username");
    assert!(import_text(&store, r#"{"id":"n1","username":"Admin"}"#, ImportMode::InsertOnly).is_err());
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    assert_eq!(store.count().expect("count"), 7);
}

/// Users colliding under the fold are named from layout 3 on, whose indexes keep them all
/// (here a file of layout 3 seen read-only, not upgraded); a layout-2 file's indexes follow
/// another rule and are not read: it names nobody, and says so without an error.
#[test]
fn name_collisions_are_read_from_the_indexes_of_layout_3_on_and_none_are_named_before() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("old.redb");
    layout_2_file_with_colliding_users(&path);
    let read_only = OpenOptions { read_only: true, ..OpenOptions::default() };
    let layout_2 = RedbStore::open(&path, read_only).expect("open");
    assert_eq!(layout_2.name_collisions().expect("collisions"), []);
    drop(layout_2);
    let upgraded = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    // A user alone with their names, the last key of every index.
    let last = r#"{"id":"z1","username":"zzz","primaryEmail":"zzz@example.com","primaryPhone":"+49999"}"#;
    import_text(&upgraded, last, ImportMode::InsertOnly).expect("import");
    drop(upgraded);
    {
        let db = redb::Database::open(&path).expect("open raw");
        let tx = db.begin_write().expect("write");
        tx.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .expect("meta")
            .insert("schema_version", 3)
            .expect("version");
        tx.commit().expect("commit");
    }
    let layout_3 = RedbStore::open(&path, read_only).expect("open");
    assert!(layout_3.needs_upgrade());
    let named: Vec<(&str, Vec<String>)> =
        layout_3.name_collisions().expect("collisions").into_iter().map(|(f, _, ids)| (f, ids)).collect();
    assert_eq!(
        named,
        [
            ("username", vec!["c3".to_owned(), "c4".to_owned()]),
            ("username", vec!["c1".to_owned(), "c2".to_owned()]),
            ("primaryEmail", vec!["c5".to_owned(), "c6".to_owned()]),
        ]
    );
}

/// A lookup on a layout-2 file seen read-only reads every user: by email too, folded as
/// today's indexes fold it (the two spellings of Amélie are one email there).
#[test]
fn an_email_lookup_on_a_layout_2_file_read_only_finds_the_users_by_their_folded_email() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("old.redb");
    layout_2_file_with_colliding_users(&path);
    let store =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    let error = store.resolve("email:AMÉLIE@example.com").expect_err("two users");
    assert!(matches!(error, StoreError::Ambiguous { .. }), "{error:?}");
    assert!(error.to_string().contains("user c5 by primary email, user c6 by primary email"), "{error}");
    assert!(matches!(store.resolve("email:plain"), Err(StoreError::UserNotFound(_))));
}

/// Users with handles in every case and shape, in a scrambled order.
fn crowd() -> String {
    let mut records = Vec::new();
    for i in 0..57u32 {
        let id = format!("c{:02}", (i * 37) % 57);
        let record = match i % 4 {
            0 => format!(r#"{{"id":"{id}","username":"User{}"}}"#, (i * 13) % 57),
            1 => format!(r#"{{"id":"{id}","username":"user{}x","name":"Crowd Member {i}"}}"#, (i * 7) % 57),
            2 => format!(r#"{{"id":"{id}","primaryEmail":"MAIL{i}@Example.com"}}"#),
            _ => format!(r#"{{"id":"{id}","primaryPhone":"49{:05}"}}"#, (i * 11) % 57),
        };
        records.push(record);
    }
    records.join("\n")
}

fn crowd_db() -> (TempDir, PathBuf, RedbStore, Vec<String>) {
    let (dir, path, store) = empty_db();
    let text = crowd();
    import_text(&store, &text, ImportMode::InsertOnly).expect("import crowd");
    let mut expected: Vec<(String, String)> =
        new_users(&text).into_iter().map(|n| (n.user.handle().to_lowercase(), n.user.id)).collect();
    expected.sort();
    (dir, path, store, expected.into_iter().map(|(_, id)| id).collect())
}

#[test]
fn paging_forward_covers_every_user_once_in_list_order() {
    let (_dir, _path, store, expected) = crowd_db();
    assert_eq!(expected.len(), 57);
    for size in [1, 10, 56, 57, 100] {
        let mut seen = Vec::new();
        let mut after: Option<ListKey> = None;
        loop {
            let page = store.page_after(after.as_ref(), size).expect("page");
            assert!(page.len() <= size);
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            seen.extend(page.into_iter().map(|e| e.user.id));
        }
        assert_eq!(seen, expected, "page size {size}");
    }
}

#[test]
fn paging_backward_covers_every_user_once_in_list_order() {
    let (_dir, _path, store, expected) = crowd_db();
    for size in [1, 10, 57, 100] {
        let mut pages = Vec::new();
        let mut before: Option<ListKey> = None;
        loop {
            let page = store.page_before(before.as_ref(), size).expect("page");
            assert!(page.len() <= size);
            let Some(first) = page.first() else { break };
            before = Some(first.key.clone());
            pages.push(page.into_iter().map(|e| e.user.id).collect::<Vec<_>>());
        }
        let seen: Vec<String> = pages.into_iter().rev().flatten().collect();
        assert_eq!(seen, expected, "page size {size}");
    }
    // The last page ends with the last user; a key from the middle pages both ways.
    let last = store.page_before(None, 3).expect("page");
    assert_eq!(last.iter().map(|e| e.user.id.clone()).collect::<Vec<_>>(), expected[54..]);
    let middle = store.entry(&expected[20]).expect("entry").key;
    let before = store.page_before(Some(&middle), 5).expect("page");
    let after = store.page_after(Some(&middle), 5).expect("page");
    assert_eq!(before.into_iter().map(|e| e.user.id).collect::<Vec<_>>(), expected[15..20]);
    assert_eq!(after.into_iter().map(|e| e.user.id).collect::<Vec<_>>(), expected[21..26]);
}

#[test]
fn list_order_is_by_lower_cased_handle_username_else_email_else_phone_else_id() {
    let (_dir, _path, store) = db_with_people();
    // Handles: 4930123456 (phone), alice, bob, carol@example.net (email), u5 (id).
    assert_eq!(all_ids_in_list_order(&store), ["u4", "u1", "u2", "u3", "u5"]);
    let entries = store.page_after(None, 10).expect("page");
    assert_eq!(entries.iter().map(|e| e.revision).collect::<Vec<_>>(), [1; 5]);
}

#[test]
fn search_finds_by_substring_of_name_email_or_id_in_any_case() {
    let (_dir, _path, store) = db_with_people();
    let ids = |query: &str| -> Vec<String> {
        store.search(query, None, 100).expect("search").into_iter().map(|e| e.user.id).collect()
    };
    assert_eq!(ids("LIDDELL"), ["u1"]);
    assert_eq!(ids("fernsprech"), ["u4"]);
    assert_eq!(ids("EXAMPLE.NET"), ["u3"]);
    assert_eq!(ids("example.org"), ["u2"]);
    assert_eq!(ids("U5"), ["u5"]);
    assert_eq!(ids("5551234"), ["u2"]);
    assert_eq!(ids("@example."), ["u1", "u2", "u3"]);
    assert_eq!(ids("no such thing"), Vec::<String>::new());
    assert_eq!(ids("").len(), 5);
    // Limit and continuation.
    let first = store.search("example", None, 2).expect("search");
    assert_eq!(first.iter().map(|e| e.user.id.as_str()).collect::<Vec<_>>(), ["u1", "u2"]);
    let rest = store.search("example", Some(&first[1].key), 10).expect("search");
    assert_eq!(rest.iter().map(|e| e.user.id.as_str()).collect::<Vec<_>>(), ["u3"]);
}

#[test]
fn a_scan_step_stops_at_max_hits_and_the_next_step_goes_on_from_there() {
    let (_dir, _path, store) = db_with_people();
    let full = |max_hits: usize| -> (Vec<String>, usize) {
        let (mut ids, mut after, mut steps) = (Vec::new(), None::<ListKey>, 0);
        loop {
            let step = store.scan_matches("example", after.as_ref(), 100, max_hits).expect("scan step");
            assert!(step.hits.len() <= max_hits, "a step never holds more than max_hits");
            steps += 1;
            ids.extend(step.hits.into_iter().map(|e| e.user.id));
            match step.next {
                Some(next) => after = Some(next),
                None => return (ids, steps),
            }
        }
    };
    let (all, one_step) = full(usize::MAX);
    assert_eq!(all.len(), 3, "u1, u2, u3 have example addresses: {all:?}");
    assert_eq!(one_step, 1);
    // One hit per step: the same users, none twice, none skipped.
    let (capped, steps) = full(1);
    assert_eq!(capped, all);
    assert!(steps >= 3, "{steps} steps");
}

/// The ids of every user the full scan finds for `query`, in the order found.
fn scanned_ids(store: &RedbStore, query: &str) -> Vec<String> {
    let (mut ids, mut after) = (Vec::new(), None::<ListKey>);
    loop {
        let step = store.scan_matches(query, after.as_ref(), 2, usize::MAX).expect("scan step");
        ids.extend(step.hits.into_iter().map(|e| e.user.id));
        match step.next {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

#[test]
fn the_scan_follows_every_write_and_never_finds_what_a_user_no_longer_has() {
    let (_dir, _path, store) = db_with_people();
    assert_eq!(scanned_ids(&store, "DARK"), ["u1"]);
    // A save: the old value is gone from the scan, the new one found.
    store.replace_custom_data("u1", &data(r#"{"theme":"Light"}"#), Some(1), &editor()).expect("save");
    assert_eq!(scanned_ids(&store, "dark"), Vec::<String>::new());
    assert_eq!(scanned_ids(&store, "light"), ["u1"]);
    // A restore brings the old document's texts back.
    store.restore("u1", 1, Some(2), &editor()).expect("restore");
    assert_eq!(scanned_ids(&store, "dark"), ["u1"]);
    // An upsert that renames (the list key moves) and one that changes customData only.
    import_text(&store, r#"{"id":"u2","username":"zed","name":"Robert"}"#, ImportMode::Upsert)
        .expect("upsert");
    import_text(&store, r#"{"id":"u3","customData":{"colour":"teal"}}"#, ImportMode::Upsert).expect("upsert");
    assert_eq!(scanned_ids(&store, "builder"), Vec::<String>::new());
    assert_eq!(scanned_ids(&store, "ROBERT"), ["u2"]);
    assert_eq!(scanned_ids(&store, "u2"), ["u2"], "found once, under its new list key");
    assert_eq!(scanned_ids(&store, "teal"), ["u3"]);
    // Every user is in the scan once, in list order, whatever wrote them.
    let mut batch = new_users(r#"{"id":"b1","username":"Ölfass","customData":{"Größe":"K\u212A"}}"#);
    batch.extend(new_users(r#"{"id":"b2","name":"say \"hi\""}"#));
    store.insert_batch(&batch, &importer()).expect("bulk insert");
    import_text(&store, r#"{"id":"i1","name":"Inserted","customData":{"n":1.50}}"#, ImportMode::InsertOnly)
        .expect("insert");
    assert_eq!(scanned_ids(&store, ""), all_ids_in_list_order(&store));
    assert_eq!(scanned_ids(&store, "GRÖSSE"), ["b1"]);
    assert_eq!(scanned_ids(&store, "ek"), Vec::<String>::new(), "never across a key and its value");
    assert!(scanned_ids(&store, "k").contains(&"b1".to_owned()), "the Kelvin sign folds to k");
    assert_eq!(scanned_ids(&store, "\"hi\""), ["b2"]);
    assert_eq!(scanned_ids(&store, "1.50"), ["i1"]);
}

#[test]
fn a_query_holding_a_nul_is_answered_without_matching_across_texts() {
    let (_dir, _path, store) = db_with_people();
    import_text(&store, r#"{"id":"n1","name":"quill","customData":{"zebra":"c"}}"#, ImportMode::InsertOnly)
        .expect("insert");
    // No stored text holds a NUL (records refuse it), so this finds nobody, even though the
    // name and the key are neighbours in the user's search text, NUL between them.
    assert_eq!(scanned_ids(&store, "quill\0zebra"), Vec::<String>::new());
    assert_eq!(scanned_ids(&store, "quill"), ["n1"]);
}

#[test]
fn a_seed_into_a_database_with_users_counts_what_it_wrote_and_refuses_a_name_a_stored_user_has() {
    let (_dir, _path, store) = db_with_people();
    // Not the empty file's bulk load: the path that appends beside stored users.
    let seeded = new_users("{\"id\":\"s1\",\"username\":\"seeded1\"}\n{\"id\":\"s2\"}\n{\"id\":\"s3\"}\n");
    assert_eq!(store.insert_batch(&seeded, &importer()).expect("seed"), 3);
    let before = snapshot(&store);
    // The name is stored user u1's (in another case), not another record's of this seed.
    let taken =
        new_users("{\"id\":\"s4\",\"username\":\"newcomer\"}\n{\"id\":\"s5\",\"username\":\"ALICE\"}\n");
    let error = store.insert_batch(&taken, &importer()).expect_err("alice is taken");
    assert!(error.to_string().contains("already belongs to user u1"), "{error}");
    assert!(error.is_conflict(), "{error}");
    assert_eq!(snapshot(&store), before, "nothing of the refused seed written");
}

#[test]
fn users_seed_makes_as_text_are_stored_and_found_as_the_same_users_given_as_values() {
    // `seed` writes each document and search text as it picks the values, without a tree
    // (`MadeUser`): the store must hold and find them as it does the users a file gives.
    use custodian::domain::synthetic::SyntheticUsers;
    let (_dir_made, _, made) = empty_db();
    let mut maker = SyntheticUsers::new(21, 0);
    let mut users = std::iter::from_fn(|| Some(maker.next_made())).take(2000);
    assert_eq!(made.insert_made(&mut users, &importer()).expect("seed"), 2000);
    let (_dir_given, _, given) = empty_db();
    let mut users = SyntheticUsers::new(21, 0).take(2000);
    assert_eq!(given.bulk_insert(&mut users, &importer()).expect("load"), 2000);
    assert_eq!(snapshot(&made), snapshot(&given));
    let found = |store: &RedbStore, query: &str| -> Vec<String> {
        store.search(query, None, 3000).expect("search").into_iter().map(|e| e.user.id).collect()
    };
    // A profile field, customData keys and values (folded, as a query is), a number.
    for query in
        ["kovács", "appearancemode", "ENTERPRISE", "beta-search", "\"seats\":19", "weekly", "o'connor"]
    {
        let ids = found(&made, query);
        assert_eq!(ids, found(&given, query), "{query}");
        if !query.contains('"') {
            assert!(!ids.is_empty(), "{query} found no one");
        }
    }
    assert_eq!(found(&made, "weekly").len(), 2000);
    // Into a database that holds users, the same users by the general path.
    let mut maker = SyntheticUsers::new(22, 2000);
    let mut more = std::iter::from_fn(|| Some(maker.next_made())).take(10);
    assert_eq!(made.insert_made(&mut more, &importer()).expect("seed again"), 10);
    assert_eq!(made.count().expect("count"), 2010);
}

#[test]
fn a_seed_into_an_empty_database_writes_none_of_its_users_when_one_cannot_be_made_or_stored() {
    // Into an empty file the users are made and prepared on a thread of their own while the
    // load writes them: whatever stops either side, the transaction holds all or none.
    let (_dir, _path, store) = empty_db();
    let synthetic = || custodian::domain::synthetic::SyntheticUsers::new(9, 0).take(3000);
    let huge = format!("{{\"id\":\"zzhuge\",\"profile\":{{\"x\":\"{}\"}}}}", "a".repeat(15 << 20));
    let huge = new_users(&huge).remove(0);
    let mut users = synthetic().take(2500).chain(std::iter::once(huge)).chain(synthetic().skip(2500));
    let error = store.bulk_insert(&mut users, &importer()).expect_err("too large to store");
    // Named by the record's place in the input, as every record's refusal is (bb71 F1).
    let too_large =
        |reason: &StoreError| matches!(reason, StoreError::UserTooLarge { user, .. } if user == "zzhuge");
    assert!(matches!(&error, StoreError::RecordConflict { reason, .. } if too_large(reason)), "{error}");
    assert_eq!(store.count().expect("count"), 0);
    // The last user repeats the first's id.
    let mut users = synthetic().chain(synthetic().take(1));
    let error = store.bulk_insert(&mut users, &importer()).expect_err("an id given twice");
    assert!(error.to_string().contains("is also given by an earlier record"), "{error}");
    assert_eq!(store.count().expect("count"), 0);
    // The thread making the users dies after 2,000 of them: the load is not committed, and
    // the panic is the caller's (the command's crash handler says it).
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut users = synthetic().take(2000).chain(std::iter::from_fn(|| panic!("the maker fails")));
        store.bulk_insert(&mut users, &importer())
    }));
    assert!(died.is_err(), "the maker's panic reaches the caller");
    assert_eq!(store.count().expect("count"), 0);
    // The same database then takes the whole seed, every user readable.
    assert_eq!(store.bulk_insert(&mut synthetic(), &importer()).expect("seed"), 3000);
    assert_eq!(store.count().expect("count"), 3000);
    let last = synthetic().last().expect("a user");
    assert_eq!(store.resolve(&last.user.id).expect("found"), last.user.id);
}

#[test]
fn an_upsert_says_a_name_a_stored_user_had_already_belongs_to_them_even_when_it_updated_them() {
    let (_dir, _path, store) = db_with_people();
    let before = snapshot(&store);
    // u1 is alice: the upsert's first record rewrites u1's customData (its revision is now
    // this import's), the second gives alice's name to someone else.
    let refused =
        |text: &str| import_text(&store, text, ImportMode::Upsert).expect_err("refused").to_string();
    let taken = refused("{\"id\":\"u1\",\"customData\":{\"a\":1}}\n{\"id\":\"n3\",\"username\":\"ALICE\"}");
    assert!(taken.contains("username \"ALICE\" already belongs to user u1"), "{taken}");
    // A name a new user of the same import gave is a repeat within the file.
    let repeated = refused("{\"id\":\"n4\",\"username\":\"zed\"}\n{\"id\":\"n5\",\"username\":\"ZED\"}");
    assert!(repeated.contains("is also given by another record of this import (user n4's"), "{repeated}");
    // A stored user the upsert renamed got the name from this import: a repeat too, not a
    // name that "already belongs" to them (review of the fix above).
    let renamed = refused(
        "{\"id\":\"u1\",\"username\":\"zoe\",\"customData\":{\"a\":1}}\n{\"id\":\"n6\",\"username\":\"ZOE\"}",
    );
    assert!(renamed.contains("is also given by another record of this import (user u1's"), "{renamed}");
    assert_eq!(snapshot(&store), before, "nothing of either written");
}

#[test]
fn an_upsert_that_hands_a_name_from_one_user_to_another_is_checked_at_its_end_not_at_its_line() {
    // bb38 F3: the name's new holder came first (as `export`'s list order puts them), and the
    // import was refused though the old holder took another name two lines later; no order
    // of the lines served a swap.
    let (_dir, _path, store) = db_with_people();
    let upsert = |text: &str| import_text(&store, text, ImportMode::Upsert);
    let holder = |name: &str| store.resolve(name).expect(name);
    // Handed on: u2 takes Alice's name (any case) before u1's record gives u1 another.
    upsert("{\"id\":\"u2\",\"username\":\"ALICE\"}\n{\"id\":\"u1\",\"username\":\"carol\"}")
        .expect("handed on");
    assert_eq!((holder("alice"), holder("carol")), ("u2".to_owned(), "u1".to_owned()));
    // A swap, of emails this time.
    upsert(
        "{\"id\":\"u2\",\"primaryEmail\":\"alice@example.com\"}\n{\"id\":\"u1\",\"primaryEmail\":\"bob@example.org\"}",
    )
    .expect("swapped");
    assert_eq!((holder("alice@example.com"), holder("bob@example.org")), ("u2".to_owned(), "u1".to_owned()));
    // A rotation: u1 takes alice back from u2, who takes carol from u1, and a new user.
    upsert(
        "{\"id\":\"u1\",\"username\":\"alice\"}\n{\"id\":\"n9\",\"username\":\"carol2\"}\n{\"id\":\"u2\",\"username\":\"carol\"}",
    )
    .expect("rotated");
    assert_eq!(
        (holder("alice"), holder("carol"), holder("carol2")),
        ("u1".to_owned(), "u2".to_owned(), "n9".to_owned())
    );
    let before = snapshot(&store);
    // The old holder keeps the name in the end (its record gives it no other, or gives no
    // name at all): refused at the line that gave it, nothing written.
    let kept = upsert("{\"id\":\"u3\",\"username\":\"Alice\"}\n{\"id\":\"u1\",\"customData\":{\"b\":2}}")
        .expect_err("u1 still holds it")
        .to_string();
    assert!(kept.contains("line 1: username \"Alice\" already belongs to user u1"), "{kept}");
    let never = upsert("{\"id\":\"u3\",\"username\":\"carol\"}\n{\"id\":\"n7\",\"name\":\"N\"}")
        .expect_err("u2 never lets it go")
        .to_string();
    assert!(never.contains("line 1: username \"carol\" already belongs to user u2"), "{never}");
    // Given to two users by the file: a repeat within it, at the second one's line.
    let twice = upsert("{\"id\":\"u3\",\"username\":\"zed\"}\n{\"id\":\"n8\",\"username\":\"ZED\"}")
        .expect_err("given twice")
        .to_string();
    assert!(
        twice.contains("line 2: username \"ZED\" is also given by another record of this import (user u3's"),
        "{twice}"
    );
    // Given twice while a stored user holds it and keeps it: that user is named, at the first.
    let both = upsert(
        "{\"id\":\"u3\",\"username\":\"alice\"}\n{\"id\":\"n8\",\"username\":\"ALICE\"}\n{\"id\":\"u2\",\"username\":\"dora\"}",
    )
    .expect_err("u1 keeps it")
    .to_string();
    assert!(both.contains("line 1: username \"alice\" already belongs to user u1"), "{both}");
    // Given twice while its holder gives it up: a repeat, at the second record's line.
    let handed_twice = upsert(
        "{\"id\":\"u3\",\"username\":\"alice\"}\n{\"id\":\"n8\",\"username\":\"ALICE\"}\n{\"id\":\"u1\",\"username\":\"alys\"}",
    )
    .expect_err("given twice")
    .to_string();
    assert!(
        handed_twice
            .contains("line 2: username \"ALICE\" is also given by another record of this import (user u3's"),
        "{handed_twice}"
    );
    assert_eq!(snapshot(&store), before, "nothing of any refused import written");
}

#[test]
fn more_hand_overs_than_the_claims_kept_pass_when_each_is_settled_by_the_next_line() {
    // 25,000 swaps were refused at the 20,001st, though one waited at a time (bb39).
    let (_dir, _path, store) = empty_db();
    const PAIRS: usize = 20_050;
    let users: String =
        (0..2 * PAIRS).map(|n| format!("{{\"id\":\"s{n:06}\",\"username\":\"name{n}\"}}\n")).collect();
    import_text(&store, &users, ImportMode::InsertOnly).expect("the users");
    let swaps: String = (0..PAIRS)
        .map(|p| {
            let (a, b) = (2 * p, 2 * p + 1);
            format!("{{\"id\":\"s{a:06}\",\"username\":\"name{b}\"}}\n{{\"id\":\"s{b:06}\",\"username\":\"name{a}\"}}\n")
        })
        .collect();
    let summary =
        import_text(&store, &swaps, ImportMode::Upsert).expect("every swap settles on its next line");
    assert_eq!(summary.updated, 2 * PAIRS as u64);
    assert_eq!(store.resolve("name0").expect("name0"), "s000001");
    assert_eq!(
        store.resolve(&format!("name{}", 2 * PAIRS - 1)).expect("the last"),
        format!("s{:06}", 2 * PAIRS - 2)
    );
}

#[test]
fn compacting_after_a_bulk_load_keeps_every_user_and_history_and_never_grows_the_file() {
    let (_dir, path, mut store) = db_with_people();
    let users: Vec<_> = custodian::domain::synthetic::SyntheticUsers::new(5, 0).take(3_000).collect();
    store.insert_batch(&users, &importer()).expect("bulk load");
    let alice = store.resolve("alice").expect("alice");
    let data = CustomData::parse(r#"{"theme": "dark"}"#).expect("valid");
    store.replace_custom_data(&alice, &data, None, &importer()).expect("save");
    let before = snapshot(&store);
    let size = fs::metadata(&path).expect("size").len();
    store.compact().expect("compact");
    assert_eq!(snapshot(&store), before, "same users, documents, revisions and history");
    assert!(fs::metadata(&path).expect("size").len() <= size);
    // Still a working database: it saves and reopens.
    store
        .replace_custom_data(&alice, &CustomData::parse("{}").expect("valid"), None, &importer())
        .expect("save");
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    assert_eq!(store.count().expect("count"), 3_005);
}

// ---------------------------------------------------------------------------------------------
// Read-only

#[test]
fn read_only_handle_refuses_every_write_and_leaves_the_file_unchanged() {
    let (_dir, path, store) = db_with_people();
    let before = snapshot(&store);
    drop(store);
    let bytes = fs::read(&path).expect("read");

    let store = RedbStore::open(&path, OpenOptions { read_only: true, ..Default::default() })
        .expect("open read-only");
    assert!(store.is_read_only());
    assert!(matches!(
        store.replace_custom_data("u1", &data(r#"{"x":1}"#), None, &editor()),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(store.restore("u1", 1, None, &editor()), Err(StoreError::ReadOnly)));
    assert!(matches!(
        import_text(&store, r#"{"id":"n1","username":"new"}"#, ImportMode::InsertOnly),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(
        import_text(&store, r#"{"id":"u1","username":"Alice","customData":{"y":2}}"#, ImportMode::Upsert),
        Err(StoreError::ReadOnly)
    ));
    let batch = new_users(r#"{"id":"n2","username":"batch"}"#);
    assert!(matches!(store.insert_batch(&batch, &editor()), Err(StoreError::ReadOnly)));
    // Reads work.
    assert_eq!(store.count().expect("count"), 5);
    assert_eq!(snapshot(&store), before);
    drop(store);
    assert_eq!(fs::read(&path).expect("read"), bytes, "the file changed under a read-only handle");
}

#[test]
fn read_only_handle_sees_what_a_writer_commits() {
    let (_dir, path, writer) = db_with_people();
    let reader = RedbStore::open(&path, OpenOptions { read_only: true, ..Default::default() })
        .expect("open read-only");
    writer.replace_custom_data("u2", &data(r#"{"seen":true}"#), Some(1), &editor()).expect("save");
    let doc = reader.custom_data("u2").expect("doc");
    assert_eq!((doc.revision, doc.text), (2, canonical(r#"{"seen":true}"#)));
}

// ---------------------------------------------------------------------------------------------
// Several handles and processes on one file

#[test]
fn two_handles_in_one_process_share_the_file() {
    let (_dir, path, a) = db_with_people();
    let b = RedbStore::open(&path, OpenOptions::default()).expect("second handle");
    assert!(matches!(a.save_as_test("u1", r#"{"by":"a"}"#, Some(1)), SaveOutcome::Saved { revision: 2, .. }));
    assert_eq!(b.custom_data("u1").expect("doc").revision, 2);
    assert!(matches!(b.save_as_test("u1", r#"{"by":"b"}"#, Some(2)), SaveOutcome::Saved { revision: 3, .. }));
    assert_eq!(a.custom_data("u1").expect("doc").text, canonical(r#"{"by":"b"}"#));
    assert!(matches!(
        a.replace_custom_data("u1", &data(r#"{"by":"a again"}"#), Some(2), &editor()),
        Err(StoreError::Conflict { expected: 2, found: 3, .. })
    ));
    import_text(&b, r#"{"id":"n1","username":"from_b"}"#, ImportMode::InsertOnly).expect("import through b");
    assert_eq!(a.resolve("FROM_B").expect("resolve"), "n1");
    drop(b);
    // The first handle keeps working after the second one is closed.
    assert!(matches!(a.save_as_test("u1", r#"{"by":"a"}"#, Some(3)), SaveOutcome::Saved { revision: 4, .. }));
    assert_eq!(a.history("u1").expect("history").len(), 4);
}

trait SaveForTest {
    fn save_as_test(&self, id: &str, text: &str, expected: Option<Revision>) -> SaveOutcome;
}

impl SaveForTest for RedbStore {
    fn save_as_test(&self, id: &str, text: &str, expected: Option<Revision>) -> SaveOutcome {
        self.replace_custom_data(id, &data(text), expected, &editor()).expect("save")
    }
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `writers` processes at once, each saving `saves` documents one after another to the
/// user that `target(writer)` names, while this process reads. Returns every `set` output.
fn run_concurrent_saves(
    dir: &Path,
    db: &Path,
    store: &RedbStore,
    writers: usize,
    saves: usize,
    target: impl Fn(usize) -> String + Sync,
) -> Vec<(usize, usize, Output)> {
    for w in 0..writers {
        for s in 0..saves {
            let doc =
                format!("{{\"writer\": {w}, \"save\": {s}, \"pad\": \"{}\"}}", "p".repeat(100 * (s + 1)));
            fs::write(dir.join(format!("doc-{w}-{s}.json")), doc).expect("write doc");
        }
    }
    let home = PrivateHome::new(&[]);
    // The real binary, isolated from the operator's home and environment.
    let custodian = |db: &Path| {
        let mut command = home.custodian();
        // The history names this author: the tests below check it.
        command.arg("--db").arg(db).env("USER", "writer");
        command
    };
    let done = AtomicBool::new(false);
    let mut outputs = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let target = &target;
                scope.spawn(move || {
                    (0..saves)
                        .map(|s| {
                            let output = custodian(db)
                                .arg("set")
                                .arg(target(w))
                                .arg(dir.join(format!("doc-{w}-{s}.json")))
                                .output()
                                .expect("spawn custodian");
                            (w, s, output)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            // Reads in this process and in another process while the writers work: every
            // read sees a whole revision, and revisions never go backwards.
            let id = store.resolve(&target(0)).expect("resolve");
            let mut last = 0;
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                let doc = store.custom_data(&id).expect("read during writes");
                assert!(doc.revision >= last, "revision went back from {last} to {}", doc.revision);
                serde_json::from_str::<Map<String, Value>>(&doc.text).expect("a whole document");
                last = doc.revision;
                let output = custodian(db).arg("get").arg(target(0)).output().expect("spawn reader");
                assert!(output.status.success(), "reader failed: {}", describe(&output));
                serde_json::from_slice::<Map<String, Value>>(&output.stdout)
                    .expect("get prints a whole document");
                reads += 1;
            }
            reads
        });
        for handle in handles {
            outputs.extend(handle.join().expect("writer thread"));
        }
        done.store(true, Ordering::SeqCst);
        let reads = reader.join().expect("reader thread");
        assert!(reads > 0, "the reader never read");
    });
    for (_, _, output) in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        for word in ["already open", "locked", "busy", "panicked"] {
            assert!(!stderr.contains(word), "a writer said {word:?}: {}", describe(output));
        }
        assert!(output.status.success(), "a writer failed: {}", describe(output));
    }
    outputs
}

fn saved_revision(output: &Output) -> Revision {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rest =
        stdout.split_once(" revision ").unwrap_or_else(|| panic!("no revision in {}", describe(output))).1;
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", describe(output)))
}

#[test]
fn concurrent_processes_saving_one_user_lose_no_revision() {
    const WRITERS: usize = 6;
    const SAVES: usize = 5;
    let (dir, path, store) = db_with_people();
    let outputs = run_concurrent_saves(dir.path(), &path, &store, WRITERS, SAVES, |_| "alice".to_owned());

    let total = (WRITERS * SAVES) as u64;
    let doc = store.custom_data("u1").expect("doc");
    assert_eq!(doc.revision, 1 + total, "a save was lost");
    let history = store.history("u1").expect("history");
    assert_eq!(history.iter().map(|r| r.revision).collect::<Vec<_>>(), (1..=1 + total).collect::<Vec<_>>());
    assert!(
        history.iter().skip(1).all(|r| r.saved_by == custodian::store::Author::describe_for_tests("writer"))
    );

    // Each process was told a different revision, and each revision holds one process's save.
    let told: BTreeSet<Revision> = outputs.iter().map(|(_, _, o)| saved_revision(o)).collect();
    assert_eq!(told, (2..=1 + total).collect::<BTreeSet<_>>());
    for (w, s, output) in &outputs {
        let text = store.revision_text("u1", saved_revision(output)).expect("revision text");
        let saved: Map<String, Value> = serde_json::from_str(&text).expect("json");
        assert_eq!((saved["writer"].as_u64(), saved["save"].as_u64()), (Some(*w as u64), Some(*s as u64)));
    }
    // The other users were not touched.
    assert_eq!(store.history("u2").expect("history").len(), 1);
}

#[test]
fn concurrent_processes_saving_different_users_each_keep_every_revision() {
    const WRITERS: usize = 4;
    const SAVES: usize = 4;
    let users = ["u1", "bob", "carol@example.net", "4930123456"];
    let (dir, path, store) = db_with_people();
    run_concurrent_saves(dir.path(), &path, &store, WRITERS, SAVES, |w| users[w].to_owned());
    for (w, user) in users.iter().enumerate() {
        let id = store.resolve(user).expect("resolve");
        let doc = store.custom_data(&id).expect("doc");
        assert_eq!(doc.revision, 1 + SAVES as u64, "{user}");
        let last: Map<String, Value> = serde_json::from_str(&doc.text).expect("json");
        assert_eq!(last["writer"].as_u64(), Some(w as u64));
        assert_eq!(last["save"].as_u64(), Some(SAVES as u64 - 1), "saves of one process land in order");
        assert_eq!(store.history(&id).expect("history").len(), 1 + SAVES);
    }
    assert_eq!(store.history("u5").expect("history").len(), 1);
}

/// The people's (list key, search text), in list order, and the database they are in.
fn people_and_their_search_texts() -> (TempDir, PathBuf, Vec<(String, String)>) {
    let (dir, path, store) = db_with_people();
    let mut texts = Vec::new();
    let keys: Vec<(String, ListKey)> =
        store.page_after(None, 100).expect("page").into_iter().map(|e| (e.user.id.clone(), e.key)).collect();
    store
        .for_each_user(&mut |record, text| {
            let document: Map<String, Value> = serde_json::from_str(text).expect("an object");
            let key = keys.iter().find(|(id, _)| *id == record.user.id).expect("listed").1.clone();
            texts.push((key.0, custodian::domain::filter::search_text(&record.user, &document)));
            Ok(())
        })
        .expect("for_each_user");
    drop(store);
    texts.sort();
    (dir, path, texts)
}

/// The people's file turned into one of an older `layout`: the dictionary blocks taken out,
/// `put_old` writing the older tables from the users' (list key, search text) pairs.
fn older_layout_file(
    layout: u64,
    put_old: impl FnOnce(&redb::WriteTransaction, &[(String, String)]),
) -> (TempDir, PathBuf) {
    let (dir, path, texts) = people_and_their_search_texts();
    let db = redb::Database::open(&path).expect("open raw");
    let tx = db.begin_write().expect("write");
    tx.delete_table(redb::TableDefinition::<&str, &[u8]>::new("search_dict_blocks")).expect("delete blocks");
    put_old(&tx, &texts);
    tx.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
        .expect("meta")
        .insert("schema_version", layout)
        .expect("version");
    tx.commit().expect("commit");
    (dir, path)
}

/// The ids a search for `query` finds, in list order.
fn ids_found(store: &RedbStore, query: &str) -> Vec<String> {
    store.search(query, None, 100).expect("search").into_iter().map(|e| e.user.id).collect()
}

/// A file of `layout` (3 to 5), as the builds with one `search_text` entry per user wrote it:
/// the people, their search texts per user, no search blocks.
fn file_with_per_user_search_texts(layout: u64) -> (TempDir, PathBuf) {
    older_layout_file(layout, |tx, texts| {
        let mut old =
            tx.open_table(redb::TableDefinition::<&str, &str>::new("search_text")).expect("old table");
        for (key, text) in texts {
            old.insert(key.as_str(), text.as_str()).expect("insert");
        }
    })
}

/// Layouts 3 to 5 kept one search text per user; layout 3's upgrade also rebuilds the indexes
/// by the fold, which from layout 3 on already follow it: each user is found once.
#[test]
fn files_of_layouts_3_to_5_are_searched_before_and_after_their_search_texts_are_packed_in_blocks() {
    for layout in 3..=5 {
        let (_dir, path) = file_with_per_user_search_texts(layout);
        let read_only =
            RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
        assert!(read_only.needs_upgrade());
        assert_eq!(ids_found(&read_only, "@example."), ["u1", "u2", "u3"], "layout {layout}");
        drop(read_only);

        let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
        assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
        assert_eq!(ids_found(&store, "@example."), ["u1", "u2", "u3"], "layout {layout}");
        assert_eq!(ids_found(&store, "LIDDELL"), ["u1"], "layout {layout}");
        assert_eq!(ids_found(&store, "").len(), 5, "layout {layout}: each user once");
        assert_eq!(store.resolve("ALICE").expect("alice"), "u1", "layout {layout}");
        assert_eq!(scanned_ids(&store, "dieter"), ["u4"], "layout {layout}");
        drop(store);
        let db = redb::Database::open(&path).expect("open raw");
        let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
        let old = tx.open_table(redb::TableDefinition::<&str, &str>::new("search_text"));
        assert!(matches!(old, Err(redb::TableError::TableDoesNotExist(_))), "the per-user table is gone");
    }
}

/// Every step of a scan, walked from the start: (hit ids, users scanned, where the next
/// step starts).
type Steps = Vec<(Vec<String>, usize, Option<String>)>;

fn scan_steps(store: &RedbStore, query: &str, batch: usize, max_hits: usize) -> Steps {
    let mut steps = Vec::new();
    let mut after: Option<ListKey> = None;
    loop {
        let step = store.scan_matches(query, after.as_ref(), batch, max_hits).expect("scan step");
        let ids = step.hits.iter().map(|e| e.user.id.clone()).collect();
        steps.push((ids, step.scanned, step.next.as_ref().map(|k| k.0.clone())));
        match step.next {
            Some(next) => after = Some(next),
            None => return steps,
        }
        assert!(steps.len() <= 20, "{query:?} {batch} {max_hits}: the scan does not end: {steps:?}");
    }
}

/// A file of an older layout seen read-only has no search blocks: its scan reads every user
/// and document, and gives each step exactly as the block scan of today's layout gives it —
/// the same hits (in profile fields or only in customData), the same count of users
/// scanned, the same place to go on from, at every batch size and hit limit.
#[test]
fn the_scan_of_an_older_file_read_only_steps_as_the_block_scan_does() {
    let (_dir, _path, today) = db_with_people();
    let (_older_dir, path) = file_with_per_user_search_texts(4);
    let older =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(older.needs_upgrade());
    for query in ["example", "dark", "", "1", "nobody at all"] {
        for batch in 1..=6 {
            for max_hits in 1..=4 {
                assert_eq!(
                    scan_steps(&older, query, batch, max_hits),
                    scan_steps(&today, query, batch, max_hits),
                    "{query:?}, batch {batch}, at most {max_hits} hits"
                );
            }
        }
    }
}

/// A file of an older layout seen read-only: from layout 3 on its indexes follow the fold, so
/// names and emails are found by prefix there as in a file of today's layout; a layout-2
/// file's indexes follow another rule and are not read, so only ids are matched by prefix
/// (the search finds the rest).
#[test]
fn prefix_matches_of_an_older_file_read_only_use_its_indexes_from_layout_3_and_ids_before() {
    let prefixed = |store: &RedbStore, query: &str| -> BTreeSet<String> {
        store.prefix_matches(query, 10).expect("prefix").into_iter().map(|e| e.user.id).collect()
    };
    let (_dir, path) = file_with_per_user_search_texts(3);
    let layout_3 =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(layout_3.needs_upgrade());
    assert_eq!(prefixed(&layout_3, "ALI"), BTreeSet::from(["u1".to_owned()]), "username and email");
    assert_eq!(prefixed(&layout_3, "bob b"), BTreeSet::from(["u2".to_owned()]), "name");
    assert_eq!(prefixed(&layout_3, "u"), (1..=5).map(|n| format!("u{n}")).collect(), "ids");

    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("old.redb");
    layout_2_file_with_colliding_users(&path);
    let layout_2 =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert_eq!(prefixed(&layout_2, "c"), (1..=7).map(|n| format!("c{n}")).collect(), "ids");
    assert!(prefixed(&layout_2, "plain").is_empty(), "its username index is not read");
}

/// A file of layout 6, as the build with blocks of whole search texts wrote it (table
/// `search_blocks`: `n`, `n` text ends, `n` key ends, the keys, the texts each ended by NUL;
/// all `u32` LE), its users in blocks of two.
fn layout_6_file_with_blocks_of_whole_texts() -> (TempDir, PathBuf) {
    let block = |entries: &[(String, String)]| -> Vec<u8> {
        let mut bytes = (entries.len() as u32).to_le_bytes().to_vec();
        let mut end = 0;
        for (_, text) in entries {
            end += text.len();
            bytes.extend((end as u32).to_le_bytes());
            end += 1;
        }
        end = 0;
        for (key, _) in entries {
            end += key.len();
            bytes.extend((end as u32).to_le_bytes());
        }
        entries.iter().for_each(|(key, _)| bytes.extend(key.as_bytes()));
        entries.iter().for_each(|(_, text)| bytes.extend(text.as_bytes().iter().chain([&0u8])));
        bytes
    };
    older_layout_file(6, |tx, texts| {
        let mut old =
            tx.open_table(redb::TableDefinition::<&str, &[u8]>::new("search_blocks")).expect("old table");
        for entries in texts.chunks(2) {
            old.insert(entries[0].0.as_str(), block(entries).as_slice()).expect("insert");
        }
    })
}

#[test]
fn a_layout_6_file_is_searched_read_only_and_its_blocks_get_a_dictionary_on_the_next_read_write_open() {
    let (_dir, path) = layout_6_file_with_blocks_of_whole_texts();
    let read_only =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(read_only.needs_upgrade());
    assert_eq!(ids_found(&read_only, "@example."), ["u1", "u2", "u3"]);
    assert_eq!(ids_found(&read_only, "LIDDELL"), ["u1"]);
    drop(read_only);

    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
    assert!(!store.needs_upgrade());
    assert_eq!(ids_found(&store, "@example."), ["u1", "u2", "u3"]);
    assert_eq!(ids_found(&store, "LIDDELL"), ["u1"]);
    assert_eq!(ids_found(&store, "").len(), 5);
    drop(store);
    let db = redb::Database::open(&path).expect("open raw");
    let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
    let old = tx.open_table(redb::TableDefinition::<&str, &[u8]>::new("search_blocks"));
    assert!(matches!(old, Err(redb::TableError::TableDoesNotExist(_))), "the layout-6 blocks are gone");
    let new = tx.open_table(redb::TableDefinition::<&str, &[u8]>::new("search_dict_blocks")).expect("new");
    assert_eq!(redb::ReadableTableMetadata::len(&new).expect("len"), 1, "five users fit one block");
}

/// Every record of the users table as stored, one a line.
fn raw_user_records(path: &Path) -> String {
    let db = redb::Database::open(path).expect("open raw");
    let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
    let users = tx.open_table(redb::TableDefinition::<&str, &str>::new("users")).expect("users");
    let records = redb::ReadableTable::range::<&str>(&users, ..).expect("range");
    records.map(|item| item.expect("record").1.value().to_owned()).collect::<Vec<_>>().join("\n")
}

/// The people's file made one of layout 3 whose records hold credentials an older import kept
/// as unknown fields: `fields` added to each named user's record, as (id, field, value).
fn layout_3_file_with_stored_credentials(fields: &[(&str, &str, Value)]) -> (TempDir, PathBuf) {
    let (dir, path) = file_with_per_user_search_texts(3);
    let db = redb::Database::open(&path).expect("open raw");
    let tx = db.begin_write().expect("write");
    {
        let mut users = tx.open_table(redb::TableDefinition::<&str, &str>::new("users")).expect("users");
        for (id, field, value) in fields {
            let json =
                redb::ReadableTable::get(&users, *id).expect("get").expect("stored").value().to_owned();
            let mut stored: Value = serde_json::from_str(&json).expect("stored json");
            stored["user"][*field] = value.clone();
            users.insert(*id, stored.to_string().as_str()).expect("insert");
        }
    }
    tx.commit().expect("commit");
    (dir, path)
}

#[test]
fn upgrading_a_layout_3_file_removes_credentials_in_either_spelling_and_names_each_field_once() {
    let (_dir, path) = layout_3_file_with_stored_credentials(&[
        // Each user's credentials in one spelling only: the API's or the column's.
        ("u1", "passwordEncrypted", Value::from("$argon2i$v=19$m=4096,t=10,p=1$x$y")),
        ("u1", "logtoConfig", serde_json::json!({"secret": 1})),
        ("u2", "mfa_verifications", serde_json::json!([{"type": "Totp", "key": "JBSWY3DPEHPK3PXP"}])),
        ("u3", "passwordEncrypted", Value::from("$argon2i$v=19$m=4096,t=10,p=1$z$w")),
        // A credential's name in a value is no credential: the user is left as it was.
        ("u4", "name", Value::from("password_encrypted logtoConfig")),
    ]);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    let notes = store.upgrade_notes();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(
        notes[0],
        "removed credentials an earlier import kept (passwordEncrypted, logtoConfig, mfa_verifications) \
         from 3 users; their old bytes may remain in the file's free space until it is rewritten \
         (export, then import into a new database)"
    );
    assert!(notes[1].starts_with("started the journal"), "{notes:?}");
    drop(store);
    let records = raw_user_records(&path);
    for secret in ["argon2i", "JBSWY3DPEHPK3PXP", "secret"] {
        assert!(!records.contains(secret), "{secret} kept: {records}");
    }
    assert!(records.contains("password_encrypted logtoConfig"), "{records}");
    let store = RedbStore::open(&path, OpenOptions::default()).expect("reopen");
    assert!(store.upgrade_notes().is_empty(), "said once: {:?}", store.upgrade_notes());

    // One user: said in the singular.
    let (_dir, path) =
        layout_3_file_with_stored_credentials(&[("u5", "password_encrypted", Value::from("x"))]);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert!(
        store.upgrade_notes()[0]
            .starts_with("removed credentials an earlier import kept (password_encrypted) from 1 user;"),
        "{:?}",
        store.upgrade_notes()
    );
}

/// The people's file as the build of layout 7 left it: everything of today's but the table of
/// bulk loads.
fn layout_7_file() -> (TempDir, PathBuf) {
    let (dir, path, store) = db_with_people();
    drop(store);
    let db = redb::Database::open(&path).expect("open raw");
    let tx = db.begin_write().expect("write");
    let loads = redb::TableDefinition::<(i64, u64), u64>::new("journal_loads");
    assert!(tx.delete_table(loads).expect("delete"), "a layout-8 file has the table");
    tx.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
        .expect("meta")
        .insert("schema_version", 7)
        .expect("version");
    tx.commit().expect("commit");
    (dir, path)
}

/// The journal is built once, by the upgrade from a layout before it (4 and older): a file of
/// layout 5 or later keeps the journal it has, and its upgrade has nothing to say.
#[test]
fn only_an_upgrade_from_before_the_journal_builds_it_and_says_so() {
    let (_dir, path) = file_with_per_user_search_texts(4);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert_eq!(
        store.upgrade_notes(),
        [
            "started the journal (`custodian changes`): 5 saves taken from the history; saves from now on are all recorded"
        ]
    );
    for (layout, (_dir, path)) in [
        (5, file_with_per_user_search_texts(5)),
        (6, layout_6_file_with_blocks_of_whole_texts()),
        (7, layout_7_file()),
    ] {
        let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
        assert_eq!(store.schema_version().expect("schema"), SCHEMA_VERSION);
        assert!(store.upgrade_notes().is_empty(), "layout {layout}: {:?}", store.upgrade_notes());
        let mut saves = 0;
        store
            .journal(&JournalQuery::default(), &mut |_| {
                saves += 1;
                Ok(true)
            })
            .expect("the journal reads");
        assert_eq!(saves, 1, "layout {layout}: the import's load, one row for its users");
        drop(store);
        // Layout 8's table of bulk loads, made by the upgrade (empty: older files have a row a user).
        let db = redb::Database::open(&path).expect("open raw");
        let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
        let loads = tx.open_table(redb::TableDefinition::<(i64, u64), u64>::new("journal_loads"));
        assert!(loads.is_ok(), "layout {layout}: no table of loads");
    }
}

/// An upgrade that rewrote the search texts (from a layout before 7) leaves their old pages
/// free: the file is compacted once, and ends smaller than it was. The upgrade from layout 7
/// only adds a table, not worth a compaction (seconds at a million users, and the file to
/// itself): the file keeps its size.
#[test]
fn an_upgrade_that_rewrote_the_search_texts_gives_their_room_back_and_one_that_added_a_table_does_not_compact()
 {
    let size = |path: &Path| fs::metadata(path).expect("metadata").len();
    for (layout, (_dir, path)) in [
        (4, file_with_per_user_search_texts(4)),
        (6, layout_6_file_with_blocks_of_whole_texts()),
        (7, layout_7_file()),
    ] {
        let before = size(&path);
        drop(RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades"));
        let after = size(&path);
        if layout < 7 {
            assert!(after < before, "layout {layout}: {before} B before the upgrade, {after} B after");
        } else {
            assert_eq!(after, before, "layout {layout}: compacted");
        }
    }
}

/// A long write (an import, a batch) during which a restore replaces the file is refused at
/// its commit: it was committed into the unlinked file and said done (bb42 F8).
#[test]
fn a_long_write_during_which_the_file_is_replaced_is_refused_at_its_commit() {
    use custodian::store::{BatchEdit, BatchId, Selection};
    let (dir, path, store) = empty_db();
    import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import");
    let restore = || {
        let copy = dir.path().join("restored.redb");
        std::fs::copy(&path, &copy).expect("copy");
        std::fs::rename(&copy, &path).expect("replace");
    };
    let upsert = r#"{"id":"u1","customData":{"lost":1}}
{"id":"u2","customData":{"lost":2}}
{"id":"u9","customData":{"lost":9}}
"#;
    let mut reader = ImportReader::new(upsert.as_bytes(), Limits::default(), IMPORT_NOW).expect("readable");
    let mut first = true;
    // The restore lands while the import's records are still coming.
    let mut records = std::iter::from_fn(|| {
        let next = reader.next();
        if std::mem::take(&mut first) {
            restore();
        }
        next
    });
    let error = store.import(&mut records, ImportMode::Upsert, &importer()).expect_err("refused");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("the file there now");
    let mut edited = 0;
    let mut edit = |_: &custodian::store::UserRecord, _: &str| {
        edited += 1;
        if edited == 2 {
            restore();
        }
        Ok(BatchEdit::Replace(CustomData::parse(r#"{"lost": "batch"}"#).expect("document")))
    };
    let error =
        store.edit_batch(&BatchId::new(), &Selection::All, &mut edit, &importer()).expect_err("refused");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
    drop(store);
    let there = RedbStore::open(&path, OpenOptions::default()).expect("the file there now");
    assert!(!there.custom_data("u1").expect("read").text.contains("lost"), "neither write is in it");
    assert!(there.resolve("u9").is_err(), "nor the new user");
}

#[test]
fn a_write_after_the_file_was_replaced_under_the_open_store_is_refused_and_writes_nowhere() {
    // A restore the usual way (`cp backup new && mv new users.redb`) while a store is open:
    // its saves went on into the unlinked file and said "saved".
    let (dir, path, store) = empty_db();
    import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import");
    let copy = dir.path().join("restored.redb");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::rename(&copy, &path).expect("replace");
    let data = CustomData::parse(r#"{"lost": true}"#).expect("document");
    let error = store.replace_custom_data("u1", &data, None, &importer()).expect_err("refused");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
    assert!(error.to_string().contains("is no longer the file custodian opened"), "{error}");
    drop(store);
    let reopened = RedbStore::open(&path, OpenOptions::default()).expect("open the file there now");
    assert_eq!(
        reopened.custom_data("u1").expect("read").text,
        "{\n  \"theme\": \"dark\",\n  \"lang\": \"en\"\n}"
    );
    // Removed altogether: the same.
    std::fs::remove_file(&path).expect("remove");
    let error = reopened.replace_custom_data("u1", &data, None, &importer()).expect_err("refused");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
}

/// The id of the last commit a redb file's header records (its two commit slots, at 64 and
/// 192, hold it at byte 104).
fn last_commit_id(path: &std::path::Path) -> u64 {
    let header = std::fs::read(path).expect("read");
    [64, 192]
        .iter()
        .map(|at| u64::from_le_bytes(header[at + 104..at + 112].try_into().unwrap()))
        .max()
        .unwrap()
}

/// bb94 F1: a backup copied over the file in place (`cp backup users.redb` keeps the inode)
/// whose last commit has the id of the one the open store served: redb kept serving its cached
/// pages, and the next save wrote its own view over the copy — users listed twice, others gone,
/// a file no compaction takes. Refused as a file replaced, and nothing written.
#[test]
fn a_file_copied_over_in_place_under_the_same_commit_id_is_refused_as_replaced() {
    let (dir, path, store) = empty_db();
    import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import");
    let theirs = dir.path().join("theirs.redb");
    std::fs::copy(&path, &theirs).expect("copy");
    let other = RedbStore::open(&theirs, OpenOptions::default()).expect("open the copy");
    let document = |text: &str| CustomData::parse(text).expect("document");
    other
        .replace_custom_data("u1", &document(r#"{"theirs": true}"#), None, &importer())
        .expect("saved there");
    store.replace_custom_data("u1", &document(r#"{"mine": 1}"#), None, &importer()).expect("saved here");
    // As many commits on each side: the same last id, other pages (each save a new document,
    // or it commits nothing; closing the copy's store commits once more).
    for n in 0..20 {
        let (behind, file) = match (last_commit_id(&theirs) + 1).cmp(&last_commit_id(&path)) {
            std::cmp::Ordering::Less => (&other, "there"),
            std::cmp::Ordering::Greater => (&store, "here"),
            std::cmp::Ordering::Equal => break,
        };
        let text = format!(r#"{{"n": {n}}}"#);
        behind.replace_custom_data("u2", &document(&text), None, &importer()).expect(file);
    }
    drop(other);
    assert_eq!(last_commit_id(&path), last_commit_id(&theirs));
    let copied = std::fs::read(&theirs).expect("read");
    std::fs::write(&path, &copied).expect("copied over in place");
    let error = store.still_at_its_path().expect_err("noticed");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
    let error = store
        .replace_custom_data("u1", &document(r#"{"lost": true}"#), None, &importer())
        .expect_err("refused");
    assert!(matches!(error, StoreError::FileReplaced { .. }), "{error:?}");
    drop(store);
    assert!(
        std::fs::read(&path).expect("read") == copied,
        "nothing written over the copy, also at the close"
    );
    let reopened = RedbStore::open(&path, OpenOptions::default()).expect("open the file there now");
    assert_eq!(reopened.custom_data("u1").expect("read").text, "{\n  \"theirs\": true\n}");
}

/// bb97 F1: an older backup of the same file put back in place (`cp backup users.redb`): redb
/// reloaded it, and a save from the screen went into the backup, said "saved". A file whose
/// newest commit is older than one seen is refused as replaced, nothing written over it.
#[test]
fn an_older_backup_copied_back_in_place_is_refused_as_replaced() {
    let (dir, path, store) = empty_db();
    import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import");
    let backup = dir.path().join("backup.redb");
    std::fs::copy(&path, &backup).expect("backup");
    let document = |text: &str| CustomData::parse(text).expect("document");
    store.replace_custom_data("u1", &document(r#"{"after": 1}"#), None, &importer()).expect("saved");
    let copied = std::fs::read(&backup).expect("read");
    std::fs::write(&path, &copied).expect("put back in place");
    let error = store.replace_custom_data("u1", &document(r#"{"lost": true}"#), None, &importer());
    assert!(matches!(error, Err(StoreError::FileReplaced { .. })), "{error:?}");
    drop(store);
    assert!(
        std::fs::read(&path).expect("read") == copied,
        "nothing written over the backup, also at the close"
    );
}

/// The users a search selects are visited from one snapshot, every step of the search: a user
/// renamed meanwhile to sort after the step being read was visited twice (a patch's dry run
/// counted 62,500 matches among 50,000 users while an upsert renamed half of them: bb64 F2).
#[test]
fn a_search_selection_visits_every_user_once_whatever_is_committed_meanwhile() {
    use custodian::store::Selection;
    let (_dir, _path, store) = empty_db();
    let users = 5_010; // more than one step of the search (5,000)
    let records: String = (0..users)
        .map(|n| format!("{{\"id\":\"p{n:05}\",\"username\":\"p{n:05}\",\"name\":\"Person {n}\"}}\n"))
        .collect();
    import_text(&store, &records, ImportMode::InsertOnly).expect("import");
    let mut visited = Vec::new();
    store
        .for_each_selected(&Selection::Search("person".into()), &mut |record, _| {
            if visited.is_empty() {
                // The first user visited is renamed to sort after every other.
                let rename = format!("{{\"id\":\"{}\",\"username\":\"zzzz\"}}\n", record.user.id);
                import_text(&store, &rename, ImportMode::Upsert).expect("renamed meanwhile");
            }
            visited.push(record.user.id.clone());
            Ok(())
        })
        .expect("visited");
    assert_eq!(visited.len(), users, "every user once");
    assert_eq!(visited.iter().collect::<std::collections::HashSet<_>>().len(), users);
    assert_eq!(
        store.user("p00000").expect("there").user.username.as_deref(),
        Some("zzzz"),
        "the rename is in"
    );
}

/// Reads pinned to one snapshot: a listing read a page at a time gives every user once, as
/// they were when it began, whatever is committed meanwhile (a rename moved a user from a page
/// not yet read to one already read: listed twice or not at all, bb42 F4).
#[test]
fn pinned_reads_list_every_user_once_as_they_were_whatever_is_committed_meanwhile() {
    let (_dir, _path, store) = empty_db();
    import_text(&store, PEOPLE, ImportMode::InsertOnly).expect("import");
    let before: Vec<String> =
        store.page_after(None, 10).expect("page").into_iter().map(|e| e.user.id).collect();
    store.pin_reads().expect("pin");
    let first = store.page_after(None, 2).expect("the first page");
    // The last user is renamed to sort first, and the first to sort last.
    let renames = r#"{"id":"u5","name":"000 first now"}
{"id":"u1","username":"zzz-last-now","name":"zzz last now"}
"#;
    import_text(&store, renames, ImportMode::Upsert).expect("renamed meanwhile");
    let rest = store.page_after(first.last().map(|e| &e.key), 10).expect("the rest");
    let listed: Vec<String> = first.iter().chain(&rest).map(|e| e.user.id.clone()).collect();
    assert_eq!(listed, before, "every user once, in the order they had");
    store.unpin_reads();
    let now: Vec<String> = store.page_after(None, 10).expect("page").into_iter().map(|e| e.user.id).collect();
    assert_ne!(now, before, "unpinned, reads see the renames");
}
