//! The editor on a 1 MiB document, measured in-process (no terminal): opening the editor
//! (the read, the editor's set-up and the first frame) and each typed character (the update
//! and the frame after it, drawn on a 120×40 in-memory backend; the check runs on its worker
//! thread as in the event loop), as p50/p99/max.
//!
//! Then the customData pane as a folding tree (`Tab`) on the same document: focusing it (the
//! tree built, the first frame) and each key in it (moves, pages, folds, fold all, finding the
//! filter's text) → frame.
//!
//! ```sh
//! cargo run --release --example editor_latency
//! cargo run --release --example editor_latency -- --inline   # the check on the key path
//! cargo run --release --example editor_latency -- --unicode  # non-ASCII text in every event
//! cargo run --release --example editor_latency -- --cjk      # nearly every string CJK
//! ```
//!
//! The document: 5,500 event objects (~1 MiB pretty, under the 1 MiB compact limit).

use std::time::{Duration, Instant};

use custodian::domain::Limits;
use custodian::domain::import::ImportReader;
use custodian::store::{Author, ImportMode, OpenOptions, RedbStore, UserStore};
use custodian::tui::app::{Action, State, update};
use custodian::tui::check::Checker;
use custodian::tui::theme::Theme;
use custodian::tui::{Runtime, run_effects, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key};

#[path = "support/big_document.rs"]
mod big_document;

fn document() -> serde_json::Value {
    big_document::events_document(big_document::Script::from_args())
}

fn runtime(store: &RedbStore) -> Runtime<'_> {
    let dir = store.path().parent().expect("in a directory");
    Runtime {
        store,
        drafts: custodian::draft::Drafts::at(dir.join("drafts")),
        database: store.path().display().to_string(),
        scanner: None,
        workers: None,
        checker: None,
    }
}

fn act(runtime: &Runtime, state: &mut State, action: Action) {
    let effects = update(state, action);
    run_effects(runtime, state, effects);
}

/// CPU time of this thread: on a loaded machine (the figures in the README were taken at a load
/// average of ~10 on 2 cores) wall time mostly measures the wait for a core.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
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
    println!(
        "document: {} bytes pretty, 5,500 events, {:?}",
        pretty.len(),
        big_document::Script::from_args()
    );

    let theme = Theme::colour();
    let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
    let mut opens = Vec::new();
    let mut keys = Vec::new();
    let (mut open_cpu, mut key_cpu) = (Vec::new(), Vec::new());
    // As the event loop has it: the editor's check on its worker thread.
    let mut runtime = runtime(&store);
    // `--inline`: the check on the key path, as before issue 12's item 3.
    if !std::env::args().any(|a| a == "--inline") {
        runtime.checker = Some(Checker::new()?);
    }
    for round in 0..5 {
        let mut state = State::new(120, 40, false);
        let effects = state.start();
        run_effects(&runtime, &mut state, effects);
        terminal.draw(|frame| view::render(frame, &state, &theme))?;
        let (started, cpu) = (Instant::now(), thread_cpu());
        act(&runtime, &mut state, Action::OpenEditor);
        terminal.draw(|frame| view::render(frame, &state, &theme))?;
        opens.push(started.elapsed());
        open_cpu.push(thread_cpu() - cpu);
        if let Some(editor) = state.editor.as_mut() {
            editor.textarea.move_cursor(CursorMove::Jump(2_000, 10));
        }
        for i in 0..100 {
            let c = if (round + i) % 2 == 0 { 'x' } else { ' ' };
            let (started, cpu) = (Instant::now(), thread_cpu());
            act(&runtime, &mut state, Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
            terminal.draw(|frame| view::render(frame, &state, &theme))?;
            keys.push(started.elapsed());
            key_cpu.push(thread_cpu() - cpu);
            // What the event loop does between keys: the check asked for sent once the frame
            // is out, and the check's answers.
            if let Some(checker) = &runtime.checker {
                checker.send_held();
            }
            while let Some(answer) = runtime.checker.as_ref().and_then(Checker::try_recv) {
                let effects = update(&mut state, answer);
                run_effects(&runtime, &mut state, effects);
            }
        }
    }
    // The folding tree: focus it, then keys of every kind.
    let (mut focuses, mut tree_keys, mut tree_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let tree_actions = [
        Action::TreeMove(1),
        Action::TreeMove(1),
        Action::TreeToggle,
        Action::TreePage(1),
        Action::TreeExpand,
        Action::TreeMove(-1),
        Action::TreeFindFilter { forward: true },
        Action::TreeCollapse,
        Action::TreeEdge(true),
        Action::TreePage(-1),
        Action::TreeFoldAll(true),
        Action::TreeFoldAll(false),
        Action::TreeEdge(false),
    ];
    for _ in 0..5 {
        let mut state = State::new(120, 40, false);
        let effects = state.start();
        run_effects(&runtime, &mut state, effects);
        state.list.filter = "purchase".into();
        let started = Instant::now();
        act(&runtime, &mut state, Action::FocusTree);
        terminal.draw(|frame| view::render(frame, &state, &theme))?;
        focuses.push(started.elapsed());
        for _ in 0..8 {
            for action in &tree_actions {
                let (started, cpu) = (Instant::now(), thread_cpu());
                act(&runtime, &mut state, action.clone());
                terminal.draw(|frame| view::render(frame, &state, &theme))?;
                tree_keys.push(started.elapsed());
                tree_cpu.push(thread_cpu() - cpu);
            }
        }
    }
    for samples in [&mut focuses, &mut tree_keys, &mut tree_cpu] {
        samples.sort();
    }
    println!(
        "tree: focus (build + frame) p50 {:?} max {:?}; key → frame p50 {:?} p99 {:?} max {:?} ({} keys); CPU p99 {:?}",
        percentile(&focuses, 0.5),
        focuses[focuses.len() - 1],
        percentile(&tree_keys, 0.5),
        percentile(&tree_keys, 0.99),
        tree_keys[tree_keys.len() - 1],
        tree_keys.len(),
        percentile(&tree_cpu, 0.99)
    );
    for samples in [&mut opens, &mut keys, &mut open_cpu, &mut key_cpu] {
        samples.sort();
    }
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
    println!(
        "UI thread CPU: open p50 {:?}; typed char p50 {:?} p99 {:?}",
        percentile(&open_cpu, 0.5),
        percentile(&key_cpu, 0.5),
        percentile(&key_cpu, 0.99)
    );
    Ok(())
}
