//! No cell of the screen differs from a fresh full redraw, whatever was on it before. Random
//! action sequences (filtering, scrolling, overlays, edits) on the demo users plus users
//! whose names and documents hold complex scripts are drawn frame after frame through the
//! real backend (gap filling over crossterm) into a terminal emulator (vt100); after every
//! frame the emulator's screen must equal the one a fresh terminal shows after drawing the
//! same state whole.

mod support;

use custodian::domain::Limits;
use custodian::domain::import::ImportReader;
use custodian::store::{Author, ImportMode, RedbStore, UserStore};
use custodian::tui::app::{Action, State};
use custodian::tui::gap_filling::GapFilling;
use custodian::tui::lean_backend::LeanBackend;
use custodian::tui::theme::Theme;
use custodian::tui::view;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::layout::Size;
use ratatui_textarea::{Input, Key};
use support::emulator::{Written, shown};
use support::{act, demo_store, started};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// Clusters terminals and unicode-width may count differently.
const PIECES: &[&str] =
    &["अनिल देशपांडे", "क्षि", "সুব্রত", "தமிழ்", "สวัสดี", "مُحَمَّد", "👨‍👩‍👧", "🇫🇷🇯🇵", "❤️", "☺︎", "世界", "e\u{301}", "ab"];

/// The backends custodian draws through.
type Screen = Terminal<GapFilling<LeanBackend<Written>>>;

fn new_screen(out: &Written) -> Screen {
    Terminal::new(GapFilling::with_size(
        LeanBackend::with_width(out.clone(), WIDTH),
        Size::new(WIDTH, HEIGHT),
    ))
    .unwrap()
}

fn emulator() -> vt100::Parser {
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    vt100::Parser::new(size(HEIGHT), size(WIDTH), 0)
}

fn draw(terminal: &mut Screen, state: &State) {
    terminal.draw(|frame| view::render(frame, state, &Theme::colour())).unwrap();
}

fn full_redraw(state: &State) -> String {
    let out = Written::default();
    let mut terminal = new_screen(&out);
    draw(&mut terminal, state);
    let mut emulator = emulator();
    emulator.process(&out.take());
    shown(emulator.screen(), WIDTH, HEIGHT)
}

/// The demo users and, after them in list order, users whose names and documents are made
/// of the pieces.
fn store_with_complex_names() -> (tempfile::TempDir, RedbStore) {
    let (dir, store) = demo_store();
    let mut lines = String::new();
    for i in 0..40usize {
        let name: String =
            (0..3).map(|k| PIECES[(i * 7 + k * 5) % PIECES.len()]).collect::<Vec<_>>().join(" ");
        let user = serde_json::json!({
            "id": format!("cx{i:010}"),
            "username": format!("an{i:02}"),
            "name": name,
            "customData": { "note": name, "tags": [PIECES[i % PIECES.len()]] },
        });
        lines.push_str(&user.to_string());
        lines.push('\n');
    }
    let mut reader = ImportReader::new(lines.as_bytes(), Limits::default(), 1_700_000_000_000).unwrap();
    store.import(&mut reader, ImportMode::InsertOnly, &Author("tester".into())).unwrap();
    (dir, store)
}

fn action() -> impl Strategy<Value = Vec<Action>> {
    let filter = prop_oneof![Just("admin"), Just("an"), Just("a"), Just("anil"), Just("x"), Just("ab")]
        .prop_map(|text| {
            let mut actions = vec![Action::StartFilter];
            actions.extend(text.chars().map(Action::FilterChar));
            actions.push(Action::FilterAccept);
            actions
        });
    let typed = (0..PIECES.len()).prop_map(|i| {
        let mut actions = vec![Action::OpenEditor];
        actions
            .extend(PIECES[i].chars().map(|c| Action::Edit(Input { key: Key::Char(c), ..Input::default() })));
        actions
    });
    prop_oneof![
        4 => filter,
        3 => Just(vec![Action::Down]),
        1 => Just(vec![Action::Up]),
        2 => Just(vec![Action::PageDown]),
        1 => Just(vec![Action::PageUp]),
        1 => Just(vec![Action::Home]),
        1 => Just(vec![Action::End]),
        2 => Just(vec![Action::ClearFilter]),
        1 => Just(vec![Action::ToggleHelp]),
        1 => Just(vec![Action::OpenHistory]),
        1 => Just(vec![Action::OpenWholeUser, Action::WholeUserPage(1)]),
        2 => typed,
        2 => Just(vec![Action::Cancel]),
        1 => Just(vec![Action::LeaveEditor]),
        1 => Just(vec![Action::Confirm]),
    ]
}

fn cases() -> u32 {
    std::env::var("CUSTODIAN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn every_frame_shows_what_a_full_redraw_shows(steps in proptest::collection::vec(action(), 1..12)) {
        let (_dir, store) = store_with_complex_names();
        let mut state = started(&store, WIDTH, HEIGHT);
        let out = Written::default();
        let mut terminal = new_screen(&out);
        let mut emulator = emulator();
        draw(&mut terminal, &state);
        emulator.process(&out.take());
        for (i, step) in steps.into_iter().enumerate() {
            for action in step {
                act(&store, &mut state, action);
            }
            draw(&mut terminal, &state);
            emulator.process(&out.take());
            let incremental = shown(emulator.screen(), WIDTH, HEIGHT);
            prop_assert!(incremental == full_redraw(&state), "step {} leaves cells a full redraw does not show", i);
        }
    }
}
