//! `:patch FILE` in the screen: the dry run in an overlay (counts, failures grouped, each
//! changed user's diff with `j`/`k`), `Enter` asking with the count before anything is
//! written, the batch on the status line after, and nothing written on the way there.

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use custodian::domain::diff::line_diff;
use custodian::store::{RedbStore, UserStore};
use custodian::tui::app::{
    Action, Dialog, Effect, Mode, PatchAnswer, SecretsInPatch, State, StopFlag, update,
};
use custodian::tui::keymap;
use custodian::tui::theme::Theme;
use custodian::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::{act, demo_store, started};

/// Adds a key to everyone and removes `billing`, which 31 of the 200 demo users have: the
/// others are reported (the path is missing) and left as they are.
const PATCH: &str = r#"[{"op":"add","path":"/reviewed","value":true},{"op":"remove","path":"/billing"}]"#;

fn command(store: &RedbStore, state: &mut State, line: &str) {
    act(store, state, Action::StartCommand);
    for c in line.chars() {
        act(store, state, Action::CommandChar(c));
    }
    act(store, state, Action::RunCommand);
}

/// Types `line` on the command line and runs it, its effects left undone (the dry run it asks
/// for has not answered): they are given back.
fn command_asked(state: &mut State, line: &str) -> Vec<Effect> {
    update(state, Action::StartCommand);
    for c in line.chars() {
        update(state, Action::CommandChar(c));
    }
    update(state, Action::RunCommand)
}

fn patch_file(store: &RedbStore, text: &str) -> String {
    let path = store.path().parent().expect("a directory").join("patch.json");
    std::fs::write(&path, text).expect("write the patch");
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Writes `text` to a patch file and runs `:patch` on it.
fn open_patch(store: &RedbStore, state: &mut State, text: &str) {
    let file = patch_file(store, text);
    command(store, state, &format!("patch {file}"));
}

fn status_text(state: &State) -> String {
    state.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

fn key(state: &State, code: KeyCode) -> Action {
    keymap::action_for(state.mode(), KeyEvent::new(code, KeyModifiers::NONE)).expect("a bound key")
}

fn press(store: &RedbStore, state: &mut State, code: KeyCode) {
    support::press(store, state, code, KeyModifiers::NONE);
}

fn screen(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a terminal");
    terminal.draw(|frame| view::render(frame, state, &Theme::plain())).expect("drawn");
    terminal.backend().to_string()
}

/// `text`'s records imported by someone else (`mode`: new users, or changes to existing ones).
fn import(store: &RedbStore, text: &str, mode: custodian::store::ImportMode) {
    use custodian::domain::Limits;
    use custodian::domain::import::ImportReader;
    let mut reader = ImportReader::new(text.as_bytes(), Limits::default(), 0).expect("records");
    store.import(&mut reader, mode, &custodian::store::Author("other".into())).expect("import");
}

/// Every user's revision, to show nothing was written.
fn revisions(store: &RedbStore) -> Vec<u64> {
    store.page_after(None, 1000).expect("users").iter().map(|e| e.revision).collect()
}

#[test]
fn the_dry_run_opens_in_an_overlay_and_j_k_walk_the_changed_users_writing_nothing() {
    let (_dir, store) = demo_store();
    let before = revisions(&store);
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    assert_eq!(state.mode(), Mode::Patch);
    let view = state.patch.as_ref().expect("the overlay");
    let report = view.report.as_ref().expect("the dry run ran");
    assert_eq!((report.matched, report.changed, report.failed), (200, 31, 169));
    assert_eq!(report.groups[0].reason, r#"operation 1 (remove "/billing"): path is invalid"#);
    let first = report.samples[0].id.clone();
    let second = report.samples[1].id.clone();
    assert!(screen(&state, 120, 40).contains(&first));
    press(&store, &mut state, KeyCode::Char('j'));
    assert!(screen(&state, 120, 40).contains(&second));
    press(&store, &mut state, KeyCode::Char('k'));
    assert!(screen(&state, 120, 40).contains(&first));
    press(&store, &mut state, KeyCode::Esc);
    assert!(state.patch.is_none());
    assert_eq!(revisions(&store), before);
}

#[test]
fn the_diff_shown_is_the_selected_users_made_again_when_the_selection_or_the_report_changes() {
    // The diff is made once for what is shown (two 1 MiB documents take 10-25 ms a frame).
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    for action in
        std::iter::once(Action::StartCommand).chain(format!("patch {file}").chars().map(Action::CommandChar))
    {
        act(&store, &mut state, action);
    }
    // A frame drawn while the dry run runs has no diff; the one after its answer has the first
    // changed user's.
    let effects = update(&mut state, Action::RunCommand);
    assert!(state.patch.as_ref().expect("the overlay").selected_diff().is_empty());
    custodian::tui::run_effects(&support::runtime(&store), &mut state, effects);
    let shown = |state: &State| {
        let view = state.patch.as_ref().expect("the overlay");
        let sample = &view.report.as_ref().expect("the dry run ran").samples[view.selected];
        assert_eq!(*view.selected_diff(), line_diff(&sample.old, &sample.new), "user {}", view.selected);
        view.selected_diff().iter().map(|line| line.text.clone()).collect::<Vec<_>>()
    };
    let first = shown(&state);
    press(&store, &mut state, KeyCode::Char('j'));
    let second = shown(&state);
    assert_ne!(first, second, "two users' documents");
    press(&store, &mut state, KeyCode::Char('k'));
    assert_eq!(shown(&state), first);
}

#[test]
fn enter_asks_with_the_count_and_yes_applies_one_batch_named_on_the_status_line() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    let changed = state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.samples[0].id.clone());
    press(&store, &mut state, KeyCode::Enter);
    assert!(matches!(&state.dialog, Some(Dialog::ConfirmPatch { users: 31, .. })), "{:?}", state.dialog);
    assert!(screen(&state, 120, 40).contains("31 users"));
    // No is back to the dry run, nothing written.
    press(&store, &mut state, KeyCode::Char('n'));
    assert_eq!(state.mode(), Mode::Patch);
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    assert!(state.patch.is_none(), "the overlay closes once applied");
    let status = status_text(&state);
    assert!(status.starts_with("batch b") && status.contains("saved 31 users"), "{status}");
    let id = changed.expect("a changed user");
    let history = store.history(&id).expect("history");
    let batch = history.last().and_then(|r| r.batch.clone()).expect("the revision is tagged");
    assert!(status.contains(&batch.0), "{status}");
    assert!(store.custom_data(&id).expect("document").text.contains("\"reviewed\": true"));
}

/// Ctrl-C or Ctrl-Q while a confirmed batch is written: the screen stays until it answers
/// and says how to stop it (the way out stopped it, writing nothing and saying so only after
/// the screen had gone: bb30 T01); `q` says to wait too, and the answer lands as ever. Then
/// the screen ends, as the key asked, and the batch is said after it (the key was dropped:
/// the screen stayed after the batch, bb83 F6).
#[test]
fn a_quit_key_while_a_confirmed_batch_is_written_waits_for_it_and_says_so() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    press(&store, &mut state, KeyCode::Enter);
    let yes = key(&state, KeyCode::Char('y'));
    let asked = update(&mut state, yes);
    assert!(asked.iter().any(|e| matches!(e, Effect::ApplyPatch { .. })), "the batch is on its way");
    for quit in [KeyCode::Char('c'), KeyCode::Char('q')] {
        let action =
            keymap::action_for(state.mode(), KeyEvent::new(quit, KeyModifiers::CONTROL)).expect("bound");
        assert!(update(&mut state, action).is_empty());
        assert!(!state.quit, "{quit:?}");
        let said = status_text(&state);
        assert!(
            said.starts_with(
                "applying the patch to 31 users… quitting once it is written (a signal stops it"
            ),
            "{said}"
        );
        assert!(said.contains("a signal"), "{said}");
    }
    // A batch on its way is pending as what it is (the runtime's `Work::Batch`), not as a
    // save: the status line said `saving…` (bb38 F6).
    update(&mut state, Action::StoreBusy(Some(custodian::tui::app::Pending::Applying)));
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("·  applying the patch…") && !shown.contains("saving…"), "{shown}");
    let close = key(&state, KeyCode::Char('q'));
    update(&mut state, close);
    assert!(!state.quit);
    assert!(state.patch.as_ref().is_some_and(|v| v.applying), "the overlay stays until the answer");
    // Once it answers, the screen ends, the batch said after it.
    custodian::tui::run_effects(&support::runtime(&store), &mut state, asked);
    assert!(state.patch.is_none(), "applied");
    assert!(state.quit, "the quit asked for while it was written");
    assert!(
        state.said_at_exit.iter().any(|line| line.starts_with("batch b") && line.contains("saved 31 users")),
        "{:?}",
        state.said_at_exit
    );
}

#[test]
fn read_only_shows_the_dry_run_and_refuses_to_apply() {
    let (dir, store) = demo_store();
    let file = patch_file(&store, PATCH);
    let path = store.path().to_owned();
    drop(store);
    let options = custodian::store::OpenOptions { read_only: true, ..Default::default() };
    let store = RedbStore::open(&path, options).expect("read-only");
    let mut state = started(&store, 120, 40);
    command(&store, &mut state, &format!("patch {file}"));
    assert!(state.patch.as_ref().is_some_and(|v| v.report.is_some()));
    press(&store, &mut state, KeyCode::Enter);
    assert!(state.dialog.is_none());
    let status = status_text(&state);
    assert!(status.contains("read-only"), "{status}");
    drop(dir);
}

#[test]
fn a_patch_that_is_not_an_array_is_said_on_the_status_line_and_opens_nothing() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, r#"{"op":"add","path":"/a","value":1}"#);
    assert!(state.patch.is_none());
    let status = status_text(&state);
    assert!(status.contains("must be a JSON array"), "{status}");
}

#[test]
fn a_fifo_or_a_directory_is_refused_at_once_and_never_waited_on() {
    let (dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    // A FIFO planted where the operator's patch was expected: opening it to read would wait
    // for a writer, and with it the screen's way out.
    let fifo = dir.path().join("planted.json");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    for path in [fifo.display().to_string(), dir.path().display().to_string()] {
        let started = std::time::Instant::now();
        command(&store, &mut state, &format!("patch {path}"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "it waited on {path}");
        assert!(state.patch.is_none());
        let status = status_text(&state);
        assert!(status.contains("not a regular file"), "{path}: {status}");
    }
}

#[test]
fn the_patch_overlay_at_80x24() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    open_patch(&store, &mut state, PATCH);
    insta::assert_snapshot!("patch_overlay_80x24", screen(&state, 80, 24));
}

#[test]
fn enter_applies_the_patch_the_dry_run_showed_even_if_the_file_changed_since() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    patch_file(&store, r#"[{"op":"add","path":"/other","value":1}]"#);
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(status.contains("saved 31 users"), "{status}");
    let everyone = store.page_after(None, 1000).expect("users");
    assert!(everyone.iter().all(|e| !store.custom_data(&e.user.id).expect("doc").text.contains("\"other\"")));
}

#[test]
fn the_apply_writes_no_user_the_dry_run_did_not_show_changing_nor_a_document_written_since() {
    // The batch was the selection walked again: users imported, renamed into the filter or
    // given `billing` after the dry run were written too ("Write … to 31 users", then "saved
    // 33 users").
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    command(&store, &mut state, &format!("patch {file}"));
    assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(31));
    // Someone imports a user the patch changes while the operator reads the dry run.
    let record = r#"{"id":"latecomer1","username":"latecomer","customData":{"billing":{"plan":"pro"}}}"#;
    support::import_records(&store, record);
    let before = revisions(&store);
    press(&store, &mut state, KeyCode::Enter);
    assert!(matches!(&state.dialog, Some(Dialog::ConfirmPatch { users: 31, .. })), "{:?}", state.dialog);
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(
        status.contains("user latecomer1: changed, or came into the selection, after the dry run"),
        "{status}"
    );
    assert!(status.contains("nothing was written"), "{status}");
    assert_eq!(revisions(&store), before, "nothing written");
    // The dry run again shows them, and then the apply writes what it shows.
    press(&store, &mut state, KeyCode::Esc);
    command(&store, &mut state, &format!("patch {file}"));
    assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(32));
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(status.contains("saved 32 users"), "{status}");
}

/// A user the dry run showed changing whose document someone changed so that the patch fails
/// on it, or changes nothing: the apply writes nothing and names them (they were left out of
/// the confirmed batch without a word: "saved 3 users, 1 user left as they are": bb26 T02).
#[test]
fn the_apply_leaves_out_no_user_the_dry_run_showed_changing() {
    let (_dir, store) = demo_store();
    let billed = store
        .page_after(None, 1000)
        .expect("users")
        .into_iter()
        .map(|entry| entry.user.id)
        .find(|id| store.custom_data(id).expect("document").text.contains("\"billing\""))
        .expect("a demo user with billing");
    for (now, says) in [
        (r#"{"x":1}"#, "the patch no longer applies ("),
        (r#"{"reviewed":true}"#, "the patch no longer changes it"),
    ] {
        let mut state = started(&store, 120, 40);
        let patch = if says.contains("applies") {
            PATCH
        } else {
            r#"[{"op":"add","path":"/reviewed","value":true}]"#
        };
        command(&store, &mut state, &format!("patch {}", patch_file(&store, patch)));
        // Someone writes the user while the operator reads the dry run.
        let data = custodian::domain::CustomData::parse(now).expect("a document");
        store
            .replace_custom_data(&billed, &data, None, &custodian::store::Author("other".into()))
            .expect("saved");
        let before = revisions(&store);
        press(&store, &mut state, KeyCode::Enter);
        press(&store, &mut state, KeyCode::Char('y'));
        let status = status_text(&state);
        assert!(
            status.contains(&format!("user {billed}: changed after the dry run that was confirmed")),
            "{status}"
        );
        assert!(status.contains(says) && status.contains("nothing was written"), "{status}");
        assert_eq!(revisions(&store), before, "nothing written");
    }
}

#[test]
fn esc_while_the_dry_run_is_under_way_stops_it_and_a_finished_one_has_nothing_to_stop() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    let effects = command_asked(&mut state, &format!("patch {file}"));
    let Some(Effect::PatchDryRun { stop, .. }) = effects.first() else { panic!("a dry run: {effects:?}") };
    assert!(!stop.stopped());
    // The dry run has not answered: Esc stops that very run (the effect carries its flag).
    let esc = key(&state, KeyCode::Esc);
    let closing = update(&mut state, esc.clone());
    assert_eq!(closing, vec![Effect::StopDryRun(stop.clone())]);
    assert!(state.patch.is_none());
    // Once it has answered, closing the overlay stops nothing.
    command(&store, &mut state, &format!("patch {file}"));
    assert!(state.patch.as_ref().is_some_and(|v| v.report.is_some()));
    assert_eq!(update(&mut state, esc), vec![]);
}

/// `Enter` before the dry run has answered says it is still under way, and that goes once it
/// has answered (it stayed through `j`, `↓` and the report: bb26 T03).
#[test]
fn still_under_way_goes_once_the_dry_run_has_answered() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    let dry_run = command_asked(&mut state, &format!("patch {file}"));
    let enter = key(&state, KeyCode::Enter);
    assert_eq!(update(&mut state, enter), vec![]);
    assert_eq!(status_text(&state), "the dry run is still under way");
    custodian::tui::run_effects(&support::runtime(&store), &mut state, dry_run);
    assert!(state.patch.as_ref().is_some_and(|v| v.report.is_some()), "answered");
    assert!(state.status.is_none(), "{:?}", state.status);
}

#[test]
fn an_apply_whose_commit_got_no_answer_is_said_written_or_in_doubt_never_not_applied() {
    // The screen said "the patch was not applied" when the COMMIT's answer was lost, and the
    // batch had been written: applied again, an array append would be written twice.
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    command(&store, &mut state, &format!("patch {file}"));
    let batch = custodian::store::BatchId("b20261203T000000Z-abcdef".into());
    update(&mut state, Action::PatchApplied { result: PatchAnswer::CommittedUnanswered(batch) });
    assert!(state.patch.is_none(), "the overlay closes: the batch is written");
    let status = state.status.clone().expect("a status");
    assert_eq!(status.kind, custodian::tui::app::StatusKind::Success);
    assert!(status.text.contains("custodian undo b20261203T000000Z-abcdef takes it back"), "{}", status.text);

    command(&store, &mut state, &format!("patch {file}"));
    update(&mut state, Action::PatchApplied { result: PatchAnswer::InDoubt("cannot tell".into()) });
    assert!(state.patch.is_none(), "not offered to apply again");
    let status = state.status.clone().expect("a status").text;
    assert!(status.starts_with("the patch may have been applied: cannot tell"), "{status}");

    // Lost before the COMMIT: not applied, and the screen knows the connection is gone (it
    // said so only at the next store call).
    command(&store, &mut state, &format!("patch {file}"));
    update(
        &mut state,
        Action::PatchApplied { result: PatchAnswer::ConnectionLost("connection lost".into()) },
    );
    assert!(state.connection_lost.is_some());
    assert!(state.patch.as_ref().is_some_and(|v| !v.applying), "the dry run stays, to apply after F5");
}

#[test]
fn a_filtered_patch_applies_and_a_user_renamed_into_the_filter_after_its_dry_run_is_the_one_named() {
    // The dry run of a filter read each document indented and the batch read it compact: the
    // two never matched, so every filtered apply was refused, naming the first user.
    use custodian::store::ImportMode;
    let (_dir, store) = demo_store();
    import(
        &store,
        "{\"id\":\"p1\",\"username\":\"pu1\",\"customData\":{\"plan\":\"free\",\"seats\":[1, 2]}}\n\
         {\"id\":\"z9\",\"username\":\"other9\",\"customData\":{\"plan\":\"free\"}}\n",
        ImportMode::InsertOnly,
    );
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "pu1");
    for (plan, renamed) in [("team", false), ("pro", true)] {
        open_patch(&store, &mut state, &format!(r#"[{{"op":"replace","path":"/plan","value":"{plan}"}}]"#));
        assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(1));
        if renamed {
            // z9 is renamed into the filter while the operator reads the dry run.
            import(&store, r#"{"id":"z9","username":"pu1x"}"#, ImportMode::Upsert);
        }
        press(&store, &mut state, KeyCode::Enter);
        press(&store, &mut state, KeyCode::Char('y'));
        if renamed {
            assert!(
                status_text(&state).contains("user z9: changed, or came into the selection"),
                "{}",
                status_text(&state)
            );
        } else {
            assert!(status_text(&state).contains("saved 1 user"), "{}", status_text(&state));
            assert!(store.custom_data("p1").expect("p1").text.contains("team"));
        }
    }
}

/// bb60 F1: a user the dry run showed changing, renamed out of the filter before `y`: the
/// apply wrote one user fewer than the count confirmed, without a word. Nothing is written
/// now, and the status says how many left the selection.
#[test]
fn a_user_renamed_out_of_the_filter_after_the_dry_run_stops_the_apply_and_nothing_is_written() {
    use custodian::store::ImportMode;
    let (_dir, store) = demo_store();
    import(
        &store,
        "{\"id\":\"q1\",\"username\":\"qux-one\",\"customData\":{\"plan\":\"free\"}}\n\
         {\"id\":\"q2\",\"username\":\"qux-two\",\"customData\":{\"plan\":\"free\"}}\n\
         {\"id\":\"q3\",\"username\":\"qux-three\",\"customData\":{\"plan\":\"free\"}}\n",
        ImportMode::InsertOnly,
    );
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "qux-");
    open_patch(&store, &mut state, r#"[{"op":"replace","path":"/plan","value":"team"}]"#);
    assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(3));
    // q2 and q3 are renamed out of the filter while the operator reads the dry run.
    import(
        &store,
        "{\"id\":\"q2\",\"username\":\"gone-two\"}\n{\"id\":\"q3\",\"username\":\"gone-3\"}",
        ImportMode::Upsert,
    );
    let before = revisions(&store);
    press(&store, &mut state, KeyCode::Enter);
    assert!(matches!(&state.dialog, Some(Dialog::ConfirmPatch { users: 3, .. })), "{:?}", state.dialog);
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(
        status.contains("2 users the dry run that was confirmed showed changing are no longer in it (renamed or deleted since)"),
        "{status}"
    );
    assert!(status.contains("nothing was written"), "{status}");
    assert_eq!(revisions(&store), before, "nothing written");
    assert!(
        store.custom_data("q1").expect("q1").text.contains("free"),
        "not even the user still in the filter"
    );
    // The dry run again shows the one user left, and the apply writes it.
    press(&store, &mut state, KeyCode::Esc);
    open_patch(&store, &mut state, r#"[{"op":"replace","path":"/plan","value":"team"}]"#);
    assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(1));
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    assert!(status_text(&state).contains("saved 1 user"), "{}", status_text(&state));
    assert!(store.custom_data("q1").expect("q1").text.contains("team"));
}

#[test]
fn a_schema_set_after_the_dry_run_stops_the_apply_and_nothing_is_written() {
    // The batch held the documents to the schema the dry run read: users the new schema
    // refuses were written.
    use custodian::store::Author;
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    assert_eq!(state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.changed), Some(31));
    store
        .set_schema(Some(r#"{"type": "object", "required": ["plan"]}"#), &Author("other".into()))
        .expect("a schema");
    let before = revisions(&store);
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(status.contains("the schema changed since the dry run"), "{status}");
    assert_eq!(revisions(&store), before, "nothing written");
}

/// The dry run's diff scrolls to its last row at the bottom of the pane and no further (it
/// scrolled by the whole document's lines, into an empty pane, and `↑` then took as many
/// presses to come back), and a page back moves at once.
#[test]
fn the_diff_scrolls_to_its_last_row_and_no_further() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    let fields: Vec<String> = (0..40).map(|i| format!(r#""field{i:02}":{i}"#)).collect();
    let patch = format!(r#"[{{"op":"add","path":"/bulk","value":{{{}}}}}]"#, fields.join(","));
    open_patch(&store, &mut state, &patch);
    let first_screen = screen(&state, 80, 24);
    assert!(first_screen.contains("\"field00\"") && !first_screen.contains("\"field39\""), "{first_screen}");
    for _ in 0..20 {
        press(&store, &mut state, KeyCode::PageDown);
    }
    let bottom = screen(&state, 80, 24);
    assert!(bottom.contains("\"field39\""), "the last added line is on screen:\n{bottom}");
    // The diff ends two rows after it (the object's `}` and the document's); the pane's last row
    // holds the document's end, nothing blank below the diff.
    let rows: Vec<&str> = bottom.lines().collect();
    let at = rows.iter().position(|row| row.contains("\"field39\"")).expect("the row");
    assert!(rows[at + 1].contains("   }") && rows[at + 2].contains("│ │  }"), "{bottom}");
    assert!(rows[at + 3].contains("└─"), "the pane's bottom border right after:\n{bottom}");
    let scrolled = state.patch.as_ref().expect("the overlay").scroll;
    press(&store, &mut state, KeyCode::Down);
    assert_eq!(state.patch.as_ref().expect("the overlay").scroll, scrolled, "no further");
    press(&store, &mut state, KeyCode::Up);
    assert_eq!(state.patch.as_ref().expect("the overlay").scroll, scrolled - 1, "back at once");
    // A taller screen holds more of it: scrolled to its end, it starts higher, with no blank
    // rows below its end (bb16 L15).
    press(&store, &mut state, KeyCode::PageDown);
    act(&store, &mut state, Action::Resize { width: 80, height: 40 });
    let taller = screen(&state, 80, 40);
    let rows: Vec<&str> = taller.lines().collect();
    let at = rows.iter().position(|row| row.contains("\"field39\"")).expect("the row");
    assert!(rows[at + 3].contains("└─"), "the diff's end at the pane's bottom:\n{taller}");
    assert!(state.patch.as_ref().expect("the overlay").scroll < scrolled, "{taller}");
}

/// A long value changed at its end: both rows of the diff show the change, not two rows that
/// look alike up to the edge.
#[test]
fn a_long_value_changed_past_the_edge_shows_the_change() {
    let (_dir, store) = demo_store();
    let id = store.page_after(None, 1).expect("users")[0].user.id.clone();
    let long = "x".repeat(150);
    let before = custodian::domain::CustomData::parse(&format!(r#"{{"note":"{long}-old"}}"#)).expect("json");
    store.replace_custom_data(&id, &before, None, &custodian::store::Author("other".into())).expect("saved");
    let mut state = started(&store, 80, 24);
    open_patch(&store, &mut state, &format!(r#"[{{"op":"replace","path":"/note","value":"{long}-new"}}]"#));
    let shown = screen(&state, 80, 24);
    assert!(shown.contains("xxx-old\"") && shown.contains("xxx-new\""), "{shown}");
}

/// A diff of more rows than a `u16` counts (70,000 keys added to one user): scrolled to its
/// last row (ratatui's paragraph scroll stops at 65,535).
/// bb16 L03: with a key removed before them, the changed lines paired with their
/// neighbours' (by place in the run) and every row was cut before its change.
#[test]
fn long_values_changed_past_the_edge_after_a_removed_key_show_their_changes() {
    let (_dir, store) = demo_store();
    let id = store.page_after(None, 1).expect("users")[0].user.id.clone();
    let long = "x".repeat(150);
    let before = format!(r#"{{"k05":"{long}","k06":"{long}","k07":"{long}","k08":"{long}"}}"#);
    let before = custodian::domain::CustomData::parse(&before).expect("json");
    store.replace_custom_data(&id, &before, None, &custodian::store::Author("other".into())).expect("saved");
    let mut state = started(&store, 120, 40);
    let patch = format!(
        r#"[{{"op":"remove","path":"/k05"}},{{"op":"replace","path":"/k06","value":"{long}Q"}},{{"op":"replace","path":"/k07","value":"{long}Q"}}]"#
    );
    open_patch(&store, &mut state, &patch);
    let shown = screen(&state, 120, 40);
    let changed_rows = shown.lines().filter(|row| row.contains("xxQ\"")).count();
    assert_eq!(changed_rows, 2, "k06 and k07 each shown at their change:\n{shown}");
}

#[test]
fn a_diff_longer_than_65535_rows_scrolls_to_its_last_row() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 80, 24);
    support::filtered_to(&store, &mut state, "admin@example.com");
    let fields: Vec<String> = (0..70_000).map(|i| format!(r#""f{i:05}":{i}"#)).collect();
    let file =
        patch_file(&store, &format!(r#"[{{"op":"add","path":"/many","value":{{{}}}}}]"#, fields.join(",")));
    command(&store, &mut state, &format!("patch {file}"));
    assert_eq!(state.patch.as_ref().expect("open").report.as_ref().expect("ran").changed, 1);
    for _ in 0..3 {
        act(&store, &mut state, Action::PatchScroll(i16::MAX));
    }
    assert!(state.patch.as_ref().expect("open").scroll > 65_535);
    let bottom = screen(&state, 80, 24);
    assert!(bottom.contains("\"f69999\": 69999"), "{bottom}");
}

/// 300 users more than a filter's list holds, all filtered by "example" (every synthetic email
/// has it): the list holds the first 2,000, capped.
fn a_capped_filter() -> (tempfile::TempDir, RedbStore, State) {
    use custodian::domain::synthetic::SyntheticUsers;
    use custodian::store::{Author, OpenOptions};
    use custodian::tui::app::MAX_MATCHES;
    let dir = tempfile::tempdir().expect("a directory");
    let store = RedbStore::create(&dir.path().join("users.redb"), OpenOptions::default()).expect("create");
    let users: Vec<_> = SyntheticUsers::new(11, 0).take(MAX_MATCHES + 300).collect();
    store.insert_batch(&users, &Author("tester".into())).expect("insert");
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "example");
    assert!(state.list.search.capped);
    (dir, store, state)
}

/// The overlay says whom the patch goes over, and `Enter`'s question says it again with the
/// count of every match.
fn overlay_and_question_say_they_go_over(store: &RedbStore, state: &mut State, over: &str) {
    assert!(screen(state, 160, 40).contains(over), "{}", screen(state, 160, 40));
    press(store, state, KeyCode::Enter);
    assert!(
        matches!(&state.dialog, Some(Dialog::ConfirmPatch { users: 2300, over: said, .. }) if said == over),
        "{:?}",
        state.dialog
    );
}

/// bb18 L09: under a filter the list holds only the first 2,000 matches of (`first 2,000`),
/// `:patch` went over every match (3,864) while the overlay and the question said "users
/// matching" as if the list's. Both now say it is every match, more than the list shows.
#[test]
fn a_patch_under_a_capped_filter_says_it_goes_over_every_match_not_only_the_list() {
    let (_dir, store, mut state) = a_capped_filter();
    open_patch(&store, &mut state, r#"[{"op":"add","path":"/sig","value":1}]"#);
    let over = "every user matching \"example\", more than the 2,000 the list shows";
    overlay_and_question_say_they_go_over(&store, &mut state, over);
}

/// The words for whom the patch goes over follow the list and the dry run: a `:patch` typed
/// before the filter's scan reached the cap asked "users matching …" while the list already
/// said `first 2,000`, and 900 more were written (bb26 T11).
#[test]
fn a_patch_typed_before_the_filter_capped_says_it_goes_over_every_match_once_it_has() {
    let (_dir, store, mut state) = a_capped_filter();
    // As if the scan had not reached the cap yet when `:patch` was typed.
    state.list.search.capped = false;
    state.list.rows.truncate(500);
    let file = patch_file(&store, r#"[{"op":"add","path":"/sig","value":1}]"#);
    let dry_run = command_asked(&mut state, &format!("patch {file}"));
    assert_eq!(state.patch_over(), "users matching \"example\"");
    // The scan caps the list meanwhile; the dry run answers.
    state.list.search.capped = true;
    custodian::tui::run_effects(&support::runtime(&store), &mut state, dry_run);
    let over = "every user matching \"example\", more than the 500 the list shows";
    overlay_and_question_say_they_go_over(&store, &mut state, over);
}

/// A dry run no user would pass lists every failure group (at most 21): it listed 4 and
/// "… 17 more reasons" above 30 empty rows, the rest out of reach (bb28 R08).
#[test]
fn a_dry_run_that_changes_no_one_lists_every_reason() {
    let (_dir, store) = demo_store();
    let records: Vec<String> = (0..12)
        .map(|n| format!(r#"{{"id":"k{n:02}","username":"zqk{n:02}","customData":{{"K{n:02}":{n}}}}}"#))
        .collect();
    support::import_records(&store, &records.join("\n"));
    let rules: Vec<String> = (0..12).map(|n| format!(r#""K{n:02}":{{"type":"string"}}"#)).collect();
    let schema = format!(r#"{{"type":"object","properties":{{{}}}}}"#, rules.join(","));
    let mut state = started(&store, 120, 40);
    // The session's schema, as `--schema FILE` gives it.
    state.shape =
        Some(std::sync::Arc::new(custodian::domain::shape::Shape::compile(&schema).expect("a schema")));
    support::filtered_to(&store, &mut state, "zqk");
    open_patch(&store, &mut state, r#"[{"op":"add","path":"/touched","value":true}]"#);
    let report = state.patch.as_ref().and_then(|view| view.report.as_ref()).expect("the dry run ran");
    assert_eq!((report.changed, report.failed, report.groups.len()), (0, 12, 12));
    let shown = screen(&state, 120, 40);
    for n in 0..12 {
        assert!(shown.contains(&format!("K{n:02}: {n} is not of type")), "K{n:02}:\n{shown}");
    }
    assert!(!shown.contains("more reasons"), "{shown}");
}

#[test]
fn a_patch_under_way_counts_the_users_it_has_gone_over() {
    // ~20 s of a still "running the dry run…" over a million users (bb38 F4).
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    let file = patch_file(&store, PATCH);
    let asked = command_asked(&mut state, &format!("patch {file}"));
    let Some(Effect::PatchDryRun { stop, .. }) =
        asked.iter().find(|e| matches!(e, Effect::PatchDryRun { .. }))
    else {
        panic!("{asked:?}")
    };
    update(&mut state, Action::PatchProgress { stop: stop.clone(), seen: 123_456 });
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("running the dry run: 123,456 users so far, nothing is written…"), "{shown}");
    // A word from another (a dry run closed and stopped) is not this one's.
    update(&mut state, Action::PatchProgress { stop: StopFlag::default(), seen: 7 });
    assert_eq!(state.patch.as_ref().and_then(|v| v.seen), Some(123_456));
    // Its answer, then the batch: counted out of the users it matched.
    custodian::tui::run_effects(&support::runtime(&store), &mut state, asked);
    press(&store, &mut state, KeyCode::Enter);
    let yes = key(&state, KeyCode::Char('y'));
    let applying = update(&mut state, yes);
    let Some(Effect::ApplyPatch { stop, .. }) =
        applying.iter().find(|e| matches!(e, Effect::ApplyPatch { .. }))
    else {
        panic!("{applying:?}")
    };
    assert_eq!(state.patch.as_ref().and_then(|v| v.seen), None, "the dry run's count is not the batch's");
    update(&mut state, Action::PatchProgress { stop: stop.clone(), seen: 12 });
    let shown = screen(&state, 120, 40);
    let matched = state.patch.as_ref().and_then(|v| v.report.as_ref()).map(|r| r.matched).unwrap();
    assert!(shown.contains(&format!(" · applying… 12/{matched}")), "{shown}");
}

/// Two users who already hold something the secrets lint flags, imported beside the demo's
/// 200: any patch that changes them leaves them holding it.
fn two_users_holding_secrets(store: &RedbStore) {
    support::import_records(
        store,
        concat!(
            r#"{"id":"keyholder1","username":"keyholder1","customData":{"stripe":"sk_live_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js2"}}"#,
            "\n",
            r#"{"id":"keyholder2","username":"keyholder2","customData":{"nested":{"stripe":"sk_live_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js3"}}}"#,
        ),
    );
}

/// The question before the batch is open: `users` to write, and what it says of those the
/// patch would leave holding something that looks like a secret.
fn asked_to_write(state: &State, users: u64, secrets: SecretsInPatch) {
    let asked = matches!(
        &state.dialog,
        Some(Dialog::ConfirmPatch { users: asked, secrets: said, .. }) if *asked == users && *said == secrets
    );
    assert!(asked, "{:?}", state.dialog);
}

const REVIEWED: &str = r#"[{"op":"add","path":"/reviewed","value":true}]"#;

fn reviewed(store: &RedbStore, id: &str) -> bool {
    store.custom_data(id).expect("document").text.contains("\"reviewed\": true")
}

/// The screen's `:patch` over users already holding something that looks like a secret: they
/// were failures naming the CLI's `--allow-sensitive`, and could not be written from the
/// screen at all (bb38 F7). Now they are counted and named, left as they are by default, and
/// `s` writes them too; the question says which, and the batch does what it said.
#[test]
fn s_in_the_dry_run_writes_the_users_left_holding_secrets_too_and_the_question_names_them() {
    let (_dir, store) = demo_store();
    two_users_holding_secrets(&store);
    let mut state = started(&store, 160, 40);
    open_patch(&store, &mut state, REVIEWED);
    let report = state.patch.as_ref().and_then(|v| v.report.clone()).expect("the dry run answered");
    assert_eq!((report.changed, report.failed, report.flagged_users), (202, 0, 2));
    let shown = screen(&state, 160, 40);
    assert!(
        shown.contains("of these, 2 users hold a likely secret: left as they are (s writes them) — keyholder1 at stripe; keyholder2 at nested.stripe"),
        "{shown}"
    );
    // Left as they are by default: the question counts the others and names the two.
    press(&store, &mut state, KeyCode::Enter);
    asked_to_write(&state, 200, SecretsInPatch::Left(2));
    let asked = screen(&state, 160, 40);
    assert!(asked.contains("200 users"), "{asked}");
    assert!(asked.contains("Left as they are: 2 users the patch would leave holding"), "{asked}");
    press(&store, &mut state, KeyCode::Char('n'));
    // `s`: written too; the overlay and the question say so.
    press(&store, &mut state, KeyCode::Char('s'));
    assert_eq!(status_text(&state), "the 2 users holding a likely secret are written too; s leaves them");
    assert!(
        screen(&state, 160, 40)
            .contains("of these, 2 users hold a likely secret: written too (s leaves them) — keyholder1")
    );
    press(&store, &mut state, KeyCode::Enter);
    asked_to_write(&state, 202, SecretsInPatch::Written(2));
    assert!(
        screen(&state, 160, 40).contains("Of these, 2 users would hold something that looks like a secret")
    );
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(status.contains("saved 202 users"), "{status}");
    assert!(reviewed(&store, "keyholder1") && reviewed(&store, "keyholder2"));
}

#[test]
fn the_users_left_holding_secrets_are_left_as_they_are_and_counted_so() {
    let (_dir, store) = demo_store();
    two_users_holding_secrets(&store);
    let mut state = started(&store, 160, 40);
    open_patch(&store, &mut state, REVIEWED);
    // `s` twice is the default again.
    press(&store, &mut state, KeyCode::Char('s'));
    press(&store, &mut state, KeyCode::Char('s'));
    press(&store, &mut state, KeyCode::Enter);
    asked_to_write(&state, 200, SecretsInPatch::Left(2));
    press(&store, &mut state, KeyCode::Char('y'));
    let status = status_text(&state);
    assert!(status.contains("saved 200 users, 2 users left as they are"), "{status}");
    assert!(!reviewed(&store, "keyholder1") && !reviewed(&store, "keyholder2"));
    assert_eq!(store.history("keyholder1").expect("history").len(), 1, "no revision made");
    let someone = store.page_after(None, 1).expect("users")[0].user.id.clone();
    assert!(reviewed(&store, &someone));
}

/// Every user the patch changes would hold a secret: with them left, there is nothing to
/// apply, and the status line says how to write them.
#[test]
fn a_patch_that_changes_only_users_left_holding_secrets_has_nothing_to_apply_until_s() {
    let (_dir, store) = demo_store();
    two_users_holding_secrets(&store);
    let mut state = started(&store, 160, 40);
    let only_theirs = r#"[{"op":"test","path":"/stripe","value":"sk_live_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js2"},{"op":"add","path":"/reviewed","value":true}]"#;
    open_patch(&store, &mut state, only_theirs);
    press(&store, &mut state, KeyCode::Enter);
    assert!(state.dialog.is_none());
    let said = status_text(&state);
    assert!(said.starts_with("nothing to apply: every user the patch changes would hold something that looks like a secret (1 user)"), "{said}");
    assert!(said.ends_with("s writes them too"), "{said}");
    // The heading of its diff says where, and what becomes of it.
    let shown = screen(&state, 160, 40);
    assert!(
        shown.contains(
            "keyholder1 (keyholder1), revision 1 → 2 · looks like a secret at stripe: left as it is"
        ),
        "{shown}"
    );
    press(&store, &mut state, KeyCode::Char('s'));
    press(&store, &mut state, KeyCode::Enter);
    asked_to_write(&state, 1, SecretsInPatch::Written(1));
}

/// A patch whose users hold no secret has nothing for `s` to choose: said, and the overlay
/// shows no such line.
#[test]
fn s_says_so_when_no_user_would_hold_a_secret() {
    let (_dir, store) = demo_store();
    let mut state = started(&store, 120, 40);
    open_patch(&store, &mut state, PATCH);
    let rows = state.patch.as_ref().map(|v| v.summary_rows());
    press(&store, &mut state, KeyCode::Char('s'));
    let said = status_text(&state);
    assert!(said.starts_with("no user would hold something that looks like a secret"), "{said}");
    assert_eq!(
        state.patch.as_ref().map(|v| (v.write_flagged, v.summary_rows())),
        Some((false, rows.expect("rows")))
    );
    assert!(!screen(&state, 120, 40).contains("likely secret"));
}

#[test]
fn the_patch_overlay_with_users_holding_secrets_at_80x24() {
    let (_dir, store) = demo_store();
    two_users_holding_secrets(&store);
    let mut state = started(&store, 80, 24);
    open_patch(&store, &mut state, REVIEWED);
    insta::assert_snapshot!("patch_overlay_with_secrets_80x24", screen(&state, 80, 24));
}

/// One user holding a likely secret is said in the singular ("1 user hold": bb72 F1).
#[test]
fn one_user_holding_a_secret_is_said_in_the_singular() {
    let (_dir, store) = demo_store();
    support::import_records(
        &store,
        r#"{"id":"keyholder1","username":"keyholder1","customData":{"stripe":"sk_live_7Hq2xK9mPz4Lw8Rt3Vb6Nc1Yd5Gf0Js2"}}"#,
    );
    let mut state = started(&store, 160, 40);
    open_patch(&store, &mut state, REVIEWED);
    let shown = screen(&state, 160, 40);
    assert!(
        shown.contains(
            "of these, 1 user holds a likely secret: left as they are (s writes them) — keyholder1 at stripe"
        ),
        "{shown}"
    );
}

/// A patch that takes the filter's matches out of it: the status line keeps the batch's line
/// (the id `undo` takes) before saying the selected user no longer matches; only F2 showed it
/// (bb72 F3).
#[test]
fn a_patch_that_empties_the_filter_keeps_its_batch_on_the_status_line() {
    use custodian::store::ImportMode;
    let (_dir, store) = demo_store();
    import(
        &store,
        "{\"id\":\"f1\",\"username\":\"freeuser\",\"customData\":{\"plan\":\"zzfreezz\"}}\n",
        ImportMode::InsertOnly,
    );
    let mut state = started(&store, 120, 40);
    support::filtered_to(&store, &mut state, "zzfreezz");
    open_patch(&store, &mut state, r#"[{"op":"replace","path":"/plan","value":"team"}]"#);
    press(&store, &mut state, KeyCode::Enter);
    press(&store, &mut state, KeyCode::Char('y'));
    let said = status_text(&state);
    assert!(said.starts_with("batch b") && said.contains("saved 1 user (custodian undo b"), "{said}");
    assert!(said.contains(" · freeuser (id f1, as last read) no longer matches the filter"), "{said}");
}
