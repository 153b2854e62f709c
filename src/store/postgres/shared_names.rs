//! Users who share a name custodian keeps unique ([`UserStore::name_collisions`]): Logto's
//! unique indexes compare usernames, emails and phones as written, so `Quentin` and
//! `quentin` are two users there and one name to custodian's import, which refuses the
//! second. custodian's fold (NFKC, full case folding) is approximated by `lower(btrim(…))`.

use super::*;
use crate::store::{COLLISIONS_LISTED, NameCollision};

/// The fields, as `field` numbers them in the SQL below.
const FIELDS: [&str; 3] = ["username", "primaryEmail", "primaryPhone"];

/// Each field's shared form in SQL, on `users` as `u`.
const SHARED_FORM: [&str; 3] =
    ["lower(btrim(u.username))", "lower(btrim(u.primary_email))", "btrim(u.primary_phone)"];

impl PostgresStore {
    /// Two reads: the shared values, grouped in memory over an index-only read of each
    /// field (1.2 s at a million users; one grouping that also gathered the ids sorted them
    /// on disk: 3.9 s), then, only when there are some, the ids that hold them.
    pub(super) fn shared_names(&self) -> Result<Vec<NameCollision>, StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = client.transaction().map_err(fail)?;
        // A million names grouped in memory rather than sorted on disk.
        tx.batch_execute("set local work_mem = '64MB'").map_err(fail)?;
        let arms: Vec<String> = SHARED_FORM
            .iter()
            .enumerate()
            .map(|(field, form)| {
                format!(
                    "select {field}::int2 field, {form} shared from public.users u \
                     where u.tenant_id = $1 and {form} is not null group by 2 having count(*) > 1"
                )
            })
            .collect();
        let shared = tx
            .query(
                &format!(
                    "select field, shared from ({}) g order by field, shared collate \"C\" limit $2",
                    arms.join(" union all ")
                ),
                &[&self.tenant, &(COLLISIONS_LISTED as i64)],
            )
            .map_err(fail)?;
        let mut found = Vec::with_capacity(shared.len());
        for (field, form) in SHARED_FORM.iter().enumerate() {
            let values: Vec<String> = shared
                .iter()
                .filter(|row| row.get::<_, i16>(0) == field as i16)
                .map(|row| row.get(1))
                .collect();
            if values.is_empty() {
                continue;
            }
            let rows = tx
                .query(
                    &format!(
                        "select {form}, array_agg(u.id::text order by u.id) from public.users u \
                         where u.tenant_id = $1 and {form} = any($2) group by 1 order by {form} collate \"C\""
                    ),
                    &[&self.tenant, &values],
                )
                .map_err(fail)?;
            found.extend(rows.into_iter().map(|row| (FIELDS[field], row.get(0), row.get(1))));
        }
        Ok(found)
    }
}
