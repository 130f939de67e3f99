"""Powertools Logger, Metrics and Tracer for a function; POWERTOOLS_SERVICE_NAME names each one."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# A request that records no business metric is normal (reads, rejections); Powertools warns on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def instruments(service: str) -> tuple[Logger, Metrics, Tracer]:
    return Logger(service=service), Metrics(service=service, namespace="CMP"), Tracer(service=service)
