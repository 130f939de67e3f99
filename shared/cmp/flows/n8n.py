"""n8n workflow exports: the editor's copy-paste form, `n8n export:workflow`, and pre-1.0 exports.

Node types are namespaced (`n8n-nodes-base.httpRequest`, `@n8n/n8n-nodes-langchain.agent`) and
`connections` are keyed by node *name*. Old exports (before node ids existed) have no node `id`s and
use node types n8n 1.0 retired (`cron`, `interval`, `function`, `start`); they import as `legacy`.
"""

from __future__ import annotations

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
    vendor_of,
)
from cmp.flows.n8n_roles import (
    AGENT,
    AI,
    AI_ROLES,
    CHAT_TRIGGER,
    CODE,
    DOCUMENT_LOADER,
    EMBEDDINGS,
    EVENT_TRIGGER,
    FEATURE_BY_ROLE,
    HTTP,
    LEGACY_TYPES,
    LLM_API_HOSTS,
    MCP_CLIENT,
    MCP_TRIGGER,
    MEMORY,
    MESSAGING,
    MODEL,
    NOTE,
    OPAQUE,
    PLATFORM_PREFIXES,
    RETRIEVER,
    SCHEDULE_TRIGGER,
    SHELL,
    TRIGGER_ROLES,
    VECTOR_STORE,
    WEBHOOK_TRIGGER,
    classify,
)
from cmp.flows.proposal import CODE_DEPLOYMENT, CODE_NEEDS_RUNTIME
from cmp.flows.result import ImportResult
from cmp.flows.secrets import warn_secrets

FORMAT = "n8n"
LEGACY = "legacy"
CURRENT = "current"


def matches(document: object) -> bool:
    root = as_dict(document)
    if root is None or "nodes" not in root:
        return False
    if "connections" in root:
        return True
    return any(
        isinstance(node, dict) and str(node.get("type", "")).startswith(("n8n-nodes-", "@n8n/"))
        for node in as_list(root.get("nodes")) or []
    )


@dataclass
class _Node:
    path: str
    id: str
    name: str
    node_type: str
    role: str
    parameters: dict[str, Any]
    disabled: bool
    has_credentials: bool
    handles_errors: bool


def import_document(document: object, *, filename: str | None) -> ImportResult:
    findings = Findings()
    root = as_dict(document)
    if root is None:
        findings.error("content", f"expected an n8n workflow object, got {type_name(document)}")
        raise findings.fail("Not an n8n workflow")
    raw_nodes = root.get("nodes")
    if not isinstance(raw_nodes, list):
        findings.error("nodes", f"expected an array of nodes, got {type_name(raw_nodes)}")
        raise findings.fail("The n8n workflow cannot be imported")
    check_component_count(len(raw_nodes), "nodes", "nodes")

    node_dicts = [node for node in raw_nodes if isinstance(node, dict)]
    legacy = bool(node_dicts) and all("id" not in node for node in node_dicts)
    nodes = _read_nodes(raw_nodes, legacy, findings)
    if not any(node.role != NOTE for node in nodes):
        findings.error("nodes", "no nodes to import (the workflow is empty or only sticky notes)")
        raise findings.fail("The n8n workflow cannot be imported")
    _check_connections(root.get("connections"), {node.name for node in nodes}, findings)
    settings = as_dict(root.get("settings")) or {}

    return ImportResult(
        format=FORMAT,
        format_version=LEGACY if legacy else CURRENT,
        name=product_name(
            root.get("name"), "name", findings, filename=filename, fallback="Imported n8n workflow"
        ),
        description=description_text(root.get("description"), "description", findings),
        flow_definition=root,
        proposed_capabilities=_propose(
            nodes, findings, error_workflow=text(settings.get("errorWorkflow")) is not None
        ),
        components=[_component(node) for node in nodes if node.role != NOTE],
        warnings=findings.warnings(),
    )


def _read_nodes(raw_nodes: list[Any], legacy: bool, findings: Findings) -> list[_Node]:
    nodes: list[_Node] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        path = child_path("nodes", index)
        node = as_dict(raw)
        if node is None:
            findings.warn(path, f"expected a node object, got {type_name(raw)}; skipped")
            continue
        node_type = text(node.get("type"))
        if node_type is None:
            raw_type = node.get("type")
            found = "missing" if raw_type is None else f"expected a string, got {type_name(raw_type)}"
            findings.warn(child_path(path, "type"), f"{found}; imported as opaque step")
            role, problem = OPAQUE, None
        else:
            role, problem = classify(node_type)
        if problem is not None:
            findings.warn(child_path(path, "type"), problem)
        if role in (CODE, SHELL):
            what = "shell commands" if role == SHELL else "custom code"
            findings.warn(
                child_path(path, "type"), f"{quoted(node_type or '')} runs {what}; {CODE_NEEDS_RUNTIME}"
            )
        short_type = (node_type or "").rpartition(".")[2].lower()
        if short_type in LEGACY_TYPES and role != NOTE:
            findings.warn(
                child_path(path, "type"),
                f"{quoted(node_type or '')} was retired in n8n 1.0; imported by its meaning, "
                "replace it before running on a current n8n",
            )

        warn_secrets(node.get("parameters"), child_path(path, "parameters"), findings)
        name = text(node.get("name"))
        if name is None:
            name = f"node-{index}"
            findings.warn(
                child_path(path, "name"), f"missing; connections cannot reach it; called {quoted(name)}"
            )
        elif name in names:
            findings.warn(
                child_path(path, "name"), f"duplicate name {quoted(name)}; its connections are ambiguous"
            )
        names.add(name)
        node_id = text(node.get("id"))
        if node_id is None and not legacy:
            findings.warn(child_path(path, "id"), f"missing; referred to by its name {quoted(name)}")
        nodes.append(
            _Node(
                path=path,
                id=node_id or name,
                name=name,
                node_type=node_type or "unknown",
                role=role,
                parameters=as_dict(node.get("parameters")) or {},
                disabled=node.get("disabled") is True,
                has_credentials=bool(as_dict(node.get("credentials"))),
                handles_errors=node.get("continueOnFail") is True
                or node.get("onError") in ("continueRegularOutput", "continueErrorOutput"),
            )
        )
    return nodes


def _check_connections(connections: object, names: set[str], findings: Findings) -> None:
    """Reports connections that cannot be followed; n8n keys them by node name, not id."""
    if connections is None:
        findings.warn("connections", "missing; nodes are imported without their connections")
        return
    by_source = as_dict(connections)
    if by_source is None:
        findings.warn("connections", f"expected an object, got {type_name(connections)}; connections ignored")
        return
    for source, outputs in by_source.items():
        source_path = child_path("connections", source)
        if source not in names:
            findings.warn(source_path, f"no node named {quoted(source)}; its connections are ignored")
            continue
        by_type = as_dict(outputs)
        if by_type is None:
            findings.warn(source_path, f"expected an object of connection types, got {type_name(outputs)}")
            continue
        for connection_type, branches in by_type.items():
            type_path = child_path(source_path, connection_type)
            branch_list = as_list(branches)
            if branch_list is None:
                findings.warn(type_path, f"expected an array of outputs, got {type_name(branches)}")
                continue
            for output_index, branch in enumerate(branch_list):
                for target_index, target in enumerate(as_list(branch) or []):
                    target_path = child_path(child_path(type_path, output_index), target_index)
                    target_name = text(target.get("node")) if isinstance(target, dict) else None
                    if target_name is None:
                        findings.warn(target_path, "expected {node, type, index}; connection ignored")
                    elif target_name not in names:
                        findings.warn(
                            child_path(target_path, "node"), f"no node named {quoted(target_name)}; ignored"
                        )


def _component(node: _Node) -> dict[str, Any]:
    component: dict[str, Any] = {"id": node.id, "type": node.node_type, "name": node.name, "role": node.role}
    if node.disabled:
        component["disabled"] = True
    return component


def _propose(all_nodes: list[_Node], findings: Findings, *, error_workflow: bool) -> dict[str, Any]:
    draft = CapabilityDraft()
    nodes = [node for node in all_nodes if not node.disabled and node.role != NOTE]
    roles = {node.role for node in nodes}
    agents = sum(node.role == AGENT for node in nodes)
    if CHAT_TRIGGER in roles:
        draft.classify("agent", "multi" if agents > 1 else "single")
        draft.set("interfaces.chat.enabled", True)
        draft.add("interfaces.chat.modes", ["text"])
        draft.set("interfaces.chat.features.multiTurn", MEMORY in roles)
    elif MCP_TRIGGER in roles:
        draft.classify("app", "tool")
    else:
        scheduled = SCHEDULE_TRIGGER in roles
        reactive = bool(roles & {WEBHOOK_TRIGGER, EVENT_TRIGGER})
        subcategory = (
            "hybrid"
            if scheduled and reactive
            else "scheduled"
            if scheduled
            else "triggered"
            if reactive
            else "workflow"
        )
        draft.classify("automation", subcategory)
    if WEBHOOK_TRIGGER in roles or MCP_TRIGGER in roles:
        draft.set("interfaces.api.enabled", True)
        draft.add("interfaces.api.protocols", ["rest"] if WEBHOOK_TRIGGER in roles else ["mcp"])

    draft.set("configuration.workflowAdvanced.enabled", True)
    for node in nodes:
        feature = FEATURE_BY_ROLE.get(node.role)
        if feature is not None:
            draft.set(f"configuration.workflowAdvanced.{feature}", True)
        if node.role in AI_ROLES or (node.role == HTTP and _llm_vendor(node) is not None):
            draft.set("configuration.workflowAdvanced.actions.ai", True)
        if node.has_credentials:
            draft.set("configuration.workflowAdvanced.data.secrets", True)
        if node.handles_errors:
            draft.set("configuration.workflowAdvanced.flow.errorHandling", True)
        platform = _platform(node)
        if platform is not None and node.role in (MESSAGING, EVENT_TRIGGER):
            draft.set("interfaces.integrations.enabled", True)
            draft.add("interfaces.integrations.platforms", [platform])
    if error_workflow:
        draft.set("configuration.workflowAdvanced.flow.errorHandling", True)
    if draft.get("configuration.workflowAdvanced.actions.code") is True:
        draft.set("runtime.deployment", CODE_DEPLOYMENT)
    if draft.get("configuration.workflowAdvanced.triggers") is None:
        draft.set("configuration.workflowAdvanced.triggers.manual", True)
        findings.warn(
            "nodes",
            "no trigger node that CMP can offer; a manual trigger is proposed (the workflow runs when "
            "started by hand or by another workflow)",
        )
    if roles & {VECTOR_STORE, RETRIEVER}:
        draft.set("configuration.rag.enabled", True)
        draft.set("configuration.rag.sources.documents", True)
        draft.set("configuration.rag.retrieval.method", "vector")
    if DOCUMENT_LOADER in roles:
        draft.set("configuration.rag.sources.documents", True)

    draft.add("runtime.dependencies.models", [model for node in nodes if (model := _model(node))])
    draft.add("runtime.dependencies.services", [vendor for node in nodes if (vendor := _vendor(node))])
    draft.add("runtime.dependencies.mcpServers", [server for node in nodes if (server := _mcp_server(node))])
    return draft.to_dict()


def _platform(node: _Node) -> str | None:
    short = node.node_type.rpartition(".")[2].lower()
    return next((platform for prefix, platform in PLATFORM_PREFIXES if short.startswith(prefix)), None)


def _parameter_text(node: _Node, *keys: str) -> str | None:
    """A static parameter value; n8n expressions (`={{ … }}`) are computed at run time and skipped."""
    for key in keys:
        value = node.parameters.get(key)
        if isinstance(value, dict) and value.get("__rl") is True:
            value = value.get("value")
        found = text(value)
        if found is not None and not found.startswith("="):
            return found
    return None


def _model(node: _Node) -> str | None:
    if node.role not in (AI, AGENT, MODEL, EMBEDDINGS):
        return None
    model = _parameter_text(node, "model", "modelName", "modelId")
    return model.removeprefix("models/") if model else None


def _llm_vendor(node: _Node) -> str | None:
    url = node.parameters.get("url")
    if not isinstance(url, str):
        return None
    try:
        host = urlsplit(url.removeprefix("=").strip()).hostname
    except ValueError:
        return None
    return LLM_API_HOSTS.get(host or "")


def _vendor(node: _Node) -> str | None:
    if node.role == HTTP:
        return _llm_vendor(node)
    if node.role in TRIGGER_ROLES - {EVENT_TRIGGER} or node.role == OPAQUE:
        return None
    return vendor_of(node.node_type.rpartition(".")[2])


def _mcp_server(node: _Node) -> str | None:
    if node.role != MCP_CLIENT:
        return None
    return _parameter_text(node, "sseEndpoint", "endpointUrl") or node.name
