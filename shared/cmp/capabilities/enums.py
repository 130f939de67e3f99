"""Every closed vocabulary of the Unified Capability Schema (spec Part 1), in spec order.

Two values are additions to the spec's master interface: usage metric `executions` and alert type
`failure`. The spec's own CATEGORY_DEFAULTS for automations use them, so the enums carry them.
"""

from __future__ import annotations

from typing import Literal, get_args

Category = Literal["agent", "app", "assistant", "automation"]
AgentSubcategory = Literal["single", "multi", "swarm", "orchestrator"]
AppSubcategory = Literal["agentic", "tool", "connector", "integration"]
AssistantSubcategory = Literal["writer", "image", "voice", "video", "code", "data", "general"]
AutomationSubcategory = Literal["workflow", "scheduled", "triggered", "hybrid"]
Tag = Literal["sales", "marketing", "support", "hr", "finance", "ops", "dev", "general"]

ChatMode = Literal["text", "voice", "video"]
WidgetType = Literal["floating", "inline", "fullpage", "popup"]
ApiProtocol = Literal["rest", "graphql", "websocket", "mcp"]
ApiAuthentication = Literal["api_key", "oauth2", "jwt"]
IntegrationPlatform = Literal["slack", "teams", "discord", "whatsapp", "telegram", "email"]

RetrievalMethod = Literal["vector", "hybrid", "keyword"]
GroundingFallback = Literal["refuse", "general", "escalate"]

UsageMetric = Literal["messages", "tokens", "sessions", "users", "api_calls", "compute_time", "executions"]
AlertType = Literal["usage_limit", "error_rate", "latency", "satisfaction", "failure"]

Deployment = Literal["shared", "dedicated", "hybrid"]
CpuClass = Literal["low", "medium", "high", "gpu"]
MemoryClass = Literal["low", "medium", "high"]
Scaling = Literal["fixed", "auto"]

CATEGORIES: dict[str, list[str]] = {
    "agent": list(get_args(AgentSubcategory)),
    "app": list(get_args(AppSubcategory)),
    "assistant": list(get_args(AssistantSubcategory)),
    "automation": list(get_args(AutomationSubcategory)),
}

ENTERPRISE_DEPLOYMENTS: frozenset[str] = frozenset({"dedicated", "hybrid"})
"""Deployments that can host enterprise-only features (their own namespace, network and GPUs)."""
