//! Saving the editor's text: checked again, reviewed when keys go, sent, and the answer.

use super::*;

use serde_json::{Map, Value};

use crate::domain::CustomData;
use crate::domain::custom_data::{canonical_text, parse_object};
use crate::domain::diff::{DiffLine, dropped_keys, in_key_order_of, line_diff};
use crate::domain::secrets::find_secrets;
use crate::store::{KeyOrder, Revision, SaveOutcome, StoredDocument};

/// Whether `new` holds the values of the stored text, in whatever key order (compared as
/// JSON values, numbers by their text).
pub(super) fn same_values(stored_text: &str, new: &CustomData) -> bool {
    parse_object(stored_text).is_ok_and(|stored| &stored == new.as_object())
}

/// Keys refused while a save is on its way: they would change the edit being saved (the
/// answer closes the editor, so typing now would be lost), start a second save from the same
/// revision (a conflict with our own save), or replace the editor.
pub(super) fn touches_the_edit_being_saved(action: &Action) -> bool {
    use Action::*;
    matches!(
        action,
        Edit(_)
            | Type(_)
            | Paste(_)
            | SealValue
            | Save
            | LeaveEditor
            | ReloadTheirs
            | OverwriteTheirs
            | OpenEditor
            | OpenDraft
            | RestoreRevision
            | EditExternally
    )
}

/// Answers that end a save's wait: the save's own, or a failure (which may be the save's).
pub(super) fn answers_a_save(action: &Action) -> bool {
    use Action::*;
    matches!(
        action,
        Saved { .. }
            | SchemaRead { for_save: true, .. }
            | SaveConflict { .. }
            | SaveOutcomeUnknown { .. }
            | StoreFailed { .. }
            | WritesRefused { .. }
            | ConnectionLost { .. }
    )
}

/// Whether the stored document was read again for this save's question.
/// What is stored being read before a save's question: for the editing session (`user_id`,
/// its draft `session`) that asked, and, after `o` in the conflict view, the edit (`mine`)
/// and what it chose to overwrite (`theirs`): moved since, that is a new conflict, not a
/// question about keys no longer there (bb18 L06). `None`: asked against the edit's base.
#[derive(Debug, Clone)]
pub struct Review {
    pub user_id: String,
    pub session: String,
    pub overwriting: Option<(CustomData, StoredDocument)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StoredLook {
    NotYet,
    Done,
}

/// What saving `data` over `stored_text` asks about first: the top-level keys it removes and
/// what looks like a secret in it; `None` when it asks nothing (emptying a document asks too).
pub(super) fn question_of(data: &CustomData, stored_text: &str) -> Option<(Vec<String>, Vec<String>)> {
    // A stored text that is no object (written outside custodian) has no keys to lose.
    let old: Map<String, Value> = serde_json::from_str(stored_text).unwrap_or_default();
    let dropped = dropped_keys(&old, data.as_object());
    // customData reaches front ends: what looks like a secret is pointed out first.
    let secrets: Vec<String> = find_secrets(data.as_object()).iter().map(ToString::to_string).collect();
    let empties = data.as_object().is_empty() && !old.is_empty();
    (!dropped.is_empty() || !secrets.is_empty() || empties).then_some((dropped, secrets))
}

impl State {
    /// The line diff of a stored text against a new document. Where the store keeps keys in
    /// its own order, the new document is shown in the stored one's order first, so only
    /// changed values show as changed, never a mere reordering.
    pub(super) fn diff_against(&self, stored_text: &str, new: &CustomData) -> Vec<DiffLine> {
        match self.key_order {
            KeyOrder::AsWritten => line_diff(stored_text, new.canonical()),
            KeyOrder::Backend(_) => match parse_object(stored_text) {
                Ok(stored) => {
                    line_diff(stored_text, &canonical_text(&in_key_order_of(&stored, new.as_object())))
                }
                Err(_) => line_diff(stored_text, new.canonical()),
            },
        }
    }

    pub(super) fn save(&mut self) -> Vec<Effect> {
        // An editor left open when the server stopped taking writes: refused here, the edit
        // kept, rather than sent to be refused again.
        if let Some(why) = self.read_only.filter(|why| why.refused_since_the_start())
            && self.editor.is_some()
        {
            let then = match why {
                ReadOnly::FileReplaced | ReadOnly::FileDamaged => {
                    "Ctrl-C leaves custodian with it kept as a draft"
                }
                _ => "F5 looks whether it takes writes again",
            };
            return self.tell(
                StatusKind::Error,
                format!("not saved: read-only: {}; your edit stays ({then})", why.why()),
            );
        }
        self.save_after(StoredLook::NotYet)
    }

    /// What is stored now, read for the question Ctrl-S asks: moved since the edit's base
    /// (someone saved, or a write outside custodian), it is the conflict view at once — the
    /// save would be refused, and the question would name keys that are not the ones it
    /// removes; else the save goes on and asks against it (the same as the base).
    /// Asks for what is stored now, for the question a save asks ([`Review`]).
    pub(super) fn read_stored_before_asking(
        &mut self,
        overwriting: Option<(CustomData, StoredDocument)>,
    ) -> Vec<Effect> {
        let Some(editor) = &self.editor else { return Vec::new() };
        let id = editor.user_id.clone();
        self.reviewing =
            Some(Review { user_id: id.clone(), session: editor.draft_session.clone(), overwriting });
        vec![Effect::ReadCurrent { id, purpose: Purpose::ReviewSave }]
    }

    pub(super) fn stored_read_before_asking(
        &mut self,
        id: &str,
        handle_now: &str,
        stored: StoredDocument,
    ) -> Vec<Effect> {
        // Only the editing session that asked (edits were held meanwhile): another one, opened
        // since from a draft of the same user, asks for itself.
        let Some(review) = self.reviewing.take() else { return Vec::new() };
        let Some(editor) = self
            .editor
            .as_ref()
            .filter(|e| e.user_id == id && review.user_id == id && e.draft_session == review.session)
        else {
            return Vec::new();
        };
        if self.dialog.is_some() {
            // A question opened meanwhile (quit?): the save is not made, and said so (bb13).
            self.say(
                StatusKind::Error,
                "not saved: a question came up while what is stored was read; Ctrl-S again",
            );
            return Vec::new();
        }
        // What the question would be asked against: the edit's base, or what `o` in the
        // conflict view chose to overwrite.
        let base = review.overwriting.as_ref().map_or(&editor.base, |(_, theirs)| theirs);
        let same_text = stored.text == base.text
            || matches!((parse_object(&stored.text), parse_object(&base.text)), (Ok(a), Ok(b)) if a == b);
        // A sign-in that moved the row is no conflict for an edit that saves nothing.
        let saves_something = match &editor.validation {
            Ok(data) => Self::nothing_to_save(&self.key_order, editor, data).is_none(),
            Err(_) => true,
        };
        let row_moved = saves_something
            && matches!((stored.updated_micros, base.updated_micros), (Some(now), Some(then)) if now != then);
        if stored.revision != base.revision || !same_text || row_moved {
            return self.conflict(id.to_owned(), stored, Some(handle_now.to_owned()));
        }
        // Only when `o` chose to overwrite: what it overwrites, for the question.
        let overwriting = review.overwriting.map(|(mine, _)| match &editor.doubt {
            Some(doubt) => (mine, Overwrites::DraftInDoubt { started_from: doubt.base_revision }),
            None => (mine, Overwrites::of(&stored, &editor.base)),
        });
        // The question that follows names a rename read now, as the conflict view does (it
        // asked "Remove keys?" under the old handle, by then another user's: bb69 F4).
        if let Some(editor) = self.editor.as_mut() {
            editor.handle_now = Some(handle_now.to_owned()).filter(|now| *now != editor.user_handle);
        }
        match overwriting {
            Some((mine, overwrites)) => self.review_and_save(mine, &stored, Some(overwrites)),
            None => self.save_after(StoredLook::Done),
        }
    }

    pub(super) fn save_after(&mut self, look: StoredLook) -> Vec<Effect> {
        if let Some(unresolved) = &self.unresolved_save {
            let text = format!(
                "not saved: custodian must first find out whether your last save became revision {} (r or F5 reconnects and looks)",
                unresolved.revision
            );
            self.say(StatusKind::Error, text);
            return Vec::new();
        }
        let Some(editor) = &mut self.editor else { return Vec::new() };
        // Never saved on an older text's check: the save goes on once the final text's check
        // answers, off the screen's thread (checked here, a document of values just under a
        // schema pattern's limit froze the screen for as long as `set` takes: bb79 F2). A
        // change typed meanwhile takes the save back. The check is asked for again, in case.
        if !editor.is_checked() {
            editor.save_when_checked = Some(look);
            let check = editor.check_again(&self.limits);
            self.say(StatusKind::Info, "checking the text before saving it…");
            return vec![check];
        }
        let editor = &*editor;
        let data = match &editor.validation {
            Ok(_) if !editor.schema_errors.is_empty() => {
                let summary = schema_summary(&editor.schema_errors).unwrap_or_default();
                self.say_until(
                    StatusKind::Error,
                    format!("not saved: {summary} (Ctrl-G walks them)"),
                    Until::Valid,
                );
                // The stored schema may have been changed or cleared since it was read: read
                // again, the editor is held to the one there now.
                if let SchemaSource::Stored(seen) = self.schema_source {
                    return vec![Effect::ReadSchema { seen, for_save: true }];
                }
                return Vec::new();
            }
            Ok(data) => data.clone(),
            Err(error) => {
                // Ctrl-G is named only where it goes somewhere (a document over the limit has
                // no place to jump to: bb11).
                let text = match error.position() {
                    Some(_) => "not saved: fix the error first (Ctrl-G jumps to it)".to_owned(),
                    None => format!("not saved: fix the error first: {error}"),
                };
                self.say_until(StatusKind::Error, text, Until::Valid);
                return Vec::new();
            }
        };
        // A restored revision goes to the store even when it is the base's text: the store
        // says "no changes" only if no one saved since, else the conflict view shows theirs.
        if let Some(unchanged) = Self::nothing_to_save(&self.key_order, editor, &data) {
            // Said once what is stored is known to be the base still: someone's save since
            // left the editor showing a document no longer stored, and "no changes" said it
            // was (bb34 #3); the look finds it and shows the conflict view.
            if look == StoredLook::NotYet {
                return self.read_stored_before_asking(None);
            }
            let generation = editor.generation;
            self.say_until(StatusKind::Info, unchanged, Until::Edited { generation });
            return Vec::new();
        }
        if editor.doubt.is_some() {
            // A draft whose base is in doubt is never saved without the conflict view.
            let theirs = editor.base.clone();
            self.show_doubtful_draft(theirs, data);
            return Vec::new();
        }
        let base = editor.base.clone();
        if look == StoredLook::NotYet && question_of(&data, &base.text).is_some() {
            return self.read_stored_before_asking(None);
        }
        self.review_and_save(data, &base, None)
    }

    /// What Ctrl-S says when `data`, the edit's text, saves nothing over the edit's base:
    /// the same text, or (where the store keeps its own key order) the same values. `None`
    /// for an edit to save, and for a restored revision, which the store always answers.
    fn nothing_to_save(key_order: &KeyOrder, editor: &Editor, data: &CustomData) -> Option<&'static str> {
        if editor.restored.is_some() {
            return None;
        }
        if data.canonical() == editor.base.text {
            return Some("no changes");
        }
        // (Whose key order it is, the status line says all through the edit.)
        (matches!(key_order, KeyOrder::Backend(_)) && same_values(&editor.base.text, data))
            .then_some("no changes: only the key order differs")
    }

    /// Saves `data` over `stored`, first asking when it removes top-level keys that `stored`
    /// has (or empties it) or holds what looks like a secret: the one question every save asks.
    /// Overwriting theirs after a conflict is always asked, with the diff of theirs → mine.
    pub(super) fn review_and_save(
        &mut self,
        data: CustomData,
        stored: &StoredDocument,
        overwriting: Option<Overwrites>,
    ) -> Vec<Effect> {
        let question =
            question_of(&data, &stored.text).or_else(|| overwriting.map(|_| (Vec::new(), Vec::new())));
        if let Some((dropped, secrets)) = question {
            let diff = self.diff_against(&stored.text, &data);
            self.dialog = Some(Dialog::ConfirmDrop {
                dropped,
                data,
                diff,
                secrets,
                held_to: stored.clone(),
                overwriting,
                scroll: 0,
            });
            return Vec::new();
        }
        self.save_effect(data, stored.clone())
    }

    /// The stored schema read again. One set, changed or cleared since it was read becomes
    /// the screen's, and the open editor's text is checked against it at once; a save it
    /// stopped says so, and the edit stays to be looked at and saved again.
    pub(super) fn schema_read(
        &mut self,
        revision: Option<Revision>,
        shape: Result<SharedShape, String>,
        for_save: bool,
    ) -> Vec<Effect> {
        if self.schema_source == SchemaSource::Stored(revision) {
            return Vec::new();
        }
        let shape = match shape {
            Ok(SharedShape(shape)) => shape,
            Err(why) => {
                let what = if for_save { "; nothing was saved" } else { "" };
                self.say(StatusKind::Error, format!("the stored schema cannot be used: {why}{what}"));
                return Vec::new();
            }
        };
        self.shape = shape;
        self.schema_source = SchemaSource::Stored(revision);
        if let Some(editor) = &mut self.editor {
            editor.shape = self.shape.clone();
            editor.revalidate(&self.limits);
        }
        // A clear is said as one: it read "set from outside … checked against it" (bb91 F4).
        let (now, since, outside, against) = match revision {
            Some(revision) => (
                format!("the schema is now revision {revision}"),
                ", set since this edit was checked",
                " (set from outside)",
                "against it",
            ),
            None => (
                "the schema was cleared".to_owned(),
                " since this edit was checked",
                " from outside",
                "against none",
            ),
        };
        if for_save {
            self.say(
                StatusKind::Error,
                format!("not saved: {now}{since}; the edit is checked {against} now — save again"),
            );
        } else {
            let checked = if self.editor.is_some() {
                format!("; the edit is checked {against} now")
            } else {
                String::new()
            };
            self.say(StatusKind::Info, format!("{now}{outside}{checked}"));
        }
        Vec::new()
    }

    pub(super) fn save_effect(&mut self, data: CustomData, held_to: StoredDocument) -> Vec<Effect> {
        let Some(editor) = &self.editor else { return Vec::new() };
        let effect = Effect::Save { id: editor.user_id.clone(), data, held_to, schema: self.schema_source };
        // Pending from this moment, not from the runtime's next look at its workers: a quit
        // that follows at once must already know a save is on its way.
        self.pending = Some(Pending::Saving);
        self.save_unanswered = None;
        self.say(StatusKind::Info, "saving…");
        vec![effect]
    }

    pub(super) fn saved(
        &mut self,
        id: String,
        outcome: SaveOutcome,
        handle_now: Option<String>,
    ) -> Vec<Effect> {
        // Only the saving session's draft goes; other sessions' drafts of this user stay.
        let mut effects: Vec<Effect> = match &self.editor {
            Some(editor) if editor.user_id == id => vec![editor.discard_draft()],
            _ => Vec::new(),
        };
        // A save goes by id; the user's username or email may have changed hands while the
        // edit was under way (an import, Logto), and the title still named the old handle,
        // now perhaps someone else's: said (bb31 U06).
        let renamed = match (&self.editor, handle_now) {
            (Some(editor), Some(now)) if editor.user_id == id && editor.user_handle != now => format!(
                " of {now}: renamed while you edited (the edit began as {}'s); the save went to that same user, id {id}",
                editor.user_handle
            ),
            _ => String::new(),
        };
        match outcome {
            SaveOutcome::Saved { revision, .. } => {
                self.editor = None;
                let kind = if renamed.is_empty() { StatusKind::Success } else { StatusKind::Error };
                self.say(kind, format!("saved revision {revision}{renamed}"));
            }
            SaveOutcome::Unchanged { .. } => {
                self.editor = None;
                self.say(StatusKind::Info, format!("no changes{renamed}"));
            }
        }
        // Show what the store now holds: the canonical form, the new revision, others' saves
        // (until then not the document before the save, under its old revision: bb101 F2).
        self.user = None;
        self.document = None;
        self.draft_failure = None;
        effects.extend(self.refresh());
        effects
    }
}
