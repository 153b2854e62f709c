//! A line diff drawn compactly: the changed lines with a little context, `⋯` between hunks.

use ratatui::text::{Line, Span};

use crate::domain::diff::{DiffLine, LineChange};
use crate::inert;
use crate::tui::theme::Theme;

/// Unchanged lines shown around each change.
const CONTEXT: usize = 2;

pub fn lines(diff: &[DiffLine], theme: &Theme) -> Vec<Line<'static>> {
    let near_change = |i: usize| {
        let from = i.saturating_sub(CONTEXT);
        let to = (i + CONTEXT + 1).min(diff.len());
        diff[from..to].iter().any(|l| l.change != LineChange::Same)
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (i, line) in diff.iter().enumerate() {
        if !near_change(i) {
            skipped = true;
            continue;
        }
        if skipped && !out.is_empty() {
            out.push(Line::from(Span::styled("  ⋯", theme.dim)));
        }
        skipped = false;
        let text = inert::line(&inert::json(&line.text)).into_owned();
        out.push(match line.change {
            LineChange::Same => Line::from(format!("  {text}")),
            LineChange::Removed => Line::from(Span::styled(format!("- {text}"), theme.removed)),
            LineChange::Added => Line::from(Span::styled(format!("+ {text}"), theme.added)),
        });
    }
    if out.is_empty() {
        out.push(Line::from(Span::styled("(no difference)", theme.dim)));
    }
    out
}
