"""Usage roll-up every fifteen minutes: add new usage records to the per-day roll-ups and close the billing
periods whose grace for late events has passed (`cmp.metering.services.UsageRollupJob`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("usage-rollup")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("usage-rollup")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = services.usage_rollup.run()
    for name, count in report.items():
        metrics.add_metric(name=f"UsageRollup_{name}", unit="Count", value=count)
    logger.info("usage roll-up done", extra=report)
    return report
