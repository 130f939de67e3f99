"""`services.chat_ws`: the WebSocket transport of the agent runtime (spec Part 7, chat `streaming`).

- `connect`: the `$connect` route. The credential (an API key, or a widget token checked against the
  request's Origin, or a portal JWT of the subscription's buyer) is accepted by the runtime authorizer's own
  code (`services.runtime_authorizer`, `cmp.gateway.authorization`), for the subscription the query string
  names and with the `invoke` scope; the caller's `RuntimeContext` is then stored with the connection id for
  CONNECTION_SECONDS (the tenant's expired rows are deleted on the way).
- `message`: one chat turn, with the REST chat route's rules: admitted by `services.gateway.admit(ctx,
  metric="messages")` (rate limits, concurrency, quota; a revoked key is refused here), answered by
  `services.agent.stream` (which stores the turn and meters it once, keyed by the user message's id), sent as
  token frames and a done frame. Every refusal becomes an error frame, never an exception.
- `disconnect`: deletes the connection's row. A send that finds the connection gone (API Gateway's
  `GoneException`, raised by the transport as `ConnectionGone`) deletes it too; the turn still completes and
  is stored and metered once (its answer was produced), but nothing more is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from cmp.aws.adapters import AwsUnavailable
from cmp.chat_ws.protocol import (
    UNAVAILABLE,
    UNEXPECTED,
    done_frame,
    error_body,
    error_frame,
    parse_message,
    token_frame,
)
from cmp.conversations.model import ChatAnswer
from cmp.errors import DomainError, FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import API_KEY_HEADER

if TYPE_CHECKING:
    from cmp.conversations.services import AgentService
    from cmp.db.uow import UnitOfWorkFactory
    from cmp.gateway.authorization import RuntimeAuthorizer
    from cmp.gateway.services import Gateway

CONNECTION_SECONDS = 2 * 60 * 60
"""API Gateway closes a WebSocket connection after 2 hours at most ("Connection duration for WebSocket
API", API Gateway quotas); a stored connection lives as long."""

Send = Callable[[str], None]
"""Posts one text frame to the connection (`app.websocket_api.send`); raises ConnectionGone."""


class Log(Protocol):
    """The function's logger (Powertools' `Logger`, or `logging.Logger`): its records carry the invocation."""

    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


class ConnectionGone(Exception):
    """The client's connection is closed: API Gateway answered a send with `GoneException` (410)."""


class WebSocketChat:
    """The three routes of the WebSocket API over the agent runtime's services."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authorizer: RuntimeAuthorizer,
        gateway: Gateway,
        agent: AgentService,
        lifetime_seconds: int = CONNECTION_SECONDS,
    ) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self._gateway = gateway
        self._agent = agent
        self._lifetime = lifetime_seconds

    def handshake(self, connection_id: str, event: dict[str, Any], log: Log) -> tuple[int, str]:
        """The `$connect` route's answer: (200, "") once `connect_event` accepted the connection, else the
        refusal's status and the platform's error body as JSON. Both outcomes are logged to `log`."""
        try:
            ctx = self.connect_event(connection_id, event)
        except DomainError as e:
            log.info("connection refused", extra={"status": e.status, "reason": e.message})
            return e.status, json.dumps(e.to_dict())
        log.info(
            "connected", extra={"tenant_id": str(ctx.tenant_id), "subscription_id": str(ctx.subscription_id)}
        )
        return 200, ""

    def connect_event(self, connection_id: str, event: dict[str, Any]) -> RuntimeContext:
        """`connect` with the handshake's credential, Origin and subscription read from API Gateway's
        `$connect` event: `?api_key=`, `?widget_token=`, else `X-Api-Key` / `Authorization: Bearer`;
        `?subscription_id=`. Raises as `connect`, a refused credential named where it came from
        (`query.api_key`, `query.widget_token`, `X-Api-Key` or `Authorization`)."""
        from cmp.web.authorizer import header, runtime_credential

        query = event.get("queryStringParameters") or {}
        credential = next(
            ((query[name], f"query.{name}") for name in ("api_key", "widget_token") if query.get(name)),
            runtime_credential(event),
        )
        token, sent_in = credential or (None, API_KEY_HEADER)
        return self.connect(
            connection_id, token, header(event, "origin"), query.get("subscription_id"), sent_in
        )

    def connect(
        self,
        connection_id: str,
        token: str | None,
        origin: str | None,
        subscription_id: str | None,
        header: str = API_KEY_HEADER,
    ) -> RuntimeContext:
        """Accept the connection and store it. Raises Unauthorized (401: no, unknown, revoked or expired
        credential), Forbidden (403: a widget token from another origin, a subscription that cannot be
        called, a credential without `invoke`, a dedicated subscription: its runtime serves REST only and a turn
        must never run in the shared pool), ValidationFailed (422: no `subscription_id`) or NotFound
        (404: a subscription id that is not the credential's own, as on the REST routes). `header` is where
        the credential came from, named by its refusal (`RuntimeAuthorizer.authorize`)."""
        if not token:
            raise Unauthorized(
                "connect with an API key or widget token: ?api_key=…, X-Api-Key or Authorization: Bearer"
            )
        if not subscription_id:
            raise ValidationFailed(
                "name the subscription to chat with",
                errors=[FieldError("query.subscription_id", "is required")],
            )
        ctx = self._authorizer.authorize(token, origin, subscription_id, header=header)
        try:
            wanted = UUID(subscription_id)
        except ValueError:
            raise NotFound("subscription not found") from None
        ctx.require_subscription(wanted)
        ctx.require_scope("invoke")
        if ctx.runtime == "dedicated":
            raise Forbidden(
                "this subscription runs on its own dedicated runtime, which serves chat over REST only: "
                f"POST /v1/agents/{ctx.subscription_id}/chat (Accept: text/event-stream for server-sent events)"
            )
        with self._uow(ctx.tenant_id) as uow:
            uow.websocket_connections.delete_expired()
            uow.websocket_connections.add(
                connection_id, ctx.tenant_id, ctx.subscription_id, ctx.to_authorizer(), self._lifetime
            )
            uow.commit()
        return ctx

    def answer(self, connection_id: str, text: str, send: Send, request_id: str, log: Log) -> None:
        """The `$default` route: `message`, never raising; an unexpected error is logged to `log` and answered
        with `protocol.UNEXPECTED`'s error frame, as the REST API answers it with a 500."""
        try:
            self.message(connection_id, text, send, request_id)
        except Exception:
            log.exception("message failed")
            self.refuse(connection_id, UNEXPECTED, send, request_id, None)

    def message(self, connection_id: str, text: str, send: Send, request_id: str) -> None:
        """Answer one client message on the connection: token frames then a done frame, or one error frame
        (the platform's error body) for a refusal or a transient AWS failure (503's body). Raises only an
        unexpected error (`answer` logs it and sends `protocol.UNEXPECTED`); a send finding the connection
        gone forgets the connection."""
        ctx: RuntimeContext | None = None
        try:
            ctx = self._caller(connection_id)
            turn = parse_message(text)
            with self._gateway.admit(ctx, metric="messages"):
                gone = False
                for item in self._agent.stream(ctx, turn.request):
                    if gone:
                        continue  # the turn still completes: it is stored and metered once
                    frame = done_frame(item) if isinstance(item, ChatAnswer) else token_frame(item)
                    try:
                        send(frame)
                    except ConnectionGone:
                        gone = True
            if gone:
                self.forget(ctx.tenant_id, connection_id)
        except DomainError as e:
            self.refuse(connection_id, error_body(e), send, request_id, ctx.tenant_id if ctx else None)
        except AwsUnavailable:
            self.refuse(connection_id, UNAVAILABLE, send, request_id, ctx.tenant_id if ctx else None)

    def refuse(
        self,
        connection_id: str,
        body: Mapping[str, object],
        send: Send,
        request_id: str,
        tenant_id: UUID | None,
    ) -> None:
        """Send the error `body` as an error frame; forget the connection (of `tenant_id`, when known) if it is
        gone."""
        try:
            send(error_frame(body, request_id))
        except ConnectionGone:
            if tenant_id is not None:
                self.forget(tenant_id, connection_id)

    def disconnect(self, connection_id: str) -> None:
        """`$disconnect`: delete the connection's row (nothing to do when it was never stored)."""
        with self._uow() as uow:
            tenant_id = uow.websocket_connections.tenant_of(connection_id)
        if tenant_id is not None:
            self.forget(tenant_id, connection_id)

    def forget(self, tenant_id: UUID, connection_id: str) -> None:
        """Delete the connection's row in its tenant."""
        with self._uow(tenant_id) as uow:
            uow.websocket_connections.delete(connection_id)
            uow.commit()

    def _caller(self, connection_id: str) -> RuntimeContext:
        with self._uow() as uow:
            tenant_id = uow.websocket_connections.tenant_of(connection_id)
        context = None
        if tenant_id is not None:
            with self._uow(tenant_id) as uow:
                context = uow.websocket_connections.context(connection_id)
        if context is None:
            raise Unauthorized("this connection is not open (closed or expired); connect again")
        return RuntimeContext.from_authorizer(context)
