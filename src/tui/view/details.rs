//! The selected user's pre-defined properties, read-only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::time::format_utc;
use crate::inert;
use crate::tui::app::State;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Profile · i: every property ", theme.title))
        .border_style(theme.border);
    let Some(record) = &state.user else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let user = &record.user;
    // `-` for a value the user does not have, as the CLI's tables write it. A value mixing
    // look-alike scripts in a word is marked and says which, first (a cut keeps the mark), in
    // the warning colour: each row is (label, value, warned).
    let text = |value: &Option<String>| match value.as_deref() {
        None => ("-".to_owned(), false),
        Some(v) => match inert::mixed_script_word(v) {
            Some((one, other)) => {
                (format!("≈ {} ({one} and {other} letters in one word)", inert::line(v)), true)
            }
            None => (inert::line(v).into_owned(), false),
        },
    };
    let plain = |value: String| (value, false);
    let rows: [(&str, (String, bool)); 11] = [
        ("id", plain(inert::line(&user.id).into_owned())),
        ("username", text(&user.username)),
        ("primaryEmail", text(&user.primary_email)),
        ("primaryPhone", text(&user.primary_phone)),
        ("name", text(&user.name)),
        ("avatar", text(&user.avatar)),
        ("isSuspended", (if user.is_suspended { "yes" } else { "no" }.into(), user.is_suspended)),
        ("createdAt", plain(format_utc(user.created_at))),
        ("updatedAt", plain(format_utc(user.updated_at))),
        ("lastSignInAt", plain(user.last_sign_in_at.map_or_else(|| "never".to_owned(), format_utc))),
        (
            "revision",
            plain(format!(
                "{} · {} by {}",
                record.revision,
                minutes(record.revised_at),
                inert::line(&record.revised_by)
            )),
        ),
    ];
    // Inside the borders, after the 14 columns of the label: a longer value is cut with `…`.
    let value_width = usize::from(area.width.saturating_sub(2)).saturating_sub(14);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(label, (value, warned))| {
            let value = inert::cut_to_width(&value, value_width).into_owned();
            let style = if warned { theme.warning } else { Default::default() };
            Line::from(vec![Span::styled(format!("{label:<13} "), theme.label), Span::styled(value, style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `2026-11-26 09:41 UTC`: the save time without seconds, so the row fits at 80 columns.
fn minutes(ms: i64) -> String {
    let full = format_utc(ms);
    match full.strip_suffix(" UTC") {
        Some(time) if time.len() == 19 => format!("{} UTC", &time[..16]),
        _ => full,
    }
}
