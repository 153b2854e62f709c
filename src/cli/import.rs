//! `import`: users from JSON Lines or a JSON array, checked record by record and written in
//! one transaction.

use std::path::Path;

use anyhow::Result;

use super::whole_database;
use super::{Cli, IMPORT_SECRETS_NAMED, Output, input, progress, schema};
use crate::domain::import::{ImportReader, NewUser, RecordError, RecordRules, TENANTS_NAMED, TakenOut};
use crate::domain::secrets::{self, SecretFinding, find_secrets};
use crate::domain::shape::Shape;
use crate::domain::time::now_ms;
use crate::domain::{Limits, group_digits};
use crate::inert;
use crate::store::{Author, ImportMode, ImportSource, ImportSummary, RedbStore, UserStore};

mod flow;
use flow::{BATCH, BATCH_TEXT, BATCHES_IN_FLIGHT, Batch, Shipper, user_bytes};

/// `custodian import`; the file's size before it when its growth is to be said (the caller
/// says it once the file is closed).
pub(super) fn import(
    store: &mut RedbStore,
    file: Option<&Path>,
    mode: ImportMode,
    cli: &Cli,
    out: &mut Output,
) -> Result<Option<u64>> {
    let (tenant, quiet) = (cli.tenant.clone(), cli.quiet);
    let rules = RecordRules::new(Limits::default(), now_ms())
        .only_tenant(tenant.clone())
        .keeping_fields(mode.is_upsert());
    let shape = schema::load_shape(store, cli.schema_file.as_deref())?;
    let held = shape.as_ref().map(|shape| RecordSchema::new(shape, mode.is_upsert().then_some(&*store)));
    let shape = held.as_ref();
    // Into an empty database, an insert is the sorted bulk load, as `seed`'s.
    let bulk_load = mode == ImportMode::InsertOnly && store.count()? == 0;
    let before = whole_database::file_size(store);
    // Into a database that holds users the import takes the write lock at its first record:
    // a pipe is read ahead first, so a producer that stalls holds no one's saves.
    let read_ahead_in = (!bulk_load).then(|| store.dir());
    let mut opened =
        input::open_import_or_interrupted(file, input::MAX_RECORD_BYTES, read_ahead_in.as_deref())?;
    if let input::ImportInput::Records(records) = &mut opened {
        records.keeping_only_tenant(tenant.clone());
    }
    let (summary, taken, flagged) = match opened {
        input::ImportInput::Whole(bytes) => import_whole(store, &bytes, rules, mode, shape)?,
        input::ImportInput::Records(records) => import_stream(store, records, rules, mode, quiet, shape)?,
    };
    if let Some(tenant) = tenant.as_ref().filter(|_| taken.other_tenants > 0) {
        let skipped = taken.other_tenants;
        let records = if skipped == 1 {
            "1 record".to_owned()
        } else {
            format!("{} records", group_digits(skipped as u64))
        };
        let message = format!("skipped {records} of other tenants or of none (--tenant {tenant})");
        crate::stderr_line!("custodian: {}", inert::line(&message));
    }
    if let Some(message) = tenants_merged(&taken) {
        crate::stderr_line!("custodian: {}", inert::line(&message));
    }
    if taken.users_with_credentials > 0 {
        // Grouped as every other count (`from 1500 users`: bb83 F5).
        let users = crate::domain::patch::users(taken.users_with_credentials as u64);
        let message = format!(
            "credentials are never imported: dropped {} from {users}",
            taken.credential_fields.join(", ")
        );
        crate::stderr_line!("custodian: {}", inert::line(&message));
    }
    // Counts only: the records are the operator's data.
    tracing::info!(
        new = summary.inserted,
        updated = summary.updated,
        unchanged = summary.unchanged,
        "import written"
    );
    out.line(&format!(
        "imported: {} new, {} updated, {} unchanged",
        group_digits(summary.inserted),
        group_digits(summary.updated),
        group_digits(summary.unchanged)
    ))?;
    // An upsert is a full replacement of customData: say what it removed, as `set` does.
    for (id, keys, count) in &summary.removed_keys {
        crate::stderr_line!(
            "custodian: warning: user {}: removed keys: {}",
            inert::line(&crate::domain::user_ref::UserRef::shown_id(id)),
            super::one_user::removed_keys_of(keys, *count)
        );
    }
    let named = summary.removed_keys.len() as u64;
    if let Some(more) = summary.users_with_removed_keys.checked_sub(named).filter(|more| *more > 0) {
        crate::stderr_line!(
            "custodian: warning: and {} more users had keys removed (`custodian history USER` shows what each one held)",
            group_digits(more)
        );
    }
    // A record without `updatedAt` (a file made by hand) cannot be held against a save made
    // since: said, as the refusal of an older one is (bb57 F6).
    if summary.unchecked > 0 {
        let users = crate::domain::patch::users(summary.unchecked);
        crate::stderr_line!(
            "custodian: warning: customData of {users} replaced by records that give no updatedAt: whether they were saved after the records were made could not be checked, so any such save was replaced (it is kept in the history; records with their updatedAt, as export writes them, are refused over a later save)"
        );
    }
    // Only when something was written: an upsert that changed no one (a nightly re-sync of
    // the same export) imported no secret, and its warning drowned a new one (bb40 F4). When
    // some records were unchanged, the warning says it counts the records read.
    if flagged.users > 0 && summary.inserted + summary.updated > 0 {
        let users = crate::domain::patch::users(flagged.users);
        let read = if summary.unchanged > 0 {
            format!(
                " (of the records read, {} of them unchanged and stored as they were)",
                group_digits(summary.unchanged)
            )
        } else {
            String::new()
        };
        let message = format!(
            "warning: customData of {users} looks like it holds secrets (it reaches front ends){read}, {} in all: {}",
            flagged.places,
            secrets::summary_of_first(&flagged.first, flagged.places, ", ")
        );
        crate::stderr_line!("custodian: {}", inert::line(&message));
    }
    // The size before, for the growth to be said once the file is closed; a bulk load is not
    // compacted, as a seed is not (`seed_users` says why), and its growth is not said.
    Ok((!bulk_load).then_some(before))
}

/// The line that says the records of several tenants were imported together.
fn tenants_merged(taken: &TakenOut) -> Option<String> {
    if taken.tenants.len() < 2 {
        return None;
    }
    let mut named: Vec<String> = taken
        .tenants
        .iter()
        .map(|(tenant, count)| {
            format!("{} ({})", inert::cut_to_width(&format!("{tenant:?}"), 42), group_digits(*count as u64))
        })
        .collect();
    let count = if taken.later_tenants > 0 {
        named.push(format!("and {} records of other tenants", group_digits(taken.later_tenants as u64)));
        format!("more than {TENANTS_NAMED}")
    } else {
        taken.tenants.len().to_string()
    };
    Some(format!(
        "warning: the records are of {count} tenants, imported together: {} (`--tenant ID` imports one tenant's records; Logto keeps its console's own accounts in tenant \"admin\")",
        named.join(", ")
    ))
}

/// What the secrets lint found in an import's users: counted in full, with only the first
/// places kept to name (a million flagged users would otherwise be held to the end).
#[derive(Debug, Default)]
struct Flagged {
    users: u64,
    places: u64,
    /// `id: finding`, the first [`IMPORT_SECRETS_NAMED`] places.
    first: Vec<String>,
}

impl Flagged {
    fn note(&mut self, id: &str, found: &[SecretFinding]) {
        if found.is_empty() {
            return;
        }
        self.users += 1;
        self.places += found.len() as u64;
        let room = IMPORT_SECRETS_NAMED.saturating_sub(self.first.len());
        self.first.extend(found.iter().take(room).map(|finding| format!("{id}: {finding}")));
    }
}

/// What each record is held to: the schema, and what a record that leaves customData out
/// stores — `{}` for a new user, which the schema may refuse.
struct RecordSchema<'a> {
    shape: &'a Shape,
    /// Why `{}` breaks the schema, when it does.
    empty_breaks: Option<String>,
    /// An upsert's store: a record that leaves customData out keeps an existing user's own.
    existing: Option<&'a RedbStore>,
}

impl<'a> RecordSchema<'a> {
    fn new(shape: &'a Shape, existing: Option<&'a RedbStore>) -> Self {
        let violations = shape.violations("{}", &serde_json::Value::Object(serde_json::Map::new()));
        let empty_breaks = (!violations.is_empty()).then(|| short_errors(&violations));
        Self { shape, empty_breaks, existing }
    }

    /// Whether the record's user is new: it gets `{}` when the record leaves customData out.
    fn is_new(&self, new: &NewUser) -> Result<bool, RecordError> {
        let Some(store) = self.existing else { return Ok(true) };
        match store.user(&new.user.id) {
            Ok(_) => Ok(false),
            Err(crate::store::StoreError::UserNotFound(_)) => Ok(true),
            Err(e) => Err(RecordError { origin: new.origin.clone(), reason: e.to_string() }),
        }
    }
}

fn short_errors(violations: &[crate::domain::shape::Violation]) -> String {
    let errors: Vec<String> = violations.iter().map(|v| v.short()).collect();
    secrets::summary_joined(&errors, IMPORT_SECRETS_NAMED * 2, "; ")
}

/// A record whose customData breaks the schema is a bad record: the import writes nothing. So
/// is one that leaves customData out for a new user when the schema refuses its `{}`.
fn hold_to_schema(
    record: Result<NewUser, RecordError>,
    schema: Option<&RecordSchema>,
) -> Result<NewUser, RecordError> {
    let new = record?;
    let Some(schema) = schema else { return Ok(new) };
    if new.custom_data.is_none()
        && let Some(why) = &schema.empty_breaks
        && schema.is_new(&new)?
    {
        return Err(RecordError {
            origin: new.origin.clone(),
            reason: format!(
                "customData is left out, and the {{}} a new user gets then does not satisfy the schema: {why}"
            ),
        });
    }
    if let Some(data) = &new.custom_data {
        let shape = schema.shape;
        let value = serde_json::Value::Object(data.as_object().clone());
        let violations = shape.violations(data.canonical(), &value);
        if !violations.is_empty() {
            return Err(RecordError {
                origin: new.origin.clone(),
                reason: format!("customData does not satisfy the schema: {}", short_errors(&violations)),
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
        flagged.note(&new.user.id, &find_secrets(data.as_object()));
    }
}

/// The writing side of [`import_stream`]: records as the reading thread sends them, each
/// held to the schema; written users go back to that thread in batches.
struct StreamedRecords<'a> {
    batches: std::sync::mpsc::Receiver<Option<Batch>>,
    batch: std::vec::IntoIter<Result<NewUser, RecordError>>,
    ended: bool,
    written: Vec<NewUser>,
    /// [`user_bytes`] of those written and not given back yet.
    written_bytes: usize,
    /// Written users going back to be freed, with their [`user_bytes`] (counted here: the
    /// reading thread, the busier one, does not count them again).
    to_free: std::sync::mpsc::Sender<(Vec<NewUser>, usize)>,
    count: u64,
    /// The secrets lint runs here: the reading thread is the busier one.
    flagged: Flagged,
    /// Told the count of records every 4,096 (progress).
    tell: &'a dyn Fn(u64),
    /// Told the count once every record is read (the merge and the commit follow).
    read_all: &'a dyn Fn(u64),
    shape: Option<&'a RecordSchema<'a>>,
}

impl ImportSource for StreamedRecords<'_> {
    fn next_user(&mut self) -> Option<Result<NewUser, RecordError>> {
        loop {
            if let Some(record) = self.batch.next() {
                self.count += 1;
                if self.count.is_multiple_of(4096) {
                    (self.tell)(self.count);
                }
                flag_secrets(&record, &mut self.flagged);
                return Some(hold_to_schema(record, self.shape));
            }
            if self.ended {
                return None;
            }
            // A source that goes quiet (a FIFO whose writer waits) must not hide a signal.
            match self.batches.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(Some(batch)) => self.batch = batch.into_iter(),
                Ok(None) => {
                    self.ended = true;
                    (self.read_all)(self.count);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if crate::interrupt::requested() => {
                    self.ended = true;
                    return Some(Err(RecordError {
                        origin: "the import".into(),
                        reason: "interrupted".into(),
                    }));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Some(Err(RecordError {
                        origin: "the import".into(),
                        reason: "its reader stopped before the end; nothing was imported".into(),
                    }));
                }
            }
        }
    }

    fn written(&mut self, user: NewUser) {
        self.written_bytes += user_bytes(&user);
        self.written.push(user);
        if self.written.len() == BATCH || self.written_bytes >= BATCH_TEXT {
            let done = std::mem::replace(&mut self.written, Vec::with_capacity(BATCH));
            // A reader that has stopped takes none back: they are freed here.
            let _ = self.to_free.send((done, std::mem::take(&mut self.written_bytes)));
        }
    }
}

/// Input that is neither shape (a byte-order mark, not UTF-8, empty) read whole, and named.
fn import_whole(
    store: &RedbStore,
    bytes: &[u8],
    rules: RecordRules,
    mode: ImportMode,
    shape: Option<&RecordSchema>,
) -> Result<(ImportSummary, TakenOut, Flagged)> {
    let mut reader = ImportReader::new(bytes, Limits::default(), now_ms())?.with_rules(rules);
    let mut flagged = Flagged::default();
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
/// transaction is dropped. The records go over in batches, and come back to the reading
/// thread once written, to be freed there (see [`ImportSource`]).
fn import_stream(
    store: &RedbStore,
    lines: input::RecordStream,
    mut rules: RecordRules,
    mode: ImportMode,
    quiet: bool,
    shape: Option<&RecordSchema>,
) -> Result<(ImportSummary, TakenOut, Flagged)> {
    // From a pipe the size is not known: no total and no ETA (it read "49 MiB/49 MiB · ETA 0s"
    // from the first moment to the last: bb23 L05).
    let template = match lines.total_bytes() {
        Some(_) => {
            "{spinner} {msg} users · {binary_bytes}/{binary_total_bytes} · {binary_bytes_per_sec} · ETA {eta}"
        }
        None => "{spinner} {msg} users · {binary_bytes} · {binary_bytes_per_sec}",
    };
    let bar = progress(lines.total_bytes(), quiet, template);
    // The count from the first frame: it drew `  users · 0 B` until the first batch (bb35 #11).
    bar.set_message("0");
    let bytes_read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader_bytes = bytes_read.clone();
    // `None` marks the end: a reader that stops without sending it (a panic) must not look
    // like the end of the input, or the transaction would commit a part of it.
    let (send, receive) = std::sync::mpsc::sync_channel::<Option<Batch>>(BATCHES_IN_FLIGHT);
    let (written, to_free) = std::sync::mpsc::channel::<(Vec<NewUser>, usize)>();
    let unreadable: std::sync::Arc<std::sync::Mutex<Option<anyhow::Error>>> = Default::default();
    let reader_unreadable = unreadable.clone();
    let reader = std::thread::spawn(move || {
        let mut lines = lines;
        let mut shipper = Shipper::new(send, to_free);
        loop {
            // A source that keeps quiet (a pipe whose writer waits, `tail -f`) must not hold
            // back records read: a refusal the writer finds in them is said at once (it came
            // only when the source ended: bb24 L06).
            if !lines.next_is_ready() && !shipper.ship() {
                return rules.taken_out().clone();
            }
            let Some(item) = lines.next() else { break };
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
            let full = shipper.add(record);
            if failed {
                // The writer reports it; nothing more is read.
                shipper.ship();
                return rules.taken_out().clone();
            }
            if full && !shipper.ship() {
                return rules.taken_out().clone();
            }
        }
        let (mut batch, send) = shipper.into_rest();
        batch.extend(rules.after_last().map(Err));
        if !batch.is_empty() && send.send(Some(batch)).is_err() {
            return rules.taken_out().clone();
        }
        let _ = send.send(None);
        rules.taken_out().clone()
    });
    let mut records = StreamedRecords {
        batches: receive,
        batch: Vec::new().into_iter(),
        ended: false,
        written: Vec::with_capacity(BATCH),
        written_bytes: 0,
        to_free: written,
        count: 0,
        flagged: Flagged::default(),
        tell: &|count| {
            bar.set_position(bytes_read.load(std::sync::atomic::Ordering::Relaxed));
            bar.set_message(crate::domain::custom_data::group_digits(count));
        },
        read_all: &|count| super::progress::writing_phase(&bar, count, "read"),
        shape,
    };
    let imported = store.import_from(&mut records, mode, &Author::from_environment());
    let flagged = std::mem::take(&mut records.flagged);
    drop(records);
    bar.finish_and_clear();
    let summary = match imported {
        Ok(summary) => summary,
        // Stopped by a signal while the source was quiet: nothing written.
        Err(_) if crate::interrupt::requested() => return Err(crate::store::StoreError::Interrupted.into()),
        Err(e) => {
            // The reader may still be waiting on a source that never ends: it is not waited for.
            if let Some(unreadable) = unreadable.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(unreadable);
            }
            return Err(e.into());
        }
    };
    let taken = reader.join().map_err(|_| anyhow::anyhow!("the import's reader failed"))?;
    Ok((summary, taken, flagged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn findings(document: serde_json::Value) -> Vec<SecretFinding> {
        find_secrets(document.as_object().expect("an object"))
    }

    #[test]
    fn flagged_users_are_counted_in_full_and_only_the_first_places_kept() {
        let mut flagged = Flagged::default();
        flagged.note("u0", &findings(json!({"theme": "dark"})));
        let secret = "c0rrect-h0rse-Battery-staple";
        flagged.note("u1", &findings(json!({"password": secret, "apiKey": secret})));
        flagged.note("u2", &findings(json!({"password": secret, "apiKey": secret, "secret": secret})));
        flagged.note("u3", &findings(json!({"token": secret, "password": secret})));
        assert_eq!((flagged.users, flagged.places), (3, 7), "u0 has none");
        assert_eq!(flagged.first.len(), IMPORT_SECRETS_NAMED);
        assert!(flagged.first[0].starts_with("u1: password"), "{:?}", flagged.first);
        assert!(flagged.first[4].starts_with("u2: secret"), "{:?}", flagged.first);
        assert!(
            secrets::summary_of_first(&flagged.first, flagged.places, ", ").ends_with(", and 2 more"),
            "{:?}",
            flagged.first
        );
    }
}
