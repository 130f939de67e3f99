-- Seller-provided product knowledge (issue 9): a product's knowledge base (knowledge_bases.product_id,
-- migration 0014) belongs to the SELLER's organization and is managed by the seller under
-- /v1/provider/products/{product_id}/knowledge. Once the seller shares it, the agent of every subscription
-- to that product searches it beside the buyer's own knowledge base.
--
-- The buyer's runtime runs in the BUYER's tenant, so row-level security hides the seller's rows from it.
-- It reads them only through the SECURITY DEFINER functions below, each of which resolves the product
-- knowledge base from a subscription of the caller's own `app_current_tenant()` (never from an argument
-- naming a base or a tenant): the subscription must be the caller's, the base must be that subscription's
-- product's, belong to the subscription's seller and be shared. Another buyer's subscription, another
-- product's base, an unshared base or no tenant at all give no rows. The functions return only what a
-- search result and its citation need, never the documents' stored files, metadata or other columns.

alter table knowledge_bases add column shared boolean not null default false;
alter table knowledge_bases add constraint knowledge_bases_shared_product check (not shared or product_id is not null);

-- The shared product knowledge base of the caller's subscription p_subscription (no row when there is
-- none, it is not shared, or the subscription is not the caller's). Not callable by the application role:
-- the SECURITY DEFINER functions below use it (as their owner, and inlined into their statements).
create or replace function knowledge_product_base_of(p_subscription uuid)
    returns table (id uuid, tenant_id uuid, embedding_dimension integer)
    language sql stable set search_path = public, pg_temp
    as $$
        select b.id, b.tenant_id, b.embedding_dimension
        from subscriptions s
        join knowledge_bases b on b.product_id = s.product_id and b.tenant_id = s.seller_tenant_id and b.shared
        where s.id = p_subscription and s.tenant_id = app_current_tenant()
    $$;
revoke all on function knowledge_product_base_of(uuid) from public;

-- The same base for the application, with its model and chunk count (what retrieval's BaseRef needs).
create or replace function knowledge_product_base(p_subscription uuid)
    returns table (id uuid, embedding_model text, embedding_dimension integer, chunk_count bigint)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select b.id, b.embedding_model, b.embedding_dimension,
            (select count(*) from knowledge_chunks c where c.tenant_id = b.tenant_id and c.knowledge_base_id = b.id)
        from knowledge_product_base_of(p_subscription) p join knowledge_bases b on b.id = p.id
    $$;
revoke all on function knowledge_product_base(uuid) from public;
grant execute on function knowledge_product_base(uuid) to cmp_app;

-- The filters of cmp.knowledge.retrieval.SearchFilters, as arguments: null means no restriction. p_query_vector is pgvector's text form of the query embedding.
--
-- Nearest chunks of the product base by cosine distance, at most p_limit. p_exact reads the base's rows
-- through the (tenant_id, knowledge_base_id) btree and sorts them (small bases); otherwise the partial HNSW
-- index of the base's dimension is scanned (the caller sets hnsw.iterative_scan for its transaction). The
-- statement is built with the base's dimension as a literal, which is what the index expression needs.
create or replace function knowledge_product_vector_matches(
    p_subscription uuid, p_query_vector text, p_limit integer, p_exact boolean,
    p_source_types text[], p_documents uuid[], p_languages text[],
    p_after timestamptz, p_before timestamptz, p_metadata jsonb)
    returns table (id uuid, distance float8)
    language plpgsql stable security definer set search_path = public, pg_temp
    as $$
    declare
        v_tenant uuid;
        v_base uuid;
        v_dimension integer;
        v_scope text := 'from knowledge_chunks c join knowledge_documents d on d.id = c.document_id'
            ' where c.tenant_id = $2 and c.knowledge_base_id = $3 and c.embedding_dimension = %1$s'
            ' and ($5::text[] is null or d.source_type = any($5))'
            ' and ($6::uuid[] is null or c.document_id = any($6))'
            ' and ($7::text[] is null or c.language = any($7))'
            ' and ($8::timestamptz is null or coalesce(d.published_at, d.created_at) >= $8)'
            ' and ($9::timestamptz is null or coalesce(d.published_at, d.created_at) < $9)'
            ' and ($10::jsonb is null or d.metadata @> $10)';
    begin
        select p.tenant_id, p.id, p.embedding_dimension into v_tenant, v_base, v_dimension
        from knowledge_product_base_of(p_subscription) p;
        if v_base is null then
            return;
        end if;
        if p_exact then
            return query execute format(
                'select id, (embedding <=> $1::vector(%1$s))::float8 as distance from ('
                'select c.id, c.embedding::vector(%1$s) as embedding ' || v_scope || ' offset 0) rows'
                ' order by distance limit $4', v_dimension)
                using p_query_vector, v_tenant, v_base, p_limit, p_source_types, p_documents, p_languages,
                    p_after, p_before, p_metadata;
        else
            return query execute format(
                'select id, distance::float8 from (select c.id, c.embedding::vector(%1$s) <=> $1::vector(%1$s)'
                ' as distance ' || v_scope || ' order by distance limit $4) relaxed order by distance + 0',
                v_dimension)
                using p_query_vector, v_tenant, v_base, p_limit, p_source_types, p_documents, p_languages,
                    p_after, p_before, p_metadata;
        end if;
    end
    $$;
revoke all on function knowledge_product_vector_matches(
    uuid, text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb) from public;
grant execute on function knowledge_product_vector_matches(
    uuid, text, integer, boolean, text[], uuid[], text[], timestamptz, timestamptz, jsonb) to cmp_app;

-- Keyword matches of the product base, best first, at most p_limit: the same words, stop words, OR
-- semantics and ts_rank as knowledge_keyword_matches (migration 0020), through the GIN index.
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
        )
        select c.id, ts_rank(c.content_tsv, q.query, 1) as rank
        from base
        cross join unnest(p_configs) as cfg(config)
        cross join words
        cross join lateral (select websearch_to_tsquery(cfg.config, words.text) as query) q
        join knowledge_chunks c on c.ts_config = cfg.config and c.content_tsv @@ q.query
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
revoke all on function knowledge_product_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb) from public;
grant execute on function knowledge_product_keyword_matches(
    uuid, regconfig[], text, integer, text[], uuid[], text[], timestamptz, timestamptz, jsonb) to cmp_app;

-- What a search hit and its citation need of the chunks p_ids of the product base (ids of any other base
-- give no rows), with the cosine similarity to p_query_vector when given and of the base's dimension.
create or replace function knowledge_product_chunks(p_subscription uuid, p_ids uuid[], p_query_vector text)
    returns table (
        chunk_id uuid, document_id uuid, knowledge_base_id uuid, content text, ordinal integer, page integer,
        section text, language text, source_type text, title text, filename text, url text, similarity float8)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select c.id, c.document_id, c.knowledge_base_id, c.content, c.ordinal, c.page, c.section, c.language,
            d.source_type, d.title, d.filename, d.url,
            case when p_query_vector is not null and c.embedding_dimension = p.embedding_dimension
                then 1 - (c.embedding <=> p_query_vector::vector) end
        from knowledge_product_base_of(p_subscription) p
        join knowledge_chunks c on c.tenant_id = p.tenant_id and c.knowledge_base_id = p.id
            and c.id = any(p_ids)
        join knowledge_documents d on d.id = c.document_id
    $$;
revoke all on function knowledge_product_chunks(uuid, uuid[], text) from public;
grant execute on function knowledge_product_chunks(uuid, uuid[], text) to cmp_app;
