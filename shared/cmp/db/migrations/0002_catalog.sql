-- Catalog: seller products (the working copy), plans, frozen versions, review runs, uploaded assets,
-- and the public marketplace projection of each product's live version.

create table products (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    category varchar(20) not null check (category in ('agent', 'app', 'assistant', 'automation')),
    subcategory varchar(50) not null,
    tags jsonb not null default '[]',
    capabilities jsonb,
    name varchar(120),
    slug varchar(120) unique,
    short_description varchar(150),
    full_description text,
    logo_key text,
    screenshot_keys jsonb not null default '[]',
    demo_url varchar(500),
    documentation_url varchar(500),
    flow_format varchar(20),
    flow_definition jsonb,
    import_report jsonb,
    template varchar(40),
    status varchar(20) not null default 'draft'
        check (status in ('draft', 'pending_review', 'approved', 'rejected', 'archived')),
    review_reasons jsonb not null default '[]',
    completed_steps jsonb not null default '[]',
    live_version varchar(20),
    published_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index products_tenant on products(tenant_id, updated_at desc);

create table plans (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    product_id uuid not null references products(id) on delete cascade,
    position integer not null,
    spec jsonb not null,
    created_at timestamptz not null default now(),
    unique (product_id, position)
);

create table product_versions (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    product_id uuid not null references products(id) on delete cascade,
    version varchar(20) not null,
    capabilities jsonb not null,
    plans jsonb not null,
    listing jsonb not null,
    approved_by uuid,
    created_at timestamptz not null default now(),
    unique (product_id, version)
);

create table product_review_runs (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    product_id uuid not null references products(id) on delete cascade,
    status varchar(20) not null default 'queued'
        check (status in ('queued', 'checks_passed', 'checks_failed', 'approved', 'rejected', 'superseded')),
    checks jsonb not null default '[]',
    reasons jsonb not null default '[]',
    decided_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index product_review_runs_product on product_review_runs(product_id, created_at desc);

create table product_assets (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    product_id uuid not null references products(id) on delete cascade,
    kind varchar(20) not null check (kind in ('logo', 'screenshot')),
    object_key text not null unique,
    content_type varchar(100) not null,
    max_bytes bigint not null,
    size_bytes bigint,
    status varchar(20) not null default 'pending' check (status in ('pending', 'ready')),
    created_at timestamptz not null default now()
);

-- array_to_string is only STABLE; tags of text[] joined this way are immutable, as a generated column needs.
create or replace function tags_text(p_tags text[]) returns text
    language sql immutable parallel safe
    as $$ select coalesce(array_to_string(p_tags, ' '), '') $$;

create table marketplace_listings (
    product_id uuid primary key references products(id) on delete cascade,
    tenant_id uuid not null references tenants(id) on delete cascade,
    version varchar(20) not null,
    slug varchar(120) not null unique,
    name varchar(120) not null,
    short_description varchar(150) not null,
    full_description text not null default '',
    category varchar(20) not null,
    subcategory varchar(50) not null,
    tags text[] not null default '{}',
    seller_name varchar(200) not null,
    logo_key text,
    screenshot_keys jsonb not null default '[]',
    demo_url varchar(500),
    documentation_url varchar(500),
    capabilities jsonb not null,
    plans jsonb not null,
    min_price_monthly numeric(10, 2),
    runtime_types text[] not null default '{}',
    featured boolean not null default false,
    rating_avg numeric(3, 2) not null default 0,
    rating_count integer not null default 0,
    subscriber_count integer not null default 0,
    published_at timestamptz not null,
    search_vector tsvector generated always as (
        setweight(to_tsvector('english', coalesce(name, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(name, '')), 'A')
        || setweight(to_tsvector('simple', tags_text(tags)), 'B')
        || setweight(to_tsvector('english', coalesce(short_description, '')), 'B')
        || setweight(to_tsvector('english', coalesce(full_description, '')), 'C')
    ) stored
);
create index marketplace_listings_search on marketplace_listings using gin (search_vector);
create index marketplace_listings_category on marketplace_listings(category, subcategory);
create index marketplace_listings_tags on marketplace_listings using gin (tags);
create index marketplace_listings_published on marketplace_listings(published_at desc, product_id);
create index marketplace_listings_price on marketplace_listings(min_price_monthly, product_id);

alter table products enable row level security;
alter table plans enable row level security;
alter table product_versions enable row level security;
alter table product_review_runs enable row level security;
alter table product_assets enable row level security;
alter table marketplace_listings enable row level security;

create policy tenant_rows on products
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on plans
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on product_versions
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on product_review_runs
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy tenant_rows on product_assets
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
-- The marketplace is public: anyone reads live listings; only the owning tenant writes them.
create policy public_read on marketplace_listings for select using (true);
create policy owner_insert on marketplace_listings for insert with check (tenant_id = app_current_tenant());
create policy owner_update on marketplace_listings for update
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());
create policy owner_delete on marketplace_listings for delete using (tenant_id = app_current_tenant());

-- Platform admins review across tenants through this one narrow read; decisions then run in the
-- product's own tenant context.
create or replace function admin_review_queue()
    returns table (product_id uuid, tenant_id uuid, tenant_name varchar, name varchar, category varchar,
                   status varchar, review_run_id uuid, review_status varchar, checks jsonb, submitted_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select p.id, p.tenant_id, t.name, p.name, p.category, p.status, r.id, r.status, r.checks, r.created_at
        from products p
        join tenants t on t.id = p.tenant_id
        join lateral (
            select * from product_review_runs rr where rr.product_id = p.id order by rr.created_at desc limit 1
        ) r on true
        where p.status = 'pending_review'
        order by r.created_at
    $$;

create or replace function admin_product_tenant(p_product_id uuid) returns uuid
    language sql stable security definer set search_path = public, pg_temp
    as $$ select tenant_id from products where id = p_product_id $$;

revoke all on function admin_review_queue(), admin_product_tenant(uuid) from public;
grant execute on function admin_review_queue(), admin_product_tenant(uuid) to cmp_app;
