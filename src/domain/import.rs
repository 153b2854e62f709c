//! Reading users to import: a JSON array of Logto user objects (the body of
//! `GET /api/users`) or JSON Lines, one user per line. Every record goes through the same
//! rules as an operator's edit; a bad record is reported with its number and line.

use serde_json::Value;
use serde_json::value::RawValue;
use thiserror::Error;

mod names;

use super::logto_row;
use super::scan::{self, ScanFinding, ScanNotes};
use super::user::LogtoFields;
use super::{CustomData, Limits, User, UserFieldError};

/// A user read from an import, with where it came from for error messages.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// `record 3 (line 12)` or `line 12`: how an error names this record.
    pub origin: String,
    pub user: User,
    /// `None` when the record had no `customData` (or `null`): a new user gets `{}`, an
    /// upsert keeps the stored document.
    pub custom_data: Option<CustomData>,
    /// The top-level fields the record had (`customData` aside), `None` when every field is
    /// meant (a synthetic user). An upsert keeps what is stored for every field not named.
    pub fields: Option<Vec<String>>,
    /// About the bytes the record holds parsed ([`parsed_bytes`] of its text; 0 for a user
    /// made in code): what an import's threads count what is in flight by.
    pub parsed_bytes: usize,
}

/// The most bytes one import record (one user, as written, whitespace included) may take:
/// customData is at most 1 MiB stored compactly, and an indented file spells it out larger.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// The most values (commas and opening brackets outside strings) a record may hold: a user's
/// fields and customData, 1 MiB each compact, hold at most ~1,048,600 (a value and its comma
/// take two bytes at least). Refused before the parse: a `profile` of 3.4 million `[0]` took
/// 1.4 GB parsed before its size was refused (bb24 L04).
pub const MAX_RECORD_VALUES: usize = 1_100_000;

/// What a parsed tree holds beyond its text, measured (serde_json with `preserve_order` and
/// `arbitrary_precision`, glibc): an array's item ~111–137 bytes, an object's member ~150 more
/// (its key, its slot and hash in the map), an object ~280 more (its map's two allocations),
/// an array ~300 more (its vector, grown to four values at once). A document of 60,000 keys
/// holds 17 MB parsed for 0.9 MB of text; 120,000 arrays nested 60 deep in 250 KB, 36 MB.
pub const PER_VALUE: usize = 140;
pub const PER_MEMBER: usize = 150;
pub const PER_OBJECT: usize = 280;
pub const PER_ARRAY: usize = 300;

/// About the bytes JSON `text` holds once parsed: its text, and its tree counted by its commas,
/// colons, braces and brackets (those in strings too: counted more, never less). Arrays were
/// not counted: 20 users of 1 MB of nested arrays were let in flight at once, 647 MB (bb24 L03).
pub fn parsed_bytes(text: &str) -> usize {
    // One pass, each byte weighed by a table: a search per comma and a second pass for the
    // brackets (memchr's iterators) were 2 % of an import's instructions, for ~60 hits a record.
    const WEIGHT: [u32; 256] = {
        let mut weight = [0; 256];
        weight[b',' as usize] = PER_VALUE as u32;
        weight[b':' as usize] = PER_MEMBER as u32;
        weight[b'{' as usize] = PER_OBJECT as u32;
        weight[b'[' as usize] = PER_ARRAY as u32;
        weight
    };
    let tree: u64 = text.bytes().map(|byte| u64::from(WEIGHT[byte as usize])).sum();
    text.len() + usize::try_from(tree).unwrap_or(usize::MAX)
}

impl NewUser {
    /// The profile an upsert of this record over `stored` leaves: every field the record
    /// gave (an explicit `null` included) replaces the stored one, every field it did not
    /// give keeps its stored value, and `updatedAt` is never earlier than the stored one.
    pub fn profile_over(&self, stored: &User) -> Result<User, UserFieldError> {
        let mut merged = stored.to_logto(None);
        for (field, value) in self.user.to_logto(None) {
            let given = self.fields.as_ref().is_none_or(|fields| fields.contains(&field));
            if given {
                merged.insert(field, value);
            }
        }
        let (mut user, _) = User::from_logto(Value::Object(merged), stored.created_at)?;
        user.updated_at = user.updated_at.max(stored.updated_at);
        Ok(user)
    }
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{origin}: {reason}")]
pub struct RecordError {
    pub origin: String,
    pub reason: String,
}

/// The import as a whole could not be read (before any record).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportFileError {
    #[error("the import is empty: expected a JSON array of users or JSON Lines")]
    Empty,
    #[error("line {line}, col {column}: not valid UTF-8")]
    InvalidUtf8 { line: usize, column: usize },
    #[error("the import starts with a byte-order mark (U+FEFF); remove it")]
    ByteOrderMark,
    #[error("line {line}, col {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
}

/// The records of an import, read lazily so a large file is not held twice.
pub struct ImportReader<'a> {
    text: &'a str,
    records: Records<'a>,
    rules: RecordRules,
    /// (byte offset, line) of the last record, so line numbers cost O(file) in all.
    seen: (usize, usize),
}

/// How one record's text becomes a user: the rules every record goes through, whether the
/// file is read whole or line by line as it arrives.
#[derive(Debug, Clone)]
pub struct RecordRules {
    limits: Limits,
    now_ms: i64,
    /// Only this tenant's records are read; the rest are counted and skipped.
    tenant: Option<String>,
    taken: TakenOut,
    /// Records read of that tenant, and whether the end of the input was seen.
    of_tenant: usize,
    ended: bool,
    /// See [`RecordRules::keeping_fields`].
    keep_fields: bool,
}

/// What the reader took out of the records it read, for the one line each that says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TakenOut {
    /// Users whose record held credentials (dropped, never imported).
    pub users_with_credentials: usize,
    /// Each credential field seen, as spelled, in first-seen order.
    pub credential_fields: Vec<&'static str>,
    /// Records of another tenant (or of none) skipped because `--tenant` named one.
    pub other_tenants: usize,
    /// Without `--tenant`: the tenants the records named, in first-seen order, each with its
    /// count (the first [`TENANTS_NAMED`] of them; the records of the rest in `later_tenants`).
    /// A raw dump of Logto's `users` holds every tenant's users, its console's own accounts
    /// (tenant `admin`) among them: they were merged unsaid (bb46).
    pub tenants: Vec<(String, usize)>,
    pub later_tenants: usize,
}

/// How many tenants an import's line names; the records of any more are counted.
pub const TENANTS_NAMED: usize = 8;
/// A tenant is told apart by its first characters: Logto's are 21 at most.
const TENANT_CHARS: usize = 64;

impl TakenOut {
    fn count_tenant(&mut self, mut tenant: String) {
        // Named, not kept: a tenant of 16 MiB, eight times over, was held to the end.
        if let Some((cut, _)) = tenant.char_indices().nth(TENANT_CHARS) {
            tenant.truncate(cut);
        }
        if let Some((_, count)) = self.tenants.iter_mut().find(|(name, _)| *name == tenant) {
            *count += 1;
        } else if self.tenants.len() < TENANTS_NAMED {
            self.tenants.push((tenant, 1));
        } else {
            self.later_tenants += 1;
        }
    }
}

enum Records<'a> {
    Array { items: std::vec::IntoIter<&'a RawValue>, index: usize },
    Lines { lines: std::iter::Enumerate<std::str::Split<'a, char>> },
}

impl<'a> ImportReader<'a> {
    /// Checks the file as a whole (encoding, array syntax) and prepares to read its records.
    pub fn new(bytes: &'a [u8], limits: Limits, now_ms: i64) -> Result<Self, ImportFileError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let scan::Position { line, column } = scan::utf8_error_position(bytes, &e);
            ImportFileError::InvalidUtf8 { line, column }
        })?;
        if text.starts_with('\u{feff}') {
            return Err(ImportFileError::ByteOrderMark);
        }
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return Err(ImportFileError::Empty);
        }
        let records = if trimmed.starts_with('[') {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
                let message = e.to_string();
                let message = message.rsplit_once(" at line ").map_or(message.clone(), |(m, _)| m.to_owned());
                ImportFileError::Syntax {
                    line: e.line(),
                    column: scan::char_column(text, e.line(), e.column()),
                    message,
                }
            })?;
            if items.is_empty() {
                return Err(ImportFileError::Empty);
            }
            Records::Array { items: items.into_iter(), index: 0 }
        } else {
            Records::Lines { lines: text.split('\n').enumerate() }
        };
        Ok(Self { text, records, rules: RecordRules::new(limits, now_ms), seen: (0, 1) })
    }

    /// Reads only the records of this tenant (`tenant_id` of a raw row, `tenantId` of an
    /// object); the others are skipped and counted in [`ImportReader::taken_out`].
    pub fn only_tenant(mut self, tenant: Option<String>) -> Self {
        self.rules.tenant = tenant;
        self
    }

    /// What was dropped or skipped in the records read so far.
    pub fn taken_out(&self) -> &TakenOut {
        &self.rules.taken
    }

    /// Reads records by these rules (a tenant, limits and time chosen by the caller).
    pub fn with_rules(mut self, rules: RecordRules) -> Self {
        self.rules = rules;
        self
    }

    /// The line `raw` (a slice of the text, after the previous record) starts on.
    fn line_of(&mut self, raw: &str) -> usize {
        let offset = (raw.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let offset = offset.min(self.text.len());
        let (from, line) = self.seen;
        let between = self.text.as_bytes().get(from..offset).unwrap_or_default();
        let line = line + between.iter().filter(|b| **b == b'\n').count();
        self.seen = (offset, line);
        line
    }
}

impl RecordRules {
    pub fn new(limits: Limits, now_ms: i64) -> Self {
        Self {
            limits,
            now_ms,
            tenant: None,
            taken: TakenOut::default(),
            of_tenant: 0,
            ended: false,
            keep_fields: true,
        }
    }

    /// Whether each record keeps the names of the fields it gave ([`NewUser::fields`]): only
    /// an upsert reads them, and copying every key of every record was a reading thread's
    /// work an import into an empty database does not need.
    pub fn keeping_fields(mut self, keep: bool) -> Self {
        self.keep_fields = keep;
        self
    }

    /// Told once that the input has ended: an error when `--tenant` named a tenant no record
    /// is of (a typo would otherwise import nothing and succeed).
    pub fn after_last(&mut self) -> Option<RecordError> {
        if std::mem::replace(&mut self.ended, true) || self.of_tenant > 0 || self.taken.other_tenants == 0 {
            return None;
        }
        let tenant = self.tenant.as_deref()?;
        let skipped = self.taken.other_tenants;
        let records =
            if skipped == 1 { "the 1 record is".to_owned() } else { format!("all {skipped} records are") };
        Some(RecordError {
            origin: "the import".into(),
            reason: format!(
                "no record is of tenant {tenant:?} ({records} of other tenants or of none); nothing was imported"
            ),
        })
    }

    /// Reads only the records of this tenant; see [`ImportReader::only_tenant`].
    pub fn only_tenant(mut self, tenant: Option<String>) -> Self {
        self.tenant = tenant;
        self
    }

    /// What was dropped or skipped in the records read so far.
    pub fn taken_out(&self) -> &TakenOut {
        &self.taken
    }

    /// Reads one record: `None` when it belongs to another tenant than the one imported.
    pub fn read_record(&mut self, raw: &str, origin: String) -> Option<Result<NewUser, RecordError>> {
        match self.read_record_inner(raw, origin) {
            // A record `--tenant` would skip is not this import's to refuse: a raw dump's row of
            // another tenant that custodian would refuse (SQL wrote it) blocked the import of
            // the tenant asked for (bb71 F4). Only a record whose tenant can be read at all.
            Err(_)
                if self.tenant.is_some()
                    && logto_row::tenant_of(raw).is_some_and(|tenant| Some(tenant) != self.tenant) =>
            {
                self.taken.other_tenants += 1;
                None
            }
            Err(e) => Some(Err(e)),
            Ok((new, taken)) => {
                if self.tenant.is_some() && taken.tenant != self.tenant {
                    self.taken.other_tenants += 1;
                    return None;
                }
                if let (None, Some(tenant)) = (&self.tenant, taken.tenant) {
                    self.taken.count_tenant(tenant);
                }
                self.of_tenant += 1;
                if !taken.credentials.is_empty() {
                    self.taken.users_with_credentials += 1;
                    for field in taken.credentials {
                        if !self.taken.credential_fields.contains(&field) {
                            self.taken.credential_fields.push(field);
                        }
                    }
                }
                Some(Ok(new))
            }
        }
    }

    fn read_record_inner(
        &self,
        raw: &str,
        origin: String,
    ) -> Result<(NewUser, logto_row::Taken), RecordError> {
        let fail = |reason: String| RecordError { origin: origin.clone(), reason };
        // A later line's mark (files joined with `cat`) read as "expected value" (bb35 #12).
        if raw.starts_with('\u{feff}') {
            return Err(fail("a byte-order mark (U+FEFF) starts this record (col 1); remove it".into()));
        }
        let mut notes = ScanNotes::default();
        match self.scan_record(raw, &mut notes) {
            Some(ScanFinding::TooManyValues { limit }) => {
                return Err(fail(format!(
                    "holds more than {} values (commas and brackets): more than a user's fields and customData, 1 MiB each, can hold; it was not read further",
                    super::custom_data::group_digits(limit as u64)
                )));
            }
            Some(ScanFinding::TooDeep { limit, .. }) => {
                return Err(fail(format!("nested deeper than {} levels", limit - 1)));
            }
            Some(ScanFinding::DuplicateKey { key, path, .. }) => {
                return Err(fail(format!("duplicate key \"{key}\" in {path}; JSON keeps only one of them")));
            }
            Some(ScanFinding::NulCharacter { path, .. }) => {
                return Err(fail(format!("\\u0000 in {path}; PostgreSQL's jsonb refuses NUL characters")));
            }
            None => {}
        }
        if let Some(read) = self.read_plain_record(raw, &origin, notes) {
            return read.map(|new| (new, logto_row::Taken::default()));
        }
        // Numbers keep the text they have in the file (serde_json alone rewrites exponents).
        let mut value = super::custom_data::parse_value(raw).map_err(|e| {
            let mut reason = super::custom_data::syntax_reason(raw, &e);
            // A JSON Lines record (named by its line) that ends before its object does: most
            // often pretty-printed JSON (`jq` without `-c`), which serde's words alone made
            // read as a file cut short (bb16 L12).
            if e.classify() == serde_json::error::Category::Eof && origin.starts_with("line ") {
                reason.push_str(
                    ": the record ends with its line (JSON Lines is one user a line; pretty-printed JSON, as `jq` prints without -c, is not), or the file is cut short",
                );
            }
            fail(reason)
        })?;
        // Before anything else reads it: credentials out, a raw row renamed.
        let taken = match &mut value {
            serde_json::Value::Object(map) => logto_row::take_shape(map).map_err(fail)?,
            _ => logto_row::Taken::default(),
        };
        if let Some(reason) = value.as_object().and_then(names::problem) {
            return Err(fail(taken.in_the_records_names(reason)));
        }
        // The fields an upsert takes from the record. A timestamp or `isSuspended` given as
        // null cannot clear anything (a user always has one), so it counts as left out: what
        // is stored stays (a null `isSuspended` un-suspended a suspended user: bb35 #1).
        let fields = value.as_object().filter(|_| self.keep_fields).map(|record| {
            record
                .iter()
                .filter(|(k, v)| {
                    *k != "customData"
                        && !(v.is_null() && matches!(k.as_str(), "createdAt" | "updatedAt" | "isSuspended"))
                })
                .map(|(k, _)| k.clone())
                .collect()
        });
        let (user, custom_data) = User::from_logto(value, self.now_ms)
            .map_err(|e| fail(taken.in_the_records_names(e.to_string())))?;
        let new = self
            .new_user(user, custom_data, fields, &origin, raw)
            .map_err(|e| RecordError { reason: taken.in_the_records_names(e.reason), ..e })?;
        Ok((new, taken))
    }

    /// A record's user once read, either way: its times and customData checked.
    fn new_user(
        &self,
        user: User,
        custom_data: Option<serde_json::Value>,
        fields: Option<Vec<String>>,
        origin: &str,
        raw: &str,
    ) -> Result<NewUser, RecordError> {
        if let Some(reason) = user.time_past_the_year_9999() {
            return Err(RecordError { origin: origin.to_owned(), reason });
        }
        let custom_data = self.checked_custom_data(custom_data, origin)?;
        Ok(NewUser { origin: origin.to_owned(), user, custom_data, fields, parsed_bytes: parsed_bytes(raw) })
    }

    /// The common record read without building it as a map first: Logto's API object of
    /// known fields only, that names someone, with no number serde_json would spell otherwise,
    /// when the fields given are not wanted (no upsert). What the general reading would give
    /// it — nothing of it is shaped (no raw row's column, credential or tenant), nothing is
    /// misspelled — at a third less of the reading thread's work (the record's own map: its
    /// keys copied, hashed and dropped). `None`: another record, read the general way.
    fn read_plain_record(
        &self,
        raw: &str,
        origin: &str,
        notes: ScanNotes,
    ) -> Option<Result<NewUser, RecordError>> {
        // Known from the record's scan: a record with a field of its own (Logto's API gives
        // `hasPassword`) was parsed this way to its end and then again (18 % slower).
        if self.keep_fields || notes.exponent || notes.unknown_top_key {
            return None;
        }
        let fields: LogtoFields = serde_json::from_str(raw).ok()?;
        if !fields.all_known() || !names::names_someone(|field| fields.known(field)) {
            return None;
        }
        let fail = |reason: String| RecordError { origin: origin.to_owned(), reason };
        Some(
            User::from_fields(fields, self.now_ms)
                .map_err(|e| fail(e.to_string()))
                .and_then(|(user, custom_data)| self.new_user(user, custom_data, None, origin, raw)),
        )
    }

    /// The record's scan: what it refuses, and what it notes for [`RecordRules::read_plain_record`].
    /// The user object wraps customData one level deeper than the customData limit counts.
    fn scan_record(&self, raw: &str, notes: &mut ScanNotes) -> Option<ScanFinding> {
        scan::scan_noting(
            raw,
            self.limits.max_depth + 1,
            MAX_RECORD_VALUES,
            super::user::is_known_field,
            notes,
        )
    }

    /// A record's customData, scanned with it (no NUL, within the depth limit), held to the
    /// other rules of a document.
    fn checked_custom_data(
        &self,
        value: Option<Value>,
        origin: &str,
    ) -> Result<Option<CustomData>, RecordError> {
        value
            .map(|value| {
                CustomData::from_scanned_value(value, &self.limits).map_err(|e| RecordError {
                    origin: origin.to_owned(),
                    reason: format!("customData: {e}"),
                })
            })
            .transpose()
    }
}

impl Iterator for ImportReader<'_> {
    type Item = Result<NewUser, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.records {
            Records::Array { .. } => loop {
                let Records::Array { items, index } = &mut self.records else { return None };
                let Some(raw) = items.next() else { return self.rules.after_last().map(Err) };
                let raw = raw.get();
                *index += 1;
                let number = *index;
                let origin = format!("record {number} (line {})", self.line_of(raw));
                if let Some(record) = self.rules.read_record(raw, origin) {
                    return Some(record);
                }
            },
            Records::Lines { .. } => loop {
                let Records::Lines { lines } = &mut self.records else { return None };
                let Some((number, line)) = lines.next() else { return self.rules.after_last().map(Err) };
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() {
                    continue;
                }
                if let Some(record) = self.rules.read_record(line, format!("line {}", number + 1)) {
                    return Some(record);
                }
            },
        }
    }
}

#[cfg(test)]
mod plain_record_tests;

#[cfg(test)]
impl RecordRules {
    /// One record read as an import reads it (the general reading, or the short way).
    fn parse_record_for_test(&self, raw: &str) -> Result<NewUser, RecordError> {
        self.read_record_inner(raw, "line 1".into()).map(|(new, _)| new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record's customData may be nested as deep as a document may (the user object around
    /// it is one level more), and no deeper.
    #[test]
    fn a_records_custom_data_is_held_to_the_documents_depth_limit_exactly() {
        let limits = Limits::default();
        let nested = |depth: usize| "{\"a\":".repeat(depth - 1) + "{}" + &"}".repeat(depth - 1);
        let deepest = nested(limits.max_depth);
        let too_deep = nested(limits.max_depth + 1);
        assert!(CustomData::parse_with(&deepest, &limits).is_ok(), "the document rule's own bound");
        assert!(CustomData::parse_with(&too_deep, &limits).is_err());
        let mut rules = RecordRules::new(limits, 0);
        let record = |data: &str| format!("{{\"id\":\"u1\",\"customData\":{data}}}");
        assert!(rules.read_record(&record(&deepest), "record 1".into()).expect("read").is_ok());
        let refused = rules.read_record(&record(&too_deep), "record 2".into()).expect("read").unwrap_err();
        assert_eq!(refused.reason, format!("nested deeper than {} levels", limits.max_depth));
    }

    /// What an upsert takes from a record: every field it gives but customData, and a
    /// timestamp given as null counts as left out (a user always has one).
    #[test]
    fn the_fields_an_upsert_takes_are_those_given_but_custom_data_and_null_timestamps() {
        let mut rules = RecordRules::new(Limits::default(), 0);
        let raw =
            r#"{"id":"u1","name":null,"customData":{},"createdAt":null,"updatedAt":5,"lastSignInAt":null}"#;
        let new = rules.read_record(raw, "record 1".into()).expect("read").expect("a user");
        let fields: Vec<&str> = new.fields.iter().flatten().map(String::as_str).collect();
        assert_eq!(fields, ["id", "name", "updatedAt", "lastSignInAt"]);
        // An import that is no upsert keeps none (nothing reads them).
        let mut inserting = RecordRules::new(Limits::default(), 0).keeping_fields(false);
        let new = inserting.read_record(raw, "record 1".into()).expect("read").expect("a user");
        assert_eq!(new.fields, None);
    }

    /// A JSON Lines record (named by its line) that ends before its object says what JSON
    /// Lines is; an array's record, and a line wrong in another way, keep serde's words alone.
    #[test]
    fn only_a_line_that_ends_inside_its_record_is_said_to_be_no_json_lines() {
        let mut rules = RecordRules::new(Limits::default(), 0);
        let reason =
            |rules: &mut RecordRules, raw: &str, origin: &str| match rules.read_record(raw, origin.into()) {
                Some(Err(e)) => e.reason,
                other => panic!("{raw}: {other:?}"),
            };
        let hint = "the record ends with its line (JSON Lines is one user a line";
        assert!(reason(&mut rules, "{", "line 1").contains(hint));
        assert!(!reason(&mut rules, "{", "record 1 (line 1)").contains(hint), "an array's element");
        assert!(!reason(&mut rules, "{]", "line 1").contains(hint), "not cut short: wrong");
    }

    /// Each record of an array read whole is named by its number and the line it starts on,
    /// counted across the records before it (also when several share a line).
    #[test]
    fn records_of_an_array_are_named_by_number_and_the_line_they_start_on() {
        let text = "[\n  {\"id\": \"a1\"},\n\n  {\"id\": \"a2\"}, {\"id\": \"a3\"},\n  {\"id\": \"a4\",\n   \"x\": 1}, {\"id\": 5}\n]";
        let reader = ImportReader::new(text.as_bytes(), Limits::default(), 0).expect("readable");
        let origins: Vec<String> = reader
            .map(|record| match record {
                Ok(new) => new.origin,
                Err(error) => error.origin,
            })
            .collect();
        assert_eq!(
            origins,
            [
                "record 1 (line 2)",
                "record 2 (line 4)",
                "record 3 (line 4)",
                "record 4 (line 5)",
                "record 5 (line 6)"
            ]
        );
    }
}
