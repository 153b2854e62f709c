use super::*;

fn moved(from: Option<(u16, u16)>, to: (u16, u16)) -> String {
    moved_with(from, to, true)
}

/// As [`moved`] where a line feed would also return the carriage (not in raw mode).
fn moved_cooked(from: Option<(u16, u16)>, to: (u16, u16)) -> String {
    moved_with(from, to, false)
}

fn moved_with(from: Option<(u16, u16)>, to: (u16, u16), line_feeds: bool) -> String {
    let mut out = Vec::new();
    shortest_move(&mut out, from.map(|(x, y)| Position::new(x, y)), Position::new(to.0, to.1), line_feeds);
    String::from_utf8(out).unwrap()
}

#[test]
fn moves_are_the_shortest_of_absolute_and_relative() {
    assert_eq!(moved(None, (60, 8)), "\x1b[9;61H");
    assert_eq!(moved(None, (0, 8)), "\x1b[9H");
    assert_eq!(moved(Some((10, 3)), (12, 3)), "\x1b[2C");
    assert_eq!(moved(Some((10, 3)), (11, 3)), "\x1b[C");
    // A step or three down or back: line feeds and backspaces, a byte each.
    assert_eq!(moved(Some((62, 8)), (60, 9)), "\n\x08\x08");
    assert_eq!(moved(Some((60, 8)), (60, 11)), "\n\n\n");
    assert_eq!(moved(Some((60, 8)), (60, 12)), "\x1b[4B");
    assert_eq!(moved(Some((63, 8)), (60, 8)), "\x08\x08\x08");
    assert_eq!(moved(Some((64, 8)), (60, 8)), "\x1b[4D");
    assert_eq!(moved(Some((77, 8)), (60, 9)), "\n\x1b[17D");
    assert_eq!(moved(Some((60, 8)), (60, 9)), "\n");
    assert_eq!(moved(Some((40, 8)), (0, 9)), "\n\r");
    // Up is never a line feed.
    assert_eq!(moved(Some((60, 9)), (60, 8)), "\x1b[A");
    // As long as the absolute move: the absolute one.
    assert_eq!(moved(Some((70, 1)), (3, 30)), "\x1b[31;4H");
    assert_eq!(moved(Some((40, 2)), (3, 2)), "\x1b[4G");
    assert_eq!(moved(Some((40, 2)), (12, 2)), "\x1b[28D");
    assert_eq!(moved(Some((5, 1)), (5, 1)), "");
}

#[test]
fn without_raw_mode_a_line_feed_is_never_a_move() {
    assert_eq!(moved_cooked(Some((62, 8)), (60, 9)), "\x1b[B\x08\x08");
    assert_eq!(moved_cooked(Some((60, 8)), (60, 11)), "\x1b[3B");
    assert_eq!(moved_cooked(Some((77, 8)), (60, 9)), "\x1b[10;61H");
    assert_eq!(moved_cooked(Some((40, 8)), (0, 9)), "\x1b[B\r");
}

/// The bytes of one draw of `cells` (x, y, symbol) on a fresh 40-column backend.
fn drawn(cells: &[(u16, u16, &str)]) -> String {
    let cells: Vec<(u16, u16, Cell)> = cells
        .iter()
        .map(|&(x, y, symbol)| {
            let mut cell = Cell::default();
            cell.set_symbol(symbol);
            (x, y, cell)
        })
        .collect();
    let mut backend = LeanBackend::with_width(Vec::new(), 40);
    backend.draw(cells.iter().map(|(x, y, c)| (*x, *y, c))).unwrap();
    Backend::flush(&mut backend).unwrap();
    String::from_utf8(backend.writer().clone()).unwrap()
}

#[test]
fn a_run_of_blanks_is_erased_where_that_is_shorter_and_written_where_not() {
    let blanks = |from: u16, n: u16| (from..from + n).map(|x| (x, 0, " ")).collect::<Vec<_>>();
    // Seven blanks ending the draw: erased (4 bytes for 7).
    let mut cells = vec![(0, 0, "a")];
    cells.extend(blanks(1, 7));
    assert_eq!(drawn(&cells), "\x1b[1H\x1b[0ma\x1b[7X");
    // Seven blanks before a letter right after them: erasing would cost a move too.
    cells.push((8, 0, "b"));
    assert_eq!(drawn(&cells), "\x1b[1H\x1b[0ma       b");
}

fn sgr(from: Option<Pen>, to: Pen) -> String {
    let mut out = Vec::new();
    write_sgr(&mut out, from, to);
    String::from_utf8(out).unwrap()
}

#[test]
fn colours_take_their_short_codes_and_one_sequence_holds_every_change() {
    let grey = Pen { fg: Color::DarkGray, ..Pen::DEFAULT };
    assert_eq!(sgr(Some(Pen::DEFAULT), grey), "\x1b[90m");
    assert_eq!(sgr(None, grey), "\x1b[0;90m");
    let selected = Pen { modifier: Modifier::REVERSED | Modifier::BOLD, ..Pen::DEFAULT };
    assert_eq!(sgr(Some(Pen::DEFAULT), selected), "\x1b[1;7m");
    assert_eq!(sgr(Some(selected), Pen::DEFAULT), "\x1b[0m");
    let dim_only = Pen { modifier: Modifier::DIM, fg: Color::Red, ..Pen::DEFAULT };
    let bold_dim = Pen { modifier: Modifier::DIM | Modifier::BOLD, fg: Color::Red, ..Pen::DEFAULT };
    assert_eq!(sgr(Some(bold_dim), dim_only), "\x1b[22;2m");
    // A reset is shorter than taking back what is not wanted.
    assert_eq!(sgr(Some(bold_dim), Pen { fg: Color::Reset, ..dim_only }), "\x1b[0;2m");
    let warm = Pen { fg: Color::Indexed(208), bg: Color::Rgb(1, 2, 3), ..Pen::DEFAULT };
    assert_eq!(sgr(Some(Pen::DEFAULT), warm), "\x1b[38;5;208;48;2;1;2;3m");
    assert_eq!(sgr(Some(grey), Pen { fg: Color::Yellow, ..Pen::DEFAULT }), "\x1b[33m");
}

/// A cluster of a letter and 400,000 combining marks is sent as its first 64 bytes, cut at a
/// character's end (bb65 F3: 800 KB a frame).
#[test]
fn a_cluster_of_many_combining_marks_is_sent_cut_to_its_first_bytes() {
    let zalgo = format!("Z{}", "\u{301}".repeat(400_000));
    let out = drawn(&[(0, 0, zalgo.as_str()), (1, 0, "x")]);
    assert!(out.len() < 200, "{} bytes", out.len());
    let sent = format!("Z{}", "\u{301}".repeat(31));
    // After a cluster the cursor is placed absolutely again (its drawn width is not sure).
    assert!(out.contains(&format!("{sent}\x1b[1;2Hx")), "{out:?}");
    assert_eq!(sent_of(&zalgo).len(), 63, "cut at a character's end");
    let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}";
    assert_eq!(sent_of(family), family, "an emoji sequence goes whole");
}
