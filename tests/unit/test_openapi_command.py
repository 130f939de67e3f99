"""`cmp openapi` merges every API function's routes into one OpenAPI 3.1 document, and each operation
is reachable through a template route with the right authorizer setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmp_dev.cli import main
from cmp_dev.local.events import route_pattern
from cmp_dev.local.template import read_template

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("openapi") / "openapi.json"
    assert main(["openapi", "-o", str(out)]) == 0
    loaded: dict[str, object] = json.loads(out.read_text())
    return loaded


def test_every_api_function_contributes_its_routes(document: dict[str, object]) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    for expected in (
        "/v1/auth/signup",
        "/v1/me",
        "/v1/marketplace/categories",
        "/v1/capabilities/validate",
        "/v1/provider/products/{product_id}/plans",
        "/v1/admin/products/{product_id}/approve",
    ):
        assert expected in paths, expected
    assert document["openapi"] == "3.1.0"


def test_every_operation_has_a_template_route_and_the_right_security(document: dict[str, object]) -> None:
    template = read_template(REPO / "template.yaml")
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            routes = [
                r
                for r in template.routes
                if r.method in (method.upper(), "ANY") and route_pattern(r.path).match(path)
            ]
            assert routes, f"{method.upper()} {path} is not reachable through any template route"
            public = path.startswith(
                (
                    "/v1/marketplace",
                    "/v1/capabilities",
                    "/v1/auth/signup",
                    "/v1/auth/login",
                    "/v1/payments/webhooks",
                    "/v1/hooks/",
                    "/v1/widget/chat.js",
                )
            )
            assert ("security" not in operation) == public, f"{method.upper()} {path}"
