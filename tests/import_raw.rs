//! Raw rows of Logto's `users` table (`select row_to_json(u) from users u`), and credentials,
//! which are never imported, never exported, and removed from databases that kept them.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable};
use serde_json::{Value, json};
use support::home::PrivateHome;
use support::run::Run;

struct Sandbox {
    home: PrivateHome,
}

impl Sandbox {
    fn new() -> Self {
        Self { home: PrivateHome::new(&[]) }
    }

    fn on(&self, db: &Path, args: &[&str]) -> Run {
        self.home.run_on(db, args, None)
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    fn init(&self) -> PathBuf {
        self.init_named("users.redb")
    }

    /// An empty database file `name` in the sandbox's home.
    fn init_named(&self, name: &str) -> PathBuf {
        let db = self.home.path(name);
        self.on(&db, &["init"]).ok();
        db
    }

    fn export(&self, db: &Path) -> String {
        self.on(db, &["export"]).ok().stdout
    }
}

/// A row as `select row_to_json(u) from users u` gives it on Logto 1.x (every column of the
/// table, in its order; timestamps as PostgreSQL writes timestamptz in JSON).
fn raw_row(tenant: &str, id: &str, username: &str) -> Value {
    json!({
        "tenant_id": tenant,
        "id": id,
        "username": username,
        "primary_email": format!("{username}@example.com"),
        "primary_phone": null,
        "password_encrypted": "$argon2i$v=19$m=4096,t=10,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA",
        "password_encryption_method": "Argon2i",
        "name": "Ann Example",
        "avatar": null,
        "profile": {},
        "application_id": null,
        "cimd_client_id": null,
        "identities": {},
        "custom_data": {"plan": "pro", "seats": 3},
        "logto_config": {},
        "mfa_verifications": [{"id": "m1", "type": "Totp", "key": "JBSWY3DPEHPK3PXP", "createdAt": "2024-01-01T00:00:00.000Z"}],
        "is_suspended": false,
        "is_password_expired": false,
        "last_sign_in_at": "2024-03-01T12:34:56.789+00:00",
        "password_updated_at": null,
        "created_at": "2024-01-01T00:00:00.123+00:00",
        "updated_at": "2024-01-02 00:00:00+00"
    })
}

/// The hash and its algorithm as Logto's API carries them (`passwordDigest`,
/// `passwordAlgorithm`: `POST /api/users`, `GET /api/users?includePasswordHash=true`) and the
/// plaintext `password` are credentials too: stored and exported as unknown fields, with no
/// word (bb46 F1).
#[test]
fn the_apis_password_digest_and_plaintext_password_are_never_imported() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let digest = json!({"id": "u1", "username": "alice", "customData": {},
        "passwordDigest": "$2b$10$abcdefghijklmnopqrstuuYQ3C1wEqE5M3gQbq9u0mFzqJ7rXz0xK",
        "passwordAlgorithm": "Bcrypt"});
    let plain = json!({"id": "u2", "username": "bob", "customData": {}, "password": "hunter2-plaintext"});
    let file = sandbox.file("api.jsonl", &lines(&[digest, plain]));
    let run = sandbox.on(&db, &["import", &file]).ok();
    assert_eq!(
        run.stderr,
        "custodian: credentials are never imported: dropped passwordDigest, passwordAlgorithm, password from 2 users\n"
    );
    let exported = sandbox.export(&db);
    for marker in ["$2b$10$", "Bcrypt", "hunter2", "password"] {
        assert!(!exported.contains(marker), "{marker} exported: {exported}");
    }
    let bytes = fs::read(&db).expect("read db");
    assert!(!bytes.windows(7).any(|w| w == b"hunter2"), "a password is in the database file");
}

fn lines(rows: &[Value]) -> String {
    rows.iter().map(|row| format!("{row}\n")).collect()
}

const SECRET_MARKERS: [&str; 8] = [
    "argon2i",
    "JBSWY3DPEHPK3PXP",
    "password_encrypted",
    "passwordEncrypted",
    "mfa",
    "Mfa",
    "logto_config",
    "logtoConfig",
];

#[test]
fn a_raw_logto_row_is_imported_as_the_user_it_describes() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let file = sandbox.file("rows.jsonl", &lines(&[raw_row("default", "u1", "ann")]));
    let run = sandbox.on(&db, &["import", &file]).ok();
    assert_eq!(run.stdout, "imported: 1 new, 0 updated, 0 unchanged\n");
    let exported: Value = serde_json::from_str(sandbox.export(&db).trim_end()).expect("json");
    assert_eq!(exported["customData"], json!({"plan": "pro", "seats": 3}));
    assert_eq!(exported["primaryEmail"], "ann@example.com");
    assert_eq!(exported["createdAt"], 1_704_067_200_123_i64);
    assert_eq!(exported["updatedAt"], 1_704_153_600_000_i64);
    assert_eq!(exported["lastSignInAt"], 1_709_296_496_789_i64);
    for column in ["custom_data", "primary_email", "tenant_id", "tenantId", "created_at"] {
        assert!(exported.get(column).is_none(), "{column} kept: {exported}");
    }
}

#[test]
fn credentials_are_never_imported_in_either_shape_and_one_line_says_so() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let api = json!({"id": "u2", "username": "bo", "customData": {"a": 1},
                     "passwordEncrypted": "$argon2i$v=19$x", "mfaVerifications": []});
    let plain = json!({"id": "u3", "username": "cy"});
    // A row as Logto writes one for a user without a password or MFA: empty fields, dropped
    // and said of no one (every such user was counted as having had credentials).
    let mut bare = raw_row("default", "u4", "dee");
    for (column, empty) in [
        ("password_encrypted", json!(null)),
        ("password_encryption_method", json!(null)),
        ("mfa_verifications", json!([])),
    ] {
        bare[column] = empty;
    }
    let file = sandbox.file("rows.jsonl", &lines(&[raw_row("default", "u1", "ann"), api, plain, bare]));
    let run = sandbox.on(&db, &["import", &file]).ok();
    assert_eq!(
        run.stderr,
        "custodian: credentials are never imported: dropped password_encrypted, password_encryption_method, \
         mfa_verifications, passwordEncrypted from 2 users\n"
    );
    let exported = sandbox.export(&db);
    for marker in SECRET_MARKERS {
        assert!(!exported.contains(marker), "{marker} exported: {exported}");
    }
    // Nor is anything kept in the file itself.
    let bytes = fs::read(&db).expect("read db");
    assert!(!bytes.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"), "a TOTP secret is in the database file");
}

#[test]
fn a_record_mixing_both_shapes_is_refused_with_its_number_and_line() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let mut mixed = raw_row("default", "u2", "bo");
    mixed["customData"] = json!({});
    let file = sandbox.file("rows.jsonl", &lines(&[raw_row("default", "u1", "ann"), mixed]));
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(error.contains("line 2: both `customData` and `custom_data`"), "{error}");
    let array = serde_json::to_string_pretty(
        &json!([{"id": "u1"}, {"id": "u2", "primaryEmail": "a@b.c", "primary_email": "a@b.c"}]),
    )
    .expect("json");
    let file = sandbox.file("rows.json", &array);
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(error.contains("record 2 (line 5): both `primaryEmail` and `primary_email`"), "{error}");
    assert_eq!(sandbox.export(&db), "", "nothing imported");
}

#[test]
fn custom_data_that_is_not_an_object_is_refused() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let mut row = raw_row("default", "u1", "ann");
    // What `\copy` of the jsonb column as text into a JSON string would give.
    row["custom_data"] = json!("{\"plan\": \"pro\"}");
    let file = sandbox.file("rows.jsonl", &lines(&[row]));
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(error.contains("line 1: `custom_data` must be a JSON object, not a string"), "{error}");
    assert_eq!(sandbox.export(&db), "");
}

/// bb61 F1: null is read as absent, in either shape: a new user gets `{}`, an upsert keeps the
/// stored document (it was not said anywhere; the README's bad-input table says it now).
#[test]
fn a_null_custom_data_is_read_as_absent_new_users_get_an_empty_object_and_an_upsert_keeps_theirs() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let mut row = raw_row("default", "u1", "ann");
    row["custom_data"] = serde_json::Value::Null;
    let file =
        sandbox.file("rows.jsonl", &format!("{}{}", lines(&[row]), "{\"id\":\"u2\",\"customData\":null}\n"));
    sandbox.on(&db, &["import", &file]).ok();
    let exported = sandbox.export(&db);
    assert_eq!(exported.matches("\"customData\":{}").count(), 2, "{exported}");
    let kept = sandbox.file("kept.jsonl", "{\"id\":\"u3\",\"customData\":{\"keep\":\"me\"}}\n");
    sandbox.on(&db, &["import", &kept]).ok();
    let upsert = sandbox.file("upsert.jsonl", "{\"id\":\"u3\",\"customData\":null}\n");
    sandbox.on(&db, &["import", "--upsert", &upsert]).ok();
    assert!(sandbox.export(&db).contains("\"customData\":{\"keep\":\"me\"}"), "the stored document is kept");
}

#[test]
fn a_timestamp_that_is_not_a_timestamptz_is_refused() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let mut row = raw_row("default", "u1", "ann");
    row["created_at"] = json!("2024-01-01 00:00:00");
    let file = sandbox.file("rows.jsonl", &lines(&[row]));
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(error.contains("line 1: `created_at` \"2024-01-01 00:00:00\" is not a timestamp"), "{error}");
}

#[test]
fn tenant_imports_only_that_tenants_rows_and_counts_the_rest() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    // A row of another tenant custodian would refuse (SQL wrote it: a blank username, a
    // customData that is no object) is skipped as its tenant's rows are: it blocked the import
    // of the tenant asked for (bb71 F4).
    let mut blank = raw_row("admin", "u5", "x");
    blank["username"] = json!("   ");
    let mut listed = raw_row("admin", "u6", "y");
    listed["custom_data"] = json!([]);
    let rows = [
        raw_row("default", "u1", "ann"),
        raw_row("admin", "u2", "root"),
        blank,
        raw_row("default", "u3", "cy"),
        json!({"id": "u4", "username": "api"}),
        listed,
    ];
    let file = sandbox.file("rows.jsonl", &lines(&rows));
    let run = sandbox.on(&db, &["import", "--tenant", "default", &file]).ok();
    assert_eq!(run.stdout, "imported: 2 new, 0 updated, 0 unchanged\n");
    assert!(
        run.stderr
            .starts_with("custodian: skipped 4 records of other tenants or of none (--tenant default)\n"),
        "{}",
        run.stderr
    );
    let ids: Vec<String> = sandbox
        .export(&db)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ids, ["u1", "u3"]);
}

/// bb83 F4: with `--tenant`, one row of another tenant longer than the 16 MiB a record may
/// take ended the whole import (every other row of another tenant custodian would refuse is
/// skipped). Its tenant is read from its start, and it is skipped as its tenant's rows are;
/// without `--tenant`, or of the tenant imported, it is refused as before.
#[test]
fn a_row_of_another_tenant_too_long_to_read_is_skipped_with_tenant() {
    let sandbox = Sandbox::new();
    let mut huge = raw_row("admin", "big1", "giant");
    huge["custom_data"] = json!({"blob": "y".repeat(17 * 1024 * 1024)});
    let file = sandbox.file("rows.jsonl", &lines(&[huge.clone(), raw_row("default", "u1", "ann")]));
    let db = sandbox.init();
    let run = sandbox.on(&db, &["import", "--tenant", "default", &file]).ok();
    assert_eq!(run.stdout, "imported: 1 new, 0 updated, 0 unchanged\n");
    assert!(
        run.stderr.contains("skipped 1 record of other tenants or of none (--tenant default)"),
        "{}",
        run.stderr
    );
    let other = sandbox.init_named("other.redb");
    for args in [vec!["import", &file], vec!["import", "--tenant", "admin", &file]] {
        let error = sandbox.on(&other, &args).fails(4);
        assert!(error.contains("line 1: longer than 16 MiB"), "{args:?}: {error}");
    }
    // The same rows as a JSON array (psql's `json_agg`): its elements are skipped alike (it
    // ended the import: §4 of stop 63's note).
    let array = format!("[{},\n{}]\n", huge, raw_row("default", "u2", "bea"));
    let array = sandbox.file("rows.json", &array);
    let run = sandbox.on(&db, &["import", "--tenant", "default", &array]).ok();
    assert_eq!(run.stdout, "imported: 1 new, 0 updated, 0 unchanged\n");
    assert!(run.stderr.contains("skipped 1 record of other tenants"), "{}", run.stderr);
    let third = sandbox.init_named("third.redb");
    let error = sandbox.on(&third, &["import", "--tenant", "admin", &array]).fails(4);
    assert!(error.contains("record 1 (line 1): longer than 16 MiB"), "{error}");
}

/// bb83 F3: a raw row's values were refused by their API names (`primaryEmail`, `isSuspended`,
/// `applicationId`) where the file has its columns; the API's records keep theirs.
#[test]
fn a_raw_rows_refusals_name_its_columns_as_the_file_has_them() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let long = "x".repeat(200);
    for (record, said) in [
        (
            json!({"id": "a", "custom_data": {}, "primary_email": "  "}),
            "line 1: `primary_email` must not be empty",
        ),
        (
            json!({"id": "a", "custom_data": {}, "is_suspended": "t"}),
            "line 1: `is_suspended` must be true or false",
        ),
        (
            json!({"id": "a", "custom_data": {}, "application_id": long}),
            "line 1: `application_id` is 200 characters",
        ),
        (
            json!({"id": "a", "customData": {}, "primaryEmail": "  "}),
            "line 1: `primaryEmail` must not be empty",
        ),
    ] {
        let file = sandbox.file("row.jsonl", &lines(&[record]));
        let error = sandbox.on(&db, &["import", &file]).fails(4);
        assert!(error.starts_with(&format!("custodian: {said}")), "{error}");
    }
}

/// bb83 F5: the counts of the import's stderr lines are grouped as every other count is (`from
/// 1500 users`, `skipped 1500 records`, `"default" (99999)`).
#[test]
fn the_counts_of_the_imports_notes_have_their_thousands_grouped() {
    let sandbox = Sandbox::new();
    let rows: Vec<Value> = (0..1500)
        .map(|n| raw_row("admin", &format!("a{n}"), &format!("admin{n}")))
        .chain((0..1200).map(|n| raw_row("default", &format!("d{n}"), &format!("user{n}"))))
        .collect();
    let file = sandbox.file("rows.jsonl", &lines(&rows));
    let db = sandbox.init();
    let run = sandbox.on(&db, &["import", "--tenant", "default", &file]).ok();
    assert!(run.stderr.contains("skipped 1,500 records of other tenants or of none"), "{}", run.stderr);
    assert!(
        run.stderr.contains("password_encryption_method, mfa_verifications from 1,200 users"),
        "{}",
        run.stderr
    );
    let together = sandbox.init_named("together.redb");
    let run = sandbox.on(&together, &["import", &file]).ok();
    assert!(run.stderr.contains(r#""admin" (1,500), "default" (1,200)"#), "{}", run.stderr);
}

#[test]
fn a_tenant_no_record_is_of_is_refused_and_nothing_is_imported() {
    let sandbox = Sandbox::new();
    // Into an empty database (the bulk load) and into one with users (record by record).
    let empty = sandbox.init();
    let with_users = sandbox.init_named("with-users.redb");
    let seeded = sandbox.file("seed.jsonl", &lines(&[json!({"id": "s1", "username": "seeded"})]));
    sandbox.on(&with_users, &["import", &seeded]).ok();
    let rows = [raw_row("default", "u1", "ann"), json!({"id": "u4", "username": "api"})];
    let jsonl = sandbox.file("rows.jsonl", &lines(&rows));
    let array = sandbox.file("rows.json", &serde_json::to_string(&rows).expect("json"));
    for db in [&empty, &with_users] {
        let before = sandbox.export(db);
        for file in [&jsonl, &array] {
            // A typo of `default`.
            let error = sandbox.on(db, &["import", "--tenant", "defualt", file]).fails(4);
            assert_eq!(
                error,
                "custodian: the import: no record is of tenant \"defualt\" (all 2 records are of other tenants or of none); nothing was imported"
            );
            assert_eq!(sandbox.export(db), before);
        }
    }
    let one = sandbox.file("one.jsonl", &lines(&[raw_row("admin", "u2", "root")]));
    let error = sandbox.on(&empty, &["import", "--tenant", "default", &one]).fails(4);
    assert!(error.contains("(the 1 record is of other tenants or of none)"), "{error}");
    // Every record of the tenant: nothing skipped, and no line saying "skipped 0".
    let run = sandbox.on(&empty, &["import", "--tenant", "admin", &one]).ok();
    assert_eq!(run.stdout, "imported: 1 new, 0 updated, 0 unchanged\n");
    assert!(!run.stderr.contains("skipped"), "{}", run.stderr);
}

#[test]
fn without_tenant_the_tenant_is_dropped_from_every_record() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let api = json!({"id": "u2", "tenantId": "default"});
    let file = sandbox.file("rows.jsonl", &lines(&[raw_row("admin", "u1", "ann"), api]));
    let run = sandbox.on(&db, &["import", &file]).ok();
    assert!(
        run.stderr.contains("are of 2 tenants, imported together: \"admin\" (1), \"default\" (1)"),
        "{}",
        run.stderr
    );
    let exported = sandbox.export(&db);
    assert!(!exported.contains("tenant") && !exported.contains("admin"), "{exported}");
}

#[test]
fn records_of_several_tenants_imported_together_are_named_on_stderr() {
    let sandbox = Sandbox::new();
    // What `select row_to_json(u) from users u` gives on any Logto: the console's accounts
    // (tenant admin) with the tenant's users (bb46: merged without a word).
    let rows = [
        raw_row("admin", "a1", "console"),
        raw_row("default", "u1", "ann"),
        raw_row("default", "u2", "bo"),
        json!({"id": "u3", "tenantId": "evil\u{1b}]0;x\u{7}"}),
    ];
    let file = sandbox.file("rows.jsonl", &lines(&rows));
    let run = sandbox.on(&sandbox.init(), &["import", &file]).ok();
    assert_eq!(run.stdout, "imported: 4 new, 0 updated, 0 unchanged\n");
    // One tenant and records that name none: nothing merged, nothing said.
    let one = sandbox.file("one.jsonl", &lines(&[raw_row("default", "o1", "olga"), json!({"id": "o2"})]));
    let one_db = sandbox.init_named("one.redb");
    let run_one = sandbox.on(&one_db, &["import", &one]).ok();
    assert!(!run_one.stderr.contains("tenant"), "{}", run_one.stderr);
    assert_eq!(
        run.stderr.lines().next().unwrap_or_default(),
        "custodian: warning: the records are of 3 tenants, imported together: \"admin\" (1), \"default\" (2), \"evil\\u{1b}]0;x\\u{7}\" (1) (`--tenant ID` imports one tenant's records; Logto keeps its console's own accounts in tenant \"admin\")"
    );
    // A tenant is named by its first 64 characters, escaped, then cut to the line's width: a
    // tenant of a million combining accents (no width) made a line of megabytes.
    let long = format!("a{}", "\u{301}".repeat(1_000_000));
    let rows = [json!({"id": "l1", "tenantId": long}), json!({"id": "l2", "tenantId": "default"})];
    let file = sandbox.file("long.jsonl", &lines(&rows));
    let long_db = sandbox.init_named("long.redb");
    let run = sandbox.on(&long_db, &["import", &file]).ok();
    assert!(
        run.stderr.len() < 600,
        "{} bytes: {}",
        run.stderr.len(),
        &run.stderr[..600.min(run.stderr.len())]
    );
    assert!(run.stderr.contains("are of 2 tenants, imported together: \"a\\u{301}"), "{}", run.stderr);
    // Past eight tenants, the rest are counted by their records.
    let many: Vec<Value> =
        (0..11).map(|n| raw_row(&format!("t{n}"), &format!("m{n}"), &format!("n{n}"))).collect();
    let file = sandbox.file("many.jsonl", &lines(&many));
    let many_db = sandbox.init_named("many.redb");
    let run = sandbox.on(&many_db, &["import", &file]).ok();
    assert!(
        run.stderr.starts_with(
            "custodian: warning: the records are of more than 8 tenants, imported together: \"t0\" (1), \"t1\" (1),"
        ) && run.stderr.contains("\"t7\" (1), and 3 records of other tenants (`--tenant ID`"),
        "{}",
        run.stderr
    );
}

/// A database written by an older build that kept a raw dump's credentials as unknown fields.
fn database_with_stored_credentials(sandbox: &Sandbox) -> PathBuf {
    let db = sandbox.init();
    let file = sandbox.file(
        "plain.jsonl",
        "{\"id\":\"u1\",\"username\":\"ann\",\"customData\":{\"a\":1}}\n{\"id\":\"u2\"}\n",
    );
    sandbox.on(&db, &["import", &file]).ok();
    const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    const USERS: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("users");
    let redb = redb::Builder::new()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(&db)
        .expect("redb open");
    let tx = redb.begin_write().expect("write tx");
    {
        let mut users = tx.open_table(USERS).expect("users");
        let json = users.get("u1").expect("get").expect("u1 stored").value().to_owned();
        let mut stored: Value = serde_json::from_str(&json).expect("stored json");
        stored["user"]["passwordEncrypted"] = json!("$argon2i$v=19$m=4096,t=10,p=1$x$y");
        stored["user"]["mfa_verifications"] = json!([{"type": "Totp", "key": "JBSWY3DPEHPK3PXP"}]);
        users.insert("u1", stored.to_string().as_str()).expect("insert");
        tx.open_table(META).expect("meta").insert("schema_version", 2u64).expect("insert");
    }
    tx.commit().expect("commit");
    db
}

#[test]
fn export_never_writes_credentials_an_older_database_holds() {
    let sandbox = Sandbox::new();
    let db = database_with_stored_credentials(&sandbox);
    // export opens read-only: the upgrade has not run, and still nothing comes out.
    let run = sandbox.on(&db, &["--read-only", "export"]).ok();
    for marker in SECRET_MARKERS {
        assert!(!run.stdout.contains(marker), "{marker} exported: {}", run.stdout);
    }
    assert!(run.stdout.contains("\"a\":1"), "{}", run.stdout);
}

#[test]
fn the_next_read_write_open_removes_stored_credentials_and_says_so() {
    let sandbox = Sandbox::new();
    let db = database_with_stored_credentials(&sandbox);
    // A command that writes opens read-write, and that open upgrades.
    let run = sandbox.on(&db, &["set", "u2", &sandbox.file("doc.json", "{}")]).ok();
    assert!(
        run.stderr.contains(
            "custodian: removed credentials an earlier import kept (passwordEncrypted, mfa_verifications) from 1 user;"
        ),
        "{}",
        run.stderr
    );
    const USERS: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("users");
    let json = {
        let redb = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(&db)
            .expect("redb open");
        let tx = redb.begin_read().expect("read tx");
        tx.open_table(USERS).expect("users").get("u1").expect("get").expect("u1").value().to_owned()
    };
    assert!(!json.contains("argon2i") && !json.contains("JBSWY3DPEHPK3PXP"), "{json}");
    assert!(json.contains("ann"), "{json}");
    // Said once: the next open has nothing to say.
    let run = sandbox.on(&db, &["set", "u2", &sandbox.file("doc2.json", "{\"b\":2}")]).ok();
    assert!(!run.stderr.contains("credentials"), "{}", run.stderr);
}

/// All or nothing at scale: the import is one transaction fed from a stream, so a bad record
/// near the end of a long file leaves the database exactly as it was.
#[test]
fn a_bad_record_near_the_end_of_a_long_stream_leaves_the_database_as_it_was() {
    const RECORDS: usize = 50_000;
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let first =
        sandbox.file("first.jsonl", "{\"id\":\"keep1\",\"username\":\"keeper\",\"customData\":{\"k\":1}}\n");
    sandbox.on(&db, &["import", &first]).ok();
    let before = sandbox.export(&db);
    let mut text = String::with_capacity(RECORDS * 80);
    for n in 0..RECORDS {
        if n == RECORDS - 2 {
            text.push_str("{\"id\":\"bad\",\"customData\":[1]}\n");
        } else {
            text.push_str(&format!(
                "{{\"id\":\"s{n}\",\"username\":\"user{n}\",\"customData\":{{\"n\":{n}}}}}\n"
            ));
        }
    }
    let file = sandbox.file("long.jsonl", &text);
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(error.starts_with(&format!("custodian: line {}: customData", RECORDS - 1)), "{error}");
    assert_eq!(sandbox.export(&db), before);
    // (redb may have grown the file for the pages of the dropped transaction: free space.)
    assert_eq!(sandbox.on(&db, &["history", "keeper"]).ok().stdout.lines().count(), 2);
    // Without the bad record the same stream imports whole.
    let good = text.replace("{\"id\":\"bad\",\"customData\":[1]}\n", "");
    let file = sandbox.file("good.jsonl", &good);
    let run = sandbox.on(&db, &["--quiet", "import", &file]).ok();
    assert_eq!(run.stdout, "imported: 49,999 new, 0 updated, 0 unchanged\n");
    assert_eq!(run.stderr, "", "no progress when stderr is not a terminal");
}

/// On a terminal, `seed` and `import` show progress on stderr (the bar names the ETA); with
/// `--quiet` they do not. (Not on a pipe: see the streamed import test above.)
#[test]
fn progress_is_shown_on_a_terminal_and_silenced_by_quiet() {
    use support::pty::Tui;
    const USERS: &str = "12000";
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    // `program ARGS` run to its end in a terminal of this home; what it drew.
    let drawn_in_pty = |program: &str, args: &[&str]| -> Vec<u8> {
        let mut command = portable_pty::CommandBuilder::new(program);
        for arg in args {
            command.arg(arg);
        }
        let home = sandbox.home.path("");
        for key in ["HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"] {
            command.env(key, &home);
        }
        command.env_remove("CUSTODIAN_DB");
        command.env_remove("CUSTODIAN_TENANT");
        command.env("TERM", "xterm-256color");
        let mut tui = Tui::spawn(command, 100, 10);
        // 12,000 users take seconds in a debug build, more on two busy cores.
        let status = tui.wait_exit_within(std::time::Duration::from_secs(120));
        assert!(status.success(), "{status:?}: {}", tui.text());
        tui.raw()
    };
    let custodian = env!("CARGO_BIN_EXE_custodian");
    let db_arg = db.display().to_string();
    let run_in_pty =
        |args: &[&str]| -> Vec<u8> { drawn_in_pty(custodian, &[&["--db", &db_arg], args].concat()) };
    let shown = run_in_pty(&["seed", "--users", USERS]);
    assert!(String::from_utf8_lossy(&shown).contains("ETA"), "{}", String::from_utf8_lossy(&shown));
    // Then the last phase, said as such (it froze at "ETA 0s" short of the count: bb22 L05).
    assert!(
        String::from_utf8_lossy(&shown)
            .contains("all 12,000 users made; putting them in their tables, then committing"),
        "{}",
        String::from_utf8_lossy(&shown)
    );
    let quiet = run_in_pty(&["--quiet", "seed", "--users", USERS]);
    assert!(!String::from_utf8_lossy(&quiet).contains("ETA"), "{}", String::from_utf8_lossy(&quiet));
    // export, and import of an array (streamed like JSON Lines), the same way.
    let exported = sandbox.home.path("users.jsonl");
    let exported = exported.to_str().expect("utf-8 path");
    let shown = run_in_pty(&["export", "--out", exported]);
    assert!(String::from_utf8_lossy(&shown).contains("ETA"), "{}", String::from_utf8_lossy(&shown));
    // Printed on that same terminal, the users are not drawn over: no progress (its redraws
    // erased parts of the lines on screen: bb35, second pass, #3).
    let printed = String::from_utf8_lossy(&run_in_pty(&["export"])).into_owned();
    assert!(!printed.contains("ETA") && printed.matches("\"id\"").count() >= 12_000, "{}", &printed[..400]);
    // An undo, which counts nothing as it goes, says what it does and for how long (it was
    // silent for the 44 s of a 1M undo: bb35 #10).
    let patch = sandbox.file("flag.json", r#"[{"op":"add","path":"/undoMe","value":true}]"#);
    let patched = sandbox.on(&db, &["patch", &patch, "--all", "--yes"]).ok();
    let batch = patched
        .stdout
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|word| word.starts_with('b') && word.contains('T') && word.contains('-'))
        .expect("the batch id")
        .to_owned();
    let shown = String::from_utf8_lossy(&run_in_pty(&["undo", &batch])).into_owned();
    assert!(shown.contains(&format!("taking back batch {batch}")), "{shown}");
    // A search's patch counts the users as found, with no ETA it cannot know (it said `ETA 0s`
    // all through: bb81 F8), and says its commit with the final count (the count stood at its
    // last step of 4,096 through it: bb82 F7).
    let found = sandbox.file("found.json", r#"[{"op":"add","path":"/found","value":true}]"#);
    let shown =
        String::from_utf8_lossy(&run_in_pty(&["patch", "--search", "example", &found, "--yes"])).into_owned();
    assert!(shown.contains("users matching, patched as found") && !shown.contains("ETA"), "{shown}");
    // Both seeds' users (the quiet one's too), every one of them found.
    assert!(shown.contains("24,000 users gone over; committing the batch"), "{shown}");
    // A part of them as an array (a debug build imports a few thousand users a second here).
    let lines: String = fs::read_to_string(exported)
        .expect("read the export")
        .lines()
        .take(3000)
        .map(|l| format!("{l}\n"))
        .collect();
    let array = format!("[\n{}\n]\n", lines.lines().collect::<Vec<_>>().join(",\n"));
    let array = sandbox.file("users.json", &array);
    let into = sandbox.init_named("from-array.redb");
    let shown = drawn_in_pty(custodian, &["--db", &into.display().to_string(), "import", &array]);
    let shown = String::from_utf8_lossy(&shown).into_owned();
    assert!(shown.contains("ETA") && shown.contains("users"), "{shown}");
    assert!(shown.contains("all 3,000 users read; putting them in their tables"), "{shown}");
    assert_eq!(sandbox.export(&into), lines);
    // One record: not `all 1 users read` (bb42 F9).
    let one = sandbox.file("one.jsonl", &format!("{}\n", lines.lines().next().expect("a line")));
    let into_one = sandbox.init_named("one.redb");
    let shown = drawn_in_pty(custodian, &["--db", &into_one.display().to_string(), "import", &one]);
    let shown = String::from_utf8_lossy(&shown).into_owned();
    assert!(
        shown.contains("the 1 user read; putting it in its tables") && !shown.contains("1 users"),
        "{shown}"
    );
    // From a pipe the size is not known: bytes and rate, no total and no ETA (it showed the
    // bytes read so far as the total, with "ETA 0s": bb23 L05).
    let piped = sandbox.init_named("piped.redb");
    let pipe = format!("cat '{array}' | '{custodian}' --db '{}' import -", piped.display());
    let shown = String::from_utf8_lossy(&drawn_in_pty("sh", &["-c", &pipe])).into_owned();
    assert!(shown.contains("all 3,000 users read") && !shown.contains("ETA"), "{shown}");
    assert_eq!(sandbox.export(&piped), lines);
    // Not on a terminal, and not asked to be quiet: export says only what it did.
    let run = sandbox.on(&db, &["export", "--out", &sandbox.home.path("again.jsonl").display().to_string()]);
    assert_eq!(
        run.stderr,
        format!("exported 24,000 users to {}\n", sandbox.home.path("again.jsonl").display())
    );
}

/// bb16 L01: a list wrapped in an object, a record of misspelled fields and an empty one were
/// each imported as a user with a generated id and `{}` for customData (exit 0), and an
/// upsert whose `customdata` was misspelled said "1 updated" and changed nothing.
#[test]
fn a_record_of_misspelled_fields_or_naming_no_user_is_refused_and_nothing_is_imported() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    for (text, said) in [
        (
            r#"{"users":[{"id":"a1","username":"alice"}],"total":1}"#,
            "line 1: names no user: it has none of id, username, primaryEmail, primaryPhone, name (its `users` holds a list of objects",
        ),
        (
            "{\"id\":\"a1\",\"username\":\"alice\"}\n{\"ID\":\"a2\",\"userName\":\"bob\"}",
            "line 2: `ID` is no field of a user: `id` misspelled?",
        ),
        ("{\"id\":\"a1\"}\n{}", "line 2: names no user"),
        (
            r#"[{"id":"a1","custom_Data":{"plan":"pro"}}]"#,
            "record 1 (line 1): `custom_Data` is no field of a user: `customData` misspelled?",
        ),
    ] {
        let file = sandbox.file("users.jsonl", text);
        let error = sandbox.on(&db, &["import", &file]).fails(4);
        assert!(error.contains(said), "{text}: {error}");
        assert_eq!(sandbox.export(&db), "", "nothing imported");
    }
    let file = sandbox.file("one.jsonl", r#"{"id":"a1","username":"alice","customData":{"plan":"free"}}"#);
    sandbox.on(&db, &["import", &file]).ok();
    let before = sandbox.export(&db);
    let file = sandbox.file("up.jsonl", r#"{"id":"a1","customdata":{"plan":"enterprise"}}"#);
    let error = sandbox.on(&db, &["import", "--upsert", &file]).fails(4);
    assert!(error.contains("`customdata` is no field of a user: `customData` misspelled?"), "{error}");
    assert_eq!(sandbox.export(&db), before, "the user as it was");
}

/// bb16 L12: pretty-printed records one after another (what `jq '.[]'` prints without `-c`)
/// said only serde's "line 1: EOF while parsing an object", which read as a file cut short.
#[test]
fn pretty_printed_records_are_said_to_be_no_json_lines() {
    let sandbox = Sandbox::new();
    let db = sandbox.init();
    let file = sandbox
        .file("pretty.jsonl", "{\n  \"id\": \"a1\",\n  \"username\": \"alice\"\n}\n{\n  \"id\": \"a2\"\n}\n");
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(
        error.contains("line 1: EOF while parsing an object: the record ends with its line (JSON Lines is one user a line; pretty-printed JSON, as `jq` prints without -c, is not), or the file is cut short"),
        "{error}"
    );
    assert_eq!(sandbox.export(&db), "", "nothing imported");
    // An array's element is no line: its message stays the array's.
    let file = sandbox.file("cut.json", "[{\"id\":\"a1\"},{\"id\":");
    let error = sandbox.on(&db, &["import", &file]).fails(4);
    assert!(!error.contains("JSON Lines is one user a line"), "{error}");
}
