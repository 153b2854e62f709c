//! Each tenant's JSON Schema for customData in `custodian.schema_history`: every change a
//! revision, the newest current.

use super::*;

/// The tenant's schema lock (`$1` the tenant): a `schema set` takes it alone, every write of
/// customData held to a schema shares it, so neither lands while the other is under way.
const SCHEMA_LOCK: &str = "hashtextextended('custodian.schema_history:' || $1, 0)";

impl PostgresStore {
    /// In a write of customData held to a schema ([`UserStore::hold_writes_to_schema`]):
    /// shares the schema lock until the commit, then refuses when the schema set now is not
    /// the one held to. The look is a statement of its own, after the lock: in READ COMMITTED
    /// a statement sees what committed before it began, so a `schema set` this write waited
    /// for is seen. Not held, or no custodian schema (none can be set): nothing to do.
    pub(super) fn check_schema_hold(
        &self,
        tx: &mut postgres::Transaction,
        fail: &dyn Fn(postgres::Error) -> StoreError,
    ) -> Result<(), StoreError> {
        let Some(seen) = self.schema_hold.held() else { return Ok(()) };
        if !self.initialised {
            return Ok(());
        }
        tx.execute(&format!("select pg_advisory_xact_lock_shared({SCHEMA_LOCK})"), &[&self.tenant])
            .map_err(fail)?;
        let found = tx
            .query_opt(
                "select s.revision from custodian.schema_history s \
                 where s.tenant_id = $1 and s.schema_text is not null \
                 and s.revision = (select max(l.revision) from custodian.schema_history l where l.tenant_id = $1)",
                &[&self.tenant],
            )
            .map_err(fail)?
            .map(|row| row.get::<_, i64>(0).max(1) as Revision);
        crate::store::schema_hold::SchemaHold::check(seen, found)
    }

    pub(super) fn stored_schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        if !self.has_schema_table()? {
            return Ok(None);
        }
        let row = self
            .lock()
            .query_opt(
                "select s.revision, s.schema_text from custodian.schema_history s \
                 where s.tenant_id = $1 order by s.revision desc limit 1",
                &[&self.tenant],
            )
            .map_err(|e| self.fail(e))?;
        Ok(row.and_then(|row| {
            let revision: i64 = row.get(0);
            let text: Option<String> = row.get(1);
            text.map(|text| StoredSchema { text, revision: revision.max(1) as Revision })
        }))
    }

    pub(super) fn store_schema(
        &self,
        text: Option<&str>,
        author: &Author,
    ) -> Result<(Revision, bool), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        if !self.has_schema_table()? {
            return Err(StoreError::NotInitialised { url: self.spec.to_string() });
        }
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        // A write transaction as a save's: a connection lost with its COMMIT on the way is
        // settled before the reconnect answers anything, so a look after it tells (bb80 F6).
        let mut tx = Self::write_transaction(&mut client).map_err(fail)?;
        // Operators setting the schema at once take turns: each reads the latest revision
        // only once the one before it has committed, so both land, one after the other, as
        // two writers of a redb file do (without the lock the second insert collided on the
        // primary key and failed).
        tx.execute(&format!("select pg_advisory_xact_lock({SCHEMA_LOCK})"), &[&self.tenant]).map_err(fail)?;
        let latest = tx
            .query_opt(
                "select s.revision, s.schema_text from custodian.schema_history s \
                 where s.tenant_id = $1 order by s.revision desc limit 1",
                &[&self.tenant],
            )
            .map_err(fail)?
            .map(|row| (row.get::<_, i64>(0).max(0) as Revision, row.get::<_, Option<String>>(1)));
        let (current, stored) = latest.unwrap_or((0, None));
        if stored.as_deref() == text {
            return Ok((current, false));
        }
        let xid: String = tx
            .query_one(
                "insert into custodian.schema_history (tenant_id, revision, saved_at, saved_by, schema_text) \
                 values ($1, $2, now(), $3, $4) returning pg_current_xact_id()::text",
                &[&self.tenant, &((current + 1) as i64), &author.0, &text],
            )
            .map_err(fail)?
            .get(0);
        let tx = Self::unless_a_signal_came(tx)?;
        self.commit_write(tx, xid).map_err(fail)?;
        Ok((current + 1, true))
    }

    pub(super) fn schema_revisions(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        if !self.has_schema_table()? {
            return Ok(Vec::new());
        }
        let rows = self
            .lock()
            .query(
                "select s.revision, floor(extract(epoch from s.saved_at) * 1000)::int8, s.saved_by, \
                 coalesce(octet_length(s.schema_text), 0)::int8 \
                 from custodian.schema_history s where s.tenant_id = $1 order by s.revision",
                &[&self.tenant],
            )
            .map_err(|e| self.fail(e))?;
        let mut out: Vec<RevisionInfo> = rows
            .iter()
            .map(|row| RevisionInfo {
                revision: row.get::<_, i64>(0).max(0) as Revision,
                saved_at: row.get(1),
                saved_by: row.get(2),
                size: row.get::<_, i64>(3).max(0) as usize,
                current: false,
                batch: None,
            })
            .collect();
        if let Some(last) = out.last_mut() {
            last.current = true;
        }
        Ok(out)
    }

    pub(super) fn schema_text_of(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        if !self.has_schema_table()? {
            return Err(StoreError::SchemaRevisionNotFound(revision));
        }
        let row = self
            .lock()
            .query_opt(
                "select s.schema_text from custodian.schema_history s where s.tenant_id = $1 and s.revision = $2",
                &[&self.tenant, &(revision.min(i64::MAX as u64) as i64)],
            )
            .map_err(|e| self.fail(e))?;
        row.map(|row| row.get::<_, Option<String>>(0)).ok_or(StoreError::SchemaRevisionNotFound(revision))
    }
}
