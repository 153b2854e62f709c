//! A backend wrapper that sends fewer bytes for the same frames. ratatui hands the backend
//! only the cells that changed, and the backend moves the cursor (`ESC [ row ; col H`, 6–8
//! bytes) over every run of unchanged cells between them. When the selection moves, most of
//! the details pane changes in short runs — the digits of a timestamp, a word in a line of
//! JSON — so cursor moves were over half of the bytes. This wrapper remembers what it has put
//! on the screen and, where the gap between two changed cells on a row is shorter than the
//! cursor move, writes the gap's own (unchanged) characters again instead.
//!
//! It only ever repeats a cell it wrote itself, in the style it was written in, and only plain
//! one-column ASCII, so wide characters are never split; anything unsure (after a partial
//! clear, beside a wide character) is left to the cursor move.

use std::io;

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::Modifier;
use unicode_width::UnicodeWidthStr;

pub struct GapFilling<B> {
    inner: B,
    /// What each cell of the screen shows, as far as this backend knows; `None`: unknown, or
    /// covered by the right half of a wide character.
    screen: Vec<Option<Cell>>,
    width: u16,
}

impl<B: Backend> GapFilling<B> {
    /// Wraps a backend whose screen is blank (a new alternate screen, as ratatui assumes).
    pub fn new(inner: B) -> Self {
        let size = inner.size().unwrap_or_default();
        Self::with_size(inner, size)
    }

    /// As [`GapFilling::new`], for a backend that cannot tell its size (one writing to memory).
    pub fn with_size(inner: B, size: Size) -> Self {
        let screen = vec![Some(Cell::default()); size.width as usize * size.height as usize];
        Self { inner, screen, width: size.width }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Forgets the screen: blank (`known`) or unknown.
    fn reset(&mut self, known: bool) {
        let size = self.inner.size().unwrap_or_default();
        self.width = size.width;
        let blank = known.then(Cell::default);
        self.screen = vec![blank; size.width as usize * size.height as usize];
    }

    fn index(&self, x: u16, y: u16) -> Option<usize> {
        index(self.width, self.screen.len(), x, y)
    }

    /// The cells of row `y` as this backend knows them (`None`: unknown or covered).
    fn row(&self, y: u16) -> &[Option<Cell>] {
        let start = (y as usize * self.width as usize).min(self.screen.len());
        let end = (start + self.width as usize).min(self.screen.len());
        &self.screen[start..end]
    }

    fn row_is_disputed(&self, y: u16) -> bool {
        self.row(y).iter().flatten().any(|cell| is_disputed(cell.symbol()))
    }

    /// Erases row `y` on the terminal and writes every cell of it again, each run that
    /// follows a disputed cluster starting with its own cursor move. Whatever width the
    /// terminal gave a cluster — a mark drawn in a cell ratatui thinks is covered, a sequence
    /// drawn wider than counted — the row then shows exactly what a fresh full redraw shows,
    /// and nothing of what the row held before survives.
    fn repaint_row(&mut self, y: u16) -> Result<(), B::Error> {
        let row: Vec<(u16, Cell)> = self
            .row(y)
            .iter()
            .enumerate()
            .filter_map(|(x, cell)| cell.as_ref().map(|cell| (x as u16, cell.clone())))
            .filter(|(_, cell)| *cell != Cell::default())
            .collect();
        self.inner.set_cursor_position(Position::new(0, y))?;
        self.inner.clear_region(ClearType::CurrentLine)?;
        // One draw per run: a draw moves the cursor only where cells are not adjacent, so a
        // run ends after each disputed cluster to have the next cell placed by a move.
        let mut run: Vec<(u16, u16, &Cell)> = Vec::new();
        for (x, cell) in &row {
            run.push((*x, y, cell));
            if is_disputed(cell.symbol()) {
                self.inner.draw(std::mem::take(&mut run).into_iter())?;
            }
        }
        if !run.is_empty() {
            self.inner.draw(run.into_iter())?;
        }
        Ok(())
    }
}

fn index(width: u16, len: usize, x: u16, y: u16) -> Option<usize> {
    let index = y as usize * width as usize + x as usize;
    (x < width && index < len).then_some(index)
}

/// The cells from `from` to `to` (exclusive) on row `y` of `screen`, if they can be written
/// again as they are in the style of `style`.
fn gap<'s>(
    screen: &'s [Option<Cell>],
    width: u16,
    y: u16,
    (from, to): (u16, u16),
    style: &Cell,
) -> Option<Vec<(u16, &'s Cell)>> {
    (from..to)
        .map(|x| {
            let cell = screen[index(width, screen.len(), x, y)?].as_ref()?;
            let plain = matches!(cell.symbol().as_bytes(), [b' '..=b'~']);
            let same_style = cell.fg == style.fg
                && cell.bg == style.bg
                && cell.modifier == style.modifier
                && cell.underline_color == style.underline_color;
            (plain && same_style).then_some((x, cell))
        })
        .collect()
}

/// Whether a blank written in `a`'s style and one written in `b`'s show the same: a blank
/// shows its background, and of the rest only what marks the whole cell (reverse video, which
/// shows the foreground too, underline, strike-through, blinking, hidden).
fn blank_looks_alike(a: &Cell, b: &Cell) -> bool {
    let marks_a_blank = Modifier::REVERSED
        | Modifier::UNDERLINED
        | Modifier::CROSSED_OUT
        | Modifier::SLOW_BLINK
        | Modifier::RAPID_BLINK
        | Modifier::HIDDEN;
    let reversed = a.modifier.contains(Modifier::REVERSED);
    a.bg == b.bg
        && a.modifier & marks_a_blank == b.modifier & marks_a_blank
        && a.underline_color == b.underline_color
        && (!reversed || a.fg == b.fg)
}

/// Whether terminals may disagree with ratatui on how many columns `symbol` takes, or on
/// which cell its parts land in: a cluster of more than one code point (a base with
/// combining marks or vowel signs — Devanagari, Bengali, Tamil, Thai, Arabic with harakat —,
/// an emoji ZWJ sequence, a flag, a variation selector) or a lone zero-width code point.
/// ratatui counts such a cluster with unicode-width as one cell of its own and skips the
/// cells it thinks it covers; terminals (tmux, xterm, VTE) use their own per-code-point
/// widths, so a mark can land in a "covered" cell that no later diff ever writes again.
/// A single code point of width 1 or 2 (ASCII, accented letters, CJK, most emoji) is
/// counted the same everywhere.
fn is_disputed(symbol: &str) -> bool {
    let mut chars = symbol.chars();
    match (chars.next(), chars.next()) {
        (Some(_), Some(_)) => true,
        (Some(c), None) => unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) == 0,
        (None, _) => false,
    }
}

/// Bytes of `ESC [ row ; col H` for a 0-based position.
fn cursor_move_len(x: u16, y: u16) -> u16 {
    let digits = |n: u16| {
        if n >= 999 {
            4
        } else if n >= 99 {
            3
        } else if n >= 9 {
            2
        } else {
            1
        }
    };
    4 + digits(x) + digits(y)
}

impl<B: Backend> Backend for GapFilling<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let changed: Vec<(u16, u16, &Cell)> = content.collect();
        // Rows that hold, or held, a cluster a terminal may draw wider or narrower than
        // ratatui counts it: these are written whole (see `repaint_row`), never patched.
        let mut whole_rows: Vec<u16> = Vec::new();
        for &(_, y, cell) in &changed {
            if !whole_rows.contains(&y) && (is_disputed(cell.symbol()) || self.row_is_disputed(y)) {
                whole_rows.push(y);
            }
        }
        // A cell written over the left half of a wide character leaves its right half to the
        // terminal: xterm blanks it in the pen of the moment, tmux keeps it as the character's
        // padding (the row then shows a column short until a full redraw: bb15 L03). When the
        // frame does not write that half (its cell is the same in ratatui's buffer, so not in
        // the diff), it holds a blank in the wide character's style (ratatui styles a
        // character's cells alike): written again as such, always.
        let mut halves: Vec<(u16, u16, Cell)> = Vec::new();
        for &(x, y, cell) in changed.iter().filter(|(_, y, _)| !whole_rows.contains(y)) {
            let after = x + cell.symbol().width().max(1) as u16;
            let Some(wide) = self.index(after - 1, y).and_then(|i| self.screen[i].as_ref()) else { continue };
            if wide.symbol().width() == 2
                && after < self.width
                && !changed.iter().any(|&(cx, cy, _)| cy == y && cx == after)
            {
                let mut half = wide.clone();
                half.set_symbol(" ");
                // Written right after `cell`: in its pen when a blank shows the same in both,
                // which spares switching the style away and back (up to ~60 bytes).
                if blank_looks_alike(&half, cell) {
                    (half.fg, half.bg, half.modifier) = (cell.fg, cell.bg, cell.modifier);
                    half.underline_color = cell.underline_color;
                }
                halves.push((after, y, half));
            }
        }
        let mut cells: Vec<(u16, u16, &Cell)> = Vec::with_capacity(changed.len() + halves.len());
        let mut previous: Option<(u16, u16, &Cell)> = None;
        for &(x, y, cell) in changed.iter().filter(|(_, y, _)| !whole_rows.contains(y)) {
            if let Some((px, py, before)) = previous
                && py == y
                && before.symbol().width() == 1
                && x > px + 1
                && x - px - 1 < cursor_move_len(x, y)
                && let Some(gap) = gap(&self.screen, self.width, y, (px + 1, x), before)
            {
                cells.extend(gap.into_iter().map(|(gx, gap_cell)| (gx, y, gap_cell)));
            }
            cells.push((x, y, cell));
            previous = Some((x, y, cell));
            let after = x + cell.symbol().width().max(1) as u16;
            if let Some((hx, hy, half)) = halves.iter().find(|(hx, hy, _)| *hy == y && *hx == after) {
                cells.push((*hx, *hy, half));
                previous = None;
            }
        }
        self.inner.draw(cells.into_iter())?;
        for (x, y, half) in halves {
            if let Some(index) = self.index(x, y) {
                self.screen[index] = Some(half);
            }
        }
        // ratatui also sends the columns a wide emoji with VS16 covers (blank, to clear what a
        // terminal drawing it narrow would leave there). Those columns stay covered in the
        // model: written again on their own — as `repaint_row` does with every cell it knows —
        // a blank there would erase the emoji it belongs to.
        let mut covered_until: Option<(u16, u16)> = None;
        for (x, y, cell) in changed {
            if covered_until.is_some_and(|(cy, end)| cy == y && x < end) {
                continue;
            }
            let Some(index) = self.index(x, y) else { continue };
            covered_until = Some((y, x.saturating_add(cell.symbol().width().max(1) as u16)));
            self.screen[index] = Some(cell.clone());
            // The right half of a wide character: never to be written over on its own.
            for covered in 1..cell.symbol().width().max(1) {
                if let Some(index) = self.index(x + covered as u16, y) {
                    self.screen[index] = None;
                }
            }
        }
        whole_rows.sort_unstable();
        for y in whole_rows {
            self.repaint_row(y)?;
        }
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.reset(false);
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()?;
        self.reset(true);
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)?;
        self.reset(clear_type == ClearType::All);
        Ok(())
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

/// Bytes written beside the frames (synchronized-update markers, OSC 52) go straight through.
impl<B: Backend + io::Write> io::Write for GapFilling<B> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(&mut self.inner)
    }
}
