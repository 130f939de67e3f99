"""Powertools Logger, Metrics and Tracer for a function; POWERTOOLS_SERVICE_NAME names each one."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer


def instruments(service: str) -> tuple[Logger, Metrics, Tracer]:
    return Logger(service=service), Metrics(service=service, namespace="CMP"), Tracer(service=service)
