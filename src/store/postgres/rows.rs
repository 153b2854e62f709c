//! Reading rows: list keys and their SQL bounds, the filter over scan rows, a user row of
//! [`USER_COLUMNS`], and jsonb text as custodian's canonical or compact document.

use super::*;

/// Splits a list key (`lower-cased handle NUL id`) into its two parts.
/// Where a page starts, as SQL reads it: the comparison with the key (none at either end)
/// and whether the page is read backwards (from the end, or before a key).
pub(super) fn seek_bound(seek: &Seek) -> (Option<(&'static str, &ListKey)>, bool) {
    match seek {
        Seek::First => (None, false),
        Seek::Last => (None, true),
        Seek::From(key) => (Some((">=", key)), false),
        Seek::After(key) => (Some((">", key)), false),
        Seek::Before(key) => (Some(("<", key)), true),
    }
}

pub(super) fn key_parts(key: &ListKey) -> (&str, &str) {
    key.0.rsplit_once('\0').unwrap_or(("", key.0.as_str()))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub(super) fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether the filter keeps a user of Logto's table by its own rule, as on redb: the id and a
/// profile field (username, email, phone, name) first, then customData (each user is a hit
/// once).
pub(super) fn user_matches(
    filter: &mut Filter,
    id: &str,
    profile: [Option<&str>; 4],
    document: Option<&str>,
) -> bool {
    filter.in_text(id)
        || profile.iter().flatten().any(|field| filter.in_text(field))
        || match document {
            Some(text) if filter.may_occur_in_json(text) => {
                match parse_object(id, "customData", Some(text.to_owned())) {
                    Ok(object) => filter.in_document(&object),
                    // One custodian cannot read (nested 128 levels deep or more, which jsonb holds)
                    // is searched as written: it was searched as empty, and a value in it was
                    // silently not found (bb78 F6). Its strings' escapes read as what they
                    // stand for, so `C:\temp` and `a"q` are found too (bb80 F5).
                    Err(_) => filter.in_text(text) || filter.in_text(&unescaped(text)),
                }
            }
            _ => false,
        }
}

/// `text` with JSON's string escapes read as the characters they stand for (`\uXXXX` left as
/// it is): a search over a document too deep to parse.
fn unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The filter's rule over scan rows (id, username, email, phone, name, customData text and
/// the lower-cased handle, in list order), up to `max_hits` hits: the hits' ids, how many
/// rows were read, and the list key of the last one read.
pub(super) fn filter_rows(
    filter: &mut Filter,
    rows: &[Row],
    max_hits: usize,
) -> Result<(Vec<String>, usize, Option<ListKey>), StoreError> {
    let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
    let (mut hit_ids, mut scanned, mut last) = (Vec::new(), 0, None);
    for row in rows {
        if hit_ids.len() >= max_hits {
            break;
        }
        let id: String = row.try_get(0).map_err(bad)?;
        let profile: [Option<String>; 4] = [
            row.try_get(1).map_err(bad)?,
            row.try_get(2).map_err(bad)?,
            row.try_get(3).map_err(bad)?,
            row.try_get(4).map_err(bad)?,
        ];
        let document: Option<String> = row.try_get(5).map_err(bad)?;
        let lower_handle: String = row.try_get(6).map_err(bad)?;
        scanned += 1;
        let hit = user_matches(filter, &id, profile.each_ref().map(Option::as_deref), document.as_deref());
        last = Some(ListKey(format!("{lower_handle}\0{id}")));
        if hit {
            hit_ids.push(id);
        }
    }
    Ok((hit_ids, scanned, last))
}

pub(super) fn parse_object(
    id: &str,
    field: &'static str,
    text: Option<String>,
) -> Result<Map<String, Value>, StoreError> {
    match text {
        None => Ok(Map::new()),
        Some(text) => serde_json::from_str(&text).map_err(|_| not_an_object(id, field, &text)),
    }
}

/// A jsonb column that should hold an object and holds something else (`null`, an array:
/// written with SQL, Logto never does), read as an empty object: one such row must not
/// hide the tenant's every user from the list, the filter or a save that replaces it.
pub(super) fn object_or_empty(id: &str, field: &'static str, text: Option<String>) -> Map<String, Value> {
    parse_object(id, field, text).unwrap_or_else(|e| {
        tracing::warn!(user = %id, field, "read as an empty object: {e}");
        Map::new()
    })
}

/// How deep Logto's own columns are read: past serde_json's 128 levels, which a customData is
/// held to, since custodian only shows and exports these (a deeper recursion would need a
/// deeper stack than a worker thread's 2 MiB).
const DEEPEST_LOGTO_VALUE: usize = 512;

/// Logto's own jsonb columns (`profile`, `identities`), shown (`i`) and exported whole: read
/// up to [`DEEPEST_LOGTO_VALUE`] levels (a profile nested 128 levels deep was shown as `{}`,
/// its other keys gone too, and nothing said: bb99 F7). Deeper, or no object: read as empty,
/// and the log says so without `custodian set`'s advice, which writes customData only.
pub(super) fn logto_object_or_empty(
    id: &str,
    field: &'static str,
    text: Option<String>,
) -> Map<String, Value> {
    use serde::Deserialize as _;
    let Some(text) = text else { return Map::new() };
    let too_deep = matches!(
        crate::domain::scan::scan(&text, DEEPEST_LOGTO_VALUE),
        Some(crate::domain::scan::ScanFinding::TooDeep { .. })
    );
    let parsed = (!too_deep).then(|| {
        let mut reader = serde_json::Deserializer::from_str(&text);
        reader.disable_recursion_limit();
        Map::deserialize(&mut reader).ok()
    });
    parsed.flatten().unwrap_or_else(|| {
        let found = match too_deep {
            true => "an object nested deeper than custodian reads".to_owned(),
            false => NotAnObject::described(NotAnObject::in_text(&text).found),
        };
        tracing::warn!(user = %id, field, "read as an empty object: Logto's column holds {found} (written outside custodian, which never writes it)");
        Map::new()
    })
}

/// What a customData that is not an object is called where it is met, and what mends it.
fn not_an_object(id: &str, field: &'static str, text: &str) -> StoreError {
    StoreError::StoredNotAnObject { user: id.to_owned(), field, found: NotAnObject::in_text(text).found }
}

/// What one row of [`USER_COLUMNS`] + revision columns holds (the `updated_at` in µs,
/// column 13, is read only where a save needs it).
pub(super) struct UserRow {
    pub(super) record: UserRecord,
    pub(super) key: ListKey,
}

impl UserRow {
    pub(super) fn read(row: &Row, offset: usize) -> Result<Self, StoreError> {
        let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
        let text = |i: usize| row.try_get::<_, Option<String>>(offset + i).map_err(bad);
        let id: String = row.try_get(offset).map_err(bad)?;
        let user = User {
            username: text(1)?,
            primary_email: text(2)?,
            primary_phone: text(3)?,
            name: text(4)?,
            avatar: text(5)?,
            profile: logto_object_or_empty(&id, "profile", text(6)?),
            identities: logto_object_or_empty(&id, "identities", text(7)?),
            application_id: text(8)?,
            is_suspended: row.try_get(offset + 9).map_err(bad)?,
            last_sign_in_at: row.try_get(offset + 10).map_err(bad)?,
            created_at: row.try_get(offset + 11).map_err(bad)?,
            updated_at: row.try_get(offset + 12).map_err(bad)?,
            extra: Map::new(),
            id,
        };
        let lower_handle: String = row.try_get(offset + 14).map_err(bad)?;
        let revision: i64 = row.try_get(offset + COLUMN_COUNT).map_err(bad)?;
        let revised_at = row.try_get(offset + COLUMN_COUNT + 1).map_err(bad)?;
        let revised_by = row.try_get(offset + COLUMN_COUNT + 2).map_err(bad)?;
        let key = ListKey(format!("{lower_handle}\0{}", user.id));
        let record = UserRecord { user, revision: revision.max(1) as Revision, revised_at, revised_by };
        Ok(Self { record, key })
    }

    pub(super) fn entry(self) -> ListEntry {
        ListEntry { key: self.key, revision: self.record.revision, user: Box::new(self.record.user) }
    }
}

/// The canonical text of a jsonb document as PostgreSQL returns it (its key order).
pub(super) fn canonical_from_jsonb(id: &str, text: &str) -> Result<String, StoreError> {
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|_| not_an_object(id, "customData", text))?;
    Ok(canonical_text(&object))
}

pub(super) fn compact_from_jsonb(id: &str, text: &str) -> Result<String, StoreError> {
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|_| not_an_object(id, "customData", text))?;
    serde_json::to_string(&object).map_err(|e| StoreError::Database(e.to_string()))
}

/// A stored document as a walk over many users hands it to its visitor: compact, or when it
/// is no object (SQL wrote `null` or an array) the text jsonb gives, for the visitor to count
/// as that user's own outcome (a patch's failure, an export's user left out) while the walk
/// goes on with the others: one such user stopped the tenant's every export and patch.
pub(super) fn walked_text(id: &str, text: &str) -> String {
    compact_from_jsonb(id, text).unwrap_or_else(|e| {
        tracing::warn!(user = %id, "handed on as it is: {e}");
        text.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deepest profile read fits a worker thread's stack (2 MiB, the screen's reads), in a
    /// debug build too; one level more is read as empty, not parsed.
    #[test]
    fn the_deepest_logto_value_is_read_on_a_worker_threads_stack() {
        let deep = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        let read = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let whole = logto_object_or_empty("u1", "profile", Some(deep(DEEPEST_LOGTO_VALUE)));
                let deeper = logto_object_or_empty("u1", "profile", Some(deep(DEEPEST_LOGTO_VALUE + 1)));
                (serde_json::to_string(&whole).map(|text| text.len()), deeper.is_empty())
            })
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert_eq!(read.0.expect("written"), deep(DEEPEST_LOGTO_VALUE).len());
        assert!(read.1);
    }
}
