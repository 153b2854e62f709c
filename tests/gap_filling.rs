//! The gap-filling backend writes unchanged cells again instead of moving the cursor over
//! them. These tests play the bytes of the backends into a terminal emulator (vt100) and
//! require, after every frame, the screen a fresh terminal shows with that frame drawn whole
//! — random frames with wide characters and styles — and no more bytes than ratatui's
//! backend (but for the wide characters' halves written again), fewer where the details pane
//! changes in short runs.

mod support;

use custodian::tui::gap_filling::GapFilling;
use custodian::tui::lean_backend::LeanBackend;
use proptest::prelude::*;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::style::{Color, Modifier, Style};
use support::emulator::{Written, shown};

const WIDTH: u16 = 30;
const HEIGHT: u16 = 6;

/// How frames reach the terminal: ratatui's crossterm backend as it is (the reference), with
/// the gap filling over it, or the gap filling over the lean backend (what custodian uses).
#[derive(Clone, Copy)]
enum Via {
    Plain,
    GapFilling,
    Lean,
}

/// Draws each frame (as ratatui does: only the cells that differ from the previous frame)
/// through a backend writing to memory; the screens a terminal shows after each frame and
/// the bytes it took.
fn play(frames: &[Buffer], via: Via) -> (Vec<String>, usize) {
    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut previous = Buffer::empty(area);
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let mut terminal = vt100::Parser::new(size(HEIGHT), size(WIDTH), 0);
    let mut screens = Vec::new();
    let mut bytes = 0;
    let out = Written::default();
    let mut gap_filling = GapFilling::with_size(CrosstermBackend::new(out.clone()), Size::new(WIDTH, HEIGHT));
    let mut lean =
        GapFilling::with_size(LeanBackend::with_width(out.clone(), WIDTH), Size::new(WIDTH, HEIGHT));
    let mut plain = CrosstermBackend::new(out.clone());
    for frame in frames {
        let diff = previous.diff(frame);
        match via {
            Via::Plain => plain.draw(diff.into_iter()).unwrap(),
            Via::GapFilling => gap_filling.draw(diff.into_iter()).unwrap(),
            Via::Lean => {
                lean.draw(diff.into_iter()).unwrap();
                Backend::flush(&mut lean).unwrap();
            }
        }
        let written = out.take();
        bytes += written.len();
        terminal.process(&written);
        screens.push(shown(terminal.screen(), WIDTH, HEIGHT));
        previous = frame.clone();
    }
    (screens, bytes)
}

/// What a fresh terminal shows after each frame drawn whole: what every backend's frame must
/// show. (ratatui's crossterm backend, frame after frame, is not that: a cell written over
/// the left half of a wide character leaves its right half blanked in the pen of the moment,
/// reverse video included, when the frame does not write that half itself.)
fn whole(frames: &[Buffer]) -> Vec<String> {
    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    frames
        .iter()
        .map(|frame| play(&[Buffer::empty(area), frame.clone()], Via::Plain).0.pop().expect("a screen"))
        .collect()
}

/// How many times a frame's cells split a wide character of the frame before, leaving its
/// right half outside the cells written: each such half is written again (a blank), which
/// ratatui's backend does not do.
fn split_wide_characters(frames: &[Buffer]) -> usize {
    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut previous = Buffer::empty(area);
    let mut splits = 0;
    for frame in frames {
        let diff = previous.diff(frame);
        for &(x, y, cell) in &diff {
            let after = x + unicode_width(cell.symbol()).max(1);
            let wide_before = after < WIDTH && unicode_width(previous[(after - 1, y)].symbol()) == 2;
            if wide_before && !diff.iter().any(|&(dx, dy, _)| dy == y && dx == after) {
                splits += 1;
            }
        }
        previous = frame.clone();
    }
    splits
}

/// The most a right half written again may cost: a blank, usually in the pen of the moment
/// (1 byte), else between a switch to its own style and back — for this palette's costliest
/// pair (an RGB background, then 208 bold italic) 57 bytes.
const HALF_COST: usize = 64;

fn unicode_width(symbol: &str) -> u16 {
    unicode_width::UnicodeWidthStr::width(symbol) as u16
}

fn style(choice: u8) -> Style {
    match choice % 9 {
        0 => Style::default(),
        1 => Style::default().fg(Color::DarkGray),
        2 => Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        3 => Style::default().fg(Color::Yellow).bg(Color::Blue),
        4 => Style::default().add_modifier(Modifier::BOLD),
        5 => Style::default().add_modifier(Modifier::DIM | Modifier::UNDERLINED),
        6 => Style::default().fg(Color::Indexed(208)).add_modifier(Modifier::ITALIC | Modifier::BOLD),
        7 => Style::default().bg(Color::Rgb(10, 20, 30)).fg(Color::White),
        _ => Style::default().add_modifier(Modifier::DIM),
    }
}

/// Text from a small alphabet with wide characters (CJK, emoji) and accented letters.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'e'),
            3 => Just(' '),
            2 => proptest::char::range('0', '3'),
            1 => Just('é'),
            1 => Just('世'),
            1 => Just('🙂'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn frame() -> impl Strategy<Value = Buffer> {
    proptest::collection::vec((0..WIDTH, 0..HEIGHT, text(), any::<u8>()), 0..10).prop_map(|writes| {
        let mut buffer = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
        for (x, y, text, choice) in writes {
            buffer.set_stringn(x, y, &text, (WIDTH - x) as usize, style(choice));
        }
        // A string written over a wide character's right half leaves its left half in the
        // buffer, overlapping the new cell, or styles that half apart: no frame custodian
        // draws holds that (a widget writes whole characters, a style covers both halves),
        // and no two terminals draw it alike. Such a left half is blank; a right half takes
        // its character's style.
        for y in 0..HEIGHT {
            for x in 0..WIDTH - 1 {
                if unicode_width(buffer[(x, y)].symbol()) != 2 {
                    continue;
                }
                if buffer[(x + 1, y)].symbol() != " " {
                    buffer[(x, y)].set_symbol(" ");
                } else {
                    // Each field: `set_style` would add the half's own modifiers to them.
                    let wide = buffer[(x, y)].clone();
                    let half = &mut buffer[(x + 1, y)];
                    (half.fg, half.bg, half.modifier) = (wide.fg, wide.bg, wide.modifier);
                    half.underline_color = wide.underline_color;
                }
            }
        }
        // vt100 keeps one intensity (the last of bold and dim set), where terminals keep
        // both: a cell with both would compare the order of codes, not what a screen shows.
        for cell in &mut buffer.content {
            if cell.modifier.contains(Modifier::BOLD) {
                cell.modifier.remove(Modifier::DIM);
            }
        }
        buffer
    })
}

fn cases() -> u32 {
    std::env::var("CUSTODIAN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_terminal_shows_the_same_screens_with_fewer_or_as_many_bytes(
        frames in proptest::collection::vec(frame(), 1..6)
    ) {
        let (_, plain_bytes) = play(&frames, Via::Plain);
        let (filled, filled_bytes) = play(&frames, Via::GapFilling);
        for (i, (whole, filled)) in whole(&frames).iter().zip(&filled).enumerate() {
            prop_assert_eq!(whole, filled, "frame {} differs", i);
        }
        let allowed = plain_bytes + HALF_COST * split_wide_characters(&frames);
        prop_assert!(filled_bytes <= allowed, "{} > {}", filled_bytes, allowed);
    }

    #[test]
    fn the_lean_backend_shows_the_same_cells_and_styles_as_crossterms(
        frames in proptest::collection::vec(frame(), 1..8)
    ) {
        let (_, plain_bytes) = play(&frames, Via::Plain);
        let (lean, lean_bytes) = play(&frames, Via::Lean);
        for (i, (whole, lean)) in whole(&frames).iter().zip(&lean).enumerate() {
            let rows: Vec<String> = whole.lines().zip(lean.lines()).filter(|(a, b)| a != b).map(|(a, b)| format!("\nWHOLE {a}\nLEAN  {b}")).collect();
            prop_assert!(whole == lean, "frame {} differs: {}", i, rows.join(""));
        }
        let allowed = plain_bytes + HALF_COST * split_wide_characters(&frames);
        prop_assert!(lean_bytes <= allowed, "{} > {}", lean_bytes, allowed);
    }
}

#[test]
fn a_changed_timestamp_is_written_as_one_run_instead_of_a_cursor_move_per_digit_group() {
    let line = |text: &str| {
        let mut buffer = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
        buffer.set_string(2, 3, text, Style::default());
        buffer
    };
    let frames = [line("2025-10-17 07:31:46 UTC"), line("2024-12-16 03:39:42 UTC")];
    let (plain, plain_bytes) = play(&frames, Via::Plain);
    let (filled, filled_bytes) = play(&frames, Via::GapFilling);
    assert_eq!(plain, filled);
    // The second frame changes 8 digits in 6 runs: one cursor move instead of six.
    assert!(filled_bytes + 25 <= plain_bytes, "{filled_bytes} vs {plain_bytes}");
}

#[test]
fn the_right_half_of_a_wide_character_is_never_written_over() {
    let frame = |text: &str, tail: &str| {
        let mut buffer = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
        buffer.set_string(0, 0, text, Style::default());
        buffer.set_string(6, 0, tail, Style::default());
        buffer
    };
    // Between the two changed cells stands "世": a gap that must be moved over, not refilled.
    let frames = [frame("a世b", "x"), frame("c世b", "y"), frame("c世d", "z")];
    let (plain, _) = play(&frames, Via::Plain);
    let (filled, _) = play(&frames, Via::GapFilling);
    assert_eq!(plain, filled);
    let (lean, _) = play(&frames, Via::Lean);
    assert_eq!(plain, lean);
}

#[test]
fn the_blank_ratatui_sends_after_a_wide_emoji_with_vs16_does_not_erase_it() {
    let frame = |text: &str| {
        let mut buffer = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
        buffer.set_string(3, 2, text, Style::default());
        // As the editor's colours are laid over its text: the emoji's right column too.
        buffer.set_style(Rect::new(3, 2, 2, 1), Style::default().fg(Color::Green));
        buffer
    };
    // "❤\u{fe0f}" is drawn two columns wide; ratatui also sends its right column (a blank,
    // since "x" stood there) and the row, holding a disputed cluster, is written whole.
    let frames = [frame("ax"), frame("❤\u{fe0f}")];
    for via in [Via::GapFilling, Via::Lean] {
        let (filled, _) = play(&frames, via);
        let (fresh, _) = play(&frames[1..], via);
        assert_eq!(filled.last(), fresh.last());
    }
}

/// bb15 L03: a blank written over the left half of `漢` left its right half to the terminal,
/// and tmux keeps it (as the character's padding: the row shows a column short until a full
/// redraw). Modelled by a terminal in memory that keeps whatever stood in a cell not written
/// (ratatui's `TestBackend`, with a remnant put in the right half behind the backend's back):
/// the backend writes the right half again, whatever the pens.
#[test]
fn the_right_half_of_a_wide_character_written_over_is_written_again_as_a_blank() {
    use ratatui::backend::TestBackend;
    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut wide = Buffer::empty(area);
    wide.set_string(4, 1, "漢x", Style::default());
    let mut narrow = Buffer::empty(area);
    narrow.set_string(4, 1, "a", Style::default());
    narrow.set_string(6, 1, "x", Style::default());
    let mut backend = GapFilling::with_size(TestBackend::new(WIDTH, HEIGHT), Size::new(WIDTH, HEIGHT));
    backend.draw(Buffer::empty(area).diff(&wide).into_iter()).unwrap();
    let mut remnant = ratatui::buffer::Cell::default();
    remnant.set_symbol("#");
    backend.inner_mut().draw(std::iter::once((5, 1, &remnant))).unwrap();
    let diff = wide.diff(&narrow);
    assert!(!diff.iter().any(|&(x, y, _)| (x, y) == (5, 1)), "ratatui leaves the half out: {diff:?}");
    backend.draw(diff.into_iter()).unwrap();
    let shown = backend.inner().buffer();
    assert_eq!((shown[(4, 1)].symbol(), shown[(5, 1)].symbol(), shown[(6, 1)].symbol()), ("a", " ", "x"));
}

#[test]
fn a_right_half_written_again_is_written_in_the_pen_of_the_moment_when_a_blank_shows_the_same() {
    // `a` over the left half of 世, in bold italic orange: the half, a plain blank, is
    // written in that pen (a blank shows no foreground, weight or slant), not between a
    // switch to the plain style and back (35 bytes more than the cursor move it spares).
    let mut before = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
    before.set_string(2, 3, "a0世", Style::default());
    let mut after = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
    after.set_string(0, 3, "a0", style(8));
    after.set_string(2, 3, "aaa", style(6));
    after.set_string(6, 3, "a", style(6));
    let frames = [before, after];
    let (_, plain_bytes) = play(&frames, Via::Plain);
    for via in [Via::GapFilling, Via::Lean] {
        let (screens, bytes) = play(&frames, via);
        assert_eq!(screens, whole(&frames));
        assert!(bytes <= plain_bytes, "{bytes} > {plain_bytes}");
    }
    // A blank that shows its style (reverse video) is still written in its own.
    let mut before = Buffer::empty(Rect::new(0, 0, WIDTH, HEIGHT));
    before.set_string(4, 3, "世", style(2));
    before[(5, 3)].set_style(style(2));
    let mut after = before.clone();
    after.set_string(4, 3, "a", style(6));
    after.set_string(6, 3, "a", style(6));
    let frames = [before, after];
    assert_eq!(play(&frames, Via::GapFilling).0, whole(&frames));
    assert_eq!(play(&frames, Via::Lean).0, whole(&frames));
}
