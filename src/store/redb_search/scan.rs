//! The scan of the search blocks: in list order, a step at a time, on two threads for the
//! screen's steps and larger.

use super::super::StoreError;
use super::block::BlockView;
use crate::domain::filter::Filter;

/// What one step of a scan found: the list keys of the hits, in list order.
pub(in crate::store) struct BlockScan {
    pub hits: Vec<String>,
    pub scanned: usize,
    /// The list key of the last user scanned (the one a next step starts after).
    pub last: Option<String>,
}

/// Steps of at least this many users are scanned on two threads (the calling one and one
/// more): the TUI's steps of 5,000 users (~40 blocks, ~1 ms) are, since starting a thread
/// costs tens of microseconds; a smaller step is not worth one.
pub(super) const PARALLEL_FROM: usize = 5_000;

/// Up to `batch` users in list order after `after`, and the list keys of those whose search
/// text holds the query, stopping at `max_hits` hits (the last user scanned is then the
/// last hit), as [`super::UserStore::scan_matches`] describes. `filter` must
/// [`Filter::fits_search_text`]. A step of [`PARALLEL_FROM`] users or more is searched on
/// two threads, with the same answer.
pub(in crate::store) fn scan_blocks(
    table: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
    filter: &Filter,
    after: Option<&str>,
    batch: usize,
    max_hits: usize,
) -> Result<BlockScan, StoreError> {
    // The block `after` is in: the last one keyed at or before it.
    let start = match after {
        Some(after) => {
            table.range::<&str>(..=after)?.next_back().transpose()?.map(|(key, _)| key.value().to_owned())
        }
        None => None,
    };
    let blocks = match &start {
        Some(start) => table.range::<&str>(start.as_str()..)?,
        None => table.range::<&str>(..)?,
    };
    if batch >= PARALLEL_FROM {
        return scan_in_parallel(blocks, filter, after, batch, max_hits);
    }
    let mut found = BlockScan { hits: Vec::new(), scanned: 0, last: None };
    for block in blocks {
        if found.scanned >= batch || found.hits.len() >= max_hits {
            break;
        }
        let (_, value) = block?;
        let view = BlockView::parse(value.value())?;
        let from = after.map_or(0, |after| view.first_after(after));
        let to = view.users.min(from.saturating_add(batch - found.scanned));
        let (hits, next) = view.search(filter, from, to, max_hits - found.hits.len())?;
        for hit in hits {
            found.hits.push(view.key(hit)?.to_owned());
        }
        found.scanned += next - from;
        if next > from {
            found.last = Some(view.key(next - 1)?.to_owned());
        }
    }
    Ok(found)
}

/// What one block of a parallel scan found: its place in the scan, the users it covered,
/// the keys of its hits (at most the step's `max_hits`) and of the last user it scanned.
struct BlockFinding {
    place: usize,
    covered: usize,
    hits: Vec<(usize, String)>,
    from: usize,
    last: Option<String>,
}

fn find_in_block(
    bytes: &[u8],
    filter: &Filter,
    place: usize,
    from: usize,
    to: usize,
    max_hits: usize,
) -> Result<BlockFinding, StoreError> {
    let view = BlockView::parse(bytes)?;
    let (hits, next) = view.search(filter, from, to, max_hits)?;
    let hits =
        hits.into_iter().map(|i| Ok((i, view.key(i)?.to_owned()))).collect::<Result<_, StoreError>>()?;
    let last = if next > from { Some(view.key(next - 1)?.to_owned()) } else { None };
    Ok(BlockFinding { place, covered: next - from, hits, from, last })
}

/// [`scan_blocks`] on two threads: this one reads the blocks in list order and searches
/// every other one; a helper searches the rest. Both stop taking blocks once the hits
/// found reach `max_hits`; the findings are then put back in list order and cut at the
/// `max_hits`-th hit, so the answer is the sequential one (blocks are searched whole up to
/// the batch, and every block before the cut was searched).
fn scan_in_parallel(
    blocks: redb::Range<'static, &'static str, &'static [u8]>,
    filter: &Filter,
    after: Option<&str>,
    batch: usize,
    max_hits: usize,
) -> Result<BlockScan, StoreError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    let hits_so_far = AtomicUsize::new(0);
    let mut findings: Vec<BlockFinding> = Vec::new();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (jobs, helper_jobs) =
            mpsc::sync_channel::<(usize, redb::AccessGuard<'static, &'static [u8]>, usize, usize)>(16);
        let hits_so_far = &hits_so_far;
        let helper = scope.spawn(move || -> Result<Vec<BlockFinding>, StoreError> {
            let mut found = Vec::new();
            for (place, block, from, to) in helper_jobs {
                let finding = find_in_block(block.value(), filter, place, from, to, max_hits)?;
                hits_so_far.fetch_add(finding.hits.len(), Ordering::Relaxed);
                found.push(finding);
            }
            Ok(found)
        });
        let mut scanned = 0;
        let mut outcome = Ok(());
        for (place, block) in blocks.enumerate() {
            if scanned >= batch || hits_so_far.load(Ordering::Relaxed) >= max_hits {
                break;
            }
            let block = match block {
                Ok((_, block)) => block,
                Err(e) => {
                    outcome = Err(e.into());
                    break;
                }
            };
            let (from, users) = match BlockView::parse(block.value()) {
                Ok(view) => (after.map_or(0, |after| view.first_after(after)), view.users),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let to = users.min(from.saturating_add(batch - scanned));
            scanned += to - from;
            if place % 2 == 1 {
                if jobs.send((place, block, from, to)).is_err() {
                    break; // the helper failed: its error is taken below
                }
                continue;
            }
            match find_in_block(block.value(), filter, place, from, to, max_hits) {
                Ok(finding) => {
                    hits_so_far.fetch_add(finding.hits.len(), Ordering::Relaxed);
                    findings.push(finding);
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        drop(jobs);
        let helped = helper
            .join()
            .unwrap_or_else(|_| Err(StoreError::Database("the search helper thread failed".into())));
        findings.extend(helped?);
        outcome
    })?;
    findings.sort_unstable_by_key(|finding| finding.place);
    let mut found = BlockScan { hits: Vec::new(), scanned: 0, last: None };
    for finding in findings {
        if found.hits.len() >= max_hits {
            break;
        }
        let room = max_hits - found.hits.len();
        if finding.hits.len() >= room {
            let (last_hit, key) = finding.hits[room - 1].clone();
            found.hits.extend(finding.hits.into_iter().take(room).map(|(_, key)| key));
            found.scanned += last_hit + 1 - finding.from;
            found.last = Some(key);
            break;
        }
        found.hits.extend(finding.hits.into_iter().map(|(_, key)| key));
        found.scanned += finding.covered;
        if finding.last.is_some() {
            found.last = finding.last;
        }
    }
    Ok(found)
}
