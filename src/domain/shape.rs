//! The deployment's JSON Schema for customData: compiled once with the `jsonschema` crate
//! (Draft 2020-12 unless the schema's `$schema` names 2019-09 or 7), and every violation of a
//! document told with the path as the secrets lint writes it (`billing.plan`,
//! `apps[2].token`), the line and character column of the offending value in the text the
//! operator wrote, and the schema's message.

use std::fmt;

use serde_json::Value;
use thiserror::Error;

use positions::{key_before, lines_and_columns, lint_path, locate_all, pointer_segments};

mod fan_out;
mod positions;
mod recursion;
mod refusal;

/// A compiled schema: validating with it does no more compiling.
pub struct Shape {
    validator: jsonschema::Validator,
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Shape")
    }
}

/// Why a text is not a schema custodian can hold documents to.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShapeError {
    #[error("the schema is not JSON: {0}")]
    NotJson(String),
    #[error("not a valid JSON Schema: {0}")]
    NotASchema(String),
    /// JSON nested deeper than serde_json reads: it was said to be no JSON (bb77 F8).
    #[error("the schema is nested 128 levels deep or more, deeper than custodian reads")]
    TooDeep,
    /// Every write and the screen compile the schema: one of megabytes takes seconds and
    /// hundreds of MB each time, so it is held to the limit a document is.
    #[error(
        "the schema is {} (compact), over the limit of {}: every write compiles it",
        crate::domain::human_bytes_apart(*.size, *.limit).0,
        crate::domain::human_bytes_apart(*.size, *.limit).1
    )]
    TooLarge { size: usize, limit: usize },
    /// A few KB whose references fan out are 2^40 checks of every value: every write held
    /// to it would spin forever ([`fan_out`]).
    #[error(
        "the schema's `$ref`s, each followed, make more than {} subschemas to check one value against: \
         a document would never finish being checked (refer to a definition from fewer places)",
        crate::domain::custom_data::group_digits(fan_out::MOST_EXPANDED)
    )]
    FansOut,
    /// customData is always an object: a schema that refuses every one refuses every save of
    /// every user (bb16 L07). Only certain refusals are named (`refusal::refuses_every_object`).
    #[error(
        "the schema's top level refuses every object ({0}); customData is always an object, so no save could satisfy it"
    )]
    RefusesEveryObject(String),
    /// A definition reached back for the same value by several ways: each level of a
    /// document checked that many times over ([`recursion`]; bb77 F2: 10 s for 316 bytes).
    #[error(
        "the schema's `{reference}` is reached again for the same value {ways} ways at each level of nesting (through `oneOf`, `anyOf`, `allOf` or the like): a document nested 20 deep would be checked {ways}^20 times over; check what the ways share once (one `children` beside the `oneOf` of the kinds)"
    )]
    BranchingRecursion { reference: String, ways: usize },
}

/// Refuses a schema whose compact form is over `limit` bytes (a document's limit).
pub fn check_size(text: &str, limit: usize) -> Result<(), ShapeError> {
    let size = crate::domain::scan::compact_len(text.as_bytes());
    if size > limit { Err(ShapeError::TooLarge { size, limit }) } else { Ok(()) }
}

/// One way a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// As the secrets lint writes paths; empty for the document itself.
    pub path: String,
    /// 1-based line and character column of the offending value in the text.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Where in the schema the rule it breaks is (`/properties/plan/enum`): the same for every
    /// document breaking that rule, whatever value each holds there.
    pub rule: String,
}

impl Violation {
    /// `billing.plan: "enterprize" is not one of "free", "pro", "team"`, without the position.
    pub fn short(&self) -> String {
        let path = if self.path.is_empty() { "the document" } else { self.path.as_str() };
        format!("{}: {}", crate::domain::value_path::shown_path(path), self.message)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, col {}: {}", self.line, self.column, self.short())
    }
}

impl Shape {
    /// Compiles a schema; a text that is not JSON or not a valid schema (by its draft's
    /// meta-schema, or with a `$ref` that cannot be resolved: nothing is fetched) is refused
    /// with the reason.
    pub fn compile(text: &str) -> Result<Self, ShapeError> {
        Self::compile_value(&parse(text)?)
    }

    /// [`Shape::compile`] for a schema being set or given for a run (`schema set`, `--schema
    /// FILE`), which is refused too when its top level refuses every object. One stored before
    /// this check compiles as it did.
    pub fn compile_new(text: &str) -> Result<Self, ShapeError> {
        let value = parse(text)?;
        let shape = Self::compile_value(&value)?;
        if let Some(refused) = branching_recursion(&value) {
            return Err(refused);
        }
        // The validator has the last word: a refusal it does not make (`{}` passes) is not one.
        match refusal::refuses_every_object(&value) {
            Some(why) if !shape.is_valid(&Value::Object(serde_json::Map::new())) => {
                Err(ShapeError::RefusesEveryObject(why))
            }
            _ => Ok(shape),
        }
    }

    /// [`Shape::compile`] of a stored schema, parsed once, with the recursion
    /// [`Shape::compile_new`] would refuse it for now ([`ShapeError::BranchingRecursion`]), for
    /// a warning: such a schema is still read as it was, and a check against it may take long
    /// (bb79 F1).
    pub fn compile_stored(text: &str) -> Result<(Self, Option<ShapeError>), ShapeError> {
        let value = parse(text)?;
        Ok((Self::compile_value(&value)?, branching_recursion(&value)))
    }

    fn compile_value(value: &Value) -> Result<Self, ShapeError> {
        if fan_out::expanded_size(value) > fan_out::MOST_EXPANDED {
            return Err(ShapeError::FansOut);
        }
        let validator = jsonschema::options()
            .with_pattern_options(
                jsonschema::PatternOptions::fancy_regex().backtrack_limit(PATTERN_BACKTRACK_LIMIT),
            )
            .build(value)
            .map_err(|e| {
                let said = at_most_shown(cut_long_strings(&e.to_string()));
                // A valid ECMA-262 pattern the engine will not build (`{1,1000}` inside another)
                // was said to be no regex at all (bb77 F8).
                match said.ends_with("is not a \"regex\"") {
                    true => ShapeError::NotASchema(format!(
                        "{said} (not a regex, or one larger than the regex engine builds: a repetition inside another multiplies its size)"
                    )),
                    false => ShapeError::NotASchema(said),
                }
            })?;
        Ok(Self { validator })
    }

    /// Whether `document` satisfies the schema (the fast path: no errors are collected).
    pub fn is_valid(&self, document: &Value) -> bool {
        self.validator.is_valid(document)
    }

    /// Every violation of the schema by `document`, whose text is `text` (positions are
    /// found in it), in the order the validator reports them.
    pub fn violations(&self, text: &str, document: &Value) -> Vec<Violation> {
        if self.validator.is_valid(document) {
            return Vec::new();
        }
        let found: Vec<(Vec<String>, bool, String, String)> = self
            .validator
            .iter_errors(document)
            .map(|error| {
                let mut segments = pointer_segments(&error.instance_path().to_string());
                // A key's error points at the key, not at its object: Ctrl-G walked 20,000
                // errors all on the object's first line (bb92 F5).
                let key = match error.kind() {
                    jsonschema::error::ValidationErrorKind::PropertyNames { error } => {
                        match error.instance().as_ref() {
                            Value::String(key) => Some(key.clone()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let at_key = key.map(|key| segments.push(key)).is_some();
                (segments, at_key, message(&error), error.schema_path().to_string())
            })
            .collect();
        // One walk of the text finds every offending value (a walk per error made a document
        // with thousands of errors take a second).
        let mut offsets = locate_all(text, found.iter().map(|(segments, ..)| segments.as_slice()));
        for (offset, (_, at_key, ..)) in offsets.iter_mut().zip(&found) {
            if *at_key {
                *offset = key_before(text, *offset);
            }
        }
        let positions = lines_and_columns(text, &offsets);
        found
            .into_iter()
            .zip(positions)
            .map(|((segments, _, message, rule), (line, column))| Violation {
                path: lint_path(document, &segments),
                line,
                column,
                message,
                rule,
            })
            .collect()
    }
}

/// The steps a `pattern` with look-around or back-references may backtrack over one value
/// before the value is refused as not checkable. The engine's own million let each value take
/// ~25 ms, so 2,000 values under `^(a|a?)+(?!x)$` took 50 s to check and a 17 KB document
/// froze the editor for 15 s (bb77 F3); a pattern without look-around never backtracks.
const PATTERN_BACKTRACK_LIMIT: usize = 50_000;

fn parse(text: &str) -> Result<Value, ShapeError> {
    let schema: Value = serde_json::from_str(text).map_err(|e| match e.to_string() {
        // Valid JSON nested deeper than serde_json reads was said to be no JSON (bb77 F8).
        deep if deep.starts_with("recursion limit exceeded") => ShapeError::TooDeep,
        other => ShapeError::NotJson(other),
    })?;
    // Draft 3 (`"required": true` on a property) is read by no validator here: its meta-schema
    // error said `true is not of type "array"` (bb77 F8).
    if let Some(Value::String(uri)) = schema.get("$schema")
        && uri.contains("draft-03")
    {
        return Err(ShapeError::NotASchema(format!(
            "$schema names Draft 3 ({uri}), which custodian does not read: write it for Draft 4, 6, 7, 2019-09 or 2020-12"
        )));
    }
    Ok(schema)
}

/// The most characters of the offending value a message repeats: a 1 MiB string that is too
/// long must not make a 1 MiB error line.
const VALUE_SHOWN_CHARS: usize = 60;

/// The schema's message; an `enum` says its options the way an operator reads them, and a
/// long offending value is cut, with its length.
fn message(error: &jsonschema::ValidationError<'_>) -> String {
    // A key's error is said as the key's: its instance is the whole object, written out for
    // each key at fault — a 250 KB document with 20,000 keys took 36 s to check (bb89 F2).
    if let jsonschema::error::ValidationErrorKind::PropertyNames { error } = error.kind() {
        return message(error);
    }
    let instance = error.instance().to_string();
    let options = match error.kind() {
        jsonschema::error::ValidationErrorKind::Enum { options } => options.as_array(),
        // The regex engine's words ("Error executing regex: Max limit for backtracking count
        // exceeded") said neither that the value was refused nor that the pattern is at fault
        // (bb18 L11).
        jsonschema::error::ValidationErrorKind::BacktrackLimitExceeded { .. } => {
            return format!(
                "the schema's pattern at {} could not be checked against this value: it backtracks too much (simplify that pattern in the schema)",
                error.schema_path()
            );
        }
        _ => None,
    };
    let full = match options {
        Some(options) => {
            let shown: Vec<String> = options.iter().take(ENUM_OPTIONS_SHOWN).map(Value::to_string).collect();
            let more = options.len() - shown.len();
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            format!("{instance} is not one of {}{more}", shown.join(", "))
        }
        None => error.to_string(),
    };
    // A string is cut with every other quoted string; a long array or object here, as a whole
    // (its own strings are not read as the message's).
    let length = instance.chars().count();
    let message = match full.find(&instance) {
        Some(at) if length > VALUE_SHOWN_CHARS && !instance.starts_with('"') => {
            let cut: String = instance.chars().take(VALUE_SHOWN_CHARS).collect();
            let (before, after) = (&full[..at], &full[at + instance.len()..]);
            format!("{}{cut}… ({length} characters){}", cut_long_strings(before), cut_long_strings(after))
        }
        _ => cut_long_strings(&full),
    };
    at_most_shown(message)
}

/// Whatever else a message repeats (a `const` array, many short strings, the whole of a
/// schema that is not one), it stays one short line.
fn at_most_shown(message: String) -> String {
    let length = message.chars().count();
    if length > MESSAGE_SHOWN_CHARS {
        let cut: String = message.chars().take(MESSAGE_SHOWN_CHARS).collect();
        return format!("{cut}… ({length} characters in all)");
    }
    message
}

/// The options of an `enum` a message lists before it counts the rest.
const ENUM_OPTIONS_SHOWN: usize = 20;
/// The most characters of one schema error's message.
const MESSAGE_SHOWN_CHARS: usize = 400;

/// `message` with every quoted string in it longer than [`VALUE_SHOWN_CHARS`] cut, with its
/// length: an error about a key (`propertyNames`) quotes the key, which is not the error's
/// value and was repeated whole (a 100,000-character key made a 100 KB line).
fn cut_long_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        // The closing quote: the first one no backslash escapes.
        let mut escaped = false;
        let close = after.char_indices().find(|&(_, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes
        });
        let Some((close, _)) = close else {
            rest = after;
            break;
        };
        let inner = &after[..close];
        let length = inner.chars().count();
        if length > VALUE_SHOWN_CHARS {
            out.extend(inner.chars().take(VALUE_SHOWN_CHARS));
            out.push_str(&format!("…\" ({length} characters)"));
        } else {
            out.push_str(inner);
            out.push('"');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// [`ShapeError::BranchingRecursion`] for a schema whose recursion is reached again for the
/// same value more than one way.
fn branching_recursion(schema: &Value) -> Option<ShapeError> {
    recursion::branching_recursion(schema).map(|recursion::Branching { reference, ways }| {
        ShapeError::BranchingRecursion { reference: crate::inert::line(&reference).into_owned(), ways }
    })
}

#[cfg(test)]
mod tests;
