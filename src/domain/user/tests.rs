use super::*;

#[test]
fn a_time_past_the_largest_millisecond_count_is_refused_naming_the_range() {
    // 18446744073709551615 is a whole number of milliseconds: the message gives the range.
    let too_large = serde_json::from_str::<Value>("18446744073709551615").unwrap();
    let error = take_millis(Some(too_large), "createdAt").unwrap_err().to_string();
    assert!(error.contains("from 0 to 253402300799999 (9999-12-31 23:59:59.999 UTC)"), "{error}");
    assert!(take_millis(Some(Value::from(-1)), "createdAt").is_err());
    assert_eq!(take_millis(Some(Value::from(i64::MAX)), "createdAt").unwrap(), Some(i64::MAX));
}

/// bb90 F3: a whole number of milliseconds with an exponent (`1E12`) was refused as "must be
/// a whole number"; it is that number. One that is not whole, or past 2^53, is still refused.
#[test]
fn a_time_written_with_an_exponent_is_the_whole_number_it_spells() {
    let read = |text: &str| take_millis(Some(serde_json::from_str::<Value>(text).unwrap()), "createdAt");
    assert_eq!(read("1E12").unwrap(), Some(1_000_000_000_000));
    assert_eq!(read("1.7e12").unwrap(), Some(1_700_000_000_000));
    assert_eq!(read("1000.0").unwrap(), Some(1_000));
    for refused in ["1.5", "1e-3", "1e300", "-1e3"] {
        assert!(read(refused).is_err(), "{refused}");
    }
    let (from_value, from_fields) = both_ways(r#"{"id":"n1","username":"n1","createdAt":1E12}"#);
    assert_eq!(from_value.expect("read").0.created_at, 1_000_000_000_000);
    assert_eq!(from_fields.expect("read").0.created_at, 1_000_000_000_000);
}

/// A user read through [`LogtoFields`] deserialised straight from the text (how the store
/// reads its records) is the one read from the parsed object, errors included.
type Read = Result<(User, Option<Value>), UserFieldError>;

fn both_ways(text: &str) -> (Read, Read) {
    let value: Value = serde_json::from_str(text).expect("JSON");
    let fields: LogtoFields = serde_json::from_str(text).expect("fields");
    (User::from_logto(value, 7), User::from_fields(fields, 7))
}

#[test]
fn an_id_is_one_to_twelve_of_letters_digits_underscore_and_hyphen() {
    let read = |id: &str| User::from_logto(serde_json::json!({ "id": id }), 7).map(|(user, _)| user.id);
    assert_eq!(read("a").expect("one character"), "a");
    assert_eq!(read("Ab_9-xyzWQ12").expect("twelve"), "Ab_9-xyzWQ12");
    for refused in ["", "Ab_9-xyzWQ123", "a b", "ü", "a.b"] {
        assert!(matches!(read(refused), Err(UserFieldError::BadId { .. })), "{refused:?}");
    }
}

fn user(object: Value) -> Result<User, UserFieldError> {
    User::from_logto(object, 7).map(|(user, _)| user)
}

#[test]
fn names_are_up_to_128_characters_and_a_blank_name_email_or_phone_is_refused() {
    let name = "ü".repeat(MAX_NAME_CHARS);
    assert_eq!(user(serde_json::json!({ "id": "u1", "username": name })).expect("128").username, Some(name));
    let long = "a".repeat(MAX_NAME_CHARS + 1);
    for field in ["username", "primaryEmail", "primaryPhone", "name"] {
        let refused = user(serde_json::json!({ "id": "u1", field: long }));
        assert!(matches!(refused, Err(UserFieldError::TooLong { chars: 129, limit: 128, .. })), "{field}");
    }
    for (field, blank) in [("username", " \u{3000}"), ("primaryEmail", "\t"), ("primaryPhone", "  ")] {
        let refused = user(serde_json::json!({ "id": "u1", field: blank }));
        assert!(matches!(refused, Err(UserFieldError::EmptyString { field: f }) if f == field), "{field}");
    }
    // One visible character among blanks is a name (and spares the fold).
    for field in ["username", "primaryEmail", "primaryPhone"] {
        assert!(user(serde_json::json!({ "id": "u1", field: " \u{3000}a\t" })).is_ok(), "{field}");
    }
    // A blank display name names nobody's lookup key: kept as given.
    assert_eq!(
        user(serde_json::json!({ "id": "u1", "name": " " })).expect("kept").name.as_deref(),
        Some(" ")
    );
}

#[test]
fn the_handle_is_the_username_else_the_email_else_the_phone_else_the_id() {
    let all =
        serde_json::json!({ "id": "u1", "username": "n", "primaryEmail": "e@x.io", "primaryPhone": "+1" });
    assert_eq!(user(all).unwrap().handle(), "n");
    assert_eq!(
        user(serde_json::json!({ "id": "u1", "primaryEmail": "e@x.io", "primaryPhone": "+1" }))
            .unwrap()
            .handle(),
        "e@x.io"
    );
    assert_eq!(user(serde_json::json!({ "id": "u1", "primaryPhone": "+1" })).unwrap().handle(), "+1");
    assert_eq!(user(serde_json::json!({ "id": "u1" })).unwrap().handle(), "u1");
}

#[test]
fn a_generated_id_is_twelve_of_digits_and_lower_case_letters_and_new_each_time() {
    let ids: Vec<String> = (0..3).map(|_| generate_id()).collect();
    for id in &ids {
        assert_eq!(id.len(), MAX_ID_CHARS, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()), "{id}");
    }
    assert!(ids[0] != ids[1] || ids[1] != ids[2], "{ids:?}");
    assert_eq!(user(serde_json::json!({ "username": "a" })).unwrap().id.len(), MAX_ID_CHARS);
}

#[test]
fn the_sparse_object_drops_known_fields_that_hold_nothing_and_keeps_every_other_field() {
    let (user, _) = User::from_logto(
        serde_json::json!({ "id": "u1", "name": null, "isSuspended": false, "profile": {}, "zExtra": null, "zFalse": false }),
        7,
    )
    .expect("a user");
    let sparse = user.to_logto_sparse();
    let keys: Vec<&str> = sparse.keys().map(String::as_str).collect();
    assert!(
        !keys.contains(&"name") && !keys.contains(&"isSuspended") && !keys.contains(&"profile"),
        "{keys:?}"
    );
    assert!(keys.contains(&"zExtra") && keys.contains(&"zFalse"), "unknown fields stay as given: {keys:?}");
    assert!(keys.contains(&"id") && keys.contains(&"createdAt"), "{keys:?}");
}

#[test]
fn fields_read_from_a_parsed_value_are_told_apart_by_name_and_a_non_object_says_what_was_expected() {
    // Keys as owned strings (serde_json's Value) go through `visit_string`.
    let fields: LogtoFields =
        serde_json::from_value(serde_json::json!({ "id": "u1", "zOther": 1 })).expect("fields");
    assert_eq!(fields.id, Some(Value::from("u1")));
    assert_eq!(fields.extra.get("zOther"), Some(&Value::from(1)));
    assert!(!fields.extra.contains_key("id"));
    let error = serde_json::from_str::<LogtoFields>("[1]").expect_err("not an object").to_string();
    assert!(error.contains("a user object"), "{error}");
}

#[test]
fn the_logto_object_has_custom_data_in_its_place_only_when_given() {
    let (user, _) = User::from_logto(serde_json::json!({ "id": "u1", "username": "a" }), 7).expect("a user");
    let data: Map<String, Value> = serde_json::from_str(r#"{"k": 1}"#).expect("an object");
    let with = user.to_logto(Some(&data));
    assert_eq!(with.get("customData"), Some(&serde_json::json!({ "k": 1 })));
    let keys: Vec<&str> = with.keys().map(String::as_str).collect();
    assert_eq!(
        &keys[..7],
        ["id", "username", "primaryEmail", "primaryPhone", "name", "avatar", "customData"]
    );
    assert!(!user.to_logto(None).contains_key("customData"));
}

#[test]
fn fields_read_from_the_text_make_the_user_the_parsed_object_makes() {
    let objects = [
        r#"{"id":"u1"}"#,
        r#"{"zFirst":1,"id":"u2","username":"Ünï","primaryEmail":"a@b.c","primaryPhone":"+1","name":"N","avatar":"https://a","customData":{"k":[1,2]},"identities":{"gh":{}},"lastSignInAt":5,"createdAt":1,"updatedAt":2,"profile":{"p":1},"applicationId":"app","isSuspended":true,"mid":null,"key\"escaped\\":"v"}"#,
        // A repeated key: the last value, in the first one's place (as a map keeps it).
        r#"{"id":"u3","extra":1,"username":"a","extra":2,"username":"b"}"#,
        r#"{"id":"u4","username":null,"customData":null,"isSuspended":null,"createdAt":null}"#,
    ];
    for text in objects {
        let (parsed, read) = both_ways(text);
        let (parsed, read) = (parsed.expect("a user"), read.expect("a user"));
        assert_eq!(read, parsed, "{text}");
        assert_eq!(
            read.0.extra.keys().collect::<Vec<_>>(),
            parsed.0.extra.keys().collect::<Vec<_>>(),
            "{text}: the unknown fields' order"
        );
    }
}

#[test]
fn each_known_field_lands_in_its_own_place_however_its_key_is_written() {
    // An escaped key is the field it spells; of a repeated key the last value counts,
    // even after a value that would be refused.
    let text = r#"{"id":"u1","username":"ann","primaryEmail":"a@x.org","primaryPhone":"+1 5","name":"Ann","avatar":"https://a/b","identities":{"gh":{"id":"1"}},"lastSignInAt":3,"createdAt":1,"updatedAt":2,"profile":{"nick":"a"},"applicationId":"app","isSuspended":true,"name":"","name":"Ann B","other":[1]}"#;
    let fields: LogtoFields = serde_json::from_str(text).expect("fields");
    let (user, custom_data) = User::from_fields(fields, 7).expect("a user");
    assert_eq!(custom_data, None);
    let object = |text: &str| serde_json::from_str::<Map<String, Value>>(text).expect("object");
    let expected = User {
        id: "u1".into(),
        username: Some("ann".into()),
        primary_email: Some("a@x.org".into()),
        primary_phone: Some("+1 5".into()),
        name: Some("Ann B".into()),
        avatar: Some("https://a/b".into()),
        identities: object(r#"{"gh":{"id":"1"}}"#),
        last_sign_in_at: Some(3),
        created_at: 1,
        updated_at: 2,
        profile: object(r#"{"nick":"a"}"#),
        application_id: Some("app".into()),
        is_suspended: true,
        extra: object(r#"{"other":[1]}"#),
    };
    assert_eq!(user, expected);
    let fields: LogtoFields =
        serde_json::from_str(r#"{"customData":{"k":1},"username":"","username":"ok"}"#).expect("fields");
    let (user, custom_data) = User::from_fields(fields, 7).expect("the last username counts");
    assert_eq!(user.username.as_deref(), Some("ok"));
    assert_eq!(custom_data, Some(serde_json::json!({"k": 1})));
    assert_eq!((user.created_at, user.updated_at), (7, 7), "missing times are now");
}

#[test]
fn fields_read_from_the_text_fail_with_the_error_the_parsed_object_gives() {
    let objects = [
        // Two bad fields: the first in the fixed order is named, whatever the key order.
        r#"{"isSuspended":"yes","username":"","id":"u1"}"#,
        r#"{"id":"bad id!"}"#,
        r#"{"id":7}"#,
        r#"{"id":"u1","createdAt":-1}"#,
        r#"{"id":"u1","profile":[]}"#,
        r#"{"id":"u1","name":1}"#,
    ];
    for text in objects {
        let (parsed, read) = both_ways(text);
        assert_eq!(read.expect_err("refused"), parsed.expect_err("refused"), "{text}");
    }
}

/// The known fields' quick test and their list are the same fields.
#[test]
fn the_known_fields_test_takes_the_known_fields_alone() {
    for field in KNOWN_FIELDS {
        assert!(is_known_field(field), "{field}");
    }
    for other in ["", "ID", "custom_data", "hasPassword", "tenantId", "customData "] {
        assert!(!is_known_field(other), "{other}");
    }
}
