//! The customData editor: its text, the checks of that text, and leaving it.

use super::*;

use std::borrow::Cow;
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;
use ratatui_textarea::{CursorMove, Input, Key, TextArea};

use crate::domain::json_string::StringState;
use crate::domain::scan::path_at;
use crate::domain::shape::{Shape, Violation};
use crate::domain::{CustomData, Limits, ValidationError, human_bytes_apart};
use crate::draft::EditSnapshot;
use crate::inert;
use crate::store::{Revision, StoredDocument};

/// The customData editor: the text being edited and what it was loaded from.
pub struct Editor {
    pub user_id: String,
    pub user_handle: String,
    /// The stored document and revision this edit started from.
    pub base: StoredDocument,
    /// The text the editor opened with, to tell whether anything changed: the base made inert
    /// when that changed it, else `None` (the base's text itself: a second copy of a
    /// document whose pretty form is 71 MB was 71 MB more).
    opened_inert: Option<String>,
    pub textarea: TextArea<'static>,
    /// The result of the last check of the text: of the text as it is when `checked` equals
    /// `generation`, of an older text otherwise (then it is not shown, and a save checks the
    /// text again first).
    pub validation: Result<CustomData, ValidationError>,
    /// Counts the changes to the text: each one asks for a check off the key path.
    pub generation: u64,
    /// The generation `validation` is the result for.
    pub checked: u64,
    /// The schema check of the text opened is still to be asked for: it runs off the screen's
    /// thread, as a typed change's does (opening a 528 KB document of values just under the
    /// pattern limit froze the screen 30 s, `Ctrl-C` unanswered: bb79 F2).
    pub opening_check_due: bool,
    /// A save asked for before the text's check answered: it goes on with that answer.
    pub(super) save_when_checked: Option<super::save::StoredLook>,
    /// How the checked text breaks the deployment's JSON Schema (when it is valid JSON).
    pub schema_errors: Vec<Violation>,
    /// Which schema error `Ctrl-G` goes to next.
    pub schema_walk: usize,
    /// The schema the text is held to, compiled once for the session.
    pub shape: Option<Arc<Shape>>,
    /// The editing session: names this editor's draft file, so its autosave, save and discard
    /// touch only its own.
    pub draft_session: String,
    /// The edit was reopened from a draft or recovery file found at start, last written at
    /// this time: its file is this session's draft now, so throwing the edit away deletes it
    /// (the question says so); written again before anything is typed into it, it keeps that
    /// time (see [`EditSnapshot::written_at`]).
    pub reopened: Option<i64>,
    /// The revision the history put in the editor: its save is asked of the store even when
    /// the text is the base's, so a save made since the history was read is a conflict, not
    /// "no changes" (the operator asked for that revision to be current).
    pub restored: Option<Revision>,
    /// Set when the edit comes from a draft whose base is in doubt (its revision is gone, or
    /// holds another text): every save shows the conflict view first. Holds the reason, and
    /// the base the draft recorded (kept in any draft or recovery file written from here).
    pub doubt: Option<Doubt>,
    /// The find line, while it is typed, and the last text found (for `F3`).
    pub find: Option<FindLine>,
    /// The path of the value at the cursor (`billing.plan`), for the title, and the cursor
    /// and text generation it was worked out for: found again only when either moved, not on
    /// every frame (at 1 MiB that is a read of the text up to the cursor).
    pub cursor_path: Option<CursorPath>,
    /// The user's handle as last read (the user loaded again, a refused save, a draft
    /// reopened), when it is not the one the edit began with (renamed, or another account
    /// under this id): the title shows it, and the conflict view and the overwrite question
    /// say the rename before `y` writes (bb57 F5: only the answer after it did).
    pub handle_now: Option<String>,
}

/// Why an editor's base is not trusted, and the base its draft recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubt {
    pub reason: String,
    pub base_revision: Revision,
    pub base_digest: String,
}

/// How `text` breaks the schema, when it is valid JSON and there is a schema.
pub fn schema_errors(
    shape: Option<&Shape>,
    text: &str,
    validation: &Result<CustomData, ValidationError>,
) -> Vec<Violation> {
    match (shape, validation) {
        (Some(shape), Ok(data)) => {
            shape.violations(text, &serde_json::Value::Object(data.as_object().clone()))
        }
        _ => Vec::new(),
    }
}

/// `2 schema errors: billing.plan: …` for the status line; `None` without errors.
pub fn schema_summary(errors: &[Violation]) -> Option<String> {
    let first = errors.first()?;
    let count = if errors.len() == 1 {
        "1 schema error".to_owned()
    } else {
        format!("{} schema errors", errors.len())
    };
    Some(format!("{count}: {}", first.short()))
}

/// The path at one cursor position of one text generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPath {
    pub cursor: (usize, usize),
    pub generation: u64,
    pub path: String,
}

impl State {
    /// Where the editor's text is drawn at the terminal's size.
    pub(super) fn editor_area(&self) -> Rect {
        crate::tui::layout::editor_text_area(self.width, self.height)
    }
}

impl Editor {
    /// The path of the value at the cursor, in the lint's style (`(top level)` outside any
    /// key): the one kept by [`State::follow_cursor_path`] when it is for this cursor and
    /// text, else worked out now (a cursor moved by hand, as tests do).
    pub fn path_at_cursor(&self) -> Cow<'_, str> {
        let cursor = self.textarea.cursor();
        let cursor = (cursor.0, cursor.1);
        match &self.cursor_path {
            Some(kept) if kept.cursor == cursor && kept.generation == self.generation => {
                Cow::Borrowed(kept.path.as_str())
            }
            _ => Cow::Owned(path_at(self.textarea.lines(), cursor.0, cursor.1)),
        }
    }

    /// An editor on `base`, its text drawn in `area` (see [`crate::tui::layout::editor_text_area`]).
    pub(super) fn new(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        limits: &Limits,
        shape: Option<Arc<Shape>>,
        area: Rect,
    ) -> Self {
        Self::open(user_id, user_handle, base, None, limits, shape, area)
    }

    /// An editor on `base` holding `text` (a draft, a conflict, an old revision) or, without
    /// one, the base itself.
    fn open(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: Option<&str>,
        limits: &Limits,
        shape: Option<Arc<Shape>>,
        area: Rect,
    ) -> Self {
        // Controls, bidi and every other invisible character are shown as \u escapes: the
        // same JSON, made inert.
        let opened_inert = match inert::editor_text(&base.text) {
            Cow::Owned(inert) => Some(inert),
            Cow::Borrowed(_) => None,
        };
        let opened_text = opened_inert.as_deref().unwrap_or(&base.text);
        let (textarea, checked_text) = match text {
            // A draft or an external editor's file is as untrusted as the store: nothing
            // invisible goes into the text area raw; what is checked is what it holds.
            Some(text) => {
                let textarea = Self::textarea(&inert::editor_text(text), area);
                let held = textarea.lines().join("\n");
                (textarea, Cow::Owned(held))
            }
            None => (Self::textarea(opened_text, area), Cow::Borrowed(opened_text)),
        };
        // The JSON's own check is quick (a 1 MiB text in ~10 ms) and done here; the schema's
        // may take seconds, and is asked for after the opening ([`State::check_of_an_opened_editor`]).
        let validation = CustomData::parse_with(&checked_text, limits);
        let opening_check_due = shape.is_some() && validation.is_ok();
        drop(checked_text);
        Self {
            user_id,
            user_handle,
            base,
            opened_inert,
            textarea,
            validation,
            generation: 0,
            // Until the schema's answer comes, the text is "checking…" and a save checks it
            // first, as after a typed change.
            checked: if opening_check_due { u64::MAX } else { 0 },
            opening_check_due,
            save_when_checked: None,
            schema_errors: Vec::new(),
            schema_walk: 0,
            shape,
            draft_session: crate::draft::new_session(),
            reopened: None,
            restored: None,
            doubt: None,
            find: None,
            cursor_path: None,
            handle_now: None,
        }
    }

    /// A text area holding `text`, which has been through [`inert::editor_text`], to be drawn
    /// in `area`.
    pub(super) fn textarea(text: &str, area: Rect) -> TextArea<'static> {
        // ratatui-textarea measures the display width of every line again when it is made,
        // on each setting below and on its first frame in a new area: ~4 passes over 1 MiB.
        // So it is set up empty, drawn once empty in the area the view will give it, and only
        // then given the text: one pass.
        let mut textarea = TextArea::default();
        textarea.set_tab_length(2);
        // Reverse video shows a selection with or without colour.
        textarea.set_selection_style(Style::new().add_modifier(Modifier::REVERSED));
        // A gutter of line numbers: the numbers the errors give (`line 14, col 7`). Dim, not
        // coloured, so it reads the same under NO_COLOR.
        textarea.set_line_number_style(Style::new().add_modifier(Modifier::DIM));
        if !area.is_empty() {
            (&textarea).render(area, &mut Buffer::empty(area));
        }
        // As `str::lines` splits: a final line break ends the last line, no empty one after.
        textarea.insert_str(text.strip_suffix('\n').unwrap_or(text));
        // A new history: undo stops at the opened text instead of taking it all out.
        textarea.set_max_histories(1000);
        textarea.move_cursor(CursorMove::Jump(0, 0));
        textarea
    }

    /// An editor on `base` holding `text` instead (a draft, a conflict, an old revision):
    /// it counts as modified from the start.
    pub(super) fn with_text(
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        text: &str,
        limits: &Limits,
        shape: Option<Arc<Shape>>,
        area: Rect,
    ) -> Self {
        Self::open(user_id, user_handle, base, Some(text), limits, shape, area)
    }

    /// A key in the editor, one step for `Ctrl-U` however many edits it makes (`Enter` and its
    /// indentation, a typed char over a selection, `Shift-Tab` over a block: each took one
    /// `Ctrl-U` an edit). Returns whether the text changed.
    pub(super) fn input(&mut self, input: Input) -> bool {
        self.textarea.begin_undo_group();
        let changed = self.key_edit(input);
        self.textarea.end_undo_group();
        changed
    }

    /// What a key does to the text. A character event (typed, or pasted by a terminal without
    /// bracketed paste, one character at a time) that is invisible goes in as its JSON
    /// escape.
    fn key_edit(&mut self, input: Input) -> bool {
        if let Key::Char(c) = input.key
            && !input.ctrl
            && !input.alt
            && let Some(escape) = inert::editor_char(c)
        {
            return self.textarea.insert_str(escape);
        }
        // Ctrl-J is the byte LF, what a paste without bracketed paste or a script sends for a
        // line break: the text area deleted to the line's start there, eating what was just
        // pasted (bb14 L02). A new line, without the indentation `Enter` adds (a pasted line
        // brings its own).
        if input.ctrl && !input.alt && input.key == Key::Char('j') {
            self.textarea.insert_newline();
            return true;
        }
        if !input.ctrl && !input.alt {
            match input.key {
                Key::Enter => return self.new_line_indented(),
                // Shift-Tab takes a level of indentation off the line, as editors do; the text
                // area typed it as a Tab (bb92 F6).
                Key::Tab if input.shift => return self.dedent_line(),
                // Inside a string a tab is its escape, the value JSON allows there (the text
                // area would put spaces, silently changing the value); elsewhere layout.
                Key::Tab if StringState::default().after(self.before_cursor()).in_string() => {
                    return self.textarea.insert_str("\\t");
                }
                Key::Char(close @ ('}' | ']')) => return self.close_dedented(close),
                _ => {}
            }
        }
        // Alt-< / Alt-> (Ctrl-Home / Ctrl-End): the textarea keeps the column on the first or
        // last line; the top of a document is its first character, its end the last.
        if input.alt && !input.ctrl && matches!(input.key, Key::Char('<' | '>')) {
            let changed = self.textarea.input(input.clone());
            let edge = if input.key == Key::Char('<') { CursorMove::Head } else { CursorMove::End };
            // (A selection the shifted key began goes on to the edge too.)
            self.textarea.move_cursor(edge);
            return changed;
        }
        self.textarea.input(input)
    }

    /// The line's text before the cursor.
    pub(super) fn before_cursor(&self) -> &str {
        let cursor = self.textarea.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let line = self.textarea.lines().get(row).map(String::as_str).unwrap_or("");
        let end = line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
        &line[..end]
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    /// The text the editor opened with (the base, made inert).
    pub fn opened_text(&self) -> &str {
        self.opened_inert.as_deref().unwrap_or(&self.base.text)
    }

    /// The user's handle as last read: what the title shows.
    pub fn handle_shown(&self) -> &str {
        self.handle_now.as_deref().unwrap_or(&self.user_handle)
    }

    pub fn is_modified(&self) -> bool {
        // Asked several times a frame: a text of another length differs (typing changes the
        // length, and summing 40,000 line lengths is ~100 times cheaper than comparing 1 MiB);
        // only a text of the same length is compared line by line, without joining it.
        let lines = self.textarea.lines();
        let length = lines.iter().map(String::len).sum::<usize>() + lines.len() - 1;
        let opened = self.opened_text();
        length != opened.len() || !lines.iter().map(String::as_str).eq(opened.split('\n'))
    }

    /// Removing this editing session's draft (and no other).
    pub(super) fn discard_draft(&self) -> Effect {
        Effect::DiscardDraft { user_id: self.user_id.clone(), session: self.draft_session.clone() }
    }

    /// What a draft or recovery file of this edit records.
    pub fn snapshot(&self) -> EditSnapshot {
        let (base_revision, base_digest) = match &self.doubt {
            Some(doubt) => (doubt.base_revision, doubt.base_digest.clone()),
            None => (self.base.revision, crate::draft::digest(&self.base.text)),
        };
        EditSnapshot {
            user_id: self.user_id.clone(),
            user_handle: self.user_handle.clone(),
            session: self.draft_session.clone(),
            base_revision,
            base_digest,
            text: self.text(),
            // Nothing typed since it was reopened: the same edit, as old as it was.
            written_at: self.reopened.filter(|_| self.generation == 0),
        }
    }

    /// Checks the text as it is now, here and at once (opening, saving, jumping to the error).
    pub(super) fn revalidate(&mut self, limits: &Limits) {
        let text = self.text();
        self.validation = CustomData::parse_with(&text, limits);
        self.schema_errors = schema_errors(self.shape.as_deref(), &text, &self.validation);
        self.schema_walk = 0;
        self.checked = self.generation;
        self.opening_check_due = false;
    }

    /// Whether the checked text can be saved: valid JSON that satisfies the schema.
    pub fn is_savable(&self) -> bool {
        self.validation.is_ok() && self.schema_errors.is_empty()
    }

    /// Whether the shown result is for the text as it is now.
    pub fn is_checked(&self) -> bool {
        self.checked == self.generation
    }

    /// Whether a save waits for the text's check to answer.
    pub fn saves_when_checked(&self) -> bool {
        self.save_when_checked.is_some()
    }

    /// The text changed: its check is asked for, to run off the key path (validating 1 MiB
    /// on every key made typing lag); until it answers, the status line says "checking…".
    pub(super) fn changed(&mut self, limits: &Limits) -> Effect {
        self.generation += 1;
        self.save_when_checked = None;
        self.check_again(limits)
    }

    /// The check of the text as it is now, asked for.
    pub(super) fn check_again(&self, limits: &Limits) -> Effect {
        Effect::Check {
            generation: self.generation,
            text: self.text(),
            limits: *limits,
            shape: SharedShape(self.shape.clone()),
        }
    }
}

impl State {
    /// After every action: the path at the editor's cursor worked out again if the cursor or
    /// the text moved since, so drawing a frame only reads it.
    pub(super) fn follow_cursor_path(&mut self) {
        let Some(editor) = &mut self.editor else { return };
        let cursor = editor.textarea.cursor();
        let cursor = (cursor.0, cursor.1);
        if editor
            .cursor_path
            .as_ref()
            .is_some_and(|kept| kept.cursor == cursor && kept.generation == editor.generation)
        {
            return;
        }
        let path = path_at(editor.textarea.lines(), cursor.0, cursor.1);
        editor.cursor_path = Some(CursorPath { cursor, generation: editor.generation, path });
    }

    /// The schema check of an editor just opened, asked for once, off the screen's thread.
    pub(super) fn check_of_an_opened_editor(&mut self) -> Option<Effect> {
        let editor = self.editor.as_mut().filter(|editor| editor.opening_check_due)?;
        editor.opening_check_due = false;
        Some(editor.check_again(&self.limits))
    }

    /// A key in the editor; a changed text asks for its check.
    pub(super) fn edit(&mut self, input: Input) -> Vec<Effect> {
        let waiting = self.editor.as_ref().is_some_and(|e| e.save_when_checked.is_some());
        if let Some(editor) = &mut self.editor
            && editor.input(input)
        {
            let check = editor.changed(&self.limits);
            if waiting {
                self.say(
                    StatusKind::Info,
                    "not saved: you changed the text while it was checked; Ctrl-S saves it as it is now",
                );
            }
            return vec![check];
        }
        Vec::new()
    }

    /// A bracketed paste: inserted as it is, never indented.
    pub(super) fn paste(&mut self, text: &str) -> Vec<Effect> {
        if let Some(editor) = &mut self.editor {
            // Pasted controls, bidi and other invisible characters arrive as JSON escapes, and
            // tabs and line breaks inside strings as `\t` and `\n`.
            let text = inert::editor_text(text);
            let text =
                inert::tabs_and_line_breaks_in_strings_escaped(&text, editor.before_cursor()).into_owned();
            // Over a selection: the selection out and the paste in, one step for `Ctrl-U`.
            editor.textarea.begin_undo_group();
            editor.textarea.insert_str(text);
            editor.textarea.end_undo_group();
            return vec![editor.changed(&self.limits)];
        }
        Vec::new()
    }

    /// A check's answer: shown only when it is for the text as it is now.
    pub(super) fn checked(
        &mut self,
        generation: u64,
        result: Result<CustomData, ValidationError>,
        schema_errors: Vec<Violation>,
    ) -> Vec<Effect> {
        // The result replaced, or one for an older text, is freed on the checker's thread.
        let mut save = None;
        let let_go = match &mut self.editor {
            Some(editor) if editor.generation == generation => {
                editor.schema_errors = schema_errors;
                editor.schema_walk = 0;
                editor.checked = generation;
                save = editor.save_when_checked.take();
                std::mem::replace(&mut editor.validation, result)
            }
            _ => result,
        };
        let mut effects: Vec<Effect> =
            let_go.ok().map(|data| Effect::Discard(Box::new(data))).into_iter().collect();
        if let Some(look) = save {
            effects.extend(self.save_after(look));
        }
        effects
    }

    /// The validation summary for the status line while editing.
    pub fn validation_summary(&self) -> Option<(bool, String)> {
        let editor = self.editor.as_ref()?;
        if !editor.is_checked() {
            return None;
        }
        Some(match &editor.validation {
            Ok(_) if !editor.schema_errors.is_empty() => {
                (false, schema_summary(&editor.schema_errors).unwrap_or_default())
            }
            Ok(data) => {
                // The compact size, the one the limit is on (the pretty text on screen is larger).
                let (size, limit) = human_bytes_apart(data.size(), self.limits.max_bytes);
                (true, format!("valid object · {size} of {limit}"))
            }
            Err(error) => (false, error.to_string()),
        })
    }

    pub(super) fn jump_to_error(&mut self) {
        let Some(editor) = &mut self.editor else { return };
        if !editor.is_checked() {
            // The schema's check may take long on a hostile document: not on the screen's
            // thread (bb79 F2). Without a schema the JSON's own check is quick.
            if editor.shape.is_some() {
                self.say(
                    StatusKind::Info,
                    "checking the text against the schema… Ctrl-G again once it is checked",
                );
                return;
            }
            editor.revalidate(&self.limits);
        }
        if editor.validation.is_ok() && !editor.schema_errors.is_empty() {
            // Each press goes to the next schema error, round again after the last.
            let count = editor.schema_errors.len();
            let index = editor.schema_walk % count;
            editor.schema_walk = index + 1;
            let error = &editor.schema_errors[index];
            let (row, col) = (error.line.saturating_sub(1), error.column.saturating_sub(1));
            editor.textarea.move_cursor(CursorMove::Jump(row, col));
            let message = format!("schema error {} of {count}: {}", index + 1, error.short());
            self.say_until(StatusKind::Error, message, Until::Valid);
            return;
        }
        match editor.validation.as_ref().err().and_then(ValidationError::position) {
            Some((line, column)) => {
                let (row, col) = (line.saturating_sub(1), column.saturating_sub(1));
                editor.textarea.move_cursor(CursorMove::Jump(row, col));
            }
            None => {
                let text = if editor.validation.is_ok() {
                    "no error to jump to"
                } else {
                    "this error has no position"
                };
                // Of this text: it stayed beside the next one's check (bb88 F3).
                let generation = editor.generation;
                self.say_until(StatusKind::Info, text, Until::Edited { generation });
            }
        }
    }

    pub(super) fn leave_editor(&mut self) -> Vec<Effect> {
        match &self.editor {
            // An edit that cannot be saved here (the file replaced, a server that takes no
            // writes) is not offered to be thrown away: `y` to "throw your changes away?" was
            // the answer that lost it, draft and all (bb69 F5). The way out keeps it.
            Some(_) if self.edit_kept_on_the_way_out() => {
                let why = self.read_only.map(ReadOnly::why).unwrap_or_default();
                self.say(
                    StatusKind::Error,
                    format!("this edit cannot be saved here ({why}): Ctrl-C leaves custodian keeping it as a draft"),
                );
            }
            Some(editor) if editor.is_modified() => self.dialog = Some(Dialog::ConfirmDiscard),
            Some(editor) => {
                // The text is what it started from: nothing is unsaved. A draft of this edit
                // (one reopened, or written before the changes were undone) holds nothing
                // more and goes, or the next start would offer it again.
                let mut effects = vec![editor.discard_draft()];
                self.editor = None;
                self.status = None;
                effects.extend(self.refresh());
                return effects;
            }
            None => {}
        }
        Vec::new()
    }
}
