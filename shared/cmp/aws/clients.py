"""boto3 clients built once per process, on first use, so a cold start pays only for what a function calls
(importing boto3 alone costs ~130 ms on a 2-core machine; see docs/performance.md).

Every AWS client of the platform and of the local stack is built here, by `new_client`. `CMP_AWS` says where
the AWS APIs are:

- `moto` (the default): boto3's own endpoint resolution. Locally that is `AWS_ENDPOINT_URL`, the moto server
  `make run` starts; in AWS the variable is unset and boto3 reaches the real services.
- `localstack`: the clients come from localstack-client's `Session`, which points every service at the
  LocalStack edge: `LOCALSTACK_HOST` (`host:port`, default `localhost:4566`; `USE_SSL=true` for https), or
  `AWS_ENDPOINT_URL` when that is set (localstack-client's own precedence). S3 uses path-style addressing
  there, so bucket names need no DNS.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any
from urllib.parse import urlsplit

AWS_MODES = ("moto", "localstack")


def aws_mode() -> str:
    """`CMP_AWS`: `moto` (unset or empty) or `localstack`. Raises ValueError naming the variable otherwise."""
    mode = os.environ.get("CMP_AWS") or "moto"
    if mode not in AWS_MODES:
        raise ValueError(f"CMP_AWS={mode!r}: expected one of {', '.join(AWS_MODES)}")
    return mode


def localstack_edge(endpoint_url: str | None = None) -> str:
    """The LocalStack edge URL localstack-client targets (`http://localhost:4566` unless configured), or,
    given `endpoint_url`, the edge at that URL's `host:port`."""
    from localstack_client import config

    edge: str = config.get_service_endpoint("edge", _host(endpoint_url))
    return edge


def new_client(
    service: str,
    endpoint_url: str | None = None,
    *,
    region: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> Any:
    """A new boto3 client for `service` (`sqs`, `s3`, ...), per `CMP_AWS` (see the module docstring).

    `endpoint_url` is the local stack's AWS endpoint (moto's URL, or the LocalStack edge, whose `host:port`
    then replaces `LOCALSTACK_HOST`); None: the environment decides. `region` defaults to
    `AWS_DEFAULT_REGION`, `AWS_REGION`, then us-east-1, so local runs need no AWS profile. `credentials` is
    (access key id, secret key); None: boto3's chain, or with LocalStack the `AWS_ACCESS_KEY_ID` /
    `AWS_SECRET_ACCESS_KEY` variables, else `test`/`test` (LocalStack's documented defaults). Retries are
    botocore's standard mode, 3 attempts. A service localstack-client has no endpoint for (it names the
    boto3 services LocalStack serves) goes to the same edge: LocalStack serves every service there.
    """
    import boto3
    from botocore.config import Config

    region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    settings: dict[str, Any] = {
        "retries": {"max_attempts": 3, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 30,
    }
    if aws_mode() == "moto":
        keys = (
            {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
            if credentials
            else {}
        )
        return boto3.client(
            service, region_name=region, endpoint_url=endpoint_url, config=Config(**settings), **keys
        )
    from localstack_client import config as localstack_config
    from localstack_client.session import Session

    config = Config(**settings, s3={"addressing_style": "path"})
    key, secret = credentials or (
        os.environ.get("AWS_ACCESS_KEY_ID") or "test",
        os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
    )
    host = _host(endpoint_url)
    if service not in localstack_config.get_service_endpoints(host):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=localstack_edge(endpoint_url),
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=config,
        )
    session = Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=region, localstack_host=host
    )
    return session.client(service, config=config)


@cache
def client(service: str) -> Any:
    """The process's client for `service`, built by `new_client` from the environment on first use."""
    return new_client(service)


def _host(endpoint_url: str | None) -> str | None:
    return urlsplit(endpoint_url).netloc if endpoint_url else None
