//! `i`: the selected user whole, every property, each value wrapped at the overlay's edge
//! (rows laid out by [`whole_user::rows`], which the scrolling counts too).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::inert;
use crate::store::UserRecord;
use crate::tui::theme::Theme;
use crate::tui::whole_user::{self, LABEL_WIDTH};

pub fn render(frame: &mut Frame, area: Rect, record: &UserRecord, scroll: u16, width: u16, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let handle = inert::line(record.user.handle()).into_owned();
    let title = format!(" User {} · every property · Esc closes ", inert::cut_to_width(&handle, 40));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    let lines: Vec<Line> = whole_user::rows(record, width)
        .into_iter()
        .map(|row| {
            Line::from(vec![
                Span::styled(format!("{:<width$}", row.label, width = LABEL_WIDTH), theme.label),
                Span::raw(row.text),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}
