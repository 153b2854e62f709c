//! The editor's idea of where a character is on screen, after custodian's patch to
//! ratatui-textarea (vendor/ratatui-textarea/PATCHES.md): a line of printable ASCII is measured
//! by its length and an ASCII char without a call into the width tables. The cursor must land
//! where the text ends whatever the line holds — tabs, control chars, wide and combining chars.

use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Widget;
use ratatui_textarea::{CursorMove, TextArea};
use unicode_width::UnicodeWidthChar;

const TAB: usize = 4;

/// The cell after the last char of `line` as ratatui-textarea's unpatched rule counts it: a tab
/// pads to the next multiple of the tab length, a control char takes no cell, every other char
/// its Unicode width.
fn end_column(line: &str) -> usize {
    line.chars().fold(0, |col, c| match c {
        '\t' => col + TAB - col % TAB,
        c if c.is_control() => col,
        c => col + c.width().unwrap_or(0),
    })
}

/// Where the textarea draws its cursor after `End` on the first line, in an area `width` wide
/// (a narrower area than the line scrolls it sideways by the measured widths), and the column
/// it scrolled to.
fn drawn_cursor_column(line: &str, width: u16) -> (Option<usize>, usize) {
    let mut textarea = TextArea::new(vec![line.to_string(), "x".to_string()]);
    textarea.set_tab_length(TAB as u8);
    textarea.move_cursor(CursorMove::End);
    let area = Rect::new(0, 0, width, 3);
    let mut buffer = Buffer::empty(area);
    (&textarea).render(area, &mut buffer);
    let drawn = (0..area.width).find(|&x| buffer[(x, 0)].modifier.contains(Modifier::REVERSED));
    (drawn.map(usize::from), usize::from(textarea.scroll_offset().1))
}

/// The cursor after the line's end and the sideways scroll that keeps it in view, in an area
/// `width` wide: the cursor at the end when it fits, else in the last column.
fn expected(line: &str, width: u16) -> (Option<usize>, usize) {
    let (end, last) = (end_column(line), usize::from(width) - 1);
    (Some(end.min(last)), end.saturating_sub(last))
}

fn line_of(chars: &'static [char]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(chars), 0..60).prop_map(String::from_iter)
}

#[test]
fn the_cursor_ends_where_a_printable_ascii_line_ends() {
    let line = r#"    "path": "/app/section/12", "ms": 345 }, ~!@#$%^&*()_+`{}|[]\:;'<>?,./"#;
    assert_eq!(drawn_cursor_column(line, 400), (Some(line.len()), 0));
    assert_eq!(drawn_cursor_column(line, 20), (Some(19), line.len() - 19));
}

#[test]
fn the_cursor_ends_after_tabs_control_chars_and_wide_chars_as_measured_char_by_char() {
    let long = [
        "\t\t\t\t\t\t\t\t\t\ta",
        "東京東京東京東京東京東京東京東京東京東京東京",
        "a\u{1}b\u{1}c\u{1}d\u{1}e\u{1}f\u{1}g0123456789",
    ];
    for line in ["a\tb", "\t\t", "a\u{1}b", "東京 x", "sección", "e\u{301}x", "क्षि", "\u{7f}z"]
        .into_iter()
        .chain(long)
    {
        assert_eq!(drawn_cursor_column(line, 20), expected(line, 20), "{line:?}");
    }
}

proptest! {
    #[test]
    fn the_cursor_ends_where_the_line_ends_for_any_mix_of_chars(
        line in prop_oneof![
            line_of(&['a', 'Z', ' ', '~', '{', '"', '\t', '\u{1}', '\u{7f}']),
            line_of(&['a', 'Z', ' ', '~', '{', '"', '\t', '\u{1}', '\u{7f}', 'é', '東', '\u{301}', 'क', '😀']),
        ]
    ) {
        prop_assert_eq!(drawn_cursor_column(&line, 20), expected(&line, 20), "{:?}", line);
    }
}
