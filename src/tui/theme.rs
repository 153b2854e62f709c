//! Styles, from the 16 named ANSI colours only (they follow the operator's terminal palette,
//! light or dark). Without colour (`NO_COLOR`, `--no-color`) emphasis is bold and reverse
//! video alone, so the selection stays visible.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub selected: Style,
    pub border: Style,
    pub focused_border: Style,
    pub title: Style,
    pub label: Style,
    pub dim: Style,
    pub key: Style,
    pub error: Style,
    pub success: Style,
    pub warning: Style,
    pub removed: Style,
    pub added: Style,
    /// The editor's JSON colours; none without colour.
    pub json: Option<JsonColours>,
    /// Marks in ASCII only (`[sealed …]` rather than `🔒 …`): without colour, or when the
    /// locale does not say UTF-8.
    pub ascii: bool,
}

/// Foreground colours of the editor's JSON tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonColours {
    pub key: Color,
    pub string: Color,
    pub number: Color,
    /// `true`, `false`, `null`.
    pub literal: Color,
    /// `{ } [ ] : ,`
    pub punctuation: Color,
}

impl Theme {
    pub fn colour() -> Self {
        Self {
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            focused_border: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(Modifier::BOLD),
            label: Style::new().fg(Color::Cyan),
            dim: Style::new().fg(Color::DarkGray),
            key: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            success: Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            warning: Style::new().fg(Color::Yellow),
            removed: Style::new().fg(Color::Red),
            added: Style::new().fg(Color::Green),
            json: Some(JsonColours {
                key: Color::Cyan,
                string: Color::Green,
                number: Color::Yellow,
                literal: Color::Magenta,
                punctuation: Color::DarkGray,
            }),
            ascii: false,
        }
    }

    pub fn plain() -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Self {
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            border: Style::new(),
            focused_border: bold,
            title: bold,
            label: Style::new(),
            dim: Style::new(),
            key: bold,
            error: bold,
            success: bold,
            warning: bold,
            removed: bold,
            added: Style::new(),
            json: None,
            ascii: true,
        }
    }

    /// The colour theme unless `NO_COLOR` is set (to anything) or colour was turned off.
    pub fn from_environment(no_color_flag: bool) -> Self {
        let theme = if no_color_flag || std::env::var_os("NO_COLOR").is_some() {
            Self::plain()
        } else {
            Self::colour()
        };
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()));
        Self { ascii: theme.ascii || locale.is_some_and(|l| !says_utf8(&l)), ..theme }
    }
}

/// Whether a locale name (`en_US.UTF-8`, `C.utf8`, `POSIX`) says its characters are UTF-8.
fn says_utf8(locale: &str) -> bool {
    let lower = locale.to_ascii_lowercase();
    lower.contains("utf-8") || lower.contains("utf8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_says_utf8_in_either_spelling_and_c_or_latin1_do_not() {
        for utf8 in ["en_US.UTF-8", "C.utf8", "de_DE.utf-8@euro"] {
            assert!(says_utf8(utf8), "{utf8}");
        }
        for other in ["C", "POSIX", "en_US.ISO-8859-1", "de_DE@euro"] {
            assert!(!says_utf8(other), "{other}");
        }
        assert!(Theme::plain().ascii && !Theme::colour().ascii);
    }
}
