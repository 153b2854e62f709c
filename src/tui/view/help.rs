//! The `?` help: every key, from the same table as the hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::{COMMANDS, Mode};
use crate::tui::keymap::{BINDINGS, EDITOR_KEYS};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let sections = [
        (Mode::Browse, "Browsing"),
        (Mode::Filter, "Filtering (type to filter)"),
        (Mode::Command, "Command line (type a command)"),
        (Mode::Edit, "Editing customData"),
        (Mode::History, "History"),
        (Mode::Conflict, "Conflict (someone saved first)"),
        (Mode::DraftFound, "Unsaved draft found"),
        (Mode::Dialog, "Questions"),
    ];
    let width = BINDINGS
        .iter()
        .map(|b| b.label.chars().count())
        .chain(EDITOR_KEYS.iter().map(|(k, _)| k.chars().count()))
        .max()
        .unwrap_or(0)
        + 4;
    let mut lines = Vec::new();
    for (mode, heading) in sections {
        lines.push(Line::from(Span::styled(heading, theme.title)));
        for binding in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<width$}", binding.label), theme.key),
                Span::raw(binding.description),
            ]));
        }
        if mode == Mode::Command {
            for command in COMMANDS {
                let usage = format!(":{} {}", command.name, command.args);
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<width$}", usage.trim_end()), theme.key),
                    Span::raw(command.description),
                ]));
            }
        }
        if mode == Mode::Edit {
            for (keys, description) in EDITOR_KEYS {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<width$}"), theme.key),
                    Span::raw(*description),
                ]));
            }
        }
    }
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
