//! The gap-filling backend writes unchanged cells again instead of moving the cursor over
//! them. These tests play the bytes of both backends into a terminal emulator (vt100) and
//! require the same screen after every frame — random frames with wide characters and
//! styles — and fewer bytes where the details pane changes in short runs.

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
        let (plain, plain_bytes) = play(&frames, Via::Plain);
        let (filled, filled_bytes) = play(&frames, Via::GapFilling);
        for (i, (plain, filled)) in plain.iter().zip(&filled).enumerate() {
            prop_assert_eq!(plain, filled, "frame {} differs", i);
        }
        prop_assert!(filled_bytes <= plain_bytes, "{} > {}", filled_bytes, plain_bytes);
    }

    #[test]
    fn the_lean_backend_shows_the_same_cells_and_styles_as_crossterms(
        frames in proptest::collection::vec(frame(), 1..8)
    ) {
        let (plain, plain_bytes) = play(&frames, Via::Plain);
        let (lean, lean_bytes) = play(&frames, Via::Lean);
        for (i, (plain, lean)) in plain.iter().zip(&lean).enumerate() {
            prop_assert_eq!(plain, lean, "frame {} differs", i);
        }
        prop_assert!(lean_bytes <= plain_bytes, "{} > {}", lean_bytes, plain_bytes);
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
