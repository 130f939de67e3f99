"""Plays CloudWatch Logs' extraction of embedded metric format (EMF) documents locally: each line a
function prints that is an EMF document (a JSON object with `_aws.CloudWatchMetrics`) becomes the
`PutMetricData` calls CloudWatch would make of it, into moto's CloudWatch; every line is still written to
the function's log as before.

    sys.stdout = EmfStream(sys.stderr, lambda: new_client("cloudwatch"))

In AWS nothing of this runs: Lambda's output goes to CloudWatch Logs, which extracts the metrics itself
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
Metrics are sent from a background thread, so a call never waits for moto.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

log = logging.getLogger("cmp_dev.local")
BATCH = 1000
"""PutMetricData's most data points per call."""


def metric_data(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The `MetricData` per namespace that CloudWatch extracts from one EMF document: for every metric
    directive, each dimension set (the listed dimension names with their values from the document), each
    metric with its value (a number, or a list of numbers) and unit, at the document's `Timestamp` (epoch
    ms). Empty for anything that is not an EMF document."""
    meta = document.get("_aws")
    if not isinstance(meta, dict) or not isinstance(meta.get("CloudWatchMetrics"), list):
        return {}
    timestamp = datetime.fromtimestamp(int(meta.get("Timestamp", 0)) / 1000, tz=UTC)
    out: dict[str, list[dict[str, Any]]] = {}
    for directive in meta["CloudWatchMetrics"]:
        for names in directive.get("Dimensions") or [[]]:
            dimensions = [{"Name": n, "Value": str(document[n])} for n in names if n in document]
            for metric in directive.get("Metrics", []):
                value = document.get(metric["Name"])
                values = value if isinstance(value, list) else [value]
                numbers = [float(v) for v in values if isinstance(v, int | float)]
                if not numbers:
                    continue
                datum: dict[str, Any] = {
                    "MetricName": metric["Name"],
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Unit": metric.get("Unit") or "None",
                }
                datum.update({"Value": numbers[0]} if len(numbers) == 1 else {"Values": numbers})
                out.setdefault(directive["Namespace"], []).append(datum)
    return out


def put_document(cloudwatch: Any, document: dict[str, Any]) -> int:
    """Send one EMF document's metrics with `cloudwatch` (a boto3 client); returns the data points sent."""
    sent = 0
    for namespace, data in metric_data(document).items():
        for i in range(0, len(data), BATCH):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + BATCH])
            sent += len(data[i : i + BATCH])
    return sent


class EmfStream:
    """A text stream writing through to `target` and sending each EMF line's metrics with the CloudWatch
    client `cloudwatch()` builds (on first use, in the sender thread)."""

    def __init__(
        self, target: TextIO, cloudwatch: Callable[[], Any], namespaces: frozenset[str] | None = None
    ) -> None:
        self._target = target
        self._cloudwatch = cloudwatch
        self._namespaces = namespaces
        self._pending = ""
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None

    def write(self, text: str) -> int:
        written = self._target.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.startswith("{") and '"_aws"' in line:
                try:
                    document = json.loads(line)
                except ValueError:
                    continue
                if isinstance(document, dict) and self._wanted(document):
                    self._enqueue(document)
        return written

    def flush(self) -> None:
        self._target.flush()

    def _wanted(self, document: dict[str, Any]) -> bool:
        """Whether a document names one of the forwarded namespaces (all when none were given)."""
        if self._namespaces is None:
            return True
        directives = (document.get("_aws") or {}).get("CloudWatchMetrics") or []
        return any(isinstance(d, dict) and d.get("Namespace") in self._namespaces for d in directives)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def _enqueue(self, document: dict[str, Any]) -> None:
        if self._sender is None:
            self._sender = threading.Thread(target=self._send, name="emf", daemon=True)
            self._sender.start()
        self._queue.put(document)

    def _send(self) -> None:
        client = None
        while True:
            document = self._queue.get()
            try:
                client = client or self._cloudwatch()
                put_document(client, document)
            except Exception as e:  # a metric lost locally must never break the function
                log.warning("EMF metrics not sent to CloudWatch: %s", e)
