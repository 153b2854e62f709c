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

/// A reconnect and a second connection (the filter's) open the session the store was opened
/// with: the tenant asked for (here `admin`, by the superuser working as its role), not the
/// default one, whose role would see none of `admin`'s users.
#[test]
fn a_reconnect_and_another_connection_keep_the_tenant_the_store_was_opened_with() {
    let db = logto();
    db.insert_json("admin", r#"[{"id":"adm1","username":"root"}]"#);
    let name = application(&db, "admin");
    let url = format!("{}&application_name={name}", db.superuser_url());
    let options = PostgresOptions { tenant: "admin".into(), ..PostgresOptions::default() };
    let store = PostgresStore::connect(&url, &options).expect("connect as the superuser");
    assert_eq!(store.count().expect("count"), 1);
    let scanner = store.another_connection().expect("a second connection");
    assert_eq!(scanner.role(), db.tenant_role("admin").0);
    assert_eq!(scanner.count().expect("the second connection's count"), 1);
    drop(scanner);
    terminate(&db, &name);
    store.reconnect().expect("reconnect");
    assert_eq!(store.count().expect("count after reconnecting"), 1);
    assert_eq!(store.user("adm1").expect("admin's user").user.id, "adm1");
}
