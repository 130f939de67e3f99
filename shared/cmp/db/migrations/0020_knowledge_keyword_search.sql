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
-- p_configs and p_queries are parallel arrays: each text search configuration chunks are written with,
-- and the `websearch_to_tsquery` text to match chunks of that configuration (cmp.knowledge.retrieval
-- builds one per configuration). The rank is ts_rank_cd with normalization 1 (divided by 1 + the log of
-- the chunk's length, so long chunks do not win by size alone).
create or replace function knowledge_keyword_matches(p_base uuid, p_configs regconfig[], p_queries text[])
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select c.id, ts_rank_cd(c.content_tsv, q.query, 1)
        from unnest(p_configs, p_queries) as cfg(config, query_text)
        cross join lateral (select websearch_to_tsquery(cfg.config, cfg.query_text) as query) q
        join knowledge_chunks c on c.ts_config = cfg.config and c.content_tsv @@ q.query
        where c.tenant_id = app_current_tenant() and c.knowledge_base_id = p_base
    $$;
revoke all on function knowledge_keyword_matches(uuid, regconfig[], text[]) from public;
grant execute on function knowledge_keyword_matches(uuid, regconfig[], text[]) to cmp_app;
