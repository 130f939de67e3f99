"""The seller's product knowledge base (issue 9, seller-provided knowledge): the same documents (presigned
uploads, status, preview, reindex, delete), websites and Q&A pairs as a buyer's subscription knowledge base
(`cmp.web.routes.knowledge`), through the same use cases with the product as the owner
(`KnowledgeOwner.product`), under `/v1/provider/products/{product_id}/knowledge`. A portal route: the
caller needs the seller role, the product must be its organization's (another's is a 404), and the product
limits apply (`cmp.knowledge.policy.PRODUCT_LIMITS`). `PUT …/knowledge` shares the base with the agents of
the product's subscriptions, who then search it beside their own knowledge (docs/knowledge.md); `POST
…/knowledge/search` and `…/knowledge/test` let the seller try the base alone, shared or not.

The knowledge model, services and Q&A import load on a route's first call, not with the function (its cold
start); so do the request and response models, named through `LazySchemas` (the resolver reads them from the
signatures when a route is first called)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.deps import Seller, ServicesDep
from cmp.web.schemas import EDIT, PRODUCT, LazySchemas, answers

if TYPE_CHECKING:
    from cmp.knowledge.model import KnowledgeOwner
    from cmp.web import agent_schemas, knowledge_schemas
else:
    agent_schemas = LazySchemas("cmp.web.agent_schemas")
    knowledge_schemas = LazySchemas("cmp.web.knowledge_schemas")

router = Router()
KB = "/v1/provider/products/<product_id>/knowledge"


def _owner(product_id: UUID) -> KnowledgeOwner:
    from cmp.knowledge.model import KnowledgeOwner

    return KnowledgeOwner.product(product_id)


@router.get(KB, responses=answers(200, "The product knowledge base's figures", *PRODUCT))
def product_knowledge_stats(
    product_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.ProductStatsOut:
    """Documents (per status), chunks, bytes stored against the product limits, whether it is shared."""
    return knowledge_schemas.ProductStatsOut.of(
        services.knowledge_views.stats(seller.tenant_id, _owner(product_id))
    )


@router.put(KB, responses=answers(200, "Shared, or no longer shared", *PRODUCT))
def share_product_knowledge(
    product_id: UUID, body: knowledge_schemas.SharingIn, seller: Seller, services: ServicesDep
) -> knowledge_schemas.SharingOut:
    """Share the knowledge base with the agents of the product's subscriptions (`shared: true`: their
    retrieval searches it beside the buyer's own knowledge and cites it as `origin: "product"`), or stop."""
    base = services.knowledge.share(seller.tenant_id, product_id, body.shared)
    return knowledge_schemas.SharingOut(knowledge_base_id=base.id, shared=base.shared)


@router.post(f"{KB}/documents", responses=answers(201, "Created; upload the file with the form", *PRODUCT))
def create_product_document(
    product_id: UUID, body: knowledge_schemas.NewDocument, seller: Seller, services: ServicesDep
) -> tuple[knowledge_schemas.CreatedDocument, int]:
    """A pending document and a presigned S3 POST for its file; format, size per file and the base's count
    and total are checked against the product limits now (413 over the per-file size, 422 otherwise) and
    again, with the file's real type, after upload. Ingestion starts by itself when the file lands."""
    from cmp.knowledge.model import UPLOAD_EXPIRES_SECONDS

    body.check_size()
    upload = services.knowledge.request_upload(
        seller.tenant_id, _owner(product_id), body.filename, body.content_type, body.size_bytes
    )
    created = knowledge_schemas.CreatedDocument(
        document_id=upload.document.id,
        status="pending",
        upload=knowledge_schemas.form_fields(upload.form),
        expires_in=UPLOAD_EXPIRES_SECONDS,
    )
    return created, 201


@router.get(f"{KB}/documents", responses=answers(200, "The documents, newest first", *PRODUCT))
def list_product_documents(
    product_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.DocumentList:
    """Every document of the base (files, crawled pages, Q&A pairs) with status and progress."""
    documents = services.knowledge_views.documents(seller.tenant_id, _owner(product_id))
    return knowledge_schemas.DocumentList(items=[knowledge_schemas.DocumentOut.of(d) for d in documents])


@router.get(f"{KB}/documents/<document_id>", responses=answers(200, "The document", *PRODUCT))
def get_product_document(
    product_id: UUID, document_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.DocumentOut:
    """Status (pending, parsing, embedding, indexed, failed), progress, error and chunk count."""
    return knowledge_schemas.DocumentOut.of(
        services.knowledge.document(seller.tenant_id, _owner(product_id), document_id)
    )


@router.delete(f"{KB}/documents/<document_id>", responses=answers(204, "Deleted with its chunks", *PRODUCT))
def delete_product_document(
    product_id: UUID, document_id: UUID, seller: Seller, services: ServicesDep
) -> Response[None]:
    """Delete the document, its chunks and its stored file."""
    services.knowledge.delete(seller.tenant_id, _owner(product_id), document_id)
    return Response(status_code=204)


@router.post(f"{KB}/documents/<document_id>/reindex", responses=answers(202, "Queued again", *EDIT))
def reindex_product_document(
    product_id: UUID, document_id: UUID, seller: Seller, services: ServicesDep
) -> tuple[knowledge_schemas.DocumentOut, int]:
    """Parse, chunk and embed the document again (409 while it is being ingested or before its upload)."""
    document = services.knowledge.reindex(seller.tenant_id, _owner(product_id), document_id)
    return knowledge_schemas.DocumentOut.of(document), 202


@router.get(f"{KB}/documents/<document_id>/preview", responses=answers(200, "The extracted text", *PRODUCT))
def preview_product_document(
    product_id: UUID, document_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.Preview:
    """The text extracted from the document (its first characters) and what parsing reported."""
    return knowledge_schemas.Preview.of(
        services.knowledge.document(seller.tenant_id, _owner(product_id), document_id)
    )


@router.post(f"{KB}/urls", responses=answers(201, "Added; the first crawl is queued", *EDIT))
def add_product_website(
    product_id: UUID, body: knowledge_schemas.NewWebsite, seller: Seller, services: ServicesDep
) -> tuple[knowledge_schemas.WebsiteOut, int]:
    """Crawl a website into the base (same site, robots.txt respected; 409 when the URL is already there,
    422 over the product limits' depth or number of websites)."""
    source = services.knowledge.add_website(
        seller.tenant_id, _owner(product_id), body.url, body.max_depth, body.max_pages, body.refresh_interval
    )
    return knowledge_schemas.WebsiteOut.of(source), 201


@router.get(f"{KB}/urls", responses=answers(200, "The website sources, oldest first", *PRODUCT))
def list_product_websites(
    product_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.WebsiteList:
    """Every website source of the base with its crawl status."""
    sources = services.knowledge.websites(seller.tenant_id, _owner(product_id))
    return knowledge_schemas.WebsiteList(items=[knowledge_schemas.WebsiteOut.of(s) for s in sources])


@router.get(f"{KB}/urls/<source_id>", responses=answers(200, "The website source", *PRODUCT))
def get_product_website(
    product_id: UUID, source_id: UUID, seller: Seller, services: ServicesDep
) -> knowledge_schemas.WebsiteOut:
    """One website source (404 for one of another knowledge base)."""
    return knowledge_schemas.WebsiteOut.of(
        services.knowledge.website(seller.tenant_id, _owner(product_id), source_id)
    )


@router.patch(f"{KB}/urls/<source_id>", responses=answers(200, "Changed", *PRODUCT))
def change_product_website(
    product_id: UUID,
    source_id: UUID,
    body: knowledge_schemas.WebsiteChange,
    seller: Seller,
    services: ServicesDep,
) -> knowledge_schemas.WebsiteOut:
    """Change the refresh interval, and the depth and pages from the next crawl."""
    source = services.knowledge.change_website(
        seller.tenant_id, _owner(product_id), source_id, body.max_depth, body.max_pages, body.refresh_interval
    )
    return knowledge_schemas.WebsiteOut.of(source)


@router.delete(f"{KB}/urls/<source_id>", responses=answers(204, "Deleted with its pages", *PRODUCT))
def delete_product_website(
    product_id: UUID, source_id: UUID, seller: Seller, services: ServicesDep
) -> Response[None]:
    """Delete the source with its pages' documents, chunks and stored pages."""
    services.knowledge.delete_website(seller.tenant_id, _owner(product_id), source_id)
    return Response(status_code=204)


@router.post(f"{KB}/qa", responses=answers(201, "Added; each pair is queued for embedding", *PRODUCT))
def import_product_qa(
    product_id: UUID, body: knowledge_schemas.QaImport, seller: Seller, services: ServicesDep
) -> tuple[knowledge_schemas.QaPairList, int]:
    """Add Q&A pairs from a JSON list (`pairs`) or CSV text (`csv`); every bad row is named in the 422 and
    then no pair is added."""
    from cmp.knowledge.qa_import import rows_from_csv, rows_from_pairs

    rows = (
        rows_from_pairs([(p.question, p.answer) for p in body.pairs])
        if body.pairs is not None
        else rows_from_csv(body.csv or "")
    )
    pairs = services.knowledge.add_qa_pairs(seller.tenant_id, _owner(product_id), rows)
    return knowledge_schemas.QaPairList(items=[knowledge_schemas.QaPairOut.of(p) for p in pairs]), 201


@router.get(f"{KB}/qa", responses=answers(200, "The Q&A pairs, newest first", *PRODUCT))
def list_product_qa(product_id: UUID, seller: Seller, services: ServicesDep) -> knowledge_schemas.QaPairList:
    """Every Q&A pair of the base."""
    pairs = services.knowledge.qa_pairs(seller.tenant_id, _owner(product_id))
    return knowledge_schemas.QaPairList(items=[knowledge_schemas.QaPairOut.of(p) for p in pairs])


@router.put(f"{KB}/qa/<pair_id>", responses=answers(200, "Changed; queued for re-embedding", *PRODUCT))
def edit_product_qa(
    product_id: UUID, pair_id: UUID, body: knowledge_schemas.QaPairIn, seller: Seller, services: ServicesDep
) -> knowledge_schemas.QaPairOut:
    """Change a pair's question and answer."""
    pair = services.knowledge.edit_qa_pair(
        seller.tenant_id, _owner(product_id), pair_id, body.question, body.answer
    )
    return knowledge_schemas.QaPairOut.of(pair)


@router.delete(f"{KB}/qa/<pair_id>", responses=answers(204, "Deleted with its chunk", *PRODUCT))
def delete_product_qa(
    product_id: UUID, pair_id: UUID, seller: Seller, services: ServicesDep
) -> Response[None]:
    """Delete a pair, its document and its chunk."""
    services.knowledge.delete_qa_pair(seller.tenant_id, _owner(product_id), pair_id)
    return Response(status_code=204)


@router.post(f"{KB}/search", responses=answers(200, "Ranked chunks with citations", *EDIT, 503))
def search_product_knowledge(
    product_id: UUID, body: agent_schemas.SearchBody, seller: Seller, services: ServicesDep
) -> agent_schemas.SearchResponse:
    """Search the product's knowledge base alone, shared or not, as a subscriber's agent would search it
    (the buyer's `POST /v1/subscriptions/{id}/knowledge/search`: `vector`, `keyword` or `hybrid`, the same
    filters); every citation's `origin` is "product". 409 when the base was embedded with another model
    than queries are (keyword search still works), 503 when the embedder cannot answer."""
    hits = services.knowledge_search.search_product(
        seller.tenant_id, product_id, body.query, body.top_k, body.method, body.search_filters()
    )
    return agent_schemas.SearchResponse.of(body, hits)


@router.post(f"{KB}/test", responses=answers(200, "The answer the product's agent would give", *EDIT, 503))
def test_product_knowledge(
    product_id: UUID, body: agent_schemas.KnowledgeTestBody, seller: Seller, services: ServicesDep
) -> agent_schemas.ChatResponse:
    """ "Test knowledge base" for the seller: the answer the product's agent would give to `question` from
    the product's knowledge base alone, with the settings a new subscription starts with, and its sources.
    Nothing is stored or metered. 409 for a product that is not an agent."""
    answer = services.agent.test_product(seller.tenant_id, product_id, body.question)
    return agent_schemas.ChatResponse.model_validate(answer.as_dict())
