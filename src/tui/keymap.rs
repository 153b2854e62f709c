//! Keys → actions, as data. The hint bar and the `?` help both read this table, so a key
//! can never be undocumented.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{Input, Key};

use super::app::{Action, Mode, PlaintextScroll};

/// One row of the key table.
pub struct Binding {
    pub modes: &'static [Mode],
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub description: &'static str,
    /// The short form shown in the one-line hint bar, when it belongs there (the help shows
    /// every row with its full description).
    pub hint: Option<&'static str>,
    pub action: fn() -> Action,
}

impl Binding {
    /// How the keys are written in the hint bar and the help: every key the row binds, made
    /// from the bindings themselves so the two can never drift apart (`Esc/q`, `Ctrl-C/Ctrl-Q`).
    pub fn label(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for &(code, modifiers) in self.keys {
            let name = key_name(code, modifiers);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join("/")
    }
}

/// One key as the help writes it. Shift is part of a capital or a symbol (`G`, `:`), so it
/// is not written for characters.
pub fn key_name(code: KeyCode, modifiers: KeyModifiers) -> String {
    let base = match code {
        KeyCode::Up => "↑".to_owned(),
        KeyCode::Down => "↓".to_owned(),
        KeyCode::Left => "←".to_owned(),
        KeyCode::Right => "→".to_owned(),
        KeyCode::PageUp => "PgUp".to_owned(),
        KeyCode::PageDown => "PgDn".to_owned(),
        KeyCode::Home => "Home".to_owned(),
        KeyCode::End => "End".to_owned(),
        KeyCode::Enter => "Enter".to_owned(),
        KeyCode::Esc => "Esc".to_owned(),
        KeyCode::Tab => "Tab".to_owned(),
        KeyCode::BackTab => "Shift-Tab".to_owned(),
        KeyCode::Backspace => "Backspace".to_owned(),
        KeyCode::Delete => "Del".to_owned(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Char(' ') => "Space".to_owned(),
        KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => c.to_uppercase().to_string(),
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    };
    let mut name = String::new();
    if modifiers.contains(KeyModifiers::CONTROL) {
        name.push_str("Ctrl-");
    }
    if modifiers.contains(KeyModifiers::ALT) {
        name.push_str("Alt-");
    }
    if modifiers.contains(KeyModifiers::SHIFT) && !matches!(code, KeyCode::Char(_)) {
        name.push_str("Shift-");
    }
    name + &base
}

/// Drafts a page of the drafts dialog moves (the rows it shows at 80×24).
const DRAFT_PAGE: isize = 10;

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const BROWSE: &[Mode] = &[Mode::Browse];
const BROWSE_AND_EDIT: &[Mode] = &[Mode::Browse, Mode::Edit];
const FILTER: &[Mode] = &[Mode::Filter];
const EDIT: &[Mode] = &[Mode::Edit];
const DIALOG: &[Mode] = &[Mode::Dialog];
const CONFLICT: &[Mode] = &[Mode::Conflict];
/// The questions whose text scrolls: the save's (removed keys, findings, the diff) and the
/// conflict's diff.
const QUESTIONS: &[Mode] = &[Mode::Dialog, Mode::Conflict];
const DRAFT: &[Mode] = &[Mode::DraftFound];
const HISTORY: &[Mode] = &[Mode::History];
const CHANGES: &[Mode] = &[Mode::Changes];
const HELP: &[Mode] = &[Mode::Help];
const MESSAGES: &[Mode] = &[Mode::Messages];
const FIND: &[Mode] = &[Mode::Find];
const TREE: &[Mode] = &[Mode::Tree];
const COMMAND: &[Mode] = &[Mode::Command];
const TOO_SMALL: &[Mode] = &[Mode::TooSmall];
const PLAINTEXT: &[Mode] = &[Mode::Plaintext];
const PATCH: &[Mode] = &[Mode::Patch];
const WHOLE_USER: &[Mode] = &[Mode::WholeUser];
/// Lines a page of the patch overlay's diff scrolls.
const PATCH_PAGE: i16 = 10;
/// Where `r` is typed or means something else, F5 reconnects after a lost connection (the
/// filter and the command line give way to the list, where `r` does).
const RECONNECT_WITH_F5: &[Mode] = &[Mode::Edit, Mode::History, Mode::Conflict];
/// Where Ctrl-C and Ctrl-Q quit: everywhere but the yes/no questions (where the quit
/// question itself may be open); the conflict view and the drafts found are no such question.
const EVERYWHERE_BUT_DIALOG: &[Mode] = &[
    Mode::Conflict,
    Mode::DraftFound,
    Mode::Browse,
    Mode::Filter,
    Mode::Edit,
    Mode::Find,
    Mode::Tree,
    Mode::History,
    Mode::Changes,
    Mode::Help,
    Mode::Messages,
    Mode::Command,
    Mode::Plaintext,
    Mode::Patch,
    Mode::WholeUser,
];

macro_rules! bind {
    ($modes:expr, [$($key:expr),+], $description:expr, $hint:expr, $action:expr) => {
        Binding {
            modes: $modes,
            keys: &[$($key),+],
            description: $description,
            hint: $hint,
            action: $action,
        }
    };
}

pub const BINDINGS: &[Binding] = &[
    bind!(BROWSE, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "previous user", None, || {
        Action::Up
    }),
    bind!(BROWSE, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "next user", None, || {
        Action::Down
    }),
    bind!(BROWSE, [(KeyCode::PageUp, NONE)], "page up", None, || Action::PageUp),
    bind!(BROWSE, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "page down", None, || {
        Action::PageDown
    }),
    bind!(BROWSE, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "first user", None, || {
        Action::Home
    }),
    bind!(
        BROWSE,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "last user",
        None,
        || Action::End
    ),
    bind!(
        BROWSE,
        [(KeyCode::Enter, NONE), (KeyCode::Char('e'), NONE)],
        "edit customData",
        Some("edit"),
        || Action::OpenEditor
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('/'), NONE)],
        "filter by id/username/email/phone/name/customData",
        Some("filter"),
        || Action::StartFilter
    ),
    bind!(BROWSE, [(KeyCode::Esc, NONE)], "clear the filter", None, || Action::ClearFilter),
    bind!(
        BROWSE,
        [(KeyCode::Char('h'), NONE)],
        "history: every revision, restore one",
        Some("history"),
        || Action::OpenHistory
    ),
    bind!(BROWSE, [(KeyCode::Char('c'), NONE)], "changes: every save of every user (:changes)", None, || {
        Action::OpenChanges
    }),
    bind!(
        BROWSE,
        [(KeyCode::Char('r'), NONE)],
        "refresh (see others' saves; reconnects when lost)",
        Some("refresh"),
        || { Action::Refresh }
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('E'), SHIFT), (KeyCode::Char('E'), NONE)],
        "edit customData in $VISUAL / $EDITOR",
        None,
        || Action::EditExternally
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('y'), NONE)],
        "copy customData to the clipboard (OSC 52)",
        Some("copy"),
        || Action::Copy
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char(':'), NONE), (KeyCode::Char(':'), SHIFT)],
        "command line (:user, :export…)",
        Some("cmd"),
        || { Action::StartCommand }
    ),
    // Wherever Ctrl-C quits: typing a filter or a command, it did nothing (bb26).
    bind!(
        EVERYWHERE_BUT_DIALOG,
        [(KeyCode::Char('z'), CTRL)],
        "suspend (fg resumes, the edit kept; needs a shell)",
        None,
        || Action::Suspend
    ),
    bind!(
        BROWSE,
        [(KeyCode::Tab, NONE)],
        "read customData as a folding tree (Tab: back)",
        Some("tree"),
        || { Action::FocusTree }
    ),
    bind!(TREE, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "next line", None, || Action::TreeMove(
        1
    )),
    bind!(TREE, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "previous line", None, || {
        Action::TreeMove(-1)
    }),
    bind!(TREE, [(KeyCode::PageDown, NONE)], "a page down", None, || Action::TreePage(1)),
    bind!(TREE, [(KeyCode::PageUp, NONE)], "a page up", None, || Action::TreePage(-1)),
    bind!(TREE, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the first line", None, || {
        Action::TreeEdge(false)
    }),
    bind!(
        TREE,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the last line",
        None,
        || Action::TreeEdge(true)
    ),
    bind!(
        TREE,
        [(KeyCode::Enter, NONE), (KeyCode::Char(' '), NONE), (KeyCode::Char('z'), NONE)],
        "fold / unfold the object or array",
        Some("fold"),
        || Action::TreeToggle
    ),
    bind!(
        TREE,
        [(KeyCode::Left, NONE), (KeyCode::Char('h'), NONE)],
        "fold, or go to the parent",
        None,
        || { Action::TreeCollapse }
    ),
    bind!(TREE, [(KeyCode::Right, NONE), (KeyCode::Char('l'), NONE)], "unfold, or go into it", None, || {
        Action::TreeExpand
    }),
    bind!(
        TREE,
        [(KeyCode::Char('M'), SHIFT), (KeyCode::Char('M'), NONE)],
        "fold everything below the top",
        Some("fold all"),
        || { Action::TreeFoldAll(true) }
    ),
    bind!(
        TREE,
        [(KeyCode::Char('R'), SHIFT), (KeyCode::Char('R'), NONE)],
        "unfold everything",
        Some("unfold all"),
        || { Action::TreeFoldAll(false) }
    ),
    bind!(TREE, [(KeyCode::Char('n'), NONE)], "the next place holding the list filter's text", None, || {
        Action::TreeFindFilter { forward: true }
    }),
    bind!(
        TREE,
        [(KeyCode::Char('N'), SHIFT), (KeyCode::Char('N'), NONE)],
        "the previous place holding the list filter's text",
        None,
        || Action::TreeFindFilter { forward: false }
    ),
    bind!(
        TREE,
        [(KeyCode::Tab, NONE), (KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "back to the list",
        Some("back"),
        || { Action::LeaveTree }
    ),
    bind!(COMMAND, [(KeyCode::Enter, NONE)], "run the command", Some("run"), || Action::RunCommand),
    bind!(COMMAND, [(KeyCode::Tab, NONE)], "complete the command name", Some("complete"), || {
        Action::CommandComplete
    }),
    bind!(COMMAND, [(KeyCode::Esc, NONE)], "cancel", Some("cancel"), || Action::CancelCommand),
    bind!(COMMAND, [(KeyCode::Backspace, NONE)], "delete a character", None, || { Action::CommandBackspace }),
    bind!(
        FILTER,
        [(KeyCode::Enter, NONE), (KeyCode::Down, NONE)],
        "keep the filter, back to the list",
        Some("done"),
        || Action::FilterAccept
    ),
    bind!(FILTER, [(KeyCode::Esc, NONE)], "clear the filter", Some("clear"), || Action::ClearFilter),
    bind!(FILTER, [(KeyCode::Backspace, NONE)], "delete a character", None, || { Action::FilterBackspace }),
    bind!(FILTER, [(KeyCode::Char('u'), CTRL)], "erase the filter's text, keep typing", None, || {
        Action::FilterErase
    }),
    bind!(EDIT, [(KeyCode::Char('s'), CTRL)], "save (a full replacement)", Some("save"), || { Action::Save }),
    bind!(EDIT, [(KeyCode::Char('g'), CTRL)], "go to the error", Some("go to error"), || {
        Action::JumpToError
    }),
    bind!(
        EDIT,
        [(KeyCode::Char('f'), CTRL)],
        "find text in the document (as typed, any case)",
        Some("find"),
        || { Action::StartFind }
    ),
    bind!(EDIT, [(KeyCode::F(3), NONE)], "find the next match", None, || Action::FindAgain { forward: true }),
    // Shift-F3 comes as F13 from PuTTY and the VT220's keys, and as F15 from others.
    bind!(
        EDIT,
        [(KeyCode::F(3), SHIFT), (KeyCode::F(13), NONE), (KeyCode::F(15), NONE)],
        "find the previous match",
        None,
        || { Action::FindAgain { forward: false } }
    ),
    bind!(FIND, [(KeyCode::Enter, NONE)], "keep the match, back to editing", Some("done"), || {
        Action::FindAccept
    }),
    bind!(FIND, [(KeyCode::Esc, NONE)], "cancel: the cursor goes back", Some("cancel"), || {
        Action::FindCancel
    }),
    bind!(FIND, [(KeyCode::Backspace, NONE)], "delete a character", None, || Action::FindBackspace),
    bind!(EDIT, [(KeyCode::Esc, NONE)], "leave the editor", Some("leave"), || Action::LeaveEditor),
    // O for open, L for lock: Ctrl letters neither the textarea nor the terminal takes. Sealing
    // comes last so a narrow hint bar, which leaves out from the middle, keeps it.
    bind!(
        EDIT,
        [(KeyCode::Char('o'), CTRL)],
        "show the plaintext of the sealed value under the cursor",
        Some("unseal"),
        || Action::OpenSealed
    ),
    bind!(
        EDIT,
        [(KeyCode::Char('l'), CTRL)],
        "seal the value under the cursor (a JWE with the --key-file key)",
        Some("seal"),
        || Action::SealValue
    ),
    bind!(
        PLAINTEXT,
        [
            (KeyCode::Esc, NONE),
            (KeyCode::Char('q'), NONE),
            (KeyCode::Char('o'), CTRL),
            (KeyCode::Enter, NONE)
        ],
        "close the plaintext (it is kept nowhere)",
        Some("close"),
        || Action::ClosePlaintext
    ),
    bind!(
        RECONNECT_WITH_F5,
        [(KeyCode::F(5), NONE)],
        "reconnect, or look whether writes are taken again",
        None,
        || Action::Reconnect
    ),
    // A question that throws work away or removes keys: only an explicit `y` says yes; Enter,
    // pressed by habit, is the safe answer.
    bind!(DIALOG, [(KeyCode::Char('y'), NONE)], "yes (only y)", Some("yes"), || Action::Confirm),
    bind!(
        DIALOG,
        [(KeyCode::Enter, NONE), (KeyCode::Char('n'), NONE), (KeyCode::Esc, NONE)],
        "no, go back",
        Some("no"),
        || Action::Cancel
    ),
    bind!(
        QUESTIONS,
        [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "scroll the question down",
        None,
        || { Action::ScrollQuestion(1) }
    ),
    bind!(
        QUESTIONS,
        [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "scroll the question up",
        None,
        || { Action::ScrollQuestion(-1) }
    ),
    bind!(QUESTIONS, [(KeyCode::PageDown, NONE)], "scroll the question a page down", None, || {
        Action::PageQuestion(1)
    }),
    bind!(QUESTIONS, [(KeyCode::PageUp, NONE)], "scroll the question a page up", None, || {
        Action::PageQuestion(-1)
    }),
    bind!(QUESTIONS, [(KeyCode::Home, NONE)], "the question's first line", None, || {
        Action::ScrollQuestion(isize::MIN)
    }),
    bind!(QUESTIONS, [(KeyCode::End, NONE)], "the question's last line", None, || {
        Action::ScrollQuestion(isize::MAX)
    }),
    bind!(
        CONFLICT,
        [(KeyCode::Char('r'), NONE)],
        "reload theirs (your edit is kept in a file)",
        Some("reload theirs"),
        || Action::ReloadTheirs
    ),
    bind!(
        CONFLICT,
        [(KeyCode::Char('o'), NONE)],
        "overwrite theirs (asks first, showing theirs → yours)",
        Some("overwrite"),
        || Action::OverwriteTheirs
    ),
    bind!(
        CONFLICT,
        [(KeyCode::Char('e'), NONE), (KeyCode::Esc, NONE)],
        "back to editing",
        Some("back"),
        || Action::Cancel
    ),
    bind!(
        DRAFT,
        [(KeyCode::Char('o'), NONE), (KeyCode::Enter, NONE)],
        "open the draft",
        Some("open"),
        || Action::OpenDraft
    ),
    bind!(
        DRAFT,
        [(KeyCode::Char('d'), NONE)],
        "discard the chosen draft (asks first)",
        Some("discard"),
        || { Action::AskDiscardDraft }
    ),
    bind!(DRAFT, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "previous draft", None, || {
        Action::SelectDraft(-1)
    }),
    bind!(DRAFT, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "next draft", None, || {
        Action::SelectDraft(1)
    }),
    bind!(
        DRAFT,
        [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        "a page of drafts down",
        None,
        || { Action::SelectDraft(DRAFT_PAGE) }
    ),
    bind!(DRAFT, [(KeyCode::PageUp, NONE)], "a page of drafts up", None, || Action::SelectDraft(-DRAFT_PAGE)),
    bind!(DRAFT, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the first draft", None, || {
        Action::SelectDraft(isize::MIN)
    }),
    bind!(
        DRAFT,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the last draft",
        None,
        || Action::SelectDraft(isize::MAX)
    ),
    bind!(DRAFT, [(KeyCode::Esc, NONE)], "later (every draft is kept)", Some("later"), || { Action::Cancel }),
    bind!(HISTORY, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "older revision", None, || {
        Action::HistoryUp
    }),
    bind!(HISTORY, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "newer revision", None, || {
        Action::HistoryDown
    }),
    bind!(
        HISTORY,
        [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        "a page of newer revisions",
        None,
        || Action::HistoryPage(1)
    ),
    bind!(HISTORY, [(KeyCode::PageUp, NONE)], "a page of older revisions", None, || Action::HistoryPage(-1)),
    bind!(HISTORY, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the first revision", None, || {
        Action::HistoryEdge(false)
    }),
    bind!(
        HISTORY,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the newest revision",
        None,
        || Action::HistoryEdge(true)
    ),
    bind!(
        HISTORY,
        [(KeyCode::Char('J'), SHIFT), (KeyCode::Char('J'), NONE)],
        "scroll the diff down",
        Some("diff ↓"),
        || Action::HistoryDiffScroll(1)
    ),
    bind!(
        HISTORY,
        [(KeyCode::Char('K'), SHIFT), (KeyCode::Char('K'), NONE)],
        "scroll the diff up",
        None,
        || Action::HistoryDiffScroll(-1)
    ),
    bind!(
        HISTORY,
        [(KeyCode::Enter, NONE)],
        "restore: put this revision in the editor",
        Some("restore"),
        || Action::RestoreRevision
    ),
    bind!(
        HISTORY,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "close the history",
        Some("close"),
        || Action::Cancel
    ),
    bind!(CHANGES, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "newer save", None, || {
        Action::ChangesMove(-1)
    }),
    bind!(CHANGES, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "older save", None, || {
        Action::ChangesMove(1)
    }),
    bind!(
        CHANGES,
        [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        "a page of older saves",
        None,
        || { Action::ChangesPage(1) }
    ),
    bind!(CHANGES, [(KeyCode::PageUp, NONE)], "a page of newer saves", None, || Action::ChangesPage(-1)),
    bind!(CHANGES, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the newest save", None, || {
        Action::ChangesEdge(false)
    }),
    bind!(
        CHANGES,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the oldest save read so far (more are read as you go)",
        None,
        || Action::ChangesEdge(true)
    ),
    bind!(
        CHANGES,
        [(KeyCode::Enter, NONE)],
        "that user's history, at that revision",
        Some("history"),
        || Action::JumpToChange
    ),
    bind!(
        CHANGES,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "close the changes",
        Some("close"),
        || Action::CloseChanges
    ),
    bind!(PATCH, [(KeyCode::Char('j'), NONE)], "the next changed user", Some("next user"), || {
        Action::PatchUser(1)
    }),
    bind!(PATCH, [(KeyCode::Char('k'), NONE)], "the previous changed user", None, || Action::PatchUser(-1)),
    bind!(PATCH, [(KeyCode::Down, NONE)], "scroll the diff down", None, || Action::PatchScroll(1)),
    bind!(PATCH, [(KeyCode::Up, NONE)], "scroll the diff up", None, || Action::PatchScroll(-1)),
    bind!(
        PATCH,
        [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        "a page of the diff down",
        None,
        || { Action::PatchScroll(PATCH_PAGE) }
    ),
    bind!(PATCH, [(KeyCode::PageUp, NONE)], "a page of the diff up", None, || Action::PatchScroll(
        -PATCH_PAGE
    )),
    bind!(
        PATCH,
        [(KeyCode::Char('s'), NONE)],
        "write too, or leave (default), users holding a likely secret",
        None,
        || Action::PatchWriteFlagged
    ),
    bind!(
        PATCH,
        [(KeyCode::Enter, NONE)],
        "apply the patch (asks first, naming how many users change)",
        Some("apply"),
        || Action::PatchAsk
    ),
    bind!(
        PATCH,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "close the dry run (nothing is written)",
        Some("close"),
        || Action::ClosePatch
    ),
    bind!(
        MESSAGES,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "close the messages",
        Some("close"),
        || { Action::Cancel }
    ),
    bind!(MESSAGES, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "older messages", None, || {
        Action::ScrollMessages(1)
    }),
    bind!(MESSAGES, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "newer messages", None, || {
        Action::ScrollMessages(-1)
    }),
    bind!(MESSAGES, [(KeyCode::PageUp, NONE)], "a page of older messages", None, || Action::ScrollMessages(
        10
    )),
    bind!(
        MESSAGES,
        [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        "a page of newer messages",
        None,
        || { Action::ScrollMessages(-10) }
    ),
    bind!(MESSAGES, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the oldest", None, || {
        Action::ScrollMessages(i16::MAX)
    }),
    bind!(
        MESSAGES,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the newest",
        None,
        || Action::ScrollMessages(i16::MIN)
    ),
    bind!(
        HELP,
        [(KeyCode::Esc, NONE), (KeyCode::Char('?'), NONE), (KeyCode::Char('q'), NONE), (KeyCode::F(1), NONE)],
        "close the help",
        Some("close"),
        || Action::ToggleHelp
    ),
    bind!(HELP, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "scroll the help down", None, || {
        Action::ScrollHelp(1)
    }),
    bind!(HELP, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "scroll the help up", None, || {
        Action::ScrollHelp(-1)
    }),
    bind!(HELP, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "a page down", None, || {
        Action::HelpPage(1)
    }),
    bind!(HELP, [(KeyCode::PageUp, NONE)], "a page up", None, || Action::HelpPage(-1)),
    bind!(HELP, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the top", None, || {
        Action::ScrollHelp(i16::MIN)
    }),
    bind!(
        HELP,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the bottom",
        None,
        || Action::ScrollHelp(i16::MAX)
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('?'), NONE), (KeyCode::F(1), NONE)],
        "help: every key",
        Some("help"),
        || Action::ToggleHelp
    ),
    bind!(EDIT, [(KeyCode::F(1), NONE)], "help: every key", Some("help"), || Action::ToggleHelp),
    bind!(BROWSE_AND_EDIT, [(KeyCode::F(2), NONE)], "the last messages, whole (:messages)", None, || {
        Action::OpenMessages
    }),
    bind!(
        BROWSE,
        [(KeyCode::Char('i'), NONE)],
        "every property of the user (profile, identities), whole",
        None,
        || Action::OpenWholeUser
    ),
    bind!(PLAINTEXT, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "scroll down", None, || {
        Action::ScrollPlaintext(PlaintextScroll::Rows(1))
    }),
    bind!(PLAINTEXT, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "scroll up", None, || {
        Action::ScrollPlaintext(PlaintextScroll::Rows(-1))
    }),
    bind!(PLAINTEXT, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "a page down", None, || {
        Action::ScrollPlaintext(PlaintextScroll::Page(1))
    }),
    bind!(PLAINTEXT, [(KeyCode::PageUp, NONE)], "a page up", None, || {
        Action::ScrollPlaintext(PlaintextScroll::Page(-1))
    }),
    bind!(PLAINTEXT, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the top", None, || {
        Action::ScrollPlaintext(PlaintextScroll::Edge(false))
    }),
    bind!(
        PLAINTEXT,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the bottom",
        None,
        || Action::ScrollPlaintext(PlaintextScroll::Edge(true))
    ),
    bind!(WHOLE_USER, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "scroll down", None, || {
        Action::ScrollWholeUser(1)
    }),
    bind!(WHOLE_USER, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "scroll up", None, || {
        Action::ScrollWholeUser(-1)
    }),
    bind!(WHOLE_USER, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "a page down", None, || {
        Action::WholeUserPage(1)
    }),
    bind!(WHOLE_USER, [(KeyCode::PageUp, NONE)], "a page up", None, || Action::WholeUserPage(-1)),
    bind!(WHOLE_USER, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "the top", None, || {
        Action::WholeUserEdge(false)
    }),
    bind!(
        WHOLE_USER,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "the bottom",
        None,
        || Action::WholeUserEdge(true)
    ),
    bind!(
        WHOLE_USER,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE), (KeyCode::Char('i'), NONE)],
        "close",
        Some("close"),
        || Action::Cancel
    ),
    bind!(BROWSE, [(KeyCode::Char('q'), NONE)], "quit", Some("quit"), || Action::Quit),
    bind!(
        TOO_SMALL,
        [(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL), (KeyCode::Char('q'), CTRL)],
        "quit (asks if unsaved); nothing else until resized",
        Some("quit"),
        || Action::Quit
    ),
    bind!(
        EVERYWHERE_BUT_DIALOG,
        [(KeyCode::Char('c'), CTRL), (KeyCode::Char('q'), CTRL)],
        "quit (asks if there are unsaved changes)",
        None,
        || Action::Quit
    ),
];

/// Editing keys handled by the textarea itself, listed in the help: every key it acts on
/// that custodian's table does not take first (those that delete text above all).
pub const EDITOR_KEYS: &[(&str, &str)] = &[
    ("arrows, PgUp/PgDn", "move"),
    ("Ctrl-N/P/B", "down / up / left"),
    ("Ctrl-V / Alt-V", "a page down / up"),
    ("Home/End, Ctrl-A/E", "the start / end of the line"),
    ("Ctrl-←/→, Alt-B/F", "a word back / forward"),
    // Not `Alt-[`: a terminal sends it as ESC [, the start of a sequence, which took the next
    // key typed with it, and both were lost (bb26 T13); `Alt-]` alone would read as a pair.
    ("Ctrl-↑/↓", "the previous / next paragraph"),
    ("Ctrl-Home / Ctrl-End", "the top / the end of the document"),
    ("Shift+arrows", "select"),
    ("Ctrl-U / Ctrl-R", "undo / redo"),
    ("Ctrl-X/Alt-C/Ctrl-Y", "cut / copy / paste (within the editor)"),
    ("Backspace/Ctrl-H", "delete the character before"),
    ("Delete/Ctrl-D", "delete the character after"),
    ("Ctrl-W/Alt-H", "delete the word before (Alt-Backspace too)"),
    ("Alt-D/Alt-Delete", "delete the word after"),
    ("Ctrl-K", "delete to the end of the line"),
    ("Enter/Ctrl-M, Tab", "a new line (Ctrl-J too), a tab (`\\t` in strings)"),
    ("terminal paste", "inserted as typed, controls escaped"),
];

/// The action for a key press in `mode`; in the editor, unbound keys go to the textarea and
/// in the filter they are typed into the filter.
pub fn action_for(mode: Mode, key: KeyEvent) -> Option<Action> {
    let modifiers = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    let bound = BINDINGS.iter().find(|b| {
        b.modes.contains(&mode) && b.keys.iter().any(|(code, mods)| *code == key.code && *mods == modifiers)
    });
    if let Some(binding) = bound {
        return Some((binding.action)());
    }
    match mode {
        Mode::Edit => Some(Action::Edit(editor_input(key))),
        Mode::Filter => match key.code {
            KeyCode::Char(c) if !modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                Some(Action::FilterChar(c))
            }
            _ => None,
        },
        Mode::Find => match key.code {
            KeyCode::Char(c) if !modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                Some(Action::FindChar(c))
            }
            _ => None,
        },
        Mode::Command => match key.code {
            KeyCode::Char(c) if !modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                Some(Action::CommandChar(c))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A key for the textarea; Alt-C is its copy (Ctrl-C quits).
fn editor_input(key: KeyEvent) -> Input {
    let mut input = Input::from(key);
    if input.alt && input.key == Key::Char('c') {
        input = Input { key: Key::Copy, ..Input::default() };
    }
    // Ctrl-Home / Ctrl-End: the textarea's own top and bottom are Alt-< and Alt->.
    if input.ctrl && !input.alt && matches!(input.key, Key::Home | Key::End) {
        let key = if input.key == Key::Home { Key::Char('<') } else { Key::Char('>') };
        input = Input { key, ctrl: false, alt: true, shift: input.shift };
    }
    input
}

/// The bindings of one mode that belong in the hint bar.
pub fn hints(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.hint.is_some() && b.modes.contains(&mode))
}

/// One line of the key reference: a section heading, or keys and what they do.
pub enum HelpRow {
    Heading(&'static str),
    Keys { keys: String, description: String },
}

/// Every key, section by section: what the `?` help draws and `--help` prints.
pub fn help_rows() -> Vec<HelpRow> {
    use super::app::COMMANDS;
    let sections = [
        (Mode::Browse, "Browsing"),
        (Mode::Filter, "Filtering (type to filter)"),
        (Mode::Command, "Command line (type a command)"),
        (Mode::Tree, "Reading customData as a tree (Tab from the list)"),
        (Mode::Edit, "Editing customData"),
        (Mode::Find, "Finding in the editor (type the text)"),
        (Mode::Plaintext, "Plaintext of a sealed value"),
        (Mode::History, "History"),
        (Mode::Changes, "Changes: the journal (:changes, c)"),
        (Mode::Patch, "A patch's dry run (:patch FILE)"),
        (Mode::Conflict, "Conflict (someone saved first)"),
        (Mode::DraftFound, "Unsaved drafts found"),
        (Mode::Dialog, "Questions"),
        (Mode::TooSmall, "Terminal too small"),
        (Mode::Messages, "Messages (:messages)"),
        (Mode::WholeUser, "The user whole (i)"),
        (Mode::Help, "This help"),
    ];
    let mut rows = Vec::new();
    for (mode, heading) in sections {
        rows.push(HelpRow::Heading(heading));
        for binding in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
            rows.push(HelpRow::Keys { keys: binding.label(), description: binding.description.to_owned() });
        }
        if mode == Mode::Command {
            for command in COMMANDS {
                let usage = format!(":{} {}", command.name, command.args).trim_end().to_owned();
                let description = match command.aliases {
                    [] => command.description.to_owned(),
                    aliases => {
                        let also: Vec<String> = aliases.iter().map(|a| format!(":{a}")).collect();
                        format!("{} (also {})", command.description, also.join(", "))
                    }
                };
                rows.push(HelpRow::Keys { keys: usage, description });
            }
        }
        if mode == Mode::Edit {
            for (keys, description) in EDITOR_KEYS {
                rows.push(HelpRow::Keys { keys: (*keys).to_owned(), description: (*description).to_owned() });
            }
        }
    }
    rows
}

/// The width of the keys column of [`help_rows`].
pub fn help_keys_width(rows: &[HelpRow]) -> usize {
    let widths = rows.iter().map(|row| match row {
        HelpRow::Keys { keys, .. } => keys.chars().count(),
        HelpRow::Heading(_) => 0,
    });
    widths.max().unwrap_or(0) + 2
}

/// The key reference as plain text, for `custodian --help`.
pub fn help_text() -> String {
    let rows = help_rows();
    let width = help_keys_width(&rows);
    let mut text = String::from("Keys of the editor (also shown by ? inside it):\n");
    for row in &rows {
        match row {
            HelpRow::Heading(heading) => text.push_str(&format!("\n  {heading}\n")),
            HelpRow::Keys { keys, description } => {
                text.push_str(&format!("    {keys:<width$}{description}\n"))
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ctrl-Z suspends wherever Ctrl-C quits: typing a filter or a command it did nothing
    /// (bb26); a yes/no question keeps the key for itself.
    #[test]
    fn ctrl_z_suspends_wherever_ctrl_c_quits() {
        let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        for &mode in EVERYWHERE_BUT_DIALOG {
            assert!(matches!(action_for(mode, ctrl('z')), Some(Action::Suspend)), "{mode:?}");
            assert!(action_for(mode, ctrl('c')).is_some(), "{mode:?}");
        }
        assert!(
            EVERYWHERE_BUT_DIALOG.contains(&Mode::Filter) && EVERYWHERE_BUT_DIALOG.contains(&Mode::Command)
        );
        assert!(action_for(Mode::Dialog, ctrl('z')).is_none());
    }

    #[test]
    fn every_key_a_row_binds_is_in_its_label() {
        for binding in BINDINGS {
            let label = binding.label();
            let shown: Vec<&str> = label.split('/').collect();
            for &(code, modifiers) in binding.keys {
                let name = key_name(code, modifiers);
                // `/` itself is a key (the filter); its label is just "/".
                assert!(shown.contains(&name.as_str()) || label == name, "{label:?} leaves out {name:?}");
            }
        }
    }

    #[test]
    fn every_key_the_text_area_changes_text_with_is_in_the_help() {
        // Ctrl-D, Ctrl-W, Alt-D and Alt-Backspace deleted text and were in no help.
        let documented: String = EDITOR_KEYS
            .iter()
            .map(|(keys, what)| format!("{keys} {what} "))
            .collect::<String>()
            .to_lowercase();
        let mut codes: Vec<KeyCode> = ('a'..='z').chain(['[', ']', '<', '>']).map(KeyCode::Char).collect();
        codes.extend([KeyCode::Backspace, KeyCode::Delete, KeyCode::Enter, KeyCode::Tab]);
        let mut tried = 0;
        for code in codes {
            for modifiers in [KeyModifiers::NONE, KeyModifiers::CONTROL, KeyModifiers::ALT] {
                if matches!(code, KeyCode::Char(_)) && modifiers == KeyModifiers::NONE {
                    continue; // typing
                }
                let Some(Action::Edit(input)) = action_for(Mode::Edit, KeyEvent::new(code, modifiers)) else {
                    continue; // custodian's own key, in the table
                };
                let typed = |input: Input| {
                    let mut textarea = ratatui_textarea::TextArea::from(["ab cd ef", "gh"]);
                    textarea.move_cursor(ratatui_textarea::CursorMove::Jump(0, 4));
                    textarea.input(input);
                    textarea.lines().to_vec()
                };
                let lines = typed(input);
                tried += 1;
                if lines != ["ab cd ef", "gh"] {
                    // Ctrl-Enter is Enter: the plain key's name says it.
                    let plain = !matches!(code, KeyCode::Char(_))
                        && lines == typed(editor_input(KeyEvent::new(code, KeyModifiers::NONE)));
                    let name =
                        key_name(code, if plain { KeyModifiers::NONE } else { modifiers }).to_lowercase();
                    assert!(
                        documented.contains(&name),
                        "{name} changes the text and the help does not say so"
                    );
                }
            }
        }
        assert!(tried > 50, "the keys went to the text area: {tried}");
    }

    #[test]
    fn labels_are_written_from_the_keys() {
        let label_of = |mode: Mode, description: &str| {
            BINDINGS
                .iter()
                .find(|b| b.modes.contains(&mode) && b.description == description)
                .map(Binding::label)
                .unwrap_or_else(|| panic!("no row {description:?}"))
        };
        assert_eq!(label_of(Mode::Help, "close the help"), "Esc/?/q/F1");
        assert_eq!(label_of(Mode::History, "close the history"), "Esc/q");
        assert_eq!(label_of(Mode::Browse, "quit (asks if there are unsaved changes)"), "Ctrl-C/Ctrl-Q");
        assert_eq!(label_of(Mode::Browse, "last user"), "End/G");
        assert_eq!(label_of(Mode::Browse, "previous user"), "↑/k");
    }

    #[test]
    fn every_row_of_the_table_is_in_the_help_with_its_label() {
        let text = help_text();
        for binding in BINDINGS {
            let line = binding.label();
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(&line) && l.contains(binding.description)),
                "the help has no line {line:?} {:?}",
                binding.description
            );
        }
    }
}
