//! Values found by the lint's paths, sealed where they are and opened back (`--seal`,
//! `get --unseal`).

use serde_json::json;

use super::*;

#[test]
fn paths_in_the_lint_style_find_values_keys_with_dots_included() {
    let mut object = json!({"billing": {"taxId": "DE1"}, "apps": [{}, {}, {"token": "t"}], "a.b": {"c": 1}})
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(value_at_mut(&mut object, "billing.taxId"), Some(&mut json!("DE1")));
    assert_eq!(value_at_mut(&mut object, "apps[2].token"), Some(&mut json!("t")));
    assert_eq!(value_at_mut(&mut object, "a.b.c"), Some(&mut json!(1)));
    assert_eq!(value_at_mut(&mut object, "apps[3]"), None);
    assert_eq!(value_at_mut(&mut object, "billing.nope"), None);
    // An index as the lint writes it, or none (bb48: `apps[02]` was `apps[2]`).
    for other in ["apps[02].token", "apps[+2].token", "apps[ 2].token", "apps[].token"] {
        assert_eq!(value_at_mut(&mut object, other), None, "{other}");
    }
    assert_eq!(value_at_mut(&mut object, "apps[0]"), Some(&mut json!({})));
}

#[test]
fn a_path_that_names_two_values_is_refused_and_nothing_is_sealed() {
    let keys = set(vec![key("k", 1)]);
    for (document, path) in [
        (json!({"billing": {"taxId": "DE1"}, "billing.taxId": "junk"}), "billing.taxId"),
        (json!({"a": ["secret"], "a[0]": "x"}), "a[0]"),
        (json!({"x": {"y.z": 1, "y": {"z": 2}}}), "x.y.z"),
    ] {
        let mut object = document.as_object().unwrap().clone();
        let sealed = seal_paths::<()>(&mut object, &[path.to_owned()], keys.sealing_key(), || Ok(IV));
        assert_eq!(sealed, Ok(Err(SealPathError::Ambiguous(path.into()))), "{document}");
        assert_eq!(Value::Object(object), document, "nothing sealed");
    }
    // One value by that path, and a key that only begins like it: sealed.
    let mut object = json!({"billing": {"taxId": "DE1"}, "billing.taxIdOld": "x", "a[0]": "y"})
        .as_object()
        .unwrap()
        .clone();
    let paths = ["billing.taxId".to_owned(), "a[0]".to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing"]["taxId"].as_str().is_some_and(is_sealed));
    assert!(object["a[0]"].as_str().is_some_and(is_sealed));
    assert_eq!(object["billing.taxIdOld"], json!("x"));
}

/// A path the lint writes names one value, whatever the keys hold: a key that would read as
/// something else is quoted (`["billing.taxId"]`), and `--seal` given it seals that value
/// alone where the plain spelling names two (bb26 T04).
#[test]
fn a_quoted_key_names_that_key_alone_and_is_the_way_past_an_ambiguous_path() {
    let keys = set(vec![key("k", 1)]);
    let document = json!({"billing": {"taxId": "DE1"}, "billing.taxId": "DE2", "x": {"": {"a]b": 3}}});
    let mut object = document.as_object().unwrap().clone();
    assert_eq!(value_at_mut(&mut object, r#"["billing.taxId"]"#), Some(&mut json!("DE2")));
    assert_eq!(value_at_mut(&mut object, r#"x[""]["a]b"]"#), Some(&mut json!(3)));
    assert_eq!(value_at_mut(&mut object, r#"["billing"].taxId"#), Some(&mut json!("DE1")));
    assert_eq!(value_at_mut(&mut object, r#"["nope"]"#), None);
    // The lint's own path for each value reads back to it.
    let lint: Vec<String> = crate::domain::secrets::find_secrets(
        &json!({"a.b": {"password": "hunter2hunter2"}}).as_object().unwrap().clone(),
    )
    .into_iter()
    .map(|finding| finding.path)
    .collect();
    assert_eq!(lint, [r#"["a.b"].password"#]);
    let paths = [r#"["billing.taxId"]"#.to_owned(), r#"x[""]["a]b"]"#.to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing.taxId"].as_str().is_some_and(is_sealed));
    assert!(object["x"][""]["a]b"].as_str().is_some_and(is_sealed));
    assert_eq!(object["billing"]["taxId"], json!("DE1"), "the other value stays as it is");
}

/// A key holding a hidden character is printed quoted, that character as a JSON escape, and
/// that path seals it alone; a path as a screen marks it (`zw\u{200b}k`) reads as the key it
/// shows too, and where a key spells the marker itself it names both: refused. It sealed the
/// key spelling the marker, the real secret left in clear (bb28 R01).
#[test]
fn a_key_holding_a_hidden_character_is_sealed_by_the_lints_path_and_never_its_look_alike() {
    let keys = set(vec![key("k", 1)]);
    let document = json!({"zw\u{200b}k": {"password": "REAL"}, "zw\\u{200b}k": {"password": "decoy"}, "tab\tk": {"password": "T"}});
    let lint: Vec<String> = crate::domain::secrets::find_secrets(document.as_object().unwrap())
        .into_iter()
        .map(|finding| finding.path)
        .collect();
    assert_eq!(lint, [r#"["zw\u200bk"].password"#, r#"["zw\\u{200b}k"].password"#, r#"["tab\tk"].password"#]);
    let mut object = document.as_object().unwrap().clone();
    let paths = [r#"["zw\u200bk"].password"#.to_owned(), r#"["tab\tk"].password"#.to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["zw\u{200b}k"]["password"].as_str().is_some_and(is_sealed));
    assert!(object["tab\tk"]["password"].as_str().is_some_and(is_sealed));
    assert_eq!(object["zw\\u{200b}k"]["password"], json!("decoy"));
    // The marked form names both keys: nothing sealed.
    let marked = r"zw\u{200b}k.password";
    let mut object = document.as_object().unwrap().clone();
    let sealed = seal_paths::<()>(&mut object, &[marked.to_owned()], keys.sealing_key(), || Ok(IV));
    assert_eq!(sealed, Ok(Err(SealPathError::Ambiguous(marked.into()))));
    assert_eq!(Value::Object(object), document);
    // Without the look-alike, the marked form reaches the key it shows.
    let mut object = json!({"tab\tk": {"password": "T"}}).as_object().unwrap().clone();
    seal_paths::<()>(&mut object, &["tab␉k.password".to_owned()], keys.sealing_key(), || Ok(IV))
        .unwrap()
        .unwrap();
    assert!(object["tab\tk"]["password"].as_str().is_some_and(is_sealed));
}

#[test]
fn seal_paths_then_open_all_round_trips_and_keeps_foreign_values_sealed() {
    let keys = set(vec![key("k", 1)]);
    let original = json!({"billing": {"taxId": "DE1"}, "apps": [{"token": "t"}], "n": 5});
    let mut object = original.as_object().unwrap().clone();
    let paths = vec!["billing.taxId".to_owned(), "apps[0].token".to_owned()];
    seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap();
    assert!(object["billing"]["taxId"].as_str().is_some_and(is_sealed));
    assert_eq!(
        seal_paths::<()>(&mut object, &paths[..1], keys.sealing_key(), || Ok(IV)).unwrap(),
        Err(SealPathError::AlreadySealed("billing.taxId".into()))
    );
    let foreign = seal(&json!("theirs"), &key("other", 9), IV);
    object.insert("theirs".into(), Value::String(foreign.clone()));
    let left = open_all(&mut object, &keys).unwrap();
    assert_eq!(
        left,
        vec![CannotOpen { path: "theirs".into(), error: OpenError::UnknownKid("other".into()) }]
    );
    object.remove("theirs");
    assert_eq!(Value::Object(object), original);
}

#[test]
fn paths_named_twice_or_one_inside_another_are_said_so_before_anything_is_sealed() {
    // bb14 L16: sealed one after another, `a a` said "a: already sealed" and `b b.c` said
    // "b.c: no such value", of values the input has in clear.
    let keys = set(vec![key("k", 1)]);
    let original = json!({"a": "x", "b": {"c": "y"}, "list": [1, 2]}).as_object().unwrap().clone();
    let cases: [(&[&str], SealPathError); 4] = [
        (&["a", "a"], SealPathError::Twice("a".into())),
        (&["b", "b.c"], SealPathError::Inside("b.c".into(), "b".into())),
        (&["b.c", "b"], SealPathError::Inside("b.c".into(), "b".into())),
        (&["a", "list[1]", "list"], SealPathError::Inside("list[1]".into(), "list".into())),
    ];
    for (paths, error) in cases {
        let mut object = original.clone();
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Err(error));
        assert_eq!(object, original, "{paths:?}: nothing sealed");
    }
    // Beside each other, and a key that only starts like another, both seal.
    let mut object = json!({"b": {"c": 1, "cd": 2}}).as_object().unwrap().clone();
    let paths = ["b.c".to_owned(), "b.cd".to_owned()];
    assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Ok(()));
}

#[test]
fn a_value_holding_a_sealed_value_is_not_sealed_and_one_sealed_so_before_opens_whole() {
    // bb12 H04: `plan` sealed over its sealed `seats` came out of `get --unseal` with `seats`
    // still sealed, and nothing said.
    let keys = set(vec![key("k", 1)]);
    let seats = seal(&json!(3), keys.sealing_key(), IV);
    let mut object =
        json!({"plan": {"tier": "pro", "seats": seats}, "tags": ["a", seats]}).as_object().unwrap().clone();
    let before = object.clone();
    for (path, inner) in [("plan", "plan.seats"), ("tags", "tags[1]")] {
        assert_eq!(
            seal_paths::<()>(&mut object, &[path.to_owned()], keys.sealing_key(), || Ok(IV)).unwrap(),
            Err(SealPathError::HoldsSealed(path.into(), inner.into()))
        );
    }
    assert_eq!(object, before, "nothing sealed");
    assert_eq!(sealed_inside(&json!({"a": [1, {"b": "x"}]}), "p"), None);
    assert_eq!(sealed_inside(&json!(seats.clone()), "p"), None, "a sealed value itself holds none");
    // Sealed so by an older custodian: every layer opens.
    let plan = seal(&json!({"tier": "pro", "seats": seats}), keys.sealing_key(), IV);
    let twice = seal(&json!({"plan": plan}), keys.sealing_key(), IV);
    let mut object = json!({"wrapped": twice}).as_object().unwrap().clone();
    assert!(open_all(&mut object, &keys).unwrap().is_empty());
    assert_eq!(Value::Object(object), json!({"wrapped": {"plan": {"tier": "pro", "seats": 3}}}));
}

#[test]
fn open_all_names_the_path_of_a_value_that_fails() {
    let keys = set(vec![key("k", 1)]);
    let bad = seal(&json!("t"), &key("k", 2), IV);
    let mut object = json!({"apps": [{}, {}, {"token": bad}]}).as_object().unwrap().clone();
    let error = open_all(&mut object, &keys).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot open apps[2].token: the tag does not match — the value was changed, or the key is wrong (another key under the same kid?)"
    );
}
#[test]
fn a_jwe_shape_around_clear_text_is_sealed_as_the_text_it_is_and_opens_back_to_it() {
    // The lint calls it a secret (no ciphertext), and `--seal` / Ctrl-L called it already
    // sealed: neither a save nor a seal took it (bb93 F3).
    let keys = set(vec![key("k", 1)]);
    let real = seal(&json!("hunter2"), keys.sealing_key(), IV);
    let parts: Vec<&str> = real.split('.').collect();
    let dressed = [parts[0], "", "x", "hunter2", "y"].join(".");
    assert!(is_sealed(&dressed) && !could_be_ciphertext(&dressed));
    let mut object =
        json!({"password": dressed, "box": {"inner": dressed}, "real": real}).as_object().unwrap().clone();
    let paths = ["password".to_owned(), "box".to_owned()];
    assert_eq!(seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap(), Ok(()));
    assert!(object["password"].as_str().is_some_and(could_be_ciphertext), "sealed now");
    // Real ciphertext is still sealed already.
    let again = seal_paths::<()>(&mut object, &["real".to_owned()], keys.sealing_key(), || Ok(IV)).unwrap();
    assert_eq!(again, Err(SealPathError::AlreadySealed("real".into())));
    // Opened, each is the text it was (not opened again as a JWE that is none).
    assert!(open_all(&mut object, &keys).unwrap().is_empty());
    assert_eq!(
        Value::Object(object),
        json!({"password": dressed, "box": {"inner": dressed}, "real": "hunter2"})
    );
}

#[test]
fn open_all_holds_an_opened_value_to_the_depth_a_document_may_have_where_it_sits() {
    // Each part deep enough alone: `get --unseal` printed 121 levels, which `set` refused
    // (bb93 F1).
    let keys = set(vec![key("k", 1)]);
    let nest = |levels: usize, inner: Value| (0..levels).fold(inner, |inner, _| json!([inner]));
    // The value sits under `a` and 30 arrays: 31 levels hold it; a plaintext of 33 arrays
    // would make 64 levels, one of 34 65.
    for (plaintext_levels, opens) in [(33, true), (34, false)] {
        let sealed = seal(&nest(plaintext_levels, json!(1)), keys.sealing_key(), IV);
        let mut object = json!({"a": nest(30, Value::String(sealed))}).as_object().unwrap().clone();
        let opened = open_all(&mut object, &keys);
        assert_eq!(opened.is_ok(), opens, "{plaintext_levels}: {opened:?}");
        if opens {
            let text = serde_json::to_string(&Value::Object(object)).unwrap();
            assert!(crate::domain::CustomData::parse(&text).is_ok(), "what opened is a document `set` takes");
        } else {
            let said = opened.unwrap_err().to_string();
            assert!(
                said.ends_with(
                    "the plaintext is nested 34 levels, and it sits 31 levels down: opened, the document would be nested deeper than 64 levels"
                ),
                "{said}"
            );
        }
    }
}

#[test]
fn a_long_path_is_said_cut_in_every_seal_message() {
    // A 100 KB path made a 100 KB line (bb93 F6).
    let keys = set(vec![key("k", 1)]);
    let long = "k".repeat(5_000);
    let sealed = seal(&json!(1), keys.sealing_key(), IV);
    let mut object = json!({ long.clone(): sealed }).as_object().unwrap().clone();
    let cut = format!("{}… (a path of 5000 characters)", "k".repeat(200));
    for (paths, said) in [
        (vec![long.clone()], format!("{cut}: already sealed")),
        (
            vec![format!("{long}x")],
            format!("{}… (a path of 5001 characters): no such value in the document", "k".repeat(200)),
        ),
    ] {
        let error =
            seal_paths::<()>(&mut object, &paths, keys.sealing_key(), || Ok(IV)).unwrap().unwrap_err();
        assert_eq!(error.to_string(), said);
    }
    let other = set(vec![key("k", 2)]);
    let error = open_all(&mut object, &other).unwrap_err().to_string();
    assert!(error.starts_with(&format!("cannot open {cut}: ")) && error.len() < 600, "{error}");
}
