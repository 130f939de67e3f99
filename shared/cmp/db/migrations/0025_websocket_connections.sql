-- Streaming chat over API Gateway WebSocket (issue 13, cmp.chat_ws): one row per open connection, written
-- by `$connect` once the credential is accepted, read by every message, deleted by `$disconnect` or when a
-- send finds the connection gone (GoneException). `context` is the caller's RuntimeContext as the runtime
-- authorizer writes it (`RuntimeContext.to_authorizer`: strings only, never the credential itself).
-- `expires_at` is API Gateway's own limit on a connection's life (2 hours): a row past it is never used and
-- is deleted by the tenant's next `$connect`.
create table websocket_connections (
    connection_id varchar(128) primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    context jsonb not null,
    connected_at timestamptz not null default now(),
    expires_at timestamptz not null,
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index websocket_connections_tenant on websocket_connections(tenant_id, expires_at);

alter table websocket_connections enable row level security;
create policy tenant_rows on websocket_connections
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- A message names only its connection id (API Gateway's, unguessable), not the tenant: this gives the tenant
-- of a live connection, and nothing else, so the message's unit of work can be opened in that tenant.
create function websocket_connection_tenant(p_connection_id text) returns uuid
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select tenant_id from websocket_connections
        where connection_id = p_connection_id and expires_at > now()
    $$;
revoke all on function websocket_connection_tenant(text) from public;
grant execute on function websocket_connection_tenant(text) to cmp_app;
