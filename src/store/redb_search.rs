//! The filter's search texts on redb, packed in blocks of many users (table `search_blocks`).
//!
//! A user's search text ([`crate::domain::filter::search_text`]: every text the filter
//! searches, folded, NUL-separated) is stored in the block of its list key: a block holds the
//! users of a run of the list order, up to [`BLOCK_BYTES`] encoded, keyed by its first list
//! key. A scan in list order then reads a few thousand large values one after another and
//! looks for the folded query with one `memchr::memmem` pass over each block's texts,
//! instead of visiting a million B-tree entries (the per-entry cost dominated the old
//! one-entry-per-user table: 0.56 s at 1M users).
//!
//! Exactness: texts of one user are separated by NUL, and so are the users of a block, so a
//! query holding no NUL ([`Filter::fits_search_text`]) matches inside one text of one user
//! only, and the block answers exactly as [`Filter::in_user`] / [`Filter::in_document`] do
//! (the property tests of `domain::filter` hold the text to that rule).
//!
//! Writing: every write goes through [`SearchTexts`], which reads the block a key belongs
//! to, merges the change in, and writes the block back (split greedily when it outgrows
//! [`BLOCK_BYTES`]); bulk loads give it a sorted run ([`SearchTexts::insert_sorted`]) so each
//! block is written once per run.
//!
//! [`Filter::in_user`]: crate::domain::filter::Filter::in_user
//! [`Filter::in_document`]: crate::domain::filter::Filter::in_document

use std::ops::Bound::{Excluded, Unbounded};

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::StoreError;
use crate::domain::filter::{Filter, SEARCH_TEXT_SEPARATOR};

/// First list key of a block → the block ([`BlockView`] describes the bytes).
pub(super) const SEARCH_BLOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("search_blocks");

/// Layouts 3–4: list key → one user's search text. Read only by [`upgrade_search_text`].
const OLD_SEARCH_TEXT: TableDefinition<&str, &str> = TableDefinition::new("search_text");

/// The most bytes a block is filled to: a redb value of this size with its key fits one
/// 32 KiB page (redb gives a value larger than a page a page of the next power of two, so a
/// block just over a power of two would waste up to half its page). Larger blocks scan with
/// less per-entry overhead; smaller ones make a save rewrite less.
pub(super) const BLOCK_BYTES: usize = 32 * 1024 - 512;

/// The bytes of a block of `n` users:
/// `n: u32 LE`, `n × text end: u32 LE`, `n × key end: u32 LE`, the keys one after another,
/// the texts each followed by one NUL ([`SEARCH_TEXT_SEPARATOR`]).
/// A text's end is its exclusive end in the text region (its NUL is there); a key's end is
/// its exclusive end in the key region. Read without copying, checked once when opened, so
/// a damaged block is an error and never a panic.
struct BlockView<'a> {
    users: usize,
    text_ends: &'a [u8],
    key_ends: &'a [u8],
    keys: &'a [u8],
    texts: &'a [u8],
}

fn damaged(detail: &str) -> StoreError {
    StoreError::Database(format!("the database file is damaged: search block {detail}"))
}

fn u32_at(bytes: &[u8], index: usize) -> usize {
    let at = index * 4;
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

impl<'a> BlockView<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let short = || damaged("is shorter than its header says");
        let users = u32_at(bytes, 0);
        let header = users.checked_mul(8).and_then(|n| n.checked_add(4)).ok_or_else(short)?;
        if bytes.len() < header {
            return Err(short());
        }
        let text_ends = &bytes[4..4 + users * 4];
        let key_ends = &bytes[4 + users * 4..header];
        let keys_len = if users == 0 { 0 } else { u32_at(key_ends, users - 1) };
        let keys = bytes.get(header..header + keys_len).ok_or_else(short)?;
        let texts = &bytes[header + keys_len..];
        let view = Self { users, text_ends, key_ends, keys, texts };
        let (mut key_end, mut text_start) = (0, 0);
        for i in 0..users {
            let (k, t) = (view.key_end(i), view.text_end(i));
            if k < key_end || t < text_start || texts.get(t) != Some(&SEARCH_TEXT_SEPARATOR) {
                return Err(damaged("has entries out of place"));
            }
            (key_end, text_start) = (k, t + 1);
        }
        if text_start != texts.len() {
            return Err(damaged("has bytes after its last entry"));
        }
        Ok(view)
    }

    fn text_end(&self, i: usize) -> usize {
        u32_at(self.text_ends, i)
    }

    fn text_start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.text_end(i - 1) + 1 }
    }

    fn key_end(&self, i: usize) -> usize {
        u32_at(self.key_ends, i)
    }

    fn key_bytes(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.key_end(i - 1) };
        &self.keys[start..self.key_end(i)]
    }

    fn key(&self, i: usize) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.key_bytes(i)).map_err(|_| damaged("has a list key that is not UTF-8"))
    }

    fn text(&self, i: usize) -> Result<&'a str, StoreError> {
        std::str::from_utf8(&self.texts[self.text_start(i)..self.text_end(i)])
            .map_err(|_| damaged("has a text that is not UTF-8"))
    }

    /// The first user whose key is after `key`.
    fn first_after(&self, key: &str) -> usize {
        let (mut low, mut high) = (0, self.users);
        while low < high {
            let middle = (low + high) / 2;
            if self.key_bytes(middle) <= key.as_bytes() {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// The user among `from..to` whose text holds the byte at `at` of the text region.
    fn user_at(&self, at: usize, from: usize, to: usize) -> usize {
        let (mut low, mut high) = (from, to);
        while low < high {
            let middle = (low + high) / 2;
            if self.text_end(middle) < at {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low.min(to - 1)
    }

    fn entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        (0..self.users).map(|i| Ok((self.key(i)?.to_owned(), self.text(i)?.to_owned()))).collect()
    }
}

/// The encoded size of a block's entry: its text, its NUL, its key and two ends.
fn entry_bytes(key: &str, text: &str) -> usize {
    key.len() + text.len() + 1 + 8
}

fn encode(entries: &[(String, String)]) -> Vec<u8> {
    let size = 4 + entries.iter().map(|(k, t)| entry_bytes(k, t)).sum::<usize>();
    let mut bytes = Vec::with_capacity(size);
    let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    bytes.extend(as_u32(entries.len()));
    let mut end = 0;
    for (_, text) in entries {
        end += text.len();
        bytes.extend(as_u32(end));
        end += 1;
    }
    end = 0;
    for (key, _) in entries {
        end += key.len();
        bytes.extend(as_u32(end));
    }
    for (key, _) in entries {
        bytes.extend(key.as_bytes());
    }
    for (_, text) in entries {
        bytes.extend(text.as_bytes());
        bytes.push(SEARCH_TEXT_SEPARATOR);
    }
    bytes
}

/// What one step of a scan found: the list keys of the hits, in list order.
pub(super) struct BlockScan {
    pub hits: Vec<String>,
    pub scanned: usize,
    /// The list key of the last user scanned (the one a next step starts after).
    pub last: Option<String>,
}

/// The users `from..to` of a block whose texts hold the query, in order, at most `max_hits`:
/// one `memmem` pass over their texts, resumed after each hit's user (a user is one hit).
/// Returns the hits' indexes and the index scanning stopped at (`to`, or one past the last
/// hit when `max_hits` was reached).
fn search_block(
    view: &BlockView<'_>,
    filter: &Filter,
    from: usize,
    to: usize,
    max_hits: usize,
) -> (Vec<usize>, usize) {
    let mut hits = Vec::new();
    let mut next = from;
    while next < to && hits.len() < max_hits {
        let start = view.text_start(next);
        match filter.find_in_search_texts(&view.texts[start..view.text_end(to - 1)]) {
            None => next = to,
            Some(at) => {
                let hit = view.user_at(start + at, next, to);
                hits.push(hit);
                next = hit + 1;
            }
        }
    }
    (hits, next)
}

/// Steps of at least this many users are scanned on two threads (the calling one and one
/// more): the TUI's steps of 5,000 users (~40 blocks, ~1 ms) are, since starting a thread
/// costs tens of microseconds; a smaller step is not worth one.
const PARALLEL_FROM: usize = 5_000;

/// Up to `batch` users in list order after `after`, and the list keys of those whose search
/// text holds the query, stopping at `max_hits` hits (the last user scanned is then the
/// last hit), as [`super::UserStore::scan_matches`] describes. `filter` must
/// [`Filter::fits_search_text`]. A step of [`PARALLEL_FROM`] users or more is searched on
/// two threads, with the same answer.
pub(super) fn scan_blocks(
    table: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
    filter: &Filter,
    after: Option<&str>,
    batch: usize,
    max_hits: usize,
) -> Result<BlockScan, StoreError> {
    // The block `after` is in: the last one keyed at or before it.
    let start = match after {
        Some(after) => {
            table.range::<&str>(..=after)?.next_back().transpose()?.map(|(key, _)| key.value().to_owned())
        }
        None => None,
    };
    let blocks = match &start {
        Some(start) => table.range::<&str>(start.as_str()..)?,
        None => table.range::<&str>(..)?,
    };
    if batch >= PARALLEL_FROM {
        return scan_in_parallel(blocks, filter, after, batch, max_hits);
    }
    let mut found = BlockScan { hits: Vec::new(), scanned: 0, last: None };
    for block in blocks {
        if found.scanned >= batch || found.hits.len() >= max_hits {
            break;
        }
        let (_, value) = block?;
        let view = BlockView::parse(value.value())?;
        let from = after.map_or(0, |after| view.first_after(after));
        let to = view.users.min(from.saturating_add(batch - found.scanned));
        let (hits, next) = search_block(&view, filter, from, to, max_hits - found.hits.len());
        for hit in hits {
            found.hits.push(view.key(hit)?.to_owned());
        }
        found.scanned += next - from;
        if next > from {
            found.last = Some(view.key(next - 1)?.to_owned());
        }
    }
    Ok(found)
}

/// What one block of a parallel scan found: its place in the scan, the users it covered,
/// the keys of its hits (at most the step's `max_hits`) and of the last user it scanned.
struct BlockFinding {
    place: usize,
    covered: usize,
    hits: Vec<(usize, String)>,
    from: usize,
    last: Option<String>,
}

fn find_in_block(
    bytes: &[u8],
    filter: &Filter,
    place: usize,
    from: usize,
    to: usize,
    max_hits: usize,
) -> Result<BlockFinding, StoreError> {
    let view = BlockView::parse(bytes)?;
    let (hits, next) = search_block(&view, filter, from, to, max_hits);
    let hits =
        hits.into_iter().map(|i| Ok((i, view.key(i)?.to_owned()))).collect::<Result<_, StoreError>>()?;
    let last = if next > from { Some(view.key(next - 1)?.to_owned()) } else { None };
    Ok(BlockFinding { place, covered: next - from, hits, from, last })
}

/// [`scan_blocks`] on two threads: this one reads the blocks in list order and searches
/// every other one; a helper searches the rest. Both stop taking blocks once the hits
/// found reach `max_hits`; the findings are then put back in list order and cut at the
/// `max_hits`-th hit, so the answer is the sequential one (blocks are searched whole up to
/// the batch, and every block before the cut was searched).
fn scan_in_parallel(
    blocks: redb::Range<'static, &'static str, &'static [u8]>,
    filter: &Filter,
    after: Option<&str>,
    batch: usize,
    max_hits: usize,
) -> Result<BlockScan, StoreError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    let hits_so_far = AtomicUsize::new(0);
    let mut findings: Vec<BlockFinding> = Vec::new();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (jobs, helper_jobs) =
            mpsc::sync_channel::<(usize, redb::AccessGuard<'static, &'static [u8]>, usize, usize)>(16);
        let hits_so_far = &hits_so_far;
        let helper = scope.spawn(move || -> Result<Vec<BlockFinding>, StoreError> {
            let mut found = Vec::new();
            for (place, block, from, to) in helper_jobs {
                let finding = find_in_block(block.value(), filter, place, from, to, max_hits)?;
                hits_so_far.fetch_add(finding.hits.len(), Ordering::Relaxed);
                found.push(finding);
            }
            Ok(found)
        });
        let mut scanned = 0;
        let mut outcome = Ok(());
        for (place, block) in blocks.enumerate() {
            if scanned >= batch || hits_so_far.load(Ordering::Relaxed) >= max_hits {
                break;
            }
            let block = match block {
                Ok((_, block)) => block,
                Err(e) => {
                    outcome = Err(e.into());
                    break;
                }
            };
            let (from, users) = match BlockView::parse(block.value()) {
                Ok(view) => (after.map_or(0, |after| view.first_after(after)), view.users),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let to = users.min(from.saturating_add(batch - scanned));
            scanned += to - from;
            if place % 2 == 1 {
                if jobs.send((place, block, from, to)).is_err() {
                    break; // the helper failed: its error is taken below
                }
                continue;
            }
            match find_in_block(block.value(), filter, place, from, to, max_hits) {
                Ok(finding) => {
                    hits_so_far.fetch_add(finding.hits.len(), Ordering::Relaxed);
                    findings.push(finding);
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        drop(jobs);
        let helped = helper
            .join()
            .unwrap_or_else(|_| Err(StoreError::Database("the search helper thread failed".into())));
        findings.extend(helped?);
        outcome
    })?;
    findings.sort_unstable_by_key(|finding| finding.place);
    let mut found = BlockScan { hits: Vec::new(), scanned: 0, last: None };
    for finding in findings {
        if found.hits.len() >= max_hits {
            break;
        }
        let room = max_hits - found.hits.len();
        if finding.hits.len() >= room {
            let (last_hit, key) = finding.hits[room - 1].clone();
            found.hits.extend(finding.hits.into_iter().take(room).map(|(_, key)| key));
            found.scanned += last_hit + 1 - finding.from;
            found.last = Some(key);
            break;
        }
        found.hits.extend(finding.hits.into_iter().map(|(_, key)| key));
        found.scanned += finding.covered;
        if finding.last.is_some() {
            found.last = finding.last;
        }
    }
    Ok(found)
}

/// The search texts as a write transaction changes them: the one way a write puts or
/// removes a user's search text ([`super::redb_store`]'s `search_entry` makes the entry).
pub(super) struct SearchTexts<'tx> {
    table: Table<'tx, &'static str, &'static [u8]>,
    block_bytes: usize,
    /// Texts appended after every stored key (a bulk load's, in key order) and not written
    /// yet: the block being filled (see [`SearchTexts::append`]).
    appending: Vec<(String, String)>,
    appended_bytes: usize,
    /// A batch's changes, kept to be merged in key order a chunk at a time (see
    /// [`SearchTexts::defer`]); `None` while every change is merged at once.
    deferred: Option<Vec<(String, Option<String>)>>,
}

/// Deferred changes merged at once when this many are waiting (~13 MB of texts): a chunk of a
/// batch walking the list touches a run of neighbouring blocks, and one in any order (an
/// undo walks its users by id) each touched block once.
const DEFERRED_CHUNK: usize = 32_768;

impl<'tx> SearchTexts<'tx> {
    pub(super) fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            table: tx.open_table(SEARCH_BLOCKS)?,
            block_bytes: BLOCK_BYTES,
            appending: Vec::new(),
            appended_bytes: 0,
            deferred: None,
        })
    }

    /// Adds the text of list key `key`, which comes after every key stored or appended so
    /// far: a bulk load into an empty database gives its texts in key order, and each block
    /// is then written once, when full, instead of read and rewritten for every user (a
    /// million `insert`s would copy 32 GB). [`SearchTexts::finish_appends`] writes the last
    /// block; every other call here does it first.
    pub(super) fn append(&mut self, key: &str, text: &str) -> Result<(), StoreError> {
        let after = match self.appending.last() {
            Some((last, _)) => Some(last.clone()),
            None => self.table.last()?.map(|(key, _)| key.value().to_owned()),
        };
        if after.as_deref().is_some_and(|after| key <= after) {
            return Err(StoreError::Database(format!(
                "search texts appended out of order: {key:?} after {after:?}"
            )));
        }
        let size = entry_bytes(key, text);
        if !self.appending.is_empty() && 4 + self.appended_bytes + size > self.block_bytes {
            self.finish_appends()?;
        }
        self.appended_bytes += size;
        self.appending.push((key.to_owned(), text.to_owned()));
        Ok(())
    }

    /// Writes the block [`SearchTexts::append`] was filling, if any.
    pub(super) fn finish_appends(&mut self) -> Result<(), StoreError> {
        if let Some((first, _)) = self.appending.first() {
            self.table.insert(first.as_str(), encode(&self.appending).as_slice())?;
        }
        self.appending.clear();
        self.appended_bytes = 0;
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
        let change = (key.to_owned(), text.map(str::to_owned));
        match &mut self.deferred {
            Some(deferred) => {
                deferred.push(change);
                if deferred.len() >= DEFERRED_CHUNK {
                    self.flush_deferred()?;
                }
                Ok(())
            }
            None => self.merge([change]),
        }
    }

    /// From now on changes are kept and merged a chunk at a time, in key order: a batch
    /// that saves many users (a patch, an undo, an upsert import) would otherwise read and
    /// rewrite a ~32 KB block for every user. The caller must call
    /// [`SearchTexts::flush_deferred`] before the transaction commits.
    pub(super) fn defer(&mut self) {
        self.deferred.get_or_insert_with(Vec::new);
    }

    /// Merges the deferred changes (the last change of a key wins).
    pub(super) fn flush_deferred(&mut self) -> Result<(), StoreError> {
        let Some(deferred) = self.deferred.as_mut() else { return Ok(()) };
        let mut changes = std::mem::take(deferred);
        // Stable: of several changes to one key, the last is kept.
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut last_of_each: Vec<(String, Option<String>)> = Vec::with_capacity(changes.len());
        for change in changes {
            match last_of_each.last_mut() {
                Some(last) if last.0 == change.0 => *last = change,
                _ => last_of_each.push(change),
            }
        }
        self.merge(last_of_each)
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
                Packer { table: &mut self.table, block: Vec::new(), bytes: 0, limit: self.block_bytes };
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

/// Writes entries given in key order as blocks filled up to `limit` bytes.
struct Packer<'t, 'tx> {
    table: &'t mut Table<'tx, &'static str, &'static [u8]>,
    block: Vec<(String, String)>,
    bytes: usize,
    limit: usize,
}

impl Packer<'_, '_> {
    fn push(&mut self, entry: (String, String)) -> Result<(), StoreError> {
        let size = entry_bytes(&entry.0, &entry.1);
        if !self.block.is_empty() && 4 + self.bytes + size > self.limit {
            self.write()?;
        }
        self.bytes += size;
        self.block.push(entry);
        Ok(())
    }

    fn write(&mut self) -> Result<(), StoreError> {
        if let Some((first, _)) = self.block.first() {
            self.table.insert(first.as_str(), encode(&self.block).as_slice())?;
        }
        self.block.clear();
        self.bytes = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<(), StoreError> {
        self.write()
    }
}

/// Schema 5 (or whichever version the merge gives it): the per-user `search_text` table of
/// layouts 3–4 becomes `search_blocks`. Its entries are already in list order, so they are
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

#[cfg(test)]
mod tests;
