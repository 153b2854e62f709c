//! The secrets lint. Logto hands customData to front ends (the signed-in user's own apps read
//! it), so a password, token or key stored there leaks. This finds what looks like one — by the
//! key's name or by the value's shape — and says where. Pure, no I/O: the CLI refuses a save
//! with a finding (unless told otherwise), the editor can warn before saving.
//!
//! # Keys
//!
//! A key is normalised (ASCII lower case; `_`, `-`, `.` and spaces removed) and compared with
//! [`KEY_PATTERNS`]:
//!
//! - a distinctive word matches as a **suffix**, so compound names are caught (`dbPassword`,
//!   `stripe_api_key`, `X-Auth-Token`, `mfaSecret`, `clientSecret`, `Set-Cookie`);
//! - a short or everyday word matches only the **whole key** (`pin`, `bearer`, `credentials`):
//!   `spinner`, `opinion`, `pinned`, `lastUsedCredential` are not secrets;
//! - a key that *starts* with a sensitive word names something about it, not it, and is never
//!   matched: `passwordUpdatedAt`, `passwordPolicyAcknowledged`, `tokenCount`, `tokenizer`,
//!   `secretaryName`, `showApiKeyBanner`, `keyboardLayout`;
//! - no plural is guessed: `passwords`, `secrets`, `apiKeys` are listed, while `tokens` and
//!   `cookies` are not (design tokens, `maxTokens`, cookie consent are preference data).
//!
//! Then the value decides whether there is anything to leak: `true`, `false`, `null`, `""` and
//! a masked string (`"********"`) never are (`hasPassword: true` is fine), and each
//! [`KeyKind`] says what a real one looks like: a PIN is 4–12 digits, a card number 12–19, a
//! card code 3–4, a cookie has `=`, an Authorization value is `scheme credentials`, a token,
//! API key or session id has at least 8 characters. An array under such a key is read element
//! by element as if each stood under the key. An object under a key whose kind is a container
//! of secrets (`secrets`, `credentials`, `apiKeys`, `privateKey`, `recoveryCodes`) is flagged
//! as a whole when anything inside it holds a value; under any other key (`creditCard: {brand,
//! last4}`) its members are judged by their own keys.
//!
//! # Values
//!
//! Every string, at any depth, is checked against [`VALUE_PATTERNS`] — known token formats
//! found anywhere in the text where a word starts (a JWT, a PEM private key, AWS, GitHub,
//! Slack, Stripe and Google keys, an `Authorization` header) — then for a URL with a password
//! (`https://user:pass@host`) or a credential in its query or fragment (`?access_token=…`),
//! and last for a random-looking token ([`looks_random`]). A finding names the path once, with
//! the value's reason when the value is recognised and the key's reason otherwise.

use std::fmt::{self, Write as _};

use serde_json::{Map, Value};

use super::seal;

/// One place in a document that looks like it holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFinding {
    /// Where, like `prefs.api[2].token` (the path format of [`super::scan`]).
    pub path: String,
    pub reason: SecretReason,
}

impl fmt::Display for SecretFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path, self.reason)
    }
}

/// Why a place was flagged: its key's name, or its value's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretReason {
    Key(KeyKind),
    Value(ValueKind),
}

impl fmt::Display for SecretReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretReason::Key(kind) => write!(f, "key looks like {}", kind.noun()),
            SecretReason::Value(kind) => f.write_str(kind.phrase()),
        }
    }
}

/// What a key's name says its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Password,
    Secret,
    Token,
    ApiKey,
    PrivateKey,
    CardNumber,
    CardCode,
    Pin,
    SocialSecurityNumber,
    SessionId,
    Cookie,
    Authorization,
    Credentials,
    RecoveryCodes,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            KeyKind::Password => "a password",
            KeyKind::Secret => "a secret",
            KeyKind::Token => "a token",
            KeyKind::ApiKey => "an API key",
            KeyKind::PrivateKey => "a private key",
            KeyKind::CardNumber => "a card number",
            KeyKind::CardCode => "a card security code",
            KeyKind::Pin => "a PIN",
            KeyKind::SocialSecurityNumber => "a social security number",
            KeyKind::SessionId => "a session id",
            KeyKind::Cookie => "a cookie",
            KeyKind::Authorization => "an Authorization header",
            KeyKind::Credentials => "credentials",
            KeyKind::RecoveryCodes => "MFA recovery codes",
        }
    }

    /// Whether an object under this key is a container of secrets, flagged as a whole.
    fn covers_contents(self) -> bool {
        matches!(
            self,
            KeyKind::Secret
                | KeyKind::Credentials
                | KeyKind::ApiKey
                | KeyKind::PrivateKey
                | KeyKind::RecoveryCodes
        )
    }

    /// Whether `text` (a string, or a number's text) is something of this kind, rather than
    /// a placeholder, a setting or a harmless fragment.
    fn holds(self, text: &str) -> bool {
        let text = text.trim();
        if is_masked(text) {
            return false;
        }
        let chars = text.chars().count();
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        let only = |allowed: fn(u8) -> bool| text.bytes().all(allowed);
        match self {
            KeyKind::Password | KeyKind::Secret | KeyKind::SocialSecurityNumber | KeyKind::Credentials => {
                chars >= 1
            }
            KeyKind::Token | KeyKind::ApiKey | KeyKind::SessionId => chars >= 8,
            KeyKind::RecoveryCodes => chars >= 6,
            KeyKind::PrivateKey => chars >= 16,
            KeyKind::CardNumber => {
                (12..=19).contains(&digits) && only(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
            }
            KeyKind::CardCode => (3..=4).contains(&digits) && only(|b| b.is_ascii_digit()),
            KeyKind::Pin => (4..=12).contains(&digits) && only(|b| b.is_ascii_digit()),
            KeyKind::Cookie => text.contains('='),
            KeyKind::Authorization => text.split_once(' ').is_some_and(|(scheme, credentials)| {
                !scheme.is_empty()
                    && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && credentials.len() >= 8
                    && !credentials.contains(char::is_whitespace)
            }),
        }
    }
}

/// What a value's shape says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Jwt,
    PemPrivateKey,
    AwsAccessKeyId,
    GitHubToken,
    SlackToken,
    SlackWebhook,
    StripeSecretKey,
    GoogleApiKey,
    AuthorizationHeader,
    UrlWithPassword,
    UrlWithCredential,
    RandomToken,
}

impl ValueKind {
    fn phrase(self) -> &'static str {
        match self {
            ValueKind::Jwt => "value looks like a JWT",
            ValueKind::PemPrivateKey => "value looks like a PEM private key",
            ValueKind::AwsAccessKeyId => "value looks like an AWS access key id",
            ValueKind::GitHubToken => "value looks like a GitHub token",
            ValueKind::SlackToken => "value looks like a Slack token",
            ValueKind::SlackWebhook => "value looks like a Slack webhook URL",
            ValueKind::StripeSecretKey => "value looks like a Stripe secret key",
            ValueKind::GoogleApiKey => "value looks like a Google API key",
            ValueKind::AuthorizationHeader => "value looks like an Authorization header",
            ValueKind::UrlWithPassword => "value is a URL with a password in it",
            ValueKind::UrlWithCredential => "value is a URL with a token in it",
            ValueKind::RandomToken => "value looks like a random key or token",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMatch {
    /// The normalised key is this word.
    Whole,
    /// The normalised key ends with this word.
    Suffix,
}

/// Sensitive key names, normalised (lower case, no `_ - .` or spaces). The first match wins.
pub const KEY_PATTERNS: &[(&str, KeyMatch, KeyKind)] = {
    use KeyKind::*;
    use KeyMatch::*;
    &[
        ("password", Suffix, Password),
        ("passwords", Suffix, Password),
        ("passwd", Suffix, Password),
        ("pwd", Suffix, Password),
        ("passphrase", Suffix, Password),
        ("passcode", Suffix, Password),
        // Also clientSecret, apiSecret, webhookSecret, mfaSecret, otpSecret, totpSecret.
        ("secret", Suffix, Secret),
        ("secrets", Suffix, Secret),
        // Also accessToken, refreshToken, idToken, authToken, csrfToken, sessionToken.
        ("token", Suffix, Token),
        ("bearer", Whole, Token),
        ("apikey", Suffix, ApiKey),
        ("apikeys", Suffix, ApiKey),
        ("accesskey", Suffix, ApiKey),
        ("secretkey", Suffix, ApiKey),
        ("encryptionkey", Suffix, ApiKey),
        ("signingkey", Suffix, ApiKey),
        ("privatekey", Suffix, PrivateKey),
        ("privatekeys", Suffix, PrivateKey),
        ("creditcard", Suffix, CardNumber),
        ("cardnumber", Suffix, CardNumber),
        ("cvv", Suffix, CardCode),
        ("cvv2", Suffix, CardCode),
        ("cvc", Suffix, CardCode),
        ("cvc2", Suffix, CardCode),
        ("pin", Whole, Pin),
        ("ssn", Suffix, SocialSecurityNumber),
        ("socialsecuritynumber", Suffix, SocialSecurityNumber),
        ("sessionid", Suffix, SessionId),
        ("cookie", Suffix, Cookie),
        ("authorization", Suffix, Authorization),
        ("credentials", Whole, Credentials),
        ("credential", Whole, Credentials),
        ("recoverycodes", Suffix, RecoveryCodes),
        ("recoverycode", Suffix, RecoveryCodes),
        ("backupcodes", Suffix, RecoveryCodes),
        ("backupcode", Suffix, RecoveryCodes),
    ]
};

/// What may follow a value pattern's prefix.
#[derive(Clone, Copy)]
enum Tail {
    /// Exactly this many bytes of the set, then no letter or digit.
    Exactly(usize, fn(u8) -> bool),
    /// At least this many bytes of the set.
    AtLeast(usize, fn(u8) -> bool),
    /// A check of the text from the prefix on.
    Check(fn(&str) -> bool),
}

/// A known token format: a prefix where a word starts, then a tail.
pub struct ValuePattern {
    prefix: &'static str,
    tail: Tail,
    kind: ValueKind,
}

const fn pattern(prefix: &'static str, tail: Tail, kind: ValueKind) -> ValuePattern {
    ValuePattern { prefix, tail, kind }
}

/// Known token formats, looked for anywhere in a string where a word starts.
pub const VALUE_PATTERNS: &[ValuePattern] = {
    use Tail::*;
    use ValueKind::*;
    &[
        pattern("eyJ", Check(is_jwt), Jwt),
        pattern("-----BEGIN ", Check(is_pem_private_key), PemPrivateKey),
        pattern("AKIA", Exactly(16, is_upper_alnum), AwsAccessKeyId),
        pattern("ASIA", Exactly(16, is_upper_alnum), AwsAccessKeyId),
        pattern("ghp_", AtLeast(30, is_alnum), GitHubToken),
        pattern("gho_", AtLeast(30, is_alnum), GitHubToken),
        pattern("ghs_", AtLeast(30, is_alnum), GitHubToken),
        pattern("ghu_", AtLeast(30, is_alnum), GitHubToken),
        pattern("ghr_", AtLeast(30, is_alnum), GitHubToken),
        pattern("github_pat_", AtLeast(40, is_word), GitHubToken),
        pattern("xoxb-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxa-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxp-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxr-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxs-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("hooks.slack.com/services/", AtLeast(20, is_alnum_slash), SlackWebhook),
        pattern("sk_live_", AtLeast(16, is_alnum), StripeSecretKey),
        pattern("rk_live_", AtLeast(16, is_alnum), StripeSecretKey),
        pattern("AIza", Exactly(35, is_base64url), GoogleApiKey),
        pattern("Bearer ", Check(is_bearer_credentials), AuthorizationHeader),
        pattern("bearer ", Check(is_bearer_credentials), AuthorizationHeader),
        pattern("Basic ", Check(is_basic_credentials), AuthorizationHeader),
        pattern("basic ", Check(is_basic_credentials), AuthorizationHeader),
    ]
};

/// Bytes that start some value pattern: every other byte is passed over at once.
const FIRST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < VALUE_PATTERNS.len() {
        table[VALUE_PATTERNS[i].prefix.as_bytes()[0] as usize] = true;
        i += 1;
    }
    table
};

/// Publishable keys are made for front ends; a token starting with one is not a secret.
const PUBLIC_PREFIXES: &[&str] = &["pk_live_", "pk_test_"];

/// The generic rule's bounds: shorter runs are ids and words; longer are data (an encoded
/// image, serialised state), not a key.
const RANDOM_MIN_LEN: usize = 32;
const RANDOM_MAX_LEN: usize = 512;
/// Bits per character. Above log2(10) = 3.32, the most a run of digits can have; random
/// strings over 32 or more symbols measure at least 3.6 at 32 characters (99.9% of draws).
/// Ordinary identifiers measure 3.9–4.5 as well, so entropy alone cannot tell them apart: it
/// only rules out repetition (`aaaa…1`, `abcabc…`); [`MAX_WORDLIKE`] does the rest.
const MIN_ENTROPY: f64 = 3.5;
/// The share of letters that sit in word-like runs ([`wordlike_letters`]). camelCase names,
/// slugs and file paths are 60–100% word-like; random base62/base64 strings stay under half in
/// about 85% of 32-character draws and 90% of 64-character ones, base32 in all of them; the
/// miss is the price of not flagging `ThisIsTheWayWeDoIt2024`. Lower-case base36 tokens read
/// as words and mostly pass: the key rule is the net for those.
const MAX_WORDLIKE: f64 = 0.5;

/// Every place in `object` that looks like it holds a secret, in document order.
pub fn find_secrets(object: &Map<String, Value>) -> Vec<SecretFinding> {
    let mut findings = Vec::new();
    let mut path = String::new();
    walk_object(object, &mut path, &mut findings);
    findings
}

/// `a (reason), b (reason), and 3 more`: findings (or anything shown like them) as one line,
/// at most `max` of them named.
pub fn summary<T: fmt::Display>(items: &[T], max: usize) -> String {
    let mut parts: Vec<String> = items.iter().take(max).map(ToString::to_string).collect();
    if items.len() > max {
        parts.push(format!("and {} more", items.len() - max));
    }
    parts.join(", ")
}

/// The longest word in [`KEY_PATTERNS`] fits in this many bytes (checked by a test).
const LONGEST_KEY_WORD: usize = 24;

/// The kind of secret a key's name announces, if any.
pub fn key_kind(key: &str) -> Option<KeyKind> {
    // Only the end of a key can match, so only its last bytes are normalised (on the stack:
    // this runs for every key of every document).
    let mut tail = [0u8; LONGEST_KEY_WORD];
    let mut len = 0;
    let mut whole = true;
    for &b in key.as_bytes().iter().rev() {
        if matches!(b, b'_' | b'-' | b'.' | b' ') {
            continue;
        }
        if len == LONGEST_KEY_WORD {
            whole = false;
            break;
        }
        len += 1;
        tail[LONGEST_KEY_WORD - len] = b.to_ascii_lowercase();
    }
    let normal = &tail[LONGEST_KEY_WORD - len..];
    let last = normal.last()?;
    KEY_PATTERNS
        .iter()
        .filter(|(word, _, _)| word.as_bytes().last() == Some(last))
        .find(|(word, how, _)| match how {
            KeyMatch::Whole => whole && normal == word.as_bytes(),
            KeyMatch::Suffix => normal.ends_with(word.as_bytes()),
        })
        .map(|(_, _, kind)| *kind)
}

/// The kind of secret a string's text looks like, if any.
pub fn value_kind(text: &str) -> Option<ValueKind> {
    // A sealed value (any JWE compact value, whoever's key) is ciphertext, not a secret.
    if seal::is_sealed(text) {
        return None;
    }
    known_format(text).or_else(|| chunks_kind(text))
}

pub(crate) fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    len
}

pub(crate) fn push_index(path: &mut String, index: usize) -> usize {
    let len = path.len();
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
    len
}

fn walk_object(object: &Map<String, Value>, path: &mut String, findings: &mut Vec<SecretFinding>) {
    for (key, value) in object {
        let len = push_key(path, key);
        match key_kind(key) {
            Some(kind) => judge_under_key(kind, value, path, findings),
            None => walk_value(value, path, findings),
        }
        path.truncate(len);
    }
}

fn walk_value(value: &Value, path: &mut String, findings: &mut Vec<SecretFinding>) {
    match value {
        Value::String(text) => {
            if let Some(kind) = value_kind(text) {
                findings.push(SecretFinding { path: path.clone(), reason: SecretReason::Value(kind) });
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = push_index(path, index);
                walk_value(item, path, findings);
                path.truncate(len);
            }
        }
        Value::Object(object) => walk_object(object, path, findings),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A value under a sensitive key: flagged at the key's path at most once (arrays of scalars
/// included); objects and arrays of objects are looked into as the module docs describe.
fn judge_under_key(kind: KeyKind, value: &Value, path: &mut String, findings: &mut Vec<SecretFinding>) {
    match value {
        Value::Object(object) if !kind.covers_contents() => walk_object(object, path, findings),
        Value::Array(items) if !kind.covers_contents() => {
            let mut reason = None;
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        let len = push_index(path, index);
                        judge_under_key(kind, item, path, findings);
                        path.truncate(len);
                    }
                    scalar => reason = reason.or_else(|| scalar_reason(kind, scalar)),
                }
            }
            if let Some(reason) = reason {
                findings.push(SecretFinding { path: path.clone(), reason });
            }
        }
        other => {
            if let Some(reason) = deep_reason(kind, other) {
                findings.push(SecretFinding { path: path.clone(), reason });
            }
        }
    }
}

/// The first reason anything in `value` (looked into completely) is a secret of `kind`.
fn deep_reason(kind: KeyKind, value: &Value) -> Option<SecretReason> {
    match value {
        Value::Array(items) => items.iter().find_map(|item| deep_reason(kind, item)),
        Value::Object(object) => object.values().find_map(|item| deep_reason(kind, item)),
        scalar => scalar_reason(kind, scalar),
    }
}

fn scalar_reason(kind: KeyKind, value: &Value) -> Option<SecretReason> {
    match value {
        Value::String(text) if seal::is_sealed(text) => None,
        Value::String(text) => value_kind(text)
            .map(SecretReason::Value)
            .or_else(|| kind.holds(text).then_some(SecretReason::Key(kind))),
        Value::Number(number) => kind.holds(&number.to_string()).then_some(SecretReason::Key(kind)),
        _ => None,
    }
}

/// `""`, `"****"`, `"••••"`, `"xxxx"`: a placeholder shows there is a secret elsewhere.
fn is_masked(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '*' | '•' | '●' | '·' | 'x' | 'X' | '#' | '-' | '.' | ' '))
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_alnum_slash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/'
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Bytes a token is made of. A known format counts only where a word of them starts, so the
/// text is read once however it is built (`eyJ.eyJ.eyJ…` is one word, checked once).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn run_length(bytes: &[u8], allowed: fn(u8) -> bool) -> usize {
    bytes.iter().position(|b| !allowed(*b)).unwrap_or(bytes.len())
}

/// The first known token format in `text`.
fn known_format(text: &str) -> Option<ValueKind> {
    let bytes = text.as_bytes();
    for (at, &b) in bytes.iter().enumerate() {
        if !FIRST_BYTES[b as usize] || (at > 0 && is_token_byte(bytes[at - 1])) {
            continue;
        }
        for pattern in VALUE_PATTERNS {
            let prefix = pattern.prefix.as_bytes();
            if prefix[0] != b || !bytes[at..].starts_with(prefix) {
                continue;
            }
            let rest = &bytes[at + prefix.len()..];
            let found = match pattern.tail {
                Tail::Exactly(count, allowed) => {
                    let run = run_length(rest, allowed);
                    run == count && rest.get(run).is_none_or(|b| !b.is_ascii_alphanumeric())
                }
                Tail::AtLeast(count, allowed) => run_length(rest, allowed) >= count,
                // The prefix is ASCII, so `at` is a character boundary.
                Tail::Check(check) => check(&text[at..]),
            };
            if found {
                return Some(pattern.kind);
            }
        }
    }
    None
}

/// A JWS (`header.payload.signature`, the signature empty when unsecured) whose header is
/// base64url JSON with an `alg`. A JWE (five parts) is encrypted: not a secret in the clear.
fn is_jwt(text: &str) -> bool {
    let bytes = text.as_bytes();
    let run = run_length(bytes, |b| is_base64url(b) || b == b'.');
    let token = &text[..run];
    let unsecured = token.ends_with('.') && token.matches('.').count() == 2;
    let parts: Vec<&str> = token.trim_end_matches('.').split('.').collect();
    let shaped = match parts.len() {
        3 => parts.iter().all(|p| !p.is_empty()),
        2 => unsecured && parts.iter().all(|p| !p.is_empty()),
        _ => false,
    };
    if !shaped || parts[0].len() > 4096 {
        return false;
    }
    decode_base64(parts[0].as_bytes())
        .and_then(|header| serde_json::from_slice::<Map<String, Value>>(&header).ok())
        .is_some_and(|header| header.contains_key("alg"))
}

/// `-----BEGIN RSA PRIVATE KEY-----`, `… EC …`, `… OPENSSH …`, `… ENCRYPTED …`, `-----BEGIN PGP
/// PRIVATE KEY BLOCK-----`; certificates and public keys are not secrets.
fn is_pem_private_key(text: &str) -> bool {
    let rest = &text.as_bytes()["-----BEGIN ".len()..];
    let label = &rest[..rest.len().min(64)];
    label
        .windows(5)
        .position(|w| w == b"-----")
        .is_some_and(|end| label[..end].windows(11).any(|w| w == b"PRIVATE KEY"))
}

/// `Bearer <token>`: a token of at least 16 characters with a digit in it (so `Bearer of
/// responsibilities` is prose).
fn is_bearer_credentials(text: &str) -> bool {
    let rest = &text.as_bytes()["Bearer ".len()..];
    let run = run_length(rest, |b| is_base64url(b) || matches!(b, b'.' | b'~' | b'+' | b'/' | b'='));
    run >= 16 && rest[..run].iter().any(u8::is_ascii_digit)
}

/// `Basic <base64 of user:password>`.
fn is_basic_credentials(text: &str) -> bool {
    let rest = &text.as_bytes()["Basic ".len()..];
    let run = run_length(rest, |b| is_base64(b) || b == b'=');
    run >= 8
        && decode_base64(&rest[..run]).and_then(|decoded| String::from_utf8(decoded).ok()).is_some_and(
            |pair| pair.split_once(':').is_some_and(|(user, pass)| !user.is_empty() && !pass.is_empty()),
        )
}

/// Standard or URL-safe base64, padding optional.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in text {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// URLs with credentials, then random-looking tokens, chunk by chunk (chunks are split at
/// white space and quotes).
fn chunks_kind(text: &str) -> Option<ValueKind> {
    let is_gap = |b: &u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>');
    let mut start = 0;
    for chunk in text.as_bytes().split(is_gap) {
        // Every gap is one ASCII byte, so the chunk's ends are character boundaries.
        let chunk_text = &text[start..start + chunk.len()];
        start += chunk.len() + 1;
        // A data: URL carries a file (an avatar, an icon), not a key.
        if chunk.is_empty() || chunk.starts_with(b"data:") {
            continue;
        }
        let (plain, url) = match find_scheme_separator(chunk).map(|at| scheme_start(chunk, at)) {
            Some(start) => (&chunk_text[..start], Some(&chunk_text[start..])),
            None => (chunk_text, None),
        };
        if has_random_token(plain) {
            return Some(ValueKind::RandomToken);
        }
        if let Some(kind) = url.and_then(url_kind) {
            return Some(kind);
        }
    }
    None
}

/// Where the first `://` is.
fn find_scheme_separator(chunk: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = chunk[from..].iter().position(|b| *b == b':') {
        let at = from + at;
        if chunk[at + 1..].starts_with(b"//") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Where the scheme before `://` (at `at`) begins; `at` itself when there is none.
fn scheme_start(bytes: &[u8], at: usize) -> usize {
    let mut start = at;
    while start > 0
        && (bytes[start - 1].is_ascii_alphanumeric() || matches!(bytes[start - 1], b'+' | b'.' | b'-'))
    {
        start -= 1;
    }
    while start < at && !bytes[start].is_ascii_alphabetic() {
        start += 1;
    }
    start
}

/// A URL's credentials: a password in its user info, or a query or fragment parameter named
/// like a secret (`access_token=…`) or holding a random-looking token. The path is an address
/// (a document id, a file name), not a secret.
fn url_kind(url: &str) -> Option<ValueKind> {
    let (_, after_scheme) = url.split_once("://")?;
    let authority_end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(authority_end);
    if let Some((user_info, _)) = authority.rsplit_once('@')
        && user_info.split_once(':').is_some_and(|(_, password)| !is_masked(password))
    {
        return Some(ValueKind::UrlWithPassword);
    }
    let parameters = rest.find(['?', '#']).map_or("", |at| &rest[at + 1..]);
    for pair in parameters.split(['&', ';', '#', '?']) {
        let Some((name, value)) = pair.split_once('=') else { continue };
        let named = key_kind(name).is_some_and(|kind| kind.holds(value));
        if named || has_random_token(value) {
            return Some(ValueKind::UrlWithCredential);
        }
    }
    None
}

/// Whether `text` has a run of base64/base64url characters that looks random (see
/// [`looks_random`]).
fn has_random_token(text: &str) -> bool {
    let is_part = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-');
    text.as_bytes().split(|b| !is_part(*b)).any(looks_random)
}

/// The generic rule: 32–512 characters of base64/base64url, with letters and digits, not only
/// hex digits (hashes such as Gravatar's MD5, commit SHAs, UUIDs with or without dashes,
/// `0x` addresses are identifiers), not a publishable key, with at least [`MIN_ENTROPY`] bits
/// per character, and fewer than [`MAX_WORDLIKE`] of its letters reading as words.
pub fn looks_random(token: &[u8]) -> bool {
    if !(RANDOM_MIN_LEN..=RANDOM_MAX_LEN).contains(&token.len()) {
        return false;
    }
    let letters = token.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || !token.iter().any(u8::is_ascii_digit) {
        return false;
    }
    let hex = token.strip_prefix(b"0x").or_else(|| token.strip_prefix(b"0X")).unwrap_or(token);
    if hex.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') {
        return false;
    }
    if PUBLIC_PREFIXES.iter().any(|prefix| token.starts_with(prefix.as_bytes())) {
        return false;
    }
    (wordlike_letters(token) as f64) < MAX_WORDLIKE * letters as f64 && entropy(token) >= MIN_ENTROPY
}

/// Shannon entropy in bits per byte of a token of at most [`RANDOM_MAX_LEN`] ASCII bytes:
/// log2(n) − Σ c·log2(c) / n over the counts c of its distinct bytes.
fn entropy(token: &[u8]) -> f64 {
    let mut counts = [0u16; 128];
    let mut distinct = [0u8; 128];
    let mut kinds = 0;
    for &b in token {
        let slot = usize::from(b & 0x7f);
        if counts[slot] == 0 {
            distinct[kinds] = b & 0x7f;
            kinds += 1;
        }
        counts[slot] += 1;
    }
    let n = token.len() as f64;
    let weighted: f64 = distinct[..kinds]
        .iter()
        .map(|&b| {
            let c = f64::from(counts[usize::from(b)]);
            c * c.log2()
        })
        .sum();
    n.log2() - weighted / n
}

/// How many letters sit in word-like runs: a capital and two or more lower-case letters
/// (`Review`, `New`), four or more lower-case letters (`dark`, `components`), or an
/// all-capitals word standing between separators (`LOREM_IPSUM`, `IMG`).
fn wordlike_letters(token: &[u8]) -> usize {
    let mut total = 0;
    let mut at = 0;
    while at < token.len() {
        if !token[at].is_ascii_alphabetic() {
            at += 1;
            continue;
        }
        let start = at;
        while at < token.len() && token[at].is_ascii_alphabetic() {
            at += 1;
        }
        let run = &token[start..at];
        if run.iter().all(u8::is_ascii_uppercase) {
            let apart = (start == 0 || !token[start - 1].is_ascii_digit())
                && token.get(at).is_none_or(|b| !b.is_ascii_digit());
            if apart && run.len() >= 3 {
                total += run.len();
            }
            continue;
        }
        let mut i = 0;
        while i < run.len() {
            let upper_start = i;
            while i < run.len() && run[i].is_ascii_uppercase() {
                i += 1;
            }
            let lower_start = i;
            while i < run.len() && run[i].is_ascii_lowercase() {
                i += 1;
            }
            let lower = i - lower_start;
            let capital = lower_start > upper_start;
            if (capital && lower >= 2) || lower >= 4 {
                total += lower + usize::from(capital);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn findings(value: Value) -> Vec<String> {
        let Value::Object(object) = value else { panic!("not an object: {value}") };
        find_secrets(&object).iter().map(ToString::to_string).collect()
    }

    /// Builds a token from an alphabet with a fixed generator, so no real-looking secret sits
    /// in the source and the tests are the same every run.
    fn random_token(rng: &mut fastrand::Rng, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| alphabet[rng.usize(..alphabet.len())] as char).collect()
    }

    const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    fn jwt() -> String {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"John Doe","iat":1516239022} . signature
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_owned()
    }

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
    fn a_jwt_stays_a_finding_next_to_sealed_values() {
        let ours = seal::seal(&json!("x"), &seal::Key::new("k", [1; 32]), [2; 12]);
        assert_eq!(
            findings(json!({"sealed": ours, "session": jwt()})),
            vec!["session (value looks like a JWT)".to_owned()]
        );
    }

    #[test]
    fn sensitive_key_names_are_found_by_suffix_or_whole_word() {
        for key in [
            "password",
            "Password",
            "dbPassword",
            "new_password",
            "passwords",
            "passwd",
            "pwd",
            "userPwd",
            "passphrase",
            "secret",
            "clientSecret",
            "client_secret",
            "apiSecret",
            "mfaSecret",
            "otpSecret",
            "totp_secret",
            "webhook-secret",
            "secrets",
            "token",
            "accessToken",
            "refresh_token",
            "idToken",
            "X-Auth-Token",
            "bearer",
            "apiKey",
            "api_key",
            "API-KEY",
            "x-api-key",
            "stripeApiKey",
            "apiKeys",
            "accessKey",
            "awsSecretAccessKey",
            "secretKey",
            "privateKey",
            "private_key",
            "creditCard",
            "cardNumber",
            "cvv",
            "CVC",
            "pin",
            "PIN",
            "ssn",
            "social_security_number",
            "sessionId",
            "session_id",
            "cookie",
            "Set-Cookie",
            "authorization",
            "credentials",
            "credential",
            "recoveryCodes",
            "backup_codes",
        ] {
            assert!(key_kind(key).is_some(), "{key} should be sensitive");
        }
    }

    #[test]
    fn ordinary_preference_keys_are_not_sensitive() {
        for key in [
            "tokenCount",
            "tokenizer",
            "tokens",
            "maxTokens",
            "passwordPolicyAcknowledged",
            "passwordUpdatedAt",
            "passwordMinLength",
            "showApiKeyBanner",
            "apiKeyLastFour",
            "spinner",
            "opinion",
            "pinned",
            "pinCode",
            "userPin",
            "keyboardLayout",
            "secretaryName",
            "secretMode",
            "publicKey",
            "publishableKey",
            "cookieConsent",
            "cookieCategories",
            "cookies",
            "authorizationStatus",
            "lastUsedCredential",
            "credentialType",
            "sessionTimeout",
            "key",
            "primaryKey",
            "employeeNumber",
            "externalAccountNumber",
            "snowflakeId",
            "theme",
        ] {
            assert_eq!(key_kind(key), None, "{key} should not be sensitive");
        }
    }

    #[test]
    fn a_sensitive_key_alarms_only_when_its_value_could_be_a_secret() {
        assert_eq!(
            findings(json!({
                "hasPassword": true,
                "password": null,
                "secret": "",
                "token": "********",
                "clientSecret": "••••••",
                "accessKey": "s",
                "pin": true,
                "cookie": "accepted",
                "authorization": "approved",
                "creditCard": "visa",
                "cardNumber": "**** **** **** 4242",
                "cvv": "n/a",
                "sessionId": "abc",
                "nextPageToken": "CAoQAA",
                "recoveryCodes": [],
                "secrets": {"enabled": true, "rotatedAt": null},
            })),
            Vec::<String>::new()
        );
    }

    #[test]
    fn sensitive_keys_with_values_are_reported_with_path_and_reason() {
        let found = findings(json!({
            "password": "hunter2",
            "prefs": {"api": [{}, {}, {"token": "abcdefgh12345678"}]},
            "pin": "1234",
            "login": {"pin": 482913},
            "cvv": 123,
            "cardNumber": "4111 1111 1111 1111",
            "cookie": "sid=s%3Aabcdef",
            "authorization": "Token abcdefgh12345",
            "apiKeys": ["first-key-1234", "second-key-5678"],
            "credentials": {"user": "bob", "pass": "x"},
            "secrets": {"db": "hunter2"},
            "wallet": {"privateKey": "5KQwrPbwdL6PhXujxW37"},
            "ssn": "078-05-1120",
            "recovery_codes": ["a1b2-c3d4", "e5f6-a7b8"],
        }));
        assert_eq!(
            found,
            [
                "password (key looks like a password)",
                "prefs.api[2].token (key looks like a token)",
                "pin (key looks like a PIN)",
                "login.pin (key looks like a PIN)",
                "cvv (key looks like a card security code)",
                "cardNumber (key looks like a card number)",
                "cookie (key looks like a cookie)",
                "authorization (key looks like an Authorization header)",
                "apiKeys (key looks like an API key)",
                "credentials (key looks like credentials)",
                "secrets (key looks like a secret)",
                "wallet.privateKey (key looks like a private key)",
                "ssn (key looks like a social security number)",
                "recovery_codes (key looks like MFA recovery codes)",
            ]
        );
    }

    #[test]
    fn an_object_under_an_ordinary_sensitive_key_is_judged_by_its_members() {
        // A card's brand and last four digits are what a front end shows; the number is not.
        assert_eq!(
            findings(json!({"creditCard": {"brand": "visa", "last4": "4242", "expMonth": 4}})),
            [""; 0]
        );
        assert_eq!(
            findings(json!({"creditCard": {"brand": "visa", "cardNumber": "4111111111111111"}})),
            ["creditCard.cardNumber (key looks like a card number)"]
        );
        assert_eq!(findings(json!({"token": {"symbol": "ETH", "decimals": 18}})), [""; 0]);
    }

    #[test]
    fn identifiers_pass_by_value_but_not_under_a_key_that_names_a_secret() {
        let uuid = "550e8400-e29b-41d4-a716-446655440000";
        let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            findings(json!({
                "deviceId": uuid,
                "sessionId": uuid,
                "webhook": sha256,
                "webhookSecret": sha256,
                "colorToken": "primary-500",
            })),
            [
                "sessionId (key looks like a session id)",
                "webhookSecret (key looks like a secret)",
                "colorToken (key looks like a token)",
            ]
        );
    }

    #[test]
    fn a_recognised_value_under_a_sensitive_key_gives_the_value_reason_once() {
        assert_eq!(
            findings(json!({"auth": {"accessToken": jwt()}})),
            ["auth.accessToken (value looks like a JWT)"]
        );
    }

    #[test]
    fn known_token_formats_are_found_anywhere_in_a_string() {
        let mut rng = fastrand::Rng::with_seed(7);
        let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let cases = [
            (jwt(), "value looks like a JWT"),
            (format!("Bearer {}", jwt()), "value looks like an Authorization header"),
            (format!("https://app.example.com/cb#id_token={}&state=x", jwt()), "value looks like a JWT"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----".into(),
                "value looks like a PEM private key",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==".into(),
                "value looks like a PEM private key",
            ),
            ("-----BEGIN PGP PRIVATE KEY BLOCK-----".into(), "value looks like a PEM private key"),
            ("AKIAIOSFODNN7EXAMPLE".into(), "value looks like an AWS access key id"),
            (
                format!("key id: ASIA{}", random_token(&mut rng, upper, 16)),
                "value looks like an AWS access key id",
            ),
            (format!("ghp_{}", random_token(&mut rng, BASE62, 36)), "value looks like a GitHub token"),
            (
                format!("GITHUB_TOKEN=gho_{}", random_token(&mut rng, BASE62, 36)),
                "value looks like a GitHub token",
            ),
            (
                format!(
                    "github_pat_{}_{}",
                    random_token(&mut rng, BASE62, 22),
                    random_token(&mut rng, BASE62, 59)
                ),
                "value looks like a GitHub token",
            ),
            ("xoxb-1234567890-0987654321-AbCdEfGh".into(), "value looks like a Slack token"),
            ("xoxp-1234567890-abcdef".into(), "value looks like a Slack token"),
            (
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into(),
                "value looks like a Slack webhook URL",
            ),
            (
                format!("sk_live_{}", random_token(&mut rng, BASE62, 24)),
                "value looks like a Stripe secret key",
            ),
            (
                format!("rk_live_{}", random_token(&mut rng, BASE62, 24)),
                "value looks like a Stripe secret key",
            ),
            (
                format!(
                    "AIza{}",
                    random_token(&mut rng, b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_", 35)
                ),
                "value looks like a Google API key",
            ),
            ("Bearer 8f2b1c9e7d4a6b3c5e1f".into(), "value looks like an Authorization header"),
            // "alice:s3cret"
            ("Basic YWxpY2U6czNjcmV0".into(), "value looks like an Authorization header"),
            ("https://alice:s3cret@db.example.com/app".into(), "value is a URL with a password in it"),
            ("postgres://app:hunter2@10.0.0.5:5432/main".into(), "value is a URL with a password in it"),
            ("redis://:hunter2@cache:6379".into(), "value is a URL with a password in it"),
            (
                "see https://api.example.com/v1/feed?access_token=abcd1234efgh5678".into(),
                "value is a URL with a token in it",
            ),
            (
                format!("https://cdn.example.com/file.pdf?sig={}&exp=1", random_token(&mut rng, BASE62, 43)),
                "value is a URL with a token in it",
            ),
            (
                format!("api key {}", random_token(&mut rng, BASE62, 40)),
                "value looks like a random key or token",
            ),
        ];
        for (text, reason) in cases {
            let found = findings(json!({"note": text}));
            assert_eq!(found, [format!("note ({reason})")], "{text}");
        }
    }

    #[test]
    fn ordinary_strings_are_not_secrets() {
        for text in [
            "Mit freundlichen Grüßen",
            "The quick brown fox jumps over the lazy dog, twice, in 2024.",
            "https://hooks.example.com/deploy/594",
            "https://docs.google.com/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit",
            "https://alice@example.com/profile",
            "https://alice:@example.com/",
            "https://user:********@example.com/",
            "https://example.com:8443/path?page=2&sort=name#section-3",
            "https://example.com/search?q=how+to+configure+single+sign+on+in+five+minutes+2024",
            "mailto:alice@example.com",
            "2024-10-30T12:06:55.123Z",
            "2026-01-01",
            "#ff00aa",
            "rgb(255, 0, 170)",
            "550e8400-e29b-41d4-a716-446655440000",
            "550e8400e29b41d4a716446655440000",
            // Gravatar's MD5, a commit SHA, a SHA-256 digest, an Ethereum address.
            "d4c74594d841139328695756648b6bd6",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "pneumonoultramicroscopicsilicovolcanoconiosis",
            "Donaudampfschifffahrtsgesellschaftskapitän",
            "/home/user/projects/2024/my-app/src/components/Header.tsx",
            "assets/images/hero-banner-1920x1080-dark-v2.png",
            "how-to-configure-sso-in-5-minutes-2024-edition",
            "featureFlagNewEditorBeta2024Enabled",
            "ProjectPhoenixQuarterlyRoadmapReview2025Q3Final",
            "ThisIsTheWayWeDoItAndThatIsFine2024",
            "LOREM_IPSUM_DOLOR_SIT_AMET_2024_CONSTANT",
            "IMG_20241030_123456_HDR_Portrait_Mode_Enabled",
            "release-2024-10-30-hotfix-2-for-billing-module",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0",
            "en-US,en;q=0.9,de-DE;q=0.8,de;q=0.7",
            "+44 7700 900195",
            "1234567890123456789",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
            "Bearer of good news",
            "Basic plan",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyes on the prize",
            "AKIA is a prefix",
            "pk_live_51HXXXXXxY2bC3dE4fG5hI6jK7lM8nO9pQ0rS1tU2vW3xY4zA5bC6dE7fG8hI9jK0",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "-----BEGIN CERTIFICATE-----\nMIIB",
            "-----BEGIN PUBLIC KEY-----\nMIIB",
            "",
        ] {
            assert_eq!(findings(json!({"note": text})), [""; 0], "{text}");
        }
    }

    #[test]
    fn most_random_base62_tokens_are_found_and_hex_ones_are_left_alone() {
        let mut rng = fastrand::Rng::with_seed(42);
        let draws = 2000;
        for (len, at_least) in [(32, 0.75), (40, 0.8), (64, 0.85)] {
            let found =
                (0..draws).filter(|_| looks_random(random_token(&mut rng, BASE62, len).as_bytes())).count();
            let share = found as f64 / f64::from(draws);
            assert!(share >= at_least, "{len} characters: {share}");
        }
        let hex =
            (0..draws).filter(|_| looks_random(random_token(&mut rng, b"0123456789abcdef", 40).as_bytes()));
        assert_eq!(hex.count(), 0);
    }

    #[test]
    fn strings_under_ordinary_keys_are_found_at_any_depth_with_array_indices() {
        let found = findings(json!({
            "integrations": {"webhooks": [{"url": "https://hooks.example.com/a"}, {"url": "https://u:p4ss@hooks.example.com/b"}]},
            "deep": [[{"x": [jwt()]}]],
        }));
        assert_eq!(
            found,
            [
                "integrations.webhooks[1].url (value is a URL with a password in it)",
                "deep[0][0].x[0] (value looks like a JWT)",
            ]
        );
    }

    #[test]
    fn every_key_word_fits_the_normalised_tail() {
        for (word, _, _) in KEY_PATTERNS {
            assert!(word.len() <= LONGEST_KEY_WORD, "{word}");
            assert_eq!(word.to_ascii_lowercase(), *word);
            assert!(!word.contains(['_', '-', '.', ' ']), "{word}");
        }
        assert_eq!(key_kind(&format!("{}Password", "a".repeat(100))), Some(KeyKind::Password));
        assert_eq!(key_kind(&format!("{}pin", "_".repeat(100))), Some(KeyKind::Pin));
        assert_eq!(key_kind(&format!("{}pin", "x".repeat(100))), None);
    }

    #[test]
    fn summary_names_the_first_few_then_counts_the_rest() {
        let finding =
            |path: &str| SecretFinding { path: path.into(), reason: SecretReason::Key(KeyKind::Token) };
        let all: Vec<_> = ["a", "b", "c"].into_iter().map(finding).collect();
        assert_eq!(
            summary(&all, 5),
            "a (key looks like a token), b (key looks like a token), c (key looks like a token)"
        );
        assert_eq!(summary(&all, 1), "a (key looks like a token), and 2 more");
    }

    #[test]
    fn pathological_strings_are_read_in_linear_time() {
        for piece in ["eyJ.", "-eyJ", "Bearer ", "a://", "ghp_", "-----BEGIN ", "AKIA"] {
            let text = piece.repeat(1024 * 1024 / piece.len());
            let started = std::time::Instant::now();
            let _ = value_kind(&text);
            assert!(started.elapsed().as_secs_f64() < 2.0, "{piece:?} took {:?}", started.elapsed());
        }
    }
}
