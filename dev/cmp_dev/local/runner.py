"""The local runner: serves every `Api` event on one port as API Gateway REST proxy events (authorizer
first), polls every SQS event source with real batches, fires every schedule, and serves the merged
OpenAPI document with Swagger UI, and the demo endpoints of the Data Sync workflow (`/demo/…`)."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from cmp.aws.clients import new_client
from cmp_dev.local import events
from cmp_dev.local.demo_endpoints import PREFIX as DEMO_PREFIX
from cmp_dev.local.demo_endpoints import DemoEndpoints
from cmp_dev.local.functions import FunctionError, FunctionProcess
from cmp_dev.local.gateway import gateway_response
from cmp_dev.local.openapi import SWAGGER_PAGE, merge_openapi
from cmp_dev.local.routing import STANDARD_METHODS, NoRoute, NotAllowed, Operations, Preflight, RouteTable
from cmp_dev.local.schedules import run_schedule, run_scheduler
from cmp_dev.local.stack import LOCAL_KEYS, REGION
from cmp_dev.local.template import ApiRoute, LocalTemplate, SqsSource
from cmp_dev.local.websocket import CONNECTIONS_PATH, WebSocketGateway

log = logging.getLogger("cmp_dev.local")
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
STATIC_PATHS = ("/openapi.json", "/docs", "/docs/", "/")


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
        self._host = host
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.demo = DemoEndpoints()
        # WebSocket functions post their frames back to this runner (`@connections`, cmp_dev.local.websocket);
        # a function told the WebSocket API's URL (WEBSOCKET_URL) is told this runner's.
        websocket = {"WEBSOCKET_MANAGEMENT_URL": self.base_url}
        self.functions = {
            name: FunctionProcess(
                name, fn.code_dir, fn.module, fn.attribute, fn.timeout,
                {
                    **environment(name),
                    **(websocket if name in template.websocket_routes.values() else {}),
                    **({"WEBSOCKET_URL": self.websocket_url or ""} if "WEBSOCKET_URL" in fn.environment else {}),
                },
            )
            for name, fn in template.functions.items()
        }  # fmt: skip
        self.websocket = WebSocketGateway(
            template.websocket_routes, lambda name, event: self.functions[name].invoke(event)
        )
        self._aws_endpoint = aws_endpoint
        self._queue_arns = queue_arns
        self.routes = RouteTable(template.routes, self._operations)
        self._operations_cache: dict[str, Operations] = {}
        self._operations_lock = threading.Lock()
        self._auth_cache: dict[tuple[str | None, ...], tuple[float, dict[str, Any]]] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._openapi: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.server.server_address[1]}"

    @property
    def websocket_url(self) -> str | None:
        """Where WebSocket clients connect (`ws://host:port/ws`), or None when the template has no such API."""
        return (
            f"ws://{self._host}:{self.server.server_address[1]}/ws"
            if self.template.websocket_routes
            else None
        )

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
        self._spawn(
            partial(run_scheduler, self._runtime_schedules, self._deliver_to_queue, self._stopping),
            "scheduler",
        )
        self._spawn(self._warm_openapi, "openapi")

    def stop(self) -> None:
        """Stop serving and polling (each poller ends its current receive, at most a second), then the
        function processes."""
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        deadline = time.monotonic() + 3
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for fn in self.functions.values():
            fn.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # ------------------------------------------------------------------ HTTP
    def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document, merged from every API function's own, built once (a request arriving
        while it is being built waits for it)."""
        with self._openapi_lock:
            if self._openapi is None:
                names = sorted({r.function for r in self.template.routes})
                documents = {n: doc for n in names if (doc := self.functions[n].openapi())}
                self._openapi = merge_openapi(self.template, documents, self.base_url)
            return self._openapi

    def _warm_openapi(self) -> None:
        """Build the OpenAPI document as soon as the stack runs: the API models build on first use
        (`cmp.web.schemas.ApiModel`), so the first `/openapi.json` would otherwise pay for all of them."""
        try:
            self.openapi()
        except FunctionError as e:  # the stack stopped first, or a function cannot start: a request retries
            log.warning("OpenAPI document not built at start: %s", e)

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request as API Gateway + Lambda would: (status, headers, body).

        Any method token is accepted: one the path does not answer (TRACE included) is a 405 in the
        platform's error shape with `Allow`; HEAD is answered like GET without a body (the caller drops
        it: the Content-Length stays the GET body's).
        """
        request_id = str(uuid.uuid4())
        split = urlsplit(raw_path)
        path = split.path
        if path.startswith(CONNECTIONS_PATH):
            return self.websocket.manage(method, unquote(path.removeprefix(CONNECTIONS_PATH)), body)
        if path.startswith(DEMO_PREFIX):
            return self.demo.handle(method, path, body)
        if path in STATIC_PATHS or path.startswith("/docs/"):
            if method not in ("GET", "HEAD"):
                return _not_allowed(method, path, ("GET", "HEAD"), request_id)
            return self._static(path, request_id)
        decision = self.routes.resolve(method, path)
        if isinstance(decision, NoRoute):
            return gateway_response(self.template, "MISSING_AUTHENTICATION_TOKEN", request_id)
        if isinstance(decision, Preflight):
            return 204, {**self._cors(), "Allow": ", ".join(decision.allowed)}, b""
        if isinstance(decision, NotAllowed):
            return _not_allowed(method, path, decision.allowed, request_id)
        route, params = decision.route, decision.params
        authorizer: dict[str, Any] | None = None
        if self.template.route_authorizer(route) is not None:
            outcome = self._authorize(route, decision.method, path, headers, params, request_id)
            if isinstance(outcome, tuple):
                return outcome
            authorizer = outcome
        event = events.rest_event(
            route,
            decision.method,
            path,
            split.query,
            headers,
            body,
            params,
            authorizer,
            source_ip,
            request_id,
        )
        try:
            result = self.functions[route.function].invoke(event)
        except FunctionError as e:
            log.error("function %s failed (request %s): %s\n%s", route.function, request_id, e, e.trace)
            return gateway_response(self.template, "DEFAULT_5XX", request_id, status=502)
        if not isinstance(result, dict) or "statusCode" not in result:
            log.error("function %s returned no proxy response (request %s)", route.function, request_id)
            return gateway_response(self.template, "DEFAULT_5XX", request_id, status=502)
        return _proxy_response(result)

    def _operations(self, function: str) -> Operations:
        """The function's own (path, methods) from its OpenAPI document, read once."""
        with self._operations_lock:
            if function not in self._operations_cache:
                try:
                    document = self.functions[function].openapi() or {}
                except FunctionError as e:
                    log.warning("no OpenAPI document from %s: %s", function, e)
                    document = {}
                self._operations_cache[function] = [
                    (path, frozenset(m.upper() for m in operations if m.upper() in STANDARD_METHODS))
                    for path, operations in document.get("paths", {}).items()
                ]
            return self._operations_cache[function]

    def _authorize(
        self,
        route: ApiRoute,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, str],
        request_id: str,
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        auth = self.template.route_authorizer(route)
        assert auth is not None
        identity = tuple(headers.get(name) for name in auth.identity_headers)
        if not all(identity):
            return gateway_response(self.template, "UNAUTHORIZED", request_id)
        cache_key = (auth.function, *identity)
        cached = self._auth_cache.get(cache_key) if auth.ttl > 0 else None
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            policy = self.functions[auth.function].invoke(
                events.authorizer_event(route, method, path, headers, params)
            )
        except FunctionError as e:
            if e.message == "Unauthorized":
                return gateway_response(self.template, "UNAUTHORIZED", request_id)
            log.error("authorizer failed (request %s): %s\n%s", request_id, e, e.trace)
            return gateway_response(self.template, "AUTHORIZER_FAILURE", request_id)
        statements = policy.get("policyDocument", {}).get("Statement", [])
        if not any(s.get("Effect") == "Allow" for s in statements):
            return gateway_response(self.template, "ACCESS_DENIED", request_id)
        context = {**policy.get("context", {}), "principalId": policy.get("principalId")}
        if auth.ttl > 0:
            self._auth_cache[cache_key] = (time.monotonic() + auth.ttl, context)
        return context

    def _static(self, path: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/openapi.json":
            return _json(200, self.openapi())
        if path in ("/", "/docs", "/docs/"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, SWAGGER_PAGE.encode()
        asset = path.rsplit("/", 1)[-1]
        if asset in ("swagger-ui-bundle.min.js", "swagger-ui.min.css"):
            folder = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
            kind = "application/javascript" if asset.endswith(".js") else "text/css"
            return 200, {"Content-Type": kind}, folder.joinpath(asset).read_bytes()
        return gateway_response(self.template, "MISSING_AUTHENTICATION_TOKEN", request_id)

    @staticmethod
    def _cors() -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "Authorization,Content-Type,Idempotency-Key,X-Api-Key",
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

            def _read_body(self) -> bytes | tuple[int, dict[str, str], bytes]:
                """The request body (de-chunked, as API Gateway hands it on), or the answer refusing it."""
                try:
                    if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                        data = read_chunked(self.rfile, MAX_BODY_BYTES)
                    else:
                        length = int(self.headers.get("Content-Length") or 0)
                        data = None if length > MAX_BODY_BYTES else self.rfile.read(max(length, 0))
                except ValueError:
                    self.close_connection = True
                    return _json(400, {"message": "Bad Request"})
                if data is None:
                    self.close_connection = True
                    return gateway_response(runner.template, "REQUEST_TOO_LARGE", str(uuid.uuid4()))
                return data

            def _serve(self) -> None:
                lowered = {k.lower(): v for k, v in self.headers.items()}
                if runner.websocket.is_upgrade(self.command, self.path, lowered):
                    self.close_connection = True
                    runner.websocket.serve(self, lowered)
                    return
                data = self._read_body()
                if isinstance(data, tuple):
                    status, headers, body = data
                else:
                    request_headers = {
                        k.lower(): v for k, v in self.headers.items() if k.lower() != "transfer-encoding"
                    }
                    status, headers, body = runner.dispatch(
                        self.command, self.path, request_headers, data, self.client_address[0]
                    )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def __getattr__(self, name: str) -> Any:
                """`do_<METHOD>` for every method token, so none gets http.server's 501 HTML page."""
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), format % args)

        return Handler

    # ------------------------------------------------------------------ SQS
    def _poll(self, source: SqsSource) -> None:
        sqs = new_client("sqs", self._aws_endpoint, region=REGION, credentials=LOCAL_KEYS)
        queue_url, queue_arn = self._queue_arns[source.queue]
        failing = False
        while not self._stopping.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(source.batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if received:
                    self.deliver(source, sqs, queue_url, queue_arn, received)
            except (
                Exception
            ) as e:  # the AWS endpoint unreachable or a worker gone: say it once, retry quietly
                if self._stopping.is_set():
                    return
                if not failing:
                    log.warning("polling %s failed, retrying every second: %s", source.queue, e)
                    failing = True
                self._stopping.wait(1)
                continue
            if failing:
                log.warning("polling %s works again", source.queue)
                failing = False

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
    def _aws(self, service: str) -> Any:
        return new_client(service, self._aws_endpoint, region=REGION, credentials=LOCAL_KEYS)

    def _runtime_schedules(self) -> list[dict[str, Any]]:
        """The Scheduler schedules created at run time (the template's own are fired by `run_schedule`)."""
        scheduler = self._aws("scheduler")
        own = {schedule.name for schedule in self.template.schedules}
        return [
            scheduler.get_schedule(Name=s["Name"], GroupName=s.get("GroupName", "default"))
            for s in scheduler.list_schedules()["Schedules"]
            if s["Name"] not in own
        ]

    def _deliver_to_queue(self, target_arn: str, body: str) -> None:
        """A schedule's firing: its input sent to its target queue (the only target kind created at run
        time)."""
        urls = {arn: url for url, arn in self._queue_arns.values()}
        if target_arn not in urls:
            log.error("schedule target %s is not a queue of the template; not fired", target_arn)
            return
        self._aws("sqs").send_message(QueueUrl=urls[target_arn], MessageBody=body)

    def fire(self, function: str, name: str) -> Any:
        try:
            return self.functions[function].invoke(events.schedule_event(name))
        except FunctionError as e:
            log.error("scheduled %s failed: %s", name, e)
            return None


def read_chunked(stream: io.BufferedIOBase, limit: int) -> bytes | None:
    """The body of a `Transfer-Encoding: chunked` request, de-chunked (trailers read and dropped); None once
    its chunks add up to more than `limit` bytes (the rest is left unread: close the connection).

    Raises ValueError when the chunking is malformed (a size that is not hex, a chunk cut short).
    """
    parts: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024)
        size_field = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not size_field or size_field.startswith((b"-", b"+")):
            raise ValueError(f"malformed chunk size line {line[:40]!r}")
        size = int(size_field, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            return None
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3).strip():
            raise ValueError("a chunk is cut short or not followed by CRLF")
        parts.append(chunk)
    while stream.readline(8192).strip():
        pass
    return b"".join(parts)


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _not_allowed(
    method: str, path: str, allowed: tuple[str, ...], request_id: str
) -> tuple[int, dict[str, str], bytes]:
    """405 in the platform's error shape, with the methods the path does answer in `Allow`."""
    status, headers, body = _json(
        405,
        {
            "error": "method_not_allowed",
            "message": f"{method[:20]} is not allowed on {path[:200]}; allowed: {', '.join(allowed)}",
            "errors": [],
            "request_id": request_id,
        },
    )
    return status, {**headers, "Allow": ", ".join(allowed)}, body


def _proxy_response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        import base64

        return int(result["statusCode"]), headers, base64.b64decode(body)
    return int(result["statusCode"]), headers, body.encode()
