//! The operator's screen. Data flows one way: a key becomes an [`app::Action`], `update`
//! changes the [`app::State`] and asks for work ([`app::Effect`]), the [`Runtime`]
//! (`runtime/`) does that work against the store and the drafts directory and feeds the
//! answer back as another action, and the views draw the state.

pub mod app;
pub mod check;
pub mod escape_rejoin;
pub mod find;
pub mod gap_filling;
pub mod help_layout;
pub mod keymap;
pub mod layout;
pub mod lean_backend;
pub mod messages_layout;
mod runtime;
pub mod terminal;
pub mod theme;
pub mod tree;
pub mod view;
pub mod whole_user;
pub mod words;

pub use runtime::{
    Cancels, CannotShowScreen, LastDraft, Options, READS_AT_THE_END, Runtime, ScanAnswers, Scanner,
    StoreWorkers, WRITES_AT_THE_END, action_for_event, autosave_draft, osc52, perform, read_back, run,
    run_effects, scan, take_answers, wait_at_the_end, wait_at_the_end_shown, wait_at_the_end_within,
    wait_for_answers,
};
