//! Sealed values and the lint: a JWE's ciphertext is no secret in the clear under any key,
//! whoever's key sealed it; a header and dots around a secret in the clear are no seal.

use super::*;

#[test]
fn a_sealed_value_is_not_a_finding_even_under_a_secret_key_or_with_another_teams_kid() {
    let ours = seal::seal(&json!("DE123456789"), &seal::Key::new("2026-12", [1; 32]), [2; 12]);
    let theirs = seal::seal(&json!({"pin": 1234}), &seal::Key::new("other-team", [9; 32]), [3; 12]);
    // A JWE made with a key-wrapping algorithm by someone else: five parts, alg and enc, and
    // an encrypted key of random-looking bytes.
    use base64::Engine;
    let encrypted_key: Vec<u8> = (0u32..256).map(|i| (i * 167 + 89) as u8).collect();
    let encrypted_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(encrypted_key);
    let wrapped = format!(
        "{}.{}",
        "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0",
        ours.split_once('.').unwrap().1.replacen('.', &format!("{encrypted_key}."), 1)
    );
    assert!(seal::is_sealed(&wrapped), "{wrapped}");
    let document = json!({
        "billing": {"taxId": ours},
        "apps": [{"token": theirs}, {"apiKey": wrapped.clone()}],
        "password": ours,
        "secrets": {"a": theirs},
        "note": wrapped,
    });
    assert_eq!(findings(document), Vec::<String>::new());
}

#[test]
fn a_known_token_dressed_as_a_sealed_value_is_still_a_finding() {
    let sealed = seal::seal(&json!("DE123456789"), &seal::Key::new("2026-12-3f9a", [1; 32]), [2; 12]);
    let parts: Vec<&str> = sealed.split('.').collect();
    // The header, IV and tag of a real seal around a GitHub token in the clear.
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let dressed = [parts[0], "", parts[2], token, parts[4]].join(".");
    assert!(seal::is_sealed(&dressed), "{dressed}");
    assert_eq!(findings(json!({"apiToken": dressed})).len(), 1);
    assert_eq!(findings(json!({"apiToken": sealed})), Vec::<String>::new(), "real ciphertext is no finding");
}

#[test]
fn a_header_and_dots_around_a_password_with_no_room_for_an_iv_or_tag_is_no_ciphertext() {
    // bb12 H05: `{"alg":"dir","enc":"A256GCM"}..x.hunter2.y` passed the lint as sealed, though
    // the opener refuses an IV or tag that short.
    let sealed = seal::seal(&json!("hunter2"), &seal::Key::new("k", [1; 32]), [2; 12]);
    let parts: Vec<&str> = sealed.split('.').collect();
    let fakes = [
        [parts[0], "", "x", "hunter2", "y"].join("."),
        [parts[0], "", parts[2], "hunter2", "y"].join("."),
        [parts[0], "", "x", "hunter2", parts[4]].join("."),
        // A ciphertext of a length no base64url text has.
        [parts[0], "", parts[2], "hunter2x1", parts[4]].join("."),
    ];
    for fake in fakes {
        assert!(seal::is_sealed(&fake) && !seal::could_be_ciphertext(&fake), "{fake}");
        assert_eq!(findings(json!({"password": fake})).len(), 1, "{fake}");
    }
    assert!(seal::could_be_ciphertext(&sealed));
    assert_eq!(findings(json!({"password": sealed})), Vec::<String>::new());
}

/// bb14: a full-length IV and tag of `AAAA…` around a secret base64url-encoded passed the
/// lint as ciphertext. Ciphertext of 16 bytes or more is never all printable text by chance;
/// every real seal of this run (fixed keys and IVs, so it cannot flake) still passes.
#[test]
fn readable_text_between_a_full_length_iv_and_tag_is_no_ciphertext_and_real_seals_still_are() {
    use base64::Engine;
    let sealed = seal::seal(&json!("x"), &seal::Key::new("k", [1; 32]), [2; 12]);
    let header = sealed.split('.').next().expect("a header");
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let secret = encode(b"\"correct horse battery staple\"");
    let fake = [header, "", &encode(&[0; 12]), &secret, &encode(&[0; 16])].join(".");
    assert!(seal::is_sealed(&fake) && !seal::could_be_ciphertext(&fake), "{fake}");
    assert_eq!(findings(json!({"password": fake})).len(), 1, "{fake}");
    // Short readable ciphertext is not judged: a real seal of a short value may be printable.
    let short = [header, "", &encode(&[0; 12]), &encode(b"\"hunter\""), &encode(&[0; 16])].join(".");
    assert!(seal::could_be_ciphertext(&short), "{short}");
    for i in 0u32..2000 {
        let mut key = [7u8; 32];
        key[..4].copy_from_slice(&i.to_le_bytes());
        let mut iv = [9u8; 12];
        iv[..4].copy_from_slice(&i.to_be_bytes());
        let value = json!(format!("a plaintext of some length, number {i}"));
        let real = seal::seal(&value, &seal::Key::new("k", key), iv);
        assert!(seal::could_be_ciphertext(&real), "seal {i}: {real}");
    }
}

#[test]
fn a_jwt_stays_a_finding_next_to_sealed_values() {
    let ours = seal::seal(&json!("x"), &seal::Key::new("k", [1; 32]), [2; 12]);
    assert_eq!(
        findings(json!({"sealed": ours, "session": jwt()})),
        vec!["session (value looks like a JWT)".to_owned()]
    );
}

/// bb48 F1: only the ciphertext part was read for printable text, and any IV of 12 bytes or
/// more and tag of 16 or more passed: a password in the IV, a GitHub token in the tag, a
/// Stripe key in the encrypted key part or in the header's `kid`, beside real ciphertext,
/// were stored as sealed and shown as `🔒 sealed`.
#[test]
fn a_secret_in_the_iv_tag_encrypted_key_or_header_of_a_sealed_value_is_still_a_finding() {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let sealed = seal::seal(&json!("DE123456789"), &seal::Key::new("k", [1; 32]), [2; 12]);
    let parts: Vec<&str> = sealed.split('.').collect();
    let kw_header = encode(br#"{"alg":"A256KW","enc":"A256GCM"}"#);
    let kid_header =
        encode(br#"{"alg":"dir","enc":"A256GCM","kid":"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}"#);
    let fakes = [
        // An IV of 52 bytes of text (GCM's is 12).
        [parts[0], "", &encode(b"db password: hunter2, AWS key AKIAIOSFODNN7EXAMPLE"), parts[3], parts[4]]
            .join("."),
        // A tag of the right length, all text.
        [parts[0], "", parts[2], parts[3], &encode(b"sk_live_abcdefgh")].join("."),
        // A tag longer than GCM's.
        [parts[0], "", parts[2], parts[3], &encode(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789")].join("."),
        // Text as a key-wrapping algorithm's encrypted key.
        [
            &kw_header,
            &encode(b"sk_live_abcdefghijklmnop1234 is the stripe key"),
            parts[2],
            parts[3],
            parts[4],
        ]
        .join("."),
    ];
    for fake in &fakes {
        assert!(seal::is_sealed(fake) && !seal::could_be_ciphertext(fake), "{fake}");
        assert_eq!(findings(json!({"password": fake})).len(), 1, "{fake}");
    }
    // A known token as the kid: the header is not encrypted.
    let kid = [&kid_header, "", parts[2], parts[3], parts[4]].join(".");
    assert!(seal::could_be_ciphertext(&kid), "{kid}");
    assert_eq!(findings(json!({"note": kid})), vec!["note (value looks like a GitHub token)".to_owned()]);
    // CBC-HMAC's sizes: a 16-byte IV and a 32-byte tag (A256CBC-HS512), random, are ciphertext.
    let cbc = encode(br#"{"alg":"dir","enc":"A256CBC-HS512"}"#);
    let random = |n: u32| -> Vec<u8> { (0..n).map(|i| (i * 151 + 7) as u8 | 0x80).collect() };
    let real_cbc = [&cbc, "", &encode(&random(16)), &encode(&random(48)), &encode(&random(32))].join(".");
    assert!(seal::could_be_ciphertext(&real_cbc), "{real_cbc}");
    assert_eq!(findings(json!({"password": real_cbc})), Vec::<String>::new());
    // A header's public members are random-looking by nature: an ECDH-ES `epk`'s coordinates,
    // a JWK thumbprint as the `kid`. Only known token formats there are findings.
    let ecdh = encode(
        br#"{"alg":"ECDH-ES","enc":"A256GCM","kid":"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs","epk":{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}}"#,
    );
    let from_a_backend = [&ecdh, "", parts[2], parts[3], parts[4]].join(".");
    assert!(seal::could_be_ciphertext(&from_a_backend), "{from_a_backend}");
    assert_eq!(findings(json!({"password": from_a_backend})), Vec::<String>::new());
    // An `alg` no registry names (a password in its place), and a member given twice (a
    // token hidden as the first of two `cty`), are no ciphertext.
    for header in [
        br#"{"alg":"hunter2","enc":"A256GCM"}"#.as_slice(),
        br#"{"alg":"dir","enc":"A256GCM","cty":"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB","cty":"json"}"#,
    ] {
        let fake = [&encode(header), "", parts[2], parts[3], parts[4]].join(".");
        assert!(!seal::could_be_ciphertext(&fake), "{fake}");
        assert_eq!(findings(json!({"password": fake})).len(), 1, "{fake}");
    }
    // An `enc` no JOSE registry names is no ciphertext.
    let odd = encode(br#"{"alg":"dir","enc":"X"}"#);
    assert!(!seal::could_be_ciphertext(&[&odd, "", parts[2], parts[3], parts[4]].join(".")));
}

/// The protected header is base64url, readable by anyone: a member named as a secret, or a URL
/// with its password, beside real ciphertext passed as sealed (bb93 F4).
#[test]
fn a_secret_in_the_clear_in_a_sealed_values_header_is_a_finding() {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let sealed = seal::seal(&json!("DE123456789"), &seal::Key::new("k", [1; 32]), [2; 12]);
    let rest = sealed.split_once('.').expect("five parts").1;
    for header in [
        r#"{"alg":"dir","enc":"A256GCM","password":"hunter2"}"#,
        r#"{"alg":"dir","enc":"A256GCM","db":"postgres://admin:s3cr3t@db/prod"}"#,
    ] {
        let dressed = format!("{}.{rest}", encode(header));
        assert!(seal::could_be_ciphertext(&dressed), "{header}");
        assert_eq!(findings(json!({"note": dressed})).len(), 1, "{header}");
    }
    // A placeholder, and the members JOSE libraries write, are no finding.
    for header in [
        r#"{"alg":"dir","enc":"A256GCM","password":"****"}"#,
        r#"{"alg":"dir","enc":"A256GCM","kid":"2026-12-3f9a1c0e57d2","cty":"json"}"#,
    ] {
        let dressed = format!("{}.{rest}", encode(header));
        assert_eq!(findings(json!({"note": dressed})), Vec::<String>::new(), "{header}");
    }
}
