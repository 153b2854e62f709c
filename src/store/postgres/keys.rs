//! The list order and the filter's prefixes as index keys, in custodian's own schema.
//!
//! The list order is `lower(coalesce(username, primary_email, primary_phone, id))` then the
//! id, compared as bytes: no index on Logto's `users` gives it (and custodian may add none
//! there), so computed afresh every page sorts the whole tenant (about 1 s at a million
//! users). `custodian.user_keys` keeps, per user, that handle (kind 0) and the lowered
//! username, email, name, the phone and the id (the prefix filter's arms), in a "C"-collated
//! column under a primary key that is the list order: a page, a scan step and a prefix are
//! index ranges, joined to `users` by its primary key for the rest of the row.
//!
//! The keys are brought up to date by [`sync`]: set-based SQL that compares one digest per
//! user (kind 6, what the other keys are made of) with the users as they are, deletes the
//! keys of users who changed or are gone and makes those of users who changed or are new. `init` syncs every tenant, the screen
//! syncs in the background after it connects and on its refresh key. custodian itself never
//! changes a handle field, so its own saves need none. Between two syncs a key may be stale:
//! a user deleted outside is skipped (the join finds no row), one created outside is not in
//! the list yet, one renamed outside keeps its old place; the CLI and read-only sessions do
//! not use the table and always compute the order afresh.

use postgres::types::ToSql;
use postgres::{Client, Row};

use super::{ListEntry, ListKey, PostgresStore, ScanStep, Seek, StoreError, UserRow, key_parts, seek_bound};
use crate::domain::filter::Filter;

/// How long one statement of a sync may take: a whole tenant's keys made afresh (a million
/// users, about a minute on a small server).
pub(super) const SYNC_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Kinds of key, as stored in `user_keys.kind`.
const HANDLE: i16 = 0;

/// The list row's handle on the key-table path: the user's key of kind 0, or (for a user
/// created outside since the last sync, read by id) the handle computed afresh.
pub(super) const KEYED_HANDLE: &str = "coalesce((select k0.key from custodian.user_keys k0 \
    where k0.tenant_id = u.tenant_id and k0.user_id = u.id collate \"C\" and k0.kind = 0 limit 1), \
    lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)))";

/// The key table joined to the users it names (`k` and `u`); a key whose user is gone finds
/// no row. The explicit collation lets the join use Logto's (tenant_id, id) index.
const KEYED_USERS: &str = "custodian.user_keys k join public.users u \
    on u.tenant_id = k.tenant_id and u.id = k.user_id collate \"default\"";

/// What a user's keys are made of, as one value: kind 6 holds it, so a sync compares one
/// key per user (a million, not seven million) to find who changed.
const SOURCES: &str = "md5(row(u.username, u.primary_email, u.primary_phone, u.name)::text)";
/// The kind that holds [`SOURCES`].
const DIGEST: i16 = 6;

/// Every key each user of tenant `$1` (and `condition` on `u`) should have: the same
/// expressions the exact path computes (its list order and its prefix arms), so both paths
/// agree.
fn wanted_keys(condition: &str) -> String {
    format!(
        "select w.kind, w.key collate \"C\" as key, u.id collate \"C\" as user_id \
         from public.users u cross join lateral (values \
            (0::int2, lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id))), \
            (1::int2, lower(u.username)), \
            (2::int2, lower(u.primary_email)), \
            (3::int2, u.primary_phone::text), \
            (4::int2, lower(u.name)), \
            (5::int2, u.id::text), \
            ({DIGEST}::int2, {SOURCES})) w (kind, key) \
         where u.tenant_id = $1 and w.key is not null{condition}"
    )
}

/// What one sync changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySync {
    pub added: u64,
    pub removed: u64,
}

impl KeySync {
    pub fn changed(&self) -> bool {
        self.added + self.removed > 0
    }
}

/// Whether the key table is there and this role may read and keep it (a schema made by an
/// older `init` has none: the exact path then serves).
pub(super) fn usable(client: &mut Client) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "select to_regclass('custodian.user_keys') is not null and to_regclass('custodian.key_syncs') is not null",
        &[],
    )?;
    if !row.get::<_, bool>(0) {
        return Ok(false);
    }
    Ok(client
        .query_one(
            "select has_table_privilege('custodian.user_keys', 'select, insert, delete') \
             and has_table_privilege('custodian.key_syncs', 'select, insert, update')",
            &[],
        )?
        .get(0))
}

/// Brings tenant `tenant`'s keys up to date in one transaction: the keys no user has any
/// more are deleted, the missing ones inserted, and the time noted in `key_syncs`. Two syncs
/// of one tenant take turns (an advisory lock), so neither trips over the other's rows.
pub(super) fn sync(client: &mut Client, tenant: &str) -> Result<KeySync, postgres::Error> {
    let mut tx = client.transaction()?;
    // A sync of a million users takes seconds: it may wait for another one that long. The
    // keys are a cache made again from `users` by the next sync: their commit need not wait
    // for the disk (nor for a synchronous standby). Not bound by the screen's 10 s for a
    // statement: 300,000 users Logto created since the last sync took 15 s, and were never
    // listed, every sync cut off at 10 s (bb41 F10); it runs on the scanner's connection.
    tx.batch_execute(&format!(
        "set local lock_timeout = '120s'; set local statement_timeout = '{}s'; \
         set local work_mem = '64MB'; set local synchronous_commit = off",
        SYNC_STATEMENT_TIMEOUT.as_secs()
    ))?;
    tx.execute("select pg_advisory_xact_lock(hashtext('custodian.user_keys'), hashtext($1))", &[&tenant])?;
    // The users whose keys are out of date: those whose sources changed or who have none
    // (their digest is not in the table) and those who are gone. Their keys go first ...
    let removed = tx.execute(
        &format!(
            "with current as materialized (select u.id collate \"C\" as user_id, {SOURCES} as digest \
                 from public.users u where u.tenant_id = $1), \
             stale as (select c.user_id from current c where not exists (select 1 from custodian.user_keys k \
                     where k.tenant_id = $1 and k.kind = {DIGEST} and k.key = c.digest and k.user_id = c.user_id) \
                 union select k.user_id from custodian.user_keys k where k.tenant_id = $1 and k.kind = {DIGEST} \
                     and not exists (select 1 from current c where c.user_id = k.user_id)) \
             delete from custodian.user_keys k using stale s where k.tenant_id = $1 and k.user_id = s.user_id"
        ),
        &[&tenant],
    )?;
    // ... then every user without a digest gets all of theirs, made afresh. Never by a nested
    // loop: with statistics taken while the tenant was empty (200,000 users created by SQL
    // since), the planner looked for each user's digest in the key table with one, and the
    // statement ran past the 10-minute timeout; a hash anti join takes 10 s (bb58 F2).
    tx.batch_execute("set local enable_nestloop = off")?;
    let added = tx.execute(
        &format!(
            "insert into custodian.user_keys (tenant_id, kind, key, user_id) \
             select $1, w.kind, w.key, w.user_id from ({}) w on conflict do nothing",
            wanted_keys(&format!(
                " and not exists (select 1 from custodian.user_keys k where k.tenant_id = $1 \
                 and k.kind = {DIGEST} and k.user_id = u.id collate \"C\")"
            ))
        ),
        &[&tenant],
    )?;
    tx.batch_execute("set local enable_nestloop = on")?;
    let done = KeySync { added, removed };
    tx.execute(
        "insert into custodian.key_syncs (tenant_id, synced_at) values ($1, now()) \
         on conflict (tenant_id) do update set synced_at = excluded.synced_at",
        &[&tenant],
    )?;
    tx.commit()?;
    Ok(done)
}

/// Brings one user's keys up to date, when they are not (a user Logto created or renamed
/// since the last sync): a jump to that user (`:user`, a journal entry) finds their row where
/// the list looks for it, instead of the row of whoever sorts there. Nothing is written when
/// the keys are current; while a whole sync runs, it is left to bring this user too.
pub(super) fn sync_user(client: &mut Client, tenant: &str, id: &str) -> Result<KeySync, postgres::Error> {
    let current: bool = client
        .query_one(
            &format!(
                "select exists (select 1 from public.users u join custodian.user_keys k \
                     on k.tenant_id = u.tenant_id and k.kind = {DIGEST} and k.user_id = u.id collate \"C\" and k.key = {SOURCES} \
                 where u.tenant_id = $1 and u.id = $2) \
                 or not exists (select 1 from public.users u where u.tenant_id = $1 and u.id = $2)"
            ),
            &[&tenant, &id],
        )?
        .get(0);
    if current {
        return Ok(KeySync::default());
    }
    let mut tx = client.transaction()?;
    tx.batch_execute("set local synchronous_commit = off")?;
    let alone: bool = tx
        .query_one(
            "select pg_try_advisory_xact_lock(hashtext('custodian.user_keys'), hashtext($1))",
            &[&tenant],
        )?
        .get(0);
    if !alone {
        return Ok(KeySync::default());
    }
    let removed = tx.execute(
        "delete from custodian.user_keys k where k.tenant_id = $1 and k.user_id = $2",
        &[&tenant, &id],
    )?;
    let added = tx.execute(
        &format!(
            "insert into custodian.user_keys (tenant_id, kind, key, user_id) \
             select $1, w.kind, w.key, w.user_id from ({}) w on conflict do nothing",
            wanted_keys(" and u.id = $2")
        ),
        &[&tenant, &id],
    )?;
    tx.commit()?;
    Ok(KeySync { added, removed })
}

/// The least string greater than every string that starts with `prefix`, in code point
/// order (which is UTF-8's byte order, the "C" collation's): the prefix with its last
/// character raised by one. `None` when there is none (only U+10FFFF at the end).
pub(super) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(raised) = char::from_u32(next) {
            chars.push(raised);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl PostgresStore {
    /// The list order's first part on this store's path.
    pub(super) fn handle_column(&self) -> &'static str {
        if self.keyed { KEYED_HANDLE } else { super::EXACT_HANDLE }
    }

    /// Whether the list, prefixes and scan read the key table.
    pub fn uses_key_table(&self) -> bool {
        self.keyed
    }

    /// Brings this tenant's keys up to date (see [`sync`]); nothing on the exact path.
    pub fn sync_key_table(&self) -> Result<KeySync, StoreError> {
        if !self.keyed {
            return Ok(KeySync::default());
        }
        sync(&mut self.lock(), &self.tenant).map_err(|e| self.fail_within(SYNC_STATEMENT_TIMEOUT, e))
    }

    /// When this tenant's keys were last synced, if ever: for `info`.
    pub fn last_key_sync(&self) -> Result<LastKeySync, StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let there: bool = client
            .query_one("select to_regclass('custodian.key_syncs') is not null", &[])
            .map_err(fail)?
            .get(0);
        if !there {
            return Ok(LastKeySync::NoKeyTable);
        }
        let row = client
            .query_opt(
                "select to_char(synced_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' \
                 from custodian.key_syncs where tenant_id = $1",
                &[&self.tenant],
            )
            .map_err(fail)?;
        Ok(row.map_or(LastKeySync::NeverForThisTenant, |r| LastKeySync::At(r.get(0))))
    }

    /// [`UserStore::rows`] from the key table: an index range of kind 0.
    pub(super) fn keyed_rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let (bound, backwards) = seek_bound(seek);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant, &limit];
        let (handle, id) = bound.map_or(("", ""), |(_, key)| key_parts(key));
        let mut condition = String::new();
        if let Some((op, _)) = bound {
            condition = format!(" and (k.key, k.user_id) {op} ($3::text, $4::text)");
            params.push(&handle);
            params.push(&id);
        }
        let direction = if backwards { "desc" } else { "asc" };
        let sql = self.select_users_from(
            KEYED_USERS,
            "k.key",
            &format!(
                "where k.tenant_id = $1 and k.kind = {HANDLE}{condition} \
                 order by k.key {direction}, k.user_id {direction} limit $2"
            ),
        );
        let mut entries: Vec<ListEntry> =
            self.query_users(&sql, &params)?.into_iter().map(UserRow::entry).collect();
        if backwards {
            entries.reverse();
        }
        Ok(entries)
    }

    /// [`UserStore::prefix_matches`] from the key table: one index range per kind, the
    /// same arms as the exact path (lowered username, email, name; the phone against the
    /// lowered query; the id against the query as typed). A range (`key >= p and key < q`),
    /// not LIKE: under Logto's row-level security only leakproof operators may become index
    /// conditions, and LIKE is not one (it would read every key of the kind). `None` when a
    /// prefix has no upper bound (it ends in U+10FFFF only): the exact path serves then.
    pub(super) fn keyed_prefix_matches(
        &self,
        lower: &str,
        exact: &str,
        limit: i64,
    ) -> Result<Option<Vec<ListEntry>>, StoreError> {
        let (Some(lower_end), Some(exact_end)) = (prefix_end(lower), prefix_end(exact)) else {
            return Ok(None);
        };
        let arm = |kind: i16, from: &str, to: &str| {
            format!(
                "(select user_id from custodian.user_keys where tenant_id = $1 and kind = {kind} \
                 and key >= {from} and key < {to} order by key limit $6)"
            )
        };
        let hits = [
            arm(1, "$2", "$3"),
            arm(2, "$2", "$3"),
            arm(3, "$2", "$3"),
            arm(4, "$2", "$3"),
            arm(5, "$4", "$5"),
        ]
        .join(" union ");
        let from = format!(
            "hits join custodian.user_keys k on k.tenant_id = $1 and k.kind = {HANDLE} and k.user_id = hits.user_id \
             join public.users u on u.tenant_id = k.tenant_id and u.id = k.user_id collate \"default\""
        );
        let select = self.select_users_from(&from, "k.key", "where true order by k.key, k.user_id limit $6");
        let sql = format!("with hits as ({hits}) {select}");
        let rows = self.query_users(&sql, &[&self.tenant, &lower, &lower_end, &exact, &exact_end, &limit])?;
        Ok(Some(rows.into_iter().map(UserRow::entry).collect()))
    }

    /// [`UserStore::scan_matches`] from the key table: the step's users are the next index
    /// range of kind 0 after `after`, so a whole scan reads the tenant once.
    pub(super) fn keyed_scan_matches(
        &self,
        filter: &mut Filter,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let batch_size = batch.min(i64::MAX as usize) as i64;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant, &batch_size];
        let (handle, id) = after.map_or(("", ""), key_parts);
        let mut condition = String::new();
        if after.is_some() {
            condition = " and (k.key, k.user_id) > ($3::text, $4::text)".to_owned();
            params.push(&handle);
            params.push(&id);
        }
        let sql = format!(
            "select u.id, u.username, u.primary_email, u.primary_phone, u.name, u.custom_data::text, k.key \
             from {KEYED_USERS} where k.tenant_id = $1 and k.kind = {HANDLE}{condition} \
             order by k.key, k.user_id limit $2"
        );
        let rows: Vec<Row> = {
            let mut client = self.lock();
            let fail = |e: postgres::Error| self.fail(e);
            let mut tx = client.transaction().map_err(fail)?;
            // One process walks the index and fetches each user by its key: measured at a
            // million users, 82–124 ms a step of 5,000, against 178–196 ms when PostgreSQL
            // splits the walk over parallel workers and merges their wide rows.
            tx.batch_execute("set local max_parallel_workers_per_gather = 0").map_err(fail)?;
            let rows = tx.query(&sql, &params).map_err(fail)?;
            tx.commit().map_err(fail)?;
            rows
        };
        self.scan_step(filter, &rows, batch, max_hits)
    }
}

/// When a tenant's keys were last synced, for `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastKeySync {
    /// No key table: `init` has not made it.
    NoKeyTable,
    /// The key table is there and this tenant's keys were never synced (a tenant made since
    /// `init`: bb53 F6).
    NeverForThisTenant,
    /// When, in UTC (`YYYY-MM-DD HH:MM:SS UTC`).
    At(String),
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_before_its_last_character_raised_by_one() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a.k").as_deref(), Some("a.l"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        // Every string with the prefix is inside [prefix, end) in byte order.
        for text in ["ab", "ab\u{10FFFF}\u{10FFFF}", "abzzz", "ab\u{0}"] {
            assert!(text >= "ab" && text < prefix_end("ab").unwrap().as_str(), "{text:?}");
        }
    }
}
