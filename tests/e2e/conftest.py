"""End-to-end fixtures: the whole local stack (embedded PostgreSQL, moto server, the runner serving every
function over HTTP), started once per session in .local/e2e."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
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


READY = "Press Ctrl-C to stop every process this started."


class CmpDevProcess:
    """`cmp dev --port 0` on its own data folder, in its own process group, read until its banner is printed.

    `ignore_sigint` starts it as a shell starts a background job (SIGINT ignored); otherwise as a terminal's
    foreground job. `output` is everything it printed so far."""

    def __init__(self, local_dir: Path, *, ignore_sigint: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DATABASE_URL")}
        env["CMP_LOCAL_DIR"] = str(local_dir)
        disposition = signal.SIG_IGN if ignore_sigint else signal.SIG_DFL
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "cmp"), "dev", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 180
        while READY not in self.output:
            assert self.process.poll() is None, f"cmp dev exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"cmp dev did not start:\n{self.output}"
            time.sleep(0.2)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait(self) -> int:
        """Its exit code, once it and the thread reading its output are done."""
        code = self.process.wait(90)
        self._reader.join(10)
        return code
