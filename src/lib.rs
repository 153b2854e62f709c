//! custodian: a keyboard-driven terminal editor for the customData of Logto user profiles.
//!
//! `domain` holds the rules (pure), `store` keeps users in redb, `cli` and `tui` are the two
//! faces an operator uses. `main.rs` only parses arguments and hands over.

pub mod batch;
pub mod cli;
pub mod crash;
pub mod database;
pub mod domain;
pub mod draft;
pub mod export;
pub mod inert;
pub mod interrupt;
pub mod key_file;
pub mod location;
pub mod log;
pub mod sorted_runs;
pub mod store;
pub mod tui;
