"""The served OpenAPI document is the contract: schemathesis fuzzes every operation against the running stack
as a seller, a buyer and an anonymous caller, with the checks that hold a response to the document (no
server errors, only declared status codes and content types, bodies matching their schemas, schema-violating
requests refused). Bounded to a few examples per operation so the run stays around a minute.

Every operation runs in every role, also stripped of its credentials (the 401 then comes from the
authorizer, as API Gateway's gateway response in the platform's error shape), and with unexpected HTTP
methods (`TRACE`, …: a 405 with `Allow` from the runner). Left out, with its reason:
- `POST /v1/auth/logout` in the signed-in runs: it ends the session the rest of the run signs in with.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.subscriptions import subscribe

from .conftest import sign_up

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
)
EXAMPLES_PER_OPERATION = 10
CONFIG = """
[auth]
auto-signup = false
"""


def fuzz(
    api: httpx.Client, tmp_path: Path, *extra: str, config_extra: str = ""
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG + config_extra)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        str(api.base_url.join("/openapi.json")),
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--continue-on-failure",
        "--workers",
        "1",  # CPython 3.11's ast module is not thread-safe; hypothesis parses lambdas in workers
        "--seed",
        "20261129",
        "--request-timeout",
        "30",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    failures = result.stdout.partition("= FAILURES =")[2].partition("= WARNINGS =")[0]
    report = failures[:8000] + result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "failure" not in result.stdout.split("SUMMARY")[-1], report


def test_the_api_keeps_its_openapi_contract_for_sellers(api: httpx.Client, tmp_path: Path) -> None:
    seller = sign_up(api, "Fuzz Seller", "seller")
    created = seller.post("/v1/provider/products", json={"category": "agent", "subcategory": "single"})
    assert created.status_code == 201, created.text
    assert_clean(
        fuzz(
            api,
            tmp_path,
            "--header",
            f"Authorization: Bearer {seller.token}",
            "--exclude-path",
            "/v1/auth/logout",
            # The seller's own draft, so the wizard's routes run on a real product, not only into 404s.
            config_extra=f'\n[parameters]\n"path.product_id" = "{created.json()["id"]}"\n',
        )
    )


def test_the_api_keeps_its_openapi_contract_for_buyers(
    api: httpx.Client, stack_services: Any, tmp_path: Path
) -> None:
    buyer = sign_up(api, "Fuzz Buyer", "buyer")
    # A subscription of the buyer's own (written directly until checkout exists), so the subscription's
    # routes run on a real one, not only into 404s.
    subscription = subscribe(stack_services.db, buyer.tenant_id)
    assert_clean(
        fuzz(
            api,
            tmp_path,
            "--header",
            f"Authorization: Bearer {buyer.token}",
            "--exclude-path",
            "/v1/auth/logout",
            config_extra=f'\n[parameters]\n"path.subscription_id" = "{subscription.id}"\n',
        )
    )


def test_the_public_api_keeps_its_openapi_contract_for_anonymous_callers(
    api: httpx.Client, tmp_path: Path
) -> None:
    assert_clean(fuzz(api, tmp_path))
