//! A PostgreSQL server with Logto's own schema (made by Logto's CLI) for the tests, started
//! once per test binary by `scripts/pg-test-env` — or the one `.ci/run` already started —
//! and a fresh database per test, copied from the seeded `logto` one. A test that needs
//! PostgreSQL and cannot have it fails with the script's words; it never skips.
//!
//! Users are inserted with SQL as Logto stores them: every column, a password hash and an
//! MFA TOTP secret included, so the tests can prove those never come out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::postgres::{Client, NoTls};
use serde_json::{Map, Value, json};

/// The facts `scripts/pg-test-env` wrote about the running server.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    pub root_cert: PathBuf,
    pub socket_dir: PathBuf,
    template: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The server for this test binary: started (or joined) on first use.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let output = Command::new("bash")
            .arg(repo.join("scripts/pg-test-env"))
            .arg("start")
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .output()
            .expect("run scripts/pg-test-env");
        assert!(
            output.status.success(),
            "the PostgreSQL tests need a server and scripts/pg-test-env could not start one:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env_file = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let text = std::fs::read_to_string(&env_file).unwrap_or_else(|e| panic!("read {env_file}: {e}"));
        let facts: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let fact = |key: &str| *facts.get(key).unwrap_or_else(|| panic!("{env_file} has no {key}"));
        Server {
            port: fact("PGTEST_PORT").parse().expect("a port number"),
            root_cert: PathBuf::from(fact("PGTEST_ROOT_CERT")),
            socket_dir: PathBuf::from(fact("PGTEST_SOCKET_DIR")),
            template: fact("PGTEST_TEMPLATE").to_owned(),
        }
    })
}

impl Server {
    /// The superuser on database `dbname`, over TCP without TLS (trusted from this machine).
    pub fn superuser_url(&self, dbname: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{dbname}?sslmode=disable", self.port)
    }

    pub fn superuser(&self, dbname: &str) -> Client {
        let url = format!("host=127.0.0.1 port={} user=postgres dbname={dbname}", self.port);
        Client::connect(&url, NoTls).unwrap_or_else(|e| panic!("connect to {dbname} as postgres: {e}"))
    }
}

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// Two users of tenant `default`: alice (`u1`, `{"theme":"dark"}`) and bob (`u2`, `{}`).
pub const ALICE_AND_BOB: &str = r#"[
{"id":"u1","username":"alice","customData":{"theme":"dark"}},
{"id":"u2","username":"bob","customData":{}}
]"#;

/// A database of its own for one test: a copy of Logto's freshly seeded one (tenants
/// `default` and `admin`, no users). Dropped when the value is.
pub struct LogtoDb {
    pub server: &'static Server,
    pub name: String,
}

impl LogtoDb {
    pub fn new() -> Self {
        let server = server();
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        let mut admin = server.superuser("postgres");
        // FILE_COPY: a plain copy of the template's files, faster than WAL_LOG here.
        let create = format!("create database {name} template {} strategy file_copy", server.template);
        let mut attempt = 0;
        loop {
            match admin.batch_execute(&create) {
                Ok(()) => break,
                // Two copies of one template at the same moment: the second waits its turn.
                Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("{create}: {e}"),
            }
        }
        Self { server, name }
    }

    /// Connected as the superuser (who bypasses row-level security).
    pub fn superuser(&self) -> Client {
        self.server.superuser(&self.name)
    }

    /// User `id`'s customData as the database holds it (jsonb's text), read as the superuser.
    pub fn stored_text(&self, id: &str) -> String {
        self.superuser()
            .query_one("select custom_data::text from public.users where id = $1", &[&id])
            .unwrap_or_else(|e| panic!("user {id}'s row: {e}"))
            .get(0)
    }

    /// The number a `select count(*) …` of no parameters gives, read as the superuser.
    pub fn count(&self, sql: &str) -> i64 {
        self.superuser().query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }

    pub fn superuser_url(&self) -> String {
        self.server.superuser_url(&self.name)
    }

    /// The tenant's own role and its password, as Logto keeps them in `tenants`.
    pub fn tenant_role(&self, tenant: &str) -> (String, String) {
        let row = self
            .superuser()
            .query_one("select db_user, db_user_password from tenants where id = $1", &[&tenant])
            .unwrap_or_else(|e| panic!("tenant {tenant}: {e}"));
        (row.get(0), row.get(1))
    }

    /// A URL that logs in as the tenant's own role (password in the URL), without TLS.
    pub fn tenant_url(&self, tenant: &str) -> String {
        let (role, password) = self.tenant_role(tenant);
        format!("postgres://{role}:{password}@127.0.0.1:{}/{}?sslmode=disable", self.server.port, self.name)
    }

    /// A new database with custodian's schema and `users` (a Logto-shaped JSON array) in
    /// tenant `default`.
    pub fn initialised_with(users: &str) -> Self {
        let db = Self::new();
        db.init_custodian();
        db.insert_json("default", users);
        db
    }

    /// Runs custodian's `init` in this database (as the superuser).
    pub fn init_custodian(&self) {
        custodian::store::PostgresStore::init(&self.superuser_url()).expect("custodian init");
    }

    /// Inserts a user as Logto does (see [`LogtoUser`]) into `tenant`.
    pub fn insert(&self, tenant: &str, user: &LogtoUser) {
        user.insert(&mut self.superuser(), tenant);
    }

    /// Inserts every user of a Logto-shaped JSON array (`id`, `username`, `primaryEmail`,
    /// `primaryPhone`, `name`, `customData`, …) with secrets of their own.
    pub fn insert_json(&self, tenant: &str, users: &str) {
        let values: Vec<Value> = serde_json::from_str(users).expect("a JSON array of users");
        let mut client = self.superuser();
        for value in values {
            LogtoUser::from_api(value).insert(&mut client, tenant);
        }
    }
}

impl Drop for LogtoDb {
    fn drop(&mut self) {
        let drop = format!("drop database if exists {} with (force)", self.name);
        if let Err(e) = self.server.superuser("postgres").batch_execute(&drop) {
            eprintln!("{drop}: {e}");
        }
    }
}

/// A user as Logto's `users` row holds it, secrets included.
#[derive(Debug, Clone)]
pub struct LogtoUser {
    pub id: String,
    pub username: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub profile: Value,
    pub identities: Value,
    /// The customData as JSON text, exactly as given to jsonb.
    pub custom_data: String,
    /// An Argon2i hash, as Logto's `encryptUserPassword` writes it.
    pub password_encrypted: Option<String>,
    /// MFA verifications: a TOTP entry holds its secret in `key`.
    pub mfa_verifications: Value,
    pub logto_config: Value,
    pub is_suspended: bool,
}

/// The secrets every test user is given; none of them may ever leave the database.
pub const PASSWORD_HASH: &str =
    "$argon2i$v=19$m=4096,t=10,p=1$c2VjcmV0LXNhbHQtZm9yLXRlc3Q$SECRETpasswordHASHnever0shown0anywhere00";
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPSECRETTOTP";
pub const LOGTO_CONFIG_SECRET: &str = "logto-config-private-value";

impl LogtoUser {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            username: None,
            primary_email: None,
            primary_phone: None,
            name: None,
            avatar: None,
            profile: json!({}),
            identities: json!({}),
            custom_data: "{}".to_owned(),
            password_encrypted: Some(PASSWORD_HASH.to_owned()),
            mfa_verifications: json!([
                {"id": format!("totp{id}"), "type": "Totp", "key": TOTP_SECRET, "createdAt": "2024-01-01T00:00:00.000Z"},
                {"id": format!("bc{id}"), "type": "BackupCode", "codes": [{"code": "backup-code-secret"}], "createdAt": "2024-01-01T00:00:00.000Z"}
            ]),
            logto_config: json!({"passkeySignIn": {"skipped": true}, "private": LOGTO_CONFIG_SECRET}),
            is_suspended: false,
        }
    }

    /// From a Management-API-shaped object (the redb tests' import format).
    pub fn from_api(value: Value) -> Self {
        let Value::Object(map) = value else { panic!("a user object") };
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let mut user = Self::new(&text("id").expect("every test user has an id"));
        user.username = text("username");
        user.primary_email = text("primaryEmail");
        user.primary_phone = text("primaryPhone");
        user.name = text("name");
        user.avatar = text("avatar");
        if let Some(profile) = map.get("profile") {
            user.profile = profile.clone();
        }
        if let Some(identities) = map.get("identities") {
            user.identities = identities.clone();
        }
        if let Some(data) = map.get("customData") {
            user.custom_data = serde_json::to_string(data).expect("serialisable");
        }
        user.is_suspended = map.get("isSuspended").and_then(Value::as_bool).unwrap_or(false);
        user
    }

    pub fn custom_data(mut self, text: &str) -> Self {
        self.custom_data = text.to_owned();
        self
    }

    fn insert(&self, client: &mut Client, tenant: &str) {
        let profile = self.profile.to_string();
        let identities = self.identities.to_string();
        let mfa = self.mfa_verifications.to_string();
        let config = self.logto_config.to_string();
        client
            .execute(
                "insert into users (tenant_id, id, username, primary_email, primary_phone, password_encrypted,
                    password_encryption_method, name, avatar, profile, identities, custom_data, logto_config,
                    mfa_verifications, is_suspended, password_updated_at, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6,
                    case when $6::varchar is null then null else 'Argon2i'::users_password_encryption_method end,
                    $7, $8, $9::text::jsonb, $10::text::jsonb, $11::text::jsonb, $12::text::jsonb,
                    $13::text::jsonb, $14, now(), now(), now())",
                &[
                    &tenant,
                    &self.id,
                    &self.username,
                    &self.primary_email,
                    &self.primary_phone,
                    &self.password_encrypted,
                    &self.name,
                    &self.avatar,
                    &profile,
                    &identities,
                    &self.custom_data,
                    &config,
                    &mfa,
                    &self.is_suspended,
                ],
            )
            .unwrap_or_else(|e| panic!("insert user {}: {e:?}", self.id));
    }
}

/// Every string a value holds (keys and leaves), to look for secrets in anything returned.
pub fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings_in(v, out);
        }),
        _ => {}
    }
}

/// The columns of `users` custodian must never read.
pub const SECRET_COLUMNS: [&str; 4] =
    ["password_encrypted", "password_encryption_method", "mfa_verifications", "logto_config"];

/// An object with the given keys, for building documents in tests.
pub fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}
