//! The subcommands on Logto's PostgreSQL database (`--db postgres://…`): the same reading and
//! editing as on a file, on the users of one tenant (`--tenant`); `init` makes custodian's
//! own schema there; `import` and `seed` refuse, since Logto creates its users.

use anyhow::Result;

use super::Output;
use super::args::{Cli, Command};
use crate::store::{
    CLI_STATEMENT_TIMEOUT, LastKeySync, POSTGRES_SCHEMA_VERSION, PostgresStore, StoreError, UserStore,
};
use crate::{database, inert, location};

/// Runs one subcommand against the PostgreSQL database at `url`.
/// How long a command has, after a noted signal, to stop at its next look.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) fn run(cli: &Cli, command: &Command, url: &str) -> Result<()> {
    match command {
        Command::Init => {
            if cli.read_only {
                return Err(StoreError::ReadOnly.into());
            }
            let done = PostgresStore::init(url)?;
            for (tenant, role) in &done.roleless {
                crate::stderr_line!(
                    "custodian: warning: tenant {:?} names role {:?}, which does not exist: nothing was granted to it (the other tenants are ready; run init again once it exists)",
                    inert::line(tenant),
                    inert::line(role)
                );
            }
            return super::report_written(&format!(
                "custodian's schema is ready in {}",
                inert::line(&done.described)
            ));
        }
        Command::Import { .. } | Command::Seed { .. } => {
            let name = if matches!(command, Command::Import { .. }) { "import" } else { "seed" };
            return Err(StoreError::NotOnThisBackend(format!(
                "{name} does not work on PostgreSQL: users are created by Logto (its console or Management API); custodian edits their customData"
            ))
            .into());
        }
        Command::Compact => {
            return Err(StoreError::NotOnThisBackend(
                "compact is for database files: PostgreSQL's autovacuum gives room back itself (VACUUM FULL is its compaction)".into(),
            )
            .into());
        }
        _ => {}
    }
    // A signal is noted as on a file (the command stops at its next look, exit 130); a server
    // whose answer never comes (a COMMIT's, lost behind a pooler) would then hold it for good,
    // so after a grace the process ends, saying what is not known.
    let interrupts = super::stops_on_signals(command, cli.read_only)
        .then(|| crate::interrupt::arm().ending_within(SIGNAL_GRACE, !super::writes(command)));
    // The exact order, never the key table: a script's `list` or `export` must not miss a
    // user Logto created a moment ago.
    let store = database::open_postgres(url, cli.tenant(), cli.read_only, CLI_STATEMENT_TIMEOUT, false)?;
    if let Some(armed) = &interrupts {
        armed.connected();
    }
    let mut out = Output::stdout_for(command, cli.read_only);
    let done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        // Only a write sends a COMMIT worth watching: a read spawns no watch.
        if super::writes(command) {
            scope.spawn(|| say_when_a_commit_waits(&store, &done));
        }
        let result = match command {
            Command::Info => info(&store, &mut out),
            other => super::user_command(cli, &store, other, &mut out).unwrap_or(Ok(())),
        };
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    });
    let result = out.finish(result).map_err(said_of_the_server);
    super::say_if_the_signal_came_too_late(&result);
    result
}

/// An interruption as said of a server: nothing closes there, the transaction is never
/// committed (bb89 F3). A write that waited out the lock timeout for a row or a table another
/// session held after a signal came is that signal's too: it said `try again`, exit 1, to an
/// operator who had pressed Ctrl-C, and a shell loop of such commands went on (bb100 F2).
/// Other errors as they are.
fn said_of_the_server(error: anyhow::Error) -> anyhow::Error {
    let held = |e: &StoreError| {
        matches!(
            e,
            StoreError::Busy
                | StoreError::TablesHeld
                | StoreError::RowHeld { .. }
                | StoreError::RowsHeld { .. }
        )
    };
    match error.downcast_ref::<StoreError>() {
        Some(StoreError::Interrupted) if error.chain().count() == 1 => StoreError::InterruptedOnServer.into(),
        // Said as the interruption, with what it met (exit 130: the first store error of the
        // chain decides the code).
        Some(e) if held(e) && crate::interrupt::requested() => {
            let met = format!("a signal came while the write waited for what another session held ({e})");
            anyhow::Error::new(StoreError::InterruptedOnServer).context(met)
        }
        _ => error,
    }
}

/// The tenant's number of users: counted up to 10,000, PostgreSQL's estimate above that
/// (counting a million users reads the whole index), and then said to be one.
fn users(store: &PostgresStore) -> Result<String> {
    let count = store.user_count()?;
    let users = crate::domain::group_digits(count.users);
    Ok(if count.exact {
        users
    } else {
        format!("~{users} (estimated from PostgreSQL's statistics; not counted one by one)")
    })
}

/// Where things are: the server and role (never the password), the tenant, custodian's schema.
fn info(store: &PostgresStore, out: &mut Output) -> Result<()> {
    let schema = if store.is_initialised() && store.schema_layout() < POSTGRES_SCHEMA_VERSION {
        format!(
            "custodian {} (older than this custodian's {POSTGRES_SCHEMA_VERSION}: batches and the journal need `custodian --db URL init` once)",
            store.schema_layout()
        )
    } else if store.is_initialised() && !store.keeps_accounts() {
        format!(
            "custodian {} (its history does not keep each revision's account: `custodian --db URL init` once adds that, so an account created under a deleted user's id with an earlier sign-up date is not given the deleted one's revisions)",
            store.schema_layout()
        )
    } else if store.is_initialised() {
        format!("custodian {}", store.schema_layout())
    } else {
        "missing: saving needs `custodian --db URL init` once".to_owned()
    };
    // When the screen's key table last took in what Logto changed (see the README).
    let keys = match store.last_key_sync()? {
        // A tenant made since `init`: said as if the key table were missing (bb53 F6).
        LastKeySync::NeverForThisTenant => {
            "never for this tenant yet (a screen that may write syncs them when it starts on it)".to_owned()
        }
        LastKeySync::At(when) => when,
        LastKeySync::NoKeyTable => {
            "never (the screen computes the list order afresh until `init` makes the key table)".to_owned()
        }
    };
    let rows = [
        ("database", store.describe_connection()),
        ("schema version", schema),
        ("keys synced", keys),
        ("users", users(store)?),
        ("drafts", location::state_dir().join("drafts").display().to_string()),
        ("log", location::log_file().display().to_string()),
    ];
    for (label, value) in rows {
        out.line(&format!("{label:<15}{}", inert::line(&value)))?;
    }
    Ok(())
}

/// How long a write's COMMIT may go unanswered before the command says so: the screen says it
/// after as long.
const COMMIT_UNANSWERED_AFTER: std::time::Duration = std::time::Duration::from_secs(15);

/// Says once on stderr that a write's COMMIT has had no answer for a while: a link or a pooler
/// that keeps the connection and drops its answer held `set` and `patch --yes` silent for good
/// (bb80 F3), and the write may have landed.
fn say_when_a_commit_waits(store: &PostgresStore, done: &std::sync::atomic::AtomicBool) {
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        if store.commit_waiting_for().is_some_and(|waited| waited >= COMMIT_UNANSWERED_AFTER) {
            crate::stderr_line!(
                "custodian: the server has not answered this write's COMMIT for {} s (something on the way may hold its answer): it may still land; Ctrl-C stops waiting, and `custodian changes --since 10m` then tells whether it did",
                COMMIT_UNANSWERED_AFTER.as_secs()
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
