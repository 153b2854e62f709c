//! How an operator names a user: a bare text that may be an id, a username, a primary email
//! or a primary phone, or an explicit `id:…`, `username:…`, `email:…`, `phone:…` that says
//! which. One string can be one user's id and another's username; the explicit forms let an
//! operator say which one they mean, and a bare text that names two users is refused.

use std::fmt;

/// Which field of a user a reference matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserField {
    Id,
    Username,
    Email,
    Phone,
}

impl UserField {
    /// Every field a bare reference is looked up in, in the order they are named.
    pub const ALL: [UserField; 4] = [UserField::Id, UserField::Username, UserField::Email, UserField::Phone];

    /// The prefix of the explicit form (`id`, `username`, `email`, `phone`).
    pub fn prefix(self) -> &'static str {
        match self {
            UserField::Id => "id",
            UserField::Username => "username",
            UserField::Email => "email",
            UserField::Phone => "phone",
        }
    }

    /// How a message names the field.
    pub fn describe(self) -> &'static str {
        match self {
            UserField::Id => "id",
            UserField::Username => "username",
            UserField::Email => "primary email",
            UserField::Phone => "primary phone",
        }
    }
}

/// A parsed user reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// The text looked up (without the prefix of an explicit form).
    pub text: String,
    /// The one field an explicit form names; `None` for a bare reference (every field).
    pub field: Option<UserField>,
}

impl UserRef {
    /// Reads `id:…`, `username:…`, `email:…` or `phone:…` as an explicit reference, anything
    /// else as a bare one. Ids are `[A-Za-z0-9_-]` and emails need an `@` after their local
    /// part, so a prefix cannot be mistaken for the start of one of them; a username that
    /// really starts so is named `username:id:…`.
    ///
    /// White space around the text is dropped (as a reference copied from `list` may carry):
    /// ids never have any, and names are matched by their fold, which drops it too, so a
    /// reference reads the same in every field it is looked up in.
    pub fn parse(reference: &str) -> UserRef {
        if let Some(id) = Self::quoted_id(reference) {
            return UserRef { text: id, field: Some(UserField::Id) };
        }
        let reference = reference.trim();
        if let Some((prefix, rest)) = reference.split_once(':') {
            for field in UserField::ALL {
                if prefix == field.prefix() {
                    return UserRef { text: rest.trim().to_owned(), field: Some(field) };
                }
            }
        }
        UserRef { text: reference.to_owned(), field: None }
    }

    /// The id as typed, white space kept, where dropping it changed the text (`id: f15a`,
    /// `" f15a"`): an id written by SQL may carry some, beside a user whose id is the same
    /// without it. `None` for a reference that is not looked up by id, or had none.
    pub fn id_as_typed(raw: &str) -> Option<String> {
        if Self::quoted_id(raw).is_some() {
            return None;
        }
        let parsed = UserRef::parse(raw);
        if !parsed.fields().contains(&UserField::Id) {
            return None;
        }
        let typed = match parsed.field {
            Some(_) => raw.trim_start().split_once(':')?.1,
            None => raw,
        };
        (typed != parsed.text && !typed.is_empty()).then(|| typed.to_owned())
    }

    /// `id:"…"`: the id inside a JSON string, exactly, white space and all. Where SQL wrote
    /// `" f15a"` beside `f15a`, `id: f15a` names both (white space around a reference is
    /// dropped), so this is the one way to name the spaced one alone.
    fn quoted_id(reference: &str) -> Option<String> {
        let quoted = reference.trim().strip_prefix("id:")?.trim();
        if !quoted.starts_with('"') {
            return None;
        }
        serde_json::from_str::<String>(quoted).ok()
    }

    /// How a message writes the explicit form naming the id `id`: `id:f15a`, or `id:" f15a"`
    /// (a JSON string) for an id that holds white space, a comma or a quote.
    pub fn id_form(id: &str) -> String {
        format!("id:{}", Self::shown_id(id))
    }

    /// How a message shows the id `id`: as it is, or as a JSON string where a list of them
    /// would read wrong (`" f15a"`, where `user  f15a` hid the space; `a b`, `x,y`).
    pub fn shown_id(id: &str) -> String {
        if !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c == ',' || c == '"') {
            id.to_owned()
        } else {
            serde_json::Value::from(id).to_string()
        }
    }

    /// Whether the text is empty or only white space (as its lookup key): it names no one.
    pub fn is_blank(&self) -> bool {
        crate::domain::fold::name_key(&self.text).is_empty()
            || crate::domain::fold::phone_key(&self.text).is_empty()
    }

    /// The field a bare reference seems to name with a prefix written otherwise than the
    /// explicit form's (`Id:zzz`, `ＩＤ:zzz`): the prefix folds to one, but is not it. Such a
    /// reference is refused rather than looked up as a name, since `id:zzz` is what was meant
    /// more likely than a username that reads `Id:zzz`.
    pub fn looks_explicit(&self) -> Option<UserField> {
        if self.field.is_some() {
            return None;
        }
        let (prefix, _) = split_at_a_colon(&self.text)?;
        let folded = crate::domain::fold::name_key(prefix);
        UserField::ALL.into_iter().find(|field| folded == field.prefix())
    }

    /// The fields this reference is looked up in.
    pub fn fields(&self) -> &'static [UserField] {
        match self.field {
            None => &UserField::ALL,
            Some(UserField::Id) => &[UserField::Id],
            Some(UserField::Username) => &[UserField::Username],
            Some(UserField::Email) => &[UserField::Email],
            Some(UserField::Phone) => &[UserField::Phone],
        }
    }
}

/// Characters that read as a colon: `:` itself, its full-width and compatibility forms (NFKC
/// makes them `:`, as an IME in full-width mode types them) and look-alikes (ratio, modifier
/// letter colons, …). `ｉｄ：bob` folded to the username `id:bob` and saved into its holder
/// (bb52 F1).
const COLONS: [char; 14] = [
    ':', '\u{ff1a}', '\u{fe55}', '\u{fe13}', '\u{2236}', '\u{a789}', '\u{02f8}', '\u{0589}', '\u{05c3}',
    '\u{205a}', '\u{1804}', '\u{16ec}', '\u{0703}', '\u{0704}',
];

/// The text before and after its first colon of any of [`COLONS`].
pub fn split_at_a_colon(text: &str) -> Option<(&str, &str)> {
    let (at, colon) = text.char_indices().find(|(_, c)| COLONS.contains(c))?;
    Some((&text[..at], &text[at + colon.len_utf8()..]))
}

/// One user a reference matched, and by which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMatch {
    pub id: String,
    pub field: UserField,
}

impl fmt::Display for UserMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {} by {}", UserRef::shown_id(&self.id), self.field.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_as_typed_keeps_its_white_space_only_where_trimming_changed_it() {
        assert_eq!(UserRef::id_as_typed("id: f15a").as_deref(), Some(" f15a"));
        assert_eq!(UserRef::id_as_typed(" f15a").as_deref(), Some(" f15a"));
        assert_eq!(UserRef::id_as_typed("Dave ").as_deref(), Some("Dave "));
        assert_eq!(UserRef::id_as_typed("id:f15a"), None);
        assert_eq!(UserRef::id_as_typed("f15a"), None);
        assert_eq!(UserRef::id_as_typed("username: f15a"), None, "not looked up by id");
    }

    #[test]
    fn an_id_in_a_json_string_is_named_exactly_and_shown_so_where_white_space_surrounds_it() {
        let exact = UserRef::parse(r#"id:" f15a""#);
        assert_eq!((exact.text.as_str(), exact.field), (" f15a", Some(UserField::Id)));
        assert_eq!(UserRef::parse(r#" id: "a\tb" "#).text, "a\tb");
        assert_eq!(UserRef::id_as_typed(r#"id:" f15a""#), None, "exact: nothing else to look up");
        // Not a JSON string: the text as it is (which no id has).
        assert_eq!(UserRef::parse(r#"id:" f15a"#).text, "\" f15a");
        assert_eq!(UserRef::parse(r#"username:"x""#).text, "\"x\"", "only ids");
        assert_eq!(UserRef::id_form("f15a"), "id:f15a");
        assert_eq!(UserRef::id_form(" f15a"), r#"id:" f15a""#);
        assert_eq!(UserRef::id_form("f15a\n"), r#"id:"f15a\n""#);
        assert_eq!(UserRef::id_form("\"q"), r#"id:"\"q""#);
        assert_eq!(UserRef::id_form("a b"), r#"id:"a b""#, "a list of them reads right");
        assert_eq!(UserRef::id_form("x,y"), r#"id:"x,y""#);
        assert_eq!(
            UserMatch { id: " f15a".into(), field: UserField::Id }.to_string(),
            r#"user " f15a" by id"#
        );
        assert_eq!(UserMatch { id: "f15a".into(), field: UserField::Id }.to_string(), "user f15a by id");
    }

    #[test]
    fn explicit_forms_name_one_field_and_anything_else_is_bare() {
        let parsed = |s: &str| {
            let r = UserRef::parse(s);
            (r.text, r.field)
        };
        assert_eq!(parsed("id:u1"), ("u1".into(), Some(UserField::Id)));
        assert_eq!(parsed("username:id:x"), ("id:x".into(), Some(UserField::Username)));
        assert_eq!(parsed("email:a@b.c"), ("a@b.c".into(), Some(UserField::Email)));
        assert_eq!(parsed("phone:+4930"), ("+4930".into(), Some(UserField::Phone)));
        assert_eq!(parsed("alice"), ("alice".into(), None));
        assert_eq!(parsed("mailto:a@b.c"), ("mailto:a@b.c".into(), None));
        assert_eq!(parsed("ID:u1"), ("ID:u1".into(), None), "prefixes are lower case, as documented");
        assert_eq!(parsed(" Dave \t"), ("Dave".into(), None), "copied with the spaces around it");
        assert_eq!(parsed(" id: u1 "), ("u1".into(), Some(UserField::Id)));
    }

    #[test]
    fn a_prefix_written_in_another_case_or_width_looks_explicit_and_is_not() {
        let looks = |s: &str| UserRef::parse(s).looks_explicit();
        assert_eq!(looks("Id:zzz"), Some(UserField::Id));
        assert_eq!(looks("ID:u1"), Some(UserField::Id));
        assert_eq!(looks("\u{ff49}\u{ff44}:zzz"), Some(UserField::Id), "full-width");
        assert_eq!(looks("EMAIL:a@b.c"), Some(UserField::Email));
        assert_eq!(looks("Username:x"), Some(UserField::Username));
        assert_eq!(looks("Phone:+1"), Some(UserField::Phone));
        // The colon in another width, or one that reads as a colon (bb52 F1).
        for colon in ["\u{ff1a}", "\u{fe55}", "\u{fe13}", "\u{2236}", "\u{a789}"] {
            assert_eq!(looks(&format!("id{colon}bob")), Some(UserField::Id), "{colon:?}");
            assert_eq!(looks(&format!("\u{ff49}\u{ff44}{colon}bob")), Some(UserField::Id), "{colon:?}");
            assert_eq!(looks(&format!("username{colon}x")), Some(UserField::Username), "{colon:?}");
        }
        for not in ["id:zzz", "zzz", "mailto:a@b.c", "idx:1", "d:1", "id;bob", "id.bob"] {
            assert_eq!(looks(not), None, "{not:?}");
        }
    }

    #[test]
    fn empty_or_white_space_text_is_blank_and_anything_visible_is_not() {
        for blank in ["", " ", "\t\n", "username:", "email:  ", "phone:\u{3000}", "\u{a0}"] {
            assert!(UserRef::parse(blank).is_blank(), "{blank:?}");
        }
        for named in ["a", " a ", "id:x", "username:_", "\u{200b}", "username"] {
            assert!(!UserRef::parse(named).is_blank(), "{named:?}");
        }
    }
}
