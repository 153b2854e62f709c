//! The one rule for "this user matches the filter", used by the editor's list filter and
//! `custodian list --search` alike: the folded query ([`super::fold::fold`]) occurs in the
//! folded id, username, primary email, primary phone or name, or in a key or a scalar value
//! (a string's text, a number as written, `true`, `false`, `null`) anywhere in customData.
//! Each of those texts is searched on its own, unescaped, so a query never matches across
//! JSON punctuation or escapes (`"` in a name is found as `"`, not as `\"`).

use memchr::memmem::Finder;
use serde_json::{Map, Value};

use super::User;
use super::fold::{fold, fold_into};

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

    /// Whether [`Filter::in_search_text`] answers exactly as [`Filter::in_user`] and
    /// [`Filter::in_document`] do: when the folded query holds no [`SEARCH_TEXT_SEPARATOR`].
    pub fn fits_search_text(&self) -> bool {
        !self.folded.as_bytes().contains(&SEARCH_TEXT_SEPARATOR)
    }

    /// Whether the query occurs in a user's [`search_text`]. Exact when
    /// [`Filter::fits_search_text`]: a match holds no separator, so it lies inside one text.
    pub fn in_search_text(&self, search_text: &[u8]) -> bool {
        self.finder.find(search_text).is_some()
    }

    /// Where the folded query first occurs in `haystack`: the search texts of many users
    /// joined by [`SEARCH_TEXT_SEPARATOR`] are searched in one pass (exact when
    /// [`Filter::fits_search_text`]: a match lies inside one text of one user).
    pub fn find_in_search_texts(&self, haystack: &[u8]) -> Option<usize> {
        self.finder.find(haystack)
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

/// The byte between the texts of a [`search_text`]. A query without it cannot match across
/// two texts; a query with it (a pasted NUL) is answered from the parsed user instead.
pub const SEARCH_TEXT_SEPARATOR: u8 = 0;

/// Every text the filter searches in a user, each folded as the query is, joined by
/// [`SEARCH_TEXT_SEPARATOR`]: the profile fields of [`Filter::in_user`], then the keys and
/// scalars of [`Filter::in_document`]. The store keeps it so that a scan reads one compact
/// record per user instead of parsing the user and its document.
pub fn search_text(user: &User, document: &Map<String, Value>) -> String {
    search_text_with(user, String::new(), |mut push| document_texts(document, &mut push))
}

/// [`search_text`] of a user whose document's keys and scalars, in the order [`search_text`]
/// walks them, are `document_texts` (a document made in code, never built as a tree).
pub fn search_text_of_texts<'a>(user: &User, document_texts: impl IntoIterator<Item = &'a str>) -> String {
    search_text_with(user, String::with_capacity(256), |push| document_texts.into_iter().for_each(push))
}

fn search_text_with(user: &User, mut text: String, document: impl FnOnce(&mut dyn FnMut(&str))) -> String {
    let mut push = |part: &str| {
        if !text.is_empty() {
            text.push(char::from(SEARCH_TEXT_SEPARATOR));
        }
        fold_into(&mut text, part);
    };
    for field in [
        Some(&user.id),
        user.username.as_ref(),
        user.primary_email.as_ref(),
        user.primary_phone.as_ref(),
        user.name.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        push(field);
    }
    document(&mut push);
    text
}

fn document_texts(document: &Map<String, Value>, push: &mut impl FnMut(&str)) {
    for (key, value) in document {
        push(key);
        value_texts(value, push);
    }
}

fn value_texts(value: &Value, push: &mut impl FnMut(&str)) {
    match value {
        Value::Null => push("null"),
        Value::Bool(b) => push(if *b { "true" } else { "false" }),
        Value::Number(n) => push(n.as_str()),
        Value::String(s) => push(s),
        Value::Array(items) => items.iter().for_each(|item| value_texts(item, push)),
        Value::Object(object) => document_texts(object, push),
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

    #[test]
    fn the_quick_json_test_leaves_ascii_json_with_escapes_to_the_parsed_record() {
        // ASCII, yet its text is not: `\u212A` is the Kelvin sign, which folds to `k`.
        let json = r#"{"k":"\u212Aelvin"}"#;
        let mut filter = Filter::new("kelvin");
        assert!(filter.in_document(&document(json)));
        assert!(filter.may_occur_in_json(json));
    }

    /// The store answers the filter from [`search_text`]: for every user and query it must
    /// say what [`Filter::in_user`] and [`Filter::in_document`] say.
    fn assert_search_text_agrees(user: &User, doc: &Map<String, Value>, query: &str) {
        let mut filter = Filter::new(query);
        let expected = filter.in_user(user) || filter.in_document(doc);
        let text = search_text(user, doc);
        if filter.fits_search_text() {
            assert_eq!(filter.in_search_text(text.as_bytes()), expected, "{query:?} in {text:?}");
        }
    }

    fn user(fields: [Option<&str>; 4]) -> User {
        valid_user(fields).expect("a valid user")
    }

    /// A user with these fields, when they are valid ones.
    fn valid_user(fields: [Option<&str>; 4]) -> Option<User> {
        let mut object = Map::new();
        object.insert("id".into(), "u1_X".into());
        for (name, value) in ["username", "primaryEmail", "primaryPhone", "name"].into_iter().zip(fields) {
            if let Some(value) = value {
                object.insert(name.into(), value.into());
            }
        }
        User::from_logto(Value::Object(object), 0).ok().map(|(user, _)| user)
    }

    #[test]
    fn search_text_answers_as_the_filter_for_tricky_users() {
        let user = user([
            Some("Stra\u{df}e"),
            Some("K\u{212A}@Example.com"),
            Some("+49 30"),
            Some("Ame\u{301}lie \"Q\""),
        ]);
        let doc = document(
            r#"{"Schlüssel":"Wert","n":1.50,"big":12345678901234567890,"t":true,"z":null,"list":[{"inner":"ǅ"},"x\ty"],"":""}"#,
        );
        let queries = [
            "",
            "u1_x",
            "strasse",
            "STRASSE",
            "ß",
            "k@example",
            "\u{212A}",
            "kelvin",
            "+49 30",
            "amélie",
            "AME\u{301}LIE",
            "\"q\"",
            "\"",
            "lie \"",
            "schlüssel",
            "SCHLÜSSEL",
            "wert",
            "1.50",
            "1.5",
            "12345678901234567890",
            "true",
            "null",
            "ǆ",
            "dž",
            "inner",
            "x\ty",
            "\t",
            "wert\0n",
            "ssel",
            // Never across two texts: the end of one and the start of the next.
            "strassek",
            "e.com+49",
            "wertn",
            "lieschl",
            "1.50big",
            "truez",
            "u1_xstra",
        ];
        for query in queries {
            assert_search_text_agrees(&user, &doc, query);
        }
        assert!(!Filter::new("a\0b").fits_search_text());
        for query in ["", "a", "\"q\"", "x\ty", "STRASSE"] {
            assert!(
                Filter::new(query).fits_search_text(),
                "{query:?}: no NUL, answered from the search text"
            );
        }
    }

    fn arbitrary_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[a-cA-Cß\u{212A}kKé\u{301}e\"\\ 0-9.\u{1C4}-\u{1C6}İı]{0,6}")
            .expect("a valid pattern")
    }

    proptest::proptest! {
        #[test]
        fn search_text_answers_as_the_filter_for_random_users(
            fields in proptest::array::uniform4(proptest::option::of(arbitrary_text())),
            entries in proptest::collection::vec((arbitrary_text(), arbitrary_text(), -1000i64..1000, proptest::bool::ANY), 0..4),
            query in arbitrary_text(),
        ) {
            let fields = [fields[0].as_deref(), fields[1].as_deref(), fields[2].as_deref(), fields[3].as_deref()];
            // Field values the user record refuses (an email without @) never reach a store.
            proptest::prop_assume!(valid_user(fields).is_some());
            let user = user(fields);
            let mut doc = Map::new();
            for (key, text, number, flag) in entries {
                let value = if flag { Value::from(text) } else { serde_json::json!([number, {"k": flag}]) };
                doc.insert(key, value);
            }
            assert_search_text_agrees(&user, &doc, &query);
        }
    }
}
