//! Finding text in the editor (`Ctrl-F`, then `F3` / `Shift-F3`): a literal, case-insensitive
//! match, searched from a position forwards or backwards and wrapping around the document.
//! Positions are (row, column) in characters, as the textarea counts them.

/// Where `query` next occurs in `lines`, starting at `from` (a match there counts when
/// `include_from`), going forwards or backwards and wrapping around; `None` when it does not
/// occur at all.
pub fn find(
    lines: &[String],
    query: &str,
    from: (usize, usize),
    forward: bool,
    include_from: bool,
) -> Option<(usize, usize)> {
    let needle: Vec<char> = query.chars().map(fold).collect();
    if needle.is_empty() || lines.is_empty() {
        return None;
    }
    let matches_in = |row: usize| -> Vec<usize> {
        let hay: Vec<char> = lines[row].chars().map(fold).collect();
        if hay.len() < needle.len() {
            return Vec::new();
        }
        (0..=hay.len() - needle.len()).filter(|&i| hay[i..i + needle.len()] == needle[..]).collect()
    };
    let rows = lines.len();
    let (from_row, from_col) = (from.0.min(rows - 1), from.1);
    // The starting row, then every other row in order, then the starting row again (for a
    // match on the other side of the start).
    for step in 0..=rows {
        let row = if forward { (from_row + step) % rows } else { (from_row + rows - step % rows) % rows };
        let found = matches_in(row);
        let pick = if step == 0 {
            if forward {
                found.into_iter().find(|&c| c > from_col || (include_from && c == from_col))
            } else {
                found.into_iter().rev().find(|&c| c < from_col || (include_from && c == from_col))
            }
        } else if step == rows {
            if forward {
                found.into_iter().find(|&c| c <= from_col)
            } else {
                found.into_iter().rev().find(|&c| c >= from_col)
            }
        } else if forward {
            found.into_iter().next()
        } else {
            found.into_iter().next_back()
        };
        if let Some(col) = pick {
            return Some((row, col));
        }
    }
    None
}

/// One character, case folded simply (a character that lower-cases to several keeps its first).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::find;

    fn doc() -> Vec<String> {
        ["{", "  \"theme\": \"Dark\",", "  \"darkMode\": true,", "  \"lang\": \"de\"", "}"]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn forward_finds_the_next_match_in_any_case_and_wraps_around() {
        let lines = doc();
        assert_eq!(find(&lines, "dark", (0, 0), true, true), Some((1, 12)));
        assert_eq!(find(&lines, "dark", (1, 12), true, false), Some((2, 3)));
        assert_eq!(find(&lines, "dark", (2, 3), true, false), Some((1, 12)), "wraps to the top");
        assert_eq!(find(&lines, "DARK", (1, 12), true, true), Some((1, 12)), "the match at the start counts");
    }

    #[test]
    fn backward_finds_the_previous_match_and_wraps_to_the_end() {
        let lines = doc();
        assert_eq!(find(&lines, "dark", (2, 3), false, false), Some((1, 12)));
        assert_eq!(find(&lines, "dark", (1, 12), false, false), Some((2, 3)), "wraps to the bottom");
    }

    #[test]
    fn a_single_match_is_found_again_from_itself_and_nothing_is_none() {
        let lines = doc();
        assert_eq!(find(&lines, "lang", (3, 3), true, false), Some((3, 3)));
        assert_eq!(find(&lines, "nowhere", (0, 0), true, true), None);
        assert_eq!(find(&lines, "", (0, 0), true, true), None);
        assert_eq!(find(&[], "x", (0, 0), true, true), None);
    }
}
