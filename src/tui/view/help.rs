//! The `?` help: every key, from the same table as the hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::tui::keymap::{HelpRow, help_keys_width, help_rows};
use crate::tui::theme::Theme;

/// The help's box is at least this wide, and as wide as its longest row where the terminal
/// has room.
const AT_LEAST: u16 = 78;

pub fn render(frame: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let rows = help_rows();
    let width = help_keys_width(&rows) + 2;
    let widest = rows
        .iter()
        .map(|row| match row {
            HelpRow::Heading(heading) => heading.width(),
            HelpRow::Keys { description, .. } => 2 + width + description.width(),
        })
        .max()
        .unwrap_or(0);
    let box_width = u16::try_from(widest + 2).unwrap_or(u16::MAX).max(AT_LEAST).min(area.width);
    // A description longer than the room goes on below its keys, cut at a space: it was cut
    // mid-word with nothing to say so (bb11).
    let room = usize::from(box_width.saturating_sub(2)).saturating_sub(2 + width).max(10);
    let mut lines: Vec<Line> = Vec::new();
    for row in rows {
        match row {
            HelpRow::Heading(heading) => lines.push(Line::from(Span::styled(heading, theme.title))),
            HelpRow::Keys { keys, description } => {
                for (at, part) in wrapped(&description, room).into_iter().enumerate() {
                    let lead = if at == 0 { format!("  {keys:<width$}") } else { " ".repeat(2 + width) };
                    lines.push(Line::from(vec![Span::styled(lead, theme.key), Span::raw(part)]));
                }
            }
        }
    }
    let height = lines.len() as u16 + 2;
    let rect = super::popup(frame, area, box_width, height);
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

/// `text` in lines of at most `room` columns, broken at spaces (a word longer than the room
/// is cut, marked with `…`).
fn wrapped(text: &str, room: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        let needed = if line.is_empty() { word.width() } else { line.width() + 1 + word.width() };
        if needed > room && !line.is_empty() {
            lines.push(String::new());
        }
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&crate::inert::cut_to_width(word, room));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrapped;

    #[test]
    fn a_description_is_wrapped_at_spaces_and_a_word_too_long_is_cut_saying_so() {
        assert_eq!(wrapped("seal the value under the cursor", 14), ["seal the value", "under the", "cursor"]);
        assert_eq!(wrapped("short", 14), ["short"]);
        assert_eq!(wrapped("a verylongwordindeed b", 8), ["a", "verylon…", "b"]);
    }
}
