//! A line diff drawn compactly ([`compact`]): the changed lines with a little context, `⋯`
//! between hunks, one row a line.

use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::domain::diff::{DiffLine, LineChange, Shown, compact};
use crate::inert;
use crate::tui::theme::Theme;

/// Columns kept before a change when a line is shown from its first difference.
const BEFORE_THE_CHANGE: usize = 12;

/// The rows of `diff` for a pane `width` columns wide. A line longer than the pane is cut
/// with `…`; a changed line whose first difference from its partner lies past the edge is
/// shown from a little before that difference (`- …`), its partner from the same place, so
/// the change itself is always on screen (a long value changed at its end showed two rows
/// alike). Its key stays in front (`"note": …xxx-old"`).
pub fn lines(diff: &[DiffLine], theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let room = width.saturating_sub(2);
    let mut out: Vec<Line<'static>> = compact(diff)
        .into_iter()
        .map(|row| {
            let Shown::Line { line, partner } = row else {
                return Line::from(Span::styled("  ⋯", theme.dim));
            };
            let text = shallow(shown_text(line), room);
            let from =
                partner.map_or(0, |partner| start_for(&text, &shallow(shown_text(partner), room), room));
            let text = window(&text, from, room);
            match line.change {
                LineChange::Same => Line::from(format!("  {text}")),
                LineChange::Removed => Line::from(Span::styled(format!("- {text}"), theme.removed)),
                LineChange::Added => Line::from(Span::styled(format!("+ {text}"), theme.added)),
            }
        })
        .collect();
    if out.is_empty() {
        out.push(Line::from(Span::styled("(no difference)", theme.dim)));
    }
    out
}

/// A diff line as the screen shows it: JSON escapes for invisible characters, controls inert.
fn shown_text(line: &DiffLine) -> String {
    inert::line(&inert::json(&line.text)).into_owned()
}

/// `text` with its indentation cut to a third of the `room`: a line nested 60 deep was all
/// spaces to the pane's edge, a changed one shown without its key and its context as a lone
/// `…` (bb18 L03). Deeper lines keep their depth among themselves no longer, their keys do.
fn shallow(text: String, room: usize) -> String {
    let indent = text.len() - text.trim_start_matches(' ').len();
    let most = room / 3;
    if indent <= most {
        return text;
    }
    format!("{}{}", " ".repeat(most), &text[indent..])
}

/// The grapheme cluster `text` is shown from in `room` columns: 0 when its first difference
/// from `partner` fits with a little after it, else a little before that difference.
fn start_for(text: &str, partner: &str, room: usize) -> usize {
    let differs_at = text.graphemes(true).zip(partner.graphemes(true)).take_while(|(a, b)| a == b).count();
    let before: Vec<usize> = text.graphemes(true).take(differs_at).map(UnicodeWidthStr::width).collect();
    if before.iter().sum::<usize>() + BEFORE_THE_CHANGE < room {
        return 0;
    }
    // Back from the difference until BEFORE_THE_CHANGE columns (at most a third of the room).
    let keep = BEFORE_THE_CHANGE.min(room / 3);
    let mut width = 0;
    let mut from = differs_at;
    while from > 0 && width + before[from - 1] <= keep {
        width += before[from - 1];
        from -= 1;
    }
    from
}

/// The characters of a line's indentation and key (`    "note": `), which a line shown from
/// further on keeps in front, so the row still says which value it is; 0 when the line has no
/// key. (Characters, which are clusters here: a key's quote and colon are never joined.)
fn key_part(text: &str) -> usize {
    let mut chars = text.chars().enumerate().skip_while(|(_, c)| *c == ' ');
    if !matches!(chars.next(), Some((_, '"'))) {
        return 0;
    }
    let mut escaped = false;
    for (i, c) in chars.by_ref() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let after = text.chars().skip(i + 1).take(2).collect::<String>();
                return if after == ": " { i + 3 } else { 0 };
            }
            _ => {}
        }
    }
    0
}

/// `text` from its grapheme cluster `from` (its key in front and `…` between when that is not
/// the start), cut to `room` columns.
fn window(text: &str, from: usize, room: usize) -> String {
    if from == 0 {
        return inert::cut_to_width(text, room).into_owned();
    }
    // The key's characters as clusters: a key ends with `": `, which no mark joins.
    let key = text.chars().take(key_part(text)).collect::<String>().graphemes(true).count();
    let head: String = text.graphemes(true).take(key).collect();
    // The key in front only while it leaves the change room (a very long key is cut away).
    let head = if key < from && inert::columns(&head) <= room / 2 { head } else { String::new() };
    let rest: String = text.graphemes(true).skip(from).collect();
    let room = room.saturating_sub(inert::columns(&head) + 1);
    format!("{head}…{}", inert::cut_to_width(&rest, room))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::diff::line_diff;

    fn rows(old: &str, new: &str, width: usize) -> Vec<String> {
        lines(&line_diff(old, new), &Theme::plain(), width).iter().map(|line| line.to_string()).collect()
    }

    /// A value changed past the pane's edge: both rows start a little before the change, so
    /// it is on screen; a short change and an unchanged long line start at the beginning.
    #[test]
    fn a_change_past_the_edge_is_shown_from_a_little_before_it_on_both_rows() {
        let long = "x".repeat(100);
        let old = format!("{{\n  \"note\": \"{long}a-end\",\n  \"short\": 1,\n  \"same\": \"{long}\"\n}}\n");
        let new = format!("{{\n  \"note\": \"{long}B-end\",\n  \"short\": 2,\n  \"same\": \"{long}\"\n}}\n");
        let shown = rows(&old, &new, 40);
        let removed =
            shown.iter().find(|r| r.starts_with("-   \"note\": …")).expect("the removed row shifted");
        let added = shown.iter().find(|r| r.starts_with("+   \"note\": …")).expect("the added row shifted");
        assert!(removed.contains("xa-end"), "{shown:#?}");
        assert!(added.contains("xB-end"), "{shown:#?}");
        assert_eq!(removed.chars().position(|c| c == 'a'), added.chars().position(|c| c == 'B'), "aligned");
        assert!(shown.iter().all(|r| inert::columns(r) <= 40), "{shown:#?}");
        assert!(
            shown.contains(&"-   \"short\": 1,".to_owned())
                && shown.contains(&"+   \"short\": 2,".to_owned())
        );
        let same = shown.iter().find(|r| r.contains("\"same\"")).expect("context");
        assert!(same.starts_with("    \"same\": \"xxx") && same.ends_with('…'), "{same}");
    }

    /// bb18 L03: a value changed 60 levels deep showed `- …xxxy"` without its key, and its
    /// context rows as a lone `…`: the indentation took the whole pane.
    #[test]
    fn a_line_nested_deeper_than_the_pane_keeps_its_key_and_its_context_shows_theirs() {
        let open: String = (0..60).map(|depth| format!("{}\"k\": {{\n", "  ".repeat(depth + 1))).collect();
        let close: String = (0..60).rev().map(|depth| format!("{}}}\n", "  ".repeat(depth + 1))).collect();
        let leaf = |end: &str| format!("{}\"leaf\": \"{}{end}\"\n", "  ".repeat(61), "x".repeat(300));
        let old = format!("{{\n{open}{}{close}}}\n", leaf("y"));
        let new = format!("{{\n{open}{}{close}}}\n", leaf("x"));
        let shown = rows(&old, &new, 78);
        let removed = shown.iter().find(|r| r.starts_with('-')).expect("the removed row");
        assert!(removed.contains("\"leaf\": …") && removed.ends_with("xy\""), "{shown:#?}");
        let added = shown.iter().find(|r| r.starts_with('+')).expect("the added row");
        assert!(added.contains("\"leaf\": …") && added.ends_with("xx\""), "{shown:#?}");
        let context: Vec<&String> = shown.iter().filter(|r| r.starts_with("  ") && r.trim() != "⋯").collect();
        assert!(
            !context.is_empty() && context.iter().all(|r| r.contains("\"k\": {") || r.trim() == "}"),
            "{shown:#?}"
        );
        assert!(shown.iter().all(|r| inert::columns(r) <= 78), "{shown:#?}");
    }

    #[test]
    fn the_key_part_is_the_indentation_and_the_key_with_its_colon() {
        assert_eq!(key_part(r#"    "note": "x""#), 12);
        assert_eq!(key_part(r#"  "a\"b": 1"#), 10, "an escaped quote is inside the key");
        assert_eq!(key_part(r#"    "item in an array","#), 0);
        assert_eq!(key_part("    12,"), 0);
    }

    proptest::proptest! {
        /// Whatever the lines hold (wide characters, controls, escapes) and however narrow the
        /// pane (three columns at least: a mark and `…`), every row fits it and nothing panics.
        #[test]
        fn every_row_fits_the_pane(
            old in proptest::collection::vec("[a-z\": 漢\u{1b}\u{202e}]{0,120}", 1..6),
            new in proptest::collection::vec("[a-z\": 漢\u{1b}\u{202e}]{0,120}", 1..6),
            width in 0usize..90,
        ) {
            let shown = rows(&old.join("\n"), &new.join("\n"), width);
            for row in shown.iter().filter(|row| row.as_str() != "(no difference)") {
                let fits = inert::columns(row) <= width.max(3);
                proptest::prop_assert!(fits, "{row:?} at {width}");
            }
        }
    }
}
