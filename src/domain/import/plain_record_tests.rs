//! The plain record's short way ([`RecordRules::read_plain_record`]: no map of the record
//! built) reads every record it takes as the general reading does, errors included, and leaves
//! every other record to the general reading.

use super::*;

/// What reading `raw` gives, the fields given aside (only an upsert keeps them, and only the
/// general reading reads them), and an id made for a record without one (each is random).
fn read(rules: RecordRules, raw: &str) -> Result<(User, Option<String>, usize), String> {
    rules
        .parse_record_for_test(raw)
        .map(|mut new| {
            if !raw.contains(r#""id""#) {
                assert_eq!(new.user.id.len(), 12, "an id is made");
                new.user.id.clear();
            }
            (new.user, new.custom_data.map(|data| data.compact_text().to_owned()), new.parsed_bytes)
        })
        .map_err(|e| format!("{}: {}", e.origin, e.reason))
}

fn rules(keep_fields: bool) -> RecordRules {
    RecordRules::new(Limits::default(), 1_700_000_000_000).keeping_fields(keep_fields)
}

/// Whether `rules` read `raw` the short way, as the reading does: after the record's scan.
fn short_way(rules: &RecordRules, raw: &str) -> bool {
    let mut notes = ScanNotes::default();
    rules.scan_record(raw, &mut notes);
    rules.read_plain_record(raw, "line 1", notes).is_some()
}

fn takes_the_short_way(raw: &str) -> bool {
    short_way(&rules(false), raw)
}

#[test]
fn a_plain_record_read_the_short_way_is_what_the_general_reading_gives() {
    let big = format!(r#"{{"id":"big","customData":{{"s":"{}"}}}}"#, "x".repeat(1_100_000));
    let records = [
        // An exported user, as `export` writes it.
        r#"{"id":"bupxq3a8ruh5","username":"aalvarez101923","primaryEmail":"amelia@mail.example","primaryPhone":null,"name":"Amelia Álvarez","avatar":null,"customData":{"plan":{"tier":"free","seats":14},"featureFlags":["a","b"]},"identities":{},"lastSignInAt":1762942284777,"createdAt":1758457626287,"updatedAt":1762939450782,"profile":{},"applicationId":null,"isSuspended":false}"#,
        // Fields left out, white space, escapes, numbers serde_json keeps as written.
        r#" { "username" : "b\u00e9a" , "customData" : { "k\"q" : [1.50, -0, 12345678901234567890123, {"n": null}] } } "#,
        r#"{"name":"only a name","customData":null,"isSuspended":true,"profile":{"a":{"b":[]}}}"#,
        r#"{"primaryPhone":"+1 555","customData":{}}"#,
        // An `e` after a digit in a string, and in `true` and `false`, is no exponent.
        r#"{"id":"u1e5","customData":{"v":"1e5","t":true,"f":false,"2e":[0]}}"#,
        // Errors: the same words either way.
        r#"{"id":"a b"}"#,
        r#"{"id":"u1","username":5}"#,
        r#"{"id":"u1","customData":[1]}"#,
        r#"{"id":"u1","customData":"text"}"#,
        r#"{"id":"u1","isSuspended":"yes"}"#,
        r#"{"id":"u1","createdAt":-5}"#,
        r#"{"id":"u1","identities":[]}"#,
        &big,
    ];
    for raw in records {
        assert!(takes_the_short_way(raw), "{raw:.80}");
        assert_eq!(read(rules(false), raw), read(rules(true), raw), "{raw:.80}");
    }
}

#[test]
fn every_other_record_is_left_to_the_general_reading() {
    for raw in [
        // A field kept as written, a raw row, a credential, a tenant, a misspelling.
        r#"{"id":"u1","hasPassword":true}"#,
        r#"{"id":"u1","custom_data":{}}"#,
        r#"{"id":"u1","passwordEncrypted":"$argon2"}"#,
        r#"{"id":"u1","tenantId":"t1"}"#,
        r#"{"id":"u1","custom_Data":{}}"#,
        // A number serde_json would spell otherwise.
        r#"{"id":"u1","customData":{"n":1e5}}"#,
        r#"{"id":"u1","customData":{"n":[-2.5E-3]}}"#,
        // Naming no one, blank, or no object at all; broken.
        r#"{"avatar":null}"#,
        r#"{"name":"  "}"#,
        r#"[1]"#,
        r#"{"id":"u1""#,
    ] {
        assert!(!takes_the_short_way(raw), "{raw}");
        assert!(!short_way(&rules(true), raw), "{raw}");
    }
    // An upsert reads the fields given: always the general way.
    assert!(!short_way(&rules(true), r#"{"id":"u1"}"#));
}
