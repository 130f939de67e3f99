"""Capabilities: the Unified Capability Schema, its category defaults, validation, plans and summaries.

A seller declares what a product can do in one capability document; `validate_capabilities`
merges it over its category defaults, checks it and returns a typed `ProductCapabilities`. Plans are
checked against that document with `validate_plans` and come back as typed `PlanSpec`s.

Dicts exist only at the edges: `ProductCapabilities.from_document` / `.to_document` (and the same pair
on `PlanSpec`) convert to and from the stored camelCase JSON, for repositories and HTTP bodies.
`capability_summary` reads a stored document as it is, for display.

The names below load their module on first access (PEP 562), so importing one light part of the package
(`cmp.capabilities.enums`, say) does not build the ~120 capability models: a cold-start cost only the
functions that validate documents pay (docs/performance.md).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmp.capabilities.defaults import CATEGORY_DEFAULTS, merge_with_defaults
    from cmp.capabilities.enums import CATEGORIES
    from cmp.capabilities.maxima import PLATFORM_MAXIMA, PlatformMaxima
    from cmp.capabilities.models import ProductCapabilities
    from cmp.capabilities.plan_ids import assign_plan_ids, find_plan, new_plan_id
    from cmp.capabilities.plans import (
        MAX_PLANS,
        PLAN_LIMIT_MAX,
        PlanLimits,
        PlanSpec,
        plan_defaults,
        validate_plans,
    )
    from cmp.capabilities.rag_detail import RagDetail
    from cmp.capabilities.schema import capability_json_schema
    from cmp.capabilities.summary import capability_summary
    from cmp.capabilities.validation import CapabilityValidation, ensure_valid, validate_capabilities
    from cmp.capabilities.workflow_detail import WorkflowDetail

_MODULES: dict[str, str] = {
    "CATEGORY_DEFAULTS": "cmp.capabilities.defaults",
    "merge_with_defaults": "cmp.capabilities.defaults",
    "CATEGORIES": "cmp.capabilities.enums",
    "PLATFORM_MAXIMA": "cmp.capabilities.maxima",
    "PlatformMaxima": "cmp.capabilities.maxima",
    "ProductCapabilities": "cmp.capabilities.models",
    "MAX_PLANS": "cmp.capabilities.plans",
    "PLAN_LIMIT_MAX": "cmp.capabilities.plans",
    "PlanLimits": "cmp.capabilities.plans",
    "PlanSpec": "cmp.capabilities.plans",
    "assign_plan_ids": "cmp.capabilities.plan_ids",
    "find_plan": "cmp.capabilities.plan_ids",
    "new_plan_id": "cmp.capabilities.plan_ids",
    "plan_defaults": "cmp.capabilities.plans",
    "validate_plans": "cmp.capabilities.plans",
    "RagDetail": "cmp.capabilities.rag_detail",
    "capability_json_schema": "cmp.capabilities.schema",
    "capability_summary": "cmp.capabilities.summary",
    "CapabilityValidation": "cmp.capabilities.validation",
    "ensure_valid": "cmp.capabilities.validation",
    "validate_capabilities": "cmp.capabilities.validation",
    "WorkflowDetail": "cmp.capabilities.workflow_detail",
}

__all__ = [
    "CATEGORIES",
    "CATEGORY_DEFAULTS",
    "MAX_PLANS",
    "PLAN_LIMIT_MAX",
    "PLATFORM_MAXIMA",
    "CapabilityValidation",
    "PlanLimits",
    "PlanSpec",
    "PlatformMaxima",
    "ProductCapabilities",
    "RagDetail",
    "WorkflowDetail",
    "assign_plan_ids",
    "capability_json_schema",
    "capability_summary",
    "ensure_valid",
    "find_plan",
    "merge_with_defaults",
    "new_plan_id",
    "plan_defaults",
    "validate_capabilities",
    "validate_plans",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'cmp.capabilities' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
