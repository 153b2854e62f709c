//! Someone saved first: theirs against mine, reload theirs (keeping mine) or overwrite.

use super::*;

use crate::domain::CustomData;
use crate::store::StoredDocument;

impl State {
    /// Keeping the edit in a recovery file failed: theirs is not loaded.
    pub(super) fn recovery_failed(&mut self, message: &str) -> Vec<Effect> {
        self.tell(
            StatusKind::Error,
            format!("theirs not loaded: your edit could not be kept in a recovery file ({message}); it is still here"),
        )
    }

    pub(super) fn conflict(
        &mut self,
        id: String,
        theirs: StoredDocument,
        handle_now: Option<String>,
    ) -> Vec<Effect> {
        let Some(editor) = self.editor.as_mut().filter(|e| e.user_id == id) else { return Vec::new() };
        // As the conflict found it now: a reload since may have made the edit's handle the
        // new one (review57: "the user is now X, not X").
        if let Some(now) = handle_now {
            editor.handle_now = Some(now).filter(|now| *now != editor.user_handle);
        }
        let renamed = editor.handle_now.as_ref().map(|now| {
            // Made inert where the status line is drawn: marked here too, an ESC in a handle
            // was shown as `\u{241b}`, another text (bb63 F1's double marking).
            format!(" · the user is now {now}, not {}", editor.user_handle)
        });
        let Some(editor) = self.editor.as_ref() else { return Vec::new() };
        let Ok(mine) = editor.validation.clone() else { return Vec::new() };
        let diff = self.diff_against(&theirs.text, &mine);
        let opened = editor.base.revision;
        // On Logto's database any write to the user's row (a sign-in, a profile edit) moves
        // updated_at, and a save over it is refused too: said as what it is, not as a
        // revision that is the one opened.
        let text = if theirs.revision != opened && self.outside_writes() {
            // A newer revision there may be a write outside custodian (psql, Logto), which
            // custodian numbers too: "someone saved" it was not (bb11).
            format!(
                "conflict: revision {} is stored now, not the revision {opened} you opened (saved by someone, or written outside custodian); nothing was written",
                theirs.revision
            )
        } else if theirs.revision != opened {
            format!(
                "conflict: someone saved revision {} since you opened revision {opened}; nothing was written",
                theirs.revision
            )
        } else if theirs.text == editor.base.text {
            format!(
                "conflict: the user was changed outside custodian since you opened revision {opened} (not their customData: a sign-in or a profile edit); nothing was written"
            )
        } else {
            format!(
                "conflict: customData was changed outside custodian since you opened revision {opened}; nothing was written"
            )
        };
        let read_again = renamed.is_some();
        self.say(StatusKind::Error, format!("{text}{}", renamed.unwrap_or_default()));
        self.dialog = Some(Dialog::Conflict { theirs, mine, diff, scroll: 0 });
        // The profile and the list row show who the user is now, as the conflict says (bb63
        // F3: the old name and email stayed there until `r`).
        if read_again { vec![Effect::LoadUser { id }] } else { Vec::new() }
    }

    /// Whether the store's documents can be written outside custodian (Logto's database,
    /// whose key order is its own), so a newer revision may be nobody's save.
    pub(crate) fn outside_writes(&self) -> bool {
        matches!(self.key_order, crate::store::KeyOrder::Backend(_))
    }

    /// The conflict view for a draft whose base is in doubt: theirs (what is stored now)
    /// against the draft.
    pub(super) fn show_doubtful_draft(&mut self, theirs: StoredDocument, mine: CustomData) {
        let diff = self.diff_against(&theirs.text, &mine);
        self.dialog = Some(Dialog::Conflict { theirs, mine, diff, scroll: 0 });
    }

    /// Conflict, "reload theirs": my edit goes to a recovery file first; only once it is
    /// written does the editor show theirs.
    pub(super) fn reload_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, .. }) = self.dialog.take() else { return Vec::new() };
        let Some(edit) = self.editor.as_ref().map(Editor::snapshot) else { return Vec::new() };
        self.say(StatusKind::Info, "keeping your edit in a recovery file…");
        vec![Effect::KeepRecovery { edit, theirs }]
    }

    /// The recovery file is written: theirs goes in the editor (a new editing session).
    pub(super) fn recovery_kept(&mut self, path: String, theirs: StoredDocument) -> Vec<Effect> {
        let Some(editor) = self.editor.take() else { return Vec::new() };
        // The panes show what is stored now: their revision, in the profile as in the editor.
        let reload = Effect::LoadUser { id: editor.user_id.clone() };
        let revision = theirs.revision;
        self.document = Some(theirs.clone());
        // A new edit, begun under the user's handle as last read.
        self.editor = Some(Editor::new(
            editor.user_id,
            editor.handle_now.unwrap_or(editor.user_handle),
            theirs,
            &self.limits,
            self.shape.clone(),
            self.editor_area(),
        ));
        self.draft_failure = None;
        self.say(
            StatusKind::Info,
            format!("your edit is kept in {path}; the editor holds theirs, revision {revision}"),
        );
        vec![reload]
    }

    /// Conflict, "overwrite anyway": save mine over theirs, on purpose (their version stays in
    /// the history). Mine is measured against theirs, so the save asks the question every save
    /// asks — the keys theirs has that mine drops, what looks like a secret — before anything
    /// is written.
    pub(super) fn overwrite_theirs(&mut self) -> Vec<Effect> {
        let Some(Dialog::Conflict { theirs, mine, .. }) = self.dialog.take() else { return Vec::new() };
        if self.editor.is_none() {
            return Vec::new();
        }
        // The editor keeps its own base: "no" goes back to editing, and the next save meets
        // theirs as a conflict again instead of writing over it unseen. Always asked, showing
        // theirs → mine (one key replaced a colleague's value unasked: bb29 S04); the question
        // names what is stored now: read again, as Ctrl-S reads it.
        self.read_stored_before_asking(Some((mine, theirs)))
    }
}
