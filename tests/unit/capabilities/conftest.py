"""Builders for capability drafts and a checker for validation errors, shared by the capability tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import CapabilityValidation
from cmp.capabilities.defaults import deep_merge

SUBCATEGORY = {"agent": "single", "app": "tool", "assistant": "writer", "automation": "workflow"}

DraftFactory = Callable[..., dict[str, Any]]
ErrorCheck = Callable[[CapabilityValidation, str, str], None]


def _draft(category: str = "agent", **sections: Any) -> dict[str, Any]:
    """A minimal valid draft of `category`, with `sections` deep-merged on top."""
    return deep_merge({"category": category, "subcategory": {category: SUBCATEGORY[category]}}, sections)


def _expect_error(result: CapabilityValidation, path: str, fragment: str) -> None:
    """The result is invalid with an error at `path` whose message contains `fragment`."""
    found = {error.path: error.message for error in result.errors}
    assert not result.valid
    assert result.capabilities is None
    assert path in found, f"no error at {path}; got {found}"
    assert fragment in found[path], f"{found[path]!r} does not mention {fragment!r}"


@pytest.fixture
def draft() -> DraftFactory:
    return _draft


@pytest.fixture
def expect_error() -> ErrorCheck:
    return _expect_error
