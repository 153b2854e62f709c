use crate::cursor::{DataCursor, ScreenCursor};
use crate::textarea::TextArea;
use crate::util::{char_width, cluster_at, drawn_chars, next_cluster_start, num_digits, previous_cluster_start};
use crate::wrap::{WrapMode, WrappedLine, effective_wrap_width, wrapped_rows};

#[derive(Debug, Clone, Copy)]
pub(crate) struct ScreenLine {
    pub wrapped: WrappedLine,
    pub screen_width: usize,
    pub cursor_max_col: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DataLine {
    pub first_screen_line: usize,
    pub screen_line_count: usize,
    pub pure_ascii: bool,
}

fn is_pure_ascii(line: &str) -> bool {
    line.is_ascii() && !line.contains('\t')
}

/// The width of a tab at `col`: to the next tab stop.
fn tab_width(col: usize, tab_len: u8) -> usize {
    let tab = tab_len.max(1) as usize;
    (tab - (col % tab)).max(1)
}

/// Every char of `text` with the columns it takes where it stands, and whether it is joined to
/// the cluster before it (no place for the cursor). custodian's patch: a grapheme cluster is as
/// wide as ratatui draws it, its first char taking all its columns (see `util::DrawnChar`).
fn char_columns(text: &str, tab_len: u8, mask: Option<char>) -> impl Iterator<Item = (usize, bool)> + '_ {
    let mut col = 0usize;
    drawn_chars(text).map(move |drawn| {
        let width = match mask {
            // A masked line is drawn as one mask character per char, so each char is as wide
            // as the mask.
            Some(mask) => char_width(mask),
            None if drawn.c == '\t' => tab_width(col, tab_len),
            None => drawn.cells,
        };
        col += width;
        (width, drawn.joined && mask.is_none())
    })
}

/// Every char of `text` is printable ASCII: one cell each, no tab to expand. (custodian's patch:
/// the per-char path below costs ~7 ms for every edit of a 1 MiB document.)
fn is_printable_ascii(text: &str) -> bool {
    // Without an early exit the loop is vectorised.
    text.bytes().fold(true, |printable, b| printable & (0x20..0x7f).contains(&b))
}

fn display_width(text: &str, tab_len: u8, mask: Option<char>) -> usize {
    if mask.is_none() && is_printable_ascii(text) {
        return text.len();
    }
    char_columns(text, tab_len, mask).map(|(width, _)| width).sum()
}

fn screen_col_for_char_offset(
    text: &str,
    char_offset: usize,
    tab_len: u8,
    mask: Option<char>,
) -> usize {
    if mask.is_none() && is_printable_ascii(text) {
        return char_offset.min(text.len());
    }
    char_columns(text, tab_len, mask).take(char_offset).map(|(width, _)| width).sum()
}

/// The char offset drawn at `screen_col`: never inside a cluster, whose joined chars go with it.
fn char_offset_for_screen_col(
    text: &str,
    screen_col: usize,
    tab_len: u8,
    mask: Option<char>,
) -> usize {
    let mut col = 0usize;
    let mut chars = 0usize;
    for (width, joined) in char_columns(text, tab_len, mask) {
        if !joined && (col >= screen_col || col + width > screen_col) {
            break;
        }
        col += width;
        chars += 1;
    }
    chars
}

impl TextArea<'_> {
    fn fallback_rows(&self) -> Vec<WrappedLine> {
        self.lines
            .iter()
            .enumerate()
            .map(|(row, line)| WrappedLine {
                row,
                start_byte: 0,
                end_byte: line.len(),
                start_col: 0,
                end_col: line.chars().count(),
                first_in_row: true,
                last_in_row: true,
            })
            .collect()
    }

    pub(crate) fn screen_map_load(&self) {
        let wrap_width = if self.wrap_mode() != WrapMode::None {
            let width = self.area.get().width;
            if width > 0 {
                let line_number_len = self
                    .line_number_style()
                    .map(|_| num_digits(self.lines.len()));
                Some(effective_wrap_width(width, line_number_len))
            } else {
                None
            }
        } else {
            None
        };

        let rows = match wrap_width {
            Some(width) => wrapped_rows(
                &self.lines,
                self.wrap_mode(),
                width,
                self.tab_length(),
                self.mask_char(),
            ),
            None => self.fallback_rows(),
        };

        // custodian's patch: a whole line that is not printable ASCII is measured char by char
        // only when its text is new; the others' widths are kept by text (a 1 MiB document of
        // wide text was measured again after every edit: ~5 ms of each typed character).
        let tab_len = self.tab_length();
        let mut line_widths = self.line_widths.borrow_mut();
        let mut known = std::mem::take(&mut line_widths.1);
        if line_widths.0 != tab_len {
            known.clear();
        }
        let mut kept: std::collections::HashMap<String, usize> =
            std::collections::HashMap::with_capacity(known.len());

        // custodian's patch: the maps of the last load are refilled, not allocated again (a
        // fresh allocation of some megabytes is fresh pages the kernel zeroes, on every edit).
        let mut screen_lines = std::mem::take(&mut *self.screen_lines.borrow_mut());
        screen_lines.clear();
        screen_lines.reserve(rows.len());
        let mut data_pointers = std::mem::take(&mut *self.data_pointers.borrow_mut());
        data_pointers.clear();
        data_pointers.resize(self.lines.len(), DataLine::default());
        let mut current_row = 0usize;

        for (screen_idx, wrapped) in rows.into_iter().enumerate() {
            while current_row < wrapped.row {
                current_row += 1;
            }

            if data_pointers[wrapped.row].screen_line_count == 0 {
                data_pointers[wrapped.row].first_screen_line = screen_idx;
                data_pointers[wrapped.row].pure_ascii = is_pure_ascii(&self.lines[wrapped.row]);
            }
            data_pointers[wrapped.row].screen_line_count += 1;

            let fragment = &self.lines[wrapped.row][wrapped.start_byte..wrapped.end_byte];
            let char_count = wrapped.end_col.saturating_sub(wrapped.start_col);
            // custodian's patch: the width is measured once, not twice, for the last fragment.
            let whole_line = wrapped.first_in_row && wrapped.last_in_row;
            let screen_width = if whole_line && self.mask_char().is_none() && !is_printable_ascii(fragment) {
                match known.remove_entry(fragment) {
                    Some((line, width)) => {
                        kept.insert(line, width);
                        width
                    }
                    None => *kept
                        .entry(fragment.to_owned())
                        .or_insert_with(|| display_width(fragment, tab_len, None)),
                }
            } else {
                display_width(fragment, tab_len, self.mask_char())
            };
            let cursor_max_col = if wrapped.last_in_row {
                screen_width
            } else {
                screen_col_for_char_offset(
                    fragment,
                    char_count.saturating_sub(1),
                    self.tab_length(),
                    self.mask_char(),
                )
            };
            screen_lines.push(ScreenLine {
                wrapped,
                screen_width,
                cursor_max_col,
            });
        }

        *line_widths = (tab_len, kept);
        *self.screen_lines.borrow_mut() = screen_lines;
        *self.data_pointers.borrow_mut() = data_pointers;
    }

    /// custodian's patch: the screen map after an edit inside line `row` alone, when the map
    /// has one screen line a line (no wrapping): that line's entries made again as
    /// [`TextArea::screen_map_load`] makes them; the whole map loaded again otherwise.
    pub(crate) fn screen_map_load_line(&self, row: usize) {
        let one_a_line = self.wrap_mode() == WrapMode::None
            && self.screen_lines.borrow().len() == self.lines.len()
            && self.data_pointers.borrow().len() == self.lines.len();
        if !one_a_line {
            return self.screen_map_load();
        }
        let line = &self.lines[row];
        let width = display_width(line, self.tab_length(), self.mask_char());
        self.screen_lines.borrow_mut()[row] = ScreenLine {
            wrapped: WrappedLine {
                row,
                start_byte: 0,
                end_byte: line.len(),
                start_col: 0,
                end_col: line.chars().count(),
                first_in_row: true,
                last_in_row: true,
            },
            screen_width: width,
            cursor_max_col: width,
        };
        self.data_pointers.borrow_mut()[row] =
            DataLine { first_screen_line: row, screen_line_count: 1, pure_ascii: is_pure_ascii(line) };
    }

    pub(crate) fn screen_lines_count(&self) -> usize {
        self.screen_lines.borrow().len()
    }

    pub(crate) fn screen_line_width(&self, row: usize) -> usize {
        self.screen_lines.borrow()[row].screen_width
    }

    pub(crate) fn screen_line_max_cursor_col(&self, row: usize) -> usize {
        self.screen_lines.borrow()[row].cursor_max_col
    }

    pub(crate) fn screen_line(&self, row: usize) -> ScreenLine {
        self.screen_lines.borrow()[row]
    }

    pub(crate) fn screen_to_array(&self, screen: ScreenCursor) -> DataCursor {
        if let Some(dc) = screen.dc {
            return dc;
        }

        let line = self.screen_line(screen.row);
        let fragment =
            &self.lines[line.wrapped.row][line.wrapped.start_byte..line.wrapped.end_byte];
        let char_offset =
            char_offset_for_screen_col(fragment, screen.col, self.tab_length(), self.mask_char());
        DataCursor(line.wrapped.row, line.wrapped.start_col + char_offset)
    }

    pub(crate) fn array_to_screen(&self, array: DataCursor) -> ScreenCursor {
        let data_line = &self.data_pointers.borrow()[array.0];
        let screen_lines = self.screen_lines.borrow();

        let mut screen_idx = data_line.first_screen_line;
        for idx in
            data_line.first_screen_line..data_line.first_screen_line + data_line.screen_line_count
        {
            let line = screen_lines[idx];
            let contains = if line.wrapped.last_in_row {
                line.wrapped.start_col <= array.1 && array.1 <= line.wrapped.end_col
            } else {
                line.wrapped.start_col <= array.1 && array.1 < line.wrapped.end_col
            };
            if contains {
                screen_idx = idx;
                break;
            }
        }

        let line = screen_lines[screen_idx];
        let fragment = &self.lines[array.0][line.wrapped.start_byte..line.wrapped.end_byte];
        let char_offset = array.1.saturating_sub(line.wrapped.start_col);
        let col =
            screen_col_for_char_offset(fragment, char_offset, self.tab_length(), self.mask_char());

        ScreenCursor {
            row: screen_idx,
            col,
            char: self.lines[array.0].chars().nth(array.1),
            dc: Some(array),
        }
    }

    /// The cells ratatui draws the cluster under the cursor `dc` in (1 past the line's end).
    pub(crate) fn cluster_cells(&self, dc: DataCursor) -> usize {
        cluster_at(&self.lines[dc.0], dc.1).map_or(1, |(_, cluster)| {
            drawn_chars(cluster).next().map_or(1, |drawn| drawn.cells)
        })
    }

    pub(crate) fn data_cursor(&self, screen: ScreenCursor) -> DataCursor {
        screen.to_array_cursor(self)
    }

    pub(crate) fn increment_screen_cursor(&self, screen: ScreenCursor) -> ScreenCursor {
        let dc = self.data_cursor(screen);
        self.array_to_screen(DataCursor(dc.0, next_cluster_start(&self.lines[dc.0], dc.1)))
    }

    pub(crate) fn decrement_screen_cursor(&self, screen: ScreenCursor) -> ScreenCursor {
        let dc = self.data_cursor(screen);
        self.array_to_screen(DataCursor(dc.0, previous_cluster_start(&self.lines[dc.0], dc.1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui_core::layout::Rect;

    fn make_textarea(lines: &[&str], wrap_mode: WrapMode, width: u16) -> TextArea<'static> {
        let mut textarea = TextArea::from(lines.iter().copied());
        textarea.set_wrap_mode(wrap_mode);
        textarea.area.set(Rect {
            x: 0,
            y: 0,
            width,
            height: 40,
        });
        textarea.screen_map_load();
        textarea
    }

    fn assert_round_trips(textarea: &TextArea<'_>) {
        for (row, line) in textarea.lines.iter().enumerate() {
            for col in 0..=line.chars().count() {
                let dc = DataCursor(row, col);
                let sc = textarea.array_to_screen(dc);
                assert_eq!(textarea.screen_to_array(sc), dc);

                let detached = ScreenCursor { dc: None, ..sc };
                assert_eq!(textarea.screen_to_array(detached), dc);
                assert_eq!(
                    textarea.array_to_screen(textarea.screen_to_array(detached)),
                    sc
                );
            }
        }
    }

    #[test]
    fn screen_map_round_trips_ascii_word_wrap() {
        let textarea = make_textarea(
            &[
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
                "Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
            ],
            WrapMode::Word,
            24,
        );

        assert!(textarea.screen_lines_count() > textarea.lines.len());
        assert_round_trips(&textarea);
    }

    #[test]
    fn screen_map_round_trips_cjk_glyph_wrap() {
        let textarea = make_textarea(
            &["混合中文字符和ASCIIabc来验证屏幕坐标与数据坐标的往返转换。"],
            WrapMode::Glyph,
            12,
        );

        assert!(textarea.screen_lines_count() > textarea.lines.len());
        assert_round_trips(&textarea);
    }

    #[test]
    fn screen_map_round_trips_multilingual_word_or_glyph_wrap() {
        let textarea = make_textarea(
            &[
                "ASCII and русский текст can share one buffer.",
                "第二行 mixed-width 内容 with English words.",
            ],
            WrapMode::WordOrGlyph,
            18,
        );

        assert!(textarea.screen_lines_count() > textarea.lines.len());
        assert_round_trips(&textarea);
    }
}
