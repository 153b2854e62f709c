//! The operator's screen. Data flows one way: a key becomes an [`app::Action`], `update`
//! changes the [`app::State`] and asks for store work ([`app::Effect`]), the runtime here does
//! that work and feeds the answer back as another action, and the views draw the state.

pub mod app;
pub mod keymap;
pub mod terminal;
pub mod theme;
pub mod view;

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use crossterm::event::{self, Event, KeyEventKind};

use app::{Action, Effect, Mode, State, update};
use theme::Theme;

use crate::store::{Author, UserStore};

/// Opens the TUI on the database.
pub fn run(db: Option<&Path>, read_only: bool) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the editor needs a terminal; for scripts use a subcommand (see `custodian --help`)");
    }
    let options = crate::store::OpenOptions { read_only, ..Default::default() };
    let store = crate::cli::open_store(db, options)?;
    let theme = Theme::from_environment(false);
    let mut terminal = terminal::enter().context("cannot set up the terminal")?;
    let result = event_loop(&mut terminal, &store, &theme);
    let restored = terminal::leave().context("cannot restore the terminal");
    result.and(restored)
}

fn event_loop(terminal: &mut terminal::Term, store: &dyn UserStore, theme: &Theme) -> Result<()> {
    let size = terminal.size()?;
    let read_only = store.is_read_only();
    let mut state = State::new(size.width, size.height, read_only);
    let effects = state.start();
    run_effects(store, &mut state, effects);
    let mut dirty = true;
    while !state.quit {
        if dirty {
            terminal::draw(terminal, |frame| view::render(frame, &state, theme))?;
            dirty = false;
        }
        if !event::poll(Duration::from_millis(500))? {
            continue;
        }
        // Drain everything already queued, then draw once.
        loop {
            if let Some(action) = action_for_event(&state, event::read()?) {
                if matches!(action, Action::Resize { .. }) {
                    terminal.autoresize()?;
                }
                let effects = update(&mut state, action);
                run_effects(store, &mut state, effects);
                dirty = true;
            }
            if state.quit || !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
    Ok(())
}

/// The action an input event stands for in the current state, if any.
pub fn action_for_event(state: &State, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => keymap::action_for(state.mode(), key),
        Event::Paste(text) => match state.mode() {
            Mode::Edit => Some(Action::Paste(text)),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        _ => None,
    }
}

/// Does the store work `update` asked for, feeding each answer back, until none is left.
pub fn run_effects(store: &dyn UserStore, state: &mut State, effects: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        let answer = perform(store, effect);
        queue.extend(update(state, answer));
    }
}

/// One piece of store work, answered as an action.
pub fn perform(store: &dyn UserStore, effect: Effect) -> Action {
    let failed = |e: crate::store::StoreError| Action::StoreFailed { message: e.to_string() };
    match effect {
        Effect::LoadRows(request) => {
            let rows = store.rows(&request.seek, request.filter.as_deref(), request.limit);
            match rows.and_then(|rows| Ok((rows, store.count()?))) {
                Ok((rows, total)) => Action::RowsLoaded { request, rows, total },
                Err(e) => failed(e),
            }
        }
        Effect::LoadUser { id } => match store.user(&id).and_then(|r| Ok((r, store.custom_data(&id)?))) {
            Ok((record, document)) => Action::UserLoaded { record: Box::new(record), document },
            Err(e) => failed(e),
        },
        Effect::Save { id, data, expected } => {
            match store.replace_custom_data(&id, &data, Some(expected), &Author::from_environment()) {
                Ok(outcome) => Action::Saved { id, outcome },
                Err(e) => failed(e),
            }
        }
    }
}
