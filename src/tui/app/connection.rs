//! The store's connection lost and found again, and a save whose outcome was unknown.

use super::*;

use crate::domain::CustomData;
use crate::store::{Revision, SaveOutcome};

/// A save whose outcome is unknown: what was sent, and the revision it would have made.
#[derive(Debug, Clone, PartialEq)]
pub struct UnresolvedSave {
    pub id: String,
    pub data: CustomData,
    pub revision: Revision,
}

impl UnresolvedSave {
    /// What the way out says of it, whatever ended the session (`Ctrl-Q`, a hang-up).
    pub fn said_at_exit(&self) -> String {
        let user = crate::inert::shell_word(&format!("id:{}", self.id)).into_owned();
        format!(
            "your save of user {} may or may not have become revision {} (its COMMIT got no answer): `custodian history {user}` tells; your edit is kept as a draft either way",
            self.id, self.revision
        )
    }
}

/// What an operator can do while a save waits on a server that does not answer (first: a
/// status line shows the start of a message).
const WAY_OUT: &str = "Ctrl-Q quits (within 30 s) keeping your edit as a draft, or wait; `custodian history USER` from another shell tells whether the save landed";

/// The way out of a read that does not answer: nothing is being written.
const READ_WAY_OUT: &str = "Ctrl-Q quits keeping any edit as a draft, or wait";

impl State {
    /// A store's failure (said by `message`) ends what waited on the store: what it ended is
    /// added to the message.
    pub(super) fn waits_ended_by_a_failure(&mut self, message: &mut String) {
        // The read Ctrl-S asked for may be the one that failed: the edit is free again, and
        // Ctrl-S asks anew.
        self.reviewing = None;
        // A key that waited for the matches (said `finding the matches your keys went to…`)
        // is not done, and said so: it went without a word (bb99 F5).
        if self.after_the_matches.take().is_some() {
            message.push_str(" · the key that waited for the matches was not done: press it again");
        }
        // So is a key whose read of the user was on its way (`/name⏎e` with the link lost
        // after the match came: nothing opened, nothing said, bb102 F1).
        if let Some((_, purpose)) = self.read_for_a_key.take() {
            message.push_str(&format!(" · {} was not done: press it again", purpose.key()));
        }
        // Rows on their way may be what failed: nothing waits for them any more.
        (self.list.moving, self.list.edge) = (None, None);
        if let Some(note) = self.jump_failed(message) {
            message.push_str(&format!(" · {note}"));
        }
        // A refresh that failed says nothing later: kept, a later answer was measured against
        // the selection of that `r`, and said "the selected user is no longer there" of the
        // user selected and shown (bb41 F8).
        self.refreshing = None;
    }

    /// Asks the store to connect again; says so meanwhile.
    pub(super) fn reconnect(&mut self) -> Vec<Effect> {
        if let Some(read) = self.read_waited_on() {
            // Behind that read on the one connection, a reconnect would wait as long unsaid.
            self.say(
                StatusKind::Info,
                format!("{read} holds the connection until the server answers — {READ_WAY_OUT}"),
            );
            return Vec::new();
        }
        if self.pending == Some(Pending::Saving) {
            // The save holds the connection until the server answers: nothing can replace it.
            self.say(
                StatusKind::Info,
                format!("a save holds the connection until the server answers — {WAY_OUT}"),
            );
            return Vec::new();
        }
        if self.connection_lost.is_none() && self.read_only == Some(ReadOnly::Server) {
            self.say(StatusKind::Info, "looking whether the server takes writes again…");
            return vec![Effect::Reconnect];
        }
        if self.connection_lost.is_none() && !self.outside_writes() {
            self.say(StatusKind::Info, "nothing to reconnect: the database is a file");
            return Vec::new();
        }
        if self.connection_lost.is_none() {
            // Not known lost is not known fine: the server may have ended the session since
            // the last call (a failover), and "fine" was said over a dead one (bb58 F3).
            self.say(StatusKind::Info, "checking the connection…");
            return vec![Effect::Reconnect];
        }
        self.say(StatusKind::Info, "reconnecting…");
        vec![Effect::Reconnect]
    }

    /// Whether the operator waits on the store for a save, the read of what is stored a save's
    /// question is asked against, or `r`'s read of the list: a server that stopped held those
    /// reads with `loading…` alone, and `F5` behind them (bb74 F1).
    pub fn waits_on_the_store(&self) -> bool {
        self.pending == Some(Pending::Saving) || self.read_waited_on().is_some()
    }

    /// The read the operator waits on, if one (see [`State::waits_on_the_store`]).
    fn read_waited_on(&self) -> Option<&'static str> {
        match (&self.reviewing, &self.refreshing) {
            (Some(_), _) => Some("reading what is stored before your save"),
            (None, Some(_)) => Some("reading the list again (r)"),
            (None, None) => None,
        }
    }

    /// A save (or a read the operator waits on) still unanswered after `seconds`: said, with
    /// what it may mean and the way out (it stays pending: its answer is still taken).
    pub(super) fn save_unanswered(&mut self, seconds: u64) -> Vec<Effect> {
        if let Some(read) = self.read_waited_on().filter(|_| self.pending != Some(Pending::Saving)) {
            let why = self.what_may_hold_it();
            let warning = format!(
                "{read}… no answer for {seconds} s; nothing was sent to be written — {READ_WAY_OUT} ({why})"
            );
            self.say(StatusKind::Error, warning);
            return Vec::new();
        }
        // Only an edit's save: a batch is `Pending::Applying`, counted in its overlay (the
        // save's words, a draft and a quit key, alarmed over a batch: bb38 F6).
        if self.pending == Some(Pending::Saving) {
            let why = self.what_may_hold_it();
            let warning = format!("saving… no answer for {seconds} s, it may still land — {WAY_OUT} ({why})");
            self.save_unanswered = Some(warning.clone());
            self.say(StatusKind::Error, warning);
        }
        Vec::new()
    }

    /// What may hold an answer, in the store's terms: a file has no server to blame.
    fn what_may_hold_it(&self) -> &'static str {
        match self.key_order {
            crate::store::KeyOrder::Backend(_) => {
                "the server may have stopped, or something on the way holds its answer"
            }
            crate::store::KeyOrder::AsWritten => "the disk may be stuck, or another program holds the file",
        }
    }

    pub(super) fn connection_lost(&mut self, message: String) {
        // Said again by each answer still out (a move's read, the key sync): it replaced
        // what the first said — a key not done, a save that landed (bb103 F3, F5).
        if self.connection_lost.as_ref().is_some_and(|first| first.contains(&message)) {
            return;
        }
        // The status line's own prefix says "connection lost" and the hint bar the key that
        // reconnects; the editor (and its draft) keep the edit. A save just made keeps its
        // line first: only F2 showed it, and a save that landed read as one lost (bb101 F2).
        let saved = self
            .status
            .as_ref()
            .filter(|s| s.kind == StatusKind::Success && s.text.starts_with("saved revision "));
        let message = match saved {
            Some(saved) if !message.starts_with(&saved.text) => format!("{}, then: {message}", saved.text),
            _ => message,
        };
        self.say(StatusKind::Error, message.clone());
        self.connection_lost = Some(message);
    }

    /// The operator's `r` in the list found the connection lost (the server ended the session
    /// since the last read): made again at once, and the list read then, as F5 does, not left
    /// for a second `r` (bb59 F2). Once: a reconnect that fails is said and waits for a key.
    pub(super) fn reconnect_for_r(&mut self, action: &Action) -> Option<Vec<Effect>> {
        let Action::ConnectionLost { message } = action else { return None };
        if self.refreshing.is_none()
            || self.connection_lost.is_some()
            || self.pending == Some(Pending::Saving)
        {
            return None;
        }
        self.refreshing = None;
        self.connection_lost = Some(message.clone());
        self.say(StatusKind::Info, format!("{message}; reconnecting…"));
        Some(vec![Effect::Reconnect])
    }

    /// Connected again: a save in doubt is looked up first; otherwise the screen reloads what
    /// it shows.
    pub(super) fn reconnected(&mut self, takes_writes: bool) -> Vec<Effect> {
        let was_lost = self.connection_lost.take().is_some();
        let was_server_read_only = self.read_only == Some(ReadOnly::Server);
        // A failover may have put a standby in the server's place, or the primary back.
        match (takes_writes, self.read_only) {
            (false, None) => self.read_only = Some(ReadOnly::Server),
            (true, Some(ReadOnly::Server)) => self.read_only = None,
            _ => {}
        }
        if !was_lost && self.unresolved_save.is_none() {
            // Asked of a connection that was fine (`r` or F5): said by what changed.
            let server_read_only = self.read_only == Some(ReadOnly::Server);
            let why = ReadOnly::Server.why();
            match (was_server_read_only, server_read_only) {
                (true, true) => self.say(StatusKind::Info, format!("still read-only: {why}")),
                // Found so by this look (bb59 F3: "still", of a screen never read-only).
                (false, true) => self.say(
                    StatusKind::Error,
                    format!("the connection works, and the server takes no writes now: read-only: {why}"),
                ),
                (true, false) => {
                    self.say(StatusKind::Success, "the server takes writes again: editing is on")
                }
                // F5 on a connection not known lost, or a second `r` while reconnecting:
                // writes were never off (review57).
                (false, false) => {
                    self.say(StatusKind::Success, "the connection works (made again if it had dropped)")
                }
            }
            return Vec::new();
        }
        if let Some(UnresolvedSave { id, data, revision }) = self.unresolved_save.clone() {
            self.say(
                StatusKind::Info,
                format!("reconnected; looking whether your save became revision {revision}…"),
            );
            return vec![Effect::ResolveSave { id, data, revision }];
        }
        match self.read_only {
            Some(ReadOnly::Server) => self.say(
                StatusKind::Error,
                format!(
                    "reconnected, to a server that takes no writes: read-only: {}",
                    ReadOnly::Server.why()
                ),
            ),
            _ => self.say(StatusKind::Success, "reconnected"),
        }
        let mut effects = self.refresh();
        // The revision the history selected while the connection was lost is read now (it
        // showed `(no difference)` after F5 too: bb99 F6).
        if let Some(history) = &self.history {
            effects.extend(history.load_selected());
        }
        effects
    }

    /// Whether the edit open cannot be saved here (the file replaced or damaged, a server that
    /// takes no writes) and is kept as a draft on the way out, which asks nothing.
    pub fn edit_kept_on_the_way_out(&self) -> bool {
        self.editor.as_ref().is_some_and(Editor::is_modified)
            && self.read_only.is_some_and(ReadOnly::refused_since_the_start)
    }

    /// A write or the keys' sync was refused by a server that takes no writes (it stopped
    /// taking them since the start: a failover, `default_transaction_read_only` set): the
    /// screen is read-only from here, as it is when it starts on one, and an edit open stays,
    /// kept as a draft on the way out (bb57 F4: the sync's failure advised `init`, itself a
    /// write, and `e` went on opening editors whose saves were refused).
    /// The same for a database file replaced under the screen (a backup restored with `cp` and
    /// `mv`): nothing this screen writes can reach the file there now, and the way out keeps
    /// the edit as a draft without asking (bb65 F5: Ctrl-C's and Esc's only answer threw it away).
    pub(super) fn writes_refused(&mut self, why: ReadOnly, message: String) -> Vec<Effect> {
        if self.read_only.is_none() {
            self.read_only = Some(why);
        }
        let editing = self.editor.as_ref().is_some_and(Editor::is_modified);
        let text = match why {
            // In the editor `r` is typed into the edit: F5 there.
            ReadOnly::Server if editing => {
                format!(
                    "{message}; your edit stays here and is kept as a draft when you leave (F5 looks again)"
                )
            }
            ReadOnly::Server => format!("{message}; read-only until it takes them again (r looks again)"),
            // What to do first, where the status line shows it; the store's words (the path)
            // after it, for F2.
            _ if editing => {
                let how = if why == ReadOnly::FileDamaged { "file damaged" } else { "file replaced" };
                format!("not saved ({how}): Ctrl-C leaves, keeping your edit as a draft ({message})")
            }
            _ => format!("read-only now: {message}"),
        };
        self.tell(StatusKind::Error, text)
    }

    pub(super) fn save_outcome_unknown(
        &mut self,
        id: String,
        data: CustomData,
        revision: Revision,
        message: String,
    ) {
        self.say(
            StatusKind::Error,
            format!("save in doubt: may have become revision {revision}; your edit stays"),
        );
        self.connection_lost = Some(message);
        self.unresolved_save = Some(UnresolvedSave { id, data, revision });
    }

    pub(super) fn save_resolved(&mut self, id: String, revision: Revision, landed: bool) -> Vec<Effect> {
        let Some(unresolved) = self.unresolved_save.take_if(|u| u.id == id && u.revision == revision) else {
            return Vec::new();
        };
        if landed {
            // The size as sent: the screen shows none, the history has the stored one.
            let size = unresolved.data.size();
            let effects = self.saved(id, SaveOutcome::Saved { revision, removed: Vec::new(), size }, None);
            self.say(StatusKind::Success, format!("the save did commit as revision {revision}"));
            effects
        } else {
            let editing = self.editor.as_ref().is_some_and(|e| e.user_id == id);
            let text = match self.read_only {
                // Reconnected to a server that takes no writes: Ctrl-S would be refused (review57).
                Some(ReadOnly::Server) if editing => format!(
                    "the save did not happen — your edit is still here; read-only now: {} (F5 looks again)",
                    ReadOnly::Server.why()
                ),
                _ if editing => {
                    "the save did not happen — your edit is still here (Ctrl-S saves it)".to_owned()
                }
                _ => "the save did not happen".to_owned(),
            };
            self.say(StatusKind::Error, text);
            self.refresh()
        }
    }
}
