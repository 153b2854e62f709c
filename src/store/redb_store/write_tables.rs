//! The tables of one write transaction, and the rules that keep them consistent: unique
//! names, indexes, history, journal and batch tags written together.

use super::name_claims::NameClaims;
use super::*;

/// What an upsert of one record did.
pub(super) enum Upserted {
    Unchanged,
    /// `unchecked`: the record replaced customData and gave no `updatedAt`, so a save made
    /// after the record was written could not be told from it (and was replaced).
    Updated {
        removed: Vec<String>,
        unchecked: bool,
    },
}

/// The tables of one write transaction, and the rules that keep them consistent.
pub(super) struct WriteTables<'tx> {
    pub(super) users: Table<'tx, &'static str, &'static str>,
    pub(super) custom_data: Table<'tx, &'static str, &'static str>,
    pub(super) history: Table<'tx, (&'static str, u64), (i64, &'static str, &'static str)>,
    pub(super) order: Table<'tx, &'static str, ()>,
    pub(super) username_keys: Table<'tx, &'static str, ()>,
    pub(super) email_keys: Table<'tx, &'static str, ()>,
    pub(super) phone_keys: Table<'tx, &'static str, ()>,
    pub(super) by_name: Table<'tx, &'static str, ()>,
    pub(super) search_text: SearchTexts<'tx>,
    journal: JournalWriter<'tx>,
    /// The batch tables, opened (so made, in a file without them) by the first batch write
    /// only: an ordinary save leaves a file without batches as it was.
    batches: Option<BatchTables<'tx>>,
    /// In an upsert: the names given while another stored user held them.
    pub(super) name_claims: Option<NameClaims>,
    tx: &'tx WriteTransaction,
}

/// [`BATCH_USERS`] and [`REVISION_BATCHES`] in a write transaction.
pub(super) struct BatchTables<'tx> {
    pub(super) users: Table<'tx, (&'static str, &'static str), u64>,
    pub(super) revisions: Table<'tx, (&'static str, u64), &'static str>,
}

impl<'tx> WriteTables<'tx> {
    pub(super) fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            users: tx.open_table(USERS)?,
            custom_data: tx.open_table(CUSTOM_DATA)?,
            history: tx.open_table(HISTORY)?,
            order: tx.open_table(LIST_ORDER)?,
            username_keys: tx.open_table(USERNAME_KEYS)?,
            email_keys: tx.open_table(EMAIL_KEYS)?,
            phone_keys: tx.open_table(PHONE_KEYS)?,
            by_name: tx.open_table(BY_NAME)?,
            search_text: SearchTexts::open(tx)?,
            journal: JournalWriter::open(tx)?,
            batches: None,
            name_claims: None,
            tx,
        })
    }

    /// The batch tables, opened on first use.
    pub(super) fn batches(&mut self) -> Result<&mut BatchTables<'tx>, StoreError> {
        let tables = match self.batches.take() {
            Some(tables) => tables,
            None => BatchTables {
                users: self.tx.open_table(BATCH_USERS)?,
                revisions: self.tx.open_table(REVISION_BATCHES)?,
            },
        };
        Ok(self.batches.insert(tables))
    }

    /// The next step of a whole-database batch, after the id `after` (moved on to the
    /// step's last id): the ids of up to [`BATCH_STEP`] users in id order, only those the
    /// filter matches when there is one, by the rule of [`UserStore::scan_matches`]. `None`
    /// after the last user. In id order, not list order: every table a batch writes but the
    /// search blocks (which defer their changes) is keyed by id, so each page of them is
    /// then read and copied once, where list order touches a random page of each per user
    /// (100k users: 20 s against 14 s). The range is closed again before the caller writes.
    pub(super) fn selected_step(
        &self,
        filter: Option<&mut Filter>,
        after: &mut Option<String>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = match after.as_deref() {
            Some(id) => (Excluded(id), Unbounded),
            None => (Unbounded, Unbounded),
        };
        let mut ids = Vec::new();
        let mut last = None;
        // Read through the users themselves: the search texts are packed in blocks that a
        // write in the same transaction rewrites, so a batch does not walk them.
        let mut filter = filter;
        for item in self.users.range::<&str>(from)?.take(BATCH_STEP) {
            let (id, json) = item?;
            let id = id.value();
            last = Some(id.to_owned());
            if let Some(filter) = filter.as_deref_mut() {
                let json = json.value();
                let by_profile = filter.may_occur_in_json(json)
                    && filter.in_user(&StoredUser::read_record(id, json)?.user);
                if !by_profile && !document_matches(filter, id, &stored_document(&self.custom_data, id)?)? {
                    continue;
                }
            }
            ids.push(id.to_owned());
        }
        let Some(last) = last else { return Ok(None) };
        *after = Some(last);
        Ok(Some(ids))
    }

    pub(super) fn stored(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        match self.users.get(id)? {
            Some(json) => Ok(Some(StoredUser::parse(id, json.value())?)),
            None => Ok(None),
        }
    }

    /// Refuses a username, email or phone that another user already has (by the fold).
    /// With `old` (the user as stored), a field whose key does not change is not checked: a
    /// collision an upgrade kept is not this write's doing, and must not block every edit of
    /// those users. In an upsert the clash is kept as a claim instead, checked once every
    /// record is in ([`NameClaims`]): the holder's record may come later and free the name.
    pub(super) fn check_unique(&mut self, user: &User, old: Option<&User>) -> Result<(), StoreError> {
        let old_keys = old.map(unique_fields);
        for (slot, (field, key)) in unique_fields(user).into_iter().enumerate() {
            let Some(key) = key else { continue };
            if old_keys.as_ref().is_some_and(|old| old[slot].1.as_deref() == Some(key.as_str())) {
                continue;
            }
            let index = [&self.username_keys, &self.email_keys, &self.phone_keys][slot];
            let Some(existing) = ids_with_key(index, &key)?.into_iter().find(|id| *id != user.id) else {
                continue;
            };
            let value = typed_value(user, field);
            if !self.claim_held_name(field, &key, &value, &user.id)? {
                return Err(StoreError::Duplicate { field, value, existing });
            }
        }
        Ok(())
    }

    /// Indexes `user`, whose customData this transaction has already written: `written`, when
    /// given, is what was (its compact text is the stored one), so its parsed tree makes the
    /// search text instead of a second parse of the stored text (two trees of a 1 MiB document
    /// of 524,284 zeros took an insert to 127 MB: bb24 L02).
    pub(super) fn index(&mut self, user: &User, written: Option<&CustomData>) -> Result<(), StoreError> {
        self.order.insert(list_key(user).as_str(), ())?;
        let (key, text) = match written {
            Some(data) => search_entry_of_data(user, data)?,
            None => search_entry(user, &stored_document(&self.custom_data, &user.id)?)?,
        };
        self.search_text.insert(key.as_str(), text.as_str())?;
        let indexes = [&mut self.username_keys, &mut self.email_keys, &mut self.phone_keys];
        for ((_, key), index) in unique_fields(user).into_iter().zip(indexes) {
            if let Some(key) = key {
                index.insert(index_key(&key, &user.id).as_str(), ())?;
            }
        }
        if let Some(key) = name_key(user) {
            self.by_name.insert(key.as_str(), ())?;
        }
        Ok(())
    }

    fn unindex(&mut self, user: &User) -> Result<(), StoreError> {
        self.order.remove(list_key(user).as_str())?;
        self.search_text.remove(list_key(user).as_str())?;
        let indexes = [&mut self.username_keys, &mut self.email_keys, &mut self.phone_keys];
        for ((_, key), index) in unique_fields(user).into_iter().zip(indexes) {
            if let Some(key) = key {
                index.remove(index_key(&key, &user.id).as_str())?;
            }
        }
        if let Some(key) = name_key(user) {
            self.by_name.remove(key.as_str())?;
        }
        Ok(())
    }

    pub(super) fn insert_new(&mut self, new: &NewUser, author: &Author, now: i64) -> Result<(), StoreError> {
        if self.users.get(new.user.id.as_str())?.is_some() {
            return Err(StoreError::IdExists(new.user.id.clone()));
        }
        self.check_unique(&new.user, None)?;
        let now = self.journal.time_of_save(now)?;
        let stored = crate::store::error::held_to_the_user_limit(
            &new.user.id,
            StoredUser::new(&new.user, 1, now, &author.0).to_json(),
        )?;
        self.users.insert(new.user.id.as_str(), stored.as_str())?;
        let document =
            new.custom_data.as_ref().map_or_else(|| EMPTY_DOCUMENT.to_owned(), CustomData::compact);
        self.custom_data.insert(new.user.id.as_str(), document.as_str())?;
        self.journal_first_revision(new, &document, author, now)?;
        self.index(&new.user, new.custom_data.as_ref())
    }

    /// Journals a new user's revision 1 (`document`: its stored, compact customData).
    pub(super) fn journal_first_revision(
        &mut self,
        new: &NewUser,
        document: &str,
        author: &Author,
        now: i64,
    ) -> Result<(), StoreError> {
        let keys =
            new.custom_data.as_ref().map(|data| KeyChanges::first(data.as_object())).unwrap_or_default();
        let id = new.user.id.as_str();
        let save = Save { at: now, by: &author.0, id, revision: 1, size: document.len(), keys, batch: None };
        self.journal.record(&save)
    }

    /// Journals a bulk load of `users` new users as one entry (see [`JournalWriter::record_load`]).
    pub(super) fn journal_load(
        &mut self,
        now: i64,
        author: &Author,
        users: u64,
        size: u64,
        load: &BatchId,
    ) -> Result<(), StoreError> {
        self.journal.record_load(now, &author.0, users, size, load)
    }

    /// Upserts a record over an existing user: the fields it gives replace the stored ones,
    /// the others stay (see [`NewUser::profile_over`]). Writes nothing when that leaves the
    /// user as stored. A record that gives an `updatedAt` before the stored one and would
    /// change the user is refused, unless `over_newer` (see [`ImportMode::Upsert`]).
    pub(super) fn replace_existing(
        &mut self,
        old: StoredUser,
        new: &NewUser,
        author: &Author,
        now: i64,
        over_newer: bool,
    ) -> Result<Upserted, StoreError> {
        let old_record = old.record()?;
        let id = new.user.id.as_str();
        let gives_updated_at =
            new.fields.as_ref().is_none_or(|fields| fields.iter().any(|f| f == "updatedAt"));
        let older = gives_updated_at && new.user.updated_at < old_record.user.updated_at;
        // At the last time custodian keeps, a save leaves updatedAt as it was ([`advanced`]):
        // a record of that time may be older than the user.
        let at_the_last_time = gives_updated_at
            && new.user.updated_at == old_record.user.updated_at
            && old_record.user.updated_at >= crate::domain::user::LATEST_MILLIS;
        let refuse_if_changing = match (older, at_the_last_time) {
            _ if over_newer => None,
            (true, _) => Some(StoreError::ChangedSinceRecord {
                user: id.to_owned(),
                given: new.user.updated_at,
                stored: old_record.user.updated_at,
            }),
            (false, true) => Some(StoreError::AtTheLastTime { user: id.to_owned() }),
            (false, false) => None,
        };
        let mut merged = new
            .profile_over(&old_record.user)
            .map_err(|e| StoreError::Database(format!("user {id}: damaged record: {e}")))?;
        // A field besides updatedAt changed: moved past the stored updatedAt as a save moves it,
        // so an export taken before this upsert reads as stale (bb32 V08: a second operator's
        // import of the same export took the first one's profile change back without a word).
        // Compared at the stored time: `profile_over` never takes an earlier one.
        let given_at = std::mem::replace(&mut merged.updated_at, old_record.user.updated_at);
        let fields_changed = merged != old_record.user;
        merged.updated_at = given_at;
        let profile_changed = fields_changed || given_at != old_record.user.updated_at;
        // Read only for a record older than the user (the upsert's common case never is).
        let document_changed = || {
            new.custom_data.as_ref().is_some_and(|data| {
                stored_document(&self.custom_data, id).ok().as_deref() != Some(data.compact_text())
            })
        };
        if let Some(refusal) = refuse_if_changing
            && (profile_changed || document_changed())
        {
            return Err(refusal);
        }
        if profile_changed {
            self.check_unique(&merged, Some(&old_record.user))?;
        }
        let removed = match &new.custom_data {
            Some(data) => self.replace_document(id, &old, data, author, now, None)?,
            None => None,
        };
        if removed.is_some() || fields_changed {
            // As a save does: past the stored one, so it never goes backwards.
            merged.updated_at = merged.updated_at.max(advanced(old_record.user.updated_at, now));
        }
        if removed.is_none() && !profile_changed {
            return Ok(Upserted::Unchanged);
        }
        self.unindex(&old_record.user)?;
        self.index(&merged, None)?;
        let mut stored = self.stored(id)?.unwrap_or(old);
        stored.user = merged.to_logto_sparse();
        // An upsert adds fields to what is stored: the sum is held to the limit too.
        let stored = crate::store::error::held_to_the_user_limit(id, stored.to_json())?;
        self.users.insert(id, stored.as_str())?;
        // Only a replaced document counts: a profile-only record leaves a later save of
        // customData as it is (review57).
        let unchecked = removed.is_some() && !gives_updated_at && !over_newer;
        Ok(Upserted::Updated { removed: removed.unwrap_or_default(), unchecked })
    }

    /// Moves the current document into the history and stores `data` as the next revision.
    /// Returns the top-level keys the replaced document had and `data` has not, read inside
    /// this transaction (so they are the keys this save removed, whoever saved before it), or
    /// `None` (and writes nothing) when `data` is the current document. Every save is
    /// journaled here; a save made by a batch is tagged with it (in the journal,
    /// [`BATCH_USERS`] and [`REVISION_BATCHES`]).
    pub(super) fn replace_document(
        &mut self,
        id: &str,
        current: &StoredUser,
        data: &CustomData,
        author: &Author,
        now: i64,
        batch: Option<&BatchId>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let text = data.compact_text();
        let old_text = stored_document(&self.custom_data, id)?;
        if old_text == text {
            return Ok(None);
        }
        let now = self.journal.time_of_save(now)?;
        // A stored document that is not an object (never written by custodian) has no keys.
        let old = crate::domain::custom_data::parse_object(&old_text).unwrap_or_default();
        let keys = KeyChanges::between(&old, data.as_object());
        let removed = keys.removed.clone();
        self.history
            .insert((id, current.rev), (current.rev_at, current.rev_by.as_str(), old_text.as_str()))?;
        self.custom_data.insert(id, text)?;
        let user = current.record()?.user;
        let (key, search) = search_entry_of_data(&user, data)?;
        self.search_text.insert(key.as_str(), search.as_str())?;
        let mut next = StoredUser {
            rev: current.rev + 1,
            rev_at: now,
            rev_by: author.0.clone(),
            user: current.user.clone(),
        };
        next.user.insert("updatedAt".to_owned(), Value::from(advanced(user.updated_at, now)));
        self.users.insert(id, next.to_json().as_str())?;
        let revision = next.rev;
        self.journal.record(&Save { at: now, by: &author.0, id, revision, size: text.len(), keys, batch })?;
        if let Some(batch) = batch {
            let tables = self.batches()?;
            tables.users.insert((batch.0.as_str(), id), next.rev)?;
            tables.revisions.insert((id, next.rev), batch.0.as_str())?;
        }
        Ok(Some(removed))
    }
}

/// A saved document's `updatedAt`: now, or just past the stored one when that is not before
/// now (a clock ahead elsewhere, two saves in one millisecond). Never backwards, and always
/// past what an export taken before the save holds: an upsert of that export is then told
/// stale ([`StoreError::ChangedSinceRecord`]); it took a colleague's save back when the stored
/// one was in the future and a save left it as it was (bb32 V01). Never past the last time
/// an import takes ([`crate::domain::user::LATEST_MILLIS`]): a save over a user at it made every later export a
/// file import refused whole (bb42 F7); there it stays, the one case a save cannot move it.
fn advanced(stored: i64, now: i64) -> i64 {
    now.max(stored.saturating_add(1)).min(crate::domain::user::LATEST_MILLIS).max(stored)
}
