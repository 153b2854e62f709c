//! `i`'s overlay of the selected user: open, lay out again at a resize, scroll, close (Esc:
//! [`State::cancel`]). The rows are laid out by [`whole_user::rows`] when it opens and at a
//! resize, not at every frame: a user's fields may take 1 MiB (older
//! databases: 14 MiB).

use super::*;

use crate::tui::{layout, whole_user};

/// `i`'s overlay: the user as it was when it opened, laid out for the terminal's width.
#[derive(Debug, Clone)]
pub struct WholeUserView {
    pub handle: String,
    pub rows: Vec<whole_user::Row>,
    /// Rows scrolled past (a user's fields may wrap to more rows than a `u16` counts).
    pub scroll: usize,
}

impl WholeUserView {
    /// How far it scrolls on a screen `height` rows high: its last row on the overlay's last
    /// line and no further.
    pub fn max_scroll(&self, height: u16) -> usize {
        self.rows.len().saturating_sub(usize::from(layout::overlay_inner(0, height).1))
    }
}

impl State {
    /// `i`: the selected user whole (a user not loaded yet has nothing to show).
    pub(super) fn open_whole_user(&mut self) -> Vec<Effect> {
        match &self.user {
            Some(record) => {
                self.whole_user = Some(WholeUserView {
                    handle: record.user.handle().to_owned(),
                    rows: whole_user::rows(record, self.width),
                    scroll: 0,
                })
            }
            None => self.say(StatusKind::Info, "no user selected"),
        }
        Vec::new()
    }

    /// The overlay laid out again for a new terminal width, at the same scroll if it can be.
    pub(super) fn relayout_whole_user(&mut self) {
        let width = self.width;
        if let (Some(view), Some(record)) = (&mut self.whole_user, &self.user) {
            view.rows = whole_user::rows(record, width);
        }
        self.scroll_whole_user_to(|scroll, _| scroll);
    }

    /// Scrolls the user's overlay by `rows`.
    pub(super) fn scroll_whole_user(&mut self, rows: i16) -> Vec<Effect> {
        self.scroll_whole_user_to(|scroll, _| scroll.saturating_add_signed(isize::from(rows)));
        Vec::new()
    }

    /// The overlay's top or bottom (its rows may be more than a scroll by rows reaches).
    pub(super) fn whole_user_edge(&mut self, bottom: bool) -> Vec<Effect> {
        self.scroll_whole_user_to(|_, most| if bottom { most } else { 0 });
        Vec::new()
    }

    /// A page of the user's overlay, less a row kept for context.
    pub(super) fn whole_user_page(&mut self, direction: i8) -> Vec<Effect> {
        let page = layout::overlay_inner(self.width, self.height).1.saturating_sub(1).max(1) as i16;
        self.scroll_whole_user(if direction < 0 { -page } else { page })
    }

    /// Sets the overlay's scroll to what `to` makes of it and of the most it scrolls, never
    /// past its last row.
    fn scroll_whole_user_to(&mut self, to: impl FnOnce(usize, usize) -> usize) {
        let height = self.height;
        if let Some(view) = &mut self.whole_user {
            let most = view.max_scroll(height);
            view.scroll = to(view.scroll, most).min(most);
        }
    }
}
