-- Runtime health (issue 14): the health checker's record on each dedicated runtime's endpoint. It probes
-- every `ready` or `down` endpoint each minute, counts consecutive failed probes, marks the endpoint `down`
-- after a few and `ready` again at the first answer (cmp.provisioning.health).
alter table runtime_endpoints
    add column consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    add column checked_at timestamptz;

-- The checker's cross-tenant read: (tenant_id, subscription_id, url) only, least recently checked first; the
-- probe's outcome is then written in the tenant's own unit of work under row-level security.
create or replace function runtime_endpoints_to_check(p_limit integer)
    returns table (tenant_id uuid, subscription_id uuid, url text)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select e.tenant_id, e.subscription_id, e.url from runtime_endpoints e
        where e.state in ('ready', 'down')
        order by e.checked_at nulls first, e.subscription_id limit p_limit
    $$;
revoke all on function runtime_endpoints_to_check(integer) from public;
grant execute on function runtime_endpoints_to_check(integer) to cmp_app;
