"""SLA evaluation every five minutes: each dedicated subscription's SLOs in its current period from the
runtime metrics in CloudWatch, stored for `GET /v1/subscriptions/{id}/sla`, and burn-rate alerts as events
(`cmp.sla.services.SlaEvaluator`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("sla-evaluator")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("sla-evaluator")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = services.sla_evaluator.run()
    for name, count in report.items():
        metrics.add_metric(name=f"SlaEvaluator_{name}", unit="Count", value=count)
    logger.info("SLA evaluation done", extra=report)
    return report
