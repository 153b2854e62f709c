//! The customData pane as a folding tree, while it has the focus.

use super::*;

use crate::tui::layout::document_rows;

use crate::tui::tree::Tree;

impl State {
    /// The focus goes back to the list; the tree is kept, folds and all, for the next `Tab`
    /// on the same document.
    pub(super) fn leave_tree(&mut self) -> Vec<Effect> {
        if let (Some(tree), Some(user), Some(document)) = (self.tree.take(), &self.user, &self.document) {
            self.prepared_tree = Some(PreparedTree {
                user_id: user.user.id.clone(),
                revision: document.revision,
                tree: Arc::new(tree),
            });
        }
        Vec::new()
    }

    /// A move or a fold in the tree, which then scrolls to keep its cursor in sight.
    pub(super) fn in_tree(&mut self, change: impl FnOnce(&mut Tree)) -> Vec<Effect> {
        let rows = document_rows(self.width, self.height);
        if let Some(tree) = &mut self.tree {
            change(tree);
            tree.scroll_to_cursor(rows);
        }
        Vec::new()
    }

    /// A page up (`direction < 0`) or down: what the pane shows, less a line for context.
    pub(super) fn tree_page(&mut self, direction: i8) -> Vec<Effect> {
        let page = document_rows(self.width, self.height).saturating_sub(1).max(1) as isize;
        self.in_tree(|tree| tree.move_by(direction as isize * page))
    }

    /// `n`/`N`: the list filter's text, found in the document.
    pub(super) fn tree_find_filter(&mut self, forward: bool) -> Vec<Effect> {
        // Folded as the filter folds (`STRASSE` finds `Straße`): lower case alone said the
        // text the filter had just found was not in the document (bb14 L07).
        let needle = crate::domain::fold::fold(self.list.filter.trim()).into_owned();
        if needle.is_empty() {
            return self
                .tell(StatusKind::Info, "no filter to find: / filters the list, then n finds its text here");
        }
        let rows = document_rows(self.width, self.height);
        let found = self.tree.as_mut().is_some_and(|tree| {
            let found = tree.find(&needle, forward);
            tree.scroll_to_cursor(rows);
            found
        });
        if !found {
            self.say(StatusKind::Info, format!("{needle} is not in this document"));
        }
        Vec::new()
    }

    /// Gives the customData pane the focus as a folding tree of the loaded document.
    pub(super) fn focus_tree(&mut self) -> Vec<Effect> {
        let Some(document) = &self.document else {
            // With no one listed, said as every other key says it (bb96 F6).
            let said = if self.list.selected_entry().is_none() {
                "no user selected"
            } else {
                "no customData loaded yet"
            };
            self.say(StatusKind::Info, said);
            return Vec::new();
        };
        // The tree the store worker built for this very document, when there is one.
        let is_of_this_document = |prepared: &PreparedTree| {
            self.user.as_ref().is_some_and(|user| user.user.id == prepared.user_id)
                && prepared.revision == document.revision
        };
        if let Some(prepared) = self.prepared_tree.take_if(|prepared| is_of_this_document(prepared))
            && let Ok(tree) = Arc::try_unwrap(prepared.tree)
        {
            self.tree = Some(tree);
            return Vec::new();
        }
        match crate::domain::custom_data::parse_value(&document.text) {
            Ok(value) => self.tree = Some(Tree::new(&value)),
            // Said as every other view says it (an object jsonb holds deeper than serde_json
            // reads): serde's "recursion limit exceeded at line 1 column 763" was shown (bb16 L05).
            Err(_) => {
                let found = crate::domain::custom_data::NotAnObject::in_text(&document.text).found;
                let user = self.user.as_ref().map(|u| u.user.id.clone()).unwrap_or_default();
                let error = crate::store::StoreError::StoredNotAnObject { user, field: "customData", found };
                self.say(StatusKind::Error, error.to_string());
            }
        }
        Vec::new()
    }
}
