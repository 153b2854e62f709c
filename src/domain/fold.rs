//! When two texts are "the same" to an operator: one rule for uniqueness (username, email,
//! phone), lookups and the filter, so `Straße` and `STRASSE`, the composed and decomposed
//! `é`, full-width `ａｄｍｉｎ` and `admin`, and `admin ` and `admin` are one name.
//!
//! The fold is Unicode's compatibility caseless match: NFKC, full case folding, NFKC again
//! (folding can leave text unnormalised). NFKC rather than NFC because the compatibility
//! forms it removes (full-width letters, ligatures such as `ﬁ`, superscripts, the Kelvin and
//! Ohm signs) look like the plain letters on an operator's screen: two users an operator
//! cannot tell apart must not both exist. What the user typed is kept for display; only
//! the index keys and the comparisons use the fold. Both steps are ICU4X's (the Unicode
//! Consortium's own Rust libraries, data compiled in), not hand-made tables.

use std::borrow::Cow;

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizer;

/// `text` folded for comparison: NFKC, full case folding, NFKC. ASCII (the common case)
/// takes a quick path with the same result: ASCII lower case.
pub fn fold(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(text.to_ascii_lowercase());
        }
        return Cow::Borrowed(text);
    }
    let normaliser = ComposingNormalizer::new_nfkc();
    let normalised = normaliser.normalize(text);
    let folded = CaseMapper::new().fold_string(&normalised);
    Cow::Owned(normaliser.normalize(&folded).into_owned())
}

/// Appends [`fold`] of `text` to `out`: ASCII straight in, lower-cased, with no string of its
/// own (a search text is made of dozens of folded parts per user).
pub fn fold_into(out: &mut String, text: &str) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&fold(text));
    }
}

/// The key a unique, case-insensitive field (username, primary email) is indexed and looked
/// up by: [`fold`], without surrounding white space.
pub fn name_key(text: &str) -> String {
    fold(text).trim().to_owned()
}

/// The key a primary phone is indexed and looked up by: NFKC (full-width digits are digits)
/// without surrounding white space; no case folding, so a phone is matched exactly as
/// written otherwise.
pub fn phone_key(text: &str) -> String {
    if text.is_ascii() {
        return text.trim().to_owned();
    }
    ComposingNormalizer::new_nfkc().normalize(text).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_into_a_text_appends_what_fold_gives() {
        for part in ["", "plain", "CamelCase", "Straße", "ＡＤＭＩＮ", "\u{212A}elvin", "1E5", "a\0B"] {
            let mut out = String::from("Kept·");
            fold_into(&mut out, part);
            assert_eq!(out, format!("Kept·{}", fold(part)), "{part:?}");
        }
    }

    #[test]
    fn names_an_operator_cannot_tell_apart_fold_to_one_key() {
        assert_eq!(name_key("Straße"), name_key("STRASSE"));
        assert_eq!(name_key("Ame\u{301}lie"), name_key("Am\u{e9}lie"));
        assert_eq!(name_key("admin "), name_key("admin"));
        assert_eq!(name_key(" \u{3000}ADMIN"), "admin");
        assert_eq!(name_key("ａｄｍｉｎ"), "admin");
        assert_eq!(name_key("\u{212A}elvin"), "kelvin");
        assert_eq!(name_key("ΣΑΣ"), name_key("σας"));
        assert_ne!(name_key("alice"), name_key("alicia"));
        assert_eq!(phone_key(" +49 30 123 "), "+49 30 123");
        assert_eq!(phone_key("１２３"), "123");
    }

    #[test]
    fn the_ascii_path_agrees_with_the_full_fold() {
        for text in ["Admin", "a.B-c_9@Example.COM", "", " x "] {
            let full = {
                let normaliser = ComposingNormalizer::new_nfkc();
                let normalised = normaliser.normalize(text);
                let folded = CaseMapper::new().fold_string(&normalised);
                normaliser.normalize(&folded).into_owned()
            };
            assert_eq!(fold(text), full);
        }
    }
}
