//! Drafts whose edit the store holds already: a save that landed though its answer was lost
//! (a COMMIT in doubt, a hang-up before the answer), or someone saving the same. Offered at
//! start as "unsaved edits", with "Throw away … It cannot be brought back" to answer, while
//! nothing was left to save (bb80 F2); now said so, and their files go.

use super::Runtime;
use crate::draft::{Draft, DraftKind};
use crate::store::Revision;

/// `drafts` split into those to offer and those whose text is the user's document now, with
/// its revision. A draft, a user or a text that cannot be read is offered, as before.
pub(super) fn split_stored_already(
    runtime: &Runtime,
    drafts: Vec<Draft>,
) -> (Vec<Draft>, Vec<(Draft, Revision)>) {
    let mut offered = Vec::with_capacity(drafts.len());
    let mut stored = Vec::new();
    for draft in drafts {
        match stored_as(runtime, &draft) {
            Some(revision) => stored.push((draft, revision)),
            None => offered.push(draft),
        }
    }
    (offered, stored)
}

/// The revision that holds `draft`'s edit now, if the user's document is that edit.
fn stored_as(runtime: &Runtime, draft: &Draft) -> Option<Revision> {
    if draft.kind != DraftKind::Draft {
        return None;
    }
    let edit: serde_json::Value = serde_json::from_str(&draft.text).ok()?;
    let now = runtime.store.custom_data(&draft.user_id).ok()?;
    let stored: serde_json::Value = serde_json::from_str(&now.text).ok()?;
    (edit == stored).then_some(now.revision)
}
