//! Validating a 1 MiB customData document against a JSON Schema, measured in-process
//! (issue 13 §2: ≤ 10 ms in release). Run: `cargo run --release --example schema_speed`.
//!
//! The document: 5,500 event objects (~1 MiB pretty, under the 1 MiB compact limit), each
//! held to an object schema with an enum, a pattern, bounds and required keys. Reports the
//! compile time once, then p50/max over 50 runs of the fast check (`is_valid`, what `schema
//! check` does per user) and of the full report with positions (`violations`, what `set`
//! and the editor do), on a valid document and on one with an error in every event.

use std::time::{Duration, Instant};

use custodian::domain::CustomData;
use custodian::domain::shape::Shape;
use serde_json::{Value, json};

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["events", "plan"],
  "properties": {
    "plan": {"enum": ["free", "pro", "team"]},
    "events": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["id", "kind", "at"],
        "properties": {
          "id": {"type": "string", "pattern": "^evt_[0-9]+$"},
          "kind": {"enum": ["login", "logout", "purchase", "refund"]},
          "at": {"type": "integer", "minimum": 0},
          "amount": {"type": "number", "minimum": 0},
          "note": {"type": "string", "maxLength": 200}
        }
      }
    }
  }
}"#;

fn document(kind: &str) -> Value {
    let events: Vec<Value> = (0..5_500)
        .map(|i| {
            json!({
                "id": format!("evt_{i}"),
                "kind": if i % 2 == 0 { "login" } else { kind },
                "at": 1_700_000_000_000_i64 + i,
                "amount": (i % 97) as f64 * 1.25,
                "note": "a short note about what happened here",
            })
        })
        .collect();
    json!({ "events": events, "plan": "pro" })
}

fn measure(label: &str, mut run: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    times.sort();
    println!("{label:<44} p50 {:>8.2?}  max {:>8.2?}", times[25], times[49]);
}

fn main() {
    let start = Instant::now();
    let shape = Shape::compile(SCHEMA).expect("the schema compiles");
    println!("compile the schema once                      {:.2?}", start.elapsed());
    for (name, kind) in [("valid", "logout"), ("an error in every 2nd event", "teleport")] {
        let value = document(kind);
        let data = CustomData::from_value(value.clone(), &Default::default()).expect("under the limit");
        let text = data.canonical().to_owned();
        println!("{name}: {} KiB pretty, {} KiB compact", text.len() / 1024, data.size() / 1024);
        measure("  is_valid (schema check, per user)", || usize::from(shape.is_valid(&value)));
        measure("  violations with positions (set, editor)", || shape.violations(&text, &value).len());
        let object = Value::Object(data.as_object().clone());
        measure("  clone + violations (as check_document)", || {
            shape.violations(&text, &Value::Object(object.as_object().cloned().unwrap_or_default())).len()
        });
    }
}
