"""The seller's search and test of its product knowledge base through the real handlers (issue 9): they see
the product's chunks alone (never a subscriber's own), shared or not, each cited with `origin: "product"`;
the test answers from them; another seller gets 404 and a buyer 403; and a subscriber's agent still cites
both its own and the product's knowledge once the base is shared."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.knowledge.model import KnowledgeOwner
from cmp.tenancy.credentials import SCOPES
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, caller_of
from .test_knowledge_api import KNOWLEDGE, upload
from .test_product_knowledge_api import AGENT, MANUAL, PROVIDER, WORKER, call, kb, loaded, product, seller

pytestmark = pytest.mark.integration
__all__ = ["loaded", "product", "seller"]  # the fixtures this module borrows
OWN = b"# Store notes\n\nOur store lends a Nova X1 battery charger while yours is repaired.\n"
QUESTION = "How long does the Nova X1 battery last?"


def _chunk_bases(conn: psycopg.Connection[Any], chunk_ids: list[str]) -> set[uuid.UUID]:
    rows = conn.execute(
        "select distinct knowledge_base_id from knowledge_chunks where id = any(%s)",
        ([uuid.UUID(c) for c in chunk_ids],),
    ).fetchall()
    return {row[0] for row in rows}


def test_the_seller_searches_and_tests_the_product_base_alone_and_subscribers_cite_both(
    loaded: Platform, db: Database, services: Services, seller: dict[str, str], product: str,
    owner_conn: psycopg.Connection[Any],
) -> None:  # fmt: skip
    search = {"query": QUESTION, "top_k": 5, "method": "hybrid"}
    status, empty = call(loaded, PROVIDER, "POST", f"{kb(product)}/search", seller, search)
    assert status == 200 and empty == {"query": QUESTION, "method": "hybrid", "hits": []}

    status, created = call(loaded, PROVIDER, "POST", f"{kb(product)}/documents", seller,
                           {"filename": "nova-x1.md", "content_type": "text/markdown", "size_bytes": len(MANUAL)})  # fmt: skip
    assert status == 201
    upload(loaded, created, MANUAL)
    buyer = caller_of(services, "Product Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE),
                             product=(uuid.UUID(seller["tenant_id"]), uuid.UUID(product)))  # fmt: skip
    own = loaded.function(AGENT).services.knowledge.request_upload(
        buyer["tenant_id"],
        KnowledgeOwner.subscription(subscription.id),
        "notes.md",
        "text/markdown",
        len(OWN),
    )
    upload(loaded, {"upload": own.form}, OWN)
    while loaded.drain("IngestionQueue", WORKER):
        pass
    product_base = owner_conn.execute(
        "select id from knowledge_bases where product_id = %s", (uuid.UUID(product),)
    ).fetchone()
    assert product_base is not None

    for method in ("vector", "keyword", "hybrid"):  # not shared: the seller still searches it
        status, found = call(loaded, PROVIDER, "POST", f"{kb(product)}/search", seller,
                             {**search, "method": method})  # fmt: skip
        assert status == 200 and found["hits"], (method, found)
        assert _chunk_bases(owner_conn, [h["citation"]["chunk_id"] for h in found["hits"]]) == {
            product_base[0]
        }
        assert {h["citation"]["origin"] for h in found["hits"]} == {"product"}
        assert "14 hours" in found["hits"][0]["content"]
        assert all(h["citation"]["snippet"] in h["content"] for h in found["hits"])
    status, filtered = call(loaded, PROVIDER, "POST", f"{kb(product)}/search", seller,
                            {**search, "filters": {"source_types": ["qa"]}})  # fmt: skip
    assert status == 200 and filtered["hits"] == []

    status, tested = call(loaded, PROVIDER, "POST", f"{kb(product)}/test", seller, {"question": QUESTION})
    assert status == 200, tested
    assert tested["grounded"] is True and "14 hours" in tested["answer"]
    assert tested["citations"] and {c["origin"] for c in tested["citations"]} == {"product"}
    assert _chunk_bases(owner_conn, [c["chunk_id"] for c in tested["citations"]]) == {product_base[0]}
    stored = owner_conn.execute(
        "select count(*) from conversation_messages where tenant_id = %s", (uuid.UUID(seller["tenant_id"]),)
    ).fetchone()
    assert stored == (0,)

    status, _ = call(loaded, PROVIDER, "PUT", kb(product), seller, {"shared": True})
    assert status == 200
    runtime = RuntimeContext(
        "portal", subscription.tenant_id, subscription.id, subscription.product_id, subscription.plan_id,
        "shared", None, tuple(SCOPES), user_id=uuid.UUID(buyer["user_id"]),
    ).to_authorizer()  # fmt: skip
    status, answer = call(loaded, AGENT, "POST", f"/v1/subscriptions/{subscription.id}/knowledge/test",
                          runtime, {"question": "Nova X1 battery: how long does it last, and a charger?"})  # fmt: skip
    assert status == 200, answer
    assert {c["origin"] for c in answer["citations"]} == {"product", "subscription"}, answer["citations"]
    status, found = call(loaded, PROVIDER, "POST", f"{kb(product)}/search", seller,
                         {**search, "query": "battery charger while yours is repaired"})  # fmt: skip
    assert status == 200 and all("charger" not in h["content"] for h in found["hits"])


@pytest.mark.parametrize(
    ("suffix", "body"),
    [("/search", {"query": "battery", "method": "keyword"}), ("/test", {"question": "Battery life?"})],
)
def test_another_seller_gets_404_and_a_buyer_403(
    loaded: Platform, services: Services, product: str, suffix: str, body: dict[str, str]
) -> None:
    other_seller = caller_of(services, "Other Seller", "seller")
    buyer = caller_of(services, "Some Buyer", "buyer")
    status, answer = call(loaded, PROVIDER, "POST", kb(product) + suffix, other_seller, body)
    assert status == 404, answer
    status, answer = call(loaded, PROVIDER, "POST", kb(product) + suffix, buyer, body)
    assert status == 403, answer
    status, answer = call(loaded, PROVIDER, "POST", kb(str(uuid.uuid4())) + suffix, other_seller, body)
    assert status == 404, answer


def test_the_test_of_a_product_that_is_not_an_agent_is_a_409(
    loaded: Platform, seller: dict[str, str]
) -> None:
    status, created = call(loaded, PROVIDER, "POST", "/v1/provider/products", seller,
                           {"category": "app", "subcategory": "tool"})  # fmt: skip
    assert status == 201, created
    status, answer = call(
        loaded, PROVIDER, "POST", f"{kb(created['id'])}/test", seller, {"question": "Hello?"}
    )
    assert status == 409 and "not an agent" in answer["message"], answer
