//! One store conformance suite: the same test bodies run against redb and against
//! PostgreSQL (Logto's own schema, made by Logto's CLI), through the `UserStore` trait only.
//! Below them, the tests that only PostgreSQL has: row-level security between tenants,
//! writes made outside custodian, jsonb's facts, secrets that must never be selected, and
//! custodian's own schema.

mod support;

use std::collections::BTreeSet;

use custodian::domain::import::ImportReader;
use custodian::domain::{CustomData, Limits};
use custodian::store::{
    Author, BatchEdit, BatchId, ImportMode, JournalQuery, KeyOrder, ListEntry, ListKey, OpenOptions,
    PostgresOptions, PostgresStore, RedbStore, SaveOutcome, Seek, Selection, StoreError, UserCount,
    UserField, UserMatch, UserRecord, UserRef, UserStore,
};
use serde_json::Value;
use support::postgres::{
    LOGTO_CONFIG_SECRET, LogtoDb, LogtoUser, PASSWORD_HASH, SECRET_COLUMNS, TOTP_SECRET,
};
use tempfile::TempDir;

/// Users covering every kind of handle (username, email only, phone only, id only), mixed
/// case, and enough of them to page through; u5's username is u4's id (an ambiguous bare
/// reference), u3's name has the Kelvin sign and u5's has quotes (the filter's rule).
const PEOPLE: &str = r#"[
{"id":"u1","username":"Alice","primaryEmail":"alice@example.com","name":"Alice Liddell","customData":{"theme":"dark","lang":"en"}},
{"id":"u2","username":"bob","primaryEmail":"Bob@Example.org","primaryPhone":"15551234567","name":"Bob Builder","customData":{}},
{"id":"u3","primaryEmail":"carol@example.net","name":"Carol \u212Aing","customData":{"a":1}},
{"id":"u4","primaryPhone":"4930123456","name":"Dieter Fernsprecher"},
{"id":"u5","username":"u4","name":"Nobody \"Nemo\" Known"},
{"id":"u6","username":"alice2","customData":{"plan":"gold","note":"needle-in-data"}},
{"id":"u7","username":"ALICE3","name":"Third Alice"},
{"id":"u8","username":"zed","primaryEmail":"zed@example.com"},
{"id":"u9","username":"Émile","name":"Émile Zola"},
{"id":"ua","username":"_under","customData":{"k":"v"}},
{"id":"ub","primaryEmail":"bob@example.com"},
{"id":"uc","username":"mallory","customData":{"tier":2}}
]"#;

fn author() -> Author {
    Author("editor".into())
}

fn data(text: &str) -> CustomData {
    CustomData::parse(text).expect("valid test document")
}

/// A store with [`PEOPLE`] in it, on either backend, and what keeps it alive.
struct Fixture {
    store: Box<dyn UserStore>,
    backend: Backend,
}

enum Backend {
    Redb { dir: TempDir },
    Postgres { _db: LogtoDb, url: String, key_table: bool },
}

impl Fixture {
    fn redb() -> Self {
        let dir = TempDir::new().expect("temp dir");
        let store =
            RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).expect("create");
        let mut reader =
            ImportReader::new(PEOPLE.as_bytes(), Limits::default(), 1_700_000_000_000).expect("readable");
        store.import(&mut reader, ImportMode::InsertOnly, &Author("importer".into())).expect("import");
        Self { store: Box::new(store), backend: Backend::Redb { dir } }
    }

    /// Logto's database with custodian's schema, the users in tenant `default`, opened as
    /// the tenant's own role.
    fn postgres() -> Self {
        let db = LogtoDb::new();
        db.init_custodian();
        db.insert_json("default", PEOPLE);
        let url = db.tenant_url("default");
        let store =
            PostgresStore::connect(&url, &PostgresOptions::default()).expect("connect as the tenant role");
        assert!(!store.uses_key_table(), "the exact path unless asked");
        Self { store: Box::new(store), backend: Backend::Postgres { _db: db, url, key_table: false } }
    }

    /// As [`Fixture::postgres`], opened as the screen opens it: the list, prefixes and scan
    /// read custodian's key table, synced after the users were inserted.
    fn postgres_key_table() -> Self {
        let db = LogtoDb::new();
        db.init_custodian();
        db.insert_json("default", PEOPLE);
        let url = db.tenant_url("default");
        let store = PostgresStore::connect(&url, &key_table_options("default")).expect("connect");
        assert!(store.uses_key_table(), "a session that may write, after init");
        assert!(store.sync_keys().expect("sync"), "the users inserted after init are new keys");
        Self { store: Box::new(store), backend: Backend::Postgres { _db: db, url, key_table: true } }
    }

    fn store(&self) -> &dyn UserStore {
        self.store.as_ref()
    }

    /// The same database opened again, read-only.
    fn read_only(&mut self) -> Box<dyn UserStore> {
        match &self.backend {
            Backend::Redb { dir } => {
                // redb lets one process hold a file once: give it up first.
                self.store = Box::new(NoStore);
                let options = OpenOptions { read_only: true, ..OpenOptions::default() };
                Box::new(RedbStore::open(&dir.path().join("users.redb"), options).expect("open read-only"))
            }
            Backend::Postgres { url, key_table, .. } => {
                let options = PostgresOptions {
                    read_only: true,
                    use_key_table: *key_table,
                    ..PostgresOptions::default()
                };
                let store = PostgresStore::connect(url, &options).expect("connect read-only");
                // A read-only session cannot sync, so it never reads keys that may lag.
                assert!(!store.uses_key_table());
                Box::new(store)
            }
        }
    }
}

/// Stands in for a store given up (see [`Fixture::read_only`]).
struct NoStore;

impl UserStore for NoStore {
    fn is_read_only(&self) -> bool {
        true
    }
    fn count(&self) -> Result<u64, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn rows(&self, _: &Seek, _: usize) -> Result<Vec<ListEntry>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn prefix_matches(&self, _: &str, _: usize) -> Result<Vec<ListEntry>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn scan_matches(
        &self,
        _: &str,
        _: Option<&ListKey>,
        _: usize,
        _: usize,
    ) -> Result<custodian::store::ScanStep, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn lookup(&self, _: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn user(&self, _: &str) -> Result<custodian::store::UserRecord, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn entry(&self, _: &str) -> Result<ListEntry, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn custom_data(&self, _: &str) -> Result<custodian::store::StoredDocument, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn replace_custom_data(
        &self,
        _: &str,
        _: &CustomData,
        _: Option<u64>,
        _: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn history(&self, _: &str) -> Result<Vec<custodian::store::RevisionInfo>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn revision_text(&self, _: &str, _: u64) -> Result<String, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn import(
        &self,
        _: &mut dyn Iterator<Item = Result<custodian::store::NewUser, custodian::store::RecordError>>,
        _: ImportMode,
        _: &Author,
    ) -> Result<custodian::store::ImportSummary, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn for_each_user(
        &self,
        _: &mut dyn FnMut(&custodian::store::UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn schema(&self) -> Result<Option<custodian::store::StoredSchema>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn set_schema(&self, _: Option<&str>, _: &Author) -> Result<(u64, bool), StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn hold_writes_to_schema(&self, _: Option<u64>) {}
    fn schema_history(&self) -> Result<Vec<custodian::store::RevisionInfo>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn schema_revision_text(&self, _: u64) -> Result<Option<String>, StoreError> {
        Err(StoreError::ReadOnly)
    }
    fn name_collisions(&self) -> Result<Vec<custodian::store::NameCollision>, StoreError> {
        Err(StoreError::ReadOnly)
    }
}

fn ids(entries: &[ListEntry]) -> Vec<String> {
    entries.iter().map(|e| e.user.id.clone()).collect()
}

/// The list order every backend must give: lower-cased handle, then id.
fn expected_order() -> Vec<String> {
    let users: Vec<Value> = serde_json::from_str(PEOPLE).expect("people");
    let mut keyed: Vec<(String, String)> = users
        .iter()
        .map(|u| {
            let id = u["id"].as_str().unwrap_or_default().to_owned();
            let handle = ["username", "primaryEmail", "primaryPhone"]
                .iter()
                .find_map(|f| u[f].as_str())
                .unwrap_or(&id)
                .to_lowercase();
            (handle, id)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

// ---- the bodies, one per behaviour, run on both backends ----

fn lists_users_by_lowercased_handle_then_id(f: &mut Fixture) {
    let all = f.store().rows(&Seek::First, 100).expect("rows");
    assert_eq!(ids(&all), expected_order());
    assert_eq!(f.store().count().expect("count"), 12);
}

fn pages_forward_and_backward_by_key_without_gaps_or_repeats(f: &mut Fixture) {
    let mut forward = Vec::new();
    let mut after: Option<ListKey> = None;
    loop {
        let page = f.store().page_after(after.as_ref(), 5).expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.key.clone());
        forward.extend(ids(&page));
    }
    assert_eq!(forward, expected_order());
    let mut backward = Vec::new();
    let mut before: Option<ListKey> = None;
    loop {
        let page = f.store().page_before(before.as_ref(), 5).expect("page");
        if page.is_empty() {
            break;
        }
        before = page.first().map(|e| e.key.clone());
        let mut page_ids = ids(&page);
        page_ids.extend(backward);
        backward = page_ids;
    }
    assert_eq!(backward, expected_order());
    // From a key includes it; After and Before exclude it.
    let all = f.store().rows(&Seek::First, 100).expect("rows");
    let third = all[2].key.clone();
    assert_eq!(ids(&f.store().rows(&Seek::From(third.clone()), 2).expect("from")), ids(&all[2..4]));
    assert_eq!(ids(&f.store().rows(&Seek::After(third.clone()), 2).expect("after")), ids(&all[3..5]));
    assert_eq!(ids(&f.store().rows(&Seek::Before(third), 2).expect("before")), ids(&all[0..2]));
    assert_eq!(ids(&f.store().rows(&Seek::Last, 2).expect("last")), ids(&all[10..12]));
}

/// The ids of `ids_in_any_order` in list order: what a scan must return.
fn in_list_order(ids_in_any_order: &[&str]) -> Vec<String> {
    expected_order().into_iter().filter(|id| ids_in_any_order.contains(&id.as_str())).collect()
}

fn the_filter_rule_folds_and_reads_profile_and_custom_data_unescaped(f: &mut Fixture) {
    let search = |query: &str| ids(&f.store().search(query, None, 100).expect("search"));
    assert_eq!(search("EXAMPLE.COM"), in_list_order(&["u1", "ub", "u8"]));
    assert_eq!(search("alice"), in_list_order(&["u1", "u6", "u7"]));
    // customData: a value, a key, each user once however often it matches.
    assert_eq!(search("needle-in-data"), vec!["u6"]);
    assert_eq!(search("PLAN"), vec!["u6"]);
    assert_eq!(search("tier"), vec!["uc"]);
    // The Kelvin sign folds to k, both ways.
    assert_eq!(search("king"), vec!["u3"]);
    assert_eq!(search("\u{212A}ING"), vec!["u3"]);
    // A quote in a name is found as a quote, never as its JSON escape or across punctuation.
    assert_eq!(search("\"nemo\""), vec!["u5"]);
    assert!(search("\\\"").is_empty());
    assert!(search("\":").is_empty());
    assert!(search("no-such-text").is_empty());
}

fn prefix_matches_username_email_phone_name_and_id(f: &mut Fixture) {
    let found = f.store().prefix_matches("ali", 50).expect("prefix");
    assert_eq!(ids(&found), vec!["u1", "u6", "u7"]);
    assert_eq!(ids(&f.store().prefix_matches("BOB@", 50).expect("email")), vec!["u2", "ub"]);
    assert_eq!(ids(&f.store().prefix_matches("4930", 50).expect("phone")), vec!["u4"]);
    assert_eq!(ids(&f.store().prefix_matches("dieter", 50).expect("name")), vec!["u4"]);
    assert_eq!(ids(&f.store().prefix_matches("u5", 50).expect("id")), vec!["u5"]);
    // LIKE's wildcards are plain characters in a prefix.
    assert_eq!(ids(&f.store().prefix_matches("_u", 50).expect("underscore")), vec!["ua"]);
    assert!(f.store().prefix_matches("%", 50).expect("percent").is_empty());
    assert_eq!(f.store().prefix_matches("a", 2).expect("limited").len(), 2);
}

fn scans_profile_and_custom_data_in_bounded_steps(f: &mut Fixture) {
    let mut hits = Vec::new();
    let mut after: Option<ListKey> = None;
    let mut steps = 0;
    loop {
        let step = f.store().scan_matches("NEEDLE", after.as_ref(), 3, 10).expect("scan");
        assert!(step.scanned <= 3);
        hits.extend(ids(&step.hits));
        steps += 1;
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(hits, vec!["u6"]);
    assert!(steps >= 4, "12 users in steps of 3");
}

fn a_scan_walks_the_list_order_so_the_first_hits_are_the_first_matches(f: &mut Fixture) {
    let everyone = in_list_order(&["u1", "u2", "u3", "u8", "ub"]);
    // max_hits ends a step early: its hits are the first matches in list order, and the
    // next step goes on after the last user it read.
    let step = f.store().scan_matches("example", None, 100, 2).expect("scan");
    assert_eq!(ids(&step.hits), everyone[..2]);
    let next = step.next.clone().expect("more to scan");
    assert_eq!(Some(&next), step.hits.last().map(|e| &e.key), "the cursor is the last hit's list key");
    let rest = f.store().scan_matches("example", Some(&next), 100, 100).expect("scan");
    assert_eq!(rest.next, None, "a step that read fewer than its batch is the last");
    let all: Vec<String> = ids(&step.hits).into_iter().chain(ids(&rest.hits)).collect();
    assert_eq!(all, everyone);
    // Steps of one user: the cursor is each user's list key in turn.
    let listed = f.store().rows(&Seek::First, 100).expect("rows");
    let mut after: Option<ListKey> = None;
    for entry in &listed {
        let step = f.store().scan_matches("", after.as_ref(), 1, 10).expect("scan");
        assert_eq!((step.scanned, step.next.as_ref()), (1, Some(&entry.key)));
        after = step.next;
    }
    assert_eq!(f.store().scan_matches("", after.as_ref(), 1, 10).expect("end").next, None);
    // `search` stops at its limit with the first matches in list order.
    assert_eq!(ids(&f.store().search("example", None, 3).expect("search")), everyone[..3]);
    let from_second = f.store().search("example", Some(&step.hits[0].key), 100).expect("search");
    assert_eq!(ids(&from_second), everyone[1..]);
}

fn resolves_id_username_email_and_phone_in_any_case(f: &mut Fixture) {
    let store = f.store();
    assert_eq!(store.resolve("u3").expect("id"), "u3");
    assert_eq!(store.resolve("aLiCe").expect("username"), "u1");
    assert_eq!(store.resolve(" ALICE ").expect("username, trimmed"), "u1");
    assert_eq!(store.resolve("BOB@example.ORG").expect("email"), "u2");
    assert_eq!(store.resolve("4930123456").expect("phone"), "u4");
    // By the Unicode fold: the composed and decomposed É, in any case.
    assert_eq!(store.resolve("E\u{301}MILE").expect("folded username"), "u9");
    assert!(matches!(store.resolve("nobody-at-all"), Err(StoreError::UserNotFound(_))));
}

fn resolves_many_references_at_once_each_as_alone_in_their_order(f: &mut Fixture) {
    // A `--users` file: one read of the store for them all on PostgreSQL (it read the tenant
    // once per name), each answer the one `resolve` gives.
    let store = f.store();
    let references = [
        "aLiCe",
        "u4",
        "nobody-at-all",
        "id:u2",
        " ",
        "E\u{301}MILE",
        "4930123456",
        "username:U4",
        "id:alice",
        "bob@example.com",
        "u3",
    ];
    let resolved = store.resolve_many(&references).expect("resolve");
    let answers: Vec<String> = resolved
        .iter()
        .map(|answer| match answer {
            Ok(id) => id.clone(),
            Err(StoreError::UserNotFound(reference)) => format!("not found: {reference}"),
            Err(StoreError::Ambiguous { matches, .. }) => format!("ambiguous: {} users", matches.len()),
            Err(other) => format!("{other}"),
        })
        .collect();
    assert_eq!(
        answers,
        [
            "u1",
            "ambiguous: 2 users",
            "not found: nobody-at-all",
            "u2",
            "not found:  ",
            "u9",
            "u4",
            "u5",
            "not found: id:alice",
            "ub",
            "u3"
        ]
    );
    for (reference, answer) in references.iter().zip(&resolved) {
        assert_eq!(format!("{:?}", store.resolve(reference)), format!("{answer:?}"), "{reference:?}");
    }
    assert!(store.resolve_many(&[]).expect("none").is_empty());
}

fn a_bare_reference_naming_two_users_is_refused_and_explicit_forms_pick_one(f: &mut Fixture) {
    let store = f.store();
    // "u4" is u4's id and u5's username.
    let reference = UserRef::parse("u4");
    assert_eq!(
        store.lookup(&reference).expect("lookup"),
        vec![
            UserMatch { id: "u4".into(), field: UserField::Id },
            UserMatch { id: "u5".into(), field: UserField::Username },
        ]
    );
    let error = store.resolve("u4").unwrap_err();
    match &error {
        StoreError::Ambiguous { reference, matches } => {
            assert_eq!(reference, "u4");
            assert_eq!(matches.len(), 2);
        }
        other => panic!("not ambiguous: {other}"),
    }
    assert!(error.to_string().contains("id:u4 or username:u4"), "{error}");
    assert_eq!(store.resolve("id:u4").expect("id"), "u4");
    assert_eq!(store.resolve("username:U4").expect("username"), "u5");
    assert_eq!(store.resolve("phone:4930123456").expect("phone"), "u4");
    assert_eq!(store.resolve("email:ALICE@example.com").expect("email"), "u1");
    // An explicit form looks only in its field.
    assert!(matches!(store.resolve("id:alice"), Err(StoreError::UserNotFound(_))));
    assert!(matches!(store.resolve("email:alice"), Err(StoreError::UserNotFound(_))));
    assert!(matches!(store.resolve("username:u3"), Err(StoreError::UserNotFound(_))));
    assert!(store.lookup(&UserRef::parse("phone:u4")).expect("lookup").is_empty());
    // Emails fold whole: bob@example.com is ub's, not u2's Bob@Example.org.
    assert_eq!(store.resolve("bob@example.com").expect("email"), "ub");
}

fn a_save_reports_the_keys_it_removed_from_the_document_it_replaced(f: &mut Fixture) {
    let store = f.store();
    assert_eq!(store.custom_data("u6").expect("read").revision, 1);
    // Someone else saves in between, dropping "note" and adding "extra".
    let outcome = store
        .replace_custom_data("u6", &data(r#"{"plan":"gold","extra":1}"#), None, &author())
        .expect("their save");
    assert_eq!(outcome, SaveOutcome::Saved { revision: 2, removed: vec!["note".into()], size: 25 });
    // Ours replaces their document: what it removed is read from that one, not ours.
    let outcome = store.replace_custom_data("u6", &data(r#"{"x":1}"#), None, &author()).expect("save");
    assert_eq!(
        outcome,
        SaveOutcome::Saved { revision: 3, removed: vec!["plan".into(), "extra".into()], size: 7 }
    );
    let outcome = store.replace_custom_data("u6", &data(r#"{"x":1,"y":2}"#), None, &author()).expect("add");
    assert_eq!(outcome, SaveOutcome::Saved { revision: 4, removed: vec![], size: 13 });
}

fn a_save_reports_the_size_the_history_gives_its_revision(f: &mut Fixture) {
    let store = f.store();
    // jsonb writes an exponent out digit by digit: what is stored is longer than what was sent.
    for (revision, text) in [(2, r#"{"n":1E+5}"#), (3, r#"{"plan":"free","i":1E+2,"s":"\u00e9"}"#)] {
        let outcome = store.replace_custom_data("u3", &data(text), None, &author()).expect("save");
        let history = store.history("u3").expect("history");
        let stored = history.iter().find(|r| r.revision == revision).expect("the new revision").size;
        assert_eq!(
            outcome,
            SaveOutcome::Saved { revision, removed: outcome_removed(&outcome), size: stored }
        );
    }
}

fn outcome_removed(outcome: &SaveOutcome) -> Vec<String> {
    match outcome {
        SaveOutcome::Saved { removed, .. } => removed.clone(),
        SaveOutcome::Unchanged { .. } => Vec::new(),
    }
}

fn visits_the_users_of_many_ids_in_id_order_once_each_and_refuses_an_unknown_one(f: &mut Fixture) {
    let store = f.store();
    let mut visited = Vec::new();
    let ids = vec!["u6".to_owned(), "u1".into(), "u6".into(), "u3".into()];
    store
        .for_each_selected(&Selection::Ids(ids.into()), &mut |record, text| {
            let document: Value = serde_json::from_str(text).expect("JSON");
            visited.push((record.user.id.clone(), document));
            Ok(())
        })
        .expect("visit");
    let expected: Vec<(String, Value)> = [
        ("u1", r#"{"theme":"dark","lang":"en"}"#),
        ("u3", r#"{"a":1}"#),
        ("u6", r#"{"plan":"gold","note":"needle-in-data"}"#),
    ]
    .iter()
    .map(|(id, text)| (id.to_string(), serde_json::from_str(text).expect("JSON")))
    .collect();
    assert_eq!(visited, expected);
    let unknown = store
        .for_each_selected(&Selection::Ids(vec!["u1".into(), "nobody".into()].into()), &mut |_, _| Ok(()));
    assert!(matches!(unknown, Err(StoreError::UserNotFound(ref id)) if id == "nobody"), "{unknown:?}");
}

fn saves_a_new_revision_and_keeps_the_old_one_in_history(f: &mut Fixture) {
    let store = f.store();
    let before = store.custom_data("u1").expect("read");
    assert_eq!(before.revision, 1);
    let outcome =
        store.replace_custom_data("u1", &data(r#"{"theme":"light"}"#), Some(1), &author()).expect("save");
    assert_eq!(outcome, SaveOutcome::Saved { revision: 2, removed: vec!["lang".into()], size: 17 });
    let after = store.custom_data("u1").expect("read");
    assert_eq!((after.revision, after.text.as_str()), (2, data(r#"{"theme":"light"}"#).canonical()));
    let history = store.history("u1").expect("history");
    let revisions: Vec<(u64, bool)> = history.iter().map(|r| (r.revision, r.current)).collect();
    assert_eq!(revisions, vec![(1, false), (2, true)]);
    assert_eq!(history[1].saved_by, "editor");
    assert_eq!(store.revision_text("u1", 1).expect("old"), before.text);
    assert_eq!(store.user("u1").expect("user").revision, 2);
    assert_eq!(store.entry("u1").expect("entry").revision, 2);
    // Restoring saves the old document as a new revision.
    assert_eq!(
        store.restore("u1", 1, Some(2), &author()).expect("restore"),
        SaveOutcome::Saved { revision: 3, removed: vec![], size: 28 }
    );
    assert_eq!(store.custom_data("u1").expect("read").text, before.text);
    assert!(matches!(store.revision_text("u1", 9), Err(StoreError::RevisionNotFound { .. })));
}

fn history_and_the_journal_give_each_revisions_compact_size(f: &mut Fixture) {
    // The size the limit counts (compact): PostgreSQL gave the pretty text's, which the same
    // document on a file does not.
    let store = f.store();
    let document = r#"{"theme": "light", "list": [1, 2, {"a": "b c"}]}"#;
    store.replace_custom_data("u1", &data(document), None, &author()).expect("save");
    let compact = serde_json::to_string(&serde_json::from_str::<Value>(document).unwrap()).unwrap();
    let history = store.history("u1").expect("history");
    let sizes: Vec<usize> = history.iter().map(|r| r.size).collect();
    let first = serde_json::to_string(
        &serde_json::from_str::<Value>(&store.revision_text("u1", 1).expect("revision 1")).unwrap(),
    )
    .unwrap();
    assert_eq!(sizes, vec![first.len(), compact.len()]);
    let mut journaled = Vec::new();
    let query = JournalQuery { user_id: Some("u1".into()), ..JournalQuery::default() };
    store
        .journal(&query, &mut |entry| {
            journaled.push((entry.revision, entry.size));
            Ok(true)
        })
        .expect("journal");
    assert_eq!(journaled.first(), Some(&(2, compact.len())), "{journaled:?}");
}

/// The limit is on what is stored: a document of exactly 1 MiB as stored is saved (on
/// PostgreSQL as jsonb gives it back), one byte more never reaches the store.
fn a_document_of_exactly_the_limit_is_saved(f: &mut Fixture) {
    let store = f.store();
    let limit = custodian::domain::Limits::default().max_bytes;
    let at_limit = format!(r#"{{"a":"{}"}}"#, "x".repeat(limit - r#"{"a":""}"#.len()));
    assert_eq!(at_limit.len(), limit);
    let outcome =
        store.replace_custom_data("u1", &data(&at_limit), None, &author()).expect("saved at the limit");
    let mut removed = outcome_removed(&outcome);
    removed.sort();
    assert_eq!(outcome, SaveOutcome::Saved { revision: 2, removed: outcome_removed(&outcome), size: limit });
    assert_eq!(removed, ["lang", "theme"]);
    assert_eq!(store.history("u1").expect("history").last().expect("revision 2").size, limit);
}

fn reads_the_users_of_many_ids_at_once_skipping_ids_no_user_has(f: &mut Fixture) {
    let store = f.store();
    let ids: Vec<String> = ["u3", "nobody", "u1", "u1"].iter().map(|s| s.to_string()).collect();
    let mut found: Vec<(String, Option<String>)> =
        store.users_by_id(&ids).expect("read").into_iter().map(|r| (r.user.id, r.user.username)).collect();
    found.sort();
    found.dedup();
    let one = |id: &str| store.user(id).expect("one user").user.username;
    assert_eq!(found, vec![("u1".to_owned(), one("u1")), ("u3".to_owned(), one("u3"))]);
    assert!(store.users_by_id(&[]).expect("none").is_empty());
}

fn refuses_a_save_on_a_stale_revision_and_writes_nothing(f: &mut Fixture) {
    let store = f.store();
    store.custom_data("u3").expect("read");
    store.replace_custom_data("u3", &data(r#"{"a":2}"#), Some(1), &author()).expect("first save");
    let error = store.replace_custom_data("u3", &data(r#"{"a":3}"#), Some(1), &author()).unwrap_err();
    assert!(matches!(error, StoreError::Conflict { expected: 1, found: 2, .. }), "{error}");
    assert_eq!(store.custom_data("u3").expect("read").text, data(r#"{"a":2}"#).canonical());
    assert_eq!(store.history("u3").expect("history").len(), 2);
}

fn an_unchanged_document_is_not_a_new_revision(f: &mut Fixture) {
    let store = f.store();
    let current = store.custom_data("u6").expect("read");
    let outcome = store.replace_custom_data("u6", &data(&current.text), Some(1), &author()).expect("save");
    assert_eq!(outcome, SaveOutcome::Unchanged { revision: 1 });
    assert_eq!(store.history("u6").expect("history").len(), 1);
    assert!(matches!(
        store.replace_custom_data("nobody", &data("{}"), None, &author()),
        Err(StoreError::UserNotFound(_))
    ));
}

fn a_read_only_store_reads_and_refuses_every_write(f: &mut Fixture) {
    let store = f.read_only();
    assert!(store.is_read_only());
    assert_eq!(ids(&store.rows(&Seek::First, 100).expect("rows")), expected_order());
    assert_eq!(store.custom_data("u1").expect("read").revision, 1);
    let error = store.replace_custom_data("u1", &data("{}"), Some(1), &author()).unwrap_err();
    assert!(matches!(error, StoreError::ReadOnly), "{error}");
}

fn visits_every_user_in_list_order_with_their_custom_data(f: &mut Fixture) {
    let mut seen = Vec::new();
    f.store()
        .for_each_user(&mut |record, text| {
            let object: Value = serde_json::from_str(text).expect("compact JSON");
            assert!(object.is_object());
            seen.push((record.user.id.clone(), object));
            Ok(())
        })
        .expect("walk");
    assert_eq!(seen.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), expected_order());
    let u6 = seen.iter().find(|(id, _)| id == "u6").expect("u6");
    assert_eq!(u6.1["note"], "needle-in-data");
}

/// The list's walk (what `list` reads) gives the list, or the filter's matches in list order,
/// the first N of them, each with the document a read of it gives, and stops when told;
/// on PostgreSQL past one page (one portal) and within one (pages) alike.
fn walks_the_list_and_its_matches_with_their_documents_and_stops_when_told(f: &mut Fixture) {
    let walk = |search: Option<&str>, first: usize, documents: bool| {
        let mut walked = Vec::new();
        f.store()
            .walk_list(search, first, documents, &mut |entry, document| {
                walked.push((entry.user.id.clone(), entry.revision, document));
                Ok(true)
            })
            .expect("walk");
        walked
    };
    for first in [usize::MAX, 1_000] {
        let walked = walk(None, first, true);
        assert_eq!(walked.iter().map(|(id, ..)| id.clone()).collect::<Vec<_>>(), expected_order());
        for (id, revision, document) in &walked {
            let stored = f.store().custom_data(id).expect("read alone");
            let compact = data(&stored.text).compact();
            assert_eq!(document.as_deref(), Some(compact.as_str()), "{id}: the stored text, compact");
            assert_eq!(*revision, stored.revision, "{id}");
        }
        assert!(walk(None, first, false).iter().all(|(_, _, document)| document.is_none()));
        let matches = walk(Some("alice"), first, false);
        let searched = f.store().search("alice", None, 100).expect("search");
        assert_eq!(matches.iter().map(|(id, ..)| id.clone()).collect::<Vec<_>>(), ids(&searched));
        assert_eq!(matches.len(), 3, "Alice, alice2 and ALICE3: {matches:?}");
    }
    assert_eq!(walk(None, 3, false).len(), 3);
    assert_eq!(walk(Some("alice"), 2, false).len(), 2);
    let mut visited = 0;
    f.store()
        .walk_list(None, usize::MAX, false, &mut |_, _| {
            visited += 1;
            Ok(visited < 5)
        })
        .expect("walk");
    assert_eq!(visited, 5, "false stops the walk");
}

/// The any-order read gives the same users, records and documents as the list-order walk,
/// and its keys, sorted byte by byte, are that walk's order (what an export relies on when it
/// sorts them itself); every key differs.
fn visits_every_user_in_any_order_with_keys_that_sort_into_list_order(f: &mut Fixture) {
    let mut in_order = Vec::new();
    f.store()
        .for_each_user(&mut |record, text| {
            in_order.push((record.clone(), text.to_owned()));
            Ok(())
        })
        .expect("walk");
    let mut keyed = Vec::new();
    f.store()
        .for_each_user_in_any_order(&mut |key, record, text| {
            keyed.push((key.to_vec(), record.clone(), text.to_owned()));
            Ok(())
        })
        .expect("walk in any order");
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(keyed.windows(2).all(|pair| pair[0].0 != pair[1].0), "keys repeat");
    let sorted: Vec<_> = keyed.into_iter().map(|(_, record, text)| (record, text)).collect();
    assert_eq!(sorted, in_order);
    assert_eq!(in_order.len(), 12);
    // A visitor's error stops the walk and comes back as it was.
    let mut visited = 0;
    let stopped = f.store().for_each_user_in_any_order(&mut |_, _, _| {
        visited += 1;
        Err(StoreError::Database("stop here".into()))
    });
    assert!(matches!(stopped, Err(StoreError::Database(message)) if message == "stop here"));
    assert_eq!(visited, 1);
}

fn counts_few_users_exactly(f: &mut Fixture) {
    let store = f.store();
    assert_eq!(store.user_count().expect("count"), UserCount { users: 12, exact: true });
    assert_eq!(store.count().expect("count"), 12);
}

/// What the store says about key order is what it does: where it keeps the order written, a
/// reordered document is a new revision read back in that order; where it keeps its own, the
/// same values in another order are no change at all (nothing written, no revision).
fn a_reordering_is_a_change_exactly_where_the_store_keeps_the_order_written(f: &mut Fixture) {
    let store = f.store();
    store.custom_data("u1").expect("read");
    let reordered = data(r#"{"lang":"en","theme":"dark"}"#);
    let outcome = store.replace_custom_data("u1", &reordered, Some(1), &author()).expect("save");
    match store.key_order() {
        KeyOrder::AsWritten => {
            assert!(
                matches!(outcome, SaveOutcome::Saved { revision: 2, ref removed, .. } if removed.is_empty())
            );
            assert_eq!(store.custom_data("u1").expect("read").text, reordered.canonical());
        }
        KeyOrder::Backend(name) => {
            assert_eq!(name, "PostgreSQL");
            assert_eq!(outcome, SaveOutcome::Unchanged { revision: 1 });
            assert_eq!(store.history("u1").expect("history").len(), 1);
        }
    }
}

const SCHEMA_V1: &str = r#"{"type":"object","properties":{"plan":{"enum":["free","pro"]}}}"#;
const SCHEMA_V2: &str = r#"{"type":"object","required":["plan"]}"#;

fn the_schema_is_stored_with_every_change_kept_in_its_history(f: &mut Fixture) {
    let store = f.store();
    assert_eq!(store.schema().expect("read"), None, "a new database has no schema");
    assert!(store.schema_history().expect("history").is_empty());
    assert_eq!(store.set_schema(Some(SCHEMA_V1), &author()).expect("set"), (1, true));
    assert_eq!(
        store.set_schema(Some(SCHEMA_V1), &author()).expect("same again"),
        (1, false),
        "no new revision"
    );
    assert_eq!(store.set_schema(Some(SCHEMA_V2), &author()).expect("set"), (2, true));
    let current = store.schema().expect("read").expect("a schema");
    assert_eq!((current.text.as_str(), current.revision), (SCHEMA_V2, 2));
    assert_eq!(store.set_schema(None, &author()).expect("clear"), (3, true));
    assert_eq!(store.set_schema(None, &author()).expect("clear again"), (3, false));
    assert_eq!(store.schema().expect("read"), None, "cleared");
    let history = store.schema_history().expect("history");
    let revisions: Vec<_> = history.iter().map(|r| (r.revision, r.current, r.size)).collect();
    assert_eq!(revisions, vec![(1, false, SCHEMA_V1.len()), (2, false, SCHEMA_V2.len()), (3, true, 0)]);
    assert!(history.iter().all(|r| r.saved_by == "editor"));
    assert_eq!(store.schema_revision_text(1).expect("rev 1").as_deref(), Some(SCHEMA_V1));
    assert_eq!(store.schema_revision_text(3).expect("rev 3"), None, "revision 3 cleared it");
    let missing = store.schema_revision_text(9).unwrap_err();
    assert!(matches!(missing, StoreError::SchemaRevisionNotFound(9)), "{missing}");
    assert_eq!(store.set_schema(Some(SCHEMA_V1), &author()).expect("set again"), (4, true));
}

fn a_read_only_store_reads_the_schema_and_refuses_to_set_it(f: &mut Fixture) {
    f.store().set_schema(Some(SCHEMA_V1), &author()).expect("set");
    let store = f.read_only();
    assert_eq!(store.schema().expect("read").map(|s| s.revision), Some(1));
    assert!(matches!(store.set_schema(Some(SCHEMA_V2), &author()), Err(StoreError::ReadOnly)));
    assert!(matches!(store.set_schema(None, &author()), Err(StoreError::ReadOnly)));
    assert_eq!(store.schema_history().expect("history").len(), 1);
}

fn writes_held_to_a_schema_write_nothing_once_another_is_set_or_it_is_cleared(f: &mut Fixture) {
    let store = f.store();
    let before = store.custom_data("u1").expect("read").text;
    let plan = data(r#"{"plan":"free"}"#);
    // Checked against no schema; one is set before the write.
    store.hold_writes_to_schema(None);
    assert_eq!(store.set_schema(Some(SCHEMA_V1), &author()).expect("set"), (1, true));
    let refused = store.replace_custom_data("u1", &plan, None, &author()).unwrap_err();
    assert!(matches!(refused, StoreError::SchemaChanged { seen: None, found: Some(1) }), "{refused}");
    assert_eq!(
        refused.to_string(),
        "the deployment's schema changed while this was being written (revision 1 now, checked against none set): nothing was written; check against the schema as it is now and write again"
    );
    let mut replace_all = |_: &UserRecord, _: &str| Ok(BatchEdit::Replace(plan.clone()));
    let batch = store.edit_batch(&BatchId::new(), &Selection::All, &mut replace_all, &author()).unwrap_err();
    assert!(matches!(batch, StoreError::SchemaChanged { seen: None, found: Some(1) }), "{batch}");
    assert_eq!(store.custom_data("u1").expect("read").text, before, "nothing written");
    assert_eq!(store.history("u1").expect("history").len(), 1);
    // Held to the schema set now: the write goes through.
    store.hold_writes_to_schema(Some(1));
    assert!(matches!(store.replace_custom_data("u1", &plan, None, &author()), Ok(SaveOutcome::Saved { .. })));
    // Cleared since: a write checked against revision 1 is refused too.
    assert_eq!(store.set_schema(None, &author()).expect("clear"), (2, true));
    let cleared = store.replace_custom_data("u1", &data(r#"{"plan":"pro"}"#), None, &author()).unwrap_err();
    assert!(matches!(cleared, StoreError::SchemaChanged { seen: Some(1), found: None }), "{cleared}");
    assert_eq!(store.custom_data("u1").expect("read").text, plan.canonical());
    // Checked against none again (the clear): held to that, it goes through.
    store.hold_writes_to_schema(None);
    store.replace_custom_data("u1", &data(r#"{"plan":"pro"}"#), None, &author()).expect("saved");
}

/// `walked` runs once every selected user was edited, before the commit: its error writes
/// nothing, not even the edits made before it (a batch held to a dry run learns there that a
/// user it showed left the selection: bb60 F1).
fn a_batch_is_checked_once_it_has_walked_every_user_and_a_refusal_there_writes_nothing(f: &mut Fixture) {
    let store = f.store();
    let before: Vec<String> =
        ["u1", "u2", "u3"].iter().map(|id| store.custom_data(id).expect("read").text).collect();
    let edited = std::cell::Cell::new(0_u64);
    let mut flag = |_: &UserRecord, _: &str| {
        edited.set(edited.get() + 1);
        Ok(BatchEdit::Replace(data(r#"{"flag":true}"#)))
    };
    let mut edited_when_walked = None;
    let mut refuse = || {
        edited_when_walked = Some(edited.get());
        Err(StoreError::Interrupted)
    };
    let selection = Selection::Ids(vec!["u1".into(), "u2".into(), "u3".into()].into());
    let refused = store.edit_batch_held(&BatchId::new(), &selection, &mut flag, &mut refuse, &author());
    assert!(matches!(refused, Err(StoreError::Interrupted)), "{refused:?}");
    assert_eq!(edited_when_walked, Some(3), "checked after every user, once");
    let after: Vec<String> =
        ["u1", "u2", "u3"].iter().map(|id| store.custom_data(id).expect("read").text).collect();
    assert_eq!(after, before, "nothing written");
    // The same batch let through writes all three.
    let summary = store
        .edit_batch_held(&BatchId::new(), &selection, &mut flag, &mut || Ok(()), &author())
        .expect("written");
    assert_eq!((summary.matched, summary.saved), (3, 3));
}

/// A user's profile fields and the facts of their current revision (when, by whom) read back
/// as stored by each way a store reads users: one alone, a page of the list, a walk over all.
fn a_users_fields_and_revision_read_back_alone_in_a_page_and_in_a_walk(f: &mut Fixture) {
    let store = f.store();
    store.replace_custom_data("u2", &data(r#"{"plan":"pro"}"#), Some(1), &author()).expect("save");
    let saved = store.history("u2").expect("history").pop().expect("the current revision");
    let fields = |user: &custodian::domain::User| {
        [&user.username, &user.primary_email, &user.primary_phone, &user.name].map(Clone::clone)
    };
    let bob = [Some("bob"), Some("Bob@Example.org"), Some("15551234567"), Some("Bob Builder")]
        .map(|field| field.map(String::from));
    let revised = |record: &UserRecord| (record.revision, record.revised_at, record.revised_by.clone());
    let expected = (bob.clone(), (saved.revision, saved.saved_at, saved.saved_by.clone()));

    let alone = store.user("u2").expect("user");
    assert_eq!((fields(&alone.user), revised(&alone)), expected);
    let page = store.rows(&Seek::First, 100).expect("rows");
    let listed = page.iter().find(|entry| entry.user.id == "u2").expect("u2 listed");
    assert_eq!((fields(&listed.user), listed.revision), (bob, saved.revision));
    let mut walked = None;
    store
        .for_each_user(&mut |record, _| {
            if record.user.id == "u2" {
                walked = Some((fields(&record.user), revised(record)));
            }
            Ok(())
        })
        .expect("walk");
    assert_eq!(walked, Some(expected));
}

/// Users whose names differ only as custodian's uniqueness rule sees them are none here: a
/// file refuses to make them, and PEOPLE's similar names (`Alice`, `alice2`, `ALICE3`; `bob` the
/// username and `bob@example.com` the email) are different names.
fn no_user_shares_a_name_custodian_keeps_unique_among_different_names(f: &mut Fixture) {
    assert_eq!(f.store().name_collisions().expect("looked for"), Vec::new());
}

macro_rules! conformance {
    ($($body:ident),* $(,)?) => {
        mod redb {
            $(#[test] fn $body() { super::$body(&mut super::Fixture::redb()) })*
        }
        mod postgres {
            $(#[test] fn $body() { super::$body(&mut super::Fixture::postgres()) })*
        }
        mod postgres_key_table {
            $(#[test] fn $body() { super::$body(&mut super::Fixture::postgres_key_table()) })*
        }
    };
}

conformance!(
    lists_users_by_lowercased_handle_then_id,
    pages_forward_and_backward_by_key_without_gaps_or_repeats,
    the_filter_rule_folds_and_reads_profile_and_custom_data_unescaped,
    prefix_matches_username_email_phone_name_and_id,
    scans_profile_and_custom_data_in_bounded_steps,
    a_scan_walks_the_list_order_so_the_first_hits_are_the_first_matches,
    resolves_id_username_email_and_phone_in_any_case,
    resolves_many_references_at_once_each_as_alone_in_their_order,
    a_bare_reference_naming_two_users_is_refused_and_explicit_forms_pick_one,
    a_save_reports_the_keys_it_removed_from_the_document_it_replaced,
    saves_a_new_revision_and_keeps_the_old_one_in_history,
    a_users_fields_and_revision_read_back_alone_in_a_page_and_in_a_walk,
    visits_the_users_of_many_ids_in_id_order_once_each_and_refuses_an_unknown_one,
    a_save_reports_the_size_the_history_gives_its_revision,
    history_and_the_journal_give_each_revisions_compact_size,
    a_document_of_exactly_the_limit_is_saved,
    reads_the_users_of_many_ids_at_once_skipping_ids_no_user_has,
    refuses_a_save_on_a_stale_revision_and_writes_nothing,
    an_unchanged_document_is_not_a_new_revision,
    a_read_only_store_reads_and_refuses_every_write,
    visits_every_user_in_list_order_with_their_custom_data,
    visits_every_user_in_any_order_with_keys_that_sort_into_list_order,
    walks_the_list_and_its_matches_with_their_documents_and_stops_when_told,
    counts_few_users_exactly,
    a_reordering_is_a_change_exactly_where_the_store_keeps_the_order_written,
    the_schema_is_stored_with_every_change_kept_in_its_history,
    a_read_only_store_reads_the_schema_and_refuses_to_set_it,
    writes_held_to_a_schema_write_nothing_once_another_is_set_or_it_is_cleared,
    no_user_shares_a_name_custodian_keeps_unique_among_different_names,
    a_batch_is_checked_once_it_has_walked_every_user_and_a_refusal_there_writes_nothing,
);

// ---- PostgreSQL only ----

#[path = "conformance/exact_scan.rs"]
mod exact_scan;
#[path = "conformance/held_saves.rs"]
mod held_saves;
#[path = "conformance/many_users.rs"]
mod many_users;
#[path = "conformance/sessions.rs"]
mod sessions;

/// Logto's database with custodian's schema and the people in tenant `default`.
fn logto_with_people() -> LogtoDb {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", PEOPLE);
    db
}

fn connect(url: &str, tenant: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::connect(url, &PostgresOptions { tenant: tenant.to_owned(), ..PostgresOptions::default() })
}

/// How the screen opens a tenant: through custodian's key table when it can.
fn key_table_options(tenant: &str) -> PostgresOptions {
    PostgresOptions { tenant: tenant.to_owned(), use_key_table: true, ..PostgresOptions::default() }
}

fn all_ids(store: &dyn UserStore) -> BTreeSet<String> {
    ids(&store.rows(&Seek::First, 1000).expect("rows")).into_iter().collect()
}

/// A save on a schema of this build's layout writes the journal's size and keys in its
/// history row (an older layout's row leaves them to be worked out when read).
/// Logto keeps `Bob` and `bob `, `Straße` and `strasse` apart (its unique indexes compare as
/// written); custodian's import refuses the second, so the store names them, by custodian's
/// fold (bb16 L16, bb19 L04), in this tenant only.
#[test]
fn users_logto_keeps_apart_by_case_or_white_space_are_named_as_sharing_a_name() {
    let db = logto_with_people();
    for (tenant, id, username, email, phone) in [
        ("default", "c1", "Mallory", "Eve@Example.com", "+1 555"),
        ("default", "c2", "zara", "eve@example.com ", "+1 555 "),
        ("admin", "c3", "MALLORY", "EVE@EXAMPLE.COM", "+1 555"),
        // Custodian's fold, not only `lower` (bb19 L04): NFKC and full case folding.
        ("default", "c4", "Straße", "ｆｕｌｌ@example.com", "１２３"),
        ("default", "c5", "strasse", "full@example.com", "123"),
        ("default", "c6", "ÉMILE", "c6@example.com", "+44"),
        ("default", "c7", "e\u{301}mile", "c7@example.com", "+45"),
    ] {
        db.insert(
            tenant,
            &LogtoUser::from_api(serde_json::json!({
                "id": id, "username": username, "primaryEmail": email, "primaryPhone": phone
            })),
        );
    }
    let store = connect(&db.tenant_url("default"), "default").expect("default role");
    let shared = |field: &str, value: &str, ids: &[&str]| {
        (field.to_owned(), value.to_owned(), ids.iter().map(|id| id.to_string()).collect::<Vec<_>>())
    };
    let found: Vec<_> = store
        .name_collisions()
        .expect("looked for")
        .into_iter()
        .map(|(field, value, ids)| (field.to_owned(), value, ids))
        .collect();
    assert_eq!(
        found,
        [
            // PEOPLE's `mallory` (uc) and c1's `Mallory`; c3 is another tenant's.
            shared("username", "mallory", &["c1", "uc"]),
            shared("username", "strasse", &["c4", "c5"]),
            // PEOPLE's `Émile` (u9) too.
            shared("username", "émile", &["c6", "c7", "u9"]),
            shared("primaryEmail", "eve@example.com", &["c1", "c2"]),
            shared("primaryEmail", "full@example.com", &["c4", "c5"]),
            shared("primaryPhone", "+1 555", &["c1", "c2"]),
            shared("primaryPhone", "123", &["c4", "c5"]),
        ]
    );
}

#[test]
fn a_save_writes_the_journals_size_and_keys_into_its_history_row() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("default role");
    store
        .replace_custom_data("u1", &data(r#"{"theme":"dark","beta":true}"#), Some(1), &author())
        .expect("save");
    let row = db
        .superuser()
        .query_one(
            "select size, keys::text from custodian.history where user_id = 'u1' and revision = 2",
            &[],
        )
        .expect("the history row of revision 2");
    let (size, keys): (Option<i64>, Option<String>) = (row.get(0), row.get(1));
    assert_eq!(size, Some(r#"{"theme":"dark","beta":true}"#.len() as i64));
    let keys = keys.expect("the keys written with the save");
    assert!(keys.contains("beta") && keys.contains("lang"), "{keys}");
}

#[test]
fn a_tenant_role_sees_only_its_tenant_and_a_superuser_only_the_tenant_asked_for() {
    let db = logto_with_people();
    db.insert("admin", &LogtoUser::new("adm1").custom_data(r#"{"admin":true}"#));
    let default_role = connect(&db.tenant_url("default"), "default").expect("default role");
    assert_eq!(default_role.role(), db.tenant_role("default").0);
    assert_eq!(all_ids(&default_role).len(), 12);
    assert!(matches!(default_role.user("adm1"), Err(StoreError::UserNotFound(_))));
    let admin_role = connect(&db.tenant_url("admin"), "admin").expect("admin role");
    assert_eq!(all_ids(&admin_role), BTreeSet::from(["adm1".to_owned()]));
    // The superuser works as the tenant's role: RLS applies to it too.
    let superuser = connect(&db.superuser_url(), "admin").expect("superuser");
    assert_eq!(superuser.role(), db.tenant_role("admin").0);
    assert_eq!(all_ids(&superuser), BTreeSet::from(["adm1".to_owned()]));
    assert_eq!(superuser.count().expect("count"), 1);
    assert!(superuser.scan_matches("example", None, 100, 100).expect("scan").hits.is_empty());
    // One tenant's role cannot ask for another tenant.
    let error = connect(&db.tenant_url("default"), "admin").err().expect("refused");
    assert!(error.to_string().contains("no tenant \"admin\""), "{error}");
    let error = connect(&db.superuser_url(), "nope").err().expect("refused");
    assert!(error.to_string().contains("no tenant \"nope\""), "{error}");
}

/// On the exact path a scan keeps the tenant sorted once in a cursor between its steps: the
/// steps find what a scan from scratch finds, in order, and a save, another scan or a step
/// that does not continue it in between ends it without harm.
#[test]
fn a_scan_left_between_steps_holds_up_nothing_and_finds_the_same_users() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let everyone = in_list_order(&["u1", "u2", "u3", "u8", "ub"]);
    let mut found = Vec::new();
    let step = store.scan_matches("example", None, 2, 100).expect("first step");
    found.extend(ids(&step.hits));
    let mut after = step.next.expect("more to scan");
    // A save on the same session between two steps: it must not run in the scan's
    // read-only snapshot.
    store.custom_data("u1").expect("read");
    let saved = store.replace_custom_data("u1", &data(r#"{"theme":"light"}"#), Some(1), &author());
    assert!(matches!(saved, Ok(SaveOutcome::Saved { revision: 2, .. })), "{saved:?}");
    // Another scan in between, then the first one continued.
    assert_eq!(ids(&store.scan_matches("Builder", None, 100, 100).expect("other scan").hits), ["u2"]);
    loop {
        let step = store.scan_matches("example", Some(&after), 2, 100).expect("step");
        assert!(step.scanned <= 2);
        found.extend(ids(&step.hits));
        match step.next {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(found, everyone);
    // Continued step after step without anything in between: the same answer.
    let (mut walked, mut after) = (Vec::new(), None);
    loop {
        let step = store.scan_matches("example", after.as_ref(), 1, 100).expect("step");
        walked.extend(ids(&step.hits));
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, everyone);
}

#[test]
fn operators_setting_the_schema_at_once_both_land_one_after_the_other() {
    let db = logto_with_people();
    let url = db.tenant_url("default");
    let rounds = 15;
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = connect(&url, "default").expect("connect");
                for round in 0..rounds {
                    let schema = format!(r#"{{"type":"object","title":"writer {writer} round {round}"}}"#);
                    store.set_schema(Some(&schema), &author()).expect("every set lands");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer panicked");
    }
    let store = connect(&url, "default").expect("connect");
    let revisions: Vec<u64> = store.schema_history().expect("history").iter().map(|r| r.revision).collect();
    assert_eq!(revisions, (1..=2 * rounds).collect::<Vec<u64>>(), "every set is a revision of its own");
}

/// Waits until some session of `db` waits for a lock (the save behind a held row).
fn until_a_session_waits_for_a_lock(db: &LogtoDb) {
    let mut admin = db.superuser();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: i64 =
            // Only this test's database: the cluster is shared by tests that run side by side.
            admin
                .query_one(
                    "select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid \
                     where not l.granted and a.datname = current_database()",
                    &[],
                )
                .expect("locks")
                .get(0);
        if waiting > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the save never waited for the row");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_save_waiting_for_a_row_lock_while_the_schema_is_set_writes_nothing() {
    // Checked against no schema, the save waits for Logto's lock on the row; meanwhile a
    // schema is set. It was saved when the lock went, unchecked against the new schema.
    let db = logto_with_people();
    let url = db.tenant_url("default");
    let other = connect(&url, "default").expect("connect");
    let before = other.custom_data("u1").expect("read").text;
    let mut logto = db.superuser();
    let mut holding = logto.transaction().expect("begin");
    holding
        .execute("select 1 from users where tenant_id = 'default' and id = 'u1' for update", &[])
        .expect("lock");
    let saver = std::thread::spawn(move || {
        let store = connect(&url, "default").expect("connect");
        store.hold_writes_to_schema(None);
        store.replace_custom_data("u1", &data(r#"{"plan":"gold"}"#), None, &author())
    });
    until_a_session_waits_for_a_lock(&db);
    assert_eq!(other.set_schema(Some(SCHEMA_V1), &author()).expect("set"), (1, true));
    holding.rollback().expect("Logto lets go");
    let refused = saver.join().expect("the saver panicked").unwrap_err();
    assert!(matches!(refused, StoreError::SchemaChanged { seen: None, found: Some(1) }), "{refused}");
    assert_eq!(other.custom_data("u1").expect("read").text, before, "nothing written");
}

#[test]
fn another_connection_works_as_the_same_tenant_role_on_a_session_of_its_own() {
    let db = logto_with_people();
    let store = connect(&db.superuser_url(), "default").expect("connect");
    let scanner = store.another_connection().expect("a second connection");
    assert_eq!(scanner.role(), store.role());
    assert_eq!(all_ids(&scanner), all_ids(&store));
    let sessions: i64 = db.count("select count(*) from pg_stat_activity where datname = current_database() and application_name = 'custodian'");
    assert_eq!(sessions, 2);
}

#[test]
fn history_rows_are_guarded_per_tenant_by_row_level_security() {
    let db = logto_with_people();
    db.insert("admin", &LogtoUser::new("adm1"));
    let default_store = connect(&db.tenant_url("default"), "default").expect("default");
    default_store.replace_custom_data("u1", &data(r#"{"x":1}"#), Some(1), &author()).expect("save default");
    let admin_store = connect(&db.tenant_url("admin"), "admin").expect("admin");
    admin_store.replace_custom_data("adm1", &data(r#"{"y":1}"#), Some(1), &author()).expect("save admin");
    let (role, password) = db.tenant_role("default");
    let mut as_default = ::postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user={role} password={password} dbname={}", db.server.port, db.name),
        ::postgres::NoTls,
    )
    .expect("connect as the default role");
    let tenants: Vec<String> = as_default
        .query("select distinct tenant_id from custodian.history", &[])
        .expect("read history")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tenants, vec!["default".to_owned()]);
    let error = as_default
        .execute(
            "insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at) \
             values ('admin', 'adm1', 99, now(), 'intruder', '{}', now())",
            &[],
        )
        .expect_err("another tenant's history row is refused");
    assert!(
        error.to_string().contains("row-level security")
            || format!("{error:?}").contains("row-level security")
    );
    let deleted = as_default.execute("delete from custodian.history", &[]);
    assert!(deleted.is_err(), "history is append-only for tenant roles");
}

#[test]
fn an_outside_custom_data_update_between_read_and_save_is_a_conflict_and_writes_nothing() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let base = store.custom_data("u1").expect("read");
    db.superuser()
        .execute(
            "update users set custom_data = '{\"by\":\"psql\"}' where tenant_id = 'default' and id = 'u1'",
            &[],
        )
        .expect("outside update");
    let error = store
        .replace_custom_data("u1", &data(r#"{"by":"custodian"}"#), Some(base.revision), &author())
        .unwrap_err();
    // No history yet, so the revision number cannot tell: updated_at does.
    assert!(matches!(error, StoreError::ChangedOutside { .. }), "{error}");
    assert!(error.is_conflict());
    let after = store.custom_data("u1").expect("read");
    assert_eq!(after.text, data(r#"{"by":"psql"}"#).canonical());
    let count: i64 = db.count("select count(*) from custodian.history");
    assert_eq!(count, 0, "nothing written");
}

#[test]
fn an_outside_write_that_leaves_updated_at_alone_is_still_a_conflict() {
    // Logto's trigger off (a replica, `pg_restore --disable-triggers`): the revision and
    // updated_at both stayed, and the save replaced the outside document unasked.
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let base = store.custom_data("u1").expect("read");
    let mut superuser = db.superuser();
    let mut tx = superuser.transaction().expect("transaction");
    tx.batch_execute("set local session_replication_role = replica").expect("no triggers");
    tx.execute(
        "update users set custom_data = '{\"replicated\":\"second\"}' where tenant_id = 'default' and id = 'u1'",
        &[],
    )
    .expect("outside update");
    tx.commit().expect("commit");
    let error = store
        .replace_custom_data("u1", &data(r#"{"by":"custodian"}"#), Some(base.revision), &author())
        .unwrap_err();
    assert!(matches!(error, StoreError::ChangedOutside { .. }), "{error}");
    assert_eq!(store.custom_data("u1").expect("read").text, data(r#"{"replicated":"second"}"#).canonical());
}

#[test]
fn an_outside_write_to_any_column_between_read_and_save_is_a_conflict() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let base = store.custom_data("u2").expect("read");
    // Logto's own write (a sign-in, a profile edit) moves updated_at through its trigger.
    db.superuser()
        .execute("update users set name = 'Robert' where tenant_id = 'default' and id = 'u2'", &[])
        .expect("outside update");
    let error =
        store.replace_custom_data("u2", &data(r#"{"a":1}"#), Some(base.revision), &author()).unwrap_err();
    assert!(matches!(error, StoreError::ChangedOutside { .. }), "{error}");
    assert!(error.is_conflict());
    assert_eq!(store.custom_data("u2").expect("read").text, "{}");
    // Read again, the save goes through; updated_at is Logto's trigger's, not ours.
    let base = store.custom_data("u2").expect("read");
    let before = store.user("u2").expect("user").user.updated_at;
    store.replace_custom_data("u2", &data(r#"{"a":1}"#), Some(base.revision), &author()).expect("save");
    assert!(store.user("u2").expect("user").user.updated_at >= before);
}

#[test]
fn overwriting_theirs_after_a_sign_in_saves_and_a_save_over_the_older_base_stays_a_conflict() {
    // A sign-in moved updated_at and left customData alone: the conflict's overwrite was held
    // to the editor's base's updated_at, and was refused as a conflict again every time.
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let base = store.custom_data("u2").expect("read");
    db.superuser()
        .execute("update users set last_sign_in_at = now() where tenant_id = 'default' and id = 'u2'", &[])
        .expect("a sign-in");
    let edit = data(r#"{"plan":"pro"}"#);
    store.hold_save_to("u2", &base);
    let error = store.replace_custom_data("u2", &edit, Some(base.revision), &author()).unwrap_err();
    assert!(matches!(error, StoreError::ChangedOutside { .. }), "{error}");
    let theirs = store.theirs("u2").expect("theirs");
    assert_eq!((theirs.text.as_str(), theirs.revision), (base.text.as_str(), base.revision));
    assert_ne!(theirs.updated_micros, base.updated_micros, "the sign-in moved updated_at");
    // Back to editing and Ctrl-S, held to the base again: reading theirs did not make it the base.
    store.hold_save_to("u2", &base);
    let error = store.replace_custom_data("u2", &edit, Some(base.revision), &author()).unwrap_err();
    assert!(matches!(error, StoreError::ChangedOutside { .. }), "{error}");
    // The overwrite, held to theirs: saved.
    store.hold_save_to("u2", &theirs);
    let saved = store.replace_custom_data("u2", &edit, Some(theirs.revision), &author()).expect("overwrite");
    assert!(matches!(saved, SaveOutcome::Saved { .. }), "{saved:?}");
    assert_eq!(store.custom_data("u2").expect("read").text, edit.canonical());
}

#[test]
fn the_save_over_an_outside_write_comes_after_it_in_the_journal_whatever_its_updated_at() {
    // An outside write's updated_at later than the save's transaction began (one that
    // committed meanwhile, or a time set with SQL) put it above the save that replaced it.
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    store.replace_custom_data("u3", &data(r#"{"a":2}"#), Some(1), &author()).expect("save");
    let mut superuser = db.superuser();
    let mut tx = superuser.transaction().expect("transaction");
    tx.batch_execute("set local session_replication_role = replica").expect("no triggers");
    tx.execute(
        "update users set custom_data = '{\"a\":\"outside\"}', updated_at = now() + interval '1 hour' where id = 'u3'",
        &[],
    )
    .expect("outside update");
    tx.commit().expect("commit");
    store.hold_save_to("u3", &store.theirs("u3").expect("theirs"));
    store.replace_custom_data("u3", &data(r#"{"a":4}"#), Some(3), &author()).expect("save over it");
    let query = JournalQuery { user_id: Some("u3".into()), ..JournalQuery::default() };
    let mut newest_first = Vec::new();
    store
        .journal(&query, &mut |entry| {
            newest_first.push((entry.revision, entry.saved_by.clone(), entry.saved_at));
            Ok(true)
        })
        .expect("journal");
    let order: Vec<(u64, &str)> = newest_first.iter().map(|(r, by, _)| (*r, by.as_str())).collect();
    assert_eq!(order[..2], [(4, "editor"), (3, "outside custodian")], "{newest_first:?}");
    assert!(newest_first[0].2 >= newest_first[1].2, "{newest_first:?}");
}

/// An outside write that lands after a save with an `updated_at` before it (Logto's trigger
/// stamps the time its transaction began: one that waited for the save's lock) is kept dated
/// no earlier than that save: dated by its `updated_at`, it came before the save in the
/// journal, which showed the overwritten save as the newest (bb46 F2).
#[test]
fn an_outside_write_dated_before_the_save_it_replaced_comes_after_it_in_the_journal() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let mut superuser = db.superuser();
    // Begun before the save: the trigger stamps this transaction's start.
    let mut tx = superuser.transaction().expect("transaction");
    tx.query_one("select now()", &[]).expect("the transaction's time is taken");
    std::thread::sleep(std::time::Duration::from_millis(50));
    store.replace_custom_data("u3", &data(r#"{"a":2}"#), Some(1), &author()).expect("save");
    tx.execute("update users set custom_data = '{\"a\":\"late\"}' where id = 'u3'", &[])
        .expect("outside update");
    tx.commit().expect("commit");
    store.keep_outside_write("u3").expect("kept, as a read of the user keeps it");
    let history = store.history("u3").expect("history");
    let last_two: Vec<(u64, &str)> =
        history.iter().rev().take(2).map(|r| (r.revision, r.saved_by.as_str())).collect();
    assert_eq!(last_two, [(3, "outside custodian"), (2, "editor")]);
    let query = JournalQuery { user_id: Some("u3".into()), ..JournalQuery::default() };
    let mut newest_first = Vec::new();
    store
        .journal(&query, &mut |entry| {
            newest_first.push((entry.revision, entry.saved_at));
            Ok(true)
        })
        .expect("journal");
    assert_eq!(newest_first.iter().map(|(r, _)| *r).take(2).collect::<Vec<_>>(), [3, 2], "{newest_first:?}");
    assert!(
        newest_first[0].1 >= newest_first[1].1,
        "the outside write no earlier than the save: {newest_first:?}"
    );
}

#[test]
fn a_document_changed_outside_custodian_becomes_a_revision_of_its_own() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    store.custom_data("u3").expect("read");
    store.replace_custom_data("u3", &data(r#"{"a":2}"#), Some(1), &author()).expect("save");
    db.superuser()
        .execute("update users set custom_data = '{\"a\":\"outside\"}' where id = 'u3'", &[])
        .expect("outside update");
    let current = store.custom_data("u3").expect("read");
    assert_eq!(current.revision, 3);
    assert_eq!(store.user("u3").expect("user").revised_by, "outside custodian");
    // Before a save keeps it, the history lists the outside document as the current revision.
    let listed: Vec<(u64, String, bool)> = store
        .history("u3")
        .expect("history")
        .into_iter()
        .map(|r| (r.revision, r.saved_by, r.current))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, "outside custodian".into(), false),
            (2, "editor".into(), false),
            (3, "outside custodian".into(), true)
        ]
    );
    store.replace_custom_data("u3", &data(r#"{"a":4}"#), Some(3), &author()).expect("save over it");
    let history = store.history("u3").expect("history");
    let summary: Vec<(u64, &str, bool)> =
        history.iter().map(|r| (r.revision, r.saved_by.as_str(), r.current)).collect();
    assert_eq!(
        summary,
        vec![
            (1, "outside custodian", false),
            (2, "editor", false),
            (3, "outside custodian", false),
            (4, "editor", true)
        ]
    );
    assert_eq!(
        store.revision_text("u3", 3).expect("outside revision"),
        data(r#"{"a":"outside"}"#).canonical()
    );
}

/// A read keeps a document written outside custodian as a revision when it can; a role not
/// allowed to write the history lets the read go on, and the next read or save keeps it. A row
/// held by another session past the lock timeout fails the read: left unkept, the document was
/// given as revision N+1, a number the next document kept then took (bb53 F1). Any other
/// failure is said.
#[test]
fn an_outside_document_a_role_may_not_keep_lets_the_read_go_on_and_a_held_row_or_other_failures_are_said() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let kept_rows = || -> i64 { db.count("select count(*) from custodian.history where user_id = 'u3'") };
    db.superuser()
        .execute("update users set custom_data = '{\"a\":\"outside\"}' where id = 'u3'", &[])
        .expect("outside update");
    // The row held by another session past the lock timeout: nothing kept, the read refused.
    let mut holder = db.superuser();
    let mut holding = holder.transaction().expect("begin");
    holding.execute("select 1 from users where id = 'u3' for update", &[]).expect("hold the row");
    match store.keep_outside_write("u3") {
        Err(StoreError::HeldWhileRead { user, never_kept }) => {
            assert_eq!((user.as_str(), never_kept), ("u3", true))
        }
        other => panic!("{other:?}"),
    }
    holding.rollback().expect("release the row");
    assert_eq!(kept_rows(), 0);
    // A role not allowed to write the history: nothing kept, no error.
    let (role, _) = db.tenant_role("default");
    let mut admin = db.superuser();
    // The tenant's role and the roles it inherits from (Logto's `logto_tenant_<database>`).
    let roles: Vec<String> = admin
        .query(
            "select $1::text union select p.rolname::text from pg_auth_members m join pg_roles p on p.oid = m.roleid \
             join pg_roles r on r.oid = m.member where r.rolname = $1",
            &[&role],
        )
        .expect("the roles")
        .iter()
        .map(|row| format!("\"{}\"", row.get::<_, String>(0)))
        .collect();
    let roles = roles.join(", ");
    admin.batch_execute(&format!("revoke insert on custodian.history from {roles}")).expect("revoke");
    store.keep_outside_write("u3").expect("the read goes on without the right to keep");
    assert_eq!(kept_rows(), 0);
    admin.batch_execute(&format!("grant insert on custodian.history to {roles}")).expect("grant");
    // Now it is kept, as revision 1 (custodian never saved this user).
    store.keep_outside_write("u3").expect("kept");
    assert_eq!(kept_rows(), 1);
    // Any other failure is said: here the session ended by the server.
    db.superuser()
        .execute("update users set custom_data = '{\"a\":\"again\"}' where id = 'u3'", &[])
        .expect("outside update");
    db.superuser()
        .execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
            &[],
        )
        .expect("end the store's session");
    let error = store.keep_outside_write("u3").expect_err("the session went");
    assert!(error.is_connection_lost(), "{error:?}");
}

#[test]
fn jsonb_orders_keys_its_own_way_and_keeps_decimal_text_and_big_integers() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let written = r#"{"zeta":1,"a":2,"price":1.50,"big":12345678901234567890123,"mid":[1.0,2]}"#;
    store.replace_custom_data("u5", &data(written), Some(1), &author()).expect("save");
    let stored = store.custom_data("u5").expect("read");
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&stored.text)
        .expect("object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec!["a", "big", "mid", "zeta", "price"], "shorter keys first, then bytewise");
    assert!(stored.text.contains("1.50"), "{}", stored.text);
    assert!(stored.text.contains("12345678901234567890123"), "{}", stored.text);
    assert!(stored.text.contains("1.0"), "{}", stored.text);
    // The same document in the writer's order is no change at all.
    assert_eq!(
        store.replace_custom_data("u5", &data(written), Some(2), &author()).expect("save again"),
        SaveOutcome::Unchanged { revision: 2 }
    );
}

/// Inserts `n` plain users into `tenant` in one statement, as a bulk load would.
fn insert_many(db: &LogtoDb, tenant: &str, n: i32) {
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, created_at, updated_at) \
             select $1::text, 'g' || left($1::text, 1) || lpad(i::text, 9, '0'), $1::text || i, now(), now() from generate_series(1, $2) i",
            &[&tenant, &n],
        )
        .expect("bulk insert");
}

#[test]
fn many_users_are_estimated_from_the_planner_and_labelled_so_few_are_counted() {
    let db = logto_with_people();
    // Another tenant's users must not count, estimated or not.
    insert_many(&db, "admin", 5_000);
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    assert_eq!(store.user_count().expect("count"), UserCount { users: 12, exact: true });
    insert_many(&db, "default", 30_000);
    db.superuser().batch_execute("analyze users").expect("analyze");
    let count = store.user_count().expect("count");
    assert!(!count.exact, "{count:?}");
    // The planner's figure from the statistics: near the 30,012 there are, not the 35,014
    // of both tenants.
    assert!((27_000..=33_000).contains(&count.users), "{count:?}");
    assert_eq!(store.count().expect("exact count"), 30_012);
    // Every row written twice more (a batch and its undo) leaves dead copies until a vacuum:
    // the planner's figure grew with the table's pages (50,021 users shown as ~132,773).
    let mut superuser = db.superuser();
    superuser.batch_execute("alter table users set (autovacuum_enabled = false)").expect("no vacuum");
    for _ in 0..2 {
        superuser
            .batch_execute("update users set custom_data = custom_data where tenant_id = 'default'")
            .expect("bloat");
    }
    let count = store.user_count().expect("count");
    assert!((27_000..=33_000).contains(&count.users), "{count:?}");
    // Without statistics for the new rows (they say no more than the 10,001 counted) the
    // users are counted one by one: `~10,001` read as "about ten thousand" (bb63 F2).
    let fresh = LogtoDb::new();
    insert_many(&fresh, "default", 10_050);
    let store = connect(&fresh.tenant_url("default"), "default").expect("connect");
    let count = store.user_count().expect("count");
    assert_eq!(count, UserCount { users: store.count().expect("exact count"), exact: true });
}

#[test]
fn secrets_are_never_selected_nor_returned() {
    let db = logto_with_people();
    let store = connect(&db.superuser_url(), "default").expect("connect");
    store.custom_data("u1").expect("read");
    store.replace_custom_data("u1", &data(r#"{"theme":"blue"}"#), Some(1), &author()).expect("save");
    let mut returned = Vec::new();
    let mut keep = |user: &custodian::domain::User| {
        support::postgres::strings_in(&Value::Object(user.to_logto(None)), &mut returned)
    };
    for entry in store.rows(&Seek::First, 100).expect("rows") {
        keep(&entry.user);
    }
    for entry in store.prefix_matches("u", 100).expect("prefix") {
        keep(&entry.user);
    }
    for entry in store.scan_matches("e", None, 100, 100).expect("scan").hits {
        keep(&entry.user);
    }
    keep(&store.user("u1").expect("user").user);
    keep(&store.entry("u2").expect("entry").user);
    let mut texts =
        vec![store.custom_data("u1").expect("read").text, store.revision_text("u1", 1).expect("old")];
    store
        .for_each_user(&mut |record, text| {
            keep(&record.user);
            texts.push(text.to_owned());
            Ok(())
        })
        .expect("walk");
    texts.extend(store.history("u1").expect("history").into_iter().map(|r| r.saved_by));
    let everything = format!("{returned:?} {texts:?} {}", store.describe_connection());
    for secret in [PASSWORD_HASH, TOTP_SECRET, LOGTO_CONFIG_SECRET, "backup-code-secret", "Argon2i"] {
        assert!(!everything.contains(secret), "{secret} came out");
    }
    // And the source never names those columns: they are not even selected.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/postgres");
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for path in files {
        let source = std::fs::read_to_string(&path).expect("source");
        let code: String =
            source.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for column in SECRET_COLUMNS {
            assert!(!code.contains(column), "{} names {column}", path.display());
        }
        assert!(!code.to_lowercase().contains("select *"), "{} selects *", path.display());
    }
}

/// What custodian's `init` may not change: Logto's `users` table as the catalog sees it.
fn users_table_fingerprint(client: &mut ::postgres::Client) -> String {
    let rows = client
        .query(
            "select 'column ' || string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) from information_schema.columns where table_schema = 'public' and table_name = 'users'
             union all select 'index ' || string_agg(indexdef, ', ' order by indexname) from pg_indexes where schemaname = 'public' and tablename = 'users'
             union all select 'trigger ' || coalesce(string_agg(tgname, ', ' order by tgname), '') from pg_trigger where tgrelid = 'public.users'::regclass
             union all select 'policy ' || string_agg(policyname, ', ' order by policyname) from pg_policies where tablename = 'users'
             union all select 'acl ' || coalesce(relacl::text, '') from pg_class where oid = 'public.users'::regclass",
            &[],
        )
        .expect("fingerprint");
    rows.iter().map(|r| r.get::<_, Option<String>>(0).unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

fn custodian_schema_fingerprint(client: &mut ::postgres::Client) -> String {
    let rows = client
        .query(
            "select 'class ' || string_agg(c.relname || ' ' || coalesce(c.relacl::text, '') || ' ' || c.relrowsecurity, ', ' order by c.relname)
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'custodian'
             union all select 'schema ' || coalesce(nspacl::text, '') from pg_namespace where nspname = 'custodian'
             union all select 'policy ' || string_agg(policyname || ' ' || permissive || ' ' || qual, ', ' order by policyname) from pg_policies where schemaname = 'custodian'
             union all select 'meta ' || string_agg(key || '=' || value, ', ') from custodian.meta",
            &[],
        )
        .expect("fingerprint");
    rows.iter().map(|r| r.get::<_, Option<String>>(0).unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

#[test]
fn init_is_idempotent_and_leaves_logtos_tables_alone() {
    let db = LogtoDb::new();
    let mut client = db.superuser();
    let users_before = users_table_fingerprint(&mut client);
    db.init_custodian();
    let first = custodian_schema_fingerprint(&mut client);
    assert!(first.contains("custodian_history_tenant_id"), "{first}");
    assert!(first.contains("logto_tenant_logto_default") || first.contains("logto_tenant_"), "{first}");
    db.init_custodian();
    assert_eq!(custodian_schema_fingerprint(&mut client), first, "a second init changes nothing");
    assert_eq!(users_table_fingerprint(&mut client), users_before, "Logto's users table untouched");
}

/// `init` run from several places at once (every replica's start-up script): each waits
/// for the one before and says ready; their DDL deadlocked, and all but one failed with a
/// bare `deadlock detected` (bb41 F7).
#[test]
fn inits_run_at_once_wait_for_each_other_and_all_succeed() {
    let db = LogtoDb::new();
    let url = db.superuser_url();
    for round in 0..2 {
        let results: Vec<_> = std::thread::scope(|scope| {
            let runs: Vec<_> =
                (0..4).map(|_| scope.spawn(|| custodian::store::PostgresStore::init(&url))).collect();
            runs.into_iter().map(|run| run.join().expect("an init thread")).collect()
        });
        for result in results {
            assert!(result.is_ok(), "round {round}: {result:?}");
        }
    }
}

/// A tenant whose row names a role that does not exist: `init` grants it nothing, syncs and
/// readies the others, and names it. It stopped at `role "…" does not exist` without naming
/// the tenant, and no tenant was ready (bb41 F7).
#[test]
fn init_readies_every_other_tenant_and_names_one_whose_role_does_not_exist() {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    db.superuser()
        .execute(
            "insert into tenants (id, db_user, db_user_password) values ('ghost', 'logto_tenant_no_such_role', 'x')",
            &[],
        )
        .expect("a tenant row naming no role");
    let done = custodian::store::PostgresStore::init(&db.superuser_url()).expect("init");
    assert_eq!(done.roleless, [("ghost".to_owned(), "logto_tenant_no_such_role".to_owned())]);
    let store = connect(&db.tenant_url("default"), "default").expect("the default tenant's role");
    assert!(store.is_initialised());
    store.replace_custom_data("u1", &data(r#"{"ready":true}"#), None, &author()).expect("a save");
}

#[test]
fn without_custodian_schema_there_is_no_json_schema_and_setting_one_names_init() {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    assert_eq!(store.schema().expect("read"), None);
    assert!(store.schema_history().expect("history").is_empty());
    let error = store.set_schema(Some(SCHEMA_V1), &author()).unwrap_err();
    assert!(matches!(error, StoreError::NotInitialised { .. }), "{error}");
    assert!(error.to_string().contains(" init`"), "{error}");
}

#[test]
fn each_tenant_has_its_own_json_schema() {
    let db = logto_with_people();
    let default_role = connect(&db.tenant_url("default"), "default").expect("default role");
    let admin_role = connect(&db.tenant_url("admin"), "admin").expect("admin role");
    default_role.set_schema(Some(SCHEMA_V1), &author()).expect("set");
    assert_eq!(admin_role.schema().expect("read"), None, "another tenant's schema is not seen");
    assert_eq!(admin_role.set_schema(Some(SCHEMA_V2), &author()).expect("set"), (1, true));
    assert_eq!(default_role.schema().expect("read").map(|s| s.text), Some(SCHEMA_V1.to_owned()));
    let rows: i64 = db.count("select count(*) from custodian.schema_history");
    assert_eq!(rows, 2);
}

#[test]
fn without_custodian_schema_browsing_works_and_a_save_names_init() {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    let url = db.tenant_url("default");
    let store = connect(&url, "default").expect("connect");
    assert!(!store.is_initialised());
    assert_eq!(ids(&store.rows(&Seek::First, 100).expect("rows")), expected_order());
    let document = store.custom_data("u1").expect("read");
    assert_eq!(document.revision, 1);
    assert_eq!(store.history("u1").expect("history").len(), 1);
    let error = store.replace_custom_data("u1", &data(r#"{"x":1}"#), Some(1), &author()).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::NotInitialised { .. }), "{message}");
    assert!(message.contains("custodian --db postgres://") && message.contains(" init`"), "{message}");
    let (_, password) = db.tenant_role("default");
    assert!(!message.contains(&password), "the password is never shown: {message}");
    assert_eq!(store.custom_data("u1").expect("read").text, document.text);
}

#[test]
fn import_is_refused_because_logto_creates_users() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let mut reader = ImportReader::new(br#"[{"id":"new1"}]"#, Limits::default(), 0).expect("readable");
    let error = store.import(&mut reader, ImportMode::InsertOnly, &author()).unwrap_err();
    assert!(matches!(error, StoreError::NotOnThisBackend(_)));
    assert!(error.to_string().contains("users are created by Logto"), "{error}");
    assert_eq!(store.count().expect("count"), 12);
}

#[test]
fn sslmode_require_really_encrypts_and_verify_full_checks_the_certificate() {
    let db = logto_with_people();
    let (role, password) = db.tenant_role("default");
    let base = format!("postgres://{role}:{password}@127.0.0.1:{}/{}", db.server.port, db.name);
    let require = format!("{base}?sslmode=require&application_name=custodian-tls-test");
    let store = connect(&require, "default").expect("TLS with sslmode=require");
    assert_eq!(store.count().expect("count"), 12);
    let encrypted: bool = db
        .superuser()
        .query_one(
            "select bool_and(s.ssl) from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'custodian-tls-test'",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0);
    assert!(encrypted, "the session runs over TLS");
    let verified = format!("{base}?sslmode=verify-full&sslrootcert={}", db.server.root_cert.display());
    connect(&verified, "default").expect("the certificate chains to sslrootcert and names 127.0.0.1");
    // A root that did not sign the server's certificate: refused, in one line.
    let dir = TempDir::new().expect("temp");
    let other = dir.path().join("other.crt");
    let made = std::process::Command::new("openssl")
        .args(["req", "-new", "-x509", "-days", "1", "-nodes", "-newkey", "rsa:2048", "-subj", "/CN=other"])
        .arg("-keyout")
        .arg(dir.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .expect("openssl");
    assert!(made.status.success());
    let wrong = format!("{base}?sslmode=verify-full&sslrootcert={}", other.display());
    let error = connect(&wrong, "default").err().expect("an unknown issuer is refused");
    let message = error.to_string();
    assert!(message.contains("certificate") || message.contains("Certificate"), "{message}");
    assert!(!message.contains(&password) && !message.contains('\n'), "{message}");
}

#[test]
fn bad_connections_fail_in_one_line_naming_the_problem_without_the_password() {
    let db = logto_with_people();
    let (role, password) = db.tenant_role("default");
    let port = db.server.port;
    let wrong = format!("postgres://{role}:not-{password}@127.0.0.1:{port}/{}?sslmode=disable", db.name);
    let message = connect(&wrong, "default").err().expect("wrong password").to_string();
    assert!(message.contains("password authentication failed"), "{message}");
    // The server's refusal of the role (28P01) names the role, as a refusal, not a bare message.
    assert!(
        message.contains(&format!("the server refused role {role:?}: password authentication failed")),
        "{message}"
    );
    assert!(!message.contains(&password), "{message}");
    let missing = format!("postgres://postgres@127.0.0.1:{port}/no_such_db?sslmode=disable");
    let message = connect(&missing, "default").err().expect("no database").to_string();
    assert!(message.contains("database \"no_such_db\" does not exist"), "{message}");
    let not_logto = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let message = connect(&not_logto, "default").err().expect("not Logto").to_string();
    assert!(message.contains("not a Logto database"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

// ---- custodian's key table (the screen's list on PostgreSQL) ----

/// Users of many shapes, inserted with SQL as Logto stores them: mixed case, accents,
/// handles from each field, and two users whose handles tie (one's username is the other's
/// email), so the id decides between them.
fn insert_many_shapes(db: &LogtoDb, tenant: &str, count: i32) {
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, primary_email, primary_phone, name, custom_data)
             select $1, 'g' || lpad(i::text, 5, '0'),
                 case i % 5 when 0 then null when 1 then 'User' || i when 2 then 'émile' || i
                     when 3 then 'ZED_' || (i % 7) || '_' || i else 'a' || i end,
                 case when i % 3 = 0 then null else 'Mail' || i || '@Example.com' end,
                 case when i % 4 = 0 then '49' || lpad(i::text, 8, '0') end,
                 'Name ' || chr(65 + i % 26) || i,
                 jsonb_build_object('n', i, 'note', case when i % 17 = 0 then 'needle' || i end)
             from generate_series(1, $2) i",
            &[&tenant, &count],
        )
        .expect("insert users");
    let mut client = db.superuser();
    for (id, username, email) in
        [("t1", Some("tie@example.com"), None), ("t0", None, Some("TIE@example.com"))]
    {
        client
            .execute(
                "insert into users (tenant_id, id, username, primary_email) values ($1, $2, $3, $4)",
                &[&tenant, &id, &username, &email],
            )
            .expect("insert a tie");
    }
}

/// `search` as the trait's steps do it (scan_matches in steps of 50).
fn in_steps(store: &dyn UserStore, query: &str, after: Option<&ListKey>, limit: usize) -> Vec<ListEntry> {
    let (mut found, mut after) = (Vec::new(), after.cloned());
    while found.len() < limit {
        let step = store.scan_matches(query, after.as_ref(), 50, limit - found.len()).expect("step");
        found.extend(step.hits);
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    found
}

fn listed(store: &dyn UserStore) -> Vec<(String, ListKey)> {
    store.rows(&Seek::First, 100_000).expect("rows").into_iter().map(|e| (e.user.id.clone(), e.key)).collect()
}

/// A sync is not bound by the session's statement timeout (the screen's is 10 s): many users
/// created since the last sync took longer, the sync was cut off every time, and they were
/// never listed (bb41 F10). Here a timeout far shorter than the sync stands for it.
#[test]
fn a_key_sync_longer_than_the_sessions_statement_timeout_still_completes() {
    let db = LogtoDb::new();
    db.init_custodian();
    insert_many_shapes(&db, "default", 20_000);
    let url = db.tenant_url("default");
    let options = PostgresOptions {
        statement_timeout: std::time::Duration::from_millis(100),
        ..key_table_options("default")
    };
    let keyed = PostgresStore::connect(&url, &options).expect("keyed");
    assert!(keyed.sync_keys().expect("the sync completes"));
    assert_eq!(keyed.count().expect("count"), 20_002);
    let first = keyed.rows(&Seek::First, 5).expect("rows");
    assert_eq!(first.len(), 5);
}

/// On a server that takes no writes (a hot standby, `default_transaction_read_only`) the keys
/// cannot be synced: the screen read them as they were and said "`init` brings them up to date"
/// (bb53 F4). Such a session reads the users themselves, as a read-only one does.
#[test]
fn a_server_that_takes_no_writes_is_read_without_the_key_table() {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", PEOPLE);
    let url = db.tenant_url("default");
    let keyed = PostgresStore::connect(&url, &key_table_options("default")).expect("keyed");
    assert!(keyed.uses_key_table());
    drop(keyed);
    db.superuser()
        .batch_execute(&format!("alter database {} set default_transaction_read_only = on", db.name))
        .expect("a server that takes no writes");
    let store = PostgresStore::connect(&url, &key_table_options("default")).expect("connect");
    assert!(!store.uses_key_table());
    assert!(!store.sync_keys().expect("nothing to sync"));
    assert_eq!(all_ids(&store).len(), 12, "every user listed");
}

#[test]
fn the_key_table_gives_the_exact_paths_order_prefixes_and_substring_hits() {
    let db = LogtoDb::new();
    db.init_custodian();
    insert_many_shapes(&db, "default", 400);
    let url = db.tenant_url("default");
    let exact = connect(&url, "default").expect("exact");
    let keyed = PostgresStore::connect(&url, &key_table_options("default")).expect("keyed");
    assert!(keyed.uses_key_table() && !exact.uses_key_table());
    assert!(keyed.sync_keys().expect("sync"));
    let everyone = listed(&exact);
    assert_eq!(everyone.len(), 402);
    assert_eq!(listed(&keyed), everyone, "the same order and the same list keys");
    // Paging by key both ways, in odd-sized pages, gives the same users.
    let mut forward = Vec::new();
    let mut after: Option<ListKey> = None;
    loop {
        let page = keyed.page_after(after.as_ref(), 37).expect("page");
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        forward.extend(ids(&page));
    }
    assert_eq!(forward, everyone.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
    let middle = everyone[200].1.clone();
    assert_eq!(
        ids(&keyed.page_before(Some(&middle), 37).expect("before")),
        ids(&exact.page_before(Some(&middle), 37).expect("before"))
    );
    assert_eq!(
        ids(&keyed.rows(&Seek::Last, 5).expect("last")),
        ids(&exact.rows(&Seek::Last, 5).expect("last"))
    );
    for query in [
        "u", "USER1", "mail2", "émi", "É", "49000", "name b", "g0001", "zed_3", "tie", "t0", "a1", "%", "_",
        "zzz",
    ] {
        let all = ids(&keyed.prefix_matches(query, 1000).expect("keyed prefix"));
        assert_eq!(all, ids(&exact.prefix_matches(query, 1000).expect("exact prefix")), "prefix {query:?}");
        // Within a limit, the first of each kind of key, in list order (as redb's indexes).
        let few = ids(&keyed.prefix_matches(query, 3).expect("keyed prefix"));
        assert_eq!(few.len(), all.len().min(3), "prefix {query:?}, limit 3");
        assert!(few.iter().all(|id| all.contains(id)), "prefix {query:?}, limit 3");
    }
    for query in ["ail1", "É", "_3_", "needle", "NEEDLE34", "example.com", "tie", "nothing-like-it"] {
        let portal = ids(&exact.search(query, None, 1000).expect("exact search"));
        assert_eq!(
            ids(&keyed.search(query, None, 1000).expect("keyed search")),
            portal,
            "substring {query:?}"
        );
        // The exact path's search reads one portal; its steps give the same hits.
        assert_eq!(ids(&in_steps(&exact, query, None, 1000)), portal, "substring {query:?}");
        // From a key, and to a limit, as the steps do.
        let from = everyone[150].1.clone();
        assert_eq!(
            ids(&exact.search(query, Some(&from), 7).expect("exact search")),
            ids(&in_steps(&exact, query, Some(&from), 7)),
            "substring {query:?} after a key"
        );
    }
    // A scan in steps ends where the exact one does, step by step.
    let (mut a, mut b) = (None::<ListKey>, None::<ListKey>);
    loop {
        let (x, y) = (
            keyed.scan_matches("needle", a.as_ref(), 50, 3).expect("keyed step"),
            exact.scan_matches("needle", b.as_ref(), 50, 3).expect("exact step"),
        );
        assert_eq!((ids(&x.hits), x.scanned, &x.next), (ids(&y.hits), y.scanned, &y.next));
        if x.next.is_none() {
            break;
        }
        (a, b) = (x.next, y.next);
    }
}

#[test]
fn a_user_created_or_renamed_outside_takes_its_place_after_a_sync_and_a_deleted_one_goes_at_once() {
    let db = logto_with_people();
    let url = db.tenant_url("default");
    let keyed = PostgresStore::connect(&url, &key_table_options("default")).expect("keyed");
    assert!(keyed.sync_keys().expect("first sync"));
    assert!(!keyed.sync_keys().expect("second sync"), "nothing changed since");
    let mut client = db.superuser();
    client
        .execute("insert into users (tenant_id, id, username) values ('default', 'new1', 'Aardvark')", &[])
        .expect("insert outside");
    client.execute("update users set username = 'zz-renamed' where id = 'u1'", &[]).expect("rename outside");
    client.execute("delete from users where id = 'u6'", &[]).expect("delete outside");
    // Before a sync: the deleted user is gone already, the new one not there yet, the
    // renamed one at its old place.
    let before = ids(&keyed.rows(&Seek::First, 100).expect("rows"));
    let expected: Vec<String> = expected_order().into_iter().filter(|id| id != "u6").collect();
    assert_eq!(before, expected);
    assert!(ids(&keyed.prefix_matches("alice", 50).expect("prefix")).iter().all(|id| id != "u6"));
    // Prefixes read the same keys: neither the new name nor the renamed one is found yet.
    assert!(keyed.prefix_matches("aard", 50).expect("prefix").is_empty());
    assert!(keyed.prefix_matches("zz-", 50).expect("prefix").is_empty());
    assert!(keyed.search("needle-in-data", None, 50).expect("scan").is_empty());
    assert!(keyed.sync_keys().expect("sync"), "the sync took in the three changes");
    let after = ids(&keyed.rows(&Seek::First, 100).expect("rows"));
    assert_eq!(after, ids(&connect(&url, "default").expect("exact").rows(&Seek::First, 100).expect("rows")));
    let place = |id: &str| after.iter().position(|x| x == id).expect("listed");
    assert!(
        place("u4") < place("new1") && place("new1") < place("u7"),
        "aardvark after 4930…, before alice3"
    );
    assert!(place("u8") < place("u1") && place("u1") < place("u9"), "zz-renamed after zed, before émile");
    assert_eq!(ids(&keyed.prefix_matches("aard", 50).expect("prefix")), vec!["new1"]);
    assert_eq!(ids(&keyed.prefix_matches("zz-", 50).expect("prefix")), vec!["u1"]);
    assert!(!keyed.sync_keys().expect("again"));
}

fn key_rows(client: &mut ::postgres::Client) -> Vec<(String, i16, String, String)> {
    client
        .query("select tenant_id, kind, key, user_id from custodian.user_keys order by 1, 2, 3, 4", &[])
        .expect("keys")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[test]
fn init_syncs_every_tenants_keys_and_a_second_init_changes_none() {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    db.insert("admin", &LogtoUser::new("adm1"));
    db.init_custodian();
    let mut client = db.superuser();
    let (schema, keys) = (custodian_schema_fingerprint(&mut client), key_rows(&mut client));
    assert_eq!(keys.iter().filter(|k| k.1 == 0).count(), 13, "one handle per user, both tenants");
    assert!(keys.iter().any(|k| k.0 == "admin" && k.3 == "adm1"));
    assert!(schema.contains("custodian_user_keys_tenant_id"), "{schema}");
    db.init_custodian();
    assert_eq!(custodian_schema_fingerprint(&mut client), schema);
    assert_eq!(key_rows(&mut client), keys);
    let synced: i64 =
        client.query_one("select count(*) from custodian.key_syncs", &[]).expect("syncs").get(0);
    assert_eq!(synced, 2, "each tenant's last sync is noted");
}

#[test]
fn a_tenant_role_reads_and_syncs_only_its_own_tenants_keys() {
    let db = LogtoDb::new();
    db.insert_json("default", PEOPLE);
    db.insert("admin", &LogtoUser::new("adm1"));
    db.init_custodian();
    // Both tenants get a user after init: admin's role syncs only admin's.
    let mut superuser = db.superuser();
    for (tenant, id) in [("admin", "adm2"), ("default", "d1")] {
        superuser
            .execute("insert into users (tenant_id, id) values ($1, $2)", &[&tenant, &id])
            .expect("insert");
    }
    let default_keys_before: Vec<_> =
        key_rows(&mut superuser).into_iter().filter(|k| k.0 == "default").collect();
    assert_eq!(default_keys_before.iter().filter(|k| k.1 == 0).count(), 12);
    let admin = PostgresStore::connect(&db.tenant_url("admin"), &key_table_options("admin")).expect("admin");
    assert!(admin.sync_keys().expect("admin sync"));
    assert_eq!(all_ids(&admin), ["adm1", "adm2"].into_iter().map(String::from).collect());
    // Straight SQL as admin's role: only its own rows are visible, and another tenant's can
    // be neither deleted nor written.
    let (role, password) = db.tenant_role("admin");
    let mut as_admin = ::postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user={role} password={password} dbname={}", db.server.port, db.name),
        ::postgres::NoTls,
    )
    .expect("connect as admin's role");
    let seen: Vec<String> = as_admin
        .query("select distinct tenant_id::text from custodian.user_keys", &[])
        .expect("read keys")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seen, vec!["admin"]);
    assert_eq!(
        as_admin.execute("delete from custodian.user_keys where tenant_id = 'default'", &[]).expect("delete"),
        0
    );
    assert!(
        as_admin
            .execute("insert into custodian.user_keys (tenant_id, kind, key, user_id) values ('default', 0, 'a', 'x')", &[])
            .is_err(),
        "row-level security refuses another tenant's key"
    );
    let default_keys_after: Vec<_> =
        key_rows(&mut superuser).into_iter().filter(|k| k.0 == "default").collect();
    assert_eq!(default_keys_after, default_keys_before);
}

#[test]
fn a_read_only_session_reads_the_exact_order_and_never_syncs() {
    let db = logto_with_people();
    let url = db.tenant_url("default");
    let mut client = db.superuser();
    client
        .execute("insert into users (tenant_id, id, username) values ('default', 'new1', 'Aardvark')", &[])
        .expect("insert");
    let (keys, syncs) = (key_rows(&mut client), custodian_schema_fingerprint(&mut client));
    let synced_at = |client: &mut ::postgres::Client| -> Vec<String> {
        client
            .query("select tenant_id || synced_at::text from custodian.key_syncs order by 1", &[])
            .expect("syncs")
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let times = synced_at(&mut client);
    let options = PostgresOptions { read_only: true, ..key_table_options("default") };
    let store = PostgresStore::connect(&url, &options).expect("read-only");
    assert!(!store.uses_key_table());
    assert!(all_ids(&store).contains("new1"), "the exact order sees it at once");
    assert!(!store.sync_keys().expect("no sync"));
    assert_eq!(key_rows(&mut client), keys);
    assert_eq!(custodian_schema_fingerprint(&mut client), syncs);
    assert_eq!(synced_at(&mut client), times);
}

#[test]
fn a_schema_an_older_init_made_without_the_key_table_is_read_in_the_exact_order() {
    // The screen asks for the key table; a schema from before it has none, so the session
    // computes the order afresh instead of failing on a table that is not there.
    let db = logto_with_people();
    db.superuser()
        .batch_execute("drop table custodian.user_keys; drop table custodian.key_syncs")
        .expect("the schema as an older init left it");
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &key_table_options("default")).expect("connect");
    assert!(!store.uses_key_table());
    assert_eq!(ids(&store.rows(&Seek::First, 100).expect("rows")), expected_order());
    assert!(!store.sync_keys().expect("nothing to sync"));
    assert_eq!(store.last_key_sync().expect("info's line"), custodian::store::LastKeySync::NoKeyTable);
}

#[test]
fn rows_sql_wrote_with_values_logto_never_writes_do_not_hide_the_tenant_and_can_be_mended() {
    // An infinite timestamp stopped every list of the tenant ("cannot convert infinity to
    // bigint"), a `null` profile too; a customData that is not an object broke `set`, the
    // one command that mends it.
    let db = logto_with_people();
    db.superuser()
        .batch_execute(
            "insert into users (tenant_id, id, username, created_at, updated_at, last_sign_in_at, profile, identities, custom_data) values \
             ('default', 'inf1', 'zz-infinite', '-infinity', 'infinity', 'infinity', 'null', '[1]', '{}'), \
             ('default', 'arr1', 'zz-array', now(), now(), null, '{}', '{}', '[1, 2]'), \
             ('default', 'nul1', 'zz-null', now(), now(), null, '{}', '{}', 'null')",
        )
        .expect("the odd rows");
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let listed = ids(&store.page_after(None, 100).expect("the list"));
    for id in ["inf1", "arr1", "nul1", "u1"] {
        assert!(listed.contains(&id.to_owned()), "{id} listed: {listed:?}");
    }
    // A time that is not set stays not set (NULL is no infinity): it read as 0001-01-01.
    assert_eq!(store.user("arr1").expect("read").user.last_sign_in_at, None);
    assert_eq!(store.user("u1").expect("read").user.last_sign_in_at, None);
    let infinite = store.user("inf1").expect("read").user;
    assert_eq!(infinite.last_sign_in_at, Some(253_402_300_799_999), "9999-12-31 23:59:59.999");
    assert_eq!(infinite.created_at, -62_135_596_800_000, "0001-01-01");
    assert!(infinite.profile.is_empty() && infinite.identities.is_empty());
    // The filter goes past them.
    let step = store.scan_matches("zz-", None, 100, 100).expect("a filter step");
    assert_eq!(step.hits.len(), 3);
    // Reading the odd document says what it is and what mends it; `set` mends it.
    let error = store.custom_data("nul1").unwrap_err().to_string();
    assert!(error.contains("customData in the database is null, not a JSON object"), "{error}");
    assert!(error.contains("`custodian set id:nul1` replaces it"), "{error}");
    for id in ["nul1", "arr1", "inf1"] {
        store.custom_data("u1").expect("another user reads");
        let saved =
            store.replace_custom_data(id, &data(r#"{"mended":true}"#), None, &author()).expect("mended");
        assert!(matches!(saved, SaveOutcome::Saved { .. }), "{id}: {saved:?}");
        assert_eq!(store.custom_data(id).expect("read").text, data(r#"{"mended":true}"#).canonical());
    }
    // What SQL wrote is kept as a revision of its own, as it was.
    assert_eq!(store.revision_text("nul1", 1).expect("the outside revision"), "null");
    assert_eq!(store.history("arr1").expect("history").len(), 2);
}

/// Times SQL may write near the end of `timestamptz` (the year 294276): past 294247 the
/// microseconds of `updated_at` overflowed bigint, and every read of that user, and every
/// `list` and `export` of the tenant, failed with "jsonb cannot hold a number" (bb46 F3).
#[test]
fn a_time_near_the_end_of_timestamptz_does_not_stop_the_tenants_reads() {
    let db = logto_with_people();
    db.superuser()
        .batch_execute(
            "insert into users (tenant_id, id, username, created_at, updated_at, last_sign_in_at, custom_data) values \
             ('default', 'far1', 'zz-far', '294276-01-01', '294276-01-01', '294276-01-01', '{\"a\":1}')",
        )
        .expect("the far row");
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    assert!(ids(&store.page_after(None, 100).expect("the list")).contains(&"far1".to_owned()));
    let far = store.user("far1").expect("read").user;
    assert!(far.updated_at > 253_402_300_799_999, "{}", far.updated_at);
    store.custom_data("far1").expect("its document reads");
    let mut walked = 0;
    store
        .for_each_user(&mut |_, _| {
            walked += 1;
            Ok(())
        })
        .expect("the walk an export reads");
    assert_eq!(walked, 13);
    let saved = store.replace_custom_data("far1", &data(r#"{"a":2}"#), Some(1), &author()).expect("saved");
    assert!(matches!(saved, SaveOutcome::Saved { .. }), "{saved:?}");
}

#[test]
fn a_login_role_that_is_a_member_of_the_tenants_role_works_as_that_tenant() {
    // Logto's policy shows a tenant's row in `tenants` to its own role only: a member was
    // told "no tenant that role can see", a member without inherited rights "permission denied".
    let db = logto_with_people();
    let (tenant_role, _) = db.tenant_role("default");
    let expected = all_ids(&connect(&db.tenant_url("default"), "default").expect("the tenant's own role"));
    for inherit in ["inherit", "noinherit"] {
        let name = format!("ops_{}_{inherit}", std::process::id());
        db.superuser()
            .batch_execute(&format!(
                "drop role if exists {name}; create role {name} login password 'pw' {inherit} in role {tenant_role}"
            ))
            .expect("a member role");
        let url = db.superuser_url().replacen("postgres@", &format!("{name}:pw@"), 1);
        let store = connect(&url, "default").unwrap_or_else(|e| panic!("{inherit}: {e}"));
        assert_eq!(all_ids(&store), expected, "{inherit}: the tenant's users, no other's");
        store.replace_custom_data("u1", &data(r#"{"by":"a member"}"#), None, &author()).expect("a save");
        drop(store);
        db.superuser().batch_execute(&format!("drop role {name}")).expect("drop the role");
    }
}

#[test]
fn postgresql_reads_over_a_link_and_a_file_on_its_disk_and_only_others_write_postgresql() {
    // The screen's way out gives reads over a link a moment, a file's reads their whole time;
    // an export checks each line where others write.
    let redb = Fixture::redb();
    assert!(!redb.store().reads_over_a_link() && !redb.store().written_by_others());
    let postgres = Fixture::postgres();
    assert!(postgres.store().reads_over_a_link() && postgres.store().written_by_others());
}
