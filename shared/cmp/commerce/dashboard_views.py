"""The adaptive dashboard of one subscription (`GET /v1/subscriptions/{id}/dashboard`): the facts gathered
from the buyer's rows, turned into sections by `cmp.capabilities.dashboard.dashboard_descriptor`.

Facts read here: the subscription (status, plan, configuration, snapshot), its active API keys (not
revoked, not expired), its widget tokens and their distinct allowed origins (the sites the widget is live
on), usage this billing period against the plan's limits, its knowledge base's indexed documents, Q&A
pairs and websites, its last workflow run (`RunRepository.last_finished`: the most recently started run
that succeeded or failed, with its workflow's name; an automation's Status section shows it as "Last run of
Data Sync 2 hours ago: success"), the schedules that fire (`WorkflowRepository.schedules`: active
workflows' enabled schedules, at their active version's trigger; a preset as its cron, so Configure's
Schedule reads "Every hour"), the failure alerts of the same workflows' active versions
(`WorkflowRepository.failure_alerts`: each one's workflow and channel, counted by Configure's Alerts beside
the workflow section's saved alerts) and its next run: their earliest next firing
(`cmp.workflows.schedules.next_run`), None when there is none or the subscription's status lets no run
start (suspended, cancelled, expired: `CALLABLE_STATUSES`); the Status section's `data.next_run` shows it as
"in 3 hours". Its workflow secrets are read by name only (`SecretRepository.names`), never their sealed
values. Usage is by usage metric (`usage_from_metering`: `tokens` in and out, `compute_time` from
`compute_ms`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cmp.capabilities.configuration import default_configuration
from cmp.capabilities.dashboard import DashboardState, LastRun, dashboard_descriptor
from cmp.capabilities.dashboard_text import limits_from_plan, usage_from_metering
from cmp.capabilities.models import ProductCapabilities
from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.gateway.authorization import CALLABLE_STATUSES
from cmp.metering.views import usage_this_period
from cmp.ports import Clock
from cmp.workflows.repository import RunRepository, WorkflowRepository
from cmp.workflows.schedules import five_field_cron, next_run
from cmp.workflows.secret_repository import SecretRepository


def _as_saved(config: dict[str, Any]) -> dict[str, Any]:
    """A schedule trigger's config (`cron`, `interval` or `preset`) as the workflow section stores a schedule:
    `{"cron" | "interval", "timezone"}`, a preset as its own cron."""
    cron = five_field_cron(config)
    shape = {"interval": config.get("interval")} if cron is None else {"cron": cron}
    return {**shape, "timezone": config.get("timezone", "UTC")}


class SubscriptionDashboard:
    """The read side of the adaptive dashboard."""

    def __init__(self, sessions: Callable[..., AbstractContextManager[Session]], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def descriptor(self, tenant_id: str, subscription_id: uuid.UUID) -> dict[str, Any]:
        """`{"subscription_id", "product": {"id", "slug", "name", "category", "version"}, "plan", "status",
        "sections": [DashboardSection.to_dict(), ...]}`; raises NotFound for a subscription the tenant does
        not hold."""
        with self._sessions(tenant_id, read_only=True) as session:
            row = session.fetch_one("select * from subscriptions where id = %s", (subscription_id,))
            if row is None:
                raise NotFound("subscription not found")
            keys = session.fetch_one(
                "select count(*) as n from api_keys where subscription_id = %s and revoked_at is null"
                " and (expires_at is null or expires_at > now())",
                (subscription_id,),
            )
            widgets = session.fetch_one(
                "select count(distinct t.id) as tokens, count(distinct o.origin) as origins"
                " from widget_tokens t left join lateral unnest(t.allowed_origins) as o(origin) on true"
                " where t.subscription_id = %s and t.revoked_at is null",
                (subscription_id,),
            )
            used = usage_this_period(session, [subscription_id]).get(subscription_id, {})
            knowledge = session.fetch_one(
                "select count(*) filter (where d.source_type = 'file' and d.status = 'indexed')::int"
                "  as documents,"
                " (select count(*) from knowledge_qa_pairs q where q.knowledge_base_id = b.id)::int as qa_pairs,"
                " (select count(*) from knowledge_url_sources u where u.knowledge_base_id = b.id)::int"
                "  as websites"
                " from knowledge_bases b left join knowledge_documents d on d.knowledge_base_id = b.id"
                " where b.subscription_id = %s group by b.id",
                (subscription_id,),
            ) or {"documents": 0, "qa_pairs": 0, "websites": 0}
            workflows = WorkflowRepository(session)
            run = RunRepository(session).last_finished(subscription_id)
            ran = None if run is None else workflows.get(run.workflow_id).name
            schedules = workflows.schedules(subscription_id)
            alerts = workflows.failure_alerts(subscription_id)
            secrets = SecretRepository(session).names(subscription_id)
        now = self._clock.now()
        assert keys is not None and widgets is not None
        last_run = None
        if run is not None:
            assert run.completed_at is not None  # Run.finish stamps every finished run
            last_run = LastRun(run.completed_at, run.status == "succeeded", ran)
        runnable = schedules if row["status"] in CALLABLE_STATUSES else []
        snapshot = ProductCapabilities.from_document(row["capabilities"])
        stored: dict[str, Any] = row["configuration"]
        plan: dict[str, Any] = row["plan"]
        state = DashboardState(
            status=row["status"],
            product_name=row["product_name"],
            plan_name=plan.get("name"),
            configuration={**default_configuration(snapshot, product_name=row["product_name"]), **stored},
            configured=frozenset(stored),
            active_api_keys=int(keys["n"]),
            widget_tokens=int(widgets["tokens"]),
            widget_origins=int(widgets["origins"]),
            documents=knowledge["documents"],
            qa_pairs=knowledge["qa_pairs"],
            websites=knowledge["websites"],
            usage=usage_from_metering(used),
            secrets_set=frozenset(secrets),
            schedules=tuple(_as_saved(config) for config, _since in schedules),
            workflow_alerts=tuple({"workflow": name, "channel": channel} for name, channel in alerts),
            last_run=last_run,
            next_run=min((next_run(config, since, now) for config, since in runnable), default=None),
            limits=limits_from_plan(plan.get("limits") or {}),
            now=now,
        )
        return {
            "subscription_id": str(row["id"]),
            "product": {
                "id": str(row["product_id"]),
                "slug": row["product_slug"],
                "name": row["product_name"],
                "category": row["category"],
                "version": row["product_version"],
            },
            "plan": {"id": row["plan_id"], "name": plan.get("name"), "tier": plan.get("tier")},
            "status": row["status"],
            "sections": [section.to_dict() for section in dashboard_descriptor(snapshot, state)],
        }
