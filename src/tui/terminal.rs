//! Owning the terminal: raw mode, the alternate screen and bracketed paste on the way in,
//! all of it undone on the way out — also on an error, on a panic and while suspended — so
//! the operator's shell is never left broken. Each frame is one write, and a large one a
//! synchronized update, so a slow link never shows half of one. Without colour, every colour code is taken out of the
//! output here, whoever wrote it.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::gap_filling::GapFilling;
use super::lean_backend::LeanBackend;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    Clear, ClearType, DisableLineWrap, EnableLineWrap, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;

pub type Term = Terminal<GapFilling<LeanBackend<Screen>>>;

/// Standard output as the frames are written to it: with colour codes removed when the
/// operator asked for none.
pub struct Screen {
    stdout: Stdout,
    colourless: Option<Colourless>,
}

impl Write for Screen {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.colourless {
            Some(filter) => {
                let out = filter.filter(bytes);
                self.stdout.write_all(&out)?;
                Ok(bytes.len())
            }
            None => self.stdout.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()
    }
}

/// Whether frames may carry colour: the terminal is one per process, and so is this choice.
static COLOUR: AtomicBool = AtomicBool::new(true);

/// Whether the mouse is captured (`--mouse`): off by default so the terminal's own selection
/// keeps working.
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Whether custodian holds the terminal now: [`leave`] undoes [`take_over`] once. Leaving
/// twice (the panic hook, then the way out) would write `CSI ? 1049 l` again, which makes a
/// terminal restore its saved cursor and write the next line over the error just printed.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Takes over the terminal. Call [`leave`] when done; a panic calls it by itself.
pub fn enter(colour: bool, mouse: bool) -> io::Result<Term> {
    install_panic_hook();
    COLOUR.store(colour, Ordering::Relaxed);
    MOUSE.store(mouse, Ordering::Relaxed);
    take_over()?;
    Terminal::new(GapFilling::new(LeanBackend::new(Screen::new(colour))))
}

impl Screen {
    fn new(colour: bool) -> Self {
        Self { stdout: io::stdout(), colourless: (!colour).then(Colourless::default) }
    }
}

fn take_over() -> io::Result<()> {
    ENTERED.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    // Auto-wrap off: a cluster a terminal draws wider than counted in the last columns (a skin
    // tone after an emoji) was wrapped onto the next row's first cell, where nothing drew over
    // it again (bb26 T01); without it the terminal clips at the edge.
    // Cleared: a terminal still in the alternate screen (a custodian killed with -9 left it
    // there) does not clear it on entering, and the first frame, drawn against a blank
    // screen, left the dead one's rows among its own (bb29 S02).
    let mut entered =
        execute!(stdout, EnterAlternateScreen, Clear(ClearType::All), DisableLineWrap, EnableBracketedPaste);
    if entered.is_ok() && MOUSE.load(Ordering::Relaxed) {
        entered = execute!(stdout, EnableMouseCapture);
    }
    if let Err(e) = entered {
        let _ = leave();
        return Err(e);
    }
    Ok(())
}

/// Gives the terminal back as it was. Safe to call more than once.
pub fn leave() -> io::Result<()> {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let left = leave_entered();
    // A terminal that is gone (an SSH session dropped: its pty answers EIO) has nothing left
    // to restore; the session lost nothing, and exited 1 saying "cannot restore" (bb73 F4).
    match left {
        Err(e) if is_gone(&e) => {
            tracing::info!(error = %e, "the terminal is gone: nothing to restore");
            Ok(())
        }
        other => other,
    }
}

/// Whether a terminal's error says it has gone away (its other end closed).
pub fn is_gone(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EIO | libc::ENXIO))
}

/// [`is_gone`] of any error in `error`'s chain.
pub fn gone_in(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(is_gone))
}

fn leave_entered() -> io::Result<()> {
    let mut stdout = io::stdout();
    if MOUSE.load(Ordering::Relaxed) {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    let screen = execute!(stdout, DisableBracketedPaste, EnableLineWrap, LeaveAlternateScreen, cursor::Show);
    let raw = disable_raw_mode();
    screen.and(raw)
}

/// Lets go of the frame machinery after [`leave`] (which has shown the cursor again) without
/// running ratatui's own drop: on a terminal that has gone away that would report its failed
/// write with `eprintln!`, which panics when stderr is that terminal.
pub fn forget(terminal: Term) {
    std::mem::forget(terminal);
}

/// Takes the terminal back after [`leave`] (a suspend, an external editor) and has the next
/// frame drawn whole: what was on the screen meanwhile is unknown.
pub fn resume(terminal: &mut Term) -> io::Result<()> {
    // Cleared as it is taken (what was on the screen meanwhile is unknown).
    take_over()?;
    // A new Terminal knows nothing of the screen, so its first frame is drawn whole.
    // (`Terminal::clear` would do the same but asks the terminal where the cursor is and
    // waits for the answer: a round trip over SSH, and seconds where nothing answers.)
    *terminal =
        Terminal::new(GapFilling::new(LeanBackend::new(Screen::new(COLOUR.load(Ordering::Relaxed)))))?;
    Ok(())
}

/// A process as job control sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessIds {
    pub pid: i32,
    /// Its process group.
    pub pgid: i32,
    /// Its session (-1 when it could not be read: another session, as far as we can tell).
    pub sid: i32,
}

/// Why a stop on Ctrl-Z would be for good: nothing could continue custodian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoShell {
    #[error("custodian leads its own session (as under `ssh -t host custodian`)")]
    SessionLeader,
    #[error("no process outside custodian's process group in its session (an orphaned process group)")]
    OrphanedGroup,
    #[error("custodian is not the terminal's foreground job")]
    NotForeground,
    #[error("custodian's parent processes could not be read")]
    Unknown,
}

/// Whether a shell can continue custodian after it stops, by POSIX's rules: a stopped process
/// is continued by job control only when its process group is not orphaned — some process in
/// the same session, in another process group, is the parent of a member (the shell that
/// started the job). `ancestors` are custodian's parent, grandparent…, as far as known;
/// parents in custodian's own group (a wrapper script) are looked through. `foreground` is
/// the terminal's foreground process group.
pub fn shell_can_resume(
    me: ProcessIds,
    foreground: Option<i32>,
    ancestors: &[ProcessIds],
) -> Result<(), NoShell> {
    if me.pid == me.sid {
        return Err(NoShell::SessionLeader);
    }
    if foreground != Some(me.pgid) {
        return Err(NoShell::NotForeground);
    }
    for ancestor in ancestors {
        if ancestor.pgid != me.pgid {
            return if ancestor.sid == me.sid { Ok(()) } else { Err(NoShell::OrphanedGroup) };
        }
        if ancestor.sid != me.sid {
            return Err(NoShell::OrphanedGroup);
        }
    }
    Err(NoShell::Unknown)
}

/// [`shell_can_resume`] for this process, read from the system.
pub fn shell_to_return_to() -> Result<(), NoShell> {
    // SAFETY: plain queries of process ids; none takes a pointer.
    let me = unsafe { ProcessIds { pid: libc::getpid(), pgid: libc::getpgrp(), sid: libc::getsid(0) } };
    let foreground = foreground_group();
    let mut ancestors = Vec::new();
    // SAFETY: as above.
    let mut next = unsafe { libc::getppid() };
    // A wrapper or two in our own group is usual; a long chain of them is not worth following.
    while next > 0 && ancestors.len() < 32 {
        // SAFETY: as above.
        let (pgid, sid) = unsafe { (libc::getpgid(next), libc::getsid(next)) };
        if pgid < 0 {
            break;
        }
        ancestors.push(ProcessIds { pid: next, pgid, sid });
        if pgid != me.pgid {
            break;
        }
        match parent_of(next) {
            Some(parent) => next = parent,
            None => break,
        }
    }
    shell_can_resume(me, foreground, &ancestors)
}

/// The parent of `pid`, where the system says (Linux's /proc); elsewhere unknown.
pub(crate) fn parent_of(pid: i32) -> Option<i32> {
    parent_and_group_of(pid).map(|(parent, _)| parent)
}

/// The parent and the process group of `pid`, where the system says (Linux's /proc).
pub(crate) fn parent_and_group_of(pid: i32) -> Option<(i32, i32)> {
    process_stat(pid).map(|stat| (stat.parent, stat.group))
}

/// What Linux's /proc says of a process: its state (`R`, `S`, `Z` for a zombie, …), parent
/// and process group.
pub(crate) struct ProcessStat {
    pub(crate) state: String,
    pub(crate) parent: i32,
    pub(crate) group: i32,
}

/// [`ProcessStat`] of `pid`, where the system says.
pub(crate) fn process_stat(pid: i32) -> Option<ProcessStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp …`: the command name may hold spaces and parentheses.
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.to_owned();
    Some(ProcessStat { state, parent: fields.next()?.parse().ok()?, group: fields.next()?.parse().ok()? })
}

/// Ctrl-Z: gives the terminal back, stops the whole process group as the shell's job control
/// expects, and takes the terminal back once continued (`fg`, SIGCONT). A SIGTSTP sent to
/// oneself is ignored in an orphaned process group, so this is SIGSTOP — which is why the
/// caller first asks [`shell_to_return_to`]: with no shell to continue it, it would stay
/// stopped for good.
///
/// Continued, the terminal is taken back only in the foreground: `kill %1` sends TERM and
/// then CONT to a stopped job, which then runs in the background, where touching the
/// terminal stops it again (SIGTTOU) until `fg`, and the session's way out waited for that
/// (bb11). With `ending` (a signal came) it is left to the shell, and the way out goes on
/// without a screen; continued in the background for no reason (`bg`), it stops again.
pub fn suspend(terminal: &mut Term, ending: &dyn Fn() -> bool) -> io::Result<()> {
    leave()?;
    loop {
        // SAFETY: kill has no memory-safety preconditions; 0 is our own process group.
        if unsafe { libc::kill(0, libc::SIGSTOP) } != 0 {
            let error = io::Error::last_os_error();
            resume(terminal)?;
            return Err(error);
        }
        match continued(ending) {
            Continued::InTheForeground => return resume(terminal),
            Continued::Ending => return Ok(()),
            Continued::InTheBackground => {}
        }
    }
}

/// Where a process continued after a stop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Continued {
    /// `fg`: the terminal is its to take back.
    InTheForeground,
    /// In the background with a hang-up or TERM noted (`kill %1` sends TERM, then CONT).
    Ending,
    /// In the background for no reason (`bg`).
    InTheBackground,
}

/// Looks where this process stands once continued. In the background, the signal that came
/// with the CONT may be handled on another thread a moment later, and `fg` may come meanwhile:
/// looked at for up to 500 ms.
pub(crate) fn continued(ending: &dyn Fn() -> bool) -> Continued {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        if in_the_foreground() {
            return Continued::InTheForeground;
        }
        if ending() {
            return Continued::Ending;
        }
        if std::time::Instant::now() >= deadline {
            return Continued::InTheBackground;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether this process's group holds the terminal (`fg`), as a screen needs.
fn in_the_foreground() -> bool {
    // SAFETY: a plain query of our process group; it takes no pointer.
    foreground_group() == Some(unsafe { libc::getpgrp() })
}

/// The terminal's foreground process group, where it can be read.
fn foreground_group() -> Option<i32> {
    // SAFETY: a plain query of the terminal on stdin; it takes no pointer.
    let group = unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) };
    (group > 0).then_some(group)
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A contained panic (redb on a damaged page) becomes an error on the status line: the
        // screen stays.
        if !crate::crash::contained_here() {
            let _ = leave();
        }
        previous(info);
    }));
}

/// Draws one frame as one write, inside a synchronized update unless it is small
/// ([`LeanBackend::end_frame`]).
pub fn draw(terminal: &mut Term, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
    // Not while the terminal is given back (suspended, or left to the shell on the way out).
    if !ENTERED.load(Ordering::SeqCst) {
        return Ok(());
    }
    terminal.backend_mut().inner_mut().begin_frame();
    terminal.draw(render)?;
    terminal.backend_mut().inner_mut().end_frame()
}

/// Writes bytes for the terminal itself (an OSC 52 clipboard request) between frames.
pub fn send(terminal: &mut Term, bytes: &[u8]) -> io::Result<()> {
    let backend = terminal.backend_mut();
    backend.write_all(bytes)?;
    backend.flush()
}

/// Takes colour out of SGR sequences (`ESC [ … m`) in a byte stream, keeping bold, reverse
/// video and the rest. crossterm under `NO_COLOR` writes a colour change as a bare `ESC [ m`,
/// which a terminal reads as "reset everything" — reverse video included, so the selection
/// would vanish: such a sequence is dropped too. Sequences split across writes are handled.
#[derive(Debug, Default)]
pub struct Colourless {
    /// The bytes of an escape sequence not finished yet (starting with ESC).
    pending: Vec<u8>,
}

/// An unfinished sequence longer than this is not an SGR and is passed on as it is.
const MAX_SEQUENCE: usize = 64;

impl Colourless {
    pub fn filter(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &byte in bytes {
            if self.pending.is_empty() {
                if byte == 0x1b {
                    self.pending.push(byte);
                } else {
                    out.push(byte);
                }
                continue;
            }
            self.pending.push(byte);
            if self.pending.len() == 2 {
                if byte != b'[' {
                    out.append(&mut self.pending);
                }
                continue;
            }
            match byte {
                0x40..=0x7e => {
                    let sequence = std::mem::take(&mut self.pending);
                    if byte == b'm' {
                        out.extend(strip_colour(&sequence[2..sequence.len() - 1]));
                    } else {
                        out.extend(sequence);
                    }
                }
                _ if self.pending.len() > MAX_SEQUENCE => out.append(&mut self.pending),
                _ => {}
            }
        }
        out
    }
}

/// An SGR sequence with the colour parameters `params` had taken out; nothing when none is left.
fn strip_colour(params: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(params) else {
        return [b"\x1b[", params, b"m"].concat();
    };
    if text.is_empty() || text.bytes().any(|b| !(b.is_ascii_digit() || b == b';' || b == b':')) {
        // Bare `ESC [ m` is crossterm's colour change under NO_COLOR; anything exotic is dropped.
        return Vec::new();
    }
    let parts: Vec<&str> = text.split(';').collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let part = parts[i];
        let head: u32 = part.split(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        i += 1;
        match head {
            38 | 48 | 58 if !part.contains(':') => {
                // `38;5;N` or `38;2;R;G;B`
                match parts.get(i).copied() {
                    Some("5") => i += 2,
                    Some("2") => i += 4,
                    _ => i += 1,
                }
            }
            30..=39 | 40..=49 | 58 | 59 | 90..=97 | 100..=107 => {}
            _ => kept.push(part),
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }
    format!("\x1b[{}m", kept.join(";")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::{Colourless, NoShell, ProcessIds, gone_in, is_gone, shell_can_resume};
    use std::io;

    /// A terminal whose other end closed answers EIO (ENXIO once the pty is gone): that is the
    /// hang-up, not a failure to restore it (bb73 F4: exit 1 after keeping the edit). Other
    /// errors stay errors, also inside a chain.
    #[test]
    fn a_terminal_gone_is_told_from_a_failure_to_restore_it() {
        assert!(is_gone(&io::Error::from_raw_os_error(libc::EIO)));
        assert!(is_gone(&io::Error::from_raw_os_error(libc::ENXIO)));
        assert!(!is_gone(&io::Error::from_raw_os_error(libc::ENOSPC)));
        let chained = anyhow::Error::from(io::Error::from_raw_os_error(libc::EIO)).context("drawing");
        assert!(gone_in(&chained));
        assert!(!gone_in(&anyhow::anyhow!("Input/output error")), "words alone are no error kind");
    }

    const fn ids(pid: i32, pgid: i32, sid: i32) -> ProcessIds {
        ProcessIds { pid, pgid, sid }
    }

    #[test]
    fn a_job_of_an_interactive_shell_may_suspend() {
        // bash (pid 100, its own group, session 100) started custodian as job 200.
        let me = ids(200, 200, 100);
        assert_eq!(shell_can_resume(me, Some(200), &[ids(100, 100, 100)]), Ok(()));
        // Through a wrapper script in the job's own group.
        let me = ids(201, 200, 100);
        assert_eq!(shell_can_resume(me, Some(200), &[ids(200, 200, 100), ids(100, 100, 100)]), Ok(()));
    }

    #[test]
    fn no_shell_to_return_to_refuses_to_suspend() {
        // `ssh -t host custodian`: the shell exec'd custodian, which leads the session.
        assert_eq!(
            shell_can_resume(ids(300, 300, 300), Some(300), &[ids(1, 1, 1)]),
            Err(NoShell::SessionLeader)
        );
        // `ssh -t host 'sh -c "custodian; true"'`: a shell without job control leads the session
        // and custodian is in its group; the next parent is in another session.
        assert_eq!(
            shell_can_resume(ids(301, 300, 300), Some(300), &[ids(300, 300, 300), ids(2, 2, 2)]),
            Err(NoShell::OrphanedGroup)
        );
        // A parent in another session directly (a session whose leader has gone).
        assert_eq!(
            shell_can_resume(ids(302, 302, 300), Some(302), &[ids(1, 1, 1)]),
            Err(NoShell::OrphanedGroup)
        );
        // Not the foreground job, or the terminal cannot say.
        assert_eq!(
            shell_can_resume(ids(200, 200, 100), Some(100), &[ids(100, 100, 100)]),
            Err(NoShell::NotForeground)
        );
        assert_eq!(
            shell_can_resume(ids(200, 200, 100), None, &[ids(100, 100, 100)]),
            Err(NoShell::NotForeground)
        );
        // The parents could not be read beyond the own group: no stop on a guess.
        assert_eq!(
            shell_can_resume(ids(201, 200, 100), Some(200), &[ids(200, 200, 100)]),
            Err(NoShell::Unknown)
        );
        assert_eq!(shell_can_resume(ids(201, 200, 100), Some(200), &[]), Err(NoShell::Unknown));
    }

    fn filtered(chunks: &[&[u8]]) -> Vec<u8> {
        let mut filter = Colourless::default();
        chunks.iter().flat_map(|c| filter.filter(c)).collect()
    }

    #[test]
    fn colour_codes_are_taken_out_and_emphasis_kept() {
        assert_eq!(filtered(&[b"a\x1b[38;5;9mb\x1b[39mc"]), b"abc");
        assert_eq!(filtered(&[b"\x1b[1;31;7mX"]), b"\x1b[1;7mX");
        assert_eq!(filtered(&[b"\x1b[38;2;1;2;3;4mX\x1b[48:5:1m"]), b"\x1b[4mX");
        assert_eq!(
            filtered(&[b"\x1b[7m\x1b[mX\x1b[0m"]),
            b"\x1b[7mX\x1b[0m",
            "a bare CSI m must not cancel reverse"
        );
        assert_eq!(filtered(&[b"\x1b[92;104m\x1b[27m"]), b"\x1b[27m");
    }

    #[test]
    fn other_sequences_pass_through_even_when_split() {
        assert_eq!(
            filtered(&[b"\x1b[?20", b"26h\x1b", b"[2;3H\x1b]52;c;QQ==\x07"]),
            b"\x1b[?2026h\x1b[2;3H\x1b]52;c;QQ==\x07"
        );
        assert_eq!(filtered(&[b"\x1b[3", b"8;5", b";1m", b"x\x1b[", b"1m"]), b"x\x1b[1m");
    }
}
