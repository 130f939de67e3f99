-- Tenancy baseline: organizations, users, memberships, projects, portal sessions, onboarding.
-- Every tenant-owned table has tenant_id and a row-level security policy on app.tenant_id;
-- the application role cmp_app has no BYPASSRLS, so a missing tenant context shows no rows.

create extension if not exists citext;
create extension if not exists vector;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'cmp_app') then
        create role cmp_app login nobypassrls;
    end if;
end
$$;

create or replace function app_current_tenant() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create or replace function app_current_user() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create table tenants (
    id uuid primary key,
    name varchar(200) not null,
    slug varchar(200) not null unique,
    runtime_tier varchar(20) check (runtime_tier in ('shared', 'dedicated')),
    onboarding_state varchar(20) not null default 'pending'
        check (onboarding_state in ('pending', 'running', 'completed', 'failed')),
    onboarding_execution_arn text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table users (
    id uuid primary key,
    email citext not null unique,
    password_hash text not null,
    display_name varchar(200),
    is_platform_admin boolean not null default false,
    created_at timestamptz not null default now()
);

create table memberships (
    tenant_id uuid not null references tenants(id) on delete cascade,
    user_id uuid not null references users(id) on delete cascade,
    role varchar(20) not null check (role in ('owner', 'seller', 'buyer', 'admin')),
    created_at timestamptz not null default now(),
    primary key (tenant_id, user_id, role)
);
create index memberships_user on memberships(user_id);

create table projects (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    name varchar(200) not null,
    created_at timestamptz not null default now(),
    unique (tenant_id, name)
);

create table auth_sessions (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    user_id uuid not null references users(id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz
);
create index auth_sessions_expiry on auth_sessions(expires_at);

create table onboarding_steps (
    tenant_id uuid not null references tenants(id) on delete cascade,
    step varchar(50) not null,
    status varchar(20) not null check (status in ('succeeded', 'failed')),
    detail jsonb not null default '{}',
    updated_at timestamptz not null default now(),
    primary key (tenant_id, step)
);

alter table tenants enable row level security;
alter table users enable row level security;
alter table memberships enable row level security;
alter table projects enable row level security;
alter table auth_sessions enable row level security;
alter table onboarding_steps enable row level security;

create policy tenant_self on tenants
    using (id = app_current_tenant()) with check (id = app_current_tenant());
create policy user_visible on users
    using (id = app_current_user()
           or exists (select 1 from memberships m where m.user_id = users.id and m.tenant_id = app_current_tenant()))
    with check (id = app_current_user());
create policy tenant_rows on memberships
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on projects
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on auth_sessions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on onboarding_steps
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- Narrow cross-tenant reads for sign-in: by e-mail, before any tenant is known.
create or replace function auth_find_user(p_email text)
    returns table (id uuid, password_hash text, is_platform_admin boolean)
    language sql stable security definer set search_path = public, pg_temp
    as $$ select u.id, u.password_hash, u.is_platform_admin from users u where u.email = p_email::citext $$;

create or replace function auth_user_memberships(p_user_id uuid)
    returns table (tenant_id uuid, tenant_name varchar, role varchar, created_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select m.tenant_id, t.name, m.role, m.created_at
        from memberships m join tenants t on t.id = m.tenant_id
        where m.user_id = p_user_id
        order by m.created_at, m.role
    $$;

-- Housekeeping across tenants: delete sessions that expired before the cutoff.
create or replace function housekeeping_purge_sessions(p_cutoff timestamptz) returns integer
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    declare purged integer;
    begin
        delete from auth_sessions where expires_at < p_cutoff or revoked_at < p_cutoff;
        get diagnostics purged = row_count;
        return purged;
    end
    $$;

-- Housekeeping: tenants whose onboarding never started (the state machine was unreachable at sign-up).
create or replace function housekeeping_stalled_onboardings(p_cutoff timestamptz) returns table (tenant_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$ select id from tenants where onboarding_state = 'pending' and created_at < p_cutoff order by created_at $$;

revoke all on function auth_find_user(text), auth_user_memberships(uuid), housekeeping_purge_sessions(timestamptz),
    housekeeping_stalled_onboardings(timestamptz) from public;
grant execute on function auth_find_user(text), auth_user_memberships(uuid), housekeeping_purge_sessions(timestamptz),
    housekeeping_stalled_onboardings(timestamptz) to cmp_app;

grant usage on schema public to cmp_app;
grant select, insert, update, delete on all tables in schema public to cmp_app;
grant usage, select on all sequences in schema public to cmp_app;
alter default privileges in schema public grant select, insert, update, delete on tables to cmp_app;
alter default privileges in schema public grant usage, select on sequences to cmp_app;
