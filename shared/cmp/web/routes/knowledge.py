"""The knowledge ingestion API of a subscription (issue 9): documents by presigned upload, websites, Q&A
pairs, stats. A runtime route: the runtime authorizer admits the buyer's portal token or an API key of
the subscription with the `knowledge:read` (GET) or `knowledge:write` scope, and the caller's organization
comes only from its context; any other subscription is a 404. Search and test routes are served by the
agent runtime's function."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.gateway.context import RuntimeContext
from cmp.knowledge.model import PREVIEW_CHARS
from cmp.knowledge.qa_import import rows_from_csv, rows_from_pairs
from cmp.knowledge.services import UPLOAD_EXPIRES_SECONDS
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
    WebsiteOut,
    form_fields,
)
from cmp.web.schemas import answers

router = Router()
KB = "/v1/subscriptions/<subscription_id>/knowledge"
READ = (401, 403, 404)
"""No credential; the credential lacks the scope (or the plan the source); not the credential's
subscription (or a document of another)."""


def tenant_of(ctx: RuntimeContext, subscription_id: UUID, scope: str) -> str:
    """The caller's organization, once the call is for the credential's own subscription (404 otherwise)
    and the credential holds `scope` (`knowledge:read` or `knowledge:write`; 403 otherwise)."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(scope)
    return str(ctx.tenant_id)


@router.get(KB, responses=answers(200, "The knowledge base's figures", *READ))
def knowledge_stats(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> StatsOut:
    """Documents (per status), chunks, bytes stored against the plan's storage, last indexing time."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:read")
    return StatsOut.of(services.knowledge_views.stats(tenant_id, subscription_id))


@router.post(f"{KB}/documents", responses=answers(201, "Created; upload the file with the form", *READ, 429))
def create_document(
    subscription_id: UUID, body: NewDocument, ctx: Runtime, services: ServicesDep
) -> tuple[CreatedDocument, int]:
    """A pending document and a presigned S3 POST for its file. The format (by extension), the size per
    file and the base's count and total are checked against the plan now (403 without document sources,
    413 over the per-file size, 429 over the plan's storage quota, 422 otherwise) and again, with the
    file's real type, after upload. Ingestion starts by itself when the file lands."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    upload = services.knowledge.request_upload(
        tenant_id, subscription_id, body.filename, body.content_type, body.size_bytes
    )
    return CreatedDocument(
        document_id=upload.document.id,
        status="pending",
        upload=form_fields(upload.form),
        expires_in=UPLOAD_EXPIRES_SECONDS,
    ), 201


@router.get(f"{KB}/documents", responses=answers(200, "The documents, newest first", *READ))
def list_documents(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> DocumentList:
    """Every document of the base (files, crawled pages, Q&A pairs) with status and progress."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:read")
    documents = services.knowledge_views.documents(tenant_id, subscription_id)
    return DocumentList(items=[DocumentOut.of(d) for d in documents])


@router.get(f"{KB}/documents/<document_id>", responses=answers(200, "The document", *READ))
def get_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> DocumentOut:
    """Status (pending, parsing, embedding, indexed, failed), progress, error and chunk count."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:read")
    return DocumentOut.of(services.knowledge.document(tenant_id, subscription_id, document_id))


@router.delete(f"{KB}/documents/<document_id>", responses=answers(204, "Deleted with its chunks", *READ))
def delete_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[None]:
    """Delete the document, its chunks and its stored file."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    services.knowledge.delete(tenant_id, subscription_id, document_id)
    return Response(status_code=204)


@router.post(f"{KB}/documents/<document_id>/reindex", responses=answers(202, "Queued again", *READ, 409))
def reindex_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> tuple[DocumentOut, int]:
    """Parse, chunk and embed the document again (409 while it is being ingested or before its upload)."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    document = services.knowledge.reindex(tenant_id, subscription_id, document_id)
    return DocumentOut.of(document), 202


@router.get(f"{KB}/documents/<document_id>/preview", responses=answers(200, "The extracted text", *READ))
def preview_document(
    subscription_id: UUID, document_id: UUID, ctx: Runtime, services: ServicesDep
) -> Preview:
    """The text extracted from the document (its first characters) and what parsing reported (e.g.
    pages without text); empty until the document has been parsed."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:read")
    document = services.knowledge.document(tenant_id, subscription_id, document_id)
    text = document.preview or ""
    return Preview(
        document_id=document.id,
        status=document.status,
        text=text,
        truncated=len(text) >= PREVIEW_CHARS,
        warnings=list(document.metadata.get("warnings") or []),
    )


@router.post(f"{KB}/urls", responses=answers(201, "Added; the first crawl is queued", *READ, 409))
def add_website(
    subscription_id: UUID, body: NewWebsite, ctx: Runtime, services: ServicesDep
) -> tuple[WebsiteOut, int]:
    """Crawl a website into the base: the same site only, `max_depth` links deep, `max_pages` pages,
    robots.txt respected, re-crawled on `refresh_interval` (403 without website sources, 409 when the
    URL is already there, 422 over the plan's depth or website count)."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    source = services.knowledge.add_website(
        tenant_id, subscription_id, body.url, body.max_depth, body.max_pages, body.refresh_interval
    )
    return WebsiteOut.of(source), 201


@router.post(f"{KB}/qa", responses=answers(201, "Added; each pair is queued for embedding", *READ))
def import_qa(
    subscription_id: UUID, body: QaImport, ctx: Runtime, services: ServicesDep
) -> tuple[QaPairList, int]:
    """Add Q&A pairs from a JSON list (`pairs`) or the text of a CSV file (`csv`, columns question and
    answer). Every bad row is named in the 422 (`pairs[2].answer`, `csv.line[5].question`) and then no
    pair is added."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    rows = (
        rows_from_pairs([(p.question, p.answer) for p in body.pairs])
        if body.pairs is not None
        else rows_from_csv(body.csv or "")
    )
    pairs = services.knowledge.add_qa_pairs(tenant_id, subscription_id, rows)
    return QaPairList(items=[QaPairOut.of(p) for p in pairs]), 201


@router.get(f"{KB}/qa", responses=answers(200, "The Q&A pairs, newest first", *READ))
def list_qa(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> QaPairList:
    """Every Q&A pair of the base (each is also a document of source type qa, with its status)."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:read")
    return QaPairList(
        items=[QaPairOut.of(p) for p in services.knowledge.qa_pairs(tenant_id, subscription_id)]
    )


@router.put(f"{KB}/qa/<pair_id>", responses=answers(200, "Changed; queued for re-embedding", *READ))
def edit_qa(
    subscription_id: UUID, pair_id: UUID, body: QaPairIn, ctx: Runtime, services: ServicesDep
) -> QaPairOut:
    """Change a pair's question and answer."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    pair = services.knowledge.edit_qa_pair(tenant_id, subscription_id, pair_id, body.question, body.answer)
    return QaPairOut.of(pair)


@router.delete(f"{KB}/qa/<pair_id>", responses=answers(204, "Deleted with its chunk", *READ))
def delete_qa(subscription_id: UUID, pair_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[None]:
    """Delete a pair, its document and its chunk."""
    tenant_id = tenant_of(ctx, subscription_id, "knowledge:write")
    services.knowledge.delete_qa_pair(tenant_id, subscription_id, pair_id)
    return Response(status_code=204)
