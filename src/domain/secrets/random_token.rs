//! The generic rule: a run of base64 that looks random is a key or token whatever its name.

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

/// Whether `text` has a run of base64/base64url characters that looks random (see
/// [`looks_random`]).
pub(super) fn has_random_token(text: &str) -> bool {
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
