//! Random-looking runs that are public by what they are, so the generic rule passes them: a
//! public key (an OpenSSH key line's blob, a DER SubjectPublicKeyInfo in base64) and a Bitcoin
//! address (Base58Check, its checksum verified). Each was refused as "a random key or token"
//! (bb17 L05), where PEM public keys and `0x` addresses already passed. A private key never
//! starts like these: PKCS#8 (`MC4CAQAw…`, `MIIEv…`) and OpenSSH's private format are not among
//! them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The base64 of the DER header of a SubjectPublicKeyInfo, by key type.
const SPKI_PREFIXES: &[&str] = &[
    "MCowBQYDK2VwAyEA",                             // Ed25519
    "MCowBQYDK2VuAyEA",                             // X25519
    "MEMwBQYDK2VxAzoA",                             // Ed448
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",         // P-256
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE",             // P-384
    "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAE",             // secp256k1
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", // RSA 2048
    "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEA", // RSA 3072
    "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA", // RSA 4096
];

/// Whether `token` is a public key or a public address (see the module's comment).
pub(super) fn is_public_id(token: &[u8]) -> bool {
    SPKI_PREFIXES.iter().any(|prefix| token.starts_with(prefix.as_bytes()))
        || is_ssh_public_key_blob(token)
        || is_bitcoin_address(token)
}

/// An OpenSSH public key's blob: base64 of a length-prefixed key type (`ssh-ed25519`,
/// `ssh-rsa`, `ecdsa-sha2-nistp256`, `sk-ssh-ed25519@openssh.com`).
fn is_ssh_public_key_blob(token: &[u8]) -> bool {
    let Some(head) = token.get(..32) else { return false };
    let Ok(bytes) = STANDARD.decode(head) else { return false };
    let length = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let name = &bytes[4..];
    (7..=40).contains(&length)
        && [&b"ssh-"[..], b"ecdsa-sha2-", b"sk-ssh-", b"sk-ecdsa-"].iter().any(|kind| name.starts_with(kind))
}

/// A Bitcoin address in Base58Check (`1…`, `3…`; testnet `m…`, `n…`, `2…`): 25 bytes whose last
/// four are the first four of the double SHA-256 of the rest.
fn is_bitcoin_address(token: &[u8]) -> bool {
    if !(26..=35).contains(&token.len()) {
        return false;
    }
    let Some(bytes) = base58(token) else { return false };
    let Ok(bytes): Result<[u8; 25], _> = bytes.try_into() else { return false };
    let (payload, checksum) = bytes.split_at(21);
    let digest = Sha256::digest(Sha256::digest(payload));
    matches!(payload[0], 0x00 | 0x05 | 0x6f | 0xc4) && digest[..4] == *checksum
}

/// Bitcoin's base58 (no `0`, `O`, `I`, `l`), big-endian, each leading `1` a zero byte.
fn base58(text: &[u8]) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut number: Vec<u8> = Vec::new();
    for &c in text {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for byte in number.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            number.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.iter().take_while(|&&c| c == b'1').count();
    let mut out = vec![0; zeros];
    out.extend(number);
    Some(out)
}
