//! The customData pane as a folding tree for reading (as jless and fx do): every object and
//! array folds, a folded one says how many keys or items it holds, and the focused node has a
//! path in the secrets lint's style (`events[1234].meta.path`).
//!
//! The document is flattened once into nodes in document order; a node knows where its subtree
//! ends, its parent, its last child and the sibling before it, so moving one row, drawing a
//! screen of rows and folding are all independent of the document's size.

use crate::domain::value_path::{push_index, push_key};
use serde_json::Value;

/// How a node is reached from its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    Root,
    Key(String),
    Index(usize),
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// An object with this many keys.
    Object(usize),
    /// An array with this many items.
    Array(usize),
    /// A string, number, boolean or null, as compact JSON text.
    Scalar(String),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub depth: usize,
    pub label: Label,
    pub shape: Shape,
    pub parent: Option<usize>,
    /// The first node after this one's subtree.
    pub end: usize,
    pub last_child: Option<usize>,
    pub previous_sibling: Option<usize>,
}

/// One line of the tree: a node's own line, or the closing bracket of an unfolded container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: usize,
    pub closing: bool,
}

impl Row {
    fn open(node: usize) -> Self {
        Row { node, closing: false }
    }
}

/// A line as drawn: its indentation, the key part, the value part, and a trailing comma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub indent: usize,
    /// `"key": ` (JSON text) or empty.
    pub key: String,
    pub value: String,
    /// The value is a folded container's summary (`{…} 12 keys`).
    pub folded: bool,
    pub comma: bool,
}

pub struct Tree {
    nodes: Vec<Node>,
    folded: Vec<bool>,
    /// The focused row and the first row on screen.
    pub cursor: Row,
    pub top: Row,
}

/// A tree is built on a store worker and handed to the screen in an action, which is
/// printed in logs and test failures: its size, not its million nodes.
impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("nodes", &self.nodes.len()).finish_non_exhaustive()
    }
}

impl Tree {
    /// The tree of `document`'s text; `None` when it is not JSON.
    pub fn of_text(document: &str) -> Option<Self> {
        crate::domain::custom_data::parse_value(document).ok().map(|value| Tree::new(&value))
    }

    /// The tree of `value`, everything unfolded, the cursor on the first line.
    pub fn new(value: &Value) -> Self {
        let mut nodes = Vec::new();
        flatten(value, Label::Root, 0, None, &mut nodes);
        let folded = vec![false; nodes.len()];
        Tree { nodes, folded, cursor: Row::open(0), top: Row::open(0) }
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    pub fn is_folded(&self, node: usize) -> bool {
        self.folded[node]
    }

    /// Whether a node's children are shown: an unfolded container with children.
    fn is_open(&self, node: usize) -> bool {
        !self.folded[node] && self.nodes[node].end > node + 1
    }

    /// The row after `row`, if any.
    pub fn next(&self, row: Row) -> Option<Row> {
        if !row.closing && self.is_open(row.node) {
            return Some(Row::open(row.node + 1));
        }
        let node = &self.nodes[row.node];
        let parent = node.parent?;
        let after = node.end;
        if after < self.nodes[parent].end {
            Some(Row::open(after))
        } else {
            Some(Row { node: parent, closing: true })
        }
    }

    /// The row before `row`, if any.
    pub fn previous(&self, row: Row) -> Option<Row> {
        if row.closing {
            return self.nodes[row.node].last_child.map(|child| self.last_row_of(child));
        }
        let node = &self.nodes[row.node];
        match node.previous_sibling {
            Some(sibling) => Some(self.last_row_of(sibling)),
            None => node.parent.map(Row::open),
        }
    }

    /// The last row a node's subtree takes: its closing bracket when it is open.
    fn last_row_of(&self, node: usize) -> Row {
        Row { node, closing: self.is_open(node) }
    }

    /// Up to `count` rows from `from` on.
    pub fn rows_from(&self, from: Row, count: usize) -> Vec<Row> {
        let mut rows = Vec::with_capacity(count.min(256));
        let mut row = Some(from);
        while let Some(current) = row {
            if rows.len() == count {
                break;
            }
            rows.push(current);
            row = self.next(current);
        }
        rows
    }

    /// How `row` is drawn.
    pub fn line(&self, row: Row) -> Line {
        let node = &self.nodes[row.node];
        let comma = node.parent.is_some_and(|parent| node.end < self.nodes[parent].end);
        if row.closing {
            let bracket = if matches!(node.shape, Shape::Array(_)) { "]" } else { "}" };
            return Line {
                indent: node.depth,
                key: String::new(),
                value: bracket.into(),
                folded: false,
                comma,
            };
        }
        let key = match &node.label {
            Label::Key(key) => format!("{}: ", serde_json::to_string(key).unwrap_or_default()),
            Label::Root | Label::Index(_) => String::new(),
        };
        let (value, folded) = match &node.shape {
            Shape::Object(0) => ("{}".to_owned(), false),
            Shape::Array(0) => ("[]".to_owned(), false),
            Shape::Object(n) if self.folded[row.node] => {
                (format!("{{…}} {}", count(*n, "key", "keys")), true)
            }
            Shape::Array(n) if self.folded[row.node] => (format!("[…] {}", count(*n, "item", "items")), true),
            Shape::Object(_) => ("{".to_owned(), false),
            Shape::Array(_) => ("[".to_owned(), false),
            Shape::Scalar(text) => (text.clone(), false),
        };
        // A container's opening line has no comma: its closing bracket takes it.
        let comma = comma && !self.is_open(row.node);
        Line { indent: node.depth, key, value, folded, comma }
    }

    /// The path of `node` in the lint's style; `(top level)` for the document itself.
    pub fn path(&self, node: usize) -> String {
        let mut labels = Vec::new();
        let mut at = Some(node);
        while let Some(index) = at {
            labels.push(&self.nodes[index].label);
            at = self.nodes[index].parent;
        }
        let mut path = String::new();
        for label in labels.into_iter().rev() {
            match label {
                Label::Root => {}
                Label::Key(key) => {
                    push_key(&mut path, key);
                }
                Label::Index(index) => {
                    push_index(&mut path, *index);
                }
            }
        }
        if path.is_empty() { "(top level)".to_owned() } else { path }
    }

    /// Folds or unfolds the focused node (a container with children; the document itself
    /// stays open).
    pub fn toggle(&mut self) {
        let node = self.cursor.node;
        if node != 0 && self.nodes[node].end > node + 1 {
            self.folded[node] = !self.folded[node];
            self.cursor = Row::open(node);
            self.keep_top_valid();
        }
    }

    /// `←`/`h`: folds the focused container, or goes to its parent when it is folded or a scalar.
    pub fn collapse(&mut self) {
        let node = self.cursor.node;
        if self.is_open(node) && node != 0 {
            self.folded[node] = true;
            self.cursor = Row::open(node);
            self.keep_top_valid();
        } else if let Some(parent) = self.nodes[node].parent.filter(|_| !self.cursor.closing) {
            self.cursor = Row::open(parent);
        } else {
            self.cursor = Row::open(node);
        }
    }

    /// `→`/`l`: unfolds the focused container, or goes to its first child when it is open.
    pub fn expand(&mut self) {
        let node = self.cursor.node;
        if self.folded[node] {
            self.folded[node] = false;
        } else if self.is_open(node) && !self.cursor.closing {
            self.cursor = Row::open(node + 1);
        }
    }

    /// Folds every container below the document's first level, or unfolds everything.
    pub fn fold_all(&mut self, folded: bool) {
        for (index, node) in self.nodes.iter().enumerate() {
            self.folded[index] = folded && node.depth >= 1 && node.end > index + 1;
        }
        // The cursor goes to the outermost fold that hides it (or stays, when none does).
        let mut visible = self.cursor.node;
        let mut at = Some(self.cursor.node);
        while let Some(index) = at {
            if self.folded[index] {
                visible = index;
            }
            at = self.nodes[index].parent;
        }
        let closing = self.cursor.closing && visible == self.cursor.node && self.is_open(visible);
        self.cursor = Row { node: visible, closing };
        self.keep_top_valid();
    }

    /// Moves the cursor `delta` rows (negative: up), stopping at either end.
    pub fn move_by(&mut self, delta: isize) {
        for _ in 0..delta.unsigned_abs() {
            let next = if delta < 0 { self.previous(self.cursor) } else { self.next(self.cursor) };
            match next {
                Some(row) => self.cursor = row,
                None => break,
            }
        }
    }

    /// The first row or the last.
    pub fn move_to_end(&mut self, last: bool) {
        self.cursor = if last { self.last_row_of(0) } else { Row::open(0) };
    }

    /// The next (or previous) node after the cursor whose key or value contains `needle`
    /// (already folded, [`crate::domain::fold::fold`]: as the list filter compares), wrapping
    /// around; it is unfolded into view and focused.
    pub fn find(&mut self, needle: &str, forward: bool) -> bool {
        if needle.is_empty() || self.nodes.is_empty() {
            return false;
        }
        let total = self.nodes.len();
        let start = self.cursor.node;
        for step in 1..=total {
            let index = if forward { (start + step) % total } else { (start + total - step % total) % total };
            if self.matches(index, needle) {
                self.reveal(index);
                self.cursor = Row::open(index);
                return true;
            }
        }
        false
    }

    fn matches(&self, index: usize, needle: &str) -> bool {
        let node = &self.nodes[index];
        let holds = |text: &str| crate::domain::fold::fold(text).contains(needle);
        matches!(&node.label, Label::Key(key) if holds(key))
            || matches!(&node.shape, Shape::Scalar(text) if holds(text))
    }

    /// Unfolds every container above `node`, so its line shows.
    fn reveal(&mut self, node: usize) {
        let mut at = self.nodes[node].parent;
        while let Some(index) = at {
            self.folded[index] = false;
            at = self.nodes[index].parent;
        }
    }

    /// After a fold the first row on screen may be hidden inside it: it becomes the fold.
    fn keep_top_valid(&mut self) {
        let mut visible = self.top.node;
        let mut at = self.nodes[self.top.node].parent;
        while let Some(index) = at {
            if self.folded[index] {
                visible = index;
            }
            at = self.nodes[index].parent;
        }
        if visible != self.top.node || (self.top.closing && !self.is_open(visible)) {
            self.top = Row::open(visible);
        }
    }

    /// Scrolls so the cursor is on one of `height` rows from the top.
    pub fn scroll_to_cursor(&mut self, height: usize) {
        let height = height.max(1);
        self.keep_top_valid();
        if self.rows_from(self.top, height).contains(&self.cursor) {
            return;
        }
        // Above the screen: it becomes the first row. Below: the last.
        if self.order(self.cursor) < self.order(self.top) {
            self.top = self.cursor;
            return;
        }
        let mut row = self.cursor;
        for _ in 1..height {
            match self.previous(row) {
                Some(previous) => row = previous,
                None => break,
            }
        }
        self.top = row;
    }

    /// Where a row comes in the document: a node's line by its index; a closing bracket just
    /// before the node after its subtree, an inner bracket before an outer one.
    fn order(&self, row: Row) -> (usize, u8, usize) {
        if row.closing {
            let node = &self.nodes[row.node];
            (node.end, 0, usize::MAX - node.depth)
        } else {
            (row.node, 1, 0)
        }
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// Appends `value` and everything under it to `nodes` in document order.
fn flatten(value: &Value, label: Label, depth: usize, parent: Option<usize>, nodes: &mut Vec<Node>) -> usize {
    let index = nodes.len();
    let shape = match value {
        Value::Object(map) => Shape::Object(map.len()),
        Value::Array(items) => Shape::Array(items.len()),
        scalar => Shape::Scalar(serde_json::to_string(scalar).unwrap_or_default()),
    };
    nodes.push(Node {
        depth,
        label,
        shape,
        parent,
        end: index + 1,
        last_child: None,
        previous_sibling: None,
    });
    let mut previous: Option<usize> = None;
    let mut add = |child: usize, nodes: &mut Vec<Node>| {
        nodes[child].previous_sibling = previous;
        previous = Some(child);
        nodes[index].last_child = Some(child);
    };
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let child = flatten(item, Label::Key(key.clone()), depth + 1, Some(index), nodes);
                add(child, nodes);
            }
        }
        Value::Array(items) => {
            for (position, item) in items.iter().enumerate() {
                let child = flatten(item, Label::Index(position), depth + 1, Some(index), nodes);
                add(child, nodes);
            }
        }
        _ => {}
    }
    nodes[index].end = nodes.len();
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Tree {
        Tree::new(
            &json!({"theme": "dark", "events": [{"kind": "login", "meta": {"path": "/x"}}, 2], "empty": {}}),
        )
    }

    fn text(tree: &Tree) -> Vec<String> {
        tree.rows_from(Row::open(0), usize::MAX)
            .into_iter()
            .map(|row| {
                let line = tree.line(row);
                format!(
                    "{}{}{}{}",
                    "  ".repeat(line.indent),
                    line.key,
                    line.value,
                    if line.comma { "," } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn unfolded_it_reads_as_pretty_json() {
        let tree = sample();
        assert_eq!(
            text(&tree),
            [
                "{",
                "  \"theme\": \"dark\",",
                "  \"events\": [",
                "    {",
                "      \"kind\": \"login\",",
                "      \"meta\": {",
                "        \"path\": \"/x\"",
                "      }",
                "    },",
                "    2",
                "  ],",
                "  \"empty\": {}",
                "}",
            ]
        );
    }

    #[test]
    fn every_row_is_reached_down_and_up_and_a_folded_node_says_how_much_it_holds() {
        let mut tree = sample();
        let rows = tree.rows_from(Row::open(0), usize::MAX);
        let mut back = vec![*rows.last().unwrap()];
        while let Some(previous) = tree.previous(*back.last().unwrap()) {
            back.push(previous);
        }
        back.reverse();
        assert_eq!(back, rows);
        tree.move_by(2);
        assert_eq!(tree.path(tree.cursor.node), "events");
        tree.toggle();
        assert_eq!(text(&tree)[2], "  \"events\": […] 2 items,");
        assert_eq!(text(&tree).len(), 5);
        tree.move_by(1);
        assert_eq!(tree.path(tree.cursor.node), "empty");
    }

    /// A number reads as it is stored (`1E5`, `-0`, `1e400`): the tree was the one view that
    /// respelled it (`1e+5`), where a find for `1E5` landed on a line reading otherwise (bb26 T12).
    #[test]
    fn numbers_read_as_they_are_written() {
        let tree =
            Tree::of_text(r#"{"b":[1E5,-0,1e400,0.10,123456789012345678901234567890]}"#).expect("JSON");
        assert_eq!(
            text(&tree),
            [
                "{",
                "  \"b\": [",
                "    1E5,",
                "    -0,",
                "    1e400,",
                "    0.10,",
                "    123456789012345678901234567890",
                "  ]",
                "}"
            ]
        );
    }

    #[test]
    fn paths_are_in_the_lints_style() {
        let mut tree = sample();
        tree.move_by(6);
        assert_eq!(tree.path(tree.cursor.node), "events[0].meta.path");
        assert_eq!(tree.path(0), "(top level)");
    }

    #[test]
    fn left_folds_then_goes_to_the_parent_and_right_unfolds_then_enters() {
        let mut tree = sample();
        tree.move_by(5); // "meta": {
        tree.collapse();
        assert!(tree.is_folded(tree.cursor.node));
        tree.collapse();
        assert_eq!(tree.path(tree.cursor.node), "events[0]");
        tree.move_by(2);
        assert_eq!(tree.path(tree.cursor.node), "events[0].meta");
        tree.expand();
        assert!(!tree.is_folded(tree.cursor.node));
        tree.expand();
        assert_eq!(tree.path(tree.cursor.node), "events[0].meta.path");
    }

    #[test]
    fn fold_all_leaves_the_first_level_and_finding_unfolds_the_match_into_view() {
        let mut tree = sample();
        tree.move_by(6);
        tree.fold_all(true);
        assert_eq!(
            text(&tree),
            ["{", "  \"theme\": \"dark\",", "  \"events\": […] 2 items,", "  \"empty\": {}", "}"]
        );
        assert_eq!(tree.path(tree.cursor.node), "events", "the cursor is on the fold that hides it");
        assert!(tree.find("/x", true));
        assert_eq!(tree.path(tree.cursor.node), "events[0].meta.path");
        assert!(text(&tree).contains(&"        \"path\": \"/x\"".to_owned()));
        assert!(!tree.find("nowhere", true));
        tree.fold_all(false);
        assert_eq!(text(&tree).len(), 13);
    }

    #[test]
    fn finding_compares_as_the_list_filter_does_with_full_case_folding() {
        // The filter found `Straße` by `STRASSE`; `n` said it was not in the document (bb14 L07).
        let mut tree = Tree::new(&json!({"city": "Straße", "Ｆｕｌｌ": 1, "doc": "ﬁle"}));
        let needle = |text: &str| crate::domain::fold::fold(text).into_owned();
        assert!(tree.find(&needle("STRASSE"), true));
        assert_eq!(tree.path(tree.cursor.node), "city");
        assert!(tree.find(&needle("full"), true), "a full-width key");
        assert_eq!(tree.path(tree.cursor.node), "Ｆｕｌｌ");
        assert!(tree.find(&needle("FILE"), true), "a ligature in a value");
        assert_eq!(tree.path(tree.cursor.node), "doc");
    }

    #[test]
    fn the_top_row_follows_the_cursor() {
        let mut tree = sample();
        tree.move_by(8);
        tree.scroll_to_cursor(4);
        assert!(tree.rows_from(tree.top, 4).contains(&tree.cursor));
        assert_eq!(tree.rows_from(tree.top, 4).last(), Some(&tree.cursor));
        tree.move_to_end(false);
        tree.scroll_to_cursor(4);
        assert_eq!(tree.top, tree.cursor);
    }
}
