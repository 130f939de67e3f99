"""The seller's five-step wizard on a product's working copy: category, source (flow import or template),
capabilities, plans and listing.

Each use case opens a unit of work, loads the `Product`, applies its rules, saves and commits; it answers
with the product's detail (`cmp.catalog.views.product_detail`) as it is after the change.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from cmp.capabilities import (
    PlanSpec,
    assign_plan_ids,
    ensure_valid,
    new_plan_id,
    validate_capabilities,
    validate_plans,
)
from cmp.catalog.ids import parse_product_id
from cmp.catalog.model import FlowImport, Listing, Product
from cmp.catalog.ports import CatalogUnitOfWork, CatalogUnitOfWorkFactory
from cmp.catalog.templates import TEMPLATES
from cmp.catalog.views import product_detail
from cmp.errors import FieldError, ValidationFailed
from cmp.ports import Clock, IdGenerator
from cmp.text import with_article


class ProductWizard:
    """Steps 1 to 5 of the seller's wizard. Every method raises `NotFound` for a product the tenant cannot
    see and `Conflict` while the product is in review or archived."""

    def __init__(self, uow: CatalogUnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    # ── step 1: category ──────────────────────────────────────────────────────────────────
    def create_draft(self, tenant_id: str, category: str, subcategory: str) -> dict[str, Any]:
        """A new draft with the category's default capabilities; `ValidationFailed` for a bad category."""
        product = Product.new_draft(
            self._ids.new_id(), uuid.UUID(tenant_id), category, subcategory, self._clock.now()
        )
        with self._uow(tenant_id) as uow:
            uow.products.add(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    def change_category(
        self, tenant_id: str, product_id: str, category: str, subcategory: str
    ) -> dict[str, Any]:
        """Step 1 again (drafts never published only); capability choices that still validate are kept."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.change_category(category, subcategory, self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    # ── step 2: import or template ────────────────────────────────────────────────────────
    def import_flow(
        self,
        tenant_id: str,
        product_id: str,
        content: str | bytes,
        source_format: str | None,
        filename: str | None,
        flow_name: str | None = None,
    ) -> dict[str, Any]:
        """Import a Langflow, n8n, OpenAPI or MCP file: keep it with its report and adopt the capabilities it
        proposes (the product keeps its category; what that change makes invalid is repaired, each repair a
        note); an applied proposal completes step 3 too. `flow_name` picks one flow out of a file holding several. Returns `{"product", "import",
        "proposed_capabilities_applied"}`; the import report lists `capability_notes` (path, message)."""
        from cmp.flows import import_flow, valid_proposal  # the readers load on the first import only

        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            imported = import_flow(content, source_format, filename, flow_name)
            report = imported.to_dict()
            proposal = dict(imported.proposed_capabilities)
            notes: list[dict[str, str]] = []
            if proposal.get("category") not in (None, product.category):
                notes.append(
                    {
                        "path": "category",
                        "message": (
                            f"the {imported.format} file suggests {with_article(proposal['category'])}; "
                            f"the product stays {with_article(product.category)} "
                            "(change it in step 1 if that is wrong)"
                        ),
                    }
                )
            repaired, repairs = valid_proposal(product.category_fixed(proposal))
            notes += [e.to_dict() for e in repairs]
            validation = validate_capabilities(repaired)
            notes += [e.to_dict() for e in validation.errors]
            report["capability_notes"] = notes
            report = json.loads(json.dumps(report, default=str))
            flow = FlowImport(imported.format, imported.flow_definition, report)
            product.import_flow(flow, validation.capabilities, self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return {"product": detail, "import": report, "proposed_capabilities_applied": validation.valid}

    def apply_template(self, tenant_id: str, product_id: str, template: str) -> dict[str, Any]:
        """Start from a template: its capabilities (step 3 done unless the template is `blank`), its listing
        texts where unset, its plans when the product has none (step 4 done). `ValidationFailed` for an
        unknown template or one of another category."""
        if template not in TEMPLATES:
            raise ValidationFailed(
                "unknown template", errors=[FieldError("template", f"must be one of {', '.join(TEMPLATES)}")]
            )
        spec = TEMPLATES[template]
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            wanted = spec["capabilities"].get("category")
            if wanted and wanted != product.category:
                raise ValidationFailed(
                    "template does not fit this product",
                    errors=[
                        FieldError(
                            "template",
                            f"'{template}' is for {wanted} products; "
                            f"this product is {with_article(product.category)}",
                        )
                    ],
                )
            capabilities = ensure_valid(product.category_fixed(spec["capabilities"]))
            now = self._clock.now()
            product.apply_template(
                template, capabilities, spec["listing"], now, defines_capabilities=bool(spec["capabilities"])
            )
            if spec["plans"] and not uow.plans.for_product(product.id):
                plans, errors = validate_plans(spec["plans"], capabilities)
                if not errors:
                    self._replace_plans(uow, product, plans)
                    product.plans_filled(now)
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    # ── step 3: capabilities ──────────────────────────────────────────────────────────────
    def set_capabilities(self, tenant_id: str, product_id: str, draft: Any) -> dict[str, Any]:
        """Validate and store the seller's capability document (JSON, category filled in when absent). What
        it leaves out keeps its current value (the imported proposal, the template or the last step 3), so
        `{}` confirms the current capabilities. `ValidationFailed` lists every error."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            checked = ensure_valid(product.seller_draft(draft), base=product.capabilities)
            product.set_capabilities(checked, self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    # ── step 4: plans ─────────────────────────────────────────────────────────────────────
    def set_plans(self, tenant_id: str, product_id: str, plans: Any) -> dict[str, Any]:
        """Replace the plans (a JSON list) after checking them against the capabilities; `Conflict` before
        step 3, `ValidationFailed` listing every plan error (an `id` the product never had is one, at
        `plans[i].id`). Each plan keeps or gets its stable id (`cmp.capabilities.plan_ids`)."""
        if not isinstance(plans, list):
            raise ValidationFailed(
                "plans must be a list", errors=[FieldError("plans", "must be a list of plans")]
            )
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            product.ensure_plans_allowed()
            known = uow.plans.known(product.id)
            checked, errors = validate_plans(plans, product.capabilities, {plan_id for plan_id, _ in known})
            if errors:
                raise ValidationFailed("plans are invalid", errors=errors)
            self._replace_plans(uow, product, checked, known)
            product.complete("plans", self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    def _replace_plans(
        self,
        uow: CatalogUnitOfWork,
        product: Product,
        plans: list[PlanSpec],
        known: list[tuple[str, str]] | None = None,
    ) -> None:
        """Store `plans` (valid) with their stable ids; `known` as `uow.plans.known` gives it (read when
        not given)."""
        history = uow.plans.known(product.id) if known is None else known
        uow.plans.replace(product, assign_plan_ids(plans, history, lambda: new_plan_id(self._ids.new_id())))

    # ── step 5: listing ───────────────────────────────────────────────────────────────────
    def set_listing(self, tenant_id: str, product_id: str, listing: dict[str, Any]) -> dict[str, Any]:
        """Store the marketplace listing; `ValidationFailed` for broken limits, `Conflict` (field `slug`)
        when another product has the slug."""
        checked = Listing.parse(listing)
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            product.set_listing(checked, self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail
