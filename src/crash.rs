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
        eprintln!(
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

/// Debug builds only (what `cargo test` runs): with `CUSTODIAN_TEST_PANIC_ON_F12` set, F12
/// panics inside the editor's event loop, so a test can prove what a crash does to an unsaved
/// edit. Release builds have no such key.
#[cfg(debug_assertions)]
pub fn panic_on_test_key(event: &crossterm::event::Event) {
    use crossterm::event::{Event, KeyCode, KeyEventKind};
    if let Event::Key(key) = event
        && key.code == KeyCode::F(12)
        && key.kind == KeyEventKind::Press
        && std::env::var_os("CUSTODIAN_TEST_PANIC_ON_F12").is_some()
    {
        panic!("F12 with CUSTODIAN_TEST_PANIC_ON_F12 set (a test's crash)");
    }
}
