//! The deployment's JSON Schema, every revision of it kept in [`SCHEMAS`].

use super::*;
use crate::store::schema_hold::SchemaHold;

impl RedbStore {
    /// [`UserStore::schema`].
    pub(super) fn latest_schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        let tx = self.read()?;
        let Some(table) = open_schemas(&tx)? else { return Ok(None) };
        let last = table.last()?;
        Ok(last.and_then(|(revision, value)| {
            let text = value.value().2;
            (!text.is_empty()).then(|| StoredSchema { text: text.to_owned(), revision: revision.value() })
        }))
    }

    /// [`UserStore::set_schema`].
    pub(super) fn save_schema(
        &self,
        text: Option<&str>,
        author: &Author,
    ) -> Result<(Revision, bool), StoreError> {
        let text = text.unwrap_or("");
        let tx = self.write()?;
        let revision = {
            let mut table = tx.open_table(SCHEMAS)?;
            let (current, same) = match table.last()? {
                Some((revision, value)) => (revision.value(), value.value().2 == text),
                None => (0, text.is_empty()),
            };
            if same {
                None
            } else {
                table.insert(current + 1, (now_ms(), author.0.as_str(), text))?;
                Some(current + 1)
            }
            .ok_or(current)
        };
        match revision {
            Ok(revision) => {
                self.commit(tx)?;
                Ok((revision, true))
            }
            Err(current) => {
                tx.abort()?;
                Ok((current, false))
            }
        }
    }

    /// A write of customData: [`Self::write`], refused when the writes are held to a schema
    /// ([`UserStore::hold_writes_to_schema`]) that is no longer the current one. redb has one
    /// writer at a time, so no schema change lands between this look and the commit.
    pub(super) fn write_documents(&self) -> Result<WriteTransaction, StoreError> {
        let tx = self.write()?;
        if let Some(seen) = self.schema_hold.held() {
            // Looked at without making the table: a file no schema was ever set in has none.
            let exists = tx
                .list_tables()?
                .any(|table| redb::TableHandle::name(&table) == redb::TableHandle::name(&SCHEMAS));
            let found = if exists {
                let table = tx.open_table(SCHEMAS)?;
                let last = table.last()?;
                last.and_then(|(revision, value)| (!value.value().2.is_empty()).then(|| revision.value()))
            } else {
                None
            };
            if let Err(changed) = SchemaHold::check(seen, found) {
                tx.abort()?;
                return Err(changed);
            }
        }
        Ok(tx)
    }

    /// [`UserStore::schema_history`].
    pub(super) fn schema_revisions(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        let tx = self.read()?;
        let Some(table) = open_schemas(&tx)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for item in table.range::<u64>(..)? {
            let (revision, value) = item?;
            let (saved_at, saved_by, text) = value.value();
            out.push(RevisionInfo {
                revision: revision.value(),
                saved_at,
                saved_by: saved_by.to_owned(),
                size: text.len(),
                current: false,
                batch: None,
            });
        }
        if let Some(last) = out.last_mut() {
            last.current = true;
        }
        Ok(out)
    }

    /// [`UserStore::schema_revision_text`].
    pub(super) fn schema_text_at(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        let tx = self.read()?;
        let found = match open_schemas(&tx)? {
            Some(table) => table.get(revision)?.map(|g| g.value().2.to_owned()),
            None => None,
        };
        let text = found.ok_or(StoreError::SchemaRevisionNotFound(revision))?;
        Ok((!text.is_empty()).then_some(text))
    }
}
