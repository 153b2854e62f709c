//! custodian: a keyboard-driven terminal editor for the customData of Logto user profiles.
//!
//! `domain` holds the rules (pure), `store` keeps users in redb, `cli` and `tui` are the two
//! faces an operator uses. `main.rs` only parses arguments and hands over.

/// `eprintln!` that never panics: a committed write whose stderr went to a closed pipe
/// (`2>&1 | head -1`) panicked on its last line and exited 101, and a script retried the batch
/// (bb49 F1). What cannot be said is left unsaid; the exit code still tells.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod batch;
pub mod cli;
pub mod crash;
pub mod database;
pub mod domain;
pub mod draft;
pub mod export;
pub mod hidden_password;
pub mod inert;
pub mod interrupt;
pub mod key_file;
pub mod location;
pub mod log;
pub mod sorted_runs;
pub mod store;
pub mod tui;
