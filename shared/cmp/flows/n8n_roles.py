"""n8n node types by role: what each known node type of the base and LangChain packages does in a
workflow, which capability each role proposes, and the hosts and node prefixes that name a vendor."""

from __future__ import annotations

from cmp.flows.base import quoted

BASE_PACKAGE = "n8n-nodes-base"
LANGCHAIN_PACKAGE = "@n8n/n8n-nodes-langchain"

SCHEDULE_TRIGGER = "schedule_trigger"
WEBHOOK_TRIGGER = "webhook_trigger"
MANUAL_TRIGGER = "manual_trigger"
EVENT_TRIGGER = "event_trigger"
CHAT_TRIGGER = "chat_trigger"
MCP_TRIGGER = "mcp_trigger"
SUBWORKFLOW_TRIGGER = "subworkflow_trigger"
ERROR_TRIGGER = "error_trigger"
CONDITIONAL = "conditional"
LOOP = "loop"
SUBWORKFLOW = "subworkflow"
WAIT = "wait"
RESPOND = "respond"
STOP_WITH_ERROR = "stop_with_error"
HTTP = "http"
CODE = "code"
SHELL = "shell"
TRANSFORM = "transform"
STORAGE = "storage"
DATABASE = "database"
MESSAGING = "messaging"
INTEGRATION = "integration"
AI = "ai"
AGENT = "agent"
MODEL = "model"
EMBEDDINGS = "embeddings"
VECTOR_STORE = "vector_store"
RETRIEVER = "retriever"
DOCUMENT_LOADER = "document_loader"
MEMORY = "memory"
TOOL = "tool"
MCP_CLIENT = "mcp_client"
NO_OP = "no_op"
NOTE = "note"
OPAQUE = "opaque"


def _roles(role: str, *short_types: str) -> dict[str, str]:
    return {short_type.lower(): role for short_type in short_types}


_BASE_ROLES: dict[str, str] = {
    **_roles(SCHEDULE_TRIGGER, "scheduleTrigger", "cron", "interval"),
    **_roles(WEBHOOK_TRIGGER, "webhook", "formTrigger"),
    **_roles(MANUAL_TRIGGER, "manualTrigger", "start"),
    **_roles(SUBWORKFLOW_TRIGGER, "executeWorkflowTrigger"),
    **_roles(ERROR_TRIGGER, "errorTrigger"),
    **_roles(EVENT_TRIGGER, "emailReadImap"),
    **_roles(CONDITIONAL, "if", "switch", "filter", "merge", "compareDatasets"),
    **_roles(LOOP, "splitInBatches"),
    **_roles(SUBWORKFLOW, "executeWorkflow"),
    **_roles(WAIT, "wait"),
    **_roles(RESPOND, "respondToWebhook"),
    **_roles(STOP_WITH_ERROR, "stopAndError"),
    **_roles(NO_OP, "noOp"),
    **_roles(NOTE, "stickyNote"),
    **_roles(HTTP, "httpRequest", "graphql"),
    **_roles(CODE, "code", "function", "functionItem"),
    **_roles(SHELL, "executeCommand", "ssh"),
    **_roles(
        TRANSFORM,
        "set", "aggregate", "splitOut", "summarize", "sort", "limit", "removeDuplicates", "itemLists",
        "renameKeys", "html", "htmlExtract", "markdown", "xml", "dateTime", "crypto", "extractFromFile",
        "convertToFile", "spreadsheetFile", "moveBinaryData", "editImage", "compression",
    ),
    **_roles(
        STORAGE,
        "readWriteFile", "readBinaryFile", "readBinaryFiles", "writeBinaryFile", "ftp", "awsS3", "s3",
        "googleDrive", "dropbox", "microsoftOneDrive", "box", "nextCloud",
    ),
    **_roles(
        DATABASE,
        "postgres", "mySql", "microsoftSql", "mongoDb", "redis", "supabase", "airtable", "googleSheets",
        "notion", "baserow", "nocoDb", "snowflake", "elasticsearch", "questDb", "crateDb", "timescaleDb",
        "oracleDatabase", "googleBigQuery",
    ),
    **_roles(
        MESSAGING,
        "slack", "telegram", "discord", "microsoftTeams", "whatsApp", "emailSend", "gmail",
        "microsoftOutlook", "mattermost", "twilio", "sendGrid", "mailgun", "mailjet", "rocketchat", "matrix",
    ),
    **_roles(
        INTEGRATION,
        "linear", "github", "gitlab", "jira", "hubspot", "salesforce", "zendesk", "freshdesk", "asana",
        "trello", "clickUp", "stripe", "shopify", "googleCalendar", "googleDocs", "twitter", "youTube",
        "pipedrive", "intercom", "mailchimp", "wordpress", "todoist", "mondayCom",
    ),
}  # fmt: skip

_LANGCHAIN_ROLES: dict[str, str] = {
    **_roles(CHAT_TRIGGER, "chatTrigger", "manualChatTrigger"),
    **_roles(MCP_TRIGGER, "mcpTrigger"),
    **_roles(AGENT, "agent", "agentTool", "openAiAssistant"),
    **_roles(
        AI,
        "openAi", "anthropic", "googleGemini", "mistralAi", "ollama", "informationExtractor",
        "textClassifier", "sentimentAnalysis",
    ),
    **_roles(SUBWORKFLOW, "toolWorkflow"),
    **_roles(CODE, "code", "toolCode"),
    **_roles(HTTP, "toolHttpRequest"),
    **_roles(VECTOR_STORE, "toolVectorStore"),
    **_roles(MCP_CLIENT, "mcpClientTool"),
}  # fmt: skip

_LANGCHAIN_PREFIX_ROLES: tuple[tuple[str, str], ...] = (
    ("chain", AI),
    ("lm", MODEL),
    ("embeddings", EMBEDDINGS),
    ("vectorstore", VECTOR_STORE),
    ("retriever", RETRIEVER),
    ("rerank", RETRIEVER),
    ("document", DOCUMENT_LOADER),
    ("textsplitter", TRANSFORM),
    ("outputparser", TRANSFORM),
    ("memory", MEMORY),
    ("tool", TOOL),
)

LEGACY_TYPES = frozenset({"cron", "interval", "function", "functionitem", "start"})

PLATFORM_PREFIXES: tuple[tuple[str, str], ...] = (
    ("slack", "slack"),
    ("telegram", "telegram"),
    ("discord", "discord"),
    ("microsoftteams", "teams"),
    ("whatsapp", "whatsapp"),
    ("email", "email"),
    ("gmail", "email"),
    ("microsoftoutlook", "email"),
    ("sendgrid", "email"),
    ("mailgun", "email"),
    ("mailjet", "email"),
)

LLM_API_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google-gemini",
    "api.mistral.ai": "mistral",
    "api.groq.com": "groq",
    "api.cohere.com": "cohere",
    "api.cohere.ai": "cohere",
    "api.deepseek.com": "deepseek",
    "openrouter.ai": "openrouter",
}

AI_ROLES = frozenset(
    {AI, AGENT, MODEL, EMBEDDINGS, VECTOR_STORE, RETRIEVER, DOCUMENT_LOADER, MEMORY, TOOL, MCP_CLIENT}
)
TRIGGER_ROLES = frozenset(
    {SCHEDULE_TRIGGER, WEBHOOK_TRIGGER, MANUAL_TRIGGER, EVENT_TRIGGER, CHAT_TRIGGER, MCP_TRIGGER,
     SUBWORKFLOW_TRIGGER, ERROR_TRIGGER}
)  # fmt: skip
FEATURE_BY_ROLE: dict[str, str] = {
    SCHEDULE_TRIGGER: "triggers.schedule",
    WEBHOOK_TRIGGER: "triggers.webhook",
    MANUAL_TRIGGER: "triggers.manual",
    EVENT_TRIGGER: "triggers.event",
    CHAT_TRIGGER: "triggers.webhook",
    MCP_TRIGGER: "triggers.api",
    SUBWORKFLOW_TRIGGER: "flow.subWorkflows",
    SUBWORKFLOW: "flow.subWorkflows",
    ERROR_TRIGGER: "flow.errorHandling",
    STOP_WITH_ERROR: "flow.errorHandling",
    CONDITIONAL: "flow.conditionals",
    LOOP: "flow.loops",
    WAIT: "data.statePersistence",
    MEMORY: "data.statePersistence",
    HTTP: "actions.http",
    CODE: "actions.code",
    SHELL: "actions.code",
    TRANSFORM: "actions.transform",
    STORAGE: "actions.storage",
    DATABASE: "actions.database",
    MESSAGING: "actions.messaging",
}


def classify(node_type: str) -> tuple[str, str | None]:
    """(role, reason it is not fully understood or None) for a namespaced n8n node type."""
    package, _, short_type = node_type.rpartition(".")
    short = short_type.lower()
    if package == LANGCHAIN_PACKAGE:
        if short in _LANGCHAIN_ROLES:
            return _LANGCHAIN_ROLES[short], None
        for prefix, role in _LANGCHAIN_PREFIX_ROLES:
            if short.startswith(prefix):
                return role, None
        return AI, f"unknown LangChain node type {quoted(node_type)} imported as an AI step"
    if package == BASE_PACKAGE:
        if short in _BASE_ROLES:
            return _BASE_ROLES[short], None
        if short.endswith("trigger"):
            return EVENT_TRIGGER, None
    if not package:
        return OPAQUE, f"node type {quoted(node_type)} has no package prefix; imported as opaque step"
    return OPAQUE, f"unknown node type {quoted(node_type)} imported as opaque step"
