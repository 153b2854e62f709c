//! Word of long store work (an export, a patch over a million users) for the screen while it
//! runs: at most a few times a second, each a frame.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tui::app::{Action, StopFlag};

/// How often the screen hears of work under way at most.
const AT_MOST_EVERY: Duration = Duration::from_millis(250);

/// Says when word is due: the first time, then once [`AT_MOST_EVERY`] has passed. Shared by
/// the threads of one piece of work (an export's two).
#[derive(Default)]
pub(super) struct Throttle {
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    pub(super) fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= AT_MOST_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

/// Tells the screen how many users a patch's walk has seen (a million take a minute).
pub(super) fn patch_progress<'a>(
    stop: &'a StopFlag,
    tell: &'a (dyn Fn(Action) + Sync),
) -> impl FnMut(u64) + 'a {
    let throttle = Throttle::default();
    move |seen| {
        if throttle.due() {
            tell(Action::PatchProgress { stop: stop.clone(), seen });
        }
    }
}
