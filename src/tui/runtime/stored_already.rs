//! Drafts whose edit the store holds already: a save that landed though its answer was lost
//! (a COMMIT in doubt, a hang-up before the answer), or someone saving the same. Offered at
//! start as "unsaved edits", with "Throw away … It cannot be brought back" to answer, while
//! nothing was left to save (bb80 F2); now said so, and their files go.

use super::Runtime;
use crate::draft::{Draft, DraftKind};
use crate::store::{Revision, UserStore};

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
pub(super) fn edit_as_stored(store: &dyn UserStore, edit: &str) -> Option<String> {
    store.as_stored(&crate::domain::CustomData::parse(edit).ok()?).ok()
}

/// Whether a stored document's `text` is the edit `as_stored` (from [`edit_as_stored`]).
pub(super) fn holds(text: &str, as_stored: &str) -> bool {
    crate::domain::CustomData::parse(text).is_ok_and(|stored| stored.compact_text() == as_stored)
}

/// The revision that holds `draft`'s text, if any: the one stored now (`current`), else one
/// saved after the revision the draft started from (its save committed, then someone saved
/// again). Compared as a save on this store compares documents: the same compact text of
/// what the store keeps, white space aside (on a file, key order and a number's spelling
/// count, which JSON values compared as maps ignored: bb21 L01; on PostgreSQL, jsonb's
/// order and spelling: bb33 F1). At most [`REVISIONS_LOOKED_AT`] revisions back from
/// `current` are read.
pub(super) fn revision_holding(store: &dyn UserStore, draft: &Draft, current: Revision) -> Option<Revision> {
    let mine = edit_as_stored(store, &draft.text)?;
    let stored = store.custom_data(&draft.user_id).ok()?;
    if holds(&stored.text, &mine) {
        return Some(stored.revision);
    }
    let after_base = draft.base_revision.saturating_add(1);
    let oldest = after_base.max(current.saturating_sub(REVISIONS_LOOKED_AT));
    (oldest..current)
        .rev()
        .find(|&revision| store.revision_text(&draft.user_id, revision).is_ok_and(|text| holds(&text, &mine)))
}

/// How many revisions before the current one a reopened draft is compared with: a crash
/// between a save's commit and its draft's removal, then a few saves by others.
const REVISIONS_LOOKED_AT: Revision = 16;
