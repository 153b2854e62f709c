//! `i`: the selected user whole — every property Logto's user object holds (`profile`,
//! `identities`, `applicationId` and fields custodian does not know too, which the profile pane
//! has no room for), each value whole, wrapped at the overlay's edge (the pane cuts a long
//! avatar URL or name with `…`). One layout for the view, which draws it, and the state, which
//! scrolls it, as for the help.

use serde_json::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::domain::time::format_utc;
use crate::inert;
use crate::store::UserRecord;
use crate::tui::layout;

/// Columns of the labels, the gap after them included.
pub const LABEL_WIDTH: usize = 14;

/// One row of the overlay: a label (blank on a value's later rows) and a piece of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub text: String,
}

/// The rows of `record` for a terminal `width` columns wide.
pub fn rows(record: &UserRecord, width: u16) -> Vec<Row> {
    let room = usize::from(layout::overlay_inner(width, 0).0).saturating_sub(LABEL_WIDTH).max(8);
    let user = &record.user;
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let json = |object: &Map<String, Value>| {
        serde_json::to_string_pretty(&Value::Object(object.clone())).unwrap_or_default()
    };
    // (label, value, whether the value is JSON text)
    let mut fields: Vec<(String, String, bool)> = vec![
        ("id".into(), user.id.clone(), false),
        ("username".into(), text(&user.username), false),
        ("primaryEmail".into(), text(&user.primary_email), false),
        ("primaryPhone".into(), text(&user.primary_phone), false),
        ("name".into(), text(&user.name), false),
        ("avatar".into(), text(&user.avatar), false),
        ("isSuspended".into(), if user.is_suspended { "yes" } else { "no" }.into(), false),
        ("createdAt".into(), format_utc(user.created_at), false),
        ("updatedAt".into(), format_utc(user.updated_at), false),
        ("lastSignInAt".into(), user.last_sign_in_at.map_or_else(|| "never".to_owned(), format_utc), false),
        ("applicationId".into(), text(&user.application_id), false),
        ("profile".into(), json(&user.profile), true),
        ("identities".into(), json(&user.identities), true),
    ];
    for (key, value) in &user.extra {
        fields.push((key.clone(), serde_json::to_string_pretty(value).unwrap_or_default(), true));
    }
    let saved =
        format!("{} · saved {} by {}", record.revision, format_utc(record.revised_at), record.revised_by);
    fields.push(("revision".into(), saved, false));
    fields.push(("customData".into(), "in its pane (e edits it, Tab reads it as a tree)".into(), false));
    let mut rows = Vec::new();
    for (label, value, is_json) in fields {
        // Keys and values came from an import or SQL: inert; JSON's invisible characters as
        // their escapes (the same value), a plain value's line breaks as markers.
        // A field named by the empty string is shown as that string, not as no name (its
        // value read as a line of the field above: bb16 L14).
        let label = if label.is_empty() { "\"\"".to_owned() } else { inert::line(&label).into_owned() };
        let lines: Vec<String> = if is_json {
            value.split('\n').map(|line| inert::line(&inert::json(line)).into_owned()).collect()
        } else {
            vec![inert::line(&value).into_owned()]
        };
        let mut pieces: Vec<String> = lines.iter().flat_map(|line| pieces_of(line, room)).collect();
        if inert::columns(&label) >= LABEL_WIDTH {
            // A long key of an unknown field: whole, on rows of its own (it was cut with no
            // mark: bb16 L14), its value below.
            rows.extend(pieces_of(&label, room).into_iter().map(|text| Row { label: String::new(), text }));
            pieces.iter_mut().for_each(|piece| piece.insert_str(0, "  "));
            rows.extend(pieces.into_iter().map(|text| Row { label: String::new(), text }));
            continue;
        }
        for (at, text) in pieces.into_iter().enumerate() {
            rows.push(Row { label: if at == 0 { label.clone() } else { String::new() }, text });
        }
    }
    rows
}

/// `text` in pieces of at most `room` columns (a wide character or a grapheme cluster is
/// never split).
pub(crate) fn pieces_of(text: &str, room: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut used = 0;
    for cluster in text.graphemes(true) {
        let width = cluster.width();
        if used + width > room && used > 0 {
            pieces.push(String::new());
            used = 0;
        }
        pieces.last_mut().expect("one piece at least").push_str(cluster);
        used += width;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_into_pieces_of_the_room_and_a_wide_character_is_never_split() {
        assert_eq!(pieces_of("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(pieces_of("ab漢字", 3), ["ab", "漢", "字"]);
        assert_eq!(pieces_of("", 3), [""]);
        assert_eq!(pieces_of("👍🏽👍🏽", 3), ["👍🏽", "👍🏽"]);
    }
}
