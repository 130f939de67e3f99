"""The one place that wires adapters to services, for every entry point (functions, CLI, local runner, tests).

Nothing here connects or calls AWS: pools open, clients are built and domain modules are imported on first
use, so a function's cold start pays only for what it touches. The runtime's services (knowledge, agent,
workflows, metering) are wired in `cmp.runtime_services`, which `Services` extends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, cast
from urllib.parse import quote
from uuid import UUID

from cmp.aws.adapters import EventBus, ObjectStore, Queues, Schedules, SecretStore, StateMachines
from cmp.config import Settings
from cmp.db import Database, UnitOfWork
from cmp.db.outbox import OutboxRelay
from cmp.ports import Clock, IdGenerator
from cmp.runtime_services import RuntimeServices
from cmp.system import RandomIds, SystemClock
from cmp.tenancy.passwords import PasswordHasher
from cmp.tenancy.tokens import TokenService

if TYPE_CHECKING:
    from cmp.catalog.assets import ProductAssets
    from cmp.catalog.lifecycle import ProductLifecycle
    from cmp.catalog.marketplace import MarketplaceService
    from cmp.catalog.rating_views import RatingViews
    from cmp.catalog.ratings import RatingService
    from cmp.catalog.review import ReviewService
    from cmp.catalog.views import ProductViews
    from cmp.catalog.wizard import ProductWizard
    from cmp.chat_ws.services import WebSocketChat
    from cmp.commerce.billing import BillingJobs
    from cmp.commerce.changes import SubscriptionChanges
    from cmp.commerce.checkout import CheckoutService
    from cmp.commerce.configuration import SubscriptionConfiguration
    from cmp.commerce.dashboard_views import SubscriptionDashboard
    from cmp.commerce.events import PaymentEvents
    from cmp.commerce.ports import PaymentProvider
    from cmp.commerce.sales_views import SalesViews
    from cmp.commerce.versions import SubscriptionVersions
    from cmp.commerce.views import CommerceViews
    from cmp.commerce.webhooks import Webhooks
    from cmp.gateway.authorization import RuntimeAuthorizer
    from cmp.gateway.routing import RuntimeRouting
    from cmp.gateway.services import Gateway
    from cmp.housekeeping import Housekeeping
    from cmp.provisioning.dedicated import DedicatedRuntimes
    from cmp.provisioning.health import RuntimeHealthCheck
    from cmp.provisioning.runtime import RuntimeProvisioning
    from cmp.provisioning.services import OnboardingService
    from cmp.sla.services import SlaEvaluator
    from cmp.sla.views import SlaViews
    from cmp.tenancy.integrate import IntegrationService
    from cmp.tenancy.services import TenancyService
    from cmp.tenancy.views import ProfileView


@dataclass
class Services(RuntimeServices):
    settings: Settings
    db: Database
    secrets: SecretStore = field(default_factory=SecretStore)
    machines: StateMachines = field(default_factory=StateMachines)
    queues: Queues = field(default_factory=Queues)
    objects: ObjectStore = field(default_factory=ObjectStore)
    events: EventBus = field(default_factory=EventBus)
    schedules: Schedules = field(default_factory=Schedules)
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=RandomIds)
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    jwt_secret: Callable[[], str] | None = None
    local_payments_secret: Callable[[], str] | None = None
    widget_token_key: Callable[[], str] | None = None
    workflow_hook_key: Callable[[], str] | None = None

    @contextmanager
    def unit_of_work(self, tenant_id: UUID | str | None = None) -> Iterator[UnitOfWork]:
        """The unit of work every service uses: outbox messages are relayed right after commit."""
        with self.db.unit_of_work(tenant_id, after_commit=self.outbox_relay.deliver) as uow:
            yield uow

    @contextmanager
    def unit_of_work_sent_later(self, tenant_id: UUID | str | None = None) -> Iterator[UnitOfWork]:
        """`unit_of_work` whose outbox messages are relayed after the commit on the relay's background thread
        (`OutboxRelay.deliver_later`): for answers that need only the committed rows (a webhook's 202). Where
        the process may be frozen once it has answered (`Settings.relay_after_response` false: AWS Lambda),
        it is `unit_of_work`: the messages are relayed before the answer."""
        relay = self.outbox_relay
        after_commit = relay.deliver_later if self.settings.relay_after_response else relay.deliver
        with self.db.unit_of_work(tenant_id, after_commit=after_commit) as uow:
            yield uow

    @cached_property
    def outbox_relay(self) -> OutboxRelay:
        return OutboxRelay(self.db.session, self.queues, self.machines, self.events)

    @cached_property
    def tokens(self) -> TokenService:
        secret = self.jwt_secret or (lambda: self.secrets.get(self.settings.jwt_secret_arn))
        return TokenService(
            secret,
            self.settings.jwt_issuer,
            self.settings.jwt_audience,
            self.settings.access_token_ttl_seconds,
        )

    @cached_property
    def tenancy(self) -> TenancyService:
        from cmp.tenancy.services import TenancyService

        return TenancyService(
            self.unit_of_work,
            self.hasher,
            self.tokens,
            lambda: self.settings.onboarding_state_machine_arn,
            self.clock,
            self.ids,
        )

    @cached_property
    def runtime_authorizer(self) -> RuntimeAuthorizer:
        """The runtime routes' authorizer (API keys, widget tokens, portal JWTs), with its warm cache."""
        from cmp.gateway.authorization import RuntimeAuthorizer

        return RuntimeAuthorizer(self.unit_of_work, self.tenancy.authenticate, self.clock)

    @cached_property
    def gateway(self) -> Gateway:
        """Admission of runtime calls: rate limits, plan quotas, concurrency caps."""
        from cmp.gateway.repository import GatewayStatements
        from cmp.gateway.services import Gateway
        from cmp.provisioning.router import RegisteredRuntimes

        return Gateway(
            GatewayStatements(self.db.statement, self.db.send),
            self.unit_of_work,
            self.clock,
            self.ids,
            lambda: self.settings.event_bus_name,
            RegisteredRuntimes(self.unit_of_work),
            self.settings.gateway_product_rate_per_minute,
        )

    @cached_property
    def chat_ws(self) -> WebSocketChat:
        """Streaming chat over API Gateway WebSocket: `$connect`, messages, `$disconnect` (cmp.chat_ws)."""
        from cmp.chat_ws.services import WebSocketChat

        return WebSocketChat(self.unit_of_work, self.runtime_authorizer, self.gateway, self.agent)

    @cached_property
    def runtime_routing(self) -> RuntimeRouting:
        """Where runtime calls run: here, or forwarded to the subscription's dedicated runtime."""
        from uuid import UUID

        from cmp.gateway.routing import RuntimeRouting
        from cmp.provisioning.router import RegisteredRuntimes

        serves = self.settings.dedicated_subscription_id
        return RuntimeRouting(RegisteredRuntimes(self.unit_of_work), UUID(serves) if serves else None)

    @cached_property
    def profiles(self) -> ProfileView:
        """The `/v1/me` read side."""
        from cmp.tenancy.views import ProfileView

        return ProfileView(self.db.session)

    @cached_property
    def integration(self) -> IntegrationService:
        """The buyer's API keys, widget tokens, embed snippet and MCP access."""
        from cmp.tenancy.integrate import IntegrationService

        key = self.widget_token_key or (lambda: self.secrets.get(self.settings.widget_token_secret_arn))
        return IntegrationService(self.unit_of_work, self.clock, self.ids, key)

    @cached_property
    def onboarding(self) -> OnboardingService:
        from cmp.provisioning.services import OnboardingService  # pydantic: only the onboarding worker pays

        return OnboardingService(self.unit_of_work, self.machines)

    @cached_property
    def runtime_provisioning(self) -> RuntimeProvisioning:
        from cmp.provisioning.runtime import RuntimeProvisioning

        return RuntimeProvisioning(self.unit_of_work, self.machines, self.clock, self.dedicated_runtimes)

    @cached_property
    def dedicated_runtimes(self) -> DedicatedRuntimes | None:
        """The cluster and IAM side of dedicated runtimes; None when no cluster is configured."""
        from cmp.provisioning.dedicated import dedicated_runtimes

        return dedicated_runtimes(self.settings)

    @cached_property
    def runtime_health(self) -> RuntimeHealthCheck:
        """The dedicated runtimes' health checker (probes over HTTP; transitions sent to the event bus)."""
        from cmp.provisioning.health import HttpProbe, RuntimeHealthCheck

        return RuntimeHealthCheck(
            self.unit_of_work, HttpProbe(), self.clock, lambda: self.settings.event_bus_name
        )

    @cached_property
    def wizard(self) -> ProductWizard:
        from cmp.catalog.wizard import ProductWizard  # imported on first use: only catalog functions pay

        return ProductWizard(self.unit_of_work, self.clock, self.ids)

    @cached_property
    def product_assets(self) -> ProductAssets:
        from cmp.catalog.assets import ProductAssets

        return ProductAssets(
            self.unit_of_work, self.objects, lambda: self.settings.assets_bucket, self.clock, self.ids
        )

    @cached_property
    def lifecycle(self) -> ProductLifecycle:
        from cmp.catalog.lifecycle import ProductLifecycle

        return ProductLifecycle(
            self.unit_of_work, lambda: self.settings.review_queue_url, self.clock, self.ids
        )

    @cached_property
    def product_views(self) -> ProductViews:
        from cmp.catalog.views import ProductViews

        return ProductViews(self.db.session)

    @cached_property
    def housekeeping(self) -> Housekeeping:
        from cmp.housekeeping import Housekeeping

        return Housekeeping(
            self.outbox_relay,
            self.tenancy,
            self.settings.session_retention_days,
            lambda: self.knowledge,
            self.clock.now,
        )

    @cached_property
    def marketplace(self) -> MarketplaceService:
        from cmp.catalog.marketplace import MarketplaceService

        return MarketplaceService(self.db, self.asset_url)

    def asset_url(self, key: str) -> str:
        """Where a browser fetches a stored asset: through the CDN (which adds nosniff and a CSP that lets
        nothing run) when one is configured, else a presigned S3 GET carrying the verified type and
        disposition."""
        if self.settings.assets_cdn_domain:
            return f"https://{self.settings.assets_cdn_domain}/{quote(key)}"
        from cmp.catalog.asset_model import serving_headers

        return self.objects.presigned_get(
            self.settings.assets_bucket, key, response_headers=serving_headers(key)
        )

    @cached_property
    def reviews(self) -> ReviewService:
        from cmp.catalog.review import ReviewService

        return ReviewService(self.unit_of_work, self.objects, lambda: self.settings.assets_bucket, self.clock)

    @cached_property
    def payments(self) -> PaymentProvider:
        """The configured payment provider (`Settings.payment_provider`); raises ValueError for an unknown
        name."""
        provider = self.settings.payment_provider
        if provider == "stripe":
            from cmp.commerce.stripe_payments import StripePayments

            return StripePayments(
                lambda: self.secrets.get(self.settings.stripe_secret_key_arn),
                lambda: self.secrets.get(self.settings.stripe_webhook_secret_arn),
            )
        if provider != "local":
            raise ValueError(f"unknown PAYMENT_PROVIDER {provider!r}: use local or stripe")
        from cmp.commerce.local_payments import LocalPayments
        from cmp.commerce.payment_repository import LocalPaymentObjects

        secret = self.local_payments_secret or (
            lambda: self.secrets.get(self.settings.local_payments_secret_arn)
        )
        return LocalPayments(
            LocalPaymentObjects(self.db.session), secret, self.clock, self.payment_events.apply
        )

    @cached_property
    def payment_events(self) -> PaymentEvents:
        from cmp.commerce.events import PaymentEvents

        return PaymentEvents(
            self.unit_of_work,
            lambda: self.settings.runtime_provisioning_state_machine_arn,
            self.clock,
            self.ids,
        )

    @cached_property
    def checkout(self) -> CheckoutService:
        from cmp.commerce.checkout import CheckoutService, CheckoutUrls

        urls = CheckoutUrls(self.settings.checkout_success_url, self.settings.checkout_cancel_url)
        return CheckoutService(self.unit_of_work, lambda: self.payments, urls, self.clock, self.ids)

    @cached_property
    def subscription_changes(self) -> SubscriptionChanges:
        from cmp.commerce.changes import SubscriptionChanges

        return SubscriptionChanges(
            self.unit_of_work, lambda: self.payments, self.clock, self.ids, self.payment_events
        )

    @cached_property
    def subscription_versions(self) -> SubscriptionVersions:
        from cmp.commerce.versions import SubscriptionVersions

        return SubscriptionVersions(self.unit_of_work, self.clock, self.payment_events)

    @cached_property
    def billing(self) -> BillingJobs:
        from cmp.commerce.billing import BillingJobs

        return BillingJobs(self.unit_of_work, lambda: self.payments, self.payment_events, self.clock)

    @cached_property
    def webhooks(self) -> Webhooks:
        from cmp.commerce.webhooks import Webhooks

        return Webhooks(lambda: self.payments, self.payment_events)

    @cached_property
    def commerce_views(self) -> CommerceViews:
        from cmp.commerce.views import CommerceViews

        return CommerceViews(self.db.session)

    @cached_property
    def subscription_configuration(self) -> SubscriptionConfiguration:
        from cmp.commerce.configuration import SubscriptionConfiguration

        return SubscriptionConfiguration(self.unit_of_work)

    @cached_property
    def subscription_dashboard(self) -> SubscriptionDashboard:
        from cmp.commerce.dashboard_views import SubscriptionDashboard

        return SubscriptionDashboard(self.db.session, self.clock)

    @cached_property
    def ratings(self) -> RatingService:
        """Subscribers' reviews of their products (not the submission review: `reviews`)."""
        from cmp.catalog.ratings import RatingService

        return RatingService(self.unit_of_work, self.clock, self.ids)

    @cached_property
    def rating_views(self) -> RatingViews:
        """The public read side of product reviews."""
        from cmp.catalog.rating_views import RatingViews

        return RatingViews(self.db.session)

    @cached_property
    def sales_views(self) -> SalesViews:
        """The seller's sales dashboard (read side)."""
        from cmp.commerce.sales_views import SalesViews

        return SalesViews(self.db.session, self.clock)

    @cached_property
    def sla_evaluator(self) -> SlaEvaluator:
        """Dedicated subscriptions' SLOs from the runtime metrics in CloudWatch, and burn-rate alerts."""
        from cmp.sla.cloudwatch import CloudWatchMetrics
        from cmp.sla.services import SlaEvaluator

        return SlaEvaluator(self.unit_of_work, CloudWatchMetrics(), self.clock, self.settings.event_bus_name)

    @cached_property
    def sla_views(self) -> SlaViews:
        """A dedicated subscription's SLA in its current period (read side)."""
        from cmp.sla.views import SlaViews

        return SlaViews(self.db.session)


def bootstrap(settings: Settings | None = None, **overrides: object) -> Services:
    settings = settings or Settings()
    secrets = cast(SecretStore, overrides.pop("secrets", None) or SecretStore())
    db = overrides.pop("db", None) or Database(
        lambda: settings.database_url or secrets.get(settings.database_secret_arn)
    )
    return Services(settings=settings, db=db, secrets=secrets, **overrides)  # type: ignore[arg-type]
