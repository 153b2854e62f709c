//! The editor's indentation as a small JSON editor keeps it: `Enter` keeps the line's
//! indentation (a level more after `{` or `[`), a closing bracket on an indented empty line
//! takes a level off, and `Shift-Tab` takes one off the line or the selection.

use super::*;

use ratatui_textarea::CursorMove;

impl Editor {
    /// `Enter` as in a JSON editor: the new line keeps the indentation of this one, one level
    /// (two spaces) more after an opening `{` or `[`. (A bracketed paste is inserted as it is.)
    pub(super) fn new_line_indented(&mut self) -> bool {
        let before = self.before_cursor();
        let indent: String = before.chars().take_while(|c| *c == ' ').collect();
        let opens = matches!(before.trim_end().chars().last(), Some('{' | '['));
        self.textarea.insert_newline();
        self.textarea.insert_str(if opens { format!("{indent}  ") } else { indent });
        true
    }

    /// Takes up to one level (two spaces) of indentation off the cursor's line, or off every
    /// line of the selection, the cursor staying by the text it was at; a selection stays, over
    /// its whole lines, so the next `Shift-Tab` takes the block on (it took the cursor's line
    /// alone, breaking the block's indentation: bb97 F3).
    pub(super) fn dedent_line(&mut self) -> bool {
        let cursor = self.textarea.cursor();
        let (row, column) = (cursor.0, cursor.1);
        let selected = self.textarea.selection_range().map(|(from, to)| (from.0, to.0));
        let rows = selected.map_or(row..=row, |(first, last)| first..=last);
        self.textarea.cancel_selection();
        let (mut off_cursor_line, mut changed) = (0, false);
        for at in rows {
            let Some(line) = self.textarea.lines().get(at) else { break };
            let off = line.chars().take(2).take_while(|c| *c == ' ').count();
            if off > 0 {
                self.textarea.move_cursor(CursorMove::Jump(at, 0));
                changed |= self.textarea.delete_str(off);
            }
            if at == row {
                off_cursor_line = off;
            }
        }
        match selected {
            Some((first, last)) => {
                let end = self.textarea.lines().get(last).map_or(0, |line| line.chars().count());
                self.textarea.move_cursor(CursorMove::Jump(first, 0));
                self.textarea.start_selection();
                self.textarea.move_cursor(CursorMove::Jump(last, end));
            }
            None => self.textarea.move_cursor(CursorMove::Jump(row, column.saturating_sub(off_cursor_line))),
        }
        changed
    }

    /// A closing `}`/`]` typed on a line holding only indentation takes one level off it.
    pub(super) fn close_dedented(&mut self, close: char) -> bool {
        let before = self.before_cursor();
        if !before.is_empty() && before.chars().all(|c| c == ' ') {
            for _ in 0..before.len().min(2) {
                self.textarea.delete_char();
            }
        }
        self.textarea.insert_char(close);
        true
    }
}
