//! PostgreSQL's exact path past what the shared bodies reach: a search longer than one
//! slice of its portal, and the scan's cursor kept between steps only while the next step
//! can continue it.

use super::*;

/// The sessions custodian holds on this test's database, by state (`idle`, `idle in
/// transaction`), as a DBA's `pg_stat_activity` shows them.
fn custodian_session_states(db: &LogtoDb) -> Vec<String> {
    db.superuser()
        .query(
            "select state from pg_stat_activity where datname = current_database() \
             and application_name = 'custodian' order by state",
            &[],
        )
        .expect("pg_stat_activity")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The search reads the tenant from one portal in slices of 5,000 users: it goes on past a
/// full slice, and its limit counts the hits of every slice together.
#[test]
fn a_search_goes_on_past_its_first_5000_users_and_its_limit_counts_every_slices_hits() {
    let db = logto_with_people();
    // 5,100 users after the people's handles (`zz…` sorts after `zed`, before `émile`), four
    // of them named with the needle: one in the first slice, three in the second.
    db.superuser()
        .execute(
            "insert into users (tenant_id, id, username, name, created_at, updated_at) \
             select 'default', 'zz' || lpad(i::text, 5, '0'), 'zz' || lpad(i::text, 5, '0'), \
                    case when i in (2000, 5050, 5060, 5070) then 'needle ' || i end, now(), now() \
             from generate_series(1, 5100) i",
            &[],
        )
        .expect("bulk insert");
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let everyone = ["u6", "zz02000", "zz05050", "zz05060", "zz05070"];
    assert_eq!(ids(&store.search("needle", None, 100).expect("search")), everyone);
    // One hit of the first slice and two of the second make the limit of three.
    assert_eq!(ids(&store.search("needle", None, 3).expect("search")), everyone[..3]);
    assert_eq!(ids(&store.search("needle", None, 2).expect("search")), everyone[..2]);
}

/// The exact path's scan keeps the tenant sorted in a cursor, in a read-only transaction
/// left open between steps, only while the next step can continue it: a step that stopped at
/// its `max_hits` or at the end of the tenant closes it, so no session is left idle in a
/// transaction (holding back vacuum) once the scan is over or stopped.
#[test]
fn a_scan_keeps_its_transaction_open_only_while_the_next_step_can_continue_it() {
    let db = logto_with_people();
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let listed = ids(&store.rows(&Seek::First, 100).expect("rows"));
    assert_eq!(custodian_session_states(&db), ["idle"]);
    // Every user of the step read, fewer hits than asked for: the cursor goes on.
    let first = store.scan_matches("", None, 2, 100).expect("first step");
    assert_eq!(ids(&first.hits), listed[..2]);
    assert_eq!(custodian_session_states(&db), ["idle in transaction"]);
    // Continued, and stopped at its `max_hits` on the last user it read: closed.
    let second = store.scan_matches("", first.next.as_ref(), 2, 2).expect("second step");
    assert_eq!(ids(&second.hits), listed[2..4]);
    assert_eq!(custodian_session_states(&db), ["idle"]);
    // Stopped at `max_hits` before the end of its batch: closed too.
    let third = store.scan_matches("", second.next.as_ref(), 3, 1).expect("third step");
    assert_eq!(ids(&third.hits), listed[4..5]);
    assert_eq!(custodian_session_states(&db), ["idle"]);
    // Steps to the end of the tenant: open while it goes on, closed at the end.
    let mut after = third.next;
    let mut rest = Vec::new();
    loop {
        let step = store.scan_matches("", after.as_ref(), 3, 100).expect("step");
        rest.extend(ids(&step.hits));
        after = step.next;
        if after.is_none() {
            break;
        }
        assert_eq!(custodian_session_states(&db), ["idle in transaction"]);
    }
    assert_eq!(rest, listed[5..]);
    assert_eq!(custodian_session_states(&db), ["idle"]);
}
