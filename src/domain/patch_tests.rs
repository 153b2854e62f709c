//! Unit tests of the patch: parsing, applying as RFC 6902 says, and the report.

use super::*;
use crate::domain::custom_data::DEFAULT_MAX_BYTES;

fn rules() -> PatchRules<'static> {
    PatchRules { limits: Limits::default(), shape: None, allow_sensitive: false, key_order_kept: true }
}

#[test]
fn escaped_paths_reach_keys_with_a_slash_and_a_tilde() {
    let patch =
        JsonPatch::parse(r#"[{"op":"replace","path":"/a~1b","value":1},{"op":"remove","path":"/c~0d"}]"#)
            .expect("a patch");
    let PatchOutcome::Changed { data, .. } = patch.apply(r#"{"a/b":0,"c~d":true}"#, &rules()) else {
        panic!("changed")
    };
    assert_eq!(data.compact(), r#"{"a/b":1}"#);
}

#[test]
fn a_tilde_that_is_not_an_escape_is_refused_with_the_operation() {
    let error = JsonPatch::parse(r#"[{"op":"add","path":"/a~2b","value":1}]"#).expect_err("refused");
    assert!(matches!(error, PatchFileError::BadOperation { index: 0, .. }), "{error}");
}

#[test]
fn a_failed_test_and_a_missing_path_are_reasons_and_a_reorder_is_a_change() {
    let patch =
        JsonPatch::parse(r#"[{"op":"test","path":"/plan","value":"pro"},{"op":"remove","path":"/old"}]"#)
            .expect("a patch");
    let failed = patch.apply(r#"{"plan":"free","old":1}"#, &rules());
    assert_eq!(failed, PatchOutcome::Failed("operation 0 (test \"/plan\"): value did not match".into()));
    let missing = patch.apply(r#"{"plan":"pro"}"#, &rules());
    assert_eq!(missing, PatchOutcome::Failed("operation 1 (remove \"/old\"): path is invalid".into()));
    let same = JsonPatch::parse(r#"[{"op":"test","path":"/plan","value":"pro"}]"#).expect("a patch");
    assert_eq!(same.apply(r#"{"plan":"pro"}"#, &rules()), PatchOutcome::Unchanged);
}

#[test]
fn test_compares_numbers_by_value_and_objects_whatever_their_key_order() {
    let stored = r#"{"n":2,"big":100,"small":0.05,"zero":0,"o":{"a":1,"b":[1.0,2]}}"#;
    for (path, value) in [
        ("/n", "2.0"),
        ("/n", "2e0"),
        ("/n", "20E-1"),
        ("/n", "0.2e1"),
        ("/big", "1e2"),
        ("/big", "1.00e+2"),
        ("/small", "5e-2"),
        ("/small", "0.050"),
        ("/zero", "-0.0e5"),
        ("/o", r#"{"b":[1,2.0],"a":1e0}"#),
    ] {
        let patch =
            JsonPatch::parse(&format!(r#"[{{"op":"test","path":"{path}","value":{value}}}]"#)).unwrap();
        assert_eq!(patch.apply(stored, &rules()), PatchOutcome::Unchanged, "{path} = {value}");
    }
    for (path, value) in
        [("/n", "2.1"), ("/n", "-2"), ("/n", "20"), ("/n", "\"2\""), ("/big", "1e3"), ("/o", r#"{"a":1}"#)]
    {
        let patch =
            JsonPatch::parse(&format!(r#"[{{"op":"test","path":"{path}","value":{value}}}]"#)).unwrap();
        let outcome = patch.apply(stored, &rules());
        assert!(
            matches!(&outcome, PatchOutcome::Failed(r) if r.reason.ends_with("value did not match")),
            "{path} = {value}: {outcome:?}"
        );
    }
    // A test sees what the operations before it did.
    let patch = JsonPatch::parse(
        r#"[{"op":"replace","path":"/n","value":3},{"op":"test","path":"/n","value":3.0},{"op":"remove","path":"/zero"}]"#,
    )
    .unwrap();
    assert!(
        matches!(patch.apply(stored, &rules()), PatchOutcome::Changed { data, .. } if !data.as_object().contains_key("zero"))
    );
}

#[test]
fn remove_and_move_keep_the_order_of_the_keys_they_leave() {
    let stored = r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"o":{"x":1,"y":2,"z":3},"l":[0,1,2]}"#;
    let patched = |ops: &str| match JsonPatch::parse(ops).unwrap().apply(stored, &rules()) {
        PatchOutcome::Changed { data, .. } => data.compact(),
        other => panic!("{ops}: {other:?}"),
    };
    assert_eq!(
        patched(r#"[{"op":"remove","path":"/b"}]"#),
        r#"{"a":1,"c":3,"d":4,"e":5,"o":{"x":1,"y":2,"z":3},"l":[0,1,2]}"#
    );
    // A moved key goes where `add` puts it (the end, for a new key); the rest stay.
    assert_eq!(
        patched(r#"[{"op":"move","from":"/o/x","path":"/o/w"}]"#),
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"o":{"y":2,"z":3,"w":1},"l":[0,1,2]}"#
    );
    assert_eq!(
        patched(r#"[{"op":"move","from":"/a","path":"/l/1"}]"#),
        r#"{"b":2,"c":3,"d":4,"e":5,"o":{"x":1,"y":2,"z":3},"l":[0,1,1,2]}"#
    );
    assert_eq!(
        patched(r#"[{"op":"remove","path":"/l/0"},{"op":"move","from":"/l/1","path":"/l/0"}]"#),
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"o":{"x":1,"y":2,"z":3},"l":[2,1]}"#
    );
    let failed = |ops: &str| match JsonPatch::parse(ops).unwrap().apply(stored, &rules()) {
        PatchOutcome::Failed(failure) => failure.reason,
        other => panic!("{ops}: {other:?}"),
    };
    // RFC 6901: `-` names no element, an index has no leading zero, and must be there.
    for bad in ["/l/-", "/l/01", "/l/+1", "/l/3", "/l/x", "/l/", "/nope", "/a/b", ""] {
        let reason = failed(&format!(r#"[{{"op":"remove","path":"{bad}"}}]"#));
        assert_eq!(reason, format!("operation 0 (remove {bad:?}): path is invalid"));
    }
    assert_eq!(
        failed(r#"[{"op":"move","from":"/o","path":"/o/x/deeper"}]"#),
        r#"operation 0 (move "/o/x/deeper"): cannot move the value inside itself"#
    );
    assert_eq!(
        failed(r#"[{"op":"move","from":"/nope","path":"/b"}]"#),
        r#"operation 0 (move "/b"): "from" path is invalid"#
    );
    // Onto itself: nothing changes, but the value must exist.
    let same = JsonPatch::parse(r#"[{"op":"move","from":"/c","path":"/c"}]"#).unwrap();
    assert_eq!(same.apply(stored, &rules()), PatchOutcome::Unchanged);
    assert_eq!(
        failed(r#"[{"op":"move","from":"/q","path":"/q"}]"#),
        r#"operation 0 (move "/q"): "from" path is invalid"#
    );
    // Keys with escapes.
    let escaped = JsonPatch::parse(r#"[{"op":"remove","path":"/a~1b"}]"#).unwrap();
    assert!(
        matches!(escaped.apply(r#"{"a/b":1,"z":2}"#, &rules()), PatchOutcome::Changed { data, .. } if data.compact() == r#"{"z":2}"#)
    );
}

#[test]
fn numbers_in_the_patch_keep_their_text() {
    for number in ["-0", "1E5", "1e400", "1.50", "12345678901234567890123", "-9223372036854775809", "2e-0"] {
        let patch =
            JsonPatch::parse(&format!(r#"[{{"op":"add","path":"/n","value":{{"deep":[{number}]}}}}]"#))
                .unwrap();
        let PatchOutcome::Changed { data, .. } = patch.apply("{}", &rules()) else { panic!("{number}") };
        assert_eq!(data.compact(), format!(r#"{{"n":{{"deep":[{number}]}}}}"#));
        let replace =
            JsonPatch::parse(&format!(r#"[{{"op":"replace","path":"/n","value":{number}}}]"#)).unwrap();
        let PatchOutcome::Changed { data, .. } = replace.apply(r#"{"n":true}"#, &rules()) else {
            panic!("{number}")
        };
        assert_eq!(data.compact(), format!(r#"{{"n":{number}}}"#));
        let test = JsonPatch::parse(&format!(r#"[{{"op":"test","path":"/n","value":{number}}}]"#)).unwrap();
        assert_eq!(
            test.apply(&format!(r#"{{"n":{number}}}"#), &rules()),
            PatchOutcome::Unchanged,
            "{number}"
        );
    }
}

#[test]
fn an_operation_with_a_key_twice_is_refused_with_its_position() {
    let error =
        JsonPatch::parse("[\n{\"op\":\"remove\",\"path\":\"/a\",\"path\":\"/b\"}\n]").expect_err("refused");
    assert_eq!(
        error.to_string(),
        "line 2, col 28: duplicate key \"path\" in [0]; JSON keeps only one of them"
    );
    let nested =
        JsonPatch::parse(r#"[{"op":"add","path":"/a","value":{"x":1,"x":2}}]"#).expect_err("refused");
    assert!(matches!(nested, PatchFileError::DuplicateKey { ref key, .. } if key == "x"), "{nested}");
}

#[test]
fn a_result_that_is_not_an_object_or_holds_secrets_is_left_alone() {
    let whole = JsonPatch::parse(r#"[{"op":"replace","path":"","value":[1]}]"#).expect("a patch");
    assert!(
        matches!(whole.apply("{}", &rules()), PatchOutcome::Failed(r) if r.reason.contains("JSON object"))
    );
    let secret =
        JsonPatch::parse(r#"[{"op":"add","path":"/password","value":"hunter2hunter2"}]"#).expect("a patch");
    assert!(matches!(secret.apply("{}", &rules()), PatchOutcome::Failed(r) if r.reason.contains("secrets")));
    let allowed = PatchRules { allow_sensitive: true, ..rules() };
    assert!(
        matches!(secret.apply("{}", &allowed), PatchOutcome::Changed { flagged, .. } if !flagged.is_empty())
    );
}

#[test]
fn failures_group_by_reason_with_the_first_few_users() {
    let mut report = PatchReport::new(1);
    for i in 0..5 {
        report.record(&format!("u{i}"), "h", 1, "{}", &PatchOutcome::Failed("same".into()));
    }
    assert_eq!(report.groups.len(), 1);
    assert_eq!(report.groups[0].users, 5);
    assert_eq!(report.groups[0].first, ["u0", "u1", "u2"]);
    assert!(report.summary_lines(false).iter().any(|l| l.contains("same: 5 users (u0, u1, u2 and 2 more)")));
}

#[test]
fn a_result_that_breaks_a_rule_says_why_without_a_position_it_does_not_have() {
    let nul = JsonPatch::parse(r#"[{"op":"add","path":"/x","value":"a\u0000b"}]"#).unwrap();
    let PatchOutcome::Failed(failure) = nul.apply("{}", &rules()) else { panic!("a NUL is refused") };
    assert_eq!(
        failure.reason,
        "the result is not valid customData: \\u0000 in x; PostgreSQL's jsonb refuses NUL characters"
    );
    let shallow = PatchRules { limits: Limits::new(DEFAULT_MAX_BYTES, 2), ..rules() };
    let deep = JsonPatch::parse(r#"[{"op":"add","path":"/x","value":{"y":{"z":1}}}]"#).unwrap();
    assert_eq!(
        deep.apply("{}", &shallow),
        PatchOutcome::Failed("the result is not valid customData: nested deeper than 2 levels".into())
    );
}

#[test]
fn test_needs_the_same_length_and_the_same_keys_both_ways() {
    let stored = r#"{"list":[1,2],"o":{"a":1},"big":1e99999999999999999999,"huge":1e1000000000000000000000000000000000000000000000000,"tiny":-1e-1000000000000000000000000000000000000000000000000}"#;
    for (path, value, equal) in [
        ("/list", "[1,2,3]", false),
        ("/list", "[1]", false),
        ("/list", "[1.0,2e0]", true),
        ("/o", r#"{"a":1,"b":2}"#, false),
        ("/o", "{}", false),
        // An exponent past 64 bits is exact: the same number however written (bb60 F3).
        ("/big", "1e99999999999999999999", true),
        ("/big", "2e99999999999999999999", false),
        ("/big", "10e99999999999999999998", true),
        ("/big", "0.1e+100000000000000000000", true),
        ("/big", "1e099999999999999999999", true),
        ("/big", "1e100000000000000000000", false),
        ("/huge", "1000e999999999999999999999999999999999999999999999997", true),
        ("/huge", "1e999999999999999999999999999999999999999999999999", false),
        ("/tiny", "-0.01e-999999999999999999999999999999999999999999999998", true),
        ("/tiny", "-1e-999999999999999999999999999999999999999999999999", false),
        ("/tiny", "1e-1000000000000000000000000000000000000000000000000", false),
    ] {
        let patch =
            JsonPatch::parse(&format!(r#"[{{"op":"test","path":"{path}","value":{value}}}]"#)).unwrap();
        let outcome = patch.apply(stored, &rules());
        assert_eq!(outcome == PatchOutcome::Unchanged, equal, "{path} = {value}: {outcome:?}");
    }
}

#[test]
fn a_patch_counts_its_operations_and_names_what_is_wrong_with_a_pointer() {
    let patch =
        JsonPatch::parse(r#"[{"op":"add","path":"/a","value":1},{"op":"remove","path":"/b"}]"#).unwrap();
    assert_eq!(patch.len(), 2);
    assert!(!patch.is_empty());
    let error = JsonPatch::parse(r#"[{"op":"add","path":"a","value":1}]"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"operation 0 of the patch is not an RFC 6902 operation: path "a": a JSON Pointer starts with "/" (or is "" for the whole document)"#
    );
    let error = JsonPatch::parse(r#"[{"op":"move","from":"/x~2","path":"/y"}]"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"operation 0 of the patch is not an RFC 6902 operation: from "/x~2": "~" must be followed by 0 (for ~) or 1 (for /)"#
    );
}

#[test]
fn a_result_that_breaks_the_schema_is_left_alone_and_one_that_keeps_it_is_changed() {
    let shape = Shape::compile(r#"{"properties": {"plan": {"enum": ["free", "team"]}}}"#).unwrap();
    let rules = PatchRules { shape: Some(&shape), ..rules() };
    let to = |plan: &str| {
        JsonPatch::parse(&format!(r#"[{{"op":"replace","path":"/plan","value":"{plan}"}}]"#)).unwrap()
    };
    assert!(
        matches!(to("gold").apply(r#"{"plan":"free"}"#, &rules), PatchOutcome::Failed(r) if r.reason.starts_with("the result does not satisfy the schema: plan: \"gold\" is not one of")),
    );
    assert!(matches!(to("team").apply(r#"{"plan":"free"}"#, &rules), PatchOutcome::Changed { .. }));
}

#[test]
fn the_report_counts_every_outcome_and_keeps_only_the_first_samples_and_flags() {
    let mut report = PatchReport::new(2);
    let secret = JsonPatch::parse(r#"[{"op":"add","path":"/password","value":"hunter2hunter2"}]"#).unwrap();
    let allowed = PatchRules { allow_sensitive: true, ..rules() };
    for i in 0..5 {
        let outcome = secret.apply("{}", &allowed);
        report.record(&format!("u{i}"), "h", 1, "{}", &outcome);
    }
    report.record("u5", "h", 1, "{}", &PatchOutcome::Unchanged);
    for i in 6..9 {
        report.record(&format!("u{i}"), "h", 1, "{}", &PatchOutcome::Failed("why".into()));
    }
    assert_eq!((report.matched, report.changed, report.unchanged, report.failed), (9, 5, 1, 3));
    assert_eq!(report.flagged_users, 5);
    let flagged: Vec<&str> = report.flagged.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(flagged, ["u0", "u1", "u2"], "the first three flagged users are named");
    let sampled: Vec<&str> = report.samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sampled, ["u0", "u1"], "only the first sample_size changed users keep their documents");
}

#[test]
fn reasons_past_the_twentieth_share_one_group_and_the_first_failure_is_the_first_user() {
    let mut report = PatchReport::new(0);
    assert_eq!(report.first_failure(), None);
    for i in 0..25 {
        report.record(
            &format!("u{i}"),
            "h",
            1,
            "{}",
            &PatchOutcome::Failed(format!("reason {i}").as_str().into()),
        );
    }
    // The same reason again joins its group, wherever it is.
    report.record("again", "h", 1, "{}", &PatchOutcome::Failed("reason 3".into()));
    report.record("later", "h", 1, "{}", &PatchOutcome::Failed("reason 24".into()));
    assert_eq!(report.groups.len(), 21);
    assert_eq!(report.groups[3].first, ["u3", "again"]);
    let other = &report.groups[20];
    assert_eq!((other.reason.as_str(), other.users), ("other reasons", 6));
    assert_eq!(other.first, ["u20", "u21", "u22"]);
    assert_eq!(report.reasons().get("reason 0"), Some(&1));
    assert_eq!(report.first_failure(), Some(("u0", "reason 0")));
    let lines = report.summary_lines(true);
    assert_eq!(lines[0], "27 users matched");
    assert_eq!(lines[1], "  0 users changed");
    assert_eq!(lines[3], "  27 users cannot be patched (left as they are)");
    assert!(lines.contains(&"    other reasons: 6 users (u20, u21, u22 and 3 more)".to_owned()), "{lines:?}");
    // The users left over are counted as every other count is (bb61 F6: `and 114284 more`).
    for n in 0..1_234 {
        report.record(&format!("m{n}"), "h", 1, "{}", &PatchOutcome::Failed("many".into()));
    }
    let lines = report.summary_lines(true);
    assert!(
        lines.iter().any(|l| l.ends_with("other reasons: 1,240 users (u20, u21, u22 and 1,237 more)")),
        "{lines:?}"
    );
    assert!(lines.contains(&"    reason 0: 1 user (u0)".to_owned()), "{lines:?}");
    assert_eq!(report.summary_lines(false)[1], "  0 users would change");
}

#[test]
fn where_the_store_keeps_no_key_order_a_reorder_is_no_change_and_the_result_keeps_the_stored_order() {
    // PostgreSQL's jsonb: "set plan" as remove then add counted a user whose plan was already
    // that as changed, with a diff of moved lines, and `--yes` then wrote nothing for them.
    let set_plan =
        JsonPatch::parse(r#"[{"op":"remove","path":"/plan"},{"op":"add","path":"/plan","value":"team"}]"#)
            .expect("a patch");
    let jsonb = PatchRules { key_order_kept: false, ..rules() };
    let stored = r#"{"plan":"team","theme":"dark","n":{"b":1,"a":2}}"#;
    assert_eq!(set_plan.apply(stored, &jsonb), PatchOutcome::Unchanged);
    assert!(
        matches!(set_plan.apply(stored, &rules()), PatchOutcome::Changed { .. }),
        "a reorder is a change on redb"
    );
    // Nested objects too.
    let nested = JsonPatch::parse(r#"[{"op":"remove","path":"/n/b"},{"op":"add","path":"/n/b","value":1}]"#)
        .expect("a patch");
    assert_eq!(nested.apply(stored, &jsonb), PatchOutcome::Unchanged);
    // A real change: the stored keys in their order, the new value in its place, new keys after.
    let to_pro = JsonPatch::parse(
        r#"[{"op":"remove","path":"/plan"},{"op":"add","path":"/plan","value":"pro"},{"op":"add","path":"/new","value":1}]"#,
    )
    .expect("a patch");
    let PatchOutcome::Changed { data, .. } = to_pro.apply(stored, &jsonb) else { panic!("changed") };
    assert_eq!(data.compact(), r#"{"plan":"pro","theme":"dark","n":{"b":1,"a":2},"new":1}"#);
}

#[test]
fn a_fingerprint_is_the_user_and_the_document_whatever_the_layout_of_its_text() {
    let compact = r#"{"plan":"free","tags":["a b","c\"d"],"n":{"x":1}}"#;
    let indented =
        "{\n  \"plan\": \"free\",\n  \"tags\": [\r\n    \"a b\",\t\"c\\\"d\"\n  ],\n  \"n\": {\"x\": 1}\n}";
    let jsonb = r#"{"n": {"x": 1}, "plan": "free", "tags": ["a b", "c\"d"]}"#;
    let of = |text: &str| changed_fingerprint("u1", text);
    assert_eq!(of(compact), of(indented));
    // Another user, a value written since, space inside a string, keys in another order: not.
    assert_ne!(of(compact), changed_fingerprint("u2", compact));
    assert_ne!(of(compact), of(&compact.replace("free", "team")));
    assert_ne!(of(compact), of(&compact.replace("a b", "ab")));
    assert_ne!(of(compact), of(&compact.replace("c\\\"d", "c\\\" d")));
    assert_ne!(of(compact), of(jsonb));
    // The user alone is no user with a document, not even the least one.
    assert_ne!(reviewed_user_fingerprint("u1"), of("{}"));
    assert_eq!(reviewed_user_fingerprint("u1"), of(""));
}

/// Copies that double the document stop once it grows past four times the limit, at the copy
/// that did it (twenty copies of `""` took 4 GB and aborted: bb25 P06); a copy that goes over
/// the limit on the way, and back under it by the end, is a patch like any other.
#[test]
fn copies_that_keep_doubling_the_document_stop_at_the_copy_that_grows_it_past_four_times_the_limit() {
    let doubling: Vec<String> =
        (0..20).map(|i| format!(r#"{{"op":"copy","from":"","path":"/c{i}"}}"#)).collect();
    let patch = JsonPatch::parse(&format!("[{}]", doubling.join(","))).expect("a patch");
    let PatchOutcome::Failed(reason) = patch.apply(r#"{"seed":"0123456789"}"#, &rules()) else {
        panic!("it cannot apply")
    };
    assert_eq!(
        reason.reason,
        r#"operation 17 (copy "/c17"): the document grew past 4 MiB compact; no document this large can be saved"#
    );
    let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(600 * 1024));
    let moved = JsonPatch::parse(r#"[{"op":"copy","from":"/a","path":"/b"},{"op":"remove","path":"/a"}]"#)
        .expect("a patch");
    assert!(matches!(moved.apply(&big, &rules()), PatchOutcome::Changed { .. }));
}

/// Users breaking one rule with values of their own (the schema's minimum, the size limit,
/// the secrets lint) are one group, said by the first user's reason; reasons that are rules
/// of their own stay apart (bb25 P07: one schema rule made twenty groups and "other reasons").
#[test]
fn failures_of_one_rule_with_values_of_their_own_are_one_group() {
    let shape = Shape::compile(r#"{"properties": {"age": {"minimum": 18}}}"#).unwrap();
    let small = Limits::new(64, 8);
    let rules = PatchRules { shape: Some(&shape), limits: small, ..rules() };
    let mark = JsonPatch::parse(r#"[{"op":"add","path":"/seen","value":true}]"#).unwrap();
    let mut report = PatchReport::new(0);
    let mut apply = |id: String, stored: String| {
        let outcome = mark.apply(&stored, &rules);
        report.record(&id, "h", 1, &stored, &outcome);
    };
    for age in 0..18 {
        apply(format!("young{age}"), format!(r#"{{"age":{age}}}"#));
    }
    for length in 50..80 {
        apply(format!("long{length}"), format!(r#"{{"note":"{}"}}"#, "x".repeat(length)));
    }
    for key in ["password", "clientSecret"] {
        apply(format!("secret-{key}"), format!(r#"{{"{key}":"hunter2hunter2"}}"#));
    }
    let said: Vec<(String, u64)> = report.groups.iter().map(|g| (g.said(), g.users)).collect();
    assert_eq!(
        said,
        [
            (
                "the result does not satisfy the schema: age: 0 is less than the minimum of 18 (so for young0; the others alike)"
                    .to_owned(),
                18
            ),
            (
                "the result is not valid customData: the document is 73 B but the limit is 64 B (so for long50; the others alike)"
                    .to_owned(),
                30
            ),
            (
                "the result looks like it holds secrets at password (customData reaches front ends; --allow-sensitive stores it) (so for secret-password; the others alike)"
                    .to_owned(),
                2
            ),
        ]
    );
    // Reasons with nothing of the user's own in them: one group each, said as they are.
    let mut report = PatchReport::new(0);
    let test =
        |value: u32| JsonPatch::parse(&format!(r#"[{{"op":"test","path":"/n","value":{value}}}]"#)).unwrap();
    for (id, patch) in [("a", test(1)), ("b", test(1)), ("c", test(2))] {
        let outcome = patch.apply(r#"{"n":0}"#, &rules);
        report.record(id, "h", 1, r#"{"n":0}"#, &outcome);
    }
    let said: Vec<(String, u64)> = report.groups.iter().map(|g| (g.said(), g.users)).collect();
    assert_eq!(
        said,
        [("operation 0 (test \"/n\"): value did not match".to_owned(), 3),],
        "one patch, one failing operation: the value tested is the patch's, not the user's"
    );
}

/// A long reason (a schema error at a 1,000-character key) is cut, and its line keeps the
/// count and the ids: cutting the whole line lost them (bb28 R02).
#[test]
fn a_long_reason_is_cut_and_its_count_and_ids_stay() {
    let mut report = PatchReport::new(0);
    let reason =
        format!("the result does not satisfy the schema: K{}: 5 is not of type \"string\"", "z".repeat(1000));
    for id in ["v05", "v35"] {
        report.record(id, "h", 1, "{}", &PatchOutcome::Failed(reason.as_str().into()));
    }
    let lines = report.summary_lines(false);
    let line = lines.last().expect("the group's line");
    assert!(line.ends_with("…: 2 users (v05, v35)"), "{line}");
    assert!(line.chars().count() < 400, "{} columns", line.chars().count());
}

/// A user who already broke the schema is named by the error the patch makes, with a count of
/// the others: the old error alone read as "the data is bad, the patch is fine" (bb28 R06).
#[test]
fn a_result_is_named_by_the_schema_error_the_patch_makes_and_the_count_of_the_rest() {
    let shape = Shape::compile(
        r#"{"additionalProperties": {"type": "string"}, "properties": {"touched": {"const": false}}}"#,
    )
    .unwrap();
    let rules = PatchRules { shape: Some(&shape), ..rules() };
    let touch = JsonPatch::parse(r#"[{"op":"add","path":"/touched","value":true}]"#).unwrap();
    let reason = |stored: &str| match touch.apply(stored, &rules) {
        PatchOutcome::Failed(failure) => (failure.rule, failure.reason),
        other => panic!("{stored}: {other:?}"),
    };
    // Broke it before (K00, K01): named by `touched`, the patch's own.
    let (rule, said) = reason(r#"{"K00":0,"K01":1}"#);
    assert_eq!(rule, "the schema's rule at /properties/touched/const");
    assert!(said.starts_with("the result does not satisfy the schema: touched: "), "{said}");
    assert!(said.ends_with(" (and 2 more errors)"), "{said}");
    // A new error of a rule the user already broke elsewhere is the patch's own too.
    let same_rule = JsonPatch::parse(r#"[{"op":"add","path":"/K09","value":9}]"#).unwrap();
    match same_rule.apply(r#"{"K00":0}"#, &rules) {
        PatchOutcome::Failed(failure) => {
            assert!(failure.reason.contains("K09: 9 is not of type"), "{}", failure.reason);
            assert!(failure.reason.ends_with("(and 1 more error)"), "{}", failure.reason);
        }
        other => panic!("{other:?}"),
    }
    // Satisfied it before: its one error, as ever.
    let (_, said) = reason(r#"{"name":"x"}"#);
    assert!(
        said.starts_with("the result does not satisfy the schema: touched: ") && !said.contains("more error")
    );
    // Every error old (the patch adds none): the first, counted.
    let keep = JsonPatch::parse(r#"[{"op":"add","path":"/note","value":"x"}]"#).unwrap();
    match keep.apply(r#"{"K00":0,"K01":1}"#, &rules) {
        PatchOutcome::Failed(failure) => {
            assert!(
                failure.reason.contains("K00: 0 is not of type")
                    && failure.reason.ends_with("(and 1 more error)")
            )
        }
        other => panic!("{other:?}"),
    }
}
