"""Runtime health check every minute: probe each registered dedicated runtime, mark it down after repeated
failures and ready again when it answers, announcing each transition (`cmp.provisioning.health`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("runtime-health")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("runtime-health")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = services.runtime_health.run()
    for name, count in report.items():
        metrics.add_metric(name=f"RuntimeHealth_{name}", unit="Count", value=count)
    logger.info("runtime health check done", extra=report)
    return report
