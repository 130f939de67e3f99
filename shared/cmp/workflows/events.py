"""Event triggers and failure alerts: what a workflow listens to, and whom it tells when a run fails.

Event triggers (`{"type": "event", "config": {"event": …, filters…}}`) start on the platform's EventBridge
events of the workflow's own organization (the event's `tenant_id`):

- `workflow.run.finished` (source `cmp.workflows`, sent by the step worker when a run ends): filters
  `workflowId` (only that workflow's runs; never the workflow itself) and `status` (`succeeded`, the
  default, `failed` or `any`);
- `knowledge.document.indexed` (source `cmp.knowledge`, sent by the ingestion worker): filter
  `knowledgeBaseId`;
- `usage.alert` (source `cmp.gateway`, one per quota threshold and period): filters `quota` and
  `minThreshold` (percent).

Each event carries (or, for `usage.alert`, is given by `event_id`) a stable id, the run's idempotency key,
so an event delivered twice starts one run. A run started by a `workflow.run.finished` event is one link
further down its chain (`chain` in its input); a chain longer than `MAX_CHAIN` starts nothing, so two
workflows triggering each other stop.

Failure alerts (the definition's top-level `alerts`: `{"onFailure": [{"channel": "email", "to": […]},
{"channel": "slack", "url": …}, {"channel": "webhook", "url": …, "signingKey"?: …}]}`) go out through the
step worker's messaging action, once per failed run (`cmp.workflows.triggers`).
"""

from __future__ import annotations

import uuid
from typing import Any

from cmp.errors import FieldError

RUN_FINISHED = "workflow.run.finished"
DOCUMENT_INDEXED = "knowledge.document.indexed"
USAGE_ALERT = "usage.alert"
EVENT_SOURCES = {RUN_FINISHED: "cmp.workflows", DOCUMENT_INDEXED: "cmp.knowledge", USAGE_ALERT: "cmp.gateway"}
RUN_STATUSES = ("succeeded", "failed", "any")
ALERT_CHANNELS = ("email", "slack", "webhook")
MAX_ALERTS = 5
MAX_CHAIN = 5


def event_id(detail_type: str, detail: dict[str, Any]) -> str:
    """The event's stable id: its own `event_id`, or for a usage alert the claim it comes from (one per
    subscription, quota, period and threshold)."""
    if detail_type == USAGE_ALERT:
        return ":".join(str(detail.get(k)) for k in ("subscription_id", "quota", "period_start", "threshold"))
    return str(detail["event_id"])


def listens_to(
    config: dict[str, Any], workflow_id: uuid.UUID, detail_type: str, detail: dict[str, Any]
) -> bool:
    """True when a workflow with this event trigger config starts on this event."""
    if config.get("event") != detail_type:
        return False
    if detail_type == RUN_FINISHED:
        wanted = config.get("status", "succeeded")
        return (
            detail.get("workflow_id") != str(workflow_id)
            and config.get("workflowId") in (None, detail.get("workflow_id"))
            and wanted in ("any", detail.get("status"))
            and int(detail.get("chain", 0)) < MAX_CHAIN
        )
    if detail_type == DOCUMENT_INDEXED:
        return config.get("knowledgeBaseId") in (None, detail.get("knowledge_base_id"))
    return config.get("quota") in (None, detail.get("quota")) and int(detail.get("threshold", 0)) >= int(
        config.get("minThreshold", 0)
    )


def check_event_trigger(config: dict[str, Any], path: str) -> list[FieldError]:
    """Problems of an event trigger's config at `path` (`nodes[0].config`)."""
    event = config.get("event")
    if event not in EVENT_SOURCES:
        return [FieldError(f"{path}.event", f"expected one of {', '.join(EVENT_SOURCES)}")]
    errors: list[FieldError] = []
    ids = {RUN_FINISHED: "workflowId", DOCUMENT_INDEXED: "knowledgeBaseId"}
    key = ids.get(str(event))
    if key and key in config and not _is_uuid(config[key]):
        errors.append(FieldError(f"{path}.{key}", "expected an id (UUID)"))
    if event == RUN_FINISHED and config.get("status", "succeeded") not in RUN_STATUSES:
        errors.append(FieldError(f"{path}.status", f"expected one of {', '.join(RUN_STATUSES)}"))
    if event == USAGE_ALERT:
        if "quota" in config and not isinstance(config["quota"], str):
            errors.append(FieldError(f"{path}.quota", "expected a quota name such as executions"))
        threshold = config.get("minThreshold", 0)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100:
            errors.append(FieldError(f"{path}.minThreshold", "expected a percentage from 0 to 100"))
    return errors


def check_alerts(document: dict[str, Any], channels: tuple[str, ...]) -> list[FieldError]:
    """Problems of the definition's `alerts` (absent is fine); `channels` are those the product allows."""
    if "alerts" not in document:
        return []
    alerts = document["alerts"]
    on_failure = alerts.get("onFailure") if isinstance(alerts, dict) else None
    if not isinstance(on_failure, list) or len(on_failure) > MAX_ALERTS:
        return [FieldError("alerts.onFailure", f"expected a list of at most {MAX_ALERTS} alerts")]
    errors: list[FieldError] = []
    for index, alert in enumerate(on_failure):
        path = f"alerts.onFailure[{index}]"
        channel = alert.get("channel") if isinstance(alert, dict) else None
        if channel not in ALERT_CHANNELS:
            errors.append(FieldError(f"{path}.channel", f"expected one of {', '.join(ALERT_CHANNELS)}"))
        elif channel not in channels:
            errors.append(
                FieldError(
                    f"{path}.channel",
                    f"{channel} alerts are not enabled for this product (monitoring.alerts.channels)",
                )
            )
        elif channel == "email":
            to = alert.get("to")
            addresses = to if isinstance(to, list) else [to]
            if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
                errors.append(FieldError(f"{path}.to", "expected an email address or a list of them"))
        elif not isinstance(alert.get("url"), str) or not alert["url"].startswith(("https://", "http://")):
            errors.append(FieldError(f"{path}.url", "expected the http(s) URL of the webhook"))
    return errors


def alert_message(alert: dict[str, Any], workflow_name: str, run: dict[str, Any]) -> dict[str, Any]:
    """The messaging action's config for one alert of a failed run (`run`: `run_id`, `workflow_id`,
    `error`, `completed_at`)."""
    text = f"Workflow {workflow_name!r} failed (run {run['run_id']}): {run.get('error') or 'failed'}"
    if alert["channel"] == "email":
        to = alert["to"]
        return {
            "channel": "email",
            "to": to if isinstance(to, list) else [to],
            "subject": f"Workflow {workflow_name} failed",
            "text": text,
        }
    if alert["channel"] == "slack":
        return {"channel": "slack", "url": alert["url"], "text": text}
    return {
        "channel": "webhook",
        "url": alert["url"],
        "signingKey": alert.get("signingKey"),
        "payload": {"type": "workflow.run.failed", "workflow_name": workflow_name, **run},
    }


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)
