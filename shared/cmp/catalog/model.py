"""The catalog's entities and their rules: a product's lifecycle, its wizard and listing (assets are in
`asset_model`, review runs in `review_model`).

No I/O here. A `Product` is the seller's working copy; it owns its status (draft → pending_review →
approved/rejected → archived), which wizard steps are done, which edits are allowed in which status and
what submitting requires. Repositories load and save these objects; services call their rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cmp.capabilities import (
    CATEGORIES,
    PlanSpec,
    ProductCapabilities,
    merge_with_defaults,
    validate_capabilities,
)
from cmp.errors import Conflict, FieldError, ValidationFailed
from cmp.money import Money

if TYPE_CHECKING:
    from cmp.catalog.asset_model import Asset

Status = Literal["draft", "pending_review", "approved", "rejected", "archived"]
Step = Literal["category", "source", "capabilities", "plans", "listing"]
WIZARD_STEPS: tuple[Step, ...] = ("category", "source", "capabilities", "plans", "listing")
REQUIRED_STEPS: tuple[Step, ...] = tuple(s for s in WIZARD_STEPS if s != "source")
"""Submitting needs every step but `source` (importing a flow or picking a template is optional)."""

# ── listing limits: the one source (the web layer's request models reuse them) ─────────────
NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 120
SLUG_MAX_LENGTH = 120
SHORT_DESCRIPTION_MAX_LENGTH = 150
FULL_DESCRIPTION_MAX_LENGTH = 50_000
URL_MAX_LENGTH = 500
MAX_TAGS = 10
TAG_MAX_LENGTH = 40
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
TAG_PATTERN = re.compile(rf"^[a-z0-9][a-z0-9-]{{0,{TAG_MAX_LENGTH - 1}}}$")
FULL_DESCRIPTION_REVIEW_MIN_LENGTH = 50
"""Review asks for at least this many characters of full description (the wizard accepts fewer)."""


def check_category(category: str, subcategory: str) -> None:
    """Raises `ValidationFailed` unless `category` is known and `subcategory` belongs to it."""
    if category not in CATEGORIES:
        raise ValidationFailed(
            "unknown category", errors=[FieldError("category", f"must be one of {', '.join(CATEGORIES)}")]
        )
    if subcategory not in CATEGORIES[category]:
        raise ValidationFailed(
            "subcategory does not belong to the category",
            errors=[
                FieldError("subcategory", f"for {category} must be one of {', '.join(CATEGORIES[category])}")
            ],
        )


@dataclass(frozen=True)
class Listing:
    """What the marketplace shows about a product (step 5). Fields are None/empty until the step is done."""

    name: str | None = None
    slug: str | None = None
    short_description: str | None = None
    full_description: str | None = None
    demo_url: str | None = None
    documentation_url: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, given: Mapping[str, Any]) -> Listing:
        """Check a seller's listing against every limit at once; the slug defaults to the name transliterated
        to ASCII ("Café Crème" → `cafe-creme`).

        Raises `ValidationFailed` listing every broken rule (paths are the field names, `tags[i]`): a name
        with nothing to transliterate and no slug is an error on `name`; a slug that parses as an id (a
        UUID, with or without hyphens) is refused on `slug`, as the marketplace would take it for an id."""
        errors: list[FieldError] = []
        name = (given.get("name") or "").strip()
        if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
            errors.append(FieldError("name", f"must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters"))
        slug, slug_errors = _slug(given.get("slug"), name)
        errors.extend(slug_errors)
        short = (given.get("short_description") or "").strip()
        if not short:
            errors.append(FieldError("short_description", "is required"))
        elif len(short) > SHORT_DESCRIPTION_MAX_LENGTH:
            errors.append(
                FieldError(
                    "short_description",
                    f"must be at most {SHORT_DESCRIPTION_MAX_LENGTH} characters (got {len(short)})",
                )
            )
        full = given.get("full_description") or ""
        if len(full) > FULL_DESCRIPTION_MAX_LENGTH:
            errors.append(
                FieldError("full_description", f"must be at most {FULL_DESCRIPTION_MAX_LENGTH:,} characters")
            )
        for url_field in ("demo_url", "documentation_url"):
            value = given.get(url_field)
            if value and (not URL_PATTERN.match(value) or len(value) > URL_MAX_LENGTH):
                errors.append(
                    FieldError(url_field, f"must be an http(s) URL of at most {URL_MAX_LENGTH} characters")
                )
        tags = given.get("tags") or []
        if len(tags) > MAX_TAGS:
            errors.append(FieldError("tags", f"at most {MAX_TAGS} tags"))
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
                errors.append(
                    FieldError(
                        f"tags[{i}]", f"must be lower-case letters, digits and hyphens (≤ {TAG_MAX_LENGTH})"
                    )
                )
        if errors:
            raise ValidationFailed("listing is invalid", errors=errors)
        return cls(
            name=name,
            slug=slug,
            short_description=short,
            full_description=full,
            demo_url=given.get("demo_url"),
            documentation_url=given.get("documentation_url"),
            tags=tuple(tags),
        )

    def to_dict(self) -> dict[str, Any]:
        """The listing fields as the API and version snapshots show them (`tags` a list)."""
        return {
            "name": self.name,
            "slug": self.slug,
            "short_description": self.short_description,
            "full_description": self.full_description,
            "demo_url": self.demo_url,
            "documentation_url": self.documentation_url,
            "tags": list(self.tags),
        }


def _slug(given_slug: Any, name: str) -> tuple[str, list[FieldError]]:
    """The seller's slug, or the one derived from `name`, with what is wrong with it."""
    from cmp.text import SLUG_PATTERN, looks_like_id, slugify  # python-slugify loads on the first listing

    if given_slug:
        slug, field_name = given_slug, "slug"
    else:
        slug, field_name = slugify(name, SLUG_MAX_LENGTH), "name"
        if not slug:
            return "", (
                [FieldError("name", "has no letters or digits a URL slug can be made of; give a slug")]
                if name
                else []
            )
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX_LENGTH:
        return "", [
            FieldError("slug", f"must be lower-case letters, digits and single hyphens, ≤ {SLUG_MAX_LENGTH}")
        ]
    if looks_like_id(slug):
        advice = "choose another slug" if field_name == "slug" else "give a slug"
        return "", [
            FieldError(
                field_name,
                f"the slug '{slug}' reads as an id, so its marketplace page could not be found by it; {advice}",
            )
        ]
    return slug, []


@dataclass(frozen=True)
class FlowImport:
    """An imported flow file (step 2): its format, its definition and the import report (plain JSON)."""

    format: str
    definition: Any
    report: dict[str, Any]


@dataclass
class Product:
    """A seller's product: the working copy the wizard edits, with its lifecycle.

    `capabilities` is the typed capability document; `live_version` is the last approved version (None
    until the first approval); `logo_key`/`screenshot_keys` mirror the ready assets.
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    category: str
    subcategory: str
    capabilities: ProductCapabilities
    updated_at: datetime
    status: Status = "draft"
    completed_steps: tuple[Step, ...] = ("category",)
    listing: Listing = field(default_factory=Listing)
    logo_key: str | None = None
    screenshot_keys: tuple[str, ...] = ()
    flow: FlowImport | None = None
    template: str | None = None
    review_reasons: tuple[str, ...] = ()
    live_version: str | None = None
    published_at: datetime | None = None

    @classmethod
    def new_draft(
        cls, product_id: uuid.UUID, tenant_id: uuid.UUID, category: str, subcategory: str, now: datetime
    ) -> Product:
        """Step 1: a draft of `category`/`subcategory` with the category's default capabilities.

        Raises `ValidationFailed` for an unknown category or a subcategory of another category."""
        check_category(category, subcategory)
        return cls(
            id=product_id,
            tenant_id=tenant_id,
            category=category,
            subcategory=subcategory,
            capabilities=default_capabilities(category, subcategory),
            updated_at=now,
        )

    # ── status ─────────────────────────────────────────────────────────────────────────────
    @property
    def next_step(self) -> Step | None:
        """The first wizard step not done yet, or None when all are."""
        return next((s for s in WIZARD_STEPS if s not in self.completed_steps), None)

    @property
    def has_unpublished_changes(self) -> bool:
        """A published product whose working copy differs from its live version."""
        return bool(self.live_version) and self.status != "approved"

    def ensure_editable(self) -> None:
        """Raises `Conflict` while the product is in review or archived (the only statuses that freeze it)."""
        if self.status == "pending_review":
            raise Conflict("the product is in review; wait for the decision before editing")
        if self.status == "archived":
            raise Conflict("the product is archived")

    def complete(self, step: Step, now: datetime) -> None:
        """Mark `step` done after an edit; editing a published or rejected product makes it a draft again."""
        self.completed_steps = tuple(s for s in WIZARD_STEPS if s in self.completed_steps or s == step)
        self._edited(now)

    def _edited(self, now: datetime) -> None:
        if self.status in ("approved", "rejected"):
            self.status = "draft"
        self.updated_at = now

    def submit(self, now: datetime) -> None:
        """Send the working copy to review.

        Raises `Conflict` when it is not editable, already published as it is, or a required step is
        missing (one `FieldError` per missing step)."""
        self.ensure_editable()
        if self.status == "approved":
            raise Conflict("this version is already published; edit the product to create a new version")
        missing = [s for s in REQUIRED_STEPS if s not in self.completed_steps]
        if missing:
            raise Conflict(
                "complete every step before submitting",
                errors=[FieldError(step, "step not completed") for step in missing],
            )
        self.status = "pending_review"
        self.review_reasons = ()
        self.updated_at = now

    def ensure_pending_review(self) -> None:
        """Raises `Conflict` unless the product waits for an admin's decision."""
        if self.status != "pending_review":
            raise Conflict(f"the product is {self.status.replace('_', ' ')}, not waiting for review")

    def approve(self, version: str, now: datetime) -> None:
        """Publish the working copy as `version` (the caller checked it is pending review)."""
        self.status = "approved"
        self.live_version = version
        self.published_at = now
        self.review_reasons = ()
        self.updated_at = now

    def reject(self, reasons: list[str], now: datetime) -> None:
        """Send the product back to the seller with `reasons`."""
        self.status = "rejected"
        self.review_reasons = tuple(reasons)
        self.updated_at = now

    def archive(self, now: datetime) -> bool:
        """Take the product off the marketplace (it can be restored); False when it already was archived."""
        if self.status == "archived":
            return False
        self.status = "archived"
        self.updated_at = now
        return True

    def restore(self, now: datetime) -> None:
        """Bring an archived product back as a draft: editable again, off the marketplace until a new
        version is approved (its published versions are kept). Raises `Conflict` unless it is archived."""
        if self.status != "archived":
            raise Conflict(f"only an archived product can be restored; this one is {self._status_text}")
        self.status = "draft"
        self.updated_at = now

    def ensure_deletable(self) -> None:
        """Raises `Conflict` for a product that was ever published: its versions stay, as subscriptions and
        the version history refer to them (a live one can be archived, an archived one restored)."""
        if not self.live_version:
            return
        if self.status == "archived":
            raise Conflict(
                "a product that was published is never deleted (its versions back subscriptions); it is "
                "already archived and off the marketplace — restore it to edit it again"
            )
        raise Conflict("a published product cannot be deleted; archive it to take it off the marketplace")

    @property
    def _status_text(self) -> str:
        return self.status.replace("_", " ")

    # ── wizard steps ──────────────────────────────────────────────────────────────────────
    def change_category(self, category: str, subcategory: str, now: datetime) -> None:
        """Step 1 again: keeps the capability choices that still validate, else the new category's defaults.

        Raises `ValidationFailed` for a bad category, `Conflict` once the product was published."""
        check_category(category, subcategory)
        self.ensure_editable()
        if self.live_version:
            raise Conflict("a published product cannot change category; create a new product instead")
        draft = self.capabilities.to_document()
        draft.update({"category": category, "subcategory": {category: subcategory}})
        checked = validate_capabilities(draft).capabilities
        self.category, self.subcategory = category, subcategory
        self.capabilities = checked or default_capabilities(category, subcategory)
        self.updated_at = now

    def seller_draft(self, draft: Any) -> Any:
        """A seller's capability draft with this product's category and subcategory filled in when absent
        (step 3 validates it over the current capabilities, `validate_capabilities(..., base=...)`)."""
        if not isinstance(draft, dict):
            return draft
        return {"category": self.category, "subcategory": {self.category: self.subcategory}, **draft}

    def category_fixed(self, draft: dict[str, Any]) -> dict[str, Any]:
        """A proposed draft forced to this product's category and subcategory."""
        return {**draft, "category": self.category, "subcategory": {self.category: self.subcategory}}

    def set_capabilities(self, capabilities: ProductCapabilities, now: datetime) -> None:
        """Step 3: store a validated document; its tags become the product's tags.

        Raises `ValidationFailed` when the document is for another category."""
        if capabilities.category != self.category:
            raise ValidationFailed(
                "capabilities do not match the product",
                errors=[FieldError("category", f"is {self.category} for this product (change it in step 1)")],
            )
        self.capabilities = capabilities
        self.listing = _replace(self.listing, tags=tuple(capabilities.tags))
        self.complete("capabilities", now)

    def ensure_plans_allowed(self) -> None:
        """Raises `Conflict` before step 3 (plans are checked against the capabilities)."""
        if "capabilities" not in self.completed_steps:
            raise Conflict("define the capabilities (step 3) before the plans")

    def import_flow(self, flow: FlowImport, capabilities: ProductCapabilities | None, now: datetime) -> None:
        """Step 2 by import: keep the flow and its report; adopt the proposed capabilities when valid, which
        also completes step 3 (the seller may still refine them there)."""
        self.flow = flow
        self.template = None
        done: tuple[Step, ...] = ("source",)
        if capabilities is not None:
            self.capabilities = capabilities
            done += ("capabilities",)
        self._mark_done(done)
        self._edited(now)

    def _mark_done(self, steps: tuple[Step, ...]) -> None:
        self.completed_steps = tuple(s for s in WIZARD_STEPS if s in self.completed_steps or s in steps)

    def apply_template(
        self,
        template: str,
        capabilities: ProductCapabilities,
        listing: Mapping[str, Any],
        now: datetime,
        defines_capabilities: bool = True,
    ) -> None:
        """Step 2 by template: its capabilities (step 3 done when the template defines any); its name,
        short description and tags only where unset. The caller marks plans done when it used the
        template's plans (`plans_filled`)."""
        self.template = template
        self.capabilities = capabilities
        self.listing = _replace(
            self.listing,
            name=self.listing.name or listing.get("name"),
            short_description=self.listing.short_description or listing.get("short_description"),
            tags=self.listing.tags or tuple(listing.get("tags", [])),
        )
        self._mark_done(("source", "capabilities") if defines_capabilities else ("source",))
        self._edited(now)

    def plans_filled(self, now: datetime) -> None:
        """Step 4 done by a template's plans."""
        self._mark_done(("plans",))
        self._edited(now)

    def set_listing(self, listing: Listing, now: datetime) -> None:
        """Step 5: the checked listing."""
        self.listing = listing
        self.complete("listing", now)

    def sync_assets(self, assets: list[Asset], now: datetime) -> None:
        """Mirror the ready assets: the newest logo, the screenshots in upload order."""
        ready = sorted((a for a in assets if a.status == "ready"), key=lambda a: a.created_at)
        logos = [a.object_key for a in ready if a.kind == "logo"]
        self.logo_key = logos[-1] if logos else None
        self.screenshot_keys = tuple(a.object_key for a in ready if a.kind == "screenshot")
        self.updated_at = now

    def version_listing(self) -> dict[str, Any]:
        """The listing as a version snapshot stores it (with the asset keys)."""
        return {
            **self.listing.to_dict(),
            "logo_key": self.logo_key,
            "screenshot_keys": list(self.screenshot_keys),
        }


def default_capabilities(category: str, subcategory: str) -> ProductCapabilities:
    """The category's default document for a new draft (not yet checked against every rule)."""
    return ProductCapabilities.from_document(
        merge_with_defaults({"category": category, "subcategory": {category: subcategory}})
    )


def _replace(listing: Listing, **changes: Any) -> Listing:
    return Listing(**{**listing.__dict__, **changes})


@dataclass(frozen=True)
class ListingProjection:
    """What the marketplace shows of a published version (the `marketplace_listings` row)."""

    product: Product
    version: str
    plans: list[PlanSpec]

    @property
    def currency(self) -> str:
        """The product's currency: plans[0]'s, which every plan shares (`validate_plans`)."""
        return self.plans[0].currency if self.plans else "USD"

    @property
    def min_monthly(self) -> Money | None:
        """The lowest monthly price among the plans (minor units of `currency`), None when no plan has one."""
        prices = [p.monthly for p in self.plans if p.monthly is not None and p.currency == self.currency]
        return min(prices, key=lambda price: price.amount) if prices else None

    @property
    def runtime_types(self) -> list[str]:
        """The sorted distinct runtime types of the plans."""
        return sorted({p.runtime_type for p in self.plans})
