"""Knowledge entities and their rules: a knowledge base, its documents (with the ingestion state machine),
chunks, Q&A pairs and website sources. No I/O.

Status of a document (spec Part 6): pending → parsing → embedding → indexed, or → failed with a readable
error from any of them; `reindex()` sends an indexed or failed document back to pending.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from cmp.errors import Conflict
from cmp.text import with_article

SourceType = Literal["file", "url", "qa"]
DocumentStatus = Literal["pending", "parsing", "embedding", "indexed", "failed"]
RefreshInterval = Literal["never", "daily", "weekly", "monthly"]

PREVIEW_CHARS = 20_000
"""How much of a document's extracted text its preview keeps (characters)."""

UPLOAD_EXPIRES_SECONDS = 900
"""How long a presigned upload form stays valid."""
UPLOAD_GRACE_SECONDS = 3600
"""How long after its form expired a file that never arrived still counts: S3 checks the form's expiry
when an upload starts, and a large upload started just in time may take this long to land and notify."""
UPLOAD_WINDOW = timedelta(seconds=UPLOAD_EXPIRES_SECONDS + UPLOAD_GRACE_SECONDS)
"""After this, a file document still awaiting its upload holds nothing against the plan and the hourly
housekeeping removes it (`KnowledgeService.expire_uploads`)."""

REFRESH_PERIODS: dict[str, timedelta | None] = {
    "never": None,
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
}

_MOVES: dict[str, tuple[str, ...]] = {
    "pending": ("parsing", "failed"),
    "parsing": ("parsing", "embedding", "indexed", "failed"),
    "embedding": ("parsing", "embedding", "indexed", "failed"),
    "indexed": ("pending", "parsing"),
    "failed": ("pending", "parsing"),
}


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the text (UTF-8): the key that makes re-delivered ingestion jobs idempotent."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class KnowledgeBase:
    """One per subscription (or per product); every chunk in it uses `embedding_model` of
    `embedding_dimension` floats."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID | None
    product_id: uuid.UUID | None
    embedding_model: str
    embedding_dimension: int
    created_at: datetime
    last_indexed_at: datetime | None = None
    shared: bool = False
    """A product's base only: whether the agents of the product's subscriptions search it (the seller's
    choice, `PUT /v1/provider/products/{id}/knowledge`)."""


@dataclass(frozen=True)
class KnowledgeOwner:
    """Whose knowledge base a use case works on: a buyer's subscription (`kind` "subscription") or a
    seller's product (`kind` "product", the seller-provided knowledge its subscribers' agents search)."""

    kind: Literal["subscription", "product"]
    id: uuid.UUID

    @classmethod
    def subscription(cls, subscription_id: uuid.UUID) -> KnowledgeOwner:
        """The knowledge base of the buyer's subscription `subscription_id`."""
        return cls("subscription", subscription_id)

    @classmethod
    def product(cls, product_id: uuid.UUID) -> KnowledgeOwner:
        """The seller-provided knowledge base of product `product_id`."""
        return cls("product", product_id)

    @property
    def path(self) -> str:
        """The API path of this knowledge base (for messages naming a route)."""
        if self.kind == "product":
            return f"/v1/provider/products/{self.id}/knowledge"
        return f"/v1/subscriptions/{self.id}/knowledge"


@dataclass
class Document:
    """A file, a crawled page or a Q&A pair in a knowledge base, with its ingestion progress."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    source_type: SourceType
    created_at: datetime
    filename: str | None = None
    content_type: str | None = None
    size_bytes: int = 0
    object_key: str | None = None
    url: str | None = None
    url_source_id: uuid.UUID | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    status: DocumentStatus = "pending"
    progress_done: int = 0
    progress_total: int = 0
    error: str | None = None
    chunk_count: int = 0
    content_hash: str | None = None
    preview: str | None = None
    attempts: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    indexed_at: datetime | None = None

    def awaiting_upload(self) -> bool:
        """A file whose presigned form was issued but whose upload has not reached the worker yet."""
        return self.source_type == "file" and self.status == "pending" and self.attempts == 0

    def move(self, status: DocumentStatus) -> None:
        """Go to `status`; raises `Conflict` for a move the state machine does not allow (e.g. reindexing
        a document that is still being parsed)."""
        if status not in _MOVES[self.status]:
            raise Conflict(f"{with_article(self.status)} document cannot become {status}")
        self.status = status
        if status in ("pending", "parsing"):
            self.error = None

    def start_parsing(self) -> None:
        """Begin (or restart, after a crash or a re-delivery) the ingestion job."""
        self.move("parsing")
        self.attempts += 1
        self.progress_done = 0
        self.progress_total = 0

    def fail(self, reason: str) -> None:
        """End in `failed` with a reason a person can read."""
        self.status = "failed"
        self.error = reason[:1000]

    def indexed(self, chunk_count: int, text_hash: str, now: datetime) -> None:
        """End in `indexed` with `chunk_count` chunks made from text whose hash is `text_hash`."""
        self.move("indexed")
        self.chunk_count = chunk_count
        self.content_hash = text_hash
        self.progress_done = self.progress_total = chunk_count
        self.indexed_at = now
        self.error = None

    def reindex(self) -> None:
        """Queue the document again (indexed or failed only); its chunks stay until the new ones replace
        them in one transaction."""
        self.move("pending")
        self.content_hash = None
        self.progress_done = 0


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it is stored: its text and where it came from (page, section), with its
    embedding (None until embedded)."""

    ordinal: int
    content: str
    token_count: int
    page: int | None = None
    section: str | None = None
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    embedding: list[float] | None = None


@dataclass
class QaPair:
    """A question and its answer, indexed as the one chunk of document `document_id`."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    document_id: uuid.UUID
    question: str
    answer: str
    created_at: datetime
    updated_at: datetime

    def text(self) -> str:
        """The chunk text: question and answer, so either side's words find it."""
        return f"Q: {self.question}\nA: {self.answer}"


@dataclass
class UrlSource:
    """A website added by URL, crawled within the same site up to `max_depth` links and `max_pages` pages."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    url: str
    max_depth: int
    max_pages: int
    refresh_interval: RefreshInterval
    created_at: datetime
    status: Literal["pending", "crawling", "indexed", "failed"] = "pending"
    error: str | None = None
    pages_found: int = 0
    last_crawled_at: datetime | None = None
    next_refresh_at: datetime | None = None

    def crawled(self, now: datetime, pages: int) -> None:
        """Record a finished crawl and set the next refresh from the interval (None for never)."""
        self.status = "indexed"
        self.error = None
        self.pages_found = pages
        self.last_crawled_at = now
        period = REFRESH_PERIODS[self.refresh_interval]
        self.next_refresh_at = now + period if period else None

    def change(
        self,
        max_depth: int | None = None,
        max_pages: int | None = None,
        refresh_interval: RefreshInterval | None = None,
    ) -> None:
        """Change the crawl limits (used from the next crawl) and the refresh interval (the next refresh
        becomes the last crawl plus the new period: None for never, and still None before the first
        crawl, which is queued already). The plan's bounds are the caller's to check."""
        if max_depth is not None:
            self.max_depth = max_depth
        if max_pages is not None:
            self.max_pages = max_pages
        if refresh_interval is not None:
            self.refresh_interval = refresh_interval
            period = REFRESH_PERIODS[refresh_interval]
            crawled = self.last_crawled_at
            self.next_refresh_at = crawled + period if period and crawled else None


TS_CONFIGS: dict[str, str] = {"en": "cmp_english", "es": "cmp_spanish"}
"""Text search configuration per ISO 639-1 language (migrations 0008 and 0014); any other language, or
an unknown one, uses `cmp_simple` (`ts_config_for`)."""


def ts_config_for(language: str | None) -> str:
    """The PostgreSQL text search configuration for a chunk or query in `language` (ISO 639-1 or None)."""
    return TS_CONFIGS.get(language or "", "cmp_simple")
