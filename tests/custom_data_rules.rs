//! Every rule of customData, pinned.

use custodian::domain::{CustomData, Limits, ValidationError};

fn err(text: &str) -> ValidationError {
    CustomData::parse(text).expect_err("should be refused")
}

#[test]
fn accepts_an_object_and_pretty_prints_it_with_two_spaces() {
    let data = CustomData::parse(r#"{"a":1,"b":{"c":[true,null]}}"#).unwrap();
    assert_eq!(
        data.canonical(),
        "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [\n      true,\n      null\n    ]\n  }\n}"
    );
}

#[test]
fn empty_object_is_valid() {
    assert_eq!(CustomData::parse(" {} ").unwrap().canonical(), "{}");
    assert_eq!(CustomData::empty().canonical(), "{}");
}

#[test]
fn syntax_error_reports_line_and_character_column() {
    let text = "{\n  \"name\": \"Zoë\",\n  \"név\": \"é\" \"x\"\n}";
    match err(text) {
        ValidationError::Syntax { line, column, message } => {
            assert_eq!(line, 3);
            // `"x"` starts at character 14 of line 3 (byte 16: é is two bytes, twice).
            assert_eq!(column, 14);
            assert!(message.contains("expected"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn error_message_reads_line_col_reason() {
    let message = err("{\"a\": }").to_string();
    assert!(message.starts_with("line 1, col 7: "), "{message}");
}

#[test]
fn top_level_must_be_an_object() {
    for (text, found) in [
        ("[1,2]", "an array"),
        ("\"text\"", "a string"),
        ("42", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        assert_eq!(err(text), ValidationError::NotAnObject { found }, "{text}");
    }
    assert!(err("[]").to_string().contains("must be a JSON object"));
}

#[test]
fn duplicate_keys_are_refused_at_any_depth_with_path_and_line() {
    assert_eq!(
        err("{\"a\": 1,\n\"a\": 2}"),
        ValidationError::DuplicateKey { key: "a".into(), path: "(top level)".into(), line: 2, column: 1 }
    );
    match err("{\"prefs\": {\"ui\": [{\"theme\": 1,\n \"theme\": 2}]}}") {
        ValidationError::DuplicateKey { key, path, line, column } => {
            assert_eq!((key.as_str(), path.as_str(), line, column), ("theme", "prefs.ui[0]", 2, 2));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn nul_character_is_refused_in_values_and_keys() {
    assert!(
        matches!(err(r#"{"a": "x\u0000y"}"#), ValidationError::NulCharacter { ref path, .. } if path == "a")
    );
    assert!(matches!(err(r#"{"k\u0000": 1}"#), ValidationError::NulCharacter { .. }));
    // An escaped backslash followed by u0000 is just text.
    assert!(CustomData::parse(r#"{"a": "\\u0000"}"#).is_ok());
}

#[test]
fn invalid_utf8_is_refused_with_position() {
    let bytes = b"{\n  \"a\": \"\xff\"\n}";
    assert_eq!(
        CustomData::parse_bytes(bytes, &Limits::default()).unwrap_err(),
        ValidationError::InvalidUtf8 { line: 2, column: 9 }
    );
}

#[test]
fn lone_surrogates_are_refused() {
    assert!(matches!(err(r#"{"a": "\ud800"}"#), ValidationError::LoneSurrogate { line: 1, .. }));
    assert!(matches!(err(r#"{"a": "\udc00x"}"#), ValidationError::LoneSurrogate { .. }));
    // A proper pair is fine.
    assert!(CustomData::parse(r#"{"a": "\ud83d\ude00"}"#).is_ok());
}

#[test]
fn nan_and_infinity_are_refused_by_name() {
    for text in [r#"{"a": NaN}"#, r#"{"a": Infinity}"#, r#"{"a": -Infinity}"#] {
        assert!(matches!(err(text), ValidationError::NonFiniteNumber { .. }), "{text}: {:?}", err(text));
    }
}

#[test]
fn byte_order_mark_is_refused() {
    assert_eq!(err("\u{feff}{}"), ValidationError::ByteOrderMark);
}

#[test]
fn empty_text_is_refused() {
    assert_eq!(err(""), ValidationError::Empty);
    assert_eq!(err(" \n\t"), ValidationError::Empty);
}

#[test]
fn trailing_garbage_is_a_syntax_error() {
    assert!(matches!(err("{} x"), ValidationError::Syntax { line: 1, column: 4, .. }));
}

#[test]
fn size_limit_is_configurable_and_checked_before_parsing() {
    let limits = Limits::new(10, 64);
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(20));
    assert_eq!(
        CustomData::parse_with(&big, &limits).unwrap_err(),
        ValidationError::TooLarge { size: big.len(), limit: 10 }
    );
    // Not JSON at all, but oversize: the size is what is reported (nothing was parsed).
    let garbage = "[".repeat(2 * 1024 * 1024);
    assert!(matches!(err(&garbage), ValidationError::TooLarge { .. }));
}

#[test]
fn oversize_refusal_is_fast() {
    let huge = vec![b'x'; 100 * 1024 * 1024];
    let started = std::time::Instant::now();
    let result = CustomData::parse_bytes(&huge, &Limits::default());
    assert!(matches!(result, Err(ValidationError::TooLarge { .. })));
    assert!(started.elapsed() < std::time::Duration::from_millis(50));
}

#[test]
fn canonical_form_over_the_limit_is_refused() {
    // Compact input that fits, pretty form that does not.
    let text = format!("{{{}}}", (0..50).map(|i| format!("\"k{i}\":[1]")).collect::<Vec<_>>().join(","));
    let limits = Limits::new(text.len() + 1, 64);
    assert!(matches!(CustomData::parse_with(&text, &limits), Err(ValidationError::TooLarge { .. })));
}

#[test]
fn depth_limit_default_64_and_configurable() {
    let nested = |depth: usize| format!("{}{}", "{\"a\":".repeat(depth - 1) + "{", "}".repeat(depth));
    assert!(CustomData::parse(&nested(64)).is_ok());
    assert!(matches!(err(&nested(65)), ValidationError::TooDeep { limit: 64, .. }));
    assert!(matches!(
        CustomData::parse_with(&nested(5), &Limits::new(1 << 20, 4)),
        Err(ValidationError::TooDeep { limit: 4, .. })
    ));
    // Very deep input gets the depth message, not a stack overflow or a vague error.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(err(&deep), ValidationError::TooDeep { .. }));
}

#[test]
fn key_order_and_number_text_are_kept_exactly() {
    // serde_json writes an exponent marker as `e` (documented in the README); all else is kept.
    let text = r#"{"zeta":1,"alpha":12345678901234567890123,"mid":1.50,"e":1e+400,"neg":-0}"#;
    let data = CustomData::parse(text).unwrap();
    assert_eq!(
        data.canonical(),
        "{\n  \"zeta\": 1,\n  \"alpha\": 12345678901234567890123,\n  \"mid\": 1.50,\n  \"e\": 1e+400,\n  \"neg\": -0\n}"
    );
    let keys: Vec<_> = data.as_object().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "alpha", "mid", "e", "neg"]);
}

#[test]
fn non_ascii_is_kept_as_written() {
    let data = CustomData::parse(r#"{"greeting":"Grüße, 山田"}"#).unwrap();
    assert!(data.canonical().contains("Grüße, 山田"));
}

#[test]
fn canonical_form_parses_back_to_itself() {
    let data = CustomData::parse(r#"{"a":{"b":[1,{"c":"d"}],"e":"\u001b[31m"}}"#).unwrap();
    let again = CustomData::parse(data.canonical()).unwrap();
    assert_eq!(again.canonical(), data.canonical());
}

#[test]
fn errors_with_a_place_expose_it_for_the_cursor() {
    assert_eq!(err("{\n  x\n}").position(), Some((2, 3)));
    assert_eq!(err("[]").position(), None);
}
