"""The isolation walker (issue 10, Security suite; OWASP API1 broken object level authorization, API5
broken function level authorization): every operation of the merged OpenAPI document is called, through the
local runner's gateway (its route table, the template's authorizer, real API Gateway events) with the
functions loaded in-process, and so is the WebSocket API's `$connect` (`walk_websocket`), with credentials that must not reach the victims' data: another
organization's token (holding both roles), the other side's token (the victim seller's for the victim
buyer's routes, the victim buyer's for the victim seller's), another subscription's API key, and none.

A finding is a 2xx that returns a protected victim's private ids or changes a protected victim's stored
state (every tenant-owned row of the victim, compared before and after). The victims of a call are the
victim organizations other than the caller's own.

Path parameters are filled from `PathParameters`, one entry per parameter name: a route with a parameter
no entry names fails the walk loudly (`UnknownParameter`), so a new route's parameters must be declared
here. Request bodies are the smallest instance of the operation's schema (`minimal_body`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from cmp_dev.local import events
from cmp_dev.local.functions import FunctionError
from cmp_dev.local.runner import LocalRunner

METHODS = ("get", "put", "post", "delete", "patch")


class UnknownParameter(AssertionError):
    """An operation has a path parameter the walker has no value for: declare it in `PathParameters`."""


@dataclass(frozen=True)
class Credential:
    """How a call authenticates: `headers` to send; `tenant_id` whose own data it may see (None: none)."""

    name: str
    headers: dict[str, str]
    tenant_id: str | None


@dataclass
class Victims:
    """The victim organizations: tenant id -> its private ids; `visible_to`: viewer tenant id -> the ids
    of others that viewer may see by design (a seller sees its customers' organizations, subscriptions
    and orders of its products on its sales pages)."""

    private_ids: dict[str, set[str]] = field(default_factory=dict)
    visible_to: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    method: str
    path: str
    credential: str
    status: int
    reason: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} as {self.credential}: {self.status} {self.reason}"


@dataclass(frozen=True)
class Answer:
    """One walked call's answer: the operation, the credential's name, the status and the body."""

    method: str
    path: str
    credential: str
    status: int
    body: str


PathParameters = dict[str, str]
"""Parameter name (as the document spells it, e.g. `subscription_id`) -> the victim's value."""


class InProcessFunction:
    """A `FunctionProcess` stand-in for the runner: the function's handler module loaded in this process."""

    def __init__(self, load: Callable[[], Any], invoke: Callable[[dict[str, Any]], Any]) -> None:
        self._load, self._invoke = load, invoke

    def invoke(self, event: dict[str, Any]) -> Any:
        try:
            return self._invoke(event)
        except Exception as e:  # as Lambda reports a handler's failure (the authorizer's "Unauthorized")
            raise FunctionError(type(e).__name__, str(e), "") from e

    def openapi(self) -> dict[str, Any] | None:
        app = getattr(self._load(), "app", None)
        if app is None:
            return None
        document: dict[str, Any] = app.get_openapi_schema().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return document

    def stop(self) -> None:
        """Nothing to stop: the module lives in the test process."""


def in_process_runner(
    template: Any, function: Callable[[str], Any], invoke: Callable[[str, dict[str, Any]], Any]
) -> LocalRunner:
    """The local runner's gateway over in-process functions (`function(name)` loads a handler module,
    `invoke(name, event)` calls it). Its HTTP server is never started."""
    runner = LocalRunner(template, lambda _: {}, "http://unused", {})
    runner.server.server_close()
    runner.functions = {  # type: ignore[assignment]
        name: InProcessFunction(lambda n=name: function(n), lambda event, n=name: invoke(n, event))
        for name in template.functions
    }
    return runner


def victim_state(owner: psycopg.Connection[Any], tenant_ids: Iterable[str]) -> dict[str, str]:
    """A digest per tenant-owned table of the tenants' rows (RLS bypassed): what a call must not change."""
    tables = [
        r[0]
        for r in owner.execute(
            "select c.table_name from information_schema.columns c join information_schema.tables t"
            " using (table_schema, table_name) where c.table_schema = 'public' and c.column_name = 'tenant_id'"
            " and t.table_type = 'BASE TABLE' order by 1"
        ).fetchall()
    ]
    ids = [uuid.UUID(t) for t in tenant_ids]
    state: dict[str, str] = {}
    for table in tables:
        rows = owner.execute(
            f"select coalesce(string_agg(x::text, '|' order by x::text), '') from {table} x"
            " where tenant_id = any(%s)",
            (ids,),
        ).fetchone()
        state[table] = hashlib.sha256(str(rows[0] if rows else "").encode()).hexdigest()
    return state


def minimal_body(schema: dict[str, Any] | None, components: dict[str, Any], depth: int = 0) -> Any:
    """The smallest instance of `schema`: required properties only, the first enum value, the minimum
    length, the first non-null alternative."""
    if not schema or depth > 8:
        return None
    if "$ref" in schema:
        return minimal_body(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return minimal_body(options[0] if options else None, components, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: minimal_body(props.get(k), components, depth + 1) for k in schema.get("required", [])}
    if kind == "array":
        items = minimal_body(schema.get("items"), components, depth + 1)
        return [items] * int(schema.get("minItems", 0))
    if kind == "string":
        if schema.get("format") == "uuid":
            return str(uuid.uuid4())
        if schema.get("format") in ("uri", "url"):
            return "https://example.com/"
        if schema.get("format") == "email":
            return "walker@example.com"
        return "x" * max(int(schema.get("minLength", 1)), 1)
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return None


@dataclass
class Walker:
    """Walks every operation of `document` through `runner` with each credential."""

    runner: LocalRunner
    document: dict[str, Any]
    parameters: PathParameters
    victims: Victims
    owner: psycopg.Connection[Any]
    owners: dict[str, str] = field(default_factory=dict)
    """Parameter name -> the tenant owning its value: that tenant's own credential skips the operation."""
    run_last: frozenset[tuple[str, str]] = frozenset({("post", "/v1/auth/logout")})
    """Operations that end the caller's session: walked after every other."""
    only: Callable[[str], bool] = lambda path: True
    findings: list[Finding] = field(default_factory=list)
    calls: int = 0
    answers: list[Answer] = field(default_factory=list)
    """Every call's answer, in order (for tests that expect a given refusal)."""

    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        found = [
            (method, path, operation)
            for path, operations in sorted(self.document["paths"].items())
            for method, operation in operations.items()
            if method in METHODS and self.only(path)
        ]
        return sorted(found, key=lambda op: (op[0], op[1]) in self.run_last)

    def fill(self, path: str) -> str:
        """`path` with every `{name}` replaced by the victim's value; raises `UnknownParameter`."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.parameters:
                raise UnknownParameter(
                    f"{path}: no value for path parameter '{name}'; declare it in the walker's PathParameters"
                )
            return self.parameters[name]

        return re.sub(r"\{([^}]+)\}", value, path)

    def walk(self, credentials: list[Credential]) -> list[Finding]:
        components = self.document.get("components", {}).get("schemas", {})
        for method, path, operation in self.operations():
            url = self.fill(path)
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            body = minimal_body(schema, components) if schema else None
            owned_by = {self.owners[n] for n in re.findall(r"\{([^}]+)\}", path) if n in self.owners}
            for credential in credentials:
                if credential.tenant_id not in owned_by:
                    self.call(method, path, url, body, credential)
        return self.findings

    def walk_websocket(self, credentials: list[Credential]) -> list[Finding]:
        """The WebSocket API (docs/websocket.md): `$connect` to the victim's `subscription_id` with each
        credential, as a header and as the `api_key` query parameter. A finding is an accepted handshake (no
        message can then be sent on the connection) or a changed victim state."""
        connect = self.runner.template.websocket_routes.get("$connect")
        if connect is None:
            return self.findings
        function = self.runner.functions[connect]
        subscription = self.parameters["subscription_id"]
        for credential in credentials:
            token = credential.headers.get("authorization", "").removeprefix("Bearer ")
            for headers, query in ((credential.headers, ""), ({}, f"&api_key={token}" if token else "")):
                protected = [t for t in self.victims.private_ids if t != credential.tenant_id]
                before = victim_state(self.owner, protected)
                connection_id = uuid.uuid4().hex[:16] + "="
                event = events.websocket_event(
                    "$connect",
                    connection_id,
                    "walker.local",
                    headers=headers,
                    query=f"subscription_id={subscription}{query}",
                )
                status = int(function.invoke(event).get("statusCode", 200))
                self.calls += 1
                where = "$connect" + (" (api_key query)" if query else "")
                if status == 200:
                    self.findings.append(Finding("websocket", where, credential.name, status, "connected"))
                after = victim_state(self.owner, protected)
                changed = sorted(k for k in before if before[k] != after[k])
                if changed:
                    self.findings.append(
                        Finding("websocket", where, credential.name, status, f"changed {changed}")
                    )
        return self.findings

    def call(self, method: str, path: str, url: str, body: Any, credential: Credential) -> None:
        protected = [t for t in self.victims.private_ids if t != credential.tenant_id]
        before = victim_state(self.owner, protected)
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {"content-type": "application/json", **credential.headers}
        status, _, raw = self.runner.dispatch(method.upper(), url, headers, payload, "127.0.0.1")
        self.calls += 1
        text = raw.decode("utf-8", errors="replace")
        self.answers.append(Answer(method, path, credential.name, status, text))
        if 200 <= status < 300:
            allowed = self.victims.visible_to.get(credential.tenant_id or "", set())
            leaked = sorted(
                i for t in protected for i in self.victims.private_ids[t] if i in text and i not in allowed
            )
            if leaked:
                self.findings.append(Finding(method, path, credential.name, status, f"returned {leaked}"))
        after = victim_state(self.owner, protected)
        changed = sorted(k for k in before if before[k] != after[k])
        if changed:
            self.findings.append(Finding(method, path, credential.name, status, f"changed {changed}"))
