//! The edit a session wrote at its end (to `$TMPDIR`, or the next place that took it) because its draft could not be written
//! (a drafts directory full, read-only or made immutable): its draft, written before, lacks
//! what was typed after it. The next start reopened that older draft as "the" edit, and the
//! later keystrokes were gone from it unsaid (bb36 #1); now the draft takes the later text.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Draft, Ignored, MAX_FILE_BYTES, database_tag, name_part, process_of, read_own_file};

/// The name of the file a session of this process keeps an unsaved edit of `user_id` in,
/// when it cannot write a draft: `custodian-unsaved-USER-PID-TOKEN-DATABASE-rREVISION-dDIGEST-RANDOM.json`,
/// the database as drafts tag it, the revision the edit started from and the first 16 hex
/// digits of that document's digest, so the next start on that database can name it with the
/// save that is refused over a later one (on Logto's database the revision alone does not
/// tell an outside write: bb58 F1).
pub fn unsaved_file_name(user_id: &str, database: &str, revision: u64, base_digest: Option<&str>) -> String {
    let digest = base_digest.map(|digest| format!("-d{}", short_digest(digest))).unwrap_or_default();
    format!(
        "{}{}-r{revision}{digest}-{:08x}.json",
        prefix(user_id, super::process_token()),
        database_tag(database),
        fastrand::u32(..)
    )
}

/// The 16 hex digits of a `sha256:` digest that a kept edit's name and its `set
/// --expect-digest` give.
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(16)]
}

/// How every such file's name starts.
const PREFIX: &str = "custodian-unsaved-";

fn prefix(user_id: &str, process: &str) -> String {
    format!("{PREFIX}{}-{process}-", name_part(user_id))
}

/// The user of a copy's name part `USER-PID-TOKEN` (`USER-PID` in names before bb59 F1).
fn user_of(part: &str) -> &str {
    let hex = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match part.rsplitn(3, '-').collect::<Vec<_>>().as_slice() {
        [token, pid, user] if hex(token) && digits(pid) => user,
        _ => part.rsplit_once('-').map_or("", |(user, _pid)| user),
    }
}

/// The edits sessions kept in one directory: regular files (never through a link) named as
/// [`unsaved_file_name`] names them, with when each was last written (epoch ms). Listed once
/// for all the drafts found at start-up (each draft listed the directory again).
pub(super) struct LaterCopies(Vec<(String, i64, PathBuf)>);

impl LaterCopies {
    /// In every place the session's end may write one ([`last_chance_places`]): a draft
    /// looked for its later text in `$TMPDIR` alone, and one kept in the home directory or
    /// `/tmp` left it offered with the older text (review57).
    pub(super) fn in_every_place() -> Self {
        Self::in_places(&last_chance_places())
    }

    pub(super) fn in_places(places: &[PathBuf]) -> Self {
        Self(places.iter().flat_map(|place| Self::in_dir(place).0).collect())
    }

    pub(super) fn in_dir(dir: &Path) -> Self {
        let Ok(entries) = std::fs::read_dir(dir) else { return Self(Vec::new()) };
        let copies = entries.flatten().filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(PREFIX) || !name.ends_with(".json") {
                return None;
            }
            // Not following links: a link planted beside it is not the newest copy.
            let modified = entry.metadata().ok().filter(std::fs::Metadata::is_file)?;
            let at = modified.mtime() * 1000 + modified.mtime_nsec() / 1_000_000;
            Some((name, at, entry.path()))
        });
        Self(copies.collect())
    }
}

impl Draft {
    /// [`Draft::with_later_copy`] from the copies in `dir` alone.
    #[cfg(test)]
    pub(super) fn with_later_copy_in(self, dir: &Path) -> Self {
        self.with_later_copy(&LaterCopies::in_dir(dir))
    }

    /// `self` with the text of the newest edit its session kept after it was written, named
    /// in [`Draft::later_copy`]; else `self` as it is. A file that is not a regular file of
    /// ours, is larger than a draft may be or is not UTF-8 is not taken.
    pub(super) fn with_later_copy(self, copies: &LaterCopies) -> Self {
        // The process by its id and its token: ids repeat (a container's first process is
        // always 1, and a reboot starts over), and another session's copy replaced this
        // draft's text (bb59 F1).
        let Some(process) = process_of(&self.session) else { return self };
        let prefix = prefix(&self.user_id, process);
        let newest = copies
            .0
            .iter()
            .filter(|(name, at, _)| name.starts_with(&prefix) && *at >= self.saved_at)
            .map(|(_, at, path)| (*at, path))
            .max();
        let Some((at, path)) = newest else { return self };
        let Some(text) =
            read_own_file(path, MAX_FILE_BYTES).ok().and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            return self;
        };
        let later_copy = Some(path.display().to_string());
        Self { text, saved_at: at, later_copy, ..self }
    }
}

/// The edits sessions on `database` kept at their end (in `copies`, listed from the places the
/// end writes them) that no draft took: no draft was ever written (an edit too large for one,
/// a drafts directory never writable).
/// The next start names each one, since the stderr that named it went with the SSH session
/// (bb43 F3). Only regular files of this account that no one else may write.
pub(super) fn left_unoffered(database: &str, drafts: &[Draft], copies: LaterCopies) -> Vec<Ignored> {
    let marker = format!("-{}-", database_tag(database));
    let me = crate::location::my_uid();
    let taken =
        |path: &Path| drafts.iter().any(|d| d.later_copy.as_deref() == Some(&*path.display().to_string()));
    // Wherever the session's end wrote it (a full `$TMPDIR` sent it to the current
    // directory, and no start named it: bb44 F7; nor one in `/tmp`).
    copies
        .0
        .into_iter()
        .filter_map(|(name, _, path)| {
            let at = name.find(&marker)?;
            let meta = std::fs::symlink_metadata(&path).ok()?;
            // An empty file is no edit (one a write that failed left).
            if meta.uid() != me || meta.mode() & 0o022 != 0 || meta.len() == 0 || taken(&path) {
                return None;
            }
            let user = user_of(&name[PREFIX.len()..at]);
            // The revision it started from: the save it names is refused over a later one (a
            // plain `set` overwrote a colleague's save made since: bb44 F2).
            let (revision, rest) = name[at + marker.len()..].strip_prefix('r')?.split_once('-')?;
            let revision = revision.parse::<u64>().ok()?;
            // The base's digest, in names since bb58 F1.
            let digest = rest
                .strip_prefix('d')
                .and_then(|rest| rest.split_once('-'))
                .filter(|(hex, _)| hex.len() == 16)
                .map(|(hex, _)| format!(" --expect-digest sha256:{hex}"))
                .unwrap_or_default();
            let why = format!(
                "an unsaved edit of user {user} that a session kept at its end, when it could not be kept as a draft (too large for one, or the drafts directory could not be written); it is the document's text alone, begun from revision {revision}: check it, then `custodian set id:{user} FILE --expect-revision {revision}{digest}` saves it (refused if the user was saved, or written outside custodian, since); remove the file once done"
            );
            Some(Ignored { name: path.display().to_string(), why })
        })
        .collect()
}

/// Where a later copy is looked for: `$TMPDIR`, where the session's end writes it first.
pub(crate) fn later_copies_dir() -> PathBuf {
    // `TMPDIR=` (set, empty) is `/tmp`: it was the current directory, never judged (bb55 F1).
    crate::sorted_runs::system_temp_dir()
}

/// Where the session's end writes an edit no draft could take, in order: `$TMPDIR`; the home
/// directory (`$HOME`, or the account's when that is unset or relative: the edit was lost with
/// a private home there, bb56 F7, bb57 F1); `/tmp` (with `$TMPDIR` others could change and the
/// current directory unsafe too, the edit was lost where `/tmp` would have kept it: bb52 F5;
/// with `$TMPDIR` full, too: bb57 F3); last the current directory, the one place the next
/// start may not look in (it looks in its own: bb57 F2). Each directory once, however it is
/// named (one refused was said twice, as `$TMPDIR` and as the current directory). The next
/// start looks in the same places.
pub(crate) fn last_chance_places() -> Vec<PathBuf> {
    // A relative `$TMPDIR` is a place under the current directory, found again only from
    // there (bb58 F4): passed over.
    let mut places: Vec<PathBuf> =
        Some(later_copies_dir()).filter(|dir| dir.is_absolute()).into_iter().collect();
    let home = crate::location::home_dir();
    if home != Path::new("/") {
        places.push(home);
    }
    places.push(PathBuf::from("/tmp"));
    places.push(std::env::current_dir().unwrap_or_else(|_| ".".into()));
    let mut seen = Vec::new();
    places.retain(|place| {
        let real = std::fs::canonicalize(place).unwrap_or_else(|_| place.clone());
        let new = !seen.contains(&real);
        seen.push(real);
        new
    });
    places
}
