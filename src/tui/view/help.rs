//! The `?` help: every key, from the same table as the hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::help_layout::{HelpLine, help_layout};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let layout = help_layout(area.width);
    let lines: Vec<Line> = layout
        .lines
        .into_iter()
        .map(|line| match line {
            HelpLine::Heading(heading) => Line::from(Span::styled(heading, theme.title)),
            HelpLine::Keys { lead, text } => Line::from(vec![Span::styled(lead, theme.key), Span::raw(text)]),
        })
        .collect();
    let height = lines.len() as u16 + 2;
    let rect = super::popup(frame, area, layout.box_width, height);
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
