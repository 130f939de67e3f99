"""Shared fixtures. Tiers are marked by folder: tests/unit (no I/O), tests/integration (real PostgreSQL
+ moto), tests/e2e (the local runner over HTTP). Select with `-m unit`, `-m integration`, `-m e2e`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCAL_DIR = REPO / ".local"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The steering repo's shared/ folder (beside the clone in CI); CMP_SHARED_DIR overrides."""
    path = Path(os.environ.get("CMP_SHARED_DIR", REPO.parent / "shared"))
    assert path.is_dir(), f"shared folder not found at {path}: set CMP_SHARED_DIR"
    return path


@pytest.fixture(scope="session")
def repo_root() -> Iterator[Path]:
    yield REPO
