//! The editor's find line (`Ctrl-F`, `F3`): what is looked for and where the look started.

use super::*;

use ratatui_textarea::CursorMove;

/// What is being looked for in the editor, and where the look started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindLine {
    pub query: String,
    /// Still being typed (the find line is on the status line).
    pub typing: bool,
    /// The cursor when `Ctrl-F` was pressed: each keystroke looks from here, `Esc` returns.
    pub origin: (usize, usize),
    /// Whether the text was found.
    pub found: bool,
}

impl Editor {
    /// Looks for the find line's text from where the find started (each keystroke of it).
    pub(super) fn find_from_origin(&mut self) {
        let Some(find) = &self.find else { return };
        let (query, origin) = (find.query.clone(), find.origin);
        let found = self.show_match(&query, origin, true, true);
        if let Some(find) = &mut self.find {
            find.found = found || query.is_empty();
        }
    }

    /// `F3`: the last text again, after (or before) the cursor. `None` without one.
    pub(super) fn find_again(&mut self, forward: bool) -> Option<bool> {
        let query = self.find.as_ref().map(|f| f.query.clone()).filter(|q| !q.is_empty())?;
        // The cursor sits at the end of the selected match: step past its start first.
        let cursor = self.textarea.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let from = if forward {
            (row, col.saturating_sub(1))
        } else {
            (row, col.saturating_sub(query.chars().count()))
        };
        Some(self.show_match(&query, from, forward, false))
    }

    /// Selects the match of `query` found from `from`, if any; the cursor ends after it.
    pub(super) fn show_match(
        &mut self,
        query: &str,
        from: (usize, usize),
        forward: bool,
        include_from: bool,
    ) -> bool {
        self.textarea.cancel_selection();
        match crate::tui::find::find(self.textarea.lines(), query, from, forward, include_from) {
            Some((row, col)) => {
                self.textarea.move_cursor(CursorMove::Jump(row, col));
                self.textarea.start_selection();
                let end = col + query.chars().count();
                self.textarea.move_cursor(CursorMove::Jump(row, end));
                true
            }
            None => false,
        }
    }
}

impl State {
    /// `Ctrl-F`: the find line opens, offering the last text looked for again (as less).
    pub(super) fn start_find(&mut self) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor {
            let cursor = editor.textarea.cursor();
            let origin = (cursor.0, cursor.1);
            let query = editor.find.take().map(|f| f.query).unwrap_or_default();
            editor.find = Some(FindLine { query, typing: true, origin, found: true });
            editor.find_from_origin();
        }
        Vec::new()
    }

    pub(super) fn find_char(&mut self, c: char) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor
            && let Some(find) = &mut editor.find
        {
            find.query.push(c);
            editor.find_from_origin();
        }
        Vec::new()
    }

    pub(super) fn find_backspace(&mut self) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor
            && let Some(find) = &mut editor.find
        {
            find.query.pop();
            editor.find_from_origin();
        }
        Vec::new()
    }

    /// Enter: the match stays selected, the keys go back to the text.
    pub(super) fn find_accept(&mut self) -> Vec<Effect> {
        if let Some(find) = self.editor.as_mut().and_then(|e| e.find.as_mut()) {
            find.typing = false;
            if !find.found {
                let query = find.query.to_string();
                self.say(StatusKind::Info, format!("not found: {query}"));
            }
        }
        Vec::new()
    }

    /// Esc: back to where the cursor was before `Ctrl-F`.
    pub(super) fn find_cancel(&mut self) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor
            && let Some(find) = editor.find.take()
        {
            editor.textarea.cancel_selection();
            let (row, col) = find.origin;
            editor.textarea.move_cursor(CursorMove::Jump(row, col));
        }
        Vec::new()
    }

    /// `F3`/`Shift-F3`: the next or previous match.
    pub(super) fn find_again(&mut self, forward: bool) -> Vec<Effect> {
        let found = self.editor.as_mut().map(|editor| editor.find_again(forward));
        match found {
            Some(Some(false)) => {
                let query = self.editor.as_ref().and_then(|e| e.find.as_ref()).map(|f| f.query.to_string());
                self.say(StatusKind::Info, format!("not found: {}", query.unwrap_or_default()));
            }
            Some(None) => self.say(StatusKind::Info, "nothing to find yet: Ctrl-F"),
            _ => {}
        }
        Vec::new()
    }
}
