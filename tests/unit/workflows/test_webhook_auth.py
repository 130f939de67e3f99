"""Webhook deliveries refused for authentication name the header and the reason (defect report #9): a
missing, malformed, stale or wrong `X-CMP-Signature`, a missing or wrong `X-API-Key` / Basic password."""

from __future__ import annotations

import base64
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from cmp.errors import Unauthorized
from cmp.gateway.services import Admission
from cmp.workflows.actions import sign
from cmp.workflows.hooks import WebhookDeliveries, signing_key

SECRET = "platform-hook-secret"
HOOK = "wh_" + "a" * 24
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
BODY = b'{"order": "A-7"}'


@dataclass
class Workflow:
    trigger_config: dict[str, Any]
    trigger_type: str = "webhook"
    status: str = "active"
    subscription_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Subscription:
    id: uuid.UUID
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    product_id: uuid.UUID = field(default_factory=uuid.uuid4)
    plan_id: str = "pro"
    runtime_type: str = "shared"


class Subscriptions:
    def get(self, subscription_id: uuid.UUID) -> Subscription:
        return Subscription(subscription_id)


def admit(ctx: Any, metric: str = "api_calls", cost: int = 1) -> Admission:
    return Admission({})


class Workflows:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow, self.tenant, self.id = workflow, uuid.uuid4(), uuid.uuid4()

    def hook(self, webhook_id: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        return (self.tenant, self.id) if webhook_id == HOOK else None

    def get(self, workflow_id: uuid.UUID) -> Workflow:
        return self.workflow

    def active_trigger(self, workflow: Workflow) -> tuple[str, dict[str, Any]]:
        return workflow.trigger_type, workflow.trigger_config


class Runs:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    def start(self, tenant_id: Any, workflow_id: Any, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.started.append(payload)
        return {"run_id": str(uuid.uuid4())}


def deliveries(auth: str) -> tuple[WebhookDeliveries, Runs]:
    workflows, runs = Workflows(Workflow({"auth": auth})), Runs()

    @contextmanager
    def uow(tenant_id: Any) -> Any:
        yield type(
            "Uow",
            (),
            {"workflows": workflows, "subscriptions": Subscriptions(), "set_tenant": lambda self, t: None},
        )()

    clock = type("Clock", (), {"now": staticmethod(lambda: NOW)})()
    return WebhookDeliveries(uow, runs, lambda: SECRET, clock, admit), runs  # type: ignore[arg-type]


def refusal(hooks: WebhookDeliveries, headers: dict[str, str]) -> Unauthorized:
    with pytest.raises(Unauthorized) as raised:
        hooks.deliver(HOOK, headers, BODY)
    return raised.value


def test_a_signature_refusal_says_whether_it_is_stale_or_wrong() -> None:
    hooks, runs = deliveries("signature")
    key, now = signing_key(SECRET, HOOK), int(NOW.timestamp())
    stale = refusal(hooks, {"X-CMP-Signature": sign(key, BODY, now - 412)})
    assert "412 s old" in stale.message and "300 s (5 minutes)" in stale.message
    assert [e.path for e in stale.errors] == ["X-CMP-Signature"]
    early = refusal(hooks, {"X-CMP-Signature": sign(key, BODY, now + 301)})
    assert "301 s in the future" in early.message
    wrong = refusal(hooks, {"X-CMP-Signature": sign("not-the-key", BODY, now)})
    assert "signature does not match" in wrong.message and "old" not in wrong.message
    assert "malformed" in refusal(hooks, {"X-CMP-Signature": "v1=abc"}).message
    missing = refusal(hooks, {})
    assert "needs signature authentication" in missing.message and "X-CMP-Signature" in missing.message
    assert not runs.started
    hooks.deliver(HOOK, {"X-CMP-Signature": sign(key, BODY, now - 299)}, BODY)
    assert runs.started == [{"order": "A-7"}]


def test_a_signature_in_upper_case_hex_is_the_same_signature() -> None:
    hooks, runs = deliveries("signature")
    key, now = signing_key(SECRET, HOOK), int(NOW.timestamp())
    t, _, digest = sign(key, BODY, now).partition(",v1=")
    hooks.deliver(HOOK, {"X-CMP-Signature": f"{t},v1={digest.upper()}"}, BODY)
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(digest))
    hooks.deliver(HOOK, {"X-CMP-Signature": f"{t},v1={mixed}"}, BODY)
    assert runs.started == [{"order": "A-7"}] * 2
    wrong = sign("not-the-key", BODY, now).partition(",v1=")[2].upper()
    refused = refusal(hooks, {"X-CMP-Signature": f"{t},v1={wrong}"})
    assert [e.message for e in refused.errors] == ["signature does not match the body"]
    assert "malformed" in refusal(hooks, {"X-CMP-Signature": f"{t},v1={'G' * 64}"}).message


def test_key_and_basic_refusals_name_the_header_and_whether_it_was_sent() -> None:
    hooks, runs = deliveries("api_key")
    assert "needs the X-API-Key header" in refusal(hooks, {}).message
    assert "X-API-Key header does not match" in refusal(hooks, {"X-API-Key": "nope"}).message
    hooks.deliver(HOOK, {"X-API-Key": signing_key(SECRET, HOOK)}, BODY)
    basic, _ = deliveries("basic")
    assert "needs the Authorization header" in refusal(basic, {}).message
    assert "Authorization header does not match" in refusal(basic, {"Authorization": "Basic eDp5"}).message
    good = "Basic " + base64.b64encode(f"cmp:{signing_key(SECRET, HOOK)}".encode()).decode()
    basic.deliver(HOOK, {"Authorization": good}, BODY)
    assert len(runs.started) == 1
