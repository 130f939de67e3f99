-- Keyword search through the GIN index under row-level security (issue 9).
--
-- `@@` (ts_match_vq) is not LEAKPROOF, so for the RLS-bound application role PostgreSQL must evaluate the
-- tenant_rows policy before it, which rules out the GIN index on content_tsv: a keyword search read every
-- chunk of the knowledge base through the (tenant_id, knowledge_base_id) btree and tested `@@` on each.
-- This function runs the match as its owner (no RLS, so the planner may probe the GIN index) and applies
-- the tenant filter explicitly from the caller's own `app_current_tenant()`: with no tenant set it
-- returns nothing, and a knowledge base id of another tenant returns nothing. It returns ids and ranks
-- only; the caller joins them back to knowledge_chunks under RLS (a second, independent tenant check)
-- and applies its filters, ordering and limit there.
--
-- p_query is the query's words separated by spaces. A word any of p_configs treats as a stop word is
-- dropped for every configuration (the chunks of one base are in several languages, and an English "what"
-- or "does" is not a Spanish stop word, so it would match every Spanish chunk quoting English code); the
-- rest are joined with `or` (any word matches; passages holding more of them rank higher) and parsed by
-- `websearch_to_tsquery` in each configuration, matched against the chunks written with it. The rank is
-- ts_rank with normalization 1 (divided by 1 + the log of the chunk's length): for an OR query it adds
-- each matched word's weight with repeated occurrences saturating, where ts_rank_cd counts every
-- occurrence as a cover, so a page that repeats one common word ("Express") outranked the pages holding
-- the question's other words (recall@5 of keyword search on the labelled set: 0.972 with ts_rank, 0.852
-- with ts_rank_cd; docs/performance.md).
create or replace function knowledge_keyword_matches(p_base uuid, p_configs regconfig[], p_query text)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        with words as (
            select string_agg(w, ' or ') as text from regexp_split_to_table(p_query, '\s+') w
            where w <> '' and not exists (
                select 1 from unnest(p_configs) s(config) where to_tsvector(s.config, w) = ''::tsvector)
        )
        select c.id, ts_rank(c.content_tsv, q.query, 1)
        from unnest(p_configs) as cfg(config)
        cross join words
        cross join lateral (select websearch_to_tsquery(cfg.config, words.text) as query) q
        join knowledge_chunks c on c.ts_config = cfg.config and c.content_tsv @@ q.query
        where c.tenant_id = app_current_tenant() and c.knowledge_base_id = p_base
    $$;
revoke all on function knowledge_keyword_matches(uuid, regconfig[], text) from public;
grant execute on function knowledge_keyword_matches(uuid, regconfig[], text) to cmp_app;
