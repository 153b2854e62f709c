//! Keys → actions, as data. The hint bar and the `?` help both read this table, so a key
//! can never be undocumented.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{Input, Key};

use super::app::{Action, Mode};

/// One row of the key table.
pub struct Binding {
    pub modes: &'static [Mode],
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in the hint bar and the help.
    pub label: &'static str,
    pub description: &'static str,
    /// The short form shown in the one-line hint bar, when it belongs there (the help shows
    /// every row with its full description).
    pub hint: Option<&'static str>,
    pub action: fn() -> Action,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const BROWSE: &[Mode] = &[Mode::Browse];
const FILTER: &[Mode] = &[Mode::Filter];
const EDIT: &[Mode] = &[Mode::Edit];
const DIALOG: &[Mode] = &[Mode::Dialog];
const CONFLICT: &[Mode] = &[Mode::Conflict];
const DRAFT: &[Mode] = &[Mode::DraftFound];
const HISTORY: &[Mode] = &[Mode::History];
const HELP: &[Mode] = &[Mode::Help];
const COMMAND: &[Mode] = &[Mode::Command];
const TOO_SMALL: &[Mode] = &[Mode::TooSmall];
/// Where `r` is typed or means something else, F5 reconnects after a lost connection (the
/// filter and the command line give way to the list, where `r` does).
const RECONNECT_WITH_F5: &[Mode] = &[Mode::Edit, Mode::History, Mode::Conflict];
const EVERYWHERE_BUT_DIALOG: &[Mode] =
    &[Mode::Browse, Mode::Filter, Mode::Edit, Mode::History, Mode::Help, Mode::Command];

macro_rules! bind {
    ($modes:expr, [$($key:expr),+], $label:expr, $description:expr, $hint:expr, $action:expr) => {
        Binding {
            modes: $modes,
            keys: &[$($key),+],
            label: $label,
            description: $description,
            hint: $hint,
            action: $action,
        }
    };
}

pub const BINDINGS: &[Binding] = &[
    bind!(BROWSE, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", "previous user", None, || {
        Action::Up
    }),
    bind!(BROWSE, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", "next user", None, || {
        Action::Down
    }),
    bind!(BROWSE, [(KeyCode::PageUp, NONE)], "PgUp", "page up", None, || Action::PageUp),
    bind!(BROWSE, [(KeyCode::PageDown, NONE)], "PgDn", "page down", None, || Action::PageDown),
    bind!(BROWSE, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "Home/g", "first user", None, || {
        Action::Home
    }),
    bind!(
        BROWSE,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "End/G",
        "last user",
        None,
        || Action::End
    ),
    bind!(
        BROWSE,
        [(KeyCode::Enter, NONE), (KeyCode::Char('e'), NONE)],
        "Enter/e",
        "edit customData",
        Some("edit"),
        || Action::OpenEditor
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('/'), NONE)],
        "/",
        "filter by id/username/email/phone/name/customData",
        Some("filter"),
        || Action::StartFilter
    ),
    bind!(BROWSE, [(KeyCode::Esc, NONE)], "Esc", "clear the filter", None, || Action::ClearFilter),
    bind!(
        BROWSE,
        [(KeyCode::Char('h'), NONE)],
        "h",
        "history: every revision, restore one",
        Some("history"),
        || Action::OpenHistory
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('r'), NONE)],
        "r",
        "refresh (see others' saves; reconnects when lost)",
        Some("refresh"),
        || Action::Refresh
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('E'), SHIFT), (KeyCode::Char('E'), NONE)],
        "E",
        "edit customData in $VISUAL / $EDITOR",
        None,
        || Action::EditExternally
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('y'), NONE)],
        "y",
        "copy customData to the clipboard (OSC 52)",
        Some("copy"),
        || Action::Copy
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char(':'), NONE), (KeyCode::Char(':'), SHIFT)],
        ":",
        "command line (:user, :export…)",
        Some("cmd"),
        || { Action::StartCommand }
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('z'), CTRL)],
        "Ctrl-Z",
        "suspend (fg brings it back; not without a shell)",
        None,
        || Action::Suspend
    ),
    bind!(COMMAND, [(KeyCode::Enter, NONE)], "Enter", "run the command", Some("run"), || Action::RunCommand),
    bind!(COMMAND, [(KeyCode::Tab, NONE)], "Tab", "complete the command name", Some("complete"), || {
        Action::CommandComplete
    }),
    bind!(COMMAND, [(KeyCode::Esc, NONE)], "Esc", "cancel", Some("cancel"), || Action::CancelCommand),
    bind!(COMMAND, [(KeyCode::Backspace, NONE)], "Backspace", "delete a character", None, || {
        Action::CommandBackspace
    }),
    bind!(
        FILTER,
        [(KeyCode::Enter, NONE), (KeyCode::Down, NONE)],
        "Enter/↓",
        "keep the filter, back to the list",
        Some("done"),
        || Action::FilterAccept
    ),
    bind!(FILTER, [(KeyCode::Esc, NONE)], "Esc", "clear the filter", Some("clear"), || Action::ClearFilter),
    bind!(FILTER, [(KeyCode::Backspace, NONE)], "Backspace", "delete a character", None, || {
        Action::FilterBackspace
    }),
    bind!(EDIT, [(KeyCode::Char('s'), CTRL)], "Ctrl-S", "save (a full replacement)", Some("save"), || {
        Action::Save
    }),
    bind!(EDIT, [(KeyCode::Char('g'), CTRL)], "Ctrl-G", "go to the error", Some("go to error"), || {
        Action::JumpToError
    }),
    bind!(EDIT, [(KeyCode::Esc, NONE)], "Esc", "leave the editor", Some("leave"), || Action::LeaveEditor),
    bind!(
        RECONNECT_WITH_F5,
        [(KeyCode::F(5), NONE)],
        "F5",
        "reconnect after a lost connection (the edit stays)",
        None,
        || Action::Reconnect
    ),
    // A question that throws work away or removes keys: only an explicit `y` says yes; Enter,
    // pressed by habit, is the safe answer.
    bind!(DIALOG, [(KeyCode::Char('y'), NONE)], "y", "yes (only y)", Some("yes"), || Action::Confirm),
    bind!(
        DIALOG,
        [(KeyCode::Enter, NONE), (KeyCode::Char('n'), NONE), (KeyCode::Esc, NONE)],
        "Enter/n/Esc",
        "no, go back",
        Some("no"),
        || Action::Cancel
    ),
    bind!(
        CONFLICT,
        [(KeyCode::Char('r'), NONE)],
        "r",
        "reload theirs (your edit is kept in a file)",
        Some("reload theirs"),
        || Action::ReloadTheirs
    ),
    bind!(
        CONFLICT,
        [(KeyCode::Char('o'), NONE)],
        "o",
        "overwrite theirs (asks first, as every save does)",
        Some("overwrite"),
        || Action::OverwriteTheirs
    ),
    bind!(
        CONFLICT,
        [(KeyCode::Char('e'), NONE), (KeyCode::Esc, NONE)],
        "e/Esc",
        "back to editing",
        Some("back"),
        || Action::Cancel
    ),
    bind!(
        DRAFT,
        [(KeyCode::Char('o'), NONE), (KeyCode::Enter, NONE)],
        "o/Enter",
        "open the draft",
        Some("open"),
        || Action::OpenDraft
    ),
    bind!(
        DRAFT,
        [(KeyCode::Char('d'), NONE)],
        "d",
        "discard the chosen draft (asks first)",
        Some("discard"),
        || { Action::AskDiscardDraft }
    ),
    bind!(DRAFT, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", "previous draft", None, || {
        Action::SelectDraft(-1)
    }),
    bind!(DRAFT, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", "next draft", None, || {
        Action::SelectDraft(1)
    }),
    bind!(DRAFT, [(KeyCode::Esc, NONE)], "Esc", "later (every draft is kept)", Some("later"), || {
        Action::Cancel
    }),
    bind!(
        HISTORY,
        [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑/k",
        "older revision",
        None,
        || Action::HistoryUp
    ),
    bind!(
        HISTORY,
        [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓/j",
        "newer revision",
        None,
        || Action::HistoryDown
    ),
    bind!(
        HISTORY,
        [(KeyCode::Enter, NONE)],
        "Enter",
        "restore: put this revision in the editor",
        Some("restore"),
        || Action::RestoreRevision
    ),
    bind!(
        HISTORY,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "Esc",
        "close the history",
        Some("close"),
        || Action::Cancel
    ),
    bind!(
        HELP,
        [(KeyCode::Esc, NONE), (KeyCode::Char('?'), NONE), (KeyCode::Char('q'), NONE), (KeyCode::F(1), NONE)],
        "Esc/?",
        "close the help",
        Some("close"),
        || Action::ToggleHelp
    ),
    bind!(
        HELP,
        [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓/j",
        "scroll the help down",
        None,
        || Action::ScrollHelp(1)
    ),
    bind!(
        HELP,
        [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑/k",
        "scroll the help up",
        None,
        || Action::ScrollHelp(-1)
    ),
    bind!(
        BROWSE,
        [(KeyCode::Char('?'), NONE), (KeyCode::F(1), NONE)],
        "?",
        "help: every key",
        Some("help"),
        || Action::ToggleHelp
    ),
    bind!(EDIT, [(KeyCode::F(1), NONE)], "F1", "help: every key", Some("help"), || Action::ToggleHelp),
    bind!(BROWSE, [(KeyCode::Char('q'), NONE)], "q", "quit", Some("quit"), || Action::Quit),
    bind!(
        TOO_SMALL,
        [(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL), (KeyCode::Char('q'), CTRL)],
        "q/Ctrl-C",
        "quit (asks if unsaved); nothing else until resized",
        Some("quit"),
        || Action::Quit
    ),
    bind!(
        EVERYWHERE_BUT_DIALOG,
        [(KeyCode::Char('c'), CTRL), (KeyCode::Char('q'), CTRL)],
        "Ctrl-C",
        "quit (asks if there are unsaved changes)",
        None,
        || Action::Quit
    ),
];

/// Editing keys handled by the textarea itself, listed in the help.
pub const EDITOR_KEYS: &[(&str, &str)] = &[
    ("arrows, PgUp/PgDn", "move"),
    ("Shift+arrows", "select"),
    ("Ctrl-U / Ctrl-R", "undo / redo"),
    ("Ctrl-X/Alt-C/Ctrl-Y", "cut / copy / paste (within the editor)"),
    ("Ctrl-K / Ctrl-J", "delete to end / start of line"),
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
    input
}

/// The bindings of one mode that belong in the hint bar.
pub fn hints(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.hint.is_some() && b.modes.contains(&mode))
}

/// One line of the key reference: a section heading, or keys and what they do.
pub enum HelpRow {
    Heading(&'static str),
    Keys { keys: String, description: &'static str },
}

/// Every key, section by section: what the `?` help draws and `--help` prints.
pub fn help_rows() -> Vec<HelpRow> {
    use super::app::COMMANDS;
    let sections = [
        (Mode::Browse, "Browsing"),
        (Mode::Filter, "Filtering (type to filter)"),
        (Mode::Command, "Command line (type a command)"),
        (Mode::Edit, "Editing customData"),
        (Mode::History, "History"),
        (Mode::Conflict, "Conflict (someone saved first)"),
        (Mode::DraftFound, "Unsaved drafts found"),
        (Mode::Dialog, "Questions"),
        (Mode::TooSmall, "Terminal too small"),
        (Mode::Help, "This help"),
    ];
    let mut rows = Vec::new();
    for (mode, heading) in sections {
        rows.push(HelpRow::Heading(heading));
        for binding in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
            rows.push(HelpRow::Keys { keys: binding.label.to_owned(), description: binding.description });
        }
        if mode == Mode::Command {
            for command in COMMANDS {
                let usage = format!(":{} {}", command.name, command.args).trim_end().to_owned();
                rows.push(HelpRow::Keys { keys: usage, description: command.description });
            }
        }
        if mode == Mode::Edit {
            for (keys, description) in EDITOR_KEYS {
                rows.push(HelpRow::Keys { keys: (*keys).to_owned(), description });
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
