"""What a subscription's capability snapshot allows its knowledge base: sources, formats, sizes, counts.

Read from the snapshot the buyer bought (`Subscription.capabilities`, a stored capability document):
`configuration.rag` (spec Part 6: sources, `limits.maxDocuments` / `maxSizeMB` / `maxUrls` /
`maxChunks`, and its optional `detail`: `sources.documents.formats` / `maxFileSize` (MB) /
`maxTotalSize` (MB) / `maxFiles`, `sources.websites.maxDepth` / `refreshInterval`,
`sources.qaPairs.maxPairs` / `importFormats`, `processing.chunking`) and the master
`configuration.knowledge` block (sources, limits). A source is open when either block enables it; a
limit given by both is the smaller. Without a detail block every format we parse is allowed, 50 MB a
file (DocumentSourceDetail's default).

A seller's product knowledge base has no plan: `KnowledgePolicy.for_product()` gives it the fixed limits
of `PRODUCT_LIMITS` (every source and format, sizes chosen as a generous product manual set: ten times a
typical plan's 50 documents; docs/knowledge.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmp.errors import FieldError, Forbidden, PayloadTooLarge, ValidationFailed
from cmp.knowledge.chunking import ChunkingOptions
from cmp.knowledge.parsers import FORMATS

MB = 1024 * 1024


def _get(document: dict[str, Any], *path: str) -> Any:
    node: Any = document
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _smallest(*values: Any) -> int:
    numbers = [int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return min(numbers) if numbers else 0


@dataclass(frozen=True)
class KnowledgePolicy:
    """The knowledge limits of one subscription (sizes in bytes)."""

    enabled: bool
    documents: bool
    websites: bool
    qa_pairs: bool
    formats: tuple[str, ...]
    max_file_bytes: int
    max_total_bytes: int
    max_files: int
    max_urls: int
    max_depth: int
    max_pairs: int
    qa_import_formats: tuple[str, ...]
    max_chunks: int
    chunking: ChunkingOptions
    limits_of: str = "plan"
    """Whose limits these are, as error messages name them: "plan" (a subscription's) or "product knowledge
    base" (a seller's, `PRODUCT_LIMITS`)."""

    @classmethod
    def of(cls, capabilities: dict[str, Any]) -> KnowledgePolicy:
        """The policy of a stored capability document (camelCase)."""
        rag = _get(capabilities, "configuration", "rag") or {}
        knowledge = _get(capabilities, "configuration", "knowledge") or {}
        detail = rag.get("detail") or {}
        docs = _get(detail, "sources", "documents") or {}
        sites = _get(detail, "sources", "websites") or {}
        qa = _get(detail, "sources", "qaPairs") or {}
        chunking = _get(detail, "processing", "chunking") or {}

        def source(rag_name: str, knowledge_name: str) -> bool:
            return bool(_get(rag, "sources", rag_name) or _get(knowledge, "sources", knowledge_name))

        enabled = bool(rag.get("enabled") or knowledge.get("enabled"))
        return cls(
            enabled=enabled,
            documents=enabled and source("documents", "documents"),
            websites=enabled and source("websites", "websites"),
            qa_pairs=enabled and source("qaPairs", "qaFiles"),
            formats=tuple(docs.get("formats") or FORMATS),
            max_file_bytes=int(docs.get("maxFileSize") or 50) * MB,
            max_total_bytes=_smallest(
                _get(rag, "limits", "maxSizeMB"),
                _get(knowledge, "limits", "maxSizeMB"),
                docs.get("maxTotalSize"),
            )
            * MB,
            max_files=_smallest(
                _get(rag, "limits", "maxDocuments"),
                _get(knowledge, "limits", "maxDocuments"),
                docs.get("maxFiles"),
            ),
            max_urls=_smallest(
                _get(rag, "limits", "maxUrls"), _get(knowledge, "limits", "maxUrls"), sites.get("maxUrls")
            ),
            max_depth=int(sites.get("maxDepth") or 1),
            max_pairs=int(qa.get("maxPairs") or 1000),
            qa_import_formats=tuple(qa.get("importFormats") or ("csv", "json")),
            max_chunks=_smallest(_get(rag, "limits", "maxChunks")) or 50_000,
            chunking=ChunkingOptions(
                chunking.get("strategy") or "hybrid",
                int(chunking.get("chunkSize") or 512),
                int(50 if chunking.get("overlap") is None else chunking["overlap"]),
            ),
        )

    @classmethod
    def for_product(cls) -> KnowledgePolicy:
        """The limits of every product's seller-provided knowledge base (`PRODUCT_LIMITS`)."""
        return PRODUCT_LIMITS

    def require(self, source: str) -> None:
        """Raises `Forbidden` naming the capability unless `source` ('documents', 'websites', 'qa_pairs')
        is open to this subscription."""
        if not getattr(self, source):
            name = {"qa_pairs": "qaPairs"}.get(source, source)
            raise Forbidden(
                f"this product's plan does not include knowledge from {source.replace('_', ' ')}",
                errors=[FieldError(f"configuration.rag.sources.{name}", "not enabled")],
            )

    def check_file(self, fmt: str | None, size: int, files: int, total: int) -> None:
        """Check one more file of format `fmt` and `size` bytes against the limits, given the `files`
        and `total` bytes already stored. Raises `ValidationFailed` (format, count, total) or
        `PayloadTooLarge` (the file alone is over the per-file size)."""
        if size > self.max_file_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the {self.limits_of}'s {self.max_file_bytes // MB} MB per file",
                errors=[FieldError("size_bytes", f"at most {self.max_file_bytes} bytes")],
            )
        errors = []
        if fmt is None or fmt not in self.formats:
            errors.append(FieldError("filename", f"the format must be one of: {', '.join(self.formats)}"))
        if files + 1 > self.max_files:
            errors.append(
                FieldError(
                    "body",
                    f"the knowledge base already holds the {self.limits_of}'s {self.max_files} documents",
                )
            )
        if total + size > self.max_total_bytes:
            errors.append(
                FieldError(
                    "size_bytes",
                    f"the {self.limits_of}'s {self.max_total_bytes // MB} MB of storage would be exceeded",
                )
            )
        if errors:
            raise ValidationFailed(f"the file is not allowed by the {self.limits_of}", errors=errors)


PRODUCT_LIMITS = KnowledgePolicy(
    enabled=True,
    documents=True,
    websites=True,
    qa_pairs=True,
    formats=FORMATS,
    max_file_bytes=50 * MB,
    max_total_bytes=500 * MB,
    max_files=500,
    max_urls=20,
    max_depth=3,
    max_pairs=2000,
    qa_import_formats=("csv", "json"),
    max_chunks=50_000,
    chunking=ChunkingOptions("hybrid", 512, 50),
    limits_of="product knowledge base",
)
"""A product knowledge base: all sources; 500 files of at most 50 MB and 500 MB in all; 20 websites
crawled at most 3 links deep; 2,000 Q&A pairs; 50,000 chunks per document; hybrid chunks of 512 tokens
overlapping by 50."""
