"""Frames back to WebSocket clients through API Gateway's `@connections` management API, with Chalice's
client (`chalice.app.WebsocketAPI`). Imported only by the WebSocket function (`functions/chat_ws`)."""

from __future__ import annotations

from chalice.app import WebsocketAPI, WebsocketDisconnectedError

from cmp.chat_ws.services import ConnectionGone, Send


class ManagementApi(WebsocketAPI):
    """Chalice's `@connections` client. Chalice derives the endpoint from the event's API id and stage; with
    `endpoint` set (`WEBSOCKET_MANAGEMENT_URL`: the local runner's, over plain HTTP, which Chalice's
    `https://` template cannot name) that endpoint is used instead. Chalice 1.34 keeps it in `_endpoint`."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self._fixed_endpoint = endpoint

    def configure_from_api_id(self, api_id: str, stage: str) -> None:
        if self._fixed_endpoint:
            self._endpoint = self._fixed_endpoint
        else:
            super().configure_from_api_id(api_id, stage)

    def sender(self, connection_id: str) -> Send:
        """A `Send` for one connection: posts a frame; raises `ConnectionGone` when API Gateway answers 410.
        The boto3 session is made on the first send, so importing the function loads no boto3."""

        def send(frame: str) -> None:
            if self.session is None:
                import boto3

                self.session = boto3.session.Session()
            try:
                self.send(connection_id, frame)
            except WebsocketDisconnectedError as e:
                raise ConnectionGone(connection_id) from e

        return send
