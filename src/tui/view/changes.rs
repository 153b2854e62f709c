//! The journal overlay: every save across users, newest first, one line each.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::human_bytes;
use crate::domain::time::format_utc;
use crate::inert;
use crate::tui::app::{ChangesRow, ChangesView};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, view: &ChangesView, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Changes: every save, newest first ", theme.title))
        .border_style(theme.focused_border);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // The last three lines: the selected entry whole on two (a row gives way on a narrow
    // screen: at 80 columns its batch, which `undo` and `changes --batch` take, was cut off),
    // and whether there is more (or that the list is being read).
    let height = usize::from(inner.height.saturating_sub(3));
    let top = view.selected.saturating_sub(height.saturating_sub(1));
    let (who_width, user_width) = name_widths(usize::from(inner.width));
    let mut lines: Vec<Line> = view
        .rows
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, row)| {
            let entry = &row.entry;
            let user = user_named(row);
            let mut text = format!(
                "{}  {} {} {:>4} {:>9}  {}",
                format_utc(entry.saved_at),
                inert::fit_to_width(&inert::line(&entry.saved_by), who_width),
                inert::fit_to_width(&inert::line(&user), user_width),
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
    let selected = view.selected_row().map(selected_whole).unwrap_or_default();
    for text in selected {
        lines.push(Line::from(inert::cut_to_width(&text, usize::from(inner.width)).into_owned()));
    }
    // Counted as everywhere else: `1 entry`, `16,119 entries` (it said `1 entries`, `16119`:
    // bb96 F5).
    let count = view.rows.len();
    let entries = match count {
        1 => "1 entry".to_owned(),
        n => format!("{} entries", crate::domain::group_digits(n as u64)),
    };
    let footer = if view.loading {
        "reading…".to_owned()
    } else if view.at_end {
        format!("{entries}: the start of the journal")
    } else {
        format!("{entries} read; older ones are read as you go down")
    };
    lines.push(Line::from(Span::styled(footer, theme.dim)));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A row's user: its handle and id, or that it is a bulk load.
fn user_named(row: &ChangesRow) -> String {
    let entry = &row.entry;
    if entry.is_load() {
        "(bulk load)".to_owned()
    } else if row.handle.is_empty() || row.handle == entry.user_id {
        entry.user_id.clone()
    } else {
        format!("{} ({})", row.handle, entry.user_id)
    }
}

/// The selected entry with nothing cut but at the screen's edge, on two lines: the user and
/// its id, the revision and who; then the batch and the keys.
fn selected_whole(row: &ChangesRow) -> [String; 2] {
    let entry = &row.entry;
    let who = format!(
        "▸ {} · revision {} by {}",
        inert::line(&user_named(row)),
        entry.revision,
        inert::line(&entry.saved_by)
    );
    let what = match &entry.batch {
        Some(batch) => format!("  batch {} · {}", inert::line(&batch.0), inert::line(&entry.key_summary())),
        None => format!("  {}", inert::line(&entry.key_summary())),
    };
    [who, what]
}

/// The columns of a row but who and the user: time, the gaps, revision, size.
const FIXED_COLUMNS: usize = 23 + 2 + 1 + 1 + 4 + 1 + 9 + 2;
/// What the keys added, removed and changed keep at least.
const KEYS_ROOM: usize = 12;

/// How wide who saved and the user are on a row `width` columns wide: padded by display
/// columns, so a CJK name lines up (it was padded by characters: bb15 L01), and giving way on
/// a narrow screen so the revision, size and keys stay on it (at 80 columns they were all
/// cut: bb15 L02).
fn name_widths(width: usize) -> (usize, usize) {
    let room = width.saturating_sub(FIXED_COLUMNS + KEYS_ROOM);
    let who = (room / 3).clamp(6, 16);
    let user = room.saturating_sub(who).clamp(8, 28);
    (who, user)
}
