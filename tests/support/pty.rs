//! The real binary in a pseudo-terminal: a reader thread feeds its output to a vt100 screen
//! and keeps the raw bytes; waits poll the screen with a timeout; dropping a [`Tui`] kills
//! the child, so a failing test never leaves a process behind or hangs.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long anything visible may take to appear (CI machines have 2 busy cores).
pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(20);

/// What the reader thread has seen of the child's output.
pub struct Screen {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
}

/// The binary running in a pseudo-terminal. Dropping it kills the child, so a failing test
/// never leaves a process behind (nor hangs waiting for one).
pub struct Tui {
    screen: Arc<Mutex<Screen>>,
    eof: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    exit: Option<ExitStatus>,
    /// The log the child writes (`$XDG_STATE_HOME/custodian/custodian.log`), shown with the
    /// screen when a wait fails: what it read and dropped tells a flake from a bug.
    log: Option<std::path::PathBuf>,
}

pub fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("terminal sizes are not zero")
}

impl Tui {
    pub fn spawn(command: CommandBuilder, cols: u16, rows: u16) -> Self {
        let size = PtySize { rows, cols, pixel_width: 0, pixel_height: 0 };
        let log = command
            .get_env("XDG_STATE_HOME")
            .map(|state| std::path::Path::new(state).join("custodian").join("custodian.log"));
        let pair = native_pty_system().openpty(size).expect("open a pseudo-terminal");
        let child = pair.slave.spawn_command(command).expect("start custodian in the pty");
        // Only the child may hold the slave side, so reading the master ends when it exits.
        drop(pair.slave);
        let master = pair.master;
        let mut reader = master.try_clone_reader().expect("read the pty");
        let writer = master.take_writer().expect("write to the pty");
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(nonzero(rows), nonzero(cols), 0),
            raw: Vec::new(),
        }));
        let eof = Arc::new(AtomicBool::new(false));
        let pump = {
            let screen = Arc::clone(&screen);
            let eof = Arc::clone(&eof);
            thread::spawn(move || {
                let mut buffer = [0u8; 16 * 1024];
                loop {
                    match reader.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
                            screen.parser.process(&buffer[..n]);
                            screen.raw.extend_from_slice(&buffer[..n]);
                        }
                    }
                }
                eof.store(true, Ordering::SeqCst);
            })
        };
        Self { screen, eof, reader: Some(pump), child, writer, master, exit: None, log }
    }

    pub fn lock(&self) -> MutexGuard<'_, Screen> {
        self.screen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The screen as text, one line per row.
    pub fn text(&self) -> String {
        self.lock().parser.screen().contents()
    }

    /// The text of each row of the screen.
    pub fn rows(&self) -> Vec<String> {
        let screen = self.lock();
        let (_, cols) = screen.parser.screen().size();
        screen.parser.screen().rows(0, cols.get()).collect()
    }

    pub fn raw(&self) -> Vec<u8> {
        self.lock().raw.clone()
    }

    /// Types bytes as a terminal would send them.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer.write_all(bytes.as_ref()).expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// Waits until the screen's text satisfies `check`; fails with the screen when it does not.
    pub fn wait_for(&mut self, what: &str, check: impl Fn(&str) -> bool) {
        self.wait_on(what, Self::text, |text| check(text));
    }

    /// Waits until the screen's rows satisfy `check` (for a thing that must be on one row).
    pub fn wait_for_rows(&mut self, what: &str, check: impl Fn(&[String]) -> bool) {
        self.wait_on(what, Self::rows, |rows| check(rows));
    }

    pub fn wait_on<T>(&mut self, what: &str, look: fn(&Self) -> T, check: impl Fn(&T) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if check(&look(self)) {
                return;
            }
            let ended = self.eof.load(Ordering::SeqCst) || self.exited();
            if ended || Instant::now() > deadline {
                // One last look: output may have landed between the check and now.
                thread::sleep(POLL);
                if check(&look(self)) {
                    return;
                }
                let why = if ended { "custodian exited" } else { "timed out" };
                panic!(
                    "{why} waiting for {what}; the screen was:\n{}{}",
                    framed(&self.text()),
                    self.log_tail()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// The last lines of the child's log, if it wrote one, for a failed wait's message.
    fn log_tail(&self) -> String {
        let Some(text) = self.log.as_ref().and_then(|log| std::fs::read_to_string(log).ok()) else {
            return String::new();
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("\nthe last lines of its log:\n{tail}")
    }

    /// Waits until `needle` is on the screen.
    pub fn wait_text(&mut self, needle: &str) {
        self.wait_for(&format!("{needle:?}"), |s| s.contains(needle));
    }

    /// Waits until `needle` is gone from the screen.
    pub fn wait_gone(&mut self, needle: &str) {
        self.wait_for(&format!("{needle:?} to disappear"), |s| !s.contains(needle));
    }

    pub fn exited(&mut self) -> bool {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit.is_some()
    }

    /// Waits for the child to exit, then for the last of its output; returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.wait_exit_within(TIMEOUT)
    }

    /// As [`Tui::wait_exit`] for a command that works for a while (a seed, an export) and
    /// may take longer than anything visible should on a loaded machine.
    pub fn wait_exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        while !self.exited() {
            assert!(
                Instant::now() < deadline,
                "custodian did not exit; the screen was:\n{}",
                framed(&self.text())
            );
            thread::sleep(POLL);
        }
        while !self.eof.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the pty stayed open after custodian exited");
            thread::sleep(POLL);
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.exit.clone().expect("the child has exited")
    }

    /// Resizes the terminal: the emulator first, then the pty (which sends SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.lock().parser.screen_mut().set_size(nonzero(rows), nonzero(cols));
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("resize the pty");
    }
}

impl Tui {
    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("the child has a pid") as i32
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if !self.exited() {
            // SIGHUP, then SIGKILL if it lingers; then reap it.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The reader thread ends by itself once the pty closes; it is not joined here so a
        // failing test can never hang on it.
    }
}

/// The screen with a frame around it, so trailing blanks and empty rows are visible.
pub fn framed(text: &str) -> String {
    let mut out = String::from("+---\n");
    for line in text.lines() {
        out.push_str(&format!("|{line}\n"));
    }
    out.push_str("+---");
    out
}

/// Whitespace collapsed: for messages a narrow terminal may wrap.
pub fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find_last(haystack, needle).is_some()
}

pub fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

pub fn find_first(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}
