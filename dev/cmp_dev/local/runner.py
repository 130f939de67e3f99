"""The local runner: serves every `Api` event on one port as API Gateway REST proxy events (authorizer
first), polls every SQS event source with real batches, fires every schedule, and serves the merged
OpenAPI document with Swagger UI."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import boto3

from cmp_dev.local import events
from cmp_dev.local.functions import FunctionError, FunctionProcess
from cmp_dev.local.openapi import SWAGGER_PAGE, merge_openapi
from cmp_dev.local.schedules import run_schedule
from cmp_dev.local.template import ApiRoute, LocalTemplate, SqsSource

log = logging.getLogger("cmp_dev.local")
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class LocalRunner:
    def __init__(
        self,
        template: LocalTemplate,
        environment: Callable[[str], dict[str, str]],
        aws_endpoint: str,
        queue_arns: dict[str, tuple[str, str]],
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.template = template
        self.functions = {
            name: FunctionProcess(name, fn.code_dir, fn.module, fn.attribute, fn.timeout, environment(name))
            for name, fn in template.functions.items()
        }
        self._aws_endpoint = aws_endpoint
        self._queue_arns = queue_arns
        self._routes = sorted(template.routes, key=events.route_specificity, reverse=True)
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._openapi: dict[str, Any] | None = None
        self._host = host
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.server.server_address[1]}"

    def start(self) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda f: f.start(), self.functions.values()))
        self._spawn(self.server.serve_forever, "http")
        for source in self.template.sqs_sources:
            self._spawn(partial(self._poll, source), f"sqs-{source.function}")
        for schedule in self.template.schedules:
            fire = partial(self.fire, schedule.function, schedule.name)
            self._spawn(
                partial(run_schedule, schedule.expression, fire, self._stopping), f"schedule-{schedule.name}"
            )

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        for fn in self.functions.values():
            fn.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # ------------------------------------------------------------------ HTTP
    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            names = sorted({r.function for r in self.template.routes})
            documents = {n: doc for n in names if (doc := self.functions[n].openapi())}
            self._openapi = merge_openapi(self.template, documents, self.base_url)
        return self._openapi

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path = split.path
        if (method == "GET" and path in ("/openapi.json", "/docs", "/docs/", "/")) or path.startswith(
            "/docs/"
        ):
            return self._static(path)
        route, params = self._match(method, path)
        if route is None:
            allowed = [r for r in self._routes if events.route_pattern(r.path).match(path)]
            if method == "OPTIONS" and allowed:
                return 204, self._cors(), b""
            return _json(
                404 if not allowed else 405,
                {"message": "Missing Authentication Token" if not allowed else "Method Not Allowed"},
            )
        authorizer: dict[str, Any] | None = None
        if route.authorized and self.template.authorizer_function:
            outcome = self._authorize(route, method, path, headers, params)
            if isinstance(outcome, tuple):
                return outcome
            authorizer = outcome
        event = events.rest_event(
            route, method, path, split.query, headers, body, params, authorizer, source_ip
        )
        try:
            result = self.functions[route.function].invoke(event)
        except FunctionError as e:
            log.error("function %s failed: %s\n%s", route.function, e, e.trace)
            return _json(502, {"message": "Internal server error"})
        return _proxy_response(result)

    def _match(self, method: str, path: str) -> tuple[ApiRoute | None, dict[str, str]]:
        for route in self._routes:
            if route.method not in (method, "ANY"):
                continue
            matched = events.route_pattern(route.path).match(path)
            if matched:
                return route, {k: v for k, v in matched.groupdict().items()}
        return None, {}

    def _authorize(
        self, route: ApiRoute, method: str, path: str, headers: dict[str, str], params: dict[str, str]
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        token = headers.get("authorization")
        if not token:
            return _json(401, {"message": "Unauthorized"})
        cached = self._auth_cache.get(token)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        assert self.template.authorizer_function
        try:
            policy = self.functions[self.template.authorizer_function].invoke(
                events.authorizer_event(route, method, path, headers, params)
            )
        except FunctionError as e:
            if e.message == "Unauthorized":
                return _json(401, {"message": "Unauthorized"})
            log.error("authorizer failed: %s\n%s", e, e.trace)
            return _json(500, {"message": None})
        statements = policy.get("policyDocument", {}).get("Statement", [])
        if not any(s.get("Effect") == "Allow" for s in statements):
            return _json(403, {"message": "User is not authorized to access this resource"})
        context = {**policy.get("context", {}), "principalId": policy.get("principalId")}
        if self.template.authorizer_ttl > 0:
            self._auth_cache[token] = (time.monotonic() + self.template.authorizer_ttl, context)
        return context

    def _static(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/openapi.json":
            return _json(200, self.openapi())
        if path in ("/", "/docs", "/docs/"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, SWAGGER_PAGE.encode()
        asset = path.rsplit("/", 1)[-1]
        if asset in ("swagger-ui-bundle.min.js", "swagger-ui.min.css"):
            folder = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
            kind = "application/javascript" if asset.endswith(".js") else "text/css"
            return 200, {"Content-Type": kind}, folder.joinpath(asset).read_bytes()
        return _json(404, {"message": "not found"})

    @staticmethod
    def _cors() -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "Authorization,Content-Type",
            "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        runner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes; without this, Nagle + delayed ACK add 40 ms.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    status, headers, body = _json(413, {"message": "Request Too Long"})
                    self.close_connection = True
                else:
                    data = self.rfile.read(length) if length else b""
                    request_headers = {k.lower(): v for k, v in self.headers.items()}
                    status, headers, body = runner.dispatch(
                        self.command, self.path, request_headers, data, self.client_address[0]
                    )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), format % args)

        return Handler

    # ------------------------------------------------------------------ SQS
    def _poll(self, source: SqsSource) -> None:
        sqs = boto3.client(
            "sqs",
            endpoint_url=self._aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        queue_url, queue_arn = self._queue_arns[source.queue]
        while not self._stopping.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(source.batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("polling %s failed", source.queue)
                time.sleep(1)
                continue
            if received:
                self.deliver(source, sqs, queue_url, queue_arn, received)

    def deliver(
        self, source: SqsSource, sqs: Any, queue_url: str, queue_arn: str, messages: list[dict[str, Any]]
    ) -> None:
        """Invoke with one batch; delete what succeeded, leave failures for SQS to retry or redrive."""
        try:
            response = self.functions[source.function].invoke(events.sqs_event(messages, queue_arn))
            failed = (
                {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
                if source.reports_item_failures
                else set()
            )
        except FunctionError as e:
            log.error("function %s failed on a batch of %d: %s", source.function, len(messages), e)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[i : i + 10])
                ],
            )
        for m in messages:
            if m["MessageId"] in failed:
                attempt = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                sqs.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=min(2**attempt, 30),
                )

    # ------------------------------------------------------------------ schedules
    def fire(self, function: str, name: str) -> Any:
        try:
            return self.functions[function].invoke(events.schedule_event(name))
        except FunctionError as e:
            log.error("scheduled %s failed: %s", name, e)
            return None


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _proxy_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    if not isinstance(result, dict) or "statusCode" not in result:
        return _json(502, {"message": "Internal server error"})
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        import base64

        return int(result["statusCode"]), headers, base64.b64decode(body)
    return int(result["statusCode"]), headers, body.encode()
