//! What `undo` says of the users it left alone: the later batches to undo first, its own
//! earlier undo, and saves outside a batch.

use crate::domain::patch::users;
use crate::store::{BatchId, UserStore};

/// The later batches some of the users looked up are under, when not all under one: each to
/// undo first, the last one first (bb72 F2: the hint was said only when one batch held them
/// all, and nothing when another held one, or a single save another).
pub(super) fn later_batches_to_undo_first(
    store: &dyn UserStore,
    left_alone: &crate::store::LeftAlone,
    looked_up: &[Option<(BatchId, i64)>],
    undone: &BatchId,
) -> Option<String> {
    // A later batch that is an undo of this one (for that user) is no batch to undo first.
    let later: Vec<Option<(BatchId, i64)>> = left_alone
        .iter()
        .zip(looked_up)
        .map(|((id, revision), by)| by.clone().filter(|_| !undid(store, id, undone, revision)))
        .collect();
    let restored: Vec<bool> =
        looked_up.iter().zip(&later).map(|(was, is)| was.is_some() && is.is_none()).collect();
    let restored_already = restored.iter().filter(|r| **r).count();
    // A batch whose undo brings back another document than this batch's is named as no batch
    // to undo first: the next advice named that undo, round and round (bb85 F1).
    let circling: Vec<bool> = left_alone
        .iter()
        .zip(&later)
        .map(|((id, revision), by)| {
            by.as_ref().is_some_and(|(batch, _)| {
                batch != undone && !undoing_it_leads_back(store, id, batch, undone, revision)
            })
        })
        .collect();
    let brought_back = circling.iter().filter(|c| **c).count();
    let later: Vec<Option<(BatchId, i64)>> =
        later.into_iter().zip(&circling).map(|(by, circles)| by.filter(|_| !*circles)).collect();
    let listed = left_alone.len();
    let mut on_top: Vec<&(BatchId, i64)> =
        later.iter().flatten().filter(|(batch, _)| batch != undone).collect();
    let others = later.iter().filter(|by| by.is_none()).count() - restored_already - brought_back;
    let mut outside = match others {
        0 => String::new(),
        1 => "the other user listed was saved outside a batch since (or deleted), which no undo takes back"
            .into(),
        n => format!(
            "the other {n} listed were saved outside a batch since (or deleted), which no undo takes back"
        ),
    };
    if brought_back > 0 {
        let said = format!(
            "{} brought back to an earlier document by a later batch, not to the one this batch wrote, which undoing that batch would not lead back to (`custodian history ID` shows each save since)",
            users(brought_back as u64)
        );
        outside = if outside.is_empty() { said } else { format!("{outside}; {said}") };
    }
    if on_top.is_empty() {
        if brought_back > 0 && restored_already == 0 {
            return Some(outside);
        }
        // Put back by this batch's own undo, beside saves outside a batch: each cause said
        // all the same (bb82 F4: no note at all).
        if restored_already == 0 {
            return None;
        }
        let mut undos: Vec<&str> = Vec::new();
        for (was, _) in looked_up.iter().zip(&restored).filter(|(_, restored)| **restored) {
            if let Some((batch, _)) = was
                && !undos.contains(&batch.0.as_str())
            {
                undos.push(&batch.0);
            }
        }
        return Some(format!(
            "{} of the {} listed {} put back already by {} {}, an undo of this one{}",
            restored_already,
            looked_up.len().min(listed),
            if restored_already == 1 { "was" } else { "were" },
            if undos.len() == 1 { "batch" } else { "batches" },
            undos.join(", "),
            if outside.is_empty() { String::new() } else { format!("; {outside}") }
        ));
    }
    let under = on_top.len();
    // The last one first: two batches of one second are told apart by when each saved.
    on_top.sort_by(|(a, a_at), (b, b_at)| (b_at, b).cmp(&(a_at, a)));
    let mut named: Vec<&str> = Vec::new();
    for (batch, _) in on_top {
        if !named.contains(&batch.0.as_str()) {
            named.push(&batch.0);
        }
    }
    let undo_each = named.iter().map(|batch| format!("`custodian undo {batch}`")).collect::<Vec<_>>();
    let mut rest = if outside.is_empty() { outside } else { format!("; {outside}") };
    if restored_already > 0 {
        rest.push_str(&format!(
            "; {} restored already by an undo of this one",
            users(restored_already as u64)
        ));
    }
    let of = if listed > later.len() {
        format!("the first {} listed (only those were looked up)", later.len())
    } else {
        format!("the {listed} listed")
    };
    // "Then this one" is no advice for a batch taken back already and written again since: an
    // undo of it again restores none of those (bb82 F3).
    // Only when it was taken back from every user under a later batch: from the others an
    // undo of it still takes its change (without "then this one" it stayed on them, unsaid:
    // bb85 F4).
    let taken_back = left_alone
        .iter()
        .zip(&later)
        .filter(|((id, revision), by)| {
            by.is_some() && taken_back_then_written_again(store, id, undone, *revision)
        })
        .count();
    let under_later = later.iter().filter(|by| by.as_ref().is_some_and(|(batch, _)| batch != undone)).count();
    let then = match taken_back {
        0 => ", then this one",
        all if all >= under_later => {
            rest.push_str(
                "; this batch was taken back already from them (an undo of it), so undoing it again restores none of those",
            );
            ""
        }
        _ => {
            rest.push_str("; this batch was taken back already from some of them (an undo of it): undoing it again takes its change from the others");
            ", then this one"
        }
    };
    Some(format!(
        "{} {} saved {under} of {of} since: batches are undone last first — {}{then}{rest}",
        if named.len() == 1 { "batch" } else { "batches" },
        named.join(", "),
        undo_each.join(", then ")
    ))
}

/// The revision `batch` saved in `history` (a batch saves a user once).
fn revision_of(history: &[crate::store::RevisionInfo], batch: &BatchId) -> Option<u64> {
    history.iter().find(|r| r.batch.as_ref() == Some(batch)).map(|r| r.revision)
}

/// `batch`'s revision of user `id`, and the document user `id` had before it.
fn before_the_batch(store: &dyn UserStore, id: &str, batch: &BatchId) -> Option<(u64, String)> {
    let revision = revision_of(&store.history(id).ok()?, batch)?;
    Some((revision, store.revision_text(id, revision.checked_sub(1)?).ok()?))
}

/// Whether user `id`'s revision `now` holds the document from before `batch`'s revision of
/// them: the batch on top of it is an undo of it (for this user).
pub(super) fn undid(store: &dyn UserStore, id: &str, batch: &BatchId, now: u64) -> bool {
    before_the_batch(store, id, batch)
        .is_some_and(|(_, before)| store.revision_text(id, now).is_ok_and(|current| current == before))
}

/// Whether user `id`'s history holds, between `batch`'s revision and `now`, the document from
/// before the batch (an undo of it), and `now` is another: the batch was taken back, then its
/// documents written again by a later save.
pub(super) fn taken_back_then_written_again(
    store: &dyn UserStore,
    id: &str,
    batch: &BatchId,
    now: u64,
) -> bool {
    before_the_batch(store, id, batch).is_some_and(|(revision, before)| {
        (revision + 1..now).any(|between| store.revision_text(id, between).is_ok_and(|text| text == before))
    })
}

/// The batch that wrote user `id`'s document as it is at revision `now` first since `batch`'s
/// revision, when that is an earlier revision than `now` (an undo of a later batch put the
/// user back to it): `Some` of that revision's batch (`None` inside for a save outside a
/// batch); `None` when revision `now` wrote it itself.
pub(super) fn wrote_first(
    store: &dyn UserStore,
    id: &str,
    batch: &BatchId,
    now: u64,
) -> Option<Option<(BatchId, i64)>> {
    let history = store.history(id).ok()?;
    let from = revision_of(&history, batch)?;
    let current = store.revision_text(id, now).ok()?;
    let first = (from + 1..now).find(|&r| store.revision_text(id, r).is_ok_and(|text| text == current))?;
    let record = history.iter().find(|r| r.revision == first)?;
    Some(record.batch.clone().map(|by| (by, record.saved_at)))
}

/// Whether user `id`'s revision `now` holds the document `batch` wrote.
pub(super) fn holds_the_batchs_document(store: &dyn UserStore, id: &str, batch: &BatchId, now: u64) -> bool {
    let Some(written) = store.history(id).ok().and_then(|history| revision_of(&history, batch)) else {
        return false;
    };
    match (store.revision_text(id, written), store.revision_text(id, now)) {
        (Ok(written), Ok(current)) => written == current,
        _ => false,
    }
}

/// The batches that saved the users looked up since `batch`, newest first, when each of them
/// has the same and each wrote a document of its own (no undo among them: none brought back an
/// earlier document; no save outside a batch): each is undone before `batch`, the last first.
pub(super) fn stacked_under(
    store: &dyn UserStore,
    left_alone: &crate::store::LeftAlone,
    batch: &BatchId,
) -> Option<Vec<BatchId>> {
    let mut stacks = left_alone.iter().take(super::BATCHES_LOOKED_UP).map(|(id, now)| {
        let history = store.history(id).ok()?;
        let from = revision_of(&history, batch)?;
        let mut seen = Vec::new();
        let mut stack: Vec<BatchId> = Vec::new();
        for record in history.iter().filter(|r| r.revision <= now) {
            let text = store.revision_text(id, record.revision).ok()?;
            if record.revision > from {
                if seen.contains(&text) {
                    return None;
                }
                let by = record.batch.clone()?;
                if !stack.contains(&by) {
                    stack.insert(0, by);
                }
            }
            seen.push(text);
        }
        Some(stack)
    });
    let first = stacks.next()??;
    stacks.all(|stack| stack.as_ref() == Some(&first)).then_some(first)
}

/// Whether undoing `candidate` leads user `id` back towards `batch`: `candidate`'s revision (the
/// last at or before `now`) wrote a document of its own, or it brought back an earlier one
/// (an undo) over `batch`'s own document or the one from before `batch`, which its undo
/// restores.
pub(super) fn undoing_it_leads_back(
    store: &dyn UserStore,
    id: &str,
    candidate: &BatchId,
    batch: &BatchId,
    now: u64,
) -> bool {
    let Ok(history) = store.history(id) else { return true };
    let revision_of = |of: &BatchId| {
        history.iter().filter(|r| r.batch.as_ref() == Some(of) && r.revision <= now).map(|r| r.revision).max()
    };
    let (Some(its), Some(ours)) = (revision_of(candidate), revision_of(batch)) else { return true };
    let Ok(written) = store.revision_text(id, its) else { return true };
    let brought_back = (1..its).any(|r| store.revision_text(id, r).is_ok_and(|text| text == written));
    let holds = |revision: u64, text: &str| store.revision_text(id, revision).is_ok_and(|t| t == text);
    !brought_back
        || store
            .revision_text(id, its - 1)
            .is_ok_and(|before| holds(ours, &before) || ours > 1 && holds(ours - 1, &before))
}
