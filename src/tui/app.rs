//! Every decision the screen makes: the state, the actions that change it, and `update`,
//! which turns (state, action) into a new state and the store work to do next (effects).
//! Nothing here touches the terminal or the store, so it is tested without either.

use ratatui::style::{Modifier, Style};
use ratatui_textarea::{CursorMove, Input, TextArea};
use serde_json::{Map, Value};

use crate::domain::diff::{DiffLine, added_keys, dropped_keys, line_diff};
use crate::domain::secrets::find_secrets;
use crate::domain::{CustomData, Limits, ValidationError, human_bytes};
use crate::draft::Draft;
use crate::inert;
use crate::store::{
    ListEntry, ListKey, Revision, RevisionInfo, SaveOutcome, Seek, StoredDocument, UserRecord,
};

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
    FilterAccept,
    ClearFilter,
    // Editing
    OpenEditor,
    Edit(Input),
    Paste(String),
    Save,
    JumpToError,
    LeaveEditor,
    // Conflicts, drafts, history
    ReloadTheirs,
    OverwriteTheirs,
    OpenDraft,
    DiscardDraft,
    OpenHistory,
    HistoryUp,
    HistoryDown,
    RestoreRevision,
    // Dialogs and the rest
    Confirm,
    Cancel,
    ToggleHelp,
    /// Scroll the help by this many lines.
    ScrollHelp(i16),
    Quit,
    Resize {
        width: u16,
        height: u16,
    },
    // The store's answers
    RowsLoaded {
        request: RowRequest,
        rows: Vec<ListEntry>,
        total: u64,
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
    DraftsFound(Vec<Draft>),
    DraftReady {
        record: Box<UserRecord>,
        base: StoredDocument,
        draft: Draft,
    },
    DraftWritten {
        path: String,
    },
    HistoryLoaded {
        id: String,
        revisions: Vec<(RevisionInfo, String)>,
    },
    StoreFailed {
        message: String,
    },
    /// The runtime took the terminal back (after a suspend): the screen is drawn again.
    Resumed,
    /// `:user` found this user.
    UserFound {
        entry: Box<ListEntry>,
    },
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

/// Store work `update` asks for; the runtime does it and answers with an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadRows(RowRequest),
    LoadUser {
        id: String,
    },
    Save {
        id: String,
        data: CustomData,
        expected: Revision,
    },
    /// Keep an unsaved edit on disk (a recovery file).
    SaveDraft {
        user_id: String,
        base_revision: Revision,
        text: String,
    },
    /// The edit was saved or thrown away on purpose: its draft is no longer needed.
    DiscardDraft {
        user_id: String,
    },
    /// Load what reopening a draft needs: the user, and the document the draft started from.
    LoadDraft(Draft),
    LoadHistory {
        id: String,
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
    /// Every user as JSON Lines into a new file (0600), as `custodian export --out`.
    Export {
        path: std::path::PathBuf,
    },
    /// Run `$VISUAL`/`$EDITOR`/`vi` on `text`, with the terminal given back meanwhile.
    EditExternally {
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: String,
    },
}

/// The most customData `y` puts on the clipboard: terminals limit what an OSC 52 request may
/// carry (xterm and tmux accept about 100 KB of base64 or more, some far less).
pub const CLIPBOARD_LIMIT: usize = 100 * 1024;

/// One command of the `:` command line.
pub struct CommandSpec {
    pub name: &'static str,
    /// How its arguments are written in the help.
    pub args: &'static str,
    pub description: &'static str,
}

/// The commands of the `:` command line (Tab completes their names; the help lists them).
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "user", args: "USER", description: "jump to a user: id, username, email or phone" },
    CommandSpec { name: "history", args: "", description: "the selected user's history" },
    CommandSpec {
        name: "export",
        args: "FILE",
        description: "every user as JSON Lines into a new file (0600)",
    },
    CommandSpec { name: "q", args: "", description: "quit" },
];

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
}

/// A read of list rows, and what to do with the selection once they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRequest {
    pub seek: Seek,
    pub limit: usize,
    pub then: Then,
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
    /// All users in the store.
    pub total: u64,
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
    pub validation: Result<CustomData, ValidationError>,
}

impl Editor {
    fn new(user_id: String, user_handle: String, base: StoredDocument, limits: &Limits) -> Self {
        // C1 controls and bidi characters are shown as \u escapes: the same JSON, made inert.
        let opened_text = inert::json(&base.text).into_owned();
        let mut textarea = TextArea::new(opened_text.lines().map(str::to_owned).collect());
        textarea.set_tab_length(2);
        textarea.set_max_histories(1000);
        // Reverse video shows a selection with or without colour.
        textarea.set_selection_style(Style::new().add_modifier(Modifier::REVERSED));
        let validation = CustomData::parse_with(&opened_text, limits);
        Self { user_id, user_handle, base, opened_text, textarea, validation }
    }

    /// An editor on `base` holding `text` instead (a draft, a conflict, an old revision):
    /// it counts as modified from the start.
    fn with_text(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: &str,
        limits: &Limits,
    ) -> Self {
        let mut editor = Self::new(user_id, user_handle, base, limits);
        editor.textarea = TextArea::new(text.lines().map(str::to_owned).collect());
        editor.textarea.set_tab_length(2);
        editor.textarea.set_max_histories(1000);
        editor.textarea.set_selection_style(Style::new().add_modifier(Modifier::REVERSED));
        editor.revalidate(limits);
        editor
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_modified(&self) -> bool {
        self.text() != self.opened_text
    }

    fn revalidate(&mut self, limits: &Limits) {
        self.validation = CustomData::parse_with(&self.text(), limits);
    }
}

/// A question the operator must answer before anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// The save removes top-level keys that exist now (or empties the document): the diff of
    /// stored against new, to confirm.
    ConfirmDrop { dropped: Vec<String>, data: CustomData, diff: Vec<DiffLine>, secrets: Vec<String> },
    /// Someone saved this user since the editor opened: theirs against mine.
    Conflict { theirs: StoredDocument, mine: CustomData, diff: Vec<DiffLine> },
    /// An unsaved edit from an earlier session was found.
    DraftFound { draft: Draft, more: usize },
    /// Leaving the editor would throw away changes.
    ConfirmDiscard,
    /// Quitting would throw away changes.
    ConfirmQuit,
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
    /// The `:` command line.
    Command,
}

/// The history of one user, every revision with its text.
pub struct HistoryView {
    pub user_id: String,
    pub user_handle: String,
    /// Oldest first; the last is the current revision.
    pub entries: Vec<HistoryEntry>,
    pub selected: usize,
}

pub struct HistoryEntry {
    pub info: RevisionInfo,
    pub text: String,
    /// Top-level keys this revision added and removed, against the one before it.
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl HistoryView {
    fn new(user_id: String, user_handle: String, revisions: Vec<(RevisionInfo, String)>) -> Self {
        let mut previous = Map::new();
        let entries: Vec<HistoryEntry> = revisions
            .into_iter()
            .map(|(info, text)| {
                let object: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
                let entry = HistoryEntry {
                    info,
                    added: added_keys(&previous, &object),
                    removed: dropped_keys(&previous, &object),
                    text,
                };
                previous = object;
                entry
            })
            .collect();
        let selected = entries.len().saturating_sub(1);
        Self { user_id, user_handle, entries, selected }
    }

    pub fn current(&self) -> Option<&HistoryEntry> {
        self.entries.last()
    }

    /// What restoring the selected revision would change in the current document.
    pub fn selected_diff(&self) -> Vec<DiffLine> {
        match (self.current(), self.entries.get(self.selected)) {
            (Some(current), Some(selected)) => line_diff(&current.text, &selected.text),
            _ => Vec::new(),
        }
    }
}

/// Everything the screen shows.
pub struct State {
    pub list: UserList,
    /// The selected user, once loaded.
    pub user: Option<UserRecord>,
    pub document: Option<StoredDocument>,
    pub editor: Option<Editor>,
    pub history: Option<HistoryView>,
    pub dialog: Option<Dialog>,
    /// Drafts still to be offered after the one in the dialog.
    pub pending_drafts: Vec<Draft>,
    pub help: bool,
    pub help_scroll: u16,
    pub filtering: bool,
    pub command: Option<CommandLine>,
    pub status: Option<Status>,
    pub read_only: bool,
    pub limits: Limits,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
}

impl State {
    pub fn new(width: u16, height: u16, read_only: bool) -> Self {
        let mut state = Self {
            list: UserList::default(),
            user: None,
            document: None,
            editor: None,
            history: None,
            dialog: None,
            pending_drafts: Vec::new(),
            help: false,
            help_scroll: 0,
            filtering: false,
            command: None,
            status: None,
            read_only,
            limits: Limits::default(),
            width,
            height,
            quit: false,
        };
        state.list.height = super::view::list_height(width, height);
        state
    }

    pub fn mode(&self) -> Mode {
        if let Some(dialog) = &self.dialog {
            match dialog {
                Dialog::Conflict { .. } => Mode::Conflict,
                Dialog::DraftFound { .. } => Mode::DraftFound,
                _ => Mode::Dialog,
            }
        } else if self.help {
            Mode::Help
        } else if self.history.is_some() {
            Mode::History
        } else if self.editor.is_some() {
            Mode::Edit
        } else if self.command.is_some() {
            Mode::Command
        } else if self.filtering {
            Mode::Filter
        } else {
            Mode::Browse
        }
    }

    /// The first effect: the first screenful of users.
    pub fn start(&self) -> Vec<Effect> {
        vec![self.load(Seek::First, 0, Then::Edge)]
    }

    fn load(&self, seek: Seek, distance: usize, then: Then) -> Effect {
        Effect::LoadRows(RowRequest { seek, limit: self.list.load_size(distance), then })
    }

    fn say(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status { kind, text: text.into() });
    }

    /// The validation summary for the status line while editing.
    pub fn validation_summary(&self) -> Option<(bool, String)> {
        let editor = self.editor.as_ref()?;
        Some(match &editor.validation {
            Ok(data) => (
                true,
                format!(
                    "valid object · {} of {}",
                    human_bytes(data.size()),
                    human_bytes(self.limits.max_bytes)
                ),
            ),
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

    fn rows_loaded(&mut self, request: RowRequest, rows: Vec<ListEntry>, total: u64) -> Vec<Effect> {
        // While filtering, the rows are the matches: an answer for the whole list is stale.
        if self.list.active_filter().is_some() {
            return Vec::new();
        }
        self.list.total = total;
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
        self.load_selected_user()
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

    /// The selected user's id, handle and customData, when they may be edited; otherwise says
    /// why not.
    fn editable_selection(&mut self) -> Option<(String, String, StoredDocument)> {
        if self.refused_read_only() {
            return None;
        }
        match (&self.user, &self.document) {
            (Some(record), Some(document)) => {
                Some((record.user.id.clone(), record.user.handle().to_owned(), document.clone()))
            }
            _ => {
                self.say(StatusKind::Info, "no user selected");
                None
            }
        }
    }

    fn open_editor(&mut self) -> Vec<Effect> {
        let Some((user_id, handle, document)) = self.editable_selection() else { return Vec::new() };
        self.say(StatusKind::Info, format!("editing customData of {}", inert::line(&handle)));
        self.editor = Some(Editor::new(user_id, handle, document, &self.limits));
        Vec::new()
    }

    fn save(&mut self) -> Vec<Effect> {
        let Some(editor) = &self.editor else { return Vec::new() };
        let data = match &editor.validation {
            Ok(data) => data.clone(),
            Err(_) => {
                self.say(StatusKind::Error, "not saved: fix the error first (Ctrl-G jumps to it)");
                return Vec::new();
            }
        };
        if data.canonical() == editor.base.text {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        let old: Map<String, Value> = serde_json::from_str(&editor.base.text).unwrap_or_default();
        let dropped = dropped_keys(&old, data.as_object());
        // customData reaches front ends: what looks like a secret is pointed out first.
        let secrets: Vec<String> = find_secrets(data.as_object()).iter().map(ToString::to_string).collect();
        if !dropped.is_empty() || !secrets.is_empty() || (data.as_object().is_empty() && !old.is_empty()) {
            let diff = line_diff(&editor.base.text, data.canonical());
            self.dialog = Some(Dialog::ConfirmDrop { dropped, data, diff, secrets });
            return Vec::new();
        }
        self.save_effect(data)
    }

    fn conflict(&mut self, id: String, theirs: StoredDocument) -> Vec<Effect> {
        let Some(editor) = self.editor.as_ref().filter(|e| e.user_id == id) else { return Vec::new() };
        let Ok(mine) = editor.validation.clone() else { return Vec::new() };
        let diff = line_diff(&theirs.text, mine.canonical());
        let text = format!(
            "conflict: someone saved revision {} since you opened revision {}; nothing was written",
            theirs.revision, editor.base.revision
        );
        self.say(StatusKind::Error, text);
        self.dialog = Some(Dialog::Conflict { theirs, mine, diff });
        Vec::new()
    }

    /// Conflict, "reload theirs": my edit goes to a recovery file, the editor shows theirs.
    fn reload_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, .. }) = self.dialog.take() else { return Vec::new() };
        let Some(editor) = self.editor.take() else { return Vec::new() };
        let keep = Effect::SaveDraft {
            user_id: editor.user_id.clone(),
            base_revision: editor.base.revision,
            text: editor.text(),
        };
        self.editor = Some(Editor::new(editor.user_id, editor.user_handle, theirs, &self.limits));
        vec![keep]
    }

    /// Conflict, "overwrite anyway": save mine over theirs, on purpose (their version stays in
    /// the history).
    fn overwrite_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, mine, .. }) = self.dialog.take() else { return Vec::new() };
        let Some(editor) = &self.editor else { return Vec::new() };
        let effect = Effect::Save { id: editor.user_id.clone(), data: mine, expected: theirs.revision };
        self.say(StatusKind::Info, "overwriting…");
        vec![effect]
    }

    fn drafts_found(&mut self, mut drafts: Vec<Draft>) -> Vec<Effect> {
        if drafts.is_empty() {
            return Vec::new();
        }
        let draft = drafts.remove(0);
        self.dialog = Some(Dialog::DraftFound { draft, more: drafts.len() });
        self.pending_drafts = drafts;
        Vec::new()
    }

    fn next_draft(&mut self) {
        let pending = std::mem::take(&mut self.pending_drafts);
        self.drafts_found(pending);
    }

    fn open_draft(&mut self) -> Vec<Effect> {
        let Some(Dialog::DraftFound { draft, .. }) = self.dialog.take() else { return Vec::new() };
        if self.read_only {
            self.say(
                StatusKind::Error,
                "read-only: the draft is kept; open it without --read-only to save it",
            );
            self.next_draft();
            return Vec::new();
        }
        vec![Effect::LoadDraft(draft)]
    }

    fn discard_draft(&mut self) -> Vec<Effect> {
        let Some(Dialog::DraftFound { draft, .. }) = self.dialog.take() else { return Vec::new() };
        self.say(StatusKind::Info, "draft discarded");
        self.next_draft();
        vec![Effect::DiscardDraft { user_id: draft.user_id }]
    }

    fn draft_ready(&mut self, record: UserRecord, base: StoredDocument, draft: Draft) -> Vec<Effect> {
        let handle = record.user.handle().to_owned();
        let editor =
            Editor::with_text(record.user.id.clone(), handle.clone(), base, &draft.text, &self.limits);
        let note = if record.revision == draft.base_revision {
            format!("draft of {} reopened: Ctrl-S saves it", inert::line(&handle))
        } else {
            format!(
                "draft of {} reopened; it started from revision {}, the user is now at {}: saving will show the conflict",
                inert::line(&handle),
                draft.base_revision,
                record.revision
            )
        };
        self.say(StatusKind::Info, note);
        self.editor = Some(editor);
        self.next_draft();
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

    fn history_loaded(&mut self, id: String, revisions: Vec<(RevisionInfo, String)>) -> Vec<Effect> {
        let Some(record) = self.user.as_ref().filter(|r| r.user.id == id) else { return Vec::new() };
        self.history = Some(HistoryView::new(id, record.user.handle().to_owned(), revisions));
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
        let base = StoredDocument { text: current.text.clone(), revision: current.info.revision };
        let revision = selected.info.revision;
        let text = inert::json(&selected.text).into_owned();
        self.editor =
            Some(Editor::with_text(history.user_id, history.user_handle, base, &text, &self.limits));
        self.say(
            StatusKind::Info,
            format!("revision {revision} is in the editor: Ctrl-S saves it as a new revision"),
        );
        Vec::new()
    }

    fn save_effect(&mut self, data: CustomData) -> Vec<Effect> {
        let Some(editor) = &self.editor else { return Vec::new() };
        let effect = Effect::Save { id: editor.user_id.clone(), data, expected: editor.base.revision };
        self.say(StatusKind::Info, "saving…");
        vec![effect]
    }

    fn saved(&mut self, id: String, outcome: SaveOutcome) -> Vec<Effect> {
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
        let mut effects = vec![Effect::DiscardDraft { user_id: id }];
        effects.extend(self.refresh());
        effects
    }

    /// Reloads the window from its top row: others' saves and new users show up, and the
    /// same user stays selected.
    fn refresh(&mut self) -> Vec<Effect> {
        if self.list.active_filter().is_some() {
            return self.filter_changed();
        }
        let list = &self.list;
        let seek = list.rows.get(list.top).map_or(Seek::First, |e| Seek::From(e.key.clone()));
        let then = Then::Reselect {
            key: list.selected_entry().map(|e| e.key.clone()),
            offset: list.selected.saturating_sub(list.top),
        };
        self.user = None;
        vec![self.load(seek, 0, then)]
    }

    fn jump_to_error(&mut self) {
        let Some(editor) = &mut self.editor else { return };
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
    fn copy(&mut self) -> Vec<Effect> {
        let Some(document) = &self.document else {
            self.say(StatusKind::Info, "no user selected");
            return Vec::new();
        };
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
        self.say(StatusKind::Success, format!("copied {} to the clipboard (OSC 52)", human_bytes(size)));
        vec![Effect::CopyToClipboard { text }]
    }

    /// `E`: the selected user's customData in the operator's own editor.
    fn edit_externally(&mut self) -> Vec<Effect> {
        let Some((user_id, user_handle, base)) = self.editable_selection() else { return Vec::new() };
        let text = inert::json(&base.text).into_owned();
        vec![Effect::EditExternally { user_id, user_handle, base, text }]
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
        let sent = inert::json(&base.text).into_owned();
        if text.trim_end() == sent.trim_end() {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        let editor = Editor::with_text(user_id, user_handle, base, text.trim_end(), &self.limits);
        if let Err(error) = &editor.validation {
            let message = format!("not saved: {error} (fix it here; Ctrl-S saves)");
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
        let candidates: Vec<&str> =
            COMMANDS.iter().map(|c| c.name).filter(|name| name.starts_with(line.input.as_str())).collect();
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
        let (name, argument) = match input.split_once(char::is_whitespace) {
            Some((name, rest)) => (name, rest.trim()),
            None => (input, ""),
        };
        match (name, argument) {
            ("", _) => Vec::new(),
            ("user" | "u", "") => {
                self.say(StatusKind::Error, ":user needs an id, a username, an email or a phone");
                Vec::new()
            }
            ("user" | "u", query) => vec![Effect::FindUser { query: query.to_owned() }],
            ("history", _) => self.open_history(),
            ("q" | "quit", _) => {
                self.quit();
                Vec::new()
            }
            ("export", "") => {
                self.say(StatusKind::Error, ":export needs a file name");
                Vec::new()
            }
            ("export", file) => {
                let path = match file.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME").map_or_else(
                        || std::path::PathBuf::from(file),
                        |home| std::path::Path::new(&home).join(rest),
                    ),
                    None => std::path::PathBuf::from(file),
                };
                self.say(StatusKind::Info, "exporting…");
                vec![Effect::Export { path }]
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
        let mut effects = Vec::new();
        if !self.list.filter.is_empty() || self.filtering {
            self.filtering = false;
            self.list.filter.clear();
            self.list.search.generation += 1;
            self.list.search.scanning = false;
            effects.push(Effect::StopScan);
        }
        self.user = None;
        self.document = None;
        self.say(StatusKind::Info, format!("user {}", inert::line(entry.user.handle())));
        effects.push(self.load(Seek::From(entry.key), 0, Then::Edge));
        effects
    }

    fn quit(&mut self) {
        if self.editor.as_ref().is_some_and(Editor::is_modified) {
            self.dialog = Some(Dialog::ConfirmQuit);
        } else {
            self.quit = true;
        }
    }

    fn confirm(&mut self) -> Vec<Effect> {
        match self.dialog.take() {
            Some(Dialog::ConfirmDrop { data, .. }) => self.save_effect(data),
            Some(Dialog::ConfirmDiscard) => {
                let editor = self.editor.take();
                self.say(StatusKind::Info, "changes discarded");
                let mut effects: Vec<Effect> =
                    editor.map(|e| Effect::DiscardDraft { user_id: e.user_id }).into_iter().collect();
                effects.extend(self.refresh());
                effects
            }
            Some(Dialog::ConfirmQuit) => {
                // Quitting without saving was chosen: nothing is kept as a draft.
                let editor = self.editor.take();
                self.quit = true;
                editor.map(|e| Effect::DiscardDraft { user_id: e.user_id }).into_iter().collect()
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
            return vec![Effect::StopScan, self.load(Seek::First, 0, Then::Edge)];
        };
        // Every match is held (up to MAX_MATCHES), so the list's edges are known.
        list.rows.clear();
        list.selected = 0;
        list.top = 0;
        list.at_start = true;
        list.at_end = true;
        list.search = Search { generation, scanning: true, scanned: 0, capped: false };
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
        let selected = list.selected_entry().map(|e| e.key.clone());
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
        }
        list.selected = list.selected.min(list.rows.len().saturating_sub(1));
        list.keep_selection_visible();
        self.load_selected_user()
    }
}

/// The rows (sorted by key) with the hits merged in, in one pass: inserting them one by one
/// would shift thousands of rows per hit. A hit already in the
/// rows (the prefix search and the scan both find it) is kept once.
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
    use Action::*;
    let page = state.list.height.max(1) as isize;
    match action {
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
        Refresh => state.refresh(),
        Suspend => vec![Effect::Suspend],
        Copy => state.copy(),
        EditExternally => state.edit_externally(),
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
        CancelCommand => {
            state.command = None;
            Vec::new()
        }
        Resumed => Vec::new(),
        UserFound { entry } => state.user_found(*entry),
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
        OpenEditor => state.open_editor(),
        Edit(input) => {
            if let Some(editor) = &mut state.editor
                && editor.textarea.input(input)
            {
                editor.revalidate(&state.limits);
            }
            Vec::new()
        }
        Paste(text) => {
            if let Some(editor) = &mut state.editor {
                // Pasted control and bidi characters arrive as JSON escapes, never raw.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                editor.textarea.insert_str(inert::json(&text));
                editor.revalidate(&state.limits);
            }
            Vec::new()
        }
        Save => state.save(),
        JumpToError => {
            state.jump_to_error();
            Vec::new()
        }
        LeaveEditor => state.leave_editor(),
        ReloadTheirs => state.reload_theirs(),
        OverwriteTheirs => state.overwrite_theirs(),
        OpenDraft => state.open_draft(),
        DiscardDraft => state.discard_draft(),
        OpenHistory => state.open_history(),
        HistoryUp | HistoryDown => {
            if let Some(history) = &mut state.history {
                let last = history.entries.len().saturating_sub(1);
                history.selected = match action {
                    HistoryUp => history.selected.saturating_sub(1),
                    _ => (history.selected + 1).min(last),
                };
            }
            Vec::new()
        }
        RestoreRevision => state.restore_revision(),
        Confirm => state.confirm(),
        Cancel => {
            match state.dialog.take() {
                // A draft put off for later stays on disk; the next one is offered.
                Some(Dialog::DraftFound { .. }) => state.next_draft(),
                // Any other question: no, go back (from a conflict: back to editing).
                Some(_) => {}
                None if state.help => state.help = false,
                None => state.history = None,
            }
            Vec::new()
        }
        ToggleHelp => {
            state.help = !state.help;
            state.help_scroll = 0;
            Vec::new()
        }
        ScrollHelp(lines) => {
            state.help_scroll = state.help_scroll.saturating_add_signed(lines).min(200);
            Vec::new()
        }
        Quit => {
            state.quit();
            Vec::new()
        }
        Resize { width, height } => {
            state.width = width;
            state.height = height;
            state.list.height = super::view::list_height(width, height);
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
        DraftsFound(drafts) => state.drafts_found(drafts),
        DraftReady { record, base, draft } => state.draft_ready(*record, base, draft),
        DraftWritten { path } => {
            state.say(StatusKind::Info, format!("your edit is kept in {}", inert::line(&path)));
            Vec::new()
        }
        HistoryLoaded { id, revisions } => state.history_loaded(id, revisions),
        SearchHits { generation, hits, scanned, done } => state.search_hits(generation, hits, scanned, done),
        StoreFailed { message } => {
            state.say(StatusKind::Error, message);
            Vec::new()
        }
    }
}
