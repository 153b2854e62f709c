//! The `?` help overlay and `i`'s overlay of the selected user: open, close, scroll.
//!
//! How far it scrolls is a layout fact ([`help_layout::max_scroll`]): the help's lines as drawn
//! at the terminal's width (a description too long for it takes two). The key table is data
//! over the app's vocabulary (`Action`, `Mode`, the `:` commands): it never calls into the
//! app's transitions or reads its `State`.

use super::*;

use crate::tui::{help_layout, whole_user};

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
        self.rows.len().saturating_sub(usize::from(whole_user::inner_height(height)))
    }
}

impl State {
    /// `?`: the help opens at its top, or closes.
    pub(super) fn toggle_help(&mut self) -> Vec<Effect> {
        self.help = !self.help;
        self.help_scroll = 0;
        Vec::new()
    }

    /// Scrolls by `lines`, never past the help's last line.
    pub(super) fn scroll_help(&mut self, lines: i16) -> Vec<Effect> {
        self.help_scroll = self
            .help_scroll
            .saturating_add_signed(lines)
            .min(help_layout::max_scroll(self.width, self.height));
        Vec::new()
    }

    /// `i`: the selected user whole (a user not loaded yet has nothing to show). Laid out
    /// once here and at a resize, not at every frame: a user's fields may take 14 MiB.
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
        let (width, height) = (self.width, self.height);
        if let (Some(view), Some(record)) = (&mut self.whole_user, &self.user) {
            view.rows = whole_user::rows(record, width);
            view.scroll = view.scroll.min(view.max_scroll(height));
        }
    }

    /// Scrolls the user's overlay by `rows`, never past its last row.
    pub(super) fn scroll_whole_user(&mut self, rows: i16) -> Vec<Effect> {
        let height = self.height;
        if let Some(view) = &mut self.whole_user {
            view.scroll = view.scroll.saturating_add_signed(isize::from(rows)).min(view.max_scroll(height));
        }
        Vec::new()
    }

    /// The overlay's top or bottom (its rows may be more than a scroll by rows reaches).
    pub(super) fn whole_user_edge(&mut self, bottom: bool) -> Vec<Effect> {
        let height = self.height;
        if let Some(view) = &mut self.whole_user {
            view.scroll = if bottom { view.max_scroll(height) } else { 0 };
        }
        Vec::new()
    }

    /// A page of the user's overlay, less a row kept for context.
    pub(super) fn whole_user_page(&mut self, direction: i8) -> Vec<Effect> {
        let page = whole_user::inner_height(self.height).saturating_sub(1).max(1) as i16;
        self.scroll_whole_user(if direction < 0 { -page } else { page })
    }

    /// A page is what the help shows at once, less a line kept for context (as less).
    pub(super) fn help_page(&mut self, direction: i8) -> Vec<Effect> {
        let page = self.height.saturating_sub(4).max(1) as i16;
        self.scroll_help(if direction < 0 { -page } else { page })
    }
}
