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
    at_path = [error.message for error in result.errors if error.path == path]
    assert not result.valid
    assert result.capabilities is None
    assert at_path, f"no error at {path}; got {result.errors}"
    assert any(fragment in message for message in at_path), f"{at_path} do not mention {fragment!r}"


@pytest.fixture
def draft() -> DraftFactory:
    return _draft


@pytest.fixture
def expect_error() -> ErrorCheck:
    return _expect_error
