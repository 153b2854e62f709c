//! A JSON Patch over many users, as one batch or as a dry run: the walk both `custodian patch`
//! and the screen's `:patch` make, with the rules of every save, so neither front end holds
//! the other's code.

use anyhow::Result;

use crate::domain::Limits;
use crate::domain::import::RecordError;
use crate::domain::patch::{
    JsonPatch, PatchOutcome, PatchReport, PatchRules, changed_fingerprint, reviewed_user_fingerprint,
};
use crate::store::{Author, BatchEdit, BatchId, BatchSummary, Selection, StoreError, UserRecord, UserStore};

/// One batch edit as asked: the patch, the users, the rules, and whether any failure aborts it.
pub struct PatchRun<'a> {
    pub patch: &'a JsonPatch,
    pub selection: &'a Selection,
    pub rules: PatchRules<'a>,
    /// Any user the patch cannot apply to makes the batch write nothing.
    pub strict: bool,
    /// The users (with their documents) a dry run showed as changing, sorted
    /// ([`PatchReport::reviewed`]): a batch that would change anyone else writes nothing.
    pub reviewed: Option<&'a [u64]>,
    /// Users the patch would leave holding something that looks like a secret (flagged, under
    /// rules that allow them) are left as they are: the screen asks about them apart.
    pub leave_flagged: bool,
}

/// The rules every save holds a patched document to, on `store` (whose key order decides
/// whether a reordering is a change).
pub fn rules_on<'a>(
    store: &dyn UserStore,
    shape: Option<&'a crate::domain::shape::Shape>,
    allow_sensitive: bool,
) -> PatchRules<'a> {
    let key_order_kept = store.key_order() == crate::store::KeyOrder::AsWritten;
    PatchRules { limits: Limits::default(), shape, allow_sensitive, key_order_kept }
}

/// Goes over the selected users, counting each outcome into `report`: reading only (the dry
/// run) without `batch`, else writing the changes as `batch` in one transaction (`Some`
/// summary). `seen` hears how many users were gone over, every few thousand, and a batch's
/// `writing` how many in all once the walk is over and its commit begins; once `stop` says so
/// the walk ends with [`StoreError::Interrupted`] (a batch then writes nothing).
pub fn walk(
    store: &dyn UserStore,
    run: &PatchRun,
    report: &mut PatchReport,
    batch: Option<&BatchId>,
    seen: &mut dyn FnMut(u64),
    writing: &mut dyn FnMut(u64),
    stop: &dyn Fn() -> bool,
) -> Result<Option<BatchSummary>, StoreError> {
    // Users the dry run showed changing that the patch still changes, as shown: fewer than it
    // showed once the walk is over, and some left the selection since.
    let still_shown = std::cell::Cell::new(0_usize);
    let matched = std::cell::Cell::new(0_u64);
    let mut edit = |record: &UserRecord, text: &str| -> Result<BatchEdit, StoreError> {
        if stop() {
            return Err(StoreError::Interrupted);
        }
        let outcome = run.patch.apply(text, &run.rules);
        // A batch held to what a dry run showed changes no one else, and no document written
        // since (its diff would not be the one confirmed); nor does it leave out a user it
        // showed changing whose document the patch no longer changes (it was dropped from the
        // confirmed batch without a word: bb26 T02).
        if let Some(reviewed) = run.reviewed {
            let shown = |fingerprint: u64| reviewed.binary_search(&fingerprint).is_ok();
            let now = match &outcome {
                PatchOutcome::Changed { .. } if !shown(changed_fingerprint(&record.user.id, text)) => Some(
                    "changed, or came into the selection, after the dry run that was confirmed".to_owned(),
                ),
                PatchOutcome::Failed(reason) if shown(reviewed_user_fingerprint(&record.user.id)) => {
                    Some(format!(
                        "changed after the dry run that was confirmed, and the patch no longer applies ({reason})"
                    ))
                }
                PatchOutcome::Unchanged if shown(reviewed_user_fingerprint(&record.user.id)) => Some(
                    "changed after the dry run that was confirmed, and the patch no longer changes it"
                        .to_owned(),
                ),
                _ => None,
            };
            if let Some(now) = now {
                return Err(StoreError::InvalidRecord(RecordError {
                    origin: format!("user {}", record.user.id),
                    reason: format!("{now}; {NOTHING_WRITTEN}"),
                }));
            }
            if matches!(outcome, PatchOutcome::Changed { .. }) {
                still_shown.set(still_shown.get() + 1);
            }
        }
        report.record(&record.user.id, record.user.handle(), record.revision, text, &outcome);
        matched.set(report.matched);
        if report.matched.is_multiple_of(4096) {
            seen(report.matched);
        }
        match outcome {
            PatchOutcome::Changed { flagged, .. } if run.leave_flagged && !flagged.is_empty() => {
                Ok(BatchEdit::Keep)
            }
            PatchOutcome::Changed { data, .. } => Ok(BatchEdit::Replace(data)),
            PatchOutcome::Failed(reason) if run.strict => Err(StoreError::InvalidRecord(RecordError {
                origin: format!("user {}", record.user.id),
                reason: format!("{reason}; --strict: nothing was written"),
            })),
            PatchOutcome::Failed(_) | PatchOutcome::Unchanged => Ok(BatchEdit::Keep),
        }
    };
    match batch {
        None => {
            store.for_each_selected(run.selection, &mut |record, text| edit(record, text).map(|_| ()))?;
            Ok(None)
        }
        Some(batch) => {
            // Each user shown changing left two fingerprints ([`PatchReport::reviewed`]).
            let shown = run.reviewed.map_or(0, |reviewed| reviewed.len() / 2);
            let mut walked = || match shown.saturating_sub(still_shown.get()) {
                0 => {
                    writing(matched.get());
                    Ok(())
                }
                left => Err(StoreError::InvalidRecord(RecordError {
                    origin: "the selection".to_owned(),
                    reason: format!(
                        "{} the dry run that was confirmed showed changing {} no longer in it (renamed or deleted since); {NOTHING_WRITTEN}",
                        crate::domain::patch::users(left as u64),
                        if left == 1 { "is" } else { "are" },
                    ),
                })),
            };
            let author = Author::from_environment();
            Ok(Some(store.edit_batch_held(batch, run.selection, &mut edit, &mut walked, &author)?))
        }
    }
}

/// How a batch held to a dry run ends when the users are no longer as that dry run showed.
const NOTHING_WRITTEN: &str = "nothing was written: run the dry run again to see the users as they are now";

/// What the screen hears of a walk under way, and how it stops it.
pub struct Walking<'a> {
    /// How many users the walk has gone over.
    pub seen: &'a mut dyn FnMut(u64),
    /// Whether to stop at the next user (nothing written).
    pub stop: &'a dyn Fn() -> bool,
}

/// What the screen's `:patch` writes once its dry run was confirmed.
pub struct Apply<'a> {
    pub batch: &'a BatchId,
    /// What the dry run showed changing ([`PatchReport::reviewed`]).
    pub reviewed: &'a [u64],
    /// Whether the users the patch leaves holding something that looks like a secret are
    /// written too (the operator said so), or left as they are.
    pub write_flagged: bool,
}

/// The screen's `:patch`: [`walk`] over `selection` with the rules of every save (`shape`
/// compiled once by the screen), keeping `samples` changed users. The screen applies the patch
/// its dry run read, never the file read again (it may have changed since), held to the users
/// and documents that dry run showed changing (`reviewed`): the count the operator confirmed
/// is the most it writes. Users the result would leave holding something that looks like a
/// secret count as changes, flagged (the screen asks about them: the CLI's `--allow-sensitive`
/// is the operator's answer there), and are written only with `write_flagged`. The dry run
/// ends early once `stop` says so: the operator closed its overlay, or left.
pub fn run_for_screen(
    store: &dyn UserStore,
    operations: &JsonPatch,
    selection: &Selection,
    shape: Option<&crate::domain::shape::Shape>,
    samples: usize,
    apply: Option<Apply>,
    walking: Walking,
) -> Result<(PatchReport, Option<BatchSummary>)> {
    let Walking { seen, stop } = walking;
    let rules = rules_on(store, shape, true);
    let run = PatchRun {
        patch: operations,
        selection,
        rules,
        strict: false,
        reviewed: apply.as_ref().map(|apply| apply.reviewed),
        leave_flagged: apply.as_ref().is_some_and(|apply| !apply.write_flagged),
    };
    let mut report = PatchReport::new(samples);
    if apply.is_none() {
        report = report.noting_what_changes();
    }
    let summary = walk(store, &run, &mut report, apply.map(|apply| apply.batch), seen, &mut |_| {}, stop)?;
    if let Some(reviewed) = &mut report.reviewed {
        reviewed.sort_unstable();
    }
    Ok((report, summary))
}
