//! What can go wrong in a store, each with what the operator should know.

use thiserror::Error;

use super::{RecordError, Revision, UserField, UserMatch, UserRef};
// Named in the doc comments only.
#[cfg(doc)]
use super::UserStore;
use crate::domain::ValidationError;

/// What can go wrong in the store, each with what the operator should know.
/// The most a user's fields other than customData may take, as stored: 1 MiB, as customData
/// may (Logto's own fields are a few hundred bytes; a social identity's data a few KB). With
/// customData and the fields export writes as `null`, a user's export line stays far under the
/// 16 MiB an import record may take, so every export imports again. It was 14 MiB: a `profile`
/// of 13.6 MB of short values took 1.4 GB to import, and as much for every `list`, `get` and
/// `export` after (a parsed tree holds ~100× such text: bb24 L04).
pub const MAX_USER_FIELDS_BYTES: usize = 1024 * 1024;

/// A user's stored JSON (its fields besides customData), refused past [`MAX_USER_FIELDS_BYTES`]:
/// every write of a user's fields goes through it (insert, upsert, bulk load).
pub(crate) fn held_to_the_user_limit<T: AsRef<[u8]>>(id: &str, json: T) -> Result<T, StoreError> {
    let size = json.as_ref().len();
    if size > MAX_USER_FIELDS_BYTES {
        return Err(StoreError::UserTooLarge { user: id.to_owned(), size });
    }
    Ok(json)
}

/// What a user's fields of `size` bytes take past [`MAX_USER_FIELDS_BYTES`], in bytes: in MiB
/// it read "would take 1 MiB, over the 1 MiB" just past the limit (bb71 F6).
pub fn fields_over_the_limit(size: usize) -> String {
    use crate::domain::custom_data::{group_digits, human_bytes};
    format!(
        "its fields besides customData would take {} B ({}), over the {} B a user may take",
        group_digits(size as u64),
        human_bytes(size),
        group_digits(MAX_USER_FIELDS_BYTES as u64)
    )
}

/// How far past this build's layout a file's may be and still be taken for a later
/// custodian's: a layout comes with each change of the tables, a few a year.
const LATER_LAYOUTS_BELIEVED: u64 = 1_000;

fn newer_schema(path: &str, found: u64, supported: u64) -> String {
    if found > supported.saturating_add(LATER_LAYOUTS_BELIEVED) {
        format!(
            "{path}: {DAMAGED_FILE}: its layout version reads {found}, which no custodian wrote (this one writes {supported}); restore it from a backup"
        )
    } else {
        format!(
            "{path}: written by a newer custodian (schema {found}; this one knows {supported}); upgrade custodian"
        )
    }
}

/// How every message about a damaged database file starts.
pub(crate) const DAMAGED_FILE: &str = "the database file is damaged";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no user {reference:?} ({looked})", reference = .0, looked = looked_in(.0))]
    UserNotFound(String),
    /// The user a save found is gone by the time it writes (deleted outside custodian, `how`
    /// as [`crate::store::UserStore::how_a_user_goes`] says): said as that, not as a lookup
    /// the operator never typed (bb41 F11).
    #[error("user {user} no longer exists ({how} while the save waited): nothing was written")]
    UserGone { user: String, how: &'static str },
    /// The path no longer names the file opened: replaced (a restore) or removed meanwhile.
    #[error(
        "{path} is no longer the file custodian opened (it was replaced or removed meanwhile): nothing was written; start custodian again to work on the file there now"
    )]
    FileReplaced { path: String },
    /// PostgreSQL would store the document larger than the limit (jsonb writes numbers such
    /// as `1e131000` out in full).
    #[error(
        "user {user}: not saved: PostgreSQL stores this customData as {} (jsonb writes a number such as 1e131000 out digit by digit), over the {} limit",
        crate::domain::custom_data::human_bytes(*size), crate::domain::custom_data::human_bytes(*limit)
    )]
    StoredTooLarge { user: String, size: usize, limit: usize },
    /// A user whose fields besides customData would take more than [`MAX_USER_FIELDS_BYTES`]:
    /// its export line could be longer than an import reads.
    #[error(
        "user {user}: not saved: {} (so that `export` writes a line `import` reads back)",
        fields_over_the_limit(*size)
    )]
    UserTooLarge { user: String, size: usize },
    /// A number no jsonb holds (PostgreSQL's numeric: up to 131072 digits before the point,
    /// 16383 after it): `1e200000`, `1e-20000`.
    #[error(
        "{server}: not saved: PostgreSQL's jsonb cannot hold a number of this customData (its numbers go up to 131072 digits before the decimal point and 16383 after it: 1e200000 or 1e-20000 are past them); nothing was written"
    )]
    NumberOutOfRange { server: String },
    /// `Id:zzz`: a bare reference whose prefix folds to an explicit form's but is not it.
    #[error(
        "{reference:?} is not the explicit form {}:… (its prefix is lower case, then an ASCII colon): say {}:{} for the {}, or username:{reference} for a name written so",
        .field.prefix(), .field.prefix(), explicit_text(.reference), .field.describe()
    )]
    LooksExplicit { reference: String, field: UserField },
    /// `id:zzz` where no user has the id `zzz`, but someone's username is `id:zzz`.
    #[error(
        "no user {reference:?}: that is the {} of user {} (to name them: {}:{})",
        .found.field.describe(), .found.id, .found.field.prefix(), .reference.trim()
    )]
    OnlyALiteralName { reference: String, found: UserMatch },
    #[error(
        "{reference:?} names more than one user: {}; say which with {}",
        .matches.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        explicit_forms(.reference, .matches)
    )]
    Ambiguous { reference: String, matches: Vec<UserMatch> },
    #[error("the schema has no revision {0} (see `custodian schema history`)")]
    SchemaRevisionNotFound(Revision),
    #[error("user {} has no revision {revision}", UserRef::shown_id(.user))]
    RevisionNotFound { user: String, revision: Revision },
    /// Ctrl-C, SIGTERM or SIGHUP during a command that goes over every user (a write, an
    /// export to a file): stopped there, nothing written.
    #[error("interrupted: nothing was written (stopped before the end; the database closed cleanly)")]
    Interrupted,
    /// [`StoreError::Interrupted`] as said of a PostgreSQL server, where nothing closes: the
    /// transaction was never committed (it said "the database closed cleanly": bb89 F3).
    #[error(
        "interrupted: nothing was written (stopped before the end; nothing of it was committed on the server)"
    )]
    InterruptedOnServer,
    #[error("{}", conflict_text(user, *expected, *found))]
    Conflict { user: String, expected: Revision, found: Revision },
    /// The stored schema the documents were checked against is no longer the current one: a
    /// `schema set` or `schema clear` committed between the check and this write.
    #[error(
        "the deployment's schema changed while this was being written ({} now, checked against {}): nothing was written; check against the schema as it is now and write again",
        schema_named(*.found), schema_named(*.seen)
    )]
    SchemaChanged { seen: Option<Revision>, found: Option<Revision> },
    #[error("{field} {value:?} already belongs to user {existing}")]
    Duplicate { field: &'static str, value: String, existing: String },
    /// A name another record of the same import gives (its user, `other`, is not written
    /// either: nothing of a refused import is).
    #[error(
        "{field} {value:?} is also given by another record of this import (user {other}'s, the same name once case, width and spaces are folded)"
    )]
    RepeatedInImport { field: &'static str, value: String, other: String },
    #[error("user id {0:?} already exists (use --upsert to replace it)")]
    IdExists(String),
    /// An id an earlier record of the same import gives: two records of one user are
    /// refused, not merged last-wins (with `--upsert` too), so the counts are of users.
    #[error(
        "user id {0:?} is also given by an earlier record of this import (an import gives each user once; --upsert does not merge two records)"
    )]
    IdRepeatedInImport(String),
    #[error("{0}")]
    InvalidRecord(RecordError),
    #[error("{origin}: {reason}")]
    RecordConflict { origin: String, reason: Box<StoreError> },
    #[error("invalid customData: {0}")]
    Invalid(#[from] ValidationError),
    #[error("the database is busy: someone else is writing; try again")]
    Busy,
    /// On PostgreSQL, a write that waited past the lock timeout for one of custodian's own
    /// tables (its history or journal), not for a user's row (bb66 F4).
    #[error(
        "another session holds a lock on custodian's own tables (a DBA's LOCK TABLE, CREATE INDEX or VACUUM FULL?): the write waited 3 s; nothing was written; try again"
    )]
    TablesHeld,
    /// On PostgreSQL a save waits for one user's row, not the database: said so, naming them
    /// (bb41: "the database is busy" while one row was held, by Logto or a script).
    #[error(
        "user {user} is being written by another session (Logto, a script, another custodian): its row stayed locked for 3 s; nothing was written; try again"
    )]
    RowHeld { user: String },
    /// On PostgreSQL, `get` or `history` of a user whose document was written outside custodian
    /// and not kept yet, while another session holds the row: no revision can name it.
    /// `never_kept`: custodian has kept nothing of this user yet (most of a deployment's
    /// users): their document was not "written outside custodian", it is the one they have
    /// (bb66 F3: a sign-in holding the row was said as an outside write).
    #[error(
        "user {user}'s customData {} and another session (Logto, a script, another custodian) holds its row: it stayed locked for 3 s, so that document could not be kept as {} and no revision of it is given; try again (`--read-only` reads it without keeping it)",
        if *.never_kept { "was never kept by custodian yet" } else { "was written outside custodian" },
        if *.never_kept { "revision 1" } else { "a revision of its own" }
    )]
    HeldWhileRead { user: String, never_kept: bool },
    /// A write on a PostgreSQL server that takes none (a hot standby, or
    /// `default_transaction_read_only` on for the database or the role).
    #[error(
        "{server}: the server takes no writes (a hot standby, or default_transaction_read_only is on): nothing was written; write through the primary, or with a role or database that may write"
    )]
    ServerTakesNoWrites { server: String },
    /// The same for a batch (`patch --yes`, `undo`, an upsert), naming the users whose rows
    /// stayed held: the whole batch is one transaction, so nothing of it was written.
    #[error(
        "the batch waited 3 s for users another session (Logto, a script, another custodian) is writing: {users}; nothing of the batch was written; try again"
    )]
    RowsHeld { users: String },
    #[error(
        "read-only: the database was opened read-only (--read-only or CUSTODIAN_READ_ONLY); nothing was written"
    )]
    ReadOnly,
    /// The path quoted as a shell word where it has a space (` ` was shown bare, and the
    /// command to copy made another file).
    #[error(
        "{shown}: no such database file (create one with `custodian init --db {quoted}`)",
        quoted = crate::inert::shell_word(path),
        shown = if path.trim() == path && !path.is_empty() { std::borrow::Cow::Borrowed(path.as_str()) } else { crate::inert::shell_word(path) }
    )]
    Missing { path: String },
    #[error("{path}: already exists; not overwriting it")]
    AlreadyExists { path: String },
    /// A symbolic link to nothing: `init` said "already exists" and every other command "no
    /// such database file (create one with `custodian init`)", sending the operator in a
    /// loop (bb31 U05).
    #[error(
        "{path}: is a symbolic link to {target}, which does not exist; custodian never makes a database through a link: give the file's own path (`custodian init --db {quoted}` makes it there)",
        quoted = crate::inert::shell_word(target)
    )]
    DanglingLink { path: String, target: String },
    #[error(
        "{path}: is a loop of symbolic links (it leads back to itself); give the database file's own path"
    )]
    LinkLoop { path: String },
    /// redb cannot read such a file read-only at all (it refuses rather than read the last
    /// committed state), so the message names the command that repairs it, and what to do
    /// first when this process may not write the file (looked at when the open failed).
    #[error(
        "{path}: was not closed cleanly (a process using it was killed, the machine stopped, or a write ran out of room on a full disk) and needs a repair, which a read-only open cannot do; repair it by opening it once without --read-only: {}`custodian --db {quoted} info` (if that says the file is damaged, restore it from a backup)",
        super::unwritable::repair_first(path, *unwritable), quoted = crate::inert::shell_word(path)
    )]
    NeedsRepair { path: String, unwritable: Option<super::Unwritable> },
    /// The path as a shell word: a blank name or one ending in a space was said bare, `:  :
    /// not a custodian database` (bb34 #5).
    #[error("{quoted}: not a custodian database ({detail})", quoted = crate::inert::shell_word(path))]
    NotADatabase { path: String, detail: String },
    /// A layout far past this build's is no custodian's: damage read as a version (bb76 F6).
    #[error("{}", newer_schema(path, *found, *supported))]
    NewerSchema { path: String, found: u64, supported: u64 },
    #[error(
        "{path}: locked by another program that has it to itself (`custodian compact`, an older custodian or a redb tool); retry when it is done"
    )]
    Locked { path: String },
    /// `compact` needs the file to itself.
    #[error(
        "{path}: compact needs the file to itself, and another program has it open (a custodian screen or command); close them and run compact again; nothing was changed"
    )]
    InUse { path: String },
    /// `compact` found a page that fails its checksum: refused before it moved one (bb82 F1).
    #[error(
        "{path}: {DAMAGED_FILE}: it fails redb's check of every page (redb: {detail}); compact refused, nothing written (compacted, the damage would be in a file no open repairs). Reads that do not meet the damaged page still work: `custodian --db {quoted} export --out FILE` tells whether every user reads, and `import` of that file into a new database makes a sound one; else restore it from a backup",
        quoted = crate::inert::shell_word(path)
    )]
    FailsItsCheck { path: String, detail: String },
    #[error("{context}: {error}")]
    Io { context: String, error: std::io::Error },
    #[error("database error: {0}")]
    Database(String),
    /// A stored document that is no JSON object: SQL wrote `null` or an array into Logto's
    /// database. That user's own trouble: a walk over many (an export, `list --json`) leaves
    /// them out, names them, and goes on.
    #[error(
        "database error: user {}: its {field} in the database is {} (written outside custodian); `custodian set {}` replaces it",
        UserRef::shown_id(.user),
        crate::domain::custom_data::NotAnObject::described(.found),
        crate::inert::shell_word(&UserRef::id_form(.user))
    )]
    StoredNotAnObject { user: String, field: &'static str, found: &'static str },
    /// A PostgreSQL server could not be reached or refused us (the password never appears).
    #[error("{0}")]
    Connection(String),
    #[error(
        "conflict: user {user} was changed outside custodian (by Logto or SQL) since it was read; nothing was written. Reload, then apply your change again"
    )]
    ChangedOutside { user: String },
    /// `set --expect-digest` on a store only custodian writes: the revision is the one given,
    /// its document is not the one of the digest (bb59 F4: it blamed Logto or SQL).
    #[error(
        "conflict: user {user} is at the revision given, but its document is not the one of digest {digest}; nothing was written. Give the digest of the document you began from"
    )]
    DigestMismatch { user: String, digest: String },
    /// An upsert's record older than the user it would change (see [`super::ImportMode`]).
    #[error(
        "user {user} was saved after this record was taken (its updatedAt {given_at} is {gap} before the stored {stored_at}): importing it would take that save back; nothing was imported. Export again and redo the edit there, or give --overwrite-newer to replace such users on purpose",
        given_at = crate::domain::time::format_utc(*given),
        stored_at = crate::domain::time::format_utc(*stored),
        gap = crate::domain::time::span_words(*stored - *given)
    )]
    ChangedSinceRecord { user: String, given: i64, stored: i64 },
    /// The same, for a user whose updatedAt is the last time custodian keeps: a save leaves it
    /// there, so a record of that time may be older than the user (bb42 F7).
    #[error(
        "user {user} has the last updatedAt custodian keeps (9999-12-31 23:59:59.999 UTC), which a save leaves as it is: whether it was saved after this record was taken cannot be told, and importing it could take that save back; nothing was imported. Give --overwrite-newer to replace it on purpose"
    )]
    AtTheLastTime { user: String },
    #[error(
        "{url}: custodian's schema is not in this database yet: no saves, journal or batches until it is; run `custodian --db {url} init` once as a role allowed to create it"
    )]
    NotInitialised { url: String },
    /// custodian's schema on PostgreSQL is an older layout than this build's: what needs the
    /// newer one (batches, the journal) waits for `init` to upgrade it.
    #[error(
        "{url}: custodian's schema here is layout {found}, older than this custodian's {wanted}, which batches and the journal need; upgrade it with `custodian --db {url} init` once, as a role allowed to alter it"
    )]
    SchemaNeedsUpgrade { url: String, found: i64, wanted: i64 },
    /// An operation this backend does not offer (exit 2: a usage error).
    #[error("{0}")]
    NotOnThisBackend(String),
    /// The server went away, or ended our session, after we were connected: nothing more is
    /// read or written until [`UserStore::reconnect`] succeeds. `detail` says what it meant
    /// for the call that found out (a save: that it did not happen).
    #[error("{server}: connection lost (the server ended the session or the network dropped){detail}")]
    ConnectionLost { server: String, detail: String },
    /// The connection went while a save's COMMIT was on its way: the server may have committed
    /// it or not. Never reported as saved; [`UserStore::save_landed`] finds out which after a
    /// reconnect.
    #[error(
        "{server}: the connection was lost while the save of user {user} was committing: custodian cannot tell yet whether it was saved (as revision {revision}); reconnect to find out"
    )]
    SaveOutcomeUnknown { server: String, user: String, revision: Revision },
    /// The same for a batch (a `patch --yes`, an `undo`): [`batch_landed`] finds out.
    #[error(
        "{server}: the connection was lost while batch {batch} was committing: custodian cannot tell yet whether it was written; `custodian changes --batch {batch}` lists its saves if it was"
    )]
    BatchOutcomeUnknown { server: String, batch: String },
    /// A statement ran past the session's `statement_timeout`: the server stopped it (a write
    /// in it was rolled back).
    #[error(
        "{server}: the server did not answer within {seconds} s (statement_timeout); nothing was changed. Try again, or look at the server's load"
    )]
    TimedOut { server: String, seconds: u64 },
    #[error("no batch {0:?} (see `custodian changes` for the batches there are)")]
    BatchNotFound(String),
    /// `undo` of a bulk load's id (`changes` shows it where a batch's goes).
    #[error(
        "{load} is a bulk load of {} (a seed, or an import into an empty database), not a batch of saves: it cannot be undone (its users have no revision before it)",
        crate::domain::patch::users(*users)
    )]
    LoadNotUndoable { load: String, users: u64 },
    /// The statement was cancelled on purpose (a filter scan the next keystroke replaced).
    #[error("the query was cancelled")]
    Cancelled,
}

/// `id:bob or username:bob`: the explicit forms that pick one of the matches; the ids when
/// two matched by the same field (users an upgrade found colliding under the fold).
/// What follows the prefix of a reference that reads like an explicit form.
/// Where a lookup of `reference` looked: every field for a bare one, its field alone for an
/// explicit one (`email:zzz` was never looked up as an id or a username).
fn looked_in(reference: &str) -> String {
    let parsed = UserRef::parse(reference);
    match parsed.field {
        None => "looked for an id, a username, a primary email and a primary phone".to_owned(),
        Some(field) => {
            let article = if field == UserField::Id { "an" } else { "a" };
            format!("looked only for {article} {} {:?}", field.describe(), parsed.text)
        }
    }
}

fn explicit_text(reference: &str) -> &str {
    crate::domain::user_ref::split_at_a_colon(reference).map_or(reference, |(_, text)| text)
}

fn explicit_forms(reference: &str, matches: &[UserMatch]) -> String {
    let mut fields: Vec<UserField> = matches.iter().map(|m| m.field).collect();
    fields.sort();
    fields.dedup();
    let forms: Vec<String> = if fields.len() == matches.len() {
        fields.iter().map(|f| format!("{}:{reference}", f.prefix())).collect()
    } else {
        matches.iter().map(|m| UserRef::id_form(&m.id)).collect()
    };
    match forms.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => forms.join(""),
    }
}

impl StoreError {
    /// A record's failure, said with the record's line — unless it is the store's own (the
    /// disk, the file-size limit, a signal, the server): `line 54: database error: the file may
    /// not grow …` blamed a record for the process's limit (bb50 F6).
    pub fn of_record(origin: String, reason: StoreError) -> StoreError {
        match reason {
            StoreError::Io { .. }
            | StoreError::Database(_)
            | StoreError::Interrupted
            | StoreError::Cancelled
            | StoreError::ConnectionLost { .. }
            | StoreError::TimedOut { .. } => reason,
            reason => StoreError::RecordConflict { origin, reason: Box::new(reason) },
        }
    }

    /// Whether the database file is damaged (cut short, a page unreadable): no write to it can
    /// succeed until it is restored.
    pub fn is_file_damaged(&self) -> bool {
        matches!(self, StoreError::Database(message) if message.starts_with(DAMAGED_FILE))
    }

    /// The damage said with the file it is in, once: a read's own words name no file, and a
    /// script going over several databases must know which one it was (bb76 F2).
    pub fn naming_the_damaged_file(self, path: &str) -> Self {
        match self {
            StoreError::Database(message) if message.starts_with(DAMAGED_FILE) => {
                StoreError::Database(format!("{path}: {message}"))
            }
            other => other,
        }
    }

    /// Whether the error is a refusal because of someone else's data (exit code 5).
    pub fn is_conflict(&self) -> bool {
        match self {
            // A record's failure is a conflict when its reason is one (not a full disk).
            StoreError::RecordConflict { reason, .. } => reason.is_conflict(),
            _ => matches!(
                self,
                StoreError::Conflict { .. }
                    | StoreError::ChangedOutside { .. }
                    | StoreError::ChangedSinceRecord { .. }
                    | StoreError::DigestMismatch { .. }
                    | StoreError::AtTheLastTime { .. }
                    | StoreError::Duplicate { .. }
                    | StoreError::RepeatedInImport { .. }
                    | StoreError::IdExists(_)
                    | StoreError::IdRepeatedInImport(_)
            ),
        }
    }

    /// Whether the store lost its connection and must reconnect before anything else works.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            StoreError::ConnectionLost { .. }
                | StoreError::SaveOutcomeUnknown { .. }
                | StoreError::BatchOutcomeUnknown { .. }
        )
    }
}

/// A refused `expected` revision in words: an older one means someone saved in between; one
/// that never was (0, or past the current) is the caller's mistake, not someone else's save.
/// A schema as [`StoreError::SchemaChanged`] names it: its revision, or that none is set.
fn schema_named(revision: Option<Revision>) -> String {
    match revision {
        Some(revision) => format!("revision {revision}"),
        None => "none set".to_owned(),
    }
}

fn conflict_text(user: &str, expected: Revision, found: Revision) -> String {
    if expected == 0 || expected > found {
        return format!(
            "conflict: user {user} is at revision {found}; revision {expected} does not exist (revisions count from 1), so nothing was compared. Give the revision you read"
        );
    }
    format!(
        "conflict: user {user} is at revision {found}, not {expected}; someone saved in between. Reload, then apply your change again"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, field: UserField) -> UserMatch {
        UserMatch { id: id.to_owned(), field }
    }

    /// "a bulk load of 1 users" (bb30 T04).
    #[test]
    fn a_load_that_cannot_be_undone_counts_its_users_in_words() {
        let said = |users| StoreError::LoadNotUndoable { load: "l1".into(), users }.to_string();
        assert!(said(1).starts_with("l1 is a bulk load of 1 user ("), "{}", said(1));
        assert!(said(2).starts_with("l1 is a bulk load of 2 users ("), "{}", said(2));
    }

    #[test]
    fn a_stored_non_object_names_the_form_that_picks_its_user_exactly() {
        let said = |user: &str| {
            StoreError::StoredNotAnObject { user: user.into(), field: "customData", found: "null" }
                .to_string()
        };
        assert!(
            said("nul1").contains("user nul1: its customData")
                && said("nul1").contains("`custodian set id:nul1`")
        );
        // An id SQL wrote as a JSON string's text, or with white space: `id:"ab"` would name
        // the user `ab` (review of bb11 G12).
        let quoted = said("\"ab\"");
        assert!(quoted.contains(r#"user "\"ab\"": its"#), "{quoted}");
        assert!(quoted.contains(r#"`custodian set 'id:"\"ab\""'`"#), "{quoted}");
        assert!(said(" f15a").contains(r#"`custodian set 'id:" f15a"'`"#));
    }

    #[test]
    fn a_reference_that_only_looks_explicit_is_told_the_form_it_looks_like() {
        let error = StoreError::LooksExplicit { reference: "Id:zzz".into(), field: UserField::Id };
        assert_eq!(
            error.to_string(),
            "\"Id:zzz\" is not the explicit form id:… (its prefix is lower case, then an ASCII colon): say id:zzz for the id, or username:Id:zzz for a name written so"
        );
    }

    #[test]
    fn an_ambiguous_reference_is_told_the_explicit_forms_that_pick_one_user() {
        let ambiguous = |matches| StoreError::Ambiguous { reference: "bob".into(), matches }.to_string();
        assert_eq!(
            ambiguous(vec![found("u2", UserField::Username), found("u1", UserField::Id)]),
            "\"bob\" names more than one user: user u2 by username, user u1 by id; say which with id:bob or username:bob"
        );
        // The fields in their fixed order, the last one after `or`.
        assert!(
            ambiguous(vec![
                found("u3", UserField::Phone),
                found("u1", UserField::Id),
                found("u2", UserField::Email)
            ])
            .ends_with("; say which with id:bob, email:bob or phone:bob")
        );
        // Two users by the same field (colliding under the fold): only their ids tell them apart.
        assert!(
            ambiguous(vec![found("u1", UserField::Username), found("u2", UserField::Username)])
                .ends_with("; say which with id:u1 or id:u2")
        );
    }

    #[test]
    fn not_found_says_the_fields_the_reference_was_looked_up_in() {
        let said = |reference: &str| StoreError::UserNotFound(reference.into()).to_string();
        assert_eq!(
            said("ghost"),
            "no user \"ghost\" (looked for an id, a username, a primary email and a primary phone)"
        );
        assert_eq!(said("email:zzz"), "no user \"email:zzz\" (looked only for a primary email \"zzz\")");
        assert_eq!(said(" id: p1"), "no user \" id: p1\" (looked only for an id \"p1\")");
        assert_eq!(said("username:Ann"), "no user \"username:Ann\" (looked only for a username \"Ann\")");
        assert_eq!(said("phone:+1 5"), "no user \"phone:+1 5\" (looked only for a primary phone \"+1 5\")");
    }

    #[test]
    fn a_conflict_tells_a_save_in_between_from_a_revision_that_never_was() {
        let conflict =
            |expected, found| StoreError::Conflict { user: "u1".into(), expected, found }.to_string();
        let in_between = "conflict: user u1 is at revision 3, not 2; someone saved in between. Reload, then apply your change again";
        assert_eq!(conflict(2, 3), in_between);
        let never = |expected| {
            format!(
                "conflict: user u1 is at revision 3; revision {expected} does not exist (revisions count from 1), so nothing was compared. Give the revision you read"
            )
        };
        assert_eq!(conflict(0, 3), never(0));
        assert_eq!(conflict(4, 3), never(4));
    }

    #[test]
    fn refusals_over_someone_elses_data_are_conflicts_and_a_lost_connection_is_told_apart() {
        let conflicts = [
            StoreError::Conflict { user: "u1".into(), expected: 1, found: 2 },
            StoreError::ChangedOutside { user: "u1".into() },
            StoreError::Duplicate { field: "username", value: "bob".into(), existing: "u2".into() },
            StoreError::IdExists("u1".into()),
            StoreError::RecordConflict {
                origin: "line 1".into(),
                reason: Box::new(StoreError::IdExists("u1".into())),
            },
        ];
        for error in &conflicts {
            assert!(error.is_conflict() && !error.is_connection_lost(), "{error}");
        }
        let lost = [
            StoreError::ConnectionLost { server: "db".into(), detail: String::new() },
            StoreError::SaveOutcomeUnknown { server: "db".into(), user: "u1".into(), revision: 2 },
        ];
        for error in &lost {
            assert!(error.is_connection_lost() && !error.is_conflict(), "{error}");
        }
        for error in [StoreError::Busy, StoreError::TimedOut { server: "db".into(), seconds: 5 }] {
            assert!(!error.is_conflict() && !error.is_connection_lost(), "{error}");
        }
        // A record that failed for a reason that is no conflict (a full disk) is none either.
        let full = StoreError::RecordConflict {
            origin: "line 25748".into(),
            reason: Box::new(StoreError::Database("I/O error: No space left on device (os error 28)".into())),
        };
        assert!(!full.is_conflict(), "{full}");
    }
}
