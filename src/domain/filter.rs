//! The one rule for "this user matches the filter", used by the editor's list filter and
//! `custodian list --search` alike: the folded query ([`super::fold::fold`]) occurs in the
//! folded id, username, primary email, primary phone or name, or in a key or a scalar value
//! (a string's text, a number as written, `true`, `false`, `null`) anywhere in customData.
//! Each of those texts is searched on its own, unescaped, so a query never matches across
//! JSON punctuation or escapes (`"` in a name is found as `"`, not as `\"`).

use memchr::memmem::Finder;
use serde_json::{Map, Value};

use super::User;
use super::fold::fold;

/// A query ready to be matched against many users.
pub struct Filter {
    folded: String,
    finder: Finder<'static>,
    /// The folded query is ASCII: an ASCII text is searched by lower-casing bytes.
    ascii: bool,
    /// The folded query holds nothing JSON escapes (`"`, `\`, control characters), so where
    /// it occurs in an unescaped text it occurs in that text's JSON too.
    escape_free: bool,
    /// Reused for lower-casing each ASCII text.
    buffer: Vec<u8>,
}

impl Filter {
    pub fn new(query: &str) -> Self {
        let folded = fold(query).into_owned();
        let finder = Finder::new(folded.as_bytes()).into_owned();
        let escape_free = !folded.chars().any(|c| c == '"' || c == '\\' || c < ' ');
        Self { ascii: folded.is_ascii(), escape_free, finder, folded, buffer: Vec::new() }
    }

    /// Whether the folded query occurs in the folded `text`.
    pub fn in_text(&mut self, text: &str) -> bool {
        if text.is_ascii() {
            // The fold of ASCII is its lower case, which keeps byte offsets; and it stays
            // ASCII, so a query that folds to something else cannot occur in it.
            if !self.ascii {
                return false;
            }
            self.buffer.clear();
            self.buffer.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
            return self.finder.find(&self.buffer).is_some();
        }
        fold(text).contains(self.folded.as_str())
    }

    /// Whether the query occurs in one of the user's profile fields the filter covers.
    pub fn in_user(&mut self, user: &User) -> bool {
        [
            Some(&user.id),
            user.username.as_ref(),
            user.primary_email.as_ref(),
            user.primary_phone.as_ref(),
            user.name.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|field| self.in_text(field))
    }

    /// Whether the query occurs in a key or a scalar value anywhere in `document`.
    pub fn in_document(&mut self, document: &Map<String, Value>) -> bool {
        document.iter().any(|(key, value)| self.in_text(key) || self.in_value(value))
    }

    fn in_value(&mut self, value: &Value) -> bool {
        match value {
            Value::Null => self.in_text("null"),
            Value::Bool(b) => self.in_text(if *b { "true" } else { "false" }),
            Value::Number(n) => self.in_text(&n.to_string()),
            Value::String(s) => self.in_text(s),
            Value::Array(items) => items.iter().any(|item| self.in_value(item)),
            Value::Object(object) => self.in_document(object),
        }
    }

    /// A quick test on the JSON text of a record: `false` only when no text inside it can
    /// match, so most records are ruled out without being parsed. It is exact for JSON that
    /// is ASCII and has no escapes (lower-casing the whole text lower-cases each of its
    /// texts, and the punctuation between them can only add matches, never hide one);
    /// anything else is left to the parsed record.
    pub fn may_occur_in_json(&mut self, json: &str) -> bool {
        if !self.escape_free || !json.is_ascii() || json.as_bytes().contains(&b'\\') {
            return true;
        }
        self.in_text(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).expect("test document")
    }

    #[test]
    fn texts_are_matched_unescaped_and_folded() {
        let doc = document(r#"{"quote":"say \"hi\"","Straße":1,"n":1.50,"flag":true,"k":"\u212Aelvin"}"#);
        for (query, found) in [
            ("\"hi\"", true),
            ("\\\"", false),
            ("strasse", true),
            ("1.50", true),
            ("TRUE", true),
            ("kelvin", true),
            ("\u{212A}", true),
            ("\":", false),
            ("quote\":\"say", false),
        ] {
            assert_eq!(Filter::new(query).in_document(&doc), found, "{query:?}");
        }
    }

    #[test]
    fn the_quick_json_test_never_rules_out_a_match() {
        let json = r#"{"a":"Hello World","b":[1,"x"],"c":"tab\there","d":"Amélie"}"#;
        let doc = document(json);
        for query in ["hello", "WORLD", "x", "tab", "here", "\t", "amélie", "AME\u{301}LIE", "1", "zzz"] {
            let mut filter = Filter::new(query);
            if filter.in_document(&doc) {
                assert!(filter.may_occur_in_json(json), "{query:?}");
            }
        }
        assert!(!Filter::new("zzz").may_occur_in_json(r#"{"a":"b"}"#));
    }
}
