//! Every way the screen ends closes the database cleanly: right after it, a `--read-only`
//! open (which cannot repair a file) reads the users. A file a process left open (SIGKILL)
//! is named with the command that repairs it.

mod support;

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use portable_pty::CommandBuilder;
use support::home::PrivateHome;
use support::pty::{POLL, TIMEOUT, Tui, framed, nonzero};
use support::run::Run;

const BIN: &str = env!("CARGO_BIN_EXE_custodian");
const DEMO_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-users.json");

/// A private home with a database of the 200 demo users.
struct Fixture {
    home: PrivateHome,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self { home: PrivateHome::new(&[]) };
        fixture.cli(&["init"]).ok();
        fixture.cli(&["import", DEMO_USERS]).ok();
        fixture
    }

    fn db(&self) -> std::path::PathBuf {
        self.home.path("users.redb")
    }

    fn cli(&self, args: &[&str]) -> Run {
        let mut command = self.home.custodian();
        command.arg("--db").arg(self.db()).args(args);
        Run::of(command, None)
    }

    /// The screen on the database in a pseudo-terminal, once the list is shown.
    fn screen(&self, env: &[(&str, &str)]) -> Tui {
        let mut tui = self.spawn(env);
        tui.wait_text("Users · 200");
        tui
    }

    /// The screen on the database in a pseudo-terminal, just started.
    fn spawn(&self, env: &[(&str, &str)]) -> Tui {
        self.spawn_with(&[], env)
    }

    /// [`Self::spawn`] with more arguments after `--db DB`.
    fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Tui {
        let mut command = CommandBuilder::new(BIN);
        command.arg("--db");
        command.arg(self.db());
        for arg in args {
            command.arg(arg);
        }
        for key in ["CUSTODIAN_DB", "CUSTODIAN_READ_ONLY", "NO_COLOR", "LOGNAME", "SSH_CONNECTION"] {
            command.env_remove(key);
        }
        for (key, dir) in [("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")] {
            command.env(key, self.home.path(dir));
        }
        command.env("USER", "tester");
        command.env("TERM", "xterm-256color");
        for (key, value) in env {
            command.env(key, value);
        }
        Tui::spawn(command, 120, 40)
    }

    /// What an auditor does next: a read-only `get`. It fails when the file was left open.
    #[track_caller]
    fn assert_closed_cleanly(&self) {
        let run = self.cli(&["--read-only", "get", "admin"]);
        assert!(
            run.code == 0 && run.stdout.contains("adminConsolePreferences"),
            "the database was not closed cleanly: {run:?}"
        );
    }
}

/// Ends the screen with `keys` and checks the exit and the file.
fn ends_cleanly_with(keys: &[&[u8]]) {
    let fixture = Fixture::new();
    let mut tui = fixture.screen(&[]);
    for key in keys {
        tui.send(key);
    }
    let status = tui.wait_exit();
    assert!(status.success(), "custodian exited with {status:?}");
    fixture.assert_closed_cleanly();
}

/// Ends the screen with `signal` and checks the file.
fn ends_cleanly_on(signal: i32) {
    let fixture = Fixture::new();
    let mut tui = fixture.screen(&[]);
    // SAFETY: a signal to our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(tui.pid(), signal) }, 0);
    tui.wait_exit();
    fixture.assert_closed_cleanly();
}

#[test]
fn q_closes_the_database_cleanly() {
    ends_cleanly_with(&[b"q"]);
}

#[test]
fn colon_q_closes_the_database_cleanly() {
    ends_cleanly_with(&[b":", b"q", b"\r"]);
}

#[test]
fn ctrl_c_closes_the_database_cleanly() {
    ends_cleanly_with(&[b"\x03"]);
}

#[test]
fn ctrl_q_closes_the_database_cleanly() {
    ends_cleanly_with(&[b"\x11"]);
}

#[test]
fn quitting_during_a_filter_scan_closes_the_database_cleanly() {
    // The scanner thread has just been handed a query when the screen ends.
    ends_cleanly_with(&[b"/", b"e", b"\x03"]);
}

#[test]
fn sigterm_closes_the_database_cleanly() {
    ends_cleanly_on(libc::SIGTERM);
}

#[test]
fn sighup_closes_the_database_cleanly() {
    ends_cleanly_on(libc::SIGHUP);
}

#[test]
fn sigint_from_outside_closes_the_database_cleanly() {
    ends_cleanly_on(libc::SIGINT);
}

#[test]
fn a_panic_closes_the_database_cleanly() {
    let fixture = Fixture::new();
    let mut tui = fixture.spawn(&[("CUSTODIAN_TEST_PANIC", "1")]);
    let status = tui.wait_exit();
    assert!(!status.success(), "a panic is a failure: {status:?}");
    let text = tui.text();
    assert!(text.contains("internal error"), "the panic is reported:\n{}", framed(&text));
    fixture.assert_closed_cleanly();
}

#[test]
fn a_screen_held_in_one_step_still_ends_on_a_signal_and_gives_the_terminal_back() {
    // Held for good after its first frame (as by a schema check that never ends), the loop
    // never looks at the signal's flag: the watch ends the process 10 s after the signal.
    let fixture = Fixture::new();
    let mut tui = fixture.spawn(&[("CUSTODIAN_TEST_HANG", "1")]);
    tui.wait_text("Users · ");
    let signalled = Instant::now();
    // SAFETY: a signal to our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGHUP) }, 0);
    let status = tui.wait_exit_within(std::time::Duration::from_secs(60));
    assert_eq!(status.exit_code(), 130, "{status:?}");
    assert!(signalled.elapsed() >= std::time::Duration::from_secs(9), "{:?}", signalled.elapsed());
    let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
    let left = raw.rfind("\u{1b}[?1049l").expect("the alternate screen left");
    assert!(raw[left..].contains("\u{1b}[?25h"), "the cursor shown again");
    assert!(
        tui.text().contains("the screen was busy and did not answer it within 10 s"),
        "{}",
        framed(&tui.text())
    );
    // Not closed, so repaired by the next open that may write; then read-only reads it.
    fixture.cli(&["get", "admin"]).ok();
    fixture.assert_closed_cleanly();
}

#[test]
fn a_vanished_terminal_closes_the_database_cleanly() {
    // A pty of the test's own whose master is simply closed, as when sshd's end goes away
    // and its SIGHUP went elsewhere: custodian is in a session of its own without a
    // controlling terminal, so no signal comes, only a terminal that reads as hung up.
    let fixture = Fixture::new();
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty fills the two descriptors; the name pointer may be null.
    let opened =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else; the master is
    // kept from the child (close-on-exec), or its copy there would keep the terminal alive.
    let (master, slave) = unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave))
    };
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(fixture.db())
        .env_clear()
        .env("HOME", fixture.home.path("home"))
        .env("XDG_DATA_HOME", fixture.home.path("data"))
        .env("XDG_STATE_HOME", fixture.home.path("state"))
        .env("USER", "tester")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().expect("dup the pty")))
        .stdout(Stdio::from(slave.try_clone().expect("dup the pty")))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid is async-signal-safe; it leaves custodian without a controlling terminal.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start custodian");
    // The command holds copies of the slave side: only custodian may keep it open.
    drop(command);
    let mut screen = vt100::Parser::new(nonzero(40), nonzero(120), 0);
    let since = Instant::now();
    let mut buffer = [0u8; 16 * 1024];
    while !screen.screen().contents().contains("Users · 200") {
        assert!(since.elapsed() < TIMEOUT, "no list:\n{}", framed(&screen.screen().contents()));
        let mut fd =
            libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&master), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; then a read into a local buffer of its length.
        let n = unsafe {
            if libc::poll(&mut fd, 1, POLL.as_millis() as i32) <= 0 {
                continue;
            }
            libc::read(fd.fd, buffer.as_mut_ptr().cast(), buffer.len())
        };
        assert!(n > 0, "the pty closed before the list showed");
        screen.process(&buffer[..n as usize]);
    }
    drop(master);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for custodian") {
            break status;
        }
        if since.elapsed() > TIMEOUT * 2 {
            let _ = child.kill();
            panic!("custodian kept running after its terminal went away");
        }
        thread::sleep(POLL);
    };
    // 101 is a panic: writing to the vanished terminal must not panic on the way out.
    assert!(
        status.code().is_some_and(|code| code != 101),
        "custodian ended by itself, without a panic: {status:?}"
    );
    fixture.assert_closed_cleanly();
}

#[test]
fn a_file_left_open_by_a_killed_process_names_the_command_that_repairs_it() {
    let fixture = Fixture::new();
    let mut tui = fixture.screen(&[]);
    // SAFETY: a signal to our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(tui.pid(), libc::SIGKILL) }, 0);
    tui.wait_exit();
    let error = fixture.cli(&["--read-only", "get", "admin"]).fails(1);
    let repair = format!("`custodian --db {} info`", fixture.db().display());
    assert!(error.contains(&repair), "the message names {repair}: {error}");
    assert!(error.contains("--read-only"), "{error}");
    // The command it names repairs the file.
    let info = fixture.cli(&["info"]).ok();
    assert!(info.stdout.contains("200"), "{info:?}");
    fixture.assert_closed_cleanly();
}

// ---------------------------------------------------------------------------------------------
#[test]
fn ctrl_c_ends_a_start_that_waits_on_a_schema_fifo() {
    let fixture = Fixture::new();
    // A FIFO planted where the schema was expected: reading it waits for a writer.
    let fifo = fixture.home.path("schema.json");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let mut tui = fixture.spawn_with(&["--schema", fifo.to_str().unwrap()], &[]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!tui.exited(), "custodian should be waiting on the FIFO");
    // The screen is not up yet: Ctrl-C is the terminal's SIGINT, and it must end custodian.
    tui.send("\x03");
    tui.wait_exit_within(std::time::Duration::from_secs(5));
    fixture.assert_closed_cleanly();
}

// A save that waits for another writer

/// Another program inside a write transaction on the file: custodian's saves wait for it
/// (up to 3 s). Dropping it ends the transaction without writing.
fn hold_the_write_lock(db: &std::path::Path) -> (redb::Database, redb::WriteTransaction) {
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    let database = builder.open(db).expect("open the database beside custodian");
    let transaction = database.begin_write().expect("begin a write transaction");
    (database, transaction)
}

/// The screen in the editor on the first user, with one key added, not saved yet.
fn editing_with_a_change(fixture: &Fixture) -> Tui {
    let mut tui = fixture.screen(&[]);
    tui.send("\r");
    tui.wait_text("Editing customData");
    tui.send("\x1b[C");
    tui.send("\"waited\": 1,");
    tui.wait_text("\"waited\": 1,");
    tui.wait_text("valid object");
    tui
}

#[test]
fn keys_are_answered_while_a_save_waits_for_another_writer() {
    let fixture = Fixture::new();
    let mut tui = editing_with_a_change(&fixture);
    let lock = hold_the_write_lock(&fixture.db());
    tui.send("\x13");
    tui.wait_text("saving…");
    // F1 opens and closes the help while the save still waits for the lock.
    tui.send("\x1bOP");
    tui.wait_text("Keys · ");
    tui.send("\x1bOP");
    tui.wait_gone("Keys · ");
    // The help covered the status line: its frame may still be arriving. The save is still
    // pending once the whole frame is there.
    tui.wait_text("saving…");
    drop(lock);
    tui.wait_text("saved revision 2");
    tui.send("q");
    assert!(tui.wait_exit().success());
    fixture.assert_closed_cleanly();
}

/// An edit saved (Ctrl-S) while another writer holds the lock, then Ctrl-C: the screen says
/// it quits once the save answers. The lock is the caller's to let go.
fn quitting_while_a_save_waits(fixture: &Fixture) -> (Tui, (redb::Database, redb::WriteTransaction)) {
    let mut tui = editing_with_a_change(fixture);
    let lock = hold_the_write_lock(&fixture.db());
    tui.send("\x13");
    tui.wait_text("saving…");
    tui.send("\x03");
    tui.wait_text("quitting once the save answers");
    (tui, lock)
}

#[test]
fn quitting_while_a_save_waits_finishes_it_and_says_so() {
    let fixture = Fixture::new();
    let (mut tui, lock) = quitting_while_a_save_waits(&fixture);
    assert!(!tui.text().contains("throw your changes away"), "{}", tui.text());
    drop(lock);
    let status = tui.wait_exit();
    assert!(status.success(), "{status:?}");
    let said = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(said.contains("custodian: saved revision 2"), "the save's answer is said on the way out");
    assert!(!said.contains("unsaved edit is kept"), "a saved edit leaves no draft: {said}");
    fixture.assert_closed_cleanly();
}

#[test]
fn quitting_while_a_save_waits_keeps_the_edit_the_save_could_not_write() {
    let fixture = Fixture::new();
    // Held until the save gives up: the edit is in no revision, so it must be in a draft.
    let (mut tui, lock) = quitting_while_a_save_waits(&fixture);
    // A `y` typed at the question an operator expects answers nothing.
    tui.send("y");
    tui.wait_exit();
    drop(lock);
    let said = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(said.contains("custodian: the database is busy"), "the save's refusal is said: {said}");
    assert!(said.contains("your unsaved edit is kept in"), "the edit is kept as a draft: {said}");
    let drafts: Vec<String> = std::fs::read_dir(fixture.home.path("state/custodian/drafts"))
        .expect("the drafts folder")
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(drafts.len(), 1, "one draft");
    assert!(drafts[0].contains("waited"), "the draft holds the edit: {}", drafts[0]);
    let stored = fixture.cli(&["get", "admin"]);
    assert!(!stored.stdout.contains("waited"), "nothing was written: {stored:?}");
    fixture.assert_closed_cleanly();
}
