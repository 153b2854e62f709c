//! Reconnecting after the server ended a session that no call has met since: the session
//! still looks open on our side until something is sent on it.

use super::*;

/// F5 on the screen right after the server ended the session (a restart, a failover, an
/// administrator): the reconnect asks the server, finds the session gone and opens another,
/// instead of taking "not closed yet" for alive.
#[test]
fn a_reconnect_before_any_call_met_the_ended_session_still_opens_a_new_one() {
    let db = logto();
    let name = application(&db, "unmet");
    let store = connect(&db, &name, None);
    assert_eq!(store.count().expect("count"), 2);
    let before = sessions(&db, &name, None);
    terminate(&db, &name);
    store.reconnect().expect("reconnect");
    let after = sessions(&db, &name, None);
    assert_eq!(after.len(), 1, "one new session");
    assert_ne!(after, before, "not the ended one");
    assert_eq!(store.count().expect("count after reconnecting"), 2);
}
