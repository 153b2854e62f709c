//! Keys typed before a question was on the screen are not its answers. A dialog that opens
//! on its own — the conflict view or a question after a save's read of what is stored, the
//! drafts found at start-up — took the keys already on their way: the `o` of `foo` typed after
//! `Ctrl-S` overwrote a colleague's newer save, the `y` of `hey` removed keys, and `/andy`
//! typed while custodian started threw a crashed session's draft away (bb26 T15–T17). So a
//! dialog answers only keys read once it has been drawn; those waiting just before it first is
//! are dropped.

use std::mem::Discriminant;

use crate::tui::app::{Action, Dialog, State};

/// Which dialog the last frame showed.
#[derive(Default)]
pub(super) struct QuestionOnScreen {
    drawn: Option<Discriminant<Dialog>>,
}

impl QuestionOnScreen {
    /// Whether `state` holds a dialog the screen has not shown yet: a key now is not meant for it.
    pub(super) fn unseen(&self, state: &State) -> bool {
        state.dialog.as_ref().is_some_and(|dialog| Some(std::mem::discriminant(dialog)) != self.drawn)
    }

    /// Notes the frame just drawn: the dialog it showed, if any, is seen.
    pub(super) fn frame_drawn(&mut self, state: &State) {
        self.drawn = state.dialog.as_ref().map(std::mem::discriminant);
    }

    /// Whether `action`, read while [`QuestionOnScreen::unseen`], is dropped: every key, paste
    /// and click; a resize still counts.
    pub(super) fn drops(action: &Action) -> bool {
        !matches!(action, Action::Resize { .. })
    }
}
