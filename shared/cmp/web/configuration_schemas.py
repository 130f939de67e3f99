"""Response models of a subscription's configuration sections and its adaptive dashboard descriptor.

Section documents are camelCase as stored (docs/configuration.md lists their fields); every other field is
snake_case like the rest of the API.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cmp.web.schemas import ApiModel


class ConfigurationSection(ApiModel):
    """One configuration section of a subscription, as stored (or its default when never saved)."""

    subscription_id: str
    section: str = Field(examples=["persona"])
    configured: bool = Field(description="Whether the buyer has saved this section (false: the default)")
    values: dict[str, Any] = Field(
        description="The section's document (camelCase fields, see docs/configuration.md)"
    )


class ConfigurationSections(ApiModel):
    """Every section the product opens, in dashboard order."""

    subscription_id: str
    sections: list[ConfigurationSection]


class DashboardSection(ApiModel):
    """One section or subsection of the dashboard: `state` is the line the portal shows beside its title
    ("3 documents", "Configured", "8,234 / 10,000 messages"), `complete` whether it is set up (null where
    that means nothing), `data` what the portal renders inside it."""

    id: str = Field(examples=["configure"])
    title: str
    state: str
    complete: bool | None
    data: dict[str, Any]
    sections: list[DashboardSection]


class DashboardProduct(ApiModel):
    id: str
    slug: str
    name: str
    category: str
    version: str


class DashboardPlan(ApiModel):
    id: str
    name: str | None
    tier: str | None


class Dashboard(ApiModel):
    """The adaptive dashboard descriptor: which sections this product's capabilities give, in order."""

    subscription_id: str
    product: DashboardProduct
    plan: DashboardPlan
    status: str
    sections: list[DashboardSection]
