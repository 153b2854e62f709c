//! What an undo can still do for a user it left alone: which later batches to undo first,
//! the last first, so that the batch's own undo takes its change back. Found by replaying
//! undos on the user's history with the rule both stores' undo follows, so the advice is
//! what the undos will do (read from the documents alone, it named batches whose undo was
//! refused, or went round and round: bb83 F1, bb85 F1–F5).

use std::collections::{HashMap, VecDeque};

/// One revision of a user's document, as an undo sees it; a history is oldest first and its
/// last revision is the user's document now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub revision: u64,
    /// Shared: a search for a way copies histories many times over.
    pub document: std::sync::Arc<str>,
    /// The batch that saved it; `None` for a save outside a batch (or outside custodian).
    pub batch: Option<String>,
    /// The batch that batch took back, when it is an undo.
    pub undoes: Option<String>,
    pub saved_at: i64,
}

/// What can be done for one user an undo of a batch left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Way {
    /// Undo these batches, in this order, then the batch itself.
    UndoFirst(Vec<String>),
    /// The batch's change was taken back from the user since, by `by` the last time.
    TakenBack { by: TakenBy, since: SinceTakenBack },
    /// The user was saved outside a batch since, and no undo of a batch leads past that.
    SavedOutside,
    /// The undos of the batches in the user's history lead elsewhere, or the batch (or the
    /// revision before it) is not in it.
    NoWay,
}

/// What a user taken back from already holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinceTakenBack {
    /// The document from before the batch, as it was left then.
    AsUndone,
    /// The batch's own document, written again since by `by` (`None`: a save outside a
    /// batch), and still held (`holds_it`) or saved over: undoing `way`, in this order, brings
    /// back the document from before the batch (`None`: no undo does).
    WrittenAgain { by: Option<String>, holds_it: bool, way: Option<Vec<String>> },
    /// The batch's document brought back by `by`, an undo of another batch (`undone`) whose
    /// document it also was, and still held (`holds_it`) or saved over: undoing `by` would
    /// undo that undo, not this batch's change.
    SameDocument { by: String, undone: String, holds_it: bool },
    /// Another document.
    Other,
}

/// The most undos a way may take (nine batches on one user were said to have no way: bb87 N2).
const MOST_STEPS: usize = 64;
/// The most histories tried in looking for a way.
const MOST_TRIED: usize = 20_000;

/// Who took a batch's change back from a user: the last save since it that wrote the
/// document from before it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenBy {
    /// An undo of the batch (this batch id).
    ItsUndo(String),
    /// Another batch (a later patch, an undo of another batch).
    Batch(String),
    /// A save outside a batch (`set`, `restore`, the editor, Logto).
    Outside,
}

/// What can be done for a user with `history` left alone by an undo of `batch`.
pub fn way_back(history: &[Saved], batch: &str) -> Way {
    let Some(at) = saved_by(history, batch) else { return Way::NoWay };
    let Some(before) = document_before(history, at) else { return Way::NoWay };
    let now = history.last().map(|saved| &*saved.document);
    // The batch's change taken back since (its undo, a later patch, a save writing the document
    // from before it): what came after is no change of this batch's, unless its document was
    // written again since the last time (bb86 F1, F2: the way back went through unrelated
    // undos to a document the user had held already).
    if let Some(back) =
        history[at + 1..].iter().rposition(|saved| &*saved.document == before).map(|i| at + 1 + i)
    {
        let taker = &history[back];
        let by = match (&taker.batch, &taker.undoes) {
            (Some(undo), Some(undone)) if undone == batch => TakenBy::ItsUndo(undo.clone()),
            (Some(other), _) => TakenBy::Batch(other.clone()),
            (None, _) => TakenBy::Outside,
        };
        let since = if now == Some(before) {
            SinceTakenBack::AsUndone
        } else {
            written_again(history, at, before, back, batch)
        };
        return Way::TakenBack { by, since };
    }
    match shortest_way(history, at, &|h| takes_back(h, at)) {
        Some(first) => Way::UndoFirst(first),
        // A save outside a batch on the way: no undo goes past it (bb86 F5: said as a document
        // brought back, or a revision no longer kept).
        None if history[at + 1..].iter().any(|saved| saved.batch.is_none()) => Way::SavedOutside,
        None => Way::NoWay,
    }
}

/// What a user whose change from `batch` (revision index `at`) was taken back the last time at
/// index `back` holds since: the batch's document written again by the first save since that
/// wrote it and was not taken back (bb87 N4) — by a patch or an undo of an undo of
/// the batch (the undos from it on lead back), by a save outside a batch (none does), or by the
/// undo of another batch whose document it happened to be (bb87 N3, N4: its undo undid
/// another operator's undo).
fn written_again(history: &[Saved], at: usize, before: &str, back: usize, batch: &str) -> SinceTakenBack {
    let written = &*history[at].document;
    // The first save since that wrote it and was not taken back; an undo that brought back a
    // document written since is not where it came from (a `set` under it is).
    let taken_back_since = |at: usize| {
        let by = &history[at].batch;
        by.is_some() && history[at + 1..].iter().any(|saved| saved.undoes == *by)
    };
    let brings_back_a_later_save = |at: usize| {
        let Some(undone) = &history[at].undoes else { return false };
        let Some(of) = saved_by(history, undone) else { return false };
        history
            .iter()
            .position(|saved| saved.revision + 1 == history[of].revision)
            .is_some_and(|put_back| put_back > back)
    };
    let Some(again) = (back + 1..history.len()).find(|&at| {
        &*history[at].document == written && !taken_back_since(at) && !brings_back_a_later_save(at)
    }) else {
        return SinceTakenBack::Other;
    };
    let rewrite = &history[again];
    let holds_it = history.last().is_some_and(|saved| &*saved.document == written);
    let reapplies = match &rewrite.undoes {
        None => true,
        // An undo of an undo of this batch writes its documents back.
        Some(undone) => {
            saved_by(history, undone).is_some_and(|of| history[of].undoes.as_deref() == Some(batch))
        }
    };
    if !reapplies {
        let undone = rewrite.undoes.clone().unwrap_or_default();
        return SinceTakenBack::SameDocument {
            by: rewrite.batch.clone().unwrap_or_default(),
            undone,
            holds_it,
        };
    }
    let way = rewrite.batch.as_ref().and_then(|_| {
        shortest_way(history, again - 1, &|h| h.last().is_some_and(|saved| &*saved.document == before))
    });
    SinceTakenBack::WrittenAgain { by: rewrite.batch.clone(), holds_it, way }
}

/// Whether `history` reaches a state where an undo of `batch` takes its change back after
/// undoing `first`, in order: each undo as the store does it (one whose rule refuses the
/// user leaves them alone). For a way found for one user, replayed on another.
pub fn reached_after(history: &[Saved], batch: &str, first: &[String]) -> bool {
    let Some(at) = saved_by(history, batch) else { return false };
    let mut now = history.to_vec();
    for undone in first {
        // Found in the history as it was: a batch saves a user once.
        if let Some(of) = saved_by(history, undone)
            && takes_back(&now, of)
            && let Some(next) = undo(&now, of)
        {
            now = next;
        }
    }
    takes_back(&now, at)
}

/// One order of every batch in `ways` that keeps each way's order; where they leave it open,
/// the batch saved last first (batches are undone last first). `saved_at` gives when each
/// batch saved.
pub fn merged(ways: &[&[String]], saved_at: &HashMap<String, i64>) -> Vec<String> {
    let mut all: Vec<&String> = Vec::new();
    for batch in ways.iter().flat_map(|way| way.iter()) {
        if !all.contains(&batch) {
            all.push(batch);
        }
    }
    let mut order = Vec::new();
    while !all.is_empty() {
        // A batch no remaining way puts after another remaining one.
        let ready = |batch: &&String| {
            !ways.iter().any(|way| {
                way.iter()
                    .position(|b| b == *batch)
                    .is_some_and(|at| way[..at].iter().any(|earlier| all.contains(&earlier)))
            })
        };
        let last_saved =
            |batch: &&&String| (saved_at.get(**batch).copied().unwrap_or(i64::MIN), (**batch).clone());
        // Ways that disagree (a cycle) leave none ready: then the last saved of all.
        let next = all
            .iter()
            .filter(|b| ready(b))
            .max_by_key(last_saved)
            .or_else(|| all.iter().max_by_key(last_saved));
        let Some(&next) = next else { break };
        all.retain(|batch| *batch != next);
        order.push(next.clone());
    }
    order
}

/// The fewest undos of the batches saved after revision index `after` that bring `history`
/// to `done`, when some do within [`MOST_STEPS`].
fn shortest_way(history: &[Saved], after: usize, done: &dyn Fn(&[Saved]) -> bool) -> Option<Vec<String>> {
    let real = history.len();
    let mut queue: VecDeque<(Vec<Saved>, Vec<String>)> = VecDeque::from([(history.to_vec(), Vec::new())]);
    let mut tried = 0;
    while let Some((now, undone)) = queue.pop_front() {
        if done(&now) {
            return Some(undone);
        }
        if undone.len() >= MOST_STEPS {
            continue;
        }
        for of in after + 1..real {
            let Some(batch) = &now[of].batch else { continue };
            if undone.contains(batch) || !takes_back(&now, of) {
                continue;
            }
            let Some(next) = undo(&now, of) else { continue };
            tried += 1;
            if tried > MOST_TRIED {
                return None;
            }
            let mut way = undone.clone();
            way.push(batch.clone());
            queue.push_back((next, way));
        }
    }
    None
}

/// The index of the revision `batch` saved (a batch saves a user once).
fn saved_by(history: &[Saved], batch: &str) -> Option<usize> {
    history.iter().position(|saved| saved.batch.as_deref() == Some(batch))
}

/// The document of the revision before the one at index `at`.
fn document_before(history: &[Saved], at: usize) -> Option<&str> {
    let revision = history[at].revision.checked_sub(1)?;
    history.iter().find(|saved| saved.revision == revision).map(|saved| &*saved.document)
}

/// Whether an undo of the batch that saved revision index `at` takes the user back now: they
/// are still at that revision, or were put back to its very document by the undo of another
/// batch, and no undo of this batch took it back since (the stores' rule).
pub fn takes_back(history: &[Saved], at: usize) -> bool {
    let Some(now) = history.last() else { return false };
    let saved = &history[at];
    if at + 1 == history.len() {
        return true;
    }
    now.document == saved.document
        && now.undoes.as_ref().is_some_and(|undone| Some(undone) != saved.batch.as_ref())
        && !history[at + 1..history.len() - 1]
            .iter()
            .any(|between| between.undoes.is_some() && between.undoes == saved.batch)
}

/// `history` after an undo of the batch that saved revision index `at`: a revision of its own
/// with the document from before it.
fn undo(history: &[Saved], at: usize) -> Option<Vec<Saved>> {
    let document = document_before(history, at)?.into();
    let last = history.last()?;
    let mut next = history.to_vec();
    next.push(Saved {
        revision: last.revision + 1,
        document,
        // No batch of the history has this name: a way names only batches that exist.
        batch: Some(format!("(an undo of {})", history[at].batch.as_deref().unwrap_or_default())),
        undoes: history[at].batch.clone(),
        saved_at: last.saved_at,
    });
    Some(next)
}

#[cfg(test)]
#[path = "undo_plan_tests.rs"]
mod tests;
