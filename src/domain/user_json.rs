//! A user as Logto-shaped JSON, written straight into a buffer: the same bytes as
//! serialising `User::to_logto` (an export line, with the parsed customData) or
//! `User::to_logto_sparse` (what the store keeps), without building that map (every field
//! cloned) and, when a stored compact document is already in the form serde_json writes,
//! without parsing and re-serialising it: its text is copied in as it is.

use serde_json::{Map, Value};

use super::User;
use super::custom_data::parse_object;

/// Deeper documents take the parsing path (which refuses what the store's rules refuse).
const MAX_DEPTH: usize = 128;
/// Objects with more keys take the parsing path (the duplicate check here is quadratic).
const MAX_KEYS_CHECKED: usize = 256;

/// Appends the line of `user` with its stored customData text (no newline) to `out`. Fails
/// only when the stored document is not JSON (a damaged record).
pub fn write_line(out: &mut Vec<u8>, user: &User, custom_data: &str) -> Result<(), serde_json::Error> {
    let string = |out: &mut Vec<u8>, value: &Option<String>| match value {
        Some(text) => serde_json::to_writer(&mut *out, text),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    };
    // The known fields in `User::to_logto`'s order: their names need no escaping.
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &user.id)?;
    out.extend_from_slice(b",\"username\":");
    string(out, &user.username)?;
    out.extend_from_slice(b",\"primaryEmail\":");
    string(out, &user.primary_email)?;
    out.extend_from_slice(b",\"primaryPhone\":");
    string(out, &user.primary_phone)?;
    out.extend_from_slice(b",\"name\":");
    string(out, &user.name)?;
    out.extend_from_slice(b",\"avatar\":");
    string(out, &user.avatar)?;
    out.extend_from_slice(b",\"customData\":");
    if is_serde_compact_object(custom_data) {
        out.extend_from_slice(custom_data.as_bytes());
    } else {
        serde_json::to_writer(&mut *out, &parse_object(custom_data)?)?;
    }
    out.extend_from_slice(b",\"identities\":");
    serde_json::to_writer(&mut *out, &user.identities)?;
    out.extend_from_slice(b",\"lastSignInAt\":");
    match user.last_sign_in_at {
        Some(ms) => serde_json::to_writer(&mut *out, &ms)?,
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"createdAt\":");
    serde_json::to_writer(&mut *out, &user.created_at)?;
    out.extend_from_slice(b",\"updatedAt\":");
    serde_json::to_writer(&mut *out, &user.updated_at)?;
    out.extend_from_slice(b",\"profile\":");
    serde_json::to_writer(&mut *out, &user.profile)?;
    out.extend_from_slice(b",\"applicationId\":");
    string(out, &user.application_id)?;
    out.extend_from_slice(if user.is_suspended {
        b",\"isSuspended\":true"
    } else {
        b",\"isSuspended\":false"
    });
    write_extra(out, &user.extra)?;
    out.push(b'}');
    Ok(())
}

/// Appends `serde_json::to_string(&user.to_logto_sparse())` to `out`: the known fields that
/// hold something, in their order, then the others.
pub fn write_sparse(out: &mut Vec<u8>, user: &User) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &user.id)?;
    let fields = [
        ("username", &user.username),
        ("primaryEmail", &user.primary_email),
        ("primaryPhone", &user.primary_phone),
        ("name", &user.name),
        ("avatar", &user.avatar),
    ];
    for (field, value) in fields {
        if let Some(text) = value {
            write_key(out, field);
            serde_json::to_writer(&mut *out, text)?;
        }
    }
    if !user.identities.is_empty() {
        write_key(out, "identities");
        serde_json::to_writer(&mut *out, &user.identities)?;
    }
    if let Some(ms) = user.last_sign_in_at {
        write_key(out, "lastSignInAt");
        serde_json::to_writer(&mut *out, &ms)?;
    }
    write_key(out, "createdAt");
    serde_json::to_writer(&mut *out, &user.created_at)?;
    write_key(out, "updatedAt");
    serde_json::to_writer(&mut *out, &user.updated_at)?;
    if !user.profile.is_empty() {
        write_key(out, "profile");
        serde_json::to_writer(&mut *out, &user.profile)?;
    }
    if let Some(id) = &user.application_id {
        write_key(out, "applicationId");
        serde_json::to_writer(&mut *out, id)?;
    }
    if user.is_suspended {
        out.extend_from_slice(b",\"isSuspended\":true");
    }
    write_extra(out, &user.extra)?;
    out.push(b'}');
    Ok(())
}

/// `,"field":` for a known field (its name needs no escaping).
fn write_key(out: &mut Vec<u8>, field: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b"\":");
}

/// The fields custodian does not know, in their order; as `to_logto`, credentials an older
/// build kept are never written out again.
fn write_extra(out: &mut Vec<u8>, extra: &Map<String, Value>) -> Result<(), serde_json::Error> {
    for (key, value) in extra {
        if super::logto_row::is_credential(key) {
            continue;
        }
        out.push(b',');
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Whether `text` is a JSON object exactly as serde_json writes the value it parses to (with
/// the store's number spellings kept): no whitespace between tokens, strings escaped as
/// serde_json escapes them (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as
/// `\u00xx`, everything else as itself), no repeated key in an object (serde_json would keep
/// one). Anything else — or anything this does not bother to prove — is `false` and goes
/// the parsing way, so a `true` is always safe to copy.
pub fn is_serde_compact_object(text: &str) -> bool {
    let mut scan = Compact { bytes: text.as_bytes(), at: 0, keys: Vec::new() };
    scan.bytes.first() == Some(&b'{') && scan.value(0) && scan.at == scan.bytes.len()
}

struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The keys of the objects being read, innermost last (each object remembers where its
    /// own begin).
    keys: Vec<&'a [u8]>,
}

impl<'a> Compact<'a> {
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.bytes.get(self.at) {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        self.at += word.len();
        found
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let first = self.keys.len();
        loop {
            let Some(key) = self.string() else { return false };
            // Canonical strings are equal exactly when their bytes are.
            if self.keys.len() - first >= MAX_KEYS_CHECKED || self.keys[first..].contains(&key) {
                return false;
            }
            self.keys.push(key);
            if !(self.eat(b':') && self.value(depth)) {
                return false;
            }
            if self.eat(b',') {
                continue;
            }
            self.keys.truncate(first);
            return self.eat(b'}');
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']');
        }
    }

    /// A string written as serde_json writes it; its bytes with the quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(&self.bytes[start..self.at]);
                }
                b'\\' => {
                    let escape = *self.bytes.get(self.at + 1)?;
                    match escape {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => {
                            let code = self.bytes.get(self.at + 2..self.at + 6)?;
                            let lower_hex = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
                            // Only a control without a short escape is written `\u00xx`.
                            let control = code[0] == b'0'
                                && code[1] == b'0'
                                && matches!(code[2], b'0' | b'1')
                                && lower_hex(code[3])
                                && !matches!(&code[2..], b"08" | b"09" | b"0a" | b"0c" | b"0d");
                            if !control {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: the store keeps a number's spelling,
    /// so any valid one is written as it is.
    fn number(&mut self) -> bool {
        let digits = |scan: &mut Self| {
            let start = scan.at;
            while scan.bytes.get(scan.at).is_some_and(u8::is_ascii_digit) {
                scan.at += 1;
            }
            scan.at - start
        };
        self.eat(b'-');
        if self.eat(b'0') {
            if self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                return false;
            }
        } else if digits(self) == 0 {
            return false;
        }
        if self.eat(b'.') && digits(self) == 0 {
            return false;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if digits(self) == 0 {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, MAX_KEYS_CHECKED, is_serde_compact_object};

    /// An object holding `levels - 1` arrays inside each other: `levels` containers in all.
    fn nested_arrays(levels: usize) -> String {
        format!("{{\"a\":{}{}}}", "[".repeat(levels - 1), "]".repeat(levels - 1))
    }

    /// `levels` objects inside each other.
    fn nested_objects(levels: usize) -> String {
        format!("{}{{}}{}", "{\"a\":".repeat(levels - 1), "}".repeat(levels - 1))
    }

    #[test]
    fn a_document_deeper_than_the_limit_takes_the_parsing_way() {
        for nested in [nested_arrays, nested_objects] {
            assert!(is_serde_compact_object(&nested(MAX_DEPTH)));
            assert!(!is_serde_compact_object(&nested(MAX_DEPTH + 1)));
        }
    }

    #[test]
    fn the_key_limit_counts_each_objects_own_keys() {
        let object = |keys: usize| {
            let pairs: Vec<String> = (0..keys).map(|k| format!("\"k{k}\":{k}")).collect();
            format!("{{{}}}", pairs.join(","))
        };
        // Inside another object, an object has its own count, not its parents' keys too.
        assert!(is_serde_compact_object(&format!("{{\"o\":{}}}", object(MAX_KEYS_CHECKED))));
        assert!(!is_serde_compact_object(&format!("{{\"o\":{}}}", object(MAX_KEYS_CHECKED + 1))));
    }

    #[test]
    fn a_raw_control_character_in_a_string_is_not_serde_jsons_form() {
        // serde_json writes it `\u0001`; raw, copied as it is, the line would not be JSON.
        assert!(!is_serde_compact_object("{\"a\":\"x\u{1}y\"}"));
        assert!(is_serde_compact_object("{\"a\":\"x\\u0001y\"}"));
    }

    #[test]
    fn a_number_without_its_digits_is_not_serde_jsons_form() {
        for cut in ["{\"a\":1.}", "{\"a\":1e}", "{\"a\":1E+}", "{\"a\":-}", "{\"a\":01}"] {
            assert!(!is_serde_compact_object(cut), "{cut}");
        }
        for whole in ["{\"a\":1.5}", "{\"a\":1e5}", "{\"a\":-0.0E-7}", "{\"a\":0}"] {
            assert!(is_serde_compact_object(whole), "{whole}");
        }
    }
}
