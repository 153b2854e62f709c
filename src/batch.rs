//! A JSON Patch over many users, as one batch or as a dry run: the walk both `custodian patch`
//! and the screen's `:patch` make, with the rules of every save, so neither front end holds
//! the other's code.

use anyhow::Result;

use crate::domain::Limits;
use crate::domain::import::RecordError;
use crate::domain::patch::{JsonPatch, PatchOutcome, PatchReport, PatchRules};
use crate::store::{Author, BatchEdit, BatchId, BatchSummary, Selection, StoreError, UserRecord, UserStore};

/// One batch edit as asked: the patch, the users, the rules, and whether any failure aborts it.
pub struct PatchRun<'a> {
    pub patch: &'a JsonPatch,
    pub selection: &'a Selection,
    pub rules: PatchRules<'a>,
    /// Any user the patch cannot apply to makes the batch write nothing.
    pub strict: bool,
}

/// Goes over the selected users, counting each outcome into `report`: reading only (the dry
/// run) without `batch`, else writing the changes as `batch` in one transaction (`Some`
/// summary). `seen` hears how many users were gone over, every few thousand; once `stop`
/// says so the walk ends with [`StoreError::Interrupted`] (a batch then writes nothing).
pub fn walk(
    store: &dyn UserStore,
    run: &PatchRun,
    report: &mut PatchReport,
    batch: Option<&BatchId>,
    seen: &mut dyn FnMut(u64),
    stop: &dyn Fn() -> bool,
) -> Result<Option<BatchSummary>, StoreError> {
    let mut edit = |record: &UserRecord, text: &str| -> Result<BatchEdit, StoreError> {
        if stop() {
            return Err(StoreError::Interrupted);
        }
        let outcome = run.patch.apply(text, &run.rules);
        report.record(&record.user.id, record.user.handle(), record.revision, text, &outcome);
        if report.matched.is_multiple_of(4096) {
            seen(report.matched);
        }
        match outcome {
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
            Ok(Some(store.edit_batch(batch, run.selection, &mut edit, &Author::from_environment())?))
        }
    }
}

/// The screen's `:patch`: [`walk`] over `selection` with the rules of every save (`shape`
/// compiled once by the screen), keeping `samples` changed users. The screen applies the patch
/// its dry run read, never the file read again (it may have changed since). The dry run
/// ends early once `stop` says so: the operator closed its overlay, or left.
pub fn run_for_screen(
    store: &dyn UserStore,
    operations: &JsonPatch,
    selection: &Selection,
    shape: Option<&crate::domain::shape::Shape>,
    samples: usize,
    batch: Option<&BatchId>,
    stop: &dyn Fn() -> bool,
) -> Result<(PatchReport, Option<BatchSummary>)> {
    let rules = PatchRules { limits: Limits::default(), shape, allow_sensitive: false };
    let run = PatchRun { patch: operations, selection, rules, strict: false };
    let mut report = PatchReport::new(samples);
    let summary = walk(store, &run, &mut report, batch, &mut |_| {}, stop)?;
    Ok((report, summary))
}
