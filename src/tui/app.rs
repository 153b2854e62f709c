//! Every decision the screen makes: the state, the actions that change it, and `update`,
//! which turns (state, action) into a new state and the store work to do next (effects).
//! Nothing here touches the terminal or the store, so it is tested without either.

mod action;
mod changes;
mod command;
mod conflict;
mod connection;
mod dialogs;
mod diff_memo;
mod drafts;
mod edge;
mod editor;
mod effect;
mod external;
mod filter;
mod find;
mod help;
mod history;
mod indent;
mod jump;
mod list;
mod messages;
mod mode;
mod patch;
mod save;
mod sealing;
mod tree;
mod typing;
mod waiting_key;
mod whole_user;

pub use action::Action;
pub use changes::{CHANGES_PAGE, Changes, ChangesRow, ChangesView};
pub use command::{COMMANDS, CommandLine, CommandSpec};
pub use connection::UnresolvedSave;
pub use dialogs::{Dialog, Overwrites};
pub use diff_memo::DiffMemo;
pub use editor::{CursorPath, Doubt, Editor, schema_errors, schema_summary};
pub use effect::Effect;
pub use external::{CLIPBOARD_LIMIT, ExternalText, Purpose};
pub use filter::{MAX_MATCHES, Owed, Search};
pub use find::FindLine;
pub use history::{HistoryEntry, HistoryView};
use list::RefreshedFrom;
pub use list::{RowRequest, Then, UserList};
pub use messages::{MESSAGES_KEPT, Pending, ReadOnly, Status, StatusKind, Until};
pub use mode::Mode;
pub use patch::{
    PATCH_GROUPS_SHOWN, PATCH_SAMPLES, PatchAnswer, PatchView, SecretsInPatch, SharedShape, StopFlag,
};
pub use save::Review;
use save::{answers_a_save, touches_the_edit_being_saved};
pub use sealing::{IvSource, Plaintext, PlaintextScroll, system_iv};
pub use typing::types_text;
pub use whole_user::WholeUserView;

use std::collections::VecDeque;
use std::sync::Arc;

use ratatui_textarea::Input;

use crate::domain::history::RevisionChanges;
use crate::domain::seal::KeySet;
use crate::domain::shape::{Shape, Violation};
use crate::domain::{CustomData, Limits, ValidationError};
use crate::draft::{Draft, EditSnapshot};
use crate::store::{
    KeyOrder, ListEntry, Revision, RevisionInfo, SaveOutcome, Seek, StoredDocument, UserCount, UserRecord,
};
use crate::tui::tree::Tree;

/// A folding tree built ahead of `Tab`, and the document it is of.
pub struct PreparedTree {
    pub user_id: String,
    pub revision: Revision,
    pub tree: Arc<Tree>,
}

/// Where the screen's JSON Schema comes from: a file named at start (`--schema`, kept as it
/// was read), or the one stored with the users at the revision last read (`None`: none was
/// set), which every save and `r` read again: a schema set or cleared while the screen is up
/// holds from the next save on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSource {
    File,
    Stored(Option<Revision>),
}

/// The last `:export` asked for: its file (as the answers name it), how far it has come and
/// out of how many users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportUnderWay {
    pub path: String,
    pub progress: Option<crate::export::Progress>,
    pub total: Option<u64>,
}

/// Everything the screen shows.
pub struct State {
    /// The deployment's JSON Schema every editor holds its text to (none: no schema).
    pub shape: Option<Arc<Shape>>,
    pub schema_source: SchemaSource,
    pub list: UserList,
    /// The selected user, once loaded.
    pub user: Option<UserRecord>,
    pub document: Option<StoredDocument>,
    /// The customData pane as a folding tree, while it has the focus.
    pub tree: Option<Tree>,
    /// The tree of the loaded document, ready for `Tab`, with the user and revision it is
    /// of; also where the tree goes back (folds and all) when the list takes the focus.
    pub prepared_tree: Option<PreparedTree>,
    pub editor: Option<Editor>,
    pub history: Option<HistoryView>,
    /// `:patch`'s overlay, while open.
    pub patch: Option<PatchView>,
    /// Held by every `:export`: set at the way out once an export has been waited for as long
    /// as a write is, so it stops at its next user and the store closes cleanly (bb37 #1).
    pub exports_stop: StopFlag,
    /// The last `:export` asked for, until it answers: how far it has come, as last told
    /// (shown while an export is pending).
    pub export_under_way: Option<ExportUnderWay>,
    /// The journal overlay (`:changes`) and a jump from it.
    pub changes: Changes,
    pub dialog: Option<Dialog>,
    /// Found drafts not yet dealt with while one of them is open: offered again when the
    /// editor closes.
    pub pending_drafts: Vec<Draft>,
    /// A question put aside while the quit question is asked on the too-small screen; it
    /// comes back when the answer is no.
    pub set_aside: Option<Dialog>,
    /// A draft is being opened (its answer has not come yet).
    pub opening_draft: bool,
    /// Why the editor's draft could not be written, while that is so: shown on the status
    /// line for as long as the edit is unsaved.
    pub draft_failure: Option<String>,
    /// Lines for stderr once the screen is gone: where an external edit cut short by a
    /// hang-up or TERM left a file custodian could not take (the status line goes with the
    /// screen).
    pub said_at_exit: Vec<String>,
    /// The store lost its connection (why), while that is so: shown on the status line until
    /// a reconnect succeeds.
    pub connection_lost: Option<String>,
    /// A save whose COMMIT got no answer: found out after reconnecting, and until then no
    /// other save starts (it would conflict with our own, if that one did commit).
    pub unresolved_save: Option<UnresolvedSave>,
    pub help: bool,
    pub help_scroll: u16,
    /// The last messages said, oldest first, for `:messages`.
    pub said: VecDeque<String>,
    pub messages_open: bool,
    /// How many rows `:messages` is scrolled back from the newest.
    pub messages_back: u16,
    /// `i`'s overlay of the selected user, while open.
    pub whole_user: Option<WholeUserView>,
    /// `r` was pressed: what the list showed then, to say what the refresh changed.
    refreshing: Option<RefreshedFrom>,
    pub filtering: bool,
    pub command: Option<CommandLine>,
    pub status: Option<Status>,
    /// What the store is working on for us (the runtime says), shown on the status line.
    pub pending: Option<Pending>,
    /// The warning of a save that has had no answer for long, while it still waits: the
    /// status line keeps it when its message goes with the screen (it fell back to a bare
    /// `saving…` once F1 or F2 had been open: bb43 F1).
    pub save_unanswered: Option<String>,
    /// Ctrl-S (or `o` in the conflict view) read what is stored before asking its question.
    /// Until the answer comes the edit stays as it was read for.
    pub reviewing: Option<Review>,
    /// A key that acts on the selected user (`e`, `E`, `y`, `h`, `i`) pressed while the
    /// selection is still a place the scan has not settled: done once it is (bb18 L08:
    /// `/9999⏎Ge` edited whoever was last found when `e` came, and the list then moved on
    /// to the last match, the profile with it, while the editor kept the other).
    pub after_the_matches: Option<Action>,
    /// The key (`e`, `E`, `y`) whose read of the selected user is on its way, and that user:
    /// a later such key, or a failure, ends it and says so (bb102 F1, F2).
    pub read_for_a_key: Option<(String, Purpose)>,
    /// The user a key waiting for a profile ([`State::after_the_matches`]) was pressed on.
    pub key_waits_on: Option<String>,
    /// A jump to a user (`:user`) on its way: keys meant for that user wait for it (bb45 F4).
    pub jumping: Option<jump::Jumping>,
    /// The last command that failed — a `:user` that found no one (or more than one), a
    /// command line refused — and how many have so far; the runtime drops the keys typed ahead
    /// of it ([`jump::FailedCommand`]).
    pub command_failed: Option<jump::FailedCommand>,
    pub commands_failed: u64,
    pub read_only: Option<ReadOnly>,
    /// Whether saved documents keep their key order, as the store says
    /// ([`crate::store::UserStore::key_order`]); `AsWritten` unless the runtime sets it.
    pub key_order: KeyOrder,
    /// The key file (`--key-file`): seals and opens values in the editor.
    pub keys: Option<KeySet>,
    /// Where sealing takes each IV: the operating system's random bytes, unless a test gives
    /// another source; held here so that `update` draws nothing from outside the state.
    pub iv_source: IvSource,
    /// The overlay with a sealed value's plaintext, while open.
    pub plaintext: Option<Plaintext>,
    pub limits: Limits,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    /// The operator's home directory, read once at start by the runtime (`None` in tests and
    /// where `$HOME` is unset): `:export ~/…` expands to it, so `update` reads no environment.
    pub home: Option<String>,
}

impl State {
    pub fn new(width: u16, height: u16, read_only: bool) -> Self {
        let mut state = Self {
            shape: None,
            schema_source: SchemaSource::Stored(None),
            list: UserList::default(),
            user: None,
            document: None,
            tree: None,
            prepared_tree: None,
            editor: None,
            history: None,
            patch: None,
            exports_stop: StopFlag::default(),
            export_under_way: None,
            changes: Changes::default(),
            dialog: None,
            pending_drafts: Vec::new(),
            set_aside: None,
            opening_draft: false,
            draft_failure: None,
            said_at_exit: Vec::new(),
            connection_lost: None,
            unresolved_save: None,
            help: false,
            help_scroll: 0,
            said: VecDeque::new(),
            messages_open: false,
            messages_back: 0,
            whole_user: None,
            refreshing: None,
            filtering: false,
            command: None,
            status: None,
            pending: None,
            save_unanswered: None,
            reviewing: None,
            after_the_matches: None,
            read_for_a_key: None,
            key_waits_on: None,
            jumping: None,
            command_failed: None,
            commands_failed: 0,
            read_only: read_only.then_some(ReadOnly::Asked),
            key_order: KeyOrder::AsWritten,
            keys: None,
            iv_source: system_iv,
            plaintext: None,
            limits: Limits::default(),
            width,
            height,
            quit: false,
            home: None,
        };
        state.list.height = super::layout::list_height(width, height);
        state
    }

    /// Whether the terminal is too small to draw the screen (the view says so instead).
    pub fn too_small(&self) -> bool {
        self.width < super::layout::MIN_WIDTH || self.height < super::layout::MIN_HEIGHT
    }

    pub fn mode(&self) -> Mode {
        if self.too_small() {
            // The quit question is the one thing the too-small screen shows and answers.
            return if matches!(self.dialog, Some(Dialog::ConfirmQuit)) {
                Mode::Dialog
            } else {
                Mode::TooSmall
            };
        }
        if let Some(dialog) = &self.dialog {
            match dialog {
                Dialog::Conflict { .. } => Mode::Conflict,
                Dialog::DraftFound { .. } => Mode::DraftFound,
                _ => Mode::Dialog,
            }
        } else if self.plaintext.is_some() {
            Mode::Plaintext
        } else if self.help {
            Mode::Help
        } else if self.messages_open {
            Mode::Messages
        } else if self.whole_user.is_some() {
            Mode::WholeUser
        } else if self.patch.is_some() {
            Mode::Patch
        } else if self.history.is_some() {
            Mode::History
        } else if self.changes.view.is_some() {
            Mode::Changes
        } else if self.editor.as_ref().is_some_and(|e| e.find.as_ref().is_some_and(|f| f.typing)) {
            Mode::Find
        } else if self.editor.is_some() {
            Mode::Edit
        } else if self.command.is_some() {
            Mode::Command
        } else if self.tree.is_some() {
            Mode::Tree
        } else if self.filtering {
            Mode::Filter
        } else {
            Mode::Browse
        }
    }

    /// The first effect: the first screenful of users.
    pub fn start(&self) -> Vec<Effect> {
        vec![self.load_counting(Seek::First, Then::Edge)]
    }
}

/// Applies one action to the state and returns the store work it calls for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = update_state(state, action);
    // Found drafts left waiting while one of them was open come back once it is closed.
    state.offer_pending_drafts();
    state.expire_status();
    state.follow_cursor_path();
    effects.extend(state.check_of_an_opened_editor());
    effects
}

/// Hands the action to the mode it belongs to. Every arm is one call, so what each key does
/// is read in that mode's file; the match stays exhaustive, so a new action cannot go unhandled.
fn update_state(state: &mut State, mut action: Action) -> Vec<Effect> {
    use Action::*;
    if state.pending == Some(Pending::Saving) && touches_the_edit_being_saved(&action) {
        return state.tell(StatusKind::Info, "saving… wait for the answer");
    }
    if state.reviewing.is_some() && touches_the_edit_being_saved(&action) {
        return state.tell(StatusKind::Info, "reading what is stored before saving… wait for the answer");
    }
    if let Some(effects) = state.reconnect_for_r(&action) {
        return effects;
    }
    if let Some(message) = action.store_failure_mut() {
        state.waits_ended_by_a_failure(message);
    }
    let action = match state.wait_for_the_matches(action) {
        Ok(action) => action,
        Err(told) => return told,
    };
    if answers_a_save(&action) && state.pending == Some(Pending::Saving) {
        // The answer ends the wait at once (the runtime sets it again if other work is out).
        state.pending = None;
        state.save_unanswered = None;
    }
    match action {
        StoreBusy(pending) => {
            state.pending = pending;
            Vec::new()
        }
        Resumed => Vec::new(),
        Suspend => vec![Effect::Suspend],
        Quit => {
            state.quit();
            Vec::new()
        }
        Resize { width, height } => state.resize(width, height),
        StoreFailed { message } | SuspendRefused { reason: message } | DraftNotDiscarded { message } => {
            state.tell(StatusKind::Error, message)
        }
        KeyFileReadAgain { keys, then } => state.key_file_read_again(keys, *then),

        // The list (list.rs)
        Up => state.move_selection(-1),
        Down => state.move_selection(1),
        PageUp => state.move_selection(-state.list.page()),
        PageDown => state.move_selection(state.list.page()),
        Home => state.select_edge(false),
        End => state.select_edge(true),
        SelectRow(visible) => state.select_row(visible),
        Refresh => state.refresh_asked(),
        RowsLoaded { request, rows, total } => state.rows_loaded(request, rows, total),
        UserLoaded { record, document, tree } => state.user_loaded(*record, document, tree),
        UserFound { entry } => state.user_found(*entry),
        UserToSelect { entry } => state.user_to_select(*entry),
        UserFollowed { entry } => state.user_followed(entry.map(|entry| *entry)),
        SchemaRead { revision, shape, for_save } => state.schema_read(revision, shape, for_save),
        KeysChanged => state.keys_changed(),

        // The filter (filter.rs)
        StartFilter => state.start_filter(),
        FilterChar(c) => state.filter_char(c),
        FilterBackspace => state.filter_backspace(),
        PasteLine(text) => state.paste_line(&text),
        FilterErase => state.filter_erase(),
        FilterAccept => state.filter_accept(),
        ClearFilter => state.clear_filter(),
        SearchHits { generation, hits, scanned, reached, done } => {
            state.search_hits(generation, hits, scanned, reached, done)
        }
        SearchStopped { generation, failure } => {
            let effects = update_state(state, *failure);
            state.search_stopped(generation);
            effects
        }

        // The command line (command.rs)
        StartCommand => state.start_command(),
        CommandChar(c) => state.command_char(c),
        CommandBackspace => state.command_backspace(),
        CommandComplete => {
            state.command_complete();
            Vec::new()
        }
        RunCommand => state.run_command(),
        PatchReady { file, result } => {
            state.patch_ready(file, result);
            Vec::new()
        }
        PatchApplied { result } => state.patch_applied(result),
        PatchUser(delta) => {
            state.patch_user(delta);
            Vec::new()
        }
        PatchScroll(delta) => {
            state.patch_scroll(delta);
            Vec::new()
        }
        PatchAsk => {
            state.patch_ask();
            Vec::new()
        }
        PatchWriteFlagged => {
            state.patch_write_flagged();
            Vec::new()
        }
        ClosePatch => state.close_patch(),
        CancelCommand => state.cancel_command(),
        PatchProgress { stop, seen } => {
            // Only the overlay's own: a dry run closed and stopped may still say a last word.
            if let Some(view) = state.patch.as_mut().filter(|view| view.stop == stop) {
                view.seen = Some(seen);
            }
            Vec::new()
        }
        ExportProgress { path, progress, total } => {
            // Only the last `:export`'s: one queued behind another must not show the other's.
            if let Some(latest) = state.export_under_way.as_mut().filter(|latest| latest.path == path) {
                latest.progress = Some(progress);
                latest.total = total;
            }
            Vec::new()
        }
        Exported { path, count } => state.exported(&path, count),

        // A fresh read for the editor, `$EDITOR` or the clipboard (external.rs)
        OpenEditor => state.read_current(Purpose::Edit),
        EditExternally => state.read_current(Purpose::EditExternally),
        Copy => state.read_current(Purpose::Copy),
        CurrentRead { purpose, record, document } => state.current_read(purpose, *record, document),
        EditedExternally { user_id, user_handle, base, result, session_ending } => {
            state.edited_externally(user_id, user_handle, base, result, session_ending)
        }

        // The editor (editor.rs, find.rs, save.rs, seal.rs)
        Edit(input) => state.edit(input),
        Type(keys) => state.type_keys(&keys),
        Paste(text) => state.paste(&text),
        Checked { generation, result, schema_errors } => state.checked(generation, result, schema_errors),
        JumpToError => {
            state.jump_to_error();
            Vec::new()
        }
        LeaveEditor => state.leave_editor(),
        StartFind => state.start_find(),
        FindChar(c) => state.find_char(c),
        FindBackspace => state.find_backspace(),
        FindAccept => state.find_accept(),
        FindCancel => state.find_cancel(),
        FindAgain { forward } => state.find_again(forward),
        Save => state.save(),
        Saved { id, outcome, handle_now } => state.saved(id, outcome, handle_now),
        SealValue => state.seal_value(),
        OpenSealed => {
            state.open_sealed();
            Vec::new()
        }
        ClosePlaintext => state.close_plaintext(),

        // Questions (dialogs.rs) and the conflict (conflict.rs)
        Confirm => state.confirm(),
        Cancel => state.cancel(),
        ScrollQuestion(delta) => {
            state.scroll_question(delta);
            Vec::new()
        }
        PageQuestion(pages) => {
            state.page_question(pages);
            Vec::new()
        }
        SaveConflict { id, theirs, handle_now } => state.conflict(id, theirs, handle_now),
        ReloadTheirs => state.reload_theirs(),
        OverwriteTheirs => state.overwrite_theirs(),
        RecoveryKept { path, theirs } => state.recovery_kept(path, theirs),
        RecoveryFailed { message } => state.recovery_failed(&message),

        // Drafts (drafts.rs)
        DraftsFound { drafts, not_offered, in_use } => state.drafts_found(drafts, not_offered, in_use),
        OpenDraft => state.open_draft(),
        AskDiscardDraft => state.ask_discard_draft(),
        DiscardDraft => state.discard_draft(),
        SelectDraft(delta) => {
            state.select_draft(delta);
            Vec::new()
        }
        DraftReady { record, base, draft, doubt } => state.draft_ready(*record, base, draft, doubt),
        DraftNotOpened { message } => state.draft_not_opened(message),
        DraftAlreadyStored { user_id, user_handle, session, revision, current } => {
            state.draft_already_stored(user_id, &user_handle, session, (revision, current))
        }
        Autosaved(result) => state.autosaved(result),
        TypedAheadOfAFailure => state.typed_ahead_of_a_failure(),

        // History (history.rs)
        OpenHistory => state.open_history(),
        HistoryUp => state.history_step(-1),
        HistoryDown => state.history_step(1),
        HistoryPage(direction) => state.history_page_by(direction),
        HistoryEdge(newest) => state.history_edge(newest),
        HistoryDiffScroll(delta) => state.history_diff_scroll(delta),
        HistoryLoaded { id, revisions, older, current_text } => {
            state.history_loaded(id, (revisions, older), current_text)
        }
        RevisionLoaded { id, revision, text } => state.revision_loaded(id, revision, text),
        RestoreRevision => state.restore_revision(),
        OpenChanges => state.open_changes(),
        CloseChanges => state.close_changes(),
        ChangesMove(by) => state.move_in_changes(by),
        ChangesPage(direction) => state.page_in_changes(direction),
        ChangesEdge(oldest) => state.move_in_changes(if oldest { isize::MAX } else { isize::MIN }),
        JumpToChange => state.jump_to_change(),
        ChangesLoaded { before, rows } => state.changes_loaded(before, rows),

        // The tree (tree.rs)
        FocusTree => state.focus_tree(),
        LeaveTree => state.leave_tree(),
        TreeMove(delta) => state.in_tree(|tree| tree.move_by(delta)),
        TreePage(direction) => state.tree_page(direction),
        TreeEdge(last) => state.in_tree(|tree| tree.move_to_end(last)),
        TreeToggle => state.in_tree(Tree::toggle),
        TreeCollapse => state.in_tree(Tree::collapse),
        TreeExpand => state.in_tree(Tree::expand),
        TreeFoldAll(folded) => state.in_tree(|tree| tree.fold_all(folded)),
        TreeFindFilter { forward } => state.tree_find_filter(forward),

        // The help (help.rs)
        ToggleHelp => state.toggle_help(),
        OpenMessages => {
            state.messages_open = true;
            state.messages_back = 0;
            Vec::new()
        }
        ScrollMessages(rows) => {
            let most = crate::tui::messages_layout::max_back(&state.said, state.width, state.height);
            // From where the box shows now (a terminal made taller shows less to scroll).
            state.messages_back = state.messages_back.min(most).saturating_add_signed(rows).min(most);
            Vec::new()
        }
        ScrollHelp(lines) => state.scroll_help(lines),
        HelpPage(direction) => state.help_page(direction),

        // The user whole (whole_user.rs)
        OpenWholeUser => state.open_whole_user(),
        ScrollWholeUser(rows) => state.scroll_whole_user(rows),
        WholeUserPage(direction) => state.whole_user_page(direction),
        ScrollPlaintext(to) => state.scroll_plaintext(to),
        WholeUserEdge(bottom) => state.whole_user_edge(bottom),

        // The store's connection (connection.rs)
        Reconnect => state.reconnect(),
        SaveUnanswered { seconds } => state.save_unanswered(seconds),
        SearchUnanswered { seconds } => state.search_unanswered(seconds),
        Reconnected { takes_writes } => state.reconnected(takes_writes),
        WritesRefused { why, message } => state.writes_refused(why, message),
        ConnectionLost { message } => {
            state.connection_lost(message);
            Vec::new()
        }
        SaveOutcomeUnknown { id, data, revision, message } => {
            state.save_outcome_unknown(id, data, revision, message);
            Vec::new()
        }
        SaveResolved { id, revision, landed } => state.save_resolved(id, revision, landed),
    }
}
