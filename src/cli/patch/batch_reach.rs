//! How far the undo of a batch reaches: every user it saved that still holds it, not only the
//! users an undo's advice names it for (bb86's round trips: a later batch named for one user,
//! undone, took back what it saved on users the first batch never touched, unsaid).

use crate::domain::custom_data::group_digits;
use crate::store::{BatchId, JournalQuery, UserStore};

/// How many users past those listed a batch is counted to.
const MORE_USERS_COUNTED: usize = 10_000;

/// How long the batches are counted for, all of them.
const COUNTING_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Of `undos`, each batch that saved more users than the `listed` an undo left alone, said as
/// `batch C saved 1,234 users (…)`. Counted from the journal to a bound, in count and time: a
/// note, not a census (a batch of a million users; on PostgreSQL a page is a round trip). A
/// batch not counted past those listed in time is not said.
pub(super) fn saved_past_those_listed(store: &dyn UserStore, undos: &[String], listed: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    let most = listed + MORE_USERS_COUNTED;
    let mut wider = Vec::new();
    for undo in undos {
        let query = JournalQuery { batch: Some(BatchId(undo.clone())), ..JournalQuery::default() };
        let (mut saved, mut stopped) = (0usize, false);
        let counted = store.journal(&query, &mut |_| {
            saved += 1;
            stopped = saved > most || started.elapsed() > COUNTING_FOR;
            Ok(!stopped)
        });
        if counted.is_err() || saved <= listed {
            continue;
        }
        let how_many = if stopped {
            format!("more than {}", group_digits(saved as u64 - 1))
        } else {
            group_digits(saved as u64)
        };
        wider.push(format!(
            "batch {undo} saved {how_many} users (`custodian changes --batch {undo}` lists them)"
        ));
    }
    wider
}
