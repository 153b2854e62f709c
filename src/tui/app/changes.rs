//! `:changes` (`c` in the list): the journal overlay — every save across users, newest first,
//! read from the store a page at a time as the selection goes down; `Enter` opens that
//! user's history at that revision.

use super::{Effect, State, StatusKind};
use crate::store::{JournalEntry, Revision};

/// Entries read per page: a few screens' worth, so moving down rarely waits.
pub const CHANGES_PAGE: usize = 200;

/// One row of the overlay: a journal entry and the user's handle as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangesRow {
    pub entry: JournalEntry,
    /// The user's handle (username, else email, phone, id); empty when the user is gone.
    pub handle: String,
}

/// The overlay while open: the entries read so far, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangesView {
    pub rows: Vec<ChangesRow>,
    pub selected: usize,
    /// A page is on its way.
    pub loading: bool,
    /// The oldest entry is among `rows`.
    pub at_end: bool,
    /// `End` was the last move: the page that reads the oldest entry takes the selection to
    /// it (it stayed on the last row read before, under a footer saying "the start of the
    /// journal": bb40 F5).
    pub to_oldest: bool,
}

impl ChangesView {
    pub fn selected_row(&self) -> Option<&ChangesRow> {
        self.rows.get(self.selected)
    }

    /// Where the next page starts: before the oldest entry read (`None`: the newest).
    fn next_page(&self) -> Option<(i64, u64)> {
        self.rows.last().map(|row| row.entry.position())
    }
}

/// The journal overlay and a jump from it to a user's history in progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub view: Option<ChangesView>,
    /// `Enter` was pressed on this save: once the user is selected and loaded, their history
    /// opens with this revision selected.
    pub jump: Option<(String, Revision)>,
}

impl State {
    /// Rows a page of the overlay moves: the rows its list shows.
    fn changes_page(&self) -> usize {
        usize::from(self.height).saturating_sub(7).max(1)
    }

    pub(super) fn open_changes(&mut self) -> Vec<Effect> {
        self.changes.view = Some(ChangesView { loading: true, ..ChangesView::default() });
        vec![Effect::LoadChanges { before: None, limit: CHANGES_PAGE }]
    }

    pub(super) fn close_changes(&mut self) -> Vec<Effect> {
        self.changes.view = None;
        Vec::new()
    }

    /// A page arrived (or the store could not read the journal: the overlay closes and says
    /// why, as on a backend that keeps none).
    pub(super) fn changes_loaded(
        &mut self,
        before: Option<(i64, u64)>,
        rows: Result<Vec<ChangesRow>, String>,
    ) -> Vec<Effect> {
        let Some(view) = &mut self.changes.view else { return Vec::new() };
        // Only the page asked for last: one for an overlay closed and opened again is late.
        if !view.loading || view.next_page() != before {
            return Vec::new();
        }
        view.loading = false;
        match rows {
            Ok(rows) => {
                view.at_end = rows.len() < CHANGES_PAGE;
                view.rows.extend(rows);
                if view.to_oldest && view.at_end {
                    view.selected = view.rows.len().saturating_sub(1);
                }
                if view.rows.is_empty() {
                    self.say(StatusKind::Info, "no changes yet: the journal is empty");
                }
                Vec::new()
            }
            Err(message) => {
                self.changes.view = None;
                self.say(StatusKind::Error, format!("changes: {message}"));
                Vec::new()
            }
        }
    }

    /// Moves the selection by `by` rows (clamped); reads the next page when it comes near
    /// the last row read.
    pub(super) fn move_in_changes(&mut self, by: isize) -> Vec<Effect> {
        let page = self.changes_page();
        let Some(view) = &mut self.changes.view else { return Vec::new() };
        let last = view.rows.len().saturating_sub(1);
        view.selected = view.selected.saturating_add_signed(by).min(last);
        view.to_oldest = by == isize::MAX;
        if !view.at_end && !view.loading && view.selected + 2 * page >= view.rows.len() {
            view.loading = true;
            return vec![Effect::LoadChanges { before: view.next_page(), limit: CHANGES_PAGE }];
        }
        Vec::new()
    }

    /// A page of the overlay down (1) or up (-1).
    pub(super) fn page_in_changes(&mut self, direction: i8) -> Vec<Effect> {
        let page = self.changes_page() as isize;
        self.move_in_changes(if direction < 0 { -page } else { page })
    }

    /// `Enter`: select the save's user in the list, then (see [`State::changes_user_loaded`])
    /// open their history at its revision.
    pub(super) fn jump_to_change(&mut self) -> Vec<Effect> {
        let Some(row) = self.changes.view.as_ref().and_then(ChangesView::selected_row) else {
            return Vec::new();
        };
        if let (true, Some(users)) = (row.entry.is_load(), row.entry.load) {
            let batch = row.entry.batch.as_ref().map(ToString::to_string).unwrap_or_default();
            // One user's load is still one entry for all its users ("1 users" was said: bb30 T04).
            let which = if users == 1 { "its user" } else { "one of them" };
            let note = format!(
                "a bulk load of {} has no one user's history: `:user` {which}, or `custodian changes --batch {batch}`",
                crate::domain::patch::users(users)
            );
            self.say(StatusKind::Info, note);
            return Vec::new();
        }
        let (id, revision) = (row.entry.user_id.clone(), row.entry.revision);
        if row.entry.of_an_earlier_account {
            let note = format!(
                "revision {revision} under id {id} was an earlier account's, deleted since: the user under that id now was created after it, and their history does not hold it"
            );
            self.say(StatusKind::Info, note);
            return Vec::new();
        }
        self.changes.view = None;
        // As `:user id:…` selects a user (the filter cleared), then the history opens.
        let effects = self.jump_to(crate::domain::user_ref::UserRef::id_form(&id));
        self.changes.jump = Some((id, revision));
        effects
    }

    /// The selected user was loaded: the history a jump waits for is read now.
    pub(super) fn changes_user_loaded(&mut self, id: &str) -> Vec<Effect> {
        match &self.changes.jump {
            Some((wanted, _)) if wanted == id => vec![Effect::LoadHistory { id: id.to_owned() }],
            _ => Vec::new(),
        }
    }

    /// The history opened: a jump selects its revision there (and reads that revision's text).
    pub(super) fn changes_history_loaded(&mut self) -> Vec<Effect> {
        let Some(history) = &mut self.history else { return Vec::new() };
        let Some((id, revision)) = self.changes.jump.take_if(|(id, _)| *id == history.user_id) else {
            return Vec::new();
        };
        match history.entries.iter().position(|e| e.info.revision == revision) {
            Some(index) => {
                history.selected = index;
                history.load_selected()
            }
            None => {
                // The history shows its newest revisions only: this one is older.
                let note = format!("revision {revision} of user {id} is older than the history shows");
                self.say(StatusKind::Info, note);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Action, Mode, update};
    use super::*;
    use crate::store::JournalEntry;

    fn entry(id: &str, revision: Revision, sequence: u64) -> ChangesRow {
        ChangesRow {
            entry: JournalEntry {
                saved_at: 1_700_000_000_000 + sequence as i64,
                saved_by: "ops".into(),
                user_id: id.into(),
                revision,
                size: 10,
                added: vec!["a".into()],
                removed: Vec::new(),
                changed: Vec::new(),
                batch: None,
                load: None,
                sequence,
                of_an_earlier_account: false,
            },
            handle: id.into(),
        }
    }

    fn page(from: u64, count: usize) -> Vec<ChangesRow> {
        (0..count as u64).map(|i| entry(&format!("u{}", from - i), 1, from - i)).collect()
    }

    #[test]
    fn changes_opens_on_the_newest_page_and_reads_the_next_only_when_the_selection_nears_its_end() {
        let mut state = State::new(100, 30, false);
        let effects = update(&mut state, Action::OpenChanges);
        assert_eq!(effects, [Effect::LoadChanges { before: None, limit: CHANGES_PAGE }]);
        assert_eq!(state.mode(), Mode::Changes);
        let first = page(10_000, CHANGES_PAGE);
        let oldest = first.last().map(|r| r.entry.position());
        assert!(update(&mut state, Action::ChangesLoaded { before: None, rows: Ok(first) }).is_empty());
        // A late answer for a page not asked for changes nothing.
        assert!(update(&mut state, Action::ChangesLoaded { before: None, rows: Ok(page(5, 2)) }).is_empty());
        assert_eq!(state.changes.view.as_ref().map(|v| v.rows.len()), Some(CHANGES_PAGE));
        assert!(update(&mut state, Action::ChangesMove(1)).is_empty(), "far from the end: nothing read");
        let mut asked = Vec::new();
        for _ in 0..20 {
            asked.extend(update(&mut state, Action::ChangesPage(1)));
        }
        assert_eq!(asked, [Effect::LoadChanges { before: oldest, limit: CHANGES_PAGE }], "asked once");
        update(&mut state, Action::ChangesLoaded { before: oldest, rows: Ok(page(9_000, 3)) });
        let view = state.changes.view.as_ref().expect("open");
        assert_eq!(view.rows.len(), CHANGES_PAGE + 3);
        assert!(view.at_end, "a short page is the last");
        update(&mut state, Action::ChangesEdge(true));
        assert_eq!(state.changes.view.as_ref().map(|v| v.selected), Some(CHANGES_PAGE + 2));
        update(&mut state, Action::CloseChanges);
        assert_eq!(state.mode(), Mode::Browse);
    }

    /// A save of an earlier account under an id (deleted since, the id given again) is not
    /// opened in the current account's history, whose revisions are its own (bb66 F1).
    #[test]
    fn enter_on_an_earlier_accounts_save_says_so_and_opens_nothing() {
        let mut state = State::new(100, 30, false);
        update(&mut state, Action::OpenChanges);
        let mut earlier = entry("u8", 2, 5);
        earlier.entry.of_an_earlier_account = true;
        earlier.handle = String::new();
        update(
            &mut state,
            Action::ChangesLoaded { before: None, rows: Ok(vec![earlier, entry("u9", 1, 4)]) },
        );
        assert!(update(&mut state, Action::JumpToChange).is_empty());
        assert_eq!(state.mode(), Mode::Changes, "still open");
        assert!(state.changes.jump.is_none());
        let said = state.status.as_ref().map(|s| s.text.as_str()).unwrap_or_default();
        assert!(said.starts_with("revision 2 under id u8 was an earlier account's, deleted since"), "{said}");
    }

    /// `End` before the oldest page is read: the page that reads it takes the selection to the
    /// oldest entry (it stayed on the last row read before, under a footer saying "the start
    /// of the journal": bb40 F5); a move meanwhile keeps its own place.
    #[test]
    fn end_goes_to_the_oldest_entry_once_the_page_that_holds_it_is_read() {
        for moved_meanwhile in [false, true] {
            let mut state = State::new(100, 30, false);
            update(&mut state, Action::OpenChanges);
            let first = page(10_000, CHANGES_PAGE);
            let oldest = first.last().map(|r| r.entry.position());
            update(&mut state, Action::ChangesLoaded { before: None, rows: Ok(first) });
            let asked = update(&mut state, Action::ChangesEdge(true));
            assert_eq!(asked, [Effect::LoadChanges { before: oldest, limit: CHANGES_PAGE }]);
            if moved_meanwhile {
                update(&mut state, Action::ChangesMove(-1));
            }
            update(&mut state, Action::ChangesLoaded { before: oldest, rows: Ok(page(9_000, 63)) });
            let view = state.changes.view.as_ref().expect("open");
            let expected = if moved_meanwhile { CHANGES_PAGE - 2 } else { CHANGES_PAGE + 62 };
            assert_eq!(view.selected, expected, "moved meanwhile: {moved_meanwhile}");
        }
    }

    #[test]
    fn a_journal_the_store_cannot_read_closes_the_overlay_and_says_why() {
        let mut state = State::new(100, 30, false);
        update(&mut state, Action::OpenChanges);
        let rows = Err("the journal is not kept on this backend yet".to_owned());
        update(&mut state, Action::ChangesLoaded { before: None, rows });
        assert_eq!(state.mode(), Mode::Browse);
        let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(said.contains("not kept on this backend"), "{said}");
    }

    #[test]
    fn enter_on_a_change_selects_its_user_then_opens_their_history_at_that_revision() {
        let mut state = State::new(100, 30, false);
        update(&mut state, Action::OpenChanges);
        let rows = vec![entry("u2", 3, 9), entry("u1", 2, 8)];
        update(&mut state, Action::ChangesLoaded { before: None, rows: Ok(rows) });
        update(&mut state, Action::ChangesMove(1));
        let effects = update(&mut state, Action::JumpToChange);
        assert_eq!(effects, [Effect::FindUser { query: "id:u1".into() }]);
        assert_eq!(state.mode(), Mode::Browse);
        assert_eq!(state.changes.jump, Some(("u1".to_owned(), 2)));
        // `Enter Enter` typed at once: the second, meant for the history (restore), waited for
        // the jump and opened the editor on the current revision under it (bb96 F10).
        assert!(update(&mut state, Action::OpenEditor).is_empty(), "not done, nothing asked");
        let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert_eq!(
            said,
            "not done: the history of id:u1 at revision 2 (from :changes) is on its way; press the key again there"
        );
        assert!(state.jumping.as_ref().is_some(), "the jump goes on");
        // A `:user` typed then goes to that user's list, not to the journal's history: a key
        // typed after it waits for it, as after any `:user` (the stale flag refused it).
        update(&mut state, Action::StartCommand);
        for c in "user bob".chars() {
            update(&mut state, Action::CommandChar(c));
        }
        update(&mut state, Action::RunCommand);
        assert_eq!(state.changes.jump, None);
        assert!(update(&mut state, Action::OpenEditor).is_empty());
        let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert_eq!(said, "going to bob… the key waits for them");
    }
}
