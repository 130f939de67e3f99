"""n8n and Langflow exports into the flow model (every fixture either runs or names the nodes that stop it),
and the step actions that need no network: transform, masking, signatures, storage keys, the SSRF guard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmp.capabilities.models import ProductCapabilities
from cmp.errors import ValidationFailed
from cmp.workflows.actions import Actions, HttpResponse, StepFailed, sign, transform
from cmp.workflows.compiler import check_compiled, compile_definition
from cmp.workflows.definition import parse_definition
from cmp.workflows.http import GuardedFetcher
from cmp.workflows.imports import import_flow
from cmp.workflows.masking import mask
from cmp.workflows.rules import Allowance, check_definition
from tests.subscriptions import capabilities
from tests.unit.flows.conftest import import_fixtures_path

FIXTURES = import_fixtures_path()
EXPORTS = sorted((FIXTURES / "n8n").glob("*.json")) + sorted((FIXTURES / "langflow").glob("*.json"))


def test_the_import_fixtures_are_there() -> None:
    assert EXPORTS, f"no import fixtures under {FIXTURES}: set CMP_SHARED_DIR to the shared folder"


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_either_compiles_or_names_the_nodes_that_stop_it(path: Path) -> None:
    imported = import_flow(path.parent.name, json.loads(path.read_text()))
    names = {str(n.get("name")) for n in imported.definition["nodes"]}
    if imported.problems:
        for problem in imported.problems:
            index = int(problem["path"].removeprefix("nodes[").rstrip("]"))
            name = imported.definition["nodes"][index]["name"]
            assert name in names and f"'{name}'" in problem["message"], problem
        return
    definition = parse_definition(imported.definition)
    allow = Allowance.from_capabilities(
        ProductCapabilities.from_document(capabilities("automation", "scheduled"))
    )
    assert check_definition(definition, allow) == []
    asl = compile_definition(definition, queue_url="q", version_id="v", step_timeout_seconds=60)
    assert check_compiled(asl) == []


N8N_RUNNABLE: dict[str, Any] = {
    "name": "Hourly fetch",
    "nodes": [
        {
            "id": "1",
            "name": "Every hour",
            "type": "n8n-nodes-base.scheduleTrigger",
            "parameters": {"rule": {"interval": [{"field": "hours", "hoursInterval": 1}]}},
        },
        {
            "id": "2",
            "name": "Get orders",
            "type": "n8n-nodes-base.httpRequest",
            "parameters": {"url": "https://api.example.com/orders"},
        },
        {
            "id": "3",
            "name": "Big?",
            "type": "n8n-nodes-base.if",
            "parameters": {
                "conditions": {
                    "combinator": "and",
                    "conditions": [
                        {
                            "leftValue": "={{ $json.count }}",
                            "rightValue": 10,
                            "operator": {"type": "number", "operation": "gt"},
                        }
                    ],
                }
            },
        },
        {
            "id": "4",
            "name": "Mark",
            "type": "n8n-nodes-base.set",
            "parameters": {
                "assignments": {
                    "assignments": [{"name": "first", "value": "={{ $('Get orders').item.json.body }}"}]
                }
            },
        },
        {"id": "5", "name": "Note", "type": "n8n-nodes-base.stickyNote", "parameters": {}},
    ],
    "connections": {
        "Every hour": {"main": [[{"node": "Get orders", "type": "main", "index": 0}]]},
        "Get orders": {"main": [[{"node": "Big?", "type": "main", "index": 0}]]},
        "Big?": {"main": [[{"node": "Mark", "type": "main", "index": 0}], []]},
    },
}


def test_an_n8n_workflow_of_supported_nodes_becomes_a_runnable_definition() -> None:
    imported = import_flow("n8n", N8N_RUNNABLE)
    assert imported.problems == []
    nodes = {n["id"]: n for n in imported.definition["nodes"]}
    assert set(nodes) == {"every_hour", "get_orders", "big", "mark"}
    assert nodes["every_hour"]["config"] == {"interval": "1h"}
    assert nodes["big"]["config"]["condition"] == {
        "left": "{{ steps.get_orders.count }}",
        "operator": "greater",
        "right": 10,
    }
    assert nodes["mark"]["config"]["set"] == {"first": "{{ steps.get_orders.body }}"}
    assert {"source": "big", "target": "mark", "when": "true"} in imported.definition["edges"]
    parse_definition(imported.definition)


def test_transform_in_jmespath_and_jsonpath() -> None:
    view = {"input": {"orders": [{"id": "a", "total": 5}, {"id": "b", "total": 12}]}}
    assert transform({"expression": "input.orders[?total > `10`].id"}, view) == ["b"]
    assert transform({"language": "jsonpath", "expression": "$.input.orders[*].id"}, view) == ["a", "b"]
    assert transform({"set": {"x": 1}}, view) == {"x": 1}
    with pytest.raises(StepFailed) as failed:
        transform({"expression": "input.[[["}, view)
    assert failed.value.error == "Transform.Invalid"


def test_credentials_are_masked_by_key_and_by_shape() -> None:
    masked = mask(
        {
            "auth": {"type": "bearer", "token": "abc"},
            "headers": {"X-Api-Key": "k", "accept": "json"},
            "note": "sk-proj-" + "a" * 30,
        }
    )
    assert masked == {
        "auth": {"type": "bearer", "token": "***"},
        "headers": {"X-Api-Key": "***", "accept": "json"},
        "note": "***",
    }


def test_the_webhook_signature_covers_timestamp_and_body() -> None:
    assert sign("key", b"{}", 1700000000) == sign("key", b"{}", 1700000000)
    assert sign("key", b"{}", 1700000000) != sign("key", b"{}", 1700000001)
    assert sign("key", b"{}", 1700000000).startswith("t=1700000000,v1=")


class _Objects:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.stored[key] = body

    def get(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        return self.stored.get(key)

    def delete(self, bucket: str, key: str) -> None:
        self.stored.pop(key, None)

    def list(self, bucket: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        return [
            {"key": k[len(prefix) :], "size": len(v)} for k, v in self.stored.items() if k.startswith(prefix)
        ]


class _NoFetch:
    def request(self, *args: object) -> HttpResponse:
        raise AssertionError("no request expected")


def test_storage_stays_under_the_tenant_prefix() -> None:
    objects = _Objects()
    actions = Actions(_NoFetch(), objects, lambda: "bucket", None, None, lambda: None)  # type: ignore[arg-type]
    actions.storage({"operation": "write", "key": "out/a.json", "content": {"n": 1}}, "t1")
    assert list(objects.stored) == ["workflows/t1/out/a.json"]
    assert actions.storage({"operation": "read", "key": "out/a.json"}, "t1")["content"] == {"n": 1}
    assert actions.storage({"operation": "list", "key": ""}, "t2") == {"objects": []}
    for key in ("../t2/x", "/etc/passwd"):
        with pytest.raises(StepFailed):
            actions.storage({"operation": "read", "key": key}, "t1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "file:///etc/passwd",
    ],
)
def test_private_addresses_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(StepFailed) as refused:
        GuardedFetcher().request("GET", url, {}, None, 5, 1000)
    assert refused.value.error == "Http.Refused"


def test_a_definition_with_problems_does_not_parse_into_a_runnable_one() -> None:
    imported = import_flow(
        "langflow", json.loads((FIXTURES / "langflow" / "basic-prompting.json").read_text())
    )
    assert imported.problems
    with pytest.raises(ValidationFailed):
        parse_definition(imported.definition)
