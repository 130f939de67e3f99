"""Runs the runtime-provisioning steps of dedicated subscriptions sent by the state machine (SQS callback)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch
from cmp.observability import instruments, traced_job
from cmp.provisioning.model import RuntimeStepMessage

logger, metrics = instruments("runtime-provisioning-worker")
services = bootstrap()


def run_step(message: RuntimeStepMessage) -> None:
    logger.append_keys(tenant_id=message.tenant_id, subscription_id=message.subscription_id)
    services.runtime_provisioning.run_step(message)
    metrics.add_metric(name="RuntimeProvisioningStep", unit="Count", value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("runtime-provisioning-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event, context, model=RuntimeStepMessage, handle=run_step, logger=logger, queues=services.queues
    )
