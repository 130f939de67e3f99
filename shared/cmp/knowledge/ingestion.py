"""The ingestion worker's use cases: an uploaded object becomes a fair-queued job; a job parses, chunks,
embeds and stores one document; a crawl job fetches a website's pages (`cmp.knowledge.crawler`).

A document job runs in four short transactions, so its progress is readable while it runs and a crash
anywhere leaves nothing half-written:
1. claim: `start_parsing()` (attempt n) — a job re-delivered after a crash claims it again and starts over;
2. parse and chunk outside any transaction (the file from S3, a page stored by the crawler, or the Q&A
   pair's text); the result's hash (text + chunking + model) equal to the stored one means the document
   is already indexed from this very text: it goes back to `indexed` with nothing rewritten;
3. `embedding` with `progress_total`, then one short transaction per embedded batch (`progress_done`);
4. write: the old chunks deleted and the new ones inserted in one transaction with `indexed`, only if the
   document still exists and no newer attempt has claimed it.
So a re-delivery never duplicates chunks (they are replaced per document, in one transaction) and a
killed job restarts cleanly. The write also records the document's `documents` and `storage_bytes` usage
(`uow.usage.record`, keyed by the document: exactly once per document, whatever the re-deliveries). An unreadable document ends `failed` with the reason and its message goes to
the DLQ (`PoisonMessage`); a job that failed `max_attempts` times (embedding provider down) too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from cmp.db.outbox import OutboxMessage
from cmp.db.uow import UnitOfWorkFactory
from cmp.errors import DomainError, NotFound, PoisonMessage
from cmp.knowledge.chunking import Chunker, count_words
from cmp.knowledge.messages import IngestionMessage, document_job
from cmp.knowledge.model import PREVIEW_CHARS, ChunkDraft, Document, content_hash
from cmp.knowledge.parsers import TEXT_FORMATS, ParsedDocument, Section, UnreadableDocument, format_of_name
from cmp.knowledge.policy import KnowledgePolicy
from cmp.knowledge.ports import Embedder
from cmp.knowledge.services import parse_object_key
from cmp.ports import Clock, ObjectStorage


class IngestionJobs:
    """Runs ingestion jobs (`handle`). `embedder` is built on first use (a model load)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        objects: ObjectStorage,
        bucket: Callable[[], str],
        queue_url: Callable[[], str],
        embedder: Callable[[], Embedder],
        clock: Clock,
        crawl: Callable[[str, uuid.UUID], Any] | None = None,
        max_attempts: int = 3,
        batch_size: int = 32,
        event_bus: Callable[[], str] | None = None,
    ) -> None:
        """`event_bus`, when given, receives a `knowledge.document.indexed` event (through the outbox, in
        the transaction that indexes the document) for workflows listening to it."""
        self._uow = uow
        self._objects = objects
        self._bucket = bucket
        self._queue_url = queue_url
        self._embedder = embedder
        self._clock = clock
        self._crawl = crawl
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._event_bus = event_bus

    def handle(self, message: IngestionMessage) -> list[str]:
        """Do what the message asks; returns one outcome word per piece of work (for the log)."""
        outcomes = [self._uploaded(key) for _, key in message.object_keys()]
        if message.kind == "document" and message.tenant_id and message.document_id:
            outcomes.append(self.ingest(message.tenant_id, uuid.UUID(message.document_id)))
        elif message.kind == "crawl" and message.tenant_id and message.url_source_id and self._crawl:
            outcomes.append(f"crawl {self._crawl(message.tenant_id, uuid.UUID(message.url_source_id))}")
        return outcomes or ["ignored"]

    def _uploaded(self, key: str) -> str:
        """An object landed: queue its document's job in the tenant's message group (fairness)."""
        owner = parse_object_key(key)
        if owner is None:
            return "not-knowledge"
        tenant_id, document_id = owner
        with self._uow(tenant_id) as uow:
            try:
                document = uow.knowledge_documents.get(uuid.UUID(document_id))
            except NotFound:
                return "gone"
            if document.object_key != key:
                return "not-knowledge"
            uow.outbox.add(
                OutboxMessage.to_queue(
                    self._queue_url(), document_job(tenant_id, document_id), group_id=tenant_id
                )
            )
            uow.commit()
        return "queued"

    # ------------------------------------------------------------------------------------------ one document
    def ingest(self, tenant_id: str, document_id: uuid.UUID) -> str:
        """Parse, chunk, embed and store one document (see the module doc for the steps)."""
        with self._uow(tenant_id) as uow:
            try:
                document: Document = uow.knowledge_documents.get(document_id, for_update=True)
            except NotFound:
                return "gone"
            if document.attempts >= self._max_attempts and document.status in ("parsing", "embedding"):
                reason = f"ingestion stopped after {document.attempts} attempts"
                document.fail(reason + (f": {document.error}" if document.error else ""))
                uow.knowledge_documents.save(document)
                uow.commit()
                raise PoisonMessage(reason)
            previous = (document.status, document.content_hash)
            document.start_parsing()
            attempt = document.attempts
            uow.knowledge_documents.save(document)
            policy, base = self._policy(uow, document)
            uow.commit()
        try:
            parsed = self._parse(document, policy)
        except (UnreadableDocument, DomainError) as e:
            self._fail(tenant_id, document_id, attempt, str(getattr(e, "message", e)))
            raise PoisonMessage(f"document {document_id}: {e}") from None
        embedder = self._embedder()
        chunker = Chunker(policy.chunking, getattr(embedder, "count_tokens", count_words))
        chunks = chunker.chunk(parsed.sections)
        if len(chunks) > policy.max_chunks:
            self._fail(
                tenant_id,
                document_id,
                attempt,
                f"the document makes {len(chunks)} chunks; the plan allows {policy.max_chunks}",
            )
            return "failed"
        options = chunker.options
        text_hash = content_hash(f"{options}|{embedder.model}|{parsed.text}")
        if previous == ("indexed", text_hash):
            return self._unchanged(tenant_id, document_id, attempt)
        if not self._start_embedding(tenant_id, document_id, attempt, parsed, len(chunks)):
            return "superseded"
        try:
            embedded = self._embed(tenant_id, document_id, embedder, chunks)
        except Exception as e:
            self._note(
                tenant_id, document_id, f"attempt {attempt} failed: {type(e).__name__}: {str(e)[:300]}"
            )
            raise
        return self._write(tenant_id, document_id, attempt, base.id, embedded, text_hash)

    def _policy(self, uow: Any, document: Document) -> tuple[KnowledgePolicy, Any]:
        """The limits of the document's base: its subscription's plan, or a product's fixed limits."""
        base = uow.knowledge_bases.get(document.knowledge_base_id)
        if base.subscription_id is None:
            return KnowledgePolicy.for_product(), base
        subscription = uow.subscriptions.get(base.subscription_id)
        return KnowledgePolicy.of(subscription.capabilities), base

    def _parse(self, document: Document, policy: KnowledgePolicy) -> ParsedDocument:
        from cmp.knowledge.parsers import detect_format, parse

        if document.source_type == "qa":
            return self._qa(document)
        if not document.object_key:
            raise UnreadableDocument("the document has no stored content")
        limit = policy.max_file_bytes
        data = self._objects.read_prefix(self._bucket(), document.object_key, limit + 1)
        if document.source_type == "file":
            size = len(data) if len(data) <= limit else self._stored_size(document.object_key, len(data))
            if size != document.size_bytes:
                self._resize(document, size)
        if not data:
            raise UnreadableDocument("the file was not uploaded (or is empty)")
        if document.source_type == "url":
            return parse(data, "html")
        if len(data) > limit:
            raise UnreadableDocument(
                f"the file is larger than the plan's {limit // (1024 * 1024)} MB per file"
            )
        real = detect_format(data, document.filename or "")
        named = format_of_name(document.filename or "")
        if named is not None and named != real and not (named in TEXT_FORMATS and real in TEXT_FORMATS):
            raise UnreadableDocument(f"the file is {real.upper()}, not {named.upper()} as its name says")
        if real not in policy.formats:
            raise UnreadableDocument(f"the file is {real.upper()}, which this plan does not accept")
        return parse(data, real)

    def _qa(self, document: Document) -> ParsedDocument:
        with self._uow(str(document.tenant_id)) as uow:
            rows = [
                p for p in uow.knowledge_qa.list(document.knowledge_base_id) if p.document_id == document.id
            ]
        if not rows:
            raise UnreadableDocument("the Q&A pair was deleted")
        return ParsedDocument(
            "txt", [Section(rows[0].text(), heading=rows[0].question)], title=rows[0].question
        )

    def _stored_size(self, key: str, least: int) -> int:
        """The stored object's size in bytes (its `ContentLength`), at least `least` (the bytes read)."""
        head = self._objects.head(self._bucket(), key) or {}
        return max(int(head.get("ContentLength") or 0), least)

    def _resize(self, document: Document, size: int) -> None:
        """Record the file's real size in bytes (what the plan's storage and the stats count), whether the
        document is then parsed or fails."""
        with self._uow(str(document.tenant_id)) as uow:
            stored = uow.knowledge_documents.get(document.id, for_update=True)
            stored.size_bytes = size
            uow.knowledge_documents.save(stored)
            uow.commit()

    def _claimed(self, uow: Any, document_id: uuid.UUID, attempt: int) -> Document | None:
        try:
            document: Document = uow.knowledge_documents.get(document_id, for_update=True)
        except NotFound:
            return None
        return (
            document if document.attempts == attempt and document.status in ("parsing", "embedding") else None
        )

    def _fail(self, tenant_id: str, document_id: uuid.UUID, attempt: int, reason: str) -> None:
        with self._uow(tenant_id) as uow:
            document = self._claimed(uow, document_id, attempt)
            if document is not None:
                document.fail(reason)
                uow.knowledge_documents.save(document)
                uow.commit()

    def _note(self, tenant_id: str, document_id: uuid.UUID, error: str) -> None:
        with self._uow(tenant_id) as uow:
            try:
                document = uow.knowledge_documents.get(document_id, for_update=True)
            except NotFound:
                return
            document.error = error
            uow.knowledge_documents.save(document)
            uow.commit()

    def _unchanged(self, tenant_id: str, document_id: uuid.UUID, attempt: int) -> str:
        with self._uow(tenant_id) as uow:
            document = self._claimed(uow, document_id, attempt)
            if document is None:
                return "superseded"
            document.move("indexed")
            document.progress_done = document.progress_total = document.chunk_count
            uow.knowledge_documents.save(document)
            uow.commit()
        return "unchanged"

    def _start_embedding(
        self, tenant_id: str, document_id: uuid.UUID, attempt: int, parsed: ParsedDocument, total: int
    ) -> bool:
        with self._uow(tenant_id) as uow:
            document = self._claimed(uow, document_id, attempt)
            if document is None:
                return False
            document.move("embedding")
            document.progress_total, document.progress_done = total, 0
            document.title = parsed.title or document.title
            document.author = parsed.author
            document.published_at = parsed.published_at
            document.preview = parsed.text[:PREVIEW_CHARS]
            document.metadata = {
                **document.metadata,
                "format": parsed.format,
                "pages": parsed.pages,
                "warnings": parsed.warnings,
            }
            uow.knowledge_documents.save(document)
            uow.commit()
        return True

    def _embed(
        self, tenant_id: str, document_id: uuid.UUID, embedder: Embedder, chunks: list[ChunkDraft]
    ) -> list[ChunkDraft]:
        from dataclasses import replace

        embedded: list[ChunkDraft] = []
        for start in range(0, len(chunks), self._batch_size):
            batch = chunks[start : start + self._batch_size]
            vectors = embedder.embed_documents([c.content for c in batch])
            embedded.extend(replace(c, embedding=v) for c, v in zip(batch, vectors, strict=True))
            with self._uow(tenant_id) as uow:
                uow.knowledge_documents.set_progress(document_id, len(embedded), len(chunks))
                uow.commit()
        return embedded

    def _write(
        self,
        tenant_id: str,
        document_id: uuid.UUID,
        attempt: int,
        base_id: uuid.UUID,
        chunks: list[ChunkDraft],
        text_hash: str,
    ) -> str:
        with self._uow(tenant_id) as uow:
            document = self._claimed(uow, document_id, attempt)
            if document is None:
                return "superseded"
            base = uow.knowledge_bases.get(base_id)
            embedder = self._embedder()
            if (base.embedding_model, base.embedding_dimension) != (embedder.model, embedder.dimension):
                reason = (
                    f"the knowledge base uses {base.embedding_model} ({base.embedding_dimension} dimensions);"
                    f" the configured embedder is {embedder.model}"
                )
                document.fail(reason)
                uow.knowledge_documents.save(document)
                uow.commit()
                raise PoisonMessage(reason)
            count = uow.knowledge_chunks.replace(base, document_id, chunks)
            now = self._clock.now()
            document.indexed(count, text_hash, now)
            uow.knowledge_documents.save(document)
            uow.knowledge_bases.touch_indexed(base.id, now)
            if base.subscription_id is not None:
                self._meter(uow, base.subscription_id, document, now)
            if self._event_bus is not None:
                detail = {
                    "event_id": f"document:{document_id}:{attempt}",
                    "tenant_id": str(tenant_id),
                    "subscription_id": str(base.subscription_id) if base.subscription_id else None,
                    "knowledge_base_id": str(base.id),
                    "document_id": str(document_id),
                    "filename": document.filename,
                    "chunks": count,
                }
                uow.outbox.add(
                    OutboxMessage.event(
                        self._event_bus(), "cmp.knowledge", "knowledge.document.indexed", detail
                    )
                )
            uow.commit()
        return "indexed"

    @staticmethod
    def _meter(uow: Any, subscription_id: uuid.UUID, document: Document, now: Any) -> None:
        """The document's `documents` (1) and `storage_bytes` (its size in bytes) usage, in the transaction
        that writes its chunks, keyed by the document id: its first indexing is metered and a reindex, a
        re-crawl or a re-delivered job records nothing more (docs/metering.md: documents ingested, bytes
        stored)."""
        from cmp.metering.model import UsageEvent

        for metric, quantity in (("documents", 1), ("storage_bytes", document.size_bytes)):
            uow.usage.record(
                UsageEvent(subscription_id, metric, quantity, now, f"knowledge:{document.id}:{metric}")
            )
