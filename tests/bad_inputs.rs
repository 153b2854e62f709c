//! Bad input, row by row: what the real binary says (the exact line), the exit code, and proof
//! that nothing was lost or half-written (the export, the history and the file itself are
//! unchanged). Rows already pinned in `tests/cli.rs` (syntax errors, an array, a duplicate key,
//! an empty document, NaN, a malformed import, a missing file, a zero-byte file, a text file,
//! random damage) are not repeated here. The README's "Bad input" table comes from this file.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::home::PrivateHome;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

/// A private HOME and XDG directories, as in `tests/cli.rs`.
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

    fn command(&self, db: &Path, args: &[&str]) -> Command {
        let mut command = self.home.custodian();
        command.arg("--db").arg(db).args(args);
        command
    }

    fn on(&self, db: &Path, args: &[&str]) -> Run {
        Run::of(self.command(db, args), None)
    }

    /// `custodian --db DB ARGS < file`.
    fn on_with_stdin_file(&self, db: &Path, args: &[&str], input: &Path) -> Run {
        let mut command = self.command(db, args);
        command.stdin(fs::File::open(input).expect("open stdin file"));
        Run::of(command, None)
    }

    fn ok(&self, db: &Path, args: &[&str]) -> String {
        let run = self.on(db, args);
        assert_eq!(run.code, 0, "custodian {args:?}: {run:?}");
        String::from_utf8(run.stdout_bytes).expect("utf-8")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write file");
        path
    }

    /// A database at `path` with the 200 demo users.
    fn demo_at(&self, path: &Path) -> PathBuf {
        self.ok(path, &["init"]);
        self.ok(path, &["import", DEMO_USERS]);
        path.to_owned()
    }

    fn demo(&self) -> PathBuf {
        self.demo_at(&self.path("users.redb"))
    }

    /// Everything a failed command could have touched: every user and admin's history.
    fn snapshot(&self, db: &Path) -> String {
        format!("{}\n{}", self.ok(db, &["export"]), self.ok(db, &["history", "admin"]))
    }
}

/// Asserts the exact error line and exit code.
#[track_caller]
fn assert_refused(run: &Run, code: i32, message: &str, row: &str) {
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (code, format!("custodian: {message}\n").as_str()),
        "row {row:?}: {run:?}"
    );
    assert!(run.stdout.is_empty(), "row {row:?} printed to stdout: {run:?}");
}

/// 8,000 keys of 100 bytes each: more than a filled 2 MiB tmpfs has room for.
fn a_document_larger_than_the_room_left() -> String {
    format!(
        "{{{}}}",
        (0..8000).map(|i| format!("\"k{i}\": \"{}\"", "v".repeat(100))).collect::<Vec<_>>().join(", ")
    )
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

// ---------------------------------------------------------------------------------------------
// Documents given to `set`

#[test]
fn set_refuses_each_bad_document_with_its_line_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let rows: &[(&str, &[u8], i32, &str)] = &[
        ("invalid UTF-8", b"{\"name\": \"M\xfcller\"}", 4, "line 1, col 12: not valid UTF-8"),
        ("10,000 nested arrays", deep_arrays.as_bytes(), 4, "line 1, col 65: nested deeper than 64 levels"),
        (
            "10,000 nested objects",
            deep_objects.as_bytes(),
            4,
            "line 1, col 321: nested deeper than 64 levels",
        ),
        (
            "lone high surrogate",
            br#"{"a": "\ud800"}"#,
            4,
            r"line 1, col 14: lone surrogate in a \u escape (not a valid character)",
        ),
        (
            "lone low surrogate",
            br#"{"a": "\udc00x"}"#,
            4,
            r"line 1, col 13: lone surrogate in a \u escape (not a valid character)",
        ),
        (
            "byte-order mark",
            b"\xef\xbb\xbf{}",
            4,
            "line 1, col 1: the text starts with a byte-order mark (U+FEFF); remove it",
        ),
        ("trailing garbage", b"{} x", 4, "line 1, col 4: trailing characters"),
        ("two documents", b"{}\n{}", 4, "line 2, col 1: trailing characters"),
        ("a string", b"\"{}\"", 4, "the top level is a string; customData must be a JSON object ({ ... })"),
        ("null", b"null", 4, "the top level is null; customData must be a JSON object ({ ... })"),
        ("a number", b"42", 4, "the top level is a number; customData must be a JSON object ({ ... })"),
        (
            "only whitespace",
            b"  \n\t\n",
            4,
            "the document is empty: customData must be a JSON object, at least {}",
        ),
        (
            "Infinity",
            b"{\"a\": -Infinity}",
            4,
            "line 1, col 8: NaN and Infinity are not JSON; use null, a number or a string",
        ),
        (
            "NUL character",
            br#"{"a": {"b": "x\u0000"}}"#,
            4,
            r"line 1, col 13: \u0000 in a.b; PostgreSQL's jsonb refuses NUL characters",
        ),
        (
            "duplicate key, nested",
            b"{\"a\": {\"k\": 1,\n \"k\": 2}}",
            4,
            "line 2, col 2: duplicate key \"k\" in a; JSON keeps only one of them",
        ),
    ];
    for (row, bytes, code, message) in rows {
        let file = sandbox.file("doc.json", bytes);
        assert_refused(&sandbox.on(&db, &["set", "admin", path_str(&file)]), *code, message, row);
        assert_refused(&sandbox.on_with_stdin_file(&db, &["set", "admin", "-"], &file), *code, message, row);
    }
    assert_eq!(sandbox.snapshot(&db), before);
}

#[test]
fn a_100_mb_document_is_refused_before_it_is_parsed_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let file =
        sandbox.file("big.json", &support::documents::a_100_mb_document_invalid_from_its_first_bytes());
    for stdin in [false, true] {
        let run = if stdin {
            sandbox.on_with_stdin_file(&db, &["set", "admin", "-"], &file)
        } else {
            sandbox.on(&db, &["set", "admin", path_str(&file)])
        };
        assert_refused(&run, 4, "the document is 100 MiB but the limit is 1 MiB", "100 MB");
    }
    assert_eq!(sandbox.snapshot(&db), before);
}

/// A document that fits (under 1 MiB compact) but takes more than the 16 MiB of text `set`
/// reads when indented: `get` printed it so, and `set` refused it, from a file and from a pipe,
/// as "62.5 MiB but the limit is 1 MiB" (the recovery file of an edit is written the same way).
#[test]
fn an_indented_document_longer_than_the_text_cap_whose_compact_form_fits_is_saved() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let mut value = serde_json::Value::Array(vec![serde_json::Value::from(0); 400_000]);
    for _ in 0..40 {
        value = serde_json::Value::Array(vec![value]);
    }
    let document = serde_json::json!({ "deep": value, "note": "a b  c" });
    let pretty = serde_json::to_string_pretty(&document).expect("pretty");
    assert!(pretty.len() > 16 * 1024 * 1024, "{} bytes of text", pretty.len());
    assert!(serde_json::to_string(&document).expect("compact").len() < 1024 * 1024);
    let file = sandbox.file("indented.json", pretty.as_bytes());
    assert!(sandbox.ok(&db, &["set", "admin", path_str(&file)]).starts_with("saved: "));
    let run = sandbox.on_with_stdin_file(&db, &["set", "admin", "-"], &file);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stored: serde_json::Value = serde_json::from_str(&sandbox.ok(&db, &["get", "admin"])).expect("json");
    assert_eq!(stored, document);
}

#[test]
fn set_of_an_unknown_user_exits_3_before_reading_the_document() {
    use std::io::{Read, Write};
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    // Standard input is a pipe holding a valid document: the user is looked up first, so the
    // document must still be in the pipe afterwards.
    let document = "{\"would\": \"be saved\"}\n";
    let (mut unread, mut writer) = std::io::pipe().expect("a pipe");
    writer.write_all(document.as_bytes()).expect("fill the pipe");
    drop(writer);
    let mut command = sandbox.command(&db, &["set", "ghost", "-"]);
    command.stdin(unread.try_clone().expect("the pipe's read end for the child"));
    let run = Run::of(command, None);
    assert_refused(
        &run,
        3,
        "no user \"ghost\" (looked for an id, a username, a primary email and a primary phone)",
        "unknown user",
    );
    let mut left = String::new();
    unread.read_to_string(&mut left).expect("read what is left in the pipe");
    assert_eq!(left, document, "custodian read standard input before looking the user up");
    assert_eq!(sandbox.snapshot(&db), before);
}

// ---------------------------------------------------------------------------------------------
// Imports

#[test]
fn import_refuses_each_bad_file_with_its_record_and_imports_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let deep = format!("{{\"id\":\"n1\",\"customData\":{}{}}}\n", "[".repeat(10_000), "]".repeat(10_000));
    // customData 65 levels deep (its object and 64 arrays): one over the limit, found by the
    // record's scan (the parsed document is not walked again for it).
    let one_too_deep =
        format!("{{\"id\":\"n1\",\"customData\":{{\"a\":{}{}}}}}\n", "[".repeat(64), "]".repeat(64));
    let rows: &[(&str, &[u8], i32, &str)] = &[
        ("customData one level too deep", one_too_deep.as_bytes(), 4, "line 1: nested deeper than 64 levels"),
        (
            "NUL in a key of customData",
            b"{\"id\":\"n1\",\"customData\":{\"ok\":{\"k\\u0000\":1}}}\n",
            4,
            "line 1: \\u0000 in customData.ok; PostgreSQL's jsonb refuses NUL characters",
        ),
        (
            "id twice in one file",
            b"{\"id\":\"n1\"}\n{\"id\":\"n1\",\"name\":\"Other\"}\n",
            5,
            "line 2: user id \"n1\" is also given by an earlier record of this import (an import gives each user once; --upsert does not merge two records)",
        ),
        ("10,000 nested arrays", deep.as_bytes(), 4, "line 1: nested deeper than 64 levels"),
        (
            "NaN in customData",
            b"{\"id\":\"n1\"}\n{\"id\":\"n2\",\"customData\":{\"a\":NaN}}\n",
            4,
            "line 2: NaN and Infinity are not JSON; use null, a number or a string",
        ),
        (
            "lone surrogate",
            b"[\n{\"id\":\"n1\",\"name\":\"\\ud800\"}\n]",
            4,
            "record 1 (line 2): lone surrogate in a \\u escape (not a valid character)",
        ),
        (
            "NUL in a name",
            b"{\"id\":\"n1\",\"name\":\"a\\u0000\"}\n",
            4,
            "line 1: \\u0000 in name; PostgreSQL's jsonb refuses NUL characters",
        ),
        (
            "trailing garbage after the array",
            b"[{\"id\":\"n1\"}] x",
            4,
            "line 1, col 15: trailing characters",
        ),
        ("trailing garbage on a line", b"{\"id\":\"n1\"} x\n", 4, "line 1: trailing characters"),
        ("a user that is a string", b"\"n1\"\n", 4, "line 1: a user must be a JSON object, not a string"),
        (
            "customData that is an array",
            b"{\"id\":\"n1\",\"customData\":[1]}\n",
            4,
            "line 1: customData: the top level is an array; customData must be a JSON object ({ ... })",
        ),
        (
            "customData as a string of JSON",
            b"{\"id\":\"n1\",\"customData\":\"{}\"}\n",
            4,
            "line 1: customData: the top level is a string; customData must be a JSON object ({ ... })",
        ),
        ("an empty array", b"[]", 4, "the import is empty: expected a JSON array of users or JSON Lines"),
        // It said "the import is empty" too (bb32 V06).
        ("an empty array, then more", b"[]\n{\"id\":\"n1\"}\n", 4, "line 2, col 1: trailing characters"),
        (
            "a duplicate key",
            b"{\"id\":\"n1\",\"id\":\"n2\"}\n",
            4,
            "line 1: duplicate key \"id\" in (top level); JSON keeps only one of them",
        ),
        ("invalid UTF-8", b"{\"id\":\"n1\"}\n\xff\n", 4, "line 2, col 1: not valid UTF-8"),
    ];
    for (row, bytes, code, message) in rows {
        let file = sandbox.file("import.json", bytes);
        assert_refused(&sandbox.on(&db, &["import", path_str(&file)]), *code, message, row);
    }
    assert_eq!(sandbox.snapshot(&db), before);
}

// ---------------------------------------------------------------------------------------------
// Database files

#[test]
fn a_truncated_database_is_refused_and_left_byte_for_byte() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let whole = fs::read(&db).expect("read");
    let half = sandbox.file("half.redb", &whole[..whole.len() / 2]);
    // A write's open finds the cut too: the same words, not "not a custodian database" (bb34 #2).
    // A read names the file too, as a script going over several needs (bb76 F2: it named none).
    let early = format!(
        "database error: {}: the database file is damaged: it ends before a page it refers to (truncated, or a damaged page points past its end); restore it from a backup",
        path_str(&half)
    );
    let doc = sandbox.file("doc.json", b"{\"a\": 1}");
    // A writable open reads the header's layout, which one damaged byte there changes as a cut
    // does: both said, and the file named (bb73 F3).
    let at_open = format!(
        "database error: {}: the database file is damaged: it ends before the layout its header records (truncated, or its header damaged); restore it from a backup",
        path_str(&half)
    );
    // A read-only open does not compare the file's length with its layout, so a read that
    // stays within the pages before the cut (`get` of one user) may still succeed; a read of
    // everything reaches a missing page and fails.
    for (args, message) in [
        (vec!["list", "--limit", "0"], early.as_str()),
        (vec!["export"], early.as_str()),
        (vec!["--read-only", "export"], early.as_str()),
        (vec!["set", "admin", path_str(&doc)], at_open.as_str()),
        (vec!["import", DEMO_USERS, "--upsert"], at_open.as_str()),
    ] {
        assert_refused(&sandbox.on(&half, &args), 1, message, &format!("truncated {args:?}"));
    }
    assert_eq!(fs::read(&half).expect("read"), whole[..whole.len() / 2], "the damaged file was changed");
    // Cut by one page, the file still reads read-only as far as its pages go: `info`, the
    // command that looks at a file, said all was well (exit 0, its users counted) where every
    // write refused it (bb95 F4). It looks as a write would open it, writing nothing.
    let cut = &whole[..whole.len() - 4096];
    let short = sandbox.file("short.redb", cut);
    let at_open = at_open.replace(path_str(&half), path_str(&short));
    for args in [vec!["info"], vec!["--read-only", "info"]] {
        assert_refused(&sandbox.on(&short, &args), 1, &at_open, &format!("cut by a page {args:?}"));
    }
    assert_eq!(fs::read(&short).expect("read"), cut, "the damaged file was changed");
    // A whole file is looked at the same way, and said well.
    assert_eq!(sandbox.on(&db, &["info"]).code, 0);
}

/// A page damaged mid-file: the file opens, and reads that do not meet the page work, so
/// `info` said all was well (exit 0) where `export` refused the file (bb97 F2). `info` checks
/// every page, writing nothing.
#[test]
fn info_checks_every_page_and_says_a_damaged_one() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("big.redb");
    sandbox.on(&db, &["init"]).ok();
    sandbox.on(&db, &["seed", "--users", "3000"]).ok();
    let mut bytes = fs::read(&db).expect("read");
    assert!(bytes.len() > 409_608, "{}", bytes.len());
    bytes[409_600..409_608].copy_from_slice(b"\xde\xad\xbe\xef\x00\xff\x13\x37");
    let damaged = sandbox.file("damaged.redb", &bytes);
    let said = sandbox.on(&damaged, &["info"]).fails(1);
    assert!(said.contains("the database file is damaged"), "{said}");
    assert!(fs::read(&damaged).expect("read") == bytes, "info wrote to the damaged file");
    assert_eq!(sandbox.on(&db, &["info"]).code, 0, "the sound file is said well");
}

/// A byte damaged in the page of custodian's own table of the layout: every command refuses the
/// file, and a write's refusal leaves it byte for byte too — a writable open rewrote redb's
/// allocator state as it closed and cut 8 KiB off the file it refused (bb73 F1).
#[test]
fn a_file_refused_as_no_custodian_database_is_left_byte_for_byte_by_a_write() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let mut damaged = fs::read(&db).expect("read");
    // The first page after redb's header: the layout table's, in a file made this way.
    damaged[4100] ^= 0xff;
    let file = sandbox.file("damaged.redb", &damaged);
    let refused = sandbox.on(&file, &["export"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("not a custodian database"), "{refused:?}");
    let doc = sandbox.file("doc.json", b"{\"a\": 1}");
    for args in [vec!["set", "admin", path_str(&doc)], vec!["import", DEMO_USERS, "--upsert"], vec!["info"]] {
        let run = sandbox.on(&file, &args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        // `info` checks every page first, and says the damage its check meets (bb97 F2).
        let said = if args == ["info"] { "the database file is damaged" } else { "not a custodian database" };
        assert!(run.stderr.contains(said), "{args:?}: {run:?}");
        assert!(fs::read(&file).expect("read") == damaged, "{args:?} changed the damaged file");
    }
}

#[test]
fn a_database_locked_by_another_program_is_refused_with_what_to_do() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let doc = sandbox.file("doc.json", b"{\"a\": 1}");
    {
        // A redb tool opening the file in redb's default mode (ExclusiveWriter) locks it whole.
        let _other = redb::Database::create(&db).expect("open the file in the default mode");
        let message = format!(
            "{}: locked by another program that has it to itself (`custodian compact`, an older custodian or a redb tool); retry when it is done",
            path_str(&db)
        );
        for args in [vec!["list"], vec!["get", "admin"], vec!["set", "admin", path_str(&doc)], vec!["export"]]
        {
            assert_refused(&sandbox.on(&db, &args), 1, &message, &format!("locked {args:?}"));
        }
    }
    assert_eq!(sandbox.snapshot(&db), before);
}

#[test]
fn an_immutable_database_file_is_read_but_never_written() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let bytes = fs::read(&db).expect("read");
    // This row needs root (CI runs as root): where it cannot run it fails, never passes unseen.
    let chattr = Command::new("chattr").arg("+i").arg(&db).status();
    assert!(
        chattr.as_ref().is_ok_and(|s| s.success()),
        "row \"immutable file\" cannot run here: `chattr +i` {chattr:?} (needs root and a filesystem with attributes; run the suite as root, as .ci/run does)"
    );
    let doc = sandbox.file("doc.json", b"{\"a\": 1}");
    let run = sandbox.on(&db, &["set", "admin", path_str(&doc)]);
    let listed = sandbox.on(&db, &["list", "--limit", "1"]);
    let _ = Command::new("chattr").arg("-i").arg(&db).status();
    assert_refused(&run, 1, &format!("{}: Operation not permitted (os error 1)", path_str(&db)), "immutable");
    assert_eq!(listed.code, 0, "{listed:?}");
    assert_eq!(fs::read(&db).expect("read"), bytes);
    assert_eq!(sandbox.snapshot(&db), before);
}

/// A tmpfs mounted for one test, unmounted when dropped. A row that needs one fails when
/// mounting is not possible (not root, no CAP_SYS_ADMIN, a container without mount rights):
/// it must never count as passed without having run.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    #[track_caller]
    fn mount(dir: PathBuf, size: &str, row: &str) -> Self {
        fs::create_dir_all(&dir).expect("make the mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(&dir)
            .output();
        assert!(
            output.as_ref().is_ok_and(|o| o.status.success()),
            "row {row:?} cannot run here: mounting a tmpfs failed ({output:?}); it needs root (run the suite as root, as .ci/run does)"
        );
        Self { dir }
    }

    /// Fills what is left of the file system; the filler file, to remove for room again.
    fn fill(&self) -> PathBuf {
        let filler = self.dir.join("filler");
        let _ = Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", filler.display()))
            .arg("bs=4k")
            .stderr(Stdio::null())
            .status();
        filler
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount").args(["-o", "remount,ro"]).arg(&self.dir).status().expect("mount");
        assert!(status.success(), "remount read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn a_read_only_filesystem_allows_reading_and_refuses_every_write() {
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("ro"), "4m", "read-only filesystem");
    let db = sandbox.demo_at(&mount.dir.join("users.redb"));
    let before = sandbox.snapshot(&db);
    mount.remount_read_only();
    let doc = sandbox.file("doc.json", b"{\"a\": 1}");
    let message = format!("{}: Read-only file system (os error 30)", path_str(&db));
    for args in [
        vec!["set", "admin", path_str(&doc)],
        vec!["import", DEMO_USERS, "--upsert"],
        vec!["restore", "admin", "1"],
    ] {
        assert_refused(&sandbox.on(&db, &args), 1, &message, &format!("read-only fs {args:?}"));
    }
    let other = mount.dir.join("new.redb");
    assert_refused(
        &sandbox.on(&other, &["init"]),
        1,
        &format!("{}: cannot create: Read-only file system (os error 30)", path_str(&other)),
        "read-only fs init",
    );
    // Reading still works: list, get, history and export open the file read-only.
    assert_eq!(sandbox.snapshot(&db), before);
    assert!(sandbox.ok(&db, &["get", "admin"]).contains("adminConsolePreferences"));
    let listed = sandbox.ok(&db, &["list", "--limit", "0"]);
    assert_eq!(listed.lines().count(), 201, "a header and the 200 demo users:\n{listed}");
    assert!(listed.lines().any(|line| line.contains("admin")), "{listed}");
}

/// A file a killed process left unclean, then found on a read-only file system (a snapshot
/// mounted for inspection): it cannot be read before its repair, which writes it; the message
/// says to repair a copy elsewhere (it named `custodian --db PATH info`, which fails there too).
#[test]
fn a_file_left_unclean_on_a_read_only_filesystem_says_to_repair_a_copy_elsewhere() {
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("ro-unclean"), "4m", "read-only filesystem, file left unclean");
    let db = sandbox.demo_at(&mount.dir.join("users.redb"));
    // `set admin -` opens the file for writing, then waits for its document on stdin.
    let mut writer =
        sandbox.command(&db, &["set", "admin", "-"]).stdin(Stdio::piped()).spawn().expect("spawn");
    support::run::wait_until_reading_stdin(writer.id());
    writer.kill().expect("kill -9 the writer");
    let _ = writer.wait();
    let unclean = sandbox.on(&db, &["--read-only", "get", "admin"]);
    assert!(unclean.stderr.contains("was not closed cleanly"), "left clean: {unclean:?}");
    mount.remount_read_only();
    for args in [vec!["list", "--limit", "1"], vec!["get", "admin"]] {
        let run = sandbox.on(&db, &args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("was not closed cleanly")
                && run.stderr.contains("copy it to a file system you can write")
                && run.stderr.contains("Read-only file system"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_full_disk_fails_the_write_and_keeps_the_last_good_state() {
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("full"), "2m", "full disk");
    let db = sandbox.demo_at(&mount.dir.join("users.redb"));
    let before = sandbox.snapshot(&db);
    let filler = mount.fill();
    let big = a_document_larger_than_the_room_left();
    let doc = sandbox.file("big.json", big.as_bytes());
    let small = sandbox.file("small.json", b"{\"a\": 1}");
    // An upsert of records identical to what is stored writes nothing (and succeeds): the
    // import that must write is one of a new user.
    let newcomer = sandbox.file("newcomer.jsonl", b"{\"id\":\"n1\",\"username\":\"newcomer\"}\n");
    // Said with what it means: nothing written, and why a write needs room (bb25 P05).
    let message = "database error: no room left on the disk (I/O error: No space left on device (os error 28)): nothing was written, the database is as it was; a write needs room for a new copy of every page it changes (a batch: of the tables it touches), and a file under 4 GiB grows by doubling — free some room, and `custodian compact` gives back what the failed write left unused";
    for args in [
        vec!["set", "admin", path_str(&doc)],
        vec!["set", "admin", path_str(&small)],
        vec!["import", path_str(&newcomer)],
    ] {
        assert_refused(&sandbox.on(&db, &args), 1, message, &format!("full disk {args:?}"));
    }
    // Reading works on a full disk, and once there is room again the file takes writes.
    assert_eq!(sandbox.snapshot(&db), before);
    fs::remove_file(&filler).expect("remove filler");
    assert_eq!(sandbox.snapshot(&db), before);
    assert!(sandbox.ok(&db, &["set", "admin", path_str(&small)]).starts_with("saved: "));
}

/// Records piped into a database on a full disk are read ahead where there is room (the
/// temporary directory), not refused for want of room to hold them: an upsert of what is
/// stored writes nothing and succeeds from a pipe as from a file (bb42 F2).
#[test]
fn records_piped_into_a_database_on_a_full_disk_are_read_ahead_where_there_is_room() {
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("full-pipe"), "2m", "full disk, piped import");
    let db = sandbox.demo_at(&mount.dir.join("users.redb"));
    let stored = sandbox.ok(&db, &["export"]);
    let _filler = mount.fill();
    let piped = Run::of(sandbox.command(&db, &["import", "--upsert", "-"]), Some(stored.as_bytes()));
    assert_eq!(piped.code, 0, "{piped:?}");
    assert!(piped.stdout.contains("0 updated, 200 unchanged"), "{piped:?}");
}

/// A write that fails on a full disk leaves the file closed cleanly, as a signal or a bad
/// record does: a `--read-only` reader (a backup, a second operator) reads it at once. It was
/// left "not closed cleanly (a process using it was killed …)" until a read-write open
/// repaired it (bb22 L01: an import of 300,000 users into a full disk).
#[test]
fn a_write_refused_by_a_full_disk_leaves_the_file_closed_cleanly_for_readers() {
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("full-clean"), "8m", "full disk, closed cleanly");
    // More than the file system holds: the import itself fills it (a disk filled by someone
    // else leaves redb no room to close the file cleanly; the next read-write open repairs it).
    let users = padded_users(60_000);
    let file = sandbox.file("users.jsonl", users.as_bytes());
    // Into an empty database (the bulk load) and into one that holds users.
    for demo in [false, true] {
        let db = mount.dir.join("users.redb");
        let _ = fs::remove_file(&db);
        if demo {
            sandbox.demo_at(&db);
        } else {
            sandbox.ok(&db, &["init"]);
        }
        let refused = sandbox.on(&db, &["import", path_str(&file)]);
        assert_eq!(refused.code, 1, "demo {demo}: {refused:?}");
        assert!(refused.stderr.contains("No space left on device"), "demo {demo}: {}", refused.stderr);
        let read = sandbox.on(&db, &["--read-only", "list"]);
        assert_eq!(read.code, 0, "demo {demo}: {read:?}");
        assert_eq!(read.stdout.contains("admin"), demo, "demo {demo}: {}", read.stdout);
        assert!(!read.stdout.contains("user1"), "demo {demo}: {}", read.stdout);
    }
}

/// A store kept open (the editor's) across a full disk: redb refuses every call after the
/// failed commit ("previous I/O error") until the file is opened again; the store does that
/// itself, so once space is freed the next save is made, as the CLI's is.
#[test]
fn a_store_kept_open_saves_again_once_a_full_disk_has_room() {
    use custodian::domain::CustomData;
    use custodian::store::{Author, OpenOptions, RedbStore, UserStore};
    let sandbox = Sandbox::new();
    let mount = Tmpfs::mount(sandbox.path("full-open"), "2m", "full disk, store kept open");
    let db = sandbox.demo_at(&mount.dir.join("users.redb"));
    let store = RedbStore::open(&db, OpenOptions::default()).expect("open");
    let admin = store.resolve("admin").expect("admin");
    let before = store.custom_data(&admin).expect("read").revision;
    let filler = mount.fill();
    let big = a_document_larger_than_the_room_left();
    let author = Author("operator".into());
    let big = CustomData::parse(&big).expect("document");
    let refused = store.replace_custom_data(&admin, &big, Some(before), &author);
    assert!(refused.as_ref().is_err_and(|e| e.to_string().contains("No space left")), "{refused:?}");
    fs::remove_file(&filler).expect("remove filler");
    // A read first: it too opens the file again, which redb refuses to read until then.
    assert_eq!(store.custom_data(&admin).expect("a read once there is room").revision, before);
    let small = CustomData::parse(r#"{"after": "the disk had room again"}"#).expect("document");
    store.replace_custom_data(&admin, &small, Some(before), &author).expect("the save once there is room");
    let stored = store.custom_data(&admin).expect("read");
    assert_eq!(stored.revision, before + 1);
    assert!(stored.text.contains("the disk had room again"));
    drop(store);
    assert_eq!(sandbox.ok(&db, &["history", "admin"]).lines().filter(|l| l.contains("operator")).count(), 1);
}

/// A symbolic link to nothing: `init` said "already exists" and the other commands "no such
/// database file (create one with `custodian init …`)", a loop (bb31 U05). Both now name the
/// link and its target; nothing is made through it.
#[test]
fn a_symbolic_link_to_nothing_is_named_as_one_by_init_and_every_other_command() {
    let sandbox = Sandbox::new();
    let link = sandbox.path("dangling.redb");
    std::os::unix::fs::symlink("nowhere.redb", &link).expect("link");
    let target = sandbox.path("nowhere.redb");
    let said = format!(
        "{}: is a symbolic link to {}, which does not exist; custodian never makes a database through a link: give the file's own path (`custodian init --db {}` makes it there)",
        path_str(&link),
        path_str(&target),
        path_str(&target)
    );
    for args in [&["init"][..], &["list"], &["get", "admin"]] {
        assert_refused(&sandbox.on(&link, args), 1, &said, "dangling link");
    }
    assert!(!target.exists(), "nothing made through the link");
    // A chain of links is followed to the name that is missing, so what it suggests works
    // (bb32 V07: the first hop was named, and init on it refused in turn); a loop is a loop.
    let chain = sandbox.path("chain.redb");
    std::os::unix::fs::symlink("dangling.redb", &chain).expect("link");
    let said_of_chain = said.replacen(path_str(&link), path_str(&chain), 1);
    assert_refused(&sandbox.on(&chain, &["init"]), 1, &said_of_chain, "a chain of links");
    let looped = sandbox.path("loop.redb");
    std::os::unix::fs::symlink("loop.redb", &looped).expect("link");
    let loop_said = format!(
        "{}: is a loop of symbolic links (it leads back to itself); give the database file's own path",
        path_str(&looped)
    );
    for args in [&["init"][..], &["list"]] {
        assert_refused(&sandbox.on(&looped, args), 1, &loop_said, "a loop of links");
    }
    // As it says: init at the target, then the link works.
    sandbox.ok(&target, &["init"]);
    assert_eq!(sandbox.ok(&link, &["list"]).lines().count(), 1, "the header only");
    assert_eq!(sandbox.ok(&chain, &["list"]).lines().count(), 1, "the header only");
}

// ---------------------------------------------------------------------------------------------
// File permissions

#[test]
fn a_database_others_can_write_is_opened_with_one_warning() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let expected = |who: &str, mode: &str| {
        format!(
            "custodian: warning: {} can be written by {who} (mode {mode}); anyone who can write it can change every user's customData: chmod 600 it\n",
            path_str(&db)
        )
    };
    let read_by_anyone = |mode: &str| {
        format!(
            "custodian: warning: {} can be read by anyone (mode {mode}); it holds every user's profile and customData: chmod 600 it\n",
            path_str(&db)
        )
    };
    for (mode, warning) in [
        (0o600, String::new()),
        (0o640, String::new()),
        (0o644, read_by_anyone("0644")),
        (0o604, read_by_anyone("0604")),
        (0o660, expected("its group", "0660")),
        (0o620, expected("its group", "0620")),
        (0o666, expected("anyone", "0666")),
        (0o602, expected("anyone", "0602")),
    ] {
        fs::set_permissions(&db, fs::Permissions::from_mode(mode)).expect("chmod");
        for args in [&["list", "--limit", "1"][..], &["get", "admin"]] {
            let run = sandbox.on(&db, args);
            assert_eq!((run.code, run.stderr.as_str()), (0, warning.as_str()), "mode {mode:o} {args:?}");
        }
    }
    // The warning does not change what a script reads on stdout.
    fs::set_permissions(&db, fs::Permissions::from_mode(0o666)).expect("chmod");
    let piped = sandbox.on(&db, &["get", "admin"]);
    fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).expect("chmod");
    assert_eq!(piped.stdout_bytes, sandbox.on(&db, &["get", "admin"]).stdout_bytes);
}

#[test]
fn drafts_are_private_whatever_the_umask() {
    // The draft store is exercised through the library in a child process with umask 000, so
    // a permissive umask cannot widen what `Drafts::save` creates.
    let sandbox = Sandbox::new();
    let dir = sandbox.path("state").join("custodian").join("drafts");
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_process_writes_a_draft_with_umask_000", "--nocapture"])
        .env("CUSTODIAN_TEST_DRAFT_DIR", &dir)
        .status()
        .expect("run the child");
    assert!(status.success());
    assert_eq!(fs::metadata(&dir).expect("drafts dir").permissions().mode() & 0o777, 0o700);
    let files: Vec<_> = fs::read_dir(&dir).expect("read dir").flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].metadata().expect("metadata").permissions().mode() & 0o777, 0o600);
}

/// The child half of [`drafts_are_private_whatever_the_umask`]: it does its work only in the
/// child process that test starts (with `CUSTODIAN_TEST_DRAFT_DIR` set); in the normal run it
/// returns at once.
#[test]
fn child_process_writes_a_draft_with_umask_000() {
    let Some(dir) = std::env::var_os("CUSTODIAN_TEST_DRAFT_DIR") else { return };
    // SAFETY: umask has no preconditions; this process runs only this test.
    unsafe { libc::umask(0) };
    let drafts = custodian::draft::Drafts::at(PathBuf::from(dir));
    let edit = custodian::draft::EditSnapshot {
        user_id: "u1".into(),
        user_handle: "u1".into(),
        session: custodian::draft::new_session(),
        base_revision: 1,
        base_digest: custodian::draft::digest("{}"),
        text: "{\"secret-ish\": 1".into(),
        written_at: None,
    };
    let draft = custodian::draft::Draft::new(custodian::draft::DraftKind::Draft, "/db/users.redb", edit, 1);
    drafts.save(&draft).expect("save the draft");
}

/// `count` users as JSON Lines, each with 200 bytes of customData.
fn padded_users(count: usize) -> String {
    let pad = "x".repeat(200);
    (0..count)
        .map(|n| {
            format!("{{\"id\":\"u{n:05}\",\"username\":\"user{n}\",\"customData\":{{\"pad\":\"{pad}\"}}}}\n")
        })
        .collect()
}

/// Runs `command` with files limited to `bytes` (`ulimit -f`): its exit code and stderr.
fn under_file_size_limit(mut command: Command, bytes: u64) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: libc::RLIM_INFINITY };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().expect("run custodian");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// bb50 F2: a log that could not take an event (a full disk, `ulimit -f`) had tracing say so
/// on stderr, which on the screen scrolled the frame. The log is best effort: nothing is said.
#[test]
fn a_log_that_cannot_grow_says_nothing_and_the_command_goes_on() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("logged.redb");
    sandbox.ok(&db, &["init"]);
    let log = sandbox.path("state").join("custodian").join("custodian.log");
    let grown = fs::metadata(&log).expect("the log").len();
    // The log is already past the limit: every event it is given fails.
    std::io::Write::write_all(
        &mut fs::OpenOptions::new().append(true).open(&log).expect("log"),
        &vec![b'.'; 2 << 20],
    )
    .expect("grow");
    let doc = sandbox.file("doc.json", br#"{"logged": false}"#);
    sandbox.ok(&db, &["import", DEMO_USERS]);
    let (code, stderr) =
        under_file_size_limit(sandbox.command(&db, &["set", "admin", path_str(&doc)]), 1 << 20);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("tracing") && !stderr.contains("Unable to write"), "{stderr}");
    assert!(sandbox.ok(&db, &["get", "admin"]).contains("logged"));
    assert!(grown > 0);
}

/// bb49 F4: under a file-size limit (`ulimit -f`) the kernel's SIGXFSZ was taken for a Ctrl-C
/// (`interrupted`, exit 130) by an import, and a patch said only `File too large`. The write
/// fails as a write: nothing written, and said so.
#[test]
fn a_write_past_the_file_size_limit_fails_as_a_write_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let users = padded_users(20_000);
    let file = sandbox.file("users.jsonl", users.as_bytes());
    let limited = |db: &Path, args: &[&str]| under_file_size_limit(sandbox.command(db, args), 2 << 20);
    let said = "the file may not grow past the size limit this process runs under (`ulimit -f`; I/O error: File too large (os error 27)): nothing was written, the database is as it was";
    // Into an empty database (the bulk load), and a patch that grows every user's document.
    let db = sandbox.path("limited.redb");
    sandbox.ok(&db, &["init"]);
    let (code, stderr) = limited(&db, &["import", path_str(&file)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(said) && !stderr.contains("interrupted"), "{stderr}");
    assert!(sandbox.ok(&db, &["list"]).lines().count() <= 1, "nothing imported");
    let few: String = users.lines().take(2_000).map(|l| format!("{l}\n")).collect();
    sandbox.ok(&db, &["import", path_str(&sandbox.file("few.jsonl", few.as_bytes()))]);
    let before = sandbox.ok(&db, &["export"]);
    // Into a database that holds users (the general way): the limit is the process's, said
    // without a record's line (`line 54: database error: …`: bb50 F6).
    let rest: String = users.lines().skip(2_000).map(|l| format!("{l}\n")).collect();
    let (code, stderr) = limited(&db, &["import", path_str(&sandbox.file("rest.jsonl", rest.as_bytes()))]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(said) && !stderr.contains("line "), "{stderr}");
    assert!(sandbox.ok(&db, &["export"]) == before, "the import wrote");
    let patch = format!(r#"[{{"op":"add","path":"/more","value":"{}"}}]"#, "y".repeat(2_000));
    let patch = sandbox.file("patch.json", patch.as_bytes());
    let (code, stderr) = limited(&db, &["patch", path_str(&patch), "--all", "--yes"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(said), "{stderr}");
    assert!(sandbox.ok(&db, &["export"]) == before, "the patch wrote");
    // A compaction stopped by the limit says so in its own words (it said "nothing was
    // written, the database is as it was; the file may have changed"), and leaves a file a
    // `--read-only` open reads (it refused it, "not closed cleanly": bb50 F3).
    sandbox.ok(&db, &["patch", path_str(&patch), "--all", "--yes"]);
    let removal = sandbox.file("removal.json", br#"[{"op":"remove","path":"/more"}]"#);
    sandbox.ok(&db, &["patch", path_str(&removal), "--all", "--yes"]);
    let before = sandbox.ok(&db, &["export"]);
    let size = fs::metadata(&db).expect("the file").len();
    let (code, stderr) = under_file_size_limit(sandbox.command(&db, &["compact"]), size / 2);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("compact stopped: the file may not grow past the size limit this process runs under")
            && !stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(sandbox.ok(&db, &["--read-only", "export"]) == before, "the users changed");
}

// ---------------------------------------------------------------------------------------------
// Endless and enormous input, damaged pages: run with a memory ceiling and a deadline, so a
// build that reads without bound fails the test instead of the machine.

/// The address space a bounded run may use: far more than custodian needs for a bounded
/// record or document, far less than reading `/dev/zero` to its end.
const MEMORY_CEILING: u64 = 512 * 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `command` under [`MEMORY_CEILING`], with `stdin` as its standard input; a run that
/// outlives [`DEADLINE`] is killed and fails the test.
fn run_bounded(mut command: Command, stdin: Stdio) -> Run {
    use std::os::unix::process::CommandExt;
    command.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: MEMORY_CEILING, rlim_max: MEMORY_CEILING };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("spawn custodian");
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for custodian"),
        Err(_) => {
            // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("custodian was still running after {DEADLINE:?}: it reads without end");
        }
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stdout_bytes: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `custodian --db DB ARGS` under [`run_bounded`], its standard input from `yes` (endless
/// `y` lines) when `from_yes`, else empty.
fn bounded(sandbox: &Sandbox, db: &Path, args: &[&str], from_yes: bool) -> Run {
    let command = sandbox.command(db, args);
    if !from_yes {
        return run_bounded(command, Stdio::null());
    }
    let mut yes = Command::new("yes").stdout(Stdio::piped()).spawn().expect("run yes");
    let stdin = Stdio::from(yes.stdout.take().expect("yes's output"));
    let run = run_bounded(command, stdin);
    // `yes` ends with SIGPIPE once custodian has gone; if custodian never read, end it.
    let _ = yes.kill();
    let _ = yes.wait();
    run
}

#[test]
fn set_stops_reading_an_endless_document_at_the_limit() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let too_large =
        "the document is more than 16 MiB of text (reading stopped there); the limit is 1 MiB (compact)";
    for (args, from_yes, row) in [
        (&["set", "admin", "/dev/zero"][..], false, "set USER /dev/zero"),
        (&["set", "admin", "-"], true, "yes | set USER -"),
        (&["set", "admin"], true, "yes | set USER"),
    ] {
        let started = Instant::now();
        let run = bounded(&sandbox, &db, args, from_yes);
        assert_refused(&run, 4, too_large, row);
        assert!(started.elapsed() < Duration::from_secs(10), "{row}: took {:?}", started.elapsed());
    }
    assert_eq!(sandbox.snapshot(&db), before);
}

#[test]
fn a_schema_file_is_read_to_the_document_limit_and_no_further() {
    // `--schema /dev/zero` read until memory ran out ("out of memory" after 2 GB under a
    // 2 GB limit, the machine's memory without one); it is read as `schema set` reads it.
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let document = sandbox.path("doc.json");
    std::fs::write(&document, "{}").unwrap();
    let started = Instant::now();
    let run = bounded(&sandbox, &db, &["--schema", "/dev/zero", "set", "admin", path_str(&document)], false);
    assert_refused(
        &run,
        4,
        "cannot read the schema /dev/zero: the document is more than 16 MiB of text (reading stopped there); the limit is 1 MiB (compact)",
        "--schema /dev/zero",
    );
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(sandbox.snapshot(&db), before);
    // `schema set` names the file as `--schema` does (it said only "the document is …").
    let run = bounded(&sandbox, &db, &["schema", "set", "/dev/zero"], false);
    assert_refused(
        &run,
        4,
        "cannot read the schema /dev/zero: the document is more than 16 MiB of text (reading stopped there); the limit is 1 MiB (compact)",
        "schema set /dev/zero",
    );
    assert_eq!(sandbox.snapshot(&db), before);
}

#[test]
fn an_endless_json_array_on_stdin_is_read_an_element_at_a_time_and_stops_at_the_first_bad_one() {
    // An array was read whole before its first record was imported: an endless one took
    // memory until it ran out ("not enough memory to read the import whole"). Its elements
    // are now read as they arrive, so the second one (the same id again) stops it at once.
    let sandbox = Sandbox::new();
    let empty = sandbox.path("empty.redb");
    sandbox.ok(&empty, &["init"]);
    // The demo's users and an empty database (the bulk load's path).
    for (db, demo) in [(sandbox.demo(), true), (empty, false)] {
        let state = |db: &Path| if demo { sandbox.snapshot(db) } else { sandbox.ok(db, &["export"]) };
        let before = state(&db);
        let mut endless = Command::new("sh")
            .args(["-c", "echo '['; yes '{\"id\":\"x\",\"username\":\"y\"},'"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run sh");
        let stdin = Stdio::from(endless.stdout.take().expect("its output"));
        let started = Instant::now();
        let run = run_bounded(sandbox.command(&db, &["import", "-"]), stdin);
        let _ = endless.kill();
        let _ = endless.wait();
        assert_refused(
            &run,
            5,
            "record 2 (line 3): user id \"x\" is also given by an earlier record of this import (an import gives each user once; --upsert does not merge two records)",
            "(echo [; yes '{...},') | import -",
        );
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        assert_eq!(state(&db), before);
    }
}

#[test]
fn import_bounds_every_record_while_reading_and_names_it() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let mut record = Vec::with_capacity(100 * 1024 * 1024 + 64);
    record.extend_from_slice(b"{\"id\": \"big\", \"customData\": {\"a\": \"");
    record.resize(100 * 1024 * 1024, b'x');
    record.extend_from_slice(b"\"}}");
    let mut array = b"[\n{\"id\": \"small\"},\n".to_vec();
    array.extend_from_slice(&record);
    array.extend_from_slice(b"\n]\n");
    let array = sandbox.file("big-record.json", &array);
    record.push(b'\n');
    let lines = sandbox.file("big-record.jsonl", &[&b"{\"id\": \"small\"}\n"[..], &record].concat());
    drop(record);
    let too_long = "longer than 16 MiB, the most one user may take (reading stopped there)";
    let cases = [
        (vec!["import", "/dev/zero"], false, format!("line 1: {too_long}")),
        // `y` is not JSON: the first line fails, and nothing after it is read.
        (vec!["import", "-"], true, "line 1: expected value".to_owned()),
        (vec!["import", path_str(&array)], false, format!("record 2 (line 3): {too_long}")),
        (vec!["import", path_str(&lines)], false, format!("line 2: {too_long}")),
    ];
    for (args, from_yes, message) in &cases {
        let started = Instant::now();
        let run = bounded(&sandbox, &db, args, *from_yes);
        assert_refused(&run, 4, message, &args.join(" "));
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}: took {:?}", started.elapsed());
    }
    // The same file through standard input: the same line.
    let run = {
        let command = sandbox.command(&db, &["import", "-"]);
        run_bounded(command, Stdio::from(fs::File::open(&lines).expect("open")))
    };
    assert_refused(&run, 4, &format!("line 2: {too_long}"), "import - < big record");
    assert_eq!(sandbox.snapshot(&db), before);
}

// ---------------------------------------------------------------------------------------------
// Damaged database files

/// A copy of `bytes` with `pages` pages of 4 KiB (never the first, which holds the header)
/// overwritten with noise, chosen and filled by `seed`.
fn with_damaged_pages(bytes: &[u8], seed: u64, pages: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut damaged = bytes.to_vec();
    let count = damaged.len() / 4096;
    for _ in 0..pages {
        let page = 1 + (next() as usize) % (count - 1);
        for byte in &mut damaged[page * 4096..(page + 1) * 4096] {
            *byte = next() as u8;
        }
    }
    damaged
}

#[test]
fn damaged_pages_fail_every_read_with_one_line_naming_the_file() {
    let sandbox = Sandbox::new();
    let good = fs::read(sandbox.demo()).expect("read the database");
    let out_dir = sandbox.path("exports");
    fs::create_dir(&out_dir).expect("mkdir");
    let mut problems = Vec::new();
    let mut failures = 0;
    for seed in 1..=12 {
        let db = sandbox.path(&format!("damaged-{seed}.redb"));
        let damaged = with_damaged_pages(&good, seed, 4);
        fs::write(&db, &damaged).expect("write");
        // Private, as custodian makes its files (one anyone may read gets a warning line).
        fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).expect("chmod");
        let out = out_dir.join(format!("export-{seed}.jsonl"));
        let commands: [&[&str]; 7] = [
            &["export"],
            &["export", "--out", path_str(&out)],
            &["list", "--limit", "0"],
            &["list", "--json", "--limit", "0"],
            &["get", "admin"],
            &["history", "admin"],
            &["--read-only", "export"],
        ];
        for args in commands {
            let run = bounded(&sandbox, &db, args, false);
            if run.code == 0 {
                continue; // the noise fell where this command does not read
            }
            failures += 1;
            let mut found = run.error_problems(1);
            if !run.stderr.contains(path_str(&db)) {
                found.push("it does not name the file".to_owned());
            }
            for word in ["internal error", "unreachable", "Please report"] {
                if run.stderr.contains(word) {
                    found.push(format!("{word:?} in the error"));
                }
            }
            if args[1..].contains(&"--out") && out.exists() {
                found.push("a partial export was left".to_owned());
            }
            if !found.is_empty() {
                problems.push(format!(
                    "seed {seed} {args:?}: {}: {}",
                    found.join(", "),
                    run.stderr.trim_end()
                ));
            }
        }
        assert_eq!(fs::read(&db).expect("read"), damaged, "seed {seed}: the damaged file was changed");
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(failures >= 12, "the damage hardly mattered ({failures} failures): the test tests nothing");
    let left: Vec<_> = fs::read_dir(&out_dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn a_database_path_that_is_not_a_file_is_named_for_what_it_is() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path("users.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let socket_path = sandbox.path("users.sock");
    let _socket = std::os::unix::net::UnixListener::bind(&socket_path).expect("bind a socket");
    let directory = sandbox.path("home");
    let cases: [(&Path, &str); 5] = [
        (&fifo, "a FIFO"),
        (&socket_path, "a socket"),
        (Path::new("/dev/zero"), "a character device"),
        (Path::new("/dev/null"), "a character device"),
        (&directory, "a directory"),
    ];
    for (db, what) in cases {
        for args in
            [&["list"][..], &["--read-only", "get", "admin"], &["set", "admin", "/dev/null"], &["export"]]
        {
            let run = bounded(&sandbox, db, args, false);
            assert_refused(
                &run,
                1,
                &format!("{}: is {what}, not a database file", db.display()),
                &format!("--db {} {args:?}", db.display()),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Usage mistakes and terminals

#[test]
fn usage_errors_are_one_inert_line_with_a_hint_to_help() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut command = sandbox.home.custodian();
        command.args(args);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        Run::of(command, None)
    };
    let cases = [
        (
            run(&["list", "--limit", "9\x1b[31mred"], None),
            "invalid value '9␛[31mred' for '--limit <LIMIT>': invalid digit found in string; see `custodian list --help`",
        ),
        (
            run(&["list"], Some(("CUSTODIAN_READ_ONLY", "\x1b]0;pwned\x07"))),
            // The variable named, not `--read-only`, which was not typed (bb15 L07).
            "$CUSTODIAN_READ_ONLY is \"␛]0;pwned␇\", which is not yes or no: set it to 1 or 0 (true/false, yes/no, on/off also do), or unset the variable (`unset CUSTODIAN_READ_ONLY`)",
        ),
        (
            run(&["get", "admin", "two\nlines\x1b[2J"], None),
            "unexpected argument 'two␊lines␛[2J' found; see `custodian get --help`",
        ),
        (run(&["\x1b[2Jfrob"], None), "unrecognized subcommand '␛[2Jfrob'; see `custodian --help`"),
        (
            run(&["restore"], None),
            "the following required arguments were not provided: <USER>, <REVISION>; see `custodian restore --help`",
        ),
        (
            run(&["completions", "tcsh"], None),
            "invalid value 'tcsh' for '<SHELL>' [possible values: bash, elvish, fish, powershell, zsh]; tip: a similar value exists: 'zsh'; see `custodian completions --help`",
        ),
    ];
    for (run, message) in cases {
        assert_refused(&run, 2, message, message);
        assert!(!run.stderr.contains('\x1b'), "an escape reached the terminal: {run:?}");
    }
    // Help and the version are answers, not mistakes.
    assert!(run(&["--help"], None).ok().stdout.contains("Usage: custodian"));
    assert!(run(&["--version"], None).ok().stdout.starts_with("custodian "));
}

#[test]
fn a_dumb_terminal_is_refused_by_the_editor_without_touching_it() {
    use portable_pty::CommandBuilder;
    use support::pty::Tui;
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    for term in [Some("dumb"), Some(""), None] {
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_custodian"));
        command.arg("--db");
        command.arg(&db);
        command.env("HOME", sandbox.path("home"));
        command.env("XDG_DATA_HOME", sandbox.path("data"));
        command.env("XDG_STATE_HOME", sandbox.path("state"));
        command.env_remove("CUSTODIAN_DB");
        match term {
            Some(term) => command.env("TERM", term),
            None => command.env_remove("TERM"),
        }
        let mut tui = Tui::spawn(command, 80, 24);
        let status = tui.wait_exit();
        let raw = tui.raw();
        let text = String::from_utf8_lossy(&raw);
        assert_eq!(status.exit_code(), 2, "TERM={term:?}: {text}");
        assert!(!raw.contains(&0x1b), "TERM={term:?}: the terminal was touched: {text:?}");
        let why = match term {
            Some("dumb") => "TERM=dumb",
            Some(_) => "$TERM is empty",
            None => "$TERM is not set",
        };
        assert_eq!(
            text.trim_end(),
            format!(
                "custodian: this terminal cannot show the editor's screen ({why}); set TERM to your terminal's type, or use a subcommand (see `custodian --help`)"
            )
        );
    }
    // The commands need no screen: they work as ever.
    let mut command = sandbox.command(&db, &["get", "admin"]);
    command.env("TERM", "dumb");
    Run::of(command, None).ok();
}

/// `--schema` naming a FIFO no one writes: a signal ends the wait, exit 130, nothing written
/// (SIGTERM and Ctrl-C were ignored while it waited to open it; SIGKILL alone ended it: bb24
/// L12). For `import`, `schema check` and `set`.
#[test]
fn a_schema_fifo_no_one_writes_gives_way_to_a_signal() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let fifo = a_fifo(&sandbox, "schema.fifo");
    let users = sandbox.file("users.jsonl", b"{\"id\":\"fifo1\"}\n");
    let document = sandbox.file("doc.json", b"{}");
    for args in
        [vec!["import", path_str(&users)], vec!["schema", "check"], vec!["set", "admin", path_str(&document)]]
    {
        let args = [args, vec!["--schema", path_str(&fifo)]].concat();
        ends_on_sigterm_while_it_waits(&sandbox, &db, &args);
    }
}

/// `patch` whose patch file or `--users` file is a FIFO no one writes: the same (bb25 P01;
/// `timeout` never ended it, a first Ctrl-C did nothing).
#[test]
fn a_patch_or_users_fifo_no_one_writes_gives_way_to_a_signal() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let fifo = a_fifo(&sandbox, "patch.fifo");
    let patch = sandbox.file("patch.json", br#"[{"op":"add","path":"/fifo","value":1}]"#);
    // The dry runs too: nothing to close there, but a signal killed them with no word and
    // exit 143 where this says 130 (bb37 #3).
    for args in [
        vec!["patch", path_str(&fifo), "--all", "--yes"],
        vec!["patch", path_str(&patch), "--users", path_str(&fifo), "--yes"],
        vec!["patch", path_str(&fifo), "--all"],
        vec!["patch", path_str(&patch), "--users", path_str(&fifo)],
    ] {
        ends_on_sigterm_while_it_waits(&sandbox, &db, &args);
    }
}

/// A `--users` file of a million names is resolved ten thousand at a time, and a signal is
/// looked at between them: it was acted on once the whole list was resolved, seconds later
/// (bb25 P10). A file is always ready to read, so no wait ever looked.
#[test]
fn a_signal_while_a_long_users_file_is_resolved_ends_the_patch_at_once() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let users = sandbox.file("users.txt", "admin\n".repeat(1_000_000).as_bytes());
    let patch = sandbox.file("patch.json", br#"[{"op":"add","path":"/late","value":1}]"#);
    let mut command =
        sandbox.command(&db, &["patch", path_str(&patch), "--users", path_str(&users), "--yes"]);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    support::run::wait_until_catching(child.id(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = support::run::ended_within(&mut child, Duration::from_secs(60)).expect("it ends");
    assert!(signalled.elapsed() < Duration::from_secs(3), "ended {:?} after the signal", signalled.elapsed());
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(sandbox.snapshot(&db), before, "nothing written");
}

/// A FIFO named `name` in the sandbox, which no one writes.
fn a_fifo(sandbox: &Sandbox, name: &str) -> PathBuf {
    let fifo = sandbox.home.path(name);
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    fifo
}

/// Runs `args`, which wait on a FIFO, sends SIGTERM after half a second, and wants the command
/// ended within 20 s: exit 130 (a read-only `schema check` may end by the signal itself), and
/// the database as it was.
fn ends_on_sigterm_while_it_waits(sandbox: &Sandbox, db: &Path, args: &[&str]) {
    let before = sandbox.snapshot(db);
    let mut command = sandbox.command(db, args);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    // A command that writes catches the signal (a read-only `schema check` never does).
    if args[0] != "schema" {
        support::run::wait_until_catching(child.id(), libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = support::run::ended_within(&mut child, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{args:?}: still waiting on the FIFO 20 s after SIGTERM"));
    // A command that writes notes the signal and says so (130); a read-only one may just end.
    use std::os::unix::process::ExitStatusExt;
    let ended = status.code() == Some(130) || (args[0] == "schema" && status.signal() == Some(libc::SIGTERM));
    assert!(ended, "{args:?}: {status:?}");
    assert_eq!(sandbox.snapshot(db), before, "{args:?}: nothing written");
}

/// A record of more values than a user can hold (1 MiB of fields and 1 MiB of customData) is
/// refused before it is parsed: a `profile` of 3.4 million `[0]` took 1.4 GB parsed before its
/// size was refused (bb24 L04). A JSON array's record too.
#[test]
fn a_record_of_more_values_than_a_user_can_hold_is_refused_before_it_is_parsed() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let many = vec!["[0]"; 1_200_000].join(",");
    let record = format!("{{\"id\":\"heavy1\",\"profile\":{{\"a\":[{many}]}}}}");
    for (name, text) in [("lines.jsonl", format!("{record}\n")), ("array.json", format!("[{record}]"))] {
        let file = sandbox.file(name, text.as_bytes());
        let mut command = sandbox.command(&db, &["import", "--upsert", path_str(&file)]);
        command.stdout(std::process::Stdio::null());
        let run = Run::within(command, std::time::Duration::from_secs(120));
        let error = run.fails(4);
        assert!(error.contains("holds more than 1,100,000 values (commas and brackets)"), "{error}");
        assert_eq!(sandbox.snapshot(&db), before, "nothing imported");
    }
}

#[test]
fn a_user_whose_export_line_an_import_could_not_read_back_is_never_stored() {
    // A 15 MiB profile imported (its export line then grew past the 16 MiB an import reads),
    // or two 10 MiB upserts adding up: export wrote a file that import refused whole. The
    // bound is 1 MiB since a profile of many short values took 1.4 GB parsed (bb24 L04).
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let before = sandbox.snapshot(&db);
    let big = |id: &str, field: &str, kib: usize| {
        format!("{{\"id\":\"{id}\",\"{field}\":{{\"blob\":\"{}\"}}}}\n", "x".repeat(kib * 1024))
    };
    let whole = sandbox.file("whole.jsonl", big("huge1", "profile", 15 * 1024).as_bytes());
    let run = sandbox.on(&db, &["import", path_str(&whole)]);
    assert_eq!(run.code, 4, "{run:?}");
    // In bytes: in MiB it read "would take 1 MiB, over the 1 MiB" just past the limit (bb71 F6).
    let said = |run: &Run, line: &str| {
        let at = run.stderr.find(line).unwrap_or_else(|| panic!("{line}: {run:?}"));
        let rest = &run.stderr[at + line.len()..];
        assert!(
            rest.starts_with("user huge1: not saved: its fields besides customData would take 15,7"),
            "{run:?}"
        );
        assert!(rest.contains(" B (15 MiB), over the 1,048,576 B a user may take"), "{run:?}");
    };
    said(&run, "line 1: ");
    assert_eq!(sandbox.snapshot(&db), before, "nothing imported");
    // Into an empty database (the bulk load) the record is named by its line too, not by its
    // id alone (bb71 F1).
    let empty = sandbox.path("empty.redb");
    sandbox.ok(&empty, &["init"]);
    let run = sandbox.on(&empty, &["import", path_str(&whole)]);
    assert_eq!(run.code, 4, "{run:?}");
    said(&run, "custodian: line 1: ");
    // In halves, by upsert: the first lands, the second would make the user too large.
    let first = sandbox.file("first.jsonl", big("huge2", "profile", 600).as_bytes());
    sandbox.ok(&db, &["import", path_str(&first)]);
    let second = sandbox.file("second.jsonl", big("huge2", "notes", 600).as_bytes());
    let run = sandbox.on(&db, &["import", "--upsert", path_str(&second)]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("user huge2: not saved: its fields besides customData would take 1,2"),
        "{run:?}"
    );
    // What is stored exports to a file that imports again.
    let exported = sandbox.file("all.jsonl", sandbox.ok(&db, &["export"]).as_bytes());
    let copy = sandbox.path("copy.redb");
    sandbox.ok(&copy, &["init"]);
    sandbox.ok(&copy, &["import", path_str(&exported)]);
}

/// A clock set wrong stamps users with times the store keeps: before 1970 an import gave a
/// user a negative `createdAt` that no read took back, and `list` and `export` of the whole
/// database failed from then on; past the year 9999 `set` panicked (bb45 F3). Both are held to
/// the times a user may carry (`CUSTODIAN_TEST_CLOCK_MS` stands for the clock in debug builds).
#[test]
fn a_clock_set_before_1970_or_after_9999_stamps_times_every_read_takes_back() {
    let sandbox = Sandbox::new();
    let db = sandbox.demo();
    let with_clock = |ms: &str, args: &[&str], input: &str| {
        let mut command = sandbox.command(&db, args);
        command.env("CUSTODIAN_TEST_CLOCK_MS", ms);
        let run = Run::of(command, Some(input.as_bytes()));
        assert_eq!(run.code, 0, "{args:?} with the clock at {ms}: {run:?}");
    };
    with_clock("-60000", &["import", "-"], r#"{"id":"late1","username":"late1","customData":{}}"#);
    with_clock("-60000", &["set", "admin", "-"], r#"{"before":1970}"#);
    // After 9999: 300,000,000,000,000 ms is in the year 11476.
    with_clock("300000000000000", &["import", "-"], r#"{"id":"late2","username":"late2","customData":{}}"#);
    with_clock("300000000000000", &["set", "late1", "-"], r#"{"after":9999}"#);
    let exported = sandbox.ok(&db, &["export"]);
    assert_eq!(exported.lines().count(), 202, "every user exported");
    let user = |id: &str| -> serde_json::Value {
        let line = exported.lines().find(|line| line.contains(&format!("\"id\":\"{id}\""))).expect(id);
        serde_json::from_str(line).expect("a JSON line")
    };
    assert_eq!(user("late1")["createdAt"], 0, "1970-01-01, not before");
    assert_eq!(user("late1")["updatedAt"], 253_402_300_799_999_i64, "the last time a user may carry");
    assert_eq!(user("late2")["createdAt"], 253_402_300_799_999_i64);
    assert_eq!(sandbox.ok(&db, &["list", "--limit", "0"]).lines().count(), 203);
    sandbox.ok(&db, &["changes", "--limit", "0"]);
    // The export is an import's: every time in it is one an import takes.
    let again = sandbox.path("again.redb");
    sandbox.ok(&again, &["init"]);
    let file = sandbox.file("all.jsonl", exported.as_bytes());
    sandbox.ok(&again, &["import", path_str(&file)]);
}
