//! A recursive definition reached twice for the same value at each level of nesting: a tree
//! whose node is a `oneOf` of two kinds, each with `children` referring back to the node. Every
//! level then checks its children once per branch: a document nested 20 deep is checked 2^20
//! times over (a 316-byte document took 10 s, and the editor froze: bb77 F2). The fan-out
//! count ([`super::fan_out`]) counts a cycle's turn once, since the document's depth bounds
//! it; what it cannot see is how many times each turn is taken for one value.
//!
//! So, for each definition a `$ref` names, the walk from it back to itself records the path
//! through the *value* each way takes (a property's name, an array's items, …; `allOf`,
//! `anyOf`, `oneOf`, `if`/`then`/`else`, `not` and `$ref` stay on the same value). Two ways
//! back along the same value path mean twice the work at every level. Two ways along
//! different paths (a binary tree's `left` and `right`) check different values: no more work
//! than the document's size.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Schema nodes the walk visits at most, in all: past this it gives up and refuses nothing
/// (the fan-out count has already bounded the schema's size).
const MOST_VISITED: usize = 2_000_000;

/// Keywords whose values are data or definitions, not schemas applied here.
const NOT_APPLIED: &[&str] =
    &["enum", "const", "default", "examples", "$defs", "definitions", "required", "contentSchema"];

/// A definition reached again for the same value by more than one way: its `$ref` as
/// written, and how many ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Branching {
    pub reference: String,
    pub ways: usize,
}

/// The first definition of `schema` reached back for the same value by two ways or more.
pub(super) fn branching_recursion(schema: &Value) -> Option<Branching> {
    let mut walk = Walk { root: schema, visited: 0, anchors: HashMap::new() };
    super::fan_out::collect_anchors(schema, &mut walk.anchors);
    let mut references = Vec::new();
    collect_references(schema, &mut references);
    let mut seen = HashSet::new();
    for reference in references {
        let Some(target) = walk.target(reference) else { continue };
        if !seen.insert(std::ptr::from_ref(target) as usize) {
            continue;
        }
        let mut ways: HashMap<Vec<String>, usize> = HashMap::new();
        let mut on_the_way = HashSet::new();
        walk.back_to(target, target, &mut Vec::new(), &mut on_the_way, &mut ways);
        if walk.visited > MOST_VISITED {
            return None;
        }
        if let Some(ways) = ways.values().copied().filter(|ways| *ways > 1).max() {
            return Some(Branching { reference: reference.to_owned(), ways });
        }
    }
    None
}

struct Walk<'a> {
    root: &'a Value,
    visited: usize,
    anchors: HashMap<&'a str, &'a Value>,
}

impl<'a> Walk<'a> {
    /// Walks `node`, at `steps` along the value from `target`, recording each way back to it.
    fn back_to(
        &mut self,
        node: &'a Value,
        target: &'a Value,
        steps: &mut Vec<String>,
        on_the_way: &mut HashSet<usize>,
        ways: &mut HashMap<Vec<String>, usize>,
    ) {
        self.visited += 1;
        if self.visited > MOST_VISITED {
            return;
        }
        match node {
            Value::Object(map) => {
                // `then` and `else`: one of the two applies to a value, never both (bb79 F8:
                // a recursion under each was counted twice).
                let mut then_ways = HashMap::new();
                let mut else_ways = HashMap::new();
                for (branch, into) in [("then", &mut then_ways), ("else", &mut else_ways)] {
                    if let Some(child) = map.get(branch) {
                        self.back_to(child, target, steps, on_the_way, into);
                    }
                }
                for (path, then) in &then_ways {
                    *ways.entry(path.clone()).or_default() +=
                        (*then).max(else_ways.get(path).copied().unwrap_or(0));
                }
                for (path, only_else) in
                    else_ways.into_iter().filter(|(path, _)| !then_ways.contains_key(path))
                {
                    *ways.entry(path).or_default() += only_else;
                }
                for (keyword, child) in map {
                    match (keyword.as_str(), child) {
                        ("then" | "else", _) => {}
                        ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(reference)) => {
                            let Some(next) = self.target(reference) else { continue };
                            if std::ptr::eq(next, target) {
                                *ways.entry(steps.clone()).or_default() += 1;
                            } else if on_the_way.insert(std::ptr::from_ref(next) as usize) {
                                self.back_to(next, target, steps, on_the_way, ways);
                                on_the_way.remove(&(std::ptr::from_ref(next) as usize));
                            }
                        }
                        (keyword, _) if NOT_APPLIED.contains(&keyword) => {}
                        ("properties" | "patternProperties", Value::Object(members)) => {
                            for (name, member) in members {
                                steps.push(format!("{keyword}/{name}"));
                                self.back_to(member, target, steps, on_the_way, ways);
                                steps.pop();
                            }
                        }
                        ("prefixItems", Value::Array(items)) | ("items", Value::Array(items)) => {
                            for (index, item) in items.iter().enumerate() {
                                steps.push(format!("item {index}"));
                                self.back_to(item, target, steps, on_the_way, ways);
                                steps.pop();
                            }
                        }
                        // Each of these checks every item, or every other member: `contains`
                        // goes over the same items as `items`.
                        ("items" | "additionalItems" | "unevaluatedItems" | "contains", _) => {
                            self.along(child, "items", target, steps, on_the_way, ways);
                        }
                        ("additionalProperties" | "unevaluatedProperties", _) => {
                            self.along(child, "other members", target, steps, on_the_way, ways);
                        }
                        ("propertyNames", _) => self.along(child, "names", target, steps, on_the_way, ways),
                        // allOf, anyOf, oneOf, not, if/then/else, dependentSchemas: this value.
                        _ => self.back_to(child, target, steps, on_the_way, ways),
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.back_to(item, target, steps, on_the_way, ways);
                }
            }
            _ => {}
        }
    }

    fn along(
        &mut self,
        node: &'a Value,
        step: &str,
        target: &'a Value,
        steps: &mut Vec<String>,
        on_the_way: &mut HashSet<usize>,
        ways: &mut HashMap<Vec<String>, usize>,
    ) {
        steps.push(step.to_owned());
        self.back_to(node, target, steps, on_the_way, ways);
        steps.pop();
    }

    fn target(&self, reference: &str) -> Option<&'a Value> {
        super::fan_out::target_in(self.root, &self.anchors, reference)
    }
}

/// Every `$ref` (and its dynamic kin) written in `node`, in document order.
fn collect_references<'a>(node: &'a Value, references: &mut Vec<&'a str>) {
    match node {
        Value::Object(map) => {
            for (keyword, child) in map {
                match (keyword.as_str(), child) {
                    ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(reference)) => {
                        references.push(reference);
                    }
                    _ => collect_references(child, references),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, references)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// bb77 F2's schema: bookmarks, a tree of two kinds of node.
    fn two_kinds_of_node() -> Value {
        json!({"$defs": {"node": {"oneOf": [
            {"type": "object", "properties": {"kind": {"const": "folder"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}},
            {"type": "object", "properties": {"kind": {"const": "smart"}, "query": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        ]}}, "type": "object", "properties": {"bookmarks": {"$ref": "#/$defs/node"}}})
    }

    #[test]
    fn a_definition_reached_back_twice_for_the_same_value_is_found() {
        assert_eq!(
            branching_recursion(&two_kinds_of_node()),
            Some(Branching { reference: "#/$defs/node".into(), ways: 2 })
        );
        // `items` and `contains` go over the same items.
        let both = json!({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}, "contains": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"});
        assert_eq!(branching_recursion(&both).map(|b| b.ways), Some(2));
        // Through another definition, and to the root.
        let via = json!({"anyOf": [{"$ref": "#/$defs/a"}, {"properties": {"c": {"$ref": "#"}}}], "$defs": {"a": {"properties": {"c": {"$ref": "#"}}}}});
        assert_eq!(branching_recursion(&via).map(|b| b.ways), Some(2));
    }

    #[test]
    fn recursion_along_different_values_or_once_a_level_is_fine() {
        for schema in [
            // One kind of node: each level checked once.
            json!({"$defs": {"node": {"type": "object", "properties": {"children": {"items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"}),
            // A binary tree: left and right are different values.
            json!({"$defs": {"t": {"properties": {"left": {"$ref": "#/$defs/t"}, "right": {"$ref": "#/$defs/t"}}}}, "$ref": "#/$defs/t"}),
            // The kinds told apart beside one `children`: the usual way to write two kinds.
            json!({"$defs": {"node": {"type": "object", "properties": {"children": {"items": {"$ref": "#/$defs/node"}}},
                "oneOf": [{"properties": {"kind": {"const": "folder"}}}, {"properties": {"kind": {"const": "smart"}}}]}}, "$ref": "#/$defs/node"}),
            // Nullable children, and definitions that do not recurse at all.
            json!({"$defs": {"n": {"properties": {"c": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}}}, "s": {"type": "string"}},
                "properties": {"a": {"$ref": "#/$defs/s"}, "b": {"$ref": "#/$defs/s"}, "n": {"$ref": "#/$defs/n"}}}),
            json!({"$ref": "#"}),
            // One of `then` and `else` applies, never both (bb79 F8).
            json!({"$defs": {"n": {"if": {"required": ["kind"]},
                "then": {"properties": {"children": {"items": {"$ref": "#/$defs/n"}}}},
                "else": {"properties": {"children": {"items": {"$ref": "#/$defs/n"}}}}}}, "$ref": "#/$defs/n"}),
        ] {
            assert_eq!(branching_recursion(&schema), None, "{schema}");
        }
    }

    /// bb79 F1: the node named by its `$id` (a URN, an absolute URL, a relative one) passed.
    #[test]
    fn a_definition_named_by_its_id_is_followed() {
        for (id, reference) in [
            ("urn:x:node", "urn:x:node"),
            ("https://example.com/node.json", "https://example.com/node.json"),
            ("node.json", "node.json"),
            ("node.json", "https://example.com/node.json"),
        ] {
            let schema = json!({"$id": "https://example.com/root.json", "$defs": {"node": {"$id": id, "oneOf": [
                {"properties": {"children": {"items": {"$ref": reference}}}},
                {"properties": {"k": {"const": 1}, "children": {"items": {"$ref": reference}}}}
            ]}}, "properties": {"bookmarks": {"$ref": reference}}});
            assert_eq!(branching_recursion(&schema).map(|b| b.ways), Some(2), "{id} {reference}");
        }
    }
}
