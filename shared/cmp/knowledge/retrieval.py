"""Searching a knowledge base: vector, keyword and hybrid retrieval in PostgreSQL (pgvector + full text).

This is the read side of `cmp.knowledge` (the `views.py` room: raw SQL over the tables of migration 0014,
in a read-only, tenant-scoped transaction). The rules come from DESIGN.md §6, measured on pgvector 0.8:

- **vector**: an HNSW scan filtered by tenant silently returns fewer rows than asked, so the scan runs with
  `hnsw.iterative_scan = relaxed_order` (it keeps walking the graph until `LIMIT` rows pass the filters),
  and its results are re-sorted by distance (relaxed order may be slightly out of order; pgvector's
  README). A knowledge base of at most `EXACT_MAX_CHUNKS` chunks takes the exact path instead: its rows,
  read through the `(tenant_id, knowledge_base_id)` btree in a materialised CTE, sorted by true distance —
  for a small base that is both faster and exact. Embeddings are an untyped `vector` column; queries cast
  to the base's dimension under `embedding_dimension = N`, the partial HNSW index's own expression.
- **keyword**: `websearch_to_tsquery` over the query's first 32 distinct words joined with `or`
  (`keyword_query`), in each text search configuration chunks are written with (`cmp_english`,
  `cmp_spanish`, `cmp_simple`), ranked by `ts_rank` normalised by length. The SQL function
  `knowledge_keyword_matches` (migrations 0020, 0038, 0039, 0042; SECURITY DEFINER, on the caller's
  `app_current_tenant()`: under RLS the non-leakproof `@@` cannot use the GIN index) parses the query once,
  probes the GIN index keyed by base and configuration, filters, ranks and keeps the best; their ids are
  joined back to the chunks under RLS. A base above `EXACT_MAX_CHUNKS` ranks only the chunks holding every
  word when `candidates` of them pass the filters, else all but one word, ..., else any (migration 0042:
  ranking every match of common words was most of a large base's search time, docs/performance.md).
- **hybrid**: both candidate lists fused by weighted reciprocal rank fusion (Cormack et al. 2009) in one
  statement; `RRF_K` and `RRF_KEYWORD_WEIGHT` were chosen on the development half of the labelled set
  (`bench/answer_quality.py --tune`, docs/performance.md).

Filters (`SearchFilters`) apply in every method, inside the scan (so `top_k` rows come back whenever the
base holds that many matching chunks): source types, documents, chunk languages, the document's date
(`published_at`, else when it was added) and metadata containment (`@>` on the document's metadata).

**Seller-provided knowledge**: a subscription's search also covers its product's knowledge base when the
seller shared it (`ProductScope`). Those rows are the seller's tenant's, hidden from the buyer's
transaction by RLS, so they are read only through the SECURITY DEFINER functions of migration 0036
(`knowledge_product_base`, `…_vector_matches`, `…_keyword_matches`, `…_chunks`), which resolve the base
from the caller's own subscription. Their candidates join the buyer's in the same CTEs, so both bases are
ranked together in the one statement, and every hit says where it came from (`origin`: "subscription" or
"product").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cmp.errors import Conflict, NotFound
from cmp.knowledge.model import TS_CONFIGS as LANGUAGE_CONFIGS
from cmp.knowledge.model import KnowledgeOwner, ts_config_for
from cmp.knowledge.query_text import embedded_query, keyword_query
from cmp.knowledge.rerank import Reranker

if TYPE_CHECKING:
    from psycopg import sql

    from cmp.db.session import Session
    from cmp.knowledge.ports import Embedder

Method = Literal["vector", "keyword", "hybrid"]
EXACT_MAX_CHUNKS = 20_000
"""A base of at most this many chunks is searched exactly (btree + sort); larger ones through HNSW."""
RRF_K = 10
"""Reciprocal rank fusion's constant (Cormack, Clarke and Buettcher, SIGIR 2009, used 60; 10 with the
keyword weight below scored best on the labelled set's development half)."""
RRF_KEYWORD_WEIGHT = 0.3
"""The keyword list's weight in the fusion (the vector list's is 1): a hit's fused score is
1/(RRF_K + vector rank) + RRF_KEYWORD_WEIGHT/(RRF_K + keyword rank)."""
TS_CONFIGS: tuple[str, ...] = (*dict.fromkeys(LANGUAGE_CONFIGS.values()), ts_config_for(None))
"""Every text search configuration chunks are written with (`cmp.knowledge.model.ts_config_for`)."""
HNSW_EF_SEARCH = 200
"""`hnsw.ef_search` of filtered scans (candidates per iterative-scan step; 100 gave recall@10 0.890, docs)."""


@dataclass(frozen=True)
class SearchFilters:
    """What a search may return; every field narrows it, empty means no restriction.

    `published_after`/`published_before` compare with the document's `published_at` (or, when it has none,
    the time it was added); `metadata` matches documents whose metadata contains every key with that value.
    """

    source_types: tuple[str, ...] = ()
    document_ids: tuple[uuid.UUID, ...] = ()
    languages: tuple[str, ...] = ()
    published_after: datetime | None = None
    published_before: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk with what a citation needs.

    `score` is the method's own ranking value (cosine similarity for vector, `ts_rank` for keyword, the
    fused RRF score for hybrid); `similarity` is the chunk's cosine similarity to the query embedding in
    [-1, 1] (None when the search had no comparable query vector). `rank` starts at 1.
    """

    rank: int
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    content: str
    ordinal: int
    page: int | None
    section: str | None
    language: str | None
    source_type: str
    title: str | None
    filename: str | None
    url: str | None
    score: float
    similarity: float | None
    origin: str = "subscription"
    """"subscription" (the buyer's own knowledge base) or "product" (the seller-provided one)."""


@dataclass(frozen=True)
class BaseRef:
    """The knowledge base a search runs in: its id, the embedding model its chunks were made with, and its
    chunks counted up to the bound its search path needs (`knowledge_base`'s `count_limit`)."""

    id: uuid.UUID
    embedding_model: str
    embedding_dimension: int
    chunk_count: int


@dataclass(frozen=True)
class ProductScope:
    """The seller-provided knowledge base searched beside a subscription's own: `subscription_id` is the
    buyer's subscription the SQL functions resolve it from, `base` its embedding model and size."""

    subscription_id: uuid.UUID
    base: BaseRef


def _filter_args(filters: SearchFilters, params: dict[str, Any]) -> None:
    """The filters as the keyword and product functions' arguments (`p_…`, None for no restriction)."""
    from psycopg.types.json import Jsonb

    params["p_source_types"] = list(filters.source_types) or None
    params["p_documents"] = list(filters.document_ids) or None
    params["p_languages"] = list(filters.languages) or None
    params["p_after"] = filters.published_after
    params["p_before"] = filters.published_before
    params["p_metadata"] = Jsonb(filters.metadata) if filters.metadata else None


_FILTER_ARGS = (
    "%(p_source_types)s::text[], %(p_documents)s::uuid[], %(p_languages)s::text[], %(p_after)s::timestamptz,"
    " %(p_before)s::timestamptz, %(p_metadata)s::jsonb"
)


def _filter_clause(filters: SearchFilters, params: dict[str, Any]) -> sql.Composable:
    from psycopg import sql

    parts: list[sql.Composable] = []
    if filters.source_types:
        params["f_source_types"] = list(filters.source_types)
        parts.append(sql.SQL(" and d.source_type = any(%(f_source_types)s)"))
    if filters.document_ids:
        params["f_documents"] = list(filters.document_ids)
        parts.append(sql.SQL(" and c.document_id = any(%(f_documents)s)"))
    if filters.languages:
        params["f_languages"] = list(filters.languages)
        parts.append(sql.SQL(" and c.language = any(%(f_languages)s)"))
    if filters.published_after is not None:
        params["f_after"] = filters.published_after
        parts.append(sql.SQL(" and coalesce(d.published_at, d.created_at) >= %(f_after)s"))
    if filters.published_before is not None:
        params["f_before"] = filters.published_before
        parts.append(sql.SQL(" and coalesce(d.published_at, d.created_at) < %(f_before)s"))
    if filters.metadata:
        from psycopg.types.json import Jsonb

        params["f_metadata"] = Jsonb(filters.metadata)
        parts.append(sql.SQL(" and d.metadata @> %(f_metadata)s"))
    return sql.Composed(parts)


_SCOPE = (
    "from knowledge_chunks c join knowledge_documents d on d.id = c.document_id"
    " where c.tenant_id = %(tenant)s and c.knowledge_base_id = %(base)s"
)


def _vector_candidates(dimension: int, exact: bool, where: sql.Composable) -> sql.Composable:
    """`(id, distance)` rows, nearest first, at most `%(candidates)s` of them."""
    from psycopg import sql

    vec = sql.SQL("c.embedding::vector({d})").format(d=sql.Literal(dimension))
    query = sql.SQL("%(query_vector)s::vector({d})").format(d=sql.Literal(dimension))
    condition = sql.SQL(" and c.embedding_dimension = {d}").format(d=sql.Literal(dimension))
    if exact:
        return sql.SQL(
            "select id, embedding <=> {q} as distance from ("
            "select c.id, {vec} as embedding {scope}{cond}{where} offset 0) rows"
            " order by distance limit %(candidates)s"
        ).format(q=query, vec=vec, scope=sql.SQL(_SCOPE), cond=condition, where=where)
    return sql.SQL(
        "select id, distance from ("
        "select c.id, {vec} <=> {q} as distance {scope}{cond}{where}"
        " order by distance limit %(candidates)s) relaxed order by distance + 0"
    ).format(q=query, vec=vec, scope=sql.SQL(_SCOPE), cond=condition, where=where)


def _keyword_candidates() -> sql.Composable:
    """`(id, rank)` rows, best first, at most `%(candidates)s` of them: the best matches of
    `knowledge_keyword_matches` (migrations 0038 and 0039: the GIN probe in the base, the filters, ranking
    and limit applied inside), joined back to their chunk under RLS (a second tenant check)."""
    from psycopg import sql

    return sql.SQL(
        "select m.id, m.rank from knowledge_keyword_matches(%(base)s, %(ts_configs)s::regconfig[],"
        " %(ts_query)s::text, %(candidates)s::int, %(keyword_tiered)s::boolean, " + _FILTER_ARGS + ")"
        " m join knowledge_chunks c"
        " on c.id = m.id where c.tenant_id = %(tenant)s and c.knowledge_base_id = %(base)s"
        " order by m.rank desc, m.id limit %(candidates)s"
    )


def _union(parts: list[sql.Composable]) -> sql.Composable:
    from psycopg import sql

    return sql.SQL(" union all ").join(sql.SQL("({})").format(part) for part in parts)


def _statement(
    method: Method,
    base: BaseRef | None,
    exact: bool,
    with_vector: bool,
    where: sql.Composable,
    product: ProductScope | None = None,
) -> Any:
    """The one statement answering a search: candidates of the method from the subscription's base and,
    with `product`, from the seller-provided base (migration 0036's functions), ranked together, joined to
    their chunk and document (the product's through `knowledge_product_chunks`) with (when there is a query
    vector) their cosine similarity, best first, `%(top_k)s` rows."""
    from psycopg import sql

    vectors: list[sql.Composable] = []
    keywords: list[sql.Composable] = []
    rows: list[sql.Composable] = []
    if base is not None:
        vectors.append(_vector_candidates(base.embedding_dimension, exact, where))
        keywords.append(_keyword_candidates())
        similarity: sql.Composable = sql.SQL("null::float8")
        if with_vector:
            similarity = sql.SQL(
                "case when c.embedding_dimension = {d} then 1 - (c.embedding::vector({d}) <=>"
                " %(query_vector)s::vector({d})) end"
            ).format(d=sql.Literal(base.embedding_dimension))
        rows.append(
            sql.SQL(
                "select c.id as chunk_id, c.document_id, c.knowledge_base_id, c.content, c.ordinal, c.page,"
                " c.section, c.language, d.source_type, d.title, d.filename, d.url, r.score::float8 as score,"
                " {similarity} as similarity, 'subscription' as origin"
                " from best r join knowledge_chunks c on c.id = r.id join knowledge_documents d"
                " on d.id = c.document_id"
            ).format(similarity=similarity)
        )
    if product is not None:
        vectors.append(
            sql.SQL(
                "select id, distance from knowledge_product_vector_matches(%(subscription)s::uuid,"
                " %(query_vector)s::text, %(candidates)s::int, %(product_exact)s::boolean, "
                + _FILTER_ARGS
                + ")"
            )
        )
        keywords.append(
            sql.SQL(
                "select id, rank from knowledge_product_keyword_matches(%(subscription)s::uuid,"
                " %(ts_configs)s::regconfig[], %(ts_query)s::text, %(candidates)s::int,"
                " %(product_tiered)s::boolean, " + _FILTER_ARGS + ")"
            )
        )
        rows.append(
            sql.SQL(
                "select p.chunk_id as chunk_id, p.document_id, p.knowledge_base_id, p.content, p.ordinal,"
                " p.page, p.section, p.language, p.source_type, p.title, p.filename, p.url,"
                " r.score::float8 as score, p.similarity as similarity, 'product' as origin"
                " from best r join knowledge_product_chunks(%(subscription)s::uuid,"
                " (select array_agg(id) from best), %(query_vector)s::text) p on p.chunk_id = r.id"
            )
        )
    ranked: sql.Composable
    if method == "vector":
        ranked = sql.SQL("select id, 1 - distance as score from vec")
        ctes = sql.SQL("vec as materialized ({v})").format(v=_union(vectors))
    elif method == "keyword":
        ranked = sql.SQL("select id, rank as score from kw")
        ctes = sql.SQL("kw as materialized ({k})").format(k=_union(keywords))
    else:
        ranked = sql.SQL(
            "select id, sum(w / ({rrf} + r))::float8 as score from ("
            "select id, 1.0 as w, row_number() over (order by distance, id) as r from vec"
            " union all select id, {w} as w, row_number() over (order by rank desc, id) as r from kw) f"
            " group by id"
        ).format(rrf=sql.Literal(RRF_K), w=sql.Literal(RRF_KEYWORD_WEIGHT))
        ctes = sql.SQL("vec as materialized ({v}), kw as materialized ({k})").format(
            v=_union(vectors), k=_union(keywords)
        )
    return sql.SQL(
        "with {ctes}, ranked as ({ranked}),"
        " best as materialized (select id, score from ranked order by score desc, id limit %(top_k)s)"
        " {rows} order by score desc, chunk_id limit %(top_k)s"
    ).format(ctes=ctes, ranked=ranked, rows=sql.SQL(" union all ").join(rows))


def search_chunks(
    session: Session,
    tenant_id: uuid.UUID,
    base: BaseRef | None,
    query_text: str,
    query_vector: Sequence[float] | None,
    top_k: int,
    method: Method,
    filters: SearchFilters,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
    product: ProductScope | None = None,
    ef_search: int = HNSW_EF_SEARCH,
) -> list[SearchHit]:
    """The `top_k` best chunks of `base` and, with `product`, of the seller-provided base of that
    subscription, for the query, in the caller's (tenant-scoped) transaction.

    `query_vector` is required for vector and hybrid (its length must be the bases' dimension);
    `ef_search` is the HNSW scan's `hnsw.ef_search` (at least `top_k`) when a base takes the HNSW path."""
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "base": base.id if base is not None else None,
        "ts_configs": list(TS_CONFIGS),
        "ts_query": keyword_query(query_text),
        "top_k": top_k,
        "candidates": max(top_k * 4, 40) if method == "hybrid" else top_k,
        "query_vector": None,
    }
    if query_vector is not None:
        params["query_vector"] = "[" + ",".join(repr(float(x)) for x in query_vector) + "]"
    exact = base is None or base.chunk_count <= exact_max_chunks
    params["keyword_tiered"] = not exact
    scanned = exact
    if product is not None:
        params["subscription"] = product.subscription_id
        params["product_exact"] = product.base.chunk_count <= exact_max_chunks
        params["product_tiered"] = not params["product_exact"]
        scanned = exact and params["product_exact"]
    if method != "keyword" and not scanned:
        session.execute(
            "select set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', %s, true)",
            (str(max(ef_search, top_k)),),
        )
    _filter_args(filters, params)
    where = _filter_clause(filters, params)
    statement = _statement(method, base, exact, query_vector is not None, where, product)
    rows = session.fetch_all(statement, params, prepare=False)  # a generic plan knows neither base nor vector
    return [SearchHit(rank=i, **row) for i, row in enumerate(rows, start=1)]


def knowledge_base(session: Session, owner: KnowledgeOwner, count_limit: int) -> BaseRef | None:
    """The knowledge base of the caller's subscription or product with its chunks counted up to
    `count_limit` (None when it has none, or another tenant's is named: RLS hides it). A search needs only
    to know whether the base is above its exact size: counting a 200,000-chunk base took 9 ms, counting up
    to 20,001 of its chunks 1.2 ms (docs/performance.md)."""
    row = session.fetch_one(
        "select b.id, b.embedding_model, b.embedding_dimension,"
        " (select count(*) from (select from knowledge_chunks c where c.tenant_id = b.tenant_id"
        "  and c.knowledge_base_id = b.id limit %s) counted) as chunk_count"
        f" from knowledge_bases b where b.{owner.kind}_id = %s",
        (count_limit, owner.id),
    )
    return BaseRef(**row) if row else None


def product_base(session: Session, subscription_id: uuid.UUID, count_limit: int) -> BaseRef | None:
    """The shared seller-provided knowledge base of the caller's subscription with its chunks counted up to
    `count_limit`, read through `knowledge_product_base` (migrations 0036 and 0042); None when the product
    has none, the seller has not shared it, or the subscription is not the caller's tenant's."""
    row = session.fetch_one("select * from knowledge_product_base(%s, %s)", (subscription_id, count_limit))
    return BaseRef(**row) if row else None


class KnowledgeSearch:
    """`services.knowledge_search`: search a subscription's knowledge base and its product's shared one
    (`POST …/knowledge/search`, the agent's retrieval step, MCP `search`).

    `sessions` is `Database.session` (read-only transactions scoped to the tenant); `embedder` builds the
    query embedder on first use; `reranker`, when given, reorders the fused candidates (`cmp.knowledge.
    rerank`).
    """

    _PRODUCT = "select 1 as one from products where id = %s"

    def __init__(
        self, sessions: Callable[..., AbstractContextManager[Session]], embedder: Callable[[], Embedder],
        reranker: Reranker | None = None, exact_max_chunks: int = EXACT_MAX_CHUNKS,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:  # fmt: skip
        self._sessions = sessions
        self._embedder = embedder
        self._reranker = reranker
        self._exact_max_chunks = exact_max_chunks
        self._ef_search = ef_search

    @property
    def query_model(self) -> str:
        """The name of the model queries are embedded with."""
        return self._embedder().model

    def search(
        self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID, query: str, top_k: int, method: Method,
        filters: SearchFilters | None = None, rerank: bool = False,
    ) -> list[SearchHit]:  # fmt: skip
        """The `top_k` best chunks of the subscription's knowledge base and of its product's shared one,
        ranked together (an empty list when neither exists); with `rerank` and a reranker configured, the
        best `top_k` of three times as many candidates.

        The query is embedded (its first `QUERY_MAX_CHARS` characters) between the two transactions.
        Raises `Conflict` when the subscription's base was embedded with another model than this
        deployment's query embedder (vectors of two models are not comparable; keyword search still
        works; a product base of another model is then left out of vector and hybrid searches),
        `EmbeddingUnavailable` when the embedder cannot answer.
        """
        return self._search(tenant_id, KnowledgeOwner.subscription(subscription_id), query, top_k, method,
                            filters, rerank)  # fmt: skip

    def search_product(
        self, tenant_id: uuid.UUID | str, product_id: uuid.UUID, query: str, top_k: int, method: Method,
        filters: SearchFilters | None = None, rerank: bool = False,
    ) -> list[SearchHit]:  # fmt: skip
        """The seller's search of its own product's knowledge base alone (shared or not), ranked as `search`,
        every hit's `origin` "product"; raises `NotFound` for another tenant's product, else as `search`."""
        owner = KnowledgeOwner.product(product_id)
        return [replace(h, origin="product") for h in self._search(tenant_id, owner, query, top_k, method,
                                                                    filters, rerank)]  # fmt: skip

    def _search(
        self, tenant_id: uuid.UUID | str, owner: KnowledgeOwner, query: str, top_k: int, method: Method,
        filters: SearchFilters | None, rerank: bool,
    ) -> list[SearchHit]:  # fmt: skip
        tenant = uuid.UUID(str(tenant_id))
        with self._sessions(tenant, read_only=True) as session:
            if owner.kind == "product" and session.fetch_one(self._PRODUCT, (owner.id,)) is None:
                raise NotFound("product not found")
            counted = self._exact_max_chunks + 1
            base = knowledge_base(session, owner, counted)
            shared = product_base(session, owner.id, counted) if owner.kind == "subscription" else None
        embedder = self._embedder()

        def fits(ref: BaseRef) -> bool:
            return embedder.model == ref.embedding_model and embedder.dimension == ref.embedding_dimension

        if base is not None and method != "keyword" and not fits(base):
            raise Conflict(
                f"this knowledge base was embedded with {base.embedding_model}, and queries are embedded "
                f"with {embedder.model}: reindex it, or search with method 'keyword'"
            )
        product = None
        if shared is not None and (method == "keyword" or fits(shared)):
            product = ProductScope(owner.id, shared)
        searched = [ref for ref in (base, product.base if product else None) if ref is not None]
        if not searched:
            return []
        vector = embedder.embed_query(embedded_query(query)) if all(map(fits, searched)) else None
        reranker = self._reranker if rerank else None
        fetch = top_k * 3 if reranker is not None else top_k
        with self._sessions(tenant, read_only=True) as session:
            hits = search_chunks(
                session, tenant, base, query, vector, fetch, method, filters or SearchFilters(),
                self._exact_max_chunks, product, self._ef_search,
            )  # fmt: skip
        if reranker is not None:
            hits = reranker.rerank(query, hits, top_k)
        return hits
