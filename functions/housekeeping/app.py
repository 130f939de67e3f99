"""Hourly housekeeping: deliver outbox messages left unsent, purge sent messages and expired sessions."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("housekeeping")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("housekeeping")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = services.housekeeping.run()
    for name, count in report.items():
        metrics.add_metric(name=name, unit="Count", value=count)
    logger.info("housekeeping done", extra=report)
    return report
