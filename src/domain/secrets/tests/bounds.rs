//! The secrets lint at the edges of each rule: every test here failed with a mutant of the
//! rule it names, which the tests beside it let through.

use super::*;

#[test]
fn an_array_of_objects_under_a_container_key_is_one_finding_at_the_key() {
    // `secrets` holds secrets whatever their shape: the container is named, not an element.
    assert_eq!(
        findings(json!({"secrets": [{"name": "db", "value": "hunter2"}]})),
        ["secrets (key looks like a secret)"]
    );
}

#[test]
fn an_array_of_objects_under_an_ordinary_sensitive_key_is_judged_by_their_members() {
    // A wallet's list of tokens: names and symbols are not tokens, an access token is.
    assert_eq!(findings(json!({"token": [{"symbol": "ETH", "name": "Ethereum"}]})), [""; 0]);
    assert_eq!(
        findings(json!({"token": [{"symbol": "ETH"}, {"accessToken": "abcdefgh12345678"}]})),
        ["token[1].accessToken (key looks like a token)"]
    );
}

#[test]
fn card_numbers_pins_and_card_codes_are_only_digits_of_their_length() {
    assert_eq!(
        findings(json!({
            "cardNumber": "4111-1111-1111-1111",
            "cvv": "1234",
            "pin": 123456789012_u64,
        })),
        [
            "cardNumber (key looks like a card number)",
            "cvv (key looks like a card security code)",
            "pin (key looks like a PIN)",
        ]
    );
    assert_eq!(
        findings(json!({
            // The last four digits are what a front end shows.
            "cardNumber": "4242",
            // Twelve digits, but among words: a description, not the number.
            "creditCard": "Visa ending 4242, added 2024-10-30",
            "cvv": 12,
            "cvc": "12345",
            "pin": "123",
        })),
        [""; 0]
    );
}

#[test]
fn an_authorization_value_is_a_plain_scheme_then_one_credential_of_eight_or_more() {
    assert_eq!(
        findings(json!({
            // A scheme is letters, digits and dashes: "status:" is a label.
            "authorization": "status: approved-by-admin",
            // Seven characters of credentials: a word, not a token.
            "proxyAuthorization": "Token expired",
        })),
        [""; 0]
    );
}

#[test]
fn a_random_looking_run_needs_a_digit() {
    // Letters alone are left to the key rule; the same run with a digit is a token.
    assert!(!looks_random(b"hTqZpLwMvXcRbNkJfYgDsQaVeUiOtHmW"));
    assert!(looks_random(b"hTqZpLwMvXcRbNkJfYgDsQaVeUiOtHm7"));
}

#[test]
fn a_run_whose_letters_are_half_words_is_not_random() {
    // `Moon` and `Star` are 8 of 16 letters; with `Moo` they are 7 of 15, under half.
    assert!(!looks_random(b"Kx71-Moon28-Qz93-Star46-Mj85-Tp50"));
    assert!(looks_random(b"Kx71-Moo28-Qz93-Star46-Mj85-Tp50"));
}

#[test]
fn a_repeated_pattern_is_not_random_however_few_words_it_has() {
    // No word-like letters, but three distinct bytes: 1.6 bits per character.
    assert_eq!(findings(json!({"note": "Zq7".repeat(12)})), [""; 0]);
}

#[test]
fn capitals_touching_a_digit_are_not_a_word() {
    // A licence-key-like token: `KQZM` between `7` and `-` stands against a digit.
    assert_eq!(
        findings(json!({"note": "7KQZM-3XRPL-9WDNT-5HJVB-8CGFS-2YTE"})),
        ["note (value looks like a random key or token)"]
    );
}

#[test]
fn a_random_run_is_a_token_up_to_512_characters_and_data_beyond() {
    let mut rng = fastrand::Rng::with_seed(5);
    let token = random_token(&mut rng, BASE62, 512);
    assert!(looks_random(token.as_bytes()));
    assert!(!looks_random(format!("{token}Q").as_bytes()));
}

#[test]
fn a_token_of_the_least_random_length_is_found_after_other_words() {
    // 32 characters, the shortest run the generic rule takes, in the second and third chunk.
    let token = "hTqZpLwMvXcRbNkJfYgDsQaVeUiOtHm7";
    assert_eq!(token.len(), 32);
    for text in [format!("token {token}"), format!("api key {token}")] {
        assert_eq!(findings(json!({"note": text})), ["note (value looks like a random key or token)"]);
    }
}

#[test]
fn a_token_prefix_only_mentioned_is_not_a_token() {
    // The prefix alone, then prose: what follows is not the token's alphabet.
    for text in [
        "ghp_ is the prefix of a classic personal access token",
        "github_pat_ is the prefix of a fine-grained personal access token",
        "xoxb- starts a Slack bot token, never paste one here",
        "hooks.slack.com/services/ is where incoming webhooks are posted",
        "sk_live_ keys stay on the server, never in a profile",
        "Bearer abc123",
        "Regards, Bob",
        "ABCD1234EFGH5678IJKL",
    ] {
        assert_eq!(findings(json!({"note": text})), [""; 0], "{text}");
    }
}

#[test]
fn a_token_prefix_inside_a_word_is_not_a_match() {
    assert_eq!(findings(json!({"note": "theAKIAIOSFODNN7EXAMPLE"})), [""; 0]);
    assert_eq!(
        findings(json!({"note": "key AKIAIOSFODNN7EXAMPLE, rotated"})),
        ["note (value looks like an AWS access key id)"]
    );
}

#[test]
fn known_formats_end_where_their_alphabet_ends() {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut part = |len| random_token(&mut rng, BASE62, len);
    // A Google key's 35 characters include `-` and `_`, and prose may follow it.
    let google = format!("AIza{}-{}_{}", part(10), part(12), part(11));
    let cases = [
        (format!("key={google}; rotate monthly"), "value looks like a Google API key"),
        // Slack's parts are joined by dashes, the first one short.
        ("xoxp-12345-67890-abcdef".to_owned(), "value looks like a Slack token"),
        // "bob:p>ss?w0rd": its base64 has `+`, `/` and padding.
        ("Basic Ym9iOnA+c3M/dzByZA==".to_owned(), "value looks like an Authorization header"),
        // "alice:s3cret", then a note.
        ("Basic YWxpY2U6czNjcmV0 (alice)".to_owned(), "value looks like an Authorization header"),
    ];
    for (text, reason) in cases {
        assert_eq!(findings(json!({"note": text})), [format!("note ({reason})")], "{text}");
    }
}

#[test]
fn basic_credentials_need_a_user_and_a_password_in_eight_characters_or_more() {
    // "alice:" has no password; "a:b" is too short to be read.
    for text in ["Basic YWxpY2U6", "Basic YTpi"] {
        assert_eq!(findings(json!({"note": text})), [""; 0], "{text}");
    }
}

#[test]
fn an_unsecured_jwt_has_exactly_one_dot_after_its_payload() {
    // {"alg":"none"} . {"sub":"1"} .
    let (header, payload) = ("eyJhbGciOiJub25lIn0", "eyJzdWIiOiIxIn0");
    assert_eq!(findings(json!({"note": format!("{header}.{payload}.")})), ["note (value looks like a JWT)"]);
    for text in [format!("{header}.{payload}"), format!("{header}.{payload}..")] {
        assert_eq!(findings(json!({"note": text})), [""; 0], "{text}");
    }
}

#[test]
fn a_jwt_header_is_read_up_to_4096_characters() {
    use base64::Engine;
    // A header whose base64url is `len` characters (a multiple of 4): `alg`, and a long `kid`.
    let token = |len: usize| {
        let empty = r#"{"alg":"HS256","kid":""}"#.len();
        let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(len / 4 * 3 - empty));
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
        assert_eq!(header.len(), len);
        format!("{header}.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
    };
    assert_eq!(findings(json!({"note": token(4096)})), ["note (value looks like a JWT)"]);
    assert_eq!(findings(json!({"note": token(4100)})), [""; 0]);
}

#[test]
fn each_url_in_a_text_is_read_on_its_own() {
    // The first URL's path does not swallow the second one's password.
    assert_eq!(
        findings(
            json!({"note": "docs https://example.com/docs and db https://alice:s3cret@db.example.com/app"})
        ),
        ["note (value is a URL with a password in it)"]
    );
    // A query straight after the host.
    assert_eq!(
        findings(json!({"note": "https://api.example.com?access_token=abcd1234efgh5678"})),
        ["note (value is a URL with a token in it)"]
    );
}

#[test]
fn a_urls_scheme_is_cut_off_a_token_glued_before_it() {
    let random = ["note (value looks like a random key or token)"];
    // The token ends at `=`: `https` is the URL's (with it, the run would read as words).
    assert_eq!(findings(json!({"note": "Kx71-Moo28-Qz93-Star46-Mj85-Tp50=https://example.com/"})), random);
    // Digits before the scheme's first letter stay with the token: here they are its only digit.
    assert_eq!(findings(json!({"note": "hTqZpLwMvXcRbNkJfYgDsQaVeUiOtHmW=2https://example.com/"})), random);
    // A URL pasted without its scheme still shows its password.
    assert_eq!(
        findings(json!({"note": "://alice:s3cret@db.example.com"})),
        ["note (value is a URL with a password in it)"]
    );
}

#[test]
fn a_token_run_straight_into_a_urls_scheme_is_still_a_token() {
    // No separator between them: the whole run was taken for the scheme, and nothing found.
    assert_eq!(
        findings(json!({"note": "hTq7ZpL2wMvX9cRbN4kJfY8gDsQ3aVeUhttps://example.com/"})),
        ["note (value looks like a random key or token)"]
    );
    // A scheme up to 20 characters is a scheme: a long one with a random-looking path is an
    // address, and its password is still found from `://`.
    assert_eq!(
        findings(json!({"link": "chrome-extension://kbfnbcaeplbcioakkpcpgfkobkghlhen/popup.html"})),
        [""; 0]
    );
    assert_eq!(
        findings(json!({"note": "hTq7ZpL2wMvX9cRbN4kJfY8gDsQ3aVeUpostgres://alice:s3cret@db.example.com"})),
        ["note (value looks like a random key or token)"]
    );
    assert_eq!(
        findings(json!({"note": "abcdefghijklmnopqrstuvwxyzpostgres://alice:s3cret@db.example.com"})),
        ["note (value is a URL with a password in it)"]
    );
}

#[test]
fn a_discord_webhook_url_is_a_secret_its_documentation_is_not() {
    let token = "Xq3vB8nR2kLp9sT4wY7zA1cE6gH0jM5oQ-uI_dF8bN3xK7vC2mZ9pL4rS1tW6yE0aG5hJ8";
    let phrase = ["hook (value looks like a Discord webhook URL)"];
    for host in ["discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"] {
        let url = format!("https://{host}/api/webhooks/1234567890123456789/{token}");
        assert_eq!(findings(json!({ "hook": url })), phrase, "{url}");
    }
    for docs in ["https://discord.com/api/webhooks", "https://discord.com/developers/docs/resources/webhook"]
    {
        assert_eq!(findings(json!({ "hook": docs })), [""; 0], "{docs}");
    }
}
