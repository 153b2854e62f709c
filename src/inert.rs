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
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
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
fn is_control_picture(c: char) -> bool {
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
/// character [`line`] writes so (a hidden one that is no C0 control or DEL, a Control
/// Picture); `\u{41}` is nobody's marker and stays text.
fn marker_at(text: &str) -> Option<(char, &str)> {
    let after = text.strip_prefix("\\u{")?;
    let (hex, rest) = after.split_once('}')?;
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    let written_so = is_control_picture(c) || (is_hidden(c) && !matches!(c, '\0'..='\u{1f}' | '\u{7f}'));
    written_so.then_some((c, rest))
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
            let mut out = text[..cut_at].to_owned();
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
mod tests {
    use super::*;

    proptest::proptest! {
        /// A cut fits its width, is the text's start (and `…` when cut), and keeps what fits.
        #[test]
        fn a_cut_fits_and_is_the_start_of_the_text(text in "[a-z 漢👍\u{1f3fd}\u{301}]{0,40}", width in 0usize..30) {
            let cut = cut_to_width(&text, width);
            proptest::prop_assert!(columns(&cut) <= width, "{cut:?} over {width}");
            let kept = cut.strip_suffix('…').unwrap_or(&cut);
            proptest::prop_assert!(text.starts_with(kept));
            proptest::prop_assert_eq!(cut == text, columns(&text) <= width);
        }

        /// What [`line`] and [`lines`] show of a text without a backslash names that text:
        /// [`from_shown`] gives it back, markers, Control Pictures and emoji sequences alike.
        #[test]
        fn what_is_shown_gives_back_the_text_it_shows(
            text in "([a-z{}u2]|\u{202e}|\u{1b}|\u{9b}|␛|␡|␀|\n|\u{200d}|👍|\u{fe0f}|\u{241b}){0,12}"
        ) {
            let (one, many) = (line(&text), lines(&text));
            proptest::prop_assert_eq!(from_shown(&one), text.as_str());
            proptest::prop_assert_eq!(from_shown(&many), text.as_str());
        }
    }

    /// A Control Picture in the text shows marked: a username `evil␛[2J` no longer looks like
    /// the user whose name holds the real ESC (bb26 T07); a typed-out `\u{202e}` still reads as
    /// the real one, and is read back both ways.
    #[test]
    fn a_control_picture_is_marked_and_what_is_shown_reads_back() {
        assert_eq!(line("evil\u{1b}[2J"), "evil␛[2J");
        assert_eq!(line("evil␛[2J"), r"evil\u{241b}[2J");
        assert_eq!(from_shown("evil␛[2J"), "evil\u{1b}[2J");
        assert_eq!(from_shown(r"evil\u{241b}[2J"), "evil␛[2J");
        assert_eq!(line("bidi\u{202e}resu"), r"bidi\u{202e}resu");
        assert_eq!(from_shown(r"bidi\u{202e}resu"), "bidi\u{202e}resu");
        // Nobody's marker stays text: `\u{41}` (line shows `A` as itself), a C0 control (a picture).
        assert_eq!(from_shown(r"x\u{41}y\u{1b}\u{}"), r"x\u{41}y\u{1b}\u{}");
        assert!(matches!(from_shown(r"C:\Users\u"), Cow::Borrowed(_)));
    }

    /// bb15 L10: `👍🏽` (a hand and a skin tone) is one cell two columns wide; cut char by
    /// char it counted four and a cut could fall between the two, showing another character.
    #[test]
    fn a_cut_never_splits_a_grapheme_cluster_and_counts_it_as_drawn() {
        let thumbs = "👍🏽".repeat(3);
        assert_eq!(columns(&thumbs), 6);
        assert_eq!(cut_to_width(&thumbs, 6), thumbs);
        assert_eq!(cut_to_width(&thumbs, 5), "👍🏽👍🏽…");
        assert_eq!(cut_to_width(&thumbs, 4), "👍🏽…");
        assert_eq!(fit_to_width("👍🏽", 4), "👍🏽  ");
        assert_eq!(cut_to_width("ae\u{301}io", 3), "ae\u{301}…");
    }

    #[test]
    fn a_tab_pasted_inside_a_string_becomes_its_escape_and_one_between_tokens_stays() {
        // Inside a string opened before the cursor, and one opened in the paste.
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("a\tb", r#"  "p": "x"#), "a\\tb");
        assert_eq!(
            tabs_and_line_breaks_in_strings_escaped("\"a\tb\",\t\"c\"", r#"  "p": "#),
            "\"a\\tb\",\t\"c\""
        );
        // An escaped quote does not end the string; an escaped backslash before a quote does.
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("\t", r#""a\""#), "\\t");
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("\t", r#""a\\""#), "\t");
        // Between tokens a line break and the indentation after it are layout.
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("\n\t\"k\": 1", r#"  "k": 0,"#), "\n\t\"k\": 1");
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("\t", ""), "\t");
        assert!(matches!(tabs_and_line_breaks_in_strings_escaped("plain", "\""), Cow::Borrowed(_)));
    }

    /// bb17 L07: a note of several lines pasted into a string stays one string: its line
    /// breaks are `\n`, and the tabs of every line `\t`. A quote of the paste that closes the
    /// string ends that: a line break after it is a new line.
    #[test]
    fn a_line_break_pasted_inside_a_string_becomes_its_escape_and_the_tabs_after_it_too() {
        let escaped = |text, before| tabs_and_line_breaks_in_strings_escaped(text, before).into_owned();
        assert_eq!(escaped("a\tb\nc\td\n\te", r#"  "note": ""#), "a\\tb\\nc\\td\\n\\te");
        assert_eq!(escaped("\n\t\"k\": 1", r#"  "open"#), "\\n\\t\"k\": 1");
        assert_eq!(escaped("a\",\n\t\"b\": \"c\nd\"", r#"  "x": ""#), "a\",\n\t\"b\": \"c\\nd\"");
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(line("a\u{1b}[31mred"), "a␛[31mred");
        assert_eq!(line("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(line("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(line("tab\tnew\nline\u{7f}"), "tab␉new␊line␡");
    }

    #[test]
    fn ordinary_text_is_untouched_and_borrowed() {
        assert!(matches!(line("Zoë Müller 山田 أحمد अनिल"), Cow::Borrowed(_)));
        assert!(matches!(lines("{\n  \"a\": 1\n}"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keeps_newlines_only() {
        assert_eq!(lines("a\nb\u{7}"), "a\nb␇");
    }

    /// The issue's list: each made `admin` look like `admin` in the list and `custodian list`.
    const INVISIBLE: &[char] = &[
        '\u{AD}',    // soft hyphen
        '\u{34F}',   // combining grapheme joiner
        '\u{600}',   // Arabic number sign
        '\u{17B4}',  // Khmer vowel inherent AQ
        '\u{17B5}',  // Khmer vowel inherent AA
        '\u{180E}',  // Mongolian vowel separator
        '\u{115F}',  // Hangul choseong filler
        '\u{1160}',  // Hangul jungseong filler
        '\u{3164}',  // Hangul filler
        '\u{FFA0}',  // halfwidth Hangul filler
        '\u{FE00}',  // variation selector 1
        '\u{FE0F}',  // variation selector 16 (after a letter: not an emoji)
        '\u{E0100}', // variation selector 17
        '\u{1D173}', // musical symbol begin beam
        '\u{1D17A}', // musical symbol end phrase
        '\u{E0001}', // language tag
        '\u{E0041}', // tag latin capital letter A
        '\u{E007F}', // cancel tag
        '\u{200B}',  // zero width space
        '\u{200D}',  // zero width joiner (between letters)
        '\u{2060}',  // word joiner
        '\u{2066}',  // left-to-right isolate
        '\u{FEFF}',  // zero width no-break space
    ];

    #[test]
    fn every_invisible_character_of_the_issue_is_marked_in_a_name() {
        for &c in INVISIBLE {
            let name = format!("adm{c}in");
            let shown = line(&name);
            assert_eq!(shown, format!("adm\\u{{{:x}}}in", c as u32), "U+{:04X}", c as u32);
            assert_ne!(line("admin"), shown);
        }
    }

    #[test]
    fn hangul_fillers_are_hidden_by_the_unicode_properties_themselves() {
        // Default_Ignorable_Code_Point in the data icu_properties ships: no hand list needed.
        for c in ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}'] {
            assert!(CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c), "U+{:04X}", c as u32);
        }
        // U+0600 is not default-ignorable: it is caught as a format character (Cf).
        assert!(!CodePointSetData::new::<DefaultIgnorableCodePoint>().contains('\u{600}'));
        assert!(is_hidden('\u{600}'));
    }

    #[test]
    fn emoji_sequences_keep_rendering() {
        for emoji in [
            "👩\u{200D}💻",                                             // ZWJ sequence
            "👩🏽\u{200D}💻",                                             // with a skin tone
            "🏳\u{FE0F}\u{200D}🌈",                                      // VS16 then ZWJ
            "❤\u{FE0F}",                                                // emoji presentation
            "1\u{FE0F}\u{20E3}",                                        // keycap
            "🇫🇷",                                                       // regional indicators
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", // England
        ] {
            assert_eq!(line(emoji), emoji, "{emoji:?}");
            assert_eq!(json(emoji), emoji, "{emoji:?}");
        }
    }

    #[test]
    fn joiners_and_selectors_outside_an_emoji_are_marked() {
        assert_eq!(line("ad\u{200D}min"), "ad\\u{200d}min");
        assert_eq!(line("👩\u{200D}"), "👩\\u{200d}");
        assert_eq!(line("\u{200D}💻"), "\\u{200d}💻");
        assert_eq!(line("admin1\u{FE0F}"), "admin1\\u{fe0f}");
        assert_eq!(line("❤\u{FE0F}\u{FE0F}"), "❤\u{FE0F}\\u{fe0f}");
        // Tag characters that spell anything but a flag are hidden text behind the flag.
        let hidden = "🏴\u{E0061}\u{E0064}\u{E006D}\u{E0069}\u{E006E}\u{E007F}";
        assert_eq!(line(hidden), "🏴\\u{e0061}\\u{e0064}\\u{e006d}\\u{e0069}\\u{e006e}\\u{e007f}");
        assert_eq!(
            line("🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}"),
            "🏴\\u{e0067}\\u{e0062}\\u{e0065}\\u{e006e}\\u{e0067}"
        );
    }

    #[test]
    fn only_pictographs_and_their_modifiers_carry_an_emoji_across_a_joiner_or_selector() {
        // Letters outside ASCII are no pictographs, nor modifiers of one before them.
        assert_eq!(line("é\u{200D}é"), "é\\u{200d}é");
        assert_eq!(line("é\u{FE0F}"), "é\\u{fe0f}");
        assert_eq!(line("👩é\u{200D}💻"), "👩é\\u{200d}💻");
        assert_eq!(line("👩x\u{200D}💻"), "👩x\\u{200d}💻");
        // A second selector is no part of the emoji, and what follows it is not either.
        assert_eq!(line("😀\u{FE0F}\u{FE0F}\u{200D}😀"), "😀\u{FE0F}\\u{fe0f}\\u{200d}😀");
        // A flag's tags end with its CANCEL TAG: a hidden character after it is marked.
        let england = "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        assert_eq!(line(&format!("{england}\u{200B}")), format!("{england}\\u{{200b}}"));
        assert_eq!(line(&format!("{england}\u{E0061}")), format!("{england}\\u{{e0061}}"));
    }

    #[test]
    fn a_typed_line_break_or_tab_goes_in_as_itself_and_a_hidden_character_as_its_escape() {
        assert_eq!(editor_char('\n'), None);
        assert_eq!(editor_char('\t'), None);
        assert_eq!(editor_char('a'), None);
        assert_eq!(editor_char('\r').as_deref(), Some("\n"));
        assert_eq!(editor_char('\u{1b}').as_deref(), Some("\\u001b"));
        assert_eq!(editor_char('\u{202e}').as_deref(), Some("\\u202e"));
    }

    #[test]
    fn a_backslash_outside_a_string_escapes_nothing_for_a_pasted_tab() {
        assert_eq!(tabs_and_line_breaks_in_strings_escaped("\t", "\\\""), "\\t", "the quote opens a string");
    }

    #[test]
    fn json_escapes_stay_valid_json_with_the_same_value() {
        let value = serde_json::json!({"a": "x\u{9b}y\u{202e}z\u{ad}\u{E0041}\u{1D173}", "k\u{200b}": 1});
        let original = value.to_string();
        let safe = json(&original);
        assert!(safe.chars().all(|c| !is_hidden(c)), "{safe}");
        assert!(safe.contains("\\udb40\\udc41"), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn editor_text_holds_no_hidden_character_and_the_same_json() {
        let text = "{\r\n  \"a\": \"x\u{202e}y\u{ad}\"\r}";
        let entered = editor_text(text);
        assert_eq!(entered, "{\n  \"a\": \"x\\u202ey\\u00ad\"\n}");
        assert_eq!(editor_char('\u{202e}').as_deref(), Some("\\u202e"));
        assert_eq!(editor_char('\u{E0041}').as_deref(), Some("\\udb40\\udc41"));
        assert_eq!(editor_char('a'), None);
        assert_eq!(editor_char('é'), None);
    }

    #[test]
    fn an_invalid_escape_of_an_invisible_character_stays_invalid() {
        // `"\` + RLO is not JSON; `"\\u202e"` would be (a backslash and text).
        let text = "{\"a\": \"x\\\u{202e}\"}";
        let entered = editor_text(text);
        assert_eq!(entered, "{\"a\": \"x\\u{202e}\"}");
        assert!(serde_json::from_str::<serde_json::Value>(&entered).is_err());
        // After an escaped backslash the character is outside any escape: a plain `\u` escape.
        assert_eq!(editor_text("\"\\\\\u{202e}\""), "\"\\\\\\u202e\"");
    }

    #[test]
    fn shell_word_quotes_only_what_a_shell_would_change() {
        assert_eq!(super::shell_word("/srv/users.redb"), "/srv/users.redb");
        assert_eq!(super::shell_word("my users.redb"), "'my users.redb'");
        assert_eq!(super::shell_word("it's"), r"'it'\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}

#[cfg(test)]
mod width_tests {
    use super::{cut_to_width, fit_to_width};

    #[test]
    fn a_cut_ends_with_an_ellipsis_in_the_last_column_and_a_fit_pads() {
        assert_eq!(cut_to_width("short", 10), "short");
        assert_eq!(cut_to_width("https://cdn.example.com/a", 10), "https://c…");
        // Wide characters are counted by the columns they take.
        assert_eq!(cut_to_width("日本語のテキスト", 7), "日本語…");
        assert_eq!(fit_to_width("ab", 4), "ab  ");
        assert_eq!(fit_to_width("abcdef", 4), "abc…");
        assert_eq!(cut_to_width("abc", 0), "");
    }
}
