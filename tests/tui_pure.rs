//! `update` is pure: what it needs from outside (the home directory, random bytes) is in the
//! state, put there at start by the runtime, so the same state and action give the same result.

use custodian::tui::app::{Action, Effect, State, update};

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
    assert_eq!(effects, vec![Effect::Export { path: "/home/operator/users.jsonl".into() }]);
    // Without a home (none given at start) the tilde is a name like any other.
    let mut state = State::new(120, 40, false);
    let effects = run_command(&mut state, "export ~/users.jsonl");
    assert_eq!(effects, vec![Effect::Export { path: "~/users.jsonl".into() }]);
}
