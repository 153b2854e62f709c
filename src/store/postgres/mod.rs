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

mod batch;
pub mod connect;
mod errors;
mod journal;
mod json_schema;
mod keys;
mod let_go;
mod lookup;
mod rows;
mod save;
mod scan;
mod schema;
mod session;
mod shared_names;
mod user_store;
mod writes;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{CancelToken, Client, Row};
use serde_json::{Map, Value};

pub use keys::{KeySync, LastKeySync};
pub use schema::POSTGRES_SCHEMA_VERSION;
pub use session::{InitDone, another_tenant_of, same_database_name_and_tenant};

use self::connect::{ConnectionSpec, Environment};
use self::session::read_only_snapshot;
use super::{
    Author, ImportMode, ImportSummary, KeyOrder, ListEntry, ListKey, NewUser, RecordError, Revision,
    RevisionInfo, SEARCH_STEP, SaveOutcome, ScanStep, Seek, StoreError, StoredDocument, StoredSchema,
    UserCount, UserMatch, UserRecord, UserRef, UserStore,
};
use crate::domain::custom_data::{NotAnObject, canonical_text};
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

/// When a document written outside custodian is dated in the history, from its row's
/// `updated_at` column: that time, but never later than the moment it is kept. custodian's
/// own saves are dated by the clock as they are written, after the rows they replace are
/// locked, so the save that replaced an outside write comes after it in the journal even
/// when that write's `updated_at` is later than the save's transaction began (a write that
/// committed meanwhile, or a time set with SQL). Never earlier than the user's revision
/// before it either: Logto's trigger stamps `updated_at` with the time its transaction
/// began, so a write that waited for a save's lock came after that save but was dated before
/// it, and `changes` showed the overwritten save as the newest (bb46 F2). Nor earlier than the
/// account's `created_at` (when not ahead of the clock): a document SQL dated before its
/// account's creation would read as an earlier account's ([`of_the_account_now`]) and be kept
/// again at every read. `tenant` and `id` name the user, `created_at` its column.
fn kept_outside_at(updated_at: &str, created_at: &str, tenant: &str, id: &str) -> String {
    format!(
        "greatest(case when isfinite({updated_at}) then least({updated_at}, clock_timestamp()) else clock_timestamp() end, \
         (select max(p.saved_at) from custodian.history p where p.tenant_id = {tenant} and p.user_id = {id}), \
         case when isfinite({created_at}) then least({created_at}, clock_timestamp()) end)"
    )
}
/// How long a save waits for a row another session holds before saying "busy" (as redb).
const LOCK_TIMEOUT: &str = "3s";
/// How long a write transaction (a save, a batch, an undo) may sit waiting on custodian
/// before the server ends its session: a link that drops without a word leaves the server's
/// side open, and the rows the write locked (Logto's sign-ins of those users wait on them)
/// stayed locked until the server's TCP keepalive gave up, two hours by default (bb41 F1).
/// A batch works a chunk of users between two statements: seconds even for large documents.
const WRITE_IDLE_TIMEOUT: &str = "60s";
/// A timestamptz column in epoch milliseconds. SQL allows `infinity` (Logto never writes
/// it), which no bigint holds: read as 9999-12-31 23:59:59.999 UTC (`-infinity` as
/// 0001-01-01), so one such row does not stop the list with "cannot convert infinity". NULL
/// (never signed in) stays NULL.
macro_rules! epoch_ms {
    ($column:literal) => {
        concat!(
            "case when isfinite(",
            $column,
            ") then least(floor(extract(epoch from ",
            $column,
            ") * 1000), 9223372036854775807)::int8 \
             when ",
            $column,
            " = 'infinity' then 253402300799999 when ",
            $column,
            " = '-infinity' then -62135596800000 end"
        )
    };
}

/// A history row's time (an outside document's is Logto's `updated_at`).
const SAVED_AT_MS: &str = epoch_ms!("h.saved_at");

/// `updated_at` in microseconds, as the conflict check compares it (the same expression in
/// the read and in the `UPDATE`'s `WHERE`); an infinite one as the ends of bigint, and so a
/// finite one past them (SQL may write up to the year 294276; past 294247 the cast overflowed,
/// and every read of the tenant said "jsonb cannot hold a number": bb46 F3).
macro_rules! updated_micros {
    () => {
        "case when isfinite(u.updated_at) then least(extract(epoch from u.updated_at) * 1000000, 9223372036854775807)::int8 \
    when u.updated_at = 'infinity' then 9223372036854775807 when u.updated_at = '-infinity' then -9223372036854775808 end"
    };
}
const UPDATED_MICROS: &str = updated_micros!();

/// The columns of a user that custodian reads: the Management API's, nothing more. The
/// last is the `updated_at` in microseconds (the conflict check); the lower-cased handle
/// (the list order) follows them, from [`EXACT_HANDLE`] or the key table.
const USER_COLUMNS: &str = concat!(
    "u.id, u.username, u.primary_email, u.primary_phone, u.name, u.avatar, \
    u.profile::text, u.identities::text, u.application_id, u.is_suspended, ",
    epoch_ms!("u.last_sign_in_at"),
    ", ",
    epoch_ms!("u.created_at"),
    ", ",
    epoch_ms!("u.updated_at"),
    ", ",
    updated_micros!()
);
/// The lower-cased handle: the list order's first part, the column after [`USER_COLUMNS`].
const EXACT_HANDLE: &str = "lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id))";
const COLUMN_COUNT: usize = 15;
/// The list order: the lower-cased handle, then the id, compared as bytes ("C"), which is
/// the order of redb's `handle.to_lowercase() + NUL + id` keys (see [`list_order`]).
const ORDER_KEY: &str =
    "lower(coalesce(u.username, u.primary_email, u.primary_phone, u.id)) collate \"C\", u.id collate \"C\"";

/// Whether the history row `h` was kept for the account `u` under its id now: saved since that
/// account was created (both times the server's). Logto or SQL may delete a user and create
/// another under its id; the first account's revisions are not the second's, even when the
/// second was given the very document the first had last (it read as that revision, saved by
/// the first account's operator before the second existed, and a save over it kept nothing of
/// it: bb98 F1). A placeholder [`PostgresStore::sql`] fills: a row that kept its account's
/// `created_at` is that account's when it is the one `u` has (another account given an earlier
/// `created_at` — by SQL, or a transaction begun before the first's last save — took the
/// first's revisions, and `restore` wrote one into it: bb100 F1); a row kept before the column,
/// when saved since `u` was created. A `created_at` ahead of the server's clock (SQL's, or a
/// clock set back) cannot tell by time: every such row counts, else each read would keep the
/// document again as one more revision.
macro_rules! of_the_account_now {
    () => {
        "%OF_THE_ACCOUNT%"
    };
}
pub(super) use of_the_account_now;

/// [`of_the_account_now`] by time alone.
const OF_THE_ACCOUNT_BY_TIME: &str = "(h.saved_at >= u.created_at or u.created_at > clock_timestamp())";

impl PostgresStore {
    /// `text` with custodian's account placeholders filled for this database's schema:
    /// [`of_the_account_now`], and `%CREATED_COL%`, `%U_CREATED%`, `%OLD_CREATED%`, which add
    /// the `user_created_at` column and its value (of `u` or `old`) to a history row's insert
    /// where the column is there (a schema `init` has not upgraded has none).
    pub(super) fn sql(&self, text: &str) -> String {
        let kept = self.accounts_kept;
        let rule = match kept {
            true => concat!(
                "(case when h.user_created_at is not null then h.user_created_at = u.created_at else ",
                "(h.saved_at >= u.created_at or u.created_at > clock_timestamp()) end)"
            ),
            false => OF_THE_ACCOUNT_BY_TIME,
        };
        // The batch's row `w` of another account than `u` (an undo leaves that one alone).
        let another = match kept {
            true => {
                "(case when w.user_created_at is not null then w.user_created_at <> u.created_at else u.created_at > w.saved_at end)"
            }
            false => "u.created_at > w.saved_at",
        };
        let added = |value: &'static str| if kept { value } else { "" };
        text.replace("%OF_THE_ACCOUNT%", rule)
            .replace("%W_ANOTHER_ACCOUNT%", another)
            .replace("%CREATED_COL%", added(", user_created_at"))
            .replace("%U_CREATED%", added(", u.created_at"))
            .replace("%OLD_CREATED%", added(", old.created_at"))
    }
}

/// The newest history row of `u`, for the revision facts (only with custodian's schema).
/// Lists and walks compare with jsonb's `=` (cheap); it holds `1.50` and `1.5000` equal, so an
/// outside write that only wrote a number another way shows as the revision before until the
/// user is read, which keeps it ([`LATEST_HISTORY_BY_TEXT`]).
const LATEST_HISTORY: &str = concat!(
    "left join lateral (select h.revision, h.custom_data = u.custom_data and ",
    of_the_account_now!(),
    " as same, h.saved_at, h.saved_by from custodian.history h \
    where h.tenant_id = u.tenant_id and h.user_id = u.id order by h.revision desc limit 1) h on true"
);
/// The same, the documents compared by their stored jsonb text as a save compares them (bb15
/// L06): for the writes (a batch keeps an outside document by it), where `=` let a re-spelled
/// number go unkept and overwritten (bb16 L09).
const LATEST_HISTORY_BY_TEXT: &str = concat!(
    "left join lateral (select h.revision, h.custom_data::text = u.custom_data::text and ",
    of_the_account_now!(),
    " as same, h.saved_at, h.saved_by from custodian.history h \
    where h.tenant_id = u.tenant_id and h.user_id = u.id order by h.revision desc limit 1) h on true"
);
const REVISION_COLUMNS: &str = concat!(
    "case when h.revision is null then 1 when h.same then h.revision else h.revision + 1 end, ",
    epoch_ms!("(case when h.same then h.saved_at else u.updated_at end)"),
    ", case when h.same then h.saved_by else 'outside custodian' end"
);
const NO_HISTORY_COLUMNS: &str =
    concat!("1::int8, ", epoch_ms!("u.updated_at"), ", 'outside custodian'::text");

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
    /// The layout `custodian.meta` says the schema has (0: no schema).
    layout: i64,
    /// Whether `custodian.history` has the `user_created_at` column.
    accounts_kept: bool,
    /// Whether the list may read `custodian.user_keys` (see [`PostgresStore`]'s `keyed`).
    keyed: bool,
    backend: Backend,
}

/// Which server process a session is: its pid and when it started (a pid alone may be a
/// later session's once the first one ended), and the write transaction whose COMMIT it sent
/// and has had no answer to yet.
#[derive(Debug, Clone, Default)]
struct Backend {
    pid: i32,
    started: Option<String>,
    /// `pg_current_xact_id()` of that transaction.
    committing: Option<String>,
    /// When its COMMIT was sent.
    committing_since: Option<std::time::Instant>,
}

/// A store on one tenant of a Logto database.
pub struct PostgresStore {
    client: Mutex<let_go::LetGo<Client>>,
    /// The server process behind `client`: a reconnect settles its COMMIT in flight, if any,
    /// before it answers anything (see [`PostgresStore::settle_commit`]).
    backend: Mutex<Backend>,
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
    /// The layout of custodian's schema when the store was opened (0: none): batches and the
    /// journal need [`POSTGRES_SCHEMA_VERSION`]'s, which `init` upgrades to.
    layout: i64,
    /// Whether each history row keeps the `created_at` of its account ([`PostgresStore::sql`]).
    accounts_kept: bool,
    /// Whether [`PostgresOptions::use_key_table`] was asked for (kept for
    /// [`PostgresStore::another_connection`]).
    key_table_asked: bool,
    /// Whether the list, prefixes and scan read `custodian.user_keys` (see [`keys`]).
    keyed: bool,
    /// Per user, the revision and `updated_at` (µs) of the document this process last read
    /// with [`UserStore::custom_data`] or saved: a save over it checks both.
    seen: Mutex<HashMap<String, Seen>>,
    /// The exact path's filter scan in progress (see [`PostgresStore::exact_scan_step`]).
    open_scan: Mutex<Option<OpenScan>>,
    /// [`UserStore::hold_writes_to_schema`]: `Some(seen)` once held.
    schema_hold: super::schema_hold::SchemaHold,
}

/// What a save of a user's customData is held to: the revision, `updated_at` (microseconds)
/// and a digest of the document this session last read or wrote, or the one a save is told
/// to be held to ([`UserStore::hold_save_to`]: a conflict's theirs, whose `updated_at` is
/// not known). A save checks them all: a write from outside that leaves `updated_at` alone
/// (Logto's trigger disabled, as `pg_restore --disable-triggers` or a replica does) still
/// changes the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    pub revision: Revision,
    pub updated_micros: Option<i64>,
    pub digest: u64,
}

/// A digest of a document as the screen shows it: its canonical text (jsonb's key order),
/// so a document read here and one the screen holds compare alike.
pub(super) fn text_digest(canonical: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut hasher);
    hasher.finish()
}

/// [`text_digest`] of a document as jsonb gives it back.
pub(super) fn jsonb_digest(id: &str, stored: &str) -> u64 {
    match canonical_from_jsonb(id, stored) {
        Ok(canonical) => text_digest(&canonical),
        Err(_) => text_digest(stored),
    }
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

use errors::{describe, privilege_refused, session_error};
use rows::{
    UserRow, canonical_from_jsonb, compact_from_jsonb, filter_rows, key_parts, like_prefix, object_or_empty,
    seek_bound, user_matches, walked_text,
};
