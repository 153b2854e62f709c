//! The diff an overlay shows, made once for what is selected: the history's and `:patch`'s
//! overlays draw and scroll by it at every frame and key, and a line diff of two 1 MiB
//! documents takes 10–25 ms (release) — each `J`/`K` made it twice.

use std::cell::RefCell;
use std::rc::Rc;

use crate::domain::diff::DiffLine;

/// The last diff made, with the key of what it was made for.
pub struct DiffMemo<K> {
    last: RefCell<Option<(K, Rc<Vec<DiffLine>>)>>,
}

impl<K> Default for DiffMemo<K> {
    fn default() -> Self {
        Self { last: RefCell::new(None) }
    }
}

impl<K: Clone> Clone for DiffMemo<K> {
    fn clone(&self) -> Self {
        Self { last: RefCell::new(self.last.borrow().clone()) }
    }
}

impl<K> std::fmt::Debug for DiffMemo<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = self.last.borrow().as_ref().map(|(_, diff)| diff.len());
        f.debug_struct("DiffMemo").field("rows", &rows).finish()
    }
}

impl<K: PartialEq> DiffMemo<K> {
    /// The diff for `key`: the one made last when it was made for the same key, else `make`'s.
    pub fn get(&self, key: K, make: impl FnOnce() -> Vec<DiffLine>) -> Rc<Vec<DiffLine>> {
        let mut last = self.last.borrow_mut();
        match &*last {
            Some((made_for, diff)) if *made_for == key => Rc::clone(diff),
            _ => {
                let diff = Rc::new(make());
                *last = Some((key, Rc::clone(&diff)));
                diff
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::diff::line_diff;
    use std::cell::Cell;

    #[test]
    fn a_diff_is_made_once_for_a_key_and_again_for_another() {
        let memo = DiffMemo::default();
        let made = Cell::new(0);
        let make = |old: &str, new: &str| {
            made.set(made.get() + 1);
            line_diff(old, new)
        };
        let first = memo.get(1, || make("a\n", "b\n"));
        assert_eq!(memo.get(1, || make("x\n", "y\n")), first, "the same key: the same diff");
        assert_eq!(made.get(), 1);
        let other = memo.get(2, || make("x\n", "y\n"));
        assert_eq!(other.len(), 2);
        assert_ne!(other, first);
        assert_eq!(made.get(), 2);
        assert_eq!(memo.get(1, || make("a\n", "b\n")), first, "made again after another key");
        assert_eq!(made.get(), 3);
    }
}
