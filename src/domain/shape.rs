//! The deployment's JSON Schema for customData: compiled once with the `jsonschema` crate
//! (Draft 2020-12 unless the schema's `$schema` names 2019-09 or 7), and every violation of a
//! document told with the path as the secrets lint writes it (`billing.plan`,
//! `apps[2].token`), the line and character column of the offending value in the text the
//! operator wrote, and the schema's message.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;
use thiserror::Error;

use crate::domain::secrets::{push_index, push_key};

mod fan_out;
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
    /// Every write and the screen compile the schema: one of megabytes takes seconds and
    /// hundreds of MB each time, so it is held to the limit a document is.
    #[error(
        "the schema is {} (compact), over the limit of {}: every write compiles it",
        crate::domain::custom_data::human_bytes(*.size),
        crate::domain::custom_data::human_bytes(*.limit)
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
        if let Some(recursion::Branching { reference, ways }) = recursion::branching_recursion(&value) {
            return Err(ShapeError::BranchingRecursion {
                reference: crate::inert::line(&reference).into_owned(),
                ways,
            });
        }
        // The validator has the last word: a refusal it does not make (`{}` passes) is not one.
        match refusal::refuses_every_object(&value) {
            Some(why) if !shape.is_valid(&Value::Object(serde_json::Map::new())) => {
                Err(ShapeError::RefusesEveryObject(why))
            }
            _ => Ok(shape),
        }
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
            .map_err(|e| ShapeError::NotASchema(at_most_shown(cut_long_strings(&e.to_string()))))?;
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
        let found: Vec<(Vec<String>, String, String)> = self
            .validator
            .iter_errors(document)
            .map(|error| {
                (
                    pointer_segments(&error.instance_path().to_string()),
                    message(&error),
                    error.schema_path().to_string(),
                )
            })
            .collect();
        // One walk of the text finds every offending value (a walk per error made a document
        // with thousands of errors take a second).
        let offsets = locate_all(text, found.iter().map(|(segments, ..)| segments.as_slice()));
        let positions = lines_and_columns(text, &offsets);
        found
            .into_iter()
            .zip(positions)
            .map(|((segments, message, rule), (line, column))| Violation {
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
    serde_json::from_str(text).map_err(|e| ShapeError::NotJson(e.to_string()))
}

/// The most characters of the offending value a message repeats: a 1 MiB string that is too
/// long must not make a 1 MiB error line.
const VALUE_SHOWN_CHARS: usize = 60;

/// The schema's message; an `enum` says its options the way an operator reads them, and a
/// long offending value is cut, with its length.
fn message(error: &jsonschema::ValidationError<'_>) -> String {
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

/// The reference tokens of a JSON pointer (`/a~1b/0` → `a/b`, `0`).
fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// The pointer as the lint writes paths: a member by its key, an array element `[n]`.
fn lint_path(document: &Value, segments: &[String]) -> String {
    let mut path = String::new();
    let mut at = Some(document);
    for segment in segments {
        match at {
            Some(Value::Array(items)) if segment.parse::<usize>().is_ok() => {
                let index = segment.parse::<usize>().unwrap_or_default();
                push_index(&mut path, index);
                at = items.get(index);
            }
            Some(Value::Object(members)) => {
                push_key(&mut path, segment);
                at = members.get(segment);
            }
            _ => {
                push_key(&mut path, segment);
                at = None;
            }
        }
    }
    path
}

/// The byte offset in `text` of the value the pointer's `segments` name: the text is
/// walked, not parsed (a document is already known to be valid JSON without duplicate keys).
/// Where the walk cannot go on, the offset of the last value it reached.
fn locate(text: &str, segments: &[String]) -> usize {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    for segment in segments {
        match find_child(text, at, segment) {
            Some(child) => at = child,
            None => break,
        }
    }
    at
}

/// Where the member `segment` of the object, or the element of the array, at `at` starts.
fn find_child(text: &str, at: usize, segment: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.get(at)? {
        b'{' => {
            let mut i = at + 1;
            loop {
                i = skip_space(bytes, i);
                if bytes.get(i)? != &b'"' {
                    return None;
                }
                let end = skip_string(bytes, i);
                let key = serde_json::from_str::<String>(text.get(i..end)?).ok()?;
                i = skip_space(bytes, end);
                if bytes.get(i)? != &b':' {
                    return None;
                }
                i = skip_space(bytes, i + 1);
                if key == segment {
                    return Some(i);
                }
                i = skip_space(bytes, skip_value(bytes, i));
                if bytes.get(i)? != &b',' {
                    return None;
                }
                i += 1;
            }
        }
        b'[' => {
            let index: usize = segment.parse().ok()?;
            let mut i = skip_space(bytes, at + 1);
            for _ in 0..index {
                i = skip_space(bytes, skip_value(bytes, i));
                if bytes.get(i)? != &b',' {
                    return None;
                }
                i = skip_space(bytes, i + 1);
            }
            Some(i)
        }
        _ => None,
    }
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// From the opening quote to just after the closing one.
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// From the first byte of a value to just after it.
fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'"' => {
                        i = skip_string(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                i += 1;
            }
            i
        }
    }
}

/// A pointer as one key: each segment after a NUL (which no key can hold: the JSON rules
/// refuse it), the root the empty key.
fn pointer_key(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |mut key, segment| {
        key.push('\0');
        key.push_str(segment);
        key
    })
}

/// The byte offsets of the values the pointers name, in their order, found in one walk of
/// the text that enters only what leads to one of them. A pointer the walk does not reach
/// (it cannot happen for a text that is the document) falls back to [`locate`].
fn locate_all<'a>(text: &str, pointers: impl Iterator<Item = &'a [String]>) -> Vec<usize> {
    let pointers: Vec<&[String]> = pointers.collect();
    walk_to(text, &pointers)
        .into_iter()
        .zip(&pointers)
        .map(|(found, segments)| found.unwrap_or_else(|| locate(text, segments)))
        .collect()
}

/// The one walk of [`locate_all`]: the byte offset of each value the pointers name, `None`
/// for one it does not reach.
fn walk_to(text: &str, pointers: &[&[String]]) -> Vec<Option<usize>> {
    let mut walk = Walk { text, wanted: HashSet::new(), leads: HashSet::new(), found: HashMap::new() };
    for segments in pointers {
        for depth in 0..=segments.len() {
            walk.leads.insert(pointer_key(&segments[..depth]));
        }
        walk.wanted.insert(pointer_key(segments));
    }
    let start = skip_space(text.as_bytes(), 0);
    walk.value(start, &mut String::new());
    pointers.iter().map(|segments| walk.found.get(&pointer_key(segments)).copied()).collect()
}

struct Walk<'t> {
    text: &'t str,
    /// The pointers asked for, and every pointer on the way to one.
    wanted: HashSet<String>,
    leads: HashSet<String>,
    found: HashMap<String, usize>,
}

impl Walk<'_> {
    /// Walks the value at `at` (whose pointer is `key`); returns the offset just after it.
    fn value(&mut self, at: usize, key: &mut String) -> usize {
        let bytes = self.text.as_bytes();
        if self.wanted.contains(key.as_str()) {
            self.found.insert(key.clone(), at);
        }
        match bytes.get(at) {
            Some(b'{') => {
                let mut i = at + 1;
                loop {
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b'"') => {}
                        Some(b'}') => return i + 1,
                        _ => return i,
                    }
                    let end = skip_string(bytes, i);
                    let raw = self.text.get(i + 1..end.saturating_sub(1)).unwrap_or("");
                    let name = if raw.contains('\\') {
                        serde_json::from_str::<String>(self.text.get(i..end).unwrap_or("\"\""))
                            .unwrap_or_default()
                    } else {
                        raw.to_owned()
                    };
                    i = skip_space(bytes, end);
                    if bytes.get(i) != Some(&b':') {
                        return i;
                    }
                    i = skip_space(bytes, i + 1);
                    i = self.child(i, key, &name);
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b',') => i += 1,
                        Some(b'}') => return i + 1,
                        _ => return i,
                    }
                }
            }
            Some(b'[') => {
                let mut i = skip_space(bytes, at + 1);
                if bytes.get(i) == Some(&b']') {
                    return i + 1;
                }
                let mut index = 0usize;
                loop {
                    i = self.child(i, key, &index.to_string());
                    index += 1;
                    i = skip_space(bytes, i);
                    match bytes.get(i) {
                        Some(b',') => i = skip_space(bytes, i + 1),
                        Some(b']') => return i + 1,
                        _ => return i,
                    }
                }
            }
            _ => skip_value(bytes, at),
        }
    }

    /// The member or element `name` of the value `key`, at `at`: entered only on the way to a
    /// wanted value, skipped otherwise.
    fn child(&mut self, at: usize, key: &mut String, name: &str) -> usize {
        let parent = key.len();
        key.push('\0');
        key.push_str(name);
        let end = if self.leads.contains(key.as_str()) {
            self.value(at, key)
        } else {
            skip_value(self.text.as_bytes(), at)
        };
        key.truncate(parent);
        end
    }
}

/// [`line_and_column`] of many offsets, in one pass over the text up to the last of them.
fn lines_and_columns(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&n| offsets[n]);
    let mut out = vec![(1, 1); offsets.len()];
    // Where the count has reached: its offset, line and column.
    let (mut at, mut line, mut column) = (0usize, 1usize, 1usize);
    for n in order {
        let target = offsets[n].min(text.len());
        let stretch = text.get(at..target).unwrap_or("");
        match stretch.rfind('\n') {
            Some(last) => {
                line += stretch.bytes().filter(|&b| b == b'\n').count();
                column = stretch.get(last + 1..).map_or(0, |s| s.chars().count()) + 1;
            }
            None => column += stretch.chars().count(),
        }
        at = target;
        out[n] = (line, column);
    }
    out
}

/// 1-based line and character column of a byte offset (what [`lines_and_columns`] gives, one at a time).
#[cfg(test)]
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
