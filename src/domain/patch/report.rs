//! What a batch found, user by user: the counts, the failures grouped by the rule they
//! break, the first diffs, and the fingerprints a confirmed batch is held to.

use std::collections::HashMap;

use super::{Failure, PatchOutcome};
use crate::domain::custom_data::{canonical_text, parse_object};
use crate::domain::json_string::StringState;
use crate::domain::secrets::SecretFinding;

/// One rule users could not be patched by: how many, and the first few of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    /// [`Failure::rule`]: what the group is keyed by.
    pub rule: String,
    /// The first user's reason.
    pub reason: String,
    /// Whether another user's reason differs from it (by their own values).
    pub varied: bool,
    pub users: u64,
    pub first: Vec<String>,
}

impl FailureGroup {
    /// The reason as a report says it: the first user's, naming them when the others' differ.
    pub fn said(&self) -> String {
        match (self.varied, self.first.first()) {
            (true, Some(id)) => format!("{} (so for {id}; the others alike)", self.reason),
            _ => self.reason.clone(),
        }
    }
}

/// A changed user kept for the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedUser {
    pub id: String,
    pub handle: String,
    /// The revision the user is at (before the patch).
    pub revision: u64,
    pub old: String,
    pub new: String,
    /// Where the secrets lint flags the new document (with `allow_sensitive`), as shown.
    pub secrets: Vec<String>,
}

/// The most columns of a failure group's reason a report line takes.
const REASON_COLUMNS: usize = 300;

/// User ids a failure group names.
const FIRST_IN_GROUP: usize = 3;
/// Distinct reasons kept; a patch failing a million ways is still a short report.
const MAX_GROUPS: usize = 20;
const OTHER_REASONS: &str = "other reasons";

/// What a batch found, user by user: what the dry run prints and the overlay shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchReport {
    pub matched: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// In the order the reasons were first met.
    pub groups: Vec<FailureGroup>,
    /// The first changed users, up to the report's sample size.
    pub samples: Vec<ChangedUser>,
    pub sample_size: usize,
    /// Users whose stored document the secrets lint flags (with `allow_sensitive`): id and
    /// where, the first few.
    pub flagged: Vec<(String, Vec<SecretFinding>)>,
    pub flagged_users: u64,
    /// When asked for ([`PatchReport::noting_what_changes`]): a fingerprint of each changed
    /// user with the document the patch was applied to ([`changed_fingerprint`]), and one of
    /// the user alone ([`reviewed_user_fingerprint`]), sorted once the walk is over. What a
    /// screen's dry run showed, so its apply writes nothing else and leaves no one out.
    pub reviewed: Option<Vec<u64>>,
}

/// A user and the stored document a patch changed, as one number: the same user with the
/// same document gives the same number, however the document's text is laid out (a dry run
/// may read it indented, the batch compact); another user, or the document written since, not
/// (but by a 1 in 2^64 chance).
pub fn changed_fingerprint(id: &str, stored: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    // The text without the whitespace between its tokens, fed in runs.
    let mut state = StringState::default();
    let mut run = 0;
    for (at, c) in stored.char_indices() {
        if !state.in_string() && matches!(c, ' ' | '\n' | '\r' | '\t') {
            hasher.write(&stored.as_bytes()[run..at]);
            run = at + 1;
        }
        state.step(c);
    }
    hasher.write(&stored.as_bytes()[run..]);
    hasher.finish()
}

/// A user a dry run showed changing, whatever their document: [`changed_fingerprint`] of an
/// empty text, which no stored document is (the least is `{}`).
pub fn reviewed_user_fingerprint(id: &str) -> u64 {
    changed_fingerprint(id, "")
}

impl PatchReport {
    /// The users holding a likely secret that [`PatchReport::flagged`] does not name (it keeps
    /// the first few): counted wherever the named ones are listed.
    pub fn flagged_unnamed(&self) -> u64 {
        self.flagged_users.saturating_sub(self.flagged.len() as u64)
    }

    /// A report keeping the documents of the first `sample_size` changed users.
    pub fn new(sample_size: usize) -> Self {
        Self { sample_size, ..Self::default() }
    }

    /// The same report, also noting which users change ([`PatchReport::reviewed`]): 16 bytes
    /// a changed user.
    pub fn noting_what_changes(mut self) -> Self {
        self.reviewed = Some(Vec::new());
        self
    }

    /// Counts one user's outcome. `stored` is the document it was applied to.
    pub fn record(&mut self, id: &str, handle: &str, revision: u64, stored: &str, outcome: &PatchOutcome) {
        self.matched += 1;
        match outcome {
            PatchOutcome::Unchanged => self.unchanged += 1,
            PatchOutcome::Changed { data, flagged } => {
                self.changed += 1;
                if let Some(reviewed) = &mut self.reviewed {
                    reviewed.extend([changed_fingerprint(id, stored), reviewed_user_fingerprint(id)]);
                }
                if self.samples.len() < self.sample_size {
                    let old = parse_object(stored).map_or_else(|_| stored.to_owned(), |o| canonical_text(&o));
                    self.samples.push(ChangedUser {
                        id: id.to_owned(),
                        handle: handle.to_owned(),
                        revision,
                        old,
                        new: data.canonical().to_owned(),
                        secrets: flagged
                            .iter()
                            .map(|f| crate::domain::value_path::shown_path(&f.path).into_owned())
                            .collect(),
                    });
                }
                if !flagged.is_empty() {
                    self.flagged_users += 1;
                    if self.flagged.len() < FIRST_IN_GROUP {
                        self.flagged.push((id.to_owned(), flagged.clone()));
                    }
                }
            }
            PatchOutcome::Failed(failure) => {
                self.failed += 1;
                self.fail(id, failure);
            }
        }
    }

    fn fail(&mut self, id: &str, failure: &Failure) {
        let group = |rule: &str, reason: &str| FailureGroup {
            rule: rule.to_owned(),
            reason: reason.to_owned(),
            varied: false,
            users: 0,
            first: Vec::new(),
        };
        let index = match self.groups.iter().position(|g| g.rule == failure.rule) {
            Some(index) => {
                let group = &mut self.groups[index];
                group.varied |= group.reason != failure.reason;
                index
            }
            None if self.groups.len() < MAX_GROUPS => {
                self.groups.push(group(&failure.rule, &failure.reason));
                self.groups.len() - 1
            }
            None => match self.groups.iter().position(|g| g.rule == OTHER_REASONS) {
                Some(index) => index,
                None => {
                    self.groups.push(group(OTHER_REASONS, OTHER_REASONS));
                    self.groups.len() - 1
                }
            },
        };
        let group = &mut self.groups[index];
        group.users += 1;
        if group.first.len() < FIRST_IN_GROUP {
            group.first.push(id.to_owned());
        }
    }

    /// The first failure, for `--strict`'s refusal.
    pub fn first_failure(&self) -> Option<(&str, &str)> {
        self.groups.first().and_then(|g| g.first.first().map(|id| (id.as_str(), g.reason.as_str())))
    }

    /// The report as lines: counts, then failures grouped (a few ids each); `written` says
    /// whether the changes were saved or would be.
    pub fn summary_lines(&self, written: bool) -> Vec<String> {
        let change = if written { "changed" } else { "would change" };
        let mut lines = vec![
            format!("{} matched", users(self.matched)),
            format!("  {} {change}", users(self.changed)),
            format!("  {} unchanged (the patch applies and changes nothing)", users(self.unchanged)),
            format!("  {} cannot be patched (left as they are)", users(self.failed)),
        ];
        for group in &self.groups {
            let more = group.users.saturating_sub(group.first.len() as u64);
            let more = if more > 0 {
                format!(" and {} more", crate::domain::group_digits(more))
            } else {
                String::new()
            };
            // The reason is cut, not the line: its count and ids stay (a long key cut the
            // line before them: bb28 R02).
            lines.push(format!(
                "    {}: {} ({}{more})",
                crate::inert::cut_to_width(&group.said(), REASON_COLUMNS),
                users(group.users),
                group.first.join(", ")
            ));
        }
        lines
    }

    /// Counts of the failure reasons, for a test or a log.
    pub fn reasons(&self) -> HashMap<&str, u64> {
        self.groups.iter().map(|g| (g.reason.as_str(), g.users)).collect()
    }
}

/// `1 user`, `3 users`.
pub fn users(n: u64) -> String {
    // Grouped as the list's title counts (`1000000 users matched` under `Users · 1,000,000`).
    if n == 1 { "1 user".to_owned() } else { format!("{} users", crate::domain::group_digits(n)) }
}
