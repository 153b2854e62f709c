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

/// The white space the fold trims that ASCII has, as SQL: `btrim`'s characters.
const ASCII_WHITE_SPACE: &str = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)";

/// Field `field`'s fold in SQL where the value is plain ASCII: there `lower(btrim(…))` is
/// custodian's fold exactly (a phone is not case-folded).
fn ascii_fold(field: usize) -> String {
    let trimmed = format!("btrim({}, {ASCII_WHITE_SPACE})", COLUMNS[field]);
    if field == 2 { trimmed } else { format!("lower({trimmed})") }
}

/// A value outside plain ASCII, whose fold SQL cannot compute (NFKC, full case folding).
const NOT_ASCII: &str = "'[^\\x01-\\x7f]'";

/// The folded values each field's users share, and their ids.
type Shared = BTreeMap<(usize, String), BTreeSet<String>>;

impl PostgresStore {
    /// Three reads: the values that are not plain ASCII, folded here; the folds shared among
    /// plain ASCII values, grouped in memory over an index-only read of each field (1.2 s at a
    /// million users; one grouping that also gathered the ids sorted on disk: 3.9 s); then,
    /// once a field, the ASCII users holding any of those folds.
    pub(super) fn shared_names(&self) -> Result<Vec<NameCollision>, StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| self.fail(e);
        let mut tx = client.transaction().map_err(fail)?;
        // A million names grouped in memory rather than sorted on disk.
        tx.batch_execute("set local work_mem = '64MB'").map_err(fail)?;
        let mut shared = Shared::new();
        // Each field's folded values to read the ASCII holders of: those of the values that
        // are not plain ASCII, then those shared among ASCII ones; read once a field.
        let mut wanted = self.fold_the_unusual(&mut tx, &mut shared)?;
        let arms: Vec<String> = (0..FIELDS.len())
            .map(|field| {
                format!(
                    "select {field}::int2 field, {fold} shared from public.users u \
                     where u.tenant_id = $1 and {fold} is not null and {column} !~ {NOT_ASCII} \
                     group by 2 having count(*) > 1",
                    fold = ascii_fold(field),
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
        for row in groups {
            wanted[row.get::<_, i16>(0) as usize].insert(row.get(1));
        }
        for (field, values) in wanted.into_iter().enumerate() {
            if !values.is_empty() {
                let values: Vec<String> = values.into_iter().collect();
                self.add_holders(&mut tx, field, &values, &mut shared)?;
            }
        }
        Ok(shared
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .take(COLLISIONS_LISTED)
            .map(|((field, value), ids)| (FIELDS[field], value, ids.into_iter().collect()))
            .collect())
    }

    /// The users whose value is not plain ASCII, each under its fold; returns each field's
    /// folds, whose ASCII holders share them too (`ｆｕｌｌ` and `full`).
    fn fold_the_unusual(
        &self,
        tx: &mut postgres::Transaction<'_>,
        shared: &mut Shared,
    ) -> Result<[BTreeSet<String>; 3], StoreError> {
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
        Ok(folds)
    }

    /// The users whose plain ASCII value of `field` folds to one of `values`,
    /// added under it.
    fn add_holders(
        &self,
        tx: &mut postgres::Transaction<'_>,
        field: usize,
        values: &[String],
        shared: &mut Shared,
    ) -> Result<(), StoreError> {
        let rows = tx
            .query(
                &format!(
                    "select {fold}, u.id::text from public.users u \
                     where u.tenant_id = $1 and {fold} = any($2) and {column} !~ {NOT_ASCII}",
                    fold = ascii_fold(field),
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
