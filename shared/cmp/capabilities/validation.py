"""`validate_capabilities`: from a seller's draft (any JSON) to the stored document or a full error list."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from cmp.capabilities.defaults import base_document, category_defaults, deep_merge
from cmp.capabilities.detail_rules import check_rag_detail, check_workflow_detail, reconcile_details
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.normalise import normalise_master
from cmp.capabilities.parsing import canonical_keys, format_path, friendly_message, parse_tolerant, show
from cmp.capabilities.rules import MASTER_RULES, Rule
from cmp.errors import FieldError, ValidationFailed

RULES: tuple[Rule, ...] = (*MASTER_RULES, check_rag_detail, check_workflow_detail)


@dataclass(frozen=True)
class CapabilityValidation:
    """The outcome: the typed document when valid (`.to_document()` is the stored camelCase JSON), else
    every problem found."""

    capabilities: ProductCapabilities | None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _overlaps(semantic: str, type_error: str) -> bool:
    """A semantic error about a value pydantic already rejected (and replaced by a default) is noise."""
    return (
        semantic == type_error
        or semantic.startswith((f"{type_error}.", f"{type_error}["))
        or type_error.startswith(f"{semantic}[")
    )


def validate_capabilities(draft: object, base: ProductCapabilities | None = None) -> CapabilityValidation:
    """Merge the draft over `base` (a product's current capabilities) when given and of the draft's
    category, else over its category defaults; then check types and every semantic rule.

    Only what the draft says counts as the seller's choice (inherited children of a block the draft
    switches off are switched off quietly, whether inherited from `base` or from the defaults).
    Never raises on bad input: anything that is not a well-formed, consistent document comes back
    as `FieldError`s, all of them at once. A `ProductCapabilities` is checked as its stored document
    (a document accepted under older rules may fail today's).
    """
    if isinstance(draft, ProductCapabilities):
        draft = draft.to_document()
    if not isinstance(draft, dict):
        return CapabilityValidation(
            None, [FieldError("", f"the capability document must be a JSON object (got {show(draft)})")]
        )
    parsed, type_errors = parse_tolerant(ProductCapabilities, canonical_keys(draft, ProductCapabilities))
    if parsed is None:
        return CapabilityValidation(None, type_errors)
    seller = parsed.model_dump(by_alias=True, exclude_unset=True)
    if base is not None and base.category == parsed.category:
        below = base.to_document()
        below.pop("subcategory", None)
        merged = deep_merge(deep_merge(base_document(), below), seller)
    else:
        merged = deep_merge(deep_merge(base_document(), category_defaults(parsed.category)), seller)

    semantic = normalise_master(merged, seller)
    semantic.extend(reconcile_details(merged, seller))
    try:
        document = ProductCapabilities.model_validate(merged)
    except ValidationError as exc:
        errors = [
            FieldError(format_path(e["loc"]), friendly_message(e, ProductCapabilities)) for e in exc.errors()
        ]
        return CapabilityValidation(None, type_errors + errors)
    for rule in RULES:
        semantic.extend(rule(document, seller))

    rejected = [error.path for error in type_errors]
    errors = type_errors + [
        error for error in semantic if not any(_overlaps(error.path, path) for path in rejected)
    ]
    if errors:
        return CapabilityValidation(None, errors)
    return CapabilityValidation(document)


def ensure_valid(draft: object, base: ProductCapabilities | None = None) -> ProductCapabilities:
    """The validated document (the draft over `base` when given, see `validate_capabilities`), or
    `ValidationFailed` listing every error."""
    result = validate_capabilities(draft, base)
    if result.capabilities is None:
        raise ValidationFailed("capabilities are invalid", errors=result.errors)
    return result.capabilities
