"""The hourly sweep that keeps work from being lost and tables from growing: outbox messages the
in-invocation relay did not deliver (a crash between commit and send, an AWS outage) are delivered, sent
messages and ended portal sessions past their retention are deleted, and knowledge documents whose
upload form expired unused are removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cmp.db.outbox import DeliveryReport


class OutboxSweeper(Protocol):
    """`cmp.db.outbox.OutboxRelay` as housekeeping uses it."""

    def sweep(self, older_than_seconds: int = 30, limit: int = 500) -> DeliveryReport:
        """Deliver messages left unsent for `older_than_seconds`."""
        ...

    def purge(self, older_than_days: int = 7) -> int:
        """Delete messages sent more than `older_than_days` ago; returns how many."""
        ...


class SessionPurger(Protocol):
    """`cmp.tenancy.services.TenancyService` as housekeeping uses it."""

    def purge_expired_sessions(self, retention_days: int) -> int:
        """Delete sessions that ended more than `retention_days` ago; returns how many."""
        ...


class UploadExpiry(Protocol):
    """`cmp.knowledge.services.KnowledgeService` as housekeeping uses it."""

    def expire_uploads(self, now: datetime, limit: int = 500) -> dict[str, int]:
        """Remove file documents whose upload form expired unused; returns counts by name."""
        ...


@dataclass(frozen=True)
class Housekeeping:
    """`outbox_grace_seconds`: how long a message may stay unsent before the sweep takes it (the
    in-invocation relay normally delivers it within milliseconds)."""

    outbox: OutboxSweeper
    sessions: SessionPurger
    session_retention_days: int
    uploads: Callable[[], UploadExpiry]
    now: Callable[[], datetime]
    outbox_retention_days: int = 7
    outbox_grace_seconds: int = 30

    def run(self) -> dict[str, int]:
        """Run every chore; returns counts: `outbox_sent`, `outbox_failed` (left pending with their error
        for the next run), `outbox_purged`, `sessions_purged`, `knowledge_uploads_expired` and
        `knowledge_uploads_requeued`."""
        delivered = self.outbox.sweep(self.outbox_grace_seconds)
        return {
            "outbox_sent": delivered.sent,
            "outbox_failed": delivered.failed,
            "outbox_purged": self.outbox.purge(self.outbox_retention_days),
            "sessions_purged": self.sessions.purge_expired_sessions(self.session_retention_days),
            **self.uploads().expire_uploads(self.now()),
        }
