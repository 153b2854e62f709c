//! Where a walk over JSON text is: inside a string or not. The one place that knows a string
//! opens and closes at a quote no backslash escapes, for the walks that need only that (the
//! editor's bracket matching and pasted tabs, a patched document's fingerprint).

/// The state of a walk over JSON text, a character at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StringState {
    in_string: bool,
    escaped: bool,
}

impl StringState {
    /// Whether the walk is inside a string (after its opening quote, before its closing one).
    pub fn in_string(self) -> bool {
        self.in_string
    }

    /// Steps over `c`. A raw line break ends any string: none spans lines in JSON, so a walk
    /// over text that is not JSON goes wrong for one line at most.
    pub fn step(&mut self, c: char) {
        match c {
            '\n' => *self = Self::default(),
            _ if self.escaped => self.escaped = false,
            '\\' if self.in_string => self.escaped = true,
            '"' => self.in_string = !self.in_string,
            _ => {}
        }
    }

    /// The state after walking `text` from this one.
    pub fn after(mut self, text: &str) -> Self {
        text.chars().for_each(|c| self.step(c));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_ends_at_a_quote_no_backslash_escapes_and_at_a_line_break() {
        let inside = |text: &str| StringState::default().after(text).in_string();
        assert!(inside(r#"{"a"#));
        assert!(!inside(r#"{"a""#));
        assert!(inside(r#"{"a\""#), "an escaped quote");
        assert!(!inside(r#"{"a\\""#), "an escaped backslash, then the closing quote");
        assert!(inside("\\\""), "outside a string a backslash escapes nothing: the quote opens one");
        assert!(!inside("{\"a\n"), "a line break ends it");
    }
}
