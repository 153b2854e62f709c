//! `custodian changes`, as a script sees it: the journal across users, newest first, its
//! filters, JSON Lines, and a time it cannot read refused before the database is opened.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::home::PrivateHome;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

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

    fn on_with_input(&self, db: &Path, args: &[&str], input: &str) -> Run {
        self.home.run_on(db, args, Some(input.as_bytes()))
    }

    /// The demo users, then admin's customData saved twice and alice's once.
    fn edited_db(&self) -> PathBuf {
        let db = self.home.path("users.redb");
        self.on(&db, &["init"]).ok();
        self.on(&db, &["import", DEMO_USERS]).ok();
        self.on_with_input(&db, &["set", "admin", "-"], r#"{"theme":"dark"}"#).ok();
        self.on_with_input(&db, &["set", "admin", "-"], r#"{"theme":"light","beta":true}"#).ok();
        db
    }

    fn json(&self, db: &Path, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["changes", "--json"];
        all.extend_from_slice(args);
        let run = self.on(db, &all).ok();
        run.stdout.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
    }
}

fn field<'a>(entries: &'a [Value], name: &str) -> Vec<&'a Value> {
    entries.iter().map(|e| &e[name]).collect()
}

#[test]
fn changes_lists_every_save_newest_first_with_who_which_user_and_keys() {
    let sandbox = Sandbox::new();
    let db = sandbox.edited_db();
    let run = sandbox.on(&db, &["changes", "--limit", "3"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    for column in ["WHEN", "WHO", "ID", "USERNAME", "REV", "SIZE", "KEYS", "BATCH"] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    assert!(lines[1].contains("admin") && lines[1].contains("tester"), "{}", lines[1]);
    assert!(lines[1].contains("+beta ~theme"), "{}", lines[1]);
    assert!(lines[2].contains("admin") && lines[2].contains(" 2 "), "{}", lines[2]);
    assert!(lines[2].contains("+theme −"), "the demo document's keys went: {}", lines[2]);
}

#[test]
fn changes_as_json_lines_narrowed_by_user_since_and_author() {
    let sandbox = Sandbox::new();
    let db = sandbox.edited_db();
    let all = sandbox.json(&db, &["--limit", "0"]);
    assert_eq!(all.len(), 202, "200 imported users and two saves");
    let admin = sandbox.json(&db, &["--user", "admin"]);
    assert_eq!(field(&admin, "revision"), [&Value::from(3), &Value::from(2), &Value::from(1)]);
    assert_eq!(admin[0]["added"], serde_json::json!(["beta"]));
    assert_eq!(admin[0]["changed"], serde_json::json!(["theme"]));
    assert_eq!(admin[0]["batch"], Value::Null);
    assert_eq!(admin[0]["size"], Value::from(r#"{"theme":"light","beta":true}"#.len()));
    let recent = sandbox.json(&db, &["--since", "1h", "--until", "2099-01-01", "--by", "test"]);
    assert_eq!(recent.len(), 100, "the default limit");
    let future = sandbox.json(&db, &["--since", "2099-01-01T00:00:00Z"]);
    assert!(future.is_empty());
    let nobody = sandbox.json(&db, &["--by", "someone else"]);
    assert!(nobody.is_empty());
    let batch = sandbox.json(&db, &["--batch", "b20261202T012233Z-3f9a1c"]);
    assert!(batch.is_empty(), "no batch was saved");
}

#[test]
fn changes_with_a_time_it_cannot_read_names_the_forms_it_takes_and_reads_nothing() {
    let sandbox = Sandbox::new();
    // No database at all: the refusal comes before the file is looked for.
    let missing = sandbox.home.path("missing.redb");
    for bad in ["yesterday", "1y", "2026-13-01", "12/01/2026", "2026-12-01T09:30:00"] {
        let stderr = sandbox.on(&missing, &["changes", "--since", bad]).fails(2);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("30m, 1h, 2d or 1w") && stderr.contains("RFC 3339"), "{stderr}");
    }
    let stderr = sandbox.on(&missing, &["changes", "--until", "soon"]).fails(2);
    assert!(stderr.contains("--until"), "{stderr}");
    assert!(!missing.exists());
}

#[test]
fn changes_of_an_unknown_user_is_not_found_and_read_only_works() {
    let sandbox = Sandbox::new();
    let db = sandbox.edited_db();
    sandbox.on(&db, &["changes", "--user", "ghost"]).fails(3);
    let run = sandbox.on(&db, &["--read-only", "changes", "--user", "username:admin", "--json"]).ok();
    assert_eq!(run.stdout.lines().count(), 3);
}
