//! Key files that are no key to seal with, and what is said of them (bb77 F6, F8).

use super::*;

/// bb77 F8: a set whose `keys` is no array was read as a bare JWK ("kty missing"); an empty
/// `--seal` path was said as nothing; a kid of a thousand characters was printed whole.
#[test]
fn a_key_set_an_empty_path_and_a_long_kid_are_said_as_what_they_are() {
    let jwk = key("a", 1).to_jwk();
    assert_eq!(
        KeySet::parse(&format!(r#"{{"keys": {jwk}}}"#)).unwrap_err().to_string(),
        r#""keys" is an object; a JWK Set holds its keys in an array: {"keys": [{…}, …]}"#
    );
    assert_eq!(
        SealPathError::NotFound(String::new()).to_string(),
        r#"the empty path "": no such value in the document"#
    );
    let said = OpenError::UnknownKid("K".repeat(1000)).to_string();
    assert!(said.len() < 200 && said.contains("KKK…"), "{said}");
}

/// bb77 F6: a key of 32 zero bytes (copied from an example, a test fixture) was taken, and
/// what it sealed anyone could open without the key file.
#[test]
fn a_key_of_one_byte_repeated_is_refused_as_no_secret() {
    let parse = |bytes: [u8; KEY_BYTES]| {
        KeySet::parse(&format!(r#"{{"kty":"oct","kid":"a","k":"{}"}}"#, URL_SAFE_NO_PAD.encode(bytes)))
    };
    assert_eq!(
        parse([0; KEY_BYTES]).unwrap_err(),
        KeyFileError::NoSecret { which: "the key".into(), distinct: 1 }
    );
    assert_eq!(
        parse([0; KEY_BYTES]).unwrap_err().to_string(),
        "the key is one byte repeated 32 times: anyone could guess it, and open what it sealed; make a key with `custodian keygen`"
    );
    let seven: [u8; KEY_BYTES] = std::array::from_fn(|at| (at % 7) as u8);
    assert!(matches!(parse(seven), Err(KeyFileError::NoSecret { distinct: 7, .. })));
    // bb79 F5: a test vector counting up, an ASCII fixture, a key mostly zeros.
    let counting: [u8; KEY_BYTES] = std::array::from_fn(|at| at as u8);
    let ascii: [u8; KEY_BYTES] = *b"0123456789abcdef0123456789abcdef";
    let mostly_zeros: [u8; KEY_BYTES] = std::array::from_fn(|at| if at < 25 { 0 } else { at as u8 * 7 });
    for weak in [counting, ascii, mostly_zeros] {
        assert!(matches!(parse(weak), Err(KeyFileError::NoSecret { .. })), "{weak:?}");
    }
    assert!(parse(key_bytes(1)).is_ok());
}
