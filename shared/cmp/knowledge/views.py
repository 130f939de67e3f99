"""The knowledge base's read side: its documents and its stats, for the portal and the API, of a
`KnowledgeOwner` (a buyer's subscription or a seller's product).

Each read runs in a read-only transaction of the caller's tenant; another tenant's subscription or product
is `NotFound` (row-level security hides it).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.knowledge.model import UPLOAD_WINDOW, Document, KnowledgeOwner
from cmp.knowledge.policy import KnowledgePolicy

MAX_LISTED = 500
_EXPIRED_FORM = (
    "(source_type = 'file' and status = 'pending' and attempts = 0 and created_at < now() - %(window)s)"
)
_AWAITING = "(source_type = 'file' and status = 'pending' and attempts = 0)"
DOCUMENT_COLUMNS = tuple(f.name for f in fields(Document))


@dataclass(frozen=True)
class KnowledgeStats:
    """Documents (per status; a file whose upload form expired unused is not one), chunks, bytes stored
    (files received only), uploads awaiting their file (forms still valid), the last indexing time and the
    plan's limits."""

    documents: int
    by_status: dict[str, int]
    chunks: int
    size_bytes: int
    last_indexed_at: datetime | None
    embedding_model: str | None
    storage_limit_bytes: int
    document_limit: int
    websites: int
    qa_pairs: int
    uploads_awaiting: int = 0
    shared: bool | None = None
    """A product's base: whether its subscriptions' agents search it; None for a subscription's."""


class KnowledgeViews:
    def __init__(self, session: Callable[..., AbstractContextManager[Session]]) -> None:
        self._session = session

    def _policy(self, session: Session, owner: KnowledgeOwner) -> KnowledgePolicy:
        """The owner's limits; raises `NotFound` when the subscription or product is not the tenant's."""
        if owner.kind == "product":
            if session.fetch_one("select 1 as one from products where id = %s", (owner.id,)) is None:
                raise NotFound("product not found")
            return KnowledgePolicy.for_product()
        row = session.fetch_one("select capabilities from subscriptions where id = %s", (owner.id,))
        if row is None:
            raise NotFound("subscription not found")
        return KnowledgePolicy.of(row["capabilities"])

    def documents(
        self, tenant_id: str, owner: KnowledgeOwner, source_type: str | None = None
    ) -> list[Document]:
        """The base's documents, newest first (at most `MAX_LISTED`), optionally of one source type."""
        with self._session(tenant_id, read_only=True) as session:
            self._policy(session, owner)
            rows = session.fetch_all(
                "select d.* from knowledge_documents d join knowledge_bases b on b.id = d.knowledge_base_id"
                f" where b.{owner.kind}_id = %s and (%s::text is null or d.source_type = %s)"
                " order by d.created_at desc, d.id limit %s",
                (owner.id, source_type, source_type, MAX_LISTED),
            )
        return [Document(**{name: row[name] for name in DOCUMENT_COLUMNS}) for row in rows]

    def stats(self, tenant_id: str, owner: KnowledgeOwner) -> KnowledgeStats:
        """The base's figures against the plan, or a product's fixed limits (an empty base before the
        first document)."""
        with self._session(tenant_id, read_only=True) as session:
            policy = self._policy(session, owner)
            base = session.fetch_one(
                "select id, embedding_model, last_indexed_at, shared from knowledge_bases"
                f" where {owner.kind}_id = %s",
                (owner.id,),
            )
            counts: dict[str, int] = {}
            figures: dict[str, Any] = {
                "size_bytes": 0, "chunks": 0, "websites": 0, "qa_pairs": 0, "uploads_awaiting": 0
            }  # fmt: skip
            if base is not None:
                for row in session.fetch_all(
                    "select status, count(*)::int as n from knowledge_documents"
                    f" where knowledge_base_id = %(b)s and not {_EXPIRED_FORM} group by status",
                    {"b": base["id"], "window": UPLOAD_WINDOW},
                ):
                    counts[row["status"]] = row["n"]
                figures = (
                    session.fetch_one(
                        "select (select coalesce(sum(size_bytes), 0)::bigint from knowledge_documents"
                        f"        where knowledge_base_id = %(b)s and not {_AWAITING}) as size_bytes,"
                        " (select count(*)::int from knowledge_documents"
                        f"        where knowledge_base_id = %(b)s and {_AWAITING} and not {_EXPIRED_FORM})"
                        "        as uploads_awaiting,"
                        " (select count(*)::int from knowledge_chunks where knowledge_base_id = %(b)s) as chunks,"
                        " (select count(*)::int from knowledge_url_sources where knowledge_base_id = %(b)s) as websites,"
                        " (select count(*)::int from knowledge_qa_pairs where knowledge_base_id = %(b)s) as qa_pairs",
                        {"b": base["id"], "window": UPLOAD_WINDOW},
                    )
                    or figures
                )
        return KnowledgeStats(
            documents=sum(counts.values()),
            by_status=counts,
            chunks=figures["chunks"],
            size_bytes=figures["size_bytes"],
            last_indexed_at=base["last_indexed_at"] if base else None,
            embedding_model=base["embedding_model"] if base else None,
            storage_limit_bytes=policy.max_total_bytes,
            document_limit=policy.max_files,
            websites=figures["websites"],
            qa_pairs=figures["qa_pairs"],
            uploads_awaiting=figures["uploads_awaiting"],
            shared=(bool(base and base["shared"])) if owner.kind == "product" else None,
        )
