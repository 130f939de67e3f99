"""The WebSocket chat API (API Gateway WebSocket, routes `$connect`, `$disconnect`, `$default`): a Chalice app
whose three handlers run `services.chat_ws` (cmp.chat_ws; the protocol is docs/websocket.md).

One Lambda function serves every route: `handler` picks the Chalice handler by the event's
`requestContext.routeKey`. Frames go back through `app.websocket_api.send` (API Gateway's `@connections`
management API); its boto3 session is made on the first send, so importing this module loads no boto3.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Chalice, Response, WebsocketEvent

from cmp.bootstrap import bootstrap
from cmp.chat_ws.management import ManagementApi
from cmp.observability import instruments

logger, metrics = instruments("chat-ws")
services = bootstrap()
app = Chalice(app_name="cmp-chat-ws")
management = ManagementApi(services.settings.websocket_management_url)
app.websocket_api = management


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> Response:
    """Accept the connection (200) or refuse the handshake with the error's status and body."""
    status, body = services.chat_ws.handshake(event.connection_id, event.to_dict(), logger)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    """One client message: answered with frames through `@connections` (never an exception)."""
    request_id = str(event.to_dict()["requestContext"].get("requestId", ""))
    send = management.sender(event.connection_id)
    services.chat_ws.answer(event.connection_id, event.body, send, request_id, logger)


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    """Forget the connection."""
    services.chat_ws.disconnect(event.connection_id)


ROUTES: dict[str, Any] = {"$connect": connect, "$disconnect": disconnect}
"""Route keys with their own handler; every other (`$default`, `chat`) is a message."""


@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route = str((event.get("requestContext") or {}).get("routeKey"))
    result: dict[str, Any] = ROUTES.get(route, message)(event, context)
    return result
