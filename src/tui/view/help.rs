//! The `?` help: every key, from the same table as the hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::Mode;
use crate::tui::keymap::{BINDINGS, EDITOR_KEYS};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
    let sections = [
        (Mode::Browse, "Browsing"),
        (Mode::Filter, "Filtering (type to filter)"),
        (Mode::Edit, "Editing customData"),
        (Mode::Dialog, "Questions"),
    ];
    let mut lines = Vec::new();
    for (mode, heading) in sections {
        lines.push(Line::from(Span::styled(heading, theme.title)));
        for binding in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<14}", binding.label), theme.key),
                Span::raw(binding.description),
            ]));
        }
        if mode == Mode::Edit {
            for (keys, description) in EDITOR_KEYS {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<14}"), theme.key),
                    Span::raw(*description),
                ]));
            }
        }
    }
    let height = lines.len() as u16 + 2;
    let rect = super::popup(frame, area, 76, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Keys · Esc or ? closes ", theme.title))
        .border_style(theme.focused_border);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
