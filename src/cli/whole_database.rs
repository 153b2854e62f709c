//! The commands over the whole database besides `import`: `export`, `seed` and `compact`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};

use super::{Output, progress, two_phase_progress};
use crate::domain::import::RecordError;
use crate::domain::shape::Shape;
use crate::domain::synthetic::SyntheticUsers;
use crate::export;
use crate::inert;
use crate::store::{Author, OpenOptions, RedbStore, StoreError, UserStore};

pub(super) fn export(
    store: &dyn UserStore,
    file: Option<&Path>,
    quiet: bool,
    out: &mut Output,
) -> Result<()> {
    // Users printed on the terminal that would show the progress: its redraws were drawn
    // into the lines, erasing parts of them (bb35 #3 of the second pass).
    let quiet = quiet || (file.is_none() && out.is_terminal());
    // Users read (in the store's order, to be sorted), then lines written: each phase counts
    // and times its own, so the bar never stands at the read's count with "ETA 0s" while the
    // lines are written (bb35 #9).
    let bar = two_phase_progress(
        Some(store.count()?),
        quiet,
        "{spinner} {phase} {human_pos}/{human_len} users · {rate} · ETA {eta}",
        ("read", "written"),
    );
    let writing = std::sync::atomic::AtomicBool::new(false);
    let told = |progress: export::Progress| match progress {
        export::Progress::Read(read) => bar.set_position(read),
        export::Progress::Written(lines) => {
            // The reset starts the second phase: its word, count, rate and time together.
            if !writing.swap(true, std::sync::atomic::Ordering::Relaxed) {
                bar.reset();
            }
            bar.set_position(lines);
        }
    };
    // With --out a signal is noted, and stops the export at its next user (the database closed
    // cleanly, no file made); to stdout it ends the process as ever.
    let watch = export::Watch { told: &told, stopped: &crate::interrupt::requested };
    let exported = match file {
        None => {
            let mut lines: u64 = 0;
            export::each_line(store, &watch, &mut |line| {
                lines += 1;
                if lines.is_multiple_of(4096) {
                    told(export::Progress::Written(lines));
                }
                out.streamed_json(line)
            })
            .map(|_| ())
        }
        Some(path) => export::to_file(store, path, &watch).map(|count| {
            bar.finish_and_clear();
            // Quoted as a shell word: a blank name, or one ending in a space, was invisible
            // (bb34 #5).
            crate::stderr_line!(
                "exported {} to {}",
                crate::domain::patch::users(count),
                inert::line(&inert::shell_word(&path.display().to_string()))
            );
        }),
    };
    bar.finish_and_clear();
    exported
}

/// A write over many users that is no bulk load (a batch, its undo, an import record by
/// record) that grew the file by this much and by a quarter says so, and how to give the
/// room back: redb reuses the pages a transaction frees only after it commits, so a batch
/// over 1M users grew a 929 MB file to 3.7 GB. Compacting there and then would add half a
/// minute and memory in proportion to the file (7.4 GB: 35 s, 132 MB) to every such batch.
const GROWTH_WORTH_SAYING: u64 = 64 * 1024 * 1024;

/// The size of the store's file now (0 when it cannot be read).
pub(super) fn file_size(store: &RedbStore) -> u64 {
    size_of(store.path())
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// One stderr line when the write just made grew the file at `path` (closed) from `before`
/// past [`GROWTH_WORTH_SAYING`] and a quarter.
pub(super) fn say_if_grown(path: &Path, before: u64) {
    if let Some(line) = growth_line(before, size_of(path)) {
        crate::stderr_line!("custodian: {line}");
    }
}

fn growth_line(before: u64, after: u64) -> Option<String> {
    let grown = after.saturating_sub(before);
    (before > 0 && grown >= GROWTH_WORTH_SAYING && grown >= before / 4).then(|| {
        format!(
            "the file grew from {} to {}, much of it room later writes reuse; `custodian compact` gives it back before a copy or an archive (it needs the file to itself, 5–10 s a GB; the next write that needs room doubles a file under 4 GiB again)",
            file_size_said(before),
            file_size_said(after)
        )
    })
}

/// A file's size as `compact` says it too (a 143 KB file read "0 MB": bb24 L07; MB here and
/// MiB there named one file two ways: bb90 F1).
fn file_size_said(bytes: u64) -> String {
    crate::domain::human_bytes(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// `custodian compact`: the room large writes left unused, given back. The file is looked
/// at first as any command does (one that is no database; the default one made), then let
/// go: no handle of this process is open while its only writer compacts it.
pub(super) fn compact(db: Option<&Path>, read_only: bool) -> Result<()> {
    if read_only {
        return Err(StoreError::ReadOnly.into());
    }
    let options = OpenOptions { read_only: true, cache_bytes: super::BULK_LOAD_CACHE_BYTES };
    let path = match crate::database::open_quietly(db, options) {
        Ok(store) => store.path().to_owned(),
        // The look is read-only, not the operator's command: "opening it once without
        // --read-only" told them to leave off an option never given (bb76 F1).
        Err(e) => match e.downcast_ref::<StoreError>() {
            Some(StoreError::NeedsRepair { path, .. }) => bail!(
                "{path}: was not closed cleanly and needs a repair before it can be compacted (compact takes only a sound file); repair it with `custodian --db {} info`, then compact it",
                crate::inert::shell_word(path)
            ),
            _ => return Err(e),
        },
    };
    // redb's compaction cannot stop halfway, and killed there (Ctrl-C, SIGTERM, an SSH drop
    // of a minute's compaction) it left the file needing a repair that every `--read-only`
    // open refused to make: the first signal is noted, said at once, and the compaction ends.
    let _interrupts = crate::interrupt::arm().saying_when_noted(COMPACT_GOES_ON);
    super::contained_on(&path, super::Output::stdout().reporting_a_write(), |out| compact_file(&path, out))
}

/// What a signal during `compact` is told.
const COMPACT_GOES_ON: &str = "compact goes on to its end: stopped halfway it would leave the file needing a repair (a second signal stops it at once all the same: nothing is lost, and the next open without --read-only repairs the file)";

/// Compacts the file at `path` and says what it gave back, in how long.
fn compact_file(path: &Path, out: &mut Output) -> Result<()> {
    let started = Instant::now();
    let before = size_of(path);
    let _watch = CompactionWatch::start(path, before);
    RedbStore::compact_file(path).map_err(|e| match e {
        // Found partway: what was compacted before it is written. Said in compact's own
        // words: a write's "nothing was written" contradicted them (bb50 F3).
        StoreError::Database(detail) => {
            let detail = detail.split(": nothing was written").next().unwrap_or(&detail).to_owned();
            StoreError::Database(format!(
                "{}: compact stopped: {detail}; the file may have changed: `custodian export` tells whether it still reads every user (restore it from a backup if not)",
                path.display()
            ))
        }
        other => other,
    })?;
    let after = size_of(path);
    tracing::info!(before, after, "compacted");
    // In the unit that says it: a small file read "compacted 0 MB to 0 MB" (bb14 L18).
    out.line(&format!(
        "compacted {} to {} in {:.1} s",
        file_size_said(before),
        file_size_said(after),
        started.elapsed().as_secs_f64()
    ))
}

/// redb's compaction goes round for ever on some damaged files (bb82 F1: a 143 KB file spun
/// for 10 min of CPU, every signal but a second one said and waited out, so `timeout` and a
/// service manager's stop never ended it), and nothing stops it from outside. Past many times
/// what a file of its size takes (4 s a GB measured), the process ends as a kill would: the
/// last commit stands and the next read-write open repairs the file.
struct CompactionWatch {
    /// Dropped when the compaction returns: the watch's wait ends at once.
    _finished: std::sync::mpsc::Sender<()>,
}

impl CompactionWatch {
    fn start(path: &Path, bytes: u64) -> Self {
        let bound = compaction_bound(bytes);
        let (finished, ended) = std::sync::mpsc::channel::<()>();
        let path = inert::shell_word(&path.display().to_string()).into_owned();
        // Without a watch (no thread to be had) the compaction runs as it did: it is still the
        // operator's command.
        let _ = std::thread::Builder::new().name("custodian-compact-watch".into()).spawn(move || {
            if ended.recv_timeout(bound) != Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            tracing::warn!(seconds = bound.as_secs(), "compaction stopped: it did not end");
            crate::stderr_line!(
                "custodian: {path}: compact did not end within {} s, many times what a file of this size takes: redb's compaction goes round for ever on some damaged files; stopped, the file left as a kill leaves it: the next open without --read-only repairs it (`custodian --db {path} info`), and `custodian export` then tells whether it reads every user",
                bound.as_secs()
            );
            crate::interrupt::remove_before_a_forced_exit();
            std::process::exit(1);
        });
        Self { _finished: finished }
    }
}

/// How long a compaction of a file of `bytes` may run: 10 s, and 60 s a GB (15 times the
/// measured rate, so a slow disk is not taken for damage).
fn compaction_bound(bytes: u64) -> std::time::Duration {
    std::time::Duration::from_secs(10) + std::time::Duration::from_secs_f64(bytes as f64 / 1e9 * 60.0)
}

pub(super) fn seed_users(
    store: &mut RedbStore,
    users: u64,
    seed: u64,
    shape: Option<&Shape>,
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
    let generator = || SyntheticUsers::new(seed ^ existing.wrapping_mul(0x9E37_79B9_7F4A_7C15), existing);
    // Held to the schema as every other write (bb15 L08: seed wrote users `import` refused):
    // the users are made twice, the first time only to be checked, so nothing is written
    // when one breaks it. Seed's documents have shapes of their own: the first usually does.
    if let Some(shape) = shape {
        for (made, new) in generator().take(users as usize).enumerate() {
            crate::interrupt::check()?;
            let Some(data) = &new.custom_data else { continue };
            let violations =
                shape.violations(data.canonical(), &serde_json::Value::Object(data.as_object().clone()));
            if let Some(first) = violations.first() {
                let reason = format!(
                    "customData does not satisfy the schema: {}; nothing was written (seed's documents have shapes of their own: seed a database without a schema, or set one after)",
                    first.short()
                );
                let origin = format!("synthetic user {} ({})", made + 1, new.user.id);
                return Err(StoreError::InvalidRecord(RecordError { origin, reason }).into());
            }
        }
    }
    let mut generator = generator();
    // One transaction: all of the users or none, written as one sorted bulk load.
    let bar = progress(Some(users), quiet, "{spinner} {human_pos}/{human_len} users · {rate} · ETA {eta}");
    let mut made: u64 = 0;
    let mut generated =
        std::iter::from_fn(|| Some(generator.next_made())).take(users as usize).inspect(|_| {
            made += 1;
            if made == users {
                super::progress::writing_phase(&bar, users, "made");
            } else if made.is_multiple_of(4096) {
                bar.set_position(made);
            }
        });
    let loaded = store.insert_made(&mut generated, &author);
    bar.finish_and_clear();
    loaded?;
    let seeded = started.elapsed();
    tracing::info!(users, "seed written");
    // Not compacted: redb doubles a file under 4 GiB at the first write that needs room, so a
    // compacted load grew past its uncompacted size at the next save (100k: 142 MB loaded,
    // 92 MB compacted, 184 MB after one `set`); the room a load leaves is what later saves use.
    out.line(&format!("seeded {} in {:.1} s", crate::domain::patch::users(users), seeded.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_grew_the_file_by_64_mib_and_a_quarter_says_so_and_names_compact() {
        const MIB: u64 = 1024 * 1024;
        let line = growth_line(929_000_000, 3_716_000_000).expect("a 1M-user batch");
        assert!(line.starts_with("the file grew from 886 MiB to 3.5 GiB,"), "{line}");
        assert!(line.contains("`custodian compact` gives it back"), "{line}");
        let line = growth_line(143_360, 554_000_000).expect("a small file grown");
        assert!(line.starts_with("the file grew from 140 KiB to 528.3 MiB,"), "{line}");
        // In the units `compact` says the same file in (bb90 F1): 6.1 GiB, not 6260.6 MiB.
        let line = growth_line(3_282_000_000, 6_564_745_216).expect("an undo of 1M");
        assert!(line.starts_with("the file grew from 3.1 GiB to 6.1 GiB,"), "{line}");
        // Both bounds exactly, and one short of each.
        assert!(growth_line(100 * MIB, 164 * MIB).is_some());
        assert!(growth_line(100 * MIB, 164 * MIB - 1).is_none(), "under 64 MiB");
        assert!(growth_line(400 * MIB, 500 * MIB).is_some());
        assert!(growth_line(400 * MIB, 500 * MIB - 1).is_none(), "under a quarter");
        assert!(growth_line(0, 500 * MIB).is_none(), "a size that could not be read");
        assert!(growth_line(500 * MIB, 100 * MIB).is_none(), "shrunk");
    }
}
