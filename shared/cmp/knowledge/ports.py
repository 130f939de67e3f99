"""What knowledge ingestion needs: an embedder and its repositories.

`cmp.knowledge.embeddings` and `cmp.knowledge.embedding_providers` implement `Embedder`;
`cmp.knowledge.repository` implements the repositories over PostgreSQL (`uow.knowledge_bases`,
`uow.knowledge_documents`, `uow.knowledge_chunks`, `uow.knowledge_qa`, `uow.knowledge_url_sources`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from cmp.knowledge.model import ChunkDraft, Document, KnowledgeBase, QaPair, UrlSource


class Embedder(Protocol):
    """Turns text into unit-length vectors of `dimension` floats with model `model`.

    `embed_documents` is for passages (stored), `embed_query` for a search question: asymmetric models
    (e5) prefix them differently. Both return L2-normalised vectors, so cosine = inner product. Raises
    `cmp.knowledge.embeddings.EmbeddingUnavailable` when the provider cannot answer.
    """

    model: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class KnowledgeBaseRepository(Protocol):
    def for_subscription(self, subscription_id: uuid.UUID) -> KnowledgeBase | None:
        """The subscription's knowledge base (None when it has none yet, or it is another tenant's)."""
        ...

    def for_product(self, product_id: uuid.UUID) -> KnowledgeBase | None:
        """The product's knowledge base (None when it has none yet, or it is another tenant's)."""
        ...

    def set_shared(self, base_id: uuid.UUID, shared: bool) -> None:
        """Set whether a product's base is searched by its subscriptions' agents."""
        ...

    def add(self, base: KnowledgeBase) -> None:
        """Insert a new knowledge base."""
        ...

    def touch_indexed(self, base_id: uuid.UUID, now: datetime) -> None:
        """Set `last_indexed_at`."""
        ...


class DocumentRepository(Protocol):
    def get(self, document_id: uuid.UUID, for_update: bool = False) -> Document:
        """The document (locked when `for_update`); raises `NotFound` (also for another tenant's)."""
        ...

    def add(self, document: Document) -> None:
        """Insert a new document."""
        ...

    def save(self, document: Document) -> None:
        """Write the document's mutable fields."""
        ...

    def delete(self, document_id: uuid.UUID) -> None:
        """Delete the document; its chunks and Q&A pair go with it."""
        ...

    def usage(self, base_id: uuid.UUID) -> tuple[int, int]:
        """(documents, bytes) of the file documents of the base, for plan limits."""
        ...


class ChunkRepository(Protocol):
    def replace(self, base: KnowledgeBase, document_id: uuid.UUID, chunks: Sequence[ChunkDraft]) -> int:
        """Make `chunks` the document's only chunks (deletes the old ones, bulk-inserts the new ones, in
        the caller's transaction); returns how many were written."""
        ...


class QaRepository(Protocol):
    def get(self, pair_id: uuid.UUID) -> QaPair:
        """The pair; raises `NotFound`."""
        ...

    def add(self, pair: QaPair) -> None: ...

    def save(self, pair: QaPair) -> None: ...

    def list(self, base_id: uuid.UUID) -> list[QaPair]: ...


class UrlSourceRepository(Protocol):
    def get(self, source_id: uuid.UUID, for_update: bool = False) -> UrlSource:
        """The source; raises `NotFound`."""
        ...

    def add(self, source: UrlSource) -> None: ...

    def save(self, source: UrlSource) -> None: ...
