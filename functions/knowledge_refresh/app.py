"""Hourly: queue a re-crawl of every website source whose refresh interval has passed
(`cmp.knowledge.crawler.WebsiteCrawls.refresh_due`); the ingestion worker crawls them."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments, traced_job

logger, metrics = instruments("knowledge-refresh")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced_job("knowledge-refresh")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    queued = services.website_crawls.refresh_due(services.clock.now())
    metrics.add_metric(name="WebsiteRefreshesQueued", unit="Count", value=queued)
    logger.info("website refreshes queued", extra={"queued": queued})
    return {"queued": queued}
