//! Every rule of customData, pinned.

mod support;

use custodian::domain::{CustomData, Limits, ValidationError};
use custodian::store::{Author, UserStore};
use custodian::tui::app::{Action, Mode};
use support::home::PrivateHome;
use support::run::Run;
use support::{act, demo_store, started};

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
    // A key is in its object, not in the member before it (bb71 F2: `\u0000 in a`).
    let in_key = |text: &str| match err(text) {
        ValidationError::NulCharacter { path, .. } => path,
        other => panic!("{other:?}"),
    };
    assert_eq!(in_key(r#"{"a": 1, "k\u0000": 1}"#), "(top level)");
    assert_eq!(in_key(r#"{"o": {"a": [1], "k\u0000": 1}}"#), "o");
    assert_eq!(in_key(r#"{"o": [{"a": 1, "k\u0000": 1}]}"#), "o[0]");
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
    // The size reported is the compact form's: `{"a":"xx…"}` without the space.
    assert_eq!(
        CustomData::parse_with(&big, &limits).unwrap_err(),
        ValidationError::TooLarge { size: big.len() - 1, limit: 10 }
    );
    // Nested past any limit and closed, and oversize: the size is what is reported.
    let nested = format!("{}{}", "[".repeat(1024 * 1024), "]".repeat(1024 * 1024));
    assert!(matches!(err(&nested), ValidationError::TooLarge { size: 2_097_152, .. }), "{:?}", err(&nested));
    // Oversize and not JSON: the syntax error, with its place, is what to fix first (bb88 F3:
    // a stray `z` after a document at the limit was said only as "1,048,577 B").
    let unterminated = format!("{{\"a\": \"{}", "x".repeat(2 * 1024 * 1024));
    assert!(
        matches!(err(&unterminated), ValidationError::Syntax { line: 1, .. }),
        "{:?}",
        err(&unterminated)
    );
    let stray = format!("{}\nz", compact_document_of(1024 * 1024));
    assert!(matches!(err(&stray), ValidationError::Syntax { line: 2, column: 1, .. }), "{:?}", err(&stray));
    // More than 8 times the limit: the size alone, as before (its syntax is not read).
    let far_over = format!("{{\"a\": \"{}", "x".repeat(9 * 1024 * 1024));
    assert!(matches!(err(&far_over), ValidationError::TooLarge { .. }));
}

#[test]
fn oversize_refusal_is_one_pass_not_a_parse() {
    // Parsing 100 MiB into a value takes many seconds in a debug build; the refusal counts
    // the compact size in one pass over the bytes (about 0.05 s in a release build).
    let mut huge = b"{\"a\": \"".to_vec();
    huge.resize(100 * 1024 * 1024, b'x');
    huge.extend_from_slice(b"\"}");
    let started = std::time::Instant::now();
    let result = CustomData::parse_bytes(&huge, &Limits::default());
    assert_eq!(result, Err(ValidationError::TooLarge { size: huge.len() - 1, limit: 1024 * 1024 }));
    assert_eq!(result.unwrap_err().to_string(), "the document is 100 MiB but the limit is 1 MiB");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
}

/// `{"k":"xxx…"}` whose compact form is exactly `size` bytes.
fn compact_document_of(size: usize) -> String {
    format!("{{\"k\":\"{}\"}}", "x".repeat(size - 8))
}

#[test]
fn the_limit_is_on_the_compact_form_exactly_at_the_boundary() {
    let limit = 1024 * 1024;
    let at_limit = compact_document_of(limit);
    assert_eq!(at_limit.len(), limit);
    let data = CustomData::parse(&at_limit).expect("exactly the limit fits");
    assert_eq!(data.size(), limit);
    assert_eq!(data.compact().len(), limit);
    // The pretty form shown in the editor is longer than the limit; it does not count.
    assert!(data.canonical().len() > limit);
    let over = compact_document_of(limit + 1);
    assert_eq!(err(&over), ValidationError::TooLarge { size: limit + 1, limit });
    assert_eq!(
        CustomData::parse_bytes(over.as_bytes(), &Limits::default()).unwrap_err(),
        ValidationError::TooLarge { size: limit + 1, limit }
    );
    // The same documents laid out with whitespace: measured the same.
    let pretty_at_limit = format!("{{\n    \"k\"   :\n  \"{}\"\n}}\n", "x".repeat(limit - 8));
    assert_eq!(CustomData::parse(&pretty_at_limit).expect("fits").size(), limit);
    let pretty_over = format!("{{\n    \"k\"   :\n  \"{}\"\n}}\n", "x".repeat(limit - 7));
    assert_eq!(err(&pretty_over), ValidationError::TooLarge { size: limit + 1, limit });
}

#[test]
fn a_pretty_document_whose_compact_form_fits_is_accepted() {
    // The shape of the issue: many small settings objects, under 800 KB compact, over 1 MiB
    // pretty (the issue's 788 KB document was "1.7 MiB").
    let entries: Vec<String> = (0..12_700)
        .map(|i| format!("\"setting{i:05}\":{{\"enabled\":true,\"level\":{i},\"tags\":[\"a\",\"b\"]}}"))
        .collect();
    let compact = format!("{{{}}}", entries.join(","));
    let data = CustomData::parse(&compact).expect("compact fits");
    let pretty = data.canonical().to_owned();
    assert!(compact.len() < 800_000 && pretty.len() > 1024 * 1024, "{} / {}", compact.len(), pretty.len());
    assert_eq!(data.size(), compact.len());
    // Typed or pasted in its pretty form (larger than the limit as text): the same document.
    let again = CustomData::parse_bytes(pretty.as_bytes(), &Limits::default()).expect("pretty fits");
    assert_eq!(again.size(), compact.len());
    assert_eq!(again.compact(), compact);
    // Escapes count as the characters they stand for: `\u00e9` is the 2 bytes of `é`.
    let escaped = format!("{{\"k\":\"{}\"}}", "\\u00e9".repeat(200_000));
    assert!(escaped.len() > 1024 * 1024);
    assert_eq!(CustomData::parse(&escaped).expect("fits").size(), 8 + 400_000);
}

#[test]
fn sizes_that_differ_read_differently() {
    use custodian::domain::{human_bytes, human_bytes_apart};
    assert_eq!(human_bytes(312), "312 B");
    assert_eq!(human_bytes(4300), "4.2 KiB");
    assert_eq!(human_bytes(1024 * 1024), "1 MiB");
    assert_eq!(human_bytes(1024 * 1024 - 20), "1 MiB", "not 1024 KiB");
    let limit = 1024 * 1024;
    assert_eq!(
        ValidationError::TooLarge { size: 1_100_001, limit }.to_string(),
        "the document is 1.05 MiB but the limit is 1 MiB"
    );
    assert_eq!(
        ValidationError::TooLarge { size: limit + 1, limit }.to_string(),
        "the document is 1,048,577 B but the limit is 1,048,576 B"
    );
    assert_eq!(human_bytes_apart(312, limit), ("312 B".to_owned(), "1 MiB".to_owned()));
    assert_eq!(human_bytes_apart(limit - 6, limit), ("1,048,570 B".to_owned(), "1,048,576 B".to_owned()));
    // At the limit itself: whether one more character fits is told.
    assert_eq!(human_bytes_apart(limit, limit), ("1,048,576 B".to_owned(), "1,048,576 B".to_owned()));
    for size in (limit - 3000..limit + 3000).step_by(7).chain([1_100_001, 2 * limit + 1]) {
        let (a, b) = human_bytes_apart(size, limit);
        assert_eq!(a == b, size == limit, "{size}: {a} / {b}");
    }
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
    let text = r#"{"zeta":1,"alpha":12345678901234567890123,"mid":1.50,"e":1E400,"neg":-0}"#;
    let data = CustomData::parse(text).unwrap();
    assert_eq!(
        data.canonical(),
        "{\n  \"zeta\": 1,\n  \"alpha\": 12345678901234567890123,\n  \"mid\": 1.50,\n  \"e\": 1E400,\n  \"neg\": -0\n}"
    );
    let keys: Vec<_> = data.as_object().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "alpha", "mid", "e", "neg"]);
}

/// Every way of writing a number the README promises to keep, at every depth.
const NUMBER_SPELLINGS: &[&str] = &[
    "1E5",
    "1e+5",
    "1e-5",
    "1e5",
    "1E+5",
    "1E-5",
    "-0",
    "0",
    "-0.0e0",
    "-0.0E-0",
    "1.50",
    "0.1",
    "1.0",
    "100",
    "-1.5E+10",
    "0e0",
    "12345678901234567890123",
    "-12345678901234567890123",
    "1E400",
    "1e-400",
    "123456789012345678901234567890.1234567890e-7",
    "18446744073709551616",
    "-9223372036854775809",
];

fn numbers_document() -> String {
    let members: Vec<String> =
        NUMBER_SPELLINGS.iter().enumerate().map(|(i, n)| format!("\"n{i}\":{n}")).collect();
    format!(
        "{{{},\"list\":[{}],\"deep\":{{\"x\":[{{\"y\":1E5}}]}}}}",
        members.join(","),
        NUMBER_SPELLINGS.join(",")
    )
}

#[test]
fn number_text_is_kept_exactly_in_every_form() {
    let text = numbers_document();
    let data = CustomData::parse(&text).unwrap();
    assert_eq!(data.compact(), text, "compact form");
    assert_eq!(data.size(), text.len());
    for n in NUMBER_SPELLINGS {
        assert!(data.canonical().contains(&format!(": {n},")), "{n} in\n{}", data.canonical());
    }
    // What the store keeps is read back to the same pretty text, and parses to itself.
    assert_eq!(custodian::domain::custom_data::canonical_from_compact(&data.compact()), data.canonical());
    assert_eq!(CustomData::parse(data.canonical()).unwrap(), data);
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

#[test]
fn number_text_survives_set_get_export_and_import_through_the_binary() {
    let home = PrivateHome::new(&[]);
    let run = |db: &str, args: &[&str], stdin: Option<&[u8]>| {
        let mut command = home.custodian();
        command.arg("--db").arg(home.path(db)).args(args);
        Run::of(command, stdin)
    };
    run("a.redb", &["init"], None).ok();
    run("a.redb", &["import", "-"], Some(b"{\"id\":\"n1\",\"username\":\"numbers\"}\n")).ok();
    let text = numbers_document();
    run("a.redb", &["set", "n1", "-"], Some(text.as_bytes())).ok();
    let got = run("a.redb", &["get", "n1"], None).ok().stdout;
    assert_eq!(got, format!("{}\n", CustomData::parse(&text).unwrap().canonical()));
    for n in NUMBER_SPELLINGS {
        assert!(got.contains(&format!(": {n},")), "{n} in\n{got}");
    }
    // Setting the same text again changes nothing.
    let again = run("a.redb", &["set", "n1", "-"], Some(got.as_bytes())).ok();
    assert!(again.stdout.starts_with("no changes"), "{again:?}");
    // export carries the stored compact text as written; an import of it keeps it too.
    let exported = run("a.redb", &["export"], None).ok().stdout;
    assert!(exported.contains(&format!("\"customData\":{text}")), "{exported}");
    run("b.redb", &["init"], None).ok();
    run("b.redb", &["import", "-"], Some(exported.as_bytes())).ok();
    assert_eq!(run("b.redb", &["get", "n1"], None).ok().stdout, got);
    assert_eq!(run("b.redb", &["export"], None).ok().stdout, exported);
}

#[test]
fn the_editor_status_line_shows_the_compact_size() {
    let (_dir, store) = demo_store();
    let first = store.page_after(None, 1).expect("page").remove(0).user.id;
    let compact = r#"{"theme":"dark","langs":["en","fr"],"n":1E5}"#;
    let data = CustomData::parse(compact).expect("valid");
    store.replace_custom_data(&first, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    // The editor holds the pretty form (longer); the size is the compact one, as stored.
    assert!(state.editor.as_ref().expect("editing").text().len() > compact.len());
    let (valid, summary) = state.validation_summary().expect("editing");
    assert!(valid, "{summary}");
    assert_eq!(summary, format!("valid object · {} B of 1 MiB", compact.len()));
}

mod stored_text_laid_out_without_a_parse {
    use custodian::domain::custom_data::{canonical_from_compact, canonical_text, parse_object, parse_value};
    use custodian::domain::layout_compact::pretty_from_compact;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    fn leaf() -> impl Strategy<Value = Value> {
        const NUMBERS: [&str; 7] =
            ["0", "-0.0e0", "1E5", "12.50", "-3", "123456789012345678901234567890", "1e-7"];
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            prop::sample::select(&NUMBERS[..]).prop_map(|n| parse_value(n).unwrap()),
            "[a-z\"\\\\ ,:{}\\[\\]\u{1b}\u{7f}é東☕]{0,6}".prop_map(Value::String),
        ]
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        let value = leaf().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\:,{ é]{0,4}", inner), 0..5)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        });
        prop::collection::vec(("[a-z\"\\\\:,{ é]{0,4}", value), 0..6)
            .prop_map(|pairs| pairs.into_iter().collect())
    }

    proptest! {
        /// The store's compact text, laid out without a parse, is exactly what parsing it and
        /// printing it pretty gives (the editor, `get` and the history show that text): at
        /// these depths (under 16 levels) serde_json's own pretty printer's.
        #[test]
        fn is_what_parsing_and_printing_it_gives(object in object()) {
            let compact = serde_json::to_string(&object).unwrap();
            let printed = serde_json::to_string_pretty(&parse_object(&compact).unwrap()).unwrap();
            prop_assert_eq!(pretty_from_compact(&compact), Some(printed.clone()));
            prop_assert_eq!(canonical_text(&parse_object(&compact).unwrap()), printed.clone());
            prop_assert_eq!(canonical_from_compact(&compact), printed);
        }
    }

    #[test]
    fn a_damaged_record_that_is_not_an_object_is_shown_as_it_is() {
        for damaged in ["[1,2]", "{\"a\":1", "not json", "{\"a\": 1}}"] {
            assert_eq!(canonical_from_compact(damaged), damaged);
        }
    }
}
