//! Sealed values damaged or unusual in shape, and key files for the wrong use (bb67).

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use serde_json::json;

use super::*;

/// A sealed value damaged to four or six parts (its tag cut off, a part added) is refused by
/// shape where a whole document is opened, not read as plain text; a JWT, a dotted word and
/// plain text are not sealed at all (bb67 F1).
#[test]
fn a_sealed_value_damaged_to_four_or_six_parts_is_refused_where_a_document_is_opened() {
    let keys = set(vec![key("k", 1)]);
    let token = seal(&json!("DE123456789"), keys.sealing_key(), IV);
    let four = &token[..token.rfind('.').unwrap()];
    let six = format!("{token}.AAAA");
    assert_eq!(damaged_seal_parts(four), Some(4));
    assert_eq!(damaged_seal_parts(&six), Some(6));
    assert_eq!(open_if_sealed(four, &keys), Some(Err(OpenError::NotCompact(4))));
    assert_eq!(open_if_sealed(&six, &keys), Some(Err(OpenError::NotCompact(6))));
    assert_eq!(damaged_seal_parts(&token), None, "five parts: sealed, not damaged");
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    for plain in [jwt, "just.some.dotted.words.here.and.more", "plain text, not sealed at all"] {
        assert_eq!(damaged_seal_parts(plain), None, "{plain}");
        assert!(open_if_sealed(plain, &keys).is_none(), "{plain}");
    }
}

/// A JWE whose plaintext is empty (its ciphertext part empty: RFC 7516 allows it) is a sealed
/// value, refused as a plaintext that is not JSON; it was read as plain text (bb67 F1).
#[test]
fn a_sealed_empty_plaintext_is_sealed_and_refused_as_not_json() {
    use aes_gcm::aead::AeadInPlace;
    let keys = set(vec![key("k", 1)]);
    let token = seal(&json!(1), keys.sealing_key(), IV);
    let header_b64 = token.split('.').next().unwrap();
    let mut nothing: Vec<u8> = Vec::new();
    let cipher = Aes256Gcm::new_from_slice(&key_bytes(1)).unwrap();
    let tag = cipher
        .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&IV), header_b64.as_bytes(), &mut nothing)
        .unwrap();
    let empty = format!("{header_b64}..{}..{}", URL_SAFE_NO_PAD.encode(IV), URL_SAFE_NO_PAD.encode(tag));
    assert!(is_sealed(&empty), "{empty}");
    assert_eq!(open_if_sealed(&empty, &keys), Some(Err(OpenError::PlaintextNotJson)));
}

/// A key marked for signing, or whose key_ops leave out encrypting or decrypting, is refused:
/// custodian sealed with one, and joserfc, as a backend uses it, refuses to open what it
/// sealed (bb67 F2). `use: "enc"`, key_ops with both, and neither, are taken.
#[test]
fn a_jwk_for_signing_or_without_encrypt_and_decrypt_in_its_key_ops_is_refused() {
    let k = URL_SAFE_NO_PAD.encode(key_bytes(1));
    let parse = |members: &str| KeySet::parse(&format!(r#"{{"kty":"oct","k":"{k}","kid":"a"{members}}}"#));
    for taken in [
        "",
        r#","use":"enc""#,
        r#","key_ops":["encrypt","decrypt"]"#,
        r#","use":"enc","key_ops":["decrypt","encrypt","wrapKey"]"#,
    ] {
        assert!(parse(taken).is_ok(), "{taken}");
    }
    assert_eq!(
        parse(r#","use":"sig""#).unwrap_err(),
        KeyFileError::WrongUse { which: "the key".into(), found: "\"sig\"".into() }
    );
    for ops in [r#"["sign","verify"]"#, r#"["encrypt"]"#, r#""encrypt""#, "[]"] {
        assert_eq!(
            parse(&format!(r#","key_ops":{ops}"#)).unwrap_err(),
            KeyFileError::WrongKeyOps { which: "the key".into(), found: ops.into() },
            "{ops}"
        );
    }
    let said = parse(r#","use":"sig""#).unwrap_err().to_string();
    assert!(
        said.starts_with("the key has use \"sig\"; a key that seals and opens values must be for \"enc\""),
        "{said}"
    );
}
