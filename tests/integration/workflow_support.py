"""Workflows in integration tests: an automation subscription, services wired to a moto steps queue, and a
driver that plays the step worker's part until a run's execution ends (what the local runner does)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.commerce.model import Subscription
from cmp.db import Database
from tests.subscriptions import capabilities, subscribe

from .commerce_support import portal_context

portal_runtime = portal_context
"""The runtime authorizer's context of the buyer of a subscription signed in to the portal, as the workflow
routes receive it (`commerce_support.portal_context`)."""

ROLE_ARN = "arn:aws:iam::123456789012:role/cmp-workflows"


def automation(db: Database, tenant_id: str, **overrides: Any) -> Subscription:
    """An active subscription of `tenant_id` to an automation built from the category's defaults."""
    subscription = subscribe(
        db, tenant_id, capabilities("automation", "scheduled", **overrides), slug="crm-sync"
    )
    with db.session(tenant_id) as session:
        session.execute("update subscriptions set category = 'automation' where id = %s", (subscription.id,))
    return subscription


def with_workflow_engine(services: Services, bucket: str | None = None) -> tuple[Services, str]:
    """`services` whose workflows send their steps to a new moto queue (and seal their secrets with a new
    moto KMS key); returns (services, queue url)."""
    queue_url = client("sqs").create_queue(QueueName=f"steps-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    key = client("kms").create_key(Description="workflow secrets")["KeyMetadata"]["Arn"]
    if bucket is not None:
        client("s3").create_bucket(Bucket=bucket)
    settings = replace(
        services.settings,
        workflow_steps_queue_url=queue_url,
        workflow_execution_role_arn=ROLE_ARN,
        workflow_bucket=bucket or "",
        workflow_http_allowed_hosts="127.0.0.1",
        workflow_secrets_key_id=key,
    )
    return Services(settings=settings, db=services.db, hasher=services.hasher), queue_url


def drive(
    services: Services, queue_url: str, tenant_id: str, run_id: str, timeout: float = 60
) -> dict[str, Any]:
    """Deliver the run's callback messages to the step worker until the run has finished; returns the run's
    detail. Fails the test after `timeout` seconds."""
    sqs = client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            services.step_worker.handle(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        detail = services.workflow_runs.detail(tenant_id, uuid.UUID(run_id))
        if detail["status"] in ("succeeded", "failed", "cancelled"):
            return detail
        if not messages:
            time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish within {timeout}s")
