"""Every API function builds its resolver here, so requests are checked and errors look the same everywhere.

One error shape (`ErrorBody` in `cmp.web.schemas`): `{"error", "message", "errors": [{"path", "message"}],
"request_id"}`, where `request_id` is API Gateway's request id, which is also the `correlation_id` of every
log line of the request (handlers log with `correlation_paths.API_GATEWAY_REST`).

Checks made before any route runs, so bad input is a 4xx naming the field, never a 500:
- first, a call the runtime authorizer refused (it lets it through carrying only the refusal, so that the
  answer can say why: docs/gateway.md "Refusals") is answered with that refusal;
- the JSON body (`parse_json_body`): its size, bytes that are not UTF-8 (with their offset), its nesting
  depth (counted before the parser recurses), numbers no column can hold, a key given twice in one object,
  NUL characters and broken surrogates anywhere in it (the limits of `cmp.flows.safety`); a syntax error
  is reported at `body` with its line and column; a leading byte-order mark is ignored;
- a body sent with another content type than JSON (compared without regard to case), with a charset other
  than UTF-8, or with no Content-Type at all is a 415 (a request without a body needs none);
- a query parameter given with an empty value (or only spaces) is dropped first, so it is the same as not
  given on every route (`cmp.web.validation.drop_empty_query_values`);
- a query parameter the route does not declare is a 422 at `query.<name>` naming the ones it takes (one
  without a name, `?=1`, at `query`), before the body is read (`cmp.web.validation`); only routes marked
  `UNKNOWN_QUERY_PARAMETERS` ignore them;
- a query parameter given twice is a 422 at `query.<name>` saying so;
- NUL characters in query parameters (`check_parameters`);
- percent-encoded path parameters are decoded once, before validation (API Gateway REST passes them
  encoded); a path parameter is then checked by its type (ids are UUIDs) or by its lookup (a slug holding a NUL names no product: 404).

A function whose routes read their input by hand (the widget's static script, the payment webhooks' raw body)
builds its resolver with `validated=False`: only the first check (the runtime authorizer's refusal) and the path
parameters' decoding apply, and Powertools' validation middleware (`cmp.web.validation`) is never imported.

Services reach routes by injection: `make_resolver(logger, services)` binds them as the resolver's override
of the `cmp.web.deps.get_services` dependency (see that module).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from cmp.aws.adapters import AwsUnavailable
from cmp.errors import DomainError, FieldError, NotFound, PayloadTooLarge, ValidationFailed
from cmp.gateway.errors import Refused
from cmp.json_input import MAX_NESTING_DEPTH, DuplicateKey, NumberRejected, loads
from cmp.web.deps import get_services

if TYPE_CHECKING:
    from cmp.bootstrap import Services

MAX_BODY_BYTES = 10 * 1024 * 1024
"""A request body's limit (API Gateway's own): an import's file content (`cmp.flows.safety.MAX_IMPORT_BYTES`,
5 MiB) plus room for its JSON escaping."""

UNKNOWN_QUERY_PARAMETERS = {"x-unknown-query-parameters": "ignored"}
"""The `openapi_extensions` of a route whose callers are third parties that may append query parameters of
their own (webhooks) or that reads no input through validation (`validated=False`): query parameters it does
not declare are ignored. Any other route answers them with a 422 at `query.<name>` naming the ones it takes
(`cmp.web.validation.unknown_query_parameters`)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""A byte that is not UTF-8, as the event's body carries it (decoded with `surrogateescape`)."""
_BYTE_ORDER_MARK = "\ufeff"


# ---------------------------------------------------------------------------------------------- body
def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without parsing (strings skipped)."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _body_error(message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError("body", detail)])


def parse_json_body(text: str) -> Any:
    """The request body as JSON values, or a domain error naming what is wrong.

    Raises PayloadTooLarge (413) past MAX_BODY_BYTES; ValidationFailed (422) at `body` for bytes that are
    not UTF-8, nesting deeper than MAX_NESTING_DEPTH, invalid JSON (with line and column), a number with
    more than MAX_INTEGER_DIGITS digits or out of float range; and at the field's path for a key given
    twice in one object, or a string holding a NUL character or a lone surrogate (which PostgreSQL cannot
    store). A leading UTF-8 byte-order mark is ignored.
    """
    # The value checks are the importers' (cmp.flows.safety). Imported here, not at module level: the
    # cmp.flows package loads every reader and YAML, which functions that only read would pay at cold start.
    from cmp.flows.safety import check_document

    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            "the request body is too large",
            errors=[FieldError("body", f"{size} bytes; the limit is {MAX_BODY_BYTES} bytes")],
        )
    undecodable = _UNDECODABLE.search(text)
    if undecodable is not None:
        offset = len(text[: undecodable.start()].encode("utf-8", "surrogateescape"))
        raise _body_error("the request body is not valid UTF-8", f"not valid UTF-8 at byte {offset}")
    text = text.removeprefix(_BYTE_ORDER_MARK)
    if nesting_depth(text) > MAX_NESTING_DEPTH:
        raise _body_error(
            "the request body is nested too deeply", f"nested deeper than {MAX_NESTING_DEPTH} levels"
        )
    try:
        document = loads(text, unique_keys=True)
    except json.JSONDecodeError as e:
        raise _body_error(
            "the request body is not valid JSON",
            f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
        ) from None
    except NumberRejected as e:
        raise _body_error("the request body is not valid JSON", f"not valid JSON: {e}") from None
    except DuplicateKey as e:
        raise ValidationFailed(
            "the request body gives a key twice",
            errors=[FieldError(e.path, f"is given more than once in its object; give {e.key!r} once")],
        ) from None
    except RecursionError:
        raise _body_error(
            "the request body is nested too deeply", f"nested deeper than {MAX_NESTING_DEPTH} levels"
        ) from None
    try:
        check_document(document, root="body")
    except ValidationFailed as e:
        raise ValidationFailed(
            "the request body holds a value that cannot be stored", errors=e.errors
        ) from None
    return document


def content_type_problem(header: str | None, has_body: bool) -> str | None:
    """Why a body with this Content-Type header cannot be read as JSON, or None if it can.

    The media type and parameter names are compared without regard to case (RFC 9110); a charset must be
    UTF-8; a body without a Content-Type is refused (a request without a body needs none).
    """
    if header is None or not header.strip():
        return "is missing; send the body as application/json" if has_body else None
    media_type, *parameters = (part.strip() for part in header.split(";"))
    if media_type.lower() != "application/json":
        return f"is {header[:100]}; use application/json"
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return f"declares charset {charset[:40]}; the body must be UTF-8"
    return None


def before_route(app: APIGatewayRestResolver) -> None:
    """What every resolver does first: raise the refusal the runtime authorizer carried in the request's
    context (`cmp.gateway.errors.Refused`, answered with its 401, 403 or 404), before the body is read or
    anything of the route runs; then decode percent-encoded path parameters (API Gateway REST passes them raw).
    """
    refused = Refused.from_authorizer(app.current_event.request_context.authorizer.get_context() or {})
    if refused is not None:
        raise refused
    args: dict[str, Any] = app.context["_route_args"]
    for name, value in args.items():
        if isinstance(value, str):
            args[name] = unquote(value)


# ---------------------------------------------------------------------------------------------- errors
def error_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the API spells it: body fields and path parameters bare (`plans[1].name`,
    `product_id`), query parameters and headers prefixed (`query.limit`, `header.authorization`)."""
    parts = list(loc)
    prefix = ""
    if parts and parts[0] in ("query", "header"):
        prefix = f"{parts[0]}."
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return prefix + out if out else "body"


def problem_message(problem: Mapping[str, Any]) -> str:
    """A pydantic error's message without the validator's raw text: a pattern mismatch names the expected
    format (`cmp.web.schemas.PATTERN_FORMATS`) instead of the regular expression; a text's length is counted
    in characters, also for a secret (a `SecretStr`, whose own message counts "items"); a text that is long
    enough as sent but too short once its surrounding whitespace is stripped says so (only whitespace:
    blank), and an empty one that it must not be empty, whatever its minimum length; and a custom check's
    message loses pydantic's "Value error, " prefix."""
    from cmp.web.schemas import (
        PATTERN_FORMATS,
    )  # a 422 has loaded pydantic; a resolver without validation never

    message = str(problem.get("msg", "is invalid"))
    kind = problem.get("type")
    ctx = problem.get("ctx") or {}
    given = problem.get("input")
    if kind == "string_pattern_mismatch":
        expected = PATTERN_FORMATS.get(str(ctx.get("pattern", "")))
        return f"must be {expected}" if expected else "does not have the expected format"
    if kind in ("string_too_short", "too_short") and isinstance(given, str) and "min_length" in ctx:
        least = int(ctx["min_length"])
        if not given:
            return "must not be empty"
        if len(given) >= least:
            if not given.strip():
                return "must not be blank (it is only whitespace)"
            return f"String should have at least {_characters(least)} besides leading and trailing whitespace"
        return f"String should have at least {_characters(least)}"
    if kind == "too_long" and isinstance(given, str) and "max_length" in ctx:
        return f"String should have at most {_characters(int(ctx['max_length']))}"
    return message.removeprefix("Value error, ")


def _characters(count: int) -> str:
    """`1 character`, `10 characters`: pydantic's own wording of a text's length."""
    return f"{count} character" if count == 1 else f"{count} characters"


def _repeated(event_params: Mapping[str, list[str]] | None, loc: tuple[Any, ...] | list[Any]) -> int:
    """How often the query parameter at `loc` was given (0 if `loc` is not a query parameter)."""
    if not event_params or len(loc) < 2 or loc[0] != "query":
        return 0
    return len(event_params.get(str(loc[1])) or [])


def make_resolver(
    logger: Logger, services: Services | None = None, *, validated: bool = True
) -> APIGatewayRestResolver:
    """The function's resolver: validation on, CORS, the checks above, one error shape.

    `services` (built once per function by `bootstrap()`) is what the `get_services` dependency returns.
    `validated=False` is for a function whose routes read no query parameter, header or body through
    validation (the widget's static script; the payment webhooks, which read the raw body to check its
    signature): Powertools' validation middleware (`cmp.web.validation`) is then never imported (60 to 100 ms of
    its cold start, more where no model loads pydantic either; docs/performance.md). Such routes still get
    `before_route` (the authorizer's refusal, path parameters decoded) and the error shape; a path parameter
    reaches them as a string, unchecked, and a route returning a model is serialized without being validated
    against it, so only routes whose every input is read by hand belong on such a resolver.
    """
    cors = CORSConfig(allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"), max_age=600)
    app = APIGatewayRestResolver(
        enable_validation=validated, cors=cors, json_body_deserializer=parse_json_body
    )
    if validated:
        from cmp.web.validation import JsonOnlyValidation

        # Powertools builds its validation middleware in the constructor and runs it before any other; this
        # is the one place its body reading can be narrowed to JSON.
        app._request_validation_middleware = JsonOnlyValidation()
    if services is not None:
        app.dependency_overrides[get_services] = lambda: services

    def request_id() -> str:
        return str(app.current_event.request_context.request_id or "")

    def error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
        body = {"errors": [], **body, "request_id": request_id()}
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(body),
            headers=headers or None,
        )

    def tag_tenant(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        tenant_id = resolver.current_event.request_context.authorizer.get_context().get("tenant_id")
        if tenant_id:
            logger.append_keys(tenant_id=tenant_id)
        return next_middleware(resolver)

    def check_parameters(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        """Refuse NUL characters (and broken surrogates) in query parameters."""
        route = resolver.context["_route"]
        args: dict[str, Any] = resolver.context["_route_args"]
        query_names = {p.name for p in route.dependant.query_params}
        problems = []
        for name in query_names:
            value = args.get(name)
            if isinstance(value, str) and _UNSTORABLE.search(value):
                problems.append(FieldError(f"query.{name}", "contains a NUL character or a broken surrogate"))
        if problems:
            raise ValidationFailed("the request parameters are invalid", errors=problems)
        return next_middleware(resolver)

    def unvalidated(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        before_route(resolver)
        return next_middleware(resolver)

    app.use(middlewares=[tag_tenant, check_parameters] if validated else [unvalidated, tag_tenant])

    @app.not_found
    def no_such_route(_: NotFoundError) -> Response[Any]:
        """`{proxy+}` events send unknown paths here: a 404, not the catch-all's 500."""
        event = app.current_event
        return error(404, NotFound(f"no route for {event.http_method} {event.path[:200]}").to_dict())

    @app.exception_handler(DomainError)
    def domain_error(e: DomainError) -> Response[Any]:
        return error(e.status, e.to_dict(), e.headers)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(e: RequestUnsupportedContentType) -> Response[Any]:
        return error(
            415,
            {
                "error": "unsupported_media_type",
                "message": "send the body as JSON",
                "errors": e.errors(),
            },
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(e: RequestValidationError) -> Response[Any]:
        multi = app.current_event.multi_value_query_string_parameters
        errors = []
        for problem in e.errors():
            loc = problem.get("loc", ())
            times = _repeated(multi, loc)
            message = f"was given {times} times; give it once" if times > 1 else problem_message(problem)
            errors.append({"path": error_path(loc), "message": message})
        return error(422, {"error": "validation_failed", "message": "request is invalid", "errors": errors})

    @app.exception_handler(AwsUnavailable)
    def unavailable(_: AwsUnavailable) -> Response[Any]:
        logger.exception("dependency unavailable", extra={"request_id": request_id()})
        return error(
            503, {"error": "unavailable", "message": "a dependency is unavailable; try again shortly"}
        )

    @app.exception_handler(Exception)
    def unexpected(_: Exception) -> Response[Any]:
        logger.exception("unhandled error", extra={"request_id": request_id()})
        return error(500, {"error": "internal", "message": "unexpected error"})

    return app
