"""Stripe at its HTTP boundary, for unit tests: a `stripe.HTTPClient` that answers from recorded response
shapes (tests/fixtures/stripe) and keeps every request it was sent, plus real `Stripe-Signature` headers.

Nothing here opens a socket: the client replaces the transport under `stripe.StripeClient`, so the library's
own parameter encoding, headers, retries and error classes all run as they do against Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"
SECRET = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc"


def fixture(name: str) -> dict[str, Any]:
    """A recorded object: `responses/<name>.json` or `events/<name>.json` (by the name's folder)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@dataclass
class Sent:
    """One request as it reached the transport."""

    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]

    @property
    def form(self) -> dict[str, str]:
        """Query or form parameters by their bracketed name (`metadata[order_id]`)."""
        return dict(self.params)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class Answer:
    method: str
    path: str
    status: int
    body: dict[str, Any] | None
    error: Exception | None = None


@dataclass
class RecordedStripe(stripe.HTTPClient):
    """Answers each request with the next expected answer, failing the test on an unexpected call."""

    name = "recorded"
    answers: list[Answer] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def expect(self, method: str, path: str, body: str | dict[str, Any], status: int = 200) -> RecordedStripe:
        payload = fixture(f"responses/{body}") if isinstance(body, str) else body
        self.answers.append(Answer(method, path, status, payload))
        return self

    def fail(self, method: str, path: str, error: Exception) -> RecordedStripe:
        self.answers.append(Answer(method, path, 0, None, error))
        return self

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        params = parse_qsl(parts.query) + parse_qsl(post_data or "")
        self.sent.append(Sent(method.upper(), parts.path, params, dict(headers or {})))
        assert self.answers, f"unexpected request {method.upper()} {parts.path}"
        answer = self.answers.pop(0)
        assert (answer.method, answer.path) == (method.upper(), parts.path), (
            f"expected {answer.method} {answer.path}, got {method.upper()} {parts.path}"
        )
        if answer.error is not None:
            raise answer.error
        return json.dumps(answer.body), answer.status, {"Request-Id": f"req_test_{len(self.sent)}"}

    def close(self) -> None:
        return None

    def done(self) -> None:
        assert not self.answers, f"expected requests never made: {[(a.method, a.path) for a in self.answers]}"


def signature(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe builds it: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`
    (docs "Check the webhook signatures"), written here without the library's helper."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
