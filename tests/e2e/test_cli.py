"""The `cmp` command against a running stack: migrate, seed, invoke, admin create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from cmp_dev.local.dev import Stack

from .conftest import PASSWORD, REPO


def cmp(stack: Stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in stack.combined_environment()}
    env["CMP_LOCAL_DIR"] = str(stack.local_dir)
    command = Path(sys.executable).parent / "cmp"
    return subprocess.run(
        [str(command), *args], cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_migrate_is_idempotent(stack: Stack) -> None:
    result = cmp(stack, "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is up to date"


def test_invoke_runs_one_function_with_an_event_file(stack: Stack) -> None:
    result = cmp(stack, "invoke", "HousekeepingFunction", "events/housekeeping.json")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {
        "outbox_sent",
        "outbox_failed",
        "outbox_purged",
        "sessions_purged",
        "knowledge_uploads_expired",
        "knowledge_uploads_requeued",
    }
    unknown = cmp(stack, "invoke", "NoSuchFunction", "events/housekeeping.json")
    assert unknown.returncode == 2 and "unknown function" in unknown.stderr


def test_admin_create_makes_a_platform_admin_who_can_review(stack: Stack, api: httpx.Client) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    result = cmp(stack, "admin", "create", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    token = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    reviews = api.get("/v1/admin/reviews", headers={"Authorization": f"Bearer {token}"})
    assert reviews.status_code == 200
    again = cmp(stack, "admin", "create", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "already" in again.stderr


def test_seed_twice_creates_nothing_new(stack: Stack) -> None:
    first, second = cmp(stack, "seed"), cmp(stack, "seed")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    before, after = json.loads(first.stdout), json.loads(second.stdout)
    # The demo agent's API key is issued anew on every seed (its secret is never stored) and its seconds
    # are a timing; everything else, the demo documents included, is what the first seed made.
    key_before, key_after = before["demo_agent"].pop("api_key"), after["demo_agent"].pop("api_key")
    assert key_before != key_after
    before["demo_agent"].pop("seconds"), after["demo_agent"].pop("seconds")
    assert before == after
