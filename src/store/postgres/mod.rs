//! The PostgreSQL implementation of [`UserStore`]: Logto's own `users` table, read and
//! written in place, one tenant at a time, with custodian's history in a schema of its own.
//!
//! Every query names the tenant (`where tenant_id = $1`) and runs under the tenant's own
//! role (`set role`, when the connecting role may), so Logto's row-level security guards
//! each statement a second time. Only the columns the Management API shows are selected:
//! never the password hash, its method, MFA secrets or Logto's private config.
//!
//! **Revision** on this backend: custodian's history rows for the user hold every document
//! it saved or found (revision 1, 2, …). The current revision is the newest row's number
//! when that row's document is the one in `users.custom_data` (jsonb equality), and one more
//! when it is not (someone changed customData outside custodian since); 1 when there is no
//! row. A save writes the document it replaces first when it has no row yet, so the history
//! stays complete. A save checks the revision, and, when this process read the document
//! being replaced, that `users.updated_at` is still what it read (Logto's `set_updated_at`
//! trigger moves it on every write, so any outside write in between is a conflict).

pub mod connect;
mod keys;
mod schema;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{CancelToken, Client, Row};
use serde_json::{Map, Value};

pub use keys::KeySync;
pub use schema::POSTGRES_SCHEMA_VERSION;

use self::connect::{ConnectionSpec, Environment};
use super::{
    Author, ImportMode, ImportSummary, KeyOrder, ListEntry, ListKey, NewUser, RecordError, Revision,
    RevisionInfo, SEARCH_STEP, SaveOutcome, ScanStep, Seek, StoreError, StoredDocument, StoredSchema,
    UserCount, UserField, UserMatch, UserRecord, UserRef, UserStore,
};
use crate::domain::custom_data::canonical_text;
use crate::domain::diff::dropped_keys;
use crate::domain::filter::Filter;
use crate::domain::fold::{name_key, phone_key};
use crate::domain::{CustomData, User};

/// How to open a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Logto's tenant id (`tenants.id`) whose users are shown: `default` unless told.
    pub tenant: String,
    pub read_only: bool,
    /// The session's `statement_timeout`: how long any one statement may run before the
    /// server stops it, so a stuck server never holds custodian forever.
    /// [`SCREEN_STATEMENT_TIMEOUT`] for the screen, [`CLI_STATEMENT_TIMEOUT`] (the default)
    /// for scripts.
    pub statement_timeout: Duration,
    /// Read the list, the filter's prefixes and its scan through custodian's key table
    /// (`custodian.user_keys`, see [`keys`]): index order at any number of users, at the
    /// price of keys that may lag behind writes made outside custodian until
    /// [`UserStore::sync_keys`]. Taken only when the session may write (it must be able to
    /// sync) and `init` made the table; otherwise every read computes the order afresh.
    /// For the screen, which syncs; never for the CLI, whose `list` and `export` must not
    /// miss a user Logto just created.
    pub use_key_table: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            tenant: "default".to_owned(),
            read_only: false,
            statement_timeout: CLI_STATEMENT_TIMEOUT,
            use_key_table: false,
        }
    }
}

/// The screen's statements (a page, a user, a filter step, a save) answer in milliseconds;
/// one that takes this long means a stuck or overloaded server, and the screen says so.
pub const SCREEN_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The scripting commands' statements, and every export's (a sort of the whole tenant may
/// take a while on a big one before the first row comes).
pub const CLI_STATEMENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Who is named in the history for a document custodian did not write.
const OUTSIDE: &str = "outside custodian";
/// How long a save waits for a row another session holds before saying "busy" (as redb).
const LOCK_TIMEOUT: &str = "3s";
/// The columns of a user that custodian reads: the Management API's, nothing more. The
/// last is the `updated_at` in microseconds (the conflict check); the lower-cased handle
/// (the list order) follows them, from [`EXACT_HANDLE`] or the key table.
const USER_COLUMNS: &str = "u.id, u.username, u.primary_email, u.primary_phone, u.name, u.avatar, \
    u.profile::text, u.identities::text, u.application_id, u.is_suspended, \
    floor(extract(epoch from u.last_sign_in_at) * 1000)::int8, \
    floor(extract(epoch from u.created_at) * 1000)::int8, \
    floor(extract(epoch from u.updated_at) * 1000)::int8, \
    (extract(epoch from u.updated_at) * 1000000)::int8";
/// The lower-cased handle: the list order's first part, the column after [`USER_COLUMNS`].
const EXACT_HANDLE: &str = "lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id))";
const COLUMN_COUNT: usize = 15;
/// The list order: the lower-cased handle, then the id, compared as bytes ("C"), which is
/// the order of redb's `handle.to_lowercase() + NUL + id` keys (see [`list_order`]).
const ORDER_KEY: &str =
    "lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)) collate \"C\", u.id collate \"C\"";

/// The newest history row of `u`, for the revision facts (only with custodian's schema).
const LATEST_HISTORY: &str = "left join lateral (select h.revision, h.custom_data = u.custom_data as same, \
    h.saved_at, h.saved_by from custodian.history h \
    where h.tenant_id = u.tenant_id and h.user_id = u.id order by h.revision desc limit 1) h on true";
const REVISION_COLUMNS: &str = "case when h.revision is null then 1 when h.same then h.revision else h.revision + 1 end, \
    floor(extract(epoch from case when h.same then h.saved_at else u.updated_at end) * 1000)::int8, \
    case when h.same then h.saved_by else 'outside custodian' end";
const NO_HISTORY_COLUMNS: &str =
    "1::int8, floor(extract(epoch from u.updated_at) * 1000)::int8, 'outside custodian'::text";

/// Up to this many users `user_count` counts; more, and it asks the planner.
const EXACT_COUNT_LIMIT: i64 = 10_000;

/// The text of an `EXPLAIN (FORMAT JSON)` answer (a `json` column, which the client reads
/// into no standard type).
struct PlanJson(String);

impl<'a> postgres::types::FromSql<'a> for PlanJson {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(std::str::from_utf8(raw)?.to_owned()))
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::JSON
    }
}

impl PlanJson {
    /// The rows the plan's top node expects (`[{"Plan": {"Plan Rows": N}}]`).
    fn rows(&self) -> Option<u64> {
        let plan: Value = serde_json::from_str(&self.0).ok()?;
        let rows = plan.get(0)?.get("Plan")?.get("Plan Rows")?;
        rows.as_u64().or_else(|| rows.as_f64().map(|r| r.max(0.0).round() as u64))
    }
}

/// A connected session and what it found out while setting up.
struct Session {
    client: Client,
    role: String,
    initialised: bool,
    /// Whether the list may read `custodian.user_keys` (see [`PostgresStore`]'s `keyed`).
    keyed: bool,
}

/// A store on one tenant of a Logto database.
pub struct PostgresStore {
    client: Mutex<Client>,
    /// Cancels the statement the session runs now, from another thread (the client itself
    /// is locked by the call that waits for it).
    cancel: Mutex<CancelToken>,
    spec: ConnectionSpec,
    statement_timeout: Duration,
    tenant: String,
    /// The role the session works as (the tenant's own when we could switch to it).
    role: String,
    read_only: bool,
    /// Whether `custodian --db URL init` made custodian's schema in this database.
    initialised: bool,
    /// Whether [`PostgresOptions::use_key_table`] was asked for (kept for
    /// [`PostgresStore::another_connection`]).
    key_table_asked: bool,
    /// Whether the list, prefixes and scan read `custodian.user_keys` (see [`keys`]).
    keyed: bool,
    /// Per user, the revision and `updated_at` (µs) of the document this process last read
    /// with [`UserStore::custom_data`] or saved: a save over it checks both.
    seen: Mutex<HashMap<String, (Revision, i64)>>,
    /// The exact path's filter scan in progress (see [`PostgresStore::exact_scan_step`]).
    open_scan: Mutex<Option<OpenScan>>,
}

/// A filter scan on the exact path, between two of its steps: the tenant sorted once into
/// the server-side cursor `custodian_scan`, in a read-only snapshot left open while the
/// next step is the one that continues it. Step by step, each step would sort what is left
/// of the tenant again (0.76 s a step at 1M users: a scan to the end took minutes).
struct OpenScan {
    query: String,
    /// The list key the next step starts after.
    next: ListKey,
}

/// A PostgreSQL error as one line for the operator, naming the server without a password.
fn describe(spec: &ConnectionSpec, error: &postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        use postgres::error::SqlState;
        let code = db.code();
        if *code == SqlState::LOCK_NOT_AVAILABLE {
            return StoreError::Busy;
        }
        let what = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            format!("the server refused role {:?}: {}", spec.user, db.message())
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!("database {:?} does not exist", spec.dbname)
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            format!("role {:?} may not do this: {}", spec.user, db.message())
        } else {
            db.message().to_owned()
        };
        return StoreError::Connection(format!("{spec}: {what}"));
    }
    if error.is_closed() {
        return StoreError::Connection(format!("{spec}: connection lost"));
    }
    // The client's own words ("error connecting to server: Connection refused", "timeout
    // waiting for server", "error performing TLS handshake: ..."), with their cause.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    StoreError::Connection(format!("{spec}: {message}"))
}

/// An error of a session that was up: a connection that went (closed, an I/O error, the
/// server or an administrator ending the session) is [`StoreError::ConnectionLost`], a
/// statement the server stopped is [`StoreError::TimedOut`] or [`StoreError::Cancelled`];
/// the rest as [`describe`] says.
fn session_error(spec: &ConnectionSpec, statement_timeout: Duration, error: &postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        if *code == SqlState::QUERY_CANCELED {
            // The server's words tell a timeout from a cancel request.
            return if db.message().contains("statement timeout") {
                StoreError::TimedOut {
                    server: spec.to_string(),
                    seconds: statement_timeout.as_millis().div_ceil(1000) as u64,
                }
            } else {
                StoreError::Cancelled
            };
        }
        // 57P01-57P03: the server is shutting down or an administrator ended the session
        // (pg_terminate_backend); class 08: the connection itself failed.
        if [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(code)
            || code.code().starts_with("08")
        {
            return lost(spec);
        }
        return describe(spec, error);
    }
    let mut source = std::error::Error::source(error);
    let mut io = false;
    while let Some(cause) = source {
        io |= cause.is::<std::io::Error>();
        source = cause.source();
    }
    if error.is_closed() || io { lost(spec) } else { describe(spec, error) }
}

fn lost(spec: &ConnectionSpec) -> StoreError {
    StoreError::ConnectionLost { server: spec.to_string(), detail: String::new() }
}

/// Splits a list key (`lower-cased handle NUL id`) into its two parts.
/// Where a page starts, as SQL reads it: the comparison with the key (none at either end)
/// and whether the page is read backwards (from the end, or before a key).
fn seek_bound(seek: &Seek) -> (Option<(&'static str, &ListKey)>, bool) {
    match seek {
        Seek::First => (None, false),
        Seek::Last => (None, true),
        Seek::From(key) => (Some((">=", key)), false),
        Seek::After(key) => (Some((">", key)), false),
        Seek::Before(key) => (Some(("<", key)), true),
    }
}

fn key_parts(key: &ListKey) -> (&str, &str) {
    key.0.rsplit_once('\0').unwrap_or(("", key.0.as_str()))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_prefix(text: &str) -> String {
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

/// The filter's rule over scan rows (id, username, email, phone, name, customData text and
/// the lower-cased handle, in list order), up to `max_hits` hits: the hits' ids, how many
/// rows were read, and the list key of the last one read.
fn filter_rows(
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
        // The filter's own rule, as on redb: a profile field first, then customData (each
        // user is a hit once).
        let hit = filter.in_text(&id)
            || profile.iter().flatten().any(|field| filter.in_text(field))
            || match &document {
                Some(text) if filter.may_occur_in_json(text) => {
                    filter.in_document(&parse_object(&id, "customData", Some(text.clone()))?)
                }
                _ => false,
            };
        last = Some(ListKey(format!("{lower_handle}\0{id}")));
        if hit {
            hit_ids.push(id);
        }
    }
    Ok((hit_ids, scanned, last))
}

fn parse_object(id: &str, field: &str, text: Option<String>) -> Result<Map<String, Value>, StoreError> {
    match text {
        None => Ok(Map::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Database(format!("user {id}: {field} is not a JSON object: {e}"))),
    }
}

/// What one row of [`USER_COLUMNS`] + revision columns holds (the `updated_at` in µs,
/// column 13, is read only where a save needs it).
struct UserRow {
    record: UserRecord,
    key: ListKey,
}

impl UserRow {
    fn read(row: &Row, offset: usize) -> Result<Self, StoreError> {
        let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
        let text = |i: usize| row.try_get::<_, Option<String>>(offset + i).map_err(bad);
        let id: String = row.try_get(offset).map_err(bad)?;
        let user = User {
            username: text(1)?,
            primary_email: text(2)?,
            primary_phone: text(3)?,
            name: text(4)?,
            avatar: text(5)?,
            profile: parse_object(&id, "profile", text(6)?)?,
            identities: parse_object(&id, "identities", text(7)?)?,
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

    fn entry(self) -> ListEntry {
        ListEntry { key: self.key, revision: self.record.revision, user: Box::new(self.record.user) }
    }
}

/// The canonical text of a jsonb document as PostgreSQL returns it (its key order).
fn canonical_from_jsonb(id: &str, text: &str) -> Result<String, StoreError> {
    let object: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("user {id}: customData is not a JSON object: {e}")))?;
    Ok(canonical_text(&object))
}

fn compact_from_jsonb(id: &str, text: &str) -> Result<String, StoreError> {
    let object: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("user {id}: customData is not a JSON object: {e}")))?;
    serde_json::to_string(&object).map_err(|e| StoreError::Database(e.to_string()))
}

impl PostgresStore {
    /// Connects to a Logto database and settles on one tenant: checks that the database is
    /// Logto's, finds the tenant's role and works as it.
    pub fn connect(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        Self::connect_spec(ConnectionSpec::parse(url, &Environment::current())?, options)
    }

    /// A second connection to the same database, tenant and role: the filter's background
    /// scan gets one of its own, so a scan step never waits for the screen's queries (nor
    /// they for it).
    pub fn another_connection(&self) -> Result<Self, StoreError> {
        Self::connect_spec(self.spec.clone(), &self.options())
    }

    fn options(&self) -> PostgresOptions {
        PostgresOptions {
            tenant: self.tenant.clone(),
            read_only: self.read_only,
            statement_timeout: self.statement_timeout,
            use_key_table: self.key_table_asked,
        }
    }

    fn connect_spec(spec: ConnectionSpec, options: &PostgresOptions) -> Result<Self, StoreError> {
        let session = Self::open_session(&spec, options)?;
        Ok(Self {
            cancel: Mutex::new(session.client.cancel_token()),
            client: Mutex::new(session.client),
            spec,
            statement_timeout: options.statement_timeout,
            tenant: options.tenant.clone(),
            role: session.role,
            read_only: options.read_only,
            initialised: session.initialised,
            key_table_asked: options.use_key_table,
            keyed: session.keyed,
            seen: Mutex::new(HashMap::new()),
            open_scan: Mutex::new(None),
        })
    }

    /// One session, ready: the database checked to be Logto's, the tenant's role taken (when
    /// the connecting role may), the timeouts and read-only mode set.
    fn open_session(spec: &ConnectionSpec, options: &PostgresOptions) -> Result<Session, StoreError> {
        let mut client = Self::client(spec)?;
        let fail = |e: postgres::Error| describe(spec, &e);
        let row = client
            .query_one(
                "select to_regclass('public.users') is not null and to_regclass('public.tenants') is not null, current_user::text",
                &[],
            )
            .map_err(fail)?;
        if !row.get::<_, bool>(0) {
            return Err(StoreError::Connection(format!(
                "{spec}: not a Logto database (no `users` and `tenants` tables in schema public)"
            )));
        }
        let mut role: String = row.get(1);
        let tenant_role: Option<Option<String>> = client
            .query_opt("select db_user::text from public.tenants where id = $1", &[&options.tenant])
            .map_err(fail)?
            .map(|r| r.get(0));
        match tenant_role {
            None => {
                return Err(StoreError::Connection(format!(
                    "{spec}: no tenant {:?} that role {role:?} can see (a tenant's own role sees only its tenant)",
                    options.tenant
                )));
            }
            Some(Some(tenant_role)) if tenant_role != role => {
                let member = client
                    .query_one("select pg_has_role(current_user, $1, 'MEMBER')", &[&tenant_role])
                    .map_err(fail)?
                    .get::<_, bool>(0);
                if member {
                    // From here on Logto's row-level security sees the tenant's role.
                    client.execute("select set_config('role', $1, false)", &[&tenant_role]).map_err(fail)?;
                    role = tenant_role;
                }
            }
            Some(_) => {}
        }
        // Whole milliseconds, at least one (0 would mean no limit at all).
        let timeout_ms = options.statement_timeout.as_millis().clamp(1, i32::MAX as u128);
        let mut settings =
            format!("set lock_timeout = '{LOCK_TIMEOUT}'; set statement_timeout = {timeout_ms};");
        if options.read_only {
            settings.push_str("set default_transaction_read_only = on;");
        }
        client.batch_execute(&settings).map_err(fail)?;
        // A role without rights on `users` is told so now, not on the first page.
        client
            .query("select u.id from public.users u where u.tenant_id = $1 limit 1", &[&options.tenant])
            .map_err(fail)?;
        let initialised = client
            .query_one(
                "select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = 'custodian' and c.relname = 'history')",
                &[],
            )
            .map_err(fail)?
            .get(0);
        let keyed = options.use_key_table
            && !options.read_only
            && initialised
            && keys::usable(&mut client).map_err(fail)?;
        Ok(Session { client, role, initialised, keyed })
    }

    /// Connects within `connect_timeout`, as libpq does: the client's own timeout covers only
    /// the TCP connect, not a server that accepts and then never answers.
    fn client(spec: &ConnectionSpec) -> Result<Client, StoreError> {
        let (config, tls) = spec.client_config()?;
        let (answer, connected) = std::sync::mpsc::channel();
        let thread_spec = spec.clone();
        std::thread::Builder::new()
            .name("custodian-connect".into())
            .spawn(move || {
                let _ = answer.send(config.connect(tls).map_err(|e| describe(&thread_spec, &e)));
            })
            .map_err(|e| StoreError::Connection(format!("{spec}: cannot start connecting: {e}")))?;
        match connected.recv_timeout(spec.connect_timeout) {
            Ok(result) => result,
            // The thread is left to the OS's own timeout; nothing waits for it.
            Err(_) => Err(StoreError::Connection(format!(
                "{spec}: no answer within {} s (connect_timeout)",
                spec.connect_timeout.as_secs()
            ))),
        }
    }

    /// Creates custodian's schema in the database at `url` (history, its row-level security
    /// and grants for every tenant role). Idempotent. Returns the connection's description.
    pub fn init(url: &str) -> Result<String, StoreError> {
        let spec = ConnectionSpec::parse(url, &Environment::current())?;
        let mut client = Self::client(&spec)?;
        let fail = |e: postgres::Error| describe(&spec, &e);
        let logto: bool = client
            .query_one("select to_regclass('public.users') is not null and to_regclass('public.tenants') is not null", &[])
            .map_err(fail)?
            .get(0);
        if !logto {
            return Err(StoreError::Connection(format!(
                "{spec}: not a Logto database (no `users` and `tenants` tables)"
            )));
        }
        let mut tx = client.transaction().map_err(fail)?;
        schema::create(&mut tx).map_err(fail)?;
        tx.commit().map_err(fail)?;
        // Every tenant's keys, as the superuser (or whoever may) sees them: a first screen
        // after init reads them at once.
        let tenants: Vec<String> = client
            .query("select id from public.tenants order by id", &[])
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for tenant in &tenants {
            keys::sync(&mut client, tenant).map_err(fail)?;
        }
        Ok(spec.to_string())
    }

    /// The server and role, without the password: for `info` and messages.
    pub fn describe_connection(&self) -> String {
        format!("{} (tenant {:?}, working as role {:?})", self.spec, self.tenant, self.role)
    }

    /// Which database and tenant this is, for the drafts' bookkeeping: no password in it.
    pub fn draft_identity(&self) -> String {
        format!("{}#tenant={}", self.spec, self.tenant)
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The role every statement runs as.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Whether custodian's schema is in the database (saves need it).
    pub fn is_initialised(&self) -> bool {
        self.initialised
    }

    /// The session, for anything but a scan's next step: a scan left open between steps is
    /// ended first, so no other call runs inside its read-only snapshot.
    fn lock(&self) -> MutexGuard<'_, Client> {
        let mut client = self.session();
        self.end_scan(&mut client);
        client
    }

    fn session(&self) -> MutexGuard<'_, Client> {
        // A panic while holding the client leaves nothing half-done on our side: the server
        // rolls back an open transaction when the connection goes, so the guard is reusable.
        self.client.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the scan left open between steps, if any (its transaction only read).
    fn end_scan(&self, client: &mut Client) {
        let open = self.open_scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if open.is_some() {
            let _ = client.batch_execute("rollback");
        }
    }

    fn fail(&self, error: postgres::Error) -> StoreError {
        session_error(&self.spec, self.statement_timeout, &error)
    }

    /// `select <user columns> <handle> <revision columns> from users u <history join>` + `tail`.
    fn select_users(&self, tail: &str) -> String {
        self.select_users_from("public.users u", self.handle_column(), tail)
    }

    /// As [`Self::select_users`], from `from` (which names the user `u`), with `handle` as
    /// the list order's first part.
    fn select_users_from(&self, from: &str, handle: &str, tail: &str) -> String {
        if self.initialised {
            format!("select {USER_COLUMNS}, {handle}, {REVISION_COLUMNS} from {from} {LATEST_HISTORY} {tail}")
        } else {
            format!("select {USER_COLUMNS}, {handle}, {NO_HISTORY_COLUMNS} from {from} {tail}")
        }
    }

    fn query_users(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<UserRow>, StoreError> {
        let rows = self.lock().query(sql, params).map_err(|e| self.fail(e))?;
        rows.iter().map(|row| UserRow::read(row, 0)).collect()
    }

    fn one_user(&self, id: &str) -> Result<UserRow, StoreError> {
        let sql = self.select_users("where u.tenant_id = $1 and u.id = $2");
        let mut rows = self.query_users(&sql, &[&self.tenant, &id])?;
        rows.pop().ok_or_else(|| StoreError::UserNotFound(id.to_owned()))
    }

    /// The stored document and its revision, without noting that it was read.
    fn current_document(&self, id: &str) -> Result<(StoredDocument, i64), StoreError> {
        let revision = if self.initialised { REVISION_COLUMNS } else { NO_HISTORY_COLUMNS };
        let join = if self.initialised { LATEST_HISTORY } else { "" };
        let sql = format!(
            "select u.custom_data::text, {revision}, (extract(epoch from u.updated_at) * 1000000)::int8 \
             from public.users u {join} where u.tenant_id = $1 and u.id = $2"
        );
        let row = self
            .lock()
            .query_opt(&sql, &[&self.tenant, &id])
            .map_err(|e| self.fail(e))?
            .ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let text: String = row.get(0);
        let revision: i64 = row.get(1);
        let document =
            StoredDocument { text: canonical_from_jsonb(id, &text)?, revision: revision.max(1) as Revision };
        Ok((document, row.get(4)))
    }

    /// One scan step from `rows` (see [`filter_rows`]), the hits read whole.
    fn scan_step(
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
    fn read_hits(&self, hit_ids: &[String]) -> Result<Vec<ListEntry>, StoreError> {
        if hit_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_hits_on(&mut self.lock(), hit_ids)
    }

    /// As [`PostgresStore::read_hits`], on a session the caller holds (inside a scan).
    fn read_hits_on(&self, client: &mut Client, hit_ids: &[String]) -> Result<Vec<ListEntry>, StoreError> {
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
    fn exact_scan_step(
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

    fn continue_or_start_scan(
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
    fn search_from_one_portal(
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
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(fail)?;
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
    fn has_schema_table(&self) -> Result<bool, StoreError> {
        let row = self
            .lock()
            .query_one("select to_regclass('custodian.schema_history') is not null", &[])
            .map_err(|e| self.fail(e))?;
        Ok(row.get(0))
    }

    fn remember(&self, id: &str, revision: Revision, updated_micros: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.insert(id.to_owned(), (revision, updated_micros));
    }

    fn seen(&self, id: &str) -> Option<(Revision, i64)> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(id).copied()
    }
}

impl UserStore for PostgresStore {
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn reconnect(&self) -> Result<(), StoreError> {
        {
            let mut client = self.lock();
            if !client.is_closed() && client.is_valid(self.spec.connect_timeout).is_ok() {
                return Ok(());
            }
        }
        // Connected without holding the client: a call on the other lane fails at once on the
        // dead one meanwhile instead of waiting here.
        let session = Self::open_session(&self.spec, &self.options())?;
        let token = session.client.cancel_token();
        *self.lock() = session.client;
        *self.cancel.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = token;
        tracing::info!(server = %self.spec, "reconnected");
        Ok(())
    }

    fn cancel_running(&self) {
        let token = self.cancel.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let Ok((_, tls)) = self.spec.client_config() else { return };
        // The cancel request is a connection of its own: never on the caller's thread (the
        // screen's), and a failure only means the statement runs to its end.
        let _ = std::thread::Builder::new().name("custodian-cancel".into()).spawn(move || {
            let _ = crate::crash::catch(|| token.cancel_query(tls));
        });
    }

    fn save_landed(&self, id: &str, data: &CustomData, revision: Revision) -> Result<bool, StoreError> {
        if !self.initialised {
            return Ok(false);
        }
        // jsonb equality, as the save compared: the document stored as that revision.
        let row = self
            .lock()
            .query_opt(
                "select h.custom_data = $4::text::jsonb from custodian.history h \
                 where h.tenant_id = $1 and h.user_id = $2 and h.revision = $3",
                &[&self.tenant, &id, &(revision.min(i64::MAX as u64) as i64), &data.compact()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(row.is_some_and(|row| row.get::<_, bool>(0)))
    }

    fn count(&self) -> Result<u64, StoreError> {
        let row = self
            .lock()
            .query_one("select count(*) from public.users u where u.tenant_id = $1", &[&self.tenant])
            .map_err(|e| self.fail(e))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    /// Counted exactly up to [`EXACT_COUNT_LIMIT`] users (a bounded read of Logto's
    /// `(tenant_id, id)` index: a few ms), the planner's estimate above it. `count(*)` over a
    /// million-user tenant reads the whole index (about a second); the planner's figure comes
    /// from the statistics ANALYZE keeps for `tenant_id` (its share of the table, times the
    /// table's current size), under the same row-level security, and costs nothing.
    /// `pg_class.reltuples` alone would be every tenant's users together.
    fn user_count(&self) -> Result<UserCount, StoreError> {
        let mut client = self.lock();
        let fail = |e: postgres::Error| session_error(&self.spec, self.statement_timeout, &e);
        let counted: i64 = client
            .query_one(
                "select count(*) from (select 1 from public.users u where u.tenant_id = $1 limit $2) s",
                &[&self.tenant, &(EXACT_COUNT_LIMIT + 1)],
            )
            .map_err(fail)?
            .get(0);
        if counted <= EXACT_COUNT_LIMIT {
            return Ok(UserCount { users: counted.max(0) as u64, exact: true });
        }
        let plan: PlanJson = client
            .query_one(
                "explain (format json) select 1 from public.users u where u.tenant_id = $1",
                &[&self.tenant],
            )
            .map_err(fail)?
            .try_get(0)
            .map_err(|e| StoreError::Database(format!("unexpected EXPLAIN answer: {e}")))?;
        // Statistics older than the rows (no ANALYZE yet) can say fewer than were just
        // counted: never show less than that.
        let estimate = plan.rows().unwrap_or(0).max(counted as u64);
        Ok(UserCount { users: estimate, exact: false })
    }

    fn key_order(&self) -> KeyOrder {
        KeyOrder::Backend("PostgreSQL")
    }

    fn rows(&self, seek: &Seek, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        if self.keyed {
            return self.keyed_rows(seek, limit);
        }
        let limit = limit.min(i64::MAX as usize) as i64;
        let (bound, backwards) = seek_bound(seek);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.tenant, &limit];
        let mut condition = String::new();
        let (handle, id) = bound.map_or(("", ""), |(_, key)| key_parts(key));
        if let Some((op, _)) = bound {
            condition.push_str(&format!(
                " and (lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)) collate \"C\", u.id collate \"C\") {op} ($3::text collate \"C\", $4::text collate \"C\")"
            ));
            params.push(&handle);
            params.push(&id);
        }
        let direction = if backwards { "desc" } else { "asc" };
        let order = format!(
            "lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)) collate \"C\" {direction}, u.id collate \"C\" {direction}"
        );
        let sql = self.select_users(&format!("where u.tenant_id = $1{condition} order by {order} limit $2"));
        let mut entries: Vec<ListEntry> =
            self.query_users(&sql, &params)?.into_iter().map(UserRow::entry).collect();
        if backwards {
            entries.reverse();
        }
        Ok(entries)
    }

    fn prefix_matches(&self, query: &str, limit: usize) -> Result<Vec<ListEntry>, StoreError> {
        let lower = query.to_lowercase();
        if lower.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.min(i64::MAX as usize) as i64;
        let (lower_pattern, exact_pattern) = (like_prefix(&lower), like_prefix(query));
        if self.keyed
            && let Some(found) = self.keyed_prefix_matches(&lower, query, limit)?
        {
            return Ok(found);
        }
        // Each arm can be read from one of Logto's indexes on (tenant_id, …) when the
        // database's collation allows LIKE prefixes (C, C.UTF-8); the ids by their key.
        let sql = self.select_users(
            "where u.tenant_id = $1 and u.id in (
                (select id from public.users where tenant_id = $1 and username is not null and lower(username) like $2 limit $4)
                union (select id from public.users where tenant_id = $1 and lower(primary_email) like $2 limit $4)
                union (select id from public.users where tenant_id = $1 and primary_phone like $2 limit $4)
                union (select id from public.users where tenant_id = $1 and lower(name) like $2 limit $4)
                union (select id from public.users where tenant_id = $1 and id like $3 limit $4))
             order by lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)) collate \"C\", u.id collate \"C\"
             limit $4",
        );
        let rows = self.query_users(&sql, &[&self.tenant, &lower_pattern, &exact_pattern, &limit])?;
        Ok(rows.into_iter().map(UserRow::entry).collect())
    }

    fn scan_matches(
        &self,
        query: &str,
        after: Option<&ListKey>,
        batch: usize,
        max_hits: usize,
    ) -> Result<ScanStep, StoreError> {
        let mut filter = Filter::new(query);
        let (batch, max_hits) = (batch.max(1), max_hits.max(1));
        if self.keyed {
            return self.keyed_scan_matches(&mut filter, after, batch, max_hits);
        }
        // Only what the filter reads: the profile fields and customData, never a secret column.
        self.exact_scan_step(&mut filter, query, after, batch.min(i32::MAX as usize), max_hits)
    }

    fn lookup(&self, reference: &UserRef) -> Result<Vec<UserMatch>, StoreError> {
        let text = reference.text.as_str();
        let (wanted_name, wanted_phone) = (name_key(text), phone_key(text));
        // Candidates from SQL, confirmed by the fold in Rust so both backends agree. `id:`
        // is read by Logto's primary key alone. PostgreSQL's lower() is not the fold: it
        // leaves `ß`, the final sigma and surrounding spaces alone and does not map
        // full-width letters or the Kelvin sign (NFKC), so besides `lower(column) = fold`
        // every user whose stored value is not plain ASCII without surrounding white space
        // (the only ones whose fold can differ from lower()) is a candidate too. That arm
        // makes a username, email or phone lookup one sequential read of the tenant's users
        // (Logto has no index on the fold): the price of seeing every user a reference names,
        // since Logto's unique constraints are on the raw text and an ambiguity must be
        // refused, not settled by chance.
        const UNUSUAL: &str = "'(^[[:space:]]|[[:space:]]$|[^\\x01-\\x7f])'";
        let mut arms = Vec::new();
        for &field in reference.fields() {
            arms.push(match field {
                UserField::Id => "u.id = w.id".to_owned(),
                UserField::Username => format!("lower(u.username) = w.name or u.username ~ {UNUSUAL}"),
                UserField::Email => format!("lower(u.primary_email) = w.name or u.primary_email ~ {UNUSUAL}"),
                UserField::Phone => format!("u.primary_phone = w.phone or u.primary_phone ~ {UNUSUAL}"),
            });
        }
        let sql = format!(
            "with w (id, name, phone) as (select $2::text, $3::text, $4::text) \
             select u.id, u.username, u.primary_email, u.primary_phone from w, public.users u \
             where u.tenant_id = $1 and ({}) order by u.id collate \"C\"",
            arms.join(" or ")
        );
        let rows = self
            .lock()
            .query(&sql, &[&self.tenant, &text, &wanted_name, &wanted_phone])
            .map_err(|e| self.fail(e))?;
        let bad = |e: postgres::Error| StoreError::Database(format!("unexpected column type: {e}"));
        let mut candidates = Vec::with_capacity(rows.len());
        for row in &rows {
            let fields: (String, Option<String>, Option<String>, Option<String>) = (
                row.try_get(0).map_err(bad)?,
                row.try_get(1).map_err(bad)?,
                row.try_get(2).map_err(bad)?,
                row.try_get(3).map_err(bad)?,
            );
            candidates.push(fields);
        }
        // Field by field, ids in byte order within each: the order redb's indexes give.
        let mut matches = Vec::new();
        for &field in reference.fields() {
            for (id, username, email, phone) in &candidates {
                let matched = match field {
                    UserField::Id => id == text,
                    UserField::Username => username.as_deref().is_some_and(|u| name_key(u) == wanted_name),
                    UserField::Email => email.as_deref().is_some_and(|e| name_key(e) == wanted_name),
                    UserField::Phone => phone.as_deref().is_some_and(|p| phone_key(p) == wanted_phone),
                };
                if matched {
                    matches.push(UserMatch { id: id.clone(), field });
                }
            }
        }
        Ok(matches)
    }

    fn user(&self, id: &str) -> Result<UserRecord, StoreError> {
        Ok(self.one_user(id)?.record)
    }

    fn entry(&self, id: &str) -> Result<ListEntry, StoreError> {
        Ok(self.one_user(id)?.entry())
    }

    fn custom_data(&self, id: &str) -> Result<StoredDocument, StoreError> {
        let (document, updated_micros) = self.current_document(id)?;
        self.remember(id, document.revision, updated_micros);
        Ok(document)
    }

    fn replace_custom_data(
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
        let fail = |e: postgres::Error| match self.fail(e) {
            StoreError::ConnectionLost { server, .. } => StoreError::ConnectionLost {
                server,
                detail:
                    "; the save did not happen (the server rolls back a transaction whose connection goes)"
                        .to_owned(),
            },
            other => other,
        };
        let mut tx = client.transaction().map_err(fail)?;
        // The row stays locked until the commit: no other writer can slip in between.
        let row = tx
            .query_opt(
                "select u.custom_data = $3::text::jsonb, (extract(epoch from u.updated_at) * 1000000)::int8, \
                 u.custom_data::text from public.users u where u.tenant_id = $1 and u.id = $2 for update",
                &[&self.tenant, &id, &new_text],
            )
            .map_err(fail)?
            .ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let (same_document, updated_micros): (bool, i64) = (row.get(0), row.get(1));
        // The document this save replaces, as the locked row holds it: its dropped keys are
        // what this save removed, whoever saved before it. In jsonb's key order (jsonb keeps
        // no other), where redb gives the order the document was saved in.
        let replaced = parse_object(id, "customData", row.get(2))?;
        let latest = if self.initialised {
            tx.query_opt(
                "select h.revision, h.custom_data = u.custom_data from custodian.history h \
                 join public.users u on u.tenant_id = h.tenant_id and u.id = h.user_id \
                 where h.tenant_id = $1 and h.user_id = $2 order by h.revision desc limit 1",
                &[&self.tenant, &id],
            )
            .map_err(fail)?
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
            if let Some((seen_revision, seen_micros)) = seen
                && seen_revision == expected
                && seen_micros != updated_micros
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
        if !recorded {
            // The document being replaced was written outside custodian: keep it first.
            tx.execute(
                "insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at) \
                 select u.tenant_id, u.id, $3, u.updated_at, $4, u.custom_data, u.updated_at \
                 from public.users u where u.tenant_id = $1 and u.id = $2",
                &[&self.tenant, &id, &(current as i64), &OUTSIDE],
            )
            .map_err(fail)?;
        }
        // Logto's `set_updated_at` trigger moves updated_at; custodian does not set it.
        let updated = tx
            .query_opt(
                "update public.users u set custom_data = $3::text::jsonb \
                 where u.tenant_id = $1 and u.id = $2 and (extract(epoch from u.updated_at) * 1000000)::int8 = $4 \
                 returning (extract(epoch from u.updated_at) * 1000000)::int8",
                &[&self.tenant, &id, &new_text, &updated_micros],
            )
            .map_err(fail)?
            .ok_or_else(|| StoreError::ChangedOutside { user: id.to_owned() })?;
        let new_micros: i64 = updated.get(0);
        let revision = current + 1;
        tx.execute(
            "insert into custodian.history (tenant_id, user_id, revision, saved_at, saved_by, custom_data, user_updated_at) \
             select u.tenant_id, u.id, $3, now(), $4, u.custom_data, u.updated_at \
             from public.users u where u.tenant_id = $1 and u.id = $2",
            &[&self.tenant, &id, &(revision as i64), &author.0],
        )
        .map_err(fail)?;
        // The COMMIT went out and no answer came back: the server may have committed it or
        // not. Never reported as saved nor as not saved; the caller finds out after
        // reconnecting ([`UserStore::save_landed`]).
        tx.commit().map_err(|e| match self.fail(e) {
            StoreError::ConnectionLost { server, .. } => {
                StoreError::SaveOutcomeUnknown { server, user: id.to_owned(), revision }
            }
            other => other,
        })?;
        drop(client);
        self.remember(id, revision, new_micros);
        Ok(SaveOutcome::Saved { revision, removed: dropped_keys(&replaced, data.as_object()) })
    }

    fn history(&self, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        let current = self.one_user(id)?;
        let (document, _) = self.current_document(id)?;
        let mut out = Vec::new();
        if self.initialised {
            let rows = self
                .lock()
                .query(
                    "select h.revision, floor(extract(epoch from h.saved_at) * 1000)::int8, h.saved_by, h.custom_data::text \
                     from custodian.history h where h.tenant_id = $1 and h.user_id = $2 order by h.revision",
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
                    size: canonical_from_jsonb(id, &text)?.len(),
                    current: false,
                    batch: None,
                });
            }
        }
        match out.last_mut() {
            Some(last) if last.revision == current.record.revision => last.current = true,
            _ => out.push(RevisionInfo {
                revision: current.record.revision,
                saved_at: current.record.revised_at,
                saved_by: current.record.revised_by,
                size: document.text.len(),
                current: true,
                batch: None,
            }),
        }
        Ok(out)
    }

    fn revision_text(&self, id: &str, revision: Revision) -> Result<String, StoreError> {
        let (current, _) = self.current_document(id)?;
        if current.revision == revision {
            return Ok(current.text);
        }
        if !self.initialised {
            return Err(StoreError::RevisionNotFound { user: id.to_owned(), revision });
        }
        let row = self
            .lock()
            .query_opt(
                "select h.custom_data::text from custodian.history h \
                 where h.tenant_id = $1 and h.user_id = $2 and h.revision = $3",
                &[&self.tenant, &id, &(revision.min(i64::MAX as u64) as i64)],
            )
            .map_err(|e| self.fail(e))?;
        match row {
            Some(row) => canonical_from_jsonb(id, &row.get::<_, String>(0)),
            None => Err(StoreError::RevisionNotFound { user: id.to_owned(), revision }),
        }
    }

    fn search(
        &self,
        query: &str,
        after: Option<&ListKey>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        if self.keyed {
            // Index ranges step by step: each step reads only its own users already.
            return crate::store::search_by_steps(self, query, after, limit, crate::store::SEARCH_STEP);
        }
        self.search_from_one_portal(query, after, limit)
    }

    fn sync_keys(&self) -> Result<bool, StoreError> {
        Ok(self.sync_key_table()?.changed())
    }

    fn schema(&self) -> Result<Option<StoredSchema>, StoreError> {
        if !self.has_schema_table()? {
            return Ok(None);
        }
        let row = self
            .lock()
            .query_opt(
                "select s.revision, s.schema_text from custodian.schema_history s \
                 where s.tenant_id = $1 order by s.revision desc limit 1",
                &[&self.tenant],
            )
            .map_err(|e| self.fail(e))?;
        Ok(row.and_then(|row| {
            let revision: i64 = row.get(0);
            let text: Option<String> = row.get(1);
            text.map(|text| StoredSchema { text, revision: revision.max(1) as Revision })
        }))
    }

    fn set_schema(&self, text: Option<&str>, author: &Author) -> Result<Revision, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        if !self.has_schema_table()? {
            return Err(StoreError::NotInitialised { url: self.spec.to_string() });
        }
        let mut client = self.lock();
        let fail = |e: postgres::Error| describe(&self.spec, &e);
        let mut tx = client.transaction().map_err(fail)?;
        // Operators setting the schema at once take turns: each reads the latest revision
        // only once the one before it has committed, so both land, one after the other, as
        // two writers of a redb file do (without the lock the second insert collided on the
        // primary key and failed).
        tx.execute(
            "select pg_advisory_xact_lock(hashtextextended('custodian.schema_history:' || $1, 0))",
            &[&self.tenant],
        )
        .map_err(fail)?;
        let latest = tx
            .query_opt(
                "select s.revision, s.schema_text from custodian.schema_history s \
                 where s.tenant_id = $1 order by s.revision desc limit 1",
                &[&self.tenant],
            )
            .map_err(fail)?
            .map(|row| (row.get::<_, i64>(0).max(0) as Revision, row.get::<_, Option<String>>(1)));
        let (current, stored) = latest.unwrap_or((0, None));
        if stored.as_deref() == text {
            return Ok(current);
        }
        tx.execute(
            "insert into custodian.schema_history (tenant_id, revision, saved_at, saved_by, schema_text) \
             values ($1, $2, now(), $3, $4)",
            &[&self.tenant, &((current + 1) as i64), &author.0, &text],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(current + 1)
    }

    fn schema_history(&self) -> Result<Vec<RevisionInfo>, StoreError> {
        if !self.has_schema_table()? {
            return Ok(Vec::new());
        }
        let rows = self
            .lock()
            .query(
                "select s.revision, floor(extract(epoch from s.saved_at) * 1000)::int8, s.saved_by, \
                 coalesce(octet_length(s.schema_text), 0)::int8 \
                 from custodian.schema_history s where s.tenant_id = $1 order by s.revision",
                &[&self.tenant],
            )
            .map_err(|e| self.fail(e))?;
        let mut out: Vec<RevisionInfo> = rows
            .iter()
            .map(|row| RevisionInfo {
                revision: row.get::<_, i64>(0).max(0) as Revision,
                saved_at: row.get(1),
                saved_by: row.get(2),
                size: row.get::<_, i64>(3).max(0) as usize,
                current: false,
                batch: None,
            })
            .collect();
        if let Some(last) = out.last_mut() {
            last.current = true;
        }
        Ok(out)
    }

    fn schema_revision_text(&self, revision: Revision) -> Result<Option<String>, StoreError> {
        if !self.has_schema_table()? {
            return Err(StoreError::SchemaRevisionNotFound(revision));
        }
        let row = self
            .lock()
            .query_opt(
                "select s.schema_text from custodian.schema_history s where s.tenant_id = $1 and s.revision = $2",
                &[&self.tenant, &(revision.min(i64::MAX as u64) as i64)],
            )
            .map_err(|e| self.fail(e))?;
        row.map(|row| row.get::<_, Option<String>>(0)).ok_or(StoreError::SchemaRevisionNotFound(revision))
    }

    fn import(
        &self,
        _users: &mut dyn Iterator<Item = Result<NewUser, RecordError>>,
        _mode: ImportMode,
        _author: &Author,
    ) -> Result<ImportSummary, StoreError> {
        Err(StoreError::NotOnThisBackend(
            "import does not work on PostgreSQL: users are created by Logto (its Management API or console); custodian edits their customData".to_owned(),
        ))
    }

    fn for_each_user(
        &self,
        visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        const FETCH: i32 = 500;
        let mut client = self.lock();
        let fail = |e: postgres::Error| session_error(&self.spec, CLI_STATEMENT_TIMEOUT, &e);
        // One snapshot for the whole walk, read in slices from a server-side portal.
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        // An export sorts the whole tenant before its first row: the longer limit, whoever asks.
        tx.batch_execute(&format!("set local statement_timeout = {}", CLI_STATEMENT_TIMEOUT.as_millis()))
            .map_err(fail)?;
        let sql = if self.initialised {
            format!(
                "select u.custom_data::text, {USER_COLUMNS}, {EXACT_HANDLE}, {REVISION_COLUMNS} from public.users u {LATEST_HISTORY} \
                 where u.tenant_id = $1 order by {ORDER_KEY}"
            )
        } else {
            format!(
                "select u.custom_data::text, {USER_COLUMNS}, {EXACT_HANDLE}, {NO_HISTORY_COLUMNS} from public.users u \
                 where u.tenant_id = $1 order by {ORDER_KEY}"
            )
        };
        let portal = tx.bind(sql.as_str(), &[&self.tenant]).map_err(fail)?;
        loop {
            let rows = tx.query_portal(&portal, FETCH).map_err(fail)?;
            for row in &rows {
                let user = UserRow::read(row, 1)?;
                let text = compact_from_jsonb(&user.record.user.id, &row.get::<_, String>(0))?;
                visit(&user.record, &text)?;
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        tx.commit().map_err(fail)
    }
}
