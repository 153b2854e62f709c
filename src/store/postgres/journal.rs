//! The journal on PostgreSQL: every row of `custodian.history` is one save custodian made (or
//! one document it found written outside it and kept before saving over it), with its time,
//! author, batch, size and keys. Read newest first from the index `history__journal` (or the
//! user's own rows, or the batch's), so `--since 1h` reads the last hour only.

use postgres::Transaction;
use postgres::types::ToSql;

use super::*;
use crate::domain::diff::{added_keys, changed_keys};
use crate::domain::scan::compact_len;
use crate::store::{BatchId, JournalEntry, JournalQuery};

/// Rows read from the journal at a time.
const JOURNAL_PAGE: i64 = 500;

/// What a save wrote, as its journal columns keep it.
pub(super) struct Written {
    /// The compact text's size in bytes, as the history shows it and the limit counts it.
    pub size: i64,
    /// `[[added…],[removed…],[changed…]]`, top-level keys.
    pub keys: String,
}

impl Written {
    /// The journal columns of a save that replaced `old` with the document PostgreSQL now
    /// holds, `stored` (its jsonb text: the keys in jsonb's order, numbers as jsonb keeps them).
    pub(super) fn between(id: &str, old: &Map<String, Value>, stored: &str) -> Result<Self, StoreError> {
        let new: Map<String, Value> = serde_json::from_str(stored)
            .map_err(|e| StoreError::Database(format!("user {id}: customData is not a JSON object: {e}")))?;
        Ok(Self { size: compact_len(stored.as_bytes()) as i64, keys: key_changes(old, &new) })
    }
}

/// The keys `new` added to, removed from and changed in `old`, as the `keys` column holds them.
fn key_changes(old: &Map<String, Value>, new: &Map<String, Value>) -> String {
    let keys = [added_keys(old, new), dropped_keys(old, new), changed_keys(old, new)];
    // Vectors of strings always serialise.
    serde_json::to_string(&keys).unwrap_or_default()
}

/// The row of a journal read: the stored facts, and for a row written without them (by an
/// older custodian, or a document found written outside it) its document and the one of the
/// revision before, to work them out from — `{}` when that one was another account's under
/// the id (the new account's first revision read as removing the old account's keys: bb76
/// F4). `%NOW_H%` and `%NOW_P%` are [`OF_THE_ACCOUNT_OR_NONE`] of the row and of the one
/// before it.
const JOURNAL_COLUMNS: &str = "h.saved_ms, h.sequence, h.saved_by, h.user_id, h.revision, h.size, \
    h.keys::text, h.batch_id, \
    case when h.keys is null or h.size is null then h.custom_data::text end, \
    case when h.keys is null then (select case when %NOW_P% = %NOW_H% \
        then p.custom_data::text else '{}' end from custodian.history p \
        where p.tenant_id = h.tenant_id and p.user_id = h.user_id and p.revision = h.revision - 1) end, \
    not %NOW_H%";

/// The `from` of a journal read: the history, and the account under each row's id now (none
/// for a user deleted since).
const JOURNAL_FROM: &str =
    "custodian.history h left join public.users u on u.tenant_id = h.tenant_id and u.id = h.user_id";

/// Whether the row `h` was kept for the account under its id now, by the rule the history
/// reads use ([`of_the_account_now`]: the account's `created_at` the row kept, or by time for
/// a row kept before the column); every row of an id no account has now is the deleted
/// user's own.
const OF_THE_ACCOUNT_OR_NONE: &str = concat!("(u.id is null or ", of_the_account_now!(), ")");

fn journal_entry(row: &Row) -> Result<JournalEntry, StoreError> {
    let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
    let user_id: String = row.try_get(3).map_err(bad)?;
    let revision = row.try_get::<_, i64>(4).map_err(bad)?.max(1) as Revision;
    let size: Option<i64> = row.try_get(5).map_err(bad)?;
    let keys: Option<String> = row.try_get(6).map_err(bad)?;
    let document: Option<String> = row.try_get(8).map_err(bad)?;
    let previous: Option<String> = row.try_get(9).map_err(bad)?;
    let object = |text: &str| serde_json::from_str::<Map<String, Value>>(text).unwrap_or_default();
    let size = match (size, &document) {
        (Some(size), _) => size.max(0) as usize,
        (None, Some(text)) => compact_len(text.as_bytes()),
        (None, None) => 0,
    };
    let keys = match (keys, &document) {
        (Some(keys), _) => keys,
        (None, Some(text)) => match (&previous, revision) {
            (Some(before), _) => key_changes(&object(before), &object(text)),
            // The first revision: every key is new.
            (None, 1) => key_changes(&Map::new(), &object(text)),
            // The revision before it is not kept: which keys it touched is not known.
            (None, _) => key_changes(&Map::new(), &Map::new()),
        },
        (None, None) => String::new(),
    };
    let [added, removed, changed]: [Vec<String>; 3] = serde_json::from_str(&keys).unwrap_or_default();
    let batch: Option<String> = row.try_get(7).map_err(bad)?;
    Ok(JournalEntry {
        saved_at: row.try_get(0).map_err(bad)?,
        saved_by: row.try_get(2).map_err(bad)?,
        user_id,
        revision,
        size,
        added,
        removed,
        changed,
        batch: batch.map(BatchId),
        // PostgreSQL's users are created by Logto: custodian makes no bulk load there.
        load: None,
        sequence: row.try_get::<_, i64>(1).map_err(bad)?.max(0) as u64,
        of_an_earlier_account: row.try_get(10).map_err(bad)?,
    })
}

impl PostgresStore {
    /// [`UserStore::journal`]: one read-only snapshot, newest first, fetched in slices.
    pub(super) fn read_journal(
        &self,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        self.require_journal_layout()?;
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = read_only_snapshot(&mut client).map_err(fail)?;
        let done = self.journal_in(&mut tx, query, visit);
        // Only read: ending it either way changes nothing.
        let end = tx.commit().map_err(fail);
        done.and(end)
    }

    /// Page after page, each a `limit` query from where the last one ended (in the same
    /// snapshot): a bound portal would be planned for every row the bounds allow, and the
    /// planner then sorts the whole range (2.5 s at 200,000 rows) where the index gives the
    /// newest at once.
    fn journal_in(
        &self,
        tx: &mut Transaction<'_>,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let fail = |e: postgres::Error| self.fail(e);
        let batch = query.batch.as_ref().map(|b| b.0.clone());
        // $1 the tenant, $2 and $3 where the page starts (exclusive), $4 the page's size.
        let mut bounds: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let mut conditions = String::new();
        let add = |conditions: &mut String, sql: &str, n: usize| {
            conditions.push_str(&sql.replace('?', &format!("${}", n + 4)));
        };
        if let Some(since) = &query.since {
            bounds.push(since);
            add(&mut conditions, " and h.saved_ms >= ?", bounds.len());
        }
        if let Some(until) = &query.until {
            bounds.push(until);
            add(&mut conditions, " and h.saved_ms < ?", bounds.len());
        }
        if let Some(user) = &query.user_id {
            bounds.push(user);
            // Only the saves of the account under the id now, as its `history` lists them (all
            // of a user deleted since).
            add(&mut conditions, " and h.user_id = ?", bounds.len());
            conditions.push_str(" and %NOW_H%");
        }
        if let Some(who) = &query.saved_by {
            bounds.push(who);
            add(&mut conditions, " and strpos(h.saved_by, ?) > 0", bounds.len());
        }
        if let Some(batch) = &batch {
            bounds.push(batch);
            add(&mut conditions, " and h.batch_id = ?", bounds.len());
        }
        let sql = format!(
            "select {JOURNAL_COLUMNS} from {JOURNAL_FROM} \
             where h.tenant_id = $1 and (h.saved_ms, h.sequence) < ($2, $3){conditions} \
             order by h.saved_ms desc, h.sequence desc limit $4"
        );
        let of_the_row = self.sql(OF_THE_ACCOUNT_OR_NONE);
        // The rule names the row `h`; the revision before it is `p`.
        let of_the_row_before = of_the_row.replace("h.", "p.");
        let sql = self.sql(&sql.replace("%NOW_H%", &of_the_row).replace("%NOW_P%", &of_the_row_before));
        let statement = tx.prepare(&sql).map_err(fail)?;
        let (mut at, mut sequence) =
            query.before.map_or((i64::MAX, i64::MAX), |(at, seq)| (at, seq.min(i64::MAX as u64) as i64));
        let page = JOURNAL_PAGE;
        loop {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant, &at, &sequence, &page];
            params.extend(bounds.iter().copied());
            let rows = tx.query(&statement, &params).map_err(fail)?;
            let mut last = None;
            for row in &rows {
                let entry = journal_entry(row)?;
                if !visit(&entry)? {
                    return Ok(());
                }
                last = Some((entry.saved_at, entry.sequence.min(i64::MAX as u64) as i64));
            }
            match last {
                Some(next) if rows.len() as i64 == page => (at, sequence) = next,
                _ => return Ok(()),
            }
        }
    }
}
