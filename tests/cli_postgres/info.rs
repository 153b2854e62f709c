//! `info` on PostgreSQL: custodian's schema as the line "schema version" says it, before
//! `init`, after it, and on a schema an older custodian's `init` made.

use custodian::store::POSTGRES_SCHEMA_VERSION;

use super::*;

fn schema_line(run: &Run) -> String {
    let line = run.stdout.lines().find(|l| l.starts_with("schema version"));
    line.unwrap_or_else(|| panic!("a schema version line: {run:?}")).to_owned()
}

#[test]
fn info_says_the_schema_is_missing_before_init_its_version_after_and_what_an_older_one_needs() {
    let db = logto();
    let home = PrivateHome::new(&[]);
    let url = db.tenant_url("default");
    let before = run(&home, &["--db", &url, "info"], None).ok();
    assert!(
        schema_line(&before).ends_with("missing: saving needs `custodian --db URL init` once"),
        "{before:?}"
    );
    db.init_custodian();
    let after = run(&home, &["--db", &url, "info"], None).ok();
    assert!(schema_line(&after).ends_with(&format!(" custodian {POSTGRES_SCHEMA_VERSION}")), "{after:?}");
    db.superuser()
        .batch_execute("update custodian.meta set value = 2 where key = 'schema_version'")
        .expect("the layout an older init made");
    let older = run(&home, &["--db", &url, "info"], None).ok();
    let wanted = format!(
        " custodian 2 (older than this custodian's {POSTGRES_SCHEMA_VERSION}: batches and the journal need `custodian --db URL init` once)"
    );
    assert!(schema_line(&older).ends_with(&wanted), "{older:?}");
}
