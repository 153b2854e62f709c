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
/// lines written): `{phase}` in `template` is `first` until `second_started` is set, then
/// `second`. Read as the frame is drawn, so no frame says one phase's words with the other's
/// count (a message set beside the position did: `read 0/1,000,000`).
pub fn two_phase_progress(
    total: Option<u64>,
    quiet: bool,
    template: &str,
    (first, second): (&'static str, &'static str),
    second_started: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> indicatif::ProgressBar {
    styled_progress(total, quiet, template, move |style| {
        style.with_key("phase", move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let started = second_started.load(std::sync::atomic::Ordering::Relaxed);
            let _ = out.write_str(if started { second } else { first });
        })
    })
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
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(keys(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&rate(state.per_sec()));
            },
        )));
    }
    // Drawn on its own clock too, so a phase without new counts (the sorted merge at the
    // end of an import, a compaction) still shows time passing.
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The last phase of a bulk load, once every user is read or made: the count complete, and
/// what goes on meanwhile with the time it has taken, instead of an "ETA 0s" that stays
/// up while the rate falls (it read as a hang at 99.9 %: bb22 L05). Drawn at once.
pub fn writing_phase(bar: &indicatif::ProgressBar, users: u64, read: &str) {
    if bar.is_hidden() {
        return;
    }
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}") {
        bar.set_style(style);
    }
    bar.reset_elapsed();
    bar.set_message(format!(
        "all {} users {read}; putting them in their tables, then committing",
        group_digits(users)
    ));
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

    #[test]
    fn a_rate_is_whole_units_a_second_with_its_thousands_grouped() {
        assert_eq!(rate(212_098.958_5), "212,099/s");
        assert_eq!(rate(0.4), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
        assert_eq!(rate(f64::INFINITY), "0/s");
        assert_eq!(rate(999.5), "1,000/s");
    }
}
