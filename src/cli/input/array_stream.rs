//! The elements of a JSON array import as they arrive, each bounded by the record limit.

use std::io;

use crate::domain::human_bytes;
use crate::domain::import::RecordError;

use super::line_stream::{LINE_CHUNK, too_long_line};
use super::{BLANK, LineError, RECORD, Source};

/// Where an [`ArrayStream`] is in the array's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayPlace {
    /// Before the opening `[` (only blank space so far).
    Start,
    /// Where an element may start: after `[` (`comma` false) or after a `,`.
    BeforeElement { comma: bool },
    /// After an element: a `,` or the closing `]` is due.
    AfterElement,
    /// After the closing `]`: only blank space may follow.
    After,
}

/// The elements of a JSON array as they arrive, one at a time: each found by following
/// nesting and strings (not parsed: the record rules do that), bounded by the record limit,
/// and named `record N (line L)`. The array's own syntax (commas, brackets, what follows it)
/// is checked here, with the line and column of what is wrong.
pub struct ArrayStream {
    pub(super) source: Source,
    buffer: Vec<u8>,
    /// Where scanning is in `buffer`.
    pub(super) at: usize,
    /// Bytes dropped from the front of `buffer` so far.
    pub(super) dropped: u64,
    /// The line at `at`, where that line starts in `buffer` (0 when it started in a part
    /// already dropped) and the characters of it that were dropped.
    line: usize,
    line_start: usize,
    dropped_chars: usize,
    place: ArrayPlace,
    records: usize,
    limit: usize,
    ended: bool,
    /// A regular file: a read never waits for a writer.
    never_waits: bool,
    /// With `--tenant`: an element too long to be read whole that names another tenant first
    /// is skipped as that tenant's rows are, not the end of the import (bb83 F4, as in JSON
    /// Lines).
    only_tenant: Option<String>,
    /// The record the element being read past stands for, once it is one to skip.
    stand_in: Option<String>,
}

impl ArrayStream {
    /// Elements of other tenants are to be skipped ([`ArrayStream::only_tenant`]).
    pub fn keeping_only_tenant(&mut self, tenant: Option<String>) {
        self.only_tenant = tenant;
    }

    /// See [`super::RecordStream::next_is_ready`].
    pub fn next_is_ready(&self) -> bool {
        self.never_waits
            || self.ended
            || self.buffer[self.at.min(self.buffer.len())..]
                .iter()
                .any(|b| !b.is_ascii_whitespace() && *b != b',')
    }

    pub(super) fn new(source: Source, prefix: Vec<u8>, first: usize, limit: usize) -> Self {
        let mut stream = Self {
            source,
            buffer: prefix,
            at: 0,
            dropped: 0,
            line: 1,
            line_start: 0,
            dropped_chars: 0,
            place: ArrayPlace::Start,
            records: 0,
            limit,
            ended: false,
            never_waits: false,
            only_tenant: None,
            stand_in: None,
        };
        stream.never_waits = stream.source.regular_size().is_some();
        stream.advance_to(first);
        stream
    }

    /// Moves `at` forward to `to`, counting lines.
    fn advance_to(&mut self, to: usize) {
        for (i, b) in self.buffer[self.at..to].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.at + i + 1;
                self.dropped_chars = 0;
            }
        }
        self.at = to;
    }

    /// The 1-based column (in characters) of `position` on the current line.
    fn column(&self, position: usize) -> usize {
        let from = self.line_start.min(position);
        let chars = self.buffer[from..position].iter().filter(|b| (**b & 0xC0) != 0x80).count();
        self.dropped_chars + chars + 1
    }

    fn syntax(&mut self, position: usize, reason: &str) -> Option<Result<(String, String), LineError>> {
        self.ended = true;
        let origin = format!("line {}, col {}", self.line, self.column(position));
        Some(Err(LineError::Record(RecordError { origin, reason: reason.to_owned() })))
    }

    /// Drops what was scanned (keeping from `keep` on) and reads more; false at the end.
    fn read_more(&mut self, keep: usize) -> Result<bool, LineError> {
        let keep = keep.min(self.at);
        if keep > 0 {
            if self.line_start <= keep {
                let from = self.line_start;
                self.dropped_chars += self.buffer[from..keep].iter().filter(|b| (**b & 0xC0) != 0x80).count();
                self.line_start = 0;
            } else {
                self.line_start -= keep;
            }
            self.buffer.drain(..keep);
            self.at -= keep;
            self.dropped += keep as u64;
        }
        loop {
            match self.source.read_onto(&mut self.buffer, LINE_CHUNK) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let error = anyhow::Error::new(e).context(format!("cannot read {}", self.source.name()));
                    return Err(LineError::Io(error));
                }
            }
        }
    }

    /// Skips blank space; returns the next byte's position, reading more as needed (`None`
    /// at the end of the input). A run of blank space longer than a record stops it.
    fn skip_blank(&mut self) -> Result<Option<usize>, LineError> {
        let blank_from = (self.line, self.dropped + self.at as u64);
        loop {
            let found = self.buffer[self.at..].iter().position(|b| !b.is_ascii_whitespace());
            match found {
                Some(i) => {
                    self.advance_to(self.at + i);
                    return Ok(Some(self.at));
                }
                None => {
                    self.advance_to(self.buffer.len());
                    if self.dropped + self.at as u64 - blank_from.1 > self.limit as u64 {
                        return Err(too_long_line(self.limit, blank_from.0, BLANK));
                    }
                    let at = self.at;
                    if !self.read_more(at)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Finds where the element starting at `at` ends (exclusive), reading more as needed.
    /// `None`: the input ended inside it.
    fn element_end(&mut self) -> Result<Option<usize>, LineError> {
        let first = self.buffer[self.at];
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let mut scan = self.at;
        let record_line = self.line;
        loop {
            let bytes = &self.buffer;
            while scan < bytes.len() {
                let b = bytes[scan];
                if in_string {
                    if escaped {
                        escaped = false;
                        scan += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &bytes[scan..]) {
                        None => scan = bytes.len(),
                        Some(i) => {
                            scan += i;
                            if bytes[scan] == b'"' {
                                in_string = false;
                                if depth == 0 {
                                    return Ok(Some(scan + 1));
                                }
                            } else {
                                escaped = true;
                            }
                            scan += 1;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(Some(scan + 1));
                        }
                    }
                    // A scalar (or something that is not JSON) ends at a delimiter.
                    b',' | b']' | b'}' if depth == 0 => return Ok(Some(scan)),
                    _ if depth == 0 && b.is_ascii_whitespace() => return Ok(Some(scan)),
                    _ => {}
                }
                scan += 1;
            }
            if self.stand_in.is_none() && scan - self.at > self.limit {
                self.stand_in = super::line_stream::stand_in_for_another_tenant(
                    self.only_tenant.as_deref(),
                    &self.buffer[self.at..scan],
                );
            }
            if self.stand_in.is_some() {
                // Read past, nothing of it kept.
                self.advance_to(scan);
            } else if scan - self.at > self.limit {
                let origin = format!("record {} (line {record_line})", self.records + 1);
                let reason = format!(
                    "{RECORD} {}, the most one user may take (reading stopped there)",
                    human_bytes(self.limit)
                );
                return Err(LineError::Record(RecordError { origin, reason }));
            }
            let (start, offset) = (self.at, scan - self.at);
            if !self.read_more(start)? {
                // A scalar may end with the input; anything open may not.
                let closed = depth == 0 && !in_string && first != b'"';
                return Ok(closed.then_some(self.buffer.len()));
            }
            scan = self.at + offset;
        }
    }

    fn step(&mut self) -> Option<Result<(String, String), LineError>> {
        loop {
            let next = match self.skip_blank() {
                Ok(next) => next,
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            };
            let Some(position) = next else {
                return match self.place {
                    // `[]` and nothing after it: the import is empty.
                    ArrayPlace::After if self.records == 0 => {
                        self.ended = true;
                        Some(Err(LineError::Io(crate::domain::import::ImportFileError::Empty.into())))
                    }
                    ArrayPlace::After => None,
                    _ => {
                        let end = self.buffer.len();
                        self.syntax(end, "EOF while parsing a list: the input ends before the array's closing `]` (truncated?)")
                    }
                };
            };
            let b = self.buffer[position];
            match (self.place, b) {
                (ArrayPlace::Start, b'[') => {
                    self.advance_to(position + 1);
                    self.place = ArrayPlace::BeforeElement { comma: false };
                }
                (ArrayPlace::Start, _) => return self.syntax(position, "expected `[`"),
                // `[]`: empty, unless more follows it (`[]` then records was "the import is
                // empty", where `[…]` then more is trailing characters: bb32 V06).
                (ArrayPlace::BeforeElement { comma: false }, b']') if self.records == 0 => {
                    self.advance_to(position + 1);
                    self.place = ArrayPlace::After;
                }
                (ArrayPlace::BeforeElement { comma: true }, b']') => {
                    return self.syntax(position, "trailing comma");
                }
                (ArrayPlace::BeforeElement { .. }, b',' | b']' | b'}') => {
                    return self.syntax(position, "expected value");
                }
                (ArrayPlace::BeforeElement { .. }, _) => return self.element(),
                (ArrayPlace::AfterElement, b',') => {
                    self.advance_to(position + 1);
                    self.place = ArrayPlace::BeforeElement { comma: true };
                }
                (ArrayPlace::AfterElement, b']') => {
                    self.advance_to(position + 1);
                    self.place = ArrayPlace::After;
                }
                (ArrayPlace::AfterElement, _) => return self.syntax(position, "expected `,` or `]`"),
                (ArrayPlace::After, _) => return self.syntax(position, "trailing characters"),
            }
        }
    }

    /// The element starting at `at`, as a record.
    fn element(&mut self) -> Option<Result<(String, String), LineError>> {
        let line = self.line;
        let end = match self.element_end() {
            Ok(Some(end)) => end,
            Ok(None) => {
                let end = self.buffer.len();
                self.advance_to(end);
                return self.syntax(end, "the input ends inside a record (truncated?)");
            }
            Err(e) => {
                self.ended = true;
                return Some(Err(e));
            }
        };
        self.records += 1;
        let origin = format!("record {} (line {line})", self.records);
        if let Some(stand_in) = self.stand_in.take() {
            self.advance_to(end);
            self.place = ArrayPlace::AfterElement;
            return Some(Ok((origin, stand_in)));
        }
        let start = self.at;
        let text = match std::str::from_utf8(&self.buffer[start..end]) {
            Ok(text) => text.to_owned(),
            Err(e) => {
                let bytes = &self.buffer[start..end];
                let inner = crate::domain::scan::utf8_error_position(bytes, &e);
                let column =
                    if inner.line == 1 { self.column(start) + inner.column - 1 } else { inner.column };
                let origin = format!("line {}, col {column}", line + inner.line - 1);
                self.ended = true;
                return Some(Err(LineError::Record(RecordError {
                    origin,
                    reason: "not valid UTF-8".into(),
                })));
            }
        };
        self.advance_to(end);
        self.place = ArrayPlace::AfterElement;
        Some(Ok((origin, text)))
    }
}

impl Iterator for ArrayStream {
    /// (how an error names the record, the element's text).
    type Item = Result<(String, String), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        self.step()
    }
}
