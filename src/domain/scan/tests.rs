//! The structural scan's unit tests: findings and their positions, the cursor's path, the
//! compact length.

use super::*;

#[test]
fn the_path_at_a_cursor_follows_keys_and_indexes_up_to_it() {
    let text = "{\n  \"events\": [\n    {\"kind\": \"a\"},\n    {\"meta\": {\"pa\\u0074h\": \"/x\"}}\n  ],\n  \"n\": 1\n}";
    let lines: Vec<&str> = text.lines().collect();
    let at = |row: usize, needle: &str| super::path_at(&lines, row, lines[row].find(needle).unwrap());
    assert_eq!(at(2, "\"a\""), "events[0].kind");
    assert_eq!(at(3, "\"/x\""), "events[1].meta.path");
    assert_eq!(at(5, "1"), "n");
    assert_eq!(super::path_at(&lines, 0, 0), "(top level)");
    assert_eq!(super::path_at(&lines, 99, 0), "(top level)", "past the end: the document is closed");
}

/// The editor's title names the value as the lint does: a key that would read as something
/// else quoted (it said `at a.b.password` for both of two values, and `at x..token`: bb28 R03).
#[test]
fn the_path_at_a_cursor_quotes_keys_as_the_lint_does() {
    let text = "{\n  \"a.b\": {\"password\": 1},\n  \"x\": {\"\": {\"token\": 2}},\n  \"zw\\u200bk\": 3\n}";
    let lines: Vec<&str> = text.lines().collect();
    let at = |row: usize, needle: &str| super::path_at(&lines, row, lines[row].find(needle).unwrap());
    assert_eq!(at(1, "1"), r#"["a.b"].password"#);
    assert_eq!(at(2, "2"), r#"x[""].token"#);
    assert_eq!(at(3, "3"), r#"["zw\u200bk"]"#);
}

/// Commas and opening brackets outside strings count; those in strings do not; at the
/// limit exactly the text is let through.
#[test]
fn values_past_a_limit_end_the_scan_and_those_in_strings_do_not_count() {
    let text = r#"{"a":[0,[1],{"b":2}],"s":"[{,,,,,,,,}]"}"#;
    // `{`, `[`, `,`, `[`, `,`, `{`, `,`: seven.
    assert_eq!(scan_within(text, 64, 7), None);
    assert_eq!(scan_within(text, 64, 6), Some(ScanFinding::TooManyValues { limit: 6 }));
    assert_eq!(scan(text, 64), None);
    // The last one counted a bracket.
    assert_eq!(scan_within("[[[]]]", 64, 3), None);
    assert_eq!(scan_within("[[[]]]", 64, 2), Some(ScanFinding::TooManyValues { limit: 2 }));
}

#[test]
fn finds_duplicate_key_with_path_and_position() {
    let text = "{\n  \"a\": {\"x\": 1,\n  \"x\": 2}\n}";
    assert_eq!(
        scan(text, 64),
        Some(ScanFinding::DuplicateKey {
            key: "x".into(),
            path: "a".into(),
            at: Position { line: 3, column: 3 }
        })
    );
}

#[test]
fn escaped_spelling_of_a_key_is_still_a_duplicate() {
    assert!(matches!(scan(r#"{"ab": 1, "\u0061b": 2}"#, 64), Some(ScanFinding::DuplicateKey { .. })));
}

#[test]
fn same_key_in_sibling_objects_is_fine() {
    assert_eq!(scan(r#"{"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 2}]}"#, 64), None);
}

#[test]
fn array_index_appears_in_path() {
    let found = scan(r#"{"list": [{"k": 1}, {"k": 1, "k": 2}]}"#, 64);
    assert!(
        matches!(found, Some(ScanFinding::DuplicateKey { ref path, .. }) if path == "list[1]"),
        "{found:?}"
    );
}

#[test]
fn depth_is_counted_from_the_top_level_object() {
    assert_eq!(scan(r#"{"a": {"b": {}}}"#, 3), None);
    assert!(matches!(scan(r#"{"a": {"b": {"c": []}}}"#, 3), Some(ScanFinding::TooDeep { limit: 3, .. })));
}

#[test]
fn a_duplicate_key_is_found_in_objects_of_every_size_escaped_or_not() {
    for keys in [1, FEW_KEYS - 1, FEW_KEYS, FEW_KEYS + 1, 200] {
        let mut object: Vec<String> = (0..keys).map(|n| format!("\"k{n}\": {n}")).collect();
        assert_eq!(scan(&format!("{{{}}}", object.join(", ")), 64), None, "{keys} distinct keys");
        // The first key again, written with an escape, after all the others.
        object.push(r#""\u006b0": true"#.to_owned());
        let found = scan(&format!("{{\"outer\": {{{}}}}}", object.join(", ")), 64);
        assert!(
            matches!(&found, Some(ScanFinding::DuplicateKey { key, path, .. }) if key == "k0" && path == "outer"),
            "{keys} keys: {found:?}"
        );
    }
}

#[test]
fn nul_escape_found_in_values_and_keys_but_not_escaped_backslash() {
    assert!(matches!(scan(r#"{"a": "x\u0000"}"#, 64), Some(ScanFinding::NulCharacter { .. })));
    assert!(matches!(scan(r#"{"a\u0000": 1}"#, 64), Some(ScanFinding::NulCharacter { .. })));
    assert_eq!(scan(r#"{"a": "x\\u0000"}"#, 64), None);
}

#[test]
fn brackets_inside_strings_do_not_count() {
    assert_eq!(scan(r#"{"a": "[[[[{{{{", "b": "\"}"}"#, 2), None);
}

#[test]
fn char_column_counts_characters_not_bytes() {
    let text = "{\"név\": \"é\" x}";
    // 'x' is byte 15 (1-based) but character 13.
    assert_eq!(char_column(text, 1, 15), 13);
}

#[test]
fn the_compact_length_is_the_length_of_serde_jsons_compact_form() {
    for text in [
        "{}",
        " {\n\t\"a\" : [ 1 , 2.50 , -3e+2 ] ,\r\n \"b\": null } ",
        // Escapes serde_json writes back shorter, as long, or as the character itself.
        r#"{"e": "\u00e9", "a": "\u0041", "zh": "\u4e2d", "smile": "\ud83d\ude00"}"#,
        r#"{"ctl": "\u0001\u001f", "short": "\u0008\u0009\u000a\u000c\u000d\u0022\u005c"}"#,
        r#"{"n": "a\nb\tc\"d\\e\/f", "k\u00e9y": true, "\/": "x y"}"#,
        // Characters outside ASCII typed as they are.
        r#"{"név": "日本語 😀"}"#,
    ] {
        let compact = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(text).expect("valid"))
            .expect("serialised");
        assert_eq!(compact_len(text.as_bytes()), compact.len(), "{text} → {compact}");
    }
}

#[test]
fn number_tokens_are_the_numbers_outside_strings_as_written() {
    assert_eq!(
        number_tokens(r#"{"a1": "-2 e3 \"4\"", "b": [1.5e+3, -0, 10E-2], "c": 7}"#),
        ["1.5e+3", "-0", "10E-2", "7"]
    );
    // A string left open ends the search: nothing after it is a number.
    assert_eq!(number_tokens(r#"[1, "2, 3]"#), ["1"]);
}

#[test]
fn an_escape_serde_json_refuses_is_counted_as_it_was_typed() {
    // Lone surrogates (also a high one before an escape that is no low one) and a `\u`
    // without four hex digits: the text is refused when parsed, and its count only decides
    // which refusal an oversized one gets first.
    assert_eq!(compact_len(br#""\ud800""#), 8);
    assert_eq!(compact_len(br#""\udc00\ud800\u0041""#), 2 + 6 + 6 + 1);
    assert_eq!(compact_len(br#""ab\u12x""#), 9);
    // A string left open is counted to the end of the text, as if closed there.
    assert_eq!(compact_len(br#"["open"#), 1 + 2 + 4);
}

#[test]
fn an_escaped_quote_stays_inside_its_string_and_a_raw_line_break_ends_the_scan() {
    assert_eq!(
        scan(r#"{"a\"b": 1, "a\"b": 2}"#, 64),
        Some(ScanFinding::DuplicateKey {
            key: "a\"b".into(),
            path: "(top level)".into(),
            at: Position { line: 1, column: 13 }
        })
    );
    // JSON allows no raw line break in a string: the text is malformed, and what follows
    // the break is not read as keys.
    assert_eq!(scan("[\"x\n\", {\"k\": 1, \"k\": 2}]", 64), None);
    // Nor does a string left open at the end.
    assert_eq!(scan(r#"{"a": "open"#, 64), None);
    assert_eq!(scan(r#"{"a": "open\"#, 64), None);
}

#[test]
fn invalid_utf_8_is_placed_at_its_line_and_character_column() {
    let at = |bytes: &[u8]| {
        let error = std::str::from_utf8(bytes).expect_err("invalid");
        utf8_error_position(bytes, &error)
    };
    assert_eq!(at(b"\xff"), Position { line: 1, column: 1 });
    // `é` is two bytes and one character; the bad byte follows it on the third line.
    assert_eq!(at(b"{\n\"a\":\n \"\xc3\xa9\xff\"}"), Position { line: 3, column: 4 });
}

/// Only a number's exponent is noted: an `e` after a digit inside a string, or in `true` and
/// `false`, is none.
#[test]
fn exponents_are_noted_only_in_numbers() {
    let noted = |text: &str| {
        let mut notes = ScanNotes::default();
        assert_eq!(scan_noting(text, 64, usize::MAX, |_| true, &mut notes), None, "{text}");
        notes.exponent
    };
    for text in ["[1e5]", r#"{"a":-2.5E-3}"#, "[1.0e+2]", "[0E0]", r#"{"a":[true,3e1]}"#] {
        assert!(noted(text), "{text}");
    }
    // Text that starts with an `e` (no JSON) has nothing before it to look at.
    for text in ["e", "E1", r#"{"a":"1e5"}"#, r#"{"1e5":[true,false]}"#, "[10,2.5,-3]", r#"["x\"1e5"]"#, "{}"]
    {
        assert!(!noted(text), "{text}");
    }
}

/// Only the top-level object's keys are held to `known`, escaped or not.
#[test]
fn unknown_keys_are_noted_at_the_top_level_only() {
    let unknown = |text: &str| {
        let mut notes = ScanNotes::default();
        assert_eq!(scan_noting(text, 64, usize::MAX, |key| key == "id" || key == "data", &mut notes), None);
        notes.unknown_top_key
    };
    assert!(!unknown(r#"{"id":"a","data":{"other":[{"more":1}]}}"#));
    assert!(!unknown(r#"{"\u0069d":"a"}"#), "an escaped known key is known");
    assert!(unknown(r#"{"id":"a","extra":true}"#));
    assert!(unknown(r#"{"data":{},"ID":1}"#));
    assert!(!unknown(r#"[{"extra":1}]"#), "no top-level object");
}
