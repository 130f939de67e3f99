"""The unit of work: one tenant-scoped transaction that carries the repositories and the outbox.

    with uow_factory(tenant_id) as uow:
        product = uow.products.get(product_id)
        product.submit()
        uow.products.save(product)
        uow.outbox.add(OutboxMessage.to_queue(review_queue_url, {...}))
        uow.commit()

Nothing is written unless `commit()` is called; leaving the block without it rolls everything back. The
outbox messages added in the block are delivered right after the commit (see `cmp.db.outbox`).

Repositories are built on first access from `REPOSITORIES` (attribute name -> "module:Class"), so a function
imports only the domain modules it touches. Each domain module declares, in its `ports.py`, a Protocol of the
repositories it uses; services are typed against that Protocol and unit tests pass in-memory fakes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol
from uuid import UUID

from cmp.db.outbox import Outbox, OutboxMessage
from cmp.db.session import Session

# attribute -> "module:Class"; the class takes the Session. Add a line per repository.
REPOSITORIES: dict[str, str] = {
    "products": "cmp.catalog.repository:ProductRepository",
    "plans": "cmp.catalog.repository:PlanRepository",
    "assets": "cmp.catalog.repository:AssetRepository",
    "review_runs": "cmp.catalog.repository:ReviewRunRepository",
    "versions": "cmp.catalog.repository:VersionRepository",
    "listings": "cmp.catalog.repository:ListingRepository",
    "accounts": "cmp.tenancy.repository:AccountRepository",
    "auth_sessions": "cmp.tenancy.repository:SessionRepository",
    "onboardings": "cmp.provisioning.repository:OnboardingRepository",
    "runtime_endpoints": "cmp.provisioning.repository:RuntimeEndpointRepository",
    "subscriptions": "cmp.commerce.repository:SubscriptionRepository",
    "orders": "cmp.commerce.repository:OrderRepository",
    "payment_events": "cmp.commerce.payment_repository:PaymentEventRepository",
    "payment_customers": "cmp.commerce.payment_repository:PaymentCustomerRepository",
    "offers": "cmp.commerce.payment_repository:OfferRepository",
    "reconciliation": "cmp.commerce.payment_repository:ReconciliationRepository",
    "billing_scans": "cmp.commerce.payment_repository:BillingScans",
    "api_keys": "cmp.tenancy.credential_repository:ApiKeyRepository",
    "widget_tokens": "cmp.tenancy.credential_repository:WidgetTokenRepository",
    "credential_lookup": "cmp.tenancy.credential_repository:CredentialLookup",
    "ratings": "cmp.catalog.rating_repository:RatingRepository",
    "usage": "cmp.metering.repository:UsageRepository",
    "usage_rollups": "cmp.metering.repository:UsageRollupRepository",
    "knowledge_bases": "cmp.knowledge.repository:KnowledgeBaseRepository",
    "knowledge_documents": "cmp.knowledge.repository:DocumentRepository",
    "knowledge_chunks": "cmp.knowledge.repository:ChunkRepository",
    "knowledge_qa": "cmp.knowledge.repository:QaRepository",
    "knowledge_url_sources": "cmp.knowledge.repository:UrlSourceRepository",
    "gateway": "cmp.gateway.repository:GatewayRepository",
    "workflows": "cmp.workflows.repository:WorkflowRepository",
    "workflow_runs": "cmp.workflows.repository:RunRepository",
    "workflow_secrets": "cmp.workflows.secret_repository:SecretRepository",
    "conversations": "cmp.conversations.repository:ConversationRepository",
    "websocket_connections": "cmp.chat_ws.repository:ConnectionRepository",
    "sla": "cmp.sla.repository:SlaRepository",
}


class UnitOfWork:
    def __init__(
        self,
        session: Session,
        tenant_id: str | None,
        after_commit: Callable[[list[OutboxMessage]], object] | None = None,
    ) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._after_commit = after_commit
        self._repositories: dict[str, Any] = {}
        self._ended = False
        self.outbox = Outbox(session, tenant_id)

    @property
    def tenant_id(self) -> str | None:
        return self._tenant_id

    def set_tenant(self, tenant_id: UUID | str) -> None:
        """Scope the rest of this transaction to a tenant created inside it (sign-up)."""
        self._tenant_id = self._session.set_tenant(tenant_id)
        self.outbox.set_tenant(self._tenant_id)

    def set_user(self, user_id: UUID | str) -> None:
        self._session.set_user(user_id)

    def commit(self) -> None:
        """Commit the transaction, then deliver the outbox messages written in it."""
        self._session.commit()
        self._ended = True
        if self._after_commit and self.outbox.added:
            self._after_commit(list(self.outbox.added))

    def rollback(self) -> None:
        if not self._ended:
            self._session.rollback()
            self._ended = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in REPOSITORIES:
            raise AttributeError(name)
        if name not in self._repositories:
            module, _, cls = REPOSITORIES[name].partition(":")
            self._repositories[name] = getattr(importlib.import_module(module), cls)(self._session)
        return self._repositories[name]


class UnitOfWorkFactory(Protocol):
    """`Database.unit_of_work` as services see it (tests pass a factory of fakes)."""

    def __call__(self, tenant_id: UUID | str | None = None) -> AbstractContextManager[Any]: ...
