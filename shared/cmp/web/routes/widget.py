"""The embeddable chat widget's script, `GET /v1/widget/chat.js`: public (pages load it with a plain
`<script>` tag), static, and the same for every subscription; the embed snippet's `data-token` and
`data-subscription` tell it which agent to talk to (docs/widget-and-mcp.md)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.api import UNKNOWN_QUERY_PARAMETERS

router = Router()
SCRIPT_PATH = "/v1/widget/chat.js"
MAX_AGE_SECONDS = 300
"""Browsers and CDNs may reuse the script this long: a new widget version reaches pages within minutes."""

SCRIPT_ANSWER: dict[int, Any] = {
    200: {
        "description": "The widget script (plain JavaScript)",
        "content": {"text/javascript": {"schema": {"type": "string"}}},
    },
}
"""Its only answer: the route reads no parameter or body, so no request check (413, 415, 422) can refuse it."""


@cache
def widget_script() -> str:
    """The text of `cmp/web/static/chat.js` (package data), read once per container."""
    return files("cmp.web").joinpath("static/chat.js").read_text(encoding="utf-8")


@router.get(SCRIPT_PATH, responses=SCRIPT_ANSWER, openapi_extensions=UNKNOWN_QUERY_PARAMETERS)
def chat_script() -> Response[Any]:
    """The chat widget: renders the launcher and panel from `GET /v1/agents/{id}/widget` and talks to
    `POST /v1/agents/{id}/chat` with its widget token. Query parameters are ignored: pages add their own
    (`chat.js?v=2` to bust a cache)."""
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=widget_script(),
        headers={
            "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
