//! The history overlay on a user with 200 revisions of ~1 MiB each (issue 16): the time from
//! `h` to the overlay, and the process's peak memory before and after, in-process.
//!
//! ```sh
//! cargo run --release --example history_memory
//! ```

use std::time::Instant;

use custodian::domain::import::ImportReader;
use custodian::domain::{CustomData, Limits};
use custodian::store::{Author, ImportMode, OpenOptions, RedbStore, UserStore};
use custodian::tui::app::{Action, State, update};
use custodian::tui::{Runtime, run_effects};

fn peak_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid rusage for getrusage to fill.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn document(n: usize) -> String {
    let events: Vec<serde_json::Value> = (0..5_400)
        .map(|i| {
            let kind = ["login", "logout", "purchase", "refund"][i % 4];
            serde_json::json!({
                "id": format!("evt-{i:06}"), "n": n, "kind": kind,
                "at": 1_700_000_000_000i64 + i as i64 * 61_000, "ok": i % 7 != 0,
                "meta": {"path": format!("/app/section/{}", i % 97), "ms": i % 1000}
            })
        })
        .collect();
    serde_json::json!({ "events": events, "revision": n, format!("key{}", n % 7): true }).to_string()
}

fn main() -> anyhow::Result<()> {
    // The database is written by a child process, so this one's peak memory is the history's.
    let args: Vec<String> = std::env::args().collect();
    if let [_, build, path] = args.as_slice()
        && build == "build"
    {
        let store = RedbStore::create(std::path::Path::new(path), OpenOptions::default())?;
        let line = "{\"id\":\"big00000001\",\"username\":\"big\"}\n";
        let mut reader = ImportReader::new(line.as_bytes(), Limits::default(), 1_700_000_000_000)?;
        store.import(&mut reader, ImportMode::InsertOnly, &Author("bench".into()))?;
        for n in 2..=200 {
            let data = CustomData::parse(&document(n))?;
            store.replace_custom_data("big00000001", &data, None, &Author("bench".into()))?;
        }
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("users.redb");
    let built = std::process::Command::new(&args[0]).arg("build").arg(&path).status()?;
    anyhow::ensure!(built.success(), "building the database failed");
    let store = RedbStore::open(&path, OpenOptions::default())?;
    println!("200 revisions of about {} bytes", document(200).len());
    let runtime = Runtime {
        store: &store,
        drafts: custodian::draft::Drafts::at(dir.path().join("drafts")),
        database: store.path().display().to_string(),
        scanner: None,
        workers: None,
        checker: None,
    };
    let mut state = State::new(120, 40, false);
    let effects = state.start();
    run_effects(&runtime, &mut state, effects);
    // The reads alone, for comparison with what summing up adds.
    let reads = Instant::now();
    for info in store.history("big00000001")? {
        std::hint::black_box(store.revision_text("big00000001", info.revision)?);
    }
    println!("reading the 200 texts alone: {:?}", reads.elapsed());
    let before = peak_rss_mib();
    let started = Instant::now();
    let effects = update(&mut state, Action::OpenHistory);
    run_effects(&runtime, &mut state, effects);
    let took = started.elapsed();
    let entries = state.history.as_ref().map_or(0, |h| h.entries.len());
    // Walk to the oldest revision, reading each text as it is selected.
    for _ in 0..entries {
        let effects = update(&mut state, Action::HistoryUp);
        run_effects(&runtime, &mut state, effects);
    }
    println!(
        "h → overlay with {entries} revisions: {took:?}; peak RSS {before:.0} MiB before, {:.0} MiB after walking every revision",
        peak_rss_mib()
    );
    Ok(())
}
