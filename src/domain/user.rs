//! Logto's user object as its Management API returns it, and the rules for each field.
//!
//! Fields custodian does not know are kept, in their order, and written back on export, so an
//! export → import → export round trip loses nothing.

use serde_json::{Map, Value};
use thiserror::Error;

pub const MAX_ID_CHARS: usize = 12;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_AVATAR_CHARS: usize = 2048;

/// A user profile without its customData (which lives beside it, with its own rules).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub identities: Map<String, Value>,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub profile: Map<String, Value>,
    pub application_id: Option<String>,
    pub is_suspended: bool,
    /// Fields custodian does not interpret, in the order they came.
    pub extra: Map<String, Value>,
}

/// Why a user object was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserFieldError {
    #[error("a user must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("`{field}` must be {expected}")]
    WrongType { field: &'static str, expected: &'static str },
    #[error("`{field}` is {chars} characters long; the limit is {limit}")]
    TooLong { field: &'static str, chars: usize, limit: usize },
    #[error("`id` {id:?} is not 1–12 characters of a–z, A–Z, 0–9, '_' or '-'")]
    BadId { id: String },
    #[error("`{field}` must not be empty; use null")]
    EmptyString { field: &'static str },
}

/// The fields custodian knows, in the order Logto's API writes them.
const KNOWN_FIELDS: [&str; 14] = [
    "id",
    "username",
    "primaryEmail",
    "primaryPhone",
    "name",
    "avatar",
    "customData",
    "identities",
    "lastSignInAt",
    "createdAt",
    "updatedAt",
    "profile",
    "applicationId",
    "isSuspended",
];

impl User {
    /// Reads a Logto user object. Returns the user and its customData value (not yet
    /// validated: that is [`super::CustomData`]'s job). A missing id is generated; missing
    /// timestamps are set to `now_ms`.
    pub fn from_logto(value: Value, now_ms: i64) -> Result<(User, Option<Value>), UserFieldError> {
        let mut map = match value {
            Value::Object(map) => map,
            other => return Err(UserFieldError::NotAnObject(json_type_name(&other))),
        };
        let id = match map.shift_remove("id") {
            None | Some(Value::Null) => generate_id(),
            Some(Value::String(id)) => {
                let valid_chars = id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if id.is_empty() || id.chars().count() > MAX_ID_CHARS || !valid_chars {
                    return Err(UserFieldError::BadId { id });
                }
                id
            }
            Some(_) => return Err(UserFieldError::WrongType { field: "id", expected: "a string" }),
        };
        let username = take_string(&mut map, "username", MAX_NAME_CHARS)?;
        let primary_email = take_string(&mut map, "primaryEmail", MAX_NAME_CHARS)?;
        let primary_phone = take_string(&mut map, "primaryPhone", MAX_NAME_CHARS)?;
        let name = take_string(&mut map, "name", MAX_NAME_CHARS)?;
        let avatar = take_string(&mut map, "avatar", MAX_AVATAR_CHARS)?;
        let custom_data = match map.shift_remove("customData") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        };
        let identities = take_object(&mut map, "identities")?;
        let last_sign_in_at = take_millis(&mut map, "lastSignInAt")?;
        let created_at = take_millis(&mut map, "createdAt")?.unwrap_or(now_ms);
        let updated_at = take_millis(&mut map, "updatedAt")?.unwrap_or(created_at);
        let profile = take_object(&mut map, "profile")?;
        let application_id = take_string(&mut map, "applicationId", MAX_NAME_CHARS)?;
        let is_suspended = match map.shift_remove("isSuspended") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                return Err(UserFieldError::WrongType { field: "isSuspended", expected: "true or false" });
            }
        };
        let user = User {
            id,
            username,
            primary_email,
            primary_phone,
            name,
            avatar,
            identities,
            last_sign_in_at,
            created_at,
            updated_at,
            profile,
            application_id,
            is_suspended,
            // Collected anew: the emptied map would keep the capacity of every field it held
            // (≈ 1.5 KB a user; 10,000 search hits made that 6 MB).
            extra: map.into_iter().collect(),
        };
        Ok((user, custom_data))
    }

    /// The Logto-shaped object, with `custom_data` in its place when given.
    pub fn to_logto(&self, custom_data: Option<&Map<String, Value>>) -> Map<String, Value> {
        let mut map = Map::new();
        let string = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        for field in KNOWN_FIELDS {
            let value = match field {
                "id" => Value::String(self.id.clone()),
                "username" => string(&self.username),
                "primaryEmail" => string(&self.primary_email),
                "primaryPhone" => string(&self.primary_phone),
                "name" => string(&self.name),
                "avatar" => string(&self.avatar),
                "customData" => match custom_data {
                    Some(data) => Value::Object(data.clone()),
                    None => continue,
                },
                "identities" => Value::Object(self.identities.clone()),
                "lastSignInAt" => self.last_sign_in_at.map_or(Value::Null, Value::from),
                "createdAt" => Value::from(self.created_at),
                "updatedAt" => Value::from(self.updated_at),
                "profile" => Value::Object(self.profile.clone()),
                "applicationId" => string(&self.application_id),
                "isSuspended" => Value::Bool(self.is_suspended),
                _ => continue,
            };
            map.insert(field.to_owned(), value);
        }
        for (key, value) in &self.extra {
            // Credentials kept by an older build are never written out again (import drops
            // them; opening such a database removes them).
            if super::logto_row::is_credential(key) {
                continue;
            }
            map.insert(key.clone(), value.clone());
        }
        map
    }

    /// The same object without the fields that hold nothing (null, `{}`, `false`): what the
    /// store keeps, since [`User::from_logto`] reads a missing field as exactly that.
    pub fn to_logto_sparse(&self) -> Map<String, Value> {
        let mut map = self.to_logto(None);
        map.retain(|key, value| {
            let known = KNOWN_FIELDS.contains(&key.as_str()) && !self.extra.contains_key(key);
            let empty = match value {
                Value::Null | Value::Bool(false) => true,
                Value::Object(object) => object.is_empty(),
                _ => false,
            };
            !(known && empty)
        });
        map
    }

    /// What the list shows and sorts by: the username, else the email, else the phone, else the id.
    pub fn handle(&self) -> &str {
        self.username
            .as_deref()
            .or(self.primary_email.as_deref())
            .or(self.primary_phone.as_deref())
            .unwrap_or(&self.id)
    }
}

/// 12 characters of `[0-9a-z]`, like Logto's own ids.
pub fn generate_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = fastrand::Rng::new();
    (0..MAX_ID_CHARS).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char).collect()
}

fn take_string(
    map: &mut Map<String, Value>,
    field: &'static str,
    limit: usize,
) -> Result<Option<String>, UserFieldError> {
    match map.shift_remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let chars = s.chars().count();
            if chars > limit {
                return Err(UserFieldError::TooLong { field, chars, limit });
            }
            if s.is_empty() && matches!(field, "username" | "primaryEmail" | "primaryPhone") {
                return Err(UserFieldError::EmptyString { field });
            }
            Ok(Some(s))
        }
        Some(_) => Err(UserFieldError::WrongType { field, expected: "a string or null" }),
    }
}

fn take_object(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Map<String, Value>, UserFieldError> {
    match map.shift_remove(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(UserFieldError::WrongType { field, expected: "an object" }),
    }
}

fn take_millis(map: &mut Map<String, Value>, field: &'static str) -> Result<Option<i64>, UserFieldError> {
    match map.shift_remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|ms| ms >= 0) => Ok(n.as_i64()),
        Some(_) => Err(UserFieldError::WrongType {
            field,
            expected: "a whole number of milliseconds since 1970 or null",
        }),
    }
}

pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
