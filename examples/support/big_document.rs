//! The 1 MiB customData of the editor figures (`editor_latency`, `measure --editor`): 5,500
//! event objects, ~1 MiB pretty and under the 1 MiB compact limit.

/// `unicode`: two of each event's lines hold non-ASCII text (CJK, accents), which the editor
/// measures char by char; ASCII lines are measured by their length.
pub fn events_document(unicode: bool) -> serde_json::Value {
    let kinds = if unicode {
        ["登录", "退出", "购买", "退款"]
    } else {
        ["login", "logout", "purchase", "refund"]
    };
    let section = if unicode { "sección" } else { "section" };
    let events: Vec<serde_json::Value> = (0..5_500)
        .map(|i| {
            serde_json::json!({
                "id": format!("evt-{i:06}"),
                "kind": kinds[i % 4],
                "at": 1_700_000_000_000i64 + i as i64 * 61_000,
                "ok": i % 7 != 0,
                "meta": { "path": format!("/app/{section}/{}", i % 97), "ms": i % 1000 }
            })
        })
        .collect();
    serde_json::json!({ "events": events, "plan": "pro" })
}
