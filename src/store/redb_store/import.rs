//! Bringing users in: `seed`'s appending bulk insert and `import` (a sorted bulk load into
//! an empty file, record by record otherwise).

use super::name_claims::NameClaims;
use super::*;
use crate::domain::synthetic::MadeUser;
use crate::sorted_runs::{Runs, Spill};

impl RedbStore {
    /// Inserts new users in one transaction of their own. For `seed`, where the users come
    /// with rising ids: they are appended as they come, and the index entries, collected
    /// meanwhile, are written sorted at the end — a bulk load that never revisits a page.
    pub fn bulk_insert(
        &self,
        users: &mut (dyn Iterator<Item = NewUser> + Send),
        author: &Author,
    ) -> Result<u64, StoreError> {
        self.insert_new(users, author)
    }

    /// [`RedbStore::bulk_insert`] of users `seed` made, their documents and search texts
    /// already written.
    pub fn insert_made(
        &self,
        users: &mut (dyn Iterator<Item = MadeUser> + Send),
        author: &Author,
    ) -> Result<u64, StoreError> {
        self.insert_new(users, author)
    }

    fn insert_new<U: bulk::Preparable + Into<NewUser>>(
        &self,
        users: &mut (dyn Iterator<Item = U> + Send),
        author: &Author,
    ) -> Result<u64, StoreError> {
        let tx = self.write()?;
        let now = now_ms();
        let mut count = 0;
        {
            let mut tables = WriteTables::open(&tx)?;
            // Into an empty database (the usual seed): the import's sorted bulk load, in
            // bounded memory (the key lists and maps below held ~1 GB at 1M users).
            if tables.users.is_empty()? {
                let dir = self.dir();
                let count = bulk::load_made_into_empty(&mut tables, users, author, now, &dir)?;
                drop(tables);
                self.commit(tx)?;
                return Ok(count);
            }
            let into_empty = false;
            let mut unique: [HashMap<String, String>; 3] = Default::default();
            let (mut order, mut names, mut texts) = (Vec::new(), Vec::new(), Vec::new());
            for new in users.map(Into::<NewUser>::into) {
                crate::interrupt::check()?;
                let conflict = |e| StoreError::of_record(new.origin.clone(), e);
                let id = new.user.id.as_str();
                if !into_empty {
                    tables.check_unique(&new.user, None).map_err(conflict)?;
                }
                for ((field, value), seen) in unique_fields(&new.user).into_iter().zip(unique.iter_mut()) {
                    let Some(value) = value else { continue };
                    if let Some(existing) = seen.get(&value) {
                        let existing = existing.clone();
                        let value = typed_value(&new.user, field);
                        return Err(conflict(StoreError::Duplicate { field, value, existing }));
                    }
                    seen.insert(value, id.to_owned());
                }
                let stored = StoredUser::new(&new.user, 1, now, &author.0);
                // The table sees this transaction's own inserts: a repeated id is caught too
                // (and the error drops the whole transaction).
                if tables.users.insert(id, stored.to_json().as_str())?.is_some() {
                    return Err(conflict(StoreError::IdExists(id.to_owned())));
                }
                let document =
                    new.custom_data.as_ref().map_or_else(|| EMPTY_DOCUMENT.to_owned(), CustomData::compact);
                tables.custom_data.insert(id, document.as_str())?;
                tables.journal_first_revision(&new, &document, author, now)?;
                texts.push(search_entry(&new.user, &document)?);
                order.push(list_key(&new.user));
                names.extend(name_key(&new.user));
                count += 1;
            }
            for keys in [&mut order, &mut names] {
                keys.sort_unstable();
            }
            for key in &order {
                tables.order.insert(key.as_str(), ())?;
            }
            for key in &names {
                tables.by_name.insert(key.as_str(), ())?;
            }
            texts.sort_unstable();
            tables.search_text.insert_sorted(texts)?;
            let [usernames, emails, phones] = unique;
            for (index, entries) in [
                (&mut tables.username_keys, usernames),
                (&mut tables.email_keys, emails),
                (&mut tables.phone_keys, phones),
            ] {
                let mut entries: Vec<_> = entries.into_iter().collect();
                entries.sort_unstable();
                for (value, id) in entries {
                    index.insert(index_key(&value, &id).as_str(), ())?;
                }
            }
        }
        self.commit(tx)?;
        Ok(count)
    }

    /// [`RedbStore::bulk_insert`] of a slice.
    pub fn insert_batch(&self, users: &[NewUser], author: &Author) -> Result<u64, StoreError> {
        self.bulk_insert(&mut users.iter().cloned(), author)
    }

    /// [`UserStore::import`], from any source of users (see [`ImportSource`]).
    pub fn import_from(
        &self,
        users: &mut dyn ImportSource,
        mode: ImportMode,
        author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.write_documents()?;
        let now = now_ms();
        let mut summary = ImportSummary::default();
        {
            let mut tables = WriteTables::open(&tx)?;
            // Into an empty database nobody can collide with a stored user: a sorted bulk
            // load (an upsert there is an insert too, unless the input repeats an id, which
            // only the path below turns into an update).
            if mode == ImportMode::InsertOnly && tables.users.is_empty()? {
                let dir = self.dir();
                summary.inserted = bulk::load_into_empty(&mut tables, users, author, now, &dir)?;
                drop(tables);
                self.commit(tx)?;
                return Ok(summary);
            }
            let dir = self.dir();
            tables.search_text.defer(&dir);
            // Only an upsert can leave a repeat unseen record by record: an insert's second
            // record of an id always meets the user the first one wrote.
            let mut given = mode.is_upsert().then(|| GivenIds::new(&dir)).transpose()?;
            if mode.is_upsert() {
                tables.name_claims = Some(NameClaims::default());
            }
            while let Some(item) = users.next_user() {
                // Returning early drops the transaction uncommitted: nothing is written.
                crate::interrupt::check()?;
                let new = item.map_err(StoreError::InvalidRecord)?;
                if let Some(claims) = &mut tables.name_claims {
                    claims.origin.clone_from(&new.origin);
                }
                if let Some(given) = &mut given {
                    given.note(&new.user.id, &new.origin)?;
                }
                let existing = tables.stored(&new.user.id)?;
                let result = match (existing, mode) {
                    (None, _) => tables.insert_new(&new, author, now).map(|()| summary.inserted += 1),
                    // Two records of one user are refused, not merged last-wins: the counts
                    // are of users, and which record the operator meant is theirs to say.
                    (Some(old), _) if written_by_this_import(&old, now, author) => {
                        Err(StoreError::IdRepeatedInImport(new.user.id.clone()))
                    }
                    (Some(_), ImportMode::InsertOnly) => Err(StoreError::IdExists(new.user.id.clone())),
                    (Some(old), ImportMode::Upsert | ImportMode::UpsertOverNewer) => {
                        let over_newer = mode == ImportMode::UpsertOverNewer;
                        tables.replace_existing(old, &new, author, now, over_newer).map(|upserted| {
                            match upserted {
                                Upserted::Unchanged => summary.unchanged += 1,
                                Upserted::Updated { removed, unchecked } => {
                                    summary.updated += 1;
                                    summary.unchecked += u64::from(unchecked);
                                    summary.note_removed_keys(&new.user.id, removed);
                                }
                            }
                        })
                    }
                };
                result.map_err(|e| match e {
                    // The name's owner got it from this import (a user it made, or one it
                    // updated who did not have it: neither exists so once the import is
                    // refused): said as a repeat within the file. A stored user who had the name
                    // before "already belongs" to it, updated or not (bb11).
                    StoreError::Duplicate { field, value, existing }
                        if self.given_by_this_import(&tables, &existing, field, &new.user, now, author) =>
                    {
                        StoreError::RecordConflict {
                            origin: new.origin.clone(),
                            reason: Box::new(StoreError::RepeatedInImport { field, value, other: existing }),
                        }
                    }
                    // The disk, not this record, is said without its line.
                    e => StoreError::of_record(new.origin.clone(), e),
                })?;
                users.written(new);
            }
            if let Some((id, origin)) = given.map(GivenIds::first_repeat).transpose()?.flatten() {
                let reason = Box::new(StoreError::IdRepeatedInImport(id));
                return Err(StoreError::RecordConflict { origin, reason });
            }
            // A name given while another user held it, who still does now that every record
            // is in: refused at the line that gave it; as a user's who had it before this
            // import, else as a repeat within the file.
            if let Some(clash) = tables.settle_name_claims()? {
                let had_it = |holder: &String| {
                    self.user(holder).is_ok_and(|before| {
                        unique_fields(&before.user).into_iter().any(|(field, key)| {
                            field == clash.field && key.as_deref() == Some(clash.key.as_str())
                        })
                    })
                };
                let field = clash.field;
                // A user who had it before keeps it: the first record to take it is refused.
                // Else the file gave it twice: the later record is, as without a hand-over.
                let (origin, reason) = match clash.holders.iter().find(|holder| had_it(holder)) {
                    Some(existing) => (
                        clash.first.origin,
                        StoreError::Duplicate { field, value: clash.first.value, existing: existing.clone() },
                    ),
                    None => {
                        let other = clash.holders.iter().find(|holder| **holder != clash.last.id);
                        let other = other.cloned().unwrap_or(clash.first.id);
                        (
                            clash.last.origin,
                            StoreError::RepeatedInImport { field, value: clash.last.value, other },
                        )
                    }
                };
                return Err(StoreError::RecordConflict { origin, reason: Box::new(reason) });
            }
            tables.search_text.flush_deferred()?;
        }
        self.commit(tx)?;
        Ok(summary)
    }

    /// Whether the unique `field` that `new` gives, which the user `owner` has in this import's
    /// transaction, came to them from this import: a user it made, or one it updated whose
    /// last committed record (a read beside the transaction) held another value.
    fn given_by_this_import(
        &self,
        tables: &WriteTables,
        owner: &str,
        field: &str,
        new: &crate::domain::User,
        now: i64,
        author: &Author,
    ) -> bool {
        let Some(stored) = tables.stored(owner).ok().flatten() else { return false };
        if !written_by_this_import(&stored, now, author) {
            return false;
        }
        if stored.rev == 1 {
            return true;
        }
        let key = |user: &crate::domain::User| {
            unique_fields(user).into_iter().find(|(name, _)| *name == field).and_then(|(_, key)| key)
        };
        self.user(owner).is_ok_and(|before| key(&before.user) != key(new))
    }
}

/// Whether a stored user is one this import wrote (its revision is the import's: the same
/// moment and author; the import holds the writer, so no one else wrote at that moment).
fn written_by_this_import(stored: &StoredUser, now: i64, author: &Author) -> bool {
    stored.rev_at == now && stored.rev_by == author.0
}

/// The ids an import has given, in sorted runs: a repeat that the record-by-record look
/// cannot see (an upsert that left a user as stored, or changed only its profile) is found
/// in one merge at the end. A set of a million ids in memory would pass the import's 64 MiB.
struct GivenIds {
    runs: Runs,
    spill: Spill,
}

/// What the ids' runs hold in memory before one is spilled.
const GIVEN_IDS_BUDGET: usize = 2 * 1024 * 1024;

impl GivenIds {
    fn new(dir: &Path) -> Result<Self, StoreError> {
        let spill = Spill::beside_or_in_tmpdir(dir).map_err(|e| Self::failed(dir, e))?;
        Ok(Self { runs: Runs::new(GIVEN_IDS_BUDGET), spill })
    }

    fn failed(dir: &Path, error: std::io::Error) -> StoreError {
        StoreError::Io { context: format!("{}: cannot keep the import's ids", dir.display()), error }
    }

    fn note(&mut self, id: &str, origin: &str) -> Result<(), StoreError> {
        let dir = self.spill.dir().to_owned();
        self.runs
            .defer(&mut self.spill, id.as_bytes(), b"", origin.as_bytes())
            .map_err(|e| Self::failed(&dir, e))
    }

    /// The first id given twice, in id order, with the origin of its later record.
    fn first_repeat(self) -> Result<Option<(String, String)>, StoreError> {
        let Self { runs, mut spill } = self;
        let dir = spill.dir().to_owned();
        let failed = |e| Self::failed(&dir, e);
        let mut merged = runs.into_merged(&mut spill).map_err(failed)?;
        let mut previous: Option<Vec<u8>> = None;
        while let Some(entry) = merged.next_entry().map_err(failed)? {
            // Equal keys come in arrival order: this entry is the later record.
            if previous.as_deref() == Some(entry.key.as_slice()) {
                let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
                return Ok(Some((text(entry.key), text(entry.note))));
            }
            previous = Some(entry.key);
        }
        Ok(None)
    }
}
