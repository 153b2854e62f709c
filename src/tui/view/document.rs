//! customData: the stored document when browsing, the textarea when editing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use ratatui::style::Modifier;
use unicode_width::UnicodeWidthStr;

use crate::inert;
use crate::tui::app::{Editor, State};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if let Some(editor) = &state.editor {
        let modified = if editor.is_modified() { " · modified" } else { "" };
        let title = format!(
            " Editing customData of {} · from revision {}{modified} ",
            inert::line(&editor.user_handle),
            editor.base.revision
        );
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title, theme.title))
            .border_style(theme.focused_border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        // The textarea is rendered as is: every way text enters it (opened, pasted, typed, a
        // draft, `$EDITOR`) goes through `inert::editor_text`/`editor_char`, so it holds no
        // control or invisible character raw.
        frame.render_widget(&editor.textarea, inner);
        if editor.is_checked()
            && let Err(error) = &editor.validation
            && let Some((line, column)) = error.position()
        {
            mark_error(frame, inner, editor, line, column, theme);
        }
        return;
    }
    let title = match &state.document {
        Some(document) => format!(" customData · revision {} ", document.revision),
        None => " customData ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.border);
    let lines: Vec<Line> = match &state.document {
        Some(document) => {
            inert::lines(&inert::json(&document.text)).lines().map(|l| Line::from(l.to_owned())).collect()
        }
        None => Vec::new(),
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Underlines the cell of the error's position (1-based line and column, as the message
/// gives them) where the textarea drew it: after the line-number gutter, less the
/// textarea's scroll. A position past the end of its line marks the cell after the text.
fn mark_error(frame: &mut Frame, inner: Rect, editor: &Editor, line: usize, column: usize, theme: &Theme) {
    let lines = editor.textarea.lines();
    let Some(text) = lines.get(line.saturating_sub(1)) else { return };
    let (top_row, top_col) = editor.textarea.scroll_offset();
    let row = line.saturating_sub(1);
    if row < top_row as usize || row - top_row as usize >= inner.height as usize {
        return;
    }
    let before: String = text.chars().take(column.saturating_sub(1)).collect();
    let gutter = lines.len().to_string().len() + 2;
    let Some(col) = before.width().checked_sub(top_col as usize).map(|col| col + gutter) else { return };
    if col >= inner.width as usize {
        return;
    }
    let position = (inner.x + col as u16, inner.y + (row - top_row as usize) as u16);
    if let Some(cell) = frame.buffer_mut().cell_mut(position) {
        cell.set_style(theme.error.add_modifier(Modifier::UNDERLINED | Modifier::REVERSED));
    }
}
