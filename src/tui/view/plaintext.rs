//! The plaintext of one sealed value, over the editor while the operator reads it. Closing it
//! drops the text; the editor underneath is drawn again in its place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::inert;
use crate::tui::app::Plaintext;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, plaintext: &Plaintext, theme: &Theme) {
    // What a sealed value holds came from whoever sealed it: inert like any other user text.
    let shown = inert::lines(&inert::json(&plaintext.text)).into_owned();
    let lines: Vec<Line> = shown.lines().map(|l| Line::from(l.to_owned())).collect();
    let kid = plaintext.kid.as_deref().map(|k| format!(" · kid {}", inert::line(k))).unwrap_or_default();
    let title = format!(" Plaintext of {}{kid} · Esc closes ", inert::line(&plaintext.path));
    let height = (lines.len() as u16).saturating_add(2).max(3);
    let rect = super::popup(frame, area, 72, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
}
