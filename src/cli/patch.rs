//! `custodian patch` and `custodian undo`: a JSON Patch over many users as one batch, shown
//! first (the dry run) and written only with `--yes`; and the batch taken back.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, Result};

use super::args::{Cli, Command};
use super::{Output, input, progress, schema};
use crate::batch::{PatchRun, rules_on, walk};
use crate::domain::diff::{LineChange, Shown, compact, line_diff};
use crate::domain::patch::{JsonPatch, PatchReport, users};
use crate::domain::{group_digits, secrets};
use crate::inert;
use crate::store::{Author, BatchId, Selection, StoreError, UserStore};

mod batch_reach;
mod left_alone;
mod users_file;

pub use users_file::{UsersFileLine, read_users};

/// Changed users whose diff the dry run prints.
const DIFFS_SHOWN: usize = 3;

/// `undo` restored what it could and left users saved since alone (exit code 5).
#[derive(Debug, thiserror::Error)]
#[error(
    "{} of batch {batch} left alone: {} since (listed above); {}",
    users(*.left),
    match (*.deleted, *.left) {
        (0, _) => "saved again",
        (deleted, left) if deleted == left => "deleted",
        _ => "saved again or deleted",
    },
    if *.restored > 0 { "the rest were restored" } else { "nothing was restored" }
)]
pub struct LeftAlone {
    pub batch: String,
    pub left: u64,
    /// Of them, those deleted since (outside custodian, on PostgreSQL): said as such, not as
    /// saved again (bb18 L10).
    pub deleted: u64,
    pub restored: u64,
}

/// Reads and parses the patch file (at most as large as a document may be). A FIFO no one
/// writes gives way to a signal (exit 130), as every file read before a write does (bb25 P01).
pub fn read_patch(path: &Path) -> Result<JsonPatch> {
    let read = input::read_document_or_interrupted("the patch", Some(path), input::Bound::AsWritten);
    parse_patch(path, read)
}

/// [`read_patch`] for the screen (`:patch`): a regular file only, never a wait on a FIFO.
pub fn read_patch_file(path: &Path) -> Result<JsonPatch> {
    let read = input::read_regular_document(path, input::Bound::AsWritten);
    parse_patch(path, read)
}

fn parse_patch(path: &Path, read: Result<Vec<u8>>) -> Result<JsonPatch> {
    // Raw: the error is made inert once, where it is shown (marked twice, a name holding ESC
    // read as one holding the look-alike `␛`: bb42 F3).
    let shown = || path.display().to_string();
    // A file that cannot be opened says its name already; one too large is named here.
    let bytes = match read {
        Err(e) if e.is::<input::DocumentTooLarge>() || e.is::<crate::domain::ValidationError>() => {
            return Err(e.context(shown()));
        }
        read => read?,
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| crate::domain::patch::PatchFileError::NotJson("not valid UTF-8".into()))
        .with_context(shown)?;
    JsonPatch::parse(&text).with_context(shown)
}

/// Runs `custodian patch`.
pub(super) fn run(cli: &Cli, store: &dyn UserStore, command: &Command, out: &mut Output) -> Result<()> {
    let Command::Patch { patch, search, users: users_file, all, dry_run, yes, strict, allow_sensitive } =
        command
    else {
        return Ok(());
    };
    if super::input::is_stdin(Some(patch))
        && users_file.as_deref().is_some_and(|f| super::input::is_stdin(Some(f)))
    {
        return Err(super::UsageError(
            "the patch and the users file cannot both come from stdin (`-`): give one of them as a file"
                .into(),
        )
        .into());
    }
    let operations = read_patch(patch)?;
    let (selection, described) = match (search, users_file, all) {
        // An empty search matches everyone: an unset shell variable must not mean `--all`.
        (Some(query), _, _) if query.trim().is_empty() => {
            return Err(super::UsageError(format!(
                "--search needs text (it was {}); to patch every user say --all",
                if query.is_empty() { "empty" } else { "only spaces" }
            ))
            .into());
        }
        // Trimmed as the screen's filter is: `:patch` and `patch --search` go over the same users.
        (Some(query), _, _) => {
            let query = query.trim();
            (Selection::Search(query.to_owned()), format!("users matching {query:?}"))
        }
        (_, Some(file), _) => {
            // A million names take seconds to resolve: counted, not silent (bb37 #7).
            let resolving = progress(None, cli.quiet, "{spinner} names resolved: {human_pos} lines · {rate}");
            let ids = read_users(store, file, &resolving);
            resolving.finish_and_clear();
            let (ids, names) = ids?;
            let named = if input::is_stdin(Some(file)) {
                "on stdin".to_owned()
            } else {
                format!("in {}", inert::shell_word(&file.display().to_string()))
            };
            // A list that names no one is a selection gone wrong (an empty query's export, a
            // wrong path), not a patch that changed nothing: it said "no changes", exit 0
            // (bb81 F7). Blank lines and comments alone name no one either.
            if names == 0 {
                return Err(super::UsageError(format!(
                    "--users names no user: there is no name {named} (one id, username, email or phone a line); to patch every user say --all"
                ))
                .into());
            }
            // A list with repeats patched fewer users than its lines, unsaid (bb37 #8).
            let repeats = names.saturating_sub(ids.len());
            let repeated = if repeats == 0 {
                String::new()
            } else {
                format!(" ({} names: {} named a user again)", group_digits(names), group_digits(repeats))
            };
            let described = format!("{} named {named}{repeated}", users(ids.len()));
            (Selection::Ids(ids), described)
        }
        (_, _, true) => (Selection::All, "every user".to_owned()),
        _ => {
            return Err(super::UsageError("say which users: --search Q, --users FILE or --all".into()).into());
        }
    };
    let apply = *yes && !*dry_run;
    if apply && store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    // The schema is compiled once for the whole batch, never per user.
    let shape = schema::load_shape(store, cli.schema_file.as_deref())?;
    let rules = rules_on(store, shape.as_ref(), *allow_sensitive);
    let total = match &selection {
        Selection::All => store.user_count().ok().map(|c| c.users),
        Selection::Ids(ids) => Some(ids.len()),
        Selection::Search(_) => None,
    };
    // A search's users are counted as found: no total, so no ETA (it said `ETA 0s` all
    // through, then stood still with a falling rate while the batch committed: bb81 F8).
    let template = match total {
        Some(_) => "{spinner} {human_pos} users · {rate} · ETA {eta}",
        None => "{spinner} {human_pos} users matching, patched as found · {elapsed}",
    };
    let bar = progress(total, cli.quiet, template);
    let mut report = PatchReport::new(if apply { 0 } else { DIFFS_SHOWN });
    let run = PatchRun {
        patch: &operations,
        selection: &selection,
        rules,
        strict: *strict,
        reviewed: None,
        leave_flagged: false,
    };
    let patch_name = patch.display().to_string();
    let batch = apply.then(BatchId::new);
    let walked = walk(
        store,
        &run,
        &mut report,
        batch.as_ref(),
        &mut |seen| bar.set_position(seen),
        // The commit of a large batch takes a second or more: said, with the final count
        // (the count stood at its last step of 4,096 through it, silent: bb82 F7).
        &mut |matched| {
            progress::last_phase(&bar, format!("{} gone over; committing the batch", users(matched)))
        },
        &crate::interrupt::requested,
    );
    bar.finish_and_clear();
    let walked = match walked {
        Err(StoreError::BatchOutcomeUnknown { server, batch }) => {
            let batch = BatchId(batch);
            committed_after_reconnecting(store, &server, &batch)?;
            out.line(&format!(
                "batch {batch}: written — the connection was lost while it was committing, and after reconnecting the journal has it (`custodian changes --batch {batch}` lists its saves)"
            ))?;
            out.line(&inert::line(&format!("take it back with: {}", undo_command(cli, &batch))))?;
            return Ok(());
        }
        other => other,
    };
    let Some(summary) = walked? else {
        return dry_run_report(&report, &patch_name, &operations, &described, (*strict, *yes), out);
    };
    let batch = summary.batch.clone();
    if summary.saved > 0 {
        tracing::info!(batch = %batch, matched = summary.matched, saved = summary.saved, "patch written");
    } else {
        tracing::info!(matched = summary.matched, "patch changed no user: no batch written");
    }
    warn_flagged(&report);
    if summary.saved == 0 {
        out.line(&format!(
            "no changes: no user's customData changed, so no batch was written ({})",
            users(summary.matched)
        ))?;
    } else {
        out.line(&inert::line(&format!(
            "batch {batch}: saved {} of {} ({described})",
            users(summary.saved),
            users(summary.matched)
        )))?;
    }
    for line in report.summary_lines(true).iter().skip(1) {
        out.line(&report_line(line))?;
    }
    if summary.saved > 0 {
        out.line(&inert::line(&format!("take it back with: {}", undo_command(cli, &batch))))?;
    }
    Ok(())
}

/// `custodian --db PATH undo BATCH`, to be pasted as it is: with the database file this
/// command was given, so that it undoes this batch and does not look for it in the default
/// database ("no batch", exit 3: bb25 P12). A PostgreSQL URL may hold a password and TLS
/// settings: that one is said to need the same `--db` and `--tenant`.
fn undo_command(cli: &Cli, batch: &BatchId) -> String {
    match database_file(cli) {
        None if cli.db.is_some() => {
            format!("custodian undo {batch} (with the same --db and --tenant as this patch)")
        }
        file => undo_as_pasted(file, &batch.0),
    }
}

/// The database file `--db` names (`None`: the default one, or a PostgreSQL URL).
fn database_file(cli: &Cli) -> Option<&Path> {
    cli.db.as_deref().filter(|db| crate::database::postgres_url(Some(db)).is_none())
}

/// `custodian [--db PATH] undo BATCH` for the database file `database`.
fn undo_as_pasted(database: Option<&Path>, batch: &str) -> String {
    match database {
        Some(db) => format!("custodian --db {} undo {batch}", inert::shell_word(&db.display().to_string())),
        None => format!("custodian undo {batch}"),
    }
}

/// The dry run's report: counts, failures grouped, the first diffs, and how to apply.
fn dry_run_report(
    report: &PatchReport,
    patch: &str,
    operations: &JsonPatch,
    described: &str,
    (strict, yes_given): (bool, bool),
    out: &mut Output,
) -> Result<()> {
    let ops = if operations.len() == 1 {
        "1 operation".to_owned()
    } else {
        format!("{} operations", operations.len())
    };
    out.line(&inert::line(&format!("patch {patch} ({ops}) over {described}: dry run, nothing written")))?;
    for line in report.summary_lines(false) {
        out.line(&report_line(&line))?;
    }
    if report.flagged_users > 0 {
        // The rest counted, as every group of the report is (bb76 F7: 2,000 named three).
        let unnamed = report.flagged_unnamed();
        let more = if unnamed > 0 {
            format!(" and {} more", crate::domain::group_digits(unnamed))
        } else {
            String::new()
        };
        out.line(&report_line(&format!(
            "  {} would store what looks like secrets (--allow-sensitive): {}{more}",
            users(report.flagged_users),
            report.flagged.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
        )))?;
    }
    if !report.samples.is_empty() {
        out.line(&format!(
            "the diff of the first {} of {} that would change:",
            report.samples.len(),
            users(report.changed)
        ))?;
    }
    for sample in &report.samples {
        out.line(&report_line(&format!(
            "--- user {} ({}), revision {} → {}",
            sample.id,
            sample.handle,
            sample.revision,
            sample.revision + 1
        )))?;
        for line in diff_lines(&sample.old, &sample.new) {
            out.line(&line)?;
        }
    }
    let next = if report.changed == 0 {
        "nothing to apply: no user would change".to_owned()
    } else if strict && report.failed > 0 {
        "with --strict, --yes would write nothing while any user cannot be patched".to_owned()
    } else {
        // `--dry-run` wins over `--yes`: the way to apply is then without it.
        let how = if yes_given { "without --dry-run" } else { "with --yes" };
        format!(
            "to apply: the same command {how} ({} in one transaction, one batch `custodian undo` takes back)",
            users(report.changed)
        )
    };
    out.line(&next)
}

/// The most columns a line of a patch's report takes: a changed value of 500 KB was one line
/// of 500 KB on the operator's terminal, and so was a failure naming a long key (bb25 P04).
/// `custodian get` prints a document whole.
const REPORT_LINE_COLUMNS: usize = 400;

/// A line of a patch's report: made inert, and cut at [`REPORT_LINE_COLUMNS`] saying how
/// long it was.
fn report_line(text: &str) -> String {
    let shown = inert::line(text);
    match inert::cut_to_width(&shown, REPORT_LINE_COLUMNS) {
        Cow::Borrowed(whole) => whole.to_owned(),
        Cow::Owned(cut) => {
            format!("{cut} ({} characters in all)", group_digits(shown.chars().count() as u64))
        }
    }
}

/// A line diff with a little context, `⋯` between hunks ([`compact`], as the screen's), each
/// line made inert and cut ([`report_line`]).
fn diff_lines(old: &str, new: &str) -> Vec<String> {
    let diff = line_diff(old, new);
    compact(&diff)
        .into_iter()
        .map(|row| {
            let Shown::Line { line, .. } = row else { return "  ⋯".to_owned() };
            let mark = match line.change {
                LineChange::Same => ' ',
                LineChange::Removed => '-',
                LineChange::Added => '+',
            };
            report_line(&format!("{mark} {}", inert::json(&line.text)))
        })
        .collect()
}

fn warn_flagged(report: &PatchReport) {
    if report.flagged_users == 0 {
        return;
    }
    let places: Vec<String> = report
        .flagged
        .iter()
        .flat_map(|(id, found)| found.iter().map(move |f| format!("{id}: {f}")))
        .collect();
    // The report keeps the first users' findings only: the rest are counted (a warning of
    // 20,000 users named three and said no more: bb72 F4).
    let rest = match report.flagged_unnamed() {
        0 => String::new(),
        1 => "; and 1 more user".to_owned(),
        n => format!("; and {} more users", crate::domain::group_digits(n)),
    };
    let message = format!(
        "warning: stored what looks like secrets in the customData of {} (it reaches front ends), as --allow-sensitive asked: {}{rest}",
        users(report.flagged_users),
        secrets::summary(&places, 5)
    );
    crate::stderr_line!("custodian: {}", inert::line(&message));
}

/// Runs `custodian undo BATCH`.
pub(super) fn undo(cli: &Cli, store: &dyn UserStore, batch: &str, out: &mut Output) -> Result<()> {
    let quiet = cli.quiet;
    if store.is_read_only() {
        return Err(StoreError::ReadOnly.into());
    }
    // Trimmed as user references are: `undo "B "` pasted with a space said "no batch" (bb25 P08).
    let undone = BatchId(batch.trim().to_owned());
    let undo = BatchId::new();
    // The store counts nothing as it goes: the time taken, so a long undo (44 s at 1M) is
    // not silence on a terminal (bb35 #10).
    let bar = progress(None, quiet, "{spinner} {msg} · {elapsed}");
    bar.set_message(format!("taking back batch {}", inert::line(&undone.0)));
    let undone_now = store.undo_batch(&undone, &undo, &Author::from_environment());
    bar.finish_and_clear();
    let summary = match undone_now {
        Err(StoreError::BatchOutcomeUnknown { server, .. }) => {
            committed_after_reconnecting(store, &server, &undo)?;
            out.line(&format!(
                "batch {undo}: the undo of batch {undone} is written — the connection was lost while it was committing, and after reconnecting the journal has it (`custodian changes --batch {undo}` lists whom it restored)"
            ))?;
            return Ok(());
        }
        other => other?,
    };
    if summary.undo.saved > 0 {
        tracing::info!(batch = %undone, undo = %undo, restored = summary.undo.saved, left = summary.changed_since.len(), "undo");
    } else {
        // No user restored: no undo batch was written, so none is named.
        tracing::info!(batch = %undone, left = summary.changed_since.len(), "undo restored no user: no batch written");
    }
    if summary.undo.saved > 0 {
        out.line(&inert::line(&format!(
            "batch {undo}: restored {} of batch {undone} to the revision before it",
            users(summary.undo.saved)
        )))?;
    } else {
        // An undo of this batch is such a save too (it may have been undone already).
        out.line(&inert::line(&format!(
            "nothing restored: every user of batch {undone} was saved again since, or deleted (by a later batch, an earlier undo of this one, or a save; `custodian changes --user ID` says who saved each)"
        )))?;
    }
    if summary.changed_since.is_empty() {
        return Ok(());
    }
    out.line(&format!(
        "left alone (saved again or deleted since the batch): {}",
        users(summary.changed_since.len() as u64)
    ))?;
    // The first few listed are looked up (one history read each): the batch each is at now,
    // and the later batches an operator must undo first (bb21 L05).
    let mut looks = left_alone::LookUps::new();
    for (at, (id, revision)) in summary.changed_since.iter().enumerate() {
        let looking = looks.looks_up(at);
        if !looking && at == looks.len() {
            // Their batch is the store's, but no history was read for the note below (bb86 F4).
            out.line(
                "  (the users below were not looked up for the note after this list: `custodian history ID` shows how each came to its revision)",
            )?;
        }
        // Revision 0: the user is gone (deleted outside custodian, on PostgreSQL). The batch
        // is the one the store found at the user's revision, looked up or not (bb87 N5).
        let looked_up = if looking { looks.look_up(store, id, &undone, revision) } else { None };
        let by = summary.changed_since.batch(at).map(str::to_owned).or(looked_up);
        let now = match (&by, revision) {
            (_, 0) => "deleted since (or another account is under its id now)".to_owned(),
            (Some(batch), _) => format!("now at revision {revision} (batch {batch})"),
            (None, _) => format!("now at revision {revision}"),
        };
        out.line(&inert::line(&format!("  {id} {now}")))?;
    }
    if let Some(note) = looks.advice(store, summary.changed_since.len(), &undone, database_file(cli)) {
        out.line(&inert::line(&note))?;
    }
    let deleted = summary.changed_since.iter().filter(|(_, revision)| *revision == 0).count() as u64;
    Err(LeftAlone {
        batch: undone.0,
        left: summary.changed_since.len() as u64,
        deleted,
        restored: summary.undo.saved,
    }
    .into())
}

/// After a batch's COMMIT went unanswered: reconnects and asks the journal. `Ok` when the
/// batch is there (written); an error saying it was not, or that it cannot be told.
fn committed_after_reconnecting(store: &dyn UserStore, server: &str, batch: &BatchId) -> Result<()> {
    tracing::warn!(%batch, "batch outcome unknown: the connection went during its commit");
    match store.reconnect().and_then(|_| crate::store::batch_landed(store, batch)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(anyhow::anyhow!(
            "{server}: the connection was lost while batch {batch} was committing; after reconnecting: it was not written (the journal has no save of it); nothing was written"
        )),
        Err(e) => Err(anyhow::anyhow!(
            "{server}: the connection was lost while batch {batch} was committing, and custodian cannot tell whether it was written ({e}); `custodian changes --batch {batch}` against this database lists its saves if it was"
        )),
    }
}
