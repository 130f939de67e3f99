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

With `--built DIR` (a `sam build` output folder, `.aws-sam/build`), the function is imported as Lambda
would load it: from `DIR/<LogicalId>` with only the two built layers (`DIR/CmpLayer/python`,
`DIR/DepsLayer/python`) on the path, no site-packages (`-S`) and nothing written (`-B`: a layer is read-only,
so bytecode it does not ship is compiled again on every cold start). Given twice (`--built BEFORE --built
AFTER`), it alternates between the two builds as `--against` does.

Run: .venv/bin/python bench/cold_start.py [--runs 5] [--function NAME] [--against DIR | --built DIR [--built DIR]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cmp_dev.local.template import FunctionDef, read_template

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys, time, json as _json
sys.path[0:0] = [{folder!r}, *{paths!r}]
before = set(sys.modules)
start, cpu = time.perf_counter(), time.process_time()
{statement}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
top = sorted({{m.split('.')[0] for m in set(sys.modules) - before}})
print(_json.dumps({{"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "packages": top}}))
"""
BASE_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class Side:
    """Where a function is imported from: a checkout (`functions/<name>` with its `shared` first on the path,
    site-packages from this interpreter) or a `sam build` output (`<LogicalId>` with the two built layers
    only, interpreter flags `-S -B`)."""

    label: Path
    built: bool = False

    def folder(self, function: FunctionDef) -> Path:
        """The function's code folder on this side."""
        if self.built:
            return self.label / function.logical_id
        return self.label / "functions" / function.code_dir.name

    def paths(self) -> list[str]:
        """What goes on `sys.path` after the function's folder."""
        if self.built:
            return [str(self.label / "CmpLayer" / "python"), str(self.label / "DepsLayer" / "python")]
        return [str(self.label / "shared")]

    def flags(self) -> list[str]:
        """Interpreter flags: no site-packages and no bytecode written for a built side."""
        return ["-S", "-B"] if self.built else []


def measure(
    folder: Path, statement: str, runs: int, env: dict[str, str], side: Side = Side(REPO)
) -> tuple[float, float, float, list[str]]:
    """(median import ms, median import CPU ms, median process wall ms, packages imported) over `runs`
    fresh interpreters importing from `folder` with `side`'s path and flags."""
    imports, cpus, walls, packages = [], [], [], []
    for _ in range(runs):
        code = PROBE.format(folder=str(folder), paths=side.paths(), statement=statement)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, *side.flags(), "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
        )
        if out.returncode:
            raise SystemExit(f"{folder}: the import failed:\n{out.stderr.strip()}")
        walls.append((time.perf_counter() - start) * 1000)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        imports.append(result["ms"])
        cpus.append(result["cpu_ms"])
        packages = result["packages"]
    return statistics.median(imports), statistics.median(cpus), statistics.median(walls), packages


def compare(before: Side, after: Side, runs: int, only: str | None) -> None:
    """Per function, `runs` alternating rounds of one import from `before` then one from `after`; prints the
    median import CPU ms and wall ms of each side and the change of the CPU median."""
    print(
        f"before = {before.label}, after = {after.label}; {runs} alternating rounds; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'function':<28} {'before CPU':>10} {'after CPU':>9} {'change':>7} {'before ms':>9} {'after ms':>8}"
    )
    functions = read_template(REPO / "template.yaml").functions.values()
    for function in sorted(functions, key=lambda f: f.code_dir.name):
        name = function.code_dir.name
        if only and name != only:
            continue
        env = {**{k: v for k, v in function.environment.items() if isinstance(v, str)}, **BASE_ENV}
        sides: dict[Side, tuple[list[float], list[float]]] = {before: ([], []), after: ([], [])}
        for _ in range(runs):
            for side, (walls, cpus) in sides.items():
                ms, cpu, _, _ = measure(side.folder(function), f"import {function.module}", 1, env, side)
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
    parser.add_argument(
        "--built", type=Path, action="append", default=[], help="a `sam build` output folder (at most two)"
    )
    args = parser.parse_args()
    if len(args.built) > 2 or (args.built and args.against):
        parser.error("give --against DIR, or --built DIR once or twice")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    functions = read_template(REPO / "template.yaml").functions.values()
    if args.function and args.function not in {f.code_dir.name for f in functions}:
        parser.error(f"--function {args.function}: no such function folder in template.yaml")
    if len(args.built) == 2 and args.built[0].resolve() == args.built[1].resolve():
        parser.error("the two --built folders are the same folder")
    if args.against and args.against.resolve() == REPO:
        parser.error("--against names this checkout itself")
    for built in args.built:
        if not all((built / layer / "python").is_dir() for layer in ("CmpLayer", "DepsLayer")):
            parser.error(f"--built {built}: no CmpLayer/python and DepsLayer/python (run `sam build` first)")
        missing = [f.logical_id for f in functions if not (built / f.logical_id).is_dir()]
        if missing:
            parser.error(f"--built {built}: no built function folder for {', '.join(missing)}")
    if args.against and not (args.against / "functions").is_dir():
        parser.error(f"--against {args.against}: not a checkout of this repository (no functions/)")
    if args.against:
        compare(Side(args.against.resolve()), Side(REPO), args.runs, args.function)
        return
    if len(args.built) == 2:
        before, after = (Side(path.resolve(), built=True) for path in args.built)
        compare(before, after, args.runs, args.function)
        return
    side = Side(args.built[0].resolve(), built=True) if args.built else Side(REPO)
    _, _, bare, _ = measure(REPO / "functions", "import json", args.runs, BASE_ENV, side)
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
        ms, cpu, wall, packages = measure(
            side.folder(function), f"import {function.module}", args.runs, env, side
        )
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
