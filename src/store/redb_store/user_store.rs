//! [`UserStore`] for [`RedbStore`]: the reads and the save here, the larger writes in the
//! files beside this one (import, batches, the JSON Schema).

use super::*;

impl UserStore for RedbStore {
    fn name_collisions(&self) -> Result<Vec<NameCollision>, StoreError> {
        RedbStore::name_collisions(self)
    }
    fn is_read_only(&self) -> bool {
        matches!(*self.handle(), Handle::ReadOnly(_))
    }

    fn still_at_its_path(&self) -> Result<(), StoreError> {
        self.not_replaced()
    }

    fn pin_reads(&self) -> Result<(), StoreError> {
        let snapshot = std::sync::Arc::new(self.read_now()?);
        *self.pinned.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
        Ok(())
    }

    fn unpin_reads(&self) {
        *self.pinned.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn count(&self) -> Result<u64, StoreError> {
        let tx = self.read()?;
        Ok(tx.open_table(USERS)?.len()?)
    }

    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let (range, backwards) = match seek {
            Seek::First => (order.range::<&str>(..)?, false),
            Seek::Last => (order.range::<&str>(..)?, true),
            Seek::From(ListKey(key)) => (order.range::<&str>(key.as_str()..)?, false),
            Seek::After(ListKey(key)) => (order.range::<&str>((Excluded(key.as_str()), Unbounded))?, false),
            Seek::Before(ListKey(key)) => (order.range::<&str>(..key.as_str())?, true),
        };
        let keys: Box<dyn Iterator<Item = _>> =
            if backwards { Box::new(range.rev()) } else { Box::new(range) };
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in keys {
            if out.len() >= limit {
                break;
            }
            let key = item?.0.value().to_owned();
            let id = id_of_list_key(&key);
            let Some(json) = users.get(id)? else { continue };
            let record = StoredUser::read_record(id, json.value())?;
            out.push(ListEntry { key: ListKey(key), user: Box::new(record.user), revision: record.revision });
        }
        if backwards {
            out.reverse();
        }
        Ok(out)
    }

    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let folded = fold::fold(query);
        let folded = folded.as_ref();
        if folded.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let mut ids = HashSet::new();
        // An older layout seen read-only has indexes of another rule: the scan finds those.
        let indexes: &[_] =
            if self.layout < 3 { &[] } else { &[USERNAME_KEYS, EMAIL_KEYS, PHONE_KEYS, BY_NAME] };
        for &table in indexes {
            let table = tx.open_table(table)?;
            for item in table.range::<&str>(folded..)?.take(limit) {
                let key = item?.0;
                if !key.value().starts_with(folded) {
                    break;
                }
                ids.insert(id_of_list_key(key.value()).to_owned());
            }
        }
        let users = tx.open_table(USERS)?;
        for item in users.range::<&str>(query..)?.take(limit) {
            let (key, _) = item?;
            if !key.value().starts_with(query) {
                break;
            }
            ids.insert(key.value().to_owned());
        }
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(json) = users.get(id.as_str())? else { continue };
            let record = StoredUser::read_record(&id, json.value())?;
            entries.push(ListEntry {
                key: ListKey(list_key(&record.user)),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries.truncate(limit);
        Ok(entries)
    }

    /// The scan in steps of [`REDB_SEARCH_STEP`] users: over the blocks a step of that size
    /// is searched on two threads (the TUI's steps stay small, for its progress and cancel).
    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        super::super::search_by_steps(self, query, after, limit, REDB_SEARCH_STEP)
    }

    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let mut filter = Filter::new(query);
        if self.layout < SEARCH_BLOCKS_SINCE || !filter.fits_search_text() {
            return self.scan_by_reading_everyone(&mut filter, after, batch, max_hits);
        }
        let tx = self.read()?;
        let blocks = tx.open_table(SEARCH_BLOCKS)?;
        let (batch, max_hits) = (batch.max(1), max_hits.max(1));
        let found = scan_blocks(&blocks, &filter, after.map(|ListKey(key)| key.as_str()), batch, max_hits)?;
        let users = tx.open_table(USERS)?;
        let hit_count = found.hits.len();
        let mut step = ScanStep { hits: Vec::with_capacity(hit_count), scanned: found.scanned, next: None };
        for key in found.hits {
            let id = id_of_list_key(&key);
            let Some(json) = users.get(id)? else { continue };
            let record = StoredUser::read_record(id, json.value())?;
            step.hits.push(ListEntry {
                key: ListKey(key),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        if step.scanned == batch || hit_count >= max_hits {
            step.next = found.last.map(ListKey);
        }
        Ok(step)
    }

    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        if self.layout < 3 {
            return self.lookup_by_reading_everyone(reference);
        }
        let tx = self.read()?;
        let text = reference.text.as_str();
        let mut matches = Vec::new();
        for &field in reference.fields() {
            let ids = match field {
                UserField::Id => {
                    tx.open_table(USERS)?.get(text)?.map(|_| text.to_owned()).into_iter().collect()
                }
                UserField::Username => ids_with_key(&tx.open_table(USERNAME_KEYS)?, &fold::name_key(text))?,
                UserField::Email => ids_with_key(&tx.open_table(EMAIL_KEYS)?, &fold::name_key(text))?,
                UserField::Phone => ids_with_key(&tx.open_table(PHONE_KEYS)?, &fold::phone_key(text))?,
            };
            matches.extend(ids.into_iter().map(|id| UserMatch { id, field }));
        }
        Ok(matches)
    }

    fn user(&self, id: &str) -> Result<UserRecord, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        StoredUser::read_record(id, json.value())
    }

    fn for_each_selected(
        &self,
        selection: &Selection,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Selection::Ids(ids) = selection else {
            return crate::store::visit_selected_one_by_one(self, selection, visit);
        };
        // One snapshot for them all: a read transaction per user took 50-80 s for a million
        // (`list --json`, a dry run over a long `--users` file).
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        ids.for_each(crate::store::user_ids::ids_unread, &mut |id| {
            let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
            let record = StoredUser::read_record(id, json.value())?;
            visit(&record, &stored_document(&custom_data, id)?)
        })
    }

    fn entry(&self, id: &str) -> Result<ListEntry, StoreError> {
        let record = self.user(id)?;
        Ok(ListEntry {
            key: ListKey(list_key(&record.user)),
            user: Box::new(record.user),
            revision: record.revision,
        })
    }

    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let revision = StoredUser::parse(id, json.value())?.rev;
        let text = canonical_from_compact(&stored_document(&tx.open_table(CUSTOM_DATA)?, id)?);
        Ok(StoredDocument { text, revision, updated_micros: None })
    }

    fn replace_custom_data(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        let tx = self.write_documents()?;
        let outcome = {
            let mut tables = WriteTables::open(&tx)?;
            let current = tables.stored(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
            if let Some(expected) = expected
                && expected != current.rev
            {
                return Err(StoreError::Conflict { user: id.to_owned(), expected, found: current.rev });
            }
            match tables.replace_document(id, &current, data, author, now_ms(), None)? {
                Some(removed) => {
                    SaveOutcome::Saved { revision: current.rev + 1, removed, size: data.compact().len() }
                }
                None => SaveOutcome::Unchanged { revision: current.rev },
            }
        };
        match outcome {
            SaveOutcome::Saved { .. } => self.commit(tx)?,
            SaveOutcome::Unchanged { .. } => tx.abort()?,
        }
        Ok(outcome)
    }

    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let json = users.get(id)?.ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let current = StoredUser::parse(id, json.value())?;
        let history = tx.open_table(HISTORY)?;
        let tags = open_revision_batches(&tx)?;
        let tag = |revision: Revision| -> Result<Option<BatchId>, StoreError> {
            Ok(match &tags {
                Some(tags) => tags.get((id, revision))?.map(|b| BatchId(b.value().to_owned())),
                None => None,
            })
        };
        let mut out = Vec::new();
        for item in history.range((id, 0)..(id, u64::MAX))? {
            let (key, value) = item?;
            let (saved_at, saved_by, text) = value.value();
            let revision = key.value().1;
            out.push(RevisionInfo {
                revision,
                saved_at,
                saved_by: saved_by.to_owned(),
                // The compact size, as the limit counts it (what is stored and sent).
                size: text.len(),
                current: false,
                batch: tag(revision)?,
            });
        }
        // The compact size: the one the limit is on.
        let size = stored_document(&tx.open_table(CUSTOM_DATA)?, id)?.len();
        out.push(RevisionInfo {
            revision: current.rev,
            saved_at: current.rev_at,
            saved_by: current.rev_by,
            size,
            current: true,
            batch: tag(current.rev)?,
        });
        Ok(out)
    }

    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        let current = self.custom_data(id)?;
        if current.revision == revision {
            return Ok(current.text);
        }
        let tx = self.read()?;
        let history = tx.open_table(HISTORY)?;
        let found = history.get((id, revision))?.map(|g| canonical_from_compact(g.value().2));
        found.ok_or_else(|| StoreError::RevisionNotFound { user: id.to_owned(), revision })
    }

    fn import(
        &self,
        users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        self.import_from(&mut { users }, mode, author)
    }

    fn journal(
        &self,
        query: &JournalQuery,
        visit: &mut dyn FnMut(&JournalEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.read()?;
        journal::read(&tx, query, visit)
    }

    fn schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        self.latest_schema()
    }

    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<(Revision, bool), StoreError> {
        self.save_schema(text, author)
    }

    fn hold_writes_to_schema(&self, seen: Option<Revision>) {
        self.schema_hold.hold(seen)
    }

    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        self.schema_revisions()
    }

    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        self.schema_text_at(revision)
    }

    fn edit_batch_held(
        &self,
        batch: &BatchId,
        selection: &Selection,
        edit: &mut dyn FnMut(&UserRecord, &str) -> Result<BatchEdit, StoreError>,
        walked: &mut dyn FnMut() -> Result<(), StoreError>,
        author: &Author,
    ) -> Result<BatchSummary, StoreError> {
        self.edit_users_in_batch(batch, selection, edit, walked, author)
    }

    fn undo_batch(
        &self,
        batch: &BatchId,
        undo: &BatchId,
        author: &Author,
    ) -> Result<UndoSummary, StoreError> {
        self.undo_saves_of_batch(batch, undo, author)
    }

    fn batch_undone_by(&self, undo: &BatchId) -> Result<Option<BatchId>, StoreError> {
        self.undone_by(undo)
    }

    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        for item in order.range::<&str>(..)? {
            let (key, ()) = (item?.0, ());
            let id = id_of_list_key(key.value()).to_owned();
            let Some(json) = users.get(id.as_str())? else { continue };
            let record = StoredUser::read_record(&id, json.value())?;
            let text = stored_document(&custom_data, &id)?;
            visit(&record, &text)?;
        }
        Ok(())
    }

    /// Yes: in list order each user is two lookups by id, a random page each (1M users: ~8 s
    /// of the export's 13 s went to redb's page reads); in id order both tables are read
    /// front to back together, a page once (0.7 s).
    fn any_order_sort_room(&self) -> Option<SortRoom> {
        let dir = self.dir();
        // A file whose size cannot be read is not sorted beside: no room is known.
        let bytes = fs::metadata(&self.path).map_or(u64::MAX, |meta| meta.len());
        Some(SortRoom { dir, bytes })
    }

    /// `users` and `custom_data` read together in id order (both are keyed by id): a merge
    /// join, on a thread of its own that also decodes the users it has time for (half of an
    /// export's work: 1M users in 5–6 s instead of 13 s); `visit` is called on this one, which
    /// decodes the rest. The key is the user's list key, as [`LIST_ORDER`] has it.
    fn for_each_user_in_any_order(&self, visit: &mut KeyedVisit<'_>) -> Result<(), StoreError> {
        let (full, filled) = mpsc::sync_channel::<Vec<Handed>>(4);
        let (spent, to_free) = mpsc::channel::<Vec<Handed>>();
        let queued = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let queued = &queued;
            let reader =
                scope.spawn(move || crash::catch(move || self.decode_in_id_order(&full, &to_free, queued)));
            let mut visited = Ok(());
            'batches: for batch in &filled {
                queued.fetch_sub(1, Ordering::Relaxed);
                for (user, text) in &batch {
                    let decoded;
                    let record = match user {
                        HandedUser::Decoded(record) => record,
                        HandedUser::Stored { id, json } => match StoredUser::read_record(id, json) {
                            Ok(record) => {
                                decoded = record;
                                &decoded
                            }
                            Err(e) => {
                                visited = Err(e);
                                break 'batches;
                            }
                        },
                    };
                    // Made here: the reading thread is the busier one.
                    visited = visit(list_key(&record.user).as_bytes(), record, text);
                    if visited.is_err() {
                        break 'batches;
                    }
                }
                // Freed where it was allocated: glibc's free of another thread's block takes
                // that thread's arena lock, and the two threads then wait on each other
                // (a sixth of a 1M export went to that lock).
                let _ = spent.send(batch);
            }
            // A visitor that stopped hangs up here first, so the reader stops at its next batch.
            drop(filled);
            let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let read = read.unwrap_or_else(|panicked| crash::resume(panicked));
            visited?;
            read
        })
    }
}

/// A user as [`RedbStore::decode_in_id_order`] hands it over, with their customData.
type Handed = (HandedUser, String);

/// Decoded by the reading thread, or its stored record left for the visiting thread.
// Unboxed: a batch's vector is reused, so a record inline costs no allocation per user.
#[allow(clippy::large_enum_variant)]
enum HandedUser {
    Decoded(UserRecord),
    Stored { id: String, json: String },
}

impl RedbStore {
    /// Every user in id order, in batches to `batches`; stops early, without an error, when
    /// the receiver hangs up. A batch begun while none waits for the visitor (it is idle) is
    /// handed over undecoded, for the visitor to decode: the two threads share the decoding
    /// by how busy each is. Batches the visitor is done with come back on `to_free`, to be
    /// freed (and reused) here.
    fn decode_in_id_order(
        &self,
        batches: &mpsc::SyncSender<Vec<Handed>>,
        to_free: &mpsc::Receiver<Vec<Handed>>,
        queued: &AtomicUsize,
    ) -> Result<(), StoreError> {
        const BATCH: usize = 512;
        const BATCH_BYTES: usize = 1024 * 1024;
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        let mut documents = custom_data.range::<&str>(..)?;
        let mut document = documents.next().transpose()?;
        let (mut batch, mut batch_bytes) = (Vec::with_capacity(BATCH), 0);
        let mut undecoded = true;
        for item in users.range::<&str>(..)? {
            let (id, json) = item?;
            let id = id.value();
            // Documents without a user are passed over; a user without one has the empty
            // document (as `stored_document` reads it).
            while document.as_ref().is_some_and(|(key, _)| key.value() < id) {
                document = documents.next().transpose()?;
            }
            let text = match &document {
                Some((key, text)) if key.value() == id => text.value(),
                _ => EMPTY_DOCUMENT,
            };
            let user = if undecoded {
                HandedUser::Stored { id: id.to_owned(), json: json.value().to_owned() }
            } else {
                HandedUser::Decoded(StoredUser::read_record(id, json.value())?)
            };
            batch_bytes += json.value().len() + text.len();
            batch.push((user, text.to_owned()));
            // Closed by bytes too: 1 MiB documents would make 512 of them half a gigabyte.
            if batch.len() == BATCH || batch_bytes >= BATCH_BYTES {
                let mut next = None;
                for mut done in to_free.try_iter() {
                    done.clear();
                    next = Some(done);
                }
                let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
                queued.fetch_add(1, Ordering::Relaxed);
                if batches.send(std::mem::replace(&mut batch, next)).is_err() {
                    return Ok(());
                }
                batch_bytes = 0;
                undecoded = queued.load(Ordering::Relaxed) <= 1;
            }
        }
        if !batch.is_empty() {
            queued.fetch_add(1, Ordering::Relaxed);
            let _ = batches.send(batch);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "user_store_tests.rs"]
mod tests;
