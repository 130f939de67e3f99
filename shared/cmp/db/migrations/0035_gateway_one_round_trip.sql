-- The runtime gateway's admission in ONE statement (cmp.gateway, docs/performance.md "Runtime gateway:
-- one round trip"): the call state of 0016's two-step admission and `gateway_admit`, guarded.

-- The call state of one runtime call, read under row-level security of the current tenant, and -- when the
-- caller's cached limits still hold -- the admission itself. Returns no row for a subscription that is not
-- the tenant's; otherwise one row: the subscription's status, plan, `runtime.limits`, runtime type,
-- provisioning and period, the credential's own rate limit, revocation and expiry (null for a portal call),
-- `used` (units of `p_metrics` in the current period) and `alerted` (alert thresholds of `p_quota` sent
-- this period), `fingerprint` (md5 of everything the limits are computed from: the plan document, the
-- product's runtime limits and the key's own rate), and `attempted`.
-- `attempted` is true only when every check the gateway makes passed on this very read: the credential is
-- neither revoked nor expired at `p_now`, the status is one of `p_callable`, the runtime is shared (a
-- dedicated one needs its router), `p_fingerprint` equals the fingerprint (the caller's limits are the
-- plan's), and `p_quota_limit` (null: no quota) leaves room for `p_cost`. Then `gateway_admit` ran with the
-- buckets and the lease given (not when there is neither), and `allowed`, `tats`, `checked_at` and
-- `leases_held` are its answer in the order of `p_buckets`. Otherwise nothing was consumed and the caller
-- decides from the state (refusing, or admitting with the limits it computes from it).
create function gateway_admit_call(
    p_subscription uuid, p_credential uuid, p_fingerprint text, p_now timestamptz, p_callable text[],
    p_metrics text[], p_quota text, p_quota_limit bigint, p_cost integer,
    p_buckets text[], p_interval_ms double precision[], p_tolerance_ms double precision[],
    p_lease_id uuid, p_cap integer, p_ttl_seconds integer
)
    returns table (
        status text, plan jsonb, runtime_limits jsonb, runtime_type text, provisioning jsonb,
        current_period_start timestamptz, current_period_end timestamptz, key_rate_limit integer,
        revoked_at timestamptz, expires_at timestamptz, used bigint, alerted smallint[], fingerprint text,
        attempted boolean, allowed boolean[], tats timestamptz[], checked_at timestamptz, leases_held integer
    )
    language plpgsql set search_path = public, pg_temp
    as $$
    declare
        st record;
        answer record;
        ok boolean;
    begin
        select s.status::text as status, s.plan, s.capabilities #> '{runtime,limits}' as runtime_limits,
               s.runtime_type::text as runtime_type, s.provisioning, s.current_period_start,
               s.current_period_end, k.rate_limit_per_minute as key_rate_limit,
               coalesce(k.revoked_at, w.revoked_at) as revoked_at, k.expires_at,
               (select coalesce(sum(u.quantity), 0) from usage_records u
                where u.subscription_id = s.id and u.metric = any(p_metrics)
                  and u.period_start = s.current_period_start)::bigint as used,
               array(select a.threshold from usage_alerts a
                     where a.subscription_id = s.id and a.metric = p_quota
                       and a.period_start = s.current_period_start) as alerted,
               md5(concat_ws('|', s.plan::text, (s.capabilities #> '{runtime,limits}')::text,
                             k.rate_limit_per_minute::text)) as fingerprint
        into st
        from subscriptions s
        left join api_keys k on k.id = p_credential and k.subscription_id = s.id
        left join widget_tokens w on w.id = p_credential and w.subscription_id = s.id
        where s.id = p_subscription;
        if not found then
            return;
        end if;
        ok := st.revoked_at is null
            and (st.expires_at is null or st.expires_at > p_now)
            and st.status = any(p_callable)
            and st.runtime_type is distinct from 'dedicated'
            and st.fingerprint = p_fingerprint
            and (p_quota_limit is null or st.used + p_cost <= p_quota_limit);
        status := st.status; plan := st.plan; runtime_limits := st.runtime_limits;
        runtime_type := st.runtime_type; provisioning := st.provisioning;
        current_period_start := st.current_period_start; current_period_end := st.current_period_end;
        key_rate_limit := st.key_rate_limit; revoked_at := st.revoked_at; expires_at := st.expires_at;
        used := st.used; alerted := st.alerted; fingerprint := st.fingerprint;
        attempted := coalesce(ok, false); leases_held := 0;
        if attempted and (coalesce(cardinality(p_buckets), 0) > 0 or p_cap is not null) then
            select array_agg(a.allowed order by a.j) as allowed, array_agg(a.tat order by a.j) as tats,
                   min(a.checked_at) as checked_at, min(a.leases_held) as leases_held
            into answer
            from gateway_admit(p_buckets, p_interval_ms, p_tolerance_ms, p_cost, p_lease_id,
                               app_current_tenant(), p_subscription, p_cap, p_ttl_seconds)
                 with ordinality as a(bucket, allowed, tat, checked_at, leases_held, j);
            allowed := answer.allowed; tats := answer.tats; checked_at := answer.checked_at;
            leases_held := answer.leases_held;
        end if;
        return next;
    end
    $$;
grant execute on function gateway_admit_call(uuid, uuid, text, timestamptz, text[], text[], text, bigint, integer,
    text[], double precision[], double precision[], uuid, integer, integer) to cmp_app;
