//! `:messages`: the last things the status line said, each whole and wrapped, newest last —
//! a recovery file's path is never lost to a short status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::inert;
use crate::tui::app::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Messages, newest last · Esc closes ", theme.title))
        .border_style(theme.focused_border);
    let inner_width = rect.width.saturating_sub(2).max(1);
    let lines: Vec<Line> = if state.said.is_empty() {
        vec![Line::from(Span::styled("nothing said yet", theme.dim))]
    } else {
        state.said.iter().map(|text| Line::from(inert::line(text).into_owned())).collect()
    };
    // The newest at the bottom: scroll so the last wrapped row is on the last row. The rows
    // are counted by the paragraph's own word wrapping: counted by characters, a long word (a
    // path, a quoted reference) pushed to a row of its own was missed, and as many of the
    // newest rows fell below the box, which does not scroll (bb26 T14).
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let rows = paragraph.line_count(inner_width);
    let inner_height = usize::from(rect.height.saturating_sub(2));
    let scroll = u16::try_from(rows.saturating_sub(inner_height)).unwrap_or(u16::MAX);
    frame.render_widget(paragraph.block(block).scroll((scroll, 0)), rect);
}
