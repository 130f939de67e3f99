-- Product reviews and ratings by subscribers (cmp.catalog.ratings), and the seller's sales reads
-- (cmp.commerce.sales_views).
--
-- A review belongs to the BUYER's organization (tenant_id) and is protected by row-level security on it,
-- like the subscription it is written for (one review per subscription). The public reads it through
-- `marketplace_reviews`, a view owned by the migration role that shows only the columns a product page
-- shows (no tenant, subscription or user ids); the table itself has no public policy, so every other read
-- stays tenant-scoped and fails closed (see docs/decisions.md, "Reviews").
--
-- A listing's rating_avg / rating_count belong to the SELLER's listing row, which the buyer may not
-- write. `ratings_refresh_listing` recomputes them from the reviews, in the writer's transaction, after
-- locking the listing row; each writer recomputes after it holds the lock, with a snapshot that sees every
-- writer committed before it, so the last writer always leaves the exact figures.

create table product_ratings (
    id uuid primary key,
    tenant_id uuid not null references tenants(id) on delete cascade,
    subscription_id uuid not null unique references subscriptions(id) on delete cascade,
    product_id uuid not null references products(id) on delete cascade,
    seller_tenant_id uuid not null references tenants(id),
    author_user_id uuid references users(id) on delete set null,
    author_name varchar(200) not null,
    rating smallint not null check (rating between 1 and 5),
    title varchar(120) not null check (char_length(btrim(title)) > 0),
    body text not null default '' check (char_length(body) <= 5000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
-- The public list, newest first, with or without a rating filter (keyset on created_at, id).
create index product_ratings_newest on product_ratings (product_id, created_at desc, id desc);
create index product_ratings_by_rating on product_ratings (product_id, rating, created_at desc, id desc);
create index product_ratings_tenant on product_ratings (tenant_id);

alter table product_ratings enable row level security;
create policy tenant_rows on product_ratings
    using (tenant_id = app_current_tenant()) with check (tenant_id = app_current_tenant());

create view marketplace_reviews as
    select id, product_id, rating, title, body, author_name, created_at, updated_at
    from product_ratings;
-- Like marketplace_catalog (0003): the default privileges of 0001 would let the application write
-- through this automatically updatable view with its owner's rights; it may only read.
revoke all on marketplace_reviews from cmp_app;
grant select on marketplace_reviews to cmp_app;

-- The truth a listing's figures must equal: the average rounded to the column's two decimals, the count.
-- Called only inside the SECURITY DEFINER functions below (the application may not call it).
create or replace function product_rating_summary(p_product_id uuid, out rating_avg numeric, out rating_count integer)
    language sql stable set search_path = public, pg_temp
    as $$
        select coalesce(round(avg(r.rating), 2), 0), count(*)::int
        from product_ratings r where r.product_id = p_product_id
    $$;

-- Called by a review's writer in its own transaction, after its insert, update or delete. It can only make
-- the listing agree with the reviews, so any caller may call it for any product. The lock comes first, in
-- its own statement: the update's statement then takes its snapshot after the lock is held (READ
-- COMMITTED), so it sees every review committed by the writers that held the lock before.
create or replace function ratings_refresh_listing(p_product_id uuid) returns void
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    begin
        perform 1 from marketplace_listings l where l.product_id = p_product_id for no key update;
        update marketplace_listings l
            set rating_avg = s.rating_avg, rating_count = s.rating_count
            from product_rating_summary(p_product_id) s
            where l.product_id = p_product_id;
    end
    $$;

-- A listing taken off the marketplace (archive) and published again is a new row: it starts from the
-- reviews, not from zero. The application never gives the figures on insert (they take the column
-- defaults); a row inserted with figures (seeded data) keeps them.
create or replace function marketplace_listings_rating_on_insert() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    begin
        if new.rating_count = 0 then
            select s.rating_avg, s.rating_count into new.rating_avg, new.rating_count
                from product_rating_summary(new.product_id) s;
        end if;
        return new;
    end
    $$;
create trigger marketplace_listings_rating before insert on marketplace_listings
    for each row execute function marketplace_listings_rating_on_insert();

-- The seller's sales reads. Each takes the seller from app_current_tenant() (never from a parameter) and
-- returns only these columns of the buyers' subscriptions and orders of the seller's own products.

-- Per product and overall (product_id null): live and total subscriptions, live and total customers
-- (distinct buyer organizations). `p_live` is cmp.commerce.model.LIVE_STATUSES.
create or replace function seller_subscription_counts(p_live text[])
    returns table (product_id uuid, live_subscriptions integer, total_subscriptions integer,
                   live_customers integer, total_customers integer)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.product_id,
               (count(*) filter (where s.status = any(p_live)))::int,
               count(*)::int,
               (count(distinct s.tenant_id) filter (where s.status = any(p_live)))::int,
               count(distinct s.tenant_id)::int
        from subscriptions s
        where s.seller_tenant_id = app_current_tenant()
        group by grouping sets ((s.product_id), ())
    $$;

-- Revenue per product, period ('month' or 'year', periods starting in UTC) and currency: the sum of the
-- amounts of orders in `p_paid` statuses created in [p_from, p_to). Currencies are never added together.
create or replace function seller_revenue(p_period text, p_from timestamptz, p_to timestamptz, p_paid text[])
    returns table (product_id uuid, period_start date, currency char(3), amount numeric, orders integer)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.product_id, date_trunc(p_period, o.created_at, 'UTC')::date, o.currency, sum(o.amount),
               count(*)::int
        from orders o
        where o.seller_tenant_id = app_current_tenant() and p_period in ('month', 'year')
          and o.status = any(p_paid) and o.created_at >= p_from and o.created_at < p_to
        group by 1, 2, 3
    $$;

-- The seller's latest orders (of one product, or of all when p_product_id is null), newest first.
create or replace function seller_recent_orders(p_product_id uuid, p_limit integer)
    returns table (id uuid, product_id uuid, buyer_tenant_id uuid, buyer_name varchar, plan_id varchar,
                   plan_name varchar, billing_period varchar, currency char(3), amount bigint, status varchar,
                   created_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.id, o.product_id, o.tenant_id, t.name, o.plan_id, o.plan_name, o.billing_period, o.currency,
               o.amount, o.status, o.created_at
        from orders o join tenants t on t.id = o.tenant_id
        where o.seller_tenant_id = app_current_tenant()
          and (p_product_id is null or o.product_id = p_product_id)
        order by o.created_at desc, o.id desc
        limit least(greatest(p_limit, 0), 200)
    $$;

-- One page of a product's subscriptions (its customers), newest first, after (p_after_since, p_after_id).
create or replace function seller_product_customers(p_product_id uuid, p_after_since timestamptz,
                                                    p_after_id uuid, p_limit integer)
    returns table (subscription_id uuid, buyer_tenant_id uuid, buyer_name varchar, plan_id varchar,
                   plan_name text, billing_period varchar, status varchar, since timestamptz,
                   current_period_end timestamptz, cancel_at_period_end boolean)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select s.id, s.tenant_id, t.name, s.plan_id, s.plan ->> 'name', s.billing_period, s.status,
               s.created_at, s.current_period_end, s.cancel_at_period_end
        from subscriptions s join tenants t on t.id = s.tenant_id
        where s.seller_tenant_id = app_current_tenant() and s.product_id = p_product_id
          and (p_after_since is null or (s.created_at, s.id) < (p_after_since, p_after_id))
        order by s.created_at desc, s.id desc
        limit least(greatest(p_limit, 0), 201)
    $$;

revoke all on function product_rating_summary(uuid), ratings_refresh_listing(uuid),
    marketplace_listings_rating_on_insert(), seller_subscription_counts(text[]),
    seller_revenue(text, timestamptz, timestamptz, text[]), seller_recent_orders(uuid, integer),
    seller_product_customers(uuid, timestamptz, uuid, integer) from public;
grant execute on function ratings_refresh_listing(uuid), seller_subscription_counts(text[]),
    seller_revenue(text, timestamptz, timestamptz, text[]), seller_recent_orders(uuid, integer),
    seller_product_customers(uuid, timestamptz, uuid, integer) to cmp_app;
