//! The README's figures for sealed values, in-process: sealing and opening one value (a 100-byte
//! string), and opening every sealed value of a 1 MiB document (parsing the stored text and
//! writing the opened one included, as `get --unseal` does), as p50 and max of wall time, and
//! p50 of the thread's CPU time (what a busy shared machine does not inflate).
//!
//! ```sh
//! cargo run --release --example seal_figures
//! ```

use std::time::{Duration, Instant};

use custodian::domain::custom_data::{canonical_text, parse_object};
use custodian::domain::seal::{self, Key, KeySet};
use serde_json::{Map, Value, json};

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Runs `work` `runs` times; prints wall p50/max and CPU p50 under `label`.
fn measure(label: &str, runs: usize, mut work: impl FnMut()) {
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (started, started_cpu) = (Instant::now(), thread_cpu());
        work();
        wall.push(started.elapsed());
        cpu.push(thread_cpu().saturating_sub(started_cpu));
    }
    wall.sort();
    cpu.sort();
    println!("{label}: wall p50 {:?}, max {:?}; cpu p50 {:?}", wall[runs / 2], wall[runs - 1], cpu[runs / 2]);
}

fn main() {
    let keys = KeySet::new(vec![Key::new("2026-12-3f9a", [7; 32])]).expect("one key");
    let key = keys.sealing_key();
    let value = json!("x".repeat(98));
    let token = seal::seal(&value, key, seal::fresh_iv().expect("random bytes"));

    measure("seal one value (100 B string, a fresh IV from the OS)", 10_000, || {
        let iv = seal::fresh_iv().expect("random bytes");
        std::hint::black_box(seal::seal(&value, key, iv));
    });
    measure("open one value", 10_000, || {
        let opened = seal::open(&token, &keys).expect("opens");
        assert_eq!(opened, value);
    });

    // A document of sealed values (each a ~150 B object), filled to just under 1 MiB compact.
    let mut object = Map::new();
    let mut sealed = 0;
    let mut size = 2;
    while size < 1024 * 1024 - 2048 {
        let plaintext = json!({"iban": "DE89370400440532013000", "holder": "Jane Doe", "n": sealed, "note": "y".repeat(80)});
        let token = seal::seal(&plaintext, key, seal::fresh_iv().expect("random bytes"));
        let key_name = format!("secret{sealed:05}");
        size += key_name.len() + token.len() + 6;
        object.insert(key_name, Value::String(token));
        sealed += 1;
    }
    let text = serde_json::to_string(&object).expect("compact");
    println!("document: {} B compact, {sealed} sealed values", text.len());
    measure("open every sealed value of the 1 MiB document (parse, open, pretty text)", 30, || {
        let mut document = parse_object(&text).expect("parses");
        let left = seal::open_all(&mut document, &keys).expect("opens");
        let shown = canonical_text(&document);
        assert!(left.is_empty() && shown.len() > text.len() / 2);
    });
    let parsed = parse_object(&text).expect("parses");
    let mut copies: Vec<Map<String, Value>> = (0..30).map(|_| parsed.clone()).collect();
    measure(&format!("  of which opening the {sealed} values alone"), 30, || {
        let mut document = copies.pop().expect("a copy per run");
        let left = seal::open_all(&mut document, &keys).expect("opens");
        assert!(left.is_empty());
    });
}
