//! A secret named with its form (`passwordValue`), by an everyday short name (`pw`), in a
//! look-alike spelling (a soft hyphen, full-width letters), and a JSON Web Key holding its
//! private part (bb77 F1, F4).

use super::*;

/// bb77 F1: custodian's own sealing key (what `keygen` writes) stored as customData passed
/// about one time in eight, as a random token the lint did not take it for.
#[test]
fn a_json_web_key_with_its_private_or_secret_part_is_a_finding_and_a_public_one_is_not() {
    // Not a random-looking `k`: the JWK's shape is the finding, whatever its text.
    let oct = json!({"kty": "oct", "kid": "2026-12-783f", "alg": "dir", "use": "enc", "k": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
    assert_eq!(
        findings(json!({"backendKey": oct.clone()})),
        ["backendKey (value is a JSON Web Key with its private or secret part)"]
    );
    assert_eq!(
        findings(json!({"keys": [oct.clone()]})),
        ["keys[0] (value is a JSON Web Key with its private or secret part)"]
    );
    assert_eq!(
        findings(oct),
        ["the whole document (value is a JSON Web Key with its private or secret part)"]
    );
    // A post-quantum key's private part (bb79 F4).
    let akp = json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": "aGVsbG8", "priv": "c2VjcmV0"});
    assert_eq!(findings(json!({ "pq": akp })).len(), 1);
    let ec_private = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "jpsQnnGQmL-YBIffH1136cLNn7WEAx2vYdvXl1ZA5qE"});
    assert_eq!(findings(json!({"signing": ec_private})).len(), 1);
    assert_eq!(
        findings(json!({"rsa": {"kty": "RSA", "n": "0vx7", "e": "AQAB", "p": "83i-7IvMGXoMXCskv"}})).len(),
        1
    );
    for document in [
        // Public keys: what a front end may hold.
        json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}),
        json!({"rsa": {"kty": "RSA", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W", "e": "AQAB"}}),
        // Not a key: no `kty`; a placeholder in place of the secret.
        json!({"k": "a", "d": "2026-01-01"}),
        json!({"key": {"kty": "oct", "k": "********"}}),
    ] {
        assert!(findings(document.clone()).is_empty(), "{document}");
    }
}

/// bb77 F4: the nested `{"password": {"value": …}}` was found and `passwordValue` passed.
#[test]
fn a_secret_key_followed_by_the_form_its_value_is_written_in_is_a_finding() {
    for (key, value) in [
        ("passwordValue", "hunter2"),
        ("passwordPlain", "hunter2"),
        ("password_plaintext", "hunter2"),
        ("clientSecretValue", "hunter2"),
        ("accessTokenValue", "abcd1234efgh"),
        ("apiKeyRaw", "abcd1234efgh5678"),
        ("passwordBase64", "aHVudGVyMg=="),
        ("privateKeyHex", "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
        ("socialSecurityNumberPlaintext", "078-05-1120"),
    ] {
        assert_eq!(findings(json!({ key: value })).len(), 1, "{key}");
    }
    // A form word after something that is no secret, or after a word that names something
    // about the secret, is what it was.
    for (key, value) in [
        ("publicKeyHex", "04a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"),
        ("colorValue", "#ff0000ff"),
        ("passwordUpdatedAtValue", "2026-01-01T00:00:00Z"),
        ("tokenCountValue", "12345678"),
        ("rawValue", "hello world"),
        ("value", "hunter2"),
    ] {
        assert!(findings(json!({ key: value })).is_empty(), "{key}");
    }
}

/// bb77 F4: everyday names for a password, a wallet's recovery words and a card number; each
/// held to what such a value looks like (12 words, digits that pass the Luhn check).
#[test]
fn everyday_names_of_a_password_a_wallets_words_and_a_card_number_are_findings() {
    let words =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    for document in [
        json!({"pw": "hunter2"}),
        json!({"mnemonic": words}),
        json!({"walletMnemonic": words}),
        json!({"recoveryPhrase": words}),
        json!({"card": "4242 4242 4242 4242"}),
        json!({"cc": "4242424242424242"}),
    ] {
        assert_eq!(findings(document.clone()).len(), 1, "{document}");
    }
    // bb79 F3: everyday data the first version of these rules refused.
    for document in [
        json!({"bypass": "cache"}),
        json!({"battlePass": "gold"}),
        json!({"pass": true}),
        json!({"quiz": {"pass": 12, "fail": 3}}),
        json!({"exam": {"pass": "70%"}}),
        json!({"quiz": {"passValue": 60}}),
        json!({"ui": {"menu": {"file": {"mnemonic": "F", "label": "File"}}}}),
        json!({"asm": {"mnemonic": "MOV"}}),
        json!({"card": "visa"}),
        json!({"cc": "me@example.com"}),
        json!({"card": "123456789012"}),
        json!({"cc": "4242 4242 4242 4241"}),
        json!({"giftCard": "spring-sale"}),
        json!({"icon": {"kty": "svg", "d": "M10 10 L20 20"}}),
    ] {
        assert!(findings(document.clone()).is_empty(), "{document}");
    }
}

/// bb77 F4: `password` with a soft hyphen, a zero-width space or in full-width letters read
/// as no sensitive word.
#[test]
fn a_sensitive_word_spelled_with_invisible_characters_or_full_width_letters_is_found() {
    for key in [
        "pass\u{ad}word",
        "pass\u{200b}word",
        "\u{ff50}\u{ff41}\u{ff53}\u{ff53}\u{ff57}\u{ff4f}\u{ff52}\u{ff44}",
        "api\u{200d}Key",
    ] {
        assert!(key_kind(key).is_some(), "{key:?}");
    }
    // Other words of other scripts stay as they are.
    assert_eq!(key_kind("Пароль"), None);
    assert_eq!(key_kind("größe"), None);
    assert_eq!(key_kind("καλημέρα"), None);
}

/// bb79 F4: misses right beside the fixed cases — two form words, other form words, and
/// letters drawn as ASCII ones other than full-width; each is found, and everyday keys that
/// end the same way are not.
#[test]
fn two_form_words_other_form_words_and_other_look_alike_letters_are_found() {
    for key in [
        "password_value_plain",
        "passwordValueHex",
        "passwordClear",
        "passwordCleartext",
        "passwordString",
        "passwordEncrypted",
        "clientSecretValueBase64",
        // Mathematical bold, circled and small-capital letters.
        "\u{1d429}\u{1d41a}\u{1d42c}\u{1d42c}\u{1d430}\u{1d428}\u{1d42b}\u{1d41d}",
        "\u{24df}\u{24d0}\u{24e2}\u{24e2}\u{24e6}\u{24de}\u{24e1}\u{24d3}",
        "\u{1d18}\u{1d00}\u{a731}\u{a731}\u{1d21}\u{1d0f}\u{280}\u{1d05}",
        // A no-break space and an em dash where a space or a hyphen is passed over.
        "pass\u{a0}word",
        "pass\u{2014}word",
        // Cyrillic `а` and `о` in a Latin word.
        "p\u{430}ssw\u{43e}rd",
        // bb82 F6: squared letters, an accent on a look-alike, three form words in a row.
        "\u{1f13f}\u{1f130}\u{1f142}\u{1f142}\u{1f146}\u{1f13e}\u{1f141}\u{1f133}",
        "passw\u{43e}\u{301}rd",
        "passwordValueValueValue",
        "api\u{41a}ey",
    ] {
        assert!(key_kind(key).is_some(), "{key:?}");
        assert_eq!(findings(json!({ key: "hunter2hunter2" })).len(), 1, "{key:?}");
    }
    for key in ["queryString", "colorString", "autoClear", "cacheEncrypted", "orderValueHex", "diskEncrypted"]
    {
        assert_eq!(key_kind(key), None, "{key}");
    }
}
