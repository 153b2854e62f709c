//! The secrets lint on the data custodian ships and makes: the demo users and the synthetic
//! users must pass without a finding; 1 MiB documents give the findings they should (how fast
//! is a release figure: `tests/release_figures.rs`).

mod support;

use custodian::domain::import::ImportReader;
use custodian::domain::secrets::find_secrets;
use custodian::domain::synthetic::SyntheticUsers;
use custodian::domain::{CustomData, Limits};
use serde_json::json;

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

/// What each 1 MiB shape must give: nothing, except the random tokens, where nearly every
/// string is one finding ("value looks like a random key or token"). The time these take in release is
/// `tests/release_figures.rs`.
#[test]
fn one_mebibyte_documents_give_a_finding_for_every_random_token_and_none_elsewhere() {
    for (shape, document) in support::documents::one_mebibyte_documents() {
        let findings = find_secrets(&document);
        if shape == "random tokens" {
            // Each string holds a random token of 40 and one of 64 characters; the generic rule
            // finds 86% and 90% of those (the README), so ~98.6% of the strings are findings.
            let share = findings.len() as f64 / document.len() as f64;
            assert!(share > 0.97, "{shape}: {} findings of {} strings", findings.len(), document.len());
            let reasons: Vec<String> = findings.iter().map(|f| f.reason.to_string()).collect();
            assert!(
                reasons.iter().all(|r| r == "value looks like a random key or token"),
                "{shape}: {reasons:?}"
            );
        } else {
            assert!(findings.is_empty(), "{shape}: {:?}", &findings[..findings.len().min(5)]);
        }
    }
}

/// The README's edge case: `sk_test_…` has no pattern of its own (test mode; Stripe
/// publishes sample keys), but a random-looking one is still caught by the generic rule —
/// and a word-like or short one is not.
#[test]
fn sk_test_keys_are_caught_only_by_the_generic_random_token_rule() {
    let lint = |value: &str| -> Vec<String> {
        let document = json!({"stripe": value});
        let object = document.as_object().expect("an object");
        find_secrets(object).iter().map(ToString::to_string).collect()
    };
    let mut rng = fastrand::Rng::with_seed(17);
    let base62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..20 {
        let random: String = (0..32).map(|_| base62[rng.usize(..62)] as char).collect();
        let key = format!("sk_test_{random}");
        let found = lint(&key);
        // Random base62 tokens read as words now and then (the README's 84–96%); those are
        // the generic rule's misses, never a Stripe pattern's.
        assert!(
            found.is_empty() || found == ["stripe (value looks like a random key or token)"],
            "{key}: {found:?}"
        );
    }
    assert_eq!(
        lint("sk_test_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js2"),
        ["stripe (value looks like a random key or token)"],
        "a random-looking sk_test_ key"
    );
    // A live key of the same shape has a pattern of its own.
    assert_eq!(
        lint("sk_live_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js2"),
        ["stripe (value looks like a Stripe secret key)"]
    );
    for fine in ["sk_test_placeholder", "sk_test_yourTestKeyGoesHere", "sk_test_1234"] {
        assert!(lint(fine).is_empty(), "{fine}: {:?}", lint(fine));
    }
}
