"""boto3 clients built once per process, lazily, so cold starts pay only for what a function uses."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str) -> Any:
    """boto3 reads AWS_ENDPOINT_URL itself; the region defaults so local runs need no AWS profile."""
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    return boto3.client(service, region_name=region, config=_CONFIG)
