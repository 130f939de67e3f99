"""Seller-provided product knowledge in retrieval, on real PostgreSQL: a subscription's search covers its own
knowledge base and its product's shared one in one ranking, each hit saying which (`origin`), every product
citation a real chunk of that product's base; the buyer's transaction reads the seller's chunks only through
migration 0036's functions, which give nothing for another buyer's subscription, another product's chunks,
an unshared base or no tenant. Two sellers and two buyers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.conversations.extractive import ExtractiveAnswerer
from cmp.conversations.model import ChatRequest
from cmp.conversations.services import AgentService
from cmp.db import Database
from cmp.knowledge.model import KnowledgeBase
from cmp.knowledge.retrieval import KnowledgeSearch, Method, SearchFilters
from tests.knowledge_data import EMBEDDER, add_base, add_document, add_product_base, new_tenant
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class World:
    """Seller A's product (shared knowledge) bought by buyer 1; seller B's product (shared knowledge) bought
    by buyer 2; seller A's second product (unshared knowledge) bought by buyer 2 too."""

    seller_a: uuid.UUID
    seller_b: uuid.UUID
    buyer_1: uuid.UUID
    buyer_2: uuid.UUID
    sub_1: uuid.UUID
    sub_2: uuid.UUID
    sub_2_unshared: uuid.UUID
    product_a: KnowledgeBase
    product_b: KnowledgeBase
    unshared: KnowledgeBase


def _product(db: Database, seller: uuid.UUID) -> uuid.UUID:
    product = uuid.uuid4()
    with db.session(seller) as session:
        session.execute(
            "insert into products (id, tenant_id, category, subcategory) values (%s, %s, 'agent', 'single')",
            (product, seller),
        )
    return product


@pytest.fixture
def world(db: Database) -> World:
    seller_a, seller_b, buyer_1, buyer_2 = (new_tenant(db) for _ in range(4))
    product_a, product_b, product_c = _product(db, seller_a), _product(db, seller_b), _product(db, seller_a)
    sub_1 = subscribe(db, buyer_1, product=(seller_a, product_a)).id
    sub_2 = subscribe(db, buyer_2, product=(seller_b, product_b)).id
    sub_2_unshared = subscribe(db, buyer_2, product=(seller_a, product_c), slug="second").id
    base_a = add_product_base(db, seller_a, product_a)
    base_b = add_product_base(db, seller_b, product_b)
    unshared = add_product_base(db, seller_a, product_c, shared=False)
    add_document(db, base_a, [
        "The Nova X1 laptop battery lasts 14 hours of video playback.",
        "The Nova X1 warranty covers two years of parts and labour.",
    ], title="Nova X1 manual")  # fmt: skip
    add_document(db, base_b, ["The Orbit speaker battery lasts 20 hours of music."], title="Orbit manual")
    add_document(db, unshared, ["The Nova X1 battery secret draft: 99 hours."], title="Draft")
    own = add_base(db, buyer_1, sub_1)
    add_document(db, own, [
        "Our office keeps spare Nova X1 laptop chargers in room 4.",
        "Staff laptops are replaced every three years.",
    ], title="Office notes")  # fmt: skip
    return World(seller_a, seller_b, buyer_1, buyer_2, sub_1, sub_2, sub_2_unshared, base_a, base_b, unshared)


@pytest.mark.parametrize("exact_max_chunks", [0, 20_000], ids=["hnsw", "exact"])
@pytest.mark.parametrize("method", ["vector", "keyword", "hybrid"])
def test_a_search_ranks_the_subscriptions_and_the_products_chunks_together(
    db: Database, world: World, owner_conn: psycopg.Connection[Any], method: Method, exact_max_chunks: int
) -> None:
    search = KnowledgeSearch(db.session, lambda: EMBEDDER, exact_max_chunks=exact_max_chunks)
    hits = search.search(
        world.buyer_1, world.sub_1, "How long does the Nova X1 laptop battery last?", 4, method
    )
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert {h.origin for h in hits} == {"product", "subscription"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = hits[0]
    assert best.origin == "product" and "14 hours" in best.content and best.title == "Nova X1 manual"
    for hit in hits:
        row = owner_conn.execute(
            "select c.tenant_id, c.content, b.product_id, b.subscription_id from knowledge_chunks c"
            " join knowledge_bases b on b.id = c.knowledge_base_id where c.id = %s",
            (hit.chunk_id,),
        ).fetchone()
        assert row is not None and row[1] == hit.content
        if hit.origin == "product":
            assert (row[0], row[2]) == (world.seller_a, world.product_a.product_id)
        else:
            assert (row[0], row[3]) == (world.buyer_1, world.sub_1)
    everything = " ".join(h.content for h in search.search(world.buyer_1, world.sub_1, "battery", 10, method))
    assert "Orbit" not in everything and "99 hours" not in everything


def test_filters_apply_to_the_products_chunks_and_a_subscription_without_own_base_searches_the_product(
    db: Database, world: World
) -> None:
    search = KnowledgeSearch(db.session, lambda: EMBEDDER)
    warranty = search.search(
        world.buyer_1, world.sub_1, "Nova X1 warranty", 5, "hybrid", SearchFilters(languages=("es",))
    )
    assert warranty == []
    only = search.search(world.buyer_2, world.sub_2, "speaker battery", 5, "hybrid")
    assert [(h.origin, h.title) for h in only] == [("product", "Orbit manual")]


def test_an_unshared_product_base_is_not_searched_until_the_seller_shares_it(
    db: Database, world: World, services: Services
) -> None:
    search = KnowledgeSearch(db.session, lambda: EMBEDDER)
    assert search.search(world.buyer_2, world.sub_2_unshared, "Nova X1 battery", 5, "keyword") == []
    services.knowledge.share(str(world.seller_a), world.unshared.product_id, True)  # type: ignore[arg-type]
    hits = search.search(world.buyer_2, world.sub_2_unshared, "Nova X1 battery", 5, "keyword")
    assert [h.content for h in hits] == ["The Nova X1 battery secret draft: 99 hours."]


def test_the_sql_functions_give_nothing_outside_the_callers_own_subscription(
    db: Database, world: World
) -> None:
    vector = "[" + ",".join(repr(x) for x in EMBEDDER.embed_query("battery")) + "]"
    with db.session(world.seller_a, read_only=True) as session:
        product_ids = [r["id"] for r in session.fetch_all(
            "select id from knowledge_chunks where knowledge_base_id = %s", (world.product_a.id,)
        )]  # fmt: skip
    filters = (None, None, None, None, None, None)

    def reads(
        tenant: uuid.UUID | None, subscription: uuid.UUID, tiered: bool = False
    ) -> tuple[int, int, int, int]:
        with db.session(tenant, read_only=True) as session:
            base = session.fetch_all("select * from knowledge_product_base(%s, 100)", (subscription,))
            vec = session.fetch_all(
                "select * from knowledge_product_vector_matches(%s, %s, 10, true, %s, %s, %s, %s, %s, %s)",
                (subscription, vector, *filters),
            )
            kw = session.fetch_all(
                "select * from knowledge_product_keyword_matches(%s, array['cmp_english']::regconfig[],"
                " 'battery', 10, %s, %s, %s, %s, %s, %s, %s)",
                (subscription, tiered, *filters),
            )
            chunks = session.fetch_all(
                "select * from knowledge_product_chunks(%s, %s, null)", (subscription, product_ids)
            )
        return len(base), len(vec), len(kw), len(chunks)

    assert reads(world.buyer_1, world.sub_1) == (1, 2, 1, 2)
    assert reads(world.buyer_1, world.sub_1, tiered=True) == (1, 2, 1, 2)
    with db.session(world.buyer_1, read_only=True) as session:  # counted up to the limit asked for
        counted = session.fetch_all("select chunk_count from knowledge_product_base(%s, 1)", (world.sub_1,))
    assert counted == [{"chunk_count": 1}]
    assert reads(world.buyer_2, world.sub_1, tiered=True) == (0, 0, 0, 0)
    assert reads(world.buyer_2, world.sub_1) == (0, 0, 0, 0)  # another buyer's subscription
    assert reads(world.seller_a, world.sub_1) == (0, 0, 0, 0)  # the seller is not the subscriber
    assert reads(None, world.sub_1) == (0, 0, 0, 0)  # no tenant
    with db.session(world.buyer_2, read_only=True) as session:
        other_product = session.fetch_all(
            "select * from knowledge_product_chunks(%s, %s, null)", (world.sub_2, product_ids)
        )
        direct = session.fetch_all("select id from knowledge_chunks where id = any(%s)", (product_ids,))
    assert other_product == [] and direct == []  # product A's chunks through product B's subscription: none
    with db.session(world.buyer_1, read_only=True) as session:
        assert session.fetch_all("select id from knowledge_chunks where id = any(%s)", (product_ids,)) == []


def test_the_agent_answers_from_the_products_knowledge_and_cites_it(
    db: Database, world: World, services: Services
) -> None:
    agent = AgentService(
        services.unit_of_work, KnowledgeSearch(db.session, lambda: EMBEDDER), ExtractiveAnswerer,
        services.clock, services.ids,
    )  # fmt: skip

    @dataclass(frozen=True)
    class Ctx:
        tenant_id: uuid.UUID
        subscription_id: uuid.UUID
        principal: str = "api_key"
        key_id: uuid.UUID | None = None

    answer = agent.chat(
        Ctx(world.buyer_1, world.sub_1), ChatRequest("How long does the Nova X1 battery last?")
    )
    assert answer.grounded and "14 hours" in answer.answer
    product = [c for c in answer.citations if c.origin == "product"]
    assert product and product[0].title == "Nova X1 manual"
    assert "14 hours" in product[0].snippet
    assert all(c.as_dict()["origin"] in ("product", "subscription") for c in answer.citations)
