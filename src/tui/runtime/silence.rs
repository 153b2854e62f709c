//! Waits the operator sits through with no answer — a save, the read before a save's question
//! or `r`'s read, a `/` search — are said once they have gone [`SAVE_UNANSWERED_AFTER`]
//! unanswered: a server that stopped, or a link gone silent, which no statement timeout ends.
//! The search's was not watched, and over a silent link it said `none found yet: the search
//! goes on` for good (bb101 F1); it is watched by its progress, a wait by its being there.

use std::time::Instant;

use super::event_loop::SAVE_UNANSWERED_AFTER;
use crate::tui::app::{Action, State};

/// A wait as last seen (its mark: what changes when an answer comes), when it was first seen so,
/// and whether its silence was said.
pub(super) struct Silence<K> {
    seen: Option<(K, Instant, bool)>,
}

impl<K> Default for Silence<K> {
    fn default() -> Self {
        Self { seen: None }
    }
}

impl<K: PartialEq> Silence<K> {
    /// How long the wait marked `mark` has gone unchanged, once, when that reaches the limit;
    /// nothing (and the wait forgotten) when there is none.
    fn look(&mut self, mark: Option<K>) -> Option<u64> {
        let Some(mark) = mark else {
            self.seen = None;
            return None;
        };
        match &mut self.seen {
            Some((seen, _, _)) if *seen == mark => {}
            _ => {
                self.seen = Some((mark, Instant::now(), false));
                return None;
            }
        }
        let (_, since, told) = self.seen.as_mut()?;
        if *told || since.elapsed() < SAVE_UNANSWERED_AFTER {
            return None;
        }
        *told = true;
        Some(since.elapsed().as_secs())
    }
}

/// [`Action::SaveUnanswered`], once a save (or a read the operator waits on), when it has
/// waited past the limit.
pub(super) fn save_unanswered(watch: &mut Silence<()>, state: &State) -> Option<Action> {
    watch.look(state.waits_on_the_store().then_some(())).map(|seconds| Action::SaveUnanswered { seconds })
}

/// [`Action::SearchUnanswered`], once a step, when the search has gone that long with no
/// answer (its generation and the users it has read unchanged).
pub(super) fn search_unanswered(watch: &mut Silence<(u64, u64)>, state: &State) -> Option<Action> {
    let search = &state.list.search;
    let mark = state.matches_still_coming().then_some((search.generation, search.scanned));
    watch.look(mark).map(|seconds| Action::SearchUnanswered { seconds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Pending;
    use std::time::Duration;

    #[test]
    fn a_save_waiting_past_the_limit_is_told_once_and_the_next_save_is_watched_afresh() {
        let mut state = State::new(80, 24, false);
        let mut watch = Silence::default();
        assert!(save_unanswered(&mut watch, &state).is_none(), "nothing pending");
        state.pending = Some(Pending::Saving);
        assert!(save_unanswered(&mut watch, &state).is_none(), "a save that just began");
        watch.seen = Some(((), Instant::now() - SAVE_UNANSWERED_AFTER + Duration::from_secs(1), false));
        assert!(save_unanswered(&mut watch, &state).is_none(), "a second short of the limit");
        watch.seen = Some(((), Instant::now() - SAVE_UNANSWERED_AFTER, false));
        assert!(matches!(save_unanswered(&mut watch, &state), Some(Action::SaveUnanswered { seconds: 15 })));
        assert!(save_unanswered(&mut watch, &state).is_none(), "told once a save");
        state.pending = Some(Pending::Loading);
        assert!(save_unanswered(&mut watch, &state).is_none());
        // A batch takes a minute at a million users, and its overlay counts it: not watched.
        state.pending = Some(Pending::Applying);
        assert!(save_unanswered(&mut watch, &state).is_none());
        watch.seen = Some(((), Instant::now() - SAVE_UNANSWERED_AFTER, false));
        assert!(save_unanswered(&mut watch, &state).is_none(), "a batch past the limit");
        state.pending = Some(Pending::Saving);
        assert!(save_unanswered(&mut watch, &state).is_none(), "the next save starts its own watch");
        assert!(watch.seen.is_some_and(|(_, since, told)| !told && since.elapsed() < Duration::from_secs(1)));
    }

    #[test]
    fn a_search_without_an_answer_for_the_limit_is_told_once_and_an_answer_starts_the_watch_afresh() {
        let mut state = State::new(80, 24, false);
        let mut watch = Silence::default();
        assert!(search_unanswered(&mut watch, &state).is_none(), "no search");
        state.list.filter = "needle".into();
        state.list.search.scanning = true;
        assert!(state.matches_still_coming(), "the test's search runs");
        assert!(search_unanswered(&mut watch, &state).is_none(), "a search that just began");
        let mark = (state.list.search.generation, state.list.search.scanned);
        watch.seen = Some((mark, Instant::now() - SAVE_UNANSWERED_AFTER + Duration::from_secs(1), false));
        assert!(search_unanswered(&mut watch, &state).is_none(), "a second short of the limit");
        watch.seen = Some((mark, Instant::now() - SAVE_UNANSWERED_AFTER, false));
        assert!(matches!(
            search_unanswered(&mut watch, &state),
            Some(Action::SearchUnanswered { seconds: 15 })
        ));
        assert!(search_unanswered(&mut watch, &state).is_none(), "told once a step");
        // An answer (more users read) starts it again.
        state.list.search.scanned += 500;
        assert!(search_unanswered(&mut watch, &state).is_none());
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
        assert!(search_unanswered(&mut watch, &state).is_none());
        assert!(watch.seen.is_none());
    }
}
