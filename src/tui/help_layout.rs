//! The `?` help laid out for a terminal's width: each key's description wrapped at spaces
//! below its keys. One layout for the view, which draws it, and the state, which scrolls it:
//! the state counted the table's rows, not the wrapped lines, and at 80 columns stopped five
//! lines short of the last keys (bb14 L09).

use unicode_width::UnicodeWidthStr;

use crate::tui::keymap::{HelpRow, help_keys_width, help_rows};

/// The help's box is at least this wide, and as wide as its longest row where the terminal
/// has room.
const AT_LEAST: u16 = 78;

/// One line of the help as drawn.
pub enum HelpLine {
    Heading(&'static str),
    /// The keys (or, on a description's later lines, as many spaces) and its text.
    Keys {
        lead: String,
        text: String,
    },
}

pub struct HelpLayout {
    /// The box's width, borders included.
    pub box_width: u16,
    pub lines: Vec<HelpLine>,
}

/// The help on a terminal `width` columns wide.
pub fn help_layout(width: u16) -> HelpLayout {
    let rows = help_rows();
    let keys_width = help_keys_width(&rows) + 2;
    let widest = rows
        .iter()
        .map(|row| match row {
            HelpRow::Heading(heading) => heading.width(),
            HelpRow::Keys { description, .. } => 2 + keys_width + description.width(),
        })
        .max()
        .unwrap_or(0);
    let box_width = u16::try_from(widest + 2).unwrap_or(u16::MAX).max(AT_LEAST).min(width);
    // A description longer than the room goes on below its keys, cut at a space: it was cut
    // mid-word with nothing to say so (bb11).
    let room = usize::from(box_width.saturating_sub(2)).saturating_sub(2 + keys_width).max(10);
    let mut lines = Vec::new();
    for row in rows {
        match row {
            HelpRow::Heading(heading) => lines.push(HelpLine::Heading(heading)),
            HelpRow::Keys { keys, description } => {
                for (at, text) in wrapped(&description, room).into_iter().enumerate() {
                    let lead =
                        if at == 0 { format!("  {keys:<keys_width$}") } else { " ".repeat(2 + keys_width) };
                    lines.push(HelpLine::Keys { lead, text });
                }
            }
        }
    }
    HelpLayout { box_width, lines }
}

/// How far the help scrolls on a screen of `width` × `height`: its lines and borders less the
/// rows above the hint bar, so that the last key is on the last line and no further.
pub fn max_scroll(width: u16, height: u16) -> u16 {
    super::layout::help_max_scroll(height, line_count(width))
}

/// How many lines the help has at `width`: laid out once for a width, not on every scrolling
/// key (the table is the same while custodian runs).
fn line_count(width: u16) -> u16 {
    static LAST: std::sync::Mutex<Option<(u16, u16)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match *last {
        Some((at, lines)) if at == width => lines,
        _ => {
            let lines = u16::try_from(help_layout(width).lines.len()).unwrap_or(u16::MAX);
            *last = Some((width, lines));
            lines
        }
    }
}

/// `text` in lines of at most `room` columns, broken at spaces (a word longer than the room
/// is cut, marked with `…`).
fn wrapped(text: &str, room: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        let needed = if line.is_empty() { word.width() } else { line.width() + 1 + word.width() };
        if needed > room && !line.is_empty() {
            lines.push(String::new());
        }
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&crate::inert::cut_to_width(word, room));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_wrapped_at_spaces_and_a_word_too_long_is_cut_saying_so() {
        assert_eq!(wrapped("seal the value under the cursor", 14), ["seal the value", "under the", "cursor"]);
        assert_eq!(wrapped("short", 14), ["short"]);
        assert_eq!(wrapped("a verylongwordindeed b", 8), ["a", "verylon…", "b"]);
    }

    #[test]
    fn the_scroll_counts_the_wrapped_lines_of_the_width_it_is_drawn_at() {
        let rows = help_rows().len();
        // Wide enough for every row on one line: a line a row.
        assert_eq!(help_layout(200).lines.len(), rows);
        // Rows, two borders, less the 23 rows above the hint bar of a 24-row screen.
        assert_eq!(usize::from(max_scroll(200, 24)), rows + 2 - 23);
        // At 80 columns some descriptions take two lines, and the scroll reaches them all.
        let at_80 = help_layout(80).lines.len();
        assert!(at_80 > rows, "{at_80} lines for {rows} rows");
        assert_eq!(usize::from(max_scroll(80, 24)), at_80 + 2 - 23);
    }
}
