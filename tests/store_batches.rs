//! Batches, through the `UserStore` trait on both stores (redb, and Logto's PostgreSQL with
//! custodian's schema): `edit_batch` writes all of a batch or nothing, tags every revision it
//! makes, goes over exactly the users its selection names; `undo_batch` restores them as a
//! batch of its own and leaves users saved since alone. Below them, what only PostgreSQL
//! has: writes made outside custodian (by Logto, by SQL) before and after a batch.

mod support;

use custodian::domain::CustomData;
use custodian::store::{
    Author, BatchEdit, BatchId, PostgresOptions, PostgresStore, RedbStore, Selection, StoreError, UserRecord,
    UserStore,
};
use support::postgres::LogtoDb;
use tempfile::TempDir;

fn author() -> Author {
    Author("tester".into())
}

/// A store with users in it, on either backend, and what keeps it alive.
struct Fixture {
    store: Box<dyn UserStore>,
    _keep: Keep,
}

/// What must live as long as the store: the file's directory, or the test database.
#[allow(dead_code)]
enum Keep {
    Redb(TempDir),
    Postgres(LogtoDb),
}

impl Fixture {
    /// The 200 demo users in a database file.
    fn redb() -> Self {
        let (dir, store) = support::demo_store();
        Self { store: Box::new(store), _keep: Keep::Redb(dir) }
    }

    /// The 200 demo users in Logto's tenant `default`, inserted as Logto does (no history
    /// yet), custodian's schema made, opened as the tenant's own role.
    fn postgres() -> Self {
        let db = LogtoDb::new();
        db.init_custodian();
        let demo = std::str::from_utf8(support::DEMO_USERS).expect("UTF-8 demo users");
        db.insert_json("default", demo);
        let store = PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default())
            .expect("connect as the tenant role");
        Self { store: Box::new(store), _keep: Keep::Postgres(db) }
    }

    /// `n` plain users with empty customData.
    fn many_redb(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("a directory");
        let store =
            RedbStore::create(&dir.path().join("many.redb"), custodian::store::OpenOptions::default())
                .expect("created");
        let mut users = custodian::domain::synthetic::SyntheticUsers::new(7, 0).take(n);
        store.bulk_insert(&mut users, &author()).expect("seeded");
        Self { store: Box::new(store), _keep: Keep::Redb(dir) }
    }

    fn many_postgres(n: i32) -> Self {
        let db = LogtoDb::new();
        db.init_custodian();
        db.superuser()
            .execute(
                "insert into users (tenant_id, id, username, created_at, updated_at) \
                 select 'default', 'g' || lpad(i::text, 9, '0'), 'user' || i, now(), now() from generate_series(1, $1) i",
                &[&n],
            )
            .expect("bulk insert");
        let store =
            PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
        Self { store: Box::new(store), _keep: Keep::Postgres(db) }
    }

    fn store(&self) -> &dyn UserStore {
        self.store.as_ref()
    }
}

/// Adds `"n": 1` to every document.
fn add_n(_: &UserRecord, text: &str) -> Result<BatchEdit, StoreError> {
    let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
    object.insert("n".into(), 1.into());
    Ok(BatchEdit::Replace(CustomData::from_object(object)))
}

/// A second batch's edit: `fromB` added.
fn mark_from_b(_: &UserRecord, text: &str) -> Result<BatchEdit, StoreError> {
    let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
    object.insert("fromB".into(), true.into());
    Ok(BatchEdit::Replace(CustomData::from_object(object)))
}

fn revisions(store: &dyn UserStore) -> Vec<u64> {
    store.page_after(None, usize::MAX).expect("users").iter().map(|e| e.revision).collect()
}

fn documents(store: &dyn UserStore) -> Vec<String> {
    let mut all = Vec::new();
    store
        .for_each_user(&mut |record, text| {
            all.push(format!("{} {text}", record.user.id));
            Ok(())
        })
        .expect("every user");
    all
}

/// Every user's revision and document.
fn snapshot(store: &dyn UserStore) -> (Vec<u64>, Vec<String>) {
    (revisions(store), documents(store))
}

/// The users as `before` had them, and no trace of `batch` (nothing to undo).
fn assert_nothing_written(store: &dyn UserStore, batch: &BatchId, before: &(Vec<u64>, Vec<String>)) {
    assert_eq!(&snapshot(store), before);
    let undo = store.undo_batch(batch, &BatchId::new(), &author());
    assert!(matches!(undo, Err(StoreError::BatchNotFound(_))), "no trace of the batch: {undo:?}");
}

// ---- the bodies, one per behaviour, run on both backends ----

fn an_error_from_the_edit_leaves_the_database_as_it_was(f: &Fixture) {
    an_edit_failing_at_the_nth_user_writes_nothing(f.store(), 150);
}

/// A batch over every user whose edit fails at the `fail_at`-th: that error, and nothing written.
fn an_edit_failing_at_the_nth_user_writes_nothing(store: &dyn UserStore, fail_at: usize) {
    let before = snapshot(store);
    let mut seen = 0;
    let mut edit = |record: &UserRecord, text: &str| {
        seen += 1;
        if seen == fail_at { Err(StoreError::UserNotFound("stop".into())) } else { add_n(record, text) }
    };
    let batch = BatchId::new();
    let result = store.edit_batch(&batch, &Selection::All, &mut edit, &author());
    assert!(matches!(result, Err(StoreError::UserNotFound(_))), "{result:?}");
    assert_eq!(seen, fail_at);
    assert_nothing_written(store, &batch, &before);
}

fn an_id_that_names_no_user_is_not_found_and_nothing_is_written(f: &Fixture) {
    let store = f.store();
    let before = revisions(store);
    let first = store.page_after(None, 1).expect("a user")[0].user.id.clone();
    let selection = Selection::Ids(vec![first, "nobody".into()].into());
    let result = store.edit_batch(&BatchId::new(), &selection, &mut add_n, &author());
    assert!(matches!(result, Err(StoreError::UserNotFound(ref id)) if id == "nobody"), "{result:?}");
    assert_eq!(revisions(store), before);
}

fn every_user_of_all_is_edited_once_and_each_revision_is_tagged(f: &Fixture) {
    let store = f.store();
    let batch = BatchId::new();
    let summary = store.edit_batch(&batch, &Selection::All, &mut add_n, &author()).expect("written");
    assert_eq!((summary.matched, summary.saved), (200, 200));
    for entry in store.page_after(None, 1000).expect("users") {
        let history = store.history(&entry.user.id).expect("history");
        let last = history.last().expect("a current revision");
        assert_eq!(last.batch.as_ref(), Some(&batch));
        assert!(history[..history.len() - 1].iter().all(|r| r.batch.is_none()));
        assert!(store.custom_data(&entry.user.id).expect("doc").text.contains("\"n\": 1"));
    }
}

fn a_batch_that_changes_nobody_writes_nothing(f: &Fixture) {
    let store = f.store();
    let before = revisions(store);
    let summary = store
        .edit_batch(&BatchId::new(), &Selection::All, &mut |_, _| Ok(BatchEdit::Keep), &author())
        .expect("nothing to write");
    assert_eq!((summary.matched, summary.saved), (200, 0));
    assert_eq!(revisions(store), before);
    let nothing = store.undo_batch(&summary.batch, &BatchId::new(), &author());
    assert!(matches!(nothing, Err(StoreError::BatchNotFound(_))), "{nothing:?}");
}

fn a_search_edits_the_users_the_filter_matches_and_no_one_else(f: &Fixture) {
    let store = f.store();
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
    // In whichever order the store writes fastest (redb: by id), each once.
    let mut matched = expected.clone();
    matched.sort();
    edited.sort();
    assert_eq!(edited, matched);
    // The dry run goes over the same users in list order, reading only.
    assert_eq!(visited(store, &selection), expected);
}

/// The ids of the users a dry run over `selection` visits, in its order.
fn visited(store: &dyn UserStore, selection: &Selection) -> Vec<String> {
    let mut visited = Vec::new();
    store
        .for_each_selected(selection, &mut |record, _| {
            visited.push(record.user.id.clone());
            Ok(())
        })
        .expect("visited");
    visited
}

fn undo_restores_as_a_batch_of_its_own_and_leaves_users_saved_since_alone(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 3).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let originals: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let batch = BatchId::new();
    store.edit_batch(&batch, &Selection::Ids(users.clone().into()), &mut add_n, &author()).expect("written");
    let later = CustomData::parse(r#"{"later": true}"#).expect("a document");
    store.replace_custom_data(&users[2], &later, None, &author()).expect("saved");

    let undo = BatchId::new();
    let summary = store.undo_batch(&batch, &undo, &author()).expect("undone");
    assert_eq!((summary.undo.matched, summary.undo.saved), (3, 2));
    assert_eq!(summary.changed_since.to_vec(), vec![(users[2].clone(), 3)]);
    for (id, original) in users.iter().zip(&originals).take(2) {
        assert_eq!(&store.custom_data(id).expect("doc").text, original);
        assert_eq!(
            store.history(id).expect("history").last().and_then(|r| r.batch.clone()),
            Some(undo.clone())
        );
    }
    assert!(store.custom_data(&users[2]).expect("doc").text.contains("later"));

    let unknown = store.undo_batch(&BatchId("b-nothing".into()), &BatchId::new(), &author());
    assert!(matches!(unknown, Err(StoreError::BatchNotFound(_))), "{unknown:?}");
}

/// Each user an undo leaves alone comes with the batch that saved the revision it is at: a
/// later batch's, none for a save outside a batch (bb87 N5: the lines `undo` prints of users
/// it did not look up carried no batch and read as saves outside one).
fn each_user_left_alone_names_the_batch_it_is_at(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 3).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let (a, b) = (BatchId::new(), BatchId::new());
    store.edit_batch(&a, &Selection::Ids(users.clone().into()), &mut add_n, &author()).expect("A written");
    store
        .edit_batch(&b, &Selection::Ids(vec![users[0].clone()].into()), &mut mark_from_b, &author())
        .expect("B");
    let later = CustomData::parse(r#"{"later": true}"#).expect("a document");
    store.replace_custom_data(&users[1], &later, None, &author()).expect("saved");

    let undone = store.undo_batch(&a, &BatchId::new(), &author()).expect("undone");
    assert_eq!(undone.undo.saved, 1, "only the third user is as A left it");
    assert_eq!(undone.changed_since.to_vec(), [(users[0].clone(), 3), (users[1].clone(), 3)]);
    assert_eq!(undone.changed_since.batch(0), Some(b.0.as_str()));
    assert_eq!(undone.changed_since.batch(1), None, "saved outside a batch");
    assert_eq!(undone.changed_since.batch(2), None, "no third user left alone");
}

/// Two batches undone last first: the undo of B brings each user back to the document A
/// wrote, so A's undo finds them as A left them and restores them (it left every user alone,
/// "saved again since", exit 5: bb20 L03). A user saved with another document since is still
/// left alone, and a second undo of A finds its first.
fn batches_undone_last_first_each_go_back(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 3).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let originals: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let (a, b) = (BatchId::new(), BatchId::new());
    store.edit_batch(&a, &Selection::Ids(users.clone().into()), &mut add_n, &author()).expect("A written");
    store
        .edit_batch(&b, &Selection::Ids(users.clone().into()), &mut mark_from_b, &author())
        .expect("B written");
    let undone_b = store.undo_batch(&b, &BatchId::new(), &author()).expect("B undone");
    assert_eq!((undone_b.undo.saved, undone_b.changed_since.len()), (3, 0));
    let later = CustomData::parse(r#"{"later": true}"#).expect("a document");
    store.replace_custom_data(&users[2], &later, None, &author()).expect("saved");
    let undone_a = store.undo_batch(&a, &BatchId::new(), &author()).expect("A undone");
    assert_eq!((undone_a.undo.matched, undone_a.undo.saved), (3, 2));
    assert_eq!(
        undone_a.changed_since.iter().map(|(id, _)| id.to_owned()).collect::<Vec<_>>(),
        [users[2].clone()]
    );
    for (id, original) in users.iter().zip(&originals).take(2) {
        assert_eq!(&store.custom_data(id).expect("doc").text, original);
    }
    assert!(store.custom_data(&users[2]).expect("doc").text.contains("later"));
    let again = store.undo_batch(&a, &BatchId::new(), &author()).expect("answered");
    assert_eq!((again.undo.saved, again.changed_since.len()), (0, 3), "its first undo counts");
}

/// Each undo says which batch it took back, an undo of an undo too; a batch that edited, an
/// undo that restored no one (no batch written) and an unknown id say none: undo's advice
/// follows these to tell which undos lead back to a batch.
fn an_undo_names_the_batch_it_took_back(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 2).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let a = BatchId::new();
    store.edit_batch(&a, &Selection::Ids(users.into()), &mut add_n, &author()).expect("A written");
    let (u1, u2, none) = (BatchId::new(), BatchId::new(), BatchId::new());
    store.undo_batch(&a, &u1, &author()).expect("A undone");
    store.undo_batch(&u1, &u2, &author()).expect("its undo undone");
    let again = store.undo_batch(&a, &none, &author()).expect("answered");
    assert_eq!(again.undo.saved, 0, "taken back already");
    let undone = |batch: &BatchId| store.batch_undone_by(batch).expect("read");
    assert_eq!(undone(&u1), Some(a.clone()));
    assert_eq!(undone(&u2), Some(u1.clone()));
    assert_eq!(undone(&a), None, "an edit");
    assert_eq!(undone(&none), None, "restored no one: no batch");
    assert_eq!(undone(&BatchId("b-nothing".into())), None);
}

/// bb81 F2: A, its undo, then B writing the same documents again: a retried undo of A found
/// the users "as A left them" and took back B's saves under A's name. A batch taken back
/// since is left alone; B's own undo restores them.
fn a_batch_taken_back_since_is_not_undone_again_over_a_later_save_of_its_documents(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 2).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let originals: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let (a, b) = (BatchId::new(), BatchId::new());
    let selection = Selection::Ids(users.clone().into());
    store.edit_batch(&a, &selection, &mut add_n, &author()).expect("A written");
    let undone = store.undo_batch(&a, &BatchId::new(), &author()).expect("A undone");
    assert_eq!((undone.undo.saved, undone.changed_since.len()), (2, 0));
    store.edit_batch(&b, &selection, &mut add_n, &author()).expect("B written");
    let written_by_b: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let again = store.undo_batch(&a, &BatchId::new(), &author()).expect("answered");
    assert_eq!((again.undo.saved, again.changed_since.len()), (0, 2), "B's saves were taken back under A");
    for (id, written) in users.iter().zip(&written_by_b) {
        assert_eq!(&store.custom_data(id).expect("doc").text, written);
    }
    let undone_b = store.undo_batch(&b, &BatchId::new(), &author()).expect("B undone");
    assert_eq!((undone_b.undo.saved, undone_b.changed_since.len()), (2, 0));
    for (id, original) in users.iter().zip(&originals) {
        assert_eq!(&store.custom_data(id).expect("doc").text, original);
    }
}

/// bb82 F2: A writes x=1, B x=2, C x=1 again: `undo A` found the users "as A left them" (C wrote
/// A's documents) and took back B's and C's saves under A's name. Only the undo of a later
/// batch puts a user back as the batch left it; a later patch writing the same document is a
/// change.
fn a_later_patch_writing_a_batchs_documents_again_is_a_change_to_its_undo(f: &Fixture) {
    let store = f.store();
    let users: Vec<String> =
        store.page_after(None, 2).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let selection = Selection::Ids(users.clone().into());
    let set_x = |x: i64| {
        move |_: &UserRecord, text: &str| -> Result<BatchEdit, StoreError> {
            let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
            object.insert("x".into(), x.into());
            Ok(BatchEdit::Replace(CustomData::from_object(object)))
        }
    };
    let (a, b, c) = (BatchId::new(), BatchId::new(), BatchId::new());
    store.edit_batch(&a, &selection, &mut set_x(1), &author()).expect("A written");
    store.edit_batch(&b, &selection, &mut set_x(2), &author()).expect("B written");
    store.edit_batch(&c, &selection, &mut set_x(1), &author()).expect("C written");
    let written_by_c: Vec<String> = users.iter().map(|id| store.custom_data(id).expect("doc").text).collect();
    let undone = store.undo_batch(&a, &BatchId::new(), &author()).expect("answered");
    assert_eq!(
        (undone.undo.saved, undone.changed_since.len()),
        (0, 2),
        "B's and C's saves taken back under A"
    );
    for (id, written) in users.iter().zip(&written_by_c) {
        assert_eq!(&store.custom_data(id).expect("doc").text, written);
    }
    // Undone last first, as the message says: C, then B, then A.
    for batch in [&c, &b, &a] {
        let undone = store.undo_batch(batch, &BatchId::new(), &author()).expect("undone");
        assert_eq!((undone.undo.saved, undone.changed_since.len()), (2, 0), "{batch:?}");
    }
    assert!(users.iter().all(|id| !store.custom_data(id).expect("doc").text.contains("\"x\"")));
}

fn batches_larger_than_a_step_edit_and_undo_every_user_exactly_once(f: &Fixture) {
    let store = f.store();
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

/// An edit that fails in the third step, after two steps' writes went to the database
/// (on PostgreSQL, written while the next step was being edited), leaves every user as they were.
fn an_error_after_whole_steps_were_written_leaves_every_user_as_they_were(f: &Fixture) {
    an_edit_failing_at_the_nth_user_writes_nothing(f.store(), 2_200);
}

/// After a batch, and after its undo, the filter finds exactly what the documents hold.
fn the_filter_finds_what_a_batch_wrote_and_no_longer_what_its_undo_took_back(f: &Fixture) {
    let store = f.store();
    let mark = |_: &UserRecord, text: &str| -> Result<BatchEdit, StoreError> {
        let mut object = custodian::domain::custom_data::parse_object(text).expect("stored JSON");
        object.insert("batchmarker".into(), "zqxbatchmark".into());
        Ok(BatchEdit::Replace(CustomData::from_object(object)))
    };
    let found = |store: &dyn UserStore| store.search("zqxbatchmark", None, 1000).expect("search").len();
    assert_eq!(found(store), 0);
    let batch = BatchId::new();
    store.edit_batch(&batch, &Selection::All, &mut { mark }, &author()).expect("written");
    assert_eq!(found(store), 200, "every user the batch changed is found by what it wrote");
    store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!(found(store), 0, "the undo's documents no longer hold it");
}

/// Users named one by one past what is held in memory (a `--users` file of a million names:
/// the ids go to a temporary file) are visited and edited once each, in id order.
fn named_users_held_in_a_file_are_visited_and_edited_once_each_in_id_order(f: &Fixture) {
    let store = f.store();
    let mut named: Vec<String> =
        store.page_after(None, 150).expect("users").iter().map(|e| e.user.id.clone()).collect();
    let mut expected = named.clone();
    expected.sort();
    // Named twice, the second time backwards, past a memory limit of 10 ids.
    named.extend(named.clone().into_iter().rev());
    let dir = tempfile::tempdir().expect("a directory");
    let mut gathered = custodian::store::UserIdsGathered::with_memory_limit(dir.path(), 10);
    for id in &named {
        gathered.add(id).expect("kept");
    }
    let selection = Selection::Ids(gathered.finish().expect("gathered").0);
    assert_eq!(visited(store, &selection), expected);
    let mut edited = Vec::new();
    let mut edit = |record: &UserRecord, text: &str| {
        edited.push(record.user.id.clone());
        add_n(record, text)
    };
    let summary = store.edit_batch(&BatchId::new(), &selection, &mut edit, &author()).expect("written");
    assert_eq!((summary.matched, summary.saved), (150, 150));
    edited.sort();
    assert_eq!(edited, expected, "each named user edited once");
}

macro_rules! both_backends {
    ($($body:ident),* $(,)?) => {
        mod redb {
            $(#[test] fn $body() { super::$body(&super::Fixture::redb()) })*
        }
        mod postgres {
            $(#[test] fn $body() { super::$body(&super::Fixture::postgres()) })*
        }
    };
}

both_backends!(
    an_error_from_the_edit_leaves_the_database_as_it_was,
    an_id_that_names_no_user_is_not_found_and_nothing_is_written,
    every_user_of_all_is_edited_once_and_each_revision_is_tagged,
    a_batch_that_changes_nobody_writes_nothing,
    a_search_edits_the_users_the_filter_matches_and_no_one_else,
    undo_restores_as_a_batch_of_its_own_and_leaves_users_saved_since_alone,
    batches_undone_last_first_each_go_back,
    a_batch_taken_back_since_is_not_undone_again_over_a_later_save_of_its_documents,
    a_later_patch_writing_a_batchs_documents_again_is_a_change_to_its_undo,
    the_filter_finds_what_a_batch_wrote_and_no_longer_what_its_undo_took_back,
    named_users_held_in_a_file_are_visited_and_edited_once_each_in_id_order,
    an_undo_names_the_batch_it_took_back,
    each_user_left_alone_names_the_batch_it_is_at,
);

mod many {
    #[test]
    fn redb_batches_larger_than_a_step_edit_and_undo_every_user_exactly_once() {
        super::batches_larger_than_a_step_edit_and_undo_every_user_exactly_once(&super::Fixture::many_redb(
            2_500,
        ));
    }

    #[test]
    fn redb_an_error_after_whole_steps_were_written_leaves_every_user_as_they_were() {
        super::an_error_after_whole_steps_were_written_leaves_every_user_as_they_were(
            &super::Fixture::many_redb(2_500),
        );
    }

    #[test]
    fn postgres_an_error_after_whole_steps_were_written_leaves_every_user_as_they_were() {
        super::an_error_after_whole_steps_were_written_leaves_every_user_as_they_were(
            &super::Fixture::many_postgres(2_500),
        );
    }

    #[test]
    fn postgres_batches_larger_than_a_step_edit_and_undo_every_user_exactly_once() {
        super::batches_larger_than_a_step_edit_and_undo_every_user_exactly_once(
            &super::Fixture::many_postgres(2_500),
        );
    }
}

// ---- PostgreSQL only: writes made outside custodian ----

/// As Logto (or anyone with SQL) writes customData: straight into `users`.
fn update_outside(db: &LogtoDb, id: &str, document: &str) {
    let changed = db
        .superuser()
        .execute("update users set custom_data = $2::text::jsonb where id = $1", &[&id, &document])
        .expect("outside update");
    assert_eq!(changed, 1);
}

fn postgres_with_user(document: &str) -> (LogtoDb, PostgresStore) {
    let db = LogtoDb::new();
    db.init_custodian();
    db.insert_json("default", &format!(r#"[{{"id":"u1","username":"alice","customData":{document}}}]"#));
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
    (db, store)
}

#[test]
fn a_document_written_outside_custodian_before_a_batch_is_kept_and_the_undo_returns_to_it() {
    let (db, store) = postgres_with_user(r#"{"plan":"free"}"#);
    let saved = CustomData::parse(r#"{"plan":"pro"}"#).expect("doc");
    store.replace_custom_data("u1", &saved, Some(1), &author()).expect("saved as revision 2");
    update_outside(&db, "u1", r#"{"plan":"team","seats":5}"#);

    let batch = BatchId::new();
    let summary = store
        .edit_batch(&batch, &Selection::Ids(vec!["u1".into()].into()), &mut add_n, &author())
        .expect("written");
    assert_eq!(summary.saved, 1);
    let history = store.history("u1").expect("history");
    let found: Vec<(u64, &str, bool)> =
        history.iter().map(|r| (r.revision, r.saved_by.as_str(), r.batch.is_some())).collect();
    assert_eq!(
        found,
        [
            (1, "outside custodian", false),
            (2, "tester", false),
            (3, "outside custodian", false),
            (4, "tester", true)
        ],
        "the document Logto wrote is a revision of its own, before the batch's"
    );
    let patched = store.custom_data("u1").expect("doc").text;
    assert!(
        patched.contains("team") && patched.contains("\"n\": 1"),
        "the edit saw Logto's document: {patched}"
    );

    let undone = store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!((undone.undo.saved, undone.changed_since.len()), (1, 0));
    let restored: serde_json::Value =
        serde_json::from_str(&store.custom_data("u1").expect("doc").text).expect("JSON");
    assert_eq!(restored, serde_json::json!({"plan": "team", "seats": 5}), "back to what Logto wrote");
}

/// SQL put back the document the batch wrote after a later save: the user is as the batch
/// left them, so the undo restores them, keeping the outside write as a revision of its own.
#[test]
fn undo_leaves_alone_a_user_an_outside_write_put_back_to_what_the_batch_wrote() {
    let (db, store) = postgres_with_user(r#"{"plan":"free"}"#);
    let batch = BatchId::new();
    store
        .edit_batch(&batch, &Selection::Ids(vec!["u1".into()].into()), &mut add_n, &author())
        .expect("written");
    let written = store.custom_data("u1").expect("doc").text;
    let later = CustomData::parse(r#"{"later": true}"#).expect("a document");
    store.replace_custom_data("u1", &later, None, &author()).expect("saved");
    update_outside(&db, "u1", r#"{"plan":"free","n":1}"#);
    assert_eq!(store.custom_data("u1").expect("doc").text, written);
    // Only the undo of a later batch puts a user back as the batch left it; a write outside
    // custodian of the same document is a change since, as a later patch's is (bb82 F2).
    let undone = store.undo_batch(&batch, &BatchId::new(), &author()).expect("answered");
    assert_eq!((undone.undo.saved, undone.changed_since.len()), (0, 1));
    assert_eq!(store.custom_data("u1").expect("doc").text, written);
}

#[test]
fn undo_leaves_alone_a_user_changed_outside_custodian_since_the_batch() {
    let (db, store) = postgres_with_user(r#"{"plan":"free"}"#);
    db.insert_json("default", r#"[{"id":"u2","username":"bob","customData":{"plan":"free"}}]"#);
    let batch = BatchId::new();
    let selection = Selection::Ids(vec!["u1".into(), "u2".into()].into());
    store.edit_batch(&batch, &selection, &mut add_n, &author()).expect("written");
    // Logto writes u2's customData after the batch: the batch's revision is no longer stored.
    update_outside(&db, "u2", r#"{"plan":"free","n":1,"logto":true}"#);

    let undone = store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!(undone.undo.saved, 1);
    assert_eq!(
        undone.changed_since.to_vec(),
        vec![("u2".to_owned(), 3)],
        "listed at the revision the outside write made"
    );
    // The last revision custodian kept is the batch's; the one it is at, no batch wrote.
    assert_eq!(undone.changed_since.batch(0), None, "written outside custodian");
    assert!(store.custom_data("u2").expect("doc").text.contains("logto"), "left as Logto wrote it");
    assert!(!store.custom_data("u1").expect("doc").text.contains("\"n\""), "u1 restored");
}

/// bb16 L09: an outside write that only writes a number another way (`1.50` → `1.5000`) is a
/// change, as a save counts it (the stored jsonb text, not jsonb's `=`, which holds them
/// equal): the undo lists it and leaves it, and the history keeps it as a revision of its own.
#[test]
fn undo_leaves_alone_an_outside_write_that_only_wrote_a_number_another_way() {
    let (db, store) = postgres_with_user(r#"{"price":1.50}"#);
    let batch = BatchId::new();
    store
        .edit_batch(&batch, &Selection::Ids(vec!["u1".into()].into()), &mut add_n, &author())
        .expect("written");
    update_outside(&db, "u1", r#"{"price":1.5000,"n":1}"#);

    let history = store.history("u1").expect("history");
    let found: Vec<(u64, &str)> = history.iter().map(|r| (r.revision, r.saved_by.as_str())).collect();
    assert_eq!(found, [(1, "outside custodian"), (2, "tester"), (3, "outside custodian")], "kept as its own");
    let undone = store.undo_batch(&batch, &BatchId::new(), &author()).expect("undone");
    assert_eq!(undone.undo.saved, 0);
    assert_eq!(undone.changed_since.to_vec(), vec![("u1".to_owned(), 3)]);
    assert!(store.custom_data("u1").expect("doc").text.contains("1.5000"), "left as written outside");
}

#[test]
fn a_batch_or_journal_on_a_schema_init_has_not_upgraded_names_init() {
    let (db, store) = postgres_with_user("{}");
    drop(store);
    db.superuser()
        .batch_execute(
            "drop trigger history_saved_ms on custodian.history;
             drop function custodian.history_saved_ms();
             alter table custodian.history drop column sequence, drop column saved_ms, drop column batch_id,
                 drop column size, drop column keys;
             drop sequence custodian.history_sequence;
             drop table custodian.batches;
             update custodian.meta set value = 2 where key = 'schema_version'",
        )
        .expect("back to layout 2, as the custodian before batches left it");
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
    let error =
        store.edit_batch(&BatchId::new(), &Selection::All, &mut add_n, &author()).expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("layout 2") && message.contains("init`"), "{message}");
    assert!(!message.contains('\n'));
    let error = store.journal(&Default::default(), &mut |_| Ok(true)).expect_err("refused");
    assert!(error.to_string().contains("init`"), "{error}");
    // A save still works (as an older custodian's would), and init upgrades.
    let saved = CustomData::parse(r#"{"a":1}"#).expect("doc");
    store.replace_custom_data("u1", &saved, None, &author()).expect("a save works");
    assert_eq!(store.history("u1").expect("history").len(), 2);
    db.init_custodian();
    let store =
        PostgresStore::connect(&db.tenant_url("default"), &PostgresOptions::default()).expect("connect");
    let mut entries = Vec::new();
    store
        .journal(&Default::default(), &mut |entry| {
            entries.push((entry.revision, entry.added.clone()));
            Ok(true)
        })
        .expect("the journal after init");
    assert_eq!(entries, [(2, vec!["a".to_owned()]), (1, vec![])], "keys worked out for rows saved before");
}

/// The server refusing one history row in the second chunk's write, which goes to the server
/// while the third chunk is being edited: the whole batch fails and nobody is changed.
#[test]
fn a_write_the_server_refuses_in_a_later_chunk_leaves_every_user_as_they_were() {
    let fixture = Fixture::many_postgres(2_500);
    let Keep::Postgres(db) = &fixture._keep else { unreachable!("a PostgreSQL fixture") };
    db.superuser()
        .batch_execute(
            "create function refuse_one() returns trigger language plpgsql as $$ begin \
               if new.user_id = 'g000002000' then raise exception 'refused by the test'; end if; \
               return new; end $$; \
             create trigger refuse_one before insert on custodian.history \
               for each row execute function refuse_one();",
        )
        .expect("trigger");
    let store = fixture.store();
    let before = snapshot(store);
    let mut position = None;
    let mut seen = 0;
    let mut edit = |record: &UserRecord, text: &str| {
        seen += 1;
        if record.user.id == "g000002000" {
            position = Some(seen);
        }
        add_n(record, text)
    };
    let batch = BatchId::new();
    let result = store.edit_batch(&batch, &Selection::All, &mut edit, &author());
    let error = result.expect_err("the server refused a row");
    assert!(error.to_string().contains("refused by the test"), "{error}");
    // The refused user is in the second chunk of 1,000 (list order), and the third chunk was
    // being edited when the refusal came.
    assert!(matches!(position, Some(1_001..=2_000)), "{position:?}");
    assert!(seen > 2_000, "{seen}");
    assert_nothing_written(store, &batch, &before);
}

// ---- redb only: a damaged file ----

/// An undo whose user has lost the revision before the batch's (a damaged history table):
/// refused, naming the user and that revision, and nothing is written.
#[test]
fn an_undo_whose_revision_before_the_batch_is_gone_names_it_and_writes_nothing() {
    let (_dir, store) = support::demo_store();
    let id = store.page_after(None, 1).expect("a user")[0].user.id.clone();
    let batch = BatchId::new();
    store
        .edit_batch(&batch, &Selection::Ids(vec![id.clone()].into()), &mut add_n, &author())
        .expect("written");
    assert_eq!(store.custom_data(&id).expect("doc").revision, 2);
    let path = store.path().to_owned();
    drop(store);
    {
        let mut builder = ::redb::Builder::new();
        builder.set_concurrency_mode(::redb::ConcurrencyMode::MultiWriter);
        let db = builder.open(&path).expect("open with redb");
        let tx = db.begin_write().expect("write");
        {
            let history: ::redb::TableDefinition<(&str, u64), (i64, &str, &str)> =
                ::redb::TableDefinition::new("history");
            let mut table = tx.open_table(history).expect("history table");
            assert!(table.remove((id.as_str(), 1)).expect("remove").is_some(), "revision 1 was kept");
        }
        tx.commit().expect("commit");
    }
    let store = RedbStore::open(&path, custodian::store::OpenOptions::default()).expect("reopen");
    let before = snapshot(&store);
    let error = store.undo_batch(&batch, &BatchId::new(), &author()).expect_err("revision 1 is gone");
    assert!(
        matches!(error, StoreError::RevisionNotFound { ref user, revision: 1 } if *user == id),
        "{error:?}"
    );
    assert_eq!(snapshot(&store), before);
}

/// A batch is held to the size limit as jsonb stores each document: one of exactly the limit
/// is saved, and one that jsonb writes out past it (`1e131000` digit by digit) drops the
/// whole batch, the users before it too.
#[test]
fn a_batch_on_postgres_saves_a_document_of_exactly_the_limit_and_writes_nothing_for_one_stored_over_it() {
    let (db, store) = postgres_with_user("{}");
    db.insert_json("default", r#"[{"id":"u2","username":"bob","customData":{}}]"#);
    let both = Selection::Ids(vec!["u1".into(), "u2".into()].into());
    let limit = custodian::domain::Limits::default().max_bytes;
    let at_limit = CustomData::parse(&format!(r#"{{"a":"{}"}}"#, "x".repeat(limit - r#"{"a":""}"#.len())))
        .expect("a document of the limit");
    let mut to_the_limit = |_: &UserRecord, _: &str| Ok(BatchEdit::Replace(at_limit.clone()));
    let summary = store.edit_batch(&BatchId::new(), &both, &mut to_the_limit, &author()).expect("saved");
    assert_eq!(summary.saved, 2);
    for id in ["u1", "u2"] {
        assert_eq!(store.history(id).expect("history").last().expect("the batch's revision").size, limit);
    }
    let before = snapshot(&store);
    let numbers: Vec<String> = (0..10).map(|n| format!(r#""k{n}":1e131000"#)).collect();
    let huge = CustomData::parse(&format!("{{{}}}", numbers.join(","))).expect("small as sent");
    let small = CustomData::parse(r#"{"plan":"pro"}"#).expect("a small document");
    let mut u2_huge = |user: &UserRecord, _: &str| {
        Ok(BatchEdit::Replace(if user.user.id == "u2" { huge.clone() } else { small.clone() }))
    };
    let batch = BatchId::new();
    let error = store.edit_batch(&batch, &both, &mut u2_huge, &author()).expect_err("stored over the limit");
    assert!(
        matches!(error, StoreError::StoredTooLarge { ref user, size, limit: l } if user == "u2" && size > limit && l == limit),
        "{error:?}"
    );
    assert_nothing_written(&store, &batch, &before);
}

#[test]
fn an_undo_on_postgres_whose_revision_before_the_batch_is_gone_names_it_and_writes_nothing() {
    let (db, store) = postgres_with_user(r#"{"plan":"free"}"#);
    let batch = BatchId::new();
    store
        .edit_batch(&batch, &Selection::Ids(vec!["u1".into()].into()), &mut add_n, &author())
        .expect("written");
    assert_eq!(store.custom_data("u1").expect("doc").revision, 2);
    // Revision 1, the document Logto wrote and the batch kept before its own, deleted with SQL.
    let deleted = db
        .superuser()
        .execute("delete from custodian.history where user_id = 'u1' and revision = 1", &[])
        .expect("delete revision 1");
    assert_eq!(deleted, 1);
    let before = store.custom_data("u1").expect("doc").text;
    let error = store.undo_batch(&batch, &BatchId::new(), &author()).expect_err("revision 1 is gone");
    assert!(
        matches!(error, StoreError::RevisionNotFound { ref user, revision: 1 } if user == "u1"),
        "{error:?}"
    );
    assert_eq!(store.custom_data("u1").expect("doc").text, before, "nothing written");
    assert_eq!(store.history("u1").expect("history").len(), 1, "no revision added");
}
