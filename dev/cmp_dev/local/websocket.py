"""API Gateway WebSocket, locally: the upgrade at WS_PATH on the runner's port, the Lambda events, and the
`@connections` management API the functions answer through.

A client connects to `ws://host:port/ws?...`. The handshake becomes a `$connect` event (headers and query
string as API Gateway passes them); the function's answer decides: 200 completes the upgrade (101), any other
status is the handshake's HTTP answer. Each text message is routed as API Gateway routes it with the
template's `RouteSelectionExpression` (`$request.body.action`: a route named by the message's `action`, else
`$default`) and delivered as a MESSAGE event, each in its own thread (API Gateway invokes per message, so a
slow turn never blocks the connection's pings or close). A close, or the socket dropping, is a `$disconnect`.

Functions answer through `POST /@connections/{id}` (the frame is the body), `GET` (the connection's info) and
`DELETE` (close it), as the `apigatewaymanagementapi` client sends them; an unknown or closed id is API
Gateway's 410 `GoneException`. The runner points the functions' client here (`WEBSOCKET_MANAGEMENT_URL`).

The frames are read and written with wsproto (sans-I/O, so it runs on the runner's own `http.server` socket;
docs/decisions.md says why).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import CloseConnection, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, generate_accept_token

from cmp_dev.local import events

log = logging.getLogger("cmp_dev.local.websocket")
WS_PATH = "/ws"
CONNECTIONS_PATH = "/@connections/"
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit
Invoke = Callable[[str, dict[str, Any]], Any]
"""Invoke a function (logical id) with an event; raises the runner's FunctionError."""
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class _Client:
    sock: socket.socket
    protocol: Connection
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def send(self, event: Any) -> None:
        with self.lock:
            if self.closed:
                raise ConnectionError("closed")
            self.sock.sendall(self.protocol.send(event))


class WebSocketGateway:
    """The WebSocket API of `routes` (route key → function) served on the runner's HTTP port."""

    def __init__(self, routes: dict[str, str], invoke: Invoke) -> None:
        self._routes = routes
        self._invoke = invoke
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def is_upgrade(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """Whether the request asks for this API (a GET of WS_PATH with `Upgrade: websocket`)."""
        return (
            bool(self._routes)
            and method == "GET"
            and urlsplit(path).path == WS_PATH
            and headers.get("upgrade", "").lower() == "websocket"
        )

    # ------------------------------------------------------------------------------------------ a client
    def serve(self, request: BaseHTTPRequestHandler, headers: dict[str, str]) -> None:
        """Run one connection on the request's socket until it closes (the handler then drops the socket)."""
        key = headers.get("sec-websocket-key", "")
        if headers.get("sec-websocket-version") != "13" or not key:
            _answer(request, 400, {"message": "Bad Request: Sec-WebSocket-Key and version 13 are required"})
            return
        connection_id = base64.b64encode(os.urandom(12)).decode()  # API Gateway's ids look like this
        host = headers.get("host", "localhost")
        source_ip = request.client_address[0]
        connect = events.websocket_event(
            "$connect", connection_id, host, headers=_api_gateway_headers(headers),
            query=urlsplit(request.path).query, source_ip=source_ip,
        )  # fmt: skip
        status, body = self._connect(connect)
        if status != 200:
            _answer(request, status, body)
            return
        request.send_response(101)
        request.send_header("Upgrade", "websocket")
        request.send_header("Connection", "Upgrade")
        request.send_header("Sec-WebSocket-Accept", generate_accept_token(key.encode()).decode())
        request.end_headers()
        request.wfile.flush()
        client = _Client(
            request.connection, Connection(ConnectionType.SERVER), source_ip, headers.get("user-agent", "")
        )
        with self._lock:
            self._clients[connection_id] = client
        try:
            self._read(connection_id, client, host)
        finally:
            self._drop(connection_id, host)

    def _connect(self, event: dict[str, Any]) -> tuple[int, Any]:
        try:
            result = self._invoke(self._routes["$connect"], event) or {}
        except Exception as e:  # the function failed: API Gateway answers the handshake 500
            log.error("$connect failed: %s", e)
            return 500, {"message": "Internal server error"}
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        body = result.get("body") if isinstance(result, dict) else None
        try:
            return status, json.loads(body) if body else {}
        except ValueError:
            return status, {"message": body}

    def _read(self, connection_id: str, client: _Client, host: str) -> None:
        parts: list[str] = []
        size = 0
        while True:
            try:
                data = client.sock.recv(65536)
            except OSError:
                return
            client.protocol.receive_data(data or None)
            for event in client.protocol.events():
                if isinstance(event, CloseConnection):
                    if client.protocol.state is not ConnectionState.CLOSED:
                        with contextlib.suppress(OSError, LocalProtocolError, ConnectionError):
                            client.send(event.response())
                    return
                if isinstance(event, Ping):
                    client.send(event.response())
                elif isinstance(event, Message):
                    text = (
                        event.data
                        if isinstance(event, TextMessage)
                        else bytes(event.data).decode("utf-8", "replace")
                    )
                    parts.append(text)
                    size += len(text.encode("utf-8", "surrogateescape"))
                    if event.message_finished:
                        body, parts, size = (
                            ("".join(parts), [], 0) if size <= MAX_MESSAGE_BYTES else (None, [], 0)
                        )
                        client.last_active_at = time.time()
                        self._message(connection_id, client, host, body)
            if not data:
                return

    def _message(self, connection_id: str, client: _Client, host: str, body: str | None) -> None:
        if body is None:  # API Gateway closes a connection that sends a message past its limit
            self._close(client, 1009, "Message too big")
            return
        route = self._route(body)
        event = events.websocket_event(
            route, connection_id, host, body=body, connected_at=client.connected_at
        )
        threading.Thread(target=self._deliver, args=(route, event), name=f"ws-{route}", daemon=True).start()

    def _route(self, body: str) -> str:
        """`$request.body.action`: the route the message's `action` names, else `$default`."""
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
            action = None
        if isinstance(action, str) and not action.startswith("$") and action in self._routes:
            return action
        return "$default"

    def _deliver(self, route: str, event: dict[str, Any]) -> None:
        function = self._routes.get(route) or self._routes.get("$default")
        if function is None:
            return
        try:
            self._invoke(function, event)
        except Exception as e:  # API Gateway logs it; the client gets nothing
            log.error("WebSocket route %s failed: %s", route, e)

    def _drop(self, connection_id: str, host: str) -> None:
        with self._lock:
            client = self._clients.pop(connection_id, None)
        if client is None:
            return
        with client.lock:
            client.closed = True
        if "$disconnect" in self._routes:
            event = events.websocket_event(
                "$disconnect",
                connection_id,
                host,
                connected_at=client.connected_at,
                source_ip=client.source_ip,
            )
            self._deliver("$disconnect", event)

    @staticmethod
    def _close(client: _Client, code: int, reason: str) -> None:
        try:
            client.send(CloseConnection(code=code, reason=reason))
            client.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, LocalProtocolError, ConnectionError):
            pass

    # ------------------------------------------------------------------------------------------ @connections
    def manage(self, method: str, connection_id: str, body: bytes) -> Answer:
        """`POST` (send `body` as one frame), `GET` (info) or `DELETE` (close) on `/@connections/{id}`."""
        with self._lock:
            client = self._clients.get(connection_id)
        if client is None or client.closed:
            return _gone()
        if method == "POST":
            try:
                client.send(TextMessage(data=body.decode("utf-8", "replace")))
            except (OSError, LocalProtocolError, ConnectionError):
                return _gone()
            return 200, {}, b""
        if method == "GET":
            info = {
                "ConnectedAt": _iso(client.connected_at),
                "LastActiveAt": _iso(client.last_active_at),
                "Identity": {"SourceIp": client.source_ip, "UserAgent": client.user_agent},
            }
            return 200, {"Content-Type": "application/json"}, json.dumps(info).encode()
        if method == "DELETE":
            self._close(client, 1000, "Going away")
            return 204, {}, b""
        return 405, {"Content-Type": "application/json", "Allow": "GET, POST, DELETE"}, b'{"message": null}'


def _api_gateway_headers(headers: dict[str, str]) -> dict[str, str]:
    """The handshake's headers with API Gateway's capitalisation (`Sec-WebSocket-Key`, `Origin`, …)."""
    return {
        "-".join(p.capitalize() for p in k.split("-")).replace("Websocket", "WebSocket"): v
        for k, v in headers.items()
    }


def _gone() -> Answer:
    body = json.dumps({"message": None}).encode()
    return 410, {"Content-Type": "application/json", "x-amzn-ErrorType": "GoneException"}, body


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _answer(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
