"""`Gateway.admit` against the real database: rate limits (key override, plan, burst) with their headers,
atomicity across buckets, concurrency caps released and expiring, plan quotas and their once-per-period
alerts, and another tenant's context."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.errors import NotFound
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import CredentialRevoked, QuotaExceeded, RateLimited, RuntimeUnavailable
from cmp.gateway.repository import GatewayStatements
from cmp.gateway.services import Gateway
from cmp.metering.model import UsageEvent
from cmp.tenancy.credentials import ApiKeyRequest
from tests.subscriptions import capabilities, subscribe

from .conftest import caller_of

PRODUCT = capabilities(interfaces={"api": {"enabled": True}})


def _plan(**limits: Any) -> dict[str, Any]:
    return {"id": "plan_starter", "name": "Starter", "tier": "starter", "limits": limits}


def _key_context(
    services: Services, db: Database, plan: dict[str, Any], key_rpm: int | None = None
) -> RuntimeContext:
    buyer = caller_of(services, "Limits Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], PRODUCT, plan=plan)
    issued = services.integration.create_api_key(
        buyer["tenant_id"],
        buyer["user_id"],
        subscription.id,
        ApiKeyRequest("k", rate_limit_per_minute=key_rpm),
    )
    return services.runtime_authorizer.authorize(issued.secret, None, None)


def test_the_keys_own_limit_and_burst_then_429_with_headers(services: Services, db: Database) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60, concurrency=None), key_rpm=6)
    first = services.gateway.admit(ctx)
    assert first.headers["RateLimit-Policy"] == '"key";q=6;w=60, "subscription";q=60;w=60'
    assert first.headers["RateLimit"] == '"key";r=0;t=10'  # burst of 1 at 6 rpm: one every 10 s
    with pytest.raises(RateLimited) as refused:
        services.gateway.admit(ctx)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] in {"9", "10"}
    assert refused.value.headers["RateLimit"].startswith('"key";r=0;t=')


def test_the_plan_rate_applies_with_a_burst_of_ten_seconds(services: Services, db: Database) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60))
    admitted = 0
    for _ in range(15):
        try:
            services.gateway.admit(ctx).close()
            admitted += 1
        except RateLimited:
            pass
    assert admitted in (10, 11)  # the burst (10 s of 60 rpm), plus one if a second passed meanwhile


def test_a_refusal_by_one_bucket_takes_nothing_from_the_others(services: Services, db: Database) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60), key_rpm=6)
    services.gateway.admit(ctx)
    for _ in range(5):
        with pytest.raises(RateLimited):
            services.gateway.admit(ctx)
    remaining = services.gateway.admit  # another key of the same subscription still has 9 of 10 at once
    other = services.integration.create_api_key(
        str(ctx.tenant_id), None, ctx.subscription_id, ApiKeyRequest("other")
    )
    other_ctx = services.runtime_authorizer.authorize(other.secret, None, None)
    assert remaining(other_ctx).headers["RateLimit"] == '"subscription";r=8;t=2'


def test_the_concurrency_cap_is_released_and_expires(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=600, concurrency=2))
    with (
        services.gateway.admit(ctx),
        services.gateway.admit(ctx),
        pytest.raises(RateLimited, match="2 concurrent"),
    ):
        services.gateway.admit(ctx)
    with services.gateway.admit(ctx):  # both slots were freed on leaving the blocks
        pass
    crashed = services.gateway.admit(ctx)  # never closed: a function that died mid-call
    services.gateway.admit(ctx)
    with pytest.raises(RateLimited):
        services.gateway.admit(ctx)
    owner_conn.execute(
        "update gateway_leases set expires_at = now() - interval '1 second' where subscription_id = %s",
        (ctx.subscription_id,),
    )
    services.gateway.admit(ctx).close()  # the expired leases no longer count
    crashed.close()


def _use(db: Database, ctx: RuntimeContext, metric: str, quantity: int) -> None:
    with db.unit_of_work(str(ctx.tenant_id)) as uow:
        event = UsageEvent(ctx.subscription_id, metric, quantity, datetime.now(UTC), uuid.uuid4().hex)
        uow.usage.record(event)
        uow.commit()


def _alerts(owner_conn: psycopg.Connection[Any], ctx: RuntimeContext) -> list[tuple[Any, ...]]:
    return owner_conn.execute(
        "select payload->>'quota', (payload->>'threshold')::int from outbox"
        " where name = 'usage.alert' and payload->>'subscription_id' = %s"
        " order by created_at, payload->>'quota', (payload->>'threshold')::int",
        (str(ctx.subscription_id),),
    ).fetchall()


def test_quotas_refuse_naming_use_and_reset_and_alert_once_per_period(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=6000, messages=10, tokens=1000))
    _use(db, ctx, "messages", 7)
    services.gateway.admit(ctx, metric="messages").close()  # 7 used + this one = 8 of 10: the 80 % alert
    services.gateway.admit(ctx, metric="messages").close()  # (metering records calls; none here) no new alert
    assert _alerts(owner_conn, ctx) == [("messages", 80)]
    _use(db, ctx, "messages", 3)
    with pytest.raises(QuotaExceeded) as over:
        services.gateway.admit(ctx, metric="messages")
    assert (over.value.quota, over.value.used, over.value.limit, over.value.status) == (
        "messages",
        10,
        10,
        429,
    )
    with db.session(ctx.tenant_id) as session:
        row = session.fetch_one(
            "select current_period_end from subscriptions where id = %s", (ctx.subscription_id,)
        )
    assert row is not None and over.value.resets_at == row["current_period_end"].isoformat()
    assert int(over.value.headers["Retry-After"]) > 28 * 86400  # the period ends in 29 days
    body = over.value.to_dict()
    assert body["error"] == "quota_exceeded" and "messages quota is used up (10 of 10)" in str(
        body["message"]
    )
    _use(db, ctx, "tokens_in", 500)
    _use(db, ctx, "tokens_out", 300)
    services.gateway.admit(ctx, metric="tokens", cost=200).close()  # 800 + 200 = 1,000: both alerts
    with pytest.raises(QuotaExceeded, match="tokens"):
        services.gateway.admit(ctx, metric="tokens", cost=201)
    services.gateway.admit(ctx, metric="api_calls").close()  # the plan sets no API call quota
    assert _alerts(owner_conn, ctx) == [("messages", 80), ("tokens", 80), ("tokens", 100)]


def test_a_context_naming_another_tenants_subscription_finds_nothing(
    services: Services, db: Database
) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60))
    other = _key_context(services, db, _plan(rateLimitRpm=60))
    forged = RuntimeContext(**{**ctx.__dict__, "subscription_id": other.subscription_id})
    with pytest.raises(NotFound):
        services.gateway.admit(forged)


def test_a_rate_refusal_waits_what_retry_after_says(services: Services, db: Database) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60), key_rpm=30)
    refusal = None
    for _ in range(30):  # the burst (5) goes first; how many more get in depends on this machine's speed
        try:
            services.gateway.admit(ctx).close()
        except RateLimited as e:
            refusal = e
            break
    assert refusal is not None
    wait = int(refusal.headers["Retry-After"])
    assert 1 <= wait <= 2  # one emission interval (2 s at 30 rpm), rounded up
    time.sleep(wait)
    services.gateway.admit(ctx).close()


def test_a_dedicated_subscription_is_a_503_with_its_provisioning_state_until_it_has_an_endpoint(
    services: Services, db: Database
) -> None:
    ctx = _key_context(services, db, _plan(rateLimitRpm=60))
    with db.session(ctx.tenant_id) as session:
        session.execute(
            "update subscriptions set runtime_type = 'dedicated', provisioning = '{\"state\": \"running\"}'"
            " where id = %s",
            (ctx.subscription_id,),
        )
    with pytest.raises(RuntimeUnavailable) as unavailable:
        services.gateway.admit(ctx)
    assert (unavailable.value.status, unavailable.value.state) == (503, "running")
    assert "provisioning: running" in unavailable.value.message

    class Endpoint:
        def endpoint(
            self, tenant_id: uuid.UUID, subscription_id: uuid.UUID, provisioning: dict[str, Any]
        ) -> str:
            return f"https://tenant-{tenant_id}.runtime.internal"

    routed = Gateway(
        GatewayStatements(db.statement),
        services.unit_of_work,
        services.clock,
        services.ids,
        lambda: "default",
        Endpoint(),
    )
    with routed.admit(ctx) as admission:
        assert admission.endpoint == f"https://tenant-{ctx.tenant_id}.runtime.internal"
    shared = _key_context(services, db, _plan(rateLimitRpm=60))
    with services.gateway.admit(shared) as admission:
        assert admission.endpoint is None  # shared plans run in-process


def test_a_warm_admission_is_one_round_trip_and_never_stale(
    services: Services, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Each round trip ends the client's messages with a Sync (pipeline) or is a simple Query: libpq's
    trace of the connection counts them. The container's first call of a subscription reads the state and
    then admits (2); later calls send the cached limits with the state read (1); a plan change is seen on
    the very next call (2 again, with the new limits), a revoked key on the very next call. The release is
    sent without waiting (on the process's own connection, no round trip of the pool's), and has run
    before the process's next statement."""
    ctx = _key_context(services, db, _plan(rateLimitRpm=600, concurrency=2, messages=1000))
    trace = tmp_path / "libpq.trace"
    opened = db._connection

    @contextlib.contextmanager
    def traced() -> Iterator[psycopg.Connection[Any]]:
        with opened() as conn, trace.open("a") as out:
            conn.pgconn.trace(out.fileno())
            try:
                yield conn
            finally:
                conn.pgconn.untrace()

    def round_trips() -> int:
        sent = [line.split("\t") for line in trace.read_text().splitlines()]
        trace.write_text("")
        return sum(1 for fields in sent if fields[1:2] == ["F"] and fields[3] in {"Sync", "Query"})

    monkeypatch.setattr(db, "_connection", traced)

    def leases() -> int:
        with db.session(ctx.tenant_id) as session:
            row = session.fetch_one(
                "select count(*) as n from gateway_leases where subscription_id = %s", (ctx.subscription_id,)
            )
        trace.write_text("")
        return int(row["n"]) if row else -1

    admission = services.gateway.admit(ctx, metric="messages")
    assert round_trips() == 2
    admission.close()
    assert round_trips() == 0
    assert leases() == 0
    for _ in range(3):
        admission = services.gateway.admit(ctx, metric="messages")
        assert round_trips() == 1
        assert admission.headers["RateLimit-Policy"] == '"key";q=600;w=60, "subscription";q=600;w=60'
        assert leases() == 1
        admission.close()
        assert round_trips() == 0
    with db.session(ctx.tenant_id) as session:
        session.execute(
            "update subscriptions set plan = jsonb_set(plan, '{limits,rateLimitRpm}', '120') where id = %s",
            (ctx.subscription_id,),
        )
    trace.write_text("")
    with services.gateway.admit(ctx, metric="messages") as admission:
        assert admission.headers["RateLimit-Policy"] == '"key";q=120;w=60, "subscription";q=120;w=60'
    assert round_trips() == 2  # the state with the plan change, then the admission
    with services.gateway.admit(ctx, metric="messages"):
        assert round_trips() == 1
    with db.session(ctx.tenant_id) as session:
        session.execute("update api_keys set revoked_at = now() where id = %s", (ctx.key_id,))
    with pytest.raises(CredentialRevoked):
        services.gateway.admit(ctx, metric="messages")
    assert leases() == 0  # every release ran; the refused call took no lease


def test_a_warm_admission_still_refuses_on_quota_and_concurrency(services: Services, db: Database) -> None:
    """The one-statement admission holds the same rules: the quota's last unit, then a 429 naming it; the
    concurrency cap with the cached limits."""
    ctx = _key_context(services, db, _plan(rateLimitRpm=600, concurrency=1, apiCalls=3))
    services.gateway.admit(ctx).close()  # cold: caches the limits
    record = services.call_meter.record
    for n in range(3):
        record(ctx.tenant_id, ctx.subscription_id, ctx.key_id, f"warm-{n}", services.clock.now())
    with pytest.raises(QuotaExceeded) as over:
        services.gateway.admit(ctx)
    assert "api_calls" in over.value.message
    other = _key_context(services, db, _plan(rateLimitRpm=600, concurrency=1))
    services.gateway.admit(other).close()
    with services.gateway.admit(other), pytest.raises(RateLimited) as busy:
        services.gateway.admit(other)
    assert "1 concurrent calls" in busy.value.message


def test_a_new_key_on_an_exhausted_subscription_is_a_429_not_a_500(services: Services, db: Database) -> None:
    """A bucket first seen in a refused call (a new key's) has no arrival time yet: the refusal still answers
    with headers (the defect: PostgreSQL's `-infinity` reached Python and the call was a 500)."""
    buyer = caller_of(services, "Fresh Key Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], PRODUCT, plan=_plan(rateLimitRpm=6))
    keys = [
        services.integration.create_api_key(
            buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest(name)
        ).secret
        for name in ("first", "second")
    ]
    first = services.runtime_authorizer.authorize(keys[0], None, None)
    services.gateway.admit(first).close()
    with pytest.raises(RateLimited):
        services.gateway.admit(first)
    second = services.runtime_authorizer.authorize(keys[1], None, None)
    with pytest.raises(RateLimited) as refused:
        services.gateway.admit(second)
    assert refused.value.status == 429 and '"subscription";r=0' in refused.value.headers["RateLimit"]
