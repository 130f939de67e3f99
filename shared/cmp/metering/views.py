"""The usage read side: usage per subscription, period, metric and day, against the plan's limits.

Every reader sums the `usage_daily` view of migration 0017 (the roll-up plus the records newer than its
watermark), so the buyer's usage route, the subscription views and the seller's usage show the same
numbers, exact at any moment. Reads run in the caller's tenant under row-level security: another
organization's subscription is a 404.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from cmp.db.session import Session
from cmp.errors import FieldError, NotFound, ValidationFailed

SessionFactory = Callable[..., AbstractContextManager[Session]]
"""`Database.session(tenant_id, read_only=True)`."""


def usage_this_period(session: Session, subscription_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Usage per subscription and metric in each subscription's current period (adjustments included)."""
    if not subscription_ids:
        return {}
    rows = session.fetch_all(
        "select d.subscription_id, d.metric, sum(d.quantity)::bigint as used from usage_daily d"
        " join subscriptions s on s.id = d.subscription_id and d.period_start = s.current_period_start"
        " where s.id = any(%s) group by d.subscription_id, d.metric",
        (subscription_ids,),
    )
    usage: dict[uuid.UUID, dict[str, int]] = {}
    for r in rows:
        usage.setdefault(r["subscription_id"], {})[r["metric"]] = int(r["used"])
    return usage


def parse_period(raw: str | None) -> date | None:
    """`?period=`: the UTC day a billing period starts (YYYY-MM-DD), or None (blank) for the current one;
    raises `ValidationFailed` at `query.period`."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "the usage period is invalid",
            errors=[FieldError("query.period", "must be the day a billing period starts, as YYYY-MM-DD")],
        ) from None


class UsageViews:
    """`sessions` is `Database.session` (read-only transactions in the caller's tenant)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def subscription_usage(
        self, tenant_id: str, subscription_id: uuid.UUID, period: date | None = None
    ) -> dict[str, Any]:
        """One subscription's usage in its current period, or in the period starting on the UTC day
        `period`: `{"subscription_id", "plan": {id, name}, "period": {start, end, current, closed},
        "usage": {metric: {used, limit}}, "adjustments": {metric: quantity}, "days": [{date, usage:
        {metric: quantity}}], "periods": [{start, end, current, closed}]}`. `usage` counts adjustments
        (late events of a closed period carried into this one) and sets each against the plan's limit
        (`cmp.commerce.views.usage_against_limits`); `days` are UTC days, oldest first; `periods` newest
        first. Raises NotFound for a subscription of another organization or a period it never had."""
        from cmp.commerce.views import usage_against_limits

        with self._sessions(tenant_id, read_only=True) as session:
            sub = session.fetch_one(
                "select id, plan_id, plan, current_period_start, current_period_end from subscriptions"
                " where id = %s",
                (subscription_id,),
            )
            if sub is None:
                raise NotFound("subscription not found")
            periods = _periods(session, sub)
            chosen = next(
                (p for p in periods if (p["current"] if period is None else p["start"].date() == period)),
                None,
            )
            if chosen is None:
                raise NotFound(f"the subscription has no billing period starting on {period}")
            rows = session.fetch_all(
                "select metric, day, adjustment, sum(quantity)::bigint as quantity from usage_daily"
                " where subscription_id = %s and period_start = %s group by metric, day, adjustment"
                " order by day, metric",
                (subscription_id, chosen["start"]),
            )
        used: dict[str, int] = defaultdict(int)
        adjustments: dict[str, int] = defaultdict(int)
        days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            used[r["metric"]] += int(r["quantity"])
            days[r["day"]][r["metric"]] += int(r["quantity"])
            if r["adjustment"]:
                adjustments[r["metric"]] += int(r["quantity"])
        plan = sub["plan"] or {}
        return {
            "subscription_id": str(subscription_id),
            "plan": {"id": sub["plan_id"], "name": plan.get("name", sub["plan_id"])},
            "period": _period_view(chosen),
            "usage": usage_against_limits(plan, dict(used)),
            "adjustments": dict(sorted(adjustments.items())),
            "days": [
                {"date": d.isoformat(), "usage": dict(sorted(m.items()))} for d, m in sorted(days.items())
            ],
            "periods": [_period_view(p) for p in periods],
        }


def _periods(session: Session, sub: dict[str, Any]) -> list[dict[str, Any]]:
    """The subscription's periods, newest first: the current one, then those metering closed or saw."""
    rows = session.fetch_all(
        "select period_start, period_end, closed_at from usage_periods where subscription_id = %s"
        " order by period_start desc",
        (sub["id"],),
    )
    current_start = sub["current_period_start"]
    known: dict[datetime, dict[str, Any]] = {
        current_start: {"start": current_start, "end": sub["current_period_end"], "closed": False}
    }
    for r in rows:
        known[r["period_start"]] = {
            "start": r["period_start"],
            "end": r["period_end"],
            "closed": r["closed_at"] is not None,
        }
    return [{**p, "current": p["start"] == current_start} for _, p in sorted(known.items(), reverse=True)]


def _period_view(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": p["start"].isoformat(),
        "end": p["end"].isoformat(),
        "current": p["current"],
        "closed": p["closed"],
    }
