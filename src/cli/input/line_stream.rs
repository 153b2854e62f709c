//! The lines of a JSON Lines import, each bounded by the record limit.

use std::io;

use crate::domain::human_bytes;
use crate::domain::import::RecordError;

use super::{BLANK, RECORD, Source};

/// Why a streamed import stopped before its end.
#[derive(Debug)]
pub enum LineError {
    /// A line or element that cannot be a record (too long, not UTF-8), or an array whose
    /// syntax is broken between its elements: named by its line (and column).
    Record(RecordError),
    /// The source could not be read, or the input as a whole is wrong (an empty array).
    Io(anyhow::Error),
}

/// How much a [`LineStream`] asks of its source at a time.
pub(super) const LINE_CHUNK: usize = 1024 * 1024;

/// The lines of a JSON Lines import as they arrive, each bounded by the record limit, with
/// blank lines skipped (their numbers counted) and a trailing `\r` removed.
pub struct LineStream {
    source: Source,
    buffer: Vec<u8>,
    /// Where the next line starts in `buffer`.
    start: usize,
    /// The number of the line that starts at `start`.
    line: usize,
    /// Bytes of blank lines in a row before `start`, and the line that run started on.
    blank: (usize, usize),
    limit: usize,
    ended: bool,
    /// Bytes handed out so far (lines with their newlines), for progress.
    consumed: u64,
    /// Records handed out so far (blank lines are none): a record's number, said beside its
    /// line where the two differ.
    pub(super) records: usize,
    /// A regular file: a read never waits for a writer.
    never_waits: bool,
    /// With `--tenant`: a line too long to be read whole that names another tenant first is
    /// skipped as that tenant's rows are, not the end of the import (bb83 F4).
    only_tenant: Option<String>,
}

impl LineStream {
    pub(super) fn new(source: Source, prefix: Vec<u8>, limit: usize) -> Self {
        let never_waits = source.regular_size().is_some();
        Self {
            source,
            buffer: prefix,
            start: 0,
            line: 1,
            blank: (0, 1),
            limit,
            ended: false,
            consumed: 0,
            records: 0,
            never_waits,
            only_tenant: None,
        }
    }

    /// Lines of other tenants are to be skipped ([`LineStream::only_tenant`]).
    pub fn keeping_only_tenant(&mut self, tenant: Option<String>) {
        self.only_tenant = tenant;
    }

    /// The record a line too long to be read stands for: [`stand_in_for_another_tenant`].
    fn stands_for_another_tenant(&self, start: &[u8]) -> Option<String> {
        stand_in_for_another_tenant(self.only_tenant.as_deref(), start)
    }

    /// Reads past the rest of a line too long to be read (its start already dropped).
    fn skip_rest_of_line(&mut self) -> Result<(), LineError> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buffer[self.start..]) {
                self.consumed += (at + 1) as u64;
                self.start += at + 1;
                return Ok(());
            }
            self.consumed += (self.buffer.len() - self.start) as u64;
            self.buffer.clear();
            self.start = 0;
            if self.read_more()? == 0 {
                return Ok(());
            }
        }
    }

    /// Reads the next chunk onto the buffer: how many bytes came, 0 at the end (an interrupted
    /// read is made again).
    fn read_more(&mut self) -> Result<usize, LineError> {
        loop {
            match self.source.read_onto(&mut self.buffer, LINE_CHUNK) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let context = format!("cannot read {}", self.source.name());
                    return Err(LineError::Io(anyhow::Error::new(e).context(context)));
                }
                Ok(read) => return Ok(read),
            }
        }
    }

    /// See [`super::RecordStream::next_is_ready`].
    pub fn next_is_ready(&self) -> bool {
        self.never_waits || self.ended || memchr::memchr(b'\n', &self.buffer[self.start..]).is_some()
    }

    /// The size of the input when it is a regular file (for progress).
    pub fn total_bytes(&self) -> Option<u64> {
        self.source.regular_size()
    }

    /// Bytes of the input read as lines so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// One line (without its newline): blank ones are counted and skipped (`None`).
    fn take_line(&mut self, length: usize, newline: usize) -> Option<Result<(usize, String), LineError>> {
        let number = self.line;
        let bytes = &self.buffer[self.start..self.start + length];
        self.start += length + newline;
        self.consumed += (length + newline) as u64;
        self.line += 1;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if self.blank.0 == 0 {
                self.blank.1 = number;
            }
            self.blank.0 += length + newline;
            if self.blank.0 > self.limit {
                self.ended = true;
                return Some(Err(too_long_line(self.limit, self.blank.1, BLANK)));
            }
            return None;
        }
        self.blank.0 = 0;
        if length > self.limit {
            if let Some(stand_in) = self.stands_for_another_tenant(bytes) {
                return Some(Ok((number, stand_in)));
            }
            self.ended = true;
            return Some(Err(too_long_line(self.limit, number, RECORD)));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                self.ended = true;
                let column = crate::domain::scan::utf8_error_position(bytes, &e).column;
                let origin = format!("line {number}, col {column}");
                return Some(Err(LineError::Record(RecordError {
                    origin,
                    reason: "not valid UTF-8".into(),
                })));
            }
        };
        Some(Ok((number, text.strip_suffix('\r').unwrap_or(text).to_owned())))
    }
}

pub(super) fn too_long_line(limit: usize, line: usize, what: &str) -> LineError {
    let reason = format!("{what} {}, the most one user may take (reading stopped there)", human_bytes(limit));
    LineError::Record(RecordError { origin: format!("line {line}"), reason })
}

impl Iterator for LineStream {
    /// (line number, the line's text).
    type Item = Result<(usize, String), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(at) = memchr::memchr(b'\n', &self.buffer[self.start..]) {
                match self.take_line(at, 1) {
                    Some(item) => return Some(item),
                    None => continue,
                }
            }
            let partial = self.buffer.len() - self.start;
            let blank = self.buffer[self.start..].iter().all(u8::is_ascii_whitespace);
            if blank && self.blank.0 + partial > self.limit {
                self.ended = true;
                let line = if self.blank.0 == 0 { self.line } else { self.blank.1 };
                return Some(Err(too_long_line(self.limit, line, BLANK)));
            }
            if !blank && partial > self.limit {
                if let Some(stand_in) = self.stands_for_another_tenant(&self.buffer[self.start..]) {
                    let number = self.line;
                    self.line += 1;
                    if let Err(e) = self.skip_rest_of_line() {
                        self.ended = true;
                        return Some(Err(e));
                    }
                    return Some(Ok((number, stand_in)));
                }
                self.ended = true;
                return Some(Err(too_long_line(self.limit, self.line, RECORD)));
            }
            // Keep only the unfinished line, then read more.
            self.buffer.drain(..self.start);
            self.start = 0;
            match self.read_more() {
                Ok(0) => {
                    self.ended = true;
                    if self.buffer.is_empty() {
                        return None;
                    }
                    let length = self.buffer.len();
                    return self.take_line(length, 0);
                }
                Ok(_) => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The tenant a record too long to be read names first, when it is another than `kept` (the
/// one imported): the record the rest of the import sees instead, as short as it can be.
pub(super) fn stand_in_for_another_tenant(kept: Option<&str>, start: &[u8]) -> Option<String> {
    let kept = kept?;
    let tenant = crate::domain::logto_row::tenant_named_first(start)?;
    (tenant != kept).then(|| serde_json::json!({ "tenant_id": tenant }).to_string())
}
