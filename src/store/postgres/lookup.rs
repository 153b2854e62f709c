//! Finding the users references name ([`UserStore::lookup_many`]): one read of the tenant
//! for any number of references (a `--users` file of 5,000 names read the tenant 5,000
//! times), confirmed in Rust by the same fold redb's indexes use.

use super::*;
use crate::domain::user_ref::UserField;

/// A stored value of one of these fields, when it is not plain ASCII without surrounding
/// white space: only then can its fold differ from PostgreSQL's lower() (see below).
const UNUSUAL: &str = "'(^[[:space:]]|[[:space:]]$|[^\\x01-\\x7f])'";

impl PostgresStore {
    /// Candidates from SQL, confirmed by the fold in Rust so both backends agree. An id is
    /// read by Logto's primary key alone. PostgreSQL's lower() is not the fold: it leaves
    /// `ß`, the final sigma and surrounding spaces alone and does not map full-width letters
    /// or the Kelvin sign (NFKC), so besides `lower(column)` among the folds wanted, every
    /// user whose stored value is not plain ASCII without surrounding white space is a
    /// candidate too. That makes a username, email or phone lookup one sequential read of
    /// the tenant's users (Logto has no index on the fold): the price of seeing every user a
    /// reference names, since Logto's unique constraints are on the raw text and an
    /// ambiguity must be refused, not settled by chance.
    pub(super) fn look_up_references(
        &self,
        references: &[UserRef],
    ) -> Result<Vec<Vec<UserMatch>>, StoreError> {
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = |field: UserField| references.iter().filter(move |r| r.fields().contains(&field));
        let ids: Vec<&str> = wanted(UserField::Id).map(|r| r.text.as_str()).collect();
        let mut names: Vec<String> = references
            .iter()
            .filter(|r| r.fields().iter().any(|f| matches!(f, UserField::Username | UserField::Email)))
            .map(|r| name_key(&r.text))
            .collect();
        let phones: Vec<String> = wanted(UserField::Phone).map(|r| phone_key(&r.text)).collect();
        names.sort_unstable();
        names.dedup();
        // Only the parameters the arms use: the server refuses one it was sent and never read.
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant];
        let mut arms = Vec::new();
        if !ids.is_empty() {
            params.push(&ids);
            arms.push(format!("u.id = any(${}::text[])", params.len()));
        }
        for (field, column, keyed) in [
            (UserField::Username, "u.username", "lower(u.username)"),
            (UserField::Email, "u.primary_email", "lower(u.primary_email)"),
            (UserField::Phone, "u.primary_phone", "u.primary_phone"),
        ] {
            if wanted(field).next().is_none() {
                continue;
            }
            params.push(if field == UserField::Phone { &phones } else { &names });
            arms.push(format!(
                "{keyed} in (select unnest(${}::text[])) or {column} ~ {UNUSUAL}",
                params.len()
            ));
        }
        let sql = format!(
            "select u.id, u.username, u.primary_email, u.primary_phone from public.users u \
             where u.tenant_id = $1 and ({}) order by u.id collate \"C\"",
            arms.join(" or ")
        );
        let rows = self.lock().query(&sql, &params).map_err(|e| self.fail(e))?;
        let candidates = Candidates::of(&rows)?;
        Ok(references.iter().map(|reference| candidates.matches(reference)).collect())
    }
}

/// The candidates' ids by each field's key (the id itself, the fold of a username or email,
/// the normalised phone), in byte order within each key: the order redb's indexes give.
#[derive(Default)]
struct Candidates {
    by_field: [HashMap<String, Vec<String>>; 4],
}

impl Candidates {
    fn of(rows: &[Row]) -> Result<Self, StoreError> {
        let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
        let mut candidates = Self::default();
        for row in rows {
            let id: String = row.try_get(0).map_err(bad)?;
            candidates.add(UserField::Id, id.clone(), &id);
            for (field, column) in [(UserField::Username, 1), (UserField::Email, 2), (UserField::Phone, 3)] {
                if let Some(value) = row.try_get::<_, Option<String>>(column).map_err(bad)? {
                    let key = if field == UserField::Phone { phone_key(&value) } else { name_key(&value) };
                    candidates.add(field, key, &id);
                }
            }
        }
        Ok(candidates)
    }

    fn add(&mut self, field: UserField, key: String, id: &str) {
        self.by_field[field as usize].entry(key).or_default().push(id.to_owned());
    }

    /// Field by field, as the reference names them.
    fn matches(&self, reference: &UserRef) -> Vec<UserMatch> {
        let mut matches = Vec::new();
        for &field in reference.fields() {
            let key = match field {
                UserField::Id => reference.text.clone(),
                UserField::Username | UserField::Email => name_key(&reference.text),
                UserField::Phone => phone_key(&reference.text),
            };
            for id in self.by_field[field as usize].get(&key).into_iter().flatten() {
                matches.push(UserMatch { id: id.clone(), field });
            }
        }
        matches
    }
}
