//! `i`: the selected user whole, every property, each value wrapped at the overlay's edge
//! (rows laid out by [`whole_user::rows`] when it opened or the terminal was resized).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::inert;
use crate::tui::app::WholeUserView;
use crate::tui::theme::Theme;
use crate::tui::whole_user::LABEL_WIDTH;

pub fn render(frame: &mut Frame, area: Rect, view: &WholeUserView, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let handle = inert::line(&view.handle).into_owned();
    let title = format!(" User {} · every property · Esc closes ", inert::cut_to_width(&handle, 40));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    // Only the rows on screen become lines.
    let shown = usize::from(rect.height.saturating_sub(2));
    let lines: Vec<Line> = view
        .rows
        .iter()
        .skip(view.scroll)
        .take(shown)
        .map(|row| {
            Line::from(vec![
                // Padded by display columns: a CJK name pushed its value a column right per character
                // (bb16 L14).
                Span::styled(crate::inert::fit_to_width(&row.label, LABEL_WIDTH), theme.label),
                Span::raw(row.text.clone()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
