//! `custodian schema …` and the schema check every customData write goes through: the
//! deployment's JSON Schema, stored in the database with its history, or a file given with
//! `--schema FILE` for one run.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::args::SchemaAction;
use super::{Output, input, progress, table};
use crate::domain::custom_data::{NotAnObject, canonical_from_compact};
use crate::domain::shape::{Shape, ShapeError, Violation};
use crate::domain::time::format_utc;
use crate::domain::{CustomData, Limits, human_bytes};
use crate::inert;
use crate::store::{Author, StoreError, UserStore};

/// How many violations a refusal names before it counts the rest.
const VIOLATIONS_NAMED: usize = 50;

/// customData that breaks the schema (exit code 4), with every error.
#[derive(Debug, thiserror::Error)]
#[error(
    "customData does not satisfy the schema ({}): {}",
    count(.violations.len(), "error"),
    crate::domain::secrets::summary_joined(.violations, VIOLATIONS_NAMED, "; ")
)]
pub struct SchemaViolations {
    pub violations: Vec<Violation>,
}

/// A schema refused as not being one (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct ShapeRefused {
    pub origin: String,
    pub reason: ShapeError,
}

/// No schema to check against (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoSchema(pub String);

/// `schema check` found users that break the schema (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error(
    "{offending} of {checked} users {}",
    if *.stopped {
        "checked do not satisfy the schema (the check stopped there: standard output was closed)"
    } else {
        "do not satisfy the schema"
    }
)]
pub struct CheckFailed {
    pub offending: u64,
    pub checked: u64,
    /// The reader of standard output left (`schema check | head -1`): the rest were not read.
    pub stopped: bool,
}

fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// The schema this run holds documents to: `--schema FILE` when given, else the stored one.
pub fn load_shape(store: &dyn UserStore, file: Option<&Path>) -> Result<Option<Shape>> {
    if let Some(file) = file {
        return shape_from_file(file).map(Some);
    }
    stored_shape(store)
}

/// The schema `--schema FILE` names, read as `schema set` reads it: to the document limit and
/// one byte more, never further (`--schema /dev/zero` read until memory ran out); a signal
/// ends the wait on a FIFO no one writes (it was ignored, SIGKILL alone ended it: bb24 L12).
pub fn shape_from_file(file: &Path) -> Result<Shape> {
    let shown = || file.display().to_string();
    let bytes = input::read_document_or_interrupted(
        "the schema",
        Some(file),
        input::Bound::Compact(Limits::default().max_bytes),
    )
    .with_context(|| format!("cannot read the schema {}", shown()))?;
    Ok(schema_of_bytes(bytes, file.display().to_string())?.1)
}

/// A schema as read from `origin` (a file, standard input), with its text: UTF-8, within a
/// document's limit (every write compiles it), and a schema.
fn schema_of_bytes(bytes: Vec<u8>, origin: String) -> Result<(String, Shape), ShapeRefused> {
    let text = String::from_utf8(bytes).map_err(|_| ShapeRefused {
        origin: origin.clone(),
        reason: ShapeError::NotJson("not valid UTF-8".into()),
    })?;
    // A new schema only: one stored before this check compiles as it did (last key wins).
    let clean = match crate::domain::scan::refused_before_parse(&text) {
        Some(problem) => Err(ShapeError::NotJson(problem)),
        None => Ok(()),
    };
    let shape = clean
        .and_then(|()| crate::domain::shape::check_size(&text, Limits::default().max_bytes))
        .and_then(|()| Shape::compile_new(&text))
        .map_err(|reason| ShapeRefused { origin, reason })?;
    Ok((text, shape))
}

/// The schema stored with the users, if one is set. The writes through `store` are held to
/// it from now on ([`UserStore::hold_writes_to_schema`]): one that meets another schema,
/// set since, writes nothing.
pub fn stored_shape(store: &dyn UserStore) -> Result<Option<Shape>> {
    let stored = store.schema()?;
    store.hold_writes_to_schema(stored.as_ref().map(|s| s.revision));
    let Some((shape, warning)) = stored.as_ref().map(shape_and_warning_of_stored).transpose()? else {
        return Ok(None);
    };
    if let Some(warning) = warning {
        crate::stderr_line!("custodian: {}", crate::inert::line(&warning));
    }
    Ok(Some(shape))
}

/// A stored schema compiled, and a warning when `schema set` would refuse it now: stored
/// before the recursion check, it is read as it was, and a check against it may take long.
pub fn shape_and_warning_of_stored(
    stored: &crate::store::StoredSchema,
) -> Result<(Shape, Option<String>), ShapeRefused> {
    let (shape, recursion) =
        Shape::compile_stored(&stored.text).map_err(|reason| refused_stored(stored, reason))?;
    let warning = recursion.map(|why| {
        format!(
            "warning: the stored schema (revision {}) would be refused if it were set now, and checking a nested document against it may take long: {why}",
            stored.revision
        )
    });
    Ok((shape, warning))
}

/// A stored schema compiled; a failure names its revision.
pub fn shape_of_stored(stored: &crate::store::StoredSchema) -> Result<Shape, ShapeRefused> {
    Shape::compile(&stored.text).map_err(|reason| refused_stored(stored, reason))
}

fn refused_stored(stored: &crate::store::StoredSchema, reason: ShapeError) -> ShapeRefused {
    ShapeRefused { origin: format!("the stored schema (revision {})", stored.revision), reason }
}

/// Refuses `data` (whose text as written is `text`) when it breaks the schema.
pub fn check_document(shape: Option<&Shape>, text: &str, data: &CustomData) -> Result<()> {
    let Some(shape) = shape else { return Ok(()) };
    let value = Value::Object(data.as_object().clone());
    let violations = shape.violations(text, &value);
    if violations.is_empty() { Ok(()) } else { Err(SchemaViolations { violations }.into()) }
}

/// Runs `custodian schema …`.
pub(super) fn run(
    store: &dyn UserStore,
    action: &SchemaAction,
    schema_file: Option<&Path>,
    quiet: bool,
    out: &mut Output,
) -> Result<()> {
    match action {
        SchemaAction::Set { file } => set(store, file.as_deref(), out),
        SchemaAction::Clear => {
            if store.is_read_only() {
                return Err(StoreError::ReadOnly.into());
            }
            let (revision, cleared) = store_schema(store, None)?;
            if cleared {
                out.line(&format!("schema cleared: revision {revision}"))
            } else {
                out.line("no schema was set: nothing changed")
            }
        }
        SchemaAction::Get { revision } => {
            let text = match revision {
                Some(revision) => store.schema_revision_text(*revision)?.ok_or_else(|| {
                    NoSchema(format!("revision {revision} of the schema cleared it: there was no schema"))
                })?,
                None => store.schema()?.map(|s| s.text).ok_or_else(no_schema)?,
            };
            // As it was given: a text that ends its last line gets no second line break (it
            // came back with one more: bb14 L18); one that does not gets one for the shell.
            out.json(text.strip_suffix('\n').unwrap_or(&text))
        }
        SchemaAction::History => {
            let rows: Vec<Vec<String>> = store
                .schema_history()?
                .iter()
                .map(|r| {
                    let mark = if r.current { " (current)" } else { "" };
                    let size = if r.size == 0 { "cleared".to_owned() } else { human_bytes(r.size) };
                    vec![format!("{}{mark}", r.revision), format_utc(r.saved_at), r.saved_by.clone(), size]
                })
                .collect();
            for line in table(&["REV", "WHEN", "WHO", "SIZE"], &rows) {
                out.line(&line)?;
            }
            Ok(())
        }
        SchemaAction::Check { json } => check(store, schema_file, *json, quiet, out),
    }
}

fn no_schema() -> NoSchema {
    NoSchema("no schema is set (set one with `custodian schema set FILE`, or give --schema FILE)".into())
}

fn set(store: &dyn UserStore, file: Option<&Path>, out: &mut Output) -> Result<()> {
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    let limits = Limits::default();
    let origin = file.map_or_else(|| "standard input".to_owned(), |f| f.display().to_string());
    let bytes =
        input::read_document_or_interrupted("the schema", file, input::Bound::Compact(limits.max_bytes))
            .with_context(|| format!("cannot read the schema {}", inert::line(&origin)))?;
    let (text, _) = schema_of_bytes(bytes, origin)?;
    // Whether this call wrote: another operator's equal schema landing first is no save of ours.
    let (revision, saved) = store_schema(store, Some(&text))?;
    if !saved {
        out.line(&format!("no changes: the schema stays at revision {revision}"))
    } else {
        tracing::info!(revision, "schema set from the command line");
        out.line(&format!(
            "schema saved: revision {revision} (`custodian schema check` lists the users it rejects, if any)"
        ))
    }
}

/// Sets (or clears, `None`) the schema; a connection lost while its COMMIT was on its way is
/// looked into after reconnecting, as a save's is: it said only "connection lost", exit 1, and
/// the change had been stored (bb80 F6).
fn store_schema(store: &dyn UserStore, text: Option<&str>) -> Result<(crate::store::Revision, bool)> {
    let latest = |store: &dyn UserStore| -> Result<u64, StoreError> {
        Ok(store.schema_history()?.iter().map(|r| r.revision).max().unwrap_or(0))
    };
    let before = if store.reads_over_a_link() { Some(latest(store)?) } else { None };
    let lost = match store.set_schema(text, &Author::from_environment()) {
        Err(e @ StoreError::ConnectionLost { .. }) => e,
        other => return Ok(other?),
    };
    let Some(before) = before else { return Err(lost.into()) };
    store.reconnect().map_err(|_| lost)?;
    let now = latest(store)?;
    let stored = store.schema()?.map(|schema| schema.text);
    if now > before && stored.as_deref() == text {
        crate::stderr_line!(
            "custodian: the connection was lost while the schema change was committing; after reconnecting: it did commit as revision {now}"
        );
        return Ok((now, true));
    }
    anyhow::bail!(
        "the connection was lost while the schema change was committing; after reconnecting: it did not happen (the schema's last revision is {now}); nothing was changed"
    )
}

/// Every user against the schema, streaming: one line per offending user.
fn check(
    store: &dyn UserStore,
    schema_file: Option<&Path>,
    json: bool,
    quiet: bool,
    out: &mut Output,
) -> Result<()> {
    let shape = load_shape(store, schema_file)?.ok_or_else(no_schema)?;
    let total = store.user_count().ok().map(|c| c.users);
    let bar = progress(total, quiet, "{spinner} {pos}/{len} users checked · {rate} · ETA {eta}");
    let (mut checked, mut offending) = (0u64, 0u64);
    let mut write_failed: Option<anyhow::Error> = None;
    let visited = store.for_each_user(&mut |record, compact| {
        checked += 1;
        if checked.is_multiple_of(4096) {
            bar.set_position(checked);
        }
        let violations = match serde_json::from_str(compact) {
            Ok(value @ Value::Object(_)) if shape.is_valid(&value) => return Ok(()),
            // Positions in the text `get` prints, the one an operator opens, and the values
            // quoted with their numbers as written there (serde_json's reader spells `1E5`
            // `1e+5`, text the document does not hold: bb64 F4); read so only where an
            // exponent may be, of the users that break the schema.
            Ok(value @ Value::Object(_)) => {
                let as_written = if crate::domain::custom_data::may_have_an_exponent(compact) {
                    crate::domain::custom_data::parse_value(compact).unwrap_or(value)
                } else {
                    value
                };
                shape.violations(&canonical_from_compact(compact), &as_written)
            }
            // No document to hold to the schema: this user fails, the others are checked.
            _ => {
                let message = NotAnObject::in_text(compact).to_string();
                vec![Violation { path: String::new(), line: 1, column: 1, message, rule: String::new() }]
            }
        };
        offending += 1;
        let Some(first) = violations.first() else { return Ok(()) };
        let line = if json {
            serde_json::json!({
                "id": record.user.id,
                "handle": record.user.handle(),
                "errors": violations.len(),
                "first": {"path": first.path, "line": first.line, "column": first.column, "message": first.message},
            })
            .to_string()
        } else {
            // Each field made inert on its own: a tab inside one would be shown, not split it.
            [record.user.id.clone(), record.user.handle().to_owned(), first.to_string(), count(violations.len(), "error")]
                .iter()
                .map(|field| inert::line(field).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        };
        // A reader that has gone (`| head -1`) stops the check: a million users are not read
        // for no one.
        let written = if json { out.streamed_json(&line) } else { out.streamed_line(&line) };
        written.map_err(|e| {
            let message = e.to_string();
            write_failed = Some(e);
            StoreError::Io { context: "schema check".into(), error: io::Error::other(message) }
        })
    });
    bar.finish_and_clear();
    if let Some(e) = write_failed {
        if e.is::<super::StdoutClosed>() {
            return Err(CheckFailed { offending, checked, stopped: true }.into());
        }
        return Err(e);
    }
    visited?;
    let _ = io::stderr().flush();
    if offending > 0 {
        return Err(CheckFailed { offending, checked, stopped: false }.into());
    }
    if !quiet && !json {
        crate::stderr_line!("custodian: all {checked} users satisfy the schema");
    }
    Ok(())
}
