-- Commerce: orders, subscriptions (a snapshot of the version bought), provider customers and the payment
-- events already applied. Every row belongs to the BUYER's organization (tenant_id) and is protected by
-- row-level security on it; seller_tenant_id names the seller for the seller's aggregated views, which read
-- through narrow SECURITY DEFINER functions, never the buyer's rows. Amounts are integers in the minor
-- unit of an ISO 4217 currency.

create table subscriptions (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    project_id uuid not null references projects(id),
    seller_tenant_id uuid not null references tenants(id),
    product_id uuid not null references products(id),
    product_version varchar(20) not null,
    product_name varchar(120) not null,
    product_slug varchar(120) not null,
    category varchar(20) not null check (category in ('agent', 'app', 'assistant', 'automation')),
    plan_id varchar(40) not null,
    plan jsonb not null,
    capabilities jsonb not null,
    configuration jsonb not null default '{}',
    runtime_type varchar(20) not null check (runtime_type in ('shared', 'dedicated')),
    status varchar(20) not null
        check (status in ('provisioning', 'active', 'past_due', 'cancelled', 'expired', 'suspended')),
    billing_period varchar(10) not null check (billing_period in ('monthly', 'yearly')),
    currency char(3) not null,
    amount bigint not null check (amount >= 0),
    current_period_start timestamptz not null,
    current_period_end timestamptz not null,
    cancel_at_period_end boolean not null default false,
    cancelled_at timestamptz,
    cancellation_reason text,
    pending_change jsonb,
    payment_provider varchar(20) not null,
    provider_customer_ref text,
    provider_subscription_ref text,
    provisioning jsonb not null default '{}',
    last_event_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (current_period_end > current_period_start)
);
create index subscriptions_tenant on subscriptions(tenant_id, created_at desc);
create index subscriptions_seller on subscriptions(seller_tenant_id, product_id);
create index subscriptions_renewal on subscriptions(current_period_end) where status in ('active', 'past_due');
-- One live subscription to a product per project: a duplicate checkout or webhook cannot make a second.
create unique index subscriptions_one_live on subscriptions(project_id, product_id)
    where status in ('provisioning', 'active', 'past_due', 'suspended');
create unique index subscriptions_provider_ref on subscriptions(payment_provider, provider_subscription_ref)
    where provider_subscription_ref is not null;

create table orders (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    seller_tenant_id uuid not null references tenants(id),
    buyer_user_id uuid references users(id),
    kind varchar(20) not null default 'purchase' check (kind in ('purchase', 'plan_change', 'renewal')),
    product_id uuid not null references products(id),
    product_version varchar(20) not null,
    plan_id varchar(40) not null,
    plan_name varchar(100) not null,
    billing_period varchar(10) not null check (billing_period in ('monthly', 'yearly')),
    currency char(3) not null,
    amount bigint not null,
    status varchar(20) not null default 'pending'
        check (status in ('pending', 'paid', 'active', 'failed', 'cancelled', 'refunded')),
    subscription_id uuid references subscriptions(id),
    payment_provider varchar(20) not null,
    checkout_session_id text,
    payment jsonb not null default '{}',
    failure_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index orders_tenant on orders(tenant_id, created_at desc);
create index orders_seller on orders(seller_tenant_id, created_at desc);
create index orders_pending on orders(created_at) where status in ('pending', 'paid');
create unique index orders_checkout_session on orders(payment_provider, checkout_session_id)
    where checkout_session_id is not null;

create table payment_customers (
    tenant_id uuid not null references tenants(id) on delete cascade,
    provider varchar(20) not null,
    customer_ref text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, provider)
);

-- Provider events applied, claimed in the same transaction as their effect (a failed write releases the
-- claim; a redelivered event finds it and does nothing).
create table payment_events (
    provider varchar(20) not null,
    event_id text not null,
    tenant_id uuid not null references tenants(id) on delete cascade,
    raw_type text not null,
    order_id uuid,
    received_at timestamptz not null default now(),
    primary key (provider, event_id)
);

alter table subscriptions enable row level security;
alter table orders enable row level security;
alter table payment_customers enable row level security;
alter table payment_events enable row level security;
create policy tenant_rows on subscriptions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on orders
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on payment_customers
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on payment_events
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
