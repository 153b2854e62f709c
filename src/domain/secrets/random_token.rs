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
/// [`looks_random`]) and is not a file's path.
pub(super) fn has_random_token(text: &str) -> bool {
    let is_part = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-');
    let bytes = text.as_bytes();
    let mut at = 0;
    for run in bytes.split(|b| !is_part(*b)) {
        let after = &bytes[at + run.len()..];
        at += run.len() + 1;
        if looks_random(run) && !is_file_path(run, after) {
            return true;
        }
    }
    false
}

/// Whether a run with `/` in it is a path to a file: the run is followed by an extension (`.`
/// and 1–5 letters and digits with a letter among them: `.png`, `.mp4`, `.tar.gz`). A stored
/// object's key (`uploads/2024/AbCd…Uv.png`) is named at random so that names do not clash;
/// it is an address, as a URL's path is. Base64 has `/` but no `.`, and a token is not
/// followed by a file's extension.
fn is_file_path(run: &[u8], after: &[u8]) -> bool {
    let Some(extension) = after.strip_prefix(b".") else { return false };
    let length = extension.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    run.contains(&b'/')
        && (1..=MAX_EXTENSION).contains(&length)
        && extension[..length].iter().any(u8::is_ascii_alphabetic)
}

/// The longest file extension read as one (`.xlsx`, `.webp`, `.jpeg`).
const MAX_EXTENSION: usize = 5;

/// An IPFS content id: a hash of public content, an address and no credential. CIDv0 is `Qm`
/// and 44 base58 characters; CIDv1 in base32 is `ba` and lower-case base32 (`bafy…`,
/// `bafk…`, 59 characters for a SHA-256). Also as the end of a path (`/ipfs/Qm…`).
fn is_content_id(token: &[u8]) -> bool {
    let id = token.strip_prefix(b"/").unwrap_or(token);
    let id = id.strip_prefix(b"ipfs/").or_else(|| id.strip_prefix(b"ipns/")).unwrap_or(id);
    let is_base58 = |b: &u8| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l');
    let is_base32 = |b: &u8| b.is_ascii_lowercase() || (b'2'..=b'7').contains(b);
    match id {
        [b'Q', b'm', rest @ ..] => rest.len() == 44 && rest.iter().all(is_base58),
        [b'b', b'a', rest @ ..] => (48..=120).contains(&rest.len()) && rest.iter().all(is_base32),
        _ => false,
    }
}

/// The generic rule: 32–512 characters of base64/base64url, with letters and digits, not only
/// hex digits (hashes such as Gravatar's MD5, commit SHAs, UUIDs with or without dashes,
/// `0x` addresses are identifiers), not a publishable key or an IPFS content id, with at least [`MIN_ENTROPY`] bits
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
    if PUBLIC_PREFIXES.iter().any(|prefix| token.starts_with(prefix.as_bytes()))
        || is_content_id(token)
        || super::public_ids::is_public_id(token)
    {
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
