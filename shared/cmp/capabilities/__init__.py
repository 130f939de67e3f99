"""Capabilities: the Unified Capability Schema, its category defaults, validation, plans and summaries.

A seller declares what a product can do in one capability document; `validate_capabilities`
merges it over its category defaults, checks it and returns the document to store. Plans are
checked against that document with `validate_plans`.
"""

from cmp.capabilities.defaults import CATEGORY_DEFAULTS, merge_with_defaults
from cmp.capabilities.enums import CATEGORIES
from cmp.capabilities.maxima import PLATFORM_MAXIMA, PlatformMaxima
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.plans import PlanLimits, PlanSpec, plan_defaults, validate_plans
from cmp.capabilities.rag_detail import RagDetail
from cmp.capabilities.schema import capability_json_schema
from cmp.capabilities.summary import capability_summary
from cmp.capabilities.validation import CapabilityValidation, ensure_valid, validate_capabilities
from cmp.capabilities.workflow_detail import WorkflowDetail

__all__ = [
    "CATEGORIES",
    "CATEGORY_DEFAULTS",
    "PLATFORM_MAXIMA",
    "CapabilityValidation",
    "PlanLimits",
    "PlanSpec",
    "PlatformMaxima",
    "ProductCapabilities",
    "RagDetail",
    "WorkflowDetail",
    "capability_json_schema",
    "capability_summary",
    "ensure_valid",
    "merge_with_defaults",
    "plan_defaults",
    "validate_capabilities",
    "validate_plans",
]
