//! Reads of a file with an older layout seen read-only (every user read, as its indexes
//! follow another rule), and the users an upgrade found sharing a folded name.

use super::*;

impl RedbStore {
    /// [`UserStore::scan_matches`] from the users and their documents, for a file without
    /// the search texts (an older layout opened read-only) or a query holding the separator.
    pub(super) fn scan_by_reading_everyone(
        &self,
        filter: &mut Filter,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let tx = self.read()?;
        let order = tx.open_table(LIST_ORDER)?;
        let users = tx.open_table(USERS)?;
        let custom_data = tx.open_table(CUSTOM_DATA)?;
        let keys = match after {
            Some(ListKey(key)) => order.range::<&str>((Excluded(key.as_str()), Unbounded))?,
            None => order.range::<&str>(..)?,
        };
        let (batch, max_hits) = (batch.max(1), max_hits.max(1));
        let mut step = ScanStep { hits: Vec::new(), scanned: 0, next: None };
        let mut last = None;
        for item in keys.take(batch) {
            if step.hits.len() >= max_hits {
                break;
            }
            let key = item?.0;
            let key = key.value();
            step.scanned += 1;
            last = Some(key.to_owned());
            let id = id_of_list_key(key);
            let Some(json) = users.get(id)? else { continue };
            let json = json.value();
            // Most users are ruled out on their raw JSON, without being parsed; a user found
            // by a profile field is not looked for in customData (each user is a hit once).
            let mut record = None;
            if filter.may_occur_in_json(json) {
                let parsed = StoredUser::read_record(id, json)?;
                if filter.in_user(&parsed.user) {
                    record = Some(parsed);
                }
            }
            let record = match record {
                Some(record) => record,
                None => {
                    if !document_matches(filter, id, &stored_document(&custom_data, id)?)? {
                        continue;
                    }
                    StoredUser::read_record(id, json)?
                }
            };
            step.hits.push(ListEntry {
                key: ListKey(key.to_owned()),
                user: Box::new(record.user),
                revision: record.revision,
            });
        }
        if step.scanned == batch || step.hits.len() >= max_hits {
            step.next = last.map(ListKey);
        }
        Ok(step)
    }

    /// Users whose username, primary email or primary phone is the same as another's under
    /// the fold: possible only in a file upgraded from an older layout, where both were kept.
    /// Each entry: the field, the folded value, the ids.
    pub fn name_collisions(&self) -> Result<Vec<NameCollision>, StoreError> {
        if self.layout < 3 {
            return Ok(Vec::new());
        }
        let tx = self.read()?;
        let mut collisions = Vec::new();
        for (field, table) in
            [("username", USERNAME_KEYS), ("primaryEmail", EMAIL_KEYS), ("primaryPhone", PHONE_KEYS)]
        {
            let table = tx.open_table(table)?;
            let mut group: Option<(String, Vec<String>)> = None;
            for item in table.range::<&str>(..)? {
                let entry = item?.0;
                let (value, id) = entry.value().rsplit_once('\0').unwrap_or((entry.value(), ""));
                match &mut group {
                    Some((current, ids)) if current == value => ids.push(id.to_owned()),
                    _ => {
                        if let Some((value, ids)) = group.take().filter(|(_, ids)| ids.len() > 1) {
                            collisions.push((field, value, ids));
                        }
                        group = Some((value.to_owned(), vec![id.to_owned()]));
                    }
                }
            }
            if let Some((value, ids)) = group.filter(|(_, ids)| ids.len() > 1) {
                collisions.push((field, value, ids));
            }
        }
        Ok(collisions)
    }

    /// A lookup on a file with an older layout, seen read-only: its indexes use another
    /// rule, so every user is read and folded (slow at a million users, and only until the
    /// file is opened once for writing, which upgrades it).
    pub(super) fn lookup_by_reading_everyone(
        &self,
        reference: &UserRef,
    ) -> Result<Vec<UserMatch>, StoreError> {
        let tx = self.read()?;
        let users = tx.open_table(USERS)?;
        let wanted = [
            fold::name_key(&reference.text),
            fold::name_key(&reference.text),
            fold::phone_key(&reference.text),
        ];
        let mut matches = Vec::new();
        for &field in reference.fields() {
            if field == UserField::Id {
                if users.get(reference.text.as_str())?.is_some() {
                    matches.push(UserMatch { id: reference.text.clone(), field });
                }
                continue;
            }
            for item in users.range::<&str>(..)? {
                let (id, json) = item?;
                let record = StoredUser::read_record(id.value(), json.value())?;
                let slot = match field {
                    UserField::Username => 0,
                    UserField::Email => 1,
                    _ => 2,
                };
                if unique_fields(&record.user)[slot].1.as_deref() == Some(wanted[slot].as_str()) {
                    matches.push(UserMatch { id: record.user.id, field });
                }
            }
        }
        Ok(matches)
    }
}
