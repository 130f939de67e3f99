"""The health checker's rules on `RuntimeEndpoint.probed` (down after N failures in a row, ready at the first
answer, each transition once) and how a probe's answer is judged."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from cmp.provisioning.health import _judge, health_answer, is_health_probe
from cmp.provisioning.model import RuntimeEndpoint

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SUBSCRIPTION = uuid.UUID("33333333-3333-4333-8333-333333333333")


def endpoint(state: str = "ready") -> RuntimeEndpoint:
    tenant = uuid.uuid4()
    return RuntimeEndpoint(SUBSCRIPTION, tenant, f"tenant-{tenant}", "http://10.0.0.1", "1.0.0", None, state)  # type: ignore[arg-type]


def test_down_at_the_nth_failure_in_a_row_and_announced_once() -> None:
    found = endpoint()
    assert [found.probed("refused", AT, 3) for _ in range(2)] == [None, None]
    assert (found.state, found.consecutive_failures, found.checked_at) == ("ready", 2, AT)
    assert found.probed("timed out", AT, 3) == "runtime.down"
    assert (found.state, found.state_reason) == ("down", "timed out")
    assert found.probed("refused", AT, 3) is None
    assert (found.state, found.state_reason, found.consecutive_failures) == ("down", "refused", 4)


def test_an_answer_resets_the_count_and_recovers_a_down_endpoint_once() -> None:
    found = endpoint()
    found.probed("refused", AT, 3)
    found.probed("refused", AT, 3)
    assert found.probed(None, AT, 3) is None and found.consecutive_failures == 0
    assert found.probed("refused", AT, 3) is None, "the count starts again after an answer"
    down = endpoint("down")
    assert down.probed(None, AT, 3) == "runtime.recovered"
    assert (down.state, down.state_reason) == ("ready", None)
    assert down.probed(None, AT, 3) is None


def test_a_deprovisioned_endpoint_stays_so() -> None:
    gone = endpoint("deprovisioned")
    assert gone.probed(None, AT, 3) is None and gone.probed("refused", AT, 1) is None
    assert gone.state == "deprovisioned"


def test_only_the_runtime_serving_the_subscription_passes_the_probe() -> None:
    answer = health_answer(str(SUBSCRIPTION), "1.0.0")
    assert is_health_probe({"cmp": "health"}) and not is_health_probe({"httpMethod": "GET"})
    assert _judge(200, json.dumps(answer).encode(), SUBSCRIPTION) is None
    other = uuid.uuid4()
    assert _judge(200, json.dumps(answer).encode(), other) == (
        f"another runtime answers at its address ({SUBSCRIPTION})"
    )
    crashed = json.dumps({"errorType": "RuntimeError", "errorMessage": "boom"}).encode()
    assert _judge(200, crashed, SUBSCRIPTION) == "its health probe answered HTTP 200 without a health answer"
    assert (
        _judge(502, b"<html>", SUBSCRIPTION) == "its health probe answered HTTP 502 without a health answer"
    )
