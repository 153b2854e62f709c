//! The editor on a 1 MiB document, measured in-process (no terminal): opening the editor
//! (the read, the editor's set-up and the first frame) and each typed character (the update
//! and the frame after it, drawn on a 120×40 in-memory backend), as p50/p99/max.
//!
//! ```sh
//! cargo run --release --example editor_latency
//! ```
//!
//! The document: 5,500 event objects (~1 MiB pretty, under the 1 MiB compact limit).

use std::time::{Duration, Instant};

use custodian::domain::Limits;
use custodian::domain::import::ImportReader;
use custodian::store::{Author, ImportMode, OpenOptions, RedbStore, UserStore};
use custodian::tui::app::{Action, State, update};
use custodian::tui::theme::Theme;
use custodian::tui::{Runtime, run_effects, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};

fn document() -> serde_json::Value {
    let events: Vec<serde_json::Value> = (0..5_500)
        .map(|i| {
            let kind = ["login", "logout", "purchase", "refund"][i % 4];
            serde_json::json!({
                "id": format!("evt-{i:06}"),
                "kind": kind,
                "at": 1_700_000_000_000i64 + i as i64 * 61_000,
                "ok": i % 7 != 0,
                "meta": { "path": format!("/app/section/{}", i % 97), "ms": i % 1000 }
            })
        })
        .collect();
    serde_json::json!({ "events": events, "plan": "pro" })
}

fn runtime(store: &RedbStore) -> Runtime<'_> {
    let dir = store.path().parent().expect("in a directory");
    Runtime {
        store,
        drafts: custodian::draft::Drafts::at(dir.join("drafts")),
        database: store.path().display().to_string(),
        scanner: None,
        checker: None,
    }
}

fn act(store: &RedbStore, state: &mut State, action: Action) {
    let effects = update(state, action);
    run_effects(&runtime(store), state, effects);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default())?;
    let user = serde_json::json!({ "id": "big00000001", "username": "big", "customData": document() });
    let line = format!("{user}\n");
    let mut reader = ImportReader::new(line.as_bytes(), Limits::default(), 1_700_000_000_000)?;
    store.import(&mut reader, ImportMode::InsertOnly, &Author("bench".into()))?;
    let pretty = serde_json::to_string_pretty(&document())?;
    println!("document: {} bytes pretty, 5,500 events", pretty.len());

    let theme = Theme::colour();
    let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
    let mut opens = Vec::new();
    let mut keys = Vec::new();
    for round in 0..5 {
        let mut state = State::new(120, 40, false);
        let effects = state.start();
        run_effects(&runtime(&store), &mut state, effects);
        terminal.draw(|frame| view::render(frame, &state, &theme))?;
        let started = Instant::now();
        act(&store, &mut state, Action::OpenEditor);
        terminal.draw(|frame| view::render(frame, &state, &theme))?;
        opens.push(started.elapsed());
        if let Some(editor) = state.editor.as_mut() {
            editor.textarea.move_cursor(CursorMove::Jump(2_000, 10));
        }
        for i in 0..100 {
            let c = if (round + i) % 2 == 0 { 'x' } else { ' ' };
            let started = Instant::now();
            act(&store, &mut state, Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
            terminal.draw(|frame| view::render(frame, &state, &theme))?;
            keys.push(started.elapsed());
        }
    }
    opens.sort();
    keys.sort();
    println!(
        "open editor: p50 {:?} max {:?} ({} opens)",
        percentile(&opens, 0.5),
        opens[opens.len() - 1],
        opens.len()
    );
    println!(
        "typed char → frame: p50 {:?} p99 {:?} max {:?} ({} keys)",
        percentile(&keys, 0.5),
        percentile(&keys, 0.99),
        keys[keys.len() - 1],
        keys.len()
    );
    Ok(())
}
