//! The filter's scan on the exact path (a server-side cursor kept between steps), the
//! search read from one portal, and the hits read whole.

use super::*;

impl PostgresStore {
    /// One scan step from `rows` (see [`filter_rows`]), the hits read whole.
    pub(super) fn scan_step(
        &self,
        filter: &mut Filter,
        rows: &[Row],
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let (hit_ids, scanned, last) = filter_rows(filter, rows, max_hits)?;
        let next = if scanned == batch || hit_ids.len() >= max_hits { last } else { None };
        Ok(ScanStep { hits: self.read_hits(&hit_ids)?, scanned, next })
    }

    /// The hits whole (with their revision facts), read by id and put back in the order
    /// given; a user deleted in between is left out, as redb skips a vanished one.
    pub(super) fn read_hits(&self, hit_ids: &[String]) -> Result<Vec<ListEntry>, StoreError> {
        if hit_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_hits_on(&mut self.lock(), hit_ids)
    }

    /// As [`PostgresStore::read_hits`], on a session the caller holds (inside a scan).
    pub(super) fn read_hits_on(
        &self,
        client: &mut Client,
        hit_ids: &[String],
    ) -> Result<Vec<ListEntry>, StoreError> {
        if hit_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self.select_users("where u.tenant_id = $1 and u.id = any($2)");
        let rows = client.query(&sql, &[&self.tenant, &hit_ids]).map_err(|e| self.fail(e))?;
        let mut found: HashMap<String, UserRow> = rows
            .iter()
            .map(|row| UserRow::read(row, 0).map(|row| (row.record.user.id.clone(), row)))
            .collect::<Result<_, _>>()?;
        Ok(hit_ids.iter().filter_map(|id| found.remove(id)).map(UserRow::entry).collect())
    }

    /// One step of a filter scan on the exact path. The first step sorts the tenant once
    /// into a server-side cursor (as `list --search` reads one portal); a step that asks to
    /// continue exactly where the last one ended fetches its users from that cursor; any
    /// other call ends it. A step that stops at `max_hits` ends it too (the rows fetched past
    /// the last hit were not looked at), as does the end of the tenant, an error or a cancel.
    pub(super) fn exact_scan_step(
        &self,
        filter: &mut Filter,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let mut client = self.session();
        let step = self.continue_or_start_scan(&mut client, filter, query, after, batch, max_hits);
        match &step {
            // Every fetched user was looked at and more may follow: the cursor goes on.
            Ok(ScanStep { next: Some(next), hits, scanned })
                if hits.len() < max_hits && *scanned == batch =>
            {
                let mut open = self.open_scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                *open = Some(OpenScan { query: query.to_owned(), next: next.clone() });
            }
            _ => self.end_scan(&mut client),
        }
        step
    }

    pub(super) fn continue_or_start_scan(
        &self,
        client: &mut Client,
        filter: &mut Filter,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let continues = {
            let open = self.open_scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            matches!((open.as_ref(), after), (Some(open), Some(after)) if open.query == query && open.next == *after)
        };
        if !continues {
            self.end_scan(client);
            let fail = |e: postgres::Error| self.fail(e);
            // The bounds go in as settings of the transaction: a cursor's query takes no
            // bind parameters.
            let (handle, id) = after.map_or(("", ""), key_parts);
            client
                .batch_execute("begin isolation level repeatable read read only; set local work_mem = '64MB'")
                .map_err(fail)?;
            *self.open_scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                Some(OpenScan { query: String::new(), next: ListKey(String::new()) });
            client
                .execute(
                    "select set_config('custodian.scan_tenant', $1, true), \
                     set_config('custodian.scan_handle', $2, true), set_config('custodian.scan_id', $3, true)",
                    &[&self.tenant, &handle, &id],
                )
                .map_err(fail)?;
            let condition = if after.is_some() {
                format!(
                    " and ({ORDER_KEY}) > (current_setting('custodian.scan_handle') collate \"C\", \
                     current_setting('custodian.scan_id') collate \"C\")"
                )
            } else {
                String::new()
            };
            let tenant = "current_setting('custodian.scan_tenant')";
            client
                .batch_execute(&format!(
                    "declare custodian_scan no scroll cursor for \
                     select s.id, x.username, x.primary_email, x.primary_phone, x.name, x.custom_data, s.handle \
                     from (select u.id, u.id collate \"C\" as id_order, {EXACT_HANDLE} collate \"C\" as handle \
                           from public.users u where u.tenant_id = {tenant}{condition} order by 3, 2) s \
                     cross join lateral (select u.username, u.primary_email, u.primary_phone, u.name, \
                           u.custom_data::text as custom_data from public.users u \
                           where u.tenant_id = {tenant} and u.id = s.id) x \
                     order by s.handle, s.id_order"
                ))
                .map_err(fail)?;
        }
        let rows =
            client.query(&format!("fetch {batch} from custodian_scan"), &[]).map_err(|e| self.fail(e))?;
        let (hit_ids, scanned, last) = filter_rows(filter, &rows, max_hits)?;
        let next = if scanned == batch || hit_ids.len() >= max_hits { last } else { None };
        Ok(ScanStep { hits: self.read_hits_on(client, &hit_ids)?, scanned, next })
    }

    /// [`UserStore::search`] on the exact path: the tenant sorted once, on the server, and
    /// read in slices from one portal in one read-only snapshot, so a search to the end
    /// reads every user once (step by step, each step would sort what is left again). The
    /// sort carries only the handle and the id; the rest of each user is read by its key
    /// as the portal goes.
    pub(super) fn search_from_one_portal(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let mut filter = Filter::new(query);
        let (handle, id) = after.map_or(("", ""), key_parts);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant];
        let mut condition = String::new();
        if after.is_some() {
            condition = format!(" and ({ORDER_KEY}) > ($2::text collate \"C\", $3::text collate \"C\")");
            params.push(&handle);
            params.push(&id);
        }
        let sql = format!(
            "select s.id, x.username, x.primary_email, x.primary_phone, x.name, x.custom_data, s.handle \
             from (select u.id, u.id collate \"C\" as id_order, {EXACT_HANDLE} collate \"C\" as handle \
                   from public.users u where u.tenant_id = $1{condition} order by 3, 2) s \
             cross join lateral (select u.username, u.primary_email, u.primary_phone, u.name, \
                   u.custom_data::text as custom_data from public.users u \
                   where u.tenant_id = $1 and u.id = s.id) x \
             order by s.handle, s.id_order"
        );
        let mut hit_ids = Vec::new();
        {
            let mut client = self.lock();
            let fail = |e: postgres::Error| describe(&self.spec, &e);
            let mut tx = read_only_snapshot(&mut client).map_err(fail)?;
            // The sort of (handle, id) pairs in memory: a million of them fit in this.
            tx.batch_execute("set local work_mem = '64MB'").map_err(fail)?;
            let portal = tx.bind(sql.as_str(), &params).map_err(fail)?;
            let slice = SEARCH_STEP.min(i32::MAX as usize);
            while hit_ids.len() < limit {
                let rows = tx.query_portal(&portal, slice as i32).map_err(fail)?;
                let (ids, _, _) = filter_rows(&mut filter, &rows, limit - hit_ids.len())?;
                hit_ids.extend(ids);
                if rows.len() < slice {
                    break;
                }
            }
            tx.commit().map_err(fail)?;
        }
        self.read_hits(&hit_ids)
    }

    /// Whether `custodian.schema_history` is there: a database initialised by an older
    /// custodian has history but not it (running `init` again adds it).
    pub(super) fn has_schema_table(&self) -> Result<bool, StoreError> {
        let row = self
            .lock()
            .query_one("select to_regclass('custodian.schema_history') is not null", &[])
            .map_err(|e| self.fail(e))?;
        Ok(row.get(0))
    }

    pub(super) fn remember(&self, id: &str, revision: Revision, updated_micros: i64, stored_text: &str) {
        let digest = jsonb_digest(id, stored_text);
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.insert(id.to_owned(), Seen { revision, updated_micros: Some(updated_micros), digest });
    }

    /// The next save of `id` is held to `document` (canonical text) and, when it was read
    /// from the user's row, to that row's `updated_at`: a conflict's theirs after a sign-in
    /// holds the same customData as the editor's base, and only the moment tells the
    /// overwrite of theirs from a save over the base. A document not read from the row is held
    /// to what was read of it when that is the same document, else to the document alone.
    pub(super) fn hold_to(&self, id: &str, document: &StoredDocument) {
        let digest = text_digest(&document.text);
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let same = seen.get(id).is_some_and(|s| s.revision == document.revision && s.digest == digest);
        if document.updated_micros.is_some() || !same {
            let held = Seen { revision: document.revision, updated_micros: document.updated_micros, digest };
            seen.insert(id.to_owned(), held);
        }
    }

    pub(super) fn seen(&self, id: &str) -> Option<Seen> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(id).copied()
    }
}
