//! `custodian changes`: the journal of every save, newest first, across users — who saved
//! which user's customData when, what keys it touched, and in which batch.

use std::collections::HashMap;
use std::io::{self, IsTerminal};

use anyhow::Result;
use serde_json::json;

use super::{Output, UsageError, table};
use crate::domain::human_bytes;
use crate::domain::time::{TIME_BOUND_FORMS, format_utc, now_ms, parse_time_bound};
use crate::store::{BatchId, JournalEntry, JournalQuery, UserStore};

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
                let shown = crate::inert::cut_to_width(&crate::inert::line(text), 40).into_owned();
                UsageError(format!("{flag} {shown:?} is not a time: give {TIME_BOUND_FORMS}")).into()
            })
        })
        .transpose()
    };
    Ok((read("--since", request.since)?, read("--until", request.until)?))
}

/// Lists the journal entries the request names.
pub(super) fn run(store: &dyn UserStore, request: &ChangesRequest, out: &mut Output) -> Result<()> {
    let (since, until) = time_bounds(request, now_ms())?;
    let user_id = request.user.map(|user| store.resolve(user)).transpose()?;
    let query = JournalQuery {
        since,
        until,
        user_id,
        saved_by: request.by.map(str::to_owned),
        batch: request.batch.map(|b| BatchId(b.to_owned())),
        before: None,
    };
    // One entry past the limit says whether there are more, so the cut is never silent.
    let wanted = if request.limit == 0 { usize::MAX } else { request.limit.saturating_add(1) };
    let mut entries: Vec<JournalEntry> = Vec::new();
    store.journal(&query, &mut |entry| {
        entries.push(entry.clone());
        Ok(entries.len() < wanted)
    })?;
    let more = request.limit != 0 && entries.len() > request.limit;
    if more {
        entries.truncate(request.limit);
    }
    if request.json {
        for entry in &entries {
            out.json(&entry_json(entry).to_string())?;
        }
    } else {
        print_table(store, &entries, out)?;
    }
    if more && io::stderr().is_terminal() {
        eprintln!(
            "custodian: showing the newest {} changes; there are more — --limit N shows more, --limit 0 all",
            request.limit
        );
    }
    Ok(())
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

fn print_table(store: &dyn UserStore, entries: &[JournalEntry], out: &mut Output) -> Result<()> {
    // Each user's name is read once, however many of their saves are listed.
    let mut names: HashMap<&str, String> = HashMap::new();
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = entry.user_id.as_str();
        if !names.contains_key(id) && !entry.is_load() {
            // A user the journal names but the store no longer has shows by id alone.
            let name = store.user(id).ok().and_then(|record| record.user.username).unwrap_or_default();
            names.insert(id, name);
        }
        rows.push(vec![
            format_utc(entry.saved_at),
            entry.saved_by.clone(),
            id.to_owned(),
            names.get(id).cloned().unwrap_or_default(),
            entry.revision.to_string(),
            human_bytes(entry.size),
            entry.key_summary(),
            entry.batch.as_ref().map(ToString::to_string).unwrap_or_default(),
        ]);
    }
    for line in table(&["WHEN", "WHO", "ID", "USERNAME", "REV", "SIZE", "KEYS", "BATCH"], &rows) {
        out.line(&line)?;
    }
    Ok(())
}
