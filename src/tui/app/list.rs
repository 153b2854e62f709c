//! The user list: a window of loaded rows around the selection, moving through it, and
//! reading more rows as the selection runs past them.

use super::*;

use super::filter::Wanted;
use crate::store::{ListEntry, ListKey, Revision, Seek, StoredDocument, UserCount, UserRecord};

/// The list before a refresh: its user count and the selected user's id and revision.
#[derive(Debug, Clone)]
pub(super) struct RefreshedFrom {
    pub(super) total: u64,
    pub(super) selected: Option<(String, Revision)>,
}

/// A read of list rows, and what to do with the selection once they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRequest {
    pub seek: Seek,
    pub limit: usize,
    pub then: Then,
    /// Whether to count the users too: at start and on a refresh, never on a move (counting
    /// is not free on every backend, and moving does not change the number).
    pub count: bool,
}

/// Where the selection goes when rows arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// The first row (for `Seek::First`, `Seek::From`) or the last (for `Seek::Last`).
    Edge,
    /// Move by this many rows from the row selected before (a move that ran past the rows).
    Move(isize),
    /// Select this user again (after a refresh), else the row at this distance from the top.
    /// The row of `key`, else of the user `id` (a key changes with a rename), else the
    /// user is looked for again ([`Effect::FollowUser`]).
    Reselect { key: Option<ListKey>, id: Option<String>, offset: usize },
    /// The row of the user `id` (`handle` to name them), read from their key: a jump
    /// (`:user`, the journal's `Enter`). Not there (the list's order is stale: created or
    /// renamed outside since it was last brought up to date), nobody is selected.
    Jump { id: String, handle: String },
}

/// The user list: a window of loaded rows around the selection, never the whole table.
#[derive(Debug, Clone, Default)]
pub struct UserList {
    pub rows: Vec<ListEntry>,
    /// Index in `rows` of the selected user.
    pub selected: usize,
    /// Index in `rows` of the first visible row.
    pub top: usize,
    /// Visible rows, set from the terminal size.
    pub height: usize,
    /// Whether `rows` reaches the first / last user (of the filtered set, when filtering).
    pub at_start: bool,
    pub at_end: bool,
    /// All users in the store (as last counted: at start and on a refresh).
    pub total: u64,
    /// Whether `total` is the store's estimate rather than a count (shown as `~N`).
    pub total_estimated: bool,
    /// On Logto's PostgreSQL database, the tenant whose users these are, named in the title
    /// (two windows on two tenants, whose usernames repeat, looked the same: bb53 F3).
    pub tenant: Option<String>,
    /// The filter being typed or applied.
    pub filter: String,
    pub search: Search,
    /// The user a refresh is finding again after their row moved ([`Effect::FollowUser`]):
    /// meanwhile the highlighted row is not theirs, and nothing acts on it.
    pub following: Option<String>,
    /// The rows to move by once the rows on their way come: the moves of every key that ran
    /// past the loaded rows since, summed. Each such key asks for rows again, and only the
    /// newest read is answered; each asked to move by its own key alone, so a burst of `j`
    /// at the end of the rows moved by one (bb16 L11: 300 `j` landed on row 219).
    pub moving: Option<isize>,
    /// `End` (true) or `Home` (false) whose rows are on their way: `moving` goes from there.
    pub edge: Option<bool>,
}

impl UserList {
    /// No rows, nothing selected; `whole`: the (empty) rows are known to be the whole list,
    /// as a filter's answer will be.
    pub fn clear(&mut self, whole: bool) {
        self.rows.clear();
        (self.moving, self.edge) = (None, None);
        (self.selected, self.top, self.at_start, self.at_end) = (0, 0, whole, whole);
    }

    /// A page: the rows the list shows.
    pub fn page(&self) -> isize {
        self.height.max(1) as isize
    }

    pub fn selected_entry(&self) -> Option<&ListEntry> {
        self.rows.get(self.selected)
    }

    pub fn visible(&self) -> &[ListEntry] {
        let end = (self.top + self.height.max(1)).min(self.rows.len());
        self.rows.get(self.top..end).unwrap_or_default()
    }

    pub fn active_filter(&self) -> Option<String> {
        let filter = self.filter.trim();
        (!filter.is_empty()).then(|| filter.to_owned())
    }

    /// Scrolls when the selection leaves the screen, by enough to put it in the middle: a
    /// scroll repaints every row (≈ 2 KB), a move within the screen costs a few hundred
    /// bytes, so on a slow link scrolling half a page at a time (as vim's `scrolljump`)
    /// sends about a third of what scrolling row by row would.
    pub(super) fn keep_selection_visible(&mut self) {
        let height = self.height.max(1);
        if self.selected < self.top || self.selected >= self.top + height {
            self.top = self.selected.saturating_sub(height / 2);
        }
        // Do not leave empty space below the last row when rows above could fill it (with
        // fewer rows than the window, all of them: a short list hid the users above the
        // selection after a tiny resize, or after `:user`).
        if self.at_end && self.top + height > self.rows.len() {
            self.top = self.rows.len().saturating_sub(height);
        }
    }

    /// How many rows a load asks for: enough for the move and a screenful more.
    pub(super) fn load_size(&self, distance: usize) -> usize {
        distance + self.height.max(1) * 2
    }
}

impl State {
    /// A click on the visible row `visible` (0 = the top one).
    pub(super) fn select_row(&mut self, visible: usize) -> Vec<Effect> {
        let index = self.list.top + visible;
        if index < self.list.rows.len().min(self.list.top + self.list.height) {
            self.filtering = false;
            self.select_index(index)
        } else {
            Vec::new()
        }
    }

    /// `r`: reconnect when the connection is lost, else the list read again.
    pub(super) fn refresh_asked(&mut self) -> Vec<Effect> {
        if self.connection_lost.is_some() {
            return self.reconnect();
        }
        // Only the operator's `r` is answered with what it found; the refresh after a
        // save leaves the save's own message.
        if self.list.active_filter().is_none() {
            self.refreshing = Some(RefreshedFrom {
                total: self.list.total,
                selected: self.list.selected_entry().map(|e| (e.user.id.clone(), e.revision)),
            });
        } else {
            // The filter's own count (the title) tells what it finds; the line says `r` was
            // heard (it stayed blank: bb14 L12).
            self.say(StatusKind::Info, "refreshed: the filter runs again over what is stored now".to_owned());
        }
        // The list as it is now at once, and again if the sync finds writes from outside.
        let mut effects = self.refresh();
        // Read-only for a server that stopped taking writes, the keys cannot be synced
        // there: `r` looks whether it takes writes again (a failover back) instead.
        effects.push(if self.read_only == Some(ReadOnly::Server) {
            Effect::Reconnect
        } else {
            Effect::SyncKeys
        });
        if let SchemaSource::Stored(seen) = self.schema_source {
            effects.push(Effect::ReadSchema { seen, for_save: false });
        }
        effects
    }

    /// The terminal has a new size.
    pub(super) fn resize(&mut self, width: u16, height: u16) -> Vec<Effect> {
        self.width = width;
        self.height = height;
        self.list.height = super::super::layout::list_height(width, height);
        self.list.keep_selection_visible();
        self.relayout_whole_user();
        // A diff scrolled to its end stays at its end, not past it (a taller screen left its
        // first rows hidden above blank ones: bb16 L15).
        self.history_diff_scroll(0);
        self.patch_scroll(0);
        // A taller screen may need more rows than are loaded.
        let list = &self.list;
        if list.rows.len() < list.top + list.height
            && !list.at_end
            && let Some(last) = list.rows.last()
        {
            return vec![self.load(Seek::After(last.key.clone()), list.height, Then::Move(0))];
        }
        Vec::new()
    }

    /// The selected user's profile and document arrived.
    pub(super) fn user_loaded(
        &mut self,
        record: UserRecord,
        document: StoredDocument,
        tree: Option<Arc<Tree>>,
    ) -> Vec<Effect> {
        // Only the answer for the user still selected is shown.
        if self.list.selected_entry().is_some_and(|e| e.user.id == record.user.id) {
            if let Some(entry) = self.list.rows.get_mut(self.list.selected) {
                entry.revision = record.revision;
                *entry.user = record.user.clone();
            }
            self.prepared_tree = tree.map(|tree| PreparedTree {
                user_id: record.user.id.clone(),
                revision: document.revision,
                tree,
            });
            let id = record.user.id.clone();
            // The editor's title names the user as read now (renamed outside, then "reload
            // theirs", it named them as before); the handle the edit began under stays, for the
            // conflict view and the save to say the rename (bb58 F5: a reopened draft's was lost).
            if let Some(editor) = self.editor.as_mut().filter(|e| e.user_id == id) {
                let now = record.user.handle().to_owned();
                editor.handle_now = Some(now).filter(|now| *now != editor.user_handle);
            }
            self.user = Some(record);
            self.document = Some(document);
            let mut effects = self.changes_user_loaded(&id);
            // `h`, `i` that waited for the matches act on the profile, read only now.
            effects.extend(self.run_the_key_that_waited());
            return effects;
        }
        Vec::new()
    }

    /// The user being edited, to select in the list (after a draft or a save).
    /// A refresh's selected user found again after their row moved (or gone: `None`, and the
    /// row that took their place is selected, as the refresh says).
    pub(super) fn user_followed(&mut self, entry: Option<ListEntry>) -> Vec<Effect> {
        // The operator chose another row meanwhile: that choice stands.
        if self.list.following.take().is_none() {
            return Vec::new();
        }
        match entry {
            Some(entry) => self.select_user(entry),
            None => {
                if let Some(before) = self.refreshing.take() {
                    self.say_what_the_refresh_changed(&before);
                }
                self.load_selected_user()
            }
        }
    }

    pub(super) fn user_to_select(&mut self, entry: ListEntry) -> Vec<Effect> {
        // Only while that user is still the one being edited.
        if self.editor.as_ref().is_some_and(|e| e.user_id == entry.user.id) {
            self.select_user(entry)
        } else {
            Vec::new()
        }
    }

    /// Writes from outside changed the keys: the list is read again, unless an editor is
    /// open (it keeps its screen; the save's own refresh shows the new list).
    pub(super) fn keys_changed(&mut self) -> Vec<Effect> {
        if self.editor.is_some() {
            return Vec::new();
        }
        self.refresh()
    }

    pub(super) fn load(&self, seek: Seek, distance: usize, then: Then) -> Effect {
        Effect::LoadRows(RowRequest { seek, limit: self.list.load_size(distance), then, count: false })
    }

    /// A load that counts the users too (start, refresh).
    pub(super) fn load_counting(&self, seek: Seek, then: Then) -> Effect {
        Effect::LoadRows(RowRequest { seek, limit: self.list.load_size(0), then, count: true })
    }

    /// Moves the selection by `delta` rows, loading more rows when it runs past them.
    pub(super) fn move_selection(&mut self, delta: isize) -> Vec<Effect> {
        if self.matches_still_coming() && self.list.search.reselect.is_some() {
            self.drop_the_key_waiting_for_the_matches();
            self.list.search.after_reselect += delta;
            return Vec::new();
        }
        if self.matches_still_coming() {
            return self.move_through_matches_found(self.owed_after(delta));
        }
        let list = &self.list;
        if list.rows.is_empty() {
            return Vec::new();
        }
        if let Some(last) = list.edge {
            return self.move_from_the_edge_on_its_way(last, delta);
        }
        // After keys whose rows are still on their way: this read replaces theirs, so it
        // carries their moves too, even where this key alone would not need it.
        let delta = list.moving.unwrap_or(0) + delta;
        let target = list.selected as isize + delta;
        let load = if target < 0 && !list.at_start {
            Some((Seek::Before(list.rows[0].key.clone()), target.unsigned_abs()))
        } else if (target >= list.rows.len() as isize && !list.at_end) || list.moving.is_some() {
            let last = list.rows[list.rows.len() - 1].key.clone();
            Some((Seek::After(last), (target + 1).saturating_sub(list.rows.len() as isize) as usize))
        } else {
            None
        };
        if let Some((seek, distance)) = load {
            self.drop_the_key_waiting_for_the_matches();
            self.list.moving = Some(delta);
            return vec![self.load(seek, distance, Then::Move(delta))];
        }
        self.select_index(target.clamp(0, list.rows.len() as isize - 1) as usize)
    }

    pub(super) fn select_index(&mut self, index: usize) -> Vec<Effect> {
        // The operator chose a row: a user waited for by a refresh is no longer wanted, nor a
        // move whose rows are on their way, nor one a search lost.
        // Said by what it waited for (the rows of a move still on their way, say).
        self.drop_the_key_waiting_for_the_matches();
        self.list.search.reselect = None;
        self.list.search.lost = None;
        self.list.following = None;
        (self.list.moving, self.list.edge) = (None, None);
        self.list.search.owed = None;
        self.list.search.after_reselect = 0;
        self.list.selected = index;
        self.list.keep_selection_visible();
        self.load_selected_user()
    }

    pub(super) fn load_selected_user(&mut self) -> Vec<Effect> {
        let Some(entry) = self.list.selected_entry() else {
            self.user = None;
            self.document = None;
            return Vec::new();
        };
        if self.user.as_ref().is_some_and(|u| u.user.id == entry.user.id && u.revision == entry.revision) {
            return Vec::new();
        }
        // Another user selected: until their answer comes, no pane shows and no key acts on
        // the one before (a read that failed, a customData SQL wrote as `null`, left the
        // previous user's profile there, and `h`, `Enter` and Ctrl-S then saved that user).
        if self.user.as_ref().is_some_and(|u| u.user.id != entry.user.id) {
            self.user = None;
            self.document = None;
        }
        vec![Effect::LoadUser { id: entry.user.id.clone() }]
    }

    pub(super) fn rows_loaded(
        &mut self,
        request: RowRequest,
        rows: Vec<ListEntry>,
        total: Option<UserCount>,
    ) -> Vec<Effect> {
        if let Some(count) = total {
            self.list.total = count.users;
            self.list.total_estimated = !count.exact;
        }
        // Rows asked for by a move move the selection by the moves asked since, unless a row
        // was chosen since (`g`, a click, a jump).
        let moving = self.list.moving.take();
        self.list.edge = None;
        let jumped = matches!(&request.then, Then::Jump { id, .. } if self.jumps_to(id));
        // While filtering, the rows are the matches: an answer for the whole list is stale.
        if self.list.active_filter().is_some() {
            return if jumped { self.jump_landed(false) } else { Vec::new() };
        }
        let short = rows.len() < request.limit;
        let previous = self.list.selected_entry().map(|e| e.key.clone());
        let list = &mut self.list;
        match &request.seek {
            Seek::First | Seek::From(_) => {
                list.rows = rows;
                list.at_start = matches!(request.seek, Seek::First);
                list.at_end = short;
                list.top = 0;
            }
            Seek::Last => {
                list.rows = rows;
                list.at_end = true;
                list.at_start = short;
            }
            Seek::After(_) => {
                list.rows.extend(rows);
                list.at_end = short;
            }
            Seek::Before(_) => {
                let added = rows.len();
                list.rows.splice(0..0, rows);
                list.top += added;
                list.at_start = short;
            }
        }
        // Rows read since a refresh started following a user answer for the selection now.
        list.following = None;
        let last = list.rows.len().saturating_sub(1);
        let index_of = |key: &ListKey| list.rows.iter().position(|e| &e.key == key);
        let index_of_id = |id: &String| list.rows.iter().position(|e| &e.user.id == id);
        let (mut follow, mut missing) = (None, None);
        list.selected = match (&request.then, &request.seek) {
            // With the moves asked while they came (`g j j`: they were lost, bb99 F2).
            (Then::Edge, Seek::Last) => {
                (last as isize + moving.unwrap_or(0)).clamp(0, last as isize) as usize
            }
            (Then::Edge, _) => moving.unwrap_or(0).clamp(0, last as isize) as usize,
            (Then::Move(delta), _) => {
                let from = previous.as_ref().and_then(index_of).unwrap_or(0) as isize;
                let delta = if moving.is_some() { *delta } else { 0 };
                (from + delta).clamp(0, last as isize) as usize
            }
            (Then::Reselect { key, id, offset }, _) => {
                match key.as_ref().and_then(index_of).or_else(|| id.as_ref().and_then(index_of_id)) {
                    Some(index) => index,
                    None => {
                        follow = id.clone();
                        (*offset).min(last)
                    }
                }
            }
            (Then::Jump { id, handle }, _) => index_of_id(id).unwrap_or_else(|| {
                missing = Some(handle.clone());
                0
            }),
        };
        self.trim_rows();
        self.list.keep_selection_visible();
        if self.list.rows.is_empty() {
            self.user = None;
            self.document = None;
        }
        // Not in this window: renamed, their row is elsewhere. Nobody is shown as selected
        // until they are found (or found gone), so `e` cannot reach the row that took
        // their place.
        if let Some(id) = follow {
            self.user = None;
            self.document = None;
            self.list.following = Some(id.clone());
            return vec![Effect::FollowUser { id }];
        }
        // The row there is someone else's: no key may act on them as the user asked for, so
        // no row is left to select until `r` reads the list (and its keys) again.
        if let Some(handle) = missing {
            if jumped {
                let _ = self.jump_answered();
            }
            self.list.clear(false);
            self.user = None;
            self.document = None;
            self.changes.jump = None;
            let note = format!(
                "user {} is not in the list where it looks yet (created or renamed outside custodian since it was last refreshed): press r, then try again",
                handle
            );
            self.say(StatusKind::Error, note);
            return Vec::new();
        }
        if let Some(before) = self.refreshing.take() {
            self.say_what_the_refresh_changed(&before);
        }
        let mut effects = self.load_selected_user();
        // A key that waited for these rows acts now (`h` and `i` once the profile is read).
        effects.extend(self.run_the_key_that_waited());
        if jumped {
            effects.extend(self.jump_landed(true));
        }
        // Read from a user near the end (`:user`, a refresh after deletions), the window
        // would show empty rows below them: the users above fill it, the selection stays.
        let list = &self.list;
        if matches!(request.seek, Seek::From(_))
            && short
            && !list.at_start
            && list.rows.len() < list.height
            && let Some(first) = list.rows.first()
        {
            effects.push(self.load(Seek::Before(first.key.clone()), 0, Then::Move(0)));
        }
        effects
    }

    /// "refreshed · 1204 users (+3) · admin: revision 4 → 5": `r` answers with what it found.
    pub(super) fn say_what_the_refresh_changed(&mut self, before: &RefreshedFrom) {
        let total = self.list.total;
        // An estimate (PostgreSQL's planner) is labelled so, and its change is not news.
        let estimated = self.list.total_estimated;
        let mut text = format!(
            "refreshed · {}{} users",
            if estimated { "~" } else { "" },
            crate::domain::group_digits(total)
        );
        if total != before.total && !estimated {
            let (sign, change) =
                if total >= before.total { ('+', total - before.total) } else { ('-', before.total - total) };
            text.push_str(&format!(" ({sign}{})", crate::domain::group_digits(change)));
        }
        if let Some((id, revision)) = &before.selected {
            // Revisions only grow: a lower one is the list's cheaper count on PostgreSQL (jsonb's
            // `=` holds `1.5` and `1.5000` the same), which reading the user corrects; said, it
            // read as a revert no one made (bb27 Q07).
            match self.list.selected_entry() {
                Some(entry) if &entry.user.id == id && entry.revision > *revision => {
                    let handle = entry.user.handle().to_string();
                    text.push_str(&format!(" · {handle}: revision {revision} → {}", entry.revision));
                }
                Some(entry) if &entry.user.id == id => {}
                _ => text.push_str(" · the selected user is no longer there"),
            }
        }
        self.say(StatusKind::Info, text);
    }

    /// Keeps the loaded window small: memory does not grow with how far the operator scrolls.
    pub(super) fn trim_rows(&mut self) {
        let keep = self.list.height.max(10) * 3;
        let list = &mut self.list;
        if list.selected > keep {
            let drop = list.selected - keep;
            list.rows.drain(..drop);
            list.selected -= drop;
            list.top = list.top.saturating_sub(drop);
            list.at_start = false;
        }
        if list.rows.len() > list.selected + keep + 1 {
            list.rows.truncate(list.selected + keep + 1);
            list.at_end = false;
        }
    }

    /// Selects `entry` in the list, read (unfiltered) from that user on.
    pub(super) fn select_user(&mut self, entry: ListEntry) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.list.filter.is_empty() || self.filtering {
            // A filter line open with nothing typed stays open (`Ctrl-U` emptied it, and the
            // user is followed to their new row): the next keys typed are still the filter's,
            // not list keys (`e` opened the editor: bb44 F5). One with text is the filter
            // the jump replaces.
            self.filtering = self.filtering && self.list.filter.is_empty();
            self.list.filter.clear();
            self.list.search.generation += 1;
            self.list.search.scanning = false;
            self.list.search.reselect = None;
            effects.push(Effect::StopScan);
        }
        self.user = None;
        self.document = None;
        let then = Then::Jump { id: entry.user.id.clone(), handle: entry.user.handle().to_owned() };
        // Counted too: the list the jump reads holds users added since the last count (the title
        // said 1,000,000 over 1,000,001 rows, and the next `r` called them new: bb96 F8).
        effects.push(self.load_counting(Seek::From(entry.key), then));
        effects
    }

    /// Reloads the window from its top row: others' saves and new users show up, and the
    /// same user stays selected.
    pub(super) fn refresh(&mut self) -> Vec<Effect> {
        if self.list.active_filter().is_some() {
            // A selection that is still a place (`G` typed while the scan ran) stays that
            // place over the new scan; one that is a user stays that user (the place was lost
            // to whichever match was last found when `r` came: bb19 L02).
            let place = if self.selection_still_a_place() { self.list.search.owed } else { None };
            let keep = if place.is_some() { None } else { self.wanted_user() };
            // A key waiting for that place or user waits on over the new scan (`r` is no move).
            let effects = self.run_the_filter();
            if place.is_some() || keep.is_some() {
                self.list.search.owed = place;
            }
            self.list.search.reselect = keep;
            return effects;
        }
        let list = &self.list;
        // A window that shows the first user reads from the first user again: a user renamed
        // from outside to sort before the old top row would otherwise sit above the window,
        // out of sight while everyone fits on the screen.
        let seek = match list.rows.get(list.top) {
            Some(_) if list.at_start && list.top == 0 => Seek::First,
            Some(top) => Seek::From(top.key.clone()),
            None => Seek::First,
        };
        let then = Then::Reselect {
            key: list.selected_entry().map(|e| e.key.clone()),
            id: list.selected_entry().map(|e| e.user.id.clone()),
            offset: list.selected.saturating_sub(list.top),
        };
        self.user = None;
        vec![self.load_counting(seek, then)]
    }

    /// The user the list should keep selected: the one selected, or the one a refresh still
    /// waits for.
    pub(super) fn wanted_user(&self) -> Option<Wanted> {
        let search = &self.list.search;
        search
            .reselect
            .clone()
            .or_else(|| search.lost.clone())
            .or_else(|| self.list.selected_entry().map(Wanted::of))
    }
}
