//! A run of keys that only type, waiting together (a paste without bracketed paste, keys typed
//! ahead over SSH): each does what it does alone, and the run goes into the text at once.

use super::*;

use ratatui_textarea::{Input, Key};

use crate::domain::json_string::StringState;
use crate::inert;

/// Whether `input` only types into the editor's text (a character, `Enter`, `Tab`, `Ctrl-J`):
/// such keys, waiting together, are taken as one [`Action::Type`].
pub fn types_text(input: &Input) -> bool {
    match input.key {
        _ if input.alt => false,
        Key::Char('j') if input.ctrl => true,
        // Shift-Tab takes indentation off: the editor does that, not a run.
        Key::Tab if input.shift => false,
        Key::Char(_) | Key::Enter | Key::Tab => !input.ctrl,
        _ => false,
    }
}

/// What the line holds before the cursor, as far as the keys of a run need it: kept as the
/// run goes, so no key reads the line again (in a line of 300 KB each did, twice).
struct LineBefore {
    /// Leading spaces: the indentation `Enter` repeats.
    indent: usize,
    /// Nothing but spaces so far (or nothing): where a `}` takes a level off.
    only_spaces: bool,
    /// Its length in bytes.
    len: usize,
    /// The last character that is not white space: `{` or `[` indents the next line deeper.
    last_visible: Option<char>,
    /// Its width in cells while it is all printable ASCII (one cell each): where a `Tab`
    /// outside a string stops.
    ascii_width: Option<usize>,
    /// Inside a string or not: a `Tab` there is `\t`.
    string: StringState,
}

impl LineBefore {
    fn new(before: &str) -> Self {
        let mut line = Self {
            indent: 0,
            only_spaces: true,
            len: 0,
            last_visible: None,
            ascii_width: Some(0),
            string: StringState::default(),
        };
        before.chars().for_each(|c| line.step(c));
        line
    }

    fn step(&mut self, c: char) {
        if c == '\n' {
            *self = Self::new("");
            return;
        }
        if c == ' ' && self.only_spaces {
            self.indent += 1;
        } else if c != ' ' {
            self.only_spaces = false;
        }
        if !c.is_whitespace() {
            self.last_visible = Some(c);
        }
        if !matches!(c, ' '..='~') {
            self.ascii_width = None;
        }
        self.len += c.len_utf8();
        self.ascii_width = self.ascii_width.map(|w| w + 1);
        self.string.step(c);
    }
}

/// The text a run types, not yet in the text area, and the line it ends on.
struct Pending {
    text: String,
    /// The bytes of `text` after its last line break (all of it without one).
    on_this_line: usize,
    line: LineBefore,
}

impl Pending {
    fn push(&mut self, typed: &str) {
        for c in typed.chars() {
            self.text.push(c);
            self.on_this_line = if c == '\n' { 0 } else { self.on_this_line + c.len_utf8() };
            self.line.step(c);
        }
    }

    /// Appends what `input` types, as [`Editor::input`] would type it; `false` when only the
    /// editor itself can tell (the caller inserts what is pending and hands it the key).
    /// `own_line`: the line was begun by a line break whose line brings its own indentation
    /// (a paste without bracketed paste), and only that came since: a closing bracket there
    /// keeps the indentation it came with.
    fn take(&mut self, input: &Input, tab_length: u8, hard_tab: bool, own_line: bool) -> bool {
        let line_break = matches!(input.key, Key::Enter) || matches!(input.key, Key::Char('j') if input.ctrl);
        match input.key {
            // Inside a string a run's line break is the string's `\n`, as a bracketed paste's
            // is: a raw one ended the string, the next lines took the editor's indentation and
            // a tab on them became spaces (bb75 F5).
            _ if line_break && self.line.string.in_string() => self.push("\\n"),
            Key::Char('j') if input.ctrl => self.push("\n"),
            Key::Char(c) => match inert::editor_char(c) {
                Some(escape) => self.push(&escape),
                None if matches!(c, '}' | ']') && self.line.only_spaces && self.line.len > 0 && !own_line => {
                    // A closing bracket on a line of indentation takes a level (two spaces) off;
                    // those spaces must be pending ones to be taken off here.
                    let off = self.line.len.min(2);
                    if self.on_this_line < off {
                        return false;
                    }
                    self.text.truncate(self.text.len() - off);
                    self.on_this_line -= off;
                    let kept = self.line.len - off;
                    self.line = LineBefore::new(&" ".repeat(kept));
                    self.push(&c.to_string());
                }
                None => self.push(c.encode_utf8(&mut [0; 4])),
            },
            Key::Enter => {
                let deeper = matches!(self.line.last_visible, Some('{' | '['));
                let indent = " ".repeat(self.line.indent + if deeper { 2 } else { 0 });
                self.push("\n");
                self.push(&indent);
            }
            Key::Tab if self.line.string.in_string() => self.push("\\t"),
            Key::Tab => match self.line.ascii_width {
                Some(width) if !hard_tab && tab_length > 0 => {
                    let tab = usize::from(tab_length);
                    self.push(&" ".repeat(tab - width % tab));
                }
                _ => return false,
            },
            _ => return false,
        }
        true
    }
}

/// An `Enter` of a run followed in it by a space or a tab: the next line brings its own
/// indentation (a paste of an indented document without bracketed paste, its line breaks sent
/// as `Enter`), so it is a line break alone, as `Ctrl-J`. Indented as well, each line's
/// spaces stacked on the last one's: a 500 KB document pasted grew to 1.29 GB (bb70 F2).
fn own_indentation_follows(input: &Input, next: Option<&Input>) -> bool {
    input.key == Key::Enter
        && !input.ctrl
        && !input.alt
        && next.is_some_and(|next| matches!(next.key, Key::Char(' ') | Key::Tab) && !next.ctrl && !next.alt)
}

impl Editor {
    /// Keys that only type ([`types_text`]), each doing what it does alone (`Enter` indents
    /// unless the run indents the next line itself, a `}` takes a level off unless it is on
    /// such a line, a line break or a `Tab` in a string is `\n` or `\t`, an invisible
    /// character arrives as its escape), inserted at once: one edit (one undo) for the run,
    /// not one a key.
    /// Returns whether the text changed.
    pub(super) fn type_keys(&mut self, keys: &[Input]) -> bool {
        let (tab_length, hard_tab) = (self.textarea.tab_length(), self.textarea.hard_tab_indent());
        let mut changed = false;
        let mut pending: Option<Pending> = None;
        // Whether the line the cursor is on was begun by such a line break of this run, and
        // only its indentation came since.
        let mut own_line = false;
        // The run is one change: one `Ctrl-U` takes it all out.
        self.textarea.begin_undo_group();
        for (at, input) in keys.iter().enumerate() {
            let line_break = Input { key: Key::Char('j'), ctrl: true, ..Input::default() };
            let own_indentation = own_indentation_follows(input, keys.get(at + 1));
            let input = if own_indentation { &line_break } else { input };
            let on_own_line = own_line;
            own_line = if matches!(input.key, Key::Enter) || matches!(input.key, Key::Char('j') if input.ctrl)
            {
                own_indentation
            } else {
                own_line && matches!(input.key, Key::Char(' ') | Key::Tab)
            };
            if !self.textarea.is_selecting() || pending.is_some() {
                let run = pending.get_or_insert_with(|| Pending {
                    text: String::new(),
                    on_this_line: 0,
                    line: LineBefore::new(self.before_cursor()),
                });
                if run.take(input, tab_length, hard_tab, on_own_line) {
                    continue;
                }
            }
            if let Some(run) = pending.take() {
                changed |= self.textarea.insert_str(run.text);
            }
            changed |= self.input(input.clone());
        }
        if let Some(run) = pending {
            changed |= self.textarea.insert_str(run.text);
        }
        self.textarea.end_undo_group();
        changed
    }
}

impl State {
    /// A run of keys that only type: one change of the text, one check.
    pub(super) fn type_keys(&mut self, keys: &[Input]) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor
            && editor.type_keys(keys)
        {
            return vec![editor.changed(&self.limits)];
        }
        Vec::new()
    }
}

#[cfg(test)]
impl State {
    /// A screen editing `text` (alice's customData), for tests of what keys do there.
    pub(crate) fn editing(text: &str) -> Self {
        let mut state = State::new(120, 40, false);
        let base = crate::store::StoredDocument { text: text.to_owned(), revision: 1, updated_micros: None };
        let area = state.editor_area();
        let limits = state.limits;
        state.editor = Some(Editor::new("u1".into(), "alice".into(), base, &limits, None, area));
        state
    }
}
