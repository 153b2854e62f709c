//! A store's errors as the screen's answers.

use crate::tui::app::Action;

use crate::store::StoreError;

/// A store error as the screen's answer: a lost connection is its own (the screen keeps
/// saying so until a reconnect), anything else a message.
pub(super) fn store_failed(error: StoreError) -> Action {
    if error.is_connection_lost() {
        // The whole of it (the server) goes to the log; the status line, which also says
        // "connection lost", keeps to what it means here.
        tracing::warn!(%error, "connection lost");
        let message = match error {
            StoreError::ConnectionLost { detail, .. } if !detail.is_empty() => "the save did not happen",
            _ => "the server ended the session or the network dropped",
        };
        Action::ConnectionLost { message: message.to_owned() }
    } else if let StoreError::TimedOut { seconds, .. } = error {
        // The status line has no room for the server's URL (the log has it).
        tracing::warn!(%error, "statement timeout");
        Action::StoreFailed {
            message: format!(
                "the server did not answer within {seconds} s (statement_timeout); nothing was changed, try again"
            ),
        }
    } else {
        Action::StoreFailed { message: error.to_string() }
    }
}

/// The user the screen read is gone (deleted outside custodian): said as that, not as a lookup
/// the operator never typed (`no user "u7" (looked for an id, …)`: bb14 L11).
pub(super) fn deleted_outside(id: &str, saving: bool) -> Action {
    let user = id;
    let message = if saving {
        format!(
            "not saved: user {user} no longer exists (deleted outside custodian); the edit stays here and in its draft"
        )
    } else {
        format!("user {user} no longer exists (deleted outside custodian): press r to read the list again")
    };
    Action::StoreFailed { message }
}
