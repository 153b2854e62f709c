//! The edges of writing and scanning the blocks: a block filled to its limit exactly, the
//! order of a bulk load's appends, the upgrade from one text per user, a step that ends at
//! its last hit.

use super::*;

/// The number of users in each block, in order.
fn users_per_block(db: &Database) -> Vec<usize> {
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let blocks = table.range::<&str>(..).expect("range");
    blocks
        .map(|block| BlockView::parse(block.expect("block").1.value()).expect("a sound block").users)
        .collect()
}

/// Entries that fill a block to exactly its limit stay in it, and the next starts a new one,
/// whether appended (a bulk load) or merged (every other write).
#[test]
fn a_block_is_filled_to_its_limit_exactly_and_never_past_it() {
    let entries: BTreeMap<String, String> =
        (0..7).map(|i| (format!("key{i}"), format!("id{i}\0text{i}"))).collect();
    let mut three = BlockBuilder::default();
    for (key, text) in entries.iter().take(3) {
        three.push(key, text);
    }
    let limit = three.bytes();
    let (_dir, appended) = database();
    let tx = appended.begin_write().expect("write");
    {
        let mut texts = SearchTexts::open(&tx).expect("open");
        texts.block_bytes = limit;
        for (key, text) in &entries {
            texts.append(key, text).expect("append");
        }
        texts.finish_appends().expect("finish");
    }
    tx.commit().expect("commit");
    let (_dir, merged) = database();
    load_sorted(&merged, limit, &entries);
    for db in [&appended, &merged] {
        assert_eq!(users_per_block(db), [3, 3, 1]);
        assert_eq!(stored_entries(db), entries.clone().into_iter().collect::<Vec<_>>());
    }
}

/// A bulk load's appends come after every key stored or appended: a key at or before one
/// is refused, whether it is in the block being filled or in a block written already.
#[test]
fn an_append_at_or_before_a_key_already_there_is_refused() {
    let (_dir, db) = database();
    let stored_first: BTreeMap<String, String> =
        [("b".to_owned(), "id".to_owned()), ("d".to_owned(), "id".to_owned())].into();
    load_sorted(&db, BLOCK_BYTES, &stored_first);
    let tx = db.begin_write().expect("write");
    {
        let mut texts = SearchTexts::open(&tx).expect("open");
        for key in ["a", "b", "c", "d"] {
            assert!(texts.append(key, "x").is_err(), "{key:?} after the stored d");
        }
        texts.append("e", "x").expect("append");
        for key in ["d", "e"] {
            assert!(texts.append(key, "x").is_err(), "{key:?} after e");
        }
        texts.append("f", "x").expect("append");
        for key in ["e", "f"] {
            assert!(texts.append(key, "x").is_err(), "{key:?} after f");
        }
        texts.append("g", "x").expect("append");
        texts.finish_appends().expect("finish");
    }
    tx.commit().expect("commit");
    let keys: Vec<String> = stored_entries(&db).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["b", "d", "e", "f", "g"]);
}

/// Layouts 3–5 kept one search text per user: the upgrade packs them into blocks and drops
/// the old table; in a file without it, it does nothing.
#[test]
fn layout_5_search_texts_become_blocks_and_their_table_goes() {
    let (_dir, db) = database();
    let model = users();
    let tx = db.begin_write().expect("write");
    {
        let mut old = tx.open_table(OLD_SEARCH_TEXT).expect("old table");
        for (key, text) in &model {
            old.insert(key.as_str(), text.as_str()).expect("insert");
        }
    }
    upgrade_search_text(&tx).expect("upgrade");
    tx.commit().expect("commit");
    let want: Vec<(String, String)> = model.clone().into_iter().collect();
    assert_eq!(stored_entries(&db), want);
    assert_eq!(scan_all(&db, "needle", 1000, usize::MAX), expected(&model, "needle"));
    let tx = db.begin_read().expect("read");
    assert!(matches!(tx.open_table(OLD_SEARCH_TEXT), Err(redb::TableError::TableDoesNotExist(_))));
    drop(tx);
    let tx = db.begin_write().expect("write");
    upgrade_search_text(&tx).expect("nothing to upgrade");
    tx.commit().expect("commit");
    assert_eq!(stored_entries(&db), want);
}

/// A step that reaches `max_hits` ends at its last hit even when the blocks after it hold
/// no match: they are left to the next step, not counted as scanned.
#[test]
fn a_step_ends_at_its_last_hit_when_no_match_follows() {
    let (_dir, db) = database();
    let model: BTreeMap<String, String> = (0..300)
        .map(|i| {
            let text = if [10, 11, 250].contains(&i) { "needle" } else { "hay" };
            (format!("user{i:04}"), format!("id{i}\0{text}"))
        })
        .collect();
    load_sorted(&db, 160, &model);
    let filter = Filter::new("needle");
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    for batch in [1000, PARALLEL_FROM] {
        let first = scan_blocks(&table, &filter, None, batch, 2).expect("scan");
        assert_eq!(first.hits, ["user0010", "user0011"], "steps of {batch}");
        assert_eq!((first.scanned, first.last.as_deref()), (12, Some("user0011")), "steps of {batch}");
        let second = scan_blocks(&table, &filter, first.last.as_deref(), batch, 2).expect("scan");
        assert_eq!(second.hits, ["user0250"], "steps of {batch}");
        assert_eq!((second.scanned, second.last.as_deref()), (288, Some("user0299")), "steps of {batch}");
    }
}

/// A step after the last user, or after a key past it, scans no one and names no last user.
#[test]
fn a_step_after_the_last_user_scans_no_one() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 160, &model);
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let last = model.keys().next_back().expect("a user");
    for after in [last.as_str(), "zzz"] {
        for batch in [1, 1000, PARALLEL_FROM] {
            let step = scan_blocks(&table, &Filter::new(""), Some(after), batch, usize::MAX).expect("scan");
            assert!(step.hits.is_empty(), "after {after:?} in steps of {batch}");
            assert_eq!((step.scanned, step.last), (0, None), "after {after:?} in steps of {batch}");
        }
    }
}

/// A step of [`PARALLEL_FROM`] users (searched on two threads) scans exactly its batch,
/// from the first user or from one in the middle of a block, and ends at its last user.
#[test]
fn a_step_on_two_threads_scans_exactly_its_batch() {
    let (_dir, db) = database();
    let model: BTreeMap<String, String> =
        (0..6_000).map(|i| (format!("u{i:05}"), format!("id{i}"))).collect();
    load_sorted(&db, 2_000, &model);
    let keys: Vec<String> = model.keys().cloned().collect();
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    for (after, first) in [(None, 0), (Some(keys[10].as_str()), 11)] {
        let step = scan_blocks(&table, &Filter::new("id"), after, PARALLEL_FROM, usize::MAX).expect("scan");
        let end = first + PARALLEL_FROM;
        assert_eq!(step.scanned, PARALLEL_FROM, "after {after:?}");
        assert_eq!(step.hits, keys[first..end], "after {after:?}");
        assert_eq!(step.last.as_deref(), Some(keys[end - 1].as_str()), "after {after:?}");
    }
}

/// A step that has found its hits reads no block after them: a damaged block further on is
/// reported by the step that reaches it, not by one that stopped before.
#[test]
fn a_damaged_block_is_reported_by_the_step_that_reaches_it() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 160, &model);
    let tx = db.begin_write().expect("write");
    tx.open_table(SEARCH_BLOCKS).expect("table").insert("zzz", &[255u8, 255, 255, 255][..]).expect("insert");
    tx.commit().expect("commit");
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let filter = Filter::new("needle");
    let first = expected(&model, "needle")[0].clone();
    for batch in [1000, PARALLEL_FROM] {
        let step = scan_blocks(&table, &filter, None, batch, 1).expect("a step that stops at its first hit");
        assert_eq!(step.hits, [first.as_str()], "steps of {batch}");
        assert!(scan_blocks(&table, &filter, None, batch, usize::MAX).is_err(), "steps of {batch}");
    }
}
