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
    end_column_with_tabs(line, TAB)
}

fn end_column_with_tabs(line: &str, tab: usize) -> usize {
    line.chars().fold(0, |col, c| match c {
        '\t' => col + tab - col % tab,
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
    cursor_after_end_of_line(&mut textarea, 0, width)
}

/// The same, for line `row` of a text area that may have been edited before: drawn as it is,
/// so the widths it kept from earlier loads are what place the cursor.
fn cursor_after_end_of_line(textarea: &mut TextArea, row: usize, width: u16) -> (Option<usize>, usize) {
    let area = Rect::new(0, 0, width, row as u16 + 3);
    // The sideways scroll is the text area's, not a line's: drawn at the line's start first,
    // it starts from the left edge, as a fresh text area does.
    textarea.move_cursor(CursorMove::Jump(row, 0));
    (&*textarea).render(area, &mut Buffer::empty(area));
    textarea.move_cursor(CursorMove::End);
    let mut buffer = Buffer::empty(area);
    (&*textarea).render(area, &mut buffer);
    // Only the cursor's cell is drawn in reverse video (nothing is selected).
    let drawn = (0..area.height)
        .find_map(|y| (0..area.width).find(|&x| buffer[(x, y)].modifier.contains(Modifier::REVERSED)));
    (drawn.map(usize::from), textarea.scroll_offset().1)
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

/// Where `Back` from the start of line `row + 1` lands, and where `Forward` from the end of line
/// `row` does: the end of line `row` and the start of the next one, when the text area knows
/// how wide line `row` is (both moves go by its measured width, in screen columns).
fn moves_across_the_end_of_line(textarea: &mut TextArea, row: usize) -> ((usize, usize), (usize, usize)) {
    textarea.move_cursor(CursorMove::Jump(row + 1, 0));
    textarea.move_cursor(CursorMove::Back);
    let back = textarea.cursor();
    textarea.move_cursor(CursorMove::Jump(row, usize::MAX));
    textarea.move_cursor(CursorMove::Forward);
    let forward = textarea.cursor();
    ((back.0, back.1), (forward.0, forward.1))
}

fn across_the_end(textarea: &TextArea, row: usize) -> ((usize, usize), (usize, usize)) {
    ((row, back_column(&textarea.lines()[row], textarea.tab_length().into())), (row + 1, 0))
}

/// The char `Back` lands before at the end of `line`: its measured width as a column, turned
/// back into chars as ratatui-textarea does — stopping once the width is reached, so zero-width
/// chars at the end (a combining mark, a control char) stay after the cursor.
fn back_column(line: &str, tab: usize) -> usize {
    let end = end_column_with_tabs(line, tab);
    let (mut column, mut chars) = (0, 0);
    for _ in line.chars() {
        let width = end_column_with_tabs(&line.chars().take(chars + 1).collect::<String>(), tab) - column;
        if column >= end || column + width > end {
            break;
        }
        column += width;
        chars += 1;
    }
    chars
}

#[test]
fn a_line_measured_before_is_measured_again_when_the_tab_length_changes() {
    // A tab's width depends on the tab length; measured with 4, the line is narrower than
    // with 8, and `Back` would stop short of its end.
    let mut textarea = TextArea::new(vec!["東\tx\t東\t東".to_string(), "x".to_string()]);
    textarea.set_tab_length(4);
    assert_eq!(moves_across_the_end_of_line(&mut textarea, 0), across_the_end(&textarea, 0));
    textarea.set_tab_length(8);
    assert_eq!(moves_across_the_end_of_line(&mut textarea, 0), across_the_end(&textarea, 0));
}

/// An edit of the text area: a char typed or deleted somewhere.
#[derive(Debug, Clone)]
enum Edit {
    Type {
        row: usize,
        column: usize,
        c: char,
    },
    Delete {
        row: usize,
        column: usize,
    },
    Break {
        row: usize,
        column: usize,
    },
    /// The last edit taken back (the map is the history's to restore).
    Undo,
    /// A selection from one place to another typed over.
    TypeOver {
        from: (usize, usize),
        to: (usize, usize),
        c: char,
    },
}

proptest! {
    /// After any edits, every line's end is where its chars put it: the widths kept between
    /// loads (by a line's text) never outlive the text they were measured for.
    #[test]
    fn after_edits_every_line_ends_where_its_chars_put_it(
        lines in prop::collection::vec(line_of(&['a', ' ', '\t', 'é', '東', '\u{301}', '😀', '界', 'b']), 1..6),
        edits in prop::collection::vec(
            prop_oneof![
                (0..6usize, 0..12usize, prop::sample::select(&['b', '東', 'é', '\t', '界'][..]))
                    .prop_map(|(row, column, c)| Edit::Type { row, column, c }),
                (0..6usize, 0..12usize).prop_map(|(row, column)| Edit::Delete { row, column }),
                (0..6usize, 0..12usize).prop_map(|(row, column)| Edit::Break { row, column }),
                Just(Edit::Undo),
                ((0..6usize, 0..12usize), (0..6usize, 0..12usize), prop::sample::select(&['b', '東'][..]))
                    .prop_map(|(from, to, c)| Edit::TypeOver { from, to, c }),
            ],
            0..12,
        ),
    ) {
        // A last line to move into from the end of the others.
        let mut textarea = TextArea::new(lines.into_iter().chain(["x".to_string()]).collect());
        textarea.set_tab_length(TAB as u8);
        for edit in edits {
            match edit {
                Edit::Type { row, column, c } => {
                    textarea.move_cursor(CursorMove::Jump(row, column));
                    textarea.insert_char(c);
                }
                Edit::Delete { row, column } => {
                    textarea.move_cursor(CursorMove::Jump(row, column));
                    textarea.delete_next_char();
                }
                Edit::Break { row, column } => {
                    textarea.move_cursor(CursorMove::Jump(row, column));
                    textarea.insert_newline();
                }
                Edit::Undo => {
                    textarea.undo();
                }
                Edit::TypeOver { from, to, c } => {
                    textarea.move_cursor(CursorMove::Jump(from.0, from.1));
                    textarea.start_selection();
                    textarea.move_cursor(CursorMove::Jump(to.0, to.1));
                    textarea.insert_char(c);
                }
            }
            let now: Vec<String> = textarea.lines().to_vec();
            for row in 0..now.len() - 1 {
                prop_assert_eq!(
                    moves_across_the_end_of_line(&mut textarea, row),
                    across_the_end(&textarea, row),
                    "line {} of {:?}", row, now
                );
            }
        }
        let now: Vec<String> = textarea.lines().to_vec();
        // After the edits, every move from every place goes where it goes in a text area made
        // afresh with the same lines (whose map is measured whole).
        let mut fresh = TextArea::new(now.clone());
        fresh.set_tab_length(TAB as u8);
        for (row, line) in now.iter().enumerate() {
            for column in 0..=line.chars().count() {
                for step in [CursorMove::Up, CursorMove::Down, CursorMove::Forward, CursorMove::Back] {
                    let place = CursorMove::Jump(row, column);
                    textarea.move_cursor(place);
                    textarea.move_cursor(step);
                    fresh.move_cursor(place);
                    fresh.move_cursor(step);
                    prop_assert_eq!(textarea.cursor(), fresh.cursor(), "{:?} from ({}, {}) in {:?}", step, row, column, now);
                }
            }
        }
    }
}
