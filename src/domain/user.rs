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
    #[error("`{field}` must not be empty or only white space; use null")]
    EmptyString { field: &'static str },
}

/// The fields custodian knows, in the order Logto's API writes them.
pub const KNOWN_FIELDS: [&str; 14] = [
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
        match value {
            Value::Object(map) => Self::from_fields(LogtoFields::from(map), now_ms),
            other => Err(UserFieldError::NotAnObject(json_type_name(&other))),
        }
    }

    /// [`User::from_logto`] of an object whose known fields are already taken out of it (one
    /// pass over its keys: see [`LogtoFields`]). The fields are checked in a fixed order, so
    /// the first error is the same whatever order the object's keys came in.
    pub fn from_fields(fields: LogtoFields, now_ms: i64) -> Result<(User, Option<Value>), UserFieldError> {
        let id = match fields.id {
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
        let username = take_string(fields.username, "username", MAX_NAME_CHARS)?;
        let primary_email = take_string(fields.primary_email, "primaryEmail", MAX_NAME_CHARS)?;
        let primary_phone = take_string(fields.primary_phone, "primaryPhone", MAX_NAME_CHARS)?;
        let name = take_string(fields.name, "name", MAX_NAME_CHARS)?;
        let avatar = take_string(fields.avatar, "avatar", MAX_AVATAR_CHARS)?;
        let custom_data = fields.custom_data.filter(|value| !value.is_null());
        let identities = take_object(fields.identities, "identities")?;
        let last_sign_in_at = take_millis(fields.last_sign_in_at, "lastSignInAt")?;
        let created_at = take_millis(fields.created_at, "createdAt")?.unwrap_or(now_ms);
        let updated_at = take_millis(fields.updated_at, "updatedAt")?.unwrap_or(created_at);
        let profile = take_object(fields.profile, "profile")?;
        let application_id = take_string(fields.application_id, "applicationId", MAX_NAME_CHARS)?;
        let is_suspended = match fields.is_suspended {
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
            extra: fields.extra,
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
    value: Option<Value>,
    field: &'static str,
    limit: usize,
) -> Result<Option<String>, UserFieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let chars = s.chars().count();
            if chars > limit {
                return Err(UserFieldError::TooLong { field, chars, limit });
            }
            // A name that is only white space is looked up by an empty key, so an empty
            // reference (`set "" -`) would find it: refused as an empty one is.
            // A visible ASCII character is never folded away: most names are spared the fold.
            let blank = !s.bytes().any(|b| b.is_ascii_graphic())
                && match field {
                    "username" | "primaryEmail" => crate::domain::fold::name_key(&s).is_empty(),
                    "primaryPhone" => crate::domain::fold::phone_key(&s).is_empty(),
                    _ => false,
                };
            if blank {
                return Err(UserFieldError::EmptyString { field });
            }
            Ok(Some(s))
        }
        Some(_) => Err(UserFieldError::WrongType { field, expected: "a string or null" }),
    }
}

fn take_object(value: Option<Value>, field: &'static str) -> Result<Map<String, Value>, UserFieldError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(UserFieldError::WrongType { field, expected: "an object" }),
    }
}

/// 9999-12-31 23:59:59.999 UTC, the latest time an import takes (and the one PostgreSQL's
/// `infinity` reads as): a save moves `updatedAt` past the stored one, which `i64::MAX` left no
/// room for, and an older export then came back over later saves unrefused (bb35 #2).
pub const LATEST_MILLIS: i64 = 253_402_300_799_999;

impl User {
    /// Why a record's times cannot be imported: one after [`LATEST_MILLIS`].
    pub fn time_past_the_year_9999(&self) -> Option<String> {
        let times = [
            ("createdAt", Some(self.created_at)),
            ("updatedAt", Some(self.updated_at)),
            ("lastSignInAt", self.last_sign_in_at),
        ];
        times.into_iter().find_map(|(field, ms)| {
            ms.filter(|ms| *ms > LATEST_MILLIS).map(|ms| {
                format!("`{field}` {ms} is after the year 9999 (at most {LATEST_MILLIS}, 9999-12-31 23:59:59.999 UTC)")
            })
        })
    }
}

fn take_millis(value: Option<Value>, field: &'static str) -> Result<Option<i64>, UserFieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|ms| ms >= 0) => Ok(n.as_i64()),
        // A whole number written with an exponent or a fraction of zeros (`1E12`, as a tool
        // that prints large numbers so wrote it): it was refused as no whole number (bb90 F3).
        Some(Value::Number(n)) if let Some(ms) = whole_millis(&n.to_string()) => Ok(Some(ms)),
        Some(_) => Err(UserFieldError::WrongType {
            field,
            // The range enforced (a time after 9999 is refused next): the type's whole range
            // was said, and a value chosen inside it refused again (bb40 F3).
            expected: "a whole number of milliseconds since 1970, from 0 to 253402300799999 (9999-12-31 23:59:59.999 UTC), or null",
        }),
    }
}

/// The whole, non-negative number of milliseconds `text` spells in another way than digits
/// alone, where every such number is exact (below 2^53).
fn whole_millis(text: &str) -> Option<i64> {
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&value))
        .then_some(value as i64)
}

/// A Logto user object taken apart in one pass over its keys: each known field's value (as
/// it came: [`User::from_fields`] checks them), the others in their order. Taking the known
/// fields out of the object one by one instead shifted the rest of its keys each time (the
/// store decodes every user of an export this way). Deserialised straight from JSON, the
/// object is never built as a map at all.
#[derive(Debug, Default)]
pub struct LogtoFields {
    id: Option<Value>,
    username: Option<Value>,
    primary_email: Option<Value>,
    primary_phone: Option<Value>,
    name: Option<Value>,
    avatar: Option<Value>,
    custom_data: Option<Value>,
    identities: Option<Value>,
    last_sign_in_at: Option<Value>,
    created_at: Option<Value>,
    updated_at: Option<Value>,
    profile: Option<Value>,
    application_id: Option<Value>,
    is_suspended: Option<Value>,
    extra: Map<String, Value>,
}

/// Whether `key` is one of [`KNOWN_FIELDS`].
pub fn is_known_field(key: &str) -> bool {
    KNOWN_FIELDS.contains(&key)
}

impl LogtoFields {
    /// Whether every field of the object was a known one (none kept as written).
    pub fn all_known(&self) -> bool {
        self.extra.is_empty()
    }

    /// The value of a known field as it came, `None` when the object did not have it.
    pub fn known(&self, key: &str) -> Option<&Value> {
        match key {
            "id" => &self.id,
            "username" => &self.username,
            "primaryEmail" => &self.primary_email,
            "primaryPhone" => &self.primary_phone,
            "name" => &self.name,
            "avatar" => &self.avatar,
            "customData" => &self.custom_data,
            "identities" => &self.identities,
            "lastSignInAt" => &self.last_sign_in_at,
            "createdAt" => &self.created_at,
            "updatedAt" => &self.updated_at,
            "profile" => &self.profile,
            "applicationId" => &self.application_id,
            "isSuspended" => &self.is_suspended,
            _ => &None,
        }
        .as_ref()
    }

    /// The slot of a known field, `None` for any other key.
    fn slot(&mut self, key: &str) -> Option<&mut Option<Value>> {
        Some(match key {
            "id" => &mut self.id,
            "username" => &mut self.username,
            "primaryEmail" => &mut self.primary_email,
            "primaryPhone" => &mut self.primary_phone,
            "name" => &mut self.name,
            "avatar" => &mut self.avatar,
            "customData" => &mut self.custom_data,
            "identities" => &mut self.identities,
            "lastSignInAt" => &mut self.last_sign_in_at,
            "createdAt" => &mut self.created_at,
            "updatedAt" => &mut self.updated_at,
            "profile" => &mut self.profile,
            "applicationId" => &mut self.application_id,
            "isSuspended" => &mut self.is_suspended,
            _ => return None,
        })
    }
}

impl From<Map<String, Value>> for LogtoFields {
    fn from(map: Map<String, Value>) -> Self {
        let mut fields = Self::default();
        for (key, value) in map {
            match fields.slot(&key) {
                Some(slot) => *slot = Some(value),
                None => {
                    fields.extra.insert(key, value);
                }
            }
        }
        fields
    }
}

impl<'de> serde::Deserialize<'de> for LogtoFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> serde::de::Visitor<'de> for FieldsVisitor {
    type Value = LogtoFields;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a user object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<LogtoFields, A::Error> {
        let mut fields = LogtoFields::default();
        while let Some(key) = access.next_key::<FieldKey>()? {
            let value: Value = access.next_value()?;
            match key {
                FieldKey::Known(name) => {
                    if let Some(slot) = fields.slot(name) {
                        *slot = Some(value);
                    }
                }
                FieldKey::Other(name) => {
                    fields.extra.insert(name, value);
                }
            }
        }
        Ok(fields)
    }
}

/// A key of a user object: a known field's name needs no copy.
enum FieldKey {
    Known(&'static str),
    Other(String),
}

impl<'de> serde::Deserialize<'de> for FieldKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FieldKeyVisitor)
    }
}

struct FieldKeyVisitor;

impl serde::de::Visitor<'_> for FieldKeyVisitor {
    type Value = FieldKey;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<FieldKey, E> {
        Ok(match KNOWN_FIELDS.iter().find(|&&known| known == key) {
            Some(known) => FieldKey::Known(known),
            None => FieldKey::Other(key.to_owned()),
        })
    }

    fn visit_string<E: serde::de::Error>(self, key: String) -> Result<FieldKey, E> {
        Ok(match KNOWN_FIELDS.iter().find(|&&known| known == key) {
            Some(known) => FieldKey::Known(known),
            None => FieldKey::Other(key),
        })
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

#[cfg(test)]
mod tests;
