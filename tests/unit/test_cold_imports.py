"""Cold-start guard: the third-party packages each handler module imports when Lambda loads it.

A function's cold start is dominated by what its module imports (docs/performance.md, `bench/cold_start.py`
measures it). This test keeps the load-time import set of every function to an allow-list, so a new heavy
import in a hot function fails CI with its name, without timing anything. A package a function needs only on
some requests belongs behind a function-level import (imported on first use).

The check runs each handler import in a fresh interpreter with networking never touched: importing a handler
must not connect anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What every function may load: Powertools' logger and metrics (jmespath and typing_extensions come with
# them), the cmp package, and botocore's exception classes that the AWS adapters catch (~5 ms; the clients,
# boto3 and the X-Ray SDK load on first use).
COMMON = {"aws_lambda_powertools", "cmp", "typing_extensions", "jmespath", "botocore"}
PYDANTIC = {"pydantic", "pydantic_core", "annotated_types", "typing_inspection"}
# Per function, on top of COMMON. Keep these minimal: each entry is paid on every cold start. Heavy packages
# that no handler may load at import: boto3, psycopg, aws_xray_sdk, jwt/cryptography, argon2, yaml.
ALLOWED: dict[str, set[str]] = {
    "authorizer": set(),
    "runtime_authorizer": set(),
    "housekeeping": set(),
    "billing": set(),
    "usage_rollup": set(),
    "admin_api": PYDANTIC,
    "auth_api": PYDANTIC,
    "capabilities_api": PYDANTIC,
    "commerce_api": PYDANTIC,
    "payments_webhook": PYDANTIC,
    "marketplace_api": PYDANTIC,
    "integration_api": PYDANTIC,
    "provider_api": PYDANTIC,
    "ratings_api": PYDANTIC,
    "runtime_api": PYDANTIC,
    "agent_api": PYDANTIC,
    "mcp_api": PYDANTIC,  # the mcp package (Starlette, httpx2, jsonschema) is imported on the first MCP call
    "widget_script": PYDANTIC,
    "onboarding_worker": PYDANTIC,
    "review_worker": PYDANTIC,
    "runtime_provisioning_worker": PYDANTIC,
    "workflows_api": PYDANTIC,
    "workflow_step_worker": PYDANTIC,
    "workflow_hooks": PYDANTIC,
    "knowledge_api": PYDANTIC,
    "ingestion_worker": PYDANTIC,
    "knowledge_refresh": set(),
}

PROBE = """
import json, sys
sys.path.insert(0, {shared!r}); sys.path.insert(0, {folder!r})
before = set(sys.modules)
import app
print(json.dumps(sorted({{m.split('.')[0] for m in set(sys.modules) - before}})))
"""


def loaded_packages(folder: Path) -> set[str]:
    code = PROBE.format(shared=str(REPO / "shared"), folder=str(folder))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    names = json.loads(out.stdout.strip().splitlines()[-1])
    return {n for n in names if not n.startswith("_") and n not in sys.stdlib_module_names and n != "app"}


FUNCTIONS = sorted(p.name for p in (REPO / "functions").iterdir() if (p / "app.py").exists())


def test_every_function_has_an_allow_list() -> None:
    assert sorted(ALLOWED) == FUNCTIONS


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_loads_only_allowed_packages(function: str) -> None:
    extra = loaded_packages(REPO / "functions" / function) - COMMON - ALLOWED.get(function, set())
    assert not extra, (
        f"{function} now imports {sorted(extra)} when Lambda loads it; import them where they are used "
        "(first use), or add them to ALLOWED in this test with the measured cost in docs/performance.md"
    )


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The guard itself: a handler that imports boto3 at load time is caught, by name."""
    (tmp_path / "app.py").write_text("import boto3\n")
    assert "boto3" in loaded_packages(tmp_path) - COMMON
