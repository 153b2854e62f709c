//! A tenant of many users on PostgreSQL: the count past the exact one (the planner's figure
//! scaled by the table's statistics, or the planner's own where a statistic is zero), and the
//! walk over every user past its first slice of 500, and `list`'s walk in one snapshot.

use super::*;

#[test]
fn a_count_whose_statistics_say_zero_rows_or_were_reset_is_the_planners_own_figure() {
    let db = logto_with_people();
    insert_many(&db, "default", 30_000);
    let mut superuser = db.superuser();
    superuser
        .batch_execute("alter table users set (autovacuum_enabled = false); analyze users")
        .expect("statistics");
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let count = store.user_count().expect("count");
    assert!(!count.exact && (27_000..=33_000).contains(&count.users), "{count:?}");
    // Statistics of no rows on a table that has pages: scaled by them the count would be a
    // division by zero (18446744073709551615 users); the planner's own figure (1) says no
    // more than the 10,001 counted, and the users are counted one by one (bb63 F2: `~10,001`).
    superuser
        .batch_execute("update pg_class set reltuples = 0 where oid = 'public.users'::regclass")
        .expect("no rows in the statistics");
    let exact = store.count().expect("exact count");
    assert!(exact > 30_000, "{exact}");
    assert_eq!(store.user_count().expect("count"), UserCount { users: exact, exact: true });
    // The live-row counter set back to zero (as a crash or `pg_stat_reset` leaves it): the
    // planner's figure, near the 30,012 there are, not the 10,001 a scale of zero would leave.
    superuser.batch_execute("analyze users").expect("statistics again");
    superuser
        .execute("select pg_stat_reset_single_table_counters('public.users'::regclass)", &[])
        .expect("reset the counters");
    let count = store.user_count().expect("count");
    assert!(!count.exact && (27_000..=33_000).contains(&count.users), "{count:?}");
}

/// The walk (an export's) reads its snapshot in slices of 500 rows: a tenant of exactly two
/// slices is read whole, each user once and in list order, and the empty third ends it.
#[test]
fn a_walk_over_every_user_goes_on_past_its_first_slice_of_500() {
    let db = logto_with_people();
    insert_many(&db, "default", 988);
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let mut walked = Vec::new();
    store
        .for_each_user(&mut |record, _| {
            walked.push(record.user.id.clone());
            Ok(())
        })
        .expect("walk");
    assert_eq!(walked.len(), 1_000);
    assert_eq!(walked, ids(&store.rows(&Seek::First, 2_000).expect("the list")));
}

/// `list`'s walk past one page reads one snapshot: a user renamed from the end of the list to
/// its front, and one from the front to the end, while it reads are each listed once, where
/// they were when it began (read a page of 1,000 at a time, each page its own statement, the
/// first was missed and the second listed twice: bb42 F4 on PostgreSQL).
#[test]
fn the_list_walk_reads_one_snapshot_whatever_is_committed_meanwhile() {
    let db = logto_with_people();
    insert_many(&db, "default", 1_500);
    let store = connect(&db.tenant_url("default"), "default").expect("connect");
    let before = ids(&store.rows(&Seek::First, 2_000).expect("the list"));
    let (first, last) = (before[0].clone(), before[before.len() - 1].clone());
    let mut superuser = db.superuser();
    let mut walked = Vec::new();
    store
        .walk_list(None, usize::MAX, false, &mut |entry, _| {
            if walked.is_empty() {
                superuser
                    .execute("update users set username = '000 front now' where id = $1", &[&last])
                    .expect("renamed to the front");
                superuser
                    .execute("update users set username = 'zzz end now' where id = $1", &[&first])
                    .expect("renamed to the end");
            }
            walked.push(entry.user.id.clone());
            Ok(true)
        })
        .expect("walk");
    assert_eq!(walked, before, "every user once, in the order they had");
    let now = ids(&store.rows(&Seek::First, 2_000).expect("the list"));
    assert_eq!((now[0].as_str(), now[now.len() - 1].as_str()), (last.as_str(), first.as_str()));
}
