//! An import into an empty database is a sorted bulk load, and an array is read an element at
//! a time: the same users, the same refusals, nothing written by a refused import.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

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

    fn init(&self, name: &str) -> PathBuf {
        let db = self.home.path(name);
        self.on(&db, &["init"]).ok();
        db
    }

    fn export(&self, db: &Path) -> String {
        self.on(db, &["export"]).ok().stdout
    }
}

/// `count` users in an order that is neither their id order nor their list order, each with
/// a username, most with an email and a phone and a name, and a customData of its own.
fn shuffled_users(count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let k = (n * 7919) % count;
            let email = if k.is_multiple_of(5) { "null".to_owned() } else { format!("\"P.{k}@Example.com\"") };
            let phone = if k.is_multiple_of(3) { "null".to_owned() } else { format!("\"+1 555 {k:07}\"") };
            format!(
                "{{\"id\":\"i{:05}\",\"createdAt\":1700000000000,\"username\":\"User{:05}\",\"primaryEmail\":{email},\"primaryPhone\":{phone},\"name\":\"Név {}\",\"customData\":{{\"plan\":\"p{}\",\"n\":{k}.50,\"tags\":[\"a\",{{\"b\":null}}]}}}}",
                (k * 31) % count,
                count - k,
                k % 97,
                k % 4
            )
        })
        .collect()
}

#[test]
fn an_import_into_an_empty_database_reads_back_as_the_general_path_writes_it() {
    let sandbox = Sandbox::new();
    let lines = shuffled_users(3000).join("\n") + "\n";
    let file = sandbox.file("users.jsonl", &lines);
    // `--upsert` takes the general path (it may update); a plain import into an empty
    // database takes the bulk load. Both must leave the same users.
    let bulk = sandbox.init("bulk.redb");
    let general = sandbox.init("general.redb");
    assert_eq!(
        sandbox.on(&bulk, &["import", &file]).ok().stdout,
        "imported: 3,000 new, 0 updated, 0 unchanged\n"
    );
    sandbox.on(&general, &["import", "--upsert", &file]).ok();
    let exported = sandbox.export(&bulk);
    assert_eq!(exported.lines().count(), 3000);
    assert_eq!(exported, sandbox.export(&general));
    // Every index was written: lookups by each unique field (by the fold), the prefix and
    // substring search, the history.
    for reference in ["user00007", "p.11@example.com", "+1 555 0000011"] {
        let got = sandbox.on(&bulk, &["get", reference]).ok().stdout;
        assert!(got.contains("\"plan\""), "{reference}: {got}");
        assert_eq!(got, sandbox.on(&general, &["get", reference]).ok().stdout, "{reference}");
    }
    let found = sandbox.on(&bulk, &["list", "--search", "név 42", "--limit", "0"]).ok().stdout;
    assert_eq!(found, sandbox.on(&general, &["list", "--search", "név 42", "--limit", "0"]).ok().stdout);
    assert!(found.lines().count() > 1, "{found}");
    let history = sandbox.on(&bulk, &["history", "user00010"]).ok().stdout;
    assert_eq!(history.lines().count(), 2, "{history}");
    // The round trip through a second empty database is byte-identical.
    let again = sandbox.init("again.redb");
    let exported_file = sandbox.file("exported.jsonl", &exported);
    sandbox.on(&again, &["import", &exported_file]).ok();
    assert_eq!(sandbox.export(&again), exported);
}

#[test]
fn an_import_into_an_empty_database_refuses_an_id_or_name_repeated_anywhere_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let users = shuffled_users(2000);
    let with = |line: usize, record: &str| {
        let mut users = users.clone();
        users[line - 1] = record.to_owned();
        users.join("\n") + "\n"
    };
    let first_id = |line: usize| users[line - 1][7..13].to_owned();
    let line_of = |field: &str| users.iter().position(|u| u.contains(field)).expect("in the file") + 1;
    // The later of the two in the file is named, with its line and what it typed (the one
    // whose id sorted second was, even the first line of the file: bb68 F1).
    let later = |(ours_line, ours): (usize, String), (theirs_line, theirs): (usize, String)| {
        vec![if ours_line > theirs_line { ours } else { theirs }]
    };
    let cases = [
        (
            with(1900, &users[99].replace("User", "Other")),
            5,
            vec![format!(
                "line 1900: user id \"{}\" is also given by an earlier record of this import",
                first_id(100)
            )],
        ),
        (
            with(1500, "{\"id\":\"zz1\",\"username\":\"ＵＳＥＲ00500\"}"),
            5,
            later(
                (1500, "line 1500: username \"ＵＳＥＲ00500\" is also given".to_owned()),
                (
                    line_of("\"User00500\""),
                    format!("line {}: username \"User00500\" is also given", line_of("\"User00500\"")),
                ),
            ),
        ),
        (
            with(30, "{\"id\":\"zz2\",\"primaryEmail\":\"p.1987@EXAMPLE.com \"}"),
            5,
            later(
                (30, "line 30: primaryEmail \"p.1987@EXAMPLE.com \" is also given".to_owned()),
                (
                    line_of("\"P.1987@"),
                    format!(
                        "line {}: primaryEmail \"P.1987@Example.com\" is also given",
                        line_of("\"P.1987@")
                    ),
                ),
            ),
        ),
        (
            with(2000, "{\"id\":\"zz3\",\"customData\":[1]}"),
            4,
            vec!["line 2000: customData: the top level is an array".to_owned()],
        ),
    ];
    for (text, code, messages) in cases {
        let message = messages.join(" / ");
        let db = sandbox.init("users.redb");
        let before = fs::read(&db).expect("read");
        let file = sandbox.file("users.jsonl", &text);
        let error = sandbox.on(&db, &["import", &file]).fails(code);
        let repeated = error.contains("is also given by an earlier record of this import")
            || error.contains("is also given by another record of this import");
        assert!(messages.iter().any(|m| error.contains(m)) && repeated == (code == 5), "{message}: {error}");
        assert_eq!(sandbox.export(&db), "", "{message}");
        assert_eq!(
            sandbox.on(&db, &["info"]).ok().stdout.lines().find(|l| l.starts_with("users")),
            Some("users          0")
        );
        drop(before);
        fs::remove_file(&db).expect("remove");
    }
}

/// A name given again on the last line by a user whose id sorts before the first line's is
/// said on the last line, naming the first line's user: the first line was named for it (bb68 F1).
#[test]
fn a_name_repeated_later_in_the_file_is_named_on_the_later_line_whatever_the_ids_sort() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("users.redb");
    let file = sandbox.file(
        "users.jsonl",
        "{\"id\":\"zzfirst\",\"username\":\"ann\",\"primaryEmail\":\"ann@example.com\"}\n\
         {\"id\":\"mmiddle\",\"username\":\"bob\"}\n\
         {\"id\":\"aalast\",\"username\":\"cat\",\"primaryEmail\":\"ANN@example.com\"}\n",
    );
    let error = sandbox.on(&db, &["import", &file]).fails(5);
    assert!(
        error.contains("line 3: primaryEmail \"ANN@example.com\" is also given by another record of this import (user zzfirst's"),
        "{error}"
    );
    assert_eq!(sandbox.export(&db), "", "nothing written");
}

/// Enough users that every index's entries are spilled in several runs and merged: a name
/// repeated near the end is still found, named and nothing is written.
#[test]
fn a_name_repeated_among_spilled_runs_is_found_by_the_merge_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let mut users = shuffled_users(30_000);
    let line_of = |users: &[String], field: &str| {
        users.iter().position(|u| u.contains(field)).expect("in the file") + 1
    };
    let theirs = line_of(&users, "\"P.17@Example.com\"");
    users[29_990] = "{\"id\":\"zz1\",\"primaryEmail\":\"p.17@example.COM\"}".to_owned();
    let file = sandbox.file("users.jsonl", &(users.join("\n") + "\n"));
    let db = sandbox.init("users.redb");
    let error = sandbox.on(&db, &["import", &file]).fails(5);
    assert!(
        error.contains("line 29991: primaryEmail \"p.17@example.COM\" is also given")
            || error.contains(&format!("line {theirs}: primaryEmail \"P.17@Example.com\" is also given")),
        "{error}"
    );
    assert_eq!(sandbox.export(&db), "");
}

#[test]
fn a_json_array_is_read_an_element_at_a_time_with_its_syntax_checked_between_them() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("users.redb");
    sandbox
        .on(&db, &["import", &sandbox.file("one.jsonl", "{\"id\":\"keep\",\"username\":\"keeper\"}\n")])
        .ok();
    let before = sandbox.export(&db);
    for (text, message) in [
        (
            "[{\"id\":\"a\"},{\"id\":\"b\",\"customData\":{\"x\":",
            "line 1, col 41: the input ends inside a record (truncated?)",
        ),
        (
            "[\n  {\"id\":\"a\"},\n  {\"id\":\"b\"}",
            "line 3, col 13: EOF while parsing a list: the input ends before the array's closing `]` (truncated?)",
        ),
        ("[{\"id\":\"a\"},]", "line 1, col 13: trailing comma"),
        ("[{\"id\":\"a\"} {\"id\":\"b\"}]", "line 1, col 13: expected `,` or `]`"),
        ("[,{\"id\":\"a\"}]", "line 1, col 2: expected value"),
        ("[{\"id\":\"a\"}] x", "line 1, col 14: trailing characters"),
        ("[ ]", "the import is empty: expected a JSON array of users or JSON Lines"),
        ("[{\"id\":\"a\"}, 42]", "record 2 (line 1): a user must be a JSON object, not a number"),
        ("[{\"id\":\"é\"}]", "record 1 (line 1): `id` \"é\" is not 1–12 characters"),
        ("{\"id\":\"a\"}\n{\"id\":\"b\",\"customData\":{\"x\":", "line 2: EOF while parsing"),
    ] {
        let file = sandbox.file("bad.json", text);
        let error = sandbox.on(&db, &["import", &file]).fails(4);
        assert!(error.starts_with(&format!("custodian: {message}")), "{text}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
        assert_eq!(sandbox.export(&db), before, "{text}");
    }
    // Elements spread over lines, strings holding brackets and commas, scalars and nesting.
    let good = "[\n  {\"id\":\"a1\",\"name\":\"x ] , [\",\"customData\":{\"k\":[1,{\"v\":\"}\"}]}},\n  {\"id\":\"a2\",\"name\":\"\\\"]\"}\n]\n";
    let run = sandbox.on(&db, &["import", &sandbox.file("good.json", good)]).ok();
    assert_eq!(run.stdout, "imported: 2 new, 0 updated, 0 unchanged\n");
    assert_eq!(run.stderr, "", "no progress when stderr is not a terminal");
    let exported = sandbox.export(&db);
    assert!(exported.contains("\"name\":\"x ] , [\""), "{exported}");
    assert!(exported.contains("\"name\":\"\\\"]\""), "{exported}");
}

/// The size of a file per user.
fn bytes_per_user(db: &Path, users: u64) -> u64 {
    fs::metadata(db).expect("the database file").len() / users
}

#[test]
fn an_import_into_an_empty_database_takes_the_room_a_seed_does_and_is_journaled_as_one_load() {
    const USERS: u64 = 20_000;
    let sandbox = Sandbox::new();
    let seeded = sandbox.init("seeded.redb");
    let run = sandbox.on(&seeded, &["seed", "--users", &USERS.to_string()]).ok();
    assert!(!run.stdout.contains("compacted"), "a load is not compacted: {}", run.stdout);
    let export = sandbox.home.path("users.jsonl");
    sandbox.on(&seeded, &["export", "--out", &export.display().to_string()]).ok();
    let imported = sandbox.init("imported.redb");
    let run = sandbox.on(&imported, &["import", &export.display().to_string()]).ok();
    assert!(!run.stdout.contains("compacted"), "a load is not compacted: {}", run.stdout);
    let (seed_size, import_size) = (bytes_per_user(&seeded, USERS), bytes_per_user(&imported, USERS));
    // Both are the same sorted bulk load (before it, an import went record by record and its
    // journal held a row per user, ~196 B a user).
    assert!(
        import_size <= seed_size + seed_size / 50,
        "after import {import_size} B a user, after seed {seed_size} B a user"
    );
    for db in [&seeded, &imported] {
        let changes = sandbox.on(db, &["changes", "--json"]).ok().stdout;
        assert_eq!(changes.lines().count(), 1, "one entry for the load: {changes}");
        assert!(changes.contains(&format!("\"loadedUsers\":{USERS}")), "{changes}");
    }
}

/// redb doubles a file under 4 GiB at the first write that needs room, and a compacted file
/// has little: a load compacted afterwards (as seed and import were) grew at its first `set`
/// past the size the load had left (100k users: 142 MB loaded, 92 MB compacted, 184 MB after
/// one save; 1M: 1,141 MB loaded, 929 MB compacted, 1,858 MB). Uncompacted, the saves that
/// follow a load fit in the room it left. 25,000 users: a load that leaves room (35.7 MB,
/// 23.1 MB compacted); at 20,000 it leaves almost none.
#[test]
fn a_bulk_load_is_not_compacted_and_the_saves_that_follow_it_fit_in_the_file_it_left() {
    const USERS: u64 = 25_000;
    let sandbox = Sandbox::new();
    let seeded = sandbox.init("seeded.redb");
    let run = sandbox.on(&seeded, &["seed", "--users", &USERS.to_string()]).ok();
    assert!(!run.stdout.contains("compacted"), "{}", run.stdout);
    let export = sandbox.home.path("loaded.jsonl").display().to_string();
    sandbox.on(&seeded, &["export", "--out", &export]).ok();
    let imported = sandbox.init("imported.redb");
    let run = sandbox.on(&imported, &["import", &export]).ok();
    assert!(!run.stdout.contains("compacted"), "{}", run.stdout);
    let size = |db: &Path| fs::metadata(db).expect("the database file").len();
    let listed = sandbox.on(&seeded, &["list", "--limit", "4000", "--json"]).ok().stdout;
    let ids: Vec<String> = listed
        .lines()
        .step_by(400)
        .map(|line| {
            let user: serde_json::Value = serde_json::from_str(line).expect("a line of list --json");
            user["id"].as_str().expect("an id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 10);
    for db in [&seeded, &imported] {
        let loaded = size(db);
        assert!(loaded > 30_000_000, "{} B: the load's room is part of the file", loaded);
        for (n, id) in ids.iter().enumerate() {
            let document = sandbox.file("doc.json", &format!("{{\"saved\":{n}}}"));
            sandbox.on(db, &["set", &format!("id:{id}"), &document]).ok();
        }
        assert!(size(db) <= loaded, "{}: {loaded} B loaded, {} B after ten saves", db.display(), size(db));
    }
}

/// The load's one journal entry counts its users and the bytes of their documents as stored
/// (compact; `{}` for a user without customData); a load of nobody leaves no entry at all.
#[test]
fn a_load_is_journaled_with_its_users_and_their_documents_bytes_and_a_load_of_nobody_not_at_all() {
    let sandbox = Sandbox::new();
    let db = sandbox.init("users.redb");
    let lines = "{\"id\":\"a\",\"customData\":{\"k\": 1}}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"customData\":{\"plan\":\"pro\"}}\n";
    sandbox.on(&db, &["import", &sandbox.file("users.jsonl", lines)]).ok();
    let changes = sandbox.on(&db, &["changes", "--json"]).ok().stdout;
    let load: serde_json::Value = serde_json::from_str(changes.trim_end()).expect("one entry");
    // `{"k":1}`, `{}`, `{"plan":"pro"}`.
    assert_eq!((&load["loadedUsers"], &load["size"]), (&3.into(), &(7 + 2 + 14).into()), "{load}");
    let empty = sandbox.init("empty.redb");
    sandbox.on(&empty, &["seed", "--users", "0"]).ok();
    assert_eq!(sandbox.on(&empty, &["changes", "--json"]).ok().stdout, "");
}

/// Past the runs' probation (1,024 entries) users in key order in every index go into the
/// tables as they come: each name into its own field's index, and a name repeated there
/// refused as the merge refuses it out of order, naming the record and the user who has it.
#[test]
fn names_in_key_order_go_straight_into_their_own_index_and_a_repeat_there_names_the_user_who_has_it() {
    let sandbox = Sandbox::new();
    let mut users: Vec<String> = (0..1100)
        .map(|n| {
            format!(
                "{{\"id\":\"u{n:04}\",\"username\":\"name{n:04}\",\"primaryEmail\":\"e{n:04}@x.org\",\"primaryPhone\":\"+1 555 {n:07}\",\"customData\":{{\"n\":{n}}}}}"
            )
        })
        .collect();
    let db = sandbox.init("sorted.redb");
    sandbox.on(&db, &["import", &sandbox.file("sorted.jsonl", &(users.join("\n") + "\n"))]).ok();
    // Another case than the one stored: found only through the field's own fold.
    for (reference, n) in [("username:NAME0007", 7), ("email:E0008@X.org", 8), ("phone:+1 555 0000009", 9)] {
        assert_eq!(
            sandbox.on(&db, &["get", reference]).ok().stdout,
            format!("{{\n  \"n\": {n}\n}}\n"),
            "{reference}"
        );
    }
    users[1099] = "{\"id\":\"u1099\",\"username\":\"NAME1098\"}".to_owned();
    let in_order = users.join("\n") + "\n";
    users.reverse();
    let reversed = users.join("\n") + "\n";
    // The later record in the file repeats the name: line 1100 as it comes; once reversed,
    // line 2, u1098's own (line 1 was named, the id sorting later: bb68 F1).
    for (text, line, typed, other) in
        [(in_order, 1100, "NAME1098", "u1098"), (reversed, 2, "name1098", "u1099")]
    {
        let db = sandbox.init(&format!("repeated{line}.redb"));
        let error = sandbox.on(&db, &["import", &sandbox.file("users.jsonl", &text)]).fails(5);
        assert!(
            error.contains(&format!(
                "line {line}: username \"{typed}\" is also given by another record of this import (user {other}'s,"
            )),
            "{error}"
        );
        assert_eq!(sandbox.export(&db), "");
    }
}

#[test]
fn an_import_into_an_empty_database_in_list_order_but_for_a_few_records_takes_them_all() {
    // An export (list order) with a user moved to the end, one appended, and one moved up: the
    // search texts that came in order go in as they come, the others must be merged in among
    // them (they were appended out of order: "database error: search texts appended out of
    // order", exit 1, for a file nothing was wrong with).
    let sandbox = Sandbox::new();
    let general = sandbox.init("general.redb");
    let file = sandbox.file("users.jsonl", &(shuffled_users(3000).join("\n") + "\n"));
    sandbox.on(&general, &["import", &file]).ok();
    let exported = sandbox.export(&general);
    let mut lines: Vec<&str> = exported.lines().collect();
    let moved = lines.remove(9);
    lines.push(moved);
    let raised = lines.remove(2500);
    lines.insert(1500, raised);
    let appended = r#"{"id":"zz-new","username":"aaa-first-in-the-list","createdAt":1700000000000,"customData":{"note":"appended"}}"#;
    lines.push(appended);
    let edited = sandbox.file("edited.jsonl", &(lines.join("\n") + "\n"));
    let fresh = sandbox.init("fresh.redb");
    assert_eq!(
        sandbox.on(&fresh, &["import", &edited]).ok().stdout,
        "imported: 3,001 new, 0 updated, 0 unchanged\n"
    );
    sandbox.on(&general, &["import", "--upsert", &edited]).ok();
    assert_eq!(sandbox.export(&fresh), sandbox.export(&general));
    // Each is found by the search, the moved and the appended ones too.
    for (query, id) in
        [("aaa-first", "zz-new"), (&moved[7..13], &moved[7..13]), (&raised[7..13], &raised[7..13])]
    {
        let found = sandbox.on(&fresh, &["list", "--search", query, "--limit", "0"]).ok().stdout;
        assert!(found.lines().any(|line| line.starts_with(id)), "{query}: {found}");
    }
}

/// The record's scan is the one depth check of an imported customData: exactly the limit is
/// taken, as a document, into an empty database and into one that holds users.
#[test]
fn an_imported_customdata_exactly_at_the_depth_limit_is_taken() {
    let sandbox = Sandbox::new();
    // Its object and 63 arrays: 64 levels.
    let deepest = format!("{}{}", "[".repeat(63), "]".repeat(63));
    let line = format!("{{\"id\":\"n1\",\"createdAt\":1,\"customData\":{{\"a\":{deepest}}}}}");
    let file = sandbox.file("deep.jsonl", &format!("{line}\n"));
    let db = sandbox.init("users.redb");
    sandbox.on(&db, &["import", &file]).ok();
    let document = format!("\"customData\":{{\"a\":{deepest}}}");
    assert!(sandbox.export(&db).contains(&document), "{}", sandbox.export(&db));
    let other = sandbox.file("other.jsonl", &line.replace("n1", "n2"));
    sandbox.on(&db, &["import", &other]).ok();
    let both = sandbox.export(&db);
    assert_eq!(both.lines().filter(|line| line.contains(&document)).count(), 2, "{both}");
}

/// Documents near the 1 MiB limit: what is in flight is bounded in bytes, not in records —
/// the batches between the import's threads, and the merge, which merges runs of such
/// entries in groups first. 100 of them held 333 MB, 400 held 805 MB (bb22 L02); the README
/// promises an import's memory does not grow with the file (≤ 64 MiB, measured on the release
/// build: 56 MB for 100, 65 MB for 400). The debug build these tests run starts 12 MB larger
/// and peaks at ~90 MiB here, so the bound asserted is 128 MiB: held in records again, 60
/// such documents take well over 160 MB.
#[test]
fn an_import_of_documents_near_the_limit_stays_within_its_memory_bound() {
    use std::os::unix::process::ExitStatusExt;
    let sandbox = Sandbox::new();
    let blob = "y".repeat(900 * 1024);
    let users: String = (0..60)
        .map(|n| {
            format!(
                "{{\"id\":\"big{:03}\",\"username\":\"big{n:03}\",\"customData\":{{\"blob\":\"{blob}\"}}}}\n",
                (n * 37) % 60
            )
        })
        .collect();
    let file = sandbox.file("big.jsonl", &users);
    let db = sandbox.init("users.redb");
    let mut command = sandbox.home.custodian();
    command.arg("--db").arg(&db).args(["import", &file]).stdout(std::process::Stdio::null());
    // Reaped by `wait4` below, for its peak memory (a `wait()` afterwards could reap another
    // test's child that took its pid meanwhile).
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("spawn");
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child, with pointers to locals.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t);
    assert!(std::process::ExitStatus::from_raw(status).success(), "status {status}");
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 128, "peak RSS {peak_mib} MiB");
    assert_eq!(sandbox.export(&db).lines().filter(|line| line.contains(&blob)).count(), 60);
}

/// A document of many short values weighs more parsed than the import lets be in flight (a
/// 400 KB array of 200,000 zeros is ~28 MB counted against 12 MiB): it goes alone. The reading
/// thread waited for written users to come back before sending it, when none were out: the
/// import hung forever, a bulk load and an upsert alike. After small users too, and before.
#[test]
fn a_document_that_weighs_more_than_the_import_may_hold_in_flight_goes_alone() {
    let sandbox = Sandbox::new();
    let zeros = vec!["0"; 200_000].join(",");
    let heavy =
        |id: &str| format!("{{\"id\":\"{id}\",\"username\":\"{id}\",\"customData\":{{\"a\":[{zeros}]}}}}\n");
    let small = |prefix: &str| -> String {
        (0..300).map(|n| format!("{{\"id\":\"{prefix}{n:03}\",\"username\":\"{prefix}{n:03}\"}}\n")).collect()
    };
    let alone = sandbox.file("alone.jsonl", &heavy("h1"));
    let among =
        sandbox.file("among.jsonl", &format!("{}{}{}{}", small("s"), heavy("h2"), heavy("h3"), small("t")));
    let db = sandbox.init("users.redb");
    let limit = std::time::Duration::from_secs(120);
    for args in [&["import", &alone][..], &["import", "--upsert", &among][..]] {
        let mut command = sandbox.home.custodian();
        command.arg("--db").arg(&db).args(args);
        Run::within(command, limit).ok();
    }
    let exported = sandbox.export(&db);
    assert_eq!(exported.lines().count(), 3 + 600, "{}", exported.len());
    assert_eq!(exported.lines().filter(|line| line.contains(&zeros)).count(), 3);
}

/// A refusal the writer finds (a repeated id) is said at once, while the source stays open
/// and quiet (a pipe whose writer waits, `tail -f`): the records read were held back until the
/// source ended (bb24 L06). JSON Lines and an array.
#[test]
fn a_refused_record_is_said_while_the_source_stays_open() {
    use std::io::Write;
    let sandbox = Sandbox::new();
    for (shape, input) in
        [("lines", "{\"id\":\"x\"}\n{\"id\":\"x\"}\n"), ("array", "[{\"id\":\"x\"},\n{\"id\":\"x\"},\n")]
    {
        let db = sandbox.init(&format!("{shape}.redb"));
        let mut command = sandbox.home.custodian();
        command.arg("--db").arg(&db).args(["import", "-"]);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
        stdin.flush().expect("flush");
        let status = support::run::ended_within(&mut child, std::time::Duration::from_secs(60))
            .unwrap_or_else(|| panic!("{shape}: still waiting on the open source after 60 s"));
        drop(stdin);
        let mut error = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut error).expect("stderr");
        assert_eq!(status.code(), Some(5), "{shape}: {error}");
        assert!(error.contains("user id \"x\" is also given by an earlier record"), "{shape}: {error}");
        assert_eq!(sandbox.export(&db), "", "{shape}");
    }
}

/// The same record twice, far apart: the two users' search texts are the same entry too, and
/// the thread packing them into blocks may meet it before the users' merge meets the id. The
/// id is what is named, with its line, exit 5 — every time (it was "database error: search
/// texts appended out of order", exit 1, in 6 runs of 10: bb22 L03).
#[test]
fn the_same_record_given_twice_is_named_by_its_id_every_time() {
    let sandbox = Sandbox::new();
    let mut users = shuffled_users(1000);
    users.push(users[7].clone());
    let file = sandbox.file("twice.jsonl", &(users.join("\n") + "\n"));
    let id = &users[7][7..13];
    for _ in 0..5 {
        let db = sandbox.init("users.redb");
        let error = sandbox.on(&db, &["import", &file]).fails(5);
        assert!(
            error.contains(&format!(
                "line 1001: user id \"{id}\" is also given by an earlier record of this import"
            )),
            "{error}"
        );
        assert_eq!(sandbox.export(&db), "");
        fs::remove_file(&db).expect("remove");
    }
}
