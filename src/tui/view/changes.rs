//! The journal overlay: every save across users, newest first, one line each.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::human_bytes;
use crate::domain::time::format_utc;
use crate::inert;
use crate::tui::app::ChangesView;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, view: &ChangesView, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Changes: every save, newest first ", theme.title))
        .border_style(theme.focused_border);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // The last line says whether there is more (or that the list is being read).
    let height = usize::from(inner.height.saturating_sub(1));
    let top = view.selected.saturating_sub(height.saturating_sub(1));
    let mut lines: Vec<Line> = view
        .rows
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, row)| {
            let entry = &row.entry;
            let user = if entry.is_load() {
                "(bulk load)".to_owned()
            } else if row.handle.is_empty() || row.handle == entry.user_id {
                entry.user_id.clone()
            } else {
                format!("{} ({})", row.handle, entry.user_id)
            };
            let mut text = format!(
                "{}  {:<16} {:<28} {:>4} {:>9}  {}",
                format_utc(entry.saved_at),
                inert::cut_to_width(&inert::line(&entry.saved_by), 16),
                inert::cut_to_width(&inert::line(&user), 28),
                entry.revision,
                human_bytes(entry.size),
                inert::line(&entry.key_summary()),
            );
            if let Some(batch) = &entry.batch {
                text.push_str(&format!("  [{}]", inert::line(&batch.0)));
            }
            let text = inert::cut_to_width(&text, usize::from(inner.width)).into_owned();
            if i == view.selected { Line::from(Span::styled(text, theme.selected)) } else { Line::from(text) }
        })
        .collect();
    lines.resize(height, Line::from(""));
    let footer = if view.loading {
        "reading…".to_owned()
    } else if view.at_end {
        format!("{} entries: the start of the journal", view.rows.len())
    } else {
        format!("{} entries read; older ones are read as you go down", view.rows.len())
    };
    lines.push(Line::from(Span::styled(footer, theme.dim)));
    frame.render_widget(Paragraph::new(lines), inner);
}
