//! The status line (validation, messages) and the key-hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::inert;
use crate::tui::app::{State, StatusKind};
use crate::tui::keymap;
use crate::tui::theme::Theme;

pub fn render_status(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some((valid, summary)) = state.validation_summary() {
        let style = if valid { theme.success } else { theme.error };
        spans.push(Span::styled(inert::line(&summary).into_owned(), style));
    }
    if let Some(status) = &state.status {
        if !spans.is_empty() {
            spans.push(Span::raw("  ·  "));
        }
        let style = match status.kind {
            StatusKind::Info => Default::default(),
            StatusKind::Success => theme.success,
            StatusKind::Error => theme.error,
        };
        spans.push(Span::styled(inert::line(&status.text).into_owned(), style));
    }
    if state.read_only && state.editor.is_none() {
        spans.push(Span::styled("  [read-only]", theme.warning));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render_hints(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    for binding in keymap::hints(state.mode()) {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.dim));
        }
        spans.push(Span::styled(binding.label, theme.key));
        spans.push(Span::raw(format!(" {}", binding.hint.unwrap_or(binding.description))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
