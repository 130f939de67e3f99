"""boto3 clients built once per process, on first use, so a cold start pays only for what a function calls
(importing boto3 alone costs ~130 ms on a 2-core machine; see docs/performance.md)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    """The boto3 client for `service`. boto3 reads AWS_ENDPOINT_URL itself (moto, LocalStack or AWS); the
    region defaults so local runs need no AWS profile; retries are botocore's standard mode, 3 attempts."""
    import boto3
    from botocore.config import Config

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    return boto3.client(service, region_name=region, config=config)
