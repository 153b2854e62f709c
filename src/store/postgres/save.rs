//! A customData save (the revision and outside-write checks, the history row of the
//! document it replaces), a user's history and the text of one revision.

use super::journal::Written;
use super::*;
use crate::store::BatchId;

/// A history row `h` kept for the account `u` that is under its id now.
const OF_THIS_ACCOUNT: &str = of_the_account_now!();

impl PostgresStore {
    pub(super) fn save_document(
        &self,
        id: &str,
        data: &CustomData,
        expected: Option<Revision>,
        author: &Author,
    ) -> Result<SaveOutcome, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let new_text = data.compact();
        let seen = self.seen(id);
        let mut client = self.lock();
        // Before the COMMIT, a lost connection means the server rolls the transaction back:
        // the save did not happen, and the error says so.
        let fail = |e: postgres::Error| match self.rolled_back(self.fail(e), "the save did not happen") {
            // Raw: the way out marks the whole line once (bb52 F4's kind).
            StoreError::Busy => StoreError::RowHeld { user: id.to_owned() },
            other => other,
        };
        // Once the user's row is locked, a lock timeout is another session holding one of
        // custodian's own tables (a DBA's `LOCK TABLE`, `CREATE INDEX`, `VACUUM FULL`), not the
        // row: it was said as the user's row held by Logto or a script (bb66 F4).
        let past_the_row = |e: postgres::Error| match fail(e) {
            StoreError::RowHeld { .. } => StoreError::TablesHeld,
            other => other,
        };
        let mut tx = Self::write_transaction(&mut client).map_err(fail)?;
        // The row stays locked until the commit: no other writer can slip in between. The same
        // document is the same jsonb text: jsonb's `=` holds `2` and `2.0` equal, and a save
        // that only wrote a number another way was dropped as "no changes" though jsonb keeps
        // the text as written (bb15 L06). Its text orders keys as jsonb does, so a save that
        // only reorders keys is still no change.
        let row = tx
            .query_opt(
                &format!(
                    "select u.custom_data::text = $3::text::jsonb::text, {UPDATED_MICROS}, \
                     u.custom_data::text from public.users u where u.tenant_id = $1 and u.id = $2 for update"
                ),
                &[&self.tenant, &id, &new_text],
            )
            .map_err(fail)?
            .ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let (same_document, updated_micros): (bool, i64) = (row.get(0), row.get(1));
        // The document this save replaces, as the locked row holds it: its dropped keys are
        // what this save removed, whoever saved before it. In jsonb's key order (jsonb keeps
        // no other), where redb gives the order the document was saved in.
        // Not an object (written with SQL): replaced whole, nothing to name as dropped.
        let replaced = object_or_empty(id, "customData", row.get(2));
        let latest = if self.initialised {
            tx.query_opt(
                &self.sql(concat!(
                    "select h.revision, h.custom_data::text = u.custom_data::text and ",
                    of_the_account_now!(),
                    " from custodian.history h \
                 join public.users u on u.tenant_id = h.tenant_id and u.id = h.user_id \
                 where h.tenant_id = $1 and h.user_id = $2 order by h.revision desc limit 1"
                )),
                &[&self.tenant, &id],
            )
            .map_err(past_the_row)?
            .map(|r| (r.get::<_, i64>(0).max(1) as Revision, r.get::<_, bool>(1)))
        } else {
            None
        };
        let (current, recorded) = match latest {
            None => (1, false),
            Some((revision, true)) => (revision, true),
            Some((revision, false)) => (revision + 1, false),
        };
        if let Some(expected) = expected {
            if expected != current {
                return Err(StoreError::Conflict { user: id.to_owned(), expected, found: current });
            }
            if let Some(seen) = seen
                && seen.revision == expected
                && (seen.updated_micros.is_some_and(|seen| seen != updated_micros)
                    || seen.digest != jsonb_digest(id, row.get(2)))
            {
                return Err(StoreError::ChangedOutside { user: id.to_owned() });
            }
        }
        if same_document {
            return Ok(SaveOutcome::Unchanged { revision: current });
        }
        if !self.initialised {
            return Err(StoreError::NotInitialised { url: self.spec.to_string() });
        }
        self.check_schema_hold(&mut tx, &past_the_row)?;
        if !recorded {
            // The document being replaced was written outside custodian: keep it first.
            self.keep_as_outside_revision(&mut tx, id, current).map_err(past_the_row)?;
        }
        // Logto's `set_updated_at` trigger moves updated_at; custodian does not set it.
        let updated = tx
            .query_opt(
                &format!(
                    "update public.users u set custom_data = $3::text::jsonb \
                     where u.tenant_id = $1 and u.id = $2 and {UPDATED_MICROS} = $4 \
                     returning {UPDATED_MICROS}, u.custom_data::text"
                ),
                &[&self.tenant, &id, &new_text, &updated_micros],
            )
            .map_err(past_the_row)?
            .ok_or_else(|| StoreError::ChangedOutside { user: id.to_owned() })?;
        let new_micros: i64 = updated.get(0);
        // What jsonb stores can be far larger than what was sent: it writes a number such as
        // 1e131000 out digit by digit. Held to the limit as stored, or the revision could not
        // be restored or imported again; returning drops the transaction: nothing written.
        let limit = crate::domain::Limits::default().max_bytes;
        let stored_size = crate::domain::scan::compact_len(updated.get::<_, String>(1).as_bytes());
        if stored_size > limit {
            return Err(StoreError::StoredTooLarge { user: id.to_owned(), size: stored_size, limit });
        }
        let revision = current + 1;
        let inserted = if self.layout >= POSTGRES_SCHEMA_VERSION {
            // The journal's columns, from what jsonb now holds.
            let written = Written::between(id, &replaced, &updated.get::<_, String>(1))?;
            tx.query_one(
                &self.sql("insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at, size, keys%CREATED_COL%) \
                 select u.tenant_id, u.id, $3, clock_timestamp(), $4, u.custom_data, u.updated_at, $5, $6::text::jsonb%U_CREATED% \
                 from public.users u where u.tenant_id = $1 and u.id = $2 returning pg_current_xact_id()::text"),
                &[&self.tenant, &id, &(revision as i64), &author.0, &written.size, &written.keys],
            )
            .map_err(past_the_row)?
        } else {
            // A schema `init` has not upgraded yet: saved as before; the journal works the
            // keys and size out once it can be read.
            tx.query_one(
                &self.sql("insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at%CREATED_COL%) \
                 select u.tenant_id, u.id, $3, clock_timestamp(), $4, u.custom_data, u.updated_at%U_CREATED% \
                 from public.users u where u.tenant_id = $1 and u.id = $2 returning pg_current_xact_id()::text"),
                &[&self.tenant, &id, &(revision as i64), &author.0],
            )
            .map_err(past_the_row)?
        };
        // The COMMIT went out and no answer came back: the server may have committed it or
        // not. Never reported as saved nor as not saved; the caller finds out after
        // reconnecting ([`UserStore::save_landed`]).
        let tx = Self::unless_a_signal_came(tx)?;
        self.commit_write(tx, inserted.get(0)).map_err(|e| match self.fail(e) {
            StoreError::ConnectionLost { server, .. } => {
                StoreError::SaveOutcomeUnknown { server, user: id.to_owned(), revision }
            }
            other => other,
        })?;
        drop(client);
        self.remember(id, revision, new_micros, &updated.get::<_, String>(1));
        Ok(SaveOutcome::Saved {
            revision,
            removed: dropped_keys(&replaced, data.as_object()),
            size: stored_size,
        })
    }

    /// The user's current document as a history row of its own (`outside custodian`, saved
    /// when Logto's `updated_at` says) at `revision`; the caller holds the row locked.
    fn keep_as_outside_revision(
        &self,
        tx: &mut postgres::Transaction<'_>,
        id: &str,
        revision: Revision,
    ) -> Result<u64, postgres::Error> {
        tx.execute(
            &self.sql(&format!(
                "insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at%CREATED_COL%) \
                 select u.tenant_id, u.id, $3, {}, $4, u.custom_data, u.updated_at%U_CREATED% \
                 from public.users u where u.tenant_id = $1 and u.id = $2",
                kept_outside_at("u.updated_at", "u.created_at", "u.tenant_id", "u.id")
            )),
            &[&self.tenant, &id, &(revision as i64), &OUTSIDE],
        )
    }

    /// Keeps a document written outside custodian since its last history row as a revision
    /// of its own, so the revision a script reads next (`history`, `get`) names that document
    /// and another outside write moves it on: a `set --expect-revision` made from that
    /// reading is refused after one. Without it, every outside document since custodian's last
    /// save is the same "one more" revision. Nothing is kept read-only, before `init`, or for
    /// a role not allowed to (the reading goes on without it); a row held past the lock timeout
    /// fails the read ([`StoreError::HeldWhileRead`]).
    pub(super) fn keep_outside_document(&self, id: &str) -> Result<(), StoreError> {
        if self.read_only || !self.initialised {
            return Ok(());
        }
        let mut client = self.lock();
        let latest = self.sql(concat!(
            "select (select h.custom_data::text = u.custom_data::text and ",
            of_the_account_now!(),
            " from custodian.history h \
             where h.tenant_id = u.tenant_id and h.user_id = u.id order by h.revision desc limit 1), \
             (select max(h.revision) from custodian.history h where h.tenant_id = u.tenant_id and h.user_id = u.id) \
             from public.users u where u.tenant_id = $1 and u.id = $2"
        ));
        // Whether nothing of the user is kept yet (said so when the row is held).
        let mut never_kept = false;
        let kept = (|| -> Result<(), postgres::Error> {
            // Nothing to keep, the usual case: answered without the row lock, so a read never
            // waits on a writer holding it (Logto, a batch) nor is refused as busy.
            let unlocked = client.query_opt(&latest, &[&self.tenant, &id])?;
            let Some(unlocked) = unlocked.filter(|row| row.get::<_, Option<bool>>(0) != Some(true)) else {
                return Ok(());
            };
            never_kept = unlocked.get::<_, Option<i64>>(1).is_none();
            let mut tx = Self::write_transaction(&mut client)?;
            // Locked as a save locks it (waiting the session's lock timeout for a writer that
            // holds it), then read in a statement of its own (see `lock_users`).
            tx.execute(
                "select 1 from public.users u where u.tenant_id = $1 and u.id = $2 for update",
                &[&self.tenant, &id],
            )?;
            let found = tx.query_opt(&latest, &[&self.tenant, &id])?;
            let Some(row) = found else { return Ok(()) };
            let (recorded, latest): (Option<bool>, Option<i64>) = (row.get(0), row.get(1));
            if recorded == Some(true) {
                return Ok(());
            }
            // No row yet: the document custodian never saved is revision 1, as a save keeps it.
            let revision = latest.map_or(1, |r| r.max(1) as Revision + 1);
            self.keep_as_outside_revision(&mut tx, id, revision)?;
            tx.commit()
        })();
        drop(client);
        match kept {
            Ok(()) => Ok(()),
            // A role not allowed to, or a server that takes no writes (a hot standby,
            // `default_transaction_read_only`: `get` failed there, bb53 F4): read as
            // `--read-only` reads.
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
                    || e.code() == Some(&postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION) =>
            {
                tracing::info!(user = %id, "cannot keep a document written outside custodian: {e}");
                Ok(())
            }
            // Left unkept, the document would be reported as revision N+1, a number the next
            // document kept takes: a `set --expect-revision N+1` made from this reading then
            // overwrote a later outside write (bb53 F1). No revision is given instead.
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                tracing::info!(user = %id, "a document written outside custodian could not be kept: the row is held");
                Err(StoreError::HeldWhileRead { user: id.to_owned(), never_kept })
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The user's history as this account's: revisions kept under the id before the account
    /// there now was created are another account's (deleted, and the id given again by SQL or
    /// a restore), and are neither listed nor restored as its own (bb66 F1: `restore u8 2` wrote
    /// the first account's document into the second's profile).
    pub(super) fn revisions_of(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        let current = self.one_user(id)?;
        let (current_text, _, _) = self.current_row(id)?;
        let mut out = Vec::new();
        if self.initialised {
            // The batch column comes with layout 3; before it no revision has one.
            let batch = if self.layout >= POSTGRES_SCHEMA_VERSION { "h.batch_id" } else { "null::text" };
            let rows = self
                .lock()
                .query(
                    &self.sql(&format!(
                        "select h.revision, {SAVED_AT_MS}, h.saved_by, h.custom_data::text, {batch} \
                         from custodian.history h join public.users u on u.tenant_id = h.tenant_id and u.id = h.user_id \
                         where h.tenant_id = $1 and h.user_id = $2 and {OF_THIS_ACCOUNT} order by h.revision"
                    )),
                    &[&self.tenant, &id],
                )
                .map_err(|e| self.fail(e))?;
            for row in &rows {
                let revision: i64 = row.get(0);
                let text: String = row.get(3);
                out.push(RevisionInfo {
                    revision: revision.max(1) as Revision,
                    saved_at: row.get(1),
                    saved_by: row.get(2),
                    // Compact, as the limit counts it and a file's history shows it.
                    size: crate::domain::scan::compact_len(text.as_bytes()),
                    current: false,
                    batch: row.get::<_, Option<String>>(4).map(BatchId),
                });
            }
        }
        match out.last_mut() {
            Some(last) if last.revision == current.record.revision => last.current = true,
            _ => out.push(RevisionInfo {
                revision: current.record.revision,
                saved_at: current.record.revised_at,
                saved_by: current.record.revised_by,
                size: crate::domain::scan::compact_len(current_text.as_bytes()),
                current: true,
                batch: None,
            }),
        }
        Ok(out)
    }

    pub(super) fn text_of_revision(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        // As an older outside document that was no object is kept (below), a current one is
        // shown as its text: its history stays readable, and restorable from.
        let (current_text, current_revision, _) = self.current_row(id)?;
        if current_revision == revision {
            return Ok(canonical_from_jsonb(id, &current_text).unwrap_or(current_text));
        }
        if !self.initialised {
            return Err(StoreError::RevisionNotFound { user: id.to_owned(), revision });
        }
        let row = self
            .lock()
            .query_opt(
                &self.sql(&format!(
                    "select h.custom_data::text from custodian.history h \
                     join public.users u on u.tenant_id = h.tenant_id and u.id = h.user_id \
                     where h.tenant_id = $1 and h.user_id = $2 and h.revision = $3 and {OF_THIS_ACCOUNT}"
                )),
                &[&self.tenant, &id, &(revision.min(i64::MAX as u64) as i64)],
            )
            .map_err(|e| self.fail(e))?;
        match row {
            // An outside document that was no object (SQL wrote `null`) is kept as it was:
            // shown in the history as its text, refused by a restore as any non-object is.
            Some(row) => {
                let text: String = row.get(0);
                Ok(canonical_from_jsonb(id, &text).unwrap_or(text))
            }
            None => Err(StoreError::RevisionNotFound { user: id.to_owned(), revision }),
        }
    }
}
