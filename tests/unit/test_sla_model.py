"""The SLO computation on recorded series with known answers (cmp.sla.model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cmp.sla.model import Bucket, evaluate
from cmp.sla.services import floor_to, step_for
from cmp.sla.targets import SlaTargets

MINUTE = timedelta(minutes=1)
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)  # a 30-day period
TARGETS = SlaTargets(availability=99.9, latency_p95_ms=500)


def steady(
    first: datetime, minutes: int, requests: int = 100, errors: int = 0, fast: int | None = None
) -> list[Bucket]:
    """`minutes` one-minute buckets from `first`, each with the same counts (all successful calls fast by
    default)."""
    ok = requests - errors
    return [
        Bucket(first + i * MINUTE, requests, errors, ok if fast is None else fast) for i in range(minutes)
    ]


def test_a_period_without_errors_meets_both_slos_with_the_whole_budget_left() -> None:
    now = START + timedelta(days=2)
    report = evaluate(TARGETS, steady(START, 2 * 24 * 60), START, END, now, MINUTE).to_dict()
    assert report["requests"] == 288_000 and report["errors"] == 0
    assert report["availability"] == {"attainment": 100.0, "met": True}
    assert report["error_budget"] == {"total_requests": 288.0, "left_requests": 288.0, "left_percent": 100.0}
    assert report["latency"]["attainment"] == 100.0 and report["latency"]["met"] is True
    assert report["incidents"] == [] and report["alerts"] == []


def test_an_outage_burning_2_percent_of_a_30_day_budget_in_one_hour_pages() -> None:
    """1,000 calls a minute for 30 days is 43.2 million calls and a budget of 43,200 errors; 2 % of it (864
    errors) in one hour is 14.4 errors a minute, a burn rate of 14.4. Fifteen a minute (burn 15) pages on
    the 1 h / 5 min alert only: over 6 h the burn is 2.5, over 24 h 0.63."""
    before = steady(START, 60 * 24, requests=1000)
    outage_start = START + timedelta(days=1)
    outage = steady(outage_start, 60, requests=1000, errors=15)
    now = outage_start + timedelta(hours=1)
    report = evaluate(TARGETS, before + outage, START, END, now, MINUTE)
    assert [(a.alert.name, a.alert.severity) for a in report.firing] == [("1h/5m", "page")]
    alert = report.firing[0]
    assert alert.long_burn == pytest.approx(15.0) and alert.short_burn == pytest.approx(15.0)
    assert report.errors == 900  # 2.08 % of the 30-day budget of 43,200
    incident = [i for i in report.incidents if i.kind == "availability"]
    assert len(incident) == 1
    assert (incident[0].start, incident[0].end, incident[0].duration_seconds) == (outage_start, now, 3600)
    assert incident[0].ongoing and incident[0].bad == 900 and incident[0].requests == 60_000


def test_a_page_alert_stops_once_the_short_window_is_clean() -> None:
    outage_start = START + timedelta(days=1)
    outage = [Bucket(outage_start + i * MINUTE, 1000, 20, 980) for i in range(50)]
    recovered = steady(outage_start + 50 * MINUTE, 10, requests=1000)
    now = outage_start + timedelta(hours=1)
    report = evaluate(TARGETS, outage + recovered, START, END, now, MINUTE)
    assert "1h/5m" not in {a.alert.name for a in report.firing}
    incident = report.incidents[0]
    assert incident.end == outage_start + 50 * MINUTE and not incident.ongoing


def test_a_slow_burn_raises_only_a_ticket() -> None:
    """An error rate of 0.35 % (burn 3.5) for 26 hours: the 24 h / 2 h ticket fires, no page does."""
    series = steady(START, 26 * 60, requests=2000, errors=7)
    now = START + timedelta(hours=26)
    report = evaluate(TARGETS, series, START, END, now, MINUTE)
    firing = {a.alert.name: a.alert.severity for a in report.firing}
    assert firing == {"24h/2h": "ticket", "72h/6h": "ticket"}
    assert report.to_dict()["error_budget"]["left_percent"] == pytest.approx(-250.0)
    assert report.to_dict()["availability"] == {"attainment": 99.65, "met": False}


def test_latency_attainment_and_latency_incidents() -> None:
    """95 of 100 successful calls within the bound holds the SLO; 90 breaches it for those minutes."""
    good = steady(START, 30, requests=100, fast=95)
    slow = steady(START + 30 * MINUTE, 10, requests=100, fast=90)
    now = START + timedelta(hours=1)
    report = evaluate(TARGETS, good + slow, START, END, now, MINUTE)
    latency = report.to_dict()["latency"]
    assert latency["successful"] == 4000 and latency["within_target"] == 3750
    assert latency["attainment"] == 93.75 and latency["met"] is False
    assert [(i.kind, i.start, i.duration_seconds, i.bad) for i in report.incidents] == [
        ("latency", START + 30 * MINUTE, 600, 100)
    ]
    assert report.to_dict()["availability"]["met"] is True


def test_errors_count_against_availability_only() -> None:
    buckets = [Bucket(START, 100, 50, 50)]
    report = evaluate(TARGETS, buckets, START, END, START + MINUTE, MINUTE).to_dict()
    assert report["availability"]["attainment"] == 50.0
    assert report["latency"] == {"successful": 50, "within_target": 50, "attainment": 100.0, "met": True}


def test_period_boundaries() -> None:
    """Calls before the period start count only towards the burn-rate windows; calls at or after `now` not
    at all; two breached minutes separated by a quiet one are two incidents."""
    previous_period = [Bucket(START - 30 * MINUTE + i * MINUTE, 1000, 100, 900) for i in range(30)]
    this_period = [Bucket(START, 1000, 100, 900), Bucket(START + 2 * MINUTE, 1000, 100, 900)]
    now = START + 5 * MINUTE
    future = [Bucket(now, 1000, 1000, 0)]
    report = evaluate(TARGETS, previous_period + this_period + future, START, END, now, MINUTE)
    assert report.requests == 2000 and report.errors == 200
    assert [(i.start, i.end) for i in report.incidents] == [
        (START, START + MINUTE),
        (START + 2 * MINUTE, START + 3 * MINUTE),
    ]
    assert "1h/5m" in {a.alert.name for a in report.firing}  # 10 % errors over the last hour: burn 100


def test_an_empty_period_has_no_attainment_yet_and_the_whole_budget() -> None:
    report = evaluate(TARGETS, [], START, END, START + MINUTE, MINUTE).to_dict()
    assert report["availability"] == {"attainment": None, "met": True}
    assert report["error_budget"]["left_percent"] == 100.0
    assert report["latency"]["attainment"] is None


def test_targets_from_the_plan_and_their_defaults() -> None:
    assert SlaTargets.from_plan({"tier": "enterprise"}) == SlaTargets(99.9, 2000)
    assert SlaTargets.from_plan({"sla": {"availability": 99.5, "latencyP95Ms": 1000}}) == SlaTargets(
        99.5, 1000
    )
    assert SlaTargets(99.5, 1000).allowed_error_rate == 0.005


def test_the_series_step_follows_cloudwatch_retention() -> None:
    now = START + timedelta(days=40)
    assert step_for(now - timedelta(days=3), now) == MINUTE
    assert step_for(now - timedelta(days=30), now) == 5 * MINUTE
    assert step_for(now - timedelta(days=300), now) == timedelta(hours=1)
    assert floor_to(datetime(2026, 11, 1, 10, 7, 31, tzinfo=UTC), 5 * MINUTE) == datetime(
        2026, 11, 1, 10, 5, tzinfo=UTC
    )


def test_the_minute_holding_a_mid_minute_period_start_counts_in_that_period() -> None:
    """A period starts at the second of purchase (11:10:04): the calls of the 11:10 minute count in it, and the
    minute holding the period's end counts in the next period only (found by a new-user trial: the calls
    made right after buying were never counted)."""
    start = START + timedelta(seconds=4)
    end = END + timedelta(seconds=4)
    buckets = [Bucket(START, 4, 0, 4), Bucket(START + MINUTE, 3, 0, 3), Bucket(END, 7, 0, 7)]
    report = evaluate(TARGETS, buckets, start, end, START + 2 * MINUTE, MINUTE)
    assert report.requests == 7
    later = evaluate(TARGETS, buckets, start, end, END + MINUTE, MINUTE)
    assert later.requests == 7, "the bucket holding the period's end belongs to the next period"
    following = evaluate(TARGETS, buckets, end, end + (END - START), END + MINUTE, MINUTE)
    assert following.requests == 7
