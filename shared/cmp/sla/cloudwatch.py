"""`MetricsSource` over CloudWatch `GetMetricData`: per-step `Sum` of the runtime metrics
(`cmp.sla.metrics`) of one subscription, matched on its exact dimensions.

Only `Sum` is asked for: the latency SLO is a ratio of two counts (the histogram metric of the plan's bound
over the successful calls), so no percentile statistic is needed (moto, which plays CloudWatch in the tests
and locally, computes none). `GetMetricData` returns at most 100,800 data points per call and pages with
`NextToken`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from cmp.sla.metrics import ERRORS, NAMESPACE, REQUESTS, dimensions, within_metric
from cmp.sla.model import Bucket

QUERIES = {"requests": REQUESTS, "errors": ERRORS}


class CloudWatchMetrics:
    """Reads the series with the given boto3 CloudWatch client, or the platform's (`cmp.aws.clients`)."""

    def __init__(self, cloudwatch: Any = None) -> None:
        self._cloudwatch = cloudwatch

    def _client(self) -> Any:
        if self._cloudwatch is None:
            from cmp.aws.clients import client

            self._cloudwatch = client("cloudwatch")
        return self._cloudwatch

    def series(
        self,
        tenant_id: UUID,
        subscription_id: UUID,
        latency_bound_ms: int,
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> list[Bucket]:
        """`cmp.sla.ports.MetricsSource.series`."""
        dims = [{"Name": k, "Value": v} for k, v in dimensions(tenant_id, subscription_id).items()]
        names = {**QUERIES, "fast": within_metric(latency_bound_ms)}
        queries = [
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dims},
                    "Period": int(step.total_seconds()),
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for query_id, name in names.items()
        ]
        counts: dict[datetime, dict[str, float]] = defaultdict(dict)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            answer = self._client().get_metric_data(
                MetricDataQueries=queries,
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
                **kwargs,
            )
            for result in answer["MetricDataResults"]:
                for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    bucket = counts[timestamp]
                    bucket[result["Id"]] = bucket.get(result["Id"], 0.0) + value
            token = answer.get("NextToken")
            if not token:
                break
        return [
            Bucket(
                timestamp,
                round(values.get("requests", 0)),
                round(values.get("errors", 0)),
                round(values.get("fast", 0)),
            )
            for timestamp, values in sorted(counts.items())
            if timestamp < end
        ]
