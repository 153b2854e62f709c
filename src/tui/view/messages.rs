//! `:messages`: the last things the status line said, each whole and wrapped, newest last —
//! a recovery file's path is never lost to a short status line. It opens on the newest and
//! scrolls back ([`crate::tui::messages_layout`]).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::tui::app::State;
use crate::tui::messages_layout;
use crate::tui::theme::Theme;

/// In `area`, the screen above the status line.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let (inner_width, inner_height) = messages_layout::inner(state.width, state.height);
    let rows = messages_layout::rows(&state.said, inner_width);
    let room = rows.saturating_sub(usize::from(inner_height));
    let back = usize::from(state.messages_back).min(room);
    // The keys are named only where there is more than the box shows.
    let title = match (room, back) {
        (0, _) => " Messages, newest last · Esc closes ".to_owned(),
        (_, 0) => " Messages, newest last · ↑/k PgUp older · Esc closes ".to_owned(),
        (_, back) if back == room => " Messages, the oldest · ↓/j PgDn newer · Esc closes ".to_owned(),
        _ => " Messages · ↑↓ PgUp PgDn scroll, End the newest · Esc closes ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    let lines: Vec<Line> = if state.said.is_empty() {
        vec![Line::from(Span::styled("nothing said yet", theme.dim))]
    } else {
        messages_layout::lines(&state.said)
    };
    // The newest at the bottom, scrolled back by what the operator asked.
    let scroll = u16::try_from(room - back).unwrap_or(u16::MAX);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    frame.render_widget(paragraph.block(block).scroll((scroll, 0)), rect);
}
