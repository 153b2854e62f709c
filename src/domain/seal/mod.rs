//! Sealed values: a customData value encrypted in place as a standard JWE (RFC 7516 compact
//! serialization, `alg: dir`, `enc: A256GCM`), so a backend holding the same key opens it with
//! the JOSE library it already has, while front ends that read customData see only ciphertext.
//!
//! # Format
//!
//! `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`: the
//! protected header is `{"alg":"dir","enc":"A256GCM","kid":"…","cty":"json"}`, the encrypted
//! key part is empty (`dir`: the key itself is the content key), the IV is 96 random bits, the
//! additional authenticated data is the ASCII of the encoded header (RFC 7516 §5.1 step 14), and
//! the plaintext is the value's compact JSON text (`"DE123"`, `42`, `{"a":1}`), so any JSON
//! value comes back as the same JSON. `cty: "json"` says so to a backend (RFC 7515 §4.1.10: the
//! short form of `application/json`); opening accepts a value without it, or with
//! `application/json`, and any other `cty` too as long as the plaintext is JSON text.
//!
//! # Keys
//!
//! A key file is a JWK (`{"kty":"oct","k":…,"kid":…,"alg":"dir"}`, 256 bits) or a JWK Set
//! (`{"keys":[…]}`) for rotation: the first key seals, the `kid` in a value's header picks the
//! key that opens it. Reading the file (and its permissions) is the caller's; this module only
//! judges its text. Pure apart from [`fresh_iv`], which asks the operating system for random
//! bytes.

mod compact;
mod keys;
mod paths;
#[cfg(test)]
mod tests;
mod value_span;

use aes_gcm::aead::{Aead, AeadInPlace, Payload};
use aes_gcm::{Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use thiserror::Error;
use zeroize::Zeroize;

use super::custom_data::parse_value;
use super::scan::ScanFinding;
use compact::{compact_from, sealed_parts};

/// Bytes of an A256GCM key.
pub const KEY_BYTES: usize = 32;
/// Bytes of the IV (96 bits, what GCM is made for).
pub const IV_BYTES: usize = 12;
/// Bytes of the authentication tag.
pub const TAG_BYTES: usize = 16;
/// A protected header longer than this is not one custodian or a JOSE library wrote; refusing
/// it early keeps a hostile value from costing more than its length.
const MAX_HEADER_CHARS: usize = 4096;

pub use compact::{
    Compact, SealedSummary, could_be_ciphertext, damaged_seal_parts, header_texts, is_sealed, parse_compact,
    summary,
};
pub use keys::{Key, KeyFileError, KeySet};
pub use paths::{CannotOpen, SealPathError, open_all, seal_paths, sealed_inside, value_at_mut};
pub use value_span::{ValueSpan, value_under};

/// Why a sealed value cannot be opened. Never carries any of the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpenError {
    #[error("not a JWE compact value ({0} parts separated by dots, 5 expected)")]
    NotCompact(usize),
    #[error("the header is not base64url JSON")]
    BadHeader,
    #[error("the header has alg {0}; only \"dir\" is accepted")]
    WrongAlg(String),
    #[error("the header has enc {0}; only \"A256GCM\" is accepted")]
    WrongEnc(String),
    #[error("the header has {0}, which custodian does not support")]
    Unsupported(&'static str),
    #[error("the encrypted key part must be empty with alg \"dir\"")]
    EncryptedKeyPresent,
    #[error("the {part} is not {expected} bytes of base64url")]
    BadPart { part: &'static str, expected: usize },
    #[error("the ciphertext is not base64url")]
    BadCiphertext,
    /// A kid of a thousand characters was printed whole (bb77 F8): cut, with its length.
    #[error("no key with kid \"{}\" in the key file", crate::inert::cut_to_width(.0, 64))]
    UnknownKid(String),
    #[error(
        "the tag does not match — the value was changed, or the key is wrong (another key under the same kid?)"
    )]
    TagMismatch,
    /// A value that names no kid is tried with every key: "the key is wrong (another key under
    /// the same kid?)" said of it sent the operator to look for a kid it has not (bb93 F7).
    #[error(
        "no key of the key file opens it: it names no kid, and each of the {keys} keys was tried — the value was changed, or sealed with a key the file does not have"
    )]
    NoKeyOpensIt { keys: usize },
    #[error("the plaintext is not JSON text")]
    PlaintextNotJson,
    /// serde_json keeps the last of two; a backend in another language may take the first.
    #[error(
        "the plaintext has a key twice in one object (line {line}, col {column} of it): which one a backend reads depends on its JSON library"
    )]
    PlaintextDuplicateKey { line: usize, column: usize },
    #[error("the plaintext is nested deeper than {0} levels")]
    PlaintextTooDeep(usize),
    /// Deep enough alone, not where it sits: the document opened would be nested past the
    /// limit, and `get --unseal > f; set USER f` failed (bb93 F1).
    #[error(
        "the plaintext is nested {depth} levels, and it sits {sits} levels down: opened, the document would be nested deeper than {limit} levels"
    )]
    PlaintextTooDeepWhereItSits { depth: usize, sits: usize, limit: usize },
    /// No save takes it: `get --unseal > f; set USER f` failed on what opened (bb48 F4).
    #[error("the plaintext holds \\u0000, which no document may (PostgreSQL's jsonb refuses NUL characters)")]
    PlaintextNul,
}

impl OpenError {
    /// Whether the value is fine but sealed with a key this key file does not have (another
    /// team's): left sealed rather than refused where a whole document is opened.
    pub fn is_foreign_key(&self) -> bool {
        matches!(self, OpenError::UnknownKid(_))
    }
}

/// 96 random bits from the operating system, for one sealing.
pub fn fresh_iv() -> Result<[u8; IV_BYTES], getrandom::Error> {
    let mut iv = [0u8; IV_BYTES];
    getrandom::fill(&mut iv)?;
    Ok(iv)
}

/// Seals `value` with `key` and the given IV (a fresh one from [`fresh_iv`] for every value:
/// GCM with a repeated IV under one key gives the key away).
pub fn seal(value: &Value, key: &Key, iv: [u8; IV_BYTES]) -> String {
    // Serialising a Value cannot fail; with `arbitrary_precision` numbers keep their text.
    let plaintext = serde_json::to_string(value).unwrap_or_default();
    let header = serde_json::json!({"alg": "dir", "enc": "A256GCM", "kid": key.kid, "cty": "json"});
    let header_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_string(&header).unwrap_or_default());
    let payload = Payload { msg: plaintext.as_bytes(), aad: header_b64.as_bytes() };
    // Encryption with a 32-byte key fails only for a plaintext beyond GCM's 64 GiB limit,
    // which customData's 1 MiB cannot reach.
    let sealed = key.cipher().encrypt(Nonce::from_slice(&iv), payload).unwrap_or_default();
    let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(TAG_BYTES));
    format!(
        "{header_b64}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// Opens a sealed value: the JSON value it holds, or why not. Nothing of the plaintext leaves
/// unless the tag matched and the whole plaintext is JSON.
pub fn open(token: &str, keys: &KeySet) -> Result<Value, OpenError> {
    decrypt(parse_compact(token)?, keys)
}

/// [`open`] for a value that may not be sealed at all: `None` when it is not (any string that
/// is not a JWE), its opening otherwise. Reads the header once.
pub fn open_if_sealed(text: &str, keys: &KeySet) -> Option<Result<Value, OpenError>> {
    let Some((parts, header)) = sealed_parts(text) else {
        return damaged_seal_parts(text).map(|parts| Err(OpenError::NotCompact(parts)));
    };
    Some(compact_from(&parts, header).and_then(|compact| decrypt(compact, keys)))
}

fn decrypt(compact: Compact<'_>, keys: &KeySet) -> Result<Value, OpenError> {
    let Compact { header_b64, kid, iv, mut ciphertext, tag } = compact;
    let (aad, nonce, tag) = (header_b64.as_bytes(), Nonce::from_slice(&iv), Tag::from_slice(&tag));
    // GCM checks the tag before it decrypts anything: on a mismatch the buffer still holds
    // ciphertext (and is dropped).
    let plaintext = match &kid {
        Some(kid) => {
            let key = keys.by_kid(kid).ok_or_else(|| OpenError::UnknownKid(kid.clone()))?;
            key.cipher()
                .decrypt_in_place_detached(nonce, aad, &mut ciphertext, tag)
                .map_err(|_| OpenError::TagMismatch)?;
            ciphertext
        }
        // A value without a kid (not one custodian wrote) may be under any of the keys.
        None => keys
            .keys
            .iter()
            .find_map(|key| {
                let mut buffer = ciphertext.clone();
                key.cipher().decrypt_in_place_detached(nonce, aad, &mut buffer, tag).ok().map(|()| buffer)
            })
            .ok_or(OpenError::NoKeyOpensIt { keys: keys.keys.len() })?,
    };
    let mut plaintext = plaintext;
    let opened = std::str::from_utf8(&plaintext).map_err(|_| OpenError::PlaintextNotJson).and_then(|text| {
        // Held to the rules every document is (a repeated key, the depth), not only parsed.
        let depth = crate::domain::Limits::default().max_depth;
        match crate::domain::scan::scan(text, depth) {
            Some(ScanFinding::DuplicateKey { at, .. }) => {
                Err(OpenError::PlaintextDuplicateKey { line: at.line, column: at.column })
            }
            Some(ScanFinding::TooDeep { limit, .. }) => Err(OpenError::PlaintextTooDeep(limit)),
            Some(ScanFinding::NulCharacter { .. }) => Err(OpenError::PlaintextNul),
            _ => parse_value(text).map_err(|_| OpenError::PlaintextNotJson),
        }
    });
    // The decrypted bytes are wiped once read (the value returned is the caller's to keep).
    plaintext.zeroize();
    opened
}
