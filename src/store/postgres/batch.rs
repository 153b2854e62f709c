//! Batches on PostgreSQL: `edit_batch` (a `patch --yes`) and `undo_batch` as one transaction
//! each, the selection read in chunks from a server-side portal so memory stays the same at
//! any number of users, every written user a history row tagged with the batch, and one row
//! in `custodian.batches` for the batch itself.
//!
//! Each chunk's users are locked (`for update`) before their documents are read: what the
//! edit sees is what it replaces, and no write — custodian's or Logto's — lands in between.
//! A document written outside custodian since custodian last saved it is first kept as a
//! revision of its own (as a single save keeps it), so nothing anyone wrote is lost and the
//! undo has it to go back to.

use std::collections::HashMap;

use postgres::Transaction;

use super::journal::Written;
use super::*;
use crate::store::{BatchEdit, BatchId, BatchSummary, Selection, UndoSummary};

/// Users read, locked and written at a time.
const CHUNK: usize = 1_000;

/// What is done with each chunk of a selection's ids, inside the batch's transaction.
type ChunkVisit<'a> = dyn FnMut(&mut Transaction<'_>, &[String]) -> Result<(), StoreError> + 'a;

/// One user of a chunk, locked, as the edit sees them.
struct Locked {
    row: UserRow,
    /// The stored document, as jsonb gives it.
    stored: String,
    /// Whether the newest history row holds the stored document (else it was written
    /// outside custodian and is kept as revision `row.record.revision` before the save).
    recorded: bool,
}

/// A save of one user in a batch, waiting for its chunk to be written.
struct Pending {
    id: String,
    /// The revision the user is at (its document kept as it when not yet recorded).
    current: Revision,
    recorded: bool,
    old: Map<String, Value>,
    new_text: String,
}

impl PostgresStore {
    /// [`UserStore::batch_undone_by`]: `custodian.batches.undoes`.
    pub(super) fn undone_by(&self, undo: &BatchId) -> Result<Option<BatchId>, StoreError> {
        self.require_journal_layout()?;
        let row = self
            .lock()
            .query_opt(
                "select undoes from custodian.batches where tenant_id = $1 and id = $2",
                &[&self.tenant, &undo.0],
            )
            .map_err(|e| self.fail(e))?;
        Ok(row.and_then(|row| row.get::<_, Option<String>>(0)).map(BatchId))
    }

    /// Calls `chunk` with the ids `selection` names, in its order, [`CHUNK`] at a time: read
    /// from a portal inside `tx` (`All` and `Search` in list order, sorted once by the
    /// server), so the whole selection is never in memory. An id given twice comes once.
    fn selected_chunks(
        &self,
        tx: &mut Transaction<'_>,
        selection: &Selection,
        chunk: &mut ChunkVisit<'_>,
    ) -> Result<(), StoreError> {
        let fail = |e: postgres::Error| self.fail(e);
        match selection {
            Selection::Ids(ids) => {
                ids.for_each_chunk(CHUNK, crate::store::user_ids::ids_unread, &mut |ids| chunk(tx, ids))
            }
            Selection::All | Selection::Search(_) => {
                // The sort of (handle, id) pairs in memory: a million of them fit in this.
                tx.batch_execute("set local work_mem = '64MB'").map_err(fail)?;
                let mut filter = match selection {
                    Selection::Search(query) => Some(Filter::new(query)),
                    _ => None,
                };
                let sql = if filter.is_some() {
                    format!(
                        "select u.id, u.username, u.primary_email, u.primary_phone, u.name, u.custom_data::text, \
                         {EXACT_HANDLE} from public.users u where u.tenant_id = $1 order by {ORDER_KEY}"
                    )
                } else {
                    format!("select u.id from public.users u where u.tenant_id = $1 order by {ORDER_KEY}")
                };
                let portal = tx.bind(sql.as_str(), &[&self.tenant]).map_err(fail)?;
                loop {
                    let rows = tx.query_portal(&portal, CHUNK as i32).map_err(fail)?;
                    let ids = match filter.as_mut() {
                        Some(filter) => filter_rows(filter, &rows, usize::MAX)?.0,
                        None => rows
                            .iter()
                            .map(|row| row.try_get(0))
                            .collect::<Result<_, _>>()
                            .map_err(|e| StoreError::Database(format!("unexpected column type: {e}")))?,
                    };
                    if !ids.is_empty() {
                        chunk(tx, &ids)?;
                    }
                    if rows.len() < CHUNK {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Locks the users `ids` names until the transaction ends, in a statement of its own:
    /// under READ COMMITTED a statement that waited for a row lock sees the row as the other
    /// writer committed it, but what it joined to the row (the newest history row, whether it
    /// holds the document) as its snapshot had them, before that write. The statement after
    /// this one reads everything as of now, with no write left to land in between.
    pub(super) fn lock_users<T: AsRef<str> + postgres::types::ToSql + Sync>(
        &self,
        tx: &mut Transaction<'_>,
        ids: &[T],
    ) -> Result<(), StoreError> {
        // The free rows first, without waiting: those it did not lock are held by another
        // session (or gone), and a wait for them that times out can name them (it said "the
        // database is busy" of one held row: bb41).
        let locked = tx
            .query(
                "select u.id from public.users u where u.tenant_id = $1 and u.id = any($2) for update of u skip locked",
                &[&self.tenant, &ids],
            )
            .map_err(|e| self.fail(e))?;
        if locked.len() == ids.len() {
            return Ok(());
        }
        let locked: std::collections::HashSet<String> = locked.iter().map(|row| row.get(0)).collect();
        let held: Vec<&str> = ids.iter().map(AsRef::as_ref).filter(|id| !locked.contains(*id)).collect();
        tx.execute(
            "select 1 from public.users u where u.tenant_id = $1 and u.id = any($2) for update of u",
            &[&self.tenant, &held],
        )
        .map(|_| ())
        .map_err(|e| match self.fail(e) {
            StoreError::Busy => StoreError::RowsHeld { users: held_users(&held) },
            other => other,
        })
    }

    /// The users `ids` names, with their stored document and whether custodian's history
    /// holds it; locked until the transaction ends when `lock` (a batch that writes them).
    fn chunk_users(
        &self,
        tx: &mut Transaction<'_>,
        ids: &[String],
        lock: bool,
    ) -> Result<HashMap<String, Locked>, StoreError> {
        if lock {
            self.lock_users(tx, ids)?;
        }
        let sql = self.sql(&format!(
            "select {USER_COLUMNS}, {EXACT_HANDLE}, {REVISION_COLUMNS}, u.custom_data::text, coalesce(h.same, false) \
             from public.users u {LATEST_HISTORY_BY_TEXT} where u.tenant_id = $1 and u.id = any($2)"
        ));
        let rows = tx.query(&sql, &[&self.tenant, &ids]).map_err(|e| self.fail(e))?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let user = UserRow::read(row, 0)?;
            let stored: String = row.get(COLUMN_COUNT + 3);
            let recorded: bool = row.get(COLUMN_COUNT + 4);
            found.insert(user.record.user.id.clone(), Locked { row: user, stored, recorded });
        }
        Ok(found)
    }

    /// Writes a chunk's saves: the documents found written outside custodian kept first,
    /// then the new documents, then their history rows tagged with `batch`. Returns how many
    /// users got a new revision (a document jsonb finds equal to the stored one is none).
    fn write_chunk(
        &self,
        tx: &mut Transaction<'_>,
        pending: &[Pending],
        author: &Author,
        batch: &BatchId,
    ) -> Result<u64, StoreError> {
        if pending.is_empty() {
            return Ok(0);
        }
        let fail = |e: postgres::Error| self.fail(e);
        let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
        let texts: Vec<&str> = pending.iter().map(|p| p.new_text.as_str()).collect();
        let revisions: Vec<i64> = pending.iter().map(|p| p.current as i64).collect();
        let recorded: Vec<bool> = pending.iter().map(|p| p.recorded).collect();
        // The rows are locked: the stored documents are the ones the edit saw. Logto's
        // `set_updated_at` trigger moves updated_at; custodian does not set it.
        let updated = tx
            .query(
                &self.sql(&format!("with n as (select n.id, n.doc, n.rev, n.recorded \
                     from unnest($2::text[], $3::text[], $4::int8[], $5::bool[]) as n(id, doc, rev, recorded)), \
                 old as (select u.id, u.custom_data, u.updated_at, u.created_at, n.doc, n.rev, n.recorded from n \
                     join public.users u on u.tenant_id = $1 and u.id = n.id \
                     where u.custom_data::text is distinct from n.doc::jsonb::text), \
                 outside as (insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at%CREATED_COL%) \
                     select $1, old.id, old.rev, {}, $6, old.custom_data, old.updated_at%OLD_CREATED% from old where not old.recorded) \
                 update public.users u set custom_data = old.doc::jsonb from old \
                 where u.tenant_id = $1 and u.id = old.id returning u.id, u.custom_data::text",
                kept_outside_at("old.updated_at", "old.created_at", "$1", "old.id"))),
                &[&self.tenant, &ids, &texts, &revisions, &recorded, &OUTSIDE],
            )
            .map_err(fail)?;
        if updated.is_empty() {
            return Ok(0);
        }
        let by_id: HashMap<&str, &Pending> = pending.iter().map(|p| (p.id.as_str(), p)).collect();
        let (mut saved_ids, mut saved_revisions, mut sizes, mut keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let limit = crate::domain::Limits::default().max_bytes;
        for row in &updated {
            let id: String = row.get(0);
            let Some(save) = by_id.get(id.as_str()) else { continue };
            let stored: String = row.get(1);
            // Held to the limit as jsonb stores it (see `save_document`): the whole batch is
            // dropped, nothing written.
            let size = crate::domain::scan::compact_len(stored.as_bytes());
            if size > limit {
                return Err(StoreError::StoredTooLarge { user: id, size, limit });
            }
            let written = Written::between(&id, &save.old, &stored)?;
            saved_revisions.push((save.current + 1) as i64);
            sizes.push(written.size);
            keys.push(written.keys);
            saved_ids.push(id);
        }
        tx.execute(
            &self.sql(
                "insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at, batch_id, size, keys%CREATED_COL%) \
             select u.tenant_id, u.id, n.rev, clock_timestamp(), $2, u.custom_data, u.updated_at, $3, n.size, n.keys::jsonb%U_CREATED% \
             from unnest($4::text[], $5::int8[], $6::int8[], $7::text[]) as n(id, rev, size, keys) \
             join public.users u on u.tenant_id = $1 and u.id = n.id",
            ),
            &[&self.tenant, &author.0, &batch.0, &saved_ids, &saved_revisions, &sizes, &keys],
        )
        .map_err(fail)?;
        Ok(saved_ids.len() as u64)
    }

    /// Records the batch itself and commits, or rolls back when it saved nobody (a batch that
    /// changed nobody leaves no trace, as on redb).
    fn finish_batch(
        &self,
        mut tx: super::writes::WriteTransaction<'_>,
        summary: &BatchSummary,
        undoes: Option<&BatchId>,
        author: &Author,
    ) -> Result<(), StoreError> {
        let fail = |e: postgres::Error| self.fail(e);
        if summary.saved == 0 {
            return tx.rollback().map_err(fail);
        }
        let kind = if undoes.is_some() { "undo" } else { "edit" };
        let inserted = tx.query_one(
            "insert into custodian.batches (tenant_id, id, kind, undoes, saved_at, saved_by, matched, saved) \
             values ($1, $2, $3, $4, now(), $5, $6, $7) returning pg_current_xact_id()::text",
            &[
                &self.tenant,
                &summary.batch.0,
                &kind,
                &undoes.map(|b| b.0.as_str()),
                &author.0,
                &(summary.matched as i64),
                &(summary.saved as i64),
            ],
        )
        .map_err(fail)?;
        // The COMMIT went and no answer came: written or not, the journal says after a
        // reconnect ([`crate::store::batch_landed`]).
        let tx = Self::unless_a_signal_came(tx)?;
        self.commit_write(tx, inserted.get(0)).map_err(|e| match self.fail(e) {
            StoreError::ConnectionLost { server, .. } => {
                StoreError::BatchOutcomeUnknown { server, batch: summary.batch.0.clone() }
            }
            other => other,
        })
    }

    pub(super) fn write_batch(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        walked: &mut dyn FnMut() -> Result<(), StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        self.require_journal_layout()?;
        let mut client = self.lock();
        let mut tx = Self::write_transaction(&mut client).map_err(|e| self.fail(e))?;
        self.check_schema_hold(&mut tx, &|e| self.fail(e))?;
        let mut summary = BatchSummary { batch: batch.clone(), matched: 0, saved: 0 };
        let named = matches!(selection, Selection::Ids(_));
        // The saves of the chunk before, made and not yet written.
        let mut unwritten: Vec<Pending> = Vec::new();
        // Returning early drops the transaction uncommitted: nothing is written.
        self.selected_chunks(&mut tx, selection, &mut |tx, ids| {
            let users = self.chunk_users(tx, ids, true)?;
            let previous = std::mem::take(&mut unwritten);
            // The chunk before goes to the server while this chunk's edits are made here: the
            // server's writes and custodian's patching (8 s of CPU at 100k) no longer take turns.
            let (written, edited) = std::thread::scope(|scope| {
                let writer = scope.spawn(move || self.write_chunk(tx, &previous, author, batch));
                let edited = edit_chunk(ids, users, named, edit, &mut summary.matched);
                let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (written, edited)
            });
            // The edit's error first, as the trait promises; either way nothing is committed.
            unwritten = edited?;
            summary.saved += written?;
            Ok(())
        })?;
        walked()?;
        summary.saved += self.write_chunk(&mut tx, &unwritten, author, batch)?;
        self.finish_batch(tx, &summary, None, author)?;
        Ok(summary)
    }

    /// [`UserStore::for_each_selected`] from one read-only snapshot, a chunk at a time (the
    /// dry run of a batch goes over the users [`Self::write_batch`] would).
    pub(super) fn visit_selected(
        &self,
        selection: &Selection,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = read_only_snapshot(&mut client).map_err(fail)?;
        let named = matches!(selection, Selection::Ids(_));
        self.selected_chunks(&mut tx, selection, &mut |tx, ids| {
            let mut users = self.chunk_users(tx, ids, false)?;
            for id in ids {
                match users.remove(id) {
                    Some(user) => visit(&user.row.record, &walked_text(id, &user.stored))?,
                    None if named => return Err(StoreError::UserNotFound(id.clone())),
                    None => {}
                }
            }
            Ok(())
        })?;
        tx.commit().map_err(fail)
    }

    pub(super) fn undo_written_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        self.require_journal_layout()?;
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = Self::write_transaction(&mut client).map_err(fail)?;
        let known = tx
            .query_opt(
                "select 1 from custodian.batches b where b.tenant_id = $1 and b.id = $2",
                &[&self.tenant, &batch.0],
            )
            .map_err(fail)?
            .is_some();
        if !known {
            return Err(StoreError::BatchNotFound(batch.0.clone()));
        }
        let mut summary = UndoSummary {
            undo: BatchSummary { batch: undo.clone(), matched: 0, saved: 0 },
            changed_since: Default::default(),
        };
        let portal = tx
            .bind(
                "select h.user_id, h.revision from custodian.history h \
                 where h.tenant_id = $1 and h.batch_id = $2 order by h.user_id collate \"C\"",
                &[&self.tenant, &batch.0],
            )
            .map_err(fail)?;
        loop {
            let rows = tx.query_portal(&portal, CHUNK as i32).map_err(fail)?;
            let step: Vec<(String, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
            summary.undo.matched += step.len() as u64;
            let pending = self.undo_chunk(&mut tx, batch, &step, &mut summary.changed_since)?;
            summary.undo.saved += self.write_chunk(&mut tx, &pending, author, undo)?;
            if rows.len() < CHUNK {
                break;
            }
        }
        self.finish_batch(tx, &summary.undo, Some(batch), author)?;
        Ok(summary)
    }

    /// The users of one chunk of an undone batch, locked: those still at the revision the
    /// batch gave them (the same document: a write outside custodian since counts as a
    /// change) go back to the revision before it; the rest are listed in `changed_since`
    /// with the revision they are at now.
    fn undo_chunk(
        &self,
        tx: &mut Transaction<'_>,
        batch: &BatchId,
        step: &[(String, i64)],
        changed_since: &mut crate::store::LeftAlone,
    ) -> Result<Vec<Pending>, StoreError> {
        let ids: Vec<&str> = step.iter().map(|(id, _)| id.as_str()).collect();
        let revisions: Vec<i64> = step.iter().map(|(_, revision)| *revision).collect();
        self.lock_users(tx, &ids)?;
        let rows = tx
            .query(
                &self.sql(&format!("select n.id, n.rev, u.custom_data::text, h.revision, coalesce(h.same, false), p.custom_data::text, \
                     coalesce(w.custom_data::text = u.custom_data::text, false), coalesce(%W_ANOTHER_ACCOUNT%, false), \
                     exists (select 1 from custodian.history r join custodian.batches t \
                         on t.tenant_id = r.tenant_id and t.id = r.batch_id \
                         where r.tenant_id = $1 and r.user_id = n.id and r.revision > n.rev and t.undoes = $4), \
                     exists (select 1 from custodian.batches b where b.tenant_id = $1 and b.id = h.batch_id \
                         and b.undoes is not null and b.undoes <> $4), \
                     h.batch_id \
                 from unnest($2::text[], $3::int8[]) as n(id, rev) \
                 join public.users u on u.tenant_id = $1 and u.id = n.id \
                 left join lateral (select h.revision, h.batch_id, h.custom_data::text = u.custom_data::text and {} as same from custodian.history h \
                     where h.tenant_id = u.tenant_id and h.user_id = u.id order by h.revision desc limit 1) h on true \
                 left join custodian.history p on p.tenant_id = $1 and p.user_id = n.id and p.revision = n.rev - 1 \
                 left join custodian.history w on w.tenant_id = $1 and w.user_id = n.id and w.revision = n.rev",
                    of_the_account_now!())),
                &[&self.tenant, &ids, &revisions, &batch.0],
            )
            .map_err(|e| self.fail(e))?;
        let mut found: HashMap<String, &Row> =
            rows.iter().map(|row| (row.get::<_, String>(0), row)).collect();
        let mut pending = Vec::new();
        for (id, revision) in step {
            let Some(row) = found.remove(id) else {
                // Deleted since (by Logto): left alone, as redb leaves a user gone.
                changed_since.push(id, 0, None);
                continue;
            };
            let latest: Option<i64> = row.get(3);
            let same: bool = row.get(4);
            let latest = latest.unwrap_or(0);
            // The revision it is at now (a document written outside custodian becomes one).
            let now = if same { latest } else { latest + 1 };
            // Saved since with the very document the batch wrote by the undo of a later batch
            // (bb20 L03) is as the batch left it; by anything else (a later patch writing that
            // document again: bb82 F2) it is a change.
            let put_back_by_an_undo: bool = row.get(9);
            let as_written: bool = row.get::<_, bool>(6) && (same && put_back_by_an_undo);
            // Created after the batch wrote the user: another account under the id (the user
            // deleted and the id given again by SQL, a restore), which the revisions kept under
            // the id are not of: its document is never taken back to the other's (bb63 F4).
            let born_since: bool = row.get(7);
            if born_since {
                // Said as a user gone: the one the batch wrote was deleted (bb66 F5: "now at
                // revision 2 (batch B)", the batch's own revision, read as not undone).
                changed_since.push(id, 0, None);
                continue;
            }
            // The batch that saved the revision it is at (none: a write outside custodian).
            let batch_now: Option<String> = if same { row.get(10) } else { None };
            if (latest != *revision || !same) && !as_written {
                changed_since.push(id, now.max(1) as Revision, batch_now.as_deref());
                continue;
            }
            // Unless the batch was taken back since (an earlier undo of it) and a later save
            // wrote its document again: undone again, that later save would go back under this
            // batch's name (bb81 F2).
            let taken_back_since: bool = row.get(8);
            if latest != *revision && taken_back_since {
                changed_since.push(id, now.max(1) as Revision, batch_now.as_deref());
                continue;
            }
            let before: String = row.try_get::<_, Option<String>>(5).ok().flatten().ok_or_else(|| {
                StoreError::RevisionNotFound {
                    user: id.clone(),
                    revision: (*revision - 1).max(0) as Revision,
                }
            })?;
            let stored: String = row.get(2);
            pending.push(Pending {
                id: id.clone(),
                current: now as Revision,
                recorded: same,
                old: object_or_empty(id, "customData", Some(stored)),
                new_text: compact_from_jsonb(id, &before)?,
            });
        }
        Ok(pending)
    }
}

/// The saves `edit` makes of one chunk's users (`users`, read and locked, by id), in the
/// order of `ids`; each user found counts into `matched`. A named user must be there; one
/// of a list or search deleted by Logto since the portal read it is simply gone.
fn edit_chunk(
    ids: &[String],
    mut users: HashMap<String, Locked>,
    named: bool,
    edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
    matched: &mut u64,
) -> Result<Vec<Pending>, StoreError> {
    let mut pending = Vec::new();
    for id in ids {
        let Some(user) = users.remove(id) else {
            if named {
                return Err(StoreError::UserNotFound(id.clone()));
            }
            continue;
        };
        *matched += 1;
        if let BatchEdit::Replace(data) = edit(&user.row.record, &walked_text(id, &user.stored))? {
            pending.push(Pending {
                id: id.clone(),
                current: user.row.record.revision,
                recorded: user.recorded,
                old: object_or_empty(id, "customData", Some(user.stored)),
                new_text: data.compact(),
            });
        }
    }
    Ok(pending)
}

/// The users of a batch whose rows another session held, as the error names them: the first
/// three, and how many more (a held id may be one deleted meanwhile: it is not told apart).
fn held_users(held: &[&str]) -> String {
    let shown: Vec<String> = held.iter().take(3).map(|id| crate::inert::line(id).into_owned()).collect();
    match held.len() {
        0..=3 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - 3),
    }
}
