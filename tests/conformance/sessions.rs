//! Opening a session on PostgreSQL: the tenant's row looked up, and what a failure of that
//! lookup says.

use super::*;

/// A `tenants` table that is not Logto's (no `db_user` column): the server's own words are
/// said, not taken for a role without rights on `tenants` and answered with "no tenant … that
/// role … can see".
#[test]
fn a_tenants_table_without_logtos_columns_is_said_in_the_servers_words() {
    let db = logto_with_people();
    db.superuser().batch_execute("alter table tenants rename column db_user to owner").expect("rename");
    let message = connect(&db.superuser_url(), "default").err().expect("not Logto's tenants").to_string();
    assert!(message.contains("column \"db_user\" does not exist"), "{message}");
    assert!(!message.contains("can see"), "{message}");
}

/// The name drafts are kept under for a database and tenant: the server, the login role, the
/// database and the tenant asked for, never the password; another way to the database of that
/// name and tenant is recognised as perhaps the same, another tenant is not.
#[test]
fn a_sessions_draft_identity_names_server_database_and_tenant_without_the_password() {
    let db = logto_with_people();
    let store = connect(&db.superuser_url(), "admin").expect("connect as the superuser");
    assert_eq!(store.tenant(), "admin");
    let port = db.server.port;
    let identity = store.draft_identity();
    assert_eq!(identity, format!("postgres://postgres@127.0.0.1:{port}/{}#tenant=admin", db.name));
    let (role, password) = db.tenant_role("default");
    let tenant = connect(&db.tenant_url("default"), "default").expect("connect as the tenant role");
    let identity = tenant.draft_identity();
    assert_eq!(identity, format!("postgres://{role}@127.0.0.1:{port}/{}#tenant=default", db.name));
    assert!(!identity.contains(&password), "{identity}");
    let elsewhere = format!("postgres://{role}@localhost:{port}/{}#tenant=default", db.name);
    assert!(custodian::store::same_database_name_and_tenant(&identity, &elsewhere));
    assert!(!custodian::store::same_database_name_and_tenant(&identity, &store.draft_identity()));
}
