//! The subcommands on one user's document: `get`, `set` (and the secrets and schema checks of
//! a save), `history` and `restore`.

use std::path::Path;

use anyhow::{Context, Result};

use super::list::table;
use super::{Output, SECRETS_NAMED, SecretsRefused, UsageError, input, schema};
use crate::domain::custom_data::{canonical_text, parse_object};
use crate::domain::history::{HistoryReader, listed_key};
use crate::domain::seal::{self, KeySet};
use crate::domain::secrets::{self, SecretFinding, find_secrets};
use crate::domain::time::format_utc;
use crate::domain::user_ref::UserRef;
use crate::domain::{CustomData, Limits, human_bytes};
use crate::store::{Author, SaveOutcome, StoreError, UserStore};
use crate::{inert, key_file};

/// The key file a command needs, or a usage error saying how to name one.
pub(super) fn keys_for(what: &str, key_file: Option<&Path>) -> Result<KeySet> {
    let path = key_file.ok_or_else(|| {
        UsageError(format!(
            "{what} needs a key: --key-file FILE or $CUSTODIAN_KEY_FILE (make one with `custodian keygen --out FILE`)"
        ))
    })?;
    Ok(key_file::load(path)?)
}

pub(super) fn get(
    store: &dyn UserStore,
    user: &str,
    revision: Option<u64>,
    unseal: Option<&KeySet>,
    out: &mut Output,
) -> Result<()> {
    let id = store.resolve(user)?;
    let text = match revision {
        Some(revision) => store.revision_text(&id, revision)?,
        None => {
            // The document printed is a revision of its own, so `--expect-revision` holds
            // a save to it (Logto's database: another outside write moves the revision).
            store.keep_outside_write(&id)?;
            store.custom_data(&id)?.text
        }
    };
    let Some(keys) = unseal else { return out.json(&text) };
    let mut object = parse_object(&text).context("the stored customData is not a JSON object")?;
    // Nothing is printed unless every value this key file can open opened.
    let left_sealed = seal::open_all(&mut object, keys)?;
    for left in &left_sealed {
        crate::stderr_line!(
            "custodian: left sealed: {}",
            inert::line(&format!("{} ({})", left.path, left.error))
        );
    }
    out.json(&canonical_text(&object))
}

/// What `set` holds a document to, besides the JSON rules.
pub(super) struct SetChecks<'a> {
    pub(super) allow_sensitive: bool,
    /// `--seal`: the key and the paths of the values to seal first.
    pub(super) sealing: Option<(&'a KeySet, &'a [String])>,
    /// `--schema FILE`, else the stored schema.
    pub(super) schema_file: Option<&'a Path>,
    /// `--expect-digest`: the document the edit began from, as well as its revision.
    pub(super) expect_digest: Option<&'a str>,
}

/// An `--expect-digest` as a kept edit names one: `sha256:` and 16 to 64 lower-case hex digits.
fn digest_form(digest: &str) -> Result<()> {
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if (16..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(());
    }
    Err(UsageError(format!(
        "--expect-digest {}: not a digest (`sha256:` and 16 to 64 lower-case hex digits, as a kept edit names it)",
        inert::line(digest)
    ))
    .into())
}

/// `--expect-digest`: the stored document must be at `expected` (its revision) and have this
/// digest, and the save is then held to it. On Logto's database a write outside custodian to
/// a user it never saved leaves revision 1 as it was, and the `set … --expect-revision 1` a kept
/// edit named overwrote it, exit 0 (bb58 F1).
fn hold_to_digest(store: &dyn UserStore, id: &str, expected: Option<u64>, digest: &str) -> Result<()> {
    let current = store.custom_data(id)?;
    if let Some(expected) = expected.filter(|expected| *expected != current.revision) {
        return Err(StoreError::Conflict { user: id.to_owned(), expected, found: current.revision }.into());
    }
    if !crate::draft::digest(&current.text).starts_with(digest) {
        return Err(match store.key_order() {
            crate::store::KeyOrder::Backend(_) => StoreError::ChangedOutside { user: id.to_owned() },
            crate::store::KeyOrder::AsWritten => {
                StoreError::DigestMismatch { user: id.to_owned(), digest: digest.to_owned() }
            }
        }
        .into());
    }
    store.hold_save_to(id, &current);
    Ok(())
}

pub(super) fn set(
    store: &dyn UserStore,
    user: &str,
    file: Option<&Path>,
    expect: Option<u64>,
    checks: SetChecks,
    out: &mut Output,
) -> Result<()> {
    // A digest that is none is a usage error, whoever the user is (bb59 F5).
    checks.expect_digest.map(digest_form).transpose()?;
    let id = store.resolve(user)?;
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    if let Some(digest) = checks.expect_digest {
        hold_to_digest(store, &id, expect, digest)?;
    }
    let shape = schema::load_shape(store, checks.schema_file)?;
    let limits = Limits::default();
    let bytes =
        input::read_document_or_interrupted("the document", file, input::Bound::Compact(limits.max_bytes))?;
    let mut data = CustomData::parse_bytes(&bytes, &limits)?;
    // parse_bytes accepted it, so it is UTF-8; the schema's positions are in this text.
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some((keys, paths)) = checks.sealing {
        let mut object = data.into_object();
        seal::seal_paths(&mut object, paths, keys.sealing_key(), seal::fresh_iv)
            .map_err(|e| key_file::KeyFileProblem::NoRandomness(e.to_string()))??;
        // Sealing makes values longer: the size limit is checked again, and the schema sees
        // the document as it will be stored.
        data = CustomData::from_value(serde_json::Value::Object(object), &limits).map_err(|e| {
            // The operator's document was under the limit: say what made it too large.
            let grown = matches!(e, crate::domain::ValidationError::TooLarge { .. });
            let error = anyhow::Error::from(e);
            if grown { error.context("sealing made the document larger") } else { error }
        })?;
        text = data.canonical().to_owned();
    }
    schema::check_document(shape.as_ref(), &text, &data)?;
    let findings = refuse_secrets(&data, checks.allow_sensitive)?;
    let outcome = save_under_schema(store, &id, (&data, &text), expect, checks.schema_file)?;
    // Only a save that wrote stored anything: "no changes" stored nothing new.
    if matches!(outcome, SaveOutcome::Saved { .. }) {
        warn_secrets_allowed(&findings);
    }
    report_outcome(&id, outcome, out)
}

/// How many times a save checks a document again against a schema set while it was saved.
const SCHEMA_CHANGES_FOLLOWED: usize = 3;

/// [`save`] of a document (`data`, and its text as written, where the schema's positions
/// are) checked against the stored schema: when a `schema set` or `clear` committed between
/// the check and the save, which then wrote nothing, the document is checked against the
/// schema as it is now and saved again. With `--schema FILE` the save is not held.
fn save_under_schema(
    store: &dyn UserStore,
    id: &str,
    (data, text): (&CustomData, &str),
    expect: Option<u64>,
    schema_file: Option<&Path>,
) -> Result<SaveOutcome> {
    let mut followed = 0;
    loop {
        match save(store, id, data, expect) {
            Err(e)
                if schema_file.is_none()
                    && followed < SCHEMA_CHANGES_FOLLOWED
                    && matches!(e.downcast_ref::<StoreError>(), Some(StoreError::SchemaChanged { .. })) =>
            {
                followed += 1;
                tracing::info!(user = %id, "the stored schema changed during the save: checked again");
                let shape = schema::stored_shape(store)?;
                schema::check_document(shape.as_ref(), text, data)?;
            }
            other => return other,
        }
    }
}

/// Saves, and when the connection went while the save was committing (PostgreSQL), connects
/// again and finds out whether it did commit: never reports a save that did not happen. One
/// line on stderr says what happened to the connection; the save's own line (or error)
/// follows.
fn save(store: &dyn UserStore, id: &str, data: &CustomData, expect: Option<u64>) -> Result<SaveOutcome> {
    // A signal noted before the save stops it here: nothing written (exit 130).
    crate::interrupt::check()?;
    let revision = match store.replace_custom_data(id, data, expect, &Author::from_environment()) {
        Err(StoreError::SaveOutcomeUnknown { revision, .. }) => revision,
        // The user was found a moment ago: gone since, not a reference that names no one.
        Err(StoreError::UserNotFound(_)) => {
            let user = crate::inert::line(id).into_owned();
            return Err(StoreError::UserGone { user, how: store.how_a_user_goes() }.into());
        }
        other => return Ok(other?),
    };
    tracing::warn!(user = %id, revision, "save outcome unknown: the connection went during its commit");
    let landed = store.reconnect().and_then(|_| store.save_landed(id, data, revision));
    match landed {
        Ok(true) => {
            crate::stderr_line!(
                "custodian: the connection was lost while the save was committing; after reconnecting: the save did commit as revision {revision}"
            );
            // The stored size, as the history gives it (the sent one if it cannot be read).
            let stored = store.history(id).ok().and_then(|h| h.into_iter().find(|r| r.revision == revision));
            // The keys it removed, from the revision it replaced: a save on a good link names
            // them, this one said nothing of them (bb78 F3).
            let removed = revision
                .checked_sub(1)
                .and_then(|before| store.revision_text(id, before).ok())
                .and_then(|text| {
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text).ok()
                })
                .map(|before| {
                    before
                        .into_iter()
                        .map(|(key, _)| key)
                        .filter(|key| !data.as_object().contains_key(key))
                        .collect()
                })
                .unwrap_or_default();
            Ok(SaveOutcome::Saved { revision, removed, size: stored.map_or(data.size(), |r| r.size) })
        }
        Ok(false) => anyhow::bail!(
            "the connection was lost while the save was committing; after reconnecting: the save did not happen (user {id} has no revision {revision} holding this document); nothing was written"
        ),
        Err(e) => {
            let form = UserRef::id_form(id);
            let named = crate::inert::shell_word(&form);
            anyhow::bail!(
                "the connection was lost while the save was committing, and custodian cannot tell whether it happened ({e}); check with `custodian history {named}` and `custodian get {named} --revision {revision}` against this database: revision {revision} is this save if it is there, and its absence is final only once the server holds no session of custodian's open (`pg_stat_activity`, application_name custodian): a COMMIT the server still holds (a synchronous standby it waits for, a pooler) may land later"
            )
        }
    }
}

/// Refuses a document that looks like it holds secrets, unless the operator allowed it; then
/// returns what was found, for [`warn_secrets_allowed`] once the save went through.
fn refuse_secrets(data: &CustomData, allow_sensitive: bool) -> Result<Vec<SecretFinding>> {
    let findings = find_secrets(data.as_object());
    if !findings.is_empty() && !allow_sensitive {
        return Err(SecretsRefused { findings }.into());
    }
    Ok(findings)
}

fn warn_secrets_allowed(findings: &[SecretFinding]) {
    if findings.is_empty() {
        return;
    }
    let message = format!(
        "warning: stored what looks like secrets in customData (it reaches front ends), as --allow-sensitive asked: {}",
        secrets::summary(findings, SECRETS_NAMED)
    );
    crate::stderr_line!("custodian: {}", inert::line(&message));
}

/// Keys a save removed, for one line: the first [`KEYS_NAMED`], each cut to
/// [`KEY_COLUMNS`] columns, then how many more (emptying a document of 20,000 keys printed a
/// line of 149 KB).
pub(super) fn removed_keys(keys: &[String]) -> String {
    removed_keys_of(keys, keys.len())
}

/// [`removed_keys`] of the first of `count` keys.
pub(super) fn removed_keys_of(keys: &[String], count: usize) -> String {
    let names: Vec<String> = keys
        .iter()
        .take(KEYS_NAMED)
        // Quoted where a key holds what the list is written with: an empty key, `a, b` and
        // ` ` read as other keys (bb28 R04), as `history` and `changes` list them.
        .map(|k| inert::cut_to_width(&inert::line(&listed_key(k)), KEY_COLUMNS).into_owned())
        .collect();
    let more = count.saturating_sub(KEYS_NAMED.min(keys.len()));
    if more == 0 { names.join(", ") } else { format!("{} and {more} more", names.join(", ")) }
}

const KEYS_NAMED: usize = 20;
const KEY_COLUMNS: usize = 60;

/// Says what a save did; after a full replacement, also which top-level keys it removed
/// (on stderr, so scripts reading stdout see one line). The store names them from the
/// document its write transaction replaced, so another writer just before cannot make them
/// wrong.
fn report_outcome(id: &str, outcome: SaveOutcome, out: &mut Output) -> Result<()> {
    // An id with white space (written by SQL) quoted, as a reference takes it back: bare, a
    // script copying `saved: user  f15a` named the other user, `f15a` (bb89 F4).
    let shown = UserRef::shown_id(id);
    match outcome {
        SaveOutcome::Saved { revision, removed, size } => {
            tracing::info!(user = %id, revision, "saved from the command line");
            if !removed.is_empty() {
                crate::stderr_line!(
                    "custodian: user {}: removed keys: {}",
                    inert::line(&shown),
                    removed_keys(&removed)
                );
            }
            let id = inert::line(&shown);
            out.line(&format!("saved: user {id} revision {revision} ({})", human_bytes(size)))
        }
        SaveOutcome::Unchanged { revision } => {
            out.line(&format!("no changes: user {} stays at revision {revision}", inert::line(&shown)))
        }
    }
}

pub(super) fn history(store: &dyn UserStore, user: &str, out: &mut Output) -> Result<()> {
    let id = store.resolve(user)?;
    store.keep_outside_write(&id)?;
    // Each revision is read and summed up in turn, as the screen's history does.
    let mut reader = HistoryReader::new();
    let mut rows = Vec::new();
    for r in store.history(&id)? {
        let changes = reader.next(r.revision, &store.revision_text(&id, r.revision)?);
        let mark = if r.current { " (current)" } else { "" };
        rows.push(vec![
            format!("{}{mark}", r.revision),
            format_utc(r.saved_at),
            r.saved_by.clone(),
            human_bytes(r.size),
            changes.summary(),
            r.batch.as_ref().map_or_else(String::new, |b| format!("batch {b}")),
        ]);
    }
    for line in table(&["REV", "WHEN", "WHO", "SIZE", "CHANGES", ""], &rows) {
        out.line(&line)?;
    }
    Ok(())
}

pub(super) fn restore(
    store: &dyn UserStore,
    user: &str,
    revision: u64,
    expect: Option<u64>,
    allow_sensitive: bool,
    schema_file: Option<&Path>,
    out: &mut Output,
) -> Result<()> {
    let id = store.resolve(user)?;
    let text = store.revision_text(&id, revision)?;
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    let shape = schema::load_shape(store, schema_file)?;
    let data = CustomData::parse(&text)?;
    schema::check_document(shape.as_ref(), &text, &data)?;
    let findings = refuse_secrets(&data, allow_sensitive)?;
    let outcome = save_under_schema(store, &id, (&data, &text), expect, schema_file)?;
    // Only a save that wrote stored anything: "no changes" stored nothing new.
    if matches!(outcome, SaveOutcome::Saved { .. }) {
        warn_secrets_allowed(&findings);
    }
    report_outcome(&id, outcome, out)
}
