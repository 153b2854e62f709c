//! The journal's figures for the README: what it adds to an import, how fast `changes` reads
//! the newest saves of a big database, and how long the upgrade that builds it from the
//! history takes.
//!
//! ```sh
//! cargo run --release --example journal_figures -- 100000 1000000
//! ```
//!
//! 1. An import of the first number of users (one transaction), then the same journal rows
//!    written alone into tables of the journal's shape: the share of the import they cost.
//!    (Since layout 8 an import into an empty file journals one entry for the whole load, so
//!    this is what one entry per user would cost it, as an upsert import still pays.)
//! 2. The second number of users seeded, then each saved once more (an upsert of every user
//!    with one key changed): N users, 2N revisions. The journal read as `changes --since 1h`
//!    reads it (the newest 101 entries), by user and by an unknown batch.
//! 3. The same file made layout 4 again (journal tables dropped) and opened: the upgrade
//!    back-fills 2N entries from the history.
//!
//! Files go under `target/journal-figures/` and are deleted at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use custodian::domain::synthetic::SyntheticUsers;
use custodian::domain::{CustomData, Limits};
use custodian::store::{
    Author, ImportMode, JournalEntry, JournalQuery, NewUser, OpenOptions, RecordError, RedbStore, UserStore,
};
use serde_json::Value;

type Row = (&'static str, u64, &'static str, u64, &'static str, &'static str);
const JOURNAL: redb::TableDefinition<(i64, u64), Row> = redb::TableDefinition::new("journal");
const BY_USER: redb::TableDefinition<(&str, u64), (i64, u64)> = redb::TableDefinition::new("journal_by_user");

fn main() -> Result<()> {
    let numbers: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let (import_users, big_users) = (numbers.first().copied().unwrap_or(100_000), numbers.get(1).copied());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/journal-figures");
    std::fs::create_dir_all(&dir)?;
    let author = Author("figures".into());

    // 1. The journal's share of an import.
    let path = dir.join("import.redb");
    let _ = std::fs::remove_file(&path);
    let store = RedbStore::create(&path, OpenOptions { cache_bytes: 24 << 20, ..OpenOptions::default() })?;
    let mut users = SyntheticUsers::new(7, 0).take(import_users as usize).map(Ok::<NewUser, RecordError>);
    let started = Instant::now();
    store.import(&mut users, ImportMode::InsertOnly, &author)?;
    let import_time = started.elapsed();
    let mut rows: Vec<JournalEntry> = Vec::new();
    store.journal(&JournalQuery::default(), &mut |e| {
        rows.push(e.clone());
        Ok(true)
    })?;
    rows.reverse();
    drop(store);
    let alone = dir.join("journal-alone.redb");
    let _ = std::fs::remove_file(&alone);
    let db = redb::Builder::new().set_cache_size(24 << 20).create(&alone)?;
    let started = Instant::now();
    let tx = db.begin_write()?;
    {
        let mut journal = tx.open_table(JOURNAL)?;
        let mut by_user = tx.open_table(BY_USER)?;
        for (sequence, e) in rows.iter().enumerate() {
            let keys = serde_json::to_string(&[&e.added, &e.removed, &e.changed])?;
            let key = (e.saved_at, sequence as u64);
            journal.insert(
                key,
                (e.user_id.as_str(), e.revision, e.saved_by.as_str(), e.size as u64, keys.as_str(), ""),
            )?;
            by_user.insert((e.user_id.as_str(), e.revision), key)?;
        }
    }
    tx.commit()?;
    let journal_time = started.elapsed();
    drop(db);
    println!(
        "import of {import_users} users: {:.2} s; its {} journal rows written alone: {:.2} s ({:.0} % of the import)",
        import_time.as_secs_f64(),
        rows.len(),
        journal_time.as_secs_f64(),
        100.0 * journal_time.as_secs_f64() / import_time.as_secs_f64()
    );
    for file in [&path, &alone] {
        std::fs::remove_file(file)?;
    }
    drop(rows);

    let Some(big_users) = big_users else { return Ok(()) };
    // 2. N users, 2N revisions.
    let path = dir.join("big.redb");
    let _ = std::fs::remove_file(&path);
    let mut store = RedbStore::create(&path, OpenOptions::bulk())?;
    let started = Instant::now();
    store.bulk_insert(&mut SyntheticUsers::new(1, 0).take(big_users as usize), &author)?;
    println!("seeded {big_users} users in {:.1} s", started.elapsed().as_secs_f64());
    let limits = Limits::default();
    let mut changed = SyntheticUsers::new(1, 0).take(big_users as usize).map(|mut user| {
        let mut object = user.custom_data.take().map(CustomData::into_object).unwrap_or_default();
        object.insert("journalFigures".into(), Value::from(user.user.id.len()));
        user.custom_data = CustomData::from_value(Value::Object(object), &limits).ok();
        Ok::<NewUser, RecordError>(user)
    });
    let started = Instant::now();
    store.import(&mut changed, ImportMode::Upsert, &author)?;
    println!("saved each once more (upsert) in {:.1} s", started.elapsed().as_secs_f64());
    store.compact()?;
    drop(store);
    let store = RedbStore::open(&path, OpenOptions::default())?;
    let now = custodian::domain::time::now_ms();
    let newest = |query: &JournalQuery| -> Result<(Duration, usize)> {
        let mut times = Vec::new();
        let mut seen = 0;
        for _ in 0..21 {
            let started = Instant::now();
            seen = 0;
            store.journal(query, &mut |_| {
                seen += 1;
                Ok(seen < 101)
            })?;
            times.push(started.elapsed());
        }
        times.sort();
        Ok((times[10], seen))
    };
    let since = JournalQuery { since: Some(now - 3_600_000), ..JournalQuery::default() };
    let id = store
        .rows(&custodian::store::Seek::First, 1)?
        .first()
        .map(|e| e.user.id.clone())
        .context("a user")?;
    let by_user = JournalQuery { user_id: Some(id), ..JournalQuery::default() };
    let batch =
        JournalQuery { batch: Some(custodian::store::BatchId("b-none".into())), ..JournalQuery::default() };
    for (name, query) in [("--since 1h", &since), ("--user", &by_user), ("--batch (unknown)", &batch)] {
        let (median, seen) = newest(query)?;
        println!(
            "journal {name} at {big_users} users: {seen} entries in {:.2} ms (median of 21)",
            median.as_secs_f64() * 1e3
        );
    }
    drop(store);

    // 3. The upgrade from layout 4.
    let db = redb::Builder::new().open(&path)?;
    let tx = db.begin_write()?;
    tx.delete_table(JOURNAL)?;
    tx.delete_table(BY_USER)?;
    tx.delete_table(redb::TableDefinition::<(&str, i64, u64), ()>::new("journal_by_batch"))?;
    tx.delete_table(redb::TableDefinition::<(), u64>::new("journal_sequence"))?;
    tx.open_table(redb::TableDefinition::<&str, u64>::new("meta"))?.insert("schema_version", 4)?;
    tx.commit()?;
    drop(db);
    let started = Instant::now();
    let store = RedbStore::open(&path, OpenOptions::default())?;
    println!(
        "upgrade to layout 5 at {big_users} users: {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        store.upgrade_notes().join("; ")
    );
    drop(store);
    if std::env::var_os("KEEP").is_none() {
        std::fs::remove_file(&path)?;
    }
    Ok(())
}
