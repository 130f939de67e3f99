"""Hourly housekeeping: purge expired portal sessions, resume onboardings that never started."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments

logger, metrics, tracer = instruments("housekeeping")
services = bootstrap()
STALLED_AFTER_SECONDS = 300


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    purged = services.tenancy.purge_expired_sessions(services.settings.session_retention_days)
    stalled = services.tenancy.stalled_onboardings(STALLED_AFTER_SECONDS)
    for tenant_id in stalled:
        services.tenancy.resume_onboarding(tenant_id)
    metrics.add_metric(name="SessionsPurged", unit="Count", value=purged)
    metrics.add_metric(name="OnboardingsResumed", unit="Count", value=len(stalled))
    logger.info("housekeeping done", extra={"sessions_purged": purged, "onboardings_resumed": len(stalled)})
    return {"sessions_purged": purged, "onboardings_resumed": len(stalled)}
