"""OpenAPI 3.0/3.1 documents (JSON or YAML), and Swagger 2.0 converted on the way in.

An API becomes an `app`: every operation is a tool the product exposes. `$ref`s are not resolved: the
importer reads structure, not schemas, and following references in untrusted input is how imports
end up fetching URLs or looping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cmp.flows.base import (
    CapabilityDraft,
    Findings,
    as_dict,
    as_list,
    check_component_count,
    child_path,
    description_text,
    product_name,
    quoted,
    text,
    type_name,
)
from cmp.flows.result import ImportResult

FORMAT = "openapi"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PATH_ITEM_FIELDS = frozenset({"$ref", "summary", "description", "servers", "parameters", *HTTP_METHODS})
TOOL_OPERATION_LIMIT = 5
"""An API with at most this many operations is a focused `tool`; a larger surface is a `connector`."""

_NON_IDENTIFIER = re.compile(r"[^A-Za-z0-9]+")


def matches(document: object) -> bool:
    root = as_dict(document)
    if root is None:
        return False
    if isinstance(root.get("openapi"), str | int | float) or "swagger" in root:
        return True
    return isinstance(root.get("paths"), dict) and isinstance(root.get("info"), dict)


def import_document(document: object, *, filename: str | None) -> ImportResult:
    findings = Findings()
    root = as_dict(document)
    if root is None:
        findings.error("content", f"expected an OpenAPI object, got {type_name(document)}")
        raise findings.fail("Not an OpenAPI document")
    version = _version(root, findings)
    info = as_dict(root.get("info"))
    if info is None:
        findings.warn(
            "info", f"expected an object with title and description, got {type_name(root.get('info'))}"
        )
        info = {}

    swagger = _swagger_servers(root, findings) if "swagger" in root and "openapi" not in root else None
    operations, has_callbacks = _read_operations(
        root, findings, base_path=swagger.base_path if swagger else ""
    )
    webhooks = _read_webhooks(root, findings)
    draft = CapabilityDraft()
    draft.classify("app", "tool" if len(operations) <= TOOL_OPERATION_LIMIT else "connector")
    draft.set("interfaces.api.enabled", True)
    draft.add("interfaces.api.protocols", ["rest"])
    draft.add("interfaces.api.authentication", _authentication(root, findings))
    if webhooks:
        draft.set("interfaces.api.features.webhooks", True)
    if has_callbacks:
        draft.set("interfaces.api.features.callbacks", True)
    if any("batch" in f"{operation['id']} {operation['path']}".lower() for operation in operations):
        draft.set("interfaces.api.features.batch", True)
    draft.add("runtime.dependencies.services", swagger.hosts if swagger else _server_hosts(root, findings))

    return ImportResult(
        format=FORMAT,
        format_version=version,
        name=product_name(
            info.get("title"), "info.title", findings, filename=filename, fallback="Imported API"
        ),
        description=description_text(
            info.get("description") or info.get("summary"), "info.description", findings
        ),
        flow_definition=root,
        proposed_capabilities=draft.to_dict(),
        components=operations + webhooks,
        warnings=findings.warnings(),
    )


def _version(root: dict[str, Any], findings: Findings) -> str:
    declared = root.get("openapi")
    if isinstance(declared, str | int | float) and not isinstance(declared, bool):
        version = str(declared)
        if not version.startswith("3."):
            findings.warn("openapi", f"version {quoted(version)} is not 3.x; imported as if it were 3.x")
        return version
    swagger = root.get("swagger")
    if swagger is not None:
        return str(swagger) if isinstance(swagger, str | int | float) else "2.0"
    findings.warn("openapi", "missing; read as OpenAPI 3.x because the document has info and paths")
    return "unknown"


@dataclass(frozen=True)
class _SwaggerServers:
    """What Swagger 2.0 spreads over `schemes`, `host` and `basePath`, read as OpenAPI 3 reads it."""

    hosts: list[str]
    base_path: str


def _swagger_servers(root: dict[str, Any], findings: Findings) -> _SwaggerServers:
    """Converts Swagger 2.0's `schemes` + `host` + `basePath` to server URLs (what `servers` says in 3.x).

    Tool paths then start with the base path (`/v2/pets`), so every tool's path is the one requested
    on the host, as in the Swagger document.
    """
    host = text(root.get("host"))
    raw_base = root.get("basePath")
    base_path = (text(raw_base) or "").rstrip("/")
    if raw_base is not None and not base_path.startswith("/") and base_path:
        findings.warn("basePath", f"{quoted(base_path)} does not start with '/'; read as '/{base_path}'")
        base_path = f"/{base_path}"
    declared = {scheme.lower() for scheme in as_list(root.get("schemes")) or [] if isinstance(scheme, str)}
    scheme = "http" if declared == {"http"} else "https"
    where = (
        f"the server is {quoted(f'{scheme}://{host}{base_path}')} (schemes + host + basePath)"
        if host
        else "host is missing, so the server is the one serving the document"
    )
    findings.warn(
        "swagger",
        f"Swagger 2.0, converted to OpenAPI 3 terms: {where}; tool paths are given from the host root "
        f"(starting with basePath {quoted(base_path or '/')})",
    )
    return _SwaggerServers(hosts=[host] if host else [], base_path=base_path)


def _read_operations(
    root: dict[str, Any], findings: Findings, *, base_path: str
) -> tuple[list[dict[str, Any]], bool]:
    """The operations as tool components, and whether any of them calls back (OpenAPI `callbacks`).

    `base_path` (Swagger 2.0's `basePath`, else empty) is put in front of every tool's path.
    """
    paths = root.get("paths")
    if paths is None:
        findings.warn("paths", "missing; the API exposes no operations to offer as tools")
        return [], False
    if not isinstance(paths, dict):
        findings.error("paths", f"expected an object of path items, got {type_name(paths)}")
        raise findings.fail("The OpenAPI document cannot be imported")
    operations: list[dict[str, Any]] = []
    has_callbacks = False
    seen_ids: set[str] = set()
    for route, item in paths.items():
        if route.startswith("x-"):
            continue
        item_path = child_path("paths", route)
        if not route.startswith("/"):
            findings.warn(item_path, "path does not start with '/'; imported as written")
        for method, operation, operation_path in _operations_of(item, item_path, findings):
            check_component_count(len(operations) + 1, "paths", "operations")
            operations.append(
                _operation(base_path + route, method, operation, operation_path, seen_ids, findings)
            )
            has_callbacks = has_callbacks or bool(as_dict(operation.get("callbacks")))
    return operations, has_callbacks


def _operations_of(item: object, item_path: str, findings: Findings) -> list[tuple[str, dict[str, Any], str]]:
    """The (method, operation, path) triples of one path item, warning about what cannot be read."""
    item_dict = as_dict(item)
    if item_dict is None:
        findings.warn(item_path, f"expected a path item object, got {type_name(item)}; skipped")
        return []
    if "$ref" in item_dict:
        _warn_unresolved(item_dict["$ref"], item_path, "path item", findings)
    found: list[tuple[str, dict[str, Any], str]] = []
    for key, value in item_dict.items():
        key_path = child_path(item_path, key)
        if key not in _PATH_ITEM_FIELDS and not key.startswith("x-"):
            findings.warn(key_path, f"unknown path item field {quoted(key)}; ignored")
        elif key in HTTP_METHODS:
            operation = as_dict(value)
            if operation is None:
                findings.warn(key_path, f"expected an operation object, got {type_name(value)}; skipped")
            elif "$ref" in operation:
                _warn_unresolved(operation["$ref"], key_path, "operation", findings)
            else:
                found.append((key, operation, key_path))
    return found


def _warn_unresolved(reference: object, path: str, what: str, findings: Findings) -> None:
    """A `$ref` where an operation or path item should be: reported, never guessed into a tool."""
    target = text(reference)
    if target is None:
        findings.warn(
            child_path(path, "$ref"), f"expected a reference string, got {type_name(reference)}; skipped"
        )
        return
    scope = "a reference inside this document" if target.startswith("#") else "an external reference"
    findings.warn(
        child_path(path, "$ref"),
        f"unresolved {what}: {quoted(target)} is {scope}, and references are not followed; "
        "no tool is made from it (inline it to import it)",
    )


def _operation(
    route: str, method: str, operation: dict[str, Any], path: str, seen_ids: set[str], findings: Findings
) -> dict[str, Any]:
    operation_id = text(operation.get("operationId"))
    if operation_id is None:
        operation_id = f"{method}_{_NON_IDENTIFIER.sub('_', route).strip('_')}".rstrip("_")
        findings.warn(child_path(path, "operationId"), f"missing; tool id derived as {quoted(operation_id)}")
    elif operation_id in seen_ids:
        findings.warn(
            child_path(path, "operationId"), f"duplicate {quoted(operation_id)}; tool ids must be unique"
        )
    seen_ids.add(operation_id)
    component: dict[str, Any] = {
        "id": operation_id,
        "type": "operation",
        "name": text(operation.get("summary")) or operation_id,
        "method": method.upper(),
        "path": route,
    }
    tags = [tag for tag in as_list(operation.get("tags")) or [] if isinstance(tag, str)]
    if tags:
        component["tags"] = tags
    if operation.get("deprecated") is True:
        component["deprecated"] = True
    return component


def _read_webhooks(root: dict[str, Any], findings: Findings) -> list[dict[str, Any]]:
    """OpenAPI 3.1 `webhooks`: events the API sends out, listed so the seller sees them."""
    webhooks = root.get("webhooks")
    if webhooks is None:
        return []
    if not isinstance(webhooks, dict):
        findings.warn("webhooks", f"expected an object, got {type_name(webhooks)}; ignored")
        return []
    check_component_count(len(webhooks), "webhooks", "webhooks")
    found: list[dict[str, Any]] = []
    for event, item in webhooks.items():
        for method, operation, _ in _operations_of(item, child_path("webhooks", event), findings):
            found.append(
                {
                    "id": text(operation.get("operationId")) or event,
                    "type": "webhook",
                    "name": text(operation.get("summary")) or event,
                    "method": method.upper(),
                    "event": event,
                }
            )
    return found


def _authentication(root: dict[str, Any], findings: Findings) -> list[str]:
    """CMP authentication kinds for the declared security schemes: apiKey, oauth2/OIDC and bearer."""
    components = as_dict(root.get("components"))
    schemes_path = "components.securitySchemes"
    schemes = components.get("securitySchemes") if components is not None else None
    if schemes is None and "securityDefinitions" in root:
        schemes_path, schemes = "securityDefinitions", root.get("securityDefinitions")
    if schemes is None:
        return []
    if not isinstance(schemes, dict):
        findings.warn(
            schemes_path, f"expected an object, got {type_name(schemes)}; authentication not proposed"
        )
        return []
    kinds: list[str] = []
    for scheme_name, scheme in schemes.items():
        kind = _authentication_kind(scheme, child_path(schemes_path, scheme_name), findings)
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    return kinds


def _authentication_kind(scheme: object, path: str, findings: Findings) -> str | None:
    scheme_dict = as_dict(scheme)
    if scheme_dict is None:
        findings.warn(path, f"expected a security scheme object, got {type_name(scheme)}; ignored")
        return None
    if "$ref" in scheme_dict:
        findings.warn(child_path(path, "$ref"), "security scheme references are not followed; ignored")
        return None
    scheme_type = text(scheme_dict.get("type")) or ""
    if scheme_type == "apiKey":
        return "api_key"
    if scheme_type in ("oauth2", "openIdConnect"):
        return "oauth2"
    if scheme_type == "http":
        http_scheme = (text(scheme_dict.get("scheme")) or "").lower()
        if http_scheme == "bearer":
            return "jwt"
        findings.warn(
            child_path(path, "scheme"),
            f"HTTP {quoted(http_scheme or 'unspecified')} authentication has no CMP equivalent "
            "(api_key, oauth2, jwt); not proposed",
        )
        return None
    if scheme_type == "basic":
        findings.warn(
            child_path(path, "type"), "HTTP basic authentication has no CMP equivalent; not proposed"
        )
        return None
    findings.warn(
        child_path(path, "type"),
        f"security scheme type {quoted(scheme_type or 'missing')} has no CMP equivalent; not proposed",
    )
    return None


def _server_hosts(root: dict[str, Any], findings: Findings) -> list[str]:
    """Hosts the API runs on (OpenAPI `servers`, Swagger `host`): what the product depends on."""
    hosts: list[str] = []
    swagger_host = text(root.get("host"))
    if swagger_host is not None:
        hosts.append(swagger_host)
    servers = root.get("servers")
    if servers is not None and not isinstance(servers, list):
        findings.warn("servers", f"expected an array, got {type_name(servers)}; ignored")
    for index, server in enumerate(as_list(servers) or []):
        url = text(server.get("url")) if isinstance(server, dict) else None
        if url is None:
            findings.warn(child_path("servers", index), "expected an object with a url; ignored")
            continue
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if host:
            hosts.append(host)
    return hosts
