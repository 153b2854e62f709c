//! A session's client let go without waiting on the server. `postgres::Client`'s own drop
//! waits until the server has answered every request sent: a server that stopped answering
//! (a stopped process, a link that holds its packets) held the drop for ever, and with it the
//! way out of the screen (bb9: `q` with the server stopped never ended the process).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// How long a drop waits for the client to close; past it the process goes on without it
/// (the socket closes with the process, and the server ends the session then).
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// `T` (a client), dropped on a thread of its own and waited for at most [`CLOSE_WAIT`].
pub(super) struct LetGo<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> LetGo<T> {
    pub(super) fn new(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T: Send + 'static> Deref for LetGo<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("taken only by drop")
    }
}

impl<T: Send + 'static> DerefMut for LetGo<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("taken only by drop")
    }
}

impl<T: Send + 'static> Drop for LetGo<T> {
    fn drop(&mut self) {
        let Some(value) = self.0.take() else { return };
        let (closed, wait) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("custodian-pg-close".into()).spawn(move || {
            drop(value);
            let _ = closed.send(());
        });
        // Without a thread (none could be made) the value was dropped here, waiting as before.
        if spawned.is_ok() && wait.recv_timeout(CLOSE_WAIT).is_err() {
            tracing::warn!(
                "the server did not let the session close within {CLOSE_WAIT:?}: left to the process's end"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    /// A value whose drop takes `takes` (a client waiting on a silent server), then says so.
    struct SlowToDrop {
        takes: Duration,
        dropped: Arc<AtomicBool>,
    }

    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            std::thread::sleep(self.takes);
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_drop_that_never_ends_is_waited_for_at_most_the_close_wait_and_a_quick_one_in_full() {
        let dropped = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        drop(LetGo::new(SlowToDrop { takes: Duration::from_secs(60), dropped: Arc::clone(&dropped) }));
        let waited = started.elapsed();
        assert!(waited >= CLOSE_WAIT && waited < CLOSE_WAIT + Duration::from_secs(2), "{waited:?}");
        assert!(!dropped.load(Ordering::SeqCst));
        // A quick close is waited for to its end: the session is closed when drop returns.
        let quick = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        drop(LetGo::new(SlowToDrop { takes: Duration::from_millis(100), dropped: Arc::clone(&quick) }));
        assert!(quick.load(Ordering::SeqCst), "dropped before drop returned");
        assert!(started.elapsed() < CLOSE_WAIT);
        // Deref reaches the value.
        let held = LetGo::new(vec![1, 2]);
        assert_eq!(held.len(), 2);
    }
}
