-- SLA monitoring of dedicated subscriptions (issue 14, cmp.sla): one row per subscription and billing period
-- with the period's SLO figures as the evaluator last computed them (`report`: targets, attainment, error
-- budget, latency, incidents, firing alerts; shape in cmp.sla.model.SlaReport.to_dict) and the burn-rate
-- alerts firing at that evaluation (`firing`, alert names such as '1h/5m'), so that an alert is announced
-- once per episode. Written by the SLA evaluator in the buyer's tenant, read by GET /v1/subscriptions/{id}/sla.
create table sla_periods (
    subscription_id uuid not null,
    tenant_id uuid not null references tenants(id) on delete cascade,
    period_start timestamptz not null,
    period_end timestamptz not null check (period_end > period_start),
    report jsonb not null,
    firing text[] not null default '{}',
    evaluated_at timestamptz not null,
    primary key (subscription_id, period_start),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index sla_periods_tenant on sla_periods(tenant_id);

alter table sla_periods enable row level security;
create policy tenant_rows on sla_periods
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The dedicated subscriptions the evaluator watches, across tenants (each is then evaluated in its own
-- tenant's unit of work under row-level security): active or past due, the states in which the runtime serves.
create or replace function sla_subscriptions(p_limit integer)
    returns table (tenant_id uuid, subscription_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.tenant_id, s.id from subscriptions s
        where s.runtime_type = 'dedicated' and s.status in ('active', 'past_due')
        order by s.id limit least(greatest(p_limit, 0), 100000)
    $$;

revoke all on function sla_subscriptions(integer) from public;
grant execute on function sla_subscriptions(integer) to cmp_app;
