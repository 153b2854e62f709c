//! The secrets lint as a script meets it through the real binary: `set` and `restore` refuse
//! customData that looks like it holds secrets (exit 4, nothing written) unless
//! `--allow-sensitive`, which warns and saves; `import` warns and imports. Every run gets its
//! own HOME and XDG directories, so no test touches the real home.

mod support;

use std::path::{Path, PathBuf};

use support::home::PrivateHome;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

const PEOPLE: &str = r#"{"id":"u1","username":"alice","primaryEmail":"alice@example.com","name":"Alice Liddell","customData":{"theme":"dark","lang":"en"}}
{"id":"u2","username":"bob","primaryEmail":"bob@example.org","name":"Bob Builder","customData":{}}
"#;

const ALICE_DOC: &str = "{\n  \"theme\": \"dark\",\n  \"lang\": \"en\"\n}\n";

/// {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890"} . a signature.
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

/// Refusals of the secrets lint: exit 4, one line, nothing printed.
trait Refused {
    fn refused(self) -> String;
}

impl Refused for Run {
    /// Asserts exit code 4 and a one-line error `custodian: ...`; returns the line.
    #[track_caller]
    fn refused(self) -> String {
        assert_eq!(self.code, 4, "expected exit 4: {self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "one line: {self:?}");
        assert!(self.stderr.starts_with("custodian: ") && self.stderr.ends_with('\n'), "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        self.stderr.trim_end().to_owned()
    }
}

struct Sandbox {
    home: PrivateHome,
}

impl Sandbox {
    fn new() -> Self {
        Self { home: PrivateHome::new(&[]) }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path(name)
    }

    fn run(&self, db: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        self.home.run_on(db, args, Some(stdin.unwrap_or("").as_bytes()))
    }

    fn on(&self, db: &Path, args: &[&str]) -> Run {
        self.run(db, args, None)
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    /// A new database with alice and bob.
    fn people(&self) -> PathBuf {
        let db = self.path("people.redb");
        self.on(&db, &["init"]).ok();
        let file = self.file("people.jsonl", PEOPLE);
        let run = self.on(&db, &["import", &file]).ok();
        assert_eq!(run.stderr, "", "{run:?}");
        db
    }

    fn get(&self, db: &Path, user: &str) -> String {
        self.on(db, &["get", user]).ok().stdout
    }

    fn revisions(&self, db: &Path, user: &str) -> usize {
        self.on(db, &["history", user]).ok().stdout.lines().skip(1).count()
    }
}

fn secret_doc() -> String {
    format!(r#"{{"theme": "dark", "password": "hunter2", "auth": {{"jwt": "{JWT}"}}}}"#)
}

#[test]
fn set_refuses_what_looks_like_secrets_with_exit_4_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let file = sandbox.file("secret.json", &secret_doc());
    let error = sandbox.on(&db, &["set", "alice", &file]).refused();
    assert_eq!(
        error,
        "custodian: refusing to store what looks like secrets in customData (it reaches front ends): \
         password (key looks like a password), auth.jwt (value looks like a JWT); \
         use --allow-sensitive to store it anyway"
    );
    // The same through standard input, and with an expected revision that would match.
    sandbox.run(&db, &["set", "alice", "-", "--expect-revision", "1"], Some(&secret_doc())).refused();
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
    assert_eq!(sandbox.revisions(&db, "alice"), 1);
}

#[test]
fn set_with_allow_sensitive_saves_and_warns_on_one_line() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let file = sandbox.file("secret.json", &secret_doc());
    let run = sandbox.on(&db, &["set", "alice", &file, "--allow-sensitive"]).ok();
    assert!(run.stdout.starts_with("saved: user u1 revision 2 ("), "{run:?}");
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{run:?}");
    assert!(warnings[0].starts_with("custodian: warning: "), "{run:?}");
    assert!(warnings[0].contains("password (key looks like a password)"), "{run:?}");
    assert!(warnings[0].contains("auth.jwt (value looks like a JWT)"), "{run:?}");
    assert!(sandbox.get(&db, "alice").contains("hunter2"));
    assert_eq!(sandbox.revisions(&db, "alice"), 2);
    // The same again stores nothing: "no changes", and no warning that it stored secrets.
    let again = sandbox.on(&db, &["set", "alice", &file, "--allow-sensitive"]).ok();
    assert!(again.stdout.starts_with("no changes"), "{again:?}");
    assert!(!again.stderr.contains("stored what looks like secrets"), "{again:?}");
}

#[test]
fn restore_of_a_revision_holding_a_secret_is_refused_without_the_flag() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let secret = sandbox.file("secret.json", &secret_doc());
    sandbox.on(&db, &["set", "alice", &secret, "--allow-sensitive"]).ok();
    let clean = sandbox.file("clean.json", r#"{"theme": "light"}"#);
    let run = sandbox.on(&db, &["set", "alice", &clean]).ok();
    assert!(!run.stderr.contains("secret"), "{run:?}");
    assert_eq!(sandbox.revisions(&db, "alice"), 3);

    let error = sandbox.on(&db, &["restore", "alice", "2"]).refused();
    assert!(error.contains("password (key looks like a password)"), "{error}");
    assert!(error.contains("--allow-sensitive"), "{error}");
    assert_eq!(sandbox.revisions(&db, "alice"), 3);
    assert_eq!(sandbox.get(&db, "alice"), "{\n  \"theme\": \"light\"\n}\n");

    // Revision 1 holds nothing sensitive: restoring it needs no flag.
    sandbox.on(&db, &["restore", "alice", "1"]).ok();
    let run = sandbox.on(&db, &["restore", "alice", "2", "--allow-sensitive"]).ok();
    assert!(run.stdout.starts_with("saved: user u1 revision 5"), "{run:?}");
    assert!(run.stderr.starts_with("custodian: warning: "), "{run:?}");
    assert!(sandbox.get(&db, "alice").contains("hunter2"));
}

#[test]
fn ordinary_preference_data_saves_without_warnings() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = r##"{
  "hasPassword": true,
  "passwordPolicyAcknowledged": true,
  "passwordUpdatedAt": "2024-10-30T12:06:55Z",
  "showApiKeyBanner": false,
  "tokenCount": 1200,
  "tokenizer": "cl100k",
  "maxTokens": 4096,
  "spinner": "dots",
  "opinion": "positive",
  "pinned": ["inbox", "reports"],
  "keyboardLayout": "de-DE",
  "secretaryName": "Jane Doe",
  "cookieConsent": {"analytics": true, "marketing": false},
  "deviceId": "550e8400-e29b-41d4-a716-446655440000",
  "avatarHash": "d4c74594d841139328695756648b6bd6",
  "accent": "#ff00aa",
  "homepage": "https://example.com/users/alice?tab=profile",
  "bio": "Likes long walks, the Donaudampfschifffahrtsgesellschaft and featureFlagNewEditorBeta2024Enabled."
}"##;
    let file = sandbox.file("ordinary.json", doc);
    let run = sandbox.on(&db, &["set", "alice", &file]).ok();
    assert_eq!(run.stderr, "custodian: user u1: removed keys: theme, lang\n", "{run:?}");
    assert_eq!(sandbox.revisions(&db, "alice"), 2);
}

#[test]
fn a_refusal_names_twenty_places_then_counts_the_rest() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let members: Vec<String> = (0..25).map(|i| format!(r#"{{"apiToken": "token-value-{i:04}"}}"#)).collect();
    let file = sandbox.file("many.json", &format!(r#"{{"integrations": [{}]}}"#, members.join(",")));
    let error = sandbox.on(&db, &["set", "bob", &file]).refused();
    assert!(error.contains("integrations[19].apiToken (key looks like a token), and 5 more;"), "{error}");
    assert!(!error.contains("integrations[20]"), "{error}");
}

#[test]
fn a_refusal_shows_control_characters_in_keys_inertly() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let file = sandbox.file("escape.json", r#"{"\u001b[2Jpassword": "hunter2"}"#);
    let error = sandbox.on(&db, &["set", "bob", &file]).refused();
    assert!(!error.contains('\u{1b}'), "{error:?}");
    // The key holds a bracket: written quoted, its ESC as JSON writes it.
    assert!(error.contains(r#"["\u001b[2Jpassword"] (key looks like a password)"#), "{error}");
}

#[test]
fn import_warns_with_the_users_and_first_five_places_and_imports() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let users = format!(
        "{}\n{}\n{}\n",
        r#"{"id":"n1","username":"carol","customData":{"password":"a","secret":"b","pin":"1234"}}"#,
        r#"{"id":"n2","username":"dave","customData":{"theme":"dark"}}"#,
        format_args!(
            r#"{{"id":"n3","username":"erin","customData":{{"jwt":"{JWT}","apiKey":"abcdefgh12345678","ssn":"078-05-1120","db":"postgres://app:hunter2@db/main"}}}}"#
        ),
    );
    let file = sandbox.file("new.jsonl", &users);
    let run = sandbox.on(&db, &["import", &file]).ok();
    assert_eq!(run.stdout, "imported: 3 new, 0 updated, 0 unchanged\n");
    assert_eq!(
        run.stderr,
        "custodian: warning: customData of 2 users looks like it holds secrets (it reaches front ends), \
         7 in all: n1: password (key looks like a password), n1: secret (key looks like a secret), \
         n1: pin (key looks like a PIN), n3: jwt (value looks like a JWT), \
         n3: apiKey (key looks like an API key), and 2 more\n"
    );
    assert!(sandbox.get(&db, "erin").contains("078-05-1120"));
    // The same file again as an upsert writes no one: no warning (it warned of secrets it
    // did not import, on every nightly re-sync: bb40 F4).
    let again = sandbox.on(&db, &["import", "--upsert", &file]).ok();
    assert_eq!(again.stdout, "imported: 0 new, 0 updated, 3 unchanged\n");
    assert_eq!(again.stderr, "");
    // One user changed beside them: the warning says it counts the records read.
    let changed = users.replace(r#""theme":"dark""#, r#""theme":"light""#);
    let file = sandbox.file("changed.jsonl", &changed);
    let run = sandbox.on(&db, &["import", "--upsert", &file]).ok();
    assert_eq!(run.stdout, "imported: 0 new, 1 updated, 2 unchanged\n");
    assert!(
        run.stderr.contains("looks like it holds secrets (it reaches front ends) (of the records read, 2 of them unchanged and stored as they were), 7 in all"),
        "{}",
        run.stderr
    );
}

#[test]
fn importing_the_demo_users_gives_no_warning() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("demo.redb");
    sandbox.on(&db, &["init"]).ok();
    let run = sandbox.on(&db, &["import", DEMO_USERS]).ok();
    assert_eq!(run.stdout, "imported: 200 new, 0 updated, 0 unchanged\n");
    assert_eq!(run.stderr, "");
}
