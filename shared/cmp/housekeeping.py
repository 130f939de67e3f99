"""The hourly sweep that keeps work from being lost: expired sessions go, and work whose start message
never went out (the state machine or the queue was down at the time) is started again."""

from __future__ import annotations

from dataclasses import dataclass

from cmp.tenancy.service import TenancyService

STALLED_AFTER_SECONDS = 300


@dataclass(frozen=True)
class Housekeeping:
    tenancy: TenancyService
    session_retention_days: int

    def run(self) -> dict[str, int]:
        purged = self.tenancy.purge_expired_sessions(self.session_retention_days)
        onboardings = self.tenancy.stalled_onboardings(STALLED_AFTER_SECONDS)
        for tenant_id in onboardings:
            self.tenancy.resume_onboarding(tenant_id)
        return {
            "sessions_purged": purged,
            "onboardings_resumed": len(onboardings),
        }
