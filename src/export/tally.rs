//! What an export did: the users it wrote, those it left out (their stored customData is no
//! JSON object) and those an import of it would refuse, and how it says so.

use anyhow::Result;

use super::push_line;
use crate::domain::custom_data::{Limits, NotAnObject, group_digits};
use crate::domain::import::RecordRules;
use crate::domain::user_ref::UserRef;
use crate::store::{COLLISIONS_LISTED, NameCollision, UserRecord, UserStore};

/// The most users an export left out that its error names by id (the rest are counted).
pub(super) const LEFT_OUT_NAMED: usize = 5;

/// What an export did: the users it wrote, and those it left out because their stored
/// customData is no JSON object (SQL wrote `null` or an array into Logto's database; on a
/// file, a damaged record). One such user stopped the export of every other.
#[derive(Default)]
pub(crate) struct Tally {
    pub(super) written: u64,
    pub(super) left_out: u64,
    /// The first users left out, with what their customData is instead.
    pub(super) named: Vec<(String, &'static str)>,
    /// Each line read as an import reads a record, where others may have written the users
    /// ([`UserStore::written_by_others`]): Logto takes a customData nested 100 deep or of
    /// 2 MB, SQL an id with white space, and one such user made the whole import of an
    /// export that had said nothing refuse it (bb11).
    pub(super) import_rules: Option<RecordRules>,
    pub(super) unimportable: u64,
    /// The first users an import would refuse, with why.
    pub(super) unimportable_named: Vec<(String, String)>,
    /// Where others write: users sharing a name an import keeps unique (`Bob` and `bob`: Logto
    /// keeps them apart), which an import refuses as the second of two; or why the names could
    /// not be checked. `None`: not looked for.
    pub(super) collisions: Option<Result<Vec<NameCollision>, String>>,
}

/// Why an import would refuse `line`, the export's line of a user whose stored customData is
/// `text`: a record it reads and refuses, one longer than it reads, or fields besides
/// customData over what the store takes (a `profile` of 2 MiB Logto or SQL wrote was written
/// and not named, and the import of the file was refused on it: bb46 F5).
fn why_an_import_would_refuse(rules: &mut RecordRules, line: &str, text: &str) -> Option<String> {
    use crate::domain::custom_data::human_bytes;
    if line.len() > crate::domain::import::MAX_RECORD_BYTES {
        return Some(format!(
            "its line is longer than {}, the most one user may take",
            human_bytes(crate::domain::import::MAX_RECORD_BYTES)
        ));
    }
    if let Some(Err(refused)) = rules.read_record(line, String::new()) {
        return Some(refused.reason);
    }
    // The line less its document: near enough what the store keeps besides it.
    let fields = line.len().saturating_sub(text.len());
    (fields > crate::store::MAX_USER_FIELDS_BYTES).then(|| crate::store::fields_over_the_limit(fields))
}

impl Tally {
    /// The tally of an export of `store`'s users.
    pub(super) fn of_export(store: &dyn UserStore) -> Self {
        let import_rules = store.written_by_others().then(|| RecordRules::new(Limits::default(), 0));
        Self { import_rules, ..Self::default() }
    }

    /// Puts the user's line (no newline) in `line`; a user it cannot be made for (the stored
    /// document is no JSON object) is noted as left out instead: `false`.
    pub(super) fn line_of(&mut self, line: &mut Vec<u8>, record: &UserRecord, text: &str) -> bool {
        line.clear();
        if push_line(line, record, text).is_ok() {
            if let Some(rules) = &mut self.import_rules
                && let Ok(line) = std::str::from_utf8(line)
                && let Some(reason) = why_an_import_would_refuse(rules, line, text)
            {
                self.unimportable += 1;
                if self.unimportable_named.len() < LEFT_OUT_NAMED {
                    self.unimportable_named.push((record.user.id.clone(), reason));
                }
            }
            return true;
        }
        self.leave_out(&record.user.id, NotAnObject::in_text(text).found);
        false
    }

    /// Where others write, looks for users sharing a name (once the lines are written: the
    /// same users, as near as a second read gets).
    pub(super) fn note_collisions(&mut self, store: &dyn UserStore) {
        if self.import_rules.is_none() {
            return;
        }
        self.collisions = Some(store.name_collisions().map_err(|e| e.to_string()));
    }

    /// Notes `id` as left out: its stored customData is `found`, not an object.
    pub(crate) fn leave_out(&mut self, id: &str, found: &'static str) {
        self.left_out += 1;
        if self.named.len() < LEFT_OUT_NAMED {
            self.named.push((id.to_owned(), found));
        }
    }

    /// Notes one user written.
    pub(crate) fn wrote_one(&mut self) {
        self.written += 1;
    }

    /// How many users were written, when that is every one; else [`LeftOut`] of `of` (`the
    /// export`), said once the others are all where they went (`to`).
    pub(crate) fn finish_of(self, of: &'static str, to: &str) -> Result<u64> {
        let refused = self.refused_by_an_import();
        if self.left_out > 0 {
            let (users, named, written) = (self.left_out, self.named, self.written);
            return Err(LeftOut { of, users, named, written, to: to.to_owned(), refused }.into());
        }
        match refused {
            Some(refused) => Err(Unimportable { refused, written: self.written, to: to.to_owned() }.into()),
            None => Ok(self.written),
        }
    }

    /// `an import of it would refuse 2 of them (…): u5 (why), u7 (why)`, and the names users
    /// share, when it would.
    pub(super) fn refused_by_an_import(&self) -> Option<String> {
        let parts: Vec<String> = [self.users_refused(), self.names_shared()].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Names shared by users an import would refuse, or why they were not checked. Found by
    /// the store, by custodian's fold: the export itself would have to hold every name of the
    /// tenant (bb16 L16).
    pub(super) fn names_shared(&self) -> Option<String> {
        let collisions = match self.collisions.as_ref()? {
            Ok(collisions) => collisions,
            Err(why) => {
                return Some(format!(
                    "whether two users share a name (which an import refuses) was not checked: {why}"
                ));
            }
        };
        let (first, rest) = collisions.split_at(collisions.len().min(LEFT_OUT_NAMED));
        if first.is_empty() {
            return None;
        }
        let named: Vec<String> = first
            .iter()
            .map(|(field, value, ids)| {
                let ids: Vec<String> = ids.iter().map(|id| UserRef::shown_id(id)).collect();
                crate::inert::line(&format!("{field} {value:?} ({})", ids.join(", "))).into_owned()
            })
            .collect();
        let more = match rest.len() {
            0 => String::new(),
            n if collisions.len() >= COLLISIONS_LISTED => format!(" and {n} or more names"),
            n => format!(" and {n} more names"),
        };
        Some(format!(
            "an import of it would refuse users who share a name custodian keeps unique (Logto keeps apart names that differ in case, width or white space): {}{more}",
            named.join(", ")
        ))
    }

    pub(super) fn users_refused(&self) -> Option<String> {
        if self.unimportable == 0 {
            return None;
        }
        let named: Vec<String> = self
            .unimportable_named
            .iter()
            // Made inert where it is shown (stderr, the status line): marked here too, an ESC
            // came out as `\u{241b}`, another character (bb63 F1).
            .map(|(id, why)| format!("{} ({why})", UserRef::shown_id(id)))
            .collect();
        let more = self.unimportable - named.len() as u64;
        let more = if more > 0 { format!(" and {} more", group_digits(more)) } else { String::new() };
        Some(format!(
            "an import of it would refuse {} of them, which break custodian's rules for a user (Logto or SQL wrote them): {}{more}",
            group_digits(self.unimportable),
            named.join(", ")
        ))
    }

    /// What the export of `store`'s users to `to` did ([`Tally::finish_of`]), the names users
    /// share looked for first.
    pub(super) fn finish(mut self, store: &dyn UserStore, to: &str) -> Result<u64> {
        self.note_collisions(store);
        self.finish_of("the export", to)
    }
}

/// An export that wrote every user but those whose stored customData is no JSON object: the
/// others are complete where they went (a file is published with them), and this names who is
/// missing and why, as an error (exit 1) so that a backup script notices.
#[derive(Debug, thiserror::Error)]
pub struct LeftOut {
    /// What they were left out of: `the export`, `the list`.
    pub of: &'static str,
    pub users: u64,
    /// The first few, by id, with what their customData is instead.
    pub named: Vec<(String, &'static str)>,
    /// How many users were written.
    pub written: u64,
    /// Where they were written: the file, or standard output.
    pub to: String,
    /// What an import of the written ones would refuse, when it would ([`Unimportable`]).
    pub refused: Option<String>,
}

/// An export that wrote every user, some of which an import of it would refuse (Logto or
/// SQL wrote what custodian's rules do not allow): an error (exit 1) so that a backup script
/// notices before the file is needed.
#[derive(Debug, thiserror::Error)]
#[error("{} written to {to}, but {refused}; fix them where they are stored before this file is imported", users_were(*.written))]
pub struct Unimportable {
    pub refused: String,
    pub written: u64,
    pub to: String,
}

fn users_were(n: u64) -> String {
    if n == 1 { "1 user was".to_owned() } else { format!("{} users were", group_digits(n)) }
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users = crate::domain::patch::users;
        let named: Vec<String> = self.named.iter().map(|(id, found)| format!("{id} ({found})")).collect();
        let more = self.users - self.named.len() as u64;
        let more = if more > 0 { format!(" and {} more", group_digits(more)) } else { String::new() };
        write!(
            f,
            "{} left out of {}, their stored customData no JSON object custodian can read: {}{more}; `custodian set id:ID` replaces each one's; the other {} written to {}",
            users(self.users),
            self.of,
            named.join(", "),
            if self.written == 1 {
                "user was".to_owned()
            } else {
                format!("{} users were", group_digits(self.written))
            },
            self.to,
        )?;
        match &self.refused {
            Some(refused) => write!(f, "; {refused}"),
            None => Ok(()),
        }
    }
}
