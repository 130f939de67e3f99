"""Runs workflow steps sent by the workflows' state machines (SQS callback tasks) and answers them; a
state machine's step is first queued fairly by tenant, then run when released (`cmp.workflows.worker`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch
from cmp.observability import instruments, traced_job
from cmp.workflows.messages import StepMessage

logger, metrics = instruments("workflow-step-worker")
services = bootstrap()


def run_step(message: StepMessage) -> None:
    logger.append_keys(tenant_id=message.tenant_id, run_id=message.run_id, node=message.node)
    services.step_worker.take(message.model_dump())
    metrics.add_metric(name="WorkflowStep", unit="Count", value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("workflow-step-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event,
        context,
        model=StepMessage,
        handle=run_step,
        logger=logger,
        queues=services.queues,
        finished=services.outbox_relay.finished,
    )
