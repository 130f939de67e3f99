"""The SQL of knowledge bases (migration 0014), in the buyer organization's tenant: the only writer of
`knowledge_bases`, `knowledge_documents`, `knowledge_chunks`, `knowledge_qa_pairs` and
`knowledge_url_sources`.

Chunks are written in bulk: one `delete` of the document's old chunks and one `insert … select from
unnest(…)` of the new ones, in the caller's transaction, so a document's chunks are always all old or all
new (a re-delivered or restarted job can never leave duplicates). Embeddings travel as pgvector text
(`[0.1,0.2,…]`) and are cast to `vector` in SQL, so no type adapter has to be registered on the pool.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.knowledge.model import ChunkDraft, Document, KnowledgeBase, QaPair, UrlSource, ts_config_for

_BASE_COLUMNS = tuple(f.name for f in fields(KnowledgeBase))
DOCUMENT_COLUMNS = tuple(f.name for f in fields(Document))
_QA_COLUMNS = tuple(f.name for f in fields(QaPair))
_SOURCE_COLUMNS = tuple(f.name for f in fields(UrlSource))


def _values(entity: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {
        name: Jsonb(value) if name == "metadata" else value
        for name in columns
        for value in (getattr(entity, name),)
    }


def vector_text(vector: Sequence[float]) -> str:
    """pgvector's text form of a vector (`[0.1,0.2]`), cast with `::vector` in SQL."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class KnowledgeBaseRepository:
    """`knowledge_bases` rows as `KnowledgeBase` entities (`uow.knowledge_bases`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def for_subscription(self, subscription_id: uuid.UUID) -> KnowledgeBase | None:
        """The subscription's knowledge base, or None (none yet, or another tenant's)."""
        row = self._session.fetch_one(
            "select * from knowledge_bases where subscription_id = %s", (subscription_id,)
        )
        return KnowledgeBase(**{name: row[name] for name in _BASE_COLUMNS}) if row else None

    def for_product(self, product_id: uuid.UUID) -> KnowledgeBase | None:
        """The product's seller-provided knowledge base, or None (none yet, or another tenant's product)."""
        row = self._session.fetch_one("select * from knowledge_bases where product_id = %s", (product_id,))
        return KnowledgeBase(**{name: row[name] for name in _BASE_COLUMNS}) if row else None

    def set_shared(self, base_id: uuid.UUID, shared: bool) -> None:
        """Set whether a product's base is searched by its subscriptions' agents (migration 0036)."""
        self._session.execute("update knowledge_bases set shared = %s where id = %s", (shared, base_id))

    def get(self, base_id: uuid.UUID) -> KnowledgeBase:
        """The knowledge base; raises `NotFound`."""
        row = self._session.fetch_one("select * from knowledge_bases where id = %s", (base_id,))
        if row is None:
            raise NotFound("knowledge base not found")
        return KnowledgeBase(**{name: row[name] for name in _BASE_COLUMNS})

    def add(self, base: KnowledgeBase) -> None:
        """Insert a new knowledge base."""
        self._session.insert("knowledge_bases", _values(base, _BASE_COLUMNS))

    def touch_indexed(self, base_id: uuid.UUID, now: datetime) -> None:
        """Set `last_indexed_at` to `now`."""
        self._session.execute("update knowledge_bases set last_indexed_at = %s where id = %s", (now, base_id))


class DocumentRepository:
    """`knowledge_documents` rows as `Document` entities (`uow.knowledge_documents`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, document_id: uuid.UUID, for_update: bool = False) -> Document:
        """The document (row-locked for the transaction when `for_update`); raises `NotFound`."""
        lock = " for update" if for_update else ""
        row = self._session.fetch_one(
            f"select * from knowledge_documents where id = %s{lock}", (document_id,)
        )
        if row is None:
            raise NotFound("document not found")
        return Document(**{name: row[name] for name in DOCUMENT_COLUMNS})

    def add(self, document: Document) -> None:
        """Insert a new document."""
        self._session.insert("knowledge_documents", _values(document, DOCUMENT_COLUMNS))

    def save(self, document: Document) -> None:
        """Write every field but the id, tenant, base and creation time."""
        fixed = {"id", "tenant_id", "knowledge_base_id", "created_at"}
        columns = [name for name in DOCUMENT_COLUMNS if name not in fixed]
        assignments = ", ".join(f"{name} = %({name})s" for name in columns)
        values = _values(document, columns)
        values["id"] = document.id
        self._session.execute(f"update knowledge_documents set {assignments} where id = %(id)s", values)

    def set_progress(self, document_id: uuid.UUID, done: int, total: int) -> None:
        """Record progress (chunks embedded / to embed)."""
        self._session.execute(
            "update knowledge_documents set progress_done = %s, progress_total = %s where id = %s",
            (done, total, document_id),
        )

    def delete(self, document_id: uuid.UUID) -> None:
        """Delete the document; its chunks and Q&A pair go with it (foreign keys on delete cascade)."""
        self._session.execute("delete from knowledge_documents where id = %s", (document_id,))

    def usage(self, base_id: uuid.UUID, forms_since: datetime) -> tuple[int, int]:
        """(count, total bytes) of the base's file documents, for the plan's document and storage limits:
        every file received, and every file still awaiting its upload whose form was issued at or after
        `forms_since` (a form issued earlier has expired unused and holds nothing)."""
        row = self._session.fetch_one(
            "select count(*)::int as n, coalesce(sum(size_bytes), 0)::bigint as bytes"
            " from knowledge_documents where knowledge_base_id = %s and source_type = 'file'"
            " and not (status = 'pending' and attempts = 0 and created_at < %s)",
            (base_id, forms_since),
        )
        assert row is not None
        return row["n"], row["bytes"]

    def expired_uploads(self, before: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant id, document id) of every tenant's file documents still awaiting their upload whose
        form was issued before `before`, oldest first (SECURITY DEFINER read, migration 0029)."""
        rows = self._session.fetch_all("select * from knowledge_expired_uploads(%s, %s)", (before, limit))
        return [(row["tenant_id"], row["document_id"]) for row in rows]

    def for_url_source(self, source_id: uuid.UUID) -> list[Document]:
        """The pages crawled from a website source."""
        rows = self._session.fetch_all(
            "select * from knowledge_documents where url_source_id = %s order by created_at", (source_id,)
        )
        return [Document(**{name: row[name] for name in DOCUMENT_COLUMNS}) for row in rows]


class ChunkRepository:
    """`knowledge_chunks`, written in bulk per document (`uow.knowledge_chunks`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def replace(self, base: KnowledgeBase, document_id: uuid.UUID, chunks: Sequence[ChunkDraft]) -> int:
        """Make `chunks` the document's only chunks, in the caller's transaction: delete the old ones,
        then insert the new ones in one statement. A chunk's embedding, when given, must have the base's
        dimension (a `CheckViolation` otherwise); `ts_config` follows the chunk's language."""
        self._session.execute("delete from knowledge_chunks where document_id = %s", (document_id,))
        if not chunks:
            return 0
        self._session.execute(
            "insert into knowledge_chunks (id, tenant_id, knowledge_base_id, document_id, ordinal, content,"
            " page, section, language, ts_config, metadata, token_count, embedding_model,"
            " embedding_dimension, embedding)"
            " select c.id, %(tenant)s, %(base)s, %(document)s, c.ordinal, c.content, c.page, c.section,"
            " c.language, c.ts_config::regconfig, c.metadata, c.token_count,"
            " case when c.embedding is null then null else %(model)s end,"
            " case when c.embedding is null then null else %(dimension)s end, c.embedding::vector"
            " from unnest(%(ids)s::uuid[], %(ordinals)s::int[], %(contents)s::text[], %(pages)s::int[],"
            " %(sections)s::text[], %(languages)s::text[], %(configs)s::text[], %(metadata)s::jsonb[],"
            " %(tokens)s::int[], %(embeddings)s::text[])"
            " as c(id, ordinal, content, page, section, language, ts_config, metadata, token_count, embedding)",
            {
                "tenant": base.tenant_id,
                "base": base.id,
                "document": document_id,
                "model": base.embedding_model,
                "dimension": base.embedding_dimension,
                "ids": [uuid.uuid4() for _ in chunks],
                "ordinals": [c.ordinal for c in chunks],
                "contents": [c.content for c in chunks],
                "pages": [c.page for c in chunks],
                "sections": [c.section for c in chunks],
                "languages": [c.language for c in chunks],
                "configs": [ts_config_for(c.language) for c in chunks],
                "metadata": [Jsonb(c.metadata) for c in chunks],
                "tokens": [c.token_count for c in chunks],
                "embeddings": [vector_text(c.embedding) if c.embedding is not None else None for c in chunks],
            },
        )
        return len(chunks)

    def count(self, document_id: uuid.UUID) -> int:
        """How many chunks the document has."""
        row = self._session.fetch_one(
            "select count(*)::int as n from knowledge_chunks where document_id = %s", (document_id,)
        )
        assert row is not None
        return int(row["n"])


class QaRepository:
    """`knowledge_qa_pairs` rows as `QaPair` entities (`uow.knowledge_qa`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, pair_id: uuid.UUID) -> QaPair:
        """The pair; raises `NotFound` (also for another tenant's)."""
        row = self._session.fetch_one("select * from knowledge_qa_pairs where id = %s", (pair_id,))
        if row is None:
            raise NotFound("Q&A pair not found")
        return QaPair(**{name: row[name] for name in _QA_COLUMNS})

    def add(self, pair: QaPair) -> None:
        """Insert a new pair (its document must exist)."""
        self._session.insert("knowledge_qa_pairs", _values(pair, _QA_COLUMNS))

    def save(self, pair: QaPair) -> None:
        """Write the question, answer and time of change."""
        self._session.execute(
            "update knowledge_qa_pairs set question = %s, answer = %s, updated_at = %s where id = %s",
            (pair.question, pair.answer, pair.updated_at, pair.id),
        )

    def count(self, base_id: uuid.UUID) -> int:
        """How many pairs the base holds."""
        row = self._session.fetch_one(
            "select count(*)::int as n from knowledge_qa_pairs where knowledge_base_id = %s", (base_id,)
        )
        assert row is not None
        return int(row["n"])

    def list(self, base_id: uuid.UUID) -> list[QaPair]:
        """The base's pairs, newest first."""
        rows = self._session.fetch_all(
            "select * from knowledge_qa_pairs where knowledge_base_id = %s order by created_at desc, id",
            (base_id,),
        )
        return [QaPair(**{name: row[name] for name in _QA_COLUMNS}) for row in rows]


class UrlSourceRepository:
    """`knowledge_url_sources` rows as `UrlSource` entities (`uow.knowledge_url_sources`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, source_id: uuid.UUID, for_update: bool = False) -> UrlSource:
        """The source (row-locked when `for_update`); raises `NotFound`."""
        lock = " for update" if for_update else ""
        row = self._session.fetch_one(
            f"select * from knowledge_url_sources where id = %s{lock}", (source_id,)
        )
        if row is None:
            raise NotFound("website source not found")
        return UrlSource(**{name: row[name] for name in _SOURCE_COLUMNS})

    def find(self, base_id: uuid.UUID, url: str) -> UrlSource | None:
        """The base's source of exactly this URL, or None."""
        row = self._session.fetch_one(
            "select * from knowledge_url_sources where knowledge_base_id = %s and url = %s", (base_id, url)
        )
        return UrlSource(**{name: row[name] for name in _SOURCE_COLUMNS}) if row else None

    def count(self, base_id: uuid.UUID) -> int:
        """How many website sources the base holds."""
        row = self._session.fetch_one(
            "select count(*)::int as n from knowledge_url_sources where knowledge_base_id = %s", (base_id,)
        )
        assert row is not None
        return int(row["n"])

    def add(self, source: UrlSource) -> None:
        """Insert a new source; raises the unique violation when the base already has this URL."""
        self._session.insert("knowledge_url_sources", _values(source, _SOURCE_COLUMNS))

    def save(self, source: UrlSource) -> None:
        """Write the crawl limits, state and schedule."""
        self._session.execute(
            "update knowledge_url_sources set status = %s, error = %s, pages_found = %s,"
            " last_crawled_at = %s, next_refresh_at = %s, refresh_interval = %s, max_depth = %s,"
            " max_pages = %s where id = %s",
            (
                source.status,
                source.error,
                source.pages_found,
                source.last_crawled_at,
                source.next_refresh_at,
                source.refresh_interval,
                source.max_depth,
                source.max_pages,
                source.id,
            ),
        )

    def for_base(self, base_id: uuid.UUID) -> list[UrlSource]:
        """The base's website sources, oldest first."""
        rows = self._session.fetch_all(
            "select * from knowledge_url_sources where knowledge_base_id = %s order by created_at, id",
            (base_id,),
        )
        return [UrlSource(**{name: row[name] for name in _SOURCE_COLUMNS}) for row in rows]

    def exists(self, source_id: uuid.UUID) -> bool:
        """Whether the source is still there (a crawl stops once it is deleted)."""
        row = self._session.fetch_one(
            "select 1 as one from knowledge_url_sources where id = %s", (source_id,)
        )
        return row is not None

    def delete(self, source_id: uuid.UUID) -> None:
        """Delete the source; its pages' documents and their chunks go with it (on delete cascade)."""
        self._session.execute("delete from knowledge_url_sources where id = %s", (source_id,))

    def due(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant id, source id) of every tenant's sources due for a re-crawl (SECURITY DEFINER read)."""
        rows = self._session.fetch_all("select * from knowledge_due_url_sources(%s, %s)", (now, limit))
        return [(row["tenant_id"], row["url_source_id"]) for row in rows]
