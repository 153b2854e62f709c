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
    assert_eq!(all.len(), 3, "the import of 200 users (one bulk load) and two saves");
    let admin = sandbox.json(&db, &["--user", "admin"]);
    assert_eq!(field(&admin, "revision"), [&Value::from(3), &Value::from(2), &Value::from(1)]);
    assert_eq!(admin[0]["added"], serde_json::json!(["beta"]));
    assert_eq!(admin[0]["changed"], serde_json::json!(["theme"]));
    assert_eq!(admin[0]["batch"], Value::Null);
    assert_eq!(admin[0]["size"], Value::from(r#"{"theme":"light","beta":true}"#.len()));
    let recent = sandbox.json(&db, &["--since", "1h", "--until", "2099-01-01", "--by", "test"]);
    assert_eq!(recent.len(), 3);
    let future = sandbox.json(&db, &["--since", "2099-01-01T00:00:00Z"]);
    assert!(future.is_empty());
    let nobody = sandbox.json(&db, &["--by", "someone else"]);
    assert!(nobody.is_empty());
    // `--by "$WHO"` with WHO unset: refused, not every save (bb49).
    let empty = sandbox.on(&db, &["changes", "--by", ""]).fails(2);
    assert!(empty.starts_with("custodian: invalid value '' for '--by <WHO>': it is empty"), "{empty}");
    // Nor only spaces: `--by "$FIRST $LAST"` with both unset listed only authors with a space
    // (bb81 F5).
    let blank = sandbox.on(&db, &["changes", "--by", "  "]).fails(2);
    assert!(
        blank.starts_with("custodian: invalid value '  ' for '--by <WHO>': it is only white space"),
        "{blank}"
    );
    // A batch id that names no batch is said, as `undo` says it (an empty list read as "that
    // batch changed nobody": bb18 L04).
    let unknown = sandbox.on(&db, &["changes", "--batch", "b20261202T012233Z-3f9a1c"]).fails(3);
    assert_eq!(
        unknown,
        "custodian: no batch \"b20261202T012233Z-3f9a1c\" (see `custodian changes` for the batches there are)"
    );
    // A real one narrowed to nothing is an empty list, as before.
    let load = all[2]["batch"].as_str().expect("the load's id");
    assert!(sandbox.json(&db, &["--batch", load, "--since", "2099-01-01T00:00:00Z"]).is_empty());
    assert!(sandbox.json(&db, &["--batch", load, "--by", "someone else"]).is_empty());
}

#[test]
fn changes_lists_at_most_100_saves_unless_told() {
    let sandbox = Sandbox::new();
    let db = sandbox.home.path("users.redb");
    sandbox.on(&db, &["init"]).ok();
    // An upsert imports user by user: a save, and an entry, each.
    sandbox.on(&db, &["import", "--upsert", DEMO_USERS]).ok();
    assert_eq!(sandbox.json(&db, &[]).len(), 100, "the default limit");
    assert_eq!(sandbox.json(&db, &["--limit", "0"]).len(), 200);
}

#[test]
fn an_import_into_an_empty_database_is_one_entry_that_user_and_batch_find() {
    let sandbox = Sandbox::new();
    let db = sandbox.edited_db();
    let all = sandbox.json(&db, &["--limit", "0"]);
    let load = &all[2];
    assert_eq!(load["userId"], Value::Null, "{load}");
    assert_eq!(load["loadedUsers"], Value::from(200), "{load}");
    assert_eq!(load["revision"], Value::from(1));
    let id = load["batch"].as_str().expect("the load's id").to_owned();
    assert!(id.starts_with('l'), "{id}");
    assert_eq!(all[0]["loadedUsers"], Value::Null, "a save after the load is its own: {}", all[0]);
    // Each loaded user finds their revision 1 in it, by user and by the load's id.
    let alice = sandbox.json(&db, &["--user", "tyamada"]);
    assert_eq!(alice.len(), 1, "{alice:?}");
    assert_eq!((&alice[0]["revision"], &alice[0]["batch"]), (&Value::from(1), &Value::from(id.as_str())));
    assert_eq!(alice[0]["loadedUsers"], Value::from(200));
    assert_eq!(alice[0]["savedAt"], load["savedAt"]);
    let admin = sandbox.json(&db, &["--user", "admin", "--batch", &id]);
    assert_eq!(field(&admin, "revision"), [&Value::from(1)]);
    let by_batch = sandbox.json(&db, &["--batch", &id]);
    assert_eq!(by_batch, std::slice::from_ref(load));
    // It cannot be undone: its users have no revision before it; the refusal says so.
    let refused = sandbox.on(&db, &["undo", &id]).fails(3);
    assert!(
        refused.contains("is a bulk load of 200 users") && refused.contains("cannot be undone"),
        "{refused}"
    );
    // As a table: the load in one line, saying what it was.
    let run = sandbox.on(&db, &["changes"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(lines[3].contains("load of 200 new users") && lines[3].contains(&id), "{}", lines[3]);
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
    // Ending in a character of several bytes (a full-width `ｈ` an input method types): it
    // panicked, exit 101 (bb95 F5).
    for bad in ["1ｈ", "1é", "ａ", "2026-12-01é", "2026-12-01 09:30:00 ＵＴＣ"] {
        let stderr = sandbox.on(&missing, &["changes", "--since", "1h", "--until", bad]).fails(2);
        assert!(stderr.contains(&format!("--until {bad:?} is not a time")), "{stderr}");
    }
    // A tab or a control character reads as its escape, inert (a tab read `\u{2409}`, the
    // control picture quoted again: bb39 #4).
    let stderr = sandbox.on(&missing, &["changes", "--since", "2026-12-01\t10:00\u{1b}[31m"]).fails(2);
    assert!(stderr.contains(r#"--since "2026-12-01\t10:00\u{1b}[31m" is not a time"#), "{stderr}");
    // The form is right, only its size is not.
    let stderr = sandbox.on(&missing, &["changes", "--since", "99999999999999w"]).fails(2);
    assert!(stderr.contains("\"99999999999999w\" is too long ago to be a time"), "{stderr}");
    // Before year 0, though its milliseconds fit: a typo for `10d` (bb30 T03).
    let stderr = sandbox.on(&missing, &["changes", "--since", "100000000d"]).fails(2);
    assert!(stderr.contains("\"100000000d\" is too long ago to be a time"), "{stderr}");
    // An offset out of range is no time.
    let stderr = sandbox.on(&missing, &["changes", "--since", "2026-12-01T09:30:00+99:99"]).fails(2);
    assert!(stderr.contains("is not a time"), "{stderr}");
    // An end before the start: no save can be in between.
    for (since, until) in [("1h", "2h"), ("2026-12-02", "2026-12-01"), ("2026-12-01", "2026-12-01")] {
        let stderr = sandbox.on(&missing, &["changes", "--since", since, "--until", until]).fails(2);
        assert!(stderr.contains("--until (") && stderr.contains("is not after --since ("), "{stderr}");
    }
    // Apart by less than a second: said to the millisecond (both read the same: bb72 F6).
    let (since, until) = ("2026-12-01T09:30:00.500Z", "2026-12-01T09:30:00.200Z");
    let stderr = sandbox.on(&missing, &["changes", "--since", since, "--until", until]).fails(2);
    assert!(
        stderr.contains("--until (2026-12-01 09:30:00 UTC + 200 ms) is not after --since (2026-12-01 09:30:00 UTC + 500 ms)"),
        "{stderr}"
    );
    // The same time twice: said once each, without a `+ 0 ms` (bb90 F2).
    let same = "2026-12-07T18:04:05Z";
    let stderr = sandbox.on(&missing, &["changes", "--since", same, "--until", same]).fails(2);
    assert!(
        stderr.contains("--until (2026-12-07 18:04:05 UTC) is not after --since (2026-12-07 18:04:05 UTC)"),
        "{stderr}"
    );
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

/// A save that only reorders the keys inside a top-level value is a change on a file, and the
/// journal names that key as `history` does (it listed no key while `history` said `~1: prefs`:
/// bb45 F2); a number respelled too.
#[test]
fn the_journal_names_a_value_whose_keys_were_only_reordered_as_history_does() {
    let sandbox = Sandbox::new();
    let db = sandbox.edited_db();
    sandbox
        .on_with_input(&db, &["set", "tyamada", "-"], r#"{"prefs":{"theme":"dark","lang":"en"},"n":1}"#)
        .ok();
    sandbox
        .on_with_input(&db, &["set", "tyamada", "-"], r#"{"prefs":{"lang":"en","theme":"dark"},"n":1}"#)
        .ok();
    sandbox
        .on_with_input(&db, &["set", "tyamada", "-"], r#"{"prefs":{"lang":"en","theme":"dark"},"n":1.0}"#)
        .ok();
    let entries = sandbox.json(&db, &["--user", "tyamada", "--limit", "2"]);
    assert_eq!(field(&entries, "changed"), [&serde_json::json!(["n"]), &serde_json::json!(["prefs"])]);
    let history = sandbox.on(&db, &["history", "tyamada"]).ok().stdout;
    assert!(history.contains("~1: prefs") && history.contains("~1: n"), "{history}");
    // Only the top-level keys reordered: the keys that moved (it named none: bb72 F5).
    sandbox
        .on_with_input(&db, &["set", "tyamada", "-"], r#"{"n":1.0,"prefs":{"lang":"en","theme":"dark"}}"#)
        .ok();
    let entries = sandbox.json(&db, &["--user", "tyamada", "--limit", "1"]);
    assert_eq!(field(&entries, "changed"), [&serde_json::json!(["n", "prefs"])]);
    // And `history` names them the same way (it showed an empty CHANGES column: bb83 F2).
    let history = sandbox.on(&db, &["history", "tyamada"]).ok().stdout;
    let current = history.lines().find(|line| line.contains("(current)")).expect("the current revision");
    assert!(current.contains("~2: n, prefs"), "{history}");
}
