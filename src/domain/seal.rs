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

use std::fmt;

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;
use zeroize::Zeroize;

use super::custom_data::parse_value;
use super::user::json_type_name;

/// Bytes of an A256GCM key.
pub const KEY_BYTES: usize = 32;
/// Bytes of the IV (96 bits, what GCM is made for).
pub const IV_BYTES: usize = 12;
/// Bytes of the authentication tag.
pub const TAG_BYTES: usize = 16;
/// A protected header longer than this is not one custodian or a JOSE library wrote; refusing
/// it early keeps a hostile value from costing more than its length.
const MAX_HEADER_CHARS: usize = 4096;

/// A 256-bit key with its id. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct Key {
    kid: String,
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

    fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }
}

/// The keys of a key file: the first seals, any opens the values that name its `kid`.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<Key>,
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
    #[error("{which}: \"k\" is not base64url without padding")]
    KNotBase64 { which: String },
    #[error("{which} is {bits} bits long; A256GCM needs a 256-bit key")]
    WrongLength { which: String, bits: usize },
    #[error("{which} has alg {found}; custodian seals with \"dir\" (or no alg)")]
    WrongAlg { which: String, found: String },
    #[error("{which} has no \"kid\" (sealed values name their key by it)")]
    NoKid { which: String },
    #[error("two keys have kid \"{0}\"; a kid must pick one key")]
    DuplicateKid(String),
}

impl KeySet {
    pub fn new(keys: Vec<Key>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// Reads a JWK or a JWK Set.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
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
            _ => vec![key_from_jwk(&top, "the key")?],
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
    let Some(Value::String(k)) = jwk.get("k") else {
        return Err(KeyFileError::NoK { which: which.to_owned() });
    };
    let bytes =
        URL_SAFE_NO_PAD.decode(k).map_err(|_| KeyFileError::KNotBase64 { which: which.to_owned() })?;
    let bytes: [u8; KEY_BYTES] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::WrongLength { which: which.to_owned(), bits: bytes.len() * 8 })?;
    let kid = match jwk.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
        _ => return Err(KeyFileError::NoKid { which: which.to_owned() }),
    };
    Ok(Key::new(kid, bytes))
}

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
    #[error("no key with kid \"{0}\" in the key file")]
    UnknownKid(String),
    #[error("the tag does not match — the value was changed or the key is wrong")]
    TagMismatch,
    #[error("the plaintext is not JSON text")]
    PlaintextNotJson,
}

impl OpenError {
    /// Whether the value is fine but sealed with a key this key file does not have (another
    /// team's): left sealed rather than refused where a whole document is opened.
    pub fn is_foreign_key(&self) -> bool {
        matches!(self, OpenError::UnknownKid(_))
    }
}

/// The parts of a JWE compact value, checked for shape (not yet decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact<'a> {
    /// The encoded protected header: the additional authenticated data.
    pub header_b64: &'a str,
    pub kid: Option<String>,
    pub iv: [u8; IV_BYTES],
    pub ciphertext: Vec<u8>,
    pub tag: [u8; TAG_BYTES],
}

/// Reads `token` as a `dir` + `A256GCM` JWE compact value, refusing anything else.
pub fn parse_compact(token: &str) -> Result<Compact<'_>, OpenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, ..] = parts[..] else {
        return Err(OpenError::NotCompact(parts.len()));
    };
    if parts.len() != 5 {
        return Err(OpenError::NotCompact(parts.len()));
    }
    let header = Header::decode(header_b64).ok_or(OpenError::BadHeader)?;
    compact_from(&parts, header)
}

/// The checks of [`parse_compact`] once the five parts are split and the header decoded.
fn compact_from<'a>(parts: &[&'a str], header: Header) -> Result<Compact<'a>, OpenError> {
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(OpenError::NotCompact(parts.len()));
    };
    if header.alg.as_deref() != Some("\"dir\"") {
        return Err(OpenError::WrongAlg(shown(header.alg.as_deref())));
    }
    if header.enc.as_deref() != Some("\"A256GCM\"") {
        return Err(OpenError::WrongEnc(shown(header.enc.as_deref())));
    }
    // A header parameter the reader must understand, or a compressed plaintext: refused, as
    // RFC 7516 asks of an implementation that does not support them.
    if header.crit {
        return Err(OpenError::Unsupported("\"crit\""));
    }
    if header.zip {
        return Err(OpenError::Unsupported("\"zip\" (compression)"));
    }
    let kid = header.kid;
    if !encrypted_key.is_empty() {
        return Err(OpenError::EncryptedKeyPresent);
    }
    let iv = decode_exact::<IV_BYTES>(iv).ok_or(OpenError::BadPart { part: "IV", expected: IV_BYTES })?;
    let tag =
        decode_exact::<TAG_BYTES>(tag).ok_or(OpenError::BadPart { part: "tag", expected: TAG_BYTES })?;
    let ciphertext = URL_SAFE_NO_PAD.decode(ciphertext).map_err(|_| OpenError::BadCiphertext)?;
    Ok(Compact { header_b64, kid, iv, ciphertext, tag })
}

/// A parameter as the messages show it: its JSON text, or `missing`.
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "missing".to_owned(), ToOwned::to_owned)
}

/// The parameters of a protected header that custodian reads. `alg` and `enc` are kept as
/// their JSON text when they are not strings (`"alg": 1`), so a refusal can say what was there.
#[derive(Debug, Default)]
struct Header {
    alg: Option<String>,
    enc: Option<String>,
    kid: Option<String>,
    crit: bool,
    zip: bool,
}

/// The header's members as written, read with strings borrowed where they can be.
#[derive(serde::Deserialize)]
struct HeaderFields<'a> {
    #[serde(borrow, default)]
    alg: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    enc: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    zip: Option<serde::de::IgnoredAny>,
}

impl Header {
    /// The header of an encoded protected header, or `None` when it is not base64url JSON
    /// (an object whose `kid`, if any, is a string).
    fn decode(header_b64: &str) -> Option<Self> {
        if header_b64.len() > MAX_HEADER_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
        // Typed first: no map is built for the headers custodian and JOSE libraries write. A
        // header whose `alg` or `enc` is not a string is read again as a map, to show it.
        if let Ok(fields) = serde_json::from_slice::<HeaderFields<'_>>(&bytes) {
            return Some(Header {
                alg: fields.alg.map(|a| json_string(&a)),
                enc: fields.enc.map(|e| json_string(&e)),
                kid: fields.kid.map(std::borrow::Cow::into_owned),
                crit: fields.crit.is_some(),
                zip: fields.zip.is_some(),
            });
        }
        let map: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
        let text = |name: &str| map.get(name).map(|v| serde_json::to_string(v).unwrap_or_default());
        let kid = match map.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return None,
        };
        Some(Header {
            alg: text("alg"),
            enc: text("enc"),
            kid,
            crit: map.contains_key("crit"),
            zip: map.contains_key("zip"),
        })
    }

    /// Whether `alg` and `enc` are both strings: what makes a JWE's header.
    fn says_encrypted(&self) -> bool {
        let string = |v: &Option<String>| v.as_deref().is_some_and(|v| v.starts_with('"'));
        string(&self.alg) && string(&self.enc)
    }
}

/// A string as JSON text (`dir` → `"dir"`), the form the messages and checks use.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Longer text cannot decode to N bytes: refused before decoding anything.
    if text.len() > N * 4 / 3 + 2 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok()?.as_slice().try_into().ok()
}

/// Whether `text` is a JWE compact value (five parts, a header that says how it is encrypted):
/// ciphertext, whatever its algorithm or key, so never a secret in the clear. A JWS or JWT (three
/// parts, or a header without `enc`) is not.
pub fn is_sealed(text: &str) -> bool {
    sealed_parts(text).is_some()
}

/// The five parts and the header of a JWE compact value (see [`is_sealed`]), or `None`.
fn sealed_parts(text: &str) -> Option<(Vec<&str>, Header)> {
    // The lint asks this of every string: the bytes decide first, the header is decoded last.
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let mut dots = 0;
    for &b in bytes {
        match b {
            b'.' => dots += 1,
            b'-' | b'_' => {}
            _ if b.is_ascii_alphanumeric() => {}
            _ => return None,
        }
    }
    if dots != 4 {
        return None;
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts[2..].iter().any(|part| part.is_empty()) {
        return None;
    }
    let header = Header::decode(parts[0]).filter(Header::says_encrypted)?;
    Some((parts, header))
}

/// What can be said of a sealed value without its key: for the short form shown in place of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSummary {
    pub kid: Option<String>,
    /// Bytes of the plaintext (GCM's ciphertext is exactly as long).
    pub plaintext_bytes: usize,
}

/// The kid and size of a sealed value, or `None` when `text` is not one.
pub fn summary(text: &str) -> Option<SealedSummary> {
    if !is_sealed(text) {
        return None;
    }
    let mut parts = text.split('.');
    let header = Header::decode(parts.next()?)?;
    let ciphertext = parts.nth(2)?;
    Some(SealedSummary { kid: header.kid, plaintext_bytes: ciphertext.len() * 3 / 4 })
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
    let (parts, header) = sealed_parts(text)?;
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
            .ok_or(OpenError::TagMismatch)?,
    };
    let mut plaintext = plaintext;
    let opened = std::str::from_utf8(&plaintext)
        .ok()
        .and_then(|text| parse_value(text).ok())
        .ok_or(OpenError::PlaintextNotJson);
    // The decrypted bytes are wiped once read (the value returned is the caller's to keep).
    plaintext.zeroize();
    opened
}

/// One step of a path in the lint's style: `.key` or `[index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Why a path of `--seal` cannot be sealed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealPathError {
    #[error("{0}: no such value in the document")]
    NotFound(String),
    #[error("{0}: already sealed")]
    AlreadySealed(String),
}

/// The value at `path` (`billing.taxId`, `apps[2].token`, the lint's format). A key holding a
/// dot or a bracket is found too: at each object the longest key that fits is taken.
pub fn value_at_mut<'a>(object: &'a mut Map<String, Value>, path: &str) -> Option<&'a mut Value> {
    let mut steps = Vec::new();
    resolve(object, path, &mut steps)?;
    let mut steps = steps.into_iter();
    let Some(Step::Key(first)) = steps.next() else { return None };
    let mut current = object.get_mut(&first)?;
    for step in steps {
        current = match step {
            Step::Key(key) => current.as_object_mut()?.get_mut(&key)?,
            Step::Index(index) => current.as_array_mut()?.get_mut(index)?,
        };
    }
    Some(current)
}

/// Finds the steps of `rest` through `object` (read-only, so the borrow ends before writing).
fn resolve(object: &Map<String, Value>, rest: &str, steps: &mut Vec<Step>) -> Option<()> {
    // Every key of this object that `rest` starts with, followed by the end, `.` or `[`.
    let mut fitting: Vec<&String> = object
        .keys()
        .filter(|key| {
            rest.strip_prefix(key.as_str())
                .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
        })
        .collect();
    fitting.sort_by_key(|key| std::cmp::Reverse(key.len()));
    for key in fitting {
        let depth = steps.len();
        steps.push(Step::Key(key.clone()));
        if resolve_value(&object[key.as_str()], &rest[key.len()..], steps).is_some() {
            return Some(());
        }
        steps.truncate(depth);
    }
    None
}

fn resolve_value(value: &Value, rest: &str, steps: &mut Vec<Step>) -> Option<()> {
    if rest.is_empty() {
        return Some(());
    }
    if let Some(after) = rest.strip_prefix('[') {
        let (digits, after) = after.split_once(']')?;
        let index: usize = digits.parse().ok()?;
        let item = value.as_array()?.get(index)?;
        steps.push(Step::Index(index));
        return resolve_value(item, after, steps);
    }
    let after = rest.strip_prefix('.')?;
    resolve(value.as_object()?, after, steps)
}

/// Seals the values at `paths`, each with a fresh IV from `next_iv`. All or nothing: on an
/// error `object` may be partly sealed, so callers drop it.
pub fn seal_paths<E>(
    object: &mut Map<String, Value>,
    paths: &[String],
    key: &Key,
    mut next_iv: impl FnMut() -> Result<[u8; IV_BYTES], E>,
) -> Result<Result<(), SealPathError>, E> {
    for path in paths {
        let Some(value) = value_at_mut(object, path) else {
            return Ok(Err(SealPathError::NotFound(path.clone())));
        };
        if value.as_str().is_some_and(is_sealed) {
            return Ok(Err(SealPathError::AlreadySealed(path.clone())));
        }
        *value = Value::String(seal(value, key, next_iv()?));
    }
    Ok(Ok(()))
}

/// A sealed value that could not be opened, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot open {path}: {error}")]
pub struct CannotOpen {
    pub path: String,
    pub error: OpenError,
}

/// Opens every sealed value in `object` in place. A value sealed with a kid the key set does
/// not have stays sealed and is listed in the answer; any other failure is an error (and
/// `object` should then be dropped: some values may be open).
pub fn open_all(object: &mut Map<String, Value>, keys: &KeySet) -> Result<Vec<CannotOpen>, CannotOpen> {
    let mut left_sealed = Vec::new();
    let mut path = String::new();
    open_object(object, keys, &mut path, &mut left_sealed)?;
    Ok(left_sealed)
}

fn open_object(
    object: &mut Map<String, Value>,
    keys: &KeySet,
    path: &mut String,
    left: &mut Vec<CannotOpen>,
) -> Result<(), CannotOpen> {
    for (key, value) in object.iter_mut() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        open_value(value, keys, path, left)?;
        path.truncate(len);
    }
    Ok(())
}

fn open_value(
    value: &mut Value,
    keys: &KeySet,
    path: &mut String,
    left: &mut Vec<CannotOpen>,
) -> Result<(), CannotOpen> {
    match value {
        Value::String(text) => match open_if_sealed(text, keys) {
            None => {}
            Some(Ok(opened)) => *value = opened,
            Some(Err(error)) if error.is_foreign_key() => left.push(CannotOpen { path: path.clone(), error }),
            Some(Err(error)) => return Err(CannotOpen { path: path.clone(), error }),
        },
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                open_value(item, keys, path, left)?;
                path.truncate(len);
            }
        }
        Value::Object(object) => open_object(object, keys, path, left)?,
        _ => {}
    }
    Ok(())
}

/// A value in a JSON text: where it is (bytes, end exclusive) and its path in the lint's style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSpan {
    pub start: usize,
    pub end: usize,
    pub path: String,
}

/// The innermost value of the JSON `text` at byte `offset` (a key counts as its member's
/// value; just after a value counts as on it). `None` for the top-level document itself, or
/// when `text` is not valid JSON.
pub fn value_under(text: &str, offset: usize) -> Option<ValueSpan> {
    let mut scanner = SpanScanner { bytes: text.as_bytes(), at: 0, target: offset, found: None };
    let mut path = String::new();
    scanner.value(&mut path, 0)?;
    scanner.found
}

/// Reads a valid JSON text, noting the innermost value at `target`. Nesting is bounded by the
/// document's own depth limit, which the editor checked before asking.
struct SpanScanner<'a> {
    bytes: &'a [u8],
    at: usize,
    target: usize,
    found: Option<ValueSpan>,
}

impl SpanScanner<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.bytes.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// A string; returns its span.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.space();
        let start = self.at;
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        loop {
            match self.bytes.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at));
                }
                _ => self.at += 1,
            }
        }
    }

    /// A value; returns its span.
    fn value(&mut self, path: &mut String, depth: usize) -> Option<(usize, usize)> {
        if depth > 200 {
            return None;
        }
        self.space();
        let start = self.at;
        match *self.bytes.get(self.at)? {
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some((start, self.at));
                }
                loop {
                    let (key_start, key_end) = self.string()?;
                    let key: String = serde_json::from_slice(&self.bytes[key_start..key_end]).ok()?;
                    self.eat(b':')?;
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&key);
                    let span = self.value(path, depth + 1)?;
                    self.note(span, (key_start..key_end).contains(&self.target), path);
                    path.truncate(len);
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some((start, self.at));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some((start, self.at));
                }
                let mut index = 0;
                loop {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    let span = self.value(path, depth + 1)?;
                    self.note(span, false, path);
                    path.truncate(len);
                    index += 1;
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some((start, self.at));
                    }
                }
            }
            b'"' => self.string(),
            _ => {
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    self.at += 1;
                }
                (self.at > start).then_some((start, self.at))
            }
        }
    }

    /// Children are read before their parent is noted, so the first note is the innermost.
    fn note(&mut self, (start, end): (usize, usize), on_key: bool, path: &str) {
        if self.found.is_none() && (on_key || (start..=end).contains(&self.target)) {
            self.found = Some(ValueSpan { start, end, path: path.to_owned() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kid: &str, byte: u8) -> Key {
        Key::new(kid, [byte; KEY_BYTES])
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
        let tampered =
            format!("{}..{}.{}.{}", parts[0], parts[2], URL_SAFE_NO_PAD.encode(&ciphertext), parts[4]);
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
            Err(OpenError::TagMismatch)
        );
        // ...while one sealed without a kid opens with whichever key made it.
        let keys = set(vec![key("first", 1), key("second", 2)]);
        let header_b64 = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A256GCM"}"#);
        let cipher = Aes256Gcm::new(&[2u8; KEY_BYTES].into());
        let sealed = cipher
            .encrypt(Nonce::from_slice(&IV), Payload { msg: b"\"x\"", aad: header_b64.as_bytes() })
            .unwrap();
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
        let foreign = format!(
            "{header_b64}..{}.{}.{}",
            URL_SAFE_NO_PAD.encode(IV),
            URL_SAFE_NO_PAD.encode(ciphertext),
            URL_SAFE_NO_PAD.encode(tag)
        );
        assert_eq!(open(&foreign, &keys), Ok(json!("x")));
        assert_eq!(open_if_sealed(&foreign, &keys), Some(Ok(json!("x"))));
        assert_eq!(open_if_sealed("just text", &keys), None);
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
        assert!(!format!("{:?}", keys).contains(&URL_SAFE_NO_PAD.encode([1u8; KEY_BYTES])));
    }

    #[test]
    fn paths_in_the_lint_style_find_values_keys_with_dots_included() {
        let mut object =
            json!({"billing": {"taxId": "DE1"}, "apps": [{}, {}, {"token": "t"}], "a.b": {"c": 1}})
                .as_object()
                .unwrap()
                .clone();
        assert_eq!(value_at_mut(&mut object, "billing.taxId"), Some(&mut json!("DE1")));
        assert_eq!(value_at_mut(&mut object, "apps[2].token"), Some(&mut json!("t")));
        assert_eq!(value_at_mut(&mut object, "a.b.c"), Some(&mut json!(1)));
        assert_eq!(value_at_mut(&mut object, "apps[3]"), None);
        assert_eq!(value_at_mut(&mut object, "billing.nope"), None);
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
    fn open_all_names_the_path_of_a_value_that_fails() {
        let keys = set(vec![key("k", 1)]);
        let bad = seal(&json!("t"), &key("k", 2), IV);
        let mut object = json!({"apps": [{}, {}, {"token": bad}]}).as_object().unwrap().clone();
        let error = open_all(&mut object, &keys).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot open apps[2].token: the tag does not match — the value was changed or the key is wrong"
        );
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
    }
}
