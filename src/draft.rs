//! Unsaved edits kept on disk, so that a dropped SSH connection, a SIGTERM or a crash never
//! eats an operator's work. One file per database and user in
//! `$XDG_STATE_HOME/custodian/drafts/` (directory 0700, files 0600), written atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::location;

/// An edit that was not saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// The database the edit belongs to (absolute path).
    pub database: String,
    pub user_id: String,
    /// The revision the edit started from: saving it is checked against this.
    pub base_revision: u64,
    /// When the draft was written (epoch ms).
    pub saved_at: i64,
    pub text: String,
}

/// Where drafts live.
pub struct Drafts {
    dir: PathBuf,
}

impl Drafts {
    pub fn in_state_dir() -> Self {
        Self { dir: location::state_dir().join("drafts") }
    }

    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, database: &str, user_id: &str) -> PathBuf {
        // The database path is folded into a short stable name; the user id is safe as is
        // (ids are [0-9A-Za-z_-]).
        let hash = database
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        self.dir.join(format!("{hash:016x}-{user_id}.json"))
    }

    /// Writes (or replaces) the draft, durably: a temporary file, fsync, rename.
    pub fn save(&self, draft: &Draft) -> std::io::Result<PathBuf> {
        location::ensure_private_dir(&self.dir)?;
        let path = self.file(&draft.database, &draft.user_id);
        let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
        let json = serde_json::to_vec_pretty(draft).map_err(std::io::Error::other)?;
        let mut file =
            fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&temporary, &path)?;
        Ok(path)
    }

    /// Every readable draft for `database`, oldest first.
    pub fn for_database(&self, database: &str) -> Vec<Draft> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut drafts: Vec<Draft> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice::<Draft>(&bytes).ok())
            .filter(|d| d.database == database)
            .collect();
        drafts.sort_by_key(|d| d.saved_at);
        drafts
    }

    /// Forgets the draft of a user (after a save or a discard).
    pub fn remove(&self, database: &str, user_id: &str) {
        let _ = fs::remove_file(self.file(database, user_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn draft(user: &str, at: i64) -> Draft {
        Draft {
            database: "/db/a.redb".into(),
            user_id: user.into(),
            base_revision: 3,
            saved_at: at,
            text: "{\"a\": 1".into(),
        }
    }

    #[test]
    fn drafts_are_private_and_found_per_database() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::at(dir.path().join("drafts"));
        let path = drafts.save(&draft("u2", 2)).unwrap();
        drafts.save(&draft("u1", 1)).unwrap();
        drafts.save(&Draft { database: "/db/other.redb".into(), ..draft("u3", 3) }).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(drafts.dir()).unwrap().permissions().mode() & 0o777, 0o700);
        let found: Vec<_> = drafts.for_database("/db/a.redb").into_iter().map(|d| d.user_id).collect();
        assert_eq!(found, ["u1", "u2"]);
        drafts.remove("/db/a.redb", "u1");
        assert_eq!(drafts.for_database("/db/a.redb"), vec![draft("u2", 2)]);
    }

    #[test]
    fn saving_again_replaces_the_draft() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::at(dir.path().to_owned());
        drafts.save(&draft("u1", 1)).unwrap();
        drafts.save(&Draft { text: "{}".into(), ..draft("u1", 5) }).unwrap();
        let found = drafts.for_database("/db/a.redb");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "{}");
    }
}
