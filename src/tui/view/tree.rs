//! The customData pane while it has the focus: the folding tree, the focused line in reverse
//! video, its path in the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::inert;
use crate::tui::app::State;
use crate::tui::theme::Theme;
use crate::tui::tree::{Shape, Tree};

pub fn render(frame: &mut Frame, area: Rect, state: &State, tree: &Tree, theme: &Theme) {
    let revision = state.document.as_ref().map(|d| d.revision).unwrap_or_default();
    let path = inert::line(&tree.path(tree.cursor.node)).into_owned();
    let title = format!(" customData · revision {revision} · {path} ");
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            inert::cut_to_width(&title, usize::from(area.width.saturating_sub(2))).into_owned(),
            theme.title,
        ))
        .border_style(theme.focused_border);
    let inner = block.inner(area);
    let colours = theme.json;
    let lines: Vec<Line> = tree
        .rows_from(tree.top, usize::from(inner.height))
        .into_iter()
        .map(|row| {
            let line = tree.line(row);
            let value_style = match (&tree.node(row.node).shape, colours) {
                _ if line.folded => theme.dim,
                (Shape::Scalar(text), Some(c)) => Style::new().fg(match text.as_bytes().first() {
                    Some(b'"') => c.string,
                    Some(b't' | b'f' | b'n') => c.literal,
                    _ => c.number,
                }),
                _ => Style::new(),
            };
            let key_style = colours.map_or(Style::new(), |c| Style::new().fg(c.key));
            // Indentation cut to a third of the pane, as the diffs cut it: nested 60 deep, every
            // line was spaces past the pane's edge and the pane blank (bb96 F2).
            let indent = (2 * line.indent).min(usize::from(inner.width) / 3);
            let mut spans = vec![
                Span::raw(" ".repeat(indent)),
                // Keys and values are JSON text: hidden characters as the pane shows them
                // (`\u009b`, the same JSON value), never raw.
                Span::styled(inert::line(&inert::json(&line.key)).into_owned(), key_style),
                // A sealed value shows short, as in the unfocused pane.
                Span::styled(
                    super::document::shorten_sealed(&inert::line(&inert::json(&line.value)), theme.ascii)
                        .into_owned(),
                    value_style,
                ),
            ];
            if line.comma {
                spans.push(Span::raw(","));
            }
            let drawn = Line::from(spans);
            if row == tree.cursor { drawn.style(theme.selected) } else { drawn }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
