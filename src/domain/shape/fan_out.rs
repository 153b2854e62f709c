//! How many subschemas a value can be checked against once every `$ref` is followed. A schema
//! of 3 KB whose definitions each refer twice to the next (`a0` → two `a1` → four `a2` …) is
//! 2^40 checks of one value: it compiles at once, and every write held to it would spin
//! forever. Counted when a schema is compiled, before the validator is built, in one walk
//! (each definition's count is kept), so such a schema is refused with the reason instead.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// The most subschemas a schema may expand to. Real customData schemas expand to hundreds or
/// thousands; a million checks of one value still take well under a second.
pub(super) const MOST_EXPANDED: u64 = 1_000_000;

/// Keywords whose values are data, not schemas to check a value against (definitions count
/// where they are referred to).
const NOT_SCHEMAS: &[&str] = &["enum", "const", "default", "examples", "$defs", "definitions", "required"];

/// The subschemas `schema` expands to with each `$ref` to a place in this document followed
/// (a `$ref` already being followed counts once: a cycle's next turn checks a deeper part of
/// the document, which the document's depth limit bounds). Stops counting past `MOST_EXPANDED`.
/// References to other documents or by `$id` are not followed (nothing is fetched, and the
/// validator refuses those it cannot resolve).
pub(super) fn expanded_size(schema: &Value) -> u64 {
    let mut anchors = HashMap::new();
    collect_anchors(schema, &mut anchors);
    let mut walk = Walk { root: schema, anchors, counted: HashMap::new(), following: HashSet::new() };
    walk.size(schema)
}

struct Walk<'a> {
    root: &'a Value,
    anchors: HashMap<&'a str, &'a Value>,
    /// Each subschema's count, by its address: a definition referred to a thousand times is
    /// walked once.
    counted: HashMap<usize, u64>,
    following: HashSet<usize>,
}

impl<'a> Walk<'a> {
    fn size(&mut self, node: &'a Value) -> u64 {
        let address = std::ptr::from_ref(node) as usize;
        if let Some(count) = self.counted.get(&address) {
            return *count;
        }
        if !self.following.insert(address) {
            return 1;
        }
        let mut total: u64 = 1;
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    if total > MOST_EXPANDED {
                        break;
                    }
                    let size = match (key.as_str(), child) {
                        ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(reference)) => {
                            self.target(reference).map_or(1, |target| self.size(target))
                        }
                        (keyword, _) if NOT_SCHEMAS.contains(&keyword) => 0,
                        _ => self.size(child),
                    };
                    total = total.saturating_add(size);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if total > MOST_EXPANDED {
                        break;
                    }
                    total = total.saturating_add(self.size(item));
                }
            }
            _ => {}
        }
        self.following.remove(&address);
        self.counted.insert(address, total);
        total
    }

    fn target(&self, reference: &str) -> Option<&'a Value> {
        target_in(self.root, &self.anchors, reference)
    }
}

/// The subschema a reference within the document `root` names: `#`, `#/json/pointer` or
/// `#anchor` (`anchors` as [`collect_anchors`] finds them).
pub(super) fn target_in<'a>(
    root: &'a Value,
    anchors: &HashMap<&'a str, &'a Value>,
    reference: &str,
) -> Option<&'a Value> {
    let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    // A subschema named by its `$id` (`urn:x:node`, `https://…/node.json`, `node.json`), as
    // the validator resolves it within the document: the guards did not follow those, and a
    // schema refused by its pointer was taken by its id (bb79 F1).
    let document = if base.is_empty() { root } else { by_id(anchors, base)? };
    if fragment.is_empty() {
        return Some(document);
    }
    if !fragment.starts_with('/') {
        return anchors.get(fragment).copied();
    }
    let decoded = percent_decoded(fragment)?;
    document.pointer(&decoded)
}

/// The subschema whose `$id` is `base`, written whole or relative to the same place
/// (`https://x/node.json` and `node.json` name the same one).
fn by_id<'a>(ids: &HashMap<&'a str, &'a Value>, base: &str) -> Option<&'a Value> {
    if let Some(found) = ids.get(base) {
        return Some(found);
    }
    let base = base.trim_end_matches('/');
    ids.iter().find_map(|(id, node)| {
        let id = id.trim_end_matches('#').trim_end_matches('/');
        let same = !id.is_empty() && (base.ends_with(&format!("/{id}")) || id.ends_with(&format!("/{base}")));
        same.then_some(*node)
    })
}

pub(super) fn collect_anchors<'a>(node: &'a Value, anchors: &mut HashMap<&'a str, &'a Value>) {
    match node {
        Value::Object(map) => {
            for keyword in ["$anchor", "$dynamicAnchor"] {
                if let Some(Value::String(name)) = map.get(keyword) {
                    anchors.entry(name.as_str()).or_insert(node);
                }
            }
            // An `$id` names its subschema too (without a trailing `#`, as references
            // write it).
            if let Some(Value::String(id)) = map.get("$id") {
                anchors.entry(id.trim_end_matches('#')).or_insert(node);
            }
            map.values().for_each(|child| collect_anchors(child, anchors));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_anchors(item, anchors)),
        _ => {}
    }
}

/// A URI fragment's `%XX` escapes decoded (a pointer's `~0`/`~1` are left to `pointer`).
fn percent_decoded(fragment: &str) -> Option<String> {
    if !fragment.contains('%') {
        return Some(fragment.to_owned());
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `a0` … `aN`, each referring `fan` times to the next; the last is `{"type":"string"}`.
    fn chain(levels: usize, fan: usize, applicator: &str) -> Value {
        let mut defs = serde_json::Map::new();
        for level in 0..levels {
            let next = json!({ "$ref": format!("#/$defs/a{}", level + 1) });
            defs.insert(format!("a{level}"), json!({ applicator: vec![next; fan] }));
        }
        defs.insert(format!("a{levels}"), json!({ "type": "string" }));
        json!({ "$defs": defs, "$ref": "#/$defs/a0" })
    }

    #[test]
    fn references_that_fan_out_are_counted_as_followed_and_stop_past_the_most() {
        // One reference a level: a line, each level its object, its array and its reference.
        let line = expanded_size(&chain(40, 1, "allOf"));
        assert!((80..200).contains(&line), "{line}");
        // Two a level: 2^40 checks of one value, counted only until past the most.
        let bomb = expanded_size(&chain(40, 2, "anyOf"));
        assert!(bomb > MOST_EXPANDED, "{bomb}");
        // Ten levels of two: about 2^10 times the level's few nodes, well under it.
        let small = expanded_size(&chain(10, 2, "allOf"));
        assert!((2_000..20_000).contains(&small), "{small}");
    }

    #[test]
    fn a_definition_referred_to_many_times_from_one_place_each_counts_each_time() {
        let item = json!({ "type": "object", "properties": { "x": { "type": "integer" } } });
        let refs: Vec<Value> = (0..1000).map(|_| json!({ "$ref": "#/$defs/item" })).collect();
        let schema = json!({ "$defs": { "item": item }, "allOf": refs });
        let size = expanded_size(&schema);
        // Each of the thousand references is the definition's six nodes again.
        assert!((6_000..8_000).contains(&size), "{size}");
    }

    #[test]
    fn a_cycle_counts_its_reference_once_and_ends() {
        let tree = json!({
            "$defs": { "node": { "type": "object", "properties": {
                "children": { "type": "array", "items": { "$ref": "#/$defs/node" } },
                "left": { "$ref": "#/$defs/node" }, "right": { "$ref": "#" } } } },
            "$ref": "#/$defs/node"
        });
        assert!(expanded_size(&tree) < 100);
    }

    #[test]
    fn anchors_escaped_pointers_and_the_root_are_followed_and_data_keywords_are_not() {
        let fan = |reference: &str, def: Value| {
            let refs = vec![json!({ "$ref": reference }); 1000];
            expanded_size(&json!({ "$defs": { "a/b%c": def.clone(), "x": def }, "allOf": refs }))
        };
        let big = json!({ "$anchor": "big", "enum": vec![1; 5000], "properties": {
            "p": { "allOf": vec![json!({ "type": "string" }); 50] } } });
        for reference in ["#big", "#/$defs/a~1b%25c", "#/$defs/x"] {
            let size = fan(reference, big.clone());
            assert!(size > 100_000, "{reference}: {size}");
            assert!(size < MOST_EXPANDED, "{reference}: the enum's values are data: {size}");
        }
        // A reference that names nothing here, or another document, counts once.
        assert!(fan("#/$defs/none", big.clone()) < 3_000);
        assert!(fan("other.json#/x", big) < 3_000);
        assert_eq!(percent_decoded("/a%2"), None);
        assert_eq!(percent_decoded("/a%zz"), None);
        assert_eq!(percent_decoded("/a%41b").as_deref(), Some("/aAb"));
    }
}
