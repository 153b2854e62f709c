//! A search as steps of a full scan, for the stores whose search is a scan.

use super::{ListEntry, ListKey, StoreError, UserStore};

/// Users a `search` reads per step of its scan.
pub(crate) const SEARCH_STEP: usize = 5_000;

/// [`UserStore::search`] as the filter's scan does it: step after step of `step` users to
/// `limit` hits or the end of the list.
pub(crate) fn search_by_steps<S: UserStore + ?Sized>(
    store: &S,
    query: &str,
    after: Option<&ListKey>,
    limit: usize,
    step: usize,
) -> Result<Vec<ListEntry>, StoreError> {
    let mut found = Vec::new();
    let mut after = after.cloned();
    while found.len() < limit {
        let step = store.scan_matches(query, after.as_ref(), step, limit - found.len())?;
        found.extend(step.hits);
        match step.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(found)
}
