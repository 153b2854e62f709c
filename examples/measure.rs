//! Measures the real binary as an operator meets it: `custodian --db F` in a 120×40
//! pseudo-terminal, timed from the outside. Start-up to the first frame with users, key →
//! frame latency of one-row moves and page moves, bytes sent per move, filter latency, keys
//! while a substring scan runs, and the child's peak memory (VmHWM).
//!
//! ```sh
//! cargo run --release --example measure -- --users 1000000
//! cargo run --release --example measure -- --users 1000
//! ```
//!
//! The database is made once with the release binary's `init` and `seed` under
//! `target/measure-data/` and reused. Each frame of custodian ends with `ESC [ ? 2026 l`
//! (end of a synchronized update): a key is answered when the frame after it has ended
//! and the output has then stayed quiet for a moment.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 40;
const COLS: u16 = 120;
const FRAME_END: &[u8] = b"\x1b[?2026l";
/// Output that stays silent this long after a frame means the answer to a key is complete.
const QUIET: Duration = Duration::from_millis(25);
const KEY_TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    users: u64,
    moves: usize,
    starts: usize,
    binary: PathBuf,
    build: bool,
}

fn parse_options() -> Result<Options> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        users: 1_000_000,
        moves: 200,
        starts: 11,
        binary: root.join("target/release/custodian"),
        build: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--users" => options.users = value()?.replace(['_', ','], "").parse().context("--users")?,
            "--moves" => options.moves = value()?.parse().context("--moves")?,
            "--starts" => options.starts = value()?.parse::<usize>().context("--starts")?.max(1),
            "--binary" => options.binary = PathBuf::from(value()?),
            "--no-build" => options.build = false,
            "-h" | "--help" => {
                println!(
                    "measure [--users N (1000000)] [--moves N (200)] [--starts N (11)] [--binary PATH] [--no-build]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(options)
}

/// The database with `users` synthetic users, made by the binary itself when missing.
fn database(binary: &Path, users: u64) -> Result<(PathBuf, Option<Duration>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/measure-data");
    let path = dir.join(format!("users-{users}.redb"));
    if path.exists() {
        return Ok((path, None));
    }
    std::fs::create_dir_all(&dir).context("create target/measure-data")?;
    let building = dir.join(format!("users-{users}.redb.building"));
    let _ = std::fs::remove_file(&building);
    let run = |args: &[&str]| -> Result<()> {
        let status = Command::new(binary).arg("--db").arg(&building).args(args).status()?;
        if !status.success() {
            bail!("custodian {args:?} failed: {status}");
        }
        Ok(())
    };
    eprintln!("making {} ({users} users, once) …", path.display());
    run(&["init"])?;
    let started = Instant::now();
    run(&["seed", "--users", &users.to_string()])?;
    let seeded = started.elapsed();
    std::fs::rename(&building, &path)?;
    Ok((path, Some(seeded)))
}

/// The child in its terminal, and what it has written so far.
struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    /// Output as it came, stamped by the reading thread (the main thread may be descheduled
    /// on a small machine; its own clock would make answers look later).
    output: mpsc::Receiver<(Instant, Vec<u8>)>,
    parser: vt100::Parser,
    /// The last bytes seen, to find a frame end split across reads.
    tail: Vec<u8>,
    frames: u64,
    bytes: u64,
    last_frame_at: Option<Instant>,
    _pair_master: Box<dyn portable_pty::MasterPty + Send>,
    _state_dir: tempfile::TempDir,
}

impl Session {
    fn spawn(binary: &Path, db: &Path) -> Result<(Self, Instant)> {
        let pair = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| anyhow!("openpty: {e}"))?;
        let state_dir = tempfile::tempdir()?;
        let mut command = CommandBuilder::new(binary);
        command.arg("--db");
        command.arg(db);
        command.env("TERM", "xterm-256color");
        // Drafts of earlier sessions must not greet us with a dialog.
        command.env("XDG_STATE_HOME", state_dir.path());
        command.env("HOME", state_dir.path());
        command.env_remove("NO_COLOR");
        let mut reader = pair.master.try_clone_reader().map_err(|e| anyhow!("pty reader: {e}"))?;
        let writer = pair.master.take_writer().map_err(|e| anyhow!("pty writer: {e}"))?;
        let (sender, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 1 << 16];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 || sender.send((Instant::now(), buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        let child =
            pair.slave.spawn_command(command).map_err(|e| anyhow!("spawn {}: {e}", binary.display()))?;
        drop(pair.slave);
        let session = Self {
            child,
            writer,
            output,
            parser: vt100::Parser::new(ROWS.try_into()?, COLS.try_into()?, 0),
            tail: Vec::new(),
            frames: 0,
            bytes: 0,
            last_frame_at: None,
            _pair_master: pair.master,
            _state_dir: state_dir,
        };
        Ok((session, started))
    }

    /// Takes a chunk of output; whether it ended a frame.
    fn take(&mut self, chunk: &[u8], at: Instant) -> bool {
        self.bytes += chunk.len() as u64;
        self.parser.process(chunk);
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(chunk);
        let ends = joined.windows(FRAME_END.len()).filter(|w| *w == FRAME_END).count() as u64;
        if ends > 0 {
            self.frames += ends;
            self.last_frame_at = Some(at);
        }
        let keep = joined.len().min(FRAME_END.len() - 1);
        self.tail = joined[joined.len() - keep..].to_vec();
        ends > 0
    }

    /// Reads output until `deadline`; at the end of each frame asks `done`, and returns when
    /// the frame that made it true ended.
    fn pump_until(&mut self, deadline: Instant, mut done: impl FnMut(&Self) -> bool) -> Option<Instant> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            match self.output.recv_timeout(deadline - now) {
                Ok((at, chunk)) => {
                    if self.take(&chunk, at) && done(self) {
                        return Some(at);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// As [`Session::pump_until`], but true at once when `done` already holds.
    fn wait_for(&mut self, deadline: Instant, done: impl Fn(&Self) -> bool) -> Option<Instant> {
        if done(self) { self.last_frame_at.or(Some(Instant::now())) } else { self.pump_until(deadline, done) }
    }

    /// Takes the output that has already come, without waiting.
    fn drain(&mut self) {
        while let Ok((at, chunk)) = self.output.try_recv() {
            self.take(&chunk, at);
        }
    }

    /// Reads output until none has come for [`QUIET`].
    fn settle(&mut self) {
        let limit = Instant::now() + KEY_TIMEOUT;
        while Instant::now() < limit {
            match self.output.recv_timeout(QUIET) {
                Ok((at, chunk)) => {
                    self.take(&chunk, at);
                }
                Err(_) => return,
            }
        }
    }

    /// Sends keys; the time is taken before the write, as the child may answer before the
    /// write call returns.
    fn send(&mut self, keys: &[u8]) -> Result<Instant> {
        let sent = Instant::now();
        self.writer.write_all(keys)?;
        self.writer.flush()?;
        Ok(sent)
    }

    /// Sends a key, waits for its frame and for quiet: (key → last frame end, bytes written).
    fn key(&mut self, keys: &[u8]) -> Result<(Duration, u64)> {
        self.settle();
        let (frames, bytes) = (self.frames, self.bytes);
        let sent = self.send(keys)?;
        if self.pump_until(sent + KEY_TIMEOUT, |s| s.frames > frames).is_none() {
            bail!("no frame within {KEY_TIMEOUT:?} after key {keys:?}");
        }
        self.settle();
        // The answer may take more than one frame: the last one before quiet counts.
        let at = self.last_frame_at.unwrap_or(sent);
        Ok((at.saturating_duration_since(sent), self.bytes - bytes))
    }

    fn screen_text(&self) -> String {
        self.parser.screen().contents()
    }

    /// The title line of the list (the first screen row).
    fn title(&self) -> String {
        self.parser.screen().rows(0, COLS).next().unwrap_or_default()
    }

    /// The text of the selected (reverse video) row of the list, if any.
    fn selected_row(&self) -> Option<String> {
        let screen = self.parser.screen();
        (1..ROWS - 3).find_map(|row| {
            let inverse = screen.cell(row, 2).is_some_and(|c| c.inverse());
            inverse.then(|| screen.rows(0, 44).nth(row as usize).unwrap_or_default())
        })
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.process_id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number in "N found" or "first N" of a filtering title.
fn found(title: &str) -> u64 {
    let words: Vec<&str> = title.split_whitespace().collect();
    let number = |w: &str| w.replace(',', "").parse::<u64>().ok();
    words
        .windows(2)
        .find_map(|w| match (w[0], w[1]) {
            (n, "found") => number(n),
            ("first", n) => number(n),
            _ => None,
        })
        .unwrap_or(0)
}

fn scanning(title: &str) -> bool {
    title.contains('%')
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median_u64(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn group_digits(n: u64) -> String {
    let text = n.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() -> Result<()> {
    let options = parse_options()?;
    if options.build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--bin", "custodian"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .context("cargo build --release")?;
        if !status.success() {
            bail!("cargo build --release failed");
        }
    }
    let (db, seeded) = database(&options.binary, options.users)?;
    let size = std::fs::metadata(&db)?.len();
    let row = |name: &str, value: String| println!("{name:<52} {value}");
    println!("custodian in a {COLS}x{ROWS} pty, {} users, {}", group_digits(options.users), db.display());
    if let Some(seeded) = seeded {
        row("seed --users N (this run made the database)", format!("{:.1} s", seeded.as_secs_f64()));
    }
    row(
        "database size",
        format!("{:.1} MiB, {} B per user", size as f64 / 1048576.0, size / options.users.max(1)),
    );

    // Start-up: spawn to the end of the first frame that shows the count and user rows,
    // several times (one start is too noisy to compare); the last session goes on.
    let title = format!("Users · {}", group_digits(options.users));
    let mut starts = Vec::new();
    let mut session = loop {
        let (mut session, spawned) = Session::spawn(&options.binary, &db)?;
        let shown = session.pump_until(spawned + Duration::from_secs(30), |s| {
            s.screen_text().contains(&title) && s.selected_row().is_some()
        });
        let Some(shown) = shown else {
            bail!(
                "no frame with {title:?} and a selected row within 30 s; the screen:\n{}",
                session.screen_text()
            );
        };
        starts.push(shown - spawned);
        if starts.len() >= options.starts {
            break session;
        }
    };
    row(
        "start → first frame with users, median",
        format!(
            "{} (first {}, fastest {}, slowest {}, n = {})",
            ms(percentile(&starts, 0.5)),
            ms(starts[0]),
            ms(percentile(&starts, 0.0)),
            ms(percentile(&starts, 1.0)),
            starts.len()
        ),
    );
    session.settle();

    // One-row moves.
    let mut latencies = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..options.moves {
        let (latency, written) = session.key(b"j")?;
        latencies.push(latency);
        bytes.push(written);
    }
    row("one-row move (j): key → frame p50", ms(percentile(&latencies, 0.5)));
    row("one-row move (j): key → frame p99", ms(percentile(&latencies, 0.99)));
    row("one-row move (j): bytes to the terminal, median", format!("{} B", median_u64(&bytes)));
    row(
        "one-row move (j): bytes to the terminal, mean",
        format!("{} B (scrolls included)", bytes.iter().sum::<u64>() / bytes.len().max(1) as u64),
    );

    // Page moves: down and up in swings of 10, so a small database does not run out.
    let (mut down, mut down_bytes) = (Vec::new(), Vec::new());
    for i in 0..options.moves {
        let key: &[u8] = if (i / 10).is_multiple_of(2) { b"\x1b[6~" } else { b"\x1b[5~" };
        let (latency, written) = session.key(key)?;
        if key == b"\x1b[6~" {
            down.push(latency);
            down_bytes.push(written);
        }
    }
    row("page down: key → frame p50", ms(percentile(&down, 0.5)));
    row("page down: key → frame p99", ms(percentile(&down, 0.99)));
    row("page down: bytes to the terminal, median", format!("{} B", median_u64(&down_bytes)));
    row("peak RSS (VmHWM) after browsing", format!("{} KiB", session.peak_rss_kib().unwrap_or(0)));

    // Prefix filter: each keystroke → the first frame whose title counts matches.
    session.key(b"/")?;
    let mut per_key = Vec::new();
    let mut last_shown = Duration::ZERO;
    let mut typed = String::from("/");
    for c in "amelia.k".bytes() {
        session.settle();
        typed.push(c as char);
        let sent = session.send(&[c])?;
        let ok = session.pump_until(sent + KEY_TIMEOUT, |s| {
            let title = s.title();
            // Rows, or (a small database) the finished search found none.
            title.contains(&typed) && (found(&title) > 0 && s.selected_row().is_some() || !scanning(&title))
        });
        let Some(at) = ok else {
            bail!("filter: no rows after {:?}; the screen:\n{}", c as char, session.screen_text());
        };
        let shown = at - sent;
        per_key.push(shown);
        last_shown = shown;
    }
    row(
        "filter /amelia.k: last key → frame with rows",
        format!("{} ({} found)", ms(last_shown), group_digits(found(&session.title()))),
    );
    row("filter /amelia.k: slowest keystroke → rows", ms(per_key.iter().copied().max().unwrap_or_default()));
    row(
        "filter /amelia.k: each keystroke → rows",
        per_key.iter().map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(" "),
    );
    // Let the scan finish, then clear the filter.
    session.wait_for(Instant::now() + Duration::from_secs(60), |s| !scanning(&s.title()));
    session.key(b"\x1b")?;

    // A full scan that finds nothing, to its end.
    session.key(b"/")?;
    let sent = session.send(b"zzzzqqq")?;
    session.pump_until(sent + Duration::from_millis(500), |s| scanning(&s.title()));
    let ended = session.wait_for(sent + Duration::from_secs(300), |s| {
        s.title().contains("zzzzqqq") && !scanning(&s.title())
    });
    row(
        "full scan /zzzzqqq (no match): last key → done",
        ended.map_or_else(|| "did not finish in 300 s".into(), |at| ms(at - sent)),
    );
    session.settle();
    session.key(b"\x1b")?;
    row(
        "peak RSS (VmHWM) after a full scan (no match)",
        format!("{} KiB", session.peak_rss_kib().unwrap_or(0)),
    );
    // Substring filter: "kovacs" is in no index prefix (names start with the first name), so
    // only the scan finds it: time to 50 matches; then moves while the scan goes on.
    session.key(b"/")?;
    session.send(b"kovac")?;
    session.settle();
    let sent = session.send(b"s")?;
    let ok = session.pump_until(sent + KEY_TIMEOUT, |s| {
        let title = s.title();
        title.contains("kovacs") && (found(&title) >= 50 || !scanning(&title) && title.contains("found"))
    });
    let Some(at) = ok else {
        bail!("substring: no answer; the screen:\n{}", session.screen_text());
    };
    let fifty = at - sent;
    row(
        "substring /kovacs: last key → frame with ≥ 50 found",
        format!("{} ({} found then)", ms(fifty), group_digits(found(&session.title()))),
    );
    session.wait_for(Instant::now() + Duration::from_secs(120), |s| !scanning(&s.title()));
    session.settle();
    row(
        "peak RSS (VmHWM) after /kovacs (matches held, ≤ 2,000)",
        format!("{} KiB", session.peak_rss_kib().unwrap_or(0)),
    );
    session.key(b"\x1b")?;

    // Keys while a scan runs: /kovacs12 has a few hundred matches at 1M spread over the whole
    // scan, so the scan runs to its end (about a second) while `j` moves through the rows.
    session.key(b"/")?;
    session.send(b"kovacs12")?;
    session.pump_until(Instant::now() + KEY_TIMEOUT, |s| found(&s.title()) >= 20 || !scanning(&s.title()));
    // Enter keeps the filter; then `j` while the scan runs, each until its selection moves.
    let enter = session.send(b"\r")?;
    session.pump_until(enter + KEY_TIMEOUT, |s| s.frames > 0 && !s.title().contains('▏'));
    let mut during = Vec::new();
    let scan_deadline = Instant::now() + Duration::from_secs(60);
    while scanning(&session.title()) && Instant::now() < scan_deadline && during.len() < options.moves {
        session.drain();
        let before = session.selected_row();
        let sent = session.send(b"j")?;
        let Some(at) = session.pump_until(sent + KEY_TIMEOUT, |s| s.selected_row() != before) else {
            break;
        };
        during.push(at - sent);
        std::thread::sleep(Duration::from_millis(5));
    }
    if during.is_empty() {
        row("keys while scanning: key → frame p99", "scan ended before a key (n = 0)".into());
    } else {
        row(
            "keys while scanning: key → frame p99",
            format!(
                "{} (p50 {}, n = {})",
                ms(percentile(&during, 0.99)),
                ms(percentile(&during, 0.5)),
                during.len()
            ),
        );
    }
    session.wait_for(Instant::now() + Duration::from_secs(120), |s| !scanning(&s.title()));
    session.key(b"\x1b")?;

    let _ = session.send(b"q");
    drop(session);
    Ok(())
}
