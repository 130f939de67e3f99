"""One OpenAPI 3.1 document for the whole portal API, merged from every API function's routes."""

from __future__ import annotations

from typing import Any

from cmp_dev.local.events import route_pattern, route_specificity
from cmp_dev.local.template import ApiRoute, LocalTemplate

RUNTIME_AUTHORIZER = "RuntimeAuthorizer"
"""The template's authorizer of runtime routes, which also accepts an API key in `X-Api-Key`."""

SWAGGER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>CMP API</title>
<link rel="stylesheet" href="/docs/swagger-ui.min.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.min.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true});</script>
</body></html>"""


def merge_openapi(
    template: LocalTemplate, documents: dict[str, dict[str, Any]], server_url: str | None = None
) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "CMP portal API",
            "version": "1.0.0",
            "description": "Marketplace for AI agents, apps, assistants and automations. Streaming chat (token"
            " by token) is a WebSocket API beside this one: its protocol is docs/websocket.md. A query"
            " parameter an operation does not declare is a 422 at `query.<name>`, except on operations marked"
            " `x-unknown-query-parameters: ignored` (webhooks, the widget script).",
        },
        "externalDocs": {
            "description": "Streaming chat over WebSocket: the protocol",
            "url": "docs/websocket.md",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
    if server_url:
        merged["servers"] = [{"url": server_url}]
    for function in sorted(documents):
        doc = documents[function]
        merged["components"]["schemas"].update(doc.get("components", {}).get("schemas", {}))
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                route = matching_route(template, function, path, method)
                if route is None or route.authorized:
                    operation["security"] = [{"bearerAuth": []}]
                if route is not None and route.authorizer == RUNTIME_AUTHORIZER:
                    operation["security"].append({"apiKeyHeader": []})
                merged["paths"].setdefault(path, {})[method] = operation
    return merged


def matching_route(template: LocalTemplate, function: str, path: str, method: str) -> ApiRoute | None:
    """The template route API Gateway picks for this operation (the most specific match), if any."""
    routes = [
        r
        for r in template.routes
        if r.function == function
        and r.method in (method.upper(), "ANY")
        and route_pattern(r.path).match(path)
    ]
    return max(routes, key=route_specificity) if routes else None


def requires_sign_in(template: LocalTemplate, function: str, path: str, method: str) -> bool:
    """Whether API Gateway runs an authorizer for this operation (its most specific matching route)."""
    route = matching_route(template, function, path, method)
    return route is None or route.authorized
