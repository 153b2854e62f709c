//! Measures the whole-database commands as an operator runs them, and fails when a promise of
//! the README's "Import and export of a whole database" is broken:
//! - `seed` (wall, CPU, peak RSS);
//! - `import` of the seeded users' export (JSON Lines) into an empty database: wall, CPU,
//!   peak RSS (≤ 64 MiB, asserted), file size per user;
//! - `export` of it: wall, CPU, peak RSS (≤ 64 MiB, asserted), byte-identical to the file
//!   imported (asserted);
//! - the same users as one JSON array on standard input (streamed element by element: peak
//!   RSS ≤ 64 MiB asserted, the same users imported);
//! - `import --upsert` of every user with two keys removed and a secret added (the warnings
//!   keep the first users' details and count the rest: peak RSS ≤ 64 MiB asserted);
//! - all or nothing at scale: up to 200,000 of the users with the last record broken, into an
//!   empty database: refused (exit 4), and the database is left exactly as it was (asserted).
//!
//! ```sh
//! cargo build --release && cargo run --release --example bulk -- --users 1000
//! cargo run --release --example bulk -- --users 1000000   # a few minutes; do not loop it
//! ```
//!
//! The export is made once under `target/bulk-data/N/` and reused (`--seed` measures seed
//! again); the databases are deleted at the end, so at most one exists at a time.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const MIB: i64 = 1024;

/// What writes a child's standard input.
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

struct Measured {
    wall: Duration,
    cpu_user: Duration,
    cpu_system: Duration,
    peak_rss_kib: i64,
    code: i32,
}

impl Measured {
    fn figures(&self) -> String {
        format!(
            "{:.2} s wall, {:.2} s user + {:.2} s sys, peak RSS {} MiB",
            self.wall.as_secs_f64(),
            self.cpu_user.as_secs_f64(),
            self.cpu_system.as_secs_f64(),
            self.peak_rss_kib / MIB
        )
    }
}

fn duration(time: libc::timeval) -> Duration {
    Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
}

/// Runs the release binary with `args` (stdin fed by `feed`, if any) and returns its wall
/// time, CPU time and peak RSS (from wait4).
fn run_with(binary: &Path, args: &[&str], feed: Option<Feed>) -> Result<Measured> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .arg("--quiet")
        .stdin(if feed.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("run {}", binary.display()))?;
    let writer = match (feed, child.stdin.take()) {
        (Some(feed), Some(mut stdin)) => Some(std::thread::spawn(move || feed(&mut stdin))),
        _ => None,
    };
    let stderr = child.stderr.take().context("stderr")?;
    let errors = std::thread::spawn(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n")
    });
    let pid = i32::try_from(child.id()).context("pid")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, and status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let errors = errors.join().unwrap_or_default();
    if waited != pid || !libc::WIFEXITED(status) {
        bail!("custodian {} did not exit (status {status}): {errors}", args.join(" "));
    }
    let code = libc::WEXITSTATUS(status);
    if code != 0 && !errors.is_empty() {
        println!("  (custodian {}: exit {code}: {errors})", args.join(" "));
    }
    Ok(Measured {
        wall,
        cpu_user: duration(usage.ru_utime),
        cpu_system: duration(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss,
        code,
    })
}

fn run(binary: &Path, args: &[&str]) -> Result<Measured> {
    let measured = run_with(binary, args, None)?;
    if measured.code != 0 {
        bail!("custodian {} failed (exit {})", args.join(" "), measured.code);
    }
    Ok(measured)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Writes the JSON Lines file's users to `into` as one JSON array, an element per line.
fn as_array(lines: PathBuf) -> Feed {
    Box::new(move |into: &mut dyn Write| {
        let Ok(file) = std::fs::File::open(&lines) else { return };
        let mut into = std::io::BufWriter::with_capacity(1 << 20, into);
        let _ = into.write_all(b"[\n");
        for (n, line) in BufReader::new(file).lines().map_while(Result::ok).enumerate() {
            let _ = into.write_all(if n == 0 { b"  " } else { b",\n  " });
            if into.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
        let _ = into.write_all(b"\n]\n");
    })
}

/// The first `count` users of the file as JSON Lines, the last of them broken (customData an
/// array), written to `into`.
fn with_a_bad_last_record(lines: PathBuf, count: usize) -> Feed {
    Box::new(move |into: &mut dyn Write| {
        let Ok(file) = std::fs::File::open(&lines) else { return };
        let mut into = std::io::BufWriter::with_capacity(1 << 20, into);
        for line in BufReader::new(file).lines().map_while(Result::ok).take(count - 1) {
            if into.write_all(line.as_bytes()).and_then(|()| into.write_all(b"\n")).is_err() {
                return;
            }
        }
        let _ = into.write_all(b"{\"id\":\"badlast\",\"customData\":[1]}\n");
    })
}

/// Each user of the file as `{"id", "customData"}` with the document's first two keys left out
/// and a Stripe-like secret key added, as JSON Lines written to `into`.
fn losing_keys(lines: PathBuf) -> Feed {
    Box::new(move |into: &mut dyn Write| {
        let Ok(file) = std::fs::File::open(&lines) else { return };
        let mut into = std::io::BufWriter::with_capacity(1 << 20, into);
        for (n, line) in BufReader::new(file).lines().map_while(Result::ok).enumerate() {
            let Ok(serde_json::Value::Object(mut user)) = serde_json::from_str(&line) else { return };
            let mut data = match user.remove("customData") {
                Some(serde_json::Value::Object(data)) => data,
                _ => serde_json::Map::new(),
            };
            let dropped: Vec<String> = data.keys().take(2).cloned().collect();
            for key in dropped {
                data.remove(&key);
            }
            data.insert("stripeKey".into(), format!("sk_live_{n:0>12}x9Qa7Lm2Pz4K").into());
            let record = serde_json::json!({ "id": user.get("id"), "customData": data });
            if serde_json::to_writer(&mut into, &record).is_err() || into.write_all(b"\n").is_err() {
                return;
            }
        }
    })
}

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut users: u64 = 1000;
    let mut measure_seed = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                users = args.next().context("--users needs a value")?.replace(['_', ','], "").parse()?;
            }
            "--seed" => measure_seed = true,
            other => bail!("unknown argument {other}; usage: bulk [--users N] [--seed]"),
        }
    }
    let binary = root.join("target/release/custodian");
    if !binary.exists() {
        bail!("build it first: cargo build --release");
    }
    let data = root.join(format!("target/bulk-data/{users}"));
    std::fs::create_dir_all(&data)?;
    let seeded = data.join("seeded.redb");
    let exported = data.join("users.jsonl");
    let imported = data.join("imported.redb");
    let path = |p: &Path| p.to_str().map(str::to_owned).context("a UTF-8 path");
    let fresh = |db: &Path| -> Result<()> {
        let _ = std::fs::remove_file(db);
        run(&binary, &["--db", &path(db)?, "init"]).map(|_| ())
    };
    let mut failures = Vec::new();
    println!("load average before: {}", load_average());

    if measure_seed || !exported.exists() {
        let _ = std::fs::remove_file(&imported);
        fresh(&seeded)?;
        let seed = run(&binary, &["--db", &path(&seeded)?, "seed", "--users", &users.to_string()])?;
        let per_user = std::fs::metadata(&seeded)?.len() / users.max(1);
        println!("seed {users}: {}, file {per_user} B/user (target at 1M: ≤ 10 s)", seed.figures());
        if !exported.exists() {
            run(&binary, &["--db", &path(&seeded)?, "export", "--out", &path(&exported)?])?;
        }
        std::fs::remove_file(&seeded)?;
    }
    let size = std::fs::metadata(&exported)?.len();

    fresh(&imported)?;
    let import = run(&binary, &["--db", &path(&imported)?, "import", &path(&exported)?])?;
    let per_user = std::fs::metadata(&imported)?.len() / users.max(1);
    println!(
        "import {users} ({} MB JSON Lines): {}, file {per_user} B/user (targets at 1M: ≤ 10 s, ≤ 64 MiB, ≤ 800 B/user); load {}",
        size / 1_000_000,
        import.figures(),
        load_average()
    );
    if import.peak_rss_kib > 64 * MIB {
        failures.push(format!("import of JSON Lines: peak RSS {} MiB", import.peak_rss_kib / MIB));
    }

    let again = data.join("again.jsonl");
    let _ = std::fs::remove_file(&again);
    let export = run(&binary, &["--db", &path(&imported)?, "export", "--out", &path(&again)?])?;
    let identical = same_bytes(&again, &exported)?;
    println!(
        "export {users}: {} ({:.0} MB/s), byte-identical: {identical} (target at 1M: ≤ 3 s); load {}",
        export.figures(),
        size as f64 / 1e6 / export.wall.as_secs_f64(),
        load_average()
    );
    std::fs::remove_file(&again)?;
    if !identical {
        failures.push("the round trip changed the export".to_owned());
    }
    if export.peak_rss_kib > 64 * MIB {
        failures.push(format!("export: peak RSS {} MiB", export.peak_rss_kib / MIB));
    }

    fresh(&imported)?;
    let array =
        run_with(&binary, &["--db", &path(&imported)?, "import", "-"], Some(as_array(exported.clone())))?;
    println!("import {users} as one JSON array on stdin: {}; load {}", array.figures(), load_average());
    if array.code != 0 {
        failures.push(format!("import of the array: exit {}", array.code));
    }
    if array.peak_rss_kib > 64 * MIB {
        failures.push(format!("import of the array: peak RSS {} MiB", array.peak_rss_kib / MIB));
    }

    // Every user's customData replaced by one with keys removed and a secret in it: the
    // warnings keep only the first users' details (the README's upsert row).
    let upsert = run_with(
        &binary,
        &["--db", &path(&imported)?, "import", "--upsert", "-"],
        Some(losing_keys(exported.clone())),
    )?;
    println!(
        "import --upsert of {users} users, each losing keys and holding a secret: {}; load {}",
        upsert.figures(),
        load_average()
    );
    if upsert.code != 0 {
        failures.push(format!("the upsert: exit {}", upsert.code));
    }
    if upsert.peak_rss_kib > 64 * MIB {
        failures.push(format!("the upsert: peak RSS {} MiB", upsert.peak_rss_kib / MIB));
    }

    let count = users.min(200_000) as usize;
    fresh(&imported)?;
    let before = std::fs::read(&imported)?;
    let bad = run_with(
        &binary,
        &["--db", &path(&imported)?, "import", "-"],
        Some(with_a_bad_last_record(exported.clone(), count)),
    )?;
    let exported_after = Command::new(&binary).args(["--db", &path(&imported)?, "export"]).output()?;
    let untouched = exported_after.stdout.is_empty() && exported_after.status.success();
    println!(
        "import of {count} users with a bad last record: exit {} in {:.2} s, the database left as it was: {untouched} (file {} → {} B)",
        bad.code,
        bad.wall.as_secs_f64(),
        before.len(),
        std::fs::metadata(&imported)?.len()
    );
    if bad.code != 4 || !untouched {
        failures.push(format!("a bad last record: exit {}, database untouched: {untouched}", bad.code));
    }
    std::fs::remove_file(&imported)?;
    println!("load average after: {}", load_average());
    if !failures.is_empty() {
        bail!("broken: {}", failures.join("; "));
    }
    Ok(())
}

/// Whether two files hold the same bytes (compared a piece at a time).
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    use std::io::Read;
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return Ok(true);
        }
        b.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            return Ok(false);
        }
    }
}
