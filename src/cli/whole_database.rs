//! The commands over the whole database besides `import`: `export` and `seed` (with the
//! compaction after a large load).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use super::{Output, progress};
use crate::domain::synthetic::SyntheticUsers;
use crate::export;
use crate::inert;
use crate::store::{Author, RedbStore, StoreError, UserStore};

pub(super) fn export(
    store: &dyn UserStore,
    file: Option<&Path>,
    quiet: bool,
    out: &mut Output,
) -> Result<()> {
    let bar = progress(
        Some(store.count()?),
        quiet,
        "{spinner} {human_pos}/{human_len} users · {per_sec} · ETA {eta}",
    );
    // Users read while they are sorted, then lines written: the bar never goes back.
    let told = |done: u64| bar.set_position(done.max(bar.position()));
    let exported = match file {
        None => {
            let mut lines: u64 = 0;
            export::each_line(store, &told, &mut |line| {
                lines += 1;
                if lines.is_multiple_of(4096) {
                    told(lines);
                }
                out.streamed_json(line)
            })
            .map(|_| ())
        }
        Some(path) => export::to_file_telling(store, path, &told).map(|count| {
            bar.finish_and_clear();
            eprintln!("exported {count} users to {}", inert::line(&path.display().to_string()));
        }),
    };
    bar.finish_and_clear();
    exported
}

/// Bulk loads (a seed, an import into an empty database) of at least this many users
/// compact the file afterwards: redb grew it in large steps, and a third of it is free space
/// (20,000 users: a fraction of a second; 1M: ~4 s).
pub(super) const COMPACT_AFTER: u64 = 10_000;

/// Gives back the room a large load left in the file (redb grows files in large steps).
pub(super) fn compact_after_load(store: &mut RedbStore, out: &mut Output) -> Result<()> {
    let started = Instant::now();
    let before = std::fs::metadata(store.path()).map(|m| m.len()).unwrap_or(0);
    match store.compact() {
        Ok(()) => {
            let after = std::fs::metadata(store.path()).map(|m| m.len()).unwrap_or(0);
            out.line(&format!(
                "compacted {} MB to {} MB in {:.1} s",
                before / 1_000_000,
                after / 1_000_000,
                started.elapsed().as_secs_f64(),
            ))?;
        }
        // The users are in; a file larger than it needs to be is no reason to fail.
        Err(e) => eprintln!("custodian: warning: the file was not compacted: {e}"),
    }
    Ok(())
}

pub(super) fn seed_users(
    store: &mut RedbStore,
    users: u64,
    seed: u64,
    quiet: bool,
    out: &mut Output,
) -> Result<()> {
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    let started = Instant::now();
    let author = Author(format!("{} (seed)", Author::from_environment().0));
    let existing = store.count()?;
    // A second run with the same seed into the same database must not repeat the ids.
    let generator = SyntheticUsers::new(seed ^ existing.wrapping_mul(0x9E37_79B9_7F4A_7C15), existing);
    // One transaction: all of the users or none, written as one sorted bulk load.
    let bar = progress(Some(users), quiet, "{spinner} {human_pos}/{human_len} users · {per_sec} · ETA {eta}");
    let mut made: u64 = 0;
    let mut generated = generator.take(users as usize).inspect(|_| {
        made += 1;
        if made.is_multiple_of(4096) {
            bar.set_position(made);
        }
    });
    let loaded = store.bulk_insert(&mut generated, &author);
    bar.finish_and_clear();
    loaded?;
    let seeded = started.elapsed();
    tracing::info!(users, "seed written");
    out.line(&format!("seeded {users} users in {:.1} s", seeded.as_secs_f64()))?;
    // Large loads leave the file with room it no longer needs; small ones are not worth it.
    if users >= COMPACT_AFTER {
        compact_after_load(store, out)?;
    }
    Ok(())
}
