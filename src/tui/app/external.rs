//! A fresh read of the selected user's document, and what it is for: the editor, `$EDITOR`
//! or the clipboard.

use super::*;

use crate::domain::human_bytes;
use crate::inert;
use crate::store::{StoredDocument, UserRecord};

/// What a fresh read of the selected user's document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `e`/Enter: custodian's editor.
    Edit,
    /// `E`: `$VISUAL`/`$EDITOR`.
    EditExternally,
    /// `y`: the clipboard.
    Copy,
    /// Ctrl-S of an edit that removes keys (or holds what looks like a secret): what is stored
    /// now, so the question names what this save would really remove, not what the edit's
    /// base had (bb11 G16); a document moved since is the conflict view at once.
    ReviewSave,
}

impl Purpose {
    /// The key that asked for the read, as messages name it.
    pub(super) fn key(self) -> &'static str {
        match self {
            Purpose::Edit => "e",
            Purpose::EditExternally => "E",
            Purpose::Copy => "y",
            Purpose::ReviewSave => "Ctrl-S",
        }
    }
}

/// What the external editor left in its file, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalText {
    pub text: String,
    /// Why the text must be looked at before it may be saved (bytes that were not UTF-8,
    /// shown as U+FFFD, with the untouched file kept and named): custodian's editor opens on
    /// it with this message instead of saving.
    pub damaged: Option<String>,
}

impl From<String> for ExternalText {
    fn from(text: String) -> Self {
        Self { text, damaged: None }
    }
}

/// The most customData `y` puts on the clipboard: terminals limit what an OSC 52 request may
/// carry (xterm and tmux accept about 100 KB of base64 or more, some far less).
pub const CLIPBOARD_LIMIT: usize = 100 * 1024;

impl State {
    /// Asks for the selected user's stored document, read now, for `purpose`; says why not
    /// when there is no user (or, to edit, when the store is read-only).
    pub(super) fn read_current(&mut self, purpose: Purpose) -> Vec<Effect> {
        if purpose != Purpose::Copy && self.refused_read_only() {
            return Vec::new();
        }
        if self.list.following.is_some() {
            self.say(StatusKind::Info, "a moment: the refresh is finding the selected user's row");
            return Vec::new();
        }
        match self.list.selected_entry() {
            Some(entry) => {
                let id = entry.user.id.clone();
                if purpose != Purpose::ReviewSave {
                    self.read_for_a_key = Some((id.clone(), purpose));
                }
                vec![Effect::ReadCurrent { id, purpose }]
            }
            None => {
                self.say(StatusKind::Info, "no user selected");
                Vec::new()
            }
        }
    }

    /// The stored document arrived: the panes show it, and `purpose` goes on from it. An
    /// answer for a user no longer selected (the operator moved meanwhile) is dropped.
    pub(super) fn current_read(
        &mut self,
        purpose: Purpose,
        record: UserRecord,
        document: StoredDocument,
    ) -> Vec<Effect> {
        if purpose == Purpose::ReviewSave {
            return self.stored_read_before_asking(&record.user.id, record.user.handle(), document);
        }
        // A key pressed since, or a failure, ended this one, and said so.
        if self.read_for_a_key.take_if(|(id, asked)| *id == record.user.id && *asked == purpose).is_none() {
            return Vec::new();
        }
        let selected = self.list.selected_entry().map(|e| e.user.id.as_str());
        if selected != Some(record.user.id.as_str()) || self.editor.is_some() || self.dialog.is_some() {
            // The key was for the user selected when it was pressed (`:u name⏎e` before the
            // jump landed): it opened nothing and said nothing (bb45 M6).
            if selected.is_some_and(|id| id != record.user.id)
                && self.editor.is_none()
                && self.dialog.is_none()
            {
                let what = purpose.key();
                self.say(
                    StatusKind::Info,
                    format!("the selection moved before {what} was answered: nothing was opened; press {what} again for the user selected"),
                );
            }
            return Vec::new();
        }
        if let Some(entry) = self.list.rows.get_mut(self.list.selected) {
            entry.revision = record.revision;
            *entry.user = record.user.clone();
        }
        let (user_id, handle) = (record.user.id.clone(), record.user.handle().to_owned());
        self.user = Some(record);
        self.document = Some(document.clone());
        match purpose {
            Purpose::Edit => {
                self.say(StatusKind::Info, format!("editing customData of {handle}"));
                self.editor = Some(Editor::new(
                    user_id,
                    handle,
                    document,
                    &self.limits,
                    self.shape.clone(),
                    self.editor_area(),
                ));
                // A schema set or cleared from outside since it was read holds this edit from
                // the start, not from its first save (bb92 F4): read it again now.
                match self.schema_source {
                    SchemaSource::Stored(seen) => vec![Effect::ReadSchema { seen, for_save: false }],
                    _ => Vec::new(),
                }
            }
            Purpose::EditExternally => {
                let text = inert::editor_text(&document.text).into_owned();
                let max_bytes = self.limits.max_bytes;
                vec![Effect::EditExternally { user_id, user_handle: handle, base: document, text, max_bytes }]
            }
            Purpose::Copy => self.copy(&document),
            Purpose::ReviewSave => Vec::new(),
        }
    }

    /// `y`: the selected user's customData, as stored (canonical), onto the clipboard; its
    /// compact form when the indented one is over the clipboard's limit and that fits (a
    /// 66.9 KiB document was refused as "155.9 KiB", its indented size, a number no other view
    /// shows: bb15 L09). A refusal says the compact size, as every other view, and the indented.
    ///
    /// Hidden characters go as their JSON escapes ([`inert::json`]): the same value, and a
    /// bidi override is never pasted raw into the next terminal or chat (bb26: `y` copied
    /// U+202E as it is).
    pub(super) fn copy(&mut self, document: &StoredDocument) -> Vec<Effect> {
        let shown = inert::json(&document.text);
        let indented = shown.len();
        let compact = crate::domain::scan::compact_len(document.text.as_bytes());
        let limit = human_bytes(CLIPBOARD_LIMIT);
        let compact_text = || {
            serde_json::from_str::<serde_json::Value>(&document.text)
                .ok()
                .and_then(|v| serde_json::to_string(&v).ok())
                .map(|text| inert::json(&text).into_owned())
        };
        let (text, said) = if indented <= CLIPBOARD_LIMIT {
            (
                shown.into_owned(),
                format!("sent {} to the terminal's clipboard (OSC 52)", human_bytes(indented)),
            )
        } else if let Some(text) = compact_text().filter(|text| text.len() <= CLIPBOARD_LIMIT) {
            let said = format!(
                "sent {} to the terminal's clipboard (OSC 52), compact: indented it is {}, over the {limit} a terminal clipboard takes",
                human_bytes(text.len()),
                human_bytes(indented)
            );
            (text, said)
        } else {
            self.say(
                StatusKind::Error,
                format!(
                    "not copied: customData is {} ({} indented), more than the {limit} a terminal clipboard takes; use `custodian get USER` instead",
                    human_bytes(compact),
                    human_bytes(indented)
                ),
            );
            return Vec::new();
        };
        self.say(StatusKind::Success, said);
        vec![Effect::CopyToClipboard { text }]
    }

    /// The external editor was closed: its text goes the way of Ctrl-S — unchanged is "no
    /// changes", invalid opens custodian's editor on it with the error, valid is saved (asking
    /// first when keys are removed). When the session is ending (a hang-up or TERM came while
    /// the editor ran) a changed text is only put in custodian's editor, unsaved, so the way
    /// out keeps it as a draft; what the screen would have said goes to stderr then.
    pub(super) fn edited_externally(
        &mut self,
        user_id: String,
        user_handle: String,
        base: StoredDocument,
        result: Result<ExternalText, String>,
        session_ending: bool,
    ) -> Vec<Effect> {
        let (text, damaged) = match result {
            Ok(ExternalText { text, damaged }) => {
                // Said on the way out whatever the text: a file left to an editor still
                // running is named even when it holds no change yet.
                if session_ending {
                    self.said_at_exit.extend(damaged.clone());
                }
                (text, damaged)
            }
            Err(message) => {
                if session_ending {
                    self.said_at_exit.push(message.clone());
                }
                self.say(StatusKind::Error, message);
                return Vec::new();
            }
        };
        // Windows editors (Notepad, some VS Code settings) start the file with a byte-order
        // mark: in the editor it became the visible `\ufeff`, "line 1, col 1: expected value"
        // (bb16 L06). It is no part of the document: taken off, and said.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => {
                self.say(
                    StatusKind::Info,
                    "the byte-order mark (U+FEFF) your editor wrote at the start was taken off",
                );
                rest.to_owned()
            }
            None => text,
        };
        let sent = inert::editor_text(&base.text).into_owned();
        if text.trim_end() == sent.trim_end() {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        let editor = Editor::with_text(
            user_id,
            user_handle,
            base,
            text.trim_end(),
            &self.limits,
            self.shape.clone(),
            self.editor_area(),
        );
        if session_ending {
            // Nobody is left to answer the save's questions: the edit stays unsaved, and the
            // way out keeps it as a draft, with the revision it started from.
            self.editor = Some(editor);
            self.say(
                StatusKind::Info,
                "the session is ending: what the editor wrote is kept as a draft, not saved",
            );
            return Vec::new();
        }
        if let Some(damaged) = damaged {
            // Never saved unseen: what replaced the bytes is the operator's to judge.
            self.editor = Some(editor);
            self.say(StatusKind::Error, format!("not saved: {damaged} (fix it here; Ctrl-S saves)"));
            return Vec::new();
        }
        if let Err(error) = &editor.validation {
            let message = format!("not saved: {error} (fix it here; Ctrl-S saves)");
            self.editor = Some(editor);
            self.jump_to_error();
            self.say(StatusKind::Error, message);
            return Vec::new();
        }
        if let Some(summary) = schema_summary(&editor.schema_errors) {
            let message = format!("not saved: {summary} (fix it here; Ctrl-S saves)");
            self.editor = Some(editor);
            self.jump_to_error();
            self.say(StatusKind::Error, message);
            return Vec::new();
        }
        if editor.validation.as_ref().is_ok_and(|data| data.canonical() == editor.base.text) {
            self.say(StatusKind::Info, "no changes");
            return Vec::new();
        }
        self.editor = Some(editor);
        self.save()
    }
}
