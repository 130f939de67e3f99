"""Knowledge bases for tests that need indexed chunks without running ingestion: written through the
knowledge repositories (`uow.knowledge_bases`, `uow.knowledge_documents`, `uow.knowledge_chunks`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cmp.db import Database
from cmp.knowledge.embeddings import HashEmbedder
from cmp.knowledge.model import ChunkDraft, Document, KnowledgeBase

EMBEDDER = HashEmbedder()


def new_tenant(db: Database) -> uuid.UUID:
    tenant = uuid.uuid4()
    with db.session(tenant) as session:
        session.execute("insert into tenants (id, name, slug) values (%s, 'T', %s)", (tenant, f"t-{tenant}"))
    return tenant


def add_base(db: Database, tenant: uuid.UUID, subscription_id: uuid.UUID) -> KnowledgeBase:
    """The subscription's knowledge base, embedded with `EMBEDDER`."""
    base = KnowledgeBase(
        uuid.uuid4(), tenant, subscription_id, None, EMBEDDER.model, EMBEDDER.dimension, datetime.now(UTC)
    )
    with db.unit_of_work(tenant) as uow:
        uow.knowledge_bases.add(base)
        uow.commit()
    return base


def add_product_base(
    db: Database, seller: uuid.UUID, product_id: uuid.UUID, shared: bool = True
) -> KnowledgeBase:
    """The seller-provided knowledge base of `product_id` (of tenant `seller`), embedded with `EMBEDDER`,
    shared with the product's subscriptions unless `shared` is False."""
    base = KnowledgeBase(
        uuid.uuid4(), seller, None, product_id, EMBEDDER.model, EMBEDDER.dimension, datetime.now(UTC),
        shared=shared,
    )  # fmt: skip
    with db.unit_of_work(seller) as uow:
        uow.knowledge_bases.add(base)
        uow.commit()
    return base


def add_document(
    db: Database,
    base: KnowledgeBase,
    texts: Sequence[str],
    *,
    source_type: str = "file",
    title: str | None = "Guide",
    language: str = "en",
    vectors: Sequence[list[float]] | None = None,
    pages: bool = True,
    **fields: Any,
) -> Document:
    """An indexed document of `base` whose chunks are `texts` (embedded with `EMBEDDER` unless `vectors`
    are given); `fields` are more `Document` fields (url, published_at, metadata, filename...)."""
    now = datetime.now(UTC)
    document = Document(
        uuid.uuid4(), base.tenant_id, base.id, source_type, now, title=title, status="indexed",  # type: ignore[arg-type]
        chunk_count=len(texts), **fields,
    )  # fmt: skip
    embeddings = list(vectors) if vectors is not None else EMBEDDER.embed_documents(texts)
    drafts = [
        ChunkDraft(i, text, len(text.split()), page=i + 1 if pages else None, language=language, embedding=v)
        for i, (text, v) in enumerate(zip(texts, embeddings, strict=True))
    ]
    with db.unit_of_work(base.tenant_id) as uow:
        uow.knowledge_documents.add(document)
        uow.knowledge_chunks.replace(base, document.id, drafts)
        uow.commit()
    return document
