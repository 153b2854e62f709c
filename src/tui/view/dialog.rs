//! Questions that must be answered before anything else happens.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::domain::time::format_utc;
use crate::draft::{Draft, DraftKind};
use crate::inert;
use crate::store::StoredDocument;
use crate::tui::app::{Dialog, Mode, Overwrites, SecretsInPatch, State};
use crate::tui::keymap;
use crate::tui::theme::Theme;

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
    state.editor.as_ref().is_some_and(|e| e.reopened.is_some())
}

/// "`leave` and throw away this edit?", saying that the reopened file goes with it.
fn reopened_question(leave: &str) -> Vec<Line<'static>> {
    vec![
        Line::from(format!("{leave} and throw away this edit? It was reopened from a draft")),
        Line::from("or recovery file, which is deleted with it: the whole edit, not only"),
        Line::from("what you typed now, cannot be brought back."),
    ]
}

/// The user's handle changed since the edit began (renamed, or another account under this id),
/// said before what a save over it replaces; empty otherwise.
fn renamed_note(state: &State) -> String {
    let Some(editor) = state.editor.as_ref() else { return String::new() };
    let Some(now) = editor.handle_now.as_ref().filter(|now| **now != editor.user_handle) else {
        return String::new();
    };
    format!(
        "The user is now {}, not {} as when you opened this edit (renamed, or another account under this id). ",
        inert::line(now),
        inert::line(&editor.user_handle)
    )
}

/// What an overwrite after a conflict replaces, said as the conflict view said it.
fn overwrite_warning(overwrites: Overwrites, theirs: &StoredDocument) -> String {
    match overwrites {
        Overwrites::ProfileChanged => format!(
            "The user was changed outside custodian since you opened this edit (a sign-in or a profile edit); customData is revision {} as you read it: what it holds (−) is replaced by yours (+).",
            theirs.revision
        ),
        Overwrites::WrittenOutside => format!(
            "customData was written outside custodian since you opened this edit (still called revision {}): what it holds now (−) is replaced by yours (+); it is kept in the history.",
            theirs.revision
        ),
        Overwrites::DraftInDoubt { started_from } => format!(
            "This draft began from revision {started_from} as a text this database does not hold (restored from a backup, or re-imported?): what revision {} holds now (−) is replaced by yours (+); it stays in the history.",
            theirs.revision
        ),
        Overwrites::SavedSince => format!(
            "This overwrites revision {}, saved since you opened this edit: what it holds (−) is replaced by yours (+); it stays in the history.",
            theirs.revision
        ),
    }
}

/// Drafts listed at once; more scroll with the selection.
const DRAFT_ROWS: usize = 8;

/// How wide a dialog is at most, borders included.
const WIDTH: u16 = 76;

/// The question's title, its text (which scrolls) and the mode whose keys answer it, for a
/// box `inner_width` wide inside its borders.
fn question(
    state: &State,
    dialog: &Dialog,
    theme: &Theme,
    inner_width: usize,
) -> (&'static str, Vec<Line<'static>>, Mode) {
    // One row a diff line, however long (a long one wrapped at its words over more rows than
    // its width tells, and pushed the answers out).
    let diff_lines = |diff| super::diff::lines(diff, theme, inner_width);
    match dialog {
        Dialog::ConfirmDrop { dropped, data, diff, secrets, held_to, overwriting, .. } => {
            let mut lines = Vec::new();
            let warning = match overwriting {
                Some(overwrites) => {
                    format!("{}{}", renamed_note(state), overwrite_warning(*overwrites, held_to))
                }
                None => renamed_note(state).trim_end().to_owned(),
            };
            if !warning.is_empty() {
                lines.push(Line::from(Span::styled(warning, theme.warning)));
            }
            if !secrets.is_empty() {
                lines.push(Line::from(Span::styled(
                    "This looks like it stores secrets; customData reaches front ends:",
                    theme.warning,
                )));
                for finding in secrets {
                    lines.push(Line::from(Span::styled(
                        format!("  ! {}", inert::line(finding)),
                        theme.warning,
                    )));
                }
            }
            if !dropped.is_empty() {
                lines.push(Line::from(format!(
                    "This save replaces customData whole and removes {} top-level key{}:",
                    dropped.len(),
                    if dropped.len() == 1 { "" } else { "s" }
                )));
            }
            // One row each, however long the key; an empty key or one of spaces quoted, as the
            // CLI and `history` list them (a blank row named no key: bb28 R04).
            for key in dropped {
                let key = crate::domain::history::listed_key(key);
                let key = inert::cut_to_width(&inert::line(&key), 68).into_owned();
                lines.push(Line::from(Span::styled(format!("  − {key}"), theme.removed)));
            }
            if data.as_object().is_empty() {
                lines.push(Line::from(Span::styled("The new customData is empty: {}", theme.warning)));
            }
            lines.push(Line::from(Span::styled("Stored → new:", theme.title)));
            lines.extend(diff_lines(diff));
            let title = match (dropped.is_empty(), secrets.is_empty()) {
                // Overwriting theirs with no key removed and no secret: it asks for that alone
                // (titled "Remove keys?", it named nothing it asked about).
                (true, true) if overwriting.is_some() => " Overwrite theirs? ",
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
            let heading = format!("{}{heading}", renamed_note(state));
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
        Dialog::ConfirmDiscard => {
            let mut lines = vec![Line::from("Leave the editor and throw away your unsaved changes?")];
            if let Some(doubt) = &state.unresolved_save {
                // It may be the only copy: the save in doubt may not have happened (bb41 F6).
                lines.push(Line::from(Span::styled(
                    format!(
                        "Your save may not have happened (in doubt: it may have become revision {}): this edit may be its only copy. r or F5 reconnects and finds out.",
                        doubt.revision
                    ),
                    theme.warning,
                )));
            }
            (" Discard changes? ", lines, Mode::Dialog)
        }
        Dialog::ConfirmDiscardDraft(found) => {
            let draft = match found.as_ref() {
                Dialog::DraftFound { drafts, selected } => drafts.get(*selected),
                _ => None,
            };
            let whose = draft
                .map(|d| format!(" of {} ({})", inert::line(handle_shown(d)), inert::line(&d.user_id)))
                .unwrap_or_default();
            // The later text a session's end wrote to a file goes too: its stderr told the
            // operator to save that file (bb45 M1).
            let kept = match draft.and_then(|d| d.later_copy.as_deref()) {
                Some(file) => format!("kept in the draft and in {}", inert::line(file)),
                None => "kept in the draft".to_owned(),
            };
            (
                " Throw away the draft? ",
                vec![Line::from(format!(
                    "Throw away the unsaved edit{whose} {kept}? It cannot be brought back."
                ))],
                Mode::Dialog,
            )
        }
        Dialog::ConfirmPatch { users, file, over, secrets } => {
            let mut lines = vec![Line::from(format!(
                "Write {} to the customData of {} ({}), in one transaction, as one batch? `custodian undo BATCH` takes it back.",
                inert::line(file),
                crate::domain::patch::users(*users),
                inert::line(over)
            ))];
            let said = |n: u64| crate::domain::patch::users(n);
            match *secrets {
                SecretsInPatch::Written(0) | SecretsInPatch::Left(0) => {}
                SecretsInPatch::Written(flagged) => lines.push(Line::from(Span::styled(
                    format!(
                        "Of these, {} would hold something that looks like a secret, and customData reaches front ends: written too, as chosen with s.",
                        said(flagged)
                    ),
                    theme.warning,
                ))),
                SecretsInPatch::Left(flagged) => lines.push(Line::from(format!(
                    "Left as they are: {} the patch would leave holding something that looks like a secret (s in the dry run writes them too).",
                    said(flagged)
                ))),
            }
            (" Apply the patch? ", lines, Mode::Dialog)
        }
        Dialog::ConfirmQuit if reopened(state) => {
            (" Quit and discard the reopened edit? ", reopened_question("Quit custodian"), Mode::Dialog)
        }
        Dialog::ConfirmQuit => {
            (" Quit? ", vec![Line::from("Quit custodian and throw away your unsaved changes?")], Mode::Dialog)
        }
    }
}

/// Rows a line takes wrapped in a box `inner_width` wide.
fn rows_of(line: &Line, inner_width: usize) -> usize {
    line.width().div_ceil(inner_width.max(1)).max(1)
}

/// The box of `dialog` on `area`: its rect, the question's text, its rows each, and the rows
/// the text may take at most below its title and above the answers.
struct Placed {
    rect: Rect,
    title: &'static str,
    body: Vec<Line<'static>>,
    body_rows: Vec<usize>,
    tail: Vec<Line<'static>>,
    room: usize,
}

fn placed(area: Rect, state: &State, dialog: &Dialog, theme: &Theme) -> Placed {
    let inner_width = WIDTH.min(area.width).saturating_sub(2).max(1) as usize;
    let (title, body, mode) = question(state, dialog, theme, inner_width);
    let tail = vec![Line::from(""), choices(dialog, mode, theme)];
    let body_rows: Vec<usize> = body.iter().map(|line| rows_of(line, inner_width)).collect();
    let tail_rows: usize = tail.iter().map(|line| rows_of(line, inner_width)).sum();
    let rows = body_rows.iter().sum::<usize>() + tail_rows;
    let height = (rows as u16).saturating_add(2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - WIDTH.min(area.width)) / 2,
        y: area.y + (area.height - height) / 2,
        width: WIDTH.min(area.width),
        height,
    };
    let room = usize::from(height.saturating_sub(2)).saturating_sub(tail_rows);
    Placed { rect, title, body, body_rows, tail, room }
}

/// The first and one past the last line of a text of `rows` shown from line `scroll` in
/// `room` rows: a line says what lies above when scrolled, another what lies below, and the
/// answers stay visible at the end. Scrolled past what fills the box, the last lines show.
fn window(rows: &[usize], room: usize, scroll: usize) -> (usize, usize) {
    let start = scroll.min(most_scroll_of(rows, room));
    // A row says what lies above once scrolled.
    let mut left = room.saturating_sub(usize::from(start > 0));
    if rows[start..].iter().sum::<usize>() <= left {
        return (start, rows.len());
    }
    // And one what lies below.
    left = left.saturating_sub(1);
    let mut end = start;
    while end < rows.len() && rows[end] <= left {
        left -= rows[end];
        end += 1;
    }
    (start, end)
}

/// The most the text of `rows` scrolls in `room` rows: its last line at the bottom.
fn most_scroll_of(rows: &[usize], room: usize) -> usize {
    if rows.iter().sum::<usize>() <= room {
        return 0;
    }
    // Scrolled, one row says what lies above.
    let mut left = room.saturating_sub(1);
    let mut start = rows.len();
    while start > 0 && rows[start - 1] <= left {
        left -= rows[start - 1];
        start -= 1;
    }
    start.min(rows.len().saturating_sub(1))
}

/// The most the question on the screen scrolls (`↓` stops there).
pub fn most_scroll(state: &State) -> usize {
    let Some(dialog) = &state.dialog else { return 0 };
    let area = Rect::new(0, 0, state.width, state.height);
    let placed = placed(area, state, dialog, &Theme::plain());
    most_scroll_of(&placed.body_rows, placed.room)
}

/// Where `PgDn` (`pages` > 0) or `PgUp` scrolls the question on the screen from `scroll`: by
/// what the box shows, its bottom line left at the top (its top line at the bottom), as the
/// list and the help page (bb17 L09: a fixed 10 lines where the box showed 34).
pub fn question_paged(state: &State, scroll: usize, pages: isize) -> usize {
    let Some(dialog) = &state.dialog else { return scroll };
    let area = Rect::new(0, 0, state.width, state.height);
    let Placed { body_rows: rows, room, .. } = placed(area, state, dialog, &Theme::plain());
    let most = most_scroll_of(&rows, room);
    let mut scroll = scroll.min(most);
    for _ in 0..pages.unsigned_abs() {
        let (start, end) = window(&rows, room, scroll);
        scroll = if pages > 0 {
            end.saturating_sub(1).max(start + 1).min(most)
        } else {
            // The furthest up whose window still ends at the line that was at the top.
            (0..start).rev().find(|&up| window(&rows, room, up).1 <= start + 1).unwrap_or(0)
        };
    }
    scroll
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, dialog: &Dialog, theme: &Theme) {
    let Placed { rect, title, body, body_rows, tail, room } = placed(area, state, dialog, theme);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.error);
    let (start, end) = window(&body_rows, room, dialog.scroll());
    let mut lines = Vec::with_capacity(end - start + tail.len() + 2);
    if start > 0 {
        let lines_above = if start == 1 { "line" } else { "lines" };
        lines.push(Line::from(Span::styled(format!("  ⋯ {start} {lines_above} above (↑/PgUp)"), theme.dim)));
    }
    let below = body.len() - end;
    lines.extend(body.into_iter().skip(start).take(end - start));
    if below > 0 {
        let lines_below = if below == 1 { "line" } else { "lines" };
        lines.push(Line::from(Span::styled(format!("  ⋯ {below} {lines_below} below (↓/PgDn)"), theme.dim)));
    }
    lines.extend(tail);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}

/// The handle a draft is listed by: the user's now, else the one it was written with.
fn handle_shown(draft: &Draft) -> &str {
    draft.handle_now.as_deref().unwrap_or(&draft.user_handle)
}

/// One draft in the list: handle, id, when, from which revision, and whether it is a
/// recovery file; within the dialog's width at 80 columns.
fn draft_row(draft: &Draft, selected: bool) -> String {
    let kind = match draft.kind {
        DraftKind::Draft => "",
        DraftKind::Recovery => " recovery",
    };
    let renamed = if draft.handle_now.is_some() { " · renamed" } else { "" };
    format!(
        "{} {} {} {} rev {}{kind}{renamed}",
        if selected { "▸" } else { " " },
        inert::fit_to_width(&inert::line(handle_shown(draft)), 16),
        inert::fit_to_width(&inert::line(&draft.user_id), 12),
        format_utc(draft.saved_at),
        draft.base_revision
    )
}
