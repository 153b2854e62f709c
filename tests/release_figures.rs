//! Figures the README gives for a release build, asserted in a release build: `.ci/run` runs
//! `cargo test --release --test release_figures` (one test binary; `cargo test` leaves it out,
//! see `test = false` in Cargo.toml). Built in debug it refuses to run rather than pass with a
//! limit nobody meant.
//!
//! Best of five for each figure: the CI machine's two cores are shared, and the question is
//! what the code costs, not how busy the neighbours were.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use custodian::domain::secrets::find_secrets;
use support::home::PrivateHome;
use support::run::Run;

const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

#[track_caller]
fn release_only() {
    assert!(
        !cfg!(debug_assertions),
        "release figures mean nothing in a debug build: run `cargo test --release --test release_figures`"
    );
}

fn best_of_five(mut run: impl FnMut()) -> Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .unwrap_or(Duration::MAX)
}

/// The README ("Speed" of the secrets lint): a 1 MiB document is linted in under 50 ms.
#[test]
fn a_one_mebibyte_document_is_linted_in_under_50_ms() {
    release_only();
    for (shape, document) in support::documents::one_mebibyte_documents() {
        let best = best_of_five(|| {
            std::hint::black_box(find_secrets(&document));
        });
        println!("secrets lint, 1 MiB of {shape}: best of 5 {best:?}");
        assert!(best < Duration::from_millis(50), "{shape}: {best:?}");
    }
}

/// The README (the deployment's JSON Schema): a document of 80,000 keys, each refused by a
/// `propertyNames` rule, is checked in under half a second; each key's error wrote the whole
/// object out again, and 20,000 keys took 36 s (bb89 F2).
#[test]
fn a_document_of_80000_keys_each_refused_by_property_names_is_checked_in_under_half_a_second() {
    release_only();
    let shape =
        custodian::domain::shape::Shape::compile(r#"{"propertyNames":{"maxLength":3}}"#).expect("a schema");
    let object: serde_json::Map<String, serde_json::Value> =
        (0..80_000).map(|n| (format!("k{n}"), serde_json::Value::from(1))).collect();
    let text = serde_json::to_string(&object).expect("json");
    let document = serde_json::Value::Object(object);
    let mut found = 0;
    let best = best_of_five(|| found = shape.violations(&text, &document).len());
    println!("propertyNames over 80,000 keys: {found} errors, best of 5 {best:?}");
    assert_eq!(found, 80_000 - 100, "every key of four characters or more (all but k0…k99)");
    assert!(best < Duration::from_millis(500), "{best:?}");
}

/// The README's bad-input row: a 100 MB document is refused before it is parsed
/// (≈ 0.1–0.7 s), from a file and from stdin; the whole run of the binary is timed.
#[test]
fn a_100_mb_document_is_refused_within_a_second() {
    release_only();
    let home = PrivateHome::new(&[]);
    let db = home.path("users.redb");
    let command = |args: &[&str]| {
        let mut command = home.custodian();
        command.arg("--db").arg(&db).args(args);
        command
    };
    Run::of(command(&["init"]), None).ok();
    Run::of(command(&["import", DEMO_USERS]), None).ok();
    let file = home.path("big.json");
    std::fs::write(&file, support::documents::a_100_mb_document_invalid_from_its_first_bytes())
        .expect("write the 100 MB document");
    let path = file.to_str().expect("utf-8 temp path");
    for stdin in [false, true] {
        let best = best_of_five(|| {
            let mut set = command(&["set", "admin", if stdin { "-" } else { path }]);
            if stdin {
                set.stdin(std::fs::File::open(&file).expect("open the document"));
            }
            let line = Run::of(set, None).fails(4);
            assert_eq!(line, "custodian: the document is 100 MiB but the limit is 1 MiB");
        });
        let from = if stdin { "stdin" } else { "a file" };
        println!("100 MB document from {from} refused: best of 5 {best:?}");
        assert!(best < Duration::from_secs(1), "from {from}: {best:?}");
    }
}

/// A copy of `bytes` with page `page` damaged: variants 0 and 1 flip 64 of its bytes (a
/// black-box pass's recipe: small damage that leaves most reads working); variant 2, on a
/// B-tree leaf of redb's (its first byte 1), makes its first entry end 2.3 MB past the page.
fn with_a_page_flipped(bytes: &[u8], page: usize, variant: u64) -> Vec<u8> {
    let mut damaged = bytes.to_vec();
    if variant == 2 {
        if damaged[page * 4096] == 1 {
            damaged[page * 4096 + 6] ^= 0x24;
        }
        return damaged;
    }
    let mut state = (page as u64 * 100 + variant).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        damaged[page * 4096 + (state as usize) % 4096] ^= 1 + (state >> 32) as u8 % 255;
    }
    damaged
}

/// Release only: redb's debug assertions refuse such a file at its open, so a debug build never
/// meets what follows. bb76 F1: a `set` refused on a file whose record of free pages was damaged left it for a
/// repair, and the repair `info` makes then panicked inside redb as it closed the file: exit
/// 101 after the info was printed; with other noise in redb's freed-pages tree the `set`
/// itself aborted (a destructor of redb's panicking while the first panic unwound: SIGABRT,
/// exit 134, "thread caused non-unwinding panic"); and `compact` said to leave off a
/// `--read-only` never given. Each page of a small file is damaged in turn, a few ways: no
/// command ends other than 0, 1 or 3 (an index's noise: no such user), and the panics redb cannot take back are met and said.
#[test]
fn a_write_refused_on_a_damaged_page_and_the_repair_after_it_never_end_as_a_panic() {
    release_only();
    let home = PrivateHome::new(&[]);
    let on = |db: &std::path::Path, args: &[&str]| on_file(&home, db, args);
    let base = home.path("base.redb");
    let (user, doc) = twenty_users_and_a_document(&home, &base);
    let good = fs::read(&base).expect("read the database");
    let db = home.path("damaged.redb");
    let mut problems = Vec::new();
    let (mut said_uncontained, mut closes_that_failed) = (0, 0);
    for page in 1..good.len() / 4096 {
        for variant in 0..3 {
            fs::write(&db, with_a_page_flipped(&good, page, variant)).expect("write");
            fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).expect("chmod");
            let set = on(&db, &["set", &user, doc.to_str().expect("utf-8")]);
            let info = on(&db, &["info"]);
            let compact = on(&db, &["compact"]);
            // The repair made, the info printed, then redb's close gave up (it was exit 101).
            closes_that_failed += usize::from(info.code == 1 && info.stdout.contains("schema version"));
            for (what, run) in [("set", &set), ("info after it", &info), ("compact after them", &compact)] {
                // Only a panic nothing could contain quotes redb's own words.
                said_uncontained += usize::from(run.stderr.contains("(redb: "));
                let panicked = ["internal error", "Please report", "non-unwinding"]
                    .iter()
                    .any(|w| run.stderr.contains(w));
                let option_never_given = run.stderr.contains("without --read-only");
                // 3: the noise fell in an index, and the user is not found there.
                if panicked || option_never_given || ![0, 1, 3].contains(&run.code) {
                    problems.push(format!(
                        "page {page} variant {variant}, {what}: exit {}: {}",
                        run.code,
                        run.stderr.trim_end()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(said_uncontained > 0, "no damage reached a panic redb cannot take back: the test tests nothing");
    assert!(
        closes_that_failed > 0,
        "no damage made redb's close fail after a repair: the test tests nothing"
    );
}

/// bb84 F3: a damaged page of redb's table definitions (byte 1000 of page 25 of a 20-user
/// file) made `set` say redb's own words, `database error: Current definition of u64 does not
/// match stored definition …`, naming no file and no damage. Release only: redb's debug
/// assertions refuse such a file at its open.
#[test]
fn a_write_on_a_damaged_table_definition_names_the_file_and_the_damage() {
    release_only();
    let home = PrivateHome::new(&[]);
    let db = home.path("definitions.redb");
    let (user, doc) = twenty_users_and_a_document(&home, &db);
    let mut bytes = fs::read(&db).expect("read");
    bytes[25 * 4096 + 1000] ^= 0xff;
    fs::write(&db, &bytes).expect("damage");
    let error = on_file(&home, &db, &["set", &user, doc.to_str().expect("utf-8")]).fails(1);
    let said = format!(
        "{}: the database file is damaged: a table's stored definition is not the one custodian made it with (redb: ",
        db.display()
    );
    assert!(error.contains(&said) && error.ends_with("; restore it from a backup"), "{error}");
}

/// `custodian --db DB ARGS`, failing the test past a minute.
fn on_file(home: &PrivateHome, db: &std::path::Path, args: &[&str]) -> Run {
    let mut command = home.custodian();
    command.arg("--db").arg(db).args(args);
    Run::within(command, Duration::from_secs(60))
}

/// A database of 20 seeded users at `db`, the id of its first, and a document to save.
fn twenty_users_and_a_document(home: &PrivateHome, db: &std::path::Path) -> (String, std::path::PathBuf) {
    on_file(home, db, &["init"]).ok();
    on_file(home, db, &["seed", "--users", "20"]).ok();
    let user = on_file(home, db, &["list", "--limit", "1", "--json"]).ok().stdout;
    let user: serde_json::Value = serde_json::from_str(user.lines().next().expect("a user")).expect("json");
    let doc = home.path("doc.json");
    fs::write(&doc, b"{\"x\": 1}").expect("write the document");
    (user["id"].as_str().expect("an id").to_owned(), doc)
}
