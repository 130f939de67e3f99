"""Response models of the gateway's own runtime route (`cmp.web.routes.runtime`)."""

from __future__ import annotations

from typing import Literal

from cmp.web.schemas import ApiModel


class RuntimeContextOut(ApiModel):
    """Who the gateway sees on this call: the credential kind, the subscription it acts for, its scopes and,
    for a widget token, the checked Origin."""

    principal: Literal["api_key", "widget_token", "portal"]
    tenant_id: str
    subscription_id: str
    product_id: str
    plan_id: str
    runtime: Literal["shared", "dedicated"]
    key_id: str | None
    scopes: list[str]
    origin: str | None
