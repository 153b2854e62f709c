//! `custodian changes`: the journal of every save, newest first, across users — who saved
//! which user's customData when, what keys it touched, and in which batch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, IsTerminal};

use anyhow::Result;
use serde_json::json;

use super::list::{LineSink, PagedTable, in_pages_up_to};
use super::{Output, UsageError};
use crate::domain::human_bytes;
use crate::domain::time::{TIME_BOUND_FORMS, format_utc, now_ms, parse_time_bound};
use crate::store::{BatchId, JournalEntry, JournalQuery, StoreError, UserStore};

/// What `changes` was asked for, as typed.
#[derive(Debug, Clone, Copy)]
pub struct ChangesRequest<'a> {
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub user: Option<&'a str>,
    pub by: Option<&'a str>,
    pub batch: Option<&'a str>,
    pub json: bool,
    pub limit: usize,
}

/// The time bounds, read before anything else (a bound not understood reads nothing).
pub fn time_bounds(request: &ChangesRequest, now: i64) -> Result<(Option<i64>, Option<i64>)> {
    let read = |flag: &str, text: Option<&str>| -> Result<Option<i64>> {
        text.map(|text| {
            parse_time_bound(text, now).ok_or_else(|| {
                // Quoted first, so a tab or a control reads as its escape (`\t`; inert then was
                // quoted, a tab read `\u{2409}`: bb39 #4), then made inert for what quoting leaves.
                let quoted = format!("{text:?}");
                let shown = crate::inert::cut_to_width(&crate::inert::line(&quoted), 42).into_owned();
                // `99999999999w` has the form, and only its size is wrong.
                // (Split at the last character, not byte: `1ｈ` panicked: bb95 F5.)
                let trimmed = text.trim();
                let too_long = trimmed.char_indices().last().is_some_and(|(at, unit)| {
                    at > 0
                        && trimmed[..at].bytes().all(|d| d.is_ascii_digit())
                        && matches!(unit, 'm' | 'h' | 'd' | 'w')
                });
                if too_long {
                    return UsageError(format!("{flag} {shown} is too long ago to be a time")).into();
                }
                UsageError(format!("{flag} {shown} is not a time: give {TIME_BOUND_FORMS}")).into()
            })
        })
        .transpose()
    };
    let (since, until) = (read("--since", request.since)?, read("--until", request.until)?);
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        // To the millisecond when the seconds alone read the same and the times differ (bb72
        // F6: two equal-looking times); the same time twice is said once each, without `+ 0 ms`
        // (bb90 F2).
        let shown = |ms: i64| match format_utc(until) == format_utc(since) && until != since {
            true => format!("{} + {} ms", format_utc(ms), ms.rem_euclid(1000)),
            false => format_utc(ms),
        };
        return Err(UsageError(format!(
            "--until ({}) is not after --since ({}): no save can be in that range",
            shown(until),
            shown(since)
        ))
        .into());
    }
    Ok((since, until))
}

/// The user `--user` names; for an explicit `id:ID` no user has now but the journal does (a
/// user deleted since, in Logto's console), that id, said on stderr: the audit is wanted
/// most then, and it said only "no user" (bb41 F9).
fn resolve_or_gone(store: &dyn UserStore, user: &str) -> Result<String> {
    let missing = match store.resolve(user) {
        Err(missing @ StoreError::UserNotFound(_)) => missing,
        found => return Ok(found?),
    };
    let parsed = crate::domain::user_ref::UserRef::parse(user);
    if parsed.field != Some(crate::domain::user_ref::UserField::Id) {
        return Err(missing.into());
    }
    let query = JournalQuery { user_id: Some(parsed.text.clone()), ..JournalQuery::default() };
    let mut journaled = false;
    store.journal(&query, &mut |_| {
        journaled = true;
        Ok(false)
    })?;
    if !journaled {
        return Err(missing.into());
    }
    crate::stderr_line!(
        "custodian: no user has the id {} now (deleted since?): its saves in the journal",
        crate::inert::line(&parsed.text)
    );
    Ok(parsed.text)
}

/// Lists the journal entries the request names.
pub(super) fn run(store: &dyn UserStore, request: &ChangesRequest, out: &mut Output) -> Result<()> {
    let (since, until) = time_bounds(request, now_ms())?;
    let user_id = request.user.map(|user| resolve_or_gone(store, user)).transpose()?;
    let query = JournalQuery {
        since,
        until,
        user_id,
        saved_by: request.by.map(str::to_owned),
        batch: request.batch.map(|b| BatchId(b.trim().to_owned())),
        before: None,
    };
    // A page of entries at a time (a million saves are never held), up to the limit; one entry
    // past it says whether there are more, so the cut is never silent. The store is not asked
    // for names while it reads the journal (on PostgreSQL both are one session).
    // Each page's usernames are read at once, after its entries (one query on PostgreSQL,
    // not one a line); only the table shows them.
    let names = RefCell::new(HashMap::new());
    let mut rows = ChangeRows::new(&names);
    let listed = std::cell::Cell::new(0_u64);
    let more = in_pages_up_to(
        request.limit,
        |before: Option<&(i64, u64)>, wanted| {
            let query = JournalQuery { before: before.copied(), ..query.clone() };
            let mut page: Vec<JournalEntry> = Vec::with_capacity(wanted);
            // The table shows each entry's keys cut to 40 columns: a few of them are held.
            // `--json` writes them all: a page holds up to KEYS_HELD keys, then ends early.
            let (mut held, mut cut_short) = (0, false);
            store.journal(&query, &mut |entry| {
                let entry = if request.json { entry.clone() } else { entry.keys_cut_to(KEYS_SHOWN) };
                held += entry.key_count();
                page.push(entry);
                cut_short = held >= KEYS_HELD && page.len() < wanted;
                Ok(page.len() < wanted && !cut_short)
            })?;
            if !request.json {
                let mut ids: Vec<String> =
                    page.iter().filter(|e| !e.is_load()).map(|e| e.user_id.clone()).collect();
                ids.sort_unstable();
                ids.dedup();
                // A user the journal names but the store no longer has shows by id alone.
                let mut names = names.borrow_mut();
                names.clear();
                for record in store.users_by_id(&ids)? {
                    names.insert(record.user.id.clone(), record.user.username.unwrap_or_default());
                }
            }
            Ok((page, cut_short))
        },
        JournalEntry::position,
        |entry| {
            listed.set(listed.get() + 1);
            if request.json {
                out.streamed_json(&entry_json(entry).to_string())
            } else {
                rows.push(entry, &mut |line| out.streamed_line(line))
            }
        },
    )?;
    // A batch id that names no batch (mistyped, pasted from another database) is said, as
    // `undo` says it: an empty list read as "that batch changed nobody" (bb18 L04).
    if listed.get() == 0
        && let Some(batch) = &query.batch
        && !batch_exists(store, batch)?
    {
        return Err(StoreError::BatchNotFound(batch.0.clone()).into());
    }
    if !request.json {
        rows.finish(&mut |line| out.line(line))?;
    }
    if more && io::stderr().is_terminal() {
        // `the newest 1 changes` (bb38 F2).
        let newest = match request.limit {
            1 => "the newest change".to_owned(),
            n => format!("the newest {} changes", crate::domain::group_digits(n as u64)),
        };
        crate::stderr_line!(
            "custodian: showing {newest}; there are more — --limit N shows more, --limit 0 all"
        );
    }
    Ok(())
}

/// Whether the journal holds any entry of `batch`, whenever and whoever saved it.
fn batch_exists(store: &dyn UserStore, batch: &BatchId) -> Result<bool> {
    let query = JournalQuery { batch: Some(batch.clone()), ..JournalQuery::default() };
    let mut found = false;
    store.journal(&query, &mut |_| {
        found = true;
        Ok(false)
    })?;
    Ok(found)
}

/// One entry as a JSON Lines record; a bulk load's has no user (`userId` null) and says how
/// many users it created (`loadedUsers`, also on a loaded user's revision 1 read by `--user`).
fn entry_json(entry: &JournalEntry) -> serde_json::Value {
    let mut record = json!({
        "savedAt": entry.saved_at,
        "savedBy": entry.saved_by,
        "userId": (!entry.is_load()).then_some(entry.user_id.as_str()),
        "revision": entry.revision,
        "size": entry.size,
        "added": entry.added,
        "removed": entry.removed,
        "changed": entry.changed,
        "batch": entry.batch.as_ref().map(|b| b.0.as_str()),
    });
    if let (Some(users), Some(object)) = (entry.load, record.as_object_mut()) {
        object.insert("loadedUsers".into(), users.into());
    }
    record
}

/// Keys of each kind an entry of the table keeps: more than 40 columns show.
const KEYS_SHOWN: usize = 64;

/// Keys a page of `--json` entries holds before it ends early: documents of 60,000 keys made
/// a page of 1,000 entries 4 GB (bb42 F10); this is some 40 MB.
const KEYS_HELD: usize = 500_000;

/// The table of entries, written a page at a time, with the usernames of the page's users.
struct ChangeRows<'n> {
    table: PagedTable<'static>,
    names: &'n RefCell<HashMap<String, String>>,
}

impl<'n> ChangeRows<'n> {
    fn new(names: &'n RefCell<HashMap<String, String>>) -> Self {
        const HEADERS: &[&str] = &["WHEN", "WHO", "ID", "USERNAME", "REV", "SIZE", "KEYS", "BATCH"];
        Self { table: PagedTable::new(HEADERS), names }
    }

    fn push(&mut self, entry: &JournalEntry, out: &mut LineSink<'_>) -> Result<()> {
        let id = entry.user_id.as_str();
        // An earlier account's save under this id is not the current one's to name.
        let name = match entry.of_an_earlier_account {
            true => String::new(),
            false => self.names.borrow().get(id).cloned().unwrap_or_default(),
        };
        let row = vec![
            format_utc(entry.saved_at),
            entry.saved_by.clone(),
            crate::domain::user_ref::UserRef::shown_id(id),
            name,
            entry.revision.to_string(),
            human_bytes(entry.size),
            entry.key_summary(),
            entry.batch.as_ref().map(ToString::to_string).unwrap_or_default(),
        ];
        self.table.push(row, out)
    }

    fn finish(self, out: &mut LineSink<'_>) -> Result<()> {
        self.table.finish(out)
    }
}
