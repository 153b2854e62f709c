//! The JWE compact form: five parts and a protected header, checked for shape before anything
//! is decrypted, and what can be said of a sealed value without its key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize as _;
use serde_json::{Map, Value};

use super::{IV_BYTES, MAX_HEADER_CHARS, OpenError, TAG_BYTES};

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
pub(super) fn compact_from<'a>(parts: &[&'a str], header: Header) -> Result<Compact<'a>, OpenError> {
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
pub(super) struct Header {
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
    /// A string when present: `"kid": null` is refused, as JOSE libraries refuse it (bb48 F2).
    #[serde(default, deserialize_with = "string_when_present")]
    kid: Option<String>,
    /// Present at all, `null` too: `"zip": null` was opened, which a JOSE library refuses.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    zip: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(member: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(member).map(|_| true)
}

fn string_when_present<'de, D: serde::Deserializer<'de>>(member: D) -> Result<Option<String>, D::Error> {
    String::deserialize(member).map(Some)
}

impl Header {
    /// The header of an encoded protected header, or `None` when it is not base64url JSON
    /// (an object whose `kid`, if any, is a string).
    fn decode(header_b64: &str) -> Option<Self> {
        if header_b64.len() > MAX_HEADER_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
        // UTF-8, as RFC 7515 says: serde skips an ignored member's string without looking at
        // its bytes, and a header JOSE libraries refuse was opened (bb93 F5).
        std::str::from_utf8(&bytes).ok()?;
        // A JSON object, as RFC 7515 says: serde reads a struct from an array too, and
        // `["dir","A256GCM"]` was opened, which no JOSE library does (bb48 F2).
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return None;
        }
        // Typed first: no map is built for the headers custodian and JOSE libraries write. A
        // header whose `alg` or `enc` is not a string is read again as a map, to show it.
        if let Ok(fields) = serde_json::from_slice::<HeaderFields<'_>>(&bytes) {
            return Some(Header {
                alg: fields.alg.map(|a| json_string(&a)),
                enc: fields.enc.map(|e| json_string(&e)),
                kid: fields.kid,
                crit: fields.crit,
                zip: fields.zip,
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

/// Whether `text` is a JWE compact value whose parts could be ciphertext: a registered
/// content encryption (`enc`) with the IV and tag it makes, exactly (GCM: 12 and 16 bytes;
/// CBC-HMAC: 16 and 16, 24 or 32), and a ciphertext of whole base64url. The secrets lint
/// passes only these: a header and dots around `hunter2` with a one-character IV and tag
/// encrypt nothing (bb12). Nor does any part of [`READABLE_AT_LEAST`] bytes or more that
/// decodes to printable text: a secret base64url-encoded between a full-length IV and tag of
/// `AAAA…` (bb14), or in the tag, a CBC IV or the encrypted key beside real ciphertext (an IV
/// of any length of 12 or more passed, and only the ciphertext was read: bb48 F1).
pub fn could_be_ciphertext(text: &str) -> bool {
    let Some((parts, header)) = sealed_parts(text) else { return false };
    let Some((iv_bytes, tag_bytes)) = header.enc.as_deref().and_then(content_encryption_sizes) else {
        return false;
    };
    // A registered key management algorithm, and a header whose members are each there once
    // (a JSON reader keeps one of two: a token as the first `cty` hid behind the second).
    if !header.alg.as_deref().is_some_and(is_key_management) || header_repeats_a_member(parts[0]) {
        return false;
    }
    let bytes_of = |part: &str| URL_SAFE_NO_PAD.decode(part).map_or(0, |bytes| bytes.len());
    // Unpadded base64url of n characters holds whole bytes unless n leaves 1 over 4.
    let whole = |part: &str| part.len() % 4 != 1;
    bytes_of(parts[2]) == iv_bytes
        && bytes_of(parts[4]) == tag_bytes
        && whole(parts[3])
        && !parts[1..].iter().any(|part| readable(part))
}

/// The IV and tag sizes of a registered JWE content encryption (RFC 7518 §5.1), its JSON text
/// as [`Header`] keeps it.
fn content_encryption_sizes(enc: &str) -> Option<(usize, usize)> {
    match enc {
        "\"A128GCM\"" | "\"A192GCM\"" | "\"A256GCM\"" => Some((12, 16)),
        "\"A128CBC-HS256\"" => Some((16, 16)),
        "\"A192CBC-HS384\"" => Some((16, 24)),
        "\"A256CBC-HS512\"" => Some((16, 32)),
        _ => None,
    }
}

/// Whether `alg` (its JSON text) is a JWE key management algorithm of RFC 7518 §4.1 or
/// RFC 8230's RSA-OAEP variants.
fn is_key_management(alg: &str) -> bool {
    const ALGORITHMS: &[&str] = &[
        "RSA1_5",
        "RSA-OAEP",
        "RSA-OAEP-256",
        "RSA-OAEP-384",
        "RSA-OAEP-512",
        "A128KW",
        "A192KW",
        "A256KW",
        "dir",
        "ECDH-ES",
        "ECDH-ES+A128KW",
        "ECDH-ES+A192KW",
        "ECDH-ES+A256KW",
        "A128GCMKW",
        "A192GCMKW",
        "A256GCMKW",
        "PBES2-HS256+A128KW",
        "PBES2-HS384+A192KW",
        "PBES2-HS512+A256KW",
    ];
    alg.strip_prefix('"').and_then(|a| a.strip_suffix('"')).is_some_and(|a| ALGORITHMS.contains(&a))
}

fn header_repeats_a_member(header_b64: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(header_b64) else { return true };
    let Ok(text) = std::str::from_utf8(&bytes) else { return true };
    matches!(
        crate::domain::scan::scan(text, crate::domain::Limits::default().max_depth),
        Some(crate::domain::scan::ScanFinding::DuplicateKey { .. })
    )
}

/// The strings of a sealed value's protected header besides `alg` and `enc` (a `kid`, a `cty`,
/// any other member), each with the name of the member it is in: not encrypted, so the lint
/// reads them as any other text (bb48 F1: a GitHub token as the `kid`; bb93 F4: a `password`
/// member in the clear).
pub fn header_texts(text: &str) -> Vec<(String, String)> {
    let Some(header) = text.split('.').next() else { return Vec::new() };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(header) else { return Vec::new() };
    let Ok(members) = serde_json::from_slice::<Map<String, Value>>(&bytes) else { return Vec::new() };
    let mut texts = Vec::new();
    for (name, value) in members {
        if name != "alg" && name != "enc" {
            let mut strings = Vec::new();
            strings_in(value, &mut strings);
            texts.extend(strings.into_iter().map(|text| (name.clone(), text)));
        }
    }
    texts
}

fn strings_in(value: Value, texts: &mut Vec<String>) {
    match value {
        Value::String(text) => texts.push(text),
        Value::Array(items) => items.into_iter().for_each(|item| strings_in(item, texts)),
        Value::Object(members) => members.into_iter().for_each(|(_, item)| strings_in(item, texts)),
        _ => {}
    }
}

/// Ciphertext this long is never all printable text by chance: (95/256)^16, about one in
/// eight million seals. A shorter one may be (a sealed `1` is three bytes), so it is not judged.
pub const READABLE_AT_LEAST: usize = 16;

/// Whether base64url `part` decodes to [`READABLE_AT_LEAST`] bytes or more of printable ASCII
/// (tabs and line breaks too).
fn readable(part: &str) -> bool {
    URL_SAFE_NO_PAD.decode(part).is_ok_and(|bytes| {
        bytes.len() >= READABLE_AT_LEAST
            && bytes.iter().all(|&b| (0x20..0x7f).contains(&b) || b"\t\n\r".contains(&b))
    })
}

/// The five parts and the header of a JWE compact value (see [`is_sealed`]), or `None`.
pub(super) fn sealed_parts(text: &str) -> Option<(Vec<&str>, Header)> {
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
    // The IV and the tag are never empty; the ciphertext of an empty plaintext is (RFC 7516
    // allows it, and joserfc makes one: it was read as plain text and never opened, bb67 F1).
    if parts[2].is_empty() || parts[4].is_empty() {
        return None;
    }
    let header = Header::decode(parts[0]).filter(Header::says_encrypted)?;
    Some((parts, header))
}

/// How many dot-separated parts `text` has when it is a sealed value damaged to more or fewer
/// than five (its tag cut off by a bad copy, a part added): a first part that decodes to a
/// header saying how it is encrypted. `None` for anything else, a JWE of five parts included.
/// Opening says what is wrong with it, where it was read as plain text (bb67 F1).
pub fn damaged_seal_parts(text: &str) -> Option<usize> {
    if text.len() < 20
        || !text.bytes().all(|b| b == b'.' || b == b'-' || b == b'_' || b.is_ascii_alphanumeric())
    {
        return None;
    }
    let parts = text.split('.').count();
    if parts == 5 || !(2..=8).contains(&parts) {
        return None;
    }
    let (first, _) = text.split_once('.')?;
    Header::decode(first).filter(Header::says_encrypted).map(|_| parts)
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
