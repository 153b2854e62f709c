//! The provided methods of [`UserStore`], each as a store that does not replace it gets it:
//! redb keeps most of them, and PostgreSQL the any-order read, which no unit test can reach
//! through a server.

use super::*;
use crate::domain::CustomData;

/// A redb store that offers only what every store must: every provided method is the
/// trait's own.
struct ProvidedOnly(RedbStore);

impl UserStore for ProvidedOnly {
    fn name_collisions(&self) -> Result<Vec<NameCollision>, StoreError> {
        self.0.name_collisions()
    }
    fn is_read_only(&self) -> bool {
        self.0.is_read_only()
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.0.count()
    }
    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.0.rows(seek, limit)
    }
    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        self.0.prefix_matches(query, limit)
    }
    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        self.0.scan_matches(query, after, batch, max_hits)
    }
    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        self.0.lookup(reference)
    }
    fn user(&self, id: &str) -> Result<UserRecord, StoreError> {
        self.0.user(id)
    }
    fn entry(&self, id: &str) -> Result<ListEntry, StoreError> {
        self.0.entry(id)
    }
    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError> {
        self.0.custom_data(id)
    }
    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        self.0.replace_custom_data(id, data, expected, author)
    }
    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        self.0.history(id)
    }
    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        self.0.revision_text(id, revision)
    }
    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        self.0.import(users, mode, author)
    }
    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.0.for_each_user(visit)
    }
    fn schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        self.0.schema()
    }
    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<(Revision, bool), StoreError> {
        self.0.set_schema(text, author)
    }
    fn hold_writes_to_schema(&self, seen: Option<Revision>) {
        self.0.hold_writes_to_schema(seen)
    }
    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        self.0.schema_history()
    }
    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        self.0.schema_revision_text(revision)
    }
}

/// Three users; in list order (by lower-cased handle) carol, dave, erin.
const USERS: &str = concat!(
    r#"{"id":"u3","username":"erin","customData":{"n":3}}"#,
    "\n",
    r#"{"id":"u1","username":"carol","customData":{"n":1}}"#,
    "\n",
    r#"{"id":"u2","username":"dave","customData":{"n":2}}"#,
);

fn ids(entries: &[ListEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.user.id.as_str()).collect()
}

fn store(dir: &std::path::Path, lines: &str) -> ProvidedOnly {
    ProvidedOnly(test_store(dir, lines))
}

fn author() -> Author {
    Author("tester".into())
}

fn document(text: &str) -> CustomData {
    CustomData::parse(text).expect("a document")
}

#[test]
fn pages_after_and_before_a_key_go_on_in_list_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), USERS);
    let first = store.page_after(None, 2).expect("first page");
    assert_eq!(ids(&first), ["u1", "u2"]);
    assert_eq!(ids(&store.page_after(Some(&first[1].key), 2).expect("next page")), ["u3"]);
    let last = store.page_before(None, 2).expect("last page");
    assert_eq!(ids(&last), ["u2", "u3"]);
    assert_eq!(ids(&store.page_before(Some(&last[0].key), 2).expect("page before")), ["u1"]);
}

#[test]
fn the_provided_search_is_the_filters_scan_run_to_its_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), USERS);
    assert_eq!(ids(&store.search("dave", None, 10).expect("search")), ["u2"]);
}

#[test]
fn resolve_follows_an_explicit_form_that_finds_someone_and_never_a_literal_name_instead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = format!(
        "{USERS}\n{}\n{}",
        r#"{"id":"u4","username":"id:zzz"}"#, r#"{"id":"u5","username":"username:carol"}"#
    );
    let store = store(dir.path(), &lines);
    assert_eq!(store.resolve("carol").expect("by username"), "u1");
    assert_eq!(store.resolve("u2").expect("by id"), "u2");
    // The explicit form finds carol: the user whose name is that very text is not asked about.
    assert_eq!(store.resolve("username:carol").expect("explicit"), "u1");
    // No id `zzz`; `id:zzz` is someone's username, which is said rather than followed.
    match store.resolve("id:zzz") {
        Err(StoreError::OnlyALiteralName { found, .. }) => {
            assert_eq!(found, UserMatch { id: "u4".into(), field: UserField::Username });
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(store.resolve("nobody"), Err(StoreError::UserNotFound(_))));
}

#[test]
fn a_save_landed_when_its_revision_holds_that_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), USERS);
    store.replace_custom_data("u1", &document(r#"{"n":10}"#), Some(1), &author()).expect("save");
    assert!(store.save_landed("u1", &document(r#"{"n":10}"#), 2).expect("revision 2"));
    assert!(!store.save_landed("u1", &document(r#"{"n":11}"#), 2).expect("revision 2"));
    // A revision that was never written: the save did not land.
    assert!(!store.save_landed("u1", &document(r#"{"n":10}"#), 3).expect("no revision 3"));
}

#[test]
fn a_store_that_writes_its_indexes_with_the_users_has_no_keys_to_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    // `true` would have every screen reload its list after each sync for nothing.
    assert!(!store(dir.path(), USERS).sync_keys().expect("sync"));
}

/// The trait's own visit, and redb's, which reads a list of ids from one snapshot.
#[test]
fn the_selected_users_are_visited_once_each_named_ones_in_id_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let provided = store(dir.path(), USERS);
    for store in [&provided as &dyn UserStore, &provided.0] {
        visits_the_selected_users_once_each_named_ones_in_id_order(store);
    }
}

fn visits_the_selected_users_once_each_named_ones_in_id_order(store: &dyn UserStore) {
    let visited = |selection: Selection| {
        let mut seen = Vec::new();
        store
            .for_each_selected(&selection, &mut |record, text| {
                // Compact or canonical, as the store keeps it: the document is what counts.
                seen.push(format!("{} {}", record.user.id, document(text).compact()));
                Ok(())
            })
            .map(|()| seen)
    };
    assert_eq!(visited(Selection::All).expect("all"), [r#"u1 {"n":1}"#, r#"u2 {"n":2}"#, r#"u3 {"n":3}"#]);
    // Named users come in id order, each once.
    let ids = ["u3", "u1", "u3"].map(String::from).to_vec();
    assert_eq!(visited(Selection::Ids(ids.into())).expect("ids"), [r#"u1 {"n":1}"#, r#"u3 {"n":3}"#]);
    assert_eq!(visited(Selection::Search("dave".into())).expect("search"), [r#"u2 {"n":2}"#]);
    assert!(matches!(
        visited(Selection::Ids(vec!["nobody".to_owned()].into())),
        Err(StoreError::UserNotFound(_))
    ));
}

#[test]
fn the_provided_any_order_read_is_the_list_order_keyed_by_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), USERS);
    assert_eq!(store.any_order_sort_room(), None);
    let mut keyed = Vec::new();
    store
        .for_each_user_in_any_order(&mut |key, record, text| {
            keyed.push((key.to_vec(), format!("{} {text}", record.user.id)));
            Ok(())
        })
        .expect("any order");
    let place = |n: u64| n.to_be_bytes().to_vec();
    assert_eq!(
        keyed,
        [
            (place(1), r#"u1 {"n":1}"#.to_owned()),
            (place(2), r#"u2 {"n":2}"#.to_owned()),
            (place(3), r#"u3 {"n":3}"#.to_owned()),
        ]
    );
}

#[test]
fn a_store_without_the_journal_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), USERS);
    let journal = store.journal(&JournalQuery::default(), &mut |_| Ok(true));
    assert!(matches!(journal, Err(StoreError::NotOnThisBackend(_))), "{journal:?}");
}
