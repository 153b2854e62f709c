//! Where each part of the screen goes, for a terminal size: read by the views that draw and
//! by the state that needs to know how many rows a pane shows (paging, scrolling), so neither
//! imports the other.

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal custodian draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// Rows of the details pane, borders included.
const DETAILS_HEIGHT: u16 = 13;

/// How many user rows the list shows at this terminal size.
pub fn list_height(width: u16, height: u16) -> usize {
    let _ = width;
    // Status line, hint bar and the list's two borders.
    height.saturating_sub(4).max(1) as usize
}

pub struct Areas {
    pub list: Rect,
    pub details: Rect,
    pub document: Rect,
    pub status: Rect,
    pub hints: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [main, status, hints] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let list_width = (main.width * 7 / 20).clamp(28, 48);
    let [list, right] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(1)]).areas(main);
    let [details, document] =
        Layout::vertical([Constraint::Length(DETAILS_HEIGHT), Constraint::Min(3)]).areas(right);
    Areas { list, details, document, status, hints }
}

/// Which visible list row (0 = the top one) is at a terminal cell, if any: for mouse clicks.
pub fn list_row_at(width: u16, height: u16, column: u16, row: u16) -> Option<usize> {
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        return None;
    }
    let list = areas(Rect::new(0, 0, width, height)).list;
    let inside = column > list.x && column + 1 < list.right() && row > list.y && row + 1 < list.bottom();
    inside.then(|| usize::from(row - list.y - 1))
}

/// How far a help of `help_lines` lines scrolls on a screen `screen_height` rows high: its
/// lines and borders less the rows above the hint bar, so the last key is on the last line
/// and no further.
pub fn help_max_scroll(screen_height: u16, help_lines: u16) -> u16 {
    help_lines.saturating_add(2).saturating_sub(screen_height.saturating_sub(1))
}

/// The columns and rows inside the borders of an overlay (the history, `:patch`, `i`) on a
/// screen `width` × `height`: it sits above the status line and hint bar, two columns in from
/// each side and a row free above and below it.
/// The plaintext overlay's inside on a screen `width`×`height`: its width, and the most rows
/// it shows (it stands above the hint bar, 72 columns wide at most, with a border).
pub fn plaintext_inner(width: u16, height: u16) -> (u16, u16) {
    (width.min(72).saturating_sub(2), height.saturating_sub(1).saturating_sub(2))
}

pub fn overlay_inner(width: u16, height: u16) -> (u16, u16) {
    (width.saturating_sub(6), height.saturating_sub(6))
}

/// Rows of `:patch`'s diff on a screen `height` rows high, below a summary of `summary_rows`
/// inside the overlay; the diff has a top border of its own.
pub fn patch_diff_rows(height: u16, summary_rows: u16) -> u16 {
    overlay_inner(0, height).1.saturating_sub(summary_rows + 1)
}

/// The history overlay's list of revisions and its diff (below a border of its own), inside
/// the overlay's borders: `inner`.
pub fn history_areas(inner: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Percentage(40), Constraint::Min(3)]).areas(inner)
}

/// Rows of the history's diff on a screen `height` rows high, inside the overlay.
pub fn history_diff_rows(height: u16) -> u16 {
    let inner = Rect::new(0, 0, 1, overlay_inner(0, height).1);
    history_areas(inner)[1].height.saturating_sub(1)
}

/// Where the editor's text area is drawn at this terminal size: the customData pane inside
/// its borders (empty below the smallest size custodian draws in).
pub fn editor_text_area(width: u16, height: u16) -> Rect {
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        return Rect::default();
    }
    areas(Rect::new(0, 0, width, height)).document.inner(ratatui::layout::Margin::new(1, 1))
}

/// How many lines the customData pane shows inside its borders at this terminal size.
pub fn document_rows(width: u16, height: u16) -> usize {
    usize::from(areas(Rect::new(0, 0, width, height)).document.height.saturating_sub(2)).max(1)
}
