//! The user list: only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::group_digits;
use crate::inert;
use crate::tui::app::{Mode, State};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let list = &state.list;
    let focused = matches!(state.mode(), Mode::Browse | Mode::Filter);
    // An estimate (a store that does not count many users on every refresh) says so.
    let about = if list.total_estimated { "~" } else { "" };
    // A filter of white space alone filters nothing (as the CLI's `--search`): said as the
    // whole list, not as the rows loaded so far "found" (bb34 #1).
    let filtered = list.active_filter().is_some();
    let tenant = list.tenant.as_deref().map(|t| format!("· tenant {} ", inert::line(t))).unwrap_or_default();
    let title = if !filtered && !state.filtering {
        format!(" Users · {about}{} {tenant}", group_digits(list.total))
    } else {
        let cursor = if state.filtering { "▏" } else { "" };
        let search = &list.search;
        let matches = if !filtered {
            // Nothing typed yet: the whole list is shown, not what a search found.
            format!("all {about}{}", group_digits(list.total))
        } else if search.capped {
            format!("first {}", group_digits(list.rows.len() as u64))
        } else {
            format!("{} found", group_digits(list.rows.len() as u64))
        };
        let percent = || (search.scanned * 100 / list.total.max(1)).min(99);
        let progress = match (search.scanning, search.stopped) {
            (true, _) if list.total > 0 => format!(" · {}%", percent()),
            (false, true) => format!(" · stopped at {}%", percent()),
            _ => String::new(),
        };
        // The filter's end (what was typed last), the count and the progress stay in sight;
        // the tenant, said in the title before `/`, only where the whole filter leaves room
        // (it kept its place and left none of what was typed at 100 columns: bb99 F1).
        let filter = inert::line(&list.filter);
        let rest = format!("{cursor} · {matches}{progress} ");
        let room = usize::from(area.width).saturating_sub(4 + inert::columns(&rest));
        let tenant = match inert::columns(&filter) + inert::columns(&tenant) <= room {
            true => tenant.as_str(),
            false => "",
        };
        let room = room - inert::columns(tenant);
        format!(" /{}{rest}{tenant}", inert::end_to_width(&filter, room))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(if focused { theme.focused_border } else { theme.border });
    let inner_width = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = list
        .visible()
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let user = &entry.user;
            let shown_beside = user
                .name
                .as_deref()
                .or(user.primary_email.as_deref().filter(|e| Some(*e) != Some(user.handle())));
            // Suspended first; else a handle, or the name or email beside it, that mixes
            // look-alike scripts in a word (the profile says which: bb31 U01, bb32 V03).
            let mixed = [Some(user.handle()), shown_beside]
                .into_iter()
                .flatten()
                .any(|text| inert::mixed_script_word(text).is_some());
            let mark = match (user.is_suspended, mixed) {
                (true, _) => "⊘ ",
                (false, true) => "≈ ",
                (false, false) => "  ",
            };
            let handle = inert::line(user.handle()).into_owned();
            let secondary = shown_beside.map(|s| inert::line(s).into_owned()).unwrap_or_default();
            let text = inert::fit_to_width(&format!("{mark}{handle}  {secondary}"), inner_width);
            // The padding stays unstyled on every row: the selection's bar covers the text only
            // (reverse-video blanks are drawn cell by cell, ~20 B a move to draw and take
            // away), and a blank whose colour nobody sees would still be sent when it changes.
            let (content, padding) = text.split_at(text.trim_end_matches(' ').len());
            let padding = Span::raw(padding.to_owned());
            if list.top + i == list.selected {
                Line::from(vec![Span::styled(content.to_owned(), theme.selected), padding])
            } else {
                let split = (mark.len() + handle.len()).min(content.len());
                let (head, name) = content.split_at(floor_boundary(content, split));
                Line::from(vec![
                    Span::raw(head.to_owned()),
                    Span::styled(name.to_owned(), theme.dim),
                    padding,
                ])
            }
        })
        .collect();
    if lines.is_empty() {
        let empty: &[&str] = match (list.filter.is_empty(), list.search.stopped) {
            // Rows not read for a lost connection are no empty tenant (bb100 F3).
            (true, _) if state.connection_lost.is_some() => &["not read: connection lost"],
            (true, _) => &["no users"],
            // Not before the scan has read every user: it said so at 0% for 12 s while the
            // scan waited for a key sync, of an account that had just signed up (bb99 F3).
            (false, false) if list.search.scanning => &["none found yet: the search goes on"],
            (false, false) => &["no user matches the filter"],
            // Of the users read before the search stopped only: said of all, it sent an
            // operator away from an account the rest held (bb99 F3).
            (false, true) => &["the search stopped before its end:", "none found in the users it read"],
        };
        lines.extend(empty.iter().map(|text| Line::from(Span::styled(*text, theme.dim))));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}
