//! A jump to a user (`:user`, the journal's `Enter`) on its way: from the command until the
//! list shows that user, a key that acts on the selected user waits for them, and a move is
//! not done. Both acted on the user selected before the jump: `:u agarcia⏎E` typed at once
//! against a store that takes a moment saved admin's document while agarcia was shown, and
//! `:u bence⏎je` edited the row after the old selection (bb45 F4).

use super::{Action, Effect, State, StatusKind};
use crate::store::ListEntry;

/// A command that failed — a `:user` that found no one or more than one, a command line
/// refused —: what was asked, what the status line said of it, and how many keys typed after
/// it were not done.
#[derive(Debug, Clone)]
pub struct FailedCommand {
    /// What the keys came after, as said: `:user x, which was to find their user`.
    after: String,
    failure: String,
    not_done: usize,
}

/// The jump under way.
#[derive(Debug, Clone)]
pub struct Jumping {
    /// What was asked for (`:user`'s query, `id:…` for the journal), for the status line.
    asked: String,
    /// The key that acts on the user (`e`, `E`, `y`, `h`, `i`), done once they are selected.
    waiting: Option<Action>,
    /// A move typed meanwhile, not done: a key after it meant the row the move went to, so it
    /// is not done either.
    moved: bool,
    /// The store's answers still to come: a lookup, then the list read from the user found.
    /// A second `:user` before the first has landed adds its own, and the key waits for the
    /// last (it ran on the first user's landing: `:u A⏎:u B⏎e` edited A).
    outstanding: u32,
    /// The user the last lookup found: only the list read from them lands the jump (a
    /// refresh's follow of a renamed user reads the list from its user too).
    to: Option<String>,
    /// A filter was started on the way: the jump is let go, and its answer moves nothing (it
    /// cleared the filter typed after `:user`, and `e` edited the user jumped to: bb47 F1).
    let_go: bool,
}

impl State {
    /// Starts the jump: the store looks the user up ([`Action::UserFound`]), then the list is
    /// read from them ([`super::list::Then::Jump`]).
    pub(super) fn jump_to(&mut self, query: String) -> Vec<Effect> {
        // A jump from the journal waiting for its history is replaced by this one: it goes to
        // another user's list, not their history (its flag refused keys meant for this one).
        self.changes.jump = None;
        let before = self.jumping.take();
        let outstanding = before.as_ref().map_or(0, |jumping| jumping.outstanding) + 1;
        // A key that waited for the jump before is let go, and said (bb47 F3: dropped unsaid).
        if let Some(before) = before.filter(|before| before.waiting.is_some()) {
            self.say(
                StatusKind::Error,
                format!("not done: the key that waited for {} (a :user came after it)", before.asked),
            );
        }
        self.jumping = Some(Jumping {
            asked: query.clone(),
            waiting: None,
            moved: false,
            outstanding,
            to: None,
            let_go: false,
        });
        vec![Effect::FindUser { query }]
    }

    /// The jump's lookup failed (`no user X`, a lost connection): the key that waited is not
    /// done, and said so after the failure (bb47 F3: dropped unsaid).
    /// `failure` is what the status line says of it. The keys typed ahead of it are dropped by
    /// the runtime ([`State::typed_ahead_of_a_failure`]): typed at once (a burst over SSH, a
    /// paste), they came after the failure and acted on the user selected before — `:u
    /// typo⏎e…⌃S` saved into them (bb88 F1, bb91 F1).
    pub(super) fn jump_failed(&mut self, failure: &str) -> Option<String> {
        let jumping = self.jumping.take()?;
        // No history opens for a jump that found no one.
        self.changes.jump = None;
        self.commands_failed += 1;
        self.command_failed = Some(FailedCommand {
            after: format!(":user {}, which was to find their user", jumping.asked),
            failure: failure.to_owned(),
            not_done: usize::from(jumping.waiting.is_some()),
        });
        jumping.waiting.map(|_| format!("the key typed after :user {} was not done", jumping.asked))
    }

    /// A command line refused (`:user` with no name, an unknown command): said, and the keys
    /// typed ahead of it are dropped as after a `:user` that found no one — `:usre x⏎e…⌃S`
    /// saved into the user selected before (bb92 F1).
    pub(super) fn command_not_run(&mut self, line: &str, text: String) -> Vec<Effect> {
        self.commands_failed += 1;
        self.command_failed = Some(FailedCommand {
            after: format!(":{line}, which was not run"),
            failure: text.clone(),
            not_done: 0,
        });
        self.say(StatusKind::Error, text);
        Vec::new()
    }

    /// The runtime dropped a key typed ahead of a failed command: said with the failure,
    /// counted.
    pub(super) fn typed_ahead_of_a_failure(&mut self) -> Vec<Effect> {
        let Some(failed) = self.command_failed.as_mut() else { return Vec::new() };
        failed.not_done += 1;
        let n = failed.not_done;
        // First, where a narrow status line still shows it; the failure after.
        let keys = if n == 1 { "the key".to_owned() } else { format!("{n} keys") };
        let text = format!("not done: {keys} typed after {} · {}", failed.after, failed.failure);
        self.tell(StatusKind::Error, text)
    }

    /// Whether the list read from the user `id` is one of the jump's answers.
    pub(super) fn jumps_to(&self, id: &str) -> bool {
        self.jumping.as_ref().is_some_and(|jumping| jumping.to.as_deref() == Some(id))
    }

    /// One of the jump's answers came: the jump, when it was the last one it waited for.
    pub(super) fn jump_answered(&mut self) -> Option<Jumping> {
        let jumping = self.jumping.as_mut()?;
        jumping.outstanding = jumping.outstanding.saturating_sub(1);
        if jumping.outstanding == 0 { self.jumping.take() } else { None }
    }

    /// `action` itself, unless a jump is on its way and it would act on the user selected
    /// before: then a move is not done, and a key acting on the user waits for the jump.
    pub(super) fn wait_for_the_jump(&mut self, action: Action) -> Result<Action, Vec<Effect>> {
        use Action::*;
        let Some(jumping) = self.jumping.as_mut().filter(|jumping| !jumping.let_go) else {
            return Ok(action);
        };
        // A filter typed after `:user` is the operator's newer wish: the jump gives way.
        if matches!(action, StartFilter) {
            jumping.let_go = true;
            jumping.waiting = None;
            self.changes.jump = None;
            return Ok(action);
        }
        // A refresh now would measure the list against the user selected before, and say that
        // user is gone while the jump's user is shown (bb47 F2).
        if matches!(action, Refresh) {
            let note =
                format!("not done: still going to {} (:user); press r once they are selected", jumping.asked);
            return Err(self.tell(StatusKind::Error, note));
        }
        let moves = matches!(action, Up | Down | PageUp | PageDown | Home | End | SelectRow(_));
        if !action.moves_or_acts_on_the_user() {
            return Ok(action);
        }
        let asked = jumping.asked.clone();
        // A jump from the journal goes to the user's history: a key typed on the way was meant
        // for it (`Enter Enter` to restore), and waiting, it opened the editor on the current
        // revision under the history's overlay (bb96 F10).
        if let Some((_, revision)) = &self.changes.jump {
            jumping.moved = moves || jumping.moved;
            let note = format!(
                "not done: the history of {asked} at revision {revision} (from :changes) is on its way; press the key again there"
            );
            return Err(self.tell(StatusKind::Error, note));
        }
        if moves || jumping.moved {
            jumping.moved = true;
            jumping.waiting = None;
            let note = format!(
                "not done: still going to {asked} (:user); the keys typed meanwhile would have moved from the user selected before — type them again once {asked} is selected"
            );
            return Err(self.tell(StatusKind::Error, note));
        }
        jumping.waiting = Some(action);
        Err(self.tell(StatusKind::Info, format!("going to {asked}… the key waits for them")))
    }

    /// `:user` found someone: the list (unfiltered) is read from that user on.
    pub(super) fn user_found(&mut self, entry: ListEntry) -> Vec<Effect> {
        // An editor opened meanwhile (an `e` pressed before `:user`, answered first by a busy
        // store) keeps the list on its user: moved, the list and the profile named another user
        // than the one `Ctrl-S` saves into (bb44 F8).
        if let Some(editor) = self.editor.as_ref().filter(|editor| editor.user_id != entry.user.id) {
            let note = format!(
                "not moved to {}: the editor opened on {} first; Esc leaves it, then :user again",
                entry.user.handle(),
                editor.user_handle
            );
            // This jump's answers end here.
            let _ = self.jump_answered();
            return self.tell(StatusKind::Error, note);
        }
        // Let go for a filter typed after it: the filter stays, the list does not move.
        if self.jumping.as_ref().is_some_and(|jumping| jumping.let_go) {
            let _ = self.jump_answered();
            let note = format!("not moved to {}: a filter was typed after :user", entry.user.handle());
            return self.tell(StatusKind::Info, note);
        }
        // Keys typed on the way and not done are said once the jump lands too: "user X" alone
        // hid the note that said so.
        match self.jumping.as_ref().filter(|jumping| jumping.moved) {
            Some(_) => self.say(
                StatusKind::Error,
                format!(
                    "user {} · the keys typed on the way were not done: type them again",
                    entry.user.handle()
                ),
            ),
            None => self.say(StatusKind::Info, format!("user {}", entry.user.handle())),
        }
        // The lookup is answered, and the list read from the user found is the answer in its
        // place: as many still to come.
        if let Some(jumping) = self.jumping.as_mut() {
            jumping.to = Some(entry.user.id.clone());
        }
        self.select_user(entry)
    }

    /// The list was read for the jump: the key that waited acts on the user now selected, once
    /// their profile is read for `h` and `i` (as a key waits for the filter's matches); none
    /// does when the user was not found where the list looked (`selected` false).
    pub(super) fn jump_landed(&mut self, selected: bool) -> Vec<Effect> {
        let Some(jumping) = self.jump_answered() else { return Vec::new() };
        match jumping.waiting {
            Some(action) if selected => {
                self.after_the_matches = Some(action);
                self.run_the_key_that_waited()
            }
            _ => Vec::new(),
        }
    }
}
