//! Figures the README gives for a release build, asserted in a release build: `.ci/run` runs
//! `cargo test --release --test release_figures` (one test binary; `cargo test` leaves it out,
//! see `test = false` in Cargo.toml). Built in debug it refuses to run rather than pass with a
//! limit nobody meant.
//!
//! Best of five for each figure: the CI machine's two cores are shared, and the question is
//! what the code costs, not how busy the neighbours were.

mod support;

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
