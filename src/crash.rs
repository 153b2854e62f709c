//! What a panic looks like to the operator: one line on stderr, never a backtrace; and a
//! panic inside code that reads a file custodian does not trust (redb on a damaged database
//! may panic) can be contained and turned into an ordinary error.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Replaces the default panic output (message, location, backtrace hint) with one line.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        if CONTAINED.with(Cell::get) {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        // Not eprintln!: it panics when stderr is gone (a vanished terminal), and a panic
        // inside the hook aborts the process with the database still open.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "custodian: internal error: {}{place}; nothing unsaved was written. Please report this.",
            crate::inert::line(&message)
        );
    }));
}

/// Runs `f`; a panic inside it comes back as `None` and prints nothing.
pub fn contain<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    result.ok()
}
