//! Ctrl-C, SIGTERM and SIGHUP during a command that writes many users (`import`, `seed`,
//! `patch --yes`, `undo`). Killed by the signal's default action, the process would leave the
//! database file open — marked for a repair that a `--read-only` open cannot do. While such a
//! command runs, the first signal is only noted: the loop over the users stops at the next
//! user, the transaction is dropped (nothing written), the file is closed cleanly, and the
//! command says so (exit 130). A second signal ends the process at once, as before.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::store::StoreError;

fn flag() -> &'static Arc<AtomicBool> {
    static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    REQUESTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// While alive, the signals are noted instead of ending the process (until a second one).
pub struct Armed {
    ids: Vec<signal_hook::SigId>,
}

/// Notes Ctrl-C, SIGTERM and SIGHUP from now until the returned guard is dropped. Where a
/// handler cannot be installed the signal keeps its default action.
pub fn arm() -> Armed {
    let mut ids = Vec::new();
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // The second signal (the flag already set) takes the default action: the order matters.
        if let Ok(id) = signal_hook::flag::register_conditional_default(signal, Arc::clone(flag())) {
            ids.push(id);
        }
        if let Ok(id) = signal_hook::flag::register(signal, Arc::clone(flag())) {
            ids.push(id);
        }
    }
    Armed { ids }
}

impl Drop for Armed {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Whether a signal asked the running command to stop.
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// `Err(StoreError::Interrupted)` once a signal asked to stop: for the loops over users.
pub fn check() -> Result<(), StoreError> {
    if requested() { Err(StoreError::Interrupted) } else { Ok(()) }
}
