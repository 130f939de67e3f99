"""A subscription's MCP endpoint (`POST /v1/mcp/{subscription_id}`): the agent's `ask` and the knowledge
base's `search` as MCP tools, over Streamable HTTP in stateless JSON mode.

Stateless JSON mode (the `mcp` package's `stateless_http=True, json_response=True`) fits a Lambda function:
every POST carries one JSON-RPC message and gets one JSON answer, no session id, no server-sent events, no
state between calls; `initialize`, `tools/list` and `tools/call` are each one request. The caller is
already authenticated by the runtime authorizer (an API key with the scope `invoke`), so the package's own
DNS-rebinding checks (Host / Origin allow-lists, meant for servers on a developer's machine) are off.

The `mcp` package (and the Starlette stack under it) is imported on the first MCP request only, keeping
other handlers' cold start small.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cmp.errors import DomainError

SERVER_NAME = "cmp-agent"
MCP_PATH = "/mcp"
"""The path the ASGI request is given inside the adapter (the session manager does not route on it)."""

SearchMethod = Literal["vector", "keyword", "hybrid"]
MAX_TOP_K = 20
"""The most passages one `search` call returns (its input schema says so; more is a tool error)."""
ASK_DESCRIPTION = (
    "Ask the support agent a question (any language; it answers in the question's language) and get its "
    "answer with numbered citations of the knowledge base. Pass the returned session_id to continue the "
    "same conversation."
)
SEARCH_DESCRIPTION = (
    "Search the agent's knowledge base: the best matching passages, each with its document, page or URL "
    "and a snippet. method: hybrid (default), vector or keyword."
)


@dataclass(frozen=True)
class AgentTools:
    """What the two tools do, bound to one authenticated caller.

    ask(question, session_id, language) -> the chat answer as `POST /v1/agents/{id}/chat` returns it;
    search(query, top_k, method) -> {"results": [...]} as `POST …/knowledge/search` returns it.
    Either may raise a `cmp.errors.DomainError` (scope missing, rate limited, invalid input): the client
    gets it as a tool error naming the reason."""

    ask: Callable[[str, str | None, str | None], dict[str, Any]]
    search: Callable[[str, int, SearchMethod], dict[str, Any]]


@dataclass(frozen=True)
class McpReply:
    """The HTTP answer to one MCP POST: status, headers (content type included) and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes


def argument_errors(problems: list[Mapping[str, Any]]) -> str:
    """Arguments that do not fit a tool's input schema, as the REST API words them: `validation_failed:
    top_k: Input should be a valid integer; method: Input should be 'vector', 'keyword' or 'hybrid'`
    (pydantic's `errors()` entries; no documentation link, no echo of the rejected value)."""
    from cmp.web.api import problem_message

    fields = "; ".join(f"{_argument_path(p.get('loc', ()))}: {problem_message(p)}" for p in problems)
    return f"validation_failed: {fields}"


def _argument_path(loc: Any) -> str:
    """A tool argument's location as a path (`query`, `filters.tags[0]`): an argument is a name of its own,
    never an HTTP location to strip (an argument called `query` is not the query string)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "arguments"


def build_server(tools: AgentTools, name: str = SERVER_NAME) -> Any:
    """An `mcp.server.mcpserver.MCPServer` exposing `ask` and `search` (imports `mcp`). A DomainError of a
    tool becomes the package's ToolError: a result with `isError: true` whose text is the error's code and
    message (`forbidden: this call needs the scope knowledge:read`); arguments that fail the input schema
    are worded by `argument_errors` instead of the package's raw pydantic text."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import ValidationError

    from cmp.mcp_tools import register

    class Server(MCPServer):
        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as e:
                if isinstance(e.__cause__, ValidationError):
                    raise ToolError(argument_errors(list(e.__cause__.errors()))) from e.__cause__
                if isinstance(e.__cause__, ToolError):  # the tool's own refusal, without the package's prefix
                    raise ToolError(str(e.__cause__)) from e.__cause__
                raise

    server = Server(
        name=name,
        instructions="A customer support agent answering from its knowledge base.",
        log_level="WARNING",
    )

    def run(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return call()
        except DomainError as e:
            raise ToolError(f"{e.code}: {e.message}") from e

    register(server, tools, run)
    return server


def handle(body: bytes, headers: Mapping[str, str], tools: AgentTools, name: str = SERVER_NAME) -> McpReply:
    """Serve one MCP POST (JSON-RPC `body`, the request's `headers`) with a fresh stateless server.

    Protocol errors (malformed JSON-RPC, a missing `Accept: application/json`, an unknown method) are the
    package's own answers (4xx with a JSON-RPC error body); tool failures are tool results with
    `isError: true`."""
    import anyio

    return anyio.run(_serve, body, dict(headers), tools, name)


async def _serve(body: bytes, headers: dict[str, str], tools: AgentTools, name: str) -> McpReply:
    import anyio
    from mcp.server.transport_security import TransportSecuritySettings

    server = build_server(tools, name)
    server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=True,
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": MCP_PATH,
        "raw_path": MCP_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 0),
        "server": ("cmp", 443),
    }
    sent = False
    status = 500
    reply_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for key, value in message.get("headers", []):
                reply_headers[key.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    reply_headers.pop("content-length", None)
    return McpReply(status, reply_headers, b"".join(chunks))
