"""A product's lifecycle on the seller's side: submit for review, archive, restore, delete a draft.

Submitting writes the review job to the outbox in the same transaction as the new review run, so the job
is sent after the commit (and by the outbox sweep if that send fails) — never lost, perhaps sent twice,
which the review job tolerates (it ignores a run that is no longer queued).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cmp.catalog.ids import parse_product_id
from cmp.catalog.ports import CatalogUnitOfWorkFactory
from cmp.catalog.review_model import ReviewRun
from cmp.catalog.views import product_detail
from cmp.db.outbox import OutboxMessage
from cmp.ports import Clock, IdGenerator


class ProductLifecycle:
    """Submit, archive, restore and delete products."""

    def __init__(
        self,
        uow: CatalogUnitOfWorkFactory,
        review_queue_url: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._review_queue = review_queue_url
        self._clock = clock
        self._ids = ids

    def submit(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        """Send the working copy to review: supersedes open runs, opens a queued run and queues its job
        (`{"tenant_id", "product_id", "review_run_id"}`) through the outbox. Returns `{"product_id",
        "status": "pending_review", "review_run_id"}`; `Conflict` when a step is missing (field errors
        name the steps), the product is in review, archived, or already published as it is."""
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.submit(now)
            uow.review_runs.supersede_open(product.id, now)
            run = ReviewRun(self._ids.new_id(), product.tenant_id, product.id, created_at=now, updated_at=now)
            uow.review_runs.add(run)
            uow.products.save(product)
            uow.outbox.add(
                OutboxMessage.to_queue(
                    self._review_queue(),
                    {"tenant_id": tenant_id, "product_id": product_id, "review_run_id": str(run.id)},
                )
            )
            uow.commit()
        return {"product_id": product_id, "status": "pending_review", "review_run_id": str(run.id)}

    def archive(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        """Take the product off the marketplace (its listing is removed; subscriptions keep their
        snapshot; `restore` brings it back as a draft). Archiving an archived product changes nothing.
        Returns the product's detail."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            if product.archive(self._clock.now()):
                uow.listings.remove(product.id)
                uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    def restore(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        """Bring an archived product back as a draft: editable again and off the marketplace until a new
        version is approved (submit it again; its versions are kept). Returns the product's detail;
        `Conflict` unless it is archived."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.restore(self._clock.now())
            uow.products.save(product)
            detail = product_detail(uow, product)
            uow.commit()
        return detail

    def delete_draft(self, tenant_id: str, product_id: str) -> None:
        """Delete a product that was never published (archived or not); `Conflict` for one that was, whose
        versions are kept for its subscriptions (archive it, or restore an archived one)."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_deletable()
            uow.products.delete(product.id)
            uow.commit()
