"""SQS job plumbing shared by every worker: partial batch failures, retries, and a dead-letter queue
whose messages say why they are there.

A message that can never succeed (unparseable, fails validation) goes to the DLQ at once with its reason;
a transient failure is retried by SQS and, on its last allowed receive, goes to the DLQ with its reason.
The queue's own redrive policy stays as the safety net for crashes and timeouts.

A fair job (a message the outbox released by its tenant's share, `cmp.db.outbox`) is reported finished once
it is handled or dead-lettered, so its tenant's next job is released; a retried one stays in flight.

A worker imports this module before any pydantic model: Powertools' batch utility imports all its parser models
(SQS, DynamoDB, Kinesis, Kafka; ~40 ms) when pydantic is already loaded at its first import
(`aws_lambda_powertools.utilities.batch.types`); `tests/unit/test_cold_imports.py` catches a worker that does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from cmp.db.outbox import FAIR_JOB_ATTRIBUTE
from cmp.errors import PoisonMessage
from cmp.ports import MessageQueue

Message = TypeVar("Message", bound=BaseModel)


def run_sqs_batch(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    model: type[Message],
    handle: Callable[[Message], Any],
    logger: Logger,
    queues: MessageQueue,
    dlq_url: str | None = None,
    max_receives: int | None = None,
    finished: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Validate each SQS record into `model` and pass it to `handle`; returns the partial batch response
    (`{"batchItemFailures": [...]}`). Invalid and `PoisonMessage` records are dead-lettered at once (to
    `dlq_url`, default `DLQ_URL`); other failures are retried until the last of `max_receives` (default
    `MAX_RECEIVE_COUNT`, 3), then dead-lettered with their reason. `finished` (`OutboxRelay.finished`) is
    called with the fair job id of each record carrying one, once it is handled or dead-lettered; its
    failure is logged, not retried (the job's lease frees the slot)."""
    dlq = dlq_url if dlq_url is not None else os.environ.get("DLQ_URL", "")
    limit = max_receives if max_receives is not None else int(os.environ.get("MAX_RECEIVE_COUNT", "3"))

    def record_handler(record: SQSRecord) -> None:
        settle(record)
        _finish(record, finished, logger)

    def settle(record: SQSRecord) -> None:
        attempt = int(record.attributes.approximate_receive_count or "1")
        try:
            message = model.model_validate(json.loads(record.body))
        except (json.JSONDecodeError, ValidationError, UnicodeDecodeError) as e:
            _dead_letter(queues, dlq, record, f"invalid message: {_short(e)}", attempt, logger)
            return
        try:
            handle(message)
        except PoisonMessage as e:
            _dead_letter(queues, dlq, record, str(e), attempt, logger)
        except Exception as e:
            if attempt >= limit and dlq:
                _dead_letter(
                    queues, dlq, record, f"failed after {attempt} attempts: {_short(e)}", attempt, logger
                )
                return
            logger.warning(
                "job failed; SQS will retry",
                extra={"message_id": record.message_id, "attempt": attempt, "error": _short(e)},
            )
            raise

    # Report every failure as a batch item failure, even when all fail, so SQS retries exactly those.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


def _dead_letter(
    queues: MessageQueue, dlq: str, record: SQSRecord, reason: str, attempt: int, logger: Logger
) -> None:
    logger.error("job dead-lettered", extra={"message_id": record.message_id, "reason": reason})
    if not dlq:
        raise PoisonMessage(reason)
    queues.send_raw(
        dlq,
        record.body,
        {
            "cmp-failure-reason": reason[:1000],
            "cmp-failed-at": datetime.now(UTC).isoformat(),
            "cmp-source-message-id": record.message_id,
            "cmp-attempts": str(attempt),
        },
    )


def _finish(record: SQSRecord, finished: Callable[[str], object] | None, logger: Logger) -> None:
    if finished is None or FAIR_JOB_ATTRIBUTE not in record.message_attributes:
        return
    attribute = record.message_attributes[FAIR_JOB_ATTRIBUTE]
    job_id = attribute.string_value if attribute is not None else None
    if not job_id:
        return
    try:
        finished(job_id)
    except Exception as e:
        logger.warning(
            "fair job not reported finished; its lease frees the slot",
            extra={"message_id": record.message_id, "error": _short(e)},
        )


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return f"{type(error).__name__}: {text[:400]}"
