"""Request and response models of the portal API (kept apart from domain entities), and the error body.

Request models are strict (no coercion: `"yes"` is not a boolean, `"5"` is not a number) and refuse unknown
fields. `answers(...)` declares every status a route can answer, each error with `ErrorBody`, so the
OpenAPI document is the contract.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from cmp.catalog.paging import MAX_CURSOR_CHARS, PRODUCTS_DEFAULT_LIMIT, PRODUCTS_MAX_LIMIT

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An ISO 8601 timestamp with its offset, as the service wrote it."""


class ApiModel(BaseModel):
    """Base of every request and response model of the API: its validator and serializer are built when a
    request first needs them (pydantic's `defer_build`), not when Lambda loads the function, so a function
    pays only for the models of the routes it serves (docs/performance.md, cold starts)."""

    model_config = ConfigDict(defer_build=True)


class LazySchemas:
    """A schema module of the API, imported when a route first reads a name of it.

    A route module whose function serves other routes too names its models through one of these
    (`knowledge_schemas.DocumentOut`, with `from __future__ import annotations`): Powertools reads a route's
    annotations from the route module's globals when the route is first called (or the OpenAPI document is
    built), so the module's classes are built then, not at the function's cold start (~2 M instructions,
    ~0.75 ms, per model class even with `defer_build`; docs/performance.md, sixth pass). Under
    `TYPE_CHECKING` the route module imports the real module under the same name, so mypy checks every use.
    """

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        """The module's attribute `name`, importing the module on first use (AttributeError if it has none)."""
        value = getattr(importlib.import_module(self._module), name)
        setattr(self, name, value)
        return value


# ---------------------------------------------------------------------------------------------- errors
class ErrorDetail(ApiModel):
    """One problem with one field."""

    path: str = Field(description="The field: `name`, `plans[1].tier`, `query.limit`, `body`")
    message: str


class ErrorBody(ApiModel):
    """Every error the API answers has this shape."""

    error: str = Field(description="Machine-readable kind: validation_failed, not_found, conflict, …")
    message: str
    errors: list[ErrorDetail] = Field(description="One entry per problem (may be empty)")
    request_id: str = Field(description="API Gateway's request id; every log line of the request carries it")


OPTIONAL_DAY_PATTERN = r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2})?\s*$"
"""An optional UTC day, YYYY-MM-DD (a query parameter's pattern)."""
FILE_NAME_PATTERN = r"^[^/\\\x00-\x1f]+$"
"""A file's name without any folder: no `/` or `\\`, no control characters."""
PATTERN_FORMATS = {
    OPTIONAL_DAY_PATTERN: "YYYY-MM-DD (a UTC day, e.g. 2026-11-01)",
    FILE_NAME_PATTERN: "a file name, not a path (no / or \\), without control characters",
}
"""The format a named pattern stands for, as a 422 says it instead of the regular expression."""

ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session ended",
    403: "The caller lacks the role this needs",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body or file is too large",
    415: "The body is not JSON",
    422: "The request breaks a rule; `errors` names each field",
    429: "Too many attempts",
    503: "A dependency is unavailable; retry shortly",
}
ALWAYS = (415, 422, 413)
"""Every route may answer these: checks of the body, parameters and content type come before the route."""


def answers(success: int, description: str, *errors: int) -> dict[int, Any]:
    """The `responses` of a route: its success status (schema from its return type) and every error status
    it can answer with `ErrorBody` (plus ALWAYS)."""
    out: dict[int, Any] = {
        success: {"description": description, "content": {}}
        if success == 204
        else {"description": description}
    }
    for status in sorted({*errors, *ALWAYS}):
        out[status] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return out


SIGNED_IN = (401,)
SELLER = (401, 403)
PRODUCT = (401, 403, 404)
EDIT = (401, 403, 404, 409)


# ---------------------------------------------------------------------------------------------- requests
class RequestModel(ApiModel):
    """Base of every request body: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


PageLimit = Annotated[
    str | None,
    Query(
        description=f"Page size, 1 to {PRODUCTS_MAX_LIMIT} (default {PRODUCTS_DEFAULT_LIMIT})",
        json_schema_extra={"pattern": r"^\s*([0-9]{1,3})?\s*$"},
    ),
]
"""The `limit` query parameter of a paged product list (checked by `cmp.catalog.paging`)."""
PageCursor = Annotated[
    str | None,
    Query(
        description="next_cursor of the previous page, unchanged",
        json_schema_extra={"maxLength": MAX_CURSOR_CHARS},
    ),
]
"""The `cursor` query parameter of a paged product list: the previous page's `next_cursor`."""
