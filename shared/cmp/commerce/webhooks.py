"""Provider webhooks: verify, reduce, apply. The provider adapter verifies the signature over the raw body
(Stripe: `stripe.Webhook.construct_event`; the local provider: the same `t=…,v1=…` HMAC scheme) before
anything is read from it; the event is then applied by `PaymentEvents` (once, in any order)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cmp.commerce.events import Applied, PaymentEvents
from cmp.commerce.ports import PaymentProvider
from cmp.errors import NotFound

log = logging.getLogger(__name__)


class Webhooks:
    """`payments` returns the configured provider; only its webhook exists (another name is a 404)."""

    def __init__(self, payments: Callable[[], PaymentProvider], events: PaymentEvents) -> None:
        self._payments = payments
        self._events = events

    def receive(self, provider: str, payload: bytes, signature: str | None) -> Applied:
        """Verify and apply one delivery. Raises NotFound for a provider that is not configured,
        Unauthorized (401) for a missing or bad signature, BadRequest (400) for a payload that is not an
        event; a well-signed event about an unknown order is not an error (`applied` False, logged)."""
        payments = self._payments()
        if provider != payments.name:
            raise NotFound(f"no webhook for payment provider {provider[:40]!r}")
        event = payments.parse_event(payload, signature)
        applied = self._events.apply(event)
        log.info(
            "payment webhook",
            extra={"event_id": event.event_id, "type": event.raw_type, "outcome": applied.outcome},
        )
        return applied
