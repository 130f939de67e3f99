"""Nothing is lost when a message cannot be sent: the change and its message commit together (the
transactional outbox), and the housekeeping sweep delivers what the in-invocation relay could not. It also
purges expired sessions."""

from __future__ import annotations

from typing import Any

import pytest

from cmp.aws.adapters import AwsUnavailable
from cmp.aws.clients import client
from cmp.bootstrap import Services

from .conftest import Platform, caller_of, unique_email
from .test_catalog import provider, ready_product

HOUSEKEEPING_EVENT = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}


def _age_pending_outbox(owner_conn: Any, tenant_id: str, kind: str) -> int:
    """Make the tenant's unsent messages of one kind (`sqs`, `stepfunctions`) older than the sweep's grace
    period; returns how many there are."""
    cursor = owner_conn.execute(
        "update outbox set created_at = now() - interval '10 minutes'"
        " where tenant_id = %s and kind = %s and sent_at is null",
        (tenant_id, kind),
    )
    return int(cursor.rowcount)


def test_a_submission_survives_a_queue_outage_and_the_outbox_sweep_sends_it(
    platform: Platform, services: Services, owner_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = caller_of(services, "Seller")
    product_id = ready_product(platform, seller, "queue-outage")
    queues = platform.function("ProviderApiFunction").services.queues

    def queue_down(*args: object, **kwargs: object) -> str:
        raise AwsUnavailable("could not enqueue job")

    monkeypatch.setattr(queues, "send", queue_down)
    status, submitted = provider(platform, "POST", f"/{product_id}/submit", seller)
    assert status == 202 and submitted["status"] == "pending_review"
    assert platform.drain("ReviewQueue", "ReviewWorkerFunction") == 0

    assert _age_pending_outbox(owner_conn, seller["tenant_id"], "sqs") == 1
    report = platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)
    assert report["outbox_sent"] >= 1
    assert platform.drain("ReviewQueue", "ReviewWorkerFunction") >= 1
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["reviews"][0]["status"] == "checks_passed"
    platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)
    assert platform.drain("ReviewQueue", "ReviewWorkerFunction") == 0


def test_an_onboarding_whose_start_was_lost_is_started_by_the_outbox_sweep(
    platform: Platform, owner_conn: Any
) -> None:
    auth = platform.function("AuthApiFunction")
    machines = auth.services.machines
    original = machines.start

    def unreachable(*args: object, **kwargs: object) -> str:
        raise AwsUnavailable("could not start state machine")

    machines.start = unreachable
    token = auth.services.tenancy.signup(unique_email("late"), "Correct-Horse-42", "Late Ltd")
    machines.start = original
    claims = auth.services.tenancy.authenticate(token.access_token)
    assert (
        auth.services.profiles.profile(claims.tenant_id, claims.user_id)["onboarding"]["state"] == "pending"
    )
    assert _age_pending_outbox(owner_conn, claims.tenant_id, "stepfunctions") == 1
    assert platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)["outbox_sent"] >= 1
    executions = client("stepfunctions").list_executions(
        stateMachineArn=platform.ref("TenantOnboardingStateMachine")
    )["executions"]
    assert f"onboard-{claims.tenant_id}" in [e["name"] for e in executions]
    assert _age_pending_outbox(owner_conn, claims.tenant_id, "stepfunctions") == 0


def test_messages_sent_long_ago_are_purged(platform: Platform, services: Services, owner_conn: Any) -> None:
    who = caller_of(services, "Purged")
    owner_conn.execute(
        "update outbox set sent_at = now() - interval '30 days' where tenant_id = %s", (who["tenant_id"],)
    )
    assert platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)["outbox_purged"] >= 1
    assert (
        owner_conn.execute(
            "select count(*) from outbox where tenant_id = %s", (who["tenant_id"],)
        ).fetchone()[0]
        == 0
    )


def test_expired_sessions_are_purged(platform: Platform, services: Services, owner_conn: Any) -> None:
    who = caller_of(services, "Sessions")
    owner_conn.execute(
        "update auth_sessions set expires_at = now() - interval '30 days' where id = %s", (who["session_id"],)
    )
    assert platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)["sessions_purged"] >= 1
    assert (
        owner_conn.execute(
            "select count(*) from auth_sessions where id = %s", (who["session_id"],)
        ).fetchone()[0]
        == 0
    )
