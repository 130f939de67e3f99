"""`make run` keeps its data: stop every process, start again, and what was created is still there."""

from __future__ import annotations

import shutil

import httpx

from cmp_dev.local.dev import start_stack

from .conftest import PASSWORD, REPO, sign_up


def test_data_survives_a_full_restart() -> None:
    local = REPO / ".local" / "e2e-restart"
    shutil.rmtree(local, ignore_errors=True)
    first = start_stack(REPO, local)
    try:
        with httpx.Client(base_url=first.runner.base_url, timeout=30) as api:
            account = sign_up(api, "Persistent Ltd")
            email = account.me["user"]["email"]
            product = account.post(
                "/v1/provider/products", json={"category": "automation", "subcategory": "workflow"}
            ).json()
    finally:
        first.stop()
    assert first.moto.process is not None and first.moto.process.poll() is not None
    second = start_stack(REPO, local)
    try:
        with httpx.Client(base_url=second.runner.base_url, timeout=30) as api:
            login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            kept = api.get(f"/v1/provider/products/{product['id']}", headers=headers)
            assert kept.status_code == 200 and kept.json()["category"] == "automation"
            old_token = api.get("/v1/me", headers=account.headers)
            assert old_token.status_code == 200, "the signing key is kept across restarts"
    finally:
        second.stop()
