"""Builders for the events AWS would deliver: API Gateway REST proxy, REQUEST authorizer, SQS batch,
EventBridge Scheduler."""

from __future__ import annotations

import functools
import hashlib
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from cmp_dev.local.template import ACCOUNT_ID, ApiRoute

API_ID = "local"
STAGE = "dev"


@functools.cache
def route_pattern(path: str) -> re.Pattern[str]:
    """The regular expression matching request paths of an API Gateway path template (`{name}` one segment,
    `{name+}` the rest); built once per template, as the runner matches every request against every route."""
    regex = ""
    for segment in path.strip("/").split("/"):
        if segment.endswith("+}"):
            regex += rf"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{"):
            regex += rf"/(?P<{segment[1:-1]}>[^/]+)"
        else:
            regex += "/" + re.escape(segment)
    return re.compile(f"^{regex}/?$")


def route_specificity(route: ApiRoute) -> tuple[int, int, int]:
    """API Gateway prefers literal segments over variables, and variables over greedy {proxy+}."""
    segments = route.path.strip("/").split("/")
    literal = sum(1 for s in segments if not s.startswith("{"))
    greedy = sum(1 for s in segments if s.endswith("+}"))
    return (-greedy, literal, len(segments))


def rest_event(
    route: ApiRoute,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    path_params: dict[str, str],
    authorizer: dict[str, Any] | None,
    source_ip: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event; `request_id` (new when None) is `requestContext.requestId`."""
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    text = body.decode("utf-8", errors="surrogateescape") if body else None
    request_id = request_id or str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
            "authorizer": authorizer,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def authorizer_event(
    route: ApiRoute, method: str, path: str, headers: dict[str, str], path_params: dict[str, str]
) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{path}",
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": {},
        "pathParameters": path_params,
        "stageVariables": {},
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "stage": STAGE,
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
        },
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    records = []
    for m in messages:
        attributes = {
            k: {
                "stringValue": v.get("StringValue"),
                "binaryValue": v.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": v["DataType"],
            }
            for k, v in m.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def schedule_event(schedule_name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:{ACCOUNT_ID}:schedule/default/{schedule_name}"],
        "detail": {},
    }


def websocket_event(
    route_key: str,
    connection_id: str,
    domain_name: str,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    body: str | None = None,
    source_ip: str = "127.0.0.1",
    connected_at: float | None = None,
) -> dict[str, Any]:
    """An API Gateway WebSocket event as the Lambda proxy integration delivers it: `$connect` (eventType
    CONNECT, with the handshake's headers and query string), `$disconnect` (DISCONNECT) or a message (MESSAGE,
    any other route key, with `body`). Shape: https://docs.aws.amazon.com/apigateway/latest/developerguide/
    apigateway-websocket-api-mapping-template-reference.html and the Lambda proxy examples."""
    now = time.time()
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    request_context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": int((connected_at or now) * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip},
        "requestId": str(uuid.uuid4()),
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": API_ID,
    }
    event: dict[str, Any] = {"requestContext": request_context, "isBase64Encoded": False}
    if event_type == "MESSAGE":
        request_context["messageId"] = str(uuid.uuid4())
        event["body"] = body
        return event
    event["headers"] = dict(headers or {})
    event["multiValueHeaders"] = {k: [v] for k, v in (headers or {}).items()}
    if event_type == "DISCONNECT":
        request_context["disconnectStatusCode"] = 1000
        request_context["disconnectReason"] = "Client-side close frame status code"
        return event
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    event["queryStringParameters"] = {k: v[-1] for k, v in multi_query.items()} or None
    event["multiValueQueryStringParameters"] = multi_query or None
    return event
