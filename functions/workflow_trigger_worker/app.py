"""Starts the workflow runs schedules and platform events ask for, and sends failed runs' alerts (SQS)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch
from cmp.observability import instruments, traced_job
from cmp.workflows.messages import TriggerMessage

logger, metrics = instruments("workflow-trigger-worker")
services = bootstrap()


def run_trigger(message: TriggerMessage) -> None:
    done = services.workflow_triggers.handle(message.model_dump())
    logger.info("workflow trigger handled", extra={"done": done})
    metrics.add_metric(name="WorkflowTrigger", unit="Count", value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("workflow-trigger-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event, context, model=TriggerMessage, handle=run_trigger, logger=logger, queues=services.queues
    )
