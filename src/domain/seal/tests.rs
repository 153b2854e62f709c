use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use serde_json::json;

use super::*;

/// 32 bytes that differ, as a real key's do (one byte repeated is refused as no secret).
fn key_bytes(byte: u8) -> [u8; KEY_BYTES] {
    std::array::from_fn(|at| byte.wrapping_add((at as u8).wrapping_mul(37)))
}

fn key(kid: &str, byte: u8) -> Key {
    Key::new(kid, key_bytes(byte))
}

fn set(keys: Vec<Key>) -> KeySet {
    KeySet::new(keys).unwrap()
}

const IV: [u8; IV_BYTES] = [7; IV_BYTES];

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn forge(header: Value, rest_from: &str) -> String {
    let header_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_string(&header).unwrap());
    let rest: Vec<&str> = rest_from.split('.').skip(1).collect();
    format!("{header_b64}.{}", rest.join("."))
}

#[test]
fn every_kind_of_json_value_comes_back_as_the_same_json() {
    let keys = set(vec![key("k1", 1)]);
    for value in
        [json!("DE123"), json!(42), json!(1.50), json!({"a": [1, null, true]}), json!([]), json!(null)]
    {
        let token = seal(&value, keys.sealing_key(), IV);
        assert!(is_sealed(&token), "{token}");
        assert_eq!(open(&token, &keys).unwrap(), value);
    }
    let number = parse_value("1E5").unwrap();
    let token = seal(&number, keys.sealing_key(), IV);
    assert_eq!(serde_json::to_string(&open(&token, &keys).unwrap()).unwrap(), "1E5");
}

#[test]
fn the_header_is_dir_a256gcm_with_the_kid_and_json_content_type() {
    let token = seal(&json!("x"), &key("2026-12-ab12", 1), IV);
    assert_eq!(
        header_of(&token),
        json!({"alg": "dir", "enc": "A256GCM", "kid": "2026-12-ab12", "cty": "json"})
    );
    assert_eq!(token.split('.').nth(1), Some(""), "dir has an empty encrypted key");
    let compact = parse_compact(&token).unwrap();
    assert_eq!(compact.iv, IV);
}

#[test]
fn the_kid_picks_the_key_of_a_set_and_the_first_key_seals() {
    let old = key("old", 1);
    let new = key("new", 2);
    let keys = set(vec![new.clone(), old.clone()]);
    assert_eq!(keys.sealing_key().kid(), "new");
    let by_old = seal(&json!(1), &old, IV);
    assert_eq!(open(&by_old, &keys).unwrap(), json!(1));
}

#[test]
fn a_wrong_key_or_a_changed_byte_is_a_tag_mismatch_with_no_plaintext() {
    let token = seal(&json!("secret"), &key("k", 1), IV);
    assert_eq!(open(&token, &set(vec![key("k", 2)])), Err(OpenError::TagMismatch));
    let keys = set(vec![key("k", 1)]);
    let parts: Vec<&str> = token.split('.').collect();
    let mut ciphertext = URL_SAFE_NO_PAD.decode(parts[3]).unwrap();
    ciphertext[0] ^= 1;
    let tampered = format!("{}..{}.{}.{}", parts[0], parts[2], URL_SAFE_NO_PAD.encode(&ciphertext), parts[4]);
    assert_eq!(open(&tampered, &keys), Err(OpenError::TagMismatch));
    let mut tag = URL_SAFE_NO_PAD.decode(parts[4]).unwrap();
    tag[15] ^= 0x80;
    let tampered = format!("{}..{}.{}.{}", parts[0], parts[2], parts[3], URL_SAFE_NO_PAD.encode(tag));
    assert_eq!(open(&tampered, &keys), Err(OpenError::TagMismatch));
    // The header is authenticated: a changed header parameter fails too.
    let mut header = header_of(&token);
    header["cty"] = json!("application/json");
    assert_eq!(open(&forge(header, &token), &keys), Err(OpenError::TagMismatch));
}

#[test]
fn truncated_values_are_refused_by_shape() {
    let token = seal(&json!("secret"), &key("k", 1), IV);
    let keys = set(vec![key("k", 1)]);
    assert_eq!(open(&token[..token.rfind('.').unwrap()], &keys), Err(OpenError::NotCompact(4)));
    assert_eq!(
        open(&token[..token.len() - 2], &keys),
        Err(OpenError::BadPart { part: "tag", expected: TAG_BYTES })
    );
}

#[test]
fn other_algorithms_none_and_unknown_kids_are_refused() {
    let token = seal(&json!("secret"), &key("k", 1), IV);
    let keys = set(vec![key("k", 1)]);
    let with = |field: &str, value: Value| {
        let mut header = header_of(&token);
        header[field] = value;
        open(&forge(header, &token), &keys)
    };
    assert_eq!(with("alg", json!("none")), Err(OpenError::WrongAlg("\"none\"".into())));
    assert_eq!(with("alg", json!("A256KW")), Err(OpenError::WrongAlg("\"A256KW\"".into())));
    assert_eq!(with("enc", json!("A128GCM")), Err(OpenError::WrongEnc("\"A128GCM\"".into())));
    assert_eq!(with("enc", json!("A256CBC-HS512")), Err(OpenError::WrongEnc("\"A256CBC-HS512\"".into())));
    assert_eq!(with("zip", json!("DEF")), Err(OpenError::Unsupported("\"zip\" (compression)")));
    assert_eq!(with("kid", json!("other-team")), Err(OpenError::UnknownKid("other-team".into())));
    assert!(OpenError::UnknownKid(String::new()).is_foreign_key());
}

#[test]
fn a_value_without_a_kid_is_tried_with_every_key() {
    let token = seal(&json!("x"), &key("second", 2), IV);
    let mut header = header_of(&token);
    header.as_object_mut().unwrap().remove("kid");
    let without_kid = forge(header, &token);
    // The header is authenticated, so the forged one fails with every key...
    assert_eq!(
        open(&without_kid, &set(vec![key("first", 1), key("second", 2)])),
        Err(OpenError::NoKeyOpensIt { keys: 2 })
    );
    // ...while one sealed without a kid opens with whichever key made it.
    let keys = set(vec![key("first", 1), key("second", 2)]);
    let foreign = sealed_by_a_backend(b"\"x\"");
    assert_eq!(open(&foreign, &keys), Ok(json!("x")));
    assert_eq!(open_if_sealed(&foreign, &keys), Some(Ok(json!("x"))));
    assert_eq!(open_if_sealed("just text", &keys), None);
}

/// A value sealed by a backend with key 2 and no kid, holding `plaintext` as it is.
fn sealed_by_a_backend(plaintext: &[u8]) -> String {
    sealed_under_header(r#"{"alg":"dir","enc":"A256GCM"}"#, plaintext)
}

/// A value sealed with key 2 under the protected header `header`, as written.
fn sealed_under_header(header: impl AsRef<[u8]>, plaintext: &[u8]) -> String {
    let header_b64 = URL_SAFE_NO_PAD.encode(header);
    let cipher = Aes256Gcm::new(&key_bytes(2).into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&IV), Payload { msg: plaintext, aad: header_b64.as_bytes() })
        .unwrap();
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
    format!(
        "{header_b64}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(IV),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

#[test]
fn a_plaintext_with_a_key_twice_or_nested_too_deep_is_refused_as_every_document_is() {
    let keys = set(vec![key("second", 2)]);
    let twice = sealed_by_a_backend(br#"{"role":"admin","x":{"a":1},"role":"user"}"#);
    let error = open(&twice, &keys).unwrap_err();
    assert_eq!(error, OpenError::PlaintextDuplicateKey { line: 1, column: 29 });
    assert!(!error.to_string().contains("admin") && !error.to_string().contains("user"), "{error}");
    let deep = sealed_by_a_backend(format!("{}{}", "[".repeat(200), "]".repeat(200)).as_bytes());
    assert_eq!(
        open(&deep, &keys),
        Err(OpenError::PlaintextTooDeep(crate::domain::Limits::default().max_depth))
    );
    assert_eq!(open(&sealed_by_a_backend(b"{\"a\":"), &keys), Err(OpenError::PlaintextNotJson));
    // A NUL no save takes: `get --unseal > f; set USER f` failed on what opened (bb48 F4).
    let nul = sealed_by_a_backend(br#"{"v":"a\u0000b"}"#);
    assert_eq!(open(&nul, &keys), Err(OpenError::PlaintextNul));
    let fine = sealed_by_a_backend(br#"{"role":"user","x":{"role":1}}"#);
    assert_eq!(open(&fine, &keys), Ok(json!({"role": "user", "x": {"role": 1}})));
}

#[test]
fn a_jwt_is_not_sealed_and_any_jwe_is() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    assert!(!is_sealed(jwt));
    let token = seal(&json!(1), &key("k", 1), IV);
    assert!(is_sealed(&token));
    // RSA-OAEP with another team's key: still ciphertext.
    let mut header = header_of(&token);
    header["alg"] = json!("RSA-OAEP-256");
    let foreign = forge(header, &token).replacen("..", ".ZW5jcnlwdGVka2V5.", 1);
    assert!(is_sealed(&foreign));
    assert!(!is_sealed("a.b.c.d.e"));
}

/// bb48 F2: headers JOSE libraries refuse (joserfc, node jose) were opened: an array, whose
/// members serde read as the struct's fields, `zip` or `crit` of `null`, a `kid` of `null`.
#[test]
fn a_header_that_is_no_object_or_names_zip_or_a_kid_of_null_is_refused_before_any_key_is_tried() {
    let keys = set(vec![key("k2", 2)]);
    let card = br#""4111111111111111""#;
    let fine = sealed_under_header(r#"{"alg":"dir","enc":"A256GCM","kid":"k2"}"#, card);
    assert_eq!(open(&fine, &keys), Ok(json!("4111111111111111")));
    for header in
        [r#"["dir","A256GCM"]"#, r#"["dir","A256GCM","k2"]"#, r#"{"alg":"dir","enc":"A256GCM","kid":null}"#]
    {
        let token = sealed_under_header(header, card);
        assert_eq!(open(&token, &keys), Err(OpenError::BadHeader), "{header}");
        assert!(!is_sealed(&token) && summary(&token).is_none(), "{header}");
    }
    // A header that is not UTF-8, in a member custodian does not read: JOSE libraries refuse
    // it, and it was opened (bb93 F5).
    let token = sealed_under_header(b"{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"x\":\"\xff\"}", card);
    assert_eq!(open(&token, &keys), Err(OpenError::BadHeader));
    assert!(!is_sealed(&token) && summary(&token).is_none());
    for (header, member) in [
        (r#"{"alg":"dir","enc":"A256GCM","zip":null}"#, "\"zip\" (compression)"),
        (r#"{"alg":"dir","enc":"A256GCM","crit":null}"#, "\"crit\""),
    ] {
        let token = sealed_under_header(header, card);
        assert_eq!(open(&token, &keys), Err(OpenError::Unsupported(member)), "{header}");
    }
}

#[test]
fn summary_gives_kid_and_plaintext_size() {
    let token = seal(&json!("DE123456789"), &key("2026-12", 1), IV);
    assert_eq!(
        summary(&token),
        Some(SealedSummary { kid: Some("2026-12".into()), plaintext_bytes: "\"DE123456789\"".len() })
    );
    assert_eq!(summary("plain"), None);
}

#[test]
fn key_files_say_what_is_wrong() {
    assert!(matches!(KeySet::parse("nope"), Err(KeyFileError::NotJson(_))));
    // A member given twice: values were sealed under the second kid, and the same key under
    // the first could not open them (bb14 L08). A byte-order mark is named (L15).
    let twice = KeySet::parse(r#"{"kty":"oct","kid":"a","kid":"b","k":"AAAA"}"#).unwrap_err();
    assert_eq!(
        twice,
        KeyFileError::NotJson(
            "line 1, col 24: duplicate key \"kid\" in (top level); JSON keeps only one of them".into()
        )
    );
    let bom = KeySet::parse("\u{feff}{\"kty\":\"oct\"}").unwrap_err();
    assert!(bom.to_string().contains("byte-order mark (U+FEFF)"), "{bom}");
    assert_eq!(
        KeySet::parse(r#"{"kty":"RSA","n":"x"}"#).unwrap_err(),
        KeyFileError::NotOct { which: "the key".into(), found: "\"RSA\"".into() }
    );
    assert_eq!(
        KeySet::parse(r#"{"kty":"oct","kid":"a"}"#).unwrap_err(),
        KeyFileError::NoK { which: "the key".into() }
    );
    let short = URL_SAFE_NO_PAD.encode([1u8; 16]);
    assert_eq!(
        KeySet::parse(&format!(r#"{{"kty":"oct","kid":"a","k":"{short}"}}"#)).unwrap_err(),
        KeyFileError::WrongLength { which: "the key".into(), bits: 128 }
    );
    assert_eq!(KeySet::parse(r#"{"keys":[]}"#).unwrap_err(), KeyFileError::EmptySet);
    let jwk = key("a", 1).to_jwk();
    let keys = KeySet::parse(&jwk).unwrap();
    assert_eq!(keys.sealing_key().kid(), "a");
    assert_eq!(
        KeySet::parse(&format!(r#"{{"keys":[{jwk},{jwk}]}}"#)).unwrap_err(),
        KeyFileError::DuplicateKid("a".into())
    );
    assert!(!format!("{:?}", keys).contains(&URL_SAFE_NO_PAD.encode(key_bytes(1))));
}

#[test]
fn value_under_finds_the_innermost_value_a_key_counting_as_its_value() {
    let text = "{\n  \"billing\": {\"taxId\": \"DE1\", \"n\": [1, 22]},\n  \"x\": true\n}";
    let at = |needle: &str| text.find(needle).unwrap();
    let span = value_under(text, at("DE1")).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), ("\"DE1\"", "billing.taxId"));
    let span = value_under(text, at("taxId")).unwrap();
    assert_eq!(span.path, "billing.taxId");
    let span = value_under(text, at("22")).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), ("22", "billing.n[1]"));
    let span = value_under(text, at("billing")).unwrap();
    assert_eq!(&text[span.start..span.end], "{\"taxId\": \"DE1\", \"n\": [1, 22]}");
    assert_eq!(value_under(text, 0), None, "the document itself");
    assert_eq!(value_under("{\"a\": ", 3), None, "not JSON");
    // On the colon or the space after it (where Ctrl-F leaves the cursor after a key): the
    // member's value, as the editor's title says — it sealed the object around it.
    for gap in ["\"taxId\":", "\"taxId\": "] {
        let span = value_under(text, at(gap) + gap.len() - 1).unwrap();
        assert_eq!(
            (&text[span.start..span.end], span.path.as_str()),
            ("\"DE1\"", "billing.taxId"),
            "{gap:?}"
        );
    }
}

#[test]
fn every_fresh_iv_is_new_random_bits() {
    let ivs: Vec<[u8; IV_BYTES]> = (0..4).map(|_| fresh_iv().expect("random bytes")).collect();
    for (at, iv) in ivs.iter().enumerate() {
        assert!(ivs[at + 1..].iter().all(|other| other != iv), "{ivs:?}");
        assert!(iv.iter().any(|&b| b != iv[0]), "not one byte repeated: {iv:?}");
    }
}

/// A sealed value's other parts behind a protected header of exactly `chars` characters.
fn with_header_of(chars: usize) -> String {
    // base64url of n bytes without padding is ceil(4n / 3) characters: 3072 bytes are 4096.
    let frame = json!({"alg": "dir", "enc": "A256GCM", "kid": ""}).to_string();
    let kid = "k".repeat(chars.div_ceil(4) * 3 - frame.len());
    let token =
        forge(json!({"alg": "dir", "enc": "A256GCM", "kid": kid}), &seal(&json!("x"), &key("k", 1), IV));
    assert_eq!(token.split('.').next().map(str::len), Some(chars));
    token
}

#[test]
fn a_protected_header_of_up_to_4096_characters_is_read_and_a_longer_one_refused() {
    assert!(is_sealed(&with_header_of(4096)));
    let frame = r#"{"alg":"dir","enc":"A256GCM","kid":""}"#.len();
    assert_eq!(summary(&with_header_of(4096)).and_then(|s| s.kid).map(|kid| kid.len()), Some(3072 - frame));
    assert!(!is_sealed(&with_header_of(4100)));
    assert!(!is_sealed(&with_header_of(8192)));
}

#[test]
fn a_header_needs_both_alg_and_enc_as_strings_to_be_a_jwe() {
    let sealed = seal(&json!("x"), &key("k", 1), IV);
    for header in [
        json!({"alg": "dir", "kid": "k"}),
        json!({"enc": "A256GCM", "kid": "k"}),
        json!({"alg": 1, "enc": "A256GCM"}),
        json!({"alg": "dir", "enc": ["A256GCM"]}),
    ] {
        assert!(!is_sealed(&forge(header.clone(), &sealed)), "{header}");
    }
    assert!(is_sealed(&forge(json!({"alg": "RSA-OAEP", "enc": "A128GCM"}), &sealed)), "any JWE");
}

#[test]
fn a_value_with_a_character_outside_base64url_is_not_sealed_whichever_part_holds_it() {
    let sealed = seal(&json!("x"), &key("k", 1), IV);
    assert!(is_sealed(&sealed));
    let parts: Vec<&str> = sealed.split('.').collect();
    for part in [2, 3, 4] {
        for odd in [" ", "!", "+", "/", "=", "\u{e9}"] {
            let mut changed: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            changed[part].insert_str(1, odd);
            let text = changed.join(".");
            assert!(!is_sealed(&text), "{text}");
        }
    }
}

#[test]
fn a_jwk_must_say_alg_dir_if_it_says_an_alg_and_have_a_kid_that_is_not_empty() {
    let k = URL_SAFE_NO_PAD.encode(key_bytes(1));
    let parse = |members: &str| KeySet::parse(&format!(r#"{{"kty":"oct","k":"{k}"{members}}}"#));
    assert_eq!(
        parse(r#","kid":"a","alg":"dir""#).map(|keys| keys.sealing_key().kid().to_owned()),
        Ok("a".into())
    );
    assert_eq!(parse(r#","kid":"a""#).map(|keys| keys.sealing_key().kid().to_owned()), Ok("a".into()));
    assert_eq!(
        parse(r#","kid":"a","alg":"A256GCM""#).unwrap_err(),
        KeyFileError::WrongAlg { which: "the key".into(), found: "\"A256GCM\"".into() }
    );
    assert_eq!(parse("").unwrap_err(), KeyFileError::NoKid { which: "the key".into() });
    // A kid that is there but no name is said as what it is (`"kid": 5` was "has no kid": bb93 F7).
    for (kid, found) in [(r#","kid":"""#, "\"\""), (r#","kid":7"#, "7")] {
        let error = parse(kid).unwrap_err();
        assert_eq!(
            error,
            KeyFileError::KidNotAName { which: "the key".into(), found: found.into() },
            "{kid}"
        );
    }
    assert_eq!(
        KeySet::parse(r#"{"kty":"oct","k":12345,"kid":"a"}"#).unwrap_err().to_string(),
        "the key has \"k\" 12345, not a string (the key's bytes, base64url)"
    );
}

#[test]
fn a_key_set_lists_its_keys_in_the_files_order_and_a_key_shows_only_its_kid() {
    let keys = set(vec![key("new", 2), key("old", 1)]);
    let kids: Vec<&str> = keys.keys().iter().map(Key::kid).collect();
    assert_eq!(kids, ["new", "old"]);
    assert_eq!(format!("{:?}", key("2026-12-ab12", 1)), r#"Key { kid: "2026-12-ab12", .. }"#);
}

#[test]
fn value_under_steps_over_escapes_in_strings_keys_included() {
    // An escaped quote does not end a string, nor an escaped backslash hide the quote after it.
    let text = r#"{"a": "x\"y", "b\\": [1, "\\"]}"#;
    let at = |needle: &str| text.find(needle).unwrap();
    let span = value_under(text, at("y\"")).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), (r#""x\"y""#, "a"));
    let span = value_under(text, at("1,")).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), ("1", r#"["b\\"][0]"#));
    let span = value_under(text, text.len() - 4).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), (r#""\\""#, r#"["b\\"][1]"#));
}

#[test]
fn value_under_reads_strings_with_spaces_and_commas_and_nesting_up_to_200_levels() {
    let text = r#"{"a": "x, y] z", "b": 2}"#;
    let span = value_under(text, text.find('z').unwrap()).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.as_str()), (r#""x, y] z""#, "a"));
    // The innermost value at depth 200 is found; one level more is past the scanner's bound.
    let nested = |levels: usize| format!(r#"{{"a": {}1{}}}"#, "[".repeat(levels), "]".repeat(levels));
    let text = nested(199);
    let span = value_under(&text, text.find('1').unwrap()).unwrap();
    assert_eq!((&text[span.start..span.end], span.path.len()), ("1", "a".len() + 199 * "[0]".len()));
    let text = nested(200);
    assert_eq!(value_under(&text, text.find('1').unwrap()), None);
}

#[test]
fn value_under_a_text_with_a_missing_value_is_none_as_for_any_text_that_is_not_json() {
    for text in [r#"{"a": , "b": 1}"#, r#"{"a": [1, ], "b": 1}"#, r#"{"a": }"#] {
        assert_eq!(value_under(text, text.find('1').unwrap_or(2)), None, "{text}");
    }
}

mod damaged;
mod key_files;
mod paths;
