"""The detailed workflow capability schema (spec Part 7), carried at `configuration.workflowAdvanced.detail`.

Switches that restate the master `configuration.workflowAdvanced` block (`triggers.webhook.enabled`
restates `triggers.webhook`, and so on) and timeouts bounded by `runtime.limits.timeout` default to
None, meaning "as in the master block"; validation fills them in and rejects a value that contradicts
the master.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cmp.capabilities.base import Interval, NonEmptyStr, Retention, RetryDelay, Ttl, WireModel

WebhookMethod = Literal["GET", "POST", "PUT"]
WebhookAuthentication = Literal["none", "api_key", "signature", "basic"]
ScheduleType = Literal["interval", "cron", "daily", "weekly", "monthly"]
EventSource = Literal["email", "slack", "webhook", "database", "file"]
ConditionOperator = Literal["equals", "contains", "greater", "less", "regex", "exists"]
LoopType = Literal["for_each", "while", "repeat"]
ErrorStrategy = Literal["retry", "fallback", "continue", "fail"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
HttpAuthentication = Literal["none", "basic", "bearer", "api_key", "oauth2"]
DatabaseOperation = Literal["query", "insert", "update", "delete"]
WorkflowDatabaseConnector = Literal["postgres", "mysql", "mongodb", "redis"]
AiOperation = Literal["chat", "completion", "embedding", "classification"]
MessagingChannel = Literal["email", "slack", "teams", "sms", "webhook"]
StorageOperation = Literal["read", "write", "delete", "list"]
StorageProvider = Literal["s3", "gcs", "azure", "local"]
TransformOperation = Literal["map", "filter", "reduce", "merge", "split"]
CodeLanguage = Literal["javascript", "python"]
VariableType = Literal["string", "number", "boolean", "object", "array"]
VariableScope = Literal["workflow", "step", "global"]
SecretEncryption = Literal["aes256", "kms"]
LogLevel = Literal["debug", "info", "warn", "error"]
MonitoringMetric = Literal["executions", "duration", "errors", "throughput"]
AlertCondition = Literal["failure", "slow", "threshold", "anomaly"]
AlertChannel = Literal["email", "slack", "webhook", "pagerduty"]


class WebhookTriggerDetail(WireModel):
    enabled: bool | None = None
    methods: list[WebhookMethod] = []
    authentication: list[WebhookAuthentication] = []
    custom_headers: bool = False


class ScheduleTriggerDetail(WireModel):
    enabled: bool | None = None
    types: list[ScheduleType] = []
    min_interval: Interval = "5m"
    timezone: bool = False


class EventTriggerDetail(WireModel):
    enabled: bool | None = None
    sources: list[EventSource] = []
    filters: bool = False


class ManualTriggerDetail(WireModel):
    enabled: bool | None = None
    parameters: bool = False


class ApiTriggerDetail(WireModel):
    enabled: bool | None = None
    async_: bool = Field(default=False, alias="async")
    timeout: int | None = None
    """Seconds; None means `runtime.limits.timeout`."""


class TriggersDetail(WireModel):
    webhook: WebhookTriggerDetail = Field(default_factory=WebhookTriggerDetail)
    schedule: ScheduleTriggerDetail = Field(default_factory=ScheduleTriggerDetail)
    event: EventTriggerDetail = Field(default_factory=EventTriggerDetail)
    manual: ManualTriggerDetail = Field(default_factory=ManualTriggerDetail)
    api: ApiTriggerDetail = Field(default_factory=ApiTriggerDetail)


class ConditionalsDetail(WireModel):
    enabled: bool | None = None
    operators: list[ConditionOperator] = []
    nested_conditions: bool = False
    switch_case: bool = False


class LoopsDetail(WireModel):
    enabled: bool | None = None
    types: list[LoopType] = []
    max_iterations: int = 100
    parallel_execution: bool = False


class ErrorHandlingDetail(WireModel):
    enabled: bool | None = None
    strategies: list[ErrorStrategy] = []
    max_retries: int = 3
    retry_delay: RetryDelay = "exponential"
    custom_error_handlers: bool = False


class SubWorkflowsDetail(WireModel):
    enabled: bool | None = None
    max_depth: int = 3
    passing_variables: bool = False


class FlowDetail(WireModel):
    conditionals: ConditionalsDetail = Field(default_factory=ConditionalsDetail)
    loops: LoopsDetail = Field(default_factory=LoopsDetail)
    error_handling: ErrorHandlingDetail = Field(default_factory=ErrorHandlingDetail)
    sub_workflows: SubWorkflowsDetail = Field(default_factory=SubWorkflowsDetail)


class HttpActionDetail(WireModel):
    enabled: bool | None = None
    methods: list[HttpMethod] = []
    authentication: list[HttpAuthentication] = []
    custom_headers: bool = False
    timeout: int | None = None
    """Seconds; None means `runtime.limits.timeout`."""


class DatabaseActionDetail(WireModel):
    enabled: bool | None = None
    operations: list[DatabaseOperation] = []
    connectors: list[WorkflowDatabaseConnector] = []


class AiActionDetail(WireModel):
    enabled: bool | None = None
    operations: list[AiOperation] = []
    models: list[NonEmptyStr] = []
    streaming: bool = False


class MessagingActionDetail(WireModel):
    enabled: bool | None = None
    channels: list[MessagingChannel] = []
    templates: bool = False


class StorageActionDetail(WireModel):
    enabled: bool | None = None
    operations: list[StorageOperation] = []
    providers: list[StorageProvider] = []


class TransformActionDetail(WireModel):
    enabled: bool | None = None
    operations: list[TransformOperation] = []
    json_path: bool = False
    jmespath: bool = False
    custom_code: bool = False
    """JavaScript/Python snippets: code execution, so it needs `actions.code` in the master block."""


class CodeActionDetail(WireModel):
    enabled: bool | None = None
    languages: list[CodeLanguage] = []
    timeout: int | None = None
    """Seconds; None means `runtime.limits.timeout`."""
    sandboxed: bool = False


class ActionsDetail(WireModel):
    http: HttpActionDetail = Field(default_factory=HttpActionDetail)
    database: DatabaseActionDetail = Field(default_factory=DatabaseActionDetail)
    ai: AiActionDetail = Field(default_factory=AiActionDetail)
    messaging: MessagingActionDetail = Field(default_factory=MessagingActionDetail)
    storage: StorageActionDetail = Field(default_factory=StorageActionDetail)
    transform: TransformActionDetail = Field(default_factory=TransformActionDetail)
    code: CodeActionDetail = Field(default_factory=CodeActionDetail)


class VariablesDetail(WireModel):
    enabled: bool | None = None
    types: list[VariableType] = []
    scopes: list[VariableScope] = []
    expressions: bool = False


class SecretsDetail(WireModel):
    enabled: bool | None = None
    max_secrets: int = 20
    encryption: SecretEncryption = "kms"
    rotation: bool = False


class StateDetail(WireModel):
    persistence: bool | None = None
    ttl: Ttl = "7d"
    max_size: int = 256
    """KB."""


class DataDetail(WireModel):
    variables: VariablesDetail = Field(default_factory=VariablesDetail)
    secrets: SecretsDetail = Field(default_factory=SecretsDetail)
    state: StateDetail = Field(default_factory=StateDetail)


class LoggingDetail(WireModel):
    enabled: bool = False
    level: list[LogLevel] = []
    retention: Retention = "30d"
    export: bool = False


class MetricsDetail(WireModel):
    enabled: bool = False
    types: list[MonitoringMetric] = []


class MonitoringAlertsDetail(WireModel):
    enabled: bool = False
    conditions: list[AlertCondition] = []
    channels: list[AlertChannel] = []


class TracingDetail(WireModel):
    enabled: bool = False
    sampling: float = 10.0
    """Percent of runs traced, 0-100."""


class MonitoringDetail(WireModel):
    logging: LoggingDetail = Field(default_factory=LoggingDetail)
    metrics: MetricsDetail = Field(default_factory=MetricsDetail)
    alerts: MonitoringAlertsDetail = Field(default_factory=MonitoringAlertsDetail)
    tracing: TracingDetail = Field(default_factory=TracingDetail)


class WorkflowDetail(WireModel):
    """Part 7 `WorkflowCapabilities`: triggers, flow control, actions, data and monitoring in full."""

    triggers: TriggersDetail = Field(default_factory=TriggersDetail)
    flow: FlowDetail = Field(default_factory=FlowDetail)
    actions: ActionsDetail = Field(default_factory=ActionsDetail)
    data: DataDetail = Field(default_factory=DataDetail)
    monitoring: MonitoringDetail = Field(default_factory=MonitoringDetail)
