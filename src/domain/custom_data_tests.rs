//! Unit tests of the pieces `tests/custom_data_rules.rs` reaches only through whole
//! documents: equality, the checks on a value built elsewhere (the import's), the words of a
//! syntax error, and sizes told apart. Each pins a mutant cargo-mutants found alive.

use serde_json::json;

use super::*;

fn limits(max_depth: usize) -> Limits {
    Limits::new(DEFAULT_MAX_BYTES, max_depth)
}

#[test]
fn documents_are_equal_only_with_the_same_keys_values_and_order() {
    let a = CustomData::parse(r#"{"a": 1, "b": 2}"#).unwrap();
    assert_eq!(a, CustomData::parse("{\n  \"a\": 1,\n  \"b\": 2\n}").unwrap(), "layout is not a difference");
    assert_ne!(a, CustomData::parse(r#"{"a": 1, "b": 3}"#).unwrap());
    // The same keys and values in another order are another document: the store keeps order.
    assert_ne!(a, CustomData::parse(r#"{"b": 2, "a": 1}"#).unwrap());
}

#[test]
fn into_object_gives_the_documents_own_keys() {
    let object = CustomData::parse(r#"{"a": 1, "b": [true]}"#).unwrap().into_object();
    assert_eq!(Value::Object(object), json!({"a": 1, "b": [true]}));
}

#[test]
fn a_value_from_elsewhere_is_held_to_the_depth_limit_exactly() {
    // Three levels of objects, of arrays, and of both: the limit itself passes.
    for at_limit in [json!({"a": {"b": {}}}), json!({"a": [[1]]}), json!({"a": [{"b": 1}]})] {
        assert!(CustomData::from_value(at_limit.clone(), &limits(3)).is_ok(), "{at_limit}");
    }
    // One level more fails, and so does any deeper (not only exactly one more).
    for deeper in [json!({"a": {"b": {"c": {}}}}), json!({"a": [[[1]]]}), json!({"a": [[[[[{"b": 1}]]]]]})] {
        assert_eq!(
            CustomData::from_value(deeper.clone(), &limits(3)),
            Err(ValidationError::TooDeep { limit: 3, line: 1, column: 1 }),
            "{deeper}"
        );
    }
    // The deepest branch counts, wherever it is.
    let lopsided = json!({"flat": 1, "list": [1, 2, [3, [4]]], "last": {"x": {"y": {"z": 1}}}});
    assert!(CustomData::from_value(lopsided.clone(), &limits(4)).is_ok());
    assert!(CustomData::from_value(lopsided, &limits(3)).is_err());
}

#[test]
fn a_value_from_elsewhere_with_a_nul_names_where() {
    for (value, path) in [
        (json!({"a": "x\u{0}y"}), "a"),
        (json!({"a": {"b": [1, "\u{0}"]}}), "a.b[1]"),
        (json!({"a": [{"k\u{0}": 1}]}), "a[0]"),
        (json!({"k\u{0}": 1}), "(top level)"),
    ] {
        assert_eq!(
            CustomData::from_value(value.clone(), &Limits::default()),
            Err(ValidationError::NulCharacter { path: path.to_owned(), line: 1, column: 1 }),
            "{value}"
        );
    }
    assert!(CustomData::from_value(json!({"a": ["\\u0000 as text", 0]}), &Limits::default()).is_ok());
}

#[test]
fn syntax_reasons_are_said_without_a_position() {
    let reason = |text: &str| syntax_reason(text, &serde_json::from_str::<Value>(text).unwrap_err());
    assert_eq!(reason("{,}"), "key must be a string");
    assert_eq!(reason(r#"{"a": NaN}"#), "NaN and Infinity are not JSON; use null, a number or a string");
    assert_eq!(reason(r#"{"a": "\ud800x"}"#), "lone surrogate in a \\u escape (not a valid character)");
}

#[test]
fn only_a_hex_escape_cut_short_after_a_high_surrogate_is_a_lone_surrogate() {
    let error = |text: &str| syntax_error(text, &serde_json::from_str::<Value>(text).unwrap_err());
    assert_eq!(error(r#"{"a":"\ud800x"}"#), ValidationError::LoneSurrogate { line: 1, column: 13 });
    // `\ud8x0` looks like the start of a high surrogate, but serde_json says "invalid escape".
    assert!(matches!(error(r#"{"a":"\ud8x0"}"#), ValidationError::Syntax { .. }));
    assert!(matches!(error(r#"{"a":"\u12x4"}"#), ValidationError::Syntax { .. }));
}

#[test]
fn a_high_surrogate_is_d8_to_db_after_the_last_escape() {
    for high in ["\\ud800", "\\uD8", "\\udbff", "\\u0041\\uda", "x\\udB"] {
        assert!(is_lone_high_surrogate(high), "{high}");
    }
    for not_high in ["", "\\u", "\\ud", "\\udc00", "\\ud7ff", "\\u0d80", "\\ud800\\u00", "\\ue800"] {
        assert!(!is_lone_high_surrogate(not_high), "{not_high}");
    }
}

#[test]
fn the_token_is_the_word_around_the_column() {
    let line = r#"{"a": -Infinity, "b": \ud8x0}"#;
    // Columns are serde_json's: 1-based bytes. Anywhere inside the word finds all of it.
    assert_eq!(token_at(line, 1, 7), "-Infinity");
    assert_eq!(token_at(line, 1, 8), "-Infinity");
    assert_eq!(token_at(line, 1, 15), "-Infinity");
    assert_eq!(token_at(line, 1, 23), "\\ud8x0");
    // Between words: the word that ends there, or nothing.
    assert_eq!(token_at(line, 1, 16), "-Infinity");
    assert_eq!(token_at(line, 1, 17), "");
    // A word at the very start of its line.
    assert_eq!(token_at("NaN}", 1, 2), "NaN");
    assert_eq!(token_at("{\n-Infinity", 2, 5), "-Infinity");
    // The second line, and past its end.
    assert_eq!(token_at("{\n  NaN", 2, 3), "NaN");
    assert_eq!(token_at("{\n  NaN", 2, 99), "NaN");
    assert_eq!(token_at("{", 5, 1), "");
}

#[test]
fn sizes_in_kib_are_told_apart_with_more_decimals() {
    // 1536 B and 1540 B both read 1.5 KiB: three decimals tell them apart.
    assert_eq!(human_bytes_apart(1540, 1536), ("1.504 KiB".to_owned(), "1.5 KiB".to_owned()));
    assert_eq!(human_bytes_apart(1_048_577, 1_048_576), ("1,048,577 B".to_owned(), "1,048,576 B".to_owned()));
    assert_eq!(human_bytes_apart(1_100_000, 1_048_576), ("1.05 MiB".to_owned(), "1 MiB".to_owned()));
    // Told apart at one decimal already, or equal: one decimal.
    assert_eq!(human_bytes_apart(1546, 1024), ("1.5 KiB".to_owned(), "1 KiB".to_owned()));
    assert_eq!(human_bytes_apart(1546, 1546), ("1,546 B".to_owned(), "1,546 B".to_owned()));
}

#[test]
fn counts_are_grouped_by_thousands_as_an_operator_reads_them() {
    let grouped: Vec<String> = [0, 999, 1_000, 132_773, 1_000_000].into_iter().map(group_digits).collect();
    assert_eq!(grouped, ["0", "999", "1,000", "132,773", "1,000,000"]);
}

#[test]
fn a_stored_object_nested_deeper_than_serde_json_reads_is_said_as_that_not_as_text_that_is_not_json() {
    let deep = format!("{{\"a\":{}1{}}}", "{\"b\":".repeat(200), "}".repeat(200));
    let found = NotAnObject::in_text(&deep);
    assert_eq!(found.found, NotAnObject::NESTED_TOO_DEEP);
    // An array so deep is said as one, and as no object (bb78 F6: "an object nested …").
    let array = NotAnObject::in_text(&format!("{}1{}", "[".repeat(200), "]".repeat(200)));
    assert_eq!(
        array.to_string(),
        "the stored customData is an array nested 128 levels deep or more, not a JSON object (`custodian set id:ID` replaces it)"
    );
    assert_eq!(
        found.to_string(),
        "the stored customData is an object nested 128 levels deep or more (`custodian set id:ID` replaces it)"
    );
    assert_eq!(
        NotAnObject::in_text("null").to_string(),
        "the stored customData is null, not a JSON object (`custodian set id:ID` replaces it)"
    );
    assert_eq!(NotAnObject::in_text("{").found, "text that is not JSON");
}

#[test]
fn an_exponent_is_looked_for_only_where_a_number_can_start() {
    use super::may_have_an_exponent;
    for text in ["1e5", "[2E+3]", r#"{"a": -1.5e-7}"#, r#"{"a":1E5}"#, "{\"a\":\n 3e2}", "[0,10E2]"] {
        assert!(may_have_an_exponent(text), "{text}");
    }
    for text in [r#"{"id":"k3e9x"}"#, r#"{"e":1}"#, r#"{"a":"x1e5"}"#, "{}", r#"{"n":15}"#] {
        assert!(!may_have_an_exponent(text), "{text}");
    }
}
