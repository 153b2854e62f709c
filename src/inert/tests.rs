//! The unit tests of making text inert: markers, cuts to a width, the editor's text.

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
    // Nor is one written otherwise than `line` writes it.
    for other in [r"\u{202E}", r"\u{0202e}", r"\u{0000202e}", r"\u{+202e}"] {
        assert_eq!(from_shown(other), other);
    }
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
    '\u{2800}',  // Braille pattern blank (a blank cell, neither default-ignorable nor Cf)
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

#[test]
fn a_word_mixing_latin_cyrillic_or_greek_letters_is_told_and_one_script_a_word_is_not() {
    // Cyrillic а (U+0430), Greek ο (U+03BF), Cyrillic о (U+043E).
    assert_eq!(mixed_script_word("\u{430}dmin"), Some(("Cyrillic", "Latin")));
    assert_eq!(mixed_script_word("jane.d\u{3bf}e@example.com"), Some(("Latin", "Greek")));
    assert_eq!(mixed_script_word("John J\u{43e}hnson"), Some(("Latin", "Cyrillic")));
    assert_eq!(mixed_script_word("\u{432}\u{430}\u{441}\u{44f}2"), None, "one script, a digit");
    // A combining mark is part of its letter's word (bb32 V04).
    assert_eq!(mixed_script_word("\u{430}\u{301}dmin"), Some(("Cyrillic", "Latin")));
    assert_eq!(mixed_script_word("a\u{301}dmin"), None);
    for one_script_a_word in [
        "admin",
        "Dmitry \u{414}\u{43c}\u{438}\u{442}\u{440}\u{438}\u{439}",
        "user@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}",
        "Jos\u{e9} \u{395}\u{3bb}\u{3ad}\u{3bd}\u{3b7}",
        "\u{5c2}\u{5d0}\u{5d1}",
        "\u{65e5}\u{672c}\u{8a9e}abc",
        "",
    ] {
        assert_eq!(mixed_script_word(one_script_a_word), None, "{one_script_a_word}");
    }
}

/// A marker is cut whole or not at all: `z\u{200…` read as another code point (bb45 M3).
#[test]
fn a_cut_never_splits_a_marker() {
    let marked = line("ab\u{202e}cd, z\u{200b}");
    assert_eq!(marked, "ab\\u{202e}cd, z\\u{200b}");
    assert_eq!(cut_to_width(&marked, 20), "ab\\u{202e}cd, z…");
    assert_eq!(cut_to_width(&marked, 8), "ab…");
    assert_eq!(cut_to_width(&marked, 12), "ab\\u{202e}c…");
    assert_eq!(cut_to_width(&marked, 24), marked);
}

#[test]
fn a_line_being_typed_keeps_its_end_in_sight() {
    // bb96 F9: the end of a patch's path and the cursor ran off the status line.
    assert_eq!(end_to_width("short", 10), "short");
    assert_eq!(end_to_width("/work/patches/remove-flags.json", 12), "…-flags.json");
    assert_eq!(columns(&end_to_width("/work/patches/remove-flags.json", 12)), 12);
    // Wide characters count two columns; a marker is never cut in two.
    assert_eq!(end_to_width("ab日本語", 5), "…本語");
    assert_eq!(end_to_width("x\\u{202e}yz", 6), "…yz");
}
