-- Exactly-once metering (cmp.metering): each usage record names the billing period it counts in, the
-- periods metering knows (open until their roll-up is final), and the roll-ups per subscription, period,
-- metric and day.
--
-- A record is written by `uow.usage.record(event)` in the transaction of the work it meters; the unique
-- (tenant_id, dedup_key) of 0013 claims the idempotency key in that same insert and is never pruned, so a
-- redelivered event is a duplicate however late it comes (the spec asks for 35 days at least).

-- `occurred_at`: the event's own timestamp; `period_start`: the period it counts in (its own, or the next
-- open one when its own was already closed: then `adjustment` is true). Rows written before metering
-- count in the period of their recorded_at (the subscription's current one, else the month it fell in).
alter table usage_records
    add column occurred_at timestamptz,
    add column period_start timestamptz,
    add column adjustment boolean not null default false;
update usage_records u set occurred_at = u.recorded_at,
    period_start = case when u.recorded_at >= s.current_period_start then s.current_period_start
                        else date_trunc('month', u.recorded_at) end
    from subscriptions s where s.id = u.subscription_id;
alter table usage_records alter column occurred_at set not null, alter column period_start set not null;
create index usage_records_period on usage_records(subscription_id, period_start, id);

-- The billing periods metering has seen, per subscription. A period is open until the roll-up job closes
-- it (its end plus a grace for late events has passed); its roll-up is then final and a later event for
-- it becomes an adjustment on the next period. `rolled_up_id`: the highest usage_records id the roll-up
-- holds (the watermark: newer records of the period are the live tail). Recording takes FOR KEY SHARE on
-- its period's row and the roll-up FOR UPDATE, so a roll-up never misses a record committed after it read.
create table usage_periods (
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null references subscriptions(id) on delete cascade,
    period_start timestamptz not null,
    period_end timestamptz not null check (period_end > period_start),
    rolled_up_id bigint not null default 0,
    rolled_up_at timestamptz,
    closed_at timestamptz,
    primary key (subscription_id, period_start)
);
create index usage_periods_open on usage_periods(period_end) where closed_at is null;
insert into usage_periods (tenant_id, subscription_id, period_start, period_end)
    select tenant_id, id, current_period_start, current_period_end from subscriptions;

-- Every period a subscription enters is known to metering from its start: a new subscription, a renewal
-- or a plan change that restarts the period adds (or, for a provisional period metering added ahead of
-- the renewal, corrects) its row; a restarted period cuts the previous one short.
create or replace function usage_periods_follow_subscription() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    begin
        if tg_op = 'UPDATE' then
            update usage_periods set period_end = new.current_period_start
                where subscription_id = new.id and period_start = old.current_period_start
                  and period_start < new.current_period_start and period_end > new.current_period_start;
        end if;
        insert into usage_periods (tenant_id, subscription_id, period_start, period_end)
            values (new.tenant_id, new.id, new.current_period_start, new.current_period_end)
            on conflict (subscription_id, period_start) do update set period_end = excluded.period_end
            where usage_periods.closed_at is null and usage_periods.period_end <> excluded.period_end;
        return null;
    end
    $$;
revoke all on function usage_periods_follow_subscription() from public;
create trigger subscriptions_usage_periods
    after insert or update of current_period_start, current_period_end on subscriptions
    for each row execute function usage_periods_follow_subscription();

-- Per subscription, period, metric and UTC day (the day an event occurred, or for an adjustment the day
-- it was recorded), adjustments apart.
create table usage_rollups (
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    period_start timestamptz not null,
    metric varchar(50) not null,
    day date not null,
    adjustment boolean not null,
    quantity bigint not null check (quantity >= 0),
    events bigint not null check (events >= 0),
    primary key (subscription_id, period_start, metric, day, adjustment),
    foreign key (subscription_id, period_start) references usage_periods(subscription_id, period_start)
        on delete cascade
);

alter table usage_periods enable row level security;
alter table usage_rollups enable row level security;
create policy tenant_rows on usage_periods
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on usage_rollups
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- A record with the day it counts on: the one definition the roll-up sums and the live tail reads.
create view usage_record_days with (security_invoker = true) as
    select u.id, u.tenant_id, u.subscription_id, u.period_start, u.metric, u.adjustment, u.quantity,
           ((case when u.adjustment then u.recorded_at else u.occurred_at end) at time zone 'UTC')::date as day
    from usage_records u;

-- Usage per subscription, period, metric, day and adjustment: the roll-up plus the records newer than its
-- watermark. Every reader (the buyer's usage, the subscription views, the seller's usage) sums this view,
-- so they all show the same numbers, exact at any moment. Rows may repeat a key: sum them.
create view usage_daily with (security_invoker = true) as
    select r.tenant_id, r.subscription_id, r.period_start, r.metric, r.day, r.adjustment, r.quantity
    from usage_rollups r
    union all
    select d.tenant_id, d.subscription_id, d.period_start, d.metric, d.day, d.adjustment, d.quantity
    from usage_record_days d
    left join usage_periods p on p.subscription_id = d.subscription_id and p.period_start = d.period_start
    where d.id > coalesce(p.rolled_up_id, 0);

-- The roll-up job's cross-tenant scan: (tenant, subscription, period start and end) of open periods with records past
-- the watermark, or due to close (their end plus `p_grace` has passed). The work then runs in the tenant's
-- own unit of work under row-level security.
create or replace function usage_rollup_due(p_now timestamptz, p_grace interval, p_limit integer)
    returns table (tenant_id uuid, subscription_id uuid, period_start timestamptz, period_end timestamptz)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select p.tenant_id, p.subscription_id, p.period_start, p.period_end from usage_periods p
        where p.closed_at is null
          and (p.period_end + p_grace <= p_now
               or exists (select 1 from usage_records u where u.subscription_id = p.subscription_id
                          and u.period_start = p.period_start and u.id > p.rolled_up_id))
        order by p.period_end limit least(greatest(p_limit, 0), 10000)
    $$;

-- The seller's usage of one of its products: per subscription (buyer organization, plan, current period)
-- and metric, in each subscription's current period. Takes the seller from app_current_tenant() and
-- returns nothing for another seller's product.
create or replace function seller_product_usage(p_product_id uuid)
    returns table (subscription_id uuid, buyer_tenant_id uuid, buyer_name varchar, plan_id varchar,
                   plan_name text, status varchar, period_start timestamptz, period_end timestamptz,
                   metric varchar, quantity bigint)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.id, s.tenant_id, t.name, s.plan_id, s.plan ->> 'name', s.status,
               s.current_period_start, s.current_period_end, d.metric, sum(d.quantity)::bigint
        from subscriptions s join tenants t on t.id = s.tenant_id
        left join usage_daily d on d.subscription_id = s.id and d.period_start = s.current_period_start
        where s.seller_tenant_id = app_current_tenant() and s.product_id = p_product_id
        group by s.id, t.name, d.metric
        order by t.name, s.id, d.metric
    $$;

revoke all on function usage_rollup_due(timestamptz, interval, integer), seller_product_usage(uuid) from public;
grant execute on function usage_rollup_due(timestamptz, interval, integer), seller_product_usage(uuid)
    to cmp_app;
