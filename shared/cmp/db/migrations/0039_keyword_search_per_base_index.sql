-- Keyword search of a large knowledge base (issue 9, "Retrieval at scale"): the GIN index is keyed by
-- knowledge base and text search configuration, so a probe reads only its own base's matching rows of
-- its own configuration.
--
-- Measured with bench/retrieval_scale.py (250,000 chunks, the largest tenant's base 200,000 of them, an
-- 8-word OR question matching 36,444 of its chunks; EXPLAIN ANALYZE in docs/performance.md): the keyword
-- half was 97 % of a hybrid search (1,361 of 1,406 ms; the HNSW half 44 ms). knowledge_keyword_matches
-- (migration 0038) probed the GIN index on content_tsv once per configuration (cmp_english, cmp_spanish,
-- cmp_simple), and each probe's bitmap held the word's matches in EVERY base and configuration: each of
-- the three bitmap heap scans fetched all ~43,000 matching heap rows of the table (41,418 blocks read in
-- all) to keep only its own base's rows of its own configuration, and the ranked rows were then joined
-- to knowledge_documents one by one (36,444 index probes) even when no document filter was given.
--
-- - knowledge_chunks_base_tsv (btree_gin: a GIN index over a uuid, an oid and the tsvector) answers
--   `knowledge_base_id = … and ts_config::oid = … and content_tsv @@ …` inside the index: a
--   configuration the base has no chunks of costs an empty bitmap, not a heap scan, and another base's
--   matches are never fetched (at 1,000,000 chunks across 1,000 tenants the word's matches in the other
--   tenants' bases outnumber the largest tenant's own). It replaces knowledge_chunks_tsv (migration 0014),
--   which no query uses any more: every keyword search is within one base.
-- - Both keyword functions probe it in that form, and read knowledge_documents only when a filter on the
--   document (source type, date, metadata) is given.
--
-- - Both are planned with their arguments on every call (`plan_cache_mode = force_custom_plan`):
--   PostgreSQL 18 caches a SQL function's plan, and after five calls in a session may run its generic
--   plan, which does not know the base: 0038's took 80-89 s a call on the 200,000-chunk base (the
--   custom plans 0.1-0.7 s), and with many small bases the generic plan reads the base through its btree
--   and tests `@@` on every row, which for a large base is the slow path again.
--
-- Words, stop words, OR semantics, ts_rank with normalization 1, the filters and the tenant rule (the
-- caller's own app_current_tenant(), never an argument) are migration 0038's.
create extension if not exists btree_gin;

create index knowledge_chunks_base_tsv on knowledge_chunks
    using gin (knowledge_base_id, (ts_config::oid), content_tsv);
drop index knowledge_chunks_tsv;

create or replace function knowledge_keyword_matches(
    p_base uuid, p_configs regconfig[], p_query text, p_limit integer,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    set plan_cache_mode = force_custom_plan
    as $$
        with words as (
            select string_agg(w, ' or ') as text from regexp_split_to_table(p_query, '\s+') w
            where w <> '' and not exists (
                select 1 from unnest(p_configs) s(config) where to_tsvector(s.config, w) = ''::tsvector)
        ), queries as materialized (
            select cfg.config, websearch_to_tsquery(cfg.config, words.text) as query
            from unnest(p_configs) as cfg(config) cross join words
        )
        select c.id, ts_rank(c.content_tsv, q.query, 1) as rank
        from queries q
        join knowledge_chunks c on c.knowledge_base_id = p_base and c.ts_config::oid = q.config::oid
            and c.content_tsv @@ q.query
        where c.tenant_id = app_current_tenant()
            and (p_documents is null or c.document_id = any(p_documents))
            and (p_languages is null or c.language = any(p_languages))
            and (p_source_types is null and p_after is null and p_before is null and p_metadata is null
                or exists (
                    select from knowledge_documents d where d.id = c.document_id
                        and (p_source_types is null or d.source_type = any(p_source_types))
                        and (p_after is null or coalesce(d.published_at, d.created_at) >= p_after)
                        and (p_before is null or coalesce(d.published_at, d.created_at) < p_before)
                        and (p_metadata is null or d.metadata @> p_metadata)))
        order by rank desc, c.id
        limit greatest(p_limit, 0)
    $$;

create or replace function knowledge_product_keyword_matches(
    p_subscription uuid, p_configs regconfig[], p_query text, p_limit integer,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    set plan_cache_mode = force_custom_plan
    as $$
        with base as (
            select p.tenant_id, p.id from knowledge_product_base_of(p_subscription) p
        ), words as (
            select string_agg(w, ' or ') as text from regexp_split_to_table(p_query, '\s+') w
            where w <> '' and not exists (
                select 1 from unnest(p_configs) s(config) where to_tsvector(s.config, w) = ''::tsvector)
        ), queries as materialized (
            select cfg.config, websearch_to_tsquery(cfg.config, words.text) as query
            from unnest(p_configs) as cfg(config) cross join words
        )
        select c.id, ts_rank(c.content_tsv, q.query, 1) as rank
        from base
        cross join queries q
        join knowledge_chunks c on c.knowledge_base_id = base.id and c.ts_config::oid = q.config::oid
            and c.content_tsv @@ q.query and c.tenant_id = base.tenant_id
        where (p_documents is null or c.document_id = any(p_documents))
            and (p_languages is null or c.language = any(p_languages))
            and (p_source_types is null and p_after is null and p_before is null and p_metadata is null
                or exists (
                    select from knowledge_documents d where d.id = c.document_id
                        and (p_source_types is null or d.source_type = any(p_source_types))
                        and (p_after is null or coalesce(d.published_at, d.created_at) >= p_after)
                        and (p_before is null or coalesce(d.published_at, d.created_at) < p_before)
                        and (p_metadata is null or d.metadata @> p_metadata)))
        order by rank desc, c.id
        limit greatest(p_limit, 0)
    $$;
