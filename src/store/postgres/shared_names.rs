//! Users who share a name custodian keeps unique ([`UserStore::name_collisions`]): Logto's
//! unique indexes compare usernames, emails and phones as written, so `Quentin` and
//! `quentin`, `Straße` and `strasse`, `ｆｕｌｌ` and `full` are two users there and one name to
//! custodian's import, which refuses the second. The names are compared by custodian's own
//! fold ([`crate::domain::fold`]), as the import compares them.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::fold::{name_key, phone_key};
use crate::store::{COLLISIONS_LISTED, NameCollision};

/// The fields, as `field` numbers them in the SQL below.
const FIELDS: [&str; 3] = ["username", "primaryEmail", "primaryPhone"];

/// Each field's column on `users` as `u`.
const COLUMNS: [&str; 3] = ["u.username", "u.primary_email", "u.primary_phone"];

/// Each field's fold in SQL where the value is plain ASCII: there `lower(btrim(…))` is
/// custodian's fold exactly (a phone is not case-folded; the fold trims every white space,
/// of which ASCII has these six).
const ASCII_FOLD: [&str; 3] = [
    "lower(btrim(u.username, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)))",
    "lower(btrim(u.primary_email, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)))",
    "btrim(u.primary_phone, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))",
];

/// A value outside plain ASCII, whose fold SQL cannot compute (NFKC, full case folding).
const NOT_ASCII: &str = "'[^\\x01-\\x7f]'";

/// The folded values each field's users share, and their ids.
type Shared = BTreeMap<(usize, String), BTreeSet<String>>;

impl PostgresStore {
    /// Three reads: the shared values among plain ASCII ones, grouped in memory over an
    /// index-only read of each field (1.2 s at a million users; one grouping that also
    /// gathered the ids sorted on disk: 3.9 s); the values that are not plain ASCII, folded
    /// here; and the users whose ASCII value folds as one of those. Only then are the ids of
    /// the ASCII groups read.
    pub(super) fn shared_names(&self) -> Result<Vec<NameCollision>, StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = client.transaction().map_err(fail)?;
        // A million names grouped in memory rather than sorted on disk.
        tx.batch_execute("set local work_mem = '64MB'").map_err(fail)?;
        let mut shared = Shared::new();
        self.fold_the_unusual(&mut tx, &mut shared)?;
        let arms: Vec<String> = ASCII_FOLD
            .iter()
            .enumerate()
            .map(|(field, fold)| {
                format!(
                    "select {field}::int2 field, {fold} shared from public.users u \
                     where u.tenant_id = $1 and {fold} is not null and {column} !~ {NOT_ASCII} \
                     group by 2 having count(*) > 1",
                    column = COLUMNS[field]
                )
            })
            .collect();
        let groups = tx
            .query(
                &format!(
                    "select field, shared from ({}) g order by field, shared collate \"C\" limit $2",
                    arms.join(" union all ")
                ),
                &[&self.tenant, &(COLLISIONS_LISTED as i64)],
            )
            .map_err(fail)?;
        for (field, fold) in ASCII_FOLD.iter().enumerate() {
            let values: Vec<String> = groups
                .iter()
                .filter(|row| row.get::<_, i16>(0) == field as i16)
                .map(|row| row.get(1))
                .collect();
            if !values.is_empty() {
                self.add_holders(&mut tx, field, fold, &values, &mut shared)?;
            }
        }
        Ok(shared
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .take(COLLISIONS_LISTED)
            .map(|((field, value), ids)| (FIELDS[field], value, ids.into_iter().collect()))
            .collect())
    }

    /// The users whose value is not plain ASCII, each under its fold, and the users whose
    /// ASCII value folds the same (`ｆｕｌｌ` and `full`).
    fn fold_the_unusual(
        &self,
        tx: &mut postgres::Transaction<'_>,
        shared: &mut Shared,
    ) -> Result<(), StoreError> {
        let fail = |e: postgres::Error| self.fail(e);
        let unusual =
            COLUMNS.iter().map(|column| format!("{column} ~ {NOT_ASCII}")).collect::<Vec<_>>().join(" or ");
        let rows = tx
            .query(
                &format!(
                    "select u.id::text, u.username::text, u.primary_email::text, u.primary_phone::text \
                     from public.users u where u.tenant_id = $1 and ({unusual})"
                ),
                &[&self.tenant],
            )
            .map_err(fail)?;
        let mut folds: [BTreeSet<String>; 3] = Default::default();
        for row in &rows {
            let id: String = row.get(0);
            for (field, folded) in folds.iter_mut().enumerate() {
                let Some(value) = row.get::<_, Option<String>>(field + 1).filter(|v| !v.is_ascii()) else {
                    continue;
                };
                let key = if field == 2 { phone_key(&value) } else { name_key(&value) };
                folded.insert(key.clone());
                shared.entry((field, key)).or_default().insert(id.clone());
            }
        }
        for (field, folded) in folds.into_iter().enumerate() {
            let folded: Vec<String> = folded.into_iter().collect();
            if !folded.is_empty() {
                self.add_holders(tx, field, ASCII_FOLD[field], &folded, shared)?;
            }
        }
        Ok(())
    }

    /// The users whose plain ASCII value of `field` folds (`fold`, in SQL) to one of `values`,
    /// added under it.
    fn add_holders(
        &self,
        tx: &mut postgres::Transaction<'_>,
        field: usize,
        fold: &str,
        values: &[String],
        shared: &mut Shared,
    ) -> Result<(), StoreError> {
        let rows = tx
            .query(
                &format!(
                    "select {fold}, u.id::text from public.users u \
                     where u.tenant_id = $1 and {fold} = any($2) and {column} !~ {NOT_ASCII}",
                    column = COLUMNS[field]
                ),
                &[&self.tenant, &values],
            )
            .map_err(|e| self.fail(e))?;
        for row in rows {
            shared.entry((field, row.get(0))).or_default().insert(row.get(1));
        }
        Ok(())
    }
}
