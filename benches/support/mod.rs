//! The database the benchmarks read: `CUSTODIAN_BENCH_USERS` synthetic users (1,000,000 unless
//! set; `CUSTODIAN_BENCH_USERS=1000` builds in a moment), built once under
//! `target/bench-data/` exactly as `custodian seed` builds it, and reused by later runs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use custodian::domain::synthetic::SyntheticUsers;
use custodian::store::{Author, OpenOptions, RedbStore, UserStore};

/// Users per transaction, as `custodian seed` writes them.
pub const SEED_BATCH: usize = 100_000;

/// How many users the benchmark database holds.
pub fn user_count() -> u64 {
    match std::env::var("CUSTODIAN_BENCH_USERS") {
        Ok(text) => match text.replace(['_', ','], "").parse() {
            Ok(n) if n > 0 => n,
            _ => panic!("CUSTODIAN_BENCH_USERS={text:?}: expected a positive number of users"),
        },
        Err(_) => 1_000_000,
    }
}

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
    target.join("bench-data")
}

/// Adds `users` synthetic users to `store` in batches, as `custodian seed` does.
pub fn seed(store: &RedbStore, users: u64, seed: u64) {
    let author = Author("bench (seed)".into());
    let mut generator = SyntheticUsers::new(seed, store.count().expect("count users"));
    let mut remaining = users;
    while remaining > 0 {
        let batch: Vec<_> = generator.by_ref().take(remaining.min(SEED_BATCH as u64) as usize).collect();
        store.insert_batch(&batch, &author).expect("insert a batch of synthetic users");
        remaining -= batch.len() as u64;
    }
}

/// The benchmark database, opened as the TUI opens it; built first when missing. A build
/// goes to a temporary name and is renamed when complete, so an interrupted one is not reused.
pub fn database() -> (PathBuf, RedbStore) {
    let users = user_count();
    let dir = data_dir();
    let path = dir.join(format!("users-{users}.redb"));
    if !path.exists() {
        std::fs::create_dir_all(&dir).expect("create target/bench-data");
        let building = dir.join(format!("users-{users}.redb.building"));
        let _ = std::fs::remove_file(&building);
        eprintln!("building {} ({users} users, once) …", path.display());
        let started = Instant::now();
        {
            let store = RedbStore::create(&building, OpenOptions::bulk()).expect("create the database");
            seed(&store, users, 1);
        }
        std::fs::rename(&building, &path).expect("move the finished database into place");
        eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    }
    let store = RedbStore::open(&path, OpenOptions::default()).expect("open the benchmark database");
    assert_eq!(
        store.count().expect("count users"),
        users,
        "{} holds another number of users",
        path.display()
    );
    (path, store)
}
