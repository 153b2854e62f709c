//! The screen's `:export` on the store's write worker: the export's progress told to the
//! screen as it goes (ten million users take minutes), its stop at the way out, and its answer.

use std::path::Path;

use super::progress::Throttle;
use crate::export::{Progress, Watch};
use crate::store::{StoreError, UserStore};
use crate::tui::app::{Action, StopFlag};

/// Exports every user into the new file `path`, telling `tell` how far it has come; ends
/// early, writing no file, once `stop` is set.
pub(super) fn export(
    store: &dyn UserStore,
    path: &Path,
    stop: &StopFlag,
    tell: &(dyn Fn(Action) + Sync),
) -> Action {
    // Counted as it begins: the list's count is as old as the last refresh (on PostgreSQL an
    // estimate).
    let total = store.count().ok();
    let throttle = Throttle::default();
    let told = |progress: Progress| {
        if throttle.due() {
            tell(Action::ExportProgress { path: path.display().to_string(), progress, total });
        }
    };
    match crate::export::to_file(store, path, &Watch { told: &told, stopped: &|| stop.stopped() }) {
        Ok(count) => Action::Exported { path: path.display().to_string(), count },
        Err(e) => match e.downcast_ref::<StoreError>() {
            Some(lost) if lost.is_connection_lost() => Action::ConnectionLost { message: format!("{e:#}") },
            Some(StoreError::Interrupted) => Action::StoreFailed {
                message: format!(
                    "the export to {} was stopped unfinished at the way out; that file was not made",
                    path.display()
                ),
            },
            _ => Action::StoreFailed { message: format!("{e:#}") },
        },
    }
}
