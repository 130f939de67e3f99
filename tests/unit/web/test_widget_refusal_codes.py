"""The widget maps every refusal code a WebSocket error frame can carry to its HTTP status (chat.js
`FRAME_STATUS`), so a revoked token reads as "no longer valid" (401) rather than a failure (500)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

from cmp.gateway import errors

AT = datetime(2026, 11, 30, tzinfo=UTC)


def test_every_refusal_code_has_its_status_in_the_widget() -> None:
    script = resources.files("cmp.web").joinpath("static/chat.js").read_text()
    block = re.search(r"var FRAME_STATUS = \{(.*?)\};", script, re.S)
    assert block is not None
    mapped = {k: int(v) for k, v in re.findall(r"(\w+): (\d{3})", block.group(1))}
    refusals = [
        errors.CredentialMissing(),
        errors.CredentialUnknown(),
        errors.CredentialRevoked("widget_token", AT),
        errors.CredentialExpired(AT),
        errors.SubscriptionNotCallable("cancelled"),
        errors.OriginRefused(None),
    ]
    assert {e.code: e.status for e in refusals}.items() <= mapped.items()
