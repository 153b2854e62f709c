//! What the CLI reads from a file or standard input, with a bound on what it holds: a
//! document for `set` is read to its limit and one byte more, never further; an import is
//! read record by record, and a record longer than any user can be stops the reading at once
//! (`/dev/zero`, `yes |`, one 100 MB record) instead of filling memory.

use std::fs;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};

use crate::domain::human_bytes;
use crate::domain::import::RecordError;

/// The most bytes one import record (one user, as written, whitespace included) may take:
/// customData is at most 1 MiB stored compactly, and an indented file spells it out larger.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// How much is asked of the source at a time.
const CHUNK: usize = 64 * 1024;

/// The most text `set` reads for one document. The limit is on the compact form, so an
/// indented document may be larger as typed; more text than this cannot be one document
/// that fits (as for an import record).
pub const MAX_DOCUMENT_TEXT: usize = MAX_RECORD_BYTES;

/// The most an import read whole may take. Only input that is neither shape is read whole
/// now (it fails on its first line); JSON Lines and arrays are streamed and have no such bound.
pub const MAX_WHOLE_IMPORT_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// A document given to `set` is more text than [`MAX_DOCUMENT_TEXT`]; what came from a pipe
/// or a device has no size of its own, so reading stopped one byte past that.
#[derive(Debug, thiserror::Error)]
#[error(
    "the document is more than {} of text (reading stopped there); the limit is {} (compact)",
    human_bytes(*.text_cap),
    human_bytes(*.limit)
)]
pub struct DocumentTooLarge {
    pub text_cap: usize,
    pub limit: usize,
}

/// The source: a file, or standard input for nothing or `-`.
enum Source {
    File(fs::File, String),
    Stdin(io::Stdin),
}

impl Source {
    fn open(file: Option<&Path>) -> Result<Self> {
        match file {
            None => Ok(Self::Stdin(io::stdin())),
            Some(path) if path == Path::new("-") => Ok(Self::Stdin(io::stdin())),
            Some(path) => {
                let shown = path.display().to_string();
                let f = fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
                Ok(Self::File(f, shown))
            }
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::File(_, shown) => shown,
            Self::Stdin(_) => "standard input",
        }
    }

    /// The size of a regular file behind the source (standard input redirected from a file
    /// included); nothing for a pipe, a terminal or a device.
    fn regular_size(&self) -> Option<u64> {
        let meta = match self {
            Self::File(f, _) => f.metadata().ok()?,
            Self::Stdin(stdin) => fs::File::from(stdin.as_fd().try_clone_to_owned().ok()?).metadata().ok()?,
        };
        meta.is_file().then_some(meta.len())
    }

    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::File(f, _) => f.read(buffer),
            Self::Stdin(stdin) => stdin.lock().read(buffer),
        }
    }
}

/// Reads a document for `set`: at most `text_cap` bytes of text (the compact `limit` is
/// checked when it is parsed). More is refused after reading `text_cap + 1` bytes, with its
/// size when it is a regular file.
pub fn read_document(file: Option<&Path>, text_cap: usize, limit: usize) -> Result<Vec<u8>> {
    let mut source = Source::open(file)?;
    let mut bytes = Vec::new();
    let wanted = text_cap.saturating_add(1);
    loop {
        let have = bytes.len();
        if have >= wanted {
            break;
        }
        bytes.resize(have + CHUNK.min(wanted - have), 0);
        match source.read(&mut bytes[have..]) {
            Ok(0) => {
                bytes.truncate(have);
                break;
            }
            Ok(n) => bytes.truncate(have + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => bytes.truncate(have),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.name())),
        }
    }
    if bytes.len() > text_cap {
        if let Some(size) = source.regular_size().filter(|size| *size > text_cap as u64) {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            return Err(crate::domain::ValidationError::TooLarge { size, limit }.into());
        }
        return Err(DocumentTooLarge { text_cap, limit }.into());
    }
    Ok(bytes)
}

/// Reads an import: the whole input (the import reader checks it as a whole), but a record
/// longer than `record_limit` stops the reading with an error naming the record, and reading
/// ends after the first JSON Lines record that cannot be a user (it does not start with `{`),
/// which the import reader then reports in its own words.
pub fn read_import(file: Option<&Path>, record_limit: usize) -> Result<Vec<u8>> {
    read_import_from(Source::open(file)?, Vec::new(), record_limit)
}

fn read_import_from(mut source: Source, mut bytes: Vec<u8>, record_limit: usize) -> Result<Vec<u8>> {
    if let Some(size) = source.regular_size() {
        // One allocation of the file's size, not a doubling that may hold twice that (when
        // there is no room for it, growing as it goes will say so soon enough).
        let _ = bytes.try_reserve_exact(usize::try_from(size).unwrap_or(usize::MAX).saturating_add(1));
    }
    let mut finder = RecordFinder::new(record_limit);
    if let Reading::Enough(end) = finder.feed(&bytes)? {
        bytes.truncate(end);
        return Ok(bytes);
    }
    loop {
        let have = bytes.len();
        if have > MAX_WHOLE_IMPORT_BYTES {
            anyhow::bail!(
                "{}: a JSON array is read whole and this one is larger than {} (reading stopped there); give the users as JSON Lines, one per line (what `custodian export` writes)",
                source.name(),
                human_bytes(MAX_WHOLE_IMPORT_BYTES)
            );
        }
        // Growing may need more memory than there is: say so, instead of aborting.
        if bytes.try_reserve(CHUNK).is_err() {
            anyhow::bail!(
                "{}: not enough memory to read the import whole ({} read); give the users as JSON Lines",
                source.name(),
                human_bytes(have)
            );
        }
        bytes.resize(have + CHUNK, 0);
        let read = source.read(&mut bytes[have..]);
        bytes.truncate(have + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.name())),
        }
        if let Reading::Enough(end) = finder.feed(&bytes)? {
            bytes.truncate(end);
            break;
        }
    }
    Ok(bytes)
}

/// An import as it is read: JSON Lines a line at a time, a JSON array an element at a time, as
/// they arrive (memory: one record, whatever the size of the file); what is neither (a
/// byte-order mark, bytes that are not UTF-8, nothing at all) read whole and named by the
/// import reader.
pub enum ImportInput {
    Whole(Vec<u8>),
    Records(RecordStream),
}

/// The records of a streamed import: (how an error names the record, its text).
pub enum RecordStream {
    Lines(LineStream),
    Array(ArrayStream),
}

impl RecordStream {
    /// The size of the input when it is a regular file (for progress).
    pub fn total_bytes(&self) -> Option<u64> {
        match self {
            Self::Lines(lines) => lines.total_bytes(),
            Self::Array(array) => array.source.regular_size(),
        }
    }

    /// Bytes of the input read as records so far.
    pub fn consumed(&self) -> u64 {
        match self {
            Self::Lines(lines) => lines.consumed(),
            Self::Array(array) => array.dropped + array.at as u64,
        }
    }
}

impl Iterator for RecordStream {
    type Item = Result<(String, String), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Lines(lines) => {
                lines.next().map(|item| item.map(|(number, text)| (format!("line {number}"), text)))
            }
            Self::Array(array) => array.next(),
        }
    }
}

/// Opens an import and looks at its first byte that is not blank space to know its shape.
pub fn open_import(file: Option<&Path>, record_limit: usize) -> Result<ImportInput> {
    let mut source = Source::open(file)?;
    let mut prefix: Vec<u8> = Vec::new();
    loop {
        if let Some(first) = prefix.iter().position(|b| !b.is_ascii_whitespace()) {
            if prefix[first] == b'[' {
                let array = ArrayStream::new(source, prefix, first, record_limit);
                return Ok(ImportInput::Records(RecordStream::Array(array)));
            }
            // A first byte that cannot start a record (a byte-order mark, bytes that are not
            // UTF-8): the import reader says what is wrong, as it always did.
            if prefix[first] >= 0x80 {
                return read_import_from(source, prefix, record_limit).map(ImportInput::Whole);
            }
            let lines = LineStream::new(source, prefix, record_limit);
            return Ok(ImportInput::Records(RecordStream::Lines(lines)));
        }
        if prefix.len() > record_limit {
            return read_import_from(source, prefix, record_limit).map(ImportInput::Whole);
        }
        let have = prefix.len();
        prefix.resize(have + CHUNK, 0);
        let read = source.read(&mut prefix[have..]);
        prefix.truncate(have + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => return Ok(ImportInput::Whole(prefix)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.name())),
        }
    }
}

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
const LINE_CHUNK: usize = 1024 * 1024;

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
}

impl LineStream {
    fn new(source: Source, prefix: Vec<u8>, limit: usize) -> Self {
        Self { source, buffer: prefix, start: 0, line: 1, blank: (0, 1), limit, ended: false, consumed: 0 }
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

fn too_long_line(limit: usize, line: usize, what: &str) -> LineError {
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
                self.ended = true;
                return Some(Err(too_long_line(self.limit, self.line, RECORD)));
            }
            // Keep only the unfinished line, then read more.
            self.buffer.drain(..self.start);
            self.start = 0;
            let have = self.buffer.len();
            self.buffer.resize(have + LINE_CHUNK, 0);
            let read = self.source.read(&mut self.buffer[have..]);
            self.buffer.truncate(have + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => {
                    self.ended = true;
                    if self.buffer.is_empty() {
                        return None;
                    }
                    let length = self.buffer.len();
                    return self.take_line(length, 0);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.ended = true;
                    let error = anyhow::Error::new(e).context(format!("cannot read {}", self.source.name()));
                    return Some(Err(LineError::Io(error)));
                }
            }
        }
    }
}

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
    source: Source,
    buffer: Vec<u8>,
    /// Where scanning is in `buffer`.
    at: usize,
    /// Bytes dropped from the front of `buffer` so far.
    dropped: u64,
    /// The line at `at`, where that line starts in `buffer` (0 when it started in a part
    /// already dropped) and the characters of it that were dropped.
    line: usize,
    line_start: usize,
    dropped_chars: usize,
    place: ArrayPlace,
    records: usize,
    limit: usize,
    ended: bool,
}

impl ArrayStream {
    fn new(source: Source, prefix: Vec<u8>, first: usize, limit: usize) -> Self {
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
        };
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
            let have = self.buffer.len();
            self.buffer.resize(have + LINE_CHUNK, 0);
            let read = self.source.read(&mut self.buffer[have..]);
            self.buffer.truncate(have + *read.as_ref().unwrap_or(&0));
            match read {
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
            if scan - self.at > self.limit {
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
                (ArrayPlace::BeforeElement { comma: false }, b']') if self.records == 0 => {
                    self.ended = true;
                    return Some(Err(LineError::Io(crate::domain::import::ImportFileError::Empty.into())));
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
                return self
                    .syntax(end, "EOF while parsing a list: the input ends inside a record (truncated?)");
            }
            Err(e) => {
                self.ended = true;
                return Some(Err(e));
            }
        };
        self.records += 1;
        let origin = format!("record {} (line {line})", self.records);
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

/// Whether the finder wants more of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    More,
    /// The rest cannot change the outcome (the import fails at what was read): the input
    /// is kept up to this offset (a whole line; never a character cut in two).
    Enough(usize),
}

/// Finds the records of an import as its bytes arrive, to bound each one: JSON Lines by
/// newline; a JSON array by following nesting depth and strings. It does not check JSON
/// (the import reader does, on the whole text); it only measures.
pub struct RecordFinder {
    limit: usize,
    shape: Shape,
    /// Bytes looked at so far.
    seen: usize,
    /// Line of the byte at `seen` (1-based).
    line: usize,
    /// Where reading may stop, once the outcome is known.
    stopped_at: Option<usize>,
}

enum Shape {
    /// Only blank space so far.
    Unknown,
    Lines {
        /// Where the current line starts, and whether a byte other than blank space has been
        /// seen on it (and whether that byte was `{`).
        start: usize,
        first: Option<u8>,
        /// Where the run of blank lines before the current line started.
        blank_from: usize,
        blank_line: usize,
    },
    Array {
        depth: usize,
        in_string: bool,
        escaped: bool,
        /// The open record: where it starts, its number and line.
        record: Option<(usize, usize, usize)>,
        records: usize,
        /// Where the blank space before the next record started (no record open).
        gap_from: usize,
        gap_line: usize,
    },
    /// After the array's closing `]`.
    After { from: usize },
}

impl RecordFinder {
    pub fn new(limit: usize) -> Self {
        Self { limit, shape: Shape::Unknown, seen: 0, line: 1, stopped_at: None }
    }

    /// Looks at what `bytes` holds beyond what earlier calls saw (`bytes` only grows).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Reading> {
        let mut at = self.seen;
        while at < bytes.len() {
            at = match self.shape {
                Shape::Unknown => self.unknown(bytes, at)?,
                Shape::Lines { .. } => self.lines(bytes, at)?,
                Shape::Array { .. } => self.array(bytes, at)?,
                Shape::After { from } => {
                    if let Some(i) = bytes[at..].iter().position(|b| !b.is_ascii_whitespace()) {
                        // Trailing characters: the import reader names the first one, which
                        // is kept whole (it may still be arriving).
                        let garbage = at + i;
                        let end = garbage + utf8_length(bytes[garbage]);
                        if end > bytes.len() {
                            self.seen = garbage;
                            return Ok(Reading::More);
                        }
                        return Ok(Reading::Enough(end));
                    }
                    if bytes.len() - from > self.limit {
                        return Err(too_long(
                            self.limit,
                            format!("after the array (line {})", self.line),
                            BLANK,
                        ));
                    }
                    bytes.len()
                }
            };
            if let Some(end) = self.stopped_at.take() {
                return Ok(Reading::Enough(end));
            }
        }
        self.seen = bytes.len();
        Ok(Reading::More)
    }

    fn unknown(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        while let Some(&b) = bytes.get(at) {
            if !b.is_ascii_whitespace() {
                self.shape = if b == b'[' {
                    at += 1;
                    Shape::Array {
                        depth: 1,
                        in_string: false,
                        escaped: false,
                        record: None,
                        records: 0,
                        gap_from: at,
                        gap_line: self.line,
                    }
                } else {
                    // Lines: the current line (after leading blank lines) starts here.
                    let start = bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    Shape::Lines { start, first: None, blank_from: start, blank_line: self.line }
                };
                return Ok(at);
            }
            if b == b'\n' {
                self.line += 1;
            }
            at += 1;
        }
        if at > self.limit {
            return Err(too_long(self.limit, "line 1".to_owned(), BLANK));
        }
        Ok(at)
    }

    /// JSON Lines: returns where it stopped (and sets `stopped_at` when enough was read).
    fn lines(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        let Shape::Lines { start, first, blank_from, blank_line } = &mut self.shape else { return Ok(at) };
        while at < bytes.len() {
            if first.is_none() {
                match bytes[at..].iter().position(|b| !b.is_ascii_whitespace() || *b == b'\n') {
                    Some(i) if bytes[at + i] == b'\n' => {
                        // A blank line: part of a run of blank lines.
                        at += i + 1;
                        self.line += 1;
                        *start = at;
                        continue;
                    }
                    Some(i) => {
                        *first = Some(bytes[at + i]);
                        at += i;
                    }
                    None => at = bytes.len(),
                }
            }
            match memchr::memchr(b'\n', &bytes[at..]) {
                Some(i) => {
                    at += i + 1;
                    let line_length = at - 1 - *start;
                    if line_length > self.limit {
                        return Err(too_long(self.limit, format!("line {}", self.line), RECORD));
                    }
                    let ended = *first;
                    self.line += 1;
                    *start = at;
                    *blank_from = at;
                    *blank_line = self.line;
                    *first = None;
                    if ended.is_some_and(|b| b != b'{') {
                        // Not an object: the import fails on this line, the rest cannot matter.
                        self.stopped_at = Some(at);
                        return Ok(at);
                    }
                }
                None => at = bytes.len(),
            }
        }
        if first.is_some() && bytes.len() - *start > self.limit {
            return Err(too_long(self.limit, format!("line {}", self.line), RECORD));
        }
        if first.is_none() && bytes.len() - *blank_from > self.limit {
            return Err(too_long(self.limit, format!("line {blank_line}"), BLANK));
        }
        Ok(at)
    }

    /// A JSON array: returns where it stopped.
    fn array(&mut self, bytes: &[u8], mut at: usize) -> Result<usize> {
        let limit = self.limit;
        let Shape::Array { depth, in_string, escaped, record, records, gap_from, gap_line } = &mut self.shape
        else {
            return Ok(at);
        };
        while at < bytes.len() {
            if *in_string {
                // Most bytes are inside strings: jump to the next quote or backslash.
                if *escaped {
                    *escaped = false;
                    at += 1;
                    continue;
                }
                match memchr::memchr3(b'"', b'\\', b'\n', &bytes[at..]) {
                    None => at = bytes.len(),
                    Some(i) => {
                        at += i;
                        match bytes[at] {
                            b'"' => *in_string = false,
                            b'\\' => *escaped = true,
                            _ => self.line += 1,
                        }
                        at += 1;
                    }
                }
                if let Some((start, number, line)) = *record
                    && at - start > limit
                {
                    return Err(too_long(limit, format!("record {number} (line {line})"), RECORD));
                }
                continue;
            }
            let b = bytes[at];
            let opens_record = *depth == 1 && record.is_none() && !b.is_ascii_whitespace() && b != b',';
            if opens_record && b != b']' {
                *records += 1;
                *record = Some((at, *records, self.line));
            }
            if let Some((start, number, line)) = *record
                && at + 1 - start > limit
            {
                return Err(too_long(limit, format!("record {number} (line {line})"), RECORD));
            }
            match b {
                b'"' => *in_string = true,
                b'[' | b'{' => *depth += 1,
                b']' | b'}' => {
                    *depth = depth.saturating_sub(1);
                    if *depth <= 1 && !(opens_record && *depth == 1) {
                        if *depth == 0 {
                            self.shape = Shape::After { from: at + 1 };
                            return Ok(at + 1);
                        }
                        // The record that ended here is done; its comma may follow.
                        *record = None;
                        *gap_from = at + 1;
                        *gap_line = self.line;
                    }
                }
                b',' if *depth == 1 => {
                    *record = None;
                    *gap_from = at + 1;
                    *gap_line = self.line;
                }
                b'\n' => self.line += 1,
                _ => {}
            }
            at += 1;
        }
        if record.is_none() && bytes.len() - *gap_from > limit {
            return Err(too_long(limit, format!("line {gap_line}"), BLANK));
        }
        Ok(at)
    }
}

/// How many bytes the UTF-8 character starting with `lead` takes (1 for a byte that cannot
/// start one: the import reader names it as invalid).
fn utf8_length(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// What went on for too long: a record, or blank space between records.
const RECORD: &str = "longer than";
const BLANK: &str = "blank space for more than";

fn too_long(limit: usize, origin: String, what: &str) -> anyhow::Error {
    let reason = format!("{what} {}, the most one user may take (reading stopped there)", human_bytes(limit));
    RecordError { origin, reason }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(input: &[u8], limit: usize) -> Result<Reading> {
        let mut finder = RecordFinder::new(limit);
        // Fed a byte at a time and all at once, the answer is the same.
        let mut one_by_one = RecordFinder::new(limit);
        let mut answer = Ok(Reading::More);
        for end in 1..=input.len() {
            answer = one_by_one.feed(&input[..end]);
            if !matches!(answer, Ok(Reading::More)) {
                break;
            }
        }
        let whole = finder.feed(input);
        assert_eq!(
            answer.as_ref().map_err(|e| e.to_string()),
            whole.as_ref().map_err(|e| e.to_string()),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        whole
    }

    fn error(input: &[u8], limit: usize) -> String {
        find(input, limit).expect_err("too long").to_string()
    }

    #[test]
    fn records_within_the_limit_are_read_to_the_end() {
        for input in [
            &b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n"[..],
            b"\n\n  {\"id\":\"a\"}\r\n\n{\"id\":\"b\"}",
            b"[{\"id\":\"a\",\"x\":[1,2,{\"y\":\"]},\\\"\"}]}, {\"id\":\"b\"}]\n",
            b"[\n  {\"id\": \"a\"},\n  {\"id\": \"b\"}\n]\n",
            b"  [ ]  ",
        ] {
            assert_eq!(find(input, 40).expect("fits"), Reading::More, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn a_json_lines_record_over_the_limit_is_named_by_its_line() {
        assert_eq!(
            error(b"{\"id\":\"a\"}\n\n{\"id\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}\n", 20),
            "line 3: longer than 20 B, the most one user may take (reading stopped there)"
        );
        // No newline ever comes (`/dev/zero`): stopped all the same.
        assert!(error(&[0u8; 100], 20).starts_with("line 1: longer than 20 B"));
        assert!(error(&[b'\n'; 100], 20).starts_with("line 1: blank space for more than 20 B"));
        assert!(error(b"{}\n   \n\n                               ", 20).starts_with("line 2: blank space"));
    }

    #[test]
    fn an_array_record_over_the_limit_is_named_by_its_number_and_line() {
        let input = b"[\n{\"id\":\"a\"},\n{\"id\":\"b\",\"c\":\"]]]]]]]]]]]]]]]]]]]]]]]]]\"}]";
        assert!(error(input, 20).starts_with("record 2 (line 3): longer than 20 B"), "{}", error(input, 20));
        assert!(error(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 20).starts_with("record 1 (line 1)"));
        assert!(error(b"[1, 2, 333333333333333333333333333333]", 20).starts_with("record 3 (line 1)"));
    }

    #[test]
    fn reading_stops_after_a_json_lines_record_that_cannot_be_a_user() {
        assert_eq!(find(b"{}\ny\ny\ny\n", 20).expect("stops"), Reading::Enough(5));
        assert_eq!(find(b"[{}] x\ny", 20).expect("stops"), Reading::Enough(6));
        // The first trailing character is kept whole, even when it arrives in pieces.
        assert_eq!(find("[{}] \u{fc}\u{fc}".as_bytes(), 20).expect("stops"), Reading::Enough(7));
    }
}
