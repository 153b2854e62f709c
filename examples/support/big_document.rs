//! The 1 MiB customData of the editor figures (`editor_latency`, `measure --editor`): 5,500
//! event objects, ~1 MiB pretty and under the 1 MiB compact limit.

// Each example that includes this uses part of it (`measure --editor` only the ASCII one).
#![allow(dead_code)]

/// What the document's text is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Printable ASCII only, as most customData is.
    Ascii,
    /// Two of each event's lines hold non-ASCII text (CJK, accents).
    Mixed,
    /// Every event's text in CJK, with a note of twenty CJK characters: nearly every string of
    /// the document is wide text.
    Cjk,
}

impl Script {
    /// `--unicode` or `--cjk` among the arguments; ASCII otherwise.
    pub fn from_args() -> Self {
        let given = |flag: &str| std::env::args().any(|a| a == flag);
        if given("--cjk") {
            Script::Cjk
        } else if given("--unicode") {
            Script::Mixed
        } else {
            Script::Ascii
        }
    }
}

pub fn events_document(script: Script) -> serde_json::Value {
    let kinds = match script {
        Script::Ascii => ["login", "logout", "purchase", "refund"],
        Script::Mixed | Script::Cjk => ["登录", "退出", "购买", "退款"],
    };
    let section = match script {
        Script::Ascii => "section",
        Script::Mixed => "sección",
        Script::Cjk => "应用程序部分",
    };
    let events: Vec<serde_json::Value> = (0..5_500)
        .map(|i| {
            let mut event = serde_json::json!({
                "id": format!("evt-{i:06}"),
                "kind": kinds[i % 4],
                "at": 1_700_000_000_000i64 + i as i64 * 61_000,
                "ok": i % 7 != 0,
                "meta": { "path": format!("/app/{section}/{}", i % 97), "ms": i % 1000 }
            });
            if script == Script::Cjk {
                event["note"] = "用户在结账页面完成了购买并收到了确认邮件".into();
            }
            event
        })
        .collect();
    serde_json::json!({ "events": events, "plan": "pro" })
}
