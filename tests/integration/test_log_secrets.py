"""Keys, tokens and secrets never appear in logs (issue 10, Security suite): a full journey through the
gateway (the runner's route table and the template's authorizer over in-process functions) with every log
captured (each logger's records, the platform's and Powertools' at DEBUG, Powertools' JSON lines, anything
written to stdout/stderr), then
scanned for every secret the journey created or used: passwords, JWTs, the API key, the widget token, and
every secret the stack holds in Secrets Manager (the JWT signing key, the payment webhook's signing secret,
the widget token key). The journey includes WebSocket handshakes carrying the API key and the widget token
in the query string and in headers."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp_dev.local.events import websocket_event

from .commerce_support import plan, publish
from .conftest import Platform
from .isolation_walker import in_process_runner

WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto")
"""The AWS SDK's and HTTP clients' loggers stay at their configured level: at DEBUG they print whole wire
bodies (a GetSecretValue response included) by design, and no function enables that."""


class Everything(logging.Handler):
    """Keeps every record, formatted with all its attributes (Powertools' `extra` keys included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


def all_loggers() -> list[logging.Logger]:
    found = [logging.getLogger()]
    found += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return found


def test_no_secret_of_a_full_journey_appears_in_any_log(
    platform: Platform, capfd: pytest.CaptureFixture[str]
) -> None:
    runner = in_process_runner(platform.template, platform.function, platform.invoke)
    for name in {r.function for r in platform.template.routes} | {
        platform.template.authorizer_function or "",
        *platform.template.websocket_routes.values(),
    }:
        if name:
            platform.function(name)  # load every function first, so their loggers exist to listen to
    handler = Everything()
    watched = all_loggers()
    levels = {lg: lg.level for lg in watched}
    for lg in watched:
        lg.addHandler(handler)
        if lg is not logging.getLogger() and not lg.name.startswith(WIRE_LOGGERS):
            lg.setLevel(logging.DEBUG)
    secrets: dict[str, str] = {}

    def api(method: str, path: str, body: Any = None, token: str | None = None, **headers: str) -> Any:
        sent = {"content-type": "application/json", **headers}
        if token:
            sent["authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else b""
        status, _, raw = runner.dispatch(method, path, sent, payload, "127.0.0.1")
        return status, json.loads(raw) if raw else None

    try:
        for who in ("seller", "buyer"):
            password = f"Pw-{uuid.uuid4().hex}-{who}!"
            secrets[f"{who} password"] = password
            email = f"secrets-{who}-{uuid.uuid4().hex[:8]}@example.com"
            signup = {
                "email": email,
                "password": password,
                "organization_name": f"Log {who}",
                "account_type": who,
            }
            status, body = api("POST", "/v1/auth/signup", signup)
            assert status == 201, body
            secrets[f"{who} signup JWT"] = body["access_token"]
            status, body = api("POST", "/v1/auth/login", {"email": email, "password": password})
            assert status == 200, body
            secrets[f"{who} JWT"] = body["access_token"]
        status, bad = api("POST", "/v1/auth/login", {"email": email, "password": password + "x"})
        assert status == 401, bad
        seller, buyer = secrets["seller JWT"], secrets["buyer JWT"]
        status, me = api("GET", "/v1/me", token=seller)
        assert status == 200, me
        status, draft = api(
            "POST", "/v1/provider/products", {"category": "agent", "subcategory": "single"}, seller
        )
        assert status == 201, draft
        offer = publish(
            platform.function("CommerceApiFunction").services.db,
            me["organization"]["id"],
            [plan("Pro", "pro", "10.00")],
        )
        status, order = api(
            "POST",
            "/v1/checkout",
            {"product": offer["slug"], "plan_id": offer["plans"][0]["id"], "billing_period": "monthly"},
            buyer,
            **{"Idempotency-Key": uuid.uuid4().hex},
        )
        assert status == 201, order
        sub = f"/v1/subscriptions/{order['subscription_id']}"
        status, key = api("POST", f"{sub}/api-keys", {"name": "Production"}, buyer)
        assert status == 201, key
        secrets["API key"] = key["secret"]
        status, widget = api(
            "POST", f"{sub}/widget/tokens", {"allowed_origins": ["https://shop.example.com"]}, buyer
        )
        assert status == 201, widget
        secrets["widget token"] = widget["token"]
        # the WebSocket API's handshake, with the credential in the query string (browsers) and in headers
        ws = platform.template.websocket_routes["$connect"]
        for query, headers, expected in (
            (f"api_key={key['secret']}", {}, 200),
            (f"api_key={widget['token']}", {"Origin": "https://shop.example.com"}, 200),
            (f"api_key={widget['token']}", {"Origin": "https://evil.example.com"}, 403),
            ("", {"X-Api-Key": key["secret"]}, 200),
        ):
            connection = uuid.uuid4().hex
            event = websocket_event(
                "$connect", connection, "ws.local", headers=headers,
                query=f"subscription_id={order['subscription_id']}&{query}",
            )  # fmt: skip
            assert platform.invoke(ws, event)["statusCode"] == expected, query
            platform.invoke(ws, websocket_event("$disconnect", connection, "ws.local"))
        status, _ = api("GET", sub, token=key["secret"])  # an API key on a portal route: refused
        assert status in (401, 403)
        status, _ = api("GET", f"{sub}/usage", token=buyer)
        assert status == 200
        status, _ = api("DELETE", f"{sub}/api-keys/{key['id']}", token=buyer)
        assert status == 204
        status, _ = api("DELETE", f"{sub}/widget/tokens/{widget['id']}", token=buyer)
        assert status == 204
        status, _ = api("POST", "/v1/auth/logout", token=buyer)
        assert status in (200, 204)
    finally:
        for lg in watched:
            lg.removeHandler(handler)
            lg.setLevel(levels[lg])
    manager = client("secretsmanager")
    for listed in manager.list_secrets()["SecretList"]:
        value = manager.get_secret_value(SecretId=listed["ARN"]).get("SecretString") or ""
        if len(value) >= 12:
            secrets[f"secret {listed['Name']}"] = value
    out, err = capfd.readouterr()
    captured = "\n".join([out, err, *handler.lines])
    assert len(handler.lines) > 10, "the journey logged nothing: the capture is not listening"
    found = [name for name, value in secrets.items() if value in captured]
    assert not found, f"secrets in the logs: {found}"
    assert len(secrets) >= 9, sorted(secrets)
