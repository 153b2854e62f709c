//! Keys: a 256-bit key with its id, and the JWK or JWK Set of a key file that holds them.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;
use zeroize::Zeroize;

use super::KEY_BYTES;
use crate::domain::user::json_type_name;

/// A 256-bit key with its id. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct Key {
    pub(super) kid: String,
    bytes: [u8; KEY_BYTES],
    /// The key schedule, made once: opening every value of a document reuses it.
    cipher: Aes256Gcm,
}

impl Drop for Key {
    /// The key's bytes do not outlive it in memory (the cipher's own state is wiped by
    /// aes-gcm's `zeroize` feature).
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Key {
    pub fn new(kid: impl Into<String>, bytes: [u8; KEY_BYTES]) -> Self {
        Self { kid: kid.into(), cipher: Aes256Gcm::new(&bytes.into()), bytes }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK, the form `custodian keygen` writes.
    pub fn to_jwk(&self) -> String {
        let jwk = serde_json::json!({
            "kty": "oct",
            "kid": self.kid,
            "alg": "dir",
            "use": "enc",
            "k": URL_SAFE_NO_PAD.encode(self.bytes),
        });
        // Serialising a map of strings cannot fail.
        serde_json::to_string_pretty(&jwk).unwrap_or_default()
    }

    pub(super) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }
}

/// The keys of a key file: the first seals, any opens the values that name its `kid`.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub(super) keys: Vec<Key>,
}

/// What is wrong with a key file's text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFileError {
    #[error(
        "not JSON ({0}); a key file holds a JWK or a JWK Set (make one with `custodian keygen --out FILE`)"
    )]
    NotJson(String),
    #[error("not a JWK or a JWK Set: the top level is {0}, an object is expected")]
    NotAnObject(&'static str),
    #[error("the JWK Set has no keys")]
    EmptySet,
    #[error("{which} has kty {found}, custodian needs \"oct\" (a symmetric key)")]
    NotOct { which: String, found: String },
    #[error("{which} has no \"k\" (the key's bytes, base64url)")]
    NoK { which: String },
    /// `"k": 12345` was said to be no `k` at all (bb93 F7).
    #[error("{which} has \"k\" {found}, not a string (the key's bytes, base64url)")]
    KNotAString { which: String, found: String },
    #[error("{which}: \"k\" is not base64url without padding")]
    KNotBase64 { which: String },
    #[error("{which} is {bits} bits long; A256GCM needs a 256-bit key")]
    WrongLength { which: String, bits: usize },
    /// `{"keys": {…}}`: a JWK Set's `keys` is an array (bb77 F8).
    #[error("\"keys\" is {0}; a JWK Set holds its keys in an array: {{\"keys\": [{{…}}, …]}}")]
    KeysNotAnArray(&'static str),
    /// A key of one byte repeated (32 zero bytes, a test fixture's): anyone opens what it
    /// sealed without the key file (bb77 F6).
    #[error(
        "{which} {}: anyone could guess it, and open what it sealed; make a key with `custodian keygen`",
        if *distinct == 1 { "is one byte repeated 32 times".to_owned() } else { format!("is no random key (its 32 bytes: {distinct} distinct values, printable text or counting up)") }
    )]
    NoSecret { which: String, distinct: usize },
    #[error("{which} has alg {found}; custodian seals with \"dir\" (or no alg)")]
    WrongAlg { which: String, found: String },
    #[error("{which} has no \"kid\" (sealed values name their key by it)")]
    NoKid { which: String },
    #[error("{which} has \"kid\" {found}, not a name (sealed values name their key by it)")]
    KidNotAName { which: String, found: String },
    /// A key marked for signing: custodian would seal with it, and a backend's JOSE library
    /// (joserfc) refuses to open what it sealed (bb67 F2).
    #[error(
        "{which} has use {found}; a key that seals and opens values must be for \"enc\" (or say no use): a backend's JOSE library refuses to decrypt with a key marked otherwise"
    )]
    WrongUse { which: String, found: String },
    #[error(
        "{which} has key_ops {found}; a key that seals and opens values needs \"encrypt\" and \"decrypt\" among them (or no key_ops): a backend's JOSE library refuses to decrypt with it otherwise"
    )]
    WrongKeyOps { which: String, found: String },
    #[error("two keys have kid \"{0}\"; a kid must pick one key")]
    DuplicateKid(String),
}

impl KeySet {
    pub fn new(keys: Vec<Key>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// Reads a JWK or a JWK Set.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
        // Two `kid`s (or `k`s) in one key: which one counts is not custodian's to guess.
        if let Some(problem) = crate::domain::scan::refused_before_parse(text) {
            return Err(KeyFileError::NotJson(problem));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| KeyFileError::NotJson(e.to_string()))?;
        let Value::Object(top) = value else {
            return Err(KeyFileError::NotAnObject(json_type_name(&value)));
        };
        let keys = match top.get("keys") {
            Some(Value::Array(items)) => {
                let mut keys = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let which = format!("key {} of the set", index + 1);
                    let Value::Object(jwk) = item else {
                        return Err(KeyFileError::NotAnObject(json_type_name(item)));
                    };
                    let key = key_from_jwk(jwk, &which)?;
                    if keys.iter().any(|k: &Key| k.kid == key.kid) {
                        return Err(KeyFileError::DuplicateKid(key.kid.clone()));
                    }
                    keys.push(key);
                }
                keys
            }
            // A set whose `keys` is no array was read as a bare JWK, and said "kty missing".
            Some(other) => return Err(KeyFileError::KeysNotAnArray(json_type_name(other))),
            None => vec![key_from_jwk(&top, "the key")?],
        };
        Self::new(keys).ok_or(KeyFileError::EmptySet)
    }

    /// The key that seals: the first.
    pub fn sealing_key(&self) -> &Key {
        &self.keys[0]
    }

    pub fn by_kid(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }
}

fn key_from_jwk(jwk: &Map<String, Value>, which: &str) -> Result<Key, KeyFileError> {
    let shown = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    match jwk.get("kty") {
        Some(Value::String(kty)) if kty == "oct" => {}
        Some(other) => return Err(KeyFileError::NotOct { which: which.to_owned(), found: shown(other) }),
        None => return Err(KeyFileError::NotOct { which: which.to_owned(), found: "missing".to_owned() }),
    }
    match jwk.get("alg") {
        None => {}
        Some(Value::String(alg)) if alg == "dir" => {}
        Some(other) => return Err(KeyFileError::WrongAlg { which: which.to_owned(), found: shown(other) }),
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(usage)) if usage == "enc" => {}
        Some(other) => return Err(KeyFileError::WrongUse { which: which.to_owned(), found: shown(other) }),
    }
    if let Some(ops) = jwk.get("key_ops") {
        let has = |op: &str| ops.as_array().is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some(op)));
        if !(has("encrypt") && has("decrypt")) {
            return Err(KeyFileError::WrongKeyOps { which: which.to_owned(), found: shown(ops) });
        }
    }
    let k = match jwk.get("k") {
        Some(Value::String(k)) => k,
        Some(other) => {
            return Err(KeyFileError::KNotAString { which: which.to_owned(), found: shown(other) });
        }
        None => return Err(KeyFileError::NoK { which: which.to_owned() }),
    };
    let bytes =
        URL_SAFE_NO_PAD.decode(k).map_err(|_| KeyFileError::KNotBase64 { which: which.to_owned() })?;
    let bytes: [u8; KEY_BYTES] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::WrongLength { which: which.to_owned(), bits: bytes.len() * 8 })?;
    // 32 random bytes hold 16 or more different values but once in 10^15 tries, are all
    // printable ASCII once in 10^13, and count up by one never: a test vector (00 01 … 1f), an
    // ASCII fixture (`0123456789abcdef` twice) or a key mostly zeros is no secret (bb79 F5).
    let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
    let printable = bytes.iter().all(|b| (0x20..0x7f).contains(b));
    let counting = bytes.windows(2).all(|pair| pair[1] == pair[0].wrapping_add(1));
    if distinct < 16 || printable || counting {
        return Err(KeyFileError::NoSecret { which: which.to_owned(), distinct });
    }
    let kid = match jwk.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
        None => return Err(KeyFileError::NoKid { which: which.to_owned() }),
        Some(other) => {
            return Err(KeyFileError::KidNotAName { which: which.to_owned(), found: shown(other) });
        }
    };
    Ok(Key::new(kid, bytes))
}
