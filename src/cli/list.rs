//! `list`: users as an aligned table or JSON, and the table layout other commands share.

use std::io::{self, IsTerminal};

use anyhow::Result;
use unicode_width::UnicodeWidthStr;

use super::Output;
use crate::export;
use crate::inert;
use crate::store::{ListEntry, UserRecord, UserStore};

pub(super) fn list(
    store: &dyn UserStore,
    search: Option<&str>,
    limit: usize,
    json: bool,
    out: &mut Output,
) -> Result<()> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    // One row past the limit says whether there are more, so the cut is never silent.
    let wanted = limit.saturating_add(1);
    let mut entries = match search {
        Some(query) => store.search(query, None, wanted)?,
        None => {
            let mut all = Vec::new();
            let mut after = None;
            while all.len() < wanted {
                let page = store.page_after(after.as_ref(), (wanted - all.len()).min(1000))?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                all.extend(page);
            }
            all
        }
    };
    if entries.len() > limit {
        entries.truncate(limit);
        say_more_follow(store, search, limit)?;
    }
    if json {
        for entry in &entries {
            let document = store.custom_data(&entry.user.id)?;
            let record = UserRecord {
                user: (*entry.user).clone(),
                revision: entry.revision,
                revised_at: 0,
                revised_by: String::new(),
            };
            out.json(&export::user_line(&record, &document.text)?)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries.iter().map(list_row).collect();
    for line in table(&["ID", "USERNAME", "EMAIL", "PHONE", "NAME", "REV"], &rows) {
        out.line(&line)?;
    }
    Ok(())
}

fn list_row(entry: &ListEntry) -> Vec<String> {
    let user = &entry.user;
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let mut name = text(&user.name);
    if user.is_suspended {
        name.push_str(" (suspended)");
    }
    vec![
        user.id.clone(),
        text(&user.username),
        text(&user.primary_email),
        text(&user.primary_phone),
        name,
        entry.revision.to_string(),
    ]
}

/// `list` stopped at its limit: on a terminal, stderr says how many it left out and how to
/// see them (`custodian list | grep …` must not miss users without a word).
fn say_more_follow(store: &dyn UserStore, search: Option<&str>, limit: usize) -> Result<()> {
    if !io::stderr().is_terminal() {
        return Ok(());
    }
    let message = match search {
        // Counting every match would read the whole database: say only that there are more.
        Some(_) => {
            format!("showing the first {limit} matches; more match — --limit N shows more, --limit 0 all")
        }
        None => {
            let more = store.count()?.saturating_sub(limit as u64);
            format!("showing the first {limit} users; {more} more — --limit N shows more, --limit 0 all")
        }
    };
    eprintln!("custodian: {message}");
    Ok(())
}

/// Lays out rows as aligned columns; cells are made inert and cut to 40 columns.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    const MAX: usize = 40;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| inert::cut_to_width(&inert::line(cell), MAX).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let render = |row: Vec<&str>| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width.saturating_sub(cell.width()))))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![render(headers.to_vec())];
    lines.extend(cells.iter().map(|row| render(row.iter().map(String::as_str).collect())));
    lines
}
