//! custodian's own schema beside Logto's tables: `custodian.history` (every customData
//! revision custodian saved or found, per tenant), `custodian.user_keys` (the list order and
//! the filter's prefixes as index keys, see [`super::keys`]), `custodian.key_syncs` (when
//! each tenant's keys were last brought up to date), `custodian.schema_history` (every
//! revision of each tenant's JSON Schema for customData, the newest current; a null text
//! cleared it), `custodian.batches` (each batch a `patch --yes` or an `undo` wrote: who, when,
//! how many users) and `custodian.meta` (its layout version). Each history row is also a
//! journal entry: its batch, size and keys, and a place (`saved_ms`, `sequence`) that the
//! index `history__journal` keeps in time order. Logto's tables are never altered:
//! no column, index, trigger, policy or foreign key on them.

use postgres::Transaction;

/// The layout of the `custodian` schema this build writes. 1: history and meta. 2: adds
/// `user_keys` and `key_syncs`. 3: the journal's columns and indexes on `history`, and
/// `batches`.
pub const POSTGRES_SCHEMA_VERSION: i64 = 3;

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
    // One row per user and kind of key (0 the list order's handle, 1 username, 2 email,
    // 3 phone, 4 name, 5 id; 6 a digest of what they are made of, for the sync), compared as bytes ("C") so an index range is the list order
    // and a LIKE prefix is a range. The second index serves a user's own keys.
    "create table if not exists custodian.user_keys (
        tenant_id varchar(21) not null,
        kind smallint not null,
        key text collate \"C\" not null,
        user_id varchar(12) collate \"C\" not null,
        primary key (tenant_id, kind, key, user_id)
    )",
    "create index if not exists user_keys__tenant_user on custodian.user_keys (tenant_id, user_id)",
    "create table if not exists custodian.key_syncs (
        tenant_id varchar(21) primary key,
        synced_at timestamptz not null
    )",
    "create table if not exists custodian.meta (key text primary key, value bigint not null)",
    // Layout 3: each history row is a journal entry. `sequence` orders the rows saved in the
    // same millisecond (a batch's all share one) and pages the journal; rows an older build
    // inserts get it from the default and `saved_ms` from the trigger, so the journal never
    // misses them (their keys and size are then worked out when read).
    "create sequence if not exists custodian.history_sequence",
    "alter table custodian.history add column if not exists sequence bigint not null default nextval('custodian.history_sequence')",
    "alter table custodian.history add column if not exists saved_ms bigint",
    "alter table custodian.history add column if not exists batch_id text",
    // The saved document's canonical size in bytes, and its top-level keys added, removed
    // and changed as the JSON `[[added…],[removed…],[changed…]]`; null: not known when written.
    "alter table custodian.history add column if not exists size bigint",
    "alter table custodian.history add column if not exists keys jsonb",
    // The `created_at` of the account the row was kept for: another account under the id
    // (deleted, and given again by Logto or SQL) is told by it, whatever its `created_at` says
    // of the time (bb100 F1). Null in rows kept before it: those are told by the time.
    "alter table custodian.history add column if not exists user_created_at timestamptz",
    "update custodian.history set saved_ms = floor(extract(epoch from saved_at) * 1000)::int8 where saved_ms is null",
    "create or replace function custodian.history_saved_ms() returns trigger language plpgsql as $fn$
        begin
            new.saved_ms := floor(extract(epoch from new.saved_at) * 1000)::int8;
            return new;
        end
    $fn$",
    "create or replace trigger history_saved_ms before insert or update of saved_at on custodian.history
        for each row execute function custodian.history_saved_ms()",
    "alter table custodian.history alter column saved_ms set not null",
    // `changes --since`: a backward range read; `--batch` and `undo`: the batch's rows only.
    "create index if not exists history__journal on custodian.history (tenant_id, saved_ms, sequence)",
    "create index if not exists history__batch on custodian.history (tenant_id, batch_id, saved_ms, sequence)
        where batch_id is not null",
    "create table if not exists custodian.batches (
        tenant_id varchar(21) not null,
        id text not null,
        kind text not null,
        undoes text,
        saved_at timestamptz not null,
        saved_by text not null,
        matched bigint not null,
        saved bigint not null,
        primary key (tenant_id, id)
    )",
    "alter table custodian.batches enable row level security",
    // Only ever raised: an older build's init does not lower what a newer one made.
    "insert into custodian.meta (key, value) values ('schema_version', 3)
        on conflict (key) do update set value = excluded.value where custodian.meta.value < excluded.value",
    "alter table custodian.history enable row level security",
    "alter table custodian.user_keys enable row level security",
    "alter table custodian.key_syncs enable row level security",
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

/// The tables guarded per tenant, as Logto guards its own: a restrictive policy that keeps
/// each tenant role to its tenant's rows, and a permissive one that lets it through otherwise.
const GUARDED: &[&str] = &["history", "user_keys", "key_syncs", "schema_history", "batches"];

fn policies(table: &str) -> [(String, String); 2] {
    let tenant = "(select id from public.tenants where db_user = current_user)";
    [
        (
            format!("custodian_{table}_tenant_id"),
            format!(
                "create policy custodian_{table}_tenant_id on custodian.{table} as restrictive
                   using (tenant_id = {tenant}) with check (tenant_id = {tenant})"
            ),
        ),
        (
            format!("custodian_{table}_modification"),
            format!("create policy custodian_{table}_modification on custodian.{table} using (true)"),
        ),
    ]
}

/// Grants each tenant role (and the roles they inherit from, such as Logto's
/// `logto_tenant_<database>`) what custodian needs: read and append history and batches,
/// keep its tenant's keys, read meta.
const GRANTS: &str = "do $grants$
declare
    grantee text;
begin
    for grantee in
        -- A tenant whose role does not exist gets nothing (init says so): one such row
        -- stopped init for every tenant (bb41 F7).
        select t.db_user from public.tenants t where t.db_user is not null
            and exists (select 1 from pg_roles r where r.rolname = t.db_user)
        union
        select parent.rolname from pg_auth_members m
            join pg_roles parent on parent.oid = m.roleid
            join pg_roles member on member.oid = m.member
            where member.rolname in (select db_user from public.tenants)
    loop
        execute format('grant usage on schema custodian to %I', grantee);
        execute format('grant select, insert on custodian.history to %I', grantee);
        execute format('grant select, insert, delete on custodian.user_keys to %I', grantee);
        execute format('grant select, insert, update on custodian.key_syncs to %I', grantee);
        execute format('grant select on custodian.meta to %I', grantee);
        execute format('grant select, insert on custodian.schema_history to %I', grantee);
        execute format('grant select, insert on custodian.batches to %I', grantee);
        execute format('grant usage on sequence custodian.history_sequence to %I', grantee);
    end loop;
end
$grants$";

/// Creates custodian's schema, idempotently, in the caller's transaction.
pub fn create(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    for statement in CREATE {
        tx.batch_execute(statement)?;
    }
    for table in GUARDED {
        for (name, statement) in policies(table) {
            let exists = tx
                .query_one(
                    "select exists (select 1 from pg_policies where schemaname = 'custodian' and tablename = $1 and policyname = $2)",
                    &[table, &name],
                )?
                .get::<_, bool>(0);
            if !exists {
                tx.batch_execute(&statement)?;
            }
        }
    }
    tx.batch_execute(GRANTS)
}
