-- Workflow schedule and event triggers, and failure alerts (docs/automations.md "Triggers").
-- `schedule_since`: when the workflow's EventBridge Scheduler schedule was last (re)created, the start a
-- rate schedule counts from (its next run time is shown on the workflow and in its stats).
alter table workflows add column schedule_since timestamptz;

-- The active workflows of an organization, read when an event arrives to find those listening to it.
create index workflows_active on workflows(tenant_id) where status = 'active';

-- One row per failed run whose alerts went out: the claim that makes them go out once, with what each
-- channel answered ({channel, status, error?}).
create table workflow_run_alerts (
    run_id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    results jsonb not null default '[]',
    sent_at timestamptz not null default now(),
    foreign key (run_id, tenant_id) references workflow_runs(id, tenant_id) on delete cascade
);
alter table workflow_run_alerts enable row level security;
create policy tenant_rows on workflow_run_alerts
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
