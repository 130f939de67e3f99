"""The SLA's sources: the gateway's per-call EMF metrics (`cmp.sla.metrics`), and the local stack's extraction of EMF lines into PutMetricData
(`cmp_dev.local.emf`)."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stdout, suppress
from typing import Any

import pytest

from cmp.gateway.errors import RuntimeDown
from cmp.sla.metrics import NAMESPACE, measured, within_metric
from cmp_dev.local.emf import EmfStream, metric_data

pytestmark = pytest.mark.unit
TENANT, SUBSCRIPTION = uuid.uuid4(), uuid.uuid4()


def documents(call: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out), suppress(RuntimeDown):
        call()
    return [json.loads(line) for line in out.getvalue().splitlines() if '"_aws"' in line]


def test_a_forwarded_call_prints_one_emf_document_with_the_tenant_and_subscription() -> None:
    [doc] = documents(lambda: measured(TENANT, SUBSCRIPTION, lambda: {"statusCode": 200}, RuntimeDown))
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == NAMESPACE
    assert sorted(directive["Dimensions"][0]) == ["service", "subscription", "tenant"]
    assert (doc["tenant"], doc["subscription"]) == (str(TENANT), str(SUBSCRIPTION))
    assert doc["RuntimeRequests"] == [1.0] and doc["RuntimeErrors"] == [0.0]
    assert doc[within_metric(100)] == [1.0] and doc[within_metric(30000)] == [1.0]


def test_a_5xx_or_an_unreachable_runtime_is_an_error_and_never_fast() -> None:
    [failed] = documents(lambda: measured(TENANT, SUBSCRIPTION, lambda: {"statusCode": 502}, RuntimeDown))
    assert failed["RuntimeErrors"] == [1.0] and failed[within_metric(30000)] == [0.0]

    def down() -> dict[str, Any]:
        raise RuntimeDown("unreachable")

    [unreachable] = documents(lambda: measured(TENANT, SUBSCRIPTION, down, RuntimeDown))
    assert unreachable["RuntimeErrors"] == [1.0]
    [client_error] = documents(
        lambda: measured(TENANT, SUBSCRIPTION, lambda: {"statusCode": 429}, RuntimeDown)
    )
    assert client_error["RuntimeErrors"] == [0.0] and client_error["RuntimeRequests"] == [1.0]


def test_a_call_run_in_this_process_records_nothing() -> None:
    assert documents(lambda: measured(TENANT, SUBSCRIPTION, lambda: None, RuntimeDown)) == []


def test_an_emf_document_becomes_the_metric_data_cloudwatch_would_extract() -> None:
    [doc] = documents(lambda: measured(TENANT, SUBSCRIPTION, lambda: {"statusCode": 200}, RuntimeDown))
    data = metric_data(doc)[NAMESPACE]
    assert len(data) == 11
    requests = next(d for d in data if d["MetricName"] == "RuntimeRequests")
    assert requests["Value"] == 1.0 and requests["Unit"] == "Count"
    assert {d["Name"]: d["Value"] for d in requests["Dimensions"]} == {
        "tenant": str(TENANT),
        "subscription": str(SUBSCRIPTION),
        "service": "runtime-gateway",
    }
    assert requests["Timestamp"].timestamp() * 1000 == pytest.approx(doc["_aws"]["Timestamp"])
    assert metric_data({"message": "a plain log line"}) == {}


def test_the_emf_stream_writes_every_line_through_and_sends_only_emf_documents() -> None:
    sent: list[dict[str, Any]] = []

    class Recorder:
        def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
            sent.extend(MetricData)

    target = io.StringIO()
    stream = EmfStream(target, Recorder)
    [doc] = documents(lambda: measured(TENANT, SUBSCRIPTION, lambda: {"statusCode": 200}, RuntimeDown))
    line = json.dumps(doc)
    stream.write("plain text\n" + line[:10])
    stream.write(line[10:] + "\n")
    assert target.getvalue() == "plain text\n" + line + "\n"
    assert stream._sender is not None
    stream._sender.join(0.5)
    assert len(sent) == 11
