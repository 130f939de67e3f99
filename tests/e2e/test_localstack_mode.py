"""`CMP_AWS=localstack`: the stack starts no moto, provisions the template on the LocalStack edge that
`LOCALSTACK_HOST` names, and every client (the stack's, the runner's pollers', each function's) comes from
localstack-client.

LocalStack needs Docker, which this machine lacks, so a moto server stands in for it on a free port named by
`LOCALSTACK_HOST`. This proves the configuration path (where every client points, what is provisioned, that
provisioning runs again against an endpoint that outlives the stack), not LocalStack's own behaviour:
docs/decisions.md says what LocalStack itself covers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from cmp.aws.clients import new_client
from cmp_dev.local.dev import Stack, start_stack
from cmp_dev.local.stack import LOCAL_KEYS, REGION, LocalStack, Moto, free_port
from cmp_dev.seed import LOGO_PNG

from .conftest import PASSWORD, REPO, eventually, sign_up

LOCAL = REPO / ".local" / "e2e-localstack"


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    """A moto server standing in for LocalStack, and the environment of `CMP_AWS=localstack make run`."""
    server = Moto.start(log_path=None)
    monkeypatch.setenv("CMP_AWS", "localstack")
    monkeypatch.setenv("LOCALSTACK_HOST", urlsplit(server.endpoint).netloc)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # localstack-client would prefer it
    shutil.rmtree(LOCAL, ignore_errors=True)
    yield server
    server.stop()


def _aws(service: str) -> object:
    """A client as the stack builds them (through localstack-client, given the fixture's environment)."""
    return new_client(service, region=REGION, credentials=LOCAL_KEYS)


def test_the_stack_runs_on_the_localstack_edge_and_provisions_it_again(edge: Moto) -> None:
    stack = start_stack(REPO, LOCAL)
    try:
        assert isinstance(stack.aws, LocalStack) and stack.aws.endpoint == edge.endpoint
        for function in stack.template.functions:
            env = stack.environment(function)
            assert env["CMP_AWS"] == "localstack" and env["LOCALSTACK_HOST"] == urlsplit(edge.endpoint).netloc
            assert "AWS_ENDPOINT_URL" not in env, function
        _assert_provisioned(stack)
        email = _journey(stack)
    finally:
        stack.stop()
    assert edge.failure() is None, "the stack leaves LocalStack running"

    again = start_stack(REPO, LOCAL)  # the resources exist already: provisioning updates them
    try:
        assert again.resolver.physical == stack.resolver.physical
        with httpx.Client(base_url=again.runner.base_url, timeout=30) as api:
            login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
    finally:
        again.stop()


def test_the_stack_says_how_to_start_localstack_when_none_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CMP_AWS", "localstack")
    monkeypatch.setenv("LOCALSTACK_HOST", f"127.0.0.1:{port}")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(
        RuntimeError, match=rf"LocalStack does not answer at http://127.0.0.1:{port} .*localstack start"
    ):
        LocalStack.connect(wait_seconds=0.5)


def _assert_provisioned(stack: Stack) -> None:
    sqs, sfn, scheduler, s3 = (_aws(s) for s in ("sqs", "stepfunctions", "scheduler", "s3"))
    queues = {url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"]}  # type: ignore[attr-defined]
    assert queues >= {f"cmp-local-{q}" for q in stack.template.queues}
    machines = {m["name"] for m in sfn.list_state_machines()["stateMachines"]}  # type: ignore[attr-defined]
    assert machines == {f"cmp-local-{m}" for m in stack.template.state_machines}
    schedules = {s["Name"] for s in scheduler.list_schedules()["Schedules"]}  # type: ignore[attr-defined]
    assert schedules == {s.name for s in stack.template.schedules}
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}  # type: ignore[attr-defined]
    assert buckets >= {f"cmp-local-{b.lower()}" for b in stack.template.buckets}


def _journey(stack: Stack) -> str:
    """Sign-up and onboarding (Step Functions and the SQS callback worker), a seller's product with a logo
    uploaded to a path-style presigned POST, and a public call. Returns the account's e-mail."""
    with httpx.Client(base_url=stack.runner.base_url, timeout=30) as api:
        account = sign_up(api, "LocalStack Labs")
        onboarded = eventually(lambda: account.get("/v1/me").json()["onboarding"]["state"] == "completed")
        assert onboarded
        product = account.post("/v1/provider/products", json={"category": "agent", "subcategory": "single"})
        assert product.status_code == 201, product.text
        base = f"/v1/provider/products/{product.json()['id']}"
        upload = account.post(
            f"{base}/assets", json={"kind": "logo", "content_type": "image/png", "size_bytes": len(LOGO_PNG)}
        ).json()
        bucket = stack.resolver.physical["AssetsBucket"]["Ref"]
        assert upload["upload"]["url"] == f"{stack.aws.endpoint}/{bucket}", "path-style, on the edge"
        stored = httpx.post(
            upload["upload"]["url"],
            data=upload["upload"]["fields"],
            files={"file": ("logo.png", LOGO_PNG, "image/png")},
        )
        assert stored.status_code in (200, 201, 204), stored.text
        assert account.post(f"{base}/assets/{upload['asset_id']}/complete").status_code == 200
        assert api.get("/v1/marketplace/categories").status_code == 200
        return str(account.me["user"]["email"])
