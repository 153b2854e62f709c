//! The editor's idea of where a character is on screen, after custodian's patch to
//! ratatui-textarea (vendor/ratatui-textarea/PATCHES.md): a line of printable ASCII is measured
//! by its length and an ASCII char without a call into the width tables. The cursor must land
//! where the text ends whatever the line holds — tabs, control chars, wide and combining chars.
//! A grapheme cluster (`👍🏽`, `e\u{301}`, `❤️`) is as wide as ratatui draws it, and the cursor
//! moves over it whole (bb15 L10: char by char, `👍🏽` was 4 columns for 2 cells).

use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Widget;
use ratatui_textarea::{CursorMove, TextArea};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

const TAB: usize = 4;

/// The cell after the last char of `line`, cluster by cluster as ratatui draws them: a tab
/// pads to the next multiple of the tab length, a control char takes no cell, every other
/// cluster its Unicode width as a whole.
fn end_column(line: &str) -> usize {
    end_column_with_tabs(line, TAB)
}

fn end_column_with_tabs(line: &str, tab: usize) -> usize {
    line.graphemes(true).fold(0, |col, g| col + cluster_width(g, col, tab))
}

fn cluster_width(cluster: &str, col: usize, tab: usize) -> usize {
    match cluster {
        "\t" => tab - col % tab,
        g if g.contains(char::is_control) => 0,
        g => g.width(),
    }
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
fn the_cursor_ends_after_tabs_control_chars_wide_chars_and_clusters_as_drawn() {
    let long = [
        "❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}x",
        "👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽👍🏽",
        "\t\t\t\t\t\t\t\t\t\ta",
        "東京東京東京東京東京東京東京東京東京東京東京",
        "a\u{1}b\u{1}c\u{1}d\u{1}e\u{1}f\u{1}g0123456789",
    ];
    for line in [
        "a\tb",
        "\t\t",
        "a\u{1}b",
        "東京 x",
        "sección",
        "e\u{301}x",
        "क्षि",
        "\u{7f}z",
        "👍🏽👍🏽x",
        "❤\u{fe0f}\t❤\u{fe0f}",
    ]
    .into_iter()
    .chain(long)
    {
        assert_eq!(drawn_cursor_column(line, 20), expected(line, 20), "{line:?}");
    }
}

#[test]
fn a_line_of_emoji_with_skin_tones_fills_the_pane_and_the_cursor_steps_over_each_whole() {
    let line = "👍🏽".repeat(30);
    let mut textarea = TextArea::new(vec![line, "x".to_string()]);
    let area = Rect::new(0, 0, 40, 3);
    let mut buffer = Buffer::empty(area);
    (&textarea).render(area, &mut buffer);
    // 20 of them in 40 cells (char by char they were 4 columns each: 10, then blanks), the
    // first under the cursor drawn whole.
    let drawn: Vec<&str> = (0..40).map(|x| buffer[(x, 0)].symbol()).collect();
    assert_eq!(drawn.iter().filter(|&&s| s == "👍🏽").count(), 20, "{drawn:?}");
    assert!(buffer[(0, 0)].modifier.contains(Modifier::REVERSED));
    for step in 1..=30 {
        textarea.move_cursor(CursorMove::Forward);
        assert_eq!(textarea.cursor(), (0, 2 * step), "never between an emoji and its skin tone");
    }
    textarea.move_cursor(CursorMove::Back);
    assert_eq!(textarea.cursor(), (0, 58));
    textarea.move_cursor(CursorMove::Down);
    textarea.move_cursor(CursorMove::Up);
    assert_eq!(textarea.cursor(), (0, 0), "column 1 is inside the first emoji: up lands before it");
    textarea.move_cursor(CursorMove::Forward);
    // Typed after a pair, a char stays outside it; Backspace takes the skin tone first, as the
    // text was typed.
    textarea.insert_char('y');
    assert!(textarea.lines()[0].starts_with("👍🏽y👍🏽"));
    textarea.delete_char();
    textarea.delete_char();
    assert!(textarea.lines()[0].starts_with("👍👍🏽"));
    // A jump into a pair (a find's match, an error's column) lands at its start.
    textarea.move_cursor(CursorMove::Jump(0, 4));
    assert_eq!(textarea.cursor(), (0, 3));
}

proptest! {
    #[test]
    fn the_cursor_ends_where_the_line_ends_for_any_mix_of_chars(
        line in prop_oneof![
            line_of(&['a', 'Z', ' ', '~', '{', '"', '\t', '\u{1}', '\u{7f}']),
            line_of(&['a', 'Z', ' ', '~', '{', '"', '\t', '\u{1}', '\u{7f}', 'é', '東', '\u{301}', 'क', '😀']),
            line_of(&['a', '\t', '👍', '\u{1f3fd}', '\u{200d}', '💻', '❤', '\u{fe0f}', '\u{301}', '東']),
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
/// back into chars as the text area does, cluster by cluster — stopping once the width is
/// reached, so a zero-width cluster at the end (a control char) stays after the cursor, and a
/// combining mark goes with the char it marks.
fn back_column(line: &str, tab: usize) -> usize {
    let end = end_column_with_tabs(line, tab);
    let (mut column, mut chars) = (0, 0);
    for cluster in line.graphemes(true) {
        let width = cluster_width(cluster, column, tab);
        if column >= end || column + width > end {
            break;
        }
        column += width;
        chars += cluster.chars().count();
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
        lines in prop::collection::vec(line_of(&['a', ' ', '\t', 'é', '東', '\u{301}', '😀', '界', 'b', '👍', '\u{1f3fd}']), 1..6),
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

/// Deleting from the second line to the end of a long text leaves a text that fits the view:
/// it is shown from its first line (the view stayed scrolled, `{` above it, a nearly empty
/// pane: bb26 T09).
#[test]
fn a_text_cut_short_is_shown_from_its_first_line_once_it_fits() {
    let mut textarea: TextArea = (0..60).map(|i| format!("line {i}")).collect();
    let area = Rect::new(0, 0, 30, 10);
    textarea.move_cursor(CursorMove::Bottom);
    (&textarea).render(area, &mut Buffer::empty(area));
    assert_eq!(textarea.scroll_offset().0, 50, "the last ten lines on screen");
    textarea.move_cursor(CursorMove::Jump(1, 0));
    textarea.start_selection();
    textarea.move_cursor(CursorMove::Bottom);
    textarea.move_cursor(CursorMove::End);
    textarea.cut();
    assert_eq!(textarea.lines().len(), 2);
    let mut buffer = Buffer::empty(area);
    (&textarea).render(area, &mut buffer);
    assert_eq!(textarea.scroll_offset().0, 0, "from the first line");
    let first_row: String = (0..area.width).map(|x| buffer[(x, 0)].symbol().to_owned()).collect();
    assert!(first_row.contains("line 0"), "{first_row:?}");
}
