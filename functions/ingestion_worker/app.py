"""Ingests knowledge (SQS job, DLQ with reasons): S3 upload notifications become fair-queued document jobs;
document jobs parse, chunk, embed and store; crawl jobs fetch a website's pages (`cmp.knowledge.ingestion`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.jobs import run_sqs_batch
from cmp.knowledge.messages import IngestionMessage
from cmp.observability import instruments, traced_job

logger, metrics = instruments("ingestion-worker")
services = bootstrap()


def ingest(message: IngestionMessage) -> None:
    logger.append_keys(tenant_id=message.tenant_id, document_id=message.document_id)
    outcomes = services.ingestion.handle(message)
    metrics.add_metric(name="IngestionJobs", unit="Count", value=1)
    logger.info("ingestion job done", extra={"outcomes": outcomes})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("ingestion-worker")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_sqs_batch(
        event,
        context,
        model=IngestionMessage,
        handle=ingest,
        logger=logger,
        queues=services.queues,
        finished=services.outbox_relay.finished,
    )
