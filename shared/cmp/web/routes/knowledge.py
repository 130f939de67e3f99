"""The knowledge ingestion API of a subscription (issue 9): documents by presigned upload, websites, Q&A
pairs, stats. A runtime route: the runtime authorizer admits the buyer's portal token or an API key of
the subscription with the `knowledge:read` (GET) or `knowledge:write` scope, and the caller's organization
comes only from its context; any other subscription is a 404. Every call is admitted by the gateway as the
chat route is (`services.gateway.admit`: rate limits, concurrency, the `api_calls` quota; 429 when refused)
and its answer carries the `RateLimit-Policy` / `RateLimit` headers. Search and test routes are served by
the agent runtime's function."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from uuid import UUID

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.gateway.context import RuntimeContext
from cmp.knowledge.model import UPLOAD_EXPIRES_SECONDS, KnowledgeOwner
from cmp.knowledge.qa_import import rows_from_csv, rows_from_pairs
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.knowledge_schemas import (
    CreatedDocument,
    DocumentList,
    DocumentOut,
    NewDocument,
    NewWebsite,
    Preview,
    QaImport,
    QaPairIn,
    QaPairList,
    QaPairOut,
    StatsOut,
    WebsiteChange,
    WebsiteList,
    WebsiteOut,
    form_fields,
)
from cmp.web.schemas import answers

if TYPE_CHECKING:
    from cmp.bootstrap import Services
    from cmp.gateway.services import Admission

router = Router()
KB = "/v1/subscriptions/<subscription_id>/knowledge"
READ = (401, 403, 404, 429, 503)
"""No credential; the credential lacks the scope (or the plan the source); not the credential's
subscription (or a document of another); the gateway's rate limit or quota; a dedicated runtime not
provisioned yet."""
JSON = content_types.APPLICATION_JSON


@contextmanager
def admitted(
    ctx: RuntimeContext, subscription_id: UUID, scope: str, services: Services
) -> Iterator[Admission]:
    """The gateway's admission of the call (one `api_calls` unit against the limits, as every runtime call),
    once it is for the credential's own subscription (404 otherwise) and the credential holds `scope`
    (`knowledge:read` or `knowledge:write`; 403 otherwise). Raises RateLimited / QuotaExceeded (429)."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(scope)
    with services.gateway.admit(ctx, metric="api_calls") as admission:
        yield admission


@router.get(KB, responses=answers(200, "The knowledge base's figures", *READ))
def knowledge_stats(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[StatsOut]:
    """Documents (per status), chunks, bytes stored against the plan's storage, last indexing time."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        body = StatsOut.of(
            services.knowledge_views.stats(str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id))
        )
    return Response(200, JSON, body, admission.headers)


@router.post(f"{KB}/documents", responses=answers(201, "Created; upload the file with the form", *READ, 429))
def create_document(
    subscription_id: UUID, body: NewDocument, ctx: Runtime, services: ServicesDep
) -> Response[CreatedDocument]:
    """A pending document and a presigned S3 POST for its file. The format (by extension), the size per
    file and the base's count and total are checked against the plan now (403 without document sources,
    413 over the per-file size, 429 over the plan's storage quota, 422 otherwise) and again, with the
    file's real type, after upload. Ingestion starts by itself when the file lands."""
    body.check_size()
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        upload = services.knowledge.request_upload(
            str(ctx.tenant_id),
            KnowledgeOwner.subscription(subscription_id),
            body.filename,
            body.content_type,
            body.size_bytes,
        )
    created = CreatedDocument(
        document_id=upload.document.id,
        status="pending",
        upload=form_fields(upload.form),
        expires_in=UPLOAD_EXPIRES_SECONDS,
    )
    return Response(201, JSON, created, admission.headers)


@router.get(f"{KB}/documents", responses=answers(200, "The documents, newest first", *READ))
def list_documents(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[DocumentList]:
    """Every document of the base (files, crawled pages, Q&A pairs) with status and progress."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        documents = services.knowledge_views.documents(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id)
        )
    return Response(200, JSON, DocumentList(items=[DocumentOut.of(d) for d in documents]), admission.headers)


@router.get(f"{KB}/documents/<document_id>", responses=answers(200, "The document", *READ))
def get_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[DocumentOut]:
    """Status (pending, parsing, embedding, indexed, failed), progress, error and chunk count."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        document = services.knowledge.document(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), document_id
        )
    return Response(200, JSON, DocumentOut.of(document), admission.headers)


@router.delete(f"{KB}/documents/<document_id>", responses=answers(204, "Deleted with its chunks", *READ))
def delete_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[None]:
    """Delete the document, its chunks and its stored file."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        services.knowledge.delete(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), document_id
        )
    return Response(status_code=204, headers=admission.headers)


@router.post(f"{KB}/documents/<document_id>/reindex", responses=answers(202, "Queued again", *READ, 409))
def reindex_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[DocumentOut]:
    """Parse, chunk and embed the document again (409 while it is being ingested or before its upload)."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        document = services.knowledge.reindex(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), document_id
        )
    return Response(202, JSON, DocumentOut.of(document), admission.headers)


@router.get(f"{KB}/documents/<document_id>/preview", responses=answers(200, "The extracted text", *READ))
def preview_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[Preview]:
    """The text extracted from the document (its first characters) and what parsing reported (e.g.
    pages without text); empty until the document has been parsed."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        document = services.knowledge.document(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), document_id
        )
    return Response(200, JSON, Preview.of(document), admission.headers)


@router.post(f"{KB}/urls", responses=answers(201, "Added; the first crawl is queued", *READ, 409))
def add_website(
    subscription_id: UUID, body: NewWebsite, ctx: Runtime, services: ServicesDep
) -> Response[WebsiteOut]:
    """Crawl a website into the base: the same site only, `max_depth` links deep, `max_pages` pages,
    robots.txt respected, re-crawled on `refresh_interval` (403 without website sources, 409 when the
    URL is already there, naming the source to PATCH, 422 over the plan's depth or its number of websites,
    `configuration.rag.limits.maxUrls`)."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        source = services.knowledge.add_website(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), body.url, body.max_depth, body.max_pages,
            body.refresh_interval,
        )  # fmt: skip
    return Response(201, JSON, WebsiteOut.of(source), admission.headers)


@router.get(f"{KB}/urls", responses=answers(200, "The website sources, oldest first", *READ))
def list_websites(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[WebsiteList]:
    """Every website source of the base with its limits, refresh interval, crawl status, last crawl,
    pages found and error."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        sources = services.knowledge.websites(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id)
        )
    return Response(200, JSON, WebsiteList(items=[WebsiteOut.of(s) for s in sources]), admission.headers)


@router.get(f"{KB}/urls/<source_id>", responses=answers(200, "The website source", *READ))
def get_website(
    subscription_id: UUID, source_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[WebsiteOut]:
    """One website source (404 for one of another subscription)."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        source = services.knowledge.website(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), source_id
        )
    return Response(200, JSON, WebsiteOut.of(source), admission.headers)


@router.patch(f"{KB}/urls/<source_id>", responses=answers(200, "Changed", *READ))
def change_website(
    subscription_id: UUID, source_id: UUID, body: WebsiteChange, ctx: Runtime, services: ServicesDep
) -> Response[WebsiteOut]:
    """Change the refresh interval, and the depth and pages from the next crawl (422 over the plan's
    depth)."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        source = services.knowledge.change_website(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), source_id, body.max_depth, body.max_pages,
            body.refresh_interval,
        )  # fmt: skip
    return Response(200, JSON, WebsiteOut.of(source), admission.headers)


@router.delete(f"{KB}/urls/<source_id>", responses=answers(204, "Deleted with its pages", *READ))
def delete_website(
    subscription_id: UUID, source_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[None]:
    """Delete the source, its pages' documents and chunks and the stored pages; a crawl of it that is
    running stops and stores nothing."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        services.knowledge.delete_website(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), source_id
        )
    return Response(status_code=204, headers=admission.headers)


@router.post(f"{KB}/qa", responses=answers(201, "Added; each pair is queued for embedding", *READ))
def import_qa(
    subscription_id: UUID, body: QaImport, ctx: Runtime, services: ServicesDep
) -> Response[QaPairList]:
    """Add Q&A pairs from a JSON list (`pairs`) or the text of a CSV file (`csv`, columns question and
    answer). Every bad row is named in the 422 (`pairs[2].answer`, `csv.line[5].question`) and then no
    pair is added."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        rows = (
            rows_from_pairs([(p.question, p.answer) for p in body.pairs])
            if body.pairs is not None
            else rows_from_csv(body.csv or "")
        )
        pairs = services.knowledge.add_qa_pairs(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), rows
        )
    return Response(201, JSON, QaPairList(items=[QaPairOut.of(p) for p in pairs]), admission.headers)


@router.get(f"{KB}/qa", responses=answers(200, "The Q&A pairs, newest first", *READ))
def list_qa(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[QaPairList]:
    """Every Q&A pair of the base (each is also a document of source type qa, with its status)."""
    with admitted(ctx, subscription_id, "knowledge:read", services) as admission:
        pairs = services.knowledge.qa_pairs(str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id))
    return Response(200, JSON, QaPairList(items=[QaPairOut.of(p) for p in pairs]), admission.headers)


@router.put(f"{KB}/qa/<pair_id>", responses=answers(200, "Changed; queued for re-embedding", *READ))
def edit_qa(
    subscription_id: UUID, pair_id: UUID, body: QaPairIn, ctx: Runtime, services: ServicesDep
) -> Response[QaPairOut]:
    """Change a pair's question and answer."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        pair = services.knowledge.edit_qa_pair(
            str(ctx.tenant_id),
            KnowledgeOwner.subscription(subscription_id),
            pair_id,
            body.question,
            body.answer,
        )
    return Response(200, JSON, QaPairOut.of(pair), admission.headers)


@router.delete(f"{KB}/qa/<pair_id>", responses=answers(204, "Deleted with its chunk", *READ))
def delete_qa(subscription_id: UUID, pair_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[None]:
    """Delete a pair, its document and its chunk."""
    with admitted(ctx, subscription_id, "knowledge:write", services) as admission:
        services.knowledge.delete_qa_pair(
            str(ctx.tenant_id), KnowledgeOwner.subscription(subscription_id), pair_id
        )
    return Response(status_code=204, headers=admission.headers)
