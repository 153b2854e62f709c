//! `patch --users FILE`: the users a file names, one reference per line, resolved and kept in
//! id order.

use std::path::Path;

use anyhow::{Context, Result};

use crate::domain::group_digits;
use crate::inert;
use crate::store::{UserIds, UserIdsGathered, UserStore};

/// The ids named in a `--users` file, one reference per line, resolved as `get` resolves
/// them; blank lines are skipped, a user named twice is kept once, and they come back in id
/// order, not the file's. An unknown or ambiguous reference is an error naming its line. The
/// ids are gathered in sorted runs in a temporary file (beside the database, else in
/// `$TMPDIR`, else in memory), so a file of a million names holds a few MiB. Returned with
/// how many names (lines not blank) there were.
pub fn read_users(
    store: &dyn UserStore,
    path: &Path,
    bar: &indicatif::ProgressBar,
) -> Result<(UserIds, u64)> {
    use std::io::Read;
    // `-` is stdin, as for `patch -`, `set USER -` and `import -`.
    let stdin = super::input::is_stdin(Some(path));
    // As the report names it: `- line 3` read as a file called `-` (bb37 #8).
    // Raw: errors are made inert once, where they are shown (bb42 F3).
    let name = if stdin { "stdin".to_owned() } else { path.display().to_string() };
    let cannot_read = || format!("cannot read {name}");
    // Opened on the reading thread: opening a FIFO waits for a writer, and a signal must end
    // that wait (bb25 P01).
    let file = path.to_owned();
    let lines = lines_on_a_thread(move || -> std::io::Result<Box<dyn Read + Send>> {
        Ok(if stdin { Box::new(std::io::stdin()) } else { Box::new(std::fs::File::open(file)?) })
    });
    // Beside the database (a database file's directory has room for its work: the same place
    // its own sorts spill to), else in $TMPDIR.
    let kept_in = store.any_order_sort_room().map_or_else(std::env::temp_dir, |room| room.dir);
    let cannot_keep = || format!("cannot keep the users {name} names");
    let mut ids = UserIdsGathered::new(&kept_in);
    let mut chunk = Vec::new();
    let mut names: u64 = 0;
    for number in 1.. {
        // A terminal or a pipe may keep the list coming for ever: a noted signal ends the wait
        // (nothing written, exit 130); it was looked at only once the list had ended (bb14 L04).
        let Some(line) = super::input::next_or_interrupted(&lines)? else { break };
        let line = line.with_context(cannot_read)?;
        if line.len() > MAX_REFERENCE_LINE {
            return Err(UsersFileLine {
                file: name,
                number,
                reason: "longer than 4 KiB (reading stopped there)",
            }
            .into());
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            return Err(UsersFileLine { file: name, number, reason: "not valid UTF-8" }.into());
        };
        // It was looked up as part of the first name (`no user "\u{feff}alice"`: bb14 L15).
        if text.starts_with('\u{feff}') {
            return Err(UsersFileLine {
                file: name,
                number,
                reason: "starts with a byte-order mark (U+FEFF: remove it)",
            }
            .into());
        }
        let reference = text.trim();
        if reference.is_empty() {
            continue;
        }
        names += 1;
        chunk.push((number, reference.to_owned()));
        if chunk.len() == RESOLVED_AT_ONCE {
            resolve_chunk(store, &name, &mut chunk, &mut ids, &cannot_keep)?;
            bar.set_position(number as u64);
        }
    }
    resolve_chunk(store, &name, &mut chunk, &mut ids, &cannot_keep)?;
    let (ids, for_want_of_a_file) = ids.finish().with_context(cannot_keep)?;
    if for_want_of_a_file {
        crate::stderr_line!(
            "custodian: {}",
            inert::line(&format!(
                "no room for a temporary file beside the database nor in $TMPDIR (or none could be made): the {} users {name} names are held in memory",
                group_digits(ids.len())
            ))
        );
    }
    Ok((ids, names))
}

/// The lines of the file `open` gives, opened and read on a thread of its own that the caller
/// does not wait for; the channel ends with the input. A line is read to its limit and one byte more, never further
/// (`/dev/zero` has no line break, and was read until memory ran out); the reading stops after
/// such a line, or an error.
fn lines_on_a_thread(
    open: impl FnOnce() -> std::io::Result<Box<dyn std::io::Read + Send>> + Send + 'static,
) -> std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    use std::io::{BufRead, Read};
    let (send, receive) = std::sync::mpsc::sync_channel(RESOLVED_AT_ONCE);
    std::thread::spawn(move || {
        let file = match open() {
            Ok(file) => file,
            Err(e) => {
                let _ = send.send(Err(e));
                return;
            }
        };
        let mut reader = std::io::BufReader::new(file);
        loop {
            let mut line = Vec::new();
            match reader.by_ref().take(MAX_REFERENCE_LINE as u64 + 1).read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    let last = line.len() > MAX_REFERENCE_LINE;
                    if send.send(Ok(line)).is_err() || last {
                        return;
                    }
                }
                Err(e) => {
                    let _ = send.send(Err(e));
                    return;
                }
            }
        }
    });
    receive
}

/// References of a `--users` file resolved together: on Logto's database each resolve reads
/// the tenant's users, so one read serves this many (5,000 names took a minute one by one).
const RESOLVED_AT_ONCE: usize = 10_000;

/// Resolves the `(line number, reference)` pairs of `chunk` into `ids` and empties it; the
/// first reference that names no one user stops it.
fn resolve_chunk(
    store: &dyn UserStore,
    name: &str,
    chunk: &mut Vec<(usize, String)>,
    ids: &mut UserIdsGathered,
    cannot_keep: &dyn Fn() -> String,
) -> Result<()> {
    // A list that is always ready (a file of a million names) never waits, where a noted
    // signal is looked at: it was acted on only once the whole list was resolved (bb25 P10).
    crate::interrupt::check()?;
    let references: Vec<&str> = chunk.iter().map(|(_, reference)| reference.as_str()).collect();
    let resolved = store.resolve_many(&references).with_context(|| format!("{name}: resolving its users"))?;
    for ((number, _), answer) in chunk.iter().zip(resolved) {
        let id = answer.with_context(|| format!("{name} line {number}"))?;
        ids.add(&id).with_context(cannot_keep)?;
    }
    chunk.clear();
    Ok(())
}

/// The longest line a `--users` file may have: one reference (an id, a username, an email or
/// a phone) is far shorter.
const MAX_REFERENCE_LINE: usize = 4096;

/// A line of a `--users` file that cannot be a user reference.
#[derive(Debug, thiserror::Error)]
#[error("{file} line {number}: {reason}, not a user reference")]
pub struct UsersFileLine {
    file: String,
    number: usize,
    reason: &'static str,
}
