//! Sealed values by their path in a document (the lint's style): sealing the values at given
//! paths, and opening every sealed value of a document in place.

use serde_json::{Map, Value};
use thiserror::Error;

use super::{IV_BYTES, Key, KeySet, OpenError, could_be_ciphertext, open_if_sealed, seal};
use crate::domain::value_path::{push_index, push_key, quoted_key, shown_path};

/// One step of a path in the lint's style: `.key` or `[index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Why a path of `--seal` cannot be sealed. Paths are said cut as every message cuts them
/// (a 100 KB path made a 100 KB line: bb93 F6).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealPathError {
    /// An empty path was said as nothing at all (`: no such value`: bb77 F8).
    #[error("{}: no such value in the document", if .0.is_empty() { "the empty path \"\"".into() } else { shown_path(.0) })]
    NotFound(String),
    #[error("{}: already sealed", shown_path(.0))]
    AlreadySealed(String),
    /// Sealed over a sealed value, the inner one came out of `get --unseal` still sealed:
    /// seal the values beside it instead (bb12).
    #[error("{}: holds the sealed value {}; seal the values beside it one by one instead", shown_path(.0), shown_path(.1))]
    HoldsSealed(String, String),
    /// `{"billing": {"taxId": …}, "billing.taxId": …}`: sealing the one the longest key gives
    /// would leave the other in clear while the command said it was sealed.
    #[error(
        "{}: names more than one value (a key with a dot or a bracket in it spells the same path as a nested value): quote a key to name one of them — `[\"a.b\"].c` the key with the dot, `a[\"b\"].c` the nested value; nothing was sealed",
        shown_path(.0)
    )]
    Ambiguous(String),
    /// `--seal a a`: the second was told "already sealed", of a value the input has in clear
    /// (the paths were sealed one after another: bb14 L16).
    #[error("{}: named twice; nothing was sealed", shown_path(.0))]
    Twice(String),
    /// `--seal b b.c`: the second was told "no such value", sealed away inside the first.
    #[error("{}: is inside {}, which is named too: seal one of them; nothing was sealed", shown_path(.0), shown_path(.1))]
    Inside(String, String),
}

/// The value at `path` (`billing.taxId`, `apps[2].token`, `["a.b"].c`: the lint's format). A
/// key holding a dot or a bracket written plain is found too: at each object the longest key
/// that fits is taken.
pub fn value_at_mut<'a>(object: &'a mut Map<String, Value>, path: &str) -> Option<&'a mut Value> {
    let steps = readings(object, path, 1).pop()?;
    value_by_steps(object, &steps)
}

/// The value `steps` (one reading of a path) lead to.
fn value_by_steps<'a>(object: &'a mut Map<String, Value>, steps: &[Step]) -> Option<&'a mut Value> {
    let (Step::Key(first), rest) = steps.split_first()? else { return None };
    let mut current = object.get_mut(first)?;
    for step in rest {
        current = match step {
            Step::Key(key) => current.as_object_mut()?.get_mut(key)?,
            Step::Index(index) => current.as_array_mut()?.get_mut(*index)?,
        };
    }
    Some(current)
}

/// The ways `path` reads through `object` as steps, longest key first at each object, at most
/// `most` of them: a key holding a dot or a bracket can spell the path of a nested value
/// (read-only, so the borrow ends before writing).
fn readings(object: &Map<String, Value>, path: &str, most: usize) -> Vec<Vec<Step>> {
    let mut found = Vec::new();
    resolve(object, path, &mut Vec::new(), &mut found, most);
    found
}

/// Whether `key` begins `rest`, followed by its end, `.` or `[`.
fn fits(key: &str, rest: &str) -> bool {
    rest.strip_prefix(key).is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
}

/// Adds to `found` the steps of each reading of `rest` through `object`, until there are `most`.
fn resolve(
    object: &Map<String, Value>,
    rest: &str,
    steps: &mut Vec<Step>,
    found: &mut Vec<Vec<Step>>,
    most: usize,
) {
    // A quoted key is that key exactly.
    if let Some((key, after)) = quoted_key(rest) {
        if let Some(value) = object.get(&key) {
            steps.push(Step::Key(key));
            resolve_value(value, after, steps, found, most);
            steps.pop();
        }
        return;
    }
    let mut fitting: Vec<&String> = object.keys().filter(|key| fits(key, rest)).collect();
    fitting.sort_by_key(|key| std::cmp::Reverse(key.len()));
    for key in fitting {
        if found.len() >= most {
            return;
        }
        steps.push(Step::Key(key.clone()));
        resolve_value(&object[key.as_str()], &rest[key.len()..], steps, found, most);
        steps.pop();
    }
}

fn resolve_value(value: &Value, rest: &str, steps: &mut Vec<Step>, found: &mut Vec<Vec<Step>>, most: usize) {
    if rest.is_empty() {
        found.push(steps.clone());
        return;
    }
    if let (Some(object), true) = (value.as_object(), rest.starts_with("[\"")) {
        resolve(object, rest, steps, found, most);
        return;
    }
    if let Some(after) = rest.strip_prefix('[') {
        let item = after.split_once(']').and_then(|(digits, after)| {
            // As the lint writes an index: `[01]` and `[+1]` name no element (they were `[1]`).
            let written =
                digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
            let index: usize = digits.parse().ok().filter(|_| written)?;
            Some((index, value.as_array()?.get(index)?, after))
        });
        if let Some((index, item, after)) = item {
            steps.push(Step::Index(index));
            resolve_value(item, after, steps, found, most);
            steps.pop();
        }
        return;
    }
    if let (Some(after), Some(object)) = (rest.strip_prefix('.'), value.as_object()) {
        resolve(object, after, steps, found, most);
    }
}

/// Seals the values at `paths`, each with a fresh IV from `next_iv`. All or nothing: on an
/// error `object` may be partly sealed, so callers drop it.
pub fn seal_paths<E>(
    object: &mut Map<String, Value>,
    paths: &[String],
    key: &Key,
    mut next_iv: impl FnMut() -> Result<[u8; IV_BYTES], E>,
) -> Result<Result<(), SealPathError>, E> {
    // Judged on the document as given, before anything is sealed.
    let mut named: Vec<(&String, Vec<Step>)> = Vec::new();
    for path in paths {
        let mut found = readings(object, path, 2);
        // A path copied from a screen that marks hidden characters (`zw\u{200b}k`, `tab␉k`)
        // is read as what it shows too: it named the key that spells the marker, and sealed
        // that one while the real secret stayed in clear (bb28 R01). Both found: ambiguous.
        let shown = crate::inert::from_shown(path);
        if shown != path.as_str() {
            for reading in readings(object, &shown, 2) {
                if !found.contains(&reading) {
                    found.push(reading);
                }
            }
        }
        if found.len() > 1 {
            return Ok(Err(SealPathError::Ambiguous(path.clone())));
        }
        let Some(steps) = found.pop() else { return Ok(Err(SealPathError::NotFound(path.clone()))) };
        for (other, before) in &named {
            if *before == steps {
                return Ok(Err(SealPathError::Twice(path.clone())));
            }
            let (inner, outer) = if before.len() < steps.len() { (path, *other) } else { (*other, path) };
            if steps.starts_with(before) || before.starts_with(&steps) {
                return Ok(Err(SealPathError::Inside(inner.clone(), outer.clone())));
            }
        }
        named.push((path, steps));
    }
    // The readings found above, not the paths read again: sealing one never moves another
    // (none is inside another).
    for (path, steps) in named {
        let Some(value) = value_by_steps(object, &steps) else {
            return Ok(Err(SealPathError::NotFound(path.clone())));
        };
        // Sealed is what the secrets lint passes as ciphertext: a JWE's shape around clear text
        // (a header and dots around `hunter2`) was "already sealed" here and a secret there, so
        // neither a save nor a seal took it (bb93 F3).
        if value.as_str().is_some_and(could_be_ciphertext) {
            return Ok(Err(SealPathError::AlreadySealed(path.clone())));
        }
        if let Some(inner) = sealed_inside(value, path) {
            return Ok(Err(SealPathError::HoldsSealed(path.clone(), inner)));
        }
        *value = Value::String(seal(value, key, next_iv()?));
    }
    Ok(Ok(()))
}

/// The path of the first sealed value inside `value` (an object or an array at `path`);
/// `None` when it holds none (a sealed string itself holds none).
pub fn sealed_inside(value: &Value, path: &str) -> Option<String> {
    fn find(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(text) => could_be_ciphertext(text),
            // The path grows into each item and is cut back unless the item holds one.
            Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
                let len = push_index(path, index);
                find(item, path) || {
                    path.truncate(len);
                    false
                }
            }),
            Value::Object(object) => object.iter().any(|(key, item)| {
                let len = push_key(path, key);
                find(item, path) || {
                    path.truncate(len);
                    false
                }
            }),
            _ => false,
        }
    }
    let mut inner = path.to_owned();
    (!value.is_string() && find(value, &mut inner)).then_some(inner)
}

/// A sealed value that could not be opened, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot open {}: {error}", shown_path(path))]
pub struct CannotOpen {
    pub path: String,
    pub error: OpenError,
}

/// Opens every sealed value in `object` in place. A value sealed with a kid the key set does
/// not have stays sealed and is listed in the answer; any other failure is an error (and
/// `object` should then be dropped: some values may be open).
pub fn open_all(object: &mut Map<String, Value>, keys: &KeySet) -> Result<Vec<CannotOpen>, CannotOpen> {
    let mut left_sealed = Vec::new();
    let mut path = String::new();
    open_object(object, keys, &mut path, &mut left_sealed, 1)?;
    Ok(left_sealed)
}

/// `sits`: how many objects and arrays hold the values of `object`, itself included.
fn open_object(
    object: &mut Map<String, Value>,
    keys: &KeySet,
    path: &mut String,
    left: &mut Vec<CannotOpen>,
    sits: usize,
) -> Result<(), CannotOpen> {
    for (key, value) in object.iter_mut() {
        let len = push_key(path, key);
        open_value(value, keys, path, left, sits)?;
        path.truncate(len);
    }
    Ok(())
}

fn open_value(
    value: &mut Value,
    keys: &KeySet,
    path: &mut String,
    left: &mut Vec<CannotOpen>,
    sits: usize,
) -> Result<(), CannotOpen> {
    open_value_within(value, keys, path, left, sits, false)
}

/// `opened`: `value` is (inside) a plaintext just opened, where only what could be ciphertext
/// is a value sealed over (a JWE's shape around clear text is sealed as the text it is).
fn open_value_within(
    value: &mut Value,
    keys: &KeySet,
    path: &mut String,
    left: &mut Vec<CannotOpen>,
    sits: usize,
    opened: bool,
) -> Result<(), CannotOpen> {
    match value {
        Value::String(text) if opened && !could_be_ciphertext(text) => {}
        Value::String(text) => match open_if_sealed(text, keys) {
            None => {}
            Some(Ok(opened)) => {
                // Held to the depth a document may have where it sits, not alone (bb93 F1).
                let (depth, limit) = (
                    crate::domain::custom_data::depth_of(&opened),
                    crate::domain::Limits::default().max_depth,
                );
                if sits + depth > limit {
                    let error = OpenError::PlaintextTooDeepWhereItSits { depth, sits, limit };
                    return Err(CannotOpen { path: path.clone(), error });
                }
                *value = opened;
                // What a value sealed over a sealed one (before custodian refused that) holds
                // is opened too: every sealed value comes out open, or named.
                open_value_within(value, keys, path, left, sits, true)?;
            }
            Some(Err(error)) if error.is_foreign_key() => left.push(CannotOpen { path: path.clone(), error }),
            Some(Err(error)) => return Err(CannotOpen { path: path.clone(), error }),
        },
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                let len = push_index(path, index);
                open_value_within(item, keys, path, left, sits + 1, opened)?;
                path.truncate(len);
            }
        }
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                let len = push_key(path, key);
                open_value_within(item, keys, path, left, sits + 1, opened)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}
