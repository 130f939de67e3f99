"""Cold start per function: import of the handler module plus its module-level initialisation.

For each function of template.yaml, runs a fresh interpreter RUNS times (default 5) with the function's
template environment (literal values) that imports its handler module, and reports the median time of that
import (module-level initialisation included; wall and CPU time, the latter steadier when other processes
compete for the cores) and the median wall time of the whole process next to a bare `python -c "import json"`
process, as a ratio, so a noisy machine still compares. Also lists the third-party top-level packages each
handler imports at load time (`tests/unit/test_cold_imports.py` holds them to an allow-list).

With `--against DIR` (another checkout of this repository, e.g. a `git worktree` of the commit before a change),
each round imports the function from DIR and then from this checkout, one process each in turn, so load from
other processes falls on both sides alike; it prints both medians (import CPU ms and wall ms) side by side.

Run: .venv/bin/python bench/cold_start.py [--runs 5] [--function NAME] [--against DIR]
"""

from __future__ import annotations

import argparse
import json
import os
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
    folder: Path, statement: str, runs: int, env: dict[str, str], repo: Path = REPO
) -> tuple[float, float, float, list[str]]:
    """(median import ms, median import CPU ms, median process wall ms, packages imported) over `runs`
    fresh interpreters, with `repo`'s `shared` first on the path."""
    imports, cpus, walls, packages = [], [], [], []
    for _ in range(runs):
        code = PROBE.format(shared=str(repo / "shared"), folder=str(folder), statement=statement)
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


def compare(other: Path, runs: int, only: str | None) -> None:
    """Per function, `runs` alternating rounds of one import from `other`'s checkout then one from this one;
    prints the median import CPU ms and wall ms of each side and the change of the CPU median."""
    print(f"before = {other}, after = {REPO}; {runs} alternating rounds; load {os.getloadavg()[0]:.1f}")
    print(
        f"{'function':<28} {'before CPU':>10} {'after CPU':>9} {'change':>7} {'before ms':>9} {'after ms':>8}"
    )
    functions = read_template(REPO / "template.yaml").functions.values()
    for function in sorted(functions, key=lambda f: f.code_dir.name):
        name = function.code_dir.name
        if only and name != only:
            continue
        env = {**{k: v for k, v in function.environment.items() if isinstance(v, str)}, **BASE_ENV}
        sides: dict[Path, tuple[list[float], list[float]]] = {other: ([], []), REPO: ([], [])}
        for _ in range(runs):
            for repo, (walls, cpus) in sides.items():
                ms, cpu, _, _ = measure(repo / "functions" / name, f"import {function.module}", 1, env, repo)
                walls.append(ms)
                cpus.append(cpu)
        (b_ms, b_cpu), (a_ms, a_cpu) = (
            (statistics.median(walls), statistics.median(cpus)) for walls, cpus in sides.values()
        )
        print(
            f"{name:<28} {b_cpu:>10.0f} {a_cpu:>9.0f} {a_cpu / b_cpu - 1:>+7.0%} {b_ms:>9.0f} {a_ms:>8.0f}",
            flush=True,
        )
    print(f"load {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--function", default=None)
    parser.add_argument("--against", type=Path, default=None, help="another checkout to alternate with")
    args = parser.parse_args()
    if args.against:
        compare(args.against.resolve(), args.runs, args.function)
        return
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
