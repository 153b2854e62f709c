//! Batches: one edit applied to many users in one transaction (`patch --yes`), and its undo.

use super::*;

impl RedbStore {
    /// [`UserStore::edit_batch`].
    pub(super) fn edit_users_in_batch(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        walked: &mut dyn FnMut() -> Result<(), StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        let tx = self.write_documents()?;
        let now = now_ms();
        let mut summary = BatchSummary { batch: batch.clone(), matched: 0, saved: 0 };
        {
            let mut tables = WriteTables::open(&tx)?;
            tables.search_text.defer(&self.dir());
            let mut edit_one = |tables: &mut WriteTables, id: &str| -> Result<(), StoreError> {
                crate::interrupt::check()?;
                let current = tables.stored(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
                let record = current.record()?;
                let text = stored_document(&tables.custom_data, id)?;
                summary.matched += 1;
                if let BatchEdit::Replace(data) = edit(&record, &text)?
                    && tables.replace_document(id, &current, &data, author, now, Some(batch))?.is_some()
                {
                    summary.saved += 1;
                }
                Ok(())
            };
            match selection {
                // In id order, each once (see `selected_step` for why id order). Returning early
                // drops the transaction uncommitted: nothing is written.
                Selection::Ids(ids) => {
                    ids.for_each(crate::store::user_ids::ids_unread, &mut |id| edit_one(&mut tables, id))?
                }
                Selection::All | Selection::Search(_) => {
                    let mut filter = match selection {
                        Selection::Search(query) => Some(Filter::new(query)),
                        _ => None,
                    };
                    let mut after: Option<String> = None;
                    while let Some(ids) = tables.selected_step(filter.as_mut(), &mut after)? {
                        for id in &ids {
                            edit_one(&mut tables, id)?;
                        }
                    }
                }
            }
            walked()?;
            tables.search_text.flush_deferred()?;
        }
        // A batch that changed nobody leaves no trace (and so cannot be undone: there is nothing to undo).
        if summary.saved > 0 {
            self.commit(tx)?
        } else {
            tx.abort()?
        }
        Ok(summary)
    }

    /// [`UserStore::undo_batch`].
    /// Whether user `id`'s stored document is the one revision `revision` holds.
    fn still_as_written(
        &self,
        tables: &WriteTables<'_>,
        id: &str,
        revision: Revision,
    ) -> Result<bool, StoreError> {
        let Some(written) = tables.history.get((id, revision))? else { return Ok(false) };
        Ok(stored_document(&tables.custom_data, id)? == written.value().2)
    }

    pub(super) fn undo_saves_of_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let tx = self.write()?;
        let now = now_ms();
        let mut summary = UndoSummary {
            undo: BatchSummary { batch: undo.clone(), matched: 0, saved: 0 },
            changed_since: Default::default(),
        };
        {
            let undoes = tx.open_table(UNDOES)?;
            let mut tables = WriteTables::open(&tx)?;
            tables.search_text.defer(&self.dir());
            let name = batch.0.as_str();
            let mut after: Option<String> = None;
            loop {
                // A step of the batch's users; the range is dropped before this transaction
                // writes (the undo's own entries go into the same table).
                let mut step: Vec<(String, Revision)> = Vec::new();
                {
                    let from = match &after {
                        Some(id) => Excluded((name, id.as_str())),
                        None => Included((name, "")),
                    };
                    for item in tables.batches()?.users.range::<(&str, &str)>((from, Unbounded))? {
                        let (key, revision) = item?;
                        let (of, id) = key.value();
                        if of != name || step.len() >= BATCH_STEP {
                            break;
                        }
                        step.push((id.to_owned(), revision.value()));
                    }
                }
                let Some((last, _)) = step.last() else { break };
                after = Some(last.clone());
                for (id, revision) in step {
                    crate::interrupt::check()?;
                    summary.undo.matched += 1;
                    let Some(current) = tables.stored(&id)? else {
                        // No store deletes users today; one gone is left alone all the same.
                        summary.changed_since.push(&id, 0, None);
                        continue;
                    };
                    // The batch that saved the revision the user is at now, read once: what the
                    // rules below ask, and what a user left alone is listed with.
                    let batch_now = match current.rev != revision {
                        true => batch_of_revision(&mut tables, &id, current.rev)?,
                        false => None,
                    };
                    // Saved since with the very document the batch wrote by the undo of a later
                    // batch (bb20 L03) is as the batch left it; by anything else (a later patch
                    // writing that document again: bb82 F2) it is a change.
                    if current.rev != revision
                        && !(self.still_as_written(&tables, &id, revision)?
                            && undone_by_batch(&undoes, batch_now.as_deref())?
                                .is_some_and(|undone| undone != batch.0))
                    {
                        summary.changed_since.push(&id, current.rev, batch_now.as_deref());
                        continue;
                    }
                    let before = tables
                        .history
                        .get((id.as_str(), revision - 1))?
                        .map(|g| g.value().2.to_owned())
                        .ok_or_else(|| StoreError::RevisionNotFound {
                            user: id.clone(),
                            revision: revision - 1,
                        })?;
                    // Unless the batch was taken back since (an earlier undo of it) and a later
                    // save wrote its document again: undone again, that later save would go
                    // back under this batch's name (bb81 F2).
                    if current.rev != revision
                        && taken_back_since(&undoes, &mut tables, &id, revision, current.rev, batch)?
                    {
                        summary.changed_since.push(&id, current.rev, batch_now.as_deref());
                        continue;
                    }
                    let object = crate::domain::custom_data::parse_object(&before).map_err(|e| {
                        StoreError::Database(format!("user {id}: damaged revision {}: {e}", revision - 1))
                    })?;
                    let data = CustomData::from_object(object);
                    if tables.replace_document(&id, &current, &data, author, now, Some(undo))?.is_some() {
                        summary.undo.saved += 1;
                    }
                }
            }
            tables.search_text.flush_deferred()?;
        }
        if summary.undo.matched == 0 {
            tx.abort()?;
            // `changes` shows a bulk load's id where a batch's goes: say what it is.
            if let Some(users) = journal::load_users(&*self.read()?, batch)? {
                return Err(StoreError::LoadNotUndoable { load: batch.0.clone(), users });
            }
            return Err(StoreError::BatchNotFound(batch.0.clone()));
        }
        if summary.undo.saved > 0 {
            tx.open_table(UNDOES)?.insert(undo.0.as_str(), batch.0.as_str())?;
            self.commit(tx)?
        } else {
            tx.abort()?
        }
        Ok(summary)
    }
}

impl RedbStore {
    /// [`UserStore::batch_undone_by`]: from the `undoes` table (none in a file older than it).
    pub(super) fn undone_by(&self, undo: &BatchId) -> Result<Option<BatchId>, StoreError> {
        let tx = self.read()?;
        let undoes = match tx.open_table(UNDOES) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(undoes.get(undo.0.as_str())?.map(|undone| BatchId(undone.value().to_owned())))
    }
}

/// The batch the undo that saved user `id`'s revision `revision` took back; `None` when no
/// undo saved it (a plain batch, a save, or an undo made before [`UNDOES`]).
fn undone_by_revision(
    undoes: &redb::Table<'_, &str, &str>,
    tables: &mut WriteTables<'_>,
    id: &str,
    revision: Revision,
) -> Result<Option<String>, StoreError> {
    undone_by_batch(undoes, batch_of_revision(tables, id, revision)?.as_deref())
}

/// The batch `batch` took back when it is an undo (`None` for no batch, or one that edited).
fn undone_by_batch(
    undoes: &redb::Table<'_, &str, &str>,
    batch: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let Some(batch) = batch else { return Ok(None) };
    Ok(undoes.get(batch)?.map(|undone| undone.value().to_owned()))
}

/// The batch that saved revision `revision` of user `id`, when one did.
fn batch_of_revision(
    tables: &mut WriteTables<'_>,
    id: &str,
    revision: Revision,
) -> Result<Option<String>, StoreError> {
    Ok(tables.batches()?.revisions.get((id, revision))?.map(|b| b.value().to_owned()))
}

/// Whether a revision of user `id` after `revision` (a batch's) and before `now` was saved by
/// an undo of `batch`: the batch was taken back since. (Told by the documents, a later patch
/// writing the document from before the batch read as its undo: bb82 F2.)
fn taken_back_since(
    undoes: &redb::Table<'_, &str, &str>,
    tables: &mut WriteTables<'_>,
    id: &str,
    revision: Revision,
    now: Revision,
    batch: &BatchId,
) -> Result<bool, StoreError> {
    for between in revision + 1..now {
        if undone_by_revision(undoes, tables, id, between)?.is_some_and(|undone| undone == batch.0) {
            return Ok(true);
        }
    }
    Ok(false)
}
