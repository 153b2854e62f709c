//! Measures the whole-database commands as an operator runs them: `seed`, `import` of the
//! seeded users' export into an empty database (wall time, peak RSS, file size per user) and
//! `export` (wall time, peak RSS, byte-identical to the file imported).
//!
//! ```sh
//! cargo build --release && cargo run --release --example bulk -- --users 1000
//! cargo run --release --example bulk -- --users 1000000   # a few minutes; do not loop it
//! ```
//!
//! The seeded database and its export are made once under `target/bulk-data/N/` and reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

struct Measured {
    wall: Duration,
    peak_rss_kib: i64,
}

/// Runs the release binary with `args` and returns its wall time and peak RSS (from wait4).
fn run(binary: &Path, args: &[&str]) -> Result<Measured> {
    let started = Instant::now();
    let child = Command::new(binary)
        .args(args)
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("run {}", binary.display()))?;
    let pid = i32::try_from(child.id()).context("pid")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, and status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("custodian {} failed (status {status})", args.join(" "));
    }
    Ok(Measured { wall, peak_rss_kib: usage.ru_maxrss })
}

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut users: u64 = 1000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                users = args.next().context("--users needs a value")?.replace(['_', ','], "").parse()?;
            }
            other => bail!("unknown argument {other}; usage: bulk [--users N]"),
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
    let path = |p: &Path| p.to_str().map(str::to_owned).context("a UTF-8 path");
    if !exported.exists() {
        let _ = std::fs::remove_file(&seeded);
        run(&binary, &["--db", &path(&seeded)?, "init"])?;
        let seed = run(&binary, &["--db", &path(&seeded)?, "seed", "--users", &users.to_string()])?;
        println!(
            "seed {users}: {:.2} s, peak RSS {} MiB (compacted from 100,000 users)",
            seed.wall.as_secs_f64(),
            seed.peak_rss_kib / 1024
        );
        run(&binary, &["--db", &path(&seeded)?, "export", "--out", &path(&exported)?])?;
    }
    let size = std::fs::metadata(&exported)?.len();

    let imported = data.join("imported.redb");
    let _ = std::fs::remove_file(&imported);
    run(&binary, &["--db", &path(&imported)?, "init"])?;
    let import = run(&binary, &["--db", &path(&imported)?, "import", &path(&exported)?])?;
    let per_user = std::fs::metadata(&imported)?.len() / users.max(1);
    println!(
        "import {users} ({} MB JSON Lines): {:.2} s, peak RSS {} MiB, file {per_user} B/user (targets at 1M: ≤ 10 s, ≤ 64 MiB, ≤ 800 B/user)",
        size / 1_000_000,
        import.wall.as_secs_f64(),
        import.peak_rss_kib / 1024
    );

    let again = data.join("again.jsonl");
    let _ = std::fs::remove_file(&again);
    let export = run(&binary, &["--db", &path(&imported)?, "export", "--out", &path(&again)?])?;
    let identical = std::fs::read(&again)? == std::fs::read(&exported)?;
    println!(
        "export {users}: {:.2} s ({:.0} MB/s), peak RSS {} MiB, byte-identical: {identical} (target at 1M: ≤ 3 s)",
        export.wall.as_secs_f64(),
        size as f64 / 1e6 / export.wall.as_secs_f64(),
        export.peak_rss_kib / 1024
    );
    let _ = std::fs::remove_file(&again);
    if !identical {
        bail!("the round trip changed the export");
    }
    Ok(())
}
