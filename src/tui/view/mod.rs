//! Drawing: one function per pane or overlay, each reading `&State` and changing nothing.

mod changes;
mod details;
pub mod dialog;
mod diff;
mod document;
mod help;
mod history;
mod list;
mod messages;
mod patch;
mod plaintext;
mod status;
mod tree;
mod whole_user;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::State;
use super::theme::Theme;

use crate::tui::layout::areas;
pub use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH, list_height, list_row_at};

/// Draws the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        // Nothing underneath is drawn, and (see `State::mode`) no key reaches it: only a
        // resize and quitting, whose question is shown here.
        let unsaved = state.editor.as_ref().is_some_and(|e| e.is_modified());
        let size = Line::from(format!(
            "The terminal is {}×{}; custodian needs at least {MIN_WIDTH}×{MIN_HEIGHT}. Enlarge it, or press q to quit{}.",
            area.width,
            area.height,
            if unsaved { " (it asks first: there are unsaved changes)" } else { "" }
        ));
        // The question comes first: a `y` typed at a question cut off the screen would throw
        // the edit away unseen (bb11). Below 40×8 it is said in one short line.
        let mut lines = Vec::new();
        if let Some(dialog @ super::app::Dialog::ConfirmQuit) = &state.dialog {
            let reopened = dialog::reopened(state);
            if area.width < 40 || area.height < 8 {
                let mut short = vec![Span::raw(if reopened {
                    "Throw away this edit and its draft file?"
                } else {
                    "Throw away your unsaved changes?"
                })];
                // The yes and no keys, from the key table as the full question's are.
                for (binding, answer) in
                    crate::tui::keymap::hints(super::app::Mode::Dialog).zip([" yes", " no"])
                {
                    short.extend([
                        Span::raw(" "),
                        Span::styled(binding.label(), theme.key),
                        Span::raw(answer),
                    ]);
                }
                lines.push(Line::from(short));
            } else {
                lines.push(Line::from(if reopened {
                    "Quit custodian and throw away this edit? It was reopened from a draft or recovery file, which is deleted with it."
                } else {
                    "Quit custodian and throw away your unsaved changes?"
                }));
                lines.push(dialog::choices(dialog, super::app::Mode::Dialog, theme));
            }
            lines.push(Line::from(""));
        }
        lines.push(size);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
        return;
    }
    let areas = areas(area);
    list::render(frame, areas.list, state, theme);
    details::render(frame, areas.details, state, theme);
    match &state.tree {
        Some(focused) => tree::render(frame, areas.document, state, focused, theme),
        None => document::render(frame, areas.document, state, theme),
    }
    status::render_status(frame, areas.status, state, theme);
    status::render_hints(frame, areas.hints, state, theme);
    if let Some(history) = &state.history {
        // Above the status line, so what the history answers (a refusal in read-only mode)
        // is seen.
        let above_status = Rect { height: areas.status.y.saturating_sub(area.y), ..area };
        history::render(frame, above_status, history, state.connection_lost.is_some(), theme);
    }
    if let Some(changes) = &state.changes.view {
        let above_status = Rect { height: areas.status.y.saturating_sub(area.y), ..area };
        changes::render(frame, above_status, changes, theme);
    }
    if let Some(view) = &state.patch {
        let above_status = Rect { height: areas.status.y.saturating_sub(area.y), ..area };
        patch::render(frame, above_status, view, &state.patch_over(), theme);
    }
    if let Some(view) = &state.whole_user {
        let above_status = Rect { height: areas.status.y.saturating_sub(area.y), ..area };
        whole_user::render(frame, above_status, view, theme);
    }
    if state.messages_open {
        // Above the status line, whose `connection lost` it covered (bb99 F9).
        let above_status = Rect { height: areas.status.y.saturating_sub(area.y), ..area };
        messages::render(frame, above_status, state, theme);
    }
    if let Some(plaintext) = &state.plaintext {
        let above_hints = Rect { height: areas.hints.y.saturating_sub(area.y), ..area };
        plaintext::render(frame, above_hints, plaintext, theme);
    }
    if state.help {
        // Above the hint bar, which stays whole (it says how to close the help).
        let above_hints = Rect { height: areas.hints.y.saturating_sub(area.y), ..area };
        help::render(frame, above_hints, state.help_scroll, theme);
    }
    if let Some(dialog) = &state.dialog {
        dialog::render(frame, area, state, dialog, theme);
    }
}

/// A rectangle of `width`×`height` centred in `area` (clipped to it), cleared for an overlay.
fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    let rect =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, rect);
    rect
}
