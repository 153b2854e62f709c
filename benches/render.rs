//! The screen's side: drawing the main screen at 120×40 against the benchmark database, and
//! a one-row move (the key's update, the store work it asks for, and the frame).
//! `CUSTODIAN_BENCH_USERS` sets the size of the database (default 1,000,000; see `support`).

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use custodian::draft::Drafts;
use custodian::tui::app::{Action, State, update};
use custodian::tui::theme::Theme;
use custodian::tui::{Runtime, StoreWorkers, run_effects, view, wait_for_answers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
/// Moves in one direction before turning back, so a small database never runs out of rows.
const SWING: usize = 200;

fn benches(c: &mut Criterion) {
    let (path, store) = support::database();
    let store = std::sync::Arc::new(store);
    let drafts = tempfile::tempdir().expect("temporary directory");
    let runtime = Runtime {
        store: &*store,
        drafts: Drafts::at(drafts.path().to_owned()),
        database: path.display().to_string(),
        scanner: None,
        workers: None,
        checker: None,
    };
    let theme = Theme::colour();
    let mut state = State::new(WIDTH, HEIGHT, false);
    let effects = state.start();
    run_effects(&runtime, &mut state, effects);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    terminal.draw(|frame| view::render(frame, &state, &theme)).expect("draw");

    c.bench_function("render_main_screen_120x40", |b| {
        b.iter(|| {
            terminal.draw(|frame| view::render(frame, black_box(&state), &theme)).expect("draw");
        })
    });

    let mut moves = 0usize;
    c.bench_function("one_row_move_update_effects_render", |b| {
        b.iter(|| {
            let action = if (moves / SWING).is_multiple_of(2) { Action::Down } else { Action::Up };
            moves += 1;
            let effects = update(&mut state, action);
            run_effects(&runtime, &mut state, effects);
            terminal.draw(|frame| view::render(frame, &state, &theme)).expect("draw");
        })
    });

    // The same move as the screen makes it: the store work sent to the worker threads and
    // their answer waited for (a thread hand-off each way) before the frame.
    let workers = StoreWorkers::new(std::sync::Arc::clone(&store) as _, path.display().to_string())
        .expect("start the store's workers");
    let runtime = Runtime { store: &*store, workers: Some(workers), ..runtime };
    c.bench_function("one_row_move_through_the_workers", |b| {
        b.iter(|| {
            let action = if (moves / SWING).is_multiple_of(2) { Action::Down } else { Action::Up };
            moves += 1;
            let effects = update(&mut state, action);
            run_effects(&runtime, &mut state, effects);
            assert!(wait_for_answers(&runtime, &mut state, std::time::Duration::from_secs(5)));
            terminal.draw(|frame| view::render(frame, &state, &theme)).expect("draw");
        })
    });
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
