-- Workflow secrets (issue 11; spec Part 7 `secrets`): named values a subscription's workflow steps reference as
-- `{{ secrets.NAME }}`. Envelope encryption (`cmp.workflows.secrets`): each value is sealed with AES-256-GCM
-- under its own data key, and only the data key wrapped by the environment's KMS key is kept (`wrapped_key`),
-- so the database never holds a value or a key in clear. The name, tenant and subscription are the KMS
-- encryption context and the GCM associated data: a row copied under another name or subscription does not
-- open. `rotations` lists when the value was replaced (newest last); `last_used_at` is when a step last read it.
-- Rows belong to the BUYER's organization (tenant_id, row-level security).

create table workflow_secrets (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    name varchar(64) not null check (name ~ '^[A-Za-z][A-Za-z0-9_]{0,63}$'),
    wrapped_key bytea not null,
    nonce bytea not null check (length(nonce) = 12),
    ciphertext bytea not null,
    rotations jsonb not null default '[]',
    last_used_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (subscription_id, name),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);

alter table workflow_secrets enable row level security;
create policy tenant_rows on workflow_secrets
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
