"""Request and response models of the knowledge ingestion API (`/v1/subscriptions/{id}/knowledge…` and the
seller's `/v1/provider/products/{id}/knowledge…`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from cmp.errors import FieldError, PayloadTooLarge
from cmp.web.schemas import FILE_NAME_PATTERN, ApiModel, RequestModel

if TYPE_CHECKING:
    from cmp.knowledge.model import Document, QaPair, UrlSource
    from cmp.knowledge.views import KnowledgeStats

MAX_UPLOAD_BYTES = 5 * 1024**3
"""S3's limit for one POST upload (5 GiB); the plan's per-file size is usually far below."""


class NewDocument(RequestModel):
    """A file to upload: its name (the extension names the format), declared type and exact size."""

    filename: str = Field(min_length=1, max_length=255, pattern=FILE_NAME_PATTERN, examples=["returns.pdf"])
    content_type: str = Field(min_length=3, max_length=127, examples=["application/pdf"])
    size_bytes: int = Field(
        ge=1, description="The file's exact size in bytes; over 5 GiB (S3's limit for one upload) is a 413"
    )

    def check_size(self) -> None:
        """Raises PayloadTooLarge (413, as a file over the plan's per-file size; docs/knowledge.md) when
        `size_bytes` passes S3's limit for one upload (`MAX_UPLOAD_BYTES`)."""
        if self.size_bytes > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                "the file is larger than one upload may be (5 GiB)",
                errors=[FieldError("size_bytes", f"must be at most {MAX_UPLOAD_BYTES} bytes (5 GiB)")],
            )


class UploadForm(ApiModel):
    """A presigned S3 POST: send `fields` and then the file as multipart/form-data to `url`."""

    url: str
    fields: dict[str, str]


class DocumentOut(ApiModel):
    """A document with its ingestion status and progress (chunks embedded / to embed)."""

    document_id: UUID
    source_type: Literal["file", "url", "qa"]
    filename: str | None
    url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    content_type: str | None
    size_bytes: int
    status: Literal["pending", "parsing", "embedding", "indexed", "failed"]
    progress: dict[str, int] = Field(description='{"done": chunks embedded, "total": chunks to embed}')
    error: str | None
    chunk_count: int
    warnings: list[str]
    created_at: datetime
    indexed_at: datetime | None

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        return cls(
            document_id=d.id,
            source_type=d.source_type,
            filename=d.filename,
            url=d.url,
            title=d.title,
            author=d.author,
            published_at=d.published_at,
            content_type=d.content_type,
            size_bytes=d.size_bytes,
            status=d.status,
            progress={"done": d.progress_done, "total": d.progress_total},
            error=d.error,
            chunk_count=d.chunk_count,
            warnings=list(d.metadata.get("warnings") or []),
            created_at=d.created_at,
            indexed_at=d.indexed_at,
        )


class CreatedDocument(ApiModel):
    document_id: UUID
    status: Literal["pending"]
    upload: UploadForm
    expires_in: int = Field(description="Seconds the upload form stays valid")


class DocumentList(ApiModel):
    items: list[DocumentOut]


class Preview(ApiModel):
    """The extracted text (its first characters) and what parsing reported."""

    document_id: UUID
    status: str
    text: str
    truncated: bool
    warnings: list[str]

    @classmethod
    def of(cls, document: Document) -> Preview:
        """The preview of `document` (empty until it has been parsed)."""
        from cmp.knowledge.model import PREVIEW_CHARS

        text = document.preview or ""
        return cls(
            document_id=document.id,
            status=document.status,
            text=text,
            truncated=len(text) >= PREVIEW_CHARS,
            warnings=list(document.metadata.get("warnings") or []),
        )


class NewWebsite(RequestModel):
    url: str = Field(min_length=8, max_length=2048, examples=["https://docs.example.com/help/"])
    max_depth: int = Field(
        default=1, ge=0, le=5, description="Links followed from the URL (0: the page only)"
    )
    max_pages: int = Field(default=50, ge=1, le=1000)
    refresh_interval: Literal["never", "daily", "weekly", "monthly"] = "never"


class WebsiteChange(RequestModel):
    """What a PATCH of a website source changes; a field left out stays as it is. Depth and pages apply
    from the next crawl; the refresh interval moves the next refresh to the last crawl plus it."""

    max_depth: int | None = Field(
        default=None,
        ge=0,
        le=5,
        description="Links followed from the URL (0: the page only), within the plan",
    )
    max_pages: int | None = Field(default=None, ge=1, le=1000)
    refresh_interval: Literal["never", "daily", "weekly", "monthly"] | None = None


class WebsiteOut(ApiModel):
    """A website source with the state of its last crawl."""

    url_source_id: UUID
    url: str
    max_depth: int
    max_pages: int
    refresh_interval: str
    status: str
    error: str | None
    pages_found: int
    last_crawled_at: datetime | None
    next_refresh_at: datetime | None

    @classmethod
    def of(cls, s: UrlSource) -> WebsiteOut:
        return cls(
            url_source_id=s.id,
            url=s.url,
            max_depth=s.max_depth,
            max_pages=s.max_pages,
            refresh_interval=s.refresh_interval,
            status=s.status,
            error=s.error,
            pages_found=s.pages_found,
            last_crawled_at=s.last_crawled_at,
            next_refresh_at=s.next_refresh_at,
        )


class WebsiteList(ApiModel):
    items: list[WebsiteOut]


class QaPairIn(RequestModel):
    question: str = Field(max_length=2000)
    answer: str = Field(max_length=20000)


class QaImport(RequestModel):
    """Either `pairs` (a JSON list) or `csv` (the text of a CSV file with `question` and `answer`
    columns), not both. The maxima keep a body of plain text under API Gateway's 10 MB payload limit (at
    most 200 pairs of up to 22,000 characters each, or 5,000,000 characters of CSV); larger imports go in several
    calls."""

    pairs: list[QaPairIn] | None = Field(default=None, max_length=200)
    csv: str | None = Field(default=None, max_length=5_000_000)

    @model_validator(mode="after")
    def _one(self) -> QaImport:
        if (self.pairs is None) == (self.csv is None):
            raise ValueError("give either pairs or csv")
        return self


class QaPairOut(ApiModel):
    pair_id: UUID
    document_id: UUID
    question: str
    answer: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: QaPair) -> QaPairOut:
        return cls(
            pair_id=p.id,
            document_id=p.document_id,
            question=p.question,
            answer=p.answer,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class QaPairList(ApiModel):
    items: list[QaPairOut]


class StatsOut(ApiModel):
    """The knowledge base's figures against the plan's limits."""

    documents: int
    documents_by_status: dict[str, int]
    chunks: int
    size_bytes: int
    storage_limit_bytes: int
    storage_used_percent: float
    document_limit: int
    websites: int
    qa_pairs: int
    uploads_awaiting: int = Field(
        description="Upload forms issued whose file has not arrived yet; a form unused an hour after it"
        " expired no longer counts (and is removed)"
    )
    last_indexed_at: datetime | None
    embedding_model: str | None

    @classmethod
    def of(cls, s: KnowledgeStats) -> StatsOut:
        used = round(100 * s.size_bytes / s.storage_limit_bytes, 2) if s.storage_limit_bytes else 0.0
        return cls(
            documents=s.documents,
            documents_by_status=s.by_status,
            chunks=s.chunks,
            size_bytes=s.size_bytes,
            storage_limit_bytes=s.storage_limit_bytes,
            storage_used_percent=used,
            document_limit=s.document_limit,
            websites=s.websites,
            qa_pairs=s.qa_pairs,
            uploads_awaiting=s.uploads_awaiting,
            last_indexed_at=s.last_indexed_at,
            embedding_model=s.embedding_model,
        )


class ProductStatsOut(StatsOut):
    """A product knowledge base's figures against the product limits, and whether it is shared."""

    shared: bool = Field(description="Whether the agents of the product's subscriptions search it")

    @classmethod
    def of(cls, s: KnowledgeStats) -> ProductStatsOut:
        return cls(**StatsOut.of(s).model_dump(), shared=bool(s.shared))


class SharingIn(RequestModel):
    """Share the product's knowledge base with its subscriptions' agents (true), or stop (false)."""

    shared: bool


class SharingOut(ApiModel):
    knowledge_base_id: UUID
    shared: bool


def form_fields(form: dict[str, Any]) -> UploadForm:
    """The presigned POST as the response model (every field a string)."""
    return UploadForm(url=str(form["url"]), fields={k: str(v) for k, v in form["fields"].items()})
