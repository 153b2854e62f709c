//! The redb store's batches: `edit_batch` writes all of a batch or nothing, tags every revision
//! it makes, goes over exactly the users its selection names; `undo_batch` restores them as a
//! batch of its own and leaves users saved since alone.

mod support;

use custodian::domain::CustomData;
use custodian::store::{Author, BatchEdit, BatchId, RedbStore, Selection, StoreError, UserRecord, UserStore};
use support::demo_store;

fn author() -> Author {
    Author("tester".into())
}

/// Adds `"n": 1` to every document.
fn add_n(_: &UserRecord, text: &str) -> Result<BatchEdit, StoreError> {
    let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
    object.insert("n".into(), 1.into());
    Ok(BatchEdit::Replace(CustomData::from_object(object)))
}

fn revisions(store: &RedbStore) -> Vec<u64> {
    store.page_after(None, 1000).expect("users").iter().map(|e| e.revision).collect()
}

#[test]
fn an_error_from_the_edit_leaves_the_database_as_it_was() {
    let (_dir, store) = demo_store();
    let before = revisions(&store);
    let mut seen = 0;
    let mut edit = |record: &UserRecord, text: &str| {
        seen += 1;
        if seen == 150 { Err(StoreError::UserNotFound("stop".into())) } else { add_n(record, text) }
    };
    let result = store.edit_batch(&BatchId::new(), &Selection::All, &mut edit, &author());
    assert!(matches!(result, Err(StoreError::UserNotFound(_))), "{result:?}");
    assert_eq!(revisions(&store), before);
}

#[test]
fn an_id_that_names_no_user_is_not_found_and_nothing_is_written() {
    let (_dir, store) = demo_store();
    let before = revisions(&store);
    let first = store.page_after(None, 1).expect("a user")[0].user.id.clone();
    let selection = Selection::Ids(vec![first, "nobody".into()]);
    let result = store.edit_batch(&BatchId::new(), &selection, &mut add_n, &author());
    assert!(matches!(result, Err(StoreError::UserNotFound(id)) if id == "nobody"));
    assert_eq!(revisions(&store), before);
}

#[test]
fn every_user_of_all_is_edited_once_and_each_revision_is_tagged() {
    let (_dir, store) = demo_store();
    let batch = BatchId::new();
    let summary = store.edit_batch(&batch, &Selection::All, &mut add_n, &author()).expect("written");
    assert_eq!((summary.matched, summary.saved), (200, 200));
    for entry in store.page_after(None, 1000).expect("users") {
        let history = store.history(&entry.user.id).expect("history");
        let last = history.last().expect("a current revision");
        assert_eq!(last.batch.as_ref(), Some(&batch));
        assert!(history[..history.len() - 1].iter().all(|r| r.batch.is_none()));
    }
}

#[test]
fn a_search_edits_the_users_the_filter_matches_and_no_one_else() {
    let (_dir, store) = demo_store();
    let expected: Vec<String> =
        store.search("billing", None, 1000).expect("search").iter().map(|e| e.user.id.clone()).collect();
    let mut edited = Vec::new();
    let mut edit = |record: &UserRecord, text: &str| {
        edited.push(record.user.id.clone());
        add_n(record, text)
    };
    let selection = Selection::Search("billing".into());
    store.edit_batch(&BatchId::new(), &selection, &mut edit, &author()).expect("written");
    assert!(!expected.is_empty());
    assert_eq!(edited, expected);
}

#[test]
fn undo_restores_as_a_batch_of_its_own_and_leaves_users_saved_since_alone() {
    let (_dir, store) = demo_store();
    let users: Vec<String> =
        store.page_after(None, 3).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let originals: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let batch = BatchId::new();
    store.edit_batch(&batch, &Selection::Ids(users.clone()), &mut add_n, &author()).expect("written");
    let later = CustomData::parse(r#"{"later": true}"#).expect("a document");
    store.replace_custom_data(&users[2], &later, None, &author()).expect("saved");

    let undo = BatchId::new();
    let summary = store.undo_batch(&batch, &undo, &author()).expect("undone");
    assert_eq!((summary.undo.matched, summary.undo.saved), (3, 2));
    assert_eq!(summary.changed_since, vec![(users[2].clone(), 3)]);
    for (id, original) in users.iter().zip(&originals).take(2) {
        assert_eq!(&store.custom_data(id).expect("doc").text, original);
        assert_eq!(
            store.history(id).expect("history").last().and_then(|r| r.batch.clone()),
            Some(undo.clone())
        );
    }
    assert!(store.custom_data(&users[2]).expect("doc").text.contains("later"));

    let unknown = store.undo_batch(&BatchId("b-nothing".into()), &BatchId::new(), &author());
    assert!(matches!(unknown, Err(StoreError::BatchNotFound(_))));
}

#[test]
fn batches_larger_than_a_step_edit_and_undo_every_user_exactly_once() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("many.redb");
    let store = RedbStore::create(&path, custodian::store::OpenOptions::default()).expect("created");
    let mut users = custodian::domain::synthetic::SyntheticUsers::new(7, 0).take(2_500);
    store.bulk_insert(&mut users, &author()).expect("seeded");
    let batch = BatchId::new();
    let mut seen = std::collections::HashSet::new();
    let mut edit = |record: &UserRecord, text: &str| {
        assert!(seen.insert(record.user.id.clone()), "{} edited twice", record.user.id);
        add_n(record, text)
    };
    let summary = store.edit_batch(&batch, &Selection::All, &mut edit, &author()).expect("written");
    assert_eq!((summary.matched, summary.saved), (2_500, 2_500));
    let undone = store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!((undone.undo.matched, undone.undo.saved), (2_500, 2_500));
    assert!(store.page_after(None, 3000).expect("users").iter().all(|e| e.revision == 3));
}

/// A batch's search texts are merged a chunk at a time at its end: after it, and after its
/// undo, the filter finds exactly what the documents hold.
#[test]
fn the_filter_finds_what_a_batch_wrote_and_no_longer_what_its_undo_took_back() {
    let (_dir, store) = demo_store();
    let mark = |_: &UserRecord, text: &str| -> Result<BatchEdit, StoreError> {
        let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
        object.insert("batchmarker".into(), "zqxbatchmark".into());
        Ok(BatchEdit::Replace(CustomData::from_object(object)))
    };
    let found = |store: &RedbStore| store.search("zqxbatchmark", None, 1000).expect("search").len();
    assert_eq!(found(&store), 0);
    let batch = BatchId::new();
    store.edit_batch(&batch, &Selection::All, &mut { mark }, &author()).expect("written");
    assert_eq!(found(&store), 200, "every user the batch changed is found by what it wrote");
    store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!(found(&store), 0, "the undo's documents no longer hold it");
}
