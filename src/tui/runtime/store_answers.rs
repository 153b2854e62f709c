//! A store's errors as the screen's answers.

use crate::tui::app::{Action, ReadOnly};

use crate::store::StoreError;

/// A store error as the screen's answer: a lost connection is its own (the screen keeps
/// saying so until a reconnect), anything else a message.
pub(super) fn store_failed(error: StoreError) -> Action {
    if error.is_connection_lost() {
        // The whole of it (the server) goes to the log; the status line, which also says
        // "connection lost", keeps to what it means here.
        tracing::warn!(%error, "connection lost");
        let message = match error {
            StoreError::ConnectionLost { detail, .. } if !detail.is_empty() => "the save did not happen",
            _ => "the server ended the session or the network dropped",
        };
        Action::ConnectionLost { message: message.to_owned() }
    } else if matches!(error, StoreError::ServerTakesNoWrites { .. }) {
        // The screen turns read-only (it stopped taking writes since the start).
        Action::WritesRefused { why: ReadOnly::Server, message: error.to_string() }
    } else if matches!(error, StoreError::FileReplaced { .. }) {
        Action::WritesRefused { why: ReadOnly::FileReplaced, message: error.to_string() }
    } else if error.is_file_damaged() {
        // Cut short or damaged under the screen: as a replaced file, the way out keeps the edit
        // (its questions threw the edit and its draft away: bb73 F7).
        Action::WritesRefused { why: ReadOnly::FileDamaged, message: error.to_string() }
    } else if let StoreError::TimedOut { seconds, .. } = error {
        // The status line has no room for the server's URL (the log has it).
        tracing::warn!(%error, "statement timeout");
        Action::StoreFailed {
            message: format!(
                "the server did not answer within {seconds} s (statement_timeout); nothing was changed, try again"
            ),
        }
    } else {
        Action::StoreFailed { message: error.to_string() }
    }
}

/// For an effect that shows the store as it is now, whether the file is still the one at the
/// path: after a restore under the screen, `r` under a filter said "refreshed" over the old
/// file's matches, and the history and the journal read the old file as current (bb69 F1, F3;
/// a found draft is looked at where it is opened).
pub(super) fn the_file_still_shown(
    store: &dyn crate::store::UserStore,
    effect: &crate::tui::app::Effect,
) -> Result<(), StoreError> {
    use crate::tui::app::Effect;
    match effect {
        Effect::SyncKeys
        | Effect::LoadHistory { .. }
        | Effect::LoadChanges { .. }
        | Effect::LoadRevision { .. } => store.still_at_its_path(),
        _ => Ok(()),
    }
}

/// Where the way out says an unsaved edit is kept, and how to reopen it: by the file it was
/// written for when the path given names another file now (a link re-pointed by a restore or a
/// deploy). "Start custodian again" on that path found nothing and said nothing (bb73 F6).
pub(super) fn kept_at_the_way_out(
    draft: &std::path::Path,
    db: Option<&std::path::Path>,
    database: &str,
    save_in_doubt: bool,
) -> String {
    // A save that got no answer may have landed: its edit is not called unsaved (bb78 F2).
    let edit = if save_in_doubt { "your edit, saved or not," } else { "your unsaved edit" };
    let kept = crate::inert::line(&draft.display().to_string()).into_owned();
    let given = db.map_or_else(crate::location::default_database, std::path::Path::to_path_buf);
    let names_now = std::fs::canonicalize(&given).ok();
    let elsewhere = crate::database::postgres_url(db).is_none()
        && names_now.is_some_and(|now| now != std::path::Path::new(database));
    if elsewhere {
        let given = crate::inert::line(&given.display().to_string()).into_owned();
        return format!(
            "custodian: {edit} is kept in {kept}; it was written for {}, the file custodian opened, and {given} names another file now: `custodian {}` reopens it",
            crate::inert::line(database),
            super::session::database_arguments(database)
        );
    }
    format!("custodian: {edit} is kept in {kept}; start custodian again to reopen it")
}

/// The last line for a save asked and not answered by the end of the wait: its COMMIT may have
/// gone, so it may have landed. It said "what was asked last may not have been done", then
/// called the edit unsaved, and the save had landed (bb78 F2, a link that kept the connection
/// and dropped the COMMIT's answer); a reset connection said this already.
pub(super) fn save_in_doubt_at_the_end(state: &crate::tui::app::State) -> Option<String> {
    if state.pending != Some(crate::tui::app::Pending::Saving) {
        return None;
    }
    let editor = state.editor.as_ref()?;
    let user = crate::inert::shell_word(&format!("id:{}", editor.user_id)).into_owned();
    Some(format!(
        "custodian: your save of user {} got no answer in time: it may or may not have become revision {} (`custodian history {user}` tells)",
        crate::inert::line(&editor.user_id),
        editor.base.revision + 1
    ))
}

/// This session's draft, left after a save or a discard (a drafts directory no longer
/// writable): the next start offers it as an unsaved edit of the revision before, so it is said
/// now (it went unsaid, and an overwrite from it lost what was typed after it: bb73 F5).
pub(super) fn draft_left(left: String) -> Action {
    Action::DraftNotDiscarded {
        message: format!(
            "this edit's draft could not be removed ({left}): remove it, or the next start offers it as an unsaved edit"
        ),
    }
}

/// The user the screen read is gone (deleted outside custodian, or moved to another tenant):
/// said as that, not as a lookup the operator never typed (`no user "u7" (looked for an id,
/// …)`: bb14 L11).
pub(super) fn user_gone(store: &dyn crate::store::UserStore, id: &str, saving: bool) -> Action {
    let user = id;
    let how = store.how_a_user_goes();
    let message = if saving {
        format!("not saved: user {user} no longer exists ({how}); the edit stays here and in its draft")
    } else {
        format!("user {user} no longer exists ({how}): press r to read the list again")
    };
    Action::StoreFailed { message }
}

/// The last line when the store had not answered by the end of the wait: what may not have
/// been done depends on what was on its way (a read leaves nothing in doubt).
pub(super) fn unanswered_at_the_end(
    pending: Option<crate::tui::app::Pending>,
    over_a_link: bool,
) -> &'static str {
    use crate::tui::app::Pending;
    match pending {
        // On a file a read is waited for as a write is: it said "within 2 s" after 30 (bb44 F4).
        Some(Pending::Loading) if over_a_link => {
            "custodian: the store did not answer the read on its way within 2 s; nothing was being written"
        }
        Some(Pending::Loading) => {
            "custodian: the store did not answer the read on its way within 30 s; nothing was being written"
        }
        Some(Pending::Exporting) => {
            "custodian: the export on its way did not end within 30 s, nor stop within 5 s when asked; its file exists only if it was finished (an export is published whole)"
        }
        Some(Pending::Applying) => {
            "custodian: the patch being written did not stop in time when asked; a batch is written whole or not at all: `custodian changes` lists it if it was"
        }
        Some(Pending::Saving) | None => {
            "custodian: the store did not answer in time; what was asked last may not have been done"
        }
    }
}

/// What a store call still under way at exit leaves: a file open, for redb to repair; a
/// server's session, which ends with the process.
pub(super) fn left_under_way(over_a_link: bool) -> &'static str {
    if over_a_link {
        "a store call was still under way at exit: its session ends with the process, and the server rolls back what it had not committed (a save whose COMMIT had gone may have landed: `custodian history USER` tells)"
    } else {
        "the store is still shared at exit: the database will need a repair"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bb78 F2: a save whose COMMIT got no answer on a link that kept the connection was
    /// said at the way out as "may not have been done" and "your unsaved edit", and it had
    /// landed.
    #[test]
    fn a_save_unanswered_at_the_end_is_said_as_in_doubt_and_its_edit_not_as_unsaved() {
        let mut state = crate::tui::app::State::editing("{\"a\": 1}");
        assert_eq!(save_in_doubt_at_the_end(&state), None, "nothing asked");
        state.pending = Some(crate::tui::app::Pending::Saving);
        assert_eq!(
            save_in_doubt_at_the_end(&state).as_deref(),
            Some(
                "custodian: your save of user u1 got no answer in time: it may or may not have become revision 2 (`custodian history id:u1` tells)"
            )
        );
        let draft = std::path::Path::new("/state/drafts/d.json");
        let said = kept_at_the_way_out(
            draft,
            Some(std::path::Path::new("postgres://h/db")),
            "postgres://h/db",
            true,
        );
        assert_eq!(
            said,
            "custodian: your edit, saved or not, is kept in /state/drafts/d.json; start custodian again to reopen it"
        );
        let said = kept_at_the_way_out(
            draft,
            Some(std::path::Path::new("postgres://h/db")),
            "postgres://h/db",
            false,
        );
        assert!(said.starts_with("custodian: your unsaved edit is kept in"), "{said}");
    }

    /// A database reached through a link re-pointed under the screen (a restore by `ln -sfn`):
    /// the way out names the file the draft was written for, which the path no longer names
    /// ("start custodian again" on that path found nothing and said nothing: bb73 F6).
    #[test]
    fn the_way_out_names_the_file_a_draft_was_written_for_when_the_path_names_another_now() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b, link) =
            (dir.path().join("a.redb"), dir.path().join("b.redb"), dir.path().join("users.redb"));
        std::fs::write(&a, "a").expect("a");
        std::fs::write(&b, "b").expect("b");
        std::os::unix::fs::symlink(&a, &link).expect("link");
        let draft = dir.path().join("d.draft.json");
        let opened = std::fs::canonicalize(&a).expect("a").display().to_string();
        let said = kept_at_the_way_out(&draft, Some(&link), &opened, false);
        assert!(said.ends_with("; start custodian again to reopen it"), "{said}");
        std::fs::remove_file(&link).expect("unlink");
        std::os::unix::fs::symlink(&b, &link).expect("re-pointed");
        let said = kept_at_the_way_out(&draft, Some(&link), &opened, false);
        assert!(
            said.ends_with(&format!(
                "; it was written for {opened}, the file custodian opened, and {} names another file now: `custodian --db {opened}` reopens it",
                link.display()
            )),
            "{said}"
        );
    }

    /// A write or a key sync a server refuses for taking no writes turns the screen read-only,
    /// and the sync's refusal no longer advises `init`, a write itself (bb57 F4).
    #[test]
    fn a_server_that_takes_no_writes_is_its_own_answer_also_for_the_keys_sync() {
        let refused = || StoreError::ServerTakesNoWrites { server: "postgres://h/db".into() };
        let said = refused().to_string();
        assert!(
            matches!(store_failed(refused()), Action::WritesRefused { why: ReadOnly::Server, message } if message == said)
        );
        match super::super::scanner::keys_synced(Err(refused())) {
            Some(Action::WritesRefused { message, .. }) => assert!(!message.contains("init"), "{message}"),
            other => panic!("{other:?}"),
        }
        let other = StoreError::Database("disk".into());
        assert!(matches!(store_failed(other), Action::StoreFailed { .. }));
    }
}
