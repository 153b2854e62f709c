//! The runtime: does the work `update` asks for (effects) against the store, the drafts
//! directory and the terminal, off the UI thread where it can be slow, and feeds the answers
//! back as actions. One file per concern: the session's start and end, the event loop, the
//! store's workers, the filter's scanner, the external editor, and the effects themselves.

mod connecting;
mod effects;
mod event_loop;
mod exporting;
mod external_editor;
mod history_read;
mod kept_elsewhere;
mod progress;
mod scanner;
mod session;
mod silence;
mod store_answers;
mod stored_already;
mod terminal_events;
mod typed_ahead;
mod workers;

pub use effects::*;
pub use event_loop::*;
pub use external_editor::*;
pub use scanner::*;
pub use session::*;
use store_answers::*;
pub use workers::*;

use super::{app, check, keymap, terminal, view};

use crate::draft::Drafts;
use crate::store::UserStore;

/// What effects run against: the store, the drafts directory and which database this is.
pub struct Runtime<'a> {
    pub store: &'a dyn UserStore,
    pub drafts: Drafts,
    /// The database's absolute path: drafts belong to one database.
    pub database: String,
    /// Runs scans off the UI thread; without one (in tests) a scan runs to the end at once.
    pub scanner: Option<Scanner>,
    /// Runs the other store work off the UI thread; without them (in tests and benches) it
    /// is done at once, inline.
    pub workers: Option<StoreWorkers>,
    /// Checks the editor's text off the UI thread; without one (in tests) at once.
    pub checker: Option<check::Checker>,
}
