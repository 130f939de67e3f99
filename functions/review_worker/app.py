"""Runs the automated review checks of a submitted product (SQS job, DLQ with reasons)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch  # before any pydantic model (see cmp.jobs)

# isort: split
from cmp.catalog.messages import ReviewJob
from cmp.observability import instruments, traced_job

logger, metrics = instruments("review-worker")
services = bootstrap()


def review(job: ReviewJob) -> None:
    logger.append_keys(tenant_id=job.tenant_id, product_id=job.product_id)
    outcome = services.reviews.run_checks(job)
    metrics.add_metric(name="ReviewChecks", unit="Count", value=1)
    logger.info("review checks done", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("review-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event, context, model=ReviewJob, handle=review, logger=logger, queues=services.queues
    )
