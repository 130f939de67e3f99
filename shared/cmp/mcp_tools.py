"""The MCP tools' signatures, held to the REST routes' limits (`POST …/chat`, `POST …/knowledge/search`).

The `mcp` package builds each tool's input schema and argument validation from its function's annotations,
resolved in the module that defines it; this module has no `from __future__ import annotations`, so the
constrained types below are real objects there. Imported with the `mcp` package on the first MCP request.
"""

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, StrictInt, StringConstraints

from cmp.mcp_endpoint import ASK_DESCRIPTION, MAX_TOP_K, SEARCH_DESCRIPTION, AgentTools, SearchMethod
from cmp.web.agent_schemas import AgentLanguage, Text

Query = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
"""A search query, as `POST …/knowledge/search` takes it (1–1,000 characters after trimming)."""

TopK = Annotated[StrictInt, Field(ge=1, le=MAX_TOP_K)]
"""How many passages (1–20; a boolean is not a number here, as in the REST body)."""


def register(
    server: Any, tools: AgentTools, run: Callable[[Callable[[], dict[str, Any]]], dict[str, Any]]
) -> None:
    """Add `ask` and `search` to `server` (an `MCPServer`), each calling `tools` through `run` (which turns
    a DomainError into a tool error)."""

    @server.tool(name="ask", description=ASK_DESCRIPTION)
    def ask(
        question: Text, session_id: str | None = None, language: AgentLanguage | None = None
    ) -> dict[str, Any]:
        return run(lambda: tools.ask(question, session_id, language))

    @server.tool(name="search", description=SEARCH_DESCRIPTION)
    def search(query: Query, top_k: TopK = 5, method: SearchMethod = "hybrid") -> dict[str, Any]:
        return run(lambda: tools.search(query, top_k, method))
