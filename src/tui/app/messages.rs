//! What the screen says: the status line, and the last messages for `:messages`.

use super::*;

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
    /// It is about a moment that passes on the same screen, and goes with it.
    pub until: Option<Until>,
}

/// What ends a message before its screen does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The edited text being valid (and within the schema): the message called it invalid.
    Valid,
    /// A change of the edited text after this generation: "no changes" of a text the operator
    /// then changed said the opposite of the title's `modified` (bb26 T05).
    Edited { generation: u64 },
    /// The dry run's report: "still under way" stayed after it came (bb26 T03).
    DryRunDone,
}

/// How many messages `:messages` keeps.
pub const MESSAGES_KEPT: usize = 50;

/// Store work the runtime has sent off and not yet heard back about, for the status line;
/// the most important one when several are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pending {
    Loading,
    Exporting,
    /// A save is on its way: the editor waits for its answer (typing into it now would be
    /// lost or saved unseen), and quitting waits for it too.
    Saving,
    /// A confirmed `:patch` is being written: the overlay counts it and stays until it answers.
    Applying,
}

impl Pending {
    pub fn label(self) -> &'static str {
        match self {
            Pending::Loading => "loading…",
            Pending::Exporting => "exporting…",
            Pending::Saving => "saving…",
            Pending::Applying => "applying the patch…",
        }
    }
}

/// Why the screen writes nothing, when it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// `--read-only`.
    Asked,
    /// A PostgreSQL server that takes no writes (a hot standby, `default_transaction_read_only`):
    /// an editor opened there only ended in a refused save (bb53 F4).
    Server,
    /// The database file was replaced or removed under the screen: its writes would go to a
    /// file no one will read again.
    FileReplaced,
    /// The database file was cut short or damaged under the screen: no write can succeed on
    /// it until it is restored from a backup.
    FileDamaged,
}

impl ReadOnly {
    /// Whether the store refused writes since the screen began (not `--read-only`): an edit
    /// open then cannot be saved here, and the way out keeps it rather than ask to throw it
    /// away.
    pub fn refused_since_the_start(self) -> bool {
        matches!(self, Self::Server | Self::FileReplaced | Self::FileDamaged)
    }

    /// Why, in the words the refusals use.
    pub fn why(self) -> &'static str {
        match self {
            Self::Asked => "the database was opened read-only (--read-only or CUSTODIAN_READ_ONLY)",
            Self::Server => {
                "the server takes no writes (a hot standby, or default_transaction_read_only is on)"
            }
            Self::FileReplaced => {
                "the database file was replaced or removed since custodian opened it (start custodian again to work on the file there now)"
            }
            Self::FileDamaged => {
                "the database file is damaged (restore it from a backup, then start custodian again)"
            }
        }
    }
}

impl State {
    /// Says why nothing may be edited (a read-only store or server), if so.
    pub(super) fn refused_read_only(&mut self) -> bool {
        if let Some(read_only) = self.read_only {
            self.say(StatusKind::Error, format!("read-only: {}", read_only.why()));
        }
        self.read_only.is_some()
    }

    /// Says `text` and asks for nothing more: an answer whose only work is the message.
    pub(super) fn tell(&mut self, kind: StatusKind, text: impl Into<String>) -> Vec<Effect> {
        self.say(kind, text);
        Vec::new()
    }

    /// What the open of the database said before the screen started (a file others can write,
    /// an upgrade): on the status line and in `:messages`, since stderr is hidden under the
    /// alternate screen.
    pub fn say_at_start(&mut self, text: impl Into<String>) {
        self.say(StatusKind::Error, text);
    }

    /// The status line's message: the last one said, or while a save waits past its limit
    /// and nothing else is said, its warning.
    pub fn shown_status(&self) -> Option<(StatusKind, &str)> {
        let unanswered = || {
            self.save_unanswered
                .as_deref()
                .filter(|_| self.pending == Some(Pending::Saving))
                .map(|text| (StatusKind::Error, text))
        };
        self.status.as_ref().map(|s| (s.kind, s.text.as_str())).or_else(unanswered)
    }

    pub(super) fn say(&mut self, kind: StatusKind, text: impl Into<String>) {
        let text = text.into();
        if self.said.len() == MESSAGES_KEPT {
            self.said.pop_front();
        }
        self.said.push_back(text.clone());
        self.status = Some(Status { kind, text, shown_in: None, until: None });
    }

    /// [`State::say`] a message that goes, on the same screen, when `until` has come.
    pub(super) fn say_until(&mut self, kind: StatusKind, text: impl Into<String>, until: Until) {
        self.say(kind, text);
        if let Some(status) = &mut self.status {
            status.until = Some(until);
        }
    }

    /// Clears the message when what it describes is gone: its screen was left, or the text
    /// it called invalid is valid now. A new message is tied to the screen it appears on.
    pub(super) fn expire_status(&mut self) {
        let mode = self.mode();
        let come = match self.status.as_ref().and_then(|s| s.until) {
            Some(Until::Valid) => self.editor.as_ref().is_none_or(|e| e.is_checked() && e.is_savable()),
            Some(Until::Edited { generation }) => {
                self.editor.as_ref().is_none_or(|e| e.generation != generation)
            }
            Some(Until::DryRunDone) => self.patch.as_ref().is_none_or(|view| view.report.is_some()),
            None => false,
        };
        let Some(status) = &mut self.status else { return };
        match status.shown_in {
            None => status.shown_in = Some(mode),
            Some(shown_in) if shown_in != mode => self.status = None,
            Some(_) if come => self.status = None,
            Some(_) => {}
        }
    }
}
