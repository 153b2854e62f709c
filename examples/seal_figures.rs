//! The README's figures for sealed values, in-process: sealing and opening one value (a 100-byte
//! string), and opening every sealed value of a 1 MiB document (parsing the stored text
//! included, as `get --unseal` does), as p50 and max.
//!
//! ```sh
//! cargo run --release --example seal_figures
//! ```

use std::time::{Duration, Instant};

use custodian::domain::custom_data::{canonical_text, parse_object};
use custodian::domain::seal::{self, Key, KeySet};
use serde_json::{Map, Value, json};

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn main() {
    let keys = KeySet::new(vec![Key::new("2026-12-3f9a", [7; 32])]).expect("one key");
    let key = keys.sealing_key();
    let value = json!("x".repeat(98));

    let runs = 10_000;
    let mut sealing = Vec::with_capacity(runs);
    let mut opening = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let iv = seal::fresh_iv().expect("random bytes");
        let token = seal::seal(&value, key, iv);
        sealing.push(started.elapsed());
        let started = Instant::now();
        let opened = seal::open(&token, &keys).expect("opens");
        opening.push(started.elapsed());
        assert_eq!(opened, value);
    }
    let (p50, max) = percentiles(sealing);
    println!("seal one value (100 B string, fresh IV from the OS): p50 {p50:?}, max {max:?}");
    let (p50, max) = percentiles(opening);
    println!("open one value: p50 {p50:?}, max {max:?}");

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
    let runs = 30;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut document = parse_object(&text).expect("parses");
        let left = seal::open_all(&mut document, &keys).expect("opens");
        let shown = canonical_text(&document);
        times.push(started.elapsed());
        assert!(left.is_empty() && shown.len() > text.len() / 2);
    }
    let (p50, max) = percentiles(times);
    println!(
        "open every sealed value of the 1 MiB document (parse, open, pretty text): p50 {p50:?}, max {max:?}"
    );
}
