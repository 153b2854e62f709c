//! Large documents more than one test file needs: the 1 MiB shapes the secrets lint is
//! measured on, and the 100 MB document `set` must refuse before parsing it.

use serde_json::{Map, Value, json};

/// Documents of about 1 MiB in the shapes that cost the most: many small preference objects,
/// long prose, many URLs, and many long random-looking ids (every one goes through the
/// entropy test).
pub fn one_mebibyte_documents() -> Vec<(&'static str, Map<String, Value>)> {
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

/// 100 MB whose first bytes are wrong twice over: `NaN` (a parse error) and a byte that is
/// not UTF-8 (a decoding error). The refusal must still name the size — so the size is
/// checked before the text is decoded or parsed. (How long the refusal takes is a release figure:
/// `tests/release_figures.rs`.)
pub fn a_100_mb_document_invalid_from_its_first_bytes() -> Vec<u8> {
    let mut big = Vec::with_capacity(100 * 1024 * 1024 + 16);
    big.extend_from_slice(b"{\"a\": NaN, \"b\": \"\xff");
    big.resize(100 * 1024 * 1024, b'x');
    big.extend_from_slice(b"\"}");
    big
}
