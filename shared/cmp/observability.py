"""Powertools Logger and Metrics for every function, and X-Ray tracing for the jobs.

Every function is traced by Lambda itself (`Tracing: Active` in template.yaml records each invocation's
segment without any SDK). The X-Ray SDK, which Powertools' Tracer loads, costs ~150 ms of import and adds
subsegments for AWS calls: API functions and the authorizer, whose cold start a user waits for, do without
it; the jobs (SQS workers, schedules) get it through `traced_job`, built on their first invocation so module
initialisation stays within budget (docs/performance.md, docs/decisions.md).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

# A request that records no business metric is normal (reads, rejections); Powertools warns on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def instruments(service: str) -> tuple[Logger, Metrics]:
    """The function's Logger and Metrics, both named `service` (metrics namespace `CMP`)."""
    return Logger(service=service), Metrics(service=service, namespace="CMP")


def traced_job(service: str) -> Callable[[Handler], Handler]:
    """Decorate a job's handler with Powertools' `Tracer.capture_lambda_handler`, the Tracer (and the X-Ray
    SDK) being created on the first invocation instead of at import."""

    def decorate(handler: Handler) -> Handler:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            if not traced:
                from aws_lambda_powertools import Tracer

                traced.append(Tracer(service=service).capture_lambda_handler(handler))
            return traced[0](event, context)

        return wrapper  # type: ignore[return-value]

    return decorate
