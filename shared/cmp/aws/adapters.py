"""Adapters the services depend on. Each takes an optional boto3 client and turns vendor errors into ours."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cmp.aws.clients import client as default_client


class AwsUnavailable(RuntimeError):
    """A transient AWS failure: jobs retry it, APIs answer 503."""


class InvalidDefinition(ValueError):
    """Step Functions rejected a state machine definition; the message is its reason."""


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

    def create(self, name: str, definition: dict[str, Any], role_arn: str) -> str:
        """Create a Standard state machine called `name` and return its ARN (creating the same name with the
        same definition again returns the same ARN). Raises `InvalidDefinition` when Step Functions rejects
        the ASL."""
        try:
            out = self._client.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=role_arn, type="STANDARD"
            )
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code in ("InvalidDefinition", "ValidationException"):
                raise InvalidDefinition(e.response["Error"].get("Message", code)) from e
            raise AwsUnavailable("could not create the state machine") from e
        except BotoCoreError as e:
            raise AwsUnavailable("could not create the state machine") from e
        return str(out["stateMachineArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop a running execution (a finished one is left as it is)."""
        try:
            self._client.stop_execution(executionArn=execution_arn, cause=cause[:32768])
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                raise AwsUnavailable("could not stop the execution") from e
        except BotoCoreError as e:
            raise AwsUnavailable("could not stop the execution") from e

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

    def send(
        self,
        queue_url: str,
        body: dict[str, Any],
        attributes: dict[str, str] | None = None,
    ) -> str:
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

    def presigned_get(
        self,
        bucket: str,
        key: str,
        expires_in: int = 3600,
        response_headers: Mapping[str, str] | None = None,
    ) -> str:
        params = {**(response_headers or {}), "Bucket": bucket, "Key": key}
        url: str = self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url

    def read_prefix(self, bucket: str, key: str, length: int) -> bytes:
        try:
            out = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max(length, 1) - 1}")
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "InvalidRange"):
                return b""
            raise AwsUnavailable("object store unavailable") from e
        except BotoCoreError as e:
            raise AwsUnavailable("object store unavailable") from e
        data: bytes = out["Body"].read()
        return data[:length]

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("object store unavailable") from e

    def get(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """The object's first `max_bytes` bytes, or None when it does not exist."""
        data = self.read_prefix(bucket, key, max_bytes)
        return data if data or self.head(bucket, key) is not None else None

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("object store unavailable") from e

    def list(self, bucket: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` objects under `prefix`: `{"key"` (without the prefix), `"size"}`."""
        try:
            out = self._client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=max(1, min(limit, 1000)))
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("object store unavailable") from e
        return [{"key": o["Key"][len(prefix) :], "size": o["Size"]} for o in out.get("Contents", [])]

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise AwsUnavailable("object store unavailable") from e
        return out


class EventBus:
    """EventBridge `PutEvents`, one event at a time (the outbox relay sends them as they come)."""

    def __init__(self, events: Any = None) -> None:
        self._events = events

    @property
    def _client(self) -> Any:
        return self._events or default_client("events")

    def put(self, bus_name: str, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        entry = {
            "EventBusName": bus_name,
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
        }
        try:
            out = self._client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("could not publish event") from e
        result = out["Entries"][0]
        if "ErrorCode" in result:
            raise AwsUnavailable(f"event refused: {result['ErrorCode']} {result.get('ErrorMessage', '')}")
        return str(result.get("EventId", ""))


class Schedules:
    """EventBridge Scheduler schedules in one group, upserted and deleted by name."""

    def __init__(self, scheduler: Any = None, group_name: str = "default") -> None:
        self._scheduler = scheduler
        self._group = group_name

    @property
    def _client(self) -> Any:
        return self._scheduler or default_client("scheduler")

    def put(
        self,
        name: str,
        expression: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
        timezone: str = "UTC",
        enabled: bool = True,
    ) -> None:
        spec = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if enabled else "DISABLED",
            "Target": {"Arn": target_arn, "RoleArn": role_arn, "Input": json.dumps(payload)},
        }
        try:
            try:
                self._client.update_schedule(**spec)
            except ClientError as e:
                if e.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                self._client.create_schedule(**spec)
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("could not save the schedule") from e

    def delete(self, name: str) -> None:
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise AwsUnavailable("could not delete the schedule") from e
        except BotoCoreError as e:
            raise AwsUnavailable("could not delete the schedule") from e
