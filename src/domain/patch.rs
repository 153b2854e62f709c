//! A bulk edit: an RFC 6902 JSON Patch applied to one user's customData at a time, through
//! the rules every save follows (size, depth, an object; the deployment's schema; the
//! secrets lint), and the report of what it would do or did: how many users it went over,
//! changed and could not change (grouped by why), with the first changed users' documents
//! kept for a diff.

use std::fmt;

use json_patch::{AddOperation, PatchErrorKind, PatchOperation};
use serde_json::{Number, Value};

use super::custom_data::{CustomData, Limits, NotAnObject, ValidationError, parse_object, parse_value};
use super::diff::in_key_order_of;
use super::scan::{self, ScanFinding};
use super::secrets::{self, SecretFinding, find_secrets};
use super::shape::{Shape, Violation};
use super::user::json_type_name;

mod report;
pub use report::{
    ChangedUser, FailureGroup, PatchReport, changed_fingerprint, reviewed_user_fingerprint, users,
};

/// Why a patch file is refused before any user is read (exit code 4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchFileError {
    #[error("the patch is not JSON: {0}")]
    NotJson(String),
    #[error("the patch must be a JSON array of operations (RFC 6902), not {0}")]
    NotAnArray(&'static str),
    #[error("the patch has no operations: nothing to do")]
    Empty,
    #[error("operation {index} of the patch is not an RFC 6902 operation: {reason}")]
    BadOperation { index: usize, reason: String },
    #[error("line {line}, col {column}: duplicate key \"{key}\" in {path}; JSON keeps only one of them")]
    DuplicateKey { key: String, path: String, line: usize, column: usize },
    #[error(
        "operation {index} ({op} {path:?}): its value is {size} compact, more than the {limit} a whole customData may hold: no user could take it"
    )]
    ValueTooLarge { index: usize, op: &'static str, path: String, size: String, limit: String },
}

/// A parsed JSON Patch.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPatch {
    operations: Vec<PatchOperation>,
}

impl JsonPatch {
    /// Parses a patch: an array of operations, each `add`, `remove`, `replace`, `move`, `copy`
    /// or `test` with a JSON Pointer path (`~0` is `~`, `~1` is `/`; any other `~` is refused).
    pub fn parse(text: &str) -> Result<Self, PatchFileError> {
        // Two "path"s (or "value"s) in one operation: which one counts is not the operator's
        // to guess, as in every other input. (Depth is serde_json's to refuse.)
        if text.starts_with('\u{feff}') {
            return Err(PatchFileError::NotJson(crate::domain::ValidationError::ByteOrderMark.to_string()));
        }
        if let Some(ScanFinding::DuplicateKey { key, path, at }) = scan::scan(text, usize::MAX) {
            return Err(PatchFileError::DuplicateKey { key, path, line: at.line, column: at.column });
        }
        // Numbers keep their text (`1E5`, `-0`, an integer past 64 bits), as in every document.
        let value = parse_value(text)
            .map_err(|e| PatchFileError::NotJson(crate::domain::custom_data::syntax_message(text, &e)))?;
        let Value::Array(items) = value else {
            return Err(PatchFileError::NotAnArray(json_type_name(&value)));
        };
        if items.is_empty() {
            return Err(PatchFileError::Empty);
        }
        let operations = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let Value::Object(mut fields) = item else {
                    return Err(PatchFileError::BadOperation {
                        index,
                        reason: format!(
                            "{} instead of an object with \"op\" and \"path\"",
                            json_type_name(&item)
                        ),
                    });
                };
                for field in ["path", "from"] {
                    if let Some(Value::String(pointer)) = fields.get(field)
                        && let Some(problem) = pointer_problem(pointer)
                    {
                        return Err(PatchFileError::BadOperation {
                            index,
                            reason: format!("{field} {pointer:?}: {problem}"),
                        });
                    }
                }
                // serde reading the value itself would spell its numbers its own way (and
                // refuse an integer past 64 bits): it reads a null in its place, and the
                // value goes into the operation as it was parsed.
                let value = fields.get_mut("value").map(std::mem::take);
                let mut operation = serde_json::from_value::<PatchOperation>(Value::Object(fields))
                    .map_err(|e| PatchFileError::BadOperation { index, reason: e.to_string() })?;
                if let Some(value) = &value {
                    // Refused once here, not after trying every user (a 15 MB value over a
                    // million users took hours to say each one was over the limit: bb25 P03).
                    let size = compact_size(value, usize::MAX).unwrap_or(usize::MAX);
                    let limit = Limits::default().max_bytes;
                    if size > limit {
                        let (size, limit) = super::custom_data::human_bytes_apart(size, limit);
                        let (op, path) = (op_name(&operation), op_path(&operation).to_owned());
                        return Err(PatchFileError::ValueTooLarge { index, op, path, size, limit });
                    }
                }
                if let Some(value) = value {
                    match &mut operation {
                        PatchOperation::Add(op) => op.value = value,
                        PatchOperation::Replace(op) => op.value = value,
                        PatchOperation::Test(op) => op.value = value,
                        PatchOperation::Remove(_) | PatchOperation::Move(_) | PatchOperation::Copy(_) => {}
                    }
                }
                Ok(operation)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { operations })
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// What is wrong with a JSON Pointer (RFC 6901), in words: `None` when it is one.
fn pointer_problem(pointer: &str) -> Option<String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Some("a JSON Pointer starts with \"/\" (or is \"\" for the whole document)".into());
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some("\"~\" must be followed by 0 (for ~) or 1 (for /)".into());
        }
    }
    None
}

/// How many times the document limit a document may take between two operations of a patch.
const INTERIM_ROOM: usize = 4;

fn op_name(operation: &PatchOperation) -> &'static str {
    match operation {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    }
}

/// The path an operation writes (or tests) at.
fn op_path(operation: &PatchOperation) -> &str {
    match operation {
        PatchOperation::Add(op) => op.path.as_str(),
        PatchOperation::Remove(op) => op.path.as_str(),
        PatchOperation::Replace(op) => op.path.as_str(),
        PatchOperation::Move(op) => op.path.as_str(),
        PatchOperation::Copy(op) => op.path.as_str(),
        PatchOperation::Test(op) => op.path.as_str(),
    }
}

/// Applies the operations in order, or says which one failed and why. No undo is kept: the
/// caller drops a document the patch failed on. `test` compares as RFC 6902 says, numbers by
/// value (`2`, `2.0` and `20e-1` are equal), which json-patch's text comparison does not.
///
/// A `copy` can double the document (`copy` of `""` into it, twenty times: 600 bytes of patch
/// took 4 GB and aborted: bb25 P06), so after each one the document must still
/// fit in `room` bytes compact — counted only up to there.
fn apply_operations(value: &mut Value, operations: &[PatchOperation], room: usize) -> Result<(), String> {
    for (index, operation) in operations.iter().enumerate() {
        let failed = |path: &str, kind: PatchErrorKind| {
            format!("operation {index} ({} {path:?}): {kind}", op_name(operation))
        };
        match operation {
            // serde_json's `Map::remove` moves an object's last key into the gap: json-patch's
            // remove and move would reorder the keys they leave. These keep the order.
            PatchOperation::Remove(remove) => {
                take_out(value, remove.path.as_str()).map_err(|kind| failed(remove.path.as_str(), kind))?;
            }
            PatchOperation::Move(shift) => {
                let (from, path) = (shift.from.as_str(), shift.path.as_str());
                if path.strip_prefix(from).is_some_and(|below| below.starts_with('/')) {
                    return Err(failed(path, PatchErrorKind::CannotMoveInsideItself));
                }
                if from == path {
                    // Moving a value onto itself leaves it where it is (it must be there).
                    value.pointer(from).ok_or_else(|| failed(path, PatchErrorKind::InvalidFromPointer))?;
                    continue;
                }
                let moved =
                    take_out(value, from).map_err(|_| failed(path, PatchErrorKind::InvalidFromPointer))?;
                let add = PatchOperation::Add(AddOperation { path: shift.path.clone(), value: moved });
                json_patch::patch_unsafe(value, std::slice::from_ref(&add))
                    .map_err(|e| failed(e.path.as_str(), e.kind))?;
            }
            PatchOperation::Test(test) => match value.pointer(test.path.as_str()) {
                None => return Err(failed(test.path.as_str(), PatchErrorKind::InvalidPointer)),
                Some(found) if !equal_values(found, &test.value) => {
                    return Err(failed(test.path.as_str(), PatchErrorKind::TestFailed));
                }
                Some(_) => {}
            },
            _ => json_patch::patch_unsafe(value, std::slice::from_ref(operation))
                .map_err(|e| failed(e.path.as_str(), e.kind))?,
        }
        if let PatchOperation::Copy(copy) = operation
            && !fits_compact(value, room)
        {
            let limit = super::custom_data::human_bytes(room);
            return Err(format!(
                "operation {index} (copy {:?}): the document grew past {limit} compact; no document this large can be saved",
                copy.path.as_str()
            ));
        }
    }
    Ok(())
}

/// Whether `value` written compact takes at most `room` bytes.
fn fits_compact(value: &Value, room: usize) -> bool {
    compact_size(value, room).is_some()
}

/// The bytes `value` takes written compact, `None` past `room`: counted as it is written, never
/// held, and no further than `room` (a value doubled by twenty copies costs no more than that).
fn compact_size(value: &Value, room: usize) -> Option<usize> {
    struct Counter {
        written: usize,
        room: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.written = self.written.saturating_add(bytes.len());
            if self.written > self.room {
                return Err(std::io::Error::other("over the room"));
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { written: 0, room };
    serde_json::to_writer(&mut counter, value).ok().map(|()| counter.written)
}

/// The value at `pointer` taken out of `doc` (RFC 6902 `remove`): an object keeps its other
/// keys in their order; an array index is digits without a leading zero, and `-` names no
/// element.
fn take_out(doc: &mut Value, pointer: &str) -> Result<Value, PatchErrorKind> {
    let (parent, last) = pointer.rsplit_once('/').ok_or(PatchErrorKind::InvalidPointer)?;
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map.shift_remove(&last).ok_or(PatchErrorKind::InvalidPointer),
        Some(Value::Array(items)) => {
            // Digits only (`parse` alone takes `+1`); "" fails the parse.
            let digits = last.bytes().all(|b| b.is_ascii_digit());
            let index = (digits && (last == "0" || !last.starts_with('0')))
                .then(|| last.parse::<usize>().ok())
                .flatten()
                .filter(|i| *i < items.len())
                .ok_or(PatchErrorKind::InvalidPointer)?;
            Ok(items.remove(index))
        }
        _ => Err(PatchErrorKind::InvalidPointer),
    }
}

/// JSON equality as RFC 6902's `test` defines it: numbers by their value, objects whatever
/// their key order, everything else exactly.
pub fn equal_values(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => equal_numbers(a, b),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal_values(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, a)| b.get(key).is_some_and(|b| equal_values(a, b)))
        }
        _ => a == b,
    }
}

fn equal_numbers(a: &Number, b: &Number) -> bool {
    decimal(&a.to_string()) == decimal(&b.to_string())
}

/// A JSON number's value as (negative, significant digits, power of ten written as canonical
/// decimal text): `-12.30e1` is (true, "123", "0"). Zero is one value whatever its sign or
/// spelling. The power is exact however long the exponent: `1e99999999999999999999` and
/// `10e99999999999999999998` are one number (bb60 F3: compared as text past 64 bits).
fn decimal(text: &str) -> (bool, String, String) {
    let (negative, unsigned) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    let significant = digits.trim_end_matches('0');
    let trailing_zeros = digits.len() - significant.len();
    let significant = significant.trim_start_matches('0');
    if significant.is_empty() {
        return (false, String::new(), "0".to_owned());
    }
    // Lengths of one number's text: far inside i128.
    let shift = trailing_zeros as i128 - fraction.len() as i128;
    (negative, significant.to_owned(), shifted_exponent(exponent, shift))
}

/// `exponent` (JSON's: a sign, then digits) plus `shift`, as canonical decimal text.
fn shifted_exponent(exponent: &str, shift: i128) -> String {
    let (negative, digits) = match exponent.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, exponent.strip_prefix('+').unwrap_or(exponent)),
    };
    let digits = digits.trim_start_matches('0');
    if digits.len() <= 36 {
        let magnitude: i128 = if digits.is_empty() { 0 } else { digits.parse().unwrap_or(i128::MAX) };
        let value = if negative { -magnitude } else { magnitude };
        return (value + shift).to_string();
    }
    // At least 10^36: a shift (no longer than a number's text) cannot reach its sign; its
    // magnitude moves by the shift's, up when the two have the same sign, else down.
    let mut reversed: Vec<u8> = digits.bytes().rev().map(|b| b - b'0').collect();
    let mut rest = shift.unsigned_abs();
    let down = negative != (shift < 0);
    let mut carry = 0_i16;
    for digit in &mut reversed {
        if rest == 0 && carry == 0 {
            break;
        }
        let part = (rest % 10) as i16;
        rest /= 10;
        let mut sum = i16::from(*digit) + carry + if down { -part } else { part };
        carry = 0;
        if sum < 0 {
            sum += 10;
            carry = -1;
        } else if sum > 9 {
            sum -= 10;
            carry = 1;
        }
        *digit = sum as u8;
    }
    if carry == 1 {
        reversed.push(1);
    }
    while reversed.last() == Some(&0) {
        reversed.pop();
    }
    let sign = if negative { "-" } else { "" };
    sign.chars().chain(reversed.iter().rev().map(|d| char::from(b'0' + d))).collect()
}

/// What a batch holds each patched document to, besides the JSON rules.
#[derive(Debug, Clone, Copy)]
pub struct PatchRules<'a> {
    pub limits: Limits,
    /// The deployment's JSON Schema, compiled once for the whole batch.
    pub shape: Option<&'a Shape>,
    /// Store a document the secrets lint flags (with a warning) instead of leaving the user.
    pub allow_sensitive: bool,
    /// Whether the store keeps a document's key order ([`crate::store::KeyOrder`]). Where it
    /// does not (PostgreSQL's jsonb), the result is put in the stored document's key order:
    /// a patch that only reorders keys changes nothing, and a diff shows changed values only.
    pub key_order_kept: bool,
}

/// What the patch does to one user.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOutcome {
    /// It applies and changes nothing (a `test`-only patch, a value already set).
    Unchanged,
    /// The new document, and what the secrets lint flagged in it (only with `allow_sensitive`).
    Changed { data: CustomData, flagged: Vec<SecretFinding> },
    /// It cannot apply, or its result breaks a rule: the user is left as is.
    Failed(Failure),
}

/// Why a patch leaves a user as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The whole reason, with this user's own values in it (a size, the value a schema
    /// refuses, the keys that look like secrets).
    pub reason: String,
    /// The rule broken, the same for every user breaking it: failures group by it (grouped
    /// by their reasons, one schema rule broken with twenty values made twenty groups and
    /// pushed the rest into "other reasons": bb25 P07).
    pub rule: String,
}

impl Failure {
    /// A failure whose reason holds no value of the user's own: it is its rule.
    fn plain(reason: String) -> Self {
        Self { rule: reason.clone(), reason }
    }

    fn of_rule(rule: impl Into<String>, reason: String) -> Self {
        Self { rule: rule.into(), reason }
    }
}

impl From<&str> for Failure {
    fn from(reason: &str) -> Self {
        Self::plain(reason.to_owned())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The error a patched document is named by: the first one the stored document did not have
/// already (the patch's own), else the first. A dry run over users who already broke the
/// schema named their old error alone, and read as "the data is bad, the patch is fine"
/// (bb28 R06).
fn patchs_own_violation<'a>(
    shape: &Shape,
    stored: &str,
    violations: &'a [Violation],
) -> Option<&'a Violation> {
    let first = violations.first()?;
    if violations.len() == 1 {
        return Some(first);
    }
    let before = match parse_object(stored) {
        Ok(old) => shape.violations(stored, &Value::Object(old)),
        Err(_) => Vec::new(),
    };
    let had = |v: &Violation| before.iter().any(|b| b.path == v.path && b.rule == v.rule);
    Some(violations.iter().find(|v| !had(v)).unwrap_or(first))
}

impl JsonPatch {
    /// Applies the patch to a stored document (compact or canonical text).
    pub fn apply(&self, stored: &str, rules: &PatchRules) -> PatchOutcome {
        let Ok(old) = parse_object(stored) else {
            return PatchOutcome::Failed(Failure::plain(NotAnObject::in_text(stored).to_string()));
        };
        // Made before the patch takes the document (no copy of it is kept but the one the
        // stored key order needs).
        let old_text = serde_json::to_string(&old).ok();
        let stored_order = (!rules.key_order_kept).then(|| old.clone());
        let mut value = Value::Object(old);
        // Room for a document on its way through the patch: some over the limit (a copy
        // before a remove), never without bound.
        let room = rules.limits.max_bytes.saturating_mul(INTERIM_ROOM);
        if let Err(reason) = apply_operations(&mut value, &self.operations, room) {
            return PatchOutcome::Failed(Failure::plain(reason));
        }
        let value = match (value, stored_order) {
            (Value::Object(new), Some(stored)) => Value::Object(in_key_order_of(&stored, &new)),
            (Value::Object(new), None) => Value::Object(new),
            (other, _) => {
                return PatchOutcome::Failed(Failure::plain(format!(
                    "the result is {}; customData must be a JSON object",
                    json_type_name(&other)
                )));
            }
        };
        // The store keeps the compact text and compares it: so does this (a reordering is a
        // change where the store keeps the order, and was undone above where it does not).
        if serde_json::to_string(&value).ok() == old_text {
            return PatchOutcome::Unchanged;
        }
        let data = match CustomData::from_value(value, &rules.limits) {
            Ok(data) => data,
            Err(e) => {
                let reason = format!("the result is not valid customData: {}", e.reason());
                // A size and where a NUL is are the user's own; the rest is the rule.
                return PatchOutcome::Failed(match e {
                    ValidationError::TooLarge { limit, .. } => {
                        Failure::of_rule(format!("the result is over the {limit}-byte limit"), reason)
                    }
                    ValidationError::NulCharacter { .. } => {
                        Failure::of_rule("the result holds \\u0000", reason)
                    }
                    _ => Failure::plain(reason),
                });
            }
        };
        if let Some(shape) = rules.shape {
            let document = Value::Object(data.as_object().clone());
            if !shape.is_valid(&document) {
                let violations = shape.violations(data.canonical(), &document);
                if let Some(shown) = patchs_own_violation(shape, stored, &violations) {
                    let more = match violations.len() - 1 {
                        0 => String::new(),
                        1 => " (and 1 more error)".to_owned(),
                        n => format!(" (and {n} more errors)"),
                    };
                    return PatchOutcome::Failed(Failure::of_rule(
                        format!("the schema's rule at {}", shown.rule),
                        format!("the result does not satisfy the schema: {}{more}", shown.short()),
                    ));
                }
            }
        }
        let flagged = find_secrets(data.as_object());
        if !flagged.is_empty() && !rules.allow_sensitive {
            let places: Vec<&str> = flagged.iter().map(|f| f.path.as_str()).collect();
            return PatchOutcome::Failed(Failure::of_rule(
                "the secrets lint",
                format!(
                    "the result looks like it holds secrets at {} (customData reaches front ends; --allow-sensitive stores it)",
                    secrets::summary(&places, 3)
                ),
            ));
        }
        PatchOutcome::Changed { data, flagged }
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
