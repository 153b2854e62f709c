//! `update` is pure: what it needs from outside (the home directory, random bytes) is in the
//! state, put there at start by the runtime, so the same state and action give the same result.

mod support;

use custodian::domain::CustomData;
use custodian::domain::seal::{self, Key, KeySet};
use custodian::store::{Author, RedbStore, UserStore};
use custodian::tui::app::CursorPath;
use custodian::tui::app::{Action, Effect, Mode, State, StatusKind, update};
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui_textarea::{CursorMove, Input, Key as TextKey};
use support::{act, demo_store, started};

fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    update(state, Action::StartCommand);
    for c in line.chars() {
        update(state, Action::CommandChar(c));
    }
    update(state, Action::RunCommand)
}

#[test]
fn export_expands_the_tilde_to_the_home_the_state_holds_not_the_environment() {
    let mut state = State::new(120, 40, false);
    state.home = Some("/home/operator".to_owned());
    let effects = run_command(&mut state, "export ~/users.jsonl");
    let stop = state.exports_stop.clone();
    assert_eq!(effects, vec![Effect::Export { path: "/home/operator/users.jsonl".into(), stop }]);
    // Without a home (none given at start) the tilde is a name like any other.
    let mut state = State::new(120, 40, false);
    let effects = run_command(&mut state, "export ~/users.jsonl");
    let stop = state.exports_stop.clone();
    assert_eq!(effects, vec![Effect::Export { path: "~/users.jsonl".into(), stop }]);
}

fn keys() -> KeySet {
    KeySet::new(vec![Key::new("2026-12", [7; 32])]).expect("one key")
}

/// The demo database's first user holding `{"taxId": "DE123456789"}`, the editor open on it
/// with the cursor on the value, and the key file given.
fn editing_tax_id(store: &RedbStore) -> State {
    let first = store.page_after(None, 1).expect("page").remove(0);
    let data = CustomData::parse(r#"{"taxId": "DE123456789"}"#).expect("test document");
    store.replace_custom_data(&first.user.id, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(store, 100, 30);
    state.keys = Some(keys());
    act(store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    let editor = state.editor.as_mut().expect("editor");
    let (row, col) = editor
        .textarea
        .lines()
        .iter()
        .enumerate()
        .find_map(|(row, line)| line.find("DE1").map(|at| (row, at)))
        .expect("the value is in the editor");
    editor.textarea.move_cursor(CursorMove::Jump(row, col));
    state
}

fn fixed_iv() -> Result<[u8; seal::IV_BYTES], String> {
    Ok([42; seal::IV_BYTES])
}

fn no_random_bytes() -> Result<[u8; seal::IV_BYTES], String> {
    Err("no entropy".to_owned())
}

#[test]
fn sealing_takes_its_iv_from_the_source_the_state_holds() {
    let (_dir, store) = demo_store();
    let mut state = editing_tax_id(&store);
    state.iv_source = fixed_iv;
    act(&store, &mut state, Action::SealValue);
    let text = state.editor.as_ref().expect("editor").text();
    let object: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let token = object["taxId"].as_str().expect("a string");
    // header..IV.ciphertext.tag: the IV is the source's bytes, base64url.
    assert_eq!(token.split('.').nth(2), Some("KioqKioqKioqKioq"), "{token}");
    assert_eq!(seal::open(token, &keys()).expect("opens"), serde_json::json!("DE123456789"));
}

#[test]
fn sealing_without_random_bytes_says_so_and_changes_nothing() {
    let (_dir, store) = demo_store();
    let mut state = editing_tax_id(&store);
    state.iv_source = no_random_bytes;
    let before = state.editor.as_ref().expect("editor").text();
    act(&store, &mut state, Action::SealValue);
    assert_eq!(state.editor.as_ref().expect("editor").text(), before);
    let status = state.status.as_ref().expect("a status line");
    assert_eq!(status.kind, StatusKind::Error);
    assert_eq!(status.text, "cannot seal: no random bytes from the system (no entropy)");
}

/// The editor open on `{"theme": "dark", "billing": {"plan": "pro"}}`.
fn editing_billing(store: &RedbStore) -> State {
    let first = store.page_after(None, 1).expect("page").remove(0);
    let data = CustomData::parse(r#"{"theme": "dark", "billing": {"plan": "pro"}}"#).expect("test document");
    store.replace_custom_data(&first.user.id, &data, None, &Author("tester".into())).expect("save");
    let mut state = started(store, 120, 40);
    act(store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    state
}

fn press(store: &RedbStore, state: &mut State, key: TextKey) {
    act(store, state, Action::Edit(Input { key, ctrl: false, alt: false, shift: false }));
}

#[test]
fn the_path_at_the_editor_cursor_is_kept_in_state_when_the_cursor_moves() {
    let (_dir, store) = demo_store();
    let mut state = editing_billing(&store);
    for _ in 0..3 {
        press(&store, &mut state, TextKey::Down);
    }
    press(&store, &mut state, TextKey::End);
    let editor = state.editor.as_ref().expect("editor");
    let kept = editor.cursor_path.as_ref().expect("a path kept after the move");
    let cursor = editor.textarea.cursor();
    assert_eq!(kept.cursor, (cursor.0, cursor.1));
    assert_eq!(kept.generation, editor.generation);
    assert_eq!(kept.path, "billing.plan");
    press(&store, &mut state, TextKey::Up);
    let kept = state.editor.as_ref().and_then(|e| e.cursor_path.as_ref()).expect("kept");
    assert_eq!(kept.path, "billing");
}

#[test]
fn the_editor_title_reads_the_kept_path_instead_of_reading_the_text_each_frame() {
    let (_dir, store) = demo_store();
    let mut state = editing_billing(&store);
    press(&store, &mut state, TextKey::Down);
    let editor = state.editor.as_mut().expect("editor");
    let cursor = editor.textarea.cursor();
    // A path the text does not hold: only a title that reads the kept one shows it.
    editor.cursor_path = Some(CursorPath {
        cursor: (cursor.0, cursor.1),
        generation: editor.generation,
        path: "kept.path".into(),
    });
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|frame| view::render(frame, &state, &Theme::colour())).expect("draw");
    let screen = terminal.backend().to_string();
    assert!(screen.contains("at kept.path"), "{screen}");
}

#[test]
fn the_way_out_stops_an_export_at_once_only_when_a_signal_ended_the_session() {
    for ended_by_a_signal in [false, true] {
        let mut state = State::new(120, 40, false);
        let effects = run_command(&mut state, "export /srv/users.jsonl");
        let [Effect::Export { stop, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        state.stop_work_at_the_way_out(ended_by_a_signal);
        // After `q` the export is waited for (up to 30 s) before it is stopped.
        assert_eq!(stop.stopped(), ended_by_a_signal);
    }
}

/// Why the screen writes nothing is in the state, and each refusal says it: a server that
/// takes no writes is not told to drop `--read-only`, which was never given.
#[test]
fn a_screen_on_a_server_that_takes_no_writes_refuses_each_write_naming_the_server() {
    use custodian::tui::app::ReadOnly;
    let (_dir, store) = demo_store();
    for (read_only, why) in [
        (
            ReadOnly::Asked,
            "read-only: the database was opened read-only (--read-only or CUSTODIAN_READ_ONLY)",
        ),
        (
            ReadOnly::Server,
            "read-only: the server takes no writes (a hot standby, or default_transaction_read_only is on)",
        ),
    ] {
        let mut state = started(&store, 100, 30);
        state.read_only = Some(read_only);
        for action in [Action::OpenEditor, Action::EditExternally] {
            let effects = update(&mut state, action.clone());
            assert!(effects.is_empty(), "{read_only:?} {action:?}: {effects:?}");
            let status = state.status.as_ref().expect("a status line");
            assert_eq!((status.kind, status.text.as_str()), (StatusKind::Error, why), "{action:?}");
            assert!(state.editor.is_none());
        }
    }
}

/// A server that stops taking writes mid-session (a failover to a standby,
/// `default_transaction_read_only` set): the refusal turns the screen read-only, the edit open
/// stays and the way out keeps it as a draft without asking to throw it away, and a look that
/// finds the server taking writes again turns editing back on (bb57 F4: `e` went on opening
/// editors whose saves were refused, and the only way out threw the edit away).
#[test]
fn a_server_that_stops_taking_writes_makes_the_screen_read_only_and_the_edit_is_kept_on_the_way_out() {
    use custodian::tui::app::ReadOnly;
    let (_dir, store) = demo_store();
    let mut state = started(&store, 100, 30);
    act(&store, &mut state, Action::OpenEditor);
    assert_eq!(state.mode(), Mode::Edit);
    act(&store, &mut state, Action::Edit(Input { key: TextKey::Char('x'), ..Input::default() }));
    let user = state.editor.as_ref().map(|e| e.user_id.clone()).expect("an editor");
    let refused = "db: the server takes no writes (a hot standby, or default_transaction_read_only is on): nothing was written; write through the primary, or with a role or database that may write";
    assert!(
        update(&mut state, Action::WritesRefused { why: ReadOnly::Server, message: refused.to_owned() })
            .is_empty()
    );
    assert_eq!(state.read_only, Some(ReadOnly::Server));
    // The hint bar no longer offers the save the screen refuses (bb88 F4); it offers the look.
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal.draw(|frame| view::render(frame, &state, &Theme::colour())).expect("draw");
    let hints = terminal.backend().to_string().lines().last().unwrap_or_default().to_owned();
    assert!(hints.contains("F5 look for writes") && !hints.contains("save"), "{hints}");
    // The edit is kept on the way out, which `Esc` refuses: the bar names `Ctrl-C`, not `Esc
    // leave` (bb91 F3).
    assert!(hints.contains("Ctrl-C leave, keeping the edit as a draft") && !hints.contains("Esc"), "{hints}");
    let status = state.status.clone().expect("a status line");
    assert_eq!(status.kind, StatusKind::Error);
    assert!(
        status.text.starts_with(refused) && status.text.contains("your edit stays here"),
        "{}",
        status.text
    );
    // `r`/F5 looks again: a look, not a sync the server would refuse again.
    let looked = update(&mut state, Action::Reconnect);
    assert!(matches!(looked.as_slice(), [Effect::Reconnect]), "{looked:?}");
    assert!(update(&mut state, Action::Reconnected { takes_writes: false }).is_empty());
    assert_eq!(state.read_only, Some(ReadOnly::Server));
    assert!(
        state.status.as_ref().is_some_and(|s| s.text.starts_with("still read-only")),
        "{:?}",
        state.status
    );
    // The way out asks nothing and keeps the edit (the runtime writes its draft).
    assert!(update(&mut state, Action::Quit).is_empty());
    assert!(state.quit && state.dialog.is_none(), "{:?}", state.dialog);
    assert!(state.editor.as_ref().is_some_and(|e| e.is_modified()), "the edit is still there to be kept");
    assert_eq!(
        state.said_at_exit,
        vec![format!("the server stopped taking writes, so your edit of user {user} was not saved")]
    );
    // Taking writes again: editing is on, and `r` syncs the keys again.
    let mut state = started(&store, 100, 30);
    state.read_only = Some(ReadOnly::Server);
    assert!(update(&mut state, Action::Reconnected { takes_writes: true }).is_empty());
    assert_eq!(state.read_only, None);
    assert!(state.status.as_ref().is_some_and(|s| s.text.contains("editing is on")), "{:?}", state.status);
    let effects = update(&mut state, Action::Refresh);
    assert!(effects.iter().any(|e| matches!(e, Effect::SyncKeys)), "{effects:?}");
    // A reconnect after a lost connection that finds a standby says so.
    state.read_only = None;
    update(&mut state, Action::ConnectionLost { message: "the server ended the session".into() });
    update(&mut state, Action::Reconnected { takes_writes: false });
    assert_eq!(state.read_only, Some(ReadOnly::Server));
    let said = state.status.clone().expect("a status line").text;
    assert!(said.starts_with("reconnected, to a server that takes no writes"), "{said}");
}

/// `r` on a screen read-only for its server looks whether the server takes writes again and
/// syncs no keys (the sync is a write, refused there); elsewhere it syncs them.
#[test]
fn refresh_on_a_server_read_only_screen_looks_again_instead_of_syncing_the_keys() {
    use custodian::tui::app::ReadOnly;
    let (_dir, store) = demo_store();
    let mut state = started(&store, 100, 30);
    let effects = update(&mut state, Action::Refresh);
    assert!(effects.iter().any(|e| matches!(e, Effect::SyncKeys)), "{effects:?}");
    state.read_only = Some(ReadOnly::Server);
    let effects = update(&mut state, Action::Refresh);
    assert!(effects.iter().any(|e| matches!(e, Effect::Reconnect)), "{effects:?}");
    assert!(!effects.iter().any(|e| matches!(e, Effect::SyncKeys)), "{effects:?}");
}

/// A patch's apply the server refuses for taking no writes turns the screen read-only too, as
/// a refused save does: the next `e` is refused before an editor opens (review57).
#[test]
fn a_patch_the_server_refuses_for_taking_no_writes_makes_the_screen_read_only() {
    use custodian::tui::app::{PatchAnswer, ReadOnly};
    let (_dir, store) = demo_store();
    let mut state = started(&store, 100, 30);
    let refused = "postgres://h/db: the server takes no writes (a hot standby, or default_transaction_read_only is on): nothing was written";
    update(&mut state, Action::PatchApplied { result: PatchAnswer::ServerTakesNoWrites(refused.to_owned()) });
    assert_eq!(state.read_only, Some(ReadOnly::Server));
    let said = state.status.clone().expect("a status line").text;
    assert!(said.starts_with(&format!("the patch was not applied: {refused}")), "{said}");
    assert!(update(&mut state, Action::OpenEditor).is_empty());
    assert!(state.editor.is_none());
}

/// F5 on a server's connection not known lost checks it (the server may have ended the session
/// since the last call: "the connection is fine" was said over a dead one, bb58 F3); on a file
/// there is nothing to reconnect.
#[test]
fn f5_on_a_connection_not_known_lost_checks_it_and_on_a_file_says_there_is_none() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 100, 30);
    assert!(update(&mut state, Action::Reconnect).is_empty());
    let said = state.status.clone().expect("a status line").text;
    assert_eq!(said, "nothing to reconnect: the database is a file");
    state.key_order = custodian::store::KeyOrder::Backend("PostgreSQL");
    let effects = update(&mut state, Action::Reconnect);
    assert!(matches!(effects.as_slice(), [Effect::Reconnect]), "{effects:?}");
    assert!(update(&mut state, Action::Reconnected { takes_writes: true }).is_empty());
    let said = state.status.clone().expect("a status line").text;
    assert!(said.starts_with("the connection works"), "{said}");
    assert_eq!(state.read_only, None);
    // A look that finds the server taking no writes says so as news, not "still" (bb59 F3).
    update(&mut state, Action::Reconnect);
    update(&mut state, Action::Reconnected { takes_writes: false });
    let said = state.status.clone().expect("a status line").text;
    assert!(said.starts_with("the connection works, and the server takes no writes now"), "{said}");
}
