//! `import`: users from JSON Lines or a JSON array, checked record by record and written in
//! one transaction.

use std::path::Path;

use anyhow::Result;

use super::whole_database::{COMPACT_AFTER, compact_after_load};
use super::{Cli, IMPORT_SECRETS_NAMED, Output, input, progress, schema};
use crate::domain::Limits;
use crate::domain::import::{ImportReader, NewUser, RecordError, RecordRules, TakenOut};
use crate::domain::secrets::{self, SecretFinding, find_secrets};
use crate::domain::shape::Shape;
use crate::domain::time::now_ms;
use crate::inert;
use crate::store::{Author, ImportMode, ImportSummary, RedbStore, UserStore};

pub(super) fn import(
    store: &mut RedbStore,
    file: Option<&Path>,
    upsert: bool,
    cli: &Cli,
    out: &mut Output,
) -> Result<()> {
    let (tenant, quiet) = (cli.tenant.clone(), cli.quiet);
    let mode = if upsert { ImportMode::Upsert } else { ImportMode::InsertOnly };
    let rules = RecordRules::new(Limits::default(), now_ms()).only_tenant(tenant.clone());
    let shape = schema::load_shape(store, cli.schema_file.as_deref())?;
    let shape = shape.as_ref();
    // Into an empty database, an insert is the sorted bulk load, as `seed`'s.
    let bulk_load = mode == ImportMode::InsertOnly && store.count()? == 0;
    let (summary, taken, flagged) = match input::open_import(file, input::MAX_RECORD_BYTES)? {
        input::ImportInput::Whole(bytes) => import_whole(store, &bytes, rules, mode, shape)?,
        input::ImportInput::Records(records) => import_stream(store, records, rules, mode, quiet, shape)?,
    };
    if let Some(tenant) = &tenant {
        let skipped = taken.other_tenants;
        let records = if skipped == 1 { "1 record".to_owned() } else { format!("{skipped} records") };
        let message = format!("skipped {records} of other tenants or of none (--tenant {tenant})");
        eprintln!("custodian: {}", inert::line(&message));
    }
    if taken.users_with_credentials > 0 {
        let count = taken.users_with_credentials;
        let users = if count == 1 { "1 user".to_owned() } else { format!("{count} users") };
        let message = format!(
            "credentials are never imported: dropped {} from {users}",
            taken.credential_fields.join(", ")
        );
        eprintln!("custodian: {}", inert::line(&message));
    }
    out.line(&format!(
        "imported: {} new, {} updated, {} unchanged",
        summary.inserted, summary.updated, summary.unchanged
    ))?;
    // A large bulk load is compacted afterwards, as a seed is: redb grew the file in large
    // steps (1M users: 1,141 MB, ~930 MB compacted, in ~5 s).
    if bulk_load && summary.inserted >= COMPACT_AFTER {
        compact_after_load(store, out)?;
    }
    // An upsert is a full replacement of customData: say what it removed, as `set` does.
    for (id, keys) in &summary.removed_keys {
        let names: Vec<_> = keys.iter().map(|k| inert::line(k).into_owned()).collect();
        eprintln!("custodian: warning: user {}: removed keys: {}", inert::line(id), names.join(", "));
    }
    if !flagged.is_empty() {
        let places: Vec<String> =
            flagged.iter().flat_map(|(id, found)| found.iter().map(move |f| format!("{id}: {f}"))).collect();
        let users = if flagged.len() == 1 { "1 user".to_owned() } else { format!("{} users", flagged.len()) };
        let message = format!(
            "warning: customData of {users} looks like it holds secrets (it reaches front ends), {} in all: {}",
            places.len(),
            secrets::summary(&places, IMPORT_SECRETS_NAMED)
        );
        eprintln!("custodian: {}", inert::line(&message));
    }
    Ok(())
}

/// Users whose customData looks like it holds secrets, with what was found.
type Flagged = Vec<(String, Vec<SecretFinding>)>;

/// A record whose customData breaks the schema is a bad record: the import writes nothing.
fn hold_to_schema(
    record: Result<NewUser, RecordError>,
    shape: Option<&Shape>,
) -> Result<NewUser, RecordError> {
    let new = record?;
    if let (Some(shape), Some(data)) = (shape, &new.custom_data) {
        let value = serde_json::Value::Object(data.as_object().clone());
        let violations = shape.violations(data.canonical(), &value);
        if !violations.is_empty() {
            let errors: Vec<String> = violations.iter().map(|v| v.short()).collect();
            return Err(RecordError {
                origin: new.origin.clone(),
                reason: format!(
                    "customData does not satisfy the schema: {}",
                    secrets::summary(&errors, IMPORT_SECRETS_NAMED * 2).replace(", ", "; ")
                ),
            });
        }
    }
    Ok(new)
}

/// An import is a migration, not an edit: it warns about secrets instead of refusing.
fn flag_secrets(record: &Result<NewUser, RecordError>, flagged: &mut Flagged) {
    if let Ok(new) = record
        && let Some(data) = &new.custom_data
    {
        let found = find_secrets(data.as_object());
        if !found.is_empty() {
            flagged.push((new.user.id.clone(), found));
        }
    }
}

/// Input that is neither shape (a byte-order mark, not UTF-8, empty) read whole, and named.
fn import_whole(
    store: &RedbStore,
    bytes: &[u8],
    rules: RecordRules,
    mode: ImportMode,
    shape: Option<&Shape>,
) -> Result<(ImportSummary, TakenOut, Flagged)> {
    let mut reader = ImportReader::new(bytes, Limits::default(), now_ms())?.with_rules(rules);
    let mut flagged = Flagged::new();
    let mut users = reader
        .by_ref()
        .inspect(|record| flag_secrets(record, &mut flagged))
        .map(|record| hold_to_schema(record, shape));
    let summary = store.import(&mut users, mode, &Author::from_environment())?;
    drop(users);
    Ok((summary, reader.taken_out().clone(), flagged))
}

/// JSON Lines or an array's elements as they arrive: one thread reads and checks records while
/// this one writes them into the import's single transaction (two cores, and memory bounded
/// by the records in flight). A bad record ends the stream with an error, and the
/// transaction is dropped.
fn import_stream(
    store: &RedbStore,
    lines: input::RecordStream,
    mut rules: RecordRules,
    mode: ImportMode,
    quiet: bool,
    shape: Option<&Shape>,
) -> Result<(ImportSummary, TakenOut, Flagged)> {
    let bar = progress(
        lines.total_bytes(),
        quiet,
        "{spinner} {msg} users · {binary_bytes}/{binary_total_bytes} · {binary_bytes_per_sec} · ETA {eta}",
    );
    let bytes_read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader_bytes = bytes_read.clone();
    /// Records read ahead of the writer: enough to keep both busy, few enough to stay small.
    const IN_FLIGHT: usize = 1024;
    // `None` marks the end: a reader that stops without sending it (a panic) must not look
    // like the end of the input, or the transaction would commit a part of it.
    let (send, receive) = std::sync::mpsc::sync_channel::<Option<Result<NewUser, RecordError>>>(IN_FLIGHT);
    let unreadable: std::sync::Arc<std::sync::Mutex<Option<anyhow::Error>>> = Default::default();
    let reader_unreadable = unreadable.clone();
    let reader = std::thread::spawn(move || {
        let mut flagged = Flagged::new();
        let mut lines = lines;
        while let Some(item) = lines.next() {
            reader_bytes.store(lines.consumed(), std::sync::atomic::Ordering::Relaxed);
            let record = match item {
                Ok((origin, text)) => match rules.read_record(&text, origin) {
                    None => continue,
                    Some(record) => record,
                },
                Err(input::LineError::Record(e)) => Err(e),
                Err(input::LineError::Io(e)) => {
                    let reason = format!("{e:#}");
                    if let Ok(mut slot) = reader_unreadable.lock() {
                        *slot = Some(e);
                    }
                    Err(RecordError { origin: "the import".into(), reason })
                }
            };
            let failed = record.is_err();
            flag_secrets(&record, &mut flagged);
            if send.send(Some(record)).is_err() || failed {
                return (rules.taken_out().clone(), flagged);
            }
        }
        let _ = send.send(None);
        (rules.taken_out().clone(), flagged)
    });
    let mut count: u64 = 0;
    let mut records = std::iter::from_fn(|| match receive.recv() {
        Ok(record) => {
            count += 1;
            if count.is_multiple_of(4096) {
                bar.set_position(bytes_read.load(std::sync::atomic::Ordering::Relaxed));
                bar.set_message(count.to_string());
            }
            record.map(|record| hold_to_schema(record, shape))
        }
        Err(_) => Some(Err(RecordError {
            origin: "the import".into(),
            reason: "its reader stopped before the end; nothing was imported".into(),
        })),
    });
    let imported = store.import(&mut records, mode, &Author::from_environment());
    bar.finish_and_clear();
    let summary = match imported {
        Ok(summary) => summary,
        Err(e) => {
            // The reader may still be waiting on a source that never ends: it is not waited for.
            if let Some(unreadable) = unreadable.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(unreadable);
            }
            return Err(e.into());
        }
    };
    let (taken, flagged) = reader.join().map_err(|_| anyhow::anyhow!("the import's reader failed"))?;
    Ok((summary, taken, flagged))
}
