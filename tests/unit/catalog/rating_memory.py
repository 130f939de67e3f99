"""In-memory stand-ins for the rating service's unit of work: subscriptions and reviews scoped to the unit
of work's tenant (as row-level security scopes them), and the listings' rating figures recomputed on
`refresh_listing` as the SQL function does."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from cmp.catalog.rating_model import Rating
from cmp.commerce.model import Subscription
from cmp.errors import NotFound
from tests.fakes import FakeUnitOfWork


@dataclass
class RatingStore:
    """What the database would hold: subscriptions, reviews, names, and each listing's figures."""

    subscriptions: dict[uuid.UUID, Subscription] = field(default_factory=dict)
    ratings: dict[uuid.UUID, Rating] = field(default_factory=dict)
    organizations: dict[uuid.UUID, str] = field(default_factory=dict)
    display_names: dict[uuid.UUID, str | None] = field(default_factory=dict)
    listings: dict[uuid.UUID, tuple[Decimal, int]] = field(default_factory=dict)
    commits: int = 0

    def subscription(
        self, tenant: uuid.UUID, product: uuid.UUID, status: str = "active", seller: uuid.UUID | None = None
    ) -> Subscription:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        sub = Subscription(
            id=uuid.uuid4(),
            tenant_id=tenant,
            project_id=uuid.uuid4(),
            seller_tenant_id=seller or uuid.uuid4(),
            product_id=product,
            product_version="1.0.0",
            product_name="Support Agent",
            product_slug="support-agent",
            category="agent",
            plan_id="plan_pro",
            plan={"id": "plan_pro", "name": "Pro"},
            capabilities={},
            runtime_type="shared",
            status=status,  # type: ignore[arg-type]
            billing_period="monthly",
            currency="USD",
            amount=2900,
            current_period_start=start,
            current_period_end=start + timedelta(days=31),
            payment_provider="local",
        )
        self.subscriptions[sub.id] = sub
        return sub


class MemorySubscriptions:
    def __init__(self, store: RatingStore, tenant: uuid.UUID | None) -> None:
        self._store, self._tenant = store, tenant

    def get(self, subscription_id: uuid.UUID, for_update: bool = False) -> Subscription:
        sub = self._store.subscriptions.get(subscription_id)
        if sub is None or sub.tenant_id != self._tenant:
            raise NotFound("subscription not found")
        return copy.deepcopy(sub)


class MemoryRatings:
    def __init__(self, store: RatingStore, tenant: uuid.UUID | None) -> None:
        self._store, self._tenant = store, tenant

    def for_subscription(self, subscription_id: uuid.UUID) -> Rating | None:
        found = [
            r
            for r in self._store.ratings.values()
            if r.subscription_id == subscription_id and r.tenant_id == self._tenant
        ]
        return copy.deepcopy(found[0]) if found else None

    def add(self, rating: Rating) -> None:
        assert rating.tenant_id == self._tenant
        assert all(r.subscription_id != rating.subscription_id for r in self._store.ratings.values())
        self._store.ratings[rating.id] = copy.deepcopy(rating)

    def save(self, rating: Rating) -> None:
        assert self._store.ratings[rating.id].tenant_id == self._tenant
        self._store.ratings[rating.id] = copy.deepcopy(rating)

    def delete(self, rating_id: uuid.UUID) -> None:
        assert self._store.ratings[rating_id].tenant_id == self._tenant
        del self._store.ratings[rating_id]

    def author(self, user_id: uuid.UUID) -> tuple[str | None, str]:
        assert self._tenant is not None
        return self._store.display_names.get(user_id), self._store.organizations[self._tenant]

    def refresh_listing(self, product_id: uuid.UUID) -> None:
        stars = [r.rating for r in self._store.ratings.values() if r.product_id == product_id]
        average = (
            (Decimal(sum(stars)) / len(stars)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if stars
            else Decimal(0)
        )
        self._store.listings[product_id] = (average, len(stars))


class RatingUnitOfWorks:
    """`uow_factory(tenant_id)`: a unit of work whose repositories see only that tenant's rows. What a unit
    of work changed stays even without `commit()` (tests check that the service commits)."""

    def __init__(self, store: RatingStore) -> None:
        self.store = store

    @contextmanager
    def __call__(self, tenant_id: uuid.UUID | str | None = None) -> Iterator[FakeUnitOfWork]:
        tenant = uuid.UUID(str(tenant_id)) if tenant_id is not None else None
        uow = FakeUnitOfWork(
            str(tenant) if tenant else None,
            ratings=MemoryRatings(self.store, tenant),
            subscriptions=MemorySubscriptions(self.store, tenant),
        )
        yield uow
        self.store.commits += uow.commits
