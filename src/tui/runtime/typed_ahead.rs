//! Keys typed before a question was on the screen are not its answers. A dialog that opens
//! on its own — the conflict view or a question after a save's read of what is stored, the
//! drafts found at start-up — took the keys already on their way: the `o` of `foo` typed after
//! `Ctrl-S` overwrote a colleague's newer save, the `y` of `hey` removed keys, and `/andy`
//! typed while custodian started threw a crashed session's draft away (bb26 T15–T17). So a
//! dialog answers only keys read once it has been drawn; those waiting just before it first is
//! are dropped.

use std::mem::Discriminant;
use std::time::{Duration, Instant};

use crate::tui::app::{Action, Dialog, State};

/// Which dialog the last frame showed, and the last failed command it showed.
#[derive(Default)]
pub(super) struct QuestionOnScreen {
    drawn: Option<Discriminant<Dialog>>,
    /// [`State::commands_failed`] as last drawn, and when it was first drawn.
    failure_drawn: u64,
    failure_drawn_at: Option<Instant>,
}

/// Why a key was dropped ([`QuestionOnScreen::dropped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dropped {
    /// Typed ahead of a `:user` that found no one, or a command line refused: counted there.
    AheadOfAFailure,
    /// Typed before a dialog was on the screen: not its answer.
    BeforeTheQuestion,
}

/// How long after a failed command is drawn a key is still taken as typed ahead of it (over a
/// slow link the rest of a burst comes in after the frame).
const FAILURE_GRACE: Duration = Duration::from_millis(1_000);

impl QuestionOnScreen {
    /// Whether `state` holds a dialog the screen has not shown yet, or a failed command: a key
    /// now is not meant for it (the burst `:u typo⏎e…⌃S` saved into the user selected before:
    /// bb88 F1, bb91 F1).
    pub(super) fn unseen(&self, state: &State) -> bool {
        state.dialog.as_ref().is_some_and(|dialog| Some(std::mem::discriminant(dialog)) != self.drawn)
            || self.failure_unseen(state)
    }

    /// Whether a failed command is not drawn yet.
    pub(super) fn failure_unseen(&self, state: &State) -> bool {
        state.commands_failed != self.failure_drawn
    }

    /// Notes the frame just drawn: the dialog it showed, if any, is seen, and so is a failed
    /// command.
    pub(super) fn frame_drawn(&mut self, state: &State) {
        self.drawn = state.dialog.as_ref().map(std::mem::discriminant);
        if self.failure_unseen(state) {
            self.failure_drawn = state.commands_failed;
            self.failure_drawn_at = Some(Instant::now());
        }
    }

    /// Whether `action`, read once a failed command was drawn, is still dropped as
    /// typed ahead of it: any key within [`FAILURE_GRACE`] (only those that moved or acted were, and
    /// the `q` or `:` of the rest of a burst split in two quit or took the command line: bb92
    /// F7); later ones are the operator's (every next key was refused, even seconds later: bb91
    /// F5).
    pub(super) fn drops_after_a_failure(&self, action: &Action) -> bool {
        self.failure_drawn_at.is_some_and(|at| at.elapsed() < FAILURE_GRACE) && Self::drops(action)
    }

    /// Why `action`, read now, is dropped, if it is: typed ahead of a failed command (not drawn
    /// yet, or drawn within [`FAILURE_GRACE`]), or before a dialog was on the screen.
    pub(super) fn dropped(&self, state: &State, action: &Action) -> Option<Dropped> {
        if self.failure_unseen(state) && Self::drops(action) || self.drops_after_a_failure(action) {
            Some(Dropped::AheadOfAFailure)
        } else if self.unseen(state) && Self::drops(action) {
            Some(Dropped::BeforeTheQuestion)
        } else {
            None
        }
    }

    /// Whether `action`, read while [`QuestionOnScreen::unseen`], is dropped: every key, paste
    /// and click; a resize still counts.
    pub(super) fn drops(action: &Action) -> bool {
        !matches!(action, Action::Resize { .. })
    }
}
