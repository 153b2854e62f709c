//! The backend that writes frames to the terminal in as few bytes as it can, for operators on
//! a slow link. ratatui's crossterm backend is correct but spends bytes each frame that carry
//! nothing: it forgets the pen between frames (every frame ends with four resets and starts
//! from scratch), writes colours as 256-colour indices (`ESC[38;5;8m` where `ESC[90m` says
//! the same), one sequence per attribute, an absolute move (`ESC[row;colH`) for every jump,
//! and hides the already hidden cursor after every frame. This backend remembers what the
//! terminal's pen, cursor and cursor visibility are, and writes only the difference: the
//! shortest of the moves that reach a cell (absolute, along the row, down or up, a carriage
//! return), one SGR sequence per style change with the short colour codes, and `ECH` (erase
//! characters) for a long run of blanks in the default style.
//!
//! Whatever it cannot be sure of — after a cluster a terminal may draw wider or narrower than
//! counted, after the last column (the pending wrap), after a clear or a resize — it forgets
//! and writes absolutely again. `tests/lean_backend.rs` plays its bytes and the crossterm
//! backend's for random frames into a terminal emulator and requires the same cells, styles
//! included, after every frame.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// The terminal's pen: what the next printed character is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Pen {
    const DEFAULT: Pen =
        Pen { fg: Color::Reset, bg: Color::Reset, underline: Color::Reset, modifier: Modifier::empty() };

    fn of(cell: &Cell) -> Self {
        Pen { fg: cell.fg, bg: cell.bg, underline: cell.underline_color, modifier: cell.modifier }
    }

    /// Whether a blank drawn with this pen looks as one drawn with `other`: a space shows
    /// only its background and the lines drawn through it (reverse video, underline,
    /// strike-through), never its foreground, weight or slant.
    /// In reverse video the foreground is what a blank shows, with the weight that may
    /// brighten it: then the whole pen counts.
    fn draws_blanks_as(&self, other: &Pen) -> bool {
        if self.modifier.contains(Modifier::REVERSED) || other.modifier.contains(Modifier::REVERSED) {
            return self == other;
        }
        let seen = Modifier::UNDERLINED | Modifier::CROSSED_OUT;
        self.bg == other.bg
            && self.modifier & seen == other.modifier & seen
            && (!self.modifier.contains(Modifier::UNDERLINED) || self.underline == other.underline)
    }
}

/// Frames up to this many bytes go out without the synchronized-update markers: one write
/// that small reaches the terminal whole (over SSH, one packet), so there is no half frame
/// for the markers to hide, and their 16 bytes are a twentieth of a one-row move.
const SMALL_FRAME: usize = 1024;

const BEGIN_FRAME: &[u8] = b"\x1b[?2026h";
const END_FRAME: &[u8] = b"\x1b[?2026l";

pub struct LeanBackend<W: Write> {
    writer: W,
    /// Bytes of the frame being drawn, written out on `flush` (in order with anything written
    /// beside the frame through `io::Write`).
    out: Vec<u8>,
    /// Where the terminal's cursor is; `None` when unknown.
    cursor: Option<Position>,
    /// The terminal's pen; `None` when unknown (a reset comes first).
    pen: Option<Pen>,
    /// Whether the cursor is shown; `None` when unknown.
    cursor_shown: Option<bool>,
    /// The size the screen had when asked; the last column is where the pending wrap starts.
    width: u16,
    /// Where the open frame's bytes start in `out`; `None` between frames.
    frame_start: Option<usize>,
    /// Whether a line feed only moves the cursor down: true in raw mode, where the tty does
    /// not turn it into a carriage return and line feed (`OPOST` off), and in a terminal model
    /// fed bytes directly.
    line_feed_keeps_column: bool,
}

impl<W: Write> LeanBackend<W> {
    /// A backend for a terminal of unknown state: it writes absolutely until it knows.
    pub fn new(writer: W) -> Self {
        let width = crossterm::terminal::size().map(|(w, _)| w).unwrap_or(u16::MAX);
        let raw = crossterm::terminal::is_raw_mode_enabled().unwrap_or(false);
        Self { line_feed_keeps_column: raw, ..Self::with_width(writer, width) }
    }

    /// As [`LeanBackend::new`] for a screen `width` columns wide (a terminal in memory).
    pub fn with_width(writer: W, width: u16) -> Self {
        Self {
            writer,
            out: Vec::new(),
            cursor: None,
            pen: None,
            cursor_shown: None,
            width,
            frame_start: None,
            line_feed_keeps_column: true,
        }
    }

    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// Opens a frame: its bytes are held until [`LeanBackend::end_frame`], which sends them
    /// as one write, inside a synchronized update when they are many.
    pub fn begin_frame(&mut self) {
        self.frame_start = Some(self.out.len());
    }

    /// Sends the frame opened by [`LeanBackend::begin_frame`].
    pub fn end_frame(&mut self) -> io::Result<()> {
        if let Some(start) = self.frame_start.take()
            && self.out.len() - start > SMALL_FRAME
        {
            self.out.splice(start..start, BEGIN_FRAME.iter().copied());
            self.out.extend_from_slice(END_FRAME);
        }
        self.send()
    }

    fn send(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out)?;
            self.out.clear();
        }
        self.writer.flush()
    }

    /// Forgets where the cursor is and what the pen is (after a clear, a resize, anything
    /// written to the terminal around this backend).
    fn forget(&mut self) {
        self.cursor = None;
        self.pen = None;
    }

    fn move_to(&mut self, to: Position) {
        if self.cursor != Some(to) {
            shortest_move(&mut self.out, self.cursor, to, self.line_feed_keeps_column);
            self.cursor = Some(to);
        }
    }

    /// Sets the pen for `symbol`: a blank keeps any pen that draws it the same.
    fn set_pen_for(&mut self, to: Pen, symbol: &str) {
        if symbol == " " && self.pen.is_some_and(|pen| pen.draws_blanks_as(&to)) {
            return;
        }
        self.set_pen(to);
    }

    fn set_pen(&mut self, to: Pen) {
        if self.pen != Some(to) {
            write_sgr(&mut self.out, self.pen, to);
            self.pen = Some(to);
        }
    }

    /// After printing `symbol` at `at`: where the cursor is, if that is certain.
    fn advance(&mut self, at: Position, symbol: &str) {
        let width = symbol.width() as u16;
        let single = {
            let mut chars = symbol.chars();
            chars.next().is_some() && chars.next().is_none()
        };
        let next = at.x.saturating_add(width);
        // A cluster of several code points (or of no width) may be drawn at another width;
        // at the last column the terminal waits to wrap, and moves from there differ.
        self.cursor = (single && width > 0 && next < self.width).then_some(Position::new(next, at.y));
    }
}

/// Bytes of the decimal number `n`.
fn digits(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

/// Writes the shortest sequence that moves the cursor from `from` (unknown: `None`) to `to`;
/// `line_feeds` when a line feed moves straight down (see `line_feed_keeps_column`).
fn shortest_move(out: &mut Vec<u8>, from: Option<Position>, to: Position, line_feeds: bool) {
    let (row, col) = (to.y + 1, to.x + 1);
    let absolute_len = if to.x == 0 { 3 + digits(row) } else { 4 + digits(row) + digits(col) };
    let Some(from) = from else {
        return absolute(out, row, col, to.x);
    };
    let steps = |n: u16| if n == 1 { 3 } else { 3 + digits(n) };
    let vertical = if to.y == from.y {
        (0, Vertical::None)
    } else {
        let n = to.y.abs_diff(from.y);
        let line = 3 + digits(row);
        let mut best = if steps(n) <= line {
            (steps(n), if to.y > from.y { Vertical::Down(n) } else { Vertical::Up(n) })
        } else {
            (line, Vertical::Row)
        };
        // A line feed never scrolls here: the cursor is above the row it goes to.
        if line_feeds && to.y > from.y && (n as usize) < best.0 {
            best = (n as usize, Vertical::LineFeeds(n));
        }
        best
    };
    let horizontal = if from.x == to.x {
        (0, Horizontal::None)
    } else if to.x == 0 {
        (1, Horizontal::CarriageReturn)
    } else {
        let n = to.x.abs_diff(from.x);
        let column = 3 + digits(col);
        let relative = if to.x > from.x {
            (steps(n), Horizontal::Forward(n))
        } else if (n as usize) < steps(n) {
            (n as usize, Horizontal::Backspaces(n))
        } else {
            (steps(n), Horizontal::Back(n))
        };
        if relative.0 <= column { relative } else { (column, Horizontal::Column) }
    };
    if vertical.0 + horizontal.0 >= absolute_len {
        return absolute(out, row, col, to.x);
    }
    match vertical.1 {
        Vertical::None => {}
        Vertical::Down(1) => out.extend_from_slice(b"\x1b[B"),
        Vertical::Down(n) => {
            let _ = write!(out, "\x1b[{n}B");
        }
        Vertical::Up(1) => out.extend_from_slice(b"\x1b[A"),
        Vertical::Up(n) => {
            let _ = write!(out, "\x1b[{n}A");
        }
        Vertical::LineFeeds(n) => out.extend(std::iter::repeat_n(b'\n', n as usize)),
        Vertical::Row => {
            let _ = write!(out, "\x1b[{row}d");
        }
    }
    match horizontal.1 {
        Horizontal::None => {}
        Horizontal::CarriageReturn => out.push(b'\r'),
        Horizontal::Forward(1) => out.extend_from_slice(b"\x1b[C"),
        Horizontal::Forward(n) => {
            let _ = write!(out, "\x1b[{n}C");
        }
        Horizontal::Back(1) => out.extend_from_slice(b"\x1b[D"),
        Horizontal::Back(n) => {
            let _ = write!(out, "\x1b[{n}D");
        }
        Horizontal::Backspaces(n) => out.extend(std::iter::repeat_n(b'\x08', n as usize)),
        Horizontal::Column => {
            let _ = write!(out, "\x1b[{col}G");
        }
    }
}

enum Vertical {
    None,
    Down(u16),
    Up(u16),
    LineFeeds(u16),
    /// To the row, by number (`VPA`).
    Row,
}

enum Horizontal {
    None,
    CarriageReturn,
    Forward(u16),
    Back(u16),
    Backspaces(u16),
    /// To the column, by number (`CHA`).
    Column,
}

fn absolute(out: &mut Vec<u8>, row: u16, col: u16, x: u16) {
    if x == 0 {
        let _ = write!(out, "\x1b[{row}H");
    } else {
        let _ = write!(out, "\x1b[{row};{col}H");
    }
}

/// The SGR parameters that set colour `color` as foreground (`base` 30), background (40)
/// or underline colour (50: only the extended forms exist).
fn colour_params(params: &mut Vec<String>, color: Color, base: u16) {
    let named = |index: u16| {
        if base == 50 {
            format!("58;5;{index}")
        } else if index < 8 {
            (base + index).to_string()
        } else {
            (base + 60 + index - 8).to_string()
        }
    };
    params.push(match color {
        Color::Reset => (base + 9).to_string(),
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
    });
}

const MODIFIER_ON: [(Modifier, &str); 9] = [
    (Modifier::BOLD, "1"),
    (Modifier::DIM, "2"),
    (Modifier::ITALIC, "3"),
    (Modifier::UNDERLINED, "4"),
    (Modifier::SLOW_BLINK, "5"),
    (Modifier::RAPID_BLINK, "6"),
    (Modifier::REVERSED, "7"),
    (Modifier::HIDDEN, "8"),
    (Modifier::CROSSED_OUT, "9"),
];

/// The parameters that set everything of `to` that differs from the default pen.
fn from_default(to: Pen) -> Vec<String> {
    let mut params = Vec::new();
    for (modifier, on) in MODIFIER_ON {
        if to.modifier.contains(modifier) {
            params.push(on.to_string());
        }
    }
    if to.fg != Color::Reset {
        colour_params(&mut params, to.fg, 30);
    }
    if to.bg != Color::Reset {
        colour_params(&mut params, to.bg, 40);
    }
    if to.underline != Color::Reset {
        colour_params(&mut params, to.underline, 50);
    }
    params
}

/// The parameters that turn pen `from` into `to` without a full reset.
fn from_pen(from: Pen, to: Pen) -> Vec<String> {
    let mut params = Vec::new();
    let removed = from.modifier - to.modifier;
    let mut add = to.modifier - from.modifier;
    // 22 ends bold and dim together, 25 both blinks: what stays is set again.
    if removed.intersects(Modifier::BOLD | Modifier::DIM) {
        params.push("22".to_string());
        add |= to.modifier & (Modifier::BOLD | Modifier::DIM);
    }
    if removed.contains(Modifier::ITALIC) {
        params.push("23".to_string());
    }
    if removed.contains(Modifier::UNDERLINED) {
        params.push("24".to_string());
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        params.push("25".to_string());
        add |= to.modifier & (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK);
    }
    if removed.contains(Modifier::REVERSED) {
        params.push("27".to_string());
    }
    if removed.contains(Modifier::HIDDEN) {
        params.push("28".to_string());
    }
    if removed.contains(Modifier::CROSSED_OUT) {
        params.push("29".to_string());
    }
    for (modifier, on) in MODIFIER_ON {
        if add.contains(modifier) {
            params.push(on.to_string());
        }
    }
    if to.fg != from.fg {
        colour_params(&mut params, to.fg, 30);
    }
    if to.bg != from.bg {
        colour_params(&mut params, to.bg, 40);
    }
    if to.underline != from.underline {
        colour_params(&mut params, to.underline, 50);
    }
    params
}

/// One SGR sequence turning pen `from` (unknown: `None`) into `to`: the shorter of a change
/// from the current pen and a reset followed by everything `to` has.
fn write_sgr(out: &mut Vec<u8>, from: Option<Pen>, to: Pen) {
    let mut reset = vec!["0".to_string()];
    reset.extend(from_default(to));
    let params = match from {
        Some(from) => {
            let relative = from_pen(from, to);
            if relative.join(";").len() <= reset.join(";").len() { relative } else { reset }
        }
        None => reset,
    };
    // Never the bare `ESC[m`: the NO_COLOR filter drops that as a colour change.
    let _ = write!(out, "\x1b[{}m", params.join(";"));
}

/// The most of one cell's cluster sent to the terminal: the longest emoji sequences are
/// about 35 bytes, and terminals keep a few combining marks a cell.
const CELL_BYTES: usize = 64;

/// What is sent of a cell's cluster: cut after [`CELL_BYTES`] at a character's end. A letter
/// with 400,000 combining marks (800 KB, under the document limit) went whole with every
/// frame that drew its row: 0.8–1.6 MB a keystroke while editing its user (bb65 F3). What
/// is cut is the marks a terminal would not draw anyway; the cell's width is its first
/// characters'.
fn sent_of(symbol: &str) -> &str {
    if symbol.len() <= CELL_BYTES {
        return symbol;
    }
    let end = (0..=CELL_BYTES).rev().find(|at| symbol.is_char_boundary(*at)).unwrap_or(0);
    &symbol[..end]
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        let mut i = 0;
        while i < cells.len() {
            let (x, y, cell) = cells[i];
            // A run of plain blanks (default background, nothing drawn through them), on one
            // row, cell after cell: erased, which paints the pen's background.
            let blanks = cells[i..]
                .iter()
                .enumerate()
                .take_while(|(k, (bx, by, b))| {
                    *by == y
                        && *bx as usize == x as usize + k
                        && b.symbol() == " "
                        && Pen::of(b).draws_blanks_as(&Pen::DEFAULT)
                })
                .count();
            // ECH leaves the cursor at the run's start: when the next cell is right after the
            // run, erasing costs a move too; otherwise a move was due anyway.
            let erase_len = 3 + digits(blanks as u16);
            let next_is_adjacent = cells
                .get(i + blanks)
                .is_some_and(|(nx, ny, _)| *ny == y && *nx as usize == x as usize + blanks);
            let erase_cost = if next_is_adjacent { 2 * erase_len } else { erase_len };
            if blanks > erase_cost {
                self.move_to(Position::new(x, y));
                // Erased cells take the background, and in some terminals reverse video, of
                // the pen: a pen that draws blanks as the default one does is kept.
                if !self.pen.is_some_and(|pen| pen.draws_blanks_as(&Pen::DEFAULT)) {
                    self.set_pen(Pen::DEFAULT);
                }
                let _ = write!(self.out, "\x1b[{blanks}X");
                // ECH leaves the cursor where it was.
                i += blanks;
                continue;
            }
            self.move_to(Position::new(x, y));
            let symbol = sent_of(cell.symbol());
            self.set_pen_for(Pen::of(cell), symbol);
            self.out.extend_from_slice(symbol.as_bytes());
            self.advance(Position::new(x, y), symbol);
            i += 1;
        }
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        for _ in 0..n {
            self.out.push(b'\n');
        }
        self.cursor = None;
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(false) {
            self.out.extend_from_slice(b"\x1b[?25l");
            self.cursor_shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(true) {
            self.out.extend_from_slice(b"\x1b[?25h");
            self.cursor_shown = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        // The question must reach the terminal, open frame or not.
        self.frame_start = None;
        self.send()?;
        crossterm::cursor::position().map(|(x, y)| Position::new(x, y))
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.move_to(position.into());
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        // Erasing paints with the pen's background: the default one, as the screen is blank.
        self.set_pen(Pen::DEFAULT);
        self.out.extend_from_slice(match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        });
        if clear_type == ClearType::All {
            // A clear is also how ratatui answers a resize: where the cursor ended is unsure.
            self.forget();
            self.width = crossterm::terminal::size().map(|(w, _)| w).unwrap_or(self.width);
        }
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size::new(width, height))
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let crossterm::terminal::WindowSize { columns, rows, width, height } =
            crossterm::terminal::window_size()?;
        Ok(WindowSize { columns_rows: Size::new(columns, rows), pixels: Size::new(width, height) })
    }

    fn flush(&mut self) -> io::Result<()> {
        // ratatui flushes at the end of each draw: an open frame waits for `end_frame`.
        if self.frame_start.is_some() { Ok(()) } else { self.send() }
    }
}

/// Bytes written beside the frames (synchronized-update markers, OSC 52) keep their place
/// among the frame's bytes.
impl<W: Write> Write for LeanBackend<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(self)
    }
}

#[cfg(test)]
mod tests;
