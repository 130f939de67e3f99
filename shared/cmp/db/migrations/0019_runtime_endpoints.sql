-- Dedicated runtimes (issue 14): where the gateway reaches each dedicated subscription's runtime, the product
-- version it runs, and whether it is up. Written by the runtime provisioning worker (register_endpoint after
-- the rollout is available; `deprovisioned` after cancellation), read by the gateway's router. One row per
-- dedicated subscription, in the buyer's tenant (row-level security).
create table runtime_endpoints (
    subscription_id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    namespace varchar(63) not null check (namespace = 'tenant-' || tenant_id::text),
    url text not null check (url ~ '^https?://'),
    product_version varchar(50) not null,
    role_arn text,
    state varchar(20) not null check (state in ('ready', 'down', 'deprovisioned')),
    state_reason text,
    registered_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index runtime_endpoints_tenant on runtime_endpoints(tenant_id);

alter table runtime_endpoints enable row level security;
create policy tenant_rows on runtime_endpoints
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
