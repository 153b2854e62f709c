//! One run of the real binary as a script sees it: the exit code and both outputs, and the
//! checks every CLI test makes of them (success; a failure as one `custodian: ...` line).

use std::io::Write;
use std::process::{Command, Stdio};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Runs `command` to its end, with `stdin` as its standard input when given.
    pub fn of(mut command: Command, stdin: Option<&[u8]>) -> Self {
        let output = match stdin {
            None => command.output().expect("run custodian"),
            Some(input) => {
                command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = command.spawn().expect("spawn custodian");
                // A command that refuses before reading its input (import on PostgreSQL, an
                // unknown user) may close the pipe first: that is its answer, not the test's.
                match child.stdin.take().expect("stdin").write_all(input) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    written => written.expect("write stdin"),
                }
                child.wait_with_output().expect("wait custodian")
            }
        };
        Self::from_output(output)
    }

    /// Runs `command` with a reader of its standard output that leaves after the first 64
    /// bytes (as `| head -1` does), to its end.
    pub fn with_a_reader_that_leaves(mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn custodian");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 64];
        std::io::Read::read_exact(&mut stdout, &mut first).expect("the start of the output");
        drop(stdout);
        Self::from_output(child.wait_with_output().expect("wait custodian"))
    }

    /// Runs `command` to its end, failing the test (and killing it) when it is still running
    /// after `limit`: for what once hung instead of answering.
    #[allow(dead_code)]
    pub fn within(mut command: Command, limit: std::time::Duration) -> Self {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn custodian");
        let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.read_to_end(&mut bytes).expect("read the output");
                bytes
            })
        };
        let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
        let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
        let status = ended_within(&mut child, limit)
            .unwrap_or_else(|| panic!("still running after {limit:?}: it hung"));
        let (stdout, stderr) = (stdout.join().expect("stdout"), stderr.join().expect("stderr"));
        Self::from_output(std::process::Output { status, stdout, stderr })
    }

    /// What a run the test started and waited for itself did.
    pub fn from_output(output: std::process::Output) -> Self {
        Self {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stdout_bytes: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns the run.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        self
    }

    /// Asserts the exit code and that the error is one line, `custodian: ...`, without a
    /// panic or a backtrace. Returns the error line.
    #[track_caller]
    pub fn fails(self, code: i32) -> String {
        let problems = self.error_problems(code);
        assert!(problems.is_empty(), "{}: {self:?}", problems.join("; "));
        self.stderr.trim_end().to_owned()
    }

    /// What is wrong with this run as a failure with exit code `code` and a one-line error
    /// (nothing when it is right).
    pub fn error_problems(&self, code: i32) -> Vec<String> {
        let mut problems = Vec::new();
        if self.code != code {
            problems.push(format!("exit code {} instead of {code}", self.code));
        }
        if self.stderr.lines().count() != 1 || !self.stderr.ends_with('\n') {
            problems.push(format!("the error is {} lines, not one", self.stderr.lines().count()));
        }
        if !self.stderr.starts_with("custodian: ") {
            problems.push("the error does not start with `custodian: `".to_owned());
        }
        for word in ["panicked", "backtrace", "Backtrace", "RUST_BACKTRACE", "Caused by"] {
            if self.stderr.contains(word) {
                problems.push(format!("{word:?} in the error"));
            }
        }
        problems
    }
}

/// How `child` ended, if it did within `limit`; else it is killed (and reaped) and `None`.
#[allow(dead_code)]
pub fn ended_within(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits (up to 20 s) until process `pid` catches `signal`, as `SigCgt` in
/// `/proc/PID/status` says: one sent before its handler is in ends it by the default action,
/// which a loaded machine's slow start made a test's fixed sleep too short for.
#[allow(dead_code)]
pub fn wait_until_catching(pid: u32, signal: i32) {
    let caught = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let mask = status.lines().find_map(|line| line.strip_prefix("SigCgt:")).unwrap_or("0");
        u64::from_str_radix(mask.trim(), 16).is_ok_and(|mask| mask & (1 << (signal - 1)) != 0)
    };
    let started = std::time::Instant::now();
    while !caught() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{pid} never caught signal {signal}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Waits (up to 20 s) until a thread of process `pid` is blocked reading its standard input
/// (`read(0, …)` in `/proc/PID/task/*/syscall`): past whatever it does before it reads.
#[allow(dead_code)]
pub fn wait_until_reading_stdin(pid: u32) {
    // x86-64's read is 0, aarch64's 63; the first argument is the descriptor.
    let read = if cfg!(target_arch = "aarch64") { "63" } else { "0" };
    let reads_stdin = |call: String| {
        let mut fields = call.split_whitespace();
        fields.next() == Some(read) && fields.next() == Some("0x0")
    };
    let reading = || {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        tasks
            .flatten()
            .any(|task| std::fs::read_to_string(task.path().join("syscall")).is_ok_and(reads_stdin))
    };
    let started = std::time::Instant::now();
    while !reading() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{pid} never read its stdin");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
