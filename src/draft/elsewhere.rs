//! Drafts kept for the same database reached another way. A PostgreSQL database's drafts are
//! kept under the URL it was opened with (user, host, port, database, tenant): the same server
//! reached as `localhost` or through a pooler on another port finds none of them (bb9). They
//! are not offered there — another address may be another server — but named, so the
//! operator knows where the edit is. So are the drafts of a database file no longer at the
//! path they were kept for (moved, renamed, restored under another name: bb14 L17).

use super::{Drafts, database_tag};

/// Files read at most, looking: the drafts directory holds a few; this bounds a crowded one.
const LOOKED_AT_MOST: usize = 256;

impl Drafts {
    /// The drafts of custodian sessions no longer running whose database is not `database`
    /// but is the same one by `same` (file name, the database it was kept for).
    pub fn of_the_same_database_elsewhere(
        &self,
        database: &str,
        same: impl Fn(&super::Draft) -> bool,
    ) -> Vec<(String, String)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let this = format!("{}.", database_tag(database));
        let mut found: Vec<(String, String)> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.') && !name.starts_with(&this) && name.ends_with(".json"))
            .take(LOOKED_AT_MOST)
            .filter_map(|name| {
                let draft = self.read(&name).ok()?;
                let offered_elsewhere = draft.database != database
                    && same(&draft)
                    && !(draft.kind == super::DraftKind::Draft && self.session_is_running(&draft.session));
                offered_elsewhere.then_some((name, draft.database))
            })
            .collect();
        found.sort();
        found
    }
}
