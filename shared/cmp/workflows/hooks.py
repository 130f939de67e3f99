"""Webhook triggers: `POST /v1/hooks/{webhook_id}` starts a run of the workflow behind the id.

The URL's id is the only thing a caller knows; it is looked up before any tenant is known (the SECURITY
DEFINER function `workflow_hook`). Only an active workflow whose trigger is a webhook answers; anything else
is a 404 (or 409 for a paused or draft one), so ids reveal nothing. The trigger is the active version's
(`WorkflowRepository.active_trigger`; a draft's latest saved one), the version the delivery's run executes:
a version saved but not activated changes the webhook (whether it answers, its `auth`, its `mode`) only
once activated.

Authentication, as the trigger's `auth` says (spec Part 7 `triggers.webhook.authentication`), with the
workflow's key `signing_key(platform secret, webhook_id)` (HMAC-SHA256, so it can be shown again, never
stored): `none`; `api_key` (header `X-API-Key: <key>`); `basic` (user `cmp`, password the key);
`signature` (header `X-CMP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the hex
digits in either case, refused when `t` is more than `TOLERANCE_SECONDS` from now, so a captured delivery
cannot be replayed later).

Exactly one run per delivery: the delivery's `Idempotency-Key` (or `X-Delivery-Id`) header becomes the run's
idempotency key, so a retried delivery answers with the first run and starts nothing. Deliveries have their
own keyspace (a manual run's `Idempotency-Key` never finds a delivery's run), and a delivery id sent again
with a different body is a 422 naming the header, never the first run passed off as this one's.

Admission (`cmp.workflows.admission`): an authenticated delivery to an active workflow is admitted by the
runtime gateway as a call of the workflow's subscription (rate limits, concurrency, the `executions` quota)
before its run starts; a refused delivery is answered 429 with `Retry-After` and starts nothing, so the
sender's retry is what delivers it. A retried delivery whose run exists is answered with that run even when
the quota is now used up (by that very run). The answer carries the `RateLimit-Policy` / `RateLimit` headers.

One transaction per delivery: the lookup, the workflow and subscription reads and the run's start (run
row, usage record, outbox row) share one unit of work, with the gateway's one-statement admission between
the reads and the writes. The unit of work is `Services.unit_of_work_sent_later`: the 202 waits for the
commit, and the execution's `StartExecution` is relayed after the answer (the outbox sweep sends it if the
process dies first; docs/decisions.md).

Synchronous mode (`"mode": "sync"` in the trigger's config, `waitSeconds` 1 to `MAX_WAIT_SECONDS`, default
20): `respond` waits for the run to finish and answers it with the output of its last step; a run still
going after the wait is answered as in the asynchronous mode (the run id, 202), to be polled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cmp.errors import Conflict, FieldError, NotFound, Unauthorized, ValidationFailed
from cmp.json_input import loads
from cmp.ports import Clock
from cmp.workflows.actions import signature_digest
from cmp.workflows.admission import Admit, start_admitted, trigger_context
from cmp.workflows.model import FINISHED
from cmp.workflows.ports import WorkflowUnitOfWorkFactory
from cmp.workflows.runs import WorkflowRuns, check_input

TOLERANCE_SECONDS = 300
MAX_WAIT_SECONDS = 25
"""API Gateway ends a REST integration after 29 s; the hooks function's timeout is 30 s."""
DEFAULT_WAIT_SECONDS = 20
POLL_SECONDS = 0.1
_SIGNATURE = re.compile(r"^t=(\d{1,12}),v1=([0-9a-fA-F]{64})$")
"""`X-CMP-Signature`'s shape; the digest's hex digits may be in either case (hex is case-insensitive)."""


def signing_key(secret: str, webhook_id: str) -> str:
    """The key of one workflow's webhook, derived from the platform's secret (hex, 64 characters)."""
    return hmac.new(secret.encode(), f"cmp-workflow-hook:{webhook_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivered:
    """A delivery's answer: the run summary (plus `output` when `finished`, a synchronous trigger's run that
    ended in time) and the gateway's RateLimit `headers`."""

    answer: dict[str, Any]
    finished: bool
    headers: dict[str, str]


class WebhookDeliveries:
    def __init__(
        self,
        uow: WorkflowUnitOfWorkFactory,
        runs: WorkflowRuns,
        secret: Callable[[], str],
        clock: Clock,
        admit: Admit,
    ) -> None:
        self._uow = uow
        self._runs = runs
        self._secret = secret
        self._clock = clock
        self._admit = admit

    def respond(self, webhook_id: str, headers: Mapping[str, str], body: bytes) -> Delivered:
        """`deliver`, then for a synchronous trigger wait for the run (see the module docstring). Raises as
        `deliver`."""
        summary, tenant_id, config, limits = self._deliver(webhook_id, headers, body)
        if config.get("mode") != "sync":
            return Delivered(summary, False, limits)
        deadline = time.monotonic() + float(config.get("waitSeconds", DEFAULT_WAIT_SECONDS))
        run_id = uuid.UUID(summary["run_id"])
        while True:
            detail = self._runs.detail(tenant_id, run_id)
            if detail["status"] in FINISHED:
                steps = [s for s in detail["steps"] if s["status"] == "succeeded"]
                output = steps[-1]["output"] if steps else None
                detail_summary = {k: v for k, v in detail.items() if k in summary}
                return Delivered({**detail_summary, "output": output}, True, limits)
            if time.monotonic() >= deadline:
                return Delivered(summary, False, limits)
            time.sleep(POLL_SECONDS)

    def deliver(self, webhook_id: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Start (or find, for a retried delivery) the run of this delivery; returns `run_summary`. Raises
        NotFound (unknown id, not a webhook trigger), Unauthorized (authentication failed), Conflict (the
        workflow is not active), ValidationFailed (a body value that cannot be stored), RateLimited / QuotaExceeded (429: the gateway refused the delivery)."""
        return self._deliver(webhook_id, headers, body)[0]

    def _deliver(
        self, webhook_id: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[dict[str, Any], str, dict[str, Any], dict[str, str]]:
        with self._uow(None) as uow:
            found = uow.workflows.hook(webhook_id)
            if found is None:
                raise NotFound("no webhook at this address")
            tenant_id, workflow_id = found
            uow.set_tenant(tenant_id)
            workflow = uow.workflows.get(workflow_id)
            trigger_type, config = uow.workflows.active_trigger(workflow)
            if trigger_type != "webhook":
                raise NotFound("no webhook at this address")
            lowered = {k.lower(): v for k, v in headers.items()}
            self._authenticate(str(config.get("auth", "none")), webhook_id, lowered, body)
            if workflow.status != "active":
                raise Conflict(f"the workflow is {workflow.status}")
            payload = _payload(body)
            subscription = uow.subscriptions.get(workflow.subscription_id)
            header = "Idempotency-Key" if lowered.get("idempotency-key") else "X-Delivery-Id"
            delivery = lowered.get(header.lower())
            summary, limits = start_admitted(
                self._admit,
                trigger_context(subscription, f"hook:{webhook_id}"),
                self._runs,
                workflow_id,
                payload,
                trigger_type="webhook",
                idempotency_key=f"hook:{delivery[:240]}" if delivery else None,
                key_header=header,
                within=uow,
            )
        return summary, str(tenant_id), config, limits

    def _authenticate(self, auth: str, webhook_id: str, headers: dict[str, str], body: bytes) -> None:
        """Raises Unauthorized naming the header and what is wrong with it (missing, malformed, outside
        the time window, not matching) unless the delivery carries the trigger's `auth`."""
        if auth == "none":
            return
        key = signing_key(self._secret(), webhook_id)
        if auth == "api_key":
            self._expect("X-API-Key", headers.get("x-api-key", ""), key, "this webhook's key")
        elif auth == "basic":
            expected = "Basic " + base64.b64encode(f"cmp:{key}".encode()).decode()
            sent = headers.get("authorization", "")
            self._expect("Authorization", sent, expected, "Basic with user cmp and the webhook's key")
        else:
            self._check_signature(headers.get("x-cmp-signature", ""), key, body)

    @staticmethod
    def _expect(name: str, sent: str, expected: str, what: str) -> None:
        if not sent:
            raise Unauthorized(
                f"this webhook needs the {name} header ({what})", errors=[FieldError(name, "missing")]
            )
        if not hmac.compare_digest(sent, expected):
            raise Unauthorized(
                f"the {name} header does not match: send {what}", errors=[FieldError(name, "does not match")]
            )

    def _check_signature(self, header: str, key: str, body: bytes) -> None:
        name = "X-CMP-Signature"
        if not header.strip():
            raise Unauthorized(
                f"this webhook needs signature authentication: send {name}: t=<unix seconds>,v1=<hex"
                ' HMAC-SHA256 of "<t>.<raw body>"> with the webhook\'s key',
                errors=[FieldError(name, "missing")],
            )
        match = _SIGNATURE.match(header.strip())
        if match is None:
            raise Unauthorized(
                f"the {name} header is malformed: expected t=<unix seconds>,v1=<64 hex digits>",
                errors=[FieldError(name, "malformed")],
            )
        skew = round(self._clock.now().timestamp()) - int(match.group(1))
        if abs(skew) > TOLERANCE_SECONDS:
            when = f"{skew} s old" if skew > 0 else f"{-skew} s in the future"
            raise Unauthorized(
                f"the {name} timestamp is {when}; signatures are accepted within {TOLERANCE_SECONDS} s"
                f" ({TOLERANCE_SECONDS // 60} minutes) of now: sign the delivery again",
                errors=[FieldError(name, f"timestamp outside the {TOLERANCE_SECONDS} s window by {when}")],
            )
        expected = signature_digest(key, body, int(match.group(1)))
        if not hmac.compare_digest(match.group(2).lower(), expected):
            raise Unauthorized(
                f'the {name} signature does not match: sign "<t>.<raw body>" with the webhook\'s key'
                " (HMAC-SHA256, hex)",
                errors=[FieldError(name, "signature does not match the body")],
            )


def _payload(body: bytes) -> dict[str, Any]:
    """The run's input: the JSON object sent, or `{"body": <text>}` for anything else (not JSON, NaN or
    an out-of-range number as `cmp.json_input.loads` refuses them, nesting past the parser's recursion
    limit, a JSON value that is not an object: `{"body": <value>}`). Raises ValidationFailed (422, at the
    value's path) for what PostgreSQL cannot store as `jsonb` (`cmp.flows.safety.check_document`: a NUL
    character, a lone surrogate, nesting deeper than 64 levels) and at `body` for a payload over the run
    input's 64 KiB (`cmp.workflows.runs.check_input`), so such a delivery starts nothing, before the gateway
    counts it."""
    # Imported here, as cmp.web.api does: cmp.flows loads every flow reader and YAML.
    from cmp.flows.safety import check_document

    text = body.decode("utf-8", errors="replace")
    try:
        parsed = loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        payload: dict[str, Any] = {"body": text}
    else:
        payload = parsed if isinstance(parsed, dict) else {"body": parsed}
    try:
        check_document(payload, root="body")
    except ValidationFailed as e:
        raise ValidationFailed(
            "the webhook body holds a value that cannot be stored", errors=e.errors
        ) from None
    return check_input(payload, None, field="body")
