//! What a value's shape says it is: known token formats found where a word starts, and URLs
//! with credentials in them.

use serde_json::{Map, Value};

use super::key_names::{is_masked, key_kind};
use super::random_token::has_random_token;
use crate::domain::seal;

/// What a value's shape says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Jwt,
    PemPrivateKey,
    AwsAccessKeyId,
    GitHubToken,
    GitLabToken,
    SlackToken,
    SlackWebhook,
    DiscordWebhook,
    StripeSecretKey,
    GoogleApiKey,
    AuthorizationHeader,
    UrlWithPassword,
    UrlWithCredential,
    ConnectionStringWithPassword,
    RandomToken,
    /// An object that is a JSON Web Key with its private or symmetric part: custodian's own
    /// sealing key among them (bb77 F1).
    SecretJwk,
    /// A sealed value's protected header (base64url, readable by anyone) with a member named as
    /// a secret (`password`, `apiKey`) holding text (bb93 F4).
    SecretHeaderMember,
}

impl ValueKind {
    pub(super) fn phrase(self) -> &'static str {
        match self {
            ValueKind::Jwt => "value looks like a JWT",
            ValueKind::PemPrivateKey => "value looks like a PEM private key",
            ValueKind::AwsAccessKeyId => "value looks like an AWS access key id",
            ValueKind::GitHubToken => "value looks like a GitHub token",
            ValueKind::GitLabToken => "value looks like a GitLab token",
            ValueKind::SlackToken => "value looks like a Slack token",
            ValueKind::SlackWebhook => "value looks like a Slack webhook URL",
            ValueKind::DiscordWebhook => "value looks like a Discord webhook URL",
            ValueKind::StripeSecretKey => "value looks like a Stripe secret key",
            ValueKind::GoogleApiKey => "value looks like a Google API key",
            ValueKind::AuthorizationHeader => "value looks like an Authorization header",
            ValueKind::UrlWithPassword => "value is a URL with a password in it",
            ValueKind::UrlWithCredential => "value is a URL with a token in it",
            ValueKind::ConnectionStringWithPassword => "value is a connection string with a password in it",
            ValueKind::RandomToken => "value looks like a random key or token",
            ValueKind::SecretJwk => "value is a JSON Web Key with its private or secret part",
            ValueKind::SecretHeaderMember => {
                "value is sealed, but its header, which anyone can read, holds a member named as a secret"
            }
        }
    }
}

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
        // GitLab's documented prefixes: personal, OAuth application secret, deploy, runner,
        // CI/CD job, pipeline trigger, feed, incoming mail, agent, SCIM, feature flags client
        // tokens, and the runner registration token of old. 20 characters or more after them
        // (a routable token's payload is 27 or more before its `.`).
        pattern("glpat-", AtLeast(20, is_base64url), GitLabToken),
        pattern("gloas-", AtLeast(20, is_base64url), GitLabToken),
        pattern("gldt-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glrt-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glcbt-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glptt-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glft-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glimt-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glagent-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glsoat-", AtLeast(20, is_base64url), GitLabToken),
        pattern("glffct-", AtLeast(20, is_base64url), GitLabToken),
        pattern("GR1348941", AtLeast(20, is_base64url), GitLabToken),
        pattern("xoxb-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxa-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxp-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxr-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("xoxs-", AtLeast(10, is_alnum_dash), SlackToken),
        pattern("hooks.slack.com/services/", AtLeast(20, is_alnum_slash), SlackWebhook),
        // `…/webhooks/ID/TOKEN`: whoever has the URL posts to the channel.
        pattern("discord.com/api/webhooks/", AtLeast(60, is_url_path_word), DiscordWebhook),
        pattern("discordapp.com/api/webhooks/", AtLeast(60, is_url_path_word), DiscordWebhook),
        pattern("canary.discord.com/api/webhooks/", AtLeast(60, is_url_path_word), DiscordWebhook),
        pattern("ptb.discord.com/api/webhooks/", AtLeast(60, is_url_path_word), DiscordWebhook),
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

/// The kind of secret a string's text looks like, if any.
pub fn value_kind(text: &str) -> Option<ValueKind> {
    // A sealed value (any JWE compact value, whoever's key) is ciphertext, not a secret —
    // unless a part of it is a known token in the clear: a header and dots around `ghp_…`
    // encrypt nothing (bb10). Ciphertext is random base64url, which no known format matches.
    if seal::could_be_ciphertext(text) {
        return text
            .split('.')
            .skip(1)
            .find_map(known_format)
            // Known formats only: a header's public members are random-looking by nature (an
            // ECDH-ES `epk`'s coordinates, a thumbprint as the `kid`); and a member named as a
            // secret, or a URL with its password, in the clear beside ciphertext (bb93 F4).
            .or_else(|| {
                seal::header_texts(text).iter().find_map(|(name, member)| {
                    known_format(member)
                        .or_else(|| connection_string_kind(member))
                        .or_else(|| url_kind(member))
                        .or_else(|| named_secret(name, member).then_some(ValueKind::SecretHeaderMember))
                })
            });
    }
    known_format(text).or_else(|| chunks_kind(text)).or_else(|| connection_string_kind(text))
}

/// A header member named as a secret (`password`, `apiKey`) with text that is no placeholder.
fn named_secret(name: &str, text: &str) -> bool {
    key_kind(name).is_some() && !is_masked(text)
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

fn is_url_path_word(b: u8) -> bool {
    is_alnum_slash(b) || matches!(b, b'-' | b'_')
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
        let (plain, url) = match find_scheme_separator(chunk) {
            // A scheme is a short word: a longer run of letters and digits before `://` is a
            // token the URL was glued onto, read with it (the URL is read from `://`).
            Some(at) if at - scheme_start(chunk, at) > MAX_SCHEME => {
                (&chunk_text[..at], Some(&chunk_text[at..]))
            }
            Some(at) => {
                let start = scheme_start(chunk, at);
                (&chunk_text[..start], Some(&chunk_text[start..]))
            }
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

/// A connection string of `key=value;` pairs (ADO.NET, ODBC, a JDBC URL's properties) with a
/// password among them: `Server=…;User ID=admin;Password=s3cr3t;`, `…;Pwd={s3cr3t};`. The
/// pair's name is the password's, as these strings spell it (any case, spaces and `_` left
/// out): `Password`, `PWD`, `passwd`, `User Password`; and its value is not empty or masked.
/// Only text with a `;` after an `=` is read so: `password=…` alone is prose or a query (a
/// URL's is read as a URL).
fn connection_string_kind(text: &str) -> Option<ValueKind> {
    const NAMES: [&[u8]; 4] = [b"password", b"pwd", b"passwd", b"userpassword"];
    // Most text has neither: two memchr scans, then nothing.
    let first_pair = text.find('=')?;
    if !text[first_pair..].contains(';') {
        return None;
    }
    text.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let mut normal = [0u8; 12];
        let mut len = 0;
        for b in name.bytes().filter(|b| !matches!(b, b' ' | b'_' | b'-' | b'.')) {
            *normal.get_mut(len)? = b.to_ascii_lowercase();
            len += 1;
        }
        let value = value.trim().trim_start_matches(['{', '"', '\'']).trim_end_matches(['}', '"', '\'']);
        (NAMES.contains(&&normal[..len]) && !is_masked(value))
            .then_some(ValueKind::ConnectionStringWithPassword)
    })
}

/// The longest scheme read as one (`chrome-extension` is 16; most are under 10).
const MAX_SCHEME: usize = 20;

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

/// Query parameters whose values are public ids, random-looking by design: the click ids ad
/// platforms add to a landing URL (`fbclid`, `gclid`, …), a YouTube playlist (`list`), a
/// share id (`si`), campaign tags (`utm_…`), the analytics id Unsplash puts in every image URL
/// its API returns (`ixid`, with `ixlib`: a cover image refused `set` and held a user out of
/// every patch, bb67 F3). A landing URL kept as where a user came from was refused as holding
/// a token (bb17 L04). A parameter named like a secret is still one.
fn is_public_parameter(name: &str) -> bool {
    const PUBLIC: &[&str] = &[
        "fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
        "mc_cid", "mc_eid", "list", "si", "v", "ixid", "ixlib",
    ];
    let name = name.to_ascii_lowercase();
    PUBLIC.contains(&name.as_str()) || name.starts_with("utm_")
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
        if named || (!is_public_parameter(name) && has_random_token(value)) {
            return Some(ValueKind::UrlWithCredential);
        }
    }
    None
}
