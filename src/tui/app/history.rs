//! A user's history: its revisions, the diff of the selected one, and restoring it.

use super::*;

use crate::domain::diff::{DiffLine, compact, line_diff};
use crate::domain::history::RevisionChanges;
use crate::store::{Revision, RevisionInfo, StoredDocument};
use crate::tui::layout;
use std::rc::Rc;

/// The history of one user: every revision with what it changed; of the texts only the
/// current one and the one selected are held (a history of 1 MiB documents stays small).
pub struct HistoryView {
    pub user_id: String,
    pub user_handle: String,
    /// Oldest first; the last is the current revision.
    pub entries: Vec<HistoryEntry>,
    /// The user's revisions older than these, left out (the newest are shown). Not the number
    /// of the oldest shown less one: another account's revisions under the id are none of
    /// this one's, and were counted as `older` (bb100 F7).
    pub older: usize,
    pub selected: usize,
    pub current_text: String,
    /// The selected old revision's text, once read.
    pub shown: Option<(Revision, String)>,
    /// `Enter` came before the selected revision's text: it goes into the editor when read
    /// (on a slow link the operator need not press it again). Moving the selection drops it.
    pub restore_when_read: Option<Revision>,
    /// Rows of the selected revision's diff scrolled past (`J`/`K`).
    pub diff_scroll: usize,
    /// The selected revision's diff, by the selection and the old text it was made with.
    pub diff_memo: DiffMemo<(usize, Option<Revision>)>,
}

pub struct HistoryEntry {
    pub info: RevisionInfo,
    /// Top-level keys this revision added and removed, and an earlier revision it equals.
    pub changes: RevisionChanges,
}

impl HistoryView {
    /// `older`: the user's revisions older than those given.
    pub(super) fn new(
        user_id: String,
        user_handle: String,
        (revisions, older): (Vec<(RevisionInfo, RevisionChanges)>, usize),
        current_text: String,
    ) -> Self {
        let entries: Vec<HistoryEntry> =
            revisions.into_iter().map(|(info, changes)| HistoryEntry { info, changes }).collect();
        let selected = entries.len().saturating_sub(1);
        Self {
            user_id,
            user_handle,
            entries,
            older,
            selected,
            current_text,
            shown: None,
            restore_when_read: None,
            diff_scroll: 0,
            diff_memo: DiffMemo::default(),
        }
    }

    pub fn current(&self) -> Option<&HistoryEntry> {
        self.entries.last()
    }

    /// The selected revision's text, when it is at hand (the current one always is).
    pub fn selected_text(&self) -> Option<&str> {
        let entry = self.entries.get(self.selected)?;
        if entry.info.current {
            return Some(&self.current_text);
        }
        self.shown
            .as_ref()
            .filter(|(revision, _)| *revision == entry.info.revision)
            .map(|(_, text)| text.as_str())
    }

    /// What restoring the selected revision would change in the current document (nothing
    /// until its text is read).
    pub fn selected_diff(&self) -> Rc<Vec<DiffLine>> {
        let key = (self.selected, self.shown.as_ref().map(|(revision, _)| *revision));
        self.diff_memo.get(key, || {
            self.selected_text().map(|text| line_diff(&self.current_text, text)).unwrap_or_default()
        })
    }

    /// Selects the revision at `index` (within the list) and asks for its text if needed.
    fn select(&mut self, index: usize) -> Vec<Effect> {
        let index = index.min(self.entries.len().saturating_sub(1));
        if index != self.selected {
            self.selected = index;
            self.restore_when_read = None;
            self.diff_scroll = 0;
        }
        self.load_selected()
    }

    /// The read the selection needs, if its text is not at hand.
    pub(super) fn load_selected(&self) -> Vec<Effect> {
        match self.entries.get(self.selected) {
            Some(entry) if self.selected_text().is_none() => {
                vec![Effect::LoadRevision { id: self.user_id.clone(), revision: entry.info.revision }]
            }
            _ => Vec::new(),
        }
    }
}

impl State {
    /// One revision older (`-1`) or newer.
    pub(super) fn history_step(&mut self, delta: i8) -> Vec<Effect> {
        self.history_select(
            |history| {
                if delta < 0 { history.selected.saturating_sub(1) } else { history.selected + 1 }
            },
        )
    }

    /// A page of revisions older (`direction < 0`) or newer.
    pub(super) fn history_page_by(&mut self, direction: i8) -> Vec<Effect> {
        let page = self.history_page();
        self.history_select(|history| {
            if direction < 0 {
                history.selected.saturating_sub(page)
            } else {
                history.selected.saturating_add(page)
            }
        })
    }

    /// The oldest revision, or the newest.
    pub(super) fn history_edge(&mut self, newest: bool) -> Vec<Effect> {
        self.history_select(|_| if newest { usize::MAX } else { 0 })
    }

    /// Selects the revision `index_of` gives; an Enter that waited for another one's text is
    /// said to be dropped (the status line still promised it: bb13).
    fn history_select(&mut self, index_of: impl FnOnce(&HistoryView) -> usize) -> Vec<Effect> {
        let Some(history) = &mut self.history else { return Vec::new() };
        let waiting = history.restore_when_read;
        let effects = history.select(index_of(history));
        if let Some(revision) = waiting.filter(|_| history.restore_when_read.is_none()) {
            self.say(
                StatusKind::Info,
                format!("revision {revision} will not go into the editor: another one is selected"),
            );
        }
        effects
    }

    /// `J`/`K`: scroll the diff, to its last row at the bottom of its pane and no further (a
    /// restore that changes more lines than the pane holds showed only its first ones).
    pub(super) fn history_diff_scroll(&mut self, delta: i16) -> Vec<Effect> {
        let shown = layout::history_diff_rows(self.height);
        let Some(history) = &mut self.history else { return Vec::new() };
        let rows = compact(&history.selected_diff()).len();
        history.diff_scroll = history
            .diff_scroll
            .saturating_add_signed(isize::from(delta))
            .min(rows.saturating_sub(usize::from(shown)));
        Vec::new()
    }

    /// How many revisions a page of the history list moves: the rows its list shows (two
    /// fifths of the overlay, inside its borders).
    pub(super) fn history_page(&self) -> usize {
        (usize::from(self.height.saturating_sub(5)) * 2 / 5).saturating_sub(1).max(1)
    }

    pub(super) fn open_history(&mut self) -> Vec<Effect> {
        match &self.user {
            Some(record) => vec![Effect::LoadHistory { id: record.user.id.clone() }],
            None => {
                self.say(StatusKind::Info, "no user selected");
                Vec::new()
            }
        }
    }

    pub(super) fn history_loaded(
        &mut self,
        id: String,
        revisions: (Vec<(RevisionInfo, RevisionChanges)>, usize),
        current_text: String,
    ) -> Vec<Effect> {
        let Some(record) = self.user.as_ref().filter(|r| r.user.id == id) else { return Vec::new() };
        self.history = Some(HistoryView::new(id, record.user.handle().to_owned(), revisions, current_text));
        self.changes_history_loaded()
    }

    pub(super) fn revision_loaded(&mut self, id: String, revision: Revision, text: String) -> Vec<Effect> {
        // Kept only while it is still the one selected: moving on drops a late answer.
        if let Some(history) = &mut self.history
            && history.user_id == id
            && history.entries.get(history.selected).is_some_and(|e| e.info.revision == revision)
        {
            history.shown = Some((revision, text));
            if history.restore_when_read.take() == Some(revision) {
                return self.restore_revision();
            }
        }
        Vec::new()
    }

    /// Puts the selected revision into the editor; Ctrl-S then saves it as a new revision,
    /// through the same checks as any edit.
    pub(super) fn restore_revision(&mut self) -> Vec<Effect> {
        if self.refused_read_only() {
            return Vec::new();
        }
        let Some(mut history) = self.history.take() else { return Vec::new() };
        let (Some(current), Some(selected)) = (history.current(), history.entries.get(history.selected))
        else {
            return Vec::new();
        };
        if selected.info.current {
            // Current as the history was read: someone may have saved since (bb12). The
            // history is read again, so a newer revision shows up to be chosen.
            self.say(
                StatusKind::Info,
                "that was the current revision when the history was read; read again: a save made since shows up",
            );
            let reread = Effect::LoadHistory { id: history.user_id.clone() };
            self.history = Some(history);
            return vec![reread];
        }
        let revision = selected.info.revision;
        let Some(text) = history.selected_text().map(str::to_owned) else {
            self.say(
                StatusKind::Info,
                format!("revision {revision} is still being read: it goes into the editor when it is in"),
            );
            history.restore_when_read = Some(revision);
            // Asked again: the first read may have failed (a read on its way answers twice,
            // and the second answer finds the history closed).
            let read = history.load_selected();
            self.history = Some(history);
            return read;
        };
        let base = StoredDocument {
            text: history.current_text.clone(),
            revision: current.info.revision,
            updated_micros: None,
        };
        let mut editor = Editor::with_text(
            history.user_id,
            history.user_handle,
            base,
            &text,
            &self.limits,
            self.shape.clone(),
            self.editor_area(),
        );
        editor.restored = Some(revision);
        self.editor = Some(editor);
        self.say(
            StatusKind::Info,
            format!("revision {revision} is in the editor: Ctrl-S saves it as a new revision"),
        );
        Vec::new()
    }
}
