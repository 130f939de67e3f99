"""Cold start per function: import of the handler module plus its module-level initialisation.

For each function of template.yaml, runs a fresh interpreter RUNS times (default 5) with the function's
template environment (literal values) that imports its handler module, and reports the median time of that
import (module-level initialisation included; wall and CPU time, the latter steadier when other processes
compete for the cores) and the median wall time of the whole process next to a bare `python -c "import json"`
process, as a ratio, so a noisy machine still compares. Also lists the third-party top-level packages each
handler imports at load time (`tests/unit/test_cold_imports.py` holds them to an allow-list).

Run: .venv/bin/python bench/cold_start.py [--runs 5] [--function NAME]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cmp_dev.local.template import read_template

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys, time, json as _json
sys.path.insert(0, {shared!r}); sys.path.insert(0, {folder!r})
before = set(sys.modules)
start, cpu = time.perf_counter(), time.process_time()
{statement}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
top = sorted({{m.split('.')[0] for m in set(sys.modules) - before}})
print(_json.dumps({{"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "packages": top}}))
"""
BASE_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}


def measure(
    folder: Path, statement: str, runs: int, env: dict[str, str]
) -> tuple[float, float, float, list[str]]:
    """(median import ms, median import CPU ms, median process wall ms, packages imported) over `runs`
    fresh interpreters."""
    imports, cpus, walls, packages = [], [], [], []
    for _ in range(runs):
        code = PROBE.format(shared=str(REPO / "shared"), folder=str(folder), statement=statement)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=folder
        )
        walls.append((time.perf_counter() - start) * 1000)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        imports.append(result["ms"])
        cpus.append(result["cpu_ms"])
        packages = result["packages"]
    return statistics.median(imports), statistics.median(cpus), statistics.median(walls), packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--function", default=None)
    args = parser.parse_args()
    _, _, bare, _ = measure(REPO / "functions", "import json", args.runs, BASE_ENV)
    print(f"bare `python -c 'import json'` process: {bare:.0f} ms (median of {args.runs})")
    print(
        f"{'function':<20} {'import ms':>9} {'CPU ms':>7} {'process ms':>10} {'× bare':>7}"
        "  third-party packages at load"
    )
    functions = read_template(REPO / "template.yaml").functions.values()
    for function in sorted(functions, key=lambda f: f.code_dir.name):
        folder = function.code_dir
        if args.function and folder.name != args.function:
            continue
        env = {**{k: v for k, v in function.environment.items() if isinstance(v, str)}, **BASE_ENV}
        ms, cpu, wall, packages = measure(folder, f"import {function.module}", args.runs, env)
        third_party = [
            p
            for p in packages
            if not p.startswith("_") and p not in sys.stdlib_module_names and p != function.module
        ]
        print(
            f"{folder.name:<20} {ms:>9.0f} {cpu:>7.0f} {wall:>10.0f} {wall / bare:>7.1f}  {', '.join(third_party)}"
        )


if __name__ == "__main__":
    main()
