-- Keyword search of a large knowledge base ranks a bounded set of rows (issue 9, "Retrieval at scale").
--
-- After migration 0039 the keyword half probes only its own base's matches, but it still ranks every chunk
-- holding ANY of the question's words: on the 200,000-chunk base of bench/retrieval_scale.py a 5-word
-- question matches 36,444 chunks, each fetched from the heap and ranked (p95 of a hybrid search 2,021 ms
-- at 1,000,000 chunks, 813 ms at 250,000; docs/performance.md). A GIN index cannot return rows by rank.
--
-- ts_rank of an OR query (PostgreSQL's calc_rank_or, src/backend/utils/adt/tsrank.c) sums one term
-- score per query word the chunk holds (each between 0.61 and 1 times the word's weight, more with more
-- occurrences) and divides by the number of words and, with normalization 1, by log2 of the chunk's
-- length. A chunk holding more of the words therefore ranks higher unless it is much longer. So a base
-- above the exact-search size (the caller passes p_tiered, cmp.knowledge.retrieval.EXACT_MAX_CHUNKS,
-- the same size that sends its vector half through HNSW) ranks its candidates in tiers:
--   the chunks holding all n words; when fewer than p_limit of them pass the filters, those holding at
--   least n-1 of them; ... ; finally those holding any word (the exact ranking of migration 0038).
-- The first tier with at least p_limit rows is ranked, by the same ts_rank of the OR query, so scores
-- stay comparable and a small base (p_tiered false) gets exactly 0039's answer. A tier "at least m of
-- the n words" is websearch_to_tsquery's own syntax: the m-word combinations joined by " or " ("a b or a
-- c or b c": (a & b) | (a & c) | (b & c)). A tier whose query would exceed 256 words (C(n, m) x m) is
-- skipped: the next, looser one answers.
--
-- Measured before this migration on the 250,000-chunk load (200,000-chunk base, 15 questions of 2-7
-- words): the top 40 of the all-words tier equalled the exact top 40 in every question, in 5-23 ms
-- against 49-230 ms for ranking every match; bench/retrieval_scale.py measures recall@10 of the hybrid
-- result against the exact search (every base on the exact path: all matches ranked, vectors sorted by
-- true distance).
--
-- Two owner-only functions do the work, so the base's and the product's entry points share them:
-- knowledge_keyword_tier (one ranked probe, a SQL function whose plan tests can read) and
-- knowledge_keyword_ranked (the words and the tiers). They take the tenant as an argument, so no one but
-- their owner may run them; the SECURITY DEFINER entry points pass the caller's own app_current_tenant()
-- or the tenant of the caller's subscription's product base, as before.
create function knowledge_keyword_tier(
    p_tenant uuid, p_base uuid, p_configs regconfig[], p_match text, p_rank text, p_limit integer,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable set search_path = public, pg_temp
    set plan_cache_mode = force_custom_plan
    as $$
        with queries as materialized (
            select cfg.config, websearch_to_tsquery(cfg.config, p_match) as matching,
                websearch_to_tsquery(cfg.config, p_rank) as ranking
            from unnest(p_configs) as cfg(config)
        )
        select c.id, ts_rank(c.content_tsv, q.ranking, 1) as rank
        from queries q
        join knowledge_chunks c on c.knowledge_base_id = p_base and c.ts_config::oid = q.config::oid
            and c.content_tsv @@ q.matching
        where c.tenant_id = p_tenant
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
revoke all on function knowledge_keyword_tier(
    uuid, uuid, regconfig[], text, text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    from public;

create function knowledge_keyword_ranked(
    p_tenant uuid, p_base uuid, p_configs regconfig[], p_query text, p_limit integer, p_tiered boolean,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language plpgsql stable set search_path = public, pg_temp
    as $$
    declare
        v_words text[];
        v_any text;
        v_match text;
        v_n integer;
        v_m integer;
        v_ids uuid[];
        v_ranks real[];
    begin
        select array_agg(w order by o) into v_words
        from regexp_split_to_table(p_query, '\s+') with ordinality as t(w, o)
        where w <> '' and not exists (
            select 1 from unnest(p_configs) s(config) where to_tsvector(s.config, w) = ''::tsvector);
        v_n := coalesce(cardinality(v_words), 0);
        if v_n = 0 or p_limit <= 0 then
            return;
        end if;
        v_any := array_to_string(v_words, ' or ');
        v_m := case when p_tiered then v_n else 1 end;
        while v_m > 1 loop
            if factorial(v_n) / (factorial(v_m) * factorial(v_n - v_m)) * v_m <= 256 then
                with recursive picks(last, words) as (
                    select i, array[v_words[i]] from generate_series(1, v_n) i
                    union all
                    select j, p.words || v_words[j] from picks p, generate_series(p.last + 1, v_n) j
                    where cardinality(p.words) < v_m
                )
                select string_agg(array_to_string(p.words, ' '), ' or ') into v_match
                from picks p where cardinality(p.words) = v_m;
                select array_agg(k.id order by k.rank desc, k.id), array_agg(k.rank order by k.rank desc, k.id)
                into v_ids, v_ranks
                from knowledge_keyword_tier(p_tenant, p_base, p_configs, v_match, v_any, p_limit,
                    p_source_types, p_documents, p_languages, p_after, p_before, p_metadata) k;
                if cardinality(v_ids) >= p_limit then
                    return query select * from unnest(v_ids, v_ranks);
                    return;
                end if;
            end if;
            v_m := v_m - 1;
        end loop;
        return query select * from knowledge_keyword_tier(p_tenant, p_base, p_configs, v_any, v_any, p_limit,
            p_source_types, p_documents, p_languages, p_after, p_before, p_metadata);
    end
    $$;
revoke all on function knowledge_keyword_ranked(
    uuid, uuid, regconfig[], text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    from public;

drop function knowledge_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb);
create function knowledge_keyword_matches(
    p_base uuid, p_configs regconfig[], p_query text, p_limit integer, p_tiered boolean,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    set plan_cache_mode = force_custom_plan
    as $$
        select k.id, k.rank from knowledge_keyword_ranked(app_current_tenant(), p_base, p_configs, p_query,
            p_limit, p_tiered, p_source_types, p_documents, p_languages, p_after, p_before, p_metadata) k
    $$;
revoke all on function knowledge_keyword_matches(
    uuid, regconfig[], text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    from public;
grant execute on function knowledge_keyword_matches(
    uuid, regconfig[], text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    to cmp_app;

drop function knowledge_product_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb);
create function knowledge_product_keyword_matches(
    p_subscription uuid, p_configs regconfig[], p_query text, p_limit integer, p_tiered boolean,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, rank real)
    language sql stable security definer set search_path = public, pg_temp
    set plan_cache_mode = force_custom_plan
    as $$
        select k.id, k.rank
        from knowledge_product_base_of(p_subscription) b
        cross join lateral knowledge_keyword_ranked(b.tenant_id, b.id, p_configs, p_query, p_limit, p_tiered,
            p_source_types, p_documents, p_languages, p_after, p_before, p_metadata) k
    $$;
revoke all on function knowledge_product_keyword_matches(
    uuid, regconfig[], text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    from public;
grant execute on function knowledge_product_keyword_matches(
    uuid, regconfig[], text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb)
    to cmp_app;

-- A search counts a base's chunks only to choose its path (exact at most EXACT_MAX_CHUNKS, else HNSW and
-- the tiers above), so it counts up to the first chunk past that size: counting the 200,000 chunks of
-- bench/retrieval_scale.py's largest base took 9 ms of every search, up to 20,001 of them 1.2 ms.
drop function knowledge_product_base(uuid);
create function knowledge_product_base(p_subscription uuid, p_count_limit bigint)
    returns table (id uuid, embedding_model text, embedding_dimension integer, chunk_count bigint)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select b.id, b.embedding_model, b.embedding_dimension,
            (select count(*) from (
                select from knowledge_chunks c where c.tenant_id = b.tenant_id and c.knowledge_base_id = b.id
                limit p_count_limit) counted)
        from knowledge_product_base_of(p_subscription) p join knowledge_bases b on b.id = p.id
    $$;
revoke all on function knowledge_product_base(uuid, bigint) from public;
grant execute on function knowledge_product_base(uuid, bigint) to cmp_app;
