//! Measures `custodian patch` and `custodian undo` as an operator runs them, on a database
//! `seed --users N` made: the dry run, `--yes` over every user (one transaction), and the
//! undo of that batch. Each: wall time, user + system CPU, peak RSS (from wait4).
//!
//! ```sh
//! cargo build --release && cargo run --release --example patch_speed -- --users 100000
//! cargo run --release --example patch_speed -- --users 1000000   # minutes; do not loop it
//! ```
//!
//! The database is made under `target/patch-data/N/` and deleted at the end (`--keep` keeps it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

struct Measured {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: i64,
    stdout: String,
}

fn seconds(time: libc::timeval) -> Duration {
    Duration::from_secs(time.tv_sec.max(0) as u64) + Duration::from_micros(time.tv_usec.max(0) as u64)
}

/// Runs the release binary with `args`: its wall time, CPU time and peak RSS (from wait4).
fn run(binary: &Path, args: &[&str], expected_code: i32) -> Result<Measured> {
    let out = std::env::temp_dir().join(format!("patch-speed-{}.out", std::process::id()));
    let started = Instant::now();
    let child = Command::new(binary)
        .args(args)
        .arg("--quiet")
        .stdout(std::fs::File::create(&out)?)
        .spawn()
        .with_context(|| format!("run {}", binary.display()))?;
    let pid = i32::try_from(child.id()).context("pid")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, and status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != expected_code {
        bail!("custodian {} failed (status {status}): {stdout}", args.join(" "));
    }
    Ok(Measured {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss,
        stdout,
    })
}

fn report(what: &str, m: &Measured) {
    println!(
        "{what}: {:.2} s wall, {:.2} s user+sys, peak RSS {} MiB",
        m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
        m.peak_rss_kib / 1024
    );
}

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut users: u64 = 100_000;
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                users = args.next().context("--users needs a value")?.replace(['_', ','], "").parse()?;
            }
            "--keep" => keep = true,
            other => bail!("unknown argument {other}; usage: patch_speed [--users N] [--keep]"),
        }
    }
    let binary = root.join("target/release/custodian");
    if !binary.exists() {
        bail!("build it first: cargo build --release");
    }
    let data = root.join(format!("target/patch-data/{users}"));
    std::fs::create_dir_all(&data)?;
    let db = data.join("seeded.redb");
    let db = db.to_str().context("a UTF-8 path")?.to_owned();
    if !Path::new(&db).exists() {
        run(&binary, &["--db", &db, "init"], 0)?;
        let seeded = run(&binary, &["--db", &db, "seed", "--users", &users.to_string()], 0)?;
        report(&format!("seed {users}"), &seeded);
    }
    // Every seeded user has both: every user changes.
    let patch = data.join("patch.json");
    std::fs::write(
        &patch,
        r#"[{"op":"replace","path":"/notifications/digest","value":"daily"},{"op":"add","path":"/featureFlags/-","value":"bulk-edit"}]"#,
    )?;
    let patch = patch.to_str().context("a UTF-8 path")?;
    let dry = run(&binary, &["--db", &db, "patch", patch, "--all"], 0)?;
    report(&format!("patch --all dry run of {users}"), &dry);
    let applied = run(&binary, &["--db", &db, "patch", patch, "--all", "--yes"], 0)?;
    report(&format!("patch --all --yes of {users}"), &applied);
    let batch = applied.stdout.split_whitespace().nth(1).map(|b| b.trim_end_matches(':').to_owned());
    let batch = batch.context("patch --yes printed no batch")?;
    let undone = run(&binary, &["--db", &db, "undo", &batch], 0)?;
    report(&format!("undo of {users}"), &undone);
    println!("file: {} MB", std::fs::metadata(&db)?.len() / 1_000_000);
    if !keep {
        std::fs::remove_dir_all(&data)?;
    }
    Ok(())
}
