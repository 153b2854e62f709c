//! The terminal's events as the event loop takes them: a sequence whose ESC crossterm
//! swallowed after an `Esc` comes back as its key, and the keys that only type, waiting
//! together, come as one action.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui_textarea::Input;

use super::action_for_event;
use crate::tui::app::{Action, Mode, State, types_text};
use crate::tui::escape_rejoin::{AfterEsc, after_esc, after_the_second_esc, esc_read_as_alt};

/// Where the events come from: the terminal, read by crossterm (a list of them in tests).
pub(super) trait EventSource {
    /// The next event, waiting for one.
    fn read(&mut self) -> io::Result<Event>;
    /// Whether an event is waiting, without waiting.
    fn ready(&self) -> io::Result<bool>;
}

/// The terminal, read by crossterm.
#[derive(Default)]
pub(super) struct Crossterm;

impl EventSource for Crossterm {
    fn read(&mut self) -> io::Result<Event> {
        event::read()
    }

    fn ready(&self) -> io::Result<bool> {
        event::poll(Duration::ZERO)
    }
}

/// The terminal's events as crossterm reads them, but for an `Esc` followed at once by a
/// sequence whose ESC crossterm swallowed ([`crate::tui::escape_rejoin`]): that sequence comes
/// back as its key, never as typed text.
#[derive(Default)]
pub(super) struct TerminalEvents<S = Crossterm> {
    source: S,
    /// Events read ahead (after an `Esc`, after a run of typing), to be handed out before any
    /// new one.
    queued: VecDeque<Event>,
    /// A report begun and not ended with what came with it: its rest, arriving in a later read
    /// until then, is dropped too.
    report_open_until: Option<std::time::Instant>,
}

impl<S: EventSource> TerminalEvents<S> {
    /// The action the next event stands for in `state`, if any; the keys that only type
    /// waiting after one such key come with it, as one [`Action::Type`].
    pub(super) fn next_action(&mut self, state: &State) -> io::Result<Option<Action>> {
        let event = self.read(state.mode())?;
        #[cfg(debug_assertions)]
        crate::crash::panic_on_test_key(&event);
        Ok(match action_for_event(state, event) {
            Some(Action::Edit(input)) if types_text(&input) => Some(self.typing_from(input, state)?),
            other => other,
        })
    }

    /// The next event for a screen in `mode`: an Alt-key that was an `Esc` and a key typed
    /// together there ([`esc_read_as_alt`]) comes as the `Esc`, the key next.
    fn read(&mut self, mode: Mode) -> io::Result<Event> {
        let event = match self.queued.pop_front() {
            Some(event) => event,
            None => {
                let event = self.source.read()?;
                if matches!(&event, Event::Key(key) if key.code == KeyCode::Esc && key.modifiers == KeyModifiers::NONE)
                {
                    self.read_after_esc()?;
                    // A report's ESC read alone, its introducer after it: the ESC was no Esc.
                    if self.queued.front().is_some_and(starts_a_report) {
                        self.queued.pop_front();
                        return self.drop_report();
                    }
                }
                event
            }
        };
        // The rest of a report split across reads (a slow link): its tail was typed into the
        // document and saved (bb75 F1).
        if let Some(until) = self.report_open_until {
            if std::time::Instant::now() < until {
                if ends_a_report(&event) || !matches!(event, Event::Key(_)) {
                    self.report_open_until = None;
                }
                if matches!(event, Event::Key(_)) {
                    return Ok(NO_ACTION);
                }
            } else {
                self.report_open_until = None;
            }
        }
        if starts_a_report(&event) && self.waiting()? {
            return self.drop_report();
        }
        if let Event::Key(key) = &event
            && key.kind != KeyEventKind::Release
            && let Some(then) = esc_read_as_alt(mode, *key)
        {
            self.queued.push_front(Event::Key(then));
            return Ok(Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        }
        Ok(event)
    }

    /// Drops the rest of a report the terminal sent of its own (its introducer read), up to its
    /// end or to the last event that came with it; stands for no action.
    fn drop_report(&mut self) -> io::Result<Event> {
        let mut dropped = 0_usize;
        let mut ended = false;
        while dropped < LONGEST_REPORT && self.waiting()? {
            let event = match self.queued.pop_front() {
                Some(event) => event,
                None => self.source.read()?,
            };
            dropped += 1;
            if ends_a_report(&event) {
                ended = true;
                break;
            }
        }
        if !ended && dropped < LONGEST_REPORT {
            self.report_open_until = Some(std::time::Instant::now() + REPORT_REST_WITHIN);
        }
        tracing::debug!(dropped, ended, "a report the terminal sent of its own dropped");
        Ok(NO_ACTION)
    }

    /// Whether an event is waiting (read ahead, or in crossterm's queue).
    pub(super) fn waiting(&self) -> io::Result<bool> {
        Ok(!self.queued.is_empty() || self.source.ready()?)
    }

    /// The editor keys that only type ([`types_text`]) already waiting after `first`, taken
    /// with it as one [`Action::Type`]; the first other event is kept for the next read. A
    /// paste without bracketed paste comes a key a character, and each key's own update read
    /// the whole line (twice): 100 KB on one line took 7 s, the screen frozen (bb17 L03).
    fn typing_from(&mut self, first: Input, state: &State) -> io::Result<Action> {
        let mut keys = vec![first];
        while self.waiting()? {
            let event = self.read(state.mode())?;
            match action_for_event(state, event.clone()) {
                Some(Action::Edit(input)) if types_text(&input) => keys.push(input),
                // What stands for nothing here (a key's release) is passed over, as it would be.
                None => {}
                Some(_) => {
                    self.queued.push_front(event);
                    break;
                }
            }
        }
        Ok(match <[Input; 1]>::try_from(keys) {
            Ok([key]) => Action::Edit(key),
            Err(keys) => Action::Type(keys),
        })
    }

    /// Takes the keys already waiting after an `Esc` for as long as they may be a sequence; the
    /// first of them that is none was sent after the swallowed ESC ([`after_the_second_esc`]).
    /// Only keys that came with it are looked at (no wait): an operator who types `Esc`, then
    /// `[`, gets both.
    fn read_after_esc(&mut self) -> io::Result<()> {
        let mut taken = Vec::new();
        let mut keys = Vec::new();
        while self.source.ready()? {
            let event = self.source.read()?;
            let key = match &event {
                Event::Key(key) if key.kind != KeyEventKind::Release => Some(*key),
                _ => None,
            };
            taken.push(event);
            let Some(key) = key else { break };
            keys.push(key);
            match after_esc(&keys) {
                AfterEsc::NeedMore => continue,
                AfterEsc::Key(key) => {
                    tracing::debug!(?key, "a key whose ESC crossterm swallowed after an Esc");
                    self.queued.push_back(Event::Key(key));
                    return Ok(());
                }
                AfterEsc::Dropped => {
                    tracing::debug!(keys = taken.len(), "an unknown sequence after an Esc dropped");
                    return Ok(());
                }
                AfterEsc::Keys => break,
            }
        }
        if let Some(Event::Key(first)) = taken.first_mut() {
            *first = after_the_second_esc(*first);
        }
        self.queued.extend(taken);
        Ok(())
    }
}

/// An event that stands for no action anywhere ([`action_for_event`]).
const NO_ACTION: Event = Event::FocusLost;

/// How long the rest of a report not ended in its first read is waited for (dropped as it
/// comes): a link's packets a few tens of milliseconds apart.
const REPORT_REST_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

/// The most characters of a report dropped: colour and version reports are under a hundred.
const LONGEST_REPORT: usize = 4096;

/// The start of a report a terminal sends of its own, as crossterm reads it: OSC (`ESC ]`, a
/// colour report), DCS (`ESC P`, a version report), APC, PM or SOS read as Alt and the
/// introducer. Taken apart, a reply to a query of the program before custodian (vim, a shell)
/// arriving late over SSH moved the selection, opened the `:` line and typed into the
/// document (bb70 F1). Only with more of it waiting: a lone Alt-key is a key.
fn starts_a_report(event: &Event) -> bool {
    matches!(event, Event::Key(key)
        if key.kind != KeyEventKind::Release
            && key.modifiers.contains(KeyModifiers::ALT)
            && !key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char(']' | 'P' | '_' | '^' | 'X')))
}

/// The end of a report: ST (`ESC \`, read as Alt-`\`) or BEL (read as Ctrl-G).
fn ends_a_report(event: &Event) -> bool {
    matches!(event, Event::Key(key)
        if (key.code == KeyCode::Char('\\') && key.modifiers.contains(KeyModifiers::ALT))
            || (key.code == KeyCode::Char('g') && key.modifiers.contains(KeyModifiers::CONTROL)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui_textarea::Key;

    /// Events already waiting, as a burst leaves them.
    #[derive(Default)]
    struct Waiting(VecDeque<Event>);

    impl EventSource for Waiting {
        fn read(&mut self) -> io::Result<Event> {
            self.0.pop_front().ok_or_else(|| io::ErrorKind::WouldBlock.into())
        }

        fn ready(&self) -> io::Result<bool> {
            Ok(!self.0.is_empty())
        }
    }

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    fn typed(text: &str) -> impl Iterator<Item = Event> + '_ {
        text.chars().map(|c| match c {
            '\n' => key(KeyCode::Enter, KeyModifiers::NONE),
            c if c.is_uppercase() => key(KeyCode::Char(c), KeyModifiers::SHIFT),
            c => key(KeyCode::Char(c), KeyModifiers::NONE),
        })
    }

    /// Every action the waiting `events` stand for in `state`, in order, as the loop takes them.
    fn actions(state: &State, events: impl IntoIterator<Item = Event>) -> Vec<Action> {
        let mut keys =
            TerminalEvents { source: Waiting(events.into_iter().collect()), ..TerminalEvents::default() };
        let mut actions = Vec::new();
        while keys.waiting().unwrap() {
            actions.extend(keys.next_action(state).unwrap());
        }
        actions
    }

    fn chars(keys: &[Input]) -> String {
        keys.iter()
            .map(|input| match input.key {
                Key::Char(c) => c,
                Key::Enter => '\n',
                Key::Tab => '\t',
                _ => '?',
            })
            .collect()
    }

    /// bb17 L03: a burst of 10,000 characters, its `Enter`s and `Tab`s among them, is one action
    /// (each key was one, and each read the line again); the `Ctrl-S` after it is the next one,
    /// and the keys after that are a run of their own.
    #[test]
    fn the_keys_that_only_type_waiting_together_are_one_action_and_the_next_key_keeps_its_place() {
        let state = State::editing("{}");
        let burst: String = (0..1_000).map(|i| format!("Word{i:04}\n")).collect::<String>() + "\t";
        let mut events: Vec<Event> = typed(&burst).collect();
        events.push(key(KeyCode::Char('s'), KeyModifiers::CONTROL));
        events.extend(typed("ab"));
        events.push(key(KeyCode::Esc, KeyModifiers::NONE));
        let actions = actions(&state, events);
        let [Action::Type(run), Action::Save, Action::Type(after), Action::LeaveEditor] = &actions[..] else {
            panic!("{actions:?}");
        };
        assert_eq!(chars(run), burst);
        assert_eq!(chars(after), "ab");
    }

    /// A terminal's reports, arriving late (a reply to the query of the program before, over a
    /// slow link), are dropped whole: the OSC 11 colour report moved the selection and opened
    /// the `:` line, a DCS version report typed `>|tmux 3.3` into the document (bb70 F1). Also
    /// when crossterm read the report's ESC alone (an `Esc`, then the rest); a lone Alt-] is a
    /// key, and what comes after a report is taken as ever.
    #[test]
    fn reports_the_terminal_sends_of_its_own_are_dropped_whole_and_the_keys_after_them_kept() {
        let alt = |c: char| key(KeyCode::Char(c), KeyModifiers::ALT);
        let bel = key(KeyCode::Char('g'), KeyModifiers::CONTROL);
        let esc = key(KeyCode::Esc, KeyModifiers::NONE);
        let colour = || std::iter::once(alt(']')).chain(typed("11;rgb:0000/0000/0000")).chain([bel.clone()]);
        let version = || {
            std::iter::once(key(KeyCode::Char('P'), KeyModifiers::ALT | KeyModifiers::SHIFT))
                .chain(typed(">|tmux 3.3"))
                .chain([alt('\\')])
        };
        let browsing = State::new(120, 40, false);
        for report in [colour().collect::<Vec<_>>(), version().collect()] {
            let events = report.into_iter().chain(typed("j"));
            let got = actions(&browsing, events);
            assert!(matches!(&got[..], [Action::Down]), "{got:?}");
        }
        // The report's ESC read alone, as crossterm gives an ESC that ends its read.
        let split =
            std::iter::once(esc).chain(typed("]11;rgb:0000/0000/0000")).chain([bel]).chain(typed("k"));
        let got = actions(&browsing, split);
        assert!(matches!(&got[..], [Action::Up]), "{got:?}");
        let editing = State::editing("{}");
        let events = version().chain(typed("x"));
        let [Action::Edit(input)] = &actions(&editing, events)[..] else { panic!() };
        assert_eq!(input.key, Key::Char('x'), "nothing of the report typed");
        // A lone Alt-] is the key it is (the editor's).
        let lone = actions(&editing, [alt(']')]);
        assert!(matches!(&lone[..], [Action::Edit(_)]), "{lone:?}");
    }

    /// A report split across two reads (a slow link): its rest, arriving later, is dropped
    /// too, to its end; what comes after it is taken (its tail was typed into a document and
    /// saved: bb75 F1).
    #[test]
    fn the_rest_of_a_report_split_across_reads_is_dropped_to_its_end() {
        let alt = |c: char| key(KeyCode::Char(c), KeyModifiers::ALT);
        let bel = key(KeyCode::Char('g'), KeyModifiers::CONTROL);
        let editing = State::editing("{}");
        let mut keys = TerminalEvents::<Waiting>::default();
        keys.source.0.extend(std::iter::once(alt(']')).chain(typed("11;rgb:00")));
        let mut actions = Vec::new();
        while keys.waiting().unwrap() {
            actions.extend(keys.next_action(&editing).unwrap());
        }
        keys.source.0.extend(typed("00/0000/0000").chain([bel]).chain(typed("x")));
        while keys.waiting().unwrap() {
            actions.extend(keys.next_action(&editing).unwrap());
        }
        let [Action::Edit(input)] = &actions[..] else { panic!("{actions:?}") };
        assert_eq!(input.key, Key::Char('x'));
        // A DCS whose `ESC \` comes in the next read.
        let mut keys = TerminalEvents::<Waiting>::default();
        keys.source.0.extend(
            std::iter::once(key(KeyCode::Char('P'), KeyModifiers::ALT | KeyModifiers::SHIFT))
                .chain(typed(">|tm")),
        );
        let mut actions = Vec::new();
        while keys.waiting().unwrap() {
            actions.extend(keys.next_action(&editing).unwrap());
        }
        keys.source.0.extend(typed("ux 3.3").chain([alt('\\')]).chain(typed("y")));
        while keys.waiting().unwrap() {
            actions.extend(keys.next_action(&editing).unwrap());
        }
        let [Action::Edit(input)] = &actions[..] else { panic!("{actions:?}") };
        assert_eq!(input.key, Key::Char('y'));
    }

    /// A key alone is the key it always was; a key's release (a terminal that reports them)
    /// does not end a run; outside the editor each character is its own action, as before.
    #[test]
    fn a_lone_key_a_release_and_keys_outside_the_editor_are_taken_as_before() {
        let state = State::editing("{}");
        let [Action::Edit(input)] = &actions(&state, typed("x"))[..] else { panic!() };
        assert_eq!(input.key, Key::Char('x'));
        let release = Event::Key(KeyEvent::new_with_kind(
            KeyCode::Char('a'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        ));
        let events = [typed("a").next().unwrap(), release, typed("b").next().unwrap()];
        let [Action::Type(run)] = &actions(&state, events)[..] else { panic!() };
        assert_eq!(chars(run), "ab");
        let browsing = State::new(120, 40, false);
        let actions = actions(&browsing, typed("jjk"));
        assert!(matches!(&actions[..], [Action::Down, Action::Down, Action::Up]), "{actions:?}");
    }
}
