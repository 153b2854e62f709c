//! The two shapes a Logto user arrives in, and what is taken out of both before anything else
//! looks at a record: the Management API's camelCase object, and a raw row of Logto's `users`
//! table (`select row_to_json(u) from users u`: snake_case columns, `timestamptz` as text).
//! The shape is recognised per record; a raw row is renamed to the API's fields.
//!
//! Credentials are never imported, in either shape: a password hash, its method, TOTP secrets
//! (`mfa_verifications`) and Logto's own per-user configuration are dropped here, so they reach
//! neither the store nor an export. `tenant_id` is taken out too: the caller decides whether
//! the record belongs to the tenant being imported.

use serde_json::{Map, Value};

use super::time::parse_timestamptz;
use super::user::{LATEST_MILLIS, json_type_name};

/// The fields that hold credentials, as (API field, table column). Besides the table's own:
/// the hash and its algorithm as Logto's API carries them (`POST /api/users` takes them to
/// migrate hashed passwords, and `GET /api/users?includePasswordHash=true` gives them), and the
/// plaintext `password` that `POST /api/users` takes; each was kept as an unknown field and
/// exported (bb46 F1).
pub const CREDENTIAL_FIELDS: [(&str, &str); 7] = [
    ("passwordEncrypted", "password_encrypted"),
    ("passwordEncryptionMethod", "password_encryption_method"),
    ("mfaVerifications", "mfa_verifications"),
    ("logtoConfig", "logto_config"),
    ("passwordDigest", "password_digest"),
    ("passwordAlgorithm", "password_algorithm"),
    ("password", "password"),
];

/// Whether `key` names a credential field, in either shape.
pub fn is_credential(key: &str) -> bool {
    CREDENTIAL_FIELDS.iter().any(|(api, column)| key == *api || key == *column)
}

/// The columns of Logto's `users` table whose API name differs, as (column, API field). Columns
/// spelled the same in both (`id`, `username`, `name`, `avatar`, `profile`, `identities`) need
/// no renaming.
const RENAMED_COLUMNS: [(&str, &str); 16] = [
    ("tenant_id", "tenantId"),
    ("primary_email", "primaryEmail"),
    ("primary_phone", "primaryPhone"),
    ("password_encrypted", "passwordEncrypted"),
    ("password_encryption_method", "passwordEncryptionMethod"),
    ("application_id", "applicationId"),
    ("cimd_client_id", "cimdClientId"),
    ("custom_data", "customData"),
    ("logto_config", "logtoConfig"),
    ("mfa_verifications", "mfaVerifications"),
    ("is_suspended", "isSuspended"),
    ("is_password_expired", "isPasswordExpired"),
    ("last_sign_in_at", "lastSignInAt"),
    ("password_updated_at", "passwordUpdatedAt"),
    ("created_at", "createdAt"),
    ("updated_at", "updatedAt"),
];

/// Columns that are `timestamptz`: text in a raw row, epoch milliseconds in the API's shape.
const TIMESTAMP_COLUMNS: [&str; 4] = ["last_sign_in_at", "password_updated_at", "created_at", "updated_at"];

/// What was taken out of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// The credential fields the record held, as it spelled them.
    pub credentials: Vec<&'static str>,
    /// Its tenant (`tenant_id` or `tenantId`), when it named one.
    pub tenant: Option<String>,
    /// The raw row's columns renamed to the API's fields, as (column, field).
    pub renamed: Vec<(&'static str, &'static str)>,
}

impl Taken {
    /// `reason`, refusing one of the record's values by its API name, with the names the
    /// record has: a raw row's refusals named `primaryEmail`, `isSuspended` where the file
    /// says `primary_email`, `is_suspended` (bb83 F3).
    pub fn in_the_records_names(&self, reason: String) -> String {
        self.renamed.iter().fold(reason, |reason, (column, field)| {
            reason.replace(&format!("`{field}`"), &format!("`{column}`"))
        })
    }
}

/// Whether a credential field holds anything: a hash, a method, an MFA factor, a setting.
fn holds_something(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Whether [`take_shape`] acts on a field named `key`: a raw row's column (each holds a `_`:
/// no lookup in the lists for most keys), a credential, the tenant.
fn is_shaped(key: &str) -> bool {
    key.as_bytes().contains(&b'_') || is_credential(key) || key == "tenantId"
}

/// Renames a raw row's columns to the API's fields, converts its timestamps, and takes out
/// credentials and the tenant. Refuses a record that spells one field both ways (which of the
/// two is meant cannot be known) and a `custom_data` that is not an object.
pub fn take_shape(map: &mut Map<String, Value>) -> Result<Taken, String> {
    // Most records (every line of an export) hold none of the fields shaped: one pass over
    // their keys instead of 41 lookups by hash (SipHash: ~10 % of an import's reading thread).
    if !map.keys().any(|key| is_shaped(key)) {
        return Ok(Taken::default());
    }
    for (column, field) in RENAMED_COLUMNS {
        if map.contains_key(column) && map.contains_key(field) {
            return Err(format!(
                "both `{field}` and `{column}`: a record is either Logto's API object (camelCase) or a row of its users table (snake_case), not both"
            ));
        }
    }
    let mut taken = Taken::default();
    for (api, column) in CREDENTIAL_FIELDS {
        for name in [api, column] {
            // Every raw row has these columns: only one that holds something is a credential
            // dropped (`null`, `[]`, `{}` and "" are said of no one).
            if map.shift_remove(name).is_some_and(|value| holds_something(&value)) {
                taken.credentials.push(name);
            }
        }
    }
    for (column, field) in RENAMED_COLUMNS {
        let Some(value) = map.shift_remove(column) else { continue };
        let value = match value {
            Value::String(text) if TIMESTAMP_COLUMNS.contains(&column) => match parse_timestamptz(&text) {
                Some(ms @ 0..=LATEST_MILLIS) => Value::from(ms),
                // After the year 9999 in UTC only (`9999-12-31 23:59:59.999-01`): said as written,
                // not as the milliseconds it reads as, which the file never held (bb83 F3).
                Some(ms) if ms > LATEST_MILLIS => {
                    return Err(format!(
                        "`{column}` {text:?} is after the year 9999 (at most 9999-12-31 23:59:59.999+00)"
                    ));
                }
                // Said as what it is, as the camelCase field's are: a year 10000 read "not …
                // from 1970 on", as if too early (bb71 F5).
                Some(_) => {
                    return Err(format!(
                        "`{column}` {text:?} is before 1970 (times are kept from 1970-01-01 00:00:00 UTC on)"
                    ));
                }
                // A year of five digits or more before the date's first dash; digits alone
                // are no date (epoch seconds written as text read "after the year 9999": bb81 F4).
                None if text
                    .split_once('-')
                    .is_some_and(|(year, _)| year.len() > 4 && year.bytes().all(|b| b.is_ascii_digit())) =>
                {
                    return Err(format!(
                        "`{column}` {text:?} is after the year 9999 (at most 9999-12-31 23:59:59.999+00)"
                    ));
                }
                // A date or a time of day that does not exist (`2024-02-30`, `23:59:60`) too: it
                // read as a missing time zone (bb76 F5).
                None => {
                    return Err(format!(
                        "`{column}` {text:?} is not a timestamp with a time zone that custodian reads: a date and a time of day that exist, and an offset (such as 2024-01-01T00:00:00.123+00:00)"
                    ));
                }
            },
            Value::Object(_) | Value::Null => value,
            other if column == "custom_data" => {
                return Err(format!("`custom_data` must be a JSON object, not {}", json_type_name(&other)));
            }
            other => other,
        };
        map.insert(field.to_owned(), value);
        taken.renamed.push((column, field));
    }
    match map.shift_remove("tenantId") {
        None | Some(Value::Null) => {}
        Some(Value::String(tenant)) => taken.tenant = Some(tenant),
        Some(other) => return Err(format!("the tenant must be a string, not {}", json_type_name(&other))),
    }
    Ok(taken)
}

/// The tenant a record names (`tenant_id` or `tenantId`, a string), read alone: for a record
/// refused otherwise, to tell whether `--tenant` skips it anyway. `None` when it names none or
/// is no JSON object.
pub fn tenant_of(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tenant {
        tenant_id: Option<String>,
        #[serde(rename = "tenantId")]
        tenant_api: Option<String>,
    }
    let read: Tenant = serde_json::from_str(raw).ok()?;
    read.tenant_id.or(read.tenant_api)
}

/// The tenant a record names as its first field (`tenant_id` or `tenantId`, as
/// `row_to_json` writes a row of Logto's `users`), read from the start of its text alone: for a
/// record too long to be read whole. `None` when its first field is another.
pub fn tenant_named_first(start: &[u8]) -> Option<String> {
    struct FirstField<'a>(&'a std::cell::RefCell<Option<String>>);
    impl<'de> serde::de::Visitor<'de> for FirstField<'_> {
        type Value = ();

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            if let Some(key) = map.next_key::<String>()?
                && (key == "tenant_id" || key == "tenantId")
            {
                *self.0.borrow_mut() = Some(map.next_value::<String>()?);
            }
            // The rest is not read: the text is cut short.
            Err(serde::de::Error::custom("first field read"))
        }
    }
    let tenant = std::cell::RefCell::new(None);
    let _ = serde::Deserializer::deserialize_map(
        &mut serde_json::Deserializer::from_slice(start),
        FirstField(&tenant),
    );
    tenant.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The pass that spares most records the lookups must see every field shaping acts on.
    #[test]
    fn every_field_shaped_is_seen_by_the_first_pass() {
        for (column, field) in RENAMED_COLUMNS {
            assert!(is_shaped(column), "{column}");
            let (taken, shaped) = shape(json!({"id": "u1", column: null}));
            assert!(taken.is_ok(), "{column}");
            // Renamed, unless taken out after (a credential, the tenant).
            let taken_out = is_credential(field) || field == "tenantId";
            assert!(shaped.get(column).is_none(), "{column}: {shaped}");
            assert_eq!(shaped.get(field).is_some(), !taken_out, "{column}: {shaped}");
        }
        for (api, column) in CREDENTIAL_FIELDS {
            assert!(is_shaped(api) && is_shaped(column), "{api}");
        }
        assert!(is_shaped("tenantId"));
        let (taken, shaped) = shape(json!({"id": "u1", "passwordEncrypted": "hash", "tenantId": "t"}));
        let taken = taken.expect("taken");
        assert_eq!((taken.credentials, taken.tenant.as_deref()), (vec!["passwordEncrypted"], Some("t")));
        assert_eq!(shaped, json!({"id": "u1"}));
        for key in ["id", "customData", "primaryEmail", "isSuspended", "hasPassword"] {
            assert!(!is_shaped(key), "{key}");
        }
    }

    fn shape(value: Value) -> (Result<Taken, String>, Value) {
        let Value::Object(mut map) = value else { panic!("an object") };
        let taken = take_shape(&mut map);
        (taken, Value::Object(map))
    }

    #[test]
    fn a_raw_row_is_renamed_and_its_timestamps_read() {
        let (taken, map) = shape(json!({
            "tenant_id": "default", "id": "u1", "primary_email": "a@example.com",
            "custom_data": {"plan": "pro"}, "is_suspended": false,
            "created_at": "2024-01-01T00:00:00.123+00:00", "updated_at": "2024-01-01 00:00:01+00",
            "last_sign_in_at": null, "password_encrypted": "$argon2i$v=19$m=4096,t=10,p=1$x$y",
            "password_encryption_method": "Argon2i", "mfa_verifications": [{"type": "Totp", "key": "K"}],
            "logto_config": {}
        }));
        let taken = taken.expect("accepted");
        assert_eq!(taken.tenant.as_deref(), Some("default"));
        // `logto_config` is `{}`: nothing dropped there.
        assert_eq!(
            taken.credentials,
            ["password_encrypted", "password_encryption_method", "mfa_verifications"]
        );
        assert_eq!(
            map,
            json!({"id": "u1", "primaryEmail": "a@example.com", "customData": {"plan": "pro"},
                   "isSuspended": false, "lastSignInAt": null, "createdAt": 1_704_067_200_123_i64,
                   "updatedAt": 1_704_067_201_000_i64})
        );
    }

    #[test]
    fn credentials_are_taken_out_of_the_api_shape_too() {
        let (taken, map) = shape(json!({"id": "u1", "passwordEncrypted": "h", "mfaVerifications": [{}]}));
        assert_eq!(taken.expect("accepted").credentials, ["passwordEncrypted", "mfaVerifications"]);
        assert_eq!(map, json!({"id": "u1"}));
    }

    #[test]
    fn empty_credential_fields_are_taken_out_and_said_of_no_one() {
        // Every raw row carries them: import said it dropped the credentials of every user.
        let (taken, map) = shape(json!({
            "id": "u1", "password_encrypted": null, "password_encryption_method": "",
            "mfa_verifications": [], "logto_config": {}
        }));
        assert_eq!(taken.expect("accepted").credentials, [""; 0]);
        assert_eq!(map, json!({"id": "u1"}));
        let (taken, _) = shape(json!({"logtoConfig": {"passkeySignIn": true}, "mfa_verifications": false}));
        assert_eq!(taken.expect("accepted").credentials, ["mfa_verifications", "logtoConfig"]);
    }

    #[test]
    fn one_field_in_both_shapes_is_refused() {
        let (taken, _) = shape(json!({"customData": {}, "custom_data": {}}));
        assert!(taken.expect_err("refused").starts_with("both `customData` and `custom_data`"));
        let (taken, _) = shape(json!({"passwordEncrypted": "h", "password_encrypted": "h"}));
        assert!(taken.is_err());
    }

    #[test]
    fn custom_data_that_is_not_an_object_is_refused() {
        let (taken, _) = shape(json!({"custom_data": "{\"plan\":\"pro\"}"}));
        assert_eq!(taken.expect_err("refused"), "`custom_data` must be a JSON object, not a string");
    }

    #[test]
    fn a_timestamp_that_cannot_be_read_is_refused() {
        let (taken, _) = shape(json!({"created_at": "yesterday"}));
        assert!(taken.expect_err("refused").starts_with("`created_at` \"yesterday\" is not a timestamp"));
    }

    #[test]
    fn the_tenant_named_first_is_read_from_a_records_start_alone() {
        assert_eq!(
            tenant_named_first(br#"{"tenant_id": "admin", "id": "x", "custom_data": {"blob": "yy"#),
            Some("admin".into())
        );
        assert_eq!(tenant_named_first(br#" {"tenantId":"t1","id""#), Some("t1".into()));
        assert_eq!(tenant_named_first(br#"{"id": "x", "tenant_id": "admin""#), None, "not its first field");
        assert_eq!(tenant_named_first(br#"{"tenant_id": 7, "#), None);
        assert_eq!(tenant_named_first(b"[1, 2"), None);
    }

    #[test]
    fn a_timestamp_before_1970_is_refused_and_the_epoch_itself_is_read() {
        let (taken, _) = shape(json!({"created_at": "1969-12-31T23:59:59.999+00:00"}));
        assert_eq!(
            taken.expect_err("refused"),
            "`created_at` \"1969-12-31T23:59:59.999+00:00\" is before 1970 (times are kept from 1970-01-01 00:00:00 UTC on)"
        );
        // After the year 9999, as the camelCase field says it (it read "not … from 1970 on": bb71 F5).
        let (taken, _) = shape(json!({"created_at": "10000-01-01 00:00:00+00"}));
        assert_eq!(
            taken.expect_err("refused"),
            "`created_at` \"10000-01-01 00:00:00+00\" is after the year 9999 (at most 9999-12-31 23:59:59.999+00)"
        );
        // After it only in UTC: said as written, not as milliseconds the file never held (bb83 F3).
        let (taken, _) = shape(json!({"updated_at": "9999-12-31 23:59:59.999999-01"}));
        assert_eq!(
            taken.expect_err("refused"),
            "`updated_at` \"9999-12-31 23:59:59.999999-01\" is after the year 9999 (at most 9999-12-31 23:59:59.999+00)"
        );
        let (taken, _) = shape(json!({"updated_at": "9999-12-31 23:59:59.999+00"}));
        assert!(taken.is_ok(), "the last millisecond is kept: {taken:?}");
        // Epoch seconds or milliseconds written as text are no date at all (bb81 F4).
        for digits in ["1704164645", "1704164645123"] {
            let (taken, _) = shape(json!({ "created_at": digits }));
            let refused = taken.expect_err("refused");
            assert!(refused.contains("is not a timestamp with a time zone"), "{refused}");
        }
        let (taken, _) = shape(json!({"created_at": "2016-12-31 23:59:60+00"}));
        assert!(
            taken
                .expect_err("refused")
                .ends_with("is not a timestamp with a time zone that custodian reads: a date and a time of day that exist, and an offset (such as 2024-01-01T00:00:00.123+00:00)")
        );
        let (taken, _) = shape(json!({"updated_at": "1970-01-01T00:59:59+01:00"}));
        assert!(taken.is_err(), "a second before the epoch, written an hour east");
        let (taken, map) = shape(json!({"created_at": "1970-01-01T01:00:00+01:00"}));
        taken.expect("accepted");
        assert_eq!(map, json!({"createdAt": 0}));
    }
}
