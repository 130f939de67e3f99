"""docs/imports.md quotes the real texts: every error body and every warning it shows is produced as written.

Each quoted example is matched against what `import_flow` really says for a file that causes it, so
the page cannot drift from the code again (issue 7: the quoted error texts differed from the real ones).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from cmp.errors import DomainError
from cmp.flows import import_flow
from cmp.flows.proposal import valid_proposal
from tests.unit.flows.conftest import REPO

pytestmark = pytest.mark.unit

DOC = (REPO / "docs" / "imports.md").read_text(encoding="utf-8")
BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["tools: *i"]
)
TWO_WORKFLOWS = json.dumps(
    [{"name": name, "nodes": [], "connections": {}} for name in ("Daily digest", "Weekly report")]
)

ERROR_CAUSES: list[tuple[object, dict[str, Any]]] = [
    ('{\n  "name": "x",\n  nodes: []\n}', {}),
    (json.dumps({"nodes": "oops", "connections": {}}), {}),
    (json.dumps({"hello": "world"}), {}),
    ("{}", {"source_format": "zapier"}),
    (BILLION_LAUGHS, {"filename": "bomb.yaml"}),
    (TWO_WORKFLOWS, {}),
    (TWO_WORKFLOWS, {"flow_name": "Monthly"}),
    (b" " * 6_291_456, {}),
]


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def real_error(content: object, options: dict[str, Any]) -> dict[str, object]:
    with pytest.raises(DomainError) as caught:
        import_flow(content, **options)  # type: ignore[arg-type]
    return caught.value.to_dict()


def test_every_error_body_the_page_shows_is_the_real_one() -> None:
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section("Errors"), re.S)]
    real = [real_error(content, options) for content, options in ERROR_CAUSES]
    assert shown == real


def langflow_with_unknown_eighth_node() -> object:
    nodes = [{"id": f"ChatInput-n{i:04d}", "data": {"type": "ChatInput"}} for i in range(7)]
    nodes.append({"id": "CustomFooNode-zzzzz", "data": {"type": "CustomFooNode"}})
    return {"name": "F", "last_tested_version": "1.4.1", "data": {"nodes": nodes, "edges": []}}


def n8n(*node_types: str, connections: object = None, name: str | None = "W") -> object:
    nodes = [
        {"id": str(index), "name": "Start" if index == 0 else f"N{index}", "type": f"n8n-nodes-base.{t}"}
        for index, t in enumerate(node_types)
    ]
    document: dict[str, Any] = {"nodes": nodes, "connections": connections or {}}
    if name is not None:
        document["name"] = name
    return document


SECRET_ARGS = ["-y", "@acme/mcp", "--api-key", "sk-proj-" + "a" * 36]

WARNING_CAUSES: list[tuple[object, dict[str, Any]]] = [
    (langflow_with_unknown_eighth_node(), {}),
    (n8n("manualTrigger", "set", "set", "code"), {}),
    (n8n("cron", "set"), {}),
    (n8n("manualTrigger", connections={"Start": {"main": [[{"node": "Ghost"}]]}}), {}),
    (
        {
            "name": "F",
            "last_tested_version": "1.4.1",
            "data": {"nodes": [{"id": "ChatInput-a", "data": {"type": "ChatInput"}}]},
        },
        {},
    ),
    (n8n("manualTrigger", name=None), {"filename": "daily-digest.json"}),
    (
        {
            "openapi": "3.0.3",
            "info": {"title": "I"},
            "paths": {"/invoices/{id}": {"get": {}}, "/a": {"get": {"$ref": "ops/a.yml"}}},
            "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        },
        {},
    ),
    (
        {
            "swagger": "2.0",
            "info": {"title": "P"},
            "host": "petstore.example.com",
            "basePath": "/v2",
            "paths": {},
        },
        {},
    ),
    ({"name": "io.github.acme/x", "version": "${VERSION}", "packages": [{"registryType": "npm"}]}, {}),
    ({"mcpServers": {"github": {"command": "npx", "env": {"GITHUB_TOKEN": "ghp_realLookingValue123"}}}}, {}),
    (
        {
            "name": "F",
            "last_tested_version": "1.6.0",
            "data": {
                "nodes": [
                    *({"id": f"ChatInput-n{i:04d}", "data": {"type": "ChatInput"}} for i in range(4)),
                    {
                        "id": "MCP-ccccc",
                        "data": {
                            "type": "MCP",
                            "node": {
                                "template": {
                                    "mcp_server": {
                                        "value": {
                                            "name": "acme",
                                            "config": {"command": "npx", "args": SECRET_ARGS},
                                        }
                                    }
                                }
                            },
                        },
                    },
                ]
            },
        },
        {},
    ),
]


def shown_warnings() -> list[tuple[str, str]]:
    """Every `| `path` | `message` |` row on the page."""
    return [
        (path, message)
        for path, message in re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", DOC, re.M)
        if path != "path"
    ]


def real_warnings() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for document, options in WARNING_CAUSES:
        result = import_flow(json.dumps(document), **options)
        found.update((w.path, w.message) for w in result.warnings)
    return found


def safety_net_notes() -> set[tuple[str, str]]:
    """What the last repair step says for a proposal the validator rejects."""
    advanced = {"enabled": True, "triggers": {"manual": True}, "actions": {"code": True, "http": True}}
    proposal = {"category": "automation", "subcategory": {"automation": "workflow"}}
    _, notes = valid_proposal({**proposal, "configuration": {"workflowAdvanced": advanced}})
    return {(note.path, note.message) for note in notes}


def test_every_warning_the_page_shows_is_the_real_one() -> None:
    real = real_warnings() | safety_net_notes()
    assert [row for row in shown_warnings() if row not in real] == []
