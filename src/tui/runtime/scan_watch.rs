//! A search whose connection went silent (a link that drops what passes without closing)
//! showed `none found yet: the search goes on` for good and said nothing, also after `r`
//! (bb101 F1): the save and `r`'s read are watched for an answer, the search was not. Watched
//! here by its progress: the same step unanswered for [`SAVE_UNANSWERED_AFTER`] is said once.

use std::time::Instant;

use super::event_loop::SAVE_UNANSWERED_AFTER;
use crate::tui::app::{Action, State};

/// The search's last answer as the watch saw it (its generation and the users it had read),
/// when it was first seen, and whether its silence was said.
#[derive(Default)]
pub(super) struct ScanWatch {
    seen: Option<((u64, u64), Instant, bool)>,
}

impl ScanWatch {
    /// [`Action::SearchUnanswered`], once a step, when the search has gone that long with no
    /// answer.
    pub(super) fn look(&mut self, state: &State) -> Option<Action> {
        if !state.matches_still_coming() {
            self.seen = None;
            return None;
        }
        let mark = (state.list.search.generation, state.list.search.scanned);
        let (seen, since, told) = self.seen.get_or_insert((mark, Instant::now(), false));
        if *seen != mark {
            (*seen, *since, *told) = (mark, Instant::now(), false);
            return None;
        }
        if *told || since.elapsed() < SAVE_UNANSWERED_AFTER {
            return None;
        }
        *told = true;
        Some(Action::SearchUnanswered { seconds: since.elapsed().as_secs() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_search_without_an_answer_for_the_limit_is_told_once_and_an_answer_starts_the_watch_afresh() {
        let mut state = State::new(80, 24, false);
        let mut watch = ScanWatch::default();
        assert!(watch.look(&state).is_none(), "no search");
        state.list.filter = "needle".into();
        state.list.search.scanning = true;
        assert!(state.matches_still_coming(), "the test's search runs");
        assert!(watch.look(&state).is_none(), "a search that just began");
        let mark = (state.list.search.generation, state.list.search.scanned);
        watch.seen = Some((mark, Instant::now() - SAVE_UNANSWERED_AFTER + Duration::from_secs(1), false));
        assert!(watch.look(&state).is_none(), "a second short of the limit");
        watch.seen = Some((mark, Instant::now() - SAVE_UNANSWERED_AFTER, false));
        assert!(matches!(watch.look(&state), Some(Action::SearchUnanswered { seconds: 15 })));
        assert!(watch.look(&state).is_none(), "told once a step");
        // An answer (more users read) starts it again.
        state.list.search.scanned += 500;
        assert!(watch.look(&state).is_none());
        assert!(watch.seen.is_some_and(|(seen, since, told)| {
            seen == (state.list.search.generation, 500) && !told && since.elapsed() < Duration::from_secs(1)
        }));
        // Said; an answer after it takes the line back (it stayed after the search ended:
        // bb103 F4).
        crate::tui::app::update(&mut state, Action::SearchUnanswered { seconds: 15 });
        let said = state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(said.starts_with("the search has had no answer for 15 s; 0 found so far"), "{said}");
        let generation = state.list.search.generation;
        let hits =
            Action::SearchHits { generation, hits: Vec::new(), scanned: 10, reached: None, done: false };
        crate::tui::app::update(&mut state, hits);
        assert!(state.status.is_none(), "{:?}", state.status);
        // The search ended: nothing watched.
        state.list.search.scanning = false;
        assert!(watch.look(&state).is_none());
        assert!(watch.seen.is_none());
    }
}
