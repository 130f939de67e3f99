-- The runtime gateway (cmp.gateway): what the authorizer reads of a credential, the rate limiter's state,
-- concurrency leases and the once-per-period usage alerts. docs/gateway.md explains the rules.

-- The credential read of 0011, now also with the subscription's plan id and runtime type (shared or
-- dedicated), which the runtime context carries. Same arguments, same refusal columns; a new return type
-- needs the function dropped first.
drop function gateway_credential(text);
create function gateway_credential(p_hash text)
    returns table (
        kind text,
        credential_id uuid,
        tenant_id uuid,
        subscription_id uuid,
        product_id uuid,
        plan_id text,
        runtime_type text,
        environment text,
        scopes text[],
        allowed_origins text[],
        expires_at timestamptz,
        revoked_at timestamptz,
        subscription_status text,
        rate_limit_per_minute integer
    )
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select 'api_key', k.id, k.tenant_id, k.subscription_id, s.product_id, s.plan_id::text,
               s.runtime_type::text, k.environment::text, k.scopes, null::text[], k.expires_at, k.revoked_at,
               s.status::text,
               coalesce(k.rate_limit_per_minute, (s.plan #>> '{limits,rateLimitRpm}')::integer,
                        (s.capabilities #>> '{runtime,limits,rateLimit}')::integer)
        from api_keys k join subscriptions s on s.id = k.subscription_id and s.tenant_id = k.tenant_id
        where k.key_hash = p_hash
        union all
        select 'widget_token', w.id, w.tenant_id, w.subscription_id, s.product_id, s.plan_id::text,
               s.runtime_type::text, 'live', array['invoke'], w.allowed_origins, null::timestamptz,
               w.revoked_at, s.status::text,
               coalesce((s.plan #>> '{limits,rateLimitRpm}')::integer,
                        (s.capabilities #>> '{runtime,limits,rateLimit}')::integer)
        from widget_tokens w join subscriptions s on s.id = w.subscription_id and s.tenant_id = w.tenant_id
        where w.token_hash = p_hash
    $$;
revoke all on function gateway_credential(text) from public;
grant execute on function gateway_credential(text) to cmp_app;

-- GCRA state (the "theoretical arrival time" of each limiter bucket). Buckets are named by the gateway:
-- `key:<credential id>`, `sub:<subscription id>`, `product:<product id>`; the product bucket counts every
-- tenant's calls, so this is a platform table the application role cannot read, reached only through
-- `gateway_rate_check`. A bucket idle past its tolerance carries no information and may be deleted.
create table gateway_rate_buckets (
    bucket text primary key,
    tat timestamptz not null
);
revoke all on gateway_rate_buckets from cmp_app;

-- Concurrency leases: one row per call in flight (a chat session, a workflow run) of a subscription, held
-- until the call releases it or `expires_at` passes, so a Lambda that crashes mid-call frees its slot when
-- the lease expires instead of leaking it.
create table gateway_leases (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null references subscriptions(id) on delete cascade,
    acquired_at timestamptz not null default clock_timestamp(),
    expires_at timestamptz not null
);
create index gateway_leases_subscription on gateway_leases(subscription_id, expires_at);
alter table gateway_leases enable row level security;
create policy tenant_rows on gateway_leases
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- Admit one call, in one statement: take `p_cost` units from every bucket of `p_buckets` at once, or from
-- none (GCRA; Brandur Leach's "throttled" and redis-cell describe the same algorithm), and when `p_cap` is
-- not null also take a concurrency lease `p_lease_id` of the subscription (at most `p_cap` unexpired, the
-- lease living `p_ttl_seconds`). For bucket i the emission interval is p_interval_ms[i] and the tolerance
-- p_tolerance_ms[i] (burst x interval). The clock is the database's, read after the bucket rows are locked,
-- so every caller of a bucket sees one monotonic clock. Rows are locked in the order given: callers pass
-- buckets sorted, so two calls never wait on each other in a cycle; the subscription's advisory lock makes
-- count-then-insert of leases atomic. Nothing is written unless every bucket and the cap admit. The
-- transaction commits without waiting for its WAL flush: a crash may forget the last milliseconds of
-- limiter state, never admit a call twice. Returns one row per bucket: whether it admitted, its arrival
-- time after the call (unchanged when refused), the clock reading, and the leases held including the new
-- one (null when the cap refused, 0 when no cap applies).
create function gateway_admit(
    p_buckets text[], p_interval_ms double precision[], p_tolerance_ms double precision[], p_cost integer,
    p_lease_id uuid, p_tenant uuid, p_subscription uuid, p_cap integer, p_ttl_seconds integer
)
    returns table (bucket text, allowed boolean, tat timestamptz, checked_at timestamptz, leases_held integer)
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    declare
        n integer := coalesce(cardinality(p_buckets), 0);
        current_tats timestamptz[] := '{}';
        next_tats timestamptz[] := '{}';
        oks boolean[] := '{}';
        all_ok boolean := true;
        held integer := 0;
        now_ts timestamptz;
        stored timestamptz;
        i integer;
    begin
        perform set_config('synchronous_commit', 'off', true);
        insert into gateway_rate_buckets as b (bucket, tat)
            select u, '-infinity'::timestamptz from unnest(p_buckets) as u
            on conflict on constraint gateway_rate_buckets_pkey do nothing;
        for i in 1..n loop
            select b.tat into stored from gateway_rate_buckets b where b.bucket = p_buckets[i] for update;
            current_tats := current_tats || stored;
        end loop;
        now_ts := clock_timestamp();
        for i in 1..n loop
            next_tats := next_tats
                || (greatest(current_tats[i], now_ts) + make_interval(secs => p_interval_ms[i] * p_cost / 1000.0));
            oks := oks || (next_tats[i] - now_ts <= make_interval(secs => p_tolerance_ms[i] / 1000.0));
            all_ok := all_ok and oks[i];
        end loop;
        if all_ok and p_cap is not null then
            -- leases are tenant rows: only the current tenant's own subscription may take one
            if p_tenant is distinct from app_current_tenant() or not exists (
                select 1 from subscriptions s where s.id = p_subscription and s.tenant_id = p_tenant
            ) then
                raise exception 'gateway_admit: subscription % is not the current tenant''s', p_subscription
                    using errcode = '42501';
            end if;
            perform pg_advisory_xact_lock(hashtextextended('gateway_lease:' || p_subscription::text, 0));
            delete from gateway_leases l where l.subscription_id = p_subscription and l.expires_at <= now_ts;
            select count(*) into held from gateway_leases l where l.subscription_id = p_subscription;
            if held >= p_cap then
                all_ok := false;
                held := null;
            else
                insert into gateway_leases (id, tenant_id, subscription_id, expires_at)
                    values (p_lease_id, p_tenant, p_subscription, now_ts + make_interval(secs => p_ttl_seconds));
                held := held + 1;
            end if;
        end if;
        if all_ok then
            for i in 1..n loop
                update gateway_rate_buckets b set tat = next_tats[i] where b.bucket = p_buckets[i];
            end loop;
        end if;
        return query
            select p_buckets[g.j], oks[g.j], case when all_ok then next_tats[g.j] else current_tats[g.j] end,
                   now_ts, held
            from generate_subscripts(p_buckets, 1) as g(j)
            union all
            select null, held is not null, null, now_ts, held where n = 0;
    end
    $$;
revoke all on function gateway_admit(text[], double precision[], double precision[], integer, uuid, uuid, uuid,
    integer, integer) from public;
grant execute on function gateway_admit(text[], double precision[], double precision[], integer, uuid, uuid, uuid,
    integer, integer) to cmp_app;

-- Free a lease (the caller's own: row-level security applies), committing without waiting for the WAL
-- flush like `gateway_admit`; a lease lost in a crash is one that expires anyway.
create function gateway_lease_release(p_id uuid)
    returns void
    language plpgsql set search_path = public, pg_temp
    as $$
    begin
        perform set_config('synchronous_commit', 'off', true);
        delete from gateway_leases where id = p_id;
    end
    $$;

-- Usage alerts sent (80 % and 100 % of a quota): one row per subscription, metric, period and threshold,
-- claimed by the insert that emits the alert, so each is sent once per billing period.
create table usage_alerts (
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null references subscriptions(id) on delete cascade,
    metric varchar(50) not null,
    period_start timestamptz not null,
    threshold smallint not null check (threshold in (80, 100)),
    used bigint not null,
    quota bigint not null,
    created_at timestamptz not null default now(),
    primary key (subscription_id, metric, period_start, threshold)
);
alter table usage_alerts enable row level security;
create policy tenant_rows on usage_alerts
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
