//! Secrets under a secret key in a wrapper (`{"password": {"value": …}}`) and keys whose
//! word is followed by digits or punctuation (bb48 F3).

use super::*;

/// bb48 F3: a password wrapped in an object, a card's full number under `creditCard`, and
/// keys ending in a digit or punctuation passed as harmless.
#[test]
fn a_value_named_only_as_the_value_under_a_secret_key_and_keys_ending_in_digits_are_findings() {
    for document in [
        json!({"password": {"value": "hunter2"}}),
        json!({"password": [{"v": "hunter2"}]}),
        json!({"creditCard": {"number": "4242424242424242"}}),
        json!({"password2": "hunter2"}),
        json!({"clientSecret2": "s3cr3t"}),
        json!({"password:": "hunter2"}),
        json!({"password\t": "hunter2"}),
        json!({"apiKey_1": "abcdefgh12345678"}),
        // Spelled as keys are, and nested (bb50 F4).
        json!({"password": {"plain_text": "hunter2"}}),
        json!({"password": {"Value1": "hunter2"}}),
        json!({"password": {"value": {"value": "hunter2"}}}),
    ] {
        assert_eq!(findings(document.clone()).len(), 1, "{document}");
    }
    assert_eq!(
        findings(json!({"password": {"current": "hunter2", "previous": "hunter1"}})),
        ["password.current (key looks like a password)", "password.previous (key looks like a password)"]
    );
    for document in [
        json!({"creditCard": {"brand": "visa", "last4": "4242", "expMonth": 12}}),
        json!({"password": {"minLength": 8, "requireDigits": true}}),
        // A version, a form's label, a push token's envelope.
        json!({"password": {"v": 2, "minLength": 12}}),
        json!({"labels": {"password": {"text": "Password"}}}),
        json!({"pushToken": {"type": "expo", "data": "ExponentPushToken"}}),
        json!({"password": {"value": ""}}),
        json!({"passwordChangedAt2": "2026-01-01"}),
        json!({"oauth2": "enabled"}),
        json!({"12": "34", "..": "x"}),
    ] {
        assert_eq!(findings(document.clone()), Vec::<String>::new(), "{document}");
    }
}
