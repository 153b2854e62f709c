//! A bulk load's merge on threads of its own: one reads every table's spilled runs and merges
//! them into key order, handing the entries over in batches; another packs the search texts
//! into blocks. The loading thread only puts what they hand over into the tables (redb's
//! transaction is its alone). The merge was one thread's work, a third of a 1M seed, while
//! the other core had nothing to do.

use std::sync::mpsc;
use std::thread::Scope;

use super::Stop;
use crate::sorted_runs::{EntryBatch, MergeReady};
use crate::store::StoreError;
use crate::store::redb_search::{BlockFiller, SearchTexts};

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
    /// packed meanwhile are put into `search` as they come.
    pub(super) fn table(&mut self, search: &mut SearchTexts<'_>, take: &mut Take<'_>) -> Result<(), Stop> {
        loop {
            match self.merged.recv().map_err(|_| stopped())? {
                FromMerge::Entries(batch) => {
                    for (key, value, note) in batch.entries() {
                        crate::interrupt::check()?;
                        take(key, value, note)?;
                    }
                    // A thread that has stopped takes none back.
                    let _ = self.give_back.send(batch);
                    self.put_blocks(search, false)?;
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
                    assert!(merging.table(&mut search, &mut take).is_ok());
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
                merging.table(&mut search, &mut take)?;
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
        let db = Database::create(dir.path().join("packed.redb")).expect("create");
        let tx = db.begin_write().expect("write");
        let mut search = SearchTexts::open(&tx).expect("open");
        let said = std::thread::scope(|scope| {
            let mut merging = Merging::start(scope, vec![table], None);
            merging.table(&mut search, &mut |_, _, _| Ok(()))
        });
        match said {
            Err(Stop::Spill(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}"),
            Err(other) => panic!("another failure: {}", message(other)),
            Ok(()) => panic!("merged a run cut short"),
        }
    }
}
