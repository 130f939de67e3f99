"""Langflow flow exports (`{name, description, data: {nodes, edges}}`, Langflow 0.6 to 1.x).

The component sits at node `data.type` (`ChatInput`, `AstraDB`, …); the node's own `type` is only the
canvas shape (`genericNode`, `noteNode`). Components unknown to this table are still classified by
their `base_classes` and by their name (`…VectorStore`, `…Retriever`, `…Memory`, `…Model`), so a new
Langflow release mostly imports without warnings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

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
from cmp.flows.langflow_roles import (
    AGENT,
    CHAT_INPUT,
    CHAT_OUTPUT,
    CODE,
    CREW,
    DOCUMENT_LOADER,
    EMBEDDINGS,
    GROUP,
    MCP_CLIENT,
    MEMORY,
    MODEL,
    OPAQUE,
    RETRIEVER,
    TOOL,
    TRANSFORM,
    VECTOR_STORE,
    WEB_LOADER,
    WEBHOOK,
    WORKFLOW_FEATURE_BY_ROLE,
    classify,
)
from cmp.flows.proposal import CODE_DEPLOYMENT, CODE_NEEDS_RUNTIME
from cmp.flows.result import ImportResult
from cmp.flows.secrets import warn_secrets

FORMAT = "langflow"

_GENERATED_ID = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-[A-Za-z0-9]{5}")
_AGENT_ROLES = frozenset({AGENT, CREW})


def matches(document: object) -> bool:
    root = as_dict(document)
    if root is None:
        return False
    graph = as_dict(root.get("data"))
    if graph is not None and ("nodes" in graph or "edges" in graph):
        return True
    return "nodes" in root and "edges" in root and "connections" not in root


@dataclass
class _Component:
    path: str
    id: str
    component_type: str
    name: str
    role: str
    template: dict[str, Any]
    wired_as_tool: bool = False

    def template_value(self, key: str) -> object:
        entry = as_dict(self.template.get(key))
        return entry.get("value") if entry is not None else None


@dataclass
class _Graph:
    components: list[_Component] = field(default_factory=list)
    ids: dict[str, _Component] = field(default_factory=dict)
    group_ids: set[str] = field(default_factory=set)
    """Group nodes (Langflow 1.x `GroupNode`, or 0.x nodes holding `data.node.flow`): read through."""
    edges: list[tuple[str, str, str | None]] = field(default_factory=list)


def import_document(document: object, *, filename: str | None) -> ImportResult:
    findings = Findings()
    root = as_dict(document)
    if root is None:
        findings.error("content", f"expected a Langflow export object, got {type_name(document)}")
        raise findings.fail("Not a Langflow export")
    graph_value, graph_path = _locate_graph(root, findings)
    graph = _Graph()
    _read_graph(graph_value, graph_path, graph, findings)
    if not graph.components and not findings.has_errors:
        findings.error(
            child_path(graph_path, "nodes"), "no components to import (the flow is empty or only notes)"
        )
    if findings.has_errors:
        raise findings.fail("The Langflow export cannot be imported")
    _mark_agent_tools(graph)

    if root.get("is_component") is True:
        findings.warn(
            "is_component", "this export is a single component, not a flow; imported as a one-step flow"
        )
    version = text(root.get("last_tested_version")) or text(root.get("version"))
    if version is None:
        findings.warn(
            "last_tested_version", "missing; the Langflow version that exported this flow is unknown"
        )

    return ImportResult(
        format=FORMAT,
        format_version=version or "unknown",
        name=product_name(
            root.get("name"), "name", findings, filename=filename, fallback="Imported Langflow flow"
        ),
        description=description_text(root.get("description"), "description", findings),
        flow_definition=root,
        proposed_capabilities=_propose(graph, findings),
        components=[
            {
                "id": c.id,
                "type": c.component_type,
                "name": c.name,
                "role": TOOL if c.wired_as_tool else c.role,
            }
            for c in graph.components
        ],
        warnings=findings.warnings(),
    )


def _locate_graph(root: dict[str, Any], findings: Findings) -> tuple[dict[str, Any], str]:
    data = root.get("data")
    if isinstance(data, dict):
        return data, "data"
    if data is None and "nodes" in root:
        findings.warn("data", "missing; nodes and edges were read from the top level")
        return root, ""
    findings.error("data", f"expected an object holding nodes and edges, got {type_name(data)}")
    raise findings.fail("The Langflow export has no flow graph")


def _read_graph(graph_value: dict[str, Any], graph_path: str, graph: _Graph, findings: Findings) -> None:
    """Reads a graph and, iteratively, the graphs of any group nodes inside it."""
    pending: list[tuple[dict[str, Any], str]] = [(graph_value, graph_path)]
    while pending:
        current, path = pending.pop(0)
        nodes_path = child_path(path, "nodes")
        nodes = current.get("nodes")
        if not isinstance(nodes, list):
            findings.error(nodes_path, f"expected an array of nodes, got {type_name(nodes)}")
            return
        check_component_count(len(graph.components) + len(nodes), nodes_path, "nodes")
        for index, node in enumerate(nodes):
            nested = _read_node(node, child_path(nodes_path, index), graph, findings)
            if nested is not None:
                pending.append(nested)
        _read_edges(current, path, graph, findings)


def _read_node(
    node: object, path: str, graph: _Graph, findings: Findings
) -> tuple[dict[str, Any], str] | None:
    """Adds one node to the graph; returns a group node's inner graph for the caller to read next."""
    node_dict = as_dict(node)
    if node_dict is None:
        findings.warn(path, f"expected a node object, got {type_name(node)}; skipped")
        return None
    data = as_dict(node_dict.get("data"))
    if data is None:
        findings.warn(
            child_path(path, "data"), f"expected an object, got {type_name(node_dict.get('data'))}; skipped"
        )
        return None
    inner = as_dict(data.get("node")) or {}
    if node_dict.get("type") == "noteNode" or str(data.get("type", "")).lower() == "note":
        return None

    node_id = text(node_dict.get("id")) or text(data.get("id"))
    if node_id is None:
        node_id = f"node-{len(graph.components)}"
        findings.warn(child_path(path, "id"), f"missing; referred to as {quoted(node_id)}")
    elif node_id in graph.ids:
        findings.warn(child_path(path, "id"), f"duplicate id {quoted(node_id)}; edges to it are ambiguous")

    type_path = child_path(child_path(path, "data"), "type")
    component_type = text(data.get("type"))
    if component_type is None:
        inferred = _GENERATED_ID.fullmatch(node_id)
        component_type = inferred.group(1) if inferred else "unknown"
        findings.warn(
            type_path,
            f"missing; inferred {quoted(component_type)} from the node id"
            if inferred
            else "missing; imported as opaque step",
        )
    base_classes = [item for item in as_list(inner.get("base_classes")) or [] if isinstance(item, str)]
    role = classify(component_type, base_classes)
    flow = as_dict(inner.get("flow"))
    nested = as_dict(flow.get("data")) if flow is not None else None
    if nested is not None and isinstance(nested.get("nodes"), list):
        graph.group_ids.add(node_id)
        return nested, child_path(child_path(child_path(child_path(path, "data"), "node"), "flow"), "data")
    if role == GROUP:
        findings.warn(
            type_path, "group node without a readable inner flow (data.node.flow.data.nodes); skipped"
        )
        return None
    if role == OPAQUE and component_type != "unknown":
        findings.warn(type_path, f"unknown component type {quoted(component_type)} imported as opaque step")
    if role == CODE:
        findings.warn(type_path, f"{quoted(component_type)} runs custom Python code; {CODE_NEEDS_RUNTIME}")
    if inner.get("edited") is True and role != CODE:
        findings.warn(
            child_path(child_path(child_path(path, "data"), "node"), "edited"),
            "the component's code was edited in Langflow; it is imported as-is and needs review",
        )

    template = as_dict(inner.get("template")) or {}
    _warn_template_secrets(
        template, child_path(child_path(child_path(path, "data"), "node"), "template"), findings
    )
    component = _Component(
        path=path,
        id=node_id,
        component_type=component_type,
        name=text(inner.get("display_name")) or component_type,
        role=role,
        template=template,
    )
    graph.components.append(component)
    graph.ids.setdefault(node_id, component)
    return None


def _warn_template_secrets(template: dict[str, Any], path: str, findings: Findings) -> None:
    """Key-shaped secrets in any field value, and filled-in password fields that are not variables."""
    for field_name, entry in template.items():
        field = as_dict(entry)
        if field is None or "value" not in field:
            continue
        value_path = child_path(child_path(path, field_name), "value")
        if warn_secrets(field["value"], value_path, findings):
            continue
        if field.get("password") is True and field.get("load_from_db") is not True and text(field["value"]):
            findings.warn(
                value_path,
                "a password field holds a value typed into the flow; remove it from the file and let the "
                "buyer provide it as a secret",
            )


def _read_edges(graph_value: dict[str, Any], graph_path: str, graph: _Graph, findings: Findings) -> None:
    edges_path = child_path(graph_path, "edges")
    edges = graph_value.get("edges")
    if edges is None:
        findings.warn(edges_path, "missing; components are imported without their connections")
        return
    if not isinstance(edges, list):
        findings.warn(edges_path, f"expected an array of edges, got {type_name(edges)}; connections ignored")
        return
    for index, edge in enumerate(edges):
        edge_path = child_path(edges_path, index)
        edge_dict = as_dict(edge)
        if edge_dict is None:
            findings.warn(edge_path, f"expected an edge object, got {type_name(edge)}; skipped")
            continue
        ends: list[str] = []
        for end in ("source", "target"):
            node_id = text(edge_dict.get(end))
            if node_id is None:
                findings.warn(child_path(edge_path, end), "missing; edge skipped")
            elif node_id in graph.group_ids:
                continue
            elif node_id not in graph.ids:
                findings.warn(child_path(edge_path, end), f"no node with id {quoted(node_id)}; edge skipped")
            else:
                ends.append(node_id)
        if len(ends) == 2:
            graph.edges.append((ends[0], ends[1], _target_field(edge_dict)))


def _target_field(edge: dict[str, Any]) -> str | None:
    """The input an edge feeds; Langflow repeats the handle as an object and as a `œ`-quoted string."""
    data = as_dict(edge.get("data"))
    handle = as_dict(data.get("targetHandle")) if data is not None else None
    if handle is None:
        encoded = text(edge.get("targetHandle"))
        if encoded is not None:
            try:
                handle = as_dict(json.loads(encoded.replace("œ", '"')))
            except ValueError:
                handle = None
    return text(handle.get("fieldName")) if handle is not None else None


def _mark_agent_tools(graph: _Graph) -> None:
    for source, target, field_name in graph.edges:
        if field_name == "tools" and graph.ids[target].role in _AGENT_ROLES:
            graph.ids[source].wired_as_tool = True


def _propose(graph: _Graph, findings: Findings) -> dict[str, Any]:
    draft = CapabilityDraft()
    roles = [c.role for c in graph.components]
    agents = roles.count(AGENT)
    has_chat = CHAT_INPUT in roles or CHAT_OUTPUT in roles
    if CREW in roles or agents > 1:
        draft.classify("agent", "multi")
    elif agents == 1 or has_chat:
        draft.classify("agent", "single")
    elif WEBHOOK in roles:
        draft.classify("automation", "triggered")
    else:
        draft.classify("automation", "workflow")

    memories = [
        c
        for c in graph.components
        if c.role == MEMORY or (c.role == AGENT and ("n_messages" in c.template or "memory" in c.template))
    ]
    streams = [c for c in graph.components if c.role == MODEL and c.template_value("stream") is True]
    if has_chat:
        draft.set("interfaces.chat.enabled", True)
        draft.add("interfaces.chat.modes", ["text"])
        draft.set("interfaces.chat.features.multiTurn", bool(memories))
        if streams:
            draft.set("interfaces.chat.features.streaming", True)
    else:
        _warn_chat_only(memories, streams, findings)
        draft.set("interfaces.api.enabled", True)
        draft.add("interfaces.api.protocols", ["rest"])
        if memories:
            draft.set("configuration.workflowAdvanced.data.statePersistence", True)

    if VECTOR_STORE in roles or RETRIEVER in roles:
        draft.set("configuration.rag.enabled", True)
        draft.set("configuration.rag.sources.documents", True)
        draft.set("configuration.rag.retrieval.method", "vector")
    for component in graph.components:
        if component.wired_as_tool:
            continue
        if component.role == DOCUMENT_LOADER:
            draft.set("configuration.rag.sources.documents", True)
        elif component.role == WEB_LOADER:
            draft.set("configuration.rag.sources.websites", True)

    for role, feature in WORKFLOW_FEATURE_BY_ROLE.items():
        if role in roles:
            draft.set(f"configuration.workflowAdvanced.{feature}", True)
    if draft.get("configuration.workflowAdvanced") is not None or not has_chat:
        _complete_workflow(draft, roles, findings)

    draft.add("runtime.dependencies.models", _models(graph))
    draft.add("runtime.dependencies.services", _services(graph))
    draft.add("runtime.dependencies.mcpServers", _mcp_servers(graph))
    return draft.to_dict()


def _complete_workflow(draft: CapabilityDraft, roles: list[str], findings: Findings) -> None:
    """Switches the advanced workflow on with what it needs: a trigger and at least one action.

    Langflow runs every flow through its run API (`POST /api/v1/run/<flow>`), so a flow without a
    Webhook component is triggered by the API.
    """
    draft.set("configuration.workflowAdvanced.enabled", True)
    trigger = "webhook" if WEBHOOK in roles else "api"
    draft.set(f"configuration.workflowAdvanced.triggers.{trigger}", True)
    if MODEL in roles or AGENT in roles or CREW in roles:
        draft.set("configuration.workflowAdvanced.actions.ai", True)
    if TRANSFORM in roles:
        draft.set("configuration.workflowAdvanced.actions.transform", True)
    if CODE in roles:
        draft.set("runtime.deployment", CODE_DEPLOYMENT)
    if draft.get("configuration.workflowAdvanced.actions") is None:
        draft.set("configuration.workflowAdvanced.actions.transform", True)
        findings.warn(
            "data.nodes",
            "no component is an action CMP knows (model, agent, API request, data processing); "
            "configuration.workflowAdvanced.actions.transform is proposed so the workflow is complete, "
            "correct it in step 3",
        )


def _warn_chat_only(memories: list[_Component], streams: list[_Component], findings: Findings) -> None:
    """Chat features a flow without Chat Input/Output cannot offer: said once per component."""
    for component in memories:
        findings.warn(
            component.path,
            f"{quoted(component.name)} keeps a conversation, but the flow has no Chat Input or Chat Output; "
            "interfaces.chat.features.multiTurn is not proposed (it needs chat: enable chat in step 3 "
            "to offer it)",
        )
    for component in streams:
        findings.warn(
            component.path,
            f"{quoted(component.name)} streams its answer, but the flow has no chat; "
            "interfaces.chat.features.streaming is not proposed",
        )


def _models(graph: _Graph) -> list[str]:
    found: list[str] = []
    for component in graph.components:
        if component.role not in (MODEL, AGENT, EMBEDDINGS):
            continue
        for key in ("model_name", "model", "model_id"):
            value = text(component.template_value(key))
            if value is not None:
                found.append(value)
                break
    return found


def _services(graph: _Graph) -> list[str]:
    found: list[str] = []
    for component in graph.components:
        vendor = vendor_of(component.component_type)
        if component.role == AGENT:
            vendor = vendor or vendor_of(str(component.template_value("agent_llm") or ""))
        if component.role in (MODEL, AGENT, EMBEDDINGS):
            provider = text(component.template_value("provider")) or text(
                component.template_value("model_provider")
            )
            vendor = vendor or (vendor_of(provider) if provider else None)
        if vendor is not None:
            found.append(vendor)
    return found


def _mcp_servers(graph: _Graph) -> list[str]:
    found: list[str] = []
    for component in graph.components:
        if component.role != MCP_CLIENT:
            continue
        server: str | None = None
        for key in ("mcp_server", "sse_url", "url", "command"):
            value = component.template_value(key)
            server = text(value) or (text(value.get("name")) if isinstance(value, dict) else None)
            if server is not None:
                break
        found.append(server or component.name)
    return found
