//! The questions the operator answers before anything else: yes/no, and quitting.

use super::*;

use crate::domain::CustomData;
use crate::domain::diff::DiffLine;
use crate::draft::Draft;
use crate::store::StoredDocument;

/// What an overwrite after a conflict replaces, decided when it is asked (the question said
/// "saved since you opened this edit" of the edit's own revision: bb33 F2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrites {
    /// A revision saved since the edit opened.
    SavedSince,
    /// The revision the edit opened, its customData as read: the user's row moved (a
    /// sign-in, a profile edit on Logto's database).
    ProfileChanged,
    /// The revision the edit opened, its customData written outside custodian since
    /// (Logto's database keeps the number until custodian keeps such a write).
    WrittenOutside,
    /// A draft reopened in doubt: it began from revision `started_from` as another text, or
    /// one this database does not hold (a file restored from a backup) — no one changed
    /// anything since it was read here (bb62 F1: said as a sign-in or a profile edit).
    DraftInDoubt { started_from: u64 },
}

impl Overwrites {
    /// What overwriting `theirs` replaces, for an edit that opened `base`.
    pub fn of(theirs: &StoredDocument, base: &StoredDocument) -> Self {
        match (theirs.revision == base.revision, theirs.text == base.text) {
            (false, _) => Self::SavedSince,
            (true, true) => Self::ProfileChanged,
            (true, false) => Self::WrittenOutside,
        }
    }
}

/// A question the operator must answer before anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// The save removes top-level keys that exist now (or empties the document): the diff of
    /// stored against new, to confirm.
    /// `held_to` is the document the save is checked against: the editor's base, or theirs
    /// when overwriting after a conflict.
    ConfirmDrop {
        dropped: Vec<String>,
        data: CustomData,
        diff: Vec<DiffLine>,
        secrets: Vec<String>,
        held_to: StoredDocument,
        /// What it overwrites when it overwrites theirs after a conflict: then it is asked
        /// whatever it removes (`o` replaced a colleague's value with one key: bb29 S04).
        overwriting: Option<Overwrites>,
        /// Lines of the question scrolled past (`↓`/`PgDn`): every removed key and the whole
        /// diff can be read before `y` (they were cut at the box's edge: bb16 L04).
        scroll: usize,
    },
    /// Someone saved this user since the editor opened: theirs against mine.
    Conflict { theirs: StoredDocument, mine: CustomData, diff: Vec<DiffLine>, scroll: usize },
    /// Unsaved edits from earlier sessions were found: open, discard or leave each.
    DraftFound { drafts: Vec<Draft>, selected: usize },
    /// Leaving the editor would throw away changes.
    ConfirmDiscard,
    /// Quitting would throw away changes.
    ConfirmQuit,
    /// Throwing away a found draft (the [`Dialog::DraftFound`] it came from, asked again on no).
    ConfirmDiscardDraft(Box<Dialog>),
    /// Applying `:patch`'s file: this many users would change.
    /// `over`: the users the dry run went over (`users matching "x"`, `every user`).
    /// `secrets`: the users it would leave holding something that looks like a secret.
    ConfirmPatch { users: u64, file: String, over: String, secrets: super::SecretsInPatch },
}

impl Dialog {
    /// How far the question's text is scrolled (0 for a question whose text does not scroll).
    pub fn scroll(&self) -> usize {
        match self {
            Dialog::ConfirmDrop { scroll, .. } | Dialog::Conflict { scroll, .. } => *scroll,
            _ => 0,
        }
    }

    /// How far the question's text is scrolled, for the questions whose text scrolls (the
    /// save's and the conflict's).
    pub fn scroll_mut(&mut self) -> Option<&mut usize> {
        match self {
            Dialog::ConfirmDrop { scroll, .. } | Dialog::Conflict { scroll, .. } => Some(scroll),
            _ => None,
        }
    }

    /// What yes (`y`) and what no (Enter, `n`, Esc) do, in words, for the yes/no questions:
    /// the dialog shows them beside the keys.
    pub fn answers(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Dialog::ConfirmDrop { overwriting: Some(_), .. } => Some(("save it", "no, back to the conflict")),
            Dialog::ConfirmDrop { .. } => Some(("save it", "no, back to the editor")),
            Dialog::ConfirmDiscard => Some(("throw your changes away", "no, back to the editor")),
            Dialog::ConfirmQuit => Some(("quit and throw your changes away", "no, back")),
            Dialog::ConfirmDiscardDraft(_) => Some(("throw the draft away", "no, back to the draft")),
            Dialog::ConfirmPatch { .. } => Some(("apply the patch", "no, back to the dry run")),
            Dialog::Conflict { .. } | Dialog::DraftFound { .. } => None,
        }
    }
}

impl State {
    /// `↑`/`↓`/`PgUp`/`PgDn` in the save's question or the conflict: scroll its text, to its
    /// last line at the box's bottom and no further.
    pub(super) fn scroll_question(&mut self, delta: isize) {
        let most = crate::tui::view::dialog::most_scroll(self);
        if let Some(scroll) = self.dialog.as_mut().and_then(Dialog::scroll_mut) {
            *scroll = scroll.saturating_add_signed(delta).min(most);
        }
    }

    pub(super) fn page_question(&mut self, pages: isize) {
        let from = self.dialog.as_ref().map_or(0, Dialog::scroll);
        let paged = crate::tui::view::dialog::question_paged(self, from, pages);
        if let Some(scroll) = self.dialog.as_mut().and_then(Dialog::scroll_mut) {
            *scroll = paged;
        }
    }

    /// No (Enter, `n`, Esc) to a question, or Esc over an overlay.
    pub(super) fn cancel(&mut self) -> Vec<Effect> {
        match self.dialog.take() {
            // Drafts put off for later stay on disk; the next start offers them again.
            Some(Dialog::DraftFound { .. }) => self.pending_drafts.clear(),
            // No to the quit question: the question it put aside is asked again.
            Some(Dialog::ConfirmQuit) => self.dialog = self.set_aside.take(),
            // The draft is kept: back to the question about it.
            Some(Dialog::ConfirmDiscardDraft(found)) => self.dialog = Some(*found),
            // No to overwriting theirs: back to the conflict view it came from (it went to the
            // editor, and an `r` typed next went into the JSON: bb51 F4).
            Some(Dialog::ConfirmDrop { overwriting: Some(_), data, held_to, .. }) => {
                let diff = self.diff_against(&held_to.text, &data);
                self.dialog = Some(Dialog::Conflict { theirs: held_to, mine: data, diff, scroll: 0 });
            }
            // Any other question: no, go back.
            Some(_) => {}
            None if self.help => self.help = false,
            None if self.messages_open => self.messages_open = false,
            None if self.whole_user.is_some() => self.whole_user = None,
            None => self.history = None,
        }
        Vec::new()
    }

    /// The way out: a patch's dry run or batch stops at once ([`State::stop_patch_work`]); an
    /// export too when a signal ended the session — a hang-up or TERM leaves no 30 s to wait
    /// in (`docker stop` kills after 10), and stopped it makes no file and lets the database
    /// close cleanly. After `q` an export is waited for first ([`crate::tui::wait_at_the_end`]).
    pub fn stop_work_at_the_way_out(&self, ended_by_a_signal: bool) {
        self.stop_patch_work();
        if ended_by_a_signal {
            self.exports_stop.stop();
        }
    }

    pub(super) fn quit(&mut self) {
        if let Some(view) = self.patch.as_mut().filter(|view| view.applying) {
            // A batch the operator confirmed is not thrown away by a key (the way out stops
            // it, as a signal does): the screen stays until it answers, as `q` does (bb30 T01),
            // then ends (the key was dropped: bb83 F6).
            view.quit_when_answered = true;
            let users = view.applying_to();
            self.say(
                StatusKind::Info,
                format!(
                    "applying the patch to {users}… quitting once it is written (a signal stops it, writing nothing)"
                ),
            );
            return;
        }
        if self.pending == Some(Pending::Saving) {
            // "Throw your changes away" is not offered while a save is on its way: the way out
            // waits for its answer, and an edit the save did not write is kept as a draft.
            self.say(
                StatusKind::Info,
                "quitting once the save answers; an edit it does not write is kept as a draft",
            );
            self.dialog = None;
            self.set_aside = None;
            self.quit = true;
        } else if let Some(doubt) = &self.unresolved_save {
            // A save in doubt may not have happened: the edit may be its only copy, so no key
            // throws it away (`y` to "throw your changes away?" deleted the draft: bb41 F6).
            // The way out keeps it as a draft and says how to find out.
            self.said_at_exit.push(doubt.said_at_exit());
            self.dialog = None;
            self.set_aside = None;
            self.quit = true;
        } else if let Some((editor, why)) = self.editor.as_ref().filter(|e| e.is_modified()).and_then(|e| {
            let why = match (&self.connection_lost, self.read_only) {
                (Some(_), _) => "the connection to the database was lost",
                (None, Some(ReadOnly::Server)) => "the server stopped taking writes",
                (None, Some(ReadOnly::FileReplaced)) => "the database file was replaced or removed",
                (None, Some(ReadOnly::FileDamaged)) => "the database file is damaged",
                _ => return None,
            };
            Some((e, why))
        }) {
            // The connection is lost, or the server takes no writes now (bb57 F4): the edit
            // cannot be saved from here (a rotated password the server refuses, a server
            // away, a failover to a standby), and the only answer to "throw your changes
            // away?" deleted its draft too (bb53 F2). Kept, as a save in doubt is; the way out
            // says where it went (a draft, or the last-chance copy).
            self.said_at_exit.push(format!("{why}, so your edit of user {} was not saved", editor.user_id));
            self.dialog = None;
            self.set_aside = None;
            self.quit = true;
        } else if self.editor.as_ref().is_some_and(Editor::is_modified) {
            // On the too-small screen a question already open is invisible: it is put aside
            // for the quit question and comes back if the answer is no.
            if let Some(open) = self.dialog.take().filter(|d| *d != Dialog::ConfirmQuit) {
                self.set_aside = Some(open);
            }
            self.dialog = Some(Dialog::ConfirmQuit);
        } else {
            // The way out waits for work already sent (up to 30 s for a write, 2 s for a read): said, where the screen
            // otherwise showed only `loading…` while a stopped server kept it (bb9).
            match self.pending {
                // A file's read is waited for as a write is (it said "at most 2 s", and waited
                // 30: bb44 F4).
                Some(Pending::Loading) => self.say(
                    StatusKind::Info,
                    if self.outside_writes() {
                        "quitting once the store answers the read on its way (nothing is being written; at most 2 s)"
                    } else {
                        "quitting once the store answers the read on its way (nothing is being written; at most 30 s)"
                    },
                ),
                Some(Pending::Exporting) => self.say(
                    StatusKind::Info,
                    "quitting once the export on its way ends (past 30 s it stops, its file not made)",
                ),
                // A batch being written is answered above, from the overlay.
                Some(Pending::Saving | Pending::Applying) | None => {}
            }
            self.quit = true;
        }
    }

    pub(super) fn confirm(&mut self) -> Vec<Effect> {
        match self.dialog.take() {
            Some(Dialog::ConfirmDrop { data, held_to, .. }) => self.save_effect(data, held_to),
            Some(Dialog::ConfirmPatch { .. }) => self.apply_patch(),
            Some(Dialog::ConfirmDiscard) => {
                let editor = self.editor.take();
                self.say(StatusKind::Info, "changes discarded");
                let mut effects: Vec<Effect> =
                    editor.as_ref().map(Editor::discard_draft).into_iter().collect();
                effects.extend(self.refresh());
                effects
            }
            Some(Dialog::ConfirmQuit)
                if self.pending == Some(Pending::Saving)
                    || self.unresolved_save.is_some()
                    || self.connection_lost.is_some()
                    || self.read_only.is_some_and(ReadOnly::refused_since_the_start) =>
            {
                // A save started after the question was asked: its answer decides what stays.
                self.quit();
                Vec::new()
            }
            Some(Dialog::ConfirmQuit) => {
                // Quitting without saving was chosen: nothing is kept as a draft.
                self.set_aside = None;
                let editor = self.editor.take();
                self.quit = true;
                editor.as_ref().map(Editor::discard_draft).into_iter().collect()
            }
            Some(Dialog::ConfirmDiscardDraft(found)) => {
                self.dialog = Some(*found);
                self.discard_draft()
            }
            Some(dialog @ (Dialog::Conflict { .. } | Dialog::DraftFound { .. })) => {
                self.dialog = Some(dialog);
                Vec::new()
            }
            None => Vec::new(),
        }
    }
}
