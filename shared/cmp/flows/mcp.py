"""MCP definitions: a registry `server.json`, a `tools/list` result, or a client `mcpServers` config.

All three describe an MCP server the product exposes, so each becomes an `app` of subcategory `tool`
served over the `mcp` protocol. The registry schema changed field names over time (`registry_name`,
`package_name` → `registryType`, `identifier`), so both spellings are read.
"""

from __future__ import annotations

import re
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
    file_stem,
    humanise,
    product_name,
    quoted,
    text,
    type_name,
)
from cmp.flows.result import ImportResult
from cmp.flows.secrets import warn_secrets

FORMAT = "mcp"
TOOLS_LIST = "tools/list"
CLIENT_CONFIG = "mcpServers config"

KNOWN_REGISTRY_TYPES = frozenset({"npm", "pypi", "oci", "nuget", "mcpb", "docker"})
KNOWN_TRANSPORTS = frozenset({"stdio", "streamable-http", "sse", "http"})

_ARGUMENT_KEYS = ("inputSchema", "input_schema", "arguments")
_OTHER_FORMAT_KEYS = frozenset({"nodes", "paths", "data", "packages", "remotes", "tools", "mcpServers"})
_TEMPLATE_PLACEHOLDER = re.compile(r"<[^<>]*>|\{\{[^{}]*\}\}|\$\{[^}]*\}")
_SCHEMA_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECRET_NAME = re.compile(
    r"token|secret|password|passwd|api[_-]?key|private[_-]?key|credential", re.IGNORECASE
)
_PLACEHOLDER = re.compile(r"^\s*(\$\{[^}]*\}|<[^>]*>|\{[^}]*\}|\*+|x+|your[_-].*)\s*$", re.IGNORECASE)


def matches(document: object) -> bool:
    """Whether `import_document` reads it: detection and the reader share these predicates."""
    if isinstance(document, list):
        return _is_tool_list(document)
    root = as_dict(document)
    if root is None:
        return False
    return (
        _server_of(root) is not None
        or _tools_of(root) is not None
        or _client_servers_of(root) is not None
        or _is_single_tool(root)
    )


def _is_tool(item: object) -> bool:
    """A tool definition: a name and its arguments, as `inputSchema` (MCP) or an `arguments` list."""
    return (
        isinstance(item, dict)
        and text(item.get("name")) is not None
        and any(key in item for key in _ARGUMENT_KEYS)
    )


def _is_tool_list(items: list[Any]) -> bool:
    """A bare array of tools (the first 50 items decide, so a huge list is not walked twice)."""
    return bool(items) and all(_is_tool(item) for item in items[:50])


def _is_single_tool(root: dict[str, Any]) -> bool:
    """One Tool object on its own (`{name, description, inputSchema}`), as an MCP server lists it."""
    return _is_tool(root) and not _OTHER_FORMAT_KEYS.intersection(root)


def _server_of(root: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The server.json object and its path; the registry API wraps it as `{server: {...}, _meta}`."""
    wrapped = as_dict(root.get("server"))
    if wrapped is not None and ("packages" in wrapped or "remotes" in wrapped):
        return wrapped, "server"
    schema = text(root.get("$schema")) or ""
    if "modelcontextprotocol" in schema or "server.schema.json" in schema:
        return root, ""
    if ("packages" in root or "remotes" in root) and "name" in root and "paths" not in root:
        return root, ""
    return None


def _tools_of(root: dict[str, Any]) -> tuple[object, str] | None:
    if "tools" in root and ("nodes" not in root and "paths" not in root):
        return root["tools"], "tools"
    result = as_dict(root.get("result"))
    if result is not None and "tools" in result:
        return result["tools"], "result.tools"
    return None


def _client_servers_of(root: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    servers = as_dict(root.get("mcpServers"))
    if servers is not None:
        return servers, "mcpServers"
    servers = as_dict(root.get("servers"))
    if servers and all(
        isinstance(entry, dict) and ("command" in entry or "url" in entry) for entry in servers.values()
    ):
        return servers, "servers"
    return None


def import_document(document: object, *, filename: str | None) -> ImportResult:
    findings = Findings()
    if isinstance(document, list):
        if not _is_tool_list(document):
            findings.error(
                "content",
                "expected an array of MCP tools, each with a name and an inputSchema (or an arguments list)",
            )
            raise findings.fail("Not an MCP tools list")
        return _import_tools({"tools": document}, document, "", findings, filename=filename)
    root = as_dict(document)
    if root is None:
        findings.error(
            "content", f"expected an MCP server definition or tools list, got {type_name(document)}"
        )
        raise findings.fail("Not an MCP definition")
    server = _server_of(root)
    if server is not None:
        return _import_server(root, *server, findings, filename=filename)
    tools = _tools_of(root)
    if tools is not None:
        return _import_tools(root, *tools, findings, filename=filename)
    servers = _client_servers_of(root)
    if servers is not None:
        return _import_client_config(root, *servers, findings, filename=filename)
    if _is_single_tool(root):
        return _import_tools({"tools": [root]}, [root], "", findings, filename=filename)
    findings.error(
        "content",
        "expected a server.json (name with packages or remotes), a tools list ({tools: [...]}) "
        "or an mcpServers config",
    )
    raise findings.fail("Not an MCP definition")


def _mcp_app(authentication: list[str]) -> CapabilityDraft:
    draft = CapabilityDraft()
    draft.classify("app", "tool")
    draft.set("interfaces.api.enabled", True)
    draft.add("interfaces.api.protocols", ["mcp"])
    draft.add("interfaces.api.authentication", authentication)
    return draft


def _import_server(
    root: dict[str, Any], server: dict[str, Any], base: str, findings: Findings, *, filename: str | None
) -> ImportResult:
    schema = text(server.get("$schema")) or text(root.get("$schema"))
    schema_date = _SCHEMA_DATE.search(schema) if schema else None
    if schema is None:
        findings.warn(child_path(base, "$schema"), "missing; the server.json schema version is unknown")
    registry_name = text(server.get("name"))
    if registry_name is not None and _TEMPLATE_PLACEHOLDER.search(registry_name):
        findings.warn(
            child_path(base, "name"),
            f"{quoted(registry_name)} is a template placeholder, not the server's registry name; "
            "not used as the product's name (fill it in, e.g. io.github.owner/server)",
        )
        registry_name = None
    elif registry_name is None:
        findings.warn(
            child_path(base, "name"),
            "missing; a registry server name (e.g. io.github.owner/server) is expected",
        )
    version_detail = as_dict(server.get("version_detail")) or {}
    version = text(server.get("version")) or text(version_detail.get("version"))
    if version is not None and "${" in version:
        findings.warn(
            child_path(base, "version"), f"{quoted(version)} is a build placeholder; set the real version"
        )
    title = text(server.get("title"))
    if title is not None and _TEMPLATE_PLACEHOLDER.search(title):
        findings.warn(
            child_path(base, "title"),
            f"{quoted(title)} is a template placeholder; not used as the product's name",
        )
        title = None
    display_name = title or (registry_name.rpartition("/")[2] if registry_name else None)

    components: list[dict[str, Any]] = []
    needs_secrets = _read_packages(server, base, components, findings)
    secret_header, hosts = _read_remotes(server, base, components, findings)
    if not components:
        findings.warn(
            child_path(base, "packages"), "no packages and no remotes; CMP cannot tell how to run this server"
        )
    name = product_name(
        display_name, child_path(base, "title"), findings, filename=filename, fallback="Imported MCP server"
    )
    draft = _mcp_app(["api_key"] if secret_header else [])
    if needs_secrets or secret_header:
        draft.set("configuration.workflow.options.secrets", True)
    draft.add("runtime.dependencies.mcpServers", [registry_name or name])
    draft.add("runtime.dependencies.services", hosts)
    return ImportResult(
        format=FORMAT,
        format_version=f"server.json {schema_date.group()}" if schema_date else "server.json",
        name=name,
        description=description_text(server.get("description"), child_path(base, "description"), findings),
        flow_definition=root,
        proposed_capabilities=draft.to_dict(),
        components=components,
        warnings=findings.warnings(),
    )


def _read_packages(
    server: dict[str, Any], base: str, components: list[dict[str, Any]], findings: Findings
) -> bool:
    """Adds one component per package; returns whether any of them needs a secret from the buyer."""
    packages_path = child_path(base, "packages")
    packages = server.get("packages")
    if packages is None:
        return False
    if not isinstance(packages, list):
        findings.warn(packages_path, f"expected an array, got {type_name(packages)}; ignored")
        return False
    check_component_count(len(packages), packages_path, "packages")
    needs_secrets = False
    for index, package in enumerate(packages):
        path = child_path(packages_path, index)
        entry = as_dict(package)
        if entry is None:
            findings.warn(path, f"expected a package object, got {type_name(package)}; skipped")
            continue
        registry_type = (
            text(entry.get("registryType"))
            or text(entry.get("registry_type"))
            or text(entry.get("registry_name"))
        )
        if registry_type is None:
            findings.warn(child_path(path, "registryType"), "missing; the package registry is unknown")
        elif registry_type.lower() not in KNOWN_REGISTRY_TYPES:
            findings.warn(
                child_path(path, "registryType"), f"unknown package registry {quoted(registry_type)}"
            )
        transport = as_dict(entry.get("transport"))
        transport_type = (text(transport.get("type")) if transport is not None else None) or "stdio"
        if transport_type not in KNOWN_TRANSPORTS:
            findings.warn(
                child_path(child_path(path, "transport"), "type"),
                f"unknown transport {quoted(transport_type)}",
            )
        identifier = (
            text(entry.get("identifier")) or text(entry.get("name")) or text(entry.get("package_name"))
        )
        components.append(
            {
                "id": f"packages[{index}]",
                "type": "package",
                "name": identifier or registry_type or f"package {index}",
                "registryType": registry_type,
                "transport": transport_type,
            }
        )
        needs_secrets = needs_secrets or _declares_secret(entry)
    return needs_secrets


def _declares_secret(package: dict[str, Any]) -> bool:
    """Whether an env var, argument or argument variable is marked secret (`isSecret`/`is_secret`)."""
    candidates: list[object] = []
    for key in ("environmentVariables", "environment_variables", "runtimeArguments", "packageArguments"):
        for item in as_list(package.get(key)) or []:
            candidates.append(item)
            variables = as_dict(item.get("variables")) if isinstance(item, dict) else None
            candidates.extend((variables or {}).values())
    return any(
        isinstance(item, dict) and (item.get("isSecret") is True or item.get("is_secret") is True)
        for item in candidates
    )


def _read_remotes(
    server: dict[str, Any], base: str, components: list[dict[str, Any]], findings: Findings
) -> tuple[bool, list[str]]:
    """Adds one component per remote; returns (a secret header is needed, the remotes' hosts)."""
    remotes_path = child_path(base, "remotes")
    remotes = server.get("remotes")
    if remotes is None:
        return False, []
    if not isinstance(remotes, list):
        findings.warn(remotes_path, f"expected an array, got {type_name(remotes)}; ignored")
        return False, []
    check_component_count(len(remotes), remotes_path, "remotes")
    secret_header = False
    hosts: list[str] = []
    for index, remote in enumerate(remotes):
        path = child_path(remotes_path, index)
        entry = as_dict(remote)
        url = text(entry.get("url")) if entry is not None else None
        if entry is None or url is None:
            findings.warn(path, "expected a remote with a url; skipped")
            continue
        transport_type = text(entry.get("type")) or text(entry.get("transport_type")) or "streamable-http"
        if transport_type not in KNOWN_TRANSPORTS:
            findings.warn(child_path(path, "type"), f"unknown transport {quoted(transport_type)}")
        components.append(
            {"id": f"remotes[{index}]", "type": "remote", "name": url, "transport": transport_type}
        )
        headers = [header for header in as_list(entry.get("headers")) or [] if isinstance(header, dict)]
        secret_header = secret_header or any(header.get("isSecret") is True for header in headers)
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if host:
            hosts.append(host)
    return secret_header, hosts


def _import_tools(
    root: dict[str, Any], tools: object, tools_path: str, findings: Findings, *, filename: str | None
) -> ImportResult:
    if not isinstance(tools, list):
        findings.error(tools_path or "tools", f"expected an array of tools, got {type_name(tools)}")
        raise findings.fail("The MCP tools list cannot be imported")
    check_component_count(len(tools), tools_path or "tools", "tools")
    components: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        component = _tool_component(tool, child_path(tools_path, index), seen, findings)
        if component is not None:
            components.append(component)
            seen.add(component["id"])
    if not components:
        findings.error(tools_path or "tools", "no tools to import")
        raise findings.fail("The MCP tools list cannot be imported")

    name = _tools_list_name([c["id"] for c in components], findings, filename=filename)
    draft = _mcp_app([])
    draft.add("runtime.dependencies.mcpServers", [name])
    return ImportResult(
        format=FORMAT,
        format_version=TOOLS_LIST,
        name=name,
        description="",
        flow_definition=root,
        proposed_capabilities=draft.to_dict(),
        components=components,
        warnings=findings.warnings(),
    )


def _tool_component(tool: object, path: str, seen: set[str], findings: Findings) -> dict[str, Any] | None:
    entry = as_dict(tool)
    if entry is None:
        findings.warn(path, f"expected a tool object, got {type_name(tool)}; skipped")
        return None
    tool_name = text(entry.get("name"))
    if tool_name is None:
        findings.warn(child_path(path, "name"), "missing; a tool cannot be called without a name; skipped")
        return None
    if tool_name in seen:
        findings.warn(child_path(path, "name"), f"duplicate tool {quoted(tool_name)}; skipped")
        return None
    schema = entry.get("inputSchema", entry.get("input_schema"))
    arguments = as_list(entry.get("arguments")) if schema is None else None
    if arguments is None and not isinstance(schema, dict):
        findings.warn(
            child_path(path, "inputSchema"),
            f"expected a JSON Schema object, got {type_name(schema)}; arguments unknown",
        )
    annotations = as_dict(entry.get("annotations")) or {}
    component: dict[str, Any] = {
        "id": tool_name,
        "type": "tool",
        "name": text(entry.get("title")) or text(annotations.get("title")) or tool_name,
    }
    description = text(entry.get("description"))
    if description is not None:
        component["description"] = description
    if arguments is not None:
        component["inputs"] = [name for argument in arguments if (name := _argument_name(argument))]
    else:
        properties = as_dict(schema.get("properties")) if isinstance(schema, dict) else None
        component["inputs"] = list(properties or {})
    return component


def _argument_name(argument: object) -> str | None:
    """The name of one `arguments` entry (`{name, type, desc}`), the older way to list a tool's inputs."""
    return text(argument.get("name")) if isinstance(argument, dict) else None


def _tools_list_name(tool_names: list[str], findings: Findings, *, filename: str | None) -> str:
    """A tools list carries no server name: the file name, else the tools' shared prefix (`osop.*`)."""
    if file_stem(filename) is not None:
        return product_name(None, "name", findings, filename=filename, fallback="Imported MCP tools")
    prefixes = {name.split(".", 1)[0] for name in tool_names if "." in name}
    if len(prefixes) == 1 and all("." in name for name in tool_names):
        chosen = humanise(prefixes.pop())
        findings.warn("name", f"missing; named {quoted(chosen)} after the tools' common prefix")
        return chosen
    return product_name(None, "name", findings, filename=None, fallback="Imported MCP tools")


def _import_client_config(
    root: dict[str, Any],
    servers: dict[str, Any],
    servers_path: str,
    findings: Findings,
    *,
    filename: str | None,
) -> ImportResult:
    check_component_count(len(servers), servers_path, "servers")
    components: list[dict[str, Any]] = []
    for key, entry in servers.items():
        path = child_path(servers_path, key)
        config = as_dict(entry)
        if config is None:
            findings.warn(path, f"expected a server object, got {type_name(entry)}; skipped")
            continue
        if text(config.get("url")) is not None:
            transport = text(config.get("type")) or text(config.get("transport")) or "streamable-http"
        elif text(config.get("command")) is not None:
            transport = "stdio"
        else:
            findings.warn(path, "neither a command nor a url; CMP cannot tell how to run it; skipped")
            continue
        _warn_inline_secrets(config, path, findings)
        components.append({"id": key, "type": "server", "name": key, "transport": transport})
    if not components:
        findings.error(servers_path, "no servers to import")
        raise findings.fail("The MCP config cannot be imported")

    only = components[0]["name"] if len(components) == 1 else None
    draft = _mcp_app([])
    draft.add("runtime.dependencies.mcpServers", [c["id"] for c in components])
    return ImportResult(
        format=FORMAT,
        format_version=CLIENT_CONFIG,
        name=only or product_name(None, "name", findings, filename=filename, fallback="Imported MCP servers"),
        description="",
        flow_definition=root,
        proposed_capabilities=draft.to_dict(),
        components=components,
        warnings=findings.warnings(),
    )


def _warn_inline_secrets(config: dict[str, Any], path: str, findings: Findings) -> None:
    """Client configs often hold real API keys; they must not ship inside a product definition.

    Values under a secret-sounding env var or header name are flagged unless they are placeholders;
    any other value (arguments included) is flagged when it has a well-known key shape.
    """
    for section in ("env", "headers"):
        values = as_dict(config.get(section)) or {}
        for key, value in values.items():
            value_path = child_path(child_path(path, section), key)
            if (
                isinstance(value, str)
                and _SECRET_NAME.search(key)
                and value.strip()
                and not _PLACEHOLDER.match(value)
            ):
                findings.warn(
                    value_path,
                    "looks like a real secret stored in the file; remove it and let the buyer provide it",
                )
            else:
                warn_secrets(value, value_path, findings)
    warn_secrets(config.get("args"), child_path(path, "args"), findings)
