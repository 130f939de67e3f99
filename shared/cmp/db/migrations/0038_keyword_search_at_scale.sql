-- Keyword search at scale (issue 9, "Retrieval at scale"): the keyword half of a search ranks its matches
-- inside the SECURITY DEFINER function and returns only the best p_limit.
--
-- knowledge_keyword_matches (migration 0020) already probes the GIN index under RLS, but measured on a
-- 30,000-chunk knowledge base (bench/retrieval_scale.py) it still took ~280 ms for an OR query matching
-- ~4,400 chunks, for two reasons:
-- - its `cross join lateral (select websearch_to_tsquery(...))` is pulled up into the outer query, so the
--   query is parsed again (stemmed, stop words looked up) for every matching row inside ts_rank; and
-- - it returns every match, which the caller joins back to knowledge_chunks and knowledge_documents row
--   by row before keeping the best 40.
-- The functions below parse each configuration's query once (a MATERIALIZED CTE, so the GIN probe takes
-- it as a parameter) and apply the search filters, order and limit inside, as
-- knowledge_product_keyword_matches (migration 0036) does; the caller joins at most p_limit ids back to
-- knowledge_chunks under RLS (the second, independent tenant check).
--
-- The tenant is the caller's own app_current_tenant(), never an argument: with no tenant set, or a
-- knowledge base id of another tenant, there are no rows. Words, stop words (a word any of p_configs drops
-- is dropped for all), OR semantics and ts_rank with normalization 1 are migration 0020's. The filters are
-- those of cmp.knowledge.retrieval.SearchFilters; null means no restriction.
drop function knowledge_keyword_matches(uuid, regconfig[], text);

create or replace function knowledge_keyword_matches(
    p_base uuid, p_configs regconfig[], p_query text, p_limit integer,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
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
        join knowledge_chunks c on c.ts_config = q.config and c.content_tsv @@ q.query
        join knowledge_documents d on d.id = c.document_id
        where c.tenant_id = app_current_tenant() and c.knowledge_base_id = p_base
            and (p_source_types is null or d.source_type = any(p_source_types))
            and (p_documents is null or c.document_id = any(p_documents))
            and (p_languages is null or c.language = any(p_languages))
            and (p_after is null or coalesce(d.published_at, d.created_at) >= p_after)
            and (p_before is null or coalesce(d.published_at, d.created_at) < p_before)
            and (p_metadata is null or d.metadata @> p_metadata)
        order by rank desc, c.id
        limit greatest(p_limit, 0)
    $$;
revoke all on function knowledge_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb) from public;
grant execute on function knowledge_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb) to cmp_app;

-- The seller-provided base's keyword matches (migration 0036), with each configuration's query parsed
-- once in the same way; the base is still resolved from the caller's own subscription.
create or replace function knowledge_product_keyword_matches(
    p_subscription uuid, p_configs regconfig[], p_query text, p_limit integer,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
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
        join knowledge_chunks c on c.ts_config = q.config and c.content_tsv @@ q.query
            and c.tenant_id = base.tenant_id and c.knowledge_base_id = base.id
        join knowledge_documents d on d.id = c.document_id
        where (p_source_types is null or d.source_type = any(p_source_types))
            and (p_documents is null or c.document_id = any(p_documents))
            and (p_languages is null or c.language = any(p_languages))
            and (p_after is null or coalesce(d.published_at, d.created_at) >= p_after)
            and (p_before is null or coalesce(d.published_at, d.created_at) < p_before)
            and (p_metadata is null or d.metadata @> p_metadata)
        order by rank desc, c.id
        limit greatest(p_limit, 0)
    $$;
