-- Commerce flows on top of 0010: what an order bought (frozen at checkout), idempotent checkouts, billing
-- anchors and status reasons on subscriptions, usage records, reconciliation issues, the local payment
-- provider's own store, and the narrow cross-tenant functions of the billing jobs and the webhook.

-- An order freezes what it buys (the plan document and the capability snapshot of the version, the
-- product's name, slug and category, the project it is for), so applying its payment later never reads a
-- newer version. `idempotency_key` + `request_fingerprint`: a retried checkout returns the first order.
alter table orders
    add column project_id uuid references projects(id),
    add column product_name varchar(120),
    add column product_slug varchar(120),
    add column category varchar(20) check (category in ('agent', 'app', 'assistant', 'automation')),
    add column plan jsonb,
    add column capabilities jsonb,
    add column runtime_type varchar(20) check (runtime_type in ('shared', 'dedicated')),
    add column idempotency_key varchar(255),
    add column request_fingerprint varchar(64),
    add column provider_subscription_ref text;
create unique index orders_idempotency on orders(tenant_id, idempotency_key) where idempotency_key is not null;
create index orders_subscription on orders(subscription_id) where subscription_id is not null;

-- The day of the month periods renew on (Stripe's billing cycle anchor), and why a subscription is in its
-- status (a declined renewal, a failed provisioning).
alter table subscriptions
    add column billing_anchor_day smallint check (billing_anchor_day between 1 and 31),
    add column status_reason text;
create index subscriptions_product_live on subscriptions(product_id)
    where status in ('provisioning', 'active', 'past_due', 'suspended');

-- Usage against plan limits (spec Part 8). Written exactly once per dedup_key by metering later; the
-- subscription views sum the current period per metric.
create table usage_records (
    id bigint generated always as identity primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null references subscriptions(id) on delete cascade,
    api_key_id uuid,
    metric varchar(50) not null,
    quantity bigint not null check (quantity >= 0),
    metadata jsonb,
    recorded_at timestamptz not null default now(),
    dedup_key varchar(200) not null,
    unique (tenant_id, dedup_key)
);
create index usage_records_subscription on usage_records(subscription_id, metric, recorded_at);

-- What reconciliation found and could not repair by itself (or repaired, with resolved_at): one open issue
-- per kind and order/subscription.
create table reconciliation_issues (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    kind varchar(40) not null check (kind in (
        'duplicate_purchase', 'paid_without_subscription', 'subscription_without_payment',
        'checkout_lost', 'provisioning_failed')),
    order_id uuid references orders(id),
    subscription_id uuid references subscriptions(id),
    reason text not null,
    detected_at timestamptz not null default now(),
    resolved_at timestamptz,
    check (order_id is not null or subscription_id is not null)
);
create unique index reconciliation_issues_open
    on reconciliation_issues(kind, coalesce(order_id, subscription_id)) where resolved_at is null;
create index reconciliation_issues_tenant on reconciliation_issues(tenant_id, detected_at desc);

alter table usage_records enable row level security;
alter table reconciliation_issues enable row level security;
create policy tenant_rows on usage_records
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on reconciliation_issues
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The local payment provider (cmp.commerce.local_payments) stands in for an outside system: its objects
-- (customers, checkout sessions, subscriptions, invoices, events) have global ids like Stripe's, and the
-- payment port's calls (retrieve a session, charge a renewal, verify a webhook) carry no tenant. So its
-- store is a platform table the application role cannot touch, reached only through the three functions
-- below, keyed by the provider's own unguessable ids. `idempotency_key` makes a retried call return the
-- object the first call made (Stripe's Idempotency-Key).
create table local_payment_objects (
    id text primary key,
    kind varchar(30) not null,
    data jsonb not null,
    idempotency_key text unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
revoke all on local_payment_objects from cmp_app;

create or replace function local_payments_put(p_id text, p_kind text, p_data jsonb, p_idempotency_key text)
    returns jsonb
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    declare stored jsonb;
    begin
        insert into local_payment_objects (id, kind, data, idempotency_key)
            values (p_id, p_kind, p_data, p_idempotency_key)
            on conflict (idempotency_key) do nothing
            returning data into stored;
        if stored is null then
            select data into stored from local_payment_objects where idempotency_key = p_idempotency_key;
        end if;
        return stored;
    end
    $$;

create or replace function local_payments_get(p_id text) returns jsonb
    language sql stable security definer set search_path = public, pg_temp
    as $$ select data from local_payment_objects where id = p_id $$;

create or replace function local_payments_update(p_id text, p_data jsonb) returns jsonb
    language sql security definer set search_path = public, pg_temp
    as $$ update local_payment_objects set data = p_data, updated_at = now() where id = p_id returning data $$;

-- Which tenant (and order) a provider event is about when its metadata does not say: by the checkout
-- session, the provider's subscription, or the provider's customer.
create or replace function payment_event_owner(
    p_provider text, p_session_id text, p_subscription_ref text, p_customer_ref text)
    returns table (tenant_id uuid, order_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        (select o.tenant_id, o.id from orders o
          where o.payment_provider = p_provider and o.checkout_session_id = p_session_id)
        union all
        (select s.tenant_id, null::uuid from subscriptions s
          where s.payment_provider = p_provider and s.provider_subscription_ref = p_subscription_ref)
        union all
        (select o.tenant_id, o.id from orders o
          where o.payment_provider = p_provider and o.provider_subscription_ref = p_subscription_ref
          order by o.created_at limit 1)
        union all
        (select c.tenant_id, null::uuid from payment_customers c
          where c.provider = p_provider and c.customer_ref = p_customer_ref)
        limit 1
    $$;

-- The plans of a published version (a plan change stays within the version the subscription holds).
create or replace function published_version_plans(p_product_id uuid, p_version text) returns jsonb
    language sql stable security definer set search_path = public, pg_temp
    as $$ select plans from product_versions where product_id = p_product_id and version = p_version $$;

-- marketplace_listings.subscriber_count: the organizations holding the product live, recomputed in the
-- transaction that starts or ends a subscription. The listing row is locked first and counted in a second
-- statement (a fresh snapshot under READ COMMITTED), so a change that waited for another's lock counts it:
-- one UPDATE with the count in its SET would keep the snapshot from before the wait and lose a change.
create or replace function commerce_refresh_subscriber_count(p_product_id uuid) returns integer
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    declare counted integer;
    begin
        perform 1 from marketplace_listings where product_id = p_product_id for update;
        update marketplace_listings set subscriber_count = (
            select count(distinct s.tenant_id) from subscriptions s
            where s.product_id = p_product_id and s.status in ('provisioning', 'active', 'past_due', 'suspended'))
        where product_id = p_product_id
        returning subscriber_count into counted;
        return counted;
    end
    $$;

-- The billing jobs' cross-tenant reads: each returns (tenant_id, id) pairs only; the work then runs in
-- the tenant's own unit of work under row-level security.
create or replace function billing_due_subscriptions(p_provider text, p_now timestamptz, p_limit integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.tenant_id, s.id from subscriptions s
        where s.payment_provider = p_provider and s.current_period_end <= p_now
          and (s.status = 'active' or (s.status = 'past_due' and s.cancel_at_period_end))
        order by s.current_period_end limit p_limit
    $$;

create or replace function billing_stale_orders(p_cutoff timestamptz, p_limit integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.tenant_id, o.id from orders o
        where o.created_at < p_cutoff and o.kind = 'purchase'
          and (o.status = 'pending' or (o.status = 'paid' and o.subscription_id is null))
          and not exists (select 1 from reconciliation_issues r where r.order_id = o.id and r.resolved_at is null)
        order by o.updated_at limit p_limit
    $$;

create or replace function billing_unpaid_subscriptions(p_cutoff timestamptz, p_limit integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.tenant_id, s.id from subscriptions s
        where s.created_at < p_cutoff
          and s.status in ('provisioning', 'active', 'past_due', 'suspended')
          and not exists (select 1 from orders o where o.subscription_id = s.id and o.status in ('paid', 'active'))
          and not exists (select 1 from reconciliation_issues r
                          where r.subscription_id = s.id and r.kind = 'subscription_without_payment'
                            and r.resolved_at is null)
        order by s.created_at limit p_limit
    $$;

revoke all on function local_payments_put(text, text, jsonb, text), local_payments_get(text),
    local_payments_update(text, jsonb), payment_event_owner(text, text, text, text),
    published_version_plans(uuid, text), commerce_refresh_subscriber_count(uuid),
    billing_due_subscriptions(text, timestamptz, integer), billing_stale_orders(timestamptz, integer),
    billing_unpaid_subscriptions(timestamptz, integer) from public;
grant execute on function local_payments_put(text, text, jsonb, text), local_payments_get(text),
    local_payments_update(text, jsonb), payment_event_owner(text, text, text, text),
    published_version_plans(uuid, text), commerce_refresh_subscriber_count(uuid),
    billing_due_subscriptions(text, timestamptz, integer), billing_stale_orders(timestamptz, integer),
    billing_unpaid_subscriptions(timestamptz, integer) to cmp_app;
