//! customData: the stored document when browsing, the textarea when editing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use ratatui::style::Modifier;
use unicode_width::UnicodeWidthStr;

use std::borrow::Cow;

use crate::domain::human_bytes;
use crate::domain::json_string::StringState;
use crate::domain::seal;
use crate::inert;
use crate::tui::app::{Editor, State};
use crate::tui::theme::{JsonColours, Theme};

/// What the editor's title keeps of a long handle before the cursor's path is cut instead.
const HANDLE_AT_LEAST: usize = 16;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if let Some(editor) = &state.editor {
        // Where the cursor is, as the lint and the tree write paths.
        let at = match editor.path_at_cursor() {
            path if path == "(top level)" => String::new(),
            path => format!(" · at {}", inert::line(&path)),
        };
        let title = editor_title(editor, &at, usize::from(area.width.saturating_sub(2)));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title, theme.title))
            .border_style(theme.focused_border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        // The textarea is rendered as is: every way text enters it (opened, pasted, typed, a
        // draft, `$EDITOR`) goes through `inert::editor_text`/`editor_char`, so it holds no
        // control or invisible character raw.
        frame.render_widget(&editor.textarea, inner);
        if let Some(colours) = theme.json {
            colour_json(frame, inner, editor, &colours);
        }
        if editor.is_checked()
            && let Err(error) = &editor.validation
            && let Some((line, column)) = error.position()
        {
            mark_error(frame, inner, editor, line, column, theme);
        }
        mark_matching_bracket(frame, inner, editor);
        return;
    }
    let title = match &state.document {
        Some(document) => format!(" customData · revision {} ", document.revision),
        None => " customData ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .border_style(theme.border);
    // Only the lines the pane shows are made inert and laid out: a 1 MiB document has some
    // 40,000 lines, and laying them all out took ~25 ms of every frame while it was selected.
    let shown = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = match &state.document {
        Some(document) => inert::lines(&inert::json(first_lines(&document.text, shown)))
            .lines()
            .map(|l| Line::from(shorten_sealed(l, theme.ascii).into_owned()))
            .collect(),
        None => Vec::new(),
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The editor's title in `room` columns. The handle gives way first: a 128-character username
/// pushed the revision, `modified` and the cursor's path out of the title (bb11). Where even a
/// short handle leaves no room (80 columns: the pane is ~50), the cursor's path goes, then the
/// words: `· modified` is never cut (it was, and nothing else said the edit was unsaved: bb26
/// T10).
fn editor_title(editor: &Editor, at: &str, room: usize) -> String {
    let modified = if editor.is_modified() { " · modified" } else { "" };
    let revision = editor.base.revision;
    let handle = inert::line(editor.handle_shown());
    let (from, short) = (format!(" · from revision {revision}"), format!(" · rev {revision}"));
    // (lead, the handle's least room, what follows it, and what may be cut at the end), the
    // fullest first.
    let layouts = [
        (" Editing customData of ", HANDLE_AT_LEAST, format!("{from}{modified}"), format!("{at} ")),
        (" Editing ", 4, format!("{from}{modified}"), " ".to_owned()),
        (" Editing ", 4, format!("{short}{modified}"), " ".to_owned()),
    ];
    for (lead, least, kept, tail) in &layouts {
        // A cut tail ends with `…`: a column more than what is kept.
        let fixed = lead.width() + kept.width();
        if fixed + least < room || modified.is_empty() {
            let handle_room = room.saturating_sub(fixed + tail.width()).max(*least);
            let title = format!("{lead}{}{kept}{tail}", inert::cut_to_width(&handle, handle_room));
            return inert::cut_to_width(&title, room).into_owned();
        }
    }
    inert::cut_to_width(&format!(" Editing{modified} "), room).into_owned()
}

/// The first `count` lines of `text` (without the line break after the last of them). Making
/// text inert is the same line by line as for the whole: JSON strings never span lines.
fn first_lines(text: &str, count: usize) -> &str {
    match text.match_indices('\n').nth(count.saturating_sub(1)) {
        Some(_) if count == 0 => "",
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// A line of the read-only document with each sealed value (a JWE string) shown short, by its
/// kid and plaintext size: `🔒 kid 2026-12 · 84 B`, or `[sealed kid 2026-12, 84 B]` in ASCII.
/// The editor shows the real text. A sealed value is base64url and dots only, so it stands in
/// the line exactly as stored, between quotes.
pub fn shorten_sealed(line: &str, ascii: bool) -> Cow<'_, str> {
    if !line.contains("..") && !line.contains("eyJ") {
        return Cow::Borrowed(line);
    }
    let mut out = String::new();
    let mut rest = line;
    let mut changed = false;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let inside = &after[..close];
        match seal::summary(inside) {
            Some(summary) => {
                out.push_str(&rest[..open]);
                out.push_str(&sealed_mark(&summary, ascii));
                changed = true;
            }
            None => out.push_str(&rest[..open + 1 + close + 1]),
        }
        rest = &after[close + 1..];
    }
    if !changed {
        return Cow::Borrowed(line);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn sealed_mark(summary: &seal::SealedSummary, ascii: bool) -> String {
    let size = human_bytes(summary.plaintext_bytes);
    let kid = summary.kid.as_deref().map(|k| inert::line(k).into_owned());
    match (ascii, kid) {
        (false, Some(kid)) => format!("🔒 kid {kid} · {size}"),
        (false, None) => format!("🔒 sealed · {size}"),
        (true, Some(kid)) => format!("[sealed kid {kid}, {size}]"),
        (true, None) => format!("[sealed, {size}]"),
    }
}

/// Underlines the cell of the error's position (1-based line and column, as the message
/// gives them) where the textarea drew it: after the line-number gutter, less the
/// textarea's scroll. A position past the end of its line marks the cell after the text.
fn mark_error(frame: &mut Frame, inner: Rect, editor: &Editor, line: usize, column: usize, theme: &Theme) {
    let Some(position) = cell_of(inner, editor, line.saturating_sub(1), column.saturating_sub(1)) else {
        return;
    };
    if let Some(cell) = frame.buffer_mut().cell_mut(position) {
        cell.set_style(theme.error.add_modifier(Modifier::UNDERLINED | Modifier::REVERSED));
    }
}

/// Where the textarea drew the character at `row`, `col` (0-based, in characters): after the
/// line-number gutter, less its scroll; `None` when it is not on screen.
fn cell_of(inner: Rect, editor: &Editor, row: usize, col: usize) -> Option<(u16, u16)> {
    let lines = editor.textarea.lines();
    let text = lines.get(row)?;
    let (top_row, top_col) = editor.textarea.scroll_offset();
    let screen_row = row.checked_sub(top_row).filter(|r| *r < inner.height as usize)?;
    let before: String = text.chars().take(col).collect();
    let gutter = lines.len().to_string().len() + 2;
    let screen_col = before.width().checked_sub(top_col)? + gutter;
    (screen_col < inner.width as usize).then(|| (inner.x + screen_col as u16, inner.y + screen_row as u16))
}

/// The brackets of a line outside its strings (a JSON string never spans lines), with
/// their character columns.
fn brackets(line: &str) -> Vec<(usize, char)> {
    let mut state = StringState::default();
    let mut found = Vec::new();
    for (col, c) in line.chars().enumerate() {
        if !state.in_string() && matches!(c, '{' | '[' | '}' | ']') {
            found.push((col, c));
        }
        state.step(c);
    }
    found
}

/// Shows the bracket matching the one at the cursor (or just before it) in reverse video,
/// looking only as far as the screen shows: at 1 MiB a frame reads ~40 lines, not the text.
fn mark_matching_bracket(frame: &mut Frame, inner: Rect, editor: &Editor) {
    let lines = editor.textarea.lines();
    let cursor = editor.textarea.cursor();
    let (row, col) = (cursor.0, cursor.1);
    let Some(line) = lines.get(row) else { return };
    let here = brackets(line);
    let Some(&(at, bracket)) =
        here.iter().find(|(c, _)| *c == col).or_else(|| here.iter().find(|(c, _)| col > 0 && *c == col - 1))
    else {
        return;
    };
    let (top_row, _) = editor.textarea.scroll_offset();
    let (first, last) = (top_row, top_row + inner.height as usize);
    let opening = matches!(bracket, '{' | '[');
    let mut depth = 0usize;
    let mut found = None;
    if opening {
        'forward: for (r, text) in lines.iter().enumerate().take(last.max(row + 1)).skip(row) {
            for &(c, b) in &brackets(text) {
                if r == row && c <= at {
                    continue;
                }
                match b {
                    '{' | '[' => depth += 1,
                    _ if depth == 0 => {
                        found = (matches!((bracket, b), ('{', '}') | ('[', ']'))).then_some((r, c));
                        break 'forward;
                    }
                    _ => depth -= 1,
                }
            }
        }
    } else {
        'backward: for r in (first.min(row)..=row).rev() {
            for &(c, b) in brackets(&lines[r]).iter().rev() {
                if r == row && c >= at {
                    continue;
                }
                match b {
                    '}' | ']' => depth += 1,
                    _ if depth == 0 => {
                        found = (matches!((b, bracket), ('{', '}') | ('[', ']'))).then_some((r, c));
                        break 'backward;
                    }
                    _ => depth -= 1,
                }
            }
        }
    }
    let Some((r, c)) = found else { return };
    if let Some(position) = cell_of(inner, editor, r, c)
        && let Some(cell) = frame.buffer_mut().cell_mut(position)
    {
        cell.set_style(Modifier::REVERSED | Modifier::BOLD);
    }
}

/// Colours the JSON tokens of the lines on screen (foreground only, so the cursor, the
/// selection and the marks keep their look). Each line is read from its start (a JSON string
/// never spans lines) and only as far as the screen shows: a frame costs the screen, not the
/// document.
fn colour_json(frame: &mut Frame, inner: Rect, editor: &Editor, colours: &JsonColours) {
    let lines = editor.textarea.lines();
    let (top_row, top_col) = editor.textarea.scroll_offset();
    let gutter = lines.len().to_string().len() + 2;
    let last_col = top_col + (inner.width as usize).saturating_sub(gutter);
    for (screen_row, line) in lines.iter().skip(top_row).take(inner.height as usize).enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut colour = vec![None; chars.len()];
        let mut i = 0;
        let mut width = 0usize;
        while i < chars.len() && width < last_col {
            let c = chars[i];
            let start = i;
            let token = match c {
                '"' => {
                    i += 1;
                    let mut escaped = false;
                    while i < chars.len() {
                        let d = chars[i];
                        i += 1;
                        match (escaped, d) {
                            (true, _) => escaped = false,
                            (false, '\\') => escaped = true,
                            (false, '"') => break,
                            _ => {}
                        }
                    }
                    let is_key = chars[i..].iter().find(|d| !d.is_whitespace()) == Some(&':');
                    Some(if is_key { colours.key } else { colours.string })
                }
                '-' | '0'..='9' => {
                    while i < chars.len() && matches!(chars[i], '-' | '+' | '.' | 'e' | 'E' | '0'..='9') {
                        i += 1;
                    }
                    Some(colours.number)
                }
                't' | 'f' | 'n' => {
                    while i < chars.len() && chars[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    let word: String = chars[start..i].iter().collect();
                    matches!(word.as_str(), "true" | "false" | "null").then_some(colours.literal)
                }
                '{' | '}' | '[' | ']' | ':' | ',' => {
                    i += 1;
                    Some(colours.punctuation)
                }
                _ => {
                    i += 1;
                    None
                }
            };
            for (k, slot) in colour.iter_mut().enumerate().take(i).skip(start) {
                *slot = token;
                width += unicode_width::UnicodeWidthChar::width(chars[k]).unwrap_or(0);
            }
        }
        let y = inner.y + screen_row as u16;
        // Placed by grapheme cluster, as the text is drawn: `👍🏽` is one cell two columns
        // wide, where its two chars counted four and every colour after it drifted (bb40 F1).
        let (mut col, mut k) = (0usize, 0usize);
        for cluster in unicode_segmentation::UnicodeSegmentation::graphemes(line.as_str(), true) {
            if col >= last_col {
                break;
            }
            if col >= top_col
                && let Some(fg) = colour[k]
                && let Some(cell) =
                    frame.buffer_mut().cell_mut((inner.x + (gutter + col - top_col) as u16, y))
            {
                cell.set_fg(fg);
            }
            col += unicode_width::UnicodeWidthStr::width(cluster);
            k += cluster.chars().count();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_lines;

    #[test]
    fn first_lines_is_the_text_up_to_the_break_after_the_last_line_asked_for() {
        assert_eq!(first_lines("{\n  \"a\": 1\n}", 2), "{\n  \"a\": 1");
        assert_eq!(first_lines("{\n  \"a\": 1\n}", 3), "{\n  \"a\": 1\n}");
        assert_eq!(first_lines("{\n  \"a\": 1\n}", 40), "{\n  \"a\": 1\n}");
        assert_eq!(first_lines("{\n}", 1), "{");
        assert_eq!(first_lines("{\n}", 0), "");
    }
}
