//! `:messages` laid out for a terminal: each message whole, wrapped in a box two columns in from
//! each side. One count of its rows for the view, which draws the newest at the bottom, and the
//! state, which scrolls back from there: at 80×24 only the newest ten of the fifty were reachable
//! (bb96 F3).

use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::inert;

/// The messages as the box's lines.
pub fn lines(said: &std::collections::VecDeque<String>) -> Vec<Line<'static>> {
    said.iter().map(|text| Line::from(inert::line(text).into_owned())).collect()
}

/// The box inside a `width`×`height` terminal: its inner width and height (borders off), above
/// the status line and the hint bar and a row clear of each edge.
pub fn inner(width: u16, height: u16) -> (u16, u16) {
    (width.saturating_sub(6).max(1), height.saturating_sub(6))
}

/// How many rows the messages take wrapped at `inner_width`. Counted by the paragraph's own
/// word wrapping: counted by characters, a long word (a path) pushed to a row of its own was
/// missed, and as many of the newest rows fell below the box (bb26 T14).
pub fn rows(said: &std::collections::VecDeque<String>, inner_width: u16) -> usize {
    Paragraph::new(lines(said)).wrap(Wrap { trim: false }).line_count(inner_width)
}

/// How far back from the newest the box can scroll on a `width`×`height` terminal.
pub fn max_back(said: &std::collections::VecDeque<String>, width: u16, height: u16) -> u16 {
    let (inner_width, inner_height) = inner(width, height);
    u16::try_from(rows(said, inner_width).saturating_sub(usize::from(inner_height))).unwrap_or(u16::MAX)
}
