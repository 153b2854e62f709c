//! The status line (validation, messages) and the key-hint bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::domain::group_digits;
use crate::inert;
use crate::store::KeyOrder;
use crate::tui::app::{ExportUnderWay, Pending, State, StatusKind};
use crate::tui::keymap;
use crate::tui::theme::Theme;

pub fn render_status(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some(line) = &state.command {
        // The command line takes the status line while it is typed; its end stays in sight.
        let typed = inert::line(&line.input);
        let room = usize::from(area.width).saturating_sub(2);
        spans.push(Span::styled(format!(":{}▏", inert::end_to_width(&typed, room)), theme.title));
        if let Some(note) = &line.note {
            spans.push(Span::styled(format!("   {note}"), theme.dim));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    // The editor's find line takes it too.
    if let Some(find) = state.editor.as_ref().and_then(|e| e.find.as_ref()).filter(|f| f.typing) {
        spans.push(Span::styled(format!("find: {}▏", inert::line(&find.query)), theme.title));
        if !find.found {
            spans.push(Span::styled("   not found", theme.error));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    // A lost connection says so until a reconnect succeeds, whatever else is said meanwhile
    // (the hint bar names the key that reconnects).
    if state.connection_lost.is_some() {
        spans.push(Span::styled("connection lost · ", theme.error));
    }
    // An edit that cannot be kept on disk says so for as long as it is unsaved.
    // (The first message says why; this stays short so the rest of the line still fits.)
    if state.draft_failure.is_some() && state.editor.as_ref().is_some_and(|e| e.is_modified()) {
        spans.push(Span::styled("edit NOT kept on disk · ", theme.error));
    }
    if let Some(editor) = state.editor.as_ref().filter(|editor| !editor.is_checked()) {
        // A result for older text is never shown. A save waiting for the check is said for as
        // long as it waits: its message went with the next one (F1's help: bb82 F7).
        spans.push(Span::raw(if editor.saves_when_checked() {
            "checking, then saving…"
        } else {
            "checking…"
        }));
    }
    if let Some((valid, summary)) = state.validation_summary() {
        let summary = inert::line(&summary);
        let style = if valid { theme.success } else { theme.error };
        // A long summary (a schema error quoting a long enum) leaves room for the message
        // after it: the answer to a save comes there.
        let used: usize = spans.iter().map(|span| span.content.width()).sum();
        let message_room = state
            .shown_status()
            .map_or(0, |(_, text)| (inert::line(text).width() + 5).min(usize::from(area.width) * 2 / 5));
        // What is wrong with the text is read here alone: when it fits whole, the message after
        // it, kept whole in F2, is cut first, to nothing if need be (at 100 and 80 columns
        // "customData must be a JSON object, at…" was cut for an "editing customData of …"
        // beside it: bb70 F3, bb75 F2). One longer than the line (a schema error quoting an
        // enum) leaves the message its room.
        let marked = if state.read_only.is_some() { READ_ONLY.width() } else { 0 };
        let whole = used + marked + summary.width() <= usize::from(area.width);
        let message_room = if !valid && whole { 0 } else { message_room };
        let room = usize::from(area.width).saturating_sub(used + message_room + marked);
        let shown = inert::cut_to_width(&summary, room).into_owned();
        spans.push(Span::styled(shown, style));
    }
    // Saved keys come back in the backend's order, not as typed: said while editing.
    if state.editor.is_some()
        && let KeyOrder::Backend(backend) = state.key_order
    {
        separate(&mut spans, " · ");
        spans.push(Span::styled(format!("key order is {backend}'s"), theme.dim));
    }
    if let Some((kind, text)) = state.shown_status() {
        separate(&mut spans, "  ·  ");
        let style = match kind {
            StatusKind::Info => Default::default(),
            StatusKind::Success => theme.success,
            StatusKind::Error => theme.error,
        };
        // A message longer than the room left is cut, saying where to read it whole; the
        // read-only mark after it keeps its room (a long note at start pushed it off).
        let used: usize = spans.iter().map(|span| span.content.width()).sum();
        // In the editor too: a file replaced or cut short under it showed no mark (bb75 F3).
        let marked = if state.read_only.is_some() { READ_ONLY.width() } else { 0 };
        let room = usize::from(area.width).saturating_sub(used + marked);
        let text = inert::line(text);
        let shown = if text.width() > room {
            // F2 works in the editor too, where `:` types a colon (bb11); where it does nothing
            // (a dialog: the drafts list), the way there is said (bb62 F3).
            let f2 = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::F(2));
            let whole = match crate::tui::keymap::action_for(state.mode(), f2) {
                Some(_) => " (F2: whole)",
                None => " (Esc, then F2: whole)",
            };
            match room > whole.len() {
                true => format!("{}{whole}", inert::cut_to_width(&text, room - whole.len())),
                // Beside an error that takes the line, the pointer alone, as far as it fits.
                false => inert::cut_to_width("… F2", room).into_owned(),
            }
        } else {
            text.into_owned()
        };
        spans.push(Span::styled(shown, style));
    }
    // What the store is still working on: the screen answers keys meanwhile.
    if let Some(pending) = state.pending
        && state.shown_status().is_none_or(|(_, text)| !text.starts_with(pending.label()))
    {
        separate(&mut spans, "  ·  ");
        let said = match (pending, state.export_under_way.as_ref()) {
            (Pending::Exporting, Some(ExportUnderWay { progress: Some(progress), total, .. })) => {
                export_progress(*progress, *total, &state.list).into()
            }
            _ => std::borrow::Cow::Borrowed(pending.label()),
        };
        spans.push(Span::styled(said, theme.warning));
    }
    // A lost connection with nothing said after it (its message gone with a key) is said
    // alone, not `connection lost ·` and nothing (bb99 F4).
    if spans.len() == 1 && state.connection_lost.is_some() {
        spans[0] = Span::styled("connection lost", theme.error);
    }
    // In an editor too: one kept open after the file was replaced or the server stopped
    // taking writes showed no mark (bb69 F5).
    if state.read_only.is_some() {
        spans.push(Span::styled(READ_ONLY, theme.warning));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The mark of a screen opened `--read-only`, at the status line's end.
const READ_ONLY: &str = "  [read-only]";

/// Puts `separator` after what the line says so far, unless it says nothing yet or already
/// ends with one (`connection lost · `: an empty part between two dots, bb11).
fn separate(spans: &mut Vec<Span<'_>>, separator: &'static str) {
    if spans.last().is_some_and(|last| !last.content.trim_end().ends_with('·')) {
        spans.push(Span::raw(separator));
    }
}

/// Keys the hint bar leaves out because here they would only be refused: editing, restoring
/// and applying under `--read-only`, sealing and unsealing without a key file (bb11). The
/// help still lists every key.
fn refused_here(state: &State, binding: &keymap::Binding) -> bool {
    use crate::tui::app::Action;
    let action = (binding.action)();
    // `Esc` refuses to leave an edit kept on the way out; `Ctrl-C` leads first (bb91 F3).
    (matches!(action, Action::LeaveEditor) && state.edit_kept_on_the_way_out())
        || (state.read_only.is_some()
            && matches!(
                action,
                Action::OpenEditor
                | Action::EditExternally
                | Action::RestoreRevision
                | Action::PatchAsk
                // The editor left open when the screen turned read-only (a file damaged or
                // replaced under it) keeps the edit, not the save (bb88 F4).
                | Action::Save
            ))
        || (state.keys.is_none() && matches!(action, Action::OpenSealed | Action::SealValue))
}

/// The key that reconnects where the operator is, while the connection is lost, or looks
/// whether a server that stopped taking writes takes them again (`r` in the list; F5 where `r`
/// is typed or means something else; none in questions and the help), and what it does.
fn reconnect_key(state: &State) -> Option<(&'static str, &'static str)> {
    use crate::tui::app::{Mode, ReadOnly};
    let does = match (&state.connection_lost, state.read_only) {
        (Some(_), _) => " reconnect",
        (None, Some(ReadOnly::Server)) => " look for writes",
        _ => return None,
    };
    match state.mode() {
        Mode::Browse => Some(("r", does)),
        Mode::Edit | Mode::History | Mode::Conflict => Some(("F5", does)),
        _ => None,
    }
}

pub fn render_hints(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    let mut area_width = area.width as usize;
    // First, while the connection is lost: how to get it back.
    // The keys that lead, in the error colour: how to get a lost connection back, and the way
    // out of an edit that cannot be saved here (the bar offered `Esc leave`, which refuses, and
    // never the way out: bb91 F3).
    let mut lead = |key: &'static str, does: &'static str| {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.dim));
        }
        spans.push(Span::styled(key, theme.error));
        spans.push(Span::styled(does, theme.error));
        area_width = area_width.saturating_sub(key.width() + does.width() + 3);
    };
    let reconnect = reconnect_key(state).map(|(key, does)| {
        lead(key, does);
        key
    });
    if state.edit_kept_on_the_way_out() && state.mode() == crate::tui::app::Mode::Edit {
        lead("Ctrl-C", " leave, keeping the edit as a draft");
    }
    let mut hints: Vec<&keymap::Binding> = keymap::hints(state.mode())
        // The key that reconnects is named once, for that (`r` also refreshes the list).
        .filter(|binding| reconnect.is_none_or(|key| binding.label() != key))
        .filter(|binding| !refused_here(state, binding))
        .collect();
    // What does not fit is left out from the middle, so `? help` and `q quit` stay at the end
    // (the help lists every key).
    let width = |hints: &[&keymap::Binding]| -> usize {
        hints.iter().map(|b| b.label().width() + 1 + b.hint.unwrap_or(b.description).width()).sum::<usize>()
            + 3 * hints.len().saturating_sub(1)
    };
    while width(&hints) > area_width && hints.len() > 2 {
        hints.remove(hints.len() - 3);
    }
    for binding in hints {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.dim));
        }
        spans.push(Span::styled(binding.label(), theme.key));
        spans.push(Span::raw(format!(" {}", binding.hint.unwrap_or(binding.description))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// How far an `:export` has come: the users read (and sorted), then the lines written, each
/// out of the users the store held as it began, else the list's count (ten million take
/// minutes; `exporting…` alone looked stuck).
fn export_progress(
    progress: crate::export::Progress,
    total: Option<u64>,
    list: &crate::tui::app::UserList,
) -> String {
    let (done, phase) = match progress {
        crate::export::Progress::Read(n) => (n, "read"),
        crate::export::Progress::Written(n) => (n, "written"),
    };
    let (about, total) = match total {
        Some(total) => ("", total),
        None => (if list.total_estimated { "~" } else { "" }, list.total),
    };
    format!("exporting… {}/{about}{} {phase}", group_digits(done), group_digits(total))
}
