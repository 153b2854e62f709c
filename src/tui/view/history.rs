//! A user's revisions: who saved what when, and what restoring one would change.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::human_bytes;
use crate::domain::time::format_utc;
use crate::inert;
use crate::tui::app::HistoryView;
use crate::tui::layout;
use crate::tui::theme::Theme;

/// `connection_lost`: a revision not read yet is said as not read until a reconnect.
pub fn render(frame: &mut Frame, area: Rect, history: &HistoryView, connection_lost: bool, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title(history), theme.title))
        .border_style(theme.focused_border);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [list_area, diff_area] = layout::history_areas(inner);
    let height = list_area.height as usize;
    let top = history.selected.saturating_sub(height.saturating_sub(1));
    // Who gives way first on a narrow screen: the summary keeps room for a restore's mark
    // (`= revision 1234`), which 80 columns cut behind a padded name (bb13).
    let who_width = usize::from(list_area.width).saturating_sub(FIXED_COLUMNS + SUMMARY_ROOM).clamp(8, 24);
    let rows: Vec<Line> = history
        .entries
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, entry)| {
            let info = &entry.info;
            let mut text = format!(
                "{:>4}{} {}  {} {:>9}",
                info.revision,
                if info.current { "*" } else { " " },
                format_utc(info.saved_at),
                inert::fit_to_width(&inert::line(&info.saved_by), who_width),
                human_bytes(info.size)
            );
            let summary = entry.changes.summary();
            if !summary.is_empty() {
                text.push_str(&format!("  {}", inert::line(&summary)));
            }
            if let Some(batch) = &info.batch {
                text.push_str(&format!("  [{}]", inert::line(&batch.0)));
            }
            if i == history.selected {
                Line::from(Span::styled(text, theme.selected))
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(rows), list_area);
    let title = match history.entries.get(history.selected) {
        Some(entry) if entry.info.current => " This is the current revision ".to_owned(),
        Some(entry) if history.selected_text().is_none() => {
            format!(" Reading revision {}… ", entry.info.revision)
        }
        Some(entry) => format!(" Restoring revision {} would change (current → it): ", entry.info.revision),
        None => String::new(),
    };
    let diff_block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.title))
        .border_style(theme.border);
    // A revision not read yet has no diff to show: `(no difference)` there told an operator
    // choosing what to restore that it changed nothing, for good once the read failed on a
    // lost connection (bb99 F6).
    let unread = history.selected_text().is_none() && history.entries.get(history.selected).is_some();
    let rows = if unread {
        let why = match connection_lost {
            true => "not read: the connection is lost (F5 reconnects and reads it)",
            false => "reading…",
        };
        vec![Line::from(Span::styled(why, theme.dim))]
    } else {
        // Skipped here, not by the paragraph's scroll, which stops at 65,535 rows.
        super::diff::lines(&history.selected_diff(), theme, usize::from(diff_area.width))
            .into_iter()
            .skip(history.diff_scroll)
            .collect::<Vec<_>>()
    };
    frame.render_widget(Paragraph::new(rows).block(diff_block), diff_area);
}

/// The columns of a history row but who and the summary: number, mark, time, the gaps, size.
const FIXED_COLUMNS: usize = 4 + 1 + 1 + 23 + 2 + 1 + 9 + 2;
/// What the summary keeps at least: `= revision 1234` and a little of the keys.
const SUMMARY_ROOM: usize = 16;

/// The overlay's title; when it shows only the newest revisions, how many older ones there
/// are and where to see them (the CLI lists every one).
fn title(history: &HistoryView) -> String {
    let handle = inert::line(&history.user_handle);
    match history.older {
        0 => format!(" History of {handle} "),
        older => format!(
            " History of {handle} · the newest {} revisions; {older} older: `custodian history` lists them ",
            history.entries.len(),
        ),
    }
}
