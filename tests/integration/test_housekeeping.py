"""Nothing is lost when a start message cannot be sent: housekeeping restarts onboardings and reviews
whose first message never went out, and purges expired sessions."""

from __future__ import annotations

from typing import Any

import pytest

from cmp.aws.adapters import AwsUnavailable
from cmp.aws.clients import client
from cmp.bootstrap import Services

from .conftest import Platform, caller_of, unique_email
from .test_catalog import provider, ready_product

HOUSEKEEPING_EVENT = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}


def test_a_submission_survives_a_queue_outage_and_housekeeping_sends_it_again(
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

    owner_conn.execute(
        "update product_review_runs set updated_at = now() - interval '10 minutes' where id = %s",
        (submitted["review_run_id"],),
    )
    report = platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)
    assert report["reviews_requeued"] >= 1
    assert platform.drain("ReviewQueue", "ReviewWorkerFunction") >= 1
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["reviews"][0]["status"] == "checks_passed"
    assert platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)["reviews_requeued"] == 0


def test_an_onboarding_that_never_started_is_started_by_housekeeping(
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
    assert auth.services.tenancy.profile(claims.tenant_id, claims.user_id)["onboarding"]["state"] == "pending"
    owner_conn.execute(
        "update tenants set created_at = now() - interval '10 minutes' where id = %s", (claims.tenant_id,)
    )
    assert platform.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)["onboardings_resumed"] >= 1
    executions = client("stepfunctions").list_executions(
        stateMachineArn=platform.ref("TenantOnboardingStateMachine")
    )["executions"]
    assert f"onboard-{claims.tenant_id}" in [e["name"] for e in executions]


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
