//! The event loop: keys, signals and the workers' answers in, frames out; and the autosave.

use super::*;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{self, Event, KeyEventKind, MouseButton, MouseEventKind};

use crate::draft::Draft;
use crate::tui::app::{Action, Mode, State, update};
use crate::tui::theme::Theme;

use super::silence::{self, Silence};
use super::terminal_events::{Crossterm, TerminalEvents};
use super::typed_ahead::{Dropped, QuestionOnScreen};

/// How long an edit may go unsaved before its draft is written to disk.
pub(super) const DRAFT_EVERY: Duration = Duration::from_secs(2);

/// How often the event loop looks for the editor's check while one is under way.
pub(super) const CHECK_POLL: Duration = Duration::from_millis(5);

/// How often a frame shows what a running scan has found (when no key asks for one sooner).
pub(super) const SCAN_FRAME_EVERY: Duration = Duration::from_millis(40);

/// How often a frame is drawn while a long burst of keys is worked through, so the screen
/// never looks stuck behind it.
pub(super) const BURST_FRAME_EVERY: Duration = Duration::from_millis(100);

/// A save unanswered this long is said so: past the screen's statement timeout (10 s, which
/// the server enforces and answers) and lock timeout (3 s), only a server that stopped or a
/// link that holds its answer keeps a save waiting.
pub(super) const SAVE_UNANSWERED_AFTER: Duration = Duration::from_secs(15);

/// `drafts` with the handle each user has now where it is another than the one written: the
/// list named a draft by a username that had gone to someone else since (bb34 #4).
/// One read for all of them (a round trip each on PostgreSQL, before the first frame); a user
/// gone, or a read that fails, leaves the handle written.
fn with_handles_now(runtime: &Runtime, mut drafts: Vec<Draft>) -> Vec<Draft> {
    let ids: Vec<String> = drafts.iter().map(|draft| draft.user_id.clone()).collect();
    let handles: std::collections::HashMap<String, String> = runtime
        .store
        .users_by_id(&ids)
        .unwrap_or_default()
        .into_iter()
        .map(|record| (record.user.id.clone(), record.user.handle().to_owned()))
        .collect();
    for draft in &mut drafts {
        draft.handle_now = handles.get(&draft.user_id).filter(|now| **now != draft.user_handle).cloned();
    }
    drafts
}

pub(super) fn event_loop(
    terminal: &mut terminal::Term,
    runtime: &Runtime,
    state: &mut State,
    theme: &Theme,
    ended: &Ended,
    scan_answers: &ScanAnswers,
    key_file: Option<&crate::key_file::WatchedKeyFile>,
) -> Result<()> {
    let effects = state.start();
    run_effects_on(runtime, Some(&mut *terminal), state, effects);
    let found = runtime.drafts.for_database(&runtime.database);
    for ignored in &found.ignored {
        tracing::warn!(file = %ignored.name, why = %ignored.why, "a draft, or an edit a session kept, is not offered");
    }
    let mut not_offered: Vec<String> =
        found.ignored.iter().map(|i| format!("{}: {}", i.name, i.why)).collect();
    // Also beside drafts offered: an edit of the same user kept under another address stayed
    // unnamed (bb99 F8).
    not_offered.extend(super::kept_elsewhere::drafts_kept_elsewhere(runtime));
    for draft in &found.in_use {
        tracing::info!(user = %draft.user_id, file = %draft.file_name(), "a draft of another running custodian is not offered");
    }
    let in_use = found.in_use.iter().map(|d| d.user_handle.clone()).collect();
    let (drafts, stored) = super::stored_already::split_stored_already(runtime, found.drafts);
    let effects =
        update(state, Action::DraftsFound { drafts: with_handles_now(runtime, drafts), not_offered, in_use });
    run_effects_on(runtime, Some(&mut *terminal), state, effects);
    for (draft, revision) in stored {
        // The log says which file went and why (it said nothing: bb88 F2).
        tracing::info!(user = %draft.user_id, file = %draft.file_name(), revision, "draft already stored: removed at start");
        let (user_id, user_handle, session) = (draft.user_id, draft.user_handle, draft.session);
        let told = Action::DraftAlreadyStored { user_id, user_handle, session, revision, current: revision };
        let effects = update(state, told);
        run_effects_on(runtime, Some(&mut *terminal), state, effects);
    }
    settle(runtime, terminal, state, 0, Instant::now() + SETTLE);
    // crossterm starts watching for resizes on its first poll: start it before the first frame
    // so a resize right after start-up is not missed.
    event::poll(Duration::ZERO)?;
    // `dirty`: the operator did something, draw at once. `scan_news`: the scan found more;
    // drawn at most every SCAN_FRAME_EVERY so its answers cannot crowd out the keys.
    let (mut dirty, mut scan_news) = (true, false);
    let mut drawn_at = Instant::now();
    let mut last_draft: Option<LastDraft> = None;
    let mut keys_sync_asked = false;
    let (mut save_silence, mut search_silence) = (Silence::default(), Silence::default());
    let mut file_looked_at = Instant::now();
    let mut keys = TerminalEvents::<Crossterm>::default();
    let mut question = QuestionOnScreen::default();
    while !state.quit && !ended.now() {
        if dirty || scan_news && drawn_at.elapsed() >= SCAN_FRAME_EVERY {
            drop_typed_ahead(runtime, terminal, &mut keys, state, &question)?;
            terminal::draw(terminal, |frame| view::render(frame, state, theme))?;
            drawn_at = Instant::now();
            question.frame_drawn(state);
            if !keys_sync_asked {
                // After the first frame, so the sync's work on the server never delays it;
                // the list is read again when it changed anything.
                keys_sync_asked = true;
                if let Some(scanner) = &runtime.scanner {
                    scanner.sync_keys();
                }
            }
            (dirty, scan_news) = (false, false);
            panic_if_asked_in_a_test();
        }
        // The check a key asked for starts once that key's frame is out.
        if let Some(checker) = &runtime.checker {
            checker.send_held();
        }
        let told = silence::save_unanswered(&mut save_silence, state)
            .or_else(|| silence::search_unanswered(&mut search_silence, state));
        if let Some(told) = told {
            let effects = update(state, told);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            dirty = true;
        }
        // An unsaved edit over a database file replaced or removed since custodian opened it:
        // the screen turns read-only now, not at the next Ctrl-S — until then its way out asked
        // "throw your changes away?" and its `y` removed the only copy (bb92 F8).
        let editing = state.editor.as_ref().is_some_and(|editor| editor.is_modified());
        if editing && state.read_only.is_none() && file_looked_at.elapsed() >= FILE_LOOKED_AT_EVERY {
            file_looked_at = Instant::now();
            if let Err(gone) = runtime.store.still_at_its_path() {
                let effects = update(state, super::store_answers::store_failed(gone));
                run_effects_on(runtime, Some(&mut *terminal), state, effects);
                dirty = true;
            }
        }
        if let Some(answer) = autosave_draft(runtime, state, &mut last_draft) {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            dirty = true;
        }
        // What the background scan found since the last look. Shown at once while the list
        // has room for more rows or when the scan is over (someone is waiting for that).
        let shown_before = state.list.rows.len();
        // The editor's check: drawn at once, it is what the status line waits for.
        while let Some(answer) = runtime.checker.as_ref().and_then(check::Checker::try_recv) {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            dirty = true;
        }
        while let Some(answer) = scan_answers.try_recv() {
            let effects = update(state, answer);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
            scan_news = true;
        }
        if scan_news && (shown_before < state.list.height || !state.list.search.scanning) {
            dirty = true;
        }
        // Keys come first: with a frame to draw, only look whether one is waiting; with scan
        // news, wait (for keys) until its frame is due; otherwise sleep until a key or the
        // scanner's next answer.
        // The workers' answers wake the loop as the scanner's do, and are drawn at once.
        if take_answers_on(runtime, Some(&mut *terminal), state) {
            dirty = true;
            continue;
        }
        let (wait, wake) = if dirty {
            (Duration::ZERO, None)
        } else if scan_news {
            (SCAN_FRAME_EVERY.saturating_sub(drawn_at.elapsed()), None)
        } else if state.editor.as_ref().is_some_and(|editor| !editor.is_checked()) {
            // A check is under way: look for its answer soon.
            (CHECK_POLL, None)
        } else {
            (Duration::from_millis(250), Some(scan_answers.wake.as_raw_fd()))
        };
        let workers_wake = runtime.workers.as_ref().map(|w| w.wake.as_raw_fd());
        // crossterm 0.29 spins forever reading a terminal that has gone away (an SSH drop
        // whose SIGHUP went to the shell), so custodian looks at the terminal itself first.
        match terminal_input(wait.as_millis() as i32, [wake, workers_wake]) {
            TerminalInput::HungUp => break,
            TerminalInput::Woken => {
                scan_answers.drain_wake();
                if let Some(workers) = &runtime.workers {
                    workers.drain_wake();
                }
                continue;
            }
            // Nothing typed: still ask crossterm, without waiting, for a resize.
            TerminalInput::Idle if !event::poll(Duration::ZERO)? => continue,
            _ => {}
        }
        // Drain everything already queued, then draw once (and every BURST_FRAME_EVERY
        // meanwhile).
        let settle_by = Instant::now() + SETTLE;
        let mut frame_due = Instant::now() + BURST_FRAME_EVERY;
        loop {
            let action = keys.next_action(state)?;
            if let Some(action) = action.filter(|action| {
                let dropped = question.dropped(state, action);
                if let Some(why) = dropped {
                    say_dropped(runtime, terminal, state, why);
                    dirty = true;
                }
                dropped.is_none()
            }) {
                if matches!(action, Action::Resize { .. }) {
                    terminal.autoresize()?;
                }
                let action = with_the_key_file_as_it_is(key_file, action);
                let since = next_ticket(runtime);
                let effects = update(state, action);
                run_effects_on(runtime, Some(&mut *terminal), state, effects);
                settle(runtime, terminal, state, since, settle_by);
                dirty = true;
            }
            if dirty && (Instant::now() >= frame_due || question.unseen(state)) {
                drop_typed_ahead(runtime, terminal, &mut keys, state, &question)?;
                terminal::draw(terminal, |frame| view::render(frame, state, theme))?;
                drawn_at = Instant::now();
                frame_due = drawn_at + BURST_FRAME_EVERY;
                question.frame_drawn(state);
                dirty = false;
            }
            if state.quit || terminal_input(0, [None, None]) == TerminalInput::HungUp || !keys.waiting()? {
                break;
            }
        }
    }
    if state.quit && runtime.workers.as_ref().is_some_and(StoreWorkers::busy) {
        // The way out waits for work already sent (a save): the last frame says so. A
        // terminal that is gone by now is no reason to report the session as failed.
        let _ = terminal::draw(terminal, |frame| view::render(frame, state, theme));
    }
    Ok(())
}

/// A seal or an open with the keys the key file holds now: preceded by the file read again
/// when it changed since it was read (a rotation), which `update` applies.
fn with_the_key_file_as_it_is(key_file: Option<&crate::key_file::WatchedKeyFile>, action: Action) -> Action {
    let Some(key_file) = key_file.filter(|_| matches!(action, Action::SealValue | Action::OpenSealed)) else {
        return action;
    };
    match key_file.changed() {
        None => action,
        Some(keys) => Action::KeyFileReadAgain {
            keys: keys.map_err(|problem| problem.to_string()),
            then: Box::new(action),
        },
    }
}

/// Before the frame that first shows a dialog: drops the keys waiting, typed before it could be
/// seen ([`QuestionOnScreen`]); a resize among them still resizes. Before the frame, not after:
/// a key sent the moment the dialog showed was read with them and dropped, and an operator's
/// quick answer was lost (a pty test's `r` to the conflict view timed out under load).
fn drop_typed_ahead(
    runtime: &Runtime,
    terminal: &mut terminal::Term,
    keys: &mut TerminalEvents<Crossterm>,
    state: &mut State,
    question: &QuestionOnScreen,
) -> Result<()> {
    if !question.unseen(state) {
        return Ok(());
    }
    while keys.waiting()? {
        let Some(action) = keys.next_action(state)? else { continue };
        match question.dropped(state, &action) {
            Some(why) => say_dropped(runtime, terminal, state, why),
            None => {
                terminal.autoresize()?;
                let effects = update(state, action);
                run_effects_on(runtime, Some(&mut *terminal), state, effects);
            }
        }
    }
    Ok(())
}

/// A key dropped as typed ahead: logged, and one typed ahead of a failed command counted on
/// the status line.
fn say_dropped(runtime: &Runtime, terminal: &mut terminal::Term, state: &mut State, why: Dropped) {
    match why {
        Dropped::AheadOfAFailure => {
            tracing::info!("a key typed ahead of a failed command was dropped");
            let effects = update(state, Action::TypedAheadOfAFailure);
            run_effects_on(runtime, Some(&mut *terminal), state, effects);
        }
        Dropped::BeforeTheQuestion => {
            tracing::info!("a key typed before the question was on the screen was dropped")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TerminalInput {
    Ready,
    Idle,
    /// The scanner has an answer.
    Woken,
    HungUp,
}

/// Waits up to `timeout_ms` for input on the terminal (standard input), or for a byte on
/// one of the `wake` pipes given (the scanner's, the store workers'), and says which came,
/// neither, or that the terminal has gone away.
pub(super) fn terminal_input(timeout_ms: i32, wake: [Option<std::os::fd::RawFd>; 2]) -> TerminalInput {
    let mut fds = [
        libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: wake[0].unwrap_or(-1), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: wake[1].unwrap_or(-1), events: libc::POLLIN, revents: 0 },
    ];
    // SAFETY: valid pollfds (a negative fd is ignored by poll); poll writes only revents.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready < 0 {
        // Interrupted by a signal (a resize, a hang-up): let the loop look again.
        return TerminalInput::Idle;
    }
    let terminal = fds[0].revents;
    if terminal & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        TerminalInput::HungUp
    } else if terminal & libc::POLLIN != 0 {
        TerminalInput::Ready
    } else if (fds[1].revents | fds[2].revents) & libc::POLLIN != 0 {
        TerminalInput::Woken
    } else {
        TerminalInput::Idle
    }
}

/// What the autosave last tried to write: when, for which editing session, which text.
pub struct LastDraft {
    /// When a draft was last written; `None` after the session's draft was removed (the text
    /// unmodified), so the first change is written at once: the editor's opening started the
    /// 2 s and a change in them was on no disk (bb29 S01).
    at: Option<Instant>,
    session: String,
    /// The editor's text generation it wrote (a 1 MiB text is not copied to tell).
    generation: u64,
    /// The file it wrote, when the write succeeded.
    path: Option<std::path::PathBuf>,
    /// When the file was last seen still there.
    looked_at: Instant,
}

impl LastDraft {
    /// Whether the draft written, or the session lock that keeps it this session's, is gone
    /// from disk (removed by hand, or by another program): looked at once every
    /// [`DRAFT_EVERY`] at most. The lock removed alone let another custodian offer the draft
    /// and discard it while this one still edited (bb29 S03).
    fn draft_is_gone(&mut self, drafts: &crate::draft::Drafts) -> bool {
        // None written (the last write failed: a full disk, a directory made unwritable): tried
        // again, not only once the text changes — freed, the disk took nothing until a key was
        // typed, and a kill meanwhile lost the edit (bb94 F3).
        let Some(path) = &self.path else { return true };
        if self.looked_at.elapsed() < DRAFT_EVERY {
            return false;
        }
        self.looked_at = Instant::now();
        matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
            || drafts.session_lock_is_gone()
    }
}

/// Writes the editor's text to its session's draft file when it changed and has been unsaved
/// a while, so that even a SIGKILL or a power cut loses at most a couple of seconds of typing;
/// and again when the file was removed while the text stayed the same, so the edit is on disk
/// for as long as the session holds it. Answers with what happened when it tried (a failure
/// goes on the status line at once).
pub fn autosave_draft(runtime: &Runtime, state: &State, last: &mut Option<LastDraft>) -> Option<Action> {
    let Some(editor) = state.editor.as_ref() else {
        *last = None;
        return None;
    };
    if !editor.is_modified() {
        // Every change undone: nothing is unsaved, so a crash must not offer the undone text
        // (bb20 L02); the way out removes it too. Once per session or after a draft written.
        let removed = last.as_ref().is_some_and(|w| w.session == editor.draft_session && w.path.is_none());
        if !removed {
            let _ = runtime.drafts.remove_session(&runtime.database, &editor.user_id, &editor.draft_session);
            *last = Some(LastDraft {
                at: None,
                session: editor.draft_session.clone(),
                generation: editor.generation,
                path: None,
                looked_at: Instant::now(),
            });
        }
        return None;
    }
    // Another editing session (a new editor) writes at once, whatever the last one wrote.
    if let Some(written) = last.as_mut().filter(|w| w.session == editor.draft_session) {
        // A save on its way may wait seconds for the file (another writer): what was typed
        // since the last draft is written now, not 2 s on — a kill meanwhile lost it (bb94 F4).
        let saving = state.pending == Some(crate::tui::app::Pending::Saving)
            && written.generation != editor.generation;
        if written.at.is_some_and(|at| at.elapsed() < DRAFT_EVERY) && !saving {
            return None;
        }
        if written.generation == editor.generation {
            if !written.draft_is_gone(&runtime.drafts) {
                return None;
            }
            tracing::warn!(user = %editor.user_id, "the session's draft or its lock was removed while it was being edited: written again");
        }
    }
    let failed_before = last.as_ref().is_some_and(|w| w.session == editor.draft_session && w.path.is_none());
    let result = keep_unsaved_edit(runtime, editor.snapshot());
    if let Err(why) = &result
        && !failed_before
    {
        tracing::error!(user = %editor.user_id, %why, "the unsaved edit could not be kept as a draft");
    }
    *last = Some(LastDraft {
        at: Some(Instant::now()),
        session: editor.draft_session.clone(),
        generation: editor.generation,
        path: result.as_ref().ok().cloned(),
        looked_at: Instant::now(),
    });
    Some(Action::Autosaved(result.map(|p| p.display().to_string())))
}

/// Takes a found draft over for a new editing session and loads what reopening it needs. Its
/// base is in doubt when the revision it started from is gone or holds another text than
/// the one it was edited from (a database restored from a backup, or re-imported): then the
/// editor starts from what is stored now and shows the conflict view.
pub(super) fn open_found_draft(runtime: &Runtime, found: Draft) -> Action {
    let store = runtime.store;
    let not_opened = |message: String| Action::DraftNotOpened { message };
    // Why a draft is not this user's now, with the file its edit stays in.
    let kept = |why: String| {
        let file = runtime.drafts.dir().join(found.file_name());
        tracing::warn!(user = %found.user_id, file = %file.display(), %why, "draft not opened, kept");
        not_opened(format!(
            "draft of {} not opened: user {} {why}; its edit is kept in {} (copy it from there; d in the drafts list discards it)",
            found.user_handle,
            found.user_id,
            file.display()
        ))
    };
    let record = match store.still_at_its_path().and_then(|()| store.user(&found.user_id)) {
        Ok(record) => record,
        // Not "no user … (looked for an id, a username, …)": nobody typed a lookup, and a
        // user who has this id for a username is not this draft's (bb20 L04).
        // The file is named: the dialog offers it at every start and refuses it, so its
        // text can only be copied from there (bb31 U08).
        Err(crate::store::StoreError::UserNotFound(_)) => {
            return kept(
                "no longer exists (deleted outside custodian, or the file restored from before it)"
                    .to_owned(),
            );
        }
        Err(e) => {
            return not_opened(format!("draft of {} not opened (it is kept): {e}", found.user_handle));
        }
    };
    // Created after the draft was last written: another account under the id (the user the
    // draft was for deleted, or the file restored from before it, and the id given again). A
    // new user starts at revision 1 holding `{}`, as the draft's did: the draft's checks
    // passed, and it saved into someone else (bb62 F4).
    if record.user.created_at > found.saved_at {
        return kept(format!(
            "is another account now ({}, created after the draft was written: the user it was for was deleted, or the file restored from before it)",
            record.user.handle()
        ));
    }
    let draft = match runtime.drafts.claim(&found, &crate::draft::new_session()) {
        Ok(draft) => draft,
        Err(e) => return not_opened(format!("draft not opened: {e}")),
    };
    // Also at the revision it started from: an edit of white space alone saves nothing, and
    // was offered and reopened as an unsaved edit ("Ctrl-S saves it", then "no changes": bb26 T08).
    if let Some(revision) = super::stored_already::revision_holding(store, &draft, record.revision) {
        tracing::info!(user = %draft.user_id, revision, current = record.revision, "draft already stored");
        return Action::DraftAlreadyStored {
            user_id: draft.user_id,
            user_handle: draft.user_handle,
            session: draft.session,
            revision,
            current: record.revision,
        };
    }
    let base_text = store.revision_text(&draft.user_id, draft.base_revision);
    let (base, doubt) = match base_text {
        Ok(text) if draft.started_from(&text) => {
            (crate::store::StoredDocument { text, revision: draft.base_revision, updated_micros: None }, None)
        }
        other => {
            let reason = match other {
                Ok(_) => format!(
                    "revision {} holds another text than the one this draft was edited from (changed outside custodian since — on Logto's database, by Logto or SQL —, restored from a backup, or re-imported?)",
                    draft.base_revision
                ),
                Err(_) => format!(
                    "revision {} it started from is not in this database (restored from a backup or re-imported?)",
                    draft.base_revision
                ),
            };
            match store.custom_data(&draft.user_id) {
                Ok(current) => (current, Some(reason)),
                Err(e) => return not_opened(format!("draft not opened (it is kept): {e}")),
            }
        }
    };
    tracing::info!(user = %draft.user_id, doubtful = doubt.is_some(), "draft reopened");
    Action::DraftReady { record: Box::new(record), base, draft, doubt }
}

/// How often the database file under an unsaved edit is looked at (a `stat`).
const FILE_LOOKED_AT_EVERY: Duration = Duration::from_secs(1);

/// The action an input event stands for in the current state, if any.
pub fn action_for_event(state: &State, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => keymap::action_for(state.mode(), key),
        Event::Paste(text) => match state.mode() {
            Mode::Edit => Some(Action::Paste(text)),
            Mode::Filter | Mode::Command | Mode::Find => Some(Action::PasteLine(text)),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        // Only delivered with --mouse.
        Event::Mouse(mouse) if matches!(state.mode(), Mode::Browse | Mode::Filter) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::ScrollUp => Some(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                view::list_row_at(state.width, state.height, mouse.column, mouse.row).map(Action::SelectRow)
            }
            _ => None,
        },
        _ => None,
    }
}
