//! Making untrusted text safe to show. User profiles come from outside: a name or a string
//! in customData can carry terminal escape sequences, C1 controls or bidi overrides that a
//! terminal would obey, or characters a terminal draws as nothing at all (a soft hyphen, a
//! tag character), so that `admin` and `admin` + something invisible look alike. Everything
//! custodian shows goes through here, so such characters appear as visible markers and never
//! act or hide.
//!
//! Which characters: every control character, U+2028/U+2029, and every character that
//! Unicode calls `Default_Ignorable_Code_Point` or whose General_Category is `Cf` (format),
//! read from ICU4X's `icu_properties` data rather than a hand list. The one exception is an
//! emoji sequence, which keeps rendering: a ZWJ (U+200D) between two pictographs, a
//! variation selector U+FE0E/U+FE0F right after a pictograph (or in a keycap `1️⃣`), and the
//! tag characters of the three RGI subdivision flags (England, Scotland, Wales).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::domain::json_string::StringState;

use icu_properties::props::{
    DefaultIgnorableCodePoint, EmojiModifier, ExtendedPictographic, GeneralCategory,
};
use icu_properties::{CodePointMapData, CodePointSetData};

const ZWJ: char = '\u{200D}';
const VS15: char = '\u{FE0E}';
const VS16: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';
const BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';
/// The tag letters of the RGI subdivision flags (UTS #51, `RGI_Emoji_Tag_Sequence`): 🏴 +
/// these as tag characters + CANCEL TAG. Any other run of tag characters is hidden text.
const FLAG_TAGS: [&str; 3] = ["gbeng", "gbsct", "gbwls"];

/// Whether a terminal would not show `c` as a character of its own: controls, line and
/// paragraph separators, default-ignorable code points and format characters.
pub fn is_hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    // U+2800 (Braille pattern blank) draws as an empty cell and is neither: `admin` + it read
    // as `admin` (bb31 U01).
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{2800}')
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

fn is_pictograph(c: char) -> bool {
    !c.is_ascii() && CodePointSetData::new::<ExtendedPictographic>().contains(c)
}

fn is_emoji_modifier(c: char) -> bool {
    !c.is_ascii() && CodePointSetData::new::<EmojiModifier>().contains(c)
}

/// Calls `each(c, hidden)` for every character of `text`, `hidden` telling whether it must be
/// shown as a marker: [`is_hidden`], except the parts of an emoji sequence.
fn classify(text: &str, mut each: impl FnMut(char, bool)) {
    let chars: Vec<char> = text.chars().collect();
    // Whether the characters since the last pictograph were only its modifiers and VS16, so
    // that a ZWJ or a VS here continues an emoji.
    let mut after_pictograph = false;
    // Tag characters belonging to a flag sequence found ahead: shown as they are.
    let mut flag_tags_left = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        if !is_hidden(c) {
            after_pictograph = is_pictograph(c) || (after_pictograph && is_emoji_modifier(c));
            if c == BLACK_FLAG {
                flag_tags_left = flag_tag_run(&chars[i + 1..]);
            }
            each(c, false);
            continue;
        }
        let next = chars.get(i + 1).copied();
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let part_of_emoji = if flag_tags_left > 0 {
            flag_tags_left -= 1;
            true
        } else {
            match c {
                ZWJ => after_pictograph && next.is_some_and(is_pictograph),
                VS15 | VS16 => {
                    (after_pictograph && previous.is_some_and(|p| p != VS15 && p != VS16))
                        || (previous.is_some_and(|p| matches!(p, '0'..='9' | '#' | '*'))
                            && next == Some(KEYCAP))
                }
                _ => false,
            }
        };
        if c != VS16 || !part_of_emoji {
            after_pictograph = false;
        }
        each(c, !part_of_emoji);
    }
}

/// How many characters after a 🏴 form one of the RGI subdivision flags' tags (CANCEL TAG
/// included); 0 when they do not.
fn flag_tag_run(after: &[char]) -> usize {
    let letters: String = after
        .iter()
        .map_while(|&c| match c as u32 {
            tag @ 0xE0020..=0xE007E => char::from_u32(tag - 0xE0000),
            _ => None,
        })
        .collect();
    let length = letters.chars().count();
    let closed = after.get(length) == Some(&CANCEL_TAG);
    if closed && FLAG_TAGS.contains(&letters.as_str()) { length + 1 } else { 0 }
}

/// Whether [`marked`] would change `text`.
fn needs_marking(text: &str, keep_line_breaks: bool) -> bool {
    text.chars().any(|c| (is_hidden(c) && !(keep_line_breaks && c == '\n')) || is_control_picture(c))
}

/// Whether `c` is one of the Control Pictures [`line`] shows for a control (`␛` for ESC, `␡`
/// for DEL). Text that holds one itself shows it marked (`\u{241b}`): a username `evil␛[2J`
/// looked exactly like the user whose name holds the real ESC (bb26 T07).
pub fn is_control_picture(c: char) -> bool {
    matches!(c, '\u{2400}'..='\u{241F}' | '\u{2421}')
}

/// `text` with every character [`classify`] calls hidden and every Control Picture marked;
/// line breaks kept when `keep_line_breaks`.
fn marked(text: &str, keep_line_breaks: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    classify(text, |c, hidden| {
        if (hidden && !(keep_line_breaks && c == '\n')) || is_control_picture(c) {
            push_marker(&mut out, c);
        } else {
            out.push(c);
        }
    });
    out
}

/// The text [`line`] (or [`lines`]) shows as `shown`, read back: each Control Picture its
/// control, each `\u{…}` of a character `line` marks so that character, the rest as it is.
/// A text that holds `\u{202e}` itself shows as the one that holds U+202E: a reference typed
/// from the screen is looked up both ways, and names no one when they are two users.
pub fn from_shown(shown: &str) -> Cow<'_, str> {
    if !shown.contains("\\u{") && !shown.chars().any(is_control_picture) {
        return Cow::Borrowed(shown);
    }
    let mut out = String::with_capacity(shown.len());
    let mut rest = shown;
    while let Some(c) = rest.chars().next() {
        if let Some((marked, after)) = marker_at(rest) {
            out.push(marked);
            rest = after;
            continue;
        }
        out.push(match c {
            '\u{2421}' => '\u{7f}',
            c if is_control_picture(c) => char::from_u32(c as u32 - 0x2400).unwrap_or(c),
            c => c,
        });
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The character of the `\u{…}` marker `text` starts with, and the text after it: only a
/// marker exactly as [`line`] writes it (lower-case hex, no leading zero) of a character it
/// writes so (a hidden one that is no C0 control or DEL, a Control Picture); `\u{41}`,
/// `\u{202E}` and `\u{0202e}` are nobody's marker and stay text.
fn marker_at(text: &str) -> Option<(char, &str)> {
    let after = text.strip_prefix("\\u{")?;
    let (hex, rest) = after.split_once('}')?;
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    let written_so = is_control_picture(c) || (is_hidden(c) && !matches!(c, '\0'..='\u{1f}' | '\u{7f}'));
    (written_so && format!("{:x}", c as u32) == hex).then_some((c, rest))
}

/// Whether a word of `text` mixes letters of scripts that hold look-alikes of one another —
/// Latin, Cyrillic, Greek — as `аdmin` with a Cyrillic `а` does, which reads as `admin`: the
/// two scripts, in the order the word meets them. Words are split at every character that is
/// no letter or digit, so a name in one script beside another (`Dmitry Дмитрий`) or an email
/// of a Cyrillic domain (`user@пример.рф`) is no such word (bb31 U01: nothing told the two
/// `admin`s apart).
pub fn mixed_script_word(text: &str) -> Option<(&'static str, &'static str)> {
    use icu_properties::props::Script;
    if text.is_ascii() {
        return None;
    }
    let scripts = CodePointMapData::<Script>::new();
    let name = |c: char| match scripts.get(c) {
        Script::Latin => Some("Latin"),
        Script::Cyrillic => Some("Cyrillic"),
        Script::Greek => Some("Greek"),
        _ => None,
    };
    // A combining mark belongs to the letter before it: `а́dmin` (Cyrillic а + U+0301) split
    // there read as two words of one script each, and looked as `ádmin` does (bb32 V04).
    let categories = CodePointMapData::<GeneralCategory>::new();
    let is_mark = |c: char| {
        matches!(
            categories.get(c),
            GeneralCategory::NonspacingMark | GeneralCategory::SpacingMark | GeneralCategory::EnclosingMark
        )
    };
    let mut first: Option<&'static str> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() && !is_mark(c) {
            first = None;
            continue;
        }
        match (first, name(c)) {
            (None, script) => first = script,
            (Some(seen), Some(script)) if script != seen => return Some((seen, script)),
            _ => {}
        }
    }
    None
}

/// The columns `text` takes on the screen: its grapheme clusters' widths, as ratatui counts.
pub fn columns(text: &str) -> usize {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    text.graphemes(true).map(|g| g.width()).sum()
}

/// `text` cut to at most `width` terminal columns; a cut ends with `…` (in the last column),
/// so a reader knows there is more. Measured and cut by grapheme cluster, as ratatui draws:
/// `👍🏽` is one cell two columns wide, never cut between the hand and its skin tone (which
/// showed another character and counted four columns: bb15 L10).
pub fn cut_to_width(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    // One walk, no further than the width: a line of a megabyte is cut at every frame.
    let mut used = 0;
    // Where the text is cut when it does not fit: the end of the last cluster that leaves a
    // column for `…`.
    let mut cut_at = 0;
    for (at, cluster) in text.grapheme_indices(true) {
        used += cluster.width();
        if used > width {
            let mut kept = &text[..cut_at];
            // A marker (`\u{200b}`) is not cut in two: `\u{200…` read as another character
            // (bb45 M3).
            if let Some(open) = kept.rfind("\\u{")
                && !kept[open..].contains('}')
            {
                kept = &kept[..open];
            }
            let mut out = kept.to_owned();
            if width > 0 {
                out.push('…');
            }
            return Cow::Owned(out);
        }
        if used < width {
            cut_at = at + cluster.len();
        }
    }
    Cow::Borrowed(text)
}

/// `text` in at most `width` columns, its start given up for `…` when it does not fit: a line
/// being typed keeps its end (the last characters typed) in sight (bb96 F9: a patch's path ran
/// off the edge with the cursor). A `\u{…}` marker is not cut in two.
pub fn end_to_width(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    if columns(text) <= width {
        return Cow::Borrowed(text);
    }
    let mut used = 1; // the `…`
    let mut from = text.len();
    for (at, cluster) in text.grapheme_indices(true).rev() {
        used += cluster.width();
        if used > width {
            break;
        }
        from = at;
    }
    let mut kept = &text[from..];
    if let Some(close) = kept.find('}')
        && !kept[..close].contains("\\u{")
        && text[..from].rfind("\\u{").is_some_and(|open| !text[open..from].contains('}'))
    {
        kept = &kept[close + 1..];
    }
    Cow::Owned(format!("…{kept}"))
}

/// `text` cut as [`cut_to_width`] does, then padded with spaces to exactly `width` columns
/// (a selected row is a bar, a table's columns line up).
pub fn fit_to_width(text: &str, width: usize) -> String {
    let cut = cut_to_width(text, width);
    let pad = width.saturating_sub(columns(&cut));
    format!("{cut}{}", " ".repeat(pad))
}

/// One line of untrusted text for display: C0 controls become their Control Pictures
/// (`␛`, `␊`, `␉`), DEL becomes `␡`, every other hidden character `\u{…}`.
pub fn line(text: &str) -> Cow<'_, str> {
    if !needs_marking(text, false) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(marked(text, false))
}

/// Multi-line untrusted text: like [`line`], but line breaks stay line breaks.
pub fn lines(text: &str) -> Cow<'_, str> {
    if !needs_marking(text, true) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(marked(text, true))
}

fn push_marker(out: &mut String, c: char) {
    match c {
        '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
        '\u{7F}' => out.push('\u{2421}'),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// JSON text for a terminal or the editor: serde_json escapes C0 controls but writes C1
/// controls, bidi and other invisible characters raw. Each becomes its `\uXXXX` escape (a
/// surrogate pair above U+FFFF), which inside a string is exactly the same value; outside a
/// string such a character was a syntax error already, and stays one.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_care_in_json) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Backslashes written just before: after an odd number the next character is escaped
    // already (`\` + RLO is an invalid escape), and `\u202e` there would read as `\\` + text.
    let mut backslashes = 0usize;
    classify(text, |c, hidden| {
        if hidden && needs_care_in_json(c) {
            if backslashes % 2 == 1 {
                // `\u{202e}`: still an invalid escape, at the same place, and visible.
                let _ = write!(out, "u{{{:x}}}", c as u32);
            } else {
                push_json_escape(&mut out, c);
            }
            backslashes = 0;
        } else {
            out.push(c);
            backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        }
    });
    Cow::Owned(out)
}

fn needs_care_in_json(c: char) -> bool {
    // Newlines and indentation are JSON's own layout; every other control is inside a string.
    !matches!(c, '\n' | '\t' | '\r') && is_hidden(c)
}

fn push_json_escape(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        let _ = write!(out, "\\u{unit:04x}");
    }
}

/// Text entering the editor (opened from the store, a draft, a paste, `$EDITOR`): line ends
/// made `\n` (a lone CR was a syntax error inside a string and is whitespace outside one),
/// then every hidden character as its JSON escape ([`json`]), so the editor never holds one
/// raw.
pub fn editor_text(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') {
        return json(text);
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Cow::Owned(json(&text).into_owned())
}

/// Text pasted into the editor where the line before the cursor is `before`, after
/// [`editor_text`] (which leaves only tabs and line breaks raw): inside a string (one opened
/// before the cursor or in the paste) a tab becomes `\t` and a line break `\n`, the value
/// JSON allows there, so a note of several lines is one string; raw, each was an invisible
/// syntax error (bb17 L07: the later lines' tabs stayed raw). Between tokens both stay layout.
pub fn tabs_and_line_breaks_in_strings_escaped<'a>(text: &'a str, before: &str) -> Cow<'a, str> {
    if !text.contains(['\t', '\n']) {
        return Cow::Borrowed(text);
    }
    let mut state = StringState::default().after(before);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' if state.in_string() => out.push_str("\\t"),
            '\n' if state.in_string() => out.push_str("\\n"),
            _ => {
                out.push(c);
                state.step(c);
            }
        }
    }
    Cow::Owned(out)
}

/// One character typed into the editor: its JSON escape when it is hidden (a character event
/// has no neighbours to make it part of an emoji), else the character itself.
pub fn editor_char(c: char) -> Option<String> {
    if c == '\n' || c == '\t' || !is_hidden(c) {
        return None;
    }
    let mut out = String::new();
    if c == '\r' {
        out.push('\n');
    } else {
        push_json_escape(&mut out, c);
    }
    Some(out)
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
mod tests;
