//! What a panic looks like to the operator: one line on stderr, never a backtrace; and a
//! panic inside code that reads a file custodian does not trust (redb on a damaged database
//! may panic) can be contained and turned into an ordinary error.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<Panicked>> = const { RefCell::new(None) };
    /// Panics the hook saw inside the innermost [`catch`]: a second one came while the first
    /// unwound (a destructor of redb's panicking again on the same damaged page), and Rust
    /// aborts the process after it, whatever catches what.
    static SEEN_IN_CATCH: Cell<u32> = const { Cell::new(0) };
}

/// A panic that was contained: what it said and where, so the error can tell a damaged
/// database (redb gave up on a page) from a bug in custodian.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Panicked {
    pub message: String,
    pub location: String,
    /// The panic came from inside redb, reading a file: the file is damaged.
    pub in_database_library: bool,
}

impl Panicked {
    fn from_info(info: &PanicHookInfo<'_>) -> Self {
        let message = payload_text(info);
        let file = info.location().map(|l| l.file()).unwrap_or_default();
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        // Cargo keeps a dependency's sources in a directory named `redb-<version>`.
        let in_database_library = file.contains("/redb-") || file.contains("\\redb-");
        Self { message, location, in_database_library }
    }

    fn describe(&self) -> String {
        if self.in_database_library {
            // redb's own words ("entered unreachable code") would read as a bug in custodian;
            // they go to the log.
            "the database file is damaged (redb could not read a page of it); restore it from a backup"
                .to_owned()
        } else {
            format!(
                "internal error: {} at {}; nothing unsaved was written. Please report this",
                self.message, self.location
            )
        }
    }
}

/// What a panic said (its `&str` or `String` payload).
fn payload_text(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Panics again, on this thread, with what a panic contained on another thread said: a
/// [`catch`] around this call gets it as it was (a damaged file stays a damaged file, not a
/// panic of custodian's own).
pub fn resume(panicked: Panicked) -> ! {
    if CONTAINED.with(Cell::get) {
        CAUGHT.with(|c| *c.borrow_mut() = Some(panicked.clone()));
        // Unwinding from here on, as after a panic the hook saw: one more while it unwinds
        // cannot be contained.
        SEEN_IN_CATCH.with(|seen| seen.set(seen.get() + 1));
        // Not `panic!`: the hook would take this line for the panic's place.
        panic::resume_unwind(Box::new(panicked.message))
    }
    panic!("{panicked}")
}

/// Replaces the default panic output (message, location, backtrace hint) with one line.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let contained = CONTAINED.with(Cell::get);
        let unwinding_already = contained && SEEN_IN_CATCH.with(Cell::get) > 0;
        SEEN_IN_CATCH.with(|seen| seen.set(seen.get() + 1));
        if contained && !unwinding_already {
            CAUGHT.with(|c| *c.borrow_mut() = Some(Panicked::from_info(info)));
            return;
        }
        let message = payload_text(info);
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        // Not eprintln!: it panics when stderr is gone (a vanished terminal), and a panic
        // inside the hook aborts the process with the database still open.
        use std::io::Write;
        let said = uncontained_line(&Panicked::from_info(info), &message, &place);
        let _ = writeln!(std::io::stderr(), "{said}");
        if unwinding_already {
            // Rust aborts next (SIGABRT, "thread caused non-unwinding panic", exit 134: a
            // `set` on a file whose freed-pages tree was damaged, bb76's page noise): the line
            // above is the error, and the process ends as a refused command does. The write
            // did not finish; the file is left as a killed process leaves it, for redb to
            // repair at the next open.
            crate::interrupt::remove_before_a_forced_exit();
            std::process::exit(1);
        }
    }));
}

/// The one line a panic no `catch` contained prints. redb's own, on a damaged file (in a
/// repair, at a close), is the file's damage, not custodian's bug to report (bb76 F1: "internal
/// error … Please report this" after the repair `info` ran).
fn uncontained_line(panicked: &Panicked, message: &str, place: &str) -> String {
    let message = crate::inert::line(message);
    match panicked.in_database_library {
        true => format!("custodian: {} (redb: {message}{place})", panicked.describe()),
        false => format!(
            "custodian: internal error: {message}{place}; nothing unsaved was written. Please report this."
        ),
    }
}

/// Whether a panic on this thread now would be contained ([`catch`], [`contain`]): the
/// terminal's hook then leaves the screen as it is (it gave the terminal back on every
/// contained panic of redb's on a damaged page, and custodian ran on blind: bb16 L02).
pub fn contained_here() -> bool {
    CONTAINED.with(Cell::get) && SEEN_IN_CATCH.with(Cell::get) == 0
}

/// Runs `f`; a panic inside it comes back as `None` and prints nothing.
pub fn contain<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch(f).ok()
}

/// Runs `f`; a panic inside it comes back as what it said and where, and prints nothing.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    let was = CONTAINED.with(|c| c.replace(true));
    let seen_before = SEEN_IN_CATCH.with(|seen| seen.replace(0));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    SEEN_IN_CATCH.with(|seen| seen.set(seen_before));
    result.map_err(|_| {
        // Without the hook (a test that did not install it) only the fact is known.
        let panicked = CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or(Panicked {
            message: "a panic".to_owned(),
            location: String::new(),
            in_database_library: false,
        });
        tracing::warn!(message = %panicked.message, location = %panicked.location, "contained a panic");
        panicked
    })
}

/// Debug builds only: with `CUSTODIAN_TEST_PANIC_IN_SCAN` set, the filter's scan panics as
/// redb does on a damaged page, inside the scanner's [`catch`], so a test can prove what a
/// contained panic does to the screen.
#[cfg(debug_assertions)]
pub fn panic_in_test_scan() {
    if std::env::var_os("CUSTODIAN_TEST_PANIC_IN_SCAN").is_some() {
        panic!("CUSTODIAN_TEST_PANIC_IN_SCAN set (a test's damaged page)");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic of redb's where nothing contained it says the file is damaged, redb's words
    /// after; one of custodian's own is the internal error to report.
    #[test]
    fn an_uncontained_panic_of_redbs_says_the_file_is_damaged_and_custodians_own_asks_for_a_report() {
        let redb = Panicked {
            message: "25 must be less than 0".into(),
            location: String::new(),
            in_database_library: true,
        };
        let said = uncontained_line(&redb, "25 must be less than 0", " at redb-4.6.0/src/bitmap.rs:376");
        assert_eq!(
            said,
            "custodian: the database file is damaged (redb could not read a page of it); restore it from a backup (redb: 25 must be less than 0 at redb-4.6.0/src/bitmap.rs:376)"
        );
        let own = Panicked { in_database_library: false, ..redb };
        let said = uncontained_line(&own, "oops", " at src/x.rs:1");
        assert_eq!(
            said,
            "custodian: internal error: oops at src/x.rs:1; nothing unsaved was written. Please report this."
        );
    }
}
