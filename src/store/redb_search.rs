//! The filter's search texts on redb, packed in blocks of many users (table
//! `search_dict_blocks`, layout 7).
//!
//! A user's search text ([`crate::domain::filter::search_text`]: every text the filter
//! searches, folded, NUL-separated) is stored in the block of its list key: a block holds the
//! users of a run of the list order, up to [`BLOCK_BYTES`] encoded, keyed by its first list
//! key. Within a block each distinct text is kept once, in the block's dictionary, and a
//! user is the numbers of its texts ([`block`] describes the bytes): customData keys and
//! common values, repeated in every user, are then stored and searched once a block. A scan
//! in list order ([`scan`]) reads a few thousand large values one after another and looks
//! for the folded query with one `memchr::memmem` pass over each block's dictionary; only in
//! a block where a text holds it are the users' numbers read.
//!
//! Exactness: no text holds a NUL (the separator), and the dictionary's texts are separated
//! by NUL, so a query holding no NUL ([`Filter::fits_search_text`]) matches inside one text,
//! and a user matches when one of its texts does: exactly as [`Filter::in_user`] /
//! [`Filter::in_document`] do (the property tests of `domain::filter` hold the text to that
//! rule). A match never reaches another user's text: the users are told apart by their
//! numbers, not by where the match lies.
//!
//! Writing: every write goes through [`SearchTexts`], which reads the block a key belongs
//! to, merges the change in, and writes the block back (split greedily when it outgrows
//! [`BLOCK_BYTES`]); bulk loads give it a sorted run ([`SearchTexts::insert_sorted`],
//! [`SearchTexts::append`]) so each block is written once per run.
//!
//! [`Filter::in_user`]: crate::domain::filter::Filter::in_user
//! [`Filter::in_document`]: crate::domain::filter::Filter::in_document

mod block;
mod layout6;
mod scan;

use std::io;
use std::ops::Bound::{Excluded, Unbounded};
use std::path::Path;

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::StoreError;
#[cfg(test)]
use crate::domain::filter::Filter;
use crate::sorted_runs::{Merged, Runs, Spill};
#[cfg(test)]
use block::encode;
use block::{BlockBuilder, BlockView};
#[cfg(test)]
use scan::PARALLEL_FROM;
pub(super) use scan::scan_blocks;

/// First list key of a block → the block ([`block`] describes the bytes).
pub(super) const SEARCH_BLOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("search_dict_blocks");

/// Layouts 3–5: list key → one user's search text. Read only by [`upgrade_search_text`].
const OLD_SEARCH_TEXT: TableDefinition<&str, &str> = TableDefinition::new("search_text");

/// The most bytes a block is filled to: a redb value of this size with its key fits one
/// 32 KiB page (redb gives a value larger than a page a page of the next power of two, so a
/// block just over a power of two would waste up to half its page). Larger blocks scan with
/// less per-entry overhead; smaller ones make a save rewrite less.
pub(super) const BLOCK_BYTES: usize = 32 * 1024 - 512;

/// The search texts as a write transaction changes them: the one way a write puts or
/// removes a user's search text ([`super::redb_store`]'s `search_entry` makes the entry).
pub(super) struct SearchTexts<'tx> {
    table: Table<'tx, &'static str, &'static [u8]>,
    block_bytes: usize,
    /// Texts appended after every stored key (a bulk load's, in key order) and not written
    /// yet: the block being filled (see [`SearchTexts::append`]).
    appending: BlockFiller,
    /// A batch's changes, kept to be merged in key order (see [`SearchTexts::defer`]);
    /// `None` while every change is merged at once.
    deferred: Option<Deferred>,
    /// [`DEFERRED_RUN_BYTES`] and [`DEFERRED_CHUNK`] (fields so that tests can make them small).
    deferred_run_bytes: usize,
    deferred_chunk: usize,
}

/// A batch's search-text changes waiting to be merged.
enum Deferred {
    /// Sorted runs spilled beside the database, merged once, at the end: each block is then
    /// rewritten once however the batch walks its users (in chunks, a batch in id order over
    /// 1M users rewrote every block 31 times).
    Runs { runs: Runs, spill: Spill },
    /// No spill file could be made there: merged a chunk at a time, in memory.
    Chunks(Vec<(String, Option<String>)>),
}

/// The memory the deferred changes are sorted in before a run is spilled (16 MiB before stop
/// 38: a large batch's peak RSS 1 MiB higher, its merge a few runs shorter).
const DEFERRED_RUN_BYTES: usize = 8 * 1024 * 1024;

/// Without a spill file, deferred changes are merged when this many are waiting (~13 MB of
/// texts): memory stays bounded, but a batch walking its users by id touches nearly every
/// block in every chunk (1M users: each block rewritten ~31 times).
const DEFERRED_CHUNK: usize = 32_768;

/// How a removal is told apart from a change to an empty text in a run: its entry's note.
const REMOVED: &[u8] = b"-";

impl<'tx> SearchTexts<'tx> {
    pub(super) fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            table: tx.open_table(SEARCH_BLOCKS)?,
            block_bytes: BLOCK_BYTES,
            appending: BlockFiller::default(),
            deferred: None,
            deferred_run_bytes: DEFERRED_RUN_BYTES,
            deferred_chunk: DEFERRED_CHUNK,
        })
    }

    /// Adds the text of list key `key`, which comes after every key stored or appended so
    /// far: a bulk load into an empty database gives its texts in key order, and each block
    /// is then written once, when full, instead of read and rewritten for every user (a
    /// million `insert`s would copy 32 GB). [`SearchTexts::finish_appends`] writes the last
    /// block; every other call here does it first.
    pub(super) fn append(&mut self, key: &str, text: &str) -> Result<(), StoreError> {
        if self.appending.is_empty()
            && let Some(after) = self.last_stored_key()?
            && key <= after.as_str()
        {
            return Err(out_of_order(key, &after));
        }
        if let Some((first, block)) = self.appending.push(key, text, self.block_bytes)? {
            self.put_block(&first, &block)?;
        }
        Ok(())
    }

    /// The last list key the blocks hold: the last user of the last block (its first is the
    /// block's key).
    fn last_stored_key(&self) -> Result<Option<String>, StoreError> {
        let Some((_, block)) = self.table.last()? else { return Ok(None) };
        let view = BlockView::parse(block.value())?;
        match view.users.checked_sub(1) {
            Some(last) => Ok(Some(view.key(last)?.to_owned())),
            None => Ok(None),
        }
    }

    /// Writes the block [`SearchTexts::append`] was filling, if any.
    pub(super) fn finish_appends(&mut self) -> Result<(), StoreError> {
        if let Some((first, block)) = self.appending.take() {
            self.put_block(&first, &block)?;
        }
        Ok(())
    }

    /// The most bytes a block is filled to (for a [`BlockFiller`] of a bulk load).
    pub(super) fn block_bytes(&self) -> usize {
        self.block_bytes
    }

    /// Blocks of at most `bytes` (small, so that a few users make many blocks), for tests.
    #[cfg(test)]
    pub(super) fn set_block_bytes(&mut self, bytes: usize) {
        self.block_bytes = bytes;
    }

    /// Puts a block a [`BlockFiller`] filled, after every block stored: a bulk load's.
    pub(super) fn put_block(&mut self, first: &str, block: &[u8]) -> Result<(), StoreError> {
        self.table.insert(first, block)?;
        Ok(())
    }

    /// Puts `text` as the search text of the user with list key `key` (replacing theirs).
    pub(super) fn insert(&mut self, key: &str, text: &str) -> Result<(), StoreError> {
        self.change(key, Some(text))
    }

    /// Removes the search text of list key `key` (nothing when there is none).
    pub(super) fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        self.change(key, None)
    }

    fn change(&mut self, key: &str, text: Option<&str>) -> Result<(), StoreError> {
        match &mut self.deferred {
            Some(Deferred::Runs { runs, spill }) => {
                let (value, note) = match text {
                    Some(text) => (text.as_bytes(), &b""[..]),
                    None => (&b""[..], REMOVED),
                };
                runs.defer(spill, key.as_bytes(), value, note).map_err(spill_failed(spill.dir()))
            }
            Some(Deferred::Chunks(deferred)) => {
                deferred.push((key.to_owned(), text.map(str::to_owned)));
                if deferred.len() >= self.deferred_chunk {
                    self.flush_deferred()?;
                }
                Ok(())
            }
            None => self.merge([(key.to_owned(), text.map(str::to_owned))]),
        }
    }

    /// From now on changes are kept and merged in key order: a batch that saves many users
    /// (a patch, an undo, an upsert import) would otherwise read and rewrite a ~32 KB block
    /// for every user. They are sorted in runs spilled to an unnamed file in `dir` (the
    /// database's directory) and merged once; where no such file can be made, a chunk at a
    /// time in memory. The caller must call [`SearchTexts::flush_deferred`] before the
    /// transaction commits.
    pub(super) fn defer(&mut self, dir: &Path) {
        if self.deferred.is_none() {
            self.deferred = Some(match Spill::new(dir) {
                Ok(spill) => Deferred::Runs { runs: Runs::new(self.deferred_run_bytes), spill },
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "no spill file: search texts merged in chunks");
                    Deferred::Chunks(Vec::new())
                }
            });
        }
    }

    /// Merges the deferred changes (the last change of a key wins).
    pub(super) fn flush_deferred(&mut self) -> Result<(), StoreError> {
        match self.deferred.take() {
            None => Ok(()),
            Some(Deferred::Chunks(mut changes)) => {
                self.deferred = Some(Deferred::Chunks(Vec::new()));
                // Stable: several changes to one key stay in arrival order.
                changes.sort_by(|a, b| a.0.cmp(&b.0));
                self.merge(LastOfEachKey(changes.into_iter().peekable()))
            }
            Some(Deferred::Runs { runs, mut spill }) => {
                let dir = spill.dir().to_path_buf();
                let mut merged = runs.into_merged(&mut spill).map_err(spill_failed(&dir))?;
                let mut spilled = SpilledChanges { merged: &mut merged, failed: None };
                self.merge(LastOfEachKey((&mut spilled).peekable()))?;
                if let Some(e) = spilled.failed {
                    return Err(spill_failed(&dir)(e));
                }
                drop(merged);
                self.deferred = Some(Deferred::Runs { runs: Runs::new(self.deferred_run_bytes), spill });
                Ok(())
            }
        }
    }

    /// Puts many entries at once, each block written once: `entries` in ascending key order
    /// without repeats (a bulk load's sorted run); an entry out of order is refused.
    pub(super) fn insert_sorted(
        &mut self,
        entries: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), StoreError> {
        self.merge(entries.into_iter().map(|(key, text)| (key, Some(text))))
    }

    /// Applies changes (`None`: remove), in ascending key order, block by block: each block
    /// that receives a change is read once, merged with its changes, and written back in
    /// blocks of at most `block_bytes`, each keyed by its first entry.
    fn merge(
        &mut self,
        changes: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Result<(), StoreError> {
        self.finish_appends()?;
        let mut changes = changes.into_iter().peekable();
        let mut previous: Option<String> = None;
        while let Some((first, _)) = changes.peek() {
            // The block this change goes to: the last one keyed at or before it, else the
            // first block (a key before every block joins it).
            let (block_key, mut old) = {
                let located = match self.table.range::<&str>(..=first.as_str())?.next_back() {
                    Some(block) => Some(block?),
                    None => self.table.first()?,
                };
                match located {
                    Some((key, value)) => {
                        (Some(key.value().to_owned()), BlockView::parse(value.value())?.entries()?)
                    }
                    None => (None, Vec::new()),
                }
            };
            // Changes up to the next block's key belong to this one.
            let limit = match &block_key {
                Some(key) => self
                    .table
                    .range::<&str>((Excluded(key.as_str()), Unbounded))?
                    .next()
                    .transpose()?
                    .map(|(key, _)| key.value().to_owned()),
                None => None,
            };
            if let Some(key) = &block_key {
                self.table.remove(key.as_str())?;
            }
            old.reverse();
            let mut packer =
                Packer { table: &mut self.table, filler: BlockFiller::default(), limit: self.block_bytes };
            loop {
                let change_key = match changes.peek() {
                    Some((key, _)) if limit.as_ref().is_none_or(|limit| key < limit) => Some(key),
                    _ => None,
                };
                let take_change = match (change_key, old.last()) {
                    (None, None) => break,
                    (Some(key), Some((old_key, _))) => key <= old_key,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                };
                if !take_change {
                    if let Some(entry) = old.pop() {
                        packer.push(entry)?;
                    }
                    continue;
                }
                let Some((key, text)) = changes.next() else { break };
                if previous.as_ref().is_some_and(|previous| key <= *previous) {
                    return Err(StoreError::Database(format!(
                        "search texts given out of order: {key:?} after {previous:?}"
                    )));
                }
                if old.last().is_some_and(|(old_key, _)| *old_key == key) {
                    old.pop();
                }
                previous = Some(key.clone());
                if let Some(text) = text {
                    packer.push((key, text))?;
                }
            }
            packer.finish()?;
        }
        Ok(())
    }
}

/// Texts given in ascending key order packed into blocks, away from the table: each full
/// block is handed out as (first key, encoded block) to be put in with
/// [`SearchTexts::put_block`] (a bulk load packs them on a thread of its own while its other
/// tables are merged: a third of the merge's time).
#[derive(Default)]
pub(super) struct BlockFiller {
    block: BlockBuilder,
}

fn out_of_order(key: &str, after: &str) -> StoreError {
    StoreError::Database(format!("search texts appended out of order: {key:?} after {after:?}"))
}

impl BlockFiller {
    pub(super) fn is_empty(&self) -> bool {
        self.block.is_empty()
    }

    /// Adds the text of `key`, which must come after every key added so far, to a block of
    /// at most `limit` bytes; gives the block it filled, if any.
    pub(super) fn push(
        &mut self,
        key: &str,
        text: &str,
        limit: usize,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        if let Some(last) = self.block.last_key()
            && key <= last
        {
            return Err(out_of_order(key, last));
        }
        if self.block.push_within(key, text, limit) {
            return Ok(None);
        }
        let full = self.take();
        self.block.push(key, text);
        Ok(full)
    }

    /// The block being filled, if it holds any text; the filler is empty afterwards.
    pub(super) fn take(&mut self) -> Option<(String, Vec<u8>)> {
        let full = self.block.first_key().map(|first| (first.to_owned(), self.block.encode()));
        self.block.clear();
        full
    }
}

/// Writes entries given in key order as blocks filled up to `limit` bytes (a [`BlockFiller`]
/// writing each block it fills into the table).
struct Packer<'t, 'tx> {
    table: &'t mut Table<'tx, &'static str, &'static [u8]>,
    filler: BlockFiller,
    limit: usize,
}

impl Packer<'_, '_> {
    fn push(&mut self, entry: (String, String)) -> Result<(), StoreError> {
        let (key, text) = entry;
        if let Some((first, block)) = self.filler.push(&key, &text, self.limit)? {
            self.table.insert(first.as_str(), block.as_slice())?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), StoreError> {
        if let Some((first, block)) = self.filler.take() {
            self.table.insert(first.as_str(), block.as_slice())?;
        }
        Ok(())
    }
}

/// What a failure to spill or read back deferred search texts says: a full disk as the
/// write's own full disk is said (it named "sorted runs", and not that nothing was written:
/// bb42 F1).
fn spill_failed(dir: &Path) -> impl Fn(io::Error) -> StoreError + '_ {
    move |error| match error.kind() {
        io::ErrorKind::StorageFull => StoreError::Database(format!(
            "no room left on the disk (I/O error: {error}) for the search texts this write sorts in a temporary file in {}: nothing was written, the database is as it was; a batch needs room for them and for a new copy of the tables it touches — free some room, and `custodian compact` gives back what the failed write left unused",
            dir.display()
        )),
        io::ErrorKind::FileTooLarge => StoreError::Database(format!(
            "the search texts this write sorts in a temporary file in {} may not grow past the size limit this process runs under (`ulimit -f`; I/O error: {error}): nothing was written, the database is as it was",
            dir.display()
        )),
        _ => StoreError::Io {
            context: format!("{}: cannot keep the search texts of this write in sorted runs", dir.display()),
            error,
        },
    }
}

/// Of the changes to one key (sorted by key, each key's in arrival order), the last: the
/// change a batch made last is the one that stands.
struct LastOfEachKey<I: Iterator<Item = (String, Option<String>)>>(std::iter::Peekable<I>);

impl<I: Iterator<Item = (String, Option<String>)>> Iterator for LastOfEachKey<I> {
    type Item = (String, Option<String>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut last = self.0.next()?;
        while let Some(later) = self.0.next_if(|(key, _)| *key == last.0) {
            last = later;
        }
        Some(last)
    }
}

/// The changes of merged runs as (key, text; `None`: removed); a read error, or a text that
/// is not UTF-8, ends them early and is kept in `failed`.
struct SpilledChanges<'m> {
    merged: &'m mut Merged,
    failed: Option<io::Error>,
}

impl Iterator for SpilledChanges<'_> {
    type Item = (String, Option<String>);

    fn next(&mut self) -> Option<Self::Item> {
        // After an error the entry being read is lost: nothing after it may be given.
        if self.failed.is_some() {
            return None;
        }
        let entry = match self.merged.next_entry() {
            Ok(entry) => entry?,
            Err(e) => {
                self.failed = Some(e);
                return None;
            }
        };
        let text = (entry.note != REMOVED).then_some(entry.value);
        match (String::from_utf8(entry.key), text.map(String::from_utf8).transpose()) {
            (Ok(key), Ok(text)) => Some((key, text)),
            _ => {
                self.failed =
                    Some(io::Error::new(io::ErrorKind::InvalidData, "a spilled search text is not UTF-8"));
                None
            }
        }
    }
}

/// Layout 6 (or whichever version the merge gives it): the per-user `search_text` table of
/// layouts 3–5 becomes the search blocks. Its entries are already in list order, so they are
/// packed as they are read, one pass, without making any text again. Nothing to do for a
/// file that never had the old table (one older than 3 builds its blocks from the users).
pub(super) fn upgrade_search_text(tx: &WriteTransaction) -> Result<(), StoreError> {
    let entries: Vec<(String, String)> = match tx.open_table(OLD_SEARCH_TEXT) {
        Ok(old) => old
            .range::<&str>(..)?
            .map(|item| {
                let (key, text) = item?;
                Ok((key.value().to_owned(), text.value().to_owned()))
            })
            .collect::<Result<_, StoreError>>()?,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    SearchTexts::open(tx)?.insert_sorted(entries)?;
    tx.delete_table(OLD_SEARCH_TEXT)?;
    Ok(())
}

/// Layout 7: the blocks of whole texts of layout 6 (`search_blocks`) become blocks with a
/// dictionary (`search_dict_blocks`), read and written in list order in one pass, a block
/// at a time in memory. Nothing to do for a file without the old table.
pub(super) fn upgrade_search_blocks(tx: &WriteTransaction) -> Result<(), StoreError> {
    let old = match tx.open_table(layout6::LAYOUT_6_BLOCKS) {
        Ok(old) => old,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut texts = SearchTexts::open(tx)?;
    // Into an empty table the entries are appended, each new block written once; into
    // blocks already there (never in a file layout 6 wrote) they are merged.
    let empty = texts.table.first()?.is_none();
    for block in old.range::<&str>(..)? {
        let (_, bytes) = block?;
        let entries = layout6::entries(bytes.value())?;
        if empty {
            for (key, text) in &entries {
                texts.append(key, text)?;
            }
        } else {
            texts.insert_sorted(entries)?;
        }
    }
    texts.finish_appends()?;
    drop((texts, old));
    tx.delete_table(layout6::LAYOUT_6_BLOCKS)?;
    Ok(())
}

#[cfg(test)]
mod tests;
