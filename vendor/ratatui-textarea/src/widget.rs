use crate::textarea::TextArea;
use crate::util::{char_width, num_digits};
use crate::wrap::WrapMode;
#[cfg(feature = "portable-atomic")]
use portable_atomic::{AtomicU64, Ordering};
use ratatui_core::buffer::{Buffer, CellWidth as _};
use ratatui_core::layout::{Alignment, Rect};
use ratatui_core::text::{Line, Span, Text};
use ratatui_core::widgets::Widget;
use ratatui_widgets::paragraph::Paragraph;
use std::cmp;
#[cfg(not(feature = "portable-atomic"))]
use std::sync::atomic::{AtomicU64, Ordering};
use unicode_segmentation::UnicodeSegmentation as _;

// &mut 'a (u16, u16, u16, u16) is not available since `render` method takes immutable reference of TextArea
// instance. In the case, the TextArea instance cannot be accessed from any other objects since it is mutablly
// borrowed.
//
// `ratatui::Frame::render_stateful_widget` would be an assumed way to render a stateful widget. But at this
// point we stick with using `ratatui::Frame::render_widget` because it is simpler API. Users don't need to
// manage states of textarea instances separately.
// https://docs.rs/ratatui/latest/ratatui/terminal/struct.Frame.html#method.render_stateful_widget
// The top row and column are u32 (a document of 1 MiB has more than 65,535 lines, and a
// line may be wider than 65,535 columns: as u16 they wrapped around, and the screen showed
// another place than the cursor's); the width and height are a terminal's, u16.
#[derive(Default, Debug)]
pub struct Viewport {
    top: AtomicU64,
    size: AtomicU64,
}

impl Clone for Viewport {
    fn clone(&self) -> Self {
        Viewport {
            top: AtomicU64::new(self.top.load(Ordering::Relaxed)),
            size: AtomicU64::new(self.size.load(Ordering::Relaxed)),
        }
    }
}

impl Viewport {
    pub fn scroll_top(&self) -> (u32, u32) {
        let u = self.top.load(Ordering::Relaxed);
        ((u >> 32) as u32, u as u32)
    }

    pub fn rect(&self) -> (u32, u32, u16, u16) {
        let (row, col) = self.scroll_top();
        let u = self.size.load(Ordering::Relaxed);
        (row, col, (u >> 16) as u16, u as u16)
    }

    pub fn position(&self) -> (u32, u32, u32, u32) {
        let (row_top, col_top, width, height) = self.rect();
        let row_bottom = row_top.saturating_add(height.into()).saturating_sub(1);
        let col_bottom = col_top.saturating_add(width.into()).saturating_sub(1);

        (
            row_top,
            col_top,
            cmp::max(row_top, row_bottom),
            cmp::max(col_top, col_bottom),
        )
    }

    fn store(&self, row: u32, col: u32, width: u16, height: u16) {
        self.top
            .store(((row as u64) << 32) | col as u64, Ordering::Relaxed);
        self.size
            .store(((width as u64) << 16) | height as u64, Ordering::Relaxed);
    }

    pub fn scroll(&mut self, rows: i16, cols: i16) {
        fn apply_scroll(pos: u32, delta: i16) -> u32 {
            pos.saturating_add_signed(delta.into())
        }

        let u = self.top.get_mut();
        let row = apply_scroll((*u >> 32) as u32, rows);
        let col = apply_scroll(*u as u32, cols);
        *u = ((row as u64) << 32) | (col as u64);
    }
}

#[inline]
fn next_scroll_top(prev_top: u32, cursor: u32, len: u16) -> u32 {
    let len = u32::from(len);
    if cursor < prev_top {
        cursor
    } else if prev_top + len <= cursor {
        cursor + 1 - len
    } else {
        prev_top
    }
}

// The graphemes of a span that ratatui draws, with the cells it draws each in: the measure
// the text area's cursor and scroll use too (custodian's patch: a cluster is as wide as it is
// drawn, `util::DrawnChar`). Ratatui draws no control chars, so they take no columns.
fn drawn_graphemes<'s>(span: &'s Span<'_>) -> impl Iterator<Item = (&'s str, usize)> {
    span.content
        .graphemes(true)
        .filter(|g| !g.contains(char::is_control))
        .map(|g| (g, usize::from(g.cell_width())))
}

// Cut the columns `left..left + width` out of a line. A wide char cut by either edge
// becomes blank cells in its own style, so the other cells keep their columns and a
// cursor on that char is still drawn.
fn clip_line(line: Line<'_>, left: usize, width: usize) -> Line<'_> {
    // `Line::width` gives no cells to the halfwidth sound marks ﾞ and ﾟ, so count the cells
    // ratatui draws.
    let line_width: usize = line
        .spans
        .iter()
        .flat_map(drawn_graphemes)
        .map(|(_, w)| w)
        .sum();
    if left == 0 && line_width <= width {
        return line;
    }

    let right = left + width;
    let mut col = 0;
    let mut spans = Vec::with_capacity(line.spans.len());
    for span in &line.spans {
        let mut text = String::new();
        for (grapheme, grapheme_width) in drawn_graphemes(span) {
            let start = col;
            col += grapheme_width;
            if left <= start && col <= right {
                text.push_str(grapheme);
            } else if start < right && left < col {
                let cells = cmp::min(col, right) - cmp::max(start, left);
                text.extend(std::iter::repeat_n(' ', cells));
            }
        }
        if !text.is_empty() {
            spans.push(Span::styled(text, span.style));
        }
    }
    Line { spans, ..line }
}

// A row or column as the viewport keeps it (no text of custodian's reaches u32::MAX).
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'a> TextArea<'a> {
    fn text_widget(&'a self, top_row: usize, height: usize, top_col: u32, width: u16) -> Text<'a> {
        let lnum_len = num_digits(self.lines().len());
        let numbered = self.line_number_style().is_some();
        let text_width = self.text_width(width);
        let screen_lines = self.screen_lines.borrow();
        let bottom_row = cmp::min(top_row + height, screen_lines.len());
        let mut lines = Vec::with_capacity(bottom_row - top_row);
        for row in &screen_lines[top_row..bottom_row] {
            let line = &self.lines()[row.wrapped.row];
            let mut spans = self.line_spans_segment(line, &row.wrapped, lnum_len);
            // Scroll here, not with `Paragraph::scroll`, which draws a wide char cut by the left
            // edge whole and drops one cut by the right edge. Like that scroll, only left-aligned
            // text is scrolled.
            if self.alignment() == Alignment::Left {
                // custodian's patch: the line number (the first span) stays at the left edge
                // and only the text scrolls, under it; they scrolled away together.
                let number = (numbered && !spans.spans.is_empty()).then(|| spans.spans.remove(0));
                spans = clip_line(spans, top_col as usize, text_width.into());
                if let Some(number) = number {
                    spans.spans.insert(0, number);
                }
            }
            lines.push(spans);
        }
        Text::from(lines)
    }

    // The columns left for the text beside the line numbers: the width the sideways scroll
    // keeps the cursor in (at least one, so a pane narrower than the numbers still scrolls).
    fn text_width(&self, width: u16) -> u16 {
        width.saturating_sub(self.line_number_width()).max(1)
    }

    fn scroll_top_row(&self, prev_top: u32, height: u16) -> u32 {
        let top = next_scroll_top(prev_top, to_u32(self.screen_cursor().row), height);
        // custodian's patch: never scrolled past the view's worth of rows above the end: after
        // the end of the text was deleted, the lines before the cursor stayed above the view,
        // a nearly empty pane where the whole text fits (bb26 T09).
        let last = self.lines().len().saturating_sub(1);
        let end_col = self.lines().get(last).map_or(0, |line| line.chars().count());
        let end = to_u32(self.array_to_screen(crate::cursor::DataCursor(last, end_col)).row);
        top.min((end + 1).saturating_sub(u32::from(height)))
    }

    // The first column of the text shown (custodian's patch: in the text's columns, beside the
    // line numbers, which no longer scroll with it).
    fn scroll_top_col(&self, prev_top: u32, width: u16) -> u32 {
        let screen = self.screen_cursor();
        let cursor = to_u32(screen.col);
        let width = self.text_width(width);
        // Scrolling right brings the whole char under the cursor into view, not just its
        // first column. A char wider than the viewport keeps its first column in view.
        // A masked line draws the mask char, so that is the char whose width counts.
        let glyph_width = match (self.mask_char(), screen.dc) {
            (Some(mask), _) => char_width(mask),
            (None, Some(dc)) => self.cluster_cells(dc),
            (None, None) => screen.char.map_or(1, char_width),
        }
        .max(1) as u32;
        let right = cursor + glyph_width - 1;
        let top = next_scroll_top(next_scroll_top(prev_top, right, width), cursor, width);
        // custodian's patch: a scroll back left that the line's start fits with the cursor goes
        // to the start, not to the cursor at the left edge, which showed short lines as blank
        // (an undo back from the end of a long sealed value: bb100 F6).
        if top < prev_top && right < u32::from(width) { 0 } else { top }
    }
}

impl Widget for &TextArea<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let inner_area = if let Some(b) = self.block() {
            b.inner(area)
        } else {
            area
        };
        let Rect { width, height, .. } = inner_area;

        if self.area.get() != inner_area {
            self.area.set(inner_area);
            self.screen_map_load();
        }

        let (prev_top_row, prev_top_col) = self.viewport.scroll_top();
        let (text, top_row, top_col) = if self.is_empty() && !self.placeholder.lines.is_empty() {
            let mut placeholder = self.placeholder.clone();
            let cursor = Span::styled(" ", self.cursor_style);
            if let Some(first_line) = placeholder.lines.first_mut() {
                first_line.spans.insert(0, cursor);
            } else {
                placeholder.lines.push(Line::from(vec![cursor]));
            }
            (placeholder, 0u32, 0u32)
        } else {
            let top_row = self.scroll_top_row(prev_top_row, height);
            let top_col = if self.wrap_mode() == WrapMode::None {
                self.scroll_top_col(prev_top_col, width)
            } else {
                0
            };
            (
                self.text_widget(top_row as _, height as _, top_col, width)
                    .style(self.style()),
                top_row,
                top_col,
            )
        };

        // To get fine control over the text color and the surrrounding block they have to be rendered separately
        // see https://github.com/ratatui/ratatui/issues/144
        let mut text_area = area;
        let inner = Paragraph::new(text).alignment(self.alignment());
        if let Some(b) = self.block() {
            text_area = b.inner(area);
            b.render(area, buf)
        }

        // Store scroll top position for rendering on the next tick (custodian's patch: with
        // the text's width, the columns `CursorMove::InViewport` keeps the cursor in).
        self.viewport.store(top_row, top_col, self.text_width(width), height);

        inner.render(text_area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewport_store_and_load() {
        let vp = Viewport::default();
        vp.store(3, 7, 80, 24);
        assert_eq!(vp.scroll_top(), (3, 7));
        let (row, col, width, height) = vp.rect();
        assert_eq!((row, col, width, height), (3, 7, 80, 24));
    }

    #[test]
    fn viewport_clone() {
        let vp = Viewport::default();
        vp.store(5, 2, 40, 10);
        let vp2 = vp.clone();
        assert_eq!(vp2.scroll_top(), (5, 2));
    }
}
