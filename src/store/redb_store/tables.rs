//! The file's tables, the records and keys stored in them, and the small reads every part
//! of the store shares.

use super::*;

/// The layout version this build writes. A file with a higher one is refused.
/// 1: the first layout. 2: adds `by_name` (names searched by prefix). 3: usernames, emails,
/// phones and names indexed by their Unicode fold ([`crate::domain::fold`]) in
/// `username_keys`, `email_keys`, `phone_keys` (key + NUL + id, so users that already
/// collided under the fold when a file was upgraded are all kept) instead of `by_username`,
/// `by_email`, `by_phone` (lower case → id).
/// 4: no credentials in user records (an older import kept a raw dump's password hashes and
/// TOTP secrets as unknown fields; the upgrade removes them).
/// 5: the journal of every save (`journal`, `journal_by_user`, `journal_by_batch`,
/// `journal_sequence`: see [`journal`]), back-filled from the history by the upgrade.
/// 6: the search texts packed in blocks of many users (`search_blocks`, see
/// [`super::redb_search`](crate::store::redb_search)) instead of one `search_text` entry per user.
/// 7: each search block keeps the distinct texts of its users once (a dictionary) and each
/// user as the numbers of its texts (`search_dict_blocks` instead of `search_blocks`): a
/// third of the bytes, and a scan reads and searches less.
/// 8: a bulk load (`seed`, `import` into an empty database) is journaled as one row for all
/// its users (`journal_loads` holds its number of users) instead of one row per user; the
/// upgrade only adds the table (older files keep their rows). An older build would read such
/// a file's journal wrong (a row without a user, and loaded users without their revision 1),
/// so it refuses the file.
pub const SCHEMA_VERSION: u64 = 8;
/// The first layout whose search texts are in `search_dict_blocks`: an older one seen
/// read-only is scanned by reading every user.
pub(super) const SEARCH_BLOCKS_SINCE: u64 = 7;
pub(super) const SCHEMA_KEY: &str = "schema_version";

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// id → [`StoredUser`] as JSON.
pub(super) const USERS: TableDefinition<&str, &str> = TableDefinition::new("users");
/// id → customData, compact (the canonical pretty form is rendered on read: it is a third
/// smaller on disk and export wants it compact anyway).
pub(super) const CUSTOM_DATA: TableDefinition<&str, &str> = TableDefinition::new("custom_data");
/// (id, revision) → (saved at, saved by, compact text) of every superseded revision.
pub(super) const HISTORY: TableDefinition<(&str, u64), (i64, &str, &str)> = TableDefinition::new("history");
/// lower-cased handle + NUL + id → (): the list order.
pub(super) const LIST_ORDER: TableDefinition<&str, ()> = TableDefinition::new("list_order");
/// Layout 1–2 unique lookups: lower-cased username / email, phone as written → id. Read only
/// through a read-only handle on a file not yet upgraded; the upgrade deletes them.
pub(super) const OLD_BY_USERNAME: TableDefinition<&str, &str> = TableDefinition::new("by_username");
pub(super) const OLD_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("by_email");
pub(super) const OLD_BY_PHONE: TableDefinition<&str, &str> = TableDefinition::new("by_phone");
/// Unique lookups, by the fold: key + NUL + id → (). A key has one id, except for users that
/// collided when an older file was upgraded (both kept; `info` names them).
pub(super) const USERNAME_KEYS: TableDefinition<&str, ()> = TableDefinition::new("username_keys");
pub(super) const EMAIL_KEYS: TableDefinition<&str, ()> = TableDefinition::new("email_keys");
pub(super) const PHONE_KEYS: TableDefinition<&str, ()> = TableDefinition::new("phone_keys");
/// Folded name + NUL + id → (): names are not unique, so the id is part of the key.
pub(super) const BY_NAME: TableDefinition<&str, ()> = TableDefinition::new("by_name");

/// Revision → (saved at, saved by, text) of every revision of the deployment's JSON Schema,
/// the current one last; an empty text is a revision that cleared it. Made by the first
/// `schema set`: a file without it has no schema, so no layout version is needed for it (an
/// older build opening the file ignores a table it does not know).
pub(super) const SCHEMAS: TableDefinition<u64, (i64, &str, &str)> = TableDefinition::new("schemas");

/// (batch id, user id) → the revision that batch saved for that user: what `undo` walks.
/// Made by the first batch (`patch --yes`); like [`SCHEMAS`], a file without it simply has
/// no batches, so no layout version is needed for it.
pub(super) const BATCH_USERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("batch_users");
/// An undo's batch id → the batch it took back: a user put back to a batch's document by the
/// undo of a later batch is as the batch left it; one a later patch wrote that document again
/// is not (bb82 F2). Undos made before this table have no row, and count as plain batches.
pub(super) const UNDOES: TableDefinition<&str, &str> = TableDefinition::new("undoes");
/// (user id, revision) → the batch that saved that revision: the tag `history` shows.
pub(super) const REVISION_BATCHES: TableDefinition<(&str, u64), &str> =
    TableDefinition::new("revision_batches");

/// Users a batch reads from an index before it writes them: the index's range cannot stay
/// open while the same transaction writes, so a batch walks it in steps of this many.
pub(super) const BATCH_STEP: usize = 1_000;

/// Users per step of [`UserStore::search`] (`list --search`): each step is one read
/// transaction of a fraction of a second at most, searched on two threads.
pub(super) const REDB_SEARCH_STEP: usize = 250_000;

/// How long a writer waits for another process's write transaction before saying "busy".
pub(super) const WRITE_WAIT: Duration = Duration::from_secs(3);

/// The users-table record: Logto's user object (without customData) and the facts of the
/// current customData revision.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredUser {
    pub(super) rev: u64,
    #[serde(rename = "revAt")]
    pub(super) rev_at: i64,
    #[serde(rename = "revBy")]
    pub(super) rev_by: String,
    pub(super) user: Map<String, Value>,
}

impl StoredUser {
    pub(super) fn new(user: &User, revision: Revision, at: i64, by: &str) -> Self {
        Self { rev: revision, rev_at: at, rev_by: by.to_owned(), user: user.to_logto_sparse() }
    }

    pub(super) fn parse(id: &str, json: &str) -> Result<Self, StoreError> {
        if crate::domain::custom_data::may_have_an_exponent(json) {
            return Self::parse_keeping_numbers(id, json);
        }
        serde_json::from_str(json)
            .map_err(|e| StoreError::Database(format!("user {id}: damaged record: {e}")))
    }

    /// [`StoredUser::parse`] of a record that may hold a number written with an exponent in a
    /// profile, identities or a field custodian does not know (`1E5`): serde_json's reader
    /// spells it `1e+5`, so an export was not the file imported (bb11). Read with the
    /// spellings kept, and taken apart by hand (through `serde_json::from_value` the numbers
    /// are read again, and `-0` became `0`).
    fn parse_keeping_numbers(id: &str, json: &str) -> Result<Self, StoreError> {
        let damaged = |why: String| StoreError::Database(format!("user {id}: damaged record: {why}"));
        let value = crate::domain::custom_data::parse_value(json).map_err(|e| damaged(e.to_string()))?;
        let Value::Object(mut top) = value else { return Err(damaged("not an object".into())) };
        let rev = top.get("rev").and_then(Value::as_u64).ok_or_else(|| damaged("no revision".into()))?;
        let rev_at = top.get("revAt").and_then(Value::as_i64).ok_or_else(|| damaged("no time".into()))?;
        let rev_by = match top.remove("revBy") {
            Some(Value::String(by)) => by,
            _ => return Err(damaged("no author".into())),
        };
        let user = match top.remove("user") {
            Some(Value::Object(user)) => user,
            _ => return Err(damaged("no user".into())),
        };
        Ok(Self { rev, rev_at, rev_by, user })
    }

    /// The record of the users-table entry `json`: what every list row, search hit and export
    /// step decodes. The user's fields are taken apart as they are read (no map of them built
    /// and then emptied field by field), the same user [`StoredUser::into_record`] makes.
    pub(super) fn read_record(id: &str, json: &str) -> Result<UserRecord, StoreError> {
        if crate::domain::custom_data::may_have_an_exponent(json) {
            return Self::parse_keeping_numbers(id, json)?.into_record();
        }
        let stored: StoredUserFields = serde_json::from_str(json)
            .map_err(|e| StoreError::Database(format!("user {id}: damaged record: {e}")))?;
        let (user, _) = User::from_fields(stored.user, 0)
            .map_err(|e| StoreError::Database(format!("damaged user record: {e}")))?;
        Ok(UserRecord { user, revision: stored.rev, revised_at: stored.rev_at, revised_by: stored.rev_by })
    }

    pub(super) fn to_json(&self) -> String {
        // A struct of strings, numbers and a Map always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(super) fn record(&self) -> Result<UserRecord, StoreError> {
        Self { user: self.user.clone(), rev_by: self.rev_by.clone(), ..*self }.into_record()
    }

    /// As [`StoredUser::record`], without copying: every list row, search hit and scan step
    /// decodes users this way.
    pub(super) fn into_record(self) -> Result<UserRecord, StoreError> {
        let (user, _) = User::from_logto(Value::Object(self.user), 0)
            .map_err(|e| StoreError::Database(format!("damaged user record: {e}")))?;
        Ok(UserRecord { user, revision: self.rev, revised_at: self.rev_at, revised_by: self.rev_by })
    }
}

/// [`StoredUser`] as [`StoredUser::read_record`] reads it.
#[derive(Deserialize)]
struct StoredUserFields {
    rev: u64,
    #[serde(rename = "revAt")]
    rev_at: i64,
    #[serde(rename = "revBy")]
    rev_by: String,
    user: LogtoFields,
}

pub(super) fn list_key(user: &User) -> String {
    format!("{}\0{}", user.handle().to_lowercase(), user.id)
}

/// The stored (compact) customData of a user, by the one rule every read follows: a user
/// without a customData row (a file written by an older build, or a damaged table) has the
/// empty document, as Logto's `custom_data ... DEFAULT '{}'` column does.
pub(super) fn stored_document<T: ReadableTable<&'static str, &'static str>>(
    table: &T,
    id: &str,
) -> Result<String, StoreError> {
    Ok(table.get(id)?.map_or_else(|| EMPTY_DOCUMENT.to_owned(), |g| g.value().to_owned()))
}

/// The schema table as a read sees it.
type SchemaTable = redb::ReadOnlyTable<u64, (i64, &'static str, &'static str)>;

/// The schema table, `None` in a file where no schema was ever set.
pub(super) fn open_schemas(tx: &ReadTransaction) -> Result<Option<SchemaTable>, StoreError> {
    match tx.open_table(SCHEMAS) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The table of batch tags as a read sees it.
type RevisionBatchTable = redb::ReadOnlyTable<(&'static str, u64), &'static str>;

/// The batch tags, `None` in a file where no batch ever saved.
pub(super) fn open_revision_batches(tx: &ReadTransaction) -> Result<Option<RevisionBatchTable>, StoreError> {
    match tx.open_table(REVISION_BATCHES) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The compact text of the empty document.
pub(super) const EMPTY_DOCUMENT: &str = "{}";

pub(super) fn name_key(user: &User) -> Option<String> {
    user.name.as_ref().map(|name| format!("{}\0{}", fold::name_key(name), user.id))
}

/// An index key: the folded value, NUL, the id.
pub(super) fn index_key(value: &str, id: &str) -> String {
    format!("{value}\0{id}")
}

/// The ids a unique-field index holds for the folded `value`.
pub(super) fn ids_with_key<T: ReadableTable<&'static str, ()>>(
    index: &T,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    let (from, to) = (format!("{value}\0"), format!("{value}\u{1}"));
    let mut ids = Vec::new();
    for item in index.range::<&str>(from.as_str()..to.as_str())? {
        ids.push(id_of_list_key(item?.0.value()).to_owned());
    }
    Ok(ids)
}

pub(super) fn id_of_list_key(key: &str) -> &str {
    key.rsplit_once('\0').map_or(key, |(_, id)| id)
}

/// The unique fields of a user as the indexes key them: username and email by the Unicode
/// fold, the phone normalised.
pub(super) fn unique_fields(user: &User) -> [(&'static str, Option<String>); 3] {
    [
        ("username", user.username.as_deref().map(fold::name_key)),
        ("primaryEmail", user.primary_email.as_deref().map(fold::name_key)),
        ("primaryPhone", user.primary_phone.as_deref().map(fold::phone_key)),
    ]
}

/// A unique field of a user as they typed it, for messages.
pub(super) fn typed_value(user: &User, field: &str) -> String {
    let value = match field {
        "username" => &user.username,
        "primaryEmail" => &user.primary_email,
        _ => &user.primary_phone,
    };
    value.clone().unwrap_or_default()
}

/// A user's search-text entry (kept by [`SearchTexts`]): the list key and the search text of
/// the user with its stored (compact) customData. The one way a user's search text is made.
pub(super) fn search_entry(user: &User, document: &str) -> Result<(String, String), StoreError> {
    let document: Map<String, Value> = serde_json::from_str(document)
        .map_err(|e| StoreError::Database(format!("user {}: damaged customData: {e}", user.id)))?;
    Ok((list_key(user), search_text(user, &document)))
}

/// [`search_entry`] of a user whose stored document is `data`'s compact text, built from the
/// parsed document when no number in it has an exponent (the one thing [`search_entry`]'s own
/// parse of the stored text spells otherwise: `1E5` is `1e+5` there), so the text is not
/// parsed a second time.
pub(super) fn search_entry_of_data(user: &User, data: &CustomData) -> Result<(String, String), StoreError> {
    if any_exponent(data.as_object()) {
        search_entry(user, data.compact_text())
    } else {
        Ok((list_key(user), search_text(user, data.as_object())))
    }
}

/// Whether a number anywhere in `object` is written with an exponent.
fn any_exponent(object: &Map<String, Value>) -> bool {
    fn in_value(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.as_str().contains(['e', 'E']),
            Value::Array(items) => items.iter().any(in_value),
            Value::Object(object) => any_exponent(object),
            _ => false,
        }
    }
    object.values().any(in_value)
}

/// Whether the query occurs in a key or scalar of a user's stored (compact) customData.
pub(super) fn document_matches(filter: &mut Filter, id: &str, document: &str) -> Result<bool, StoreError> {
    if !filter.may_occur_in_json(document) {
        return Ok(false);
    }
    let document: Map<String, Value> = serde_json::from_str(document)
        .map_err(|e| StoreError::Database(format!("user {id}: damaged customData: {e}")))?;
    Ok(filter.in_document(&document))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A save and a bulk load make the search text from the document they already hold; it
    /// must be the text a parse of the stored compact text gives, which every other write uses.
    #[test]
    fn the_search_entry_of_a_parsed_document_is_the_one_its_stored_text_gives() {
        let profile = serde_json::json!({"id": "u1", "username": "Ünï", "name": "Zoë Ñ"});
        let (user, _) = User::from_logto(profile, 7).expect("a user");
        let documents = [
            r#"{}"#,
            r#"{"plan":{"tier":"Pro","seats":12},"flags":["a","B"],"on":true,"off":null}"#,
            r#"{"a":1,"b":[1.50,-0,"X"],"c":{"Straße":true,"n":null}}"#,
            r#"{"e":1E5,"f":2e-3,"g":12345678901234567890123}"#,
            r#"{"n":1.50,"m":-0,"big":12345678901234567890123,"f":0.1e-7,"E":1E5,"e":-2e+3}"#,
            r#"{"k\"ey":"tab\there \u00e9 \u2028","nested":{"deep":[{"x":"Ωmega"}]}}"#,
            // An exponent only inside an array, or only inside an object.
            r#"{"a":[1,"s",[2.5E3]],"t":"x"}"#,
            r#"{"o":{"p":{"n":3E2}},"t":"x"}"#,
        ];
        for text in documents {
            let data = CustomData::parse(text).expect("a document");
            let entry = search_entry_of_data(&user, &data).expect("entry");
            assert_eq!(entry, search_entry(&user, data.compact_text()).expect("entry"), "{text}");
        }
    }
}
