//! The screen's modes: which keys are live.

/// Which keys are live, derived from the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Browse,
    Filter,
    Edit,
    History,
    /// The journal overlay (`:changes`).
    Changes,
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
    /// `i`: the selected user whole, every property, in an overlay.
    WholeUser,
    /// Too small a terminal: nothing underneath is shown; only quitting and resizing work.
    TooSmall,
}
