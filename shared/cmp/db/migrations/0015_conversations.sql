-- The agent runtime's conversations (DESIGN §3 `conversations`; spec Part 7 "Runtime Execution"): a session
-- per end-user conversation with one subscription's agent, its messages (the transcript: each user turn and
-- each answer, with the answer's language, citations, grounding and token counts), and end-user feedback on
-- any answer. All three belong to the BUYER's organization (tenant_id, row-level security), like the
-- subscription they talk to; the composite keys make a row naming another organization's subscription,
-- session or message impossible.

create table conversation_sessions (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    channel varchar(20) not null check (channel in ('api_key', 'widget_token', 'portal')),
    api_key_id uuid,
    language varchar(35),
    message_count integer not null default 0 check (message_count >= 0),
    created_at timestamptz not null default now(),
    last_message_at timestamptz not null default now(),
    unique (id, tenant_id),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index conversation_sessions_subscription on conversation_sessions(subscription_id, last_message_at desc);

-- One row per turn. `idempotency_key` (the client's Idempotency-Key header) is set on the user's message:
-- a retried request finds it and gets the first answer back instead of a second one.
create table conversation_messages (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    session_id uuid not null,
    role varchar(10) not null check (role in ('user', 'assistant')),
    content text not null,
    language varchar(35),
    image_media_type varchar(40),
    reply_to uuid references conversation_messages(id) on delete cascade,
    citations jsonb not null default '[]',
    grounded boolean,
    confidence real check (confidence between 0 and 1),
    fallback varchar(10) check (fallback in ('refuse', 'general', 'escalate')),
    mode varchar(12) check (mode in ('extractive', 'generative')),
    tokens_in integer not null default 0 check (tokens_in >= 0),
    tokens_out integer not null default 0 check (tokens_out >= 0),
    idempotency_key varchar(255),
    created_at timestamptz not null default now(),
    unique (id, tenant_id),
    foreign key (session_id, tenant_id) references conversation_sessions(id, tenant_id) on delete cascade,
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade,
    check (role = 'assistant' or reply_to is null)
);
create index conversation_messages_session on conversation_messages(session_id, created_at);
create unique index conversation_messages_idempotency
    on conversation_messages(tenant_id, subscription_id, idempotency_key) where idempotency_key is not null;
create unique index conversation_messages_answer on conversation_messages(reply_to) where reply_to is not null;

-- A rating of one answer; rating it again replaces the first (one row per message).
create table message_feedback (
    message_id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null,
    rating varchar(4) not null check (rating in ('up', 'down')),
    comment text check (length(comment) <= 2000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (message_id, tenant_id) references conversation_messages(id, tenant_id) on delete cascade,
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index message_feedback_subscription on message_feedback(subscription_id, created_at desc);

alter table conversation_sessions enable row level security;
alter table conversation_messages enable row level security;
alter table message_feedback enable row level security;
create policy tenant_rows on conversation_sessions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on conversation_messages
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on message_feedback
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
