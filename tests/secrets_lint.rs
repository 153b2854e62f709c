//! The secrets lint on the data custodian ships and makes: the demo users and the synthetic
//! users must pass without a finding, and a 1 MiB document is linted fast enough to run before
//! every save.

use std::time::{Duration, Instant};

use custodian::domain::import::ImportReader;
use custodian::domain::secrets::find_secrets;
use custodian::domain::synthetic::SyntheticUsers;
use custodian::domain::{CustomData, Limits};
use serde_json::{Map, Value, json};

const DEMO_USERS: &[u8] = include_bytes!("../assets/demo-users.json");

#[test]
fn the_demo_users_have_no_findings() {
    let reader = ImportReader::new(DEMO_USERS, Limits::default(), 1_700_000_000_000).expect("demo file");
    let mut users = 0;
    let mut problems = Vec::new();
    for record in reader {
        let user = record.expect("demo record");
        users += 1;
        let data = user.custom_data.clone().unwrap_or_else(CustomData::empty);
        for finding in find_secrets(data.as_object()) {
            problems.push(format!("{}: {finding}", user.user.id));
        }
    }
    assert_eq!(users, 200);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn synthetic_users_have_no_findings() {
    for seed in [1, 2, 3] {
        for user in SyntheticUsers::new(seed, 0).take(2000) {
            let data = user.custom_data.clone().expect("synthetic users have customData");
            let found = find_secrets(data.as_object());
            assert!(found.is_empty(), "seed {seed}, {}: {found:?}", user.origin);
        }
    }
}

/// Documents of about 1 MiB in the shapes that cost the most: many small preference objects,
/// long prose, many URLs, and many long random-looking ids (every one goes through the
/// entropy test).
fn one_mebibyte_documents() -> Vec<(&'static str, Map<String, Value>)> {
    const MIB: usize = 1024 * 1024;
    let mut rng = fastrand::Rng::with_seed(9);
    let base62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut random = |len: usize| -> String { (0..len).map(|_| base62[rng.usize(..62)] as char).collect() };
    let fill = |make: &mut dyn FnMut(usize) -> (String, Value)| {
        let mut object = Map::new();
        let mut size = 0;
        let mut i = 0;
        while size < MIB {
            let (key, value) = make(i);
            size += key.len() + value.to_string().len() + 4;
            object.insert(key, value);
            i += 1;
        }
        object
    };
    let preferences = fill(&mut |i| {
        let value = json!({
            "adminConsolePreferences": {"language": "en", "appearanceMode": "dark", "experienceNoticeConfirmed": true},
            "plan": {"tier": "pro", "seats": i % 50, "renewsOn": "2027-01-01"},
            "notifications": {"email": true, "push": false, "digest": "weekly"},
            "featureFlags": ["new-editor", "beta-search"],
            "pinned": [i, i + 1],
            "passwordUpdatedAt": "2024-10-30T12:06:55Z",
        });
        (format!("workspace{i}"), value)
    });
    let prose = fill(&mut |i| {
        let text = "Mit freundlichen Grüßen aus Köln — the quick brown fox jumps over the lazy dog 2024. ";
        (format!("note{i}"), Value::String(text.repeat(40)))
    });
    let urls = fill(&mut |i| {
        let url = format!("https://hooks.example.com/deploy/{i}?page=2&sort=name#section-{i}");
        (format!("hook{i}"), json!([url, "https://docs.example.org/getting-started/install", "2026-01-01"]))
    });
    let ids = fill(&mut |i| {
        (
            format!("id{i}"),
            json!({"ref": format!("ord_{}", random(20)), "uuid": "550e8400-e29b-41d4-a716-446655440000"}),
        )
    });
    let tokens = fill(&mut |i| (format!("t{i}"), Value::String(format!("{} {}", random(40), random(64)))));
    vec![
        ("preferences", preferences),
        ("prose", prose),
        ("urls", urls),
        ("ids", ids),
        ("random tokens", tokens),
    ]
}

#[test]
fn a_one_mebibyte_document_is_linted_well_under_50_ms_in_release() {
    // Debug builds are 10–30× slower; the figure that matters is the release one.
    let limit = if cfg!(debug_assertions) { Duration::from_secs(2) } else { Duration::from_millis(50) };
    for (shape, document) in one_mebibyte_documents() {
        let mut best = Duration::MAX;
        let mut findings = 0;
        for _ in 0..5 {
            let started = Instant::now();
            findings = find_secrets(&document).len();
            best = best.min(started.elapsed());
        }
        let size = serde_json::to_string(&document).map(|s| s.len()).unwrap_or(0);
        println!("{shape}: {size} bytes, {findings} findings, best of 5: {best:?}");
        assert!(best < limit, "{shape}: {best:?}");
        if shape != "random tokens" {
            assert_eq!(findings, 0, "{shape}");
        }
    }
}
