//! Users as JSON Lines of Logto-shaped objects (customData in place): what `export` prints
//! or writes, `get` prints, and the editor's `:export` writes.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context, Result, bail};

use crate::sorted_runs::{Runs, Spill};
use crate::store::{StoreError, UserRecord, UserStore};
use crate::{crash, database};

pub(crate) use tally::Tally;
pub use tally::{LeftOut, Unimportable};

/// One Logto-shaped user object as a JSON line.
pub fn user_line(record: &UserRecord, custom_data: &str) -> Result<String> {
    let mut line = Vec::with_capacity(512);
    push_line(&mut line, record, custom_data)?;
    // Only JSON text and `&str`s went in.
    String::from_utf8(line).context("an export line is not UTF-8")
}

/// Appends the user's line (no newline) to `out`.
fn push_line(out: &mut Vec<u8>, record: &UserRecord, custom_data: &str) -> Result<()> {
    // Numbers keep the text they were stored with (serde_json alone rewrites exponents).
    crate::domain::user_json::write_line(out, &record.user, custom_data)
        .with_context(|| format!("user {}: stored customData is damaged", record.user.id))
}

/// How many users are read between two reports of a sort's progress.
const TELL_EVERY: u64 = 4096;

/// Every user as a JSON line, in list order, handed to `sink`; returns how many ([`LeftOut`]
/// after the others when some could not be). `watch` hears of the users read while they are
/// sorted, before the first line (the sink counts lines).
pub fn each_line(
    store: &dyn UserStore,
    watch: &Watch,
    sink: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<u64> {
    let spill_dirs: Vec<PathBuf> = store.any_order_sort_room().map(|room| room.dir).into_iter().collect();
    lines_in_list_order(store, &spill_dirs, watch, &mut |line| {
        sink(std::str::from_utf8(line).context("an export line is not UTF-8")?)
    })?
    .finish(store, "standard output")
}

/// How many bytes of lines a sort into list order holds in memory before it spills a run.
const SORT_BUDGET: usize = 16 * 1024 * 1024;

/// Every user's line (no newline) in list order, handed to `emit`; returns how many, and who
/// was left out.
///
/// A store that reads faster in its own order (redb: a pass over its tables instead of two
/// lookups by id per user) is read that way and the lines are sorted into list order through
/// runs spilled to an unnamed file in the first of `spill_dirs` where one can be made and the
/// file system has room for it twice over.
/// Nothing is emitted before the last user is read, so when no spill file can be made or
/// written (a read-only or full file system) the users are read again in list order: slower,
/// the same bytes.
fn lines_in_list_order(
    store: &dyn UserStore,
    spill_dirs: &[PathBuf],
    watch: &Watch,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<Tally> {
    if let Some(room) = store.any_order_sort_room()
        && let Some(spill) = spill_dirs.iter().find_map(|dir| Spill::with_room(dir, room.bytes))
        && let Some(tally) = sorted_lines(store, spill, SORT_BUDGET, watch, emit)?
    {
        return Ok(tally);
    }
    let mut tally = Tally::of_export(store);
    let mut line = Vec::with_capacity(4096);
    each_user(store, watch, &mut |record, text| {
        if !tally.line_of(&mut line, record, text) {
            return Ok(());
        }
        tally.wrote_one();
        emit(&line)
    })?;
    Ok(tally)
}

/// [`lines_in_list_order`] through a sort: `None` when the spill file failed before anything
/// was emitted.
fn sorted_lines(
    store: &dyn UserStore,
    mut spill: Spill,
    budget: usize,
    watch: &Watch,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<Option<Tally>> {
    let mut runs = Runs::new(budget);
    let mut line = Vec::with_capacity(4096);
    let mut tally = Tally::of_export(store);
    let mut spill_failed = None;
    let mut read_so_far: u64 = 0;
    let read = store.for_each_user_in_any_order(&mut |key, record, text| {
        watch.check()?;
        read_so_far += 1;
        if read_so_far.is_multiple_of(TELL_EVERY) {
            watch.tell(Progress::Read(read_so_far));
        }
        if !tally.line_of(&mut line, record, text) {
            return Ok(());
        }
        runs.defer(&mut spill, key, &line, b"").map_err(|e| {
            spill_failed = Some(e);
            StoreError::Database("export stopped".into())
        })
    });
    // The last run is written before anything is emitted, so its failure too leaves the
    // list-order read to do the export.
    let spilled = match spill_failed {
        Some(e) => Err(e),
        None => {
            read?;
            runs.spill_rest(&mut spill)
        }
    };
    if let Err(e) = spilled {
        tracing::warn!(error = %e, "the export's spill file failed; reading in list order");
        return Ok(None);
    }
    // All read: the count complete before the lines, which start again from none.
    watch.tell(Progress::Read(read_so_far));
    runs.merge::<anyhow::Error>(&mut spill, &mut |entry| {
        watch.check()?;
        tally.wrote_one();
        emit(&entry.value)
    })?;
    Ok(Some(tally))
}

/// Calls `visit` for every user in list order. The store stops at the first error a visitor
/// returns; the real cause is kept aside and returned.
fn each_user(
    store: &dyn UserStore,
    watch: &Watch,
    visit: &mut dyn FnMut(&UserRecord, &str) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    let visited = store.for_each_user(&mut |record, text| {
        watch.check().map_err(Into::into).and_then(|()| visit(record, text)).map_err(|e| {
            failure = Some(e);
            StoreError::Database("export stopped".into())
        })
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    Ok(visited?)
}

/// Exports every user as JSON Lines into a **new** file at `path`; returns how many users
/// were written. `export --out` and the editor's `:export` both write through here. Users
/// whose stored customData is no JSON object are left out: the file is published with the
/// others, and then [`LeftOut`] names them.
///
/// Nothing that exists is touched: an existing file, a symbolic link (never followed), a
/// FIFO, a directory or a device is refused. The users go to a temporary file beside the
/// target (0600, created exclusively), which is synced and only then published under the
/// final name with a hard link (or `renameat2(RENAME_NOREPLACE)`), so a file created there
/// meanwhile is not replaced and a failed export leaves nothing behind; one the `watch` stops
/// ([`StoreError::Interrupted`]) leaves nothing behind either. The `watch` is told how many
/// users are read (while they are sorted, before the first line), then how many lines are in
/// the file so far.
pub fn to_file(store: &dyn UserStore, path: &Path, watch: &Watch) -> Result<u64> {
    // The screen's `:export` of a file replaced under it would write the old file's users.
    store.still_at_its_path()?;
    let shown = path.display().to_string();
    // Elsewhere `-` is stdin or stdout: never a file of that name made here by accident.
    if path == Path::new("-") {
        bail!("`-` is not a file name for an export: `custodian export` without --out writes to stdout");
    }
    refuse_existing(path)?;
    let Some(name) = path.file_name() else {
        bail!("cannot create {shown}: not a file name");
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temporary_name = OsString::from_vec(leftovers::temporary_prefix(name));
    temporary_name.push(format!("{}-{:08x}", std::process::id(), fastrand::u32(..)));
    leftovers::remove_dead_exports(&dir, name);
    let temporary = Unpublished::new(dir.join(temporary_name));
    let file = crate::location::new_private_file(&temporary.path)
        .with_context(|| format!("cannot create {shown}: no new file can be made in {}", dir.display()))?;
    leftovers::hold(&file);
    // The umask may only take bits away; the export is the owner's alone either way.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot create {shown}"))?;
    // Large writes: a million users are 630 MB.
    let mut writer = io::BufWriter::with_capacity(CHUNK, file);
    // redb may panic on a damaged file: the temporary file goes, the editor stays up.
    // The sort into list order spills beside the export (that directory takes a new file)
    // or else beside the database.
    let spill_dirs: Vec<PathBuf> =
        std::iter::once(dir.clone()).chain(store.any_order_sort_room().map(|room| room.dir)).collect();
    let tally = crash::catch(|| {
        write_chunks(
            store,
            &spill_dirs,
            &mut |chunk| writer.write_all(chunk).with_context(|| format!("cannot write {shown}")),
            watch,
        )
    })??;
    writer.flush().with_context(|| format!("cannot write {shown}"))?;
    writer.get_ref().sync_all().with_context(|| format!("cannot write {shown}"))?;
    drop(writer);
    temporary.publish(path)?;
    // The new name is a change to the directory: make it durable too (best effort: the file
    // itself is already complete and synced).
    if let Ok(dir) = fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    tally.finish(store, &shown)
}

/// How many bytes of lines go to the file in one write.
const CHUNK: usize = 1024 * 1024;

/// Every user's line into `write`, in chunks of about [`CHUNK`] bytes: one thread reads the
/// users and makes the lines, this one writes them (a few chunks in flight at most: memory
/// stays the same whatever the number of users). Returns how many users were written, and
/// who was left out.
fn write_chunks(
    store: &dyn UserStore,
    spill_dirs: &[PathBuf],
    write: &mut dyn FnMut(&[u8]) -> Result<()>,
    watch: &Watch,
) -> Result<Tally> {
    let (full, filled) = mpsc::sync_channel::<(Vec<u8>, u64)>(4);
    let (spent, empty) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        // redb may panic on a damaged file: contained on that thread too, so it reads as the
        // one-line "damaged" error, not as a crash.
        let reader = scope.spawn(move || {
            crash::catch(move || read_into_chunks(store, spill_dirs, watch, &full, &empty))
                .map_err(anyhow::Error::from)?
        });
        let mut wrote = Ok(());
        for (mut chunk, lines) in filled {
            wrote = write(&chunk);
            if wrote.is_err() {
                break;
            }
            watch.tell(Progress::Written(lines));
            chunk.clear();
            let _ = spent.send(chunk);
        }
        // A failed write hangs up here first, so the reader stops at its next chunk.
        drop(spent);
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        wrote?;
        read
    })
}

/// The reading side of [`write_chunks`]: every user's line appended to a chunk, each full
/// chunk sent on (`empty` hands back written ones to fill again).
fn read_into_chunks(
    store: &dyn UserStore,
    spill_dirs: &[PathBuf],
    watch: &Watch,
    full: &mpsc::SyncSender<(Vec<u8>, u64)>,
    empty: &mpsc::Receiver<Vec<u8>>,
) -> Result<Tally> {
    let stopped = |_| anyhow::anyhow!("the export's writer stopped");
    let mut chunk = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut lines: u64 = 0;
    let tally = lines_in_list_order(store, spill_dirs, watch, &mut |line| {
        chunk.extend_from_slice(line);
        chunk.push(b'\n');
        lines += 1;
        if chunk.len() >= CHUNK {
            let next = empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK + 64 * 1024));
            // The writer only hangs up after a failed write, which it reports.
            full.send((std::mem::replace(&mut chunk, next), lines)).map_err(stopped)?;
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        full.send((chunk, lines)).map_err(stopped)?;
    }
    Ok(tally)
}

/// Refuses a target that exists in any form, saying what it is; a symbolic link is not
/// followed (even a dangling one is refused).
fn refuse_existing(path: &Path) -> Result<()> {
    let shown = path.display();
    // `link/` follows the link (a dangling one reads as nothing there) and `name/` can only
    // be a directory: neither names a new file.
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        bail!(
            "cannot create {shown}: a name ending in / is a directory's; export only creates a new file (name one)"
        )
    }
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let what = match database::what_it_is(&meta.file_type()) {
                "a regular file" => "it already exists".to_owned(),
                other => format!("it is {other}"),
            };
            bail!("cannot create {shown}: {what}; export only creates a new file (choose another name)")
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {shown}")),
    }
}

/// The temporary file of an export: removed when dropped (an error, or a panic on a damaged
/// database unwinding through here) unless it was published.
struct Unpublished {
    path: PathBuf,
    /// Gone too if the process is ended without unwinding here.
    _forced_exit: crate::interrupt::ForcedExitRemoves,
}

impl Unpublished {
    fn new(path: PathBuf) -> Self {
        Self { _forced_exit: crate::interrupt::ForcedExitRemoves::new(&path), path }
    }

    /// Gives the finished file its final name without replacing anything there.
    fn publish(self, target: &Path) -> Result<()> {
        let shown = target.display();
        match fs::hard_link(&self.path, target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                bail!(
                    "cannot create {shown}: a file of that name appeared while exporting; it was left alone"
                )
            }
            // A file system without hard links: an exclusive rename does the same.
            Err(link_error) => match rename_no_replace(&self.path, target) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    bail!(
                        "cannot create {shown}: a file of that name appeared while exporting; it was left alone"
                    )
                }
                Err(_) => Err(link_error).with_context(|| format!("cannot create {shown}")),
            },
        }
        // `self` drops here: the temporary name goes, the published one stays.
    }
}

impl Drop for Unpublished {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(from.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let to = CString::new(to.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let result = unsafe {
        libc::renameat2(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::RENAME_NOREPLACE)
    };
    if result == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

mod leftovers;
mod tally;
mod watch;

pub use watch::{Progress, Watch};
#[cfg(test)]
mod tests;
