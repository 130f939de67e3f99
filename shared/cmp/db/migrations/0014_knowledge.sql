-- Knowledge bases (cmp.knowledge, spec Part 6 with pgvector in our own PostgreSQL): documents, their chunks
-- with a tsvector and an embedding, Q&A pairs and crawled websites.
--
-- Every table belongs to the BUYER's organization (tenant_id) and is protected by row-level security on it.
-- A knowledge base belongs to one subscription (or to one product, for seller-provided knowledge) and
-- never mixes embedding models: each chunk stores the model and dimension it was embedded with, and the
-- column `embedding` is an untyped `vector`, so a base on a 1024-dimension model lives beside a base on a
-- 384-dimension one. Queries cast to the dimension (`embedding::vector(384)`) under the matching
-- `embedding_dimension = 384` condition, which is what the partial HNSW index below serves; another
-- dimension gets its own index when a model of that size is configured.

-- Spanish beside 0008's accent-insensitive English and simple configurations: a chunk's ts_config follows
-- its detected language (cmp.knowledge.model.TS_CONFIGS: en → cmp_english, es → cmp_spanish, other →
-- cmp_simple), and a keyword query uses the same configuration.
create text search configuration cmp_spanish (copy = spanish);
alter text search configuration cmp_spanish
    alter mapping for word, hword, hword_part with unaccent, spanish_stem;

create table knowledge_bases (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid unique,
    product_id uuid unique references products(id) on delete cascade,
    embedding_model text not null,
    embedding_dimension integer not null check (embedding_dimension > 0),
    created_at timestamptz not null default now(),
    last_indexed_at timestamptz,
    check ((subscription_id is null) <> (product_id is null)),
    foreign key (subscription_id, tenant_id) references subscriptions(id, tenant_id) on delete cascade
);
create index knowledge_bases_tenant on knowledge_bases (tenant_id);

-- A website added by URL: crawled from `url` (same site, up to max_depth links away and max_pages pages);
-- each page is a document with source_type 'url' pointing back here. refresh_interval is the buyer's
-- choice; the knowledge_refresh schedule re-crawls the sources whose next_refresh_at has passed.
create table knowledge_url_sources (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
    url text not null,
    max_depth integer not null check (max_depth between 0 and 5),
    max_pages integer not null check (max_pages between 1 and 1000),
    refresh_interval text not null check (refresh_interval in ('never', 'daily', 'weekly', 'monthly')),
    status text not null default 'pending' check (status in ('pending', 'crawling', 'indexed', 'failed')),
    error text,
    pages_found integer not null default 0,
    created_at timestamptz not null default now(),
    last_crawled_at timestamptz,
    next_refresh_at timestamptz,
    unique (knowledge_base_id, url)
);
create index knowledge_url_sources_due on knowledge_url_sources (next_refresh_at) where next_refresh_at is not null;

create table knowledge_documents (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
    source_type text not null check (source_type in ('file', 'url', 'qa')),
    url_source_id uuid references knowledge_url_sources(id) on delete cascade,
    filename text,
    content_type text,
    size_bytes bigint not null default 0 check (size_bytes >= 0),
    object_key text unique,
    url text,
    title text,
    author text,
    published_at timestamptz,
    status text not null default 'pending'
        check (status in ('pending', 'parsing', 'embedding', 'indexed', 'failed')),
    progress_done integer not null default 0,
    progress_total integer not null default 0,
    error text,
    chunk_count integer not null default 0,
    -- SHA-256 (hex) of the extracted text the current chunks were made from: a re-delivered job whose
    -- text has this hash and whose document is indexed has nothing to do.
    content_hash text,
    -- The first characters of the extracted text (cmp.knowledge.model.PREVIEW_CHARS), for the preview.
    preview text,
    attempts integer not null default 0,
    metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    indexed_at timestamptz
);
create index knowledge_documents_base on knowledge_documents (tenant_id, knowledge_base_id, created_at desc);
create index knowledge_documents_url_source on knowledge_documents (url_source_id) where url_source_id is not null;

create table knowledge_chunks (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
    document_id uuid not null references knowledge_documents(id) on delete cascade,
    ordinal integer not null check (ordinal >= 0),
    content text not null,
    page integer,
    section text,
    language text,
    ts_config regconfig not null,
    content_tsv tsvector not null generated always as (to_tsvector(ts_config, content)) stored,
    metadata jsonb not null default '{}'::jsonb,
    token_count integer not null default 0,
    embedding_model text,
    embedding_dimension integer,
    embedding vector,
    unique (document_id, ordinal),
    check ((embedding is null) = (embedding_dimension is null)),
    check (embedding is null or vector_dims(embedding) = embedding_dimension)
);
create index knowledge_chunks_base on knowledge_chunks (tenant_id, knowledge_base_id);
create index knowledge_chunks_tsv on knowledge_chunks using gin (content_tsv);
create index knowledge_chunks_embedding_384 on knowledge_chunks
    using hnsw ((embedding::vector(384)) vector_cosine_ops) where embedding_dimension = 384;

-- A Q&A pair is indexed as one chunk of its own document (source_type 'qa'), so a hit cites it like any
-- document; deleting the pair's document deletes the pair and its chunk.
create table knowledge_qa_pairs (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
    document_id uuid not null unique references knowledge_documents(id) on delete cascade,
    question text not null check (char_length(btrim(question)) between 1 and 2000),
    answer text not null check (char_length(btrim(answer)) between 1 and 20000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index knowledge_qa_pairs_base on knowledge_qa_pairs (knowledge_base_id, created_at desc);

alter table knowledge_bases enable row level security;
alter table knowledge_url_sources enable row level security;
alter table knowledge_documents enable row level security;
alter table knowledge_chunks enable row level security;
alter table knowledge_qa_pairs enable row level security;
create policy tenant_rows on knowledge_bases
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on knowledge_url_sources
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on knowledge_documents
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on knowledge_chunks
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on knowledge_qa_pairs
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

-- The knowledge_refresh schedule's one read before any tenant is known: the website sources due for a
-- re-crawl (tenant and source ids only), oldest first.
create or replace function knowledge_due_url_sources(p_now timestamptz, p_limit integer)
    returns table (tenant_id uuid, url_source_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.tenant_id, s.id from knowledge_url_sources s
        where s.next_refresh_at is not null and s.next_refresh_at <= p_now and s.status <> 'crawling'
        order by s.next_refresh_at
        limit least(greatest(p_limit, 0), 1000)
    $$;
revoke all on function knowledge_due_url_sources(timestamptz, integer) from public;
grant execute on function knowledge_due_url_sources(timestamptz, integer) to cmp_app;
