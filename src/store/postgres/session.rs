//! Connecting, `init`, and the session every call takes: the tenant's role, the timeouts,
//! and the user and document reads the trait's methods share.

use super::*;

/// Tenants an unknown `--tenant` names as the ones the role can see.
const TENANTS_NAMED: usize = 5;

/// What `init` did: the database, as messages name it, and the tenants whose role does not
/// exist (id, role), which got no grants.
#[derive(Debug)]
pub struct InitDone {
    pub described: String,
    pub roleless: Vec<(String, String)>,
}

/// The advisory lock `init` holds while it runs (any number: custodian's own), "cust" in ASCII.
const INIT_LOCK: i64 = 0x6375_7374;

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

    pub(super) fn options(&self) -> PostgresOptions {
        PostgresOptions {
            tenant: self.tenant.clone(),
            read_only: self.read_only,
            statement_timeout: self.statement_timeout,
            use_key_table: self.key_table_asked,
        }
    }

    pub(super) fn connect_spec(spec: ConnectionSpec, options: &PostgresOptions) -> Result<Self, StoreError> {
        let session = Self::open_session(&spec, options, None)?;
        Ok(Self {
            backend: Mutex::new(session.backend),
            cancel: Mutex::new(session.client.cancel_token()),
            client: Mutex::new(let_go::LetGo::new(session.client)),
            spec,
            statement_timeout: options.statement_timeout,
            tenant: options.tenant.clone(),
            role: session.role,
            read_only: options.read_only,
            initialised: session.initialised,
            layout: session.layout,
            accounts_kept: session.accounts_kept,
            key_table_asked: options.use_key_table,
            keyed: session.keyed,
            seen: Mutex::new(HashMap::new()),
            open_scan: Mutex::new(None),
            schema_hold: Default::default(),
        })
    }

    /// One session, ready: the database checked to be Logto's, the tenant's role taken (when
    /// the connecting role may), the timeouts and read-only mode set. `replacing`: the
    /// session this one takes over from, ended on the server first.
    pub(super) fn open_session(
        spec: &ConnectionSpec,
        options: &PostgresOptions,
        replacing: Option<&Backend>,
    ) -> Result<Session, StoreError> {
        let mut client = Self::client(spec)?;
        let fail = |e: postgres::Error| describe(spec, &e);
        // Still as the login role, which may end its own sessions (the tenant's role may not).
        if let Some(previous) = replacing {
            Self::settle_replaced(spec, &mut client, previous)?;
        }
        let row = client
            .query_one(
                "select to_regclass('public.users') is not null and to_regclass('public.tenants') is not null, current_user::text, \
                 pg_backend_pid(), (select a.backend_start::text from pg_stat_activity a where a.pid = pg_backend_pid())",
                &[],
            )
            .map_err(fail)?;
        let backend = Backend { pid: row.get(2), started: row.get(3), ..Backend::default() };
        if !row.get::<_, bool>(0) {
            return Err(StoreError::Connection(format!(
                "{spec}: not a Logto database (no `users` and `tenants` tables in schema public)"
            )));
        }
        let mut role: String = row.get(1);
        let lookup = "select db_user::text from public.tenants where id = $1";
        let tenant_role: Option<Option<String>> = match client.query_opt(lookup, &[&options.tenant]) {
            Ok(row) => row.map(|r| r.get(0)),
            // A member of the tenant's role that does not inherit its rights cannot read
            // `tenants`: the roles it may become are tried below.
            Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => None,
            Err(e) => return Err(fail(e)),
        };
        // Logto's policy on `tenants` shows a tenant's row to its own role only: a login role
        // that is a member of it sees the row once it has become that role.
        // The tenants of the roles it may become, named when none is the one asked for.
        let mut member_of = Vec::new();
        let tenant_role = match tenant_role {
            None => match become_a_tenant_role(&mut client, &options.tenant).map_err(fail)? {
                Becoming::Tenant(tenant_role) => {
                    role = tenant_role;
                    Some(None)
                }
                Becoming::Others(tenants) => {
                    member_of = tenants;
                    None
                }
            },
            found => found,
        };
        match tenant_role {
            None => {
                // The tenants it can see, when it sees any: a typo in the id reads as one, where
                // "a tenant's own role sees only its tenant" sent a superuser to look at rights
                // (bb27 Q03).
                let seen: Vec<String> = client
                    .query(
                        &format!("select id from public.tenants order by id limit {}", TENANTS_NAMED + 1),
                        &[],
                    )
                    .map(|rows| rows.iter().map(|r| format!("{:?}", r.get::<_, String>(0))).collect())
                    .unwrap_or_default();
                let why = match seen.len() {
                    // A member of tenants' roles that does not inherit their rights reads no
                    // `tenants` as itself: the tenants of the roles it may become (bb41).
                    0 if !member_of.is_empty() => format!(
                        "it may become the roles of {}",
                        member_of.iter().map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ")
                    ),
                    0 => "a tenant's own role sees only its tenant".to_owned(),
                    n if n > TENANTS_NAMED => format!("it sees {}, …", seen[..TENANTS_NAMED].join(", ")),
                    _ => format!("it sees {}", seen.join(", ")),
                };
                return Err(StoreError::Connection(
                    crate::inert::line(&format!(
                        "{spec}: no tenant {:?} that role {role:?} can see ({why})",
                        options.tenant
                    ))
                    .into_owned(),
                ));
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
        // A role without rights on `users` is told so now, not on the first page, naming the
        // role the statement ran as (the login role was named for the tenant's: bb46 F4).
        client
            .query("select u.id from public.users u where u.tenant_id = $1 limit 1", &[&options.tenant])
            .map_err(|e| privilege_refused(spec, &options.tenant, &role, &e).unwrap_or_else(|| fail(e)))?;
        let initialised = client
            .query_one(
                "select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = 'custodian' and c.relname = 'history')",
                &[],
            )
            .map_err(fail)?
            .get(0);
        // A schema made before `meta` had a version row is layout 1.
        let layout = if initialised {
            client
                .query_one(
                    "select coalesce((select m.value from custodian.meta m where m.key = 'schema_version'), 1)",
                    &[],
                )
                .map_err(fail)?
                .get(0)
        } else {
            0
        };
        // Whether the history keeps each row's account (`init` adds the column to a schema
        // made before it; until then the rows are told apart by time).
        let accounts_kept = initialised
            && client
                .query_one(
                    "select exists (select 1 from pg_attribute where attrelid = 'custodian.history'::regclass \
                     and attname = 'user_created_at' and not attisdropped)",
                    &[],
                )
                .map_err(fail)?
                .get::<_, bool>(0);
        // A server that takes no writes (a hot standby, `default_transaction_read_only`)
        // cannot sync the keys: its screen said "`init` brings them up to date", which cannot
        // there (bb53 F4). It reads as a `--read-only` session does.
        let keyed = options.use_key_table
            && !options.read_only
            && initialised
            && takes_writes(&mut client).map_err(fail)?
            && keys::usable(&mut client).map_err(fail)?;
        Ok(Session { client, role, initialised, layout, accounts_kept, keyed, backend })
    }

    /// Connects within `connect_timeout`, as libpq does: the client's own timeout covers only
    /// the TCP connect, not a server that accepts and then never answers.
    pub(super) fn client(spec: &ConnectionSpec) -> Result<Client, StoreError> {
        let (config, tls) = spec.client_config()?;
        let (answer, connected) = std::sync::mpsc::channel();
        let thread_spec = spec.clone();
        std::thread::Builder::new()
            .name("custodian-connect".into())
            .spawn(move || {
                let _ = answer.send(config.connect(tls).map_err(|e| describe(&thread_spec, &e)));
            })
            .map_err(|e| StoreError::Connection(format!("{spec}: cannot start connecting: {e}")))?;
        let (failed, probe) = match connected.recv_timeout(spec.connect_timeout) {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(e)) => (e, Duration::from_secs(1)),
            // The thread is left to the OS's own timeout; nothing waits for it. What holds the
            // port is looked at briefly: a whole second more ran past the `connect_timeout` a
            // script budgets for (bb74 F3); a server that speaks first answers at once.
            Err(_) => (
                StoreError::Connection(format!(
                    "{spec}: no answer within {} s (connect_timeout)",
                    spec.connect_timeout.as_secs()
                )),
                Duration::from_millis(250),
            ),
        };
        Err(errors::said_with_what_answered(spec, failed, probe))
    }

    /// Creates custodian's schema in the database at `url` (history, its row-level security
    /// and grants for every tenant role). Idempotent. Returns the connection's description.
    pub fn init(url: &str) -> Result<InitDone, StoreError> {
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
        // One `init` at a time (a replica's start-up script, two operators): run together,
        // their DDL took the same tables' locks in another order and all but one failed with
        // a bare `deadlock detected` (bb41 F7). The lock is the session's: it goes with it.
        client.execute("select pg_advisory_lock($1)", &[&INIT_LOCK]).map_err(fail)?;
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
            keys::sync(&mut client, tenant)
                .map_err(|e| errors::session_error(&spec, keys::SYNC_STATEMENT_TIMEOUT, &e))?;
        }
        let roleless = client
            .query(
                "select t.id, t.db_user from public.tenants t where t.db_user is not null \
                 and not exists (select 1 from pg_roles r where r.rolname = t.db_user) order by t.id",
                &[],
            )
            .map_err(fail)?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        Ok(InitDone { described: spec.to_string(), roleless })
    }

    /// The server and role, without the password: for `info` and messages.
    pub fn describe_connection(&self) -> String {
        format!("{} (tenant {:?}, working as role {:?})", self.spec, self.tenant, self.role)
    }

    /// Whether this server takes writes (not a hot standby, nor `default_transaction_read_only`):
    /// the screen says at start when it does not.
    pub fn server_takes_writes(&self) -> Result<bool, StoreError> {
        takes_writes(&mut self.lock()).map_err(|e| self.fail(e))
    }

    /// The server and database as messages show them: the URL without its password.
    pub fn shown_url(&self) -> String {
        self.spec.to_string()
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

    /// Whether each history row keeps the `created_at` of the account it was kept for (the
    /// column `init` adds since bb100 F1); without it another account under a deleted user's
    /// id is told apart by time alone.
    pub fn keeps_accounts(&self) -> bool {
        self.accounts_kept
    }

    /// The layout of custodian's schema in this database (0: none; see
    /// [`POSTGRES_SCHEMA_VERSION`]).
    pub fn schema_layout(&self) -> i64 {
        self.layout
    }

    /// Refuses what needs the journal's columns and `custodian.batches` on a schema `init`
    /// has not upgraded yet (or has not made), naming the command that does.
    pub(super) fn require_journal_layout(&self) -> Result<(), StoreError> {
        if !self.initialised {
            return Err(StoreError::NotInitialised { url: self.spec.to_string() });
        }
        if self.layout < POSTGRES_SCHEMA_VERSION {
            return Err(StoreError::SchemaNeedsUpgrade {
                url: self.spec.to_string(),
                found: self.layout,
                wanted: POSTGRES_SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// The session, for anything but a scan's next step: a scan left open between steps is
    /// ended first, so no other call runs inside its read-only snapshot.
    pub(super) fn lock(&self) -> MutexGuard<'_, let_go::LetGo<Client>> {
        let mut client = self.session();
        self.end_scan(&mut client);
        client
    }

    pub(super) fn session(&self) -> MutexGuard<'_, let_go::LetGo<Client>> {
        // A panic while holding the client leaves nothing half-done on our side: the server
        // rolls back an open transaction when the connection goes, so the guard is reusable.
        self.client.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the scan left open between steps, if any (its transaction only read).
    pub(super) fn end_scan(&self, client: &mut Client) {
        let open = self.open_scan.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if open.is_some() {
            let _ = client.batch_execute("rollback");
        }
    }

    pub(super) fn fail(&self, error: postgres::Error) -> StoreError {
        self.fail_within(self.statement_timeout, error)
    }

    /// [`Self::fail`] of a statement allowed `timeout` (a key sync's own), which a timeout
    /// names.
    pub(super) fn fail_within(&self, timeout: std::time::Duration, error: postgres::Error) -> StoreError {
        if let Some(refused) = privilege_refused(&self.spec, &self.tenant, &self.role, &error) {
            return refused;
        }
        session_error(&self.spec, timeout, &error)
    }

    /// `select <user columns> <handle> <revision columns> from users u <history join>` + `tail`.
    pub(super) fn select_users(&self, tail: &str) -> String {
        self.select_users_from("public.users u", self.handle_column(), tail)
    }

    /// As [`Self::select_users`], from `from` (which names the user `u`), with `handle` as
    /// the list order's first part.
    pub(super) fn select_users_from(&self, from: &str, handle: &str, tail: &str) -> String {
        self.select_users_joined(from, handle, LATEST_HISTORY, tail)
    }

    /// As [`Self::select_users_from`], the newest history row joined by `history`
    /// ([`LATEST_HISTORY`] or [`LATEST_HISTORY_BY_TEXT`]).
    fn select_users_joined(&self, from: &str, handle: &str, history: &str, tail: &str) -> String {
        if self.initialised {
            self.sql(&format!(
                "select {USER_COLUMNS}, {handle}, {REVISION_COLUMNS} from {from} {history} {tail}"
            ))
        } else {
            format!("select {USER_COLUMNS}, {handle}, {NO_HISTORY_COLUMNS} from {from} {tail}")
        }
    }

    pub(super) fn query_users(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<UserRow>, StoreError> {
        let rows = self.lock().query(sql, params).map_err(|e| self.fail(e))?;
        rows.iter().map(|row| UserRow::read(row, 0)).collect()
    }

    /// One user, its revision by the stored document's text as a save counts it (a list's
    /// rows use jsonb's cheaper `=`: see [`LATEST_HISTORY`]).
    pub(super) fn one_user(&self, id: &str) -> Result<UserRow, StoreError> {
        let sql = self.select_users_joined(
            "public.users u",
            self.handle_column(),
            LATEST_HISTORY_BY_TEXT,
            "where u.tenant_id = $1 and u.id = $2",
        );
        let mut rows = self.query_users(&sql, &[&self.tenant, &id])?;
        rows.pop().ok_or_else(|| StoreError::UserNotFound(id.to_owned()))
    }

    /// The stored document and its revision, without noting that it was read.
    /// The user's customData now, with `updated_at` (microseconds) and jsonb's text of it.
    pub(super) fn current_document(&self, id: &str) -> Result<(StoredDocument, i64, String), StoreError> {
        let (text, revision, updated_micros) = self.current_row(id)?;
        let document = StoredDocument {
            text: canonical_from_jsonb(id, &text)?,
            revision,
            updated_micros: Some(updated_micros),
        };
        Ok((document, updated_micros, text))
    }

    /// The user's customData as jsonb writes it, its revision and `updated_at` (µs), whatever
    /// the document is: the history of a user whose customData SQL made no object is still
    /// theirs to read and restore from.
    pub(super) fn current_row(&self, id: &str) -> Result<(String, Revision, i64), StoreError> {
        let revision = if self.initialised { REVISION_COLUMNS } else { NO_HISTORY_COLUMNS };
        let join = if self.initialised { LATEST_HISTORY_BY_TEXT } else { "" };
        let sql = self.sql(&format!(
            "select u.custom_data::text, {revision}, {UPDATED_MICROS} \
             from public.users u {join} where u.tenant_id = $1 and u.id = $2"
        ));
        let row = self
            .lock()
            .query_opt(&sql, &[&self.tenant, &id])
            .map_err(|e| self.fail(e))?
            .ok_or_else(|| StoreError::UserNotFound(id.to_owned()))?;
        let text: String = row.get(0);
        let revision: i64 = row.get(1);
        let updated_micros: i64 = row.get(4);
        Ok((text, revision.max(1) as Revision, updated_micros))
    }
}

/// A read-only snapshot for a read of several statements (a walk in slices, a scan, the
/// journal): each sees the same committed state.
pub(super) fn read_only_snapshot(
    client: &mut postgres::Client,
) -> Result<postgres::Transaction<'_>, postgres::Error> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
}

/// For a login role that is a member of tenant roles: becomes, in turn, each role it may
/// become, until one sees `tenant`'s row in `tenants` as its own (`db_user`); stays that role
/// and names it, or goes back to its own and names the tenants those roles own.
fn become_a_tenant_role(client: &mut Client, tenant: &str) -> Result<Becoming, postgres::Error> {
    let roles: Vec<String> = client
        .query(
            "select r.rolname::text from pg_roles r where r.rolname <> current_user \
             and pg_has_role(current_user, r.oid, 'MEMBER') order by r.rolname",
            &[],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut others = Vec::new();
    for candidate in roles {
        client.execute("select set_config('role', $1, false)", &[&candidate])?;
        // Logto's policy shows a tenant's row to its own role only.
        let owned: Vec<String> = client
            .query("select id from public.tenants where db_user = $1 order by id", &[&candidate])
            .map(|rows| rows.iter().map(|row| row.get(0)).collect())
            .unwrap_or_default();
        if owned.iter().any(|id| id == tenant) {
            return Ok(Becoming::Tenant(candidate));
        }
        others.extend(owned);
        client.batch_execute("reset role")?;
    }
    others.sort();
    Ok(Becoming::Others(others))
}

/// What a login role may become for a tenant: its role, or else the tenants of the roles it
/// is a member of (none, perhaps).
enum Becoming {
    Tenant(String),
    Others(Vec<String>),
}

/// Whether two drafts' identities ([`PostgresStore::draft_identity`]) name a database of the
/// same name and the same tenant, reached another way (another host spelling, port or user):
/// perhaps the same database, perhaps another server's.
pub fn same_database_name_and_tenant(a: &str, b: &str) -> bool {
    matches!((database_and_tenant(a), database_and_tenant(b)), (Some(x), Some(y)) if x == y)
}

/// The tenant of `b` when it names a database of the same name as `a` for another tenant: a
/// draft kept under `--tenant acme` was neither offered nor named on the default tenant's
/// screen, and an operator who forgot `--tenant` after a crash did not learn an edit waited
/// (bb41).
pub fn another_tenant_of<'b>(a: &str, b: &'b str) -> Option<&'b str> {
    let ((database, tenant), (other_database, other_tenant)) =
        (database_and_tenant(a)?, database_and_tenant(b)?);
    (database == other_database && tenant != other_tenant).then_some(other_tenant)
}

/// `postgres://user@host:port/DB#tenant=T` or `postgres://user@/DB?host=…&port=…#tenant=T`.
fn database_and_tenant(identity: &str) -> Option<(&str, &str)> {
    let (place, tenant) = identity.strip_prefix("postgres://")?.rsplit_once("#tenant=")?;
    let before_query = place.split_once('?').map_or(place, |(before, _)| before);
    Some((before_query.rsplit_once('/')?.1, tenant))
}

/// Whether a transaction on this connection may write: not on a standby, nor where
/// `default_transaction_read_only` is on.
fn takes_writes(client: &mut Client) -> Result<bool, postgres::Error> {
    Ok(client.query_one("select current_setting('transaction_read_only') = 'off'", &[])?.get(0))
}

#[cfg(test)]
mod identity_tests {
    use super::same_database_name_and_tenant as same;

    #[test]
    fn two_addresses_of_a_database_of_one_name_and_tenant_are_the_same_and_nothing_else() {
        let tcp = "postgres://postgres@127.0.0.1:5432/logto#tenant=default";
        for other in [
            "postgres://postgres@localhost:5432/logto#tenant=default",
            "postgres://logto_tenant_logto_default@[::1]:6432/logto#tenant=default",
            "postgres://postgres@/logto?host=/run/postgresql&port=5432#tenant=default",
        ] {
            assert!(same(tcp, other), "{other}");
        }
        for other in [
            "postgres://postgres@127.0.0.1:5432/logto#tenant=admin",
            "postgres://postgres@127.0.0.1:5432/logto2#tenant=default",
            "/home/op/.local/share/custodian/users.redb",
            "postgres://postgres@127.0.0.1:5432/logto",
        ] {
            assert!(!same(tcp, other), "{other}");
        }
    }

    #[test]
    fn another_tenant_of_a_database_of_the_same_name_is_named_and_nothing_else() {
        let here = "postgres://postgres@127.0.0.1:5432/logto#tenant=default";
        let acme = "postgres://postgres@localhost:5432/logto#tenant=acme";
        assert_eq!(super::another_tenant_of(here, acme), Some("acme"));
        for other in [
            "postgres://postgres@127.0.0.1:5432/logto#tenant=default",
            "postgres://postgres@127.0.0.1:5432/logto2#tenant=acme",
            "/home/op/.local/share/custodian/users.redb",
        ] {
            assert_eq!(super::another_tenant_of(here, other), None, "{other}");
        }
    }
}
