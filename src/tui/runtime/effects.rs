//! Doing the effects `update` asks for: against the store, the drafts directory and the terminal.

use super::*;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Result;

use crate::domain::time::now_ms;
use crate::draft::{Draft, DraftKind, EditSnapshot};
use crate::store::{Author, StoreError};
use crate::tui::app::{Action, Effect, State, update};
use crate::tui::tree::Tree;

/// Revisions the history view loads (the most recent ones).
pub(super) const HISTORY_LIMIT: usize = 200;

/// Does the work `update` asked for, feeding each answer back, until none is left. Without a
/// terminal (in tests) the terminal's work (suspend, clipboard, external editor) is skipped.
pub fn run_effects(runtime: &Runtime, state: &mut State, effects: Vec<Effect>) {
    run_effects_on(runtime, None, state, effects);
}

pub(super) fn run_effects_on(
    runtime: &Runtime,
    mut terminal: Option<&mut terminal::Term>,
    state: &mut State,
    effects: Vec<Effect>,
) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        let answer = match (&mut terminal, effect) {
            (
                Some(terminal),
                effect @ (Effect::Suspend | Effect::CopyToClipboard { .. } | Effect::EditExternally { .. }),
            ) => {
                if matches!(effect, Effect::Suspend) {
                    keep_before_stopping(runtime, state);
                }
                perform_on_terminal(runtime, terminal, effect)
            }
            (_, effect) => match (&runtime.workers, Work::of(&effect)) {
                // Store work goes to the workers; its answer comes back through the loop.
                (Some(workers), Some(work)) => {
                    workers.submit(work, effect);
                    None
                }
                _ => perform(runtime, effect),
            },
        };
        if let Some(answer) = answer {
            queue.extend(update(state, answer));
        }
    }
    // Without workers every piece of work was answered above: nothing is pending any more.
    if runtime.workers.is_none() && state.pending.is_some() {
        update(state, Action::StoreBusy(None));
    }
}

/// Work on the terminal itself, answered as an action.
pub(super) fn perform_on_terminal(
    runtime: &Runtime,
    terminal: &mut terminal::Term,
    effect: Effect,
) -> Option<Action> {
    let failed = |what: &str, e: std::io::Error| Action::StoreFailed { message: format!("{what}: {e}") };
    Some(match effect {
        Effect::Suspend => match terminal::shell_to_return_to() {
            Ok(()) => match terminal::suspend(terminal, &|| HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed)) {
                Ok(()) => Action::Resumed,
                Err(e) => failed("could not suspend", e),
            },
            // Stopping now would be for good: say so and go on.
            Err(why) => {
                tracing::info!(%why, "Ctrl-Z refused: no shell to return to");
                Action::SuspendRefused { reason: format!("not suspended: no shell to return to — {why}") }
            }
        },
        Effect::CopyToClipboard { text } => match terminal::send(terminal, &osc52(&text)) {
            Ok(()) => return None,
            Err(e) => failed("could not copy", e),
        },
        Effect::EditExternally { user_id, user_handle, base, text, max_bytes } => {
            let result = edit_externally_named_in_a_draft(
                runtime,
                terminal,
                &user_id,
                &user_handle,
                &base,
                &text,
                max_bytes,
            );
            let session_ending = HUNG_UP_OR_TERMINATED.load(Ordering::Relaxed);
            // What became of the text (a draft, a file left, nothing) the way out says.
            if session_ending {
                tracing::warn!(user = %user_id, "hang-up or TERM while $EDITOR ran: nothing of it is saved");
            }
            Action::EditedExternally { user_id, user_handle, base, result, session_ending }
        }
        // Only terminal work is routed here.
        _ => return None,
    })
}

/// The OSC 52 request that puts `text` on the terminal's clipboard (`c`), through tmux and SSH.
pub fn osc52(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend(base64::engine::general_purpose::STANDARD.encode(text).into_bytes());
    out.push(0x07);
    out
}

/// Up to `limit` journal entries before `before`, newest first, with their users' handles.
fn journal_page(
    store: &dyn UserStore,
    before: Option<(i64, u64)>,
    limit: usize,
) -> Result<Vec<app::ChangesRow>, StoreError> {
    let mut entries = Vec::new();
    let query = crate::store::JournalQuery { before, ..Default::default() };
    // Shown on a line cut at the screen's edge: the first keys of each kind are enough (all
    // of them held 674 MB for entries of documents of 60,000 keys: bb42 F10).
    store.journal(&query, &mut |entry| {
        entries.push(entry.keys_cut_to(512));
        Ok(entries.len() < limit)
    })?;
    let mut ids: Vec<String> = entries.iter().map(|e| e.user_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    // One read for the page's users; one gone, or a save of an earlier account, by id alone.
    let handles: std::collections::HashMap<String, String> = store
        .users_by_id(&ids)?
        .into_iter()
        .map(|record| (record.user.id.clone(), record.user.handle().to_owned()))
        .collect();
    Ok(entries
        .into_iter()
        .map(|entry| {
            let handle = handles.get(&entry.user_id).filter(|_| !entry.of_an_earlier_account);
            app::ChangesRow { handle: handle.cloned().unwrap_or_default(), entry }
        })
        .collect())
}

/// The stored schema, compiled here, when it is no longer the revision `seen`.
fn schema_if_changed(
    store: &dyn UserStore,
    seen: Option<crate::store::Revision>,
    for_save: bool,
) -> Result<Option<Action>, StoreError> {
    let current = store.schema()?;
    let revision = current.as_ref().map(|s| s.revision);
    if revision == seen {
        return Ok(None);
    }
    let shape = current
        .as_ref()
        .map(crate::cli::schema::shape_of_stored)
        .transpose()
        .map(|shape| app::SharedShape(shape.map(Arc::new)))
        .map_err(|refused| refused.to_string());
    Ok(Some(Action::SchemaRead { revision, shape, for_save }))
}

/// The user's customData to show. One SQL made no JSON object (`"oops"`, `null`) is shown as
/// its text: the profile, `h` and the editor still reach that user, and the editor says it is
/// no object until the operator writes one, which a save then stores.
fn shown_document(store: &dyn UserStore, id: &str) -> Result<crate::store::StoredDocument, StoreError> {
    match store.custom_data(id) {
        Err(StoreError::StoredNotAnObject { .. }) => {
            let current = store.history(id)?.into_iter().rfind(|r| r.current);
            let revision = current.map_or(1, |r| r.revision);
            let text = store.revision_text(id, revision)?;
            Ok(crate::store::StoredDocument { text, revision, updated_micros: None })
        }
        other => other,
    }
}

/// Documents of this many lines or more get their folding tree when `Tab` asks for it, not
/// with every load of the user: a node takes ~180 bytes, and a document of 520,000 small values
/// held ~100 MB while its user was only shown, and took 200–280 ms a move onto it (bb31 U13).
/// The README's 1 MiB document of events (~50,000 lines) still comes with its tree.
pub const PREPARED_TREE_LINES: usize = 100_000;

/// One piece of work, answered as an action (or silently done).
pub fn perform(runtime: &Runtime, effect: Effect) -> Option<Action> {
    perform_telling(runtime, effect, &|_| {})
}

/// [`perform`], telling `tell` how work under way (an export) is going before its answer.
pub(super) fn perform_telling(
    runtime: &Runtime,
    effect: Effect,
    tell: &(dyn Fn(Action) + Sync),
) -> Option<Action> {
    let store = runtime.store;
    let failed = store_failed;
    if let Err(e) = super::store_answers::the_file_still_shown(store, &effect) {
        return Some(failed(e));
    }
    Some(match effect {
        Effect::Check { generation, text, limits, shape } => match &runtime.checker {
            Some(checker) => {
                checker.submit(generation, text, limits, shape.0);
                return None;
            }
            None => check::check(generation, &text, &limits, shape.0.as_deref()),
        },
        Effect::Discard(data) => {
            if let Some(checker) = &runtime.checker {
                checker.discard(*data);
            }
            return None;
        }
        Effect::LoadRows(request) => {
            // A counted load is a refresh (or the first): it says so when the file was replaced.
            let counted = |rows| Ok((rows, if request.count { Some(store.user_count()?) } else { None }));
            let checked = if request.count { store.still_at_its_path() } else { Ok(()) };
            match checked.and_then(|()| store.rows(&request.seek, request.limit)).and_then(counted) {
                Ok((rows, total)) => Action::RowsLoaded { request, rows, total },
                Err(e) => failed(e),
            }
        }
        Effect::ReadCurrent { id, purpose } => {
            match store.still_at_its_path().and_then(|()| Ok((store.user(&id)?, shown_document(store, &id)?)))
            {
                Ok((record, document)) => Action::CurrentRead { purpose, record: Box::new(record), document },
                Err(StoreError::UserNotFound(_)) => {
                    user_gone(store, &id, purpose == app::Purpose::ReviewSave)
                }
                Err(e) => failed(e),
            }
        }
        Effect::SelectUser { id } => match store.entry(&id) {
            Ok(entry) => Action::UserToSelect { entry: Box::new(entry) },
            Err(e) => failed(e),
        },
        Effect::FollowUser { id } => match store.entry(&id) {
            Ok(entry) => Action::UserFollowed { entry: Some(Box::new(entry)) },
            Err(StoreError::UserNotFound(_)) => Action::UserFollowed { entry: None },
            Err(e) => failed(e),
        },
        Effect::LoadUser { id } => match store.user(&id).and_then(|r| Ok((r, shown_document(store, &id)?))) {
            Ok((record, document)) => {
                let lines = memchr::memchr_iter(b'\n', document.text.as_bytes()).count();
                let tree = (lines < PREPARED_TREE_LINES)
                    .then(|| Tree::of_text(&document.text))
                    .flatten()
                    .map(Arc::new);
                Action::UserLoaded { record: Box::new(record), document, tree }
            }
            Err(e) => failed(e),
        },
        Effect::ReadSchema { seen, for_save } => match schema_if_changed(store, seen, for_save) {
            Ok(read) => return read,
            Err(e) => failed(e),
        },
        Effect::Save { id, data, held_to, schema } => {
            if let app::SchemaSource::Stored(seen) = schema {
                match schema_if_changed(store, seen, true) {
                    Ok(Some(changed)) => {
                        tracing::info!(user = %id, "save from the editor stopped: the stored schema changed");
                        return Some(changed);
                    }
                    // Held to it until the commit: one set from now on stops the save too.
                    Ok(None) => store.hold_writes_to_schema(seen),
                    // Lost before the save was sent: it did not happen.
                    Err(e) if e.is_connection_lost() => {
                        tracing::warn!(error = %e, "connection lost");
                        return Some(Action::ConnectionLost {
                            message: "the save did not happen".to_owned(),
                        });
                    }
                    Err(e) => return Some(failed(e)),
                }
            }
            // Held to the document the screen read: the revision and, where revisions cannot
            // tell every outside write apart (Logto's database), the document itself.
            store.hold_save_to(&id, &held_to);
            match store.replace_custom_data(&id, &data, Some(held_to.revision), &Author::from_environment()) {
                Ok(outcome) => {
                    // Ids and revisions only: the removed keys are the operator's data.
                    tracing::info!(user = %id, revision = outcome.revision(), "save from the editor");
                    let handle_now = store.user(&id).ok().map(|record| record.user.handle().to_owned());
                    Action::Saved { id, outcome, handle_now }
                }
                // The COMMIT went and no answer came: neither saved nor not saved until the
                // store, reconnected, is asked.
                Err(StoreError::SaveOutcomeUnknown { server, user, revision }) => {
                    tracing::warn!(user = %id, revision, "save outcome unknown: the connection went during its commit");
                    let message = StoreError::SaveOutcomeUnknown { server, user, revision }.to_string();
                    Action::SaveOutcomeUnknown { id, data, revision, message }
                }
                // A schema set between the look above and the commit: nothing written; the
                // edit is checked against the new one, as when the look finds it.
                Err(StoreError::SchemaChanged { seen, found }) => {
                    match schema_if_changed(store, seen, true) {
                        Ok(Some(changed)) => changed,
                        Ok(None) => failed(StoreError::SchemaChanged { seen, found }),
                        Err(e) => failed(e),
                    }
                }
                Err(StoreError::UserNotFound(_)) => {
                    tracing::warn!(user = %id, "save from the editor refused: the user no longer exists");
                    user_gone(store, &id, true)
                }
                // Busy, read-only, damaged: a refusal the log keeps as the CLI's are kept.
                Err(refusal) if !refusal.is_conflict() && !refusal.is_connection_lost() => {
                    tracing::warn!(user = %id, %refusal, "save from the editor refused");
                    failed(refusal)
                }
                // On PostgreSQL a write outside custodian (Logto, psql) is a conflict too.
                Err(refusal @ (StoreError::Conflict { .. } | StoreError::ChangedOutside { .. })) => {
                    // Read as theirs only: the edit's next save is still held to its base.
                    match store.theirs(&id) {
                        Ok(theirs) => {
                            tracing::warn!(user = %id, %refusal, "save refused: changed since it was read");
                            let handle_now =
                                store.user(&id).ok().map(|record| record.user.handle().to_owned());
                            Action::SaveConflict { id, theirs, handle_now }
                        }
                        Err(e) => failed(e),
                    }
                }
                Err(e) => failed(e),
            }
        }
        Effect::KeepRecovery { edit, theirs } => {
            let session = edit.session.clone();
            let user_id = edit.user_id.clone();
            // A recovery file's session part is new each time: never the same name twice.
            let recovery = Draft::new(
                DraftKind::Recovery,
                &runtime.database,
                EditSnapshot { session: crate::draft::new_session(), ..edit },
                now_ms(),
            );
            match runtime.drafts.save(&recovery) {
                Ok(path) => {
                    tracing::info!(path = %path.display(), user = %user_id, "edit kept in a recovery file");
                    // The edit is in the recovery file: the session's own draft is no longer needed.
                    let _ = runtime.drafts.remove_session(&runtime.database, &user_id, &session);
                    // What is stored now goes in the editor, not what the conflict view
                    // showed: a save since then was reloaded stale, and the next save was
                    // another conflict (bb36 #3). Unreadable now: the view's.
                    let now =
                        runtime.store.theirs(&user_id).ok().filter(|now| now.revision >= theirs.revision);
                    Action::RecoveryKept { path: path.display().to_string(), theirs: now.unwrap_or(theirs) }
                }
                Err(e) => Action::RecoveryFailed { message: e.to_string() },
            }
        }
        Effect::DiscardDraft { user_id, session } => {
            draft_left(runtime.drafts.remove_session(&runtime.database, &user_id, &session).err()?)
        }
        Effect::RemoveFoundDraft(draft) => match runtime.drafts.discard_found(&draft) {
            Ok(()) => {
                tracing::info!(user = %draft.user_id, file = %draft.file_name(), "draft discarded");
                return None;
            }
            Err(e) => {
                tracing::warn!(user = %draft.user_id, file = %draft.file_name(), %e, "draft not discarded");
                let message = match e {
                    crate::draft::DraftError::InUse { .. } => format!(
                        "draft of {} not discarded: it is being edited in another running custodian",
                        draft.user_handle
                    ),
                    other => format!("draft not discarded: {other}"),
                };
                Action::DraftNotDiscarded { message }
            }
        },
        Effect::LoadDraft(found) => open_found_draft(runtime, found),
        Effect::PrefixSearch { generation, query, limit } => match store.prefix_matches(&query, limit) {
            Ok(hits) => Action::SearchHits { generation, hits, scanned: 0, reached: None, done: false },
            Err(e) => failed(e),
        },
        Effect::Scan { generation, query } => {
            if let Some(scanner) = &runtime.scanner {
                scanner.start(generation, query);
                return None;
            }
            // No scanner thread (tests): the whole scan, answered at once.
            let (mut hits, mut scanned, mut failure) = (Vec::new(), 0, None);
            let no_cancels = Cancels::default();
            scan(store, (generation, &query), &|| true, &no_cancels, |answer| match answer {
                Action::SearchHits { hits: step, scanned: count, .. } => {
                    hits.extend(step);
                    scanned += count;
                    true
                }
                other => {
                    failure = Some(other);
                    false
                }
            });
            failure.unwrap_or(Action::SearchHits { generation, hits, scanned, reached: None, done: true })
        }
        Effect::FindUser { query } => match store.resolve(&query).and_then(|id| store.entry(&id)) {
            Ok(entry) => Action::UserFound { entry: Box::new(entry) },
            Err(e) => failed(e),
        },
        Effect::Export { path, stop } => exporting::export(store, &path, &stop, tell),
        // The terminal's work, without a terminal (in tests): nothing to do.
        Effect::Suspend | Effect::CopyToClipboard { .. } | Effect::EditExternally { .. } => return None,
        Effect::StopDryRun(stop) => {
            stop.stop();
            return None;
        }
        Effect::StopScan => {
            if let Some(scanner) = &runtime.scanner {
                scanner.stop();
            }
            return None;
        }
        Effect::Reconnect => match store.reconnect() {
            Ok(takes_writes) => Action::Reconnected { takes_writes },
            Err(e) => match e {
                // Still unreachable: the screen keeps saying the connection is lost. The server's
                // URL (already in the log) is left out of the status line, which has no room.
                StoreError::Connection(message) => {
                    tracing::warn!(%message, "reconnecting failed");
                    let why = message
                        .strip_prefix("postgres://")
                        .and_then(|rest| rest.split_once(": "))
                        .map_or(message.as_str(), |(_, why)| why);
                    Action::ConnectionLost { message: why.to_owned() }
                }
                other => failed(other),
            },
        },
        Effect::ResolveSave { id, data, revision } => match store.save_landed(&id, &data, revision) {
            Ok(landed) => {
                tracing::info!(user = %id, revision, landed, "save outcome found after reconnecting");
                Action::SaveResolved { id, revision, landed }
            }
            Err(e) => failed(e),
        },
        Effect::SyncKeys => {
            if let Some(scanner) = &runtime.scanner {
                scanner.sync_keys();
                return None;
            }
            // No scanner thread (tests): synced here, answered at once.
            return keys_synced(store.sync_keys());
        }
        Effect::LoadHistory { id } => {
            let summed_up = super::history_read::summed_up(store, &id);
            match summed_up {
                Ok((revisions, older, current_text)) => {
                    Action::HistoryLoaded { id, revisions, older, current_text }
                }
                // The selected user, gone since the list was read (bb16 L13).
                Err(StoreError::UserNotFound(_)) => user_gone(store, &id, false),
                Err(e) => failed(e),
            }
        }
        Effect::LoadChanges { before, limit } => Action::ChangesLoaded {
            before,
            rows: journal_page(store, before, limit).map_err(|e| e.to_string()),
        },
        Effect::PatchDryRun { file, selection, shape, stop } => {
            let result = crate::cli::patch::read_patch_file(&file).and_then(|patch| {
                let shape = shape.0.as_deref();
                let stopped = || stop.stopped();
                let (report, _) = crate::batch::run_for_screen(
                    store,
                    &patch,
                    &selection,
                    shape,
                    app::PATCH_SAMPLES,
                    None,
                    crate::batch::Walking {
                        seen: &mut super::progress::patch_progress(&stop, tell),
                        stop: &stopped,
                    },
                )?;
                Ok((Box::new(report), patch))
            });
            let result = result.map_err(|e| format!("{e:#}"));
            Action::PatchReady { file: file.display().to_string(), result }
        }
        Effect::ApplyPatch { patch, selection, reviewed, shape, schema, write_flagged, stop } => {
            // Held to the schema the dry run checked against: the store refuses the batch
            // inside its transaction when another was set or it was cleared since.
            if let app::SchemaSource::Stored(seen) = schema {
                store.hold_writes_to_schema(seen);
            }
            let batch = crate::store::BatchId::new();
            let result = crate::batch::run_for_screen(
                store,
                &patch,
                &selection,
                shape.0.as_deref(),
                0,
                Some(crate::batch::Apply { batch: &batch, reviewed: &reviewed, write_flagged }),
                crate::batch::Walking {
                    seen: &mut super::progress::patch_progress(&stop, tell),
                    stop: &|| stop.stopped(),
                },
            );
            // The screen's batches are logged as the command line's are.
            let result = match result {
                Ok((report, Some(summary))) => {
                    tracing::info!(batch = %summary.batch, matched = summary.matched, saved = summary.saved, "patch written from the screen");
                    let left_flagged = if write_flagged { 0 } else { report.flagged_users };
                    app::PatchAnswer::Applied(summary, report.failed + left_flagged)
                }
                Ok((_, None)) => app::PatchAnswer::NotApplied("nothing was written".to_owned()),
                // The COMMIT went unanswered: reconnected, the journal says whether it landed.
                Err(e) if matches!(e.downcast_ref(), Some(StoreError::BatchOutcomeUnknown { .. })) => {
                    tracing::warn!(%batch, "patch from the screen: outcome unknown, the connection went during its commit");
                    match store.reconnect().and_then(|_| crate::store::batch_landed(store, &batch)) {
                        Ok(true) => app::PatchAnswer::CommittedUnanswered(batch),
                        Ok(false) => app::PatchAnswer::NotApplied(format!(
                            "the connection was lost while batch {batch} was committing; after reconnecting: it was not written"
                        )),
                        Err(why) => app::PatchAnswer::InDoubt(format!(
                            "the connection was lost while batch {batch} was committing, and custodian cannot tell whether it was written ({why}); `custodian changes --batch {batch}` lists its saves if it was"
                        )),
                    }
                }
                Err(e) if matches!(e.downcast_ref::<StoreError>(), Some(lost) if lost.is_connection_lost()) =>
                {
                    tracing::warn!(error = %format!("{e:#}"), "patch from the screen: connection lost");
                    app::PatchAnswer::ConnectionLost(format!("{e:#}"))
                }
                Err(e) => match e.downcast_ref::<StoreError>() {
                    Some(StoreError::SchemaChanged { found, .. }) => {
                        let now = found
                            .map_or_else(|| "cleared".to_owned(), |revision| format!("revision {revision}"));
                        tracing::info!("patch from the screen stopped: the stored schema changed");
                        app::PatchAnswer::NotApplied(format!(
                            "the schema changed since the dry run (now {now}): nothing was written; press r, then run the dry run again"
                        ))
                    }
                    Some(StoreError::ServerTakesNoWrites { .. }) => {
                        tracing::warn!(error = %format!("{e:#}"), "patch from the screen refused");
                        app::PatchAnswer::ServerTakesNoWrites(format!("{e:#}"))
                    }
                    _ => {
                        tracing::warn!(error = %format!("{e:#}"), "patch from the screen refused");
                        app::PatchAnswer::NotApplied(format!("{e:#}"))
                    }
                },
            };
            Action::PatchApplied { result }
        }
        Effect::LoadRevision { id, revision } => match store.revision_text(&id, revision) {
            Ok(text) => Action::RevisionLoaded { id, revision, text },
            // Gone since its history was read (bb20 L04).
            Err(StoreError::UserNotFound(_)) => user_gone(store, &id, false),
            Err(e) => failed(e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::osc52;

    #[test]
    fn osc52_is_the_clipboard_request() {
        assert_eq!(osc52("{}"), b"\x1b]52;c;e30=\x07");
        assert_eq!(osc52("fooba"), b"\x1b]52;c;Zm9vYmE=\x07");
    }
}
