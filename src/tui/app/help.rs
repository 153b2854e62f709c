//! The `?` help overlay: open, close, scroll.
//!
//! How far it scrolls is a layout fact ([`help_layout::max_scroll`]): the help's lines as drawn
//! at the terminal's width (a description too long for it takes two). The key table is data
//! over the app's vocabulary (`Action`, `Mode`, the `:` commands): it never calls into the
//! app's transitions or reads its `State`.

use super::*;

use crate::tui::help_layout;

impl State {
    /// `?`: the help opens at its top, or closes.
    pub(super) fn toggle_help(&mut self) -> Vec<Effect> {
        self.help = !self.help;
        self.help_scroll = 0;
        Vec::new()
    }

    /// Scrolls by `lines`, never past the help's last line — from where the help shows now: made
    /// taller, the screen shows less to scroll, and the first `k` did nothing (bb96 F4).
    pub(super) fn scroll_help(&mut self, lines: i16) -> Vec<Effect> {
        let most = help_layout::max_scroll(self.width, self.height);
        self.help_scroll = self.help_scroll.min(most).saturating_add_signed(lines).min(most);
        Vec::new()
    }

    /// A page is what the help shows at once, less a line kept for context (as less).
    pub(super) fn help_page(&mut self, direction: i8) -> Vec<Effect> {
        let page = self.height.saturating_sub(4).max(1) as i16;
        self.scroll_help(if direction < 0 { -page } else { page })
    }
}
