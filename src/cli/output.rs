//! Standard output for the subcommands: listings that stop when their reader goes, JSON
//! made inert for a terminal, and a write's report that is never lost with its write.

use std::io::{self, IsTerminal, Write};

use anyhow::{Context, Result};

use super::{Command, SchemaAction};
use crate::inert;

/// Standard output, knowing whether a person is reading it.
pub(super) struct Output {
    writer: io::BufWriter<Box<dyn Write>>,
    terminal: bool,
    /// The reader of standard output went away (`custodian list | head`).
    closed: bool,
    /// A write's report, kept as written: said on stderr if standard output fails, so a
    /// write that landed is not taken for one that failed ([`Output::finish`]).
    report: Option<Report>,
}

/// What a write's report keeps ([`Output::reporting_a_write`]).
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    /// Bytes kept: a report past [`REPORT_KEPT`] keeps its first lines and counts the rest.
    bytes: usize,
    left_out: usize,
    /// Why standard output failed, once it did: nothing more is written to it.
    failed: Option<io::Error>,
}

impl Report {
    /// What stderr says instead of a report standard output did not take, when it did not:
    /// after a write that `landed`, or before the error of one that wrote some and then failed
    /// (`undo` restores the users not saved since, then says who it left alone, exit 5).
    fn said_instead(self, landed: bool) -> Option<Vec<String>> {
        let cause = self.failed?;
        if !landed && self.lines.is_empty() {
            return None;
        }
        let landed = if landed { "the write landed, but " } else { "" };
        let mut said = vec![format!(
            "custodian: {landed}standard output failed ({cause}): what it said is here instead"
        )];
        said.extend(self.lines.iter().map(|line| inert::line(line).into_owned()));
        if self.left_out > 0 {
            said.push(format!("custodian: and {} more lines of it, not kept", self.left_out));
        }
        Some(said)
    }
}

/// The most bytes of a write's report kept for stderr.
const REPORT_KEPT: usize = 1024 * 1024;

/// What a streamed command (`list`, `changes`, `export`) stops with once the reader of its
/// output has gone: it reads no further, and ends successfully ([`unless_closed`]).
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub(super) struct StdoutClosed;

/// A streamed command's outcome: stopping because no one reads the output any more is success.
pub(super) fn unless_closed(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.is::<StdoutClosed>() => Ok(()),
        other => other,
    }
}

impl Output {
    pub(super) fn stdout() -> Self {
        Self::to(Box::new(io::stdout()), io::stdout().is_terminal())
    }

    /// Standard output for `command`: a write's report is kept ([`Output::finish`]).
    pub(super) fn stdout_for(command: &Command, read_only: bool) -> Self {
        let out = Self::stdout();
        if writes(command) && !read_only { out.reporting_a_write() } else { out }
    }

    /// Whether it writes to a terminal (where a progress line on stderr would be drawn into
    /// the data).
    pub(super) fn is_terminal(&self) -> bool {
        self.terminal
    }

    pub(super) fn to(writer: Box<dyn Write>, terminal: bool) -> Self {
        Self { terminal, writer: io::BufWriter::new(writer), closed: false, report: None }
    }

    /// What is written from now on is a write's report: standard output failing (a full
    /// disk, `> /dev/full`) does not make the command fail after its write landed; the report
    /// goes to stderr instead (bb18 L01: exit 1, the batch id `undo` needs lost, and a
    /// retry applied the patch twice).
    pub(super) fn reporting_a_write(mut self) -> Self {
        self.report = Some(Report::default());
        self
    }

    /// Writes a line; a closed pipe (`custodian list | head`) is not an error.
    pub(super) fn line(&mut self, text: &str) -> Result<()> {
        if let Some(report) = &mut self.report {
            if report.bytes + text.len() <= REPORT_KEPT {
                report.bytes += text.len();
                report.lines.push(text.to_owned());
            } else {
                report.left_out += 1;
            }
            if report.failed.is_some() {
                return Ok(());
            }
        }
        match (writeln!(self.writer, "{text}"), &mut self.report) {
            // A write's report goes to stderr instead, once the command is done: also when the
            // reader went away (`patch --yes | grep -q …`), or the batch id `undo` needs was
            // said nowhere (bb42 F6).
            (Err(e), Some(report)) => {
                self.closed |= e.kind() == io::ErrorKind::BrokenPipe;
                report.failed = Some(e);
                Ok(())
            }
            (Err(e), None) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            (other, _) => other.context("cannot write to standard output"),
        }
    }

    /// A line of a streamed listing: once the pipe is closed, [`StdoutClosed`] stops the
    /// listing (a million users are not read for no one).
    pub(super) fn streamed_line(&mut self, text: &str) -> Result<()> {
        self.line(text)?;
        if self.closed { Err(StdoutClosed.into()) } else { Ok(()) }
    }

    /// [`Output::json`] of a streamed listing (see [`Output::streamed_line`]).
    pub(super) fn streamed_json(&mut self, text: &str) -> Result<()> {
        self.json(text)?;
        if self.closed { Err(StdoutClosed.into()) } else { Ok(()) }
    }

    /// JSON text: exact for a pipe, with C1 and bidi characters escaped for a terminal.
    pub(super) fn json(&mut self, text: &str) -> Result<()> {
        if self.terminal { self.line(&inert::json(text)) } else { self.line(text) }
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        match self.writer.flush() {
            Err(e) if let Some(report) = &mut self.report => {
                report.failed.get_or_insert(e);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        }
    }

    /// The command's `result` once its output is flushed: a write whose report standard
    /// output did not take says so on stderr, with the report, and still succeeds — its
    /// write landed; one that failed after saying something says that too, then fails.
    pub(super) fn finish(mut self, result: Result<()>) -> Result<()> {
        let flushed = self.flush();
        let result = result.and(flushed);
        if let Some(instead) = self.report.take().and_then(|report| report.said_instead(result.is_ok())) {
            // The buffer's lines cannot be taken back: dropped unwritten, not retried.
            let _ = self.writer.into_parts();
            for line in instead {
                crate::stderr_line!("{line}");
            }
        }
        result
    }
}

/// Whether `command` writes the database (its output is then the report of a write).
pub(super) fn writes(command: &Command) -> bool {
    matches!(
        command,
        Command::Import { .. }
            | Command::Seed { .. }
            | Command::Patch { yes: true, dry_run: false, .. }
            | Command::Undo { .. }
            | Command::Set { .. }
            | Command::Restore { .. }
            | Command::Schema { action: SchemaAction::Set { .. } | SchemaAction::Clear }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard output on a full disk, or one whose reader has gone.
    struct Refusing(io::ErrorKind);

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(self.0))
        }
    }

    fn report_of(out: Output) -> Report {
        out.report.expect("a write's report")
    }

    #[test]
    fn a_report_standard_output_refuses_is_kept_to_its_limit_and_said_instead() {
        let mut out = Output::to(Box::new(Refusing(io::ErrorKind::StorageFull)), false).reporting_a_write();
        let line = "x".repeat(1000);
        // The limit holds whole lines: the last that fits, and none after.
        for _ in 0..REPORT_KEPT / 1000 + 3 {
            out.line(&line).expect("kept, not failed");
        }
        out.flush().expect("kept, not failed");
        let report = report_of(out);
        assert_eq!(report.lines.len(), REPORT_KEPT / 1000);
        assert_eq!(report.bytes, REPORT_KEPT / 1000 * 1000);
        assert_eq!(report.left_out, 3);
        let said = report.said_instead(true).expect("said");
        assert!(
            said[0].starts_with("custodian: the write landed, but standard output failed ("),
            "{}",
            said[0]
        );
        assert_eq!(said.len(), 1 + REPORT_KEPT / 1000 + 1);
        assert_eq!(said.last().map(String::as_str), Some("custodian: and 3 more lines of it, not kept"));
    }

    #[test]
    fn a_failed_write_says_its_report_only_when_it_had_one_also_to_a_closed_pipe() {
        let mut out = Output::to(Box::new(Refusing(io::ErrorKind::StorageFull)), false).reporting_a_write();
        out.flush().expect("kept");
        assert_eq!(report_of(out).said_instead(false), None, "nothing to say before the error");
        let mut out = Output::to(Box::new(Refusing(io::ErrorKind::StorageFull)), false).reporting_a_write();
        out.line("left alone: 1 user").expect("kept");
        out.flush().expect("kept");
        let said = report_of(out).said_instead(false).expect("said");
        assert!(said[0].starts_with("custodian: standard output failed ("), "{}", said[0]);
        assert_eq!(said[1..], ["left alone: 1 user".to_owned()]);
        // The reader went away (`patch --yes | grep -q …`): the report is said on stderr all
        // the same, the batch id `undo` needs with it (it was said nowhere: bb42 F6).
        let mut out = Output::to(Box::new(Refusing(io::ErrorKind::BrokenPipe)), false).reporting_a_write();
        // Past the buffer, so the writes themselves meet the closed pipe.
        for _ in 0..20 {
            out.line(&"x".repeat(1000)).expect("kept");
        }
        out.flush().expect("kept");
        assert!(out.closed);
        let said = report_of(out).said_instead(true).expect("said");
        assert!(
            said[0].starts_with("custodian: the write landed, but standard output failed ("),
            "{}",
            said[0]
        );
        assert_eq!(said.len(), 21);
        // A listing's reader going away is its choice: nothing is said.
        let mut out = Output::to(Box::new(Refusing(io::ErrorKind::BrokenPipe)), false);
        for _ in 0..20 {
            out.line(&"x".repeat(1000)).expect("no error");
        }
        out.flush().expect("no error");
        assert!(out.closed);
    }
}
