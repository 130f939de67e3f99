"""Knowledge ingestion through the real handlers, PostgreSQL and moto: a presigned upload lands, S3 tells
the queue, the worker re-queues it in the tenant's group and ingests it (pending → indexed, chunks with
page numbers); re-delivery and reindex never duplicate chunks; a crash mid-document restarts cleanly; a
file that is not what its name says fails with the reason and goes to the DLQ; limits, Q&A import with
per-row errors, delete, stats; another organization gets 404 everywhere."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.commerce.model import Subscription
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.knowledge.embeddings import HashEmbedder
from cmp.tenancy.credentials import SCOPES, ApiKeyRequest
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, api_event, caller_of

pytestmark = pytest.mark.integration
API, WORKER = "KnowledgeApiFunction", "IngestionWorkerFunction"
KNOWLEDGE = {
    "knowledge": {"enabled": True, "sources": {"documents": True, "qaFiles": True, "websites": True}},
    "rag": {
        "enabled": True,
        "sources": {"documents": True, "websites": True, "qaPairs": True},
        "detail": {"sources": {"documents": {"formats": ["pdf", "md", "txt", "csv"], "maxFileSize": 1}}},
    },
}


@pytest.fixture
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "knowledge"


@pytest.fixture
def loaded(platform: Platform) -> Platform:
    """Both functions loaded, on the deterministic test embedder (no model in integration tests)."""
    for name in (API, WORKER):
        platform.function(name).services.embedder = HashEmbedder()
    return platform


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Knowledge Buyer", "buyer")


def caller(
    subscription: Subscription, scopes: tuple[str, ...] = tuple(SCOPES), key: bool = False
) -> dict[str, str]:
    """The runtime authorizer's context for a call on `subscription`: its buyer's portal token (every
    scope), or an API key with `scopes`."""
    return RuntimeContext(
        "api_key" if key else "portal",
        subscription.tenant_id,
        subscription.id,
        subscription.product_id,
        subscription.plan_id,
        "shared",
        uuid.uuid4() if key else None,
        scopes,
        user_id=None if key else uuid.uuid4(),
    ).to_authorizer()


def call(
    platform: Platform, method: str, path: str, who: dict[str, str] | None, body: Any = None
) -> tuple[int, Any]:
    response = platform.invoke(API, api_event(method, path, body, who))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def kb(subscription_id: object) -> str:
    return f"/v1/subscriptions/{subscription_id}/knowledge"


def upload(platform: Platform, created: dict[str, Any], data: bytes) -> None:
    """What the browser's POST to the presigned form does: the object lands under the form's key."""
    fields = created["upload"]["fields"]
    client("s3").put_object(
        Bucket=platform.ref("KnowledgeBucket"),
        Key=fields["key"],
        Body=data,
        ContentType=fields["Content-Type"],
    )


def drain(platform: Platform) -> int:
    return platform.drain("IngestionQueue", WORKER)


def dead_letters(platform: Platform) -> list[dict[str, Any]]:
    out = client("sqs").receive_message(
        QueueUrl=platform.ref("IngestionDeadLetterQueue"),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )
    return list(out.get("Messages", []))


def test_an_uploaded_pdf_is_ingested_with_pages_and_tables_and_never_duplicated(
    loaded: Platform,
    db: Database,
    buyer: dict[str, str],
    owner_conn: psycopg.Connection[Any],
    fixtures_dir: Path,
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    data = (fixtures_dir / "pr-138-example.pdf").read_bytes()
    status, created = call(
        loaded,
        "POST",
        f"{kb(subscription.id)}/documents",
        who,
        {"filename": "rates.pdf", "content_type": "application/pdf", "size_bytes": len(data)},
    )
    assert status == 201, created
    key = created["upload"]["fields"]["key"]
    assert key == f"knowledge/{buyer['tenant_id']}/{subscription.id}/{created['document_id']}"
    path = f"{kb(subscription.id)}/documents/{created['document_id']}"
    assert call(loaded, "GET", path, who)[1]["status"] == "pending"

    upload(loaded, created, data)
    assert drain(loaded) >= 2  # the S3 notification, then the tenant-grouped document job
    status, document = call(loaded, "GET", path, who)
    assert document["status"] == "indexed", document
    assert document["title"] == "Home Loan Interest Rates" and document["author"] == "CBA Forms Production"
    chunks = document["chunk_count"]
    assert chunks > 0 and document["progress"] == {"done": chunks, "total": chunks}
    pages = owner_conn.execute(
        "select distinct page from knowledge_chunks where document_id = %s order by 1",
        (created["document_id"],),
    ).fetchall()
    assert pages == [(1,), (2,)]
    table = owner_conn.execute(
        "select count(*) from knowledge_chunks where document_id = %s and metadata->>'kind' = 'table'"
        " and content like '| %%'",
        (created["document_id"],),
    ).fetchone()
    assert table[0] > 0
    preview = call(loaded, "GET", f"{path}/preview", who)[1]
    assert "Home Loan" in preview["text"] and preview["warnings"] == []

    # A re-delivered job finds the same text indexed: nothing is rewritten or duplicated.
    jobs = loaded.function(WORKER).services.ingestion
    assert jobs.ingest(buyer["tenant_id"], uuid.UUID(created["document_id"])) == "unchanged"
    # Reindex embeds again and replaces the chunks in one transaction.
    status, body = call(loaded, "POST", f"{path}/reindex", who)
    assert status == 202 and body["status"] == "pending"
    drain(loaded)
    count = owner_conn.execute(
        "select count(*), count(distinct ordinal) from knowledge_chunks where document_id = %s",
        (created["document_id"],),
    ).fetchone()
    assert count == (chunks, chunks)

    stats = call(loaded, "GET", kb(subscription.id), who)[1]
    assert stats["documents"] == 1 and stats["chunks"] == chunks and stats["size_bytes"] == len(data)
    assert stats["storage_limit_bytes"] == 500 * 1024 * 1024 and stats["last_indexed_at"]
    # Metered once in the indexing transaction, whatever the re-delivery and the reindex did.
    usage = owner_conn.execute(
        "select metric, quantity from usage_records where subscription_id = %s"
        " and metric in ('documents', 'storage_bytes') order by metric",
        (subscription.id,),
    ).fetchall()
    assert usage == [("documents", 1), ("storage_bytes", len(data))]

    assert call(loaded, "DELETE", path, who)[0] == 204
    assert owner_conn.execute(
        "select count(*) from knowledge_chunks where document_id = %s", (created["document_id"],)
    ).fetchone() == (0,)
    assert "Contents" not in client("s3").list_objects_v2(Bucket=loaded.ref("KnowledgeBucket"), Prefix=key)


def test_a_crash_mid_document_restarts_cleanly(
    loaded: Platform, db: Database, buyer: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    text = "\n\n".join(
        f"Paragraph {i}. " + "Returns are accepted within thirty days. " * 40 for i in range(12)
    )
    data = text.encode()
    created = call(
        loaded,
        "POST",
        f"{kb(subscription.id)}/documents",
        who,
        {"filename": "returns.txt", "content_type": "text/plain", "size_bytes": len(data)},
    )[1]
    upload(loaded, created, data)
    jobs = loaded.function(WORKER).services.ingestion
    document_id = uuid.UUID(created["document_id"])

    class Dying(HashEmbedder):
        calls = 0

        def embed_documents(self, texts: Any) -> list[list[float]]:
            Dying.calls += 1
            if Dying.calls == 2:
                raise RuntimeError("killed")
            return super().embed_documents(texts)

    jobs._embedder = lambda: Dying()
    jobs._batch_size = 2
    with pytest.raises(RuntimeError):
        jobs.ingest(buyer["tenant_id"], document_id)
    half = call(loaded, "GET", f"{kb(subscription.id)}/documents/{document_id}", who)[1]
    assert half["status"] == "embedding" and half["progress"]["done"] == 2 and "killed" in half["error"]
    assert owner_conn.execute(
        "select count(*) from knowledge_chunks where document_id = %s", (document_id,)
    ).fetchone() == (0,)
    jobs._embedder = lambda: HashEmbedder()
    assert jobs.ingest(buyer["tenant_id"], document_id) == "indexed"
    done = call(loaded, "GET", f"{kb(subscription.id)}/documents/{document_id}", who)[1]
    assert done["status"] == "indexed" and done["error"] is None
    assert owner_conn.execute(
        "select count(*) from knowledge_chunks where document_id = %s", (document_id,)
    ).fetchone() == (done["chunk_count"],)


def test_a_file_that_is_not_what_its_name_says_fails_with_the_reason_and_is_dead_lettered(
    loaded: Platform, db: Database, buyer: dict[str, str], fixtures_dir: Path
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    data = (fixtures_dir / "markitdown-test.docx").read_bytes()[:900_000]
    created = call(
        loaded,
        "POST",
        f"{kb(subscription.id)}/documents",
        who,
        {"filename": "manual.pdf", "content_type": "application/pdf", "size_bytes": len(data)},
    )[1]
    upload(loaded, created, data)
    drain(loaded)
    document = call(loaded, "GET", f"{kb(subscription.id)}/documents/{created['document_id']}", who)[1]
    assert document["status"] == "failed"
    assert "DOCX" in document["error"] and "PDF" in document["error"]
    reasons = [m["MessageAttributes"]["cmp-failure-reason"]["StringValue"] for m in dead_letters(loaded)]
    assert any(created["document_id"] in reason for reason in reasons)


def test_the_plan_limits_are_checked_before_the_upload(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    path = f"{kb(subscription.id)}/documents"
    status, body = call(
        loaded,
        "POST",
        path,
        who,
        {"filename": "big.pdf", "content_type": "application/pdf", "size_bytes": 2 * 1024 * 1024},
    )
    assert status == 413 and body["errors"][0]["path"] == "size_bytes"
    status, body = call(
        loaded,
        "POST",
        path,
        who,
        {"filename": "sheet.xlsx", "content_type": "application/octet-stream", "size_bytes": 10},
    )
    assert status == 422 and body["errors"][0]["path"] == "filename"
    off = {"knowledge": {"enabled": False}, "rag": {"enabled": False}}
    plain = subscribe(db, buyer["tenant_id"], capabilities(configuration=off))
    status, body = call(
        loaded,
        "POST",
        f"{kb(plain.id)}/documents",
        caller(plain),
        {"filename": "a.pdf", "content_type": "application/pdf", "size_bytes": 10},
    )
    assert status == 403


def test_qa_pairs_import_with_per_row_errors_and_are_indexed_as_citable_documents(
    loaded: Platform, db: Database, buyer: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    path = f"{kb(subscription.id)}/qa"
    bad = "question,answer\nHow long do refunds take?,Five days\nWhere is my order?,\n"
    status, body = call(loaded, "POST", path, who, {"csv": bad})
    assert status == 422 and body["errors"] == [
        {"path": "csv.line[3].answer", "message": "must not be empty"}
    ]
    good = "Question;Answer\nHow long do refunds take?;Five business days.\n¿Cuánto tarda el reembolso?;Cinco días hábiles.\n"
    status, body = call(loaded, "POST", path, who, {"csv": good})
    assert status == 201 and len(body["items"]) == 2
    status, body = call(
        loaded, "POST", path, who, {"pairs": [{"question": "Do you ship abroad?", "answer": "Yes."}]}
    )
    assert status == 201
    pair = body["items"][0]
    drain(loaded)
    rows = owner_conn.execute(
        "select d.source_type, d.status, c.content, c.ts_config::text from knowledge_documents d"
        " join knowledge_chunks c on c.document_id = d.id where d.id = %s",
        (pair["document_id"],),
    ).fetchall()
    assert rows == [("qa", "indexed", "Q: Do you ship abroad?\nA: Yes.", "cmp_simple")]
    status, edited = call(
        loaded,
        "PUT",
        f"{path}/{pair['pair_id']}",
        who,
        {"question": "Do you ship abroad?", "answer": "Yes, to 40 countries."},
    )
    assert status == 200 and edited["answer"] == "Yes, to 40 countries."
    drain(loaded)
    assert owner_conn.execute(
        "select content from knowledge_chunks where document_id = %s", (pair["document_id"],)
    ).fetchone() == ("Q: Do you ship abroad?\nA: Yes, to 40 countries.",)
    assert call(loaded, "DELETE", f"{path}/{pair['pair_id']}", who)[0] == 204
    assert len(call(loaded, "GET", path, who)[1]["items"]) == 2


def test_another_organization_gets_404_on_every_route(
    loaded: Platform, db: Database, buyer: dict[str, str], services: Services
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    created = call(
        loaded,
        "POST",
        f"{kb(subscription.id)}/documents",
        who,
        {"filename": "a.txt", "content_type": "text/plain", "size_bytes": 10},
    )[1]
    pair = call(
        loaded, "POST", f"{kb(subscription.id)}/qa", who, {"pairs": [{"question": "q?", "answer": "a."}]}
    )[1]["items"][0]
    stranger = caller_of(services, "Other Buyer", "buyer")
    other = caller(subscribe(db, stranger["tenant_id"], capabilities(configuration=KNOWLEDGE)))
    one = f"{kb(subscription.id)}/documents/{created['document_id']}"
    for method, path, body in [
        ("GET", kb(subscription.id), None),
        ("GET", f"{kb(subscription.id)}/documents", None),
        (
            "POST",
            f"{kb(subscription.id)}/documents",
            {"filename": "b.txt", "content_type": "text/plain", "size_bytes": 5},
        ),
        ("GET", one, None),
        ("GET", f"{one}/preview", None),
        ("POST", f"{one}/reindex", None),
        ("DELETE", one, None),
        ("POST", f"{kb(subscription.id)}/urls", {"url": "https://example.com/"}),
        ("GET", f"{kb(subscription.id)}/qa", None),
        ("POST", f"{kb(subscription.id)}/qa", {"pairs": [{"question": "x", "answer": "y"}]}),
        ("PUT", f"{kb(subscription.id)}/qa/{pair['pair_id']}", {"question": "x", "answer": "y"}),
        ("DELETE", f"{kb(subscription.id)}/qa/{pair['pair_id']}", None),
    ]:
        status, _ = call(loaded, method, path, other, body)
        assert status == 404, (method, path, status)
    assert call(loaded, "GET", one, who)[0] == 200


def test_an_api_key_needs_the_knowledge_scope_of_what_it_does(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    reader = caller(subscription, ("knowledge:read",), key=True)
    invoker = caller(subscription, ("invoke",), key=True)
    new = {"filename": "a.txt", "content_type": "text/plain", "size_bytes": 10}
    assert call(loaded, "GET", kb(subscription.id), reader)[0] == 200
    status, body = call(loaded, "POST", f"{kb(subscription.id)}/documents", reader, new)
    assert status == 403 and "knowledge:write" in body["message"]
    assert call(loaded, "GET", f"{kb(subscription.id)}/documents", invoker)[0] == 403
    writer = caller(subscription, ("knowledge:read", "knowledge:write"), key=True)
    assert call(loaded, "POST", f"{kb(subscription.id)}/documents", writer, new)[0] == 201


def test_every_knowledge_route_goes_through_the_gateway(
    loaded: Platform, db: Database, buyer: dict[str, str], services: Services
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id,
        ApiKeyRequest("slow", ["knowledge:read", "knowledge:write"], rate_limit_per_minute=1),
    )  # fmt: skip
    slow = services.runtime_authorizer.authorize(issued.secret, None, None).to_authorizer()
    answer = loaded.invoke(API, api_event("GET", f"{kb(subscription.id)}/documents", None, slow))
    assert answer["statusCode"] == 200
    headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (
        answer.get("headers") or {}
    )
    assert headers["RateLimit-Policy"].startswith('"key";q=1;w=60'), headers
    for method, path, body in [
        ("GET", f"{kb(subscription.id)}/documents", None),
        ("POST", f"{kb(subscription.id)}/qa", {"pairs": [{"question": "q?", "answer": "a."}]}),
        ("POST", f"{kb(subscription.id)}/urls", {"url": "https://example.com/"}),
        (
            "POST",
            f"{kb(subscription.id)}/documents",
            {"filename": "b.txt", "content_type": "text/plain", "size_bytes": 5},
        ),
    ]:
        status, refused = call(loaded, method, path, slow, body)
        assert (status, refused["error"]) == (429, "rate_limited"), (method, path, refused)


def test_a_file_over_five_gib_is_a_413_like_the_per_file_size(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    new = {"filename": "huge.pdf", "content_type": "application/pdf", "size_bytes": 6_000_000_000}
    status, body = call(loaded, "POST", f"{kb(subscription.id)}/documents", caller(subscription), new)
    assert (status, body["error"]) == (413, "payload_too_large"), body
    assert body["errors"][0]["path"] == "size_bytes" and "5 GiB" in body["errors"][0]["message"]


def test_a_document_keeps_the_real_size_of_its_stored_file_even_when_it_fails(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    uploads = {"empty.md": (1, b""), "big.md": (10, b"# Big\n\n" + b"word " * 300_000)}
    ids = {}
    for name, (declared, data) in uploads.items():
        new = {"filename": name, "content_type": "text/markdown", "size_bytes": declared}
        created = call(loaded, "POST", f"{kb(subscription.id)}/documents", who, new)[1]
        upload(loaded, created, data)  # moto lets any size land; S3 in AWS refuses both
        ids[name] = created["document_id"]
    drain(loaded)
    for name, (_, data) in uploads.items():
        document = call(loaded, "GET", f"{kb(subscription.id)}/documents/{ids[name]}", who)[1]
        assert (document["status"], document["size_bytes"]) == ("failed", len(data)), document
    stats = call(loaded, "GET", kb(subscription.id), who)[1]
    assert stats["size_bytes"] == len(uploads["big.md"][1])


def test_a_declared_type_with_a_charset_is_pinned_on_the_form_as_sent_and_ingested(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    files = {
        "a.md": ("text/markdown; charset=utf-8", b"# Returns\n\nWithin thirty days, always.\n"),
        "b.txt": ("text/plain;charset=UTF-8", "Réembolsos en cinco días.\n".encode()),
    }
    for name, (declared, data) in files.items():
        new = {"filename": name, "content_type": declared, "size_bytes": len(data)}
        status, created = call(loaded, "POST", f"{kb(subscription.id)}/documents", who, new)
        assert status == 201, created
        fields = created["upload"]["fields"]
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert fields["Content-Type"] == declared and {"Content-Type": declared} in policy["conditions"]
        upload(loaded, created, data)
        drain(loaded)
        document = call(loaded, "GET", f"{kb(subscription.id)}/documents/{created['document_id']}", who)[1]
        assert (document["status"], document["content_type"]) == ("indexed", declared), document


def test_inputs_that_would_be_stored_wrong_are_refused_naming_the_field(
    loaded: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    new = {"filename": "a.md", "content_type": "application/pdf", "size_bytes": 37}
    status, body = call(loaded, "POST", f"{kb(subscription.id)}/documents", who, new)
    assert status == 422 and [e["path"] for e in body["errors"]] == ["content_type"], body
    new = {"filename": "../../etc/passwd.md", "content_type": "text/markdown", "size_bytes": 37}
    status, body = call(loaded, "POST", f"{kb(subscription.id)}/documents", who, new)
    assert status == 422 and body["errors"] == [
        {
            "path": "filename",
            "message": "must be a file name, not a path (no / or \\), without control characters",
        }
    ]
    assert call(loaded, "GET", f"{kb(subscription.id)}/documents", who)[1]["items"] == []

    path = f"{kb(subscription.id)}/qa"
    status, body = call(loaded, "POST", path, who, {"csv": "question,answer\nA?,B,C\nD?,E\n"})
    assert status == 422 and body["errors"] == [
        {"path": "csv.line[2]", "message": "has 3 fields; a Q&A row has 2 (question, answer)"}
    ]
    status, body = call(loaded, "POST", path, who, {"csv": "question,answer,notes\nA?,Yes.,x\n"})
    assert status == 422 and body["errors"] == [
        {
            "path": "csv.line[1]",
            "message": "has a column a Q&A file does not take: notes (only question and answer)",
        }
    ]
    status, body = call(loaded, "POST", path, who, {"csv": "question,answer\n"})
    assert status == 422 and body["errors"] == [{"path": "csv", "message": "no Q&A pair given"}]
    status, body = call(loaded, "POST", path, who, {"csv": 'question,answer\n"A?,B\n'})
    assert status == 422 and [e["path"] for e in body["errors"]] == ["csv.line[2]"]
    assert "quoted field is not closed" in body["errors"][0]["message"]
    assert call(loaded, "GET", path, who)[1]["items"] == []
    pair = call(loaded, "POST", path, who, {"pairs": [{"question": "x?", "answer": "y"}]})[1]["items"][0]
    status, body = call(loaded, "PUT", f"{path}/{pair['pair_id']}", who, {"question": "x?", "answer": ""})
    assert status == 422 and body["errors"] == [{"path": "answer", "message": "must not be empty"}]
    status, body = call(loaded, "POST", path, who, {"pairs": [{"question": "\u0000", "answer": "\u0000"}]})
    assert status == 422 and [e["path"] for e in body["errors"]] == ["pairs[0].question", "pairs[0].answer"]
