use serde_json::json;

use super::key_names::LONGEST_KEY_WORD;
use super::*;

fn findings(value: Value) -> Vec<String> {
    let Value::Object(object) = value else { panic!("not an object: {value}") };
    find_secrets(&object).iter().map(ToString::to_string).collect()
}

/// Builds a token from an alphabet with a fixed generator, so no real-looking secret sits
/// in the source and the tests are the same every run.
fn random_token(rng: &mut fastrand::Rng, alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| alphabet[rng.usize(..alphabet.len())] as char).collect()
}

const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn jwt() -> String {
    // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"John Doe","iat":1516239022} . signature
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_owned()
}

#[test]
fn sensitive_key_names_are_found_by_suffix_or_whole_word() {
    for key in [
        "password",
        "Password",
        "dbPassword",
        "new_password",
        "passwords",
        "passwd",
        "pwd",
        "userPwd",
        "passphrase",
        "secret",
        "clientSecret",
        "client_secret",
        "apiSecret",
        "mfaSecret",
        "otpSecret",
        "totp_secret",
        "webhook-secret",
        "secrets",
        "token",
        "accessToken",
        "refresh_token",
        "idToken",
        "X-Auth-Token",
        "bearer",
        "apiKey",
        "api_key",
        "API-KEY",
        "x-api-key",
        "stripeApiKey",
        "apiKeys",
        "accessKey",
        "awsSecretAccessKey",
        "secretKey",
        "privateKey",
        "private_key",
        "creditCard",
        "cardNumber",
        "cvv",
        "CVC",
        "pin",
        "PIN",
        "ssn",
        "social_security_number",
        "sessionId",
        "session_id",
        "cookie",
        "Set-Cookie",
        "authorization",
        "credentials",
        "credential",
        "recoveryCodes",
        "backup_codes",
    ] {
        assert!(key_kind(key).is_some(), "{key} should be sensitive");
    }
}

#[test]
fn ordinary_preference_keys_are_not_sensitive() {
    for key in [
        "tokenCount",
        "tokenizer",
        "tokens",
        "maxTokens",
        "passwordPolicyAcknowledged",
        "passwordUpdatedAt",
        "passwordMinLength",
        "showApiKeyBanner",
        "apiKeyLastFour",
        "spinner",
        "opinion",
        "pinned",
        "pinCode",
        "userPin",
        "keyboardLayout",
        "secretaryName",
        "secretMode",
        "publicKey",
        "publishableKey",
        "cookieConsent",
        "cookieCategories",
        "cookies",
        "authorizationStatus",
        "lastUsedCredential",
        "credentialType",
        "sessionTimeout",
        "key",
        "primaryKey",
        "employeeNumber",
        "externalAccountNumber",
        "snowflakeId",
        "theme",
    ] {
        assert_eq!(key_kind(key), None, "{key} should not be sensitive");
    }
}

#[test]
fn a_sensitive_key_alarms_only_when_its_value_could_be_a_secret() {
    assert_eq!(
        findings(json!({
            "hasPassword": true,
            "password": null,
            "secret": "",
            "token": "********",
            "clientSecret": "••••••",
            "accessKey": "s",
            "pin": true,
            "cookie": "accepted",
            "authorization": "approved",
            "creditCard": "visa",
            "cardNumber": "**** **** **** 4242",
            "cvv": "n/a",
            "sessionId": "abc",
            "nextPageToken": "CAoQAA",
            "recoveryCodes": [],
            "secrets": {"enabled": true, "rotatedAt": null},
        })),
        Vec::<String>::new()
    );
}

#[test]
fn sensitive_keys_with_values_are_reported_with_path_and_reason() {
    let found = findings(json!({
        "password": "hunter2",
        "prefs": {"api": [{}, {}, {"token": "abcdefgh12345678"}]},
        "pin": "1234",
        "login": {"pin": 482913},
        "cvv": 123,
        "cardNumber": "4111 1111 1111 1111",
        "cookie": "sid=s%3Aabcdef",
        "authorization": "Token abcdefgh12345",
        "apiKeys": ["first-key-1234", "second-key-5678"],
        "credentials": {"user": "bob", "pass": "x"},
        "secrets": {"db": "hunter2"},
        "wallet": {"privateKey": "5KQwrPbwdL6PhXujxW37"},
        "ssn": "078-05-1120",
        "recovery_codes": ["a1b2-c3d4", "e5f6-a7b8"],
    }));
    assert_eq!(
        found,
        [
            "password (key looks like a password)",
            "prefs.api[2].token (key looks like a token)",
            "pin (key looks like a PIN)",
            "login.pin (key looks like a PIN)",
            "cvv (key looks like a card security code)",
            "cardNumber (key looks like a card number)",
            "cookie (key looks like a cookie)",
            "authorization (key looks like an Authorization header)",
            "apiKeys (key looks like an API key)",
            "credentials (key looks like credentials)",
            "secrets (key looks like a secret)",
            "wallet.privateKey (key looks like a private key)",
            "ssn (key looks like a social security number)",
            "recovery_codes (key looks like MFA recovery codes)",
        ]
    );
}

#[test]
fn an_object_under_an_ordinary_sensitive_key_is_judged_by_its_members() {
    // A card's brand and last four digits are what a front end shows; the number is not.
    assert_eq!(findings(json!({"creditCard": {"brand": "visa", "last4": "4242", "expMonth": 4}})), [""; 0]);
    assert_eq!(
        findings(json!({"creditCard": {"brand": "visa", "cardNumber": "4111111111111111"}})),
        ["creditCard.cardNumber (key looks like a card number)"]
    );
    assert_eq!(findings(json!({"token": {"symbol": "ETH", "decimals": 18}})), [""; 0]);
}

#[test]
fn identifiers_pass_by_value_but_not_under_a_key_that_names_a_secret() {
    let uuid = "550e8400-e29b-41d4-a716-446655440000";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(
        findings(json!({
            "deviceId": uuid,
            "sessionId": uuid,
            "webhook": sha256,
            "webhookSecret": sha256,
            "colorToken": "primary-500",
        })),
        [
            "sessionId (key looks like a session id)",
            "webhookSecret (key looks like a secret)",
            "colorToken (key looks like a token)",
        ]
    );
}

#[test]
fn a_recognised_value_under_a_sensitive_key_gives_the_value_reason_once() {
    assert_eq!(
        findings(json!({"auth": {"accessToken": jwt()}})),
        ["auth.accessToken (value looks like a JWT)"]
    );
}

#[test]
fn known_token_formats_are_found_anywhere_in_a_string() {
    let mut rng = fastrand::Rng::with_seed(7);
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let cases = [
        (jwt(), "value looks like a JWT"),
        (format!("Bearer {}", jwt()), "value looks like an Authorization header"),
        (format!("https://app.example.com/cb#id_token={}&state=x", jwt()), "value looks like a JWT"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----".into(),
            "value looks like a PEM private key",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==".into(), "value looks like a PEM private key"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----".into(), "value looks like a PEM private key"),
        ("AKIAIOSFODNN7EXAMPLE".into(), "value looks like an AWS access key id"),
        (
            format!("key id: ASIA{}", random_token(&mut rng, upper, 16)),
            "value looks like an AWS access key id",
        ),
        (format!("ghp_{}", random_token(&mut rng, BASE62, 36)), "value looks like a GitHub token"),
        (
            format!("GITHUB_TOKEN=gho_{}", random_token(&mut rng, BASE62, 36)),
            "value looks like a GitHub token",
        ),
        (
            format!(
                "github_pat_{}_{}",
                random_token(&mut rng, BASE62, 22),
                random_token(&mut rng, BASE62, 59)
            ),
            "value looks like a GitHub token",
        ),
        ("xoxb-1234567890-0987654321-AbCdEfGh".into(), "value looks like a Slack token"),
        ("xoxp-1234567890-abcdef".into(), "value looks like a Slack token"),
        (
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into(),
            "value looks like a Slack webhook URL",
        ),
        (format!("sk_live_{}", random_token(&mut rng, BASE62, 24)), "value looks like a Stripe secret key"),
        (format!("rk_live_{}", random_token(&mut rng, BASE62, 24)), "value looks like a Stripe secret key"),
        (
            format!(
                "AIza{}",
                random_token(&mut rng, b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_", 35)
            ),
            "value looks like a Google API key",
        ),
        ("Bearer 8f2b1c9e7d4a6b3c5e1f".into(), "value looks like an Authorization header"),
        // "alice:s3cret"
        ("Basic YWxpY2U6czNjcmV0".into(), "value looks like an Authorization header"),
        ("https://alice:s3cret@db.example.com/app".into(), "value is a URL with a password in it"),
        ("postgres://app:hunter2@10.0.0.5:5432/main".into(), "value is a URL with a password in it"),
        ("redis://:hunter2@cache:6379".into(), "value is a URL with a password in it"),
        (
            "see https://api.example.com/v1/feed?access_token=abcd1234efgh5678".into(),
            "value is a URL with a token in it",
        ),
        (
            format!("https://cdn.example.com/file.pdf?sig={}&exp=1", random_token(&mut rng, BASE62, 43)),
            "value is a URL with a token in it",
        ),
        (format!("api key {}", random_token(&mut rng, BASE62, 40)), "value looks like a random key or token"),
    ];
    for (text, reason) in cases {
        let found = findings(json!({"note": text}));
        assert_eq!(found, [format!("note ({reason})")], "{text}");
    }
}

#[test]
fn ordinary_strings_are_not_secrets() {
    for text in [
        "Mit freundlichen Grüßen",
        "The quick brown fox jumps over the lazy dog, twice, in 2024.",
        "https://hooks.example.com/deploy/594",
        "https://docs.google.com/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit",
        "https://alice@example.com/profile",
        "https://alice:@example.com/",
        "https://user:********@example.com/",
        "https://example.com:8443/path?page=2&sort=name#section-3",
        "https://example.com/search?q=how+to+configure+single+sign+on+in+five+minutes+2024",
        "mailto:alice@example.com",
        "2024-10-30T12:06:55.123Z",
        "2026-01-01",
        "#ff00aa",
        "rgb(255, 0, 170)",
        "550e8400-e29b-41d4-a716-446655440000",
        "550e8400e29b41d4a716446655440000",
        // Gravatar's MD5, a commit SHA, a SHA-256 digest, an Ethereum address.
        "d4c74594d841139328695756648b6bd6",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "Donaudampfschifffahrtsgesellschaftskapitän",
        "/home/user/projects/2024/my-app/src/components/Header.tsx",
        "assets/images/hero-banner-1920x1080-dark-v2.png",
        "how-to-configure-sso-in-5-minutes-2024-edition",
        "featureFlagNewEditorBeta2024Enabled",
        "ProjectPhoenixQuarterlyRoadmapReview2025Q3Final",
        "ThisIsTheWayWeDoItAndThatIsFine2024",
        "LOREM_IPSUM_DOLOR_SIT_AMET_2024_CONSTANT",
        "IMG_20241030_123456_HDR_Portrait_Mode_Enabled",
        "release-2024-10-30-hotfix-2-for-billing-module",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0",
        "en-US,en;q=0.9,de-DE;q=0.8,de;q=0.7",
        "+44 7700 900195",
        "1234567890123456789",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
        "Bearer of good news",
        "Basic plan",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyes on the prize",
        "AKIA is a prefix",
        "pk_live_51HXXXXXxY2bC3dE4fG5hI6jK7lM8nO9pQ0rS1tU2vW3xY4zA5bC6dE7fG8hI9jK0",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "-----BEGIN CERTIFICATE-----\nMIIB",
        "-----BEGIN PUBLIC KEY-----\nMIIB",
        "",
    ] {
        assert_eq!(findings(json!({"note": text})), [""; 0], "{text}");
    }
}

#[test]
fn most_random_base62_tokens_are_found_and_hex_ones_are_left_alone() {
    let mut rng = fastrand::Rng::with_seed(42);
    let draws = 2000;
    for (len, at_least) in [(32, 0.75), (40, 0.8), (64, 0.85)] {
        let found =
            (0..draws).filter(|_| looks_random(random_token(&mut rng, BASE62, len).as_bytes())).count();
        let share = found as f64 / f64::from(draws);
        assert!(share >= at_least, "{len} characters: {share}");
    }
    let hex = (0..draws).filter(|_| looks_random(random_token(&mut rng, b"0123456789abcdef", 40).as_bytes()));
    assert_eq!(hex.count(), 0);
}

#[test]
fn strings_under_ordinary_keys_are_found_at_any_depth_with_array_indices() {
    let found = findings(json!({
        "integrations": {"webhooks": [{"url": "https://hooks.example.com/a"}, {"url": "https://u:p4ss@hooks.example.com/b"}]},
        "deep": [[{"x": [jwt()]}]],
    }));
    assert_eq!(
        found,
        [
            "integrations.webhooks[1].url (value is a URL with a password in it)",
            "deep[0][0].x[0] (value looks like a JWT)",
        ]
    );
}

#[test]
fn every_key_word_fits_the_normalised_tail() {
    for (word, _, _) in KEY_PATTERNS {
        assert!(word.len() <= LONGEST_KEY_WORD, "{word}");
        assert_eq!(word.to_ascii_lowercase(), *word);
        assert!(!word.contains(['_', '-', '.', ' ']), "{word}");
    }
    assert_eq!(key_kind(&format!("{}Password", "a".repeat(100))), Some(KeyKind::Password));
    assert_eq!(key_kind(&format!("{}pin", "_".repeat(100))), Some(KeyKind::Pin));
    assert_eq!(key_kind(&format!("{}pin", "x".repeat(100))), None);
}

#[test]
fn summary_names_the_first_few_then_counts_the_rest() {
    let finding = |path: &str| SecretFinding { path: path.into(), reason: SecretReason::Key(KeyKind::Token) };
    let all: Vec<_> = ["a", "b", "c"].into_iter().map(finding).collect();
    assert_eq!(
        summary(&all, 5),
        "a (key looks like a token), b (key looks like a token), c (key looks like a token)"
    );
    assert_eq!(summary(&all, 1), "a (key looks like a token), and 2 more");
    // As many as may be named: no "and 0 more".
    assert_eq!(
        summary(&all, 3),
        "a (key looks like a token), b (key looks like a token), c (key looks like a token)"
    );
}

#[test]
fn pathological_strings_are_read_in_linear_time() {
    for piece in ["eyJ.", "-eyJ", "Bearer ", "a://", "ghp_", "-----BEGIN ", "AKIA"] {
        let text = piece.repeat(1024 * 1024 / piece.len());
        let started = std::time::Instant::now();
        let _ = value_kind(&text);
        assert!(started.elapsed().as_secs_f64() < 2.0, "{piece:?} took {:?}", started.elapsed());
    }
}

/// The lint's bounds, one mutant each (cargo-mutants): `scripts/mutants 'src/domain/secrets/*.rs'`.
mod bounds;
/// Sealed values (JWE) and the lint: ciphertext is no finding, what only dresses as it is.
mod sealed;
