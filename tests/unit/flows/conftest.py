"""Locates the real exported files in the shared fixtures folder and parametrises tests over them.

The folder is listed at collection time, so a new fixture file is tested without editing any test.
A missing folder never skips: it becomes one failing test that says where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MISSING_FIXTURES = "<import fixtures folder missing>"


def import_fixtures_path() -> Path:
    """`$CMP_SHARED_DIR/fixtures/imports`, else `<repo>/../shared/fixtures/imports`."""
    shared = Path(os.environ.get("CMP_SHARED_DIR") or REPO.parent / "shared")
    return shared / "fixtures" / "imports"


def fixture_files() -> list[str]:
    """Every export file as `<format>/<file>`, the format being its folder's name."""
    root = import_fixtures_path()
    if not root.is_dir():
        return []
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.glob("*/*")
        if path.is_file() and path.suffix != ".md"
    )


@pytest.fixture(scope="session")
def import_fixtures_dir() -> Path:
    root = import_fixtures_path()
    if not root.is_dir():
        pytest.fail(
            f"import fixtures not found at {root}: set CMP_SHARED_DIR to the shared folder "
            "(the one holding fixtures/imports); CI always provides it",
            pytrace=False,
        )
    return root


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fixture_file" in metafunc.fixturenames:
        files = fixture_files() or [MISSING_FIXTURES]
        metafunc.parametrize("fixture_file", files, ids=files)
