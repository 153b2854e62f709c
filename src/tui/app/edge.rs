//! `Home` and `End` in the list, and the moves typed while their rows are on their way.

use super::*;

use super::list::Then;
use crate::store::Seek;

impl State {
    /// `Home`/`End`: the first or last user; of the matches, while filtering.
    pub(super) fn select_edge(&mut self, last: bool) -> Vec<Effect> {
        if self.matches_still_coming() {
            return self.move_through_matches_found(if last { Owed::End { above: 0 } } else { Owed::Row(0) });
        }
        if self.list.active_filter().is_some() {
            let index = if last { self.list.rows.len().saturating_sub(1) } else { 0 };
            return self.select_index(index);
        }
        // A key that waited for the rows before was for the row there, not this edge's (`g e G`
        // opened the editor on the last user: bb100 F8).
        self.drop_the_key_waiting_for_the_matches();
        (self.list.moving, self.list.edge) = (None, Some(last));
        vec![self.load(if last { Seek::Last } else { Seek::First }, 0, Then::Edge)]
    }

    /// A move typed while the rows of `Home` (or `End`, `last`) are on their way goes from
    /// that edge: the rows are asked for again with every such move (only the newest read is
    /// answered). It moved through the rows shown before, and the edge's answer then put the
    /// selection back on the first user: `g j j` over a network landed there (bb99 F2).
    pub(super) fn move_from_the_edge_on_its_way(&mut self, last: bool, delta: isize) -> Vec<Effect> {
        // A key that waited for the edge's row was for that row, not the one moved to.
        self.drop_the_key_waiting_for_the_matches();
        let moved = self.list.moving.unwrap_or(0) + delta;
        self.list.moving = Some(moved);
        let distance = if last { -moved } else { moved }.max(0) as usize;
        vec![self.load(if last { Seek::Last } else { Seek::First }, distance, Then::Edge)]
    }
}
