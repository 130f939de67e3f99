"""Shared pydantic configuration: camelCase on the wire, snake_case in Python, nothing unknown accepted."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WireModel(BaseModel):
    """Base of every capability model.

    Strict so that a JSON `"yes"` or `1` is not silently read as `true`, and `extra="forbid"` so a
    misspelt key is reported instead of ignored.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        # Validators are built on first use, not at import: the capability models are many, and building
        # them all cost ~100 ms of every cold start of a function that imports them (docs/performance.md).
        defer_build=True,
    )


INTERVAL_PATTERN = r"^[1-9][0-9]*(s|m|h|d)$"
TTL_PATTERN = r"^([1-9][0-9]*(m|h|d)|never)$"
RETENTION_PATTERN = r"^[1-9][0-9]*(h|d)$"
RETRY_DELAY_PATTERN = r"^([1-9][0-9]*(ms|s|m)|fixed|linear|exponential)$"
PLAN_ID_PATTERN = r"^plan_[a-z2-7]{12}$"
"""A plan id: `plan_` and 12 lower-case base32 characters (60 bits), opaque to everyone but its product."""

Interval = Annotated[str, StringConstraints(pattern=INTERVAL_PATTERN)]
Ttl = Annotated[str, StringConstraints(pattern=TTL_PATTERN)]
Retention = Annotated[str, StringConstraints(pattern=RETENTION_PATTERN)]
RetryDelay = Annotated[str, StringConstraints(pattern=RETRY_DELAY_PATTERN)]

PATTERN_HINTS: dict[str, str] = {
    INTERVAL_PATTERN: "a duration such as '30s', '5m', '1h' or '1d'",
    TTL_PATTERN: "a duration such as '30m', '12h' or '7d', or 'never'",
    RETENTION_PATTERN: "a duration in hours or days such as '24h' or '30d'",
    RETRY_DELAY_PATTERN: "'fixed', 'linear', 'exponential' or a delay such as '500ms', '2s' or '1m'",
    PLAN_ID_PATTERN: "a plan id as the API returned it, such as 'plan_k3v9x2mq7wza'",
}
"""What a person should write when a string does not match its pattern."""
