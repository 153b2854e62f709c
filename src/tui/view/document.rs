//! customData: the stored document when browsing, the textarea when editing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::inert;
use crate::tui::app::State;
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
