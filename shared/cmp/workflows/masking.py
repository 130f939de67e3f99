"""Masking of step inputs, outputs and run payloads before they are stored or shown.

A value is replaced by `***` when its key names a credential (`password`, `secret`, `token`, `authorization`,
`api_key`, `apikey`, `x-api-key`, `cookie`, `private_key`, case- and separator-insensitive) or when the text
has the shape of a known key (`cmp.flows.secrets.secret_shape`: `sk-…`, `ghp_…`, `AKIA…`, …). `redact`
also hides given values (a step's workflow secrets) wherever they appear in text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cmp.flows.secrets import secret_shape

MASK = "***"
_SENSITIVE_KEY = re.compile(
    r"pass(word)?|secret|token|authori[sz]ation|api_?key|cookie|private_?key|credential"
)


def mask(value: Any) -> Any:
    """`value` (any JSON) with credentials replaced by `***` (see the module docstring)."""
    if isinstance(value, dict):
        return {
            key: MASK
            if _SENSITIVE_KEY.search(str(key).lower().replace("-", "_")) and item not in (None, "")
            else mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask(item) for item in value]
    if isinstance(value, str) and secret_shape(value) is not None:
        return MASK
    return value


MIN_REDACTED_LENGTH = 3
"""Shorter secret values are not searched for in text (hiding every `a` would garble the output)."""


def redact(value: Any, hidden: Iterable[str]) -> Any:
    """`value` (any JSON) with every occurrence of each `hidden` text of at least `MIN_REDACTED_LENGTH`
    characters replaced by `***`, in strings and object keys alike."""
    secrets = sorted((h for h in hidden if len(h) >= MIN_REDACTED_LENGTH), key=len, reverse=True)
    if not secrets:
        return value

    def text(item: str) -> str:
        for secret in secrets:
            item = item.replace(secret, MASK)
        return item

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {text(str(k)): walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return text(item) if isinstance(item, str) else item

    return walk(value)
