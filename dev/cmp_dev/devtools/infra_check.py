"""Lint the CloudFormation templates under infra/ (the EKS base) offline with cfn-lint, as template.yaml is."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import lint
from cfnlint.config import ManualArgs

REGION = "us-east-1"


def problems(path: Path) -> list[str]:
    """cfn-lint's findings for one template (errors and warnings), as `file:line: rule message`."""
    found = lint(path.read_text(), config=ManualArgs(regions=[REGION]))
    return [f"{path}:{m.linenumber}: {m.rule.id} {m.message}" for m in found]


def main(infra: Path) -> int:
    """Print every finding and return 1 when there is one, else 0 with a summary."""
    templates = sorted(infra.glob("*.yaml"))
    found = [p for t in templates for p in problems(t)]
    for problem in found:
        print(problem)
    if found:
        print(f"infra check failed: {len(found)} problem(s)")
        return 1
    print(f"infra ok: {len(templates)} template(s) linted")
    return 0
