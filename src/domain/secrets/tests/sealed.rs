//! Sealed values and the lint: a JWE's ciphertext is no secret in the clear under any key,
//! whoever's key sealed it; a header and dots around a secret in the clear are no seal.

use super::*;

#[test]
fn a_sealed_value_is_not_a_finding_even_under_a_secret_key_or_with_another_teams_kid() {
    let ours = seal::seal(&json!("DE123456789"), &seal::Key::new("2026-12", [1; 32]), [2; 12]);
    let theirs = seal::seal(&json!({"pin": 1234}), &seal::Key::new("other-team", [9; 32]), [3; 12]);
    // A JWE made with a key-wrapping algorithm by someone else: five parts, alg and enc.
    let wrapped = format!(
        "{}.{}",
        "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0",
        ours.split_once('.').unwrap().1.replacen('.', "ZW5jcnlwdGVkLWtleS1ieXRlcw.", 1)
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
