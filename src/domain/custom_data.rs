//! The rules of customData — one type that every path that writes goes through.
//!
//! Logto keeps customData in a `jsonb NOT NULL DEFAULT '{}'` column behind a 1 MB API body
//! limit and ships it to front ends, so it must be a JSON object that PostgreSQL accepts, kept
//! exactly as the operator wrote it (key order, number text) and refused loudly when it is not.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};
use thiserror::Error;

use super::layout_compact::laid_out;
use super::scan::{self, Position, ScanFinding};
use super::user::json_type_name;

// Counts and sizes as an operator reads them; said by most messages about a document.
pub use super::counts::{group_digits, human_bytes, human_bytes_apart};

/// 1 MiB: Logto's effective Management API body limit, measured on the compact form (what
/// the store keeps and the API carries).
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Deep enough for any real settings document, shallow enough to be safe everywhere.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// serde_json refuses anything deeper than 128; our limit stays below it so our message wins.
pub const MAX_CONFIGURABLE_DEPTH: usize = 127;

/// Size and nesting limits for a customData document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_MAX_BYTES, max_depth: DEFAULT_MAX_DEPTH }
    }
}

impl Limits {
    pub fn new(max_bytes: usize, max_depth: usize) -> Self {
        Self { max_bytes, max_depth: max_depth.clamp(1, MAX_CONFIGURABLE_DEPTH) }
    }
}

/// Why a text is not valid customData. Every variant that has a place says where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("the document is empty: customData must be a JSON object, at least {{}}")]
    Empty,
    /// `size` is the length of the compact form (without the layout's whitespace).
    #[error("the document is {} but the limit is {}", human_bytes_apart(*size, *limit).0, human_bytes_apart(*size, *limit).1)]
    TooLarge { size: usize, limit: usize },
    #[error("line {line}, col {column}: not valid UTF-8")]
    InvalidUtf8 { line: usize, column: usize },
    #[error("line 1, col 1: the text starts with a byte-order mark (U+FEFF); remove it")]
    ByteOrderMark,
    #[error("line {line}, col {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    #[error("line {line}, col {column}: NaN and Infinity are not JSON; use null, a number or a string")]
    NonFiniteNumber { line: usize, column: usize },
    #[error("line {line}, col {column}: lone surrogate in a \\u escape (not a valid character)")]
    LoneSurrogate { line: usize, column: usize },
    #[error("the top level is {found}; customData must be a JSON object ({{ ... }})")]
    NotAnObject { found: &'static str },
    #[error("line {line}, col {column}: duplicate key \"{key}\" in {path}; JSON keeps only one of them")]
    DuplicateKey { key: String, path: String, line: usize, column: usize },
    #[error("line {line}, col {column}: nested deeper than {limit} levels")]
    TooDeep { limit: usize, line: usize, column: usize },
    #[error("line {line}, col {column}: \\u0000 in {path}; PostgreSQL's jsonb refuses NUL characters")]
    NulCharacter { path: String, line: usize, column: usize },
}

impl ValidationError {
    /// The message without its `line L, col C: ` (for a value that has no text of its own to
    /// point into: a patched document, an imported record's customData).
    pub fn reason(&self) -> String {
        let text = self.to_string();
        match self.position() {
            Some(_) => text.split_once(": ").map_or(text.clone(), |(_, reason)| reason.to_owned()),
            None => text,
        }
    }

    /// The 1-based line and character column the error points at, for jumping the cursor there.
    pub fn position(&self) -> Option<(usize, usize)> {
        use ValidationError::*;
        match self {
            InvalidUtf8 { line, column }
            | Syntax { line, column, .. }
            | NonFiniteNumber { line, column }
            | LoneSurrogate { line, column }
            | DuplicateKey { line, column, .. }
            | TooDeep { line, column, .. }
            | NulCharacter { line, column, .. } => Some((*line, *column)),
            ByteOrderMark => Some((1, 1)),
            Empty | TooLarge { .. } | NotAnObject { .. } => None,
        }
    }
}

/// A validated customData document: a JSON object, with its compact text (made at once: the
/// size rule is on it, and the store keeps it) and its canonical text (made when first asked
/// for: an import of a million users never shows one).
#[derive(Debug, Clone)]
pub struct CustomData {
    object: Map<String, Value>,
    /// The compact form: what the store keeps and Logto's API carries.
    compact: String,
    canonical: std::sync::OnceLock<String>,
}

impl PartialEq for CustomData {
    fn eq(&self, other: &Self) -> bool {
        // The canonical text follows from the object, made or not.
        self.object == other.object && self.compact == other.compact
    }
}

impl CustomData {
    /// Validates `text` with the default limits.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::parse_with(text, &Limits::default())
    }

    /// Validates raw bytes (a file, a paste, stdin): size first, then UTF-8, then the rest.
    pub fn parse_bytes(bytes: &[u8], limits: &Limits) -> Result<Self, ValidationError> {
        check_input_size(bytes, limits)?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let Position { line, column } = scan::utf8_error_position(bytes, &e);
            ValidationError::InvalidUtf8 { line, column }
        })?;
        Self::parse_sized(text, limits)
    }

    /// Validates `text` against every rule of customData.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Self, ValidationError> {
        // Refuse a document too large even without its whitespace before parsing it.
        check_input_size(text.as_bytes(), limits)?;
        Self::parse_sized(text, limits)
    }

    /// [`Self::parse_with`] once the size as typed has been checked.
    fn parse_sized(text: &str, limits: &Limits) -> Result<Self, ValidationError> {
        if text.starts_with('\u{feff}') {
            return Err(ValidationError::ByteOrderMark);
        }
        if text.trim().is_empty() {
            return Err(ValidationError::Empty);
        }
        let finding = scan::scan(text, limits.max_depth);
        if let Some(ScanFinding::TooDeep { limit, at }) = finding {
            return Err(ValidationError::TooDeep { limit, line: at.line, column: at.column });
        }
        let value = parse_value(text).map_err(|e| syntax_error(text, &e))?;
        match finding {
            Some(ScanFinding::DuplicateKey { key, path, at: Position { line, column } }) => {
                return Err(ValidationError::DuplicateKey { key, path, line, column });
            }
            Some(ScanFinding::NulCharacter { path, at: Position { line, column } }) => {
                return Err(ValidationError::NulCharacter { path, line, column });
            }
            _ => {}
        }
        Self::from_scanned_value(value, limits)
    }

    /// Builds from a value no scan of its text vouches for (a patch's result, a document
    /// changed in code). Checks type, NUL characters, depth and size.
    pub fn from_value(value: Value, limits: &Limits) -> Result<Self, ValidationError> {
        // The path is made only for a document that has a NUL: building one for every node
        // of every record was 3 % of an import.
        if holds_nul(&value)
            && let Some(path) = find_nul(&value, "")
        {
            return Err(ValidationError::NulCharacter { path, line: 1, column: 1 });
        }
        if depth_of(&value) > limits.max_depth {
            return Err(ValidationError::TooDeep { limit: limits.max_depth, line: 1, column: 1 });
        }
        Self::from_scanned_value(value, limits)
    }

    /// [`CustomData::from_value`] of a value parsed from text that [`super::scan::scan`] found
    /// free of `\u0000` and no deeper than the limit (an import's record): the value is not
    /// walked again for them (two walks of every record's document, 4 % of an import's reading
    /// thread, which is the one that bounds it).
    pub fn from_scanned_value(value: Value, limits: &Limits) -> Result<Self, ValidationError> {
        let object = match value {
            Value::Object(object) => object,
            other => return Err(ValidationError::NotAnObject { found: json_type_name(&other) }),
        };
        let compact = compact_text(&object);
        check_size(compact.len(), limits)?;
        Ok(Self { object, compact, canonical: std::sync::OnceLock::new() })
    }

    /// Wraps an object built in code (synthetic data): no text was typed, so there is no
    /// syntax to check and no duplicate key possible.
    pub fn from_object(object: Map<String, Value>) -> Self {
        Self { compact: compact_text(&object), canonical: std::sync::OnceLock::new(), object }
    }

    /// `{}`: what a user without application data has.
    pub fn empty() -> Self {
        Self::from_object(Map::new())
    }

    /// The form shown and edited: pretty-printed with 2-space indentation, as Logto's
    /// console shows it.
    pub fn canonical(&self) -> &str {
        self.canonical.get_or_init(|| laid_out(&self.compact))
    }

    pub fn as_object(&self) -> &Map<String, Value> {
        &self.object
    }

    pub fn into_object(self) -> Map<String, Value> {
        self.object
    }

    /// The document on one line, as it travels in Logto's API and as the store keeps it.
    pub fn compact(&self) -> String {
        self.compact.clone()
    }

    /// [`Self::compact`] without a copy.
    pub fn compact_text(&self) -> &str {
        &self.compact
    }

    /// Size in bytes of the compact form, the one the limit is measured on: what the store
    /// keeps and Logto's API carries.
    pub fn size(&self) -> usize {
        self.compact.len()
    }
}

/// The canonical (pretty) text of a document kept compact by the store: laid out without a
/// parse when it is proven to be serde_json's compact form of an object (what the store
/// writes; the proof export uses to copy it), parsed and printed otherwise. Text that is not
/// an object (a damaged record) is returned as it is, so it can still be seen and repaired.
pub fn canonical_from_compact(compact: &str) -> String {
    if super::user_json::is_serde_compact_object(compact)
        && let Some(pretty) = super::layout_compact::pretty_from_compact(compact)
    {
        return pretty;
    }
    match parse_object(compact) {
        Ok(object) => canonical_text(&object),
        Err(_) => compact.to_owned(),
    }
}

/// A stored document as an object, numbers spelled as they are in `text`.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, serde_json::Error> {
    match parse_value(text)? {
        Value::Object(object) => Ok(object),
        other => {
            Err(serde::de::Error::custom(format!("expected an object, found {}", json_type_name(&other))))
        }
    }
}

/// A stored customData that is not a JSON object: SQL wrote it into Logto's database (Logto
/// and custodian never do), or a record is damaged. A walk over many users (an export, a
/// patch, a schema check) meets it as that user's own outcome, and goes on with the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the stored customData is {} (`custodian set id:ID` replaces it)", NotAnObject::described(.found))]
pub struct NotAnObject {
    /// What it is instead: `null`, `an array`, … (`text that is not JSON` when damaged;
    /// [`NotAnObject::NESTED_TOO_DEEP`] for an object jsonb holds deeper than serde_json reads).
    pub found: &'static str,
}

impl NotAnObject {
    /// An object nested deeper than serde_json reads (128 levels): jsonb holds any depth.
    pub const NESTED_TOO_DEEP: &'static str = "an object nested 128 levels deep or more";

    /// What `text`, a stored document read as no JSON object, holds instead.
    pub fn in_text(text: &str) -> Self {
        let found = match serde_json::from_str::<Value>(text) {
            Ok(value) => json_type_name(&value),
            // An array so deep was called an object (bb78 F6).
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                match text.trim_start().as_bytes() {
                    [b'[', ..] => "an array nested 128 levels deep or more",
                    _ => Self::NESTED_TOO_DEEP,
                }
            }
            Err(_) => "text that is not JSON",
        };
        Self { found }
    }

    /// `null, not a JSON object`; an object too deep to read is said as just that.
    pub fn described(found: &str) -> String {
        if found == Self::NESTED_TOO_DEEP { found.to_owned() } else { format!("{found}, not a JSON object") }
    }
}

/// `serde_json::from_str`, but every number keeps the text it has in `text`.
///
/// serde_json's `arbitrary_precision` keeps a number's digits, but its reader rewrites the
/// exponent as it goes (`1E5` → `1e+5`, `-0.0e0` → `-0.0e+0`: the marker lower-cased, a `+`
/// added), and every public way to make a `Number` parses its text again the same way. So
/// the spellings are read from the text (in document order, which is the order of the
/// parsed value: keys keep their order and duplicates are refused before this matters) and
/// put back with `Number::from_string_unchecked`, serde_json's one constructor that takes the
/// text as it is. It is hidden from serde_json's documentation: if a release removes it, this
/// stops compiling, and `tests/custom_data_rules.rs` pins the spellings either way. A number
/// is only replaced by a spelling that serde_json itself would have read as that number.
pub fn parse_value(text: &str) -> Result<Value, serde_json::Error> {
    let mut value: Value = serde_json::from_str(text)?;
    if !may_have_an_exponent(text) {
        return Ok(value);
    }
    let spellings = scan::number_tokens(text);
    if spellings.iter().any(|t| rewritten_by_serde(t)) {
        let mut spellings = spellings.into_iter();
        keep_number_text(&mut value, &mut spellings);
    }
    Ok(value)
}

/// Whether `text` may hold a number serde_json's reader spells otherwise: an `e` or `E` after
/// digits that start where a JSON value can (after `:`, `[`, `,`, white space or at the very
/// start; a `-` or a `.` among them). Every number with an exponent is such; text without one
/// is read as it is, and most records (ids like `k3e9x` in a string) are spared listing their
/// numbers.
pub fn may_have_an_exponent(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2_iter(b'e', b'E', bytes).any(|at| {
        let mut start = at;
        while start > 0 && matches!(bytes[start - 1], b'0'..=b'9' | b'.') {
            start -= 1;
        }
        if start == at {
            return false;
        }
        if start > 0 && bytes[start - 1] == b'-' {
            start -= 1;
        }
        start == 0 || matches!(bytes[start - 1], b':' | b'[' | b',' | b' ' | b'\t' | b'\n' | b'\r')
    })
}

fn keep_number_text<'a>(value: &mut Value, spellings: &mut impl Iterator<Item = &'a str>) {
    match value {
        Value::Number(number) => {
            if let Some(text) = spellings.next()
                && rewritten_by_serde(text)
                && serde_spelling(text) == number.as_str()
            {
                *number = Number::from_string_unchecked(text.to_owned());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| keep_number_text(item, spellings)),
        Value::Object(map) => map.values_mut().for_each(|item| keep_number_text(item, spellings)),
        _ => {}
    }
}

/// Whether serde_json's reader spells the number written `text` otherwise: an exponent
/// marker `E`, or one without a sign.
fn rewritten_by_serde(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .is_some_and(|at| bytes[at] == b'E' || !matches!(bytes.get(at + 1), Some(b'+' | b'-')))
}

/// How serde_json's reader spells the number written `text`: an exponent marker becomes `e`
/// and gets a `+` unless it has a sign. Everything else is kept.
fn serde_spelling(text: &str) -> Cow<'_, str> {
    let Some(at) = text.find(['e', 'E']) else { return Cow::Borrowed(text) };
    let (mantissa, exponent) = (&text[..at], &text[at + 1..]);
    let sign = if exponent.starts_with(['+', '-']) { "" } else { "+" };
    let spelled = format!("{mantissa}e{sign}{exponent}");
    if spelled == text { Cow::Borrowed(text) } else { Cow::Owned(spelled) }
}

/// The canonical text of an object: its compact form (which with `preserve_order` and
/// `arbitrary_precision` keeps key order and number text) laid out as serde_json's pretty
/// printer does, at most 16 levels deep ([`super::layout_compact`]).
pub fn canonical_text(object: &Map<String, Value>) -> String {
    laid_out(&compact_text(object))
}

/// serde_json's compact form (numbers keep their text, as in [`canonical_text`]).
fn compact_text(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).unwrap_or_else(|_| "{}".to_owned())
}

/// The size check on text as typed, before parsing it. The limit is on the compact form, and
/// the compact form is never longer than the text (layout goes, an escape is written back no
/// longer than it was typed, numbers keep their text), so text within the limit passes at
/// once; longer text is refused only when its compact form, counted in one pass, is over.
fn check_input_size(bytes: &[u8], limits: &Limits) -> Result<(), ValidationError> {
    if bytes.len() <= limits.max_bytes {
        return Ok(());
    }
    let too_large = check_size(scan::compact_len(bytes), limits);
    // Over the limit and not JSON either: the syntax error, with its place, is what to fix
    // first (`}z` at the limit said only "1,048,577 B", its stray character unnamed: bb88
    // F3). Read without building anything, and only for a text a few times the limit.
    if too_large.is_err()
        && bytes.len() <= SYNTAX_LOOKED_AT_UP_TO * limits.max_bytes
        && let Ok(text) = std::str::from_utf8(bytes)
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text)
        && !e.to_string().starts_with("recursion limit")
    {
        return Err(syntax_error(text, &e));
    }
    too_large
}

/// How many times the size limit a text over it may be for its syntax to be read (the editor
/// holds up to 8 times the limit).
const SYNTAX_LOOKED_AT_UP_TO: usize = 8;

fn check_size(size: usize, limits: &Limits) -> Result<(), ValidationError> {
    if size > limits.max_bytes {
        return Err(ValidationError::TooLarge { size, limit: limits.max_bytes });
    }
    Ok(())
}

fn syntax_error(text: &str, error: &serde_json::Error) -> ValidationError {
    let line = error.line();
    let column = scan::char_column(text, line, error.column());
    let message = error.to_string();
    // serde_json appends " at line L column C"; we say where in our own words.
    let reason = message.rsplit_once(" at line ").map_or(message.as_str(), |(r, _)| r);
    let token = token_at(text, line, error.column());
    if reason.contains("surrogate") || (reason.contains("hex escape") && is_lone_high_surrogate(token)) {
        return ValidationError::LoneSurrogate { line, column };
    }
    if is_non_finite(token) {
        return ValidationError::NonFiniteNumber { line, column };
    }
    if reason == "recursion limit exceeded" {
        return ValidationError::TooDeep { limit: MAX_CONFIGURABLE_DEPTH, line, column };
    }
    ValidationError::Syntax { line, column, message: reason.to_owned() }
}

/// Why serde_json refused `text`, in the same words as [`CustomData::parse`] but without the
/// position (the import reader names the record and its line itself).
/// serde_json's syntax error in `text` as a document's is told: `line L, col C: reason`, the
/// column in characters, a lone surrogate and NaN in custodian's words.
pub(crate) fn syntax_message(text: &str, error: &serde_json::Error) -> String {
    syntax_error(text, error).to_string()
}

pub(crate) fn syntax_reason(text: &str, error: &serde_json::Error) -> String {
    match syntax_error(text, error) {
        ValidationError::Syntax { message, .. } => message,
        ValidationError::NonFiniteNumber { .. } => {
            "NaN and Infinity are not JSON; use null, a number or a string".to_owned()
        }
        ValidationError::LoneSurrogate { .. } => {
            "lone surrogate in a \\u escape (not a valid character)".to_owned()
        }
        other => other.to_string(),
    }
}

/// The word (letters, digits, signs) around serde_json's error position.
fn token_at(text: &str, line: usize, byte_column: usize) -> &str {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else { return "" };
    let bytes = line_text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'+' || b == b'\\';
    let mut start = byte_column.saturating_sub(1).min(bytes.len());
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = start;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    line_text.get(start..end).unwrap_or("")
}

/// Whether serde_json stopped at NaN or Infinity, which JavaScript writes but JSON forbids.
fn is_non_finite(token: &str) -> bool {
    let word = token.trim_start_matches(['-', '+']);
    word.starts_with("NaN") || word.starts_with("Infinity")
}

/// Whether serde_json stopped inside a `\uD800`–`\uDBFF` escape with no low half after it.
fn is_lone_high_surrogate(token: &str) -> bool {
    token.rsplit("\\u").next().is_some_and(|hex| {
        let hex = hex.to_ascii_lowercase();
        hex.len() >= 2 && hex.starts_with('d') && matches!(hex.as_bytes()[1], b'8'..=b'b')
    })
}

pub(crate) fn depth_of(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

/// The path of the first string or key holding a NUL character, if any.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(key, item)| key.contains('\0') || holds_nul(item)),
        _ => false,
    }
}

fn find_nul(value: &Value, path: &str) -> Option<String> {
    let here = || if path.is_empty() { "(top level)".to_owned() } else { path.to_owned() };
    match value {
        Value::String(s) if s.contains('\0') => Some(here()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| find_nul(item, &format!("{path}[{i}]")))
        }
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(here());
            }
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            find_nul(item, &child)
        }),
        _ => None,
    }
}

#[cfg(test)]
#[path = "custom_data_tests.rs"]
mod tests;
