//! Measures the real binary as an operator meets it: `custodian --db F` in a 120×40
//! pseudo-terminal, timed from the outside. Start-up to the first frame with users, key →
//! frame latency of one-row moves and page moves, bytes sent per move, filter latency, keys
//! while a substring scan runs, and the child's peak memory (VmHWM).
//!
//! ```sh
//! cargo run --release --example measure -- --users 1000000
//! cargo run --release --example measure -- --users 1000
//! cargo run --release --example measure -- --users 1000000 --postgres
//! ```
//!
//! With `--postgres` the same screen runs on Logto's own PostgreSQL database (the private
//! cluster of `scripts/pg-test-env`, database `measure_<users>`, made once), through the
//! `default` tenant's own role; then the store's own figures (pages, prefix, count, scans,
//! key sync, durable saves with fsync turned on) are measured in process.
//!
//! The database is made once with the release binary's `init` and `seed` under
//! `target/measure-data/` and reused. A large frame of custodian is one synchronized update
//! (it ends with `ESC [ ? 2026 l`); a small one is one unmarked write: a key is answered
//! when the frame after it has ended and the output has then stayed quiet for a moment.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use custodian::domain::group_digits;
use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

#[path = "support/big_document.rs"]
mod big_document;

const ROWS: u16 = 40;
const COLS: u16 = 120;
const FRAME_END: &[u8] = b"\x1b[?2026l";
const FRAME_BEGIN: &[u8] = b"\x1b[?2026h";
/// Output that stays silent this long after a frame means the answer to a key is complete.
const QUIET: Duration = Duration::from_millis(25);
const KEY_TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    users: u64,
    moves: usize,
    starts: usize,
    binary: PathBuf,
    build: bool,
    postgres: bool,
    /// With `--postgres`: only the store's own figures, no screen.
    store_only: bool,
    /// `--editor`: only the editor on one user with a 1 MiB customData.
    editor: bool,
}

fn parse_options() -> Result<Options> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        users: 1_000_000,
        moves: 200,
        starts: 11,
        binary: root.join("target/release/custodian"),
        build: true,
        postgres: false,
        store_only: false,
        editor: false,
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
            "--postgres" => options.postgres = true,
            "--store-only" => options.store_only = true,
            "--editor" => options.editor = true,
            "-h" | "--help" => {
                println!(
                    "measure [--users N (1000000)] [--moves N (200)] [--starts N (11)] [--binary PATH] [--no-build] [--postgres [--store-only]] [--editor [--moves N]]"
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
    /// Inside a frame that began with a synchronized-update marker and has not ended.
    in_marked_frame: bool,
    _pair_master: Box<dyn portable_pty::MasterPty + Send>,
    _state_dir: tempfile::TempDir,
}

impl Session {
    fn spawn(binary: &Path, db: &std::ffi::OsStr) -> Result<(Self, Instant)> {
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
            in_marked_frame: false,
            _pair_master: pair.master,
            _state_dir: state_dir,
        };
        Ok((session, started))
    }

    /// Takes a chunk of output; whether it ended a frame. A large frame is wrapped in
    /// synchronized-update markers; a small one (a one-row move) comes unmarked, in one
    /// write: a chunk read outside a marked frame is taken as the end of one.
    fn take(&mut self, chunk: &[u8], at: Instant) -> bool {
        self.bytes += chunk.len() as u64;
        self.parser.process(chunk);
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(chunk);
        let last = |marker: &[u8]| joined.windows(marker.len()).rposition(|w| w == marker);
        self.in_marked_frame = match (last(FRAME_BEGIN), last(FRAME_END)) {
            (Some(begin), Some(end)) => begin > end,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.in_marked_frame,
        };
        let ended = !self.in_marked_frame;
        if ended {
            self.frames += 1;
            self.last_frame_at = Some(at);
        }
        let keep = joined.len().min(FRAME_END.len() - 1);
        self.tail = joined[joined.len() - keep..].to_vec();
        ended
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
    let row = |name: &str, value: String| println!("{name:<52} {value}");
    if options.editor {
        return editor_figures(&options, row);
    }
    let (db, size, mut postgres): (std::ffi::OsString, u64, Option<pg::Database>) = if options.postgres {
        let database = pg::database(&options.binary, options.users)?;
        println!(
            "custodian in a {COLS}x{ROWS} pty, {} users, PostgreSQL (tenant default, its own role)",
            group_digits(options.users)
        );
        if let Some(filled) = database.filled {
            row("insert … select … generate_series (this run)", format!("{:.1} s", filled.as_secs_f64()));
        }
        if let Some(initialised) = database.initialised {
            row("custodian init (schema + every key)", format!("{:.1} s", initialised.as_secs_f64()));
        }
        (database.tenant_url.clone().into(), database.size, Some(database))
    } else {
        let (db, seeded) = database(&options.binary, options.users)?;
        println!("custodian in a {COLS}x{ROWS} pty, {} users, {}", group_digits(options.users), db.display());
        if let Some(seeded) = seeded {
            row("seed --users N (this run made the database)", format!("{:.1} s", seeded.as_secs_f64()));
        }
        let size = std::fs::metadata(&db)?.len();
        (db.into_os_string(), size, None)
    };
    row(
        "database size",
        format!("{:.1} MiB, {} B per user", size as f64 / 1048576.0, size / options.users.max(1)),
    );

    if let Some(database) = postgres.as_mut().filter(|_| options.store_only) {
        return store_figures(database, row);
    }
    // Start-up: spawn to the end of the first frame that shows the count and user rows,
    // several times (one start is too noisy to compare); the last session goes on.
    // The count, exact or (PostgreSQL, above 10,000) estimated: `Users · ~1,000,000`.
    let title = "Users · ".to_owned();
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
    if let Some(database) = &mut postgres {
        // Each start synced the key table after its first frame (about 10 s of the server's
        // time at 1M, one after another): the moves below are measured after those ended.
        let started = Instant::now();
        let waited = pg::wait_until_idle(&mut database.superuser, Duration::from_secs(300))?;
        row(
            "waited for the starts' background key syncs",
            format!("{} (idle: {waited})", ms(started.elapsed())),
        );
        session.settle();
    }

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
    if let Some(database) = &mut postgres {
        store_figures(database, row)?;
    }
    Ok(())
}

/// `--editor`: a database of one user whose customData is the 1 MiB document of
/// `editor_latency` (made once under target/measure-data/), opened in the editor (`e` → the
/// frame with the editor's title) and typed in: `--moves` characters inside the last string
/// of the document, each → its first frame and → the frame after the check's answer.
fn editor_figures(options: &Options, row: impl Fn(&str, String)) -> Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/measure-data");
    let db = dir.join("editor-1mib.redb");
    if !db.exists() {
        std::fs::create_dir_all(&dir).context("create target/measure-data")?;
        let (building, records) = (dir.join("editor-1mib.redb.building"), dir.join("editor-1mib.jsonl"));
        let _ = std::fs::remove_file(&building);
        let user = serde_json::json!({
            "id": "big00000001", "username": "big", "customData": big_document::events_document(big_document::Script::Ascii)
        });
        std::fs::write(&records, format!("{user}\n"))?;
        for args in [vec!["init"], vec!["import", records.to_str().context("a UTF-8 path")?]] {
            let status = Command::new(&options.binary).arg("--db").arg(&building).args(&args).status()?;
            if !status.success() {
                bail!("custodian {args:?} failed: {status}");
            }
        }
        std::fs::rename(&building, &db)?;
        std::fs::remove_file(&records)?;
    }
    println!("custodian in a {COLS}x{ROWS} pty, one user with a 1 MiB customData, {}", db.display());
    let (mut session, spawned) = Session::spawn(&options.binary, db.as_os_str())?;
    if session.pump_until(spawned + Duration::from_secs(30), |s| s.selected_row().is_some()).is_none() {
        bail!("no user on screen within 30 s; the screen:\n{}", session.screen_text());
    }
    let editing = |s: &Session| s.screen_text().contains("Editing customData");
    let mut opens = Vec::new();
    for _ in 0..5 {
        session.settle();
        let sent = session.send(b"e")?;
        let Some(at) = session.pump_until(sent + KEY_TIMEOUT, editing) else {
            bail!("the editor did not open; the screen:\n{}", session.screen_text());
        };
        opens.push(at - sent);
        session.settle();
        session.send(b"\x1b")?;
        if session.pump_until(Instant::now() + KEY_TIMEOUT, |s| !editing(s)).is_none() {
            bail!("Esc did not leave the editor; the screen:\n{}", session.screen_text());
        }
    }
    row(
        "open the editor (e → frame), p50",
        format!("{} (max {}, n = 5)", ms(percentile(&opens, 0.5)), ms(percentile(&opens, 1.0))),
    );
    // Into the last string, `"plan": "pro"`: the end, a line up, before its closing quote.
    session.key(b"e")?;
    for keys in [&b"\x1b[1;5F"[..], b"\x1b[A", b"\x1b[F", b"\x1b[D"] {
        session.key(keys)?;
    }
    let (mut shown, mut checked, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.moves {
        session.settle();
        let (frames, written) = (session.frames, session.bytes);
        let sent = session.send(b"x")?;
        let Some(first) = session.pump_until(sent + KEY_TIMEOUT, |s| s.frames > frames) else {
            bail!("no frame after a typed character; the screen:\n{}", session.screen_text());
        };
        let Some(answered) = session.wait_for(sent + KEY_TIMEOUT, |s| !s.screen_text().contains("checking…"))
        else {
            bail!("the check did not answer; the screen:\n{}", session.screen_text());
        };
        session.settle();
        shown.push(first - sent);
        checked.push(answered.max(first) - sent);
        bytes.push(session.bytes - written);
    }
    // The line scrolls sideways once it is longer than the pane: its end is what shows.
    if !session.screen_text().contains(&format!("{}\"", "x".repeat(options.moves.min(20)))) {
        bail!("the typed text is not on screen; the screen:\n{}", session.screen_text());
    }
    for (name, samples) in
        [("typed character → its frame", &shown), ("typed character → the check's answer", &checked)]
    {
        row(
            name,
            format!(
                "p50 {} p99 {} max {} (n = {})",
                ms(percentile(samples, 0.5)),
                ms(percentile(samples, 0.99)),
                ms(percentile(samples, 1.0)),
                samples.len()
            ),
        );
    }
    row("typed character: bytes to the terminal, median", format!("{} B", median_u64(&bytes)));
    row("peak RSS (VmHWM)", format!("{} KiB", session.peak_rss_kib().unwrap_or(0)));
    Ok(())
}

/// The PostgreSQL store's own figures, in process, through the tenant's role.
fn store_figures(database: &mut pg::Database, row: impl Fn(&str, String)) -> Result<()> {
    use custodian::domain::CustomData;
    use custodian::store::{Author, PostgresOptions, PostgresStore, Seek, UserStore};
    let options = |use_key_table| PostgresOptions { use_key_table, ..PostgresOptions::default() };
    let keyed = PostgresStore::connect(&database.tenant_url, &options(true))?;
    let exact = PostgresStore::connect(&database.tenant_url, &options(false))?;
    if !keyed.uses_key_table() {
        bail!("the key table is not used: was init run?");
    }
    let timed = |runs: usize, f: &mut dyn FnMut() -> Result<()>| -> Result<Duration> {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            f()?;
            samples.push(started.elapsed());
        }
        Ok(percentile(&samples, 0.5))
    };
    let middle = {
        let mut key = None;
        // A key about halfway: the first user whose handle starts with "m".
        for entry in keyed.prefix_matches("m", 1)? {
            key = Some(entry.key);
        }
        key.context("a user starting with m")?
    };
    for (label, store) in [("key table", &keyed), ("exact", &exact)] {
        let runs = if label == "exact" { 5 } else { 51 };
        let page = timed(runs, &mut || {
            store.rows(&Seek::From(middle.clone()), 50)?;
            Ok(())
        })?;
        row(&format!("store: 50 rows from a middle key ({label}), median"), ms(page));
        let prefix = timed(runs, &mut || {
            store.prefix_matches("amelia.k", 200)?;
            Ok(())
        })?;
        row(&format!("store: prefix_matches amelia.k ({label}), median"), ms(prefix));
        let step = timed(runs.min(5), &mut || {
            store.scan_matches("zzzzqqq", Some(&middle), 5000, 2001)?;
            Ok(())
        })?;
        row(&format!("store: one scan step of 5,000 ({label}), median"), ms(step));
    }
    let count = timed(11, &mut || {
        keyed.count()?;
        Ok(())
    })?;
    row("store: count() (asked at start and on r), median", ms(count));
    let started = Instant::now();
    let found = keyed.search("zzzzqqq", None, 10)?;
    row(
        "store: full scan zzzzqqq, key table (steps of 5,000)",
        format!("{} ({} found)", ms(started.elapsed()), found.len()),
    );
    let started = Instant::now();
    let found = exact.search("zzzzqqq", None, 10)?;
    row(
        "store: full scan zzzzqqq, exact path (one portal)",
        format!("{} ({} found)", ms(started.elapsed()), found.len()),
    );
    let sync = timed(3, &mut || {
        keyed.sync_keys()?;
        Ok(())
    })?;
    row("store: key sync with nothing to change, median", ms(sync));
    database.superuser.batch_execute(
        "update users set username = username || 'x' where id in (select id from users where tenant_id = 'default' order by id limit 100)",
    )?;
    let started = Instant::now();
    let changed = keyed.sync_keys()?;
    row("store: key sync after 100 renames", format!("{} (changed: {changed})", ms(started.elapsed())));
    // Durable saves: fsync on for these only (the test cluster runs without it).
    pg::durable(&mut database.superuser, true)?;
    std::thread::sleep(Duration::from_millis(200));
    let id =
        keyed.rows(&Seek::From(middle.clone()), 1)?.first().map(|e| e.user.id.clone()).context("a user")?;
    let documents = [
        CustomData::parse(
            r#"{"plan":{"tier":"pro","seats":5},"note":"measured save one","flags":["a","b"]}"#,
        )?,
        CustomData::parse(r#"{"plan":{"tier":"team","seats":6},"note":"measured save two","flags":["c"]}"#)?,
    ];
    let author = Author("measure".into());
    let mut turn = 0usize;
    let save = timed(101, &mut || {
        turn += 1;
        keyed.replace_custom_data(&id, &documents[turn % 2], None, &author)?;
        Ok(())
    });
    pg::durable(&mut database.superuser, false)?;
    row("store: durable save (fsync on), median of 101", ms(save?));
    Ok(())
}

/// The PostgreSQL side of the measurement (`--postgres`): Logto's own schema in the private
/// cluster of `scripts/pg-test-env`, one tenant filled with synthetic users by one
/// `insert … select … from generate_series` (every column as Logto stores it, a password
/// hash and a TOTP secret included), `custodian init` (which syncs the key table), and the
/// screen opened through the tenant's own role, so row-level security is on.
mod pg {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result, bail};
    use postgres::{Client, NoTls};

    /// Synthetic users shaped as `custodian seed` makes them (the same first and last names,
    /// username and email forms, display names with accents, ~300 B of customData), so the
    /// filter's queries (`amelia.k`, `kovacs`) find what they find on redb.
    const FILL: &str = "insert into users (tenant_id, id, username, primary_email, primary_phone,
            password_encrypted, password_encryption_method, name, avatar, profile, identities,
            custom_data, logto_config, mfa_verifications, is_suspended, last_sign_in_at,
            password_updated_at, created_at, updated_at)
        select 'default', substr(md5(i::text), 1, 7) || lpad(to_hex(i), 5, '0'),
            case h % 3 when 0 then f || '.' || l || i when 1 then f || '_' || l || i else left(f, 1) || l || i end,
            f || '.' || l || '.' || i || '@' || (array['example.com','example.org','example.net','mail.example','corp.example'])[1 + h % 5],
            null,
            '$argon2i$v=19$m=4096,t=10,p=1$c2VjcmV0LXNhbHQ$SECRETpasswordHASHnever0shown0anywhere00', 'Argon2i',
            initcap(f) || ' ' || coalesce((array['Müller','Kovács','Nowak','Álvarez','O''Connor','Lindqvist','Dubois'])
                [array_position(array['muller','kovacs','nowak','alvarez','oconnor','lindqvist','dubois'], l)], initcap(l)),
            null, '{}', '{}',
            jsonb_build_object(
                'adminConsolePreferences', jsonb_build_object('language', (array['en','de','fr','ja','es','pt-BR','zh-CN','pl'])[1 + h % 8],
                    'appearanceMode', (array['system','light','dark'])[1 + h % 3], 'experienceNoticeConfirmed', h % 2 = 0),
                'plan', jsonb_build_object('tier', (array['free','pro','team','enterprise'])[1 + h % 4], 'seats', 1 + h % 49, 'renewsOn', '2027-01-01'),
                'notifications', jsonb_build_object('email', h % 5 = 0, 'push', h % 7 = 0, 'digest', 'weekly'),
                'onboarding', jsonb_build_object('completed', h % 11 = 0, 'step', 1 + h % 5),
                'featureFlags', jsonb_build_array('new-editor', 'beta-search')),
            '{\"private\": \"logto-config-private-value\"}',
            jsonb_build_array(jsonb_build_object('id', 'totp' || i, 'type', 'Totp', 'key', 'JBSWY3DPEHPK3PXPSECRETTOTP',
                'createdAt', '2024-01-01T00:00:00.000Z')),
            h % 50 = 0, now() - (h % 1000) * interval '1 day', now(), now() - (h % 2000) * interval '1 day', now()
        from generate_series(1, $1::int) i,
            lateral (select (hashint4(i)::int8 & 2147483647) as h) hashed,
            lateral (select (array['amelia','noah','olivia','liam','emma','mateo','sofia','lucas','mia','elias','zoe',
                'jonas','lea','hugo','chloe','arjun','priya','kenji','yuki','wei','mei','omar','layla','ivan','olga',
                'lukasz','agnieszka','soren','freya','diego','lucia','tariq','amara','kwame','nia','finn','saoirse',
                'henrik','ingrid','marco'])[1 + h % 40] as f,
                (array['kovacs','smith','garcia','muller','rossi','nguyen','tanaka','kim','novak','silva','dubois',
                'jensen','nowak','ivanova','haddad','okafor','mensah','patel','sharma','chen','wang','yamada','larsen',
                'berg','costa','moreau','fischer','weber','horvat','popescu','oconnor','murphy','andersen','lindqvist',
                'alvarez'])[1 + (hashint4(i + 1000000007)::int8 & 2147483647) % 35] as l) names";

    pub struct Database {
        /// The tenant's own role, password in the URL (what the screen is given).
        pub tenant_url: String,
        pub superuser: Client,
        pub filled: Option<Duration>,
        pub initialised: Option<Duration>,
        pub size: u64,
    }

    fn env_facts(repo: &Path) -> Result<HashMap<String, String>> {
        let output = Command::new("bash")
            .arg(repo.join("scripts/pg-test-env"))
            .arg("start")
            .output()
            .context("run scripts/pg-test-env start")?;
        if !output.status.success() {
            bail!("scripts/pg-test-env start failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        let file = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let text = std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
        Ok(text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// The database `measure_<users>` (made once from the seeded Logto template and kept).
    pub fn database(binary: &Path, users: u64) -> Result<Database> {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let facts = env_facts(&repo)?;
        let port = facts.get("PGTEST_PORT").context("PGTEST_PORT")?;
        let template = facts.get("PGTEST_TEMPLATE").context("PGTEST_TEMPLATE")?;
        let name = format!("measure_{users}");
        let connect = |db: &str| {
            Client::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname={db}"), NoTls)
                .with_context(|| format!("connect to {db}"))
        };
        let mut admin = connect("postgres")?;
        let exists = admin.query_opt("select 1 from pg_database where datname = $1", &[&name])?.is_some();
        let (mut filled, mut initialised) = (None, None);
        if !exists {
            eprintln!("making database {name} ({users} users, once) …");
            admin.batch_execute(&format!("create database {name}_building template {template}"))?;
            let mut client = connect(&format!("{name}_building"))?;
            let started = Instant::now();
            client.execute(FILL, &[&(users as i32)]).context("fill users")?;
            client.batch_execute("vacuum analyze users")?;
            filled = Some(started.elapsed());
            drop(client);
            admin.batch_execute(&format!("alter database {name}_building rename to {name}"))?;
        }
        let mut superuser = connect(&name)?;
        let has_keys: bool =
            superuser.query_one("select to_regclass('custodian.user_keys') is not null", &[])?.get(0);
        if !has_keys {
            let started = Instant::now();
            let url = format!("postgres://postgres@127.0.0.1:{port}/{name}?sslmode=disable");
            let status = Command::new(binary).arg("--db").arg(&url).arg("init").status()?;
            if !status.success() {
                bail!("custodian init failed: {status}");
            }
            initialised = Some(started.elapsed());
            superuser.batch_execute("vacuum analyze custodian.user_keys")?;
        }
        let row =
            superuser.query_one("select db_user, db_user_password from tenants where id = 'default'", &[])?;
        let (role, password): (String, String) = (row.get(0), row.get(1));
        let tenant_url = format!("postgres://{role}:{password}@127.0.0.1:{port}/{name}?sslmode=disable");
        let size: i64 = superuser.query_one("select pg_database_size(current_database())", &[])?.get(0);
        Ok(Database { tenant_url, superuser, filled, initialised, size: size.max(0) as u64 })
    }

    /// Waits until no other session works in this database; whether it came to that.
    pub fn wait_until_idle(client: &mut Client, limit: Duration) -> Result<bool> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let busy: i64 = client
                .query_one(
                    "select count(*) from pg_stat_activity where datname = current_database() \
                     and state = 'active' and pid <> pg_backend_pid()",
                    &[],
                )?
                .get(0);
            if busy == 0 {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(false)
    }

    /// The test cluster runs without fsync (it is thrown away); a durable save is measured
    /// with what a production server does: fsync, synchronous commit, full page writes.
    pub fn durable(client: &mut Client, on: bool) -> Result<()> {
        // One statement at a time: ALTER SYSTEM refuses to run inside a transaction block.
        for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
            let sql = if on {
                format!("alter system set {setting} = on")
            } else {
                format!("alter system reset {setting}")
            };
            client.batch_execute(&sql)?;
        }
        client.batch_execute("select pg_reload_conf()")?;
        Ok(())
    }
}
