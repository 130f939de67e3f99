"""Masking of step inputs, outputs and run payloads before they are stored or shown.

A value is replaced by `***` when its key names a credential (`password`, `secret`, `token`, `authorization`,
`api_key`, `apikey`, `x-api-key`, `cookie`, `private_key`, case- and separator-insensitive) or when the text
has the shape of a known key (`cmp.flows.secrets.secret_shape`: `sk-…`, `ghp_…`, `AKIA…`, …).
"""

from __future__ import annotations

import re
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
