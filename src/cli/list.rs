//! `list`: users as an aligned table or JSON, and the table layout other commands share.

use std::io::{self, IsTerminal};

use anyhow::Result;
use unicode_width::UnicodeWidthStr;

use super::Output;
use crate::domain::custom_data::NotAnObject;
use crate::domain::group_digits;
use crate::export;
use crate::inert;
use crate::store::{ListEntry, StoreError, UserRecord, UserStore};

pub(super) fn list(
    store: &dyn UserStore,
    search: Option<&str>,
    limit: usize,
    json: bool,
    out: &mut Output,
) -> Result<()> {
    // Every user from one snapshot ([`UserStore::walk_list`]): pages each read in their own
    // listed some users twice and others not at all while another process committed (bb42 F4).
    let limit = if limit == 0 { usize::MAX } else { limit };
    let mut table = PagedTable::new(&["ID", "USERNAME", "EMAIL", "PHONE", "NAME", "REV"]);
    // `--json` lines, and the users left out of them (as an export leaves them out).
    let mut tally = export::Tally::default();
    let (mut shown, mut more) = (0usize, false);
    // What stopped the walk on this side (standard output closed, a read of one user).
    let mut stopped: Option<anyhow::Error> = None;
    // One user past the limit is read to tell whether there are more.
    store.walk_list(search, limit.saturating_add(1), json, &mut |entry, document| {
        if shown == limit {
            more = true;
            return Ok(false);
        }
        shown += 1;
        match list_one(store, entry, document, json, &mut table, &mut tally, out) {
            Ok(()) => Ok(true),
            Err(e) => {
                stopped = Some(e);
                Ok(false)
            }
        }
    })?;
    if let Some(e) = stopped {
        return Err(e);
    }
    if more {
        say_more_follow(store, search, limit)?;
    }
    if json {
        tally.finish_of("the list", "standard output").map(drop)
    } else {
        table.finish(&mut |line| out.line(line))
    }
}

/// One user of the listing: a row of the table, or a JSON line (its document read on its own
/// when the walk did not give it: a redb page's read that failed).
fn list_one(
    store: &dyn UserStore,
    entry: ListEntry,
    document: Option<String>,
    json: bool,
    table: &mut PagedTable<'_>,
    tally: &mut export::Tally,
    out: &mut Output,
) -> Result<()> {
    if !json {
        return table.push(list_row(&entry), &mut |line| out.streamed_line(line));
    }
    let text = match document {
        Some(text) => text,
        None => match store.custom_data(&entry.user.id) {
            Ok(document) => document.text,
            Err(StoreError::StoredNotAnObject { user, found, .. }) => {
                tally.leave_out(&user, found);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        },
    };
    let record =
        UserRecord { user: *entry.user, revision: entry.revision, revised_at: 0, revised_by: String::new() };
    match export::user_line(&record, &text) {
        Ok(line) => {
            tally.wrote_one();
            out.streamed_json(&line)
        }
        // No JSON object (SQL wrote one into Logto's database): left out, as by export.
        Err(_) => {
            tally.leave_out(&record.user.id, NotAnObject::in_text(&text).found);
            Ok(())
        }
    }
}

/// Hands `emit` the items `fetch` reads, [`PagedTable::PAGE`] at a time after the cursor the
/// last one gives (`cursor`), up to `limit` (`0`: all), so a listing of a million holds one
/// page. One item past the limit is read to tell whether there are more: the answer.
/// A page `fetch` may end early, holding fewer than asked for, when it is `cut_short` (the
/// items it read had reached what a page may hold): more may follow.
pub(super) fn in_pages_up_to<T, K>(
    limit: usize,
    mut fetch: impl FnMut(Option<&K>, usize) -> Result<(Vec<T>, bool)>,
    cursor: impl Fn(&T) -> K,
    mut emit: impl FnMut(&T) -> Result<()>,
) -> Result<bool> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    let (mut shown, mut after) = (0usize, None);
    loop {
        let wanted = (limit - shown).saturating_add(1).min(PagedTable::PAGE);
        let (page, cut_short) = fetch(after.as_ref(), wanted)?;
        let Some(last) = page.last() else { return Ok(false) };
        after = Some(cursor(last));
        for item in &page {
            if shown == limit {
                return Ok(true);
            }
            emit(item)?;
            shown += 1;
        }
        if page.len() < wanted && !cut_short {
            return Ok(false);
        }
    }
}

fn list_row(entry: &ListEntry) -> Vec<String> {
    let user = &entry.user;
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let mut name = text(&user.name);
    if user.is_suspended {
        name.push_str(" (suspended)");
    }
    vec![
        // Quoted when white space, a comma or a quote would read wrong (bb89 F4).
        crate::domain::user_ref::UserRef::shown_id(&user.id),
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
            let first =
                if limit == 1 { "the first match".to_owned() } else { format!("the first {limit} matches") };
            format!("showing {first}; more match — --limit N shows more, --limit 0 all")
        }
        None => {
            let more = store.count()?.saturating_sub(limit as u64);
            // `the first 1 users` (bb38 F2).
            let first = if limit == 1 {
                "the first user".to_owned()
            } else {
                format!("the first {} users", group_digits(limit as u64))
            };
            format!("showing {first}; {} more — --limit N shows more, --limit 0 all", group_digits(more))
        }
    };
    crate::stderr_line!("custodian: {message}");
    Ok(())
}

/// Lays out rows as aligned columns; cells are made inert and cut to 40 columns.
/// A table written a page of rows at a time, each page aligned on its own widths (the header
/// once, with the first): a listing of a million rows holds one page, not all of them.
pub(super) struct PagedTable<'a> {
    headers: &'a [&'a str],
    rows: Vec<Vec<String>>,
    header_written: bool,
}

/// Where a table's lines go (standard output, or a test's buffer).
pub(super) type LineSink<'o> = dyn FnMut(&str) -> Result<()> + 'o;

impl<'a> PagedTable<'a> {
    /// Rows held before they are written, and items `in_pages_up_to` reads at a time.
    pub(super) const PAGE: usize = 1_000;

    pub(super) fn new(headers: &'a [&'a str]) -> Self {
        Self { headers, rows: Vec::new(), header_written: false }
    }

    pub(super) fn push(&mut self, row: Vec<String>, out: &mut LineSink<'_>) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= Self::PAGE { self.write_page(out) } else { Ok(()) }
    }

    /// Writes what is held (the header alone for a table without rows).
    pub(super) fn finish(mut self, out: &mut LineSink<'_>) -> Result<()> {
        if self.rows.is_empty() && self.header_written {
            return Ok(());
        }
        self.write_page(out)
    }

    fn write_page(&mut self, out: &mut LineSink<'_>) -> Result<()> {
        let lines = table(self.headers, &self.rows);
        let skip = usize::from(self.header_written);
        for line in &lines[skip..] {
            out(line)?;
        }
        self.header_written = true;
        self.rows.clear();
        Ok(())
    }
}

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

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use super::{PagedTable, in_pages_up_to};

    /// A page a fetch cut short (it held what a page may) is not the end: the items after it
    /// are read too, and the limit still counts every one (bb42 F10: `changes --json` pages
    /// end early on entries of many keys).
    #[test]
    fn a_page_cut_short_is_not_the_end_of_the_items() {
        let items: Vec<u32> = (0..2500).collect();
        for (limit, wanted_more) in [(0, false), (1200, true)] {
            let mut got = Vec::new();
            let more = in_pages_up_to(
                limit,
                |after: Option<&u32>, wanted| {
                    let from = after.map_or(0, |a| *a as usize + 1);
                    // Never more than 7 at a time, said cut short while more are left.
                    let page: Vec<u32> = items[from..].iter().take(wanted.min(7)).copied().collect();
                    let cut_short = page.len() < wanted && from + page.len() < items.len();
                    Ok((page, cut_short))
                },
                |item| *item,
                |item| {
                    got.push(*item);
                    Ok(())
                },
            )
            .expect("pages");
            let expected = if limit == 0 { items.len() } else { limit };
            assert_eq!(got, items[..expected], "limit {limit}");
            assert_eq!(more, wanted_more, "limit {limit}");
        }
    }
    use crate::cli::Output;

    /// Standard output whose reader went away after `open_for` bytes: it counts the writes
    /// tried after that.
    struct ClosingPipe {
        open_for: usize,
        written: usize,
        tried_after_closing: Arc<Mutex<usize>>,
    }

    impl Write for ClosingPipe {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.written >= self.open_for {
                *self.tried_after_closing.lock().unwrap() += 1;
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.written += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_listing_whose_reader_went_away_stops_reading_and_ends_successfully() {
        use crate::store::UserStore;
        let dir = tempfile::tempdir().expect("temp dir");
        let lines: String =
            (0..5000).map(|n| format!("{{\"id\":\"u{n}\",\"username\":\"user{n}\"}}\n")).collect();
        let store = crate::store::test_store(dir.path(), &lines);
        for json in [false, true] {
            let tried = Arc::new(Mutex::new(0));
            let pipe = ClosingPipe { open_for: 100, written: 0, tried_after_closing: tried.clone() };
            let mut out = Output::to(Box::new(pipe), false);
            // `list --limit 0`, then `head` reads 100 bytes and leaves.
            crate::cli::unless_closed(super::list(&store, None, 0, json, &mut out))
                .expect("a closed pipe is success");
            // One failed write tells the listing; 5,000 users (a page at a time) were not
            // written into the closed pipe one by one.
            assert_eq!(*tried.lock().unwrap(), 1, "json {json}");
        }
        // `export | head` the same.
        let tried = Arc::new(Mutex::new(0));
        let pipe = ClosingPipe { open_for: 100, written: 0, tried_after_closing: tried.clone() };
        let mut out = Output::to(Box::new(pipe), false);
        crate::cli::unless_closed(crate::cli::whole_database::export(&store, None, true, &mut out))
            .expect("a closed pipe is success");
        assert_eq!(*tried.lock().unwrap(), 1, "export");
        assert_eq!(store.count().expect("count"), 5000);
    }

    #[test]
    fn a_paged_table_writes_each_full_page_at_once_and_its_header_once() {
        let mut lines: Vec<String> = Vec::new();
        let mut table = PagedTable::new(&["N", "WORD"]);
        let row = |n: usize| vec![n.to_string(), "x".repeat(n % 7)];
        {
            let mut sink = |line: &str| {
                lines.push(line.to_owned());
                Ok(())
            };
            for n in 0..PagedTable::PAGE {
                table.push(row(n), &mut sink).unwrap();
            }
        }
        // The first page is out before the table is finished: nothing more is held.
        assert_eq!(lines.len(), 1 + PagedTable::PAGE);
        assert_eq!(lines[0], "N    WORD");
        let mut sink = |line: &str| {
            lines.push(line.to_owned());
            Ok(())
        };
        table.push(vec!["12345678".into(), "y".into()], &mut sink).unwrap();
        table.finish(&mut sink).unwrap();
        assert_eq!(lines.len(), 2 + PagedTable::PAGE);
        assert_eq!(lines.iter().filter(|l| l.starts_with("N ")).count(), 1, "one header");
        // The last page is aligned on its own widths.
        assert_eq!(lines.last().unwrap(), "12345678  y");
        let mut empty = Vec::new();
        PagedTable::new(&["N", "WORD"])
            .finish(&mut |line: &str| {
                empty.push(line.to_owned());
                Ok(())
            })
            .unwrap();
        assert_eq!(empty, ["N  WORD"]);
    }
}
