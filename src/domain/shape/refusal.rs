//! Schemas no customData can satisfy: customData is always a JSON object, so a schema whose top
//! level refuses every object refuses every save of every user. Only what is certain is named.

use serde_json::Value;

use super::at_most_shown;
use crate::domain::user::json_type_name;

/// Why `schema` certainly refuses every object at its top level, if it does: `false`; a
/// `type` without `"object"`; an `enum` with no object, a `const` that is none; `not` of a
/// schema that takes anything; an `allOf` with such a member, an `anyOf` or `oneOf` of only
/// such members. What needs reasoning about values (`required` of a property that is `false`,
/// `minProperties` over `maxProperties`, a `$ref`) is not looked into: the refusal is never
/// a guess. Draft 7 and older ignore every keyword beside a `$ref`, so there it judges none.
pub(super) fn refuses_every_object(schema: &Value) -> Option<String> {
    let old_draft = schema.get("$schema").and_then(Value::as_str).is_some_and(|uri| uri.contains("draft-0"));
    refusal(schema, old_draft)
}

fn refusal(schema: &Value, old_draft: bool) -> Option<String> {
    let members = match schema {
        Value::Bool(false) => return Some("it is `false`".to_owned()),
        Value::Object(members) => members,
        _ => return None,
    };
    if old_draft && members.contains_key("$ref") {
        return None;
    }
    if let Some(kind) = members.get("type") {
        let takes_objects = match kind {
            Value::String(name) => name == "object",
            Value::Array(names) => names.iter().any(|name| name == "object"),
            _ => true,
        };
        if !takes_objects {
            return Some(format!("\"type\": {}", at_most_shown(kind.to_string())));
        }
    }
    if let Some(Value::Array(options)) = members.get("enum")
        && !options.iter().any(Value::is_object)
    {
        return Some(format!("\"enum\" has no object among its {} values", options.len()));
    }
    if let Some(only) = members.get("const")
        && !only.is_object()
    {
        return Some(format!("\"const\" is {}", json_type_name(only)));
    }
    if let Some(negated) = members.get("not")
        && takes_anything(negated)
    {
        return Some(format!("\"not\": {}", at_most_shown(negated.to_string())));
    }
    let branches = |name: &str| members.get(name).and_then(Value::as_array).filter(|all| !all.is_empty());
    if let Some(all) = branches("allOf")
        && let Some((at, why)) = all.iter().enumerate().find_map(|(at, s)| Some((at, refusal(s, old_draft)?)))
    {
        return Some(format!("allOf[{at}]: {why}"));
    }
    for name in ["anyOf", "oneOf"] {
        if let Some(all) = branches(name)
            && all.iter().all(|s| refusal(s, old_draft).is_some())
        {
            return Some(format!("every member of \"{name}\" refuses it"));
        }
    }
    None
}

/// `true`, `{}`, or an object of annotations only: a schema every value satisfies.
fn takes_anything(schema: &Value) -> bool {
    const ANNOTATIONS: &[&str] =
        &["$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"];
    match schema {
        Value::Bool(taken) => *taken,
        Value::Object(members) => members.keys().all(|key| ANNOTATIONS.contains(&key.as_str())),
        _ => false,
    }
}
