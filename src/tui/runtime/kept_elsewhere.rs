//! Drafts of this database kept under another name: named at start, never offered.

use super::Runtime;
use crate::draft::Draft;

/// Drafts of this database kept under another name, named on the status line and never
/// offered: a PostgreSQL database reached at another address (another address may be another
/// server: bb9), or a database file no longer at the path its drafts were kept for — moved,
/// renamed or restored under a new name (bb14 L17). A file's path is made canonical, so the
/// same file by another path finds its drafts by name; a draft of a file still at its path
/// is that file's and not this one's — named only when written through the link this start
/// was given, which names another file now, or when it is this very file under another name
/// (a hard link: no canonical path joins the two, and its draft went unsaid: bb102 F4).
pub(super) fn drafts_kept_elsewhere(runtime: &Runtime) -> Vec<String> {
    let database = runtime.database.as_str();
    let postgres = crate::store::is_postgres_url(database);
    // Drafts written through the path given, a link re-pointed since (a restore), are named
    // too: the way out named their file, the next start on the link did not (bb73 F6).
    let given = runtime.drafts.given_path();
    let through_the_link = |draft: &Draft| given.is_some() && draft.opened_as.as_deref() == given;
    // Read once: every draft's path is compared with it.
    let this_file = FileIdentity::of(database);
    let same = |other: &Draft| match postgres {
        true => crate::store::same_database_name_and_tenant(database, &other.database),
        false => {
            !crate::store::is_postgres_url(&other.database)
                && (std::fs::symlink_metadata(&other.database).is_err()
                    || through_the_link(other)
                    || this_file.is_hard_link(&other.database))
        }
    };
    let (what, to_reopen) = match postgres {
        true => (
            // The login role is part of the URL too: "at another address" was said of the
            // same address reached as another role (bb41).
            "a database of this name and tenant reached another way (another host, port or login role)",
            "start custodian with that URL to reopen it",
        ),
        false => (
            "a database file no longer at that path",
            "moved or renamed? put it back there and start custodian on it to reopen the draft",
        ),
    };
    let found = runtime.drafts.of_the_same_database_elsewhere(database, same);
    let mut said: Vec<String> = found
        .into_iter()
        .map(|(name, kept_for)| {
            tracing::info!(file = %name, kept_for = %kept_for, "a draft kept for {what}");
            if !postgres && this_file.is_hard_link(&kept_for) {
                return format!(
                    "kept for {kept_for}, this very database file under another name (a hard link: `custodian --db {}` reopens it): {name}",
                    crate::inert::shell_word(&kept_for)
                );
            }
            match given.filter(|_| !postgres && std::fs::symlink_metadata(&kept_for).is_ok()) {
                Some(given) => format!(
                    "kept for {kept_for}, the file {given} named when it was written (`custodian --db {}` reopens it): {name}",
                    crate::inert::shell_word(&kept_for)
                ),
                None => format!("kept for {kept_for}, {what} ({to_reopen}): {name}"),
            }
        })
        .collect();
    if postgres {
        let other_tenant =
            |other: &Draft| crate::store::another_tenant_of(database, &other.database).is_some();
        for (name, kept_for) in runtime.drafts.of_the_same_database_elsewhere(database, other_tenant) {
            let tenant = crate::store::another_tenant_of(database, &kept_for).unwrap_or_default();
            tracing::info!(file = %name, kept_for = %kept_for, tenant, "a draft kept for another tenant");
            said.push(format!(
                "kept for {kept_for}, tenant {tenant:?} of a database of this name (start custodian with --tenant {} to reopen it): {name}",
                crate::inert::shell_word(tenant)
            ));
        }
    }
    said
}

/// A file's device and inode, when it could be read: another path with the same is a hard
/// link to it.
struct FileIdentity(Option<(u64, u64)>);

impl FileIdentity {
    fn of(path: &str) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self(std::fs::metadata(path).ok().map(|meta| (meta.dev(), meta.ino())))
    }

    /// Whether `path` names this very file.
    fn is_hard_link(&self, path: &str) -> bool {
        self.0.is_some() && Self::of(path).0 == self.0
    }
}
