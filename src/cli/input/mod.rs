//! What the CLI reads from a file or standard input, with a bound on what it holds: a
//! document for `set` is read to its limit and one byte more, never further; an import is
//! read record by record, and a record longer than any user can be stops the reading at once
//! (`/dev/zero`, `yes |`, one 100 MB record) instead of filling memory.

mod array_stream;
mod line_stream;
mod record_finder;

use std::fs;
use std::io::{self, IsTerminal as _, Read};
use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};

use crate::domain::human_bytes;
use crate::domain::import::RecordError;

pub use array_stream::ArrayStream;
pub use line_stream::{LineError, LineStream};
pub use record_finder::{Reading, RecordFinder};

pub use crate::domain::import::MAX_RECORD_BYTES;

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
#[error("{}", self.said())]
pub struct DocumentTooLarge {
    pub text_cap: usize,
    pub limit: usize,
}

impl DocumentTooLarge {
    fn said(&self) -> String {
        let read = format!(
            "the document is more than {} of text (reading stopped there)",
            human_bytes(self.text_cap)
        );
        // A patch file's limit is the text itself: "the limit is 16 MiB (compact)" after
        // "more than 16 MiB" read as two sizes of one thing (bb51 F9).
        if self.text_cap > self.limit {
            format!("{read}; the limit is {} (compact)", human_bytes(self.limit))
        } else {
            format!("{read}, the most it may be")
        }
    }
}

/// The source: a file, or standard input for nothing or `-`.
enum Source {
    File(fs::File, String),
    Stdin(io::Stdin),
    /// What was read of `rest` ahead, in a file (from its start), then the rest of it — none
    /// when the read ahead met its end (`true`): a terminal's Ctrl-D ends the input once, and
    /// a second read waited for a second Ctrl-D with the write lock held (bb64 F1).
    ReadAhead(fs::File, Box<Source>, bool),
}

/// Whether `file` names standard input: nothing, or `-`.
pub fn is_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|path| path == Path::new("-"))
}

impl Source {
    fn open(file: Option<&Path>) -> Result<Self> {
        match file.filter(|_| !is_stdin(file)) {
            None => Ok(Self::Stdin(io::stdin())),
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
            Self::ReadAhead(_, rest, _) => rest.name(),
        }
    }

    /// The size of a regular file behind the source (standard input redirected from a file
    /// included); nothing for a pipe, a terminal or a device.
    fn regular_size(&self) -> Option<u64> {
        let meta = match self {
            Self::File(f, _) => f.metadata().ok()?,
            Self::Stdin(stdin) => fs::File::from(stdin.as_fd().try_clone_to_owned().ok()?).metadata().ok()?,
            Self::ReadAhead(..) => return None,
        };
        meta.is_file().then_some(meta.len())
    }

    /// The source read ahead, to its end or [`READ_AHEAD`] bytes, into an unnamed file in
    /// `dir` (else in `$TMPDIR`; there first when only it has room for [`READ_AHEAD`]), to be
    /// read from its start, then from where the source is.
    fn read_ahead(mut self, dir: &Path) -> Result<Self> {
        use std::io::{Seek, Write};
        let failed = |name: &str| {
            format!(
                "cannot keep {name} before the import (read ahead into a file, up to {} MiB; nothing was imported: free some room, set TMPDIR to a directory with room, or import from a file)",
                READ_AHEAD >> 20
            )
        };
        let mut ahead = crate::sorted_runs::Spill::unnamed_file_beside_or_in_tmpdir(dir, READ_AHEAD as u64)
            .with_context(|| failed(self.name()))?;
        let mut buffer = vec![0; CHUNK];
        let (mut kept, mut ended) = (0, false);
        while kept < READ_AHEAD {
            match self.read(&mut buffer) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(read) => {
                    ahead.write_all(&buffer[..read]).with_context(|| failed(self.name()))?;
                    kept += read;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => crate::interrupt::check()?,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.name())),
            }
        }
        ahead.rewind().with_context(|| failed(self.name()))?;
        Ok(Self::ReadAhead(ahead, Box::new(self), ended))
    }

    /// Reads up to `chunk` more bytes onto the end of `buffer`, which keeps only what was read.
    fn read_onto(&mut self, buffer: &mut Vec<u8>, chunk: usize) -> io::Result<usize> {
        let have = buffer.len();
        buffer.resize(have + chunk, 0);
        let read = self.read(&mut buffer[have..]);
        buffer.truncate(have + *read.as_ref().unwrap_or(&0));
        read
    }

    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::File(f, _) => f.read(buffer),
            Self::Stdin(stdin) => stdin.lock().read(buffer),
            Self::ReadAhead(ahead, rest, ended) => match ahead.read(buffer)? {
                0 if *ended => Ok(0),
                0 => rest.read(buffer),
                read => Ok(read),
            },
        }
    }
}

/// Reads a document: at most [`MAX_DOCUMENT_TEXT`] bytes of text, held to `bound`. More is
/// refused after reading one byte past that, with its size when it is a regular file.
pub fn read_document(file: Option<&Path>, bound: Bound) -> Result<Vec<u8>> {
    read_document_from(Source::open(file)?, bound)
}

/// What a document read is held to: its compact form to a limit (checked when it is parsed;
/// white space past [`MAX_DOCUMENT_TEXT`] is dropped to see whether it fits: `get` indents
/// 977 KiB as 62.5 MiB), or — a patch — its text as written, white space included (one of
/// 255 MiB of white space was read whole, and one of 257 MiB refused "over 16 MiB": bb95 F3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Compact(usize),
    AsWritten,
}

impl Bound {
    /// The limit a refusal names.
    fn limit(self) -> usize {
        match self {
            Bound::Compact(limit) => limit,
            Bound::AsWritten => MAX_DOCUMENT_TEXT,
        }
    }
}

/// [`read_document`] that a noted signal ([`crate::interrupt`]) ends while it waits on
/// standard input or a FIFO: the read goes on in a thread of its own, and the command returns
/// `Interrupted` (closing the database cleanly) instead of waiting for input that may never
/// come. `what` (`the document`, `the patch`, `the schema`) is what a terminal is told it
/// waits for.
pub fn read_document_or_interrupted(
    what: &'static str,
    file: Option<&Path>,
    bound: Bound,
) -> Result<Vec<u8>> {
    say_when_typed(file, what);
    let file = file.map(Path::to_owned);
    or_interrupted(what, move || read_document(file.as_deref(), bound))
}

/// [`open_import`], ended by a signal while it waits: opening a FIFO waits for a writer, and
/// its first read for the first bytes, where no signal noted meanwhile is looked at.
///
/// With `read_ahead_in`, input that is no regular file (a pipe, a terminal, a FIFO) is read
/// ahead into an unnamed file there, to its end or [`READ_AHEAD`] bytes: an import into a
/// database that holds users takes the write lock at its first record, and a producer that
/// stalled after it (a script still running, a line pasted at a terminal) held every other
/// save of every operator "busy" for as long (bb31 U12). Not without bound: endless input
/// would fill the disk, where the records' checks stop it.
pub fn open_import_or_interrupted(
    file: Option<&Path>,
    record_limit: usize,
    read_ahead_in: Option<&Path>,
) -> Result<ImportInput> {
    say_when_typed(file, "users as JSON Lines or one JSON array");
    let file = file.map(Path::to_owned);
    let read_ahead_in = read_ahead_in.map(Path::to_owned);
    or_interrupted("the import", move || {
        let mut source = Source::open(file.as_deref())?;
        if let Some(dir) = read_ahead_in.filter(|_| source.regular_size().is_none()) {
            source = source.read_ahead(&dir)?;
        }
        open_import_from(source, record_limit)
    })
}

/// How much of a pipe an import into a database that holds users reads before the first
/// record (see [`open_import_or_interrupted`]): ~100,000 users of `export`'s.
pub const READ_AHEAD: usize = 64 * 1024 * 1024;

/// Standard input on a terminal: a command that would sit silent (the file name forgotten)
/// says on stderr what it waits for and how to end or stop it (bb14 L14).
fn say_when_typed(file: Option<&Path>, what: &str) {
    if is_stdin(file) && io::stdin().is_terminal() {
        crate::stderr_line!(
            "custodian: reading {what} from the terminal: Ctrl-D on a line of its own ends it, Ctrl-C stops with nothing written"
        );
    }
}

/// `work` on a thread of its own, while this one looks every 50 ms for a noted signal, which
/// ends the wait (`StoreError::Interrupted`, exit 130): the thread is left blocked, and goes
/// with the process.
fn or_interrupted<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (answer, working) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = answer.send(work());
    });
    match next_or_interrupted(&working)? {
        Some(read) => read,
        None => anyhow::bail!("cannot read {what}: its reader stopped"),
    }
}

/// The next thing a reading thread sends, `None` once it has ended; a noted signal ends the
/// wait (looked at every 50 ms): `StoreError::Interrupted`, exit 130.
pub fn next_or_interrupted<T>(from: &std::sync::mpsc::Receiver<T>) -> Result<Option<T>> {
    loop {
        match from.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(next) => return Ok(Some(next)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => crate::interrupt::check()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
}

/// [`read_document`] of a file that must be a regular one: what the screen reads (`:patch`)
/// never waits — a FIFO planted at the name would hold the screen's way out until someone
/// wrote to it — so anything but a regular file is refused without reading.
pub fn read_regular_document(path: &Path, bound: Bound) -> Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display().to_string();
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot read {shown}"))?;
    let meta = file.metadata().with_context(|| format!("cannot read {shown}"))?;
    if !meta.is_file() {
        anyhow::bail!("cannot read {shown}: not a regular file (a FIFO, a device or a directory)");
    }
    read_document_from(Source::File(file, shown), bound)
}

fn read_document_from(mut source: Source, bound: Bound) -> Result<Vec<u8>> {
    let (text_cap, limit) = (MAX_DOCUMENT_TEXT, bound.limit());
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
    if bytes.len() > text_cap
        && (bound == Bound::AsWritten || !fits_without_its_white_space(&mut source, &mut bytes, text_cap)?)
    {
        if let Some(size) = source.regular_size().filter(|size| *size > text_cap as u64) {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            return Err(crate::domain::ValidationError::TooLarge { size, limit }.into());
        }
        return Err(DocumentTooLarge { text_cap, limit }.into());
    }
    Ok(bytes)
}

/// The most text read for one document that is mostly white space (see below).
const MAX_INDENTED_TEXT: u64 = 256 * 1024 * 1024;

/// More text than `text_cap` may still be a document that fits: indented, white space can be
/// most of it (`get` prints 62 nested arrays around 500,000 numbers, 977 KiB compact, as
/// 62.5 MiB; a draft's recovery file is written the same way). Reads on, dropping the white
/// space between tokens from `bytes` and what follows (never inside a string, so the document
/// is the same), until the rest is read — true, `bytes` then holds the document without its
/// white space — or more than `text_cap` is left, or [`MAX_INDENTED_TEXT`] was read.
fn fits_without_its_white_space(source: &mut Source, bytes: &mut Vec<u8>, text_cap: usize) -> Result<bool> {
    let mut dropper = WhiteSpaceDropper::default();
    let read = std::mem::take(bytes);
    let mut total = read.len() as u64;
    dropper.append(&read, bytes);
    drop(read);
    let mut chunk = vec![0; CHUNK];
    while bytes.len() <= text_cap {
        if total > MAX_INDENTED_TEXT {
            return Ok(false);
        }
        match source.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                total += n as u64;
                dropper.append(&chunk[..n], bytes);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.name())),
        }
    }
    Ok(false)
}

/// Copies JSON text without the white space between its tokens, across chunks.
#[derive(Default)]
struct WhiteSpaceDropper {
    in_string: bool,
    escaped: bool,
}

impl WhiteSpaceDropper {
    fn append(&mut self, text: &[u8], out: &mut Vec<u8>) {
        for &byte in text {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
            } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            } else if byte == b'"' {
                self.in_string = true;
            }
            out.push(byte);
        }
    }
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
        match source.read_onto(&mut bytes, CHUNK) {
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
    /// Records of other tenants too long to be read whole are to be skipped, not the end of the
    /// import: each stream's `keeping_only_tenant`.
    pub fn keeping_only_tenant(&mut self, tenant: Option<String>) {
        match self {
            Self::Lines(lines) => lines.keeping_only_tenant(tenant),
            Self::Array(array) => array.keeping_only_tenant(tenant),
        }
    }

    /// Whether the next record can be had without waiting on the source: a regular file never
    /// keeps one waiting; from a pipe, a whole line is buffered (an array's next element: any
    /// byte of it past blank space and commas, which may still wait for the rest).
    pub fn next_is_ready(&self) -> bool {
        match self {
            Self::Lines(lines) => lines.next_is_ready(),
            Self::Array(array) => array.next_is_ready(),
        }
    }

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
                let item = lines.next()?;
                Some(item.map(|(number, text)| {
                    lines.records += 1;
                    // Blank lines are skipped: the brief asks for the record's number too (bb61 F2).
                    let origin = if lines.records == number {
                        format!("line {number}")
                    } else {
                        format!("line {number} (record {})", lines.records)
                    };
                    (origin, text)
                }))
            }
            Self::Array(array) => array.next(),
        }
    }
}

/// Opens an import and looks at its first byte that is not blank space to know its shape.
pub fn open_import(file: Option<&Path>, record_limit: usize) -> Result<ImportInput> {
    open_import_from(Source::open(file)?, record_limit)
}

fn open_import_from(mut source: Source, record_limit: usize) -> Result<ImportInput> {
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
        match source.read_onto(&mut prefix, CHUNK) {
            Ok(0) => return Ok(ImportInput::Whole(prefix)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", source.name())),
        }
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

    fn dropped(chunks: &[&str]) -> String {
        let mut dropper = WhiteSpaceDropper::default();
        let mut out = Vec::new();
        for chunk in chunks {
            dropper.append(chunk.as_bytes(), &mut out);
        }
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn white_space_between_tokens_goes_and_white_space_in_strings_stays_across_chunks() {
        let text =
            "{\n  \"a b\": [ 1 ,\t2 ],\r\n  \"q\\\" \\\\\": \" x \\\\\" , \"e\\\\\\\" y\": \"\\\\\"\n}";
        let want = "{\"a b\":[1,2],\"q\\\" \\\\\":\" x \\\\\",\"e\\\\\\\" y\":\"\\\\\"}";
        assert_eq!(dropped(&[text]), want);
        // Cut anywhere (inside a string, after a backslash), the same text comes out.
        for cut in 1..text.len() {
            assert_eq!(dropped(&[&text[..cut], &text[cut..]]), want, "cut at {cut}");
        }
        let parsed: serde_json::Value = serde_json::from_str(text).expect("valid");
        let again: serde_json::Value = serde_json::from_str(want).expect("still valid");
        assert_eq!(parsed, again);
    }
}
