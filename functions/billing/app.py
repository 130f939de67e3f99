"""Billing jobs every five minutes: renewal of billing periods that ended, then reconciliation."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("billing")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("billing")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = services.billing.run()
    for name, count in report.items():
        metrics.add_metric(name=f"Billing_{name}", unit="Count", value=count)
    logger.info("billing done", extra=report)
    return report
