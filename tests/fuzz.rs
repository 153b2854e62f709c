//! Property-based fuzzing (proptest; cargo-fuzz needs a nightly toolchain): the customData
//! parser, the import reader and the TUI's update loop and renderer, fed hostile input, never
//! panic and keep their promises. Cases are moderate by default so the file stays well under a
//! minute in a debug build; `CUSTODIAN_FUZZ_CASES=N` runs every target with N cases.
//! Every failure found is kept below as a named regression test.

mod support;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use custodian::domain::custom_data::canonical_from_compact;
use custodian::domain::import::ImportReader;
use custodian::domain::seal::{self, Key, KeySet};
use custodian::domain::{CustomData, Limits, ValidationError};
use custodian::inert;
use custodian::store::RedbStore;
use custodian::tui::action_for_event;
use custodian::tui::app::State;
use custodian::tui::theme::Theme;
use custodian::tui::view;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::{act, demo_store, started};

const DEMO_USERS: &[u8] = support::DEMO_USERS;

/// Cases for a target: `CUSTODIAN_FUZZ_CASES` when set, else the target's default.
fn cases(default: u32) -> u32 {
    std::env::var("CUSTODIAN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    // No failure persistence file: every failure found is turned into a named test below.
    TestRunner::new(Config { cases: cases(default_cases), failure_persistence: None, ..Config::default() })
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// Valid documents that mutations start from: nesting, escapes, numbers, non-ASCII.
const SEEDS: &[&str] = &[
    "{}",
    "{\n  \"theme\": \"dark\",\n  \"lang\": \"en\"\n}",
    r#"{"a":{"b":[1,2,{"c":null}],"d":true},"e":-1.5e+10,"f":"x\"y\\z\u00e9\n"}"#,
    r#"{"név": "é", "山田": ["🎉", "\ud83c\udf89"], "n": 12345678901234567890123}"#,
    "{\"esc\": \"\\u001b[31m\\u001b[2J\", \"c1\": \"\u{9b}\u{9d}\", \"bidi\": \"\u{202e}\u{2066}\", \"zw\": \"\u{200b}\"}",
    "{\"deep\": [[[[[[[[[[{\"x\": [[[[[[[[[[1]]]]]]]]]]}]]]]]]]]]]}",
    "{\"inv\": \"\u{ad}\u{34f}\u{E0041}\u{1D173}\u{3164}\", \"dev\": \"👩\u{200D}💻\", \"n\": [1E5, -0.0e0, 1e-5, 1.50]}",
];

/// One edit to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    /// Copy a range to another place (repeats structure: brackets, keys).
    Splice {
        from: usize,
        len: usize,
        to: usize,
    },
}

/// Bytes JSON cares about, more often than chance would pick them.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        5 => prop::sample::select(
            b"{}[]\",:\\u0123456789-+.eEtrfalsnNI \n\r\t\x00\x1b\xc2\x9b\xe2\x80\xae\xef\xbb\xbf\xff\xed\xa0".to_vec()
        ),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), interesting_byte()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), interesting_byte()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<usize>(), 0usize..40, any::<usize>()).prop_map(|(from, len, to)| Mutation::Splice {
            from,
            len,
            to
        }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Insert(at, b) => bytes.insert(at % (n + 1), b),
            Mutation::Delete(at) if n > 0 => {
                bytes.remove(at % n);
            }
            Mutation::Replace(at, b) if n > 0 => bytes[at % n] = b,
            Mutation::Splice { from, len, to } if n > 0 => {
                let from = from % n;
                let piece: Vec<u8> = bytes[from..(from + len).min(n)].to_vec();
                let to = to % (n + 1);
                bytes.splice(to..to, piece);
            }
            _ => {}
        }
    }
    bytes
}

fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(seeds), prop::collection::vec(mutation(), 0..12))
        .prop_map(|(seed, ms)| mutate(seed, &ms))
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        3 => Just(Limits::default()),
        1 => (0usize..400, 0usize..140).prop_map(|(bytes, depth)| Limits::new(bytes, depth)),
    ]
}

// ---------------------------------------------------------------------------------------------
// (a) CustomData::parse_bytes

/// What must hold for any input: Ok means a canonical text that parses to itself, and a
/// compact form (the size the limit is on) no longer than the input, counted exactly before
/// parsing; an error with a position points inside the text. The text as it enters the editor
/// (invisible characters as escapes) is valid exactly when the text is, with the same value.
fn check_parse(bytes: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_editor_text(text, limits)?;
    }
    match CustomData::parse_bytes(bytes, limits) {
        Ok(data) => {
            prop_assert_eq!(data.size(), data.compact().len());
            prop_assert!(data.size() <= bytes.len(), "compact form longer than the text: {}", data.compact());
            prop_assert_eq!(custodian::domain::scan::compact_len(bytes), data.size());
            prop_assert_eq!(canonical_from_compact(&data.compact()), data.canonical());
            let again = CustomData::parse_with(data.canonical(), &Limits::new(usize::MAX, limits.max_depth));
            let again = again.map_err(|e| TestCaseError::fail(format!("canonical text refused: {e}")))?;
            prop_assert_eq!(again.canonical(), data.canonical());
            prop_assert!(data.canonical().starts_with('{'), "not an object: {}", data.canonical());
            let value: serde_json::Value = serde_json::from_str(data.canonical())
                .map_err(|e| TestCaseError::fail(format!("canonical text is not JSON: {e}")))?;
            prop_assert!(value.is_object());
        }
        Err(error) => {
            let text = String::from_utf8_lossy(bytes);
            if let Some((line, column)) = error.position() {
                check_position(&text, line, column, &error)?;
            }
            prop_assert!(!error.to_string().is_empty());
        }
    }
    Ok(())
}

fn check_editor_text(text: &str, limits: &Limits) -> Result<(), TestCaseError> {
    let entered = inert::editor_text(text);
    // A tab stays a tab: the text area draws it as spaces.
    let shown = entered.replace('\t', " ");
    // No hidden character stays raw. A Control Picture (`␍`, U+240D) may: the lines of other
    // views mark one (a name `evil␛[2J` looked like a real ESC there), while in the editor a
    // real control is always its escape (`\u001b`), so the picture is only itself.
    // (Each picture stands in as a plain letter: neither continues an emoji sequence.)
    let plain: String = shown.chars().map(|c| if inert::is_control_picture(c) { 'x' } else { c }).collect();
    prop_assert_eq!(inert::lines(&plain), plain.as_str(), "an invisible character stays raw");
    match (CustomData::parse_with(text, limits), CustomData::parse_with(&entered, limits)) {
        (Ok(typed), Ok(escaped)) => prop_assert_eq!(typed.canonical(), escaped.canonical()),
        (Err(_), Err(_)) => {}
        // A raw C0 control is not allowed in a JSON string, its escape is: the editor shows
        // `\u001b` and the string is valid (the control is visible, not obeyed).
        (Err(_), Ok(_)) if text.chars().any(|c| c.is_ascii_control() && !matches!(c, '\n' | '\t' | '\r')) => {
        }
        (typed, escaped) => {
            return Err(TestCaseError::fail(format!("{text:?}: {typed:?} but in the editor {escaped:?}")));
        }
    }
    Ok(())
}

fn check_position(
    text: &str,
    line: usize,
    column: usize,
    error: &ValidationError,
) -> Result<(), TestCaseError> {
    prop_assert!(line >= 1 && column >= 1, "{error:?} has line {line}, column {column}");
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(line <= lines.len(), "{error:?}: line {line} of {} in {text:?}", lines.len());
    let width = lines[line - 1].chars().count();
    prop_assert!(
        column <= width + 1,
        "{error:?}: column {column} on a line of {width} characters in {text:?}"
    );
    Ok(())
}

#[test]
fn fuzz_parse_bytes_on_arbitrary_bytes() {
    let strategy = (prop::collection::vec(interesting_byte(), 0..300), limits());
    runner(3000).run(&strategy, |(bytes, limits)| check_parse(&bytes, &limits)).unwrap();
}

#[test]
fn fuzz_parse_bytes_on_mutated_valid_json() {
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let strategy = (mutated(seeds), limits());
    runner(4000).run(&strategy, |(bytes, limits)| check_parse(&bytes, &limits)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Sealed values: the JWE compact parser and opener

fn seal_keys() -> KeySet {
    KeySet::new(vec![Key::new("k1", [1; 32]), Key::new("k2", [2; 32])]).expect("two keys")
}

/// Valid sealed values (each kind of JSON value) that mutations start from.
fn sealed_seeds() -> Vec<Vec<u8>> {
    let keys = seal_keys();
    ["\"DE123456789\"", "42", "{\"a\":[1,null,true]}", "[]"]
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let value = custodian::domain::custom_data::parse_value(text).expect("seed JSON");
            seal::seal(&value, &keys.keys()[n % 2], [n as u8; 12]).into_bytes()
        })
        .collect()
}

/// Whatever the text: no panic; only an unchanged sealed value opens (GCM's tag and the
/// canonical base64url leave no other text that decrypts); `is_sealed` holds of anything that
/// opens, and `summary` answers exactly when `is_sealed` does.
fn check_open(text: &str, originals: &[String]) -> Result<(), TestCaseError> {
    let keys = seal_keys();
    let opened = seal::open(text, &keys);
    if opened.is_ok() {
        prop_assert!(originals.iter().any(|o| o == text), "a changed value opened: {text}");
        prop_assert!(seal::is_sealed(text));
    }
    prop_assert_eq!(seal::summary(text).is_some(), seal::is_sealed(text));
    // A damaged seal (not five parts) is opened to say what is wrong with it (bb67 F1).
    prop_assert_eq!(
        seal::open_if_sealed(text, &keys).is_some(),
        seal::is_sealed(text) || seal::damaged_seal_parts(text).is_some()
    );
    if seal::damaged_seal_parts(text).is_some() {
        prop_assert!(!seal::is_sealed(text));
        prop_assert!(matches!(seal::open_if_sealed(text, &keys), Some(Err(seal::OpenError::NotCompact(_)))));
    }
    // The error names no plaintext: it is one line of custodian's words.
    if let Err(error) = opened {
        prop_assert!(!error.to_string().contains('\n'));
    }
    Ok(())
}

#[test]
fn fuzz_seal_open_on_arbitrary_text() {
    let originals: Vec<String> = Vec::new();
    runner(512).run(&".{0,200}", |text| check_open(&text, &originals)).expect("seal::open on arbitrary text");
}

#[test]
fn fuzz_seal_open_on_mutated_sealed_values() {
    let seeds = sealed_seeds();
    let originals: Vec<String> = seeds.iter().map(|s| String::from_utf8(s.clone()).expect("ascii")).collect();
    runner(1024)
        .run(&mutated(seeds), |bytes| match std::str::from_utf8(&bytes) {
            Ok(text) => check_open(text, &originals),
            Err(_) => Ok(()),
        })
        .expect("seal::open on mutated sealed values");
}

// ---------------------------------------------------------------------------------------------
// (b) ImportReader

fn check_import(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(reader) = ImportReader::new(bytes, Limits::default(), 1_700_000_000_000) {
        for record in reader.take(10_000) {
            match record {
                Ok(new) => {
                    // What was accepted is valid customData in its own right.
                    if let Some(data) = &new.custom_data {
                        prop_assert!(CustomData::parse(data.canonical()).is_ok());
                    }
                }
                Err(e) => prop_assert!(!e.origin.is_empty()),
            }
        }
    }
    Ok(())
}

/// A few demo users as a JSON array and as JSON Lines, to mutate.
fn import_seeds() -> Vec<Vec<u8>> {
    let users: Vec<serde_json::Value> = serde_json::from_slice(DEMO_USERS).expect("demo users");
    let few = &users[..4];
    let array = serde_json::to_vec_pretty(few).expect("json");
    let lines: Vec<u8> = few
        .iter()
        .flat_map(|u| {
            let mut line = serde_json::to_vec(u).expect("json");
            line.push(b'\n');
            line
        })
        .collect();
    vec![array, lines, b"{\"id\":\"u1\",\"customData\":{\"a\":[1,{\"b\":\"\\u0000\"}]}}\n".to_vec()]
}

#[test]
fn fuzz_import_reader_on_arbitrary_bytes() {
    runner(3000)
        .run(&prop::collection::vec(interesting_byte(), 0..300), |bytes| check_import(&bytes))
        .unwrap();
}

#[test]
fn fuzz_import_reader_on_mutated_import_files() {
    runner(1500).run(&mutated(import_seeds()), |bytes| check_import(&bytes)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (c) The TUI: update() driven by random events, every state rendered at a random size

#[derive(Debug, Clone)]
enum Input {
    Key(KeyCode, KeyModifiers),
    Paste(String),
    Resize(u16, u16),
}

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec!['{', '}', '[', ']', '"', ':', ',', '\\', '/', 'q', 'y', 'n', 'e', '?']),
        1 => prop::char::range('\0', '\u{1f}'),
        1 => prop::sample::select(vec!['\u{7f}', '\u{9b}', '\u{9d}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}', 'é', '山', '🎉', '\u{301}']),
        1 => any::<char>(),
    ]
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        6 => hostile_char().prop_map(KeyCode::Char),
        6 => prop::sample::select(vec![
            KeyCode::Enter, KeyCode::Esc, KeyCode::Backspace, KeyCode::Tab, KeyCode::BackTab,
            KeyCode::Up, KeyCode::Down, KeyCode::Left, KeyCode::Right, KeyCode::Home, KeyCode::End,
            KeyCode::PageUp, KeyCode::PageDown, KeyCode::Delete, KeyCode::Insert, KeyCode::Null,
        ]),
        1 => (0u8..=13).prop_map(KeyCode::F),
    ]
}

fn modifiers() -> impl Strategy<Value = KeyModifiers> {
    prop_oneof![
        6 => Just(KeyModifiers::NONE),
        2 => Just(KeyModifiers::CONTROL),
        1 => Just(KeyModifiers::SHIFT),
        1 => Just(KeyModifiers::ALT),
        1 => (0u8..=0xff).prop_map(KeyModifiers::from_bits_truncate),
    ]
}

fn size() -> impl Strategy<Value = (u16, u16)> {
    prop_oneof![
        2 => (0u16..4, 0u16..4),
        2 => (60u16..140, 18u16..50),
        1 => (0u16..300, 0u16..120),
        1 => Just((80, 24)),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        12 => (key_code(), modifiers()).prop_map(|(code, mods)| Input::Key(code, mods)),
        2 => prop::collection::vec(hostile_char(), 0..60).prop_map(|cs| Input::Paste(cs.into_iter().collect())),
        1 => size().prop_map(|(w, h)| Input::Resize(w, h)),
    ]
}

fn render(state: &State, width: u16, height: u16) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| view::render(frame, state, &Theme::colour())).expect("draw");
}

fn drive(store: &RedbStore, inputs: &[(Input, (u16, u16))]) {
    let mut state = started(store, 120, 40);
    for (input, (width, height)) in inputs {
        let event = match input {
            Input::Key(code, mods) => Event::Key(KeyEvent::new_with_kind(*code, *mods, KeyEventKind::Press)),
            Input::Paste(text) => Event::Paste(text.clone()),
            Input::Resize(w, h) => Event::Resize(*w, *h),
        };
        if let Some(action) = action_for_event(&state, event) {
            act(store, &mut state, action);
        }
        render(&state, *width, *height);
        if state.quit {
            break;
        }
    }
}

#[test]
fn fuzz_tui_update_and_render_never_panic() {
    let (_dir, store) = demo_store();
    let strategy = prop::collection::vec((input(), size()), 1..60);
    runner(48)
        .run(&strategy, |inputs| {
            drive(&store, &inputs);
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Regressions: every failure the fuzzing found, kept as a named case.

/// Found by `a_full_disk_fails_the_write_and_keeps_the_last_good_state` (tests/bad_inputs.rs):
/// the structural scan counted the characters of the line so far for every string, so a
/// compact (one-line) document near the 1 MiB limit took minutes to validate. Now linear.
#[test]
fn regression_a_one_line_document_near_the_limit_validates_in_linear_time() {
    let text = format!(
        "{{{}}}",
        (0..8500).map(|i| format!("\"k{i}\":\"{}\"", "v".repeat(100))).collect::<Vec<_>>().join(",")
    );
    assert!(text.len() > 900_000 && !text.contains('\n'));
    let started = std::time::Instant::now();
    let parsed = CustomData::parse(&text);
    assert!(parsed.is_ok(), "{parsed:?}");
    // Quadratic took ~100 s of CPU in a debug build; linear takes well under a second.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
}

/// Found by `fuzz_parse_bytes_on_mutated_valid_json` (a ZWJ's byte turned into `␍`, U+240D):
/// the editor shows a Control Picture as itself and a real NUL as its escape.
#[test]
fn regression_a_control_picture_in_a_document_stays_itself_in_the_editor() {
    let text = "{\"dev\": \"\u{1f469}\u{240d}\u{1f4bb}\u{0}\", \"cr\": \"a\rb\"}";
    let entered = inert::editor_text(text);
    assert!(entered.contains('\u{240d}') && entered.contains("\\u0000"), "{entered:?}");
    check_editor_text(text, &Limits::default()).expect("nothing hidden stays raw");
}
