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
fn sealed_under_header(header: &str, plaintext: &[u8]) -> String {
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
fn paths_in_the_lint_style_find_values_keys_with_dots_included() {
    let mut object = json!({"billing": {"taxId": "DE1"}, "apps": [{}, {}, {"token": "t"}], "a.b": {"c": 1}})
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(value_at_mut(&mut object, "billing.taxId"), Some(&mut json!("DE1")));
    assert_eq!(value_at_mut(&mut object, "apps[2].token"), Some(&mut json!("t")));
    assert_eq!(value_at_mut(&mut object, "a.b.c"), Some(&mut json!(1)));
    assert_eq!(value_at_mut(&mut object, "apps[3]"), None);
    assert_eq!(value_at_mut(&mut object, "billing.nope"), None);
    // An index as the lint writes it, or none (bb48: `apps[02]` was `apps[2]`).
    for other in ["apps[02].token", "apps[+2].token", "apps[ 2].token", "apps[].token"] {
        assert_eq!(value_at_mut(&mut object, other), None, "{other}");
    }
    assert_eq!(value_at_mut(&mut object, "apps[0]"), Some(&mut json!({})));
}

#[test]
fn a_path_that_names_two_values_is_refused_and_nothing_is_sealed() {
    let keys = set(vec![key("k", 1)]);
    for (document, path) in [
        (json!({"billing": {"taxId": "DE1"}, "billing.taxId": "junk"}), "billing.taxId"),
        (json!({"a": ["secret"], "a[0]": "x"}), "a[0]"),
        (json!({"x": {"y.z": 1, "y": {"z": 2}}}), "x.y.z"),
    ] {
        let mut object = document.as_object().unwrap().clone();
        let sealed = seal_paths::<()>(&mut object, &[path.to_owned()], keys.sealing_key(), || Ok(IV));
        assert_eq!(sealed, Ok(Err(SealPathError::Ambiguous(path.into()))), "{document}");
        assert_eq!(Value::Object(object), document, "nothing sealed");
    }
    // One value by that path, and a key that only begins like it: sealed.
    let mut object = json!({"billing": {"taxId": "DE1"}, "billing.taxIdOld": "x", "a[0]": "y"})
        .as_object()
        .unwrap()
        .clone();
    let paths = ["billing.taxId".to_owned(), "a[0]".to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing"]["taxId"].as_str().is_some_and(is_sealed));
    assert!(object["a[0]"].as_str().is_some_and(is_sealed));
    assert_eq!(object["billing.taxIdOld"], json!("x"));
}

/// A path the lint writes names one value, whatever the keys hold: a key that would read as
/// something else is quoted (`["billing.taxId"]`), and `--seal` given it seals that value
/// alone where the plain spelling names two (bb26 T04).
#[test]
fn a_quoted_key_names_that_key_alone_and_is_the_way_past_an_ambiguous_path() {
    let keys = set(vec![key("k", 1)]);
    let document = json!({"billing": {"taxId": "DE1"}, "billing.taxId": "DE2", "x": {"": {"a]b": 3}}});
    let mut object = document.as_object().unwrap().clone();
    assert_eq!(value_at_mut(&mut object, r#"["billing.taxId"]"#), Some(&mut json!("DE2")));
    assert_eq!(value_at_mut(&mut object, r#"x[""]["a]b"]"#), Some(&mut json!(3)));
    assert_eq!(value_at_mut(&mut object, r#"["billing"].taxId"#), Some(&mut json!("DE1")));
    assert_eq!(value_at_mut(&mut object, r#"["nope"]"#), None);
    // The lint's own path for each value reads back to it.
    let lint: Vec<String> = crate::domain::secrets::find_secrets(
        &json!({"a.b": {"password": "hunter2hunter2"}}).as_object().unwrap().clone(),
    )
    .into_iter()
    .map(|finding| finding.path)
    .collect();
    assert_eq!(lint, [r#"["a.b"].password"#]);
    let paths = [r#"["billing.taxId"]"#.to_owned(), r#"x[""]["a]b"]"#.to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing.taxId"].as_str().is_some_and(is_sealed));
    assert!(object["x"][""]["a]b"].as_str().is_some_and(is_sealed));
    assert_eq!(object["billing"]["taxId"], json!("DE1"), "the other value stays as it is");
}

/// A key holding a hidden character is printed quoted, that character as a JSON escape, and
/// that path seals it alone; a path as a screen marks it (`zw\u{200b}k`) reads as the key it
/// shows too, and where a key spells the marker itself it names both: refused. It sealed the
/// key spelling the marker, the real secret left in clear (bb28 R01).
#[test]
fn a_key_holding_a_hidden_character_is_sealed_by_the_lints_path_and_never_its_look_alike() {
    let keys = set(vec![key("k", 1)]);
    let document = json!({"zw\u{200b}k": {"password": "REAL"}, "zw\\u{200b}k": {"password": "decoy"}, "tab\tk": {"password": "T"}});
    let lint: Vec<String> = crate::domain::secrets::find_secrets(document.as_object().unwrap())
        .into_iter()
        .map(|finding| finding.path)
        .collect();
    assert_eq!(lint, [r#"["zw\u200bk"].password"#, r#"["zw\\u{200b}k"].password"#, r#"["tab\tk"].password"#]);
    let mut object = document.as_object().unwrap().clone();
    let paths = [r#"["zw\u200bk"].password"#.to_owned(), r#"["tab\tk"].password"#.to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["zw\u{200b}k"]["password"].as_str().is_some_and(is_sealed));
    assert!(object["tab\tk"]["password"].as_str().is_some_and(is_sealed));
    assert_eq!(object["zw\\u{200b}k"]["password"], json!("decoy"));
    // The marked form names both keys: nothing sealed.
    let marked = r"zw\u{200b}k.password";
    let mut object = document.as_object().unwrap().clone();
    let sealed = seal_paths::<()>(&mut object, &[marked.to_owned()], keys.sealing_key(), || Ok(IV));
    assert_eq!(sealed, Ok(Err(SealPathError::Ambiguous(marked.into()))));
    assert_eq!(Value::Object(object), document);
    // Without the look-alike, the marked form reaches the key it shows.
    let mut object = json!({"tab\tk": {"password": "T"}}).as_object().unwrap().clone();
    seal_paths::<()>(&mut object, &["tab␉k.password".to_owned()], keys.sealing_key(), || Ok(IV))
        .unwrap()
        .unwrap();
    assert!(object["tab\tk"]["password"].as_str().is_some_and(is_sealed));
}

#[test]
fn seal_paths_then_open_all_round_trips_and_keeps_foreign_values_sealed() {
    let keys = set(vec![key("k", 1)]);
    let original = json!({"billing": {"taxId": "DE1"}, "apps": [{"token": "t"}], "n": 5});
    let mut object = original.as_object().unwrap().clone();
    let paths = vec!["billing.taxId".to_owned(), "apps[0].token".to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing"]["taxId"].as_str().is_some_and(is_sealed));
    assert_eq!(
        seal_paths::<()>(&mut object, &paths[..1], keys.sealing_key(), || Ok(IV)).unwrap(),
        Err(SealPathError::AlreadySealed("billing.taxId".into()))
    );
    let foreign = seal(&json!("theirs"), &key("other", 9), IV);
    object.insert("theirs".into(), Value::String(foreign.clone()));
    let left = open_all(&mut object, &keys).unwrap();
    assert_eq!(
        left,
        vec![CannotOpen { path: "theirs".into(), error: OpenError::UnknownKid("other".into()) }]
    );
    object.remove("theirs");
    assert_eq!(Value::Object(object), original);
}

#[test]
fn paths_named_twice_or_one_inside_another_are_said_so_before_anything_is_sealed() {
    // bb14 L16: sealed one after another, `a a` said "a: already sealed" and `b b.c` said
    // "b.c: no such value", of values the input has in clear.
    let keys = set(vec![key("k", 1)]);
    let original = json!({"a": "x", "b": {"c": "y"}, "list": [1, 2]}).as_object().unwrap().clone();
    let cases: [(&[&str], SealPathError); 4] = [
        (&["a", "a"], SealPathError::Twice("a".into())),
        (&["b", "b.c"], SealPathError::Inside("b.c".into(), "b".into())),
        (&["b.c", "b"], SealPathError::Inside("b.c".into(), "b".into())),
        (&["a", "list[1]", "list"], SealPathError::Inside("list[1]".into(), "list".into())),
    ];
    for (paths, error) in cases {
        let mut object = original.clone();
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Err(error));
        assert_eq!(object, original, "{paths:?}: nothing sealed");
    }
    // Beside each other, and a key that only starts like another, both seal.
    let mut object = json!({"b": {"c": 1, "cd": 2}}).as_object().unwrap().clone();
    let paths = ["b.c".to_owned(), "b.cd".to_owned()];
    assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Ok(()));
}

#[test]
fn a_value_holding_a_sealed_value_is_not_sealed_and_one_sealed_so_before_opens_whole() {
    // bb12 H04: `plan` sealed over its sealed `seats` came out of `get --unseal` with `seats`
    // still sealed, and nothing said.
    let keys = set(vec![key("k", 1)]);
    let seats = seal(&json!(3), keys.sealing_key(), IV);
    let mut object =
        json!({"plan": {"tier": "pro", "seats": seats}, "tags": ["a", seats]}).as_object().unwrap().clone();
    let before = object.clone();
    for (path, inner) in [("plan", "plan.seats"), ("tags", "tags[1]")] {
        assert_eq!(
            seal_paths::<()>(&mut object, &[path.to_owned()], keys.sealing_key(), || Ok(IV)).unwrap(),
            Err(SealPathError::HoldsSealed(path.into(), inner.into()))
        );
    }
    assert_eq!(object, before, "nothing sealed");
    assert_eq!(sealed_inside(&json!({"a": [1, {"b": "x"}]}), "p"), None);
    assert_eq!(sealed_inside(&json!(seats.clone()), "p"), None, "a sealed value itself holds none");
    // Sealed so by an older custodian: every layer opens.
    let plan = seal(&json!({"tier": "pro", "seats": seats}), keys.sealing_key(), IV);
    let twice = seal(&json!({"plan": plan}), keys.sealing_key(), IV);
    let mut object = json!({"wrapped": twice}).as_object().unwrap().clone();
    assert!(open_all(&mut object, &keys).unwrap().is_empty());
    assert_eq!(Value::Object(object), json!({"wrapped": {"plan": {"tier": "pro", "seats": 3}}}));
}

#[test]
fn open_all_names_the_path_of_a_value_that_fails() {
    let keys = set(vec![key("k", 1)]);
    let bad = seal(&json!("t"), &key("k", 2), IV);
    let mut object = json!({"apps": [{}, {}, {"token": bad}]}).as_object().unwrap().clone();
    let error = open_all(&mut object, &keys).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot open apps[2].token: the tag does not match — the value was changed, or the key is wrong (another key under the same kid?)"
    );
}
#[test]
fn a_jwe_shape_around_clear_text_is_sealed_as_the_text_it_is_and_opens_back_to_it() {
    // The lint calls it a secret (no ciphertext), and `--seal` / Ctrl-L called it already
    // sealed: neither a save nor a seal took it (bb93 F3).
    let keys = set(vec![key("k", 1)]);
    let real = seal(&json!("hunter2"), keys.sealing_key(), IV);
    let parts: Vec<&str> = real.split('.').collect();
    let dressed = [parts[0], "", "x", "hunter2", "y"].join(".");
    assert!(is_sealed(&dressed) && !could_be_ciphertext(&dressed));
    let mut object =
        json!({"password": dressed, "box": {"inner": dressed}, "real": real}).as_object().unwrap().clone();
    let paths = ["password".to_owned(), "box".to_owned()];
    assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Ok(()));
    assert!(object["password"].as_str().is_some_and(could_be_ciphertext), "sealed now");
    // Real ciphertext is still sealed already.
    let again = seal_paths::<()>(&mut object, &["real".to_owned()], keys.sealing_key(), || Ok(IV)).unwrap();
    assert_eq!(again, Err(SealPathError::AlreadySealed("real".into())));
    // Opened, each is the text it was (not opened again as a JWE that is none).
    assert!(open_all(&mut object, &keys).unwrap().is_empty());
    assert_eq!(
        Value::Object(object),
        json!({"password": dressed, "box": {"inner": dressed}, "real": "hunter2"})
    );
}

#[test]
fn open_all_holds_an_opened_value_to_the_depth_a_document_may_have_where_it_sits() {
    // Each part deep enough alone: `get --unseal` printed 121 levels, which `set` refused
    // (bb93 F1).
    let keys = set(vec![key("k", 1)]);
    let nest = |levels: usize, inner: Value| (0..levels).fold(inner, |inner, _| json!([inner]));
    // The value sits under `a` and 30 arrays: 31 levels hold it; a plaintext of 33 arrays
    // would make 64 levels, one of 34 65.
    for (plaintext_levels, opens) in [(33, true), (34, false)] {
        let sealed = seal(&nest(plaintext_levels, json!(1)), keys.sealing_key(), IV);
        let mut object = json!({"a": nest(30, Value::String(sealed))}).as_object().unwrap().clone();
        let opened = open_all(&mut object, &keys);
        assert_eq!(opened.is_ok(), opens, "{plaintext_levels}: {opened:?}");
        if opens {
            let text = serde_json::to_string(&Value::Object(object)).unwrap();
            assert!(crate::domain::CustomData::parse(&text).is_ok(), "what opened is a document `set` takes");
        } else {
            let said = opened.unwrap_err().to_string();
            assert!(
                said.ends_with(
                    "the plaintext is nested 34 levels, and it sits 31 levels down: opened, the document would be nested deeper than 64 levels"
                ),
                "{said}"
            );
        }
    }
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

#[test]
fn a_long_path_is_said_cut_in_every_seal_message() {
    // A 100 KB path made a 100 KB line (bb93 F6).
    let keys = set(vec![key("k", 1)]);
    let long = "k".repeat(5_000);
    let sealed = seal(&json!(1), keys.sealing_key(), IV);
    let mut object = json!({ long.clone(): sealed }).as_object().unwrap().clone();
    let cut = format!("{}… (a path of 5000 characters)", "k".repeat(200));
    for (paths, said) in [
        (vec![long.clone()], format!("{cut}: already sealed")),
        (
            vec![format!("{long}x")],
            format!("{}… (a path of 5001 characters): no such value in the document", "k".repeat(200)),
        ),
    ] {
        let error =
            seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap_err();
        assert_eq!(error.to_string(), said);
    }
    let other = set(vec![key("k", 2)]);
    let error = open_all(&mut object, &other).unwrap_err().to_string();
    assert!(error.starts_with(&format!("cannot open {cut}: ")) && error.len() < 600, "{error}");
}
