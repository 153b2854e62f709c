//! Keys that act on the selected user (`e`, `E`, `y`, `h`, `i`, and `Esc` over a match) typed
//! before what they act on is there — the matches, the rows a move asked for, the profile —
//! wait for it ([`State::after_the_matches`]); of two the last is done, and one dropped is said.

use super::*;

/// The key of an action that acts on the selected user, as messages name it.
fn action_key(action: &Action) -> &'static str {
    match action {
        Action::OpenEditor => Purpose::Edit.key(),
        Action::EditExternally => Purpose::EditExternally.key(),
        Action::Copy => Purpose::Copy.key(),
        Action::OpenHistory => "h",
        Action::ClearFilter => "Esc",
        _ => "i",
    }
}

impl State {
    /// `action` itself, or, when it acts on the selected user while that is still a place, kept
    /// for later ([`State::after_the_matches`]) with what the status line says meanwhile.
    pub(super) fn wait_for_the_matches(&mut self, action: Action) -> Result<Action, Vec<Effect>> {
        use Action::*;
        // A `:user` on its way is a place the keys wait for too (jump.rs).
        let action = self.wait_for_the_jump(action)?;
        // `Esc` keeps the selected user over the whole list: while that is a place, once it is
        // a user (bb19 L05: it landed on the list's first user). While the filter is typed it
        // goes at once, as ever.
        let acts_on_the_user =
            matches!(action, OpenEditor | EditExternally | Copy | OpenHistory | OpenWholeUser);
        // Under a lost connection the store answers none of them (`e` said nothing: bb101 F2);
        // `i` shows a profile already read.
        if acts_on_the_user
            && self.connection_lost.is_some()
            && !(matches!(action, OpenWholeUser) && self.user.is_some() && !self.profile_on_its_way())
        {
            let note = format!("{} not done: the connection is lost; r reconnects", action_key(&action));
            return Err(self.tell(StatusKind::Error, note));
        }
        if acts_on_the_user && let Some(lost) = &self.list.search.lost {
            let note = format!(
                "not done: the row selected is not a user you chose ({} no longer matches the filter); choose a row (j/k) first, or Esc to go back to them",
                lost.handle
            );
            return Err(self.tell(StatusKind::Error, note));
        }
        // `Esc` over no match keeps no one: it goes at once (it waited for the whole scan, and a
        // `/` typed meanwhile went on the old filter's text: bb100 F4).
        let clears_over_a_match =
            matches!(action, ClearFilter) && !self.filtering && !self.list.rows.is_empty();
        let waits = acts_on_the_user || clears_over_a_match;
        // Of two keys acting on the user, the last is done: one whose read is on its way is
        // not (`j e h` opened the editor and dropped the `h`: bb102 F2).
        let replaced_a_read = acts_on_the_user.then(|| self.read_for_a_key.take()).flatten();
        // `h` and `i` show the profile: while it is read they wait for it (they said "no user
        // selected" of the user selected: bb102 F2).
        let profile_on_its_way = matches!(action, OpenHistory | OpenWholeUser) && self.profile_on_its_way();
        if !waits || !(self.selection_still_a_place() || profile_on_its_way) {
            if let Some((_, purpose)) = replaced_a_read {
                let key = purpose.key();
                self.say(
                    StatusKind::Info,
                    format!(
                        "{key} not done: the last key that acts on the user is done, not the one before it"
                    ),
                );
            }
            return Ok(action);
        }
        // `Esc` replaces a key waiting, which is said; another such key replaces it, said on the
        // line that says it waits (`g e y` copied, the `e` gone without a word: bb100 F5).
        if matches!(action, ClearFilter) {
            self.drop_the_key_waiting_for_the_matches();
        }
        // A key waiting for a profile is for the user selected now: a list read again that
        // selects another (leaving the editor) did not carry it there (bb103 F1).
        self.key_waits_on = match self.selection_still_a_place() {
            true => None,
            false => self.list.selected_entry().map(|entry| entry.user.id.clone()),
        };
        let replaced = self.after_the_matches.replace(action).is_some() || replaced_a_read.is_some();
        let waiting = match (self.matches_still_coming(), self.rows_on_their_way()) {
            (true, _) => "finding the matches your keys went to…",
            (false, true) => "reading the rows your keys went to…",
            (false, false) => "reading the user your keys went to…",
        };
        let waiting = match replaced {
            true => format!("{waiting} (the last key that waits is done, not the one before it)"),
            false => waiting.to_owned(),
        };
        Err(self.tell(StatusKind::Info, waiting))
    }

    /// The key that waited for the matches ([`State::after_the_matches`]), done once the row
    /// the keys went to is settled — and, for `h` and `i`, which show the profile, once that
    /// user's profile is read (done at once, they said "no user selected": bb19 L01).
    pub(super) fn run_the_key_that_waited(&mut self) -> Vec<Effect> {
        let Some(action) = &self.after_the_matches else { return Vec::new() };
        if self.selection_still_a_place() {
            return Vec::new();
        }
        let shows_the_profile = matches!(action, Action::OpenHistory | Action::OpenWholeUser);
        let profile_read = match (self.list.selected_entry(), &self.user) {
            (Some(entry), Some(user)) => user.user.id == entry.user.id,
            (Some(_), None) => false,
            // No match at all: the key says so itself.
            (None, _) => true,
        };
        if shows_the_profile && !profile_read {
            return Vec::new();
        }
        let selected = self.list.selected_entry().map(|entry| entry.user.id.as_str());
        if let Some(wanted) =
            self.key_waits_on.take().filter(|wanted| selected.is_some_and(|id| id != wanted))
        {
            let key = action_key(action);
            self.after_the_matches = None;
            let note = format!(
                "{key} not done: the list was read again and selected another user before {wanted}'s profile came; press {key} again"
            );
            self.say(StatusKind::Error, note);
            return Vec::new();
        }
        match self.after_the_matches.take() {
            Some(action) => super::update_state(self, action),
            None => Vec::new(),
        }
    }

    /// Whether the profile of the user selected is still being read (a move's answer not in
    /// yet). Not while the connection is lost: it will not come.
    fn profile_on_its_way(&self) -> bool {
        let shown = self.user.as_ref().map(|record| record.user.id.as_str());
        self.connection_lost.is_none()
            && self.list.selected_entry().is_some_and(|entry| shown != Some(entry.user.id.as_str()))
    }

    /// A key that waited for the matches, dropped because the operator moved on (or changed
    /// the filter) before they came: said, so it is not taken for done.
    pub(super) fn drop_the_key_waiting_for_the_matches(&mut self) {
        if let Some(action) = self.after_the_matches.take() {
            tracing::debug!(?action, "a key waiting for the matches dropped");
            let note = match (self.matches_still_coming(), self.rows_on_their_way()) {
                (true, _) => "not done: you moved before the matches came; press it again",
                (false, true) => "not done: you moved before the rows came; press it again",
                (false, false) => "not done: you moved before the user was read; press it again",
            };
            self.say(StatusKind::Info, note);
        }
    }
}
