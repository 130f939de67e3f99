"""The plan's storage quota through the real knowledge handler and PostgreSQL: a document upload that would
hold more bytes than the plan's `storageMB` is refused with the quota error naming the quota, the bytes used,
the limit and that it frees by deleting (storage has no period reset); deleting a document frees it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.commerce.model import Subscription
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.gateway.model import MIB
from cmp.tenancy.credentials import SCOPES
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, api_event, caller_of

pytestmark = pytest.mark.integration
API = "KnowledgeApiFunction"
KNOWLEDGE = {
    "knowledge": {"enabled": True, "sources": {"documents": True}},
    "rag": {
        "enabled": True,
        "sources": {"documents": True},
        "detail": {"sources": {"documents": {"formats": ["pdf", "txt"], "maxFileSize": 1}}},
    },
}
PLAN = {
    "id": "plan_small",
    "name": "Small",
    "tier": "starter",
    "limits": {"rateLimitRpm": 60, "storageMB": 2},
}


def _who(subscription: Subscription) -> dict[str, str]:
    return RuntimeContext(
        "portal",
        subscription.tenant_id,
        subscription.id,
        subscription.product_id,
        subscription.plan_id,
        "shared",
        None,
        tuple(SCOPES),
        user_id=uuid.uuid4(),
    ).to_authorizer()


def _post(platform: Platform, subscription: Subscription, size: int) -> tuple[int, Any, dict[str, str]]:
    body = {"filename": "manual.pdf", "content_type": "application/pdf", "size_bytes": size}
    path = f"/v1/subscriptions/{subscription.id}/knowledge/documents"
    response = platform.invoke(API, api_event("POST", path, body, _who(subscription)))
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


def test_an_upload_over_the_plans_storage_is_refused_naming_quota_use_limit_and_reset(
    platform: Platform, db: Database, services: Services
) -> None:
    buyer = caller_of(services, "Storage Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE), plan=PLAN)
    first = _post(platform, subscription, MIB)
    second = _post(platform, subscription, MIB // 2)
    assert (first[0], second[0]) == (201, 201)

    status, body, headers = _post(platform, subscription, MIB // 2 + 1)
    used, limit = MIB + MIB // 2, 2 * MIB
    assert status == 429 and body["error"] == "quota_exceeded"
    assert body["errors"] == [
        {"path": "quota.storage", "message": f"used {used} of {limit}; frees as stored files are deleted"}
    ]
    assert f"{used:,} of {limit:,}" in body["message"] and "Retry-After" not in headers
    assert _post(platform, subscription, MIB // 2)[0] == 201  # exactly the limit is allowed

    document = first[1]["document_id"]
    path = f"/v1/subscriptions/{subscription.id}/knowledge/documents/{document}"
    assert platform.invoke(API, api_event("DELETE", path, None, _who(subscription)))["statusCode"] == 204
    assert _post(platform, subscription, MIB)[0] == 201  # the deleted file's bytes are free again


def test_a_plan_without_a_storage_limit_leaves_the_products_limits_in_charge(
    platform: Platform, db: Database, services: Services
) -> None:
    buyer = caller_of(services, "Unlimited Buyer", "buyer")
    unlimited = {**PLAN, "limits": {"rateLimitRpm": 60}}
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE), plan=unlimited)
    assert [_post(platform, subscription, MIB)[0] for _ in range(3)] == [201, 201, 201]
