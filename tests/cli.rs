//! The real `custodian` binary, as a script sees it: exit codes, one-line errors, the default
//! database, byte-exact export and import, versioned saves, listing, read-only mode, seeding.
//! Every run gets its own HOME and XDG directories, so no test touches the real home.

mod support;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};
use support::home::PrivateHome;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

/// A private HOME with XDG directories, and helpers to run the binary in it.
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

    fn data_home(&self) -> PathBuf {
        self.path("data")
    }

    fn default_db(&self) -> PathBuf {
        self.data_home().join("custodian").join("users.redb")
    }

    fn command(&self) -> Command {
        let mut command = self.home.custodian();
        // A panic must show as one line even when a backtrace is asked for.
        command.env("RUST_BACKTRACE", "1");
        command
    }

    /// `custodian ARGS` with no --db.
    fn run(&self, args: &[&str]) -> Run {
        let mut command = self.command();
        command.args(args);
        Run::of(command, None)
    }

    /// `custodian --db DB ARGS`.
    fn on(&self, db: &Path, args: &[&str]) -> Run {
        let mut command = self.command();
        command.arg("--db").arg(db).args(args);
        Run::of(command, None)
    }

    /// `custodian --db DB ARGS < input`.
    fn on_with_stdin(&self, db: &Path, args: &[&str], input: &[u8]) -> Run {
        let mut command = self.command();
        command.arg("--db").arg(db).args(args);
        Run::of(command, Some(input))
    }

    /// Writes `text` to a file in the sandbox and returns its path as a string.
    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    /// A new, empty database.
    fn init(&self, name: &str) -> PathBuf {
        let db = self.path(name);
        let run = self.on(&db, &["init"]).ok();
        assert!(run.stdout.starts_with("created "), "{run:?}");
        db
    }

    /// A database with the five users of [`PEOPLE`].
    fn people(&self) -> PathBuf {
        let db = self.init("people.redb");
        let file = self.file("people.jsonl", PEOPLE);
        let run = self.on(&db, &["import", &file]).ok();
        assert_eq!(run.stdout, "imported: 5 new, 0 updated, 0 unchanged\n");
        db
    }

    fn get(&self, db: &Path, user: &str) -> String {
        self.on(db, &["get", user]).ok().stdout
    }

    /// `custodian export`, checked to be UTF-8 (the bytes are the text).
    fn export(&self, db: &Path) -> String {
        let run = self.on(db, &["export"]).ok();
        assert_eq!(run.stdout.as_bytes(), run.stdout_bytes, "export is not UTF-8");
        run.stdout
    }
}

const PEOPLE: &str = r#"{"id":"u1","username":"alice","primaryEmail":"alice@example.com","name":"Alice Liddell","customData":{"theme":"dark","lang":"en"}}
{"id":"u2","username":"bob","primaryEmail":"bob@example.org","primaryPhone":"15551234567","name":"Bob Builder","customData":{}}
{"id":"u3","primaryEmail":"carol@example.net","name":"Carol Singer","customData":{"a":1}}
{"id":"u4","primaryPhone":"4930123456","name":"Dieter Müller"}
{"id":"u5","username":"Eve","name":"Eve Online","isSuspended":true}
"#;

const ALICE_DOC: &str = "{\n  \"theme\": \"dark\",\n  \"lang\": \"en\"\n}\n";

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn json_lines(text: &str) -> Vec<Map<String, Value>> {
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

fn history_revisions(sandbox: &Sandbox, db: &Path, user: &str) -> Vec<String> {
    let run = sandbox.on(db, &["history", user]).ok();
    run.stdout.lines().skip(1).map(|l| l.split_whitespace().next().unwrap_or("").to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Exit codes and errors

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["list", "--frobnicate"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--frobnicate"), "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(!sandbox.default_db().exists(), "a usage error must not create the default database");
    let run = sandbox.run(&["frobnicate"]);
    assert_eq!(run.code, 2, "{run:?}");
    // A search text that starts with `-` (part of a date or a phone) reads as flags: the line
    // says how to give it, and holds what was typed inert (it named `-0`, no tip: bb42 F9).
    let run = sandbox.run(&["list", "--search", "-01-0\u{1b}[31m"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("tip: a value that starts with `-` is given as `--search=-01-0\u{241b}[31m`"),
        "{run:?}"
    );
    assert!(!run.stderr.contains('\u{1b}'), "{run:?}");
}

#[test]
fn a_negative_number_for_a_flag_that_counts_is_said_as_such() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    // clap said "unexpected argument" with two tips that contradict each other, or "invalid
    // digit found in string" (bb51 F8).
    for (args, flag) in [
        (&["get", "u1", "--revision", "-1"][..], "--revision"),
        (&["get", "u1", "--revision=-1"][..], "--revision"),
        (&["list", "--limit", "-5"][..], "--limit"),
        (&["list", "--limit=-5"][..], "--limit"),
    ] {
        let error = sandbox.on(&db, args).fails(2);
        let value = if flag == "--limit" { "-5" } else { "-1" };
        assert!(
            error.contains(&format!("{flag} {value}: {flag} takes a whole number of 0 or more, none below")),
            "{args:?}: {error}"
        );
        assert!(!error.contains("tip:") && !error.contains("invalid digit"), "{args:?}: {error}");
    }
    // Only for a flag the command has (`list` has no `--revision`) (bb54 F7).
    for args in [&["list", "--revision", "-1"][..], &["info", "--limit", "-1"]] {
        let run = sandbox.on(&db, args);
        assert!(!run.stderr.contains("none below"), "{args:?}: {run:?}");
    }
    // The short forms, and `-0`, whose sign alone is wrong (bb55 F6).
    for (args, said) in [
        (&["list", "-l", "-5"][..], "-l -5: -l takes a whole number of 0 or more, none below"),
        (&["list", "-l-5"], "-l -5: -l takes a whole number of 0 or more, none below"),
        (
            &["list", "--limit", "-0"],
            "--limit -0: --limit takes a whole number of 0 or more, written without a minus sign",
        ),
        (
            &["list", "--limit=-0"],
            "--limit -0: --limit takes a whole number of 0 or more, written without a minus sign",
        ),
    ] {
        let error = sandbox.on(&db, args).fails(2);
        assert!(error.contains(said) && !error.contains("tip:"), "{args:?}: {error}");
    }
    // A positional that counts, as typed and after `--` (bb54 F7).
    for args in [&["restore", "u1", "-1"][..], &["restore", "u1", "--", "-1"]] {
        let error = sandbox.on(&db, args).fails(2);
        assert!(
            error.contains("REVISION -1: REVISION is a whole number of 0 or more, none below"),
            "{args:?}: {error}"
        );
        assert!(!error.contains("tip:") && !error.contains("invalid digit"), "{args:?}: {error}");
    }
    // `-0` there: a sign too many, as for a flag (it got clap's tip, and `-- -0` "invalid
    // digit": bb95 F6).
    for args in [&["restore", "u1", "-0"][..], &["restore", "u1", "--", "-0"]] {
        let error = sandbox.on(&db, args).fails(2);
        assert!(
            error.contains(
                "REVISION -0: REVISION is a whole number of 0 or more, written without a minus sign"
            ),
            "{args:?}: {error}"
        );
        assert!(!error.contains("tip:") && !error.contains("invalid digit"), "{args:?}: {error}");
    }
    // A `+` is no minus sign: `+1` is 1, so the message's rule is the one kept (bb97 F5).
    let listed = sandbox.on(&db, &["list", "--limit", "+1"]).ok().stdout;
    assert_eq!(listed.lines().count(), 2, "a heading and one user: {listed}");
    // An argument that is not UTF-8 beside a usage mistake: one line, exit 2 (it panicked).
    let mut command = sandbox.command();
    command.arg("--db").arg(std::ffi::OsStr::from_bytes(b"caf\xe9.redb")).args(["list", "--limit", "abc"]);
    let line = Run::of(command, None).fails(2);
    assert!(line.contains("invalid value 'abc' for '--limit <LIMIT>'"), "{line}");
}

#[test]
fn init_without_db_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let error = sandbox.run(&["init"]).fails(2);
    assert!(error.contains("--db"), "{error}");
    assert!(!sandbox.default_db().exists());
}

#[test]
fn get_of_an_unknown_user_exits_3() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let error = sandbox.on(&db, &["get", "ghost"]).fails(3);
    assert!(error.contains("\"ghost\""), "{error}");
    sandbox.on(&db, &["history", "ghost"]).fails(3);
    let doc = sandbox.file("doc.json", "{}");
    sandbox.on(&db, &["set", "ghost", &doc]).fails(3);
    sandbox.on(&db, &["restore", "ghost", "1"]).fails(3);
}

#[test]
fn a_blank_reference_names_no_one_and_a_blank_name_is_never_imported() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let before = sandbox.export(&db);
    let doc = sandbox.file("doc.json", "{\"landed\": true}");
    // A name of white space folds to an empty key: no reference may reach it.
    let blanks = [
        ("username", "  "),
        ("primaryEmail", "\t"),
        ("primaryPhone", "\u{3000}"),
        ("username", "\u{a0}\u{2003}"),
    ];
    for (field, value) in blanks {
        let record = format!("{{\"id\":\"w1\",\"{field}\":{}}}\n", serde_json::to_string(value).unwrap());
        let file = sandbox.file("blank.jsonl", &record);
        let error = sandbox.on(&db, &["import", &file]).fails(4);
        assert!(error.contains(&format!("`{field}` must not be empty or only white space")), "{error}");
        assert!(error.contains("line 1"), "{error}");
    }
    assert_eq!(sandbox.export(&db), before, "nothing was imported");
    for blank in ["", " ", "username:", "email: ", "phone:"] {
        let error = sandbox.on(&db, &["get", blank]).fails(3);
        assert!(error.contains(&format!("{blank:?}")), "{blank:?}: {error}");
        sandbox.on(&db, &["set", blank, &doc]).fails(3);
    }
    assert_eq!(sandbox.export(&db), before, "nothing was written");
}

#[test]
fn get_of_a_revision_that_does_not_exist_exits_3() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let error = sandbox.on(&db, &["get", "alice", "--revision", "99"]).fails(3);
    assert!(error.contains("revision 99"), "{error}");
    sandbox.on(&db, &["restore", "alice", "99"]).fails(3);
    assert_eq!(history_revisions(&sandbox, &db, "alice"), ["1"]);
}

#[test]
fn set_refuses_invalid_customdata_with_exit_4_and_keeps_the_document() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    for (name, text, says) in [
        ("syntax.json", "{\n  \"theme\": \"light\",\n  \"lang\": }\n", "line 3, col 11"),
        ("array.json", "[1, 2]", "must be a JSON object"),
        ("duplicate.json", "{\"theme\": \"light\",\n \"theme\": \"dark\"}", "duplicate key \"theme\""),
        ("empty.json", "", "empty"),
        ("nan.json", "{\"a\": NaN}", "NaN"),
    ] {
        let file = sandbox.file(name, text);
        let error = sandbox.on(&db, &["set", "alice", &file]).fails(4);
        assert!(error.contains(says), "{name}: {error}");
        // The same through standard input.
        sandbox.on_with_stdin(&db, &["set", "alice", "-"], text.as_bytes()).fails(4);
    }
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
    assert_eq!(history_revisions(&sandbox, &db, "alice").len(), 1);
}

#[test]
fn set_takes_an_indented_document_larger_than_the_limit_whose_compact_form_fits() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    // About 700 KB compact, well over 1 MiB as typed (each value on its own deeply indented
    // line): the limit is on what is stored, so it is accepted, from a file and from a pipe.
    let values: Vec<String> = (0..70_000).map(|n| format!("{}\"{n:08}\"", " ".repeat(24))).collect();
    let text = format!("{{\n  \"big\": [\n{}\n  ]\n}}\n", values.join(",\n"));
    assert!(text.len() > 2 * 1024 * 1024, "{} bytes as typed", text.len());
    let file = sandbox.file("indented.json", &text);
    sandbox.on(&db, &["set", "alice", &file]).ok();
    assert!(sandbox.get(&db, "alice").contains("00069999"));
    sandbox
        .on_with_stdin(&db, &["set", "alice", "-"], format!("{{\"again\": 1, {}", &text[1..]).as_bytes())
        .ok();
    assert!(sandbox.get(&db, "alice").contains("\"again\""));
}

#[test]
fn import_of_a_malformed_file_exits_4_and_imports_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let before = sandbox.export(&db);
    let deep = format!(
        "{{\"id\":\"n1\"}}\n{{\"id\":\"n2\",\"customData\":{}1{}}}\n",
        "{\"a\":".repeat(65),
        "}".repeat(65)
    );
    for (name, text, says) in [
        ("broken.json", "[\n{\"id\":\"n1\",\"username\":\"new1\"},\n{\"id\":\"n2\",,}\n]", "line 3"),
        ("empty.json", "", "empty"),
        (
            "bad-record.jsonl",
            "{\"id\":\"n1\",\"username\":\"new1\"}\n{\"id\":\"n2\",\"username\":7}\n",
            "line 2",
        ),
        (
            "bad-data.json",
            "[\n{\"id\":\"n1\"},\n{\"id\":\"n2\",\"customData\":{\"a\":1,\"a\":2}}\n]",
            "record 2 (line 3)",
        ),
        ("bad-id.jsonl", "{\"id\":\"not a valid id!\"}\n", "line 1"),
        ("bom.json", "\u{feff}[{\"id\":\"n1\"}]", "byte-order mark"),
        // Files joined with `cat`: the second one's mark starts line 2 (it said "expected
        // value": bb35 #12).
        (
            "joined.jsonl",
            "{\"id\":\"n1\"}\n\u{feff}{\"id\":\"n2\"}\n",
            "line 2: a byte-order mark (U+FEFF) starts this record (col 1)",
        ),
        ("deep.jsonl", &deep, "nested deeper than 64"),
    ] {
        let file = sandbox.file(name, text);
        let error = sandbox.on(&db, &["import", &file]).fails(4);
        assert!(error.contains(says), "{name}: {error}");
    }
    let latin1 = sandbox.path("latin1.jsonl");
    fs::write(&latin1, b"{\"id\":\"n1\"}\n{\"id\":\"n2\",\"name\":\"M\xfcller\"}\n").expect("write");
    let error = sandbox.on(&db, &["import", latin1.to_str().expect("utf-8")]).fails(4);
    assert!(error.contains("line 2") && error.contains("UTF-8"), "{error}");
    assert_eq!(sandbox.export(&db), before);
}

#[test]
fn set_with_a_stale_expected_revision_exits_5_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let first = sandbox.file("first.json", r#"{"by": "first"}"#);
    let second = sandbox.file("second.json", r#"{"by": "second"}"#);
    sandbox.on(&db, &["set", "alice", &first, "--expect-revision", "1"]).ok();
    let error = sandbox.on(&db, &["set", "alice", &second, "--expect-revision", "1"]).fails(5);
    assert!(error.contains("conflict") && error.contains("revision 2"), "{error}");
    assert!(error.contains("someone saved in between"), "{error}");
    // A revision that never was is not someone else's save.
    for never in ["0", "3", "18446744073709551615"] {
        let error = sandbox.on(&db, &["set", "alice", &second, "--expect-revision", never]).fails(5);
        assert!(error.contains(&format!("revision {never} does not exist")), "{error}");
        assert!(!error.contains("someone saved"), "{error}");
    }
    assert_eq!(sandbox.get(&db, "alice"), "{\n  \"by\": \"first\"\n}\n");
    sandbox.on(&db, &["restore", "alice", "1", "--expect-revision", "1"]).fails(5);
    assert_eq!(history_revisions(&sandbox, &db, "alice").len(), 2);
}

#[test]
fn import_of_an_existing_id_without_upsert_exits_5_and_with_upsert_replaces() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let before = sandbox.export(&db);
    let file = sandbox.file(
        "again.jsonl",
        "{\"id\":\"n1\",\"username\":\"newcomer\"}\n{\"id\":\"u1\",\"username\":\"alice\",\"primaryEmail\":\"alice@example.com\",\"customData\":{\"theme\":\"light\"}}\n",
    );
    let error = sandbox.on(&db, &["import", &file]).fails(5);
    assert!(error.contains("line 2") && error.contains("\"u1\"") && error.contains("--upsert"), "{error}");
    assert_eq!(sandbox.export(&db), before);
    sandbox.on(&db, &["get", "newcomer"]).fails(3);

    let run = sandbox.on(&db, &["import", "--upsert", &file]).ok();
    assert_eq!(run.stdout, "imported: 1 new, 1 updated, 0 unchanged\n");
    // The record gives no updatedAt: said too (bb57 F6).
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert_eq!(lines[0], "custodian: warning: user u1: removed keys: lang", "{run:?}");
    assert!(
        lines[1].starts_with(
            "custodian: warning: customData of 1 user replaced by records that give no updatedAt"
        ),
        "{run:?}"
    );
    assert_eq!(sandbox.get(&db, "alice"), "{\n  \"theme\": \"light\"\n}\n");
    assert_eq!(sandbox.on(&db, &["get", "alice", "--revision", "1"]).ok().stdout, ALICE_DOC);
    // An upsert that removes keys from many users names the first 20 and counts the rest
    // (a line each for a million users).
    let many: String =
        (0..25).map(|n| format!("{{\"id\":\"m{n:02}\",\"customData\":{{\"old\":1}}}}\n")).collect();
    sandbox.on(&db, &["import", "--upsert", &sandbox.file("many.jsonl", &many)]).ok();
    let emptied: String = (0..25).map(|n| format!("{{\"id\":\"m{n:02}\",\"customData\":{{}}}}\n")).collect();
    let run = sandbox.on(&db, &["import", "--upsert", &sandbox.file("emptied.jsonl", &emptied)]).ok();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 22, "{run:?}");
    assert_eq!(lines[0], "custodian: warning: user m00: removed keys: old");
    assert!(lines[20].starts_with("custodian: warning: and 5 more users had keys removed"), "{run:?}");
    assert!(
        lines[21].starts_with(
            "custodian: warning: customData of 25 users replaced by records that give no updatedAt"
        ),
        "{run:?}"
    );
}

#[test]
fn a_reference_that_names_two_users_exits_2_writes_nothing_and_explicit_forms_pick_one() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("lookalikes.redb");
    let users = sandbox.file(
        "lookalikes.json",
        r#"[{"id":"bob","username":"robert","customData":{"mine":1}},{"id":"x2","username":"bob","customData":{"theirs":1}}]"#,
    );
    sandbox.on(&db, &["import", &users]).ok();
    let before = sandbox.export(&db);
    for args in [&["get", "bob"][..], &["history", "bob"], &["restore", "bob", "1"]] {
        let error = sandbox.on(&db, args).fails(2);
        assert!(error.contains("user bob by id, user x2 by username"), "{error}");
        assert!(error.contains("id:bob or username:bob"), "{error}");
    }
    let error = sandbox.on_with_stdin(&db, &["set", "bob", "-"], b"{}").fails(2);
    assert!(error.starts_with("custodian: \"bob\" names more than one user"), "{error}");
    assert_eq!(sandbox.export(&db), before, "nothing written");

    assert_eq!(sandbox.get(&db, "id:bob"), "{\n  \"mine\": 1\n}\n");
    assert_eq!(sandbox.get(&db, "username:bob"), "{\n  \"theirs\": 1\n}\n");
    sandbox.on_with_stdin(&db, &["set", "username:bob", "-"], b"{}").ok();
    assert_eq!(sandbox.get(&db, "id:x2"), "{}\n");
    assert_eq!(sandbox.get(&db, "id:bob"), "{\n  \"mine\": 1\n}\n");
    sandbox.on(&db, &["history", "username:bob"]).ok();
    sandbox.on(&db, &["restore", "username:bob", "1"]).ok();
    assert_eq!(sandbox.get(&db, "id:x2"), "{\n  \"theirs\": 1\n}\n");
}

#[test]
fn a_reference_with_spaces_around_it_or_only_someones_literal_name_writes_to_nobody() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("lookalikes.redb");
    let users = sandbox.file(
        "lookalikes.json",
        r#"[{"id":"Dave","username":"x1","customData":{"mine":1}},{"id":"x2","username":"dave","customData":{"theirs":1}},{"id":"m3","username":"id:zzz","customData":{"m3":1}}]"#,
    );
    sandbox.on(&db, &["import", &users]).ok();
    let before = sandbox.export(&db);
    // As copied from `list`, with a space after it: the id Dave and the username dave both.
    let error = sandbox.on_with_stdin(&db, &["set", "Dave ", "-"], b"{\"who\":1}").fails(2);
    assert!(error.contains("user Dave by id, user x2 by username"), "{error}");
    // No user has the id zzz: m3's username reads so, and m3 is not written.
    let error = sandbox.on_with_stdin(&db, &["set", "id:zzz", "-"], b"{\"who\":1}").fails(3);
    assert!(error.contains("that is the username of user m3 (to name them: username:id:zzz)"), "{error}");
    assert_eq!(sandbox.export(&db), before, "nothing written");
    assert_eq!(sandbox.get(&db, "id:Dave "), "{\n  \"mine\": 1\n}\n");
    assert_eq!(sandbox.get(&db, "username:id:zzz"), "{\n  \"m3\": 1\n}\n");
    // The prefix in another case or width is no explicit form, and not m3's name either:
    // `Id:zzz` folded to m3's username and wrote there.
    // So is its colon in another width, as an IME in full-width mode types it, or a look-alike
    // (`ｉｄ：zzz` folded to m3's username and wrote there: bb52 F1); also in `--users` files.
    for reference in [
        "Id:zzz",
        "ID:zzz",
        "\u{ff49}\u{ff44}:zzz",
        "\u{ff49}\u{ff44}\u{ff1a}zzz",
        "id\u{fe55}zzz",
        "id\u{2236}zzz",
    ] {
        let error = sandbox.on_with_stdin(&db, &["set", reference, "-"], b"{\"who\":1}").fails(2);
        assert!(
            error.contains(
                "is not the explicit form id:… (its prefix is lower case, then an ASCII colon): say id:zzz for the id"
            ),
            "{error}"
        );
        let listed = sandbox.file("listed.txt", &format!("{reference}\n"));
        let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/x","value":1}]"#);
        sandbox.on(&db, &["patch", &patch, "--users", &listed, "--yes"]).fails(2);
    }
    assert_eq!(sandbox.export(&db), before, "nothing written");
}

#[test]
fn import_of_a_taken_username_exits_5_and_imports_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let before = sandbox.export(&db);
    let file = sandbox.file(
        "taken.json",
        "[\n{\"id\":\"n1\",\"username\":\"fresh\"},\n{\"id\":\"n2\",\"username\":\"ALICE\"}\n]",
    );
    let error = sandbox.on(&db, &["import", &file]).fails(5);
    assert!(error.contains("record 2 (line 3)") && error.contains("u1"), "{error}");
    let file = sandbox.file("taken-email.jsonl", "{\"id\":\"n3\",\"primaryEmail\":\"Bob@Example.ORG\"}\n");
    sandbox.on(&db, &["import", &file]).fails(5);
    assert_eq!(sandbox.export(&db), before);
}

#[test]
fn a_missing_db_file_exits_1_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("nope.redb");
    for args in [&["list"][..], &["get", "alice"], &["export"], &["--read-only", "list"]] {
        let error = sandbox.on(&db, args).fails(1);
        assert!(error.contains("nope.redb") && error.contains("custodian init"), "{error}");
    }
    assert!(!db.exists());
    assert!(!sandbox.default_db().exists());
}

#[test]
fn a_file_that_is_not_a_database_exits_1_and_is_left_intact() {
    let sandbox = Sandbox::new();
    let text = sandbox.file("users.json", &"[{\"id\": \"abc\"}]\n".repeat(100));
    let empty = sandbox.file("empty.redb", "");
    let directory = sandbox.path("home");
    let mut problems = Vec::new();
    for (db, says) in [
        (Path::new(&empty), "not a custodian database"),
        (directory.as_path(), "is a directory, not a database file"),
        (Path::new(&text), "not a custodian database"),
    ] {
        for args in [&["list"][..], &["--read-only", "get", "alice"]] {
            let run = sandbox.on(db, args);
            let mut found = run.error_problems(1);
            if !run.stderr.contains(says) {
                found.push(format!("it does not say `{says}`"));
            }
            if !found.is_empty() {
                problems.push(format!(
                    "{} {args:?}: {}: {}",
                    db.display(),
                    found.join(", "),
                    run.stderr.trim_end()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    // A name with a space at its end is said quoted: it was said bare, `x : not a …` (bb34 #5).
    let spaced = sandbox.file("empty ", "");
    let run = sandbox.on(Path::new(&spaced), &["list"]);
    assert!(run.stderr.contains(&format!("'{spaced}': not a custodian database")), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&text).expect("read"), "[{\"id\": \"abc\"}]\n".repeat(100));
    assert_eq!(fs::metadata(&empty).expect("metadata").len(), 0);
}

#[test]
fn a_damaged_database_fails_with_one_line_and_no_panic_message() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("damaged.redb");
    sandbox.on(&db, &["import", DEMO_USERS]).ok();
    // The header stays valid; every page after it is noise.
    let mut bytes = fs::read(&db).expect("read");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in bytes.iter_mut().skip(4096) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    fs::write(&db, &bytes).expect("write");
    let mut problems = Vec::new();
    for args in [&["list"][..], &["get", "admin"], &["--read-only", "list"], &["--read-only", "get", "admin"]]
    {
        let run = sandbox.on(&db, args);
        let mut found = run.error_problems(1);
        if !run.stderr.contains("damaged.redb") {
            found.push("it does not name the file".to_owned());
        }
        if !found.is_empty() {
            let first_line = run.stderr.lines().find(|l| !l.is_empty()).unwrap_or("");
            problems.push(format!("{args:?}: {} (stderr starts {first_line:?})", found.join(", ")));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn errors_say_their_reason_once() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let again = sandbox.file("again.jsonl", "{\"id\":\"u1\",\"username\":\"alice\"}\n");
    let taken = sandbox.file("taken.jsonl", "{\"id\":\"n1\",\"username\":\"ALICE\"}\n");
    let missing_dir = sandbox.path("no-such-dir").join("x.redb");
    let text = sandbox.file("text.redb", "hello, not a database\n");
    let cases: [(&Path, &[&str], &str); 4] = [
        (&db, &["import", &again], "already exists"),
        (&db, &["import", &taken], "already belongs to user u1"),
        (&missing_dir, &["init"], "No such file or directory"),
        (Path::new(&text), &["list"], "not a custodian database"),
    ];
    let mut problems = Vec::new();
    for (db, args, reason) in cases {
        let run = sandbox.on(db, args);
        let error = run.stderr.trim_end();
        if run.code == 0 || error.matches(reason).count() != 1 {
            problems.push(format!("{args:?}: {reason:?} should appear once: {error}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// init and the default database

#[test]
fn init_creates_a_private_database_and_refuses_to_overwrite_it() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    assert_eq!(mode_of(&db), 0o600);
    let before = fs::read(&db).expect("read");
    let error = sandbox.on(&db, &["init"]).fails(1);
    assert!(error.contains("already exists"), "{error}");
    assert!(fs::read(&db).expect("read") == before, "init changed the existing database");
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
    // Over any other file too.
    let notes = sandbox.file("notes.txt", "keep\n");
    sandbox.on(Path::new(&notes), &["init"]).fails(1);
    assert_eq!(fs::read_to_string(&notes).expect("read"), "keep\n");
}

#[test]
fn init_creates_an_empty_database() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("empty.redb");
    assert_eq!(sandbox.on(&db, &["list"]).ok().stdout, "ID  USERNAME  EMAIL  PHONE  NAME  REV\n");
    assert!(sandbox.export(&db).is_empty());
    sandbox.on(&db, &["--read-only", "init"]).fails(1);
    // Under the variable, of a file that is not there: said as what init is, nothing made
    // (bb62 F2: "the database was opened with --read-only").
    let new = sandbox.path("new.redb");
    let mut command = sandbox.command();
    command.env("CUSTODIAN_READ_ONLY", "1").arg("--db").arg(&new).arg("init");
    let said = Run::of(command, None).fails(1);
    assert_eq!(
        said,
        "custodian: read-only (--read-only or CUSTODIAN_READ_ONLY): init creates a database; nothing was created"
    );
    assert!(!new.exists());
}

/// Several first runs at once: one makes the demo database and says so; the others find it
/// made and say nothing of making it (bb73 F8: each of four said it had made it).
#[test]
fn of_several_first_runs_at_once_only_the_one_that_made_the_demo_says_so() {
    let sandbox = Sandbox::new();
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut command = sandbox.command();
            command.args(["list", "--limit", "0"]);
            command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            command.spawn().expect("start custodian")
        })
        .collect();
    let said: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("custodian ends");
            assert!(output.status.success(), "{output:?}");
            String::from_utf8_lossy(&output.stderr).into_owned()
        })
        .collect();
    let made = said.iter().filter(|stderr| stderr.contains("made the demo database at")).count();
    assert_eq!(made, 1, "{said:#?}");
    assert!(
        said.iter().all(|stderr| stderr.is_empty() || stderr.contains("made the demo database at")),
        "{said:#?}"
    );
}

#[test]
fn without_db_the_default_database_is_created_private_and_seeded_with_demo_users() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["list", "--limit", "0"]).ok();
    let db = sandbox.default_db();
    assert!(db.is_file(), "no database at {}", db.display());
    assert!(
        run.stderr.contains("made the demo database at") && run.stderr.contains("--db"),
        "{}",
        run.stderr
    );
    assert_eq!(mode_of(&db), 0o600);
    assert_eq!(mode_of(db.parent().expect("parent")), 0o700);
    assert_eq!(run.stdout.lines().count(), 1 + 200, "header and 200 demo users");
    assert!(!sandbox.path("home").join(".local").exists(), "XDG_DATA_HOME was not respected");

    assert_eq!(
        sandbox.run(&["get", "admin"]).ok().stdout,
        "{\n  \"adminConsolePreferences\": {\n    \"language\": \"en\",\n    \"appearanceMode\": \"system\",\n    \"experienceNoticeConfirmed\": true\n  },\n  \"customDataFoo\": {},\n  \"customDataBar\": {\n    \"baz\": \"qux\",\n    \"count\": 3\n  }\n}\n"
    );
    // A second run opens the same database; nothing is imported twice.
    let exported = sandbox.run(&["export"]).ok().stdout;
    assert_eq!(exported.lines().count(), 200);
    let demo: Vec<Map<String, Value>> =
        serde_json::from_str(&fs::read_to_string(DEMO_USERS).expect("demo")).expect("demo json");
    assert_eq!(demo[0]["username"], "admin");
    let mut demo_ids: Vec<&str> = demo.iter().map(|u| u["id"].as_str().expect("id")).collect();
    let mut exported_ids: Vec<String> =
        json_lines(&exported).iter().map(|u| u["id"].as_str().expect("id").to_owned()).collect();
    demo_ids.sort_unstable();
    exported_ids.sort_unstable();
    assert_eq!(exported_ids, demo_ids);
}

#[test]
fn a_write_without_db_never_makes_the_default_database_and_lands_nowhere() {
    // An operator whose $CUSTODIAN_DB is not set in this shell: `set admin` saved into a demo
    // database made that moment (it has an admin), exit 0.
    let sandbox = Sandbox::new();
    let doc = sandbox.path("fix.json");
    fs::write(&doc, r#"{"plan": "enterprise"}"#).expect("write the document");
    let patch = sandbox.path("patch.json");
    fs::write(&patch, r#"[{"op": "add", "path": "/x", "value": 1}]"#).expect("write the patch");
    let doc = doc.to_str().expect("path");
    let patch = patch.to_str().expect("path");
    for args in [
        vec!["set", "admin", doc],
        vec!["import", doc],
        vec!["patch", patch, "--all", "--yes"],
        vec!["seed", "--users", "3"],
        vec!["restore", "admin", "1"],
        vec!["undo", "b20261202T014426Z-53da8e"],
        vec!["schema", "set", doc],
        // It named `init` with the default path, which `init` refuses (bb51).
        vec!["compact"],
    ] {
        let stderr = sandbox.run(&args).fails(1);
        assert!(
            stderr.contains("a write never makes it") && stderr.contains("--db PATH"),
            "{args:?}: {stderr}"
        );
        assert!(!sandbox.default_db().exists(), "{args:?} made the default database");
    }
    // A read makes it, as before, and says so; a write after that is the operator's choice,
    // said before it is made (it saved into the demo's admin without a word: bb51 F1).
    let read = sandbox.run(&["list", "--limit", "1"]).ok();
    assert!(sandbox.default_db().exists());
    let path = sandbox.default_db().display().to_string();
    assert!(
        read.stderr.contains(&format!("made the demo database at {path} (200 demo users)")),
        "{}",
        read.stderr
    );
    let written = sandbox.run(&["set", "admin", doc]).ok();
    assert!(
        written.stderr.starts_with(&format!(
            "custodian: writing to the default database {path} (no --db PATH or $CUSTODIAN_DB named another)\n"
        )),
        "{}",
        written.stderr
    );
    // `compact` too, which rewrites the whole file (the review of bb51's fix).
    let compacted = sandbox.run(&["compact"]).ok();
    assert!(
        compacted.stderr.starts_with("custodian: writing to the default database "),
        "{}",
        compacted.stderr
    );
    // A read of it says nothing more.
    assert!(sandbox.run(&["get", "admin"]).ok().stderr.is_empty());
}

/// bb51 F3: `HOME` unset put the default database at `/.local/share/…`; empty or relative, it
/// followed the current directory. The account's own home is taken then.
#[test]
fn a_home_that_is_unset_empty_or_relative_is_not_where_the_default_database_goes() {
    let sandbox = Sandbox::new();
    let mut looked = Vec::new();
    for home in [None, Some(""), Some("relative/home")] {
        let mut command = sandbox.command();
        command.env_remove("XDG_DATA_HOME").env_remove("XDG_STATE_HOME").env_remove("CUSTODIAN_DB");
        match home {
            None => command.env_remove("HOME"),
            Some(home) => command.env("HOME", home),
        };
        // Read-only: nothing is made wherever it looks.
        command.args(["--read-only", "info"]);
        let said = Run::of(command, None).fails(1);
        let path = said
            .strip_prefix("custodian: ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(path, _)| path.to_owned())
            .unwrap_or_else(|| panic!("{home:?}: {said}"));
        looked.push(path);
    }
    // SAFETY: getpwuid's answer is read at once, on this thread, before any other call.
    let account_home = unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        assert!(!entry.is_null(), "this account has no entry in the user database");
        std::ffi::CStr::from_ptr((*entry).pw_dir).to_string_lossy().into_owned()
    };
    let expected = Path::new(&account_home).join(".local/share/custodian/users.redb").display().to_string();
    assert_eq!(looked, [expected.clone(), expected.clone(), expected], "the account's home whatever HOME is");
}

/// bb51 F7: a data directory that cannot be made said its OS error twice.
#[test]
fn a_data_directory_that_cannot_be_made_is_said_once() {
    let sandbox = Sandbox::new();
    let file = sandbox.path("a-file");
    fs::write(&file, "").expect("a file where a directory should be");
    let mut command = sandbox.command();
    command.env("XDG_DATA_HOME", file.join("x")).env_remove("CUSTODIAN_DB").args(["list"]);
    let said = Run::of(command, None).fails(1);
    assert_eq!(
        said,
        format!(
            "custodian: cannot create {}: Not a directory (os error 20)",
            file.join("x/custodian").display()
        )
    );
}

#[test]
fn read_only_without_a_default_database_creates_nothing() {
    let sandbox = Sandbox::new();
    sandbox.run(&["--read-only", "list"]).fails(1);
    assert!(!sandbox.default_db().exists());
}

#[test]
fn first_runs_started_together_all_open_the_one_seeded_default_database() {
    // A race, so several rounds: each round is a fresh home where six first runs start at once.
    for round in 0..4 {
        let sandbox = Sandbox::new();
        let children: Vec<_> = (0..6)
            .map(|_| {
                let mut command = sandbox.command();
                command.args(["list", "--limit", "1"]).stdout(Stdio::piped()).stderr(Stdio::piped());
                command.spawn().expect("spawn")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "round {round}: a first run failed: {:?} {stderr}",
                output.status.code()
            );
            assert_eq!(stdout.lines().count(), 2, "round {round}: a first run saw no demo users: {stdout}");
        }
        assert_eq!(sandbox.run(&["export"]).ok().stdout.lines().count(), 200);
    }
}

#[test]
fn custodian_db_variable_names_the_database() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let mut command = sandbox.command();
    command.env("CUSTODIAN_DB", &db).args(["get", "alice"]);
    assert_eq!(Run::of(command, None).ok().stdout, ALICE_DOC);
    assert!(!sandbox.default_db().exists());
}

// ---------------------------------------------------------------------------------------------
// Export and import

/// Known fields in Logto's order, then unknown ones; key order, number text, escapes and
/// non-ASCII that a careless JSON layer would change.
const HOSTILE_TEMPLATE: &str = r#"{"id":"hostile_01","username":"zoë.山田","primaryEmail":"zoe@例え.jp","primaryPhone":"+81 90 1234 5678","name":"Zoë 山田 🎉 \u001b[31m","avatar":null,"customData":{"zeta":1,"alpha":{"big":12345678901234567890123,"price":1.50,"neg":-0.0,"exp":1e+400},"émoji":"🎉 ½","quote":"a \"b\" \\ c\n\t","rtl":"abc{RLO}def","list":[3,1,2,{"b":1,"a":2}],"empty":{},"none":null},"identities":{"github":{"userId":"42","details":{"z":1,"a":2}}},"lastSignInAt":1700000000002,"createdAt":1700000000000,"updatedAt":1700000000001,"profile":{"nickname":"Z","address":{"country":"JP"}},"applicationId":"app1","isSuspended":true,"hasPassword":true,"ssoIdentities":{"nested":{"z":1,"a":[{"y":2.50,"b":99999999999999999999}]}},"x":null}"#;

/// [`HOSTILE_TEMPLATE`] with a right-to-left override where it says `{RLO}` (rustc refuses one
/// in a literal).
fn hostile() -> String {
    HOSTILE_TEMPLATE.replace("{RLO}", "\u{202e}")
}

#[test]
fn export_then_import_then_export_is_byte_identical() {
    let sandbox = Sandbox::new();
    let hostile_line = hostile();
    let first_db = sandbox.init("first.redb");
    sandbox.on(&first_db, &["import", DEMO_USERS]).ok();
    let hostile = sandbox.file("hostile.jsonl", &format!("{hostile_line}\n"));
    assert_eq!(
        sandbox.on(&first_db, &["import", &hostile]).ok().stdout,
        "imported: 1 new, 0 updated, 0 unchanged\n"
    );
    let first = sandbox.export(&first_db);
    let first_text = first.clone();
    assert_eq!(first_text.lines().count(), 201);
    assert!(
        first_text.lines().any(|line| line == hostile_line),
        "the hostile record changed on the way:\n{first_text}"
    );

    let exported = sandbox.path("export.jsonl");
    fs::write(&exported, &first).expect("write export");
    let second_db = sandbox.init("second.redb");
    sandbox.on(&second_db, &["import", exported.to_str().expect("utf-8")]).ok();
    let second = sandbox.export(&second_db);
    assert_eq!(second, first, "the second export differs from the first");

    // The demo users come back with their fields and customData as the file has them.
    let demo: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(DEMO_USERS).expect("demo")).expect("demo json");
    let by_id: std::collections::HashMap<&str, &str> =
        first_text.lines().map(|l| (l.split('"').nth(3).expect("id"), l)).collect();
    for user in &demo {
        let id = user["id"].as_str().expect("id");
        assert_eq!(by_id[id], serde_json::to_string(user).expect("json"), "{id}");
    }
}

#[test]
fn export_to_a_file_writes_the_same_lines_privately() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let out = sandbox.path("out.jsonl");
    let run = sandbox.on(&db, &["export", "--out", out.to_str().expect("utf-8")]).ok();
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("exported 5 users"), "{run:?}");
    assert_eq!(mode_of(&out), 0o600);
    assert_eq!(fs::read_to_string(&out).expect("read"), sandbox.export(&db));
    // A name ending in a space is said as a shell word: it was invisible (bb34 #5).
    let spaced = sandbox.path("out ");
    let run = sandbox.on(&db, &["export", "--out", spaced.to_str().expect("utf-8")]).ok();
    assert!(run.stderr.contains(&format!("exported 5 users to '{}'", spaced.display())), "{run:?}");
}

/// An export killed outright (SIGKILL) left its hidden temporary file, part of every user,
/// for good (bb31 U07): the next export to that name removes those whose process is gone,
/// and leaves a running export's and another name's alone.
#[test]
fn an_export_removes_the_temporary_files_of_killed_exports_to_the_same_name() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let out = sandbox.path("out.jsonl");
    let dir = out.parent().expect("a directory").to_owned();
    let mut gone = std::process::Command::new("true").spawn().expect("a process");
    let gone_pid = gone.id();
    gone.wait().expect("ended");
    let dead = dir.join(format!(".out.jsonl.custodian-export-{gone_pid}-0000abcd"));
    let running = dir.join(format!(".out.jsonl.custodian-export-{}-0000abcd", std::process::id()));
    let other_name = dir.join(format!(".other.jsonl.custodian-export-{gone_pid}-0000abcd"));
    // A live export whose process number names no process here (another PID namespace: a
    // container, a host over NFS) holds its file's lock (bb32 V05); names custodian never
    // writes; a file of another mode, or with another link (someone's data).
    let locked = dir.join(format!(".out.jsonl.custodian-export-{gone_pid}-0000abce"));
    let odd_names = ["+{p}-0000abcd", "0{p}-0000abcd", "{p}-0000ABCD"].map(|form| {
        dir.join(format!(".out.jsonl.custodian-export-{}", form.replace("{p}", &gone_pid.to_string())))
    });
    let readable = dir.join(format!(".out.jsonl.custodian-export-{gone_pid}-0000abcf"));
    let linked = dir.join(format!(".out.jsonl.custodian-export-{gone_pid}-0000abc0"));
    let kept: Vec<&PathBuf> =
        [&running, &other_name, &locked, &readable, &linked].into_iter().chain(odd_names.iter()).collect();
    for file in kept.iter().copied().chain([&dead]) {
        fs::write(file, "{\"id\":\"part\"}\n").expect("a leftover");
        fs::set_permissions(file, fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    fs::set_permissions(&readable, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::hard_link(&linked, dir.join("precious.txt")).expect("a second link");
    let held = fs::File::open(&locked).expect("open");
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX) }, 0);
    sandbox.on(&db, &["export", "--out", out.to_str().expect("utf-8")]).ok();
    assert!(!dead.exists(), "the killed export's file is gone");
    for file in kept {
        assert!(file.exists(), "{} left alone", file.display());
    }
    drop(held);
    assert_eq!(fs::read_to_string(&out).expect("read"), sandbox.export(&db));
}

/// Export, edit the file, `import --upsert` it: a colleague's save made in between was taken
/// back without a word ("1 updated", exit 0: bb31 U11). The record's updatedAt is before the
/// stored user's: refused as a conflict, nothing imported; `--overwrite-newer` says it is meant.
#[test]
fn an_upsert_of_a_record_taken_before_a_later_save_is_refused_unless_said_on_purpose() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    // Export, edit, import with no one saving between: the record's updatedAt is the stored
    // one, and the edit goes in.
    let edited: Vec<String> = sandbox
        .export(&db)
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).expect("a record");
            if record["username"] == "alice" {
                record["customData"]["offline"] = serde_json::json!("edited in the file");
            }
            record.to_string()
        })
        .collect();
    let file = sandbox.path("snapshot.jsonl");
    fs::write(&file, edited.join("\n")).expect("write");
    let taken = sandbox.on(&db, &["import", "--upsert", file.to_str().expect("utf-8")]).ok();
    assert!(taken.stdout.contains("1 updated"), "{taken:?}");
    assert!(sandbox.get(&db, "alice").contains("edited in the file"));
    // The same file again after a colleague's save: it was taken before that save.
    std::thread::sleep(std::time::Duration::from_millis(5));
    sandbox.on_with_stdin(&db, &["set", "alice", "-"], br#"{"late": "by a colleague"}"#).ok();
    let after_their_save = sandbox.export(&db);
    let error = sandbox.on(&db, &["import", "--upsert", file.to_str().expect("utf-8")]).fails(5);
    let alice = sandbox.get(&db, "alice");
    assert!(alice.contains("by a colleague"), "their save stays: {alice}");
    assert!(
        error.contains("was saved after this record was taken")
            && error.contains("importing it would take that save back; nothing was imported")
            && error.contains("--overwrite-newer"),
        "{error}"
    );
    assert_eq!(sandbox.export(&db), after_their_save, "nothing imported");
    // Without --upsert the flag means nothing: a usage error.
    sandbox.on(&db, &["import", "--overwrite-newer", file.to_str().expect("utf-8")]).fails(2);
    // On purpose: the snapshot is restored, their save kept in the history.
    sandbox.on(&db, &["import", "--upsert", "--overwrite-newer", file.to_str().expect("utf-8")]).ok();
    assert!(!sandbox.get(&db, "alice").contains("by a colleague"));
    assert!(sandbox.get(&db, "alice").contains("edited in the file"));
    assert!(
        sandbox.on(&db, &["history", "alice"]).ok().stdout.lines().count() >= 3,
        "their save in the history"
    );
}

/// `--expect-digest` on a file: the revision given, another document than the digest names, is
/// a conflict said as such (not "by Logto or SQL": bb59 F4); a digest that is none is a usage
/// error, for a user that does not exist too (bb59 F5: it said "no user", exit 3).
#[test]
fn set_with_a_digest_of_another_document_is_a_conflict_and_a_malformed_one_a_usage_error() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let before = sandbox.export(&db);
    let other = "sha256:0123456789abcdef";
    let refused = sandbox
        .on_with_stdin(&db, &["set", "alice", "-", "--expect-revision", "1", "--expect-digest", other], b"{}")
        .fails(5);
    assert!(
        refused.contains("is at the revision given, but its document is not the one of digest"),
        "{refused}"
    );
    assert!(!refused.contains("Logto"), "{refused}");
    assert_eq!(sandbox.export(&db), before, "nothing written");
    for user in ["alice", "nobody-at-all"] {
        let args = ["set", user, "-", "--expect-revision", "1", "--expect-digest", "sha256:XYZ"];
        let usage = sandbox.on_with_stdin(&db, &args, b"{}").fails(2);
        assert!(usage.contains("not a digest"), "{user}: {usage}");
    }
}

/// A record that gives no `updatedAt` (a file made by hand) cannot be held against a save made
/// since: it goes in, and a warning says so, naming how many users (bb57 F6: a colleague's save
/// was replaced with only "removed keys" said). Records that give it say nothing of the kind.
#[test]
fn an_upsert_of_records_without_updated_at_warns_that_later_saves_could_not_be_checked() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let snapshot = sandbox.path("snapshot.jsonl");
    fs::write(&snapshot, sandbox.export(&db)).expect("write");
    let quiet = sandbox.on(&db, &["import", "--upsert", snapshot.to_str().expect("utf-8")]).ok();
    assert!(!quiet.stderr.contains("give no updatedAt"), "{quiet:?}");
    sandbox.on_with_stdin(&db, &["set", "alice", "-"], br#"{"late": "by a colleague"}"#).ok();
    let by_hand = sandbox.path("by-hand.jsonl");
    fs::write(
        &by_hand,
        "{\"id\":\"u1\",\"customData\":{\"mine\":1}}\n{\"id\":\"u2\",\"customData\":{\"b\":2}}\n",
    )
    .expect("write");
    let warned = sandbox.on(&db, &["import", "--upsert", by_hand.to_str().expect("utf-8")]).ok();
    assert!(warned.stdout.contains("2 updated"), "{warned:?}");
    assert!(
        warned.stderr.contains(
            "custodian: warning: customData of 2 users replaced by records that give no updatedAt: whether they were saved after the records were made could not be checked"
        ),
        "{warned:?}"
    );
    // A record of profile fields alone leaves a later customData save as it is: nothing said.
    let profile = sandbox.file("profile.jsonl", "{\"id\":\"u1\",\"name\":\"Alice Renamed\"}\n");
    let quiet = sandbox.on(&db, &["import", "--upsert", &profile]).ok();
    assert!(quiet.stdout.contains("1 updated") && !quiet.stderr.contains("give no updatedAt"), "{quiet:?}");
}

/// An import from a pipe into a database that holds users took the write lock at its first
/// record and kept it while the producer stalled: every other save was "busy, try again" for
/// as long (bb31 U12). The pipe is read whole first: a save meanwhile goes through.
#[test]
fn an_import_from_a_stalled_pipe_holds_no_one_elses_save() {
    use std::io::Write;
    use std::process::Stdio;
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let mut import = sandbox.command();
    import.arg("--db").arg(&db).args(["import", "--upsert", "-"]);
    let mut import =
        import.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut producer = import.stdin.take().expect("stdin");
    producer.write_all(b"{\"id\":\"u1\",\"name\":\"from the pipe\"}\n").expect("a record");
    producer.flush().expect("sent");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Held, the save would wait 3 s and fail "busy" (exit 1); no time is asserted (a loaded
    // machine is slow, not busy).
    sandbox.on_with_stdin(&db, &["set", "bob", "-"], br#"{"meanwhile": 1}"#).ok();
    drop(producer);
    let ended = import.wait_with_output().expect("the import ends");
    assert!(ended.status.success(), "{}", String::from_utf8_lossy(&ended.stderr));
    assert!(sandbox.get(&db, "bob").contains("meanwhile"));
    assert!(sandbox.export(&db).contains("from the pipe"));
}

/// The names in a directory, to see that nothing (a temporary file) was left behind.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn export_out_refuses_every_target_that_exists_and_leaves_it_as_it_was() {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let dir = sandbox.path("out");
    fs::create_dir(&dir).expect("mkdir");
    let existing = dir.join("existing.jsonl");
    fs::write(&existing, "an earlier export\n").expect("write");
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).expect("chmod");
    let victim = sandbox.path("home").join(".bashrc");
    fs::write(&victim, "# the victim's own file\n").expect("write");
    let link = dir.join("link.jsonl");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let dangling = dir.join("dangling.jsonl");
    let dangling_target = sandbox.path("home").join("made-through-a-link");
    std::os::unix::fs::symlink(&dangling_target, &dangling).expect("symlink");
    let fifo = dir.join("fifo.jsonl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    // A reader holds the FIFO open, so an export that wrote into it would not block but
    // succeed: the test fails instead of hanging on a build that opens it.
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO for reading");
    let subdir = dir.join("a-directory");
    fs::create_dir(&subdir).expect("mkdir");
    let database_bytes = fs::read(&db).expect("read the database");
    let before = names_in(&dir);
    let cases: [(&Path, &str); 8] = [
        (&existing, "it already exists"),
        (&link, "it is a symbolic link"),
        (&dangling, "it is a symbolic link"),
        (&fifo, "it is a FIFO"),
        (&subdir, "it is a directory"),
        (Path::new("/dev/null"), "it is a character device"),
        (Path::new("/dev/stdout"), "it is a symbolic link"),
        (&db, "it already exists"),
    ];
    for (target, what) in cases {
        let error = sandbox.on(&db, &["export", "--out", target.to_str().expect("utf-8")]).fails(1);
        assert_eq!(
            error,
            format!(
                "custodian: cannot create {}: {what}; export only creates a new file (choose another name)",
                target.display()
            )
        );
    }
    // With a slash after it the dangling link was followed and read as nothing there; the
    // export ran and then said "a file of that name appeared"; a new name with a slash gave
    // the OS's "No such file or directory".
    for target in [format!("{}/", dangling.display()), format!("{}/", dir.join("new-name").display())] {
        let error = sandbox.on(&db, &["export", "--out", &target]).fails(1);
        assert_eq!(
            error,
            format!(
                "custodian: cannot create {target}: a name ending in / is a directory's; export only creates a new file (name one)"
            )
        );
    }
    assert_eq!(fs::read_to_string(&existing).expect("read"), "an earlier export\n");
    assert_eq!(mode_of(&existing), 0o644);
    assert_eq!(fs::read_to_string(&victim).expect("read"), "# the victim's own file\n");
    assert!(!dangling_target.exists(), "a file was made through a dangling link");
    assert!(fs::symlink_metadata(&fifo).expect("fifo").file_type().is_fifo());
    assert_eq!(names_in(&subdir), Vec::<String>::new());
    assert_eq!(fs::read(&db).expect("read the database"), database_bytes, "the database was touched");
    assert_eq!(names_in(&dir), before, "a temporary file was left behind");
}

#[test]
fn export_out_is_private_whatever_the_umask_and_leaves_no_temporary_file() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let dir = sandbox.path("out");
    fs::create_dir(&dir).expect("mkdir");
    for (umask, name) in [("000", "open.jsonl"), ("277", "narrow.jsonl"), ("077", "usual.jsonl")] {
        let out = dir.join(name);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_custodian"))
            .args(sandbox.command().get_args())
            .args(["--db", db.to_str().expect("utf-8"), "export", "--out", out.to_str().expect("utf-8")]);
        for (key, value) in sandbox.command().get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        Run::of(command, None).ok();
        assert_eq!(mode_of(&out), 0o600, "umask {umask}");
        assert_eq!(fs::read_to_string(&out).expect("read"), sandbox.export(&db), "umask {umask}");
    }
    assert_eq!(names_in(&dir), ["narrow.jsonl", "open.jsonl", "usual.jsonl"]);
}

#[test]
fn export_into_a_pipe_closed_early_is_not_an_error() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("demo.redb");
    sandbox.on(&db, &["import", DEMO_USERS]).ok();
    for args in [&["export"][..], &["list", "--json", "--limit", "0"]] {
        let mut command = sandbox.command();
        command.arg("--db").arg(&db).args(args);
        let run = Run::with_a_reader_that_leaves(command);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
    }
}

/// bb49 F1: a write whose stderr (and stdout) went to a reader that left (`2>&1 | head -1`)
/// committed, then panicked on its last line and exited 101: a script retrying on failure
/// applied the batch twice. The write landed, so the exit code says so.
#[test]
fn a_write_whose_output_and_stderr_readers_left_exits_as_it_landed() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    // Drops alice's `lang`: a line on stderr.
    let doc = sandbox.file("doc.json", r#"{"theme":"light","saved":"by a script"}"#);
    let patch = sandbox.file("patch.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let closed = |args: &[&str]| {
        let mut command = sandbox.command();
        command.arg("--db").arg(&db).args(args);
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("spawn");
        // Both readers leave before the command says anything.
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().expect("wait").code()
    };
    assert_eq!(closed(&["set", "alice", &doc]), Some(0));
    assert!(sandbox.get(&db, "alice").contains("by a script"), "the save landed");
    assert_eq!(closed(&["patch", &patch, "--all", "--yes"]), Some(0));
    let exported = sandbox.export(&db);
    assert_eq!(exported.matches("\"flag\":true").count(), 5, "{exported}");
}

#[test]
fn import_reads_standard_input() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("stdin.redb");
    let run = sandbox.on_with_stdin(&db, &["import"], PEOPLE.as_bytes()).ok();
    assert_eq!(run.stdout, "imported: 5 new, 0 updated, 0 unchanged\n");
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
}

// ---------------------------------------------------------------------------------------------
// set, history, restore, get

#[test]
fn set_reports_the_new_revision_and_an_identical_set_changes_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox.file("doc.json", "{\"theme\":\"light\",\"lang\":\"en\",\"extra\":[1,2]}");
    let run = sandbox.on(&db, &["set", "alice", &doc]).ok();
    assert!(run.stdout.starts_with("saved: user u1 revision 2"), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(run.stderr.is_empty(), "nothing was removed: {run:?}");

    // The same document, written differently.
    let same =
        sandbox.file("same.json", "{\n  \"theme\": \"light\", \"lang\": \"en\",\n  \"extra\": [ 1, 2 ]\n}\n");
    let run = sandbox.on(&db, &["set", "ALICE", &same]).ok();
    assert_eq!(run.stdout, "no changes: user u1 stays at revision 2\n");
    assert_eq!(history_revisions(&sandbox, &db, "alice").len(), 2);
    assert_eq!(
        sandbox.get(&db, "alice"),
        "{\n  \"theme\": \"light\",\n  \"lang\": \"en\",\n  \"extra\": [\n    1,\n    2\n  ]\n}\n"
    );

    // By email, by phone, with the right expected revision.
    let run = sandbox.on(&db, &["set", "Alice@Example.com", &same, "--expect-revision", "2"]).ok();
    assert!(run.stdout.starts_with("no changes"), "{run:?}");
    let run = sandbox.on(&db, &["set", "15551234567", &doc, "--expect-revision", "1"]).ok();
    assert!(run.stdout.starts_with("saved: user u2 revision 2"), "{run:?}");
}

#[test]
fn set_reads_the_document_from_standard_input() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let run = sandbox.on_with_stdin(&db, &["set", "bob"], b"{\"from\": \"stdin\"}").ok();
    assert!(run.stdout.starts_with("saved: user u2 revision 2"), "{run:?}");
    assert_eq!(sandbox.get(&db, "bob"), "{\n  \"from\": \"stdin\"\n}\n");
}

#[test]
fn set_that_drops_keys_names_them_on_stderr() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox.file("doc.json", r#"{"lang": "de", "new": true}"#);
    let run = sandbox.on(&db, &["set", "alice", &doc]).ok();
    assert_eq!(run.stderr, "custodian: user u1: removed keys: theme\n");
    assert!(run.stdout.starts_with("saved: user u1 revision 2"), "{run:?}");
    let empty = sandbox.file("empty.json", "{}");
    let run = sandbox.on(&db, &["set", "alice", &empty]).ok();
    assert_eq!(run.stderr, "custodian: user u1: removed keys: lang, new\n");
    // However many and however long: the first 20 named, each cut to 60 columns (emptying
    // 20,000 keys printed a line of 149 KB).
    let many: serde_json::Map<String, serde_json::Value> = (0..20_000)
        .map(|n| (format!("{}{n:05}", "k".repeat(if n == 0 { 100 } else { 1 })), 1.into()))
        .collect();
    let many = sandbox.file("many.json", &serde_json::Value::Object(many).to_string());
    sandbox.on(&db, &["set", "alice", &many]).ok();
    let run = sandbox.on(&db, &["set", "alice", &empty]).ok();
    let line = run.stderr.strip_prefix("custodian: user u1: removed keys: ").expect("the line");
    assert!(line.starts_with(&format!("{}…, k00001, k00002,", "k".repeat(59))), "{line}");
    assert!(line.ends_with(", k00019 and 19980 more\n"), "{line}");
    assert!(run.stderr.len() < 500, "{} bytes", run.stderr.len());
    // Keys holding what the list is written with are quoted, as `history` lists them: an
    // empty key, `a, b` and ` ` read as `a` and `b` (bb28 R04).
    let odd = sandbox.file("odd.json", r#"{"": 1, "a, b": 2, " ": 3, "plain": 4}"#);
    sandbox.on(&db, &["set", "alice", &odd]).ok();
    let run = sandbox.on(&db, &["set", "alice", &empty]).ok();
    assert_eq!(run.stderr, "custodian: user u1: removed keys: \"\", \"a, b\", \" \", plain\n");
}

#[test]
fn the_log_records_the_command_lines_refusals_and_conflicts_without_the_document() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let secret = sandbox.file("secret.json", r#"{"stripeKey": "sk_live_4eC39HqLyjWDarjtT1zdp7dcXYZ"}"#);
    sandbox.on(&db, &["set", "alice", &secret]).fails(4);
    let doc = sandbox.file("doc.json", r#"{"v": 2}"#);
    sandbox.on(&db, &["set", "alice", &doc, "--expect-revision", "7"]).fails(5);
    let log =
        fs::read_to_string(sandbox.path("state").join("custodian").join("custodian.log")).expect("the log");
    assert!(log.contains("command=\"set\"") || log.contains("command=set"), "{log}");
    assert!(log.contains("refused: looks like it holds secrets"), "{log}");
    assert!(log.contains("refused: saved by someone else in between") && log.contains("expected=7"), "{log}");
    assert!(!log.contains("sk_live") && !log.contains("stripeKey"), "the document reached the log: {log}");
    // A name another user has is no change made in between, and the name stays out of the log.
    let taken = sandbox.file("taken.jsonl", r#"{"id":"u2","primaryEmail":"ALICE@example.com"}"#);
    sandbox.on(&db, &["import", "--upsert", &taken]).fails(5);
    let log =
        fs::read_to_string(sandbox.path("state").join("custodian").join("custodian.log")).expect("the log");
    let line = log.lines().last().expect("a line");
    assert!(line.contains("refused: a name another user has"), "{line}");
    assert!(line.contains("field=\"primaryEmail\"") && line.contains("owner=u1"), "{line}");
    assert!(!log.to_lowercase().contains("alice@example.com"), "a name reached the log: {log}");
    // An import and a seed that wrote are logged too, by their counts (they were not at all).
    let more = sandbox.file("more.jsonl", r#"{"id":"n9","username":"nina","customData":{"k":"v"}}"#);
    sandbox.on(&db, &["import", &more]).ok();
    sandbox.on(&db, &["seed", "--users", "3", "--quiet"]).ok();
    let log =
        fs::read_to_string(sandbox.path("state").join("custodian").join("custodian.log")).expect("the log");
    assert!(log.contains("import written") && log.contains("new=1"), "{log}");
    assert!(log.contains("seed written") && log.contains("users=3"), "{log}");
    assert!(!log.contains("nina"), "a name reached the log: {log}");
}

#[test]
fn history_lists_every_revision_and_marks_the_current_one() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    for n in 2..=4 {
        let doc = sandbox.file("doc.json", &format!("{{\"n\": {n}}}"));
        sandbox.on(&db, &["set", "alice", &doc]).ok();
    }
    let run = sandbox.on(&db, &["history", "alice"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{run:?}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["REV", "WHEN", "WHO", "SIZE", "CHANGES"]);
    for (line, revision) in lines[1..].iter().zip(1..) {
        assert!(line.starts_with(&format!("{revision}")), "{line}");
        assert!(line.contains(" UTC"), "{line}");
        assert!(line.contains("tester"), "{line}");
        assert_eq!(line.contains("(current)"), revision == 4, "{line}");
    }
}

#[test]
fn history_says_what_each_revision_changed_and_which_one_a_restore_brought_back() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox.file("doc.json", r#"{"theme": "dark", "beta": true}"#);
    sandbox.on(&db, &["set", "alice", &doc]).ok();
    sandbox.on(&db, &["restore", "alice", "1"]).ok();
    let run = sandbox.on(&db, &["history", "alice"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[1].ends_with("+2: theme, lang"), "{}", lines[1]);
    assert!(lines[2].ends_with("+1: beta  −1: lang"), "{}", lines[2]);
    assert!(lines[3].ends_with("= revision 1  +1: lang  −1: beta"), "{}", lines[3]);
}

#[test]
fn restore_brings_back_an_old_revision_as_a_new_one() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox.file("doc.json", r#"{"v": 2}"#);
    sandbox.on(&db, &["set", "alice", &doc]).ok();
    let run = sandbox.on(&db, &["restore", "alice", "1"]).ok();
    assert!(run.stdout.starts_with("saved: user u1 revision 3"), "{run:?}");
    assert_eq!(run.stderr, "custodian: user u1: removed keys: v\n");
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
    assert_eq!(sandbox.on(&db, &["get", "alice", "--revision", "1"]).ok().stdout, ALICE_DOC);
    assert_eq!(sandbox.on(&db, &["get", "alice", "--revision", "2"]).ok().stdout, "{\n  \"v\": 2\n}\n");
    assert_eq!(sandbox.on(&db, &["get", "alice", "--revision", "3"]).ok().stdout, ALICE_DOC);
    assert_eq!(history_revisions(&sandbox, &db, "alice").len(), 3);
    // Restoring what is already current is no change.
    let run = sandbox.on(&db, &["restore", "alice", "3", "--expect-revision", "3"]).ok();
    assert_eq!(run.stdout, "no changes: user u1 stays at revision 3\n");
}

#[test]
fn get_to_a_pipe_prints_the_exact_stored_json() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox
        .file("doc.json", r#"{"note": "abc\u202edef", "ctl": "x\u009by", "esc": "\u001b[2J", "n": 1.50}"#);
    sandbox.on(&db, &["set", "carol@example.net", &doc]).ok();
    let run = sandbox.on(&db, &["get", "carol@example.net"]).ok();
    assert_eq!(
        run.stdout,
        "{\n  \"note\": \"abc\u{202e}def\",\n  \"ctl\": \"x\u{9b}y\",\n  \"esc\": \"\\u001b[2J\",\n  \"n\": 1.50\n}\n"
    );
    let line = sandbox.export(&db);
    assert!(line.contains(r#""customData":{"note":"abc"#) && line.contains("abc\u{202e}def"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// list

#[test]
fn list_prints_a_table_with_a_header_in_list_order() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let run = sandbox.on(&db, &["list"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "USERNAME", "EMAIL", "PHONE", "NAME", "REV"]
    );
    let ids: Vec<&str> = lines[1..].iter().map(|l| l.split_whitespace().next().expect("id")).collect();
    // Handles: 4930123456 (phone), alice, bob, carol@example.net (email), Eve.
    assert_eq!(ids, ["u4", "u1", "u2", "u3", "u5"]);
    assert!(lines[2].contains("alice@example.com") && lines[2].contains("Alice Liddell"), "{}", lines[2]);
    assert!(lines[2].trim_end().ends_with('1'), "{}", lines[2]);
    assert!(lines[5].contains("Eve Online (suspended)"), "{}", lines[5]);
    // Columns line up under the header.
    let email_column = lines[0].find("EMAIL").expect("EMAIL");
    assert_eq!(lines[2].find("alice@example.com"), Some(email_column));
}

#[test]
fn list_shows_the_phone_of_a_phone_only_user() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let run = sandbox.on(&db, &["list"]).ok();
    let dieter = run.stdout.lines().find(|l| l.starts_with("u4 ")).expect("u4's row");
    let phone_column = run.stdout.lines().next().and_then(|h| h.find("PHONE")).expect("PHONE");
    assert_eq!(dieter.find("4930123456"), Some(phone_column), "{run:?}");
}

#[test]
fn list_cut_at_its_limit_says_on_a_terminal_how_many_more_there_are() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    // No terminal: stdout has the rows asked for and stderr stays quiet (scripts parse it).
    let piped = sandbox.on(&db, &["list", "--limit", "2"]).ok();
    assert_eq!(piped.stdout.lines().count(), 3, "{piped:?}");
    assert_eq!(piped.stderr, "");
    // stderr on a terminal, stdout into a pipe: `custodian list | grep …`.
    let rows = sandbox.path("rows.txt");
    // On a terminal (stderr), the rows into a file.
    let on_a_terminal = |args: &str| {
        let line =
            format!("{} --db {} {args} > {}", env!("CARGO_BIN_EXE_custodian"), db.display(), rows.display());
        let mut command = Command::new("script");
        command.args(["-q", "-e", "-c", &line, "/dev/null"]);
        for (key, value) in sandbox.command().get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let output = command.output().expect("run script (util-linux)");
        let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{terminal}");
        terminal
    };
    let terminal = on_a_terminal("list --limit 2");
    assert!(
        terminal
            .contains("custodian: showing the first 2 users; 3 more — --limit N shows more, --limit 0 all"),
        "{terminal:?}"
    );
    assert_eq!(fs::read_to_string(&rows).expect("rows").lines().count(), 3);
    // One: `the first 1 users` (bb38 F2); so was `changes`.
    let terminal = on_a_terminal("list --limit 1");
    assert!(terminal.contains("custodian: showing the first user; 4 more"), "{terminal:?}");
    sandbox.on_with_stdin(&db, &["set", "alice", "-"], br#"{"saved":1}"#).ok();
    let terminal = on_a_terminal("changes --limit 1");
    assert!(terminal.contains("custodian: showing the newest change; there are more"), "{terminal:?}");
    // Every user fits: nothing is said.
    let all = sandbox.on(&db, &["list", "--limit", "5"]).ok();
    assert_eq!((all.stdout.lines().count(), all.stderr.as_str()), (6, ""));
}

#[test]
fn list_json_prints_one_logto_object_per_line_in_list_order() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("demo.redb");
    sandbox.on(&db, &["import", DEMO_USERS]).ok();
    let run = sandbox.on(&db, &["list", "--json", "--limit", "0"]).ok();
    let users = json_lines(&run.stdout);
    assert_eq!(users.len(), 200);
    assert!(users.iter().all(|u| u["customData"].is_object() && u["id"].is_string()));
    // In list order: by the lower-cased username, else email, else phone, else id.
    let handle = |u: &Map<String, Value>| -> (String, String) {
        let handle = ["username", "primaryEmail", "primaryPhone", "id"]
            .iter()
            .find_map(|f| u[*f].as_str())
            .expect("a handle");
        (handle.to_lowercase(), u["id"].as_str().expect("id").to_owned())
    };
    let order: Vec<_> = users.iter().map(handle).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    // The same objects as the export.
    assert_eq!(run.stdout, sandbox.export(&db));
}

#[test]
fn list_limit_caps_the_rows_and_zero_means_all() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("demo.redb");
    sandbox.on(&db, &["import", DEMO_USERS]).ok();
    assert_eq!(sandbox.on(&db, &["list"]).ok().stdout.lines().count(), 1 + 100, "the default limit is 100");
    assert_eq!(sandbox.on(&db, &["list", "--limit", "7"]).ok().stdout.lines().count(), 1 + 7);
    assert_eq!(sandbox.on(&db, &["list", "-l", "0"]).ok().stdout.lines().count(), 1 + 200);
    assert_eq!(sandbox.on(&db, &["list", "--limit", "5000"]).ok().stdout.lines().count(), 1 + 200);
    let json = sandbox.on(&db, &["list", "--json", "--limit", "3"]).ok().stdout;
    let all = sandbox.on(&db, &["list", "--json", "--limit", "0"]).ok().stdout;
    assert_eq!(json_lines(&json), json_lines(&all)[..3]);
}

#[test]
fn list_and_changes_of_more_than_a_page_are_whole_with_one_header_and_the_same_rows() {
    // `list --limit 0` held every user (1.6 GB at 1M) and `changes --limit 0` every entry;
    // both write a page of 1,000 at a time now: the rows must be the same, in order.
    let sandbox = Sandbox::new();
    let db = sandbox.init("many.redb");
    sandbox.on(&db, &["seed", "--users", "2500", "--seed", "7"]).ok();
    let rows =
        |args: &[&str]| sandbox.on(&db, args).ok().stdout.lines().map(str::to_owned).collect::<Vec<_>>();
    let all = rows(&["list", "--limit", "0"]);
    assert_eq!(all.len(), 1 + 2500);
    assert_eq!(all.iter().filter(|l| l.starts_with("ID ")).count(), 1, "one header");
    let ids = |lines: &[String]| {
        lines[1..].iter().map(|l| l.split_whitespace().next().unwrap_or("").to_owned()).collect::<Vec<_>>()
    };
    let json = json_lines(&sandbox.on(&db, &["list", "--json", "--limit", "0"]).ok().stdout);
    let json_ids: Vec<String> = json.iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids(&all), json_ids, "the table and JSON list the same users in the same order");
    // A limit at the page size, and across it.
    assert_eq!(ids(&rows(&["list", "--limit", "1000"])), ids(&all)[..1000].to_vec());
    assert_eq!(ids(&rows(&["list", "--limit", "1001"])), ids(&all)[..1001].to_vec());
    // A search over more than a page of matches.
    let found = rows(&["list", "--search", "example", "--limit", "0"]);
    assert!(found.len() > 1001, "{} found", found.len() - 1);
    let found_ids = ids(&found);
    assert_eq!(
        found_ids,
        ids(&all).into_iter().filter(|id| found_ids.contains(id)).collect::<Vec<_>>(),
        "in list order"
    );
    // 2,500 saves and the load: three pages of the journal.
    let patch = sandbox.path("patch.json");
    fs::write(&patch, r#"[{"op":"add","path":"/paged","value":true}]"#).unwrap();
    sandbox.on(&db, &["patch", patch.to_str().unwrap(), "--all", "--yes"]).ok();
    let changes = rows(&["changes", "--limit", "0"]);
    assert_eq!(changes.len(), 1 + 2501);
    assert_eq!(changes.iter().filter(|l| l.starts_with("WHEN ")).count(), 1, "one header");
    assert_eq!(rows(&["changes", "--limit", "0", "--json"]).len(), 2501);
    assert_eq!(rows(&["changes", "--limit", "1000"])[1..], changes[1..1001]);
}

#[test]
fn list_search_matches_any_field_in_any_case() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("demo.redb");
    sandbox.on(&db, &["import", DEMO_USERS]).ok();
    let demo: Vec<Map<String, Value>> =
        serde_json::from_str(&fs::read_to_string(DEMO_USERS).expect("demo")).expect("demo json");
    // The filter's rule: the folded query in a profile field, or in a key or scalar of
    // customData.
    fn texts(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                into.push(k.clone());
                texts(v, into);
            }),
            Value::Array(items) => items.iter().for_each(|v| texts(v, into)),
            Value::String(s) => into.push(s.clone()),
            other => into.push(other.to_string()),
        }
    }
    use custodian::domain::fold::fold;
    for query in ["ADMIN", "müller", "EXAMPLE.ORG", "contoso", "4915", "zzzz-no-match"] {
        let needle = fold(query).into_owned();
        let mut expected: Vec<String> = demo
            .iter()
            .filter(|u| {
                let mut haystacks: Vec<String> = ["id", "username", "primaryEmail", "primaryPhone", "name"]
                    .iter()
                    .filter_map(|f| u[*f].as_str().map(str::to_owned))
                    .collect();
                if let Some(data) = u.get("customData") {
                    texts(data, &mut haystacks);
                }
                haystacks.iter().any(|v| fold(v).contains(needle.as_str()))
            })
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect();
        let run = sandbox.on(&db, &["list", "--json", "--limit", "0", "--search", query]).ok();
        let mut found: Vec<String> =
            json_lines(&run.stdout).iter().map(|u| u["id"].as_str().expect("id").to_owned()).collect();
        expected.sort_unstable();
        found.sort_unstable();
        assert_eq!(found, expected, "{query}");
    }
    let run = sandbox.on(&db, &["list", "-s", "ADMIN"]).ok();
    assert!(run.stdout.lines().nth(1).is_some_and(|l| l.contains("admin@example.com")), "{run:?}");
    // Spaces around the query are dropped as the screen's filter drops them (` a` found one
    // user here, fifty there); all spaces is no filter, as on the screen.
    let ids = |query: &str| {
        json_lines(&sandbox.on(&db, &["list", "--json", "--limit", "0", "--search", query]).ok().stdout)
            .iter()
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("  müller "), ids("müller"));
    assert_eq!(ids("   ").len(), demo.len());
}

// ---------------------------------------------------------------------------------------------
// Read-only

/// Checks that every write fails with "read-only" and changes nothing, and reads work, with
/// `setup` choosing how read-only is asked for.
fn assert_read_only(sandbox: &Sandbox, db: &Path, setup: &dyn Fn(&mut Command)) {
    let export = sandbox.export(db);
    let bytes = fs::read(db).expect("read");
    let doc = sandbox.file("ro.json", r#"{"sneaky": true}"#);
    let import = sandbox.file("ro.jsonl", "{\"id\":\"n1\",\"username\":\"sneaky\"}\n");
    let writes: [&[&str]; 7] = [
        &["set", "alice", &doc],
        &["import", &import],
        &["import", "--upsert", &import],
        &["restore", "alice", "1"],
        &["seed", "--users", "3"],
        &["init"],
        &["compact"],
    ];
    for args in writes {
        let mut command = sandbox.command();
        command.arg("--db").arg(db);
        setup(&mut command);
        command.args(args);
        let error = Run::of(command, None).fails(1);
        assert!(error.contains("read-only"), "{args:?}: {error}");
    }
    for args in [
        &["get", "alice"][..],
        &["list"],
        &["history", "alice"],
        &["export"],
        &["get", "alice", "--revision", "1"],
    ] {
        let mut command = sandbox.command();
        command.arg("--db").arg(db);
        setup(&mut command);
        command.args(args);
        Run::of(command, None).ok();
    }
    assert!(fs::read(db).expect("read") == bytes, "the file changed");
    assert_eq!(sandbox.export(db), export);
}

fn people_with_two_revisions(sandbox: &Sandbox) -> PathBuf {
    let db = sandbox.people();
    let doc = sandbox.file("v2.json", r#"{"v": 2}"#);
    sandbox.on(&db, &["set", "alice", &doc]).ok();
    db
}

#[test]
fn read_only_flag_refuses_every_write_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let db = people_with_two_revisions(&sandbox);
    assert_read_only(&sandbox, &db, &|c| {
        c.arg("--read-only");
    });
}

#[test]
fn read_only_environment_variable_refuses_every_write_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let db = people_with_two_revisions(&sandbox);
    for value in ["1", "true", "yes"] {
        assert_read_only(&sandbox, &db, &|c| {
            c.env("CUSTODIAN_READ_ONLY", value);
        });
    }
    // Off means off.
    let doc = sandbox.file("v3.json", r#"{"v": 3}"#);
    let mut command = sandbox.command();
    command.env("CUSTODIAN_READ_ONLY", "0").arg("--db").arg(&db).args(["set", "alice", &doc]);
    let run = Run::of(command, None).ok();
    assert!(run.stdout.starts_with("saved: user u1 revision 3"), "{run:?}");
}

/// `export CUSTODIAN_DB=` (a common way to "unset" it) failed every command with clap's words
/// about `--db`, a flag the operator had not typed; an empty `$CUSTODIAN_READ_ONLY` with
/// "invalid value '' for '--read-only'" (bb14 L13). The variable is named.
#[test]
fn an_empty_environment_variable_is_named_not_blamed_on_its_flag() {
    let sandbox = Sandbox::new();
    let db = people_with_two_revisions(&sandbox);
    let db = db.to_str().expect("a UTF-8 path");
    for (variable, flag, args) in [
        ("CUSTODIAN_DB", "--db", &["list"][..]),
        ("CUSTODIAN_READ_ONLY", "--read-only", &["--db", db, "list"][..]),
        ("CUSTODIAN_KEY_FILE", "--key-file", &["--db", db, "get", "alice", "--unseal"][..]),
        // It was taken as the tenant "": `--tenant  (or …)` blamed on a database file, and an
        // import looked for records of tenant "" (bb42 F5).
        ("CUSTODIAN_TENANT", "--tenant", &["--db", db, "list"][..]),
        ("CUSTODIAN_TENANT", "--tenant", &["--db", db, "import", "-"][..]),
    ] {
        let mut command = sandbox.command();
        command.env_remove("CUSTODIAN_DB").env(variable, "").args(args);
        let run = Run::of(command, None);
        assert_eq!(run.code, 2, "{variable}: {run:?}");
        // `--read-only` is a switch: it takes no value to give (bb15 L07).
        let fix = if flag == "--read-only" {
            "set it to 1 or 0 (true/false, yes/no, on/off also do)".to_owned()
        } else {
            format!("give {flag} a value")
        };
        assert_eq!(
            run.stderr.trim_end(),
            format!(
                "custodian: ${variable} is set but empty: {fix}, or unset the variable (`unset {variable}`)"
            ),
            "{variable}"
        );
    }
    // A value the switch's variable does not take was blamed on `--read-only`, not typed.
    let mut command = sandbox.command();
    command.env("CUSTODIAN_READ_ONLY", "2").args(["--db", db, "list"]);
    let run = Run::of(command, None);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr.trim_end(),
        "custodian: $CUSTODIAN_READ_ONLY is \"2\", which is not yes or no: set it to 1 or 0 (true/false, yes/no, on/off also do), or unset the variable (`unset CUSTODIAN_READ_ONLY`)"
    );
}

// ---------------------------------------------------------------------------------------------
// seed

/// bb61 F2, F4, F5, F6: a JSON Lines record after blank lines is named by its line and its
/// record number; `--since -1h`'s tip is a form that is read; `--search` of spaces says so;
/// one seeded user is "1 user".
#[test]
fn messages_of_whole_database_work_name_the_record_the_time_and_the_count_as_they_are() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("m.redb");
    let file = sandbox.path("gaps.jsonl");
    fs::write(&file, "{\"id\":\"a1\"}\n\n\n{\"id\":\"a2\",\"customData\":[1]}\n").expect("write");
    let said = sandbox.on(&db, &["import", file.to_str().expect("utf-8")]).fails(4);
    assert!(
        said.starts_with("custodian: line 4 (record 2): customData: the top level is an array"),
        "{said}"
    );
    let said = sandbox.on(&db, &["changes", "--since", "-1h"]).fails(2);
    assert!(said.contains("tip: a time ago is given without a sign: `--since 1h`"), "{said}");
    assert!(sandbox.on(&db, &["changes", "--since", "1h"]).ok().stderr.is_empty());
    let patch = sandbox.path("p.json");
    fs::write(&patch, r#"[{"op":"add","path":"/x","value":1}]"#).expect("write");
    let said = sandbox.on(&db, &["patch", patch.to_str().expect("utf-8"), "--search", "   "]).fails(2);
    assert!(said.contains("--search needs text (it was only spaces)"), "{said}");
    let run = sandbox.on(&db, &["seed", "--users", "1"]).ok();
    assert!(run.stdout.starts_with("seeded 1 user in "), "{run:?}");
}

#[test]
fn seed_adds_the_same_users_for_the_same_seed() {
    let sandbox = Sandbox::new();
    let exports: Vec<String> = ["a.redb", "b.redb", "c.redb"]
        .iter()
        .zip(["7", "7", "8"])
        .map(|(name, seed)| {
            let db = sandbox.init(name);
            let run = sandbox.on(&db, &["seed", "--users", "500", "--seed", seed]).ok();
            assert!(run.stdout.starts_with("seeded 500 users in "), "{run:?}");
            sandbox.export(&db)
        })
        .collect();
    let text = exports[0].clone();
    let users = json_lines(&text);
    assert_eq!(users.len(), 500);
    assert!(users.iter().all(|u| u["customData"].as_object().is_some_and(|d| !d.is_empty())));
    assert!(exports[0] == exports[1], "the same seed gave different users");
    assert!(exports[0] != exports[2], "another seed gave the same users");
    let mut usernames: Vec<&str> = users.iter().map(|u| u["username"].as_str().expect("username")).collect();
    usernames.sort_unstable();
    usernames.dedup();
    assert_eq!(usernames.len(), 500);
}

#[test]
fn seed_with_another_seed_adds_to_the_users_already_there() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    sandbox.on(&db, &["seed", "--users", "20", "--seed", "3"]).ok();
    sandbox.on(&db, &["seed", "--users", "20", "--seed", "4"]).ok();
    assert_eq!(sandbox.export(&db).lines().count(), 45);
    assert_eq!(sandbox.get(&db, "alice"), ALICE_DOC);
}

#[test]
fn seed_twice_with_the_same_seed_adds_to_the_users_already_there() {
    // Usernames are numbered after the users already there so that several runs can seed one
    // database; the default seed is the same every run.
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    sandbox.on(&db, &["seed", "--users", "20"]).ok();
    let run = sandbox.on(&db, &["seed", "--users", "20"]);
    assert_eq!(
        sandbox.export(&db).lines().count(),
        if run.code == 0 { 45 } else { 25 },
        "a failed seed wrote users"
    );
    run.ok();
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let sandbox = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef custodian"),
        ("fish", "complete -c custodian"),
        ("elvish", "custodian"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = sandbox.run(&["completions", shell]).ok();
        assert!(run.stdout.contains(marker), "{shell}: {}", &run.stdout[..run.stdout.len().min(300)]);
        for word in ["export", "restore", "no-color", "read-only", "info"] {
            assert!(run.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert!(!sandbox.default_db().exists(), "completions need no database and create none");
    let error = sandbox.run(&["completions", "tcsh"]);
    assert_eq!(error.code, 2, "{error:?}");
}

#[test]
fn info_says_where_everything_is() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let run = sandbox.on(&db, &["info"]).ok();
    let fields: Vec<(String, String)> = run
        .stdout
        .lines()
        .map(|line| {
            let (label, value) = line.split_at(15);
            (label.trim().to_owned(), value.to_owned())
        })
        .collect();
    let state = sandbox.path("state").join("custodian");
    let expected = [
        ("database", fs::canonicalize(&db).expect("db").display().to_string()),
        ("schema version", custodian::store::SCHEMA_VERSION.to_string()),
        ("users", "5".to_owned()),
        ("drafts", state.join("drafts").display().to_string()),
        ("log", state.join("custodian.log").display().to_string()),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(l, v)| (l.to_string(), v.clone())).collect();
    assert_eq!(fields, expected, "{}", run.stdout);
    // A missing database is the usual error.
    let missing = sandbox.on(&sandbox.path("nope.redb"), &["info"]).fails(1);
    assert!(missing.contains("no such database file"), "{missing}");
    // A path with spaces is named as a shell word in the command to copy (it was bare, and
    // `custodian init --db a b.redb` makes `a`), and a blank one is quoted where it is named.
    let spaced = sandbox.path("a b.redb");
    let missing = sandbox.on(&spaced, &["info"]).fails(1);
    assert!(missing.contains(&format!("`custodian init --db '{}'`", spaced.display())), "{missing}");
    let blank = sandbox.on(std::path::Path::new(" "), &["info"]).fails(1);
    assert!(
        blank.contains("custodian: ' ': no such database file (create one with `custodian init --db ' '`)"),
        "{blank}"
    );
}

/// A `--db` of another scheme than PostgreSQL's (a typo, capitals, another database) is said
/// as such, its password never shown, and nothing is made: it was "no such database file
/// (create one with `custodian init --db postgresq://…`)", and that init failed or, where the
/// directories existed, made a file of that name (bb27 Q06).
#[test]
fn a_db_url_of_another_scheme_is_said_as_such_and_nothing_is_made() {
    let sandbox = Sandbox::new();
    let here = sandbox.path("work");
    fs::create_dir_all(here.join("postgresq:").join("me:hunter2@host")).expect("dirs");
    for (url, said) in [
        (
            "postgresq://me:hunter2@host/logto",
            "--db: a postgresq:// URL is neither a database file nor a PostgreSQL URL (custodian connects to postgres:// or postgresql:// URLs)",
        ),
        (
            "PostgreSQL://me@host/logto",
            "--db: a PostgreSQL:// URL is neither a database file nor a PostgreSQL URL (custodian connects to postgres:// or postgresql:// URLs, in lower case)",
        ),
        (
            "mysql://me@host/db",
            "--db: a mysql:// URL is neither a database file nor a PostgreSQL URL (custodian connects to postgres:// or postgresql:// URLs)",
        ),
    ] {
        for args in [&["list"][..], &["init"], &["set", "alice", "-"]] {
            let mut command = sandbox.command();
            command.current_dir(&here).arg("--db").arg(url).args(args);
            let run = Run::of(command, Some(b"{}"));
            let line = run.fails(1);
            assert_eq!(line.trim_end(), format!("custodian: {said}"), "{url} {args:?}");
            assert!(!line.contains("hunter2"), "{line}");
        }
    }
    assert!(!here.join("postgresq:/me:hunter2@host/logto").exists(), "init made no file of the URL's name");
}

/// `ps` shows every process's arguments to every local account: a `--db` URL's password
/// stood there for a whole session (bb52 F3). Once parsed, it is overwritten in the process's
/// own argument memory; the URL still connects with it (here, to a server that never answers).
#[test]
fn a_password_in_a_db_url_is_not_left_in_the_arguments_others_can_read() {
    let sandbox = Sandbox::new();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!(
        "postgres://logto:S3cretPw@127.0.0.1:{}/logto?connect_timeout=4",
        silent.local_addr().expect("its address").port()
    );
    // The password in the query too (bb54 F2), and with an empty role.
    let in_query = url.replace("logto:S3cretPw@", "logto@") + "&password=S3cretPw";
    let no_role = url.replace("logto:S3cretPw@", ":S3cretPw@");
    for args in [
        vec!["--db".to_owned(), url.clone(), "list".to_owned()],
        vec![format!("--db={url}"), "list".to_owned()],
        vec!["--db".to_owned(), in_query, "list".to_owned()],
        vec!["--db".to_owned(), no_role, "list".to_owned()],
    ] {
        let mut command = sandbox.command();
        command.args(&args).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("custodian");
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let started = std::time::Instant::now();
        let mut shown = String::new();
        // Until it has parsed its arguments (a moment), then while it waits for the server.
        while started.elapsed() < std::time::Duration::from_secs(3) {
            shown = String::from_utf8_lossy(&fs::read(&cmdline).unwrap_or_default()).replace('\0', " ");
            if shown.contains("xxxxxxxx") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(shown.contains("xxxxxxxx") && !shown.contains("S3cret"), "{args:?}: {shown}");
    }
}

/// A PostgreSQL URL mistyped (a slash or a colon left out, a space pasted before it, a byte
/// that is not UTF-8) was taken for a file name: its password was said on stderr, in a
/// suggested `init`, and in the log's `start` line (bb52 F2). File names that merely begin
/// with `postgres` are file names as before.
#[test]
fn a_mistyped_postgres_url_is_refused_without_showing_it_or_logging_it() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::new();
    let here = sandbox.path("work");
    fs::create_dir_all(here.join("postgres")).expect("dirs");
    let said = "custodian: --db names no file and reads as a PostgreSQL URL mistyped, or as a password";
    let mut given: Vec<std::ffi::OsString> = [
        "postgres:/logto:S3cret@db.internal/logto",
        "postgres//logto:S3cret@db.internal/logto",
        " postgres://logto:S3cret@db.internal/logto",
        "postgres:logto:S3cret@db.internal/logto",
        "\tPOSTGRESQL://logto:S3cret@db.internal/logto",
        "postgresql:/logto:S3cret@db.internal/logto",
        // bb54 F3: a semicolon for the colon, a space around it, a no-break or zero-width space
        // or quotes before it, a full-width colon, no scheme at all, libpq's key=value form.
        "postgres;//logto:S3cret@db/logto",
        "postgres ://logto:S3cret@db/logto",
        "\u{a0}postgres://logto:S3cret@db/logto",
        "\u{200b}postgres://logto:S3cret@db/logto",
        "\"postgres://logto:S3cret@db/logto\"",
        "postgres\u{ff1a}//logto:S3cret@db/logto",
        "logto:S3cret@db:5432/logto",
        "//logto:S3cret@db/logto",
        "host=db user=logto password=S3cret dbname=logto",
    ]
    .iter()
    .map(std::ffi::OsString::from)
    .collect();
    given.push(std::ffi::OsStr::from_bytes(b"postgres://logto:S3cr\xffet@db.internal/logto").to_owned());
    for url in &given {
        for args in [&["list"][..], &["init"], &["set", "alice", "-"]] {
            let mut command = sandbox.command();
            command.current_dir(&here).arg("--db").arg(url).args(args);
            let run = Run::of(command, Some(b"{}"));
            let line = run.fails(1);
            assert!(line.starts_with(said) && !line.contains("S3c"), "{url:?} {args:?}: {line}");
        }
    }
    let log =
        fs::read_to_string(sandbox.path("state").join("custodian").join("custodian.log")).expect("the log");
    assert!(!log.contains("S3c") && log.contains("postgres://(a URL custodian cannot read)"), "{log}");
    // Another scheme's URL is not logged whole either (bb54 F4).
    let mut command = sandbox.command();
    command.current_dir(&here).args(["--db", "mysql://op:S3cretMy@h/db", "list"]);
    Run::of(command, None).fails(1);
    let log =
        fs::read_to_string(sandbox.path("state").join("custodian").join("custodian.log")).expect("the log");
    assert!(!log.contains("S3cretMy"), "{log}");
    // With --tenant, the URL is what is said (it said "a database file has no tenants").
    let mut command = sandbox.command();
    command.current_dir(&here).args(["--db", "postgres:/logto:S3cret@db/logto", "--tenant", "acme", "list"]);
    assert!(Run::of(command, None).fails(1).starts_with(said));
    // Given where `--db` was forgotten, as a user, as a tenant: masked in the error (bb55 F5).
    let db = sandbox.path("work").join("masked.redb");
    let mut command = sandbox.command();
    command.args(["--db"]).arg(&db).arg("init");
    Run::of(command, None).ok();
    for args in [
        vec!["postgres://op:S3cretSub@h/db"],
        vec!["--db", db.to_str().expect("UTF-8"), "get", "postgres://op:S3cretSub@h/db"],
        vec!["--db", db.to_str().expect("UTF-8"), "--tenant", "postgres://op:S3cretSub@h/db", "list"],
    ] {
        let mut command = sandbox.command();
        command.args(&args);
        let run = Run::of(command, None);
        assert!(
            run.code != 0 && run.stderr.contains("op:xxxxxxxxx@h") && !run.stderr.contains("S3cretSub"),
            "{args:?}: {run:?}"
        );
    }
    // A file whose name begins with `postgres`, in a directory named so: read as files.
    for file in ["postgres-backup.redb", "postgres/users.redb", "postgres//users2.redb"] {
        let mut command = sandbox.command();
        command.current_dir(&here).arg("--db").arg(file).arg("init");
        Run::of(command, None).ok();
        assert!(here.join(file).is_file(), "{file}");
    }
}

#[test]
fn no_color_is_a_global_flag() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let run = sandbox.on(&db, &["--no-color", "list"]).ok();
    assert!(run.stdout.starts_with("ID"), "{run:?}");
    let run = sandbox.on(&db, &["list", "--no-color"]).ok();
    assert!(run.stdout.starts_with("ID"), "{run:?}");
    assert!(sandbox.run(&["--help"]).ok().stdout.contains("--no-color"));
}

/// bb15 L05: `list --help` said `--search` matches the id, username, email, phone or name
/// only; it also matches customData (so does `patch --search`, which a bulk edit selects by),
/// as a search for a customData value shows.
#[test]
fn the_search_flags_help_says_customdata_is_searched_as_it_is() {
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    for command in ["list", "patch"] {
        let help = sandbox.run(&[command, "--help"]).ok().stdout;
        let line =
            help.lines().find(|l| l.trim_start().starts_with("-s, --search")).expect("the flag").to_owned();
        assert!(line.contains("customData"), "{command}: {line}");
    }
    // alice's theme is "dark": in no id, username, email, phone or name.
    let found = sandbox.on(&db, &["list", "--search", "dark"]).ok().stdout;
    assert!(found.contains("alice"), "a customData value is found: {found}");
}

#[test]
fn saves_are_logged_to_a_private_file_and_never_to_the_screen() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let db = sandbox.people();
    let doc = sandbox.file("doc.json", "{\"logged\": true}");
    let run = sandbox.on(&db, &["set", "alice", &doc]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("INFO") && !run.stdout.contains("INFO"), "the log stays off the screen");
    let log = sandbox.path("state").join("custodian").join("custodian.log");
    let text = fs::read_to_string(&log).expect("the log exists");
    assert!(text.contains("saved from the command line"), "{text}");
    assert!(text.contains("revision=2"), "{text}");
    assert_eq!(fs::metadata(&log).expect("log").permissions().mode() & 0o777, 0o600);
    let dir = log.parent().expect("a directory");
    assert_eq!(fs::metadata(dir).expect("dir").permissions().mode() & 0o777, 0o700);
}

#[test]
fn long_help_lists_every_key_of_the_editor_from_the_key_table() {
    let sandbox = Sandbox::new();
    let run = sandbox.command().arg("--help").output().expect("run --help");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    for binding in custodian::tui::keymap::BINDINGS {
        assert!(text.contains(binding.description), "--help lacks {:?}", binding.description);
    }
    assert!(text.contains("Exit codes:"), "{text}");
}

#[test]
fn compact_gives_back_the_room_a_batch_left_and_keeps_every_user_and_revision() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("many.redb");
    sandbox.on(&db, &["seed", "--users", "3000"]).ok();
    let patch = sandbox.file("flag.json", r#"[{"op":"add","path":"/flag","value":true}]"#);
    let applied = sandbox.on(&db, &["patch", &patch, "--all", "--yes"]).ok().stdout;
    // Said with the database given, to be pasted as it is (bb25 P12).
    let undo = format!("take it back with: custodian --db {} undo ", db.display());
    let batch = applied.lines().find_map(|l| l.strip_prefix(undo.as_str())).expect("batch");
    sandbox.on(&db, &["undo", batch]).ok();
    let grown = fs::metadata(&db).expect("stat").len();
    let (export, changes) =
        (sandbox.export(&db), sandbox.on(&db, &["changes", "--limit", "0", "--json"]).ok());
    let run = sandbox.on(&db, &["compact"]).ok();
    let compacted = fs::metadata(&db).expect("stat").len();
    assert!(compacted < grown * 3 / 4, "{grown} B -> {compacted} B");
    let size = |bytes: u64| custodian::domain::human_bytes(bytes as usize);
    let said = format!("compacted {} to {} in ", size(grown), size(compacted));
    assert!(run.stdout.starts_with(&said), "{}", run.stdout);
    assert_eq!(sandbox.export(&db), export);
    assert_eq!(sandbox.on(&db, &["changes", "--limit", "0", "--json"]).ok().stdout, changes.stdout);
    // Once more: nothing left to give back, the same users.
    sandbox.on(&db, &["compact"]).ok();
    assert!(fs::metadata(&db).expect("stat").len() <= compacted);
    assert_eq!(sandbox.export(&db), export);
}

#[test]
fn compact_needs_the_file_to_itself_and_leaves_it_as_it_was_while_another_has_it_open() {
    use custodian::store::{OpenOptions, RedbStore};
    let sandbox = Sandbox::new();
    let db = sandbox.init("open.redb");
    sandbox.on(&db, &["seed", "--users", "300"]).ok();
    // Another custodian (a screen, a command) holds the file open.
    let other = RedbStore::open(&db, OpenOptions::default()).expect("open");
    let before = fs::read(&db).expect("read");
    let error = sandbox.on(&db, &["compact"]).fails(1);
    assert_eq!(
        error,
        format!(
            "custodian: {}: compact needs the file to itself, and another program has it open (a custodian screen or command); close them and run compact again; nothing was changed",
            db.display()
        )
    );
    assert!(fs::read(&db).expect("read") == before, "the file changed");
    drop(other);
    assert!(sandbox.on(&db, &["compact"]).ok().stdout.starts_with("compacted "));
}

#[test]
fn completions_into_a_closed_pipe_end_quietly_and_into_a_full_disk_in_one_line() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        // The reader gone before the first write (`completions bash | head -0`).
        let mut command = sandbox.command();
        command.args(["completions", shell]).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("run custodian");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(0), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(output.stderr.is_empty(), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
        let mut command = sandbox.command();
        command.args(["completions", shell]).stdout(fs::File::create("/dev/full").expect("/dev/full"));
        let output = command.output().expect("run custodian");
        assert_eq!(output.status.code(), Some(1), "{shell}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "custodian: cannot write to standard output: No space left on device (os error 28)\n",
            "{shell}"
        );
    }
}

/// bb18 L01: `set`, `restore` and `patch --yes` wrote, then failed to print their report into a
/// full disk and exited 1 with only "cannot write to standard output": the batch id `undo`
/// needs was lost, and a script retrying on exit 1 applied a patch twice. A write whose
/// report standard output does not take now says so on stderr, with the report, exit 0.
#[test]
fn a_write_whose_report_standard_output_refuses_says_it_landed_and_its_report_on_stderr() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("full.redb");
    let records = sandbox.path("bob.jsonl");
    fs::write(&records, r#"{"id":"u2","username":"bob","customData":{"a":1,"log":[]}}"#).expect("write");
    let patch = sandbox.path("append.json");
    fs::write(&patch, r#"[{"op":"add","path":"/log/-","value":"charged"}]"#).expect("write");
    let into_full_disk = |args: &[&str], input: Option<&str>| {
        let mut command = sandbox.command();
        command.arg("--db").arg(&db).args(args).stdout(fs::File::create("/dev/full").expect("/dev/full"));
        if input.is_some() {
            command.stdin(Stdio::piped());
        }
        command.stderr(Stdio::piped());
        let mut child = command.spawn().expect("run custodian");
        if let Some(input) = input {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("wait");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let landed = "custodian: the write landed, but standard output failed (No space left on device (os error 28)): what it said is here instead\n";

    let (code, stderr) = into_full_disk(&["import", records.to_str().expect("utf-8")], None);
    assert_eq!(
        (code, stderr.as_str()),
        (Some(0), &*format!("{landed}imported: 1 new, 0 updated, 0 unchanged\n"))
    );

    let (code, stderr) =
        into_full_disk(&["patch", patch.to_str().expect("utf-8"), "--search", "bob", "--yes"], None);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.starts_with(landed), "{stderr}");
    let batch = stderr
        .lines()
        .find_map(|line| line.strip_prefix("take it back with: custodian --db ")?.split_once(" undo "))
        .map(|(_, batch)| batch)
        .unwrap_or_else(|| panic!("the batch id said: {stderr}"));
    assert_eq!(
        sandbox.on(&db, &["get", "bob"]).ok().stdout,
        "{\n  \"a\": 1,\n  \"log\": [\n    \"charged\"\n  ]\n}\n"
    );

    let (code, stderr) = into_full_disk(&["set", "bob", "-"], Some(r#"{"a":2}"#));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("{landed}saved: user u2 revision 3")), "{stderr}");
    // An undo that leaves a user saved since alone ends in a conflict (exit 5) after saying
    // who: that is said too, before the error that points at it.
    let (code, stderr) = into_full_disk(&["undo", batch], None);
    assert_eq!(code, Some(5), "{stderr}");
    assert!(
        stderr.starts_with("custodian: standard output failed (No space left on device (os error 28)): what it said is here instead\nnothing restored"),
        "{stderr}"
    );
    assert!(stderr.contains("  u2 now at revision 3\n"), "{stderr}");
    // The note on it, then the error, both said after the standard output failed.
    let said = format!(
        "which no undo takes back\ncustodian: 1 user of batch {batch} left alone: saved again since (listed above); nothing was restored\n"
    );
    assert!(stderr.ends_with(&said), "{stderr}");

    // A read into a full disk still fails: nothing was written, and nothing says otherwise.
    let (code, stderr) = into_full_disk(&["get", "bob"], None);
    assert_eq!(
        (code, stderr.as_str()),
        (Some(1), "custodian: cannot write to standard output: No space left on device (os error 28)\n")
    );
}

/// bb19 L03: `keygen` and `init` into a full disk panicked ("nothing unsaved was written",
/// exit 101) with the key file or the database made; `compact` exited 1 after compacting.
#[test]
fn keygen_init_and_compact_into_a_full_disk_say_what_they_made_on_stderr() {
    let sandbox = Sandbox::new();
    let into_full_disk = |args: &[&std::ffi::OsStr]| {
        let mut command = sandbox.command();
        command.args(args).stdout(fs::File::create("/dev/full").expect("/dev/full"));
        let output = command.output().expect("run custodian");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let landed = "custodian: the write landed, but standard output failed (No space left on device (os error 28)): what it said is here instead\n";
    let key = sandbox.path("k.jwk");
    let (code, stderr) = into_full_disk(&["keygen".as_ref(), "--out".as_ref(), key.as_os_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.starts_with(landed) && stderr.contains("wrote key "), "{stderr}");
    assert!(key.exists());
    let db = sandbox.path("new.redb");
    let (code, stderr) = into_full_disk(&["--db".as_ref(), db.as_os_str(), "init".as_ref()]);
    assert_eq!((code, stderr), (Some(0), format!("{landed}created {}\n", db.display())));
    let (code, stderr) = into_full_disk(&["--db".as_ref(), db.as_os_str(), "compact".as_ref()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.starts_with(landed) && stderr.contains("compacted "), "{stderr}");
}

/// bb18 L07: `--help` and `--version` into a full disk exited 0 with nothing written (clap
/// ignores the error): a packaging script's `custodian --help > doc.txt` made an empty file.
#[test]
fn help_and_version_into_a_full_disk_fail_in_one_line_and_into_a_closed_pipe_end_quietly() {
    let sandbox = Sandbox::new();
    for args in [&["--help"][..], &["help"], &["list", "--help"], &["--version"], &["-V"]] {
        let mut command = sandbox.command();
        command.args(args).stdout(fs::File::create("/dev/full").expect("/dev/full"));
        let output = command.output().expect("run custodian");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "custodian: cannot write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
        let mut command = sandbox.command();
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("run custodian");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(sandbox.command().arg("--version").output().expect("run").stdout.starts_with(b"custodian "));
}

#[test]
fn compact_of_a_damaged_file_stops_naming_the_file_and_what_to_check() {
    use std::io::{Seek, SeekFrom, Write};
    let sandbox = Sandbox::new();
    let db = sandbox.init("damaged.redb");
    sandbox.on(&db, &["seed", "--users", "20000"]).ok();
    // Four pages of noise in the middle of the file, as bb8 made them.
    let size = fs::metadata(&db).expect("stat").len();
    let mut file = fs::OpenOptions::new().write(true).open(&db).expect("open");
    for share in [3, 4, 6, 8] {
        file.seek(SeekFrom::Start(size * share / 10 / 4096 * 4096)).expect("seek");
        file.write_all(&[0x8e; 4096]).expect("write");
    }
    drop(file);
    // Met as a refused read (the damaged-file line) or partway through, which says what to
    // check: either way one line naming the file, never redb's words alone or a crash.
    let error = sandbox.on(&db, &["compact"]).fails(1);
    let read = format!(
        "custodian: {}: the database file is damaged (redb could not read a page of it); restore it from a backup",
        db.display()
    );
    let partway = format!(
        "custodian: database error: {}: compact stopped: the database file is damaged: ",
        db.display()
    );
    assert!(
        error == read
            || error.starts_with(&partway)
                && error.ends_with("the file may have changed: `custodian export` tells whether it still reads every user (restore it from a backup if not)"),
        "{error}"
    );
}

/// bb82 F1: a page of a file's last commit failing its checksum (bytes 8–15 of page 10 of a
/// 20-user file inverted) sent redb's compaction round for ever, every signal but a second one
/// waited out, and the kill that ended it left a file no repair could open. The pages are
/// verified first and the file is refused before one moves, written not at all: redb's own
/// check marked it for a repair that failed on the same damage, and a file every read read
/// became one no command opened (bb84 F1). A file that verifies and still sends the
/// compaction round (this one once a repair went back past its damaged commit) is stopped
/// past a bound, and repaired by the next open.
#[test]
fn compact_refuses_a_file_that_fails_its_check_and_stops_one_that_goes_round_for_ever() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("hang.redb");
    sandbox.on(&db, &["seed", "--users", "20"]).ok();
    let users = sandbox.export(&db);
    let mut bytes = fs::read(&db).expect("read");
    for byte in &mut bytes[10 * 4096 + 8..10 * 4096 + 16] {
        *byte ^= 0xff;
    }
    fs::write(&db, &bytes).expect("damage");
    let compact = || {
        let mut command = sandbox.command();
        command.arg("--db").arg(&db).arg("compact");
        Run::within(command, std::time::Duration::from_secs(60))
    };
    let started = std::time::Instant::now();
    let refused = compact().fails(1);
    assert_eq!(
        refused,
        format!(
            "custodian: {0}: the database file is damaged: it fails redb's check of every page (redb: Primary is corrupted despite 2-phase commit); compact refused, nothing written (compacted, the damage would be in a file no open repairs). Reads that do not meet the damaged page still work: `custodian --db {0} export --out FILE` tells whether every user reads, and `import` of that file into a new database makes a sound one; else restore it from a backup",
            db.display()
        )
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the check took {:?}", started.elapsed());
    assert!(fs::read(&db).expect("read") == bytes, "the refused compaction wrote to the file");
    assert_eq!(sandbox.export(&db), users, "the refused file no longer reads every user");
    // It still opens (no repair left pending), and `info`, which checks every page, says the
    // damage as compact does (bb97 F2), writing nothing.
    sandbox.on(&db, &["list", "--limit", "1"]).ok();
    assert!(sandbox.on(&db, &["info"]).fails(1).contains("the database file is damaged"));
    assert!(fs::read(&db).expect("read") == bytes, "info wrote to the file");
    assert_eq!(compact().fails(1), refused, "refused the same way again");

    // Marked as a killed writer leaves it, the next open's repair goes back past the damaged
    // commit; what is left passes the check and still sends redb's compaction round.
    bytes[9] |= 2;
    fs::write(&db, &bytes).expect("mark for a repair");
    sandbox.on(&db, &["info"]).ok();
    assert_eq!(sandbox.export(&db), users, "the repair lost a user");
    let stopped = compact().fails(1);
    assert_eq!(
        stopped,
        format!(
            "custodian: {0}: compact did not end within 10 s, many times what a file of this size takes: redb's compaction goes round for ever on some damaged files; stopped, the file left as a kill leaves it: the next open without --read-only repairs it (`custodian --db {0} info`), and `custodian export` then tells whether it reads every user",
            db.display()
        )
    );
    sandbox.on(&db, &["info"]).ok();
    assert_eq!(sandbox.export(&db), users, "the repair after the stopped compaction lost a user");
}

/// bb35 #1: `isSuspended: null` in an upsert (a raw row's NULL too) un-suspended a suspended
/// user, said only as "1 updated". A user always has the flag, so null counts as left out.
#[test]
fn an_upsert_with_a_null_is_suspended_keeps_the_suspension() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("suspended.redb");
    sandbox.on(&db, &["init"]).ok();
    sandbox
        .on_with_stdin(&db, &["import", "-"], br#"{"id":"u1","username":"mallory","isSuspended":true}"#)
        .ok();
    for record in
        [&br#"{"id":"u1","isSuspended":null}"#[..], br#"{"id":"u1","is_suspended":null,"custom_data":{}}"#]
    {
        sandbox.on_with_stdin(&db, &["import", "--upsert", "-"], record).ok();
        let exported = sandbox.export(&db);
        assert!(exported.contains("\"isSuspended\":true"), "{exported}");
    }
}

/// bb35 #2: an `updatedAt` of i64::MAX left a save no room to move it past the stored one,
/// and an export taken before later saves then came back over them, unrefused. Times after
/// the year 9999 are refused; 9999-12-31 23:59:59.999 itself (PostgreSQL's `infinity`) is not.
#[test]
fn an_import_of_a_time_after_the_year_9999_is_refused() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("far.redb");
    sandbox.on(&db, &["init"]).ok();
    let error = sandbox
        .on_with_stdin(&db, &["import", "-"], br#"{"id":"a","updatedAt":9223372036854775807}"#)
        .fails(4);
    assert!(error.contains("`updatedAt` 9223372036854775807 is after the year 9999"), "{error}");
    assert!(sandbox.export(&db).is_empty(), "nothing imported");
    let taken = br#"{"id":"a","updatedAt":253402300799999,"customData":{"v":0}}"#;
    sandbox.on_with_stdin(&db, &["import", "-"], taken).ok();
    sandbox.on_with_stdin(&db, &["set", "a", "-"], br#"{"v": 1}"#).ok();
    // The save leaves updatedAt at the last time an import takes: it went 1 ms past, and every
    // later export was a file import refused whole (bb42 F7).
    let exported = sandbox.export(&db);
    assert!(exported.contains(r#""updatedAt":253402300799999"#), "{exported}");
    let again = sandbox.path("again.redb");
    sandbox.on(&again, &["init"]).ok();
    sandbox.on_with_stdin(&again, &["import", "-"], exported.as_bytes()).ok();
    assert_eq!(sandbox.export(&again), exported, "the export imports, byte for byte");
    // The record taken before that save would take it back: refused, though its time is the
    // stored one (the save could not move it).
    let error = sandbox.on_with_stdin(&db, &["import", "--upsert", "-"], taken).fails(5);
    assert!(error.contains("user a has the last updatedAt custodian keeps"), "{error}");
    assert!(sandbox.export(&db).contains(r#""v":1"#), "the save kept");
    // Its own export upserted back changes nothing, and is taken.
    sandbox.on_with_stdin(&db, &["import", "--upsert", "-"], exported.as_bytes()).ok();
}
