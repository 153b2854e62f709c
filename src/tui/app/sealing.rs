//! Sealing a value in the editor and opening a sealed one into a plaintext overlay.

use super::*;

use ratatui_textarea::CursorMove;
use serde_json::Value;
use zeroize::Zeroize;

use crate::domain::human_bytes;
use crate::domain::seal;

/// Where sealing takes an IV (96 bits, never used twice with a key), or why there is none.
pub type IvSource = fn() -> Result<[u8; seal::IV_BYTES], String>;

/// The operating system's random bytes: the IV source custodian runs with.
pub fn system_iv() -> Result<[u8; seal::IV_BYTES], String> {
    seal::fresh_iv().map_err(|e| e.to_string())
}

/// The plaintext of one sealed value, shown in an overlay while it is open. It lives only
/// here: never in the editor's text, a draft, the log or the clipboard, and it is dropped when
/// the overlay closes.
pub struct Plaintext {
    pub path: String,
    pub kid: Option<String>,
    /// The opened value, pretty-printed.
    pub text: String,
    /// The first row shown ([`Plaintext::rows`]): a value longer than the overlay scrolls.
    pub scroll: usize,
}

impl Plaintext {
    /// The text as the overlay shows it on a screen `width` columns wide: inert, each line cut
    /// into rows of the overlay's width (a token or an IBAN has no spaces to break at). It was
    /// one row cut at the edge, and at the screen's bottom, with nothing saying so (bb44 F6).
    pub fn rows(&self, width: u16) -> Vec<String> {
        let room = usize::from(crate::tui::layout::plaintext_inner(width, 0).0).max(1);
        let shown = crate::inert::lines(&crate::inert::json(&self.text)).into_owned();
        shown.lines().flat_map(|line| crate::tui::whole_user::pieces_of(line, room)).collect()
    }

    /// How far it scrolls on a screen `width`×`height`: its last row at the bottom, no further.
    pub fn max_scroll(&self, width: u16, height: u16) -> usize {
        let shown = usize::from(crate::tui::layout::plaintext_inner(width, height).1);
        self.rows(width).len().saturating_sub(shown)
    }
}

/// Where `j`/`k`, `PgDn`/`PgUp` and `Home`/`End` take the plaintext overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaintextScroll {
    Rows(isize),
    Page(isize),
    Edge(bool),
}

impl Drop for Plaintext {
    /// Closing the overlay wipes the text, not only frees it.
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// The rows (sorted by key) with the hits merged in, in one pass: inserting them one by one
/// would shift thousands of rows per hit. A hit already in the
/// rows (the prefix search and the scan both find it) is kept once.
/// The byte offset of character `col` of line `row` of `text`.
pub(super) fn byte_offset(text: &str, row: usize, col: usize) -> usize {
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        if index == row {
            return offset + line.char_indices().nth(col).map_or(line.len(), |(at, _)| at);
        }
        offset += line.len() + 1;
    }
    text.len()
}

/// The line and character column of byte `offset` of `text`.
pub(super) fn row_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let row = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (row, before[line_start..].chars().count())
}

impl State {
    /// The plaintext overlay closes (and its text is wiped).
    pub(super) fn close_plaintext(&mut self) -> Vec<Effect> {
        self.plaintext = None;
        Vec::new()
    }

    /// Scrolls the plaintext by `rows`, a page (`page`: its direction), or to an edge.
    pub(super) fn scroll_plaintext(&mut self, to: PlaintextScroll) -> Vec<Effect> {
        let (width, height) = (self.width, self.height);
        if let Some(plaintext) = &mut self.plaintext {
            let most = plaintext.max_scroll(width, height);
            let page = crate::tui::layout::plaintext_inner(width, height).1.saturating_sub(1).max(1) as isize;
            plaintext.scroll = match to {
                PlaintextScroll::Rows(rows) => plaintext.scroll.saturating_add_signed(rows),
                PlaintextScroll::Page(direction) => plaintext.scroll.saturating_add_signed(page * direction),
                PlaintextScroll::Edge(bottom) => {
                    if bottom {
                        most
                    } else {
                        0
                    }
                }
            }
            .min(most);
        }
        Vec::new()
    }

    /// The valid text of the editor and the value under its cursor, or why not (on the
    /// status line).
    pub(super) fn value_under_cursor(&mut self, what: &str) -> Option<(String, seal::ValueSpan)> {
        let editor = self.editor.as_ref()?;
        let text = editor.text();
        // Only the JSON's own check, which is quick: the schema's may take long on a hostile
        // document, and a seal or an open does not need it (bb79 F2).
        let valid = match editor.is_checked() {
            true => editor.validation.is_ok(),
            false => crate::domain::CustomData::parse_with(&text, &self.limits).is_ok(),
        };
        if !valid {
            self.say(
                StatusKind::Error,
                format!("the text is not valid yet: fix it before {what} (Ctrl-G shows where)"),
            );
            return None;
        }
        let cursor = editor.textarea.cursor();
        let offset = byte_offset(&text, cursor.0, cursor.1);
        match seal::value_under(&text, offset) {
            Some(span) => Some((text, span)),
            None => {
                self.say(StatusKind::Error, format!("put the cursor on a value (or its key) before {what}"));
                None
            }
        }
    }

    /// The key file read again before a seal or an open (`then`): that is done with the keys
    /// it holds now, or not at all when it cannot be read.
    pub(super) fn key_file_read_again(
        &mut self,
        keys: Result<crate::domain::seal::KeySet, String>,
        then: Action,
    ) -> Vec<Effect> {
        match keys {
            Ok(keys) => {
                self.keys = Some(keys);
                super::update(self, then)
            }
            Err(why) => self.tell(
                StatusKind::Error,
                format!("the key file changed since custodian started and cannot be read now: {why}; nothing was sealed or opened"),
            ),
        }
    }

    pub(super) fn no_key_file(&mut self) {
        self.say(
            StatusKind::Error,
            "no key file: start custodian with --key-file FILE or $CUSTODIAN_KEY_FILE (make one with `custodian keygen --out FILE`)",
        );
    }

    /// Replaces the value under the cursor with its sealed form (a JWE string), as one edit
    /// the editor can undo.
    pub(super) fn seal_value(&mut self) -> Vec<Effect> {
        if self.editor.is_none() {
            return Vec::new();
        }
        let Some(keys) = self.keys.clone() else {
            self.no_key_file();
            return Vec::new();
        };
        let Some((text, span)) = self.value_under_cursor("sealing") else { return Vec::new() };
        let Ok(value) = crate::domain::custom_data::parse_value(&text[span.start..span.end]) else {
            return Vec::new();
        };
        // As `--seal` judges it: what the secrets lint passes as ciphertext (bb93 F3).
        if value.as_str().is_some_and(seal::could_be_ciphertext) {
            self.say(StatusKind::Info, format!("{} is already sealed", span.path));
            return Vec::new();
        }
        if let Some(inner) = seal::sealed_inside(&value, &span.path) {
            let message = format!(
                "not sealed: {} holds the sealed value {}; seal the values beside it one by one instead",
                span.path, inner
            );
            self.say(StatusKind::Info, message);
            return Vec::new();
        }
        let iv = match (self.iv_source)() {
            Ok(iv) => iv,
            Err(e) => {
                self.say(StatusKind::Error, format!("cannot seal: no random bytes from the system ({e})"));
                return Vec::new();
            }
        };
        let key = keys.sealing_key();
        let sealed = format!("\"{}\"", seal::seal(&value, key, iv));
        let Some(editor) = self.editor.as_mut() else { return Vec::new() };
        let (start_row, start_col) = row_col(&text, span.start);
        let (end_row, end_col) = row_col(&text, span.end);
        editor.textarea.cancel_selection();
        editor.textarea.move_cursor(CursorMove::Jump(start_row, start_col));
        editor.textarea.start_selection();
        editor.textarea.move_cursor(CursorMove::Jump(end_row, end_col));
        // The value's removal and the sealed value's insertion: one step for `Ctrl-U`.
        editor.textarea.begin_undo_group();
        editor.textarea.insert_str(&sealed);
        editor.textarea.end_undo_group();
        // The plaintext sealed is the value's compact text, whatever the editor's layout.
        let size = human_bytes(serde_json::to_string(&value).map_or(0, |plaintext| plaintext.len()));
        let message =
            format!("sealed {} ({size}) with key {}; Ctrl-S saves, Ctrl-U undoes", span.path, key.kid());
        let effect = editor.changed(&self.limits);
        self.say(StatusKind::Success, message);
        vec![effect]
    }

    /// Opens the sealed value under the cursor into the plaintext overlay.
    pub(super) fn open_sealed(&mut self) {
        if self.editor.is_none() {
            return;
        }
        let Some(keys) = self.keys.clone() else {
            self.no_key_file();
            return;
        };
        let Some((text, span)) = self.value_under_cursor("opening") else { return };
        let token = match crate::domain::custom_data::parse_value(&text[span.start..span.end]) {
            // A damaged one too: opening says what is wrong with it (it was "not sealed": bb67 F1).
            Ok(Value::String(token))
                if seal::is_sealed(&token) || seal::damaged_seal_parts(&token).is_some() =>
            {
                token
            }
            _ => {
                self.say(StatusKind::Info, format!("{} is not sealed", span.path));
                return;
            }
        };
        match seal::open(&token, &keys) {
            Ok(value) => {
                let kid = seal::summary(&token).and_then(|s| s.kid);
                // Serialising a Value cannot fail.
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                self.plaintext = Some(Plaintext { path: span.path, kid, text, scroll: 0 });
            }
            Err(error) => {
                let error = seal::CannotOpen { path: span.path, error };
                self.say(StatusKind::Error, error.to_string());
            }
        }
    }
}
