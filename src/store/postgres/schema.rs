//! custodian's own schema beside Logto's tables: `custodian.history` (every customData
//! revision custodian saved or found, per tenant), `custodian.schema_history` (every revision
//! of each tenant's JSON Schema for customData, the newest current; a null text cleared it)
//! and `custodian.meta` (its layout version).
//! Logto's tables are never altered: no column, index, trigger, policy or foreign key on them.

use postgres::Transaction;

/// The layout of the `custodian` schema this build writes.
pub const POSTGRES_SCHEMA_VERSION: i64 = 1;

/// Statements that create what is missing and change nothing that is there.
const CREATE: &[&str] = &[
    "create schema if not exists custodian",
    // No foreign keys: one to Logto's tables would add triggers to them.
    "create table if not exists custodian.history (
        tenant_id varchar(21) not null,
        user_id varchar(12) not null,
        revision bigint not null check (revision > 0),
        saved_at timestamptz not null,
        saved_by text not null,
        custom_data jsonb not null,
        user_updated_at timestamptz not null,
        primary key (tenant_id, user_id, revision)
    )",
    "create table if not exists custodian.meta (key text primary key, value bigint not null)",
    "insert into custodian.meta (key, value) values ('schema_version', 1) on conflict (key) do nothing",
    "alter table custodian.history enable row level security",
    "create table if not exists custodian.schema_history (
        tenant_id varchar(21) not null,
        revision bigint not null check (revision > 0),
        saved_at timestamptz not null,
        saved_by text not null,
        schema_text text,
        primary key (tenant_id, revision)
    )",
    "alter table custodian.schema_history enable row level security",
];

/// The policies, as Logto guards its own tables: a restrictive one that keeps each tenant
/// role to its tenant's rows, and a permissive one that lets it through otherwise.
const POLICIES: &[(&str, &str, &str)] = &[
    (
        "history",
        "custodian_history_tenant_id",
        "create policy custodian_history_tenant_id on custodian.history as restrictive
           using (tenant_id = (select id from public.tenants where db_user = current_user))
           with check (tenant_id = (select id from public.tenants where db_user = current_user))",
    ),
    (
        "history",
        "custodian_history_modification",
        "create policy custodian_history_modification on custodian.history using (true)",
    ),
    (
        "schema_history",
        "custodian_schema_history_tenant_id",
        "create policy custodian_schema_history_tenant_id on custodian.schema_history as restrictive
           using (tenant_id = (select id from public.tenants where db_user = current_user))
           with check (tenant_id = (select id from public.tenants where db_user = current_user))",
    ),
    (
        "schema_history",
        "custodian_schema_history_modification",
        "create policy custodian_schema_history_modification on custodian.schema_history using (true)",
    ),
];

/// Grants each tenant role (and the roles they inherit from, such as Logto's
/// `logto_tenant_<database>`) what custodian needs: read and append history, read meta.
const GRANTS: &str = "do $grants$
declare
    grantee text;
begin
    for grantee in
        select db_user from public.tenants where db_user is not null
        union
        select parent.rolname from pg_auth_members m
            join pg_roles parent on parent.oid = m.roleid
            join pg_roles member on member.oid = m.member
            where member.rolname in (select db_user from public.tenants)
    loop
        execute format('grant usage on schema custodian to %I', grantee);
        execute format('grant select, insert on custodian.history to %I', grantee);
        execute format('grant select on custodian.meta to %I', grantee);
        execute format('grant select, insert on custodian.schema_history to %I', grantee);
    end loop;
end
$grants$";

/// Creates custodian's schema, idempotently, in the caller's transaction.
pub fn create(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    for statement in CREATE {
        tx.batch_execute(statement)?;
    }
    for (table, name, statement) in POLICIES {
        let exists = tx
            .query_one(
                "select exists (select 1 from pg_policies where schemaname = 'custodian' and tablename = $1 and policyname = $2)",
                &[table, name],
            )?
            .get::<_, bool>(0);
        if !exists {
            tx.batch_execute(statement)?;
        }
    }
    tx.batch_execute(GRANTS)
}
