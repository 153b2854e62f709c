use ratatui_core::buffer::CellWidth as _;
use unicode_segmentation::GraphemeCursor;

pub fn spaces(size: u8) -> &'static str {
    const SPACES: &str = "                                                                                                                                                                                                                                                                ";
    &SPACES[..size as usize]
}

/// The number of cells ratatui draws `c` in. Unlike `UnicodeWidthChar::width`, this counts the
/// halfwidth katakana sound marks `ﾞ` and `ﾟ` as one cell each. Control chars are not drawn, so
/// they take no cells.
pub fn char_width(c: char) -> usize {
    if c.is_control() {
        0
    } else {
        c.encode_utf8(&mut [0; 4]).cell_width().into()
    }
}

pub fn num_digits(i: usize) -> u8 {
    f64::log10(i as f64) as u8 + 1
}

#[derive(Debug, Clone)]
pub struct Pos {
    pub row: usize,
    pub col: usize,
    pub offset: usize,
}

impl Pos {
    pub fn new(row: usize, col: usize, offset: usize) -> Self {
        Self { row, col, offset }
    }
}

/// A char of a line as ratatui draws it (custodian's patch): ratatui draws a grapheme cluster
/// (`👍🏽`, `e\u{301}`, `👩‍💻`, `❤️`) in the cells of the cluster as a whole, so its first char
/// takes them all and the chars joined to it none. Measured char by char, `👍🏽` was 4 columns
/// for 2 cells: a line of them was cut at half the pane and the cursor stopped inside a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawnChar {
    /// Where the char starts in the line's bytes.
    pub at: usize,
    pub c: char,
    /// The cells drawn for it: a tab's is left to the caller (it depends on the column).
    pub cells: usize,
    /// Joined to the char before it in one cluster: no place for the cursor.
    pub joined: bool,
}

/// The chars of `text` with the cells ratatui draws for each (see [`DrawnChar`]).
pub fn drawn_chars(text: &str) -> impl Iterator<Item = DrawnChar> + '_ {
    use unicode_segmentation::UnicodeSegmentation as _;
    text.grapheme_indices(true).flat_map(|(at, cluster)| {
        let mut chars = cluster.char_indices();
        let (_, first) = chars.next().expect("a grapheme cluster holds a char");
        let cells = if cluster.len() == first.len_utf8() {
            char_width(first)
        } else if cluster.contains(char::is_control) {
            // Ratatui draws no cluster with a control char in it (`\r\n` is the only one).
            0
        } else {
            cluster.cell_width().into()
        };
        std::iter::once(DrawnChar { at, c: first, cells, joined: false }).chain(
            chars.map(move |(i, c)| DrawnChar { at: at + i, c, cells: 0, joined: true }),
        )
    })
}

/// The char offset of the cluster boundary after char `offset` of `line` (one char on where
/// there is none, as the move always went), and of the one before it (0 where there is none).
/// The cursor moves by clusters, so it never stands inside one.
pub fn next_cluster_start(line: &str, offset: usize) -> usize {
    let Some((at, _)) = line.char_indices().nth(offset) else { return offset + 1 };
    match GraphemeCursor::new(at, line.len(), true).next_boundary(line, 0) {
        Ok(Some(end)) => offset + line[at..end].chars().count(),
        _ => offset + 1,
    }
}

pub fn previous_cluster_start(line: &str, offset: usize) -> usize {
    let at = line.char_indices().nth(offset).map_or(line.len(), |(at, _)| at);
    match GraphemeCursor::new(at, line.len(), true).prev_boundary(line, 0) {
        Ok(Some(start)) => offset.saturating_sub(line[start..at].chars().count()),
        _ => offset.saturating_sub(1),
    }
}

/// The cluster that starts at char `offset` of `line` (or holds it), with its byte offset.
pub fn cluster_at(line: &str, offset: usize) -> Option<(usize, &str)> {
    let (at, _) = line.char_indices().nth(offset)?;
    let start = match GraphemeCursor::new(at, line.len(), true).is_boundary(line, 0) {
        Ok(false) => GraphemeCursor::new(at, line.len(), true).prev_boundary(line, 0).ok()??,
        _ => at,
    };
    let end = GraphemeCursor::new(start, line.len(), true).next_boundary(line, 0).ok()??;
    Some((start, &line[start..end]))
}

/// Char `offset` of `line`, or the start of the cluster it is inside.
pub fn cluster_start(line: &str, offset: usize) -> usize {
    let Some((start, _)) = cluster_at(line, offset) else { return offset };
    let at = line.char_indices().nth(offset).map_or(line.len(), |(at, _)| at);
    offset - line[start..at].chars().count()
}
