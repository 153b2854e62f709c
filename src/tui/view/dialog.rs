//! Questions that must be answered before anything else happens.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::inert;
use crate::tui::app::Dialog;
use crate::tui::theme::Theme;

/// Keys listed in the drop dialog before it says "and N more".
const MAX_LISTED: usize = 8;

pub fn render(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: &Theme) {
    let (title, mut lines) = match dialog {
        Dialog::ConfirmDrop { dropped, data } => {
            let mut lines = vec![Line::from(format!(
                "This save replaces customData whole and removes {} top-level key{}:",
                dropped.len(),
                if dropped.len() == 1 { "" } else { "s" }
            ))];
            for key in dropped.iter().take(MAX_LISTED) {
                lines.push(Line::from(Span::styled(format!("  − {}", inert::line(key)), theme.removed)));
            }
            if dropped.len() > MAX_LISTED {
                lines.push(Line::from(format!("  … and {} more", dropped.len() - MAX_LISTED)));
            }
            if data.as_object().is_empty() {
                lines.push(Line::from(Span::styled("The new customData is empty: {}", theme.warning)));
            }
            (" Remove keys? ", lines)
        }
        Dialog::ConfirmDiscard => {
            (" Discard changes? ", vec![Line::from("Leave the editor and throw away your unsaved changes?")])
        }
        Dialog::ConfirmQuit => {
            (" Quit? ", vec![Line::from("Quit custodian and throw away your unsaved changes?")])
        }
    };
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y/Enter", theme.key),
        Span::raw(" yes   "),
        Span::styled("n/Esc", theme.key),
        Span::raw(" no, go back"),
    ]));
    let height = lines.len() as u16 + 2;
    let rect = super::popup(frame, area, 72, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.error);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}
