-- The transactional outbox: messages written in the same transaction as the change that causes them and
-- delivered after commit (by the same invocation, and by the housekeeping sweep for leftovers).
create table outbox (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    kind varchar(20) not null check (kind in ('sqs', 'stepfunctions', 'events')),
    target text not null,
    name text,
    payload jsonb not null,
    attributes jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    attempts integer not null default 0,
    last_error text,
    sent_at timestamptz
);
create index outbox_unsent on outbox (created_at) where sent_at is null;
create index outbox_tenant on outbox (tenant_id);

alter table outbox enable row level security;
create policy tenant_rows on outbox
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The relay works across tenants through these narrow functions only.
create or replace function outbox_pending(p_cutoff timestamptz, p_limit integer)
    returns table (id uuid, kind varchar, target text, name text, payload jsonb, attributes jsonb)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.id, o.kind, o.target, o.name, o.payload, o.attributes from outbox o
        where o.sent_at is null and o.created_at < p_cutoff
        order by o.created_at limit p_limit
    $$;

create or replace function outbox_mark_sent(p_ids uuid[]) returns void
    language sql security definer set search_path = public, pg_temp
    as $$ update outbox set sent_at = now(), attempts = attempts + 1, last_error = null
          where id = any(p_ids) and sent_at is null $$;

create or replace function outbox_mark_failed(p_id uuid, p_error text) returns void
    language sql security definer set search_path = public, pg_temp
    as $$ update outbox set attempts = attempts + 1, last_error = p_error where id = p_id and sent_at is null $$;

create or replace function outbox_purge(p_cutoff timestamptz) returns integer
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    declare purged integer;
    begin
        delete from outbox where sent_at < p_cutoff;
        get diagnostics purged = row_count;
        return purged;
    end
    $$;

revoke all on function outbox_pending(timestamptz, integer), outbox_mark_sent(uuid[]),
    outbox_mark_failed(uuid, text), outbox_purge(timestamptz) from public;
grant execute on function outbox_pending(timestamptz, integer), outbox_mark_sent(uuid[]),
    outbox_mark_failed(uuid, text), outbox_purge(timestamptz) to cmp_app;
