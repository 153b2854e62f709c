//! What a key's name says its value is: the sensitive words ([`KEY_PATTERNS`]), how a key is
//! matched against them, and what a real value of each kind looks like.

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
    /// A wallet's recovery words (`mnemonic`, `recoveryPhrase`): 12 words or more; a menu's
    /// `mnemonic: "F"` is an accelerator (bb79 F3).
    SeedWords,
    /// A card number under a short, everyday key (`card`, `cc`): its digits pass the Luhn
    /// check, so `card: "123456789012"` or a phone number is none (bb79 F3).
    CheckedCardNumber,
}

impl KeyKind {
    pub(super) fn noun(self) -> &'static str {
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
            KeyKind::SeedWords => "a wallet's recovery words",
            KeyKind::CheckedCardNumber => "a card number",
        }
    }

    /// Whether an object under this key is a container of secrets, flagged as a whole.
    pub(super) fn covers_contents(self) -> bool {
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
    pub(super) fn holds(self, text: &str) -> bool {
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
            KeyKind::CheckedCardNumber => KeyKind::CardNumber.holds(text) && passes_luhn(text),
            KeyKind::SeedWords => {
                text.split_whitespace().count() >= 12
                    && text.split_whitespace().all(|word| word.chars().all(char::is_alphabetic))
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
        // An everyday short name, as a whole key only. Not `pass`: a test's, a threshold's, a
        // season's (`pass: 12`, `pass: "70%"`) far more often than a password (bb79 F3).
        ("pw", Whole, Password),
        ("passphrase", Suffix, Password),
        ("passcode", Suffix, Password),
        // Also clientSecret, apiSecret, webhookSecret, mfaSecret, otpSecret, totpSecret.
        ("secret", Suffix, Secret),
        ("secrets", Suffix, Secret),
        // An authenticator's seed is its secret: totpSeed, otp_seed, hotpKey, mfaSeed. `seed`
        // alone is not (a random generator's, a game's); nor is `totp` (`{enabled, method}`).
        ("otpseed", Suffix, Secret),
        ("otpkey", Suffix, Secret),
        ("mfaseed", Suffix, Secret),
        // A wallet's recovery words: whoever has them has the wallet.
        ("seedphrase", Suffix, Secret),
        ("recoveryphrase", Suffix, SeedWords),
        ("mnemonic", Suffix, SeedWords),
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
        // Only 12–19 digits are a card number: `card: "visa"`, `cc: "me@example.com"` are not.
        ("card", Whole, CheckedCardNumber),
        ("cc", Whole, CheckedCardNumber),
        // Also cvv2, cvc2: a key's trailing digits are passed over.
        ("cvv", Suffix, CardCode),
        ("cvc", Suffix, CardCode),
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

/// The longest word in [`KEY_PATTERNS`] fits in this many bytes (checked by a test).
pub(super) const LONGEST_KEY_WORD: usize = 24;

/// Words after a secret's name that say only the form its value is written in:
/// `passwordValue`, `clientSecretPlain`, `apiKeyRaw`, `privateKeyHex` are the secret itself, as
/// `{"password": {"value": …}}` is (bb77 F4: the nested form was found, the flat one passed);
/// two of them too (`password_value_plain`, `passwordValueHex`: bb79 F4). A plain value under
/// `…Encrypted` is one that was not. Not `text`, `label` or `hint`: those name words about
/// the secret.
const FORM_WORDS: [&str; 9] =
    ["value", "plaintext", "plain", "raw", "hex", "cleartext", "clear", "string", "encrypted"];

/// Form words that end in digits, which a key's end passes over (`password2`): looked for
/// before that.
const FORM_WORDS_WITH_DIGITS: [&str; 2] = ["base64", "b64"];

/// The longest of [`FORM_WORDS`].
const LONGEST_FORM_WORD: usize = 9;

/// How many form words in a row are passed over (`passwordValueValueValue` passed with two:
/// bb82 F6).
const FORM_WORDS_IN_A_ROW: usize = 3;

/// The kind of secret a key's name announces, if any.
pub fn key_kind(key: &str) -> Option<KeyKind> {
    if key.is_ascii() { key_kind_ascii(key) } else { key_kind_ascii(&ascii_spelling(key)) }
}

/// `key` as its ASCII look-alike: full-width, mathematical, circled and small-capital letters,
/// and the Cyrillic and Greek letters drawn as Latin ones, as ASCII ones; a no-break or other
/// wide space as a space and a dash as a hyphen; and the characters that show nothing (a soft
/// hyphen, a zero-width space, a joiner, a bidi mark) left out — `pass­word` with a soft hyphen
/// read as no sensitive word (bb77 F4), and `𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝`, `pass\u{a0}word`, Cyrillic `pаssword`
/// too (bb79 F4). Other letters stay as they are.
fn ascii_spelling(key: &str) -> String {
    key.chars()
        // Combining marks too: a look-alike with an accent on it (`о\u{301}`) read as no letter
        // (bb82 F6).
        .filter(|c| {
            (!crate::inert::is_hidden(*c) || c.is_ascii()) && !matches!(u32::from(*c), 0x0300..=0x036F)
        })
        .map(look_alike)
        .collect()
}

/// The ASCII character `c` is drawn as, or `c`.
fn look_alike(c: char) -> char {
    let code = u32::from(c);
    let letter = |index: u32, upper: bool| {
        char::from(if upper { b'A' } else { b'a' } + u8::try_from(index % 26).unwrap_or(0))
    };
    match code {
        0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        // Mathematical bold, italic, script, fraktur, double-struck, sans-serif and monospace
        // letters: runs of 26 capitals then 26 small ones; then digits in runs of ten.
        0x1D400..=0x1D6A3 => {
            let index = (code - 0x1D400) % 52;
            letter(index, index < 26)
        }
        0x1D7CE..=0x1D7FF => char::from(b'0' + u8::try_from((code - 0x1D7CE) % 10).unwrap_or(0)),
        0x24B6..=0x24CF => letter(code - 0x24B6, true),
        0x24D0..=0x24E9 => letter(code - 0x24D0, false),
        0x249C..=0x24B5 => letter(code - 0x249C, false),
        // Squared, negative circled and negative squared capitals (bb82 F6).
        0x1F130..=0x1F149 => letter(code - 0x1F130, true),
        0x1F150..=0x1F169 => letter(code - 0x1F150, true),
        0x1F170..=0x1F189 => letter(code - 0x1F170, true),
        0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => ' ',
        0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 => '-',
        _ => match c {
            // Small capitals.
            'ᴀ' => 'a',
            'ʙ' => 'b',
            'ᴄ' => 'c',
            'ᴅ' => 'd',
            'ᴇ' => 'e',
            'ꜰ' => 'f',
            'ɢ' => 'g',
            'ʜ' => 'h',
            'ɪ' => 'i',
            'ᴊ' => 'j',
            'ᴋ' => 'k',
            'ʟ' => 'l',
            'ᴍ' => 'm',
            'ɴ' => 'n',
            'ᴏ' => 'o',
            'ᴘ' => 'p',
            'ʀ' => 'r',
            'ꜱ' => 's',
            'ᴛ' => 't',
            'ᴜ' => 'u',
            'ᴠ' => 'v',
            'ᴡ' => 'w',
            'ʏ' => 'y',
            'ᴢ' => 'z',
            // Cyrillic and Greek letters drawn as Latin ones.
            'а' | 'α' => 'a',
            'е' | 'ε' => 'e',
            'о' | 'ο' => 'o',
            'р' | 'ρ' => 'p',
            'с' => 'c',
            'у' => 'y',
            'х' | 'χ' => 'x',
            'ѕ' => 's',
            'і' | 'ι' => 'i',
            'ј' => 'j',
            'ԁ' => 'd',
            'ԝ' => 'w',
            'һ' => 'h',
            'к' | 'κ' => 'k',
            'ν' => 'v',
            'τ' => 't',
            'υ' => 'u',
            'А' | 'Α' => 'A',
            'В' | 'Β' => 'B',
            'Е' | 'Ε' => 'E',
            'К' | 'Κ' => 'K',
            'М' | 'Μ' => 'M',
            'Н' | 'Η' => 'H',
            'О' | 'Ο' => 'O',
            'Р' | 'Ρ' => 'P',
            'С' => 'C',
            'Т' | 'Τ' => 'T',
            'Х' | 'Χ' => 'X',
            'Ѕ' => 'S',
            'І' | 'Ι' => 'I',
            'Ј' => 'J',
            'Ζ' => 'Z',
            'Ν' => 'N',
            _ => c,
        },
    }
}

fn key_kind_ascii(key: &str) -> Option<KeyKind> {
    // Both end in `4`: one byte looked at for every other key (this runs for every key).
    for form in FORM_WORDS_WITH_DIGITS.iter().filter(|_| key.ends_with('4')) {
        let at = key.len().saturating_sub(form.len());
        if at > 0
            && key.is_char_boundary(at)
            && key[at..].eq_ignore_ascii_case(form)
            && let Some(kind) = key_kind_ascii(&key[..at])
        {
            return Some(kind);
        }
    }
    // Only the end of a key can match, so only its last bytes are normalised (on the stack:
    // this runs for every key of every document).
    const KEPT: usize = LONGEST_KEY_WORD + FORM_WORDS_IN_A_ROW * LONGEST_FORM_WORD;
    let mut tail = [0u8; KEPT];
    let mut len = 0;
    let mut whole = true;
    // What ends a key after its word is passed over: digits (`password2`, `clientSecret2`),
    // punctuation, white space and control characters (`password:`, a tab) — they passed
    // as harmless keys (bb48 F3). Not a key of nothing else: `2` is no word.
    let tail_end = key
        .as_bytes()
        .iter()
        .rposition(|b| {
            !(b.is_ascii_digit()
                || b.is_ascii_punctuation()
                || b.is_ascii_whitespace()
                || b.is_ascii_control())
        })
        .map_or(key.len(), |at| at + 1);
    for &b in key.as_bytes()[..tail_end].iter().rev() {
        if matches!(b, b'_' | b'-' | b'.' | b' ') {
            continue;
        }
        if len == KEPT {
            whole = false;
            break;
        }
        len += 1;
        tail[KEPT - len] = b.to_ascii_lowercase();
    }
    let normal = &tail[KEPT - len..];
    if let Some(kind) = matching_word(normal, whole) {
        return Some(kind);
    }
    let mut rest = normal;
    for _ in 0..FORM_WORDS_IN_A_ROW {
        // Only keys ending as a form word does are looked at again.
        if !matches!(rest.last(), Some(b'e' | b't' | b'n' | b'w' | b'x' | b'r' | b'g' | b'd')) {
            return None;
        }
        let form =
            FORM_WORDS.iter().find(|form| rest.len() > form.len() && rest.ends_with(form.as_bytes()))?;
        rest = &rest[..rest.len() - form.len()];
        if let Some(kind) = matching_word(rest, whole) {
            return Some(kind);
        }
    }
    None
}

/// The kind of the first of [`KEY_PATTERNS`] `normal` (a key's normalised end, the whole key
/// when `whole`) matches.
fn matching_word(normal: &[u8], whole: bool) -> Option<KeyKind> {
    let last = normal.last()?;
    // In KEY_PATTERNS' order, only the words that end as the key does.
    let mut candidates = PATTERNS_BY_LAST_BYTE[usize::from(*last)];
    while candidates != 0 {
        let index = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        let (word, how, kind) = KEY_PATTERNS[index];
        let matched = match how {
            KeyMatch::Whole => whole && normal == word.as_bytes(),
            KeyMatch::Suffix => normal.ends_with(word.as_bytes()),
        };
        if matched {
            return Some(kind);
        }
    }
    None
}

/// For each byte, the [`KEY_PATTERNS`] (bit `i` for the `i`th) whose word ends with it: a key
/// is compared with a few words, not all forty (every key of every document is looked up).
const PATTERNS_BY_LAST_BYTE: [u64; 256] = {
    assert!(KEY_PATTERNS.len() <= 64, "one bit a pattern");
    let mut table = [0u64; 256];
    let mut index = 0;
    while index < KEY_PATTERNS.len() {
        let word = KEY_PATTERNS[index].0.as_bytes();
        table[word[word.len() - 1] as usize] |= 1 << index;
        index += 1;
    }
    table
};

/// Whether the digits of `text` pass the Luhn check every card number passes.
fn passes_luhn(text: &str) -> bool {
    let digits = text.bytes().rev().filter(u8::is_ascii_digit).map(|b| u32::from(b - b'0'));
    let sum: u32 = digits
        .enumerate()
        .map(|(at, digit)| match at % 2 {
            1 if digit * 2 > 9 => digit * 2 - 9,
            1 => digit * 2,
            _ => digit,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `""`, `"****"`, `"••••"`, `"xxxx"`: a placeholder shows there is a secret elsewhere.
pub(super) fn is_masked(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '*' | '•' | '●' | '·' | 'x' | 'X' | '#' | '-' | '.' | ' '))
}
