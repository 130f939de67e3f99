-- Public marketplace reads (cmp.catalog.marketplace): a read-only view over marketplace_listings, an index
-- for the featured shelf and for each browse order, and GIN indexes without pending lists. Measurements at
-- 10,000 listings are in docs/performance.md, "Marketplace search".
--
-- Why a view. The listings' select policy is `using (true)`, yet any row-level security policy makes the
-- planner ignore column statistics for operators that are not leakproof (tsvector `@@`, numeric `>=`):
-- a filtered full-text search (q + category + price range) was estimated at 1 row and planned as a walk
-- over the price index, filtering ~7,600 of 10,000 listings (7.9 ms p50). This view runs with its owner's
-- rights, so the planner sees the statistics and intersects the GIN and category indexes (1.3 ms p50).
-- It shows what the select policy shows (every row) minus tenant_id; if that policy ever hides rows, this
-- view must apply the same filter.
create view marketplace_catalog as
    select product_id, version, slug, name, short_description, full_description, category, subcategory, tags,
           seller_name, logo_key, screenshot_keys, demo_url, documentation_url, capabilities, plans,
           min_price_monthly, runtime_types, featured, rating_avg, rating_count, subscriber_count, published_at,
           search_vector
    from marketplace_listings;

-- The default privileges of 0001 would let the application write through this (automatically updatable)
-- view with the owner's rights, around the owner-only write policies: it may only read.
revoke all on marketplace_catalog from cmp_app;
grant select on marketplace_catalog to cmp_app;

-- Featured shelf: featured first, then best rated, then newest. An index in exactly that order answers
-- with its first rows instead of sorting every listing (17 ms -> 0.2 ms p50).
create index marketplace_listings_featured on marketplace_listings
    (featured desc, rating_avg desc, rating_count desc, published_at desc, product_id);

-- Browsing without a search text: one index per sort of cmp.catalog.search, in exactly its key order, so
-- a page reads its first index entries instead of sorting every listing (~15 ms -> ~0.7 ms p50, page 1
-- and page 5 alike). `newest` uses marketplace_listings_published from 0002.
create index marketplace_listings_rating on marketplace_listings
    (rating_avg desc, rating_count desc, product_id);
create index marketplace_listings_popular on marketplace_listings
    (subscriber_count desc, rating_avg desc, product_id);
create index marketplace_listings_price_asc on marketplace_listings
    ((min_price_monthly is null), coalesce(min_price_monthly, 0), product_id);
create index marketplace_listings_price_desc on marketplace_listings
    ((min_price_monthly is null), coalesce(min_price_monthly, 0) desc, product_id);
create index marketplace_listings_name on marketplace_listings (lower(name), product_id);

-- Listings are read on every marketplace request and written once per publication. With GIN's default
-- fastupdate, new entries wait in a pending list that every search scans linearly until a vacuum merges
-- it (a filtered search took 10.5 ms instead of 2.9 ms p50 before the first vacuum). Write each entry
-- into the index directly instead, and merge what is already pending.
alter index marketplace_listings_search set (fastupdate = off);
alter index marketplace_listings_tags set (fastupdate = off);
select gin_clean_pending_list('marketplace_listings_search'::regclass);
select gin_clean_pending_list('marketplace_listings_tags'::regclass);
