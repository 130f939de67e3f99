-- `gateway_admit` (0016) returned a refused call's unchanged arrival time per bucket, which is
-- '-infinity' for a bucket first seen in that call (a new API key on a subscription whose own bucket is
-- exhausted, a webhook's first delivery over the subscription's rate): psycopg cannot load an infinite
-- timestamp, and the refusal became a 500. A refused bucket now reports greatest(arrival time, clock): the
-- same remaining allowance and reset for GCRA (a bucket whose arrival time has passed is full), never
-- infinite. Everything else is 0016's function unchanged.
create or replace function gateway_admit(
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
            select p_buckets[g.j], oks[g.j], case when all_ok then next_tats[g.j] else greatest(current_tats[g.j], now_ts) end,
                   now_ts, held
            from generate_subscripts(p_buckets, 1) as g(j)
            union all
            select null, held is not null, null, now_ts, held where n = 0;
    end
    $$;
