//! Unit tests of the schema checks: messages, positions, cuts.

use super::positions::{line_and_column, locate, walk_to};
use super::*;

const PLANS: &str = r#"{
  "type": "object",
  "properties": {
    "billing": {"type": "object", "properties": {"plan": {"enum": ["free", "pro", "team"]}}},
    "apps": {"type": "array", "items": {"type": "object", "properties": {"token": {"type": "string"}}}}
  }
}"#;

fn check(schema: &str, text: &str) -> Vec<Violation> {
    let shape = Shape::compile(schema).expect("a schema");
    let value: Value = serde_json::from_str(text).expect("json");
    shape.violations(text, &value)
}

#[test]
fn a_long_offending_value_is_cut_in_the_message_with_its_length() {
    let schema = r#"{"properties": {"a": {"maxLength": 3}, "b": {"enum": [1, 2]}}}"#;
    let long = "x".repeat(5000);
    let text = format!(r#"{{"a": "{long}", "b": ["{long}"]}}"#);
    let found = check(schema, &text);
    assert_eq!(found.len(), 2, "{found:?}");
    for violation in &found {
        assert!(violation.message.len() < 200, "{}", violation.message);
    }
    let cut = "x".repeat(60);
    assert_eq!(found[0].message, format!(r#""{cut}…" (5000 characters) is longer than 3 characters"#));
    assert_eq!(found[1].message, format!(r#"["{}… (5004 characters) is not one of 1, 2"#, &cut[..58]));
    // A short value is told whole.
    let short = check(schema, r#"{"a": "abcd"}"#);
    assert_eq!(short[0].message, r#""abcd" is longer than 3 characters"#);
}

#[test]
fn a_long_key_an_error_quotes_is_cut_too_and_other_quoted_text_is_left_whole() {
    // `propertyNames` quotes the key, not the error's value: a 100,000-character key made
    // a 100 KB line.
    let schema = r#"{"propertyNames": {"maxLength": 8}, "properties": {"p": {"enum": ["a, b", "c"]}}}"#;
    let key = "k".repeat(100_000);
    let found = check(schema, &format!(r#"{{"{key}": 1, "p": "x \" y"}}"#));
    let messages: Vec<&str> = found.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            r#""x \" y" is not one of "a, b", "c""#,
            format!(r#""{}…" (100000 characters) is longer than 8 characters"#, "k".repeat(60)).as_str(),
        ],
    );
    assert_eq!(cut_long_strings(r#"a "unclosed"#), r#"a "unclosed"#);
}

#[test]
fn every_violation_is_told_with_the_lint_path_its_position_and_the_message() {
    let text = "{\n  \"billing\": {\"plan\": \"enterprize\"},\n  \"apps\": [{}, {}, {\"token\": 42}]\n}";
    let found = check(PLANS, text);
    let told: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{told:?}");
    assert!(
        told.contains(
            &r#"line 2, col 23: billing.plan: "enterprize" is not one of "free", "pro", "team""#.to_owned()
        ),
        "{told:?}"
    );
    let token = found.iter().find(|v| v.path == "apps[2].token").expect("the token's violation");
    assert_eq!((token.line, token.column), (3, 30), "{token}");
    assert!(token.message.contains("is not of type \"string\""), "{token}");
}

#[test]
fn positions_found_together_are_those_found_one_by_one() {
    let text = "{\"é\": [1,\n  2, \"ü\"],\n\"b\": 3}";
    let offsets = [30, 0, 9, 14, 9, 20];
    let together = lines_and_columns(text, &offsets);
    let alone: Vec<_> = offsets.iter().map(|&o| line_and_column(text, o)).collect();
    assert_eq!(together, alone);
}

#[test]
fn many_errors_are_each_found_where_they_are() {
    let items: Vec<String> =
        (0..300).map(|i| if i % 3 == 0 { format!("{i}") } else { format!("\"{i}\"") }).collect();
    let text = format!("{{\"list\": [\n{}\n]}}", items.join(",\n"));
    let found = check(r#"{"properties": {"list": {"items": {"type": "string"}}}}"#, &text);
    assert_eq!(found.len(), 100);
    for (n, violation) in found.iter().enumerate() {
        assert_eq!(violation.path, format!("list[{}]", n * 3));
        assert_eq!((violation.line, violation.column), (n * 3 + 2, 1), "{violation}");
    }
}

#[test]
fn a_valid_document_is_valid_and_has_no_violations() {
    assert!(check(PLANS, r#"{"billing": {"plan": "pro"}, "apps": [{"token": "x"}]}"#).is_empty());
    let shape = Shape::compile(PLANS).expect("a schema");
    assert!(shape.is_valid(&serde_json::json!({"billing": {"plan": "pro"}})));
    assert!(!shape.is_valid(&serde_json::json!({"billing": {"plan": "gold"}})));
}

#[test]
fn columns_count_characters_not_bytes() {
    let found = check(PLANS, "{\"é\": 1, \"billing\": {\"plan\": 3}}");
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (1, 30));
}

#[test]
fn a_key_with_a_slash_or_tilde_is_found() {
    let schema = r#"{"properties": {"a/b~c": {"type": "string"}}}"#;
    let found = check(schema, r#"{"x": [1, "]"], "a/b~c": 5}"#);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].path.as_str(), found[0].column), ("a/b~c", 26));
}

#[test]
fn a_missing_property_points_at_the_object_that_lacks_it() {
    let found = check(r#"{"required": ["plan"]}"#, "{\n  \"a\": 1\n}");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].short(), r#"the document: "plan" is a required property"#);
    assert_eq!((found[0].line, found[0].column), (1, 1));
}

#[test]
fn a_text_that_is_not_a_schema_is_refused_with_the_reason() {
    assert!(matches!(Shape::compile("{"), Err(ShapeError::NotJson(_))));
    let error = Shape::compile(r#"{"type": "strnig"}"#).unwrap_err();
    assert!(matches!(error, ShapeError::NotASchema(_)), "{error}");
    assert!(error.to_string().contains("strnig"), "{error}");
    let error = Shape::compile(r#"{"$ref": "https://example.com/s.json"}"#).unwrap_err();
    assert!(matches!(error, ShapeError::NotASchema(_)), "{error}");
}

#[test]
fn drafts_7_and_2019_09_are_accepted_when_the_schema_says_so() {
    let seven = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}"#;
    let shape = Shape::compile(seven).expect("draft 7");
    assert!(!shape.is_valid(&serde_json::json!([1])), "draft 7's tuple items apply");
    let later = r#"{"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object"}"#;
    Shape::compile(later).expect("2019-09");
    // 2020-12 without `$schema`: `prefixItems` is a keyword.
    let shape = Shape::compile(r#"{"prefixItems": [{"type": "string"}]}"#).expect("2020-12");
    assert!(!shape.is_valid(&serde_json::json!([1])));
}

#[test]
fn an_enum_of_many_options_names_the_first_twenty_and_counts_the_rest() {
    let options: Vec<String> = (0..250).map(|n| format!("\"C{n:03}\"")).collect();
    let schema =
        format!(r#"{{"type": "object", "properties": {{"c": {{"enum": [{}]}}}}}}"#, options.join(", "));
    let found = check(&schema, r#"{"c": "de"}"#);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message, format!(r#""de" is not one of {} and 230 more"#, options[..20].join(", ")));
}

#[test]
fn a_message_repeating_a_long_part_of_the_schema_is_cut_to_400_characters_with_its_length() {
    // A `const` of 3,000 short strings: each under the cut of a quoted string, 24 KB in all.
    let items: Vec<String> = (0..3000).map(|n| format!("\"v{n:04}\"")).collect();
    let schema =
        format!(r#"{{"type": "object", "properties": {{"c": {{"const": [{}]}}}}}}"#, items.join(","));
    let found = check(&schema, r#"{"c": 1}"#);
    let message = &found[0].message;
    assert!(message.ends_with(" characters in all)"), "{message}");
    assert_eq!(message.split("… (").next().map(|cut| cut.chars().count()), Some(400));
}

#[test]
fn a_message_of_exactly_400_characters_is_kept_whole_and_one_of_401_is_cut() {
    let whole = "é".repeat(400);
    assert_eq!(at_most_shown(whole.clone()), whole);
    assert_eq!(at_most_shown("é".repeat(401)), format!("{whole}… (401 characters in all)"));
}

#[test]
fn a_schema_that_is_not_one_is_refused_in_one_short_line_however_large() {
    let items: Vec<String> = (0..3000).map(|n| format!("\"v{n:04}\"")).collect();
    let Err(ShapeError::NotASchema(reason)) = Shape::compile(&format!("[{}]", items.join(","))) else {
        panic!("an array is no schema")
    };
    assert!(reason.ends_with(" characters in all)"), "{reason}");
    assert!(reason.chars().count() < 450, "{reason}");
}

#[test]
fn a_shape_says_only_its_name_when_debugged() {
    let shape = Shape::compile(PLANS).expect("a schema");
    assert_eq!(format!("{shape:?}"), "Shape");
    assert_eq!(format!("{:?}", Some(&shape)), "Some(Shape)");
}

#[test]
fn an_array_of_sixty_characters_is_told_whole_and_one_of_sixty_one_is_cut() {
    let schema = r#"{"properties": {"b": {"enum": [1, 2]}}}"#;
    let sixty = format!(r#"["{}"]"#, "x".repeat(56));
    assert_eq!(
        check(schema, &format!(r#"{{"b": {sixty}}}"#))[0].message,
        format!("{sixty} is not one of 1, 2")
    );
    let sixty_one = format!(r#"["{}"]"#, "x".repeat(57));
    assert_eq!(
        check(schema, &format!(r#"{{"b": {sixty_one}}}"#))[0].message,
        format!("{}… (61 characters) is not one of 1, 2", &sixty_one[..60])
    );
}

#[test]
fn a_quoted_string_of_sixty_characters_is_told_whole_and_one_of_sixty_one_is_cut() {
    let sixty = "k".repeat(60);
    let whole = format!(r#""{sixty}" is longer than 8 characters"#);
    assert_eq!(cut_long_strings(&whole), whole);
    assert_eq!(
        cut_long_strings(&format!(r#""{sixty}k" is longer than 8 characters"#)),
        format!(r#""{sixty}…" (61 characters) is longer than 8 characters"#)
    );
}

#[test]
fn a_long_quoted_string_ends_at_the_first_quote_no_backslash_escapes() {
    // An escaped quote near its start and an escaped backslash just before its end.
    let inner = format!(r#"a\"{}\\"#, "k".repeat(70));
    assert_eq!(
        cut_long_strings(&format!(r#"key "{inner}" is bad"#)),
        format!(r#"key "a\"{}…" (75 characters) is bad"#, "k".repeat(57))
    );
}

/// A document with every kind of value to walk past: strings holding brackets, commas,
/// escaped quotes and backslashes; nested, empty and scalar values; white space of every
/// kind around every token; a key written with escapes.
const WALKED: &str = " \r\n{\t\"skip\": {\"s\": \"a \\\"}] ,{[\\\\\", \"n\": [1, {\"x\": [2]}], \"e\": {}, \"t\": true},\n  \"esc\\\"key\": 11,\n  \"caf\\u00e9\": 12,\n  \"list\" : [ 13 , \"a, b\" , [ ] , { } , {\"deep\": [ 14, 15 ]} ] ,\n  \"empty\": {},\n  \"none\": [],\n  \"last\": 16\n}";

/// The pointers into [`WALKED`] and where each value starts: just after `marker`.
fn walked_pointers() -> Vec<(Vec<String>, usize)> {
    let after = |marker: &str| WALKED.find(marker).expect(marker) + marker.len();
    let pointer = |segments: &[&str]| segments.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    vec![
        (pointer(&[]), 3),
        (pointer(&["skip", "t"]), after("\"t\": ")),
        (pointer(&["esc\"key"]), after("key\": ")),
        (pointer(&["café"]), after("e9\": ")),
        (pointer(&["list", "0"]), after(": [ ")),
        (pointer(&["list", "1"]), after("13 , ")),
        (pointer(&["list", "2"]), after("\"a, b\" , ")),
        (pointer(&["list", "3"]), after("[ ] , ")),
        (pointer(&["list", "4", "deep", "1"]), after("14, ")),
        (pointer(&["empty"]), after("\"empty\": ")),
        (pointer(&["none"]), after("\"none\": ")),
        (pointer(&["last"]), after("\"last\": ")),
    ]
}

#[test]
fn the_one_walk_finds_every_value_the_errors_name_where_it_starts() {
    // Through `violations` a value the walk misses is still found, by `locate`: a walk of the
    // text per value, which made a document with thousands of errors take a second. So the
    // walk is asked on its own.
    let pointers = walked_pointers();
    assert_eq!(&WALKED[pointers[3].1..pointers[3].1 + 2], "12");
    assert_eq!(&WALKED[pointers[7].1..pointers[7].1 + 3], "{ }");
    let segments: Vec<&[String]> = pointers.iter().map(|(segments, _)| segments.as_slice()).collect();
    let expected: Vec<Option<usize>> = pointers.iter().map(|&(_, at)| Some(at)).collect();
    assert_eq!(walk_to(WALKED, &segments), expected);
    // Each alone too: what leads to no wanted value is skipped whole.
    for (segments, at) in &pointers {
        assert_eq!(walk_to(WALKED, &[segments.as_slice()]), [Some(*at)], "{segments:?}");
    }
}

#[test]
fn a_value_located_alone_is_where_the_walk_finds_it() {
    for (segments, at) in walked_pointers() {
        assert_eq!(locate(WALKED, &segments), at, "{segments:?}");
    }
}

#[test]
fn a_pointer_that_leads_nowhere_is_located_at_the_last_value_on_its_way() {
    let list = WALKED.find("[ 13").expect("the list");
    let sixteen = WALKED.find("16").expect("the last value");
    for (segments, at) in [
        (&["nope"][..], 3),
        (&["list", "9"], list),
        (&["list", "x"], list),
        (&["list", "4", "deep", "2"], WALKED.find("[ 14").expect("deep")),
        (&["last", "x"], sixteen),
    ] {
        let segments: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(locate(WALKED, &segments), at, "{segments:?}");
    }
}

/// bb16 L07: `false` and `{"type": "array"}` were saved, and then every save of every user was
/// refused. customData is always an object.
#[test]
fn a_new_schema_whose_top_level_refuses_every_object_is_refused_with_why() {
    for (schema, why) in [
        ("false", "it is `false`"),
        (r#"{"type": "array"}"#, r#""type": "array""#),
        (r#"{"type": ["string", "null"]}"#, r#""type": ["string","null"]"#),
        (r#"{"enum": [1, "a", [{}]]}"#, r#""enum" has no object among its 3 values"#),
        (r#"{"enum": []}"#, r#""enum" has no object among its 0 values"#),
        (r#"{"const": "x"}"#, r#""const" is a string"#),
        (r#"{"not": {}}"#, r#""not": {}"#),
        (r#"{"not": true}"#, r#""not": true"#),
        (r#"{"not": {"description": "anything"}}"#, r#""not": {"description":"anything"}"#),
        (r#"{"allOf": [{"type": "object"}, {"type": "array"}]}"#, r#"allOf[1]: "type": "array""#),
        (r#"{"anyOf": [false, {"const": 1}]}"#, r#"every member of "anyOf" refuses it"#),
        (
            r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"}"#,
            r#""type": "string""#,
        ),
    ] {
        let error = Shape::compile_new(schema).expect_err(schema);
        assert_eq!(error, ShapeError::RefusesEveryObject(why.to_owned()), "{schema}");
        assert!(
            error.to_string().ends_with("customData is always an object, so no save could satisfy it"),
            "{error}"
        );
        // A schema stored before compiles as it did.
        assert!(Shape::compile(schema).is_ok(), "{schema}");
    }
}

#[test]
fn a_schema_some_object_satisfies_is_taken_however_narrow() {
    for schema in [
        "true",
        "{}",
        r#"{"type": "object"}"#,
        r#"{"type": ["object", "null"]}"#,
        r#"{"enum": [1, {"plan": "free"}]}"#,
        r#"{"const": {}}"#,
        r#"{"not": {"type": "array"}}"#,
        r#"{"not": {"required": ["a"]}}"#,
        r#"{"anyOf": [{"type": "array"}, {"type": "object"}]}"#,
        r#"{"allOf": [{"type": "object"}, {"not": {"type": "array"}}]}"#,
        r#"{"oneOf": [false, {"type": "object"}]}"#,
        // Refuses {} but takes {"a": 1}.
        r#"{"type": "object", "required": ["a"]}"#,
        // Draft 7 reads only the `$ref` beside which `type` stands.
        r##"{"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/o", "type": "array", "definitions": {"o": {"required": ["a"]}}}"##,
    ] {
        assert!(Shape::compile_new(schema).is_ok(), "{schema}");
    }
    // What takes objects is no refusal, whatever the validator would say after.
    for schema in
        [r#"{"not": {"type": "array"}}"#, r#"{"not": {"required": ["a"]}}"#, r#"{"type": "object"}"#]
    {
        let value: serde_json::Value = serde_json::from_str(schema).expect("JSON");
        assert_eq!(super::refusal::refuses_every_object(&value), None, "{schema}");
    }
    // Not looked into: a refusal that takes reasoning about the values (it refuses every
    // object, and is taken, as before).
    assert!(Shape::compile_new(r#"{"required": ["a"], "properties": {"a": false}}"#).is_ok());
}

/// bb77 F8: refusals that named the wrong cause — a deep schema "not JSON", a Draft 3 one
/// "true is not of type array", a pattern too large for the engine "not a regex".
#[test]
fn a_schema_refused_says_the_cause_it_has() {
    let deep = format!("{}{{}}{}", r#"{"not": "#.repeat(200), "}".repeat(200));
    assert_eq!(
        Shape::compile(&deep).unwrap_err().to_string(),
        "the schema is nested 128 levels deep or more, deeper than custodian reads"
    );
    // The bound as said: 128 levels are refused, 127 read ("deeper than 128" of 128: bb95 F2).
    let nested =
        |levels: usize| format!("{}{{}}{}", r#"{"items": "#.repeat(levels - 1), "}".repeat(levels - 1));
    assert!(matches!(Shape::compile(&nested(128)), Err(ShapeError::TooDeep)));
    assert!(!matches!(Shape::compile(&nested(127)), Err(ShapeError::TooDeep)));
    let draft3 =
        r#"{"$schema": "http://json-schema.org/draft-03/schema#", "properties": {"a": {"required": true}}}"#;
    let error = Shape::compile(draft3).unwrap_err().to_string();
    assert!(error.contains("names Draft 3") && error.contains("which custodian does not read"), "{error}");
    let big = r#"{"properties": {"a": {"pattern": "^(a{1,1000}){1,1000}$"}}}"#;
    let error = Shape::compile(big).unwrap_err().to_string();
    assert!(error.contains("larger than the regex engine builds"), "{error}");
}

#[test]
fn a_key_a_schema_refuses_is_pointed_at_where_it_is_written() {
    // `propertyNames` errors pointed at the object: every one on its first line (bb92 F5).
    let schema = r#"{"properties": {"prefs": {"propertyNames": {"maxLength": 3}}}}"#;
    let text =
        "{\n  \"prefs\": {\n    \"ok\": 1,\n    \"toolong\": [1],\n    \"a\\\"\\\\\\\"bc\" :\n {}\n  }\n}";
    let found = check(schema, text);
    let at: Vec<(usize, usize, &str)> = found.iter().map(|v| (v.line, v.column, v.path.as_str())).collect();
    assert_eq!(at.len(), 2, "{found:?}");
    assert!(at.contains(&(4, 5, "prefs.toolong")), "{at:?}");
    // A key with escaped quotes and backslashes, its value on the next line.
    assert!(at.iter().any(|&(line, column, _)| (line, column) == (5, 5)), "{at:?}");
    assert_eq!(key_before("[1]", 0), 0, "no key before a value: the value's own place");
}
