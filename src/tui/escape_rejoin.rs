//! The key whose ESC crossterm 0.29 swallowed. Its parser reads ESC ESC as one `Esc` and drops
//! the second ESC, so `Esc` and an arrow that reach custodian in one read (over SSH, through
//! tmux, or typed quickly) came as `Esc`, `[`, `A`: the arrow's bytes typed into customData as
//! text (bb12 H02). The characters after an `Esc` that are already waiting are read again here
//! as the sequence they were; a sequence of that shape whose key custodian does not know is
//! dropped, never typed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::app::Mode;
use crate::tui::keymap;

/// What the keys already waiting after an `Esc` are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEsc {
    /// The start of a sequence: look at the next key too.
    NeedMore,
    /// A whole sequence: this key, in place of them all.
    Key(KeyEvent),
    /// A whole sequence of a key custodian does not know (a mouse report, a paste's bracket):
    /// none of them is text.
    Dropped,
    /// No sequence: the keys are what they are.
    Keys,
}

/// The first key already waiting after an `Esc` that is no sequence: the swallowed second ESC
/// was sent before it, so a key of one byte (a character, Enter, Tab, Backspace) is that key
/// with Alt — `Esc` then `Alt-B` came as `Esc`, `b` and typed `b` (bb13). A key crossterm read
/// from a sequence of its own (an arrow) had its own ESC, and stays as it came.
pub fn after_the_second_esc(key: KeyEvent) -> KeyEvent {
    if one_byte(key.code) { KeyEvent::new(key.code, key.modifiers | KeyModifiers::ALT) } else { key }
}

/// Whether a terminal sends the key as one byte (so ESC and it read as Alt and it).
fn one_byte(code: KeyCode) -> bool {
    matches!(code, KeyCode::Char(_) | KeyCode::Enter | KeyCode::Tab | KeyCode::Backspace)
}

/// An Alt-key that was an `Esc` and a key typed together: one ESC and one byte in one read is
/// what crossterm reads as Alt plus that byte's key (the terminal's own ambiguity), so `Esc`
/// then `Enter` in the find line came as Alt-Enter, which means nothing there, and the Esc was
/// lost (bb13). Where `Esc` closes what is open and the Alt-key is bound to nothing, it is read
/// as the two keys: the key (without Alt) is returned, to follow an `Esc`. The list and the
/// editor keep their Alt-keys as they are.
pub fn esc_read_as_alt(mode: Mode, key: KeyEvent) -> Option<KeyEvent> {
    // The cheap looks first: every key passes here, and few are Alt-keys.
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    (key.modifiers.contains(KeyModifiers::ALT)
        && one_byte(key.code)
        && !matches!(mode, Mode::Browse | Mode::Edit | Mode::Tree | Mode::TooSmall)
        && keymap::action_for(mode, key).is_none()
        && keymap::action_for(mode, esc).is_some())
    .then(|| KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT))
}

/// The longest CSI sequence read back (`[1;10H` and the F-keys' `[24;8~` are far shorter).
const LONGEST: usize = 16;

/// Reads `keys` (the characters that came right after an `Esc`, in order) as the escape
/// sequence whose ESC was lost.
pub fn after_esc(keys: &[KeyEvent]) -> AfterEsc {
    let mut text = String::new();
    for key in keys {
        match key.code {
            // Shift is what crossterm adds to a capital letter (a final byte like `A`).
            KeyCode::Char(c) if (key.modifiers - KeyModifiers::SHIFT).is_empty() => text.push(c),
            _ => return AfterEsc::Keys,
        }
    }
    let mut chars = text.chars();
    match chars.next() {
        Some('[') => csi(chars.as_str()),
        Some('O') => match chars.next() {
            None => AfterEsc::NeedMore,
            Some(last) => ss3(last).map_or(AfterEsc::Keys, |code| AfterEsc::Key(code.into())),
        },
        _ => AfterEsc::Keys,
    }
}

/// `ESC [` then parameters (`0`–`?`) and one final character (`@`–`~`).
fn csi(rest: &str) -> AfterEsc {
    let Some(last) = rest.chars().last() else { return AfterEsc::NeedMore };
    let params = &rest[..rest.len() - last.len_utf8()];
    if !params.chars().all(|c| ('0'..='?').contains(&c)) || rest.len() > LONGEST {
        return AfterEsc::Keys;
    }
    match last {
        '0'..='?' => AfterEsc::NeedMore,
        '@'..='~' => csi_key(params, last).map_or(AfterEsc::Dropped, AfterEsc::Key),
        _ => AfterEsc::Keys,
    }
}

/// The key of a CSI sequence as xterm sends it: `A`–`D`, `H`, `F` with `1;M` for modifiers,
/// `N~` and `N;M~` for the editing and function keys, `Z` for Shift-Tab.
fn csi_key(params: &str, last: char) -> Option<KeyEvent> {
    let mut numbers = params.split(';');
    let first = numbers.next().filter(|n| !n.is_empty());
    let modifiers = match numbers.next() {
        Some(m) => modifiers(m.parse().ok()?)?,
        None => KeyModifiers::NONE,
    };
    if numbers.next().is_some() {
        return None;
    }
    let code = match last {
        'A' | 'B' | 'C' | 'D' | 'H' | 'F' => cursor_key(last)?,
        'Z' if first.is_none() => return Some(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
        '~' => match first?.parse::<u8>().ok()? {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            n @ 11..=15 => KeyCode::F(n - 10),
            n @ 17..=21 => KeyCode::F(n - 11),
            n @ 23..=24 => KeyCode::F(n - 12),
            _ => return None,
        },
        _ => return None,
    };
    // The cursor keys take no number but the `1` before their modifiers.
    if last != '~' && first.is_some_and(|n| n != "1") {
        return None;
    }
    Some(KeyEvent::new(code, modifiers))
}

/// xterm's modifier parameter: 1 + a bit each for Shift, Alt and Control.
fn modifiers(parameter: u8) -> Option<KeyModifiers> {
    let bits = parameter.checked_sub(1).filter(|bits| *bits < 8)?;
    let mut modifiers = KeyModifiers::NONE;
    for (bit, modifier) in [(1, KeyModifiers::SHIFT), (2, KeyModifiers::ALT), (4, KeyModifiers::CONTROL)] {
        if bits & bit != 0 {
            modifiers |= modifier;
        }
    }
    Some(modifiers)
}

/// `ESC O` and one character: the cursor keys in the terminal's application mode, F1–F4.
fn ss3(last: char) -> Option<KeyCode> {
    match last {
        'P'..='S' => Some(KeyCode::F(1 + (last as u8 - b'P'))),
        _ => cursor_key(last),
    }
}

/// The cursor key a sequence's last character names, in both of its forms (`[A`, `OA`).
fn cursor_key(last: char) -> Option<KeyCode> {
    Some(match last {
        'A' => KeyCode::Up,
        'B' => KeyCode::Down,
        'C' => KeyCode::Right,
        'D' => KeyCode::Left,
        'H' => KeyCode::Home,
        'F' => KeyCode::End,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys crossterm gives for `text` typed after the swallowed ESC (a capital with Shift).
    fn typed(text: &str) -> Vec<KeyEvent> {
        text.chars()
            .map(|c| {
                let shift = if c.is_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
                KeyEvent::new(KeyCode::Char(c), shift)
            })
            .collect()
    }

    fn key(code: KeyCode, modifiers: KeyModifiers) -> AfterEsc {
        AfterEsc::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn cursor_keys_come_back_in_both_modes_and_with_modifiers() {
        let none = KeyModifiers::NONE;
        for (text, code) in
            [("[A", KeyCode::Up), ("[B", KeyCode::Down), ("[C", KeyCode::Right), ("[D", KeyCode::Left)]
        {
            assert_eq!(after_esc(&typed(text)), key(code, none), "{text}");
        }
        assert_eq!(after_esc(&typed("[H")), key(KeyCode::Home, none));
        assert_eq!(after_esc(&typed("[F")), key(KeyCode::End, none));
        assert_eq!(after_esc(&typed("OA")), key(KeyCode::Up, none));
        assert_eq!(after_esc(&typed("OD")), key(KeyCode::Left, none));
        assert_eq!(after_esc(&typed("OP")), key(KeyCode::F(1), none));
        assert_eq!(after_esc(&typed("OS")), key(KeyCode::F(4), none));
        assert_eq!(after_esc(&typed("[1;5C")), key(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(after_esc(&typed("[1;2A")), key(KeyCode::Up, KeyModifiers::SHIFT));
        assert_eq!(after_esc(&typed("[1;3B")), key(KeyCode::Down, KeyModifiers::ALT));
        let all = KeyModifiers::SHIFT | KeyModifiers::ALT | KeyModifiers::CONTROL;
        assert_eq!(after_esc(&typed("[1;8D")), key(KeyCode::Left, all));
        assert_eq!(after_esc(&typed("[Z")), key(KeyCode::BackTab, KeyModifiers::SHIFT));
    }

    #[test]
    fn editing_and_function_keys_come_back_from_their_numbers() {
        let none = KeyModifiers::NONE;
        for (text, code) in [
            ("[1~", KeyCode::Home),
            ("[7~", KeyCode::Home),
            ("[2~", KeyCode::Insert),
            ("[3~", KeyCode::Delete),
            ("[4~", KeyCode::End),
            ("[8~", KeyCode::End),
            ("[5~", KeyCode::PageUp),
            ("[6~", KeyCode::PageDown),
            ("[11~", KeyCode::F(1)),
            ("[15~", KeyCode::F(5)),
            ("[17~", KeyCode::F(6)),
            ("[21~", KeyCode::F(10)),
            ("[23~", KeyCode::F(11)),
            ("[24~", KeyCode::F(12)),
        ] {
            assert_eq!(after_esc(&typed(text)), key(code, none), "{text}");
        }
        assert_eq!(after_esc(&typed("[3;5~")), key(KeyCode::Delete, KeyModifiers::CONTROL));
        assert_eq!(after_esc(&typed("[6;2~")), key(KeyCode::PageDown, KeyModifiers::SHIFT));
    }

    #[test]
    fn a_sequence_begun_asks_for_the_next_key() {
        for text in ["[", "O", "[1", "[1;", "[1;5", "[24", "[<0;10"] {
            assert_eq!(after_esc(&typed(text)), AfterEsc::NeedMore, "{text}");
        }
    }

    #[test]
    fn sequences_of_keys_custodian_does_not_know_are_dropped_not_typed() {
        // A mouse report, a paste's opening bracket, numbers no key has, a modifier past 8,
        // a cursor key with a number of its own, three parameters.
        for text in ["[<0;10;5M", "[200~", "[9~", "[16~", "[25~", "[1;9A", "[2A", "[1;5;1A", "[Q", "[1x"] {
            assert_eq!(after_esc(&typed(text)), AfterEsc::Dropped, "{text}");
        }
    }

    #[test]
    fn a_key_of_one_byte_after_the_swallowed_esc_is_that_key_with_alt_and_an_arrow_stays() {
        let alt = |code| KeyEvent::new(code, KeyModifiers::ALT);
        let plain = |code| KeyEvent::new(code, KeyModifiers::NONE);
        for code in [KeyCode::Char('b'), KeyCode::Char('['), KeyCode::Enter, KeyCode::Tab, KeyCode::Backspace]
        {
            assert_eq!(after_the_second_esc(plain(code)), alt(code), "{code:?}");
        }
        let ctrl_e = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL);
        assert_eq!(after_the_second_esc(ctrl_e).modifiers, KeyModifiers::CONTROL | KeyModifiers::ALT);
        for code in [KeyCode::Up, KeyCode::F(1), KeyCode::Esc, KeyCode::PageDown] {
            assert_eq!(after_the_second_esc(plain(code)), plain(code), "{code:?}");
        }
    }

    #[test]
    fn an_alt_key_bound_to_nothing_where_esc_closes_is_an_esc_and_the_key() {
        let alt = |code| KeyEvent::new(code, KeyModifiers::ALT);
        for mode in [Mode::Find, Mode::Filter, Mode::Command, Mode::Help, Mode::History, Mode::Dialog] {
            assert_eq!(
                esc_read_as_alt(mode, alt(KeyCode::Enter)),
                Some(KeyEvent::from(KeyCode::Enter)),
                "{mode:?}"
            );
            assert_eq!(
                esc_read_as_alt(mode, alt(KeyCode::Char('x'))),
                Some(KeyEvent::from(KeyCode::Char('x')))
            );
        }
        let ctrl_alt_e = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL | KeyModifiers::ALT);
        assert_eq!(
            esc_read_as_alt(Mode::Find, ctrl_alt_e),
            Some(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL))
        );
        // The list and the editor keep their Alt-keys; a key without Alt, an arrow (its own ESC)
        // and an Alt-key bound where it is typed are what they are.
        for mode in [Mode::Browse, Mode::Edit, Mode::Tree] {
            assert_eq!(esc_read_as_alt(mode, alt(KeyCode::Char('x'))), None, "{mode:?}");
        }
        assert_eq!(esc_read_as_alt(Mode::Find, KeyEvent::from(KeyCode::Enter)), None);
        assert_eq!(esc_read_as_alt(Mode::Find, alt(KeyCode::Up)), None);
    }

    #[test]
    fn keys_that_are_no_sequence_stay_what_they_are() {
        // (A sequence ends at its first character from `@` to `~`, known or not: above.)
        for text in ["x", "Ox", "O1", "[ ", "[1 ", "[é"] {
            assert_eq!(after_esc(&typed(text)), AfterEsc::Keys, "{text}");
        }
        // Not characters, or characters with Control: what the operator typed.
        assert_eq!(after_esc(&[KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)]), AfterEsc::Keys);
        let ctrl_bracket = KeyEvent::new(KeyCode::Char('['), KeyModifiers::CONTROL);
        assert_eq!(after_esc(&[ctrl_bracket]), AfterEsc::Keys);
        // Nothing after the Esc is no sequence either.
        assert_eq!(after_esc(&[]), AfterEsc::Keys);
        // Too long to be a key.
        assert_eq!(after_esc(&typed("[11111111111111111")), AfterEsc::Keys);
    }
}
