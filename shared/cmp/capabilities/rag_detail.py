"""The detailed RAG capability schema (spec Part 6), carried at `configuration.rag.detail`.

Fields that restate a switch, choice or limit of the master `configuration.rag` block default to
None, meaning "as in the master block"; validation fills them in from the master and rejects a
value that disagrees with it, so a detail block can refine the master but never contradict it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cmp.capabilities.base import NonEmptyStr, WireModel
from cmp.capabilities.enums import GroundingFallback, RetrievalMethod

DocumentFormat = Literal["pdf", "docx", "txt", "md", "html", "csv", "xlsx"]
RefreshInterval = Literal["never", "daily", "weekly", "monthly"]
SyncInterval = Literal["never", "hourly", "daily", "weekly", "monthly"]
QaImportFormat = Literal["csv", "json"]
RagDatabaseConnector = Literal["postgres", "mysql", "mongodb", "snowflake"]
RagApiAuthMethod = Literal["api_key", "oauth2", "basic"]
ChunkingStrategy = Literal["fixed", "semantic", "hybrid"]
CitationFormat = Literal["inline", "footnote", "none"]


class DocumentSourceDetail(WireModel):
    enabled: bool | None = None
    formats: list[DocumentFormat] = []
    max_file_size: int = 50
    """MB per file."""
    max_total_size: int | None = None
    """MB in total; None means `configuration.rag.limits.maxSizeMB`."""
    max_files: int | None = None
    """None means `configuration.rag.limits.maxDocuments`."""


class WebsiteSourceDetail(WireModel):
    enabled: bool | None = None
    max_urls: int | None = None
    """None means `configuration.rag.limits.maxUrls`."""
    max_depth: int = 1
    """1 crawls the given page only."""
    refresh_interval: RefreshInterval = "never"


class QaPairsSourceDetail(WireModel):
    enabled: bool | None = None
    max_pairs: int = 1000
    import_formats: list[QaImportFormat] = []


class DatabaseSourceDetail(WireModel):
    enabled: bool | None = None
    connectors: list[RagDatabaseConnector] = []
    sync_interval: SyncInterval = "daily"


class ApiSourceDetail(WireModel):
    enabled: bool | None = None
    auth_methods: list[RagApiAuthMethod] = []
    sync_interval: SyncInterval = "daily"


class RagSourcesDetail(WireModel):
    documents: DocumentSourceDetail = Field(default_factory=DocumentSourceDetail)
    websites: WebsiteSourceDetail = Field(default_factory=WebsiteSourceDetail)
    qa_pairs: QaPairsSourceDetail = Field(default_factory=QaPairsSourceDetail)
    databases: DatabaseSourceDetail = Field(default_factory=DatabaseSourceDetail)
    apis: ApiSourceDetail = Field(default_factory=ApiSourceDetail)


class ChunkingDetail(WireModel):
    strategy: ChunkingStrategy = "fixed"
    chunk_size: int = 512
    """Tokens per chunk."""
    overlap: int = 50
    """Tokens shared by neighbouring chunks."""
    customizable: bool = False


class EmbeddingDetail(WireModel):
    model: NonEmptyStr = "openai-3-small"
    dimensions: int = 1536
    customizable: bool = False
    """Buyer may bring their own embedding model (enterprise only)."""


class MetadataDetail(WireModel):
    extract_titles: bool = False
    extract_dates: bool = False
    extract_authors: bool = False
    custom_fields: bool = False


class ProcessingDetail(WireModel):
    chunking: ChunkingDetail = Field(default_factory=ChunkingDetail)
    embedding: EmbeddingDetail = Field(default_factory=EmbeddingDetail)
    metadata: MetadataDetail = Field(default_factory=MetadataDetail)


class SearchDetail(WireModel):
    method: RetrievalMethod | None = None
    top_k: int | None = None
    customizable: bool = False


class RerankingDetail(WireModel):
    enabled: bool | None = None
    model: NonEmptyStr = "cohere-rerank"


class FilteringDetail(WireModel):
    by_metadata: bool = False
    by_date: bool = False
    by_source: bool = False


class CitationsDetail(WireModel):
    enabled: bool | None = None
    format: CitationFormat = "inline"
    include_snippets: bool = False


class RetrievalDetail(WireModel):
    search: SearchDetail = Field(default_factory=SearchDetail)
    reranking: RerankingDetail = Field(default_factory=RerankingDetail)
    filtering: FilteringDetail = Field(default_factory=FilteringDetail)
    citations: CitationsDetail = Field(default_factory=CitationsDetail)


class GenerationModelDetail(WireModel):
    default: NonEmptyStr = "gpt-4o"
    alternatives: list[NonEmptyStr] = []
    customizable: bool = False
    """Buyer may pick one of `alternatives`."""


class ContextDetail(WireModel):
    max_tokens: int = 4000
    include_history: bool = False
    history_turns: int = 5


class GenerationGroundingDetail(WireModel):
    strict_mode: bool | None = None
    fallback_behavior: GroundingFallback | None = None
    confidence_threshold: float = 0.0


class GenerationDetail(WireModel):
    model: GenerationModelDetail = Field(default_factory=GenerationModelDetail)
    context: ContextDetail = Field(default_factory=ContextDetail)
    grounding: GenerationGroundingDetail = Field(default_factory=GenerationGroundingDetail)


class RagDetail(WireModel):
    """Part 6 `RAGCapabilities`: sources, processing, retrieval and generation in full."""

    sources: RagSourcesDetail = Field(default_factory=RagSourcesDetail)
    processing: ProcessingDetail = Field(default_factory=ProcessingDetail)
    retrieval: RetrievalDetail = Field(default_factory=RetrievalDetail)
    generation: GenerationDetail = Field(default_factory=GenerationDetail)
