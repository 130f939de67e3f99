"""The messages of the ingestion queue, kept apart from the services so the worker parses its batch
without loading parsers or models.

Two shapes arrive on the one queue: S3's `ObjectCreated` notifications (`Records`, or S3's `s3:TestEvent`
when the notification is configured), which carry no tenant group, and our own jobs (`kind`), sent with
the tenant as the group so the queue serves tenants fairly (the outbox's fair dispatcher). The worker turns
each S3 record into a `document` job of the object's tenant, so a tenant's 500 uploads wait behind each
other and not in front of another tenant's one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class IngestionMessage(BaseModel):
    """A job (`kind` with `tenant_id` and the document or website source id) or an S3 notification."""

    # Validators are built on first use: each function validates only the messages it consumes.
    model_config = ConfigDict(extra="ignore", defer_build=True)
    kind: Literal["document", "crawl"] | None = None
    tenant_id: str | None = None
    document_id: str | None = None
    url_source_id: str | None = None
    Records: list[dict[str, Any]] | None = None
    Event: str | None = None

    def object_keys(self) -> list[tuple[str, str]]:
        """(bucket, key) of every ObjectCreated record (keys URL-decoded, as S3 encodes them)."""
        from urllib.parse import unquote_plus

        keys = []
        for record in self.Records or []:
            if str(record.get("eventName", "")).startswith("ObjectCreated"):
                s3 = record.get("s3") or {}
                keys.append(
                    (
                        str(s3.get("bucket", {}).get("name", "")),
                        unquote_plus(str(s3.get("object", {}).get("key", ""))),
                    )
                )
        return keys


def document_job(tenant_id: str, document_id: str) -> dict[str, str]:
    """The body of a job that (re)ingests one document."""
    return {"kind": "document", "tenant_id": tenant_id, "document_id": document_id}


def crawl_job(tenant_id: str, url_source_id: str) -> dict[str, str]:
    """The body of a job that crawls one website source."""
    return {"kind": "crawl", "tenant_id": tenant_id, "url_source_id": url_source_id}
