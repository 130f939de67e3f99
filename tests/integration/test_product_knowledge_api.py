"""The seller's product knowledge base through the real handlers, PostgreSQL and moto: the seller uploads a
file by presigned POST (ingested by the worker), adds Q&A pairs and a website, reads stats, documents and
previews, reindexes and deletes, and shares the base; a subscriber's knowledge search then cites the
product's chunks (`origin: "product"`). Another seller gets 404 and a buyer 403 on every product route."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.knowledge.embeddings import HashEmbedder
from cmp.tenancy.credentials import SCOPES
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, api_event, caller_of
from .test_knowledge_api import KNOWLEDGE, upload

pytestmark = pytest.mark.integration
PROVIDER, AGENT, WORKER = "ProviderApiFunction", "AgentApiFunction", "IngestionWorkerFunction"
MANUAL = b"# Nova X1 manual\n\nThe Nova X1 laptop battery lasts 14 hours of video playback.\n"


@pytest.fixture
def loaded(platform: Platform) -> Platform:
    """The functions on the deterministic test embedder (no model in integration tests)."""
    for name in (PROVIDER, AGENT, WORKER):
        platform.function(name).services.embedder = HashEmbedder()
    return platform


def call(
    platform: Platform, function: str, method: str, path: str, who: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    response = platform.invoke(function, api_event(method, path, body, who))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def kb(product_id: str) -> str:
    return f"/v1/provider/products/{product_id}/knowledge"


@pytest.fixture
def seller(services: Services) -> dict[str, str]:
    return caller_of(services, "Product Seller", "seller")


@pytest.fixture
def product(loaded: Platform, seller: dict[str, str]) -> str:
    status, created = call(loaded, PROVIDER, "POST", "/v1/provider/products", seller,
                           {"category": "agent", "subcategory": "single"})  # fmt: skip
    assert status == 201
    return str(created["id"])


def test_the_seller_builds_and_shares_a_product_knowledge_base_that_subscribers_search(
    loaded: Platform, db: Database, services: Services, seller: dict[str, str], product: str,
    owner_conn: psycopg.Connection[Any],
) -> None:  # fmt: skip
    status, stats = call(loaded, PROVIDER, "GET", kb(product), seller)
    assert status == 200 and stats["documents"] == 0 and stats["shared"] is False
    assert stats["document_limit"] == 500 and stats["storage_limit_bytes"] == 500 * 1024 * 1024

    status, created = call(loaded, PROVIDER, "POST", f"{kb(product)}/documents", seller,
                           {"filename": "nova-x1.md", "content_type": "text/markdown", "size_bytes": len(MANUAL)})  # fmt: skip
    assert status == 201 and created["upload"]["fields"]["key"].startswith(
        f"knowledge/{seller['tenant_id']}/{product}/"
    )
    upload(loaded, created, MANUAL)
    status, pairs = call(loaded, PROVIDER, "POST", f"{kb(product)}/qa", seller,
                         {"pairs": [{"question": "Does the Nova X1 have a warranty?", "answer": "Two years."}]})  # fmt: skip
    assert status == 201 and len(pairs["items"]) == 1
    loaded.drain("IngestionQueue", WORKER)
    loaded.drain("IngestionQueue", WORKER)
    document_id = created["document_id"]
    status, document = call(loaded, PROVIDER, "GET", f"{kb(product)}/documents/{document_id}", seller)
    assert status == 200 and document["status"] == "indexed" and document["chunk_count"] >= 1
    status, preview = call(loaded, PROVIDER, "GET", f"{kb(product)}/documents/{document_id}/preview", seller)
    assert status == 200 and "14 hours" in preview["text"]
    status, listed = call(loaded, PROVIDER, "GET", f"{kb(product)}/documents", seller)
    assert status == 200 and {d["source_type"] for d in listed["items"]} == {"file", "qa"}
    status, stats = call(loaded, PROVIDER, "GET", kb(product), seller)
    assert stats["documents"] == 2 and stats["chunks"] >= 2 and stats["qa_pairs"] == 1
    tenants = owner_conn.execute(
        "select distinct c.tenant_id from knowledge_chunks c join knowledge_bases b on b.id = c.knowledge_base_id"
        " where b.product_id = %s",
        (uuid.UUID(product),),
    ).fetchall()
    assert tenants == [(uuid.UUID(seller["tenant_id"]),)]

    buyer = caller_of(services, "Product Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE),
                             product=(uuid.UUID(seller["tenant_id"]), uuid.UUID(product)))  # fmt: skip
    runtime = RuntimeContext(
        "portal", subscription.tenant_id, subscription.id, subscription.product_id, subscription.plan_id,
        "shared", None, tuple(SCOPES), user_id=uuid.UUID(buyer["user_id"]),
    ).to_authorizer()  # fmt: skip
    search = f"/v1/subscriptions/{subscription.id}/knowledge/search"
    question = {"query": "How long does the Nova X1 battery last?", "top_k": 3, "method": "hybrid"}
    status, found = call(loaded, AGENT, "POST", search, runtime, question)
    assert status == 200 and found["hits"] == []  # not shared yet

    status, shared = call(loaded, PROVIDER, "PUT", kb(product), seller, {"shared": True})
    assert status == 200 and shared["shared"] is True
    status, found = call(loaded, AGENT, "POST", search, runtime, question)
    assert status == 200 and found["hits"]
    best = found["hits"][0]
    assert best["citation"]["origin"] == "product" and "14 hours" in best["content"]
    assert best["citation"]["snippet"] in best["content"]

    status, again = call(loaded, PROVIDER, "POST", f"{kb(product)}/documents/{document_id}/reindex", seller)
    assert status == 202 and again["status"] == "pending"
    status, site = call(loaded, PROVIDER, "POST", f"{kb(product)}/urls", seller,
                        {"url": "https://docs.example.com/nova/", "max_depth": 1})  # fmt: skip
    assert status == 201 and site["status"] == "pending"
    status, sites = call(loaded, PROVIDER, "GET", f"{kb(product)}/urls", seller)
    assert status == 200 and [s["url"] for s in sites["items"]] == ["https://docs.example.com/nova/"]
    status, _ = call(loaded, PROVIDER, "DELETE", f"{kb(product)}/documents/{document_id}", seller)
    assert status == 204
    remaining = owner_conn.execute(
        "select count(*) from knowledge_chunks where document_id = %s", (uuid.UUID(document_id),)
    ).fetchone()
    assert remaining == (0,)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"shared": True}),
        ("POST", "/documents", {"filename": "x.md", "content_type": "text/markdown", "size_bytes": 10}),
        ("GET", "/documents", None),
        ("GET", "/qa", None),
        ("POST", "/qa", {"pairs": [{"question": "q?", "answer": "a"}]}),
        ("POST", "/urls", {"url": "https://docs.example.com/"}),
    ],
)
def test_another_seller_gets_404_and_a_buyer_403_and_nothing_changes(
    loaded: Platform, services: Services, product: str, owner_conn: psycopg.Connection[Any],
    method: str, suffix: str, body: Any,
) -> None:  # fmt: skip
    other_seller = caller_of(services, "Other Seller", "seller")
    buyer = caller_of(services, "Some Buyer", "buyer")
    status, answer = call(loaded, PROVIDER, method, kb(product) + suffix, other_seller, body)
    assert status == 404, answer
    status, answer = call(loaded, PROVIDER, method, kb(product) + suffix, buyer, body)
    assert status == 403, answer
    bases = owner_conn.execute(
        "select count(*) from knowledge_bases where product_id = %s", (uuid.UUID(product),)
    ).fetchone()
    assert bases == (0,)
