//! Making untrusted text safe to show. User profiles come from outside: a name or a string
//! in customData can carry terminal escape sequences, C1 controls or bidi overrides that a
//! terminal would obey. Everything custodian shows goes through here, so they appear as
//! visible symbols and never act.

use std::borrow::Cow;

/// Characters that change how text is laid out or read without being visible: bidi
/// embeddings, overrides and isolates, zero-width marks, the BOM, line/paragraph separators.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn needs_care(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// One line of untrusted text for display: C0 controls become their Control Pictures
/// (`␛`, `␊`, `␉`), DEL becomes `␡`, C1 controls and invisible format characters become
/// `\u{…}`.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_care) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// Multi-line untrusted text: like [`line`], but line breaks stay line breaks.
pub fn lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_care(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' { out.push(c) } else { push_visible(&mut out, c) }
    }
    Cow::Owned(out)
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
        '\u{7F}' => out.push('\u{2421}'),
        c if needs_care(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// JSON text for a terminal: serde_json already escapes C0 controls, but writes C1 controls
/// and bidi characters raw. Escaping them as `\uXXXX` keeps the JSON exactly equivalent.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_care_in_json) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_care_in_json(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_care_in_json(c: char) -> bool {
    // Newlines and indentation are JSON's own layout; every other control is inside a string.
    !matches!(c, '\n' | '\t' | '\r') && needs_care(c)
}

/// `text` as one word a POSIX shell reads back as it is: unchanged when it holds only
/// characters no shell treats specially, else in single quotes (a `'` inside as `'\''`).
/// For commands custodian tells the operator to run.
pub fn shell_word(text: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("'{}'", text.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(line("a\u{1b}[31mred"), "a␛[31mred");
        assert_eq!(line("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(line("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(line("tab\tnew\nline\u{7f}"), "tab␉new␊line␡");
    }

    #[test]
    fn ordinary_text_is_untouched_and_borrowed() {
        assert!(matches!(line("Zoë Müller 山田"), Cow::Borrowed(_)));
        assert!(matches!(lines("{\n  \"a\": 1\n}"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keeps_newlines_only() {
        assert_eq!(lines("a\nb\u{7}"), "a\nb␇");
    }

    #[test]
    fn json_escapes_stay_valid_json_with_the_same_value() {
        let original = serde_json::json!({"a": "x\u{9b}y\u{202e}z"}).to_string();
        let safe = json(&original);
        assert!(!safe.contains('\u{9b}') && !safe.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back.to_string(), original);
    }

    #[test]
    fn shell_word_quotes_only_what_a_shell_would_change() {
        assert_eq!(super::shell_word("/srv/users.redb"), "/srv/users.redb");
        assert_eq!(super::shell_word("my users.redb"), "'my users.redb'");
        assert_eq!(super::shell_word("it's"), r"'it'\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}
