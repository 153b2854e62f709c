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
//! GitLab, Slack, Stripe and Google keys, an `Authorization` header) — then for a URL with a
//! password (`https://user:pass@host`) or a credential in its query or fragment
//! (`?access_token=…`), for a random-looking token ([`looks_random`]; an IPFS content id and a
//! path to a file are addresses), and last for a connection string with a password among its
//! `key=value;` pairs. A finding names the path once, with the value's reason when the value is
//! recognised and the key's reason otherwise.

mod key_names;
mod public_ids;
mod random_token;
#[cfg(test)]
mod tests;
mod value_shapes;

use std::fmt;

use serde_json::{Map, Value};

use super::seal;
// Where the lint's paths are built; other checks have long imported them from here.
pub(crate) use super::value_path::{push_index, push_key};

pub use key_names::{KEY_PATTERNS, KeyKind, KeyMatch, key_kind};
pub use random_token::looks_random;
pub use value_shapes::{VALUE_PATTERNS, ValueKind, ValuePattern, value_kind};

/// One place in a document that looks like it holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFinding {
    /// Where, like `prefs.api[2].token` (the path format of [`super::scan`]).
    pub path: String,
    pub reason: SecretReason,
}

impl fmt::Display for SecretFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The document itself (a JWK pasted as the whole customData) has no path to name.
        match self.path.as_str() {
            "" => write!(f, "the whole document ({})", self.reason),
            path => write!(f, "{} ({})", crate::domain::value_path::shown_path(path), self.reason),
        }
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
    summary_joined(items, max, ", ")
}

/// [`summary`] with the items joined by `separator`: `"; "` where an item may hold commas of
/// its own (a schema error quoting a value), so the list still reads as its items.
pub fn summary_joined<T: fmt::Display>(items: &[T], max: usize, separator: &str) -> String {
    summary_of_first(&items[..items.len().min(max)], items.len() as u64, separator)
}

/// [`summary_joined`] of a list `total` long of which only the `first` items were kept.
pub fn summary_of_first<T: fmt::Display>(first: &[T], total: u64, separator: &str) -> String {
    let mut parts: Vec<String> = first.iter().map(ToString::to_string).collect();
    let more = total.saturating_sub(first.len() as u64);
    if more > 0 {
        parts.push(format!("and {more} more"));
    }
    parts.join(separator)
}

fn walk_object(object: &Map<String, Value>, path: &mut String, findings: &mut Vec<SecretFinding>) {
    walk_members(object, None, path, findings);
}

/// The members of an object; under a sensitive key (`under`), a member named only as the
/// value it holds (`value`, `current`, `number`) stands for that key: `{"password":
/// {"value": "hunter2"}}` and `{"creditCard": {"number": "4242…"}}` passed (bb48 F3), while
/// `creditCard: {brand, last4}` and `password: {minLength}` are judged by their own keys.
fn walk_members(
    object: &Map<String, Value>,
    under: Option<KeyKind>,
    path: &mut String,
    findings: &mut Vec<SecretFinding>,
) {
    // Looked for among the keys, not hashed: an object of customData holds a few members, and
    // this runs for every one.
    // Only the registered key types: `{"kty": "svg", "d": "M10…"}` is an icon (bb79 F3).
    let jwk = object.iter().any(|(key, value)| {
        key == "kty" && matches!(value.as_str(), Some("oct" | "RSA" | "EC" | "OKP" | "AKP"))
    });
    if jwk && is_secret_jwk(object) {
        findings
            .push(SecretFinding { path: path.clone(), reason: SecretReason::Value(ValueKind::SecretJwk) });
        return;
    }
    for (key, value) in object {
        // A public key's numbers look random and are meant to be read.
        if jwk && PUBLIC_JWK_MEMBERS.contains(&key.as_str()) {
            continue;
        }
        let len = push_key(path, key);
        let inherited = under.filter(|kind| names_only_the_value(key) && holds_as_written(*kind, value));
        match key_kind(key).or(inherited) {
            Some(kind) => judge_under_key(kind, value, path, findings),
            None => walk_value(value, path, findings),
        }
        path.truncate(len);
    }
}

/// A JSON Web Key (`kty`) holding its private or symmetric part: `k` of an `oct` key (what
/// `custodian keygen` writes), `d` and the RSA primes of the others. Whoever has it opens
/// every value sealed with it; its `k` passed as a random token about one time in eight
/// (bb77 F1). A public key (`x`, `y`, `n`, `e` alone) is no secret.
fn is_secret_jwk(object: &Map<String, Value>) -> bool {
    // `priv`: an AKP (post-quantum) key's private part.
    const PRIVATE_MEMBERS: [&str; 8] = ["k", "d", "p", "q", "dp", "dq", "qi", "priv"];
    PRIVATE_MEMBERS.iter().any(|member| {
        matches!(object.get(*member), Some(Value::String(text))
            if !key_names::is_masked(text) && !seal::could_be_ciphertext(text))
    })
}

/// The members of a public JSON Web Key (RFC 7517, 7518): its numbers and what it is for.
const PUBLIC_JWK_MEMBERS: [&str; 9] = ["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"];

/// A member name that says nothing but "the value" (ASCII case ignored). Not `data`, `text`
/// or `type`: `{"password": {"text": "Password"}}` is a form's label.
fn names_only_the_value(key: &str) -> bool {
    const WORDS: &[&str] = &[
        "value",
        "v",
        "val",
        "current",
        "previous",
        "old",
        "new",
        "plain",
        "plaintext",
        "raw",
        "number",
        "num",
        "pan",
    ];
    // Normalised as a key is (`plain_text`, `Value1`: bb50 F4); a long key is no such word.
    if key.len() > 16 {
        return false;
    }
    let word: String = key
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    WORDS.contains(&word.as_str())
}

/// Whether a value under such a member can be what the key above names: a string, or a
/// number where the key names digits (`{"password": {"v": 2}}` is a version).
fn holds_as_written(kind: KeyKind, value: &Value) -> bool {
    match value {
        // An object is looked into the same way (`{"value": {"value": …}}`: bb50 F4).
        Value::String(_) | Value::Array(_) | Value::Object(_) => true,
        Value::Number(_) => {
            matches!(
                kind,
                KeyKind::Pin | KeyKind::CardNumber | KeyKind::CheckedCardNumber | KeyKind::CardCode
            )
        }
        _ => false,
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
        Value::Object(object) if !kind.covers_contents() => walk_members(object, Some(kind), path, findings),
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
        // Sealed: only a known token left in the clear among its parts is a finding.
        Value::String(text) if seal::could_be_ciphertext(text) => value_kind(text).map(SecretReason::Value),
        Value::String(text) => value_kind(text)
            .map(SecretReason::Value)
            .or_else(|| kind.holds(text).then_some(SecretReason::Key(kind))),
        Value::Number(number) => kind.holds(&number.to_string()).then_some(SecretReason::Key(kind)),
        _ => None,
    }
}
