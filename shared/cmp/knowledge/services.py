"""Knowledge use cases behind the API: presigned uploads, documents (list, read, reindex, delete,
preview), websites and Q&A pairs, in the knowledge base of a `KnowledgeOwner`: the buyer's own
subscription, or the seller's own product (seller-provided knowledge, with `PRODUCT_LIMITS`).

Every call opens a unit of work of the caller's tenant and loads the owner first: another organization's
subscription or product is `NotFound` (404) before anything else is read. Work that takes time
(parsing, embedding, crawling) is queued through the outbox to the ingestion queue, with the tenant as the
group (the outbox's fair dispatcher); the ingestion worker (`cmp.knowledge.ingestion`) does it.

Object keys: `knowledge/{tenant_id}/{subscription or product id}/{document_id}`; the presigned POST pins that exact
key, the declared content type and the byte range [1, declared size], so an upload can only land where
and as big as it was allowed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cmp.db.outbox import OutboxMessage
from cmp.db.uow import UnitOfWorkFactory
from cmp.errors import Conflict, FieldError, NotFound, ValidationFailed
from cmp.gateway.model import check_storage
from cmp.knowledge.messages import crawl_job, document_job
from cmp.knowledge.model import (
    UPLOAD_EXPIRES_SECONDS,
    UPLOAD_WINDOW,
    Document,
    KnowledgeBase,
    KnowledgeOwner,
    QaPair,
    RefreshInterval,
    UrlSource,
)
from cmp.knowledge.parsers import declared_type_problem, format_of_name
from cmp.knowledge.policy import KnowledgePolicy
from cmp.ports import Clock, IdGenerator, ObjectStorage

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*(?:{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))?)*")
"""A media type as RFC 9110 spells it, in ASCII (matched whole): `type/subtype`, then parameters
(`; charset=utf-8`, the value a token or a quoted string)."""


def object_key(tenant_id: uuid.UUID, owner_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """Where a document's file is stored (always under its tenant's prefix, then its subscription's or
    product's id)."""
    return f"knowledge/{tenant_id}/{owner_id}/{document_id}"


def parse_object_key(key: str) -> tuple[str, str] | None:
    """(tenant id, document id) of a knowledge object key, or None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "knowledge":
        return None
    try:
        return str(uuid.UUID(parts[1])), str(uuid.UUID(parts[3]))
    except ValueError:
        return None


@dataclass(frozen=True)
class Upload:
    """A new document and the browser form that uploads its file (`{"url", "fields"}`)."""

    document: Document
    form: dict[str, Any]


@dataclass(frozen=True)
class QaRow:
    """One Q&A pair to import: `row` is its place in the request and `path` names it in errors
    (`pairs[3]`, `csv.line[7]`; empty for the one pair of an edit, whose fields are named bare)."""

    row: int
    question: str
    answer: str
    path: str = ""


QA_MAX_CHARACTERS = {"question": 2000, "answer": 20000}
"""The longest question and answer a pair may have, in characters."""


def qa_row_errors(rows: list[QaRow]) -> list[FieldError]:
    """Every empty or too long question and answer of `rows`, in their order, at `{row.path}.question` /
    `.answer` (bare `question` / `answer` for a row without a path: one pair edited on its own)."""
    return [
        FieldError(f"{row.path}.{name}" if row.path else name, problem)
        for row in rows
        for name, most in QA_MAX_CHARACTERS.items()
        for problem in _qa_text_problems(getattr(row, name), most)
    ]


def _qa_text_problems(text: str, most: int) -> list[str]:
    if not text.strip():
        return ["must not be empty"]
    return [f"at most {most} characters"] if len(text) > most else []


@dataclass(frozen=True)
class Opened:
    """What every use case loads first: the owner's tenant, its limits, its knowledge base (created on
    first use) and, for a subscription, the plan whose storage quota applies (None for a product)."""

    tenant_id: uuid.UUID
    policy: KnowledgePolicy
    base: KnowledgeBase
    plan: dict[str, Any] | None


class KnowledgeService:
    """The knowledge base of one subscription or product (`KnowledgeOwner`). Raises `NotFound` (not this
    tenant's subscription, product or document), `Forbidden` (the plan lacks the source), `ValidationFailed` / `PayloadTooLarge` (limits,
    input) and `Conflict` (a document still being ingested cannot be reindexed)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        objects: ObjectStorage,
        bucket: Callable[[], str],
        queue_url: Callable[[], str],
        embedding: Callable[[], tuple[str, int]],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._objects = objects
        self._bucket = bucket
        self._queue_url = queue_url
        self._embedding = embedding
        self._clock = clock
        self._ids = ids

    # ------------------------------------------------------------------------------------------ helpers
    def _open(self, uow: Any, owner: KnowledgeOwner) -> Opened:
        """Load the owner (NotFound for another tenant's) and its knowledge base, creating the base with
        this deployment's embedding model on first use."""
        plan: dict[str, Any] | None = None
        if owner.kind == "product":
            tenant_id = uow.products.get(owner.id).tenant_id
            policy = KnowledgePolicy.for_product()
            base = uow.knowledge_bases.for_product(owner.id)
        else:
            subscription = uow.subscriptions.get(owner.id)
            tenant_id, plan = subscription.tenant_id, subscription.plan
            policy = KnowledgePolicy.of(subscription.capabilities)
            base = uow.knowledge_bases.for_subscription(owner.id)
        if base is None:
            model, dimension = self._embedding()
            subscription_id, product_id = (None, owner.id) if owner.kind == "product" else (owner.id, None)
            base = KnowledgeBase(
                self._ids.new_id(),
                tenant_id,
                subscription_id,
                product_id,
                model,
                dimension,
                self._clock.now(),
            )
            uow.knowledge_bases.add(base)
        return Opened(tenant_id, policy, base, plan)

    def _enqueue(self, uow: Any, tenant_id: uuid.UUID, body: dict[str, str]) -> None:
        uow.outbox.add(OutboxMessage.to_queue(self._queue_url(), body, group_id=str(tenant_id)))

    # ------------------------------------------------------------------------------------------ files
    def request_upload(
        self, tenant_id: str, owner: KnowledgeOwner, filename: str, content_type: str, size_bytes: int
    ) -> Upload:
        """A pending document and its presigned POST, after checking the declared type against the name's
        extension (`declared_type_problem`), the format (by name here, by the file's signature after
        upload), the per-file size and the base's count and total size. The type may carry parameters
        (`text/markdown; charset=utf-8`, as browsers send it), which the extension check ignores; it is
        stored on the document and pinned on the form exactly as given. Raises `ValidationFailed` at
        `content_type` for a type that is no MIME type or contradicts the extension."""
        if not _CONTENT_TYPE.fullmatch(content_type):
            raise ValidationFailed(
                "invalid content type",
                errors=[
                    FieldError(
                        "content_type", "a MIME type like application/pdf or text/plain; charset=utf-8"
                    )
                ],
            )
        mismatch = declared_type_problem(filename, content_type)
        if mismatch is not None:
            raise ValidationFailed(
                "the content type contradicts the file name",
                errors=[FieldError("content_type", mismatch)],
            )
        with self._uow(tenant_id) as uow:
            opened = self._open(uow, owner)
            opened.policy.require("documents")
            files, total = uow.knowledge_documents.usage(opened.base.id, self._clock.now() - UPLOAD_WINDOW)
            if opened.plan is not None:
                check_storage(opened.plan, total, size_bytes)
            opened.policy.check_file(format_of_name(filename), size_bytes, files, total)
            document_id = self._ids.new_id()
            key = object_key(opened.tenant_id, owner.id, document_id)
            document = Document(
                document_id,
                opened.tenant_id,
                opened.base.id,
                "file",
                self._clock.now(),
                filename=filename,
                content_type=content_type,
                size_bytes=size_bytes,
                object_key=key,
                title=filename,
            )
            uow.knowledge_documents.add(document)
            uow.commit()
        form = self._objects.presigned_post(
            self._bucket(), key, content_type, size_bytes, UPLOAD_EXPIRES_SECONDS
        )
        return Upload(document, form)

    def document(self, tenant_id: str, owner: KnowledgeOwner, document_id: uuid.UUID) -> Document:
        """One document of the owner's knowledge base."""
        with self._uow(tenant_id) as uow:
            return self._owned(uow, self._open(uow, owner).base, document_id)

    @staticmethod
    def _owned(uow: Any, base: KnowledgeBase, document_id: uuid.UUID, for_update: bool = False) -> Document:
        document: Document = uow.knowledge_documents.get(document_id, for_update=for_update)
        if document.knowledge_base_id != base.id:
            raise NotFound("document not found")
        return document

    def reindex(self, tenant_id: str, owner: KnowledgeOwner, document_id: uuid.UUID) -> Document:
        """Queue an indexed or failed document again; its current chunks serve until the new ones replace
        them. Raises `Conflict` while it is being ingested."""
        with self._uow(tenant_id) as uow:
            document = self._owned(uow, self._open(uow, owner).base, document_id, for_update=True)
            if document.awaiting_upload():
                raise Conflict("the document's file has not been uploaded yet")
            document.reindex()
            uow.knowledge_documents.save(document)
            self._enqueue(uow, document.tenant_id, document_job(str(document.tenant_id), str(document.id)))
            uow.commit()
            return document

    def delete(self, tenant_id: str, owner: KnowledgeOwner, document_id: uuid.UUID) -> None:
        """Delete the document with its chunks (and Q&A pair), then its stored file."""
        with self._uow(tenant_id) as uow:
            document = self._owned(uow, self._open(uow, owner).base, document_id, for_update=True)
            uow.knowledge_documents.delete(document.id)
            uow.commit()
        if document.object_key:
            self._objects.delete(self._bucket(), document.object_key)

    def share(self, tenant_id: str, product_id: uuid.UUID, shared: bool) -> KnowledgeBase:
        """Share the product's knowledge base with the agents of the product's subscriptions, or stop
        (the seller's choice; a new base is not shared). Raises `NotFound` for another tenant's product."""
        with self._uow(tenant_id) as uow:
            base = self._open(uow, KnowledgeOwner.product(product_id)).base
            base.shared = shared
            uow.knowledge_bases.set_shared(base.id, shared)
            uow.commit()
            return base

    # ------------------------------------------------------------------------------------------ websites
    def add_website(
        self,
        tenant_id: str,
        owner: KnowledgeOwner,
        url: str,
        max_depth: int,
        max_pages: int,
        refresh_interval: RefreshInterval,
    ) -> UrlSource:
        """Add a website to crawl (same site, `max_depth` links from `url`, at most `max_pages` pages)
        and queue its first crawl. The URL must be http(s); whether its host is reachable and public is
        checked when it is fetched (`cmp.net.safe_http`)."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed("invalid URL", errors=[FieldError("url", "an http or https URL")])
        with self._uow(tenant_id) as uow:
            opened = self._open(uow, owner)
            policy, base = opened.policy, opened.base
            policy.require("websites")
            held = uow.knowledge_url_sources.find(base.id, url)
            if held is not None:
                raise Conflict(
                    "this website is already in the knowledge base; change its depth, pages or refresh"
                    f" interval with PATCH {owner.path}/urls/{held.id}",
                    errors=[FieldError("url", f"already added as website source {held.id}")],
                )
            errors = []
            if max_depth > policy.max_depth:
                errors.append(
                    FieldError("max_depth", f"at most {policy.max_depth} for this {policy.limits_of}")
                )
            if uow.knowledge_url_sources.count(base.id) + 1 > policy.max_urls:
                errors.append(
                    FieldError(
                        "url",
                        f"the knowledge base already holds the {policy.limits_of}'s {policy.max_urls} websites"
                        " (configuration.rag.limits.maxUrls); delete one first",
                    )
                )
            if errors:
                raise ValidationFailed(f"the website is not allowed by the {policy.limits_of}", errors=errors)
            source = UrlSource(
                self._ids.new_id(),
                opened.tenant_id,
                base.id,
                url,
                max_depth,
                max_pages,
                refresh_interval,
                self._clock.now(),
            )
            uow.knowledge_url_sources.add(source)
            self._enqueue(uow, source.tenant_id, crawl_job(str(source.tenant_id), str(source.id)))
            uow.commit()
            return source

    def websites(self, tenant_id: str, owner: KnowledgeOwner) -> list[UrlSource]:
        """The knowledge base's website sources, oldest first."""
        with self._uow(tenant_id) as uow:
            return list(uow.knowledge_url_sources.for_base(self._open(uow, owner).base.id))

    def website(self, tenant_id: str, owner: KnowledgeOwner, source_id: uuid.UUID) -> UrlSource:
        """One website source of the owner's knowledge base."""
        with self._uow(tenant_id) as uow:
            return self._source(uow, self._open(uow, owner).base, source_id)

    def change_website(
        self,
        tenant_id: str,
        owner: KnowledgeOwner,
        source_id: uuid.UUID,
        max_depth: int | None,
        max_pages: int | None,
        refresh_interval: RefreshInterval | None,
    ) -> UrlSource:
        """Change a source's depth and pages (from its next crawl; the depth within the plan's
        `sources.websites.maxDepth`, else `ValidationFailed`) and its refresh interval."""
        with self._uow(tenant_id) as uow:
            opened = self._open(uow, owner)
            policy, base = opened.policy, opened.base
            policy.require("websites")
            if max_depth is not None and max_depth > policy.max_depth:
                raise ValidationFailed(
                    f"the website is not allowed by the {policy.limits_of}",
                    errors=[
                        FieldError("max_depth", f"at most {policy.max_depth} for this {policy.limits_of}")
                    ],
                )
            source = self._source(uow, base, source_id, for_update=True)
            source.change(max_depth, max_pages, refresh_interval)
            uow.knowledge_url_sources.save(source)
            uow.commit()
            return source

    def delete_website(self, tenant_id: str, owner: KnowledgeOwner, source_id: uuid.UUID) -> None:
        """Delete a source with its pages' documents and chunks, then the stored pages. A crawl of it
        that is running stops and stores nothing (`WebsiteCrawls`)."""
        with self._uow(tenant_id) as uow:
            source = self._source(uow, self._open(uow, owner).base, source_id, for_update=True)
            keys = [d.object_key for d in uow.knowledge_documents.for_url_source(source.id) if d.object_key]
            uow.knowledge_url_sources.delete(source.id)
            uow.commit()
        for key in keys:
            self._objects.delete(self._bucket(), key)

    @staticmethod
    def _source(uow: Any, base: KnowledgeBase, source_id: uuid.UUID, for_update: bool = False) -> UrlSource:
        source: UrlSource = uow.knowledge_url_sources.get(source_id, for_update=for_update)
        if source.knowledge_base_id != base.id:
            raise NotFound("website source not found")
        return source

    # ------------------------------------------------------------------------------------------ expiry
    def expire_uploads(self, now: datetime, limit: int = 500) -> dict[str, int]:
        """The hourly sweep of upload forms never used: every tenant's file document still awaiting its
        upload `UPLOAD_WINDOW` after its form was issued is deleted (`knowledge_uploads_expired`); one
        whose file is in the bucket after all (its notification was lost) is queued for ingestion
        instead (`knowledge_uploads_requeued`)."""
        before = now - UPLOAD_WINDOW
        with self._uow() as uow:
            due = uow.knowledge_documents.expired_uploads(before, limit)
        expired = requeued = 0
        for tenant_id, document_id in due:
            with self._uow(str(tenant_id)) as uow:
                try:
                    document: Document = uow.knowledge_documents.get(document_id, for_update=True)
                except NotFound:
                    continue
                if not document.awaiting_upload() or document.created_at >= before:
                    continue
                if document.object_key and self._objects.head(self._bucket(), document.object_key):
                    self._enqueue(uow, document.tenant_id, document_job(str(tenant_id), str(document_id)))
                    requeued += 1
                else:
                    uow.knowledge_documents.delete(document.id)
                    expired += 1
                uow.commit()
        return {"knowledge_uploads_expired": expired, "knowledge_uploads_requeued": requeued}

    # ------------------------------------------------------------------------------------------ Q&A
    def add_qa_pairs(self, tenant_id: str, owner: KnowledgeOwner, rows: list[QaRow]) -> list[QaPair]:
        """Add the pairs (each becomes a document of one chunk, queued for embedding). Raises
        `ValidationFailed` listing every bad row (`pairs[3].answer`, `csv.line[7].answer`) and adds none when any is bad."""
        errors = qa_row_errors(rows)
        if not rows:
            errors.append(FieldError("body", "no Q&A pair given"))
        if errors:
            raise ValidationFailed("some Q&A pairs are invalid; none was added", errors=errors)
        with self._uow(tenant_id) as uow:
            opened = self._open(uow, owner)
            policy, base = opened.policy, opened.base
            policy.require("qa_pairs")
            if uow.knowledge_qa.count(base.id) + len(rows) > policy.max_pairs:
                raise ValidationFailed(
                    "too many Q&A pairs",
                    errors=[FieldError("body", f"the plan allows {policy.max_pairs} pairs")],
                )
            now = self._clock.now()
            pairs = []
            for row in rows:
                document = Document(
                    self._ids.new_id(),
                    opened.tenant_id,
                    base.id,
                    "qa",
                    now,
                    title=row.question.strip()[:200],
                )
                pair = QaPair(
                    self._ids.new_id(),
                    opened.tenant_id,
                    base.id,
                    document.id,
                    row.question.strip(),
                    row.answer.strip(),
                    now,
                    now,
                )
                uow.knowledge_documents.add(document)
                uow.knowledge_qa.add(pair)
                self._enqueue(
                    uow, document.tenant_id, document_job(str(document.tenant_id), str(document.id))
                )
                pairs.append(pair)
            uow.commit()
            return pairs

    def qa_pairs(self, tenant_id: str, owner: KnowledgeOwner) -> list[QaPair]:
        """The knowledge base's Q&A pairs, newest first."""
        with self._uow(tenant_id) as uow:
            return list(uow.knowledge_qa.list(self._open(uow, owner).base.id))

    def edit_qa_pair(
        self, tenant_id: str, owner: KnowledgeOwner, pair_id: uuid.UUID, question: str, answer: str
    ) -> QaPair:
        """Change a pair's text and queue its chunk for re-embedding."""
        errors = qa_row_errors([QaRow(0, question, answer, path="")])
        if errors:
            raise ValidationFailed("the Q&A pair is invalid", errors=errors)
        with self._uow(tenant_id) as uow:
            pair = self._pair(uow, self._open(uow, owner).base, pair_id)
            document = uow.knowledge_documents.get(pair.document_id, for_update=True)
            pair.question, pair.answer, pair.updated_at = question.strip(), answer.strip(), self._clock.now()
            uow.knowledge_qa.save(pair)
            document.title = pair.question[:200]
            if document.status in ("indexed", "failed"):
                document.reindex()
            uow.knowledge_documents.save(document)
            self._enqueue(uow, document.tenant_id, document_job(str(document.tenant_id), str(document.id)))
            uow.commit()
            return pair

    def delete_qa_pair(self, tenant_id: str, owner: KnowledgeOwner, pair_id: uuid.UUID) -> None:
        """Delete a pair with its document and chunk."""
        with self._uow(tenant_id) as uow:
            pair = self._pair(uow, self._open(uow, owner).base, pair_id)
            uow.knowledge_documents.delete(pair.document_id)
            uow.commit()

    @staticmethod
    def _pair(uow: Any, base: KnowledgeBase, pair_id: uuid.UUID) -> QaPair:
        pair: QaPair = uow.knowledge_qa.get(pair_id)
        if pair.knowledge_base_id != base.id:
            raise NotFound("Q&A pair not found")
        return pair
