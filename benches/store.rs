//! The store's side of "a million users without a pause": a page of the list from a key,
//! prefix search from the indexes, a full substring scan, every user read as an export reads
//! them, a durable save and a bulk seed.
//! `CUSTODIAN_BENCH_USERS` sets the size of the database (default 1,000,000; see `support`).

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use custodian::domain::CustomData;
use custodian::domain::synthetic::SyntheticUsers;
use custodian::store::{Author, ListKey, OpenOptions, RedbStore, Seek, UserStore};

/// Rows the list reads per page in the benchmark.
const PAGE: usize = 50;
/// Matches a prefix search asks for: two screenfuls of a 40-row terminal, as the TUI does.
const PREFIX_LIMIT: usize = 72;
/// Users per step of the scan, as the TUI's background scanner reads them.
const SCAN_STEP: usize = 5_000;

fn page_reads(c: &mut Criterion, store: &RedbStore) {
    let first = store.page_after(None, 1).expect("first row");
    let middle = store.rows(&Seek::From(ListKey("m".into())), 1).expect("a row from m");
    let mut group = c.benchmark_group("page_of_50");
    for (name, key) in [("from_first", &first[0].key), ("from_middle", &middle[0].key)] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(store.page_after(Some(black_box(key)), PAGE).expect("a page")))
        });
    }
    group.finish();
}

fn prefix_search(c: &mut Criterion, store: &RedbStore) {
    let mut group = c.benchmark_group("prefix_search");
    for query in ["a", "amelia.k", "zzq"] {
        group.bench_function(query, |b| {
            b.iter(|| {
                black_box(store.prefix_matches(black_box(query), PREFIX_LIMIT).expect("prefix matches"))
            })
        });
    }
    group.finish();
}

fn full_scan(c: &mut Criterion, store: &RedbStore) {
    let mut group = c.benchmark_group("substring_scan");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    // No user matches: the scan reads every profile and every document.
    group.bench_function("to_the_end_no_match", |b| {
        b.iter(|| {
            let mut after: Option<ListKey> = None;
            let mut scanned = 0;
            loop {
                let step =
                    store.scan_matches("zzzzqqq", after.as_ref(), SCAN_STEP, usize::MAX).expect("scan step");
                scanned += step.scanned;
                after = step.next;
                if after.is_none() {
                    break black_box(scanned);
                }
            }
        })
    });
    // The first step that holds 50 hits, as the list first fills while a scan runs.
    group.bench_function("first_50_hits_of_kovacs", |b| {
        b.iter(|| {
            let mut after: Option<ListKey> = None;
            let mut hits = 0;
            loop {
                let step =
                    store.scan_matches("kovacs", after.as_ref(), SCAN_STEP, usize::MAX).expect("scan step");
                hits += step.hits.len();
                after = step.next;
                if hits >= 50 || after.is_none() {
                    break black_box(hits);
                }
            }
        })
    });
    group.finish();
}

fn durable_save(c: &mut Criterion, store: &RedbStore) {
    let id = store.page_after(None, 1).expect("first row")[0].user.id.clone();
    let documents = [
        r#"{"adminConsolePreferences":{"language":"en","appearanceMode":"system","experienceNoticeConfirmed":true},"plan":{"tier":"pro","seats":12,"renewsOn":"2027-01-01"},"notifications":{"email":true,"push":false,"digest":"weekly"},"onboarding":{"completed":true,"step":5},"featureFlags":["new-editor","beta-search"]}"#,
        r#"{"adminConsolePreferences":{"language":"de","appearanceMode":"dark","experienceNoticeConfirmed":false},"plan":{"tier":"team","seats":30,"renewsOn":"2027-06-01"},"notifications":{"email":false,"push":true,"digest":"daily"},"onboarding":{"completed":false,"step":2},"featureFlags":["new-editor"]}"#,
    ]
    .map(|text| CustomData::parse(text).expect("a valid document"));
    let author = Author("bench".into());
    let mut turn = 0usize;
    c.bench_function("durable_save_300B", |b| {
        b.iter(|| {
            // Alternate the two documents so every save changes the user (and is written).
            turn += 1;
            let data = &documents[turn % 2];
            black_box(store.replace_custom_data(&id, data, None, &author).expect("save"))
        })
    });
}

fn seed_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("seed");
    group.sample_size(10);
    group.bench_function("10k_users_into_a_fresh_db", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store =
                    RedbStore::create(&dir.path().join("users.redb"), OpenOptions::bulk()).expect("create");
                (dir, store)
            },
            |(dir, store)| {
                let author = Author("bench (seed)".into());
                let batch: Vec<_> = SyntheticUsers::new(1, 0).take(10_000).collect();
                black_box(store.insert_batch(&batch, &author).expect("insert"));
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// `changes --since 1h` as the CLI asks it (the newest 100 entries and one to know there are
/// more), and `--user` (one range of the user index); the bench database's users were all
/// saved within the hour, so the time bound alone would not stop the read.
fn journal_reads(c: &mut Criterion, store: &RedbStore) {
    use custodian::store::JournalQuery;
    let mut group = c.benchmark_group("journal");
    let read = |query: &JournalQuery| {
        let mut seen = 0;
        store
            .journal(query, &mut |_| {
                seen += 1;
                Ok(seen < 101)
            })
            .expect("journal");
        seen
    };
    let since = JournalQuery {
        since: Some(custodian::domain::time::now_ms() - 3_600_000),
        ..JournalQuery::default()
    };
    group.bench_function("since_1h_newest_101", |b| b.iter(|| black_box(read(black_box(&since)))));
    let first = store.page_after(None, 1).expect("first row");
    let user = JournalQuery { user_id: Some(first[0].user.id.clone()), ..JournalQuery::default() };
    group.bench_function("one_user", |b| b.iter(|| black_box(read(black_box(&user)))));
    group.finish();
}

/// Every user with their document, as an export reads them: in list order (two lookups by id
/// per user) and in the store's own order (both tables front to back, decoded on a second
/// thread), which the export then sorts itself.
fn whole_database_reads(c: &mut Criterion, store: &RedbStore) {
    let mut group = c.benchmark_group("whole_database_read");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("list_order", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            store
                .for_each_user(&mut |record, text| {
                    bytes += record.user.id.len() + text.len();
                    Ok(())
                })
                .expect("read");
            black_box(bytes)
        })
    });
    group.bench_function("any_order", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            store
                .for_each_user_in_any_order(&mut |key, record, text| {
                    bytes += key.len() + record.user.id.len() + text.len();
                    Ok(())
                })
                .expect("read");
            black_box(bytes)
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let (_path, store) = support::database();
    whole_database_reads(c, &store);
    page_reads(c, &store);
    prefix_search(c, &store);
    full_scan(c, &store);
    durable_save(c, &store);
    journal_reads(c, &store);
    seed_10k(c);
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
