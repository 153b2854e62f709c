//! Every decision the screen makes: the state, the actions that change it, and `update`,
//! which turns (state, action) into a new state and the store work to do next (effects).
//! Nothing here touches the terminal or the store, so it is tested without either.

use std::collections::VecDeque;
use std::sync::Arc;

use ratatui::style::{Modifier, Style};
use ratatui_textarea::{CursorMove, Input, Key, TextArea};
use serde_json::{Map, Value};
use zeroize::Zeroize;

use crate::domain::custom_data::{canonical_text, parse_object};
use crate::domain::diff::{DiffLine, dropped_keys, in_key_order_of, line_diff};
use crate::domain::history::RevisionChanges;
use crate::domain::seal::{self, KeySet};
use crate::domain::secrets::find_secrets;
use crate::domain::shape::{Shape, Violation};
use crate::domain::{CustomData, Limits, ValidationError, human_bytes, human_bytes_apart};
use crate::draft::{Draft, EditSnapshot};
use crate::inert;
use crate::store::{
    KeyOrder, ListEntry, ListKey, Revision, RevisionInfo, SaveOutcome, Seek, StoredDocument, UserCount,
    UserRecord,
};
use crate::tui::keymap::help_max_scroll;
use crate::tui::tree::Tree;
use crate::tui::words;

mod patch;
pub use patch::{PATCH_SAMPLES, PatchView, SharedShape};

/// Whether `new` holds the values of the stored text, in whatever key order (compared as
/// JSON values, numbers by their text).
fn same_values(stored_text: &str, new: &CustomData) -> bool {
    parse_object(stored_text).is_ok_and(|stored| &stored == new.as_object())
}

/// What the operator asked for, or what the store answered.
#[derive(Debug, Clone)]
pub enum Action {
    // Browsing
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Select the nth visible row (a mouse click).
    SelectRow(usize),
    Refresh,
    /// Ctrl-Z: give the terminal back and stop until continued.
    Suspend,
    /// Copy the selected user's customData to the clipboard (OSC 52).
    Copy,
    /// Hand the selected user's customData to `$VISUAL`/`$EDITOR`.
    EditExternally,
    // The command line (`:`)
    StartCommand,
    CommandChar(char),
    CommandBackspace,
    CommandComplete,
    RunCommand,
    CancelCommand,
    // Filtering
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// `Ctrl-U` in the filter: the text goes, the filter stays open for typing (readline).
    FilterErase,
    FilterAccept,
    ClearFilter,
    // Editing
    OpenEditor,
    Edit(Input),
    Paste(String),
    Save,
    JumpToError,
    /// `Ctrl-F`: a find line opens under the editor; the text typed is looked for as typed.
    StartFind,
    FindChar(char),
    FindBackspace,
    /// `Enter`: keep the match, back to editing (`F3` finds it again).
    FindAccept,
    /// `Esc`: the cursor goes back to where the find started.
    FindCancel,
    /// `F3` / `Shift-F3`: the next / previous match of the last find.
    FindAgain {
        forward: bool,
    },
    LeaveEditor,
    /// Seal (encrypt in place, as a JWE) the value under the editor's cursor.
    SealValue,
    /// Show the plaintext of the sealed value under the cursor in an overlay.
    OpenSealed,
    /// Close that overlay; its plaintext is dropped.
    ClosePlaintext,
    // Conflicts, drafts, history
    ReloadTheirs,
    OverwriteTheirs,
    OpenDraft,
    /// `d` on a found draft: ask before throwing it away.
    AskDiscardDraft,
    DiscardDraft,
    /// Move the selection in the list of drafts found at start-up.
    SelectDraft(isize),
    OpenHistory,
    HistoryUp,
    HistoryDown,
    /// A page of the history list down (1) or up (-1).
    HistoryPage(i8),
    /// The oldest (`false`) or newest (`true`) revision.
    HistoryEdge(bool),
    RestoreRevision,
    // `:patch` (see `app/patch.rs`)
    /// The dry run's report, or why there is none.
    PatchReady {
        file: String,
        /// The report, and the patch as read: what `Enter` applies.
        result: Result<(Box<crate::domain::patch::PatchReport>, crate::domain::patch::JsonPatch), String>,
    },
    /// The apply's batch and how many users it left as they were, or why it wrote nothing.
    PatchApplied {
        result: Result<(crate::store::BatchSummary, u64), String>,
    },
    /// The next (1) or previous (-1) changed user in the overlay.
    PatchUser(isize),
    /// Scroll the shown diff by this many lines.
    PatchScroll(i16),
    /// Ask before applying the patch.
    PatchAsk,
    ClosePatch,
    // Dialogs and the rest
    Confirm,
    Cancel,
    ToggleHelp,
    /// `Tab`: the customData pane becomes a folding tree with a cursor; `Tab`/`Esc` go back.
    FocusTree,
    LeaveTree,
    TreeMove(isize),
    TreePage(i8),
    /// The first (`false`) or the last (`true`) line.
    TreeEdge(bool),
    TreeToggle,
    TreeCollapse,
    TreeExpand,
    /// Fold every container below the first level (`true`), or unfold everything.
    TreeFoldAll(bool),
    /// `n` / `N`: the next / previous node holding the list filter's text.
    TreeFindFilter {
        forward: bool,
    },
    /// Scroll the help by this many lines.
    ScrollHelp(i16),
    /// A page of the help down (1) or up (-1).
    HelpPage(i8),
    Quit,
    Resize {
        width: u16,
        height: u16,
    },
    /// The check of the editor's text of `generation`: ignored unless the text is still that.
    Checked {
        generation: u64,
        result: Result<CustomData, ValidationError>,
        /// How a valid document breaks the deployment's JSON Schema (empty: it does not).
        schema_errors: Vec<Violation>,
    },
    // The store's answers
    RowsLoaded {
        request: RowRequest,
        rows: Vec<ListEntry>,
        /// The number of users, when the request asked for it.
        total: Option<UserCount>,
    },
    UserLoaded {
        record: Box<UserRecord>,
        document: StoredDocument,
    },
    Saved {
        id: String,
        outcome: SaveOutcome,
    },
    /// Users matching the filter, from the indexes (at once) or the background scan (in steps).
    SearchHits {
        generation: u64,
        hits: Vec<ListEntry>,
        /// Users the scan went through in this step (0 for the index lookup).
        scanned: u64,
        done: bool,
    },
    /// The save was refused because someone else saved first; `theirs` is what they saved.
    SaveConflict {
        id: String,
        theirs: StoredDocument,
    },
    /// The drafts and recovery files kept for this database, and the files in the drafts
    /// directory that are not offered (why, one line each).
    DraftsFound {
        drafts: Vec<Draft>,
        not_offered: Vec<String>,
    },
    /// A draft taken over by this session: the user, the document the editor starts from,
    /// and why its base is in doubt (then saving shows the conflict view first).
    DraftReady {
        record: Box<UserRecord>,
        base: StoredDocument,
        draft: Draft,
        doubt: Option<String>,
    },
    /// Opening a draft failed; it stays on disk.
    DraftNotOpened {
        message: String,
    },
    /// The autosave wrote the editor's draft (its path), or could not (why).
    Autosaved(Result<String, String>),
    /// "Reload theirs": my edit is in a recovery file, theirs can go in the editor.
    RecoveryKept {
        path: String,
        theirs: StoredDocument,
    },
    /// The recovery file could not be written: the edit stays in the editor.
    RecoveryFailed {
        message: String,
    },
    /// The history's list: each revision with what it changed, and the current text.
    HistoryLoaded {
        id: String,
        revisions: Vec<(RevisionInfo, RevisionChanges)>,
        current_text: String,
    },
    /// One old revision's text, asked for when the history selected it.
    RevisionLoaded {
        id: String,
        revision: Revision,
        text: String,
    },
    StoreFailed {
        message: String,
    },
    /// The store lost its connection to the server (PostgreSQL): nothing more is read or
    /// written until it reconnects; the screen says so until then.
    ConnectionLost {
        message: String,
    },
    /// Reconnect to the server (`r` in the list, F5 in the editor, after a lost connection).
    Reconnect,
    /// The store is connected again.
    Reconnected,
    /// The connection went while this save was committing: it may have been saved as
    /// `revision`, or not. Resolved after reconnecting ([`Action::SaveResolved`]).
    SaveOutcomeUnknown {
        id: String,
        data: CustomData,
        revision: Revision,
        message: String,
    },
    /// What became of a save whose outcome was unknown: `landed` when it did commit.
    SaveResolved {
        id: String,
        revision: Revision,
        landed: bool,
    },
    /// The store took in users created, renamed or deleted outside custodian
    /// ([`crate::store::UserStore::sync_keys`]): the list is read again.
    KeysChanged,
    /// The runtime took the terminal back (after a suspend): the screen is drawn again.
    Resumed,
    /// `:user` found this user.
    UserFound {
        entry: Box<ListEntry>,
    },
    /// The user being edited (a reopened draft), to select in the list without a word.
    UserToSelect {
        entry: Box<ListEntry>,
    },
    /// The user's stored document, read just now for `purpose` (`e`, `E`, `y`).
    CurrentRead {
        purpose: Purpose,
        record: Box<UserRecord>,
        document: StoredDocument,
    },
    /// Ctrl-Z was refused: no shell could bring custodian back (why, for the status line).
    SuspendRefused {
        reason: String,
    },
    /// What the store's workers are busy with now (from the runtime, whenever it changes).
    StoreBusy(Option<Pending>),
    /// `:export` wrote this many users.
    Exported {
        path: String,
        count: u64,
    },
    /// The external editor was closed: the text it left, or why there is none.
    EditedExternally {
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        result: Result<String, String>,
    },
}

/// The list before a refresh: its user count and the selected user's id and revision.
#[derive(Debug, Clone)]
struct RefreshedFrom {
    total: u64,
    selected: Option<(String, Revision)>,
}

/// Store work the runtime has sent off and not yet heard back about, for the status line;
/// the most important one when several are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pending {
    Loading,
    Exporting,
    /// A save is on its way: the editor waits for its answer (typing into it now would be
    /// lost or saved unseen), and quitting waits for it too.
    Saving,
}

impl Pending {
    pub fn label(self) -> &'static str {
        match self {
            Pending::Loading => "loading…",
            Pending::Exporting => "exporting…",
            Pending::Saving => "saving…",
        }
    }
}

/// Keys refused while a save is on its way: they would change the edit being saved (the
/// answer closes the editor, so typing now would be lost), start a second save from the same
/// revision (a conflict with our own save), or replace the editor.
fn touches_the_edit_being_saved(action: &Action) -> bool {
    use Action::*;
    matches!(
        action,
        Edit(_)
            | Paste(_)
            | SealValue
            | Save
            | LeaveEditor
            | ReloadTheirs
            | OverwriteTheirs
            | OpenEditor
            | OpenDraft
            | RestoreRevision
            | EditExternally
    )
}

/// Store work `update` asks for; the runtime does it and answers with an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadRows(RowRequest),
    /// Validate the editor's text of this generation; answered with [`Action::Checked`].
    Check {
        generation: u64,
        text: String,
        limits: Limits,
    },
    LoadUser {
        id: String,
    },
    Save {
        id: String,
        data: CustomData,
        expected: Revision,
    },
    /// Keep an unsaved edit in a recovery file of its own (autosave never writes it, a save
    /// never removes it); on success the editor's own draft is removed and theirs loaded.
    KeepRecovery {
        edit: EditSnapshot,
        theirs: StoredDocument,
    },
    /// The edit was saved or thrown away on purpose: its editing session's draft (and only
    /// that one) is no longer needed.
    DiscardDraft {
        user_id: String,
        session: String,
    },
    /// The operator discarded a draft or recovery file found at start-up.
    RemoveFoundDraft(Draft),
    /// Take a found draft over for a new editing session and load what reopening it needs:
    /// the user, and the document it started from, checked against its digest.
    LoadDraft(Draft),
    LoadHistory {
        id: String,
    },
    /// The text of one revision, for the history's diff pane and a restore.
    LoadRevision {
        id: String,
        revision: Revision,
    },
    /// Users whose id, username, email, phone or name start with `query`, from the indexes.
    PrefixSearch {
        generation: u64,
        query: String,
        limit: usize,
    },
    /// Start scanning every user (profile and customData) for `query`, reporting hits as they
    /// are found; a scan of an older generation stops by itself.
    Scan {
        generation: u64,
        query: String,
    },
    /// Stop the running scan.
    StopScan,
    /// Connect the store again with the same settings; answered with [`Action::Reconnected`].
    Reconnect,
    /// Find out whether a save whose outcome was unknown did commit as `revision`; answered
    /// with [`Action::SaveResolved`].
    ResolveSave {
        id: String,
        data: CustomData,
        revision: Revision,
    },
    /// Bring the store's keys up to date with writes made outside custodian, in the
    /// background; [`Action::KeysChanged`] comes back when that changed anything.
    SyncKeys,
    /// Give the terminal back and stop the process until it is continued.
    Suspend,
    /// Ask the terminal to put `text` on the clipboard (OSC 52).
    CopyToClipboard {
        text: String,
    },
    /// Find a user by id, username, email or phone (`:user`).
    FindUser {
        query: String,
    },
    /// Select this user in the list (unfiltered), as `:user` does, saying nothing.
    SelectUser {
        id: String,
    },
    /// Read the user's profile and stored customData now, for `purpose`: what the list holds
    /// may be older than what another operator saved since.
    ReadCurrent {
        id: String,
        purpose: Purpose,
    },
    /// Every user as JSON Lines into a new file (0600), as `custodian export --out`.
    Export {
        path: std::path::PathBuf,
    },
    /// The dry run of a patch file over `selection` (read only); answered with
    /// [`Action::PatchReady`].
    PatchDryRun {
        file: std::path::PathBuf,
        selection: crate::store::Selection,
        shape: SharedShape,
    },
    /// The patch the dry run read, written as one batch; answered with [`Action::PatchApplied`].
    ApplyPatch {
        patch: crate::domain::patch::JsonPatch,
        selection: crate::store::Selection,
        shape: SharedShape,
    },
    /// Run `$VISUAL`/`$EDITOR`/`vi` on `text`, with the terminal given back meanwhile.
    EditExternally {
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: String,
    },
}

/// What a fresh read of the selected user's document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `e`/Enter: custodian's editor.
    Edit,
    /// `E`: `$VISUAL`/`$EDITOR`.
    EditExternally,
    /// `y`: the clipboard.
    Copy,
}

/// The most customData `y` puts on the clipboard: terminals limit what an OSC 52 request may
/// carry (xterm and tmux accept about 100 KB of base64 or more, some far less).
pub const CLIPBOARD_LIMIT: usize = 100 * 1024;

/// One command of the `:` command line.
pub struct CommandSpec {
    pub name: &'static str,
    /// Other spellings that run it (shown in the help; Tab completes them when no name fits).
    pub aliases: &'static [&'static str],
    /// How its arguments are written in the help.
    pub args: &'static str,
    pub description: &'static str,
}

/// The commands of the `:` command line (Tab completes their names; the help lists them).
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "user",
        aliases: &["u"],
        args: "USER",
        description: "to a user: id, username, email, phone",
    },
    CommandSpec { name: "history", aliases: &[], args: "", description: "the selected user's history" },
    CommandSpec {
        name: "export",
        aliases: &[],
        args: "FILE",
        description: "every user as JSON Lines into a new file (0600)",
    },
    CommandSpec {
        name: "patch",
        aliases: &[],
        args: "FILE",
        description: "a JSON Patch over the listed users: dry run, Enter applies",
    },
    CommandSpec { name: "messages", aliases: &[], args: "", description: "the last 50 messages, whole" },
    CommandSpec { name: "q", aliases: &["quit"], args: "", description: "quit" },
];

impl CommandSpec {
    /// The command a typed name (or alias) runs.
    pub fn named(typed: &str) -> Option<&'static CommandSpec> {
        COMMANDS.iter().find(|c| c.name == typed || c.aliases.contains(&typed))
    }
}

/// The `:` command line being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: String,
    /// What Tab found when it could not complete alone (the candidates).
    pub note: Option<String>,
}

/// Matches the filter keeps at most: memory does not grow with the number of users.
pub const MAX_MATCHES: usize = 2_000;

/// The state of the filter's search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Bumped on every change of the filter; answers of older generations are ignored.
    pub generation: u64,
    pub scanning: bool,
    pub scanned: u64,
    /// More than [`MAX_MATCHES`] users match: the list shows the first ones.
    pub capped: bool,
    /// The user to select again once the matches bring it (a refresh or a save while
    /// filtering), until the operator moves or the search ends.
    pub reselect: Option<ListKey>,
}

/// A read of list rows, and what to do with the selection once they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRequest {
    pub seek: Seek,
    pub limit: usize,
    pub then: Then,
    /// Whether to count the users too: at start and on a refresh, never on a move (counting
    /// is not free on every backend, and moving does not change the number).
    pub count: bool,
}

/// Where the selection goes when rows arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// The first row (for `Seek::First`, `Seek::From`) or the last (for `Seek::Last`).
    Edge,
    /// Move by this many rows from the row selected before (a move that ran past the rows).
    Move(isize),
    /// Select this user again (after a refresh), else the row at this distance from the top.
    Reselect { key: Option<ListKey>, offset: usize },
}

/// The user list: a window of loaded rows around the selection, never the whole table.
#[derive(Debug, Clone, Default)]
pub struct UserList {
    pub rows: Vec<ListEntry>,
    /// Index in `rows` of the selected user.
    pub selected: usize,
    /// Index in `rows` of the first visible row.
    pub top: usize,
    /// Visible rows, set from the terminal size.
    pub height: usize,
    /// Whether `rows` reaches the first / last user (of the filtered set, when filtering).
    pub at_start: bool,
    pub at_end: bool,
    /// All users in the store (as last counted: at start and on a refresh).
    pub total: u64,
    /// Whether `total` is the store's estimate rather than a count (shown as `~N`).
    pub total_estimated: bool,
    /// The filter being typed or applied.
    pub filter: String,
    pub search: Search,
}

impl UserList {
    pub fn selected_entry(&self) -> Option<&ListEntry> {
        self.rows.get(self.selected)
    }

    pub fn visible(&self) -> &[ListEntry] {
        let end = (self.top + self.height.max(1)).min(self.rows.len());
        self.rows.get(self.top..end).unwrap_or_default()
    }

    pub fn active_filter(&self) -> Option<String> {
        let filter = self.filter.trim();
        (!filter.is_empty()).then(|| filter.to_owned())
    }

    /// Scrolls when the selection leaves the screen, by enough to put it in the middle: a
    /// scroll repaints every row (≈ 2 KB), a move within the screen costs a few hundred
    /// bytes, so on a slow link scrolling half a page at a time (as vim's `scrolljump`)
    /// sends about a third of what scrolling row by row would.
    fn keep_selection_visible(&mut self) {
        let height = self.height.max(1);
        if self.selected < self.top || self.selected >= self.top + height {
            self.top = self.selected.saturating_sub(height / 2);
        }
        // Do not leave empty space below the last row when rows above could fill it.
        if self.at_end && self.rows.len() >= height && self.top + height > self.rows.len() {
            self.top = self.rows.len() - height;
        }
    }

    /// How many rows a load asks for: enough for the move and a screenful more.
    fn load_size(&self, distance: usize) -> usize {
        distance + self.height.max(1) * 2
    }
}

/// The customData editor: the text being edited and what it was loaded from.
pub struct Editor {
    pub user_id: String,
    pub user_handle: String,
    /// The stored document and revision this edit started from.
    pub base: StoredDocument,
    /// The text the editor opened with (the base, made inert), to tell whether anything changed.
    pub opened_text: String,
    pub textarea: TextArea<'static>,
    /// The result of the last check of the text: of the text as it is when `checked` equals
    /// `generation`, of an older text otherwise (then it is not shown, and a save checks the
    /// text again first).
    pub validation: Result<CustomData, ValidationError>,
    /// Counts the changes to the text: each one asks for a check off the key path.
    pub generation: u64,
    /// The generation `validation` is the result for.
    pub checked: u64,
    /// How the checked text breaks the deployment's JSON Schema (when it is valid JSON).
    pub schema_errors: Vec<Violation>,
    /// Which schema error `Ctrl-G` goes to next.
    pub schema_walk: usize,
    /// The schema the text is held to, compiled once for the session.
    pub shape: Option<Arc<Shape>>,
    /// The editing session: names this editor's draft file, so its autosave, save and discard
    /// touch only its own.
    pub draft_session: String,
    /// Set when the edit comes from a draft whose base is in doubt (its revision is gone, or
    /// holds another text): every save shows the conflict view first. Holds the reason, and
    /// the base the draft recorded (kept in any draft or recovery file written from here).
    pub doubt: Option<Doubt>,
    /// The find line, while it is typed, and the last text found (for `F3`).
    pub find: Option<FindLine>,
}

/// What is being looked for in the editor, and where the look started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindLine {
    pub query: String,
    /// Still being typed (the find line is on the status line).
    pub typing: bool,
    /// The cursor when `Ctrl-F` was pressed: each keystroke looks from here, `Esc` returns.
    pub origin: (usize, usize),
    /// Whether the text was found.
    pub found: bool,
}

/// Why an editor's base is not trusted, and the base its draft recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubt {
    pub reason: String,
    pub base_revision: Revision,
    pub base_digest: String,
}

impl Editor {
    fn new(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        limits: &Limits,
        shape: Option<Arc<Shape>>,
    ) -> Self {
        // Controls, bidi and every other invisible character are shown as \u escapes: the
        // same JSON, made inert.
        let opened_text = inert::editor_text(&base.text).into_owned();
        let textarea = Self::textarea(&opened_text);
        let validation = CustomData::parse_with(&opened_text, limits);
        let schema_errors = schema_errors(shape.as_deref(), &opened_text, &validation);
        let draft_session = crate::draft::new_session();
        Self {
            user_id,
            user_handle,
            base,
            opened_text,
            textarea,
            validation,
            generation: 0,
            checked: 0,
            schema_errors,
            schema_walk: 0,
            shape,
            draft_session,
            doubt: None,
            find: None,
        }
    }

    /// Looks for the find line's text from where the find started (each keystroke of it).
    fn find_from_origin(&mut self) {
        let Some(find) = &self.find else { return };
        let (query, origin) = (find.query.clone(), find.origin);
        let found = self.show_match(&query, origin, true, true);
        if let Some(find) = &mut self.find {
            find.found = found || query.is_empty();
        }
    }

    /// `F3`: the last text again, after (or before) the cursor. `None` without one.
    fn find_again(&mut self, forward: bool) -> Option<bool> {
        let query = self.find.as_ref().map(|f| f.query.clone()).filter(|q| !q.is_empty())?;
        // The cursor sits at the end of the selected match: step past its start first.
        let cursor = self.textarea.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let from = if forward {
            (row, col.saturating_sub(1))
        } else {
            (row, col.saturating_sub(query.chars().count()))
        };
        Some(self.show_match(&query, from, forward, false))
    }

    /// Selects the match of `query` found from `from`, if any; the cursor ends after it.
    fn show_match(&mut self, query: &str, from: (usize, usize), forward: bool, include_from: bool) -> bool {
        self.textarea.cancel_selection();
        match crate::tui::find::find(self.textarea.lines(), query, from, forward, include_from) {
            Some((row, col)) => {
                let clamp = |n: usize| n.min(u16::MAX as usize) as u16;
                self.textarea.move_cursor(CursorMove::Jump(clamp(row), clamp(col)));
                self.textarea.start_selection();
                let end = col + query.chars().count();
                self.textarea.move_cursor(CursorMove::Jump(clamp(row), clamp(end)));
                true
            }
            None => false,
        }
    }

    /// A text area holding `text`, which has been through [`inert::editor_text`].
    fn textarea(text: &str) -> TextArea<'static> {
        let mut textarea = TextArea::new(text.lines().map(str::to_owned).collect());
        textarea.set_tab_length(2);
        textarea.set_max_histories(1000);
        // Reverse video shows a selection with or without colour.
        textarea.set_selection_style(Style::new().add_modifier(Modifier::REVERSED));
        // A gutter of line numbers: the numbers the errors give (`line 14, col 7`). Dim, not
        // coloured, so it reads the same under NO_COLOR.
        textarea.set_line_number_style(Style::new().add_modifier(Modifier::DIM));
        textarea
    }

    /// An editor on `base` holding `text` instead (a draft, a conflict, an old revision):
    /// it counts as modified from the start.
    fn with_text(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: &str,
        limits: &Limits,
        shape: Option<Arc<Shape>>,
    ) -> Self {
        let mut editor = Self::new(user_id, user_handle, base, limits, shape);
        // A draft or an external editor's file is as untrusted as the store: nothing
        // invisible goes into the text area raw.
        editor.textarea = Self::textarea(&inert::editor_text(text));
        editor.revalidate(limits);
        editor
    }

    /// A key in the editor. A character event (typed, or pasted by a terminal without
    /// bracketed paste, one character at a time) that is invisible goes in as its JSON
    /// escape. Returns whether the text changed.
    fn input(&mut self, input: Input) -> bool {
        if let Key::Char(c) = input.key
            && !input.ctrl
            && !input.alt
            && let Some(escape) = inert::editor_char(c)
        {
            return self.textarea.insert_str(escape);
        }
        if !input.ctrl && !input.alt {
            match input.key {
                Key::Enter => return self.new_line_indented(),
                Key::Char(close @ ('}' | ']')) => return self.close_dedented(close),
                _ => {}
            }
        }
        self.textarea.input(input)
    }

    /// The line's text before the cursor.
    fn before_cursor(&self) -> &str {
        let cursor = self.textarea.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let line = self.textarea.lines().get(row).map(String::as_str).unwrap_or("");
        let end = line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
        &line[..end]
    }

    /// `Enter` as in a JSON editor: the new line keeps the indentation of this one, one level
    /// (two spaces) more after an opening `{` or `[`. (A bracketed paste is inserted as it is.)
    fn new_line_indented(&mut self) -> bool {
        let before = self.before_cursor();
        let indent: String = before.chars().take_while(|c| *c == ' ').collect();
        let opens = matches!(before.trim_end().chars().last(), Some('{' | '['));
        self.textarea.insert_newline();
        self.textarea.insert_str(if opens { format!("{indent}  ") } else { indent });
        true
    }

    /// A closing `}`/`]` typed on a line holding only indentation takes one level off it.
    fn close_dedented(&mut self, close: char) -> bool {
        let before = self.before_cursor();
        if !before.is_empty() && before.chars().all(|c| c == ' ') {
            for _ in 0..before.len().min(2) {
                self.textarea.delete_char();
            }
        }
        self.textarea.insert_char(close);
        true
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_modified(&self) -> bool {
        // Asked on every frame: compared line by line, without joining a 1 MiB text.
        !self.textarea.lines().iter().map(String::as_str).eq(self.opened_text.split('\n'))
    }

    /// Removing this editing session's draft (and no other).
    fn discard_draft(&self) -> Effect {
        Effect::DiscardDraft { user_id: self.user_id.clone(), session: self.draft_session.clone() }
    }

    /// What a draft or recovery file of this edit records.
    pub fn snapshot(&self) -> EditSnapshot {
        let (base_revision, base_digest) = match &self.doubt {
            Some(doubt) => (doubt.base_revision, doubt.base_digest.clone()),
            None => (self.base.revision, crate::draft::digest(&self.base.text)),
        };
        EditSnapshot {
            user_id: self.user_id.clone(),
            user_handle: self.user_handle.clone(),
            session: self.draft_session.clone(),
            base_revision,
            base_digest,
            text: self.text(),
        }
    }

    /// Checks the text as it is now, here and at once (opening, saving, jumping to the error).
    fn revalidate(&mut self, limits: &Limits) {
        let text = self.text();
        self.validation = CustomData::parse_with(&text, limits);
        self.schema_errors = schema_errors(self.shape.as_deref(), &text, &self.validation);
        self.schema_walk = 0;
        self.checked = self.generation;
    }

    /// Whether the checked text can be saved: valid JSON that satisfies the schema.
    pub fn is_savable(&self) -> bool {
        self.validation.is_ok() && self.schema_errors.is_empty()
    }

    /// Whether the shown result is for the text as it is now.
    pub fn is_checked(&self) -> bool {
        self.checked == self.generation
    }

    /// The text changed: its check is asked for, to run off the key path (validating 1 MiB
    /// on every key made typing lag); until it answers, the status line says "checking…".
    fn changed(&mut self, limits: &Limits) -> Effect {
        self.generation += 1;
        Effect::Check { generation: self.generation, text: self.text(), limits: *limits }
    }
}

/// A question the operator must answer before anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// The save removes top-level keys that exist now (or empties the document): the diff of
    /// stored against new, to confirm.
    /// `expected` is the revision the save is checked against: the editor's base, or theirs
    /// when overwriting after a conflict.
    ConfirmDrop {
        dropped: Vec<String>,
        data: CustomData,
        diff: Vec<DiffLine>,
        secrets: Vec<String>,
        expected: Revision,
    },
    /// Someone saved this user since the editor opened: theirs against mine.
    Conflict { theirs: StoredDocument, mine: CustomData, diff: Vec<DiffLine> },
    /// Unsaved edits from earlier sessions were found: open, discard or leave each.
    DraftFound { drafts: Vec<Draft>, selected: usize },
    /// Leaving the editor would throw away changes.
    ConfirmDiscard,
    /// Quitting would throw away changes.
    ConfirmQuit,
    /// Throwing away a found draft (the [`Dialog::DraftFound`] it came from, asked again on no).
    ConfirmDiscardDraft(Box<Dialog>),
    /// Applying `:patch`'s file: this many users would change.
    ConfirmPatch { users: u64, file: String },
}

impl Dialog {
    /// What yes (`y`) and what no (Enter, `n`, Esc) do, in words, for the yes/no questions:
    /// the dialog shows them beside the keys.
    pub fn answers(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Dialog::ConfirmDrop { .. } => Some(("save it", "no, back to the editor")),
            Dialog::ConfirmDiscard => Some(("throw your changes away", "no, back to the editor")),
            Dialog::ConfirmQuit => Some(("quit and throw your changes away", "no, back")),
            Dialog::ConfirmDiscardDraft(_) => Some(("throw the draft away", "no, back to the draft")),
            Dialog::ConfirmPatch { .. } => Some(("apply the patch", "no, back to the dry run")),
            Dialog::Conflict { .. } | Dialog::DraftFound { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub kind: StatusKind,
    pub text: String,
    /// The screen it was said on (set when the action that said it is done): a message
    /// describes that screen and goes when another one takes its place — an `$EDITOR` failure
    /// does not stay under the next question.
    pub shown_in: Option<Mode>,
    /// It is about the edited text being invalid, and goes once the text is valid.
    pub while_invalid: bool,
}

/// The plaintext of one sealed value, shown in an overlay while it is open. It lives only
/// here: never in the editor's text, a draft, the log or the clipboard, and it is dropped when
/// the overlay closes.
pub struct Plaintext {
    pub path: String,
    pub kid: Option<String>,
    /// The opened value, pretty-printed.
    pub text: String,
}

impl Drop for Plaintext {
    /// Closing the overlay wipes the text, not only frees it.
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// Which keys are live, derived from the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Browse,
    Filter,
    Edit,
    History,
    /// A yes/no question.
    Dialog,
    Conflict,
    DraftFound,
    Help,
    /// `:messages`: the last messages, whole (the status line cuts long ones).
    Messages,
    /// The `:` command line.
    Command,
    /// The editor's find line (`Ctrl-F`).
    Find,
    /// The customData pane has the focus, as a folding tree.
    Tree,
    /// The plaintext of a sealed value, in an overlay.
    Plaintext,
    /// `:patch`'s dry run, in an overlay.
    Patch,
    /// The terminal is smaller than custodian draws in: nothing underneath is shown, so only
    /// quitting (with its question) and resizing work.
    TooSmall,
}

/// The history of one user: every revision with what it changed; of the texts only the
/// current one and the one selected are held (a history of 1 MiB documents stays small).
pub struct HistoryView {
    pub user_id: String,
    pub user_handle: String,
    /// Oldest first; the last is the current revision.
    pub entries: Vec<HistoryEntry>,
    pub selected: usize,
    pub current_text: String,
    /// The selected old revision's text, once read.
    pub shown: Option<(Revision, String)>,
}

pub struct HistoryEntry {
    pub info: RevisionInfo,
    /// Top-level keys this revision added and removed, and an earlier revision it equals.
    pub changes: RevisionChanges,
}

impl HistoryView {
    fn new(
        user_id: String,
        user_handle: String,
        revisions: Vec<(RevisionInfo, RevisionChanges)>,
        current_text: String,
    ) -> Self {
        let entries: Vec<HistoryEntry> =
            revisions.into_iter().map(|(info, changes)| HistoryEntry { info, changes }).collect();
        let selected = entries.len().saturating_sub(1);
        Self { user_id, user_handle, entries, selected, current_text, shown: None }
    }

    pub fn current(&self) -> Option<&HistoryEntry> {
        self.entries.last()
    }

    /// The selected revision's text, when it is at hand (the current one always is).
    pub fn selected_text(&self) -> Option<&str> {
        let entry = self.entries.get(self.selected)?;
        if entry.info.current {
            return Some(&self.current_text);
        }
        self.shown
            .as_ref()
            .filter(|(revision, _)| *revision == entry.info.revision)
            .map(|(_, text)| text.as_str())
    }

    /// What restoring the selected revision would change in the current document (nothing
    /// until its text is read).
    pub fn selected_diff(&self) -> Vec<DiffLine> {
        self.selected_text().map(|text| line_diff(&self.current_text, text)).unwrap_or_default()
    }

    /// The read the selection needs, if its text is not at hand.
    fn load_selected(&self) -> Vec<Effect> {
        match self.entries.get(self.selected) {
            Some(entry) if self.selected_text().is_none() => {
                vec![Effect::LoadRevision { id: self.user_id.clone(), revision: entry.info.revision }]
            }
            _ => Vec::new(),
        }
    }
}

/// How many messages `:messages` keeps.
pub const MESSAGES_KEPT: usize = 50;

/// A save whose outcome is unknown: what was sent, and the revision it would have made.
#[derive(Debug, Clone, PartialEq)]
pub struct UnresolvedSave {
    pub id: String,
    pub data: CustomData,
    pub revision: Revision,
}

/// Everything the screen shows.
pub struct State {
    /// The deployment's JSON Schema every editor holds its text to (none: no schema).
    pub shape: Option<Arc<Shape>>,
    pub list: UserList,
    /// The selected user, once loaded.
    pub user: Option<UserRecord>,
    pub document: Option<StoredDocument>,
    /// The customData pane as a folding tree, while it has the focus.
    pub tree: Option<Tree>,
    pub editor: Option<Editor>,
    pub history: Option<HistoryView>,
    /// `:patch`'s overlay, while open.
    pub patch: Option<PatchView>,
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
    /// `r` was pressed: what the list showed then, to say what the refresh changed.
    refreshing: Option<RefreshedFrom>,
    pub filtering: bool,
    pub command: Option<CommandLine>,
    pub status: Option<Status>,
    /// What the store is working on for us (the runtime says), shown on the status line.
    pub pending: Option<Pending>,
    pub read_only: bool,
    /// Whether saved documents keep their key order, as the store says
    /// ([`crate::store::UserStore::key_order`]); `AsWritten` unless the runtime sets it.
    pub key_order: KeyOrder,
    /// The key file (`--key-file`): seals and opens values in the editor.
    pub keys: Option<KeySet>,
    /// The overlay with a sealed value's plaintext, while open.
    pub plaintext: Option<Plaintext>,
    pub limits: Limits,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
}

impl State {
    pub fn new(width: u16, height: u16, read_only: bool) -> Self {
        let mut state = Self {
            shape: None,
            list: UserList::default(),
            user: None,
            document: None,
            tree: None,
            editor: None,
            history: None,
            patch: None,
            dialog: None,
            pending_drafts: Vec::new(),
            set_aside: None,
            opening_draft: false,
            draft_failure: None,
            connection_lost: None,
            unresolved_save: None,
            help: false,
            help_scroll: 0,
            said: VecDeque::new(),
            messages_open: false,
            refreshing: None,
            filtering: false,
            command: None,
            status: None,
            pending: None,
            read_only,
            key_order: KeyOrder::AsWritten,
            keys: None,
            plaintext: None,
            limits: Limits::default(),
            width,
            height,
            quit: false,
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
        } else if self.patch.is_some() {
            Mode::Patch
        } else if self.history.is_some() {
            Mode::History
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

    fn load(&self, seek: Seek, distance: usize, then: Then) -> Effect {
        Effect::LoadRows(RowRequest { seek, limit: self.list.load_size(distance), then, count: false })
    }

    /// A load that counts the users too (start, refresh).
    fn load_counting(&self, seek: Seek, then: Then) -> Effect {
        Effect::LoadRows(RowRequest { seek, limit: self.list.load_size(0), then, count: true })
    }

    /// The line diff of a stored text against a new document. Where the store keeps keys in
    /// its own order, the new document is shown in the stored one's order first, so only
    /// changed values show as changed, never a mere reordering.
    fn diff_against(&self, stored_text: &str, new: &CustomData) -> Vec<DiffLine> {
        match self.key_order {
            KeyOrder::AsWritten => line_diff(stored_text, new.canonical()),
            KeyOrder::Backend(_) => match parse_object(stored_text) {
                Ok(stored) => {
                    line_diff(stored_text, &canonical_text(&in_key_order_of(&stored, new.as_object())))
                }
                Err(_) => line_diff(stored_text, new.canonical()),
            },
        }
    }

    fn say(&mut self, kind: StatusKind, text: impl Into<String>) {
        let text = text.into();
        if self.said.len() == MESSAGES_KEPT {
            self.said.pop_front();
        }
        self.said.push_back(text.clone());
        self.status = Some(Status { kind, text, shown_in: None, while_invalid: false });
    }

    /// Clears the message when what it describes is gone: its screen was left, or the text
    /// it called invalid is valid now. A new message is tied to the screen it appears on.
    fn expire_status(&mut self) {
        let mode = self.mode();
        let valid_now = self.editor.as_ref().is_none_or(|e| e.is_checked() && e.is_savable());
        let Some(status) = &mut self.status else { return };
        match status.shown_in {
            None => status.shown_in = Some(mode),
            Some(shown_in) if shown_in != mode => self.status = None,
            Some(_) if status.while_invalid && valid_now => self.status = None,
            Some(_) => {}
        }
    }

    /// The validation summary for the status line while editing.
    pub fn validation_summary(&self) -> Option<(bool, String)> {
        let editor = self.editor.as_ref()?;
        if !editor.is_checked() {
            return None;
        }
        Some(match &editor.validation {
            Ok(_) if !editor.schema_errors.is_empty() => {
                (false, schema_summary(&editor.schema_errors).unwrap_or_default())
            }
            Ok(data) => {
                // The compact size, the one the limit is on (the pretty text on screen is larger).
                let (size, limit) = human_bytes_apart(data.size(), self.limits.max_bytes);
                (true, format!("valid object · {size} of {limit}"))
            }
            Err(error) => (false, error.to_string()),
        })
    }

    /// Moves the selection by `delta` rows, loading more rows when it runs past them.
    fn move_selection(&mut self, delta: isize) -> Vec<Effect> {
        let list = &self.list;
        if list.rows.is_empty() {
            return Vec::new();
        }
        let target = list.selected as isize + delta;
        if target >= list.rows.len() as isize && !list.at_end {
            let last = list.rows[list.rows.len() - 1].key.clone();
            let distance = (target as usize) + 1 - list.rows.len();
            return vec![self.load(Seek::After(last), distance, Then::Move(delta))];
        }
        if target < 0 && !list.at_start {
            let first = list.rows[0].key.clone();
            return vec![self.load(Seek::Before(first), target.unsigned_abs(), Then::Move(delta))];
        }
        self.select_index(target.clamp(0, list.rows.len() as isize - 1) as usize)
    }

    fn select_index(&mut self, index: usize) -> Vec<Effect> {
        // The operator chose a row: a user waited for by a refresh is no longer wanted.
        self.list.search.reselect = None;
        self.list.selected = index;
        self.list.keep_selection_visible();
        self.load_selected_user()
    }

    fn load_selected_user(&mut self) -> Vec<Effect> {
        let Some(entry) = self.list.selected_entry() else {
            self.user = None;
            self.document = None;
            return Vec::new();
        };
        if self.user.as_ref().is_some_and(|u| u.user.id == entry.user.id && u.revision == entry.revision) {
            return Vec::new();
        }
        vec![Effect::LoadUser { id: entry.user.id.clone() }]
    }

    fn rows_loaded(
        &mut self,
        request: RowRequest,
        rows: Vec<ListEntry>,
        total: Option<UserCount>,
    ) -> Vec<Effect> {
        if let Some(count) = total {
            self.list.total = count.users;
            self.list.total_estimated = !count.exact;
        }
        // While filtering, the rows are the matches: an answer for the whole list is stale.
        if self.list.active_filter().is_some() {
            return Vec::new();
        }
        let short = rows.len() < request.limit;
        let previous = self.list.selected_entry().map(|e| e.key.clone());
        let list = &mut self.list;
        match &request.seek {
            Seek::First | Seek::From(_) => {
                list.rows = rows;
                list.at_start = matches!(request.seek, Seek::First);
                list.at_end = short;
                list.top = 0;
            }
            Seek::Last => {
                list.rows = rows;
                list.at_end = true;
                list.at_start = short;
            }
            Seek::After(_) => {
                list.rows.extend(rows);
                list.at_end = short;
            }
            Seek::Before(_) => {
                let added = rows.len();
                list.rows.splice(0..0, rows);
                list.top += added;
                list.at_start = short;
            }
        }
        let last = list.rows.len().saturating_sub(1);
        let index_of = |key: &ListKey| list.rows.iter().position(|e| &e.key == key);
        list.selected = match (&request.then, &request.seek) {
            (Then::Edge, Seek::Last) => last,
            (Then::Edge, _) => 0,
            (Then::Move(delta), _) => {
                let from = previous.as_ref().and_then(index_of).unwrap_or(0) as isize;
                (from + delta).clamp(0, last as isize) as usize
            }
            (Then::Reselect { key, offset }, _) => {
                key.as_ref().and_then(index_of).unwrap_or((*offset).min(last))
            }
        };
        self.trim_rows();
        self.list.keep_selection_visible();
        if self.list.rows.is_empty() {
            self.user = None;
            self.document = None;
        }
        if let Some(before) = self.refreshing.take() {
            self.say_what_the_refresh_changed(&before);
        }
        self.load_selected_user()
    }

    /// "refreshed · 1204 users (+3) · admin: revision 4 → 5": `r` answers with what it found.
    fn say_what_the_refresh_changed(&mut self, before: &RefreshedFrom) {
        let total = self.list.total;
        // An estimate (PostgreSQL's planner) is labelled so, and its change is not news.
        let estimated = self.list.total_estimated;
        let mut text = format!("refreshed · {}{total} users", if estimated { "~" } else { "" });
        if total != before.total && !estimated {
            text.push_str(&format!(" ({:+})", total as i128 - before.total as i128));
        }
        if let Some((id, revision)) = &before.selected {
            match self.list.selected_entry() {
                Some(entry) if &entry.user.id == id && entry.revision != *revision => {
                    let handle = inert::line(entry.user.handle()).into_owned();
                    text.push_str(&format!(" · {handle}: revision {revision} → {}", entry.revision));
                }
                Some(entry) if &entry.user.id == id => {}
                _ => text.push_str(" · the selected user is no longer there"),
            }
        }
        self.say(StatusKind::Info, text);
    }

    /// Keeps the loaded window small: memory does not grow with how far the operator scrolls.
    fn trim_rows(&mut self) {
        let keep = self.list.height.max(10) * 3;
        let list = &mut self.list;
        if list.selected > keep {
            let drop = list.selected - keep;
            list.rows.drain(..drop);
            list.selected -= drop;
            list.top = list.top.saturating_sub(drop);
            list.at_start = false;
        }
        if list.rows.len() > list.selected + keep + 1 {
            list.rows.truncate(list.selected + keep + 1);
            list.at_end = false;
        }
    }

    /// Says why nothing may be edited (a read-only store), if so.
    fn refused_read_only(&mut self) -> bool {
        if self.read_only {
            self.say(StatusKind::Error, "read-only: the database was opened with --read-only");
        }
        self.read_only
    }

    /// Asks for the selected user's stored document, read now, for `purpose`; says why not
    /// when there is no user (or, to edit, when the store is read-only).
    fn read_current(&mut self, purpose: Purpose) -> Vec<Effect> {
        if purpose != Purpose::Copy && self.refused_read_only() {
            return Vec::new();
        }
        match self.list.selected_entry() {
            Some(entry) => vec![Effect::ReadCurrent { id: entry.user.id.clone(), purpose }],
            None => {
                self.say(StatusKind::Info, "no user selected");
                Vec::new()
            }
        }
    }

    /// The stored document arrived: the panes show it, and `purpose` goes on from it. An
    /// answer for a user no longer selected (the operator moved meanwhile) is dropped.
    fn current_read(
        &mut self,
        purpose: Purpose,
        record: UserRecord,
        document: StoredDocument,
    ) -> Vec<Effect> {
        let selected = self.list.selected_entry().map(|e| e.user.id.as_str());
        if selected != Some(record.user.id.as_str()) || self.editor.is_some() || self.dialog.is_some() {
            return Vec::new();
        }
        if let Some(entry) = self.list.rows.get_mut(self.list.selected) {
            entry.revision = record.revision;
            *entry.user = record.user.clone();
        }
        let (user_id, handle) = (record.user.id.clone(), record.user.handle().to_owned());
        self.user = Some(record);
        self.document = Some(document.clone());
        match purpose {
            Purpose::Edit => {
                self.say(StatusKind::Info, format!("editing customData of {}", inert::line(&handle)));
                self.editor = Some(Editor::new(user_id, handle, document, &self.limits, self.shape.clone()));
                Vec::new()
            }
            Purpose::EditExternally => {
                let text = inert::editor_text(&document.text).into_owned();
                vec![Effect::EditExternally { user_id, user_handle: handle, base: document, text }]
            }
            Purpose::Copy => self.copy(&document),
        }
    }

    /// Selects `entry` in the list, read (unfiltered) from that user on.
    fn select_user(&mut self, entry: ListEntry) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.list.filter.is_empty() || self.filtering {
            self.filtering = false;
            self.list.filter.clear();
            self.list.search.generation += 1;
            self.list.search.scanning = false;
            self.list.search.reselect = None;
            effects.push(Effect::StopScan);
        }
        self.user = None;
        self.document = None;
        effects.push(self.load(Seek::From(entry.key), 0, Then::Edge));
        effects
    }

    fn save(&mut self) -> Vec<Effect> {
        if let Some(unresolved) = &self.unresolved_save {
            let text = format!(
                "not saved: custodian must first find out whether your last save became revision {} (r or F5 reconnects and looks)",
                unresolved.revision
            );
            self.say(StatusKind::Error, text);
            return Vec::new();
        }
        let Some(editor) = &mut self.editor else { return Vec::new() };
        // Never saved on an older text's check: the final text is checked whole, now.
        if !editor.is_checked() {
            editor.revalidate(&self.limits);
        }
        let editor = &*editor;
        let data = match &editor.validation {
            Ok(_) if !editor.schema_errors.is_empty() => {
                let summary = schema_summary(&editor.schema_errors).unwrap_or_default();
                self.say(StatusKind::Error, format!("not saved: {summary} (Ctrl-G walks them)"));
                if let Some(status) = &mut self.status {
                    status.while_invalid = true;
                }
                return Vec::new();
            }
            Ok(data) => data.clone(),
            Err(_) => {
                self.say(StatusKind::Error, "not saved: fix the error first (Ctrl-G jumps to it)");
                if let Some(status) = &mut self.status {
                    status.while_invalid = true;
                }
                return Vec::new();
            }
        };
        if data.canonical() == editor.base.text {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        // (Whose key order it is, the status line says all through the edit.)
        if matches!(self.key_order, KeyOrder::Backend(_)) && same_values(&editor.base.text, &data) {
            self.say(StatusKind::Info, "no changes: only the key order differs");
            return Vec::new();
        }
        if editor.doubt.is_some() {
            // A draft whose base is in doubt is never saved without the conflict view.
            let theirs = editor.base.clone();
            self.show_doubtful_draft(theirs, data);
            return Vec::new();
        }
        let base = editor.base.clone();
        self.review_and_save(data, &base)
    }

    /// Saves `data` over `stored`, first asking when it removes top-level keys that `stored`
    /// has (or empties it) or holds what looks like a secret: the one question every save asks.
    fn review_and_save(&mut self, data: CustomData, stored: &StoredDocument) -> Vec<Effect> {
        let old: Map<String, Value> = serde_json::from_str(&stored.text).unwrap_or_default();
        let dropped = dropped_keys(&old, data.as_object());
        // customData reaches front ends: what looks like a secret is pointed out first.
        let secrets: Vec<String> = find_secrets(data.as_object()).iter().map(ToString::to_string).collect();
        let expected = stored.revision;
        if !dropped.is_empty() || !secrets.is_empty() || (data.as_object().is_empty() && !old.is_empty()) {
            let diff = self.diff_against(&stored.text, &data);
            self.dialog = Some(Dialog::ConfirmDrop { dropped, data, diff, secrets, expected });
            return Vec::new();
        }
        self.save_effect(data, expected)
    }

    fn conflict(&mut self, id: String, theirs: StoredDocument) -> Vec<Effect> {
        let Some(editor) = self.editor.as_ref().filter(|e| e.user_id == id) else { return Vec::new() };
        let Ok(mine) = editor.validation.clone() else { return Vec::new() };
        let diff = self.diff_against(&theirs.text, &mine);
        let text = format!(
            "conflict: someone saved revision {} since you opened revision {}; nothing was written",
            theirs.revision, editor.base.revision
        );
        self.say(StatusKind::Error, text);
        self.dialog = Some(Dialog::Conflict { theirs, mine, diff });
        Vec::new()
    }

    /// The conflict view for a draft whose base is in doubt: theirs (what is stored now)
    /// against the draft.
    fn show_doubtful_draft(&mut self, theirs: StoredDocument, mine: CustomData) {
        let diff = self.diff_against(&theirs.text, &mine);
        self.dialog = Some(Dialog::Conflict { theirs, mine, diff });
    }

    /// Conflict, "reload theirs": my edit goes to a recovery file first; only once it is
    /// written does the editor show theirs.
    fn reload_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, .. }) = self.dialog.take() else { return Vec::new() };
        let Some(edit) = self.editor.as_ref().map(Editor::snapshot) else { return Vec::new() };
        self.say(StatusKind::Info, "keeping your edit in a recovery file…");
        vec![Effect::KeepRecovery { edit, theirs }]
    }

    /// The recovery file is written: theirs goes in the editor (a new editing session).
    fn recovery_kept(&mut self, path: String, theirs: StoredDocument) -> Vec<Effect> {
        let Some(editor) = self.editor.take() else { return Vec::new() };
        // The panes show what is stored now: their revision, in the profile as in the editor.
        let reload = Effect::LoadUser { id: editor.user_id.clone() };
        self.document = Some(theirs.clone());
        self.editor =
            Some(Editor::new(editor.user_id, editor.user_handle, theirs, &self.limits, self.shape.clone()));
        self.draft_failure = None;
        self.say(StatusKind::Info, format!("your edit is kept in {}", inert::line(&path)));
        vec![reload]
    }

    /// Conflict, "overwrite anyway": save mine over theirs, on purpose (their version stays in
    /// the history). Mine is measured against theirs, so the save asks the question every save
    /// asks — the keys theirs has that mine drops, what looks like a secret — before anything
    /// is written.
    fn overwrite_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, mine, .. }) = self.dialog.take() else { return Vec::new() };
        if self.editor.is_none() {
            return Vec::new();
        }
        // The editor keeps its own base: "no" goes back to editing, and the next save meets
        // theirs as a conflict again instead of writing over it unseen.
        self.review_and_save(mine, &theirs)
    }

    fn drafts_found(&mut self, drafts: Vec<Draft>, not_offered: Vec<String>) -> Vec<Effect> {
        if !not_offered.is_empty() {
            let first = not_offered.first().map(String::as_str).unwrap_or_default();
            let more = match not_offered.len() {
                1 => String::new(),
                n => format!(" (and {} more; the log names them)", n - 1),
            };
            self.say(StatusKind::Error, format!("not offered as a draft: {}{more}", inert::line(first)));
        }
        if !drafts.is_empty() {
            self.dialog = Some(Dialog::DraftFound { drafts, selected: 0 });
        }
        Vec::new()
    }

    /// Offers the found drafts still waiting once nothing else holds the screen (the draft
    /// opened from the list was saved or left).
    fn offer_pending_drafts(&mut self) {
        if !self.pending_drafts.is_empty()
            && !self.opening_draft
            && self.editor.is_none()
            && self.dialog.is_none()
            && self.history.is_none()
        {
            let drafts = std::mem::take(&mut self.pending_drafts);
            self.dialog = Some(Dialog::DraftFound { drafts, selected: 0 });
        }
    }

    /// How many revisions a page of the history list moves: the rows its list shows (two
    /// fifths of the overlay, inside its borders).
    fn history_page(&self) -> usize {
        (usize::from(self.height.saturating_sub(5)) * 2 / 5).saturating_sub(1).max(1)
    }

    /// Gives the customData pane the focus as a folding tree of the loaded document.
    fn focus_tree(&mut self) -> Vec<Effect> {
        let Some(document) = &self.document else {
            self.say(StatusKind::Info, "no customData loaded yet");
            return Vec::new();
        };
        match serde_json::from_str::<Value>(&document.text) {
            Ok(value) => self.tree = Some(Tree::new(&value)),
            Err(e) => self.say(StatusKind::Error, format!("the stored document cannot be read: {e}")),
        }
        Vec::new()
    }

    fn select_draft(&mut self, delta: isize) {
        if let Some(Dialog::DraftFound { drafts, selected }) = &mut self.dialog {
            let last = drafts.len().saturating_sub(1) as isize;
            *selected = (*selected as isize).saturating_add(delta).clamp(0, last) as usize;
        }
    }

    /// Takes the selected draft out of the list; the rest wait in `pending_drafts`.
    fn take_selected_draft(&mut self) -> Option<Draft> {
        let Some(Dialog::DraftFound { mut drafts, selected }) = self.dialog.take() else { return None };
        if selected >= drafts.len() {
            return None;
        }
        let draft = drafts.remove(selected);
        self.pending_drafts = drafts;
        Some(draft)
    }

    fn open_draft(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.say(
                StatusKind::Error,
                "read-only: the draft is kept; open it without --read-only to save it",
            );
            return Vec::new();
        }
        let Some(draft) = self.take_selected_draft() else { return Vec::new() };
        self.opening_draft = true;
        vec![Effect::LoadDraft(draft)]
    }

    fn discard_draft(&mut self) -> Vec<Effect> {
        let Some(draft) = self.take_selected_draft() else { return Vec::new() };
        self.say(StatusKind::Info, format!("draft of {} discarded", inert::line(&draft.user_handle)));
        // The others stay in the list.
        self.offer_pending_drafts();
        vec![Effect::RemoveFoundDraft(draft)]
    }

    fn draft_ready(
        &mut self,
        record: UserRecord,
        base: StoredDocument,
        draft: Draft,
        doubt: Option<String>,
    ) -> Vec<Effect> {
        self.opening_draft = false;
        let handle = record.user.handle().to_owned();
        let mut editor = Editor::with_text(
            record.user.id.clone(),
            handle.clone(),
            base.clone(),
            &draft.text,
            &self.limits,
            self.shape.clone(),
        );
        // The draft now belongs to this editing session (the runtime renamed it).
        editor.draft_session = draft.session.clone();
        let who = inert::line(&handle).into_owned();
        let note = match &doubt {
            Some(reason) => format!(
                "draft of {who}: {reason}; it is shown against what is stored now and is never saved without that view"
            ),
            None if record.revision == draft.base_revision => {
                format!("draft of {who} reopened: Ctrl-S saves it")
            }
            None => format!(
                "draft of {who} reopened; it started from revision {}, the user is now at {}: saving will show the conflict",
                draft.base_revision, record.revision
            ),
        };
        editor.doubt = doubt.map(|reason| Doubt {
            reason,
            base_revision: draft.base_revision,
            base_digest: draft.base_digest.clone(),
        });
        let mine = editor.validation.clone().ok().filter(|_| editor.doubt.is_some());
        self.editor = Some(editor);
        match mine {
            Some(mine) => self.show_doubtful_draft(base, mine),
            None => self.dialog = None,
        }
        self.say(if self.dialog.is_some() { StatusKind::Error } else { StatusKind::Info }, note);
        Vec::new()
    }

    fn open_history(&mut self) -> Vec<Effect> {
        match &self.user {
            Some(record) => vec![Effect::LoadHistory { id: record.user.id.clone() }],
            None => {
                self.say(StatusKind::Info, "no user selected");
                Vec::new()
            }
        }
    }

    fn history_loaded(
        &mut self,
        id: String,
        revisions: Vec<(RevisionInfo, RevisionChanges)>,
        current_text: String,
    ) -> Vec<Effect> {
        let Some(record) = self.user.as_ref().filter(|r| r.user.id == id) else { return Vec::new() };
        self.history = Some(HistoryView::new(id, record.user.handle().to_owned(), revisions, current_text));
        Vec::new()
    }

    fn revision_loaded(&mut self, id: String, revision: Revision, text: String) -> Vec<Effect> {
        // Kept only while it is still the one selected: moving on drops a late answer.
        if let Some(history) = &mut self.history
            && history.user_id == id
            && history.entries.get(history.selected).is_some_and(|e| e.info.revision == revision)
        {
            history.shown = Some((revision, text));
        }
        Vec::new()
    }

    /// Puts the selected revision into the editor; Ctrl-S then saves it as a new revision,
    /// through the same checks as any edit.
    fn restore_revision(&mut self) -> Vec<Effect> {
        if self.refused_read_only() {
            return Vec::new();
        }
        let Some(history) = self.history.take() else { return Vec::new() };
        let (Some(current), Some(selected)) = (history.current(), history.entries.get(history.selected))
        else {
            return Vec::new();
        };
        if selected.info.current {
            self.say(StatusKind::Info, "that is the current revision");
            self.history = Some(history);
            return Vec::new();
        }
        let revision = selected.info.revision;
        let Some(text) = history.selected_text().map(str::to_owned) else {
            self.say(StatusKind::Info, format!("revision {revision} is still being read"));
            self.history = Some(history);
            return Vec::new();
        };
        let base = StoredDocument { text: history.current_text.clone(), revision: current.info.revision };
        self.editor = Some(Editor::with_text(
            history.user_id,
            history.user_handle,
            base,
            &text,
            &self.limits,
            self.shape.clone(),
        ));
        self.say(
            StatusKind::Info,
            format!("revision {revision} is in the editor: Ctrl-S saves it as a new revision"),
        );
        Vec::new()
    }

    fn save_effect(&mut self, data: CustomData, expected: Revision) -> Vec<Effect> {
        let Some(editor) = &self.editor else { return Vec::new() };
        let effect = Effect::Save { id: editor.user_id.clone(), data, expected };
        self.say(StatusKind::Info, "saving…");
        vec![effect]
    }

    fn saved(&mut self, id: String, outcome: SaveOutcome) -> Vec<Effect> {
        // Only the saving session's draft goes; other sessions' drafts of this user stay.
        let mut effects: Vec<Effect> = match &self.editor {
            Some(editor) if editor.user_id == id => vec![editor.discard_draft()],
            _ => Vec::new(),
        };
        match outcome {
            SaveOutcome::Saved { revision, .. } => {
                self.editor = None;
                self.say(StatusKind::Success, format!("saved revision {revision}"));
            }
            SaveOutcome::Unchanged { .. } => {
                self.editor = None;
                self.say(StatusKind::Info, "no changes");
            }
        }
        // Show what the store now holds: the canonical form, the new revision, others' saves.
        self.user = None;
        self.draft_failure = None;
        effects.extend(self.refresh());
        effects
    }

    /// Asks the store to connect again; says so meanwhile.
    fn reconnect(&mut self) -> Vec<Effect> {
        if self.connection_lost.is_none() {
            self.say(StatusKind::Info, "the connection is fine: nothing to reconnect");
            return Vec::new();
        }
        self.say(StatusKind::Info, "reconnecting…");
        vec![Effect::Reconnect]
    }

    fn connection_lost(&mut self, message: String) {
        // The status line's own prefix says "connection lost" and the hint bar the key that
        // reconnects; the editor (and its draft) keep the edit.
        self.say(StatusKind::Error, message.clone());
        self.connection_lost = Some(message);
    }

    /// Connected again: a save in doubt is looked up first; otherwise the screen reloads what
    /// it shows.
    fn reconnected(&mut self) -> Vec<Effect> {
        self.connection_lost = None;
        if let Some(UnresolvedSave { id, data, revision }) = self.unresolved_save.clone() {
            self.say(
                StatusKind::Info,
                format!("reconnected; looking whether your save became revision {revision}…"),
            );
            return vec![Effect::ResolveSave { id, data, revision }];
        }
        self.say(StatusKind::Success, "reconnected");
        self.refresh()
    }

    fn save_outcome_unknown(&mut self, id: String, data: CustomData, revision: Revision, message: String) {
        self.say(
            StatusKind::Error,
            format!("save in doubt: may have become revision {revision}; your edit stays"),
        );
        self.connection_lost = Some(message);
        self.unresolved_save = Some(UnresolvedSave { id, data, revision });
    }

    fn save_resolved(&mut self, id: String, revision: Revision, landed: bool) -> Vec<Effect> {
        if self.unresolved_save.as_ref().is_none_or(|u| u.id != id || u.revision != revision) {
            return Vec::new();
        }
        self.unresolved_save = None;
        if landed {
            let effects = self.saved(id, SaveOutcome::Saved { revision, removed: Vec::new() });
            self.say(StatusKind::Success, format!("the save did commit as revision {revision}"));
            effects
        } else {
            let text = if self.editor.as_ref().is_some_and(|e| e.user_id == id) {
                "the save did not happen — your edit is still here (Ctrl-S saves it)"
            } else {
                "the save did not happen"
            };
            self.say(StatusKind::Error, text);
            self.refresh()
        }
    }

    /// Reloads the window from its top row: others' saves and new users show up, and the
    /// same user stays selected.
    fn refresh(&mut self) -> Vec<Effect> {
        if self.list.active_filter().is_some() {
            let keep = self.wanted_user();
            let effects = self.filter_changed();
            self.list.search.reselect = keep;
            return effects;
        }
        let list = &self.list;
        let seek = list.rows.get(list.top).map_or(Seek::First, |e| Seek::From(e.key.clone()));
        let then = Then::Reselect {
            key: list.selected_entry().map(|e| e.key.clone()),
            offset: list.selected.saturating_sub(list.top),
        };
        self.user = None;
        vec![self.load_counting(seek, then)]
    }

    /// The user the list should keep selected: the one selected, or the one a refresh still
    /// waits for.
    fn wanted_user(&self) -> Option<ListKey> {
        self.list.search.reselect.clone().or_else(|| self.list.selected_entry().map(|e| e.key.clone()))
    }

    /// The valid text of the editor and the value under its cursor, or why not (on the
    /// status line).
    fn value_under_cursor(&mut self, what: &str) -> Option<(String, seal::ValueSpan)> {
        let editor = self.editor.as_mut()?;
        if !editor.is_checked() {
            editor.revalidate(&self.limits);
        }
        if editor.validation.is_err() {
            self.say(
                StatusKind::Error,
                format!("the text is not valid yet: fix it before {what} (Ctrl-G shows where)"),
            );
            return None;
        }
        let text = editor.text();
        let cursor = editor.textarea.cursor();
        let offset = byte_offset(&text, cursor.0, cursor.1);
        match seal::value_under(&text, offset) {
            Some(span) => Some((text, span)),
            None => {
                self.say(StatusKind::Error, format!("put the cursor on a value (or its key) before {what}"));
                None
            }
        }
    }

    fn no_key_file(&mut self) {
        self.say(
            StatusKind::Error,
            "no key file: start custodian with --key-file FILE or $CUSTODIAN_KEY_FILE (make one with `custodian keygen --out FILE`)",
        );
    }

    /// Replaces the value under the cursor with its sealed form (a JWE string), as one edit
    /// the editor can undo.
    fn seal_value(&mut self) -> Vec<Effect> {
        if self.editor.is_none() {
            return Vec::new();
        }
        let Some(keys) = self.keys.clone() else {
            self.no_key_file();
            return Vec::new();
        };
        let Some((text, span)) = self.value_under_cursor("sealing") else { return Vec::new() };
        let Ok(value) = crate::domain::custom_data::parse_value(&text[span.start..span.end]) else {
            return Vec::new();
        };
        if value.as_str().is_some_and(seal::is_sealed) {
            self.say(StatusKind::Info, format!("{} is already sealed", inert::line(&span.path)));
            return Vec::new();
        }
        let iv = match seal::fresh_iv() {
            Ok(iv) => iv,
            Err(e) => {
                self.say(StatusKind::Error, format!("cannot seal: no random bytes from the system ({e})"));
                return Vec::new();
            }
        };
        let key = keys.sealing_key();
        let sealed = format!("\"{}\"", seal::seal(&value, key, iv));
        let Some(editor) = self.editor.as_mut() else { return Vec::new() };
        let (start_row, start_col) = row_col(&text, span.start);
        let (end_row, end_col) = row_col(&text, span.end);
        let clamp = |n: usize| n.min(u16::MAX as usize) as u16;
        editor.textarea.cancel_selection();
        editor.textarea.move_cursor(CursorMove::Jump(clamp(start_row), clamp(start_col)));
        editor.textarea.start_selection();
        editor.textarea.move_cursor(CursorMove::Jump(clamp(end_row), clamp(end_col)));
        editor.textarea.insert_str(&sealed);
        let size = human_bytes(span.end - span.start);
        let message = format!(
            "sealed {} ({size}) with key {}; Ctrl-S saves, Ctrl-U twice undoes",
            inert::line(&span.path),
            inert::line(key.kid())
        );
        let effect = editor.changed(&self.limits);
        self.say(StatusKind::Success, message);
        vec![effect]
    }

    /// Opens the sealed value under the cursor into the plaintext overlay.
    fn open_sealed(&mut self) {
        if self.editor.is_none() {
            return;
        }
        let Some(keys) = self.keys.clone() else {
            self.no_key_file();
            return;
        };
        let Some((text, span)) = self.value_under_cursor("opening") else { return };
        let token = match crate::domain::custom_data::parse_value(&text[span.start..span.end]) {
            Ok(Value::String(token)) if seal::is_sealed(&token) => token,
            _ => {
                self.say(StatusKind::Info, format!("{} is not sealed", inert::line(&span.path)));
                return;
            }
        };
        match seal::open(&token, &keys) {
            Ok(value) => {
                let kid = seal::summary(&token).and_then(|s| s.kid);
                // Serialising a Value cannot fail.
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                self.plaintext = Some(Plaintext { path: span.path, kid, text });
            }
            Err(error) => {
                let error = seal::CannotOpen { path: span.path, error };
                self.say(StatusKind::Error, inert::line(&error.to_string()).into_owned());
            }
        }
    }

    fn jump_to_error(&mut self) {
        let Some(editor) = &mut self.editor else { return };
        if !editor.is_checked() {
            editor.revalidate(&self.limits);
        }
        if editor.validation.is_ok() && !editor.schema_errors.is_empty() {
            // Each press goes to the next schema error, round again after the last.
            let count = editor.schema_errors.len();
            let index = editor.schema_walk % count;
            editor.schema_walk = index + 1;
            let error = &editor.schema_errors[index];
            let row = (error.line.saturating_sub(1)).min(u16::MAX as usize) as u16;
            let col = (error.column.saturating_sub(1)).min(u16::MAX as usize) as u16;
            editor.textarea.move_cursor(CursorMove::Jump(row, col));
            let message = format!("schema error {} of {count}: {}", index + 1, error.short());
            self.say(StatusKind::Error, message);
            if let Some(status) = &mut self.status {
                status.while_invalid = true;
            }
            return;
        }
        match editor.validation.as_ref().err().and_then(ValidationError::position) {
            Some((line, column)) => {
                let row = (line.saturating_sub(1)).min(u16::MAX as usize) as u16;
                let col = (column.saturating_sub(1)).min(u16::MAX as usize) as u16;
                editor.textarea.move_cursor(CursorMove::Jump(row, col));
            }
            None => {
                let text = if editor.validation.is_ok() {
                    "no error to jump to"
                } else {
                    "this error has no position"
                };
                self.say(StatusKind::Info, text);
            }
        }
    }

    fn leave_editor(&mut self) -> Vec<Effect> {
        match &self.editor {
            Some(editor) if editor.is_modified() => self.dialog = Some(Dialog::ConfirmDiscard),
            Some(_) => {
                self.editor = None;
                self.status = None;
                return self.refresh();
            }
            None => {}
        }
        Vec::new()
    }

    /// `y`: the selected user's customData, as stored (canonical), onto the clipboard.
    fn copy(&mut self, document: &StoredDocument) -> Vec<Effect> {
        let size = document.text.len();
        if size > CLIPBOARD_LIMIT {
            self.say(
                StatusKind::Error,
                format!(
                    "not copied: customData is {}, more than the {} a terminal clipboard takes; use `custodian get USER` instead",
                    human_bytes(size),
                    human_bytes(CLIPBOARD_LIMIT)
                ),
            );
            return Vec::new();
        }
        let text = document.text.clone();
        self.say(
            StatusKind::Success,
            format!("sent {} to the terminal's clipboard (OSC 52)", human_bytes(size)),
        );
        vec![Effect::CopyToClipboard { text }]
    }

    /// The external editor was closed: its text goes the way of Ctrl-S — unchanged is "no
    /// changes", invalid opens custodian's editor on it with the error, valid is saved (asking
    /// first when keys are removed).
    fn edited_externally(
        &mut self,
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        result: Result<String, String>,
    ) -> Vec<Effect> {
        let text = match result {
            Ok(text) => text,
            Err(message) => {
                self.say(StatusKind::Error, message);
                return Vec::new();
            }
        };
        let sent = inert::editor_text(&base.text).into_owned();
        if text.trim_end() == sent.trim_end() {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        let editor =
            Editor::with_text(user_id, user_handle, base, text.trim_end(), &self.limits, self.shape.clone());
        if let Err(error) = &editor.validation {
            let message = format!("not saved: {error} (fix it here; Ctrl-S saves)");
            self.editor = Some(editor);
            self.jump_to_error();
            self.say(StatusKind::Error, message);
            return Vec::new();
        }
        if let Some(summary) = schema_summary(&editor.schema_errors) {
            let message = format!("not saved: {summary} (fix it here; Ctrl-S saves)");
            self.editor = Some(editor);
            self.jump_to_error();
            self.say(StatusKind::Error, message);
            return Vec::new();
        }
        if editor.validation.as_ref().is_ok_and(|data| data.canonical() == editor.base.text) {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        self.editor = Some(editor);
        self.save()
    }

    fn command_complete(&mut self) {
        let Some(line) = &mut self.command else { return };
        if line.input.contains(' ') {
            return;
        }
        let typed = line.input.as_str();
        let mut candidates: Vec<&str> =
            COMMANDS.iter().map(|c| c.name).filter(|name| name.starts_with(typed)).collect();
        if candidates.is_empty() {
            candidates = COMMANDS
                .iter()
                .flat_map(|c| c.aliases.iter().copied())
                .filter(|a| a.starts_with(typed))
                .collect();
        }
        match candidates.as_slice() {
            [] => line.note = Some("no such command".to_owned()),
            [one] => {
                line.input = format!("{one} ");
                line.note = None;
            }
            many => {
                let mut common = many[0].to_owned();
                for name in &many[1..] {
                    while !name.starts_with(common.as_str()) {
                        common.pop();
                    }
                }
                line.input = common;
                line.note = Some(many.join(" · "));
            }
        }
    }

    fn run_command(&mut self) -> Vec<Effect> {
        let Some(line) = self.command.take() else { return Vec::new() };
        let input = line.input.trim();
        let (typed, argument) = match input.split_once(char::is_whitespace) {
            Some((name, rest)) => (name, rest.trim()),
            None => (input, ""),
        };
        // Aliases run their command: the table, not this match, knows the spellings.
        let name = CommandSpec::named(typed).map_or(typed, |command| command.name);
        match (name, argument) {
            ("", _) => Vec::new(),
            ("user", "") => {
                self.say(StatusKind::Error, ":user needs an id, a username, an email or a phone");
                Vec::new()
            }
            ("user", query) => vec![Effect::FindUser { query: query.to_owned() }],
            ("history", _) => self.open_history(),
            ("patch", "") => {
                self.say(StatusKind::Error, ":patch needs a file: a JSON Patch (RFC 6902)");
                Vec::new()
            }
            ("patch", argument) => self.open_patch(argument),
            ("messages", _) => {
                self.messages_open = true;
                Vec::new()
            }
            ("q", _) => {
                self.quit();
                Vec::new()
            }
            ("export", "") => {
                self.say(StatusKind::Error, ":export needs a file name");
                Vec::new()
            }
            ("export", argument) => {
                let home = std::env::var("HOME").ok();
                match words::split(argument, home.as_deref()).as_deref() {
                    Ok([file]) if !file.is_empty() => {
                        self.say(StatusKind::Info, "exporting…");
                        vec![Effect::Export { path: std::path::PathBuf::from(file) }]
                    }
                    Ok(_) => {
                        self.say(
                            StatusKind::Error,
                            ":export takes one file name (quote it if it has spaces)",
                        );
                        Vec::new()
                    }
                    Err(why) => {
                        self.say(StatusKind::Error, format!(":export: {why}"));
                        Vec::new()
                    }
                }
            }
            (other, _) => {
                let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
                self.say(
                    StatusKind::Error,
                    format!("unknown command :{} (commands: {})", inert::line(other), names.join(", ")),
                );
                Vec::new()
            }
        }
    }

    /// `:user` found someone: the list (unfiltered) is read from that user on.
    fn user_found(&mut self, entry: ListEntry) -> Vec<Effect> {
        self.say(StatusKind::Info, format!("user {}", inert::line(entry.user.handle())));
        self.select_user(entry)
    }

    fn quit(&mut self) {
        if self.editor.as_ref().is_some_and(Editor::is_modified) {
            // On the too-small screen a question already open is invisible: it is put aside
            // for the quit question and comes back if the answer is no.
            if let Some(open) = self.dialog.take().filter(|d| *d != Dialog::ConfirmQuit) {
                self.set_aside = Some(open);
            }
            self.dialog = Some(Dialog::ConfirmQuit);
        } else {
            self.quit = true;
        }
    }

    fn confirm(&mut self) -> Vec<Effect> {
        match self.dialog.take() {
            Some(Dialog::ConfirmDrop { data, expected, .. }) => self.save_effect(data, expected),
            Some(Dialog::ConfirmPatch { .. }) => self.apply_patch(),
            Some(Dialog::ConfirmDiscard) => {
                let editor = self.editor.take();
                self.say(StatusKind::Info, "changes discarded");
                let mut effects: Vec<Effect> =
                    editor.as_ref().map(Editor::discard_draft).into_iter().collect();
                effects.extend(self.refresh());
                effects
            }
            Some(Dialog::ConfirmQuit) => {
                // Quitting without saving was chosen: nothing is kept as a draft.
                self.set_aside = None;
                let editor = self.editor.take();
                self.quit = true;
                editor.as_ref().map(Editor::discard_draft).into_iter().collect()
            }
            Some(Dialog::ConfirmDiscardDraft(found)) => {
                self.dialog = Some(*found);
                self.discard_draft()
            }
            Some(dialog @ (Dialog::Conflict { .. } | Dialog::DraftFound { .. })) => {
                self.dialog = Some(dialog);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn filter_changed(&mut self) -> Vec<Effect> {
        let list = &mut self.list;
        list.search.generation += 1;
        let generation = list.search.generation;
        let Some(query) = list.active_filter() else {
            list.search.scanning = false;
            // The selected user stays selected (and on screen) when the filter goes.
            let keep = self.wanted_user();
            self.list.search.reselect = None;
            let load = match keep {
                Some(key) => self.load(Seek::From(key), 0, Then::Edge),
                None => self.load(Seek::First, 0, Then::Edge),
            };
            return vec![Effect::StopScan, load];
        };
        // Every match is held (up to MAX_MATCHES), so the list's edges are known.
        list.rows.clear();
        list.selected = 0;
        list.top = 0;
        list.at_start = true;
        list.at_end = true;
        list.search = Search { generation, scanning: true, scanned: 0, capped: false, reselect: None };
        self.user = None;
        self.document = None;
        // A screenful at once from the indexes; the scan brings the rest (every prefix
        // match is also a substring match), so the keystroke itself stays cheap.
        let limit = list.height.max(10);
        vec![
            Effect::PrefixSearch { generation, query: query.clone(), limit },
            Effect::Scan { generation, query },
        ]
    }

    /// Merges matches into the (sorted) rows, keeping the selected user selected.
    fn search_hits(
        &mut self,
        generation: u64,
        hits: Vec<ListEntry>,
        scanned: u64,
        done: bool,
    ) -> Vec<Effect> {
        let list = &mut self.list;
        if generation != list.search.generation || list.active_filter().is_none() {
            return Vec::new();
        }
        let selected = list.search.reselect.clone().or_else(|| list.selected_entry().map(|e| e.key.clone()));
        if !hits.is_empty() {
            list.rows = merge_sorted(std::mem::take(&mut list.rows), hits);
        }
        // The scan walks the list order and ends by itself one past MAX_MATCHES of its own
        // hits, so the rows up to where it got are every match there. Prefix hits beyond
        // that point may be cut here, but never a match before it: the scan goes on and
        // what it finds sorts before them, so the rows end as the first MAX_MATCHES matches.
        if list.rows.len() > MAX_MATCHES {
            list.rows.truncate(MAX_MATCHES);
            list.search.capped = true;
        }
        list.search.scanned += scanned;
        if done {
            list.search.scanning = false;
        }
        if let Some(key) = selected
            && let Some(at) = list.rows.iter().position(|e| e.key == key)
        {
            list.selected = at;
            list.search.reselect = None;
        }
        if !list.search.scanning {
            list.search.reselect = None;
        }
        list.selected = list.selected.min(list.rows.len().saturating_sub(1));
        list.keep_selection_visible();
        self.load_selected_user()
    }
}

/// The rows (sorted by key) with the hits merged in, in one pass: inserting them one by one
/// would shift thousands of rows per hit. A hit already in the
/// rows (the prefix search and the scan both find it) is kept once.
/// The byte offset of character `col` of line `row` of `text`.
fn byte_offset(text: &str, row: usize, col: usize) -> usize {
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        if index == row {
            return offset + line.char_indices().nth(col).map_or(line.len(), |(at, _)| at);
        }
        offset += line.len() + 1;
    }
    text.len()
}

/// The line and character column of byte `offset` of `text`.
fn row_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let row = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (row, before[line_start..].chars().count())
}

fn merge_sorted(rows: Vec<ListEntry>, mut hits: Vec<ListEntry>) -> Vec<ListEntry> {
    hits.sort_by(|a, b| a.key.cmp(&b.key));
    hits.dedup_by(|a, b| a.key == b.key);
    let mut merged = Vec::with_capacity(rows.len() + hits.len());
    let (mut rows, mut hits) = (rows.into_iter().peekable(), hits.into_iter().peekable());
    loop {
        let next = match (rows.peek(), hits.peek()) {
            (Some(row), Some(hit)) => match row.key.cmp(&hit.key) {
                std::cmp::Ordering::Less => rows.next(),
                std::cmp::Ordering::Greater => hits.next(),
                std::cmp::Ordering::Equal => {
                    hits.next();
                    rows.next()
                }
            },
            (Some(_), None) => rows.next(),
            (None, _) => hits.next(),
        };
        let Some(entry) = next else { return merged };
        merged.push(entry);
    }
}

/// Applies one action to the state and returns the store work it calls for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let effects = update_state(state, action);
    // Found drafts left waiting while one of them was open come back once it is closed.
    state.offer_pending_drafts();
    state.expire_status();
    effects
}

fn update_state(state: &mut State, action: Action) -> Vec<Effect> {
    use Action::*;
    let page = state.list.height.max(1) as isize;
    if state.pending == Some(Pending::Saving) && touches_the_edit_being_saved(&action) {
        state.say(StatusKind::Info, "saving… wait for the answer");
        return Vec::new();
    }
    match action {
        StoreBusy(pending) => {
            state.pending = pending;
            Vec::new()
        }
        Up => state.move_selection(-1),
        Down => state.move_selection(1),
        PageUp => state.move_selection(-page),
        PageDown => state.move_selection(page),
        Home | End if state.list.active_filter().is_some() => {
            let last = state.list.rows.len().saturating_sub(1);
            state.select_index(if matches!(action, Home) { 0 } else { last })
        }
        SelectRow(visible) => {
            let index = state.list.top + visible;
            if index < state.list.rows.len().min(state.list.top + state.list.height) {
                state.filtering = false;
                state.select_index(index)
            } else {
                Vec::new()
            }
        }
        Home => vec![state.load(Seek::First, 0, Then::Edge)],
        End => vec![state.load(Seek::Last, 0, Then::Edge)],
        Refresh if state.connection_lost.is_some() => state.reconnect(),
        Refresh => {
            // Only the operator's `r` is answered with what it found; the refresh after a
            // save leaves the save's own message.
            if state.list.active_filter().is_none() {
                state.refreshing = Some(RefreshedFrom {
                    total: state.list.total,
                    selected: state.list.selected_entry().map(|e| (e.user.id.clone(), e.revision)),
                });
            }
            // The list as it is now at once, and again if the sync finds writes from outside.
            let mut effects = state.refresh();
            effects.push(Effect::SyncKeys);
            effects
        }
        Reconnect => state.reconnect(),
        Reconnected => state.reconnected(),
        ConnectionLost { message } => {
            state.connection_lost(message);
            Vec::new()
        }
        SaveOutcomeUnknown { id, data, revision, message } => {
            state.save_outcome_unknown(id, data, revision, message);
            Vec::new()
        }
        SaveResolved { id, revision, landed } => state.save_resolved(id, revision, landed),
        Suspend => vec![Effect::Suspend],
        Copy => state.read_current(Purpose::Copy),
        EditExternally => state.read_current(Purpose::EditExternally),
        StartCommand => {
            state.command = Some(CommandLine::default());
            Vec::new()
        }
        CommandChar(c) => {
            if let Some(line) = &mut state.command {
                line.input.push(c);
                line.note = None;
            }
            Vec::new()
        }
        CommandBackspace => {
            match &mut state.command {
                // Backspace on an empty line leaves it, as in vim.
                Some(line) if line.input.is_empty() => state.command = None,
                Some(line) => {
                    line.input.pop();
                    line.note = None;
                }
                None => {}
            }
            Vec::new()
        }
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
        ClosePatch => {
            state.close_patch();
            Vec::new()
        }
        CancelCommand => {
            state.command = None;
            Vec::new()
        }
        Resumed => Vec::new(),
        UserFound { entry } => state.user_found(*entry),
        UserToSelect { entry } => {
            // Only while that user is still the one being edited.
            if state.editor.as_ref().is_some_and(|e| e.user_id == entry.user.id) {
                state.select_user(*entry)
            } else {
                Vec::new()
            }
        }
        CurrentRead { purpose, record, document } => state.current_read(purpose, *record, document),
        SuspendRefused { reason } => {
            state.say(StatusKind::Error, reason);
            Vec::new()
        }
        Exported { path, count } => {
            state.say(StatusKind::Success, format!("exported {count} users to {}", inert::line(&path)));
            Vec::new()
        }
        EditedExternally { user_id, user_handle, base, result } => {
            state.edited_externally(user_id, user_handle, base, result)
        }
        StartFilter => {
            state.filtering = true;
            Vec::new()
        }
        FilterChar(c) => {
            state.list.filter.push(c);
            state.filter_changed()
        }
        FilterBackspace => {
            state.list.filter.pop();
            state.filter_changed()
        }
        FilterErase => {
            if state.list.filter.is_empty() {
                return Vec::new();
            }
            state.list.filter.clear();
            state.filter_changed()
        }
        FilterAccept => {
            state.filtering = false;
            Vec::new()
        }
        ClearFilter => {
            state.filtering = false;
            if state.list.filter.is_empty() {
                return Vec::new();
            }
            state.list.filter.clear();
            state.filter_changed()
        }
        OpenEditor => state.read_current(Purpose::Edit),
        Edit(input) => {
            if let Some(editor) = &mut state.editor
                && editor.input(input)
            {
                return vec![editor.changed(&state.limits)];
            }
            Vec::new()
        }
        Checked { generation, result, schema_errors } => {
            if let Some(editor) = &mut state.editor
                && editor.generation == generation
            {
                editor.validation = result;
                editor.schema_errors = schema_errors;
                editor.schema_walk = 0;
                editor.checked = generation;
            }
            Vec::new()
        }
        Paste(text) => {
            if let Some(editor) = &mut state.editor {
                // Pasted controls, bidi and other invisible characters arrive as JSON escapes.
                editor.textarea.insert_str(inert::editor_text(&text));
                return vec![editor.changed(&state.limits)];
            }
            Vec::new()
        }
        Save => state.save(),
        JumpToError => {
            state.jump_to_error();
            Vec::new()
        }
        StartFind => {
            if let Some(editor) = &mut state.editor {
                let cursor = editor.textarea.cursor();
                let origin = (cursor.0, cursor.1);
                // The last text looked for is offered again, as in less.
                let query = editor.find.take().map(|f| f.query).unwrap_or_default();
                editor.find = Some(FindLine { query, typing: true, origin, found: true });
                editor.find_from_origin();
            }
            Vec::new()
        }
        FindChar(c) => {
            if let Some(editor) = &mut state.editor
                && let Some(find) = &mut editor.find
            {
                find.query.push(c);
                editor.find_from_origin();
            }
            Vec::new()
        }
        FindBackspace => {
            if let Some(editor) = &mut state.editor
                && let Some(find) = &mut editor.find
            {
                find.query.pop();
                editor.find_from_origin();
            }
            Vec::new()
        }
        FindAccept => {
            if let Some(find) = state.editor.as_mut().and_then(|e| e.find.as_mut()) {
                find.typing = false;
                if !find.found {
                    let query = inert::line(&find.query).into_owned();
                    state.say(StatusKind::Info, format!("not found: {query}"));
                }
            }
            Vec::new()
        }
        FindCancel => {
            if let Some(editor) = &mut state.editor
                && let Some(find) = editor.find.take()
            {
                editor.textarea.cancel_selection();
                let (row, col) = find.origin;
                editor.textarea.move_cursor(CursorMove::Jump(row as u16, col as u16));
            }
            Vec::new()
        }
        FindAgain { forward } => {
            let found = state.editor.as_mut().map(|editor| editor.find_again(forward));
            match found {
                Some(Some(false)) => {
                    let query = state
                        .editor
                        .as_ref()
                        .and_then(|e| e.find.as_ref())
                        .map(|f| inert::line(&f.query).into_owned());
                    state.say(StatusKind::Info, format!("not found: {}", query.unwrap_or_default()));
                }
                Some(None) => state.say(StatusKind::Info, "nothing to find yet: Ctrl-F"),
                _ => {}
            }
            Vec::new()
        }
        LeaveEditor => state.leave_editor(),
        ReloadTheirs => state.reload_theirs(),
        OverwriteTheirs => state.overwrite_theirs(),
        OpenDraft => state.open_draft(),
        AskDiscardDraft => {
            if let Some(found @ Dialog::DraftFound { .. }) = state.dialog.take() {
                state.dialog = Some(Dialog::ConfirmDiscardDraft(Box::new(found)));
            }
            Vec::new()
        }
        DiscardDraft => state.discard_draft(),
        SelectDraft(delta) => {
            state.select_draft(delta);
            Vec::new()
        }
        OpenHistory => state.open_history(),
        HistoryUp | HistoryDown => {
            if let Some(history) = &mut state.history {
                let last = history.entries.len().saturating_sub(1);
                history.selected = match action {
                    HistoryUp => history.selected.saturating_sub(1),
                    _ => (history.selected + 1).min(last),
                };
            }
            state.history.as_ref().map(HistoryView::load_selected).unwrap_or_default()
        }
        HistoryPage(direction) => {
            let page = state.history_page();
            if let Some(history) = &mut state.history {
                let last = history.entries.len().saturating_sub(1);
                history.selected = if direction < 0 {
                    history.selected.saturating_sub(page)
                } else {
                    history.selected.saturating_add(page).min(last)
                };
            }
            state.history.as_ref().map(HistoryView::load_selected).unwrap_or_default()
        }
        HistoryEdge(newest) => {
            if let Some(history) = &mut state.history {
                history.selected = if newest { history.entries.len().saturating_sub(1) } else { 0 };
            }
            state.history.as_ref().map(HistoryView::load_selected).unwrap_or_default()
        }
        RestoreRevision => state.restore_revision(),
        Confirm => state.confirm(),
        Cancel => {
            match state.dialog.take() {
                // Drafts put off for later stay on disk; the next start offers them again.
                Some(Dialog::DraftFound { .. }) => state.pending_drafts.clear(),
                // No to the quit question: the question it put aside is asked again.
                Some(Dialog::ConfirmQuit) => state.dialog = state.set_aside.take(),
                // The draft is kept: back to the question about it.
                Some(Dialog::ConfirmDiscardDraft(found)) => state.dialog = Some(*found),
                // Any other question: no, go back (from a conflict: back to editing).
                Some(_) => {}
                None if state.help => state.help = false,
                None if state.messages_open => state.messages_open = false,
                None => state.history = None,
            }
            Vec::new()
        }
        FocusTree => state.focus_tree(),
        LeaveTree => {
            state.tree = None;
            Vec::new()
        }
        TreeMove(_) | TreePage(_) | TreeEdge(_) | TreeToggle | TreeCollapse | TreeExpand | TreeFoldAll(_) => {
            let rows = super::layout::document_rows(state.width, state.height);
            if let Some(tree) = &mut state.tree {
                match action {
                    TreeMove(delta) => tree.move_by(delta),
                    TreePage(direction) => {
                        tree.move_by(direction as isize * rows.saturating_sub(1).max(1) as isize)
                    }
                    TreeEdge(last) => tree.move_to_end(last),
                    TreeToggle => tree.toggle(),
                    TreeCollapse => tree.collapse(),
                    TreeExpand => tree.expand(),
                    TreeFoldAll(folded) => tree.fold_all(folded),
                    _ => {}
                }
                tree.scroll_to_cursor(rows);
            }
            Vec::new()
        }
        TreeFindFilter { forward } => {
            let needle = state.list.filter.trim().to_lowercase();
            if needle.is_empty() {
                state.say(
                    StatusKind::Info,
                    "no filter to find: / filters the list, then n finds its text here",
                );
                return Vec::new();
            }
            let rows = super::layout::document_rows(state.width, state.height);
            let found = state.tree.as_mut().is_some_and(|tree| {
                let found = tree.find(&needle, forward);
                tree.scroll_to_cursor(rows);
                found
            });
            if !found {
                state.say(StatusKind::Info, format!("{} is not in this document", inert::line(&needle)));
            }
            Vec::new()
        }
        SealValue => state.seal_value(),
        OpenSealed => {
            state.open_sealed();
            Vec::new()
        }
        ClosePlaintext => {
            state.plaintext = None;
            Vec::new()
        }
        ToggleHelp => {
            state.help = !state.help;
            state.help_scroll = 0;
            Vec::new()
        }
        ScrollHelp(lines) => {
            state.help_scroll =
                state.help_scroll.saturating_add_signed(lines).min(help_max_scroll(state.height));
            Vec::new()
        }
        HelpPage(direction) => {
            // A page is what the help shows at once, less a line kept for context (as less).
            let page = state.height.saturating_sub(4).max(1) as i16;
            let lines = if direction < 0 { -page } else { page };
            state.help_scroll =
                state.help_scroll.saturating_add_signed(lines).min(help_max_scroll(state.height));
            Vec::new()
        }
        Quit => {
            state.quit();
            Vec::new()
        }
        Resize { width, height } => {
            state.width = width;
            state.height = height;
            state.list.height = super::layout::list_height(width, height);
            state.list.keep_selection_visible();
            // A taller screen may need more rows than are loaded.
            let list = &state.list;
            if list.rows.len() < list.top + list.height
                && !list.at_end
                && let Some(last) = list.rows.last()
            {
                return vec![state.load(Seek::After(last.key.clone()), list.height, Then::Move(0))];
            }
            Vec::new()
        }
        RowsLoaded { request, rows, total } => state.rows_loaded(request, rows, total),
        UserLoaded { record, document } => {
            // Only the answer for the user still selected is shown.
            if state.list.selected_entry().is_some_and(|e| e.user.id == record.user.id) {
                if let Some(entry) = state.list.rows.get_mut(state.list.selected) {
                    entry.revision = record.revision;
                    *entry.user = record.user.clone();
                }
                state.user = Some(*record);
                state.document = Some(document);
            }
            Vec::new()
        }
        Saved { id, outcome } => state.saved(id, outcome),
        SaveConflict { id, theirs } => state.conflict(id, theirs),
        DraftsFound { drafts, not_offered } => state.drafts_found(drafts, not_offered),
        DraftReady { record, base, draft, doubt } => {
            let id = record.user.id.clone();
            let mut effects = state.draft_ready(*record, base, draft, doubt);
            // Every pane shows the user being edited: the list selects the draft's user, so
            // the profile beside the editor is that user's, as `:user` would.
            if state.editor.as_ref().is_some_and(|e| e.user_id == id)
                && state.list.selected_entry().is_none_or(|e| e.user.id != id)
            {
                effects.push(Effect::SelectUser { id });
            }
            effects
        }
        DraftNotOpened { message } => {
            state.opening_draft = false;
            state.say(StatusKind::Error, message);
            Vec::new()
        }
        Autosaved(Ok(_)) => {
            if state.draft_failure.take().is_some() {
                state.say(StatusKind::Success, "your edit is kept in a draft again");
            }
            Vec::new()
        }
        Autosaved(Err(message)) => {
            if state.draft_failure.is_none() {
                state.say(StatusKind::Error, format!("your edit cannot be kept as a draft: {message}"));
            }
            state.draft_failure = Some(message);
            Vec::new()
        }
        RecoveryKept { path, theirs } => state.recovery_kept(path, theirs),
        RecoveryFailed { message } => {
            state.say(
                StatusKind::Error,
                format!("theirs not loaded: your edit could not be kept in a recovery file ({message}); it is still here"),
            );
            Vec::new()
        }
        HistoryLoaded { id, revisions, current_text } => state.history_loaded(id, revisions, current_text),
        RevisionLoaded { id, revision, text } => state.revision_loaded(id, revision, text),
        SearchHits { generation, hits, scanned, done } => state.search_hits(generation, hits, scanned, done),
        StoreFailed { message } => {
            state.say(StatusKind::Error, message);
            Vec::new()
        }
        // An open editor keeps its screen; the save's own refresh shows the new list.
        KeysChanged if state.editor.is_some() => Vec::new(),
        KeysChanged => state.refresh(),
    }
}

/// How `text` breaks the schema, when it is valid JSON and there is a schema.
pub fn schema_errors(
    shape: Option<&Shape>,
    text: &str,
    validation: &Result<CustomData, ValidationError>,
) -> Vec<Violation> {
    match (shape, validation) {
        (Some(shape), Ok(data)) => {
            shape.violations(text, &serde_json::Value::Object(data.as_object().clone()))
        }
        _ => Vec::new(),
    }
}

/// `2 schema errors: billing.plan: …` for the status line; `None` without errors.
pub fn schema_summary(errors: &[Violation]) -> Option<String> {
    let first = errors.first()?;
    let count = if errors.len() == 1 {
        "1 schema error".to_owned()
    } else {
        format!("{} schema errors", errors.len())
    };
    Some(format!("{count}: {}", first.short()))
}
