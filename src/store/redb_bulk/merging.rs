//! A bulk load's merge on threads of its own: one reads a lane of tables' spilled runs and
//! merges them into key order, handing the entries over in batches; another packs the search
//! texts into blocks. The thread that takes a lane's entries only puts them into its tables
//! (the users and documents on the loading thread, the index keys on another: a redb
//! transaction's tables take writes from two threads). The merge was one thread's work, a
//! third of a 1M seed, while the other core had nothing to do.

use std::sync::mpsc;
use std::thread::Scope;

use super::{
    Stop, TableRuns, UNIQUE_FIELDS, arrived, conflict, folded_part, id_of_list_key_bytes, ids_with_key,
    put_name, text,
};
use crate::sorted_runs::{EntryBatch, MergeReady};
use crate::sorted_runs::{Runs, Spill};
use crate::store::StoreError;
use crate::store::redb_search::{BlockFiller, SearchTexts};
use crate::store::redb_store::write_tables::WriteTables;

/// About how many bytes of entries a batch holds, and batches read ahead of the loading thread.
const BATCH_BYTES: usize = 64 * 1024;
const BATCHES_IN_FLIGHT: usize = 4;
/// Packed blocks (~32 KiB each) waiting for the loading thread.
const BLOCKS_IN_FLIGHT: usize = 2;

/// Puts one merged entry (key, value, note) into its table.
pub(super) type Take<'a> = dyn FnMut(&[u8], &[u8], &[u8]) -> Result<(), Stop> + 'a;

/// What the merging thread sends: a table's entries in key order, batch after batch, then
/// its end.
enum FromMerge {
    Entries(EntryBatch),
    TableEnd,
    Failed(Stop),
}

/// What the packing thread sends: each block in key order, then the end.
enum FromPacking {
    Block(String, Vec<u8>),
    End,
    Failed(Stop),
}

/// The loading thread's side of the merge: tables handed over in the order they were given
/// to [`Merging::start`].
pub(super) struct Merging {
    merged: mpsc::Receiver<FromMerge>,
    /// Batches given back, to be filled again on the merging thread (no allocation crosses
    /// threads).
    give_back: mpsc::Sender<EntryBatch>,
    /// The search texts' blocks, when they are packed on a thread of their own (`None` once
    /// every block is in).
    packed: Option<mpsc::Receiver<FromPacking>>,
    /// Why the packing thread stopped, said once every table is merged.
    packing_failed: Option<Stop>,
}

/// A thread of the merge that stopped without saying so (a panic): the load must fail, not
/// commit what came before.
fn stopped() -> Stop {
    Stop::Store(StoreError::Database(
        "a thread merging the load stopped before the end; nothing was written".into(),
    ))
}

impl Merging {
    /// Starts merging `tables` one after another, and packing `search_texts` into blocks (of
    /// at most the bytes given with them) beside them when given. The threads stop at their
    /// next hand-over once this is dropped.
    pub(super) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        tables: Vec<MergeReady>,
        search_texts: Option<(MergeReady, usize)>,
    ) -> Self {
        let (send, merged) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (give_back, to_fill) = mpsc::channel();
        scope.spawn(move || merge_tables(tables, &send, &to_fill));
        let packed = search_texts.map(|(ready, limit)| {
            let (send, packed) = mpsc::sync_channel(BLOCKS_IN_FLIGHT);
            scope.spawn(move || pack_blocks(ready, limit, &send));
            packed
        });
        Self { merged, give_back, packed, packing_failed: None }
    }

    /// Hands the next table's entries to `take` in key order, a signal looked at before each
    /// (a signal during the merge still stops the load with nothing written); the blocks
    /// packed meanwhile are put into `search` as they come (given where they are packed).
    pub(super) fn table(
        &mut self,
        mut search: Option<&mut SearchTexts<'_>>,
        take: &mut Take<'_>,
    ) -> Result<(), Stop> {
        loop {
            match self.merged.recv().map_err(|_| stopped())? {
                FromMerge::Entries(batch) => {
                    for (key, value, note) in batch.entries() {
                        crate::interrupt::check()?;
                        take(key, value, note)?;
                    }
                    // A thread that has stopped takes none back.
                    let _ = self.give_back.send(batch);
                    if let Some(search) = search.as_deref_mut() {
                        self.put_blocks(search, false)?;
                    }
                }
                FromMerge::TableEnd => return Ok(()),
                FromMerge::Failed(stop) => return Err(stop),
            }
        }
    }

    /// Puts the blocks packed so far into `search`; with `to_the_end`, waits for every one.
    /// The packing thread's failure is said only then: a search text repeated is a user
    /// repeated, which the merge of the users names with its record (the packing thread
    /// may meet it first).
    pub(super) fn put_blocks(&mut self, search: &mut SearchTexts<'_>, to_the_end: bool) -> Result<(), Stop> {
        while let Some(packed) = &self.packed {
            let next = if to_the_end {
                packed.recv().unwrap_or(FromPacking::Failed(stopped()))
            } else {
                match packed.try_recv() {
                    Ok(next) => next,
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => FromPacking::Failed(stopped()),
                }
            };
            match next {
                FromPacking::Block(first, block) => {
                    crate::interrupt::check()?;
                    search.put_block(&first, &block)?;
                }
                FromPacking::End => self.packed = None,
                FromPacking::Failed(stop) => {
                    self.packed = None;
                    self.packing_failed = Some(stop);
                }
            }
        }
        if to_the_end && let Some(stop) = self.packing_failed.take() {
            return Err(stop);
        }
        Ok(())
    }
}

/// The merging thread: each table's entries in key order, in batches; stops at the first
/// error (sent) or when the loading thread hangs up.
fn merge_tables(
    tables: Vec<MergeReady>,
    send: &mpsc::SyncSender<FromMerge>,
    to_fill: &mpsc::Receiver<EntryBatch>,
) {
    for ready in tables {
        let merged = (|| -> Result<(), Stop> {
            let mut merged = ready.start()?;
            let mut batch = EntryBatch::default();
            while let Some(entry) = merged.next_entry()? {
                batch.push(&entry)?;
                if batch.size() >= BATCH_BYTES {
                    let mut next = to_fill.try_recv().unwrap_or_default();
                    next.clear();
                    let full = std::mem::replace(&mut batch, next);
                    send.send(FromMerge::Entries(full)).map_err(|_| stopped())?;
                }
            }
            if batch.size() > 0 {
                send.send(FromMerge::Entries(batch)).map_err(|_| stopped())?;
            }
            send.send(FromMerge::TableEnd).map_err(|_| stopped())?;
            Ok(())
        })();
        if let Err(stop) = merged {
            let _ = send.send(FromMerge::Failed(stop));
            return;
        }
    }
}

/// The packing thread: the search texts in key order, packed into blocks as
/// [`SearchTexts::append`] packs them.
fn pack_blocks(ready: MergeReady, limit: usize, send: &mpsc::SyncSender<FromPacking>) {
    let packed = (|| -> Result<(), Stop> {
        let mut merged = ready.start()?;
        let mut filler = BlockFiller::default();
        while let Some(entry) = merged.next_entry()? {
            let (key, text) = (super::text(&entry.key), super::text(&entry.value));
            if let Some((first, block)) = filler.push(&key, &text, limit)? {
                send.send(FromPacking::Block(first, block)).map_err(|_| stopped())?;
            }
        }
        if let Some((first, block)) = filler.take() {
            send.send(FromPacking::Block(first, block)).map_err(|_| stopped())?;
        }
        send.send(FromPacking::End).map_err(|_| stopped())?;
        Ok(())
    })();
    if let Err(stop) = packed {
        let _ = send.send(FromPacking::Failed(stop));
    }
}

/// Merges every table's deferred entries into it, in key order, in two lanes (see below): the
/// users' and names' failures said before any other.
pub(super) fn merge_all(
    tables: &mut WriteTables<'_>,
    runs: TableRuns,
    spill: &mut Spill,
) -> Result<(), Stop> {
    let TableRuns { users, custom_data, order, search_text, unique, by_name } = runs;
    let [username, email, phone] = unique;
    let looked_up = [username.placed_directly(), email.placed_directly(), phone.placed_directly()];
    let documents = [users.ready_to_merge(spill)?, custom_data.ready_to_merge(spill)?];
    let mut keys = Vec::new();
    for runs in [username, email, phone, order, by_name] {
        keys.push(runs.ready_to_merge(spill)?);
    }
    // Packed into blocks beside the other tables when none went in as they came; else merged
    // in among those that did, at the end.
    let (search_text, packed) = if search_text.placed_directly() {
        (Some(search_text), None)
    } else {
        (None, Some((search_text.ready_to_merge(spill)?, tables.search_text.block_bytes())))
    };
    // Two lanes, each merged on a thread of its own and put into its tables by another (a
    // redb transaction's tables can be written from two threads): the users and their
    // documents, and the index keys. The merge was the loading thread's alone, 4 s of a 1M
    // import with the other core idle.
    let (users, custom_data) = (&mut tables.users, &mut tables.custom_data);
    let (username_keys, email_keys, phone_keys) =
        (&mut tables.username_keys, &mut tables.email_keys, &mut tables.phone_keys);
    let (order, by_name, search) = (&mut tables.order, &mut tables.by_name, &mut tables.search_text);
    std::thread::scope(|scope| {
        let keys =
            std::thread::Builder::new().name("custodian-merge".into()).spawn_scoped(scope, move || {
                let mut merging = Merging::start(scope, keys, packed);
                for (slot, looked_up) in looked_up.into_iter().enumerate() {
                    let field = UNIQUE_FIELDS[slot];
                    let table = match slot {
                        0 => &mut *username_keys,
                        1 => &mut *email_keys,
                        _ => &mut *phone_keys,
                    };
                    // Where the merge gives the table every entry, in key order, a repeated name is
                    // the entry just before; else one put in directly is looked up (a range read per
                    // entry, 5 % of a seed).
                    let (mut previous, mut previous_note): (Vec<u8>, Vec<u8>) = Default::default();
                    merging.table(Some(&mut *search), &mut |key, _, note| {
                        let folded = text(folded_part(key));
                        if looked_up {
                            // Put in directly, so given before any record the merge brings.
                            let existing = ids_with_key(&*table, &folded)?.into_iter().next();
                            return put_name(table, key, note, field, existing);
                        }
                        if !previous.is_empty() && folded_part(&previous) == folded_part(key) {
                            // The record that came later repeated the name: in key order the
                            // one whose id sorts first comes first, and the first line of the
                            // file was named for a repeat on its last (bb68 F1).
                            let (later, earlier_key) = if arrived(&previous_note) > arrived(note) {
                                (previous_note.as_slice(), key)
                            } else {
                                (note, previous.as_slice())
                            };
                            let other = text(id_of_list_key_bytes(earlier_key)).into_owned();
                            return put_name(table, key, later, field, Some(other));
                        }
                        previous.clear();
                        previous.extend_from_slice(key);
                        previous_note.clear();
                        previous_note.extend_from_slice(note);
                        put_name(table, key, note, field, None)
                    })?;
                }
                merging.table(Some(&mut *search), &mut |key, _, _| {
                    order.insert(text(key).as_ref(), ())?;
                    Ok(())
                })?;
                merging.table(Some(&mut *search), &mut |key, _, _| {
                    by_name.insert(text(key).as_ref(), ())?;
                    Ok(())
                })?;
                merging.put_blocks(search, true)
            });
        // The documents stay on this thread: its allocator's arena was given back after the
        // placing (a documents' merge on a new thread took 400 documents of 60,000 keys from
        // 74 to 91 MB).
        let documents = merge_documents(scope, documents, users, custom_data);
        // The users' failure first, whichever lane met its own first: a record given twice is
        // named by its id, as when the users were merged before the names.
        let keys = match keys {
            Ok(lane) => lane.join().unwrap_or_else(|_| Err(stopped())),
            Err(e) => Err(Stop::Store(StoreError::Database(format!("cannot start the merge's thread: {e}")))),
        };
        documents.and(keys)
    })?;
    match search_text {
        Some(runs) => merge_search_texts_among_placed(tables, runs, spill),
        None => Ok(()),
    }
}

/// The users and their documents, merged and put into their tables: a repeated id is the
/// likeliest mistake, and named with its record.
fn merge_documents<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    ready: [MergeReady; 2],
    users: &mut redb::Table<'_, &'static str, &'static str>,
    custom_data: &mut redb::Table<'_, &'static str, &'static str>,
) -> Result<(), Stop> {
    let mut merging = Merging::start(scope, ready.into(), None);
    merging.table(None, &mut |key, value, note| {
        if users.insert(text(key).as_ref(), text(value).as_ref())?.is_some() {
            let origin = text(note).into_owned();
            return Err(conflict(origin, StoreError::IdRepeatedInImport(text(key).into_owned())).into());
        }
        Ok(())
    })?;
    merging.table(None, &mut |key, value, _| {
        custom_data.insert(text(key).as_ref(), text(value).as_ref())?;
        Ok(())
    })
}

/// The search texts' deferred entries when some went in as they came: merged in among them,
/// each block they fall in rewritten once (an input in list order but for a few records:
/// appended, those few came out of order, and the load failed).
fn merge_search_texts_among_placed(
    tables: &mut WriteTables<'_>,
    runs: Runs,
    spill: &mut Spill,
) -> Result<(), Stop> {
    tables.search_text.finish_appends()?;
    let mut merged = runs.into_merged(spill)?;
    let mut stopped: Option<Stop> = None;
    let entries = std::iter::from_fn(|| {
        let next = crate::interrupt::check().map_err(Stop::from).and_then(|()| Ok(merged.next_entry()?));
        match next {
            Ok(entry) => entry.map(|e| (text(&e.key).into_owned(), text(&e.value).into_owned())),
            Err(e) => {
                stopped = Some(e);
                None
            }
        }
    });
    tables.search_text.insert_sorted(entries)?;
    // Ended early by a signal or the spill file: the load fails, nothing is committed.
    stopped.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use redb::{Database, ReadableDatabase, ReadableTable};

    use super::*;
    use crate::sorted_runs::{Runs, Spill};
    use crate::store::redb_search::SEARCH_BLOCKS;

    /// `count` entries keyed `{prefix}{n:06}` deferred in an order that is not theirs, with
    /// runs of `budget` bytes (small: several runs spilled).
    fn shuffled(spill: &mut Spill, prefix: &str, count: usize, budget: usize) -> Runs {
        let mut runs = Runs::new(budget);
        for n in 0..count {
            let k = (n * 7919) % count;
            let key = format!("{prefix}{k:06}");
            let value = format!("text {} of {key}", k % 13);
            runs.defer(spill, key.as_bytes(), value.as_bytes(), b"").expect("deferred");
        }
        runs
    }

    fn message(stop: Stop) -> String {
        match stop {
            Stop::Spill(e) => format!("spill: {e}"),
            Stop::Store(e) => format!("store: {e}"),
        }
    }

    fn blocks(db: &Database) -> Vec<(String, Vec<u8>)> {
        let tx = db.begin_read().expect("read");
        let table = tx.open_table(SEARCH_BLOCKS).expect("table");
        table
            .iter()
            .expect("iterate")
            .map(|row| {
                let (key, block) = row.expect("row");
                (key.value().to_owned(), block.value().to_vec())
            })
            .collect()
    }

    #[test]
    fn every_table_comes_back_in_key_order_and_the_blocks_are_the_ones_appending_packs() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut spill = Spill::new(dir.path()).expect("spill");
        // 5,000 entries over 64 KiB runs: several runs, and batches of ~64 KiB each.
        let spilled = shuffled(&mut spill, "a", 5000, 64 * 1024).ready_to_merge(&mut spill).expect("ready");
        let in_memory = shuffled(&mut spill, "b", 300, 1 << 20).ready_to_merge(&mut spill).expect("ready");
        let texts = shuffled(&mut spill, "t", 3000, 16 * 1024).ready_to_merge(&mut spill).expect("ready");
        let db = Database::create(dir.path().join("packed.redb")).expect("create");
        let tx = db.begin_write().expect("write");
        let mut got: Vec<Vec<String>> = Vec::new();
        {
            let mut search = SearchTexts::open(&tx).expect("open");
            std::thread::scope(|scope| {
                let mut merging = Merging::start(scope, vec![spilled, in_memory], Some((texts, 1024)));
                for _ in 0..2 {
                    let mut keys = Vec::new();
                    let mut take = |key: &[u8], value: &[u8], _: &[u8]| {
                        let key = String::from_utf8(key.to_vec()).expect("UTF-8");
                        assert!(String::from_utf8_lossy(value).ends_with(&key), "{key}: its own value");
                        keys.push(key);
                        Ok(())
                    };
                    assert!(merging.table(Some(&mut search), &mut take).is_ok());
                    got.push(keys);
                }
                assert!(merging.put_blocks(&mut search, true).is_ok());
            });
        }
        tx.commit().expect("commit");
        let expected =
            |prefix: &str, count: usize| (0..count).map(|n| format!("{prefix}{n:06}")).collect::<Vec<_>>();
        assert_eq!(got, vec![expected("a", 5000), expected("b", 300)]);
        let appended = Database::create(dir.path().join("appended.redb")).expect("create");
        let tx = appended.begin_write().expect("write");
        {
            let mut search = SearchTexts::open(&tx).expect("open");
            search.set_block_bytes(1024);
            for key in expected("t", 3000) {
                let k: usize = key[1..].parse().expect("a number");
                search.append(&key, &format!("text {} of {key}", k % 13)).expect("appended");
            }
            search.finish_appends().expect("finished");
        }
        tx.commit().expect("commit");
        let packed = blocks(&db);
        assert!(packed.len() > 50, "many small blocks: {}", packed.len());
        assert_eq!(packed, blocks(&appended));
    }

    /// A repeated search text is a repeated user, which the users' merge names with its
    /// record: the packing thread, which may meet it first, is heard only after every table.
    #[test]
    fn the_packing_thread_s_failure_is_said_after_every_table_s_own() {
        for table_fails in [true, false] {
            let dir = tempfile::tempdir().expect("temporary directory");
            let mut spill = Spill::new(dir.path()).expect("spill");
            let table = shuffled(&mut spill, "a", 5000, 64 * 1024).ready_to_merge(&mut spill).expect("ready");
            let mut texts = Runs::new(1 << 20);
            for key in ["t2", "t1", "t1", "t3"] {
                texts.defer(&mut spill, key.as_bytes(), b"x", b"").expect("deferred");
            }
            let texts = texts.ready_to_merge(&mut spill).expect("ready");
            let db = Database::create(dir.path().join("packed.redb")).expect("create");
            let tx = db.begin_write().expect("write");
            let mut search = SearchTexts::open(&tx).expect("open");
            let said = std::thread::scope(|scope| {
                let mut merging = Merging::start(scope, vec![table], Some((texts, 1024)));
                // The packing thread has failed long before the table's last batch.
                std::thread::sleep(std::time::Duration::from_millis(300));
                let mut take = |key: &[u8], _: &[u8], _: &[u8]| match key {
                    b"a004999" if table_fails => {
                        Err(Stop::Store(StoreError::Database("the table's own".into())))
                    }
                    _ => Ok(()),
                };
                merging.table(Some(&mut search), &mut take)?;
                merging.put_blocks(&mut search, true)
            });
            let said = message(said.expect_err("a failure"));
            let expected = if table_fails { "the table's own" } else { "search texts appended out of order" };
            assert!(said.contains(expected), "{said}");
        }
    }

    #[test]
    fn a_spilled_run_cut_short_fails_the_merge_on_the_loading_thread() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut spill = Spill::new(dir.path()).expect("spill");
        let table = shuffled(&mut spill, "a", 5000, 64 * 1024).ready_to_merge(&mut spill).expect("ready");
        spill.cut_to(spill.len() / 2).expect("cut");
        let said = std::thread::scope(|scope| {
            let mut merging = Merging::start(scope, vec![table], None);
            merging.table(None, &mut |_, _, _| Ok(()))
        });
        match said {
            Err(Stop::Spill(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}"),
            Err(other) => panic!("another failure: {}", message(other)),
            Ok(()) => panic!("merged a run cut short"),
        }
    }
}
