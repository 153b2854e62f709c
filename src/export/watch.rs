//! The caller's side of an export: told how far it has come, and able to stop it.

use crate::store::StoreError;

/// How far an export has come, as its threads tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Users read in the store's own order and set aside to be sorted into list order; no
    /// line is written before the last one is read.
    Read(u64),
    /// Lines in the output so far.
    Written(u64),
}

/// What an export tells its caller and asks it, from either of its threads.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    /// Told how far the export has come.
    pub told: &'a (dyn Fn(Progress) + Sync + 'a),
    /// Asked at every user whether to stop there: `export` stops on a signal, the screen's
    /// `:export` at the way out once it has waited long enough (bb37 #1).
    pub stopped: &'a (dyn Fn() -> bool + Sync + 'a),
}

impl Watch<'_> {
    /// Told nothing, never stopped.
    #[cfg(test)]
    pub(super) const UNWATCHED: Watch<'static> = Watch { told: &|_| {}, stopped: &|| false };

    pub(super) fn tell(&self, progress: Progress) {
        (self.told)(progress);
    }

    /// `Err(StoreError::Interrupted)` once the caller asked the export to stop.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        if (self.stopped)() { Err(StoreError::Interrupted) } else { Ok(()) }
    }
}
