//! The scripting face of custodian: one subcommand per store operation, plain output, and
//! exit codes a script can branch on. Text that came from users is made inert before it
//! reaches a terminal; JSON sent to a pipe stays byte-exact.

pub mod args;
pub mod changes;
pub mod input;
pub mod patch;
mod postgres;
pub mod schema;

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use unicode_width::UnicodeWidthStr;

pub use args::{Cli, Command, SchemaAction};

use crate::domain::custom_data::{canonical_text, parse_object};
use crate::domain::history::HistoryReader;
use crate::domain::import::{ImportFileError, ImportReader, NewUser, RecordError, RecordRules, TakenOut};
use crate::domain::seal::{self, KeySet};
use crate::domain::secrets::{self, SecretFinding, find_secrets};
use crate::domain::shape::Shape;
use crate::domain::synthetic::SyntheticUsers;
use crate::domain::time::{format_utc, now_ms};
use crate::domain::{CustomData, Limits, ValidationError, human_bytes};
use crate::inert;
use crate::store::{
    Author, ImportMode, ImportSummary, ListEntry, OpenOptions, RedbStore, SaveOutcome, StoreError,
    UserRecord, UserStore,
};
use crate::{crash, database, export};
use crate::{key_file, location};

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const INVALID: u8 = 4;
    pub const CONFLICT: u8 = 5;
}

/// A usage mistake that clap cannot see (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// How many places a refusal or an `--allow-sensitive` warning names before it counts the rest
/// (a document can hold thousands; the line stays readable).
const SECRETS_NAMED: usize = 20;
/// How many places the import warning names.
const IMPORT_SECRETS_NAMED: usize = 5;

/// A save refused because customData looks like it holds secrets (exit code 4): customData
/// reaches front ends, so a password or token there leaks.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to store what looks like secrets in customData (it reaches front ends): {}; use --allow-sensitive to store it anyway",
    secrets::summary(.findings, SECRETS_NAMED)
)]
pub struct SecretsRefused {
    pub findings: Vec<SecretFinding>,
}

/// The exit code for an error, by what it is.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return match e {
                StoreError::UserNotFound(_)
                | StoreError::RevisionNotFound { .. }
                | StoreError::BatchNotFound(_) => exit::NOT_FOUND,
                // The operator has to say which user they mean: a usage matter.
                StoreError::Ambiguous { .. } => exit::USAGE,
                StoreError::Invalid(_) | StoreError::InvalidRecord(_) => exit::INVALID,
                StoreError::NotOnThisBackend(_) => exit::USAGE,
                e if e.is_conflict() => exit::CONFLICT,
                _ => exit::FAILURE,
            };
        }
        if cause.is::<ValidationError>()
            || cause.is::<ImportFileError>()
            || cause.is::<RecordError>()
            || cause.is::<SecretsRefused>()
            || cause.is::<input::DocumentTooLarge>()
            || cause.is::<seal::CannotOpen>()
            || cause.is::<seal::SealPathError>()
            || cause.is::<schema::SchemaViolations>()
            || cause.is::<schema::ShapeRefused>()
            || cause.is::<schema::CheckFailed>()
            || cause.is::<crate::domain::patch::PatchFileError>()
        {
            return exit::INVALID;
        }
        if cause.is::<patch::LeftAlone>() {
            return exit::CONFLICT;
        }
        if cause.is::<schema::NoSchema>() {
            return exit::NOT_FOUND;
        }
        if cause.is::<UsageError>() || cause.is::<crate::tui::CannotShowScreen>() {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}

/// Puts a refused command in the log as the TUI's refusals are: what was refused and why,
/// with ids and revisions only (a document's keys and values are the operator's data).
pub fn log_refusal(command: &Command, error: &anyhow::Error) {
    let name = command.name();
    let code = exit_code(error);
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            match e {
                StoreError::Conflict { user, expected, found } => {
                    tracing::warn!(command = name, %user, expected, found, "refused: saved by someone else in between");
                    return;
                }
                e if e.is_conflict() => {
                    tracing::warn!(command = name, conflict = %e, "refused: changed since it was read");
                    return;
                }
                StoreError::ReadOnly => {
                    tracing::warn!(command = name, "refused: read-only");
                    return;
                }
                _ => {}
            }
        }
        if let Some(refused) = cause.downcast_ref::<SecretsRefused>() {
            tracing::warn!(
                command = name,
                findings = refused.findings.len(),
                "refused: looks like it holds secrets"
            );
            return;
        }
        if cause.is::<ValidationError>() || cause.is::<input::DocumentTooLarge>() {
            tracing::warn!(command = name, exit = code, "refused: not a valid customData document");
            return;
        }
    }
    tracing::warn!(command = name, exit = code, "failed");
}

/// Runs one subcommand.
pub fn run(cli: &Cli, command: &Command) -> Result<()> {
    let db = cli.db.as_deref();
    if let Some(request) = changes_request(command) {
        // A time not understood is refused before the database is opened.
        changes::time_bounds(&request, now_ms())?;
    }
    if let Command::Keygen { out } = command {
        let kid = key_file::generate(out)?;
        println!(
            "wrote key {} to {} (mode 0600)",
            inert::line(&kid),
            inert::line(&out.display().to_string())
        );
        return Ok(());
    }
    if let Some(url) = database::postgres_url(db)
        && !matches!(command, Command::Completions { .. })
    {
        return postgres::run(cli, command, url);
    }
    if let Command::Init = command {
        let path = db.ok_or_else(|| UsageError("init needs --db PATH (or $CUSTODIAN_DB)".into()))?;
        if cli.read_only {
            return Err(StoreError::ReadOnly.into());
        }
        RedbStore::create(path, OpenOptions::default())?;
        println!("created {}", inert::line(&path.display().to_string()));
        return Ok(());
    }
    if let Command::Completions { shell } = command {
        let mut stdout = io::stdout();
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "custodian",
            &mut stdout,
        );
        return Ok(());
    }
    let options = match command {
        // Into an empty database seed is the import's sorted bulk load, which appends to
        // every tree and needs no large cache (256 MiB made its peak RSS 310 MiB at 1M).
        Command::Seed { .. } => OpenOptions { cache_bytes: IMPORT_CACHE_BYTES, ..OpenOptions::default() },
        // Pages evicted from a 2 MiB cache are written and read again and again by an import
        // of many users (system time was half of it); 24 MiB keeps an import of 1M within
        // 64 MiB of memory.
        Command::Import { .. } => OpenOptions { cache_bytes: IMPORT_CACHE_BYTES, ..OpenOptions::default() },
        // An export looks every user up by id in list order: the trees' upper pages stay
        // cached, so each user costs a read of two leaves, not of two whole paths.
        Command::Export { .. } => OpenOptions { cache_bytes: EXPORT_CACHE_BYTES, ..OpenOptions::default() },
        _ => OpenOptions::default(),
    };
    // A command that only reads opens the file read-only: that takes no writer lock, so it
    // neither waits for another operator's write nor holds one up. A file that needs a
    // repair after a crash is opened for writing once, which repairs it.
    let reads_only = matches!(
        command,
        Command::Get { .. }
            | Command::List { .. }
            | Command::History { .. }
            | Command::Changes { .. }
            | Command::Export { .. }
            | Command::Info
            | Command::Patch { yes: false, .. }
            | Command::Patch { dry_run: true, .. }
            | Command::Schema {
                action: SchemaAction::Get { .. } | SchemaAction::History | SchemaAction::Check { .. }
            }
    );
    let first_run = db.is_none() && !location::default_database().exists();
    let mut store = if reads_only && !cli.read_only && !first_run {
        match database::open(db, OpenOptions { read_only: true, ..options }) {
            Err(e) if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::NeedsRepair { .. })) => {
                database::open(db, options)?
            }
            // A file of an older layout is upgraded by its first read-write open; until then
            // a lookup would read every user.
            Ok(store) if store.needs_upgrade() => {
                drop(store);
                database::open(db, options)?
            }
            other => other?,
        }
    } else {
        database::open(db, OpenOptions { read_only: cli.read_only, ..options })?
    };
    let mut out = Output::stdout();
    // redb may panic on a damaged file wherever it reads: every command is contained, and
    // such a panic becomes one line naming the file.
    let outcome = crash::catch(|| match command {
        Command::Init | Command::Completions { .. } => Ok(()),
        Command::Info => info(&store, &mut out),
        Command::Import { file, upsert } => import(&store, file.as_deref(), *upsert, cli, &mut out),
        Command::Seed { users, seed } => seed_users(&mut store, *users, *seed, cli.quiet, &mut out),
        other => user_command(cli, &store, other, &mut out).unwrap_or(Ok(())),
    });
    let result = outcome.unwrap_or_else(|panicked| Err(panicked.into())).and_then(|()| out.flush());
    result.map_err(|e| name_the_damaged_file(e, store.path()))
}

/// The subcommands that read and edit users: the same on every store. `None` for the
/// others, which each backend runs (or refuses) itself.
fn user_command(cli: &Cli, store: &dyn UserStore, command: &Command, out: &mut Output) -> Option<Result<()>> {
    let (schema_file, key_file) = (cli.schema_file.as_deref(), cli.key_file.as_deref());
    Some(match command {
        Command::Export { out: file } => export(store, file.as_deref(), cli.quiet, out),
        Command::List { search, limit, json } => list(store, search.as_deref(), *limit, *json, out),
        Command::Get { user, revision, unseal } => unseal
            .then(|| keys_for("get --unseal", key_file))
            .transpose()
            .and_then(|keys| get(store, user, *revision, keys.as_ref(), out)),
        Command::Set { user, file, expect_revision, allow_sensitive, seal } => {
            (!seal.is_empty()).then(|| keys_for("set --seal", key_file)).transpose().and_then(|keys| {
                let sealing = keys.as_ref().map(|keys| (keys, seal.as_slice()));
                let checks = SetChecks { allow_sensitive: *allow_sensitive, sealing, schema_file };
                set(store, user, file.as_deref(), *expect_revision, checks, out)
            })
        }
        Command::History { user } => history(store, user, out),
        Command::Changes { .. } => changes_request(command).map_or(Ok(()), |r| changes::run(store, &r, out)),
        Command::Restore { user, revision, expect_revision, allow_sensitive } => {
            restore(store, user, *revision, *expect_revision, *allow_sensitive, schema_file, out)
        }
        Command::Schema { action } => schema::run(store, action, schema_file, cli.quiet, out),
        Command::Patch { .. } => patch::run(cli, store, command, out),
        Command::Undo { batch } => patch::undo(store, batch, out),
        _ => return None,
    })
}

/// `changes`, as its module takes it.
fn changes_request(command: &Command) -> Option<changes::ChangesRequest<'_>> {
    let Command::Changes { since, until, user, by, batch, json, limit } = command else { return None };
    Some(changes::ChangesRequest {
        since: since.as_deref(),
        until: until.as_deref(),
        user: user.as_deref(),
        by: by.as_deref(),
        batch: batch.as_deref(),
        json: *json,
        limit: *limit,
    })
}

/// A panic inside redb means the file is damaged: the error says which file.
fn name_the_damaged_file(error: anyhow::Error, path: &Path) -> anyhow::Error {
    let damaged =
        error.chain().any(|c| c.downcast_ref::<crash::Panicked>().is_some_and(|p| p.in_database_library));
    if damaged { error.context(path.display().to_string()) } else { error }
}

/// Standard output, knowing whether a person is reading it.
struct Output {
    writer: io::BufWriter<io::Stdout>,
    terminal: bool,
}

impl Output {
    fn stdout() -> Self {
        Self { terminal: io::stdout().is_terminal(), writer: io::BufWriter::new(io::stdout()) }
    }

    /// Writes a line; a closed pipe (`custodian list | head`) is not an error.
    fn line(&mut self, text: &str) -> Result<()> {
        match writeln!(self.writer, "{text}") {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        }
    }

    /// JSON text: exact for a pipe, with C1 and bidi characters escaped for a terminal.
    fn json(&mut self, text: &str) -> Result<()> {
        if self.terminal { self.line(&inert::json(text)) } else { self.line(text) }
    }

    fn flush(&mut self) -> Result<()> {
        match self.writer.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        }
    }
}

fn import(store: &RedbStore, file: Option<&Path>, upsert: bool, cli: &Cli, out: &mut Output) -> Result<()> {
    let (tenant, quiet) = (cli.tenant.clone(), cli.quiet);
    let mode = if upsert { ImportMode::Upsert } else { ImportMode::InsertOnly };
    let rules = RecordRules::new(Limits::default(), now_ms()).only_tenant(tenant.clone());
    let shape = schema::load_shape(store, cli.schema_file.as_deref())?;
    let shape = shape.as_ref();
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
    // Not compacted afterwards, unlike seed: at 1M users in list order the compaction took
    // longer than the import and gave back 6 % (1,140 → 1,074 MB).
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

fn export(store: &dyn UserStore, file: Option<&Path>, quiet: bool, out: &mut Output) -> Result<()> {
    let bar = progress(
        Some(store.count()?),
        quiet,
        "{spinner} {human_pos}/{human_len} users · {per_sec} · ETA {eta}",
    );
    let exported = match file {
        None => {
            let mut lines: u64 = 0;
            export::each_line(store, &mut |line| {
                lines += 1;
                if lines.is_multiple_of(4096) {
                    bar.set_position(lines);
                }
                out.json(line)
            })
            .map(|_| ())
        }
        Some(path) => {
            export::to_file_telling(store, path, &mut |lines| bar.set_position(lines)).map(|count| {
                bar.finish_and_clear();
                eprintln!("exported {count} users to {}", inert::line(&path.display().to_string()));
            })
        }
    };
    bar.finish_and_clear();
    exported
}

fn list(
    store: &dyn UserStore,
    search: Option<&str>,
    limit: usize,
    json: bool,
    out: &mut Output,
) -> Result<()> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    // One row past the limit says whether there are more, so the cut is never silent.
    let wanted = limit.saturating_add(1);
    let mut entries = match search {
        Some(query) => store.search(query, None, wanted)?,
        None => {
            let mut all = Vec::new();
            let mut after = None;
            while all.len() < wanted {
                let page = store.page_after(after.as_ref(), (wanted - all.len()).min(1000))?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                all.extend(page);
            }
            all
        }
    };
    if entries.len() > limit {
        entries.truncate(limit);
        say_more_follow(store, search, limit)?;
    }
    if json {
        for entry in &entries {
            let document = store.custom_data(&entry.user.id)?;
            let record = UserRecord {
                user: (*entry.user).clone(),
                revision: entry.revision,
                revised_at: 0,
                revised_by: String::new(),
            };
            out.json(&export::user_line(&record, &document.text)?)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries.iter().map(list_row).collect();
    for line in table(&["ID", "USERNAME", "EMAIL", "PHONE", "NAME", "REV"], &rows) {
        out.line(&line)?;
    }
    Ok(())
}

fn list_row(entry: &ListEntry) -> Vec<String> {
    let user = &entry.user;
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let mut name = text(&user.name);
    if user.is_suspended {
        name.push_str(" (suspended)");
    }
    vec![
        user.id.clone(),
        text(&user.username),
        text(&user.primary_email),
        text(&user.primary_phone),
        name,
        entry.revision.to_string(),
    ]
}

/// `list` stopped at its limit: on a terminal, stderr says how many it left out and how to
/// see them (`custodian list | grep …` must not miss users without a word).
fn say_more_follow(store: &dyn UserStore, search: Option<&str>, limit: usize) -> Result<()> {
    if !io::stderr().is_terminal() {
        return Ok(());
    }
    let message = match search {
        // Counting every match would read the whole database: say only that there are more.
        Some(_) => {
            format!("showing the first {limit} matches; more match — --limit N shows more, --limit 0 all")
        }
        None => {
            let more = store.count()?.saturating_sub(limit as u64);
            format!("showing the first {limit} users; {more} more — --limit N shows more, --limit 0 all")
        }
    };
    eprintln!("custodian: {message}");
    Ok(())
}

/// Lays out rows as aligned columns; cells are made inert and cut to 40 columns.
fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    const MAX: usize = 40;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| inert::cut_to_width(&inert::line(cell), MAX).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let render = |row: Vec<&str>| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width.saturating_sub(cell.width()))))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![render(headers.to_vec())];
    lines.extend(cells.iter().map(|row| render(row.iter().map(String::as_str).collect())));
    lines
}

/// The key file a command needs, or a usage error saying how to name one.
fn keys_for(what: &str, key_file: Option<&Path>) -> Result<KeySet> {
    let path = key_file.ok_or_else(|| {
        UsageError(format!(
            "{what} needs a key: --key-file FILE or $CUSTODIAN_KEY_FILE (make one with `custodian keygen --out FILE`)"
        ))
    })?;
    Ok(key_file::load(path)?)
}

fn get(
    store: &dyn UserStore,
    user: &str,
    revision: Option<u64>,
    unseal: Option<&KeySet>,
    out: &mut Output,
) -> Result<()> {
    let id = store.resolve(user)?;
    let text = match revision {
        Some(revision) => store.revision_text(&id, revision)?,
        None => store.custom_data(&id)?.text,
    };
    let Some(keys) = unseal else { return out.json(&text) };
    let mut object = parse_object(&text).context("the stored customData is not a JSON object")?;
    // Nothing is printed unless every value this key file can open opened.
    let left_sealed = seal::open_all(&mut object, keys)?;
    for left in &left_sealed {
        eprintln!("custodian: left sealed: {}", inert::line(&format!("{} ({})", left.path, left.error)));
    }
    out.json(&canonical_text(&object))
}

/// What `set` holds a document to, besides the JSON rules.
struct SetChecks<'a> {
    allow_sensitive: bool,
    /// `--seal`: the key and the paths of the values to seal first.
    sealing: Option<(&'a KeySet, &'a [String])>,
    /// `--schema FILE`, else the stored schema.
    schema_file: Option<&'a Path>,
}

fn set(
    store: &dyn UserStore,
    user: &str,
    file: Option<&Path>,
    expect: Option<u64>,
    checks: SetChecks,
    out: &mut Output,
) -> Result<()> {
    let id = store.resolve(user)?;
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    let shape = schema::load_shape(store, checks.schema_file)?;
    let limits = Limits::default();
    let bytes = input::read_document(file, input::MAX_DOCUMENT_TEXT, limits.max_bytes)?;
    let mut data = CustomData::parse_bytes(&bytes, &limits)?;
    // parse_bytes accepted it, so it is UTF-8; the schema's positions are in this text.
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some((keys, paths)) = checks.sealing {
        let mut object = data.into_object();
        seal::seal_paths(&mut object, paths, keys.sealing_key(), seal::fresh_iv)
            .map_err(|e| key_file::KeyFileProblem::NoRandomness(e.to_string()))??;
        // Sealing makes values longer: the size limit is checked again, and the schema sees
        // the document as it will be stored.
        data = CustomData::from_value(serde_json::Value::Object(object), &limits)?;
        text = data.canonical().to_owned();
    }
    schema::check_document(shape.as_ref(), &text, &data)?;
    let findings = refuse_secrets(&data, checks.allow_sensitive)?;
    let outcome = save(store, &id, &data, expect)?;
    warn_secrets_allowed(&findings);
    report_outcome(&id, outcome, &data, out)
}

/// Saves, and when the connection went while the save was committing (PostgreSQL), connects
/// again and finds out whether it did commit: never reports a save that did not happen. One
/// line on stderr says what happened to the connection; the save's own line (or error)
/// follows.
fn save(store: &dyn UserStore, id: &str, data: &CustomData, expect: Option<u64>) -> Result<SaveOutcome> {
    let revision = match store.replace_custom_data(id, data, expect, &Author::from_environment()) {
        Err(StoreError::SaveOutcomeUnknown { revision, .. }) => revision,
        other => return Ok(other?),
    };
    tracing::warn!(user = %id, revision, "save outcome unknown: the connection went during its commit");
    let landed = store.reconnect().and_then(|()| store.save_landed(id, data, revision));
    match landed {
        Ok(true) => {
            eprintln!(
                "custodian: the connection was lost while the save was committing; after reconnecting: the save did commit as revision {revision}"
            );
            Ok(SaveOutcome::Saved { revision, removed: Vec::new() })
        }
        Ok(false) => anyhow::bail!(
            "the connection was lost while the save was committing; after reconnecting: the save did not happen (user {id} has no revision {revision} holding this document); nothing was written"
        ),
        Err(e) => anyhow::bail!(
            "the connection was lost while the save was committing, and custodian cannot tell whether it happened ({e}); check with `custodian history id:{id}` and `custodian get id:{id} --revision {revision}` against this database: revision {revision} is this save if it is there"
        ),
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
    eprintln!("custodian: {}", inert::line(&message));
}

/// Says what a save did; after a full replacement, also which top-level keys it removed
/// (on stderr, so scripts reading stdout see one line). The store names them from the
/// document its write transaction replaced, so another writer just before cannot make them
/// wrong.
fn report_outcome(id: &str, outcome: SaveOutcome, new: &CustomData, out: &mut Output) -> Result<()> {
    match outcome {
        SaveOutcome::Saved { revision, removed } => {
            tracing::info!(user = %id, revision, "saved from the command line");
            if !removed.is_empty() {
                let names: Vec<_> = removed.iter().map(|k| inert::line(k).into_owned()).collect();
                eprintln!("custodian: user {}: removed keys: {}", inert::line(id), names.join(", "));
            }
            out.line(&format!("saved: user {id} revision {revision} ({})", human_bytes(new.size())))
        }
        SaveOutcome::Unchanged { revision } => {
            out.line(&format!("no changes: user {id} stays at revision {revision}"))
        }
    }
}

fn history(store: &dyn UserStore, user: &str, out: &mut Output) -> Result<()> {
    let id = store.resolve(user)?;
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

fn restore(
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
    let outcome = save(store, &id, &data, expect)?;
    warn_secrets_allowed(&findings);
    report_outcome(&id, outcome, &data, out)
}

/// Where things are, for an operator finding their way around a box.
fn info(store: &RedbStore, out: &mut Output) -> Result<()> {
    let database = fs::canonicalize(store.path()).unwrap_or_else(|_| store.path().to_owned());
    let drafts = location::state_dir().join("drafts");
    let rows = [
        ("database", database.display().to_string()),
        ("schema version", store.schema_version()?.to_string()),
        ("users", store.count()?.to_string()),
        ("drafts", drafts.display().to_string()),
        ("log", location::log_file().display().to_string()),
    ];
    for (label, value) in rows {
        out.line(&format!("{label:<15}{}", inert::line(&value)))?;
    }
    // Users an upgrade to the Unicode fold found sharing a name: all kept, named here.
    for (field, value, ids) in store.name_collisions()? {
        let line = format!("{field} {value:?} is shared by users {}", ids.join(", "));
        out.line(&format!("{:<15}{}", "collision", inert::line(&line)))?;
    }
    Ok(())
}

/// redb's page cache for `import`.
const IMPORT_CACHE_BYTES: usize = 24 * 1024 * 1024;

/// redb's page cache for `export`.
const EXPORT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Progress on stderr for a whole-database command: only when stderr is a terminal and
/// `--quiet` was not given; hidden (drawing nothing) otherwise.
pub fn progress(total: Option<u64>, quiet: bool, template: &str) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    // Drawn on its own clock too, so a phase without new counts (the sorted merge at the
    // end of an import, a compaction) still shows time passing.
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Seeds of at least this many users compact the file afterwards.
const COMPACT_AFTER: u64 = 100_000;

/// Gives back the room a large load left in the file (redb grows files in large steps).
fn compact_after_load(store: &mut RedbStore, out: &mut Output) -> Result<()> {
    let started = Instant::now();
    let before = std::fs::metadata(store.path()).map(|m| m.len()).unwrap_or(0);
    match store.compact() {
        Ok(()) => {
            let after = std::fs::metadata(store.path()).map(|m| m.len()).unwrap_or(0);
            out.line(&format!(
                "compacted {} MB to {} MB in {:.1} s",
                before / 1_000_000,
                after / 1_000_000,
                started.elapsed().as_secs_f64(),
            ))?;
        }
        // The users are in; a file larger than it needs to be is no reason to fail.
        Err(e) => eprintln!("custodian: warning: the file was not compacted: {e}"),
    }
    Ok(())
}

fn seed_users(store: &mut RedbStore, users: u64, seed: u64, quiet: bool, out: &mut Output) -> Result<()> {
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    let started = Instant::now();
    let author = Author(format!("{} (seed)", Author::from_environment().0));
    let existing = store.count()?;
    // A second run with the same seed into the same database must not repeat the ids.
    let generator = SyntheticUsers::new(seed ^ existing.wrapping_mul(0x9E37_79B9_7F4A_7C15), existing);
    // One transaction: all of the users or none, written as one sorted bulk load.
    let bar = progress(Some(users), quiet, "{spinner} {human_pos}/{human_len} users · {per_sec} · ETA {eta}");
    let mut made: u64 = 0;
    let mut generated = generator.take(users as usize).inspect(|_| {
        made += 1;
        if made.is_multiple_of(4096) {
            bar.set_position(made);
        }
    });
    let loaded = store.bulk_insert(&mut generated, &author);
    bar.finish_and_clear();
    loaded?;
    let seeded = started.elapsed();
    out.line(&format!("seeded {users} users in {:.1} s", seeded.as_secs_f64()))?;
    // Large loads leave the file with room it no longer needs; small ones are not worth it.
    if users >= COMPACT_AFTER {
        compact_after_load(store, out)?;
    }
    Ok(())
}
