"""Retrieval on real PostgreSQL + pgvector: vector, keyword and hybrid search, filters, and the tenant-filter
trap of DESIGN.md §6 — one large tenant and many small ones, each small tenant's filtered search returning
k rows whenever it holds k matching chunks, through the HNSW path and the exact path."""

from __future__ import annotations

import dataclasses
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from cmp.db import Database
from cmp.db.session import Session
from cmp.errors import Conflict
from cmp.knowledge.chunking import detect_language
from cmp.knowledge.embeddings import HashEmbedder
from cmp.knowledge.grounding import citation
from cmp.knowledge.model import KnowledgeOwner
from cmp.knowledge.retrieval import KnowledgeSearch, Method, SearchFilters, knowledge_base, search_chunks
from tests.knowledge_data import EMBEDDER, add_base, add_document, new_tenant
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration
DIM = 384


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in values))
    return [x / norm for x in values]


class Topics:
    """Structured vectors (DESIGN.md §6: random Gaussian vectors make recall meaningless): 16 topic
    centres, each chunk a centre plus noise, so every tenant's chunks share the same neighbourhoods."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.centres = [_unit([self.rng.gauss(0, 1) for _ in range(DIM)]) for _ in range(16)]

    def near(self, topic: int, noise: float = 0.35) -> list[float]:
        return _unit([c + self.rng.gauss(0, noise / math.sqrt(DIM) * 4) for c in self.centres[topic % 16]])


def _search(db: Database, **kwargs: Any) -> KnowledgeSearch:
    return KnowledgeSearch(db.session, lambda: EMBEDDER, **kwargs)


class FixedQuery(HashEmbedder):
    """The test embedder, answering one fixed vector for queries (the topic centre searched)."""

    def __init__(self, vector: list[float]) -> None:
        super().__init__()
        self.vector = vector

    def embed_query(self, text: str) -> list[float]:
        return self.vector


@pytest.fixture(scope="module")
def tenants(db: Database) -> dict[str, Any]:
    """One tenant with 3,000 chunks and 30 tenants with 12 chunks each (4 of them Q&A), all on the same
    topics; returns the topics and the small tenants' (tenant, subscription) pairs."""
    topics = Topics()
    large = new_tenant(db)
    base = add_base(db, large, subscribe(db, large).id)
    for part in range(3):
        texts = [f"large tenant passage {part}-{i}" for i in range(1000)]
        vectors = [topics.near(i) for i in range(1000)]
        add_document(db, base, texts, vectors=vectors, source_type="qa" if part % 2 else "file", pages=False)
    small = []
    for _ in range(30):
        tenant = new_tenant(db)
        subscription = subscribe(db, tenant)
        small_base = add_base(db, tenant, subscription.id)
        add_document(
            db, small_base, [f"file {i}" for i in range(8)], vectors=[topics.near(i) for i in range(8)]
        )
        add_document(
            db, small_base, [f"qa {i}" for i in range(4)], vectors=[topics.near(i + 3) for i in range(4)],
            source_type="qa",
        )  # fmt: skip
        small.append((tenant, subscription.id))
    return {"topics": topics, "small": small}


@pytest.mark.parametrize("exact_max_chunks", [0, 20_000], ids=["hnsw", "exact"])
@pytest.mark.parametrize("method", ["vector", "hybrid"])
def test_a_small_tenant_gets_k_rows_whenever_it_holds_k_matching_chunks(
    db: Database, tenants: dict[str, Any], exact_max_chunks: int, method: Method
) -> None:
    query = FixedQuery(tenants["topics"].centres[0])
    search = KnowledgeSearch(db.session, lambda: query, exact_max_chunks=exact_max_chunks)
    for tenant, subscription_id in tenants["small"]:
        everything = search.search(tenant, subscription_id, "passage", 10, method)
        qa_only = search.search(
            tenant, subscription_id, "passage", 4, method, SearchFilters(source_types=("qa",))
        )
        assert len(everything) == 10
        assert len(qa_only) == 4 and {h.source_type for h in qa_only} == {"qa"}
        assert {h.content for h in qa_only} == {f"qa {i}" for i in range(4)}


def test_through_the_hnsw_index_the_filtered_search_still_returns_k_rows(
    tenants: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    """The trap itself: with the tenant btree out of the planner's reach (dropped inside a transaction
    that is rolled back) the scan must go through HNSW. Without the iterative scan a small tenant's
    filtered search comes back short; the module's statement returns every one of the k rows, and they
    are the exact nearest neighbours."""
    topics = tenants["topics"]
    tenant, subscription_id = tenants["small"][0]
    query = topics.centres[3]
    with psycopg.connect(owner_conn.info.dsn, row_factory=dict_row) as conn:
        session = Session(conn)
        base = knowledge_base(session, KnowledgeOwner.subscription(subscription_id), 1_000)
        assert base is not None
        exact = search_chunks(
            session, tenant, base, "x", query, 4, "vector", SearchFilters(source_types=("qa",))
        )
        session.execute("drop index knowledge_chunks_base")
        session.execute("set local enable_seqscan = off")
        plan = session.fetch_all(
            "explain select c.id from knowledge_chunks c where c.tenant_id = %s and c.embedding_dimension = 384"
            " order by c.embedding::vector(384) <=> %s::vector(384) limit 4",
            (tenant, str(query).replace(" ", "")),
        )
        assert "knowledge_chunks_embedding_384" in " ".join(r["QUERY PLAN"] for r in plan)
        session.execute("set local hnsw.ef_search = 10")
        naive = session.fetch_all(
            "select c.id from knowledge_chunks c where c.tenant_id = %s and c.embedding_dimension = 384"
            " order by c.embedding::vector(384) <=> %s::vector(384) limit 4",
            (tenant, str(query).replace(" ", "")),
        )
        assert len(naive) < 4  # the trap: the index's 10 candidates are mostly the large tenant's
        large = dataclasses.replace(base, chunk_count=10**6)  # take the HNSW path
        got = search_chunks(
            session, tenant, large, "x", query, 4, "vector", SearchFilters(source_types=("qa",))
        )
        conn.rollback()
    assert [h.chunk_id for h in got] == [h.chunk_id for h in exact]
    assert len(got) == 4 and {h.source_type for h in got} == {"qa"}


@pytest.fixture
def support_base(db: Database) -> tuple[uuid.UUID, uuid.UUID, dict[str, Any]]:
    tenant = new_tenant(db)
    subscription = subscribe(db, tenant)
    base = add_base(db, tenant, subscription.id)
    old = datetime.now(UTC) - timedelta(days=400)
    docs = {
        "returns": add_document(
            db, base, ["Returns are accepted within 30 days of delivery for a full refund.",
                       "Items must be unused and in their original packaging."],
            title="Return policy", metadata={"team": "support"}, published_at=old,
        ),
        "devoluciones": add_document(
            db, base, ["Aceptamos devoluciones dentro de los 30 días posteriores a la entrega.",
                       "Los artículos deben estar sin usar y en su embalaje original."],
            title="Política de devoluciones", language="es", metadata={"team": "support"},
        ),
        "charger": add_document(
            db, base, ["The 65W USB-C charger works with every laptop in the Nova range."],
            source_type="url", title="Chargers", url="https://techcorp.example/chargers",
        ),
    }  # fmt: skip
    return tenant, subscription.id, docs


def test_keyword_search_uses_each_language_configuration(
    db: Database, support_base: tuple[uuid.UUID, uuid.UUID, dict[str, Any]]
) -> None:
    tenant, subscription_id, docs = support_base
    english = _search(db).search(tenant, subscription_id, "refund returns", 3, "keyword")
    spanish = _search(db).search(tenant, subscription_id, "devoluciones dias", 3, "keyword")
    assert english[0].document_id == docs["returns"].id
    assert spanish and spanish[0].document_id == docs["devoluciones"].id  # días: accent-folded


def test_hybrid_fuses_both_lists_and_filters_apply(
    db: Database, support_base: tuple[uuid.UUID, uuid.UUID, dict[str, Any]]
) -> None:
    tenant, subscription_id, docs = support_base
    search = _search(db)
    hits = search.search(tenant, subscription_id, "65W charger compatible", 3, "hybrid")
    assert hits[0].document_id == docs["charger"].id and hits[0].url == "https://techcorp.example/chargers"
    assert [h.rank for h in hits] == [1, 2, 3]
    only_urls = search.search(
        tenant, subscription_id, "returns", 5, "hybrid", SearchFilters(source_types=("url",))
    )
    assert {h.document_id for h in only_urls} == {docs["charger"].id}
    recent = search.search(
        tenant, subscription_id, "returns refund", 5, "vector",
        SearchFilters(published_after=datetime.now(UTC) - timedelta(days=30)),
    )  # fmt: skip
    assert docs["returns"].id not in {h.document_id for h in recent}
    tagged = search.search(
        tenant, subscription_id, "returns", 5, "vector", SearchFilters(metadata={"team": "support"})
    )
    assert {h.document_id for h in tagged} == {docs["returns"].id, docs["devoluciones"].id}
    spanish = search.search(
        tenant, subscription_id, "returns", 5, "keyword", SearchFilters(languages=("es",))
    )
    assert all(h.language == "es" for h in spanish)


def test_a_french_chunk_is_found_by_keyword_with_its_language_filter(db: Database) -> None:
    """New-user trial: a French document's chunks were labelled Spanish; labelled French they are read with
    the language-neutral configuration (`ts_config_for`), and `languages: ["fr"]` finds them."""
    tenant = new_tenant(db)
    subscription = subscribe(db, tenant)
    base = add_base(db, tenant, subscription.id)
    text = (
        "Vous pouvez renvoyer un produit dans les 30 jours qui suivent la livraison, dans son emballage"
        " d'origine. Le remboursement est effectué sur le moyen de paiement utilisé pour l'achat."
    )
    assert detect_language(text) == "fr"
    document = add_document(db, base, [text], title="Retours", language="fr")
    hits = _search(db).search(
        tenant, subscription.id, "remboursement emballage", 5, "keyword", SearchFilters(languages=("fr",))
    )
    assert [(h.document_id, h.language) for h in hits] == [(document.id, "fr")]


def test_citations_quote_the_cited_chunk_of_the_same_tenant(
    db: Database,
    support_base: tuple[uuid.UUID, uuid.UUID, dict[str, Any]],
    owner_conn: psycopg.Connection[Any],
) -> None:
    tenant, subscription_id, _ = support_base
    hits = _search(db).search(tenant, subscription_id, "original packaging", 3, "hybrid")
    for i, hit in enumerate(hits, start=1):
        cited = citation(i, hit, "original packaging")
        row = owner_conn.execute(
            "select c.tenant_id, c.content from knowledge_chunks c join knowledge_bases b"
            " on b.id = c.knowledge_base_id where c.id = %s and b.subscription_id = %s",
            (uuid.UUID(cited.chunk_id), subscription_id),
        ).fetchone()
        assert row is not None and row[0] == tenant
        assert cited.snippet and cited.snippet in row[1]


def test_another_tenant_finds_nothing_and_a_model_mismatch_is_a_conflict(
    db: Database, support_base: tuple[uuid.UUID, uuid.UUID, dict[str, Any]]
) -> None:
    tenant, subscription_id, _ = support_base
    intruder = new_tenant(db)
    assert _search(db).search(intruder, subscription_id, "returns", 5, "hybrid") == []
    other_model = KnowledgeSearch(db.session, lambda: HashEmbedder(model="another-model"))
    with pytest.raises(Conflict, match="hash-test"):
        other_model.search(tenant, subscription_id, "returns", 5, "vector")
    assert other_model.search(tenant, subscription_id, "returns", 5, "keyword")
