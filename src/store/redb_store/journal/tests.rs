//! The journal's own tests: times held in save order, batches found by their id.
use super::super::WriteTables;
use crate::domain::CustomData;
use crate::store::{Author, BatchId, JournalQuery, RedbStore, UserStore};

/// `{"n": n}`.
fn document(n: u32) -> CustomData {
    CustomData::parse(&format!(r#"{{"n":{n}}}"#)).expect("document")
}

/// Saves `{"n": n}` as `id`'s document as if the clock read `at`.
fn save_as_if_at(store: &RedbStore, id: &str, n: u32, by: &str, at: i64) {
    let tx = store.write().expect("write");
    {
        let mut tables = WriteTables::open(&tx).expect("tables");
        let current = tables.stored(id).expect("read").expect("user");
        tables.replace_document(id, &current, &document(n), &Author(by.into()), at, None).expect("save");
    }
    tx.commit().expect("commit");
}

/// A save made while the clock is behind the journal's newest entry (stepped back: a VM
/// restored from a snapshot, an NTP correction) is journaled, and kept in the history, at
/// that entry's time: in save order, and found by `--since` (it was journaled two days in
/// the past, listed below older saves and missed by `changes --since 1h`: bb40 F6).
#[test]
fn a_save_made_while_the_clock_is_behind_is_journaled_in_save_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::store::test_store(dir.path(), "{\"id\":\"u1\"}\n{\"id\":\"u2\"}");
    let ahead = crate::domain::time::now_ms() + 2 * 3_600_000;
    save_as_if_at(&store, "u1", 1, "then", ahead);
    // Now, by the clock: two days before the entry above.
    store.replace_custom_data("u2", &document(2), None, &Author("now".into())).expect("save");
    let mut newest = Vec::new();
    let since = JournalQuery { since: Some(ahead - 3_600_000), ..JournalQuery::default() };
    store
        .journal(&since, &mut |entry| {
            newest.push((entry.user_id.clone(), entry.saved_at));
            Ok(true)
        })
        .expect("journal");
    assert_eq!(newest, [("u2".to_owned(), ahead), ("u1".to_owned(), ahead)], "newest first, in save order");
    let history = store.history("u2").expect("history");
    assert_eq!(history.last().map(|r| r.saved_at), Some(ahead), "the history says the same time");
}

/// bb47 F4, bb49 F3: one save under a clock a year ahead dated every later save of every
/// user a year ahead, and `--since 1h` found none of them. Past a day ahead, the clock dates.
#[test]
fn an_entry_far_ahead_of_the_clock_does_not_date_the_saves_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::store::test_store(dir.path(), "{\"id\":\"u1\"}\n{\"id\":\"u2\"}");
    let now = crate::domain::time::now_ms();
    let year_ahead = now + 365 * 86_400_000;
    save_as_if_at(&store, "u1", 1, "wrong clock", year_ahead);
    store.replace_custom_data("u2", &document(2), None, &Author("now".into())).expect("save");
    let saved_at = store.history("u2").expect("history").last().map(|r| r.saved_at).expect("a revision");
    assert!((now..now + 60_000).contains(&saved_at), "{saved_at} is not now ({now})");
    let mut found = Vec::new();
    let since = JournalQuery {
        since: Some(now - 3_600_000),
        until: Some(now + 3_600_000),
        ..JournalQuery::default()
    };
    store
        .journal(&since, &mut |entry| {
            found.push(entry.user_id.clone());
            Ok(true)
        })
        .expect("journal");
    // The test store's load of its two users is an entry of its own (no user id).
    found.retain(|id| !id.is_empty());
    assert_eq!(found, ["u2"], "the save of the last hour, found by its time");
    // Then a clock twenty hours behind: held to the save just made, not to the entry a year
    // ahead, nor dated by itself in the past (bb50 F1).
    let behind = now - 20 * 3_600_000;
    save_as_if_at(&store, "u1", 3, "behind", behind);
    let held = store.history("u1").expect("history").last().map(|r| r.saved_at).expect("a revision");
    assert_eq!(held, saved_at, "held to the newest believable entry");
    assert_eq!(super::HELD_BEHIND_AT_MOST_MS, 86_400_000);
}

#[test]
fn a_save_made_in_a_batch_is_journaled_with_its_batch_and_found_by_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::store::test_store(dir.path(), "{\"id\":\"u1\"}\n{\"id\":\"u2\"}\n{\"id\":\"u3\"}");
    let batch = BatchId("b20261202T012233Z-3f9a1c".into());
    let tx = store.write().expect("write");
    {
        let mut tables = WriteTables::open(&tx).expect("tables");
        let document = CustomData::parse(r#"{"flag":true}"#).expect("document");
        for id in ["u1", "u3"] {
            let current = tables.stored(id).expect("read").expect("user");
            tables
                .replace_document(id, &current, &document, &Author("patcher".into()), 5, Some(&batch))
                .expect("save");
        }
    }
    tx.commit().expect("commit");
    store
        .replace_custom_data(
            "u2",
            &CustomData::parse(r#"{"flag":true}"#).expect("doc"),
            None,
            &Author("x".into()),
        )
        .expect("save outside the batch");

    let mut found = Vec::new();
    let query = JournalQuery { batch: Some(batch.clone()), ..JournalQuery::default() };
    store
        .journal(&query, &mut |entry| {
            found.push((entry.user_id.clone(), entry.revision, entry.batch.clone(), entry.added.clone()));
            Ok(true)
        })
        .expect("journal");
    let tagged = Some(batch);
    assert_eq!(
        found,
        [
            ("u3".to_owned(), 2, tagged.clone(), vec!["flag".to_owned()]),
            ("u1".to_owned(), 2, tagged, vec!["flag".to_owned()]),
        ]
    );
}
