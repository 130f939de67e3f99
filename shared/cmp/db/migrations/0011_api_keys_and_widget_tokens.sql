-- The buyer's integration credentials (spec Part 8 `api_keys`; DESIGN §3: tenancy owns them).
-- API keys authenticate calls to a subscription's product (REST, MCP); widget tokens let an embedded widget
-- call it from the listed browser origins. Both belong to the BUYER's organization (tenant_id, row-level
-- security) and to one of its subscriptions. Neither secret is stored: only its SHA-256 (hex) and the last
-- characters (`*_hint`) to tell keys apart in a list.

-- A credential's subscription must be of the same tenant: the composite key makes a row that names another
-- organization's subscription impossible, whatever the application does.
alter table subscriptions add constraint subscriptions_id_tenant unique (id, tenant_id);

create table api_keys (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    name varchar(100) not null check (length(btrim(name)) > 0),
    environment varchar(4) not null check (environment in ('live', 'test')),
    key_prefix varchar(20) not null,
    key_hint varchar(8) not null,
    key_hash char(64) not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
    scopes text[] not null default '{invoke}' check (cardinality(scopes) > 0),
    rate_limit_per_minute integer check (rate_limit_per_minute > 0),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    created_by uuid references users(id) on delete set null,
    created_at timestamptz not null default now(),
    check (key_prefix = 'ar_sk_' || environment || '_'),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index api_keys_subscription on api_keys(subscription_id, created_at desc);

create table widget_tokens (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    name varchar(100) not null check (length(btrim(name)) > 0),
    token_hint varchar(8) not null,
    token_hash char(64) not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
    allowed_origins text[] not null check (cardinality(allowed_origins) between 1 and 20),
    created_by uuid references users(id) on delete set null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index widget_tokens_subscription on widget_tokens(subscription_id, created_at desc);

alter table api_keys enable row level security;
alter table widget_tokens enable row level security;
create policy tenant_rows on api_keys
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on widget_tokens
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The gateway's one read before any tenant is known: the credential whose SHA-256 is `p_hash` (an API key or
-- a widget token), with what authorizing a call needs. Revoked, expired and ended-subscription credentials
-- are returned too (with revoked_at, expires_at, subscription_status), so the gateway can say why it
-- refuses; an unknown hash returns no row. rate_limit_per_minute is the key's own limit, else the plan's
-- limits.rateLimitRpm, else the product's runtime.limits.rateLimit (a null plan limit means "up to the
-- product's"). Widget tokens act with the scope invoke, in the live environment.
create or replace function gateway_credential(p_hash text)
    returns table (
        kind text,
        credential_id uuid,
        tenant_id uuid,
        subscription_id uuid,
        product_id uuid,
        environment text,
        scopes text[],
        allowed_origins text[],
        expires_at timestamptz,
        revoked_at timestamptz,
        subscription_status text,
        rate_limit_per_minute integer
    )
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select 'api_key', k.id, k.tenant_id, k.subscription_id, s.product_id, k.environment::text, k.scopes,
               null::text[], k.expires_at, k.revoked_at, s.status::text,
               coalesce(k.rate_limit_per_minute, (s.plan #>> '{limits,rateLimitRpm}')::integer,
                        (s.capabilities #>> '{runtime,limits,rateLimit}')::integer)
        from api_keys k join subscriptions s on s.id = k.subscription_id and s.tenant_id = k.tenant_id
        where k.key_hash = p_hash
        union all
        select 'widget_token', w.id, w.tenant_id, w.subscription_id, s.product_id, 'live', array['invoke'],
               w.allowed_origins, null::timestamptz, w.revoked_at, s.status::text,
               coalesce((s.plan #>> '{limits,rateLimitRpm}')::integer,
                        (s.capabilities #>> '{runtime,limits,rateLimit}')::integer)
        from widget_tokens w join subscriptions s on s.id = w.subscription_id and s.tenant_id = w.tenant_id
        where w.token_hash = p_hash
    $$;

revoke all on function gateway_credential(text) from public;
grant execute on function gateway_credential(text) to cmp_app;
