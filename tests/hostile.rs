//! Hostile profile data, end to end: users whose name, username, email, avatar and customData
//! carry terminal escape sequences (CSI, OSC title, OSC 52 clipboard, OSC 8 links), C1
//! controls, bidi overrides and zero-width characters are shown by the real binary (TUI in a
//! pty; CLI to a terminal under `script`) without one of those sequences reaching the
//! terminal; to a pipe, `get` and `export` stay byte-exact JSON. Invisible characters (soft
//! hyphen, tag characters, Hangul fillers, …) are shown as markers, so users whose names differ
//! only by them do not look alike, and none of them enters the editor raw.

mod support;

use std::path::PathBuf;
use std::process::Command;

use custodian::domain::CustomData;
use custodian::inert;
use custodian::store::{Author, RedbStore, UserStore};
use custodian::tui::app::{Action, Mode, State, StatusKind};
use portable_pty::CommandBuilder;
use ratatui_textarea::{Input, Key};
use serde_json::{Value, json};
use support::pty::{Tui, contains, framed};
use support::{act, demo_store, started};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_custodian");

/// Every kind of hostile text at once.
fn payload() -> String {
    [
        "\u{1b}[31mRED",                                                // CSI: colour
        "\u{1b}[2J",                                                    // CSI: clear the screen
        "\u{1b}]0;pwned\u{7}",                                          // OSC 0: window title
        "\u{1b}]52;c;cHduZWQ=\u{7}",                                    // OSC 52: write the clipboard
        "\u{1b}]8;;http://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\", // OSC 8: a hyperlink
        "\u{9b}31m",                                                    // C1 CSI
        "\u{9d}0;c1title\u{7}",                                         // C1 OSC
        "\u{202e}gnp.exe",                                              // right-to-left override
        "\u{2066}isolate\u{2069}",                                      // left-to-right isolate
        "zero\u{200b}width\u{200d}joiner",                              // zero-width characters
    ]
    .concat()
}

/// Raw bytes that must never reach the terminal: each is a payload's own control sequence.
const FORBIDDEN: &[(&str, &[u8])] = &[
    ("CSI colour from the payload", b"\x1b[31mRED"),
    ("OSC 0 title", b"\x1b]0;pwned"),
    ("OSC 52 clipboard", b"\x1b]52;"),
    ("OSC 8 link", b"\x1b]8;"),
    ("C1 CSI U+009B", b"\xc2\x9b"),
    ("C1 OSC U+009D", b"\xc2\x9d"),
    ("RLO U+202E", b"\xe2\x80\xae"),
    ("LRI U+2066", b"\xe2\x81\xa6"),
    ("PDI U+2069", b"\xe2\x81\xa9"),
    ("ZWSP U+200B", b"\xe2\x80\x8b"),
    ("ZWJ U+200D", b"\xe2\x80\x8d"),
];

#[track_caller]
fn assert_inert(what: &str, raw: &[u8]) {
    let found: Vec<&str> =
        FORBIDDEN.iter().filter(|(_, bytes)| contains(raw, bytes)).map(|(n, _)| *n).collect();
    assert!(
        found.is_empty(),
        "{what}: reached the terminal raw: {found:?}\n{}",
        String::from_utf8_lossy(raw)
    );
    // The app's own output never carries an OSC at all.
    assert!(!contains(raw, b"\x1b]"), "{what}: an OSC sequence reached the terminal");
}

fn hostile_users() -> Vec<Value> {
    let p = payload();
    vec![
        json!({
            "id": "hostile1",
            "username": "hostile.one\u{1b}[31mRED\u{9b}31m\u{202e}x",
            "primaryEmail": "evil\u{202e}moc.\u{1b}]52;c;cHduZWQ=\u{7}@example.com",
            "name": "Name \u{1b}]0;pwned\u{7} \u{9d}0;c1\u{7} \u{2066}iso\u{2069} z\u{200b}w",
            "avatar": format!("https://x.example/{p}"),
            "customData": {"note": p, "k\u{202e}ey": format!("v\u{9b}{p}"), "nested": {"list": [p.clone()]}},
        }),
        json!({
            "id": "hostile2",
            "username": "hostile.two",
            "name": "\u{1b}]0;pwned\u{7}",
            "customData": {"c1": "\u{9b}2J\u{9d}", "bidi": "abc\u{202e}def"},
        }),
    ]
}

/// Characters a terminal shows as nothing (or as a blank), each of which made a user named
/// `admin` + it look like `admin` (issue 14, item 18): default-ignorable or format (Cf).
const INVISIBLE: &[char] = &[
    '\u{AD}',    // soft hyphen
    '\u{34F}',   // combining grapheme joiner
    '\u{600}',   // Arabic number sign
    '\u{17B4}',  // Khmer vowel inherent AQ
    '\u{17B5}',  // Khmer vowel inherent AA
    '\u{180E}',  // Mongolian vowel separator
    '\u{115F}',  // Hangul choseong filler
    '\u{1160}',  // Hangul jungseong filler
    '\u{3164}',  // Hangul filler
    '\u{FFA0}',  // halfwidth Hangul filler
    '\u{FE0F}',  // variation selector 16
    '\u{E0100}', // variation selector 17
    '\u{1D173}', // musical symbol begin beam
    '\u{1D17A}', // musical symbol end phrase
    '\u{E0061}', // tag latin small letter a
    '\u{200D}',  // zero width joiner
    '\u{2800}',  // Braille pattern blank (a blank cell, neither default-ignorable nor Cf)
];

/// `admin`, and `admin` with each invisible character inside: one user each.
fn look_alike_users() -> Vec<Value> {
    let mut users = vec![json!({"id": "inv00", "username": "i00", "name": "admin"})];
    for (i, c) in INVISIBLE.iter().enumerate() {
        users.push(json!({
            "id": format!("inv{:02}", i + 1),
            "username": format!("i{:02}", i + 1),
            "name": format!("adm{c}in"),
            "customData": {"note": format!("x{c}y")},
        }));
    }
    users
}

/// How a character is marked in text (`\u{ad}`).
fn marker(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// A private directory with a database holding only the hostile users, imported by an
/// operator whose name is itself hostile (it lands in the history's WHO column).
struct Fixture {
    dir: TempDir,
    db: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        Self::with_users(&hostile_users())
    }

    fn with_users(users: &[Value]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("users.redb");
        let fixture = Self { dir, db };
        fixture.cli_ok(&["init"], "tester");
        let lines: String = users.iter().map(|u| format!("{u}\n")).collect();
        let file = fixture.dir.path().join("hostile.jsonl");
        std::fs::write(&file, lines).expect("write");
        fixture.cli_ok(&["import", file.to_str().expect("utf-8")], &format!("op{}", payload()));
        fixture
    }

    fn command(&self, args: &[&str], user: &str) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path())
            .env("USER", user)
            .env("TERM", "xterm-256color")
            .env_remove("CUSTODIAN_DB")
            .env_remove("CUSTODIAN_READ_ONLY")
            .env_remove("SSH_CONNECTION");
        command
    }

    fn cli_ok(&self, args: &[&str], user: &str) -> Vec<u8> {
        let output = self.command(args, user).output().expect("run custodian");
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    /// The CLI with a terminal for its output (`script` gives it a pty); the raw bytes.
    fn cli_on_terminal(&self, args: &[&str]) -> Vec<u8> {
        let mut line = format!("{BIN} --db {}", self.db.display());
        for arg in args {
            line.push_str(&format!(" '{arg}'"));
        }
        let mut command = Command::new("script");
        command.args(["-q", "-e", "-c", &line, "/dev/null"]);
        for (key, value) in self.command(&[], "tester").get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let output = command.output().expect("run script");
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stdout));
        output.stdout
    }

    fn spawn_tui(&self, cols: u16, rows: u16) -> Tui {
        let mut command = CommandBuilder::new(BIN);
        command.arg("--db");
        command.arg(&self.db);
        command.cwd(self.dir.path());
        for key in ["CUSTODIAN_DB", "CUSTODIAN_READ_ONLY", "NO_COLOR"] {
            command.env_remove(key);
        }
        for key in ["HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"] {
            command.env(key, self.dir.path());
        }
        command.env("TERM", "xterm-256color");
        command.env("USER", "tester");
        Tui::spawn(command, cols, rows)
    }
}

fn has_script() -> bool {
    Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success())
}

// ----------------------------------------------------------------------------------------
// Tests
// ----------------------------------------------------------------------------------------

#[test]
fn the_tui_shows_hostile_users_inert_in_the_list_details_document_and_editor() {
    let fixture = Fixture::new();
    let mut tui = fixture.spawn_tui(160, 50);
    tui.wait_text("Users · 2");
    tui.wait_text("hostile.one");
    tui.wait_text("customData · revision 1");
    // The visible forms: control pictures for C0, \u{…} for C1 and format characters.
    tui.wait_text("␛]0;pwned␇");
    tui.wait_text("\\u{202e}");
    tui.send("\r");
    tui.wait_text("Editing customData of");
    tui.wait_text("valid object");
    tui.send("\x1b");
    tui.wait_gone("Editing customData of");
    tui.send("\x1b[B");
    tui.wait_text("hostile.two");
    tui.send("\r");
    tui.wait_text("Editing customData of hostile.two");
    tui.send("\x1b");
    tui.wait_gone("Editing customData of");
    let screen = tui.text();
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "{status:?}");
    assert_inert("the TUI", &tui.raw());
    for c in ['\u{1b}', '\u{9b}', '\u{9d}', '\u{202e}', '\u{2066}', '\u{200b}'] {
        assert!(!screen.contains(c), "{c:?} on the screen:\n{}", framed(&screen));
    }
}

#[test]
fn the_cli_shows_hostile_text_inert_on_a_terminal() {
    assert!(has_script(), "`script` (util-linux) is needed to give the CLI a terminal");
    let fixture = Fixture::new();
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["get", "hostile1"],
        vec!["get", "hostile2"],
        vec!["history", "hostile1"],
        vec!["export"],
    ] {
        let raw = fixture.cli_on_terminal(&args);
        assert_inert(&format!("{args:?}"), &raw);
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("hostile") || text.contains("pwned") || text.contains("\\u202e"),
            "{args:?}: {text}"
        );
    }
    let listed = String::from_utf8_lossy(&fixture.cli_on_terminal(&["list"])).into_owned();
    assert!(listed.contains("␛]0;pwned␇") && listed.contains("\\u{202e}"), "{listed}");
    let history = String::from_utf8_lossy(&fixture.cli_on_terminal(&["history", "hostile1"])).into_owned();
    assert!(history.contains("op␛[31mRED"), "{history}");
    let got = String::from_utf8_lossy(&fixture.cli_on_terminal(&["get", "hostile2"])).into_owned();
    assert!(got.contains("\\u009b2J\\u009d") && got.contains("abc\\u202edef"), "{got}");
}

#[test]
fn to_a_pipe_get_and_export_are_exact_json() {
    let fixture = Fixture::new();
    let users = hostile_users();
    let exported = fixture.cli_ok(&["export"], "tester");
    // Known fields in Logto's order: compare the values, then the bytes of a round trip.
    let lines: Vec<Value> = String::from_utf8(exported.clone())
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for (line, user) in lines.iter().zip(&users) {
        for key in ["id", "username", "primaryEmail", "name", "avatar", "customData"] {
            assert_eq!(line.get(key).unwrap_or(&Value::Null), user.get(key).unwrap_or(&Value::Null), "{key}");
        }
    }
    assert!(contains(&exported, b"\xe2\x80\xae") && contains(&exported, b"\xc2\x9b"), "raw in the pipe");
    // Byte-exact round trip: export → import into an empty database → export.
    let again = Fixture { dir: tempfile::tempdir().expect("dir"), db: PathBuf::new() };
    let again = Fixture { db: again.dir.path().join("again.redb"), ..again };
    again.cli_ok(&["init"], "tester");
    let file = again.dir.path().join("export.jsonl");
    std::fs::write(&file, &exported).expect("write");
    again.cli_ok(&["import", file.to_str().expect("utf-8")], "tester");
    assert_eq!(again.cli_ok(&["export"], "tester"), exported);
    // get: the stored canonical text, exactly.
    let got = fixture.cli_ok(&["get", "hostile2"], "tester");
    assert_eq!(
        String::from_utf8(got).expect("utf-8"),
        "{\n  \"c1\": \"\u{9b}2J\u{9d}\",\n  \"bidi\": \"abc\u{202e}def\"\n}\n"
    );
}

#[test]
fn look_alike_names_are_told_apart_in_the_tui_list_profile_and_editor() {
    let fixture = Fixture::with_users(&look_alike_users());
    let mut tui = fixture.spawn_tui(120, 40);
    tui.wait_text(&format!("Users · {}", INVISIBLE.len() + 1));
    // The list: each name with its marker, so no two rows read `admin`.
    for &c in INVISIBLE {
        tui.wait_text(&format!("adm{}in", marker(c)));
    }
    // The profile and customData panes of one of them; then its editor.
    tui.send("j");
    tui.wait_text(&format!("name          adm{}in", marker('\u{AD}')));
    // customData shows JSON: the character as its escape, the same value.
    tui.wait_text("\"note\": \"x\\u00ady\"");
    tui.send("\r");
    tui.wait_text("Editing customData of i01");
    tui.wait_text("x\\u00ady");
    // A character event that is invisible (a paste without bracketed paste, an input method)
    // arrives as its escape: Home, then U+202E and U+2066 typed.
    tui.send("\x1b[H");
    tui.send("\u{202e}\u{2066}");
    tui.wait_text("\\u202e\\u2066");
    tui.send("\x1b");
    tui.wait_text("Discard");
    tui.send("y");
    tui.wait_gone("Editing customData of");
    let screen = tui.text();
    tui.send("q");
    assert!(tui.wait_exit().success());
    let raw = tui.raw();
    for &c in INVISIBLE.iter().chain(&['\u{202e}', '\u{2066}']) {
        assert!(!screen.contains(c), "U+{:04X} on the screen:\n{}", c as u32, framed(&screen));
        let mut bytes = [0u8; 4];
        assert!(
            !contains(&raw, c.encode_utf8(&mut bytes).as_bytes()),
            "U+{:04X} reached the terminal",
            c as u32
        );
    }
}

#[test]
fn look_alike_names_are_told_apart_by_custodian_list() {
    let fixture = Fixture::with_users(&look_alike_users());
    let on_pipe = String::from_utf8(fixture.cli_ok(&["list"], "tester")).expect("utf-8");
    let on_terminal = if has_script() {
        String::from_utf8_lossy(&fixture.cli_on_terminal(&["list"])).into_owned()
    } else {
        panic!("`script` (util-linux) is needed to give the CLI a terminal");
    };
    for listed in [on_pipe, on_terminal] {
        for &c in INVISIBLE {
            assert!(listed.contains(&format!("adm{}in", marker(c))), "U+{:04X}:\n{listed}", c as u32);
            assert!(!listed.contains(c), "U+{:04X} raw:\n{listed}", c as u32);
        }
    }
}

/// A name that holds a Control Picture (`␛`) shows it marked, so it no longer looks like the
/// name that holds the real ESC; one that holds `\u{202e}` written out still shows as the one
/// that holds U+202E. Typing what the screen shows names the user it showed, or, where two
/// users show alike, refuses with both (`get` of the real one's shown name gave the other's
/// document, and `set` would have written there: bb26 T07).
#[test]
fn a_name_that_reads_like_a_marker_never_lets_what_is_shown_name_another_user() {
    let fixture = Fixture::with_users(&[
        json!({"id": "real1", "username": "bidi\u{202e}resu", "customData": {"who": "real"}}),
        json!({"id": "text1", "username": "bidi\\u{202e}resu", "customData": {"who": "text"}}),
        json!({"id": "real2", "username": "evil\u{1b}[2J", "customData": {"who": "esc"}}),
        json!({"id": "text2", "username": "evil␛[2J", "customData": {"who": "picture"}}),
        json!({"id": "real3", "username": "only\u{202e}one", "customData": {"who": "alone"}}),
    ]);
    let listed = String::from_utf8(fixture.cli_ok(&["list"], "tester")).expect("utf-8");
    let row = |id: &str| {
        listed.lines().find(|row| row.starts_with(id)).unwrap_or_else(|| panic!("{id}:\n{listed}"))
    };
    assert!(row("text2").contains(r" evil\u{241b}[2J "), "{listed}");
    assert!(row("real2").contains(" evil␛[2J "), "{listed}");
    let get = |reference: &str| fixture.command(&["get", reference], "tester").output().expect("run");
    let document = |reference: &str| -> Value {
        let output = get(reference);
        assert!(output.status.success(), "{reference}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("json")
    };
    // Shown alike: both named, neither chosen.
    for (shown, ids) in [(r"bidi\u{202e}resu", "id:real1 or id:text1"), ("evil␛[2J", "id:real2 or id:text2")]
    {
        let output = get(shown);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && output.stdout.is_empty(), "{shown}: {output:?}");
        assert!(said.contains("names more than one user"), "{shown}: {said}");
        for id in ids.split(" or ") {
            assert!(said.contains(id), "{shown} names {id}: {said}");
        }
    }
    // Shown alone: that user.
    assert_eq!(document(r"evil\u{241b}[2J"), json!({"who": "picture"}));
    assert_eq!(document(r"only\u{202e}one"), json!({"who": "alone"}));
}

#[test]
fn emoji_sequences_and_flags_keep_rendering() {
    let family = "👩\u{200D}💻 🏳\u{FE0F}\u{200D}🌈 ❤\u{FE0F} 🇫🇷 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    let users = vec![json!({"id": "emoji1", "username": "emoji", "name": family})];
    let fixture = Fixture::with_users(&users);
    let listed = String::from_utf8(fixture.cli_ok(&["list"], "tester")).expect("utf-8");
    assert!(listed.contains(family), "{listed}");
    assert!(!listed.contains("\\u{"), "{listed}");
}

// ----------------------------------------------------------------------------------------
// The editor, without a terminal: what enters the text area, and saving it
// ----------------------------------------------------------------------------------------

/// A demo database whose first user in list order holds `document`, and the TUI started on it
/// with that user's customData in the editor.
fn editing(document: &str) -> (TempDir, RedbStore, State) {
    let (dir, store) = demo_store();
    let first = store.page_after(None, 1).expect("page").remove(0).user.id;
    let data = CustomData::parse(document).expect("valid");
    store.replace_custom_data(&first, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    (dir, store, state)
}

fn editor_text(state: &State) -> String {
    state.editor.as_ref().expect("editing").text()
}

/// No character of `text` would be invisible on a terminal (emoji sequences aside).
#[track_caller]
fn assert_visible(text: &str) {
    assert_eq!(inert::lines(text), text, "an invisible character is raw in the editor");
}

#[test]
fn a_document_with_invisible_characters_opens_escaped_and_saves_as_no_changes() {
    let document = "{\"note\": \"abc\u{202e}def\u{ad}\u{E0041}\u{3164}\", \"dev\": \"👩\u{200D}💻\"}";
    let (_dir, store, mut state) = editing(document);
    let text = editor_text(&state);
    assert_visible(&text);
    assert!(text.contains(r"abc\u202edef\u00ad\udb40\udc41\u3164"), "{text}");
    assert!(text.contains("👩\u{200D}💻"), "an emoji sequence stays as it is: {text}");
    let id = state.editor.as_ref().expect("editing").user_id.clone();
    let revision = store.custom_data(&id).expect("doc").revision;
    act(&store, &mut state, Action::Save);
    let status = state.status.as_ref().expect("status");
    assert_eq!((status.kind, status.text.as_str()), (StatusKind::Info, "no changes"));
    assert_eq!(store.custom_data(&id).expect("doc").revision, revision, "nothing written");
}

#[test]
fn invisible_characters_typed_or_pasted_enter_the_editor_as_escapes_and_save_as_themselves() {
    let (_dir, store, mut state) = editing("{\"note\": \"\"}");
    // Into the string: Down to line 2, End, Left past the closing quote.
    for key in [Key::Down, Key::End, Key::Left] {
        act(&store, &mut state, Action::Edit(Input { key, ..Input::default() }));
    }
    for c in ['\u{202e}', '\u{ad}', '\u{E0041}', 'x'] {
        act(&store, &mut state, Action::Edit(Input { key: Key::Char(c), ..Input::default() }));
    }
    act(&store, &mut state, Action::Paste("\u{2066}y\u{180e}".to_owned()));
    let text = editor_text(&state);
    assert_visible(&text);
    assert!(text.contains(r#""\u202e\u00ad\udb40\udc41x\u2066y\u180e""#), "{text}");
    // The escapes are the same JSON value: the store gets the characters themselves.
    let id = state.editor.as_ref().expect("editing").user_id.clone();
    act(&store, &mut state, Action::Save);
    let stored = store.custom_data(&id).expect("doc").text;
    assert!(stored.contains("\"\u{202e}\u{ad}\u{E0041}x\u{2066}y\u{180e}\""), "{stored}");
}

#[test]
fn text_back_from_the_external_editor_or_a_draft_holds_no_invisible_character() {
    let (_dir, store, mut state) = editing("{\"note\": \"n\"}");
    let editor = state.editor.take().expect("editing");
    let (user_id, user_handle, base) = (editor.user_id, editor.user_handle, editor.base);
    // Invalid (an unclosed object), so custodian's editor opens on it with the error.
    let from_vi = "{\"note\": \"\u{202e}\u{ad}\"\r\n".to_owned();
    act(
        &store,
        &mut state,
        Action::EditedExternally {
            user_id: user_id.clone(),
            user_handle: user_handle.clone(),
            base: base.clone(),
            result: Ok(from_vi.into()),
            session_ending: false,
        },
    );
    let text = editor_text(&state);
    assert_visible(&text);
    assert_eq!(text, r#"{"note": "\u202e\u00ad""#);
    // A draft: the same way in.
    state.editor = None;
    let record = store.user(&user_id).expect("user");
    let edit = custodian::draft::EditSnapshot {
        user_id: user_id.clone(),
        user_handle: user_handle.clone(),
        session: "1-0000aaaa-0".into(),
        base_revision: record.revision,
        base_digest: custodian::draft::digest(&base.text),
        text: "{\"note\": \"\u{2067}\u{E007F}\"}".into(),
        written_at: None,
    };
    let draft = custodian::draft::Draft::new(
        custodian::draft::DraftKind::Draft,
        &store.path().display().to_string(),
        edit,
        0,
    );
    act(&store, &mut state, Action::DraftReady { record: Box::new(record), base, draft, doubt: None });
    let text = editor_text(&state);
    assert_visible(&text);
    assert_eq!(text, r#"{"note": "\u2067\udb40\udc7f"}"#);
}

/// C1 controls must be *shown*, as visible markers, not merely kept off the terminal:
/// ratatui drops a C1 character by itself, so a screen without U+009B proves nothing about
/// `inert`. The list and the profile show the `\u{…}` form, the customData pane JSON's `\u…`.
#[test]
fn the_tui_shows_c1_controls_as_visible_markers() {
    let fixture = Fixture::new();
    let mut tui = fixture.spawn_tui(160, 50);
    tui.wait_text("Users · 2");
    // hostile.one's username in the list and the profile; its name in the profile.
    tui.wait_for_rows("the username's U+009B in the list", |rows| {
        rows.iter().any(|row| row.starts_with('│') && row.contains("RED\\u{9b}31m"))
    });
    tui.wait_text("\\u{9d}0;c1␇");
    tui.send("\x1b[B");
    tui.wait_text("Profile");
    tui.wait_for("hostile.two's customData with its C1 controls shown", |screen| {
        screen.contains("\"c1\": \"\\u009b2J\\u009d\"")
    });
    let screen = tui.text();
    tui.send("q");
    assert!(tui.wait_exit().success());
    for c in ['\u{9b}', '\u{9d}'] {
        assert!(!screen.contains(c), "{c:?} on the screen:\n{}", framed(&screen));
    }
}

/// A document nested 60 deep: the tree's lines were indented past the pane's edge, every row
/// blank while the focus moved unseen (bb96 F2). Indentation is cut to a third of the pane.
#[test]
fn the_tree_of_a_deeply_nested_document_shows_its_keys_at_80_columns() {
    let (_dir, store) = demo_store();
    let first = store.page_after(None, 1).expect("page").remove(0).user.id;
    let text = format!("{}{{\"leaf\": \"bottom\"}}{}", "{\"d\": ".repeat(60), "}".repeat(60));
    let data = CustomData::parse(&text).expect("60 deep is within the limit");
    store.replace_custom_data(&first, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(&store, 80, 24);
    act(&store, &mut state, Action::FocusTree);
    act(&store, &mut state, Action::TreeFoldAll(false));
    let theme = custodian::tui::theme::Theme::plain();
    let screen_of = |state: &State| {
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| custodian::tui::view::render(frame, state, &theme)).unwrap();
        terminal.backend().to_string()
    };
    // Down to the leaf, 61 lines down: it comes into sight on the way.
    let mut screen = screen_of(&state);
    for _ in 0..62 {
        act(&store, &mut state, Action::TreeMove(1));
        screen = screen_of(&state);
        if screen.contains("\"leaf\": \"bottom\"") {
            break;
        }
    }
    assert!(screen.contains("\"leaf\": \"bottom\""), "{screen}");
    assert!(screen.matches("\"d\": {").count() > 5, "the levels above are there too:\n{screen}");
}

#[test]
fn the_tree_view_marks_hidden_characters_as_the_pane_does() {
    let (_dir, store) = demo_store();
    let first = store.page_after(None, 1).expect("page").remove(0).user.id;
    let data = CustomData::parse(r#"{"k\u009b": "\u009b2J", "b": "\u202eX\u2028Y"}"#).expect("valid");
    store.replace_custom_data(&first, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(&store, 120, 40);
    act(&store, &mut state, Action::FocusTree);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    let theme = custodian::tui::theme::Theme::colour();
    terminal.draw(|frame| custodian::tui::view::render(frame, &state, &theme)).unwrap();
    let shown = terminal.backend().to_string();
    // As JSON escapes (the same value), as in the pane and the editor: not Rust's `\u{9b}`.
    assert!(shown.contains(r#""k\u009b": "\u009b2J""#), "{shown}");
    assert!(shown.contains(r#""b": "\u202eX\u2028Y""#), "{shown}");
    assert!(!shown.contains("\\u{"), "{shown}");
}

/// The status line and `:messages` show a name as every other view does: made inert once,
/// when drawn. They marked it twice (`␛` then `\u{241b}`), so a name holding ESC read on the
/// status line as another user's name holding the Control Picture itself (bb31 U02).
#[test]
fn the_status_line_names_a_user_as_the_list_does_never_as_the_look_alike() {
    let (_dir, store) = demo_store();
    support::import_records(
        &store,
        concat!(
            r#"{"id":"esc","username":"osc52\u001b]52;c;cHduZWQ=\u0007x","customData":{}}"#,
            "\n",
            r#"{"id":"pict","username":"osc52\u241b]52;c;cHduZWQ=\u2407x","customData":{}}"#,
            "\n"
        ),
    );
    let drawn = |state: &State| {
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
        let theme = custodian::tui::theme::Theme::plain();
        terminal.draw(|frame| custodian::tui::view::render(frame, state, &theme)).expect("drawn");
        terminal.backend().to_string()
    };
    let bottom_lines = |state: &State| drawn(state).lines().rev().take(3).collect::<Vec<_>>().join("\n");
    for (id, shown) in [("esc", "osc52␛]52;c;cHduZWQ=␇x"), ("pict", r"osc52\u{241b}]52;c;cHduZWQ=\u{2407}x")]
    {
        let mut state = started(&store, 160, 40);
        act(&store, &mut state, Action::StartCommand);
        for c in format!("user id:{id}").chars() {
            act(&store, &mut state, Action::CommandChar(c));
        }
        act(&store, &mut state, Action::RunCommand);
        assert!(bottom_lines(&state).contains(&format!("user {shown}")), "{id}:\n{}", bottom_lines(&state));
        act(&store, &mut state, Action::OpenEditor);
        assert_eq!(state.mode(), Mode::Edit);
        let status = bottom_lines(&state);
        assert!(status.contains(&format!("editing customData of {shown}")), "{id}:\n{status}");
        // `:messages` keeps what was said, shown the same way.
        act(&store, &mut state, Action::LeaveEditor);
        act(&store, &mut state, Action::OpenMessages);
        let screen = drawn(&state);
        assert!(screen.contains(&format!("editing customData of {shown}")), "{id}:\n{screen}");
    }
}

/// `admin` and `аdmin` (a Cyrillic а) read alike: the list marks the one whose handle mixes
/// look-alike scripts in a word with `≈`, and the profile says which scripts (bb31 U01).
#[test]
fn a_handle_mixing_look_alike_scripts_is_marked_in_the_list_and_named_in_the_profile() {
    let (_dir, store) = demo_store();
    support::import_records(
        &store,
        concat!(
            r#"{"id":"cyr","username":"\u0430dmin","customData":{}}"#,
            "\n",
            r#"{"id":"mixname","username":"ivan_admin","name":"Ivan \u0418\u0432a\u043d\u043e\u0432","customData":{}}"#,
            "\n"
        ),
    );
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "dmin");
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    let theme = custodian::tui::theme::Theme::plain();
    let mut drawn = |state: &State| {
        terminal.draw(|frame| custodian::tui::view::render(frame, state, &theme)).expect("drawn");
        terminal.backend().to_string()
    };
    let screen = drawn(&state);
    assert!(screen.contains("│≈ \u{430}dmin"), "{screen}");
    assert!(screen.contains("│  admin"), "the real one unmarked: {screen}");
    // The name shown beside the handle is looked at too (bb32 V03).
    assert!(screen.contains("│≈ ivan_admin  Ivan \u{418}\u{432}a\u{43d}\u{43e}\u{432}"), "{screen}");
    act(&store, &mut state, Action::StartCommand);
    for c in "user id:cyr".chars() {
        act(&store, &mut state, Action::CommandChar(c));
    }
    act(&store, &mut state, Action::RunCommand);
    let screen = drawn(&state);
    assert!(
        screen.contains("username      ≈ \u{430}dmin (Cyrillic and Latin letters in one word)"),
        "{screen}"
    );
}
