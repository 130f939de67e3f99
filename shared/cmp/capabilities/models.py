"""The Unified Capability Schema (spec Part 1) as pydantic models.

Every field has a default (switches off, lists empty, limits at sensible values), so a seller's
partial draft, merged over its category defaults, validates into a complete document.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cmp.capabilities.base import NonEmptyStr, WireModel
from cmp.capabilities.enums import (
    AgentSubcategory,
    AlertType,
    ApiAuthentication,
    ApiProtocol,
    AppSubcategory,
    AssistantSubcategory,
    AutomationSubcategory,
    Category,
    ChatMode,
    CpuClass,
    Deployment,
    GroundingFallback,
    IntegrationPlatform,
    MemoryClass,
    RetrievalMethod,
    Scaling,
    Tag,
    UsageMetric,
    WidgetType,
)
from cmp.capabilities.rag_detail import RagDetail
from cmp.capabilities.workflow_detail import WorkflowDetail

# ── metadata ─────────────────────────────────────────────────────────────


class Subcategory(WireModel):
    """Exactly one key, the product's category, naming its subcategory."""

    agent: AgentSubcategory | None = None
    app: AppSubcategory | None = None
    assistant: AssistantSubcategory | None = None
    automation: AutomationSubcategory | None = None


# ── interfaces ───────────────────────────────────────────────────────────


class ChatFeatures(WireModel):
    streaming: bool = False
    file_upload: bool = False
    image_input: bool = False
    multi_turn: bool = False
    suggested_replies: bool = False


class ChatInterface(WireModel):
    enabled: bool = False
    modes: list[ChatMode] = []
    features: ChatFeatures = Field(default_factory=ChatFeatures)


class WidgetCustomization(WireModel):
    theme: bool = False
    colors: bool = False
    position: bool = False
    size: bool = False
    avatar: bool = False
    launcher: bool = False


class WidgetInterface(WireModel):
    enabled: bool = False
    types: list[WidgetType] = []
    customization: WidgetCustomization = Field(default_factory=WidgetCustomization)


class ApiFeatures(WireModel):
    webhooks: bool = False
    callbacks: bool = False
    batch: bool = False


class ApiInterface(WireModel):
    enabled: bool = False
    protocols: list[ApiProtocol] = []
    authentication: list[ApiAuthentication] = []
    features: ApiFeatures = Field(default_factory=ApiFeatures)


class IntegrationsInterface(WireModel):
    enabled: bool = False
    platforms: list[IntegrationPlatform] = []


class Interfaces(WireModel):
    chat: ChatInterface = Field(default_factory=ChatInterface)
    widget: WidgetInterface = Field(default_factory=WidgetInterface)
    api: ApiInterface = Field(default_factory=ApiInterface)
    integrations: IntegrationsInterface = Field(default_factory=IntegrationsInterface)


# ── configuration ────────────────────────────────────────────────────────


class KnowledgeSources(WireModel):
    documents: bool = False
    websites: bool = False
    databases: bool = False
    apis: bool = False
    qa_files: bool = False


class KnowledgeLimits(WireModel):
    max_documents: int = 50
    max_size_mb: int = Field(default=500, alias="maxSizeMB")
    max_urls: int = 100


class KnowledgeConfig(WireModel):
    enabled: bool = False
    sources: KnowledgeSources = Field(default_factory=KnowledgeSources)
    limits: KnowledgeLimits = Field(default_factory=KnowledgeLimits)


class PersonaOptions(WireModel):
    name: bool = False
    avatar: bool = False
    tone: bool = False
    language: bool = False
    instructions: bool = False
    boundaries: bool = False


class PersonaConfig(WireModel):
    enabled: bool = False
    options: PersonaOptions = Field(default_factory=PersonaOptions)


class ConversationOptions(WireModel):
    welcome_message: bool = False
    welcome_variants: bool = False
    suggested_prompts: bool = False
    fallback_message: bool = False
    handoff_message: bool = False
    exit_message: bool = False
    feedback_request: bool = False


class ConversationConfig(WireModel):
    enabled: bool = False
    options: ConversationOptions = Field(default_factory=ConversationOptions)


class BrandingOptions(WireModel):
    logo: bool = False
    colors: bool = False
    fonts: bool = False
    custom_css: bool = Field(default=False, alias="customCSS")


class BrandingConfig(WireModel):
    enabled: bool = False
    options: BrandingOptions = Field(default_factory=BrandingOptions)


class WorkflowOptions(WireModel):
    triggers: bool = False
    schedule: bool = False
    conditions: bool = False
    actions: bool = False
    variables: bool = False
    secrets: bool = False


class WorkflowConfig(WireModel):
    enabled: bool = False
    options: WorkflowOptions = Field(default_factory=WorkflowOptions)


class OutputOptions(WireModel):
    format: bool = False
    quality: bool = False
    style: bool = False
    templates: bool = False


class OutputConfig(WireModel):
    enabled: bool = False
    options: OutputOptions = Field(default_factory=OutputOptions)


class RagSources(WireModel):
    documents: bool = False
    websites: bool = False
    qa_pairs: bool = False
    databases: bool = False
    """Enterprise only."""
    apis: bool = False
    """Enterprise only."""


class RagLimits(WireModel):
    max_documents: int = 50
    max_size_mb: int = Field(default=500, alias="maxSizeMB")
    max_urls: int = 100
    max_chunks: int = 50_000


class RagRetrieval(WireModel):
    top_k: int = 5
    method: RetrievalMethod = "hybrid"
    reranking: bool = False
    citations: bool = False


class RagGrounding(WireModel):
    strict_mode: bool = False
    fallback: GroundingFallback = "general"


class RagConfig(WireModel):
    enabled: bool = False
    sources: RagSources = Field(default_factory=RagSources)
    limits: RagLimits = Field(default_factory=RagLimits)
    retrieval: RagRetrieval = Field(default_factory=RagRetrieval)
    grounding: RagGrounding = Field(default_factory=RagGrounding)
    detail: RagDetail | None = None
    """Optional Part 6 detail; omitted when the seller gives none."""


class WorkflowTriggers(WireModel):
    webhook: bool = False
    schedule: bool = False
    event: bool = False
    manual: bool = False
    api: bool = False


class WorkflowFlow(WireModel):
    conditionals: bool = False
    loops: bool = False
    parallel_execution: bool = False
    sub_workflows: bool = False
    error_handling: bool = False


class WorkflowActions(WireModel):
    http: bool = False
    database: bool = False
    ai: bool = False
    messaging: bool = False
    storage: bool = False
    transform: bool = False
    code: bool = False
    """Enterprise only."""


class WorkflowData(WireModel):
    variables: bool = False
    secrets: bool = False
    state_persistence: bool = False


class WorkflowAdvancedConfig(WireModel):
    enabled: bool = False
    triggers: WorkflowTriggers = Field(default_factory=WorkflowTriggers)
    flow: WorkflowFlow = Field(default_factory=WorkflowFlow)
    actions: WorkflowActions = Field(default_factory=WorkflowActions)
    data: WorkflowData = Field(default_factory=WorkflowData)
    detail: WorkflowDetail | None = None
    """Optional Part 7 detail; omitted when the seller gives none."""


class Configuration(WireModel):
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    persona: PersonaConfig = Field(default_factory=PersonaConfig)
    conversation: ConversationConfig = Field(default_factory=ConversationConfig)
    branding: BrandingConfig = Field(default_factory=BrandingConfig)
    workflow: WorkflowConfig = Field(default_factory=WorkflowConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    workflow_advanced: WorkflowAdvancedConfig = Field(default_factory=WorkflowAdvancedConfig)


# ── analytics ────────────────────────────────────────────────────────────


class UsageAnalytics(WireModel):
    enabled: bool = False
    metrics: list[UsageMetric] = []


class ConversationAnalyticsFeatures(WireModel):
    transcripts: bool = False
    search: bool = False
    export: bool = False


class ConversationAnalytics(WireModel):
    enabled: bool = False
    features: ConversationAnalyticsFeatures = Field(default_factory=ConversationAnalyticsFeatures)


class InsightsFeatures(WireModel):
    topics: bool = False
    sentiment: bool = False
    satisfaction: bool = False
    performance: bool = False


class InsightsAnalytics(WireModel):
    enabled: bool = False
    features: InsightsFeatures = Field(default_factory=InsightsFeatures)


class AlertsAnalytics(WireModel):
    enabled: bool = False
    types: list[AlertType] = []


class Analytics(WireModel):
    usage: UsageAnalytics = Field(default_factory=UsageAnalytics)
    conversations: ConversationAnalytics = Field(default_factory=ConversationAnalytics)
    insights: InsightsAnalytics = Field(default_factory=InsightsAnalytics)
    alerts: AlertsAnalytics = Field(default_factory=AlertsAnalytics)


# ── runtime ──────────────────────────────────────────────────────────────


class RuntimeCompute(WireModel):
    cpu: CpuClass = "low"
    memory: MemoryClass = "low"
    scaling: Scaling = "auto"


class RuntimeDependencies(WireModel):
    models: list[NonEmptyStr] = []
    services: list[NonEmptyStr] = []
    mcp_servers: list[NonEmptyStr] = []


class RuntimeLimits(WireModel):
    rate_limit: int = 300
    """Requests per minute the product accepts; plans may grant up to this."""
    concurrency: int = 20
    """Concurrent sessions; plans may grant up to this."""
    timeout: int = 60
    """Maximum execution time in seconds."""


class Runtime(WireModel):
    deployment: Deployment = "shared"
    compute: RuntimeCompute = Field(default_factory=RuntimeCompute)
    dependencies: RuntimeDependencies = Field(default_factory=RuntimeDependencies)
    limits: RuntimeLimits = Field(default_factory=RuntimeLimits)


# ── the document ─────────────────────────────────────────────────────────


class ProductCapabilities(WireModel):
    """One product's capability document: what the seller offers, the buyer configures, the runtime runs."""

    category: Category | None = None
    """Required; None only so a draft without it is reported instead of rejected outright."""
    subcategory: Subcategory = Field(default_factory=Subcategory)
    tags: list[Tag] = []
    interfaces: Interfaces = Field(default_factory=Interfaces)
    configuration: Configuration = Field(default_factory=Configuration)
    analytics: Analytics = Field(default_factory=Analytics)
    runtime: Runtime = Field(default_factory=Runtime)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ProductCapabilities:
        """Read a stored (camelCase JSON) document back; raises pydantic's `ValidationError` when it does not
        have the schema's shape. Rules are not re-checked: a document stored under older rules still loads."""
        return cls.model_validate(document)

    def to_document(self) -> dict[str, Any]:
        """The stored camelCase JSON form (nulls left out), exactly what the JSON columns hold."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
