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
    let as_stored = edit_as_stored(runtime.store, &draft.text)?;
    let now = runtime.store.custom_data(&draft.user_id).ok()?;
    holds(&now.text, &as_stored).then_some(now.revision)
}

/// A draft's edit as a save would store it, compared as a save compares (the compact text:
/// key order and a number's spelling count on a file, PostgreSQL keeps no key order): `None`
/// for an edit a save refuses (a duplicate key, a non-object), which no document holds. Compared
/// as parsed values, an edit that only moved a key, or typed a key again above its old line,
/// was "stored already" and its draft removed (bb88 F2).
pub(super) fn edit_as_stored(store: &dyn crate::store::UserStore, edit: &str) -> Option<String> {
    store.as_stored(&crate::domain::CustomData::parse(edit).ok()?).ok()
}

/// Whether a stored document's `text` is the edit `as_stored` (from [`edit_as_stored`]).
pub(super) fn holds(text: &str, as_stored: &str) -> bool {
    crate::domain::CustomData::parse(text).is_ok_and(|stored| stored.compact_text() == as_stored)
}
