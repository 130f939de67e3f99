"""The rules of the buyer's `workflow` section (schedule, variables, secret names, alerts) against the
capability snapshot: spec Part 1 `configuration.workflow` and `configuration.workflowAdvanced`, Part 7
(`triggers.schedule`, `data.variables`, `data.secrets`, `monitoring.alerts`) and `analytics.alerts`.

Same contract as `configuration_rules`: `forbidden_workflow` (403) and `limits_workflow` (422) return
`FieldError`s whose paths are the buyer's fields.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from typing import Any

from cmp.capabilities.buyer_models import (
    MAX_VARIABLE_SIZE,
    MAX_VARIABLES,
    AlertRule,
    Schedule,
    WorkflowSettings,
)
from cmp.capabilities.configuration_rules import disabled, duplicates
from cmp.capabilities.configuration_sections import workflow_closing
from cmp.capabilities.cron import CronError, describe_minutes, interval_minutes, min_gap_minutes, parse_cron
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.workflow_detail import ScheduleTriggerDetail
from cmp.errors import FieldError

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TIMEZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_\-]{0,79}")


def _variable_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


def forbidden_workflow(
    caps: ProductCapabilities, given: set[str], settings: WorkflowSettings
) -> list[FieldError]:
    """403s: schedule, variables and secrets need every enabled workflow block to switch them on
    (`workflow_closing`); alerts need `analytics.alerts`; within an open field, the workflow detail's
    schedule types and timezone switch, variable types and alert channels, and the analytics alert types."""
    closed = {name: workflow_closing(caps, name) for name in ("schedule", "variables", "secrets")}
    errors = [error for name in closed if name in given for error in disabled(name, closed[name])]
    alerts = caps.analytics.alerts
    if "alerts" in given and not alerts.enabled:
        errors.append(FieldError("alerts", "analytics.alerts is disabled for this product"))
    advanced = caps.configuration.workflow_advanced
    detail = advanced.detail if advanced.enabled else None
    if detail is not None and settings.schedule is not None and not closed["schedule"]:
        errors += _forbidden_schedule(settings.schedule, detail.triggers.schedule)
    variable_types = detail.data.variables.types if detail is not None else []
    if settings.variables and variable_types and not closed["variables"]:
        for name, value in settings.variables.items():
            kind = _variable_type(value)
            if value is not None and kind not in variable_types:
                errors.append(
                    FieldError(
                        f"variables.{name}",
                        f"configuration.workflowAdvanced.detail.data.variables.types does not include '{kind}' "
                        f"for this product (it allows {', '.join(variable_types)})",
                    )
                )
    monitoring = detail.monitoring.alerts if detail is not None else None
    for index, rule in enumerate((settings.alerts or []) if alerts.enabled else []):
        if rule.on not in alerts.types:
            errors.append(
                FieldError(
                    f"alerts[{index}].on",
                    f"analytics.alerts.types does not include '{rule.on}' for this product "
                    f"(it offers {', '.join(alerts.types)})",
                )
            )
        if monitoring is not None and monitoring.enabled and rule.channel not in monitoring.channels:
            errors.append(
                FieldError(
                    f"alerts[{index}].channel",
                    "configuration.workflowAdvanced.detail.monitoring.alerts.channels does not include "
                    f"'{rule.channel}' for this product (it offers {', '.join(monitoring.channels)})",
                )
            )
    return errors


def _forbidden_schedule(schedule: Schedule, allowed: ScheduleTriggerDetail) -> list[FieldError]:
    """The schedule against the workflow detail's `triggers.schedule` (its types and timezone switch)."""
    errors = []
    base = "configuration.workflowAdvanced.detail.triggers.schedule"
    if schedule.timezone not in (None, "UTC") and not allowed.timezone:
        errors.append(
            FieldError(
                "schedule.timezone", f"{base}.timezone is disabled for this product: schedules run in UTC"
            )
        )
    if not allowed.types:
        return errors
    kind, field = None, "schedule"
    if schedule.interval is not None and schedule.cron is None:
        kind, field = "interval", "schedule.interval"
    elif schedule.cron is not None and schedule.interval is None:
        try:
            kind, field = parse_cron(schedule.cron).kind(), "schedule.cron"
        except CronError:
            kind = None  # reported as a 422 by the limits
    if (
        kind is not None
        and kind not in allowed.types
        and not (kind != "interval" and "cron" in allowed.types)
    ):
        errors.append(
            FieldError(
                field,
                f"{base}.types does not include '{kind}' for this product (it allows {', '.join(allowed.types)})",
            )
        )
    return errors


def limits_workflow(caps: ProductCapabilities, settings: WorkflowSettings) -> list[FieldError]:
    """422s: a schedule is one of cron and interval, well formed, in a real time zone and no more frequent
    than the workflow detail's `minInterval` (else once a minute); variables are named, non-null, at most
    100 of at most 4,096 characters each; secret names are unique and within `maxSecrets`; alert targets fit
    their channel (a PagerDuty target names one of the secrets) and no alert repeats."""
    advanced = caps.configuration.workflow_advanced
    detail = advanced.detail if advanced.enabled else None
    errors = []
    if settings.schedule is not None:
        errors += _schedule_limits(
            settings.schedule, detail.triggers.schedule.min_interval if detail else None
        )
    errors += _variable_limits(settings.variables or {})
    secrets = list(settings.secrets or [])
    errors += duplicates(secrets, "secrets")
    max_secrets = detail.data.secrets.max_secrets if detail is not None else PLATFORM_MAXIMA.secrets
    if len(secrets) > max_secrets:
        source = (
            "configuration.workflowAdvanced.detail.data.secrets.maxSecrets"
            if detail is not None
            else "the platform maximum"
        )
        errors.append(FieldError("secrets", f"at most {max_secrets} secrets: {source} (got {len(secrets)})"))
    errors += _alert_limits(settings.alerts or [], set(secrets))
    return errors


def _schedule_limits(schedule: Schedule, min_interval: str | None) -> list[FieldError]:
    if (schedule.cron is None) == (schedule.interval is None):
        return [FieldError("schedule", "give either cron or interval (one of them)")]
    errors = []
    if schedule.timezone is not None and not _valid_timezone(schedule.timezone):
        errors.append(
            FieldError(
                "schedule.timezone",
                f"must be an IANA time zone such as 'UTC' or 'Europe/Paris' (got '{schedule.timezone[:64]}')",
            )
        )
    field = "schedule.cron" if schedule.cron is not None else "schedule.interval"
    try:
        gap = min_gap_minutes(parse_cron(schedule.cron)) if schedule.cron is not None else None
        gap = gap if gap is not None else interval_minutes(schedule.interval or "")
    except CronError as e:
        return [*errors, FieldError(field, str(e))]
    limit_s = _seconds(min_interval) if min_interval is not None else PLATFORM_MAXIMA.min_schedule_interval_s
    if gap * 60 < limit_s:
        source = (
            f"configuration.workflowAdvanced.detail.triggers.schedule.minInterval is {min_interval}"
            if min_interval is not None
            else "schedules fire at most once a minute"
        )
        errors.append(
            FieldError(
                field,
                f"fires every {describe_minutes(gap)} at the closest, more often than allowed: {source}",
            )
        )
    return errors


def _seconds(duration: str) -> int:
    """`"30s"`, `"5m"`, `"1h"`, `"1d"` (the capability Interval format) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


def _valid_timezone(name: str) -> bool:
    if name == "UTC":
        return True
    if _TIMEZONE.fullmatch(name) is None:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _variable_limits(variables: dict[str, Any]) -> list[FieldError]:
    errors = []
    if len(variables) > MAX_VARIABLES:
        errors.append(
            FieldError(
                "variables", f"at most {MAX_VARIABLES} variables, the platform maximum (got {len(variables)})"
            )
        )
    for name, value in variables.items():
        path = f"variables.{name[:64]}"
        if _VARIABLE_NAME.fullmatch(name) is None:
            errors.append(
                FieldError(path, "a variable name is a letter or _ then letters, digits or _ (at most 64)")
            )
        elif value is None:
            errors.append(FieldError(path, "must not be null; leave the variable out instead"))
        elif len(json.dumps(value, separators=(",", ":"))) > MAX_VARIABLE_SIZE:
            errors.append(FieldError(path, f"must be at most {MAX_VARIABLE_SIZE} characters long as JSON"))
    return errors


def _alert_limits(rules: list[AlertRule], secrets: set[str]) -> list[FieldError]:
    errors = []
    seen: set[tuple[str, str, str]] = set()
    for index, rule in enumerate(rules):
        path = f"alerts[{index}]"
        problem = _alert_target_problem(rule, secrets)
        if problem is not None:
            errors.append(FieldError(f"{path}.to", problem))
        key = (rule.on, rule.channel, rule.to)
        if key in seen:
            errors.append(FieldError(path, "the same alert is listed twice"))
        seen.add(key)
    return errors


def _alert_target_problem(rule: AlertRule, secrets: set[str]) -> str | None:
    """What is wrong with `rule.to` for its channel, or None. Never echoes a PagerDuty target (it may be a
    pasted routing key)."""
    to = rule.to
    if rule.channel == "email" and re.fullmatch(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+", to) is None:
        return "must be an e-mail address for the email channel"
    if rule.channel == "slack" and _SLACK_CHANNEL.fullmatch(to) is None:
        return "must be a Slack channel such as #data-ops for the slack channel"
    if rule.channel == "webhook" and (not to.startswith("https://") or re.search(r"\s", to)):
        return "must be an https:// URL for the webhook channel"
    if rule.channel == "pagerduty" and to not in secrets:
        return (
            "must name one of this workflow's secrets (holding the PagerDuty routing key), e.g. PAGERDUTY_KEY"
        )
    return None
