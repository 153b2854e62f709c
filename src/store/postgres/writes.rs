//! Write transactions, and what a lost connection leaves of them on the server: a COMMIT
//! sent without an answer (settled before a reconnect answers anything), and a session a
//! link that dropped without a word left open, holding what its transaction locked.

use super::*;

/// A write transaction ([`PostgresStore::write_transaction`]): while it is open and its COMMIT
/// not sent, the process knows that no write of it can land (a signal's last word says so).
pub(super) struct WriteTransaction<'a> {
    tx: postgres::Transaction<'a>,
    uncommitted: crate::interrupt::UncommittedWrite,
}

impl<'a> std::ops::Deref for WriteTransaction<'a> {
    type Target = postgres::Transaction<'a>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTransaction<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl WriteTransaction<'_> {
    /// Rolled back: nothing written.
    pub(super) fn rollback(self) -> Result<(), postgres::Error> {
        self.tx.rollback()
    }

    /// Committed: from the moment the COMMIT is sent, the write may land.
    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        let Self { tx, uncommitted } = self;
        drop(uncommitted);
        tx.commit()
    }
}

/// Ends server process `$1` if it is still the session that started at `$2` (a pid alone may
/// be a later session's once the first one ended).
const END_THAT_SESSION: &str = "select pg_terminate_backend(a.pid) from pg_stat_activity a \
     where a.pid = $1 and a.backend_start::text = $2";

/// What became of the server's side of a lost connection.
enum LeftBehind {
    /// The server had already ended it.
    Gone,
    /// It was still there, and custodian ended it.
    Ended,
    /// Not known: its start time is not shown to this role, or it did not go in time.
    Unknown,
}

impl PostgresStore {
    /// Before a session that replaces `previous` (lost) answers anything: the COMMIT it sent
    /// without an answer settled, or else the session the lost connection left open on the
    /// server ended — it holds what it locked until the server notices (a write cut off there
    /// ended it then already when it could reach the server).
    pub(super) fn settle_replaced(
        spec: &ConnectionSpec,
        client: &mut Client,
        previous: &Backend,
    ) -> Result<(), StoreError> {
        if previous.committing.is_some() {
            return Self::settle_commit(spec, client, previous);
        }
        if let Err(e) = Self::end_left_behind(spec, client, previous) {
            tracing::warn!(error = %e, pid = previous.pid, "could not end the session the lost connection left");
        }
        Ok(())
    }

    /// Settles the COMMIT the session a reconnect replaces sent without an answer: while
    /// that transaction is still in progress on the server (a connection can die on our side
    /// while its server process waits, its COMMIT held up by a pooler or a slow link),
    /// whether the write landed means nothing, since it may still commit after the journal
    /// was asked. Its server process is ended and waited for; it rolls back unless it had
    /// committed. A transaction that is over (or a session with no COMMIT in flight) leaves
    /// every process alone: the pid may be another session's by now.
    fn settle_commit(
        spec: &ConnectionSpec,
        client: &mut Client,
        previous: &Backend,
    ) -> Result<(), StoreError> {
        let Some(xid) = &previous.committing else { return Ok(()) };
        let fail = |e: postgres::Error| describe(spec, &e);
        let in_progress = "select pg_xact_status($1::text::xid8) = 'in progress'";
        let deadline = std::time::Instant::now() + spec.connect_timeout;
        let mut ended = false;
        loop {
            let row = client.query_one(in_progress, &[xid]).map_err(fail)?;
            if !row.get::<_, Option<bool>>(0).unwrap_or(false) {
                return Ok(());
            }
            // Without its start time (not shown to this role) it is only waited for.
            if let (false, Some(started)) = (ended, &previous.started) {
                tracing::info!(pid = previous.pid, %xid, "ending the session whose COMMIT got no answer");
                client.query(END_THAT_SESSION, &[&previous.pid, started]).map_err(fail)?;
                ended = true;
            }
            if std::time::Instant::now() >= deadline {
                return Err(StoreError::Connection(format!(
                    "{spec}: the transaction whose COMMIT got no answer is still open on the server (server process {}) after {} s: it may still commit; try again",
                    previous.pid,
                    spec.connect_timeout.as_secs()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A write transaction: the server ends its session if it waits on custodian longer than
    /// [`WRITE_IDLE_TIMEOUT`] (for a read it may: an export whose output is read slowly).
    pub(super) fn write_transaction(client: &mut Client) -> Result<WriteTransaction<'_>, postgres::Error> {
        let uncommitted = crate::interrupt::UncommittedWrite::begin();
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!("set local idle_in_transaction_session_timeout = '{WRITE_IDLE_TIMEOUT}'"))?;
        Ok(WriteTransaction { tx, uncommitted })
    }

    /// A write cut off before its COMMIT: `what` did not happen, and the error says so, with
    /// what became of its session on the server. A link that dropped without a word left that
    /// session open, its transaction holding the rows it locked (bb41 F1): custodian connects
    /// again at once and ends it, so they are let go now, not when the server notices.
    pub(super) fn rolled_back(&self, error: StoreError, what: &str) -> StoreError {
        let StoreError::ConnectionLost { server, detail } = error else { return error };
        if !detail.is_empty() {
            return StoreError::ConnectionLost { server, detail };
        }
        let previous = self.backend.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let fate = Self::client(&self.spec).and_then(|client| {
            let mut client = let_go::LetGo::new(client);
            Self::end_left_behind(&self.spec, &mut client, &previous)
        });
        let why = match fate {
            Ok(LeftBehind::Gone) => "the server rolled it back".to_owned(),
            Ok(LeftBehind::Ended) => {
                "its session was still open on the server, holding what it had locked: custodian ended it, and the server rolled it back".to_owned()
            }
            Ok(LeftBehind::Unknown) => format!(
                "the server rolls it back once it notices the connection gone, within {WRITE_IDLE_TIMEOUT} when the session waits on custodian; until then the users' rows it locked stay locked"
            ),
            // Not reached again at once: a server that restarted kept nothing of it, where a
            // link that dropped left it open (a restart was said as the second alone: bb98 F5).
            Err(_) => format!(
                "the server could not be reached again to look: if it restarted, nothing of it is left; if the link dropped, the server rolls it back once it notices the connection gone, within {WRITE_IDLE_TIMEOUT} when the session waits on custodian, and until then the users' rows it locked stay locked"
            ),
        };
        if let Err(e) = &fate {
            tracing::warn!(error = %e, pid = previous.pid, "could not reach the server to end the session a write was cut off in");
        }
        StoreError::ConnectionLost { server, detail: format!("; {what} ({why})") }
    }

    /// Ends `previous`, a session whose connection is lost to us, if the server still has it
    /// (a link that dropped without a word), and waits until it is gone: its open
    /// transaction, if any, rolls back and lets go of its locks. Run as the login role, which
    /// may end its own sessions; the start time tells it from a later session given its pid.
    fn end_left_behind(
        spec: &ConnectionSpec,
        client: &mut Client,
        previous: &Backend,
    ) -> Result<LeftBehind, StoreError> {
        let Some(started) = &previous.started else { return Ok(LeftBehind::Unknown) };
        let fail = |e: postgres::Error| describe(spec, &e);
        let still = "select 1 from pg_stat_activity a where a.pid = $1 and a.backend_start::text = $2";
        if client.query(still, &[&previous.pid, started]).map_err(fail)?.is_empty() {
            return Ok(LeftBehind::Gone);
        }
        tracing::info!(pid = previous.pid, "ending the session a lost connection left open on the server");
        client.query(END_THAT_SESSION, &[&previous.pid, started]).map_err(fail)?;
        let deadline = std::time::Instant::now() + spec.connect_timeout;
        while !client.query(still, &[&previous.pid, started]).map_err(fail)?.is_empty() {
            if std::time::Instant::now() >= deadline {
                return Ok(LeftBehind::Unknown);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(LeftBehind::Ended)
    }

    /// Commits a write whose outcome a lost answer would leave open (a save, a batch),
    /// remembering its transaction (`xid`, from `pg_current_xact_id()`) until the answer
    /// comes, for [`PostgresStore::settle_commit`].
    pub(super) fn commit_write(&self, tx: WriteTransaction<'_>, xid: String) -> Result<(), postgres::Error> {
        {
            let mut backend = self.backend.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            backend.committing = Some(xid);
            backend.committing_since = Some(std::time::Instant::now());
        }
        tx.commit()?;
        let mut backend = self.backend.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        backend.committing = None;
        backend.committing_since = None;
        Ok(())
    }

    /// The write, unless a signal asked the command to stop while it was made: then rolled back
    /// and [`StoreError::Interrupted`], nothing committed. A `set` that waited for a row Logto
    /// held was made once the row was let go, after the operator's Ctrl-C, and said "the signal
    /// came too late" (bb98 F4). The screen notes no signal here (its way out has its own).
    pub(super) fn unless_a_signal_came(tx: WriteTransaction<'_>) -> Result<WriteTransaction<'_>, StoreError> {
        if !crate::interrupt::requested() {
            return Ok(tx);
        }
        tracing::info!("a signal came while the write was made: rolled back before its COMMIT");
        let _ = tx.rollback();
        Err(StoreError::Interrupted)
    }

    /// How long the COMMIT of a write has waited for its answer, while it waits.
    pub fn commit_waiting_for(&self) -> Option<std::time::Duration> {
        let backend = self.backend.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        backend.committing.as_ref().and(backend.committing_since).map(|since| since.elapsed())
    }
}
