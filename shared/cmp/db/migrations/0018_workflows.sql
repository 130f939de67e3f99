-- Automations (spec Part 7 Workflow Database Schema; DESIGN §3: `workflows` owns them). A subscription's
-- workflows, every saved version of each (definition + compiled Amazon States Language + its state machine),
-- the runs and each step's executions. A version that cannot run (an imported flow with nodes this platform
-- does not execute) has no ASL and lists its `problems` ({path, message}); it cannot be activated.
-- All rows belong to the BUYER's organization (tenant_id, row-level security); the composite foreign keys
-- make a row naming another organization's subscription, workflow or run impossible.

create table workflows (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    name varchar(255) not null check (length(btrim(name)) > 0),
    description text not null default '',
    source varchar(20) not null default 'product' check (source in ('product', 'n8n', 'langflow', 'custom')),
    trigger_type varchar(50) not null,
    trigger_config jsonb not null default '{}',
    webhook_id varchar(40) not null unique check (webhook_id ~ '^wh_[A-Za-z0-9_-]{20,36}$'),
    status varchar(20) not null default 'draft' check (status in ('draft', 'active', 'paused')),
    version integer not null default 1 check (version > 0),
    active_version integer check (active_version between 1 and version),
    total_runs bigint not null default 0,
    successful_runs bigint not null default 0,
    failed_runs bigint not null default 0,
    last_run_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (id, tenant_id),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index workflows_subscription on workflows(subscription_id, created_at);

create table workflow_versions (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    workflow_id uuid not null,
    version integer not null check (version > 0),
    definition jsonb not null,
    asl jsonb,
    problems jsonb not null default '[]',
    state_machine_arn text,
    created_at timestamptz not null default now(),
    unique (workflow_id, version),
    foreign key (workflow_id, tenant_id) references workflows(id, tenant_id) on delete cascade
);

create table workflow_runs (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    workflow_id uuid not null,
    subscription_id uuid not null,
    version integer not null,
    trigger_type varchar(50) not null,
    trigger_payload jsonb not null default '{}',
    status varchar(20) not null default 'pending'
        check (status in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    idempotency_key varchar(255),
    rerun_of uuid,
    execution_arn text,
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms integer,
    output jsonb,
    error_message text,
    error_details jsonb,
    created_at timestamptz not null default now(),
    unique (id, tenant_id),
    foreign key (workflow_id, tenant_id) references workflows(id, tenant_id) on delete cascade
);
-- One run per idempotency key and workflow: a retried request finds the first run.
create unique index workflow_runs_idempotency on workflow_runs(workflow_id, idempotency_key)
    where idempotency_key is not null;
create index workflow_runs_workflow on workflow_runs(workflow_id, created_at desc, id desc);
create index workflow_runs_subscription on workflow_runs(subscription_id, created_at);

create table workflow_step_executions (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    run_id uuid not null,
    step_id varchar(100) not null,
    step_type varchar(50) not null,
    step_name varchar(255),
    status varchar(20) not null check (status in ('running', 'succeeded', 'failed')),
    attempt integer not null default 0,
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms integer,
    input jsonb,
    output jsonb,
    error_message text,
    metadata jsonb not null default '{}',
    created_at timestamptz not null default now(),
    foreign key (run_id, tenant_id) references workflow_runs(id, tenant_id) on delete cascade
);
create index workflow_step_executions_run on workflow_step_executions(run_id, started_at);

alter table workflows enable row level security;
alter table workflow_versions enable row level security;
alter table workflow_runs enable row level security;
alter table workflow_step_executions enable row level security;
create policy tenant_rows on workflows
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on workflow_versions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on workflow_runs
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on workflow_step_executions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The flow a subscription's product was built from (the seller's import), for the buyer's first workflow.
-- The product row belongs to the seller's tenant, so the buyer cannot read it under row-level security; this
-- returns only the flow, and only for a subscription the current tenant holds (no row otherwise).
create or replace function workflow_product_flow(p_subscription_id uuid)
returns table (flow_format text, flow_definition jsonb)
language sql stable security definer set search_path = public
as $$
    select p.flow_format::text, p.flow_definition
    from subscriptions s join products p on p.id = s.product_id
    where s.id = p_subscription_id and s.tenant_id = app_current_tenant()
$$;
revoke all on function workflow_product_flow(uuid) from public;
grant execute on function workflow_product_flow(uuid) to cmp_app;

-- A webhook delivery's only read before its tenant is known: the workflow behind a webhook id (its URL,
-- `POST /v1/hooks/{webhook_id}`). Returns the ids only; the caller continues in that tenant's context.
create or replace function workflow_hook(p_webhook_id text)
returns table (tenant_id uuid, workflow_id uuid)
language sql stable security definer set search_path = public
as $$
    select w.tenant_id, w.id from workflows w where w.webhook_id = p_webhook_id
$$;
revoke all on function workflow_hook(text) from public;
grant execute on function workflow_hook(text) to cmp_app;
