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

/// bb16 L08: an ADO.NET connection string's password passed, where its URL form is found.
#[test]
fn a_connection_string_with_a_password_among_its_pairs_is_found() {
    for text in [
        "Server=tcp:x.database.windows.net;Database=d;User ID=admin;Password=s3cr3t;",
        "Driver={ODBC Driver 18 for SQL Server};Server=db;Uid=app;Pwd={s3c;r3t};",
        "jdbc:sqlserver://db.example.com:1433;databaseName=main;user=sa;password=hunter2",
        "Host=db; Username=app; PASSWORD = hunter2",
        "Password=hunter2;Host=db",
        // A placeholder is taken as given.
        "Host=db;Password=${DB_PASSWORD};",
    ] {
        assert_eq!(
            findings(json!({"db": text})),
            ["db (value is a connection string with a password in it)"],
            "{text}"
        );
    }
    for text in [
        // No password, an empty or masked one, a password named but not given.
        "Server=db;Database=main;User ID=admin;Integrated Security=true;",
        "Server=db;User ID=admin;Password=;",
        "Server=db;User ID=admin;Password=********;",
        "Server=db;User ID=admin;Pwd={****};",
        "passwordPolicy=strict",
        "en-US,en;q=0.9,de;q=0.8",
        "Please set a password=strong one; thanks",
        // Not a connection string: no `;` after the pair.
        "DB_PASSWORD=hunter2",
    ] {
        assert_eq!(findings(json!({"db": text})), [""; 0], "{text}");
    }
}

/// bb16 L08: `glpat-…` passed; GitHub's and Slack's prefixes were known, GitLab's were not.
#[test]
fn gitlab_tokens_are_found_by_their_documented_prefixes() {
    let mut rng = fastrand::Rng::with_seed(16);
    let word = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for prefix in [
        "glpat-",
        "gloas-",
        "gldt-",
        "glrt-",
        "glcbt-",
        "glptt-",
        "glft-",
        "glimt-",
        "glagent-",
        "glsoat-",
        "glffct-",
        "GR1348941",
    ] {
        let token = format!("{prefix}{}", random_token(&mut rng, word, 20));
        assert_eq!(findings(json!({"n": token})), ["n (value looks like a GitLab token)"], "{token}");
        let in_text = format!("export GITLAB_TOKEN={token}");
        assert_eq!(findings(json!({"n": in_text})), ["n (value looks like a GitLab token)"], "{in_text}");
    }
    assert_eq!(
        findings(json!({"n": "glpat-xYz12AbC34dEf56GhI78j"})),
        ["n (value looks like a GitLab token)"]
    );
    // Too short to be one, or the prefix inside a word.
    for text in ["glpat-example", "glpat-", "my-glpat-xYz12AbC34dEf56GhI78j", "the glrt- prefix"] {
        assert_eq!(findings(json!({"n": text})), [""; 0], "{text}");
    }
}

/// bb16 L08: a TOTP seed under `totpSeed` passed; under `totpSecret` it was found.
#[test]
fn an_authenticator_seed_is_found_by_its_key_and_a_seed_of_anything_else_is_not() {
    for key in ["totpSeed", "totp_seed", "otpSeed", "hotpSeed", "mfaSeed", "mfa_seed", "totpKey", "otp_key"] {
        assert_eq!(key_kind(key), Some(KeyKind::Secret), "{key}");
        assert_eq!(
            findings(json!({key: "JBSWY3DPEHPK3PXP"})),
            [format!("{key} (key looks like a secret)")],
            "{key}"
        );
    }
    assert_eq!(key_kind("seedPhrase"), Some(KeyKind::Secret));
    for key in ["seed", "randomSeed", "worldSeed", "totp", "totpEnabled", "otpMethod", "seedPhraseBackedUp"] {
        assert_eq!(key_kind(key), None, "{key}");
    }
    assert_eq!(findings(json!({"totp": {"enabled": true, "method": "app"}, "randomSeed": 42})), [""; 0]);
}

/// bb16 L08: an IPFS content id was refused as a random key. It is the hash of public content.
#[test]
fn an_ipfs_content_id_is_an_address_not_a_token() {
    for text in [
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        "/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        "ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
        "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq",
    ] {
        assert_eq!(findings(json!({"ipfs": text})), [""; 0], "{text}");
    }
    // Every CIDv1 of a SHA-256, however its base32 falls.
    let mut rng = fastrand::Rng::with_seed(8);
    for _ in 0..500 {
        let cid = format!("bafybei{}", random_token(&mut rng, b"abcdefghijklmnopqrstuvwxyz234567", 52));
        assert!(!looks_random(cid.as_bytes()), "{cid}");
    }
    // The shape and nothing near it: one character more, a 0 (no base58 digit), or another prefix.
    for token in [
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdGx",
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd0",
        "QxYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    ] {
        assert!(looks_random(token.as_bytes()), "{token}");
    }
    // `ba` and a CIDv1's length, but not base32 (capitals, 0, 1, 8, 9): a token.
    let not_base32 = "baQxYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdGQx";
    assert!(looks_random(not_base32.as_bytes()), "{not_base32}");
}

/// bb16 L08: an object's key in storage with a random file name was refused as a random key.
#[test]
fn a_path_to_a_file_with_a_random_name_is_an_address_not_a_token() {
    for text in [
        "uploads/2024/AbCdEfGh12345678IjKlMnOp90QrStUv.png",
        "/avatars/u1/AbCdEfGh12345678IjKlMnOp90QrStUv.webp",
        "backups/AbCdEfGh12345678IjKlMnOp90QrStUv.tar.gz",
        "see uploads/AbCdEfGh12345678IjKlMnOp90QrStUv.mp4 for the clip",
        // Not its chunk's first run: its extension is found after it all the same.
        "clip:x/AbCdEfGh12345678IjKlMnOp90QrStUv.mp4",
    ] {
        assert_eq!(findings(json!({"s3key": text})), [""; 0], "{text}");
    }
    // Without a path or an extension, or followed by what is no extension, it is the token it
    // looks like; so is base64 (which has `/`) at the end of a sentence.
    for text in [
        "AbCdEfGh12345678IjKlMnOp90QrStUv.png",
        "uploads/2024/AbCdEfGh12345678IjKlMnOp90QrStUv",
        "uploads/2024/AbCdEfGh12345678IjKlMnOp90QrStUv.123",
        "uploads/2024/AbCdEfGh12345678IjKlMnOp90QrStUv.sig123",
        "the key is q8Zr/Kx2mW9vTb4nPq7L/sYd3Hf6Jc1Ng5Rk0Ua8.",
    ] {
        assert_eq!(
            findings(json!({"s3key": text})),
            ["s3key (value looks like a random key or token)"],
            "{text}"
        );
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
mod named_in_full;
/// Sealed values (JWE) and the lint: ciphertext is no finding, what only dresses as it is.
mod public;
mod sealed;
mod wrapped;
