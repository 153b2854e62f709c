//! `:patch`'s dry run: what the patch would do (counts, failures grouped by why) and the diff
//! of each changed user, one at a time.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::domain::group_digits;
use crate::domain::patch::users;
use crate::domain::value_path::shown_path;
use crate::inert;
use crate::tui::app::PatchView;
use crate::tui::theme::Theme;

/// `over`: whom it goes over, in words ([`crate::tui::app::State::patch_over`]).
pub fn render(frame: &mut Frame, area: Rect, view: &PatchView, over: &str, theme: &Theme) {
    let rect = super::popup(frame, area, area.width.saturating_sub(4), area.height.saturating_sub(2));
    // The file's name: the whole path is in the question that applies it.
    let name = std::path::Path::new(&view.file)
        .file_name()
        .map_or(view.file.clone(), |n| n.to_string_lossy().into_owned());
    let title = format!(" Patch {} over {}: dry run ", inert::line(&name), inert::line(over));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.focused_border);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let Some(report) = &view.report else {
        // A million users take 20 s: counted, not a still line (bb38 F4).
        let text = match view.seen {
            Some(seen) => format!("running the dry run: {} so far, nothing is written…", users(seen)),
            None => "running the dry run: nothing is written…".to_owned(),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim)), inner);
        return;
    };
    let applying = match (view.applying, view.seen) {
        (true, Some(seen)) => format!(" · applying… {}/{}", group_digits(seen), group_digits(report.matched)),
        (true, None) => " · applying…".to_owned(),
        (false, _) => String::new(),
    };
    let mut summary = vec![Line::from(format!(
        "{} matched · {} would change · {} unchanged · {} cannot be patched{applying}",
        users(report.matched),
        group_digits(report.changed),
        group_digits(report.unchanged),
        group_digits(report.failed),
    ))];
    let width = usize::from(inner.width);
    if view.flagged() > 0 {
        let first: Vec<String> = report
            .flagged
            .iter()
            .map(|(id, findings)| {
                let places: Vec<_> = findings.iter().map(|f| shown_path(&f.path)).collect();
                format!("{id} at {}", places.join(", "))
            })
            .collect();
        let more = report.flagged_unnamed();
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        // What becomes of them before who they are: the edge cuts the names first.
        let choice = match view.write_flagged {
            true => "written too (s leaves them)",
            false => "left as they are (s writes them)",
        };
        let verb = if report.flagged_users == 1 { "holds" } else { "hold" };
        let line = format!(
            "  of these, {} {verb} a likely secret: {choice} — {}{more}",
            users(report.flagged_users),
            first.join("; ")
        );
        summary.push(Line::from(Span::styled(
            inert::cut_to_width(&inert::line(&line), width).into_owned(),
            theme.warning,
        )));
    }
    for group in report.groups.iter().take(view.groups_shown()) {
        let more = group.users.saturating_sub(group.first.len() as u64);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        // The count first, then why, then who: cut at the pane's edge, the ids go first, and a
        // cut ends with `…` (an id or a reason was cut off without a mark: bb26 T06). A reason
        // quotes values and ids a user or SQL wrote: made inert.
        let line = format!("  {}: {} ({}{more})", users(group.users), group.said(), group.first.join(", "));
        summary.push(Line::from(Span::styled(
            inert::cut_to_width(&inert::line(&line), width).into_owned(),
            theme.warning,
        )));
    }
    if report.groups.len() > view.groups_shown() {
        summary.push(Line::from(format!(
            "  … {} more reasons (the CLI's `custodian patch FILE --dry-run` lists them all)",
            report.groups.len() - view.groups_shown()
        )));
    }
    debug_assert_eq!(summary.len(), usize::from(view.summary_rows()), "the rows scrolling counts");
    let [summary_area, diff_area] =
        Layout::vertical([Constraint::Length(view.summary_rows()), Constraint::Min(2)]).areas(inner);
    frame.render_widget(Paragraph::new(summary), summary_area);
    let heading = match report.samples.get(view.selected) {
        Some(user) => format!(
            " {} of {}{}: {} ({}), revision {} → {}{} ",
            view.selected + 1,
            report.samples.len(),
            if report.changed > report.samples.len() as u64 {
                format!(" shown ({} change)", crate::domain::group_digits(report.changed))
            } else {
                String::new()
            },
            user.id,
            user.handle,
            user.revision,
            user.revision + 1,
            flagged_mark(&user.secrets, view.write_flagged),
        ),
        None => " No user would change ".to_owned(),
    };
    let diff_block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(inert::line(&heading).into_owned(), theme.title))
        .border_style(theme.border);
    let lines = super::diff::lines(&view.selected_diff(), theme, usize::from(diff_area.width));
    // Skipped here, not by the paragraph's scroll, which stops at 65,535 rows.
    let lines: Vec<Line> = lines.into_iter().skip(view.scroll).collect();
    frame.render_widget(Paragraph::new(lines).block(diff_block), diff_area);
}

/// What a shown user's heading adds when the patch would leave them holding something that
/// looks like a secret: where, and whether they are written.
fn flagged_mark(secrets: &[String], written: bool) -> String {
    if secrets.is_empty() {
        return String::new();
    }
    let fate = if written { "written too" } else { "left as it is" };
    format!(" · looks like a secret at {}: {fate}", secrets.join(", "))
}
