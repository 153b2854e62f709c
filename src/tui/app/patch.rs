//! `:patch FILE`: the dry run of a bulk edit in an overlay (each changed user's diff, `j`/`k`
//! between them; the failures grouped), and `Enter` to apply it after a question naming the
//! count. The work is the CLI's (`custodian patch`), done on the store's threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Dialog, DiffMemo, Effect, State, StatusKind, Until};
use crate::domain::diff::{DiffLine, compact, line_diff};
use crate::domain::patch::{JsonPatch, PatchReport, users};
use crate::domain::shape::Shape;
use crate::store::{BatchId, BatchSummary, Selection};
use crate::tui::layout;
use std::rc::Rc;

/// Changed users whose documents the overlay keeps, for their diffs (the counts cover all).
pub const PATCH_SAMPLES: usize = 100;

/// The deployment's schema as the screen compiled it, handed to the store's threads: the
/// batch is held to the same schema as the editor, compiled once.
#[derive(Debug, Clone)]
pub struct SharedShape(pub Option<Arc<Shape>>);

impl PartialEq for SharedShape {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Set once the work it was handed with is no longer wanted (the dry run's overlay closed,
/// the screen left): shared with the store's thread that does that work.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl PartialEq for StopFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What became of an applied patch.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchAnswer {
    /// Written (or it changed nobody): the batch, and how many users it left as they are.
    Applied(BatchSummary, u64),
    /// Its COMMIT got no answer; reconnected, the journal has the batch: it was written.
    CommittedUnanswered(BatchId),
    /// Nothing was written, and why.
    NotApplied(String),
    /// Nothing was written: the connection went before the COMMIT (the screen is then in the
    /// lost-connection state until it reconnects).
    ConnectionLost(String),
    /// Its COMMIT got no answer, and whether it was written cannot be told: how to check.
    InDoubt(String),
    /// Nothing was written: the server takes no writes (the screen is read-only from then on,
    /// as after any write it refuses so: review57).
    ServerTakesNoWrites(String),
}

/// The overlay of one patch file's dry run.
#[derive(Debug, Clone)]
pub struct PatchView {
    /// The file as given to `:patch`.
    pub file: String,
    pub selection: Selection,
    /// `None` while the dry run is under way.
    pub report: Option<PatchReport>,
    /// The patch as the dry run read it: what `Enter` applies, whatever the file says by then.
    pub patch: Option<JsonPatch>,
    /// Which of the report's changed users is shown.
    pub selected: usize,
    /// Lines of the shown diff scrolled past.
    pub scroll: usize,
    /// The apply is under way: the overlay stays until its answer.
    pub applying: bool,
    /// The operator asked to quit while the apply was under way: the screen ends with its
    /// answer, said after the screen.
    pub quit_when_answered: bool,
    /// The users the patch would leave holding something that looks like a secret are
    /// written too (`s`); by default they are left as they are, as `custodian patch` leaves
    /// them without `--allow-sensitive`.
    pub write_flagged: bool,
    /// How many users the dry run, or the batch being written, has gone over so far.
    pub seen: Option<u64>,
    /// Stops the dry run while it runs.
    pub stop: StopFlag,
    /// The shown user's diff, by the selection and whether the report had come.
    pub diff_memo: DiffMemo<(usize, bool)>,
}

impl PatchView {
    /// `N users`: how many users the apply under way writes (those the dry run saw change).
    pub fn applying_to(&self) -> String {
        users(self.writes())
    }

    /// How many users the dry run saw the patch leave holding something that looks like a
    /// secret.
    pub fn flagged(&self) -> u64 {
        self.report.as_ref().map_or(0, |report| report.flagged_users)
    }

    /// How many users `Enter` writes: those the dry run saw change, less those left holding
    /// something that looks like a secret unless they are written too.
    pub fn writes(&self) -> u64 {
        let changed = self.report.as_ref().map_or(0, |report| report.changed);
        if self.write_flagged { changed } else { changed.saturating_sub(self.flagged()) }
    }

    /// The diff of the changed user shown.
    pub fn selected_diff(&self) -> Rc<Vec<DiffLine>> {
        self.diff_memo.get((self.selected, self.report.is_some()), || {
            self.report
                .as_ref()
                .and_then(|r| r.samples.get(self.selected))
                .map(|s| line_diff(&s.old, &s.new))
                .unwrap_or_default()
        })
    }

    /// Rows of the summary above the diff: the counts, the failure groups listed, and a line
    /// counting the rest.
    pub fn summary_rows(&self) -> u16 {
        let groups = self.report.as_ref().map_or(0, |r| r.groups.len());
        1 + u16::from(self.flagged() > 0)
            + self.groups_shown() as u16
            + u16::from(groups > self.groups_shown())
    }

    /// Failure groups the summary lists: a few above the diffs, every one (at most 21) when no
    /// user would change and there is no diff to show (4 of 21 were listed over 30 empty rows,
    /// the rest out of reach: bb28 R08).
    pub fn groups_shown(&self) -> usize {
        match &self.report {
            Some(report) if report.samples.is_empty() => report.groups.len(),
            Some(report) => report.groups.len().min(PATCH_GROUPS_SHOWN),
            None => 0,
        }
    }
}

/// What the question before a batch says of the users it would leave holding something that
/// looks like a secret: how many, and whether they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsInPatch {
    Written(u64),
    Left(u64),
}

/// Failure groups the dry run lists before it counts the rest.
pub const PATCH_GROUPS_SHOWN: usize = 4;

impl State {
    /// `:patch FILE`: the dry run over the users the list shows (the filter's, else everyone).
    pub(super) fn open_patch(&mut self, argument: &str) -> Vec<Effect> {
        let home = std::env::var("HOME").ok();
        let file = match super::command::one_file_name("patch", argument, home.as_deref()) {
            Ok(file) => file,
            Err(why) => {
                self.say(StatusKind::Error, why);
                return Vec::new();
            }
        };
        let selection = self.list.active_filter().map_or(Selection::All, Selection::Search);
        self.patch = Some(PatchView {
            file: file.clone(),
            selection: selection.clone(),
            report: None,
            patch: None,
            selected: 0,
            scroll: 0,
            applying: false,
            quit_when_answered: false,
            write_flagged: false,
            seen: None,
            stop: StopFlag::default(),
            diff_memo: DiffMemo::default(),
        });
        let stop = self.patch.as_ref().map(|v| v.stop.clone()).unwrap_or_default();
        vec![Effect::PatchDryRun {
            file: file.into(),
            selection,
            shape: SharedShape(self.shape.clone()),
            stop,
        }]
    }

    /// Whom the open patch goes over, in words, as the list and the dry run stand now (the
    /// overlay's title and the question). A filter the list holds only the first matches of
    /// patches every match: said (bb18 L09: 3,864 written under `first 2,000`), also when the
    /// list capped, or the dry run matched more, only after the dry run began (bb26 T11).
    pub fn patch_over(&self) -> String {
        let Some(view) = &self.patch else { return String::new() };
        let Selection::Search(filter) = &view.selection else { return "every user".to_owned() };
        let shown = self.list.rows.len() as u64;
        let matched = view.report.as_ref().map_or(0, |report| report.matched);
        if self.list.search.capped || matched > shown {
            let shown = crate::domain::group_digits(shown);
            format!("every user matching {filter:?}, more than the {shown} the list shows")
        } else {
            format!("users matching {filter:?}")
        }
    }

    /// The dry run's answer: the report in the overlay, or why there is none.
    pub(super) fn patch_ready(
        &mut self,
        file: String,
        result: Result<(Box<PatchReport>, JsonPatch), String>,
    ) {
        let Some(view) = self.patch.as_mut().filter(|v| v.file == file && v.report.is_none()) else {
            return;
        };
        match result {
            Ok((report, patch)) => {
                view.report = Some(*report);
                view.patch = Some(patch);
            }
            Err(why) => {
                self.patch = None;
                self.say(StatusKind::Error, format!(":patch: {why}"));
            }
        }
    }

    /// `j`/`k`: the next or previous changed user.
    pub(super) fn patch_user(&mut self, delta: isize) {
        let Some(view) = &mut self.patch else { return };
        let shown = view.report.as_ref().map_or(0, |r| r.samples.len());
        let next = view.selected.saturating_add_signed(delta).min(shown.saturating_sub(1));
        if next != view.selected {
            view.selected = next;
            view.scroll = 0;
        }
    }

    /// `↑`/`↓`/`PgUp`/`PgDn`: scroll the shown diff, never past its last row at the bottom of
    /// the pane (it scrolled by the whole document's lines, past the compact diff's end into
    /// an empty pane).
    pub(super) fn patch_scroll(&mut self, delta: i16) {
        let height = self.height;
        let Some(view) = &mut self.patch else { return };
        let rows = compact(&view.selected_diff()).len();
        let shown = usize::from(layout::patch_diff_rows(height, view.summary_rows()));
        view.scroll = view.scroll.saturating_add_signed(isize::from(delta)).min(rows.saturating_sub(shown));
    }

    /// `Enter`: ask before writing, naming how many users would change.
    pub(super) fn patch_ask(&mut self) {
        let Some(view) = &self.patch else { return };
        let Some(report) = &view.report else {
            self.say_until(StatusKind::Info, "the dry run is still under way", Until::DryRunDone);
            return;
        };
        if view.applying {
            return;
        }
        if let Some(read_only) = self.read_only {
            let why = read_only.why();
            self.say(
                StatusKind::Error,
                format!("read-only: {why}: the patch cannot be applied (the dry run is all)"),
            );
            return;
        }
        if report.changed == 0 {
            self.say(StatusKind::Info, "nothing to apply: the patch changes no user");
            return;
        }
        let (writes, flagged) = (view.writes(), view.flagged());
        if writes == 0 {
            self.say(
                StatusKind::Info,
                format!(
                    "nothing to apply: every user the patch changes would hold something that looks like a secret ({}), and those are left as they are; s writes them too",
                    users(flagged)
                ),
            );
            return;
        }
        let secrets = match view.write_flagged {
            true => SecretsInPatch::Written(flagged),
            false => SecretsInPatch::Left(flagged),
        };
        let (file, over) = (view.file.clone(), self.patch_over());
        self.dialog = Some(Dialog::ConfirmPatch { users: writes, file, over, secrets });
    }

    /// `s`: the users the patch would leave holding something that looks like a secret are
    /// written too, or left as they are again.
    pub(super) fn patch_write_flagged(&mut self) {
        let Some(view) = self.patch.as_mut() else { return };
        if view.applying {
            return;
        }
        if view.report.is_none() {
            self.say_until(StatusKind::Info, "the dry run is still under way", Until::DryRunDone);
            return;
        }
        let flagged = view.flagged();
        if flagged == 0 {
            self.say(
                StatusKind::Info,
                "no user would hold something that looks like a secret: nothing to choose",
            );
            return;
        }
        view.write_flagged = !view.write_flagged;
        let text = match view.write_flagged {
            true => format!("the {} holding a likely secret are written too; s leaves them", users(flagged)),
            false => format!("the {} holding a likely secret are left as they are", users(flagged)),
        };
        self.say(StatusKind::Info, text);
    }

    /// The question was answered yes: the patch is written on the store's thread.
    pub(super) fn apply_patch(&mut self) -> Vec<Effect> {
        let Some(view) = &mut self.patch else { return Vec::new() };
        let Some(patch) = view.patch.clone() else { return Vec::new() };
        let Some(reviewed) = view.report.as_ref().and_then(|r| r.reviewed.clone()) else { return Vec::new() };
        view.applying = true;
        view.seen = None;
        let effect = Effect::ApplyPatch {
            patch,
            selection: view.selection.clone(),
            reviewed: reviewed.into(),
            shape: SharedShape(self.shape.clone()),
            schema: self.schema_source,
            write_flagged: view.write_flagged,
            stop: view.stop.clone(),
        };
        self.say(StatusKind::Info, "applying the patch…");
        vec![effect]
    }

    /// The apply's answer: the batch on the status line and the list read again, or why not.
    /// A quit asked for while it was written is made now, the answer said after the screen
    /// (the key was dropped, and the screen stayed after the batch: bb83 F6).
    pub(super) fn patch_applied(&mut self, result: PatchAnswer) -> Vec<Effect> {
        let quit_when_answered = self.patch.as_ref().is_some_and(|view| view.quit_when_answered);
        let effects = self.patch_answered(result);
        if !quit_when_answered {
            return effects;
        }
        if let Some(status) = &self.status {
            self.said_at_exit.push(status.text.clone());
        }
        self.quit();
        if self.quit { Vec::new() } else { effects }
    }

    fn patch_answered(&mut self, result: PatchAnswer) -> Vec<Effect> {
        match result {
            PatchAnswer::CommittedUnanswered(batch) => {
                self.patch = None;
                self.say(
                    StatusKind::Success,
                    format!(
                        "batch {batch}: written — the connection was lost while it was committing, and after reconnecting the journal has it (custodian undo {batch} takes it back)"
                    ),
                );
                self.refresh()
            }
            PatchAnswer::InDoubt(why) => {
                // Not "not applied": applying it again could apply it twice.
                self.patch = None;
                self.say(StatusKind::Error, format!("the patch may have been applied: {why}"));
                self.refresh()
            }
            PatchAnswer::Applied(summary, failed) => {
                self.patch = None;
                let left =
                    if failed > 0 { format!(", {} left as they are", users(failed)) } else { String::new() };
                let text = if summary.saved == 0 {
                    "no user changed: no batch was written".to_owned()
                } else {
                    format!(
                        "batch {}: saved {}{left} (custodian undo {} takes it back)",
                        summary.batch,
                        users(summary.saved),
                        summary.batch
                    )
                };
                self.say(StatusKind::Success, text);
                self.refresh()
            }
            PatchAnswer::ConnectionLost(why) => {
                if let Some(view) = &mut self.patch {
                    view.applying = false;
                }
                self.connection_lost(format!("the patch was not applied: {why}"));
                Vec::new()
            }
            PatchAnswer::NotApplied(why) => {
                if let Some(view) = &mut self.patch {
                    view.applying = false;
                }
                self.say(StatusKind::Error, format!("the patch was not applied: {why}"));
                Vec::new()
            }
            PatchAnswer::ServerTakesNoWrites(why) => {
                if let Some(view) = &mut self.patch {
                    view.applying = false;
                }
                self.writes_refused(super::ReadOnly::Server, format!("the patch was not applied: {why}"))
            }
        }
    }

    /// The way out: a dry run still going over the users is not wanted any more, and stops
    /// at the next one; a batch being written stops too, writing nothing, as a signal stops
    /// `patch --yes` (at a million users it would hold the way out past its 30 s).
    pub fn stop_patch_work(&self) {
        if let Some(view) = &self.patch {
            view.stop.stop();
        }
    }

    /// `Esc`/`q`: close the overlay (not while the apply is under way); a dry run still
    /// under way stops, or it would hold the store's reads (the profile, `e`) until its end.
    pub(super) fn close_patch(&mut self) -> Vec<Effect> {
        if self.patch.as_ref().is_some_and(|v| v.applying) {
            self.say(StatusKind::Info, "applying the patch… wait for the answer");
            return Vec::new();
        }
        match self.patch.take() {
            Some(view) if view.report.is_none() => vec![Effect::StopDryRun(view.stop)],
            _ => Vec::new(),
        }
    }
}
