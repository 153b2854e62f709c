//! The journal of every save (`custodian changes`), at the store: each way a customData
//! revision is written leaves exactly one entry, in the same transaction; queries by time,
//! user, author and batch, through the `UserStore` trait on both stores (redb, and Logto's
//! PostgreSQL with custodian's schema); for a database file only, imports, the upgrade
//! that builds the journal for an older file from the history, and a read-only handle; and on
//! PostgreSQL only, a journal longer than the page of rows it is read in.

use std::path::Path;

use custodian::domain::import::ImportReader;
use custodian::domain::{CustomData, Limits};
use custodian::store::{
    Author, BatchEdit, BatchId, ImportMode, JournalEntry, JournalQuery, NewUser, OpenOptions,
    PostgresOptions, PostgresStore, RedbStore, SCHEMA_VERSION, Selection, StoreError, UserStore,
};
use support::postgres::LogtoDb;
use tempfile::TempDir;

mod support;

fn data(text: &str) -> CustomData {
    CustomData::parse(text).expect("test document is valid customData")
}

fn import(store: &RedbStore, text: &str, mode: ImportMode, who: &str) {
    let mut reader =
        ImportReader::new(text.as_bytes(), Limits::default(), 1_700_000_000_000).expect("readable");
    store.import(&mut reader, mode, &Author(who.into())).expect("import");
}

fn new_users(text: &str) -> Vec<NewUser> {
    ImportReader::new(text.as_bytes(), Limits::default(), 1_700_000_000_000)
        .expect("readable")
        .collect::<Result<Vec<_>, _>>()
        .expect("valid records")
}

fn empty_db() -> (TempDir, RedbStore) {
    let dir = TempDir::new().expect("temp dir");
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).expect("create");
    (dir, store)
}

fn journal(store: &dyn UserStore, query: &JournalQuery) -> Vec<JournalEntry> {
    let mut entries = Vec::new();
    store
        .journal(query, &mut |entry| {
            entries.push(entry.clone());
            Ok(true)
        })
        .expect("journal");
    entries
}

fn everything(store: &dyn UserStore) -> Vec<JournalEntry> {
    journal(store, &JournalQuery::default())
}

/// (user, revision, who) of each entry, newest first.
fn saves(entries: &[JournalEntry]) -> Vec<(String, u64, String)> {
    entries.iter().map(|e| (e.user_id.clone(), e.revision, e.saved_by.clone())).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn every_way_of_saving_customdata_leaves_one_journal_entry_with_its_keys() {
    let (_dir, store) = empty_db();
    // Import (insert): revision 1, every key added.
    import(
        &store,
        r#"{"id":"u1","username":"alice","customData":{"plan":"free","lang":"en"}}"#,
        ImportMode::InsertOnly,
        "importer",
    );
    // A save: one key changed, one removed, one added.
    let saved = store
        .replace_custom_data("u1", &data(r#"{"plan":"pro","beta":true}"#), Some(1), &Author("editor".into()))
        .expect("save");
    assert_eq!(saved.revision(), 2);
    // The same document again writes nothing, and journals nothing.
    store
        .replace_custom_data("u1", &data(r#"{"plan":"pro","beta":true}"#), None, &Author("editor".into()))
        .expect("same");
    // Restore: revision 1's document as revision 3.
    store.restore("u1", 1, Some(2), &Author("restorer".into())).expect("restore");
    // Import (upsert) of a changed document: revision 4; of the same one: nothing.
    import(&store, r#"{"id":"u1","customData":{"plan":"team","lang":"en"}}"#, ImportMode::Upsert, "upserter");
    import(&store, r#"{"id":"u1","customData":{"plan":"team","lang":"en"}}"#, ImportMode::Upsert, "upserter");
    // Bulk insert (seed) of a new user: revision 1.
    store
        .insert_batch(
            &new_users(r#"{"id":"u2","username":"bob","customData":{"x":1}}"#),
            &Author("seeder".into()),
        )
        .expect("seed");

    let entries = everything(&store);
    assert_eq!(
        saves(&entries),
        [
            ("u2".into(), 1, "seeder".into()),
            ("u1".into(), 4, "upserter".into()),
            ("u1".into(), 3, "restorer".into()),
            ("u1".into(), 2, "editor".into()),
            // The import into the empty file: a bulk load, one entry (of one user here).
            ("".into(), 1, "importer".into()),
        ],
        "newest first, one per revision"
    );
    let load = &entries[4];
    assert_eq!(load.load, Some(1));
    assert!(load.batch.as_ref().is_some_and(BatchId::is_load), "{load:?}");
    // Asked for by user, the load's part in u1 is u1's revision 1.
    let entries = journal(&store, &JournalQuery { user_id: Some("u1".into()), ..JournalQuery::default() });
    let by_revision = |revision| {
        entries.iter().find(|e| e.user_id == "u1" && e.revision == revision).cloned().expect("entry")
    };
    let first = by_revision(1);
    assert_eq!(
        (first.added.clone(), first.removed, first.changed),
        (strings(&["plan", "lang"]), vec![], vec![])
    );
    let second = by_revision(2);
    assert_eq!(
        (second.added, second.removed, second.changed),
        (strings(&["beta"]), strings(&["lang"]), strings(&["plan"]))
    );
    assert_eq!(second.size, r#"{"plan":"pro","beta":true}"#.len());
    let restored = by_revision(3);
    assert_eq!(
        (restored.added, restored.removed, restored.changed),
        (strings(&["lang"]), strings(&["beta"]), strings(&["plan"]))
    );
    let upserted = by_revision(4);
    assert_eq!((upserted.added, upserted.removed, upserted.changed), (vec![], vec![], strings(&["plan"])));
    assert!(entries.iter().filter(|e| e.revision > 1).all(|e| e.batch.is_none() && e.load.is_none()));
    assert_eq!((first.batch.as_ref(), first.load), (load.batch.as_ref(), Some(1)));
    // Every entry agrees with the history: the same time, author and size.
    for info in store.history("u1").expect("history") {
        let entry = by_revision(info.revision);
        assert_eq!(
            (entry.saved_at, entry.saved_by.as_str(), entry.size),
            (info.saved_at, info.saved_by.as_str(), info.size)
        );
    }
}

#[test]
fn numbers_spelled_with_an_exponent_that_a_save_keeps_are_not_journaled_as_changed() {
    // The stored text was read back with serde_json's spelling (1E5 → 1e+5) and compared with
    // the saved document's own: every save over such a document journaled `e` as changed.
    let (_dir, store) = empty_db();
    import(
        &store,
        r#"{"id":"u1","username":"alice","customData":{"e":1E5,"f":1.50,"g":1e400,"h":-0.0e0,"i":1.0e5}}"#,
        ImportMode::InsertOnly,
        "importer",
    );
    store
        .replace_custom_data(
            "u1",
            &data(r#"{"e":1E5,"f":1.50,"g":1e400,"h":-0.0e0,"i":2.0e5,"x":1}"#),
            Some(1),
            &Author("editor".into()),
        )
        .expect("save");
    let entries = everything(&store);
    let newest = &entries[0];
    assert_eq!(newest.revision, 2);
    assert_eq!(keys(newest), (strings(&["x"]), Vec::new(), strings(&["i"])));
}

#[test]
fn a_refused_import_journals_nothing() {
    let (_dir, store) = empty_db();
    import(&store, r#"{"id":"u1","customData":{"a":1}}"#, ImportMode::InsertOnly, "importer");
    let text = "{\"id\":\"u2\",\"customData\":{\"b\":1}}\n{\"id\":\"u1\"}";
    let mut reader = ImportReader::new(text.as_bytes(), Limits::default(), 0).expect("readable");
    assert!(store.import(&mut reader, ImportMode::InsertOnly, &Author("importer".into())).is_err());
    let entries = everything(&store);
    assert_eq!(saves(&entries), [("".into(), 1, "importer".into())], "the first import's load only");
    assert_eq!(entries[0].load, Some(1));
}

/// Users in a store on either backend, and who the journal says made their first revision:
/// the importer on redb; on PostgreSQL, where Logto creates users, custodian finds their first
/// document when it first saves over it and keeps it as `outside custodian`.
struct Fixture {
    store: Box<dyn UserStore>,
    created_by: &'static str,
    /// The entries the users' first revisions are in the whole journal: one bulk load on
    /// redb (an import into an empty file); one per user on PostgreSQL.
    first_revisions: usize,
    _keep: (Option<TempDir>, Option<LogtoDb>),
}

impl Fixture {
    fn redb(users: &str) -> Self {
        let (dir, store) = empty_db();
        let lines: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(users)
            .expect("users")
            .iter()
            .map(ToString::to_string)
            .collect();
        import(&store, &lines.join("\n"), ImportMode::InsertOnly, "importer");
        Self { store: Box::new(store), created_by: "importer", first_revisions: 1, _keep: (Some(dir), None) }
    }

    fn postgres(users: &str) -> Self {
        let db = LogtoDb::new();
        db.init_custodian();
        db.insert_json("default", users);
        let store =
            PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
        let first_revisions = serde_json::from_str::<Vec<serde_json::Value>>(users).expect("users").len();
        Self {
            store: Box::new(store),
            created_by: "outside custodian",
            first_revisions,
            _keep: (None, Some(db)),
        }
    }

    fn store(&self) -> &dyn UserStore {
        self.store.as_ref()
    }
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

/// The keys of an entry, each list sorted (jsonb keeps keys in an order of its own).
fn keys(entry: &JournalEntry) -> (Vec<String>, Vec<String>, Vec<String>) {
    (sorted(entry.added.clone()), sorted(entry.removed.clone()), sorted(entry.changed.clone()))
}

fn a_save_a_restore_and_a_batch_each_leave_one_entry_with_their_keys(f: &Fixture) {
    let store = f.store();
    store
        .replace_custom_data("u1", &data(r#"{"plan":"pro","beta":true}"#), None, &Author("editor".into()))
        .expect("save");
    // The same document again writes nothing, and journals nothing.
    store
        .replace_custom_data("u1", &data(r#"{"plan":"pro","beta":true}"#), None, &Author("editor".into()))
        .expect("same");
    store.restore("u1", 1, Some(2), &Author("restorer".into())).expect("restore");
    let batch = BatchId::new();
    let mut add_flag = |_: &custodian::store::UserRecord, text: &str| {
        let mut object = custodian::domain::custom_data::parse_object(text).expect("stored");
        object.insert("flag".into(), true.into());
        Ok(BatchEdit::Replace(custodian::domain::CustomData::from_object(object)))
    };
    store
        .edit_batch(
            &batch,
            &Selection::Ids(vec!["u1".into()].into()),
            &mut add_flag,
            &Author("patcher".into()),
        )
        .expect("batch");

    let entries = journal(store, &JournalQuery { user_id: Some("u1".into()), ..JournalQuery::default() });
    assert_eq!(
        saves(&entries),
        [
            ("u1".into(), 4, "patcher".into()),
            ("u1".into(), 3, "restorer".into()),
            ("u1".into(), 2, "editor".into()),
            ("u1".into(), 1, f.created_by.into()),
        ],
        "newest first, one per revision"
    );
    let none: Vec<String> = Vec::new();
    assert_eq!(keys(&entries[3]), (strings(&["lang", "plan"]), none.clone(), none.clone()));
    assert_eq!(keys(&entries[2]), (strings(&["beta"]), strings(&["lang"]), strings(&["plan"])));
    assert_eq!(keys(&entries[1]), (strings(&["lang"]), strings(&["beta"]), strings(&["plan"])));
    assert_eq!(keys(&entries[0]), (strings(&["flag"]), none.clone(), none));
    assert_eq!(entries[0].batch.as_ref(), Some(&batch));
    assert!(entries[1..3].iter().all(|e| e.batch.is_none()));
    // Revision 1: by the bulk load on redb (its id as the batch), found outside custodian on
    // PostgreSQL (no batch).
    assert_eq!(entries[3].batch.is_some(), f.created_by == "importer", "{:?}", entries[3]);
    let by_batch = journal(store, &JournalQuery { batch: Some(batch), ..JournalQuery::default() });
    assert_eq!(saves(&by_batch), saves(&entries[..1]));
    // Every entry agrees with the history: the same time, author and size.
    for info in store.history("u1").expect("history") {
        let entry = entries.iter().find(|e| e.revision == info.revision).expect("an entry per revision");
        assert_eq!(
            (entry.saved_at, entry.saved_by.as_str(), entry.size),
            (info.saved_at, info.saved_by.as_str(), info.size)
        );
    }
}

fn a_save_refused_as_a_conflict_journals_nothing(f: &Fixture) {
    let store = f.store();
    store.replace_custom_data("u1", &data(r#"{"a":1}"#), None, &Author("editor".into())).expect("save");
    let before = everything(store);
    let stale = store.replace_custom_data("u1", &data(r#"{"a":2}"#), Some(1), &Author("late".into()));
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "{stale:?}");
    assert_eq!(everything(store), before);
}

const ONE_USER: &str = r#"[{"id":"u1","username":"alice","customData":{"plan":"free","lang":"en"}}]"#;
const THREE_USERS: &str = r#"[{"id":"u1","username":"alice"},{"id":"u2","username":"bob"},{"id":"u3"}]"#;

/// Three users, each saved by an operator over SSH, then three saves by a second operator
/// with a gap in time between them.
fn journaled(f: &Fixture) {
    let store = f.store();
    for id in ["u1", "u2", "u3"] {
        store
            .replace_custom_data(id, &data(r#"{"n":0}"#), None, &Author("ops via 203.0.113.9".into()))
            .expect("save");
    }
    for (id, n) in [("u1", 1), ("u2", 1), ("u1", 2)] {
        std::thread::sleep(std::time::Duration::from_millis(3));
        store
            .replace_custom_data(id, &data(&format!(r#"{{"n":{n}}}"#)), None, &Author("carol".into()))
            .expect("save");
    }
}

fn the_journal_is_narrowed_by_time_user_and_author(f: &Fixture) {
    journaled(f);
    let store = f.store();
    let all = everything(store);
    let first = f.first_revisions;
    assert_eq!(all.len(), first + 6, "the first revisions, three saves over SSH, three by carol");
    assert!(all.windows(2).all(|w| w[0].saved_at >= w[1].saved_at), "newest first");
    let newest = all[0].saved_at;
    let since = journal(store, &JournalQuery { since: Some(newest), ..JournalQuery::default() });
    assert_eq!(saves(&since), [("u1".into(), 4, "carol".into())]);
    let until = journal(store, &JournalQuery { until: Some(all[2].saved_at), ..JournalQuery::default() });
    assert_eq!(until.len(), first + 3, "everything before carol's first save");
    let user = journal(store, &JournalQuery { user_id: Some("u1".into()), ..JournalQuery::default() });
    assert_eq!(saves(&user).iter().map(|s| s.1).collect::<Vec<_>>(), [4, 3, 2, 1]);
    let user_since = journal(
        store,
        &JournalQuery { user_id: Some("u1".into()), since: Some(all[2].saved_at), ..JournalQuery::default() },
    );
    assert_eq!(user_since.iter().map(|e| e.revision).collect::<Vec<_>>(), [4, 3]);
    let by =
        journal(store, &JournalQuery { saved_by: Some("203.0.113.9".into()), ..JournalQuery::default() });
    assert_eq!(by.len(), 3);
    let nobody = journal(store, &JournalQuery { user_id: Some("ghost".into()), ..JournalQuery::default() });
    assert!(nobody.is_empty());
    let batch =
        journal(store, &JournalQuery { batch: Some(BatchId("b1".into())), ..JournalQuery::default() });
    assert!(batch.is_empty(), "no batch was saved");
    // Pages, newest first: each starts before the last entry of the one before.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let mut page = Vec::new();
        store
            .journal(&JournalQuery { before, ..JournalQuery::default() }, &mut |entry| {
                page.push(entry.clone());
                Ok(page.len() < 4)
            })
            .expect("page");
        let Some(last) = page.last() else { break };
        before = Some(last.position());
        paged.extend(page);
    }
    assert_eq!(paged, all, "paging by position gives every entry once, in order");
    let mut user_pages = journal(
        store,
        &JournalQuery {
            user_id: Some("u1".into()),
            before: Some(all[1].position()),
            ..JournalQuery::default()
        },
    );
    user_pages.retain(|e| e.revision == 4);
    assert!(user_pages.is_empty(), "the user's newest save is not before the second newest entry");
    // The visitor stops the read when it has enough.
    let mut seen = 0;
    store
        .journal(&JournalQuery::default(), &mut |_| {
            seen += 1;
            Ok(seen < 2)
        })
        .expect("journal");
    assert_eq!(seen, 2);
}

macro_rules! both_backends {
    ($($users:ident => $body:ident),* $(,)?) => {
        mod redb {
            $(#[test] fn $body() { super::$body(&super::Fixture::redb(super::$users)) })*
        }
        mod postgres {
            $(#[test] fn $body() { super::$body(&super::Fixture::postgres(super::$users)) })*
        }
    };
}

both_backends!(
    ONE_USER => a_save_a_restore_and_a_batch_each_leave_one_entry_with_their_keys,
    ONE_USER => a_save_refused_as_a_conflict_journals_nothing,
    THREE_USERS => the_journal_is_narrowed_by_time_user_and_author,
);

// ---- database files only ----

/// Three users saved by two operators, with a gap in time between the saves. Imported one
/// by one (an upsert: no bulk load), so each user's revision 1 has its own entry, as every
/// file of a layout before 8 has.
fn journaled_db() -> (TempDir, RedbStore) {
    let (dir, store) = empty_db();
    import(
        &store,
        "{\"id\":\"u1\",\"username\":\"alice\"}\n{\"id\":\"u2\",\"username\":\"bob\"}\n{\"id\":\"u3\"}",
        ImportMode::Upsert,
        "ops via 203.0.113.9",
    );
    for (id, n) in [("u1", 1), ("u2", 1), ("u1", 2)] {
        std::thread::sleep(std::time::Duration::from_millis(3));
        store
            .replace_custom_data(id, &data(&format!(r#"{{"n":{n}}}"#)), None, &Author("carol".into()))
            .expect("save");
    }
    (dir, store)
}

/// Turns a file back into layout 4 as the build before the journal left it: no journal
/// tables, version 4.
fn back_to_layout_4(path: &Path) {
    let mut builder = ::redb::Builder::new();
    builder.set_concurrency_mode(::redb::ConcurrencyMode::MultiWriter);
    let db = builder.open(path).expect("open with redb");
    let tx = db.begin_write().expect("write");
    assert!(
        tx.delete_table(::redb::TableDefinition::<(i64, u64), (&str, u64, &str, u64, &str, &str)>::new(
            "journal"
        ))
        .expect("delete")
    );
    assert!(
        tx.delete_table(::redb::TableDefinition::<(&str, u64), (i64, u64)>::new("journal_by_user"))
            .expect("delete")
    );
    tx.delete_table(::redb::TableDefinition::<(&str, i64, u64), ()>::new("journal_by_batch"))
        .expect("delete");
    tx.delete_table(::redb::TableDefinition::<(), u64>::new("journal_sequence")).expect("delete");
    tx.delete_table(LOADS).expect("delete");
    tx.open_table(::redb::TableDefinition::<&str, u64>::new("meta"))
        .expect("meta")
        .insert("schema_version", 4)
        .expect("version");
    drop(tx.commit());
}

#[test]
fn opening_an_older_file_builds_the_journal_from_the_history_and_says_so() {
    let (dir, store) = journaled_db();
    import(&store, r#"{"id":"u3","customData":{"k":[1]}}"#, ImportMode::Upsert, "upserter");
    let before = everything(&store);
    let path = store.path().to_owned();
    drop(store);
    back_to_layout_4(&path);

    // Read-only, there is no journal yet: one clear error, nothing changed.
    let read_only =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(read_only.needs_upgrade());
    let error = read_only.journal(&JournalQuery::default(), &mut |_| Ok(true)).expect_err("no journal yet");
    assert!(error.to_string().contains("no journal yet"), "{error}");
    drop(read_only);

    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let notes = store.upgrade_notes().join("\n");
    assert!(notes.contains("started the journal") && notes.contains("7 saves"), "{notes}");
    let without_place = |entries: Vec<JournalEntry>| -> Vec<JournalEntry> {
        entries.into_iter().map(|e| JournalEntry { sequence: 0, ..e }).collect()
    };
    assert_eq!(
        without_place(everything(&store)),
        without_place(before),
        "the same entries as the saves made"
    );
    // New saves go on after the built ones.
    store.replace_custom_data("u2", &data(r#"{"n":9}"#), None, &Author("later".into())).expect("save");
    assert_eq!(saves(&everything(&store)[..1]), [("u2".into(), 3, "later".into())]);
    drop(dir);
}

/// The journal built for an older file gives a user's revision 1 every key of its document
/// as added, and a revision whose predecessor's history is gone no keys: they are not known.
#[test]
fn a_built_journal_adds_every_key_at_revision_1_and_none_where_the_history_before_is_gone() {
    let (dir, store) = empty_db();
    import(
        &store,
        "{\"id\":\"u1\",\"customData\":{\"a\":1,\"b\":2}}\n{\"id\":\"u2\",\"customData\":{\"c\":3}}",
        ImportMode::Upsert,
        "importer",
    );
    for id in ["u1", "u2"] {
        store.replace_custom_data(id, &data(r#"{"a":5,"d":4}"#), None, &Author("e".into())).expect("save");
    }
    let path = store.path().to_owned();
    drop(store);
    back_to_layout_4(&path);
    {
        let db = ::redb::Database::open(&path).expect("open with redb");
        let tx = db.begin_write().expect("write");
        tx.open_table(::redb::TableDefinition::<(&str, u64), (i64, &str, &str)>::new("history"))
            .expect("history")
            .remove(("u2", 1))
            .expect("remove");
        tx.commit().expect("commit");
    }
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    let of =
        |id: &str| journal(&store, &JournalQuery { user_id: Some(id.into()), ..JournalQuery::default() });
    let u1 = of("u1");
    assert_eq!(u1.iter().map(|e| e.revision).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(keys(&u1[1]), (strings(&["a", "b"]), vec![], vec![]));
    assert_eq!(keys(&u1[0]), (strings(&["d"]), strings(&["b"]), strings(&["a"])));
    let u2 = of("u2");
    assert_eq!(u2.iter().map(|e| e.revision).collect::<Vec<_>>(), [2]);
    assert_eq!(keys(&u2[0]), (vec![], vec![], vec![]));
    drop(dir);
}

#[test]
fn a_read_only_handle_reads_the_journal() {
    let (_dir, store) = journaled_db();
    let path = store.path().to_owned();
    drop(store);
    let read_only =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert_eq!(everything(&read_only).len(), 6);
    assert!(matches!(
        read_only.replace_custom_data("u1", &data("{}"), None, &Author("x".into())),
        Err(StoreError::ReadOnly)
    ));
}

/// The table a layout-8 file keeps its bulk loads in (journal key → users), as redb names it.
const LOADS: ::redb::TableDefinition<(i64, u64), u64> = ::redb::TableDefinition::new("journal_loads");

const LOADED: &str = concat!(
    "{\"id\":\"u1\",\"username\":\"alice\",\"customData\":{\"plan\":\"free\"}}\n",
    "{\"id\":\"u2\",\"username\":\"bob\",\"customData\":{\"plan\":\"pro\",\"lang\":\"en\"}}\n",
    "{\"id\":\"u3\"}"
);

#[test]
fn an_import_into_an_empty_file_is_one_journal_entry_that_each_loaded_user_finds() {
    let (_dir, store) = empty_db();
    import(&store, LOADED, ImportMode::InsertOnly, "importer");
    let entries = everything(&store);
    assert_eq!(entries.len(), 1, "one entry for the whole load: {entries:?}");
    let load = entries[0].clone();
    assert!(load.is_load() && load.user_id.is_empty(), "{load:?}");
    assert_eq!((load.load, load.revision, load.saved_by.as_str()), (Some(3), 1, "importer"));
    let documents = [r#"{"plan":"free"}"#, r#"{"lang":"en","plan":"pro"}"#, "{}"];
    assert_eq!(load.size, documents.iter().map(|d| d.len()).sum::<usize>(), "the bytes of every document");
    assert!(load.added.is_empty() && load.key_summary() == "load of 3 new users", "{}", load.key_summary());
    let id = load.batch.clone().expect("a load id");
    assert!(id.is_load() && id.0.starts_with('l'), "{id}");

    // By user: each loaded user's revision 1, at the load's place, with its id and keys.
    let bob = journal(&store, &JournalQuery { user_id: Some("u2".into()), ..JournalQuery::default() });
    assert_eq!(saves(&bob), [("u2".into(), 1, "importer".into())]);
    assert_eq!(
        (bob[0].position(), bob[0].batch.as_ref(), bob[0].load, bob[0].size),
        (load.position(), Some(&id), Some(3), documents[1].len())
    );
    assert_eq!(keys(&bob[0]), (strings(&["lang", "plan"]), vec![], vec![]));
    let nobody = journal(&store, &JournalQuery { user_id: Some("ghost".into()), ..JournalQuery::default() });
    assert!(nobody.is_empty());
    // By the load's id: the load; with a user too, that user's part.
    let by_batch = journal(&store, &JournalQuery { batch: Some(id.clone()), ..JournalQuery::default() });
    assert_eq!(by_batch, std::slice::from_ref(&load));
    let both = journal(
        &store,
        &JournalQuery { batch: Some(id.clone()), user_id: Some("u3".into()), ..JournalQuery::default() },
    );
    assert_eq!(saves(&both), [("u3".into(), 1, "importer".into())]);
    let other_batch = journal(
        &store,
        &JournalQuery { batch: Some(BatchId::new()), user_id: Some("u3".into()), ..JournalQuery::default() },
    );
    assert!(other_batch.is_empty());
    // Time and author bounds narrow a loaded user's part as any entry.
    let later =
        JournalQuery { user_id: Some("u2".into()), since: Some(load.saved_at + 1), ..Default::default() };
    assert!(journal(&store, &later).is_empty());
    let by_other =
        JournalQuery { user_id: Some("u2".into()), saved_by: Some("carol".into()), ..Default::default() };
    assert!(journal(&store, &by_other).is_empty());

    // A later save of a loaded user is an entry of its own; the user still finds the load.
    std::thread::sleep(std::time::Duration::from_millis(2));
    store
        .replace_custom_data("u2", &data(r#"{"plan":"team"}"#), None, &Author("carol".into()))
        .expect("save");
    let entries = everything(&store);
    assert_eq!(saves(&entries), [("u2".into(), 2, "carol".into()), ("".into(), 1, "importer".into())]);
    assert_eq!((entries[0].batch.as_ref(), entries[0].load), (None, None));
    let bob = journal(&store, &JournalQuery { user_id: Some("u2".into()), ..JournalQuery::default() });
    assert_eq!(saves(&bob), [("u2".into(), 2, "carol".into()), ("u2".into(), 1, "importer".into())]);
    assert_eq!(bob[1].batch.as_ref(), Some(&id), "revision 1, now in the history, still names the load");
    // Each agrees with the history: the same time, author and size.
    for info in store.history("u2").expect("history") {
        let entry = bob.iter().find(|e| e.revision == info.revision).expect("an entry per revision");
        assert_eq!(
            (entry.saved_at, entry.saved_by.as_str(), entry.size),
            (info.saved_at, info.saved_by.as_str(), info.size)
        );
    }
    // Paging from the newest entry reaches the load.
    let page = journal(&store, &JournalQuery { before: Some(entries[0].position()), ..Default::default() });
    assert_eq!(page, [load]);
}

#[test]
fn a_seed_of_20000_users_is_one_journal_entry_and_the_journal_costs_under_a_byte_a_user() {
    const USERS: usize = 20_000;
    let (dir, store) = empty_db();
    let text: String = (0..USERS)
        .map(|i| format!("{{\"id\":\"u{i:06}\",\"username\":\"user{i}\",\"customData\":{{\"plan\":\"free\",\"n\":{i}}}}}\n"))
        .collect();
    let seeded = store.insert_batch(&new_users(&text), &Author("seeder".into())).expect("seed");
    assert_eq!(seeded, USERS as u64);
    let entries = everything(&store);
    assert_eq!(saves(&entries), [("".into(), 1, "seeder".into())]);
    assert_eq!(entries[0].load, Some(USERS as u64));
    let one = journal(&store, &JournalQuery { user_id: Some("u012345".into()), ..JournalQuery::default() });
    assert_eq!(saves(&one), [("u012345".into(), 1, "seeder".into())]);
    let path = store.path().to_owned();
    drop(store);

    // The journal's tables, in redb's own count (one row per user was ~196 B a user).
    use ::redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};
    let db = ::redb::Builder::new()
        .set_concurrency_mode(::redb::ConcurrencyMode::MultiWriter)
        .open_read_only(&path)
        .expect("open with redb");
    let tx = db.begin_read().expect("read");
    let mut journal_bytes = 0;
    for handle in tx.list_tables().expect("tables") {
        if handle.name().starts_with("journal") {
            let stats = tx.open_untyped_table(handle).expect("table").stats().expect("stats");
            journal_bytes += (stats.leaf_pages() + stats.branch_pages()) * 4096;
        }
    }
    assert!(
        journal_bytes < USERS as u64,
        "the journal takes {journal_bytes} B for {USERS} users: more than a byte a user"
    );
    drop(dir);
}

#[test]
fn a_file_of_layout_7_reads_its_journal_read_only_and_opens_as_layout_8() {
    let (dir, store) = journaled_db();
    let before = everything(&store);
    let path = store.path().to_owned();
    drop(store);
    {
        let db = ::redb::Builder::new()
            .set_concurrency_mode(::redb::ConcurrencyMode::MultiWriter)
            .open(&path)
            .expect("open with redb");
        let tx = db.begin_write().expect("write");
        assert!(tx.delete_table(LOADS).expect("delete"), "a layout-8 file has the table");
        tx.open_table(::redb::TableDefinition::<&str, u64>::new("meta"))
            .expect("meta")
            .insert("schema_version", 7)
            .expect("version");
        tx.commit().expect("commit");
    }
    let read_only =
        RedbStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).expect("open");
    assert!(read_only.needs_upgrade());
    assert_eq!(everything(&read_only), before);
    let user = journal(&read_only, &JournalQuery { user_id: Some("u3".into()), ..JournalQuery::default() });
    assert_eq!(saves(&user), [("u3".into(), 1, "ops via 203.0.113.9".into())]);
    drop(read_only);
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open read-write upgrades");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(everything(&store), before, "the rows of every user kept as they were");
    drop(dir);
}

/// `changes` shows a bulk load's id where a batch's goes; an undo of it is refused with what
/// it is and how many users it made, and an id that names nothing is no batch.
#[test]
fn undoing_a_bulk_load_is_refused_naming_the_users_it_made() {
    let (_dir, store) = empty_db();
    import(&store, LOADED, ImportMode::InsertOnly, "importer");
    let load = everything(&store)[0].batch.clone().expect("a load id");
    let undoer = Author("undoer".into());
    match store.undo_batch(&load, &BatchId::new(), &undoer) {
        Err(StoreError::LoadNotUndoable { load: named, users }) => assert_eq!((named, users), (load.0, 3)),
        other => panic!("{other:?}"),
    }
    let unknown = store.undo_batch(&BatchId::new(), &BatchId::new(), &undoer);
    assert!(matches!(unknown, Err(StoreError::BatchNotFound(_))), "{unknown:?}");
}

/// Each row takes the next sequence number, across transactions and a reopening too: saves
/// in one millisecond from two transactions would otherwise share a key, the later row taking
/// the earlier's place.
#[test]
fn every_save_takes_a_higher_sequence_number_than_the_rows_before_it() {
    let (dir, store) = empty_db();
    import(&store, LOADED, ImportMode::InsertOnly, "importer");
    let editor = Author("editor".into());
    for n in 0..3 {
        store.replace_custom_data("u1", &data(&format!(r#"{{"n":{n}}}"#)), None, &editor).expect("save");
    }
    drop(store);
    let store = RedbStore::open(&dir.path().join("users.redb"), OpenOptions::default()).expect("reopen");
    store.replace_custom_data("u2", &data(r#"{"n":9}"#), None, &editor).expect("save");
    let entries = everything(&store);
    assert_eq!(entries.len(), 5, "the load and four saves: {entries:?}");
    let sequences: Vec<u64> = entries.iter().rev().map(|e| e.sequence).collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "{sequences:?}");
}

/// Read through the user index, only the query's own bounds end the entries: `until` and a
/// page's `before` leave out an entry exactly at them, as the time range does.
#[test]
fn a_users_entries_end_just_before_until_and_before_the_pages_position() {
    let (_dir, store) = empty_db();
    import(&store, LOADED, ImportMode::InsertOnly, "importer");
    for n in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(2));
        store
            .replace_custom_data("u1", &data(&format!(r#"{{"n":{n}}}"#)), None, &Author("e".into()))
            .expect("save");
    }
    let by_user =
        |query: JournalQuery| journal(&store, &JournalQuery { user_id: Some("u1".into()), ..query });
    let all = by_user(JournalQuery::default());
    assert_eq!(all.iter().map(|e| e.revision).collect::<Vec<_>>(), [3, 2, 1]);
    let newest = &all[0];
    assert!(newest.saved_at > all[1].saved_at);
    let until = by_user(JournalQuery { until: Some(newest.saved_at), ..JournalQuery::default() });
    assert_eq!(until, all[1..]);
    let page = by_user(JournalQuery { before: Some(newest.position()), ..JournalQuery::default() });
    assert_eq!(page, all[1..]);
}

// ---- PostgreSQL only ----

/// PostgreSQL's journal is read 500 rows at a time, each page from where the last ended: a
/// batch over 600 users (each one's document found written outside custodian kept as
/// revision 1 first, then the batch's save: 1,200 rows, many of one millisecond) is read
/// whole, each entry once, newest first, and so are the batch's own 600.
#[test]
fn the_journal_on_postgres_goes_on_past_a_page_of_rows_each_entry_once() {
    let db = LogtoDb::new();
    db.init_custodian();
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, created_at, updated_at) \
             select 'default', 'p' || lpad(i::text, 4, '0'), 'user' || i, now(), now() \
             from generate_series(1, 600) i",
            &[],
        )
        .expect("insert 600 users");
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
    let batch = BatchId::new();
    let mut add_flag =
        |_: &custodian::store::UserRecord, _: &str| Ok(BatchEdit::Replace(data(r#"{"flag":true}"#)));
    store.edit_batch(&batch, &Selection::All, &mut add_flag, &Author("patcher".into())).expect("batch");

    let entries = everything(&store);
    assert_eq!(entries.len(), 1200, "600 kept and 600 saved");
    assert!(entries.windows(2).all(|w| w[0].position() > w[1].position()), "newest first, none twice");
    let mut revisions: Vec<(String, u64)> = entries.iter().map(|e| (e.user_id.clone(), e.revision)).collect();
    revisions.sort();
    revisions.dedup();
    assert_eq!(revisions.len(), 1200, "every user's revisions 1 and 2 once each");
    let by_batch = journal(&store, &JournalQuery { batch: Some(batch), ..JournalQuery::default() });
    assert_eq!(by_batch.len(), 600);
    assert!(by_batch.iter().all(|e| e.revision == 2 && e.added == ["flag"]), "{:?}", by_batch.first());
}
