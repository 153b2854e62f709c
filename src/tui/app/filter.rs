//! The list filter: typed text, the index search and the scan that answer it, and the
//! matches merged into the list.

use super::*;

use crate::store::{ListEntry, ListKey, Seek};

/// Matches the filter keeps at most: memory does not grow with the number of users.
pub const MAX_MATCHES: usize = 2_000;

/// How the line saying the search has had no answer begins.
const SEARCH_SILENT: &str = "the search has had no answer for";

/// The state of the filter's search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Bumped on every change of the filter; answers of older generations are ignored.
    pub generation: u64,
    pub scanning: bool,
    pub scanned: u64,
    /// The scan stopped before its end (a lost connection): the matches are of the users read
    /// before, and none found says nothing of the rest (it said `no user matches the filter`
    /// over the two thirds never read, its percentage frozen as if still scanning: bb99 F3).
    pub stopped: bool,
    /// More than [`MAX_MATCHES`] users match: the list shows the first ones.
    pub capped: bool,
    /// The user to select again once the matches bring it (a refresh or a save while
    /// filtering), until the operator moves or the search ends. Found by id: a user renamed
    /// from outside has another list key (the first match was selected instead: bb43 F6).
    pub reselect: Option<Wanted>,
    /// The user selected when the filter was first typed: selected again if the filter is
    /// cleared while it selects nobody (it matched no one).
    pub before: Option<Wanted>,
    /// The user [`Search::reselect`] wanted when the search ended without them (a save or a
    /// rename took them out of the matches): the row selected in their place is no one the
    /// operator chose, so the keys that act on a user wait for a move, and `Esc` goes back to
    /// them (a save left the first match selected without a word, and `E` then wrote into
    /// that user: bb43 F5).
    pub lost: Option<Wanted>,
    /// The row the keys chose while it is not settled ([`Search::reached`]), kept by its
    /// place while the scan finds more: `/emma⏎G` typed at once selected the 102nd of 506
    /// matches and stayed there (bb17 L02). From the first keystroke it is the first row: a
    /// prefix hit found at once may sort after matches the scan has not reached yet, and the
    /// same keys selected different users run to run (bb18 L02).
    pub owed: Option<Owed>,
    /// The scan has looked at every user up to this list key: the rows up to it are settled,
    /// no match can come before them.
    pub reached: Option<ListKey>,
    /// Rows moved (`j`, `k`, pages) while [`Search::reselect`] was still being found: from
    /// that user once found (from the first match in their place, a `j` right after a save
    /// went elsewhere: bb19 L06).
    pub after_reselect: isize,
}

/// A user the list is to select again: where their row was, and who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub key: ListKey,
    pub id: String,
    pub handle: String,
}

impl Wanted {
    pub fn of(entry: &ListEntry) -> Self {
        Self { key: entry.key.clone(), id: entry.user.id.clone(), handle: entry.user.handle().to_owned() }
    }
}

/// A selection owed by keys that ran past the matches found so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    /// The match at this index of every match in list order (`j` past the last found).
    Row(usize),
    /// The last match, or this many rows above it (`End`, then `k`).
    End { above: usize },
}

impl Owed {
    /// The row this selects among `rows` matches: the nearest there is, while more come.
    fn index(self, rows: usize) -> usize {
        let last = rows.saturating_sub(1);
        match self {
            Owed::Row(row) => row.min(last),
            Owed::End { above } => last.saturating_sub(above),
        }
    }

    fn moved(self, delta: isize) -> Owed {
        match self {
            Owed::Row(row) => Owed::Row(row.saturating_add_signed(delta)),
            Owed::End { above } => Owed::End { above: above.saturating_add_signed(-delta) },
        }
    }
}

pub(super) fn merge_sorted(rows: Vec<ListEntry>, mut hits: Vec<ListEntry>) -> Vec<ListEntry> {
    hits.sort_by(|a, b| a.key.cmp(&b.key));
    hits.dedup_by(|a, b| a.key == b.key);
    let mut merged = Vec::with_capacity(rows.len() + hits.len());
    let (mut rows, mut hits) = (rows.into_iter().peekable(), hits.into_iter().peekable());
    loop {
        let next = match (rows.peek(), hits.peek()) {
            (Some(row), Some(hit)) => match row.key.cmp(&hit.key) {
                std::cmp::Ordering::Less => rows.next(),
                std::cmp::Ordering::Greater => hits.next(),
                std::cmp::Ordering::Equal => {
                    hits.next();
                    rows.next()
                }
            },
            (Some(_), None) => rows.next(),
            (None, _) => hits.next(),
        };
        let Some(entry) = next else { return merged };
        merged.push(entry);
    }
}

impl UserList {
    /// How many of the rows are settled: all once the scan ended, else those up to where it
    /// reached (the rows are sorted; prefix hits beyond it may still get matches before them).
    pub(super) fn settled_rows(&self) -> usize {
        if !self.search.scanning {
            return self.rows.len();
        }
        match &self.search.reached {
            Some(reached) => self.rows.partition_point(|entry| &entry.key <= reached),
            None => 0,
        }
    }
}

impl State {
    /// `/`: typing goes to the filter.
    pub(super) fn start_filter(&mut self) -> Vec<Effect> {
        self.filtering = true;
        Vec::new()
    }

    pub(super) fn filter_char(&mut self, c: char) -> Vec<Effect> {
        self.list.filter.push(c);
        self.filter_changed()
    }

    /// A paste into the filter, the command line or the find line: its first line (up to a CR
    /// or LF) without control characters (a pasted id often ends in a newline), as if typed — but the
    /// search or the find runs once for all of it, not once per character.
    pub(super) fn paste_line(&mut self, text: &str) -> Vec<Effect> {
        // Terminals send a pasted line break as CR (tmux, most of them), some as LF.
        let first = text.split(['\n', '\r']).next().unwrap_or("");
        let line: String = first.chars().filter(|c| !c.is_control()).collect();
        if line.is_empty() {
            return Vec::new();
        }
        match self.mode() {
            Mode::Filter => {
                self.list.filter.push_str(&line);
                self.filter_changed()
            }
            Mode::Command => {
                if let Some(command) = &mut self.command {
                    command.input.push_str(&line);
                    command.note = None;
                }
                Vec::new()
            }
            Mode::Find => {
                if let Some(editor) = &mut self.editor
                    && let Some(find) = &mut editor.find
                {
                    find.query.push_str(&line);
                    editor.find_from_origin();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn filter_backspace(&mut self) -> Vec<Effect> {
        self.list.filter.pop();
        self.filter_changed()
    }

    /// The whole filter erased, the filter line still open.
    pub(super) fn filter_erase(&mut self) -> Vec<Effect> {
        if self.list.filter.is_empty() {
            return Vec::new();
        }
        self.list.filter.clear();
        self.filter_changed()
    }

    /// Enter: the filter stays, the keys move through its matches.
    pub(super) fn filter_accept(&mut self) -> Vec<Effect> {
        self.filtering = false;
        Vec::new()
    }

    /// Esc: the filter gone, the whole list back.
    pub(super) fn clear_filter(&mut self) -> Vec<Effect> {
        self.filtering = false;
        if self.list.filter.is_empty() {
            return Vec::new();
        }
        self.list.filter.clear();
        self.filter_changed()
    }

    /// The operator changed the filter: a key waiting for the old one's matches is dropped
    /// (and said), and the filter runs.
    pub(super) fn filter_changed(&mut self) -> Vec<Effect> {
        self.drop_the_key_waiting_for_the_matches();
        self.run_the_filter()
    }

    /// The filter's search from the start: the index lookup and the scan.
    pub(super) fn run_the_filter(&mut self) -> Vec<Effect> {
        let list = &mut self.list;
        list.search.generation += 1;
        let generation = list.search.generation;
        let Some(query) = list.active_filter() else {
            list.search.scanning = false;
            // The selected user stays selected (and on screen) when the filter goes; after a
            // filter that matched no one, the user selected before it.
            let keep = self.wanted_user().or_else(|| self.list.search.before.take());
            self.list.search.reselect = None;
            self.list.search.before = None;
            // The line that said they were lost, and to press Esc, is answered.
            if let Some(lost) = self.list.search.lost.take() {
                // By id: the handle they had may be another user's now (bb65 F1), and the
                // profile shows the one they have (bb69 F4).
                self.say(StatusKind::Info, format!("user {} selected again, over the whole list", lost.id));
            }
            // Found by id where their key no longer is: renamed from outside, the user who
            // sorts in their old place was selected, and `e` edited them (bb43 F7).
            let load = match keep {
                Some(Wanted { key, id, .. }) => self.load(
                    Seek::From(key.clone()),
                    0,
                    Then::Reselect { key: Some(key), id: Some(id), offset: 0 },
                ),
                None => self.load(Seek::First, 0, Then::Edge),
            };
            return vec![Effect::StopScan, load];
        };
        // The first keystroke of a filter notes who was selected without it.
        let before = match list.search.before.take() {
            Some(key) => Some(key),
            None => self.wanted_user(),
        };
        let list = &mut self.list;
        // A user followed to their new row is no longer wanted: its answer, late, would clear
        // the filter typed since.
        list.following = None;
        // Every match is held (up to MAX_MATCHES), so the list's edges are known.
        list.clear(true);
        list.search = Search {
            generation,
            scanning: true,
            scanned: 0,
            stopped: false,
            capped: false,
            reselect: None,
            before,
            lost: None,
            owed: Some(Owed::Row(0)),
            reached: None,
            after_reselect: 0,
        };
        self.user = None;
        self.document = None;
        // A screenful at once from the indexes; the scan brings the rest (every prefix
        // match is also a substring match), so the keystroke itself stays cheap.
        let limit = list.height.max(10);
        vec![
            Effect::PrefixSearch { generation, query: query.clone(), limit },
            Effect::Scan { generation, query },
        ]
    }

    /// The scan of `generation` stopped before its end (a store failure, which said a key that
    /// waited for the matches not done): said so, not as the scan's answer. The rows found are
    /// all there are until it runs again, so no row is owed by its place any more.
    pub(super) fn search_stopped(&mut self, generation: u64) {
        let search = &mut self.list.search;
        if generation != search.generation || !search.scanning {
            return;
        }
        (search.scanning, search.stopped) = (false, true);
        (search.owed, search.reselect, search.after_reselect) = (None, None, 0);
        let list = &mut self.list;
        list.selected = list.selected.min(list.rows.len().saturating_sub(1));
        list.keep_selection_visible();
    }

    /// Merges matches into the (sorted) rows, keeping the selected user selected.
    pub(super) fn search_hits(
        &mut self,
        generation: u64,
        hits: Vec<ListEntry>,
        scanned: u64,
        reached: Option<ListKey>,
        done: bool,
    ) -> Vec<Effect> {
        let list = &mut self.list;
        if generation != list.search.generation || list.active_filter().is_none() {
            return Vec::new();
        }
        let selected = list.search.reselect.clone().or_else(|| list.selected_entry().map(Wanted::of));
        // An answer after its silence was said: the line is no longer true (bb103 F4).
        if self.status.as_ref().is_some_and(|status| status.text.starts_with(SEARCH_SILENT)) {
            self.status = None;
        }
        let list = &mut self.list;
        if !hits.is_empty() {
            list.rows = merge_sorted(std::mem::take(&mut list.rows), hits);
        }
        // The scan walks the list order and ends by itself one past MAX_MATCHES of its own
        // hits, so the rows up to where it got are every match there. Prefix hits beyond
        // that point may be cut here, but never a match before it: the scan goes on and
        // what it finds sorts before them, so the rows end as the first MAX_MATCHES matches.
        if list.rows.len() > MAX_MATCHES {
            list.rows.truncate(MAX_MATCHES);
            list.search.capped = true;
        }
        list.search.scanned += scanned;
        if reached.is_some() {
            list.search.reached = reached;
        }
        if done {
            list.search.scanning = false;
        }
        // The user a refresh or a save wants again, once found, is selected; moves made while
        // they were found count from them, a place like any other until settled.
        if let Some(wanted) = &list.search.reselect
            && let Some(at) = list.rows.iter().position(|e| e.user.id == wanted.id)
        {
            list.search.reselect = None;
            list.selected = at;
            let moved = std::mem::take(&mut list.search.after_reselect);
            if moved != 0 {
                list.search.owed = Some(Owed::Row(at.saturating_add_signed(moved)));
            }
        }
        if list.search.reselect.is_none()
            && let Some(owed) = list.search.owed
        {
            list.selected = owed.index(list.rows.len());
            // The row is settled: from now on the user on it stays selected, as after any move.
            if matches!(owed, Owed::Row(row) if row < list.settled_rows()) {
                list.search.owed = None;
            }
        } else if let Some(wanted) = selected
            && let Some(at) = list.rows.iter().position(|e| e.user.id == wanted.id)
        {
            list.selected = at;
        }
        // The scan ended without the user a refresh or a save wanted again (no longer a match):
        // a key that waited for them is not done on whoever is in their place.
        let lost = if list.search.scanning { None } else { list.search.reselect.clone() };
        if !list.search.scanning {
            list.search.reselect = None;
            list.search.owed = None;
            list.search.after_reselect = 0;
        }
        list.selected = list.selected.min(list.rows.len().saturating_sub(1));
        list.keep_selection_visible();
        if let Some(wanted) = lost {
            // A user renamed from outside left the filter, and the name they had may be
            // another user's by now, maybe the one in their place: both said with their ids
            // then (bb65 F1: "frank no longer matches the filter: frank is selected").
            let instead = match list.selected_entry() {
                Some(entry) if entry.user.handle() == wanted.handle => format!(
                    "another user named {} (id {}) is selected in their place",
                    entry.user.handle(),
                    entry.user.id
                ),
                Some(entry) => format!("{} is selected in their place", entry.user.handle()),
                None => "no one is selected".to_owned(),
            };
            let waited = if self.after_the_matches.take().is_some() { "not done: " } else { "" };
            // A batch just written (`:patch`) keeps its line first: it names the id `undo`
            // takes, which only F2 showed once this replaced it (bb72 F3).
            let batch = self
                .status
                .as_ref()
                .filter(|s| s.kind == StatusKind::Success && s.text.starts_with("batch "));
            let batch = batch.map(|s| format!("{} · ", s.text)).unwrap_or_default();
            let note = format!(
                "{batch}{waited}{} (id {}, as last read) no longer matches the filter: {instead}; choose a row (j/k) before e, E, y, h or i, or Esc to go back to them",
                wanted.handle, wanted.id
            );
            self.list.search.lost = Some(wanted);
            self.say(StatusKind::Error, note);
        }
        let mut effects = self.load_selected_user();
        effects.extend(self.run_the_key_that_waited());
        effects
    }

    /// Whether the selection is a place among matches still coming, not yet a user: a key
    /// acting on the selected user, and `Esc` once the filter is applied, wait
    /// ([`State::after_the_matches`]).
    pub(super) fn selection_still_a_place(&self) -> bool {
        // A user a refresh or a save wants again, not found yet, is as much a place: the row
        // there is the first match's (bb19 L06: `e` right after a save edited it).
        (self.list.search.owed.is_some() || self.list.search.reselect.is_some())
            && self.matches_still_coming()
            || self.rows_on_their_way()
    }

    /// Whether the rows a move or `Home`/`End` asked for are still on their way: the row
    /// selected is the one before them (`g e` over a network opened nothing, and said to press
    /// `e` again for the user then selected: bb99 F2). Not while the connection is lost: they
    /// will not come, and a key acts (and is refused) at once.
    pub(super) fn rows_on_their_way(&self) -> bool {
        (self.list.edge.is_some() || self.list.moving.is_some()) && self.connection_lost.is_none()
    }

    /// A move while the scan still finds matches: onto a settled row it selects that user;
    /// onto any other (a prefix hit the scan has not reached, past the rows found) the row is
    /// owed by its place, selected as near as the rows found allow, and where the keys said
    /// once the scan settles it or ends.
    pub(super) fn move_through_matches_found(&mut self, owed: Owed) -> Vec<Effect> {
        self.drop_the_key_waiting_for_the_matches();
        let rows = self.list.rows.len();
        if let Owed::Row(row) = owed
            && row < self.list.settled_rows()
        {
            return self.select_index(row);
        }
        self.list.search.owed = Some(owed);
        self.list.search.reselect = None;
        self.list.search.lost = None;
        self.list.search.after_reselect = 0;
        self.list.following = None;
        self.list.selected = owed.index(rows);
        self.list.keep_selection_visible();
        self.load_selected_user()
    }

    /// Whether moves go through [`State::move_through_matches_found`].
    pub fn matches_still_coming(&self) -> bool {
        self.list.search.scanning && self.list.active_filter().is_some()
    }

    /// The search's step has had no answer for `seconds`: said, with what was found so far
    /// and the way out (a link gone silent left `none found yet: the search goes on` for good,
    /// also after `r`: bb101 F1). Its answer is still taken when it comes.
    pub(super) fn search_unanswered(&mut self, seconds: u64) -> Vec<Effect> {
        if self.matches_still_coming() {
            let found = crate::domain::group_digits(self.list.rows.len() as u64);
            let note = format!(
                "{SEARCH_SILENT} {seconds} s; {found} found so far · Ctrl-Q quits keeping any edit as a draft, or wait"
            );
            self.say(StatusKind::Error, note);
        }
        Vec::new()
    }

    /// The row a move by `delta` owes while matches are still coming.
    pub(super) fn owed_after(&self, delta: isize) -> Owed {
        match self.list.search.owed {
            Some(owed) => owed.moved(delta),
            None => Owed::Row(self.list.selected.saturating_add_signed(delta)),
        }
    }
}
