//! The deployment's JSON Schema through the real binary: `schema set|get|history|clear|check`,
//! every customData write held to it (`set`, `restore`, `import`), and `--schema FILE` for one
//! run. Every run gets its own HOME and XDG directories.

mod support;

use std::path::{Path, PathBuf};

use support::home::PrivateHome;
use support::run::Run;

const PEOPLE: &str = r#"{"id":"u1","username":"alice","customData":{"billing":{"plan":"pro"}}}
{"id":"u2","username":"bob","customData":{"billing":{"plan":"enterprize"},"apps":[{},{},{"token":42}]}}
{"id":"u3","username":"carol","customData":{}}
"#;

const PLANS: &str = r#"{
  "type": "object",
  "properties": {
    "billing": {"type": "object", "properties": {"plan": {"enum": ["free", "pro", "team"]}}},
    "apps": {"type": "array", "items": {"type": "object", "properties": {"token": {"type": "string"}}}}
  }
}"#;

struct Sandbox {
    home: PrivateHome,
    db: PathBuf,
}

impl Sandbox {
    /// A database with alice (satisfies [`PLANS`]), bob (breaks it twice) and carol.
    fn new() -> Self {
        let home = PrivateHome::new(&[]);
        let db = home.path("people.redb");
        let sandbox = Self { home, db };
        sandbox.on(&["init"]).ok();
        let people = sandbox.file("people.jsonl", PEOPLE);
        sandbox.on(&["import", &people]).ok();
        sandbox
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.home.run_on(&self.db, args, Some(stdin.unwrap_or("").as_bytes()))
    }

    fn on(&self, args: &[&str]) -> Run {
        self.run(args, None)
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    fn revisions(&self, user: &str) -> usize {
        self.on(&["history", user]).ok().stdout.lines().skip(1).count()
    }
}

fn one_line(run: &Run, code: i32) -> String {
    assert_eq!(run.code, code, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    run.stderr.trim_end().to_owned()
}

#[test]
fn set_refuses_customdata_that_breaks_the_schema_naming_every_error_with_its_position() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("plans.json", PLANS);
    sandbox.on(&["schema", "set", &schema]).ok();
    let doc = "{\n  \"billing\": {\"plan\": \"enterprize\"},\n  \"apps\": [{}, {}, {\"token\": 42}]\n}\n";
    let run = sandbox.run(&["set", "alice", "-"], Some(doc));
    let error = one_line(&run, 4);
    assert_eq!(
        error,
        r#"custodian: customData does not satisfy the schema (2 errors): line 2, col 23: billing.plan: "enterprize" is not one of "free", "pro", "team"; line 3, col 30: apps[2].token: 42 is not of type "string""#
    );
    assert_eq!(sandbox.revisions("alice"), 1, "nothing written");
    sandbox.run(&["set", "alice", "-"], Some(r#"{"billing": {"plan": "team"}}"#)).ok();
    assert_eq!(sandbox.revisions("alice"), 2);
}

/// A value at a 5,000-character key: the schema's errors and the lint's refusal cut its path,
/// saying how long it was (each was a 10 KB line: bb28 R07).
#[test]
fn errors_at_a_very_long_key_cut_its_path() {
    let sandbox = Sandbox::new();
    let key = "K".repeat(5000);
    let schema = sandbox.file(
        "strings.json",
        r#"{"type":"object","additionalProperties":{"type":"object","additionalProperties":{"type":"string"}}}"#,
    );
    let doc = format!(r#"{{"{key}": {{"p": 1, "q": 2}}}}"#);
    let run = sandbox.run(&["--schema", &schema, "set", "alice", "-"], Some(&doc));
    let error = one_line(&run, 4);
    assert!(error.len() < 1000, "{} bytes", error.len());
    assert!(error.contains("… (a path of 5002 characters): 1 is not of type"), "{error}");
    let secret = format!(r#"{{"{key}": {{"password": "hunter2hunter2"}}}}"#);
    let run = sandbox.run(&["set", "alice", "-"], Some(&secret));
    let error = one_line(&run, 4);
    assert!(error.len() < 1000, "{} bytes", error.len());
    assert!(error.contains("… (a path of 5009 characters) (key looks like a password)"), "{error}");
    assert_eq!(sandbox.revisions("alice"), 1, "nothing written");
}

/// bb18 L11: a pattern the regex engine gives up on refused the value in the engine's words
/// ("Error executing regex: Max limit for backtracking count exceeded"), which said neither
/// that the value was refused nor that the schema's pattern is the cause.
#[test]
fn a_pattern_that_backtracks_too_much_is_named_as_the_schemas_in_custodians_words() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file(
        "rx.json",
        r#"{"type":"object","properties":{"s":{"type":"string","pattern":"^(a|a?)+(?!x)$"}}}"#,
    );
    sandbox.on(&["schema", "set", &schema]).ok();
    let doc = format!("{{\"s\":\"{}!\"}}", "a".repeat(5000));
    let error = one_line(&sandbox.run(&["set", "alice", "-"], Some(&doc)), 4);
    assert_eq!(
        error,
        "custodian: customData does not satisfy the schema (1 error): line 1, col 6: s: the schema's pattern at /properties/s/pattern could not be checked against this value: it backtracks too much (simplify that pattern in the schema)"
    );
    assert_eq!(sandbox.revisions("alice"), 1, "nothing written");
}

/// bb77 F3: the engine's own limit (a million steps a value) let each value just below it take
/// ~25 ms, and 2,000 such values 50 s. The limit is lower: 14 `a`s and a `!`, which the
/// million let through to a plain "does not match", now backtrack too much (at once).
#[test]
fn many_values_just_under_the_patterns_limit_are_checked_within_seconds() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file(
        "rx.json",
        r#"{"type":"object","additionalProperties":{"type":"string","pattern":"^(a|a?)+(?!x)$"}}"#,
    );
    let doc = format!("{{\"s\":\"{}!\"}}", "a".repeat(14));
    let error = one_line(&sandbox.run(&["--schema", &schema, "set", "alice", "-"], Some(&doc)), 4);
    assert!(error.ends_with("it backtracks too much (simplify that pattern in the schema)"), "{error}");
    // Under the limit, a value is checked as ever.
    let doc = format!("{{\"s\":\"{}!\"}}", "a".repeat(8));
    let error = one_line(&sandbox.run(&["--schema", &schema, "set", "alice", "-"], Some(&doc)), 4);
    assert!(error.ends_with(r#"s: "aaaaaaaa!" does not match "^(a|a?)+(?!x)$""#), "{error}");
}

/// A schema given with its own line breaks came back with one more (bb14 L18).
#[test]
fn schema_get_prints_the_schema_as_it_was_given() {
    let sandbox = Sandbox::new();
    sandbox.run(&["schema", "set", "-"], Some("{\"type\": \"object\"}\r\n\r\n")).ok();
    assert_eq!(sandbox.on(&["schema", "get"]).ok().stdout, "{\"type\": \"object\"}\r\n\r\n");
}

#[test]
fn schema_set_get_history_and_clear_keep_every_revision() {
    let sandbox = Sandbox::new();
    assert_eq!(sandbox.on(&["schema", "get"]).code, 3, "no schema yet");
    let schema = sandbox.file("plans.json", PLANS);
    let set = sandbox.on(&["schema", "set", &schema]).ok();
    // Said as what to run, not as if some users were rejected (bb17 L08: it read so for `true`).
    assert_eq!(
        set.stdout,
        "schema saved: revision 1 (`custodian schema check` lists the users it rejects, if any)\n",
        "{set:?}"
    );
    sandbox.run(&["schema", "set", "-"], Some(r#"{"type": "object"}"#)).ok();
    assert_eq!(sandbox.on(&["schema", "get"]).ok().stdout, "{\"type\": \"object\"}\n");
    assert_eq!(sandbox.on(&["schema", "get", "--revision", "1"]).ok().stdout, format!("{PLANS}\n"));
    // A revision that never was is not found, as a user's is (exit 3), not a failure.
    let missing = sandbox.on(&["schema", "get", "--revision", "99"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    assert!(missing.stderr.contains("the schema has no revision 99"), "{missing:?}");
    sandbox.on(&["schema", "clear"]).ok();
    assert_eq!(sandbox.on(&["schema", "get"]).code, 3, "cleared");
    let history = sandbox.on(&["schema", "history"]).ok().stdout;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(lines[3].starts_with("3 (current)") && lines[3].ends_with("cleared"), "{history}");
    // Without a schema, anything goes again.
    sandbox.run(&["set", "alice", "-"], Some(r#"{"billing": {"plan": 1}}"#)).ok();
}

#[test]
fn a_text_that_is_not_a_schema_is_refused_with_the_reason_and_not_stored() {
    let sandbox = Sandbox::new();
    let bad = sandbox.file("bad.json", r#"{"type": "strnig"}"#);
    let error = one_line(&sandbox.on(&["schema", "set", &bad]), 4);
    assert!(error.contains("not a valid JSON Schema") && error.contains("strnig"), "{error}");
    let not_json = sandbox.file("not.json", "{");
    let error = one_line(&sandbox.on(&["schema", "set", &not_json]), 4);
    assert!(error.contains("the schema is not JSON"), "{error}");
    // A key given twice (the last won, silently) and a byte-order mark: named (bb14 L06, L15).
    let twice = sandbox.file("twice.json", r#"{"type": "object", "type": "array"}"#);
    let error = one_line(&sandbox.on(&["schema", "set", &twice]), 4);
    assert!(error.ends_with("the schema is not JSON: line 1, col 20: duplicate key \"type\" in (top level); JSON keeps only one of them"), "{error}");
    let bom = sandbox.file("bom.json", "\u{feff}{\"type\": \"object\"}");
    let error = one_line(&sandbox.on(&["--schema", &bom, "schema", "check"]), 4);
    assert!(error.contains("the text starts with a byte-order mark (U+FEFF); remove it"), "{error}");
    assert!(sandbox.on(&["schema", "history"]).ok().stdout.lines().count() <= 1);
}

/// bb16 L07: `echo false | schema set -` said "schema saved", and every save of every user was
/// refused from then on. customData is always an object: a schema that takes none is refused,
/// set or given for a run, and nothing is stored.
#[test]
fn a_schema_no_object_can_satisfy_is_refused_and_not_stored() {
    let sandbox = Sandbox::new();
    for (schema, why) in [
        ("false", "it is `false`"),
        (r#"{"type":"array"}"#, r#""type": "array""#),
        (r#"{"enum":["free","pro"]}"#, r#""enum" has no object among its 2 values"#),
        (r#"{"const":null}"#, r#""const" is null"#),
        (r#"{"not":{}}"#, r#""not": {}"#),
    ] {
        let error = one_line(&sandbox.run(&["schema", "set", "-"], Some(schema)), 4);
        assert_eq!(
            error,
            format!(
                "custodian: -: the schema's top level refuses every object ({why}); \
                 customData is always an object, so no save could satisfy it"
            ),
            "{schema}"
        );
        let file = sandbox.file("refuses.json", schema);
        let error = one_line(&sandbox.on(&["--schema", &file, "schema", "check"]), 4);
        assert!(error.contains("the schema's top level refuses every object"), "{error}");
    }
    assert_eq!(sandbox.on(&["schema", "get"]).code, 3, "nothing stored");
    assert!(sandbox.on(&["schema", "history"]).ok().stdout.lines().count() <= 1, "no revision");
    sandbox.run(&["set", "alice", "-"], Some(r#"{"billing": {"plan": "team"}}"#)).ok();
    assert_eq!(sandbox.revisions("alice"), 2, "saves go on");
}

/// 40 definitions, each naming the next twice: 3 KB, and 2^40 checks of every value.
fn fanning_out_schema() -> String {
    let mut defs: Vec<String> = (0..40)
        .map(|i| {
            format!(
                r##""a{i}": {{"allOf": [{{"$ref": "#/$defs/a{0}"}}, {{"$ref": "#/$defs/a{0}"}}]}}"##,
                i + 1
            )
        })
        .collect();
    defs.push(r#""a40": {"type": "object"}"#.to_owned());
    format!(r##"{{"$defs": {{{}}}, "$ref": "#/$defs/a0"}}"##, defs.join(", "))
}

#[test]
fn a_schema_whose_references_fan_out_is_refused_at_once_and_holds_no_write() {
    let sandbox = Sandbox::new();
    let bomb = sandbox.file("bomb.json", &fanning_out_schema());
    let started = std::time::Instant::now();
    let error = one_line(&sandbox.on(&["schema", "set", &bomb]), 4);
    assert!(error.contains("more than 1,000,000 subschemas to check one value against"), "{error}");
    assert!(sandbox.on(&["schema", "history"]).ok().stdout.lines().count() <= 1, "not stored");
    // Given for one run, the same; the writes that follow are not held to anything.
    let error = one_line(&sandbox.on(&["--schema", &bomb, "schema", "check"]), 4);
    assert!(error.contains("subschemas to check one value against"), "{error}");
    sandbox.run(&["set", "alice", "-"], Some(r#"{"q": 1}"#)).ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

/// bb77 F2: a tree of two kinds of node, each with `children` referring back to the node,
/// passed the fan-out guard; a 316-byte document nested 20 deep then took 10 s to check, and
/// the editor froze on it. Refused when set or given, with the way to write it instead.
#[test]
fn a_schema_reaching_its_recursion_twice_for_the_same_value_is_refused_and_the_usual_tree_is_not() {
    let sandbox = Sandbox::new();
    let tree = sandbox.file("tree.json", &two_kinds_of_node_each_with_children());
    let error = one_line(&sandbox.on(&["schema", "set", &tree]), 4);
    assert!(
        error.contains(
            "the schema's `#/$defs/node` is reached again for the same value 2 ways at each level of nesting"
        ),
        "{error}"
    );
    assert!(sandbox.on(&["schema", "history"]).ok().stdout.lines().count() <= 1, "not stored");
    let deep = format!("{{\"bookmarks\": {}{{}}{}}}", "{\"children\": [".repeat(20), "]}".repeat(20));
    let started = std::time::Instant::now();
    let error = one_line(&sandbox.run(&["--schema", &tree, "set", "alice", "-"], Some(&deep)), 4);
    assert!(error.contains("is reached again for the same value"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    // The kinds told apart beside one `children`: taken, and the same document checked at once.
    let usual = sandbox.file(
        "usual.json",
        r##"{"$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "oneOf": [{"properties": {"kind": {"const": "folder"}}}, {"properties": {"kind": {"const": "smart"}}, "required": ["kind"]}]}},
          "type": "object", "properties": {"bookmarks": {"$ref": "#/$defs/node"}}}"##,
    );
    sandbox.on(&["schema", "set", &usual]).ok();
    let started = std::time::Instant::now();
    sandbox.run(&["set", "alice", "-"], Some(&deep)).ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

/// A bookmarks tree whose node is `oneOf` two kinds, each with `children` referring back:
/// reached again for the same value two ways at each level (bb77 F2).
fn two_kinds_of_node_each_with_children() -> String {
    let node = |kind: &str| {
        format!(
            r##"{{"type": "object", "properties": {{"kind": {{"const": "{kind}"}}, "children": {{"type": "array", "items": {{"$ref": "#/$defs/node"}}}}}}}}"##
        )
    };
    format!(
        r##"{{"$defs": {{"node": {{"oneOf": [{}, {}]}}}}, "type": "object", "properties": {{"bookmarks": {{"$ref": "#/$defs/node"}}}}}}"##,
        node("folder"),
        node("smart")
    )
}

/// bb79 F1's second half: a schema stored before the recursion check is read as it was (a
/// deployment's schema is not dropped), and it was named nowhere, though a check against it
/// may take tens of seconds. Each command that holds documents to it warns, naming it.
#[test]
fn a_stored_schema_the_recursion_check_would_refuse_is_read_as_it_was_with_a_warning() {
    use custodian::store::{Author, OpenOptions, RedbStore, UserStore};
    let sandbox = Sandbox::new();
    let tree = two_kinds_of_node_each_with_children();
    // Stored as an older custodian stored it, past the check `schema set` makes now.
    let store = RedbStore::open(&sandbox.db, OpenOptions::default()).expect("open");
    store.set_schema(Some(&tree), &Author("an older custodian".into())).expect("stored");
    drop(store);
    let warning = "custodian: warning: the stored schema (revision 1) would be refused if it were set now, and checking a nested document against it may take long: the schema's `#/$defs/node` is reached again for the same value 2 ways at each level of nesting";
    let set = sandbox
        .run(&["set", "alice", "-"], Some(r#"{"bookmarks": {"kind": "folder", "children": []}}"#))
        .ok();
    assert!(set.stderr.contains(warning), "{}", set.stderr);
    let check = sandbox.on(&["schema", "check"]);
    assert!(check.stderr.contains(warning), "{}", check.stderr);
    // A schema without such a recursion: no warning.
    sandbox.on(&["schema", "set", &sandbox.file("plain.json", r#"{"type": "object"}"#)]).ok();
    let set = sandbox.run(&["set", "alice", "-"], Some(r#"{"n": 1}"#)).ok();
    assert!(!set.stderr.contains("warning"), "{}", set.stderr);
}

#[test]
fn schema_check_into_a_pipe_its_reader_left_stops_there_and_says_so() {
    let sandbox = Sandbox::new();
    sandbox.on(&["seed", "--users", "30000"]).ok();
    let schema = sandbox.file("needs.json", r#"{"required": ["nope"]}"#);
    let mut command = sandbox.home.custodian();
    command.arg("--db").arg(&sandbox.db).args(["--schema", &schema, "schema", "check"]);
    let run = Run::with_a_reader_that_leaves(command);
    let stderr = &run.stderr;
    // Users break it, so 4; and only those read before the pipe closed were checked.
    assert_eq!(run.code, 4, "{stderr}");
    let (counts, reason) = stderr.split_once(" users checked do not satisfy the schema").expect("said");
    assert!(reason.contains("the check stopped there: standard output was closed"), "{stderr}");
    let checked: u64 = counts.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count");
    assert!(checked < 30_000, "{stderr}");
}

#[test]
fn schema_check_prints_one_line_per_offending_user_and_exits_4() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("plans.json", PLANS);
    // --schema FILE: nothing stored, the file for this run.
    let run = sandbox.on(&["--schema", &schema, "schema", "check"]);
    assert_eq!(run.code, 4, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{run:?}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields[0], "u2");
    assert_eq!(fields[1], "bob");
    assert!(fields[2].contains(r#"billing.plan: "enterprize" is not one of"#), "{fields:?}");
    assert_eq!(fields[3], "2 errors");
    assert!(run.stderr.contains("1 of 3 users do not satisfy the schema"), "{run:?}");
    let json = sandbox.on(&["--schema", &schema, "schema", "check", "--json"]);
    assert_eq!(json.code, 4);
    let line: serde_json::Value = serde_json::from_str(json.stdout.trim()).expect("JSON line");
    assert_eq!(line["id"], "u2");
    assert_eq!(line["errors"], 2);
    assert_eq!(line["first"]["path"], "billing.plan");
    // After bob is fixed, everyone passes.
    sandbox.on(&["schema", "set", &schema]).ok();
    sandbox.run(&["set", "bob", "-"], Some(r#"{"billing": {"plan": "free"}}"#)).ok();
    let ok = sandbox.on(&["schema", "check"]).ok();
    assert!(ok.stdout.is_empty(), "{ok:?}");
}

/// `schema check` quotes a value with its numbers as the document writes them, as `set`'s
/// refusal does: `1E5`, not serde_json's `1e+5`, text the document does not hold (bb64 F4).
#[test]
fn schema_check_quotes_numbers_as_written() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("few.json", r#"{"type":"object","properties":{"n":{"maxItems":2}}}"#);
    let document = r#"{"n":[1E5,-0.0e0,1.50]}"#;
    let refused = one_line(&sandbox.run(&["--schema", &schema, "set", "bob", "-"], Some(document)), 4);
    assert!(refused.contains("[1E5,-0.0e0,1.50] has more than 2 items"), "{refused}");
    sandbox.run(&["set", "bob", "-"], Some(document)).ok();
    let table = sandbox.on(&["--schema", &schema, "schema", "check"]);
    assert_eq!(table.code, 4, "{table:?}");
    assert!(table.stdout.contains("n: [1E5,-0.0e0,1.50] has more than 2 items"), "{table:?}");
    let json = sandbox.on(&["--schema", &schema, "schema", "check", "--json"]);
    let line: serde_json::Value = serde_json::from_str(json.stdout.trim()).expect("JSON line");
    assert_eq!(line["first"]["message"], "[1E5,-0.0e0,1.50] has more than 2 items", "{json:?}");
}

#[test]
fn import_and_restore_are_held_to_the_schema_all_or_nothing() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("plans.json", PLANS);
    sandbox.on(&["schema", "set", &schema]).ok();
    let records = sandbox.file(
        "more.jsonl",
        "{\"id\":\"u4\",\"username\":\"dan\",\"customData\":{}}\n{\"id\":\"u5\",\"username\":\"eve\",\"customData\":{\"billing\":{\"plan\":\"gold\"}}}\n",
    );
    let error = one_line(&sandbox.on(&["import", &records]), 4);
    assert!(error.contains("line 2") && error.contains(r#"billing.plan: "gold" is not one of"#), "{error}");
    assert_eq!(sandbox.on(&["get", "dan"]).code, 3, "all or nothing: dan was not imported");
    // The errors are told apart by "; " and quoted as the record holds them: every ", " was
    // made "; ", inside the quoted value too (`"x; y"` for `"x, y"`).
    let records = sandbox.file(
        "commas.jsonl",
        "{\"id\":\"u6\",\"customData\":{\"billing\":{\"plan\":\"x, y\"},\"apps\":[{\"token\":1}]}}\n",
    );
    let error = one_line(&sandbox.on(&["import", &records]), 4);
    assert!(
        error.ends_with(
            r#"customData does not satisfy the schema: billing.plan: "x, y" is not one of "free", "pro", "team"; apps[0].token: 1 is not of type "string""#
        ),
        "{error}"
    );
    // Restoring a revision that breaks today's schema is refused too.
    sandbox.on(&["schema", "clear"]).ok();
    sandbox.run(&["set", "carol", "-"], Some(r#"{"billing": {"plan": "gold"}}"#)).ok();
    sandbox.run(&["set", "carol", "-"], Some(r#"{}"#)).ok();
    sandbox.on(&["schema", "set", &schema]).ok();
    let error = one_line(&sandbox.on(&["restore", "carol", "2"]), 4);
    assert!(error.contains("billing.plan"), "{error}");
    assert_eq!(sandbox.revisions("carol"), 3);
}

#[test]
fn a_read_only_database_refuses_schema_set_and_clear() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("plans.json", PLANS);
    let error = one_line(&sandbox.on(&["--read-only", "schema", "set", &schema]), 1);
    assert!(error.contains("read-only"), "{error}");
    let _ = Path::new(&schema);
}

#[test]
fn the_demo_database_has_a_schema_its_200_users_satisfy() {
    let home = PrivateHome::new(&[]);
    let mut command = home.custodian();
    command.args(["schema", "check"]);
    let run = Run::of(command, Some(b""));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("all 200 users satisfy the schema"), "{run:?}");
    let mut command = home.custodian();
    command.args(["schema", "get"]);
    let schema = Run::of(command, Some(b"")).ok().stdout;
    assert!(schema.contains("\"billing\""), "{schema}");
}

#[test]
fn an_import_record_leaving_custom_data_out_is_held_to_the_schema_as_the_empty_object_a_new_user_gets() {
    let sandbox = Sandbox::new();
    let schema = sandbox.file("needs-plan.json", r#"{"type": "object", "required": ["plan"]}"#);
    sandbox.on(&["schema", "set", &schema]).ok();
    // A new user without customData (or with null) would get `{}`, which the schema refuses.
    for (name, record) in [("left-out", r#"{"id":"n1"}"#), ("null", r#"{"id":"n1","customData":null}"#)] {
        let file = sandbox.file(
            &format!("{name}.jsonl"),
            &format!("{{\"id\":\"n0\",\"customData\":{{\"plan\":\"free\"}}}}\n{record}\n"),
        );
        let error = one_line(&sandbox.on(&["import", &file]), 4);
        assert!(
            error.ends_with(r#"line 2: customData is left out, and the {} a new user gets then does not satisfy the schema: the document: "plan" is a required property"#),
            "{error}"
        );
        assert_eq!(sandbox.on(&["get", "id:n0"]).code, 3, "all or nothing");
        let error = one_line(&sandbox.on(&["import", "--upsert", &file]), 4);
        assert!(error.contains("line 2: customData is left out"), "{error}");
    }
    // An upsert of an existing user that leaves customData out keeps that user's document.
    let rename = sandbox.file("rename.jsonl", "{\"id\":\"u3\",\"username\":\"carola\"}\n");
    sandbox.on(&["import", "--upsert", &rename]).ok();
    assert_eq!(sandbox.revisions("carola"), 1, "customData untouched");
    // A schema `{}` satisfies holds nothing back.
    sandbox.on(&["schema", "clear"]).ok();
    let open = sandbox.file("open.json", r#"{"type": "object"}"#);
    sandbox.on(&["schema", "set", &open]).ok();
    let bare = sandbox.file("bare.jsonl", "{\"id\":\"n2\"}\n");
    sandbox.on(&["import", &bare]).ok();
}

#[test]
fn a_schema_over_the_document_limit_is_refused_before_it_is_stored_or_compiled() {
    let sandbox = Sandbox::new();
    // 60,000 properties: 1.5 MiB compact, which every write would compile.
    let properties: Vec<String> = (0..60_000).map(|n| format!(r#""p{n:05}":{{"type":"string"}}"#)).collect();
    let huge = sandbox
        .file("huge.json", &format!(r#"{{"type":"object","properties":{{{}}}}}"#, properties.join(",")));
    let error = one_line(&sandbox.on(&["schema", "set", &huge]), 4);
    assert!(
        error.ends_with(
            "huge.json: the schema is 1.5 MiB (compact), over the limit of 1 MiB: every write compiles it"
        ),
        "{error}"
    );
    assert_eq!(sandbox.on(&["schema", "get"]).code, 3, "nothing stored");
    let error = one_line(&sandbox.on(&["--schema", &huge, "schema", "check"]), 4);
    assert!(error.contains("over the limit of 1 MiB"), "{error}");
    // One byte over: in exact bytes, not "1 MiB, over the limit of 1 MiB" (bb95 F1).
    let over = sandbox.file("over.json", &format!(r#"{{"description":"{}"}}"#, "x".repeat(1_048_576 - 17)));
    let error = one_line(&sandbox.on(&["schema", "set", &over]), 4);
    assert!(
        error.ends_with(
            "the schema is 1,048,577 B (compact), over the limit of 1,048,576 B: every write compiles it"
        ),
        "{error}"
    );
}

/// bb15 L08: `seed` wrote users whose customData broke the stored schema (and `--schema
/// FILE`), exit 0, where `import` of the same users is refused whole. Now refused the same way:
/// exit 4, the synthetic user named, nothing written. Without a schema, or with one its
/// documents satisfy, it seeds as before.
#[test]
fn seed_is_held_to_the_schema_and_writes_nothing_when_a_user_breaks_it() {
    let sandbox = Sandbox::new();
    let strict = sandbox.file(
        "strict.json",
        r#"{"type":"object","properties":{"plan":{"enum":["free","pro"]}},"required":["plan"]}"#,
    );
    sandbox.on(&["schema", "set", &strict]).ok();
    let run = sandbox.on(&["seed", "--users", "5"]);
    let error = one_line(&run, 4);
    assert!(error.starts_with("custodian: synthetic user 1 ("), "{error}");
    assert!(
        error.contains("customData does not satisfy the schema") && error.contains("nothing was written"),
        "{error}"
    );
    let listed = |sandbox: &Sandbox| sandbox.on(&["list", "--limit", "0"]).ok().stdout.lines().count() - 1;
    assert_eq!(listed(&sandbox), 3, "nothing written");
    // `--schema FILE` for one run holds it too; a schema every document satisfies lets it seed.
    sandbox.on(&["schema", "clear"]).ok();
    let run = sandbox.on(&["--schema", &strict, "seed", "--users", "2"]);
    one_line(&run, 4);
    assert_eq!(listed(&sandbox), 3);
    let loose = sandbox.file("loose.json", r#"{"type":"object"}"#);
    sandbox.on(&["--schema", &loose, "seed", "--users", "2"]).ok();
    assert_eq!(listed(&sandbox), 5);
}
