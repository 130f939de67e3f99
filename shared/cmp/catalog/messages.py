"""The messages catalog jobs consume, kept apart from the services so a worker can parse its batch without
loading the capability models (they load with the first message the service handles)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ReviewJob(BaseModel):
    """The message `ProductLifecycle.submit` writes to the outbox for the review queue."""

    model_config = ConfigDict(extra="ignore")
    tenant_id: str
    product_id: str
    review_run_id: str
