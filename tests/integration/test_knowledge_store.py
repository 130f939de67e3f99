"""The knowledge store of migration 0014 on real PostgreSQL: bulk chunk writes with tsvector and
embedding, replacement without duplicates, the 384-dimension HNSW path, and row-level security."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from cmp.db import Database
from cmp.errors import NotFound
from cmp.knowledge.embeddings import HashEmbedder
from cmp.knowledge.model import ChunkDraft, Document, KnowledgeBase
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration
EMBEDDER = HashEmbedder()


def _tenant(db: Database) -> uuid.UUID:
    tenant = uuid.uuid4()
    with db.session(tenant) as session:
        session.execute("insert into tenants (id, name, slug) values (%s, 'T', %s)", (tenant, f"t-{tenant}"))
    return tenant


def _base_with_document(db: Database) -> tuple[KnowledgeBase, Document]:
    tenant = _tenant(db)
    subscription = subscribe(db, tenant)
    now = datetime.now(UTC)
    base = KnowledgeBase(uuid.uuid4(), tenant, subscription.id, None, EMBEDDER.model, 384, now)
    document = Document(uuid.uuid4(), tenant, base.id, "file", now, filename="a.txt")
    with db.unit_of_work(tenant) as uow:
        uow.knowledge_bases.add(base)
        uow.knowledge_documents.add(document)
        uow.commit()
    return base, document


def _drafts(texts: list[str], language: str = "en") -> list[ChunkDraft]:
    vectors = EMBEDDER.embed_documents(texts)
    return [
        ChunkDraft(i, text, len(text.split()), page=i + 1, language=language, embedding=vector)
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]


def test_replace_writes_chunks_in_bulk_and_never_duplicates(
    db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    base, document = _base_with_document(db)
    texts = ["Refunds are issued within 30 days.", "Shipping takes five business days."]
    for _ in range(2):  # a re-delivered job writes the same chunks again
        with db.unit_of_work(base.tenant_id) as uow:
            assert uow.knowledge_chunks.replace(base, document.id, _drafts(texts)) == 2
            uow.commit()
    rows = owner_conn.execute(
        "select ordinal, page, ts_config::text, embedding_model, embedding_dimension, vector_dims(embedding),"
        " content_tsv @@ websearch_to_tsquery('cmp_english', 'refund')"
        " from knowledge_chunks where document_id = %s order by ordinal",
        (document.id,),
    ).fetchall()
    assert rows == [
        (0, 1, "cmp_english", "hash-test", 384, 384, True),
        (1, 2, "cmp_english", "hash-test", 384, 384, False),
    ]


def test_spanish_chunks_use_the_accent_insensitive_spanish_configuration(
    db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    base, document = _base_with_document(db)
    with db.unit_of_work(base.tenant_id) as uow:
        uow.knowledge_chunks.replace(base, document.id, _drafts(["La garantía cubre dos años."], "es"))
        uow.commit()
    hit = owner_conn.execute(
        "select content_tsv @@ websearch_to_tsquery('cmp_spanish', 'garantia') from knowledge_chunks"
        " where document_id = %s",
        (document.id,),
    ).fetchone()
    assert hit == (True,)


def test_the_nearest_chunk_comes_back_through_the_384_index_cast(db: Database) -> None:
    base, document = _base_with_document(db)
    texts = ["refund policy thirty days", "shipping carriers and tracking", "password reset steps"]
    with db.unit_of_work(base.tenant_id) as uow:
        uow.knowledge_chunks.replace(base, document.id, _drafts(texts))
        uow.commit()
    query = "[" + ",".join(repr(x) for x in EMBEDDER.embed_query("how do I reset my password")) + "]"
    with db.session(base.tenant_id, read_only=True) as session:
        rows = session.fetch_all(
            "select content from knowledge_chunks where knowledge_base_id = %s and embedding_dimension = 384"
            " order by embedding::vector(384) <=> %s::vector(384) limit 1",
            (base.id, query),
        )
    assert rows == [{"content": "password reset steps"}]


def test_a_chunk_of_the_wrong_dimension_is_refused(db: Database) -> None:
    base, document = _base_with_document(db)
    wrong = [ChunkDraft(0, "x", 1, embedding=[1.0, 0.0])]
    with db.unit_of_work(base.tenant_id) as uow, pytest.raises(psycopg.errors.CheckViolation):
        uow.knowledge_chunks.replace(base, document.id, wrong)


def test_another_tenant_sees_no_knowledge_and_deleting_a_document_deletes_its_chunks(
    db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    base, document = _base_with_document(db)
    with db.unit_of_work(base.tenant_id) as uow:
        uow.knowledge_chunks.replace(base, document.id, _drafts(["one", "two"]))
        uow.commit()
    other = _tenant(db)
    with db.unit_of_work(other) as uow:
        assert uow.knowledge_bases.for_subscription(base.subscription_id) is None
        with pytest.raises(NotFound):
            uow.knowledge_documents.get(document.id)
        assert uow.knowledge_chunks.count(document.id) == 0
    with db.unit_of_work(base.tenant_id) as uow:
        uow.knowledge_documents.delete(document.id)
        uow.commit()
    left = owner_conn.execute("select count(*) from knowledge_chunks where document_id = %s", (document.id,))
    assert left.fetchone() == (0,)
