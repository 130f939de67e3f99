"""Adapters the services depend on. Each takes an optional boto3 client and turns vendor errors into ours."""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cmp.aws.clients import client as default_client


class AwsUnavailable(RuntimeError):
    """A transient AWS failure: jobs retry it, APIs answer 503."""


class TaskTokenGone(RuntimeError):
    """The execution no longer waits for this task (timed out, stopped, or the token is not valid)."""


_GONE_TASK_CODES = {"TaskDoesNotExist", "InvalidToken", "TaskTimedOut"}


class SecretStore:
    def __init__(self, sm: Any = None) -> None:
        self._sm = sm
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, secret_id: str) -> str:
        with self._lock:
            if secret_id not in self._cache:
                sm = self._sm or default_client("secretsmanager")
                try:
                    self._cache[secret_id] = sm.get_secret_value(SecretId=secret_id)["SecretString"]
                except (ClientError, BotoCoreError) as e:
                    raise AwsUnavailable(f"secret {secret_id} unavailable") from e
            return self._cache[secret_id]


class StateMachines:
    def __init__(self, sfn: Any = None) -> None:
        self._sfn = sfn

    @property
    def _client(self) -> Any:
        return self._sfn or default_client("stepfunctions")

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        try:
            out = self._client.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
            raise AwsUnavailable("could not start state machine") from e
        except BotoCoreError as e:
            raise AwsUnavailable("could not start state machine") from e
        return str(out["executionArn"])

    def task_succeeded(self, token: str, output: dict[str, Any]) -> None:
        self._answer(self._client.send_task_success, taskToken=token, output=json.dumps(output))

    def task_failed(self, token: str, error: str, cause: str) -> None:
        self._answer(self._client.send_task_failure, taskToken=token, error=error[:256], cause=cause[:32768])

    @staticmethod
    def _answer(call: Any, **kwargs: Any) -> None:
        try:
            call(**kwargs)
        except ClientError as e:
            if e.response["Error"]["Code"] in _GONE_TASK_CODES:
                raise TaskTokenGone(e.response["Error"]["Code"]) from e
            raise AwsUnavailable("could not answer the state machine") from e


class Queues:
    def __init__(self, sqs: Any = None) -> None:
        self._sqs = sqs

    @property
    def _client(self) -> Any:
        return self._sqs or default_client("sqs")

    def send(self, queue_url: str, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
        try:
            out = self._client.send_message(
                QueueUrl=queue_url, MessageBody=json.dumps(body), MessageAttributes=attrs
            )
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("could not enqueue job") from e
        return str(out["MessageId"])

    def send_raw(self, queue_url: str, body: str, attributes: dict[str, str]) -> None:
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        self._client.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attrs)


class ObjectStore:
    def __init__(self, s3: Any = None) -> None:
        self._s3 = s3

    @property
    def _client(self) -> Any:
        return self._s3 or default_client("s3")

    def presigned_post(
        self, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int = 900
    ) -> dict[str, Any]:
        """A browser-ready POST whose policy S3 itself enforces (type and size), so bad uploads never land."""
        post: dict[str, Any] = self._client.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return post

    def presigned_get(self, bucket: str, key: str, expires_in: int = 3600) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise AwsUnavailable("object store unavailable") from e
        return out
