"""The layer ships exactly the runtime dependencies the package declares, and each function folder holds
only its handler."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_deps_layer_matches_pyproject_dependencies() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (REPO / "layers/deps/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(layer) == sorted(declared)


def test_function_folders_hold_only_a_handler() -> None:
    for folder in sorted(p for p in (REPO / "functions").iterdir() if p.is_dir()):
        files = sorted(f.name for f in folder.iterdir() if f.name != "__pycache__")
        assert files == ["app.py"], f"{folder.name}: {files}"
