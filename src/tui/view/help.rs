//! The `?` help: every key, from the same table as the hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::keymap::{HelpRow, help_keys_width, help_rows};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let rows = help_rows();
    let width = help_keys_width(&rows) + 2;
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| match row {
            HelpRow::Heading(heading) => Line::from(Span::styled(heading, theme.title)),
            HelpRow::Keys { keys, description } => {
                Line::from(vec![Span::styled(format!("  {keys:<width$}"), theme.key), Span::raw(description)])
            }
        })
        .collect();
    let height = lines.len() as u16 + 2;
    let rect = super::popup(frame, area, 78, height);
    let fits = height <= rect.height;
    let title =
        if fits { " Keys · Esc or ? closes " } else { " Keys · ↑/↓ scroll · Esc or ? closes " };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    let max_scroll = height.saturating_sub(rect.height);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll.min(max_scroll), 0)), rect);
}
