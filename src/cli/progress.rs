//! Progress on stderr for whole-database commands (import, export, seed, patch, schema check).

use std::io::{self, IsTerminal};

use crate::domain::custom_data::group_digits;

/// Progress on stderr for a whole-database command: only when stderr is a terminal and
/// `--quiet` was not given; hidden (drawing nothing) otherwise. `{rate}` in `template` is the
/// count a second in whole units (`212,099/s`; indicatif's `{per_sec}` showed four decimals).
pub fn progress(total: Option<u64>, quiet: bool, template: &str) -> indicatif::ProgressBar {
    styled_progress(total, quiet, template, |style| style)
}

/// [`progress`] of a command counted in two phases (an export: users read to be sorted, then
/// lines written): `{phase}` in `template` is `first` until the bar's first [`reset`], then
/// `second`.
///
/// [`reset`]: indicatif::ProgressBar::reset
pub fn two_phase_progress(
    total: Option<u64>,
    quiet: bool,
    template: &str,
    words: (&'static str, &'static str),
) -> indicatif::ProgressBar {
    styled_progress(total, quiet, template, move |style| Phase::key_of(style, words))
}

/// `{phase}` of [`two_phase_progress`]: switched by the bar's reset, under its lock with the
/// position's reset, so no frame says one phase's word with the other's count (a message set
/// beside the position showed `read 0/1,000,000`).
#[derive(Clone)]
struct Phase {
    words: (&'static str, &'static str),
    second: bool,
}

impl Phase {
    fn key_of(
        style: indicatif::ProgressStyle,
        words: (&'static str, &'static str),
    ) -> indicatif::ProgressStyle {
        style.with_key("phase", Phase { words, second: false })
    }
}

impl indicatif::style::ProgressTracker for Phase {
    fn clone_box(&self) -> Box<dyn indicatif::style::ProgressTracker> {
        Box::new(self.clone())
    }

    fn tick(&mut self, _: &indicatif::ProgressState, _: std::time::Instant) {}

    fn reset(&mut self, _: &indicatif::ProgressState, _: std::time::Instant) {
        self.second = true;
    }

    fn write(&self, _: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
        let _ = out.write_str(if self.second { self.words.1 } else { self.words.0 });
    }
}

fn styled_progress(
    total: Option<u64>,
    quiet: bool,
    template: &str,
    keys: impl FnOnce(indicatif::ProgressStyle) -> indicatif::ProgressStyle,
) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Some(style) = style_with(template, keys) {
        bar.set_style(style);
    }
    // Drawn on its own clock too, so a phase without new counts (the sorted merge at the
    // end of an import, a compaction) still shows time passing.
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// `template` with `{rate}`, an `{eta}` that is `…` until a rate is known, and the keys
/// `keys` adds; `None` for a template indicatif refuses.
fn style_with(
    template: &str,
    keys: impl FnOnce(indicatif::ProgressStyle) -> indicatif::ProgressStyle,
) -> Option<indicatif::ProgressStyle> {
    let style = indicatif::ProgressStyle::with_template(template).ok()?;
    let style = style.with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = out.write_str(&rate(state.per_sec()));
    });
    // indicatif's says `0s` while no rate is known (an export's second phase began `0/s ·
    // ETA 0s` for half a second: bb61).
    let style = style.with_key("eta", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
        let known = state.pos() > 0 && state.per_sec().is_finite() && state.per_sec() > 0.0;
        let _ = match known {
            true => write!(out, "{:#}", indicatif::HumanDuration(state.eta())),
            false => out.write_str("…"),
        };
    });
    Some(keys(style))
}

/// The last phase of a bulk load, once every user is read or made: the count complete, and
/// what goes on meanwhile with the time it has taken, instead of an "ETA 0s" that stays
/// up while the rate falls (it read as a hang at 99.9 %: bb22 L05). Drawn at once.
pub fn writing_phase(bar: &indicatif::ProgressBar, users: u64, read: &str) {
    // `all 1 users read` (bb42 F9).
    let (all, them) = match users {
        1 => ("the 1 user".to_owned(), "it in its"),
        _ => (format!("all {} users", group_digits(users)), "them in their"),
    };
    last_phase(bar, format!("{all} {read}; putting {them} tables, then committing"));
}

/// The bar from now on says `message` and the time this phase has taken, drawn at once.
pub fn last_phase(bar: &indicatif::ProgressBar, message: String) {
    if bar.is_hidden() {
        return;
    }
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}") {
        bar.set_style(style);
    }
    bar.reset_elapsed();
    bar.set_message(message);
    bar.force_draw();
}

/// `212,099/s`: a count a second as an operator reads it.
fn rate(per_second: f64) -> String {
    let whole = if per_second.is_finite() && per_second > 0.0 { per_second.round() as u64 } else { 0 };
    format!("{}/s", group_digits(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines a bar draws, as a terminal would be given them.
    #[derive(Debug, Clone, Default)]
    struct Drawn(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl indicatif::TermLike for Drawn {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> io::Result<()> {
            self.write_str(line)
        }
        fn write_str(&self, text: &str) -> io::Result<()> {
            if !text.trim().is_empty() {
                self.0.lock().expect("lock").push(text.trim_end().to_owned());
            }
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_second_phase_starts_with_the_reset_its_word_and_count_drawn_together() {
        let drawn = Drawn::default();
        let target = indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(drawn.clone()), 200);
        let bar = indicatif::ProgressBar::with_draw_target(Some(1_000), target);
        let style = style_with("{phase} {pos}/{len}", |style| Phase::key_of(style, ("read", "written")));
        bar.set_style(style.expect("template"));
        bar.set_position(999);
        bar.force_draw();
        // Past the draw target's rate limit (200 a second), so the reset draws a frame.
        std::thread::sleep(std::time::Duration::from_millis(20));
        bar.reset();
        std::thread::sleep(std::time::Duration::from_millis(20));
        bar.set_position(12);
        bar.force_draw();
        let frames = drawn.0.lock().expect("lock").clone();
        assert_eq!(frames.first().map(String::as_str), Some("read 999/1000"), "{frames:?}");
        assert_eq!(frames.last().map(String::as_str), Some("written 12/1000"), "{frames:?}");
        // The reset's own frame is the second phase's from none, never the read's count
        // under the second word or the first word with none.
        assert!(frames.iter().all(|f| f != "written 999/1000" && f != "read 0/1000"), "{frames:?}");
        assert!(frames.iter().any(|f| f == "written 0/1000"), "{frames:?}");
    }

    #[test]
    fn the_time_left_is_not_said_before_a_rate_is_known() {
        let drawn = Drawn::default();
        let target = indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(drawn.clone()), 200);
        let bar = indicatif::ProgressBar::with_draw_target(Some(1_000), target);
        bar.set_style(style_with("{pos}/{len} · ETA {eta}", |style| style).expect("template"));
        bar.force_draw();
        let frames = drawn.0.lock().expect("lock").clone();
        assert_eq!(frames.last().map(String::as_str), Some("0/1000 · ETA …"), "{frames:?}");
    }

    #[test]
    fn a_rate_is_whole_units_a_second_with_its_thousands_grouped() {
        assert_eq!(rate(212_098.958_5), "212,099/s");
        assert_eq!(rate(0.4), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
        assert_eq!(rate(f64::INFINITY), "0/s");
        assert_eq!(rate(999.5), "1,000/s");
    }
}
