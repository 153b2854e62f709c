//! The scripting face of custodian: one subcommand per store operation, plain output, and
//! exit codes a script can branch on. Text that came from users is made inert before it
//! reaches a terminal; JSON sent to a pipe stays byte-exact.

pub mod args;
pub mod changes;
mod damaged_file;
mod import;
pub mod input;
mod list;
mod one_user;
mod output;
pub mod patch;
mod postgres;
pub mod schema;
mod whole_database;

use std::fs;
use std::path::Path;

use anyhow::Result;

pub use args::{Cli, Command, SchemaAction};
use damaged_file::{closed_contained, name_the_damaged_file, repair_cannot_write_here};
use import::import;
use list::{list, table};
use one_user::{SetChecks, get, history, keys_for, restore, set};
use output::{Output, StdoutClosed, unless_closed, writes};
use whole_database::{export, seed_users};

use crate::domain::ValidationError;
use crate::domain::import::{ImportFileError, RecordError};
use crate::domain::seal;
use crate::domain::secrets::{self, SecretFinding};
use crate::domain::time::now_ms;
use crate::inert;
use crate::store::{OpenOptions, RedbStore, StoreError, UserStore};
use crate::{crash, database};
use crate::{key_file, location};

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const INVALID: u8 = 4;
    pub const CONFLICT: u8 = 5;
    /// Stopped by Ctrl-C (or SIGTERM, SIGHUP) with nothing written: 128 + SIGINT, as shells say.
    pub const INTERRUPTED: u8 = 130;
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
            return store_exit_code(e);
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
            || cause.is::<patch::UsersFileLine>()
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

/// The exit code a store error gives.
fn store_exit_code(e: &StoreError) -> u8 {
    match e {
        StoreError::UserNotFound(_)
        | StoreError::UserGone { .. }
        | StoreError::OnlyALiteralName { .. }
        | StoreError::RevisionNotFound { .. }
        | StoreError::SchemaRevisionNotFound(_)
        | StoreError::BatchNotFound(_)
        | StoreError::LoadNotUndoable { .. } => exit::NOT_FOUND,
        // The operator has to say which user they mean: a usage matter.
        StoreError::Ambiguous { .. } | StoreError::LooksExplicit { .. } => exit::USAGE,
        StoreError::Invalid(_)
        | StoreError::InvalidRecord(_)
        | StoreError::StoredTooLarge { .. }
        | StoreError::UserTooLarge { .. }
        | StoreError::NumberOutOfRange { .. } => exit::INVALID,
        StoreError::NotOnThisBackend(_) => exit::USAGE,
        // A record's error is its reason's: too large to keep is bad input, a full disk
        // a failure, not a collision with what is stored.
        StoreError::RecordConflict { reason, .. } => store_exit_code(reason),
        StoreError::Interrupted | StoreError::InterruptedOnServer => exit::INTERRUPTED,
        // Another's write (of the schema) landed first, as a conflict's does.
        StoreError::SchemaChanged { .. } => exit::CONFLICT,
        e if e.is_conflict() => exit::CONFLICT,
        _ => exit::FAILURE,
    }
}

/// A refusal for a collision with what is stored, by its kind and the ids involved: the name
/// that collided (an email, a username) is the user's data and stays out of the log.
fn log_collision(name: &str, error: &StoreError, origin: &str) {
    match error {
        StoreError::RecordConflict { origin, reason } => log_collision(name, reason, origin),
        StoreError::ChangedOutside { user } => {
            tracing::warn!(command = name, %user, "refused: changed outside custodian since it was read");
        }
        StoreError::Duplicate { field, existing, .. }
        | StoreError::RepeatedInImport { field, other: existing, .. } => {
            tracing::warn!(command = name, record = origin, field, owner = %existing, "refused: a name another user has");
        }
        StoreError::IdExists(id) => {
            tracing::warn!(command = name, record = origin, %id, "refused: the user id exists");
        }
        StoreError::IdRepeatedInImport(id) => {
            tracing::warn!(command = name, record = origin, %id, "refused: a user id given twice");
        }
        _ => tracing::warn!(command = name, record = origin, "refused: a collision with what is stored"),
    }
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
                    log_collision(name, e, "");
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
/// `--tenant` (or `$CUSTODIAN_TENANT`) names a tenant of Logto's PostgreSQL database; a database
/// file has none, and every command but `import` (which keeps only that tenant's records) went
/// on to work on all its users: `patch --tenant acme --all --yes` patched everyone (bb25 P09).
pub fn no_tenant_on_a_file(cli: &Cli) -> Result<()> {
    let Some(tenant) = &cli.tenant else { return Ok(()) };
    // A mistyped URL is said as one, not as a file with no tenants.
    if let Some(db) = cli.db.as_deref() {
        database::refuse_other_url(db)?;
    }
    Err(UsageError(format!(
        // Raw: the way out makes the whole line inert, once (marked here too, `␛` became
        // `\u{241b}`: bb52 F4).
        "--tenant {tenant} (or $CUSTODIAN_TENANT) names a tenant of Logto's PostgreSQL database; a database file has no tenants: leave it out to work on every user of the file (`import --tenant ID` keeps only that tenant's records)",
    ))
    .into())
}

pub fn run(cli: &Cli, command: &Command) -> Result<()> {
    let db = cli.db.as_deref();
    if let Some(request) = changes_request(command) {
        // A time not understood is refused before the database is opened.
        changes::time_bounds(&request, now_ms())?;
    }
    if let Command::Keygen { out } = command {
        let kid = key_file::generate(out)?;
        return report_written(&format!(
            "wrote key {} to {} (mode 0600)",
            inert::line(&kid),
            inert::line(&out.display().to_string())
        ));
    }
    if let Some(url) = database::postgres_url(db)
        && !matches!(command, Command::Completions { .. })
    {
        return postgres::run(cli, command, url);
    }
    if !matches!(command, Command::Import { .. } | Command::Completions { .. }) {
        no_tenant_on_a_file(cli)?;
    }
    if let Command::Init = command {
        let path = db.ok_or_else(|| UsageError("init needs --db PATH (or $CUSTODIAN_DB)".into()))?;
        database::refuse_other_url(path)?;
        if cli.read_only {
            // No database was opened: said as what init is (bb62 F2).
            return Err(anyhow::anyhow!(
                "read-only (--read-only or CUSTODIAN_READ_ONLY): init creates a database; nothing was created"
            ));
        }
        RedbStore::create(path, OpenOptions::default())?;
        return report_written(&format!("created {}", inert::line(&path.display().to_string())));
    }
    if let Command::Compact = command {
        // As every write: it named `init` with the default path, which `init` refuses (bb51).
        if db.is_none() && !cli.read_only {
            if !location::default_database().exists() {
                return Err(no_default_database_for_a_write());
            }
            say_default_database(&location::default_database(), false);
        }
        return whole_database::compact(db, cli.read_only);
    }
    if let Command::Completions { shell } = command {
        // Made in memory, then written as every listing is: clap_complete panics when its
        // own write fails (`completions bash | head -1`, a full disk).
        let mut script = Vec::new();
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "custodian",
            &mut script,
        );
        let script = String::from_utf8_lossy(&script);
        let mut out = Output::stdout();
        out.line(script.strip_suffix('\n').unwrap_or(&script))?;
        return out.flush();
    }
    let bulk_load = OpenOptions { cache_bytes: BULK_LOAD_CACHE_BYTES, ..OpenOptions::default() };
    let options = match command {
        // Into an empty database seed and import are the sorted bulk load, which appends to
        // every tree and needs no large cache (256 MiB made its peak RSS 310 MiB at 1M).
        Command::Seed { .. } | Command::Import { upsert: false, .. } if holds_no_users(db) => bulk_load,
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
    // `info` is how a file is looked at: every page, as a write would open it, writing nothing
    // (a file cut short or with a damaged page read well read-only, and `info` said all was
    // well: bb95 F4, bb97 F2).
    if matches!(command, Command::Info)
        && let Some(path) = db.filter(|path| path.is_file())
    {
        RedbStore::checked_whole(path)?;
    }
    // The default database is made with the demo's 200 users (one named admin) on first use:
    // a write there would be a false success for an operator whose $CUSTODIAN_DB is not set
    // in this shell. A read may make it, and says so.
    if first_run && !reads_only && !cli.read_only {
        return Err(no_default_database_for_a_write());
    }
    // Before the open, which may wait for another writer: a signal there is noted too.
    let _interrupts = stops_on_signals(command, cli.read_only).then(crate::interrupt::arm);
    let mut store = if reads_only && !cli.read_only && !first_run {
        match database::open(db, OpenOptions { read_only: true, ..options }) {
            Err(ref e) if let Some(StoreError::NeedsRepair { path, .. }) = e.downcast_ref::<StoreError>() => {
                database::open(db, options).map_err(|writing| repair_cannot_write_here(path, writing))?
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
    // Made now (by a read), or written to: a write into the default database is said before
    // it is made.
    let writes =
        !reads_only && !cli.read_only && !matches!(command, Command::Init | Command::Completions { .. });
    // Made by this process: several first runs at once each said they had made it (bb73 F8).
    let made_now = database::made_the_demo_here();
    if db.is_none() && (made_now || writes) {
        say_default_database(store.path(), made_now);
    }
    let path = store.path().to_owned();
    // The file's size before a write over many users, when its growth is to be said: measured
    // again once the store is closed (redb gives back the room at the file's end then; measured
    // open, a batch that grew the file by 26 MB was said to have doubled it: bb12).
    let mut grown_from = None;
    let out = Output::stdout_for(command, cli.read_only);
    let result = contained_on(&path, out, |out| match command {
        Command::Init | Command::Completions { .. } => Ok(()),
        Command::Info => info(&store, out),
        Command::Import { file, upsert, overwrite_newer } => {
            let mode = match (*upsert, *overwrite_newer) {
                (false, _) => crate::store::ImportMode::InsertOnly,
                (true, false) => crate::store::ImportMode::Upsert,
                (true, true) => crate::store::ImportMode::UpsertOverNewer,
            };
            import(&mut store, file.as_deref(), mode, cli, out).map(|said_from| grown_from = said_from)
        }
        Command::Seed { users, seed } => {
            let shape = schema::load_shape(&store, cli.schema_file.as_deref())?;
            seed_users(&mut store, *users, *seed, shape.as_ref(), cli.quiet, out)
        }
        other => {
            // A batch and its undo write every user they touch in one transaction.
            let batch =
                matches!(other, Command::Patch { yes: true, dry_run: false, .. } | Command::Undo { .. });
            grown_from = batch.then(|| whole_database::file_size(&store));
            user_command(cli, &store, other, out).unwrap_or(Ok(()))
        }
    });
    let result = closed_contained(store, &path, result);
    if let Some(before) = grown_from {
        whole_database::say_if_grown(&path, before);
    }
    result
}

/// Says `line` of a write that landed (`init`, `keygen`): a standard output that fails does
/// not make it fail (it panicked: "nothing unsaved was written", exit 101, with the key or the
/// database made; bb19 L03); the line goes to stderr instead ([`Output::finish`]).
fn report_written(line: &str) -> Result<()> {
    let mut out = Output::stdout().reporting_a_write();
    let said = out.line(line);
    out.finish(said)
}

/// Runs `work` on the database file at `path`, writing to standard output. redb may panic on
/// a damaged file wherever it reads: the work is contained, and such a panic becomes one
/// line naming the file.
fn contained_on(path: &Path, mut out: Output, work: impl FnOnce(&mut Output) -> Result<()>) -> Result<()> {
    let outcome = crash::catch(|| work(&mut out));
    let result = out.finish(outcome.unwrap_or_else(|panicked| Err(panicked.into())));
    say_if_the_signal_came_too_late(&result);
    result.map_err(|e| name_the_damaged_file(e, path))
}

/// A command that succeeded although a signal was noted: the signal came after its last look
/// (during the commit, or after the document was read), and stopped nothing.
fn say_if_the_signal_came_too_late(result: &Result<()>) {
    if result.is_ok() && crate::interrupt::requested() {
        crate::stderr_line!("custodian: the signal came too late to stop anything: everything was written");
    }
}

/// Whether Ctrl-C, SIGTERM and SIGHUP only stop the command at its next user
/// ([`crate::interrupt`]): a long write, which must still close the file cleanly, and an
/// export to a file, whose temporary file must go.
fn stops_on_signals(command: &Command, read_only: bool) -> bool {
    // A long write must still close the file cleanly. One user's (or the schema's) write
    // too: its document is read in a thread that a noted signal does not wait for (stdin or
    // a FIFO), and a wait for another writer's lock looks at the signal between tries;
    // killed there instead, the file needed a repair. An import typed on the terminal is
    // read on a thread of its own too (`input::open_import_or_interrupted`, then the
    // stream's reader): Ctrl-C there stops it with the file closed cleanly (it was killed,
    // leaving a repair: bb14 L01).
    // A patch's dry run too: it may wait on a FIFO or go over a million users, and a signal
    // killed it with no word and exit 143 where the README says 130 (bb37 #3).
    (writes(command) && !read_only)
        || matches!(command, Command::Export { out: Some(_) } | Command::Patch { .. })
}

/// The subcommands that read and edit users: the same on every store. `None` for the
/// others, which each backend runs (or refuses) itself.
fn user_command(cli: &Cli, store: &dyn UserStore, command: &Command, out: &mut Output) -> Option<Result<()>> {
    let (schema_file, key_file) = (cli.schema_file.as_deref(), cli.key_file.as_deref());
    Some(match command {
        // Streamed: they stop, successfully, once no one reads their output.
        Command::Export { out: file } => unless_closed(export(store, file.as_deref(), cli.quiet, out)),
        Command::List { search, limit, json } => {
            // Trimmed as the screen's filter is (all spaces: no filter), so both find the same users.
            let search = search.as_deref().map(str::trim).filter(|q| !q.is_empty());
            unless_closed(list(store, search, *limit, *json, out))
        }
        Command::Get { user, revision, unseal } => unseal
            .then(|| keys_for("get --unseal", key_file))
            .transpose()
            .and_then(|keys| get(store, user, *revision, keys.as_ref(), out)),
        Command::Set { user, file, expect_revision, expect_digest, allow_sensitive, seal } => {
            (!seal.is_empty()).then(|| keys_for("set --seal", key_file)).transpose().and_then(|keys| {
                let sealing = keys.as_ref().map(|keys| (keys, seal.as_slice()));
                let expect_digest = expect_digest.as_deref();
                let checks =
                    SetChecks { allow_sensitive: *allow_sensitive, sealing, schema_file, expect_digest };
                set(store, user, file.as_deref(), *expect_revision, checks, out)
            })
        }
        Command::History { user } => history(store, user, out),
        Command::Changes { .. } => {
            changes_request(command).map_or(Ok(()), |r| unless_closed(changes::run(store, &r, out)))
        }
        Command::Restore { user, revision, expect_revision, allow_sensitive } => {
            restore(store, user, *revision, *expect_revision, *allow_sensitive, schema_file, out)
        }
        Command::Schema { action } => schema::run(store, action, schema_file, cli.quiet, out),
        Command::Patch { .. } => patch::run(cli, store, command, out),
        Command::Undo { batch } => match &cli.schema_file {
            // Taken without a word, a schema file the operator meant to hold the undo to (or
            // a mistyped one) looked used (bb30 T02).
            Some(file) => Err(UsageError(format!(
                "undo is held to no schema (it brings back documents stored before): leave out --schema {}",
                file.display()
            ))
            .into()),
            None => patch::undo(cli, store, batch, out),
        },
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

/// Where things are, for an operator finding their way around a box.
fn info(store: &RedbStore, out: &mut Output) -> Result<()> {
    let database = fs::canonicalize(store.path()).unwrap_or_else(|_| store.path().to_owned());
    let drafts = location::state_dir().join("drafts");
    let rows = [
        ("database", database.display().to_string()),
        ("schema version", store.schema_version()?.to_string()),
        ("users", crate::domain::group_digits(store.count()?)),
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

/// redb's page cache for `import` into a database that holds users (an upsert, or inserts
/// among them). With 24 MiB an upsert of 300,000 users peaked at 67 MiB (the README's 64 MiB
/// broken), with 12 MiB at 46–47 MiB; the same CPU for upserts, ~6 % more for inserts into
/// 1M users (stop 38).
const IMPORT_CACHE_BYTES: usize = 12 * 1024 * 1024;

/// redb's page cache for a bulk load (`seed`, `import` into a database without users): it
/// appends to every tree, so a small cache costs it nothing (import of 1M users and a
/// compaction after it, as it was made then: with 4 MiB, peak RSS 47 MB in 32 s; with 24 MiB,
/// 77 MB in 36 s).
pub(super) const BULK_LOAD_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Whether the database holds no users yet, so that a seed or an insert-only import into it
/// is the sorted bulk load; `false` when that cannot be told (the open proper says why).
fn holds_no_users(db: Option<&Path>) -> bool {
    let options = OpenOptions { read_only: true, cache_bytes: BULK_LOAD_CACHE_BYTES };
    database::open_quietly(db, options).is_ok_and(|store| store.count().is_ok_and(|users| users == 0))
}

/// redb's page cache for `export`: it reads both tables front to back, a page once, so a
/// larger cache only holds pages it will not read again (1M users: 32 MiB gave 3.0–3.1 s and
/// 67 MB peak, 2 MiB 2.9 s and 36 MB, two runs each, 2026-12-06).
const EXPORT_CACHE_BYTES: usize = 2 * 1024 * 1024;

mod progress;
pub use progress::{progress, two_phase_progress};

/// Says on stderr that the default database was made now (by a read), or is written to.
fn say_default_database(path: &Path, made_now: bool) {
    let note = database::default_database_note(path, made_now);
    let note = if made_now { note } else { format!("writing to {note}") };
    crate::stderr_line!("custodian: {}", inert::line(&note));
}

/// A write without `--db` or `$CUSTODIAN_DB` while no default database exists: it never makes
/// one (see [`run`]).
fn no_default_database_for_a_write() -> anyhow::Error {
    anyhow::anyhow!(
        "no database at {} (the default) yet, and a write never makes it: name yours with --db PATH or $CUSTODIAN_DB (`custodian init --db PATH` makes an empty one; the editor or a read makes the default with 200 demo users)",
        location::default_database().display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_error_exits_as_its_reason_does() {
        // An import that met a full disk at line 25748 exited 5, which says "conflict".
        let at_line = |reason: StoreError| {
            exit_code(&anyhow::Error::from(StoreError::RecordConflict {
                origin: "line 25748".into(),
                reason: Box::new(reason),
            }))
        };
        assert_eq!(at_line(StoreError::Database("I/O error: No space left on device".into())), exit::FAILURE);
        assert_eq!(at_line(StoreError::IdExists("u1".into())), exit::CONFLICT);
        assert_eq!(at_line(StoreError::UserTooLarge { user: "u1".into(), size: 15 << 20 }), exit::INVALID);
        assert_eq!(at_line(StoreError::Interrupted), exit::INTERRUPTED);
    }
}
