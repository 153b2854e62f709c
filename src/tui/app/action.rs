//! What the operator asks for and what the store answers: every input `update` takes.

use super::*;
use crate::store::ListKey;

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
    /// Keys that only type (`typing::types_text`), waiting together: a paste without bracketed
    /// paste, keys typed ahead. Each does what it does alone; the run is one change.
    Type(Vec<Input>),
    Paste(String),
    /// A paste into a one-line input (the filter, the command line, the find line): its first
    /// line, without control characters, typed at once.
    PasteLine(String),
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
    /// Scroll the diff under the history's list down (1) or up (-1) a line.
    HistoryDiffScroll(i16),
    RestoreRevision,
    // `:patch` (see `app/patch.rs`)
    /// The dry run's report, or why there is none.
    PatchReady {
        file: String,
        /// The report, and the patch as read: what `Enter` applies.
        result: Result<(Box<crate::domain::patch::PatchReport>, crate::domain::patch::JsonPatch), String>,
    },
    /// The apply's answer: its batch, or why it wrote nothing, or that it cannot be told.
    PatchApplied {
        result: super::PatchAnswer,
    },
    /// The next (1) or previous (-1) changed user in the overlay.
    PatchUser(isize),
    /// Scroll the shown diff by this many lines.
    PatchScroll(i16),
    /// Ask before applying the patch.
    PatchAsk,
    /// Whether the users the patch would leave holding something that looks like a secret
    /// are written too, or left as they are (the default).
    PatchWriteFlagged,
    ClosePatch,
    // The journal overlay (`:changes`, `c`): see `app/changes.rs`
    OpenChanges,
    CloseChanges,
    ChangesMove(isize),
    /// A page down (1) or up (-1).
    ChangesPage(i8),
    /// The oldest read (`true`) or the newest (`false`) entry.
    ChangesEdge(bool),
    /// `Enter`: that user's history at that revision.
    JumpToChange,
    /// A page of the journal read after `before` (or why it could not be read).
    ChangesLoaded {
        before: Option<(i64, u64)>,
        rows: Result<Vec<ChangesRow>, String>,
    },
    // Dialogs and the rest
    Confirm,
    Cancel,
    /// Scroll the question's text (the removed keys, the diff) by this many lines.
    ScrollQuestion(isize),
    /// Scroll it by this many boxfuls (`PgDn`, `PgUp`), less a line kept in sight.
    PageQuestion(isize),
    ToggleHelp,
    /// F2 (and `:messages`): the last messages, whole — also from the editor, where `:` types.
    OpenMessages,
    /// Scrolls `:messages` back (older) by this many rows, forward when negative.
    ScrollMessages(i16),
    /// `i`: the selected user whole, in an overlay; scroll it by rows or by a page.
    OpenWholeUser,
    ScrollWholeUser(i16),
    /// The plaintext of a sealed value, scrolled.
    ScrollPlaintext(PlaintextScroll),
    WholeUserPage(i8),
    /// The overlay's top (`false`) or bottom (`true`).
    WholeUserEdge(bool),
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
        /// The document's folding tree, built on the store worker: a 1 MiB document takes
        /// ~20 ms to parse and lay out, which `Tab` would otherwise spend on the key path.
        tree: Option<Arc<Tree>>,
    },
    Saved {
        id: String,
        outcome: SaveOutcome,
        /// The user's handle as stored after the save (`None`: it could not be read): the
        /// user may have been renamed while the edit was under way.
        handle_now: Option<String>,
    },
    /// Users matching the filter, from the indexes (at once) or the background scan (in steps).
    SearchHits {
        generation: u64,
        hits: Vec<ListEntry>,
        /// Users the scan went through in this step (0 for the index lookup).
        scanned: u64,
        /// The scan has looked at every user up to this list key, inclusive (`None` for the
        /// index lookup): no match can come before it any more.
        reached: Option<ListKey>,
        done: bool,
    },
    /// The scan met `failure` (a lost connection) before its end: the matches are those of the
    /// users it read before; then the failure, as any store's.
    SearchStopped {
        generation: u64,
        failure: Box<Action>,
    },
    /// The save was refused because someone else saved first; `theirs` is what they saved.
    SaveConflict {
        id: String,
        theirs: StoredDocument,
        /// The user's handle now, when it could be read.
        handle_now: Option<String>,
    },
    /// The drafts and recovery files kept for this database, the files in the drafts
    /// directory that are not offered (why, one line each), and the handles of the users
    /// whose drafts are being edited in another running custodian (never offered).
    DraftsFound {
        drafts: Vec<Draft>,
        not_offered: Vec<String>,
        in_use: Vec<String>,
    },
    /// A draft taken over by this session: the user, the document the editor starts from,
    /// and why its base is in doubt (then saving shows the conflict view first).
    DraftReady {
        record: Box<UserRecord>,
        base: StoredDocument,
        draft: Draft,
        doubt: Option<String>,
    },
    /// A found draft was left in place: it is being edited in another running custodian.
    DraftNotDiscarded {
        message: String,
    },
    /// Opening a draft failed; it stays on disk.
    DraftNotOpened {
        message: String,
    },
    /// The draft taken over holds what is stored now, or what a revision saved after the one
    /// it started from holds (its save did commit, though the answer was lost; others may have
    /// saved since): nothing to open, and its file (of `session`) goes.
    DraftAlreadyStored {
        user_id: String,
        user_handle: String,
        session: String,
        /// The revision that holds the draft's edit.
        revision: Revision,
        /// The user's revision now: `revision`, or a later one someone saved since.
        current: Revision,
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
        /// Revisions of the user older than those given (the screen shows the newest).
        older: usize,
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
    /// A save has had no answer for `seconds` (the runtime tells once a save): a server that
    /// stopped, or something on the way that holds its answer, which no statement timeout
    /// ends (the server enforces those).
    SaveUnanswered {
        seconds: u64,
    },
    /// The search has had no answer for `seconds` (the runtime tells once a step): its
    /// connection gone silent, or a server that holds it.
    SearchUnanswered {
        seconds: u64,
    },
    /// Reconnect to the server (`r` in the list, F5 in the editor, after a lost connection).
    Reconnect,
    /// The store is connected again (or its connection was fine), to a server that takes
    /// writes or not.
    Reconnected {
        takes_writes: bool,
    },
    /// A write, or the key table's sync, was refused for good: by a server that takes no
    /// writes (a hot standby, `default_transaction_read_only`), or because the database file
    /// was replaced under the screen (a restore). The screen is read-only from then on (`why`).
    WritesRefused {
        why: ReadOnly,
        message: String,
    },
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
    /// The stored schema, read again by a save (`for_save`: that save was not made, the
    /// schema having changed since the edit was checked) or by `r`.
    /// The schema is compiled where it was read; `Err` says why it cannot be used.
    SchemaRead {
        revision: Option<Revision>,
        shape: Result<SharedShape, String>,
        for_save: bool,
    },
    /// The user a refresh looked for again ([`Effect::FollowUser`]): `None` when they are gone.
    UserFollowed {
        entry: Option<Box<ListEntry>>,
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
    /// The key file changed since the screen read it (a rotation), read again before the seal
    /// or open `then`: its keys, or why it cannot be read now, and then `then` is not done
    /// (bb77 F7: it sealed with the key read at start).
    KeyFileReadAgain {
        keys: Result<crate::domain::seal::KeySet, String>,
        then: Box<Action>,
    },
    /// Ctrl-Z was refused: no shell could bring custodian back (why, for the status line).
    SuspendRefused {
        reason: String,
    },
    /// What the store's workers are busy with now (from the runtime, whenever it changes).
    StoreBusy(Option<Pending>),
    /// How many users the patch whose overlay holds `stop` has gone over (its dry run, or the
    /// batch being written), a few times a second.
    PatchProgress {
        stop: StopFlag,
        seen: u64,
    },
    /// How far the `:export` to `path` has come (from the store's worker, a few times a second),
    /// out of how many users the store held as it began (the list's count may be older).
    ExportProgress {
        path: String,
        progress: crate::export::Progress,
        total: Option<u64>,
    },
    /// `:export` wrote this many users.
    Exported {
        path: String,
        count: u64,
    },
    /// The external editor was closed: the text it left, or why there is none; and whether
    /// a hang-up or TERM came meanwhile (the session is ending: nothing is saved unasked).
    EditedExternally {
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        result: Result<ExternalText, String>,
        session_ending: bool,
    },
    /// The runtime dropped a key typed ahead of a `:user` that found no one (bb91 F1).
    TypedAheadOfAFailure,
}

impl Action {
    /// A key that moves the selection or acts on the selected user: what a `:user` on its way
    /// holds back.
    pub fn moves_or_acts_on_the_user(&self) -> bool {
        use Action::*;
        matches!(
            self,
            Up | Down
                | PageUp
                | PageDown
                | Home
                | End
                | SelectRow(_)
                | OpenEditor
                | EditExternally
                | Copy
                | OpenHistory
                | OpenWholeUser
        )
    }

    /// The message of a store's failure (a failure, a lost connection, a server that takes no
    /// writes), which a jump on its way adds its note to (bb47 F3; review57: one kind lost it).
    pub(super) fn store_failure_mut(&mut self) -> Option<&mut String> {
        match self {
            Action::StoreFailed { message }
            | Action::ConnectionLost { message }
            | Action::WritesRefused { message, .. } => Some(message),
            _ => None,
        }
    }
}
