"""Runs tenant onboarding steps sent by the state machine (SQS callback pattern)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch
from cmp.observability import instruments, traced_job
from cmp.provisioning.model import StepMessage

logger, metrics = instruments("onboarding-worker")
services = bootstrap()


def run_step(message: StepMessage) -> None:
    logger.append_keys(tenant_id=message.tenant_id)
    services.onboarding.run_step(message)
    metrics.add_metric(name="OnboardingStep", unit="Count", value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("onboarding-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event, context, model=StepMessage, handle=run_step, logger=logger, queues=services.queues
    )
