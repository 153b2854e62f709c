use std::collections::BTreeMap;

use redb::{Database, ReadableDatabase};

use super::*;

/// A database of its own in a temporary directory (dropped with it).
fn database() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Database::create(dir.path().join("blocks.redb")).expect("create");
    (dir, db)
}

/// How [`write`] gives its changes to the blocks.
#[derive(Debug, Clone, Copy)]
enum Deferral {
    /// Each merged as it comes.
    None,
    /// Sorted runs of at most this many bytes in memory, spilled to a file, merged at the end.
    Runs(usize),
    /// No spill file can be made: merged this many at a time.
    Chunks(usize),
}

fn deferral() -> impl proptest::strategy::Strategy<Value = Deferral> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Deferral::None),
        (16usize..600).prop_map(Deferral::Runs),
        (1usize..40).prop_map(Deferral::Chunks)
    ]
}

/// Writes `entries` as blocks of at most `block_bytes` (small, so a few users make many
/// blocks and many boundaries).
fn write(db: &Database, block_bytes: usize, changes: Vec<(String, Option<String>)>, deferral: Deferral) {
    let spill_dir = tempfile::tempdir().expect("temporary directory");
    let tx = db.begin_write().expect("write");
    {
        let mut texts = SearchTexts::open(&tx).expect("open");
        texts.block_bytes = block_bytes;
        match deferral {
            Deferral::None => {}
            Deferral::Runs(bytes) => {
                texts.deferred_run_bytes = bytes;
                texts.defer(spill_dir.path());
                assert!(matches!(texts.deferred, Some(Deferred::Runs { .. })));
            }
            Deferral::Chunks(changes) => {
                texts.deferred_chunk = changes;
                texts.defer(&spill_dir.path().join("not there"));
                assert!(matches!(texts.deferred, Some(Deferred::Chunks(_))));
            }
        }
        for (key, text) in changes {
            match text {
                Some(text) => texts.insert(&key, &text).expect("insert"),
                None => texts.remove(&key).expect("remove"),
            }
        }
        texts.flush_deferred().expect("flush");
    }
    tx.commit().expect("commit");
}

fn load_sorted(db: &Database, block_bytes: usize, entries: &BTreeMap<String, String>) {
    let tx = db.begin_write().expect("write");
    {
        let mut texts = SearchTexts::open(&tx).expect("open");
        texts.block_bytes = block_bytes;
        texts.insert_sorted(entries.clone()).expect("insert sorted");
    }
    tx.commit().expect("commit");
}

/// Every entry the blocks hold, in block order, and the number of blocks.
fn stored(db: &Database) -> (Vec<(String, String)>, usize) {
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let mut entries = Vec::new();
    let mut blocks = 0;
    for block in table.range::<&str>(..).expect("range") {
        let (key, value) = block.expect("block");
        let view = BlockView::parse(value.value()).expect("a sound block");
        assert!(view.users > 0, "an empty block is kept");
        assert_eq!(view.key(0).expect("key"), key.value(), "a block is keyed by its first entry");
        entries.extend(view.entries().expect("entries"));
        blocks += 1;
    }
    (entries, blocks)
}

/// The scan run step after step to its end, as `list --search` runs it.
fn scan_all(db: &Database, query: &str, batch: usize, max_hits: usize) -> Vec<String> {
    let filter = Filter::new(query);
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let (mut hits, mut after) = (Vec::new(), None::<String>);
    loop {
        let step = scan_blocks(&table, &filter, after.as_deref(), batch, max_hits).expect("scan");
        assert!(step.scanned <= batch);
        hits.extend(step.hits);
        if step.scanned < batch || step.last.is_none() {
            return hits;
        }
        after = step.last;
    }
}

fn expected(model: &BTreeMap<String, String>, query: &str) -> Vec<String> {
    let filter = Filter::new(query);
    model.iter().filter(|(_, text)| filter.in_search_text(text.as_bytes())).map(|(k, _)| k.clone()).collect()
}

/// 300 users in blocks of about five: a query matches the first, the last and the
/// middle user of blocks, and the text at each block's very end and very start.
fn users() -> BTreeMap<String, String> {
    (0..300)
        .map(|i| {
            let key = format!("user{i:04}\0id{i}");
            let text = match i % 7 {
                0 => format!("id{i}\0needle\0x"),
                3 => format!("needle{i}\0end"),
                5 => format!("id{i}\0tail needle"),
                _ => format!("id{i}\0nothing here"),
            };
            (key, text)
        })
        .collect()
}

#[test]
fn a_scan_over_blocks_finds_every_match_at_block_boundaries_in_list_order() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 160, &model);
    let (entries, blocks) = stored(&db);
    assert!(blocks > 50, "{blocks} blocks: the test needs many boundaries");
    assert_eq!(entries, model.clone().into_iter().collect::<Vec<_>>());
    for query in ["needle", "NEEDLE", "id1", "end", "here", "id299", "id0", "zzz", "", "x"] {
        let want = expected(&model, query);
        for batch in [1, 3, 7, 1000, PARALLEL_FROM, usize::MAX] {
            assert_eq!(scan_all(&db, query, batch, usize::MAX), want, "{query:?} in steps of {batch}");
        }
    }
    // Across two users or two texts, never.
    for query in ["xid", "endid", "hereid", "needleid"] {
        assert_eq!(scan_all(&db, query, 1000, usize::MAX), Vec::<String>::new(), "{query:?}");
    }
}

#[test]
fn a_scan_stops_at_max_hits_and_the_next_step_goes_on_after_the_last_hit() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 160, &model);
    let want = expected(&model, "needle");
    let filter = Filter::new("needle");
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let first = scan_blocks(&table, &filter, None, 1000, 5).expect("scan");
    assert_eq!(first.hits, want[..5]);
    assert_eq!(first.last.as_deref(), Some(want[4].as_str()), "the step ends at its last hit");
    let position = model.keys().position(|k| *k == want[4]).expect("a key");
    assert_eq!(first.scanned, position + 1);
    let second = scan_blocks(&table, &filter, first.last.as_deref(), 1000, 5).expect("scan");
    assert_eq!(second.hits, want[5..10]);
    // A step of a few users that ends in the middle of a block goes on from there.
    let short = scan_blocks(&table, &filter, None, 2, usize::MAX).expect("scan");
    assert_eq!((short.scanned, short.last.as_deref()), (2, model.keys().nth(1).map(String::as_str)));
}

#[test]
fn a_scan_on_two_threads_answers_as_one_thread_does_up_to_max_hits() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 160, &model);
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let keys: Vec<&String> = model.keys().collect();
    for query in ["needle", "id1", "zzz", ""] {
        let filter = Filter::new(query);
        for after in [None, Some(keys[0].as_str()), Some(keys[37].as_str()), Some(keys[299].as_str())] {
            for max_hits in [1, 2, 5, 13, 40, usize::MAX] {
                // The sequential answer, step after step of one user.
                let (mut hits, mut scanned, mut last) = (Vec::new(), 0, None::<String>);
                let mut from = after.map(str::to_owned);
                while hits.len() < max_hits {
                    let step = scan_blocks(&table, &filter, from.as_deref(), 1, max_hits - hits.len())
                        .expect("scan");
                    if step.scanned == 0 {
                        break;
                    }
                    hits.extend(step.hits);
                    scanned += step.scanned;
                    last = step.last.clone();
                    from = step.last;
                }
                let parallel = scan_blocks(&table, &filter, after, usize::MAX, max_hits).expect("scan");
                let case = format!("{query:?} after {after:?}, max {max_hits}");
                assert_eq!(parallel.hits, hits, "{case}");
                assert_eq!((parallel.scanned, parallel.last), (scanned, last), "{case}");
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn random_writes_keep_the_blocks_equal_to_the_entries_written(
        changes in proptest::collection::vec((0u16..120, proptest::option::of("[a-c]{0,30}")), 1..200),
        block_bytes in 40usize..400,
        deferral in deferral(),
    ) {
        let (_dir, db) = database();
        let mut model = users().into_iter().filter(|(k, _)| k < &"user0100".to_owned()).collect::<BTreeMap<_, _>>();
        load_sorted(&db, block_bytes, &model);
        let changes: Vec<_> = changes
            .into_iter()
            // An empty text stays empty: a change to "" is not a removal.
            .map(|(i, text)| {
                let text = text.map(|t| if t.is_empty() { t } else { format!("id{i}\0{t}") });
                (format!("user{:04}\0id{i}", i * 2), text)
            })
            .collect();
        for (key, text) in &changes {
            match text {
                Some(text) => model.insert(key.clone(), text.clone()),
                None => model.remove(key),
            };
        }
        write(&db, block_bytes, changes, deferral);
        let (entries, _) = stored(&db);
        proptest::prop_assert_eq!(entries, model.clone().into_iter().collect::<Vec<_>>());
        for query in ["b", "ab", "id1", "c\0"] {
            if Filter::new(query).fits_search_text() {
                proptest::prop_assert_eq!(scan_all(&db, query, 3, usize::MAX), expected(&model, query));
            }
        }
    }
}

#[test]
fn entries_out_of_order_are_refused() {
    let (_dir, db) = database();
    let tx = db.begin_write().expect("write");
    let mut texts = SearchTexts::open(&tx).expect("open");
    let entries = [("b".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())];
    assert!(texts.insert_sorted(entries).is_err());
}

#[test]
fn a_damaged_block_is_an_error_not_a_panic() {
    let good = encode(&[("k1".into(), "t1".into()), ("k2".into(), "text".into())]);
    assert!(BlockView::parse(&good).is_ok());
    for cut in 0..good.len() {
        assert!(BlockView::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
    // A header that claims more texts than the dictionary holds: found when the block is
    // read (a scan's answer or a write's merge), never trusted.
    let mut bad = good.clone();
    bad[4] = 200;
    let view = BlockView::parse(&bad).expect("the ends are in place");
    assert!(view.entries().is_err());
    let mut bad = good.clone();
    bad[0] = 200;
    assert!(BlockView::parse(&bad).is_err());
    assert!(BlockView::parse(&[255, 255, 255, 255]).is_err());
}

#[test]
fn a_text_shared_by_many_users_is_kept_once_a_block_and_finds_every_user_holding_it() {
    let (_dir, db) = database();
    let model: BTreeMap<String, String> = (0..400)
        .map(|i| {
            let plan = ["free", "pro", "team"][i % 3];
            (format!("u{i:04}"), format!("id{i}\0adminconsolepreferences\0plan\0{plan}\0seats\0{}", i % 7))
        })
        .collect();
    load_sorted(&db, BLOCK_BYTES, &model);
    let whole: usize = model.iter().map(|(k, t)| k.len() + t.len() + 9).sum();
    let tx = db.begin_read().expect("read");
    let table = tx.open_table(SEARCH_BLOCKS).expect("table");
    let stored: usize =
        table.range::<&str>(..).expect("range").map(|b| b.expect("block").1.value().len()).sum();
    assert!(stored * 2 < whole, "{stored} bytes stored for {whole} bytes of texts");
    drop((table, tx));
    assert_eq!(stored_entries(&db), model.clone().into_iter().collect::<Vec<_>>());
    for query in ["adminconsole", "pro", "team", "id39", "seats", "3", "plan\0pro", "proseats", "ntplan"] {
        if Filter::new(query).fits_search_text() {
            assert_eq!(scan_all(&db, query, PARALLEL_FROM, usize::MAX), expected(&model, query), "{query:?}");
            assert_eq!(scan_all(&db, query, 7, usize::MAX), expected(&model, query), "{query:?}");
        }
    }
}

fn stored_entries(db: &Database) -> Vec<(String, String)> {
    stored(db).0
}

#[test]
fn a_user_whose_text_is_larger_than_a_block_gets_a_block_of_its_own() {
    let (_dir, db) = database();
    let huge = format!("start{}\0{}end", "x".repeat(40_000), "y".repeat(BLOCK_BYTES));
    let mut model: BTreeMap<String, String> =
        [("a".to_owned(), "id\0small".to_owned()), ("c".to_owned(), "id\0small end".to_owned())].into();
    load_sorted(&db, BLOCK_BYTES, &model);
    write(&db, BLOCK_BYTES, vec![("b".to_owned(), Some(huge.clone()))], Deferral::None);
    model.insert("b".to_owned(), huge);
    let (entries, blocks) = stored(&db);
    assert_eq!(entries, model.clone().into_iter().collect::<Vec<_>>());
    assert!(blocks >= 2, "{blocks} blocks");
    for query in ["start", "yend", "xxxxx", "small", "end", "xy", "id"] {
        assert_eq!(scan_all(&db, query, 1000, usize::MAX), expected(&model, query), "{query:?}");
    }
}

#[test]
fn layout_6_blocks_become_blocks_with_a_dictionary_entry_for_entry() {
    let (_dir, db) = database();
    let model = users();
    let tx = db.begin_write().expect("write");
    {
        let mut old = tx.open_table(layout6::LAYOUT_6_BLOCKS).expect("old table");
        let entries: Vec<(String, String)> = model.clone().into_iter().collect();
        for chunk in entries.chunks(7) {
            old.insert(chunk[0].0.as_str(), layout6::encode(chunk).as_slice()).expect("insert");
        }
    }
    upgrade_search_blocks(&tx).expect("upgrade");
    tx.commit().expect("commit");
    assert_eq!(stored_entries(&db), model.clone().into_iter().collect::<Vec<_>>());
    assert_eq!(scan_all(&db, "needle", 1000, usize::MAX), expected(&model, "needle"));
    let tx = db.begin_read().expect("read");
    assert!(matches!(tx.open_table(layout6::LAYOUT_6_BLOCKS), Err(redb::TableError::TableDoesNotExist(_))));
}

/// Deferred changes stay out of the blocks until a chunk is full (without a spill file) or
/// the flush; then every one is there.
#[test]
fn deferred_changes_reach_the_blocks_when_a_chunk_is_full_or_at_the_flush() {
    for spill in [true, false] {
        let (_dir, db) = database();
        let model = users();
        load_sorted(&db, 400, &model);
        let spill_dir = tempfile::tempdir().expect("temporary directory");
        let tx = db.begin_write().expect("write");
        {
            let mut texts = SearchTexts::open(&tx).expect("open");
            texts.block_bytes = 400;
            texts.deferred_chunk = 5;
            match spill {
                true => texts.defer(spill_dir.path()),
                false => texts.defer(&spill_dir.path().join("not there")),
            }
            let changed = |texts: &SearchTexts| {
                let mut found = 0;
                for block in texts.table.range::<&str>(..).expect("range") {
                    let (_, value) = block.expect("block");
                    let entries = BlockView::parse(value.value()).expect("block").entries().expect("entries");
                    found += entries.iter().filter(|(_, text)| text.starts_with("changed")).count();
                }
                found
            };
            for i in 0..4 {
                texts.insert(&format!("user{:04}\0id{i}", i * 50), &format!("changed{i}")).expect("insert");
            }
            assert_eq!(changed(&texts), 0, "spill {spill}: four changes wait");
            texts.insert("user0250\0id250", "changed4").expect("insert");
            // A chunk of five is merged at once without a spill file; runs wait for the flush.
            assert_eq!(changed(&texts), if spill { 0 } else { 5 }, "spill {spill}");
            texts.flush_deferred().expect("flush");
            assert_eq!(changed(&texts), 5, "spill {spill}: every change after the flush");
        }
        tx.abort().expect("abort");
    }
}

/// A spill file that cannot be read back whole fails the flush, and with it the write: the
/// blocks are never left merged from part of the changes.
#[test]
fn a_spill_file_cut_short_fails_the_flush_and_the_write_commits_nothing() {
    let (_dir, db) = database();
    let model = users();
    load_sorted(&db, 400, &model);
    let spill_dir = tempfile::tempdir().expect("temporary directory");
    let tx = db.begin_write().expect("write");
    let flushed = {
        let mut texts = SearchTexts::open(&tx).expect("open");
        texts.block_bytes = 400;
        texts.deferred_run_bytes = 200;
        texts.defer(spill_dir.path());
        for i in (0..300).rev() {
            texts.insert(&format!("user{i:04}\0id{i}"), &format!("changed{i}")).expect("insert");
        }
        let Some(Deferred::Runs { spill, .. }) = texts.deferred.as_mut() else { panic!("runs") };
        let half = spill.len() / 2;
        spill.cut_to(half).expect("cut");
        texts.flush_deferred()
    };
    let error = flushed.expect_err("a run cut short");
    assert!(error.to_string().contains("sorted runs"), "{error}");
    tx.abort().expect("abort");
    let (entries, _) = stored(&db);
    assert_eq!(entries, model.into_iter().collect::<Vec<_>>(), "the blocks as they were");
}

/// A bulk load's packing thread fills blocks to the size every write does.
#[test]
fn the_blocks_a_load_packs_are_filled_to_the_size_every_write_fills() {
    let (_dir, db) = database();
    let tx = db.begin_write().expect("write");
    let mut texts = SearchTexts::open(&tx).expect("open");
    assert_eq!(texts.block_bytes(), BLOCK_BYTES);
    texts.set_block_bytes(1000);
    assert_eq!(texts.block_bytes(), 1000);
}

mod bytes;
mod edges;

/// A full disk met by the search texts' runs is said as the write's own full disk is: what
/// happened to the database, and what to do (it named "sorted runs": bb42 F1).
#[test]
fn a_full_disk_under_the_search_texts_runs_says_nothing_was_written() {
    let said = spill_failed(Path::new("/srv/db"))(io::Error::from(io::ErrorKind::StorageFull)).to_string();
    assert!(said.starts_with("database error: no room left on the disk (I/O error: "), "{said}");
    assert!(said.contains("in /srv/db: nothing was written, the database is as it was;"), "{said}");
    let other =
        spill_failed(Path::new("/srv/db"))(io::Error::from(io::ErrorKind::PermissionDenied)).to_string();
    assert!(other.contains("/srv/db: cannot keep the search texts of this write in sorted runs"), "{other}");
}

/// A damaged search block is said as every damaged file is, with what to do (bb76 F2: it named
/// no way forward).
#[test]
fn a_damaged_search_block_says_the_file_is_damaged_and_what_to_do() {
    let said = block::damaged("is shorter than its header says").to_string();
    assert_eq!(
        said,
        "database error: the database file is damaged: search block is shorter than its header says; restore it from a backup"
    );
}
