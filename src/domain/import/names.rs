//! What an import refuses in a record's field names before reading it as a user: a field that
//! is a known one misspelled (`custom_Data`, `userName`, `ID`), and a record that names no
//! user at all (`{}`, `{"users": […]}`). Both were taken as a user with a generated id and
//! `{}` for customData, the misspelled fields kept as unknown ones (and an upsert said
//! "updated" having changed nothing): bb16 L01. Unknown fields that are no such misspelling
//! (`hasPassword`, `ssoIdentities`) are still kept as written.

use serde_json::{Map, Value};

use crate::domain::logto_row::CREDENTIAL_FIELDS;
use crate::domain::user::KNOWN_FIELDS;

/// The fields any one of which names a user.
const NAMING_FIELDS: [&str; 5] = ["id", "username", "primaryEmail", "primaryPhone", "name"];

/// Why `record` (a Logto user object, a raw row already renamed) cannot be imported as it is.
pub fn problem(record: &Map<String, Value>) -> Option<String> {
    for key in record.keys() {
        if KNOWN_FIELDS.contains(&key.as_str()) {
            continue;
        }
        // Credentials and the tenant are taken out of a record by their exact names; spelled
        // another way (`PasswordEncrypted`, `Logto_Config`) a hash or a TOTP key was kept as an
        // unknown field and exported (bb17 L01).
        let credentials = CREDENTIAL_FIELDS.iter().map(|(api, _)| api);
        if let Some(known) = KNOWN_FIELDS
            .iter()
            .chain(credentials)
            .chain(&["tenantId"])
            .find(|known| loosened(known).eq(loosened(key)))
        {
            return Some(format!(
                "`{key}` is no field of a user: `{known}` misspelled? (field names are case-sensitive)"
            ));
        }
    }
    if names_someone(|field| record.get(field)) {
        return None;
    }
    let mut reason =
        "names no user: it has none of id, username, primaryEmail, primaryPhone, name".to_owned();
    let lists: Vec<&str> = record
        .iter()
        .filter(|(_, value)| value.as_array().is_some_and(|items| items.iter().any(Value::is_object)))
        .map(|(key, _)| key.as_str())
        .collect();
    if let Some(list) = lists.first() {
        reason.push_str(&format!(
            " (its `{list}` holds a list of objects: import reads a JSON array of users or JSON Lines, one user a line, not a list inside an object)"
        ));
    }
    Some(reason)
}

/// Whether a record whose fields `field` gives names a user: one of the naming fields holds
/// something besides `null` and blank text (`{"name": "  "}` made a user each time: bb17 L06).
pub fn names_someone<'a>(field: impl Fn(&str) -> Option<&'a Value>) -> bool {
    let names = |value: &Value| !value.is_null() && value.as_str().is_none_or(|text| !text.trim().is_empty());
    NAMING_FIELDS.iter().any(|name| field(name).is_some_and(names))
}

/// A field name as a typo might have it: lower case, without `_` and `-` (compared char by
/// char: no string is made for each known field of each unknown key of a million records).
fn loosened(key: &str) -> impl Iterator<Item = char> + '_ {
    key.chars().filter(|c| !matches!(c, '_' | '-')).flat_map(char::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_of(text: &str) -> Option<String> {
        problem(serde_json::from_str::<Value>(text).unwrap().as_object().unwrap())
    }

    #[test]
    fn a_known_field_misspelled_is_named_with_the_field_it_resembles() {
        for (text, field, known) in [
            (r#"{"id":"a1","custom_Data":{}}"#, "custom_Data", "customData"),
            (r#"{"id":"a1","customdata":{}}"#, "customdata", "customData"),
            (r#"{"ID":"a1"}"#, "ID", "id"),
            (r#"{"id":"a1","userName":"x"}"#, "userName", "username"),
            (r#"{"id":"a1","primary-email":"x@y"}"#, "primary-email", "primaryEmail"),
            (r#"{"id":"a1","PasswordEncrypted":"$argon2i$x"}"#, "PasswordEncrypted", "passwordEncrypted"),
            (r#"{"id":"a1","password_Encrypted":"$argon2i$x"}"#, "password_Encrypted", "passwordEncrypted"),
            (r#"{"id":"a1","Logto_Config":{}}"#, "Logto_Config", "logtoConfig"),
            (r#"{"id":"a1","mfa_Verifications":[]}"#, "mfa_Verifications", "mfaVerifications"),
            (r#"{"id":"a1","Tenant_Id":"t"}"#, "Tenant_Id", "tenantId"),
        ] {
            let said = problem_of(text).unwrap_or_default();
            assert!(
                said.starts_with(&format!("`{field}` is no field of a user: `{known}` misspelled?")),
                "{text}: {said}"
            );
        }
    }

    #[test]
    fn a_record_naming_no_user_is_refused_and_a_wrapped_list_is_named() {
        assert_eq!(
            problem_of("{}").as_deref(),
            Some("names no user: it has none of id, username, primaryEmail, primaryPhone, name")
        );
        assert!(problem_of(r#"{"customData":{"a":1},"id":null}"#).is_some(), "a null id names no one");
        assert!(problem_of(r#"{"name":"   "}"#).is_some(), "nor does a blank name");
        assert!(problem_of(r#"{"name":""}"#).is_some());
        let wrapped = problem_of(r#"{"users":[{"id":"a1"}],"total":1}"#).unwrap_or_default();
        assert!(wrapped.contains("its `users` holds a list of objects"), "{wrapped}");
        assert!(!problem_of(r#"{"tags":["a"]}"#).unwrap_or_default().contains("holds a list"));
    }

    #[test]
    fn a_record_naming_a_user_with_unknown_fields_of_its_own_passes() {
        for text in [
            r#"{"id":"a1"}"#,
            r#"{"username":"alice","hasPassword":true,"ssoIdentities":[]}"#,
            r#"{"primaryEmail":"a@b","customData":{}}"#,
            r#"{"primaryPhone":"1"}"#,
            r#"{"name":"Alice"}"#,
        ] {
            assert_eq!(problem_of(text), None, "{text}");
        }
    }
}
