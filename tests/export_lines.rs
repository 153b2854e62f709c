//! The export writes each line straight into its buffer and copies a stored document that is
//! already in serde_json's compact form: the bytes must be those the parse-and-serialise way
//! writes (the old export), for odd documents and profiles too, and survive a round trip.

mod support;

use std::fs;

use custodian::domain::User;
use custodian::domain::custom_data::parse_object;
use custodian::domain::user_json::is_serde_compact_object;
use custodian::export::user_line;
use custodian::store::UserRecord;
use serde_json::Value;
use support::home::PrivateHome;
use support::run::Run;

/// The export line as the export wrote it before it copied documents: the whole object built
/// and serialised.
fn parsed_and_serialised(record: &UserRecord, document: &str) -> String {
    let data = parse_object(document).expect("a JSON object");
    serde_json::to_string(&record.user.to_logto(Some(&data))).expect("serialises")
}

fn record(profile: &str) -> UserRecord {
    let value: Value = serde_json::from_str(profile).expect("a JSON profile");
    let (user, _) = User::from_logto(value, 1_700_000_000_000).expect("a valid user");
    UserRecord { user, revision: 3, revised_at: 1_700_000_000_001, revised_by: "op".to_owned() }
}

/// Documents the store may hold, each in serde_json's compact form (so the export copies it).
const COMPACT: &[&str] = &[
    r#"{}"#,
    r#"{"a":1}"#,
    r#"{"big":1e400,"huge":12345678901234567890123,"neg0":-0,"negf":-0.0,"E":1E5,"e":2e-7,"p":3E+2,"f":1.50}"#,
    r#"{"k\"q\\b":"\n\t\r\b\f\u0001\u001f","é✓😀":"ünï","/":"a/b"}"#,
    r#"{"nested":{"a":[[],{},[{"b":[null,true,false,""]}]],"b":{"c":{"d":{}}}}}"#,
    r#"{"a":{"x":1},"b":{"x":2}}"#,
];

/// Documents that are JSON but not in serde_json's compact form: parsed and re-serialised.
const NOT_COMPACT: &[&str] = &[
    r#"{ "a": 1 }"#,
    r#"{"a":"\u00e9"}"#,
    r#"{"a":"\/"}"#,
    r#"{"a":"\u000A"}"#,
    r#"{"a":"\u001F"}"#,
    r#"{"a":"\u007f"}"#,
    r#"{"a":[1, 2]}"#,
    "{\"a\":1}\n",
];

const PROFILES: &[&str] = &[
    r#"{"id":"u1"}"#,
    r#"{"id":"u-2_X","username":"ünï\"q","primaryEmail":"a@b.c","primaryPhone":"+1 555","name":"N\u00e9v 😀","avatar":"https://x/y?z=1&w=2","identities":{"github":{"userId":"9","details":{"n":1E3}}},"lastSignInAt":1700000000000,"createdAt":1,"updatedAt":2,"profile":{"givenName":"G","address":{"k\"":"\t"}},"applicationId":"app","isSuspended":true,"zUnknown":{"n":-0,"big":12345678901234567890123,"e":2.5e-3},"key\\with\"escapes\n":[1,"\u0001"],"passwordEncrypted":"hash"}"#,
];

#[test]
fn a_stored_document_in_compact_form_is_copied_and_the_line_is_the_one_parsing_writes() {
    for document in COMPACT {
        assert!(is_serde_compact_object(document), "should be copied: {document}");
        // Parsing and serialising it gives back its very bytes.
        assert_eq!(&serde_json::to_string(&parse_object(document).expect("JSON")).expect("ser"), document);
    }
    for document in NOT_COMPACT {
        assert!(!is_serde_compact_object(document), "must be parsed: {document:?}");
    }
    for not_an_object_or_not_json in
        [r#"[1]"#, r#"{"a":1,"a":2}"#, r#"{"a":01}"#, r#"{"a":1."#, r#"{"a":tru}"#, ""]
    {
        assert!(!is_serde_compact_object(not_an_object_or_not_json), "{not_an_object_or_not_json}");
    }
    for profile in PROFILES {
        let record = record(profile);
        for document in COMPACT.iter().chain(NOT_COMPACT) {
            let line = user_line(&record, document).expect("a line");
            assert_eq!(
                line,
                parsed_and_serialised(&record, document),
                "profile {profile}, document {document:?}"
            );
            assert!(!line.contains("passwordEncrypted"), "{line}");
        }
    }
    // A damaged stored document is still an error, not a line.
    assert!(user_line(&record(PROFILES[0]), r#"{"a":"#).is_err());
}

#[test]
fn an_export_file_of_odd_documents_round_trips_byte_for_byte_and_matches_standard_output() {
    let home = PrivateHome::new(&[]);
    let records: Vec<String> = PROFILES
        .iter()
        .zip(COMPACT.iter().chain(NOT_COMPACT).cycle())
        .map(|(profile, document)| {
            profile.replacen('{', &format!("{{\"customData\":{},", document.trim()), 1)
        })
        .chain(COMPACT.iter().chain(NOT_COMPACT).enumerate().map(|(n, document)| {
            format!(
                "{{\"id\":\"d{n}\",\"username\":\"d{n}\",\"createdAt\":5,\"customData\":{}}}",
                document.trim()
            )
        }))
        .collect();
    let input = home.write("odd.jsonl", &(records.join("\n") + "\n"));
    let first = home.path("first.redb");
    let second = home.path("second.redb");
    home.run_on(&first, &["init"], None).ok();
    home.run_on(&second, &["init"], None).ok();
    home.run_on(&first, &["import", &input], None).ok();
    let exported = home.path("first.jsonl");
    home.run_on(&first, &["export", "--out", &exported.display().to_string()], None).ok();
    let text = fs::read_to_string(&exported).expect("the export");
    assert_eq!(text.lines().count(), records.len());
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(value.get("customData").is_some_and(Value::is_object), "{line}");
        assert!(!line.contains("passwordEncrypted"), "{line}");
    }
    assert_eq!(home.run_on(&first, &["export"], None).ok().stdout, text);
    home.run_on(&second, &["import", &exported.display().to_string()], None).ok();
    let again = home.path("second.jsonl");
    home.run_on(&second, &["export", "--out", &again.display().to_string()], None).ok();
    assert_eq!(fs::read_to_string(&again).expect("the second export"), text);
}

#[test]
fn export_out_makes_its_temporary_file_beside_the_target_not_in_the_working_directory() {
    let home = PrivateHome::new(&[]);
    let db = home.path("users.redb");
    home.run_on(&db, &["init"], None).ok();
    home.run_on(&db, &["seed", "--users", "3"], None).ok();
    let target = home.path("out.jsonl");
    // A working directory nothing can be created in, not even by root: a temporary file made
    // there instead of beside the target fails the export.
    let mut command = home.custodian();
    command.current_dir("/proc").arg("--db").arg(&db).arg("export").arg("--out").arg(&target);
    Run::of(command, None).ok();
    assert_eq!(fs::read_to_string(&target).expect("the export").lines().count(), 3);
}

/// Numbers outside customData (a profile, identities, a field custodian does not know) keep
/// their spelling through import and export, as customData's do: the stored user was read
/// back by serde_json, which writes `1E5` as `1e+5` (bb11). Also through an upsert, which
/// rewrites the stored user.
#[test]
fn numbers_outside_custom_data_keep_their_spelling_through_import_upsert_and_export() {
    let home = PrivateHome::new(&[]);
    let line = r#"{"id":"n1","username":"n1","primaryEmail":null,"primaryPhone":null,"name":null,"avatar":null,"customData":{"a":1E5},"identities":{"x":{"n":2.0e0}},"lastSignInAt":null,"createdAt":1,"updatedAt":2,"profile":{"a":1E5,"b":2.50,"c":-0,"d":1e400,"e":-1E-7},"applicationId":null,"isSuspended":false,"x":{"v":1E+2}}"#;
    let input = home.write("numbers.jsonl", &format!("{line}\n"));
    let db = home.path("numbers.redb");
    home.run_on(&db, &["init"], None).ok();
    home.run_on(&db, &["import", &input], None).ok();
    assert_eq!(home.run_on(&db, &["export"], None).ok().stdout, format!("{line}\n"));
    // An upsert that changes only customData rewrites the stored user from what it read.
    let changed = line.replace(r#""customData":{"a":1E5}"#, r#""customData":{"a":2E5}"#);
    let upsert = home.write("changed.jsonl", &format!("{changed}\n"));
    home.run_on(&db, &["import", "--upsert", &upsert], None).ok();
    let exported = home.run_on(&db, &["export"], None).ok().stdout;
    assert!(exported.contains(r#""profile":{"a":1E5,"b":2.50,"c":-0,"d":1e400,"e":-1E-7}"#), "{exported}");
    assert!(
        exported.contains(r#""identities":{"x":{"n":2.0e0}}"#) && exported.contains(r#""x":{"v":1E+2}"#),
        "{exported}"
    );
}
