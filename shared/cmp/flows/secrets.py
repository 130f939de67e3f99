"""Credentials pasted into a flow's configuration: found by their well-known shapes, never echoed in full.

A product definition is stored and shown to reviewers, so a real key inside it (an `sk-…` value in an
MCP server's arguments, a GitHub token in a header) must be flagged for the seller to remove. The
warning shows only the key's first characters and its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cmp.flows.base import Findings, child_path

_SHAPES: tuple[tuple[str, str], ...] = (
    ("an Anthropic API key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("an OpenAI-style API key", r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}"),
    ("a Stripe secret key", r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    ("a GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("a Groq API key", r"\bgsk_[A-Za-z0-9]{40,}"),
    ("a private key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
)
"""(what it is, its shape); earlier shapes win where two match at the same place."""
_ANY_SHAPE = re.compile("|".join(f"(?P<shape{index}>{shape})" for index, (_, shape) in enumerate(_SHAPES)))
_SCANNED_CHARACTERS = 20_000
"""Only the start of a long text is searched: keys sit in short configuration values."""
_SHOWN_CHARACTERS = 4


def secret_shape(value: str) -> tuple[str, str] | None:
    """(what it looks like, a masked form such as `sk-p…(51 characters)`) or None for ordinary text."""
    found = _ANY_SHAPE.search(value[:_SCANNED_CHARACTERS])
    if found is None or found.lastgroup is None:
        return None
    label = _SHAPES[int(found.lastgroup.removeprefix("shape"))][0]
    key = found.group()
    return label, f"{key[:_SHOWN_CHARACTERS]}… ({len(key)} characters)"


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            yield where, current
        elif isinstance(current, dict):
            stack.extend((child, child_path(where, key)) for key, child in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend(
                (child, child_path(where, index)) for index, child in reversed(list(enumerate(current)))
            )


def warn_secrets(value: object, path: str, findings: Findings) -> bool:
    """Warns once per text in `value` (any JSON) that holds a key-shaped secret; returns whether any did."""
    flagged = False
    for where, text_value in _strings(value, path):
        shape = secret_shape(text_value)
        if shape is not None:
            label, masked = shape
            findings.warn(
                where,
                f"holds what looks like {label} ({masked}); remove it from the file and let the buyer "
                "provide it as a secret",
            )
            flagged = True
    return flagged
