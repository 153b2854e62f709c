//! Unsaved drafts found at start-up: offered, opened into the editor, or thrown away.

use super::*;

use crate::draft::Draft;
use crate::store::{StoredDocument, UserRecord};

impl State {
    /// `d` on a found draft: asked first.
    pub(super) fn ask_discard_draft(&mut self) -> Vec<Effect> {
        // A read-only screen changes nothing, and a draft may be the only copy of another
        // operator's unsaved edit: opening it was refused, throwing it away was not (bb65 F2).
        if self.draft_kept_read_only(|read_only| match read_only {
            ReadOnly::Asked => "start custodian without --read-only to discard it",
            ReadOnly::Server => "discard it on a server that takes writes (the primary)",
            ReadOnly::FileReplaced => "start custodian again to discard it",
            ReadOnly::FileDamaged => "restore the file, then start custodian again to discard it",
        }) {
            return Vec::new();
        }
        if let Some(found @ Dialog::DraftFound { .. }) = self.dialog.take() {
            self.dialog = Some(Dialog::ConfirmDiscardDraft(Box::new(found)));
        }
        Vec::new()
    }

    /// On a read-only screen a found draft is neither opened nor thrown away: said, with what
    /// would do it (`then`). False on a screen that writes.
    fn draft_kept_read_only(&mut self, then: impl Fn(ReadOnly) -> &'static str) -> bool {
        let Some(read_only) = self.read_only else { return false };
        let message = format!("read-only: {}: the draft is kept; {}", read_only.why(), then(read_only));
        self.say(StatusKind::Error, message);
        true
    }

    pub(super) fn draft_not_opened(&mut self, message: String) -> Vec<Effect> {
        self.opening_draft = false;
        self.tell(StatusKind::Error, message)
    }

    /// A draft whose edit is what is stored now, or what a later revision holds: said,
    /// removed, and the other drafts offered (bb20 L05: a save whose answer was lost had
    /// committed; the draft it left was reopened, and its save showed the operator's own save
    /// as "someone"'s, with no difference). Once someone had saved after that commit, the
    /// draft was reopened as an unsaved edit, and its conflict view offered to take their
    /// change back (bb31 U10).
    pub(super) fn draft_already_stored(
        &mut self,
        user_id: String,
        handle: &str,
        session: String,
        (revision, current): (Revision, Revision),
    ) -> Vec<Effect> {
        self.opening_draft = false;
        let text = if current == revision {
            format!(
                "the edit in the draft of {handle} is stored already, as revision {revision} (its save did commit, someone saved the same, or it changed only white space): nothing left to save, the draft is removed"
            )
        } else {
            format!(
                "the edit in the draft of {handle} was saved as revision {revision} (its save did commit, or someone saved the same), and revision {current} was saved since: nothing left to save, the draft is removed (`h` shows both)"
            )
        };
        self.say(StatusKind::Success, text);
        self.offer_pending_drafts();
        vec![Effect::DiscardDraft { user_id, session }]
    }

    /// The autosave's answer: a failure is said once, and so is its end.
    pub(super) fn autosaved(&mut self, result: Result<String, String>) -> Vec<Effect> {
        match result {
            Ok(_) => {
                if self.draft_failure.take().is_some() {
                    self.say(StatusKind::Success, "your edit is kept in a draft again");
                }
            }
            Err(message) => {
                if self.draft_failure.is_none() {
                    self.say(StatusKind::Error, format!("your edit cannot be kept as a draft: {message}"));
                }
                self.draft_failure = Some(message);
            }
        }
        Vec::new()
    }

    pub(super) fn drafts_found(
        &mut self,
        drafts: Vec<Draft>,
        not_offered: Vec<String>,
        in_use: Vec<String>,
    ) -> Vec<Effect> {
        // Said for the operator who knows of an edit under way elsewhere; nothing to do here.
        if let Some(first) = in_use.first() {
            let whose = match in_use.len() {
                1 => format!("a draft of {first}"),
                n => format!("{n} drafts"),
            };
            self.say(
                StatusKind::Info,
                format!("{whose} is being edited in another running custodian (not offered)"),
            );
        }
        // Each said on its own (F2 lists them), up to five: drafts kept for two addresses were
        // said as the first one's and `3 more`, with its way to reopen them (bb99 F10).
        const SAID_EACH: usize = 5;
        for (at, why) in not_offered.iter().take(SAID_EACH).enumerate() {
            let more = match not_offered.len() {
                n if n > SAID_EACH && at == SAID_EACH - 1 => {
                    format!(
                        " (and {} more; the log names them, each with what it was kept for)",
                        n - SAID_EACH
                    )
                }
                _ => String::new(),
            };
            // Which of how many, so the one the status line keeps says there are others.
            let of = match not_offered.len() {
                1 => String::new(),
                n => format!(" ({} of {n}, F2 lists them)", at + 1),
            };
            self.say(StatusKind::Error, format!("not offered as a draft{of}: {why}{more}"));
        }
        if !drafts.is_empty() {
            self.dialog = Some(Dialog::DraftFound { drafts, selected: 0 });
        }
        Vec::new()
    }

    /// Offers the found drafts still waiting once nothing else holds the screen (the draft
    /// opened from the list was saved or left).
    pub(super) fn offer_pending_drafts(&mut self) {
        if !self.pending_drafts.is_empty()
            && !self.opening_draft
            && self.editor.is_none()
            && self.dialog.is_none()
            && self.history.is_none()
        {
            let drafts = std::mem::take(&mut self.pending_drafts);
            self.dialog = Some(Dialog::DraftFound { drafts, selected: 0 });
        }
    }

    pub(super) fn select_draft(&mut self, delta: isize) {
        if let Some(Dialog::DraftFound { drafts, selected }) = &mut self.dialog {
            let last = drafts.len().saturating_sub(1) as isize;
            *selected = (*selected as isize).saturating_add(delta).clamp(0, last) as usize;
        }
    }

    /// Takes the selected draft out of the list; the rest wait in `pending_drafts`.
    pub(super) fn take_selected_draft(&mut self) -> Option<Draft> {
        let Some(Dialog::DraftFound { mut drafts, selected }) = self.dialog.take() else { return None };
        if selected >= drafts.len() {
            return None;
        }
        let draft = drafts.remove(selected);
        self.pending_drafts = drafts;
        Some(draft)
    }

    pub(super) fn open_draft(&mut self) -> Vec<Effect> {
        if self.draft_kept_read_only(|read_only| match read_only {
            ReadOnly::Asked => "open it without --read-only to save it",
            ReadOnly::Server => "open it on a server that takes writes (the primary) to save it",
            ReadOnly::FileReplaced => "start custodian again to save it on the file there now",
            ReadOnly::FileDamaged => "restore the file, then start custodian again to save it",
        }) {
            return Vec::new();
        }
        let Some(draft) = self.take_selected_draft() else { return Vec::new() };
        self.opening_draft = true;
        vec![Effect::LoadDraft(draft)]
    }

    pub(super) fn discard_draft(&mut self) -> Vec<Effect> {
        if self.read_only.is_some() {
            return Vec::new();
        }
        let Some(draft) = self.take_selected_draft() else { return Vec::new() };
        // Named as the question named them: the handle the draft was written with may be
        // another user's by now (bb69 F4).
        let handle = draft.handle_now.as_ref().unwrap_or(&draft.user_handle);
        self.say(StatusKind::Info, format!("draft of {handle} ({}) discarded", draft.user_id));
        // The others stay in the list.
        self.offer_pending_drafts();
        vec![Effect::RemoveFoundDraft(draft)]
    }

    pub(super) fn draft_ready(
        &mut self,
        record: UserRecord,
        base: StoredDocument,
        draft: Draft,
        doubt: Option<String>,
    ) -> Vec<Effect> {
        self.opening_draft = false;
        let handle = record.user.handle().to_owned();
        // The edit began under the handle the draft was written with: a rename since is the
        // one the conflict view and the save's answer name (bb58 F5: compared with the new
        // handle, the conflict view said nothing of it).
        let mut editor = Editor::with_text(
            record.user.id.clone(),
            draft.user_handle.clone(),
            base.clone(),
            &draft.text,
            &self.limits,
            self.shape.clone(),
            self.editor_area(),
        );
        // The draft now belongs to this editing session (the runtime renamed it).
        editor.draft_session = draft.session.clone();
        editor.reopened = Some(draft.saved_at);
        editor.handle_now = Some(handle.clone()).filter(|now| *now != draft.user_handle);
        // Renamed since the draft was written (an import, Logto): said, so an operator
        // following a ticket that names the old handle knows (bb31 U06).
        let who = if draft.user_handle == handle {
            handle.clone()
        } else {
            format!("{handle} (written as {}'s: renamed since)", draft.user_handle)
        };
        let note = match &doubt {
            Some(reason) => format!(
                "draft of {who}: {reason}; it is shown against what is stored now and is never saved without that view"
            ),
            None if record.revision == draft.base_revision => match &draft.later_copy {
                Some(file) => format!(
                    "draft of {who} reopened with what was typed after it, from {file} (where custodian kept the edit when it could not write drafts): Ctrl-S saves it"
                ),
                None => format!("draft of {who} reopened: Ctrl-S saves it"),
            },
            None => format!(
                "draft of {who} reopened; it started from revision {}, the user is now at {}: saving will show the conflict",
                draft.base_revision, record.revision
            ),
        };
        editor.doubt = doubt.map(|reason| Doubt {
            reason,
            base_revision: draft.base_revision,
            base_digest: draft.base_digest.clone(),
        });
        let mine = editor.validation.clone().ok().filter(|_| editor.doubt.is_some());
        self.editor = Some(editor);
        match mine {
            Some(mine) => self.show_doubtful_draft(base, mine),
            None => self.dialog = None,
        }
        self.say(if self.dialog.is_some() { StatusKind::Error } else { StatusKind::Info }, note);
        // Every pane shows the user being edited: the list selects the draft's user, so
        // the profile beside the editor is that user's, as `:user` would.
        let id = record.user.id;
        if self.editor.as_ref().is_some_and(|e| e.user_id == id)
            && self.list.selected_entry().is_none_or(|e| e.user.id != id)
        {
            return vec![Effect::SelectUser { id }];
        }
        Vec::new()
    }
}
