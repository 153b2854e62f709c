//! Questions that must be answered before anything else happens.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::domain::time::format_utc;
use crate::draft::{Draft, DraftKind};
use crate::inert;
use crate::tui::app::{Dialog, Mode, State};
use crate::tui::keymap;
use crate::tui::theme::Theme;

/// Keys listed in the drop dialog before it says "and N more".
const MAX_LISTED: usize = 8;

/// The keys that answer `dialog` and what each does, from the key table: for a yes/no
/// question the first binding is yes (`y`), the second no.
pub fn choices(dialog: &Dialog, mode: Mode, theme: &Theme) -> Line<'static> {
    let answers = dialog.answers();
    let mut spans = Vec::new();
    for (at, binding) in keymap::hints(mode).enumerate() {
        let meaning = match (answers, at) {
            (Some((yes, _)), 0) => yes,
            (Some((_, no)), 1) => no,
            _ => binding.hint.unwrap_or(binding.description),
        };
        spans.push(Span::styled(binding.label(), theme.key));
        spans.push(Span::raw(format!(" {meaning}   ")));
    }
    Line::from(spans)
}

/// Whether the edit came from a draft or recovery file found at start: throwing it away
/// deletes that file, which the questions say.
pub fn reopened(state: &State) -> bool {
    state.editor.as_ref().is_some_and(|e| e.reopened)
}

/// "`leave` and throw away this edit?", saying that the reopened file goes with it.
fn reopened_question(leave: &str) -> Vec<Line<'static>> {
    vec![
        Line::from(format!("{leave} and throw away this edit? It was reopened from a draft")),
        Line::from("or recovery file, which is deleted with it: the whole edit, not only"),
        Line::from("what you typed now, cannot be brought back."),
    ]
}

/// Drafts listed at once; more scroll with the selection.
const DRAFT_ROWS: usize = 8;

/// How wide a dialog is at most, borders included.
const WIDTH: u16 = 76;

pub fn render(frame: &mut Frame, area: Rect, state: &State, dialog: &Dialog, theme: &Theme) {
    let inner_width = WIDTH.min(area.width).saturating_sub(2).max(1) as usize;
    // One row a diff line, however long (a long one wrapped at its words over more rows than
    // its width tells, and pushed the answers out).
    let diff_lines = |diff| super::diff::lines(diff, theme, inner_width);
    let (title, mut lines, mode) = match dialog {
        Dialog::ConfirmDrop { dropped, data, diff, secrets, .. } => {
            let mut lines = Vec::new();
            if !secrets.is_empty() {
                lines.push(Line::from(Span::styled(
                    "This looks like it stores secrets; customData reaches front ends:",
                    theme.warning,
                )));
                for finding in secrets.iter().take(MAX_LISTED) {
                    lines.push(Line::from(Span::styled(
                        format!("  ! {}", inert::line(finding)),
                        theme.warning,
                    )));
                }
                if secrets.len() > MAX_LISTED {
                    lines.push(Line::from(format!("  … and {} more", secrets.len() - MAX_LISTED)));
                }
            }
            if !dropped.is_empty() {
                lines.push(Line::from(format!(
                    "This save replaces customData whole and removes {} top-level key{}:",
                    dropped.len(),
                    if dropped.len() == 1 { "" } else { "s" }
                )));
            }
            // One row each, however long the key.
            for key in dropped.iter().take(MAX_LISTED) {
                let key = inert::cut_to_width(&inert::line(key), 68).into_owned();
                lines.push(Line::from(Span::styled(format!("  − {key}"), theme.removed)));
            }
            if dropped.len() > MAX_LISTED {
                lines.push(Line::from(format!("  … and {} more", dropped.len() - MAX_LISTED)));
            }
            if data.as_object().is_empty() {
                lines.push(Line::from(Span::styled("The new customData is empty: {}", theme.warning)));
            }
            lines.push(Line::from(Span::styled("Stored → new:", theme.title)));
            lines.extend(diff_lines(diff));
            let title = match (dropped.is_empty(), secrets.is_empty()) {
                (false, true) | (true, true) => " Remove keys? ",
                (true, false) => " Save what looks like secrets? ",
                (false, false) => " Remove keys and save secrets? ",
            };
            (title, lines, Mode::Dialog)
        }
        Dialog::Conflict { theirs, diff, .. } => {
            let doubt = state.editor.as_ref().and_then(|e| e.doubt.as_ref());
            let base = state.editor.as_ref().map(|e| &e.base);
            let heading = match (doubt, base) {
                (Some(doubt), _) => format!(
                    "This draft's base is in doubt: {}. Nothing was written; what is stored now is revision {}.",
                    inert::line(&doubt.reason),
                    theirs.revision
                ),
                // Logto's database: the row moved (a sign-in, a profile edit), customData did not.
                (None, Some(base)) if base.revision == theirs.revision && base.text == theirs.text => {
                    "The user was changed outside custodian meanwhile (a sign-in or a profile edit); customData is as you read it. Nothing was written.".to_owned()
                }
                (None, Some(base)) if base.revision == theirs.revision => {
                    "customData was written outside custodian meanwhile. Nothing was written.".to_owned()
                }
                (None, _) if state.outside_writes() => format!(
                    "Revision {} is stored now (saved by someone, or written outside custodian) while you were editing. Nothing was written.",
                    theirs.revision
                ),
                (None, _) => format!(
                    "Someone saved revision {} while you were editing. Nothing was written.",
                    theirs.revision
                ),
            };
            let mut lines =
                vec![Line::from(heading), Line::from(Span::styled("Theirs → mine:", theme.title))];
            lines.extend(diff_lines(diff));
            (" Conflict ", lines, Mode::Conflict)
        }
        Dialog::DraftFound { drafts, selected } => {
            let mut lines = vec![Line::from(format!(
                "Unsaved edits kept from earlier sessions of this database: {}",
                drafts.len()
            ))];
            // A window of rows around the selection, so every draft can be reached.
            let first = selected.saturating_sub(DRAFT_ROWS - 1).min(drafts.len().saturating_sub(DRAFT_ROWS));
            if first > 0 {
                lines.push(Line::from(Span::styled(format!("  ↑ {first} more"), theme.dim)));
            }
            for (index, draft) in drafts.iter().enumerate().skip(first).take(DRAFT_ROWS) {
                let row = draft_row(draft, index == *selected);
                let style = if index == *selected { theme.selected } else { Default::default() };
                lines.push(Line::from(Span::styled(row, style)));
            }
            let after = drafts.len().saturating_sub(first + DRAFT_ROWS);
            if after > 0 {
                lines.push(Line::from(Span::styled(format!("  ↓ {after} more"), theme.dim)));
            }
            lines.push(Line::from(
                "↑/↓ choose one: open it in the editor (a save is checked against what it started from), discard it, or keep them all for later.",
            ));
            (" Unsaved drafts ", lines, Mode::DraftFound)
        }
        Dialog::ConfirmDiscard if reopened(state) => {
            (" Discard the reopened edit? ", reopened_question("Leave the editor"), Mode::Dialog)
        }
        Dialog::ConfirmDiscard => (
            " Discard changes? ",
            vec![Line::from("Leave the editor and throw away your unsaved changes?")],
            Mode::Dialog,
        ),
        Dialog::ConfirmDiscardDraft(found) => {
            let whose = match found.as_ref() {
                Dialog::DraftFound { drafts, selected } => drafts
                    .get(*selected)
                    .map(|d| format!(" of {} ({})", inert::line(&d.user_handle), inert::line(&d.user_id)))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            (
                " Throw away the draft? ",
                vec![Line::from(format!(
                    "Throw away the unsaved edit{whose} kept in the draft? It cannot be brought back."
                ))],
                Mode::Dialog,
            )
        }
        Dialog::ConfirmPatch { users, file } => (
            " Apply the patch? ",
            vec![Line::from(format!(
                "Write {} to the customData of {}, in one transaction, as one batch? `custodian undo BATCH` takes it back.",
                inert::line(file),
                crate::domain::patch::users(*users)
            ))],
            Mode::Dialog,
        ),
        Dialog::ConfirmQuit if reopened(state) => {
            (" Quit and discard the reopened edit? ", reopened_question("Quit custodian"), Mode::Dialog)
        }
        Dialog::ConfirmQuit => {
            (" Quit? ", vec![Line::from("Quit custodian and throw away your unsaved changes?")], Mode::Dialog)
        }
    };
    lines.push(Line::from(""));
    lines.push(choices(dialog, mode, theme));
    // Rows the text takes once wrapped inside the borders.
    let rows_of = |line: &Line| line.width().div_ceil(inner_width).max(1);
    let rows: usize = lines.iter().map(rows_of).sum();
    let rect = super::popup(frame, area, WIDTH, rows as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.error);
    // Long diffs are cut at the bottom of the screen; the choices stay visible at the end.
    // Counted in rows as wrapped: a few long lines push the choices out as many short ones do.
    let inner_height = rect.height.saturating_sub(2) as usize;
    if rows > inner_height && inner_height >= 3 {
        let tail: Vec<Line> = lines.split_off(lines.len().saturating_sub(2));
        let room = inner_height.saturating_sub(tail.iter().map(rows_of).sum::<usize>() + 1);
        let mut used = 0;
        let fitting = lines.iter().take_while(|line| {
            used += rows_of(line);
            used <= room
        });
        let head = fitting.count();
        lines.truncate(head);
        lines.push(Line::from(Span::styled("  ⋯ (more below; the editor has the whole text)", theme.dim)));
        lines.extend(tail);
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}

/// One draft in the list: handle, id, when, from which revision, and whether it is a
/// recovery file; within the dialog's width at 80 columns.
fn draft_row(draft: &Draft, selected: bool) -> String {
    let kind = match draft.kind {
        DraftKind::Draft => "",
        DraftKind::Recovery => " recovery",
    };
    format!(
        "{} {} {} {} rev {}{kind}",
        if selected { "▸" } else { " " },
        inert::fit_to_width(&inert::line(&draft.user_handle), 16),
        inert::fit_to_width(&inert::line(&draft.user_id), 12),
        format_utc(draft.saved_at),
        draft.base_revision
    )
}
