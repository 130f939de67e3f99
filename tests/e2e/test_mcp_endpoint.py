"""The per-subscription MCP endpoint through the local runner, with the `mcp` package's own client over real
HTTP (Streamable HTTP, stateless JSON mode): initialize, list the tools, `ask` in Spanish and get a cited
Spanish answer, `search` the knowledge base; a key without `knowledge:read` gets a tool error for `search`,
a key of another subscription and another organization's buyer get a 404, no key a 401."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from cmp_dev.seed import BUYER
from tests.e2e.conftest import Account, eventually

pytestmark = pytest.mark.e2e

POLICY_EN = "Unused items can be returned within 30 days of delivery for a full refund."
POLICY_ES = "Los artículos sin usar se pueden devolver en un plazo de 30 días desde la entrega con reembolso completo."


def _buyer(api: httpx.Client) -> dict[str, str]:
    login = api.post("/v1/auth/login", json={"email": BUYER.email, "password": BUYER.password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _key(api: httpx.Client, auth: dict[str, str], subscription: str, scopes: list[str]) -> str:
    created = api.post(
        f"/v1/subscriptions/{subscription}/api-keys",
        headers=auth,
        json={"name": "MCP test", "scopes": scopes},
    )
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


async def _session(url: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Initialize, list the tools and make `calls` with the mcp client; what each returned."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    out: dict[str, Any] = {}
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as http,
        streamable_http_client(url, http_client=http, terminate_on_close=False) as (read, write),
        ClientSession(read, write) as session,
    ):
        out["initialize"] = await session.initialize()
        out["tools"] = await session.list_tools()
        for n, (name, arguments) in enumerate(calls):
            out[f"call{n}"] = await session.call_tool(name, arguments)
    return out


def test_ask_and_search_over_mcp_with_an_api_key(api: httpx.Client, seeded: dict[str, Any]) -> None:
    auth = _buyer(api)
    subscription = seeded["subscriptions"]["acme-support-agent"]
    one = f"/v1/subscriptions/{subscription}"
    qa = api.post(
        f"{one}/knowledge/qa",
        headers=auth,
        json={
            "pairs": [
                {"question": "What is the return policy?", "answer": POLICY_EN},
                {"question": "¿Cuál es la política de devoluciones?", "answer": POLICY_ES},
            ]
        },
    )
    assert qa.status_code == 201, qa.text
    documents = [item["document_id"] for item in qa.json()["items"]]

    def indexed() -> bool:  # a status read is a gateway call like any other: 429 means "not yet, slower"
        answers = [api.get(f"{one}/knowledge/documents/{d}", headers=auth) for d in documents]
        return all(a.status_code == 200 and a.json()["status"] == "indexed" for a in answers)

    eventually(indexed, timeout=120, interval=2)
    url = f"{api.base_url}/v1/mcp/{subscription}"
    key = _key(api, auth, subscription, ["invoke", "knowledge:read"])

    calls: list[tuple[str, dict[str, Any]]] = [
        ("ask", {"question": "¿Cuál es la política de devoluciones?"}),
        ("search", {"query": "return policy refund", "top_k": 3}),
    ]
    out = anyio.run(_session, url, key, calls)
    assert out["initialize"].server_info.name == "cmp-agent"
    assert sorted(t.name for t in out["tools"].tools) == ["ask", "search"]
    asked = out["call0"]
    assert not asked.is_error, asked.content
    answer = asked.structured_content
    assert answer["language"] == "es"
    assert "30 días" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["source_type"] == "qa"
    found = out["call1"]
    assert not found.is_error, found.content
    hits = found.structured_content["hits"]
    assert 1 <= len(hits) <= 3
    assert any("30 days" in hit["content"] for hit in hits)

    narrow = _key(api, auth, subscription, ["invoke"])
    narrow_calls: list[tuple[str, dict[str, Any]]] = [("search", {"query": "refund"})]
    refused = anyio.run(_session, url, narrow, narrow_calls)["call0"]
    assert refused.is_error
    assert "knowledge:read" in json.dumps([c.model_dump() for c in refused.content])


def test_the_mcp_endpoint_is_refused_without_a_key_and_to_another_subscription(
    api: httpx.Client, seeded: dict[str, Any], buyer: Account
) -> None:
    subscription = seeded["subscriptions"]["acme-support-agent"]
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert api.post(f"/v1/mcp/{subscription}", json=message, headers=headers).status_code == 401

    other = seeded["subscriptions"]["acme-blog-writer"]
    key = _key(api, _buyer(api), other, ["invoke"])
    answer = api.post(
        f"/v1/mcp/{subscription}", json=message, headers={**headers, "Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 404, answer.text

    another_tenant = buyer.post(f"/v1/mcp/{subscription}", json=message)
    assert another_tenant.status_code == 404, another_tenant.text  # whatever the credential (#10)
    assert another_tenant.json()["message"] == "subscription not found"
