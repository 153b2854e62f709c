//! The journal: one row per customData save (every revision, the first included), written in
//! the save's own write transaction, so it can never miss a save nor hold one that did not
//! commit. Rows are keyed by time and a sequence number, so a million-user import appends to
//! the end of the tree; two small indexes serve `--user` and `--batch` without reading the rest.

use redb::{ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde_json::{Map, Value};

use super::{CUSTOM_DATA, EMPTY_DOCUMENT, HISTORY, StoredUser, USERS, stored_document};
use crate::domain::diff::{added_keys, changed_keys_as_written, dropped_keys, moved_keys};
use crate::store::{BatchId, JournalEntry, JournalQuery, Revision, StoreError};

/// The journal's row: what [`JournalEntry`] holds, as stored.
/// (user id, revision, saved by, size in bytes, keys, batch id or "") where keys is the
/// JSON text `[[added…],[removed…],[changed…]]` (top-level keys; JSON because a key may hold
/// any character).
type Row = (&'static str, u64, &'static str, u64, &'static str, &'static str);

/// (saved at in epoch ms, sequence number) → [`Row`]. The sequence number is unique across
/// the file and rises with every row, so rows saved in the same millisecond (an import) keep
/// their order and are appended.
pub(super) const JOURNAL: TableDefinition<(i64, u64), Row> = TableDefinition::new("journal");
/// (user id, revision) → the journal key of that save: `--user` reads one range.
pub(super) const JOURNAL_BY_USER: TableDefinition<(&str, u64), (i64, u64)> =
    TableDefinition::new("journal_by_user");
/// (batch id, saved at, sequence number) → (): the saves of a batch, for `--batch`.
pub(super) const JOURNAL_BY_BATCH: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("journal_by_batch");
/// The journal key of a bulk load's row → how many users it created. Layout 8; a file of an
/// older layout has none (every user it loaded has a row of their own).
pub(super) const JOURNAL_LOADS: TableDefinition<(i64, u64), u64> = TableDefinition::new("journal_loads");
/// () → the first sequence number not yet handed out. Its own table, so a write transaction
/// that has META open for something else never collides with the journal.
pub(super) const JOURNAL_SEQUENCE: TableDefinition<(), u64> = TableDefinition::new("journal_sequence");

/// Sequence numbers are taken from [`JOURNAL_SEQUENCE`] in blocks: one write of that table
/// per this many saves instead of one per save (an unused rest of a block is only a gap).
const SEQUENCE_BLOCK: u64 = 4096;

/// Top-level keys a save added, removed and changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct KeyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KeyChanges {
    /// A file keeps each document as written: a value whose keys were only reordered has
    /// changed, as `history` says.
    pub(super) fn between(old: &Map<String, Value>, new: &Map<String, Value>) -> Self {
        let mut changes = Self {
            added: added_keys(old, new),
            removed: dropped_keys(old, new),
            changed: changed_keys_as_written(old, new),
        };
        // Only the top-level keys reordered: the keys that moved are named, or the entry read
        // as a save that changed nothing while its text did (bb72 F5).
        if changes.added.is_empty() && changes.removed.is_empty() && changes.changed.is_empty() {
            changes.changed = moved_keys(new.keys(), old.keys());
        }
        changes
    }

    /// A first revision: every key is new.
    pub(super) fn first(new: &Map<String, Value>) -> Self {
        Self { added: new.keys().cloned().collect(), ..Self::default() }
    }

    fn to_text(&self) -> String {
        // Vectors of strings always serialise.
        serde_json::to_string(&[&self.added, &self.removed, &self.changed]).unwrap_or_default()
    }

    fn from_text(text: &str) -> Self {
        let [added, removed, changed]: [Vec<String>; 3] = serde_json::from_str(text).unwrap_or_default();
        Self { added, removed, changed }
    }
}

/// One save, as [`JournalWriter::record`] takes it.
pub(super) struct Save<'a> {
    pub at: i64,
    pub by: &'a str,
    pub id: &'a str,
    pub revision: Revision,
    pub size: usize,
    pub keys: KeyChanges,
    pub batch: Option<&'a BatchId>,
}

/// How far ahead of the clock the journal's newest entry may be and still date a save: a day.
pub(super) const HELD_BEHIND_AT_MOST_MS: i64 = 24 * 3_600_000;

/// The journal's tables in one write transaction.
pub(super) struct JournalWriter<'tx> {
    rows: Table<'tx, (i64, u64), Row>,
    by_user: Table<'tx, (&'static str, u64), (i64, u64)>,
    by_batch: Table<'tx, (&'static str, i64, u64), ()>,
    sequence: Table<'tx, (), u64>,
    loads: Table<'tx, (i64, u64), u64>,
    next: u64,
    /// Numbers below this are taken in [`JOURNAL_SEQUENCE`] by this transaction.
    reserved: u64,
    /// The time of the newest entry: no save is journaled before it.
    newest_at: i64,
    /// When that entry is more than a day ahead of the clock: the clock's time asked with,
    /// and the newest entry at most a day ahead of it.
    believable: Option<(i64, i64)>,
}

impl<'tx> JournalWriter<'tx> {
    pub(super) fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        let sequence = tx.open_table(JOURNAL_SEQUENCE)?;
        let next = sequence.get(())?.map_or(0, |g| g.value());
        let rows = tx.open_table(JOURNAL)?;
        let newest_at = rows.last()?.map_or(i64::MIN, |(key, _)| key.value().0);
        Ok(Self {
            rows,
            by_user: tx.open_table(JOURNAL_BY_USER)?,
            by_batch: tx.open_table(JOURNAL_BY_BATCH)?,
            sequence,
            loads: tx.open_table(JOURNAL_LOADS)?,
            next,
            reserved: next,
            newest_at,
            believable: None,
        })
    }

    /// The time a save made `now` is journaled (and kept in the history) at: never before the
    /// newest entry, when that is at most [`HELD_BEHIND_AT_MOST_MS`] ahead. A clock stepped
    /// back (an NTP correction, a VM restored from a snapshot) journaled a save in the past,
    /// listed out of order and missed by `--since 1h` (bb40 F6); as a user's `updatedAt`, it
    /// is the newest entry's time then. An entry further ahead was written under a clock set
    /// wrong: held to it, every later save of every user took its time, for good (bb47 F4,
    /// bb49 F3: one `set` under a clock a year ahead dated every save after it a year ahead).
    ///
    /// So the time is held to the newest entry at most a day ahead of the clock: after an
    /// entry a year ahead, a save under a clock twenty hours behind was dated by that clock,
    /// before the saves made just earlier (bb50 F1).
    pub(super) fn time_of_save(&mut self, now: i64) -> Result<i64, StoreError> {
        if self.newest_at.saturating_sub(now) <= HELD_BEHIND_AT_MOST_MS {
            return Ok(now.max(self.newest_at));
        }
        // A batch asks once for each of its users (one `now`): the entries it adds are
        // counted in by `next_key`.
        if let Some((_, newest)) = self.believable.filter(|(asked, _)| *asked == now) {
            return Ok(now.max(newest));
        }
        let latest = now.saturating_add(HELD_BEHIND_AT_MOST_MS);
        let newest = self
            .rows
            .range(..=(latest, u64::MAX))?
            .next_back()
            .transpose()?
            .map_or(now, |(key, _)| key.value().0);
        self.believable = Some((now, newest));
        Ok(now.max(newest))
    }

    /// The next row's key for a save at `at`.
    fn next_key(&mut self, at: i64) -> Result<(i64, u64), StoreError> {
        if self.next == self.reserved {
            self.reserved += SEQUENCE_BLOCK;
            self.sequence.insert((), self.reserved)?;
        }
        let key = (at, self.next);
        self.next += 1;
        self.newest_at = self.newest_at.max(at);
        if let Some((asked, newest)) = &mut self.believable
            && at <= asked.saturating_add(HELD_BEHIND_AT_MOST_MS)
        {
            *newest = (*newest).max(at);
        }
        Ok(key)
    }

    /// Journals a bulk load as one row: `users` users created at `at` by `by` (each their
    /// revision 1, with that time and author), `size` bytes of documents in all.
    pub(super) fn record_load(
        &mut self,
        at: i64,
        by: &str,
        users: u64,
        size: u64,
        load: &BatchId,
    ) -> Result<(), StoreError> {
        let key = self.next_key(at)?;
        let keys = KeyChanges::default().to_text();
        self.rows.insert(key, ("", 1, by, size, keys.as_str(), load.0.as_str()))?;
        self.loads.insert(key, users)?;
        self.by_batch.insert((load.0.as_str(), key.0, key.1), ())?;
        Ok(())
    }

    pub(super) fn record(&mut self, save: &Save) -> Result<(), StoreError> {
        let key = self.next_key(save.at)?;
        let batch = save.batch.map_or("", |b| b.0.as_str());
        let keys = save.keys.to_text();
        self.rows.insert(key, (save.id, save.revision, save.by, save.size as u64, keys.as_str(), batch))?;
        self.by_user.insert((save.id, save.revision), key)?;
        if !batch.is_empty() {
            self.by_batch.insert((batch, key.0, key.1), ())?;
        }
        Ok(())
    }
}

/// The entry of a stored row; `load`: the number of users, for a bulk load's row.
fn entry(
    row: (&str, u64, &str, u64, &str, &str),
    (at, sequence): (i64, u64),
    load: Option<u64>,
) -> JournalEntry {
    let (id, revision, by, size, keys, batch) = row;
    let keys = KeyChanges::from_text(keys);
    JournalEntry {
        saved_at: at,
        saved_by: by.to_owned(),
        user_id: id.to_owned(),
        revision,
        size: usize::try_from(size).unwrap_or(usize::MAX),
        added: keys.added,
        removed: keys.removed,
        changed: keys.changed,
        batch: (!batch.is_empty()).then(|| BatchId(batch.to_owned())),
        load,
        sequence,
        // redb deletes no user: an id is never another account's.
        of_an_earlier_account: false,
    }
}

type LoadTable = redb::ReadOnlyTable<(i64, u64), u64>;

/// The loads table, `None` in a file of a layout before it (seen read-only): no loads.
fn open_loads(tx: &ReadTransaction) -> Result<Option<LoadTable>, StoreError> {
    match tx.open_table(JOURNAL_LOADS) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The entry of the row at `key`, with its load's size when it is a load's row.
fn read_entry(
    row: (&str, u64, &str, u64, &str, &str),
    key: (i64, u64),
    loads: Option<&LoadTable>,
) -> Result<JournalEntry, StoreError> {
    let load = match (row.0.is_empty(), loads) {
        (true, Some(loads)) => loads.get(key)?.map(|g| g.value()),
        _ => None,
    };
    Ok(entry(row, key, load))
}

/// How many users the bulk load named `load` created, `None` when no load has that id.
pub(super) fn load_users(tx: &ReadTransaction, load: &BatchId) -> Result<Option<u64>, StoreError> {
    let Some(loads) = open_loads(tx)? else { return Ok(None) };
    let index = tx.open_table(JOURNAL_BY_BATCH).map_err(no_journal_yet)?;
    let id = load.0.as_str();
    for item in index.range((id, i64::MIN, 0)..=(id, i64::MAX, u64::MAX))? {
        let (_, at, sequence) = item?.0.value();
        if let Some(users) = loads.get((at, sequence))? {
            return Ok(Some(users.value()));
        }
    }
    Ok(None)
}

/// The part a bulk load played in user `id`'s revision 1, when the load made it: that
/// revision (from the history, or the user's record while it is the current one) as a
/// journal entry at the load's place, or `None` (the user is unknown, or was not loaded).
fn loaded_first_revision(
    tx: &ReadTransaction,
    rows: &redb::ReadOnlyTable<(i64, u64), Row>,
    loads: &LoadTable,
    id: &str,
) -> Result<Option<JournalEntry>, StoreError> {
    let history = tx.open_table(HISTORY)?;
    let (at, by, text) = match history.get((id, 1))? {
        Some(old) => {
            let (at, by, text) = old.value();
            (at, by.to_owned(), text.to_owned())
        }
        None => {
            let users = tx.open_table(USERS)?;
            let Some(json) = users.get(id)? else { return Ok(None) };
            let current = StoredUser::parse(id, json.value())?;
            if current.rev != 1 {
                return Ok(None);
            }
            let text = stored_document(&tx.open_table(CUSTOM_DATA)?, id)?;
            (current.rev_at, current.rev_by, text)
        }
    };
    // Loads are a transaction each, so rarely two in one millisecond; the author tells them
    // apart then.
    for item in loads.range((at, 0)..=(at, u64::MAX))? {
        let (key, users) = item?;
        let key = key.value();
        let Some(row) = rows.get(key)? else { continue };
        let (_, _, load_by, _, _, load) = row.value();
        if load_by != by {
            continue;
        }
        // A document custodian could not have stored counts as having no keys.
        let document: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
        let keys = KeyChanges::first(&document);
        return Ok(Some(JournalEntry {
            saved_at: at,
            saved_by: by,
            user_id: id.to_owned(),
            revision: 1,
            size: text.len(),
            added: keys.added,
            removed: keys.removed,
            changed: keys.changed,
            batch: Some(BatchId(load.to_owned())),
            load: Some(users.value()),
            sequence: key.1,
            of_an_earlier_account: false,
        }));
    }
    Ok(None)
}

/// Whether `entry` passes every bound of `query` (the index used already passed one).
fn wanted(query: &JournalQuery, entry: &JournalEntry) -> bool {
    query.since.is_none_or(|since| entry.saved_at >= since)
        && query.until.is_none_or(|until| entry.saved_at < until)
        && query.user_id.as_ref().is_none_or(|id| *id == entry.user_id)
        && query.saved_by.as_ref().is_none_or(|by| entry.saved_by.contains(by.as_str()))
        && query.batch.as_ref().is_none_or(|batch| entry.batch.as_ref() == Some(batch))
        && query.before.is_none_or(|before| entry.position() < before)
}

/// A file written before the journal (layout 4 or older) opened read-only has none yet.
fn no_journal_yet(error: redb::TableError) -> StoreError {
    match error {
        redb::TableError::TableDoesNotExist(_) => StoreError::Database(
            "this database has no journal yet (written by an older custodian): open it once without --read-only and the upgrade builds it from the history".into(),
        ),
        other => other.into(),
    }
}

/// [`crate::store::UserStore::journal`] from one read transaction: from the batch index, the
/// user index, or the time range, whichever the query names first in that order.
pub(super) fn read(
    tx: &ReadTransaction,
    query: &JournalQuery,
    visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let rows = tx.open_table(JOURNAL).map_err(no_journal_yet)?;
    let loads = open_loads(tx)?;
    // Whether to go on after the row at `key`, found through an index.
    let emit = |key: (i64, u64), visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>| {
        let Some(row) = rows.get(key)? else { return Ok::<_, StoreError>(true) };
        let found = read_entry(row.value(), key, loads.as_ref())?;
        if wanted(query, &found) { visit(&found) } else { Ok(true) }
    };
    let since = query.since.unwrap_or(i64::MIN);
    // The end of the range, exclusive: `until`, or the page's `before` when that is earlier.
    let end = match (query.until, query.before) {
        (Some(until), Some(before)) => before.min((until, 0)),
        (Some(until), None) => (until, 0),
        (None, Some(before)) => before,
        (None, None) => (i64::MAX, u64::MAX),
    };
    if (since, 0) >= end {
        return Ok(());
    }
    // A user's own saves first (a handful), even with a batch named: a loaded user's part in
    // a load is not in the batch index, which holds the load's one row.
    if let Some(id) = &query.user_id {
        let index = tx.open_table(JOURNAL_BY_USER).map_err(no_journal_yet)?;
        let mut first_journaled = false;
        for item in index.range((id.as_str(), 0)..=(id.as_str(), u64::MAX))?.rev() {
            let (key, at) = item?;
            first_journaled |= key.value().1 == 1;
            if !emit(at.value(), visit)? {
                return Ok(());
            }
        }
        // Revision 1 has no row of its own: a bulk load made it.
        if let (false, Some(loads)) = (first_journaled, &loads)
            && let Some(found) = loaded_first_revision(tx, &rows, loads, id)?
            && wanted(query, &found)
        {
            visit(&found)?;
        }
    } else if let Some(batch) = &query.batch {
        let index = tx.open_table(JOURNAL_BY_BATCH).map_err(no_journal_yet)?;
        let from = (batch.0.as_str(), since, 0);
        for item in index.range(from..(batch.0.as_str(), end.0, end.1))?.rev() {
            let key = item?.0;
            let (_, at, sequence) = key.value();
            if !emit((at, sequence), visit)? {
                break;
            }
        }
    } else {
        for item in rows.range((since, 0)..end)?.rev() {
            let (key, row) = item?;
            let found = read_entry(row.value(), key.value(), loads.as_ref())?;
            if wanted(query, &found) && !visit(&found)? {
                break;
            }
        }
    }
    Ok(())
}

/// Builds the journal of a file written before it (layout 4 or older) from the history: one
/// row per revision every user has, with the keys each changed against the one before it.
/// Returns how many rows it wrote.
pub(super) fn backfill(tx: &WriteTransaction) -> Result<u64, StoreError> {
    // A file has no journal before this upgrade; one marked older by hand (a test) may have
    // rows already, which would then be there twice.
    tx.delete_table(JOURNAL)?;
    tx.delete_table(JOURNAL_BY_USER)?;
    tx.delete_table(JOURNAL_BY_BATCH)?;
    tx.delete_table(JOURNAL_SEQUENCE)?;
    tx.delete_table(JOURNAL_LOADS)?;
    let users = tx.open_table(USERS)?;
    let custom_data = tx.open_table(CUSTOM_DATA)?;
    let history = tx.open_table(HISTORY)?;
    let mut journal = JournalWriter::open(tx)?;
    let mut written = 0;
    let empty = Map::new();
    for item in users.range::<&str>(..)? {
        let (id, json) = item?;
        let id = id.value();
        let current = StoredUser::parse(id, json.value())?;
        let mut previous: Option<Map<String, Value>> = None;
        let mut record = |revision: Revision, at: i64, by: &str, text: &str| -> Result<(), StoreError> {
            // A document custodian could not have stored counts as having no keys.
            let document: Map<String, Value> = serde_json::from_str(text).unwrap_or_default();
            let keys = match &previous {
                Some(old) => KeyChanges::between(old, &document),
                None if revision == 1 => KeyChanges::first(&document),
                // The history of the revisions before it is gone: the keys are not known.
                None => KeyChanges::between(&empty, &empty),
            };
            journal.record(&Save { at, by, id, revision, size: text.len(), keys, batch: None })?;
            previous = Some(document);
            written += 1;
            Ok(())
        };
        for old in history.range((id, 0)..(id, current.rev))? {
            let (key, value) = old?;
            let (at, by, text) = value.value();
            record(key.value().1, at, by, text)?;
        }
        let text = stored_document(&custom_data, id)?;
        let text = if text.is_empty() { EMPTY_DOCUMENT.to_owned() } else { text };
        record(current.rev, current.rev_at, &current.rev_by, &text)?;
    }
    Ok(written)
}

#[cfg(test)]
#[path = "journal/tests.rs"]
mod tests;
