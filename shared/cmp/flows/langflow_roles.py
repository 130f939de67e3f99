"""Langflow components by role: what each known component type (or interface, or name part) does in a
flow, and which capability each role proposes."""

from __future__ import annotations

import re

CHAT_INPUT = "chat_input"
CHAT_OUTPUT = "chat_output"
TEXT_IO = "text_io"
WEBHOOK = "webhook"
AGENT = "agent"
CREW = "multi_agent"
MODEL = "model"
EMBEDDINGS = "embeddings"
VECTOR_STORE = "vector_store"
RETRIEVER = "retriever"
MEMORY = "memory"
DOCUMENT_LOADER = "document_loader"
WEB_LOADER = "web_loader"
PROMPT = "prompt"
TRANSFORM = "transform"
ROUTER = "router"
LOOP = "loop"
SUBFLOW = "subflow"
HTTP = "http"
MCP_CLIENT = "mcp_client"
CODE = "code"
TOOL = "tool"
NOTE = "note"
GROUP = "group"
OPAQUE = "opaque"

_ROLE_BY_TYPE: dict[str, str] = {
    "chatinput": CHAT_INPUT,
    "chatoutput": CHAT_OUTPUT,
    "textinput": TEXT_IO,
    "textoutput": TEXT_IO,
    "webhook": WEBHOOK,
    "agent": AGENT,
    "toolcallingagent": AGENT,
    "openaitoolsagent": AGENT,
    "crewaiagentcomponent": AGENT,
    "sequentialcrewcomponent": CREW,
    "hierarchicalcrewcomponent": CREW,
    "prompt": PROMPT,
    "prompttemplate": PROMPT,
    "memory": MEMORY,
    "storemessage": MEMORY,
    "file": DOCUMENT_LOADER,
    "directory": DOCUMENT_LOADER,
    "url": WEB_LOADER,
    "conditionalrouter": ROUTER,
    "dataconditionalrouter": ROUTER,
    "llmroutercomponent": ROUTER,
    "loopcomponent": LOOP,
    "batchruncomponent": MODEL,
    "apirequest": HTTP,
    "runflow": SUBFLOW,
    "subflow": SUBFLOW,
    "flowtool": SUBFLOW,
    "mcp": MCP_CLIENT,
    "mcptools": MCP_CLIENT,
    "mcpcomponent": MCP_CLIENT,
    "mcptoolscomponent": MCP_CLIENT,
    "mcpsse": MCP_CLIENT,
    "mcpstdio": MCP_CLIENT,
    "customcomponent": CODE,
    "pythonreplcomponent": CODE,
    "pythonrepltool": CODE,
    "pythoncodestructuredtool": CODE,
    "pythonfunction": CODE,
    "note": NOTE,
    "notenode": NOTE,
    "groupnode": GROUP,
    "parser": TRANSFORM,
    "parsedata": TRANSFORM,
    "parsedataframe": TRANSFORM,
    "parsejsondata": TRANSFORM,
    "messagetodata": TRANSFORM,
    "datatodataframe": TRANSFORM,
    "splittext": TRANSFORM,
    "combinetext": TRANSFORM,
    "filterdata": TRANSFORM,
    "selectdata": TRANSFORM,
    "updatedata": TRANSFORM,
    "createdata": TRANSFORM,
    "mergedatacomponent": TRANSFORM,
    "structuredoutput": TRANSFORM,
    "structuredoutputcomponent": TRANSFORM,
    "typeconvertercomponent": TRANSFORM,
    "currentdate": TRANSFORM,
    "calculatorcomponent": TOOL,
    "arxivcomponent": TOOL,
    "wikipediaapi": TOOL,
    "youtubecommentscomponent": TOOL,
    "youtubetranscripts": TOOL,
    "tavilysearchcomponent": TOOL,
    "duckduckgosearchcomponent": TOOL,
    "googlesearchapicore": TOOL,
    "serpapi": TOOL,
    "searchapi": TOOL,
}

_ROLE_BY_BASE_CLASS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"VectorStore"}), VECTOR_STORE),
    (frozenset({"Retriever", "BaseRetriever"}), RETRIEVER),
    (frozenset({"Embeddings"}), EMBEDDINGS),
    (frozenset({"BaseChatMemory", "BaseChatMessageHistory", "BaseMemory"}), MEMORY),
    (frozenset({"AgentExecutor"}), AGENT),
    (frozenset({"LanguageModel", "BaseLanguageModel", "BaseChatModel", "BaseLLM"}), MODEL),
    (frozenset({"Tool", "BaseTool", "StructuredTool"}), TOOL),
)

_VECTOR_STORE_NAMES = (
    "vectorstore", "astradb", "chroma", "qdrant", "pinecone", "weaviate", "faiss", "pgvector", "milvus",
    "mongodbatlas", "elasticsearch", "opensearch", "cassandra", "supabase", "upstash", "vectara",
    "couchbase", "clickhouse", "lancedb", "redisvector", "hcd",
)  # fmt: skip

_ROLE_BY_NAME_PART: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mcp",), MCP_CLIENT),
    (_VECTOR_STORE_NAMES, VECTOR_STORE),
    (("retriever", "retrieval"), RETRIEVER),
    (("memory", "messagehistory", "chathistory"), MEMORY),
    (("crew",), CREW),
    (("agent",), AGENT),
    (("embedding",), EMBEDDINGS),
    (("model", "llm", "chain"), MODEL),
    (("loader", "directory", "pdf", "docling", "unstructured"), DOCUMENT_LOADER),
    (("url", "crawl", "scrape", "sitemap"), WEB_LOADER),
    (("router", "conditional", "ifelse"), ROUTER),
    (("loop", "iterat"), LOOP),
    (("prompt",), PROMPT),
    (("split", "parse", "combine", "filter", "convert", "merge", "extract"), TRANSFORM),
    (("tool", "search", "api"), TOOL),
)

WORKFLOW_FEATURE_BY_ROLE: dict[str, str] = {
    ROUTER: "flow.conditionals",
    LOOP: "flow.loops",
    SUBFLOW: "flow.subWorkflows",
    HTTP: "actions.http",
    CODE: "actions.code",
}


def classify(component_type: str, base_classes: list[str]) -> str:
    """The component's role in the flow, or OPAQUE when neither its type nor its interface tells."""
    squashed = re.sub(r"[^a-z0-9]", "", component_type.lower())
    if squashed in _ROLE_BY_TYPE:
        return _ROLE_BY_TYPE[squashed]
    for classes, role in _ROLE_BY_BASE_CLASS:
        if classes.intersection(base_classes):
            return role
    for parts, role in _ROLE_BY_NAME_PART:
        if any(part in squashed for part in parts):
            return role
    return OPAQUE
