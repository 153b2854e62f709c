//! The plaintext of one sealed value, over the editor while the operator reads it. Closing it
//! drops the text; the editor underneath is drawn again in its place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::inert;
use crate::tui::app::Plaintext;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, plaintext: &Plaintext, theme: &Theme) {
    // What a sealed value holds came from whoever sealed it: inert like any other user text,
    // in rows of the overlay's width, scrolled (`j`/`k`, `PgDn`, `End`).
    let rows = plaintext.rows(frame.area().width);
    let shown = usize::from(crate::tui::layout::plaintext_inner(area.width, area.height.saturating_add(1)).1);
    let scroll = plaintext.scroll.min(rows.len().saturating_sub(shown));
    let lines: Vec<Line> = rows.iter().skip(scroll).take(shown).map(|row| Line::from(row.clone())).collect();
    let kid = plaintext.kid.as_deref().map(|k| format!(" · kid {}", inert::line(k))).unwrap_or_default();
    // A value longer than the overlay says which rows are shown, and how to see the rest.
    let place = if rows.len() > shown {
        format!(" · rows {}–{} of {} (j/k, PgDn, End)", scroll + 1, scroll + lines.len(), rows.len())
    } else {
        String::new()
    };
    let title = format!(" Plaintext of {}{kid}{place} · Esc closes ", inert::line(&plaintext.path));
    let height = (lines.len() as u16).saturating_add(2).max(3);
    let rect = super::popup(frame, area, 72, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
