"""End-to-end fixtures: the whole local stack (embedded PostgreSQL, moto server, the runner serving every
function over HTTP), started once per session in .local/e2e."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmp_dev.local.dev import Stack, start_stack

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Correct-Horse-42"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """A fresh stack: the e2e data folder is recreated so every run starts from an empty database."""
    local = REPO / ".local" / "e2e"
    shutil.rmtree(local, ignore_errors=True)
    started = start_stack(REPO, local)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.runner.base_url, timeout=30) as client:
        yield client


class Account:
    def __init__(self, api: httpx.Client, token: str) -> None:
        self.api = api
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.me: dict[str, Any] = api.get("/v1/me", headers=self.headers).json()

    @property
    def tenant_id(self) -> str:
        return str(self.me["organization"]["id"])

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.post(path, headers=self.headers, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.put(path, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.delete(path, headers=self.headers, **kwargs)


def sign_up(api: httpx.Client, organization: str = "E2E Org", account_type: str = "both") -> Account:
    response = api.post(
        "/v1/auth/signup",
        json={
            "email": f"e2e-{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
            "organization_name": organization,
            "account_type": account_type,
        },
    )
    assert response.status_code == 201, response.text
    return Account(api, response.json()["access_token"])


def eventually(check: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    """Poll until `check` returns something truthy (work done by the runner's pollers is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last result: {result!r}")
        time.sleep(interval)


@pytest.fixture
def seller(api: httpx.Client) -> Account:
    return sign_up(api, "Seller Co", "seller")


@pytest.fixture
def buyer(api: httpx.Client) -> Account:
    return sign_up(api, "Buyer Co", "buyer")


@pytest.fixture(scope="session")
def stack_services(stack: Stack) -> Iterator[Any]:
    """Services in this process, configured like the stack's functions (for seeding); the environment is
    restored when the session ends."""
    from cmp.aws.clients import client
    from cmp.bootstrap import bootstrap

    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.combined_environment().items():
            patch.setenv(key, value)
        client.cache_clear()
        yield bootstrap()
    client.cache_clear()


@pytest.fixture(scope="session")
def seeded(stack_services: Any) -> dict[str, Any]:
    from cmp_dev.seed import seed

    result: dict[str, Any] = seed(stack_services)
    return result
