//! The history overlay's read: the newest revisions of a user, each summed up against the one
//! before it.

use crate::domain::history::{HistoryReader, RevisionChanges};
use crate::store::{RevisionInfo, StoreError, UserStore};

use super::effects::HISTORY_LIMIT;

/// The newest [`HISTORY_LIMIT`] revisions of `id` with what each changed, how many older ones
/// were left out, and the current text. Each revision is read, summed up and let go: one
/// document in memory at a time.
#[allow(clippy::type_complexity)]
pub(super) fn summed_up(
    store: &dyn UserStore,
    id: &str,
) -> Result<(Vec<(RevisionInfo, RevisionChanges)>, usize, String), StoreError> {
    let infos = store.history(id)?;
    let skip = infos.len().saturating_sub(HISTORY_LIMIT);
    let mut reader = HistoryReader::new();
    // A shown revision may hold the same document as one older than those shown (a restore
    // of revision 1): those of a size one shown has are read for that, so `= revision N`
    // says what `custodian history` says.
    let shown_sizes: std::collections::HashSet<usize> = infos[skip..].iter().map(|info| info.size).collect();
    for older in infos[..skip.saturating_sub(1)].iter().filter(|i| shown_sizes.contains(&i.size)) {
        reader.note(older.revision, &store.revision_text(id, older.revision)?);
    }
    // The oldest shown is summed up against the one before it, as `history` does (against
    // nothing it read as adding every key).
    if let Some(before) = skip.checked_sub(1).and_then(|at| infos.get(at)) {
        reader.next(before.revision, &store.revision_text(id, before.revision)?);
    }
    let mut revisions = Vec::new();
    let mut current_text = String::new();
    for info in infos.into_iter().skip(skip) {
        let text = store.revision_text(id, info.revision)?;
        revisions.push((info.clone(), reader.next(info.revision, &text)));
        if info.current {
            current_text = text;
        }
    }
    Ok((revisions, skip, current_text))
}
