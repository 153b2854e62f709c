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

/// Which dialog the last frame showed, and the last `:user` that found no one it showed.
#[derive(Default)]
pub(super) struct QuestionOnScreen {
    drawn: Option<Discriminant<Dialog>>,
    /// [`State::jump_misses`] as last drawn, and when it was first drawn.
    miss_drawn: u64,
    miss_drawn_at: Option<Instant>,
}

/// Why a key was dropped ([`QuestionOnScreen::dropped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dropped {
    /// Typed ahead of a `:user` that found no one, or a command line refused: counted there.
    AheadOfAFailure,
    /// Typed before a dialog was on the screen: not its answer.
    BeforeTheQuestion,
}

/// How long after a `:user` that found no one is drawn a key that moves or acts is still taken
/// as typed ahead of it (over a slow link the rest of a burst comes in after the frame).
const MISS_GRACE: Duration = Duration::from_millis(1_000);

impl QuestionOnScreen {
    /// Whether `state` holds a dialog the screen has not shown yet, or a `:user` that found no
    /// one: a key now is not meant for it (the burst `:u typo⏎e…⌃S` saved into the user
    /// selected before: bb88 F1, bb91 F1).
    pub(super) fn unseen(&self, state: &State) -> bool {
        state.dialog.as_ref().is_some_and(|dialog| Some(std::mem::discriminant(dialog)) != self.drawn)
            || self.miss_unseen(state)
    }

    /// Whether a `:user` that found no one is not drawn yet.
    pub(super) fn miss_unseen(&self, state: &State) -> bool {
        state.jump_misses != self.miss_drawn
    }

    /// Notes the frame just drawn: the dialog it showed, if any, is seen, and so is a `:user`
    /// that found no one.
    pub(super) fn frame_drawn(&mut self, state: &State) {
        self.drawn = state.dialog.as_ref().map(std::mem::discriminant);
        if self.miss_unseen(state) {
            self.miss_drawn = state.jump_misses;
            self.miss_drawn_at = Some(Instant::now());
        }
    }

    /// Whether `action`, read once a `:user` that found no one was drawn, is still dropped as
    /// typed ahead of it: any key within [`MISS_GRACE`] (only those that moved or acted were, and
    /// the `q` or `:` of the rest of a burst split in two quit or took the command line: bb92
    /// F7); later ones are the operator's (every next key was refused, even seconds later: bb91
    /// F5).
    pub(super) fn drops_after_a_miss(&self, action: &Action) -> bool {
        self.miss_drawn_at.is_some_and(|at| at.elapsed() < MISS_GRACE) && Self::drops(action)
    }

    /// Why `action`, read now, is dropped, if it is: typed ahead of a failed command (not drawn
    /// yet, or drawn within [`MISS_GRACE`]), or before a dialog was on the screen.
    pub(super) fn dropped(&self, state: &State, action: &Action) -> Option<Dropped> {
        if self.miss_unseen(state) && Self::drops(action) || self.drops_after_a_miss(action) {
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
